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

/// A tunnel, and maybe one of its sessions, that a control request names (see
/// [`Context::lookup`](crate::context::Context::lookup)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The tunnel's line; its `sessions` is empty.
    pub tunnel: TunnelStatus,
    /// The session named, when one was asked for and found; `stats` is `None`.
    pub session: Option<SessionStatus>,
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
    /// PPP terminated in this process: the authenticated user name (the peer's on the LNS,
    /// ours on the LAC), once authentication succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// PPP terminated in this process: the IPv4 address of the PPP client (the one the LNS
    /// gave the LAC), once IPCP is up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<std::net::Ipv4Addr>,
    /// PPP terminated in this process, authenticated by RADIUS: the Access-Accept's Class
    /// (text, or `0x` and hex when not printable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// PPP terminated in this process: where its LCP, authentication and NCPs stand (updated
    /// by the session's PPP loop at each change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ppp: Option<PppStatus>,
}

/// Where a PPP link terminated in this process stands: its automata's states (RFC 1661 §4.2
/// names, lower case: `initial`, `starting`, `closed`, `stopped`, `closing`, `stopping`,
/// `req-sent`, `ack-rcvd`, `ack-sent`, `opened`) and the authentication's progress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PppStatus {
    /// The LCP automaton's state.
    pub lcp: String,
    /// The authentication protocol LCP negotiated: `pap`, `chap` (CHAP-MD5) or `mschapv2`;
    /// `None` when none was (or LCP is not open yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<String>,
    /// The authentication's progress: `running`, `ok` or `failed` (`None`: no
    /// authentication, or not started).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
    /// The IPCP automaton's state (`None`: IPCP not configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipcp: Option<String>,
    /// The IPV6CP automaton's state (`None`: IPV6CP not enabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6cp: Option<String>,
}

/// Authentication failures of PPP sessions terminated in this process, by method (the peer
/// failing our check on the LNS, our credentials refused on the LAC). Each is a count of
/// failed authentications since the daemon started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PppAuthFailures {
    /// PAP (RFC 1334).
    pub pap: u64,
    /// CHAP with MD5 (RFC 1994).
    pub chap: u64,
    /// MS-CHAPv2 (RFC 2759).
    pub mschapv2: u64,
}

impl PppAuthFailures {
    /// Counts one failure of `method` (O(1)).
    pub fn count(&mut self, method: l2tp_ppp::AuthMethod) {
        let c = match method {
            l2tp_ppp::AuthMethod::Pap => &mut self.pap,
            l2tp_ppp::AuthMethod::ChapMd5 => &mut self.chap,
            l2tp_ppp::AuthMethod::MsChapV2 => &mut self.mschapv2,
        };
        *c = c.saturating_add(1);
    }
}

/// Control plane counters: the endpoint's own (the core's `EndpointStats`, its fields inline
/// in the JSON) and what the runtime drops before the endpoint sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointCounters {
    /// The endpoint's counters (malformed, retransmits, wrong_source, …).
    #[serde(flatten)]
    pub engine: l2tp_proto::endpoint::EndpointStats,
    /// Datagrams from addresses not in `accept_peers`, dropped before the engine saw them.
    #[serde(default)]
    pub refused_peers: u64,
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
    /// Authentication failures of PPP sessions terminated in this process, by method.
    #[serde(default)]
    pub ppp_auth_failures: PppAuthFailures,
}

impl RuntimeStats {
    /// Tunnels known and not established yet (`tunnels` − `tunnels_up`): being set up, or
    /// closing before they ever came up.
    pub fn tunnels_half_open(&self) -> usize {
        self.tunnels.saturating_sub(self.tunnels_up)
    }
}
