//! L2TPv2 engine behaviour: LAC ↔ LNS over the simulated network (real codec in between).

#[path = "sim_harness.rs"]
mod sim;

use std::time::Duration;

use l2tp_proto::endpoint::{DownReason, EndpointConfig, Event, SessionConfig, TunnelId};
use l2tp_proto::tunnel::TunnelState;
use l2tp_proto::wire::{
    Avp, AvpValue, ControlHeader, ControlMessage, Encap, MessageType, ResultCode, Version,
};
use sim::*;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn rc(result: u16, error: u16) -> ResultCode {
    ResultCode {
        result,
        error: Some(error),
        message: None,
    }
}

/// Sets up a tunnel and one session; returns (LAC tunnel, LNS tunnel).
fn setup(s: &mut Sim) -> (TunnelId, TunnelId) {
    let now = s.now;
    let cfg = s.tunnel_cfg();
    let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    s.nodes[LAC]
        .ep
        .open_session(now, t, SessionConfig::default())
        .unwrap();
    assert!(s.run_until(secs(60.0), |s| s.has_event(LAC, is_session_up)
        && s.has_event(LNS, is_session_up)));
    let lns_t = s.nodes[LNS].ep.tunnel_ids()[0];
    (t, lns_t)
}

#[test]
fn tunnel_and_session_setup_lac_to_lns() {
    let mut s = Sim::pair(1);
    let (t, lns_t) = setup(&mut s);
    let lac_ev = s.events(LAC);
    let lns_ev = s.events(LNS);
    let Event::TunnelUp {
        tunnel,
        peer_tunnel_id,
        peer_host_name,
        ..
    } = &lac_ev[0]
    else {
        panic!("{lac_ev:?}")
    };
    assert_eq!(*tunnel, t);
    assert_eq!(*peer_tunnel_id, lns_t.0);
    assert_eq!(peer_host_name, b"lns.example");
    let Event::TunnelUp {
        peer_tunnel_id,
        peer_host_name,
        ..
    } = &lns_ev[0]
    else {
        panic!("{lns_ev:?}")
    };
    assert_eq!(*peer_tunnel_id, t.0);
    assert_eq!(peer_host_name, b"lac.example");
    // Session IDs cross-match.
    let (
        Event::SessionUp {
            session: lac_sid,
            peer_session_id: lac_peer,
            peer_tunnel_id,
            ..
        },
        Event::SessionUp {
            session: lns_sid,
            peer_session_id: lns_peer,
            ..
        },
    ) = (&lac_ev[1], &lns_ev[1])
    else {
        panic!("{lac_ev:?} {lns_ev:?}")
    };
    assert_eq!(lac_sid.0, *lns_peer);
    assert_eq!(lns_sid.0, *lac_peer);
    assert_eq!(*peer_tunnel_id, lns_t.0);
    // Message sequence on the wire, xl2tpd style: ICRQ right after SCCCN.
    let types: Vec<_> = s.log.iter().filter_map(|p| p.mt()).collect();
    assert_eq!(
        types,
        vec![
            MessageType::Sccrq,
            MessageType::Sccrp,
            MessageType::Scccn,
            MessageType::Icrq,
            MessageType::Icrp,
            MessageType::Iccn
        ]
    );
    let info = s.nodes[LAC].ep.tunnel_info(t).unwrap();
    assert_eq!(info.state, TunnelState::Established);
    assert_eq!(info.sessions.len(), 1);
    assert_eq!(s.nodes[LAC].ep.stats().malformed, 0);
    assert_eq!(s.nodes[LNS].ep.stats().malformed, 0);
    assert_eq!(s.nodes[LNS].ep.stats().tunnels_accepted, 1);
}

#[test]
fn lost_sccrq_retransmitted_at_1_2_4_8_s_then_timeout() {
    let mut s = Sim::pair(2);
    s.nodes[LNS].up = false;
    let mut cfg = s.tunnel_cfg();
    cfg.max_retries = 4;
    let now = s.now;
    let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    s.run_for(secs(100.0));
    let times: Vec<f64> = s
        .sent(LAC, MessageType::Sccrq)
        .iter()
        .map(|p| p.at.as_secs_f64())
        .collect();
    // Intervals 1, 2, 4, 8 s.
    assert_eq!(times, vec![0.0, 1.0, 3.0, 7.0, 15.0]);
    // All copies keep Ns 0.
    assert!(s
        .sent(LAC, MessageType::Sccrq)
        .iter()
        .all(|p| p.msg.as_ref().unwrap().header.ns == 0));
    let (at, ev) = s.nodes[LAC].events.last().unwrap().clone();
    assert_eq!(
        ev,
        Event::TunnelDown {
            tunnel: t,
            reason: DownReason::Timeout
        }
    );
    // Give-up after the last 8 s interval (cap).
    assert_eq!(at, secs(23.0));
    assert!(s.nodes[LAC].ep.tunnel_ids().is_empty());
    assert_eq!(s.nodes[LAC].ep.poll_timeout(), None);
    assert_eq!(s.nodes[LAC].ep.stats().retransmits, 4);
}

