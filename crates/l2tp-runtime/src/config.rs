//! Configuration file: go-l2tp's TOML schema (our drop-in contract) plus a few extensions.
//!
//! # Schema
//!
//! ```toml
//! [tunnel.t1]                  # one table per tunnel, in file order
//! local = "0.0.0.0:1701"       # "host:port"; IPv6 as "[addr]:port"; port defaults to 1701
//! peer = "192.0.2.1:1701"      # required for dynamic LAC tunnels, static and quiescent tunnels
//! encap = "udp"                # "udp" | "ip" (default "udp"; "ip" is L2TPv3 only)
//! version = "l2tpv2"           # "l2tpv2" | "l2tpv3" (default "l2tpv2")
//! tid = 100                    # local tunnel ID: 1..=65535 (v2), 1..=4294967295 (v3)
//! ptid = 200                   # peer tunnel ID, same range
//! window_size = 4              # default 4
//! hello_timeout = 60000        # ms; 0 = no HELLO; unset: 60000 (dynamic), none (static,
//!                              # quiescent) — see "Keepalive" below
//! retry_timeout = 1000         # ms; default 1000
//! max_retries = 3              # default 3
//! host_name = "lac.example"    # default: /proc/sys/kernel/hostname, else "l2tpd"
//! framing_caps = ["sync", "async"]   # default both
//!
//! # extensions (all optional)
//! kind = "dynamic"             # "dynamic" | "static" | "quiescent" (see below)
//! secret = "s3cr3t"            # shared secret (challenge / hidden AVPs / v3 digest)
//! challenge = true             # v2: challenge the peer (needs secret; default: on when a
//!                              # secret is set); false: no Challenge AVP of ours, the peer's
//!                              # is still answered and hide_avps still applies
//! hide_avps = true             # hide sensitive AVPs (needs secret)
//! digest = "md5"               # v3 Message Digest AVP: "md5" | "sha1" (needs secret)
//! listen = true                # LNS: accept incoming tunnels on `local` (dynamic only)
//! accept_peers = ["192.0.2.1"] # LNS: only accept SCCRQ from these addresses (default: any)
//! max_half_open = 4096         # LNS: tunnels accepted and not yet established; when full the
//!                              # oldest is dropped for a new SCCRQ (default 4096)
//! max_tunnels_per_peer = 4096  # LNS: tunnels one peer address may open; further SCCRQs
//!                              # from it are dropped (default 4096)
//!                              # (both limits: endpoint settings, read at start)
//!
//! [tunnel.t1.session.s1]
//! sid = 1                      # local session ID (ranges as tid/ptid)
//! psid = 2                     # peer session ID
//! pseudowire = "ppp"           # "ppp" | "eth" | "eth_vlan" | "pppac" (default "ppp")
//! seqnum = false
//! reorder_timeout = 0          # ms
//! cookie = [1, 2, 3, 4]        # 0, 4 or 8 bytes (v3 only)
//! peer_cookie = [5, 6, 7, 8]
//! interface_name = "l2tpeth0"
//! l2spec_type = "none"         # "none" | "default" (v3 only)
//! pppoe_session_id = 5         # pppac only, 1..=65535
//! pppoe_peer_mac = [0, 1, 2, 3, 4, 5]   # pppac only
//! pppd_args = "/etc/l2tpd/pppd.options"
//! bridge = "tunnel2/session2"  # extension: bridge this PPP session's channel to that one
//!                              # (tunnel switching; neither side runs pppd)
//! ```
//!
//! Top-level `dataplane = "kernel" | "userspace" | "null" | "auto"` (extension) chooses who
//! carries data messages ([`DataPlaneKind`]).
//!
//! kpppoed's top-level keys (`ac_name`, `interface_name`, `services`, `lns_ipaddr`) are read into
//! [`PppoeSection`].
//!
//! # Tunnel kind
//!
//! An explicit `kind` wins. Without it the [`Profile`] decides: [`Profile::L2tpd`] and
//! [`Profile::Kl2tpd`] make every tunnel **dynamic**; [`Profile::Ql2tpd`] follows ql2tpd:
//! **static** without `hello_timeout` (or with 0), **quiescent** with a non-zero one.
//!
//! # Keepalive
//!
//! A dynamic tunnel — dialled, or accepted by a `listen` tunnel — sends HELLO after 60 s
//! without receiving anything (RFC 2661 §6.5, xl2tpd's interval), so a peer that vanishes
//! without a StopCCN is declared down once the HELLO's retransmissions run out (60 s + 1 + 2 +
//! 4 + 8 s with the default `retry_timeout` and `max_retries`). go-l2tp sent none unless
//! `hello_timeout` was set: an explicit `hello_timeout` (ms) is still honoured, and
//! `hello_timeout = 0` turns HELLO off (go-l2tp's default). Static tunnels have no control
//! channel, and quiescent ones send HELLO only with a non-zero `hello_timeout`, as before;
//! the ql2tpd profile picks quiescent for a non-zero `hello_timeout`, static otherwise.
//!
//! # Errors
//!
//! Every problem is reported as one line: `FILE:LINE:COL: KEY: WHAT`, e.g.
//! `/etc/l2tpd.toml:7:1: tunnel.t1.encap: expect 'udp' or 'ip', got "tcp"`. The phrases are
//! go-l2tp's where one exists, so that scripts grepping for them keep working.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use l2tp_proto::endpoint::{EndpointConfig, SessionConfig, TunnelConfig, DEFAULT_HELLO_INTERVAL};
use l2tp_proto::wire::{pw_type, Encap, Version};
use toml_edit::{ImDocument, Item, Key, TableLike, Value};

