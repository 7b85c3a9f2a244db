//! The engine never panics on wire input and keeps its bookkeeping consistent: random and
//! hostile control messages thrown at both ends of an established tunnel.

#[path = "sim_harness.rs"]
mod sim;

use std::time::Duration;

use l2tp_proto::endpoint::{Event, SessionConfig};
use l2tp_proto::wire::{
    Avp, AvpValue, ControlHeader, ControlMessage, Encap, MessageType, ResultCode, Version,
};
use proptest::prelude::*;
use sim::*;

fn avp_strategy() -> impl Strategy<Value = Avp> {
    let value = prop_oneof![
        any::<u16>().prop_map(AvpValue::AssignedSessionId),
        any::<u16>().prop_map(AvpValue::AssignedTunnelId),
        any::<u16>().prop_map(AvpValue::ReceiveWindowSize),
        Just(AvpValue::ProtocolVersion {
            version: 1,
            revision: 0
        }),
        any::<(u8, u8)>()
            .prop_map(|(version, revision)| AvpValue::ProtocolVersion { version, revision }),
        Just(AvpValue::FramingCapabilities(3)),
        Just(AvpValue::HostName(b"evil".to_vec())),
        (any::<u16>(), proptest::option::of(any::<u16>())).prop_map(|(result, error)| {
            AvpValue::ResultCode(ResultCode {
                result,
                error,
                message: None,
            })
        }),
        proptest::collection::vec(any::<u8>(), 1..20).prop_map(AvpValue::Challenge),
        any::<[u8; 16]>().prop_map(AvpValue::ChallengeResponse),
        any::<u32>().prop_map(AvpValue::CallSerialNumber),
        any::<u32>().prop_map(AvpValue::TxConnectSpeed),
        any::<u32>().prop_map(AvpValue::FramingType),
        (200u16..300, proptest::collection::vec(any::<u8>(), 0..8)).prop_map(
            |(attr_type, value)| AvpValue::Unknown {
                vendor: 0,
                attr_type,
                value
            }
        ),
    ];
    (any::<bool>(), value).prop_map(|(mandatory, value)| Avp {
        mandatory,
        hidden: false,
        value,
    })
}

fn mt_strategy() -> impl Strategy<Value = MessageType> {
    prop_oneof![
        Just(MessageType::Sccrq),
        Just(MessageType::Sccrp),
        Just(MessageType::Scccn),
        Just(MessageType::StopCcn),
        Just(MessageType::Hello),
        Just(MessageType::Ocrq),
        Just(MessageType::Icrq),
        Just(MessageType::Icrp),
        Just(MessageType::Iccn),
        Just(MessageType::Cdn),
        Just(MessageType::Wen),
        Just(MessageType::Sli),
        Just(MessageType::Ack),
        (21u16..100).prop_map(MessageType::Unknown),
    ]
}

/// (to node, message type or ZLB, M bit of the Message Type AVP, AVPs, session ID choice,
/// Ns offset from what the receiver expects, Nr offset from what it sent)
type Hostile = (usize, Option<MessageType>, bool, Vec<Avp>, u8, i8, i8);

fn hostile() -> impl Strategy<Value = Hostile> {
    (
        0usize..2,
        proptest::option::weighted(0.9, mt_strategy()),
        any::<bool>(),
        proptest::collection::vec(avp_strategy(), 0..6),
        any::<u8>(),
        -3i8..6,
        -3i8..3,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn hostile_messages_never_panic_and_leave_consistent_state(
        seed in any::<u64>(),
        msgs in proptest::collection::vec(hostile(), 1..12),
    ) {
        let mut s = Sim::pair(seed);
        let now = s.now;
        let cfg = s.tunnel_cfg();
        let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
        s.nodes[LAC].ep.open_session(now, t, SessionConfig::default()).unwrap();
        s.run_until(Duration::from_secs(10), |s| s.has_event(LNS, is_session_up));
        let peer = [s.nodes[LNS].src, s.nodes[LAC].src];
        for (to, mt, m_bit, avps, sid_choice, ns_off, nr_off) in msgs {
            let Some(tid) = s.nodes[to].ep.tunnel_ids().first().copied() else { continue };
            let info = s.nodes[to].ep.tunnel_info(tid).unwrap();
            let session_id = match (sid_choice % 3, info.sessions.first()) {
                (0, Some(x)) => x.id as u16,
                (1, _) => 0,
                _ => u16::from(sid_choice),
            };
            let mut all = vec![];
            if let Some(mt) = mt {
                all.push(Avp { mandatory: m_bit, hidden: false, value: AvpValue::MessageType(mt) });
                all.extend(avps);
            }
            let msg = ControlMessage {
                header: ControlHeader {
                    version: Version::V2,
                    tunnel_id: tid.0,
                    session_id,
                    ns: info.next_nr.wrapping_add(ns_off as u16),
                    nr: info.next_ns.wrapping_add(nr_off as u16),
                },
                avps: all,
            };
            let Ok(bytes) = msg.to_bytes(Encap::Udp, None) else { continue };
            let now = s.now;
            s.nodes[to].ep.handle(now, peer[to], &bytes);
            // Also the raw bytes with a flipped byte somewhere.
            let mut b2 = bytes.clone();
            let i = usize::from(sid_choice) % b2.len();
            b2[i] ^= 0x5a;
            s.nodes[to].ep.handle(now, peer[to], &b2);
            s.run_for(Duration::from_millis(100));
        }
        // Let every timer run out: closed records expire, dead tunnels time out.
        let now = s.now;
        for n in 0..2 {
            for tid in s.nodes[n].ep.tunnel_ids() {
                let _ = s.nodes[n].ep.close_tunnel(now, tid, ResultCode { result: 1, error: Some(0), message: None });
            }
        }
        s.run_for(Duration::from_secs(120));
        s.drain();
        for n in 0..2 {
            prop_assert!(s.nodes[n].ep.tunnel_ids().is_empty());
            prop_assert_eq!(s.nodes[n].ep.poll_timeout(), None);
            // Every tunnel that came up went down exactly once; sessions likewise.
            let ev = s.events(n);
            let ups = ev.iter().filter(|e| matches!(e, Event::TunnelUp { .. })).count();
            let downs = ev.iter().filter(|e| matches!(e, Event::TunnelDown { .. })).count();
            prop_assert!(downs >= ups && downs <= 1, "{:?}", ev);
            let sups = ev.iter().filter(|e| matches!(e, Event::SessionUp { .. })).count();
            let sdowns = ev.iter().filter(|e| matches!(e, Event::SessionDown { .. })).count();
            prop_assert!(sdowns >= sups, "{:?}", ev);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bufs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..120), 1..20),
    ) {
        let mut s = Sim::pair(1);
        let now = s.now;
        let cfg = s.tunnel_cfg();
        let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
        s.run_until(Duration::from_secs(10), |s| s.has_event(LAC, is_tunnel_up));
        for mut b in bufs {
            // Half of them aimed at the live tunnel with a valid-looking control header.
            if b.len() >= 12 && b[0] & 1 == 1 {
                b[0] = 0xc8;
                b[1] = 0x02;
                let len = b.len() as u16;
                b[2..4].copy_from_slice(&len.to_be_bytes());
                b[4..6].copy_from_slice(&(t.0 as u16).to_be_bytes());
            }
            let now = s.now;
            let src = s.nodes[LNS].src;
            s.nodes[LAC].ep.handle(now, src, &b);
            s.nodes[LNS].ep.handle(now, s.nodes[LAC].src, &b);
            s.run_for(Duration::from_millis(50));
        }
    }
}
