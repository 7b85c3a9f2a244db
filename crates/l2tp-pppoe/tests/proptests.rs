//! Hostile input: arbitrary bytes never panic the parsers (codec, proxy LCP) or the state machine, parse/emit round
//! trips, and a flood of spoofed discovery traffic leaves the tables bounded.

mod common;

use common::*;
use l2tp_pppoe::ac::{Event, TX_QUEUE_LIMIT};
use l2tp_pppoe::codec::{Code, Discovery, EthHeader, SessionFrame, Tag, Vlan, ETHERTYPE_DISCOVERY};
use proptest::prelude::*;
use std::time::Duration;

fn arb_tag() -> impl Strategy<Value = Tag> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..40);
    prop_oneof![
        bytes().prop_map(Tag::ServiceName),
        bytes().prop_map(Tag::AcName),
        bytes().prop_map(Tag::HostUniq),
        bytes().prop_map(Tag::AcCookie),
        bytes().prop_map(Tag::VendorSpecific),
        bytes().prop_map(Tag::RelaySessionId),
        any::<u16>().prop_map(Tag::PppMaxPayload),
        bytes().prop_map(Tag::ServiceNameError),
        bytes().prop_map(Tag::AcSystemError),
        bytes().prop_map(Tag::GenericError),
        (0x0300u16..0xffff, bytes()).prop_map(|(tag_type, value)| Tag::Unknown { tag_type, value }),
    ]
}

fn arb_discovery() -> impl Strategy<Value = Discovery> {
    (
        any::<[u8; 6]>(),
        any::<[u8; 6]>(),
        proptest::option::of((0u16..4096, 0u8..8)),
        any::<u8>(),
        any::<u16>(),
        proptest::collection::vec(arb_tag(), 0..20),
    )
        .prop_map(|(dst, src, vlan, code, session_id, tags)| Discovery {
            eth: EthHeader {
                dst,
                src,
                vlan: vlan.map(|(id, pcp)| Vlan { id, pcp }),
                ether_type: ETHERTYPE_DISCOVERY,
            },
            code: Code::from(code),
            session_id,
            tags,
        })
}

proptest! {
    #[test]
    fn parser_never_panics_and_what_parses_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..1600)) {
        if let Ok(p) = Discovery::parse(&bytes) {
            let again = Discovery::parse(&p.to_bytes().unwrap()).unwrap();
            prop_assert_eq!(again, p);
        }
        let mut proxy = l2tp_pppoe::proxy::ProxyLcp::default();
        proxy.observe(l2tp_pppoe::proxy::Direction::FromClient, &bytes);
        proxy.observe(l2tp_pppoe::proxy::Direction::ToClient, &bytes);
        if let Ok(f) = SessionFrame::parse(&bytes) {
            let mut out = Vec::new();
            SessionFrame::emit(&f.eth, f.session_id, f.ppp, &mut out).unwrap();
            prop_assert_eq!(SessionFrame::parse(&out).unwrap(), f);
        }
    }

    #[test]
    fn emitted_discovery_parses_back(p in arb_discovery()) {
        let bytes = p.to_bytes().unwrap();
        prop_assert_eq!(Discovery::parse(&bytes).unwrap(), p);
    }

    /// Any bytes after a valid Ethernet + PPPoE prefix aimed at the AC, in any order, with time
    /// moving: no panic, and the tables never exceed the configured limits.
    #[test]
    fn state_machine_never_panics(
        frames in proptest::collection::vec(
            (any::<bool>(), prop_oneof![Just(0x09u8), Just(0x19), Just(0xa7), any::<u8>()], 0u16..4,
             proptest::collection::vec(any::<u8>(), 0..80), 0u64..100_000),
            0..60),
    ) {
        let mut cfg = config();
        cfg.max_sessions = 8;
        let (mut ac, start) = ac(cfg);
        for (to_ac, code, sid, tail, ms) in frames {
            let mut f = Vec::new();
            f.extend_from_slice(if to_ac { &AC_MAC } else { &[0xff; 6] });
            f.extend_from_slice(&CLIENT);
            f.extend_from_slice(&[0x88, 0x63, 0x11, code]);
            f.extend_from_slice(&sid.to_be_bytes());
            f.extend_from_slice(&(tail.len() as u16).to_be_bytes());
            f.extend_from_slice(&tail);
            ac.handle_frame(start + Duration::from_millis(ms), &f);
            ac.handle_frame(start + Duration::from_millis(ms), &tail);
            while ac.poll_transmit().is_some() {}
            while let Some(ev) = ac.poll_event() {
                if let Event::SessionRequested { session_id, .. } = ev {
                    prop_assert!(ac.accept(session_id).is_ok());
                }
            }
            let sz = ac.table_sizes();
            prop_assert!(sz.sessions <= 8 && sz.requests == sz.sessions && sz.macs <= sz.sessions);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    /// 10,000 PADIs and 10,000 PADRs from random MACs: the PADIs leave nothing behind, PADRs
    /// with forged cookies leave nothing behind, and PADRs with genuine cookies (an attacker on
    /// the segment who sees the PADOs) fill at most max_sessions. The runtime never answers,
    /// the worst case for pending state.
    #[test]
    fn flood_of_random_mac_padi_padr_keeps_tables_bounded(seed in any::<u64>()) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
        let mut cfg = config();
        cfg.max_sessions = 500;
        cfg.rate_limit = None;
        let (mut ac, now) = ac(cfg);
        let mut genuine = 0;
        for i in 0..10_000u32 {
            let mut mac: [u8; 6] = rng.gen();
            mac[0] &= 0xfe;
            let hu = i.to_be_bytes();
            ac.handle_frame(now, &padi(mac, "", Some(&hu)));
            let pado = Discovery::parse(&ac.poll_transmit().unwrap()).unwrap();
            let cookie = if i % 4 == 0 {
                genuine += 1;
                cookie_of(&pado)
            } else {
                rng.gen::<[u8; 20]>().to_vec()
            };
            ac.handle_frame(now, &padr(mac, "isp-a", Some(&hu), &cookie));
            while ac.poll_transmit().is_some() {}
            let sz = ac.table_sizes();
            prop_assert!(sz.sessions <= 500);
            prop_assert_eq!(sz.requests, sz.sessions);
            prop_assert!(sz.macs <= sz.sessions);
            prop_assert_eq!(sz.released_ids, 0);
            prop_assert!(sz.tx_queue <= TX_QUEUE_LIMIT);
        }
        let c = *ac.counters();
        prop_assert_eq!(c.bad_cookie, 10_000 - genuine);
        prop_assert_eq!(ac.table_sizes().sessions, 500);
        prop_assert_eq!(c.refused.max_sessions, genuine - 500);
        // Events wait for the runtime: one per session held, no more.
        prop_assert_eq!(ac.table_sizes().events, 500);
    }
}