/// The default L2TP UDP port, used when an address has no port.
pub const DEFAULT_PORT: u16 = 1701;

/// A configuration problem, located in the file.
///
/// Displays as one line: `PATH:LINE:COL: KEY: MESSAGE` (line and column 1-based; key omitted
/// when the problem is not about one key; line omitted for I/O errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (as given to [`Config::load`] / [`Config::parse`]).
    pub path: String,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// Dotted key path (`tunnel.t1.encap`), when the problem concerns one key.
    pub key: Option<String>,
    /// What was expected / what is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path)?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Which daemon's defaults apply (go-l2tp had one daemon per role; `l2tpd` is all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// `l2tpd`: tunnels without `kind` are dynamic.
    #[default]
    L2tpd,
    /// `kl2tpd` (v2 LAC): tunnels without `kind` are dynamic.
    Kl2tpd,
    /// `ql2tpd`: tunnels without `kind` are static, or quiescent when `hello_timeout` is set
    /// and non-zero.
    Ql2tpd,
}

/// How a tunnel runs (go-l2tp's terms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelKind {
    /// Full control protocol (SCCRQ/SCCRP/SCCCN, ICRQ/…); the default for l2tpd.
    Dynamic,
    /// No control protocol: data plane only, IDs configured on both ends (v3 only).
    Static,
    /// Static plus HELLO/ACK liveness on the control channel (v3 only).
    Quiescent,
}

/// Session pseudowire as spelled in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pseudowire {
    /// PPP (v2 or v3), handed to pppd.
    Ppp,
    /// Ethernet (v3).
    Eth,
    /// Ethernet VLAN (v3, RFC 4719 §4.2): 802.1Q-tagged frames, carried like Ethernet. The
    /// kernel has no driver for it (l2tp_eth registers Ethernet only); the user-space data
    /// plane carries it.
    EthVlan,
    /// PPP access concentrator: PPPoE session bridged to an L2TPv2 session (kpppoed).
    Pppac,
}

impl fmt::Display for Pseudowire {
    /// The config spelling: `ppp`, `eth`, `pppac`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pseudowire::Ppp => "ppp",
            Pseudowire::Eth => "eth",
            Pseudowire::EthVlan => "eth_vlan",
            Pseudowire::Pppac => "pppac",
        })
    }
}

impl Pseudowire {
    /// The RFC 3931 pseudowire type number ([`pw_type`]).
    pub fn pw_type(self) -> u16 {
        match self {
            Pseudowire::Ppp | Pseudowire::Pppac => pw_type::PPP,
            Pseudowire::Eth => pw_type::ETHERNET,
            Pseudowire::EthVlan => pw_type::ETHERNET_VLAN,
        }
    }
}

/// L2-Specific Sublayer (RFC 3931 §3.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum L2SpecType {
    /// No sublayer (go-l2tp default).
    #[default]
    None,
    /// The default L2-Specific Sublayer (RFC 3931 §4.6).
    Default,
}

/// v3 control message authentication (Message Digest AVP, RFC 3931 §5.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// HMAC-MD5.
    Md5,
    /// HMAC-SHA-1.
    Sha1,
}

/// A whole configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `[tunnel.NAME]` tables in file order.
    pub tunnels: Vec<(String, TunnelSection)>,
    /// kpppoed's top-level keys, when any is present.
    pub pppoe: Option<PppoeSection>,
    /// `dataplane` (extension, top level): who carries data messages. `None` when the file
    /// does not say (the daemon's command line decides, default kernel).
    pub dataplane: Option<DataPlaneKind>,
}

/// `dataplane = "kernel" | "userspace" | "null" | "auto"`: who carries the data messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataPlaneKind {
    /// The Linux kernel's L2TP (genl `l2tp`, l2tp_eth, PPPoL2TP): the default.
    #[default]
    Kernel,
    /// This process, on TAP interfaces ([`crate::userspace::UserspaceDataPlane`]).
    Userspace,
    /// Nobody: control plane only (go-l2tp's `-null`).
    Null,
    /// The kernel when its L2TP modules are there, user space otherwise (logged).
    Auto,
}

impl std::str::FromStr for DataPlaneKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "kernel" => Ok(DataPlaneKind::Kernel),
            "userspace" => Ok(DataPlaneKind::Userspace),
            "null" => Ok(DataPlaneKind::Null),
            "auto" => Ok(DataPlaneKind::Auto),
            _ => Err(format!(
                "data plane '{s}' (expect \"kernel\", \"userspace\", \"null\" or \"auto\")"
            )),
        }
    }
}

/// kpppoed's top-level keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PppoeSection {
    /// `ac_name` (default "kpppoed").
    pub ac_name: String,
    /// `interface_name`: the Ethernet interface to listen for PADI on.
    pub interface_name: Option<String>,
    /// `services`: service names offered.
    pub services: Vec<String>,
    /// `lns_ipaddr`: the LNS to dial for each PPPoE session.
    pub lns_ipaddr: Option<SocketAddr>,
}

