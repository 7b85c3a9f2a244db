//! Kernel integration tests: they need root, network namespaces and the L2TP/PPP modules, so they
//! run only inside the QEMU VM (`tests/vm/kernel-tests.sh`, feature `vm-tests`). Each test builds
//! its own pair of network namespaces joined by a veth pair, with addresses in 10.x / fd00:: only
//! inside them, and removes them when it ends.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::Duration;

use l2tp_kernel::ppp::{PPP_IP, PPP_IPV6};
use l2tp_kernel::{
    EncapType, Error, L2tpCmd, L2tpEvents, L2tpNetlink, NpMode, PppChannel, PppUnit, PppoL2tpAddr,
    PppoL2tpSocket, SessionModify, SessionSpec, Stats, TunnelSocket, TunnelSpec,
};

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
fn eth_pseudowire_over_udp4_created_by_crate_interoperates_with_ip_l2tp_and_counts_traffic() {
    let (a, b) = pair("t1", "10.1.1", "1");
    let nl = a.run(|| {
        let nl = L2tpNetlink::open().unwrap();
        let t = TunnelSpec::unmanaged_udp(100, 200, addr("10.1.1.1:1701"), addr("10.1.1.2:1701"));
        let mut s = SessionSpec::eth(100, 1000, 2000);
        s.ifname = Some("l2tpeth9".into());
        nl.create_tunnel_with_session(&t, &s).unwrap();
        nl
    });
    b.sh("ip l2tp add tunnel tunnel_id 200 peer_tunnel_id 100 encap udp local 10.1.1.2 remote 10.1.1.1 udp_sport 1701 udp_dport 1701");
    b.sh("ip l2tp add session tunnel_id 200 session_id 2000 peer_session_id 1000 name l2tpeth9");
    address_eth(&a, &b, "l2tpeth9", "10.101.1");
    let before = nl.get_session(100, 1000).unwrap().stats;
    ping(&a, "10.101.1.2");
    let after = nl.get_session(100, 1000).unwrap().stats;
    assert_rises(&before, &after);
    let t = nl.get_tunnel(100).unwrap();
    assert_eq!(t.encap, Some(EncapType::Udp));
    assert_eq!((t.udp_sport, t.udp_dport), (Some(1701), Some(1701)));
}

fn assert_rises(before: &Stats, after: &Stats) {
    assert!(
        after.tx_packets > before.tx_packets,
        "tx {before:?} -> {after:?}"
    );
    assert!(
        after.rx_packets > before.rx_packets,
        "rx {before:?} -> {after:?}"
    );
    assert!(after.tx_bytes > before.tx_bytes && after.rx_bytes > before.rx_bytes);
}

/// Ethernet PW between `a` (our crate, tunnel `spec`, session 1000/2000) and `b` (`ip l2tp`
/// with `b_tunnel` arguments), pinged across.
fn eth_pw_against_ip_l2tp(a: &Netns, b: &Netns, spec: TunnelSpec, b_tunnel: &str, net: &str) {
    let tid = spec.tunnel_id;
    let nl = a.run(move || {
        let nl = L2tpNetlink::open().unwrap();
        let mut s = SessionSpec::eth(tid, 1000, 2000);
        s.ifname = Some("l2tpeth9".into());
        nl.create_tunnel_with_session(&spec, &s).unwrap();
        nl
    });
    b.sh(&format!("ip l2tp add tunnel {b_tunnel}"));
    b.sh("ip l2tp add session tunnel_id 200 session_id 2000 peer_session_id 1000 name l2tpeth9");
    address_eth(a, b, "l2tpeth9", net);
    ping(a, &format!("{net}.2"));
    assert!(nl.get_session(tid, 1000).unwrap().stats.rx_packets > 0);
}

#[test]
fn eth_pseudowire_over_ip_encap_interoperates_with_ip_l2tp() {
    let (a, b) = pair("t2", "10.1.2", "2");
    let spec = TunnelSpec::unmanaged_ip(100, 200, ip("10.1.2.1"), ip("10.1.2.2"));
    eth_pw_against_ip_l2tp(
        &a,
        &b,
        spec,
        "tunnel_id 200 peer_tunnel_id 100 encap ip local 10.1.2.2 remote 10.1.2.1",
        "10.101.2",
    );
}

#[test]
fn eth_pseudowire_over_udp6_interoperates_with_ip_l2tp() {
    let (a, b) = pair("t3", "10.1.3", "3");
    let spec =
        TunnelSpec::unmanaged_udp(100, 200, addr("[fd00:3::1]:1701"), addr("[fd00:3::2]:1701"));
    eth_pw_against_ip_l2tp(
        &a,
        &b,
        spec,
        "tunnel_id 200 peer_tunnel_id 100 encap udp local fd00:3::2 remote fd00:3::1 udp_sport 1701 udp_dport 1701",
        "10.101.3",
    );
}

