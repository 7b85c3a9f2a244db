//! The control socket and l2tpctl against two live daemons (LNS and LAC on 127.0.0.1, null data
//! plane).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use serde_json::Value;

#[test]
fn show_json_lists_established_tunnel_with_its_session_on_both_ends() {
    let dir = TempDir::new("show");
    let (lns, lac) = lns_and_lac(&dir);

    let out = ctl_ok(&lac.control, &["show", "--json"]);
    let status: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(status.len(), 1);
    let t = &status[0];
    assert_eq!(t["name"], "t1");
    assert_eq!(t["state"], "established");
    assert_eq!(t["version"], "l2tpv2");
    assert_eq!(t["peer_host_name"], "lns.test");
    assert_ne!(t["peer_tunnel_id"], 0);
    let sessions = t["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["name"], "s1");
    assert_eq!(sessions[0]["state"], "established");
    assert_eq!(sessions[0]["pseudowire"], "ppp");

    // The LNS sees the same tunnel from the other side, IDs crossed.
    let lns_all: Vec<Value> =
        serde_json::from_str(&ctl_ok(&lns.control, &["show", "--json"])).unwrap();
    assert!(
        lns_all
            .iter()
            .any(|t| t["kind"] == "listener" && t["state"] == "listening"),
        "the listener is shown: {lns_all:?}"
    );
    let lns_status: Vec<Value> = lns_all
        .into_iter()
        .filter(|t| t["kind"] != "listener")
        .collect();
    assert_eq!(lns_status.len(), 1);
    assert_eq!(lns_status[0]["id"], t["peer_tunnel_id"]);
    assert_eq!(lns_status[0]["peer_tunnel_id"], t["id"]);
    assert_eq!(lns_status[0]["peer_host_name"], "lac.test");
    assert_eq!(
        lns_status[0]["sessions"][0]["peer_id"], sessions[0]["id"],
        "session IDs crossed"
    );

    // The table for people: header, then one aligned row.
    let table = ctl_ok(&lac.control, &["show", "tunnels"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[0].starts_with("NAME  ID"), "{table}");
    let cols: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(cols[0], "t1");
    assert_eq!(cols[1], t["id"].to_string());
    assert_eq!(cols[3], "established");
    assert_eq!(cols[7], "1", "SESSIONS column");
    // Columns line up: the STATE cell starts where the STATE header does.
    assert_eq!(
        lines[0].find("STATE"),
        lines[1].find("established"),
        "{table}"
    );
    let st = ctl_ok(&lac.control, &["show", "sessions"]);
    assert!(st.lines().nth(1).unwrap().starts_with("t1 "), "{st}");

    // Counters.
    let stats: Value = serde_json::from_str(&ctl_ok(&lac.control, &["stats", "--json"])).unwrap();
    assert_eq!(stats["tunnels_up"], 1);
    assert_eq!(stats["sessions_up"], 1);
    assert!(
        stats["endpoint"]["control_rx"].as_u64().unwrap() >= 2,
        "{stats}"
    );
    assert!(
        stats["endpoint"]["control_tx"].as_u64().unwrap() >= 3,
        "{stats}"
    );
    let lns_stats: Value =
        serde_json::from_str(&ctl_ok(&lns.control, &["stats", "--json"])).unwrap();
    assert_eq!(lns_stats["endpoint"]["tunnels_accepted"], 1);
    let text = ctl_ok(&lac.control, &["stats"]);
    assert!(
        text.contains("tunnels              1 (1 established)"),
        "{text}"
    );
}

/// Waits until `l2tpctl monitor` passes events on. l2tpd subscribes before it acknowledges
/// `monitor`, but l2tpctl does not say when it has the acknowledgement: probe sessions are
/// created and deleted on `tunnel` until an event comes through, then the events up to the
/// last probe's `session_down` are drained.
fn wait_monitoring(d: &Daemon, tunnel: &str, rx: &mpsc::Receiver<Value>) {
    for i in 0..40 {
        let probe = format!("probe{i}");
        ctl_ok(&d.control, &["create", "session", tunnel, &probe]);
        let seen = rx.recv_timeout(Duration::from_millis(250)).ok();
        ctl_ok(&d.control, &["delete", "session", tunnel, &probe]);
        let Some(mut ev) = seen else { continue };
        while !(ev["event"] == "session_down" && ev["session"] == probe.as_str()) {
            ev = rx
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("no session_down of {probe}"));
        }
        return;
    }
    panic!("l2tpctl monitor passed no event on");
}

#[test]
fn runtime_session_create_and_delete_are_seen_by_monitor() {
    let dir = TempDir::new("monitor");
    let (_lns, lac) = lns_and_lac(&dir);

    let mut mon = Command::new(l2tpctl())
        .arg("--control")
        .arg(&lac.control)
        .args(["monitor", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel::<Value>();
    let out = mon.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if tx.send(serde_json::from_str(&line).unwrap()).is_err() {
                return;
            }
        }
    });
    wait_monitoring(&lac, "t1", &rx);
    let next = |what: &str| -> Value {
        rx.recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no {what} event"))
    };

    let out = ctl_ok(
        &lac.control,
        &["create", "session", "t1", "s2", "seqnum=false"],
    );
    assert!(out.starts_with("session t1/s2 created (id "), "{out}");
    let ev = next("session_up");
    assert_eq!(ev["event"], "session_up");
    assert_eq!(ev["tunnel"], "t1");
    assert_eq!(ev["session"], "s2");
    let sid = ev["session_id"].clone();
    let t = lac.wait_established("t1", 2);
    assert!(t["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "s2" && s["id"] == sid && s["state"] == "established"));

    ctl_ok(&lac.control, &["delete", "session", "t1", "s2"]);
    let ev = next("session_down");
    assert_eq!(ev["event"], "session_down");
    assert_eq!(ev["session"], "s2");
    assert_eq!(ev["reason"], "local");
    assert_eq!(ev["result_code"], 3);
    lac.wait_established("t1", 1);

    ctl_ok(&lac.control, &["delete", "tunnel", "t1"]);
    let ev = next("session_down (s1)");
    assert_eq!(ev["event"], "session_down");
    assert_eq!(ev["session"], "s1");
    let ev = next("tunnel_down");
    assert_eq!(ev["event"], "tunnel_down");
    assert_eq!(ev["tunnel"], "t1");
    assert_eq!(ev["result_code"], 1);
    // Gone, but shown as down (with why) for a while.
    assert!(wait_for(Duration::from_secs(5), || lac
        .status_all()
        .iter()
        .all(|t| t["state"] == "down" && t["last_error"].is_string())
        .then_some(()))
    .is_some());

    let _ = mon.kill();
    let _ = mon.wait();
}

#[test]
fn create_tunnel_at_runtime_dials_the_lns() {
    let dir = TempDir::new("create");
    let (_lns, lac) = lns_and_lac(&dir);
    let port = {
        let t = &lac.status()[0];
        t["peer"]
            .as_str()
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap()
            .to_string()
    };
    let out = ctl_ok(
        &lac.control,
        &[
            "create",
            "tunnel",
            "t2",
            &format!("peer=127.0.0.1:{port}"),
            "host_name=\"second lac\"",
            "hello_timeout=60000",
            "session.x.pseudowire=ppp",
        ],
    );
    assert!(out.starts_with("tunnel t2 created (id "), "{out}");
    // l2tpctl waited for the outcome: established, with its session, when it returned.
    assert!(
        out.lines()
            .nth(1)
            .unwrap()
            .starts_with("tunnel t2 established (peer 127.0.0.1:"),
        "{out}"
    );
    assert!(out.contains("1 session(s) established"), "{out}");
    let status = lac.status();
    let t = status.iter().find(|t| t["name"] == "t2").unwrap();
    assert_eq!(t["state"], "established");
    assert_eq!(t["sessions"][0]["name"], "x");
    assert_eq!(t["sessions"][0]["state"], "established");
    assert_eq!(lac.status().len(), 2);

    // A session, by the tunnel's numeric ID: waits until established too.
    let id = t["id"].to_string();
    let out = ctl_ok(&lac.control, &["create", "session", &id, "y"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with(&format!("session {id}/y created (id ")),
        "{out}"
    );
    assert!(
        lines[1].starts_with("session t2/y established (peer session id "),
        "{out}"
    );
    lac.wait_established("t2", 2);

    // --no-wait: back once l2tpd started it.
    let out = ctl_ok(
        &lac.control,
        &[
            "create",
            "tunnel",
            "t3",
            &format!("peer=127.0.0.1:{port}"),
            "--no-wait",
        ],
    );
    assert_eq!(out.lines().count(), 1, "{out}");
    lac.wait_established("t3", 0);
}

#[test]
fn create_reports_why_a_tunnel_went_down_or_times_out() {
    let dir = TempDir::new("create-fail");
    let (_lns, lac) = lns_and_lac(&dir);
    let port = free_udp_port();
    let lns_port = lac.status()[0]["peer"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();

    // The LNS has no secret: it cannot answer our challenge, and we give up on it.
    let o = ctl(
        &lac.control,
        &[
            "create",
            "tunnel",
            "t4",
            &format!("peer=127.0.0.1:{lns_port}"),
            "secret=s3cr3t",
            "challenge=true",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("l2tpctl: tunnel t4 went down: "),
        "{err}\n{}",
        lac.log_text()
    );
    assert!(
        err.contains("result "),
        "the last error names the result code: {err}"
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("tunnel t4 created (id "), "{out}");
    let t4 = lac
        .status_all()
        .into_iter()
        .find(|t| t["name"] == "t4")
        .unwrap();
    assert_eq!(t4["state"], "down");
    assert!(
        err.contains(t4["last_error"].as_str().unwrap()),
        "{err} {t4}"
    );

    // A peer that never answers: the timeout.
    let silent = std::net::UdpSocket::bind(("127.0.0.1", port)).unwrap();
    let start = std::time::Instant::now();
    let o = ctl(
        &lac.control,
        &[
            "create",
            "tunnel",
            "t5",
            &format!("peer=127.0.0.1:{port}"),
            "--timeout",
            "2",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(
        err,
        "l2tpctl: timed out after 2 s: tunnel t5 is waitctlreply\n"
    );
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    drop(silent);

    // A name a peer's tunnel could have.
    let o = ctl(
        &lac.control,
        &["create", "tunnel", "lns.5", "peer=127.0.0.1:1"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .starts_with("l2tpctl: tunnel name \"lns.5\": '.' is not allowed"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// On the LNS, the tunnel and call a peer opened are `LISTENER.ID` / `TEMPLATE.ID`; they can
/// be shown and closed by name or by ID, and stay visible as `down` with their last error.
#[test]
fn peer_opened_objects_are_shown_filtered_and_closed_by_id() {
    let dir = TempDir::new("ids");
    let (lns, lac) = lns_and_lac(&dir);
    let all = lns.status();
    let t = all.iter().find(|t| t["kind"] != "listener").unwrap();
    let tid = t["id"].as_u64().unwrap().to_string();
    let sid = t["sessions"][0]["id"].as_u64().unwrap().to_string();
    assert_eq!(t["name"], format!("lns.{tid}"));
    assert_eq!(t["sessions"][0]["name"], format!("tmpl.{sid}"));

    // show by ID, by name, and the filters.
    let one: Vec<Value> =
        serde_json::from_str(&ctl_ok(&lns.control, &["show", "tunnel", &tid, "--json"])).unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["name"], format!("lns.{tid}"));
    let rows: Vec<Value> = serde_json::from_str(&ctl_ok(
        &lns.control,
        &["show", "session", &tid, &sid, "--json"],
    ))
    .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["tunnel"], format!("lns.{tid}"));
    assert_eq!(rows[0]["name"], format!("tmpl.{sid}"));
    let names = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["show"];
        a.extend_from_slice(args);
        a.push("--json");
        let v: Vec<Value> = serde_json::from_str(&ctl_ok(&lns.control, &a)).unwrap();
        v.iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&["--peer", "127.0.0.1"]), [format!("lns.{tid}")]);
    assert!(names(&["--peer", "192.0.2.1"]).is_empty());
    assert_eq!(
        names(&["tunnel", "--name", "lns.*"]),
        [format!("lns.{tid}")]
    );
    assert_eq!(names(&["--state", "listening"]), ["lns"]);
    let o = ctl(&lns.control, &["show", "tunnel", "999999"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "l2tpctl: no tunnel 999999\n"
    );

    // The listener is in the text table.
    let text = ctl_ok(&lns.control, &["show"]);
    assert!(
        text.lines()
            .any(|l| l.starts_with("lns ") && l.contains("listening")),
        "{text}"
    );

    // Close the call by IDs: the LAC sees the CDN.
    let out = ctl_ok(&lns.control, &["delete", "session", &tid, &sid]);
    assert_eq!(out, format!("session {tid}/{sid} closing\n"));
    let s1 = wait_for(Duration::from_secs(10), || {
        let st = lac.status();
        let s = st[0]["sessions"][0].clone();
        (s["state"] == "down").then_some(s)
    })
    .expect("the LAC's session goes down");
    assert!(
        s1["last_error"]
            .as_str()
            .unwrap()
            .starts_with("peer: result 3"),
        "{s1}"
    );
    // The closed call stays visible on the LNS, with why; once more is an error.
    let down = ctl_ok(&lns.control, &["show", "session", "--state", "down"]);
    assert!(down.contains(&format!("tmpl.{sid}")), "{down}");
    assert!(down.contains("\n    last error: local: result 3"), "{down}");
    let o = ctl(&lns.control, &["delete", "session", &tid, &sid]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).starts_with(&format!(
            "l2tpctl: session lns.{tid}/tmpl.{sid} is down (local: "
        )),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Close the tunnel by ID.
    ctl_ok(&lns.control, &["delete", "tunnel", &tid]);
    wait_for(Duration::from_secs(10), || {
        (lac.status_all()[0]["state"] == "down").then_some(())
    })
    .expect("the LAC's tunnel goes down");
    // The LAC keeps it as down, with the peer's reason, and says so when asked to close it.
    // (The LNS shows it as `closing` until its StopCCN is acknowledged.)
    let down = ctl_ok(&lac.control, &["show", "tunnel", "--state", "down"]);
    let lines: Vec<&str> = down.lines().collect();
    assert_eq!(lines.len(), 3, "{down}");
    assert!(lines[1].starts_with("t1 "), "{down}");
    assert!(
        lines[2].starts_with("    last error: peer: result 1 (general request to clear)"),
        "{down}"
    );
    let o = ctl(&lac.control, &["delete", "tunnel", "t1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .starts_with("l2tpctl: tunnel t1 is down (peer: result 1"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let st = lns.status_all();
    let t = st
        .iter()
        .find(|t| t["id"].as_u64().unwrap_or(0).to_string() == tid)
        .unwrap();
    assert!(t["state"] == "closing" || t["state"] == "down", "{t}");
}

/// An LNS that accepts nobody: it counts the refused datagrams, the LAC counts a half-open
/// tunnel, in `stats` and in the metrics.
#[test]
fn refused_peers_and_half_open_tunnels_are_counted() {
    let dir = TempDir::new("refused");
    let port = free_udp_port();
    let (lns_m, lac_m) = (free_tcp_port(), free_tcp_port());
    let lns_cfg = lns_config(port).replace(
        "listen = true",
        "listen = true\naccept_peers = [\"192.0.2.7\"]",
    );
    let lns = Daemon::start(
        &dir,
        "lns",
        &lns_cfg,
        &["--metrics", &format!("127.0.0.1:{lns_m}")],
    );
    let lac = Daemon::start(
        &dir,
        "lac",
        &lac_tunnel("t1", port, &[]),
        &["--metrics", &format!("127.0.0.1:{lac_m}")],
    );
    let stats = wait_for(Duration::from_secs(10), || {
        let v: Value = serde_json::from_str(&ctl_ok(&lns.control, &["stats", "--json"])).unwrap();
        (v["endpoint"]["refused_peers"].as_u64().unwrap() >= 1).then_some(v)
    })
    .expect("the LNS counts the refused SCCRQ");
    assert_eq!(stats["tunnels_half_open"], 0);
    let text = ctl_ok(&lns.control, &["stats"]);
    assert!(
        text.lines()
            .any(|l| l.starts_with("refused peers ") && !l.ends_with(" 0")),
        "{text}"
    );
    let (_, body) = http_get(lns_m, "/metrics");
    assert!(
        body.lines().any(
            |l| l.starts_with("l2tp_refused_peers_total ") && l != "l2tp_refused_peers_total 0"
        ),
        "{body}"
    );

    let v: Value = serde_json::from_str(&ctl_ok(&lac.control, &["stats", "--json"])).unwrap();
    assert_eq!(v["tunnels_half_open"], 1, "{v}");
    let text = ctl_ok(&lac.control, &["stats"]);
    assert!(text.contains("tunnels half-open    1\n"), "{text}");
    assert!(text.contains("\nauth failures        0\n"), "{text}");
    let (_, body) = http_get(lac_m, "/metrics");
    assert!(body.contains("\nl2tp_tunnels_half_open 1\n"), "{body}");
    let half: Vec<Value> = serde_json::from_str(&ctl_ok(
        &lac.control,
        &["show", "--state", "waitctlreply", "--json"],
    ))
    .unwrap();
    assert_eq!(half.len(), 1);
}

/// MAX_CLIENTS clients that connect and send nothing (or half a line) no longer lock l2tpctl
/// out: they are dropped after the idle timeout (10 s), and l2tpctl retries meanwhile.
#[test]
fn idle_clients_are_dropped_and_l2tpctl_gets_through() {
    use std::io::Read;
    let dir = TempDir::new("idle");
    let port = free_udp_port();
    let lac = Daemon::start(&dir, "lac", &lac_tunnel("t1", port, &[]), &[]);
    // Fill every slot: connections the daemon answers at once were turned away (the start-up
    // probe may still hold a slot for a moment) and are replaced.
    let mut idle: Vec<std::os::unix::net::UnixStream> = Vec::new();
    let filled = wait_for(Duration::from_secs(10), || {
        while idle.len() < 32 {
            let s = std::os::unix::net::UnixStream::connect(&lac.control).unwrap();
            if idle.is_empty() {
                // One stops mid-line.
                (&s).write_all(b"{\"cmd\":").unwrap();
            }
            idle.push(s);
        }
        std::thread::sleep(Duration::from_millis(300));
        idle.retain(|s| {
            s.set_nonblocking(true).unwrap();
            let mut b = [0u8; 1];
            let refused =
                !matches!((&*s).read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
            s.set_nonblocking(false).unwrap();
            !refused
        });
        (idle.len() == 32).then_some(())
    });
    assert!(filled.is_some(), "could not hold 32 slots");
    let r = lac.request(r#"{"cmd":"stats"}"#);
    assert_eq!(
        r["error"], "too many control clients (at most 32)",
        "every slot is taken"
    );
    let start = std::time::Instant::now();
    let out = ctl_ok(&lac.control, &["stats"]);
    let took = start.elapsed();
    assert!(out.starts_with("tunnels "), "{out}");
    assert!(took < Duration::from_secs(40), "{took:?}");
    // The idle ones were closed by the daemon (end of stream, no reply).
    for s in &idle {
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut b = Vec::new();
        assert_eq!((&*s).read_to_end(&mut b).unwrap(), 0);
    }
}

#[test]
fn l2tpctl_without_daemon_says_it_is_not_running() {
    let dir = TempDir::new("nodaemon");
    let sock = dir.path("none.sock");
    let o = ctl(&sock, &["show"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "l2tpctl: l2tpd is not running (no control socket at {})\n",
            sock.display()
        )
    );
}

#[test]
fn control_socket_is_root_only_replaces_a_stale_file_and_is_removed_on_exit() {
    let dir = TempDir::new("sock");
    // A stale socket file: bound, then the listener went away.
    let sock = dir.path("lac.sock");
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    assert!(sock.exists());
    let port = free_udp_port();
    let lac = Daemon::start(&dir, "lac", &lac_tunnel("t1", port, &[]), &[]);
    assert_eq!(lac.control, sock);
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(lac.request(r#"{"cmd":"stats"}"#)["ok"], true);

    // A second daemon on the same socket refuses to start.
    let cfg = dir.path("lac.toml");
    let o = Command::new(L2TPD)
        .arg("-null")
        .arg("-config")
        .arg(&cfg)
        .arg("--control")
        .arg(&sock)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("another l2tpd is running there"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let st = lac.stop();
    assert!(st.success(), "{st}");
    assert!(!sock.exists(), "socket removed on exit");
}

#[test]
fn the_33rd_concurrent_client_is_turned_away_and_others_still_served() {
    let dir = TempDir::new("clients");
    let port = free_udp_port();
    let lac = Daemon::start(&dir, "lac", &lac_tunnel("t1", port, &[]), &[]);
    // 32 clients, each served (so it holds a slot): a connection is only counted once the
    // daemon accepted it, and earlier short-lived ones (the start-up probe) free their slot a
    // moment after they close, so a refused one is retried.
    let mut held = Vec::new();
    while held.len() < 32 {
        let s = std::os::unix::net::UnixStream::connect(&lac.control).unwrap();
        let _ = s.try_clone().unwrap().write_all(b"{\"cmd\":\"stats\"}\n");
        let mut line = String::new();
        BufReader::new(s.try_clone().unwrap())
            .read_line(&mut line)
            .unwrap();
        if line.starts_with("{\"ok\":true") {
            held.push(s);
        } else {
            assert!(line.contains("too many control clients"), "{line}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let r = lac.request(r#"{"cmd":"stats"}"#);
    assert_eq!(
        r,
        serde_json::json!({"ok": false, "error": "too many control clients (at most 32)"})
    );
    drop(held);
    let ok = wait_for(Duration::from_secs(5), || {
        (lac.request(r#"{"cmd":"stats"}"#)["ok"] == true).then_some(())
    });
    assert!(ok.is_some(), "slots are released when clients leave");
}
