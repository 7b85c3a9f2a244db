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

    /// Starts tunnels while the concurrency window and the rate schedule allow.
    fn start_tunnels(&mut self, now: Instant) {
        while self.tuns.len() < self.total && self.in_setup < self.opts.concurrency as usize {
            if let Some(t) = self.next_start_time() {
                if t > now {
                    return;
                }
            }
            self.start_tunnel(now);
        }
    }

    fn start_tunnel(&mut self, now: Instant) {
        let slot = self.tuns.len();
        let e = slot / self.per_ep;
        while self.eps.len() <= e {
            let n = self.eps.len() as u64;
            self.eps.push(Endpoint::new(
                EndpointConfig::default(),
                self.seed
                    .wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            ));
            self.ids.push(HashMap::new());
        }
        self.first_sccrq.get_or_insert(now);
        let src = self.sources[slot % self.sources.len()];
        self.tuns.push(Tun {
            ep: e,
            id: None,
            sock: None,
            state: TState::Down,
            in_setup: false,
            started: now,
            sccrq_rtx: 0,
            sessions_opened: None,
            pending: HashSet::new(),
            up: HashSet::new(),
        });
        match self.open_socket(src, slot) {
            Ok(s) => self.tuns[slot].sock = Some(s),
            Err(err) => {
                self.tunnel_failed(format!("socket on {src}: {err}"));
                return;
            }
        }
        let mut cfg = self.tunnel_cfg.clone();
        if let IpAddr::V4(a) = src {
            cfg.router_id = u32::from(a);
        }
        match self.eps[e].connect(now, cfg) {
            Ok(id) => {
                let t = &mut self.tuns[slot];
                t.id = Some(id);
                t.state = TState::Connecting;
                t.in_setup = true;
                self.in_setup += 1;
                self.ids[e].insert(id, slot);
                self.awaiting_reply.insert(slot);
                self.drain(e, Cause::Api, now);
            }
            Err(err) => {
                // Free the socket at once: the tunnel will never use it.
                if let Some(mut s) = self.tuns[slot].sock.take() {
                    let _ = self.poll.registry().deregister(&mut s);
                }
                self.tunnel_failed(format!("connect: {err}"));
            }
        }
    }

    fn open_socket(&self, src: IpAddr, slot: usize) -> std::io::Result<UdpSocket> {
        let domain = match src {
            IpAddr::V4(_) => Domain::IPV4,
            IpAddr::V6(_) => Domain::IPV6,
        };
        // SOCK_NONBLOCK at creation: one system call less per tunnel.
        let s = Socket::new(domain, Type::DGRAM.nonblocking(), Some(Protocol::UDP))?;
        s.bind(&SocketAddr::new(src, 0).into())?;
        let mut sock = UdpSocket::from_std(s.into());
        self.poll
            .registry()
            .register(&mut sock, Token(slot), Interest::READABLE)?;
        Ok(sock)
    }

    /// A tunnel that never came up: counted with its sessions, which were never opened.
    fn tunnel_failed(&mut self, cause: String) {
        self.r.tunnels_failed += 1;
        bump(&mut self.r.tunnel_failures, cause, 1);
        self.sessions_never_opened("not opened: their tunnel did not come up", 1);
    }

    fn sessions_never_opened(&mut self, cause: &str, tunnels: u64) {
        let n = tunnels * self.per_tunnel;
        self.r.sessions_failed += n;
        bump(&mut self.r.session_failures, cause.to_string(), n);
    }

    fn finish_setup(&mut self, slot: usize) {
        let t = &mut self.tuns[slot];
        if t.in_setup {
            t.in_setup = false;
            self.in_setup -= 1;
        }
    }

    /// Reads every datagram waiting on the socket of `slot` into its endpoint.
    fn read_socket(&mut self, slot: usize) {
        let mut errors = 0;
        loop {
            let Some(t) = self.tuns.get(slot) else { return };
            let Some(sock) = t.sock.as_ref() else { return };
            let (n, from) = match sock.recv_from(&mut self.buf) {
                Ok(x) => x,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => {
                    errors += 1;
                    if errors >= MAX_RX_ERRORS {
                        return;
                    }
                    continue;
                }
            };
            let now = Instant::now();
            let e = t.ep;
            let awaiting = self.awaiting_reply.contains(&slot);
            if awaiting {
                self.snapshot_sccrq_retransmits(slot);
            }
            self.eps[e].handle(now, from, &self.buf[..n]);
            if awaiting && !self.waits_for_sccrp(slot) {
                // The server's reply was taken: every retransmission before it was an SCCRQ.
                self.awaiting_reply.remove(&slot);
                self.r.sccrq_retransmits += self.tuns[slot].sccrq_rtx;
            }
            self.drain(e, Cause::Datagram, now);
        }
    }

    /// The tunnel of `slot` still waits for the server's SCCRP.
    fn waits_for_sccrp(&self, slot: usize) -> bool {
        let t = &self.tuns[slot];
        t.id.and_then(|id| self.eps[t.ep].tunnel_info(id))
            .is_some_and(|i| i.state == TunnelState::WaitCtlReply)
    }

    /// Records the retransmissions of a tunnel still waiting for the server's SCCRP (they can
    /// only be SCCRQs).
    fn snapshot_sccrq_retransmits(&mut self, slot: usize) {
        let t = &self.tuns[slot];
        let Some(id) = t.id else { return };
        if let Some(info) = self.eps[t.ep].tunnel_info(id) {
            self.tuns[slot].sccrq_rtx = info.transport.retransmits;
        }
    }

    /// Runs the endpoints' due timers.
    fn run_timers(&mut self, now: Instant) {
        for e in 0..self.eps.len() {
            if self.eps[e].poll_timeout().is_some_and(|t| t <= now) {
                let before = self.eps[e].stats().retransmits;
                self.eps[e].handle_timeout(now);
                if self.eps[e].stats().retransmits != before {
                    let waiting: Vec<usize> = self
                        .awaiting_reply
                        .iter()
                        .copied()
                        .filter(|&s| self.tuns[s].ep == e)
                        .collect();
                    for slot in waiting {
                        self.snapshot_sccrq_retransmits(slot);
                    }
                }
                self.drain(e, Cause::Timer, now);
            }
        }
    }

    /// Sends what endpoint `e` has queued and handles its events, until both are empty.
    fn drain(&mut self, e: usize, cause: Cause, now: Instant) {
        loop {
            let mut any = false;
            while let Some(tx) = self.eps[e].poll_transmit() {
                any = true;
                self.send(e, &tx);
            }
            while let Some(ev) = self.eps[e].poll_event() {
                any = true;
                self.on_event(e, ev, cause, now);
            }
            if !any {
                return;
            }
        }
    }

    fn send(&mut self, e: usize, tx: &Transmit) {
        let sock = self.ids[e]
            .get(&tx.tunnel)
            .and_then(|&slot| self.tuns[slot].sock.as_ref());
        match sock.map(|s| s.send_to(&tx.payload, tx.destination)) {
            Some(Ok(_)) => {}
            _ => self.r.send_errors += 1,
        }
    }

    fn slot_of(&self, e: usize, tunnel: TunnelId) -> Option<usize> {
        self.ids[e].get(&tunnel).copied()
    }

    fn on_event(&mut self, e: usize, ev: Event, cause: Cause, now: Instant) {
        match ev {
            Event::TunnelUp { tunnel, .. } => {
                let Some(slot) = self.slot_of(e, tunnel) else {
                    return;
                };
                let t = &mut self.tuns[slot];
                if t.state != TState::Connecting {
                    return;
                }
                t.state = TState::Up;
                self.r.tunnels_up += 1;
                self.held_tunnels += 1;
                self.tunnel_lat.push(ms(now - t.started));
                self.last_up = Some(now);
                if self.per_tunnel == 0 {
                    self.established(now);
                    self.finish_setup(slot);
                    return;
                }
                t.sessions_opened = Some(now);
                for _ in 0..self.per_tunnel {
                    match self.eps[e].open_session(now, tunnel, self.session_cfg.clone()) {
                        Ok(sid) => {
                            self.tuns[slot].pending.insert(sid.0);
                        }
                        Err(err) => {
                            self.r.sessions_failed += 1;
                            bump(
                                &mut self.r.session_failures,
                                format!("open_session: {err}"),
                                1,
                            );
                        }
                    }
                }
                if self.tuns[slot].pending.is_empty() {
                    self.finish_setup(slot);
                }
            }
            Event::SessionUp {
                tunnel, session, ..
            } => {
                let Some(slot) = self.slot_of(e, tunnel) else {
                    return;
                };
                let t = &mut self.tuns[slot];
                if !t.pending.remove(&session.0) {
                    return;
                }
                t.up.insert(session.0);
                let opened = t.sessions_opened.unwrap_or(t.started);
                let done = t.pending.is_empty();
                self.r.sessions_up += 1;
                self.held_sessions += 1;
                self.session_lat.push(ms(now - opened));
                self.last_up = Some(now);
                self.established(now);
                if done {
                    self.finish_setup(slot);
                }
            }
            Event::SessionDown {
                tunnel,
                session,
                reason,
            } => {
                let Some(slot) = self.slot_of(e, tunnel) else {
                    return;
                };
                let t = &mut self.tuns[slot];
                if t.pending.remove(&session.0) {
                    let done = t.pending.is_empty();
                    self.r.sessions_failed += 1;
                    bump(&mut self.r.session_failures, reason_text(false, &reason), 1);
                    if done {
                        self.finish_setup(slot);
                    }
                } else if t.up.remove(&session.0) {
                    self.held_sessions -= 1;
                    if t.state != TState::Closing {
                        self.r.sessions_lost += 1;
                        bump(
                            &mut self.r.session_failures,
                            format!("lost: {}", reason_text(false, &reason)),
                            1,
                        );
                    }
                }
            }
            Event::TunnelDown { tunnel, reason } => {
                let Some(slot) = self.slot_of(e, tunnel) else {
                    return;
                };
                let state = self.tuns[slot].state;
                self.tuns[slot].state = TState::Down;
                match state {
                    TState::Connecting => {
                        if self.awaiting_reply.remove(&slot) {
                            self.r.sccrq_retransmits += self.tuns[slot].sccrq_rtx;
                        }
                        self.tunnel_failed(reason_text(true, &reason));
                    }
                    TState::Up => {
                        self.held_tunnels -= 1;
                        self.r.tunnels_lost += 1;
                        bump(
                            &mut self.r.tunnel_failures,
                            format!("lost: {}", reason_text(true, &reason)),
                            1,
                        );
                    }
                    TState::Closing => {
                        self.held_tunnels -= 1;
                        self.closing -= 1;
                        self.teardown_end = Some(now);
                        if let Some(td) = self.r.teardown.as_mut() {
                            if cause == Cause::Datagram {
                                td.stopccn_acked += 1;
                            } else {
                                td.stopccn_unacked += 1;
                            }
                        }
                    }
                    TState::Down => {}
                }
                // Sessions still pending were reported down before the tunnel.
                self.finish_setup(slot);
            }
            Event::WanError { .. } | Event::LinkInfo { .. } => {}
        }
    }

    /// One more session (tunnel, without sessions) established: a progress record every
    /// `--report-every`.
    fn established(&mut self, now: Instant) {
        self.established += 1;
        let k = self.opts.report_every;
        if k > 0 && self.established.is_multiple_of(k) {
            self.record_progress(now);
        }
    }

    fn record_progress(&mut self, now: Instant) {
        let first = self.first_sccrq.unwrap_or(self.t0);
        let (prev_t, prev_n) = self.last_progress.unwrap_or((first, 0));
        let elapsed = (now - first).as_secs_f64();
        let interval = (now - prev_t).as_secs_f64();
        let rate = |n: u64, s: f64| if s > 0.0 { n as f64 / s } else { 0.0 };
        self.r.progress.push(Progress {
            elapsed,
            sessions: self.held_sessions,
            tunnels: self.held_tunnels,
            established: self.established,
            rate: rate(self.established, elapsed),
            interval_rate: rate(self.established - prev_n, interval),
            server_rss_kb: self.opts.server_pid.and_then(sys::rss_kb),
        });
        self.last_progress = Some((now, self.established));
    }

    fn deliver_progress(&mut self, on_progress: &mut dyn FnMut(&Progress)) {
        while let Some(p) = self.r.progress.get(self.progress_delivered) {
            on_progress(p);
            self.progress_delivered += 1;
        }
    }

    /// Set-up is over: the last progress record, CPU and memory figures.
    fn end_setup(&mut self, now: Instant) {
        if self.opts.report_every > 0
            && self.last_progress.map_or(0, |(_, n)| n) != self.established
        {
            self.record_progress(now);
        }
        self.r.setup_cpu_seconds = sys::own_cpu_seconds() - self.cpu0;
        if let Some(pid) = self.opts.server_pid {
            self.r.server_setup_cpu_seconds = sys::process_cpu_seconds(pid)
                .zip(self.server_cpu0)
                .map(|(a, b)| a - b);
            self.r.server_rss_kb = sys::rss_kb(pid);
        }
    }

    fn stop_rc() -> ResultCode {
        ResultCode {
            result: result::STOPCCN_GENERAL,
            error: Some(0),
            message: Some(b"l2tp-bench teardown".to_vec()),
        }
    }

    /// Teardown: StopCCN in the next tunnels that are up, `--concurrency` at a time.
    fn close_tunnels(&mut self, now: Instant) {
        while self.close_next < self.tuns.len() && self.closing < self.opts.concurrency as usize {
            let slot = self.close_next;
            self.close_next += 1;
            self.close_one(slot, now);
        }
    }

    /// Sends StopCCN in `slot` if it is up; true if it did and now waits for the
    /// acknowledgement.
    fn close_one(&mut self, slot: usize, now: Instant) -> bool {
        let t = &self.tuns[slot];
        let (TState::Up, Some(id)) = (t.state, t.id) else {
            return false;
        };
        let e = t.ep;
        if let Some(td) = self.r.teardown.as_mut() {
            td.stopccn_sent += 1;
        }
        self.tuns[slot].state = TState::Closing;
        self.closing += 1;
        if self.eps[e].close_tunnel(now, id, Self::stop_rc()).is_err() {
            // Already gone (its TunnelDown was handled): nothing to wait for.
            self.tuns[slot].state = TState::Down;
            self.closing -= 1;
            self.held_tunnels = self.held_tunnels.saturating_sub(1);
            if let Some(td) = self.r.teardown.as_mut() {
                td.stopccn_unacked += 1;
            }
            return false;
        }
        self.drain(e, Cause::Api, now);
        true
    }

    /// The run's hard bound: whatever is unfinished is counted as failed; with `--teardown`
    /// every tunnel still up or connecting gets a StopCCN (not waited for) so that the server
    /// can clean up.
    fn hit_deadline(&mut self, now: Instant) {
        self.r.timed_out = true;
        if self.phase == Phase::Setup {
            self.end_setup(now);
        }
        let mut abandon = Vec::new();
        for slot in 0..self.tuns.len() {
            if !self.tuns[slot].in_setup {
                continue;
            }
            match self.tuns[slot].state {
                TState::Connecting => {
                    self.tunnel_failed("run timeout before the tunnel came up".into());
                    self.tuns[slot].state = TState::Down;
                    abandon.push(slot);
                }
                TState::Up => {
                    let n = self.tuns[slot].pending.len() as u64;
                    self.tuns[slot].pending.clear();
                    self.r.sessions_failed += n;
                    bump(
                        &mut self.r.session_failures,
                        "run timeout before the session came up".into(),
                        n,
                    );
                }
                TState::Closing | TState::Down => {}
            }
            self.finish_setup(slot);
        }
        let not_started = (self.total - self.tuns.len()) as u64;
        self.r.tunnels_failed += not_started;
        bump(
            &mut self.r.tunnel_failures,
            "not started before the run timeout".into(),
            not_started,
        );
        self.sessions_never_opened("not opened: run timeout", not_started);
        // Tunnels already closing are not waited for.
        if let Some(td) = self.r.teardown.as_mut() {
            td.stopccn_unacked += self.closing as u64;
        }
        if self.opts.teardown {
            self.teardown_start.get_or_insert(now);
            for slot in 0..self.tuns.len() {
                if self.close_one(slot, now) {
                    self.closing -= 1;
                    if let Some(td) = self.r.teardown.as_mut() {
                        td.stopccn_unacked += 1;
                    }
                }
            }
            for slot in abandon {
                let (e, id) = (self.tuns[slot].ep, self.tuns[slot].id);
                if let Some(id) = id {
                    let _ = self.eps[e].close_tunnel(now, id, Self::stop_rc());
                    self.drain(e, Cause::Api, now);
                }
            }
        }
        self.phase = Phase::Done;
    }

    /// Final figures.
    fn finish(mut self) -> Report {
        let now = Instant::now();
        let waiting: Vec<usize> = self.awaiting_reply.iter().copied().collect();
        for slot in waiting {
            self.snapshot_sccrq_retransmits(slot);
            self.r.sccrq_retransmits += self.tuns[slot].sccrq_rtx;
        }
        let r = &mut self.r;
        if let (Some(first), Some(last)) = (self.first_sccrq, self.last_up) {
            r.setup_seconds = (last - first).as_secs_f64();
            if r.setup_seconds > 0.0 {
                r.tunnels_per_second = r.tunnels_up as f64 / r.setup_seconds;
                r.sessions_per_second = r.sessions_up as f64 / r.setup_seconds;
            }
        }
        r.tunnel_latency = Latency::of(&mut self.tunnel_lat);
        r.session_latency = Latency::of(&mut self.session_lat);
        for ep in &self.eps {
            let s = ep.stats();
            r.retransmits += s.retransmits;
            r.dropped_rx += s.malformed + s.unknown_tunnel + s.unsupported + s.auth_failures;
            r.auth_failures += s.auth_failures;
        }
        if let (Some(td), Some(start)) = (r.teardown.as_mut(), self.teardown_start) {
            td.seconds = (self.teardown_end.unwrap_or(now).max(start) - start).as_secs_f64();
        }
        r.elapsed_seconds = (now - self.t0).as_secs_f64();
        r.cpu_seconds = sys::own_cpu_seconds() - self.cpu0;
        if let Some(pid) = self.opts.server_pid {
            r.server_cpu_seconds = sys::process_cpu_seconds(pid)
                .zip(self.server_cpu0)
                .map(|(a, b)| a - b);
            r.server_peak_rss_kb = sys::status_kb(pid, "VmHWM");
        }
        self.r
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
