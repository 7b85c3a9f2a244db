//! Session (call) state machine: incoming calls (ICRQ/ICRP/ICCN, RFC 2661 §7.4.1/§7.4.2,
//! RFC 3931 §3.4.1) and outgoing calls (OCRQ/OCRP/OCCN, RFC 2661 §7.5, RFC 3931 §3.4.2), for
//! L2TPv2 and L2TPv3.
//!
//! The tunnel owns its sessions and drives them; this module keeps the per-session state and
//! builds the session messages (ICRQ, ICRP, ICCN, OCRQ, OCRP, OCCN, CDN, WEN, SLI). In L2TPv3
//! the control header has no Session ID: session messages name both ends by the Local Session
//! ID (the sender's) and Remote Session ID (the receiver's) AVPs.

use crate::config::{SessionConfig, SessionParams};
use crate::wire::{
    Avp, AvpValue, CallErrors, ControlHeader, ControlMessage, MessageType, ResultCode, Version,
};

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Call originator: waiting for the tunnel to reach the point where ICRQ/OCRQ can be sent.
    WaitTunnel,
    /// Call originator: ICRQ/OCRQ sent, waiting for ICRP/OCRP.
    WaitReply,
    /// ICCN sent (incoming call originator) or OCCN sent (outgoing call answerer), waiting for
    /// its acknowledgement.
    WaitConnAck,
    /// ICRP sent (incoming call answerer) or OCRP received (outgoing call originator), waiting
    /// for ICCN / OCCN.
    WaitConnect,
    /// Established: SessionUp was reported.
    Established,
}

/// A snapshot of one session, for status displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Local session ID.
    pub id: u32,
    /// The peer's session ID (0 while unknown).
    pub peer_id: u32,
    /// State.
    pub state: SessionState,
    /// Call Serial Number.
    pub call_serial: u32,
    /// True if the peer started the call.
    pub peer_initiated: bool,
    /// True for an outgoing call (OCRQ) rather than an incoming one (ICRQ).
    pub outgoing_call: bool,
    /// Pseudowire type.
    pub pseudowire: u16,
}

/// What the peer told us about a session.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerSession {
    pub cookie: Vec<u8>,
    pub l2_specific: u16,
    pub data_sequencing: u16,
    pub circuit_status: Option<u16>,
    pub remote_end_id: Vec<u8>,
    pub calling_number: Option<Vec<u8>>,
    pub called_number: Option<Vec<u8>>,
    pub proxy_avps: Vec<AvpValue>,
}

impl PeerSession {
    /// Picks up whatever session parameters `msg` carries (later messages override earlier).
    pub fn learn(&mut self, msg: &ControlMessage) {
        for a in &msg.avps {
            match &a.value {
                AvpValue::AssignedCookie(c) => self.cookie = c.clone(),
                AvpValue::L2SpecificSublayer(v) => self.l2_specific = *v,
                AvpValue::DataSequencing(v) => self.data_sequencing = *v,
                AvpValue::CircuitStatus(v) => self.circuit_status = Some(*v),
                AvpValue::RemoteEndId(v) => self.remote_end_id = v.clone(),
                AvpValue::CallingNumber(v) => self.calling_number = Some(v.clone()),
                AvpValue::CalledNumber(v) => self.called_number = Some(v.clone()),
                v if is_proxy_avp(v) && self.proxy_avps.len() < 16 => {
                    self.proxy_avps.push(v.clone())
                }
                _ => {}
            }
        }
    }
}

/// Proxy LCP and authentication AVPs (RFC 2661 §4.4.5, types 26–33).
pub(crate) fn is_proxy_avp(v: &AvpValue) -> bool {
    matches!(
        v,
        AvpValue::InitialReceivedLcpConfreq(_)
            | AvpValue::LastSentLcpConfreq(_)
            | AvpValue::LastReceivedLcpConfreq(_)
            | AvpValue::ProxyAuthenType(_)
            | AvpValue::ProxyAuthenName(_)
            | AvpValue::ProxyAuthenChallenge(_)
            | AvpValue::ProxyAuthenId(_)
            | AvpValue::ProxyAuthenResponse(_)
    )
}

