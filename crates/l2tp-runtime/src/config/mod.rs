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
//! dataplane = "kernel"         # "kernel" | "userspace": who carries this tunnel's data
//!                              # messages (default: the top-level `dataplane`); see below
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
//!
//! # PPP terminated in this process (extension; PPP sessions)
//! ppp = "builtin"              # "pppd" | "builtin": who runs PPP on the kernel data plane
//!                              # (default "pppd": a pppd per session); the user-space data
//!                              # plane always runs it built in and accepts either value
//! ppp_auth = ["chap", "mschapv2", "pap"]  # LNS: methods to ask for, in order (absent or
//!                              # empty: no authentication); LAC: methods it agrees to
//!                              # (default: all three)
//! ppp_secrets = "/etc/ppp/chap-secrets"   # LNS: pppd chap-secrets format; parsed once,
//!                              # again when it changes (edits apply to the next session)
//! ppp_user = "alice"           # LAC: the name it authenticates with
//! ppp_password = "secret"      # LAC: its password
//! ppp_local_ip = "10.0.0.1"    # LNS: our IPCP address
//! ppp_pool = "10.0.0.2-10.0.0.254"  # LNS: addresses given to peers (IPv4, inclusive)
//! ppp_dns = ["192.0.2.53"]     # LNS: up to 2 DNS servers given (RFC 1877); LAC: ask for DNS
//! ppp_mru = 1500               # bytes, 128..=65535 (default 1500); the interface's MTU is
//!                              # at most the peer's MRU (as pppd sets it)
//! ppp_echo_interval = 30       # LCP Echo-Request interval, seconds; 0 = no keepalive
//! ppp_echo_failures = 4        # unanswered Echo-Requests before the link is declared dead
//! ppp_auth_source = "secrets"  # LNS: "secrets" (ppp_secrets) | "radius" (the [radius] servers)
//! ppp_ipv6 = false             # PPP in process: negotiate IPV6CP (RFC 5072) too; at IPV6CP
//!                              # up the interface gets fe80::<our identifier>/64 and IPv6 passes
//!
//! # RADIUS (extension, top level; see `crate::radius`)
//! [radius]
//! nas_identifier = "lns1"      # NAS-Identifier (default: the host name when nas_ip is unset)
//! nas_ip = "192.0.2.1"         # NAS-IP-Address
//! timeout = 3000               # ms before the first retransmission, doubled each time (3000)
//! retries = 2                  # retransmissions to one server before failing over (2)
//! dead_time = 30               # s a server that timed out is skipped (30)
//! acct_interim_interval = 300  # s between Interim-Updates when the server gives none (none)
//! acct_queue_limit = 4096      # accounting requests held while no server answers (4096)
//! dae_listen = "0.0.0.0:3799"  # RFC 5176 Disconnect/CoA server (default: none)
//! [radius.server.a]            # servers in order of preference
//! address = "192.0.2.10"
//! auth_port = 1812             # 0: not for authentication (1812)
//! acct_port = 1813             # 0: not for accounting (1813)
//! secret = "s3cr3t"            # or secret_file = "/etc/l2tpd/radius.secret" (first line),
//!                              # or secret_env = "RADIUS_SECRET"
//! [radius.dae_client.radius1]  # who may send Disconnect/CoA-Requests
//! address = "192.0.2.10"
//! secret = "s3cr3t"            # or secret_file / secret_env
//! ```
//!
//! Top-level `dataplane = "kernel" | "userspace" | "null" | "auto"` (extension) chooses who
//! carries data messages ([`DataPlaneKind`]). A tunnel may choose for itself with
//! `dataplane = "kernel" | "userspace"` in its `[tunnel.NAME]` table ([`TunnelPlane`]): say,
//! the kernel's L2TP for PPP tunnels and the user-space data plane (TAP) for an Ethernet
//! pseudowire on a host without `l2tp_eth`. Its sessions (configured, or opened by the peer)
//! follow it. When any tunnel names a plane other than the daemon's, l2tpd opens both (a
//! kernel that cannot be opened is an error naming the tunnel that asked for it) and routes
//! each call by tunnel ([`crate::dataplane::PlaneRouter`]). With `dataplane = "null"` (or
//! `-null`) the per-tunnel key is ignored: nothing is programmed for any tunnel. Every tunnel
//! then has a socket of its own, connected to its peer, so UDP tunnels of both planes may
//! share a local address and port; L2TP/IP tunnels of the two planes may not share a local
//! address (the user-space plane reads L2TP/IP through a raw socket per address, which would
//! see the kernel tunnels' datagrams too): l2tpd refuses such a configuration at start.
//!
//! kpppoed's top-level keys (`ac_name`, `interface_name`, `services`, `lns_ipaddr`) are read into
//! [`PppoeSection`], as is the `[pppoe]` table (extension):
//!
//! ```toml
//! [pppoe]
//! interfaces = ["eth1"]        # Ethernet interfaces to answer PADI on (required)
//! ac_name = "l2tp-rs"          # AC-Name in PADO (default "kpppoed")
//! services = ["internet"]      # Service-Names offered (default: any)
//! tunnel = "t1"                # the configured dynamic L2TPv2 tunnel carrying the sessions
//! lns = "192.0.2.1:1701"       # or: the LNS to open a tunnel to on demand
//! max_sessions = 65534         # PPPoE sessions per interface
//! max_sessions_per_mac = 4     # PPPoE sessions per subscriber MAC
//! ```
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

