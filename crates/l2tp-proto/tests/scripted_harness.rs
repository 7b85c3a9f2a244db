//! Scripted peers for the `engine_scripted*` tests: real xl2tpd captures (embedded), one
//! endpoint driven by hand ([`Driver`]) and builders of the peer's messages, all through the
//! real codec.
//!
//! Included with `#[path = "scripted_harness.rs"] mod scripted;`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use l2tp_proto::endpoint::{Endpoint, EndpointConfig, Event, TunnelConfig, TunnelId};
use l2tp_proto::wire::{
    Avp, AvpValue, ControlHeader, ControlMessage, Encap, MessageType, ResultCode, Version,
};

/// `shared/captures/xl2tpd-v2-userspace-cdn-hello-stopccn.hex`, verbatim.
pub const CDN_HELLO_STOPCCN: &str = concat!(
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
pub const CHALLENGE: &str = concat!(
    "LAC>LNS c8020082000000000000000080080000000000018008000000020100800a0000000300000003800a000000040000000000080000000606908011000000076c61632e6578616d706c6500130000000878656c6572616e63652e636f6d8008000000091c2780080000000a000480160000000bf2964ad2f561b379e4818c40364e6041\n",
    "LNS>LAC c80200981c2700000000000180080000000000028008000000020100800a0000000300000003800a000000040000000000080000000606908011000000076c6e732e6578616d706c6500130000000878656c6572616e63652e636f6d8008000000098b0980080000000a000480160000000dc76edb208fb7d3f20af660b21d22f33880160000000bb389af6e7cd0e6678b4f1dbc14d00986\n",
    "LAC>LNS c802002a8b09000000010001800800000000000380160000000d2b67510d3509cbdf952abfb7e83803a0\n",
);
pub const SECRET: &[u8] = b"s3cr3t-example";

pub fn lns_addr() -> SocketAddr {
    "10.200.0.2:1701".parse().unwrap()
}

pub fn lac_addr() -> SocketAddr {
    "10.200.0.1:1701".parse().unwrap()
}

/// (direction, bytes) for each line of a capture `.hex` file.
pub fn capture(text: &str) -> Vec<(String, Vec<u8>)> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (dir, hex) = l.split_once(' ').unwrap();
            (dir.to_string(), hex::decode(hex.trim()).unwrap())
        })
        .collect()
}

pub fn parse(b: &[u8]) -> ControlMessage {
    ControlMessage::parse(b, Encap::Udp, None).unwrap()
}

/// One endpoint driven by hand.
pub struct Driver {
    /// The endpoint under test.
    pub ep: Endpoint,
    /// Its clock.
    pub now: Instant,
    /// The scripted peer's address.
    pub peer: SocketAddr,
}

impl Driver {
    pub fn lac() -> Driver {
        let t0 = Instant::now();
        Driver {
            ep: Endpoint::new(EndpointConfig::default(), 7),
            now: t0,
            peer: lns_addr(),
        }
    }

    pub fn cfg(&self) -> TunnelConfig {
        let mut c = TunnelConfig::new(Version::V2, Encap::Udp, lns_addr());
        c.host_name = b"lac.example".to_vec();
        c
    }

    pub fn feed_bytes(&mut self, b: &[u8]) {
        let (now, peer) = (self.now, self.peer);
        self.ep.handle(now, peer, b);
    }

    pub fn feed(&mut self, m: &ControlMessage) {
        let b = m.to_bytes(Encap::Udp, None).unwrap();
        self.feed_bytes(&b);
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        while let Some(t) = self.ep.poll_timeout() {
            if t > self.now {
                break;
            }
            self.ep.handle_timeout(self.now);
        }
    }

    /// Everything transmitted since the last call, decoded.
    pub fn sent(&mut self) -> Vec<ControlMessage> {
        std::iter::from_fn(|| self.ep.poll_transmit())
            .map(|t| {
                assert_eq!(t.destination, self.peer);
                parse(&t.payload)
            })
            .collect()
    }

    pub fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.ep.poll_event()).collect()
    }

    /// Events other than TunnelUp (which the first message acknowledging SCCCN brings).
    pub fn events_but_up(&mut self) -> Vec<Event> {
        let mut v = self.events();
        v.retain(|e| !matches!(e, Event::TunnelUp { .. }));
        v
    }
}

pub fn hdr(tunnel_id: u32, session_id: u16, ns: u16, nr: u16) -> ControlHeader {
    ControlHeader {
        version: Version::V2,
        tunnel_id,
        session_id,
        ns,
        nr,
    }
}

pub fn mt(t: MessageType) -> Avp {
    Avp::m(AvpValue::MessageType(t))
}

/// A minimal SCCRP like l2tpns sends: no Bearer Capabilities, Firmware, Vendor or RWS.
pub fn sccrp(to_tunnel: u32, extra: Vec<Avp>) -> ControlMessage {
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

pub fn unknown_avp(mandatory: bool) -> Avp {
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

pub fn result_code(m: &ControlMessage) -> ResultCode {
    m.find(|v| match v {
        AvpValue::ResultCode(r) => Some(r.clone()),
        _ => None,
    })
    .unwrap()
}

/// Connects, answers with `sccrp(..)` and returns the tunnel after the SCCCN, plus the
/// messages the LAC sent in reply to the SCCRP.
pub fn connect_with(d: &mut Driver, extra: Vec<Avp>) -> (TunnelId, Vec<ControlMessage>) {
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
