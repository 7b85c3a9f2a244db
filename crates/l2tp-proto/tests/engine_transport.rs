//! The reliable control channel on its own (RFC 2661 §5.8, Appendix A), on message values
//! with a virtual clock.

use std::time::{Duration, Instant};

use l2tp_proto::transport::*;
use l2tp_proto::wire::{Avp, AvpValue, ControlHeader, ControlMessage, MessageType, Version};

fn msg(mt: MessageType, ns: u16, nr: u16) -> ControlMessage {
    ControlMessage {
        header: ControlHeader {
            version: Version::V2,
            tunnel_id: 1,
            session_id: 0,
            ns,
            nr,
        },
        avps: vec![Avp::m(AvpValue::MessageType(mt))],
    }
}

fn zlb(ns: u16, nr: u16) -> ControlMessage {
    ControlMessage {
        avps: vec![],
        ..msg(MessageType::Hello, ns, nr)
    }
}

fn drain(t: &mut Transport) -> Vec<Outgoing> {
    std::iter::from_fn(|| t.poll_outgoing()).collect()
}

fn new() -> Transport {
    Transport::new(TransportConfig::default(), Version::V2)
}

#[test]
fn seq_comparison_wraps() {
    assert!(seq_newer(1, 0));
    assert!(seq_newer(0, 65535));
    assert!(!seq_newer(0, 0));
    assert!(!seq_newer(0, 1));
    assert!(seq_newer(32767, 0));
    assert!(!seq_newer(32768, 0));
}

#[test]
fn assigns_ns_and_nr() {
    let t0 = Instant::now();
    let mut t = new();
    t.on_receive(t0, msg(MessageType::Sccrq, 0, 0));
    t.send(t0, msg(MessageType::Sccrp, 99, 99), Tag::None);
    let out = drain(&mut t);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].msg.header.ns, out[0].msg.header.nr), (0, 1));
    // The ack piggybacked: no ZLB.
    t.flush_ack();
    assert!(drain(&mut t).is_empty());
}

#[test]
fn zlb_when_nothing_to_piggyback() {
    let t0 = Instant::now();
    let mut t = new();
    t.on_receive(t0, msg(MessageType::Hello, 0, 0));
    t.flush_ack();
    let out = drain(&mut t);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, SendKind::Zlb);
    assert!(out[0].msg.is_zlb());
    assert_eq!((out[0].msg.header.ns, out[0].msg.header.nr), (0, 1));
    assert_eq!(
        t.poll_delivered().unwrap().message_type(),
        Some(MessageType::Hello)
    );
}

#[test]
fn retransmits_with_backoff_then_fails() {
    let t0 = Instant::now();
    let mut t = new();
    t.send(t0, msg(MessageType::Sccrq, 0, 0), Tag::None);
    assert_eq!(drain(&mut t).len(), 1);
    let mut times = vec![];
    let mut now = t0;
    while let Some(at) = t.next_timeout() {
        now = at;
        t.handle_timeout(now);
        for o in drain(&mut t) {
            assert_eq!(o.kind, SendKind::Retransmit);
            assert_eq!(o.msg.header.ns, 0);
            times.push((now - t0).as_secs());
        }
    }
    assert_eq!(times, vec![1, 3, 7]);
    assert!(t.failed());
    assert_eq!((now - t0).as_secs(), 15);
}

#[test]
fn retransmission_capped_at_8s() {
    let t0 = Instant::now();
    let cfg = TransportConfig {
        max_retries: 6,
        ..Default::default()
    };
    let mut t = Transport::new(cfg, Version::V2);
    t.send(t0, msg(MessageType::Sccrq, 0, 0), Tag::None);
    drain(&mut t);
    let mut times = vec![];
    while let Some(at) = t.next_timeout() {
        t.handle_timeout(at);
        if !drain(&mut t).is_empty() {
            times.push((at - t0).as_secs());
        }
    }
    assert_eq!(times, vec![1, 3, 7, 15, 23, 31]);
}

#[test]
fn retransmission_carries_current_nr() {
    let t0 = Instant::now();
    let mut t = new();
    t.send(t0, msg(MessageType::Scccn, 0, 0), Tag::None);
    drain(&mut t);
    t.on_receive(t0, msg(MessageType::Hello, 0, 0)); // does not ack our Ns 0
    t.flush_ack();
    drain(&mut t);
    t.handle_timeout(t0 + Duration::from_secs(1));
    let out = drain(&mut t);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].msg.header.ns, out[0].msg.header.nr), (0, 1));
}

