//! The endpoint: one per local address family/socket set. Demultiplexes datagrams to tunnels,
//! allocates tunnel and session IDs, accepts new peers, and owns every tunnel's transport and
//! state machines.
//!
//! Interface in the quinn-proto style (sans-IO): the caller feeds datagrams with
//! [`Endpoint::handle`] and time with [`Endpoint::handle_timeout`], and drains
//! [`Endpoint::poll_transmit`], [`Endpoint::poll_timeout`] and [`Endpoint::poll_event`] after
//! every call.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::ops::Bound;
use std::time::Instant;

use rand::rngs::SmallRng;
use rand::SeedableRng;

pub use crate::auth::DigestAlg;
use crate::table::{self, IdMap, Steps};
use crate::tunnel::{Ctx, OutMsg, Tunnel, TunnelEnv, TunnelInfo, TunnelState};
use crate::wire::{
    self, CallErrors, ControlMessage, Encap, MessageType, Peek, ResultCode, Version,
};

pub use crate::config::*;
pub use crate::shared::*;

/// The sans-IO L2TP endpoint: all tunnels of one socket set.
///
/// Feed it datagrams ([`Endpoint::handle`] for UDP, [`Endpoint::handle_encap`] for either
/// encapsulation) and time ([`Endpoint::handle_timeout`]), call the API ([`Endpoint::connect`],
/// [`Endpoint::open_session`], …), and after every call drain [`Endpoint::poll_transmit`],
/// [`Endpoint::poll_event`] and re-arm the timer from [`Endpoint::poll_timeout`].
///
/// Sessions may be opened as soon as [`Endpoint::connect`] returns: the ICRQ is sent right
/// after the SCCCN (as xl2tpd does), without waiting for `TunnelUp`.
///
/// L2TPv3 session IDs are unique across all tunnels of the endpoint (RFC 3931 §4.1: the data
/// plane demultiplexes on the Session ID alone).
///
/// Cost: every datagram, timer and API call on one tunnel or session costs O(1) expected
/// (hash lookups, ID allocation) or O(log n) (ordered timers, tie-breaker index) in the number
/// of tunnels and sessions held, plus work proportional to what it reports or removes
/// (closing a tunnel visits its sessions; a tunnel's SCCRP sends the calls opened before it,
/// once). Only [`Endpoint::tunnel_ids`], [`Endpoint::session_counts`] and
/// [`Endpoint::tunnel_info`] walk a table (status and leak checks); [`Endpoint::counts`] and
/// [`Endpoint::poll_accepted`] are what a runtime uses instead.
#[derive(Debug)]
pub struct Endpoint {
    config: EndpointConfig,
    rng: SmallRng,
    tunnels: IdMap<Tunnel>,
    /// Accepted tunnels by (peer address, peer's Assigned Tunnel ID): catches retransmitted
    /// SCCRQs.
    incoming: HashMap<(SocketAddr, u32), u32>,
    /// Our tunnels whose SCCRQ is unanswered, by (version, peer IP), each set ordered by
    /// (our Tie Breaker, local ID): an incoming SCCRQ finds the ones it crosses in O(log n)
    /// (RFC 2661 §5.1, RFC 3931 §5.4.3).
    awaiting_sccrp: AwaitingIndex,
    /// Accepted tunnels not yet yielded by [`Endpoint::poll_accepted`]: (local ID, serial).
    /// Entries of tunnels that are gone are skipped, and compacted away once they outnumber
    /// the live ones, so the queue stays within twice the live tunnels.
    accepted: VecDeque<(u32, u64)>,
    /// Entries of `accepted` whose tunnel still exists and was not yielded yet.
    accepted_live: usize,
    /// Serial for the next tunnel created.
    next_serial: u64,
    /// Sessions over all tunnels, kept up to date after every tunnel operation.
    session_total: usize,
    /// Closed records held (state `Closed`), kept up to date after every tunnel operation.
    lingering: usize,
    /// Half-open tunnels (accepted, never established) by (serial, local ID): creation order,
    /// so the oldest is evicted first in O(log n).
    half_open: BTreeSet<(u64, u32)>,
    /// Tunnels peers opened, by (canonical) peer IP, closed records not counted; an entry
    /// leaves when its count reaches 0.
    per_peer: HashMap<IpAddr, usize>,
    /// One timer per tunnel, ordered by deadline.
    timers: BTreeSet<(Instant, u32)>,
    out: VecDeque<OutMsg>,
    events: VecDeque<Event>,
    stats: EndpointStats,
    v3_sessions: HashSet<u32>,
    /// Table walks and ID probes (see [`crate::table`]).
    steps: Steps,
}

