//! A session whose data plane is still being made when the peer's CDN arrives (xl2tpd does
//! this when its pppd fails at once: CDN right behind the ICCN, often in the same batch): the
//! runtime still reports `SessionUp` before `SessionDown`, so every session that goes down
//! was seen up. (Found by the xl2tpd interop test on a loaded machine.)

use std::collections::HashMap;
use std::time::Duration;

use l2tp_proto::endpoint::{EndpointConfig, Event};
use l2tp_runtime::config::Config;
use l2tp_runtime::dataplane::{
    DataPlane, DataPlaneError, NullDataPlane, SessionHandle, SessionSpec, SessionStats, TunnelSpec,
};
mod common;

use common::{free_udp_port, next_matching};
use l2tp_runtime::{Context, ContextOptions};

/// The null data plane, slow to create sessions (as a netlink round trip under load can
/// be), on a thread of its own.
struct SlowPlane(NullDataPlane);

impl DataPlane for SlowPlane {
    fn create_tunnel(&mut self, spec: &TunnelSpec) -> Result<(), DataPlaneError> {
        self.0.create_tunnel(spec)
    }
    fn delete_tunnel(&mut self, tunnel_id: u32) -> Result<(), DataPlaneError> {
        self.0.delete_tunnel(tunnel_id)
    }
    fn create_session(&mut self, spec: &SessionSpec) -> Result<SessionHandle, DataPlaneError> {
        std::thread::sleep(Duration::from_millis(800));
        self.0.create_session(spec)
    }
    fn delete_session(&mut self, tunnel_id: u32, session_id: u32) -> Result<(), DataPlaneError> {
        self.0.delete_session(tunnel_id, session_id)
    }
    fn session_stats(&mut self, tunnel_id: u32, session_id: u32) -> Option<SessionStats> {
        self.0.session_stats(tunnel_id, session_id)
    }
    fn sessions_stats(&mut self, keys: &[(u32, u32)]) -> HashMap<(u32, u32), SessionStats> {
        self.0.sessions_stats(keys)
    }
    fn blocking(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn a_cdn_before_the_data_plane_is_ready_still_reports_up_then_down() {
    let port = free_udp_port();
    let lns_cfg = Config::parse(
        &format!("[tunnel.lns]\nlocal = \"127.0.0.1:{port}\"\nlisten = true\n"),
        "lns.toml",
    )
    .expect("lns config");
    let lac_cfg = Config::parse(
        &format!(
            "[tunnel.up]\npeer = \"127.0.0.1:{port}\"\n[tunnel.up.session.s1]\npseudowire = \"ppp\"\n"
        ),
        "lac.toml",
    )
    .expect("lac config");

    let mut lns_opts = ContextOptions::new(Box::new(SlowPlane(NullDataPlane::new())));
    lns_opts.endpoint = EndpointConfig {
        accept_v2_incoming: true,
        ..EndpointConfig::default()
    };
    lns_opts.shutdown_grace = Duration::from_secs(2);
    let lns = Context::start(lns_opts);
    let mut lns_ev = lns.subscribe();
    for (n, t) in &lns_cfg.tunnels {
        lns.create_tunnel(n, t.clone()).await.expect("listen");
    }
    let mut lac_opts = ContextOptions::new(Box::new(NullDataPlane::new()));
    lac_opts.shutdown_grace = Duration::from_secs(2);
    let lac = Context::start(lac_opts);
    let mut lac_ev = lac.subscribe();
    for (n, t) in &lac_cfg.tunnels {
        lac.create_tunnel(n, t.clone()).await.expect("dial");
    }
    next_matching(&mut lac_ev, "LAC session up", |e| {
        matches!(e.event, Event::SessionUp { .. })
    })
    .await;
    // CDN at once: the LNS's data plane is still making the session (800 ms).
    lac.close_session("up", "s1").await.expect("close session");

    let seen = std::cell::RefCell::new(Vec::new());
    next_matching(&mut lns_ev, "LNS session down", |e| {
        let kind = match e.event {
            Event::SessionUp { .. } => "up",
            Event::SessionDown { .. } => "down",
            _ => return false,
        };
        seen.borrow_mut().push(kind);
        kind == "down"
    })
    .await;
    assert_eq!(
        seen.into_inner(),
        ["up", "down"],
        "session events on the LNS"
    );
    let _ = lac.shutdown().await;
    let _ = lns.shutdown().await;
}
