//! The endpoint: one per local address family/socket set. Demultiplexes datagrams to tunnels,
//! allocates tunnel and session IDs, accepts new peers, and owns every tunnel's transport and
//! state machines.
//!
//! Interface in the quinn-proto style (sans-IO): the caller feeds datagrams with
//! [`Endpoint::handle`] and time with [`Endpoint::handle_timeout`], and drains
//! [`Endpoint::poll_transmit`], [`Endpoint::poll_timeout`] and [`Endpoint::poll_event`] after
//! every call.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::tunnel::{Ctx, OutMsg, Tunnel, TunnelInfo};
use crate::wire::{self, AvpValue, ControlMessage, Encap, MessageType, Peek, ResultCode, Version};

/// Identifies a tunnel inside one [`Endpoint`]: the local Tunnel ID (v2, 16-bit) or local
/// Control Connection ID (v3, 32-bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TunnelId(pub u32);

/// Identifies a session inside one tunnel: the local Session ID (v2 16-bit, v3 32-bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u32);

/// Settings of one control connection (go-l2tp's `[tunnel.NAME]` keys and their defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelConfig {
    /// Protocol version (L2TPv2 or L2TPv3).
    pub version: Version,
    /// UDP or IP encapsulation.
    pub encap: Encap,
    /// The peer's address (UDP: address and port; IP: port is ignored).
    pub peer: SocketAddr,
    /// Local tunnel / control connection ID to use; `None` = random non-zero, collision-free.
    pub local_tunnel_id: Option<u32>,
    /// Host Name AVP to send.
    pub host_name: Vec<u8>,
    /// Our Receive Window Size AVP (default 4).
    pub window_size: u16,
    /// Send HELLO after this long without receiving anything; `None` = never (go-l2tp default).
    pub hello_interval: Option<Duration>,
    /// First retransmission timeout (default 1 s); doubles on each retry, capped at 8 s.
    pub retry_timeout: Duration,
    /// Retransmissions of one message before the tunnel is declared down (default 3).
    pub max_retries: u32,
    /// Framing Capabilities AVP bitmask (default 3: sync | async).
    pub framing_caps: u32,
    /// Bearer Capabilities AVP bitmask (default 0).
    pub bearer_caps: u32,
    /// Shared secret for tunnel authentication / hidden AVPs, if any.
    pub secret: Option<Vec<u8>>,
}

impl TunnelConfig {
    /// A config with go-l2tp's defaults for the given version, encapsulation and peer.
    pub fn new(version: Version, encap: Encap, peer: SocketAddr) -> Self {
        TunnelConfig {
            version,
            encap,
            peer,
            local_tunnel_id: None,
            host_name: b"l2tpd".to_vec(),
            window_size: 4,
            hello_interval: None,
            retry_timeout: Duration::from_secs(1),
            max_retries: 3,
            framing_caps: 3,
            bearer_caps: 0,
            secret: None,
        }
    }
}

/// Settings of one session (call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Pseudowire type ([`crate::wire::pw_type`]); v2 sessions are always PPP.
    pub pseudowire: u16,
    /// Local session ID; `None` = random non-zero, collision-free.
    pub local_session_id: Option<u32>,
    /// Bearer Type AVP for ICRQ (default 0).
    pub bearer_type: u32,
    /// Framing Type AVP for ICCN (default 1: synchronous).
    pub framing_type: u32,
    /// (Tx) Connect Speed AVP for ICCN, bits/s (default 0, as xl2tpd).
    pub connect_speed: u32,
    /// Calling Number AVP, if any.
    pub calling_number: Option<Vec<u8>>,
    /// Called Number AVP, if any.
    pub called_number: Option<Vec<u8>>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            pseudowire: crate::wire::pw_type::PPP,
            local_session_id: None,
            bearer_type: 0,
            framing_type: 1,
            connect_speed: 0,
            calling_number: None,
            called_number: None,
        }
    }
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The tunnel it belongs to (the runtime may keep one connected socket per tunnel).
    pub tunnel: TunnelId,
    /// Where to send it.
    pub destination: SocketAddr,
    /// UDP or IP encapsulation (IP: `payload` already starts with the 4-byte zero Session ID).
    pub encap: Encap,
    /// The complete L2TP packet.
    pub payload: Vec<u8>,
}

