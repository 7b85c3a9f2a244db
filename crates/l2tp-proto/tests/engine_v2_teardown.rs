//! L2TPv2 teardown over the simulated network (real codec in between): CDN and StopCCN from
//! either end, crossing closes, closed-tunnel records and their re-acks.

#[path = "sim_harness.rs"]
mod sim;

use l2tp_proto::endpoint::{DownReason, Event, SessionId, TunnelId};
use l2tp_proto::tunnel::TunnelState;
use l2tp_proto::wire::{
    Avp, AvpValue, ControlHeader, ControlMessage, Encap, MessageType, ResultCode, Version,
};
use sim::*;

#[test]
fn peer_cdn_reports_session_down_with_peer_result_code() {
    let mut s = Sim::pair(6);
    let (t, lns_t) = s.tunnel_with_session();
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
        .close_session(now, lns_t, SessionId(lns_sid), code.clone())
        .unwrap();
    s.run_for(secs(5.0));
    assert!(s.has_event(LAC, |e| *e
        == Event::SessionDown {
            tunnel: t,
            session: SessionId(lac_sid),
            reason: DownReason::Peer(code.clone())
        }));
    assert!(s.has_event(LNS, |e| *e
        == Event::SessionDown {
            tunnel: lns_t,
            session: SessionId(lns_sid),
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
    let (t, lns_t) = s.tunnel_with_session();
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
    let (t, lns_t) = s.tunnel_with_session();
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
    let (t, lns_t) = s.tunnel_with_session();
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
    let (t, lns_t) = s.tunnel_with_session();
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
    let (t, _) = s.tunnel_with_session();
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
fn crossing_stopccns_report_one_tunnel_down_each() {
    let mut s = Sim::pair(17);
    let (t, lns_t) = s.tunnel_with_session();
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
    let (t, lns_t) = s.tunnel_with_session();
    let lac_sid = s.nodes[LAC].ep.tunnel_info(t).unwrap().sessions[0].id;
    let lns_sid = s.nodes[LNS].ep.tunnel_info(lns_t).unwrap().sessions[0].id;
    let now = s.now;
    s.nodes[LAC]
        .ep
        .close_session(now, t, SessionId(lac_sid), rc(1, 0))
        .unwrap();
    s.nodes[LNS]
        .ep
        .close_session(now, lns_t, SessionId(lns_sid), rc(3, 0))
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
    let (t, lns_t) = s.tunnel_with_session();
    let lns_sid = s.nodes[LNS].ep.tunnel_info(lns_t).unwrap().sessions[0].id;
    let now = s.now;
    s.nodes[LNS]
        .ep
        .close_session(now, lns_t, SessionId(lns_sid), rc(1, 0))
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
    let (t, _lns_t) = s.tunnel_with_session();
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
    let (t, _lns_t) = s.tunnel_with_session();
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
