//! PPP terminated in-process on the user-space data plane: two of our daemons in two network
//! namespaces, our LAC (PPP peer with a user name and password) dialling our LNS (PPP
//! authenticator with a chap-secrets file and an address pool) over L2TPv2, no pppd and no
//! kernel L2TP/PPP. Each authentication method must reach IPCP with the pool's first address
//! on the LAC's TUN interface and carry pings both ways; a wrong password must be refused,
//! both ends clearing the session with a CDN and leaving no TUN interface
//! (`tests/interop/userspace-ppp.sh` asserts each step).
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

fn run(auth: &str, bad_password: bool) -> String {
    run_with(auth, bad_password, &[])
}

fn run_with(auth: &str, bad_password: bool, env: &[(&str, &str)]) -> String {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(repo.join("tests/interop/userspace-ppp.sh"))
        .envs(env.iter().copied())
        .env("L2TPD", env!("CARGO_BIN_EXE_l2tpd"))
        .env("L2TPCTL", l2tpctl())
        .env("AUTH", auth)
        .env("BAD", if bad_password { "1" } else { "0" })
        .env("QUIET", "1")
        .output()
        .expect("run tests/interop/userspace-ppp.sh");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "userspace-ppp.sh ({auth}, bad password {bad_password}) failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn assert_steps(text: &str, steps: &[&str]) {
    for step in steps {
        assert!(text.contains(step), "missing step {step:?} in:\n{text}");
    }
}

fn reaches_ipcp_and_carries_pings(auth: &str) {
    let text = run(auth, false);
    assert_ipcp_and_pings(&text);
}

fn assert_ipcp_and_pings(text: &str) {
    assert_steps(
        text,
        &[
            "ok: IPCP up: the LAC's TUN has the pool's first address",
            "ok: the LNS's TUN has its local address with the peer as destination",
            "ok: ping LAC -> LNS across PPP",
            "ok: ping LNS -> LAC across PPP",
            "ok: 1300-byte ping across PPP",
            "ok: show: user alice address 10.99.0.2",
            "ok: show --json: ppp",
            "ok: l2tpctl show session names the PPP phase, user and address",
            "and its TUN removed",
            "ok: session_down names the user and the address",
        ],
    );
}

fn skip() -> bool {
    let s = std::env::var_os("L2TP_SKIP_NETNS").is_some();
    if s {
        eprintln!("skipped: L2TP_SKIP_NETNS is set");
    }
    s
}

#[test]
fn chap_md5_session_reaches_ipcp_with_the_pools_first_address_and_carries_pings() {
    if !skip() {
        reaches_ipcp_and_carries_pings("chap");
    }
}

#[test]
fn mschapv2_session_reaches_ipcp_with_the_pools_first_address_and_carries_pings() {
    if !skip() {
        reaches_ipcp_and_carries_pings("mschapv2");
    }
}

#[test]
fn pap_session_reaches_ipcp_with_the_pools_first_address_and_carries_pings() {
    if !skip() {
        reaches_ipcp_and_carries_pings("pap");
    }
}

#[test]
fn wrong_password_is_refused_and_both_ends_clear_the_session_with_a_cdn() {
    if !skip() {
        let text = run("chap", true);
        assert_steps(
            &text,
            &[
                "ok: the LAC's session cleared after the refused password",
                "ok: the LNS's session cleared",
                "ok: both CDNs say PPP failed (result 2)",
                "ok: LNS metrics: l2tp_ppp_auth_failures_total{method=\"chap\"} 1, the other methods 0",
                "ok: LAC stats: one chap authentication failure",
                "ok: no TUN interface left on the LAC",
                "ok: no TUN interface left on the LNS",
            ],
        );
        assert!(
            !text.contains("IPCP up"),
            "a refused peer must not reach IPCP:\n{text}"
        );
    }
}

#[test]
fn l2tpv3_ppp_pseudowire_reaches_ipcp_and_carries_pings() {
    if !skip() {
        let text = run_with("mschapv2", false, &[("VERSION", "3")]);
        assert!(text.contains("ok: L2TPv3 session up"), "{text}");
        assert_ipcp_and_pings(&text);
    }
}

#[test]
fn lcp_echo_timeout_clears_the_session_with_a_cdn_and_keeps_the_tunnel() {
    if !skip() {
        let text = run_with("chap", false, &[("DEAD", "1")]);
        assert_steps(
            &text,
            &[
                "ok: the LNS's LCP echo declared the frozen LAC dead",
                "ok: the LNS's TUN removed with the session",
                "ok: the LAC got the CDN",
            ],
        );
    }
}

/// `ppp_ipv6 = true` on both ends: IPV6CP opens (`show` says so), each TUN interface gets a
/// fe80::/64 address and ping -6 crosses PPP both ways (IPv6 is dropped until IPV6CP is open).
#[test]
fn ipv6cp_with_ppp_ipv6_gives_link_local_addresses_and_carries_ping6() {
    if !skip() {
        let text = run_with("chap", false, &[("IPV6", "1")]);
        assert_ipcp_and_pings(&text);
        assert_steps(
            &text,
            &[
                "ok: IPV6CP up: the LAC's TUN has a /64 link-local address",
                "ok: IPV6CP up: the LNS's TUN has a /64 link-local address",
                "ok: show: ipv6cp opened",
                "ok: ping -6 LAC -> LNS fe80::",
                "ok: ping -6 LNS -> LAC fe80::",
            ],
        );
    }
}
