//! Configuration of the protocol core: tunnels, sessions and the endpoint, with their defaults
//! (as quinn-proto keeps its in `config/`), and the parameters a session comes up with.

use std::net::SocketAddr;
use std::time::Duration;

use crate::auth::DigestAlg;
use crate::wire::{AvpValue, Encap, Version};

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
    /// Send HELLO after this long without receiving anything (RFC 2661 §6.5); `None` = never.
    /// Default [`DEFAULT_HELLO_INTERVAL`] (60 s, as xl2tpd): a dynamic tunnel whose peer
    /// vanished is then declared down after the retransmission budget. Quiescent tunnels
    /// ([`Endpoint::add_quiescent`](crate::endpoint::Endpoint::add_quiescent)) send HELLO only when this is set.
    pub hello_interval: Option<Duration>,
    /// First retransmission timeout (default 1 s); doubles on each retry, capped at 8 s.
    pub retry_timeout: Duration,
    /// Retransmissions of one message before the tunnel is declared down (default 3).
    pub max_retries: u32,
    /// Framing Capabilities AVP bitmask (default 3: sync | async).
    pub framing_caps: u32,
    /// Bearer Capabilities AVP bitmask (default 0).
    pub bearer_caps: u32,
    /// Shared secret for tunnel authentication (v2 Challenge, v3 Message Digest) and hidden
    /// AVPs, if any.
    pub secret: Option<Vec<u8>>,
    /// v2 tunnel authentication (RFC 2661 §4.2, §5.1.1): with `secret`, send a Challenge AVP
    /// in our SCCRQ / SCCRP and close the tunnel (StopCCN result 4) unless the peer's Challenge
    /// Response matches. Default true. False: no Challenge of ours — a peer's Challenge is
    /// still answered and AVPs still hidden with `secret`. Ignored without a secret and by v3
    /// (whose authentication is `digest`).
    pub challenge: bool,
    /// v3: Router ID AVP (RFC 3931 §5.4.3; usually an IPv4 address of the host).
    pub router_id: u32,
    /// v3: pseudowire types we accept (Pseudowire Capabilities List AVP).
    pub pseudowires: Vec<u16>,
    /// v3: Control Message Authentication (RFC 3931 §4.3) with this HMAC, keyed with `secret`.
    /// Messages without a valid digest are then dropped ([`EndpointStats::auth_failures`](crate::shared::EndpointStats::auth_failures)).
    pub digest: Option<DigestAlg>,
    /// Attribute types (IETF vendor) to send hidden (RFC 2661 §4.3, RFC 3931 §5.3), with a fresh
    /// Random Vector AVP per message; needs `secret`. Empty = hide nothing.
    pub hide_avps: Vec<u16>,
    /// Quiescent tunnels ([`Endpoint::add_quiescent`](crate::endpoint::Endpoint::add_quiescent)): the peer's control connection / tunnel
    /// ID, configured on both ends. Ignored by [`Endpoint::connect`](crate::endpoint::Endpoint::connect).
    pub peer_tunnel_id: Option<u32>,
    /// Tie Breaker AVP to send in SCCRQ (RFC 2661 §4.4.3, RFC 3931 §5.4.3); `None` = none.
    /// When our SCCRQ and the same peer's cross, the lower value wins (a value beats none).
    /// Losing, our tunnel and its sessions are reported down (`TunnelDown` with
    /// `Protocol(result 3 "lost tie break")`, nothing sent) and the peer's tunnel is accepted
    /// (`TunnelUp` under a new ID) even when incoming tunnels are not otherwise accepted; the
    /// runtime re-opens its sessions there.
    pub tie_breaker: Option<[u8; 8]>,
}

/// HELLO interval of dynamic tunnels unless configured otherwise ([`TunnelConfig::new`],
/// [`EndpointConfig::default`]): 60 s of receive silence, as xl2tpd (RFC 2661 §6.5 leaves the
/// value to the implementation). go-l2tp sent none by default; with it a peer that vanished
/// without a StopCCN is noticed after 60 s plus the retransmission budget (1 + 2 + 4 + 8 s
/// with the default 3 retries) instead of never.
pub const DEFAULT_HELLO_INTERVAL: Duration = Duration::from_secs(60);

/// The attribute types usually hidden when hiding is wanted: proxy authentication name,
/// challenge and response, Calling and Called Number (RFC 2661 §4.3 suggests the sensitive
/// ones). Use as `TunnelConfig::hide_avps`.
pub const SENSITIVE_AVPS: &[u16] = &[21, 22, 30, 31, 32, 33];

impl TunnelConfig {
    /// A config with go-l2tp's defaults for the given version, encapsulation and peer, except
    /// HELLO every [`DEFAULT_HELLO_INTERVAL`] (go-l2tp: none).
    pub fn new(version: Version, encap: Encap, peer: SocketAddr) -> Self {
        TunnelConfig {
            version,
            encap,
            peer,
            local_tunnel_id: None,
            host_name: b"l2tpd".to_vec(),
            window_size: 4,
            hello_interval: Some(DEFAULT_HELLO_INTERVAL),
            retry_timeout: Duration::from_secs(1),
            max_retries: 3,
            framing_caps: 3,
            bearer_caps: 0,
            secret: None,
            challenge: true,
            router_id: 0,
            pseudowires: default_pseudowires(),
            digest: None,
            hide_avps: Vec::new(),
            peer_tunnel_id: None,
            tie_breaker: None,
        }
    }
}

