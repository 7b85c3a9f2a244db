//! Control connection (tunnel) state machine, L2TPv2 (RFC 2661 §5.1, §7.2), both as initiator
//! (sends SCCRQ; the LAC in the usual set-up) and responder (answers SCCRQ; the LNS).
//!
//! The tunnel owns its [`Transport`] and its sessions. It never parses or emits bytes: it
//! consumes [`ControlMessage`] values and queues [`ControlMessage`] values for the endpoint.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use md5::{Digest, Md5};
use rand::rngs::SmallRng;
use rand::{Rng, RngCore};

use crate::endpoint::{
    ApiError, DownReason, EndpointStats, Event, SessionConfig, SessionId, TunnelConfig, TunnelId,
};
use crate::session::{self, Session, SessionInfo, SessionState};
use crate::transport::{SendKind, Tag, Transport, TransportConfig, TransportStats};
use crate::wire::{
    error_code, pw_type, result, Avp, AvpValue, ControlMessage, Encap, MessageType, ResultCode,
    Version,
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
    /// The peer sent StopCCN: the record stays to re-acknowledge retransmissions of it.
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
}

/// The endpoint's shared state a tunnel operation may touch.
pub(crate) struct Ctx<'a> {
    pub now: Instant,
    pub out: &'a mut VecDeque<OutMsg>,
    pub events: &'a mut VecDeque<Event>,
    pub stats: &'a mut EndpointStats,
    pub rng: &'a mut SmallRng,
}

