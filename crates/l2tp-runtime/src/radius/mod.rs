//! RADIUS for PPP sessions terminated in this process (issue 12): authentication (RFC 2865),
//! accounting (RFC 2866) and Dynamic Authorization (RFC 5176), around the sans-IO
//! [`l2tp_radius`] client and DAE server.
//!
//! One tokio task ([`start`]) owns the [`l2tp_radius::client::Client`], its UDP socket, the
//! DAE socket and the accounting state of every RADIUS-authenticated session. The
//! [`RadiusHandle`] it returns is the [`Authenticator`] of in-process PPP (the user-space
//! data plane; `ppp = "builtin"` on the kernel data plane): a check
//! sends the task an Access-Request and answers [`AuthAnswer::Later`]; IPCP up, PPP down and
//! the session's removal reach the task as messages (bounded channel; a full channel drops
//! and counts, nothing blocks a session).
//!
//! - **Authentication.** PAP (User-Password), CHAP-MD5 (CHAP-Password + CHAP-Challenge),
//!   MS-CHAPv2 (MS-CHAP-Challenge + MS-CHAP2-Response; the MS-CHAP2-Success's `S=` goes to
//!   the peer), with NAS-IP-Address / NAS-Identifier, NAS-Port (our session ID),
//!   NAS-Port-Type Virtual, Service-Type Framed, Framed-Protocol PPP, Calling-/Called-
//!   Station-Id from the call's AVPs and the RFC 2868 tunnel attributes ([`attrs`]). An
//!   Access-Accept's Framed-IP-Address is given to the peer in IPCP; Session-Timeout,
//!   Acct-Interim-Interval and Class are kept for the session. No answer from any server:
//!   the peer is refused.
//! - **Accounting.** Accounting-On when the task starts, Start at IPCP up, Interim-Update
//!   every Acct-Interim-Interval (else the configured `acct_interim_interval`), Stop when the
//!   session's data plane objects go, with Acct-Session-Time, octets (with Gigawords) and
//!   packets from the session's counters ([`crate::userspace::SessionControl::stats`]: the
//!   L2TP session's on the user-space data plane, `pppN`'s on the kernel one, see module
//!   `kernel_ppp`) and Acct-Terminate-Cause (the first cause heard:
//!   Session-Timeout / Admin-Reset from here; Lost-Carrier (LCP echo) / User-Request (the
//!   peer's LCP Terminate) from PPP; from the driver as [`crate::dataplane::SessionObserver`]:
//!   User-Request for the LAC's CDN or StopCCN, Lost-Carrier for an unanswered control
//!   channel, Admin-Reset for our own close of the session or its tunnel, e.g. `l2tpctl`),
//!   Accounting-Off at [`RadiusHandle::shutdown`]
//!   after a Stop (Admin-Reboot) for every session left. Acct-Session-Id is the task's start
//!   time, 16 random bits and a counter, in hex (20 digits): unique per daemon start, and
//!   across LNS hosts that share an accounting server. Requests wait in the client's
//!   bounded queue while no server answers; drops are counted ([`RadiusMetrics`]).
//! - **Timers.** One binary heap of (deadline, session) entries for Interim-Updates and
//!   Session-Timeouts, checked lazily: no scan over sessions, ever. Session-Timeout ends the
//!   session (PPP Terminate-Request, then the driver's CDN).
//! - **DAE.** Disconnect-Request: sessions found by Acct-Session-Id, Framed-IP-Address,
//!   User-Name or NAS-Port (hash maps), each ended (cause Admin-Reset: LCP Terminate-Request,
//!   then PPP's down makes the driver clear it with a CDN), Disconnect-ACK; none: NAK with
//!   Error-Cause 503. CoA-Request: Session-Timeout (counted from now; 0 removes it) and
//!   Acct-Interim-Interval applied, CoA-ACK; none: NAK 503.

pub mod attrs;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use l2tp_ppp::{AuthRequest, Verdict};
use l2tp_proto::endpoint::DownReason;
use l2tp_radius::client::{
    Client, ClientConfig, ClientEvent, Request, RequestId, Server, ServerKind,
};
use l2tp_radius::dae::{DaeClient, DaeConfig, DaeKind, DaeOutcome, DaeRequest, DaeServer};
use l2tp_radius::dict::{acct_status_type, attr as at, error_cause};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use crate::config::RadiusSection;
use crate::dataplane::SessionStats;
use crate::userspace::{
    AuthAnswer, AuthContext, AuthOutcome, Authenticator, Authorization, SessionControl, SessionUp,
    TerminateCause,
};
use attrs::{AcctIdentity, NasIdentity};

