//! Hostile input: arbitrary frames and timer firings never panic, never grow the engine's
//! queues past their caps, and never make it send a frame longer than the peer's MRU.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use l2tp_ppp::fsm::TX_QUEUE_CAP;
use l2tp_ppp::{AuthMethod, IpcpConfig, Ppp, PppConfig, Role, EVENT_QUEUE_CAP};
use proptest::prelude::*;

/// A frame: mostly well-framed control packets of the protocols we speak (so the fuzzing
/// reaches the option parsers), sometimes raw bytes.
fn frame() -> impl Strategy<Value = Vec<u8>> {
    let proto = prop_oneof![
        Just(0xc021u16),
        Just(0xc023),
        Just(0xc223),
        Just(0x8021),
        Just(0x8057),
        Just(0x0021),
        any::<u16>()
    ];
    let structured = (
        proto,
        0u8..14,
        any::<u8>(),
        proptest::collection::vec(any::<u8>(), 0..80),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(p, code, id, data, good_len, hdlc)| {
            let mut f = Vec::new();
            if hdlc {
                f.extend_from_slice(&[0xff, 0x03]);
            }
            f.extend_from_slice(&p.to_be_bytes());
            f.push(code);
            f.push(id);
            let len = if good_len {
                data.len() + 4
            } else {
                data.len() * 7 % 300
            };
            f.extend_from_slice(&(len as u16).to_be_bytes());
            f.extend_from_slice(&data);
            f
        });
    prop_oneof![4 => structured, 1 => proptest::collection::vec(any::<u8>(), 0..40)]
}

fn config(role: Role) -> PppConfig {
    PppConfig {
        role,
        auth_methods: vec![AuthMethod::MsChapV2, AuthMethod::ChapMd5, AuthMethod::Pap],
        credentials: Some(("u".into(), "p".into())),
        echo_interval: Some(Duration::from_secs(5)),
        ipcp: Some(IpcpConfig {
            local: Ipv4Addr::new(10, 0, 0, 1),
            peer: (role == Role::Authenticator).then_some(Ipv4Addr::new(10, 0, 0, 2)),
            dns: [Some(Ipv4Addr::new(10, 0, 0, 53)), None],
        }),
        ipv6cp: true,
        ..PppConfig::default()
    }
}

/// An engine whose LCP is Opened (its request acked, a minimal peer request acked), so that
/// input reaches authentication and the NCPs.
fn opened(role: Role, t: Instant) -> Ppp {
    let mut p = Ppp::new(config(role), t, 1);
    let mut req = p.poll_transmit().expect("LCP request");
    req[2] = 2;
    p.handle_frame(t, &[0xc0, 0x21, 1, 9, 0, 10, 5, 6, 1, 2, 3, 4]);
    let peer_auth: &[u8] = &[0xc0, 0x21, 1, 10, 0, 9, 3, 5, 0xc2, 0x23, 5];
    if role == Role::Peer {
        p.handle_frame(t, peer_auth);
    }
    p.handle_frame(t, &req);
    assert_eq!(p.state().lcp, l2tp_ppp::fsm::State::Opened);
    p
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_frames_never_panic_and_stay_bounded(
        frames in proptest::collection::vec((frame(), 0u64..4000), 0..200),
        role in prop_oneof![Just(Role::Authenticator), Just(Role::Peer)],
        start_open in any::<bool>(),
        drain in any::<bool>(),
    ) {
        let t0 = Instant::now();
        let mut p = if start_open { opened(role, t0) } else { Ppp::new(config(role), t0, 3) };
        let mut now = t0;
        let mut sent = 0usize;
        for (f, dt) in &frames {
            now += Duration::from_millis(*dt);
            p.handle_frame(now, f);
            if let Some(t) = p.poll_timeout() {
                prop_assert!(t + Duration::from_secs(120) > now, "timer far in the past");
                if t <= now {
                    p.handle_timeout(now);
                }
            }
            if drain {
                while let Some(out) = p.poll_transmit() {
                    // Control frames fit the peer's MRU (>= 128 by our LCP rules) + Protocol.
                    prop_assert!(out.len() <= 1500 + 2, "frame of {} bytes", out.len());
                    sent += 1;
                }
                while p.poll_event().is_some() {}
            }
            let _ = p.state();
        }
        if !drain {
            // Never polled: queues stop at their caps instead of growing.
            let mut n = 0;
            while p.poll_transmit().is_some() { n += 1; }
            prop_assert!(n <= TX_QUEUE_CAP);
            let mut e = 0;
            while p.poll_event().is_some() { e += 1; }
            prop_assert!(e <= EVENT_QUEUE_CAP);
        }
        let _ = sent;
    }

    #[test]
    fn classify_never_panics(f in proptest::collection::vec(any::<u8>(), 0..10)) {
        let _ = l2tp_ppp::classify(&f);
    }
}
