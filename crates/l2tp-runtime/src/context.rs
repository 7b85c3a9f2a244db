//! [`Context`]: the library API. A cheap, cloneable handle to a runtime task that owns the
//! protocol engine, the sockets and the data plane.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use l2tp_runtime::config::Config;
//! use l2tp_runtime::dataplane::NullDataPlane;
//! use l2tp_runtime::{Context, ContextOptions};
//!
//! let config = Config::parse(
//!     r#"
//!     [tunnel.t1]
//!     peer = "192.0.2.1:1701"
//!     version = "l2tpv2"
//!     [tunnel.t1.session.s1]
//!     pseudowire = "ppp"
//!     "#,
//!     "inline",
//! )?;
//! let ctx = Context::start(ContextOptions::new(Box::new(NullDataPlane::new())));
//! let mut events = ctx.subscribe();
//! for (name, tunnel) in &config.tunnels {
//!     ctx.create_tunnel(name, tunnel.clone()).await?;
//! }
//! while let Ok(ev) = events.recv().await {
//!     println!("{ev:?}");
//! }
//! # Ok(()) }
//! ```

use std::time::Duration;

use l2tp_proto::endpoint::{EndpointConfig, SessionId, TunnelId};
use l2tp_proto::wire::{error_code, result, ResultCode};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::config::{SessionSection, TunnelSection};
use crate::dataplane::DataPlane;
use crate::driver::{Command, Driver, DriverError, RuntimeEvent, SocketMode};
use crate::pppd::PppdOptions;
use crate::status::{RuntimeStats, TunnelStatus};

/// How to build a [`Context`].
pub struct ContextOptions {
    /// The data plane (kernel, null, …).
    pub dataplane: Box<dyn DataPlane>,
    /// Sockets per tunnel or shared (kernel data planes need [`SocketMode::PerTunnel`]).
    pub socket_mode: SocketMode,
    /// Endpoint-wide settings (accepting tunnels from peers and their defaults).
    pub endpoint: EndpointConfig,
    /// RNG seed for tunnel/session IDs and challenges; random by default.
    pub seed: u64,
    /// How long [`Context::shutdown`] waits for peers to acknowledge StopCCN.
    pub shutdown_grace: Duration,
    /// Events buffered for slow subscribers before they lag (and see `Lagged`).
    pub event_buffer: usize,
    /// Run pppd for PPP sessions (kernel data plane only: it needs PPPoL2TP sockets).
    pub pppd: Option<PppdOptions>,
    /// Receive buffer of listening sockets (bytes; 0 = system default), sized for bursts of
    /// SCCRQs: `SO_RCVBUFFORCE` when privileged, else `SO_RCVBUF`.
    pub recv_buffer: usize,
    /// Told why each session ends, before its data plane objects go (RADIUS accounting).
    pub session_observer: Option<std::sync::Arc<dyn crate::dataplane::SessionObserver>>,
}

impl ContextOptions {
    /// Defaults: shared sockets, default endpoint, random seed, 5 s grace, 4096 events.
    pub fn new(dataplane: Box<dyn DataPlane>) -> Self {
        ContextOptions {
            dataplane,
            socket_mode: SocketMode::Shared,
            endpoint: EndpointConfig::default(),
            seed: rand::random(),
            shutdown_grace: Duration::from_secs(5),
            event_buffer: 4096,
            pppd: None,
            recv_buffer: crate::driver::DEFAULT_RECV_BUFFER,
            session_observer: None,
        }
    }
}

/// A handle to a running L2TP runtime. Clone it freely; the runtime stops when
/// [`Context::shutdown`] is called (or every handle is dropped, without StopCCN).
#[derive(Clone)]
pub struct Context {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<RuntimeEvent>,
    stop: mpsc::Sender<oneshot::Sender<usize>>,
}

impl Context {
    /// Spawns the runtime task on the current tokio runtime.
    pub fn start(options: ContextOptions) -> Context {
        let (commands, mut cmd_rx) = mpsc::channel(64);
        let (events, _) = broadcast::channel(options.event_buffer.max(1));
        let (stop, mut stop_rx) = mpsc::channel::<oneshot::Sender<usize>>(1);
        let tx = events.clone();
        let grace = options.shutdown_grace;
        let mut driver = Driver::new(
            options.endpoint,
            options.seed,
            options.dataplane,
            options.socket_mode,
        );
        driver.set_pppd(options.pppd);
        driver.set_session_observer(options.session_observer);
        driver.set_recv_buffer(options.recv_buffer);
        tokio::spawn(async move {
            let mut publish = |ev: &RuntimeEvent| {
                let _ = tx.send(ev.clone());
            };
            let mut done: Option<oneshot::Sender<usize>> = None;
            let stop_fut = async {
                done = stop_rx.recv().await;
            };
            driver.serve(stop_fut, &mut cmd_rx, &mut publish).await;
            let rc = ResultCode {
                result: result::STOPCCN_SHUTTING_DOWN,
                error: Some(error_code::NO_ERROR),
                message: Some(b"shutting down".to_vec()),
            };
            let left = driver.shutdown(rc, grace, &mut publish).await;
            if let Some(d) = done {
                let _ = d.send(left);
            }
        });
        Context {
            commands,
            events,
            stop,
        }
    }

