//! Prometheus endpoint (`--metrics ADDR`): plain HTTP/1.1, `GET /metrics`, text exposition
//! format 0.0.4.
//!
//! Deliberately tiny: one request per connection (`Connection: close`), request head capped at
//! 8 KiB, 10 s per connection, at most 16 connections at once. Each scrape asks the runtime for
//! a fresh [`Context::status`] and [`Context::stats`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use l2tp_runtime::radius::{RadiusHandle, RadiusMetrics, ServerMetrics};
use l2tp_runtime::status::{RuntimeStats, TunnelStatus};
use l2tp_runtime::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

const MAX_HEAD: usize = 8192;
const MAX_CLIENTS: usize = 16;
const CONN_TIMEOUT: Duration = Duration::from_secs(10);

/// Checks the address policy: loopback only unless `allow_remote`.
pub fn check_addr(addr: SocketAddr, allow_remote: bool) -> anyhow::Result<()> {
    if !addr.ip().is_loopback() && !allow_remote {
        anyhow::bail!(
            "--metrics {addr}: not a loopback address; add --metrics-allow-remote to serve \
             metrics to other hosts"
        );
    }
    Ok(())
}

/// Accepts scrapes until the task is dropped.
pub async fn serve(listener: TcpListener, ctx: Context, radius: Option<RadiusHandle>) {
    let limit = Arc::new(Semaphore::new(MAX_CLIENTS));
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("metrics: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            continue; // Too many scrapers at once: drop the connection.
        };
        let ctx = ctx.clone();
        let radius = radius.clone();
        tokio::spawn(async move {
            let _permit = permit;
            if tokio::time::timeout(CONN_TIMEOUT, handle(stream, ctx, radius))
                .await
                .is_err()
            {
                tracing::debug!("metrics: connection timed out");
            }
        });
    }
}

async fn handle(mut stream: TcpStream, ctx: Context, radius: Option<RadiusHandle>) {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    loop {
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            break;
        }
        if head.len() > MAX_HEAD {
            let _ = respond(
                &mut stream,
                "431 Request Header Fields Too Large",
                "",
                false,
            )
            .await;
            return;
        }
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut parts = text.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        let _ = respond(&mut stream, "405 Method Not Allowed", "", false).await;
        return;
    }
    if path != "/metrics" {
        let _ = respond(&mut stream, "404 Not Found", "try /metrics\n", head_only).await;
        return;
    }
    let body = match (ctx.status().await, ctx.stats().await) {
        (Ok(status), Ok(stats)) => {
            let mut body = render(&status, &stats);
            if let Some(p) = crate::PPPOE.get() {
                body.push_str(&render_pppoe(&p.status().await));
            }
            if let Some(m) = match &radius {
                Some(r) => r.metrics().await,
                None => None,
            } {
                body.push_str(&render_radius(&m));
            }
            body
        }
        _ => {
            let _ = respond(
                &mut stream,
                "503 Service Unavailable",
                "runtime stopped\n",
                head_only,
            )
            .await;
            return;
        }
    };
    let _ = respond(&mut stream, "200 OK", &body, head_only).await;
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    body: &str,
    head_only: bool,
) -> std::io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if !head_only {
        out.push_str(body);
    }
    stream.write_all(out.as_bytes()).await?;
    stream.shutdown().await
}

