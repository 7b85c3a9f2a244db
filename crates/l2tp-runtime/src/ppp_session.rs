//! PPP terminated in this process, whatever carries its frames: the session loop that drives
//! one sans-IO [`l2tp_ppp::Ppp`] per session, shared by the user-space data plane (frames in
//! L2TP data messages it builds itself, IP through a TUN device: `userspace::ppp`) and the
//! kernel data plane with `ppp = "builtin"` (frames through the session's `/dev/ppp` channel,
//! IP through a `pppN` unit: `kernel_ppp`).
//!
//! What differs between the two is behind [`PppIo`]: how control frames arrive (the path's
//! own I/O, waited for in [`PppIo::io`]), how one is sent, what "IPCP up" does to the
//! interface. What is the same is here:
//! - the task waits on the engine's next timer, a wake-up ([`Notify`]: a control frame was
//!   fed, a verdict arrived) and the path's I/O; then sends what the engine queued and acts
//!   on its events;
//! - `Authenticate` asks the [`Authenticator`] (at once or later: a stale verdict, one for a
//!   request LCP renegotiation has overtaken, is dropped); `IpcpUp` configures the interface
//!   and reports [`DataPlaneEvent::PppUp`]; `Ipv6cpUp` gives the interface its link-local
//!   address and lets IPv6 pass; `AuthFailed` reports [`DataPlaneEvent::PppAuthFailed`]
//!   (counted by method); `Down` reports [`DataPlaneEvent::SessionFailed`], which makes the
//!   driver clear the session with a CDN;
//! - after each wake-up, the link's automata ([`l2tp_ppp::Ppp::automata`], no allocation) and
//!   the authentication's progress are compared with what was last reported: a change is
//!   reported as [`DataPlaneEvent::PppPhase`] (what `show` prints), so `show` costs nothing
//!   per session and each session sends a handful of these in its life.
//!
//! [`PppFactory`] builds a session's engine from its `ppp_*` settings (address pools, the
//! parsed secrets files, an optional shared authenticator), for both data planes.

use std::collections::HashMap;
use std::future::Future;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use l2tp_ppp::fsm::State;
use l2tp_ppp::{classify, Event, Frame, Ppp, Role, Verdict};
use tokio::sync::{mpsc, Notify};

use crate::config::PppAuthSource;
use crate::dataplane::{
    AuthProgress, DataPlaneError, DataPlaneEvent, PppPhase, SessionSpec, SessionStats,
};
use crate::userspace::{
    printable_class, AddressPool, AuthAnswer, AuthContext, AuthOutcome, Authenticator,
    Authorization, Lease, SecretsAuthenticator, SessionControl, SessionUp, TerminateCause,
};

/// How long a session ended by its authenticator (Session-Timeout, Disconnect-Request) waits
/// for the peer's LCP Terminate-Ack before the driver clears it regardless.
const TERMINATE_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// The server name PPP secrets are looked up with (the secrets file's second field matches
/// it, or `*`).
pub const PPP_SERVER_NAME: &str = "l2tp-rs";

/// What the shared session loop needs from the path carrying a PPP session's frames.
pub(crate) trait PppIo: Send + Sync + 'static {
    /// The session's PPP state (`None`: not a PPP path; the loop returns at once).
    fn link(&self) -> Option<&PppLink>;

    /// Waits for the path's own I/O and handles what is ready (received control frames are
    /// fed with [`PppLink::control_input`]; the user-space path also forwards IP from its TUN
    /// device once `ip_up`). An error ends the loop (the device or channel is gone).
    fn io(&self, ip_up: bool) -> impl Future<Output = std::io::Result<()>> + Send;

    /// Sends one frame the engine queued: Protocol field first, no Address and Control.
    fn send_frame(&self, frame: &[u8]);

    /// IPCP is up: configures the interface as `up` says (see [`configure_ptp`]) and lets
    /// IPv4 pass. The error says what failed; the session is then cleared.
    fn ipcp_up(&self, up: IpcpUp) -> impl Future<Output = Result<(), String>> + Send;

    /// IPCP went down (the link may come back): IPv4 stops passing.
    fn ipcp_down(&self) {}

    /// IPV6CP is up: gives the interface `fe80::<local_id>/64` (our interface identifier,
    /// RFC 5072 §5), an MTU of at most `peer_mru` (bytes), and lets IPv6 pass. The error says
    /// what failed; IPv6 then stays blocked (IPv4 is not affected).
    fn ipv6cp_up(
        &self,
        local_id: u64,
        peer_mru: u16,
    ) -> impl Future<Output = Result<(), String>> + Send {
        let _ = (local_id, peer_mru);
        async { Err("IPv6 is not supported on this path".to_string()) }
    }

    /// IPV6CP went down: IPv6 stops passing.
    fn ipv6cp_down(&self) {}

    /// The session's data counters, for accounting (`None`: this path does not count them).
    fn stats(&self) -> Option<SessionStats> {
        None
    }
}

