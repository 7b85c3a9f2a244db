//! The tokio driver around [`l2tp_proto::endpoint::Endpoint`].
//!
//! One task owns the endpoint, the sockets' bookkeeping and the data plane's requests. Reader
//! tasks forward batches of datagrams over one bounded channel; the owner task feeds them to
//! the endpoint, sleeps until the endpoint's next timer, runs commands from
//! [`crate::Context`] handles, and after every step drains datagrams to send (batched per
//! socket) and events to report. Nothing here parses L2TP: the core does.
//!
//! # Where things happen
//! | what | module |
//! |---|---|
//! | sockets: binding, receive buffers, batched reads and sends, which tunnel uses which | `sockets` |
//! | every index (names, IDs, bridge partners) and the counters `stats()` reports | `registry` |
//! | static and quiescent tunnels (configured IDs, no call set-up) | `configured` |
//! | dynamic tunnels: adopted when a peer's SCCRQ is accepted, data plane on `TunnelUp`, released on `TunnelDown` | `tunnels` |
//! | where a session gets its data plane objects (kernel session, PPPoL2TP socket), pppd | `sessions` |
//! | tunnel switching: bridging two sessions' PPP channels | `bridge` |
//! | status snapshots and counters | `report` |
//! | what the operator and the `Context` ask: listen, add / close tunnels and sessions | `commands` |
//! | the control message trace (`-verbose`) | `trace` |
//! | the data plane run inline or on its own thread (netlink never stalls the loop) | `plane` |
//!
//! Every per-datagram and per-session operation is O(1) in the number of tunnels and
//! sessions (amortised hash-map work); only whole-table reports (status, shutdown) are O(n).
//!
//! # Sockets and tunnels
//! - With a data plane that shares sockets ([`SocketMode::Shared`], the null data plane), all
//!   tunnels on one local address share that address's socket; a tunnel without `local` gets
//!   an ephemeral wildcard socket of its own, closed with it.
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
//! configured IDs at once and reports `TunnelUp` / `SessionUp` itself (`configured`).

mod bridge;
mod commands;
mod configured;
mod lookup;
mod plane;
mod registry;
mod report;
mod sessions;
mod sockets;
pub(crate) use sockets::set_recv_buffer;
mod trace;
mod tunnels;

use std::future::Future;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use l2tp_proto::endpoint::{
    DownReason, Endpoint, EndpointConfig, EndpointStats, Event, SessionId, TunnelId,
};
use l2tp_proto::wire::{error_code, result, Encap, ResultCode};
use tokio::sync::{mpsc, oneshot};

use crate::config::{SessionSection, TunnelSection};
use crate::dataplane::DataPlane;
use crate::pppd::PppdOptions;
use crate::status::{RuntimeStats, TunnelStatus};

use plane::{Done, Plane};
use registry::{Registry, SessionEntry};
use sockets::{Inbound, Sockets};

/// Receive buffer asked for listening sockets by default (bytes): room for a burst of about
/// 8,000 SCCRQs before the engine reads them.
pub const DEFAULT_RECV_BUFFER: usize = 8 << 20;

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
    /// The tunnel's name from the configuration (or `LISTENER.ID` for tunnels a peer opened).
    pub tunnel_name: String,
    /// The session's name, for session events.
    pub session_name: Option<String>,
    /// The network interface of a session that came up, when the data plane named one.
    pub interface_name: Option<String>,
    /// The engine's event.
    pub event: Event,
    /// PPP terminated in the data plane: the authenticated user name (`SessionDown` of a
    /// session whose PPP got that far).
    pub username: Option<String>,
    /// PPP terminated in the data plane: the PPP client's IPv4 address (`SessionDown` of a
    /// session whose IPCP came up).
    pub address: Option<std::net::Ipv4Addr>,
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
        /// Only this tunnel (key), and maybe only this session (key) of it.
        scope: Option<(String, Option<String>)>,
        reply: oneshot::Sender<Vec<TunnelStatus>>,
    },
    Stats {
        reply: oneshot::Sender<RuntimeStats>,
    },
    Lookup {
        tunnel: String,
        session: Option<String>,
        reply: oneshot::Sender<Option<crate::status::Named>>,
    },
}

