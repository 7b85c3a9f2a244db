//! Our v2 LAC (and LNS) against scripted peers: hand-built messages and real xl2tpd packets from
//! `shared/captures` (embedded below), all through the real codec.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use l2tp_proto::endpoint::{
    DownReason, Endpoint, EndpointConfig, Event, SessionConfig, SessionId, TunnelConfig, TunnelId,
};
use l2tp_proto::tunnel::{challenge_response, TunnelState};
use l2tp_proto::wire::{
    error_code, Avp, AvpValue, ControlHeader, ControlMessage, Encap, MessageType, ResultCode,
    Version,
};

/// `shared/captures/xl2tpd-v2-userspace-cdn-hello-stopccn.hex`, verbatim.
const CDN_HELLO_STOPCCN: &str = concat!(
    "LAC>LNS c802006c000000000000000080080000000000018008000000020100800a0000000300000003800a000000040000000000080000000606908011000000076c61632e6578616d706c6500130000000878656c6572616e63652e636f6d800800000009ad8880080000000a0004\n",
    "LNS>LAC c802006cad8800000000000180080000000000028008000000020100800a0000000300000003800a000000040000000000080000000606908011000000076c6e732e6578616d706c6500130000000878656c6572616e63652e636f6d80080000000934ec80080000000a0004\n",
    "LAC>LNS c802001434ec0000000100018008000000000003\n",
    "LAC>LNS c802003034ec000000020001800800000000000a80080000000eee1f800a0000000f00000001800a0000001200000000\n",
    "LNS>LAC c802000cad88000000010002\n",
    "LNS>LAC c802001cad88ee1f00010003800800000000000b80080000000e119b\n",
    "LAC>LNS c802003234ec119b00030002800800000000000c800a0000001800000000800a0000001300000001000a0000002600000000\n",
    "LNS>LAC c802000cad88000000020003\n",
    "LNS>LAC c802000cad88ee1f00020004\n",
    "LAC>LNS c802002634ec119b00040002800800000000000e800a000000010001000080080000000eee1f\n",
    "LNS>LAC c802000cad88ee1f00020005\n",
    "LNS>LAC c8020014ad880000000200058008000000000006\n",
    "LAC>LNS c802000c34ec000000050003\n",
    "LAC>LNS c802001434ec0000000500038008000000000006\n",
    "LNS>LAC c802000cad88000000030006\n",
    "LAC>LNS c802003434ec0000000600038008000000000004800800000009ad888018000000010001000053657276657220636c6f73696e67\n",
    "LNS>LAC c802000cad88000000030007\n",
);
/// The first three lines of `shared/captures/xl2tpd-v2-userspace-challenge.hex` (secret
/// `s3cr3t-example`).
const CHALLENGE: &str = concat!(
    "LAC>LNS c8020082000000000000000080080000000000018008000000020100800a0000000300000003800a000000040000000000080000000606908011000000076c61632e6578616d706c6500130000000878656c6572616e63652e636f6d8008000000091c2780080000000a000480160000000bf2964ad2f561b379e4818c40364e6041\n",
    "LNS>LAC c80200981c2700000000000180080000000000028008000000020100800a0000000300000003800a000000040000000000080000000606908011000000076c6e732e6578616d706c6500130000000878656c6572616e63652e636f6d8008000000098b0980080000000a000480160000000dc76edb208fb7d3f20af660b21d22f33880160000000bb389af6e7cd0e6678b4f1dbc14d00986\n",
    "LAC>LNS c802002a8b09000000010001800800000000000380160000000d2b67510d3509cbdf952abfb7e83803a0\n",
);
const SECRET: &[u8] = b"s3cr3t-example";

fn lns_addr() -> SocketAddr {
    "10.200.0.2:1701".parse().unwrap()
}

fn lac_addr() -> SocketAddr {
    "10.200.0.1:1701".parse().unwrap()
}

/// (direction, bytes) for each line of a capture `.hex` file.
fn capture(text: &str) -> Vec<(String, Vec<u8>)> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (dir, hex) = l.split_once(' ').unwrap();
            (dir.to_string(), hex::decode(hex.trim()).unwrap())
        })
        .collect()
}