#[test]
fn eth_pseudowire_over_ip6_encap_interoperates_with_ip_l2tp() {
    let (a, b) = pair("t4", "10.1.4", "4");
    let spec = TunnelSpec::unmanaged_ip(100, 200, ip("fd00:4::1"), ip("fd00:4::2"));
    eth_pw_against_ip_l2tp(
        &a,
        &b,
        spec,
        "tunnel_id 200 peer_tunnel_id 100 encap ip local fd00:4::2 remote fd00:4::1",
        "10.101.4",
    );
}

#[test]
fn managed_udp4_tunnel_on_our_socket_carries_eth_pseudowire() {
    let (a, b) = pair("t5", "10.1.5", "5");
    let sock = a.run(|| TunnelSocket::udp(addr("10.1.5.1:1701"), addr("10.1.5.2:1701")).unwrap());
    let spec = TunnelSpec::managed(100, 200, 3, sock.as_raw_fd(), EncapType::Udp);
    eth_pw_against_ip_l2tp(
        &a,
        &b,
        spec,
        "tunnel_id 200 peer_tunnel_id 100 encap udp local 10.1.5.2 remote 10.1.5.1 udp_sport 1701 udp_dport 1701",
        "10.101.5",
    );
    drop(sock);
}

#[test]
fn managed_l2tp_ip6_tunnel_on_our_socket_carries_eth_pseudowire() {
    let (a, b) = pair("t6", "10.1.6", "6");
    let sock = a.run(|| TunnelSocket::l2tp_ip(ip("fd00:6::1"), ip("fd00:6::2"), 100, 200).unwrap());
    let spec = TunnelSpec::managed(100, 200, 3, sock.as_raw_fd(), EncapType::Ip);
    eth_pw_against_ip_l2tp(
        &a,
        &b,
        spec,
        "tunnel_id 200 peer_tunnel_id 100 encap ip local fd00:6::2 remote fd00:6::1",
        "10.101.6",
    );
    drop(sock);
}

