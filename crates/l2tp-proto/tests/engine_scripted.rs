//! Our v2 LAC (and LNS) against scripted peers: hand-built messages and real xl2tpd packets from
//! `shared/captures` (embedded below), all through the real codec.

#[path = "scripted_harness.rs"]
mod scripted;

use std::time::Duration;

use l2tp_proto::endpoint::{DownReason, Event, SessionConfig, SessionId, TunnelId};
use l2tp_proto::tunnel::TunnelState;
use l2tp_proto::wire::{error_code, Avp, AvpValue, ControlMessage, Encap, MessageType, ResultCode};

use scripted::*;

#[test]
fn minimal_l2tpns_sccrp_is_accepted_and_scccn_ack_brings_tunnel_up() {
    let mut d = Driver::lac();
    let (t, out) = connect_with(&mut d, vec![]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].message_type(), Some(MessageType::Scccn));
    assert_eq!(out[0].header, hdr(1, 0, 1, 1));
    let info = d.ep.tunnel_info(t).unwrap();
    assert_eq!(info.state, TunnelState::WaitCtlConnAck);
    assert_eq!(info.send_window, 4, "default window without RWS AVP");
    assert!(d.events().is_empty());
    d.feed(&ControlMessage {
        header: hdr(t.0, 0, 1, 2),
        avps: vec![],
    });
    let ev = d.events();
    assert!(
        matches!(&ev[..], [Event::TunnelUp { peer_tunnel_id: 1, peer_host_name, .. }] if peer_host_name == b"l2tpns")
    );
    assert!(d.sent().is_empty(), "no ZLB for a ZLB");
}

#[test]
fn sccrp_missing_required_avp_gets_stopccn() {
    let mut d = Driver::lac();
    let now = d.now;
    let cfg = d.cfg();
    let t = d.ep.connect(now, cfg).unwrap();
    d.sent();
    let mut m = sccrp(t.0, vec![]);
    m.avps.retain(|a| !matches!(a.value, AvpValue::HostName(_)));
    d.feed(&m);
    let out = d.sent();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].message_type(), Some(MessageType::StopCcn));
    assert_eq!(out[0].header.tunnel_id, 1);
    assert_eq!(result_code(&out[0]).result, 2);
    // Acked → TunnelDown(Protocol).
    d.feed(&ControlMessage {
        header: hdr(t.0, 0, 1, 2),
        avps: vec![],
    });
    assert!(matches!(
        &d.events()[..],
        [Event::TunnelDown {
            reason: DownReason::Protocol(_),
            ..
        }]
    ));
}

#[test]
fn unknown_mandatory_avp_in_sccrp_gets_stopccn_2_8() {
    let mut d = Driver::lac();
    let (_, out) = connect_with(&mut d, vec![unknown_avp(true)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].message_type(), Some(MessageType::StopCcn));
    let r = result_code(&out[0]);
    assert_eq!(
        (r.result, r.error),
        (2, Some(error_code::UNKNOWN_MANDATORY_AVP))
    );
}

#[test]
fn unknown_optional_avp_is_ignored() {
    let mut d = Driver::lac();
    let (_, out) = connect_with(&mut d, vec![unknown_avp(false)]);
    assert_eq!(out[0].message_type(), Some(MessageType::Scccn));
}

/// Tunnel up, session opened: returns (tunnel, local session ID, ICRQ).
fn tunnel_with_icrq(d: &mut Driver) -> (TunnelId, u32, ControlMessage) {
    let (t, _) = connect_with(d, vec![]);
    let now = d.now;
    let sid = d.ep.open_session(now, t, SessionConfig::default()).unwrap();
    let out = d.sent();
    assert_eq!(out.len(), 1);
    let icrq = out[0].clone();
    assert_eq!(icrq.message_type(), Some(MessageType::Icrq));
    assert_eq!(icrq.header, hdr(1, 0, 2, 1));
    assert_eq!(
        icrq.find(|v| match v {
            AvpValue::AssignedSessionId(s) => Some(u32::from(*s)),
            _ => None,
        }),
        Some(sid.0)
    );
    (t, sid.0, icrq)
}

fn icrp(t: TunnelId, sid: u32, extra: Vec<Avp>) -> ControlMessage {
    let mut avps = vec![
        mt(MessageType::Icrp),
        Avp::m(AvpValue::AssignedSessionId(77)),
    ];
    avps.extend(extra);
    ControlMessage {
        header: hdr(t.0, sid as u16, 1, 3),
        avps,
    }
}