mod parse;

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
    /// `[radius]` (extension): RADIUS for in-process PPP sessions.
    pub radius: Option<RadiusSection>,
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

/// The PPPoE access concentrator: the `[pppoe]` table, or kpppoed's top-level keys (both
/// fill the same fields). See [`crate::pppoe`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PppoeSection {
    /// `ac_name`: the AC-Name TAG of every PADO (default "kpppoed").
    pub ac_name: String,
    /// kpppoed's `interface_name`: the Ethernet interface to listen for PADI on.
    pub interface_name: Option<String>,
    /// `[pppoe] interfaces`: Ethernet interfaces to answer PADI on (with `interface_name`:
    /// see [`PppoeSection::all_interfaces`]).
    pub interfaces: Vec<String>,
    /// `services`: Service-Names offered; empty = any.
    pub services: Vec<String>,
    /// `lns_ipaddr` (kpppoed; `[pppoe] lns` too): the LNS to dial for PPPoE sessions when no
    /// `tunnel` is named: an L2TPv2 tunnel to it is opened on demand.
    pub lns_ipaddr: Option<SocketAddr>,
    /// `[pppoe] tunnel`: the configured dynamic L2TPv2 tunnel that carries the sessions.
    pub tunnel: Option<String>,
    /// `[pppoe] max_sessions`: PPPoE sessions per interface at most (default 65534).
    pub max_sessions: Option<u32>,
    /// `[pppoe] max_sessions_per_mac`: sessions one subscriber MAC may hold (default 4).
    pub max_sessions_per_mac: Option<u32>,
}

impl PppoeSection {
    /// `interface_name` (if any) then `interfaces`, without repeats.
    pub fn all_interfaces(&self) -> Vec<String> {
        let mut v: Vec<String> = self.interface_name.iter().cloned().collect();
        for i in &self.interfaces {
            if !v.contains(i) {
                v.push(i.clone());
            }
        }
        v
    }
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
    /// `dataplane` (extension): the data plane that carries this tunnel's data messages and
    /// its sessions'; `None` = the daemon's (top-level `dataplane`).
    pub dataplane: Option<TunnelPlane>,
    /// `[tunnel.NAME.session.NAME]` tables in file order.
    pub sessions: Vec<(String, SessionSection)>,
}

