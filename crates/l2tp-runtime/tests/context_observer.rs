//! The session observer (RADIUS accounting's source of Acct-Terminate-Cause) over loopback
//! with the null data plane: it hears the LAC's CDN as the peer's, and for a session that
//! goes with its tunnel the tunnel's reason (the LAC's StopCCN), before the data plane is
//! asked to remove anything.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use l2tp_proto::endpoint::{DownReason, EndpointConfig, Event};
use l2tp_runtime::config::Config;
use l2tp_runtime::dataplane::{Call, CallLog, NullDataPlane, Recorder, SessionObserver};
mod common;

use common::{free_udp_port, next_matching};
use l2tp_runtime::{Context, ContextOptions};

/// Records (session ID, reason, data plane calls made so far).
struct Seen {
    log: CallLog,
    seen: Mutex<Vec<(u32, DownReason, usize)>>,
}

impl SessionObserver for Seen {
    fn session_down(&self, _tunnel_id: u32, session_id: u32, reason: &DownReason) {
        let calls = self.log.calls().len();
        self.seen
            .lock()
            .unwrap()
            .push((session_id, reason.clone(), calls));
    }
}

#[tokio::test]
async fn observer_hears_the_peers_cdn_and_the_tunnels_stopccn_before_removal() {
    let port = free_udp_port();
    let lns_cfg = Config::parse(
        &format!("[tunnel.lns]\nlocal = \"127.0.0.1:{port}\"\nlisten = true\n"),
        "lns.toml",
    )
    .unwrap();
    let lac_cfg = Config::parse(
        &format!(
            "[tunnel.up]\npeer = \"127.0.0.1:{port}\"\n[tunnel.up.session.s1]\n\
             [tunnel.up.session.s2]\n"
        ),
        "lac.toml",
    )
    .unwrap();
    let lns_dp = Recorder::new(NullDataPlane::new());
    let seen = Arc::new(Seen {
        log: lns_dp.log(),
        seen: Mutex::new(Vec::new()),
    });
    let mut lns_opts = ContextOptions::new(Box::new(lns_dp));
    lns_opts.endpoint = EndpointConfig {
        accept_v2_incoming: true,
        ..EndpointConfig::default()
    };
    lns_opts.shutdown_grace = Duration::from_secs(2);
    lns_opts.session_observer = Some(seen.clone());
    let lns = Context::start(lns_opts);
    let mut lns_ev = lns.subscribe();
    for (n, t) in &lns_cfg.tunnels {
        lns.create_tunnel(n, t.clone()).await.unwrap();
    }
    let mut lac_opts = ContextOptions::new(Box::new(NullDataPlane::new()));
    lac_opts.shutdown_grace = Duration::from_secs(2);
    let lac = Context::start(lac_opts);
    for (n, t) in &lac_cfg.tunnels {
        lac.create_tunnel(n, t.clone()).await.unwrap();
    }
    let mut ups = 0;
    while ups < 2 {
        next_matching(&mut lns_ev, "LNS sessions up", |e| {
            matches!(e.event, Event::SessionUp { .. })
        })
        .await;
        ups += 1;
    }
    lac.close_session("up", "s1").await.unwrap();
    next_matching(&mut lns_ev, "first session down", |e| {
        matches!(e.event, Event::SessionDown { .. })
    })
    .await;
    assert_eq!(lac.shutdown().await.unwrap(), 0);
    next_matching(&mut lns_ev, "LNS tunnel down", |e| {
        matches!(e.event, Event::TunnelDown { .. })
    })
    .await;
    let seen_now = seen.seen.lock().unwrap().clone();
    assert_eq!(seen_now.len(), 2, "{seen_now:?}");
    // The CDN: the peer's, result 3 (administrative).
    assert!(
        matches!(&seen_now[0].1, DownReason::Peer(rc) if rc.result == 3),
        "{seen_now:?}"
    );
    // The session that went with the tunnel: the StopCCN's reason, not just "tunnel down".
    assert!(
        matches!(&seen_now[1].1, DownReason::Peer(rc) if rc.result == 6),
        "{seen_now:?}"
    );
    // Each was heard before its removal was asked for.
    let calls = seen.log.calls();
    for (_, _, before) in &seen_now {
        let removal = calls
            .iter()
            .skip(*before)
            .any(|c| matches!(c, Call::DeleteSession(..) | Call::DeleteTunnel(_)));
        assert!(removal, "a removal follows each notice: {calls:?}");
    }
    assert_eq!(lns.shutdown().await.unwrap(), 0);
}
