//! RADIUS on our LNS (issue 12): our LAC dials our LNS over L2TPv2 in two network
//! namespaces, user-space data plane and in-process PPP; the LNS authenticates through a
//! FreeRADIUS 3 started on its loopback, accounts to it and answers RFC 5176 requests from
//! `radclient` (`tests/interop/userspace-radius.sh` asserts each step; see its header).
//!
//! Needs root, /dev/net/tun and the Debian packages `freeradius` and `freeradius-utils`
//! (`.ci/run` installs them). Without them each test fails when `CI` is set and otherwise
//! says loudly that it is skipped; `L2TP_SKIP_NETNS=1` skips knowingly on a machine that
//! cannot create namespaces.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

fn skip() -> bool {
    if std::env::var_os("L2TP_SKIP_NETNS").is_some() {
        let _ = std::io::stderr().write_all(b"SKIPPED userspace_radius: L2TP_SKIP_NETNS is set\n");
        return true;
    }
    if have("freeradius") && have("radclient") {
        return false;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "freeradius/radclient not installed (Debian: freeradius freeradius-utils) and CI is set"
    );
    // Straight to fd 2: the harness captures eprintln! of passing tests.
    let _ = std::io::stderr().write_all(
        b"\n*** SKIPPED userspace_radius: FreeRADIUS is not installed \
          (apt-get install freeradius freeradius-utils) ***\n\n",
    );
    true
}

/// l2tpctl, built next to l2tpd (cargo builds only this package's binaries for its tests).
fn l2tpctl() -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_l2tpd")).with_file_name("l2tpctl");
    if !p.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "-q", "-p", "l2tpctl"])
            .status()
            .expect("cargo build -p l2tpctl");
        assert!(st.success(), "cargo build -p l2tpctl failed");
    }
    p
}

fn run(mode: &str, auth: &str) -> String {
    run_script("userspace-radius.sh", &[("MODE", mode), ("AUTH", auth)])
}

/// Runs `tests/interop/SCRIPT` with our binaries and `env`; its standard output, once it
/// succeeded.
fn run_script(script: &str, env: &[(&str, &str)]) -> String {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(repo.join("tests/interop").join(script))
        .env("L2TPD", env!("CARGO_BIN_EXE_l2tpd"))
        .env("L2TPCTL", l2tpctl())
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("run tests/interop/{script}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} ({env:?}) failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn assert_steps(text: &str, steps: &[&str]) {
    for step in steps {
        assert!(text.contains(step), "missing step {step:?} in:\n{text}");
    }
}

fn authenticates_gets_the_framed_ip_and_is_accounted(auth: &str) {
    let text = run("auth", auth);
    assert_steps(
        &text,
        &[
            "ok: Accounting-On in the detail file",
            "ok: IPCP up: the LAC's TUN has the Framed-IP-Address",
            "ok: pings cross PPP both ways",
            "ok: Start names user, address, NAS and echoes the Class",
            "ok: Interim-Update (Acct-Interim-Interval 2)",
            "ok: l2tpctl show session names user, RADIUS Class and the RADIUS address",
            "ok: Stop: User-Request, same Acct-Session-Id, Class, counters",
            "ok: Accounting-Off at the LNS's clean stop",
        ],
    );
}

#[test]
fn pap_through_freeradius_gets_the_framed_ip_and_start_interim_stop() {
    if !skip() {
        authenticates_gets_the_framed_ip_and_is_accounted("pap");
    }
}

#[test]
fn chap_md5_through_freeradius_gets_the_framed_ip_and_start_interim_stop() {
    if !skip() {
        authenticates_gets_the_framed_ip_and_is_accounted("chap");
    }
}

#[test]
fn mschapv2_through_freeradius_gets_the_framed_ip_and_start_interim_stop() {
    if !skip() {
        authenticates_gets_the_framed_ip_and_is_accounted("mschapv2");
    }
}

#[test]
fn disconnect_request_clears_the_session_within_a_second_and_unknown_gets_nak_503() {
    if !skip() {
        let text = run("dae", "chap");
        assert_steps(
            &text,
            &[
                "ok: CoA-Request (Session-Timeout) ACKed",
                "ok: Disconnect-Request ACKed",
                "ok: the session is gone within 1 s",
                "ok: Stop: Admin-Reset, octets and packets match the data plane's counters",
                "ok: unknown session: Disconnect-NAK with Error-Cause 503",
            ],
        );
    }
}

#[test]
fn disconnect_request_clears_a_frozen_lacs_session_within_a_second() {
    if !skip() {
        let text = run("dae-mute", "pap");
        assert_steps(
            &text,
            &[
                "ok: a frozen LAC's session is gone within 1 s of the Disconnect-Request",
                "ok: Stop: Admin-Reset",
            ],
        );
    }
}

#[test]
fn session_timeout_from_radius_clears_the_session() {
    if !skip() {
        let text = run("timeout", "pap");
        assert_steps(
            &text,
            &[
                "ok: Session-Timeout 2 s cleared the session",
                "ok: Stop with Acct-Terminate-Cause Session-Timeout",
            ],
        );
    }
}

#[test]
fn with_the_first_server_stopped_the_session_authenticates_on_the_second() {
    if !skip() {
        let text = run("failover", "chap");
        assert_steps(
            &text,
            &[
                "ok: the second server authenticated the session",
                "ok: Start on the second server",
                "ok: metrics: a timeout on the first server, the accept on the second",
            ],
        );
    }
}

#[test]
fn access_reject_clears_the_session_with_a_cdn() {
    if !skip() {
        let text = run("reject", "chap");
        assert_steps(
            &text,
            &["ok: Access-Reject: the session was cleared with a CDN"],
        );
        assert!(!text.contains("IPCP up"), "{text}");
    }
}

/// Scale-out (issue 12): two LNS hosts share one FreeRADIUS; one is stopped and its
/// subscribers reconnect through the other; every session is started and stopped exactly once
/// in the shared accounting (see `tests/interop/radius-scaleout.sh`).
#[test]
fn two_lns_hosts_share_one_radius_and_every_session_is_accounted_once() {
    if !skip() {
        let text = run_script("radius-scaleout.sh", &[]);
        assert_steps(
            &text,
            &[
                "ok: six Starts: three from lns-b, three from lns-c",
                "ok: lns-b's three Stops and its Accounting-Off",
                "ok: b's subscribers reconnected through c: six PPP sessions up again",
                "ok: 9 sessions over two LNS hosts, each started and stopped exactly once",
            ],
        );
    }
}
