//! Load smoke test: the load generator (`l2tp-bench`, as a library) against `l2tpd -null` as
//! LNS on loopback. Asserts that every tunnel and session comes up and every StopCCN is
//! acknowledged; it does not time anything (the bounds are generous for a busy machine).

mod common;

use common::{Daemon, TempDir};
use l2tp_bench::{Options, Report};

/// A UDP port on 127.0.0.1 that nobody holds: bound and released, then checked free again.
fn free_port() -> u16 {
    loop {
        let port = common::free_udp_port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn lns_config(port: u16, version: &str) -> String {
    format!(
        r#"
[tunnel.lns]
listen = true
local = "127.0.0.1:{port}"
version = "{version}"
host_name = "lns.test"

[tunnel.lns.session.tmpl]
pseudowire = "ppp"
"#
    )
}

fn load(port: u16, version: u8, tunnels: u32, sessions: u32) -> Report {
    let mut o = Options::new(format!("127.0.0.1:{port}").parse().unwrap());
    o.version = version;
    o.tunnels = tunnels;
    o.sessions_per_tunnel = sessions;
    o.concurrency = 16;
    o.sources = 4;
    o.teardown = true;
    o.timeout = 240.0;
    o.report_every = 1000;
    let mut lines = 0;
    let r = l2tp_bench::run(&o, &mut |_| lines += 1).expect("run the load generator");
    assert_eq!(lines, r.progress.len());
    r
}

fn assert_all_up_and_down(r: &Report, tunnels: u64, sessions: u64, log: &str) {
    let ctx = format!(
        "{}\nreport: {r:#?}\nl2tpd log (tail):\n{}",
        r.text(),
        tail(log)
    );
    assert!(!r.timed_out, "timed out\n{ctx}");
    assert_eq!(r.tunnels_requested, tunnels, "{ctx}");
    assert_eq!(r.tunnels_up, tunnels, "{ctx}");
    assert_eq!(r.tunnels_failed + r.tunnels_lost, 0, "{ctx}");
    assert_eq!(r.sessions_requested, tunnels * sessions, "{ctx}");
    assert_eq!(r.sessions_up, tunnels * sessions, "{ctx}");
    assert_eq!(r.sessions_failed + r.sessions_lost, 0, "{ctx}");
    assert!(
        r.tunnel_failures.is_empty() && r.session_failures.is_empty(),
        "{ctx}"
    );
    let td = r.teardown.as_ref().expect("teardown figures");
    assert_eq!(td.stopccn_sent, tunnels, "{ctx}");
    assert_eq!(td.stopccn_acked, tunnels, "{ctx}");
    assert_eq!(td.stopccn_unacked, 0, "{ctx}");
    assert_eq!(r.session_latency.count, tunnels * sessions, "{ctx}");
    assert_eq!(
        r.progress.last().map(|p| p.established),
        Some(tunnels * sessions)
    );
    assert!(r.ok(), "{ctx}");
}

/// The server accepted `tunnels` tunnels and holds none of them (nor a session) any more.
fn assert_server_empty(d: &Daemon, tunnels: u64) {
    let stats = common::wait_for(std::time::Duration::from_secs(30), || {
        let r = d.request(r#"{"cmd":"stats"}"#);
        let s = &r["result"];
        (s["tunnels"] == 0 && s["sessions"] == 0).then(|| s.clone())
    });
    let s =
        stats.unwrap_or_else(|| panic!("l2tpd still holds: {}", d.request(r#"{"cmd":"stats"}"#)));
    assert_eq!(s["endpoint"]["tunnels_accepted"], tunnels, "{s}");
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

#[test]
fn hundred_v2_lacs_with_hundred_sessions_each_come_up_and_go_down() {
    let dir = TempDir::new("load-v2");
    let port = free_port();
    let d = Daemon::start(&dir, "lns", &lns_config(port, "l2tpv2"), &[]);
    let r = load(port, 2, 100, 100);
    assert_all_up_and_down(&r, 100, 100, &d.log_text());
    assert_server_empty(&d, 100);
    assert!(d.stop().success());
}

#[test]
fn twenty_v3_lcces_with_twenty_sessions_each_come_up_and_go_down() {
    let dir = TempDir::new("load-v3");
    let port = free_port();
    let d = Daemon::start(&dir, "lns", &lns_config(port, "l2tpv3"), &[]);
    let r = load(port, 3, 20, 20);
    assert_all_up_and_down(&r, 20, 20, &d.log_text());
    assert_server_empty(&d, 20);
    assert!(d.stop().success());
}
