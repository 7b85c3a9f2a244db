//! Attribute-Value Pairs: RFC 2661 §4.4 (types 0–39) and RFC 3931 §5.4 (types 58–75).
//!
//! Each AVP is a 6-byte header (M, H, 4 reserved bits, 10-bit Length, Vendor ID, Attribute
//! Type) and a value (RFC 2661 §4.1). IETF AVPs (vendor 0) with a known type decode to a typed
//! [`AvpValue`]; everything else is kept as [`AvpValue::Unknown`] so that it round-trips and the
//! engine can skip it (M = 0) or reject the message (M = 1).

use super::MessageType;

/// One AVP: flags plus typed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avp {
    /// M bit: the receiver must understand this AVP or tear down the session / tunnel.
    pub mandatory: bool,
    /// H bit: the value was (or is to be) hidden with the shared secret (RFC 2661 §4.3).
    /// On decode, the value is already revealed; on encode, the value is hidden.
    pub hidden: bool,
    /// The attribute value.
    pub value: AvpValue,
}

impl Avp {
    /// A mandatory, not hidden AVP.
    pub fn m(value: AvpValue) -> Self {
        Avp {
            mandatory: true,
            hidden: false,
            value,
        }
    }
    /// An optional (M = 0), not hidden AVP.
    pub fn o(value: AvpValue) -> Self {
        Avp {
            mandatory: false,
            hidden: false,
            value,
        }
    }
}

/// Result Code AVP value (attribute 1; RFC 2661 §4.4.2, RFC 3931 §5.4.2).
///
/// `error` is optional on the wire (a 2-byte value carries only the result code, as some
/// clients send); `message` is the optional human-readable text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultCode {
    /// Result code (meaning depends on StopCCN vs CDN, see [`result`] constants).
    pub result: u16,
    /// General error code ([`error_code`] constants), when present.
    pub error: Option<u16>,
    /// Optional error message (bytes as sent; usually ASCII).
    pub message: Option<Vec<u8>>,
}

/// Call Errors / Circuit Errors AVP value (attribute 34): 2 reserved bytes then six u32
/// counters (RFC 2661 §4.4.6, RFC 3931 §5.4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallErrors {
    /// CRC errors.
    pub crc: u32,
    /// Framing errors.
    pub framing: u32,
    /// Hardware overruns.
    pub hardware_overruns: u32,
    /// Buffer overruns.
    pub buffer_overruns: u32,
    /// Time-out errors.
    pub timeouts: u32,
    /// Alignment errors.
    pub alignment: u32,
}