/// The listener's settings for tunnels and calls that peers open.
struct Listener {
    /// Its configured name: accepted tunnels are named `NAME.ID`.
    name: String,
    section: Arc<TunnelSection>,
    /// Session templates (name, settings) by pseudowire type (the first configured session
    /// of each type): calls are named `TEMPLATE.ID`.
    by_pw: std::collections::HashMap<u16, (String, Arc<SessionSection>)>,
    /// The first configured session: the template for any other pseudowire type.
    first: (String, Arc<SessionSection>),
    /// Where it listens.
    local: SocketAddr,
}

/// Owns the endpoint, the sockets, the data plane and the mapping from IDs to names.
pub struct Driver {
    endpoint: Endpoint,
    mode: SocketMode,
    sockets: Sockets,
    inbox: mpsc::Receiver<Inbound>,
    registry: Registry,
    plane: Plane,
    events: Vec<RuntimeEvent>,
    /// Datagrams to send, gathered by `flush`: (socket, destination, bytes).
    outbox: Vec<(usize, SocketAddr, Vec<u8>)>,
    send_errors: u64,
    dataplane_errors: u64,
    listener: Option<Listener>,
    /// Listening sockets by (address, L2TP/IP).
    listen_sockets: std::collections::HashMap<(SocketAddr, bool), usize>,
    /// Run pppd for PPP sessions (when the data plane has PPPoL2TP sockets).
    pppd: Option<PppdOptions>,
    /// Starts pppd off this thread (made on the first PPP session that needs one).
    pppd_spawner: Option<crate::pppd::Spawner>,
    pppd_reports_tx: mpsc::UnboundedSender<((u32, u32), crate::pppd::PppdReport)>,
    pppd_reports_rx: mpsc::UnboundedReceiver<((u32, u32), crate::pppd::PppdReport)>,
    /// pppd processes asked of the spawner and not yet reported started or failed.
    pppd_pending: usize,
    /// pppd processes started and not yet reaped.
    pppd_running: usize,
    /// Datagrams dropped on listening sockets because the sender is not in `accept_peers`.
    refused_peers: u64,
    /// Authentication failures of PPP sessions terminated in this process, by method.
    ppp_auth_failures: crate::status::PppAuthFailures,
    malformed_log: crate::ratelimit::RateLimit,
    /// Tunnels and sessions that went down recently (for `show`).
    history: report::History,
    /// Sockets of tunnels that went down, kept [`SOCKET_LINGER`] so that a peer's late
    /// control messages (its own StopCCN crossing ours) are still acknowledged from the
    /// address and port it knows: tunnel → socket, and the release order.
    lingering: std::collections::HashMap<TunnelId, usize>,
    linger_queue: std::collections::VecDeque<(Instant, TunnelId)>,
    /// The data plane's events (PPP up, PPP down), if it has any.
    dp_events: Option<mpsc::Receiver<crate::dataplane::DataPlaneEvent>>,
    /// Told why sessions end (RADIUS accounting).
    session_observer: Option<Arc<dyn crate::dataplane::SessionObserver>>,
    /// Engine events being handled (kept for its allocation).
    event_batch: Vec<Event>,
    /// With a session observer: why each tunnel of the batch being handled went down.
    tunnel_down_reasons: std::collections::HashMap<TunnelId, DownReason>,
    /// Whether a tunnel's data messages are carried in user space, by the plane its
    /// configuration names (the data plane's [`DataPlane::user_space_for`], asked once).
    planes: PlaneChoices,
}

/// The data plane's answers to [`DataPlane::user_space_for`] for each per-tunnel choice.
struct PlaneChoices {
    default: Result<bool, crate::dataplane::DataPlaneError>,
    kernel: Result<bool, crate::dataplane::DataPlaneError>,
    userspace: Result<bool, crate::dataplane::DataPlaneError>,
}

impl PlaneChoices {
    fn of(dp: &dyn DataPlane) -> Self {
        use crate::config::TunnelPlane;
        PlaneChoices {
            default: dp.user_space_for(None),
            kernel: dp.user_space_for(Some(TunnelPlane::Kernel)),
            userspace: dp.user_space_for(Some(TunnelPlane::Userspace)),
        }
    }

