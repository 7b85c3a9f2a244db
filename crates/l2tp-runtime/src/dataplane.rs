//! The seam between the runtime and the kernel: what a data plane must do for tunnels and
//! sessions once the control plane has agreed on them.
//!
//! The runtime calls [`DataPlane::create_tunnel`] when a tunnel is up (dynamic) or configured
//! (static / quiescent), [`DataPlane::create_session`] on `SessionUp`, and the delete calls on
//! CDN, StopCCN, peer death or shutdown. A failure goes back to the control plane (CDN with a
//! result code); the data plane never parses control messages.
//!
//! Implementations: the Linux kernel one (crate `l2tp-kernel`, generic netlink `l2tp` family and
//! PPPoL2TP sockets) and [`NullDataPlane`], which only logs and records the calls (go-l2tp's
//! `-null` mode, and tests); [`Recorder`] wraps one to record its calls in tests.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use l2tp_proto::wire::{Encap, Version};

pub use crate::config::{L2SpecType, PppSettings, Pseudowire, TunnelPlane};

/// Everything the kernel needs to create a tunnel (`L2TP_CMD_TUNNEL_CREATE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelSpec {
    /// Protocol version (`L2TP_ATTR_PROTO_VERSION`).
    pub version: Version,
    /// UDP or IP encapsulation (`L2TP_ATTR_ENCAP_TYPE`).
    pub encap: Encap,
    /// Local tunnel / control connection ID (`L2TP_ATTR_CONN_ID`).
    pub tunnel_id: u32,
    /// Peer tunnel / control connection ID (`L2TP_ATTR_PEER_CONN_ID`).
    pub peer_tunnel_id: u32,
    /// Local address (for unmanaged tunnels the kernel binds its own socket here).
    pub local: Option<SocketAddr>,
    /// Peer address.
    pub peer: SocketAddr,
    /// The control socket's raw fd for managed tunnels (dynamic and quiescent): the kernel
    /// takes data messages from this socket (`L2TP_ATTR_FD`). `None` for static tunnels, where
    /// the kernel opens its own socket from `local` / `peer` (as `ip l2tp add tunnel` does).
    pub control_fd: Option<i32>,
    /// UDP checksums on transmit (IPv4 `L2TP_ATTR_UDP_CSUM`; IPv6 zero-checksum flags inverted).
    pub udp_checksum: bool,
    /// The data plane the tunnel's configuration names (`dataplane` in its table); `None` =
    /// the daemon's default. Only [`PlaneRouter`] reads it; a single data plane carries every
    /// tunnel it is given.
    pub plane: Option<TunnelPlane>,
}

/// Everything the kernel needs to create a session (`L2TP_CMD_SESSION_CREATE` and, for PPP,
/// a PPPoL2TP socket plus a ppp unit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSpec {
    /// Parent tunnel's local ID.
    pub tunnel_id: u32,
    /// Parent tunnel's peer ID (PPPoL2TP sockaddr needs it).
    pub peer_tunnel_id: u32,
    /// Parent tunnel's version (v3 session IDs are unique per host, v2 per tunnel).
    pub version: Version,
    /// Local session ID (`L2TP_ATTR_SESSION_ID`).
    pub session_id: u32,
    /// Peer session ID (`L2TP_ATTR_PEER_SESSION_ID`).
    pub peer_session_id: u32,
    /// Pseudowire (`L2TP_ATTR_PW_TYPE`: PPP 7, PPP_AC 8, Ethernet 5).
    pub pseudowire: Pseudowire,
    /// Cookie we send (v3; 0, 4 or 8 bytes).
    pub cookie: Vec<u8>,
    /// Cookie the peer sends (v3; 0, 4 or 8 bytes).
    pub peer_cookie: Vec<u8>,
    /// L2-Specific Sublayer (v3).
    pub l2spec: L2SpecType,
    /// Send sequence numbers in data messages (`L2TP_ATTR_SEND_SEQ`).
    pub send_seq: bool,
    /// Require sequence numbers from the peer (`L2TP_ATTR_RECV_SEQ`).
    pub recv_seq: bool,
    /// Queue out-of-order data packets this long (`L2TP_ATTR_RECV_TIMEOUT`).
    pub reorder_timeout: Option<Duration>,
    /// Interface name to create (Ethernet: `l2tpethN` when unset; PPP: pppd names it).
    pub interface_name: Option<String>,
    /// MTU of the session's interface, when the runtime wants one (`L2TP_ATTR_MTU`).
    pub mtu: Option<u16>,
    /// LNS mode (v2: we are the LNS; affects PPPoL2TP sequence number handling).
    pub lns_mode: bool,
    /// PPPoE session to bridge to (pseudowire PPP_AC only): (session ID, peer MAC).
    pub pppoe: Option<(u16, [u8; 6])>,
    /// PPP terminated in this process: authentication, addresses, keepalive. The user-space
    /// data plane always terminates PPP itself; the kernel data plane does when `ppp.mode` is
    /// [`crate::config::PppMode::Builtin`], and otherwise hands the session to pppd.
    pub ppp: Arc<PppSettings>,
    /// The call's Calling Number AVP (RFC 2661 §4.4.5), as sent, when it had one (RADIUS
    /// Calling-Station-Id).
    pub calling_number: Option<Vec<u8>>,
    /// The call's Called Number AVP, as sent (RADIUS Called-Station-Id).
    pub called_number: Option<Vec<u8>>,
}