/// A PPP session's handle for its authenticator (accounting, Session-Timeout, Disconnect):
/// counters read from the path, termination through its PPP engine. Weak: the session's
/// removal is not delayed by the authenticator holding it.
struct LinkControl<P>(std::sync::Weak<P>);

impl<P: PppIo> SessionControl for LinkControl<P> {
    fn stats(&self) -> Option<SessionStats> {
        self.0.upgrade()?.stats()
    }

    /// LCP Terminate-Request now; if the session is still there [`TERMINATE_GRACE`] later
    /// (the peer did not acknowledge), the driver is told to clear it anyway.
    fn terminate(&self, reason: &str) {
        let Some(path) = self.0.upgrade() else {
            return;
        };
        let Some(link) = path.link() else {
            return;
        };
        link.close(reason);
        let weak = self.0.clone();
        let reason = format!("{reason} (no LCP Terminate-Ack)");
        tokio::spawn(async move {
            tokio::time::sleep(TERMINATE_GRACE).await;
            if let Some(path) = weak.upgrade() {
                if let Some(link) = path.link() {
                    link.fail(reason).await;
                }
            }
        });
    }
}

/// One session's PPP state, shared by whoever feeds it control frames (the socket readers,
/// or the path's own reader) and the session task (everything else).
pub(crate) struct PppLink {
    pub(crate) engine: Mutex<Ppp>,
    notify: Notify,
    /// IPCP is open: IPv4 passes in both directions.
    pub(crate) ipv4_up: AtomicBool,
    /// IPV6CP is open and the interface has its link-local address: IPv6 passes.
    pub(crate) ipv6_up: AtomicBool,
    /// A frame from the peer has arrived (the LAC's early retransmission is done).
    heard: AtomicBool,
    /// Bumped by each `Authenticate` and `LinkUp` event: a verdict that arrives later
    /// applies only if no newer request (or LCP renegotiation) came meanwhile.
    auth_gen: AtomicU64,
    role: Role,
    tunnel_id: u32,
    session_id: u32,
    authenticator: Option<Arc<dyn Authenticator>>,
    /// The session, for the authenticator.
    context: Arc<AuthContext>,
    /// What the authenticator's accepting verdict authorized, until IPCP is up.
    authorization: Mutex<Option<Authorization>>,
    events: mpsc::Sender<DataPlaneEvent>,
}

impl PppLink {
    pub(crate) fn new(
        engine: Ppp,
        role: Role,
        (tunnel_id, session_id): (u32, u32),
        authenticator: Option<Arc<dyn Authenticator>>,
        context: Arc<AuthContext>,
        events: mpsc::Sender<DataPlaneEvent>,
    ) -> Self {
        let notify = Notify::new();
        // The engine queued its first Configure-Request: the task sends it at once.
        notify.notify_one();
        PppLink {
            engine: Mutex::new(engine),
            notify,
            ipv4_up: AtomicBool::new(false),
            ipv6_up: AtomicBool::new(false),
            heard: AtomicBool::new(false),
            auth_gen: AtomicU64::new(0),
            role,
            tunnel_id,
            session_id,
            authenticator,
            context,
            authorization: Mutex::new(None),
            events,
        }
    }

    /// The authenticator that checked (LNS) this session, if any.
    /// (Tunnel ID, Session ID) of the session, host order.
    pub(crate) fn key(&self) -> (u32, u32) {
        (self.tunnel_id, self.session_id)
    }

