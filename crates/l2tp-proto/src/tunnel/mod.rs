//! Control connection (tunnel) state machine, L2TPv2 (RFC 2661 §5.1, §7.2) and L2TPv3
//! (RFC 3931 §3.3), both as initiator (sends SCCRQ) and responder (answers SCCRQ), plus
//! quiescent tunnels (configured on both ends, HELLO only).
//!
//! The tunnel owns its [`Transport`] and its sessions. It never parses or emits bytes: it
//! consumes [`ControlMessage`] values and queues [`ControlMessage`] values for the endpoint,
//! with what the endpoint needs to encode them (secret for hidden AVPs, v3 digest keys).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::RngCore;

mod calls;
mod handshake;
mod message_auth;
mod status;

pub use crate::auth::challenge_response;
use crate::auth::{self, DigestAlg};
pub(crate) use crate::auth::{Auth, DigestKeys};
use crate::config::{SessionConfig, TunnelConfig};
use crate::rules;
use crate::session::{self, PeerSession, Session, SessionInfo, SessionState};
use crate::shared::{ApiError, DownReason, EndpointStats, Event, SessionId, TunnelId};
use crate::table::{self, IdMap, Steps};
use crate::transport::{SendKind, Tag, Transport, TransportConfig, TransportStats};
use crate::wire::{
    error_code, pw_type, result, Avp, AvpValue, CallErrors, ControlMessage, Encap, MessageType,
    ResultCode, Version,
};

/// Firmware Revision AVP value we send.
const FIRMWARE_REVISION: u16 = 0x0100;
/// Vendor Name AVP value we send.
const VENDOR_NAME: &[u8] = b"l2tp-rs";

/// Where a control connection is in its life (RFC 2661 §7.2, with the closing states made
/// explicit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelState {
    /// Responder: created for an incoming SCCRQ, not processed yet.
    Listen,
    /// Initiator: SCCRQ sent, waiting for SCCRP.
    WaitCtlReply,
    /// Responder: SCCRP sent, waiting for SCCCN.
    WaitCtlConn,
    /// Initiator: SCCCN sent, waiting for its acknowledgement.
    WaitCtlConnAck,
    /// Established: TunnelUp was reported.
    Established,
    /// We sent StopCCN and wait for its acknowledgement.
    Closing,
    /// Down and reported so (the peer's StopCCN received, or ours acknowledged): the record
    /// stays for the StopCCN hold time (RFC 2661 §5.7, ~31 s) to acknowledge what the peer
    /// still sends — retransmissions of its StopCCN, or its own StopCCN or CDN that crossed
    /// ours — and nothing else.
    Closed,
}

/// Which side started the control connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We sent SCCRQ.
    Initiator,
    /// We answered the peer's SCCRQ.
    Responder,
}

/// A snapshot of one tunnel, for status displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelInfo {
    /// Local tunnel ID.
    pub id: TunnelId,
    /// State.
    pub state: TunnelState,
    /// Initiator or responder.
    pub role: Role,
    /// Version.
    pub version: Version,
    /// Encapsulation.
    pub encap: Encap,
    /// The peer's address (as updated by its first reply).
    pub peer: SocketAddr,
    /// The peer's tunnel ID (0 while unknown).
    pub peer_tunnel_id: u32,
    /// The peer's Host Name.
    pub peer_host_name: Vec<u8>,
    /// Current send window (the peer's Receive Window Size).
    pub send_window: u16,
    /// Messages in flight (sent, not acknowledged).
    pub in_flight: usize,
    /// Ns of the next message we send.
    pub next_ns: u16,
    /// Nr: next Ns expected from the peer.
    pub next_nr: u16,
    /// Reliable-channel counters.
    pub transport: TransportStats,
    /// Sessions.
    pub sessions: Vec<SessionInfo>,
}