    /// Whether a tunnel configured like `section` is carried in user space, or why it
    /// cannot be carried at all.
    fn user_space(
        &self,
        section: &TunnelSection,
    ) -> Result<bool, crate::dataplane::DataPlaneError> {
        use crate::config::TunnelPlane;
        match section.dataplane {
            None => self.default.clone(),
            Some(TunnelPlane::Kernel) => self.kernel.clone(),
            Some(TunnelPlane::Userspace) => self.userspace.clone(),
        }
    }
}

/// At shutdown, once every tunnel is down: how long the line must be quiet before exit, and
/// the most the daemon waits for peers' late control messages.
const SHUTDOWN_QUIET: Duration = Duration::from_millis(300);
const SHUTDOWN_LINGER: Duration = Duration::from_secs(2);

/// How long a downed tunnel's socket stays open for the peer's late control messages: its
/// first retransmissions (1 s, 2 s) are still acknowledged.
const SOCKET_LINGER: Duration = Duration::from_secs(3);

impl Driver {
    /// A driver around a new endpoint. `seed` feeds the endpoint's RNG (tunnel/session IDs,
    /// challenges); pass real entropy in production. A data plane whose calls block
    /// ([`DataPlane::blocking`]) runs on a thread of its own.
    pub fn new(
        config: EndpointConfig,
        seed: u64,
        mut dataplane: Box<dyn DataPlane>,
        mode: SocketMode,
    ) -> Self {
        let dp_events = dataplane.take_events();
        let planes = PlaneChoices::of(dataplane.as_ref());
        let (mut sockets, inbox) = Sockets::new(mode, DEFAULT_RECV_BUFFER);
        if let Some(sink) = dataplane.data_sink() {
            sockets.set_data_sink(sink);
        }
        let (pppd_reports_tx, pppd_reports_rx) = mpsc::unbounded_channel();
        Driver {
            endpoint: Endpoint::new(config, seed),
            mode,
            sockets,
            inbox,
            registry: Registry::default(),
            plane: Plane::new(dataplane),
            dp_events,
            events: Vec::new(),
            outbox: Vec::new(),
            send_errors: 0,
            dataplane_errors: 0,
            listener: None,
            listen_sockets: std::collections::HashMap::new(),
            pppd: None,
            pppd_spawner: None,
            pppd_reports_tx,
            pppd_reports_rx,
            pppd_pending: 0,
            pppd_running: 0,
            refused_peers: 0,
            ppp_auth_failures: Default::default(),
            malformed_log: crate::ratelimit::RateLimit::new(10, Duration::from_secs(10)),
            history: report::History::default(),
            lingering: std::collections::HashMap::new(),
            linger_queue: std::collections::VecDeque::new(),
            session_observer: None,
            event_batch: Vec::new(),
            tunnel_down_reasons: std::collections::HashMap::new(),
            planes,
        }
    }

    /// Whether the tunnel configured as `name` / `section` has its data messages carried in
    /// user space (its sockets hand datagrams to the data sink, and are handed to the data
    /// plane for sending).
    ///
    /// Errors: [`DriverError::DataPlane`] naming the tunnel when the data plane cannot carry
    /// the plane its `dataplane` key names.
    fn user_space(&self, name: &str, section: &TunnelSection) -> Result<bool, DriverError> {
        self.planes.user_space(section).map_err(|e| {
            let why = match e {
                crate::dataplane::DataPlaneError::Unsupported(m) => m,
                e => e.to_string(),
            };
            DriverError::DataPlane(crate::dataplane::DataPlaneError::Unsupported(format!(
                "tunnel {name}: {why}"
            )))
        })
    }

    /// Tells `o` why each session ends, before its data plane objects are removed.
    pub fn set_session_observer(&mut self, o: Option<Arc<dyn crate::dataplane::SessionObserver>>) {
        self.session_observer = o;
    }

    /// Runs pppd for every PPP session that comes up (kl2tpd's behaviour), with these options.
    pub fn set_pppd(&mut self, pppd: Option<PppdOptions>) {
        self.pppd = pppd;
    }

    /// The receive buffer asked for listening sockets opened from now on (bytes; 0 keeps the
    /// system default). `SO_RCVBUFFORCE` when privileged, else `SO_RCVBUF` (capped by
    /// `net.core.rmem_max`); the size obtained is logged.
    pub fn set_recv_buffer(&mut self, bytes: usize) {
        self.sockets.set_recv_buffer_size(bytes);
    }