/// Escapes a label value (`\`, `"`, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The PPPoE access concentrator's families: sessions per interface, Discovery frames by
/// code and direction, refusals by reason.
pub fn render_pppoe(st: &[l2tp_runtime::pppoe::PppoeInterfaceStatus]) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "l2tp_pppoe_sessions",
        "gauge",
        "PPPoE sessions held, by interface.",
    );
    for i in st {
        let _ = writeln!(
            out,
            "l2tp_pppoe_sessions{{interface=\"{}\"}} {}",
            label(&i.interface),
            i.sessions.len()
        );
    }
    family(
        &mut out,
        "l2tp_pppoe_discovery_total",
        "counter",
        "PPPoE Discovery frames, by interface, code and direction.",
    );
    for i in st {
        let c = &i.counters;
        for (code, dir, n) in [
            ("padi", "rx", c.padi_in),
            ("pado", "tx", c.pado_out),
            ("padr", "rx", c.padr_in),
            ("pads", "tx", c.pads_out),
            ("pads_error", "tx", c.pads_error_out),
            ("padt", "rx", c.padt_in),
            ("padt", "tx", c.padt_out),
        ] {
            let _ = writeln!(
                out,
                "l2tp_pppoe_discovery_total{{interface=\"{}\",code=\"{code}\",direction=\"{dir}\"}} {n}",
                label(&i.interface)
            );
        }
    }
    family(
        &mut out,
        "l2tp_pppoe_refused_total",
        "counter",
        "PPPoE Discovery frames refused or dropped, by interface and reason.",
    );
    for i in st {
        let c = &i.counters;
        for (why, n) in [
            ("bad_cookie", c.bad_cookie),
            ("malformed", c.malformed),
            ("rate_limited", c.rate_limited),
            ("refused", c.refused),
            ("tx_error", c.tx_errors),
        ] {
            let _ = writeln!(
                out,
                "l2tp_pppoe_refused_total{{interface=\"{}\",reason=\"{why}\"}} {n}",
                label(&i.interface)
            );
        }
    }
    out
}

/// The RADIUS client's counters (`[radius]`): per server and kind (`server`, `kind` =
/// auth|acct labels) requests, retransmissions, timeouts, accepts, rejects, accounting
/// responses, dropped responses and whether it is dead; accounting queue length and drops,
/// Access-Requests no server answered, DAE requests, NAKs and drops.
pub fn render_radius(m: &RadiusMetrics) -> String {
    let mut out = String::new();
    type Get = fn(&ServerMetrics) -> u64;
    let per_server: [(&str, &str, &str, Get); 8] = [
        (
            "l2tp_radius_requests_total",
            "counter",
            "RADIUS requests sent (first transmissions).",
            |s| s.requests,
        ),
        (
            "l2tp_radius_retransmissions_total",
            "counter",
            "RADIUS retransmissions.",
            |s| s.retransmissions,
        ),
        (
            "l2tp_radius_timeouts_total",
            "counter",
            "RADIUS requests that used up their retransmissions on this server.",
            |s| s.timeouts,
        ),
        (
            "l2tp_radius_accepts_total",
            "counter",
            "Access-Accepts received.",
            |s| s.accepts,
        ),
        (
            "l2tp_radius_rejects_total",
            "counter",
            "Access-Rejects (and refused Access-Challenges) received.",
            |s| s.rejects,
        ),
        (
            "l2tp_radius_acct_responses_total",
            "counter",
            "Accounting-Responses received.",
            |s| s.acct_responses,
        ),
        (
            "l2tp_radius_dropped_responses_total",
            "counter",
            "Responses dropped: bad authenticator, unmatched or malformed.",
            |s| s.dropped_responses,
        ),
        (
            "l2tp_radius_server_dead",
            "gauge",
            "1 while the server is marked dead after a timeout.",
            |s| u64::from(s.dead),
        ),
    ];
    for (name, kind, help, get) in per_server {
        family(&mut out, name, kind, help);
        for s in &m.servers {
            let _ = writeln!(
                out,
                "{name}{{server=\"{}\",kind=\"{}\"}} {}",
                label(&s.name),
                s.kind,
                get(s)
            );
        }
    }
    for (name, kind, help, v) in [
        (
            "l2tp_radius_auth_timeouts_total",
            "counter",
            "Access-Requests no server answered (peer refused).",
            m.auth_timeouts,
        ),
        (
            "l2tp_radius_acct_dropped_total",
            "counter",
            "Accounting requests dropped from the full queue.",
            m.acct_dropped,
        ),
        (
            "l2tp_radius_acct_queued",
            "gauge",
            "Accounting requests waiting for a live server.",
            m.acct_queued,
        ),
        (
            "l2tp_radius_sessions",
            "gauge",
            "Sessions with RADIUS accounting running.",
            m.sessions,
        ),
        (
            "l2tp_radius_channel_drops_total",
            "counter",
            "Checks and session events refused: the RADIUS task's queue was full.",
            m.channel_drops,
        ),
        (
            "l2tp_radius_dae_requests_total",
            "counter",
            "Disconnect/CoA requests handled.",
            m.dae_requests,
        ),
        (
            "l2tp_radius_dae_naks_total",
            "counter",
            "Disconnect/CoA NAKs sent.",
            m.dae_naks,
        ),
        (
            "l2tp_radius_dae_dropped_total",
            "counter",
            "DAE datagrams dropped (unknown client, bad authenticator, not a request).",
            m.dae_dropped,
        ),
    ] {
        family(&mut out, name, kind, help);
        let _ = writeln!(out, "{name} {v}");
    }
    out
}