    pub(crate) fn authenticator(&self) -> Option<&Arc<dyn Authenticator>> {
        self.authenticator.as_ref()
    }

    /// Ends the link from our side (LCP Terminate-Request with `reason`); the session task
    /// reports the `Down` that follows.
    pub(crate) fn close(&self, reason: &str) {
        if let Ok(mut e) = self.engine.lock() {
            e.close(Instant::now(), reason);
        }
        self.notify.notify_one();
    }

    /// A received PPP frame (after the L2TP header): the IPv4 or IPv6 datagram to write to
    /// the TUN device, or `None` when the frame was the engine's (or dropped: IPv4 before
    /// IPCP is open, IPv6 before IPV6CP is). No allocation for datagrams.
    pub(crate) fn input<'a>(&self, frame: &'a [u8]) -> Option<&'a [u8]> {
        match classify(frame) {
            Frame::Ipv4(d) if self.ipv4_up.load(Ordering::Relaxed) => Some(d),
            Frame::Ipv6(d) if self.ipv6_up.load(Ordering::Relaxed) => Some(d),
            Frame::Ipv4(_) | Frame::Ipv6(_) => None,
            Frame::Control => {
                self.control_input(frame);
                None
            }
        }
    }

    /// A received control frame (LCP, authentication, NCP; `FF 03` in front or not, the
    /// Protocol field compressed or not): fed to the engine, and the session task woken.
    pub(crate) fn control_input(&self, frame: &[u8]) {
        tracing::trace!(session = self.session_id, frame = ?frame.get(..8), "PPP control frame in");
        if let Ok(mut e) = self.engine.lock() {
            e.handle_frame(Instant::now(), frame);
            // One end's session comes up (and sends its first LCP Configure-Request)
            // before the other has made its own, which drops it as for an unknown
            // session: at the peer's first frame, while our request is unacknowledged (only
            // its Restart timer runs), send ours again now instead of after the
            // Restart timer (3 s). A duplicate Ack is discarded by the automaton.
            if !self.heard.swap(true, Ordering::Relaxed) {
                let lcp = e.state().lcp;
                if matches!(lcp, State::ReqSent | State::AckSent) {
                    if let Some(t) = e.poll_timeout() {
                        e.handle_timeout(t);
                    }
                }
            }
        }
        self.notify.notify_one();
    }
}

impl PppLink {
    /// Reports the session failed (the driver clears it with a CDN); `reason` says why.
    pub(crate) async fn fail(&self, reason: String) {
        let _ = self
            .events
            .send(DataPlaneEvent::SessionFailed {
                tunnel_id: self.tunnel_id,
                session_id: self.session_id,
                reason,
            })
            .await;
    }
}

/// The PPP session's task (see the module documentation). Ends when PPP is down (the
/// driver then deletes the session), the path's I/O fails, or the session is deleted
/// (aborted).
pub(crate) async fn run<P: PppIo>(path: Arc<P>) {
    let Some(link) = path.link() else {
        return;
    };
    let mut username: Option<String> = None;
    let mut addresses: Option<(Ipv4Addr, Ipv4Addr)> = None;
    let mut frames = Vec::new();
    let mut events = Vec::new();
    // What was last reported for `show`, and the authentication's progress (from events).
    let mut reported: Option<PppPhase> = None;
    let mut auth: Option<AuthProgress> = None;
    loop {
        let deadline = link.engine.lock().ok().and_then(|e| e.poll_timeout());
        let sleep = async {
            match deadline {
                Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                None => std::future::pending().await,
            }
        };
        let ip_up = link.ipv4_up.load(Ordering::Relaxed) || link.ipv6_up.load(Ordering::Relaxed);
        tokio::select! {
            r = path.io(ip_up) => {
                if let Err(e) = r {
                    tracing::debug!(
                        tunnel = link.tunnel_id,
                        session = link.session_id,
                        error = %e,
                        "PPP path failed; session task ends"
                    );
                    return;
                }
                continue;
            }
            _ = sleep => {
                if let Ok(mut e) = link.engine.lock() {
                    e.handle_timeout(Instant::now());
                }
            }
            _ = link.notify.notified() => {}
        }
        let mut automata = None;
        if let Ok(mut e) = link.engine.lock() {
            while let Some(f) = e.poll_transmit() {
                frames.push(f);
            }
            while let Some(ev) = e.poll_event() {
                events.push(ev);
            }
            automata = Some(e.automata());
        }
        for f in frames.drain(..) {
            tracing::trace!(session = link.session_id, frame = ?f.get(..6), "PPP control frame out");
            path.send_frame(&f);
        }
        for ev in std::mem::take(&mut events) {
            auth = match &ev {
                Event::LinkUp => None,
                Event::Authenticate(_) => Some(AuthProgress::Running),
                Event::Authenticated { .. } => Some(AuthProgress::Ok),
                Event::AuthFailed { .. } => Some(AuthProgress::Failed),
                _ => auth,
            };
            if !on_event(&path, link, ev, &mut username, &mut addresses).await {
                return;
            }
        }
        if let Some(a) = automata {
            let phase = phase_of(&a, auth);
            if reported != Some(phase) {
                reported = Some(phase);
                let _ = link
                    .events
                    .send(DataPlaneEvent::PppPhase {
                        tunnel_id: link.tunnel_id,
                        session_id: link.session_id,
                        phase,
                    })
                    .await;
            }
        }
    }
}