impl TunnelSpec {
    /// Checks what the kernel would refuse anyway, with a clearer message.
    pub fn validate(&self) -> Result<(), DataPlaneError> {
        if self.tunnel_id == 0 || self.peer_tunnel_id == 0 {
            return Err(DataPlaneError::Invalid(
                "tunnel IDs must be non-zero".into(),
            ));
        }
        if self.version == Version::V2 {
            if self.encap == Encap::Ip {
                return Err(DataPlaneError::Invalid("L2TPv2 runs over UDP only".into()));
            }
            if self.tunnel_id > 0xffff || self.peer_tunnel_id > 0xffff {
                return Err(DataPlaneError::Invalid(
                    "L2TPv2 tunnel IDs are 16-bit".into(),
                ));
            }
        }
        if let Some(local) = self.local {
            if local.is_ipv4() != self.peer.is_ipv4() {
                return Err(DataPlaneError::Invalid(
                    "local and peer address families differ".into(),
                ));
            }
        }
        Ok(())
    }
}

impl SessionSpec {
    /// A PPP session with no options (what a v2 LAC/LNS session needs).
    pub fn ppp(tunnel_id: u32, peer_tunnel_id: u32, session_id: u32, peer_session_id: u32) -> Self {
        SessionSpec {
            tunnel_id,
            peer_tunnel_id,
            version: Version::V2,
            session_id,
            peer_session_id,
            pseudowire: Pseudowire::Ppp,
            cookie: Vec::new(),
            peer_cookie: Vec::new(),
            l2spec: L2SpecType::None,
            send_seq: false,
            recv_seq: false,
            reorder_timeout: None,
            interface_name: None,
            mtu: None,
            lns_mode: false,
            pppoe: None,
            ppp: Arc::default(),
            calling_number: None,
            called_number: None,
        }
    }

    /// Checks what the kernel would refuse anyway, with a clearer message.
    pub fn validate(&self) -> Result<(), DataPlaneError> {
        if self.session_id == 0 || self.peer_session_id == 0 {
            return Err(DataPlaneError::Invalid(
                "session IDs must be non-zero".into(),
            ));
        }
        for c in [&self.cookie, &self.peer_cookie] {
            if ![0, 4, 8].contains(&c.len()) {
                return Err(DataPlaneError::Invalid(format!(
                    "cookie of {} bytes (expect 0, 4 or 8)",
                    c.len()
                )));
            }
        }
        if self.version == Version::V2 {
            if matches!(self.pseudowire, Pseudowire::Eth | Pseudowire::EthVlan) {
                return Err(DataPlaneError::Unsupported(
                    "L2TPv2 carries PPP only".into(),
                ));
            }
            if !self.cookie.is_empty() || !self.peer_cookie.is_empty() {
                return Err(DataPlaneError::Invalid("cookies are L2TPv3 only".into()));
            }
            if self.session_id > 0xffff || self.peer_session_id > 0xffff {
                return Err(DataPlaneError::Invalid(
                    "L2TPv2 session IDs are 16-bit".into(),
                ));
            }
        }
        if (self.pseudowire == Pseudowire::Pppac) != self.pppoe.is_some() {
            return Err(DataPlaneError::Invalid(
                "a PPPoE session is needed for (and only for) pseudowire pppac".into(),
            ));
        }
        if let Some(n) = &self.interface_name {
            if n.is_empty() || n.len() > 15 {
                return Err(DataPlaneError::Invalid(format!("bad interface name {n:?}")));
            }
        }
        Ok(())
    }
}