/// The exposition text for one snapshot.
pub fn render(status: &[TunnelStatus], stats: &RuntimeStats) -> String {
    let mut out = String::new();

    let mut tunnels: BTreeMap<&str, u64> = BTreeMap::new();
    let mut sessions: BTreeMap<&str, u64> = BTreeMap::new();
    tunnels.insert("established", 0);
    sessions.insert("established", 0);
    sessions.insert("establishing", 0);
    // Listeners and recently downed objects (kept for `show`) are not tunnels or sessions
    // in any state a gauge should count.
    for t in status {
        if t.kind == "listener" || t.state == "down" {
            continue;
        }
        *tunnels.entry(&t.state).or_default() += 1;
        for s in t.sessions.iter().filter(|s| s.state != "down") {
            *sessions.entry(&s.state).or_default() += 1;
        }
    }
    family(&mut out, "l2tp_tunnels", "gauge", "Tunnels by state.");
    for (state, n) in &tunnels {
        let _ = writeln!(out, "l2tp_tunnels{{state=\"{}\"}} {n}", label(state));
    }
    family(
        &mut out,
        "l2tp_tunnels_half_open",
        "gauge",
        "Tunnels known and not established yet.",
    );
    let half_open = stats.tunnels_half_open();
    let _ = writeln!(out, "l2tp_tunnels_half_open {half_open}");
    family(&mut out, "l2tp_sessions", "gauge", "Sessions by state.");
    for (state, n) in &sessions {
        let _ = writeln!(out, "l2tp_sessions{{state=\"{}\"}} {n}", label(state));
    }

    let e = &stats.endpoint.engine;
    family(
        &mut out,
        "l2tp_control_messages_total",
        "counter",
        "Control messages (excluding ZLB acknowledgements).",
    );
    let _ = writeln!(
        out,
        "l2tp_control_messages_total{{direction=\"rx\"}} {}",
        e.control_rx
    );
    let _ = writeln!(
        out,
        "l2tp_control_messages_total{{direction=\"tx\"}} {}",
        e.control_tx
    );
    let scalars: [(&str, &str, u64); 18] = [
        (
            "l2tp_retransmits_total",
            "Control message retransmissions.",
            e.retransmits,
        ),
        (
            "l2tp_malformed_total",
            "Datagrams that failed to parse.",
            e.malformed,
        ),
        (
            "l2tp_auth_failures_total",
            "Control messages dropped for a wrong or missing Message Digest (L2TPv3).",
            e.auth_failures,
        ),
        (
            "l2tp_dataplane_errors_total",
            "Data plane operations that failed.",
            stats.dataplane_errors,
        ),
        (
            "l2tp_send_errors_total",
            "Datagrams the OS refused to send.",
            stats.send_errors,
        ),
        (
            "l2tp_unknown_tunnel_total",
            "Datagrams for no known tunnel.",
            e.unknown_tunnel,
        ),
        (
            "l2tp_duplicates_total",
            "Duplicate control messages received.",
            e.duplicates,
        ),
        ("l2tp_zlb_tx_total", "ZLB acknowledgements sent.", e.zlb_tx),
        (
            "l2tp_tunnels_accepted_total",
            "Tunnels accepted from peers.",
            e.tunnels_accepted,
        ),
        (
            "l2tp_refused_peers_total",
            "Datagrams from addresses not in accept_peers, dropped.",
            stats.endpoint.refused_peers,
        ),
        (
            "l2tp_wrong_source_total",
            "Datagrams for a tunnel from another address or port than its peer's, dropped.",
            e.wrong_source,
        ),
        (
            "l2tp_wrong_tunnel_id_total",
            "StopCCNs naming another tunnel than the peer's, dropped.",
            e.wrong_tunnel_id,
        ),
        (
            "l2tp_half_open_evicted_total",
            "Half-open tunnels evicted to make room for new SCCRQs (max_half_open).",
            e.half_open_evicted,
        ),
        (
            "l2tp_refused_peer_limit_total",
            "SCCRQs dropped because the peer has max_tunnels_per_peer tunnels.",
            e.refused_peer_limit,
        ),
        (
            "l2tp_data_ignored_total",
            "Data messages that reached the control plane and were dropped.",
            e.data_ignored,
        ),
        (
            "l2tp_unsupported_total",
            "Control messages of an unsupported type or version, dropped or refused.",
            e.unsupported,
        ),
        (
            "l2tp_encode_errors_total",
            "Control messages that could not be encoded (not sent).",
            e.encode_errors,
        ),
        (
            "l2tp_tie_breaks_lost_by_peer_total",
            "Incoming SCCRQs that lost the tie breaker to our own SCCRQ (RFC 2661 section 5.1).",
            e.tie_breaks_lost_by_peer,
        ),
    ];
    for (name, help, v) in scalars {
        family(&mut out, name, "counter", help);
        let _ = writeln!(out, "{name} {v}");
    }

    let f = &stats.ppp_auth_failures;
    family(
        &mut out,
        "l2tp_ppp_auth_failures_total",
        "counter",
        "PPP authentications failed, sessions terminated in this process, by method.",
    );
    for (method, v) in [("pap", f.pap), ("chap", f.chap), ("mschapv2", f.mschapv2)] {
        let _ = writeln!(
            out,
            "l2tp_ppp_auth_failures_total{{method=\"{method}\"}} {v}"
        );
    }

    type Get = fn(&l2tp_runtime::dataplane::SessionStats) -> u64;
    let per_session: [(&str, &str, Get); 10] = [
        ("rx_packets", "Data packets received.", |s| s.rx_packets),
        ("tx_packets", "Data packets sent.", |s| s.tx_packets),
        ("rx_bytes", "Data bytes received.", |s| s.rx_bytes),
        ("tx_bytes", "Data bytes sent.", |s| s.tx_bytes),
        ("rx_errors", "Data receive errors (every discard).", |s| {
            s.rx_errors
        }),
        ("tx_errors", "Data send errors.", |s| s.tx_errors),
        (
            "rx_cookie_discards",
            "Data packets discarded for a wrong cookie.",
            |s| s.rx_cookie_discards,
        ),
        (
            "rx_seq_discards",
            "Data packets discarded for their sequence number.",
            |s| s.rx_seq_discards,
        ),
        (
            "rx_oos_packets",
            "Data packets received out of sequence.",
            |s| s.rx_oos_packets,
        ),
        (
            "rx_invalid",
            "Data packets that could not belong to the session (bad header, wrong sender).",
            |s| s.rx_invalid,
        ),
    ];
    let with_stats: Vec<(&TunnelStatus, &l2tp_runtime::status::SessionStatus)> = status
        .iter()
        .flat_map(|t| t.sessions.iter().map(move |s| (t, s)))
        .filter(|(_, s)| s.stats.is_some())
        .collect();
    if !with_stats.is_empty() {
        for (what, help, get) in per_session {
            let name = format!("l2tp_session_{what}_total");
            family(&mut out, &name, "counter", help);
            for (t, s) in &with_stats {
                if let Some(st) = &s.stats {
                    let _ = writeln!(
                        out,
                        "{name}{{tunnel=\"{}\",session=\"{}\"}} {}",
                        label(&t.name),
                        label(&s.name),
                        get(st)
                    );
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use l2tp_runtime::dataplane::SessionStats;
    use l2tp_runtime::status::SessionStatus;

    fn tunnel(name: &str, state: &str, sessions: Vec<SessionStatus>) -> TunnelStatus {
        TunnelStatus {
            name: name.into(),
            id: 1,
            kind: "dynamic".into(),
            state: state.into(),
            version: "l2tpv2".into(),
            encap: "udp".into(),
            sessions,
            ..TunnelStatus::default()
        }
    }

    #[test]
    fn renders_states_counters_and_session_counters() {
        let s = SessionStatus {
            name: "s\"1".into(),
            id: 7,
            peer_id: 8,
            pseudowire: "ppp".into(),
            state: "established".into(),
            interface: None,
            stats: Some(SessionStats {
                rx_packets: 42,
                ..SessionStats::default()
            }),
            last_error: None,
            username: None,
            address: None,
            class: None,
            ppp: None,
        };
        let status = vec![
            tunnel("a", "established", vec![s]),
            tunnel("b", "waitctlreply", vec![]),
        ];
        let mut stats = RuntimeStats::default();
        stats.endpoint.engine.control_rx = 5;
        stats.endpoint.engine.retransmits = 2;
        let text = render(&status, &stats);
        assert!(text.contains("l2tp_tunnels{state=\"established\"} 1\n"));
        assert!(text.contains("l2tp_tunnels{state=\"waitctlreply\"} 1\n"));
        assert!(text.contains("l2tp_sessions{state=\"established\"} 1\n"));
        assert!(text.contains("l2tp_sessions{state=\"establishing\"} 0\n"));
        assert!(text.contains("l2tp_control_messages_total{direction=\"rx\"} 5\n"));
        assert!(text.contains("l2tp_retransmits_total 2\n"));
        assert!(text.contains("l2tp_auth_failures_total 0\n"));
        assert!(
            text.contains("l2tp_session_rx_packets_total{tunnel=\"a\",session=\"s\\\"1\"} 42\n")
        );
    }

    /// Every counter of `RuntimeStats` (however many it gets) is exported: each is given a
    /// distinct value, which must show up as a sample.
    #[test]
    fn pppoe_families_count_discovery_by_code_and_refusals() {
        use l2tp_runtime::pppoe::{PppoeCounters, PppoeInterfaceStatus};
        let st = vec![PppoeInterfaceStatus {
            interface: "eth1".into(),
            counters: PppoeCounters {
                padi_in: 7,
                padt_out: 2,
                bad_cookie: 3,
                ..Default::default()
            },
            sessions: Vec::new(),
        }];
        let text = render_pppoe(&st);
        assert!(text.contains("l2tp_pppoe_sessions{interface=\"eth1\"} 0\n"));
        assert!(text.contains(
            "l2tp_pppoe_discovery_total{interface=\"eth1\",code=\"padi\",direction=\"rx\"} 7\n"
        ));
        assert!(text.contains(
            "l2tp_pppoe_discovery_total{interface=\"eth1\",code=\"padt\",direction=\"tx\"} 2\n"
        ));
        assert!(
            text.contains("l2tp_pppoe_refused_total{interface=\"eth1\",reason=\"bad_cookie\"} 3\n")
        );
    }

    #[test]
    fn every_runtime_counter_is_exported() {
        fn number_leaves(
            v: &mut serde_json::Value,
            next: &mut u64,
            path: String,
        ) -> Vec<(String, u64)> {
            match v {
                serde_json::Value::Object(m) => m
                    .iter_mut()
                    .flat_map(|(k, x)| number_leaves(x, next, format!("{path}{k}.")))
                    .collect(),
                serde_json::Value::Number(_) => {
                    *next += 1;
                    *v = (*next * 1000 + 7).into();
                    vec![(path, *next * 1000 + 7)]
                }
                _ => vec![],
            }
        }
        let mut v = serde_json::to_value(RuntimeStats::default()).unwrap();
        let mut next = 0;
        let leaves = number_leaves(&mut v, &mut next, String::new());
        assert!(leaves.len() >= 16, "{leaves:?}");
        let stats: RuntimeStats = serde_json::from_value(v).unwrap();
        let text = render(&[], &stats);
        for (field, value) in leaves {
            // Tunnel and session totals are gauges by state, from the status.
            if ["tunnels.", "tunnels_up.", "sessions.", "sessions_up."].contains(&field.as_str()) {
                continue;
            }
            assert!(
                text.lines()
                    .any(|l| !l.starts_with('#') && l.ends_with(&format!(" {value}"))),
                "{field} is not exported:\n{text}"
            );
        }
        for name in [
            "l2tp_refused_peers_total",
            "l2tp_auth_failures_total",
            "l2tp_malformed_total",
            "l2tp_unknown_tunnel_total",
            "l2tp_retransmits_total",
            "l2tp_send_errors_total",
            "l2tp_dataplane_errors_total",
        ] {
            assert!(text.contains(&format!("# TYPE {name} counter\n")), "{name}");
        }
    }

    /// PPP authentication failures are one counter family, labelled by method, each method
    /// with its own count (zeros exported too, so that rate() works from the start).
    #[test]
    fn ppp_auth_failures_are_counted_by_method() {
        let stats = RuntimeStats {
            ppp_auth_failures: l2tp_runtime::status::PppAuthFailures {
                pap: 0,
                chap: 3,
                mschapv2: 5,
            },
            ..RuntimeStats::default()
        };
        let text = render(&[], &stats);
        assert!(
            text.contains("# TYPE l2tp_ppp_auth_failures_total counter\n"),
            "{text}"
        );
        for line in [
            "l2tp_ppp_auth_failures_total{method=\"pap\"} 0\n",
            "l2tp_ppp_auth_failures_total{method=\"chap\"} 3\n",
            "l2tp_ppp_auth_failures_total{method=\"mschapv2\"} 5\n",
        ] {
            assert!(text.contains(line), "{line} missing:\n{text}");
        }
    }

    #[test]
    fn half_open_gauge_counts_tunnels_not_yet_established() {
        let stats = RuntimeStats {
            tunnels: 5,
            tunnels_up: 3,
            ..RuntimeStats::default()
        };
        let text = render(&[], &stats);
        assert!(
            text.contains("# TYPE l2tp_tunnels_half_open gauge\nl2tp_tunnels_half_open 2\n"),
            "{text}"
        );
        let text = render(&[], &RuntimeStats::default());
        assert!(text.contains("\nl2tp_tunnels_half_open 0\n"), "{text}");
    }

    #[test]
    fn refuses_remote_addresses_unless_allowed() {
        assert!(check_addr("127.0.0.1:9701".parse().unwrap(), false).is_ok());
        assert!(check_addr("[::1]:9701".parse().unwrap(), false).is_ok());
        let e = check_addr("0.0.0.0:9701".parse().unwrap(), false).unwrap_err();
        assert!(e.to_string().contains("--metrics-allow-remote"));
        assert!(check_addr("0.0.0.0:9701".parse().unwrap(), true).is_ok());
    }

    #[test]
    fn radius_counters_are_exported_per_server_and_kind() {
        use l2tp_runtime::radius::{RadiusMetrics, ServerMetrics};
        let m = RadiusMetrics {
            servers: vec![
                ServerMetrics {
                    name: "first".into(),
                    kind: "auth",
                    timeouts: 2,
                    dead: true,
                    ..ServerMetrics::default()
                },
                ServerMetrics {
                    name: "second".into(),
                    kind: "auth",
                    accepts: 5,
                    ..ServerMetrics::default()
                },
            ],
            acct_dropped: 3,
            ..RadiusMetrics::default()
        };
        let text = render_radius(&m);
        assert!(
            text.contains("l2tp_radius_timeouts_total{server=\"first\",kind=\"auth\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("l2tp_radius_server_dead{server=\"first\",kind=\"auth\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("l2tp_radius_accepts_total{server=\"second\",kind=\"auth\"} 5\n"),
            "{text}"
        );
        assert!(
            text.contains("l2tp_radius_acct_dropped_total 3\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE l2tp_radius_acct_queued gauge\n"),
            "{text}"
        );
    }
}