#[test]
fn max_retries_exhausted_reports_timeout_and_sessions_down() {
    let mut s = Sim::pair(3);
    let (t, _) = setup(&mut s);
    s.nodes[LNS].up = false; // peer dies silently (l2tpns on SIGTERM)
    let now = s.now;
    s.nodes[LAC]
        .ep
        .close_session(
            now,
            t,
            s.nodes[LAC].ep.tunnel_info(t).unwrap().sessions[0]
                .id
                .into_sid(),
            rc(1, 0),
        )
        .unwrap();
    s.run_for(secs(60.0));
    let cdns = s.sent(LAC, MessageType::Cdn);
    assert_eq!(cdns.len(), 4, "first send + 3 retransmissions");
    let start = cdns[0].at;
    let rel: Vec<f64> = cdns.iter().map(|p| (p.at - start).as_secs_f64()).collect();
    assert_eq!(rel, vec![0.0, 1.0, 3.0, 7.0]);
    let (at, ev) = s.nodes[LAC].events.last().unwrap().clone();
    assert_eq!(
        ev,
        Event::TunnelDown {
            tunnel: t,
            reason: DownReason::Timeout
        }
    );
    assert_eq!((at - start).as_secs_f64(), 15.0);
}

trait IntoSid {
    fn into_sid(self) -> l2tp_proto::endpoint::SessionId;
}
impl IntoSid for u32 {
    fn into_sid(self) -> l2tp_proto::endpoint::SessionId {
        l2tp_proto::endpoint::SessionId(self)
    }
}

#[test]
fn duplicate_sccrq_is_reacked_counted_and_creates_one_tunnel() {
    let mut s = Sim::pair(4);
    // Lose the first SCCRP: the LAC retransmits its SCCRQ, the LNS sees a duplicate.
    let mut dropped = false;
    s.drop_if = Some(Box::new(move |p| {
        if !dropped && p.mt() == Some(MessageType::Sccrp) {
            dropped = true;
            return true;
        }
        false
    }));
    let cfg = s.tunnel_cfg();
    let now = s.now;
    s.nodes[LAC].ep.connect(now, cfg).unwrap();
    assert!(s.run_until(secs(30.0), |s| s.has_event(LAC, is_tunnel_up)
        && s.has_event(LNS, is_tunnel_up)));
    assert_eq!(s.sent(LAC, MessageType::Sccrq).len(), 2);
    assert_eq!(s.nodes[LNS].ep.stats().duplicates, 1);
    assert_eq!(s.nodes[LNS].ep.stats().tunnels_accepted, 1);
    assert_eq!(s.nodes[LNS].ep.tunnel_ids().len(), 1);
    // The duplicate was re-acknowledged by a ZLB with Nr 1.
    let z = s.zlbs(LNS);
    assert!(z.iter().any(|p| p.msg.as_ref().unwrap().header.nr == 1));
}

#[test]
fn duplicated_datagrams_everywhere_are_harmless() {
    let mut s = Sim::pair(5);
    s.faults.duplicate = 1.0;
    setup(&mut s);
    assert!(s.nodes[LAC].ep.stats().duplicates > 0);
    assert!(s.nodes[LNS].ep.stats().duplicates > 0);
    assert_eq!(s.events(LAC).len(), 2);
    assert_eq!(s.events(LNS).len(), 2);
}

#[test]
fn lossy_reordering_network_still_sets_up_and_tears_down() {
    for seed in 0..20 {
        let mut s = Sim::new(
            100 + seed,
            EndpointConfig {
                max_retries: 10,
                ..EndpointConfig::default()
            },
        );
        s.faults.drop = 0.2;
        s.faults.jitter = Duration::from_millis(300);
        let mut cfg = s.tunnel_cfg();
        cfg.max_retries = 10;
        let now = s.now;
        let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
        for _ in 0..3 {
            s.nodes[LAC]
                .ep
                .open_session(now, t, SessionConfig::default())
                .unwrap();
        }
        let ok = s.run_until(secs(300.0), |s| {
            s.events(LAC).iter().filter(|e| is_session_up(e)).count() == 3
                && s.events(LNS).iter().filter(|e| is_session_up(e)).count() == 3
        });
        assert!(ok, "seed {seed}: {:?} / {:?}", s.events(LAC), s.events(LNS));
        let now = s.now;
        s.nodes[LAC].ep.close_tunnel(now, t, rc(1, 0)).unwrap();
        assert!(
            s.run_until(secs(300.0), |s| s.has_event(LAC, is_tunnel_down)
                && s.has_event(LNS, is_tunnel_down))
        );
    }
}