/// What the data plane created for a session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionHandle {
    /// The network interface carrying the session (`l2tpeth0`, `ppp3`), once known.
    pub interface_name: Option<String>,
    /// The PPP channel index of the PPPoL2TP socket (PPP pseudowires), to hand to pppd
    /// (`plugin pppol2tp.so` / `PPPIOCATTCHAN`).
    pub ppp_channel: Option<u32>,
}

/// Per-session data counters with the kernel's meaning (`L2TP_ATTR_STATS`): the core's
/// [`l2tp_proto::data::DataStats`], which the user-space data plane counts into and the kernel
/// data plane fills from netlink.
pub use l2tp_proto::data::DataStats as SessionStats;

/// Why a data plane operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataPlaneError {
    /// The ID is in use (kernel EEXIST).
    #[error("{0} already exists")]
    Exists(String),
    /// No such tunnel or session (kernel ENOENT).
    #[error("{0} does not exist")]
    NotFound(String),
    /// The kernel cannot do this (module missing, pseudowire without a driver, …).
    #[error("not supported: {0}")]
    Unsupported(String),
    /// A request the kernel would reject (EINVAL), with the reason.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Any other OS-level failure: what was being done and the OS error text.
    #[error("{op}: {message}")]
    Os {
        /// The operation (e.g. "create session 7 in tunnel 3").
        op: String,
        /// The error.
        message: String,
    },
}

/// Creates and removes kernel tunnels and sessions.
///
/// Calls are made from one task; an implementation keeps whatever handles it needs (netlink
/// socket, PPPoL2TP sockets, /dev/ppp fds) and releases them on delete and on drop.
pub trait DataPlane: Send {
    /// Creates the data plane of a tunnel.
    ///
    /// # Errors
    /// [`DataPlaneError::Exists`] (tunnel ID in use), [`DataPlaneError::Invalid`] (a spec
    /// the kernel would refuse), [`DataPlaneError::Unsupported`] (module missing),
    /// [`DataPlaneError::Os`] (anything else the OS said). Nothing is left half-created.
    fn create_tunnel(&mut self, spec: &TunnelSpec) -> Result<(), DataPlaneError>;

    /// Like [`DataPlane::create_tunnel`], handing over `control`: a duplicate of the managed
    /// tunnel's control socket whose number is `spec.control_fd`. A data plane that needs the
    /// socket after this call (PPPoL2TP sockets name it) keeps it for the tunnel's life, so
    /// the number cannot be reused by another socket meanwhile; the default closes it once
    /// the tunnel is created. The runtime calls this one.
    fn create_tunnel_owning(
        &mut self,
        spec: &TunnelSpec,
        control: Option<std::os::fd::OwnedFd>,
    ) -> Result<(), DataPlaneError> {
        let r = self.create_tunnel(spec);
        drop(control);
        r
    }

    /// Removes a tunnel and every session in it.
    ///
    /// # Errors
    /// [`DataPlaneError::NotFound`] when no such tunnel is held; [`DataPlaneError::Os`].
    fn delete_tunnel(&mut self, tunnel_id: u32) -> Result<(), DataPlaneError>;

    /// Creates a session in an existing tunnel.
    ///
    /// # Errors
    /// [`DataPlaneError::NotFound`] (no such tunnel), [`DataPlaneError::Exists`] (session
    /// ID in use: per tunnel for v2, per host for v3), [`DataPlaneError::Invalid`],
    /// [`DataPlaneError::Unsupported`] (pseudowire or module missing),
    /// [`DataPlaneError::Os`]. Nothing is left half-created (a PPP session whose PPPoL2TP
    /// socket fails is removed again).
    fn create_session(&mut self, spec: &SessionSpec) -> Result<SessionHandle, DataPlaneError>;

    /// Removes a session.
    ///
    /// # Errors
    /// [`DataPlaneError::NotFound`] when no such session is held; [`DataPlaneError::Os`].
    fn delete_session(&mut self, tunnel_id: u32, session_id: u32) -> Result<(), DataPlaneError>;

