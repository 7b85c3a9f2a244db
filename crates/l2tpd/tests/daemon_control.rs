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

fn pair(dir: &TempDir) -> (Daemon, Daemon) {
    let port = free_udp_port();
    let lns = Daemon::start(dir, "lns", &lns_config(port), &[]);
    let lac = Daemon::start(dir, "lac", &lac_tunnel("t1", port, &["s1"]), &[]);
    lac.wait_established("t1", 1);
    (lns, lac)
}

#[test]
fn show_json_lists_established_tunnel_with_its_session_on_both_ends() {
    let dir = TempDir::new("show");
    let (lns, lac) = pair(&dir);

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

#[test]
fn runtime_session_create_and_delete_are_seen_by_monitor() {
    let dir = TempDir::new("monitor");
    let (_lns, lac) = pair(&dir);

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
    // l2tpd subscribes before it acknowledges `monitor`; give l2tpctl time to connect.
    std::thread::sleep(Duration::from_millis(1000));
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
        .status()
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
    let (_lns, lac) = pair(&dir);
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
    let t = lac.wait_established("t2", 1);
    assert_eq!(t["sessions"][0]["name"], "x");
    assert_eq!(lac.status().len(), 2);
}

#[test]
fn bad_requests_get_ok_false_with_an_error() {
    let dir = TempDir::new("bad");
    let (_lns, lac) = pair(&dir);

    let r = lac.request(r#"{"cmd":"frobnicate"}"#);
    assert_eq!(r["ok"], false);
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("unknown variant `frobnicate`"),
        "{r}"
    );
    let r = lac.request("this is not json");
    assert_eq!(r["ok"], false);
    assert!(
        r["error"].as_str().unwrap().starts_with("bad request: "),
        "{r}"
    );
    let r = lac.request(r#"{"cmd":"show","extra":1}"#);
    assert_eq!(r["ok"], false);
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `extra`"),
        "{r}"
    );
    // The config file's parser and messages.
    let r = lac.request(
        r#"{"cmd":"create_tunnel","name":"x","config":{"peer":"127.0.0.1:1","encap":"tcp"}}"#,
    );
    assert_eq!(r["ok"], false);
    assert_eq!(
        r["error"],
        "tunnel.x.encap: expect 'udp' or 'ip', got \"tcp\""
    );
    let r = lac.request(
        r#"{"cmd":"create_tunnel","name":"x","config":{"peer":"127.0.0.1:1","bogus":true}}"#,
    );
    assert_eq!(r["error"], "tunnel.x.bogus: unrecognised parameter 'bogus'");
    let r = lac.request(r#"{"cmd":"create_tunnel","name":"t1","config":{"peer":"127.0.0.1:1"}}"#);
    assert_eq!(r["error"], "tunnel t1 exists already");
    let r = lac.request(r#"{"cmd":"delete_tunnel","name":"nope"}"#);
    assert_eq!(
        r,
        serde_json::json!({"ok": false, "error": "no tunnel nope"})
    );
    let r = lac.request(r#"{"cmd":"create_session","tunnel":"nope","name":"s"}"#);
    assert_eq!(r["error"], "no tunnel nope");
    let r = lac.request(
        r#"{"cmd":"create_session","tunnel":"t1","name":"s9","config":{"cookie":[1,2,3,4]}}"#,
    );
    assert_eq!(
        r["error"],
        "tunnel.t1.session.s9.cookie: cookies are L2TPv3 only"
    );

    // A request line over 64 KiB ends the connection with an error.
    let big = format!(r#"{{"cmd":"show","pad":"{}"}}"#, "x".repeat(70 * 1024));
    let r = lac.request(&big);
    assert_eq!(r["ok"], false);
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("longer than 65536 bytes"),
        "{r}"
    );

    // Several requests on one connection, errors do not end it.
    let mut s = std::os::unix::net::UnixStream::connect(&lac.control).unwrap();
    s.write_all(b"{\"cmd\":\"nope\"}\n{\"cmd\":\"stats\"}\n")
        .unwrap();
    let mut lines = BufReader::new(s).lines();
    let a: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let b: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(a["ok"], false);
    assert_eq!(b["ok"], true);
    assert_eq!(b["result"]["tunnels_up"], 1);

    // l2tpctl: one line on stderr, exit status 1.
    let o = ctl(
        &lac.control,
        &["create", "session", "t1", "s9", "pseudowire=eth"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "l2tpctl: tunnel.t1.session.s9.pseudowire: expect 'ppp' or 'pppac' for an L2TPv2 \
         tunnel, got \"eth\"\n"
    );
    let o = ctl(&lac.control, &["create", "tunnel", "t9", "peer"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "l2tpctl: expected key=value, got \"peer\"\n"
    );
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