/// One session inside a tunnel.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub id: u32,
    pub peer_id: u32,
    pub cfg: SessionConfig,
    pub state: SessionState,
    pub call_serial: u32,
    pub peer_initiated: bool,
    pub outgoing_call: bool,
    pub peer: PeerSession,
    /// Call set-up deadline, while one is armed (the tunnel's `session_deadlines` holds it
    /// too).
    pub deadline: Option<std::time::Instant>,
}

impl Session {
    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            id: self.id,
            peer_id: self.peer_id,
            state: self.state,
            call_serial: self.call_serial,
            peer_initiated: self.peer_initiated,
            outgoing_call: self.outgoing_call,
            pseudowire: self.cfg.pseudowire,
        }
    }

    /// The data-plane parameters for [`crate::shared::Event::SessionUp`].
    pub fn params(&self) -> SessionParams {
        SessionParams {
            peer_initiated: self.peer_initiated,
            outgoing_call: self.outgoing_call,
            call_serial: self.call_serial,
            local_cookie: self.cfg.cookie.clone(),
            peer_cookie: self.peer.cookie.clone(),
            l2_specific: self.cfg.l2_specific,
            peer_l2_specific: self.peer.l2_specific,
            data_sequencing: self.cfg.data_sequencing,
            peer_data_sequencing: self.peer.data_sequencing,
            peer_circuit_status: self.peer.circuit_status,
            remote_end_id: if self.peer_initiated {
                self.peer.remote_end_id.clone()
            } else {
                self.cfg.remote_end_id.clone()
            },
            interface_name: self.cfg.interface_name.clone(),
            calling_number: self
                .peer
                .calling_number
                .clone()
                .or_else(|| self.cfg.calling_number.clone()),
            called_number: self
                .peer
                .called_number
                .clone()
                .or_else(|| self.cfg.called_number.clone()),
            proxy_avps: self.peer.proxy_avps.clone(),
        }
    }
}

/// A message header for the peer: its tunnel ID and session ID (Ns/Nr are the transport's).
/// L2TPv3 headers have no Session ID (0).
pub(crate) fn header(version: Version, peer_tunnel_id: u32, peer_session_id: u32) -> ControlHeader {
    ControlHeader {
        version,
        tunnel_id: peer_tunnel_id,
        session_id: match version {
            Version::V2 => peer_session_id as u16,
            Version::V3 => 0,
        },
        ns: 0,
        nr: 0,
    }
}

fn mt(t: MessageType) -> Avp {
    Avp::m(AvpValue::MessageType(t))
}

/// The session-identifying AVPs: v2 Assigned Session ID (ours, when `assign`); v3 Local and
/// Remote Session ID.
fn ids(version: Version, s: &Session, assign: bool, avps: &mut Vec<Avp>) {
    match version {
        Version::V2 => {
            if assign {
                avps.push(Avp::m(AvpValue::AssignedSessionId(s.id as u16)));
            }
        }
        Version::V3 => {
            avps.push(Avp::m(AvpValue::LocalSessionId(s.id)));
            avps.push(Avp::m(AvpValue::RemoteSessionId(s.peer_id)));
        }
    }
}

/// v3 session parameters we announce (cookie, sublayer, sequencing).
fn v3_params(s: &Session, avps: &mut Vec<Avp>) {
    if !s.cfg.cookie.is_empty() {
        avps.push(Avp::m(AvpValue::AssignedCookie(s.cfg.cookie.clone())));
    }
    avps.push(Avp::m(AvpValue::L2SpecificSublayer(s.cfg.l2_specific)));
    avps.push(Avp::m(AvpValue::DataSequencing(s.cfg.data_sequencing)));
}

/// Circuit Status: active, new (RFC 3931 §5.4.5).
const CIRCUIT_UP_NEW: u16 = 0x0003;

