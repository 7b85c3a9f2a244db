//! The report of a run, its progress records, and how both are printed.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use l2tp_proto::endpoint::DownReason;
use l2tp_proto::wire::ResultCode;
use serde::Serialize;

/// Latency distribution of a set-up step, milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

impl Latency {
    /// The distribution of `samples` (milliseconds; sorted in place).
    pub fn of(samples: &mut [f64]) -> Latency {
        if samples.is_empty() {
            return Latency::default();
        }
        samples.sort_by(f64::total_cmp);
        let n = samples.len();
        // Nearest-rank percentile.
        let rank = |p: f64| samples[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
        Latency {
            count: n as u64,
            p50_ms: rank(0.50),
            p99_ms: rank(0.99),
            max_ms: samples[n - 1],
        }
    }
}

/// One progress record, taken every `--report-every` sessions established.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// Seconds since the first SCCRQ.
    pub elapsed: f64,
    /// Sessions held (established and not gone down) now.
    pub sessions: u64,
    /// Tunnels held (established and not gone down) now.
    pub tunnels: u64,
    /// Sessions (tunnels, with no sessions per tunnel) established so far, cumulative.
    pub established: u64,
    /// Cumulative set-up rate: `established / elapsed`, per second.
    pub rate: f64,
    /// Set-up rate over the interval since the previous record, per second.
    pub interval_rate: f64,
    /// The server's VmRSS in kB (with `--server-pid`).
    pub server_rss_kb: Option<u64>,
}

impl Progress {
    /// The progress line: `progress key=value …`, fixed key order; `server_rss_kb` only when
    /// known.
    pub fn line(&self) -> String {
        let mut s = format!(
            "progress elapsed={:.3} sessions={} tunnels={} established={} rate={:.1} interval_rate={:.1}",
            self.elapsed, self.sessions, self.tunnels, self.established, self.rate, self.interval_rate
        );
        if let Some(kb) = self.server_rss_kb {
            let _ = write!(s, " server_rss_kb={kb}");
        }
        s
    }
}

/// How the teardown went (`--teardown`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Teardown {
    /// StopCCNs sent (one per tunnel that was up).
    pub stopccn_sent: u64,
    /// StopCCNs the server acknowledged.
    pub stopccn_acked: u64,
    /// StopCCNs whose retransmissions ran out, or still unanswered when the run ended.
    pub stopccn_unacked: u64,
    /// Seconds from the first StopCCN to the last tunnel down.
    pub seconds: f64,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// The server loaded.
    pub server: String,
    /// L2TP version (2 or 3).
    pub version: u8,
    /// Tunnels asked for.
    pub tunnels_requested: u64,
    /// Tunnels that came up (TunnelUp).
    pub tunnels_up: u64,
    /// Tunnels that never came up (including those never started before the run's timeout).
    pub tunnels_failed: u64,
    /// Tunnels that came up and later went down without our StopCCN.
    pub tunnels_lost: u64,
    /// Sessions asked for (tunnels × sessions per tunnel).
    pub sessions_requested: u64,
    /// Sessions that came up (SessionUp).
    pub sessions_up: u64,
    /// Sessions that never came up (CDN, timeout, their tunnel failed, never opened).
    pub sessions_failed: u64,
    /// Sessions that came up and later went down without our StopCCN.
    pub sessions_lost: u64,
    /// Tunnel failures and losses by cause (count).
    pub tunnel_failures: BTreeMap<String, u64>,
    /// Session failures and losses by cause (count).
    pub session_failures: BTreeMap<String, u64>,
    /// Seconds from the first SCCRQ to the last session up (last tunnel up without sessions).
    pub setup_seconds: f64,
    /// Tunnels up per second of `setup_seconds`.
    pub tunnels_per_second: f64,
    /// Sessions up per second of `setup_seconds`.
    pub sessions_per_second: f64,
    /// SCCRQ sent → TunnelUp.
    pub tunnel_latency: Latency,
    /// `open_session` (ICRQ queued, right after TunnelUp) → SessionUp.
    pub session_latency: Latency,
    /// Control message retransmissions, all kinds.
    pub retransmits: u64,
    /// SCCRQ retransmissions (before the server's first reply in each tunnel).
    pub sccrq_retransmits: u64,
    /// Datagrams that could not be sent (socket buffer full, errors); retransmission covers
    /// them.
    pub send_errors: u64,
    /// Received datagrams the core dropped (malformed, unknown tunnel, unsupported, failed
    /// authentication).
    pub dropped_rx: u64,
    /// Of those, L2TPv3 messages with a missing or wrong Message Digest.
    pub auth_failures: u64,
    /// Teardown figures, with `--teardown`.
    pub teardown: Option<Teardown>,
    /// The run hit `--timeout` before it was done.
    pub timed_out: bool,
    /// Seconds the whole run took.
    pub elapsed_seconds: f64,
    /// CPU seconds the generator used during set-up.
    pub setup_cpu_seconds: f64,
    /// CPU seconds the generator used over the whole run.
    pub cpu_seconds: f64,
    /// CPU seconds the server used during set-up (with `--server-pid`).
    pub server_setup_cpu_seconds: Option<f64>,
    /// CPU seconds the server used over the whole run (with `--server-pid`).
    pub server_cpu_seconds: Option<f64>,
    /// The server's VmRSS at the end of set-up, kB (with `--server-pid`).
    pub server_rss_kb: Option<u64>,
    /// The server's peak RSS (VmHWM) at the end of the run, kB (with `--server-pid`).
    pub server_peak_rss_kb: Option<u64>,
    /// Progress records (`--report-every`).
    pub progress: Vec<Progress>,
}