/// `dataplane = "kernel" | "userspace"` in a `[tunnel.NAME]` table: which data plane carries
/// that tunnel (the top-level key's `null` and `auto` are daemon-wide only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelPlane {
    /// The Linux kernel's L2TP ([`DataPlaneKind::Kernel`]).
    Kernel,
    /// This process, on TAP interfaces ([`DataPlaneKind::Userspace`]).
    Userspace,
}

impl fmt::Display for TunnelPlane {
    /// The config spelling: `kernel`, `userspace`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TunnelPlane::Kernel => "kernel",
            TunnelPlane::Userspace => "userspace",
        })
    }
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
    /// The `ppp_*` keys: PPP terminated in this process (user-space data plane).
    pub ppp: PppSettings,
    /// Calling Number AVP of the ICRQ (not a config key: the PPPoE access concentrator puts
    /// the subscriber's MAC address here).
    pub calling_number: Option<String>,
}

/// The `ppp_*` keys of a session: how the user-space data plane terminates its PPP (see
/// the schema above). The role follows the session: the LNS authenticates its peer and
/// gives it an address, the LAC authenticates itself and takes the address it is given.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PppSettings {
    /// `ppp`: who runs the session's PPP on the kernel data plane (the user-space data plane
    /// always runs it in process).
    pub mode: PppMode,
    /// `ppp_auth`: LNS: methods to require, in order of preference (empty: none); LAC:
    /// methods it agrees to use (empty: all).
    pub auth: Vec<l2tp_ppp::AuthMethod>,
    /// `ppp_secrets`: LNS: a pppd `chap-secrets`-format file, read at each session start.
    pub secrets: Option<PathBuf>,
    /// `ppp_user`: LAC: the name we authenticate with.
    pub user: Option<String>,
    /// `ppp_password`: LAC: our password (never printed by `Debug`).
    pub password: Option<String>,
    /// `ppp_local_ip`: LNS: our IPCP address.
    pub local_ip: Option<Ipv4Addr>,
    /// `ppp_pool`: LNS: first and last address (inclusive) given to peers.
    pub pool: Option<(Ipv4Addr, Ipv4Addr)>,
    /// `ppp_dns`: up to two DNS servers (RFC 1877).
    pub dns: Vec<Ipv4Addr>,
    /// `ppp_mru`: our MRU, bytes (`None`: 1500).
    pub mru: Option<u16>,
    /// `ppp_echo_interval`: seconds between LCP Echo-Requests; 0 = off (`None`: 30 s).
    pub echo_interval: Option<u32>,
    /// `ppp_echo_failures`: unanswered Echo-Requests in a row that end the link (`None`: 4).
    pub echo_failures: Option<u32>,
    /// `ppp_auth_source`: LNS: who checks the peer's credentials.
    pub auth_source: PppAuthSource,
    /// `ppp_ipv6`: negotiate IPV6CP (RFC 5072) besides IPCP (PPP in process; default off).
    pub ipv6: bool,
}

/// `ppp_auth_source = "secrets" | "radius"`: who checks an LNS session's PPP credentials.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PppAuthSource {
    /// The `ppp_secrets` file (the default; without one, the data plane's authenticator).
    #[default]
    Secrets,
    /// The RADIUS servers of the `[radius]` section.
    Radius,
}

