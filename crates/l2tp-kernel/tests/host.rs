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
