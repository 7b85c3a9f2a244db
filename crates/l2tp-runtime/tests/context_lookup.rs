//! `Context::lookup`: how the daemon resolves a control request's tunnel and session keys
//! through the driver's indexes — by name, else by local ID; a live object before one that
//! went down; the listener by name only — the same answers `control::find_tunnel` /
//! `find_session` give on a full snapshot (the client's side).

use l2tp_proto::endpoint::Event;
use l2tp_runtime::config::Config;
use l2tp_runtime::control::{find_session, find_tunnel};
use l2tp_runtime::dataplane::NullDataPlane;
use l2tp_runtime::{Context, ContextOptions};

mod common;
use common::{free_udp_port, next_matching};

/// The lookup's answer and the snapshot's agree on which tunnel (and session) a key names.
async fn agree(ctx: &Context, tunnel: &str, session: Option<&str>) -> Option<(String, String)> {
    let named = ctx.lookup(tunnel, session).await.expect("lookup");
    let status = ctx.status().await.expect("status");
    let snap = find_tunnel(&status, tunnel);
    assert_eq!(
        named
            .as_ref()
            .map(|n| (&n.tunnel.name, n.tunnel.id, &n.tunnel.state)),
        snap.map(|t| (&t.name, t.id, &t.state)),
        "tunnel key {tunnel:?}"
    );
    let named = named?;
    assert!(
        named.tunnel.sessions.is_empty(),
        "a lookup carries no session list"
    );
    if let Some(key) = session {
        let s = snap.and_then(|t| find_session(t, key));
        assert_eq!(
            named.session.as_ref().map(|s| (&s.name, s.id, &s.state)),
            s.map(|s| (&s.name, s.id, &s.state)),
            "session key {key:?}"
        );
    }
    Some((
        named.tunnel.name,
        named.session.map(|s| s.state).unwrap_or_default(),
    ))
}

#[tokio::test]
async fn lookup_resolves_names_ids_listener_and_recently_downed_objects() {
    let (p1, p2) = (free_udp_port(), free_udp_port());
    let cfg = Config::parse(
        &format!(
            r#"
            [tunnel.lns]
            local = "127.0.0.1:{p2}"
            listen = true
            [tunnel.t1]
            kind = "static"
            version = "l2tpv3"
            local = "127.0.0.1:{p1}"
            peer = "127.0.0.2:{p1}"
            tid = 77
            ptid = 78
            [tunnel.t1.session.s1]
            pseudowire = "eth"
            sid = 12
            psid = 13
            [tunnel.t1.session.s2]
            pseudowire = "eth"
            sid = 14
            psid = 15
            [tunnel.123]
            kind = "static"
            version = "l2tpv3"
            local = "127.0.0.1:{p1}"
            peer = "127.0.0.3:{p1}"
            tid = 5
            ptid = 6
            "#
        ),
        "lookup.toml",
    )
    .expect("config");
    let ctx = Context::start(ContextOptions::new(Box::new(NullDataPlane::new())));
    let mut ev = ctx.subscribe();
    for (n, t) in &cfg.tunnels {
        ctx.create_tunnel(n, t.clone()).await.expect("tunnel");
    }
    for _ in 0..2 {
        next_matching(&mut ev, "session up", |e| {
            matches!(e.event, Event::SessionUp { .. })
        })
        .await;
    }

    // By name, by ID; a name made of digits is a name first.
    assert_eq!(agree(&ctx, "t1", None).await.unwrap().0, "t1");
    assert_eq!(agree(&ctx, "77", None).await.unwrap().0, "t1");
    assert_eq!(agree(&ctx, "123", None).await.unwrap().0, "123");
    assert_eq!(agree(&ctx, "5", None).await.unwrap().0, "123");
    // The listener by name, never by ID 0; keys that name nothing.
    let l = ctx.lookup("lns", None).await.unwrap().expect("listener");
    assert_eq!(
        (l.tunnel.kind.as_str(), l.tunnel.state.as_str()),
        ("listener", "listening")
    );
    for key in ["0", "nope", "+77", "", "99999999999"] {
        assert_eq!(agree(&ctx, key, None).await, None, "{key:?}");
    }
    // Sessions by name and by local ID; unknown ones.
    assert_eq!(
        agree(&ctx, "t1", Some("s1")).await.unwrap().1,
        "established"
    );
    assert_eq!(
        agree(&ctx, "77", Some("14")).await.unwrap().1,
        "established"
    );
    assert_eq!(agree(&ctx, "t1", Some("13")).await.unwrap().1, "");
    assert_eq!(agree(&ctx, "t1", Some("s9")).await.unwrap().1, "");

    // A session closed: found as down, by name and by ID, while its tunnel is live.
    ctx.close_session("t1", "s1").await.expect("close s1");
    next_matching(&mut ev, "s1 down", |e| {
        matches!(e.event, Event::SessionDown { .. })
    })
    .await;
    assert_eq!(agree(&ctx, "t1", Some("s1")).await.unwrap().1, "down");
    assert_eq!(agree(&ctx, "t1", Some("12")).await.unwrap().1, "down");
    assert_eq!(
        agree(&ctx, "t1", Some("s2")).await.unwrap().1,
        "established"
    );

    // The scoped snapshot: one tunnel, its live and downed sessions (or only the one
    // named), in name order; nothing for a key that names nothing.
    let one = ctx.status_of("77", None).await.expect("status_of");
    assert_eq!(one.len(), 1);
    let states: Vec<(&str, &str)> = one[0]
        .sessions
        .iter()
        .map(|s| (s.name.as_str(), s.state.as_str()))
        .collect();
    assert_eq!(states, [("s1", "down"), ("s2", "established")]);
    let full = ctx.status().await.expect("status");
    let t1 = find_tunnel(&full, "t1").expect("t1 in the snapshot");
    assert_eq!(&one[0], t1, "the scoped line is the snapshot's line");
    let only = ctx.status_of("t1", Some("14")).await.expect("status_of");
    assert_eq!(only[0].sessions.len(), 1);
    assert_eq!(Some(&only[0].sessions[0]), find_session(t1, "s2"));
    assert!(ctx.status_of("t1", Some("s9")).await.unwrap()[0]
        .sessions
        .is_empty());
    assert!(ctx.status_of("nope", None).await.unwrap().is_empty());

    // A tunnel closed: found as down by name and by ID, with its sessions.
    ctx.close_tunnel("t1").await.expect("close t1");
    next_matching(&mut ev, "t1 down", |e| {
        matches!(e.event, Event::TunnelDown { .. })
    })
    .await;
    let down = ctx
        .lookup("77", Some("s2"))
        .await
        .unwrap()
        .expect("downed t1");
    assert_eq!(
        (down.tunnel.name.as_str(), down.tunnel.state.as_str()),
        ("t1", "down")
    );
    assert!(down.tunnel.last_error.is_some() && down.tunnel.down_for.is_some());
    assert_eq!(agree(&ctx, "t1", None).await.unwrap().0, "t1");
    assert_eq!(agree(&ctx, "t1", Some("s2")).await.unwrap().1, "down");
    assert_eq!(agree(&ctx, "123", None).await.unwrap().0, "123");
    ctx.shutdown().await.expect("shutdown");
}