impl Report {
    /// True when every tunnel and session asked for came up, none was lost, the run did not
    /// time out and, with teardown, every StopCCN was acknowledged.
    pub fn ok(&self) -> bool {
        self.tunnels_up == self.tunnels_requested
            && self.sessions_up == self.sessions_requested
            && self.tunnels_failed == 0
            && self.sessions_failed == 0
            && self.tunnels_lost == 0
            && self.sessions_lost == 0
            && !self.timed_out
            && self
                .teardown
                .as_ref()
                .is_none_or(|t| t.stopccn_unacked == 0 && t.stopccn_acked == t.stopccn_sent)
    }

    /// The report for people: one figure per line.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "server           {} (L2TPv{})",
            self.server, self.version
        );
        let _ = writeln!(
            s,
            "tunnels          {} requested, {} up, {} failed, {} lost",
            self.tunnels_requested, self.tunnels_up, self.tunnels_failed, self.tunnels_lost
        );
        let _ = writeln!(
            s,
            "sessions         {} requested, {} up, {} failed, {} lost",
            self.sessions_requested, self.sessions_up, self.sessions_failed, self.sessions_lost
        );
        for (cause, n) in &self.tunnel_failures {
            let _ = writeln!(s, "  tunnel failure   {n} × {cause}");
        }
        for (cause, n) in &self.session_failures {
            let _ = writeln!(s, "  session failure  {n} × {cause}");
        }
        let _ = writeln!(
            s,
            "set-up           {:.3} s: {:.1} tunnels/s, {:.1} sessions/s",
            self.setup_seconds, self.tunnels_per_second, self.sessions_per_second
        );
        let lat = |l: &Latency| {
            format!(
                "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} samples)",
                l.p50_ms, l.p99_ms, l.max_ms, l.count
            )
        };
        let _ = writeln!(s, "tunnel latency   {}", lat(&self.tunnel_latency));
        let _ = writeln!(s, "session latency  {}", lat(&self.session_latency));
        let _ = writeln!(
            s,
            "retransmissions  {} ({} SCCRQ); {} send errors, {} received datagrams dropped ({} failed authentication)",
            self.retransmits, self.sccrq_retransmits, self.send_errors, self.dropped_rx, self.auth_failures
        );
        if let Some(t) = &self.teardown {
            let _ = writeln!(
                s,
                "teardown         {:.3} s: {} StopCCN sent, {} acknowledged, {} not",
                t.seconds, t.stopccn_sent, t.stopccn_acked, t.stopccn_unacked
            );
        }
        let _ = write!(
            s,
            "cpu              generator {:.2} s during set-up, {:.2} s in all",
            self.setup_cpu_seconds, self.cpu_seconds
        );
        if let (Some(a), Some(b)) = (self.server_setup_cpu_seconds, self.server_cpu_seconds) {
            let _ = write!(s, "; server {a:.2} s during set-up, {b:.2} s in all");
        }
        s.push('\n');
        if let Some(kb) = self.server_rss_kb {
            let _ = writeln!(
                s,
                "server memory    {kb} kB RSS after set-up, {} kB peak",
                self.server_peak_rss_kb.unwrap_or(0)
            );
        }
        let _ = writeln!(
            s,
            "run              {:.3} s{}; {}",
            self.elapsed_seconds,
            if self.timed_out { ", TIMED OUT" } else { "" },
            if self.ok() { "OK" } else { "FAILED" }
        );
        s
    }
}