/// Messages queued to the task at most (checks and session events); more are refused
/// (a check is rejected, an event dropped and counted).
const CHANNEL_CAP: usize = 16_384;

/// Longest wait for the last accounting answers at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Largest RADIUS datagram (RFC 2865 §3).
const MAX_DATAGRAM: usize = 4096;

/// Counters of one configured server and kind, for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerMetrics {
    /// The `[radius.server.NAME]` name.
    pub name: String,
    /// `"auth"` or `"acct"`.
    pub kind: &'static str,
    /// Its address and port.
    pub addr: Option<SocketAddr>,
    /// First transmissions (packets).
    pub requests: u64,
    /// Retransmissions.
    pub retransmissions: u64,
    /// Requests that used up their retransmissions here.
    pub timeouts: u64,
    /// Access-Accepts.
    pub accepts: u64,
    /// Access-Rejects (and Challenges, which we refuse).
    pub rejects: u64,
    /// Accounting-Responses.
    pub acct_responses: u64,
    /// Responses dropped (bad authenticator, unmatched, malformed).
    pub dropped_responses: u64,
    /// Whether it is marked dead now.
    pub dead: bool,
}

/// What [`RadiusHandle::metrics`] reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RadiusMetrics {
    /// Per server and kind, in configuration order.
    pub servers: Vec<ServerMetrics>,
    /// Access-Requests that no server answered (the peer was refused).
    pub auth_timeouts: u64,
    /// Accounting requests dropped from the full queue (every kind).
    pub acct_dropped: u64,
    /// Accounting requests waiting for a live server.
    pub acct_queued: u64,
    /// Sessions with accounting running.
    pub sessions: u64,
    /// Session events and checks refused because the task's channel was full.
    pub channel_drops: u64,
    /// DAE requests handled (ACK or NAK after lookup).
    pub dae_requests: u64,
    /// DAE NAKs sent (any Error-Cause).
    pub dae_naks: u64,
    /// DAE datagrams dropped (unknown client, bad authenticator, not a request).
    pub dae_dropped: u64,
}

/// The RADIUS settings the task runs with (from [`RadiusSection`]).
#[derive(Clone)]
pub struct RadiusSettings {
    /// The configuration section.
    pub section: RadiusSection,
    /// Our host name: NAS-Identifier when neither `nas_identifier` nor `nas_ip` is set.
    pub host_name: String,
}

enum Cmd {
    Auth {
        ctx: Arc<AuthContext>,
        req: AuthRequest,
        reply: oneshot::Sender<AuthOutcome>,
    },
    Up(SessionUp),
    Ending(u32, u32, TerminateCause),
    Gone(u32, u32, SessionStats),
    Metrics(oneshot::Sender<RadiusMetrics>),
    Shutdown(oneshot::Sender<()>),
}

/// The running RADIUS task's handle: the [`Authenticator`] of RADIUS sessions, metrics,
/// shutdown. Cheap to clone.
#[derive(Clone)]
pub struct RadiusHandle {
    tx: mpsc::Sender<Cmd>,
    channel_drops: Arc<AtomicU64>,
}

impl RadiusHandle {
    fn post(&self, c: Cmd) -> bool {
        let ok = self.tx.try_send(c).is_ok();
        if !ok {
            self.channel_drops.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    /// The task's counters (`None` when it has stopped).
    pub async fn metrics(&self) -> Option<RadiusMetrics> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Cmd::Metrics(tx)).await.ok()?;
        let mut m = rx.await.ok()?;
        m.channel_drops = self.channel_drops.load(Ordering::Relaxed);
        Some(m)
    }