#[test]
fn ack_stops_retransmission_and_reports_tag() {
    let t0 = Instant::now();
    let mut t = new();
    t.send(t0, msg(MessageType::Scccn, 0, 0), Tag::Scccn);
    drain(&mut t);
    t.on_receive(t0, zlb(0, 1));
    assert_eq!(t.poll_acked(), Some(Tag::Scccn));
    assert_eq!(t.next_timeout(), None);
    assert!(t.is_idle());
    t.flush_ack();
    assert!(drain(&mut t).is_empty(), "no ZLB for a ZLB");
}

#[test]
fn window_limits_in_flight() {
    let t0 = Instant::now();
    let mut t = new();
    t.set_peer_window(t0, 1);
    t.send(t0, msg(MessageType::Icrq, 0, 0), Tag::None);
    t.send(t0, msg(MessageType::Icrq, 0, 0), Tag::None);
    t.send(t0, msg(MessageType::Icrq, 0, 0), Tag::None);
    assert_eq!(drain(&mut t).len(), 1);
    assert_eq!(t.in_flight(), 1);
    t.on_receive(t0, zlb(0, 1));
    let out = drain(&mut t);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].msg.header.ns, 1);
    // Acks beyond what we sent are ignored.
    t.on_receive(t0, zlb(0, 5));
    assert_eq!(t.in_flight(), 1);
    t.on_receive(t0, zlb(0, 2));
    assert_eq!(drain(&mut t)[0].msg.header.ns, 2);
}

#[test]
fn slow_start_then_congestion_avoidance_and_reset_on_timeout() {
    let t0 = Instant::now();
    let mut t = new();
    t.set_peer_window(t0, 8);
    for _ in 0..20 {
        t.send(t0, msg(MessageType::Hello, 0, 0), Tag::None);
    }
    // CWND 1: one message, then 2, then 4 per round trip.
    let mut rounds = vec![];
    let mut nr = 0u16;
    for _ in 0..4 {
        let out = drain(&mut t);
        rounds.push(out.len());
        nr = nr.wrapping_add(out.len() as u16);
        t.on_receive(t0, zlb(0, nr));
    }
    assert_eq!(rounds, vec![1, 2, 4, 8]);
    assert_eq!(t.cwnd(), 8, "capped by the peer window");
    assert_eq!(drain(&mut t).len(), 5, "the rest of the 20");
    // Timeout: SSTHRESH 4, CWND 1, only the oldest retransmitted.
    t.handle_timeout(t0 + Duration::from_secs(1));
    let out = drain(&mut t);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, SendKind::Retransmit);
    assert_eq!(t.cwnd(), 1);
    assert_eq!(t.ssthresh(), 4);
}

#[test]
fn duplicate_is_counted_and_reacked() {
    let t0 = Instant::now();
    let mut t = new();
    t.on_receive(t0, msg(MessageType::Hello, 0, 0));
    t.flush_ack();
    drain(&mut t);
    assert!(t.poll_delivered().is_some());
    t.on_receive(t0, msg(MessageType::Hello, 0, 0));
    assert!(t.poll_delivered().is_none());
    assert_eq!(t.stats().duplicates, 1);
    t.flush_ack();
    let out = drain(&mut t);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, SendKind::Zlb);
    assert_eq!(out[0].msg.header.nr, 1);
}

#[test]
fn out_of_order_held_and_delivered_in_order() {
    let t0 = Instant::now();
    let mut t = new();
    t.on_receive(t0, msg(MessageType::Iccn, 2, 0));
    t.on_receive(t0, msg(MessageType::Icrq, 1, 0));
    assert!(t.poll_delivered().is_none());
    // Beyond the window (4): dropped.
    t.on_receive(t0, msg(MessageType::Cdn, 9, 0));
    t.on_receive(t0, msg(MessageType::Sccrq, 0, 0));
    let got: Vec<_> = std::iter::from_fn(|| t.poll_delivered())
        .map(|m| m.message_type().unwrap())
        .collect();
    assert_eq!(
        got,
        vec![MessageType::Sccrq, MessageType::Icrq, MessageType::Iccn]
    );
    assert_eq!(t.expected_ns(), 3);
    assert_eq!(t.stats().beyond_window, 1);
}

