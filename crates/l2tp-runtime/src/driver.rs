//! The tokio driver around [`l2tp_proto::endpoint::Endpoint`].
//!
//! One task owns the endpoint, the sockets' bookkeeping and the data plane. UDP sockets are
//! read by small reader tasks that forward `(socket, source, bytes)` over one bounded channel;
//! the owner task feeds them to the endpoint, sleeps until the endpoint's next timer, runs
//! commands from [`crate::Context`] handles, and after every step drains datagrams to send and
//! events to report. Nothing here parses L2TP: the core does.
//!
//! # Sockets and tunnels
//! - With a data plane that shares sockets ([`SocketMode::Shared`], the null data plane), all
//!   tunnels on one local address share that address's socket; a tunnel without `local` gets
//!   an ephemeral wildcard socket.
//! - With the kernel data plane ([`SocketMode::PerTunnel`]) every tunnel owns a socket,
//!   connected to its peer once the tunnel is up: the kernel's managed tunnels take a socket
//!   (`L2TP_ATTR_FD`) and steer that socket's data messages into the session, so two tunnels
//!   cannot share one. An LNS keeps one listening socket per `listen` address for SCCRQs from
//!   new peers and opens a connected socket (same local address, `SO_REUSEADDR`) per accepted
//!   tunnel; Linux delivers a datagram to the connected socket that matches its 4-tuple
//!   before the listening one. We do not use `SO_REUSEPORT` groups: they have misdelivered
//!   L2TP packets on some kernels (design/interop.md).
//!
//! # Static tunnels
//! A static tunnel has no control connection: the driver programs the data plane with the
//! configured IDs at once and reports `TunnelUp` / `SessionUp` itself.

use std::collections::HashMap;
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use l2tp_proto::endpoint::{
    DownReason, Endpoint, EndpointConfig, EndpointStats, Event, SessionId, SessionParams, TunnelId,
};
use l2tp_proto::wire::{error_code, result, Encap, ResultCode};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use crate::config::{SessionSection, TunnelKind, TunnelSection};
use crate::dataplane::{
    DataPlane, DataPlaneError, SessionHandle, SessionSpec, SessionStats, TunnelSpec,
};
use crate::pppd::{PppdOptions, PppdSession};
use crate::status::{RuntimeStats, SessionStatus, TunnelStatus};

/// Largest datagram read from a socket (bytes). L2TP over UDP cannot exceed 65507 bytes.
const MAX_DATAGRAM: usize = 65_536;
/// Datagrams queued between the reader tasks and the engine task before readers wait.
const INBOX_DEPTH: usize = 1024;

/// Errors from the driver's API (configuration, sockets, data plane; never from wire input).
#[derive(Debug, Clone, thiserror::Error)]
pub enum DriverError {
    /// A socket could not be created, bound or connected.
    #[error("socket {addr}: {message}")]
    Socket {
        /// The local address we tried to bind.
        addr: SocketAddr,
        /// The OS error.
        message: String,
    },
    /// The engine refused the call.
    #[error("tunnel {name}: {source}")]
    Engine {
        /// The tunnel's configured name.
        name: String,
        /// The engine's reason.
        source: l2tp_proto::endpoint::ApiError,
    },
    /// The data plane refused (static tunnels, whose set-up is the data plane alone).
    #[error("{0}")]
    DataPlane(#[from] crate::dataplane::DataPlaneError),
    /// No tunnel or session by that name.
    #[error("no {0}")]
    NotFound(String),
    /// A tunnel or session by that name exists already.
    #[error("{0} exists already")]
    Exists(String),
    /// Something this version cannot do yet.
    #[error("not supported yet: {0}")]
    Unsupported(String),
    /// The driver task is gone.
    #[error("the runtime has stopped")]
    Stopped,
}

/// An event as the runtime reports it: the engine's event plus the configured names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeEvent {
    /// The tunnel's name from the configuration (or `"#<id>"` for tunnels a peer opened).
    pub tunnel_name: String,
    /// The session's name, for session events.
    pub session_name: Option<String>,
    /// The network interface of a session that came up, when the data plane named one.
    pub interface_name: Option<String>,
    /// The engine's event.
    pub event: Event,
}

/// How tunnels map to sockets (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketMode {
    /// Tunnels on one local address share its socket (null data plane).
    Shared,
    /// One socket per tunnel, connected to the peer once it is up (kernel data plane).
    PerTunnel,
}

pub(crate) enum Command {
    AddTunnel {
        name: String,
        section: Box<TunnelSection>,
        reply: oneshot::Sender<Result<TunnelId, DriverError>>,
    },
    CloseTunnel {
        name: String,
        reply: oneshot::Sender<Result<(), DriverError>>,
    },
    AddSession {
        tunnel: String,
        name: String,
        section: Box<SessionSection>,
        /// Outgoing call (OCRQ) instead of incoming call (ICRQ).
        outgoing: bool,
        reply: oneshot::Sender<Result<SessionId, DriverError>>,
    },
    CloseSession {
        tunnel: String,
        session: String,
        reply: oneshot::Sender<Result<(), DriverError>>,
    },
    Status {
        reply: oneshot::Sender<Vec<TunnelStatus>>,
    },
    Stats {
        reply: oneshot::Sender<RuntimeStats>,
    },
}

struct Sock {
    local: SocketAddr,
    encap: Encap,
    /// Where the socket is connected to, if it is (then `send` is used, not `send_to`:
    /// IPv6 L2TP/IP sockets take no `sockaddr_in6` destination).
    connected: Option<SocketAddr>,
    sock: Arc<UdpSocket>,
    reader: tokio::task::JoinHandle<()>,
    /// Tunnels using it; a per-tunnel socket is closed with its tunnel.
    users: usize,
    listening: bool,
}

struct SessionEntry {
    name: String,
    section: SessionSection,
    up: bool,
    peer_id: u32,
    dp: Option<SessionHandle>,
    /// pppd's process ID while it runs.
    pppd: Option<u32>,
    /// The session its PPP channel is bridged to (no pppd then); when one goes down, the
    /// other is cleared too.
    bridged: Option<(TunnelId, SessionId)>,
}

struct TunnelEntry {
    name: String,
    socket: Option<usize>,
    /// Sessions to open once the tunnel is up, in configuration order.
    pending_sessions: Vec<(String, SessionSection)>,
    sessions: HashMap<SessionId, SessionEntry>,
    section: TunnelSection,
    up: bool,
    peer_tunnel_id: u32,
    /// Whether the data plane holds this tunnel (to undo exactly that).
    dp_tunnel: bool,
}

/// Owns the endpoint, the sockets, the data plane and the mapping from IDs to names.
pub struct Driver {
    endpoint: Endpoint,
    mode: SocketMode,
    sockets: HashMap<usize, Sock>,
    next_socket: usize,
    tunnels: HashMap<TunnelId, TunnelEntry>,
    by_name: HashMap<String, TunnelId>,
    inbox_tx: mpsc::Sender<(usize, SocketAddr, Vec<u8>)>,
    inbox_rx: mpsc::Receiver<(usize, SocketAddr, Vec<u8>)>,
    events: Vec<RuntimeEvent>,
    send_errors: u64,
    dataplane_errors: u64,
    dataplane: Box<dyn DataPlane>,
    /// Which socket a peer address last reached us on (replies to accepted tunnels).
    peer_socket: HashMap<SocketAddr, usize>,
    /// Template for sessions a peer opens in accepted tunnels (from the listen tunnel).
    accept_template: Option<TunnelSection>,
    /// Run pppd for PPP sessions (when the data plane has PPPoL2TP sockets).
    pppd: Option<PppdOptions>,
    pppd_exit_tx: mpsc::Sender<(TunnelId, SessionId, String)>,
    pppd_exit_rx: mpsc::Receiver<(TunnelId, SessionId, String)>,
    /// pppd processes started and not yet reaped.
    pppd_running: usize,
    /// Datagrams dropped on listening sockets because the sender is not in `accept_peers`.
    refused_peers: u64,
    /// (tunnel name, session name) of sessions some other session is to be bridged to.
    bridge_targets: std::collections::HashSet<(String, String)>,
}

