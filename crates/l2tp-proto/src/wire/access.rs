//! Typed look-ups of a control message's AVPs: the first AVP of a kind, by what it means
//! (the engine reads messages through these rather than matching on [`AvpValue`] itself).

use super::{AvpValue, CallErrors, ControlMessage, ResultCode};

/// The value of the first AVP matching `$pat` (with an optional guard), as `$e`.
macro_rules! first {
    ($self:ident, $($pat:pat $(if $guard:expr)? => $e:expr),+ $(,)?) => {
        $self.avps.iter().find_map(|a| match &a.value {
            $($pat $(if $guard)? => Some($e),)+
            _ => None,
        })
    };
}

impl ControlMessage {
    /// Result Code AVP (StopCCN, CDN).
    pub fn result_code(&self) -> Option<&ResultCode> {
        first!(self, AvpValue::ResultCode(r) => r)
    }

    /// Protocol Version AVP (v2 SCCRQ / SCCRP): (version, revision).
    pub fn protocol_version(&self) -> Option<(u8, u8)> {
        first!(self, AvpValue::ProtocolVersion { version, revision } => (*version, *revision))
    }

    /// Framing Capabilities AVP.
    pub fn framing_capabilities(&self) -> Option<u32> {
        first!(self, AvpValue::FramingCapabilities(f) => *f)
    }

    /// Tie Breaker AVP.
    pub fn tie_breaker(&self) -> Option<[u8; 8]> {
        first!(self, AvpValue::TieBreaker(t) => *t)
    }

    /// Host Name AVP.
    pub fn host_name(&self) -> Option<&[u8]> {
        first!(self, AvpValue::HostName(h) => h.as_slice())
    }

    /// The first non-zero v2 Assigned Tunnel ID AVP.
    pub fn assigned_tunnel_id_v2(&self) -> Option<u32> {
        first!(self, AvpValue::AssignedTunnelId(t) if *t != 0 => u32::from(*t))
    }

    /// The first non-zero v3 Assigned Control Connection ID AVP.
    pub fn assigned_control_connection_id(&self) -> Option<u32> {
        first!(self, AvpValue::AssignedControlConnectionId(t) if *t != 0 => *t)
    }

    /// The sender's tunnel ID: the first non-zero v2 Assigned Tunnel ID or v3 Assigned Control
    /// Connection ID AVP.
    pub fn assigned_tunnel_id(&self) -> Option<u32> {
        first!(self,
            AvpValue::AssignedTunnelId(t) if *t != 0 => u32::from(*t),
            AvpValue::AssignedControlConnectionId(t) if *t != 0 => *t)
    }

    /// Receive Window Size AVP.
    pub fn receive_window_size(&self) -> Option<u16> {
        first!(self, AvpValue::ReceiveWindowSize(w) => *w)
    }

    /// Challenge AVP (v2 tunnel authentication).
    pub fn challenge(&self) -> Option<&[u8]> {
        first!(self, AvpValue::Challenge(c) => c.as_slice())
    }

    /// Challenge Response AVP (v2 tunnel authentication).
    pub fn challenge_response(&self) -> Option<[u8; 16]> {
        first!(self, AvpValue::ChallengeResponse(r) => *r)
    }

    /// The digest of the Message Digest AVP (v3 control message authentication).
    pub fn message_digest(&self) -> Option<&[u8]> {
        first!(self, AvpValue::MessageDigest { digest, .. } => &digest[..])
    }

    /// Control Message Authentication Nonce AVP (v3).
    pub fn auth_nonce(&self) -> Option<&[u8]> {
        first!(self, AvpValue::ControlMessageAuthNonce(n) => n.as_slice())
    }

    /// Router ID AVP (v3).
    pub fn router_id(&self) -> Option<u32> {
        first!(self, AvpValue::RouterId(r) => *r)
    }

    /// Pseudowire Capabilities List AVP (v3).
    pub fn pseudowire_capabilities(&self) -> Option<&[u16]> {
        first!(self, AvpValue::PseudowireCapabilities(l) => l.as_slice())
    }

    /// The session ID the sender of a session message assigned itself: the first non-zero v2
    /// Assigned Session ID or v3 Local Session ID AVP.
    pub fn sender_session_id(&self) -> Option<u32> {
        first!(self,
            AvpValue::AssignedSessionId(s) if *s != 0 => u32::from(*s),
            AvpValue::LocalSessionId(s) if *s != 0 => *s)
    }

    /// Remote Session ID AVP (v3: the receiver's session ID).
    pub fn remote_session_id(&self) -> Option<u32> {
        first!(self, AvpValue::RemoteSessionId(s) => *s)
    }

    /// Call Serial Number AVP.
    pub fn call_serial_number(&self) -> Option<u32> {
        first!(self, AvpValue::CallSerialNumber(n) => *n)
    }

    /// Bearer Type AVP.
    pub fn bearer_type(&self) -> Option<u32> {
        first!(self, AvpValue::BearerType(b) => *b)
    }

    /// Framing Type AVP.
    pub fn framing_type(&self) -> Option<u32> {
        first!(self, AvpValue::FramingType(f) => *f)
    }

    /// Pseudowire Type AVP (v3).
    pub fn pseudowire_type(&self) -> Option<u16> {
        first!(self, AvpValue::PseudowireType(t) => *t)
    }

    /// Call Errors AVP (WAN-Error-Notify).
    pub fn call_errors(&self) -> Option<CallErrors> {
        first!(self, AvpValue::CallErrors(e) => *e)
    }

    /// ACCM AVP (Set-Link-Info): (send, receive).
    pub fn accm(&self) -> Option<(u32, u32)> {
        first!(self, AvpValue::Accm { send, recv } => (*send, *recv))
    }

    /// Circuit Status AVP (v3).
    pub fn circuit_status(&self) -> Option<u16> {
        first!(self, AvpValue::CircuitStatus(c) => *c)
    }
}
