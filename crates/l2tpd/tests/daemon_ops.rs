//! Operations around the daemon: Prometheus endpoint, SIGHUP reload, sd_notify, argv[0]
//! profiles.

mod common;

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

use common::*;

#[test]
fn metrics_endpoint_reports_established_tunnel_and_counters() {
    let dir = TempDir::new("metrics");
    let port = free_udp_port();
    let _lns = Daemon::start(&dir, "lns", &lns_config(port), &[]);
    let mport = free_tcp_port();
    let addr = format!("127.0.0.1:{mport}");
    let lac = Daemon::start(
        &dir,
        "lac",
        &lac_tunnel("t1", port, &["s1"]),
        &["--metrics", &addr],
    );
    lac.wait_established("t1", 1);

    let (status, body) = http_get(mport, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        body.contains("l2tp_tunnels{state=\"established\"} 1\n"),
        "{body}"
    );
    assert!(
        body.contains("l2tp_sessions{state=\"established\"} 1\n"),
        "{body}"
    );
    assert!(
        body.contains("# TYPE l2tp_control_messages_total counter\n"),
        "{body}"
    );
    assert!(body.contains("l2tp_auth_failures_total 0\n"), "{body}");
    assert!(body.contains("l2tp_malformed_total 0\n"), "{body}");
    let rx: u64 = body
        .lines()
        .find_map(|l| l.strip_prefix("l2tp_control_messages_total{direction=\"rx\"} "))
        .expect("rx counter")
        .parse()
        .unwrap();
    assert!(rx >= 2, "{body}");

    let (status, _) = http_get(mport, "/");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    // An oversized request head is refused, and the server keeps serving.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", mport)).unwrap();
    use std::io::{Read, Write};
    let _ =
        s.write_all(format!("GET /metrics HTTP/1.1\r\nX: {}\r\n", "a".repeat(20000)).as_bytes());
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    assert!(text.starts_with("HTTP/1.1 431"), "{text:.60}");
    let (status, _) = http_get(mport, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
}

#[test]
fn metrics_on_a_non_loopback_address_needs_allow_remote() {
    let dir = TempDir::new("metrics-remote");
    let cfg = dir.path("c.toml");
    std::fs::write(&cfg, lac_tunnel("t1", 1701, &[])).unwrap();
    let o = Command::new(L2TPD)
        .arg("-null")
        .arg("-config")
        .arg(&cfg)
        .arg("--control")
        .arg(dir.path("c.sock"))
        .args(["--metrics", "0.0.0.0:9701"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("not a loopback address; add --metrics-allow-remote"),
        "{err}"
    );
    assert!(!dir.path("c.sock").exists());
}

#[test]
fn sighup_adds_a_new_tunnel_removes_a_dropped_one_and_survives_a_bad_file() {
    let dir = TempDir::new("reload");
    let port = free_udp_port();
    let _lns = Daemon::start(&dir, "lns", &lns_config(port), &[]);
    let first = format!(
        "{}{}",
        lac_tunnel("keep", port, &["s"]),
        lac_tunnel("old", port, &[])
    );
    let lac = Daemon::start(&dir, "lac", &first, &[]);
    let keep = lac.wait_established("keep", 1);
    lac.wait_established("old", 0);

    // "old" removed, "new" added, "keep" unchanged (same tunnel ID afterwards).
    let second = format!(
        "{}{}",
        lac_tunnel("keep", port, &["s"]),
        lac_tunnel("new", port, &["n1"])
    );
    std::fs::write(&lac.config, second).unwrap();
    lac.signal("HUP");
    lac.wait_established("new", 1);
    let names = wait_for(Duration::from_secs(10), || {
        let names: Vec<String> = lac
            .status()
            .iter()
            .filter(|t| t["state"] != "down")
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect();
        (names == ["keep", "new"]).then_some(names)
    });
    assert!(names.is_some(), "{:?}", lac.status());
    let keep_now = lac
        .status()
        .into_iter()
        .find(|t| t["name"] == "keep")
        .unwrap();
    assert_eq!(keep_now["id"], keep["id"], "unchanged tunnel untouched");

    // A session added to a running tunnel: the tunnel and its other session stay (same
    // tunnel and session IDs), the new session comes up beside them.
    let third = format!(
        "{}{}",
        lac_tunnel("keep", port, &["s", "s2"]),
        lac_tunnel("new", port, &["n1"])
    );
    std::fs::write(&lac.config, third).unwrap();
    lac.signal("HUP");
    let grown = lac.wait_established("keep", 2);
    assert_eq!(
        grown["id"], keep["id"],
        "tunnel kept when only sessions change"
    );
    let sid = |t: &serde_json::Value, name: &str| {
        t["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["id"].clone())
    };
    assert_eq!(sid(&grown, "s"), sid(&keep, "s"), "session s untouched");

    // A tunnel-level change replaces the tunnel (new ID).
    let fourth = format!(
        "{}{}",
        lac_tunnel("keep", port, &["s", "s2"]).replace("lac.test", "lac2.test"),
        lac_tunnel("new", port, &["n1"])
    );
    std::fs::write(&lac.config, fourth).unwrap();
    lac.signal("HUP");
    let replaced = wait_for(Duration::from_secs(10), || {
        lac.status()
            .into_iter()
            .find(|t| t["name"] == "keep" && t["id"] != keep["id"] && t["state"] == "established")
    });
    assert!(
        replaced.is_some(),
        "changed tunnel re-created: {:?}",
        lac.status()
    );

    // A bad file: logged, nothing changes, the daemon keeps running.
    std::fs::write(&lac.config, "[tunnel.x]\nencap = \"tcp\"\n").unwrap();
    lac.signal("HUP");
    let logged = wait_for(Duration::from_secs(5), || {
        lac.log_text()
            .contains("reload failed, keeping the running configuration")
            .then_some(())
    });
    assert!(logged.is_some(), "{}", lac.log_text());
    assert!(lac
        .log_text()
        .contains("tunnel.x.encap: expect 'udp' or 'ip', got \"tcp\""));
    let names = wait_for(Duration::from_secs(10), || {
        let names: Vec<String> = lac
            .status()
            .iter()
            .filter(|t| t["state"] != "down")
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect();
        (names == ["keep", "new"]).then_some(names)
    });
    assert!(names.is_some(), "{:?}", lac.status());
    let st = lac.stop();
    assert!(st.success(), "{st}");
}

/// Add, remove and re-add a tunnel in three SIGHUPs, each sent once the daemon has acted on
/// the one before: the daemon converges to the file whatever the old control connection is
/// doing. The peer of `x` never answers, so
/// the removed `x` is still retransmitting when it is added again.
#[test]
fn sighup_add_remove_readd_converges() {
    let dir = TempDir::new("reload3");
    let port = free_udp_port();
    let _lns = Daemon::start(&dir, "lns", &lns_config(port), &[]);
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let base = lac_tunnel("base", port, &[]);
    let lac = Daemon::start(&dir, "lac", &base, &[]);
    lac.wait_established("base", 0);
    let with_x = format!("{base}{}", lac_tunnel("x", silent_port, &["s"]));
    let x_ids = || -> Vec<serde_json::Value> {
        lac.status()
            .into_iter()
            .filter(|t| t["name"] == "x" && t["state"] != "down")
            .map(|t| t["id"].clone())
            .collect()
    };
    let reload = |text: &str| {
        std::fs::write(&lac.config, text).unwrap();
        lac.signal("HUP");
    };
    // Each SIGHUP goes once the daemon has acted on the one before.
    reload(&with_x);
    let first = wait_for(Duration::from_secs(10), || x_ids().first().cloned());
    assert!(first.is_some(), "x added: {:?}", lac.status());
    reload(&base);
    let closing = wait_for(Duration::from_secs(10), || {
        lac.log_text()
            .contains("reload: closing tunnel")
            .then_some(())
    });
    assert!(closing.is_some(), "x removed: {}", lac.log_text());
    reload(&with_x);
    let readded = wait_for(Duration::from_secs(10), || {
        let ids = x_ids();
        ids.iter()
            .any(|id| Some(id) != first.as_ref())
            .then_some(ids)
    });
    assert!(
        readded.is_some(),
        "x re-added: {:?}\n{}",
        lac.status(),
        lac.log_text()
    );
    assert!(
        !lac.log_text().contains("exists already"),
        "{}",
        lac.log_text()
    );
    drop(silent);
}

#[test]
fn sd_notify_sends_ready_then_stopping() {
    let dir = TempDir::new("notify");
    let nsock = dir.path("notify.sock");
    let rx = UnixDatagram::bind(&nsock).unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let port = free_udp_port();
    let lns = Daemon::start_env(
        &dir,
        "lns",
        &lns_config(port),
        &[],
        &[("NOTIFY_SOCKET", nsock.to_str().unwrap())],
    );
    let mut buf = [0u8; 256];
    let n = rx.recv(&mut buf).expect("READY=1");
    assert_eq!(&buf[..n], b"READY=1");
    lns.signal("HUP");
    let n = rx.recv(&mut buf).expect("RELOADING=1");
    assert_eq!(&buf[..n], b"RELOADING=1");
    let n = rx.recv(&mut buf).expect("READY=1 after reload");
    assert_eq!(&buf[..n], b"READY=1");
    let st = lns.stop();
    assert!(st.success());
    let n = rx.recv(&mut buf).expect("STOPPING=1");
    assert_eq!(&buf[..n], b"STOPPING=1");
}

#[test]
fn program_name_selects_the_go_l2tp_profile_and_default_config() {
    let dir = TempDir::new("argv0");
    for name in ["kl2tpd", "ql2tpd", "l2tpd", "kpppoed"] {
        std::os::unix::fs::symlink(L2TPD, dir.path(name)).unwrap();
    }
    // A v2 tunnel without `kind`: dynamic for l2tpd and kl2tpd, static for ql2tpd (which needs
    // v3).
    let cfg = dir.path("v2.toml");
    std::fs::write(&cfg, "[tunnel.t]\npeer = \"127.0.0.1:1701\"\n").unwrap();
    let check = |name: &str| {
        Command::new(dir.path(name))
            .arg("check-config")
            .arg(&cfg)
            .output()
            .unwrap()
    };
    assert!(check("l2tpd").status.success());
    assert!(check("kl2tpd").status.success());
    let q = check("ql2tpd");
    assert_eq!(q.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&q.stderr)
            .contains("static and quiescent tunnels need version 'l2tpv3'"),
        "{}",
        String::from_utf8_lossy(&q.stderr)
    );
    // Default config paths.
    for (name, path) in [
        ("kl2tpd", "/etc/kl2tpd/kl2tpd.toml"),
        ("ql2tpd", "/etc/ql2tpd/ql2tpd.toml"),
        ("l2tpd", "/etc/l2tpd/l2tpd.toml"),
        ("kpppoed", "/etc/kpppoed/kpppoed.toml"),
    ] {
        if std::path::Path::new(path).exists() {
            continue; // A real installation: cannot observe the default this way.
        }
        let o = Command::new(dir.path(name))
            .arg("-null")
            .arg("--control")
            .arg(dir.path(&format!("{name}.sock")))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(&format!("{path}: could not read")),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn kpppoed_config_is_accepted_as_is() {
    let dir = TempDir::new("kpppoed");
    std::os::unix::fs::symlink(L2TPD, dir.path("kpppoed")).unwrap();
    let cfg = dir.path("kpppoed.toml");
    std::fs::write(
        &cfg,
        "ac_name = \"my-ac\"\ninterface_name = \"eth0\"\nservices = [\"internet\"]\nlns_ipaddr = \"192.0.2.10:1701\"\n",
    )
    .unwrap();
    let o = Command::new(dir.path("kpppoed"))
        .arg("check-config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Without the LNS address it says what is missing.
    std::fs::write(&cfg, "interface_name = \"eth0\"\n").unwrap();
    let o = Command::new(dir.path("kpppoed"))
        .arg("check-config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("needs a tunnel or an LNS address"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