/// Why a tunnel or session went down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownReason {
    /// We closed it (API call), with this result code sent to the peer.
    Local(ResultCode),
    /// The peer closed it (StopCCN / CDN), with the result code it sent.
    Peer(ResultCode),
    /// The peer stopped acknowledging (retransmissions exhausted or HELLO unanswered).
    Timeout,
    /// A protocol error on our side of the decision (e.g. unknown mandatory AVP, bad challenge
    /// response), with the result code we sent.
    Protocol(ResultCode),
    /// The tunnel went down, taking the session with it.
    TunnelDown,
}

/// What the engine tells the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The control connection is established (SCCCN sent and acknowledged, or received).
    TunnelUp {
        /// Local ID.
        tunnel: TunnelId,
        /// The peer's Assigned Tunnel ID / Assigned Control Connection ID.
        peer_tunnel_id: u32,
        /// The peer's address.
        peer: SocketAddr,
        /// Version.
        version: Version,
        /// Encapsulation.
        encap: Encap,
        /// The peer's Host Name AVP.
        peer_host_name: Vec<u8>,
    },
    /// The control connection is gone (all its sessions were reported down first). Reported
    /// exactly once per tunnel, also for tunnels that never came up (a `connect` whose peer never
    /// answered, or an accepted SCCRQ whose peer went away before SCCCN).
    TunnelDown {
        /// Local ID.
        tunnel: TunnelId,
        /// Why.
        reason: DownReason,
    },
    /// A session is established (ICCN acknowledged or received).
    SessionUp {
        /// Local tunnel ID.
        tunnel: TunnelId,
        /// Local session ID.
        session: SessionId,
        /// The peer's session ID.
        peer_session_id: u32,
        /// The peer's tunnel ID (what the data plane needs).
        peer_tunnel_id: u32,
        /// Pseudowire type.
        pseudowire: u16,
    },
    /// A session is gone.
    SessionDown {
        /// Local tunnel ID.
        tunnel: TunnelId,
        /// Local session ID.
        session: SessionId,
        /// Why.
        reason: DownReason,
    },
}

/// Errors from API calls on the endpoint (never from wire input: bad datagrams are counted and
/// dropped, see [`EndpointStats`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No tunnel with this ID.
    #[error("no tunnel {0:?}")]
    NoSuchTunnel(TunnelId),
    /// No session with this ID in the tunnel.
    #[error("no session {1:?} in tunnel {0:?}")]
    NoSuchSession(TunnelId, SessionId),
    /// The requested local ID is already in use.
    #[error("ID {0} already in use")]
    IdInUse(u32),
    /// The tunnel is not established (sessions can be opened once it is).
    #[error("tunnel {0:?} is not established")]
    NotEstablished(TunnelId),
    /// A configuration value that cannot work (e.g. v2 with a non-PPP pseudowire).
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
}

/// Counters kept by the endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// Datagrams that failed to parse (dropped).
    pub malformed: u64,
    /// Datagrams for no known tunnel (dropped).
    pub unknown_tunnel: u64,
    /// Control messages received (excluding ZLBs).
    pub control_rx: u64,
    /// Control messages sent (excluding ZLBs), first transmissions only.
    pub control_tx: u64,
    /// Retransmissions.
    pub retransmits: u64,
    /// ZLB acknowledgements sent.
    pub zlb_tx: u64,
    /// Duplicate messages received (re-acknowledged and dropped).
    pub duplicates: u64,
    /// Data messages (T = 0) received on the control path and ignored (the kernel carries data).
    pub data_ignored: u64,
    /// Control messages of a version or encapsulation this endpoint does not handle.
    pub unsupported: u64,
    /// Messages that could not be encoded (dropped; a bug or an oversized AVP).
    pub encode_errors: u64,
    /// Tunnels created for incoming SCCRQs.
    pub tunnels_accepted: u64,
}

