//! L2TP headers: v2 control/data (RFC 2661 §3.1), v3 control over UDP and IP (RFC 3931 §3.2.1,
//! §4.1.1.1, §4.1.2.1) and v3 data (RFC 3931 §4.1, §4.6).

/// L2TP protocol version carried in the header's Ver field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// L2TPv2, RFC 2661 (Ver = 2).
    V2,
    /// L2TPv3, RFC 3931 (Ver = 3).
    V3,
}

/// How L2TP packets are carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encap {
    /// Over UDP (port 1701 by default): v2 and v3.
    Udp,
    /// Directly over IP, protocol 115 (v3 only, RFC 3931 §4.1.1). Control messages are preceded
    /// by a 4-byte zero Session ID.
    Ip,
}

/// The header of a control message (T = 1, L = 1, S = 1).
///
/// For L2TPv2 `tunnel_id` is the 16-bit Tunnel ID (widened) and `session_id` the 16-bit Session
/// ID; for L2TPv3 `tunnel_id` is the 32-bit Control Connection ID and `session_id` is 0 (the v3
/// control header has no session field). Ns and Nr are 16-bit sequence numbers (RFC 2661 §5.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ControlHeader {
    /// Protocol version (also selects the header layout).
    pub version: Version,
    /// v2 Tunnel ID (0..=65535) or v3 Control Connection ID. Host order.
    pub tunnel_id: u32,
    /// v2 Session ID; always 0 for v3.
    pub session_id: u16,
    /// Sequence number of this message.
    pub ns: u16,
    /// Next sequence number expected from the peer.
    pub nr: u16,
}

/// The header of a data message, as far as the codec can read it without session state.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DataHeader {
    /// L2TPv2 data header (T = 0, RFC 2661 §3.1).
    V2 {
        /// Tunnel ID (host order).
        tunnel_id: u16,
        /// Session ID (host order).
        session_id: u16,
        /// Ns/Nr when the S bit is set.
        sequence: Option<(u16, u16)>,
        /// Offset Size when the O bit is set (bytes of padding skipped before the payload).
        offset: Option<u16>,
        /// Whether the L bit (length present) was set.
        length_present: bool,
        /// The P (priority) bit.
        priority: bool,
    },
    /// L2TPv3 data header (RFC 3931 §4.1): Session ID, Cookie, optional default L2-Specific
    /// Sublayer (§4.6). The cookie length and sublayer presence come from session state.
    V3 {
        /// Session ID (never 0 for data).
        session_id: u32,
        /// Cookie, 0, 4 or 8 bytes.
        cookie: Vec<u8>,
        /// Default L2-Specific Sublayer, when configured: (S bit, 24-bit sequence number).
        l2_specific: Option<(bool, u32)>,
    },
}