    /// Subscribes to events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<RuntimeEvent> {
        self.events.subscribe()
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, DriverError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| DriverError::Stopped)?;
        rx.await.map_err(|_| DriverError::Stopped)
    }

    /// Creates a tunnel (dynamic: SCCRQ now, sessions right after; static: data plane now;
    /// `listen`: accept peers on `local`). Returns the local tunnel ID (0 for `listen`).
    pub async fn create_tunnel(
        &self,
        name: &str,
        section: TunnelSection,
    ) -> Result<TunnelId, DriverError> {
        self.call(|reply| Command::AddTunnel {
            name: name.to_string(),
            section: Box::new(section),
            reply,
        })
        .await?
    }

    /// Closes a tunnel (StopCCN with result 1 for dynamic tunnels).
    pub async fn close_tunnel(&self, name: &str) -> Result<(), DriverError> {
        self.call(|reply| Command::CloseTunnel {
            name: name.to_string(),
            reply,
        })
        .await?
    }

    /// Opens a session (incoming call, ICRQ) in a dynamic tunnel.
    pub async fn create_session(
        &self,
        tunnel: &str,
        name: &str,
        section: SessionSection,
    ) -> Result<SessionId, DriverError> {
        self.call(|reply| Command::AddSession {
            tunnel: tunnel.to_string(),
            name: name.to_string(),
            section: Box::new(section),
            outgoing: false,
            reply,
        })
        .await?
    }

    /// Places an outgoing call (OCRQ → OCRP → OCCN; RFC 2661 §5.2.1), as an LNS asks a LAC to
    /// dial out. The session comes up like an incoming call's.
    pub async fn create_outgoing_call(
        &self,
        tunnel: &str,
        name: &str,
        section: SessionSection,
    ) -> Result<SessionId, DriverError> {
        self.call(|reply| Command::AddSession {
            tunnel: tunnel.to_string(),
            name: name.to_string(),
            section: Box::new(section),
            outgoing: true,
            reply,
        })
        .await?
    }

    /// Closes a session (CDN with result 3, administrative).
    pub async fn close_session(&self, tunnel: &str, session: &str) -> Result<(), DriverError> {
        self.call(|reply| Command::CloseSession {
            tunnel: tunnel.to_string(),
            session: session.to_string(),
            reply,
        })
        .await?
    }

    /// Every tunnel and session, with counters.
    pub async fn status(&self) -> Result<Vec<TunnelStatus>, DriverError> {
        self.call(|reply| Command::Status { scope: None, reply })
            .await
    }

    /// The tunnel `tunnel` names (as [`lookup`](Self::lookup) finds it) with its sessions,
    /// or with only the one `session` names, counters included; empty when there is no such
    /// tunnel. Costs what that tunnel holds, not what the runtime holds.
    pub async fn status_of(
        &self,
        tunnel: &str,
        session: Option<&str>,
    ) -> Result<Vec<TunnelStatus>, DriverError> {
        let scope = Some((tunnel.to_string(), session.map(str::to_string)));
        self.call(|reply| Command::Status { scope, reply }).await
    }

    /// The tunnel `tunnel` names (a name, else a decimal local ID; a live tunnel before one
    /// that went down recently), and with `session` the session it names in that tunnel
    /// (likewise). O(1): resolved through the driver's indexes, not a snapshot. `Ok(None)`:
    /// no such tunnel.
    pub async fn lookup(
        &self,
        tunnel: &str,
        session: Option<&str>,
    ) -> Result<Option<crate::status::Named>, DriverError> {
        let (tunnel, session) = (tunnel.to_string(), session.map(str::to_string));
        self.call(|reply| Command::Lookup {
            tunnel,
            session,
            reply,
        })
        .await
    }

    /// Runtime-wide counters.
    pub async fn stats(&self) -> Result<RuntimeStats, DriverError> {
        self.call(|reply| Command::Stats { reply }).await
    }

    /// StopCCN to every peer, waits for their ACKs up to the grace period, removes every data
    /// plane object, and stops the runtime. Returns how many tunnels were not acknowledged.
    pub async fn shutdown(&self) -> Result<usize, DriverError> {
        let (tx, rx) = oneshot::channel();
        self.stop.send(tx).await.map_err(|_| DriverError::Stopped)?;
        rx.await.map_err(|_| DriverError::Stopped)
    }
}

/// Raises the soft open-files limit (`RLIMIT_NOFILE`) to the hard limit: every kernel-mode
/// tunnel holds a socket and every PPP session a PPPoL2TP socket, so a daemon with thousands of
/// tunnels needs more than the usual 1,024. Returns the soft limit now in force (0 if it could
/// not be read).
pub fn raise_nofile_limit() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => hard,
            Err(e) => {
                tracing::warn!(error = %e, soft, hard, "cannot raise RLIMIT_NOFILE");
                soft
            }
        },
        Ok((soft, _)) => soft,
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn nofile_limit_is_raised_to_the_hard_limit() {
        let after = super::raise_nofile_limit();
        let (soft, hard) =
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!(soft, hard);
        assert_eq!(after, soft);
    }
}
