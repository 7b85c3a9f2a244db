//! The user-space data plane carries traffic with no kernel L2TP: two of our daemons in two
//! network namespaces bring up a dynamic L2TPv3 Ethernet pseudowire on TAP interfaces and
//! ping across it, over UDP and L2TP/IP, IPv4 and IPv6, with and without cookies and the
//! default L2-Specific Sublayer with sequence numbers (`tests/interop/userspace-eth.sh`
//! asserts each step; the counters it reads come from `l2tpctl show`).
//!
//! Needs root and /dev/net/tun (the script creates the node if missing); set
//! `L2TP_SKIP_NETNS=1` to skip it knowingly on a machine that cannot create namespaces.

use std::path::{Path, PathBuf};
use std::process::Command;

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

fn run(encap: &str, family: &str, cookies: bool, seq: bool) -> String {
    run_pw("eth", encap, family, cookies, seq)
}

fn run_pw(pw: &str, encap: &str, family: &str, cookies: bool, seq: bool) -> String {
    run_with(pw, "userspace", encap, family, cookies, seq)
}

fn run_with(
    pw: &str,
    dataplane: &str,
    encap: &str,
    family: &str,
    cookies: bool,
    seq: bool,
) -> String {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(repo.join("tests/interop/userspace-eth.sh"))
        .env("L2TPD", env!("CARGO_BIN_EXE_l2tpd"))
        .env("L2TPCTL", l2tpctl())
        .env("ENCAP", encap)
        .env("FAMILY", family)
        .env("COOKIES", if cookies { "1" } else { "0" })
        .env("SEQ", if seq { "1" } else { "0" })
        .env("QUIET", "1")
        .env("PW", pw)
        .env("DATAPLANE", dataplane)
        .output()
        .expect("run tests/interop/userspace-eth.sh");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "userspace-eth.sh ({encap}, IPv{family}) failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "ok: Ethernet pseudowire up",
        "ok: ping a -> b across the pseudowire",
        "ok: ping b -> a across the pseudowire",
        "ok: 1300-byte ping across",
        "ok: counters",
        "and its TAP removed",
    ] {
        assert!(text.contains(step), "missing step {step:?} in:\n{text}");
    }
    text
}

fn skip() -> bool {
    let s = std::env::var_os("L2TP_SKIP_NETNS").is_some();
    if s {
        eprintln!("skipped: L2TP_SKIP_NETNS is set");
    }
    s
}

#[test]
fn ethernet_pseudowire_over_udp_ipv4_with_cookies_and_sequencing_carries_pings() {
    if !skip() {
        run("udp", "4", true, true);
    }
}

#[test]
fn ethernet_pseudowire_over_udp_ipv6_without_cookies_carries_pings() {
    if !skip() {
        run("udp", "6", false, false);
    }
}

#[test]
fn ethernet_pseudowire_over_l2tp_ip_ipv4_with_cookies_and_sequencing_carries_pings() {
    if !skip() {
        run("ip", "4", true, true);
    }
}

/// Also `dataplane = "auto"` on the listener: it says which data plane it chose (user space
/// on a host without kernel L2TP, the kernel's where the modules load: both carry the pings).
#[test]
fn ethernet_pseudowire_over_l2tp_ip_ipv6_with_cookies_carries_pings() {
    if !skip() {
        let out = run_with("eth", "auto", "ip", "6", true, false);
        assert!(out.contains("ok: b: data plane auto:"), "{out}");
    }
}

#[test]
fn ethernet_vlan_pseudowire_carries_tagged_frames() {
    if !skip() {
        let out = run_pw("eth_vlan", "udp", "4", false, true);
        assert!(
            out.contains("ok: a VLAN 5 tagged frame crossed the Ethernet VLAN pseudowire intact"),
            "{out}"
        );
    }
}
