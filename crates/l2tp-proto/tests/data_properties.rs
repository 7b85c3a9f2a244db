//! Properties of the data path (`l2tp_proto::data`) over random configurations and inputs:
//! encapsulate → decapsulate returns the payload; arbitrary bytes never panic and count
//! exactly one event; the receive sequence check matches a plain model of the kernel's rules.

use l2tp_proto::data::*;
use l2tp_proto::wire::{Encap, Version};
use proptest::prelude::*;

fn cookie() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        prop::collection::vec(any::<u8>(), 4),
        prop::collection::vec(any::<u8>(), 8),
    ]
}

/// Any valid configuration.
fn config() -> impl Strategy<Value = DataConfig> {
    let v2 = (
        1..=0xffffu32,
        1..=0xffffu32,
        1..=0xffffu32,
        1..=0xffffu32,
        any::<bool>(),
    )
        .prop_map(|(t, pt, s, ps, seq)| DataConfig {
            version: Version::V2,
            encap: Encap::Udp,
            tunnel_id: t,
            peer_tunnel_id: pt,
            session_id: s,
            peer_session_id: ps,
            cookie: vec![],
            peer_cookie: vec![],
            l2spec: L2Spec::None,
            send_seq: seq,
            recv_seq: seq,
        });
    let v3 = (
        prop_oneof![Just(Encap::Udp), Just(Encap::Ip)],
        1..=u32::MAX,
        1..=u32::MAX,
        cookie(),
        cookie(),
        prop_oneof![Just(L2Spec::None), Just(L2Spec::Default)],
        any::<bool>(),
    )
        .prop_map(|(encap, s, ps, c, pc, l2spec, seq)| DataConfig {
            version: Version::V3,
            encap,
            tunnel_id: 1,
            peer_tunnel_id: 2,
            session_id: s,
            peer_session_id: ps,
            cookie: c,
            peer_cookie: pc,
            l2spec,
            send_seq: seq && l2spec == L2Spec::Default,
            recv_seq: seq && l2spec == L2Spec::Default,
        });
    prop_oneof![v2, v3]
}

fn mirror(cfg: &DataConfig) -> DataConfig {
    DataConfig {
        tunnel_id: cfg.peer_tunnel_id,
        peer_tunnel_id: cfg.tunnel_id,
        session_id: cfg.peer_session_id,
        peer_session_id: cfg.session_id,
        cookie: cfg.peer_cookie.clone(),
        peer_cookie: cfg.cookie.clone(),
        ..cfg.clone()
    }
}

/// rx_packets + rx_errors + rx_invalid: one per decapsulate call.
fn events(s: &DataStats) -> u64 {
    s.rx_packets + s.rx_errors + s.rx_invalid
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the configuration, the peer configured as its mirror gets every payload back,
    /// in order, and both count the same packets and bytes.
    #[test]
    fn encapsulate_then_decapsulate_returns_the_payload(
        cfg in config(),
        lns in any::<bool>(),
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..20),
    ) {
        let mut tx = DataSession::new(cfg.clone()).unwrap().with_lns_mode(lns);
        let mut rx = DataSession::new(mirror(&cfg)).unwrap().with_lns_mode(lns);
        for p in &payloads {
            let mut buf = vec![0u8; DataSession::MAX_HEADER_LEN];
            buf.extend_from_slice(p);
            let start = tx.encapsulate_at(&mut buf, DataSession::MAX_HEADER_LEN).unwrap();
            prop_assert_eq!(start, DataSession::MAX_HEADER_LEN - tx.header_len());
            let d = &buf[start..];
            prop_assert_eq!(data_key(d, cfg.encap), Some(rx.key()));
            prop_assert_eq!(rx.decapsulate(d), Ok(&p[..]));
        }
        let (t, r) = (tx.stats(), rx.stats());
        prop_assert_eq!(t.tx_packets, payloads.len() as u64);
        prop_assert_eq!(r.rx_packets, t.tx_packets);
        prop_assert_eq!(r.rx_bytes, t.tx_bytes);
        prop_assert_eq!(r.rx_errors + r.rx_invalid + t.tx_errors, 0);
        if cfg.send_seq {
            prop_assert_eq!(rx.expected_nr(), tx.next_ns());
        }
    }

    /// Arbitrary bytes — alone, or after a valid header of the session so the checks further
    /// in are reached — never panic; each call counts exactly one event (delivered, an error
    /// or an invalid header), the sub-counters move only with `rx_errors` and as
    /// `Discard::counter` says; a delivered datagram has the session's key.
    #[test]
    fn arbitrary_bytes_count_exactly_one_event(
        cfg in config(),
        lns in any::<bool>(),
        inputs in prop::collection::vec(
            (any::<bool>(), prop::collection::vec(any::<u8>(), 0..48)), 1..16),
    ) {
        let mut tx = DataSession::new(mirror(&cfg)).unwrap();
        let mut rx = DataSession::new(cfg.clone()).unwrap().with_lns_mode(lns);
        for (prefixed, bytes) in inputs {
            let d = if prefixed {
                let mut buf = vec![0u8; tx.header_len()];
                tx.encapsulate(&mut buf).unwrap();
                buf.extend_from_slice(&bytes);
                // Flip one byte of the header, chosen by the input.
                if let Some(&b) = bytes.first() {
                    let i = usize::from(b) % (tx.header_len() + 1);
                    if i < tx.header_len() {
                        buf[i] ^= bytes.get(1).copied().unwrap_or(1) | 1;
                    }
                }
                buf
            } else {
                bytes
            };
            let _ = data_key(&d, cfg.encap);
            let before = *rx.stats();
            let r = rx.decapsulate(&d);
            let after = *rx.stats();
            prop_assert_eq!(events(&after), events(&before) + 1);
            let cookie = after.rx_cookie_discards - before.rx_cookie_discards;
            let seq = after.rx_seq_discards - before.rx_seq_discards;
            let errors = after.rx_errors - before.rx_errors;
            prop_assert!(cookie + seq <= errors);
            match r {
                Ok(p) => {
                    prop_assert!(p.len() <= d.len());
                    prop_assert_eq!(data_key(&d, cfg.encap), Some(rx.key()));
                    prop_assert_eq!(after.rx_bytes - before.rx_bytes, d.len() as u64);
                }
                Err(why) => {
                    let want = match why.counter() {
                        DiscardCounter::Invalid => (0, 0, 0),
                        DiscardCounter::Error => (1, 0, 0),
                        DiscardCounter::Cookie => (1, 1, 0),
                        DiscardCounter::Sequence => (1, 0, 1),
                    };
                    prop_assert_eq!((errors, cookie, seq), want, "{:?}", why);
                }
            }
        }
    }
}