/// Builds the shared context from the endpoint's fields (a macro so that `self.tunnels` stays
/// borrowable separately).
macro_rules! ctx {
    ($s:ident, $now:expr) => {
        Ctx {
            now: $now,
            out: &mut $s.out,
            events: &mut $s.events,
            stats: &mut $s.stats,
            rng: &mut $s.rng,
            v3_sessions: &mut $s.v3_sessions,
        }
    };
}

// After `ctx!`, which they use.
mod admission;
mod checks;

impl Endpoint {
    /// A new endpoint; all randomness (IDs, challenges, nonces) comes from `rng_seed`.
    pub fn new(config: EndpointConfig, rng_seed: u64) -> Self {
        let steps = Steps::default();
        Endpoint {
            config,
            rng: SmallRng::seed_from_u64(rng_seed),
            tunnels: IdMap::new(steps.clone()),
            incoming: HashMap::new(),
            awaiting_sccrp: HashMap::new(),
            accepted: VecDeque::new(),
            accepted_live: 0,
            next_serial: 0,
            session_total: 0,
            lingering: 0,
            half_open: BTreeSet::new(),
            per_peer: HashMap::new(),
            timers: BTreeSet::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            stats: EndpointStats::default(),
            v3_sessions: HashSet::new(),
            steps,
        }
    }

    /// The endpoint's configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// A random free local tunnel ID: 16-bit for v2, 32-bit for v3 (both non-zero). O(1)
    /// expected; bounded probing only when the space is nearly full (see
    /// [`table::alloc_id`]).
    fn alloc_tunnel_id(&mut self, version: Version) -> Result<u32, ApiError> {
        let max = match version {
            Version::V2 => 0xffff,
            Version::V3 => u32::MAX,
        };
        let tunnels = &self.tunnels;
        table::alloc_id(&mut self.rng, max, &self.steps, |id| {
            tunnels.contains_key(&id)
        })
        .ok_or(ApiError::InvalidConfig("no free tunnel ID"))
    }

    fn check_tunnel_cfg(&mut self, cfg: &TunnelConfig) -> Result<u32, ApiError> {
        if cfg.version == Version::V2 && cfg.encap != Encap::Udp {
            return Err(ApiError::InvalidConfig("L2TPv2 runs over UDP only"));
        }
        if cfg.version == Version::V3 && cfg.digest.is_some() && cfg.secret.is_none() {
            return Err(ApiError::InvalidConfig("message digest needs a secret"));
        }
        match cfg.local_tunnel_id {
            Some(0) => Err(ApiError::InvalidConfig("tunnel ID must be non-zero")),
            Some(id) if cfg.version == Version::V2 && id > 0xffff => {
                Err(ApiError::InvalidConfig("v2 tunnel ID must be 1..=65535"))
            }
            Some(id) if self.take_over_closed_record(id) => Ok(id),
            Some(id) if self.tunnels.contains_key(&id) => Err(ApiError::IdInUse(id)),
            Some(id) => Ok(id),
            None => self.alloc_tunnel_id(cfg.version),
        }
    }

    /// Drops the closed record holding local ID `id`, if that is what holds it: a tunnel
    /// configured with a fixed ID can be re-created at once after it was closed (the record
    /// was reported down already; the peer's late messages for it go unacknowledged). True if
    /// one was dropped.
    fn take_over_closed_record(&mut self, id: u32) -> bool {
        match self.tunnels.get_mut(&id) {
            Some(t) if t.state == TunnelState::Closed => {
                t.finished = true;
                self.refresh(id);
                true
            }
            _ => false,
        }
    }

    fn env(&self) -> TunnelEnv {
        TunnelEnv {
            closed_hold: self.config.closed_hold,
            session_defaults: self.config.session_defaults.clone(),
            steps: self.steps.clone(),
        }
    }

    /// Adds a new tunnel and registers it in the indexes.
    fn insert_tunnel(&mut self, id: u32, mut t: Tunnel) {
        t.marks.serial = self.next_serial;
        self.next_serial += 1;
        self.tunnels.insert(id, t);
        self.refresh(id);
    }

