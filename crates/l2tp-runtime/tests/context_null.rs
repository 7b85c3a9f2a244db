//! The Context API end to end over loopback with the null data plane: our LAC against our
//! LNS, static tunnels, and what the data plane is asked to create and remove.

use std::time::Duration;

use l2tp_proto::endpoint::{DownReason, EndpointConfig, Event};
use l2tp_runtime::config::Config;
use l2tp_runtime::dataplane::{Call, NullDataPlane, Recorder};
mod common;

use common::{free_udp_port, next_matching};
use l2tp_runtime::{Context, ContextOptions};

#[tokio::test]
async fn lac_and_lns_contexts_set_up_and_tear_down_over_loopback() {
    let port = free_udp_port();
    let lns_cfg = Config::parse(
        &format!(
            r#"
            [tunnel.lns]
            local = "127.0.0.1:{port}"
            listen = true
            host_name = "lns.test"
            "#
        ),
        "lns.toml",
    )
    .expect("lns config");
    let lac_cfg = Config::parse(
        &format!(
            r#"
            [tunnel.up]
            peer = "127.0.0.1:{port}"
            host_name = "lac.test"
            [tunnel.up.session.s1]
            pseudowire = "ppp"
            "#
        ),
        "lac.toml",
    )
    .expect("lac config");

    let lns_dp = Recorder::new(NullDataPlane::new());
    let lns_log = lns_dp.log();
    let mut lns_opts = ContextOptions::new(Box::new(lns_dp));
    lns_opts.endpoint = EndpointConfig {
        accept_v2_incoming: true,
        host_name: b"lns.test".to_vec(),
        ..EndpointConfig::default()
    };
    lns_opts.shutdown_grace = Duration::from_secs(2);
    let lns = Context::start(lns_opts);
    let mut lns_ev = lns.subscribe();
    for (n, t) in &lns_cfg.tunnels {
        lns.create_tunnel(n, t.clone()).await.expect("listen");
    }

    let lac_dp = Recorder::new(NullDataPlane::new());
    let lac_log = lac_dp.log();
    let mut lac_opts = ContextOptions::new(Box::new(lac_dp));
    lac_opts.shutdown_grace = Duration::from_secs(2);
    let lac = Context::start(lac_opts);
    let mut lac_ev = lac.subscribe();
    for (n, t) in &lac_cfg.tunnels {
        lac.create_tunnel(n, t.clone()).await.expect("dial");
    }

    let up = next_matching(&mut lac_ev, "LAC tunnel up", |e| {
        matches!(e.event, Event::TunnelUp { .. })
    })
    .await;
    assert_eq!(up.tunnel_name, "up");
    let Event::TunnelUp { peer_host_name, .. } = &up.event else {
        unreachable!()
    };
    assert_eq!(peer_host_name, b"lns.test");
    let s_up = next_matching(&mut lac_ev, "LAC session up", |e| {
        matches!(e.event, Event::SessionUp { .. })
    })
    .await;
    assert_eq!(s_up.session_name.as_deref(), Some("s1"));
    next_matching(&mut lns_ev, "LNS session up", |e| {
        matches!(e.event, Event::SessionUp { .. })
    })
    .await;

    // Both sides report it in status, and both data planes were asked for tunnel + session.
    let st = lac.status().await.expect("status");
    assert_eq!(st.len(), 1);
    assert_eq!(st[0].state, "established");
    assert_eq!(st[0].sessions.len(), 1);
    assert_eq!(st[0].sessions[0].state, "established");
    let lns_st = lns.status().await.expect("status");
    assert_eq!(
        lns_st.len(),
        2,
        "the listener and the accepted tunnel: {lns_st:?}"
    );
    assert_eq!(
        (lns_st[0].name.as_str(), lns_st[0].kind.as_str()),
        ("lns", "listener")
    );
    assert_eq!(lns_st[1].peer_host_name.as_deref(), Some("lac.test"));
    assert!(
        lns_st[1].name.starts_with("lns."),
        "shell-safe name: {}",
        lns_st[1].name
    );
    for log in [&lac_log, &lns_log] {
        let calls = log.calls();
        assert!(matches!(calls[0], Call::CreateTunnel(_)), "{calls:?}");
        assert!(matches!(calls[1], Call::CreateSession(_)), "{calls:?}");
    }

    // Operator closes the session on the LAC: CDN, both sides report it down.
    lac.close_session("up", "s1").await.expect("close session");
    let down = next_matching(&mut lns_ev, "LNS session down", |e| {
        matches!(e.event, Event::SessionDown { .. })
    })
    .await;
    let Event::SessionDown {
        reason: DownReason::Peer(rc),
        ..
    } = &down.event
    else {
        panic!("LNS session down for the peer's CDN: {down:?}")
    };
    assert_eq!(rc.result, 3, "administrative CDN");

    // LAC shuts down: StopCCN acknowledged, the LNS sees the tunnel go.
    assert_eq!(lac.shutdown().await.expect("shutdown"), 0, "StopCCN acked");
    next_matching(&mut lns_ev, "LNS tunnel down", |e| {
        matches!(
            e.event,
            Event::TunnelDown {
                reason: DownReason::Peer(_),
                ..
            }
        )
    })
    .await;
    assert!(lac_log
        .calls()
        .iter()
        .any(|c| matches!(c, Call::DeleteTunnel(_))));
    assert!(lns_log
        .calls()
        .iter()
        .any(|c| matches!(c, Call::DeleteTunnel(_))));
    assert_eq!(lns.shutdown().await.expect("lns shutdown"), 0);
}

