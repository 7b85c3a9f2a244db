//! The tokio driver around [`l2tp_proto::endpoint::Endpoint`].
//!
//! One task owns the endpoint. UDP sockets (one per local address) are read by small reader
//! tasks that forward `(socket index, source, bytes)` over a bounded channel; the owner task
//! feeds them to the endpoint, sleeps until the endpoint's next timer, and after every step
//! drains datagrams to send and events to report. Nothing here parses L2TP: the core does.
//!
//! Sockets and tunnels: every tunnel configured with the same `local` address shares that
//! address's socket, and a tunnel without `local` uses an ephemeral wildcard socket of its own
//! address family. The kernel data plane will want one connected socket per tunnel (managed
//! tunnels); that comes with the kernel data plane.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use l2tp_proto::endpoint::{
    DownReason, Endpoint, EndpointConfig, EndpointStats, Event, SessionId, TunnelId,
};
use l2tp_proto::wire::{result, ResultCode};
use tokio::net::UdpSocket;

use crate::config::{SessionSection, TunnelSection};
use crate::dataplane::{DataPlane, SessionSpec, TunnelSpec};
use tokio::sync::mpsc;

/// Largest datagram read from a socket (bytes). L2TP over UDP cannot exceed 65507 bytes.
const MAX_DATAGRAM: usize = 65_536;
/// Datagrams queued between the reader tasks and the engine task before readers wait.
const INBOX_DEPTH: usize = 1024;

/// Errors from the driver's API (configuration or socket set-up; never from wire input).
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// A socket could not be created or bound.
    #[error("socket {addr}: {source}")]
    Socket {
        /// The local address we tried to bind.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The engine refused the call.
    #[error("tunnel {name}: {source}")]
    Engine {
        /// The tunnel's configured name.
        name: String,
        /// The engine's reason.
        source: l2tp_proto::endpoint::ApiError,
    },
}

/// An event as the runtime reports it: the engine's event plus the configured names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeEvent {
    /// The tunnel's name from the configuration (or `"#<id>"` for tunnels without one).
    pub tunnel_name: String,
    /// The session's name, for session events.
    pub session_name: Option<String>,
    /// The engine's event.
    pub event: Event,
}

struct TunnelEntry {
    name: String,
    socket: usize,
    /// Sessions to open once the tunnel is up, in configuration order.
    pending_sessions: Vec<(String, SessionSection)>,
    /// Sessions opened by us or the peer: name and data plane options.
    sessions: HashMap<SessionId, (String, SessionSection)>,
    /// The tunnel's configuration (data plane options, version).
    section: TunnelSection,
    /// Whether the data plane holds this tunnel / these sessions (to undo exactly that).
    dp_tunnel: bool,
    dp_sessions: HashSet<SessionId>,
}

/// Owns the endpoint, the sockets and the mapping from engine IDs to configured names.
pub struct Driver {
    endpoint: Endpoint,
    sockets: Vec<(SocketAddr, Arc<UdpSocket>)>,
    tunnels: HashMap<TunnelId, TunnelEntry>,
    inbox_tx: mpsc::Sender<(usize, SocketAddr, Vec<u8>)>,
    inbox_rx: mpsc::Receiver<(usize, SocketAddr, Vec<u8>)>,
    events: Vec<RuntimeEvent>,
    send_errors: u64,
    dataplane: Box<dyn DataPlane>,
    /// Which socket a peer address last reached us on (replies to accepted tunnels).
    peer_socket: HashMap<SocketAddr, usize>,
}

impl Driver {
    /// A driver around a new endpoint. `seed` feeds the endpoint's RNG (tunnel/session IDs,
    /// challenges); pass real entropy in production.
    pub fn new(config: EndpointConfig, seed: u64, dataplane: Box<dyn DataPlane>) -> Self {
        let (inbox_tx, inbox_rx) = mpsc::channel(INBOX_DEPTH);
        Driver {
            endpoint: Endpoint::new(config, seed),
            sockets: Vec::new(),
            tunnels: HashMap::new(),
            inbox_tx,
            inbox_rx,
            events: Vec::new(),
            send_errors: 0,
            dataplane,
            peer_socket: HashMap::new(),
        }
    }