    /// Starts a control connection to `cfg.peer` (sends SCCRQ): L2TPv2 over UDP, L2TPv3 over
    /// UDP or IP.
    pub fn connect(&mut self, now: Instant, cfg: TunnelConfig) -> Result<TunnelId, ApiError> {
        let id = self.check_tunnel_cfg(&cfg)?;
        let env = self.env();
        let t = Tunnel::connect(id, cfg, env, &mut ctx!(self, now));
        self.insert_tunnel(id, t);
        Ok(TunnelId(id))
    }

    /// Adds a quiescent tunnel: no SCCRQ exchange, both ends configured with each other's IDs
    /// (`cfg.local_tunnel_id`, `cfg.peer_tunnel_id`). `TunnelUp` is reported at once; the
    /// tunnel only acknowledges messages and sends HELLO (`cfg.hello_interval`; `None`: none,
    /// go-l2tp's quiescent tunnel without `hello_timeout`), and reports
    /// `TunnelDown(Timeout)` when the peer stops acknowledging. No sessions.
    pub fn add_quiescent(&mut self, now: Instant, cfg: TunnelConfig) -> Result<TunnelId, ApiError> {
        let Some(peer_id) = cfg.peer_tunnel_id.filter(|&p| p != 0) else {
            return Err(ApiError::InvalidConfig(
                "quiescent tunnel needs peer_tunnel_id",
            ));
        };
        if cfg.local_tunnel_id.is_none() {
            return Err(ApiError::InvalidConfig(
                "quiescent tunnel needs local_tunnel_id",
            ));
        }
        let id = self.check_tunnel_cfg(&cfg)?;
        let env = self.env();
        let t = Tunnel::quiescent(id, peer_id, cfg, env, &mut ctx!(self, now));
        self.insert_tunnel(id, t);
        Ok(TunnelId(id))
    }

    /// Runs `f` on a tunnel with the shared context, then brings the endpoint's indexes and
    /// timer up to date ([`Endpoint::refresh`]).
    fn with_tunnel<R>(
        &mut self,
        now: Instant,
        id: u32,
        f: impl FnOnce(&mut Tunnel, &mut Ctx) -> R,
    ) -> Option<R> {
        let t = self.tunnels.get_mut(&id)?;
        let mut ctx = Ctx {
            now,
            out: &mut self.out,
            events: &mut self.events,
            stats: &mut self.stats,
            rng: &mut self.rng,
            v3_sessions: &mut self.v3_sessions,
        };
        let r = f(t, &mut ctx);
        self.refresh(id);
        Some(r)
    }

    /// After any change to a tunnel: updates the tie-breaker index, the session total and the
    /// timer from what the tunnel is now, and removes a finished tunnel with its index entries.
    /// O(log n).
    fn refresh(&mut self, id: u32) {
        let Some(t) = self.tunnels.get_mut(&id) else {
            return;
        };
        let awaiting = (!t.finished && t.awaiting_sccrp()).then(|| (t.cfg.version, t.peer.ip()));
        if t.marks.awaiting != awaiting {
            let entry = (t.cfg.tie_breaker, id);
            if let Some(key) = t.marks.awaiting {
                if let Some(set) = self.awaiting_sccrp.get_mut(&key) {
                    set.remove(&entry);
                    if set.is_empty() {
                        self.awaiting_sccrp.remove(&key);
                    }
                }
            }
            if let Some(key) = awaiting {
                self.awaiting_sccrp.entry(key).or_default().insert(entry);
            }
            t.marks.awaiting = awaiting;
        }
        let n = t.session_count();
        self.session_total = self.session_total - t.marks.sessions + n;
        t.marks.sessions = n;
        let lingering = !t.finished && t.state == TunnelState::Closed;
        if t.marks.lingering != lingering {
            t.marks.lingering = lingering;
            if lingering {
                self.lingering += 1;
            } else {
                self.lingering -= 1;
            }
        }
        let half_open = t.half_open();
        if t.marks.half_open != half_open {
            t.marks.half_open = half_open;
            if half_open {
                self.half_open.insert((t.marks.serial, id));
            } else {
                self.half_open.remove(&(t.marks.serial, id));
            }
        }
        let peer = t.counted_peer();
        if t.marks.peer_counted != peer {
            if let Some(ip) = t.marks.peer_counted {
                if let Some(n) = self.per_peer.get_mut(&ip) {
                    *n -= 1;
                    if *n == 0 {
                        self.per_peer.remove(&ip);
                    }
                }
            }
            if let Some(ip) = peer {
                *self.per_peer.entry(ip).or_default() += 1;
            }
            t.marks.peer_counted = peer;
        }
        let next = t.next_timeout();
        if t.finished {
            if let Some(at) = t.marks.scheduled.take() {
                self.timers.remove(&(at, id));
            }
            if let Some(key) = t.marks.incoming {
                if self.incoming.get(&key) == Some(&id) {
                    self.incoming.remove(&key);
                }
            }
            let queued = t.marks.accept_queued;
            self.session_total -= t.marks.sessions;
            self.tunnels.remove(&id);
            if queued {
                self.accepted_live -= 1;
                self.compact_accepted();
            }
            return;
        }
        if t.marks.scheduled != next {
            if let Some(at) = t.marks.scheduled {
                self.timers.remove(&(at, id));
            }
            if let Some(at) = next {
                self.timers.insert((at, id));
            }
            t.marks.scheduled = next;
        }
    }

