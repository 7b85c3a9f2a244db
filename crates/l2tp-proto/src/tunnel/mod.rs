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

    fn random_bytes(ctx: &mut Ctx, n: usize) -> Vec<u8> {
        let mut c = vec![0u8; n];
        ctx.rng.fill_bytes(&mut c);
        c
    }

    /// Sets up challenge (v2) or nonce (v3) per configuration.
    fn init_auth(&mut self, ctx: &mut Ctx) {
        match self.cfg.version {
            Version::V2 => {
                if self.cfg.secret.is_some() && self.cfg.challenge {
                    self.our_challenge = Some(Self::random_bytes(ctx, 16));
                }
            }
            Version::V3 => {
                if let (Some(alg), Some(_)) = (self.cfg.digest, &self.cfg.secret) {
                    self.digest_alg = Some(alg);
                    self.local_nonce = Some(Self::random_bytes(ctx, 16));
                }
            }
        }
        self.update_auth();
    }

    /// Rebuilds the encoding context after a change of keys or nonces.
    fn update_auth(&mut self) {
        let hide = !self.cfg.hide_avps.is_empty() && self.cfg.secret.is_some();
        let digest = match (self.digest_alg, self.digest_key) {
            (Some(alg), Some(key)) => Some(DigestKeys {
                alg,
                key,
                local_nonce: self.local_nonce.clone().unwrap_or_default(),
                peer_nonce: self.peer_nonce.clone().unwrap_or_default(),
            }),
            _ => None,
        };
        self.auth = if hide || digest.is_some() {
            Some(Arc::new(Auth {
                secret: if hide { self.cfg.secret.clone() } else { None },
                digest,
            }))
        } else {
            None
        };
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

    /// Hides the configured AVPs of `msg` behind a fresh Random Vector and adds the (zero)
    /// Message Digest AVP right after the Message Type AVP, as configured.
    fn decorate(&self, ctx: &mut Ctx, msg: &mut ControlMessage) {
        if msg.avps.is_empty() {
            return;
        }
        if self.cfg.secret.is_some() && !self.cfg.hide_avps.is_empty() {
            let hideable = |a: &Avp| {
                a.value.vendor() == 0
                    && self.cfg.hide_avps.contains(&a.value.attr_type())
                    && !matches!(
                        a.value,
                        AvpValue::MessageType(_)
                            | AvpValue::RandomVector(_)
                            | AvpValue::MessageDigest { .. }
                            | AvpValue::ControlMessageAuthNonce(_)
                            | AvpValue::TieBreaker(_)
                    )
            };
            if let Some(first) = msg.avps.iter().skip(1).position(hideable) {
                for a in msg.avps.iter_mut().skip(1) {
                    if hideable(a) {
                        a.hidden = true;
                    }
                }
                let rv = Self::random_bytes(ctx, 16);
                msg.avps
                    .insert(first + 1, Avp::m(AvpValue::RandomVector(rv)));
            }
        }
        if let Some(alg) = self.digest_alg {
            msg.avps.insert(
                1,
                Avp::m(AvpValue::MessageDigest {
                    digest_type: alg.wire_type(),
                    digest: vec![0; alg.digest_len()],
                }),
            );
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

    /// Checks the Message Digest of a received message (`raw` from the control header on)
    /// when Control Message Authentication is on (RFC 3931 §4.3): true to accept.
    pub fn verify(&self, raw: &[u8], msg: &ControlMessage) -> bool {
        let (Some(_), Some(key)) = (self.digest_alg, self.digest_key) else {
            return true;
        };
        let mt = msg.message_type();
        if mt == Some(MessageType::Sccrq) {
            return auth::verify(raw, &key, None);
        }
        let from_msg;
        let peer_nonce = match (&self.peer_nonce, mt) {
            (Some(n), _) => n.as_slice(),
            (None, Some(MessageType::Sccrp)) => match nonce_of(msg) {
                Some(n) => {
                    from_msg = n;
                    from_msg.as_slice()
                }
                None => return false,
            },
            (None, _) if self.quiescent => &[],
            (None, _) => return false,
        };
        let local = self.local_nonce.as_deref().unwrap_or_default();
        auth::verify(raw, &key, Some((peer_nonce, local)))
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

    /// Call set-up timer: a session not established within two retransmission cycles of its
    /// creation is cleared with CDN Result Code 10 (RFC 2661 §4.4.2: "not established within
    /// time allotted") and reported down with [`DownReason::Timeout`]. Bounds what a peer
    /// that opens calls and never completes them can make us hold.
    fn expire_sessions(&mut self, ctx: &mut Ctx) {
        while let Some(&(at, sid)) = self.session_deadlines.first() {
            if at > ctx.now {
                break;
            }
            self.session_deadlines.pop_first();
            let Some(s) = self.sessions.get_mut(&sid) else {
                continue;
            };
            if s.deadline != Some(at) {
                continue;
            }
            s.deadline = None;
            let pending = !matches!(
                s.state,
                SessionState::Established | SessionState::WaitConnAck
            );
            if pending {
                let r = rc(
                    result::CDN_TIMEOUT,
                    error_code::NO_ERROR,
                    "call set-up timeout",
                );
                self.close_session_internal(ctx, sid, r, DownReason::Timeout);
            }
        }
    }

    fn arm_session_deadline(&mut self, now: Instant, sid: u32) {
        let at = now + Self::setup_time(&self.cfg).saturating_mul(2);
        if let Some(s) = self.sessions.get_mut(&sid) {
            if let Some(old) = s.deadline.replace(at) {
                self.session_deadlines.remove(&(old, sid));
            }
            self.session_deadlines.insert((at, sid));
        }
    }

    /// Stops a session's call set-up timer (it is established, or gone).
    fn clear_session_deadline(&mut self, sid: u32) {
        if let Some(at) = self.sessions.get_mut(&sid).and_then(|s| s.deadline.take()) {
            self.session_deadlines.remove(&(at, sid));
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

    fn session_up_event(&self, sid: u32) -> Option<Event> {
        let s = self.sessions.get(&sid)?;
        Some(Event::SessionUp {
            tunnel: TunnelId(self.id),
            session: SessionId(sid),
            peer_session_id: s.peer_id,
            peer_tunnel_id: self.peer_tunnel_id,
            pseudowire: s.cfg.pseudowire,
            params: s.params(),
        })
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

    /// Adds a session; indexes its peer ID, if known.
    fn insert_session(&mut self, s: Session) {
        if s.peer_id != 0 {
            self.peer_sessions.insert(s.peer_id, s.id);
        }
        self.sessions.insert(s.id, s);
    }

    /// Records the peer's ID of a session (whose peer ID was 0).
    fn set_peer_id(&mut self, sid: u32, peer_sid: u32) {
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.peer_id = peer_sid;
            self.peer_sessions.insert(peer_sid, sid);
        }
    }

    /// Removes a session, its index entries and timer, and frees its ID.
    fn remove_session(&mut self, ctx: &mut Ctx, sid: u32) -> Option<Session> {
        self.clear_session_deadline(sid);
        let s = self.sessions.remove(&sid)?;
        if s.peer_id != 0 && self.peer_sessions.get(&s.peer_id) == Some(&sid) {
            self.peer_sessions.remove(&s.peer_id);
        }
        if self.cfg.version == Version::V3 {
            ctx.v3_sessions.remove(&sid);
        }
        Some(s)
    }

    fn all_sessions_down(&mut self, ctx: &mut Ctx, reason: DownReason) {
        self.peer_sessions.clear();
        self.session_deadlines.clear();
        for (sid, _) in self.sessions.take_all() {
            if self.cfg.version == Version::V3 {
                ctx.v3_sessions.remove(&sid);
            }
            ctx.events.push_back(Event::SessionDown {
                tunnel: TunnelId(self.id),
                session: SessionId(sid),
                reason: reason.clone(),
            });
        }
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

    /// Status snapshot.
    pub fn info(&self) -> TunnelInfo {
        let mut sessions: Vec<SessionInfo> = self.sessions.scan().map(|(_, s)| s.info()).collect();
        sessions.sort_by_key(|s| s.id);
        TunnelInfo {
            id: TunnelId(self.id),
            state: self.state,
            role: self.role,
            version: self.cfg.version,
            encap: self.cfg.encap,
            peer: self.peer,
            peer_tunnel_id: self.peer_tunnel_id,
            peer_host_name: self.peer_host_name.clone(),
            send_window: self.transport.peer_window(),
            in_flight: self.transport.in_flight(),
            next_ns: self.transport.next_ns(),
            next_nr: self.transport.expected_ns(),
            transport: self.transport.stats(),
            sessions,
        }
    }

    /// Number of sessions (for leak checks).
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Local IDs of this tunnel's sessions (for the endpoint's consistency check).
    pub fn session_ids(&self) -> Vec<u32> {
        self.sessions.scan().map(|(id, _)| id).collect()
    }

    /// Checks the tunnel's indexes against a walk of its sessions: the peer session index
    /// holds exactly the sessions with a known peer ID (unique), the call set-up timers
    /// exactly the sessions with a deadline. For tests.
    pub fn check_indexes(&self) -> Result<(), String> {
        let mut peers = HashMap::new();
        let mut deadlines = BTreeSet::new();
        for (id, s) in self.sessions.scan() {
            if s.id != id {
                return Err(format!(
                    "tunnel {}: session {id} filed under {}",
                    self.id, s.id
                ));
            }
            if s.peer_id != 0 && peers.insert(s.peer_id, id).is_some() {
                return Err(format!(
                    "tunnel {}: peer session ID {} held twice",
                    self.id, s.peer_id
                ));
            }
            if let Some(at) = s.deadline {
                deadlines.insert((at, id));
            }
        }
        if peers != self.peer_sessions {
            return Err(format!(
                "tunnel {}: peer session index {:?}, sessions say {peers:?}",
                self.id, self.peer_sessions
            ));
        }
        if deadlines != self.session_deadlines {
            return Err(format!(
                "tunnel {}: {} call set-up timers, sessions say {}",
                self.id,
                self.session_deadlines.len(),
                deadlines.len()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::{Digest, Md5};

    #[test]
    fn challenge_response_matches_xl2tpd_formula() {
        // MD5(2 ‖ "s" ‖ [1,2,3]) computed independently.
        let r = challenge_response(2, b"s", &[1, 2, 3]);
        let mut h = Md5::new();
        h.update([2u8, b's', 1, 2, 3]);
        let e: [u8; 16] = h.finalize().into();
        assert_eq!(r, e);
    }
}