/// A message queued for the endpoint to encode and send.
#[derive(Debug, Clone)]
pub(crate) struct OutMsg {
    pub tunnel: u32,
    pub dest: SocketAddr,
    pub encap: Encap,
    pub msg: ControlMessage,
    pub auth: Option<Arc<Auth>>,
}

/// The endpoint's shared state a tunnel operation may touch.
pub(crate) struct Ctx<'a> {
    pub now: Instant,
    pub out: &'a mut VecDeque<OutMsg>,
    pub events: &'a mut VecDeque<Event>,
    pub stats: &'a mut EndpointStats,
    pub rng: &'a mut SmallRng,
    /// L2TPv3 session IDs in use on the whole endpoint (RFC 3931 §4.1: unique per LCCE).
    pub v3_sessions: &'a mut HashSet<u32>,
}

fn rc(result: u16, error: u16, message: &str) -> ResultCode {
    ResultCode {
        result,
        error: Some(error),
        message: if message.is_empty() {
            None
        } else {
            Some(message.as_bytes().to_vec())
        },
    }
}

fn min_opt(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The Control Message Authentication Nonce AVP of a message.
pub(crate) fn nonce_of(msg: &ControlMessage) -> Option<Vec<u8>> {
    msg.auth_nonce().map(<[u8]>::to_vec)
}

/// The peer's tunnel ID named in a message (v2 Assigned Tunnel ID, v3 Assigned Control
/// Connection ID), if any.
pub(crate) fn assigned_tunnel_id(msg: &ControlMessage) -> Option<u32> {
    msg.assigned_tunnel_id()
}

fn result_code_of(msg: &ControlMessage) -> ResultCode {
    msg.result_code().cloned().unwrap_or(ResultCode {
        result: 0,
        error: None,
        message: None,
    })
}

/// Settings a tunnel takes from its endpoint.
#[derive(Debug, Clone)]
pub(crate) struct TunnelEnv {
    /// How long the record of a tunnel closed by the peer is kept (RFC 2661 §5.7).
    pub closed_hold: Duration,
    /// Our side of sessions the peer opens.
    pub session_defaults: SessionConfig,
    /// The endpoint's count of table walks (see [`crate::table`]).
    pub steps: Steps,
}

/// What the endpoint's indexes hold about a tunnel, kept on the tunnel so that the endpoint
/// can update them in O(1) after each operation (`Endpoint::refresh`).
#[derive(Debug, Default)]
pub(crate) struct EndpointMarks {
    /// Timer currently registered with the endpoint.
    pub scheduled: Option<Instant>,
    /// Key under which the tunnel is in the endpoint's index of tunnels awaiting SCCRP (tie
    /// breaker): (version, peer IP).
    pub awaiting: Option<(Version, IpAddr)>,
    /// Key under which the tunnel is in the endpoint's index of accepted SCCRQs: (peer
    /// address, peer's tunnel ID).
    pub incoming: Option<(SocketAddr, u32)>,
    /// Sessions of this tunnel counted in the endpoint's total.
    pub sessions: usize,
    /// Creation number, unique over the endpoint's life (IDs are reused; this is not).
    pub serial: u64,
    /// Queued for `Endpoint::poll_accepted` and not yet yielded.
    pub accept_queued: bool,
    /// Counted in the endpoint's closed records (`Endpoint::lingering`).
    pub lingering: bool,
    /// In the endpoint's index of half-open tunnels (accepted, never established), under
    /// (serial, ID).
    pub half_open: bool,
    /// Counted in the endpoint's tunnels per peer, under this (canonical) peer IP.
    pub peer_counted: Option<IpAddr>,
}

/// One control connection and its sessions.
#[derive(Debug)]
pub(crate) struct Tunnel {
    pub id: u32,
    pub cfg: TunnelConfig,
    pub role: Role,
    pub state: TunnelState,
    pub peer: SocketAddr,
    pub peer_tunnel_id: u32,
    pub peer_host_name: Vec<u8>,
    transport: Transport,
    sessions: IdMap<Session>,
    /// The peer's session ID → our session ID, for every session whose peer ID is known
    /// (non-zero). Peer IDs are unique within the tunnel: a call request that reuses one is
    /// taken for a repeat of that call and ignored, a call reply that reuses one is refused
    /// (CDN).
    peer_sessions: HashMap<u32, u32>,
    next_call_serial: u32,
    /// Why we are closing (reported as TunnelDown once the StopCCN is acknowledged).
    close_reason: Option<DownReason>,
    env: TunnelEnv,
    closed_until: Option<Instant>,
    our_challenge: Option<Vec<u8>>,
    /// v3: our Control Message Authentication Nonce.
    local_nonce: Option<Vec<u8>>,
    /// v3: the peer's nonce.
    peer_nonce: Option<Vec<u8>>,
    /// v3: Control Message Authentication is on (both directions) with this algorithm.
    digest_alg: Option<DigestAlg>,
    /// v3: `HMAC_MD5(secret, 2)`.
    digest_key: Option<[u8; 16]>,
    /// What outgoing messages need for encoding (None: nothing special).
    auth: Option<Arc<Auth>>,
    /// Configured on both ends: no SCCRQ exchange, no sessions.
    quiescent: bool,
    /// Give up if not established by then (a responder whose SCCRP was acknowledged by a ZLB
    /// but whose SCCCN never came would otherwise wait forever).
    setup_deadline: Option<Instant>,
    /// Sessions that must be established by a deadline (call set-up timer): (deadline, local
    /// session ID), the deadline also kept in the session; an entry leaves when it expires,
    /// when its session is removed and when its session is established.
    session_deadlines: BTreeSet<(Instant, u32)>,
    /// TunnelDown was reported (at most once).
    down_reported: bool,
    /// TunnelUp was reported (the tunnel is, or was, established).
    pub established_once: bool,
    /// The tunnel is gone: the endpoint removes it.
    pub finished: bool,
    /// The endpoint's bookkeeping.
    pub marks: EndpointMarks,
}

impl Tunnel {
    fn new(id: u32, cfg: TunnelConfig, role: Role, env: TunnelEnv) -> Self {
        let tcfg = TransportConfig {
            recv_window: cfg.window_size.max(1),
            retry_timeout: cfg.retry_timeout,
            max_retries: cfg.max_retries,
            hello_interval: cfg.hello_interval,
        };
        let digest_key = match (cfg.version, &cfg.secret) {
            (Version::V3, Some(s)) => Some(auth::shared_key(s)),
            _ => None,
        };
        Tunnel {
            id,
            role,
            state: match role {
                Role::Initiator => TunnelState::WaitCtlReply,
                Role::Responder => TunnelState::Listen,
            },
            peer: cfg.peer,
            peer_tunnel_id: 0,
            peer_host_name: Vec::new(),
            transport: Transport::new(tcfg, cfg.version),
            sessions: IdMap::new(env.steps.clone()),
            peer_sessions: HashMap::new(),
            next_call_serial: 1,
            close_reason: None,
            env,
            closed_until: None,
            our_challenge: None,
            local_nonce: None,
            peer_nonce: None,
            digest_alg: None,
            digest_key,
            auth: None,
            quiescent: false,
            setup_deadline: None,
            session_deadlines: BTreeSet::new(),
            down_reported: false,
            established_once: false,
            finished: false,
            marks: EndpointMarks::default(),
            cfg,
        }
    }

    /// How long establishment may take: one full retransmission cycle (RFC 3931 §4.2) plus
    /// one more retry timeout.
    fn setup_time(cfg: &TunnelConfig) -> Duration {
        let cap = crate::transport::MAX_RETRY_TIMEOUT.max(cfg.retry_timeout);
        let mut rto = cfg.retry_timeout;
        let mut total = rto;
        for _ in 0..=cfg.max_retries.min(64) {
            rto = rto.saturating_mul(2).min(cap);
            total = total.saturating_add(rto);
        }
        total
    }

    /// Initiator: creates the tunnel and sends SCCRQ.
    pub fn connect(id: u32, cfg: TunnelConfig, env: TunnelEnv, ctx: &mut Ctx) -> Self {
        let mut t = Tunnel::new(id, cfg, Role::Initiator, env);
        t.setup_deadline = Some(ctx.now + Self::setup_time(&t.cfg));
        t.init_auth(ctx);
        let sccrq = t.sccrx(MessageType::Sccrq, None);
        t.transport.send(ctx.now, sccrq, Tag::None);
        t.flush(ctx);
        t
    }

    /// Responder: a tunnel for a peer's SCCRQ (which must then be fed to
    /// [`Tunnel::handle_message`]).
    pub fn accept(id: u32, cfg: TunnelConfig, env: TunnelEnv, ctx: &mut Ctx) -> Self {
        let mut t = Tunnel::new(id, cfg, Role::Responder, env);
        t.setup_deadline = Some(ctx.now + Self::setup_time(&t.cfg));
        t.init_auth(ctx);
        t
    }

    /// A quiescent tunnel: both IDs configured, established at once (TunnelUp now); HELLO and
    /// acknowledgements only.
    pub fn quiescent(
        id: u32,
        peer_id: u32,
        cfg: TunnelConfig,
        env: TunnelEnv,
        ctx: &mut Ctx,
    ) -> Self {
        let mut t = Tunnel::new(id, cfg, Role::Initiator, env);
        t.quiescent = true;
        if let (Version::V3, Some(alg), Some(_)) = (t.cfg.version, t.cfg.digest, &t.cfg.secret) {
            // No nonce exchange: the digest is keyed by the secret alone (empty nonces).
            t.digest_alg = Some(alg);
        }
        t.update_auth();
        t.peer_tunnel_id = peer_id;
        t.transport.set_peer_tunnel_id(peer_id);
        t.established(ctx);
        t
    }

    fn header(&self, peer_session_id: u32) -> crate::wire::ControlHeader {
        session::header(self.cfg.version, self.peer_tunnel_id, peer_session_id)
    }

    /// SCCRQ or SCCRP with our parameters (v2: xl2tpd's AVP order).
    fn sccrx(&self, t: MessageType, response: Option<[u8; 16]>) -> ControlMessage {
        let mut avps = match self.cfg.version {
            Version::V2 => vec![
                Avp::m(AvpValue::MessageType(t)),
                Avp::m(AvpValue::ProtocolVersion {
                    version: 1,
                    revision: 0,
                }),
                Avp::m(AvpValue::FramingCapabilities(self.cfg.framing_caps)),
                Avp::m(AvpValue::BearerCapabilities(self.cfg.bearer_caps)),
                Avp::o(AvpValue::FirmwareRevision(FIRMWARE_REVISION)),
                Avp::m(AvpValue::HostName(self.cfg.host_name.clone())),
                Avp::o(AvpValue::VendorName(VENDOR_NAME.to_vec())),
                Avp::m(AvpValue::AssignedTunnelId(self.id as u16)),
                Avp::m(AvpValue::ReceiveWindowSize(self.cfg.window_size.max(1))),
            ],
            Version::V3 => vec![
                Avp::m(AvpValue::MessageType(t)),
                Avp::m(AvpValue::HostName(self.cfg.host_name.clone())),
                Avp::m(AvpValue::RouterId(self.cfg.router_id)),
                Avp::m(AvpValue::AssignedControlConnectionId(self.id)),
                Avp::m(AvpValue::PseudowireCapabilities(
                    self.cfg.pseudowires.clone(),
                )),
                Avp::m(AvpValue::ReceiveWindowSize(self.cfg.window_size.max(1))),
                Avp::o(AvpValue::VendorName(VENDOR_NAME.to_vec())),
            ],
        };
        if t == MessageType::Sccrq {
            if let Some(tb) = self.cfg.tie_breaker {
                avps.push(Avp::o(AvpValue::TieBreaker(tb)));
            }
        }
        if let Some(r) = response {
            avps.push(Avp::m(AvpValue::ChallengeResponse(r)));
        }
        if let Some(c) = &self.our_challenge {
            avps.push(Avp::m(AvpValue::Challenge(c.clone())));
        }
        if let Some(n) = &self.local_nonce {
            avps.push(Avp::m(AvpValue::ControlMessageAuthNonce(n.clone())));
        }
        ControlMessage {
            header: self.header(0),
            avps,
        }
    }

    /// Moves the transport's output to the endpoint's queue.
    fn flush(&mut self, ctx: &mut Ctx) {
        while let Some(o) = self.transport.poll_outgoing() {
            match o.kind {
                SendKind::First => ctx.stats.control_tx += 1,
                SendKind::Retransmit => ctx.stats.retransmits += 1,
                SendKind::Zlb => ctx.stats.zlb_tx += 1,
            }
            let mut msg = o.msg;
            if self.auth.is_some() {
                self.decorate(ctx, &mut msg);
            }
            ctx.out.push_back(OutMsg {
                tunnel: self.id,
                dest: self.peer,
                encap: self.cfg.encap,
                msg,
                auth: self.auth.clone(),
            });
        }
    }

    /// The earliest timer of this tunnel.
    pub fn next_timeout(&self) -> Option<Instant> {
        if self.finished {
            return None;
        }
        match self.state {
            TunnelState::Closed => self.closed_until,
            TunnelState::Listen
            | TunnelState::WaitCtlReply
            | TunnelState::WaitCtlConn
            | TunnelState::WaitCtlConnAck => min_opt(
                min_opt(self.transport.next_timeout(), self.setup_deadline),
                self.session_deadlines.first().map(|&(at, _)| at),
            ),
            TunnelState::Established => min_opt(
                self.transport.next_timeout(),
                self.session_deadlines.first().map(|&(at, _)| at),
            ),
            _ => self.transport.next_timeout(),
        }
    }

    /// Runs expired timers.
    pub fn handle_timeout(&mut self, ctx: &mut Ctx) {
        if self.finished {
            return;
        }
        if self.state == TunnelState::Closed {
            if self.closed_until.is_some_and(|t| t <= ctx.now) {
                self.finished = true;
            }
            return;
        }
        if matches!(
            self.state,
            TunnelState::Established
                | TunnelState::Listen
                | TunnelState::WaitCtlReply
                | TunnelState::WaitCtlConn
                | TunnelState::WaitCtlConnAck
        ) {
            self.expire_sessions(ctx);
        }
        self.transport.handle_timeout(ctx.now);
        let setup_expired = matches!(
            self.state,
            TunnelState::Listen
                | TunnelState::WaitCtlReply
                | TunnelState::WaitCtlConn
                | TunnelState::WaitCtlConnAck
        ) && self.setup_deadline.is_some_and(|d| d <= ctx.now);
        if self.transport.failed() || setup_expired {
            self.transport.stop();
            let reason = match self.state {
                TunnelState::Closing => self.close_reason.take().unwrap_or(DownReason::Timeout),
                _ => DownReason::Timeout,
            };
            self.all_sessions_down(ctx, DownReason::TunnelDown);
            self.tunnel_down(ctx, reason);
            self.finished = true;
        }
        self.flush(ctx);
    }

    /// Discards the tunnel silently (lost a tie break, RFC 2661 §5.1): sessions and tunnel
    /// reported down with `rc`, nothing sent.
    pub fn discard(&mut self, ctx: &mut Ctx, rc: ResultCode) {
        self.transport.stop();
        self.all_sessions_down(ctx, DownReason::TunnelDown);
        self.tunnel_down(ctx, DownReason::Protocol(rc));
        self.finished = true;
    }

    /// True if a datagram from `remote` may belong to this tunnel: it comes from the peer's
    /// address and port as learned on set-up (RFC 2661 §8.1: they "MUST remain static for
    /// the life of the tunnel"). The one exception is our SCCRQ's answer, which may come from
    /// another port of the peer (the port is then learned from it); over IP encapsulation
    /// there are no ports, only the address counts. Anything else is a stranger's datagram
    /// (spoofed or misrouted) and must not touch the tunnel.
    pub fn accepts_from(&self, remote: SocketAddr) -> bool {
        if self.peer.ip().to_canonical() != remote.ip().to_canonical() {
            return false;
        }
        self.cfg.encap == Encap::Ip || self.peer.port() == remote.port() || self.awaiting_sccrp()
    }

    /// A StopCCN naming, in its Assigned Tunnel ID (v3: Assigned Control Connection ID), a
    /// tunnel other than the peer's: not the peer's to send (RFC 2661 §6.3 / RFC 3931 §6.3:
    /// the sender's own ID). One without it, or sent before we know the peer's ID (a refusal
    /// of our SCCRQ), is taken as it is.
    fn foreign_stopccn(&self, msg: &ControlMessage) -> bool {
        self.peer_tunnel_id != 0
            && msg.message_type() == Some(MessageType::StopCcn)
            && assigned_tunnel_id(msg).is_some_and(|t| t != self.peer_tunnel_id)
    }

    /// Accepted for a peer's SCCRQ and never established (still unvalidated: the SCCRQ's
    /// source may have been spoofed).
    pub fn half_open(&self) -> bool {
        !self.finished && self.role == Role::Responder && !self.established_once
    }

    /// The peer IP this tunnel counts against in the endpoint's tunnels-per-peer limit: a
    /// tunnel the peer opened, until it is a closed record.
    pub fn counted_peer(&self) -> Option<IpAddr> {
        (!self.finished && self.role == Role::Responder && self.state != TunnelState::Closed)
            .then(|| self.peer.ip().to_canonical())
    }

    /// True while our SCCRQ is unanswered (a crossing SCCRQ is then a tie-break case).
    pub fn awaiting_sccrp(&self) -> bool {
        self.role == Role::Initiator && self.state == TunnelState::WaitCtlReply && !self.quiescent
    }

    /// A control message (or ZLB) whose header names this tunnel, from an address
    /// [`Tunnel::accepts_from`] accepts.
    pub fn handle_message(&mut self, ctx: &mut Ctx, remote: SocketAddr, msg: ControlMessage) {
        if self.finished {
            return;
        }
        if self.foreign_stopccn(&msg) {
            // Dropped before the transport sees it: no acknowledgement, no sequence number
            // taken, so a forged one cannot even shift the peer's numbering.
            ctx.stats.wrong_tunnel_id += 1;
            return;
        }
        let ack_only = msg.is_zlb()
            || (self.cfg.version == Version::V3 && msg.message_type() == Some(MessageType::Ack));
        if !ack_only {
            ctx.stats.control_rx += 1;
            if matches!(self.state, TunnelState::WaitCtlReply | TunnelState::Listen)
                && !self.quiescent
            {
                // RFC 2661 §8.1: the peer may answer from another port.
                self.peer = remote;
            }
        }
        let dups = self.transport.stats().duplicates;
        self.transport.on_receive(ctx.now, msg);
        ctx.stats.duplicates += self.transport.stats().duplicates - dups;
        while let Some(tag) = self.transport.poll_acked() {
            self.on_acked(ctx, tag);
        }
        while let Some(m) = self.transport.poll_delivered() {
            if self.finished {
                // E.g. crossing StopCCNs: ours was just acknowledged by the peer's own
                // StopCCN. Nothing more to do but acknowledge it.
                continue;
            }
            if self.cfg.version == Version::V2 {
                let zlb_sid = self
                    .sessions
                    .get(&u32::from(m.header.session_id))
                    .map_or(0, |s| s.peer_id as u16);
                self.transport.set_zlb_session_id(zlb_sid);
            }
            self.process(ctx, m);
        }
        self.transport.flush_ack();
        self.flush(ctx);
    }

    fn on_acked(&mut self, ctx: &mut Ctx, tag: Tag) {
        match tag {
            Tag::None => {}
            Tag::Scccn => {
                if self.state == TunnelState::WaitCtlConnAck {
                    self.established(ctx);
                }
            }
            Tag::Iccn(sid) | Tag::Occn(sid) => {
                if let Some(s) = self.sessions.get_mut(&sid) {
                    if s.state == SessionState::WaitConnAck {
                        s.state = SessionState::Established;
                        self.clear_session_deadline(sid);
                        let ev = self.session_up_event(sid);
                        ctx.events.extend(ev);
                    }
                }
            }
            Tag::StopCcn => {
                if self.state == TunnelState::Closing {
                    // Reported down now; the record lingers to acknowledge the peer's late
                    // messages (its own StopCCN may have crossed ours).
                    let reason = self.close_reason.take().unwrap_or(DownReason::Timeout);
                    self.tunnel_down(ctx, reason);
                    self.linger(ctx.now);
                }
            }
        }
    }

    fn established(&mut self, ctx: &mut Ctx) {
        self.state = TunnelState::Established;
        self.established_once = true;
        self.transport.enable_hello(ctx.now);
        ctx.events.push_back(Event::TunnelUp {
            tunnel: TunnelId(self.id),
            peer_tunnel_id: self.peer_tunnel_id,
            peer: self.peer,
            version: self.cfg.version,
            encap: self.cfg.encap,
            peer_host_name: self.peer_host_name.clone(),
        });
    }

    fn tunnel_down(&mut self, ctx: &mut Ctx, reason: DownReason) {
        if self.down_reported {
            return;
        }
        self.down_reported = true;
        ctx.events.push_back(Event::TunnelDown {
            tunnel: TunnelId(self.id),
            reason,
        });
    }

    /// Sends StopCCN (sessions are reported down now, the tunnel when it is acknowledged).
    fn start_close(&mut self, ctx: &mut Ctx, rc: ResultCode, reason: DownReason) {
        if matches!(self.state, TunnelState::Closing | TunnelState::Closed) {
            return;
        }
        self.all_sessions_down(ctx, DownReason::TunnelDown);
        self.transport.clear_unsent();
        let assigned = match self.cfg.version {
            Version::V2 => AvpValue::AssignedTunnelId(self.id as u16),
            Version::V3 => AvpValue::AssignedControlConnectionId(self.id),
        };
        let stop = ControlMessage {
            header: self.header(0),
            avps: vec![
                Avp::m(AvpValue::MessageType(MessageType::StopCcn)),
                Avp::m(assigned),
                Avp::m(AvpValue::ResultCode(rc)),
            ],
        };
        self.state = TunnelState::Closing;
        self.close_reason = Some(reason);
        self.transport.send(ctx.now, stop, Tag::StopCcn);
    }

    /// API: close the tunnel with this result code.
    pub fn close(&mut self, ctx: &mut Ctx, rc: ResultCode) {
        self.start_close(ctx, rc.clone(), DownReason::Local(rc));
        self.flush(ctx);
    }

    /// A message delivered in order by the transport.
    fn process(&mut self, ctx: &mut Ctx, msg: ControlMessage) {
        let Some(mt) = msg.message_type() else {
            ctx.stats.malformed += 1;
            return;
        };
        match self.state {
            TunnelState::Closed => return,
            TunnelState::Closing if mt != MessageType::StopCcn => return,
            _ => {}
        }
        let v3_ack = self.cfg.version == Version::V3 && mt == MessageType::Ack;
        if matches!(mt, MessageType::Unknown(_) | MessageType::Ack) && !v3_ack {
            if msg.avps.first().is_some_and(|a| a.mandatory) {
                let r = rc(
                    result::STOPCCN_GENERAL_ERROR,
                    error_code::BAD_VALUE,
                    "unknown mandatory message type",
                );
                self.start_close(ctx, r.clone(), DownReason::Protocol(r));
            }
            return;
        }
        let unknown_mandatory = msg
            .avps
            .iter()
            .any(|a| a.mandatory && matches!(a.value, AvpValue::Unknown { .. }));
        if unknown_mandatory && mt != MessageType::Cdn && mt != MessageType::StopCcn {
            if session::is_session_message(mt) {
                let r = rc(
                    result::CDN_GENERAL_ERROR,
                    error_code::UNKNOWN_MANDATORY_AVP,
                    "unknown mandatory AVP",
                );
                self.session_error(ctx, &msg, r);
            } else {
                let r = rc(
                    result::STOPCCN_GENERAL_ERROR,
                    error_code::UNKNOWN_MANDATORY_AVP,
                    "unknown mandatory AVP",
                );
                if self.peer_tunnel_id == 0 {
                    if let Some(t) = assigned_tunnel_id(&msg) {
                        self.peer_tunnel_id = t;
                        self.transport.set_peer_tunnel_id(t);
                    }
                }
                self.start_close(ctx, r.clone(), DownReason::Protocol(r));
            }
            return;
        }
        // Required AVPs (RFC 2661 §6, RFC 3931 §6); SCCRQ/SCCRP are checked by
        // `validate_sccrx`, StopCCN and CDN are always honoured.
        if session::is_session_message(mt) && mt != MessageType::Cdn {
            if let Some(name) = rules::missing_avp(self.cfg.version, &msg) {
                let r = rc(
                    result::CDN_GENERAL_ERROR,
                    error_code::BAD_VALUE,
                    &format!("missing {name} AVP"),
                );
                self.session_error(ctx, &msg, r);
                return;
            }
        }
        if self.quiescent && !matches!(mt, MessageType::StopCcn) {
            // HELLO and everything else: the acknowledgement is all (no session negotiation).
            return;
        }
        match mt {
            MessageType::Sccrp => self.on_sccrp(ctx, &msg),
            MessageType::Sccrq => self.on_sccrq(ctx, &msg),
            MessageType::Scccn => self.on_scccn(ctx, &msg),
            MessageType::StopCcn => self.on_stopccn(ctx, &msg),
            MessageType::Icrq => self.on_call_request(ctx, &msg, false),
            MessageType::Ocrq => self.on_call_request(ctx, &msg, true),
            MessageType::Icrp => self.on_call_reply(ctx, &msg, false),
            MessageType::Ocrp => self.on_call_reply(ctx, &msg, true),
            MessageType::Iccn => self.on_connected(ctx, &msg, false),
            MessageType::Occn => self.on_connected(ctx, &msg, true),
            MessageType::Cdn => {
                if let Some(sid) = self.session_for(&msg) {
                    self.remove_session(ctx, sid);
                    ctx.events.push_back(Event::SessionDown {
                        tunnel: TunnelId(self.id),
                        session: SessionId(sid),
                        reason: DownReason::Peer(result_code_of(&msg)),
                    });
                }
            }
            MessageType::Wen => {
                if let (Some(sid), Some(errors)) = (self.session_for(&msg), msg.call_errors()) {
                    ctx.events.push_back(Event::WanError {
                        tunnel: TunnelId(self.id),
                        session: SessionId(sid),
                        errors,
                    });
                }
            }
            MessageType::Sli => {
                if let Some(sid) = self.session_for(&msg) {
                    ctx.events.push_back(Event::LinkInfo {
                        tunnel: TunnelId(self.id),
                        session: SessionId(sid),
                        accm: msg.accm(),
                        circuit_status: msg.circuit_status(),
                    });
                }
            }
            // HELLO needs only the ack.
            _ => {}
        }
    }
}
