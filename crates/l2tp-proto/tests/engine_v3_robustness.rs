//! The v3 engine never panics on wire input (UDP and IP, with and without Message Digest) and
//! leaks nothing: hostile v3 messages and mutated real datagrams thrown at an established pair.

#[path = "sim_harness.rs"]
mod sim;

use std::time::Duration;

use l2tp_proto::endpoint::{DigestAlg, EndpointConfig, SessionConfig, TunnelId};
use l2tp_proto::wire::{
    pw_type, Avp, AvpValue, ControlHeader, ControlMessage, Encap, MessageType, ResultCode, Version,
};
use proptest::prelude::*;
use sim::*;

fn avp() -> impl Strategy<Value = Avp> {
    let value = prop_oneof![
        any::<u32>().prop_map(AvpValue::LocalSessionId),
        any::<u32>().prop_map(AvpValue::RemoteSessionId),
        any::<u32>().prop_map(AvpValue::AssignedControlConnectionId),
        any::<u32>().prop_map(AvpValue::RouterId),
        any::<u16>().prop_map(AvpValue::PseudowireType),
        any::<u16>().prop_map(AvpValue::L2SpecificSublayer),
        any::<u16>().prop_map(AvpValue::DataSequencing),
        any::<u16>().prop_map(AvpValue::CircuitStatus),
        any::<u32>().prop_map(AvpValue::CallSerialNumber),
        proptest::collection::vec(any::<u8>(), 0..9).prop_map(AvpValue::AssignedCookie),
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(AvpValue::RemoteEndId),
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(AvpValue::ControlMessageAuthNonce),
        proptest::collection::vec(any::<u16>(), 0..4).prop_map(AvpValue::PseudowireCapabilities),
        (0u8..3, proptest::collection::vec(any::<u8>(), 16..21)).prop_map(
            |(digest_type, digest)| AvpValue::MessageDigest {
                digest_type,
                digest
            }
        ),
        Just(AvpValue::HostName(b"evil".to_vec())),
        any::<[u8; 8]>().prop_map(AvpValue::TieBreaker),
        (any::<u16>(), proptest::option::of(any::<u16>())).prop_map(|(result, error)| {
            AvpValue::ResultCode(ResultCode {
                result,
                error,
                message: None,
            })
        }),
    ];
    (any::<bool>(), value).prop_map(|(mandatory, value)| Avp {
        mandatory,
        hidden: false,
        value,
    })
}

fn mt() -> impl Strategy<Value = MessageType> {
    (1u16..22).prop_map(MessageType::from_u16)
}

fn pair(seed: u64, encap: Encap, digest: bool) -> (Sim, TunnelId) {
    let lns = EndpointConfig {
        accept_v3_incoming: true,
        hello_interval: Some(Duration::from_secs(5)),
        secret: digest.then(|| b"k".to_vec()),
        digest: digest.then_some(DigestAlg::HmacMd5),
        ..EndpointConfig::default()
    };
    let mut s = Sim::with(seed, EndpointConfig::default(), lns);
    let now = s.now;
    let mut cfg = s.tunnel_cfg_v3(encap);
    cfg.hello_interval = Some(Duration::from_secs(5));
    if digest {
        cfg.secret = Some(b"k".to_vec());
        cfg.digest = Some(DigestAlg::HmacMd5);
    }
    let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    let sc = SessionConfig {
        pseudowire: pw_type::ETHERNET,
        ..SessionConfig::default()
    };
    s.nodes[LAC].ep.open_session(now, t, sc).unwrap();
    assert!(s.run_until(Duration::from_secs(5), |s| s.count(LNS, is_session_up) == 1));
    (s, t)
}

fn cleanup(s: &mut Sim, t: TunnelId) {
    let now = s.now;
    let _ = s.nodes[LAC].ep.close_tunnel(
        now,
        t,
        ResultCode {
            result: 1,
            error: None,
            message: None,
        },
    );
    s.run_for(Duration::from_secs(300));
    for n in [LAC, LNS] {
        assert_eq!(s.nodes[n].ep.session_counts(), (0, 0), "node {n}");
        assert!(s.nodes[n].ep.tunnel_ids().is_empty(), "node {n}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn hostile_v3_messages_never_panic_and_leak_nothing(
        ip in any::<bool>(),
        digest in any::<bool>(),
        msgs in proptest::collection::vec(
            (0usize..2, mt(), proptest::collection::vec(avp(), 0..8), any::<bool>(), 0u16..4),
            1..20,
        ),
    ) {
        let encap = if ip { Encap::Ip } else { Encap::Udp };
        let (mut s, t) = pair(7, encap, digest);
        for (to, mt, mut avps, known_tunnel, ns) in msgs {
            avps.insert(0, Avp::m(AvpValue::MessageType(mt)));
            let tunnel_id = if known_tunnel {
                s.nodes[to].ep.tunnel_ids().first().map_or(0, |t| t.0)
            } else {
                0
            };
            let m = ControlMessage {
                header: ControlHeader {
                    version: Version::V3,
                    tunnel_id,
                    session_id: 0,
                    ns,
                    nr: 0,
                },
                avps,
            };
            if let Ok(bytes) = m.to_bytes(encap, None) {
                let from = s.nodes[1 - to].src;
                let now = s.now;
                s.nodes[to].ep.handle_encap(now, from, encap, &bytes);
            }
            s.run_for(Duration::from_millis(100));
        }
        cleanup(&mut s, t);
    }

    #[test]
    fn mutated_real_v3_datagrams_never_panic(
        ip in any::<bool>(),
        digest in any::<bool>(),
        edits in proptest::collection::vec((any::<usize>(), any::<usize>(), any::<u8>()), 1..40),
    ) {
        let encap = if ip { Encap::Ip } else { Encap::Udp };
        let (mut s, t) = pair(8, encap, digest);
        let log: Vec<Packet> = s.log.clone();
        for (which, pos, byte) in edits {
            let p = &log[which % log.len()];
            let mut b = p.bytes.clone();
            let i = pos % b.len();
            b[i] = byte;
            let to = 1 - p.from;
            let from = s.nodes[p.from].src;
            let now = s.now;
            s.nodes[to].ep.handle_encap(now, from, encap, &b);
            // Also the other encapsulation, and truncations.
            let other = if ip { Encap::Udp } else { Encap::Ip };
            s.nodes[to].ep.handle_encap(now, from, other, &b);
            s.nodes[to].ep.handle_encap(now, from, encap, &b[..i]);
            s.run_for(Duration::from_millis(50));
        }
        cleanup(&mut s, t);
    }
}