#[test]
fn unknown_mandatory_avp_in_icrp_gets_cdn_2_8() {
    let mut d = Driver::lac();
    let (t, sid, _) = tunnel_with_icrq(&mut d);
    d.events();
    d.feed(&icrp(t, sid, vec![unknown_avp(true)]));
    let out = d.sent();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].message_type(), Some(MessageType::Cdn));
    let r = result_code(&out[0]);
    assert_eq!(
        (r.result, r.error),
        (2, Some(error_code::UNKNOWN_MANDATORY_AVP))
    );
    assert!(matches!(
        &d.events_but_up()[..],
        [Event::SessionDown {
            reason: DownReason::Protocol(_),
            ..
        }]
    ));
    // The tunnel itself stays.
    assert_eq!(d.ep.tunnel_info(t).unwrap().state, TunnelState::Established);
}

#[test]
fn icrp_then_iccn_ack_brings_session_up_and_unknown_optional_avp_ignored() {
    let mut d = Driver::lac();
    let (t, sid, _) = tunnel_with_icrq(&mut d);
    d.events();
    d.feed(&icrp(t, sid, vec![unknown_avp(false)]));
    let out = d.sent();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].message_type(), Some(MessageType::Iccn));
    assert_eq!(out[0].header, hdr(1, 77, 3, 2));
    assert!(d.events_but_up().is_empty());
    d.feed(&ControlMessage {
        header: hdr(t.0, 0, 2, 4),
        avps: vec![],
    });
    assert_eq!(
        d.events(),
        vec![Event::SessionUp {
            tunnel: t,
            session: SessionId(sid),
            peer_session_id: 77,
            peer_tunnel_id: 1,
            pseudowire: l2tp_proto::wire::pw_type::PPP,
            params: l2tp_proto::endpoint::SessionParams {
                call_serial: 1,
                ..Default::default()
            },
        }]
    );
}

#[test]
fn peer_result_code_without_error_code_is_accepted() {
    let mut d = Driver::lac();
    let (t, sid, _) = tunnel_with_icrq(&mut d);
    d.events();
    // CDN (before ICRP) naming our session in the header; Result Code with no error code.
    let rc = ResultCode {
        result: 1,
        error: None,
        message: None,
    };
    d.feed(&ControlMessage {
        header: hdr(t.0, sid as u16, 1, 3),
        avps: vec![
            mt(MessageType::Cdn),
            Avp::m(AvpValue::ResultCode(rc.clone())),
            Avp::m(AvpValue::AssignedSessionId(77)),
        ],
    });
    assert_eq!(
        d.events_but_up(),
        vec![Event::SessionDown {
            tunnel: t,
            session: SessionId(sid),
            reason: DownReason::Peer(rc),
        }]
    );
    let out = d.sent();
    assert_eq!(out.len(), 1);
    assert!(out[0].is_zlb());
    assert_eq!(out[0].header.nr, 2);
}

#[test]
fn garbled_softether_stopccn_still_tears_down() {
    let mut d = Driver::lac();
    let (t, _) = connect_with(&mut d, vec![]);
    // Result Code 0, error 1536, sent raw; and no Assigned Tunnel ID.
    let mut b = ControlMessage {
        header: hdr(t.0, 0, 1, 2),
        avps: vec![mt(MessageType::StopCcn)],
    }
    .to_bytes(Encap::Udp, None)
    .unwrap();
    b.extend_from_slice(&[0x80, 0x0a, 0, 0, 0, 1, 0, 0, 0x06, 0x00]);
    let len = b.len() as u16;
    b[2..4].copy_from_slice(&len.to_be_bytes());
    d.feed_bytes(&b);
    let ev = d.events();
    assert!(
        matches!(
            &ev[..],
            [
                Event::TunnelUp { .. },
                Event::TunnelDown {
                    reason: DownReason::Peer(_),
                    ..
                }
            ]
        ),
        "{ev:?}"
    );
}

