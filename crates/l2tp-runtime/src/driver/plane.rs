//! The data plane as the driver drives it: requests go in as [`Job`]s and come back as
//! [`Done`] completions, in order. A data plane whose calls block on the kernel
//! ([`DataPlane::blocking`]: netlink round trips, PPPoL2TP sockets, ioctls) runs on a thread of
//! its own, so a slow netlink call never stalls the control channel of other tunnels; one that
//! does not block (the null data plane) runs inline, with the same completions.
//!
//! Jobs run in submission order, so a session's create always follows its tunnel's, and a
//! delete follows the create it undoes.
//!
//! The data plane's thread is inside the tokio runtime's context (the one the plane was made
//! in): a data plane may spawn its per-session tasks and register descriptors with the
//! reactor from there (the user-space data plane does both), while its blocking work — a
//! TUN/TAP device made or, slower, removed (the kernel waits an RCU grace period per
//! interface: ~17 ms here) — stays off the control plane's thread.

use std::collections::{HashMap, VecDeque};
use std::os::fd::OwnedFd;

use tokio::sync::{mpsc, oneshot};

use crate::dataplane::{
    DataPlane, DataPlaneError, SessionHandle, SessionSpec, SessionStats, TunnelSpec,
};

/// The name of the thread a blocking data plane runs on.
const DATAPLANE_THREAD: &str = "l2tp-dataplane";

/// A request to the data plane.
pub(crate) enum Job {
    /// Create a tunnel; `control` is a duplicate of the driver's control socket, handed to
    /// the data plane ([`DataPlane::create_tunnel_owning`]).
    CreateTunnel {
        spec: TunnelSpec,
        control: Option<OwnedFd>,
        token: u64,
    },
    DeleteTunnel(u32),
    CreateSession {
        spec: Box<SessionSpec>,
        token: u64,
    },
    DeleteSession(u32, u32),
    Bridge((u32, u32), (u32, u32)),
    /// Counters of these sessions (one dump for the kernel), answered on the channel.
    Stats(
        Vec<(u32, u32)>,
        oneshot::Sender<HashMap<(u32, u32), SessionStats>>,
    ),
    /// Run the inner job (none: a barrier) and answer on the channel instead of as a
    /// completion.
    Sync(Option<Box<Job>>, std::sync::mpsc::SyncSender<Option<Done>>),
}

/// The outcome of a [`Job`] that the driver acts on.
#[derive(Debug)]
pub(crate) enum Done {
    Tunnel {
        tunnel: u32,
        token: u64,
        result: Result<(), DataPlaneError>,
    },
    Session {
        tunnel: u32,
        session: u32,
        token: u64,
        /// The handle and, for PPP sessions, the PPPoL2TP socket's fd for pppd.
        result: Result<(SessionHandle, Option<i32>), DataPlaneError>,
    },
    Bridge {
        a: (u32, u32),
        b: (u32, u32),
        result: Result<(), DataPlaneError>,
    },
    /// A delete failed (logged and counted; nothing else to do).
    DeleteFailed(DataPlaneError),
}

fn run(dp: &mut dyn DataPlane, job: Job) -> Option<Done> {
    match job {
        Job::CreateTunnel {
            spec,
            control,
            token,
        } => {
            let result = dp.create_tunnel_owning(&spec, control);
            Some(Done::Tunnel {
                tunnel: spec.tunnel_id,
                token,
                result,
            })
        }
        Job::DeleteTunnel(t) => dp.delete_tunnel(t).err().map(Done::DeleteFailed),
        Job::CreateSession { spec, token } => {
            let result = dp
                .create_session(&spec)
                .map(|h| (h, dp.ppp_fd(spec.tunnel_id, spec.session_id)));
            Some(Done::Session {
                tunnel: spec.tunnel_id,
                session: spec.session_id,
                token,
                result,
            })
        }
        Job::DeleteSession(t, s) => dp.delete_session(t, s).err().map(Done::DeleteFailed),
        Job::Bridge(a, b) => Some(Done::Bridge {
            a,
            b,
            result: dp.bridge_sessions(a, b),
        }),
        Job::Stats(keys, reply) => {
            let _ = reply.send(dp.sessions_stats(&keys));
            None
        }
        Job::Sync(job, reply) => {
            let _ = reply.send(job.and_then(|j| run(dp, *j)));
            None
        }
    }
}