fn parse(b: &[u8]) -> ControlMessage {
    ControlMessage::parse(b, Encap::Udp, None).unwrap()
}

/// One endpoint driven by hand.
struct Driver {
    ep: Endpoint,
    now: Instant,
    peer: SocketAddr,
}

impl Driver {
    fn lac() -> Driver {
        let t0 = Instant::now();
        Driver {
            ep: Endpoint::new(EndpointConfig::default(), 7),
            now: t0,
            peer: lns_addr(),
        }
    }

    fn cfg(&self) -> TunnelConfig {
        let mut c = TunnelConfig::new(Version::V2, Encap::Udp, lns_addr());
        c.host_name = b"lac.example".to_vec();
        c
    }

    fn feed_bytes(&mut self, b: &[u8]) {
        let (now, peer) = (self.now, self.peer);
        self.ep.handle(now, peer, b);
    }

    fn feed(&mut self, m: &ControlMessage) {
        let b = m.to_bytes(Encap::Udp, None).unwrap();
        self.feed_bytes(&b);
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        while let Some(t) = self.ep.poll_timeout() {
            if t > self.now {
                break;
            }
            self.ep.handle_timeout(self.now);
        }
    }

    /// Everything transmitted since the last call, decoded.
    fn sent(&mut self) -> Vec<ControlMessage> {
        std::iter::from_fn(|| self.ep.poll_transmit())
            .map(|t| {
                assert_eq!(t.destination, self.peer);
                parse(&t.payload)
            })
            .collect()
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.ep.poll_event()).collect()
    }

    /// Events other than TunnelUp (which the first message acknowledging SCCCN brings).
    fn events_but_up(&mut self) -> Vec<Event> {
        let mut v = self.events();
        v.retain(|e| !matches!(e, Event::TunnelUp { .. }));
        v
    }
}

fn hdr(tunnel_id: u32, session_id: u16, ns: u16, nr: u16) -> ControlHeader {
    ControlHeader {
        version: Version::V2,
        tunnel_id,
        session_id,
        ns,
        nr,
    }
}

fn mt(t: MessageType) -> Avp {
    Avp::m(AvpValue::MessageType(t))
}

/// A minimal SCCRP like l2tpns sends: no Bearer Capabilities, Firmware, Vendor or RWS.
fn sccrp(to_tunnel: u32, extra: Vec<Avp>) -> ControlMessage {
    let mut avps = vec![
        mt(MessageType::Sccrp),
        Avp::m(AvpValue::ProtocolVersion {
            version: 1,
            revision: 0,
        }),
        Avp::m(AvpValue::FramingCapabilities(3)),
        Avp::m(AvpValue::HostName(b"l2tpns".to_vec())),
        Avp::m(AvpValue::AssignedTunnelId(1)),
    ];
    avps.extend(extra);
    ControlMessage {
        header: hdr(to_tunnel, 0, 0, 1),
        avps,
    }
}

fn unknown_avp(mandatory: bool) -> Avp {
    Avp {
        mandatory,
        hidden: false,
        value: AvpValue::Unknown {
            vendor: 0,
            attr_type: 200,
            value: vec![1, 2, 3],
        },
    }
}

fn result_code(m: &ControlMessage) -> ResultCode {
    m.find(|v| match v {
        AvpValue::ResultCode(r) => Some(r.clone()),
        _ => None,
    })
    .unwrap()
}

/// Connects, answers with `sccrp(..)` and returns the tunnel after the SCCCN, plus the
/// messages the LAC sent in reply to the SCCRP.
fn connect_with(d: &mut Driver, extra: Vec<Avp>) -> (TunnelId, Vec<ControlMessage>) {
    let now = d.now;
    let cfg = d.cfg();
    let t = d.ep.connect(now, cfg).unwrap();
    let out = d.sent();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].message_type(), Some(MessageType::Sccrq));
    assert_eq!(out[0].header.tunnel_id, 0);
    d.feed(&sccrp(t.0, extra));
    (t, d.sent())
}

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