/// What `show` reports of a link: its automata, and the authentication's progress as the
/// events told it (`running` while in the Authenticate phase before any verdict: the LAC
/// gets no `Authenticate` event).
fn phase_of(a: &l2tp_ppp::Automata, auth: Option<AuthProgress>) -> PppPhase {
    let auth = match auth {
        None if a.phase == l2tp_ppp::Phase::Authenticate => Some(AuthProgress::Running),
        other => other,
    };
    PppPhase {
        lcp: a.lcp,
        auth_method: a.auth,
        auth,
        ipcp: a.ipcp,
        ipv6cp: a.ipv6cp,
    }
}

/// What IPCP up asks of a path's interface (kept by the session loop, so that neither path
/// tracks it): our address, the peer's, the addresses an earlier IPCP gave the interface if
/// they differ, and the peer's LCP MRU (bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IpcpUp {
    pub(crate) local: Ipv4Addr,
    pub(crate) peer: Ipv4Addr,
    /// (local, peer) of an earlier IPCP up that gave other addresses: taken off first.
    pub(crate) replaces: Option<(Ipv4Addr, Ipv4Addr)>,
    pub(crate) peer_mru: u16,
}

/// The rtnetlink side of IPCP up on interface `index`, for both paths (blocking; two or three
/// requests by index, O(1) however many interfaces the host has): the addresses `up`
/// replaces are taken off (a failure leaves a stale address, not a broken link), our address
/// goes on with the peer's as point-to-point destination (/32; already there: kept), and the
/// link comes up with an MTU of min(`mtu`, the peer's MRU) bytes, as pppd sets it.
///
/// # Errors
/// The kernel's refusal of the address or of the link change.
pub(crate) fn configure_ptp(index: u32, up: IpcpUp, mtu: u32) -> Result<(), l2tp_kernel::Error> {
    use l2tp_kernel::rtnl;
    if let Some((l, p)) = up.replaces {
        let _ = rtnl::del_ptp_address(index, l, p);
    }
    match rtnl::add_ptp_address(index, up.local, up.peer) {
        Ok(()) | Err(l2tp_kernel::Error::Exists { .. }) => {}
        Err(e) => return Err(e),
    }
    rtnl::set_link_up(index, true, Some(mtu.min(u32::from(up.peer_mru))))
}

/// The peer's MRU as LCP negotiated it (bytes; 1500 when the engine cannot be read).
fn peer_mru(link: &PppLink) -> u16 {
    link.engine
        .lock()
        .map_or(l2tp_ppp::wire::DEFAULT_MRU, |e| e.peer_mru())
}