/// Runs a data plane inline or on its own thread (see the module documentation).
pub(crate) struct Plane {
    mode: Mode,
    next_token: u64,
}

enum Mode {
    Inline {
        dp: Box<dyn DataPlane>,
        done: VecDeque<Done>,
    },
    Thread {
        jobs: std::sync::mpsc::Sender<Job>,
        done: mpsc::UnboundedReceiver<Done>,
        worker: Option<std::thread::JoinHandle<Box<dyn DataPlane>>>,
    },
}

impl Plane {
    pub(crate) fn new(dp: Box<dyn DataPlane>) -> Plane {
        let mode = if dp.blocking() {
            let (jobs, rx) = std::sync::mpsc::channel::<Job>();
            let (tx, done) = mpsc::unbounded_channel();
            let runtime = tokio::runtime::Handle::try_current().ok();
            let worker = std::thread::Builder::new()
                .name(DATAPLANE_THREAD.into())
                .spawn(move || {
                    let _context = runtime.as_ref().map(|r| r.enter());
                    let mut dp = dp;
                    while let Ok(job) = rx.recv() {
                        if let Some(d) = run(dp.as_mut(), job) {
                            if tx.send(d).is_err() {
                                break;
                            }
                        }
                    }
                    dp
                })
                .expect("spawn the data plane thread");
            Mode::Thread {
                jobs,
                done,
                worker: Some(worker),
            }
        } else {
            Mode::Inline {
                dp,
                done: VecDeque::new(),
            }
        };
        Plane {
            mode,
            next_token: 1,
        }
    }

    /// A fresh token to match a create with its completion.
    pub(crate) fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    /// Queues a job (inline: runs it now; its completion waits in [`Plane::try_done`]).
    pub(crate) fn submit(&mut self, job: Job) {
        match &mut self.mode {
            Mode::Inline { dp, done } => {
                if let Some(d) = run(dp.as_mut(), job) {
                    done.push_back(d);
                }
            }
            Mode::Thread { jobs, .. } => {
                // The worker only stops when the plane is dropped.
                let _ = jobs.send(job);
            }
        }
    }

    /// Runs a job and waits for its completion (blocking the caller: only for configured
    /// static and quiescent tunnels, whose set-up reports its errors to the operator).
    pub(crate) fn call(&mut self, job: Job) -> Option<Done> {
        match &mut self.mode {
            Mode::Inline { dp, .. } => run(dp.as_mut(), job),
            Mode::Thread { jobs, .. } => {
                let (tx, rx) = std::sync::mpsc::sync_channel(1);
                let _ = jobs.send(Job::Sync(Some(Box::new(job)), tx));
                rx.recv().ok().flatten()
            }
        }
    }

    /// A completion that is ready now.
    pub(crate) fn try_done(&mut self) -> Option<Done> {
        match &mut self.mode {
            Mode::Inline { done, .. } => done.pop_front(),
            Mode::Thread { done, .. } => done.try_recv().ok(),
        }
    }

    /// Waits for the next completion (never completes for an inline plane, whose completions
    /// are taken with [`Plane::try_done`]).
    pub(crate) async fn next_done(&mut self) -> Option<Done> {
        match &mut self.mode {
            Mode::Inline { .. } => std::future::pending().await,
            Mode::Thread { done, .. } => done.recv().await,
        }
    }

    /// Waits until every job submitted so far has run (shutdown: nothing left in the kernel
    /// once the driver returns).
    pub(crate) fn drain(&mut self) {
        if let Mode::Thread { jobs, .. } = &mut self.mode {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            let _ = jobs.send(Job::Sync(None, tx));
            let _ = rx.recv();
        }
    }
}

impl Drop for Plane {
    fn drop(&mut self) {
        if let Mode::Thread { jobs, worker, .. } = &mut self.mode {
            // Closing the job channel stops the worker; joining it drops the data plane there
            // (the kernel one removes what it still holds).
            let (tx, _) = std::sync::mpsc::channel();
            drop(std::mem::replace(jobs, tx));
            if let Some(w) = worker.take() {
                let _ = w.join();
            }
        }
    }
}