    /// Opens a session (incoming call, ICRQ) in a tunnel. Allowed from the moment the tunnel
    /// exists: before the peer's SCCRP the ICRQ waits and goes out right after the SCCCN.
    /// Fails with [`ApiError::NotEstablished`] once the tunnel is closing.
    pub fn open_session(
        &mut self,
        now: Instant,
        tunnel: TunnelId,
        cfg: SessionConfig,
    ) -> Result<SessionId, ApiError> {
        self.with_tunnel(now, tunnel.0, |t, ctx| t.open_session(ctx, cfg, false))
            .ok_or(ApiError::NoSuchTunnel(tunnel))?
            .map(SessionId)
    }

    /// Opens an outgoing call (OCRQ; RFC 2661 §5.2.1 / §7.5, usually sent by the LNS): the peer
    /// answers OCRP and, once its call is connected, OCCN, which brings `SessionUp`. The peer
    /// side answers automatically (OCRP then OCCN) and reports `SessionUp` when its OCCN is
    /// acknowledged. Same timing rules as [`Endpoint::open_session`].
    pub fn open_outgoing_call(
        &mut self,
        now: Instant,
        tunnel: TunnelId,
        cfg: SessionConfig,
    ) -> Result<SessionId, ApiError> {
        self.with_tunnel(now, tunnel.0, |t, ctx| t.open_session(ctx, cfg, true))
            .ok_or(ApiError::NoSuchTunnel(tunnel))?
            .map(SessionId)
    }

    /// Closes a session: sends CDN with `rc` and reports `SessionDown(Local(rc))` at once.
    pub fn close_session(
        &mut self,
        now: Instant,
        tunnel: TunnelId,
        session: SessionId,
        rc: ResultCode,
    ) -> Result<(), ApiError> {
        let rc = encodable(rc);
        self.with_tunnel(now, tunnel.0, |t, ctx| t.close_session(ctx, session.0, rc))
            .ok_or(ApiError::NoSuchTunnel(tunnel))?
    }

    /// Sends WAN-Error-Notify (RFC 2661 §6.15, RFC 3931 §6.13) for an established session:
    /// the cumulative error counters of its circuit.
    pub fn send_wan_error_notify(
        &mut self,
        now: Instant,
        tunnel: TunnelId,
        session: SessionId,
        errors: CallErrors,
    ) -> Result<(), ApiError> {
        self.with_tunnel(now, tunnel.0, |t, ctx| {
            t.send_session_info(ctx, session.0, Some(errors), None, None)
        })
        .ok_or(ApiError::NoSuchTunnel(tunnel))?
    }

    /// Sends Set-Link-Info (RFC 2661 §6.16: ACCM; RFC 3931 §6.14: Circuit Status) for an
    /// established session.
    pub fn send_set_link_info(
        &mut self,
        now: Instant,
        tunnel: TunnelId,
        session: SessionId,
        accm: Option<(u32, u32)>,
        circuit_status: Option<u16>,
    ) -> Result<(), ApiError> {
        self.with_tunnel(now, tunnel.0, |t, ctx| {
            t.send_session_info(ctx, session.0, None, accm, circuit_status)
        })
        .ok_or(ApiError::NoSuchTunnel(tunnel))?
    }

    /// Closes a tunnel: sends StopCCN with `rc`, reports its sessions down at once and
    /// `TunnelDown(Local(rc))` when the StopCCN is acknowledged or retransmissions run out.
    /// Once acknowledged, the tunnel's record stays for [`EndpointConfig::closed_hold`] to
    /// acknowledge the peer's late messages ([`Endpoint::lingering`]). Closing a tunnel that
    /// is already closing is a no-op.
    pub fn close_tunnel(
        &mut self,
        now: Instant,
        tunnel: TunnelId,
        rc: ResultCode,
    ) -> Result<(), ApiError> {
        let rc = encodable(rc);
        self.with_tunnel(now, tunnel.0, |t, ctx| t.close(ctx, rc))
            .ok_or(ApiError::NoSuchTunnel(tunnel))
    }

