//! The event loop: endpoints, one UDP socket per tunnel, epoll over all of them, the set-up
//! schedule (concurrency, rate), hold, teardown and the hard deadline.
//!
//! One thread does everything. Every socket is registered with one `mio::Poll` under its
//! tunnel's slot number; a readable socket is drained until it would block, each datagram goes
//! to the endpoint that owns the tunnel, and after every call into an endpoint its transmits
//! (sent on the socket of the tunnel they belong to) and events are drained. Events drained
//! right after a datagram are attributed to it: that is how an acknowledged StopCCN is told
//! from one whose retransmissions ran out (both are reported as `TunnelDown(Local)`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use l2tp_proto::endpoint::{
    DigestAlg, Endpoint, EndpointConfig, Event, SessionConfig, Transmit, TunnelConfig, TunnelId,
};
use l2tp_proto::tunnel::TunnelState;
use l2tp_proto::wire::{pw_type, result, Encap, ResultCode, Version};
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};
use socket2::{Domain, Protocol, Socket, Type};

use crate::report::{reason_text, Latency, Progress, Report, Teardown};
use crate::{sys, Digest, Error, Options, Pseudowire};

mod events;
mod setup;
mod teardown;

/// L2TPv2 tunnel IDs are 16-bit: at most this many tunnels per endpoint (random ID allocation
/// stays quick below half occupancy), more endpoints beyond.
const V2_TUNNELS_PER_ENDPOINT: usize = 30_000;

/// Receive buffer: control messages are small, but take any datagram whole.
const RX_BUF: usize = 65_536;

/// Consecutive receive errors on one socket before it is left until its next readiness.
const MAX_RX_ERRORS: u32 = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TState {
    /// SCCRQ sent, not up yet.
    Connecting,
    /// TunnelUp seen.
    Up,
    /// We sent StopCCN (teardown).
    Closing,
    /// TunnelDown seen, or never started.
    Down,
}

/// What made the endpoint produce the events being drained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// An API call (connect, open_session, close_tunnel).
    Api,
    /// A received datagram.
    Datagram,
    /// A timer (retransmission, HELLO, expiry).
    Timer,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Setup,
    Hold(Instant),
    Teardown,
    Done,
}

/// One tunnel of the run, in start order (its index is its socket's poll token).
struct Tun {
    ep: usize,
    id: Option<TunnelId>,
    sock: Option<UdpSocket>,
    state: TState,
    /// Counted in the concurrency window (SCCRQ sent, sessions not all resolved).
    in_setup: bool,
    started: Instant,
    /// Retransmissions seen before the server's SCCRP was taken: SCCRQ retransmissions.
    sccrq_rtx: u64,
    sessions_opened: Option<Instant>,
    /// Sessions opened, not yet up or failed.
    pending: HashSet<u32>,
    /// Sessions up.
    up: HashSet<u32>,
}

/// The running load.
pub struct Bench<'a> {
    opts: &'a Options,
    poll: Poll,
    seed: u64,
    eps: Vec<Endpoint>,
    /// Per endpoint: tunnel ID → slot.
    ids: Vec<HashMap<TunnelId, usize>>,
    tuns: Vec<Tun>,
    sources: Vec<IpAddr>,
    tunnel_cfg: TunnelConfig,
    session_cfg: SessionConfig,
    per_ep: usize,
    total: usize,
    per_tunnel: u64,
    phase: Phase,
    in_setup: usize,
    /// Slots still waiting for the server's SCCRP (their retransmissions are SCCRQs).
    awaiting_reply: HashSet<usize>,
    closing: usize,
    close_next: usize,
    t0: Instant,
    deadline: Instant,
    first_sccrq: Option<Instant>,
    last_up: Option<Instant>,
    teardown_start: Option<Instant>,
    teardown_end: Option<Instant>,
    tunnel_lat: Vec<f64>,
    session_lat: Vec<f64>,
    established: u64,
    held_sessions: u64,
    held_tunnels: u64,
    last_progress: Option<(Instant, u64)>,
    progress_delivered: usize,
    cpu0: f64,
    server_cpu0: Option<f64>,
    buf: Vec<u8>,
    r: Report,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn bump(map: &mut BTreeMap<String, u64>, cause: String, n: u64) {
    if n > 0 {
        *map.entry(cause).or_insert(0) += n;
    }
}