#[test]
fn sequence_numbers_wrap() {
    let t0 = Instant::now();
    let mut t = new();
    t.set_initial_sequence(65534, 65535);
    // One message acked (by Nr 65535) opens the congestion window to 2.
    t.send(t0, msg(MessageType::Hello, 0, 0), Tag::None);
    t.on_receive(t0, zlb(0, 65535));
    assert_eq!(t.cwnd(), 2);
    drain(&mut t);
    t.send(t0, msg(MessageType::Hello, 0, 0), Tag::None);
    t.send(t0, msg(MessageType::Hello, 0, 0), Tag::None);
    let out = drain(&mut t);
    assert_eq!(out[0].msg.header.ns, 65535);
    assert_eq!(out[1].msg.header.ns, 0);
    t.on_receive(t0, zlb(0, 1));
    assert!(t.is_idle());
    t.on_receive(t0, msg(MessageType::Hello, 65535, 1));
    t.on_receive(t0, msg(MessageType::Hello, 0, 1));
    assert_eq!(t.expected_ns(), 1);
    t.on_receive(t0, msg(MessageType::Hello, 65535, 1));
    assert_eq!(t.stats().duplicates, 1);
}

#[test]
fn hello_after_silence() {
    let t0 = Instant::now();
    let cfg = TransportConfig {
        hello_interval: Some(Duration::from_secs(60)),
        ..Default::default()
    };
    let mut t = Transport::new(cfg, Version::V2);
    t.enable_hello(t0);
    t.on_receive(t0 + Duration::from_secs(10), msg(MessageType::Hello, 0, 0));
    t.flush_ack();
    drain(&mut t);
    assert_eq!(t.next_timeout(), Some(t0 + Duration::from_secs(70)));
    t.handle_timeout(t0 + Duration::from_secs(70));
    let out = drain(&mut t);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].msg.message_type(), Some(MessageType::Hello));
}

/// A zero HELLO interval (`hello_timeout = 0`) means no HELLO, not one on every timer.
#[test]
fn zero_hello_interval_sends_no_hello() {
    let t0 = Instant::now();
    let cfg = TransportConfig {
        hello_interval: Some(Duration::ZERO),
        ..Default::default()
    };
    let mut t = Transport::new(cfg, Version::V2);
    t.enable_hello(t0);
    assert_eq!(t.next_timeout(), None);
    t.handle_timeout(t0 + Duration::from_secs(1));
    assert!(drain(&mut t).is_empty());
}

/// Go-back-N after a timeout (RFC 2661 Appendix A): the oldest message is resent at once, and
/// each acknowledgement that reopens the window resends the next ones still in flight before
/// any new message, without waiting for another timer.
#[test]
fn after_a_timeout_acks_resend_the_rest_of_the_window() {
    let t0 = Instant::now();
    let mut t = new();
    t.set_peer_window(t0, 4);
    // Open CWND to 4: three messages acked one by one.
    for ns in 0..3u16 {
        t.send(t0, msg(MessageType::Hello, 0, 0), Tag::None);
        drain(&mut t);
        t.on_receive(t0, zlb(0, ns + 1));
    }
    assert_eq!(t.cwnd(), 4);
    for _ in 0..4 {
        t.send(t0, msg(MessageType::Hello, 0, 0), Tag::None);
    }
    t.send(t0, msg(MessageType::Hello, 0, 0), Tag::None); // queued: Ns 7
    assert_eq!(drain(&mut t).len(), 4); // Ns 3..=6, all lost
    let at = t0 + Duration::from_secs(1);
    t.handle_timeout(at);
    let ns = |out: &[Outgoing]| out.iter().map(|o| o.msg.header.ns).collect::<Vec<_>>();
    let out = drain(&mut t);
    assert_eq!(ns(&out), [3]);
    assert_eq!((t.cwnd(), t.ssthresh()), (1, 2));
    // Ns 3 acked: CWND 2, so Ns 4 and 5 go out now.
    t.on_receive(at, zlb(0, 4));
    let out = drain(&mut t);
    assert_eq!(ns(&out), [4, 5]);
    assert!(out.iter().all(|o| o.kind == SendKind::Retransmit));
    // Ns 4 and 5 acked: CWND 3 (congestion avoidance from SSTHRESH 2 on): Ns 6 resent, then
    // the queued Ns 7 sent for the first time.
    t.on_receive(at, zlb(0, 6));
    let out = drain(&mut t);
    assert_eq!(ns(&out), [6, 7]);
    assert_eq!(
        out.iter().map(|o| o.kind).collect::<Vec<_>>(),
        [SendKind::Retransmit, SendKind::First]
    );
    assert_eq!(t.stats().retransmits, 4);
    // The retransmission timer restarted at the first timeout's value, not doubled.
    assert_eq!(t.next_timeout(), Some(at + Duration::from_secs(1)));
}
