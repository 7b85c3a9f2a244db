//! Real input: our LAC (null data plane, then in-process PPP) against l2tpns, an independent LNS with its PPP in user
//! space, which authenticates through FreeRADIUS; both run in a network namespace on this host.
//!
//! Runs `tests/interop/l2tpns-radius-smoke.sh` (harness in `tests/l2tpns-lib.sh`). Needs root,
//! the Debian packages `l2tpns` and `freeradius`; without them the test fails with the reason
//! (set `L2TP_SKIP_NETNS=1` to skip it knowingly on a machine that cannot create network
//! namespaces). Our in-process PPP LAC authenticates to l2tpns here too
//! (`tests/interop/our-lac-l2tpns.sh`); xl2tpd + pppd against l2tpns runs in the VM
//! (`tests/vm/e2e/xl2tpd-l2tpns.sh`).

use std::path::PathBuf;
use std::process::Command;

#[test]
fn our_lac_sets_up_tunnel_and_session_with_l2tpns_and_its_stopccn_is_acknowledged() {
    if std::env::var_os("L2TP_SKIP_NETNS").is_some() {
        eprintln!("skipped: L2TP_SKIP_NETNS is set");
        return;
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(repo.join("tests/interop/l2tpns-radius-smoke.sh"))
        .env("L2TPD", env!("CARGO_BIN_EXE_l2tpd"))
        .output()
        .expect("run tests/interop/l2tpns-radius-smoke.sh");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "l2tpns-radius-smoke.sh failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "ok: FreeRADIUS radius ready in lns",
        "ok: l2tpns is cluster master",
        "ok: tunnel up with l2tpns",
        "ok: l2tpns's SCCRP names it lns.l2tpns",
        "ok: session up with l2tpns",
        "ok: l2tpns logged the new session",
        "ok: our LAC exited 0",
        "ok: StopCCN acknowledged by l2tpns",
        "ok: l2tpns closed the tunnel",
        "ok: l2tpns still running",
    ] {
        assert!(text.contains(step), "missing step {step:?} in:\n{text}");
    }
}

/// Our LAC with PPP in-process on the user-space data plane (TUN; no pppd, no kernel L2TP or
/// PPP) authenticates to l2tpns through FreeRADIUS, gets the RADIUS-assigned address by IPCP
/// and pings l2tpns (`tests/interop/our-lac-l2tpns.sh`).
fn our_ppp_lac_against_l2tpns(auth: &str) {
    if std::env::var_os("L2TP_SKIP_NETNS").is_some() {
        eprintln!("skipped: L2TP_SKIP_NETNS is set");
        return;
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(repo.join("tests/interop/our-lac-l2tpns.sh"))
        .env("L2TPD", env!("CARGO_BIN_EXE_l2tpd"))
        .env("AUTH", auth)
        .output()
        .expect("run tests/interop/our-lac-l2tpns.sh");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "our-lac-l2tpns.sh ({auth}) failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "ok: tunnel and session up with l2tpns",
        "ok: IPCP: our TUN has the address RADIUS assigned (10.80.0.10)",
        "ok: uppp0 is 10.80.0.10 peer 10.80.0.1",
        "authenticated through l2tpns and FreeRADIUS",
        "ok: ping 10.80.0.10 -> 10.80.0.1 through l2tpns",
        "ok: our LAC exited 0",
    ] {
        assert!(text.contains(step), "missing step {step:?} in:\n{text}");
    }
}

#[test]
fn our_ppp_lac_authenticates_with_chap_to_l2tpns_and_pings_through_it() {
    our_ppp_lac_against_l2tpns("chap");
}

#[test]
fn our_ppp_lac_authenticates_with_pap_to_l2tpns_and_pings_through_it() {
    our_ppp_lac_against_l2tpns("pap");
}