impl Driver {
    /// A driver around a new endpoint. `seed` feeds the endpoint's RNG (tunnel/session IDs,
    /// challenges); pass real entropy in production.
    pub fn new(
        config: EndpointConfig,
        seed: u64,
        dataplane: Box<dyn DataPlane>,
        mode: SocketMode,
    ) -> Self {
        let (inbox_tx, inbox_rx) = mpsc::channel(INBOX_DEPTH);
        let (pppd_exit_tx, pppd_exit_rx) = mpsc::channel(64);
        Driver {
            endpoint: Endpoint::new(config, seed),
            mode,
            sockets: HashMap::new(),
            next_socket: 0,
            tunnels: HashMap::new(),
            by_name: HashMap::new(),
            inbox_tx,
            inbox_rx,
            events: Vec::new(),
            send_errors: 0,
            dataplane_errors: 0,
            dataplane,
            peer_socket: HashMap::new(),
            accept_template: None,
            pppd: None,
            pppd_exit_tx,
            pppd_exit_rx,
            pppd_running: 0,
            refused_peers: 0,
            bridge_targets: std::collections::HashSet::new(),
        }
    }

    /// Runs pppd for every PPP session that comes up (kl2tpd's behaviour), with these options.
    pub fn set_pppd(&mut self, pppd: Option<PppdOptions>) {
        self.pppd = pppd;
    }

    /// Binds a UDP socket on `local` (`SO_REUSEADDR` set, so a listening socket and the
    /// per-tunnel sockets of the same address coexist), optionally connects it, and starts its
    /// reader task. Returns its index.
    fn open_socket(
        &mut self,
        local: SocketAddr,
        connect: Option<SocketAddr>,
    ) -> Result<usize, DriverError> {
        self.open_socket_encap(local, connect, Encap::Udp, 0)
    }