#[test]
fn peer_cdn_reports_session_down_with_peer_result_code() {
    let mut s = Sim::pair(6);
    let (t, lns_t) = setup(&mut s);
    let lns_sid = s.nodes[LNS].ep.tunnel_info(lns_t).unwrap().sessions[0].id;
    let lac_sid = s.nodes[LAC].ep.tunnel_info(t).unwrap().sessions[0].id;
    let now = s.now;
    let code = ResultCode {
        result: 3,
        error: Some(0),
        message: Some(b"admin".to_vec()),
    };
    s.nodes[LNS]
        .ep
        .close_session(now, lns_t, lns_sid.into_sid(), code.clone())
        .unwrap();
    s.run_for(secs(5.0));
    assert!(s.has_event(LAC, |e| *e
        == Event::SessionDown {
            tunnel: t,
            session: lac_sid.into_sid(),
            reason: DownReason::Peer(code.clone())
        }));
    assert!(s.has_event(LNS, |e| *e
        == Event::SessionDown {
            tunnel: lns_t,
            session: lns_sid.into_sid(),
            reason: DownReason::Local(code.clone())
        }));
    // The CDN was acknowledged by a ZLB carrying the LNS's session ID (xl2tpd style).
    let cdn_at = s.sent(LNS, MessageType::Cdn)[0].at;
    let z = s.zlbs(LAC);
    let ack = z.iter().find(|p| p.at >= cdn_at).unwrap();
    assert_eq!(
        u32::from(ack.msg.as_ref().unwrap().header.session_id),
        lns_sid
    );
    assert!(s.nodes[LAC].ep.tunnel_info(t).unwrap().sessions.is_empty());
    assert_eq!(s.nodes[LNS].ep.stats().retransmits, 0);
}

#[test]
fn peer_stopccn_reports_sessions_then_tunnel_down_and_keeps_record() {
    let mut s = Sim::pair(7);
    let (t, lns_t) = setup(&mut s);
    let now = s.now;
    let code = ResultCode {
        result: 6,
        error: Some(0),
        message: Some(b"Server closing".to_vec()),
    };
    s.nodes[LNS]
        .ep
        .close_tunnel(now, lns_t, code.clone())
        .unwrap();
    s.run_for(secs(1.0));
    let ev = s.events(LAC);
    assert!(matches!(
        &ev[2],
        Event::SessionDown {
            reason: DownReason::TunnelDown,
            ..
        }
    ));
    assert_eq!(
        ev[3],
        Event::TunnelDown {
            tunnel: t,
            reason: DownReason::Peer(code.clone())
        }
    );
    let lns_ev = s.events(LNS);
    assert!(matches!(
        &lns_ev[2],
        Event::SessionDown {
            reason: DownReason::TunnelDown,
            ..
        }
    ));
    assert_eq!(
        lns_ev[3],
        Event::TunnelDown {
            tunnel: lns_t,
            reason: DownReason::Local(code)
        }
    );
    // Both keep a closed record for 31 s: the LAC, to re-acknowledge the StopCCN; the LNS,
    // whose StopCCN was acknowledged, to acknowledge anything the LAC still sends.
    for (n, t) in [(LAC, t), (LNS, lns_t)] {
        assert_eq!(
            s.nodes[n].ep.tunnel_info(t).unwrap().state,
            TunnelState::Closed
        );
        assert_eq!(s.nodes[n].ep.lingering(), 1);
    }
    s.run_for(secs(31.0));
    for n in [LAC, LNS] {
        assert!(s.nodes[n].ep.tunnel_ids().is_empty());
        assert_eq!(s.nodes[n].ep.lingering(), 0);
        assert_eq!(s.nodes[n].ep.poll_timeout(), None);
    }
}