#[tokio::test]
async fn static_tunnel_programs_data_plane_at_once_and_removes_everything_on_close() {
    let cfg = Config::parse(
        r#"
        [tunnel.pw]
        kind = "static"
        version = "l2tpv3"
        encap = "udp"
        local = "127.0.0.1:5000"
        peer = "127.0.0.2:5000"
        tid = 10
        ptid = 20
        [tunnel.pw.session.eth0]
        pseudowire = "eth"
        sid = 100
        psid = 200
        cookie = [1, 2, 3, 4]
        peer_cookie = [5, 6, 7, 8]
        "#,
        "static.toml",
    )
    .expect("config");
    let dp = Recorder::new(NullDataPlane::new());
    let log = dp.log();
    let ctx = Context::start(ContextOptions::new(Box::new(dp)));
    let mut ev = ctx.subscribe();
    let (name, t) = &cfg.tunnels[0];
    ctx.create_tunnel(name, t.clone()).await.expect("static");
    next_matching(&mut ev, "session up", |e| {
        matches!(e.event, Event::SessionUp { .. })
    })
    .await;
    let calls = log.calls();
    let Call::CreateTunnel(ts) = &calls[0] else {
        panic!("{calls:?}")
    };
    assert_eq!((ts.tunnel_id, ts.peer_tunnel_id), (10, 20));
    assert_eq!(ts.control_fd, None, "static tunnels are unmanaged");
    let Call::CreateSession(ss) = &calls[1] else {
        panic!("{calls:?}")
    };
    assert_eq!((ss.session_id, ss.peer_session_id), (100, 200));
    assert_eq!(ss.cookie, [1, 2, 3, 4]);
    assert_eq!(ss.peer_cookie, [5, 6, 7, 8]);

    // A second tunnel with the same name is refused; nothing more is created.
    assert!(ctx.create_tunnel(name, t.clone()).await.is_err());
    assert_eq!(log.calls().len(), 2);

    ctx.close_tunnel("pw").await.expect("close");
    next_matching(&mut ev, "tunnel down", |e| {
        matches!(e.event, Event::TunnelDown { .. })
    })
    .await;
    let calls = log.calls();
    assert_eq!(calls[2], Call::DeleteSession(10, 100));
    assert_eq!(calls[3], Call::DeleteTunnel(10));
    // It stays visible for a while as down, with why.
    let st = ctx.status().await.expect("status");
    assert_eq!(st.len(), 1, "{st:?}");
    assert_eq!(st[0].state, "down");
    assert!(
        st[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("closed by operator"),
        "{st:?}"
    );
}

#[tokio::test]
async fn quiescent_tunnels_exchange_hellos_and_a_dead_peer_takes_the_pseudowire_down() {
    let (pa, pb) = (free_udp_port(), free_udp_port());
    let conf = |me: u16, peer: u16, tid: u32, ptid: u32, sid: u32, psid: u32| {
        Config::parse(
            &format!(
                r#"
                [tunnel.q]
                kind = "quiescent"
                version = "l2tpv3"
                encap = "udp"
                local = "127.0.0.1:{me}"
                peer = "127.0.0.1:{peer}"
                tid = {tid}
                ptid = {ptid}
                hello_timeout = 200
                retry_timeout = 100
                max_retries = 2
                [tunnel.q.session.pw]
                pseudowire = "eth"
                sid = {sid}
                psid = {psid}
                "#
            ),
            "q.toml",
        )
        .expect("quiescent config")
    };
    let a_cfg = conf(pa, pb, 11, 22, 111, 222);
    let b_cfg = conf(pb, pa, 22, 11, 222, 111);
    let a_dp = Recorder::new(NullDataPlane::new());
    let a_log = a_dp.log();
    let a = Context::start(ContextOptions::new(Box::new(a_dp)));
    let b = Context::start(ContextOptions::new(Box::new(NullDataPlane::new())));
    let mut a_ev = a.subscribe();
    a.create_tunnel("q", a_cfg.tunnels[0].1.clone())
        .await
        .expect("a");
    b.create_tunnel("q", b_cfg.tunnels[0].1.clone())
        .await
        .expect("b");
    let up = next_matching(&mut a_ev, "pseudowire up", |e| {
        matches!(e.event, Event::SessionUp { .. })
    })
    .await;
    assert_eq!(up.session_name.as_deref(), Some("pw"));
    let calls = a_log.calls();
    let Call::CreateTunnel(ts) = &calls[0] else {
        panic!("{calls:?}")
    };
    assert_eq!((ts.tunnel_id, ts.peer_tunnel_id), (11, 22));
    // HELLOs keep it up well past several hello intervals: wait until two went each way.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut st = a.status().await.expect("status");
    while !(st.len() == 1 && st[0].control_tx >= 2 && st[0].control_rx >= 2)
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
        st = a.status().await.expect("status");
    }
    assert_eq!(st.len(), 1, "still up: {st:?}");
    assert!(st[0].control_tx >= 2, "HELLOs sent: {st:?}");
    assert!(st[0].control_rx >= 2, "HELLOs / ACKs received: {st:?}");
    // b shuts down: its StopCCN takes a's pseudowire down too.
    assert_eq!(b.shutdown().await.expect("b shutdown"), 0);
    let down = next_matching(&mut a_ev, "tunnel down", |e| {
        matches!(e.event, Event::TunnelDown { .. })
    })
    .await;
    assert!(
        matches!(
            down.event,
            Event::TunnelDown {
                reason: DownReason::Peer(_),
                ..
            }
        ),
        "{down:?}"
    );
    assert!(a_log.calls().contains(&Call::DeleteTunnel(11)));

    // A peer that never answers (a bound, silent socket): HELLO goes unacknowledged and the
    // tunnel is declared dead within its retransmission budget.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("silent peer");
    let ps = silent.local_addr().expect("addr").port();
    let c_cfg = conf(free_udp_port(), ps, 33, 44, 333, 444);
    let c_dp = Recorder::new(NullDataPlane::new());
    let c_log = c_dp.log();
    let c = Context::start(ContextOptions::new(Box::new(c_dp)));
    let mut c_ev = c.subscribe();
    c.create_tunnel("q", c_cfg.tunnels[0].1.clone())
        .await
        .expect("c");
    let down = next_matching(&mut c_ev, "dead peer detected", |e| {
        matches!(e.event, Event::TunnelDown { .. })
    })
    .await;
    assert!(
        matches!(
            down.event,
            Event::TunnelDown {
                reason: DownReason::Timeout,
                ..
            }
        ),
        "{down:?}"
    );
    assert!(c_log.calls().contains(&Call::DeleteTunnel(33)));
}