/// Settings of the endpoint as a whole, and of the tunnels it accepts from peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    /// Accept L2TPv2 SCCRQs from unknown peers (LNS / listen mode).
    pub accept_v2_incoming: bool,
    /// Host Name AVP for accepted tunnels.
    pub host_name: Vec<u8>,
    /// Shared secret for accepted tunnels (tunnel authentication, hidden AVPs).
    pub secret: Option<Vec<u8>>,
    /// Our Receive Window Size for accepted tunnels.
    pub window_size: u16,
    /// HELLO interval for accepted tunnels.
    pub hello_interval: Option<Duration>,
    /// First retransmission timeout for accepted tunnels.
    pub retry_timeout: Duration,
    /// Retransmissions before an accepted tunnel is declared down.
    pub max_retries: u32,
    /// Framing Capabilities for accepted tunnels.
    pub framing_caps: u32,
    /// Bearer Capabilities for accepted tunnels.
    pub bearer_caps: u32,
    /// How long the record of a tunnel closed by the peer's StopCCN is kept, to re-acknowledge
    /// retransmissions of that StopCCN (RFC 2661 §5.7: a full retransmission cycle, ~31 s).
    pub closed_hold: Duration,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            accept_v2_incoming: false,
            host_name: b"l2tpd".to_vec(),
            secret: None,
            window_size: 4,
            hello_interval: None,
            retry_timeout: Duration::from_secs(1),
            max_retries: 3,
            framing_caps: 3,
            bearer_caps: 0,
            closed_hold: Duration::from_secs(31),
        }
    }
}

/// The sans-IO L2TP endpoint: all tunnels of one socket set.
///
/// Feed it datagrams ([`Endpoint::handle`]) and time ([`Endpoint::handle_timeout`]), call the
/// API ([`Endpoint::connect`], [`Endpoint::open_session`], …), and after every call drain
/// [`Endpoint::poll_transmit`], [`Endpoint::poll_event`] and re-arm the timer from
/// [`Endpoint::poll_timeout`].
///
/// Sessions may be opened as soon as [`Endpoint::connect`] returns: the ICRQ is sent right
/// after the SCCCN (as xl2tpd does), without waiting for `TunnelUp`.
#[derive(Debug)]
pub struct Endpoint {
    config: EndpointConfig,
    rng: SmallRng,
    tunnels: HashMap<u32, Tunnel>,
    /// Accepted tunnels by (peer address, peer's Assigned Tunnel ID): catches retransmitted
    /// SCCRQs.
    incoming: HashMap<(SocketAddr, u32), u32>,
    /// One timer per tunnel, ordered by deadline.
    timers: BTreeSet<(Instant, u32)>,
    out: VecDeque<OutMsg>,
    events: VecDeque<Event>,
    stats: EndpointStats,
}

impl Endpoint {
    /// A new endpoint; all randomness (IDs, challenges) comes from `rng_seed`.
    pub fn new(config: EndpointConfig, rng_seed: u64) -> Self {
        Endpoint {
            config,
            rng: SmallRng::seed_from_u64(rng_seed),
            tunnels: HashMap::new(),
            incoming: HashMap::new(),
            timers: BTreeSet::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            stats: EndpointStats::default(),
        }
    }