#[test]
fn closed_record_reacks_retransmitted_stopccn() {
    let mut s = Sim::pair(8);
    let (t, lns_t) = setup(&mut s);
    // Lose the LAC's first ZLB after the StopCCN.
    let mut armed = false;
    let mut dropped = false;
    s.drop_if = Some(Box::new(move |p| {
        if p.mt() == Some(MessageType::StopCcn) {
            armed = true;
        }
        if armed && !dropped && p.from == LAC && p.is_zlb() {
            dropped = true;
            return true;
        }
        false
    }));
    let now = s.now;
    s.nodes[LNS].ep.close_tunnel(now, lns_t, rc(1, 0)).unwrap();
    s.run_for(secs(10.0));
    assert_eq!(s.sent(LNS, MessageType::StopCcn).len(), 2);
    assert_eq!(s.nodes[LAC].ep.stats().duplicates, 1);
    assert!(s.has_event(LNS, |e| matches!(
        e,
        Event::TunnelDown {
            reason: DownReason::Local(_),
            ..
        }
    )));
    // Exactly one TunnelDown on the LAC despite the retransmission.
    assert_eq!(
        s.events(LAC).iter().filter(|e| is_tunnel_down(e)).count(),
        1
    );
    assert!(s.nodes[LAC].ep.tunnel_info(t).is_some());
}

#[test]
fn close_tunnel_sends_stopccn_and_reports_local_after_ack() {
    let mut s = Sim::pair(9);
    let (t, lns_t) = setup(&mut s);
    let now = s.now;
    s.nodes[LAC].ep.close_tunnel(now, t, rc(1, 0)).unwrap();
    // Sessions go down at once, the tunnel only when the StopCCN is acked.
    let ev: Vec<_> = std::iter::from_fn(|| s.nodes[LAC].ep.poll_event()).collect();
    assert_eq!(ev.len(), 1);
    assert!(matches!(
        ev[0],
        Event::SessionDown {
            reason: DownReason::TunnelDown,
            ..
        }
    ));
    assert_eq!(
        s.nodes[LAC].ep.tunnel_info(t).unwrap().state,
        TunnelState::Closing
    );
    s.run_for(secs(1.0));
    assert!(s.has_event(LAC, |e| *e
        == Event::TunnelDown {
            tunnel: t,
            reason: DownReason::Local(rc(1, 0))
        }));
    assert!(s.has_event(LNS, |e| *e
        == Event::TunnelDown {
            tunnel: lns_t,
            reason: DownReason::Peer(rc(1, 0))
        }));
    let stop = s.sent(LAC, MessageType::StopCcn);
    assert_eq!(stop.len(), 1);
    // Reported down at once; the record goes after the StopCCN hold time.
    assert_eq!(s.nodes[LAC].ep.lingering(), 1);
    s.run_for(secs(31.0));
    assert!(s.nodes[LAC].ep.tunnel_ids().is_empty());
}

/// Both ends close at once and ours is acknowledged first (RFC 2661 §5.7): the record stays
/// for the hold time and acknowledges the peer's CDN and StopCCN that crossed ours, and the
/// StopCCN's retransmission, with ZLBs — one TunnelDown, reported when ours was acknowledged.
#[test]
fn after_our_stopccn_is_acked_the_peers_crossing_stopccn_is_still_acked() {
    let mut s = Sim::pair(26);
    let (t, lns_t) = setup(&mut s);
    let lac_sid = s.nodes[LAC].ep.tunnel_info(t).unwrap().sessions[0].id;
    let lns_sid = s.nodes[LNS].ep.tunnel_info(lns_t).unwrap().sessions[0].id;
    let now = s.now;
    s.nodes[LAC].ep.close_tunnel(now, t, rc(6, 0)).unwrap();
    s.run_for(secs(0.5));
    let down = |s: &Sim| s.events(LAC).into_iter().filter(is_tunnel_down).count();
    assert_eq!(down(&s), 1, "reported when our StopCCN was acknowledged");
    assert!(s.has_event(LAC, |e| *e
        == Event::TunnelDown {
            tunnel: t,
            reason: DownReason::Local(rc(6, 0))
        }));
    assert_eq!(s.nodes[LAC].ep.lingering(), 1);
    // What the LNS had sent before it saw our StopCCN, arriving late: a CDN, then its StopCCN
    // (twice: the first ZLB is lost).
    let info = s.nodes[LAC].ep.tunnel_info(t).unwrap();
    assert_eq!(info.state, TunnelState::Closed);
    let msg = |ns: u16, avps: Vec<Avp>, sid: u32| {
        ControlMessage {
            header: ControlHeader {
                version: Version::V2,
                tunnel_id: t.0,
                session_id: sid as u16,
                ns,
                nr: info.next_ns.wrapping_sub(1),
            },
            avps,
        }
        .to_bytes(Encap::Udp, None)
        .unwrap()
    };
    let cdn = msg(
        info.next_nr,
        vec![
            Avp::m(AvpValue::MessageType(MessageType::Cdn)),
            Avp::m(AvpValue::ResultCode(rc(3, 0))),
            Avp::m(AvpValue::AssignedSessionId(lns_sid as u16)),
        ],
        lac_sid,
    );
    let stop = msg(
        info.next_nr.wrapping_add(1),
        vec![
            Avp::m(AvpValue::MessageType(MessageType::StopCcn)),
            Avp::m(AvpValue::AssignedTunnelId(lns_t.0 as u16)),
            Avp::m(AvpValue::ResultCode(rc(1, 0))),
        ],
        0,
    );
    let from = s.nodes[LNS].src;
    let mut zlb_nr = Vec::new();
    for (i, bytes) in [cdn, stop.clone(), stop].iter().enumerate() {
        let now = s.now + secs(i as f64);
        let ep = &mut s.nodes[LAC].ep;
        ep.handle(now, from, bytes);
        assert_eq!(ep.poll_event(), None, "message {i}");
        let out: Vec<_> = std::iter::from_fn(|| ep.poll_transmit()).collect();
        assert_eq!(out.len(), 1, "message {i}: one ZLB");
        assert_eq!(out[0].destination, from);
        let m = ControlMessage::parse(&out[0].payload, Encap::Udp, None).unwrap();
        assert!(m.is_zlb(), "message {i}: {m:?}");
        assert_eq!(m.header.tunnel_id, lns_t.0);
        zlb_nr.push(m.header.nr);
    }
    let next = info.next_nr;
    assert_eq!(
        zlb_nr,
        [
            next.wrapping_add(1),
            next.wrapping_add(2),
            next.wrapping_add(2)
        ]
    );
    assert_eq!(s.nodes[LAC].ep.stats().duplicates, 1);
    assert_eq!(down(&s), 1, "no second TunnelDown");
    // Gone after the hold time.
    s.run_for(secs(32.0));
    assert!(s.nodes[LAC].ep.tunnel_ids().is_empty());
    assert_eq!(s.nodes[LAC].ep.lingering(), 0);
    s.nodes[LAC].ep.check_indexes().unwrap();
}

