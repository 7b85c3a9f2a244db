//! `l2tp-bench`: a load generator that plays many L2TPv2 LACs (or L2TPv3 initiating LCCEs)
//! against one LNS on the loopback interface.
//!
//! It is built on the project's sans-IO core ([`l2tp_proto::endpoint::Endpoint`]): one endpoint
//! holds many tunnels (several endpoints when L2TPv2's 16-bit tunnel IDs would run short), each
//! tunnel has its own UDP socket bound to `127.0.0.x:0` (as real LACs have), and one thread
//! multiplexes every socket with epoll (`mio`). Tunnels are started at a bounded concurrency and
//! an optional rate; each opens its sessions (ICRQ) once it is up; everything is held for a
//! while (the core answers HELLO) and optionally torn down with StopCCN.
//!
//! The run is bounded in count ([`Options::validate`]) and in time (`--timeout`): it always
//! stops by itself. It only targets loopback servers (127.0.0.0/8 or ::1).
//!
//! Use [`run`] from a test, or the `l2tp-bench` binary; [`Report::ok`] tells whether everything
//! that was asked for came up (and, with teardown, went down acknowledged).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod driver;
mod report;
mod sys;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

pub use report::{Latency, Progress, Report, Teardown};

/// Default number of tunnels in set-up at once.
pub const DEFAULT_CONCURRENCY: u32 = 64;
/// Default hard bound on the whole run, seconds.
pub const DEFAULT_TIMEOUT_SECS: f64 = 60.0;
/// Default first retransmission timeout, milliseconds (doubles per retry, capped at 8 s).
pub const DEFAULT_RETRY_MS: u64 = 1000;
/// Default retransmissions of one message before a tunnel is declared down.
pub const DEFAULT_RETRIES: u32 = 5;
/// Default Receive Window Size we announce.
pub const DEFAULT_WINDOW: u16 = 4;

/// Most tunnels one run may ask for.
pub const MAX_TUNNELS: u32 = 1_000_000;
/// Most sessions one run may ask for (tunnels × sessions per tunnel).
pub const MAX_SESSIONS: u64 = 10_000_000;
/// Most sessions per tunnel (L2TPv2 session IDs are 16-bit).
pub const MAX_SESSIONS_PER_TUNNEL: u32 = 60_000;
/// Most seconds a run may be bounded to.
pub const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// Pseudowire type of the sessions (L2TPv2 sessions are always PPP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Pseudowire {
    /// PPP (type 7).
    Ppp,
    /// Ethernet (type 5; L2TPv3 only).
    Eth,
}

/// Message digest for L2TPv3 control messages (RFC 3931 §4.3; needs `--secret`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Digest {
    /// HMAC-MD5.
    Md5,
    /// HMAC-SHA-1.
    Sha1,
}