/// Typed AVP values. Integer fields are in host order; the codec converts from/to network order.
///
/// String-like values (host names, numbers, messages) are kept as raw bytes: the RFCs do not
/// require UTF-8 and peers send what they like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AvpValue {
    /// 0: Message Type.
    MessageType(MessageType),
    /// 1: Result Code (StopCCN, CDN).
    ResultCode(ResultCode),
    /// 2: Protocol Version: (version, revision), 1.0 for L2TPv2.
    ProtocolVersion {
        /// Version (1 for L2TPv2).
        version: u8,
        /// Revision (0).
        revision: u8,
    },
    /// 3: Framing Capabilities bitmask (bit 0x1 synchronous, 0x2 asynchronous).
    FramingCapabilities(u32),
    /// 4: Bearer Capabilities bitmask (0x1 digital, 0x2 analog).
    BearerCapabilities(u32),
    /// 5: Tie Breaker (8 bytes; v3 uses the same type for the control connection and session
    /// tie breakers).
    TieBreaker([u8; 8]),
    /// 6: Firmware Revision.
    FirmwareRevision(u16),
    /// 7: Host Name.
    HostName(Vec<u8>),
    /// 8: Vendor Name.
    VendorName(Vec<u8>),
    /// 9: Assigned Tunnel ID (v2).
    AssignedTunnelId(u16),
    /// 10: Receive Window Size.
    ReceiveWindowSize(u16),
    /// 11: Challenge (one or more bytes).
    Challenge(Vec<u8>),
    /// 12: Q.931 Cause Code: cause code, cause message, optional advisory text.
    Q931CauseCode {
        /// Q.931 cause code.
        cause_code: u16,
        /// Q.931 message type.
        cause_msg: u8,
        /// Advisory message (may be empty).
        advisory: Vec<u8>,
    },
    /// 13: Challenge Response (16 bytes: MD5 digest, RFC 2661 §4.4.3).
    ChallengeResponse([u8; 16]),
    /// 14: Assigned Session ID (v2).
    AssignedSessionId(u16),
    /// 15: Call Serial Number (v2) / Serial Number (v3).
    CallSerialNumber(u32),
    /// 16: Minimum BPS.
    MinimumBps(u32),
    /// 17: Maximum BPS.
    MaximumBps(u32),
    /// 18: Bearer Type bitmask.
    BearerType(u32),
    /// 19: Framing Type bitmask.
    FramingType(u32),
    /// 21: Called Number.
    CalledNumber(Vec<u8>),
    /// 22: Calling Number.
    CallingNumber(Vec<u8>),
    /// 23: Sub-Address.
    SubAddress(Vec<u8>),
    /// 24: (Tx) Connect Speed, bits per second (32-bit).
    TxConnectSpeed(u32),
    /// 25: Physical Channel ID.
    PhysicalChannelId(u32),
    /// 26: Initial Received LCP CONFREQ (raw LCP options).
    InitialReceivedLcpConfreq(Vec<u8>),
    /// 27: Last Sent LCP CONFREQ.
    LastSentLcpConfreq(Vec<u8>),
    /// 28: Last Received LCP CONFREQ.
    LastReceivedLcpConfreq(Vec<u8>),
    /// 29: Proxy Authen Type.
    ProxyAuthenType(u16),
    /// 30: Proxy Authen Name.
    ProxyAuthenName(Vec<u8>),
    /// 31: Proxy Authen Challenge.
    ProxyAuthenChallenge(Vec<u8>),
    /// 32: Proxy Authen ID (the low byte of the 2-byte value; the high byte is reserved).
    ProxyAuthenId(u8),
    /// 33: Proxy Authen Response.
    ProxyAuthenResponse(Vec<u8>),
    /// 34: Call Errors (v2) / Circuit Errors (v3).
    CallErrors(CallErrors),
    /// 35: ACCM: send and receive async control character maps (after 2 reserved bytes).
    Accm {
        /// Send ACCM.
        send: u32,
        /// Receive ACCM.
        recv: u32,
    },
    /// 36: Random Vector (used to hide the AVPs that follow it).
    RandomVector(Vec<u8>),
    /// 37: Private Group ID.
    PrivateGroupId(Vec<u8>),
    /// 38: Rx Connect Speed (32-bit, v2).
    RxConnectSpeed(u32),
    /// 39: Sequencing Required (no value).
    SequencingRequired,
    /// 58: Extended Vendor ID (v3).
    ExtendedVendorId(u32),
    /// 59: Message Digest (v3): digest type (1 = HMAC-MD5, 2 = HMAC-SHA-1) and digest bytes.
    MessageDigest {
        /// Digest type.
        digest_type: u8,
        /// Digest (16 bytes for MD5, 20 for SHA-1).
        digest: Vec<u8>,
    },
    /// 60: Router ID (v3).
    RouterId(u32),
    /// 61: Assigned Control Connection ID (v3).
    AssignedControlConnectionId(u32),
    /// 62: Pseudowire Capabilities List (v3): pseudowire types.
    PseudowireCapabilities(Vec<u16>),
    /// 63: Local Session ID (v3).
    LocalSessionId(u32),
    /// 64: Remote Session ID (v3).
    RemoteSessionId(u32),
    /// 65: Assigned Cookie (v3): 4 or 8 bytes (0–8 accepted).
    AssignedCookie(Vec<u8>),
    /// 66: Remote End ID (v3).
    RemoteEndId(Vec<u8>),
    /// 68: Pseudowire Type (v3).
    PseudowireType(u16),
    /// 69: L2-Specific Sublayer (v3): 0 none, 1 default.
    L2SpecificSublayer(u16),
    /// 70: Data Sequencing (v3): 0 none, 1 non-IP, 2 all.
    DataSequencing(u16),
    /// 71: Circuit Status (v3): bit 0 A (active), bit 1 N (new).
    CircuitStatus(u16),
    /// 72: Preferred Language (v3).
    PreferredLanguage(Vec<u8>),
    /// 73: Control Message Authentication Nonce (v3).
    ControlMessageAuthNonce(Vec<u8>),
    /// 74: Tx Connect Speed (v3, 64-bit bps).
    TxConnectSpeedV3(u64),
    /// 75: Rx Connect Speed (v3, 64-bit bps).
    RxConnectSpeedV3(u64),
    /// Any other AVP (unknown IETF type or a vendor AVP), kept raw so it round-trips.
    Unknown {
        /// Vendor ID (0 = IETF).
        vendor: u16,
        /// Attribute type.
        attr_type: u16,
        /// Raw value (revealed if it was hidden).
        value: Vec<u8>,
    },
}

/// Pseudowire types (RFC 3931 §5.4 / IANA "L2TPv3 Pseudowire Types").
pub mod pw_type {
    /// Frame Relay DLCI.
    pub const FRAME_RELAY: u16 = 0x0001;
    /// ATM AAL5 SDU VCC.
    pub const ATM_AAL5: u16 = 0x0002;
    /// Ethernet VLAN.
    pub const ETHERNET_VLAN: u16 = 0x0004;
    /// Ethernet (port).
    pub const ETHERNET: u16 = 0x0005;
    /// HDLC.
    pub const HDLC: u16 = 0x0006;
    /// PPP.
    pub const PPP: u16 = 0x0007;
    /// IP (interworking).
    pub const IP: u16 = 0x000B;
}