/// A tunnel configured with a fixed ID can be re-created at once after it was closed: the
/// closed records holding the ID give way, ours and the peer's (which takes the new SCCRQ
/// naming the same tunnel for a new tunnel, not a retransmission).
#[test]
fn closed_records_give_way_to_a_tunnel_re_dialled_with_the_same_id() {
    let mut s = Sim::pair(27);
    let mut cfg = s.tunnel_cfg();
    cfg.local_tunnel_id = Some(4242);
    let now = s.now;
    let t = s.nodes[LAC].ep.connect(now, cfg.clone()).unwrap();
    assert!(s.run_until(secs(5.0), |s| s.count(LAC, is_tunnel_up) == 1));
    let now = s.now;
    s.nodes[LAC].ep.close_tunnel(now, t, rc(1, 0)).unwrap();
    s.run_for(secs(1.0));
    assert_eq!(s.nodes[LAC].ep.lingering(), 1);
    assert_eq!(s.nodes[LNS].ep.lingering(), 1);
    let now = s.now;
    assert_eq!(s.nodes[LAC].ep.connect(now, cfg), Ok(TunnelId(4242)));
    assert_eq!(s.nodes[LAC].ep.lingering(), 0);
    assert!(s.run_until(secs(5.0), |s| s.count(LAC, is_tunnel_up) == 2
        && s.count(LNS, is_tunnel_up) == 2));
    assert_eq!(s.nodes[LNS].ep.lingering(), 0);
    for n in [LAC, LNS] {
        s.nodes[n].ep.check_indexes().unwrap();
    }
}

#[test]
fn close_tunnel_with_dead_peer_reports_local_after_retries() {
    let mut s = Sim::pair(10);
    let (t, _) = setup(&mut s);
    s.nodes[LNS].up = false;
    let now = s.now;
    s.nodes[LAC].ep.close_tunnel(now, t, rc(6, 0)).unwrap();
    s.run_for(secs(60.0));
    assert_eq!(s.sent(LAC, MessageType::StopCcn).len(), 4);
    assert!(s.has_event(LAC, |e| *e
        == Event::TunnelDown {
            tunnel: t,
            reason: DownReason::Local(rc(6, 0))
        }));
    assert!(s.nodes[LAC].ep.tunnel_ids().is_empty());
}

