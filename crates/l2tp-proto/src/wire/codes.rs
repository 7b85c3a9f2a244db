//! Numbers carried in AVP values: pseudowire types, StopCCN / CDN result codes and general
//! error codes, with their short names for logs and reports.

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

    /// Short name of a StopCCN result code, for logs and reports ("unknown result" for
    /// codes outside RFC 2661 §4.4.2 / RFC 3931 §5.4.2).
    pub fn stopccn_name(code: u16) -> &'static str {
        match code {
            STOPCCN_GENERAL => "general request to clear",
            STOPCCN_GENERAL_ERROR => "general error",
            STOPCCN_ALREADY_EXISTS => "control channel already exists",
            STOPCCN_NOT_AUTHORIZED => "not authorized",
            STOPCCN_BAD_VERSION => "protocol version not supported",
            STOPCCN_SHUTTING_DOWN => "requester is being shut down",
            STOPCCN_FSM_ERROR => "finite state machine error",
            _ => "unknown result",
        }
    }

    /// Short name of a CDN result code ("unknown result" outside the RFCs' tables).
    pub fn cdn_name(code: u16) -> &'static str {
        match code {
            CDN_LOST_CARRIER => "lost carrier",
            CDN_GENERAL_ERROR => "general error",
            CDN_ADMIN => "administrative",
            CDN_NO_FACILITIES_TEMP => "no facilities (temporary)",
            CDN_NO_FACILITIES_PERM => "no facilities (permanent)",
            CDN_INVALID_DEST => "invalid destination",
            CDN_NO_CARRIER => "no carrier",
            CDN_BUSY => "busy",
            CDN_NO_DIAL_TONE => "no dial tone",
            CDN_TIMEOUT => "not established in time",
            CDN_NO_FRAMING => "no framing",
            CDN_LOST_TIE_BREAKER => "lost tie breaker",
            CDN_UNSUPPORTED_PW => "unsupported pseudowire type",
            CDN_SEQ_WITHOUT_L2SPEC => "sequencing without L2-Specific Sublayer",
            CDN_FSM_ERROR => "finite state machine error or timeout",
            _ => "unknown result",
        }
    }
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

    /// Short name of a general error code ("unknown error" outside the RFCs' table).
    pub fn name(code: u16) -> &'static str {
        match code {
            NO_ERROR => "no error",
            NO_CONTROL_CONNECTION => "no control connection",
            BAD_LENGTH => "length is wrong",
            BAD_VALUE => "field value out of range",
            NO_RESOURCES => "insufficient resources",
            BAD_SESSION_ID => "invalid session ID",
            VENDOR_ERROR => "vendor-specific error",
            TRY_ANOTHER => "try another",
            UNKNOWN_MANDATORY_AVP => "unknown mandatory AVP",
            TRY_ANOTHER_DIRECTED => "try another directed",
            NEXT_HOP_UNREACHABLE => "next hop unreachable",
            NEXT_HOP_BUSY => "next hop busy",
            TSA_BUSY => "TSA busy",
            _ => "unknown error",
        }
    }
}

// ---------------------------------------------------------------------------------------------