    /// The session's counters, if the session exists and the data plane counts.
    fn session_stats(&mut self, tunnel_id: u32, session_id: u32) -> Option<SessionStats>;

    /// The file descriptor of a PPP session's PPPoL2TP socket, which pppd's `pppol2tp.so`
    /// plugin takes (`pppol2tp FD`); `None` when the data plane has none (null data plane).
    fn ppp_fd(&self, _tunnel_id: u32, _session_id: u32) -> Option<i32> {
        None
    }

    /// Bridges two PPP sessions' channels (tunnel switching): PPP frames arriving on one are
    /// sent on the other, in both directions, without pppd. `a` and `b` are (tunnel ID,
    /// session ID). The bridge goes when either session is deleted.
    fn bridge_sessions(&mut self, a: (u32, u32), b: (u32, u32)) -> Result<(), DataPlaneError> {
        let _ = (a, b);
        Err(DataPlaneError::Unsupported(
            "PPP channel bridging in this data plane".into(),
        ))
    }

    /// The counters of many sessions at once, keyed by (tunnel ID, session ID); sessions the
    /// data plane does not know are left out. The default asks [`DataPlane::session_stats`]
    /// for each; the kernel data plane answers from one `SESSION_GET` dump instead of one
    /// round trip per session.
    fn sessions_stats(&mut self, keys: &[(u32, u32)]) -> HashMap<(u32, u32), SessionStats> {
        keys.iter()
            .filter_map(|&(t, s)| self.session_stats(t, s).map(|st| ((t, s), st)))
            .collect()
    }

    /// Where the runtime's socket readers hand received data messages, for a data plane that
    /// carries them in user space ([`crate::userspace::UserspaceDataPlane`]); `None` (the
    /// default) when the kernel takes them off the tunnel sockets itself, or nobody carries
    /// them (null data plane: the control plane counts and drops them).
    ///
    /// With a sink the driver also opens L2TP/IP tunnels on raw IP sockets (protocol 115)
    /// instead of the kernel's L2TP/IP sockets, shared per local address, and hands every
    /// tunnel's socket to [`DataPlane::create_tunnel_owning`] for sending.
    fn data_sink(&self) -> Option<Arc<dyn DataSink>> {
        None
    }

    /// Whether calls block on the operating system (netlink round trips, ioctls). The runtime
    /// then makes them on a thread of their own, so that they never stall the control
    /// channel of other tunnels; otherwise it calls them inline.
    fn blocking(&self) -> bool {
        false
    }

    /// The receiving end of the data plane's events ([`DataPlaneEvent`]), taken once by the
    /// driver at start-up; `None` (the default) for a data plane that has none.
    fn take_events(&mut self) -> Option<tokio::sync::mpsc::Receiver<DataPlaneEvent>> {
        None
    }

    /// Whether a tunnel whose configuration asks for `plane` (`None`: the daemon's default)
    /// has its data messages carried in user space, i.e. taken off its socket by
    /// [`DataPlane::data_sink`] (then its socket is handed over for sending, and L2TP/IP runs
    /// on raw sockets); `false` when the kernel takes them off the socket itself. The driver
    /// asks once per choice at start-up.
    ///
    /// The default answers for a data plane that carries every tunnel the same way: `None`
    /// and the plane it is are accepted.
    ///
    /// # Errors
    /// [`DataPlaneError::Unsupported`] when this data plane cannot carry a tunnel on `plane`
    /// (a tunnel asking for the kernel on a user-space-only daemon).
    fn user_space_for(&self, plane: Option<TunnelPlane>) -> Result<bool, DataPlaneError> {
        let user_space = self.data_sink().is_some();
        match plane {
            None => Ok(user_space),
            Some(p) if (p == TunnelPlane::Userspace) == user_space => Ok(user_space),
            Some(p) => Err(DataPlaneError::Unsupported(format!(
                "dataplane = \"{p}\" (this daemon runs the {} data plane only)",
                if user_space { "user-space" } else { "kernel" }
            ))),
        }
    }
}