    /// The endpoint's counters.
    pub fn stats(&self) -> EndpointStats {
        self.endpoint.stats()
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
            if self.registry.is_empty() {
                break;
            }
            tokio::select! {
                _ = &mut deadline => break,
                alive = self.step() => if !alive { break },
            }
        }
        let left = self.registry.counts().tunnels;
        // Closed control connections still acknowledge the peers' late messages (a peer's own
        // StopCCN crossing ours, RFC 2661 §5.7): stay while they arrive, until the line has
        // been quiet for SHUTDOWN_QUIET, at most SHUTDOWN_LINGER.
        if left == 0 && self.endpoint.lingering() > 0 {
            let end = tokio::time::Instant::now() + SHUTDOWN_LINGER;
            let mut quiet_until = tokio::time::Instant::now() + SHUTDOWN_QUIET;
            let mut rx = self.endpoint.stats().control_rx;
            while self.endpoint.lingering() > 0 {
                tokio::select! {
                    _ = tokio::time::sleep_until(end.min(quiet_until)) => break,
                    alive = self.step() => if !alive { break },
                }
                let now_rx = self.endpoint.stats().control_rx;
                if now_rx != rx {
                    rx = now_rx;
                    quiet_until = tokio::time::Instant::now() + SHUTDOWN_QUIET;
                }
            }
            for ev in self.take_events() {
                on_event(&ev);
            }
        }
        // Peers that never acknowledged: remove our data plane objects regardless.
        for id in self.registry.tunnel_ids() {
            self.tunnel_down(
                id,
                Event::TunnelDown {
                    tunnel: id,
                    reason: DownReason::Timeout,
                },
            );
        }
        self.plane.drain();
        for ev in self.take_events() {
            on_event(&ev);
        }
        self.release_lingering(Instant::now() + SOCKET_LINGER);
        // pppd got SIGTERM with its session: give it a moment to send LCP Terminate and exit,
        // so that no pppd outlives the daemon.
        let reap = tokio::time::sleep(Duration::from_secs(3));
        tokio::pin!(reap);
        while self.pppd_running + self.pppd_pending > 0 {
            tokio::select! {
                _ = &mut reap => break,
                r = self.pppd_reports_rx.recv() => match r {
                    // Every session is gone: a pppd that starts now is stopped at once.
                    Some((key, report)) => self.pppd_report(key, report),
                    None => break,
                },
            }
        }
        left
    }

    /// One turn of the loop: wait for datagrams, the next timer, a data plane completion or
    /// a pppd exit, act on it, flush. Returns `false` when every reader task is gone.
    async fn step(&mut self) -> bool {
        self.release_lingering(Instant::now());
        let linger = self.linger_queue.front().map(|&(at, _)| at);
        let deadline = match (self.endpoint.poll_timeout(), linger) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let sleep = async {
            match deadline {
                Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                None => std::future::pending::<()>().await,
            }
        };
        let dp_event = async {
            match &mut self.dp_events {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(ev) = dp_event => self.dataplane_event(ev),
            msg = self.inbox.recv() => {
                let Some(inbound) = msg else { return false };
                self.receive(inbound);
                // Feed whatever else already arrived before flushing: batches ACKs.
                while let Ok(inbound) = self.inbox.try_recv() {
                    self.receive(inbound);
                }
            }
            _ = sleep => {
                let now = Instant::now();
                self.endpoint.handle_timeout(now);
                self.release_lingering(now);
            }
            Some(done) = self.plane.next_done() => self.on_done(done),
            Some((key, report)) = self.pppd_reports_rx.recv() => self.pppd_report(key, report),
        }
        self.flush().await;
        true
    }

    fn receive(&mut self, inbound: Inbound) {
        let Inbound { socket, batch } = inbound;
        let (encap, listening) = self
            .sockets
            .get(socket)
            .map_or((Encap::Udp, false), |s| (s.encap, s.listening));
        let now = Instant::now();
        let tracing = trace::enabled();
        for (from, data) in batch.iter() {
            if tracing {
                trace::message("recv", from, encap, data);
            }
            // `accept_peers`: only these addresses may open tunnels. With shared sockets every
            // tunnel of the listener arrives here, so refusing the sender refuses it everywhere.
            if listening {
                if let Some(l) = &self.listener {
                    let peers = &l.section.accept_peers;
                    if !peers.is_empty() && !peers.contains(&from.ip()) {
                        self.refused_peers += 1;
                        tracing::debug!(%from, "datagram from a peer not in accept_peers dropped");
                        continue;
                    }
                }
            }
            let malformed = self.endpoint.stats().malformed;
            self.endpoint.handle_encap(now, from, encap, data);
            // Tunnels the endpoint just accepted (this datagram's SCCRQ): named and given
            // their socket at once.
            while let Some((t, peer)) = self.endpoint.poll_accepted() {
                self.adopt(t, peer, socket);
            }
            let after = self.endpoint.stats().malformed;
            if after > malformed {
                if let Some(suppressed) = self.malformed_log.check(now) {
                    tracing::warn!(%from, len = data.len(), total = after, suppressed, "malformed datagram dropped");
                }
            }
        }
    }

    /// Sends queued datagrams (batched per socket) and turns engine events and data plane
    /// completions into runtime events.
    async fn flush(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(t) = self.endpoint.poll_transmit() {
                progressed = true;
                let socket = self
                    .registry
                    .get(t.tunnel)
                    .and_then(|e| e.socket)
                    .or_else(|| self.lingering.get(&t.tunnel).copied())
                    .or_else(|| self.sockets.any_listening());
                if trace::enabled() {
                    trace::message("send", t.destination, t.encap, &t.payload);
                }
                match socket {
                    Some(i) => self.outbox.push((i, t.destination, t.payload)),
                    None => self.send_errors += 1,
                }
            }
            // The engine reports a tunnel's sessions down, then the tunnel with its reason,
            // in one batch: the session observer is told the tunnel's reason (the peer's
            // StopCCN, a timeout) instead of just "tunnel down".
            let mut batch = std::mem::take(&mut self.event_batch);
            while let Some(ev) = self.endpoint.poll_event() {
                batch.push(ev);
            }
            if self.session_observer.is_some() {
                for ev in &batch {
                    if let Event::TunnelDown { tunnel, reason } = ev {
                        self.tunnel_down_reasons.insert(*tunnel, reason.clone());
                    }
                }
            }
            for ev in batch.drain(..) {
                progressed = true;
                self.on_engine_event(ev);
            }
            self.tunnel_down_reasons.clear();
            self.event_batch = batch;
            while let Some(done) = self.plane.try_done() {
                progressed = true;
                self.on_done(done);
            }
            if !progressed {
                break;
            }
        }
        if self.outbox.is_empty() {
            return;
        }
        let mut out = std::mem::take(&mut self.outbox);
        let mut rest: &mut [(usize, SocketAddr, Vec<u8>)] = &mut out;
        let mut run: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
        while let Some(&(sock, _, _)) = rest.first() {
            let n = rest.iter().take_while(|(s, _, _)| *s == sock).count();
            let (head, tail) = rest.split_at_mut(n);
            run.clear();
            run.extend(head.iter_mut().map(|(_, to, p)| (*to, std::mem::take(p))));
            self.send_errors += self.sockets.send(sock, &run).await;
            rest = tail;
        }
        out.clear();
        self.outbox = out;
    }

    fn open_pending(&mut self, tunnel: TunnelId, now: Instant) {
        let Some(entry) = self.registry.get_mut(tunnel) else {
            return;
        };
        let tname = entry.name.clone();
        for (name, section) in std::mem::take(&mut entry.pending_sessions) {
            match self.endpoint.open_session(now, tunnel, section.to_engine()) {
                Ok(sid) => {
                    tracing::debug!(tunnel = %tname, session = %name, id = sid.0, "session starting");
                    self.registry.insert_session(
                        tunnel,
                        sid,
                        SessionEntry::new(name, Arc::new(section)),
                    );
                }
                Err(e) => {
                    tracing::error!(tunnel = %tname, session = %name, error = %e, "cannot open session")
                }
            }
        }
    }

    fn on_engine_event(&mut self, ev: Event) {
        match ev {
            Event::TunnelUp { .. } => self.tunnel_up(ev),
            Event::TunnelDown { tunnel, .. } => self.tunnel_down(tunnel, ev),
            Event::SessionUp { .. } => self.session_up(ev),
            Event::SessionDown {
                tunnel,
                session,
                reason,
            } => self.session_down(tunnel, session, reason),
            Event::WanError {
                tunnel, session, ..
            }
            | Event::LinkInfo {
                tunnel, session, ..
            } => {
                let Some(t) = self.registry.get(tunnel) else {
                    return;
                };
                let tname = t.name.clone();
                let sname = t.session(session).map(|s| s.name.clone());
                self.report(tname, sname, None, ev);
            }
        }
    }

    /// A data plane request finished.
    fn on_done(&mut self, done: Done) {
        match done {
            Done::Tunnel {
                tunnel,
                token,
                result,
            } => self.tunnel_ready(TunnelId(tunnel), token, result),
            Done::Session {
                tunnel,
                session,
                token,
                result,
            } => self.session_ready(TunnelId(tunnel), SessionId(session), token, result),
            Done::Bridge { a, b, result } => self.bridged(a, b, result),
            Done::DeleteFailed(e) => {
                self.dataplane_errors += 1;
                tracing::warn!(error = %e, "data plane: delete");
            }
        }
    }

    /// Keeps a downed tunnel's socket for [`SOCKET_LINGER`] (released by `step`).
    fn linger(&mut self, tunnel: TunnelId, socket: usize) {
        if let Some(old) = self.lingering.insert(tunnel, socket) {
            self.sockets.release(old);
        }
        self.linger_queue
            .push_back((Instant::now() + SOCKET_LINGER, tunnel));
    }

    /// Releases the lingering sockets whose time is up (all of them at shutdown).
    fn release_lingering(&mut self, now: Instant) {
        while let Some(&(at, t)) = self.linger_queue.front() {
            if at > now {
                break;
            }
            self.linger_queue.pop_front();
            if let Some(i) = self.lingering.remove(&t) {
                self.sockets.release(i);
            }
        }
    }

    /// What the pppd spawner reports for session `key` (local tunnel and session IDs).
    ///
    /// - Started: the session's pppd is recorded (stopped with the session); a session that
    ///   went while its pppd was starting has it stopped at once.
    /// - Failed: the session is cleared (CDN, result 2 "general error", vendor error code).
    /// - Exited: the call is over if that pppd was the session's (CDN, result 1 "loss of
    ///   carrier", as xl2tpd sends).
    fn pppd_report(&mut self, key: (u32, u32), report: crate::pppd::PppdReport) {
        use crate::pppd::PppdReport;
        let (tunnel, session) = (TunnelId(key.0), SessionId(key.1));
        match report {
            PppdReport::Started { pid } => {
                self.pppd_pending = self.pppd_pending.saturating_sub(1);
                self.pppd_running += 1;
                match self.registry.session_mut(tunnel, session) {
                    Some(s) => s.pppd = Some(pid),
                    None => crate::pppd::terminate(pid),
                }
            }
            PppdReport::Failed(e) => {
                self.pppd_pending = self.pppd_pending.saturating_sub(1);
                self.dataplane_errors += 1;
                tracing::error!(tunnel = tunnel.0, session = session.0, error = %e, "pppd");
                let rc = ResultCode {
                    result: result::CDN_GENERAL_ERROR,
                    error: Some(error_code::VENDOR_ERROR),
                    message: Some(format!("{e}").into_bytes()),
                };
                let _ = self.end_session(tunnel, session, rc);
            }
            PppdReport::Exited { pid, how } => {
                self.pppd_running = self.pppd_running.saturating_sub(1);
                self.pppd_exited(tunnel, session, pid, how);
            }
        }
    }

    /// pppd `pid` ended: if it was the session's, the call is over (CDN, result 1 "loss of
    /// carrier", as xl2tpd sends).
    fn pppd_exited(&mut self, tunnel: TunnelId, session: SessionId, pid: u32, how: String) {
        let Some(s) = self
            .registry
            .session_mut(tunnel, session)
            .filter(|s| s.pppd == Some(pid))
        else {
            return;
        };
        s.pppd = None;
        tracing::debug!(tunnel = tunnel.0, session = session.0, %how, "pppd exited");
        let rc = ResultCode {
            result: result::CDN_LOST_CARRIER,
            error: Some(error_code::NO_ERROR),
            message: Some(format!("pppd {how}").into_bytes()),
        };
        let _ = self.end_session(tunnel, session, rc);
    }
}

/// The wildcard address of `peer`'s family, port 0.
fn wildcard(peer: SocketAddr) -> SocketAddr {
    match peer {
        SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
    }
}

pub use report::{describe_down, describe_reason};
