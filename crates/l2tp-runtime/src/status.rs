//! Snapshots of the runtime's state, as `l2tpctl show` / `stats` and the control socket see
//! them (serde-serialisable; field names are part of the control socket's JSON protocol).

use serde::{Deserialize, Serialize};

use crate::dataplane::SessionStats;

/// One tunnel as `l2tpctl show tunnels` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunnelStatus {
    /// Configured name (`LISTENER.ID` for tunnels a peer opened, e.g. `lns.28324`).
    pub name: String,
    /// Local tunnel / control connection ID.
    pub id: u32,
    /// `dynamic`, `static`, `quiescent`, or `listener` (the LNS's listening socket).
    pub kind: String,
    /// Control connection state (`established`, `waitctlreply`, `closing`, …), `listening`
    /// for a listener, `down` for a tunnel that went down recently.
    pub state: String,
    /// `l2tpv2` or `l2tpv3`.
    pub version: String,
    /// `udp` or `ip`.
    pub encap: String,
    /// Local address (`addr:port`), when known.
    pub local: Option<String>,
    /// Peer address (`addr:port`), when known.
    pub peer: Option<String>,
    /// The peer's tunnel ID (0 until it assigned one).
    pub peer_tunnel_id: u32,
    /// The peer's Host Name AVP.
    pub peer_host_name: Option<String>,
    /// Control messages received (including ZLBs).
    pub control_rx: u64,
    /// Control messages sent (first transmissions).
    pub control_tx: u64,
    /// Control message retransmissions.
    pub retransmits: u64,
    /// Sessions, by name (including recently downed ones, state `down`).
    pub sessions: Vec<SessionStatus>,
    /// Why it went down (state `down`), e.g. `peer: result 1 (general request to clear)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// How long ago it went down (seconds, state `down`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_for: Option<u64>,
}

/// One session as `l2tpctl show sessions` prints it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStatus {
    /// Configured name (`TEMPLATE.ID` for calls a peer placed, e.g. `ppp.6460`).
    pub name: String,
    /// Local session ID.
    pub id: u32,
    /// Peer session ID (0 until known).
    pub peer_id: u32,
    /// `ppp`, `eth` or `pppac`.
    pub pseudowire: String,
    /// `establishing`, `established`, or `down` (went down recently).
    pub state: String,
    /// The data plane's interface (`l2tpeth0`, `ppp0`), when known.
    pub interface: Option<String>,
    /// Data plane counters, when the data plane counts.
    pub stats: Option<SessionStats>,
    /// Why it went down (state `down`), e.g. `peer: result 3 (administrative)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// Control plane counters of the endpoint (mirror of the core's `EndpointStats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointCounters {
    /// Datagrams that failed to parse.
    pub malformed: u64,
    /// Datagrams for no known tunnel.
    pub unknown_tunnel: u64,
    /// Control messages received (excluding ZLBs).
    pub control_rx: u64,
    /// Control messages sent (excluding ZLBs).
    pub control_tx: u64,
    /// Retransmissions.
    pub retransmits: u64,
    /// ZLB acknowledgements sent.
    pub zlb_tx: u64,
    /// Duplicate messages received.
    pub duplicates: u64,
    /// Tunnels accepted from peers.
    pub tunnels_accepted: u64,
    /// Control messages dropped for a wrong or missing Message Digest.
    pub auth_failures: u64,
    /// Datagrams from addresses not in `accept_peers`, dropped before the engine saw them.
    pub refused_peers: u64,
    /// Datagrams for a known tunnel from an address or port other than its peer's (spoofed
    /// or misrouted), dropped untouched.
    #[serde(default)]
    pub wrong_source: u64,
    /// StopCCNs naming another tunnel than the peer's, dropped untouched.
    #[serde(default)]
    pub wrong_tunnel_id: u64,
    /// Half-open tunnels (accepted, never established) evicted, oldest first, to make room
    /// for new SCCRQs (an SCCRQ flood, or peers that never complete their handshake).
    #[serde(default)]
    pub half_open_evicted: u64,
    /// SCCRQs dropped because their source address already had `max_tunnels_per_peer`
    /// tunnels.
    #[serde(default)]
    pub refused_peer_limit: u64,
}

impl From<l2tp_proto::endpoint::EndpointStats> for EndpointCounters {
    fn from(s: l2tp_proto::endpoint::EndpointStats) -> Self {
        EndpointCounters {
            malformed: s.malformed,
            unknown_tunnel: s.unknown_tunnel,
            control_rx: s.control_rx,
            control_tx: s.control_tx,
            retransmits: s.retransmits,
            zlb_tx: s.zlb_tx,
            duplicates: s.duplicates,
            tunnels_accepted: s.tunnels_accepted,
            auth_failures: s.auth_failures,
            refused_peers: 0,
            wrong_source: s.wrong_source,
            wrong_tunnel_id: s.wrong_tunnel_id,
            half_open_evicted: s.half_open_evicted,
            refused_peer_limit: s.refused_peer_limit,
        }
    }
}

/// Counters of the whole runtime (`l2tpctl stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeStats {
    /// Tunnels known (any state).
    pub tunnels: usize,
    /// Tunnels established.
    pub tunnels_up: usize,
    /// Sessions known (any state).
    pub sessions: usize,
    /// Sessions established.
    pub sessions_up: usize,
    /// Datagrams the OS refused to send.
    pub send_errors: u64,
    /// Data plane operations that failed.
    pub dataplane_errors: u64,
    /// Control plane counters.
    pub endpoint: EndpointCounters,
}