impl<'a> Bench<'a> {
    /// Prepares a run of `opts` (already validated).
    pub fn new(opts: &'a Options) -> std::io::Result<Bench<'a>> {
        let version = if opts.version == 3 {
            Version::V3
        } else {
            Version::V2
        };
        let mut tc = TunnelConfig::new(version, Encap::Udp, opts.server);
        tc.host_name = b"l2tp-bench".to_vec();
        tc.window_size = opts.window;
        tc.hello_interval = opts.hello.map(Duration::from_secs_f64);
        tc.retry_timeout = opts.retry_timeout();
        tc.max_retries = opts.retries;
        tc.secret = opts.secret.as_ref().map(|s| s.as_bytes().to_vec());
        tc.digest = opts.digest.map(|d| match d {
            Digest::Md5 => DigestAlg::HmacMd5,
            Digest::Sha1 => DigestAlg::HmacSha1,
        });
        let session_cfg = SessionConfig {
            pseudowire: match opts.pseudowire {
                Pseudowire::Ppp => pw_type::PPP,
                Pseudowire::Eth => pw_type::ETHERNET,
            },
            ..SessionConfig::default()
        };
        let now = Instant::now();
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ (u64::from(std::process::id()) << 32);
        let r = Report {
            server: opts.server.to_string(),
            version: opts.version,
            tunnels_requested: u64::from(opts.tunnels),
            sessions_requested: opts.sessions_requested(),
            teardown: opts.teardown.then(Teardown::default),
            ..Report::default()
        };
        Ok(Bench {
            opts,
            poll: Poll::new()?,
            seed,
            eps: Vec::new(),
            ids: Vec::new(),
            tuns: Vec::with_capacity(opts.tunnels as usize),
            sources: opts.source_addresses(),
            tunnel_cfg: tc,
            session_cfg,
            per_ep: match version {
                Version::V2 => V2_TUNNELS_PER_ENDPOINT,
                Version::V3 => usize::MAX,
            },
            total: opts.tunnels as usize,
            per_tunnel: u64::from(opts.sessions_per_tunnel),
            phase: Phase::Setup,
            in_setup: 0,
            awaiting_reply: HashSet::new(),
            closing: 0,
            close_next: 0,
            t0: now,
            deadline: now + Duration::from_secs_f64(opts.timeout),
            first_sccrq: None,
            last_up: None,
            teardown_start: None,
            teardown_end: None,
            tunnel_lat: Vec::with_capacity(opts.tunnels as usize),
            session_lat: Vec::with_capacity(opts.sessions_requested().min(1 << 24) as usize),
            established: 0,
            held_sessions: 0,
            held_tunnels: 0,
            last_progress: None,
            progress_delivered: 0,
            cpu0: sys::own_cpu_seconds(),
            server_cpu0: opts.server_pid.and_then(sys::process_cpu_seconds),
            buf: vec![0; RX_BUF],
            r,
        })
    }

    /// Runs to the end (everything done, or the deadline) and returns the report.
    pub fn run(mut self, on_progress: &mut dyn FnMut(&Progress)) -> Result<Report, Error> {
        let mut events = Events::with_capacity(1024);
        let mut ready: Vec<usize> = Vec::with_capacity(1024);
        loop {
            let now = Instant::now();
            if now >= self.deadline {
                self.hit_deadline(now);
                break;
            }
            self.run_timers(now);
            self.advance(now);
            self.deliver_progress(on_progress);
            if self.phase == Phase::Done {
                break;
            }
            let wake = self.next_wake();
            let timeout = wake.saturating_duration_since(Instant::now());
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != ErrorKind::Interrupted {
                    return Err(Error::Setup(format!("epoll: {e}")));
                }
            }
            ready.clear();
            ready.extend(events.iter().map(|ev| ev.token().0));
            for &slot in &ready {
                self.read_socket(slot);
            }
        }
        self.deliver_progress(on_progress);
        Ok(self.finish())
    }

    /// Moves through the phases as far as `now` allows.
    fn advance(&mut self, now: Instant) {
        loop {
            match self.phase {
                Phase::Setup => {
                    self.start_tunnels(now);
                    if self.tuns.len() < self.total || self.in_setup > 0 {
                        return;
                    }
                    self.end_setup(now);
                    self.phase = Phase::Hold(now + Duration::from_secs_f64(self.opts.hold));
                }
                Phase::Hold(until) => {
                    if now < until {
                        return;
                    }
                    if self.opts.teardown {
                        self.teardown_start = Some(now);
                        self.phase = Phase::Teardown;
                    } else {
                        self.phase = Phase::Done;
                    }
                }
                Phase::Teardown => {
                    self.close_tunnels(now);
                    if self.close_next < self.tuns.len() || self.closing > 0 {
                        return;
                    }
                    self.phase = Phase::Done;
                }
                Phase::Done => return,
            }
        }
    }

    /// When the loop must wake up without a datagram.
    fn next_wake(&self) -> Instant {
        let mut wake = self.deadline;
        for ep in &self.eps {
            if let Some(t) = ep.poll_timeout() {
                wake = wake.min(t);
            }
        }
        match self.phase {
            Phase::Setup => {
                if let Some(t) = self.next_start_time() {
                    wake = wake.min(t);
                }
            }
            Phase::Hold(until) => wake = wake.min(until),
            Phase::Teardown | Phase::Done => {}
        }
        wake
    }