/// Acts on one engine event; `false` when the link is finished.
/// `addresses`: what the last IPCP up gave the interface (local, peer).
async fn on_event<P: PppIo>(
    path: &Arc<P>,
    link: &PppLink,
    ev: Event,
    username: &mut Option<String>,
    addresses: &mut Option<(Ipv4Addr, Ipv4Addr)>,
) -> bool {
    let (t, s) = (link.tunnel_id, link.session_id);
    match ev {
        Event::Authenticate(req) => {
            let gen = link.auth_gen.fetch_add(1, Ordering::Relaxed) + 1;
            let answer = match &link.authenticator {
                Some(a) => a.check(&link.context, &req),
                None => AuthAnswer::Now(Verdict::Reject {
                    message: "no authenticator configured".into(),
                }),
            };
            match answer {
                AuthAnswer::Now(v) => verdict(link, v.into()),
                AuthAnswer::Later(f) => {
                    let path = path.clone();
                    tokio::spawn(async move {
                        let v = f.await;
                        match path.link() {
                            Some(link) if link.auth_gen.load(Ordering::Relaxed) == gen => {
                                verdict(link, v)
                            }
                            _ => tracing::debug!(
                                tunnel = t,
                                session = s,
                                "stale PPP verdict dropped"
                            ),
                        }
                    });
                }
            }
        }
        Event::Authenticated { username: u } => {
            tracing::debug!(tunnel = t, session = s, user = %u, "PPP authenticated");
            *username = Some(u);
        }
        Event::AuthFailed {
            method,
            username: u,
            message,
        } => {
            tracing::info!(tunnel = t, session = s, ?method, user = %u, %message, "PPP authentication failed");
            let _ = link
                .events
                .send(DataPlaneEvent::PppAuthFailed {
                    tunnel_id: t,
                    session_id: s,
                    method,
                })
                .await;
        }
        Event::IpcpUp { local, peer, .. } => {
            let up = IpcpUp {
                local,
                peer,
                replaces: addresses.filter(|&a| a != (local, peer)),
                peer_mru: peer_mru(link),
            };
            if let Err(e) = path.ipcp_up(up).await {
                let reason = format!("interface address {local} peer {peer}: {e}");
                let _ = link
                    .events
                    .send(DataPlaneEvent::SessionFailed {
                        tunnel_id: t,
                        session_id: s,
                        reason,
                    })
                    .await;
                return false;
            }
            *addresses = Some((local, peer));
            link.ipv4_up.store(true, Ordering::Relaxed);
            let address = match link.role {
                Role::Authenticator => peer,
                Role::Peer => local,
            };
            let authorization = link.authorization.lock().ok().and_then(|mut a| a.take());
            let class = authorization
                .as_ref()
                .and_then(|a| a.class.first())
                .map(|c| printable_class(c));
            if let (Some(a), Role::Authenticator, Some(authz)) =
                (&link.authenticator, link.role, authorization)
            {
                a.session_up(SessionUp {
                    context: link.context.clone(),
                    username: username.clone().unwrap_or_default(),
                    address: peer,
                    authorization: authz,
                    control: Arc::new(LinkControl(Arc::downgrade(path))),
                });
            }
            let _ = link
                .events
                .send(DataPlaneEvent::PppUp {
                    tunnel_id: t,
                    session_id: s,
                    username: username.clone(),
                    address: Some(address),
                    class,
                })
                .await;
        }
        Event::NetworkDown { protocol } => {
            if protocol == l2tp_ppp::wire::PROTO_IPCP {
                link.ipv4_up.store(false, Ordering::Relaxed);
                path.ipcp_down();
            } else if protocol == l2tp_ppp::wire::PROTO_IPV6CP {
                link.ipv6_up.store(false, Ordering::Relaxed);
                path.ipv6cp_down();
            }
        }
        Event::Down { reason } => {
            link.ipv4_up.store(false, Ordering::Relaxed);
            link.ipv6_up.store(false, Ordering::Relaxed);
            if let (Some(a), Role::Authenticator) = (&link.authenticator, link.role) {
                a.session_ending(t, s, TerminateCause::from_ppp_reason(&reason));
            }
            let _ = link
                .events
                .send(DataPlaneEvent::SessionFailed {
                    tunnel_id: t,
                    session_id: s,
                    reason,
                })
                .await;
            return false;
        }
        Event::LinkUp => {
            link.auth_gen.fetch_add(1, Ordering::Relaxed);
        }
        Event::Ipv6cpUp { local_id, peer_id } => {
            match path.ipv6cp_up(local_id, peer_mru(link)).await {
                Ok(()) => {
                    link.ipv6_up.store(true, Ordering::Relaxed);
                    tracing::debug!(
                        tunnel = t,
                        session = s,
                        local = %l2tp_kernel::rtnl::link_local_v6(local_id),
                        peer = %l2tp_kernel::rtnl::link_local_v6(peer_id),
                        "IPV6CP up"
                    );
                }
                // IPv4 may still be fine: IPv6 stays blocked, the session stays.
                Err(e) => {
                    tracing::warn!(tunnel = t, session = s, error = %e, "IPV6CP up but IPv6 not configured")
                }
            }
        }
    }
    true
}

