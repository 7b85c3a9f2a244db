//! What a stranger can do to us without seeing our traffic: spoofed StopCCNs (a tunnel's
//! messages come only from its peer's address and port, RFC 2661 §8.1, and a StopCCN names the
//! peer's own tunnel ID).

#[path = "sim_harness.rs"]
mod sim;

use std::net::SocketAddr;
use std::time::Duration;

use l2tp_proto::endpoint::{DownReason, Event, SessionConfig, TunnelId};
use l2tp_proto::tunnel::TunnelState;
use l2tp_proto::wire::{
    Avp, AvpValue, ControlHeader, ControlMessage, Encap, MessageType, ResultCode, Version,
};
use sim::*;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// A tunnel with one session up; returns (LAC tunnel, LNS tunnel).
fn setup(s: &mut Sim) -> (TunnelId, TunnelId) {
    let now = s.now;
    let cfg = s.tunnel_cfg();
    let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    s.nodes[LAC]
        .ep
        .open_session(now, t, SessionConfig::default())
        .unwrap();
    assert!(s.run_until(secs(10.0), |s| s.has_event(LAC, is_session_up)
        && s.has_event(LNS, is_session_up)));
    s.run_for(secs(1.0));
    (t, s.nodes[LNS].ep.tunnel_ids()[0])
}

/// The StopCCN the LNS would send next to the LAC's tunnel `t`: the right Ns and Nr, naming
/// `assigned` as the sender's tunnel.
fn stopccn(s: &Sim, t: TunnelId, assigned: u16) -> Vec<u8> {
    let info = s.nodes[LAC].ep.tunnel_info(t).unwrap();
    ControlMessage {
        header: ControlHeader {
            version: Version::V2,
            tunnel_id: t.0,
            session_id: 0,
            ns: info.next_nr,
            nr: info.next_ns,
        },
        avps: vec![
            Avp::m(AvpValue::MessageType(MessageType::StopCcn)),
            Avp::m(AvpValue::AssignedTunnelId(assigned)),
            Avp::m(AvpValue::ResultCode(ResultCode {
                result: 1,
                error: Some(0),
                message: None,
            })),
        ],
    }
    .to_bytes(Encap::Udp, None)
    .unwrap()
}

/// Feeds `bytes` to the LAC as if from `from`; returns (events, datagrams sent) it caused.
fn inject(s: &mut Sim, from: SocketAddr, bytes: &[u8]) -> (Vec<Event>, usize) {
    let now = s.now;
    let ep = &mut s.nodes[LAC].ep;
    ep.handle(now, from, bytes);
    let events: Vec<_> = std::iter::from_fn(|| ep.poll_event()).collect();
    let sent = std::iter::from_fn(|| ep.poll_transmit()).count();
    (events, sent)
}

#[test]
fn stopccn_from_another_address_or_port_is_dropped_untouched() {
    let mut s = Sim::pair(1);
    let (t, lns_t) = setup(&mut s);
    let before = s.nodes[LAC].ep.tunnel_info(t).unwrap();
    let good = stopccn(&s, t, lns_t.0 as u16);
    for from in ["10.0.0.9:1701", "10.0.0.2:1702", "[::ffff:10.0.0.9]:1701"] {
        let (events, sent) = inject(&mut s, addr(from), &good);
        assert_eq!((events, sent), (vec![], 0), "from {from}");
    }
    let after = s.nodes[LAC].ep.tunnel_info(t).unwrap();
    assert_eq!(after.state, TunnelState::Established);
    assert_eq!(
        (after.next_nr, after.next_ns),
        (before.next_nr, before.next_ns)
    );
    assert_eq!(
        after.transport, before.transport,
        "the transport saw nothing"
    );
    let st = s.nodes[LAC].ep.stats();
    assert_eq!((st.wrong_source, st.control_rx), (3, before.transport.rx));

    // The same StopCCN from the peer's address and port is the real thing.
    let peer = s.nodes[LNS].src;
    let (events, sent) = inject(&mut s, peer, &good);
    assert_eq!(sent, 1, "ZLB");
    assert!(events.contains(&Event::TunnelDown {
        tunnel: t,
        reason: DownReason::Peer(ResultCode {
            result: 1,
            error: Some(0),
            message: None
        })
    }));
}

#[test]
fn stopccn_naming_another_tunnel_than_the_peers_is_dropped_untouched() {
    let mut s = Sim::pair(2);
    let (t, lns_t) = setup(&mut s);
    let before = s.nodes[LAC].ep.tunnel_info(t).unwrap();
    let peer = s.nodes[LNS].src;
    let wrong = stopccn(&s, t, (lns_t.0 as u16).wrapping_add(1).max(1));
    let (events, sent) = inject(&mut s, peer, &wrong);
    assert_eq!((events, sent), (vec![], 0));
    let after = s.nodes[LAC].ep.tunnel_info(t).unwrap();
    assert_eq!(after.state, TunnelState::Established);
    assert_eq!(after.transport, before.transport, "not even acknowledged");
    assert_eq!(s.nodes[LAC].ep.stats().wrong_tunnel_id, 1);
    // The tunnel goes on: a session still opens, and the real StopCCN still works.
    let now = s.now;
    s.nodes[LAC]
        .ep
        .open_session(now, t, SessionConfig::default())
        .unwrap();
    assert!(s.run_until(secs(5.0), |s| s.count(LNS, is_session_up) == 2));
    let now = s.now;
    let rc = ResultCode {
        result: 1,
        error: Some(0),
        message: None,
    };
    s.nodes[LNS]
        .ep
        .close_tunnel(now, lns_t, rc.clone())
        .unwrap();
    s.run_for(secs(1.0));
    assert!(s.has_event(LAC, |e| *e
        == Event::TunnelDown {
            tunnel: t,
            reason: DownReason::Peer(rc.clone())
        }));
}

/// RFC 2661 §8.1: the answer to our SCCRQ may come from another port of the peer, and that
/// port is then the tunnel's; the port it was dialled on is a stranger's from then on.
#[test]
fn the_port_learned_from_the_sccrp_is_the_only_one_accepted_afterwards() {
    let mut s = Sim::pair(3);
    s.nodes[LNS].src = addr("10.0.0.2:40000");
    let (t, lns_t) = setup(&mut s);
    assert_eq!(
        s.nodes[LAC].ep.tunnel_info(t).unwrap().peer,
        addr("10.0.0.2:40000")
    );
    let good = stopccn(&s, t, lns_t.0 as u16);
    let (events, sent) = inject(&mut s, addr("10.0.0.2:1701"), &good);
    assert_eq!((events, sent), (vec![], 0));
    assert_eq!(s.nodes[LAC].ep.stats().wrong_source, 1);
    let (events, _) = inject(&mut s, addr("10.0.0.2:40000"), &good);
    assert!(events.iter().any(is_tunnel_down));
}

/// An SCCRP from another address than the one dialled is not an answer to our SCCRQ.
#[test]
fn sccrp_from_another_address_is_not_taken() {
    let mut s = Sim::pair(4);
    s.nodes[LNS].src = addr("10.0.0.3:1701");
    let now = s.now;
    let cfg = s.tunnel_cfg();
    let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    s.run_for(secs(2.0));
    assert_eq!(
        s.nodes[LAC].ep.tunnel_info(t).unwrap().state,
        TunnelState::WaitCtlReply
    );
    assert!(s.nodes[LAC].ep.stats().wrong_source >= 1);
    assert!(!s.has_event(LAC, is_tunnel_up));
}