    /// With `--rate`: when the next tunnel may start (if the concurrency window has room).
    fn next_start_time(&self) -> Option<Instant> {
        if self.tuns.len() >= self.total
            || self.in_setup >= self.opts.concurrency as usize
            || self.opts.rate <= 0.0
        {
            return None;
        }
        let first = self.first_sccrq?;
        Some(first + Duration::from_secs_f64(self.tuns.len() as f64 / self.opts.rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// A minimal LNS on the core itself, in a thread: accepts v2 and v3 tunnels and sessions.
    struct MiniLns {
        addr: SocketAddr,
        stop: Arc<AtomicBool>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl MiniLns {
        fn start() -> MiniLns {
            Self::start_on("127.0.0.1:0").unwrap()
        }

        fn start_on(addr: &str) -> std::io::Result<MiniLns> {
            let sock = std::net::UdpSocket::bind(addr)?;
            sock.set_read_timeout(Some(Duration::from_millis(5)))
                .unwrap();
            let addr = sock.local_addr().unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let flag = stop.clone();
            let thread = std::thread::spawn(move || {
                let cfg = EndpointConfig {
                    accept_v2_incoming: true,
                    accept_v3_incoming: true,
                    ..EndpointConfig::default()
                };
                let mut ep = Endpoint::new(cfg, 7);
                let mut buf = vec![0u8; RX_BUF];
                while !flag.load(Ordering::Relaxed) {
                    if let Ok((n, from)) = sock.recv_from(&mut buf) {
                        ep.handle(Instant::now(), from, &buf[..n]);
                    }
                    let now = Instant::now();
                    if ep.poll_timeout().is_some_and(|t| t <= now) {
                        ep.handle_timeout(now);
                    }
                    while let Some(tx) = ep.poll_transmit() {
                        let _ = sock.send_to(&tx.payload, tx.destination);
                    }
                    while ep.poll_event().is_some() {}
                }
            });
            Ok(MiniLns {
                addr,
                stop,
                thread: Some(thread),
            })
        }
    }

    impl Drop for MiniLns {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    fn opts(server: SocketAddr, version: u8) -> Options {
        let mut o = Options::new(server);
        o.version = version;
        o.tunnels = 10;
        o.sessions_per_tunnel = 3;
        o.concurrency = 4;
        o.sources = 3;
        o.teardown = true;
        o.timeout = 30.0;
        o.report_every = 7;
        o
    }

    fn run_with(o: &Options, per_ep: Option<usize>) -> Report {
        let mut b = Bench::new(o).unwrap();
        if let Some(n) = per_ep {
            b.per_ep = n;
        }
        b.run(&mut |_| {}).unwrap()
    }

    fn assert_all_good(r: &Report) {
        assert!(r.ok(), "{}", r.text());
        assert_eq!((r.tunnels_up, r.sessions_up), (10, 30));
        let td = r.teardown.as_ref().unwrap();
        assert_eq!((td.stopccn_sent, td.stopccn_acked), (10, 10));
        assert_eq!(r.tunnel_latency.count, 10);
        assert_eq!(r.session_latency.count, 30);
        let est: Vec<u64> = r.progress.iter().map(|p| p.established).collect();
        assert_eq!(est, [7, 14, 21, 28, 30]);
    }

    #[test]
    fn v2_tunnels_spread_over_several_endpoints() {
        let lns = MiniLns::start();
        let r = run_with(&opts(lns.addr, 2), Some(3));
        assert_all_good(&r);
    }

    #[test]
    fn v3_tunnels_and_sessions() {
        let lns = MiniLns::start();
        let mut o = opts(lns.addr, 3);
        o.pseudowire = Pseudowire::Eth;
        let r = run_with(&o, None);
        assert_all_good(&r);
    }

    #[test]
    fn ipv6_loopback() {
        let Ok(lns) = MiniLns::start_on("[::1]:0") else {
            eprintln!("skipped: no IPv6 loopback");
            return;
        };
        let mut o = opts(lns.addr, 2);
        o.sources = 1;
        assert_all_good(&run_with(&o, None));
    }

    #[test]
    fn rate_spaces_the_tunnel_starts() {
        let lns = MiniLns::start();
        let mut o = opts(lns.addr, 2);
        o.rate = 40.0;
        o.report_every = 0;
        let t = Instant::now();
        let r = run_with(&o, None);
        assert!(r.ok(), "{}", r.text());
        // Ten starts at 40/s: the last one 225 ms after the first.
        assert!(
            t.elapsed() >= Duration::from_millis(220),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn hold_keeps_everything_up_and_tunnels_without_sessions_count_as_progress() {
        let lns = MiniLns::start();
        let mut o = opts(lns.addr, 2);
        o.sessions_per_tunnel = 0;
        o.hold = 0.3;
        o.hello = Some(0.1);
        o.report_every = 5;
        let t = Instant::now();
        let r = run_with(&o, None);
        assert!(r.ok(), "{}", r.text());
        assert!(t.elapsed() >= Duration::from_millis(300));
        assert_eq!((r.tunnels_up, r.sessions_requested), (10, 0));
        let est: Vec<u64> = r.progress.iter().map(|p| p.established).collect();
        assert_eq!(est, [5, 10]);
        assert_eq!(r.progress[1].tunnels, 10);
    }
}
