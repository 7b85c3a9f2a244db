//! What a stranger can do to us without seeing our traffic: spoofed StopCCNs (a tunnel's
//! messages come only from its peer's address and port, RFC 2661 §8.1, and a StopCCN names the
//! peer's own tunnel ID), and SCCRQ floods from spoofed sources (half-open tunnels bounded,
//! oldest evicted; tunnels per peer address bounded).

#[path = "sim_harness.rs"]
mod sim;

use std::net::SocketAddr;
use std::time::Duration;

use l2tp_proto::endpoint::{
    DownReason, Endpoint, EndpointConfig, Event, SessionConfig, TunnelConfig, TunnelId,
    DEFAULT_MAX_HALF_OPEN,
};
use l2tp_proto::tunnel::TunnelState;
use l2tp_proto::wire::{
    Avp, AvpValue, ControlHeader, ControlMessage, Encap, MessageType, ResultCode, Version,
};
use sim::*;

/// A tunnel with one session up, a second later; returns (LAC tunnel, LNS tunnel).
fn setup(s: &mut Sim) -> (TunnelId, TunnelId) {
    let r = s.tunnel_with_session();
    s.run_for(secs(1.0));
    r
}

/// The StopCCN the LNS would send next to the LAC's tunnel `t`: the right Ns and Nr, naming
/// `assigned` as the sender's tunnel.
fn stopccn(s: &Sim, t: TunnelId, assigned: u16) -> Vec<u8> {
    let info = s.nodes[LAC].ep.tunnel_info(t).unwrap();
    ControlMessage {
        header: ControlHeader::v2(u16::try_from(t.0).unwrap(), 0, info.next_nr, info.next_ns),
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

/// An SCCRQ as a LAC at `from` would send it, assigning itself tunnel `tid`.
fn sccrq(tid: u16) -> Vec<u8> {
    ControlMessage {
        header: ControlHeader::v2(0, 0, 0, 0),
        avps: vec![
            Avp::m(AvpValue::MessageType(MessageType::Sccrq)),
            Avp::m(AvpValue::ProtocolVersion {
                version: 1,
                revision: 0,
            }),
            Avp::m(AvpValue::FramingCapabilities(3)),
            Avp::m(AvpValue::HostName(b"spoofer".to_vec())),
            Avp::m(AvpValue::AssignedTunnelId(tid)),
        ],
    }
    .to_bytes(Encap::Udp, None)
    .unwrap()
}

/// A flood of SCCRQs from 100,000 spoofed sources (each answered SCCRP goes nowhere) leaves
/// at most `max_half_open` tunnels — the oldest are evicted, not the new refused — with every
/// index bounded and O(1) work per SCCRQ; a legitimate LAC whose handshake takes the time of
/// 1,000 spoofed SCCRQs, in the middle of the flood, still comes up. The 16-bit tunnel ID
/// space is never filled by SCCRQs alone.
#[test]
fn sccrq_flood_from_spoofed_sources_keeps_half_open_bounded_and_lets_a_real_lac_in() {
    const FLOOD: u32 = 100_000;
    const MAX: usize = DEFAULT_MAX_HALF_OPEN;
    let cfg = EndpointConfig {
        accept_v2_incoming: true,
        ..EndpointConfig::default()
    };
    assert_eq!(cfg.max_half_open, MAX);
    let mut lns = Endpoint::new(cfg, 1);
    let mut lac = Endpoint::new(EndpointConfig::default(), 2);
    let lns_addr = addr("10.0.0.2:1701");
    let lac_addr = addr("192.0.2.1:1701");
    let t0 = std::time::Instant::now();
    let mut now = t0;
    let mut lac_tunnel = None;
    // The LAC's datagrams to the LNS, each held until this many more spoofed SCCRQs passed.
    let mut lac_in_flight: Vec<(u32, Vec<u8>)> = Vec::new();
    let mut lns_up = 0;
    let mut evicted_events = 0;
    let steps_before = lns.scan_steps();
    for i in 0..FLOOD {
        // 10 µs apart: the whole flood takes 1 s, well within the half-open timeouts.
        now += Duration::from_micros(10);
        let from = SocketAddr::from(([10, 128 + (i >> 16) as u8, (i >> 8) as u8, i as u8], 1701));
        lns.handle(now, from, &sccrq((i % 65_535) as u16 + 1));
        if i == FLOOD / 2 {
            let mut c = TunnelConfig::new(Version::V2, Encap::Udp, lns_addr);
            c.host_name = b"real-lac".to_vec();
            lac_tunnel = Some(lac.connect(now, c).unwrap());
        }
        // The LAC's side of the network: its datagrams reach the LNS 1,000 SCCRQs later.
        while let Some(t) = lac.poll_transmit() {
            lac_in_flight.push((i + 1000, t.payload));
        }
        while lac_in_flight.first().is_some_and(|(at, _)| *at <= i) {
            let (_, b) = lac_in_flight.remove(0);
            lns.handle(now, lac_addr, &b);
        }
        while let Some(t) = lns.poll_transmit() {
            if t.destination == lac_addr {
                lac.handle(now, lns_addr, &t.payload);
            }
        }
        while lns.poll_accepted().is_some() {}
        while let Some(e) = lns.poll_event() {
            match e {
                Event::TunnelUp { .. } => lns_up += 1,
                Event::TunnelDown { .. } => evicted_events += 1,
                _ => {}
            }
        }
        assert!(lns.half_open() <= MAX);
    }
    let st = lns.stats();
    assert_eq!(st.tunnels_accepted, u64::from(FLOOD) + 1);
    assert_eq!(lns_up, 1, "the real LAC's tunnel came up in the flood");
    let t = lac_tunnel.unwrap();
    assert!(std::iter::from_fn(|| lac.poll_event())
        .any(|e| matches!(e, Event::TunnelUp { tunnel, .. } if tunnel == t)));
    let (tunnels, _) = lns.counts();
    assert_eq!(lns.half_open(), MAX);
    assert_eq!(tunnels, MAX + 1, "the half-open ones and the real LAC's");
    assert_eq!(st.half_open_evicted, u64::from(FLOOD) - MAX as u64);
    assert_eq!(evicted_events, st.half_open_evicted);
    assert_eq!(st.refused_peer_limit, 0);
    lns.check_indexes().unwrap();
    // O(1) per SCCRQ: ID allocation tries only (a few per SCCRQ at 6 % of the ID space).
    let steps = lns.scan_steps() - steps_before;
    assert!(
        steps < 2 * u64::from(FLOOD),
        "{steps} steps for {FLOOD} SCCRQs"
    );
    // Once the flood stops, the half-open tunnels expire: only the real one is left.
    let later = now + Duration::from_secs(60);
    while let Some(at) = lns.poll_timeout().filter(|&at| at <= later) {
        lns.handle_timeout(at);
        while lns.poll_transmit().is_some() {}
        while lns.poll_event().is_some() {}
    }
    assert_eq!(lns.half_open(), 0);
    assert_eq!(lns.counts().0, 1);
    lns.check_indexes().unwrap();
}

/// `max_tunnels_per_peer`: a peer address over the limit has its SCCRQs dropped silently
/// (nothing sent, nothing held); once one of its tunnels has gone, its retransmitted SCCRQ is
/// taken. Closed records do not count.
#[test]
fn sccrq_over_the_per_peer_limit_is_dropped_until_a_tunnel_of_that_peer_goes() {
    let mut s = Sim::new(
        5,
        EndpointConfig {
            max_tunnels_per_peer: 3,
            ..EndpointConfig::default()
        },
    );
    let now = s.now;
    let mut ts = Vec::new();
    for _ in 0..3 {
        let cfg = s.tunnel_cfg();
        ts.push(s.nodes[LAC].ep.connect(now, cfg).unwrap());
    }
    assert!(s.run_until(secs(2.0), |s| s.count(LAC, is_tunnel_up) == 3));
    let now = s.now;
    let cfg = s.tunnel_cfg();
    let fourth = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    s.run_for(secs(0.5));
    let st = s.nodes[LNS].ep.stats();
    assert_eq!((st.refused_peer_limit, st.tunnels_accepted), (1, 3));
    assert_eq!(s.nodes[LNS].ep.counts().0, 3);
    assert!(
        s.sent(LNS, MessageType::StopCcn).is_empty(),
        "refused silently"
    );
    // One of the peer's tunnels closes (by the peer: the LNS keeps a closed record, which does
    // not count); the fourth tunnel's retransmitted SCCRQ is then accepted.
    let now = s.now;
    let rc = ResultCode {
        result: 1,
        error: Some(0),
        message: None,
    };
    s.nodes[LAC].ep.close_tunnel(now, ts[0], rc).unwrap();
    assert!(s.run_until(secs(10.0), |s| s.has_event(LAC, |e| matches!(
        e,
        Event::TunnelUp { tunnel, .. } if *tunnel == fourth
    ))));
    assert_eq!(s.nodes[LNS].ep.lingering(), 1);
    assert_eq!(s.nodes[LNS].ep.stats().refused_peer_limit, 1);
    s.nodes[LNS].ep.check_indexes().unwrap();
    // Other peers are not affected by this one's limit.
    s.nodes[LAC].src = addr("10.0.0.9:1701");
    s.nodes[LAC].addr = addr("10.0.0.9:1701");
    let now = s.now;
    let cfg = s.tunnel_cfg();
    let other = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    assert!(s.run_until(secs(2.0), |s| s.has_event(LAC, |e| matches!(
        e,
        Event::TunnelUp { tunnel, .. } if *tunnel == other
    ))));
}

/// A tunnel accepted for an SCCRQ whose sender never answers our SCCRP (a spoofed source) is
/// gone after the retransmission budget: TunnelDown(Timeout), nothing left behind.
#[test]
fn half_open_tunnel_of_a_spoofed_sccrq_expires_after_the_retransmission_budget() {
    let mut ep = Endpoint::new(
        EndpointConfig {
            accept_v2_incoming: true,
            ..EndpointConfig::default()
        },
        9,
    );
    let t0 = std::time::Instant::now();
    ep.handle(t0, addr("198.51.100.7:1701"), &sccrq(77));
    assert_eq!((ep.half_open(), ep.counts().0), (1, 1));
    let mut now = t0;
    while let Some(at) = ep.poll_timeout() {
        now = at;
        ep.handle_timeout(at);
    }
    let events: Vec<_> = std::iter::from_fn(|| ep.poll_event()).collect();
    assert!(matches!(
        &events[..],
        [Event::TunnelDown {
            reason: DownReason::Timeout,
            ..
        }]
    ));
    assert!(now - t0 <= Duration::from_secs(23), "{:?}", now - t0);
    assert_eq!((ep.half_open(), ep.counts().0), (0, 0));
    ep.check_indexes().unwrap();
}