/// What the sender does next in the sequence proptest.
#[derive(Debug, Clone)]
enum Op {
    /// Send the next number.
    Next,
    /// Lose `k` packets, send the next.
    Skip(u32),
    /// Resend a number `k` behind (duplicate / late packet).
    Back(u32),
    /// Restart numbering at this value.
    Jump(u32),
    /// Send a number at the edge of the receive window: expected + mask / 2 + (k - 1).
    Edge(u32),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Next),
        2 => (1..8u32).prop_map(Op::Skip),
        2 => (1..8u32).prop_map(Op::Back),
        1 => any::<u32>().prop_map(Op::Jump),
        1 => (0..3u32).prop_map(Op::Edge),
    ]
}

/// The kernel's receive rule without a reorder queue, told plainly: deliver the expected
/// number; the first packet ever, and the sixth of a run of out-of-sequence packets numbered
/// one after another, set the expected number; discard anything else that is less than half
/// the space (window `mask / 2`) ahead, and, silently as to sequence, what is further.
struct Model {
    mask: u32,
    expected: u32,
    started: bool,
    run_last: u32,
    run_len: u32,
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Delivered,
    OutOfSequence,
    OutsideWindow,
}

impl Model {
    fn receive(&mut self, ns: u32) -> Outcome {
        let ahead = ns.wrapping_sub(self.expected) & self.mask;
        if ahead >= self.mask / 2 {
            return Outcome::OutsideWindow;
        }
        if ahead != 0 {
            let follows = ns == (self.run_last + 1) & self.mask;
            self.run_len = if follows { self.run_len + 1 } else { 0 };
            self.run_last = ns;
            if self.started && self.run_len < 5 {
                return Outcome::OutOfSequence;
            }
        }
        self.started = true;
        self.expected = (ns + 1) & self.mask;
        Outcome::Delivered
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random loss, duplicates, late packets and restarts (near the wrap too): every
    /// delivery / discard decision, the expected number and the counters match the model.
    #[test]
    fn sequence_check_matches_the_model(
        v3 in any::<bool>(),
        start in prop_oneof![Just(0u32), Just(u32::MAX - 3), any::<u32>()],
        ops in prop::collection::vec(op(), 1..200),
    ) {
        let (cfg, mask) = if v3 {
            (DataConfig {
                version: Version::V3,
                encap: Encap::Ip,
                tunnel_id: 1,
                peer_tunnel_id: 1,
                session_id: 5,
                peer_session_id: 5,
                cookie: vec![],
                peer_cookie: vec![],
                l2spec: L2Spec::Default,
                send_seq: true,
                recv_seq: true,
            }, 0x00ff_ffffu32)
        } else {
            (DataConfig {
                version: Version::V2,
                encap: Encap::Udp,
                tunnel_id: 5,
                peer_tunnel_id: 5,
                session_id: 6,
                peer_session_id: 6,
                cookie: vec![],
                peer_cookie: vec![],
                l2spec: L2Spec::None,
                send_seq: true,
                recv_seq: true,
            }, 0xffff)
        };
        let mut rx = DataSession::new(cfg.clone()).unwrap();
        let template = {
            let mut tx = DataSession::new(cfg).unwrap();
            let mut b = vec![0u8; tx.header_len() + 1];
            tx.encapsulate(&mut b).unwrap();
            b
        };
        let mut model = Model { mask, expected: 0, started: false, run_last: 0, run_len: 0 };
        let (mut delivered, mut oos, mut window) = (0u64, 0u64, 0u64);
        let mut c = start & mask;
        for op in ops {
            let ns = match op {
                Op::Next => { c = (c + 1) & mask; c }
                Op::Skip(k) => { c = (c + k + 1) & mask; c }
                Op::Back(k) => c.wrapping_sub(k) & mask,
                Op::Jump(x) => { c = x & mask; c }
                Op::Edge(k) => (model.expected + mask / 2 + k).wrapping_sub(1) & mask,
            };
            let mut d = template.clone();
            if v3 {
                d[4..8].copy_from_slice(&(0x4000_0000 | ns).to_be_bytes());
            } else {
                d[6..8].copy_from_slice(&(ns as u16).to_be_bytes());
            }
            let want = model.receive(ns);
            let got = match rx.decapsulate(&d) {
                Ok(_) => Outcome::Delivered,
                Err(Discard::OutOfSequence { .. }) => Outcome::OutOfSequence,
                Err(Discard::OutsideWindow { .. }) => Outcome::OutsideWindow,
                Err(e) => return Err(TestCaseError::fail(format!("unexpected {e:?}"))),
            };
            prop_assert_eq!(&got, &want, "ns {}", ns);
            match got {
                Outcome::Delivered => delivered += 1,
                Outcome::OutOfSequence => oos += 1,
                Outcome::OutsideWindow => window += 1,
            }
            if model.started {
                prop_assert_eq!(rx.expected_nr(), model.expected);
            }
        }
        let st = rx.stats();
        prop_assert_eq!(st.rx_packets, delivered);
        prop_assert_eq!(st.rx_seq_discards, oos);
        prop_assert_eq!(st.rx_errors, oos + window);
        prop_assert_eq!(st.rx_oos_packets, 0);
    }
}

proptest! {
    /// Reordering: whatever order, loss and repetition the network adds, what a session with
    /// a reorder queue delivers comes in strictly increasing sequence order, each packet at
    /// most once, the queue never holds more than its bound, and with arrivals at most a few
    /// places out of order and no loss, everything is delivered.
    #[test]
    fn reordered_delivery_is_in_order_once_and_bounded(
        swaps in prop::collection::vec((0usize..200, 1usize..4), 0..60),
        lost in prop::collection::vec(0usize..200, 0..5),
        dups in prop::collection::vec(0usize..200, 0..5),
        gaps_ms in prop::collection::vec(0u64..40, 200),
    ) {
        use std::time::{Duration, Instant};
        let mk = |send: bool| DataConfig {
            version: Version::V3, encap: Encap::Udp, tunnel_id: 1, peer_tunnel_id: 2,
            session_id: if send { 7 } else { 8 }, peer_session_id: if send { 8 } else { 7 },
            cookie: vec![], peer_cookie: vec![], l2spec: L2Spec::Default,
            send_seq: true, recv_seq: true,
        };
        let mut tx = DataSession::new(mk(true)).unwrap();
        let mut rx = DataSession::new(mk(false)).unwrap().with_reorder(true);
        let mut order: Vec<u32> = (0..200).collect();
        for (at, by) in &swaps {
            let b = (at + by).min(199);
            order.swap(*at, b);
        }
        let mut arrivals: Vec<u32> = order.iter().copied().filter(|n| !lost.contains(&(*n as usize))).collect();
        for d in &dups { if let Some(&n) = order.get(*d) { arrivals.insert(*d.min(&arrivals.len()), n); } }
        let datagrams: Vec<Vec<u8>> = (0..200u32).map(|n| {
            let mut b = vec![0u8; DataSession::MAX_HEADER_LEN];
            b.extend_from_slice(&n.to_be_bytes());
            let start = DataSession::MAX_HEADER_LEN - tx.header_len();
            tx.encapsulate(&mut b[start..]).unwrap();
            b[start..].to_vec()
        }).collect();
        let mut q = ReorderQueue::new(Duration::from_millis(50));
        let t0 = Instant::now();
        let mut now = t0;
        let mut out: Vec<u32> = Vec::new();
        for (i, n) in arrivals.iter().enumerate() {
            now += Duration::from_millis(gaps_ms[i % gaps_ms.len()] / 8);
            let d = &datagrams[*n as usize];
            match rx.receive(d) {
                Ok(Received::Deliver(p)) => out.push(u32::from_be_bytes(p.try_into().unwrap())),
                Ok(Received::Ahead { ns, payload }) => q.hold(&mut rx, ns, d.len(), payload, now),
                Err(_) => {}
            }
            while let Some(h) = q.pop_ready(&mut rx, now) {
                out.push(u32::from_be_bytes(h.payload[..].try_into().unwrap()));
            }
            prop_assert!(q.len() <= REORDER_MAX_HELD);
        }
        prop_assert!(out.windows(2).all(|w| w[0] < w[1]), "in order, once: {:?}", out);
        if lost.is_empty() && dups.is_empty() && out.first() == Some(&0) {
            // Nothing lost: all delivered except what is still held at the end.
            prop_assert_eq!(out.len() + q.len(), 200);
        }
    }
}
