//! Harness for the daemon tests: l2tpd processes (null data plane, loopback), their control
//! sockets, and the l2tpctl binary.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const L2TPD: &str = env!("CARGO_BIN_EXE_l2tpd");

/// A fresh directory under the system temp dir (`tempfile`), removed on drop.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    /// A directory named `l2tpd-TAG-…`.
    pub fn new(tag: &str) -> TempDir {
        let d = tempfile::Builder::new()
            .prefix(&format!("l2tpd-{tag}-"))
            .tempdir()
            .expect("temp dir");
        TempDir(d)
    }

    /// `name` inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

/// A UDP port on 127.0.0.1 that was free a moment ago.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `f` every 50 ms until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running l2tpd; SIGKILLed on drop if still running.
pub struct Daemon {
    pub child: Child,
    pub control: PathBuf,
    pub config: PathBuf,
    pub log: PathBuf,
}

impl Daemon {
    /// Starts `l2tpd -null` with `config` (written to DIR/NAME.toml) and waits for its control
    /// socket.
    pub fn start(dir: &TempDir, name: &str, config: &str, extra: &[&str]) -> Daemon {
        Self::start_env(dir, name, config, extra, &[])
    }

    pub fn start_env(
        dir: &TempDir,
        name: &str,
        config: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Daemon {
        let cfg = dir.path(&format!("{name}.toml"));
        std::fs::write(&cfg, config).unwrap();
        let control = dir.path(&format!("{name}.sock"));
        let log = dir.path(&format!("{name}.log"));
        let mut cmd = Command::new(L2TPD);
        cmd.arg("-null")
            .arg("-config")
            .arg(&cfg)
            .arg("--control")
            .arg(&control)
            .args(["--shutdown-grace", "1"])
            .args(extra)
            .env("L2TPD_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn l2tpd");
        let mut d = Daemon {
            child,
            control,
            config: cfg,
            log,
        };
        let up = wait_for(Duration::from_secs(10), || {
            if let Ok(Some(st)) = d.child.try_wait() {
                panic!("l2tpd {name} exited early ({st}): {}", d.log_text());
            }
            UnixStream::connect(&d.control).ok()
        });
        assert!(up.is_some(), "no control socket: {}", d.log_text());
        d
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// SIGTERM, then waits for the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        let st = wait_for(Duration::from_secs(10), || self.child.try_wait().unwrap());
        st.expect("l2tpd did not exit after SIGTERM")
    }

    /// One request over a raw connection.
    pub fn request(&self, line: &str) -> Value {
        request(&self.control, line)
    }

    /// `show` via the socket, less the tunnels that went down (which `show` keeps listing
    /// for a while, state `down`): what is running.
    pub fn status(&self) -> Vec<Value> {
        self.status_all()
            .into_iter()
            .filter(|t| t["state"] != "down")
            .collect()
    }

    /// `show` via the socket, as it is.
    pub fn status_all(&self) -> Vec<Value> {
        let r = self.request(r#"{"cmd":"show"}"#);
        assert_eq!(r["ok"], true, "{r}");
        r["result"].as_array().unwrap().clone()
    }

    /// Waits until tunnel `name` is established with `sessions` established sessions.
    pub fn wait_established(&self, name: &str, sessions: usize) -> Value {
        wait_for(Duration::from_secs(10), || {
            self.status().into_iter().find(|t| {
                t["name"] == name
                    && t["state"] == "established"
                    && t["sessions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|s| s["state"] == "established")
                        .count()
                        == sessions
            })
        })
        .unwrap_or_else(|| {
            panic!(
                "tunnel {name} with {sessions} session(s) not established: {:?}\n{}",
                self.status(),
                self.log_text()
            )
        })
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends one line, reads one reply line.
pub fn request(path: &Path, line: &str) -> Value {
    let mut s = UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // The daemon may have answered (and closed) before reading: a refused client.
    let _ = s.write_all(format!("{line}\n").as_bytes());
    let mut r = BufReader::new(s);
    let mut reply = String::new();
    r.read_line(&mut reply).unwrap();
    serde_json::from_str(&reply).unwrap_or_else(|e| panic!("reply {reply:?}: {e}"))
}

/// An LNS config listening on `port`, with a PPP session template.
pub fn lns_config(port: u16) -> String {
    format!(
        r#"
[tunnel.lns]
listen = true
local = "127.0.0.1:{port}"
host_name = "lns.test"

[tunnel.lns.session.tmpl]
pseudowire = "ppp"
"#
    )
}

/// An LNS and a LAC whose tunnel `t1` (one session, `s1`) is established between them.
pub fn lns_and_lac(dir: &TempDir) -> (Daemon, Daemon) {
    let port = free_udp_port();
    let lns = Daemon::start(dir, "lns", &lns_config(port), &[]);
    let lac = Daemon::start(dir, "lac", &lac_tunnel("t1", port, &["s1"]), &[]);
    lac.wait_established("t1", 1);
    (lns, lac)
}

/// A LAC tunnel table dialling `port`, with one session per name in `sessions`.
pub fn lac_tunnel(name: &str, port: u16, sessions: &[&str]) -> String {
    let mut s =
        format!("\n[tunnel.{name}]\npeer = \"127.0.0.1:{port}\"\nhost_name = \"lac.test\"\n");
    for x in sessions {
        s.push_str(&format!(
            "\n[tunnel.{name}.session.{x}]\npseudowire = \"ppp\"\n"
        ));
    }
    s
}

/// The l2tpctl binary, built on first use (it lives in another package of the workspace,
/// next to this test's l2tpd in the same target directory).
pub fn l2tpctl() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let bin_dir = Path::new(L2TPD).parent().unwrap().to_path_buf();
        let target_dir = bin_dir.parent().unwrap();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "-q", "-p", "l2tpctl"])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .env("CARGO_TARGET_DIR", target_dir)
            .status()
            .expect("cargo build -p l2tpctl");
        assert!(st.success(), "cargo build -p l2tpctl failed");
        bin_dir.join("l2tpctl")
    })
}

/// Runs l2tpctl with `--control SOCK` and `args`.
pub fn ctl(sock: &Path, args: &[&str]) -> Output {
    Command::new(l2tpctl())
        .arg("--control")
        .arg(sock)
        .args(args)
        .output()
        .expect("run l2tpctl")
}

/// Runs l2tpctl, asserts success, returns stdout.
pub fn ctl_ok(sock: &Path, args: &[&str]) -> String {
    let o = ctl(sock, args);
    assert!(
        o.status.success(),
        "l2tpctl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Reads an HTTP response (status line, body) from 127.0.0.1:port for `GET path`.
pub fn http_get(port: u16, path: &str) -> (String, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}