/// What to run: the command line of `l2tp-bench`.
#[derive(Debug, Clone, PartialEq, clap::Parser)]
#[command(
    name = "l2tp-bench",
    about = "Load generator: many L2TP LACs (v2) / LCCEs (v3) against one LNS on loopback",
    after_help = "Progress lines (--report-every) look like\n  \
        progress elapsed=1.234 sessions=1000 tunnels=10 established=1000 rate=810.4 \
        interval_rate=902.1 server_rss_kb=12345\n\
        (on stdout, or on stderr with --json). Exit status: 0 when everything came up (and went \
        down acknowledged with --teardown), 1 when anything failed, 2 on a usage error."
)]
pub struct Options {
    /// The LNS to load: a UDP address on loopback (127.0.0.0/8 or [::1]).
    #[arg(long)]
    pub server: SocketAddr,
    /// L2TP version: 2 (LAC, RFC 2661) or 3 (initiating LCCE, RFC 3931).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=3))]
    pub version: u8,
    /// Number of tunnels (control connections) to set up.
    #[arg(long, default_value_t = 1)]
    pub tunnels: u32,
    /// Sessions (incoming calls, ICRQ) opened in each tunnel once it is up.
    #[arg(long, default_value_t = 1)]
    pub sessions_per_tunnel: u32,
    /// Tunnels in set-up at once (from SCCRQ until all their sessions are up or failed).
    #[arg(long, default_value_t = DEFAULT_CONCURRENCY)]
    pub concurrency: u32,
    /// Target tunnel starts per second (0 = as fast as the concurrency allows).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Seconds to keep everything up after set-up (HELLOs are answered).
    #[arg(long, default_value_t = 0.0)]
    pub hold: f64,
    /// At the end, send StopCCN in every tunnel and wait for its acknowledgement.
    #[arg(long)]
    pub teardown: bool,
    /// Hard bound on the whole run, seconds: the run always stops by then.
    #[arg(long, default_value_t = DEFAULT_TIMEOUT_SECS)]
    pub timeout: f64,
    /// Spread tunnels over this many source addresses 127.0.0.2, 127.0.0.3, … (one UDP socket
    /// per tunnel, bound to SOURCE:0). With an IPv6 server the only source is ::1.
    #[arg(long, default_value_t = 1)]
    pub sources: u32,
    /// Shared secret (L2TPv2 tunnel authentication; L2TPv3 with --digest).
    #[arg(long)]
    pub secret: Option<String>,
    /// L2TPv3 Control Message Authentication with this HMAC (needs --secret).
    #[arg(long, value_enum)]
    pub digest: Option<Digest>,
    /// Pseudowire type of the sessions (L2TPv2: ppp only).
    #[arg(long, value_enum, default_value_t = Pseudowire::Ppp)]
    pub pseudowire: Pseudowire,
    /// Print the report as JSON on stdout (progress lines then go to stderr).
    #[arg(long)]
    pub json: bool,
    /// Print a progress line every K sessions established (every K tunnels when
    /// --sessions-per-tunnel is 0); 0 = never.
    #[arg(long, default_value_t = 0)]
    pub report_every: u64,
    /// The server's process ID: its RSS (VmRSS) goes into progress lines and its CPU time into
    /// the report.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Receive Window Size we announce.
    #[arg(long, default_value_t = DEFAULT_WINDOW)]
    pub window: u16,
    /// First retransmission timeout in milliseconds (doubles per retry, capped at 8 s).
    #[arg(long, default_value_t = DEFAULT_RETRY_MS)]
    pub retry_ms: u64,
    /// Retransmissions of one message before a tunnel is declared down.
    #[arg(long, default_value_t = DEFAULT_RETRIES)]
    pub retries: u32,
    /// Send HELLO after this many idle seconds (default: never; the server's HELLOs are
    /// answered either way).
    #[arg(long)]
    pub hello: Option<f64>,
}

impl Options {
    /// The defaults of the command line, against `server`: one tunnel with one session.
    pub fn new(server: SocketAddr) -> Options {
        Options {
            server,
            version: 2,
            tunnels: 1,
            sessions_per_tunnel: 1,
            concurrency: DEFAULT_CONCURRENCY,
            rate: 0.0,
            hold: 0.0,
            teardown: false,
            timeout: DEFAULT_TIMEOUT_SECS,
            sources: 1,
            secret: None,
            digest: None,
            pseudowire: Pseudowire::Ppp,
            json: false,
            report_every: 0,
            server_pid: None,
            window: DEFAULT_WINDOW,
            retry_ms: DEFAULT_RETRY_MS,
            retries: DEFAULT_RETRIES,
            hello: None,
        }
    }