    /// Clean stop: a Stop (Admin-Reboot) for every session still accounted, then
    /// Accounting-Off; returns once the servers answered them or after 3 s.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Cmd::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

impl crate::dataplane::SessionObserver for RadiusHandle {
    /// The L2TP side of the cause: the LAC's CDN or StopCCN is the user's request, an
    /// unanswered control channel a lost carrier, our own close (of the session or its
    /// tunnel) an administrative reset, a protocol error a NAS error (a cause PPP or RADIUS
    /// recorded first wins).
    fn session_down(&self, tunnel_id: u32, session_id: u32, reason: &DownReason) {
        let cause = match reason {
            DownReason::Peer(_) => TerminateCause::UserRequest,
            DownReason::Timeout => TerminateCause::LostCarrier,
            DownReason::Local(_) | DownReason::TunnelDown => TerminateCause::AdminReset,
            DownReason::Protocol(_) => TerminateCause::NasError,
        };
        self.post(Cmd::Ending(tunnel_id, session_id, cause));
    }
}

impl Authenticator for RadiusHandle {
    fn check(&self, ctx: &Arc<AuthContext>, req: &AuthRequest) -> AuthAnswer {
        let (tx, rx) = oneshot::channel();
        let cmd = Cmd::Auth {
            ctx: ctx.clone(),
            req: req.clone(),
            reply: tx,
        };
        if !self.post(cmd) {
            return AuthAnswer::Now(Verdict::Reject {
                message: "authentication service busy".into(),
            });
        }
        AuthAnswer::Later(Box::pin(async move {
            rx.await.unwrap_or_else(|_| {
                Verdict::Reject {
                    message: "authentication service stopped".into(),
                }
                .into()
            })
        }))
    }

    fn session_up(&self, up: SessionUp) {
        self.post(Cmd::Up(up));
    }

    fn session_ending(&self, tunnel_id: u32, session_id: u32, cause: TerminateCause) {
        self.post(Cmd::Ending(tunnel_id, session_id, cause));
    }