/// One `[tunnel.NAME]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelSection {
    /// How the tunnel runs (explicit `kind`, or the [`Profile`]'s default).
    pub kind: TunnelKind,
    /// `local`: address to bind.
    pub local: Option<SocketAddr>,
    /// `peer`: address of the peer (resolved at load time).
    pub peer: Option<SocketAddr>,
    /// `encap` (default UDP).
    pub encap: Encap,
    /// `version` (default L2TPv2).
    pub version: Version,
    /// `tid`: local tunnel / control connection ID.
    pub tid: Option<u32>,
    /// `ptid`: peer tunnel / control connection ID.
    pub ptid: Option<u32>,
    /// `window_size` (default 4).
    pub window_size: u16,
    /// `hello_timeout` as written (`None` when absent; zero turns HELLO off). What the engine
    /// gets, with the kind's default, is [`TunnelSection::hello_interval`].
    pub hello_timeout: Option<Duration>,
    /// `retry_timeout` (default 1 s).
    pub retry_timeout: Duration,
    /// `max_retries` (default 3).
    pub max_retries: u32,
    /// `host_name` (default: the host's name).
    pub host_name: String,
    /// `framing_caps` as the Framing Capabilities bitmask (1 sync, 2 async; default 3).
    pub framing_caps: u32,
    /// `secret` (extension).
    pub secret: Option<String>,
    /// `challenge` (extension) as written (`None` when absent): v2 tunnel authentication,
    /// a Challenge AVP in our SCCRQ / SCCRP. What the engine gets is
    /// [`TunnelSection::challenges`].
    pub challenge: Option<bool>,
    /// `hide_avps` (extension): hide sensitive AVPs with the secret.
    pub hide_avps: bool,
    /// `digest` (extension, v3): Message Digest AVP algorithm.
    pub digest: Option<Digest>,
    /// `listen` (extension): accept incoming tunnels on `local` (LNS).
    pub listen: bool,
    /// `accept_peers` (extension): addresses allowed to open tunnels (empty = any).
    pub accept_peers: Vec<IpAddr>,
    /// `max_half_open` (extension, listen only): most tunnels accepted and not yet
    /// established; `None` = the engine's default (see `EndpointConfig::max_half_open`).
    pub max_half_open: Option<usize>,
    /// `max_tunnels_per_peer` (extension, listen only): most tunnels one peer address may
    /// open; `None` = the engine's default (see `EndpointConfig::max_tunnels_per_peer`).
    pub max_tunnels_per_peer: Option<usize>,
    /// `[tunnel.NAME.session.NAME]` tables in file order.
    pub sessions: Vec<(String, SessionSection)>,
}

/// One `[tunnel.T.session.NAME]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSection {
    /// `sid`: local session ID.
    pub sid: Option<u32>,
    /// `psid`: peer session ID.
    pub psid: Option<u32>,
    /// `pseudowire` (default PPP).
    pub pseudowire: Pseudowire,
    /// `seqnum`: send sequence numbers in data messages.
    pub seqnum: bool,
    /// `reorder_timeout`.
    pub reorder_timeout: Option<Duration>,
    /// `cookie`: our cookie (0, 4 or 8 bytes).
    pub cookie: Vec<u8>,
    /// `peer_cookie`: the peer's cookie (0, 4 or 8 bytes).
    pub peer_cookie: Vec<u8>,
    /// `interface_name`.
    pub interface_name: Option<String>,
    /// `l2spec_type` (default none).
    pub l2spec_type: L2SpecType,
    /// `pppoe_session_id` (pppac only).
    pub pppoe_session_id: Option<u16>,
    /// `pppoe_peer_mac` (pppac only).
    pub pppoe_peer_mac: Option<[u8; 6]>,
    /// `pppd_args`: path of a file of pppd options.
    pub pppd_args: Option<PathBuf>,
    /// `bridge` (extension): `"TUNNEL/SESSION"`, a configured PPP session whose PPP channel
    /// this session's channel is bridged to in the kernel once both are up (tunnel switching,
    /// `PPPIOCBRIDGECHAN`); neither side runs pppd.
    pub bridge: Option<(String, String)>,
}

impl Default for SessionSection {
    fn default() -> Self {
        SessionSection {
            sid: None,
            psid: None,
            pseudowire: Pseudowire::Ppp,
            seqnum: false,
            reorder_timeout: None,
            cookie: Vec::new(),
            peer_cookie: Vec::new(),
            interface_name: None,
            l2spec_type: L2SpecType::None,
            pppoe_session_id: None,
            pppoe_peer_mac: None,
            pppd_args: None,
            bridge: None,
        }
    }
}

impl TunnelSection {
    /// A tunnel with go-l2tp's defaults (dynamic, L2TPv2 over UDP, no addresses).
    pub fn new() -> Self {
        TunnelSection {
            kind: TunnelKind::Dynamic,
            local: None,
            peer: None,
            encap: Encap::Udp,
            version: Version::V2,
            tid: None,
            ptid: None,
            window_size: 4,
            hello_timeout: None,
            retry_timeout: Duration::from_millis(1000),
            max_retries: 3,
            host_name: default_host_name(),
            framing_caps: 3,
            secret: None,
            challenge: None,
            hide_avps: false,
            digest: None,
            listen: false,
            accept_peers: Vec::new(),
            max_half_open: None,
            max_tunnels_per_peer: None,
            sessions: Vec::new(),
        }
    }

    /// The HELLO interval the engine gets: `hello_timeout` when set and non-zero, none when
    /// it is 0; without it [`DEFAULT_HELLO_INTERVAL`] (60 s) for a dynamic tunnel (dialled or
    /// listening) and none for static and quiescent ones.
    pub fn hello_interval(&self) -> Option<Duration> {
        match self.hello_timeout {
            Some(d) if d.is_zero() => None,
            Some(d) => Some(d),
            None if self.kind == TunnelKind::Dynamic => Some(DEFAULT_HELLO_INTERVAL),
            None => None,
        }
    }

    /// Whether we challenge the peer (v2, RFC 2661 §5.1.1): `challenge` when set, else
    /// whenever a `secret` is (what a secret always meant here). With `challenge = false` a
    /// secret still answers the peer's Challenge and hides AVPs (`hide_avps`). go-l2tp has
    /// neither key; xl2tpd's `challenge = yes` is `challenge = true` with a `secret`.
    pub fn challenges(&self) -> bool {
        self.secret.is_some() && self.challenge.unwrap_or(true)
    }