    /// Checks the options: loopback server only, bounded counts and times, consistent
    /// version-specific settings. The message says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if !self.server.ip().is_loopback() {
            return Err(format!(
                "--server {}: only loopback servers (127.0.0.0/8, ::1) may be loaded",
                self.server
            ));
        }
        if self.server.port() == 0 {
            return Err("--server: port 0".into());
        }
        if !(2..=3).contains(&self.version) {
            return Err("--version: 2 or 3".into());
        }
        if self.tunnels == 0 || self.tunnels > MAX_TUNNELS {
            return Err(format!("--tunnels: 1..={MAX_TUNNELS}"));
        }
        if self.sessions_per_tunnel > MAX_SESSIONS_PER_TUNNEL {
            return Err(format!(
                "--sessions-per-tunnel: at most {MAX_SESSIONS_PER_TUNNEL}"
            ));
        }
        if self.sessions_requested() > MAX_SESSIONS {
            return Err(format!("tunnels × sessions: at most {MAX_SESSIONS}"));
        }
        if self.concurrency == 0 {
            return Err("--concurrency: at least 1".into());
        }
        if !(self.rate == 0.0 || (0.01..=10_000_000.0).contains(&self.rate)) {
            return Err("--rate: 0 (unlimited) or 0.01..=10000000 tunnels/s".into());
        }
        if !self.hold.is_finite() || self.hold < 0.0 || self.hold > MAX_TIMEOUT_SECS {
            return Err(format!("--hold: 0..={MAX_TIMEOUT_SECS} seconds"));
        }
        if !self.timeout.is_finite() || self.timeout <= 0.0 || self.timeout > MAX_TIMEOUT_SECS {
            return Err(format!(
                "--timeout: more than 0, at most {MAX_TIMEOUT_SECS} seconds"
            ));
        }
        if let Some(h) = self.hello {
            if !h.is_finite() || !(0.1..=3600.0).contains(&h) {
                return Err("--hello: 0.1..=3600 seconds".into());
            }
        }
        match self.server.ip() {
            IpAddr::V4(_) if !(1..=254).contains(&self.sources) => {
                return Err("--sources: 1..=254".into())
            }
            IpAddr::V6(_) if self.sources != 1 => {
                return Err("--sources: an IPv6 server has one source (::1)".into())
            }
            _ => {}
        }
        if self.window == 0 {
            return Err("--window: at least 1".into());
        }
        if !(10..=60_000).contains(&self.retry_ms) {
            return Err("--retry-ms: 10..=60000".into());
        }
        if self.retries > 20 {
            return Err("--retries: at most 20".into());
        }
        if self.version == 2 && self.pseudowire != Pseudowire::Ppp {
            return Err("--pseudowire: L2TPv2 carries PPP only".into());
        }
        if self.digest.is_some() && (self.version != 3 || self.secret.is_none()) {
            return Err("--digest: L2TPv3 only, and needs --secret".into());
        }
        Ok(())
    }

    /// Tunnels × sessions per tunnel.
    pub fn sessions_requested(&self) -> u64 {
        u64::from(self.tunnels) * u64::from(self.sessions_per_tunnel)
    }

    /// The source addresses tunnels are spread over.
    pub fn source_addresses(&self) -> Vec<IpAddr> {
        match self.server.ip() {
            IpAddr::V6(_) => vec![self.server.ip()],
            IpAddr::V4(_) => (0..self.sources.min(254))
                .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + i as u8)))
                .collect(),
        }
    }

    fn retry_timeout(&self) -> Duration {
        Duration::from_millis(self.retry_ms)
    }
}