    /// Processes one received UDP datagram from `remote`; see [`Endpoint::handle_encap`].
    pub fn handle(&mut self, now: Instant, remote: SocketAddr, datagram: &[u8]) {
        self.handle_encap(now, remote, Encap::Udp, datagram)
    }

    /// Processes one received datagram: UDP payload, or for [`Encap::Ip`] the IP payload
    /// (protocol 115, starting with the 4-byte Session ID; `remote`'s port is ignored — pass
    /// 0). Never fails: malformed datagrams, datagrams for unknown tunnels, datagrams for a
    /// tunnel from an address or port other than its peer's (RFC 2661 §8.1), StopCCNs naming
    /// another tunnel than the peer's, and v3 messages with a missing or wrong Message Digest
    /// are counted in [`EndpointStats`] and dropped; data messages are ignored (the kernel
    /// handles data).
    pub fn handle_encap(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        encap: Encap,
        datagram: &[u8],
    ) {
        let (version, tunnel_id) = match wire::peek(datagram, encap) {
            Err(_) => {
                self.stats.malformed += 1;
                return;
            }
            Ok(Peek::Data { .. }) => {
                self.stats.data_ignored += 1;
                return;
            }
            Ok(Peek::Control {
                version, tunnel_id, ..
            }) => (version, tunnel_id),
        };
        if !self.check_source(tunnel_id, remote) {
            return;
        }
        let secret = if tunnel_id == 0 {
            self.config.secret.as_deref()
        } else {
            match self.tunnels.get(&tunnel_id) {
                Some(t) if t.cfg.version != version || t.cfg.encap != encap => {
                    self.stats.unsupported += 1;
                    return;
                }
                Some(t) => t.cfg.secret.as_deref(),
                None => {
                    self.stats.unknown_tunnel += 1;
                    return;
                }
            }
        };
        let msg = match ControlMessage::parse(datagram, encap, secret) {
            Ok(msg) => msg,
            Err(_) => {
                self.stats.malformed += 1;
                return;
            }
        };
        if version == Version::V3 {
            let raw = match encap {
                Encap::Udp => datagram,
                Encap::Ip => datagram.get(wire::IP_SESSION_ID_LEN..).unwrap_or_default(),
            };
            let ok = if tunnel_id == 0 {
                self.verify_new_sccrq(remote, raw, &msg)
            } else {
                self.tunnels
                    .get(&tunnel_id)
                    .is_none_or(|t| t.verify(raw, &msg))
            };
            if !ok {
                self.stats.auth_failures += 1;
                return;
            }
        }
        self.dispatch(now, remote, encap, msg);
    }

    /// Processes one decoded control message (what [`Endpoint::handle`] does after parsing,
    /// without the Message Digest check). Exposed for tests and tools that work on message
    /// values.
    #[doc(hidden)]
    pub fn handle_message(&mut self, now: Instant, remote: SocketAddr, msg: ControlMessage) {
        self.dispatch(now, remote, Encap::Udp, msg)
    }

    /// Runs every timer due at `now` (retransmissions, HELLO, closed-record expiry).
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<u32> = self
            .timers
            .range(..=(now, u32::MAX))
            .map(|&(_, id)| id)
            .collect();
        for id in due {
            self.with_tunnel(now, id, |t, ctx| t.handle_timeout(ctx));
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        while let Some(o) = self.out.pop_front() {
            let secret = o.auth.as_ref().and_then(|a| a.secret.as_deref());
            match o.msg.to_bytes(o.encap, secret) {
                Ok(mut payload) => {
                    if let Some(a) = &o.auth {
                        let off = match o.encap {
                            Encap::Udp => 0,
                            Encap::Ip => wire::IP_SESSION_ID_LEN,
                        };
                        let sccrq = o.msg.message_type() == Some(MessageType::Sccrq);
                        if let Some(raw) = payload.get_mut(off..) {
                            if !a.sign(raw, sccrq) {
                                self.stats.encode_errors += 1;
                                continue;
                            }
                        }
                    }
                    return Some(Transmit {
                        tunnel: TunnelId(o.tunnel),
                        destination: o.dest,
                        encap: o.encap,
                        payload,
                    });
                }
                Err(_) => self.stats.encode_errors += 1,
            }
        }
        None
    }