    /// The engine's view of this tunnel. A listening tunnel without `peer` gets the unspecified
    /// address `0.0.0.0:0` (the engine fills in each caller's address).
    pub fn to_engine(&self) -> TunnelConfig {
        let peer = self
            .peer
            .unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0));
        let mut c = TunnelConfig::new(self.version, self.encap, peer);
        c.local_tunnel_id = self.tid;
        c.host_name = self.host_name.as_bytes().to_vec();
        c.window_size = self.window_size;
        c.hello_interval = self.hello_interval();
        c.retry_timeout = self.retry_timeout;
        c.max_retries = self.max_retries;
        c.framing_caps = self.framing_caps;
        c.secret = self.secret.as_ref().map(|s| s.as_bytes().to_vec());
        c.challenge = self.challenges();
        c.digest = self.digest.map(|d| match d {
            Digest::Md5 => l2tp_proto::auth::DigestAlg::HmacMd5,
            Digest::Sha1 => l2tp_proto::auth::DigestAlg::HmacSha1,
        });
        if self.hide_avps {
            c.hide_avps = l2tp_proto::endpoint::SENSITIVE_AVPS.to_vec();
        }
        c.router_id = router_id(self.local, &self.host_name);
        c
    }
}

impl TunnelSection {
    /// Endpoint-wide settings from a listening (`listen = true`) tunnel: tunnels that peers
    /// open take its version, host name, secret, timers, digest and hidden AVPs, and the calls
    /// they place take its first session as a template. L2TPv3 listeners also accept L2TPv2
    /// peers (version fallback).
    pub fn to_endpoint_config(&self) -> EndpointConfig {
        let t = self.to_engine();
        EndpointConfig {
            accept_v2_incoming: true,
            accept_v3_incoming: self.version == Version::V3,
            v3_fallback_to_v2: self.version == Version::V3,
            router_id: t.router_id,
            digest: t.digest,
            hide_avps: t.hide_avps,
            session_defaults: self
                .sessions
                .first()
                .map(|(_, s)| s.to_engine())
                .unwrap_or_default(),
            host_name: t.host_name,
            secret: t.secret,
            challenge: t.challenge,
            window_size: t.window_size,
            hello_interval: t.hello_interval,
            retry_timeout: t.retry_timeout,
            max_retries: t.max_retries,
            framing_caps: t.framing_caps,
            max_half_open: self
                .max_half_open
                .unwrap_or(l2tp_proto::endpoint::DEFAULT_MAX_HALF_OPEN),
            max_tunnels_per_peer: self
                .max_tunnels_per_peer
                .unwrap_or(l2tp_proto::endpoint::DEFAULT_MAX_TUNNELS_PER_PEER),
            ..EndpointConfig::default()
        }
    }
}

impl Default for TunnelSection {
    fn default() -> Self {
        Self::new()
    }
}

/// RFC 3931 Router ID (§5.4.3): the local IPv4 address when there is one, else a stable
/// non-zero value derived from the host name.
fn router_id(local: Option<SocketAddr>, host_name: &str) -> u32 {
    if let Some(SocketAddr::V4(a)) = local {
        let v = u32::from(*a.ip());
        if v != 0 {
            return v;
        }
    }
    // FNV-1a of the host name: stable across restarts, never 0.
    let mut h: u32 = 0x811c_9dc5;
    for b in host_name.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h.max(1)
}

impl SessionSection {
    /// The engine's view of this session. For a dynamic L2TPv3 session the cookie we assign
    /// (Assigned Cookie AVP, what the peer must send us) is `peer_cookie`, and the peer's
    /// assignment becomes the cookie we send.
    pub fn to_engine(&self) -> SessionConfig {
        SessionConfig {
            pseudowire: self.pseudowire.pw_type(),
            local_session_id: self.sid,
            cookie: self.peer_cookie.clone(),
            l2_specific: match self.l2spec_type {
                L2SpecType::None => 0,
                L2SpecType::Default => 1,
            },
            data_sequencing: if self.seqnum { 2 } else { 0 },
            interface_name: self.interface_name.clone(),
            ..SessionConfig::default()
        }
    }
}

/// The host's name: `/proc/sys/kernel/hostname`, else "l2tpd".
pub fn default_host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "l2tpd".to_string())
}

impl Config {
    /// Reads and checks a config file with the [`Profile::L2tpd`] defaults.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        Self::load_as(path, Profile::L2tpd)
    }

    /// Reads and checks a config file with a daemon profile's defaults.
    pub fn load_as(path: impl AsRef<Path>, profile: Profile) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: shown.clone(),
            position: None,
            key: None,
            message: format!("could not read: {e}"),
        })?;
        Self::parse_as(&text, &shown, profile)
    }

    /// Parses config text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        Self::parse_as(text, path, Profile::L2tpd)
    }

    /// Parses config text with a daemon profile's defaults.
    pub fn parse_as(text: &str, path: &str, profile: Profile) -> Result<Config, ConfigError> {
        let cx = Cx { text, path };
        let doc = ImDocument::parse(text).map_err(|e| ConfigError {
            path: path.to_string(),
            position: e.span().map(|s| cx.line_col(s.start)),
            key: None,
            message: e.message().trim().replace('\n', "; "),
        })?;
        cx.config(doc.as_table(), profile)
    }

    /// The tunnel with this name.
    pub fn tunnel(&self, name: &str) -> Option<&TunnelSection> {
        self.tunnels.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }
}