    fn session_gone(&self, tunnel_id: u32, session_id: u32, stats: SessionStats) {
        self.post(Cmd::Gone(tunnel_id, session_id, stats));
    }
}

type Key = (u32, u32);

/// One session's accounting.
struct Acct {
    ctx: Arc<AuthContext>,
    acct_id: String,
    username: String,
    address: Ipv4Addr,
    class: Vec<Vec<u8>>,
    started: Instant,
    interim: Option<Duration>,
    next_interim: Option<Instant>,
    timeout_at: Option<Instant>,
    control: Arc<dyn SessionControl>,
    cause: Option<TerminateCause>,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    Interim,
    SessionTimeout,
}

enum Pending {
    Auth {
        req: AuthRequest,
        reply: oneshot::Sender<AuthOutcome>,
    },
    Acct,
}

struct Task {
    client: Client,
    /// Client server index → metrics slot.
    server_names: Vec<(String, &'static str, SocketAddr)>,
    nas: NasIdentity,
    /// Some server takes accounting (else sessions are still tracked for Session-Timeout
    /// and DAE, and no Accounting-Request is built).
    has_acct: bool,
    default_interim: Option<Duration>,
    pending: HashMap<RequestId, Pending>,
    sessions: HashMap<Key, Acct>,
    by_acct_id: HashMap<String, Key>,
    by_ip: HashMap<Ipv4Addr, Key>,
    /// Sessions by user name and by NAS-Port: sets, so that removing one of many sessions
    /// sharing a name (a shared account) is O(1), not a walk of its list.
    by_user: HashMap<String, HashSet<Key>>,
    by_port: HashMap<u32, HashSet<Key>>,
    timers: BinaryHeap<Reverse<(Instant, Key, TimerKind)>>,
    dae: Option<DaeServer>,
    /// The first 12 hex digits of every Acct-Session-Id this task makes: the start time
    /// (seconds, 8 digits) and 16 random bits (4 digits), so that LNS hosts started in the same
    /// second and sharing one accounting server do not issue the same IDs.
    id_prefix: String,
    id_counter: u32,
    auth_timeouts: u64,
    acct_dropped: u64,
    dae_requests: u64,
    dae_naks: u64,
    dae_dropped: u64,
}

fn unix_now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
}

/// Starts the RADIUS task (inside a tokio runtime): binds the client socket (an ephemeral
/// port on the wildcard address of the servers' family) and the DAE socket, sends
/// Accounting-On.
///
/// # Errors
/// A message naming what failed: servers of both address families, a socket that cannot be
/// bound, a configuration the client refuses (no server of a kind is fine; no server at all
/// is not).
pub async fn start(settings: RadiusSettings) -> Result<RadiusHandle, String> {
    let sec = &settings.section;
    let mut servers = Vec::new();
    let mut server_names = Vec::new();
    for (name, s) in &sec.servers {
        for (port, kind, label) in [
            (s.auth_port, ServerKind::Auth, "auth"),
            (s.acct_port, ServerKind::Acct, "acct"),
        ] {
            if port != 0 {
                let addr = SocketAddr::new(s.address, port);
                servers.push(Server {
                    addr,
                    secret: s.secret.as_bytes().to_vec(),
                    kind,
                });
                server_names.push((name.clone(), label, addr));
            }
        }
    }
    // Responses are told apart by their source address: one address, one server entry.
    let mut seen = std::collections::HashSet::new();
    if let Some(s) = servers.iter().find(|s| !seen.insert(s.addr)) {
        return Err(format!(
            "radius: {} is configured twice (auth_port and acct_port must differ)",
            s.addr
        ));
    }
    let v6 = servers.first().is_some_and(|s| s.addr.is_ipv6());
    if servers.iter().any(|s| s.addr.is_ipv6() != v6) {
        return Err("radius: servers of both IPv4 and IPv6 are not supported".into());
    }
    let has_acct = servers.iter().any(|s| s.kind == ServerKind::Acct);
    let client = Client::new(ClientConfig {
        servers,
        timeout: sec.timeout,
        retries: sec.retries,
        dead_time: sec.dead_time,
        max_outstanding: 4096,
        acct_queue_limit: sec.acct_queue_limit,
    })
    .map_err(|e| format!("radius: {e}"))?;
    let bind: SocketAddr = if v6 {
        "[::]:0".parse().unwrap_or(SocketAddr::from(([0u8; 16], 0)))
    } else {
        SocketAddr::from(([0, 0, 0, 0], 0))
    };
    let socket = UdpSocket::bind(bind)
        .await
        .map_err(|e| format!("radius: client socket {bind}: {e}"))?;
    let nas = NasIdentity {
        ip: sec.nas_ip,
        identifier: sec
            .nas_identifier
            .clone()
            .or_else(|| sec.nas_ip.is_none().then(|| settings.host_name.clone())),
    };
    let (dae, dae_socket) = match sec.dae_listen {
        None => (None, None),
        Some(addr) => {
            let server = DaeServer::new(DaeConfig {
                clients: sec
                    .dae_clients
                    .iter()
                    .map(|(_, c)| DaeClient {
                        addr: c.address,
                        secret: c.secret.as_bytes().to_vec(),
                    })
                    .collect(),
                event_timestamp_window: None,
                nas_ip_address: sec.nas_ip,
                nas_identifier: sec.nas_identifier.as_ref().map(|s| s.as_bytes().to_vec()),
            })
            .map_err(|e| format!("radius: dae: {e}"))?;
            let s = UdpSocket::bind(addr)
                .await
                .map_err(|e| format!("radius: dae_listen {addr}: {e}"))?;
            (Some(server), Some(s))
        }
    };
    let (tx, rx) = mpsc::channel(CHANNEL_CAP);
    let mut task = Task {
        client,
        server_names,
        nas,
        has_acct,
        default_interim: sec.acct_interim_interval,
        pending: HashMap::new(),
        sessions: HashMap::new(),
        by_acct_id: HashMap::new(),
        by_ip: HashMap::new(),
        by_user: HashMap::new(),
        by_port: HashMap::new(),
        timers: BinaryHeap::new(),
        dae,
        id_prefix: format!("{:08X}{:04X}", unix_now(), rand::random::<u16>()),
        id_counter: 0,
        auth_timeouts: 0,
        acct_dropped: 0,
        dae_requests: 0,
        dae_naks: 0,
        dae_dropped: 0,
    };
    if has_acct {
        let id = format!("{}{:08X}", task.id_prefix, 0);
        let a =
            attrs::accounting_on_off(acct_status_type::ACCOUNTING_ON, &task.nas, &id, unix_now());
        task.send(Instant::now(), Request::accounting(a), Pending::Acct);
    }
    tokio::spawn(task.run(rx, socket, dae_socket));
    Ok(RadiusHandle {
        tx,
        channel_drops: Arc::new(AtomicU64::new(0)),
    })
}

async fn recv(s: &Option<UdpSocket>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match s {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

impl Task {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Cmd>,
        socket: UdpSocket,
        dae_socket: Option<UdpSocket>,
    ) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut dbuf = vec![0u8; MAX_DATAGRAM];
        let mut shutdown: Option<(oneshot::Sender<()>, Instant)> = None;
        loop {
            // What the last step queued (the Accounting-On at the first turn) goes out now.
            self.flush(&socket).await;
            if let Some((_, until)) = &shutdown {
                let (_, acct_waiting) = self.client.queued();
                let done = self.client.in_flight() == 0 && acct_waiting == 0;
                if done || Instant::now() >= *until {
                    if let Some((reply, _)) = shutdown.take() {
                        let _ = reply.send(());
                    }
                    return;
                }
            }
            let deadline = [
                self.client.poll_timeout(),
                self.timers.peek().map(|Reverse((t, _, _))| *t),
                shutdown.as_ref().map(|(_, t)| *t),
            ]
            .into_iter()
            .flatten()
            .min();
            let sleep = async {
                match deadline {
                    Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                c = rx.recv() => match c {
                    None => return,
                    Some(Cmd::Shutdown(reply)) => {
                        self.stop_all(Instant::now());
                        shutdown = Some((reply, Instant::now() + SHUTDOWN_GRACE));
                    }
                    Some(c) => self.command(c),
                },
                r = socket.recv_from(&mut buf) => {
                    if let Ok((n, from)) = r {
                        if let Some(d) = buf.get(..n) {
                            self.client.handle_datagram(Instant::now(), from, d);
                        }
                    }
                }
                r = recv(&dae_socket, &mut dbuf) => {
                    if let (Ok((n, from)), Some(s)) = (r, &dae_socket) {
                        if let Some(reply) = dbuf.get(..n).and_then(|d| self.dae(from, d)) {
                            let _ = s.send_to(&reply, from).await;
                        }
                    }
                }
                _ = sleep => {
                    let now = Instant::now();
                    self.client.handle_timeout(now);
                    self.fire_timers(now);
                }
            }
        }
    }

    /// Sends what the client queued, acts on its events. (`send_to` waits for the socket's
    /// readiness: a UDP send seldom blocks, and `try_send_to` refuses a socket whose
    /// writability tokio has not yet seen.)
    async fn flush(&mut self, socket: &UdpSocket) {
        while let Some((to, d)) = self.client.poll_transmit() {
            if let Err(e) = socket.send_to(&d, to).await {
                tracing::debug!(server = %to, error = %e, "RADIUS send failed (retransmission follows)");
            }
        }
        while let Some(ev) = self.client.poll_event() {
            match ev {
                ClientEvent::Response { id, packet, .. } => match self.pending.remove(&id) {
                    Some(Pending::Auth { req, reply }) => {
                        let o = attrs::outcome(&packet, &req);
                        if let Verdict::Reject { message } = &o.verdict {
                            tracing::info!(user = %String::from_utf8_lossy(req.username()), %message, "RADIUS: access rejected");
                        }
                        let _ = reply.send(o);
                    }
                    Some(Pending::Acct) | None => {}
                },
                ClientEvent::Timeout { id } => {
                    self.auth_timeouts += 1;
                    if let Some(Pending::Auth { req, reply }) = self.pending.remove(&id) {
                        tracing::warn!(user = %String::from_utf8_lossy(req.username()), "RADIUS: no server answered the Access-Request; refusing the peer");
                        let _ = reply.send(
                            Verdict::Reject {
                                message: "authentication server not responding".into(),
                            }
                            .into(),
                        );
                    }
                }
                ClientEvent::Dropped { id } => {
                    self.acct_dropped += 1;
                    self.pending.remove(&id);
                }
            }
        }
    }

    fn send(&mut self, now: Instant, req: Request, p: Pending) {
        if matches!(p, Pending::Acct) && !self.has_acct {
            return;
        }
        match self.client.send(now, req) {
            Ok(id) => {
                self.pending.insert(id, p);
            }
            Err(e) => {
                tracing::warn!(error = %e, "RADIUS request not sent");
                if let Pending::Auth { reply, .. } = p {
                    let _ = reply.send(
                        Verdict::Reject {
                            message: "authentication request failed".into(),
                        }
                        .into(),
                    );
                }
            }
        }
    }

    fn command(&mut self, c: Cmd) {
        let now = Instant::now();
        match c {
            Cmd::Auth { ctx, req, reply } => match attrs::access_request(&self.nas, &ctx, &req) {
                Some(a) => self.send(now, Request::access(a), Pending::Auth { req, reply }),
                None => {
                    let _ = reply.send(
                        Verdict::Reject {
                            message: "credentials too long for RADIUS".into(),
                        }
                        .into(),
                    );
                }
            },
            Cmd::Up(up) => self.start_session(now, up),
            Cmd::Ending(t, s, cause) => {
                // Only sessions with accounting running care (PPP down before IPCP up has
                // nothing to stop).
                if let Some(a) = self.sessions.get_mut(&(t, s)) {
                    a.cause.get_or_insert(cause);
                }
            }
            Cmd::Gone(t, s, stats) => {
                if let Some(a) = self.remove((t, s)) {
                    let cause = a.cause.unwrap_or(TerminateCause::UserRequest);
                    self.stop(now, &a, &stats, cause);
                }
            }
            Cmd::Metrics(reply) => {
                let _ = reply.send(self.metrics(now));
            }
            Cmd::Shutdown(_) => {}
        }
    }

    fn start_session(&mut self, now: Instant, up: SessionUp) {
        let key = (up.context.tunnel_id, up.context.session_id);
        self.id_counter = self.id_counter.wrapping_add(1);
        let acct_id = format!("{}{:08X}", self.id_prefix, self.id_counter);
        let Authorization {
            session_timeout,
            interim_interval,
            class,
            ..
        } = up.authorization;
        let interim = interim_interval.or(self.default_interim);
        let a = Acct {
            ctx: up.context,
            acct_id: acct_id.clone(),
            username: up.username,
            address: up.address,
            class,
            started: now,
            interim,
            next_interim: interim.map(|i| now + i),
            timeout_at: session_timeout.map(|t| now + t),
            control: up.control,
            cause: None,
        };
        if let Some(t) = a.next_interim {
            self.timers.push(Reverse((t, key, TimerKind::Interim)));
        }
        if let Some(t) = a.timeout_at {
            self.timers
                .push(Reverse((t, key, TimerKind::SessionTimeout)));
        }
        let attrs = attrs::accounting(
            acct_status_type::START,
            &self.nas,
            &a.ctx,
            &self.identity(&a),
            unix_now(),
            None,
            None,
        );
        tracing::info!(user = %a.username, session_id = %acct_id, address = %a.address, "RADIUS accounting start");
        self.send(now, Request::accounting(attrs), Pending::Acct);
        // A session that somehow came up twice: the older entry's Stop first.
        if let Some(old) = self.remove(key) {
            let st = old.control.stats().unwrap_or_default();
            self.stop(now, &old, &st, TerminateCause::NasError);
        }
        self.by_acct_id.insert(acct_id, key);
        self.by_ip.insert(a.address, key);
        self.by_user
            .entry(a.username.clone())
            .or_default()
            .insert(key);
        self.by_port.entry(key.1).or_default().insert(key);
        self.sessions.insert(key, a);
    }

    fn identity<'a>(&self, a: &'a Acct) -> AcctIdentity<'a> {
        AcctIdentity {
            session_id: &a.acct_id,
            username: &a.username,
            address: a.address,
            class: &a.class,
        }
    }

