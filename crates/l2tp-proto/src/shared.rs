//! Types shared by the protocol core's layers and its users: identifiers, events, reasons,
//! errors and counters (as quinn-proto keeps its in `shared.rs`). They depend on the wire
//! types only, so tunnel, session and endpoint code all import from here and the dependency
//! between the core's modules runs one way.

use std::net::SocketAddr;

use crate::config::SessionParams;
use crate::wire::{CallErrors, Encap, ResultCode, Version};

/// Identifies a tunnel inside one [`Endpoint`](crate::endpoint::Endpoint): the local Tunnel ID (v2, 16-bit) or local
/// Control Connection ID (v3, 32-bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TunnelId(pub u32);

/// Identifies a session inside one tunnel: the local Session ID (v2 16-bit, v3 32-bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u32);

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
        /// Cookies, sublayer, sequencing, proxy AVPs: what the data plane needs.
        params: SessionParams,
    },
    /// The peer sent WAN-Error-Notify for a session (RFC 2661 §6.15): cumulative counters.
    WanError {
        /// Local tunnel ID.
        tunnel: TunnelId,
        /// Local session ID.
        session: SessionId,
        /// The Call Errors AVP.
        errors: CallErrors,
    },
    /// The peer sent Set-Link-Info for a session (RFC 2661 §6.16, RFC 3931 §6.14).
    LinkInfo {
        /// Local tunnel ID.
        tunnel: TunnelId,
        /// Local session ID.
        session: SessionId,
        /// ACCM AVP (send, receive), if present.
        accm: Option<(u32, u32)>,
        /// v3 Circuit Status, if present.
        circuit_status: Option<u16>,
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

/// Counters kept by the endpoint. With the `serde` feature it (de)serialises field by field,
/// every field defaulting to 0 when absent (so older and newer snapshots read each other).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct EndpointStats {
    /// Datagrams that failed to parse (dropped).
    pub malformed: u64,
    /// Datagrams for no known tunnel (dropped).
    pub unknown_tunnel: u64,
    /// Control messages received (excluding ZLBs and v3 ACKs).
    pub control_rx: u64,
    /// Control messages sent (excluding ZLBs and v3 ACKs), first transmissions only.
    pub control_tx: u64,
    /// Retransmissions.
    pub retransmits: u64,
    /// Acknowledgements sent: ZLBs (v2) and explicit ACK messages (v3).
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
    /// v3 messages dropped for a missing or wrong Message Digest (RFC 3931 §4.3).
    pub auth_failures: u64,
    /// Incoming SCCRQs that lost the tie break against our own SCCRQ (RFC 2661 §5.1).
    pub tie_breaks_lost_by_peer: u64,
    /// Datagrams for a known tunnel from an address or port other than its peer's (RFC 2661
    /// §8.1; only our SCCRQ's answer may come from another port): dropped untouched.
    pub wrong_source: u64,
    /// StopCCNs whose Assigned Tunnel ID (v3: Assigned Control Connection ID) is not the
    /// peer's: dropped before the transport sees them.
    pub wrong_tunnel_id: u64,
    /// Half-open tunnels (accepted, never established) discarded, oldest first, to make room
    /// for a new SCCRQ when [`EndpointConfig::max_half_open`](crate::config::EndpointConfig::max_half_open) were held.
    pub half_open_evicted: u64,
    /// SCCRQs dropped because their source address already had
    /// [`EndpointConfig::max_tunnels_per_peer`](crate::config::EndpointConfig::max_tunnels_per_peer) tunnels.
    pub refused_peer_limit: u64,
}