/// Parsing context: the text (for positions) and the path (for messages).
struct Cx<'a> {
    text: &'a str,
    path: &'a str,
}

/// Where a key sits: its dotted path and a byte span to point at.
#[derive(Clone)]
struct At {
    key: String,
    span: Option<Range<usize>>,
}

impl At {
    fn child(&self, name: &str, key: Option<&Key>, item: Option<&Item>) -> At {
        let span = key
            .and_then(|k| k.span())
            .or_else(|| item.and_then(|i| i.span()))
            .or_else(|| self.span.clone());
        let key = if self.key.is_empty() {
            name.to_string()
        } else {
            format!("{}.{}", self.key, name)
        };
        At { key, span }
    }
}

type R<T> = Result<T, ConfigError>;

fn describe(item: &Item) -> String {
    match item {
        Item::None => "nothing".into(),
        Item::Table(_) => "a table".into(),
        Item::ArrayOfTables(_) => "an array of tables".into(),
        Item::Value(v) => describe_value(v),
    }
}

fn describe_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{:?}", s.value()),
        Value::Integer(i) => i.value().to_string(),
        Value::Float(f) => f.value().to_string(),
        Value::Boolean(b) => b.value().to_string(),
        Value::Datetime(d) => format!("datetime {}", d.value()),
        Value::Array(_) => "an array".into(),
        Value::InlineTable(_) => "a table".into(),
    }
}

