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