#[test]
fn hello_sent_after_hello_interval_of_silence() {
    // The LNS sends no HELLO of its own (the default would), so the LAC's timer runs out.
    let mut s = Sim::new(
        11,
        EndpointConfig {
            hello_interval: None,
            ..EndpointConfig::default()
        },
    );
    let mut cfg = s.tunnel_cfg();
    cfg.hello_interval = Some(Duration::from_secs(60));
    let now = s.now;
    let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    assert!(s.run_until(secs(5.0), |s| s.has_event(LAC, is_tunnel_up)));
    let last_rx = s.log.iter().rev().find(|p| p.from == LNS).unwrap().at;
    s.run_for(secs(200.0));
    let hellos = s.sent(LAC, MessageType::Hello);
    assert_eq!(hellos.len(), 3, "at ~60, ~120, ~180 s");
    let first = hellos[0].at;
    assert!(first >= last_rx + secs(60.0) && first <= last_rx + secs(60.01));
    // Each HELLO is acked by a ZLB from the LNS, and the tunnel stays up.
    assert!(s.zlbs(LNS).iter().any(|p| p.at >= first));
    assert_eq!(
        s.nodes[LAC].ep.tunnel_info(t).unwrap().state,
        TunnelState::Established
    );
    // The LNS (no hello configured) sends none.
    assert!(s.sent(LNS, MessageType::Hello).is_empty());
}

#[test]
fn hello_unanswered_brings_tunnel_down() {
    let mut s = Sim::pair(12);
    let mut cfg = s.tunnel_cfg();
    cfg.hello_interval = Some(Duration::from_secs(60));
    let now = s.now;
    let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    assert!(s.run_until(secs(5.0), |s| s.has_event(LAC, is_tunnel_up)));
    s.nodes[LNS].up = false;
    s.run_for(secs(200.0));
    assert_eq!(s.sent(LAC, MessageType::Hello).len(), 4);
    assert!(s.has_event(LAC, |e| *e
        == Event::TunnelDown {
            tunnel: t,
            reason: DownReason::Timeout
        }));
}

/// RFC 2661 §6.5: by default (`TunnelConfig::new`, `EndpointConfig::default`) a dynamic
/// tunnel sends HELLO after 60 s of silence, so a peer that vanishes without a StopCCN is
/// declared dead after 60 s plus the retransmission budget (1 + 2 + 4 + 8 s) — the tunnel we
/// dialled as well as the one we accepted.
#[test]
fn vanished_peer_is_declared_dead_by_default_hellos_dialled_and_accepted() {
    for vanished in [LNS, LAC] {
        let survivor = 1 - vanished;
        let mut s = Sim::pair(24);
        let (lac_t, lns_t) = setup(&mut s);
        let t = if survivor == LAC { lac_t } else { lns_t };
        s.run_for(secs(1.0));
        let last_rx = s.log.iter().rev().find(|p| p.from == vanished).unwrap().at + s.latency;
        // Gone both ways: receives nothing, and nothing it sends arrives.
        s.nodes[vanished].up = false;
        s.drop_if = Some(Box::new(move |p| p.from == vanished));
        s.run_for(secs(120.0));
        let downs: Vec<_> = s.nodes[survivor]
            .events
            .iter()
            .filter(|(_, e)| is_tunnel_down(e))
            .collect();
        assert_eq!(downs.len(), 1, "node {survivor}: {downs:?}");
        let (at, ev) = downs[0];
        assert_eq!(
            *ev,
            Event::TunnelDown {
                tunnel: t,
                reason: DownReason::Timeout
            }
        );
        // HELLO at 60 s, retransmitted at +1, +3, +7 s, given up at +15 s.
        let after = *at - last_rx;
        assert!(
            after >= secs(75.0) && after <= secs(75.1),
            "node {survivor}: down {after:?} after the last datagram"
        );
        assert_eq!(s.sent(survivor, MessageType::Hello).len(), 4);
        assert!(s.nodes[survivor].ep.tunnel_ids().is_empty());
    }
}

/// RFC 2661 Appendix A after a retransmission timeout: the messages in flight are taken as
/// lost and resent as the congestion window reopens with each acknowledgement (go-back-N),
/// so four ICRQs lost in a row cost one retransmission timeout plus a few round trips — not
/// one timeout each, as when only the oldest was resent and the others waited for the timer.
#[test]
fn burst_of_four_lost_messages_recovers_in_one_retransmission_timeout() {
    let mut s = Sim::pair(25);
    // One call first: the acknowledgements open the congestion window to the peer's 4.
    let (t, _) = setup(&mut s);
    s.run_for(secs(1.0));
    assert_eq!(s.nodes[LAC].ep.tunnel_info(t).unwrap().send_window, 4);
    // The first transmission of each of the next four ICRQs is lost.
    let mut seen = std::collections::HashSet::new();
    s.drop_if = Some(Box::new(move |p| {
        p.from == LAC
            && p.mt() == Some(MessageType::Icrq)
            && seen.insert(p.msg.as_ref().unwrap().header.ns)
    }));
    let now = s.now;
    let start = s.elapsed();
    for _ in 0..4 {
        s.nodes[LAC]
            .ep
            .open_session(now, t, SessionConfig::default())
            .unwrap();
    }
    assert_eq!(s.nodes[LAC].ep.tunnel_info(t).unwrap().in_flight, 4);
    assert!(s.run_until(secs(30.0), |s| s.count(LNS, is_session_up) == 5
        && s.count(LAC, is_session_up) == 5));
    let took = s.elapsed() - start;
    assert!(
        took < secs(1.1),
        "four lost ICRQs took {took:?} to recover (retransmission timeout 1 s)"
    );
    // Each lost message was resent once.
    assert_eq!(s.sent(LAC, MessageType::Icrq).len(), 1 + 4 + 4);
    assert_eq!(s.nodes[LAC].ep.stats().retransmits, 4);
}

