//! Many tunnels on one endpoint: ID allocation stays collision-free and the single ordered
//! timer structure keeps `poll_timeout` / `handle_timeout` cheap.

#[path = "sim_harness.rs"]
mod sim;

use std::collections::HashSet;
use std::time::Duration;

use l2tp_proto::endpoint::{EndpointConfig, Event, SessionConfig};
use l2tp_proto::wire::ResultCode;
use sim::*;

#[test]
fn ten_thousand_tunnels_with_a_session_each_come_up_and_go_down() {
    const N: usize = 10_000;
    // All N SCCRQs come from one address in one instant: above the default limits on
    // half-open tunnels and tunnels per peer (4,096 each), which this test is not about.
    let mut s = Sim::new(
        42,
        EndpointConfig {
            max_half_open: N,
            max_tunnels_per_peer: N,
            ..EndpointConfig::default()
        },
    );
    let now = s.now;
    let mut ids = HashSet::new();
    for _ in 0..N {
        let mut cfg = s.tunnel_cfg();
        cfg.hello_interval = Some(Duration::from_secs(60));
        let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
        assert!(t.0 != 0 && t.0 <= 0xffff);
        assert!(ids.insert(t));
        s.nodes[LAC]
            .ep
            .open_session(now, t, SessionConfig::default())
            .unwrap();
    }
    let count = |s: &Sim, n: usize, f: fn(&Event) -> bool| {
        s.nodes[n].events.iter().filter(|(_, e)| f(e)).count()
    };
    assert!(
        s.run_until(Duration::from_secs(10), |s| count(s, LAC, is_session_up)
            == N
            && count(s, LNS, is_session_up) == N)
    );
    assert_eq!(s.nodes[LNS].ep.tunnel_ids().len(), N);
    // A HELLO round on every tunnel, all acked.
    s.run_for(Duration::from_secs(70));
    assert_eq!(s.nodes[LAC].ep.stats().retransmits, 0);
    assert_eq!(count(&s, LAC, is_tunnel_down), 0);
    let now = s.now;
    let rc = ResultCode {
        result: 1,
        error: Some(0),
        message: None,
    };
    for t in ids {
        s.nodes[LAC].ep.close_tunnel(now, t, rc.clone()).unwrap();
    }
    s.run_for(Duration::from_secs(40));
    assert_eq!(count(&s, LAC, is_tunnel_down), N);
    assert_eq!(count(&s, LNS, is_tunnel_down), N);
    assert!(s.nodes[LAC].ep.tunnel_ids().is_empty());
    assert!(
        s.nodes[LNS].ep.tunnel_ids().is_empty(),
        "closed records expired"
    );
    assert_eq!(s.nodes[LNS].ep.poll_timeout(), None);
}