/// Challenge Response = MD5(message type byte ‖ secret ‖ challenge) (RFC 2661 §4.2).
pub fn challenge_response(msg_type: u8, secret: &[u8], challenge: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update([msg_type]);
    h.update(secret);
    h.update(challenge);
    h.finalize().into()
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

/// What the peer told us in SCCRQ / SCCRP.
struct PeerParams {
    tunnel_id: u16,
    host_name: Vec<u8>,
    window: u16,
    challenge: Option<Vec<u8>>,
    challenge_response: Option<[u8; 16]>,
}

/// Checks the AVPs RFC 2661 §6.1/§6.2 require in SCCRQ and SCCRP. Optional ones (Bearer
/// Capabilities, Firmware Revision, Vendor Name, Receive Window Size) may be missing.
fn validate_sccrx(msg: &ControlMessage) -> Result<PeerParams, ResultCode> {
    let err = |what: &str| {
        rc(
            result::STOPCCN_GENERAL_ERROR,
            error_code::BAD_VALUE,
            &format!("missing or bad {what} AVP"),
        )
    };
    match msg.find(|v| match v {
        AvpValue::ProtocolVersion { version, revision } => Some((*version, *revision)),
        _ => None,
    }) {
        Some((1, _)) => {}
        Some(_) => {
            return Err(rc(
                result::STOPCCN_BAD_VERSION,
                error_code::NO_ERROR,
                "unsupported protocol version",
            ))
        }
        None => return Err(err("Protocol Version")),
    }
    if msg
        .find(|v| match v {
            AvpValue::FramingCapabilities(f) => Some(*f),
            _ => None,
        })
        .is_none()
    {
        return Err(err("Framing Capabilities"));
    }
    let host_name = msg
        .find(|v| match v {
            AvpValue::HostName(h) => Some(h.clone()),
            _ => None,
        })
        .ok_or_else(|| err("Host Name"))?;
    let tunnel_id = msg
        .find(|v| match v {
            AvpValue::AssignedTunnelId(t) if *t != 0 => Some(*t),
            _ => None,
        })
        .ok_or_else(|| err("Assigned Tunnel ID"))?;
    let window = msg
        .find(|v| match v {
            AvpValue::ReceiveWindowSize(w) => Some(*w),
            _ => None,
        })
        .unwrap_or(4);
    Ok(PeerParams {
        tunnel_id,
        host_name,
        window,
        challenge: msg.find(|v| match v {
            AvpValue::Challenge(c) => Some(c.clone()),
            _ => None,
        }),
        challenge_response: msg.find(|v| match v {
            AvpValue::ChallengeResponse(r) => Some(*r),
            _ => None,
        }),
    })
}

fn result_code_of(msg: &ControlMessage) -> ResultCode {
    msg.find(|v| match v {
        AvpValue::ResultCode(r) => Some(r.clone()),
        _ => None,
    })
    .unwrap_or(ResultCode {
        result: 0,
        error: None,
        message: None,
    })
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
    sessions: HashMap<u32, Session>,
    next_call_serial: u32,
    /// Why we are closing (reported as TunnelDown once the StopCCN is acknowledged).
    close_reason: Option<DownReason>,
    closed_hold: Duration,
    closed_until: Option<Instant>,
    our_challenge: Option<Vec<u8>>,
    /// TunnelDown was reported (at most once).
    down_reported: bool,
    /// The tunnel is gone: the endpoint removes it.
    pub finished: bool,
    /// Timer currently registered with the endpoint.
    pub scheduled: Option<Instant>,
}

impl Tunnel {
    fn new(id: u32, cfg: TunnelConfig, role: Role, closed_hold: Duration) -> Self {
        let tcfg = TransportConfig {
            recv_window: cfg.window_size.max(1),
            retry_timeout: cfg.retry_timeout,
            max_retries: cfg.max_retries,
            hello_interval: cfg.hello_interval,
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
            sessions: HashMap::new(),
            next_call_serial: 1,
            close_reason: None,
            closed_hold,
            closed_until: None,
            our_challenge: None,
            down_reported: false,
            finished: false,
            scheduled: None,
            cfg,
        }
    }

    /// Initiator: creates the tunnel and sends SCCRQ.
    pub fn connect(id: u32, cfg: TunnelConfig, closed_hold: Duration, ctx: &mut Ctx) -> Self {
        let mut t = Tunnel::new(id, cfg, Role::Initiator, closed_hold);
        if t.cfg.secret.is_some() {
            let mut c = vec![0u8; 16];
            ctx.rng.fill_bytes(&mut c);
            t.our_challenge = Some(c);
        }
        let sccrq = t.sccrx(MessageType::Sccrq, None);
        t.transport.send(ctx.now, sccrq, Tag::None);
        t.flush(ctx);
        t
    }

    /// Responder: a tunnel for a peer's SCCRQ (which must then be fed to
    /// [`Tunnel::handle_message`]).
    pub fn accept(id: u32, cfg: TunnelConfig, closed_hold: Duration, ctx: &mut Ctx) -> Self {
        let mut t = Tunnel::new(id, cfg, Role::Responder, closed_hold);
        if t.cfg.secret.is_some() {
            let mut c = vec![0u8; 16];
            ctx.rng.fill_bytes(&mut c);
            t.our_challenge = Some(c);
        }
        t
    }

    fn header(&self, peer_session_id: u32) -> crate::wire::ControlHeader {
        session::header(self.cfg.version, self.peer_tunnel_id, peer_session_id)
    }

    /// SCCRQ or SCCRP with our parameters (xl2tpd's AVP order).
    fn sccrx(&self, t: MessageType, response: Option<[u8; 16]>) -> ControlMessage {
        let mut avps = vec![
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
        ];
        if let Some(r) = response {
            avps.push(Avp::m(AvpValue::ChallengeResponse(r)));
        }
        if let Some(c) = &self.our_challenge {
            avps.push(Avp::m(AvpValue::Challenge(c.clone())));
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
            ctx.out.push_back(OutMsg {
                tunnel: self.id,
                dest: self.peer,
                encap: self.cfg.encap,
                msg: o.msg,
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
        self.transport.handle_timeout(ctx.now);
        if self.transport.failed() {
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

    /// A control message (or ZLB) whose header names this tunnel.
    pub fn handle_message(&mut self, ctx: &mut Ctx, remote: SocketAddr, msg: ControlMessage) {
        if self.finished {
            return;
        }
        if !msg.is_zlb() {
            ctx.stats.control_rx += 1;
            if matches!(self.state, TunnelState::WaitCtlReply | TunnelState::Listen) {
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
            let zlb_sid = self
                .sessions
                .get(&u32::from(m.header.session_id))
                .map_or(0, |s| s.peer_id as u16);
            self.transport.set_zlb_session_id(zlb_sid);
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
            Tag::Iccn(sid) => {
                if let Some(s) = self.sessions.get_mut(&sid) {
                    if s.state == SessionState::WaitConnAck {
                        s.state = SessionState::Established;
                        let ev = self.session_up_event(sid);
                        ctx.events.extend(ev);
                    }
                }
            }
            Tag::StopCcn => {
                if self.state == TunnelState::Closing {
                    let reason = self.close_reason.take().unwrap_or(DownReason::Timeout);
                    self.transport.stop();
                    self.tunnel_down(ctx, reason);
                    self.finished = true;
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
        })
    }

    fn established(&mut self, ctx: &mut Ctx) {
        self.state = TunnelState::Established;
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

    fn all_sessions_down(&mut self, ctx: &mut Ctx, reason: DownReason) {
        let mut ids: Vec<u32> = self.sessions.keys().copied().collect();
        ids.sort_unstable();
        for sid in ids {
            self.sessions.remove(&sid);
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
        let stop = ControlMessage {
            header: self.header(0),
            avps: vec![
                Avp::m(AvpValue::MessageType(MessageType::StopCcn)),
                Avp::m(AvpValue::AssignedTunnelId(self.id as u16)),
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

    /// API: open a session (ICRQ now, or once the tunnel has the peer's tunnel ID).
    pub fn open_session(&mut self, ctx: &mut Ctx, cfg: SessionConfig) -> Result<u32, ApiError> {
        if matches!(self.state, TunnelState::Closing | TunnelState::Closed) || self.finished {
            return Err(ApiError::NotEstablished(TunnelId(self.id)));
        }
        if self.cfg.version == Version::V2 && cfg.pseudowire != pw_type::PPP {
            return Err(ApiError::InvalidConfig("L2TPv2 sessions carry PPP only"));
        }
        let id = match cfg.local_session_id {
            Some(id) if id == 0 || id > 0xffff => {
                return Err(ApiError::InvalidConfig("v2 session ID must be 1..=65535"))
            }
            Some(id) if self.sessions.contains_key(&id) => return Err(ApiError::IdInUse(id)),
            Some(id) => id,
            None => self.alloc_session_id(ctx)?,
        };
        let serial = self.next_call_serial;
        self.next_call_serial = self.next_call_serial.wrapping_add(1);
        let mut s = Session {
            id,
            peer_id: 0,
            cfg,
            state: SessionState::WaitTunnel,
            call_serial: serial,
            incoming: false,
        };
        if matches!(
            self.state,
            TunnelState::WaitCtlConnAck | TunnelState::Established
        ) {
            self.transport
                .send(ctx.now, session::icrq(self.header(0), &s), Tag::None);
            s.state = SessionState::WaitReply;
        }
        self.sessions.insert(id, s);
        self.flush(ctx);
        Ok(id)
    }

    fn alloc_session_id(&mut self, ctx: &mut Ctx) -> Result<u32, ApiError> {
        for _ in 0..64 {
            let id = ctx.rng.gen_range(1..=0xffffu32);
            if !self.sessions.contains_key(&id) {
                return Ok(id);
            }
        }
        (1..=0xffffu32)
            .find(|id| !self.sessions.contains_key(id))
            .ok_or(ApiError::InvalidConfig("no free session ID"))
    }

    /// API: close a session with a CDN.
    pub fn close_session(
        &mut self,
        ctx: &mut Ctx,
        sid: u32,
        rc: ResultCode,
    ) -> Result<(), ApiError> {
        if !self.sessions.contains_key(&sid) {
            return Err(ApiError::NoSuchSession(TunnelId(self.id), SessionId(sid)));
        }
        self.close_session_internal(ctx, sid, rc.clone(), DownReason::Local(rc));
        self.flush(ctx);
        Ok(())
    }

    fn close_session_internal(
        &mut self,
        ctx: &mut Ctx,
        sid: u32,
        rc: ResultCode,
        reason: DownReason,
    ) {
        let Some(s) = self.sessions.remove(&sid) else {
            return;
        };
        // A session still waiting for the tunnel never reached the peer: nothing to send.
        if s.state != SessionState::WaitTunnel {
            let m = session::cdn(self.header(s.peer_id), sid, &rc);
            self.transport.send(ctx.now, m, Tag::None);
        }
        ctx.events.push_back(Event::SessionDown {
            tunnel: TunnelId(self.id),
            session: SessionId(sid),
            reason,
        });
    }

    /// The local session a session message is about: by header Session ID, or (CDN from a peer
    /// that did not know our ID yet) by its Assigned Session ID.
    fn session_for(&self, msg: &ControlMessage) -> Option<u32> {
        let sid = u32::from(msg.header.session_id);
        if sid != 0 && self.sessions.contains_key(&sid) {
            return Some(sid);
        }
        if msg.message_type() == Some(MessageType::Cdn) {
            let peer_sid = msg.find(|v| match v {
                AvpValue::AssignedSessionId(s) if *s != 0 => Some(u32::from(*s)),
                _ => None,
            })?;
            return self
                .sessions
                .values()
                .find(|s| s.peer_id == peer_sid)
                .map(|s| s.id);
        }
        None
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
        if let MessageType::Unknown(_) | MessageType::Ack = mt {
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
                if let Some(sid) = self.session_for(&msg) {
                    self.close_session_internal(ctx, sid, r.clone(), DownReason::Protocol(r));
                } else if mt == MessageType::Icrq {
                    // Refuse the call: CDN to the peer's session, no local session.
                    if let Some(peer_sid) = msg.find(|v| match v {
                        AvpValue::AssignedSessionId(s) => Some(u32::from(*s)),
                        _ => None,
                    }) {
                        let m = session::cdn(self.header(peer_sid), 0, &r);
                        self.transport.send(ctx.now, m, Tag::None);
                    }
                }
            } else {
                let r = rc(
                    result::STOPCCN_GENERAL_ERROR,
                    error_code::UNKNOWN_MANDATORY_AVP,
                    "unknown mandatory AVP",
                );
                if self.peer_tunnel_id == 0 {
                    if let Some(t) = msg.find(|v| match v {
                        AvpValue::AssignedTunnelId(t) => Some(u32::from(*t)),
                        _ => None,
                    }) {
                        self.peer_tunnel_id = t;
                        self.transport.set_peer_tunnel_id(t);
                    }
                }
                self.start_close(ctx, r.clone(), DownReason::Protocol(r));
            }
            return;
        }
        match mt {
            MessageType::Sccrp => self.on_sccrp(ctx, &msg),
            MessageType::Sccrq => self.on_sccrq(ctx, &msg),
            MessageType::Scccn => self.on_scccn(ctx, &msg),
            MessageType::StopCcn => self.on_stopccn(ctx, &msg),
            MessageType::Icrq => self.on_icrq(ctx, &msg),
            MessageType::Icrp => self.on_icrp(ctx, &msg),
            MessageType::Iccn => self.on_iccn(ctx, &msg),
            MessageType::Cdn => {
                if let Some(sid) = self.session_for(&msg) {
                    self.sessions.remove(&sid);
                    ctx.events.push_back(Event::SessionDown {
                        tunnel: TunnelId(self.id),
                        session: SessionId(sid),
                        reason: DownReason::Peer(result_code_of(&msg)),
                    });
                }
            }
            // HELLO needs only the ack; WEN/SLI carry nothing we act on; outgoing calls are
            // not supported (ignored).
            _ => {}
        }
    }

    /// Learns the peer's parameters from SCCRQ/SCCRP; on error starts closing.
    fn learn_peer(&mut self, ctx: &mut Ctx, msg: &ControlMessage) -> Option<PeerParams> {
        match validate_sccrx(msg) {
            Ok(p) => {
                self.peer_tunnel_id = u32::from(p.tunnel_id);
                self.transport.set_peer_tunnel_id(self.peer_tunnel_id);
                self.transport.set_peer_window(ctx.now, p.window);
                self.peer_host_name = p.host_name.clone();
                Some(p)
            }
            Err(r) => {
                if let Some(t) = msg.find(|v| match v {
                    AvpValue::AssignedTunnelId(t) => Some(u32::from(*t)),
                    _ => None,
                }) {
                    self.peer_tunnel_id = t;
                    self.transport.set_peer_tunnel_id(t);
                }
                self.start_close(ctx, r.clone(), DownReason::Protocol(r));
                None
            }
        }
    }

    fn not_authorized(&mut self, ctx: &mut Ctx, why: &str) {
        let r = rc(result::STOPCCN_NOT_AUTHORIZED, error_code::NO_ERROR, why);
        self.start_close(ctx, r.clone(), DownReason::Protocol(r));
    }

    /// Checks the peer's answer to our challenge (`byte` = the message type it came in).
    fn check_response(&self, byte: u8, response: Option<[u8; 16]>) -> bool {
        match (&self.our_challenge, &self.cfg.secret) {
            (Some(c), Some(secret)) => response == Some(challenge_response(byte, secret, c)),
            _ => true,
        }
    }

    /// Our answer to the peer's challenge, if it sent one; `Err` when we have no secret.
    fn answer(&self, byte: u8, challenge: Option<&Vec<u8>>) -> Result<Option<[u8; 16]>, ()> {
        match (challenge, &self.cfg.secret) {
            (None, _) => Ok(None),
            (Some(c), Some(secret)) => Ok(Some(challenge_response(byte, secret, c))),
            (Some(_), None) => Err(()),
        }
    }

    fn on_sccrp(&mut self, ctx: &mut Ctx, msg: &ControlMessage) {
        if self.role != Role::Initiator || self.state != TunnelState::WaitCtlReply {
            return;
        }
        let Some(p) = self.learn_peer(ctx, msg) else {
            return;
        };
        if !self.check_response(2, p.challenge_response) {
            return self.not_authorized(ctx, "bad challenge response");
        }
        let Ok(resp) = self.answer(3, p.challenge.as_ref()) else {
            return self.not_authorized(ctx, "challenged but no secret configured");
        };
        let mut avps = vec![Avp::m(AvpValue::MessageType(MessageType::Scccn))];
        if let Some(r) = resp {
            avps.push(Avp::m(AvpValue::ChallengeResponse(r)));
        }
        let scccn = ControlMessage {
            header: self.header(0),
            avps,
        };
        self.transport.send(ctx.now, scccn, Tag::Scccn);
        self.state = TunnelState::WaitCtlConnAck;
        // Sessions opened before the peer's tunnel ID was known: ICRQ now, like xl2tpd.
        let mut waiting: Vec<u32> = self
            .sessions
            .values()
            .filter(|s| s.state == SessionState::WaitTunnel)
            .map(|s| s.id)
            .collect();
        waiting.sort_unstable();
        for sid in waiting {
            let h = self.header(0);
            if let Some(s) = self.sessions.get_mut(&sid) {
                s.state = SessionState::WaitReply;
                let m = session::icrq(h, s);
                self.transport.send(ctx.now, m, Tag::None);
            }
        }
    }

    fn on_sccrq(&mut self, ctx: &mut Ctx, msg: &ControlMessage) {
        if self.role != Role::Responder || self.state != TunnelState::Listen {
            return;
        }
        let Some(p) = self.learn_peer(ctx, msg) else {
            return;
        };
        let Ok(resp) = self.answer(2, p.challenge.as_ref()) else {
            return self.not_authorized(ctx, "challenged but no secret configured");
        };
        let sccrp = self.sccrx(MessageType::Sccrp, resp);
        self.transport.send(ctx.now, sccrp, Tag::None);
        self.state = TunnelState::WaitCtlConn;
    }

    fn on_scccn(&mut self, ctx: &mut Ctx, msg: &ControlMessage) {
        if self.role != Role::Responder || self.state != TunnelState::WaitCtlConn {
            return;
        }
        let resp = msg.find(|v| match v {
            AvpValue::ChallengeResponse(r) => Some(*r),
            _ => None,
        });
        if !self.check_response(3, resp) {
            return self.not_authorized(ctx, "bad challenge response");
        }
        self.established(ctx);
    }

    fn on_stopccn(&mut self, ctx: &mut Ctx, msg: &ControlMessage) {
        let peer_rc = result_code_of(msg);
        if self.peer_tunnel_id == 0 {
            // Refused before SCCRP: address the ZLB to the tunnel the peer names.
            if let Some(t) = msg.find(|v| match v {
                AvpValue::AssignedTunnelId(t) => Some(u32::from(*t)),
                _ => None,
            }) {
                self.peer_tunnel_id = t;
                self.transport.set_peer_tunnel_id(t);
            }
        }
        let reason = match self.state {
            TunnelState::Closing => self
                .close_reason
                .take()
                .unwrap_or(DownReason::Peer(peer_rc)),
            _ => DownReason::Peer(peer_rc),
        };
        self.all_sessions_down(ctx, DownReason::TunnelDown);
        self.tunnel_down(ctx, reason);
        // Keep the record to re-acknowledge retransmissions of the StopCCN (RFC 2661 §5.7).
        self.transport.stop();
        self.state = TunnelState::Closed;
        self.closed_until = Some(ctx.now + self.closed_hold);
    }

    fn on_icrq(&mut self, ctx: &mut Ctx, msg: &ControlMessage) {
        if self.state != TunnelState::Established {
            return;
        }
        let Some(peer_sid) = msg.find(|v| match v {
            AvpValue::AssignedSessionId(s) if *s != 0 => Some(u32::from(*s)),
            _ => None,
        }) else {
            return;
        };
        let Ok(id) = self.alloc_session_id(ctx) else {
            let r = rc(result::CDN_NO_FACILITIES_TEMP, error_code::NO_RESOURCES, "");
            let m = session::cdn(self.header(peer_sid), 0, &r);
            self.transport.send(ctx.now, m, Tag::None);
            return;
        };
        let serial = msg
            .find(|v| match v {
                AvpValue::CallSerialNumber(n) => Some(*n),
                _ => None,
            })
            .unwrap_or(0);
        let cfg = SessionConfig {
            bearer_type: msg
                .find(|v| match v {
                    AvpValue::BearerType(b) => Some(*b),
                    _ => None,
                })
                .unwrap_or(0),
            calling_number: msg.find(|v| match v {
                AvpValue::CallingNumber(n) => Some(n.clone()),
                _ => None,
            }),
            called_number: msg.find(|v| match v {
                AvpValue::CalledNumber(n) => Some(n.clone()),
                _ => None,
            }),
            local_session_id: Some(id),
            ..SessionConfig::default()
        };
        let s = Session {
            id,
            peer_id: peer_sid,
            cfg,
            state: SessionState::WaitConnect,
            call_serial: serial,
            incoming: true,
        };
        let m = session::icrp(self.header(peer_sid), &s);
        self.sessions.insert(id, s);
        self.transport.send(ctx.now, m, Tag::None);
    }

    fn on_icrp(&mut self, ctx: &mut Ctx, msg: &ControlMessage) {
        let Some(sid) = self.session_for(msg) else {
            return;
        };
        let h_tunnel = self.header(0);
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        if s.state != SessionState::WaitReply {
            return;
        }
        let Some(peer_sid) = msg.find(|v| match v {
            AvpValue::AssignedSessionId(p) if *p != 0 => Some(u32::from(*p)),
            _ => None,
        }) else {
            let r = rc(
                result::CDN_GENERAL_ERROR,
                error_code::BAD_VALUE,
                "missing Assigned Session ID AVP",
            );
            self.close_session_internal(ctx, sid, r.clone(), DownReason::Protocol(r));
            return;
        };
        s.peer_id = peer_sid;
        s.state = SessionState::WaitConnAck;
        let mut h = h_tunnel;
        h.session_id = peer_sid as u16;
        let m = session::iccn(h, s);
        self.transport.send(ctx.now, m, Tag::Iccn(sid));
    }

    fn on_iccn(&mut self, ctx: &mut Ctx, msg: &ControlMessage) {
        let Some(sid) = self.session_for(msg) else {
            return;
        };
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        if s.state != SessionState::WaitConnect {
            return;
        }
        s.state = SessionState::Established;
        let ev = self.session_up_event(sid);
        ctx.events.extend(ev);
    }

    /// Status snapshot.
    pub fn info(&self) -> TunnelInfo {
        let mut sessions: Vec<SessionInfo> = self.sessions.values().map(|s| s.info()).collect();
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
