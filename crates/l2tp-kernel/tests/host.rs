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