/// Replays the xl2tpd LNS side of `xl2tpd-v2-userspace-cdn-hello-stopccn` against our LAC,
/// using the same local IDs xl2tpd's LAC had, and checks that our LAC sends the same message
/// types with the same Ns/Nr as xl2tpd's LAC did.
#[test]
fn replay_xl2tpd_lns_against_our_lac() {
    let cap = capture(CDN_HELLO_STOPCCN);
    let pkt = |i: usize| -> &[u8] { &cap[i].1 };
    let expect = |m: &ControlMessage, i: usize| {
        assert_eq!(cap[i].0, "LAC>LNS");
        let e = parse(&cap[i].1);
        assert_eq!(m.message_type(), e.message_type(), "line {}", i + 1);
        assert_eq!(m.header, e.header, "line {}", i + 1);
    };
    let mut d = Driver::lac();
    let now = d.now;
    let mut cfg = d.cfg();
    cfg.local_tunnel_id = Some(44424);
    let t = d.ep.connect(now, cfg).unwrap();
    let out = d.sent();
    expect(&out[0], 0);
    // The real SCCRP: all required AVPs present, window 4, peer tunnel 13548.
    d.feed_bytes(pkt(1));
    let out = d.sent();
    assert_eq!(out.len(), 1);
    expect(&out[0], 2);
    let info = d.ep.tunnel_info(t).unwrap();
    assert_eq!(info.peer_tunnel_id, 13548);
    assert_eq!(info.peer_host_name, b"lns.example");
    // ICRQ right after SCCCN, before any ack, like xl2tpd.
    let now = d.now;
    let cfg = SessionConfig {
        local_session_id: Some(60959),
        ..SessionConfig::default()
    };
    d.ep.open_session(now, t, cfg).unwrap();
    let out = d.sent();
    expect(&out[0], 3);
    d.feed_bytes(pkt(4)); // ZLB acking SCCCN
    assert!(matches!(
        &d.events()[..],
        [Event::TunnelUp {
            peer_tunnel_id: 13548,
            ..
        }]
    ));
    d.feed_bytes(pkt(5)); // ICRP
    let out = d.sent();
    assert_eq!(out.len(), 1);
    expect(&out[0], 6); // ICCN
    d.feed_bytes(pkt(7));
    d.feed_bytes(pkt(8));
    assert!(matches!(
        &d.events()[..],
        [Event::SessionUp {
            session: SessionId(60959),
            peer_session_id: 4507,
            ..
        }]
    ));
    assert!(d.sent().is_empty());
    // Our side hangs up like xl2tpd's pppd exit: CDN 1/0.
    d.advance(Duration::from_millis(10));
    let now = d.now;
    d.ep.close_session(
        now,
        t,
        SessionId(60959),
        ResultCode {
            result: 1,
            error: Some(0),
            message: None,
        },
    )
    .unwrap();
    assert!(matches!(
        &d.events()[..],
        [Event::SessionDown {
            reason: DownReason::Local(_),
            ..
        }]
    ));
    let out = d.sent();
    expect(&out[0], 9);
    assert_eq!(
        out[0].to_bytes(Encap::Udp, None).unwrap(),
        cap[9].1,
        "CDN byte-identical to xl2tpd's"
    );
    d.feed_bytes(pkt(10));
    // HELLO from the LNS just before 60 s of silence → our ZLB.
    d.advance(Duration::from_millis(59_900));
    d.feed_bytes(pkt(11));
    let out = d.sent();
    assert_eq!(out.len(), 1);
    expect(&out[0], 12);
    // 60 s later our own HELLO (the default interval, like xl2tpd's), acked by the LNS.
    d.advance(Duration::from_secs(60));
    let out = d.sent();
    assert_eq!(out.len(), 1);
    expect(&out[0], 13);
    d.feed_bytes(pkt(14));
    // StopCCN from our side: same header and AVPs as xl2tpd's.
    let now = d.now;
    d.ep.close_tunnel(
        now,
        t,
        ResultCode {
            result: 1,
            error: Some(0),
            message: Some(b"Server closing".to_vec()),
        },
    )
    .unwrap();
    let out = d.sent();
    expect(&out[0], 15);
    let e = parse(pkt(15));
    assert_eq!(out[0].avps, e.avps, "StopCCN AVPs identical to xl2tpd's");
    // The LNS's ZLB for it.
    d.feed_bytes(pkt(16));
    let ev = d.events();
    assert!(
        matches!(
            &ev[..],
            [Event::TunnelDown {
                reason: DownReason::Local(_),
                ..
            }]
        ),
        "{ev:?}"
    );
    // The record stays for the StopCCN hold time to acknowledge the LNS's late messages.
    assert_eq!(d.ep.tunnel_info(t).unwrap().state, TunnelState::Closed);
    assert_eq!(d.ep.lingering(), 1);
    d.advance(Duration::from_secs(31));
    assert!(d.ep.tunnel_ids().is_empty());
    let st = d.ep.stats();
    assert_eq!((st.malformed, st.unknown_tunnel, st.duplicates), (0, 0, 0));
}

#[test]
fn closed_tunnel_ignores_late_messages_but_acks_them() {
    let mut d = Driver::lac();
    let (t, _) = connect_with(&mut d, vec![]);
    d.feed(&ControlMessage {
        header: hdr(t.0, 0, 1, 2),
        avps: vec![
            mt(MessageType::StopCcn),
            Avp::m(AvpValue::AssignedTunnelId(1)),
            Avp::m(AvpValue::ResultCode(ResultCode {
                result: 1,
                error: None,
                message: None,
            })),
        ],
    });
    d.events();
    assert!(d.sent()[0].is_zlb());
    // Retransmitted StopCCN → re-ACK, no new event.
    d.advance(Duration::from_secs(1));
    d.feed(&ControlMessage {
        header: hdr(t.0, 0, 1, 2),
        avps: vec![mt(MessageType::StopCcn)],
    });
    assert!(d.events().is_empty());
    let out = d.sent();
    assert_eq!(out.len(), 1);
    assert!(out[0].is_zlb());
    assert_eq!(out[0].header.nr, 2);
    d.advance(Duration::from_secs(31));
    assert!(d.ep.tunnel_ids().is_empty());
}
