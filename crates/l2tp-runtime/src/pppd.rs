//! pppd supervision for PPP pseudowires (what kl2tpd does): one `pppd` per PPP session,
//! attached to the session's PPPoL2TP socket through Debian's `pppol2tp.so` plugin.
//!
//! Command line: `pppd plugin pppol2tp.so pppol2tp FD pppol2tp_tunnel_id T
//! pppol2tp_session_id S [pppol2tp_lns_mode] [pppol2tp_send_seq pppol2tp_recv_seq]
//! [ifname NAME] nodetach` followed by the options of the session's `pppd_args` file
//! (whitespace/newline separated, `#` comments). pppd's exit closes the session (CDN); the
//! session going down sends pppd SIGTERM.

use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use tokio::process::{Child, Command};

/// How to run pppd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PppdOptions {
    /// The pppd binary (default `/usr/sbin/pppd`).
    pub path: PathBuf,
    /// The plugin (default `pppol2tp.so`, found in pppd's plugin directory).
    pub plugin: String,
}

impl Default for PppdOptions {
    fn default() -> Self {
        PppdOptions {
            path: PathBuf::from("/usr/sbin/pppd"),
            plugin: "pppol2tp.so".into(),
        }
    }
}

/// What pppd needs to know about the session.
#[derive(Debug, Clone)]
pub struct PppdSession<'a> {
    /// The PPPoL2TP socket's descriptor (inherited by pppd).
    pub fd: i32,
    /// Local tunnel ID.
    pub tunnel_id: u32,
    /// Local session ID.
    pub session_id: u32,
    /// We are the LNS.
    pub lns_mode: bool,
    /// Data sequence numbers on.
    pub seqnum: bool,
    /// Interface name to ask pppd for.
    pub ifname: Option<&'a str>,
    /// File of extra pppd options.
    pub args_file: Option<&'a Path>,
}

/// Errors starting pppd.
#[derive(Debug, thiserror::Error)]
pub enum PppdError {
    /// The `pppd_args` file could not be read.
    #[error("pppd_args file {path}: {source}")]
    Args {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// pppd could not be started.
    #[error("cannot start {path}: {source}")]
    Spawn {
        /// The binary.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Reads a `pppd_args` file: options separated by white space or newlines; `#` starts a
/// comment to the end of the line.
pub fn read_args(path: &Path) -> std::io::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.split_whitespace())
        .map(str::to_string)
        .collect())
}

/// The full argument list (without the program name).
pub fn command_line(s: &PppdSession<'_>, plugin: &str) -> Result<Vec<String>, PppdError> {
    let mut args: Vec<String> = vec![
        "plugin".into(),
        plugin.into(),
        "pppol2tp".into(),
        s.fd.to_string(),
        "pppol2tp_tunnel_id".into(),
        s.tunnel_id.to_string(),
        "pppol2tp_session_id".into(),
        s.session_id.to_string(),
    ];
    if s.lns_mode {
        args.push("pppol2tp_lns_mode".into());
    }
    if s.seqnum {
        args.push("pppol2tp_send_seq".into());
        args.push("pppol2tp_recv_seq".into());
    }
    if let Some(n) = s.ifname {
        args.push("ifname".into());
        args.push(n.into());
    }
    args.push("nodetach".into());
    if let Some(p) = s.args_file {
        args.extend(read_args(p).map_err(|source| PppdError::Args {
            path: p.to_path_buf(),
            source,
        })?);
    }
    Ok(args)
}

/// Starts pppd with the session's PPPoL2TP socket inherited (its close-on-exec flag is cleared
/// for the spawn and set again after). pppd is killed if the [`Child`] is dropped.
pub fn spawn(opts: &PppdOptions, s: &PppdSession<'_>) -> Result<Child, PppdError> {
    let args = command_line(s, &opts.plugin)?;
    let spawn_err = |source| PppdError::Spawn {
        path: opts.path.clone(),
        source,
    };
    let set_cloexec = |on: bool| {
        let flags = if on {
            FdFlag::FD_CLOEXEC
        } else {
            FdFlag::empty()
        };
        fcntl(s.fd, FcntlArg::F_SETFD(flags)).map_err(std::io::Error::from)
    };
    set_cloexec(false).map_err(spawn_err)?;
    let started = std::time::Instant::now();
    let child = Command::new(&opts.path)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn();
    let _ = set_cloexec(true);
    let child = child.map_err(spawn_err)?;
    tracing::debug!(pid = child.id(), tunnel_id = s.tunnel_id, session_id = s.session_id, spawn_us = started.elapsed().as_micros() as u64, args = ?args, "pppd started");
    Ok(child)
}