#[test]
fn cookies_matching_pass_and_mismatching_are_counted_as_cookie_discards() {
    let (a, b) = pair("t7", "10.1.7", "7");
    let nl = a.run(|| {
        let nl = L2tpNetlink::open().unwrap();
        let t = TunnelSpec::unmanaged_udp(100, 200, addr("10.1.7.1:1701"), addr("10.1.7.2:1701"));
        nl.create_tunnel(&t).unwrap();
        let mut s = SessionSpec::eth(100, 1001, 2001);
        s.ifname = Some("good".into());
        s.cookie = vec![1, 2, 3, 4, 5, 6, 7, 8];
        s.peer_cookie = vec![9, 10, 11, 12];
        nl.create_session(&s).unwrap();
        let mut s = SessionSpec::eth(100, 1002, 2002);
        s.ifname = Some("bad".into());
        s.peer_cookie = vec![0xaa; 4]; // b sends bbbbbbbb
        nl.create_session(&s).unwrap();
        let info = nl.get_session(100, 1001).unwrap();
        assert_eq!(info.cookie, vec![1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(info.peer_cookie, vec![9, 10, 11, 12]);
        nl
    });
    b.sh("ip l2tp add tunnel tunnel_id 200 peer_tunnel_id 100 encap udp local 10.1.7.2 remote 10.1.7.1 udp_sport 1701 udp_dport 1701");
    b.sh("ip l2tp add session tunnel_id 200 session_id 2001 peer_session_id 1001 name good cookie 090a0b0c peer_cookie 0102030405060708");
    b.sh("ip l2tp add session tunnel_id 200 session_id 2002 peer_session_id 1002 name bad cookie bbbbbbbb");
    address_eth(&a, &b, "good", "10.101.7");
    address_eth(&a, &b, "bad", "10.102.7");
    ping(&a, "10.101.7.2");
    a.sh("ping -c 2 -i 0.2 -W 1 10.102.7.2 >/dev/null || true");
    let good = nl.get_session(100, 1001).unwrap().stats;
    let bad = nl.get_session(100, 1002).unwrap().stats;
    assert_eq!(good.rx_cookie_discards, 0, "{good:?}");
    assert!(bad.rx_cookie_discards > 0, "{bad:?}");
    assert_eq!(bad.rx_packets, 0, "{bad:?}");
}

/// One end of a PPP session: managed UDP tunnel socket, PPPoL2TP socket, its channel and
/// (optionally) a pppN unit connected to it. Everything is kept open while this lives.
struct PppEnd {
    _tunnel: TunnelSocket,
    pppox: PppoL2tpSocket,
    chan: PppChannel,
    unit: Option<PppUnit>,
}

#[allow(clippy::too_many_arguments)]
fn ppp_end(
    ns: &Netns,
    version: u8,
    ids: (u32, u32, u32, u32),
    local: &str,
    peer: &str,
    with_unit: bool,
) -> PppEnd {
    let (local, peer) = (addr(local), addr(peer));
    let (tid, ptid, sid, psid) = ids;
    ns.run(move || {
        let nl = L2tpNetlink::open().unwrap();
        let tunnel = TunnelSocket::udp(local, peer).unwrap();
        nl.create_tunnel(&TunnelSpec::managed(
            tid,
            ptid,
            version,
            tunnel.as_raw_fd(),
            EncapType::Udp,
        ))
        .unwrap();
        nl.create_session(&SessionSpec::ppp(tid, ptid, sid, psid))
            .unwrap();
        let pppox = PppoL2tpSocket::connect(&PppoL2tpAddr {
            version,
            tunnel_fd: tunnel.as_raw_fd(),
            peer,
            tunnel_id: tid,
            session_id: sid,
            peer_tunnel_id: ptid,
            peer_session_id: psid,
        })
        .unwrap();
        let chan = PppChannel::attach(pppox.channel_index().unwrap()).unwrap();
        let unit = with_unit.then(|| {
            let unit = PppUnit::new(None).unwrap();
            chan.connect(&unit).unwrap();
            unit.set_np_mode(PPP_IP, NpMode::Pass).unwrap();
            unit.set_np_mode(PPP_IPV6, NpMode::Pass).unwrap();
            unit
        });
        PppEnd {
            _tunnel: tunnel,
            pppox,
            chan,
            unit,
        }
    })
}

fn address_ppp(ns: &Netns, end: &PppEnd, local: &str, peer: &str) {
    let ifname = end.unit.as_ref().unwrap().ifname();
    ns.sh(&format!(
        "ip addr add {local} peer {peer}/32 dev {ifname} && ip link set {ifname} up"
    ));
}

#[test]
fn l2tpv2_ppp_session_without_pppd_carries_ip_and_counts_it() {
    let (a, b) = pair("t8", "10.1.8", "8");
    let ea = ppp_end(
        &a,
        2,
        (1, 2, 11, 22),
        "10.1.8.1:1701",
        "10.1.8.2:1701",
        true,
    );
    let eb = ppp_end(
        &b,
        2,
        (2, 1, 22, 11),
        "10.1.8.2:1701",
        "10.1.8.1:1701",
        true,
    );
    address_ppp(&a, &ea, "10.103.8.1", "10.103.8.2");
    address_ppp(&b, &eb, "10.103.8.2", "10.103.8.1");
    let before = ea.pppox.stats().unwrap();
    ping(&a, "10.103.8.2");
    let after = ea.pppox.stats().unwrap();
    assert_rises(&before, &after);
    // The session socket's options reach the kernel session.
    ea.pppox.set_send_seq(true).unwrap();
    ea.pppox
        .set_reorder_timeout(Duration::from_millis(250))
        .unwrap();
    let (send, recv, lns, reorder_ms) = ea.pppox.options().unwrap();
    assert_eq!((send, recv, lns), (true, false, false));
    // Held in jiffies: 250 ms comes back rounded up to the tick (252 ms at HZ=250).
    assert!((250..=260).contains(&reorder_ms), "{reorder_ms}");
    let info = a.run(|| L2tpNetlink::open().unwrap().get_session(1, 11).unwrap());
    assert!(info.send_seq);
    // Still passes traffic with sequence numbers on one side.
    ping(&a, "10.103.8.2");
    let _ = (&ea.chan, &eb.chan);
}

/// Reads one frame from a non-blocking `/dev/ppp` file, waiting up to 3 s.
fn read_within(read: impl Fn(&mut [u8]) -> std::io::Result<usize>) -> Vec<u8> {
    let mut buf = vec![0u8; 65_537];
    for _ in 0..300 {
        match read(&mut buf) {
            Ok(n) => return buf[..n].to_vec(),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => panic!("read: {e}"),
        }
    }
    panic!("no frame within 3 s");
}

/// What built-in PPP relies on (l2tp-runtime's kernel_ppp): a frame written to one end's
/// channel file (Protocol field first, no FF 03) is read at the other end starting with the
/// Protocol field, FF 03 stripped; with the channel connected to a unit, LCP (0xc021) arrives
/// on the channel file and IPCP (0x8021) on the unit file. Then the unit is renamed, given a
/// point-to-point address and brought up over rtnetlink (crate `rtnl`), and IP passes.
#[test]
fn channel_and_unit_files_carry_control_frames_and_rtnl_configures_the_unit() {
    let (a, b) = pair("tk", "10.1.77", "77");
    let ea = ppp_end(
        &a,
        2,
        (1, 2, 11, 22),
        "10.1.77.1:1701",
        "10.1.77.2:1701",
        true,
    );
    let eb = ppp_end(
        &b,
        2,
        (2, 1, 22, 11),
        "10.1.77.2:1701",
        "10.1.77.1:1701",
        true,
    );
    let ub = eb.unit.as_ref().unwrap();
    eb.chan.set_nonblocking(true).unwrap();
    ub.set_nonblocking(true).unwrap();
    // LCP Echo-Request id 1, magic 0.
    let lcp = [0xc0, 0x21, 0x09, 0x01, 0x00, 0x08, 0, 0, 0, 0];
    assert_eq!(ea.chan.write_frame(&lcp).unwrap(), lcp.len());
    assert_eq!(read_within(|buf| eb.chan.read_frame(buf)), lcp);
    // IPCP Configure-Request id 1, no options: the unit's file, not the channel's.
    let ipcp = [0x80, 0x21, 0x01, 0x01, 0x00, 0x04];
    ea.chan.write_frame(&ipcp).unwrap();
    assert_eq!(read_within(|buf| ub.read_frame(buf)), ipcp);
    assert!(
        eb.chan.read_frame(&mut [0u8; 64]).is_err(),
        "nothing more on the channel file"
    );
    // rtnetlink: rename, address with peer, up (with an MTU), in b's namespace.
    let ifname = ub.ifname();
    b.run(|| {
        let index = l2tp_kernel::rtnl::ifindex(&ifname).unwrap();
        l2tp_kernel::rtnl::set_link_name(index, "kpppt77").unwrap();
        l2tp_kernel::rtnl::add_ptp_address(
            index,
            "10.103.77.2".parse().unwrap(),
            "10.103.77.1".parse().unwrap(),
        )
        .unwrap();
        assert!(matches!(
            l2tp_kernel::rtnl::add_ptp_address(
                index,
                "10.103.77.2".parse().unwrap(),
                "10.103.77.1".parse().unwrap()
            ),
            Err(Error::Exists { .. })
        ));
        // Another IPCP's address, taken off again (IPCP renegotiated elsewhere); twice: gone.
        let (l, p) = (
            "10.103.78.2".parse().unwrap(),
            "10.103.78.1".parse().unwrap(),
        );
        l2tp_kernel::rtnl::add_ptp_address(index, l, p).unwrap();
        l2tp_kernel::rtnl::del_ptp_address(index, l, p).unwrap();
        assert!(l2tp_kernel::rtnl::del_ptp_address(index, l, p).is_err());
        l2tp_kernel::rtnl::set_link_up(index, true, Some(1400)).unwrap();
        assert!(l2tp_kernel::rtnl::set_link_name(index, "bad name").is_err());
    });
    let shown = b.sh("ip addr show dev kpppt77");
    assert!(
        shown.contains("inet 10.103.77.2 peer 10.103.77.1/32"),
        "{shown}"
    );
    assert!(
        shown.contains("mtu 1400") && shown.contains(",UP"),
        "{shown}"
    );
    assert!(b.sh("ip route show").contains("10.103.77.1 dev kpppt77"));
    assert!(!shown.contains("10.103.78.2"), "{shown}");
    address_ppp(&a, &ea, "10.103.77.1", "10.103.77.2");
    ping(&a, "10.103.77.2");
    // rtnl::link_stats (IFLA_STATS64, what built-in PPP's accounting reads): the same
    // counters as sysfs; the pings (84-byte IPv4 packets, no Protocol field counted) and the
    // IPCP frame (read by the unit's file, counted on the way) in, the replies out.
    let index = b.run(|| l2tp_kernel::rtnl::ifindex("kpppt77").unwrap());
    let st = b.run(|| l2tp_kernel::rtnl::link_stats(index).unwrap());
    let sysfs = |what: &str| -> u64 {
        b.sh(&format!("cat /sys/class/net/kpppt77/statistics/{what}"))
            .trim()
            .parse()
            .unwrap()
    };
    assert_eq!(st.rx_bytes, sysfs("rx_bytes"), "{st:?}");
    assert_eq!(st.tx_bytes, sysfs("tx_bytes"), "{st:?}");
    assert_eq!(st.rx_packets, sysfs("rx_packets"), "{st:?}");
    assert!(st.rx_packets >= 4 && st.rx_bytes >= 3 * 84 + 4, "{st:?}");
    assert!(st.tx_packets >= 3 && st.tx_bytes >= 3 * 84, "{st:?}");
}

#[test]
fn ppp_sessions_over_the_other_pppol2tp_sockaddr_variants_carry_ip() {
    // v2 over IPv6 (sockaddr_pppol2tpin6, 50 B), v3 over IPv4 (sockaddr_pppol2tpv3, 46 B),
    // v3 over IPv6 (sockaddr_pppol2tpv3in6, 58 B); v2 over IPv4 (38 B) is the test above.
    let (a, b) = pair("t15", "10.1.15", "15");
    let cases = [
        (2u8, "[fd00:15::1]:1702", "[fd00:15::2]:1702", 1u32),
        (3, "10.1.15.1:1703", "10.1.15.2:1703", 2),
        (3, "[fd00:15::1]:1704", "[fd00:15::2]:1704", 3),
    ];
    let mut ends = Vec::new();
    for (version, la, lb, k) in cases {
        let ea = ppp_end(&a, version, (k, k + 10, k + 100, k + 200), la, lb, true);
        let eb = ppp_end(&b, version, (k + 10, k, k + 200, k + 100), lb, la, true);
        address_ppp(&a, &ea, &format!("10.105.{k}.1"), &format!("10.105.{k}.2"));
        address_ppp(&b, &eb, &format!("10.105.{k}.2"), &format!("10.105.{k}.1"));
        ping(&a, &format!("10.105.{k}.2"));
        assert!(ea.pppox.stats().unwrap().rx_packets > 0);
        ends.push((ea, eb));
    }
}

#[test]
fn ppp_channels_bridged_at_the_middle_node_switch_sessions_a_to_c() {
    let a = Netns::new("t9a");
    let b = Netns::new("t9b");
    let c = Netns::new("t9c");
    sh("ip link add va netns t9a type veth peer name vb netns t9b");
    sh("ip link add vc netns t9b type veth peer name vd netns t9c");
    a.sh("ip addr add 10.1.9.1/24 dev va && ip link set va up");
    b.sh("ip addr add 10.1.9.2/24 dev vb && ip link set vb up && ip addr add 10.2.9.1/24 dev vc && ip link set vc up");
    c.sh("ip addr add 10.2.9.2/24 dev vd && ip link set vd up");
    let ea = ppp_end(
        &a,
        2,
        (1, 2, 11, 21),
        "10.1.9.1:1701",
        "10.1.9.2:1701",
        true,
    );
    let eb1 = ppp_end(
        &b,
        2,
        (2, 1, 21, 11),
        "10.1.9.2:1701",
        "10.1.9.1:1701",
        false,
    );
    let eb2 = ppp_end(
        &b,
        2,
        (3, 4, 31, 41),
        "10.2.9.1:1701",
        "10.2.9.2:1701",
        false,
    );
    let ec = ppp_end(
        &c,
        2,
        (4, 3, 41, 31),
        "10.2.9.2:1701",
        "10.2.9.1:1701",
        true,
    );
    b.run(|| eb1.chan.bridge(eb2.chan.index()).unwrap());
    address_ppp(&a, &ea, "10.104.9.1", "10.104.9.3");
    address_ppp(&c, &ec, "10.104.9.3", "10.104.9.1");
    ping(&a, "10.104.9.3");
    let (s1, s2) = (eb1.pppox.stats().unwrap(), eb2.pppox.stats().unwrap());
    assert!(s1.rx_packets > 0 && s2.tx_packets > 0, "{s1:?} {s2:?}");
    b.run(|| eb1.chan.unbridge().unwrap());
    let lost = a.sh("ping -c 2 -i 0.2 -W 1 10.104.9.3 >/dev/null 2>&1 && echo up || echo down");
    assert_eq!(lost.trim(), "down", "traffic still flows after unbridge");
}

#[test]
fn dump_lists_exactly_what_we_created_and_delete_leaves_nothing() {
    let (a, _b) = pair("t11", "10.1.11", "11");
    let nl = a.run(|| {
        let nl = L2tpNetlink::open().unwrap();
        for (t, port) in [(10, 1701), (11, 1702)] {
            nl.create_tunnel(&TunnelSpec::unmanaged_udp(
                t,
                t + 100,
                addr(&format!("10.1.11.1:{port}")),
                addr(&format!("10.1.11.2:{port}")),
            ))
            .unwrap();
        }
        for (t, s) in [(10, 100), (11, 110), (11, 111)] {
            nl.create_session(&SessionSpec::eth(t, s, s + 1000))
                .unwrap();
        }
        nl
    });
    let mut tunnels: Vec<_> = nl
        .list_tunnels()
        .unwrap()
        .iter()
        .map(|t| (t.tunnel_id, t.peer_tunnel_id))
        .collect();
    tunnels.sort();
    assert_eq!(tunnels, [(10, 110), (11, 111)]);
    let mut sessions: Vec<_> = nl
        .list_sessions()
        .unwrap()
        .iter()
        .map(|s| (s.tunnel_id, s.session_id, s.peer_session_id))
        .collect();
    sessions.sort();
    assert_eq!(
        sessions,
        [(10, 100, 1100), (11, 110, 1110), (11, 111, 1111)]
    );
    nl.delete_session(11, 111).unwrap();
    // The kernel finishes deletes from a work queue (with several CPUs, maybe just after
    // the reply).
    assert!(eventually(|| nl.list_sessions().unwrap().len() == 2));
    nl.delete_tunnel(10).unwrap();
    nl.delete_tunnel(11).unwrap();
    assert!(eventually(|| a.sh("ip l2tp show tunnel").is_empty()));
    assert_eq!(a.sh("ip l2tp show session"), "");
    assert!(nl.list_tunnels().unwrap().is_empty());
    assert!(matches!(nl.delete_tunnel(10), Err(Error::NotFound { .. })));
}

#[test]
fn multicast_event_is_received_when_ip_l2tp_creates_a_tunnel() {
    let (a, _b) = pair("t12", "10.1.12", "12");
    let mut ev = a.run(|| L2tpEvents::subscribe().unwrap());
    a.sh("ip l2tp add tunnel tunnel_id 4242 peer_tunnel_id 1 encap udp local 10.1.12.1 remote 10.1.12.2 udp_sport 1701 udp_dport 1701");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let e = ev
            .recv(Some(left))
            .unwrap()
            .expect("no TUNNEL_CREATE event within 10 s");
        if e.cmd == L2tpCmd::TunnelCreate && e.tunnel_id() == Some(4242) {
            break;
        }
    }
}

#[test]
fn failed_session_create_removes_the_tunnel_the_helper_created() {
    let (a, _b) = pair("t13", "10.1.13", "13");
    a.run(|| {
        let nl = L2tpNetlink::open().unwrap();
        nl.create_tunnel(&TunnelSpec::unmanaged_ip(
            1,
            2,
            ip("10.1.13.1"),
            ip("10.1.13.2"),
        ))
        .unwrap();
        nl.create_session(&SessionSpec::eth(1, 500, 600)).unwrap();
        // Sessions of IP-encapsulated tunnels need namespace-unique ids: 500 in tunnel 3 clashes.
        let t = TunnelSpec::unmanaged_ip(3, 4, ip("10.1.13.1"), ip("10.1.13.2"));
        let e = nl
            .create_tunnel_with_session(&t, &SessionSpec::eth(3, 500, 700))
            .unwrap_err();
        assert!(matches!(e, Error::Exists { .. }), "{e:?}");
        assert_eq!(e.to_string(), "session 500 in tunnel 3 already exists");
        // The kernel deletes a tunnel from a work queue: with several CPUs the delete may
        // finish just after the netlink reply.
        let gone = eventually(|| matches!(nl.get_tunnel(3), Err(Error::NotFound { .. })));
        assert!(gone, "tunnel 3 still there: {:?}", nl.get_tunnel(3));
        assert_eq!(nl.list_tunnels().unwrap().len(), 1);
    });
}

#[test]
fn session_modify_changes_sequencing_and_reorder_timeout() {
    let (a, _b) = pair("t14", "10.1.14", "14");
    a.run(|| {
        let nl = L2tpNetlink::open().unwrap();
        nl.create_tunnel(&TunnelSpec::unmanaged_udp(
            1,
            2,
            addr("10.1.14.1:1701"),
            addr("10.1.14.2:1701"),
        ))
        .unwrap();
        nl.create_session(&SessionSpec::eth(1, 10, 20)).unwrap();
        let s = nl.get_session(1, 10).unwrap();
        assert!(!s.send_seq && !s.recv_seq && !s.lns_mode);
        nl.modify_session(
            1,
            10,
            &SessionModify {
                send_seq: Some(true),
                recv_seq: Some(true),
                lns_mode: Some(true),
                reorder_timeout: Some(Duration::from_millis(300)),
                ..Default::default()
            },
        )
        .unwrap();
        let s = nl.get_session(1, 10).unwrap();
        assert!(s.send_seq && s.recv_seq && s.lns_mode, "{s:?}");
        assert_eq!(s.reorder_timeout, Some(Duration::from_millis(300)));
        assert!(matches!(
            nl.modify_session(1, 99, &SessionModify::default()),
            Err(Error::NotFound { .. })
        ));
    });
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
}

/// Benchmark (run with `tests/vm/kernel-tests.sh --bench`): create then delete N Ethernet
/// sessions (default 1000, `L2TP_BENCH_N`) through this crate, then the same with an `ip l2tp`
/// loop, and print both rates.
#[test]
#[ignore = "benchmark; run with tests/vm/kernel-tests.sh --bench"]
fn bench_create_delete_1000_eth_sessions_crate_vs_ip_l2tp() {
    let n: u32 = std::env::var("L2TP_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let (a, _b) = pair("tb", "10.1.99", "99");
    let crate_time = a.run(|| {
        let nl = L2tpNetlink::open().unwrap();
        let t = TunnelSpec::unmanaged_udp(1, 2, addr("10.1.99.1:1701"), addr("10.1.99.2:1701"));
        nl.create_tunnel(&t).unwrap();
        let start = std::time::Instant::now();
        for i in 1..=n {
            nl.create_session(&SessionSpec::eth(1, i, i)).unwrap();
        }
        for i in 1..=n {
            nl.delete_session(1, i).unwrap();
        }
        let took = start.elapsed();
        nl.delete_tunnel(1).unwrap();
        took
    });
    a.sh("ip l2tp add tunnel tunnel_id 1 peer_tunnel_id 2 encap udp local 10.1.99.1 remote 10.1.99.2 udp_sport 1701 udp_dport 1701");
    let start = std::time::Instant::now();
    a.sh(&format!(
        "i=1; while [ $i -le {n} ]; do ip l2tp add session tunnel_id 1 session_id $i peer_session_id $i || exit 1; i=$((i+1)); done; \
         i=1; while [ $i -le {n} ]; do ip l2tp del session tunnel_id 1 session_id $i || exit 1; i=$((i+1)); done"
    ));
    let ip_time = start.elapsed();
    // The same through one `ip -batch` process (no exec per operation).
    let mut batch = String::new();
    for i in 1..=n {
        batch += &format!("l2tp add session tunnel_id 1 session_id {i} peer_session_id {i}\n");
    }
    for i in 1..=n {
        batch += &format!("l2tp del session tunnel_id 1 session_id {i}\n");
    }
    std::fs::write("/tmp/l2tp-bench.batch", batch).unwrap();
    let start = std::time::Instant::now();
    a.sh("ip -batch /tmp/l2tp-bench.batch");
    let batch_time = start.elapsed();
    let rate = |d: Duration| 2.0 * n as f64 / d.as_secs_f64();
    println!(
        "\nbench: {n} eth sessions created+deleted: crate {:.2} s ({:.0} ops/s); ip l2tp loop {:.2} s ({:.0} ops/s), crate {:.1}x faster; ip -batch {:.2} s ({:.0} ops/s), crate {:.1}x faster",
        crate_time.as_secs_f64(),
        rate(crate_time),
        ip_time.as_secs_f64(),
        rate(ip_time),
        ip_time.as_secs_f64() / crate_time.as_secs_f64(),
        batch_time.as_secs_f64(),
        rate(batch_time),
        batch_time.as_secs_f64() / crate_time.as_secs_f64(),
    );
}

#[test]
fn udp_checksum_options_reach_the_kernel() {
    let (a, _b) = pair("t16", "10.1.16", "16");
    a.run(|| {
        let nl = L2tpNetlink::open().unwrap();
        let mut t4 =
            TunnelSpec::unmanaged_udp(1, 2, addr("10.1.16.1:1701"), addr("10.1.16.2:1701"));
        if let l2tp_kernel::TunnelTransport::Udp { checksum, .. } = &mut t4.transport {
            *checksum = Some(true);
        }
        nl.create_tunnel(&t4).unwrap();
        assert_eq!(nl.get_tunnel(1).unwrap().udp_csum, Some(true));
        let mut t6 =
            TunnelSpec::unmanaged_udp(3, 4, addr("[fd00:16::1]:1701"), addr("[fd00:16::2]:1701"));
        if let l2tp_kernel::TunnelTransport::Udp {
            zero_csum6_tx,
            zero_csum6_rx,
            ..
        } = &mut t6.transport
        {
            *zero_csum6_tx = true;
            *zero_csum6_rx = true;
        }
        nl.create_tunnel(&t6).unwrap();
        let attrs = nl.get_tunnel(3).unwrap().attrs;
        assert!(
            attrs.contains(&l2tp_kernel::L2tpAttr::UdpZeroCsum6Tx),
            "{attrs:?}"
        );
        assert!(
            attrs.contains(&l2tp_kernel::L2tpAttr::UdpZeroCsum6Rx),
            "{attrs:?}"
        );
        // On our own managed socket the same is a socket option.
        let s = TunnelSocket::udp(addr("[fd00:16::1]:1702"), addr("[fd00:16::2]:1702")).unwrap();
        s.set_udp6_zero_checksum(true, true).unwrap();
        nl.create_tunnel(&TunnelSpec::managed(5, 6, 3, s.as_raw_fd(), EncapType::Udp))
            .unwrap();
        let attrs = nl.get_tunnel(5).unwrap().attrs;
        assert!(
            attrs.contains(&l2tp_kernel::L2tpAttr::UdpZeroCsum6Tx),
            "{attrs:?}"
        );
        let s4 = TunnelSocket::udp(addr("10.1.16.1:1703"), addr("10.1.16.2:1703")).unwrap();
        s4.set_udp_checksum(false).unwrap();
    });
}

#[test]
fn old_l2tpv2_api_tunnel_management_socket_interoperates_with_netlink_end() {
    // End A uses the pre-netlink API as xl2tpd does: a PPPoL2TP socket connected with session 0
    // creates the tunnel, one connected with a session id creates the session.
    let (a, b) = pair("t17", "10.1.17", "17");
    let (la, lb) = (addr("10.1.17.1:1701"), addr("10.1.17.2:1701"));
    let (_tunnel, _mgmt, sess, chan, unit) = a.run(move || {
        let tunnel = TunnelSocket::udp(la, lb).unwrap();
        let conn = |sid, psid| {
            PppoL2tpSocket::connect(&PppoL2tpAddr {
                version: 2,
                tunnel_fd: tunnel.as_raw_fd(),
                peer: lb,
                tunnel_id: 1,
                session_id: sid,
                peer_tunnel_id: 2,
                peer_session_id: psid,
            })
            .unwrap()
        };
        let mgmt = conn(0, 0);
        let sess = conn(11, 22);
        let chan = PppChannel::attach(sess.channel_index().unwrap()).unwrap();
        let unit = PppUnit::new(None).unwrap();
        chan.connect(&unit).unwrap();
        unit.set_np_mode(PPP_IP, NpMode::Pass).unwrap();
        (tunnel, mgmt, sess, chan, unit)
    });
    let info = a.run(|| L2tpNetlink::open().unwrap().get_session(1, 11).unwrap());
    assert_eq!(info.peer_session_id, 22);
    let eb = ppp_end(
        &b,
        2,
        (2, 1, 22, 11),
        "10.1.17.2:1701",
        "10.1.17.1:1701",
        true,
    );
    let ifa = unit.ifname();
    a.sh(&format!(
        "ip addr add 10.106.0.1 peer 10.106.0.2/32 dev {ifa} && ip link set {ifa} up"
    ));
    address_ppp(&b, &eb, "10.106.0.2", "10.106.0.1");
    ping(&a, "10.106.0.2");
    assert!(sess.stats().unwrap().rx_packets > 0);
    drop(chan);
}

/// Whether `f` holds within 2 s (polled every 20 ms): for what the kernel finishes from a work
/// queue after its netlink reply (tunnel and session deletes).
fn eventually(mut f: impl FnMut() -> bool) -> bool {
    (0..100).any(|_| {
        let ok = f();
        if !ok {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        ok
    })
}

/// Receive one frame on a non-blocking packet socket, waiting up to 5 s for it (poll).
fn recv_frame(s: &l2tp_kernel::PacketSocket) -> Vec<u8> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let mut buf = [0u8; 1600];
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        match s.recv(&mut buf) {
            Ok(n) => return buf[..n].to_vec(),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("recv: {e}"),
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        assert!(!left.is_zero(), "no frame within 5 s");
        let mut fds = [PollFd::new(s.as_fd(), PollFlags::POLLIN)];
        let ms = PollTimeout::try_from(left.as_millis().min(5000) as i32).unwrap();
        poll(&mut fds, ms).expect("poll");
    }
}

#[test]
fn pppoe_discovery_frames_cross_packet_sockets_and_pppoe_sessions_carry_ip() {
    use l2tp_kernel::pppoe::{parse_mac, ETH_P_PPP_DISC};
    use l2tp_kernel::{PacketSocket, PppoeSocket};
    let (a, b) = pair("t20", "10.1.20", "20");
    let mac_of = |ns: &Netns, dev: &str| {
        parse_mac(ns.sh(&format!("cat /sys/class/net/{dev}/address")).trim()).unwrap()
    };
    let (mac_a, mac_b) = (mac_of(&a, "va"), mac_of(&b, "vb"));

    // Discovery: a raw frame with EtherType 0x8863 from A arrives whole at B's packet socket;
    // each socket knows its interface's MAC.
    let sa = a.run(|| PacketSocket::bind("va", ETH_P_PPP_DISC).unwrap());
    let sb = b.run(|| PacketSocket::bind("vb", ETH_P_PPP_DISC).unwrap());
    assert_eq!(sa.hw_addr().unwrap(), mac_a);
    assert_eq!(sb.hw_addr().unwrap(), mac_b);
    assert!(sb.set_recv_buffer(1 << 20).unwrap() >= 1 << 20);
    let mut padi = Vec::new();
    padi.extend_from_slice(&[0xff; 6]);
    padi.extend_from_slice(&mac_a);
    padi.extend_from_slice(&[0x88, 0x63, 0x11, 0x09, 0, 0, 0, 4, 0x01, 0x01, 0, 0]);
    assert_eq!(sa.send(&padi).unwrap(), padi.len());
    let got = recv_frame(&sb);
    assert_eq!(
        &got[..padi.len()],
        &padi[..],
        "frame arrives unchanged (padded to 60)"
    );
    // Bound to 0x8863: other EtherTypes do not reach it (the ping below is IPv4 and ARP).
    let n_unknown = sb.recv(&mut [0u8; 64]).err().map(|e| e.kind());
    assert_eq!(n_unknown, Some(std::io::ErrorKind::WouldBlock));

    // Session stage: PPPoE session 7 between the two MACs, each end a PPP unit on its
    // channel (no pppd): IP crosses it, so sockaddr_pppox and PPPIOCGCHAN are right.
    let end = |ns: &Netns, peer: [u8; 6], dev: &'static str| {
        ns.run(move || {
            let s = PppoeSocket::connect(7, peer, dev).unwrap();
            let chan = PppChannel::attach(s.channel_index().unwrap()).unwrap();
            let unit = PppUnit::new(None).unwrap();
            chan.connect(&unit).unwrap();
            unit.set_np_mode(PPP_IP, NpMode::Pass).unwrap();
            (s, chan, unit)
        })
    };
    let (_sa7, _ca, ua) = end(&a, mac_b, "va");
    let (_sb7, _cb, ub) = end(&b, mac_a, "vb");
    a.sh(&format!(
        "ip addr add 10.120.0.1 peer 10.120.0.2/32 dev {0} && ip link set {0} up",
        ua.ifname()
    ));
    b.sh(&format!(
        "ip addr add 10.120.0.2 peer 10.120.0.1/32 dev {0} && ip link set {0} up",
        ub.ifname()
    ));
    ping(&a, "10.120.0.2");
    // A reserved session ID never reaches the kernel.
    assert!(matches!(
        PppoeSocket::connect(0xffff, mac_b, "va"),
        Err(Error::Invalid(_))
    ));
}
