//! Codec throughput: parse and emit of an SCCRQ as xl2tpd 1.3.18 sends it, an ICRQ, and a v2
//! data header. Criterion reports time per message and messages/s (Throughput::Elements); a
//! short plain timing loop at the end prints `decode SCCRQ: N msg/s` style lines.
//!
//! Run: `cargo bench -p l2tp-proto --bench codec -- --warm-up-time 1 --measurement-time 2`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use l2tp_proto::wire::{ControlMessage, DataHeader, Encap};

/// SCCRQ from `shared/captures/xl2tpd-v2-userspace-cdn-hello-stopccn.hex` (108 bytes).
const SCCRQ: &str = "c802006c000000000000000080080000000000018008000000020100800a0000000300000003800a000000040000000000080000000606908011000000076c61632e6578616d706c6500130000000878656c6572616e63652e636f6d800800000009ad8880080000000a0004";
/// ICRQ from the same capture.
const ICRQ: &str = "c802003034ec000000020001800800000000000a80080000000eee1f800a0000000f00000001800a0000001200000000";
/// v2 data message with L bit (flags 0x4002) from `xl2tpd-v2-userspace-ppp-data.hex`.
const DATA: &str = "4002001a2a7876f1ff03c0210102000e01040578050679d3bac5";

fn bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn bench(c: &mut Criterion) {
    for (name, hex) in [("SCCRQ", SCCRQ), ("ICRQ", ICRQ)] {
        let wire = bytes(hex);
        let msg = ControlMessage::parse(&wire, Encap::Udp, None).unwrap();
        assert_eq!(msg.to_bytes(Encap::Udp, None).unwrap(), wire);
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(1));
        g.bench_function("decode", |b| {
            b.iter(|| ControlMessage::parse(black_box(&wire), Encap::Udp, None).unwrap())
        });
        let mut out = Vec::with_capacity(256);
        g.bench_function("encode", |b| {
            b.iter(|| {
                out.clear();
                black_box(&msg).emit(Encap::Udp, None, &mut out).unwrap();
                black_box(out.len())
            })
        });
        g.finish();
    }
    let data = bytes(DATA);
    let (hdr, off) = DataHeader::parse_v2(&data).unwrap();
    let payload_len = data.len() - off;
    let mut g = c.benchmark_group("v2 data header");
    g.throughput(Throughput::Elements(1));
    g.bench_function("decode", |b| {
        b.iter(|| DataHeader::parse_v2(black_box(&data)).unwrap())
    });
    let mut out = Vec::with_capacity(64);
    g.bench_function("encode", |b| {
        b.iter(|| {
            out.clear();
            black_box(&hdr)
                .emit(Encap::Udp, payload_len, &mut out)
                .unwrap();
            black_box(out.len())
        })
    });
    g.finish();
}

/// Messages per second of `f`, measured over about `dur`.
fn rate(dur: Duration, mut f: impl FnMut()) -> f64 {
    let mut n: u64 = 0;
    let start = Instant::now();
    while start.elapsed() < dur {
        for _ in 0..1000 {
            f();
        }
        n += 1000;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn summary() {
    let dur = Duration::from_millis(500);
    let sccrq = bytes(SCCRQ);
    let icrq = bytes(ICRQ);
    let data = bytes(DATA);
    let sccrq_msg = ControlMessage::parse(&sccrq, Encap::Udp, None).unwrap();
    let icrq_msg = ControlMessage::parse(&icrq, Encap::Udp, None).unwrap();
    let (hdr, off) = DataHeader::parse_v2(&data).unwrap();
    let mut out = Vec::with_capacity(256);
    let lines = [
        (
            "decode SCCRQ",
            rate(dur, || {
                drop(black_box(ControlMessage::parse(
                    black_box(&sccrq),
                    Encap::Udp,
                    None,
                )))
            }),
        ),
        (
            "encode SCCRQ",
            rate(dur, || {
                out.clear();
                black_box(&sccrq_msg)
                    .emit(Encap::Udp, None, &mut out)
                    .unwrap();
            }),
        ),
        (
            "decode ICRQ",
            rate(dur, || {
                drop(black_box(ControlMessage::parse(
                    black_box(&icrq),
                    Encap::Udp,
                    None,
                )))
            }),
        ),
        (
            "encode ICRQ",
            rate(dur, || {
                out.clear();
                black_box(&icrq_msg)
                    .emit(Encap::Udp, None, &mut out)
                    .unwrap();
            }),
        ),
        (
            "decode v2 data header",
            rate(dur, || {
                drop(black_box(DataHeader::parse_v2(black_box(&data))))
            }),
        ),
        (
            "encode v2 data header",
            rate(dur, || {
                out.clear();
                black_box(&hdr)
                    .emit(Encap::Udp, data.len() - off, &mut out)
                    .unwrap();
            }),
        ),
    ];
    println!();
    for (name, r) in lines {
        println!("{name}: {r:.0} msg/s");
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