    /// Binds (or reuses) a UDP socket on `local` and starts its reader task. Returns its index.
    ///
    /// Errors: [`DriverError::Socket`] when the address cannot be bound.
    pub async fn bind(&mut self, local: SocketAddr) -> Result<usize, DriverError> {
        if local.port() != 0 {
            if let Some(i) = self.sockets.iter().position(|(a, _)| *a == local) {
                return Ok(i);
            }
        }
        let sock = UdpSocket::bind(local)
            .await
            .map_err(|source| DriverError::Socket {
                addr: local,
                source,
            })?;
        let bound = sock.local_addr().unwrap_or(local);
        let sock = Arc::new(sock);
        let index = self.sockets.len();
        self.sockets.push((bound, sock.clone()));
        let tx = self.inbox_tx.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; MAX_DATAGRAM];
            loop {
                match sock.recv_from(&mut buf).await {
                    Ok((n, from)) => {
                        let Some(data) = buf.get(..n) else { continue };
                        if tx.send((index, from, data.to_vec())).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        // ICMP port unreachable surfaces as ECONNREFUSED on some kernels:
                        // the engine's retransmission handles an absent peer.
                        tracing::debug!(socket = %bound, error = %e, "recv error");
                    }
                }
            }
        });
        tracing::info!(local = %bound, "listening");
        Ok(index)
    }

    /// Starts a dynamic tunnel from its configuration (LAC: sends SCCRQ) and remembers the
    /// sessions to open once it is up. The tunnel sends from `section.local` (or an ephemeral
    /// wildcard address of the peer's family).
    ///
    /// Errors: socket set-up failures and engine refusals (e.g. tunnel ID in use, L2TPv3 not
    /// supported yet by the engine).
    pub async fn add_tunnel(
        &mut self,
        name: &str,
        section: &TunnelSection,
    ) -> Result<TunnelId, DriverError> {
        let config = section.to_engine();
        let local = section.local.unwrap_or(match config.peer {
            SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
        });
        let socket = self.bind(local).await?;
        let now = Instant::now();
        let id = self
            .endpoint
            .connect(now, config)
            .map_err(|source| DriverError::Engine {
                name: name.to_string(),
                source,
            })?;
        tracing::info!(tunnel = name, id = id.0, "tunnel starting");
        self.tunnels.insert(
            id,
            TunnelEntry {
                name: name.to_string(),
                socket,
                pending_sessions: section.sessions.clone(),
                sessions: HashMap::new(),
                section: section.clone(),
                dp_tunnel: false,
                dp_sessions: HashSet::new(),
            },
        );
        // The engine sends ICRQ right after SCCCN; open the configured sessions now.
        self.open_pending(id, now);
        self.flush().await;
        Ok(id)
    }

    /// Sends StopCCN on every tunnel with `result` (sessions are reported down with it).
    pub async fn close_all(&mut self, result: ResultCode) {
        let now = Instant::now();
        let ids: Vec<TunnelId> = self.tunnels.keys().copied().collect();
        tracing::debug!(tunnels = ids.len(), "closing every tunnel");
        for id in ids {
            if let Err(e) = self.endpoint.close_tunnel(now, id, result.clone()) {
                tracing::debug!(tunnel = id.0, error = %e, "close_tunnel");
            }
        }
        self.flush().await;
    }

    /// Number of tunnels not yet reported down.
    pub fn tunnel_count(&self) -> usize {
        self.tunnels.len()
    }

    /// The endpoint's counters.
    pub fn stats(&self) -> EndpointStats {
        self.endpoint.stats()
    }

    /// Datagrams the OS refused to send.
    pub fn send_errors(&self) -> u64 {
        self.send_errors
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
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => return true,
                alive = self.step() => if !alive { return false },
            }
            for ev in self.take_events() {
                on_event(&ev);
            }
        }
    }

    /// Closes every tunnel and keeps running until all are reported down or `grace` passes.
    /// Returns the number of tunnels still not down at the deadline.
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
        self.tunnels.len()
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
        }
        self.flush().await;
        true
    }

    fn receive(&mut self, socket: usize, from: SocketAddr, data: &[u8]) {
        if self.peer_socket.get(&from) != Some(&socket) {
            self.peer_socket.insert(from, socket);
        }
        let before = self.endpoint.stats();
        self.endpoint.handle(Instant::now(), from, data);
        let after = self.endpoint.stats();
        if after.malformed > before.malformed {
            tracing::warn!(%from, len = data.len(), total = after.malformed, "malformed datagram dropped");
        } else if after.unknown_tunnel > before.unknown_tunnel {
            tracing::debug!(%from, len = data.len(), "datagram for an unknown tunnel dropped");
        }
    }

    /// Sends queued datagrams and turns engine events into runtime events (opening configured
    /// sessions when their tunnel comes up).
    async fn flush(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.endpoint.poll_transmit() {
                progressed = true;
                let socket = self
                    .tunnels
                    .get(&t.tunnel)
                    .map(|e| e.socket)
                    .or_else(|| self.peer_socket.get(&t.destination).copied())
                    .unwrap_or_default();
                let Some((_, sock)) = self.sockets.get(socket) else {
                    self.send_errors += 1;
                    continue;
                };
                if let Err(e) = sock.send_to(&t.payload, t.destination).await {
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
                    entry.sessions.insert(sid, (name, section));
                }
                Err(e) => {
                    tracing::error!(tunnel = %entry.name, session = %name, error = %e, "cannot open session")
                }
            }
        }
    }

    fn on_engine_event(&mut self, ev: Event) {
        let now = Instant::now();
        let (tunnel, session) = match &ev {
            Event::TunnelUp { tunnel, .. } | Event::TunnelDown { tunnel, .. } => (*tunnel, None),
            Event::SessionUp {
                tunnel, session, ..
            }
            | Event::SessionDown {
                tunnel, session, ..
            } => (*tunnel, Some(*session)),
        };
        if let Event::TunnelUp { peer, .. } = &ev {
            if !self.tunnels.contains_key(&tunnel) {
                // A tunnel a peer opened (LNS role): adopt it under a generated name.
                let socket = self.peer_socket.get(peer).copied().unwrap_or_default();
                let mut section = TunnelSection::new();
                section.peer = Some(*peer);
                self.tunnels.insert(
                    tunnel,
                    TunnelEntry {
                        name: format!("#{}", tunnel.0),
                        socket,
                        pending_sessions: Vec::new(),
                        sessions: HashMap::new(),
                        section,
                        dp_tunnel: false,
                        dp_sessions: HashSet::new(),
                    },
                );
            }
        }
        let Some(entry) = self.tunnels.get_mut(&tunnel) else {
            tracing::debug!(?ev, "event for an unknown tunnel");
            return;
        };
        if let Some(sid) = session {
            entry
                .sessions
                .entry(sid)
                .or_insert_with(|| (format!("#{}", sid.0), SessionSection::default()));
        }
        let tunnel_name = entry.name.clone();
        let session_name = session.and_then(|s| entry.sessions.get(&s).map(|(n, _)| n.clone()));
        log_event(&tunnel_name, session_name.as_deref(), &ev);
        self.events.push(RuntimeEvent {
            tunnel_name: tunnel_name.clone(),
            session_name,
            event: ev.clone(),
        });
        match ev {
            Event::TunnelUp {
                peer_tunnel_id,
                peer,
                version,
                encap,
                ..
            } => {
                let local = self.sockets.get(entry.socket).map(|(a, _)| *a);
                let spec = TunnelSpec {
                    version,
                    encap,
                    tunnel_id: tunnel.0,
                    peer_tunnel_id,
                    local,
                    peer,
                    control_fd: None,
                    udp_checksum: true,
                };
                match self.dataplane.create_tunnel(&spec) {
                    Ok(()) => entry.dp_tunnel = true,
                    Err(e) => {
                        tracing::error!(tunnel = %tunnel_name, error = %e, "data plane: tunnel");
                        let rc = ResultCode {
                            result: result::STOPCCN_GENERAL_ERROR,
                            error: Some(l2tp_proto::wire::error_code::VENDOR_ERROR),
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
                ..
            } => {
                let Some((_, section)) = entry.sessions.get(&session) else {
                    return;
                };
                let spec = session_spec(
                    &entry.section,
                    section,
                    tunnel.0,
                    peer_tunnel_id,
                    session.0,
                    peer_session_id,
                );
                match self.dataplane.create_session(&spec) {
                    Ok(_) => {
                        entry.dp_sessions.insert(session);
                    }
                    Err(e) => {
                        tracing::error!(tunnel = %tunnel_name, session = session.0, error = %e, "data plane: session");
                        let rc = ResultCode {
                            result: result::CDN_GENERAL_ERROR,
                            error: Some(l2tp_proto::wire::error_code::VENDOR_ERROR),
                            message: Some(format!("data plane: {e}").into_bytes()),
                        };
                        let _ = self.endpoint.close_session(now, tunnel, session, rc);
                    }
                }
            }
            Event::SessionDown { session, .. } => {
                entry.sessions.remove(&session);
                if entry.dp_sessions.remove(&session) {
                    if let Err(e) = self.dataplane.delete_session(tunnel.0, session.0) {
                        tracing::warn!(tunnel = %tunnel_name, session = session.0, error = %e, "data plane: delete session");
                    }
                }
            }
            Event::TunnelDown { .. } => {
                if let Some(entry) = self.tunnels.remove(&tunnel) {
                    for s in entry.dp_sessions {
                        let _ = self.dataplane.delete_session(tunnel.0, s.0);
                    }
                    if entry.dp_tunnel {
                        if let Err(e) = self.dataplane.delete_tunnel(tunnel.0) {
                            tracing::warn!(tunnel = %tunnel_name, error = %e, "data plane: delete tunnel");
                        }
                    }
                }
            }
        }
    }
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

fn log_event(tunnel: &str, session: Option<&str>, ev: &Event) {
    match ev {
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