/// StopCCN result codes (RFC 2661 §4.4.2).
pub mod result {
    /// StopCCN 1: General request to clear control connection.
    pub const STOPCCN_GENERAL: u16 = 1;
    /// StopCCN 2: General error — Error Code indicates the problem.
    pub const STOPCCN_GENERAL_ERROR: u16 = 2;
    /// StopCCN 3: Control channel already exists.
    pub const STOPCCN_ALREADY_EXISTS: u16 = 3;
    /// StopCCN 4: Requester is not authorized to establish a control channel.
    pub const STOPCCN_NOT_AUTHORIZED: u16 = 4;
    /// StopCCN 5: The protocol version of the requester is not supported.
    pub const STOPCCN_BAD_VERSION: u16 = 5;
    /// StopCCN 6: Requester is being shut down.
    pub const STOPCCN_SHUTTING_DOWN: u16 = 6;
    /// StopCCN 7: Finite State Machine error.
    pub const STOPCCN_FSM_ERROR: u16 = 7;
    /// CDN 1: Call disconnected due to loss of carrier.
    pub const CDN_LOST_CARRIER: u16 = 1;
    /// CDN 2: Call disconnected for the reason indicated in error code.
    pub const CDN_GENERAL_ERROR: u16 = 2;
    /// CDN 3: Call disconnected for administrative reasons.
    pub const CDN_ADMIN: u16 = 3;
    /// CDN 4: Call failed due to lack of appropriate facilities being available (temporary).
    pub const CDN_NO_FACILITIES_TEMP: u16 = 4;
    /// CDN 5: Call failed due to lack of appropriate facilities being available (permanent).
    pub const CDN_NO_FACILITIES_PERM: u16 = 5;
    /// CDN 6: Invalid destination.
    pub const CDN_INVALID_DEST: u16 = 6;
    /// CDN 7: Call failed due to no carrier detected.
    pub const CDN_NO_CARRIER: u16 = 7;
    /// CDN 8: Call failed due to detection of a busy signal.
    pub const CDN_BUSY: u16 = 8;
    /// CDN 9: Call failed due to lack of a dial tone.
    pub const CDN_NO_DIAL_TONE: u16 = 9;
    /// CDN 10: Call was not established within time allotted by LAC.
    pub const CDN_TIMEOUT: u16 = 10;
    /// CDN 11: Call was connected but no appropriate framing was detected.
    pub const CDN_NO_FRAMING: u16 = 11;
    /// CDN 13 (v3): Session not established due to losing tie breaker.
    pub const CDN_LOST_TIE_BREAKER: u16 = 13;
    /// CDN 14 (v3): Session not established due to unsupported PW type.
    pub const CDN_UNSUPPORTED_PW: u16 = 14;
    /// CDN 15 (v3): sequencing required without valid L2-Specific Sublayer.
    pub const CDN_SEQ_WITHOUT_L2SPEC: u16 = 15;
    /// CDN 16 (v3): Finite state machine error or timeout.
    pub const CDN_FSM_ERROR: u16 = 16;
}

/// General error codes (RFC 2661 §4.4.2, RFC 3931 §5.4.2).
pub mod error_code {
    /// 0: No general error.
    pub const NO_ERROR: u16 = 0;
    /// 1: No control connection exists yet for this pair of LCCEs.
    pub const NO_CONTROL_CONNECTION: u16 = 1;
    /// 2: Length is wrong.
    pub const BAD_LENGTH: u16 = 2;
    /// 3: One of the field values was out of range.
    pub const BAD_VALUE: u16 = 3;
    /// 4: Insufficient resources to handle this operation now.
    pub const NO_RESOURCES: u16 = 4;
    /// 5: Invalid Session ID.
    pub const BAD_SESSION_ID: u16 = 5;
    /// 6: A generic vendor-specific error occurred.
    pub const VENDOR_ERROR: u16 = 6;
    /// 7: Try another.
    pub const TRY_ANOTHER: u16 = 7;
    /// 8: Unknown mandatory AVP received.
    pub const UNKNOWN_MANDATORY_AVP: u16 = 8;
    /// 9: Try another directed.
    pub const TRY_ANOTHER_DIRECTED: u16 = 9;
    /// 10: Next hop unreachable.
    pub const NEXT_HOP_UNREACHABLE: u16 = 10;
    /// 11: Next hop busy.
    pub const NEXT_HOP_BUSY: u16 = 11;
    /// 12: TSA busy.
    pub const TSA_BUSY: u16 = 12;
}