/// What the [`Spawner`] reports about one session's pppd, in this order: `Started` or
/// `Failed`, then (after `Started`) `Exited`.
#[derive(Debug)]
pub(crate) enum PppdReport {
    /// pppd runs as `pid`.
    Started {
        /// Its process ID.
        pid: u32,
    },
    /// pppd could not be started.
    Failed(PppdError),
    /// pppd `pid` ended; `how` as [`describe_exit`] says it.
    Exited {
        /// Its process ID.
        pid: u32,
        /// `exit N` / `signal N`.
        how: String,
    },
}

/// One request to the [`Spawner`]: a session's pppd. Owns what it needs (the session may be
/// gone by the time the request is served).
#[derive(Debug)]
pub(crate) struct SpawnRequest {
    /// The key reports are sent with (local tunnel ID, local session ID).
    pub key: (u32, u32),
    /// A duplicate of the session's PPPoL2TP socket, taken when the request was made (the
    /// data plane may close the original first); pppd inherits it, this process closes it.
    pub fd: std::os::fd::OwnedFd,
    /// We are the LNS.
    pub lns_mode: bool,
    /// Data sequence numbers on.
    pub seqnum: bool,
    /// Interface name to ask pppd for.
    pub ifname: Option<String>,
    /// File of extra pppd options.
    pub args_file: Option<PathBuf>,
}

/// Starts pppd processes on a thread of its own, one after another, and reports each one's
/// start and exit on a channel.
///
/// Starting a process blocks the caller until the child has called `execve` (and reading the
/// `pppd_args` file is file I/O): 137 ms at the median, 391 ms at worst, measured under TCG
/// in the VM with 150 sessions arriving at once (`tests/vm/bench-kppp.sh`). On the driver's
/// thread that stalled the control plane for seconds, long enough for the peer's control
/// connection to time out. One thread serves every request in turn: only it clears a
/// descriptor's close-on-exec flag, so no pppd inherits another session's socket.
pub(crate) struct Spawner {
    tx: std::sync::mpsc::Sender<SpawnRequest>,
}

impl Spawner {
    /// Starts the thread; reports go to `reports` (a pppd's exit is awaited on the runtime
    /// of `rt`). The thread ends when the [`Spawner`] is dropped and its queue is served; a
    /// pppd started after the receiver of `reports` is gone is killed at once.
    ///
    /// # Errors
    /// The thread could not be created.
    pub(crate) fn start(
        opts: PppdOptions,
        rt: tokio::runtime::Handle,
        reports: tokio::sync::mpsc::UnboundedSender<((u32, u32), PppdReport)>,
    ) -> std::io::Result<Spawner> {
        let (tx, rx) = std::sync::mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("pppd-spawner".into())
            .spawn(move || {
                // tokio's Child reaps through the runtime's signal driver.
                let _rt = rt.enter();
                for req in rx {
                    serve(&opts, &rt, &reports, req);
                }
            })?;
        Ok(Spawner { tx })
    }

    /// Queues `req`; `false` when the thread is gone (then nothing will be reported).
    pub(crate) fn request(&self, req: SpawnRequest) -> bool {
        self.tx.send(req).is_ok()
    }
}

/// Starts one pppd and reports it (then its exit, from a task on `rt`).
fn serve(
    opts: &PppdOptions,
    rt: &tokio::runtime::Handle,
    reports: &tokio::sync::mpsc::UnboundedSender<((u32, u32), PppdReport)>,
    req: SpawnRequest,
) {
    use std::os::fd::AsRawFd;
    let session = PppdSession {
        fd: req.fd.as_raw_fd(),
        tunnel_id: req.key.0,
        session_id: req.key.1,
        lns_mode: req.lns_mode,
        seqnum: req.seqnum,
        ifname: req.ifname.as_deref(),
        args_file: req.args_file.as_deref(),
    };
    let mut child = match spawn(opts, &session) {
        Ok(c) => c,
        Err(e) => {
            let _ = reports.send((req.key, PppdReport::Failed(e)));
            return;
        }
    };
    drop(req.fd); // pppd has its copy
    let Some(pid) = child.id() else {
        // Not yet awaited, so it has an ID; reported all the same, never lost.
        let _ = reports.send((
            req.key,
            PppdReport::Failed(PppdError::Spawn {
                path: opts.path.clone(),
                source: std::io::Error::other("no process ID"),
            }),
        ));
        return;
    };
    if reports
        .send((req.key, PppdReport::Started { pid }))
        .is_err()
    {
        return; // the driver is gone: `child` is dropped, pppd killed
    }
    let reports = reports.clone();
    rt.spawn(async move {
        let how = match child.wait().await {
            Ok(st) => describe_exit(&st),
            Err(e) => e.to_string(),
        };
        let _ = reports.send((req.key, PppdReport::Exited { pid, how }));
    });
}