    /// Opens a socket of either encapsulation. L2TP/IP sockets are bound with `conn_id`: the
    /// kernel delivers a control message to the socket bound to its Control Connection ID
    /// (0 = SCCRQs from new peers).
    fn open_socket_encap(
        &mut self,
        local: SocketAddr,
        connect: Option<SocketAddr>,
        encap: Encap,
        conn_id: u32,
    ) -> Result<usize, DriverError> {
        let err = |e: std::io::Error| DriverError::Socket {
            addr: local,
            message: e.to_string(),
        };
        let s: std::net::UdpSocket = match encap {
            Encap::Udp => {
                let domain = socket2::Domain::for_address(local);
                let s = socket2::Socket::new(
                    domain,
                    socket2::Type::DGRAM,
                    Some(socket2::Protocol::UDP),
                )
                .map_err(err)?;
                s.set_reuse_address(true).map_err(err)?;
                s.bind(&local.into()).map_err(err)?;
                if let Some(peer) = connect {
                    s.connect(&peer.into()).map_err(err)?;
                }
                s.into()
            }
            Encap::Ip => {
                // An L2TP/IP socket is a datagram socket like UDP's; its addresses have the
                // layout of sockaddr_in / sockaddr_in6 with the port field unused, so the
                // standard library's UDP type carries it (port 0 in every address).
                let ts = l2tp_kernel::TunnelSocket::l2tp_ip_bound(
                    local.ip(),
                    conn_id,
                    connect.map(|p| p.ip()),
                )
                .map_err(|e| DriverError::Socket {
                    addr: local,
                    message: e.to_string(),
                })?;
                std::net::UdpSocket::from(std::os::fd::OwnedFd::from(ts))
            }
        };
        s.set_nonblocking(true).map_err(err)?;
        let sock = UdpSocket::from_std(s).map_err(err)?;
        let bound = sock.local_addr().unwrap_or(local);
        let sock = Arc::new(sock);
        let index = self.next_socket;
        self.next_socket += 1;
        let tx = self.inbox_tx.clone();
        let reader_sock = sock.clone();
        // The kernel strips the 4-byte zero Session ID of L2TP/IP control messages before
        // user space reads them (and adds it on send); the codec wants it: put it back.
        let prefix: &'static [u8] = match encap {
            Encap::Ip => &[0, 0, 0, 0],
            Encap::Udp => &[],
        };
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; MAX_DATAGRAM];
            loop {
                match reader_sock.recv_from(&mut buf).await {
                    Ok((n, from)) => {
                        let Some(data) = buf.get(..n) else { continue };
                        let mut v = Vec::with_capacity(prefix.len() + n);
                        v.extend_from_slice(prefix);
                        v.extend_from_slice(data);
                        if tx.send((index, from, v)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        // ICMP port unreachable surfaces as ECONNREFUSED on connected sockets:
                        // the engine's retransmission handles an absent peer.
                        tracing::debug!(socket = %bound, error = %e, "recv error");
                    }
                }
            }
        });
        tracing::debug!(local = %bound, peer = ?connect, "socket open");
        self.sockets.insert(
            index,
            Sock {
                local: bound,
                encap,
                connected: connect,
                sock,
                reader,
                users: 0,
                listening: false,
            },
        );
        Ok(index)
    }

    /// The shared socket of `local` (binding it on first use), or a new one.
    fn socket_for(&mut self, local: SocketAddr) -> Result<usize, DriverError> {
        if self.mode == SocketMode::Shared && local.port() != 0 {
            if let Some((i, _)) = self
                .sockets
                .iter()
                .find(|(_, s)| s.local == local && s.encap == Encap::Udp)
            {
                return Ok(*i);
            }
        }
        self.open_socket(local, None)
    }

    fn release_socket(&mut self, index: usize) {
        let Some(s) = self.sockets.get_mut(&index) else {
            return;
        };
        s.users = s.users.saturating_sub(1);
        if s.users == 0 && !s.listening && self.mode == SocketMode::PerTunnel {
            if let Some(s) = self.sockets.remove(&index) {
                s.reader.abort();
            }
            self.peer_socket.retain(|_, i| *i != index);
        }
    }

    /// Listens for new peers (LNS / responding LCCE) on `section.local`; tunnels they open
    /// take their settings from `section` (its sessions are templates for the peer's calls).
    /// The endpoint must have been created with `accept_v2_incoming`.
    ///
    /// Errors: [`DriverError::Socket`] when the address cannot be bound.
    pub fn listen(&mut self, section: &TunnelSection) -> Result<SocketAddr, DriverError> {
        let local = section.local.unwrap_or(SocketAddr::from((
            Ipv4Addr::UNSPECIFIED,
            crate::config::DEFAULT_PORT,
        )));
        let i = match section.encap {
            Encap::Udp => self.socket_for(local)?,
            Encap::Ip => self.open_socket_encap(local, None, Encap::Ip, 0)?,
        };
        let addr = self.sockets.get_mut(&i).map(|s| {
            s.listening = true;
            s.local
        });
        self.accept_template = Some(section.clone());
        tracing::info!(local = %local, "listening for new tunnels");
        Ok(addr.unwrap_or(local))
    }

    /// Starts a tunnel from its configuration: dynamic (LAC / initiating LCCE: sends SCCRQ;
    /// sessions are opened right after) or static (programs the data plane now).
    ///
    /// Errors: name in use, socket set-up failures, engine refusals (tunnel ID in use,
    /// L2TPv3 not supported yet by the engine), data plane refusals (static tunnels).
    pub async fn add_tunnel(
        &mut self,
        name: &str,
        section: &TunnelSection,
    ) -> Result<TunnelId, DriverError> {
        let r = self.add_tunnel_now(name, section);
        self.flush().await;
        r
    }

    fn add_tunnel_now(
        &mut self,
        name: &str,
        section: &TunnelSection,
    ) -> Result<TunnelId, DriverError> {
        if self.by_name.contains_key(name) {
            return Err(DriverError::Exists(format!("tunnel {name}")));
        }
        for (_, s) in &section.sessions {
            if let Some(t) = &s.bridge {
                self.bridge_targets.insert(t.clone());
            }
        }
        match section.kind {
            TunnelKind::Static => return self.add_static(name, section),
            TunnelKind::Quiescent => return self.add_quiescent(name, section),
            TunnelKind::Dynamic => {}
        }
        if section.listen {
            self.listen(section)?;
            return Ok(TunnelId(0));
        }
        let config = section.to_engine();
        let local = section.local.unwrap_or(match config.peer {
            SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
        });
        let peer = config.peer;
        let encap = config.encap;
        let socket = match encap {
            Encap::Udp => Some(self.socket_for(local)?),
            Encap::Ip => None,
        };
        let now = Instant::now();
        let id = match self.endpoint.connect(now, config) {
            Ok(id) => id,
            Err(source) => {
                if let Some(i) = socket {
                    self.release_socket(i);
                }
                return Err(DriverError::Engine {
                    name: name.to_string(),
                    source,
                });
            }
        };
        // L2TP/IP: the socket is bound to the Control Connection ID the engine just chose.
        let socket = match socket {
            Some(i) => i,
            None => match self.open_socket_encap(local, Some(peer), Encap::Ip, id.0) {
                Ok(i) => i,
                Err(e) => {
                    let _ = self.endpoint.close_tunnel(
                        now,
                        id,
                        ResultCode {
                            result: result::STOPCCN_GENERAL_ERROR,
                            error: Some(error_code::NO_RESOURCES),
                            message: None,
                        },
                    );
                    return Err(e);
                }
            },
        };
        if let Some(s) = self.sockets.get_mut(&socket) {
            s.users += 1;
        }
        tracing::info!(tunnel = name, id = id.0, "tunnel starting");
        self.by_name.insert(name.to_string(), id);
        self.tunnels.insert(
            id,
            TunnelEntry {
                name: name.to_string(),
                socket: Some(socket),
                pending_sessions: section.sessions.clone(),
                sessions: HashMap::new(),
                section: section.clone(),
                up: false,
                peer_tunnel_id: 0,
                dp_tunnel: false,
            },
        );
        // The engine sends ICRQ right after SCCCN; open the configured sessions now.
        self.open_pending(id, now);
        Ok(id)
    }

    fn add_static(&mut self, name: &str, section: &TunnelSection) -> Result<TunnelId, DriverError> {
        let (Some(tid), Some(ptid), Some(peer)) = (section.tid, section.ptid, section.peer) else {
            return Err(DriverError::Unsupported(format!(
                "tunnel {name}: a static tunnel needs tid, ptid and peer"
            )));
        };
        let id = TunnelId(tid);
        if self.tunnels.contains_key(&id) || self.endpoint.tunnel_info(id).is_some() {
            return Err(DriverError::Exists(format!("tunnel ID {tid}")));
        }
        let spec = TunnelSpec {
            version: section.version,
            encap: section.encap,
            tunnel_id: tid,
            peer_tunnel_id: ptid,
            local: section.local,
            peer,
            control_fd: None,
            udp_checksum: true,
        };
        self.dataplane.create_tunnel(&spec)?;
        let events_before = self.events.len();
        self.events.push(RuntimeEvent {
            tunnel_name: name.to_string(),
            session_name: None,
            interface_name: None,
            event: Event::TunnelUp {
                tunnel: id,
                peer_tunnel_id: ptid,
                peer,
                version: section.version,
                encap: section.encap,
                peer_host_name: Vec::new(),
            },
        });
        self.tunnels.insert(
            id,
            TunnelEntry {
                name: name.to_string(),
                socket: None,
                pending_sessions: Vec::new(),
                sessions: HashMap::new(),
                section: section.clone(),
                up: true,
                peer_tunnel_id: ptid,
                dp_tunnel: true,
            },
        );
        if let Err(e) = self.create_configured_sessions(id) {
            // Nothing half-created: undo what this call made.
            if let Some(entry) = self.tunnels.remove(&id) {
                for sid in entry.sessions.keys() {
                    let _ = self.dataplane.delete_session(tid, sid.0);
                }
            }
            let _ = self.dataplane.delete_tunnel(tid);
            self.events.truncate(events_before);
            return Err(DriverError::DataPlane(e));
        }
        self.by_name.insert(name.to_string(), id);
        Ok(id)
    }

    /// A quiescent tunnel: configured IDs like a static one, plus HELLO and ACK on a control
    /// socket of its own (which the kernel also takes as the managed tunnel's socket), so that
    /// a dead peer takes the pseudowires down.
    fn add_quiescent(
        &mut self,
        name: &str,
        section: &TunnelSection,
    ) -> Result<TunnelId, DriverError> {
        let (Some(tid), Some(ptid), Some(peer)) = (section.tid, section.ptid, section.peer) else {
            return Err(DriverError::Unsupported(format!(
                "tunnel {name}: a quiescent tunnel needs tid, ptid and peer"
            )));
        };
        if self.tunnels.contains_key(&TunnelId(tid)) {
            return Err(DriverError::Exists(format!("tunnel ID {tid}")));
        }
        let local = section.local.unwrap_or(match peer {
            SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
        });
        let socket = self.open_socket_encap(local, Some(peer), section.encap, tid)?;
        if let Some(s) = self.sockets.get_mut(&socket) {
            s.users += 1;
        }
        let mut cfg = section.to_engine();
        cfg.local_tunnel_id = Some(tid);
        cfg.peer_tunnel_id = Some(ptid);
        // The engine reports TunnelUp at once; its handler programs the data plane.
        self.tunnels.insert(
            TunnelId(tid),
            TunnelEntry {
                name: name.to_string(),
                socket: Some(socket),
                pending_sessions: Vec::new(),
                sessions: HashMap::new(),
                section: section.clone(),
                up: false,
                peer_tunnel_id: ptid,
                dp_tunnel: false,
            },
        );
        match self.endpoint.add_quiescent(Instant::now(), cfg) {
            Ok(id) => {
                self.by_name.insert(name.to_string(), id);
                Ok(id)
            }
            Err(source) => {
                self.tunnels.remove(&TunnelId(tid));
                self.release_socket(socket);
                Err(DriverError::Engine {
                    name: name.to_string(),
                    source,
                })
            }
        }
    }

    /// Creates the configured sessions of a static or quiescent tunnel (IDs from the config)
    /// in the data plane, reporting `SessionUp` for each. Stops at the first failure.
    fn create_configured_sessions(&mut self, id: TunnelId) -> Result<(), DataPlaneError> {
        let Some(entry) = self.tunnels.get(&id) else {
            return Ok(());
        };
        let (name, section, ptid) = (
            entry.name.clone(),
            entry.section.clone(),
            entry.peer_tunnel_id,
        );
        for (sname, s) in &section.sessions {
            let (Some(sid), Some(psid)) = (s.sid, s.psid) else {
                continue; // the config loader requires them for static tunnels
            };
            let spec = session_spec(&section, s, id.0, ptid, sid, psid);
            let handle = self.dataplane.create_session(&spec)?;
            self.events.push(RuntimeEvent {
                tunnel_name: name.clone(),
                session_name: Some(sname.clone()),
                interface_name: handle.interface_name.clone(),
                event: Event::SessionUp {
                    tunnel: id,
                    session: SessionId(sid),
                    peer_session_id: psid,
                    peer_tunnel_id: ptid,
                    pseudowire: s.pseudowire.pw_type(),
                    params: SessionParams {
                        local_cookie: s.peer_cookie.clone(),
                        peer_cookie: s.cookie.clone(),
                        interface_name: s.interface_name.clone(),
                        ..SessionParams::default()
                    },
                },
            });
            if let Some(entry) = self.tunnels.get_mut(&id) {
                entry.sessions.insert(
                    SessionId(sid),
                    SessionEntry {
                        name: sname.clone(),
                        section: s.clone(),
                        up: true,
                        peer_id: psid,
                        dp: Some(handle),
                        pppd: None,
                        bridged: None,
                    },
                );
            }
        }
        Ok(())
    }

    /// Closes a tunnel by name: StopCCN for dynamic tunnels (events follow), immediate data
    /// plane removal for static ones.
    ///
    /// Errors: [`DriverError::NotFound`].
    pub async fn close_tunnel(&mut self, name: &str, rc: ResultCode) -> Result<(), DriverError> {
        let id = *self
            .by_name
            .get(name)
            .ok_or_else(|| DriverError::NotFound(format!("tunnel {name}")))?;
        self.close_tunnel_id(id, rc);
        self.flush().await;
        Ok(())
    }

    fn close_tunnel_id(&mut self, id: TunnelId, rc: ResultCode) {
        let kind = self.tunnels.get(&id).map(|e| e.section.kind);
        if kind == Some(TunnelKind::Quiescent) {
            // No StopCCN on a quiescent tunnel: stop its HELLOs, remove the data plane.
            let _ = self.endpoint.close_tunnel(Instant::now(), id, rc.clone());
        }
        if matches!(kind, Some(TunnelKind::Static | TunnelKind::Quiescent)) {
            let Some(entry) = self.tunnels.get(&id) else {
                return;
            };
            let name = entry.name.clone();
            let sids: Vec<SessionId> = entry.sessions.keys().copied().collect();
            for sid in sids {
                self.on_engine_event(Event::SessionDown {
                    tunnel: id,
                    session: sid,
                    reason: DownReason::Local(rc.clone()),
                });
            }
            tracing::info!(tunnel = %name, "static tunnel removed");
            self.on_engine_event(Event::TunnelDown {
                tunnel: id,
                reason: DownReason::Local(rc),
            });
        } else if let Err(e) = self.endpoint.close_tunnel(Instant::now(), id, rc) {
            tracing::debug!(tunnel = id.0, error = %e, "close_tunnel");
        }
    }

    /// Sends StopCCN on every tunnel with `result` (sessions are reported down with it).
    pub async fn close_all(&mut self, result: ResultCode) {
        let ids: Vec<TunnelId> = self.tunnels.keys().copied().collect();
        tracing::debug!(tunnels = ids.len(), "closing every tunnel");
        for id in ids {
            self.close_tunnel_id(id, result.clone());
        }
        self.flush().await;
    }

    /// Opens a session in a dynamic tunnel by name (ICRQ). Errors: unknown tunnel, session
    /// name in use, engine refusal.
    pub async fn add_session(
        &mut self,
        tunnel: &str,
        name: &str,
        section: &SessionSection,
    ) -> Result<SessionId, DriverError> {
        let r = self.add_session_now(tunnel, name, section, false);
        self.flush().await;
        r
    }

    /// Places an outgoing call (OCRQ; RFC 2661 §5.2.1, usually from the LNS) in a dynamic
    /// tunnel by name. Errors as [`Driver::add_session`].
    pub async fn add_outgoing_call(
        &mut self,
        tunnel: &str,
        name: &str,
        section: &SessionSection,
    ) -> Result<SessionId, DriverError> {
        let r = self.add_session_now(tunnel, name, section, true);
        self.flush().await;
        r
    }

    fn add_session_now(
        &mut self,
        tunnel: &str,
        name: &str,
        section: &SessionSection,
        outgoing: bool,
    ) -> Result<SessionId, DriverError> {
        let id = *self
            .by_name
            .get(tunnel)
            .ok_or_else(|| DriverError::NotFound(format!("tunnel {tunnel}")))?;
        let entry = self
            .tunnels
            .get_mut(&id)
            .ok_or_else(|| DriverError::NotFound(format!("tunnel {tunnel}")))?;
        if entry.sessions.values().any(|s| s.name == name) {
            return Err(DriverError::Exists(format!("session {tunnel}/{name}")));
        }
        if entry.section.kind != TunnelKind::Dynamic {
            return Err(DriverError::Unsupported(format!(
                "adding sessions to the {:?} tunnel {tunnel}",
                entry.section.kind
            )));
        }
        let now = Instant::now();
        let opened = if outgoing {
            self.endpoint
                .open_outgoing_call(now, id, section.to_engine())
        } else {
            self.endpoint.open_session(now, id, section.to_engine())
        };
        let sid = opened.map_err(|source| DriverError::Engine {
            name: tunnel.to_string(),
            source,
        })?;
        entry.sessions.insert(
            sid,
            SessionEntry {
                name: name.to_string(),
                section: section.clone(),
                up: false,
                peer_id: 0,
                dp: None,
                pppd: None,
                bridged: None,
            },
        );
        Ok(sid)
    }

    /// Closes a session by tunnel and session name (CDN with result 3, administrative).
    pub async fn close_session(&mut self, tunnel: &str, session: &str) -> Result<(), DriverError> {
        let id = *self
            .by_name
            .get(tunnel)
            .ok_or_else(|| DriverError::NotFound(format!("tunnel {tunnel}")))?;
        let entry = self
            .tunnels
            .get(&id)
            .ok_or_else(|| DriverError::NotFound(format!("tunnel {tunnel}")))?;
        let sid = entry
            .sessions
            .iter()
            .find(|(_, s)| s.name == session)
            .map(|(k, _)| *k)
            .ok_or_else(|| DriverError::NotFound(format!("session {tunnel}/{session}")))?;
        let rc = ResultCode {
            result: result::CDN_ADMIN,
            error: Some(error_code::NO_ERROR),
            message: Some(b"closed by operator".to_vec()),
        };
        self.end_session(id, sid, rc)
            .map_err(|source| DriverError::Engine {
                name: tunnel.to_string(),
                source,
            })?;
        self.flush().await;
        Ok(())
    }

    /// Ends one session with `rc`: a CDN for a dynamic tunnel's session (the engine reports
    /// it down), the data plane alone for a static or quiescent tunnel's configured session
    /// (no control protocol for sessions there).
    fn end_session(
        &mut self,
        tunnel: TunnelId,
        session: SessionId,
        rc: ResultCode,
    ) -> Result<(), l2tp_proto::endpoint::ApiError> {
        let dynamic = self
            .tunnels
            .get(&tunnel)
            .is_some_and(|t| t.section.kind == TunnelKind::Dynamic);
        if dynamic {
            self.endpoint
                .close_session(Instant::now(), tunnel, session, rc)
        } else {
            self.on_engine_event(Event::SessionDown {
                tunnel,
                session,
                reason: DownReason::Local(rc),
            });
            Ok(())
        }
    }

    /// The endpoint's counters.
    pub fn stats(&self) -> EndpointStats {
        self.endpoint.stats()
    }

    /// Counters of the whole runtime.
    pub fn runtime_stats(&self) -> RuntimeStats {
        let mut tunnels_up = 0;
        let mut sessions_up = 0;
        let mut sessions = 0;
        for t in self.tunnels.values() {
            tunnels_up += usize::from(t.up);
            sessions += t.sessions.len();
            sessions_up += t.sessions.values().filter(|s| s.up).count();
        }
        RuntimeStats {
            tunnels: self.tunnels.len(),
            tunnels_up,
            sessions,
            sessions_up,
            send_errors: self.send_errors,
            dataplane_errors: self.dataplane_errors,
            endpoint: crate::status::EndpointCounters {
                refused_peers: self.refused_peers,
                ..self.endpoint.stats().into()
            },
        }
    }

    /// A snapshot of every tunnel and session, in name order.
    pub fn status(&mut self) -> Vec<TunnelStatus> {
        let mut out = Vec::with_capacity(self.tunnels.len());
        for (id, t) in &self.tunnels {
            let info = self.endpoint.tunnel_info(*id);
            let mut sessions: Vec<SessionStatus> = t
                .sessions
                .iter()
                .map(|(sid, s)| {
                    let stats: Option<SessionStats> = if s.dp.is_some() {
                        self.dataplane.session_stats(id.0, sid.0)
                    } else {
                        None
                    };
                    SessionStatus {
                        name: s.name.clone(),
                        id: sid.0,
                        peer_id: s.peer_id,
                        pseudowire: s.section.pseudowire.to_string(),
                        state: if s.up { "established" } else { "establishing" }.to_string(),
                        interface: s.dp.as_ref().and_then(|d| d.interface_name.clone()),
                        stats,
                    }
                })
                .collect();
            sessions.sort_by(|a, b| a.name.cmp(&b.name));
            let local = t
                .socket
                .and_then(|i| self.sockets.get(&i))
                .map(|s| s.local)
                .or(t.section.local);
            out.push(TunnelStatus {
                name: t.name.clone(),
                id: id.0,
                kind: format!("{:?}", t.section.kind).to_lowercase(),
                state: match &info {
                    Some(i) => format!("{:?}", i.state).to_lowercase(),
                    None if t.up => "established".to_string(),
                    None => "closed".to_string(),
                },
                version: match t.section.version {
                    l2tp_proto::wire::Version::V2 => "l2tpv2",
                    l2tp_proto::wire::Version::V3 => "l2tpv3",
                }
                .to_string(),
                encap: match t.section.encap {
                    l2tp_proto::wire::Encap::Udp => "udp",
                    l2tp_proto::wire::Encap::Ip => "ip",
                }
                .to_string(),
                local: local.map(|a| a.to_string()),
                peer: info
                    .as_ref()
                    .map(|i| i.peer.to_string())
                    .or(t.section.peer.map(|p| p.to_string())),
                peer_tunnel_id: t.peer_tunnel_id,
                peer_host_name: info
                    .as_ref()
                    .map(|i| String::from_utf8_lossy(&i.peer_host_name).into_owned()),
                control_rx: info.as_ref().map_or(0, |i| i.transport.rx),
                control_tx: info.as_ref().map_or(0, |i| i.transport.tx),
                retransmits: info.as_ref().map_or(0, |i| i.transport.retransmits),
                sessions,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Takes the events reported since the last call, oldest first.
    pub fn take_events(&mut self) -> Vec<RuntimeEvent> {
        std::mem::take(&mut self.events)
    }

    /// Runs the engine until `stop` completes, calling `on_event` for every event as it
    /// happens. Returns `false` early only if every reader task is gone.
    pub async fn run_until<F, E>(&mut self, stop: F, mut on_event: E) -> bool
    where
        F: Future<Output = ()>,
        E: FnMut(&RuntimeEvent),
    {
        let (_tx, mut rx) = mpsc::channel(1);
        self.serve(stop, &mut rx, &mut on_event).await
    }

    /// Like [`Driver::run_until`], also running commands from `Context` handles.
    pub(crate) async fn serve<F, E>(
        &mut self,
        stop: F,
        commands: &mut mpsc::Receiver<Command>,
        on_event: &mut E,
    ) -> bool
    where
        F: Future<Output = ()>,
        E: FnMut(&RuntimeEvent),
    {
        tokio::pin!(stop);
        let mut commands_open = true;
        loop {
            for ev in self.take_events() {
                on_event(&ev);
            }
            tokio::select! {
                _ = &mut stop => return true,
                cmd = commands.recv(), if commands_open => match cmd {
                    Some(cmd) => self.command(cmd).await,
                    None => commands_open = false,
                },
                alive = self.step() => if !alive { return false },
            }
        }
    }

    async fn command(&mut self, cmd: Command) {
        match cmd {
            Command::AddTunnel {
                name,
                section,
                reply,
            } => {
                let r = self.add_tunnel(&name, &section).await;
                let _ = reply.send(r);
            }
            Command::CloseTunnel { name, reply } => {
                let rc = ResultCode {
                    result: result::STOPCCN_GENERAL,
                    error: Some(error_code::NO_ERROR),
                    message: Some(b"closed by operator".to_vec()),
                };
                let r = self.close_tunnel(&name, rc).await;
                let _ = reply.send(r);
            }
            Command::AddSession {
                tunnel,
                name,
                section,
                outgoing,
                reply,
            } => {
                let r = if outgoing {
                    self.add_outgoing_call(&tunnel, &name, &section).await
                } else {
                    self.add_session(&tunnel, &name, &section).await
                };
                let _ = reply.send(r);
            }
            Command::CloseSession {
                tunnel,
                session,
                reply,
            } => {
                let r = self.close_session(&tunnel, &session).await;
                let _ = reply.send(r);
            }
            Command::Status { reply } => {
                let _ = reply.send(self.status());
            }
            Command::Stats { reply } => {
                let _ = reply.send(self.runtime_stats());
            }
        }
    }

    /// Closes every tunnel and keeps running until all are reported down or `grace` passes.
    /// Returns the number of tunnels still not down at the deadline (whose data plane objects
    /// are removed anyway).
    pub async fn shutdown<E: FnMut(&RuntimeEvent)>(
        &mut self,
        result: ResultCode,
        grace: Duration,
        mut on_event: E,
    ) -> usize {
        self.close_all(result).await;
        let deadline = tokio::time::sleep(grace);
        tokio::pin!(deadline);
        loop {
            for ev in self.take_events() {
                on_event(&ev);
            }
            if self.tunnels.is_empty() {
                break;
            }
            tokio::select! {
                _ = &mut deadline => break,
                alive = self.step() => if !alive { break },
            }
        }
        let left = self.tunnels.len();
        // Peers that never acknowledged: remove our kernel objects regardless.
        let ids: Vec<TunnelId> = self.tunnels.keys().copied().collect();
        for id in ids {
            self.on_engine_event(Event::TunnelDown {
                tunnel: id,
                reason: DownReason::Timeout,
            });
        }
        for ev in self.take_events() {
            on_event(&ev);
        }
        // pppd got SIGTERM with its session: give it a moment to send LCP Terminate and exit,
        // so that no pppd outlives the daemon.
        let reap = tokio::time::sleep(Duration::from_secs(3));
        tokio::pin!(reap);
        while self.pppd_running > 0 {
            tokio::select! {
                _ = &mut reap => break,
                r = self.pppd_exit_rx.recv() => match r {
                    Some(_) => self.pppd_running -= 1,
                    None => break,
                },
            }
        }
        left
    }

    /// One turn of the loop: wait for a datagram or the next timer, feed it to the engine,
    /// flush. Returns `false` when every reader task is gone.
    async fn step(&mut self) -> bool {
        let deadline = self.endpoint.poll_timeout();
        let sleep = async {
            match deadline {
                Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            msg = self.inbox_rx.recv() => {
                let Some((idx, from, data)) = msg else { return false };
                self.receive(idx, from, &data);
                // Feed whatever else already arrived before flushing: batches ACKs.
                while let Ok((idx, from, data)) = self.inbox_rx.try_recv() {
                    self.receive(idx, from, &data);
                }
            }
            _ = sleep => self.endpoint.handle_timeout(Instant::now()),
            Some((tunnel, session, how)) = self.pppd_exit_rx.recv() => {
                self.pppd_running = self.pppd_running.saturating_sub(1);
                self.pppd_exited(tunnel, session, how);
            }
        }
        self.flush().await;
        true
    }

    /// pppd ended: the call is over (CDN, result 1 "loss of carrier", as xl2tpd sends).
    fn pppd_exited(&mut self, tunnel: TunnelId, session: SessionId, how: String) {
        let Some(s) = self
            .tunnels
            .get_mut(&tunnel)
            .and_then(|t| t.sessions.get_mut(&session))
        else {
            return;
        };
        s.pppd = None;
        tracing::info!(tunnel = tunnel.0, session = session.0, %how, "pppd exited");
        let rc = ResultCode {
            result: result::CDN_LOST_CARRIER,
            error: Some(error_code::NO_ERROR),
            message: Some(format!("pppd {how}").into_bytes()),
        };
        let _ = self.end_session(tunnel, session, rc);
    }

    fn receive(&mut self, socket: usize, from: SocketAddr, data: &[u8]) {
        // `accept_peers`: only these addresses may open tunnels. With shared sockets every
        // tunnel of the listener arrives here, so refusing the sender refuses it everywhere.
        if let Some(t) = &self.accept_template {
            let listening = self.sockets.get(&socket).is_some_and(|s| s.listening);
            if listening && !t.accept_peers.is_empty() && !t.accept_peers.contains(&from.ip()) {
                self.refused_peers += 1;
                tracing::debug!(%from, "datagram from a peer not in accept_peers dropped");
                return;
            }
        }
        if self.peer_socket.get(&from) != Some(&socket) {
            self.peer_socket.insert(from, socket);
        }
        let encap = self.sockets.get(&socket).map_or(Encap::Udp, |s| s.encap);
        let before = self.endpoint.stats();
        self.endpoint
            .handle_encap(Instant::now(), from, encap, data);
        let after = self.endpoint.stats();
        if encap == Encap::Ip && after.tunnels_accepted > before.tunnels_accepted {
            // An accepted L2TP/IP tunnel needs its own socket bound to its Control Connection
            // ID before the peer's SCCCN arrives (the kernel matches on it).
            let new: Vec<TunnelId> = self
                .endpoint
                .tunnel_ids()
                .into_iter()
                .filter(|t| !self.tunnels.contains_key(t))
                .collect();
            for t in new {
                self.adopt(t, from);
            }
        }
        if after.malformed > before.malformed {
            tracing::warn!(%from, len = data.len(), total = after.malformed, "malformed datagram dropped");
        } else if after.unknown_tunnel > before.unknown_tunnel {
            tracing::debug!(%from, len = data.len(), "datagram for an unknown tunnel dropped");
        }
    }

    /// Sends queued datagrams and turns engine events into runtime events (programming the
    /// data plane on the way).
    async fn flush(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.endpoint.poll_transmit() {
                progressed = true;
                let socket = self
                    .tunnels
                    .get(&t.tunnel)
                    .and_then(|e| e.socket)
                    .or_else(|| self.peer_socket.get(&t.destination).copied())
                    .or_else(|| self.sockets.keys().next().copied());
                let Some(sock) = socket.and_then(|i| self.sockets.get(&i)) else {
                    self.send_errors += 1;
                    continue;
                };
                let sent = if sock.encap == Encap::Ip {
                    // The kernel adds the zero Session ID itself (l2tp_ip_sendmsg).
                    let body = t.payload.get(4..).unwrap_or_default();
                    if sock.connected.is_some() {
                        sock.sock.send(body).await
                    } else {
                        sock.sock.send_to(body, t.destination).await
                    }
                } else {
                    sock.sock.send_to(&t.payload, t.destination).await
                };
                if let Err(e) = sent {
                    self.send_errors += 1;
                    tracing::warn!(to = %t.destination, error = %e, "send failed");
                }
            }
            while let Some(ev) = self.endpoint.poll_event() {
                progressed = true;
                self.on_engine_event(ev);
            }
            if !progressed {
                break;
            }
        }
    }

    fn open_pending(&mut self, tunnel: TunnelId, now: Instant) {
        let Some(entry) = self.tunnels.get_mut(&tunnel) else {
            return;
        };
        for (name, section) in std::mem::take(&mut entry.pending_sessions) {
            match self.endpoint.open_session(now, tunnel, section.to_engine()) {
                Ok(sid) => {
                    tracing::info!(tunnel = %entry.name, session = %name, id = sid.0, "session starting");
                    entry.sessions.insert(
                        sid,
                        SessionEntry {
                            name,
                            section,
                            up: false,
                            peer_id: 0,
                            dp: None,
                            pppd: None,
                            bridged: None,
                        },
                    );
                }
                Err(e) => {
                    tracing::error!(tunnel = %entry.name, session = %name, error = %e, "cannot open session")
                }
            }
        }
    }

    /// Bridges every session configured with `bridge = "TUNNEL/SESSION"` whose partner is up
    /// too (both in the data plane), once.
    fn try_bridges(&mut self) {
        let mut pairs = Vec::new();
        for (tid, t) in &self.tunnels {
            for (sid, s) in &t.sessions {
                let Some((pt, ps)) = &s.section.bridge else {
                    continue;
                };
                if s.bridged.is_some() || s.dp.is_none() {
                    continue;
                }
                let Some(ptid) = self.by_name.get(pt) else {
                    continue;
                };
                let partner = self.tunnels.get(ptid).and_then(|p| {
                    p.sessions
                        .iter()
                        .find(|(_, x)| &x.name == ps && x.dp.is_some() && x.bridged.is_none())
                        .map(|(k, _)| *k)
                });
                if let Some(psid) = partner {
                    pairs.push(((*tid, *sid), (*ptid, psid)));
                }
            }
        }
        for ((t, s), (pt, ps)) in pairs {
            match self.dataplane.bridge_sessions((t.0, s.0), (pt.0, ps.0)) {
                Ok(()) => {
                    for ((tt, ss), other) in [((t, s), (pt, ps)), ((pt, ps), (t, s))] {
                        if let Some(e) = self
                            .tunnels
                            .get_mut(&tt)
                            .and_then(|x| x.sessions.get_mut(&ss))
                        {
                            e.bridged = Some(other);
                        }
                    }
                    tracing::info!(a = ?(t.0, s.0), b = ?(pt.0, ps.0), "sessions bridged");
                }
                Err(e) => {
                    self.dataplane_errors += 1;
                    tracing::error!(error = %e, "data plane: bridge");
                }
            }
        }
    }

    /// Adopts a tunnel a peer opened (LNS role) under a generated name.
    fn adopt(&mut self, tunnel: TunnelId, peer: SocketAddr) {
        let listen_socket = self.peer_socket.get(&peer).copied();
        let mut section = self.accept_template.clone().unwrap_or_default();
        section.peer = Some(peer);
        section.listen = false;
        let listen = listen_socket.and_then(|i| self.sockets.get(&i));
        let encap = listen.map_or(Encap::Udp, |s| s.encap);
        let socket = match (self.mode, encap) {
            (SocketMode::Shared, Encap::Udp) => listen_socket,
            _ => {
                let local = listen.map(|s| s.local);
                match local.map(|l| self.open_socket_encap(l, Some(peer), encap, tunnel.0)) {
                    Some(Ok(i)) => Some(i),
                    Some(Err(e)) => {
                        tracing::warn!(%peer, error = %e, "no connected socket for accepted tunnel");
                        listen_socket
                    }
                    None => listen_socket,
                }
            }
        };
        if let Some(s) = socket.and_then(|i| self.sockets.get_mut(&i)) {
            s.users += 1;
        }
        let name = format!("#{}", tunnel.0);
        self.by_name.insert(name.clone(), tunnel);
        self.tunnels.insert(
            tunnel,
            TunnelEntry {
                name,
                socket,
                pending_sessions: Vec::new(),
                sessions: HashMap::new(),
                section,
                up: false,
                peer_tunnel_id: 0,
                dp_tunnel: false,
            },
        );
    }

    fn on_engine_event(&mut self, ev: Event) {
        let now = Instant::now();
        let mut bridge_partner_down: Option<(TunnelId, SessionId)> = None;
        let (tunnel, session) = match &ev {
            Event::TunnelUp { tunnel, .. } | Event::TunnelDown { tunnel, .. } => (*tunnel, None),
            Event::SessionUp {
                tunnel, session, ..
            }
            | Event::SessionDown {
                tunnel, session, ..
            }
            | Event::WanError {
                tunnel, session, ..
            }
            | Event::LinkInfo {
                tunnel, session, ..
            } => (*tunnel, Some(*session)),
        };
        if let Event::TunnelUp { peer, .. } = &ev {
            if !self.tunnels.contains_key(&tunnel) {
                self.adopt(tunnel, *peer);
            }
        }
        let mode = self.mode;
        let Some(entry) = self.tunnels.get_mut(&tunnel) else {
            tracing::debug!(?ev, "event for an unknown tunnel");
            return;
        };
        if let Some(sid) = session {
            let pw = match &ev {
                Event::SessionUp { pseudowire, .. } => Some(*pseudowire),
                _ => None,
            };
            entry.sessions.entry(sid).or_insert_with(|| {
                // A call the peer placed: the listen tunnel's first session of the same
                // pseudowire type is the template (else its first session).
                let templates = &entry.section.sessions;
                let section = templates
                    .iter()
                    .find(|(_, s)| Some(s.pseudowire.pw_type()) == pw)
                    .or(templates.first())
                    .map(|(_, s)| s.clone())
                    .unwrap_or_default();
                SessionEntry {
                    name: format!("#{}", sid.0),
                    section,
                    up: false,
                    peer_id: 0,
                    dp: None,
                    pppd: None,
                    bridged: None,
                }
            });
        }
        let tunnel_name = entry.name.clone();
        let session_name = session.and_then(|s| entry.sessions.get(&s).map(|e| e.name.clone()));
        let mut interface_name = None;
        match &ev {
            Event::TunnelUp {
                peer_tunnel_id,
                peer,
                version,
                encap,
                ..
            } => {
                entry.up = true;
                entry.peer_tunnel_id = *peer_tunnel_id;
                let mut control_fd = None;
                if let Some(s) = entry.socket.and_then(|i| self.sockets.get(&i)) {
                    if (mode == SocketMode::PerTunnel || s.encap == Encap::Ip) && !s.listening {
                        // The peer may have answered from another port (RFC 2661 §8.1):
                        // connect now, to where it answered from. (L2TP/IP sockets were
                        // connected when opened.)
                        if s.encap == Encap::Udp {
                            if let Err(e) = connect_std(&s.sock, *peer) {
                                tracing::warn!(tunnel = %tunnel_name, error = %e, "connect");
                            }
                        }
                        control_fd = Some(s.sock.as_raw_fd());
                    }
                }
                let local = entry
                    .socket
                    .and_then(|i| self.sockets.get(&i))
                    .map(|s| s.local);
                let spec = TunnelSpec {
                    version: *version,
                    encap: *encap,
                    tunnel_id: tunnel.0,
                    peer_tunnel_id: *peer_tunnel_id,
                    local,
                    peer: *peer,
                    control_fd,
                    udp_checksum: true,
                };
                let quiescent = entry.section.kind == TunnelKind::Quiescent;
                match self.dataplane.create_tunnel(&spec) {
                    Ok(()) => {
                        entry.dp_tunnel = true;
                        if quiescent {
                            // Report the tunnel before its sessions.
                            log_event(&tunnel_name, None, &ev);
                            self.events.push(RuntimeEvent {
                                tunnel_name: tunnel_name.clone(),
                                session_name: None,
                                interface_name: None,
                                event: ev,
                            });
                            if let Err(e) = self.create_configured_sessions(tunnel) {
                                self.dataplane_errors += 1;
                                tracing::error!(tunnel = %tunnel_name, error = %e, "data plane: session");
                            }
                            return;
                        }
                    }
                    Err(e) => {
                        self.dataplane_errors += 1;
                        tracing::error!(tunnel = %tunnel_name, error = %e, "data plane: tunnel");
                        let rc = ResultCode {
                            result: result::STOPCCN_GENERAL_ERROR,
                            error: Some(error_code::VENDOR_ERROR),
                            message: Some(format!("data plane: {e}").into_bytes()),
                        };
                        let _ = self.endpoint.close_tunnel(now, tunnel, rc);
                    }
                }
            }
            Event::SessionUp {
                session,
                peer_session_id,
                peer_tunnel_id,
                params,
                pseudowire,
                ..
            } => {
                let tunnel_section = &entry.section;
                if let Some(s) = entry.sessions.get_mut(session) {
                    s.up = true;
                    s.peer_id = *peer_session_id;
                    let mut spec = session_spec(
                        tunnel_section,
                        &s.section,
                        tunnel.0,
                        *peer_tunnel_id,
                        session.0,
                        *peer_session_id,
                    );
                    if tunnel_section.kind == TunnelKind::Dynamic {
                        apply_negotiated(&mut spec, params);
                        match *pseudowire {
                            l2tp_proto::wire::pw_type::PPP
                                if spec.pseudowire == crate::config::Pseudowire::Eth =>
                            {
                                spec.pseudowire = crate::config::Pseudowire::Ppp
                            }
                            l2tp_proto::wire::pw_type::ETHERNET => {
                                spec.pseudowire = crate::config::Pseudowire::Eth
                            }
                            _ => {}
                        }
                    }
                    match self.dataplane.create_session(&spec) {
                        Ok(handle) => {
                            interface_name = handle.interface_name.clone();
                            s.dp = Some(handle);
                            let fd = self.dataplane.ppp_fd(tunnel.0, session.0);
                            // A bridged session's PPP runs end to end through the bridge.
                            let bridging = s.section.bridge.is_some()
                                || self
                                    .bridge_targets
                                    .contains(&(tunnel_name.clone(), s.name.clone()));
                            if bridging {
                                tracing::info!(tunnel = %tunnel_name, session = %s.name, "PPP session waits for its bridge partner (no pppd)");
                            }
                            if let (Some(opts), Some(fd), false) = (&self.pppd, fd, bridging) {
                                let ps = PppdSession {
                                    fd,
                                    tunnel_id: tunnel.0,
                                    session_id: session.0,
                                    lns_mode: tunnel_section.listen,
                                    seqnum: s.section.seqnum,
                                    ifname: s.section.interface_name.as_deref(),
                                    args_file: s.section.pppd_args.as_deref(),
                                };
                                match crate::pppd::spawn(opts, &ps) {
                                    Ok(mut child) => {
                                        s.pppd = child.id();
                                        self.pppd_running += 1;
                                        let tx = self.pppd_exit_tx.clone();
                                        let (t, sid) = (tunnel, *session);
                                        tokio::spawn(async move {
                                            let how = match child.wait().await {
                                                Ok(st) => crate::pppd::describe_exit(&st),
                                                Err(e) => e.to_string(),
                                            };
                                            let _ = tx.send((t, sid, how)).await;
                                        });
                                    }
                                    Err(e) => {
                                        self.dataplane_errors += 1;
                                        tracing::error!(tunnel = %tunnel_name, session = session.0, error = %e, "pppd");
                                        let rc = ResultCode {
                                            result: result::CDN_GENERAL_ERROR,
                                            error: Some(error_code::VENDOR_ERROR),
                                            message: Some(format!("{e}").into_bytes()),
                                        };
                                        let _ =
                                            self.endpoint.close_session(now, tunnel, *session, rc);
                                    }
                                }
                            }
                        }
                        Err(e) => {
                            self.dataplane_errors += 1;
                            tracing::error!(tunnel = %tunnel_name, session = session.0, error = %e, "data plane: session");
                            let rc = ResultCode {
                                result: result::CDN_GENERAL_ERROR,
                                error: Some(error_code::VENDOR_ERROR),
                                message: Some(format!("data plane: {e}").into_bytes()),
                            };
                            let _ = self.endpoint.close_session(now, tunnel, *session, rc);
                        }
                    }
                }
            }
            Event::SessionDown { session, .. } => {
                if let Some(s) = entry.sessions.remove(session) {
                    if let Some(partner) = s.bridged {
                        bridge_partner_down = Some(partner);
                    }
                    if let Some(pid) = s.pppd {
                        crate::pppd::terminate(pid);
                    }
                    if s.dp.is_some() {
                        if let Err(e) = self.dataplane.delete_session(tunnel.0, session.0) {
                            tracing::warn!(tunnel = %tunnel_name, session = session.0, error = %e, "data plane: delete session");
                        }
                    }
                }
            }
            Event::TunnelDown { .. } | Event::WanError { .. } | Event::LinkInfo { .. } => {}
        }
        log_event(&tunnel_name, session_name.as_deref(), &ev);
        let down = matches!(ev, Event::TunnelDown { .. });
        let session_up = matches!(ev, Event::SessionUp { .. });
        let partner_down = bridge_partner_down.take();
        self.events.push(RuntimeEvent {
            tunnel_name: tunnel_name.clone(),
            session_name,
            interface_name,
            event: ev,
        });
        if session_up {
            self.try_bridges();
        }
        if let Some((pt, ps)) = partner_down {
            // A switched call is one call: its other half goes too.
            if let Some(p) = self
                .tunnels
                .get_mut(&pt)
                .and_then(|t| t.sessions.get_mut(&ps))
            {
                p.bridged = None;
            }
            let rc = ResultCode {
                result: result::CDN_LOST_CARRIER,
                error: Some(error_code::NO_ERROR),
                message: Some(b"bridged session went down".to_vec()),
            };
            tracing::info!(tunnel = pt.0, session = ps.0, "clearing the bridge partner");
            let _ = self.end_session(pt, ps, rc);
        }
        if down {
            if let Some(entry) = self.tunnels.remove(&tunnel) {
                self.by_name.remove(&entry.name);
                for (sid, s) in entry.sessions {
                    if let Some(pid) = s.pppd {
                        crate::pppd::terminate(pid);
                    }
                    if s.dp.is_some() {
                        let _ = self.dataplane.delete_session(tunnel.0, sid.0);
                    }
                }
                if entry.dp_tunnel {
                    if let Err(e) = self.dataplane.delete_tunnel(tunnel.0) {
                        tracing::warn!(tunnel = %tunnel_name, error = %e, "data plane: delete tunnel");
                    }
                }
                if let Some(i) = entry.socket {
                    self.release_socket(i);
                }
            }
        }
    }
}

/// Connects an already bound tokio UDP socket without consuming it (the reader task holds a
/// clone): `connect(2)` through a borrowed socket2 view.
fn connect_std(sock: &UdpSocket, peer: SocketAddr) -> std::io::Result<()> {
    let s = socket2::SockRef::from(sock);
    s.connect(&peer.into())
}

/// The data plane's view of a session, from its configuration and the negotiated IDs.
fn session_spec(
    tunnel: &TunnelSection,
    session: &SessionSection,
    tunnel_id: u32,
    peer_tunnel_id: u32,
    session_id: u32,
    peer_session_id: u32,
) -> SessionSpec {
    SessionSpec {
        tunnel_id,
        peer_tunnel_id,
        version: tunnel.version,
        session_id,
        peer_session_id,
        pseudowire: session.pseudowire,
        cookie: session.cookie.clone(),
        peer_cookie: session.peer_cookie.clone(),
        l2spec: session.l2spec_type,
        send_seq: session.seqnum,
        recv_seq: session.seqnum,
        reorder_timeout: session.reorder_timeout,
        interface_name: session.interface_name.clone(),
        mtu: None,
        lns_mode: tunnel.listen,
        pppoe: session.pppoe_session_id.zip(session.pppoe_peer_mac),
    }
}

/// What the control exchange agreed on overrides the configuration (RFC 3931 §5.4): the
/// peer's Assigned Cookie is what we send, ours is what we check; the default L2-Specific
/// Sublayer when either side asked for it; sequence numbers as each side requested.
fn apply_negotiated(spec: &mut SessionSpec, p: &SessionParams) {
    if spec.version != l2tp_proto::wire::Version::V3 {
        return;
    }
    spec.cookie = p.peer_cookie.clone();
    spec.peer_cookie = p.local_cookie.clone();
    spec.l2spec = if p.l2_specific == 1 || p.peer_l2_specific == 1 {
        crate::config::L2SpecType::Default
    } else {
        crate::config::L2SpecType::None
    };
    spec.send_seq = p.peer_data_sequencing != 0;
    spec.recv_seq = p.data_sequencing != 0;
    if spec.interface_name.is_none() {
        spec.interface_name = p.interface_name.clone();
    }
}

fn log_event(tunnel: &str, session: Option<&str>, ev: &Event) {
    match ev {
        Event::WanError { errors, .. } => {
            tracing::warn!(tunnel, session, ?errors, "WAN error notify from the peer")
        }
        Event::LinkInfo {
            accm,
            circuit_status,
            ..
        } => tracing::info!(
            tunnel,
            session,
            ?accm,
            ?circuit_status,
            "set link info from the peer"
        ),
        Event::TunnelUp {
            tunnel: id,
            peer_tunnel_id,
            peer,
            ..
        } => tracing::info!(tunnel, id = id.0, peer_tunnel_id, %peer, "tunnel up"),
        Event::TunnelDown { reason, .. } => {
            tracing::info!(tunnel, reason = %describe_reason(reason), "tunnel down")
        }
        Event::SessionUp {
            session: id,
            peer_session_id,
            ..
        } => tracing::info!(tunnel, session, id = id.0, peer_session_id, "session up"),
        Event::SessionDown { reason, .. } => {
            tracing::info!(tunnel, session, reason = %describe_reason(reason), "session down")
        }
    }
}

/// One-line text for a [`DownReason`], e.g. `peer: result 1 error 0 "Server closing"`.
pub fn describe_reason(reason: &DownReason) -> String {
    fn rc(r: &ResultCode) -> String {
        let mut s = format!("result {}", r.result);
        if let Some(e) = r.error {
            s.push_str(&format!(" error {e}"));
        }
        if let Some(m) = &r.message {
            s.push_str(&format!(" {:?}", String::from_utf8_lossy(m)));
        }
        s
    }
    match reason {
        DownReason::Local(r) => format!("local: {}", rc(r)),
        DownReason::Peer(r) => format!("peer: {}", rc(r)),
        DownReason::Protocol(r) => format!("protocol: {}", rc(r)),
        DownReason::Timeout => "timeout".to_string(),
        DownReason::TunnelDown => "tunnel down".to_string(),
    }
}