    /// The next message to send, not encoded: (tunnel, destination, message). Exposed for
    /// tests that work on message values.
    #[doc(hidden)]
    pub fn poll_transmit_message(&mut self) -> Option<(TunnelId, SocketAddr, ControlMessage)> {
        self.out
            .pop_front()
            .map(|o| (TunnelId(o.tunnel), o.dest, o.msg))
    }

    /// When [`Endpoint::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|&(at, _)| at)
    }

    /// The next event for the runtime.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Counters.
    pub fn stats(&self) -> EndpointStats {
        self.stats
    }

    /// Local IDs of all tunnels (including closing ones and closed records), sorted. Walks
    /// every tunnel: O(n log n), for status and tests; [`Endpoint::poll_accepted`] reports
    /// new tunnels and [`Endpoint::counts`] how many there are, in O(1).
    pub fn tunnel_ids(&self) -> Vec<TunnelId> {
        let mut v: Vec<TunnelId> = self.tunnels.scan().map(|(id, _)| TunnelId(id)).collect();
        v.sort_unstable();
        v
    }

    /// Status of one tunnel and its sessions: O(sessions of the tunnel).
    pub fn tunnel_info(&self, tunnel: TunnelId) -> Option<TunnelInfo> {
        self.tunnels.get(&tunnel.0).map(|t| t.info())
    }

    /// Sessions held over all tunnels, and v3 session IDs reserved (for leak checks: both are
    /// 0 once every tunnel is gone). Recounts, walking every tunnel: O(n), for tests and leak
    /// checks; [`Endpoint::counts`] is the O(1) figure.
    pub fn session_counts(&self) -> (usize, usize) {
        (
            self.tunnels.scan().map(|(_, t)| t.session_count()).sum(),
            self.v3_sessions.len(),
        )
    }

    /// (tunnels, sessions) held now, in O(1): tunnels in any state (including closing ones
    /// and closed records kept to re-acknowledge a StopCCN), sessions in any state over all
    /// of them. Kept up to date after every operation.
    pub fn counts(&self) -> (usize, usize) {
        (self.tunnels.len(), self.session_total)
    }

    /// Half-open tunnels held now (accepted for a peer's SCCRQ, never established), in O(1);
    /// at most [`EndpointConfig::max_half_open`].
    pub fn half_open(&self) -> usize {
        self.half_open.len()
    }

    /// Closed records held now, in O(1): tunnels already reported down (the peer's StopCCN
    /// received, or ours acknowledged) whose record stays for [`EndpointConfig::closed_hold`]
    /// only to acknowledge the peer's late messages — a retransmitted StopCCN, or the peer's
    /// own StopCCN or CDN that crossed ours. Included in [`Endpoint::counts`].
    ///
    /// A runtime shutting down after closing every tunnel has its `TunnelDown`s as soon as
    /// the StopCCNs are acknowledged; while this is non-zero it may keep reading its sockets
    /// and sending what the endpoint queues for a short, bounded while (a couple of seconds,
    /// not the full hold time) so that a peer whose StopCCN crossed ours gets its
    /// acknowledgement instead of retransmitting into a closed port. A new tunnel asked for
    /// with an explicit local ID held by a closed record takes that ID over (the record is
    /// dropped).
    pub fn lingering(&self) -> usize {
        self.lingering
    }

    /// Table entries visited by whole-table walks plus ID allocation probes, since the
    /// endpoint was created. A debugging figure for tests that pin down that per-operation
    /// work does not grow with the number of tunnels and sessions; not a stable interface.
    #[doc(hidden)]
    pub fn scan_steps(&self) -> u64 {
        self.steps.get()
    }
}

/// Tunnels awaiting SCCRP by (version, peer IP), each set ordered by (Tie Breaker, local ID).
type AwaitingIndex = HashMap<(Version, IpAddr), BTreeSet<(Option<[u8; 8]>, u32)>>;

/// A Result Code AVP can carry a message only after an error code (RFC 2661 §4.4.2): a caller's
/// message without one gets error code 0 ("no general error") so that it can be sent.
fn encodable(mut rc: ResultCode) -> ResultCode {
    if rc.message.is_some() && rc.error.is_none() {
        rc.error = Some(crate::wire::error_code::NO_ERROR);
    }
    rc
}
