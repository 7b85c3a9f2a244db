//! PPP terminated in this process, for the user-space data plane's PPP sessions: one
//! sans-IO [`l2tp_ppp::Ppp`] per session, one TUN interface per session.
//!
//! - Received frames: IPv4 datagrams go straight to the TUN device once IPCP is open (the
//!   socket reader's write, as for Ethernet); control frames are fed to the engine under its
//!   lock and the session task is woken ([`Notify`]) to send what the engine queued and act
//!   on its events. IPv6 datagrams are dropped (IPV6CP is not negotiated).
//! - The session task waits on the engine's next timer, the wake-up, and (once IPCP is open)
//!   the TUN device's readability; TUN packets get `FF 03 00 21` in front and go out in
//!   batches through the same path as Ethernet frames.
//! - Engine events: `Authenticate` asks the [`Authenticator`]; `IpcpUp` gives the TUN device
//!   our address with the peer's as point-to-point destination (ioctls, no `ip` command)
//!   and brings it up, then tells the driver ([`DataPlaneEvent::PppUp`]); `Down` tells the
//!   driver the session failed ([`DataPlaneEvent::SessionFailed`]), which clears it with a
//!   CDN.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use l2tp_ppp::fsm::State;
use l2tp_ppp::{classify, Event, Frame, Ppp, Role, Verdict};
use tokio::sync::{mpsc, Notify};

use super::auth::{
    AuthAnswer, AuthContext, AuthOutcome, Authenticator, Authorization, SessionUp, TerminateCause,
};
use super::{send_all, Path};
use crate::dataplane::DataPlaneEvent;

/// PPP Address and Control fields (RFC 1662 §3.1), sent in front of every frame.
pub(super) const ADDRESS_CONTROL: [u8; 2] = [0xff, 0x03];

/// Bytes put in front of an IP packet from the TUN device: Address, Control, Protocol.
pub(super) const IP_PREFIX: usize = 4;

/// One session's PPP state, shared by the socket readers (control frames in) and the
/// session task (everything else).
pub(super) struct PppLink {
    pub(super) engine: Mutex<Ppp>,
    notify: Notify,
    /// IPCP is open: IPv4 passes in both directions.
    pub(super) ipv4_up: AtomicBool,
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
    pub(super) fn new(
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
    pub(super) fn authenticator(&self) -> Option<&Arc<dyn Authenticator>> {
        self.authenticator.as_ref()
    }

    /// Ends the link from our side (LCP Terminate-Request with `reason`); the session task
    /// reports the `Down` that follows.
    pub(super) fn close(&self, reason: &str) {
        if let Ok(mut e) = self.engine.lock() {
            e.close(Instant::now(), reason);
        }
        self.notify.notify_one();
    }

    /// Tells the driver the session failed (it clears it with a CDN) without waiting for
    /// PPP: for a peer that does not acknowledge our LCP Terminate-Request.
    pub(super) async fn fail(&self, reason: String) {
        let _ = self
            .events
            .send(DataPlaneEvent::SessionFailed {
                tunnel_id: self.tunnel_id,
                session_id: self.session_id,
                reason,
            })
            .await;
    }

    /// A received PPP frame (after the L2TP header): the IPv4 datagram to write to the TUN
    /// device, or `None` when the frame was the engine's (or dropped: IP before IPCP is
    /// open, IPv6). No allocation for datagrams.
    pub(super) fn input<'a>(&self, frame: &'a [u8]) -> Option<&'a [u8]> {
        match classify(frame) {
            Frame::Ipv4(d) if self.ipv4_up.load(Ordering::Relaxed) => Some(d),
            Frame::Ipv4(_) | Frame::Ipv6(_) => None,
            Frame::Control => {
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
                None
            }
        }
    }
}