fn default_pseudowires() -> Vec<u16> {
    use crate::wire::pw_type;
    vec![pw_type::PPP, pw_type::ETHERNET, pw_type::ETHERNET_VLAN]
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
    /// v3: the cookie we assign (Assigned Cookie AVP, 0, 4 or 8 bytes): the peer puts it in
    /// every data packet it sends us.
    pub cookie: Vec<u8>,
    /// v3: L2-Specific Sublayer we require on data we receive (0 none, 1 default).
    pub l2_specific: u16,
    /// v3: Data Sequencing we require (0 none, 1 non-IP, 2 all).
    pub data_sequencing: u16,
    /// v3: Remote End ID AVP (identifies the circuit at the peer; sent in ICRQ/OCRQ).
    pub remote_end_id: Vec<u8>,
    /// The interface name the runtime should give the session's device (carried to
    /// [`SessionParams::interface_name`]; never sent).
    pub interface_name: Option<String>,
    /// v2 LAC: proxy LCP / authentication AVPs (types 26–33) to send in ICCN / OCCN.
    pub proxy_avps: Vec<AvpValue>,
}

/// What the runtime needs to program a session's data plane, carried by [`Event::SessionUp`](crate::shared::Event::SessionUp).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionParams {
    /// True if the peer started the call (its ICRQ / OCRQ, which we answered); false if we did.
    pub peer_initiated: bool,
    /// True for an outgoing call (OCRQ/OCRP/OCCN) rather than an incoming one (ICRQ/ICRP/ICCN).
    pub outgoing_call: bool,
    /// Call Serial Number.
    pub call_serial: u32,
    /// v3: the cookie we assigned (expected in data we receive).
    pub local_cookie: Vec<u8>,
    /// v3: the cookie the peer assigned (to put in data we send).
    pub peer_cookie: Vec<u8>,
    /// v3: L2-Specific Sublayer we require on receive (0 none, 1 default).
    pub l2_specific: u16,
    /// v3: L2-Specific Sublayer the peer requires on what we send.
    pub peer_l2_specific: u16,
    /// v3: Data Sequencing we require.
    pub data_sequencing: u16,
    /// v3: Data Sequencing the peer requires.
    pub peer_data_sequencing: u16,
    /// v3: the peer's Circuit Status (bit 0 active, bit 1 new), if it sent one.
    pub peer_circuit_status: Option<u16>,
    /// v3: Remote End ID (sent by the call's originator).
    pub remote_end_id: Vec<u8>,
    /// Interface name requested in the local [`SessionConfig`].
    pub interface_name: Option<String>,
    /// Calling Number, if any (either side's).
    pub calling_number: Option<Vec<u8>>,
    /// Called Number, if any.
    pub called_number: Option<Vec<u8>>,
    /// v2: proxy LCP and authentication AVPs (types 26–33) the LAC sent.
    pub proxy_avps: Vec<AvpValue>,
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
            cookie: Vec::new(),
            l2_specific: 0,
            data_sequencing: 0,
            remote_end_id: Vec::new(),
            interface_name: None,
            proxy_avps: Vec::new(),
        }
    }
}

