//! Kernel integration tests: they need root, network namespaces and the L2TP/PPP modules, so they
//! run only inside the QEMU VM (`tests/vm/kernel-tests.sh`, feature `vm-tests`). Each test builds
//! its own pair of network namespaces joined by a veth pair, with addresses in 10.x / fd00:: only
//! inside them, and removes them when it ends.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::Duration;

use l2tp_kernel::{Error, L2tpNetlink, SessionSpec, TunnelSpec};

/// Run a shell command; panic with its output unless it succeeds. Returns stdout.
fn sh(cmd: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("spawn sh");
    if !out.status.success() {
        panic!(
            "command failed ({}): {cmd}\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A named network namespace, deleted on drop.
struct Netns(String);

impl Netns {
    fn new(name: &str) -> Netns {
        let _ = Command::new("ip")
            .args(["netns", "del", name])
            .stderr(std::process::Stdio::null())
            .status();
        sh(&format!(
            "ip netns add {name} && ip -n {name} link set lo up"
        ));
        Netns(name.to_owned())
    }

    /// Run a shell command inside the namespace.
    fn sh(&self, cmd: &str) -> String {
        sh(&format!(
            "ip netns exec {} sh -c '{}'",
            self.0,
            cmd.replace('\'', "'\\''")
        ))
    }

    /// Run `f` on a thread that has entered this namespace: sockets it opens live there.
    fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.0);
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = std::fs::File::open(&path).expect("open netns");
                // SAFETY: `file` is an open netns file descriptor for the duration of the call;
                // setns only changes this (scoped, dedicated) thread's network namespace.
                let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
                assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
                f()
            })
            .join()
            .expect("netns thread panicked")
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// Two namespaces `{p}a` and `{p}b` joined by veth `va`/`vb` with `net`.1/24 and `net`.2/24
/// (IPv4) and fd00:`net6`::1/64, ::2/64 (IPv6).
fn pair(p: &str, net: &str, net6: &str) -> (Netns, Netns) {
    let a = Netns::new(&format!("{p}a"));
    let b = Netns::new(&format!("{p}b"));
    sh(&format!(
        "ip link add va netns {}a type veth peer name vb netns {}b",
        p, p
    ));
    a.sh(&format!(
        "ip addr add {net}.1/24 dev va && ip -6 addr add fd00:{net6}::1/64 dev va nodad && ip link set va up"
    ));
    b.sh(&format!(
        "ip addr add {net}.2/24 dev vb && ip -6 addr add fd00:{net6}::2/64 dev vb nodad && ip link set vb up"
    ));
    (a, b)
}

fn ping(ns: &Netns, addr: &str) {
    ns.sh(&format!(
        "ping -c 3 -i 0.2 -W 3 {addr} >/dev/null || ping -c 3 -W 3 {addr}"
    ));
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Put addresses on the l2tpeth interfaces at both ends and bring them up.
fn address_eth(a: &Netns, b: &Netns, ifname: &str, net: &str) {
    a.sh(&format!(
        "ip addr add {net}.1/24 dev {ifname} && ip link set {ifname} up"
    ));
    b.sh(&format!(
        "ip addr add {net}.2/24 dev {ifname} && ip link set {ifname} up"
    ));
}

#[test]
fn eth_pseudowire_over_udp4_created_by_crate_interoperates_with_ip_l2tp() {
    let (a, b) = pair("t1", "10.1.1", "1");
    a.run(|| {
        let nl = L2tpNetlink::open().unwrap();
        let t = TunnelSpec::unmanaged_udp(100, 200, addr("10.1.1.1:1701"), addr("10.1.1.2:1701"));
        let mut s = SessionSpec::eth(100, 1000, 2000);
        s.ifname = Some("l2tpeth9".into());
        nl.create_tunnel_with_session(&t, &s).unwrap();
    });
    b.sh("ip l2tp add tunnel tunnel_id 200 peer_tunnel_id 100 encap udp local 10.1.1.2 remote 10.1.1.1 udp_sport 1701 udp_dport 1701");
    b.sh("ip l2tp add session tunnel_id 200 session_id 2000 peer_session_id 1000 name l2tpeth9");
    address_eth(&a, &b, "l2tpeth9", "10.101.1");
    ping(&a, "10.101.1.2");
}

#[test]
fn create_existing_tunnel_fails_with_exists_naming_the_id() {
    let (a, _b) = pair("t10", "10.1.10", "10");
    a.run(|| {
        let nl = L2tpNetlink::open().unwrap();
        let t = TunnelSpec::unmanaged_udp(7, 8, addr("10.1.10.1:1701"), addr("10.1.10.2:1701"));
        nl.create_tunnel(&t).unwrap();
        let e = nl.create_tunnel(&t).unwrap_err();
        assert!(matches!(e, Error::Exists { .. }), "{e:?}");
        assert_eq!(e.to_string(), "tunnel 7 already exists");
    });
    let _ = Duration::ZERO;
    let _ = ip("10.0.0.1");
}
