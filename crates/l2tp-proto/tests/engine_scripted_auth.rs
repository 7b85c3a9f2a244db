//! Our v2 LAC and LNS against scripted peers, tunnel authentication (RFC 2661 §4.2 Challenge /
//! Challenge Response) and hidden AVPs (§4.3): real xl2tpd packets and hand-built messages.

#[path = "scripted_harness.rs"]
mod scripted;

use std::time::{Duration, Instant};

use l2tp_proto::endpoint::{Endpoint, EndpointConfig, Event, SessionConfig};
use l2tp_proto::tunnel::{challenge_response, TunnelState};
use l2tp_proto::wire::{Avp, AvpValue, ControlMessage, Encap, MessageType};
use scripted::*;

/// The Challenge Responses in the xl2tpd capture match our formula.
#[test]
fn challenge_response_formula_matches_xl2tpd_capture() {
    let cap = capture(CHALLENGE);
    let sccrq = parse(&cap[0].1);
    let sccrp = parse(&cap[1].1);
    let scccn = parse(&cap[2].1);
    let chal = |m: &ControlMessage| {
        m.find(|v| match v {
            AvpValue::Challenge(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap()
    };
    let resp = |m: &ControlMessage| {
        m.find(|v| match v {
            AvpValue::ChallengeResponse(r) => Some(*r),
            _ => None,
        })
        .unwrap()
    };
    assert_eq!(challenge_response(2, SECRET, &chal(&sccrq)), resp(&sccrp));
    assert_eq!(challenge_response(3, SECRET, &chal(&sccrp)), resp(&scccn));
}

/// Our LNS answers a real xl2tpd SCCRQ carrying a Challenge with the same response xl2tpd's
/// LNS computed.
#[test]
fn our_lns_answers_real_xl2tpd_challenge() {
    let cap = capture(CHALLENGE);
    let t0 = Instant::now();
    let mut ep = Endpoint::new(
        EndpointConfig {
            accept_v2_incoming: true,
            host_name: b"lns.example".to_vec(),
            secret: Some(SECRET.to_vec()),
            ..EndpointConfig::default()
        },
        3,
    );
    ep.handle(t0, lac_addr(), &cap[0].1);
    let tx = ep.poll_transmit().unwrap();
    assert_eq!(tx.destination, lac_addr());
    let ours = parse(&tx.payload);
    let theirs = parse(&cap[1].1);
    assert_eq!(ours.message_type(), Some(MessageType::Sccrp));
    assert_eq!(ours.header.tunnel_id, theirs.header.tunnel_id);
    let resp = |m: &ControlMessage| {
        m.find(|v| match v {
            AvpValue::ChallengeResponse(r) => Some(*r),
            _ => None,
        })
    };
    assert_eq!(resp(&ours), resp(&theirs));
    assert!(
        ours.find(|v| match v {
            AvpValue::Challenge(c) => Some(c.len()),
            _ => None,
        }) == Some(16)
    );
    // A retransmission of the same SCCRQ does not create a second tunnel.
    ep.handle(t0 + Duration::from_secs(1), lac_addr(), &cap[0].1);
    assert_eq!(ep.tunnel_ids().len(), 1);
    assert_eq!(ep.stats().duplicates, 1);
}

#[test]
fn lac_rejects_bad_challenge_response_with_stopccn_4() {
    let mut d = Driver::lac();
    let now = d.now;
    let mut cfg = d.cfg();
    cfg.secret = Some(SECRET.to_vec());
    let t = d.ep.connect(now, cfg).unwrap();
    let sccrq = d.sent().remove(0);
    let chal = sccrq
        .find(|v| match v {
            AvpValue::Challenge(c) => Some(c.clone()),
            _ => None,
        })
        .expect("SCCRQ carries a Challenge when a secret is set");
    let wrong = challenge_response(2, b"wrong", &chal);
    d.feed(&sccrp(
        t.0,
        vec![Avp::m(AvpValue::ChallengeResponse(wrong))],
    ));
    let out = d.sent();
    assert_eq!(out[0].message_type(), Some(MessageType::StopCcn));
    assert_eq!(result_code(&out[0]).result, 4);
}

#[test]
fn lac_accepts_good_challenge_response_and_answers_peer_challenge() {
    let mut d = Driver::lac();
    let now = d.now;
    let mut cfg = d.cfg();
    cfg.secret = Some(SECRET.to_vec());
    let t = d.ep.connect(now, cfg).unwrap();
    let sccrq = d.sent().remove(0);
    let chal = sccrq
        .find(|v| match v {
            AvpValue::Challenge(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    let good = challenge_response(2, SECRET, &chal);
    d.feed(&sccrp(
        t.0,
        vec![
            Avp::m(AvpValue::ChallengeResponse(good)),
            Avp::m(AvpValue::Challenge(vec![9; 16])),
        ],
    ));
    let out = d.sent();
    assert_eq!(out[0].message_type(), Some(MessageType::Scccn));
    assert_eq!(
        out[0].find(|v| match v {
            AvpValue::ChallengeResponse(r) => Some(*r),
            _ => None,
        }),
        Some(challenge_response(3, SECRET, &[9; 16]))
    );
}

#[test]
fn lac_without_secret_refuses_challenge() {
    let mut d = Driver::lac();
    let (_, out) = connect_with(&mut d, vec![Avp::m(AvpValue::Challenge(vec![1; 16]))]);
    assert_eq!(out[0].message_type(), Some(MessageType::StopCcn));
    assert_eq!(result_code(&out[0]).result, 4);
}

fn challenge_of(m: &ControlMessage) -> Option<Vec<u8>> {
    m.find(|v| match v {
        AvpValue::Challenge(c) => Some(c.clone()),
        _ => None,
    })
}

fn response_of(m: &ControlMessage) -> Option<[u8; 16]> {
    m.find(|v| match v {
        AvpValue::ChallengeResponse(r) => Some(*r),
        _ => None,
    })
}

/// `challenge = false` with a secret (LAC): no Challenge of ours, so none of the peer's
/// responses is demanded; the peer's Challenge is still answered, and AVPs still hidden.
#[test]
fn lac_with_a_secret_and_challenge_off_sends_no_challenge_but_answers_the_peers() {
    let mut d = Driver::lac();
    let now = d.now;
    let mut cfg = d.cfg();
    cfg.secret = Some(SECRET.to_vec());
    cfg.challenge = false;
    cfg.hide_avps = l2tp_proto::endpoint::SENSITIVE_AVPS.to_vec();
    let t = d.ep.connect(now, cfg).unwrap();
    let sccrq = d.sent().remove(0);
    assert_eq!(challenge_of(&sccrq), None);
    // An SCCRP with no Challenge Response is accepted; its Challenge is answered.
    d.feed(&sccrp(t.0, vec![Avp::m(AvpValue::Challenge(vec![9; 16]))]));
    let out = d.sent();
    assert_eq!(out[0].message_type(), Some(MessageType::Scccn));
    assert_eq!(
        response_of(&out[0]),
        Some(challenge_response(3, SECRET, &[9; 16]))
    );
    // Calling Number still goes hidden.
    let now = d.now;
    let sc = SessionConfig {
        calling_number: Some(b"0123".to_vec()),
        ..SessionConfig::default()
    };
    d.ep.open_session(now, t, sc).unwrap();
    let tx = d.ep.poll_transmit().unwrap();
    let icrq = ControlMessage::parse(&tx.payload, Encap::Udp, Some(SECRET)).unwrap();
    assert!(icrq
        .avps
        .iter()
        .any(|a| a.hidden && matches!(&a.value, AvpValue::CallingNumber(n) if n == b"0123")));
}

/// `challenge = false` with a secret (LNS): the SCCRP answers the LAC's Challenge (as
/// xl2tpd's LNS did) and carries none of its own; the SCCCN needs no response.
#[test]
fn lns_with_a_secret_and_challenge_off_answers_but_does_not_challenge() {
    let cap = capture(CHALLENGE);
    let t0 = Instant::now();
    let mut ep = Endpoint::new(
        EndpointConfig {
            accept_v2_incoming: true,
            host_name: b"lns.example".to_vec(),
            secret: Some(SECRET.to_vec()),
            challenge: false,
            ..EndpointConfig::default()
        },
        3,
    );
    ep.handle(t0, lac_addr(), &cap[0].1);
    let ours = parse(&ep.poll_transmit().unwrap().payload);
    assert_eq!(ours.message_type(), Some(MessageType::Sccrp));
    assert_eq!(response_of(&ours), response_of(&parse(&cap[1].1)));
    assert_eq!(challenge_of(&ours), None);
    // An SCCCN without a Challenge Response brings the tunnel up.
    let t = ep.tunnel_ids()[0];
    let sccrq = parse(&cap[0].1);
    let peer_tid = sccrq
        .find(|v| match v {
            AvpValue::AssignedTunnelId(t) => Some(u32::from(*t)),
            _ => None,
        })
        .unwrap();
    let scccn = ControlMessage {
        header: hdr(t.0, 0, 1, 1),
        avps: vec![mt(MessageType::Scccn)],
    };
    ep.handle(t0, lac_addr(), &scccn.to_bytes(Encap::Udp, None).unwrap());
    assert!(std::iter::from_fn(|| ep.poll_event()).any(|e| matches!(
        e,
        Event::TunnelUp { peer_tunnel_id, .. } if peer_tunnel_id == peer_tid
    )));
}

#[test]
fn hidden_avps_are_revealed_with_the_tunnel_secret() {
    let mut d = Driver::lac();
    let now = d.now;
    let mut cfg = d.cfg();
    cfg.secret = Some(SECRET.to_vec());
    let t = d.ep.connect(now, cfg).unwrap();
    let sccrq = d.sent().remove(0);
    let chal = sccrq
        .find(|v| match v {
            AvpValue::Challenge(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    let hide = |v| Avp {
        mandatory: true,
        hidden: true,
        value: v,
    };
    let m = ControlMessage {
        header: hdr(t.0, 0, 0, 1),
        avps: vec![
            mt(MessageType::Sccrp),
            Avp::m(AvpValue::RandomVector(vec![7; 16])),
            Avp::m(AvpValue::ProtocolVersion {
                version: 1,
                revision: 0,
            }),
            Avp::m(AvpValue::FramingCapabilities(3)),
            hide(AvpValue::HostName(b"hidden-lns".to_vec())),
            hide(AvpValue::AssignedTunnelId(4242)),
            Avp::m(AvpValue::ChallengeResponse(challenge_response(
                2, SECRET, &chal,
            ))),
        ],
    };
    let b = m.to_bytes(Encap::Udp, Some(SECRET)).unwrap();
    // Without the secret the codec cannot reveal them.
    assert!(ControlMessage::parse(&b, Encap::Udp, None).is_err());
    d.feed_bytes(&b);
    assert_eq!(d.ep.stats().malformed, 0);
    let out = d.sent();
    assert_eq!(out[0].message_type(), Some(MessageType::Scccn));
    assert_eq!(out[0].header.tunnel_id, 4242);
    let info = d.ep.tunnel_info(t).unwrap();
    assert_eq!(info.peer_host_name, b"hidden-lns");
}

#[test]
fn hidden_avp_without_secret_is_counted_malformed() {
    let mut d = Driver::lac();
    let now = d.now;
    let cfg = d.cfg();
    let t = d.ep.connect(now, cfg).unwrap();
    d.sent();
    let mut m = sccrp(t.0, vec![]);
    m.avps
        .insert(1, Avp::m(AvpValue::RandomVector(vec![1; 16])));
    m.avps[4].hidden = true; // Host Name
    let b = m.to_bytes(Encap::Udp, Some(b"x")).unwrap();
    d.feed_bytes(&b);
    assert_eq!(d.ep.stats().malformed, 1);
    assert!(d.sent().is_empty());
    assert_eq!(
        d.ep.tunnel_info(t).unwrap().state,
        TunnelState::WaitCtlReply
    );
}