/// The `[radius]` section (extension): RADIUS authentication, accounting and Dynamic
/// Authorization for PPP sessions terminated in this process (`ppp_auth_source = "radius"`).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct RadiusSection {
    /// `[radius.server.NAME]` tables in file order (the order of preference).
    pub servers: Vec<(String, RadiusServer)>,
    /// `timeout`: wait for a response before the first retransmission (ms in the file;
    /// default 3000), doubled each retransmission.
    pub timeout: Duration,
    /// `retries`: retransmissions to one server before failing over (default 2).
    pub retries: u32,
    /// `dead_time`: how long a server that timed out is skipped (seconds; default 30).
    pub dead_time: Duration,
    /// `nas_identifier`: NAS-Identifier sent (default: none unless `nas_ip` is unset, then
    /// the host name).
    pub nas_identifier: Option<String>,
    /// `nas_ip`: NAS-IP-Address sent.
    pub nas_ip: Option<Ipv4Addr>,
    /// `acct_interim_interval`: seconds between Interim-Updates when the server gives no
    /// Acct-Interim-Interval (0 or unset: none).
    pub acct_interim_interval: Option<Duration>,
    /// `acct_queue_limit`: accounting requests held while no server answers (default 4096).
    pub acct_queue_limit: usize,
    /// `dae_listen`: UDP address of the Dynamic Authorization server (RFC 5176; port 3799
    /// usually); `None`: no DAE.
    pub dae_listen: Option<SocketAddr>,
    /// `[radius.dae_client.NAME]`: who may send Disconnect/CoA requests.
    pub dae_clients: Vec<(String, RadiusDaeClient)>,
}

impl fmt::Debug for RadiusSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RadiusSection")
            .field("servers", &self.servers)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("nas_identifier", &self.nas_identifier)
            .field("nas_ip", &self.nas_ip)
            .field("dae_listen", &self.dae_listen)
            .field("dae_clients", &self.dae_clients)
            .finish_non_exhaustive()
    }
}

/// A `[radius.server.NAME]` table: one RADIUS server.
#[derive(Clone, PartialEq, Eq)]
pub struct RadiusServer {
    /// `address`: the server's IP address.
    pub address: IpAddr,
    /// `auth_port`: Access-Request port (default 1812; 0: not used for authentication).
    pub auth_port: u16,
    /// `acct_port`: Accounting-Request port (default 1813; 0: not used for accounting).
    pub acct_port: u16,
    /// The shared secret: `secret` (in the file), `secret_file` (first line of that file) or
    /// `secret_env` (an environment variable), read at load time.
    pub secret: String,
}

impl fmt::Debug for RadiusServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RadiusServer")
            .field("address", &self.address)
            .field("auth_port", &self.auth_port)
            .field("acct_port", &self.acct_port)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// A `[radius.dae_client.NAME]` table: a Dynamic Authorization client (RFC 5176).
#[derive(Clone, PartialEq, Eq)]
pub struct RadiusDaeClient {
    /// `address`: the source IP its requests come from.
    pub address: IpAddr,
    /// Its shared secret (`secret`, `secret_file` or `secret_env`, as for servers).
    pub secret: String,
}

impl fmt::Debug for RadiusDaeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RadiusDaeClient")
            .field("address", &self.address)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Who runs a PPP session's PPP on the kernel data plane (session key `ppp`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PppMode {
    /// `"pppd"` (default): a pppd process per session takes the PPPoL2TP socket.
    #[default]
    Pppd,
    /// `"builtin"`: this process runs PPP (the sans-IO [`l2tp_ppp::Ppp`]) over the session's
    /// `/dev/ppp` channel and a `pppN` unit of its own; no pppd.
    Builtin,
}

impl std::fmt::Debug for PppSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PppSettings")
            .field("mode", &self.mode)
            .field("auth", &self.auth)
            .field("secrets", &self.secrets)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("local_ip", &self.local_ip)
            .field("pool", &self.pool)
            .field("dns", &self.dns)
            .field("mru", &self.mru)
            .field("echo_interval", &self.echo_interval)
            .field("echo_failures", &self.echo_failures)
            .field("auth_source", &self.auth_source)
            .field("ipv6", &self.ipv6)
            .finish()
    }
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
            ppp: PppSettings::default(),
            calling_number: None,
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
            dataplane: None,
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
            calling_number: self.calling_number.as_ref().map(|c| c.as_bytes().to_vec()),
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
        parse::parse(text, path, profile)
    }

    /// The tunnel with this name. O(tunnels), for tools and tests: the runtime looks tunnels
    /// up by name in its own index, never here.
    pub fn tunnel(&self, name: &str) -> Option<&TunnelSection> {
        self.tunnels.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }
}