/// What a data plane tells the control plane on its own initiative (PPP terminated in the
/// data plane: [`crate::userspace::UserspaceDataPlane`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataPlaneEvent {
    /// The session cannot carry traffic any more (PPP went down: LCP terminated,
    /// authentication failed, keepalive timeout): the control plane clears it (CDN).
    SessionFailed {
        /// Local tunnel ID.
        tunnel_id: u32,
        /// Local session ID.
        session_id: u32,
        /// Why, for the CDN's message and the logs.
        reason: String,
    },
    /// PPP reached the network phase with IPCP up.
    PppUp {
        /// Local tunnel ID.
        tunnel_id: u32,
        /// Local session ID.
        session_id: u32,
        /// The authenticated user name (the peer's on the LNS, ours on the LAC), if any.
        username: Option<String>,
        /// The PPP client's IPv4 address (the one the LNS gave the LAC).
        address: Option<std::net::Ipv4Addr>,
        /// The first RADIUS Class of the Access-Accept (LNS, RADIUS authentication), as
        /// [`crate::userspace::printable_class`] shows it.
        class: Option<String>,
    },
    /// PPP terminated in this process changed state (an automaton moved, authentication
    /// started, succeeded or failed): what `show` reports from now on.
    PppPhase {
        /// Local tunnel ID.
        tunnel_id: u32,
        /// Local session ID.
        session_id: u32,
        /// The new state.
        phase: PppPhase,
    },
    /// PPP terminated in this process failed authentication with `method` (the peer failed
    /// our check on the LNS, or our credentials were refused on the LAC): counted by method.
    PppAuthFailed {
        /// Local tunnel ID.
        tunnel_id: u32,
        /// Local session ID.
        session_id: u32,
        /// The method that failed.
        method: l2tp_ppp::AuthMethod,
    },
}

/// How a PPP authentication stands (see [`PppPhase`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthProgress {
    /// Credentials being exchanged or checked.
    Running,
    /// Succeeded.
    Ok,
    /// Failed (the link is being terminated).
    Failed,
}

/// The state of a PPP link terminated in this process, compact (a few bytes per session):
/// its automata (RFC 1661 §4.2) and its authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PppPhase {
    /// The LCP automaton's state.
    pub lcp: l2tp_ppp::fsm::State,
    /// The authentication method LCP negotiated, if any.
    pub auth_method: Option<l2tp_ppp::AuthMethod>,
    /// The authentication's progress (`None`: not started, or none).
    pub auth: Option<AuthProgress>,
    /// The IPCP automaton's state (`None`: IPCP not configured).
    pub ipcp: Option<l2tp_ppp::fsm::State>,
    /// The IPV6CP automaton's state (`None`: not enabled).
    pub ipv6cp: Option<l2tp_ppp::fsm::State>,
}

impl PppPhase {
    /// The serialisable form `show` prints (see [`crate::status::PppStatus`]).
    pub fn status(&self) -> crate::status::PppStatus {
        crate::status::PppStatus {
            lcp: state_name(self.lcp).into(),
            auth_method: self.auth_method.map(|m| auth_method_name(m).into()),
            auth: self.auth.map(|a| {
                match a {
                    AuthProgress::Running => "running",
                    AuthProgress::Ok => "ok",
                    AuthProgress::Failed => "failed",
                }
                .into()
            }),
            ipcp: self.ipcp.map(|s| state_name(s).into()),
            ipv6cp: self.ipv6cp.map(|s| state_name(s).into()),
        }
    }
}

/// The RFC 1661 §4.2 name of an automaton state, lower case (`req-sent`, `opened`, …).
pub fn state_name(s: l2tp_ppp::fsm::State) -> &'static str {
    use l2tp_ppp::fsm::State::*;
    match s {
        Initial => "initial",
        Starting => "starting",
        Closed => "closed",
        Stopped => "stopped",
        Closing => "closing",
        Stopping => "stopping",
        ReqSent => "req-sent",
        AckRcvd => "ack-rcvd",
        AckSent => "ack-sent",
        Opened => "opened",
    }
}

/// The short name of an authentication method, as metrics labels and `show` use it: `pap`,
/// `chap` (CHAP-MD5), `mschapv2`.
pub fn auth_method_name(m: l2tp_ppp::AuthMethod) -> &'static str {
    match m {
        l2tp_ppp::AuthMethod::Pap => "pap",
        l2tp_ppp::AuthMethod::ChapMd5 => "chap",
        l2tp_ppp::AuthMethod::MsChapV2 => "mschapv2",
    }
}