/// Applies a verdict: an accepted peer's assigned address goes to IPCP first, and the
/// authorization is kept for the accounting start at IPCP up.
fn verdict(link: &PppLink, o: AuthOutcome) {
    if let Ok(mut e) = link.engine.lock() {
        if matches!(o.verdict, Verdict::Accept { .. }) {
            if let Some(ip) = o.authorization.framed_ip {
                e.set_ipcp_peer_address(ip);
            }
            if let Ok(mut a) = link.authorization.lock() {
                *a = Some(o.authorization);
            }
        }
        e.auth_verdict(Instant::now(), o.verdict);
    }
    link.notify.notify_one();
}

/// What a new PPP session gets from [`PppFactory::engine`].
pub(crate) struct NewEngine {
    pub(crate) engine: Ppp,
    pub(crate) role: Role,
    pub(crate) authenticator: Option<Arc<dyn Authenticator>>,
    /// LNS: the peer's address, back to its pool when dropped (the session goes).
    pub(crate) lease: Option<Lease>,
}

/// Builds PPP engines from sessions' `ppp_*` settings, with what sessions share: address
/// pools (one per configured range), parsed secrets files, an authenticator that replaces
/// them (RADIUS, say).
#[derive(Default)]
pub(crate) struct PppFactory {
    /// PPP address pools, one per configured range.
    pools: HashMap<(Ipv4Addr, Ipv4Addr), Arc<Mutex<AddressPool>>>,
    /// Checks PPP credentials instead of each session's `ppp_secrets` file, when set.
    pub(crate) authenticator: Option<Arc<dyn Authenticator>>,
    /// Parsed `ppp_secrets` files, re-read only when they change.
    secrets: SecretsCache,
}

impl PppFactory {
    /// Addresses of the pool `first..=last` in use (0 when no session used that pool).
    pub(crate) fn pool_in_use(&self, first: Ipv4Addr, last: Ipv4Addr) -> usize {
        self.pools
            .get(&(first, last))
            .and_then(|p| p.lock().ok().map(|p| p.in_use()))
            .unwrap_or(0)
    }

