//! Tests for a host whose kernel has no L2TP (this build machine): errors must name the module.
//! On a kernel that does have the modules these checks have nothing to observe and say so.

use l2tp_kernel::{Error, L2tpNetlink};

#[test]
fn missing_l2tp_netlink_module_is_reported_by_name() {
    if std::path::Path::new("/sys/module/l2tp_netlink").exists() {
        eprintln!("l2tp_netlink is loaded on this kernel: nothing to check");
        return;
    }
    let e = L2tpNetlink::open().unwrap_err();
    assert!(
        matches!(
            e,
            Error::ModuleMissing {
                module: "l2tp_netlink",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .starts_with("kernel module l2tp_netlink not loaded"),
        "{e}"
    );
}

#[test]
fn missing_l2tp_ip_module_is_reported_by_name() {
    if std::path::Path::new("/sys/module/l2tp_ip").exists() {
        eprintln!("l2tp_ip is loaded on this kernel: nothing to check");
        return;
    }
    let e = l2tp_kernel::TunnelSocket::l2tp_ip(
        "127.0.0.1".parse().unwrap(),
        "127.0.0.1".parse().unwrap(),
        1,
        2,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("kernel module l2tp_ip not loaded"),
        "{e}"
    );
}

#[test]
fn missing_pppox_module_is_reported_by_name() {
    if std::path::Path::new("/sys/module/pppox").exists() {
        eprintln!("pppox is loaded on this kernel: nothing to check");
        return;
    }
    let addr = l2tp_kernel::PppoL2tpAddr {
        version: 2,
        tunnel_fd: 0,
        peer: "127.0.0.1:1701".parse().unwrap(),
        tunnel_id: 1,
        session_id: 1,
        peer_tunnel_id: 1,
        peer_session_id: 1,
    };
    let e = l2tp_kernel::PppoL2tpSocket::connect(&addr).unwrap_err();
    assert!(
        e.to_string().starts_with("kernel module pppox not loaded"),
        "{e}"
    );
}

/// `rtnl::link_stats` reads `IFLA_STATS64` by index: the loopback's counters grow by at
/// least what this test sends through it (other processes may add to them), each datagram
/// counted with its IPv4 and UDP headers (20 + 8 bytes); an unknown index is `NotFound`.
#[test]
fn link_stats_counts_loopback_traffic_and_rejects_unknown_index() {
    let lo = l2tp_kernel::rtnl::ifindex("lo").unwrap();
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let before = l2tp_kernel::rtnl::link_stats(lo).unwrap();
    let payload = [0x5au8; 100];
    let mut buf = [0u8; 200];
    for _ in 0..10 {
        tx.send_to(&payload, rx.local_addr().unwrap()).unwrap();
        assert_eq!(rx.recv(&mut buf).unwrap(), 100);
    }
    let after = l2tp_kernel::rtnl::link_stats(lo).unwrap();
    assert!(
        after.tx_packets - before.tx_packets >= 10,
        "{before:?} {after:?}"
    );
    assert!(
        after.rx_packets - before.rx_packets >= 10,
        "{before:?} {after:?}"
    );
    assert!(
        after.tx_bytes - before.tx_bytes >= 10 * 128,
        "{before:?} {after:?}"
    );
    assert!(
        after.rx_bytes - before.rx_bytes >= 10 * 128,
        "{before:?} {after:?}"
    );
    assert!(matches!(
        l2tp_kernel::rtnl::link_stats(0x7fff_fff0),
        Err(Error::NotFound { .. })
    ));
}
