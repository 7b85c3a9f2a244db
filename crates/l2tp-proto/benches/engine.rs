//! Engine figures on the simulated network (plain timing loop, `harness = false`):
//!
//! - sessions set up (ICRQ/ICRP/ICCN, both endpoints' work and the codec) per second of CPU in
//!   one tunnel, v2 and v3;
//! - virtual time for a tunnel and one session to converge (both ends up) at 10 % and 30 %
//!   loss with reordering, over 200 seeds: median and 95th percentile;
//! - scale: 100,000 sessions (10,000 tunnels × 10 sessions, 100 tunnels × 1,000 sessions) set
//!   up through one endpoint pair, sessions per CPU-second for the first and the last 10 % of
//!   them (median of 3 runs), and the table-walk steps per session (`Endpoint::scan_steps`).
//!   Per-operation costs that grow with the number of tunnels or sessions show as a
//!   last/first ratio well below 1; what remains below 1 once they are gone is memory, not
//!   work: the first slice runs on a small, hot heap (with a pre-grown fragmented heap the
//!   first slice is as slow as the last), later ones on 100+ MB — plus noise.
//!
//! Run: `cargo bench -p l2tp-proto --bench engine` (`-- scale` for the scale case only).
//! Single-threaded; CPU time is the thread's (`/proc/thread-self/schedstat`, wall time where
//! that is missing). Some kernels update that figure only at scheduler ticks (a few ms): the
//! scale slices take ~100 ms each, so read the ratio to ±10 %, more on a loaded machine.
//!
//! Instructions, unlike time, do not depend on the cache or on other load. To count them per
//! slice, `SCALE_CASE` picks one case (`V2-tunnels`, `V2-sessions`, `V3-tunnels`,
//! `V3-sessions`) and `SCALE_STOP=k` exits after slice k (0..=10); under
//! `valgrind --tool=cachegrind --cache-sim=no <bench binary> --bench scale` the first slice
//! costs I(1) − I(0) instructions and the last I(10) − I(9).

#[path = "../tests/sim_harness.rs"]
mod sim;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use l2tp_proto::endpoint::{Endpoint, EndpointConfig, Event, SessionConfig, TunnelConfig};
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

/// CPU time used by this thread so far (wall time where the kernel does not say).
fn cpu_time() -> Duration {
    static T0: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let t0 = *T0.get_or_init(Instant::now);
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(Duration::from_nanos)
        .unwrap_or_else(|| t0.elapsed())
}

/// Two endpoints wired back to back in memory: every datagram is encoded, delivered at once
/// and parsed; time does not advance (no loss, so no timer is due).
struct Wire {
    lac: Endpoint,
    lns: Endpoint,
    now: Instant,
    lac_addr: SocketAddr,
    lns_addr: SocketAddr,
    /// SessionUp events seen on (LAC, LNS).
    up: (usize, usize),
}

impl Wire {
    fn new(version: Version) -> Wire {
        let lns = EndpointConfig {
            accept_v2_incoming: version == Version::V2,
            accept_v3_incoming: version == Version::V3,
            host_name: b"lns".to_vec(),
            // Every tunnel comes from the one LAC address: up to 10,000 of them.
            max_tunnels_per_peer: usize::MAX,
            ..EndpointConfig::default()
        };
        Wire {
            lac: Endpoint::new(EndpointConfig::default(), 1),
            lns: Endpoint::new(lns, 2),
            now: Instant::now(),
            lac_addr: "10.0.0.1:1701".parse().unwrap(),
            lns_addr: "10.0.0.2:1701".parse().unwrap(),
            up: (0, 0),
        }
    }

    fn tunnel_cfg(&self, version: Version) -> TunnelConfig {
        let mut c = TunnelConfig::new(version, Encap::Udp, self.lns_addr);
        c.host_name = b"lac".to_vec();
        c.router_id = 0x0a00_0001;
        c
    }

    /// Delivers datagrams both ways until neither end has anything to send.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(t) = self.lac.poll_transmit() {
                self.lns.handle(self.now, self.lac_addr, &t.payload);
                moved = true;
            }
            while let Some(t) = self.lns.poll_transmit() {
                self.lac.handle(self.now, self.lns_addr, &t.payload);
                moved = true;
            }
            while let Some(e) = self.lac.poll_event() {
                self.up.0 += usize::from(matches!(e, Event::SessionUp { .. }));
            }
            while let Some(e) = self.lns.poll_event() {
                self.up.1 += usize::from(matches!(e, Event::SessionUp { .. }));
            }
            if !moved {
                return;
            }
        }
    }
}