/// Settings of the endpoint as a whole, and of the tunnels it accepts from peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    /// Accept L2TPv2 SCCRQs from unknown peers (LNS / listen mode).
    pub accept_v2_incoming: bool,
    /// Accept L2TPv3 SCCRQs from unknown peers (over UDP and IP).
    pub accept_v3_incoming: bool,
    /// With `accept_v3_incoming`: also accept L2TPv2 peers (go-l2tp's
    /// ProtocolVersion3Fallback), even when `accept_v2_incoming` is off.
    pub v3_fallback_to_v2: bool,
    /// v3 Router ID for accepted tunnels.
    pub router_id: u32,
    /// v3 pseudowire types accepted.
    pub pseudowires: Vec<u16>,
    /// v3 Control Message Authentication for accepted tunnels (requires `secret`); incoming
    /// SCCRQs without a valid digest are dropped.
    pub digest: Option<DigestAlg>,
    /// Attribute types to send hidden in accepted tunnels (see [`TunnelConfig::hide_avps`]).
    pub hide_avps: Vec<u16>,
    /// Our side of sessions the peer opens: cookie, L2-Specific Sublayer, data sequencing,
    /// framing/bearer defaults (the IDs, pseudowire type, numbers and interface name are per
    /// call and not taken from here).
    pub session_defaults: SessionConfig,
    /// Host Name AVP for accepted tunnels.
    pub host_name: Vec<u8>,
    /// Shared secret for accepted tunnels (tunnel authentication, hidden AVPs).
    pub secret: Option<Vec<u8>>,
    /// v2: challenge the peers of accepted tunnels when `secret` is set (see
    /// [`TunnelConfig::challenge`]; default true).
    pub challenge: bool,
    /// Our Receive Window Size for accepted tunnels.
    pub window_size: u16,
    /// HELLO interval for accepted tunnels (default [`DEFAULT_HELLO_INTERVAL`]; `None` =
    /// never).
    pub hello_interval: Option<Duration>,
    /// First retransmission timeout for accepted tunnels.
    pub retry_timeout: Duration,
    /// Retransmissions before an accepted tunnel is declared down.
    pub max_retries: u32,
    /// Framing Capabilities for accepted tunnels.
    pub framing_caps: u32,
    /// Bearer Capabilities for accepted tunnels.
    pub bearer_caps: u32,
    /// How long the record of a closed tunnel is kept — closed by the peer's StopCCN, or by
    /// ours once acknowledged — to acknowledge the peer's late messages: retransmissions of its
    /// StopCCN, or its own StopCCN or CDN that crossed ours (RFC 2661 §5.7: a full
    /// retransmission cycle, ~31 s). See [`Endpoint::lingering`](crate::endpoint::Endpoint::lingering).
    pub closed_hold: Duration,
    /// Most half-open tunnels held: accepted for a peer's SCCRQ and not yet established
    /// (default [`DEFAULT_MAX_HALF_OPEN`]; at least 1). An SCCRQ's source is not validated
    /// until the peer answers our SCCRP, so when this many are held a new SCCRQ evicts the
    /// *oldest* half-open tunnel (silently: `TunnelDown` with
    /// `Protocol(result 2, error 4 "insufficient resources")`, nothing sent;
    /// [`EndpointStats::half_open_evicted`](crate::shared::EndpointStats::half_open_evicted)) rather than being refused: a flood of spoofed
    /// SCCRQs then cannot lock legitimate peers out, as a real peer completes its handshake in
    /// one round trip, long before its tunnel becomes the oldest. A half-open tunnel also
    /// expires on its own: its SCCRP unacknowledged after the retransmission budget (15 s by
    /// default), or no SCCCN within the set-up time (one retransmission cycle plus one
    /// timeout, 23 s by default).
    pub max_half_open: usize,
    /// Most tunnels one peer IP address may have opened (any state but closed records;
    /// default [`DEFAULT_MAX_TUNNELS_PER_PEER`]). Further SCCRQs from it are dropped
    /// silently ([`EndpointStats::refused_peer_limit`](crate::shared::EndpointStats::refused_peer_limit)): refusing with a StopCCN (result 2,
    /// error 4) would mean holding state for its reliable delivery (RFC 2661 §5.7, §5.8) —
    /// the state the limit is there to bound — for a source that may be spoofed. The peer's
    /// retransmitted SCCRQ is taken once one of its tunnels has gone.
    pub max_tunnels_per_peer: usize,
}

/// Default [`EndpointConfig::max_half_open`].
pub const DEFAULT_MAX_HALF_OPEN: usize = 4096;

/// Default [`EndpointConfig::max_tunnels_per_peer`]: generous, so that a LAC concentrating many
/// tunnels (a load generator runs ~2,500 from one address) is not refused; raise it for more.
pub const DEFAULT_MAX_TUNNELS_PER_PEER: usize = 4096;

impl EndpointConfig {
    /// The settings of a tunnel accepted from `peer` under local ID `local_tunnel_id`: this
    /// config's per-tunnel fields over [`TunnelConfig::new`]'s defaults.
    pub fn accepted_tunnel(
        &self,
        version: Version,
        encap: Encap,
        peer: SocketAddr,
        local_tunnel_id: u32,
    ) -> TunnelConfig {
        TunnelConfig {
            local_tunnel_id: Some(local_tunnel_id),
            host_name: self.host_name.clone(),
            window_size: self.window_size,
            hello_interval: self.hello_interval,
            retry_timeout: self.retry_timeout,
            max_retries: self.max_retries,
            framing_caps: self.framing_caps,
            bearer_caps: self.bearer_caps,
            secret: self.secret.clone(),
            challenge: self.challenge,
            router_id: self.router_id,
            pseudowires: self.pseudowires.clone(),
            digest: self.digest,
            hide_avps: self.hide_avps.clone(),
            ..TunnelConfig::new(version, encap, peer)
        }
    }
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            accept_v2_incoming: false,
            accept_v3_incoming: false,
            v3_fallback_to_v2: false,
            router_id: 0,
            pseudowires: default_pseudowires(),
            digest: None,
            hide_avps: Vec::new(),
            session_defaults: SessionConfig::default(),
            host_name: b"l2tpd".to_vec(),
            secret: None,
            challenge: true,
            window_size: 4,
            hello_interval: Some(DEFAULT_HELLO_INTERVAL),
            retry_timeout: Duration::from_secs(1),
            max_retries: 3,
            framing_caps: 3,
            bearer_caps: 0,
            closed_hold: Duration::from_secs(31),
            max_half_open: DEFAULT_MAX_HALF_OPEN,
            max_tunnels_per_peer: DEFAULT_MAX_TUNNELS_PER_PEER,
        }
    }
}
