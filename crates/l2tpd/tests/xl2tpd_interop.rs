//! Real input: our LAC (null data plane) against a real xl2tpd LNS in network namespaces.
//!
//! Runs `scripts/xl2tpd-interop.sh` (which also serves as the README's main-job demo) and then
//! checks the event stream it leaves behind. Needs root, xl2tpd and tshark; without them the
//! test fails with the reason (set `L2TP_SKIP_NETNS=1` to skip it knowingly on a machine that
//! cannot create network namespaces).

use std::path::PathBuf;
use std::process::Command;

fn events(dir: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("events.jsonl")).expect("events.jsonl");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("each event line is JSON"))
        .collect()
}

#[test]
fn lac_sets_up_tunnel_and_session_with_xl2tpd_lns_and_tears_down_cleanly() {
    if std::env::var_os("L2TP_SKIP_NETNS").is_some() {
        eprintln!("skipped: L2TP_SKIP_NETNS is set");
        return;
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::Builder::new()
        .prefix("l2tpd-interop-")
        .tempdir()
        .expect("temp dir");
    let out = dir.path().to_path_buf();
    let status = Command::new(repo.join("scripts/xl2tpd-interop.sh"))
        .arg(&out)
        .env("L2TPD", env!("CARGO_BIN_EXE_l2tpd"))
        .status()
        .expect("run scripts/xl2tpd-interop.sh");
    assert!(status.success(), "interop script failed: {status}");

    let evs = events(&out);
    let kinds: Vec<&str> = evs
        .iter()
        .map(|e| e["event"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        ["tunnel_up", "session_up", "session_down", "tunnel_down"],
        "event sequence"
    );
    let up = &evs[0];
    assert_eq!(up["peer_host_name"], "lns.example");
    assert_ne!(up["peer_tunnel_id"], 0);
    let sdown = &evs[2];
    assert_eq!(sdown["reason"], "peer");
    // xl2tpd always sends Result Code 1 (see ../shared/captures/README.md).
    assert_eq!(sdown["result_code"], 1);
    let tdown = &evs[3];
    assert_eq!(tdown["reason"], "local");
    assert_eq!(
        tdown["result_code"], 6,
        "StopCCN result: requester is being shut down"
    );
}

/// Runs one of `tests/interop/*.sh` (each asserts step by step and exits non-zero on the first
/// failure) with our freshly built l2tpd; returns its output.
fn run_interop_script(name: &str) -> String {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(repo.join("tests/interop").join(name))
        .env("L2TPD", env!("CARGO_BIN_EXE_l2tpd"))
        .output()
        .expect("run interop script");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn xl2tpd_lac_sets_up_tunnel_and_session_with_our_lns_and_both_teardowns_are_seen() {
    if std::env::var_os("L2TP_SKIP_NETNS").is_some() {
        eprintln!("skipped: L2TP_SKIP_NETNS is set");
        return;
    }
    let out = run_interop_script("xl2tpd-lac-our-lns.sh");
    for step in [
        "ok: tunnel up (xl2tpd LAC -> our LNS)",
        "ok: session up (ICRQ/ICRP/ICCN)",
        "ok: session down by xl2tpd's CDN",
        "ok: tunnel down by xl2tpd's StopCCN",
        "ok: our LNS exited 0",
    ] {
        assert!(out.contains(step), "missing step {step:?} in:\n{out}");
    }
}

#[test]
fn our_lac_authenticates_with_xl2tpd_challenge_and_a_wrong_secret_is_refused() {
    if std::env::var_os("L2TP_SKIP_NETNS").is_some() {
        eprintln!("skipped: L2TP_SKIP_NETNS is set");
        return;
    }
    let out = run_interop_script("our-lac-xl2tpd-challenge.sh");
    for step in [
        "ok: authenticated tunnel up",
        "ok: session up",
        "ok: no tunnel with a wrong secret",
        "ok: capture holds Challenge and Challenge Response AVPs",
        "ok: tshark: no expert warning",
    ] {
        assert!(out.contains(step), "missing step {step:?} in:\n{out}");
    }
}

#[test]
fn two_of_ours_speak_l2tpv3_over_udp_with_digest_cookies_and_v2_fallback() {
    if std::env::var_os("L2TP_SKIP_NETNS").is_some() {
        eprintln!("skipped: L2TP_SKIP_NETNS is set");
        return;
    }
    let out = run_interop_script("v3-udp-ours.sh");
    for step in [
        "ok: v3 control connection up",
        "ok: Ethernet pseudowire up",
        "ok: PPP pseudowire up",
        "ok: listener sends the assigned cookie deadbeef",
        "ok: L2TPv2 peer accepted by the L2TPv3 listener (fallback)",
        "ok: tshark with the secret: no expert warning",
        "the digests were really checked",
    ] {
        assert!(out.contains(step), "missing step {step:?} in:\n{out}");
    }
}