    /// The PPP engine of a new PPP session from its `ppp_*` settings: the LNS (`lns_mode`)
    /// authenticates the peer and leases it an address, the LAC authenticates itself.
    ///
    /// # Errors
    /// [`DataPlaneError::Invalid`]: an LNS session without `ppp_local_ip` and `ppp_pool`, an
    /// exhausted pool, `ppp_auth` without `ppp_secrets` (and no authenticator), a secrets
    /// file that cannot be read or parsed.
    pub(crate) fn engine(&mut self, spec: &SessionSpec) -> Result<NewEngine, DataPlaneError> {
        use l2tp_ppp::{AuthMethod, IpcpConfig, PppConfig};
        let s = &spec.ppp;
        let dns = [s.dns.first().copied(), s.dns.get(1).copied()];
        let (role, auth_methods, ipcp, authenticator, lease) = if spec.lns_mode {
            let (Some(local), Some((first, last))) = (s.local_ip, s.pool) else {
                return Err(DataPlaneError::Invalid(
                    "a PPP LNS session terminated in this process needs ppp_local_ip and \
                     ppp_pool"
                        .into(),
                ));
            };
            let pool = self
                .pools
                .entry((first, last))
                .or_insert_with(|| Arc::new(Mutex::new(AddressPool::new(first, last))));
            let lease = Lease::take(pool).ok_or_else(|| {
                DataPlaneError::Invalid(format!("PPP address pool {first}-{last} is exhausted"))
            })?;
            let authenticator = match (&s.secrets, &self.authenticator) {
                _ if s.auth.is_empty() => None,
                (Some(path), _) if s.auth_source == PppAuthSource::Secrets => {
                    Some(self.secrets.get(path)? as Arc<dyn Authenticator>)
                }
                (_, Some(a)) => Some(a.clone()),
                _ if s.auth_source == PppAuthSource::Radius => {
                    return Err(DataPlaneError::Invalid(
                        "ppp_auth_source = \"radius\" needs a [radius] section".into(),
                    ))
                }
                _ => {
                    return Err(DataPlaneError::Invalid(
                        "ppp_auth needs ppp_secrets (or an authenticator)".into(),
                    ))
                }
            };
            let ipcp = IpcpConfig {
                local,
                peer: Some(lease.addr()),
                dns,
            };
            (
                Role::Authenticator,
                s.auth.clone(),
                ipcp,
                authenticator,
                Some(lease),
            )
        } else {
            let methods = if s.auth.is_empty() {
                vec![AuthMethod::MsChapV2, AuthMethod::ChapMd5, AuthMethod::Pap]
            } else {
                s.auth.clone()
            };
            let ipcp = IpcpConfig {
                local: Ipv4Addr::UNSPECIFIED,
                peer: None,
                dns,
            };
            (Role::Peer, methods, ipcp, None, None)
        };
        let cfg = PppConfig {
            role,
            mru: s.mru.unwrap_or(l2tp_ppp::wire::DEFAULT_MRU),
            auth_methods,
            credentials: s.user.clone().zip(s.password.clone()),
            echo_interval: match s.echo_interval {
                None => Some(std::time::Duration::from_secs(30)),
                Some(0) => None,
                Some(n) => Some(std::time::Duration::from_secs(u64::from(n))),
            },
            echo_failures: s.echo_failures.unwrap_or(4),
            ipcp: Some(ipcp),
            ipv6cp: s.ipv6,
            name: PPP_SERVER_NAME.into(),
            ..PppConfig::default()
        };
        let engine = Ppp::new(cfg, Instant::now(), rand::random());
        Ok(NewEngine {
            engine,
            role,
            authenticator,
            lease,
        })
    }
}

/// `ppp_secrets` files parsed once and shared by every session that names them: a session
/// start costs one `stat`, and the file is parsed again only when its modification time or
/// size changed (an operator's edit takes effect for the next session, as with pppd). A
/// 100,000-user file takes about 0.1 s to parse, so parsing per session would not scale.
#[derive(Default)]
pub(crate) struct SecretsCache {
    files: HashMap<std::path::PathBuf, CachedSecrets>,
}

struct CachedSecrets {
    modified: Option<std::time::SystemTime>,
    len: u64,
    parsed: Arc<SecretsAuthenticator>,
}

impl SecretsCache {
    /// The parsed file at `path`, from the cache when it has not changed.
    ///
    /// # Errors
    /// [`DataPlaneError::Invalid`] naming the file when it cannot be read or parsed.
    pub(crate) fn get(
        &mut self,
        path: &std::path::Path,
    ) -> Result<Arc<SecretsAuthenticator>, DataPlaneError> {
        let err = |e: String| DataPlaneError::Invalid(format!("ppp_secrets: {e}"));
        let meta = std::fs::metadata(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
        let (modified, len) = (meta.modified().ok(), meta.len());
        if let Some(c) = self.files.get(path) {
            if c.modified.is_some() && c.modified == modified && c.len == len {
                return Ok(c.parsed.clone());
            }
        }
        let parsed = Arc::new(SecretsAuthenticator::from_file(path, PPP_SERVER_NAME).map_err(err)?);
        self.files.insert(
            path.to_path_buf(),
            CachedSecrets {
                modified,
                len,
                parsed: parsed.clone(),
            },
        );
        Ok(parsed)
    }
}

#[cfg(test)]
#[path = "ppp_session_tests.rs"]
mod tests;