/// ICRQ (RFC 2661 §6.10 / RFC 3931 §6.6).
pub(crate) fn icrq(version: Version, h: ControlHeader, s: &Session) -> ControlMessage {
    let mut avps = vec![mt(MessageType::Icrq)];
    ids(version, s, true, &mut avps);
    avps.push(Avp::m(AvpValue::CallSerialNumber(s.call_serial)));
    match version {
        Version::V2 => avps.push(Avp::m(AvpValue::BearerType(s.cfg.bearer_type))),
        Version::V3 => {
            avps.push(Avp::m(AvpValue::PseudowireType(s.cfg.pseudowire)));
            avps.push(Avp::m(AvpValue::RemoteEndId(s.cfg.remote_end_id.clone())));
            avps.push(Avp::m(AvpValue::CircuitStatus(CIRCUIT_UP_NEW)));
            v3_params(s, &mut avps);
        }
    }
    // v2 AVPs; in v3 (not in RFC 3931's ICRQ list) sent with M clear.
    let m = version == Version::V2;
    if let Some(n) = &s.cfg.calling_number {
        avps.push(Avp {
            mandatory: m,
            hidden: false,
            value: AvpValue::CallingNumber(n.clone()),
        });
    }
    if let Some(n) = &s.cfg.called_number {
        avps.push(Avp {
            mandatory: m,
            hidden: false,
            value: AvpValue::CalledNumber(n.clone()),
        });
    }
    ControlMessage { header: h, avps }
}

/// ICRP (RFC 2661 §6.11 / RFC 3931 §6.7).
pub(crate) fn icrp(version: Version, h: ControlHeader, s: &Session) -> ControlMessage {
    let mut avps = vec![mt(MessageType::Icrp)];
    ids(version, s, true, &mut avps);
    if version == Version::V3 {
        avps.push(Avp::m(AvpValue::CircuitStatus(CIRCUIT_UP_NEW)));
        v3_params(s, &mut avps);
    }
    ControlMessage { header: h, avps }
}

/// ICCN (RFC 2661 §6.12: (Tx) Connect Speed, Framing Type, proxy AVPs / RFC 3931 §6.8).
pub(crate) fn iccn(version: Version, h: ControlHeader, s: &Session) -> ControlMessage {
    connected(MessageType::Iccn, version, h, s)
}

/// OCCN (RFC 2661 §6.9 / RFC 3931 §6.11).
pub(crate) fn occn(version: Version, h: ControlHeader, s: &Session) -> ControlMessage {
    connected(MessageType::Occn, version, h, s)
}

fn connected(t: MessageType, version: Version, h: ControlHeader, s: &Session) -> ControlMessage {
    let mut avps = vec![mt(t)];
    ids(version, s, false, &mut avps);
    match version {
        Version::V2 => {
            avps.push(Avp::m(AvpValue::TxConnectSpeed(s.cfg.connect_speed)));
            avps.push(Avp::m(AvpValue::FramingType(s.cfg.framing_type)));
            if t == MessageType::Iccn {
                for p in s.cfg.proxy_avps.iter().filter(|v| is_proxy_avp(v)) {
                    avps.push(Avp::o(p.clone()));
                }
            }
        }
        Version::V3 => {
            if t == MessageType::Occn {
                avps.push(Avp::m(AvpValue::CircuitStatus(CIRCUIT_UP_NEW)));
                v3_params(s, &mut avps);
            }
        }
    }
    ControlMessage { header: h, avps }
}

