//! What a tunnel holds goes with it: sockets (file descriptors) and reader tasks, in every
//! socket mode; and the role of an accepted tunnel reaches the data plane (LNS mode).

use std::time::Duration;

use l2tp_proto::endpoint::{EndpointConfig, Event};
use l2tp_runtime::config::Config;
use l2tp_runtime::dataplane::{Call, NullDataPlane, Recorder};
mod common;

use common::{free_udp_port, next_matching};
use l2tp_runtime::{Context, ContextOptions};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc").count()
}

fn lns(port: u16, dp: Recorder<NullDataPlane>) -> Context {
    let mut o = ContextOptions::new(Box::new(dp));
    o.endpoint = EndpointConfig {
        accept_v2_incoming: true,
        ..EndpointConfig::default()
    };
    let ctx = Context::start(o);
    let cfg = Config::parse(
        &format!(
            r#"
            [tunnel.lns]
            local = "127.0.0.1:{port}"
            listen = true
            [tunnel.lns.session.t]
            pseudowire = "ppp"
            "#
        ),
        "lns.toml",
    )
    .expect("lns config");
    let ctx2 = ctx.clone();
    let (n, t) = cfg.tunnels[0].clone();
    tokio::spawn(async move { ctx2.create_tunnel(&n, t).await.expect("listen") });
    ctx
}

/// 40 tunnels dialled without `local` (each on an ephemeral socket of its own) and closed:
/// once their sockets' linger time is over, the process holds as many descriptors as after
/// the first.
#[tokio::test]
async fn closing_a_tunnel_closes_its_socket() {
    let port = free_udp_port();
    let _lns = lns(port, Recorder::new(NullDataPlane::new()));
    let lac = Context::start(ContextOptions::new(Box::new(NullDataPlane::new())));
    let mut ev = lac.subscribe();
    let section = Config::parse(
        &format!("[tunnel.x]\npeer = \"127.0.0.1:{port}\"\n"),
        "lac.toml",
    )
    .expect("lac config")
    .tunnels[0]
        .1
        .clone();
    let mut baseline = 0;
    for round in 0..40 {
        let name = format!("t{round}");
        lac.create_tunnel(&name, section.clone())
            .await
            .expect("dial");
        next_matching(&mut ev, "tunnel up", |e| {
            e.tunnel_name == name && matches!(e.event, Event::TunnelUp { .. })
        })
        .await;
        lac.close_tunnel(&name).await.expect("close");
        next_matching(&mut ev, "tunnel down", |e| {
            e.tunnel_name == name && matches!(e.event, Event::TunnelDown { .. })
        })
        .await;
        if round == 0 {
            baseline = open_fds();
        }
    }
    // A downed tunnel's socket lingers a few seconds for the peer's late messages, then
    // goes.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let mut after = open_fds();
    while after > baseline + 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        after = open_fds();
    }
    assert!(
        after <= baseline + 2,
        "descriptors grew from {baseline} to {after} over 39 tunnels"
    );
}

/// A tunnel a peer opened is ours as LNS: its sessions reach the data plane in LNS mode (the
/// LNS controls data sequencing, RFC 2661 §5.4); the dialling side's are not.
#[tokio::test]
async fn accepted_tunnels_sessions_are_in_lns_mode() {
    let port = free_udp_port();
    let lns_dp = Recorder::new(NullDataPlane::new());
    let lns_log = lns_dp.log();
    let lns_ctx = lns(port, lns_dp);
    let mut lns_ev = lns_ctx.subscribe();
    let lac_dp = Recorder::new(NullDataPlane::new());
    let lac_log = lac_dp.log();
    let lac = Context::start(ContextOptions::new(Box::new(lac_dp)));
    let cfg = Config::parse(
        &format!(
            "[tunnel.x]\npeer = \"127.0.0.1:{port}\"\n[tunnel.x.session.s]\npseudowire = \"ppp\"\n"
        ),
        "lac.toml",
    )
    .expect("lac config");
    lac.create_tunnel("x", cfg.tunnels[0].1.clone())
        .await
        .expect("dial");
    next_matching(&mut lns_ev, "LNS session up", |e| {
        matches!(e.event, Event::SessionUp { .. })
    })
    .await;
    let lns_mode = |calls: Vec<Call>| {
        calls.into_iter().find_map(|c| match c {
            Call::CreateSession(s) => Some(s.lns_mode),
            _ => None,
        })
    };
    assert_eq!(lns_mode(lns_log.calls()), Some(true), "LNS side");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while lns_mode(lac_log.calls()).is_none() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(lns_mode(lac_log.calls()), Some(false), "LAC side");
}

/// A tunnel that closes takes its sessions out of the data plane with one tunnel delete, not
/// one delete per session first (a 1,000-session kernel teardown took ~20 s that way).
#[tokio::test]
async fn a_closing_tunnel_is_removed_with_one_delete() {
    let port = free_udp_port();
    let _lns = lns(port, Recorder::new(NullDataPlane::new()));
    let lac_dp = Recorder::new(NullDataPlane::new());
    let log = lac_dp.log();
    let lac = Context::start(ContextOptions::new(Box::new(lac_dp)));
    let mut ev = lac.subscribe();
    let mut text = format!("[tunnel.x]\npeer = \"127.0.0.1:{port}\"\n");
    for s in 0..5 {
        text.push_str(&format!("[tunnel.x.session.s{s}]\npseudowire = \"ppp\"\n"));
    }
    let cfg = Config::parse(&text, "lac.toml").expect("lac config");
    lac.create_tunnel("x", cfg.tunnels[0].1.clone())
        .await
        .expect("dial");
    for _ in 0..5 {
        next_matching(&mut ev, "session up", |e| {
            matches!(e.event, Event::SessionUp { .. })
        })
        .await;
    }
    lac.close_tunnel("x").await.expect("close");
    next_matching(&mut ev, "tunnel down", |e| {
        matches!(e.event, Event::TunnelDown { .. })
    })
    .await;
    let calls = log.calls();
    let deletes: Vec<&Call> = calls
        .iter()
        .filter(|c| matches!(c, Call::DeleteSession(..) | Call::DeleteTunnel(_)))
        .collect();
    assert_eq!(deletes.len(), 1, "{calls:?}");
    assert!(matches!(deletes[0], Call::DeleteTunnel(_)), "{calls:?}");
}