    /// Takes a session out of the table and the indexes.
    fn remove(&mut self, key: Key) -> Option<Acct> {
        let a = self.sessions.remove(&key)?;
        self.by_acct_id.remove(&a.acct_id);
        if self.by_ip.get(&a.address) == Some(&key) {
            self.by_ip.remove(&a.address);
        }
        if let Some(v) = self.by_user.get_mut(&a.username) {
            v.remove(&key);
            if v.is_empty() {
                self.by_user.remove(&a.username);
            }
        }
        if let Some(v) = self.by_port.get_mut(&key.1) {
            v.remove(&key);
            if v.is_empty() {
                self.by_port.remove(&key.1);
            }
        }
        Some(a)
    }

    fn stop(&mut self, now: Instant, a: &Acct, stats: &SessionStats, cause: TerminateCause) {
        let time = now.saturating_duration_since(a.started);
        let attrs = attrs::accounting(
            acct_status_type::STOP,
            &self.nas,
            &a.ctx,
            &self.identity(a),
            unix_now(),
            Some((time, stats)),
            Some(cause.code()),
        );
        tracing::info!(user = %a.username, session_id = %a.acct_id, ?cause, secs = time.as_secs(), rx_bytes = stats.rx_bytes, tx_bytes = stats.tx_bytes, "RADIUS accounting stop");
        self.send(now, Request::accounting(attrs), Pending::Acct);
    }