/// Why a run could not start (bad options, no epoll, too few file descriptors). Failures
/// during the run are counted in the [`Report`] instead.
#[derive(Debug)]
pub enum Error {
    /// The options are invalid ([`Options::validate`]).
    Options(String),
    /// The run could not be set up.
    Setup(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Options(m) => write!(f, "invalid options: {m}"),
            Error::Setup(m) => write!(f, "cannot start: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// Runs the load described by `opts` on the calling thread and returns its report.
/// `on_progress` is called with every progress record (`--report-every`) as it is taken.
/// Raises `RLIMIT_NOFILE` first (one socket per tunnel): to its hard limit, or beyond when
/// the process may.
pub fn run(opts: &Options, on_progress: &mut dyn FnMut(&Progress)) -> Result<Report, Error> {
    opts.validate().map_err(Error::Options)?;
    let need = u64::from(opts.tunnels) + 64;
    let limit = sys::raise_nofile_limit(need);
    if limit != 0 && limit < need {
        return Err(Error::Setup(format!(
            "{} tunnels need about {need} file descriptors, RLIMIT_NOFILE is {limit}",
            opts.tunnels
        )));
    }
    driver::Bench::new(opts)
        .map_err(|e| Error::Setup(e.to_string()))?
        .run(on_progress)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[test]
    fn command_line_is_consistent_and_defaults_match_new() {
        Options::command().debug_assert();
        let o = Options::parse_from(["l2tp-bench", "--server", "127.0.0.1:1701"]);
        assert_eq!(o, Options::new("127.0.0.1:1701".parse().unwrap()));
        let o = Options::parse_from(["l2tp-bench", "--server", "127.0.0.1:1701", "--version", "3"]);
        assert_eq!(o.version, 3);
    }

    #[test]
    fn only_loopback_servers_and_bounded_runs() {
        let ok = |s: &str| Options::new(s.parse().unwrap());
        assert!(ok("127.0.0.1:1701").validate().is_ok());
        assert!(ok("127.9.8.7:1701").validate().is_ok());
        assert!(ok("[::1]:1701").validate().is_ok());
        assert!(ok("10.0.0.1:1701").validate().is_err());
        assert!(ok("0.0.0.0:1701").validate().is_err());
        assert!(ok("[::]:1701").validate().is_err());
        assert!(ok("127.0.0.1:0").validate().is_err());
        let mut o = ok("127.0.0.1:1701");
        o.tunnels = MAX_TUNNELS + 1;
        assert!(o.validate().is_err());
        o.tunnels = 0;
        assert!(o.validate().is_err());
        let mut o = ok("127.0.0.1:1701");
        o.timeout = f64::INFINITY;
        assert!(o.validate().is_err());
        o.timeout = 0.0;
        assert!(o.validate().is_err());
        let mut o = ok("127.0.0.1:1701");
        for bad in [1e-300, -1.0, f64::NAN, f64::INFINITY] {
            o.rate = bad;
            assert!(o.validate().is_err(), "{bad}");
        }
        o.rate = 0.5;
        assert!(o.validate().is_ok());
        let mut o = ok("127.0.0.1:1701");
        o.sources = 255;
        assert!(o.validate().is_err());
        o.sources = 3;
        assert_eq!(
            o.source_addresses(),
            ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
                .map(|a| a.parse::<IpAddr>().unwrap())
                .to_vec()
        );
        let mut o = ok("[::1]:1701");
        o.sources = 2;
        assert!(o.validate().is_err());
        let mut o = ok("127.0.0.1:1701");
        o.pseudowire = Pseudowire::Eth;
        assert!(o.validate().is_err());
        o.version = 3;
        assert!(o.validate().is_ok());
        o.digest = Some(Digest::Md5);
        assert!(o.validate().is_err());
        o.secret = Some("s".into());
        assert!(o.validate().is_ok());
    }

    #[test]
    fn a_server_that_does_not_answer_fails_within_the_timeout() {
        // A bound UDP socket that never reads: SCCRQs go unanswered.
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut o = Options::new(silent.local_addr().unwrap());
        o.tunnels = 3;
        o.sessions_per_tunnel = 2;
        o.retry_ms = 50;
        o.retries = 2;
        o.timeout = 20.0;
        o.teardown = true;
        let r = run(&o, &mut |_| {}).unwrap();
        assert!(!r.ok());
        assert_eq!((r.tunnels_up, r.tunnels_failed), (0, 3));
        assert_eq!((r.sessions_up, r.sessions_failed), (0, 6));
        assert_eq!(r.sccrq_retransmits, 6, "{r:?}");
        assert_eq!(r.retransmits, 6);
        assert!(!r.timed_out);
        assert_eq!(r.tunnel_failures.len(), 1, "{:?}", r.tunnel_failures);
        assert!(r
            .tunnel_failures
            .keys()
            .next()
            .unwrap()
            .starts_with("timeout"));
        assert_eq!(r.teardown.unwrap().stopccn_sent, 0);
    }

    #[test]
    fn the_run_stops_at_its_timeout() {
        let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut o = Options::new(silent.local_addr().unwrap());
        o.tunnels = 5;
        o.concurrency = 2;
        o.timeout = 0.3;
        let t = std::time::Instant::now();
        let r = run(&o, &mut |_| {}).unwrap();
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(r.timed_out);
        assert_eq!(r.tunnels_failed, 5);
        assert_eq!(r.sessions_failed, 5);
        assert_eq!(r.tunnel_failures["not started before the run timeout"], 3);
    }
}