#[test]
fn peer_receive_window_of_one_allows_one_outstanding_message() {
    let mut s = Sim::new(
        13,
        EndpointConfig {
            window_size: 1,
            ..EndpointConfig::default()
        },
    );
    s.latency = Duration::from_millis(50);
    let cfg = s.tunnel_cfg();
    let now = s.now;
    let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    for _ in 0..4 {
        s.nodes[LAC]
            .ep
            .open_session(now, t, SessionConfig::default())
            .unwrap();
    }
    let mut max_in_flight = 0;
    let ok = s.run_until(secs(60.0), |s| {
        if let Some(i) = s.nodes[LAC].ep.tunnel_info(t) {
            if i.send_window == 1 {
                max_in_flight = max_in_flight.max(i.in_flight);
            }
        }
        s.events(LNS).iter().filter(|e| is_session_up(e)).count() == 4
            && s.events(LAC).iter().filter(|e| is_session_up(e)).count() == 4
    });
    assert!(ok);
    assert_eq!(max_in_flight, 1);
    assert_eq!(s.nodes[LAC].ep.tunnel_info(t).unwrap().send_window, 1);
    // With a window of 1 the LAC never sends a new message before the previous one is acked:
    // no two LAC messages in flight at once on the wire.
    assert_eq!(s.nodes[LAC].ep.stats().retransmits, 0);
}

#[test]
fn reply_from_another_port_updates_peer_address() {
    let mut s = Sim::pair(14);
    s.nodes[LNS].src = addr("10.0.0.2:40000");
    let (t, _) = setup(&mut s);
    assert_eq!(
        s.nodes[LAC].ep.tunnel_info(t).unwrap().peer,
        addr("10.0.0.2:40000")
    );
    assert!(s.has_event(
        LAC,
        |e| matches!(e, Event::TunnelUp { peer, .. } if *peer == addr("10.0.0.2:40000"))
    ));
}

#[test]
fn open_session_on_closing_tunnel_is_refused() {
    let mut s = Sim::pair(15);
    let (t, _) = setup(&mut s);
    let now = s.now;
    s.nodes[LAC].ep.close_tunnel(now, t, rc(1, 0)).unwrap();
    assert!(s.nodes[LAC]
        .ep
        .open_session(now, t, SessionConfig::default())
        .is_err());
    assert!(s.nodes[LAC]
        .ep
        .open_session(now, TunnelId(1), SessionConfig::default())
        .is_err());
}

#[test]
fn unknown_and_malformed_datagrams_are_counted() {
    let mut s = Sim::pair(16);
    let now = s.now;
    let from = addr("10.9.9.9:1701");
    let ep = &mut s.nodes[LAC].ep;
    ep.handle(now, from, &[]);
    ep.handle(now, from, &[0xc8, 0x02, 0x00]);
    // A valid ZLB for an unknown tunnel.
    ep.handle(now, from, &hex::decode("c802000cad88000000010002").unwrap());
    // Tunnel ID 0, not an SCCRQ, and the LAC does not listen anyway.
    ep.handle(now, from, &hex::decode("c802000c0000000000010002").unwrap());
    // A data message.
    ep.handle(now, from, &hex::decode("4002000c1234567800000000").unwrap());
    let st = ep.stats();
    assert_eq!(st.malformed, 2);
    assert_eq!(st.unknown_tunnel, 2);
    assert_eq!(st.data_ignored, 1);
    assert!(ep.poll_transmit().is_none());
    assert!(ep.poll_event().is_none());
}

