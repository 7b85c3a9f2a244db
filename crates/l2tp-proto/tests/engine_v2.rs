//! L2TPv2 engine behaviour: LAC ↔ LNS over the simulated network (real codec in between).

#[path = "sim_harness.rs"]
mod sim;

use std::time::Duration;

use l2tp_proto::endpoint::{DownReason, EndpointConfig, Event, SessionConfig, SessionId, TunnelId};
use l2tp_proto::tunnel::TunnelState;
use l2tp_proto::wire::MessageType;
use sim::*;

#[test]
fn tunnel_and_session_setup_lac_to_lns() {
    let mut s = Sim::pair(1);
    let (t, lns_t) = s.tunnel_with_session();
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
    let (t, _) = s.tunnel_with_session();
    s.nodes[LNS].up = false; // peer dies silently (l2tpns on SIGTERM)
    let now = s.now;
    s.nodes[LAC]
        .ep
        .close_session(
            now,
            t,
            SessionId(s.nodes[LAC].ep.tunnel_info(t).unwrap().sessions[0].id),
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
    s.tunnel_with_session();
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
        let (lac_t, lns_t) = s.tunnel_with_session();
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
    let (t, _) = s.tunnel_with_session();
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
    let (t, _) = s.tunnel_with_session();
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
    let (t, _) = s.tunnel_with_session();
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