impl Cx<'_> {
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text.as_bytes()[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let col = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
        (line, col)
    }

    fn err(&self, at: &At, message: impl Into<String>) -> ConfigError {
        ConfigError {
            path: self.path.to_string(),
            position: Some(at.span.as_ref().map_or((1, 1), |s| self.line_col(s.start))),
            key: (!at.key.is_empty()).then(|| at.key.clone()),
            message: message.into(),
        }
    }

    fn string(&self, at: &At, item: &Item) -> R<String> {
        match item.as_str() {
            Some(s) => Ok(s.to_string()),
            None => Err(self.err(
                at,
                format!("could not be parsed as a string, got {}", describe(item)),
            )),
        }
    }

    fn bool(&self, at: &At, item: &Item) -> R<bool> {
        item.as_bool()
            .ok_or_else(|| self.err(at, format!("expect true or false, got {}", describe(item))))
    }

    fn int(&self, at: &At, item: &Item, min: i64, max: i64) -> R<i64> {
        let Some(v) = item.as_integer() else {
            return Err(self.err(
                at,
                format!("could not be parsed as an integer, got {}", describe(item)),
            ));
        };
        if v < min || v > max {
            return Err(self.err(at, format!("value {v} out of range {min}..={max}")));
        }
        Ok(v)
    }

    fn millis(&self, at: &At, item: &Item) -> R<Duration> {
        let v = self.int(at, item, 0, i64::from(u32::MAX))?;
        Ok(Duration::from_millis(v as u64))
    }

    fn choice<T: Copy>(&self, at: &At, item: &Item, expect: &str, map: &[(&str, T)]) -> R<T> {
        let s = item.as_str().ok_or_else(|| {
            self.err(
                at,
                format!("could not be parsed as a string, got {}", describe(item)),
            )
        })?;
        map.iter()
            .find(|(k, _)| *k == s)
            .map(|(_, v)| *v)
            .ok_or_else(|| self.err(at, format!("expect {expect}, got {s:?}")))
    }

    fn array<'b>(&self, at: &At, item: &'b Item) -> R<Vec<&'b Value>> {
        match item.as_array() {
            Some(a) => Ok(a.iter().collect()),
            None => Err(self.err(at, format!("expect an array, got {}", describe(item)))),
        }
    }

    fn bytes(&self, at: &At, item: &Item) -> R<Vec<u8>> {
        let mut out = Vec::new();
        for v in self.array(at, item)? {
            match v.as_integer() {
                Some(b @ 0..=255) => out.push(b as u8),
                Some(b) => return Err(self.err(at, format!("byte value {b} out of range 0..=255"))),
                None => {
                    return Err(self.err(
                        at,
                        format!(
                            "expect an array of bytes, got element {}",
                            describe_value(v)
                        ),
                    ))
                }
            }
        }
        Ok(out)
    }

    fn strings(&self, at: &At, item: &Item) -> R<Vec<String>> {
        self.array(at, item)?
            .into_iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    self.err(
                        at,
                        format!("could not be parsed as a string, got {}", describe_value(v)),
                    )
                })
            })
            .collect()
    }

    fn addr(&self, at: &At, item: &Item) -> R<SocketAddr> {
        let s = self.string(at, item)?;
        parse_addr(&s).map_err(|why| self.err(at, format!("{why}: {s:?}")))
    }

    fn table<'b>(&self, at: &At, item: &'b Item, what: &str) -> R<&'b dyn TableLike> {
        item.as_table_like().ok_or_else(|| {
            self.err(
                at,
                format!("{what} instances must be named, got {}", describe(item)),
            )
        })
    }

    /// Iterates a table's entries in file order with their positions.
    fn entries<'b>(&self, at: &At, t: &'b dyn TableLike) -> Vec<(String, At, &'b Item)> {
        let mut v: Vec<(String, At, &'b Item)> = t
            .iter()
            .filter(|(_, i)| !i.is_none())
            .map(|(k, i)| {
                let key = t.key(k);
                (k.to_string(), at.child(k, key, Some(i)), i)
            })
            .collect();
        v.sort_by_key(|(_, a, _)| a.span.as_ref().map_or(usize::MAX, |s| s.start));
        v
    }

    fn config(&self, root: &dyn TableLike, profile: Profile) -> R<Config> {
        let top = At {
            key: String::new(),
            span: None,
        };
        let mut tunnels = None;
        let mut pppoe: Option<PppoeSection> = None;
        let mut dataplane = None;
        for (k, at, item) in self.entries(&top, root) {
            match k.as_str() {
                "dataplane" => {
                    let v = self.string(&at, item)?;
                    dataplane = Some(v.parse().map_err(|e: String| self.err(&at, e))?);
                }
                "tunnel" => tunnels = Some(self.tunnels(&at, item, profile)?),
                "ac_name" => {
                    pppoe.get_or_insert_with(PppoeSection::default).ac_name =
                        self.string(&at, item)?
                }
                "interface_name" => {
                    pppoe
                        .get_or_insert_with(PppoeSection::default)
                        .interface_name = Some(self.string(&at, item)?)
                }
                "services" => {
                    pppoe.get_or_insert_with(PppoeSection::default).services =
                        self.strings(&at, item)?
                }
                "lns_ipaddr" => {
                    pppoe.get_or_insert_with(PppoeSection::default).lns_ipaddr =
                        Some(self.addr(&at, item)?)
                }
                _ => return Err(self.err(&at, format!("unrecognised parameter '{k}'"))),
            }
        }
        if let Some(p) = &mut pppoe {
            if p.ac_name.is_empty() {
                p.ac_name = "kpppoed".into();
            }
        }
        let tunnels = match tunnels {
            Some(t) => t,
            None if pppoe.is_some() => Vec::new(),
            None => return Err(self.err(&top, "no tunnel table present")),
        };
        Ok(Config {
            tunnels,
            pppoe,
            dataplane,
        })
    }

    fn tunnels(&self, at: &At, item: &Item, profile: Profile) -> R<Vec<(String, TunnelSection)>> {
        let t = self.table(at, item, "tunnel")?;
        let mut out: Vec<(String, TunnelSection)> = Vec::new();
        for (name, tat, titem) in self.entries(at, t) {
            let tt = self.table(&tat, titem, "tunnel")?;
            let section = self.tunnel(&tat, tt, profile)?;
            if let Some(tid) = section.tid {
                if let Some((other, _)) = out.iter().find(|(_, s)| s.tid == Some(tid)) {
                    return Err(self.err(
                        &tat.child("tid", tt.key("tid"), tt.get("tid")),
                        format!("tunnel ID {tid} already used by tunnel '{other}'"),
                    ));
                }
            }
            out.push((name, section));
        }
        Ok(out)
    }

    fn tunnel(&self, at: &At, t: &dyn TableLike, profile: Profile) -> R<TunnelSection> {
        let mut s = TunnelSection::new();
        let mut kind = None;
        let mut sessions: Option<(At, &Item)> = None;
        // Positions of keys, for the cross-field checks below.
        let pos = |k: &str| at.child(k, t.key(k), t.get(k));
        for (k, kat, item) in self.entries(at, t) {
            match k.as_str() {
                "local" => s.local = Some(self.addr(&kat, item)?),
                "peer" => s.peer = Some(self.addr(&kat, item)?),
                "encap" => {
                    s.encap = self.choice(
                        &kat,
                        item,
                        "'udp' or 'ip'",
                        &[("udp", Encap::Udp), ("ip", Encap::Ip)],
                    )?
                }
                "version" => {
                    s.version = self.choice(
                        &kat,
                        item,
                        "'l2tpv2' or 'l2tpv3'",
                        &[("l2tpv2", Version::V2), ("l2tpv3", Version::V3)],
                    )?
                }
                // Range against the version is checked below, once the version is known.
                "tid" => s.tid = Some(self.int(&kat, item, 1, i64::from(u32::MAX))? as u32),
                "ptid" => s.ptid = Some(self.int(&kat, item, 1, i64::from(u32::MAX))? as u32),
                "window_size" => s.window_size = self.int(&kat, item, 1, 65535)? as u16,
                "hello_timeout" => s.hello_timeout = Some(self.millis(&kat, item)?),
                "retry_timeout" => {
                    s.retry_timeout = self.millis(&kat, item)?;
                    if s.retry_timeout.is_zero() {
                        return Err(self.err(&kat, "value 0 out of range 1..=4294967295"));
                    }
                }
                "max_retries" => {
                    s.max_retries = self.int(&kat, item, 0, i64::from(u32::MAX))? as u32
                }
                "host_name" => s.host_name = self.string(&kat, item)?,
                "framing_caps" => {
                    let mut caps = 0;
                    for v in self.array(&kat, item)? {
                        caps |= match v.as_str() {
                            Some("sync") => 1,
                            Some("async") => 2,
                            _ => {
                                return Err(self.err(
                                    &kat,
                                    format!("expect 'sync' or 'async', got {}", describe_value(v)),
                                ))
                            }
                        };
                    }
                    s.framing_caps = caps;
                }
                "kind" => {
                    kind = Some(self.choice(
                        &kat,
                        item,
                        "'dynamic', 'static' or 'quiescent'",
                        &[
                            ("dynamic", TunnelKind::Dynamic),
                            ("static", TunnelKind::Static),
                            ("quiescent", TunnelKind::Quiescent),
                        ],
                    )?)
                }
                "secret" => s.secret = Some(self.string(&kat, item)?),
                "challenge" => s.challenge = Some(self.bool(&kat, item)?),
                "hide_avps" => s.hide_avps = self.bool(&kat, item)?,
                "digest" => {
                    s.digest = Some(self.choice(
                        &kat,
                        item,
                        "'md5' or 'sha1'",
                        &[("md5", Digest::Md5), ("sha1", Digest::Sha1)],
                    )?)
                }
                "listen" => s.listen = self.bool(&kat, item)?,
                "accept_peers" => {
                    for a in self.strings(&kat, item)? {
                        let ip = a.parse::<IpAddr>().map_err(|_| {
                            self.err(&kat, format!("expect an IP address, got {a:?}"))
                        })?;
                        s.accept_peers.push(ip);
                    }
                }
                "max_half_open" => {
                    s.max_half_open = Some(self.int(&kat, item, 1, i64::from(u32::MAX))? as usize)
                }
                "max_tunnels_per_peer" => {
                    s.max_tunnels_per_peer =
                        Some(self.int(&kat, item, 1, i64::from(u32::MAX))? as usize)
                }
                "session" => sessions = Some((kat, item)),
                _ => return Err(self.err(&kat, format!("unrecognised parameter '{k}'"))),
            }
        }
        s.kind = kind.unwrap_or(match profile {
            Profile::L2tpd | Profile::Kl2tpd => TunnelKind::Dynamic,
            Profile::Ql2tpd if s.hello_timeout.is_some_and(|d| !d.is_zero()) => {
                TunnelKind::Quiescent
            }
            Profile::Ql2tpd => TunnelKind::Static,
        });

        // Cross-field checks.
        let v2 = s.version == Version::V2;
        let id_max: u32 = if v2 { 65535 } else { u32::MAX };
        for (k, v) in [("tid", s.tid), ("ptid", s.ptid)] {
            if let Some(v) = v {
                if v > id_max {
                    return Err(self.err(&pos(k), format!("value {v} out of range 1..={id_max}")));
                }
            }
        }
        if v2 && s.encap == Encap::Ip {
            return Err(self.err(&pos("encap"), "L2TPv2 supports encap 'udp' only"));
        }
        if s.kind != TunnelKind::Dynamic {
            if v2 {
                return Err(self.err(
                    &pos("version"),
                    "static and quiescent tunnels need version 'l2tpv3'",
                ));
            }
            for (k, missing) in [
                ("local", s.local.is_none()),
                ("peer", s.peer.is_none()),
                ("tid", s.tid.is_none()),
                ("ptid", s.ptid.is_none()),
            ] {
                if missing {
                    return Err(self.err(
                        at,
                        format!(
                            "missing parameter '{k}' (required for a static or quiescent tunnel)"
                        ),
                    ));
                }
            }
            if s.listen {
                return Err(self.err(&pos("listen"), "only dynamic tunnels can listen"));
            }
        } else if s.listen {
            if s.local.is_none() {
                return Err(self.err(
                    &pos("listen"),
                    "missing parameter 'local' (required to listen)",
                ));
            }
        } else if s.peer.is_none() {
            return Err(self.err(
                at,
                "missing parameter 'peer' (required for a dynamic tunnel unless listen = true)",
            ));
        }
        for (k, set) in [
            ("accept_peers", !s.accept_peers.is_empty()),
            ("max_half_open", s.max_half_open.is_some()),
            ("max_tunnels_per_peer", s.max_tunnels_per_peer.is_some()),
        ] {
            if set && !s.listen {
                return Err(self.err(&pos(k), "only meaningful with listen = true"));
            }
        }
        for (k, on) in [
            ("challenge", s.challenge == Some(true)),
            ("hide_avps", s.hide_avps),
            ("digest", s.digest.is_some()),
        ] {
            if on && s.secret.is_none() {
                return Err(self.err(&pos(k), "needs parameter 'secret'"));
            }
        }
        if v2 && s.digest.is_some() {
            return Err(self.err(&pos("digest"), "the Message Digest AVP is L2TPv3 only"));
        }
        if let (Some(peer), Some(local)) = (s.peer, s.local) {
            if peer.is_ipv4() != local.is_ipv4() {
                return Err(self.err(&pos("peer"), "local and peer address families differ"));
            }
        }

        if let Some((sat, item)) = sessions {
            let st = self.table(&sat, item, "session")?;
            for (name, at2, sitem) in self.entries(&sat, st) {
                let t2 = self.table(&at2, sitem, "session")?;
                let sess = self.session(&at2, t2, &s)?;
                if let Some(sid) = sess.sid {
                    if let Some((other, _)) = s.sessions.iter().find(|(_, o)| o.sid == Some(sid)) {
                        return Err(self.err(
                            &at2.child("sid", t2.key("sid"), t2.get("sid")),
                            format!("session ID {sid} already used by session '{other}'"),
                        ));
                    }
                }
                s.sessions.push((name, sess));
            }
        }
        Ok(s)
    }

    fn session(&self, at: &At, t: &dyn TableLike, tunnel: &TunnelSection) -> R<SessionSection> {
        let mut s = SessionSection::default();
        let pos = |k: &str| at.child(k, t.key(k), t.get(k));
        for (k, kat, item) in self.entries(at, t) {
            match k.as_str() {
                "sid" => s.sid = Some(self.int(&kat, item, 1, i64::from(u32::MAX))? as u32),
                "psid" => s.psid = Some(self.int(&kat, item, 1, i64::from(u32::MAX))? as u32),
                "pseudowire" => {
                    s.pseudowire = self.choice(
                        &kat,
                        item,
                        "'ppp', 'eth', 'eth_vlan' or 'pppac'",
                        &[
                            ("ppp", Pseudowire::Ppp),
                            ("eth", Pseudowire::Eth),
                            ("eth_vlan", Pseudowire::EthVlan),
                            ("pppac", Pseudowire::Pppac),
                        ],
                    )?
                }
                "seqnum" => s.seqnum = self.bool(&kat, item)?,
                "reorder_timeout" => s.reorder_timeout = Some(self.millis(&kat, item)?),
                "cookie" => s.cookie = self.bytes(&kat, item)?,
                "peer_cookie" => s.peer_cookie = self.bytes(&kat, item)?,
                "interface_name" => {
                    let n = self.string(&kat, item)?;
                    if n.is_empty() || n.len() > 15 || n.contains(['/', ' ']) {
                        return Err(self.err(
                            &kat,
                            format!("expect an interface name of 1 to 15 characters, got {n:?}"),
                        ));
                    }
                    s.interface_name = Some(n);
                }
                "l2spec_type" => {
                    s.l2spec_type = self.choice(
                        &kat,
                        item,
                        "'none' or 'default'",
                        &[("none", L2SpecType::None), ("default", L2SpecType::Default)],
                    )?
                }
                "pppoe_session_id" => {
                    s.pppoe_session_id = Some(self.int(&kat, item, 1, 65535)? as u16)
                }
                "pppoe_peer_mac" => {
                    let b = self.bytes(&kat, item)?;
                    let mac: [u8; 6] = b
                        .as_slice()
                        .try_into()
                        .map_err(|_| self.err(&kat, format!("expect 6 bytes, got {}", b.len())))?;
                    s.pppoe_peer_mac = Some(mac);
                }
                "pppd_args" => s.pppd_args = Some(PathBuf::from(self.string(&kat, item)?)),
                "bridge" => {
                    let v = self.string(&kat, item)?;
                    match v.split_once('/') {
                        Some((t, n)) if !t.is_empty() && !n.is_empty() && !n.contains('/') => {
                            s.bridge = Some((t.to_string(), n.to_string()))
                        }
                        _ => {
                            return Err(
                                self.err(&kat, format!("expect \"TUNNEL/SESSION\", got {v:?}"))
                            )
                        }
                    }
                }
                _ => return Err(self.err(&kat, format!("unrecognised parameter '{k}'"))),
            }
        }

        if s.bridge.is_some() && s.pseudowire != Pseudowire::Ppp {
            return Err(self.err(&pos("bridge"), "only PPP sessions can be bridged"));
        }
        let v2 = tunnel.version == Version::V2;
        let id_max: u32 = if v2 { 65535 } else { u32::MAX };
        for (k, v) in [("sid", s.sid), ("psid", s.psid)] {
            if let Some(v) = v {
                if v > id_max {
                    return Err(self.err(&pos(k), format!("value {v} out of range 1..={id_max}")));
                }
            }
        }
        match (v2, s.pseudowire) {
            (true, pw @ (Pseudowire::Eth | Pseudowire::EthVlan)) => {
                return Err(self.err(
                    &pos("pseudowire"),
                    format!("expect 'ppp' or 'pppac' for an L2TPv2 tunnel, got \"{pw}\""),
                ))
            }
            (false, Pseudowire::Pppac) => {
                return Err(self.err(&pos("pseudowire"), "'pppac' needs an L2TPv2 tunnel"))
            }
            _ => {}
        }
        for k in ["cookie", "peer_cookie"] {
            let c = if k == "cookie" {
                &s.cookie
            } else {
                &s.peer_cookie
            };
            if ![0, 4, 8].contains(&c.len()) {
                return Err(self.err(&pos(k), format!("expect 0, 4 or 8 bytes, got {}", c.len())));
            }
            if v2 && !c.is_empty() {
                return Err(self.err(&pos(k), "cookies are L2TPv3 only"));
            }
        }
        if v2 && s.l2spec_type != L2SpecType::None {
            return Err(self.err(
                &pos("l2spec_type"),
                "the L2-Specific Sublayer is L2TPv3 only",
            ));
        }
        if s.pseudowire != Pseudowire::Pppac {
            for (k, set) in [
                ("pppoe_session_id", s.pppoe_session_id.is_some()),
                ("pppoe_peer_mac", s.pppoe_peer_mac.is_some()),
            ] {
                if set {
                    return Err(self.err(&pos(k), "only applies to pseudowire 'pppac'"));
                }
            }
        }
        if tunnel.kind != TunnelKind::Dynamic {
            for (k, missing) in [("sid", s.sid.is_none()), ("psid", s.psid.is_none())] {
                if missing {
                    return Err(self.err(
                        at,
                        format!(
                            "missing parameter '{k}' (required in a static or quiescent tunnel)"
                        ),
                    ));
                }
            }
        }
        Ok(s)
    }
}

/// Parses "host:port", "[v6]:port", or an address without port (port 1701). Host names are
/// resolved (first address).
fn parse_addr(s: &str) -> Result<SocketAddr, &'static str> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, DEFAULT_PORT));
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => {
            (h, p.parse::<u16>().map_err(|_| "expect \"host:port\"")?)
        }
        Some(_) => return Err("expect \"host:port\" (IPv6 as \"[addr]:port\")"),
        None => (s, DEFAULT_PORT),
    };
    if host.is_empty() {
        return Err("expect \"host:port\"");
    }
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or("could not resolve address")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let cx = Cx {
            text: "a\nbc\n",
            path: "x",
        };
        assert_eq!(cx.line_col(0), (1, 1));
        assert_eq!(cx.line_col(3), (2, 2));
    }

    #[test]
    fn parse_addr_forms() {
        assert_eq!(parse_addr("10.0.0.1:1702").unwrap().port(), 1702);
        assert_eq!(parse_addr("10.0.0.1").unwrap().port(), 1701);
        assert!(parse_addr("[::1]:1701").unwrap().is_ipv6());
        assert!(parse_addr("::1").unwrap().is_ipv6());
        assert!(parse_addr("10.0.0.1:x").is_err());
    }
}