/// The PPP session's task (see the module documentation). Ends when PPP is down (the
/// driver then deletes the session) or the session is deleted (aborted).
pub(super) async fn run(path: Arc<Path>, socket: Arc<std::net::UdpSocket>, peer: SocketAddr) {
    let Some(link) = path.ppp.as_ref() else {
        return;
    };
    let mut username: Option<String> = None;
    let mut frames = Vec::new();
    let mut events = Vec::new();
    loop {
        let deadline = link.engine.lock().ok().and_then(|e| e.poll_timeout());
        let sleep = async {
            match deadline {
                Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                None => std::future::pending().await,
            }
        };
        let ip_up = link.ipv4_up.load(Ordering::Relaxed);
        tokio::select! {
            r = path.tap.readable(), if ip_up => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "TUN device failed; session stops sending");
                    return;
                }
                super::TX_SCRATCH.with(|scratch| {
                    super::forward_batch(&path, &socket, peer, &mut scratch.borrow_mut());
                });
                continue;
            }
            _ = sleep => {
                if let Ok(mut e) = link.engine.lock() {
                    e.handle_timeout(Instant::now());
                }
            }
            _ = link.notify.notified() => {}
        }
        if let Ok(mut e) = link.engine.lock() {
            while let Some(f) = e.poll_transmit() {
                frames.push(f);
            }
            while let Some(ev) = e.poll_event() {
                events.push(ev);
            }
        }
        for f in frames.drain(..) {
            tracing::trace!(session = link.session_id, frame = ?f.get(..6), "PPP control frame out");
            send_frame(&path, &socket, peer, &f);
        }
        for ev in std::mem::take(&mut events) {
            if !on_event(&path, link, ev, &mut username).await {
                return;
            }
        }
    }
}

/// Acts on one engine event; `false` when the link is finished.
async fn on_event(
    path: &Arc<Path>,
    link: &PppLink,
    ev: Event,
    username: &mut Option<String>,
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
                        match &path.ppp {
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
        }
        Event::IpcpUp { local, peer, .. } => {
            if let Err(e) = configure_tun(path, local, peer) {
                let reason = format!("TUN address {local} peer {peer}: {e}");
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
            link.ipv4_up.store(true, Ordering::Relaxed);
            let address = match link.role {
                Role::Authenticator => peer,
                Role::Peer => local,
            };
            let authorization = link.authorization.lock().ok().and_then(|mut a| a.take());
            let class = authorization
                .as_ref()
                .and_then(|a| a.class.first())
                .map(|c| super::auth::printable_class(c));
            if let (Some(a), Role::Authenticator, Some(authz)) =
                (&link.authenticator, link.role, authorization)
            {
                a.session_up(SessionUp {
                    context: link.context.clone(),
                    username: username.clone().unwrap_or_default(),
                    address: peer,
                    authorization: authz,
                    control: Arc::new(super::PathControl(Arc::downgrade(path))),
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
            }
        }
        Event::Down { reason } => {
            link.ipv4_up.store(false, Ordering::Relaxed);
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
        Event::Ipv6cpUp { .. } => {}
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

/// Our address with the peer's as point-to-point destination (/32), then the link up.
fn configure_tun(path: &Path, local: Ipv4Addr, peer: Ipv4Addr) -> std::io::Result<()> {
    path.tap.set_network_address(local, 32u8, Some(peer))?;
    path.tap.enabled(true)
}

/// Sends one engine frame: `FF 03`, the frame, the L2TP header in front. Control frames are
/// rare; this one allocates.
fn send_frame(path: &Path, socket: &std::net::UdpSocket, peer: SocketAddr, frame: &[u8]) {
    let Ok(mut session) = path.session.lock() else {
        return;
    };
    let h = session.header_len();
    let mut buf = vec![0u8; h];
    buf.extend_from_slice(&ADDRESS_CONTROL);
    buf.extend_from_slice(frame);
    if session.encapsulate(&mut buf).is_err() {
        return;
    }
    drop(session);
    if send_all(socket, &[&buf], peer) == 0 {
        if let Ok(mut s) = path.session.lock() {
            s.count_tx_error();
        }
    }
}