    /// The endpoint's configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    fn alloc_tunnel_id(&mut self) -> Result<u32, ApiError> {
        for _ in 0..64 {
            let id = self.rng.gen_range(1..=0xffffu32);
            if !self.tunnels.contains_key(&id) {
                return Ok(id);
            }
        }
        (1..=0xffffu32)
            .find(|id| !self.tunnels.contains_key(id))
            .ok_or(ApiError::InvalidConfig("no free tunnel ID"))
    }

    /// Starts a control connection to `cfg.peer` (sends SCCRQ). Only L2TPv2 over UDP for now.
    pub fn connect(&mut self, now: Instant, cfg: TunnelConfig) -> Result<TunnelId, ApiError> {
        if cfg.version != Version::V2 {
            return Err(ApiError::InvalidConfig("only L2TPv2 is supported so far"));
        }
        if cfg.encap != Encap::Udp {
            return Err(ApiError::InvalidConfig("L2TPv2 runs over UDP only"));
        }
        let id = match cfg.local_tunnel_id {
            Some(id) if id == 0 || id > 0xffff => {
                return Err(ApiError::InvalidConfig("v2 tunnel ID must be 1..=65535"))
            }
            Some(id) if self.tunnels.contains_key(&id) => return Err(ApiError::IdInUse(id)),
            Some(id) => id,
            None => self.alloc_tunnel_id()?,
        };
        let hold = self.config.closed_hold;
        let mut ctx = Ctx {
            now,
            out: &mut self.out,
            events: &mut self.events,
            stats: &mut self.stats,
            rng: &mut self.rng,
        };
        let t = Tunnel::connect(id, cfg, hold, &mut ctx);
        self.tunnels.insert(id, t);
        self.reschedule(id);
        Ok(TunnelId(id))
    }

    /// Runs `f` on a tunnel with the shared context, then re-arms its timer (or removes it).
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
        };
        let r = f(t, &mut ctx);
        self.reschedule(id);
        Some(r)
    }

    fn reschedule(&mut self, id: u32) {
        let Some(t) = self.tunnels.get_mut(&id) else {
            return;
        };
        let next = t.next_timeout();
        if t.finished {
            if let Some(at) = t.scheduled.take() {
                self.timers.remove(&(at, id));
            }
            let key = (t.peer, t.peer_tunnel_id);
            if self.incoming.get(&key) == Some(&id) {
                self.incoming.remove(&key);
            }
            self.tunnels.remove(&id);
            return;
        }
        if t.scheduled != next {
            if let Some(at) = t.scheduled {
                self.timers.remove(&(at, id));
            }
            if let Some(at) = next {
                self.timers.insert((at, id));
            }
            t.scheduled = next;
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
        self.with_tunnel(now, tunnel.0, |t, ctx| t.open_session(ctx, cfg))
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

    /// Closes a tunnel: sends StopCCN with `rc`, reports its sessions down at once and
    /// `TunnelDown(Local(rc))` when the StopCCN is acknowledged or retransmissions run out.
    /// Closing a tunnel that is already closing is a no-op.
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

    /// Processes one received UDP datagram from `remote`. Never fails: malformed datagrams and
    /// datagrams for unknown tunnels are counted in [`EndpointStats`] and dropped; data
    /// messages are ignored (the kernel handles data).
    pub fn handle(&mut self, now: Instant, remote: SocketAddr, datagram: &[u8]) {
        let tunnel_id = match wire::peek(datagram, Encap::Udp) {
            Err(_) => {
                self.stats.malformed += 1;
                return;
            }
            Ok(Peek::Data { .. }) => {
                self.stats.data_ignored += 1;
                return;
            }
            Ok(Peek::Control {
                version: Version::V3,
                ..
            }) => {
                self.stats.unsupported += 1;
                return;
            }
            Ok(Peek::Control { tunnel_id, .. }) => tunnel_id,
        };
        let secret = if tunnel_id == 0 {
            self.config.secret.as_deref()
        } else {
            match self.tunnels.get(&tunnel_id) {
                Some(t) => t.cfg.secret.as_deref(),
                None => {
                    self.stats.unknown_tunnel += 1;
                    return;
                }
            }
        };
        match ControlMessage::parse(datagram, Encap::Udp, secret) {
            Ok(msg) => self.handle_message(now, remote, msg),
            Err(_) => self.stats.malformed += 1,
        }
    }

    /// Processes one decoded control message (what [`Endpoint::handle`] does after parsing).
    /// Exposed for tests and tools that work on message values.
    #[doc(hidden)]
    pub fn handle_message(&mut self, now: Instant, remote: SocketAddr, msg: ControlMessage) {
        if msg.header.version != Version::V2 {
            self.stats.unsupported += 1;
            return;
        }
        let tid = msg.header.tunnel_id;
        if tid != 0 {
            if self
                .with_tunnel(now, tid, |t, ctx| t.handle_message(ctx, remote, msg))
                .is_none()
            {
                self.stats.unknown_tunnel += 1;
            }
            return;
        }
        // Tunnel ID 0: only an SCCRQ may create a tunnel.
        if !self.config.accept_v2_incoming || msg.message_type() != Some(MessageType::Sccrq) {
            self.stats.unknown_tunnel += 1;
            return;
        }
        let Some(peer_tid) = msg.find(|v| match v {
            AvpValue::AssignedTunnelId(t) if *t != 0 => Some(u32::from(*t)),
            _ => None,
        }) else {
            self.stats.malformed += 1;
            return;
        };
        if let Some(&id) = self.incoming.get(&(remote, peer_tid)) {
            // A retransmitted SCCRQ: the transport re-acknowledges it.
            self.with_tunnel(now, id, |t, ctx| t.handle_message(ctx, remote, msg));
            return;
        }
        let Ok(id) = self.alloc_tunnel_id() else {
            self.stats.unknown_tunnel += 1;
            return;
        };
        let c = &self.config;
        let cfg = TunnelConfig {
            version: Version::V2,
            encap: Encap::Udp,
            peer: remote,
            local_tunnel_id: Some(id),
            host_name: c.host_name.clone(),
            window_size: c.window_size,
            hello_interval: c.hello_interval,
            retry_timeout: c.retry_timeout,
            max_retries: c.max_retries,
            framing_caps: c.framing_caps,
            bearer_caps: c.bearer_caps,
            secret: c.secret.clone(),
        };
        let hold = c.closed_hold;
        let mut ctx = Ctx {
            now,
            out: &mut self.out,
            events: &mut self.events,
            stats: &mut self.stats,
            rng: &mut self.rng,
        };
        let t = Tunnel::accept(id, cfg, hold, &mut ctx);
        self.stats.tunnels_accepted += 1;
        self.tunnels.insert(id, t);
        self.incoming.insert((remote, peer_tid), id);
        self.with_tunnel(now, id, |t, ctx| t.handle_message(ctx, remote, msg));
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
            match o.msg.to_bytes(o.encap, None) {
                Ok(payload) => {
                    return Some(Transmit {
                        tunnel: TunnelId(o.tunnel),
                        destination: o.dest,
                        encap: o.encap,
                        payload,
                    })
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

    /// Local IDs of all tunnels (including closing ones and closed records), sorted.
    pub fn tunnel_ids(&self) -> Vec<TunnelId> {
        let mut v: Vec<TunnelId> = self.tunnels.keys().map(|&id| TunnelId(id)).collect();
        v.sort_unstable();
        v
    }

    /// Status of one tunnel and its sessions.
    pub fn tunnel_info(&self, tunnel: TunnelId) -> Option<TunnelInfo> {
        self.tunnels.get(&tunnel.0).map(|t| t.info())
    }
}

/// A Result Code AVP can carry a message only after an error code (RFC 2661 §4.4.2): a caller's
/// message without one gets error code 0 ("no general error") so that it can be sent.
fn encodable(mut rc: ResultCode) -> ResultCode {
    if rc.message.is_some() && rc.error.is_none() {
        rc.error = Some(crate::wire::error_code::NO_ERROR);
    }
    rc
}
