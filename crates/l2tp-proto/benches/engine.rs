//! Engine figures on the simulated network (plain timing loop, `harness = false`):
//!
//! - sessions set up (ICRQ/ICRP/ICCN, both endpoints' work and the codec) per second of CPU in
//!   one tunnel, v2 and v3;
//! - virtual time for a tunnel and one session to converge (both ends up) at 10 % and 30 %
//!   loss with reordering, over 200 seeds: median and 95th percentile.
//!
//! Run: `cargo bench -p l2tp-proto --bench engine`. Single-threaded, so wall time ≈ CPU time.

#[path = "../tests/sim_harness.rs"]
mod sim;

use std::time::{Duration, Instant};

use l2tp_proto::endpoint::{EndpointConfig, SessionConfig};
use l2tp_proto::wire::{pw_type, Encap, Version};
use sim::*;

fn pair(seed: u64, version: Version, window: u16) -> Sim {
    let lns = EndpointConfig {
        accept_v2_incoming: true,
        accept_v3_incoming: true,
        host_name: b"lns".to_vec(),
        max_retries: 10,
        hello_interval: Some(Duration::from_secs(10)),
        window_size: window,
        ..EndpointConfig::default()
    };
    let mut s = Sim::with(seed, EndpointConfig::default(), lns);
    let now = s.now;
    let mut cfg = match version {
        Version::V2 => s.tunnel_cfg(),
        Version::V3 => s.tunnel_cfg_v3(Encap::Udp),
    };
    cfg.max_retries = 10;
    cfg.hello_interval = Some(Duration::from_secs(10));
    cfg.window_size = window;
    s.nodes[LAC].ep.connect(now, cfg).unwrap();
    s
}

fn session(version: Version) -> SessionConfig {
    SessionConfig {
        pseudowire: match version {
            Version::V2 => pw_type::PPP,
            Version::V3 => pw_type::ETHERNET,
        },
        ..SessionConfig::default()
    }
}

fn sessions_per_cpu_second(version: Version, n: usize) -> f64 {
    let mut s = pair(1, version, 64);
    assert!(s.run_until(Duration::from_secs(5), |s| s.count(LNS, is_tunnel_up) == 1));
    let t = s.nodes[LAC].ep.tunnel_ids()[0];
    let start = Instant::now();
    let now = s.now;
    for _ in 0..n {
        s.nodes[LAC]
            .ep
            .open_session(now, t, session(version))
            .unwrap();
    }
    let (mut up, mut seen) = (0, 0);
    let deadline = s.now + Duration::from_secs(3600);
    while up < n && s.step(deadline) {
        // Count incrementally: events are appended.
        let ev = &s.nodes[LAC].events;
        up += ev[seen..].iter().filter(|(_, e)| is_session_up(e)).count();
        seen = ev.len();
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(up, n);
    n as f64 / secs
}

fn convergence(version: Version, loss: f64, seeds: u64) -> (Vec<f64>, usize) {
    let mut times = Vec::new();
    let mut failed = 0;
    for seed in 0..seeds {
        let mut s = pair(seed, version, 4);
        s.faults = Faults {
            drop: loss,
            jitter: Duration::from_millis(50),
            ..Faults::default()
        };
        let now = s.now;
        let t = s.nodes[LAC].ep.tunnel_ids()[0];
        s.nodes[LAC]
            .ep
            .open_session(now, t, session(version))
            .unwrap();
        let ok = s.run_until(Duration::from_secs(300), |s| {
            s.count(LAC, is_session_up) == 1 && s.count(LNS, is_session_up) == 1
        });
        if ok {
            times.push(s.elapsed().as_secs_f64());
        } else {
            failed += 1;
        }
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (times, failed)
}

fn pct(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i]
}

fn main() {
    // `cargo test --benches` runs benches with --bench absent: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n = if quick { 200 } else { 10_000 };
    let seeds = if quick { 10 } else { 200 };
    for version in [Version::V2, Version::V3] {
        let mut rates: Vec<f64> = (0..5)
            .map(|_| sessions_per_cpu_second(version, n))
            .collect();
        rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "{version:?}: sessions set up per CPU-second in one tunnel: {:.0} \
             (median of 5 runs of {n} sessions; both endpoints and the codec)",
            rates[2]
        );
    }
    for version in [Version::V2, Version::V3] {
        for loss in [0.10, 0.30] {
            let (t, failed) = convergence(version, loss, seeds);
            println!(
                "{version:?}: virtual time to converge at {:.0}% loss: median {:.2} s, p95 {:.2} s \
                 ({} of {seeds} seeds converged, {failed} failed)",
                loss * 100.0,
                pct(&t, 0.5),
                pct(&t, 0.95),
                t.len(),
            );
        }
    }
}