/// Sets up `tunnels × per_tunnel` sessions through one endpoint pair in ten slices of 10 %
/// each and returns, for every slice, the sessions per CPU-second and the table-walk steps
/// (`Endpoint::scan_steps`, both ends) per session. `round_robin`: slice k opens
/// sessions k·10 %..(k+1)·10 % of every tunnel (the sessions per tunnel grow); otherwise slice
/// k connects tunnels k·10 %..(k+1)·10 % and opens all their sessions (the tunnels grow).
fn scale(
    version: Version,
    tunnels: usize,
    per_tunnel: usize,
    round_robin: bool,
) -> Vec<(f64, f64)> {
    let mut w = Wire::new(version);
    let mut ids = Vec::with_capacity(tunnels);
    let mut rates = Vec::new();
    let mut done = 0;
    let stop: Option<usize> = std::env::var("SCALE_STOP")
        .ok()
        .and_then(|v| v.parse().ok());
    for k in 0..10 {
        if stop == Some(k) {
            std::process::exit(0);
        }
        let start = cpu_time();
        let steps = w.lac.scan_steps() + w.lns.scan_steps();
        let now = w.now;
        let (tr, sr) = if round_robin {
            (0..tunnels, per_tunnel * k / 10..per_tunnel * (k + 1) / 10)
        } else {
            (tunnels * k / 10..tunnels * (k + 1) / 10, 0..per_tunnel)
        };
        for ti in tr.clone() {
            if ti == ids.len() {
                let cfg = w.tunnel_cfg(version);
                ids.push(w.lac.connect(now, cfg).unwrap());
            }
            for _ in sr.clone() {
                w.lac.open_session(now, ids[ti], session(version)).unwrap();
            }
        }
        w.pump();
        let n = tr.len() * sr.len();
        done += n;
        assert_eq!(w.up, (done, done), "every session up at both ends");
        let secs = (cpu_time() - start).as_secs_f64().max(1e-6);
        let steps = w.lac.scan_steps() + w.lns.scan_steps() - steps;
        rates.push((n as f64 / secs, steps as f64 / n as f64));
    }
    if stop.is_some() {
        // Without tearing 100,000 sessions down.
        std::process::exit(0);
    }
    rates
}

fn main() {
    // `cargo test --benches` runs benches with --bench absent: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let only_scale = std::env::args().any(|a| a == "scale");
    let k = if quick { 10 } else { 1 };
    let only_case = std::env::var("SCALE_CASE").ok();
    for version in [Version::V2, Version::V3] {
        for (tunnels, per_tunnel, rr) in [(10_000 / k, 10, false), (100, 1_000 / k, true)] {
            let case = format!("{version:?}-{}", if rr { "sessions" } else { "tunnels" });
            if only_case.as_ref().is_some_and(|c| *c != case) {
                continue;
            }
            let runs: Vec<Vec<(f64, f64)>> = (0..3)
                .map(|_| scale(version, tunnels, per_tunnel, rr))
                .collect();
            let median = |slice: usize| {
                let mut v: Vec<f64> = runs.iter().map(|r| r[slice].0).collect();
                v.sort_by(|a, b| a.partial_cmp(b).unwrap());
                v[1]
            };
            let (first, last) = (median(0), median(9));
            let r = &runs[0];
            println!(
                "{version:?}: scale {tunnels} tunnels x {per_tunnel} sessions ({}): sessions \
                 per CPU-second, first 10 %: {first:.0}, last 10 %: {last:.0}, last/first {:.2}",
                if rr {
                    "sessions per tunnel grow"
                } else {
                    "tunnels grow"
                },
                last / first,
            );
            println!(
                "    table-walk steps per session, first 10 %: {:.2}, last 10 %: {:.2}",
                r[0].1, r[9].1
            );
            if std::env::var_os("SCALE_SLICES").is_some() {
                let rate: Vec<f64> = r.iter().map(|x| x.0.round()).collect();
                println!("    sessions per CPU-second of every slice: {rate:?}");
            }
        }
    }
    if only_scale {
        return;
    }
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
