//! Session (call) state machine for L2TPv2 incoming calls (RFC 2661 §7.4.1 LAC, §7.4.2 LNS).
//!
//! The tunnel owns its sessions and drives them; this module keeps the per-session state and
//! builds the session messages (ICRQ, ICRP, ICCN, CDN).

use crate::endpoint::SessionConfig;
use crate::wire::{Avp, AvpValue, ControlHeader, ControlMessage, MessageType, ResultCode, Version};

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// LAC: waiting for the tunnel to reach the point where ICRQ can be sent.
    WaitTunnel,
    /// LAC: ICRQ sent, waiting for ICRP.
    WaitReply,
    /// LAC: ICCN sent, waiting for its acknowledgement.
    WaitConnAck,
    /// LNS: ICRP sent, waiting for ICCN.
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
    /// True if the peer started the call (we are the LNS).
    pub incoming: bool,
}

/// One session inside a tunnel.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub id: u32,
    pub peer_id: u32,
    pub cfg: SessionConfig,
    pub state: SessionState,
    pub call_serial: u32,
    pub incoming: bool,
}

impl Session {
    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            id: self.id,
            peer_id: self.peer_id,
            state: self.state,
            call_serial: self.call_serial,
            incoming: self.incoming,
        }
    }
}

/// A message header for the peer: its tunnel ID and session ID (Ns/Nr are the transport's).
pub(crate) fn header(version: Version, peer_tunnel_id: u32, peer_session_id: u32) -> ControlHeader {
    ControlHeader {
        version,
        tunnel_id: peer_tunnel_id,
        session_id: peer_session_id as u16,
        ns: 0,
        nr: 0,
    }
}

fn mt(t: MessageType) -> Avp {
    Avp::m(AvpValue::MessageType(t))
}

/// ICRQ: Assigned Session ID, Call Serial Number, Bearer Type, [Calling/Called Number].
pub(crate) fn icrq(h: ControlHeader, s: &Session) -> ControlMessage {
    let mut avps = vec![
        mt(MessageType::Icrq),
        Avp::m(AvpValue::AssignedSessionId(s.id as u16)),
        Avp::m(AvpValue::CallSerialNumber(s.call_serial)),
        Avp::m(AvpValue::BearerType(s.cfg.bearer_type)),
    ];
    if let Some(n) = &s.cfg.calling_number {
        avps.push(Avp::m(AvpValue::CallingNumber(n.clone())));
    }
    if let Some(n) = &s.cfg.called_number {
        avps.push(Avp::m(AvpValue::CalledNumber(n.clone())));
    }
    ControlMessage { header: h, avps }
}

/// ICRP: Assigned Session ID.
pub(crate) fn icrp(h: ControlHeader, s: &Session) -> ControlMessage {
    ControlMessage {
        header: h,
        avps: vec![
            mt(MessageType::Icrp),
            Avp::m(AvpValue::AssignedSessionId(s.id as u16)),
        ],
    }
}

/// ICCN: (Tx) Connect Speed, Framing Type.
pub(crate) fn iccn(h: ControlHeader, s: &Session) -> ControlMessage {
    ControlMessage {
        header: h,
        avps: vec![
            mt(MessageType::Iccn),
            Avp::m(AvpValue::TxConnectSpeed(s.cfg.connect_speed)),
            Avp::m(AvpValue::FramingType(s.cfg.framing_type)),
        ],
    }
}

/// CDN: Result Code, Assigned Session ID (ours).
pub(crate) fn cdn(h: ControlHeader, local_session_id: u32, rc: &ResultCode) -> ControlMessage {
    ControlMessage {
        header: h,
        avps: vec![
            mt(MessageType::Cdn),
            Avp::m(AvpValue::ResultCode(rc.clone())),
            Avp::m(AvpValue::AssignedSessionId(local_session_id as u16)),
        ],
    }
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