    /// Shutdown: a Stop (Admin-Reboot) for every session, then Accounting-Off.
    fn stop_all(&mut self, now: Instant) {
        let keys: Vec<Key> = self.sessions.keys().copied().collect();
        for k in keys {
            if let Some(a) = self.remove(k) {
                let st = a.control.stats().unwrap_or_default();
                let cause = a.cause.unwrap_or(TerminateCause::AdminReboot);
                self.stop(now, &a, &st, cause);
            }
        }
        if self.has_acct {
            let id = format!("{}{:08X}", self.id_prefix, 0);
            let a = attrs::accounting_on_off(
                acct_status_type::ACCOUNTING_OFF,
                &self.nas,
                &id,
                unix_now(),
            );
            self.send(now, Request::accounting(a), Pending::Acct);
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(Reverse((t, key, kind))) = self.timers.peek().copied() {
            if t > now {
                break;
            }
            self.timers.pop();
            let Some(a) = self.sessions.get_mut(&key) else {
                continue;
            };
            match kind {
                TimerKind::Interim if a.next_interim == Some(t) => {
                    let next = a.interim.map(|i| t + i.max(Duration::from_secs(1)));
                    a.next_interim = next;
                    if let Some(n) = next {
                        self.timers.push(Reverse((n, key, TimerKind::Interim)));
                    }
                    let Some(a) = self.sessions.get(&key) else {
                        continue;
                    };
                    let st = a.control.stats().unwrap_or_default();
                    let attrs = attrs::accounting(
                        acct_status_type::INTERIM_UPDATE,
                        &self.nas,
                        &a.ctx,
                        &self.identity(a),
                        unix_now(),
                        Some((now.saturating_duration_since(a.started), &st)),
                        None,
                    );
                    self.send(now, Request::accounting(attrs), Pending::Acct);
                }
                TimerKind::SessionTimeout if a.timeout_at == Some(t) => {
                    a.timeout_at = None;
                    a.cause.get_or_insert(TerminateCause::SessionTimeout);
                    tracing::info!(user = %a.username, session_id = %a.acct_id, "RADIUS Session-Timeout: ending the session");
                    a.control.terminate("Session-Timeout");
                }
                _ => {} // superseded
            }
        }
    }

    fn metrics(&self, now: Instant) -> RadiusMetrics {
        let servers = self
            .server_names
            .iter()
            .enumerate()
            .map(|(i, (name, kind, addr))| {
                let c = self.client.server_counters(i).copied().unwrap_or_default();
                ServerMetrics {
                    name: name.clone(),
                    kind,
                    addr: Some(*addr),
                    requests: c.requests,
                    retransmissions: c.retransmissions,
                    timeouts: c.timeouts,
                    accepts: c.accepts,
                    rejects: c.rejects + c.challenges,
                    acct_responses: c.acct_responses,
                    dropped_responses: c.bad_authenticators + c.unmatched + c.malformed,
                    dead: self.client.is_dead(i, now),
                }
            })
            .collect();
        RadiusMetrics {
            servers,
            auth_timeouts: self.auth_timeouts,
            acct_dropped: self.acct_dropped,
            acct_queued: self.client.queued().1 as u64,
            sessions: self.sessions.len() as u64,
            channel_drops: 0,
            dae_requests: self.dae_requests,
            dae_naks: self.dae_naks,
            dae_dropped: self.dae_dropped,
        }
    }
}

mod dae;
#[cfg(test)]
mod tests;