#[tokio::test]
async fn listener_refuses_peers_not_in_accept_peers() {
    let port = free_udp_port();
    let lns_cfg = Config::parse(
        &format!(
            r#"
            [tunnel.lns]
            local = "127.0.0.1:{port}"
            listen = true
            accept_peers = ["127.0.0.9"]
            "#
        ),
        "lns.toml",
    )
    .expect("config");
    let (name, lns_t) = &lns_cfg.tunnels[0];
    let mut opts = ContextOptions::new(Box::new(NullDataPlane::new()));
    opts.endpoint = lns_t.to_endpoint_config();
    let lns = Context::start(opts);
    lns.create_tunnel(name, lns_t.clone())
        .await
        .expect("listen");

    let lac_cfg = Config::parse(
        &format!(
            r#"
            [tunnel.t]
            peer = "127.0.0.1:{port}"
            retry_timeout = 100
            max_retries = 1
            "#
        ),
        "lac.toml",
    )
    .expect("config");
    let lac = Context::start(ContextOptions::new(Box::new(NullDataPlane::new())));
    let mut ev = lac.subscribe();
    lac.create_tunnel("t", lac_cfg.tunnels[0].1.clone())
        .await
        .expect("dial");
    let down = next_matching(&mut ev, "refused tunnel times out", |e| {
        matches!(e.event, Event::TunnelDown { .. })
    })
    .await;
    assert!(
        matches!(
            down.event,
            Event::TunnelDown {
                reason: DownReason::Timeout,
                ..
            }
        ),
        "{down:?}"
    );
    let st = lns.stats().await.expect("stats");
    assert!(st.endpoint.refused_peers >= 1, "{st:?}");
    assert_eq!(st.endpoint.engine.tunnels_accepted, 0);
    let st = lns.status().await.expect("status");
    assert!(st.iter().all(|t| t.kind == "listener"), "{st:?}");
}