/// Hears why sessions end, before their data plane objects are removed (RADIUS accounting
/// takes its Acct-Terminate-Cause from it). Called on the driver's task: must not block.
pub trait SessionObserver: Send + Sync {
    /// Session `session_id` of tunnel `tunnel_id` (local IDs) is going down for `reason`;
    /// its data plane objects are removed right after. A session that goes with its tunnel
    /// gets the tunnel's reason when the engine gave it in the same batch (the peer's StopCCN,
    /// a timeout), else [`DownReason::TunnelDown`](l2tp_proto::endpoint::DownReason) (we are
    /// closing the tunnel).
    fn session_down(
        &self,
        tunnel_id: u32,
        session_id: u32,
        reason: &l2tp_proto::endpoint::DownReason,
    );
}

/// Capacity of the data plane's event channel (events; a full channel makes the sending
/// session task wait, never the control plane).
pub const DATA_PLANE_EVENT_CAP: usize = 1024;

/// Receives data messages straight from the runtime's socket readers (one call per datagram,
/// on the reader's task, before the control plane sees the batch). Implementations must be
/// cheap and must not block: one lookup, one decapsulation, one non-blocking write.
pub trait DataSink: Send + Sync {
    /// Offers one received datagram. `datagram` starts at the L2TP header (UDP) or at the
    /// 4-byte Session ID (L2TP/IP, IP header already removed); `from` is the sender (port 0
    /// for L2TP/IP). Returns `true` when the datagram was a data message and was taken
    /// (carried, or dropped and counted), `false` to hand it to the control plane.
    fn input(&self, encap: Encap, from: SocketAddr, datagram: &[u8]) -> bool;

    /// Called by a socket reader after it has offered every datagram of one receive batch
    /// (on the same thread): a sink that holds frames back to merge them (the user-space data
    /// plane's receive offload) writes them now. Default: nothing held.
    fn end_of_batch(&self) {}
}

mod null;
pub use null::{Call, CallLog, NullDataPlane, Recorder};
mod router;
pub use router::PlaneRouter;

#[cfg(test)]
mod tests {
    use super::*;

    fn tunnel(id: u32, version: Version) -> TunnelSpec {
        TunnelSpec {
            version,
            encap: Encap::Udp,
            tunnel_id: id,
            peer_tunnel_id: id + 100,
            local: Some("10.0.0.1:1701".parse().unwrap()),
            peer: "10.0.0.2:1701".parse().unwrap(),
            control_fd: Some(7),
            udp_checksum: true,
            plane: None,
        }
    }

    fn v3_eth(tunnel_id: u32, session_id: u32) -> SessionSpec {
        SessionSpec {
            version: Version::V3,
            pseudowire: Pseudowire::Eth,
            cookie: vec![1, 2, 3, 4],
            ..SessionSpec::ppp(tunnel_id, tunnel_id + 100, session_id, session_id + 1)
        }
    }

    #[test]
    fn recorder_records_calls_in_order() {
        let mut dp = Recorder::new(NullDataPlane::new());
        let log = dp.log();
        dp.create_tunnel(&tunnel(1, Version::V2)).unwrap();
        let h = dp.create_session(&SessionSpec::ppp(1, 101, 5, 6)).unwrap();
        assert_eq!(h, SessionHandle::default());
        assert_eq!(dp.session_stats(1, 5), Some(SessionStats::default()));
        dp.delete_session(1, 5).unwrap();
        dp.delete_tunnel(1).unwrap();
        assert_eq!(
            log.calls(),
            vec![
                Call::CreateTunnel(tunnel(1, Version::V2)),
                Call::CreateSession(SessionSpec::ppp(1, 101, 5, 6)),
                Call::DeleteSession(1, 5),
                Call::DeleteTunnel(1),
            ]
        );
        assert_eq!(dp.inner.session_count(), 0);
    }

    #[test]
    fn null_rejects_duplicates_and_missing_objects_like_the_kernel() {
        let mut dp = NullDataPlane::new();
        dp.create_tunnel(&tunnel(1, Version::V2)).unwrap();
        assert!(matches!(
            dp.create_tunnel(&tunnel(1, Version::V2)),
            Err(DataPlaneError::Exists(_))
        ));
        assert!(matches!(
            dp.create_session(&SessionSpec::ppp(9, 109, 5, 6)),
            Err(DataPlaneError::NotFound(_))
        ));
        assert!(matches!(
            dp.delete_tunnel(9),
            Err(DataPlaneError::NotFound(_))
        ));
        assert!(matches!(
            dp.delete_session(1, 5),
            Err(DataPlaneError::NotFound(_))
        ));
        assert_eq!(dp.session_stats(1, 5), None);
    }

