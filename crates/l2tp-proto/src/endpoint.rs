//! The endpoint: one per local address family/socket set. Demultiplexes datagrams to tunnels,
//! allocates tunnel and session IDs, accepts new peers, and owns every tunnel's transport and
//! state machines.
//!
//! Interface in the quinn-proto style (sans-IO): the caller feeds datagrams with
//! [`Endpoint::handle`] and time with [`Endpoint::handle_timeout`], and drains
//! [`Endpoint::poll_transmit`], [`Endpoint::poll_timeout`] and [`Endpoint::poll_event`] after
//! every call.

use std::net::SocketAddr;
use std::time::Duration;

use crate::wire::{Encap, ResultCode, Version};

/// Identifies a tunnel inside one [`Endpoint`]: the local Tunnel ID (v2, 16-bit) or local
/// Control Connection ID (v3, 32-bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TunnelId(pub u32);

/// Identifies a session inside one tunnel: the local Session ID (v2 16-bit, v3 32-bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u32);

/// Settings of one control connection (go-l2tp's `[tunnel.NAME]` keys and their defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelConfig {
    /// Protocol version (L2TPv2 or L2TPv3).
    pub version: Version,
    /// UDP or IP encapsulation.
    pub encap: Encap,
    /// The peer's address (UDP: address and port; IP: port is ignored).
    pub peer: SocketAddr,
    /// Local tunnel / control connection ID to use; `None` = random non-zero, collision-free.
    pub local_tunnel_id: Option<u32>,
    /// Host Name AVP to send.
    pub host_name: Vec<u8>,
    /// Our Receive Window Size AVP (default 4).
    pub window_size: u16,
    /// Send HELLO after this long without receiving anything; `None` = never (go-l2tp default).
    pub hello_interval: Option<Duration>,
    /// First retransmission timeout (default 1 s); doubles on each retry, capped at 8 s.
    pub retry_timeout: Duration,
    /// Retransmissions of one message before the tunnel is declared down (default 3).
    pub max_retries: u32,
    /// Framing Capabilities AVP bitmask (default 3: sync | async).
    pub framing_caps: u32,
    /// Bearer Capabilities AVP bitmask (default 0).
    pub bearer_caps: u32,
    /// Shared secret for tunnel authentication / hidden AVPs, if any.
    pub secret: Option<Vec<u8>>,
}

impl TunnelConfig {
    /// A config with go-l2tp's defaults for the given version, encapsulation and peer.
    pub fn new(version: Version, encap: Encap, peer: SocketAddr) -> Self {
        TunnelConfig {
            version,
            encap,
            peer,
            local_tunnel_id: None,
            host_name: b"l2tpd".to_vec(),
            window_size: 4,
            hello_interval: None,
            retry_timeout: Duration::from_secs(1),
            max_retries: 3,
            framing_caps: 3,
            bearer_caps: 0,
            secret: None,
        }
    }
}

/// Settings of one session (call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Pseudowire type ([`crate::wire::pw_type`]); v2 sessions are always PPP.
    pub pseudowire: u16,
    /// Local session ID; `None` = random non-zero, collision-free.
    pub local_session_id: Option<u32>,
    /// Bearer Type AVP for ICRQ (default 0).
    pub bearer_type: u32,
    /// Framing Type AVP for ICCN (default 1: synchronous).
    pub framing_type: u32,
    /// (Tx) Connect Speed AVP for ICCN, bits/s (default 0, as xl2tpd).
    pub connect_speed: u32,
    /// Calling Number AVP, if any.
    pub calling_number: Option<Vec<u8>>,
    /// Called Number AVP, if any.
    pub called_number: Option<Vec<u8>>,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            pseudowire: crate::wire::pw_type::PPP,
            local_session_id: None,
            bearer_type: 0,
            framing_type: 1,
            connect_speed: 0,
            calling_number: None,
            called_number: None,
        }
    }
}

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
    /// The control connection is gone (all its sessions were reported down first).
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

/// Counters kept by the endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// Datagrams that failed to parse (dropped).
    pub malformed: u64,
    /// Datagrams for no known tunnel (dropped).
    pub unknown_tunnel: u64,
    /// Control messages received (excluding ZLBs).
    pub control_rx: u64,
    /// Control messages sent (excluding ZLBs), first transmissions only.
    pub control_tx: u64,
    /// Retransmissions.
    pub retransmits: u64,
    /// ZLB acknowledgements sent.
    pub zlb_tx: u64,
    /// Duplicate messages received (re-acknowledged and dropped).
    pub duplicates: u64,
}