#[tokio::test]
async fn lns_places_an_outgoing_call_and_both_ends_bring_the_session_up() {
    let port = free_udp_port();
    let lns_cfg = Config::parse(
        &format!("[tunnel.lns]\nlocal = \"127.0.0.1:{port}\"\nlisten = true\n"),
        "lns.toml",
    )
    .expect("lns config");
    let (n, t) = &lns_cfg.tunnels[0];
    let mut o = ContextOptions::new(Box::new(NullDataPlane::new()));
    o.endpoint = t.to_endpoint_config();
    let lns = Context::start(o);
    let mut lns_ev = lns.subscribe();
    lns.create_tunnel(n, t.clone()).await.expect("listen");

    let lac_cfg = Config::parse(
        &format!("[tunnel.up]\npeer = \"127.0.0.1:{port}\"\n"),
        "lac.toml",
    )
    .expect("lac config");
    let lac_dp = Recorder::new(NullDataPlane::new());
    let lac_log = lac_dp.log();
    let lac = Context::start(ContextOptions::new(Box::new(lac_dp)));
    let mut lac_ev = lac.subscribe();
    lac.create_tunnel("up", lac_cfg.tunnels[0].1.clone())
        .await
        .expect("dial");
    let up = next_matching(&mut lns_ev, "LNS tunnel up", |e| {
        matches!(e.event, Event::TunnelUp { .. })
    })
    .await;
    // The accepted tunnel's name is "#<id>"; place the call on it.
    let sid = lns
        .create_outgoing_call(
            &up.tunnel_name,
            "dialout",
            l2tp_runtime::config::SessionSection::default(),
        )
        .await
        .expect("OCRQ");
    let lns_up = next_matching(&mut lns_ev, "LNS outgoing call up", |e| {
        matches!(e.event, Event::SessionUp { .. })
    })
    .await;
    assert_eq!(lns_up.session_name.as_deref(), Some("dialout"));
    let Event::SessionUp {
        session, params, ..
    } = &lns_up.event
    else {
        unreachable!()
    };
    assert_eq!(*session, sid);
    assert!(params.outgoing_call, "{params:?}");
    let lac_up = next_matching(&mut lac_ev, "LAC answered the outgoing call", |e| {
        matches!(e.event, Event::SessionUp { .. })
    })
    .await;
    let Event::SessionUp { params, .. } = &lac_up.event else {
        unreachable!()
    };
    assert!(params.outgoing_call && params.peer_initiated, "{params:?}");
    assert!(lac_log
        .calls()
        .iter()
        .any(|c| matches!(c, Call::CreateSession(_))));
    assert_eq!(lac.shutdown().await.expect("shutdown"), 0);
    let _ = lns.shutdown().await;
}

#[tokio::test]
async fn closing_a_configured_session_of_a_static_tunnel_removes_it_from_the_data_plane() {
    let cfg = Config::parse(
        r#"
        [tunnel.pw]
        kind = "static"
        version = "l2tpv3"
        local = "127.0.0.1:5002"
        peer = "127.0.0.2:5002"
        tid = 12
        ptid = 21
        [tunnel.pw.session.eth0]
        pseudowire = "eth"
        sid = 120
        psid = 210
        "#,
        "static.toml",
    )
    .expect("config");
    let dp = Recorder::new(NullDataPlane::new());
    let log = dp.log();
    let ctx = Context::start(ContextOptions::new(Box::new(dp)));
    let mut ev = ctx.subscribe();
    ctx.create_tunnel("pw", cfg.tunnels[0].1.clone())
        .await
        .expect("static");
    ctx.close_session("pw", "eth0")
        .await
        .expect("close session");
    let down = next_matching(&mut ev, "session down", |e| {
        matches!(e.event, Event::SessionDown { .. })
    })
    .await;
    assert!(
        matches!(
            down.event,
            Event::SessionDown {
                reason: DownReason::Local(ref rc),
                ..
            } if rc.result == 3
        ),
        "{down:?}"
    );
    assert!(log.calls().contains(&Call::DeleteSession(12, 120)));
    let st = ctx.status().await.expect("status");
    assert!(st[0].sessions.iter().all(|s| s.state == "down"), "{st:?}");
    assert!(
        st[0].sessions[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("administrative"),
        "{st:?}"
    );
}