    #[test]
    fn v3_session_ids_are_unique_per_host_v2_per_tunnel() {
        let mut dp = NullDataPlane::new();
        dp.create_tunnel(&tunnel(1, Version::V2)).unwrap();
        dp.create_tunnel(&tunnel(2, Version::V2)).unwrap();
        dp.create_session(&SessionSpec::ppp(1, 101, 5, 6)).unwrap();
        dp.create_session(&SessionSpec::ppp(2, 102, 5, 6)).unwrap();
        dp.create_tunnel(&tunnel(3, Version::V3)).unwrap();
        dp.create_tunnel(&tunnel(4, Version::V3)).unwrap();
        dp.create_session(&v3_eth(3, 50)).unwrap();
        assert!(matches!(
            dp.create_session(&v3_eth(4, 50)),
            Err(DataPlaneError::Exists(_))
        ));
    }

    #[test]
    fn deleting_a_tunnel_removes_its_sessions() {
        let mut dp = NullDataPlane::new();
        dp.create_tunnel(&tunnel(3, Version::V3)).unwrap();
        dp.create_session(&v3_eth(3, 50)).unwrap();
        dp.create_session(&v3_eth(3, 51)).unwrap();
        dp.delete_tunnel(3).unwrap();
        assert_eq!(dp.session_count(), 0);
        assert_eq!(dp.tunnel_count(), 0);
    }

    #[test]
    fn specs_are_validated() {
        let mut dp = NullDataPlane::new();
        let mut t = tunnel(1, Version::V2);
        t.encap = Encap::Ip;
        assert!(matches!(
            dp.create_tunnel(&t),
            Err(DataPlaneError::Invalid(_))
        ));
        dp.create_tunnel(&tunnel(1, Version::V2)).unwrap();
        let mut s = SessionSpec::ppp(1, 101, 5, 6);
        s.pseudowire = Pseudowire::Eth;
        assert!(matches!(
            dp.create_session(&s),
            Err(DataPlaneError::Unsupported(_))
        ));
        let mut s = v3_eth(1, 5);
        s.version = Version::V2;
        s.pseudowire = Pseudowire::Ppp;
        assert!(matches!(
            dp.create_session(&s),
            Err(DataPlaneError::Invalid(_))
        ));
        let mut s = SessionSpec::ppp(1, 101, 5, 6);
        s.pseudowire = Pseudowire::Pppac;
        assert!(dp.create_session(&s).is_err());
        s.pppoe = Some((7, [0, 1, 2, 3, 4, 5]));
        dp.create_session(&s).unwrap();
    }

    #[test]
    fn injected_failure_is_returned_once() {
        let mut dp = NullDataPlane::new();
        dp.fail_next(DataPlaneError::Unsupported(
            "l2tp_ppp module missing".into(),
        ));
        assert!(dp.create_tunnel(&tunnel(1, Version::V2)).is_err());
        dp.create_tunnel(&tunnel(1, Version::V2)).unwrap();
        assert_eq!(dp.tunnel_count(), 1);
    }

    /// Deleting objects frees everything the null data plane kept for them (a daemon that
    /// runs `-null` for months must not grow).
    #[test]
    fn null_keeps_nothing_for_deleted_objects() {
        let mut dp = NullDataPlane::new();
        for round in 0..3 {
            for t in 1..=50 {
                dp.create_tunnel(&tunnel(t, Version::V3)).unwrap();
                for s in 1..=20 {
                    dp.create_session(&v3_eth(t, t * 1000 + s)).unwrap();
                }
            }
            assert_eq!(dp.session_count(), 1000, "round {round}");
            for t in 1..=50 {
                dp.delete_session(t, t * 1000 + 1).unwrap();
                dp.delete_tunnel(t).unwrap();
            }
            assert_eq!((dp.tunnel_count(), dp.session_count()), (0, 0));
            assert!(dp.v3_sessions.is_empty() && dp.tunnels.is_empty());
        }
    }
}