/// Human name of a StopCCN (`tunnel`) or CDN result code (the core's tables).
fn result_name(tunnel: bool, result: u16) -> &'static str {
    if tunnel {
        l2tp_proto::wire::result::stopccn_name(result)
    } else {
        l2tp_proto::wire::result::cdn_name(result)
    }
}

/// Human name of a general error code (the core's table).
fn error_name(error: u16) -> &'static str {
    l2tp_proto::wire::error_code::name(error)
}

/// `result N (name)[, error N (name)][, "message"]`.
fn result_text(tunnel: bool, rc: &ResultCode) -> String {
    let mut s = format!("result {} ({})", rc.result, result_name(tunnel, rc.result));
    if let Some(e) = rc.error {
        if e != 0 {
            let _ = write!(s, ", error {e} ({})", error_name(e));
        }
    }
    if let Some(m) = rc.message.as_deref().filter(|m| !m.is_empty()) {
        let m: String = String::from_utf8_lossy(m)
            .chars()
            .filter(|c| !c.is_control())
            .take(80)
            .collect();
        let _ = write!(s, ", \"{m}\"");
    }
    s
}

/// The cause of a tunnel (`tunnel`) or session going down, as a failure key.
pub fn reason_text(tunnel: bool, reason: &DownReason) -> String {
    let msg = if tunnel { "StopCCN" } else { "CDN" };
    match reason {
        DownReason::Local(rc) => format!("we sent {msg}: {}", result_text(tunnel, rc)),
        DownReason::Peer(rc) => format!("server sent {msg}: {}", result_text(tunnel, rc)),
        DownReason::Timeout => "timeout: the server stopped acknowledging".into(),
        DownReason::Protocol(rc) => {
            format!("protocol error, we sent {msg}: {}", result_text(tunnel, rc))
        }
        DownReason::TunnelDown => "its tunnel went down".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let l = Latency::of(&mut v);
        assert_eq!(
            (l.count, l.p50_ms, l.p99_ms, l.max_ms),
            (100, 50.0, 99.0, 100.0)
        );
        let l = Latency::of(&mut [3.0]);
        assert_eq!((l.p50_ms, l.p99_ms, l.max_ms), (3.0, 3.0, 3.0));
        assert_eq!(Latency::of(&mut []), Latency::default());
    }

    #[test]
    fn reasons_name_the_result_and_error() {
        let rc = ResultCode {
            result: 2,
            error: Some(4),
            message: Some(b"too many\n".to_vec()),
        };
        assert_eq!(
            reason_text(true, &DownReason::Peer(rc.clone())),
            "server sent StopCCN: result 2 (general error), error 4 (insufficient resources), \"too many\""
        );
        assert_eq!(
            reason_text(
                false,
                &DownReason::Peer(ResultCode {
                    result: 4,
                    error: None,
                    message: None
                })
            ),
            "server sent CDN: result 4 (no facilities (temporary))"
        );
    }

    #[test]
    fn progress_line_is_key_value() {
        let p = Progress {
            elapsed: 1.5,
            sessions: 10,
            tunnels: 2,
            established: 10,
            rate: 6.666,
            interval_rate: 5.0,
            server_rss_kb: Some(100),
        };
        assert_eq!(
            p.line(),
            "progress elapsed=1.500 sessions=10 tunnels=2 established=10 rate=6.7 interval_rate=5.0 server_rss_kb=100"
        );
    }
}