/// OCRQ (RFC 2661 §6.7 / RFC 3931 §6.9).
pub(crate) fn ocrq(version: Version, h: ControlHeader, s: &Session) -> ControlMessage {
    let mut avps = vec![mt(MessageType::Ocrq)];
    ids(version, s, true, &mut avps);
    avps.push(Avp::m(AvpValue::CallSerialNumber(s.call_serial)));
    match version {
        Version::V2 => {
            avps.push(Avp::m(AvpValue::MinimumBps(0)));
            avps.push(Avp::m(AvpValue::MaximumBps(s.cfg.connect_speed.max(1))));
            avps.push(Avp::m(AvpValue::BearerType(s.cfg.bearer_type)));
            avps.push(Avp::m(AvpValue::FramingType(s.cfg.framing_type)));
            avps.push(Avp::m(AvpValue::CalledNumber(
                s.cfg.called_number.clone().unwrap_or_default(),
            )));
        }
        Version::V3 => {
            avps.push(Avp::m(AvpValue::PseudowireType(s.cfg.pseudowire)));
            avps.push(Avp::m(AvpValue::RemoteEndId(s.cfg.remote_end_id.clone())));
            avps.push(Avp::m(AvpValue::CircuitStatus(CIRCUIT_UP_NEW)));
            v3_params(s, &mut avps);
        }
    }
    ControlMessage { header: h, avps }
}

/// OCRP (RFC 2661 §6.8 / RFC 3931 §6.10).
pub(crate) fn ocrp(version: Version, h: ControlHeader, s: &Session) -> ControlMessage {
    let mut avps = vec![mt(MessageType::Ocrp)];
    ids(version, s, true, &mut avps);
    if version == Version::V3 {
        avps.push(Avp::m(AvpValue::CircuitStatus(CIRCUIT_UP_NEW)));
    }
    ControlMessage { header: h, avps }
}

/// CDN (RFC 2661 §6.13: Result Code, Assigned Session ID / RFC 3931 §6.12: Result Code, Local
/// and Remote Session ID).
pub(crate) fn cdn(
    version: Version,
    h: ControlHeader,
    local_session_id: u32,
    peer_session_id: u32,
    rc: &ResultCode,
) -> ControlMessage {
    let mut avps = vec![
        mt(MessageType::Cdn),
        Avp::m(AvpValue::ResultCode(rc.clone())),
    ];
    match version {
        Version::V2 => avps.push(Avp::m(AvpValue::AssignedSessionId(local_session_id as u16))),
        Version::V3 => {
            avps.push(Avp::m(AvpValue::LocalSessionId(local_session_id)));
            avps.push(Avp::m(AvpValue::RemoteSessionId(peer_session_id)));
        }
    }
    ControlMessage { header: h, avps }
}

/// WEN (RFC 2661 §6.15 / RFC 3931 §6.13; v3 Circuit Errors have no CRC and framing
/// counters, those are left out).
pub(crate) fn wen(
    version: Version,
    h: ControlHeader,
    s: &Session,
    mut e: CallErrors,
) -> ControlMessage {
    if version == Version::V3 {
        e.crc = 0;
        e.framing = 0;
    }
    let mut avps = vec![mt(MessageType::Wen)];
    ids(version, s, false, &mut avps);
    avps.push(Avp::m(AvpValue::CallErrors(e)));
    ControlMessage { header: h, avps }
}

/// SLI (RFC 2661 §6.16: ACCM / RFC 3931 §6.14: Circuit Status).
pub(crate) fn sli(
    version: Version,
    h: ControlHeader,
    s: &Session,
    accm: Option<(u32, u32)>,
    circuit_status: Option<u16>,
) -> ControlMessage {
    let mut avps = vec![mt(MessageType::Sli)];
    ids(version, s, false, &mut avps);
    if let Some((send, recv)) = accm {
        avps.push(Avp::m(AvpValue::Accm { send, recv }));
    }
    if let Some(c) = circuit_status {
        avps.push(Avp::m(AvpValue::CircuitStatus(c)));
    }
    ControlMessage { header: h, avps }
}

/// Whether a message type belongs to a session (a bad mandatory AVP in it tears down only the
/// session) rather than to the tunnel.
pub(crate) fn is_session_message(t: MessageType) -> bool {
    matches!(
        t,
        MessageType::Ocrq
            | MessageType::Ocrp
            | MessageType::Occn
            | MessageType::Icrq
            | MessageType::Icrp
            | MessageType::Iccn
            | MessageType::Cdn
            | MessageType::Wen
            | MessageType::Sli
    )
}