#[test]
fn crossing_stopccns_report_one_tunnel_down_each() {
    let mut s = Sim::pair(17);
    let (t, lns_t) = setup(&mut s);
    let now = s.now;
    s.nodes[LAC].ep.close_tunnel(now, t, rc(1, 0)).unwrap();
    s.nodes[LNS].ep.close_tunnel(now, lns_t, rc(6, 0)).unwrap();
    s.run_for(secs(60.0));
    for n in [LAC, LNS] {
        let downs: Vec<_> = s.events(n).into_iter().filter(is_tunnel_down).collect();
        assert_eq!(downs.len(), 1, "{downs:?}");
        assert!(matches!(
            downs[0],
            Event::TunnelDown {
                reason: DownReason::Local(_),
                ..
            }
        ));
        assert!(s.nodes[n].ep.tunnel_ids().is_empty());
    }
    // No retransmission storm: each StopCCN acknowledged.
    assert_eq!(s.sent(LAC, MessageType::StopCcn).len(), 1);
    assert_eq!(s.sent(LNS, MessageType::StopCcn).len(), 1);
}

#[test]
fn crossing_cdns_report_one_session_down_each() {
    let mut s = Sim::pair(18);
    let (t, lns_t) = setup(&mut s);
    let lac_sid = s.nodes[LAC].ep.tunnel_info(t).unwrap().sessions[0].id;
    let lns_sid = s.nodes[LNS].ep.tunnel_info(lns_t).unwrap().sessions[0].id;
    let now = s.now;
    s.nodes[LAC]
        .ep
        .close_session(now, t, lac_sid.into_sid(), rc(1, 0))
        .unwrap();
    s.nodes[LNS]
        .ep
        .close_session(now, lns_t, lns_sid.into_sid(), rc(3, 0))
        .unwrap();
    s.run_for(secs(30.0));
    for n in [LAC, LNS] {
        let downs = s
            .events(n)
            .into_iter()
            .filter(|e| matches!(e, Event::SessionDown { .. }))
            .count();
        assert_eq!(downs, 1);
    }
    assert_eq!(s.nodes[LAC].ep.stats().retransmits, 0);
    assert_eq!(s.nodes[LNS].ep.stats().retransmits, 0);
    // The tunnel stays up with no session.
    assert_eq!(
        s.nodes[LAC].ep.tunnel_info(t).unwrap().state,
        TunnelState::Established
    );
}

#[test]
fn close_tunnel_after_peer_cdn_sends_stopccn_and_is_acked() {
    // The path of the xl2tpd interop test: the LNS clears the call, then we stop the tunnel.
    let mut s = Sim::pair(21);
    let (t, lns_t) = setup(&mut s);
    let lns_sid = s.nodes[LNS].ep.tunnel_info(lns_t).unwrap().sessions[0].id;
    let now = s.now;
    s.nodes[LNS]
        .ep
        .close_session(now, lns_t, lns_sid.into_sid(), rc(1, 0))
        .unwrap();
    s.run_for(secs(0.5));
    let now = s.now;
    s.nodes[LAC].ep.close_tunnel(now, t, rc(6, 0)).unwrap();
    s.run_for(secs(2.0));
    assert_eq!(
        s.sent(LAC, MessageType::StopCcn).len(),
        1,
        "one StopCCN sent"
    );
    assert!(s.has_event(LAC, |e| *e
        == Event::TunnelDown {
            tunnel: t,
            reason: DownReason::Local(rc(6, 0))
        }));
}

#[test]
fn close_tunnel_transmits_stopccn_immediately() {
    let mut s = Sim::pair(22);
    let (t, _lns_t) = setup(&mut s);
    s.run_for(secs(0.5));
    let now = s.now;
    s.nodes[LAC].ep.close_tunnel(now, t, rc(6, 0)).unwrap();
    let tx = s.nodes[LAC]
        .ep
        .poll_transmit()
        .expect("StopCCN goes out at once");
    let msg = l2tp_proto::wire::ControlMessage::parse(&tx.payload, tx.encap, None).unwrap();
    assert_eq!(msg.message_type(), Some(MessageType::StopCcn));
}

#[test]
fn close_with_message_but_no_error_code_still_sends_stopccn() {
    // A Result Code message needs an error code in front of it; the API fills in 0.
    let mut s = Sim::pair(23);
    let (t, _lns_t) = setup(&mut s);
    let now = s.now;
    let code = ResultCode {
        result: 6,
        error: None,
        message: Some(b"bye".to_vec()),
    };
    s.nodes[LAC].ep.close_tunnel(now, t, code).unwrap();
    let tx = s.nodes[LAC].ep.poll_transmit().expect("StopCCN goes out");
    let msg = l2tp_proto::wire::ControlMessage::parse(&tx.payload, tx.encap, None).unwrap();
    assert_eq!(msg.message_type(), Some(MessageType::StopCcn));
    assert_eq!(s.nodes[LAC].ep.stats().encode_errors, 0);
}
