//! Data path cost per packet: `DataSession::encapsulate` and `decapsulate` of a 1400-byte frame
//! for an L2TPv2 session (6-byte header, no sequence numbers, as the kernel sends PPP) and an
//! L2TPv3-over-UDP session with an 8-byte cookie and sequence numbers in the default L2SS
//! (20-byte header, the longest). Criterion reports time per packet; a plain timing loop at the
//! end prints `encapsulate v2: N ns/packet` style lines.
//!
//! Run: `cargo bench -p l2tp-proto --bench data -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use l2tp_proto::data::{DataConfig, DataSession, L2Spec};
use l2tp_proto::wire::{Encap, Version};

/// Payload bytes per packet.
const FRAME: usize = 1400;

fn v2() -> DataConfig {
    DataConfig {
        version: Version::V2,
        encap: Encap::Udp,
        tunnel_id: 0x1234,
        peer_tunnel_id: 0x1234,
        session_id: 0x5678,
        peer_session_id: 0x5678,
        cookie: vec![],
        peer_cookie: vec![],
        l2spec: L2Spec::None,
        send_seq: false,
        recv_seq: false,
    }
}

fn v3() -> DataConfig {
    let cookie = vec![1, 2, 3, 4, 5, 6, 7, 8];
    DataConfig {
        version: Version::V3,
        encap: Encap::Udp,
        tunnel_id: 1,
        peer_tunnel_id: 1,
        session_id: 0x0a0b_0c0d,
        peer_session_id: 0x0a0b_0c0d,
        cookie: cookie.clone(),
        peer_cookie: cookie,
        l2spec: L2Spec::Default,
        send_seq: true,
        recv_seq: true,
    }
}

/// A session for sending, one for receiving (same IDs and cookie both ways, so the sender's
/// datagrams are the receiver's), and a buffer with the frame after `header_len` bytes.
fn setup(cfg: DataConfig) -> (DataSession, DataSession, Vec<u8>) {
    let tx = DataSession::new(cfg.clone()).unwrap();
    let rx = DataSession::new(cfg).unwrap();
    let mut buf = vec![0u8; tx.header_len() + FRAME];
    for (i, b) in buf[tx.header_len()..].iter_mut().enumerate() {
        *b = i as u8;
    }
    (tx, rx, buf)
}

/// Decapsulate the datagram in `buf`, first writing the next sequence number into the L2SS of a
/// sequenced v3 datagram (a repeated number would be discarded as out of sequence).
fn receive(rx: &mut DataSession, buf: &mut [u8], l2ss_at: Option<usize>, n: &mut u32) -> usize {
    if let Some(at) = l2ss_at {
        buf[at..at + 4].copy_from_slice(&(0x4000_0000 | *n).to_be_bytes());
        *n = (*n + 1) & 0x00ff_ffff;
    }
    rx.decapsulate(buf).map(|p| p.len()).unwrap_or(0)
}

fn cases() -> [(&'static str, DataConfig, Option<usize>); 2] {
    [
        ("v2", v2(), None),
        ("v3 udp cookie8 l2ss seq", v3(), Some(16)),
    ]
}

fn bench(c: &mut Criterion) {
    for (name, cfg, l2ss_at) in cases() {
        let (mut tx, mut rx, mut buf) = setup(cfg);
        let mut g = c.benchmark_group(format!("data {name} 1400-byte frame"));
        g.throughput(Throughput::Elements(1));
        g.bench_function("encapsulate", |b| {
            b.iter(|| tx.encapsulate(black_box(&mut buf)).unwrap())
        });
        tx.encapsulate(&mut buf).unwrap();
        let mut n = 0;
        assert_eq!(receive(&mut rx, &mut buf, l2ss_at, &mut n), FRAME);
        g.bench_function("decapsulate", |b| {
            b.iter(|| black_box(receive(&mut rx, black_box(&mut buf), l2ss_at, &mut n)))
        });
        assert_eq!(rx.stats().rx_errors + rx.stats().rx_invalid, 0);
        g.finish();
    }
}

/// Nanoseconds per call of `f`, measured over about `dur`.
fn ns_per_call(dur: Duration, mut f: impl FnMut()) -> f64 {
    let mut n: u64 = 0;
    let start = Instant::now();
    while start.elapsed() < dur {
        for _ in 0..10_000 {
            f();
        }
        n += 10_000;
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

fn summary() {
    let dur = Duration::from_millis(500);
    println!();
    for (name, cfg, l2ss_at) in cases() {
        let (mut tx, mut rx, mut buf) = setup(cfg);
        let enc = ns_per_call(dur, || tx.encapsulate(black_box(&mut buf)).unwrap());
        let mut n = 0;
        let dec = ns_per_call(dur, || {
            black_box(receive(&mut rx, black_box(&mut buf), l2ss_at, &mut n));
        });
        assert_eq!(rx.stats().rx_errors + rx.stats().rx_invalid, 0);
        println!("encapsulate {name}: {enc:.1} ns/packet ({FRAME}-byte frame)");
        println!("decapsulate {name}: {dec:.1} ns/packet ({FRAME}-byte frame)");
    }
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // Skip the extra loop when cargo test runs benches in test mode (`--bench` absent).
    if std::env::args().any(|a| a == "--bench") {
        summary();
    }
}