/// Sends SIGTERM to pppd `pid` (pppd then sends LCP Terminate-Request and exits). A pid that
/// does not fit `pid_t` is ignored.
pub fn terminate(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
}

/// Text for an exit status: `exit 16` / `signal 15`.
pub fn describe_exit(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("signal {s}"),
        _ => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A stand-in for pppd: exits 7 when the descriptor named after `pppol2tp` is open in it
    /// (inherited), 9 when not; sleeps 0.2 s first so that its start is reported before its
    /// exit is.
    fn fake_pppd(dir: &Path) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let f = dir.join("fake-pppd");
        std::fs::write(
            &f,
            "#!/bin/sh\nsleep 0.2\nif [ -e /proc/$$/fd/$4 ]; then exit 7; fi\nexit 9\n",
        )
        .unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
        f
    }

    fn request(key: (u32, u32), fd: std::os::fd::OwnedFd) -> SpawnRequest {
        SpawnRequest {
            key,
            fd,
            lns_mode: true,
            seqnum: false,
            ifname: None,
            args_file: None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spawner_reports_start_then_exit_and_pppd_inherits_its_socket() {
        let dir = std::env::temp_dir().join(format!("pppd-spawner-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let opts = PppdOptions {
            path: fake_pppd(&dir),
            plugin: "pppol2tp.so".into(),
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let spawner = Spawner::start(opts, tokio::runtime::Handle::current(), tx).unwrap();
        let socket = || std::os::fd::OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        for t in 1..=3u32 {
            assert!(spawner.request(request((t, 10 * t), socket())));
        }
        let mut started = std::collections::HashMap::new();
        let mut exits = Vec::new();
        while exits.len() < 3 {
            let (key, report) = tokio::time::timeout(Duration::from_secs(20), rx.recv())
                .await
                .expect("a report within 20 s")
                .expect("the channel stays open");
            match report {
                PppdReport::Started { pid } => assert!(started.insert(key, pid).is_none()),
                PppdReport::Exited { pid, how } => {
                    assert_eq!(started.get(&key), Some(&pid), "started before it exited");
                    exits.push((key, how));
                }
                PppdReport::Failed(e) => panic!("{e}"),
            }
        }
        exits.sort();
        assert_eq!(
            exits,
            [1, 2, 3].map(|t| ((t, 10 * t), "exit 7".to_string())),
            "each pppd saw its socket"
        );
        // A pppd that cannot start is reported, not lost.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let missing = PppdOptions {
            path: dir.join("no-such-pppd"),
            plugin: "pppol2tp.so".into(),
        };
        let spawner = Spawner::start(missing, tokio::runtime::Handle::current(), tx).unwrap();
        assert!(spawner.request(request((4, 40), socket())));
        let (key, report) = rx.recv().await.unwrap();
        assert_eq!(key, (4, 40));
        assert!(
            matches!(report, PppdReport::Failed(PppdError::Spawn { .. })),
            "{report:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn command_line_has_plugin_ids_and_file_options() {
        let dir = std::env::temp_dir().join(format!("pppd-args-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("args");
        std::fs::write(&f, "noauth # no auth\n  10.0.0.1:10.0.0.2\nmtu 1400\n").unwrap();
        let s = PppdSession {
            fd: 7,
            tunnel_id: 100,
            session_id: 200,
            lns_mode: true,
            seqnum: false,
            ifname: Some("ppp-lac"),
            args_file: Some(&f),
        };
        let a = command_line(&s, "pppol2tp.so").unwrap();
        assert_eq!(
            a,
            [
                "plugin",
                "pppol2tp.so",
                "pppol2tp",
                "7",
                "pppol2tp_tunnel_id",
                "100",
                "pppol2tp_session_id",
                "200",
                "pppol2tp_lns_mode",
                "ifname",
                "ppp-lac",
                "nodetach",
                "noauth",
                "10.0.0.1:10.0.0.2",
                "mtu",
                "1400"
            ]
        );
        let missing = PppdSession {
            args_file: Some(Path::new("/nonexistent/args")),
            ..s
        };
        let e = command_line(&missing, "pppol2tp.so").unwrap_err();
        assert!(e.to_string().contains("/nonexistent/args"), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
