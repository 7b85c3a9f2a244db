//! Unit tests of the user-space data plane: the Ethernet path (TAP) and the secrets cache.

use super::*;
use l2tp_proto::wire::Version;
use std::net::UdpSocket;

/// Runs `f` on a thread of its own in a new network namespace (the TAP devices it makes
/// exist only there), on a current-thread runtime. `None` when this process may not make
/// namespaces or TAP devices (not root, no /dev/net/tun): the caller then fails, unless
/// `L2TP_SKIP_NETNS` says to skip.
pub(super) fn in_netns<F, Fut>(f: F) -> bool
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    std::thread::spawn(move || {
        if nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).is_err() {
            return false;
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(f());
        true
    })
    .join()
    .expect("test thread")
}

pub(super) fn tunnel(peer: SocketAddr, socket: &UdpSocket) -> TunnelSpec {
    TunnelSpec {
        version: Version::V3,
        encap: Encap::Udp,
        tunnel_id: 7,
        peer_tunnel_id: 8,
        local: Some(socket.local_addr().unwrap()),
        peer,
        control_fd: None,
        udp_checksum: true,
        plane: None,
    }
}

/// A user-space data plane holding tunnel 7 on a loopback socket of its own, and the
/// tunnel's peer address (nobody listens there).
fn plane_with_tunnel() -> (UserspaceDataPlane, SocketAddr) {
    let ours = UdpSocket::bind("127.0.0.1:0").unwrap();
    let peer: SocketAddr = "127.0.0.2:1701".parse().unwrap();
    let mut dp = UserspaceDataPlane::new();
    let fd = std::os::fd::OwnedFd::from(ours.try_clone().unwrap());
    dp.create_tunnel_owning(&tunnel(peer, &ours), Some(fd))
        .unwrap();
    (dp, peer)
}

fn eth(session_id: u32, name: &str) -> SessionSpec {
    SessionSpec {
        version: Version::V3,
        pseudowire: Pseudowire::Eth,
        peer_cookie: vec![1, 2, 3, 4],
        interface_name: Some(name.into()),
        ..SessionSpec::ppp(7, 8, session_id, 99)
    }
}

/// A v3 UDP data message for session `sid` with cookie `cookie` and an Ethernet frame.
fn data(sid: u32, cookie: &[u8]) -> Vec<u8> {
    let mut d = vec![0, 3, 0, 0];
    d.extend_from_slice(&sid.to_be_bytes());
    d.extend_from_slice(cookie);
    d.extend_from_slice(&[0xff; 6]); // broadcast destination
    d.extend_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    d.extend_from_slice(&[0x88, 0xb5]); // local experimental EtherType
    d.extend_from_slice(&[0u8; 46]);
    d
}

/// What the sink takes and how each drop is counted; the TAP interface exists while the
/// session does and goes with it; a PPP session is refused, not half-made.
#[test]
fn sink_takes_data_counts_drops_and_sessions_own_their_tap() {
    if std::env::var_os("L2TP_SKIP_NETNS").is_some() {
        return;
    }
    let ran = in_netns(|| async {
        let lo = std::process::Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status();
        assert!(lo.is_ok_and(|s| s.success()), "ip link set lo up");
        let (mut dp, peer) = plane_with_tunnel();
        let h = dp.create_session(&eth(42, "ustest%d")).unwrap();
        let ifname = h.interface_name.unwrap();
        assert!(ifname.starts_with("ustest"), "{ifname}");
        // (Asked of this thread's namespace; /sys shows the process's.)
        let exists = |n: &str| nix::net::if_::if_nametoindex(n).is_ok();
        assert!(exists(&ifname), "{ifname} while the session lives");
        let sink = dp.data_sink().unwrap();

        // A control message (T bit) is the control plane's.
        assert!(!sink.input(
            Encap::Udp,
            peer,
            &[0xc8, 0x03, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0]
        ));
        // A good data message reaches the TAP device.
        assert!(sink.input(Encap::Udp, peer, &data(42, &[1, 2, 3, 4])));
        // Wrong cookie, unknown session, wrong sender: taken and counted.
        assert!(sink.input(Encap::Udp, peer, &data(42, &[9, 9, 9, 9])));
        assert!(sink.input(Encap::Udp, peer, &data(43, &[1, 2, 3, 4])));
        let stranger: SocketAddr = "127.0.0.3:1701".parse().unwrap();
        assert!(sink.input(Encap::Udp, stranger, &data(42, &[1, 2, 3, 4])));
        // Garbage too short for a header is left to the control plane (counted there).
        assert!(!sink.input(Encap::Udp, peer, &[0, 3]));
        // As a socket reader does after each batch: what was held back to merge is written
        // and the session let go of.
        sink.end_of_batch();

        let st = dp.session_stats(7, 42).unwrap();
        assert_eq!(st.rx_packets, 1, "{st:?}");
        // As the kernel counts: the whole L2TP message (12 header bytes + the frame); a
        // cookie discard is an error too; the TAP device took the good frame.
        assert_eq!(st.rx_bytes, 72, "{st:?}");
        assert_eq!(st.rx_cookie_discards, 1, "{st:?}");
        assert_eq!(st.rx_invalid, 1, "{st:?}");
        assert_eq!(st.rx_errors, 1, "{st:?}");
        assert_eq!(dp.unknown_session_drops(), 1);

        // The same session ID again: refused.
        assert!(matches!(
            dp.create_session(&eth(42, "ustestb%d")),
            Err(DataPlaneError::Exists(_))
        ));
        // A PPP LNS session without an address pool is refused, and nothing is left
        // behind; PPP-AC is not carried.
        let ppp = SessionSpec {
            version: Version::V3,
            lns_mode: true,
            ..SessionSpec::ppp(7, 8, 50, 51)
        };
        assert!(matches!(
            dp.create_session(&ppp),
            Err(DataPlaneError::Invalid(m)) if m.contains("ppp_pool")
        ));
        assert!(dp.session_stats(7, 50).is_none());
        let pppac = SessionSpec {
            pseudowire: Pseudowire::Pppac,
            pppoe: Some((5, [2, 0, 0, 0, 0, 1])),
            ..SessionSpec::ppp(7, 8, 52, 53)
        };
        assert!(matches!(
            dp.create_session(&pppac),
            Err(DataPlaneError::Unsupported(_))
        ));

        dp.delete_session(7, 42).unwrap();
        assert!(dp.session_stats(7, 42).is_none());
        assert!(sink.input(Encap::Udp, peer, &data(42, &[1, 2, 3, 4])));
        sink.end_of_batch();
        assert_eq!(
            dp.unknown_session_drops(),
            2,
            "a deleted session takes nothing"
        );
        // The interface goes with the last descriptor (the aborted TAP task's, once the
        // runtime has dropped it).
        let mut gone = false;
        for _ in 0..100 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            if !exists(&ifname) {
                gone = true;
                break;
            }
        }
        assert!(gone, "{ifname} still exists after the session was deleted");
        assert!(matches!(
            dp.delete_session(7, 42),
            Err(DataPlaneError::NotFound(_))
        ));
        dp.delete_tunnel(7).unwrap();
    });
    assert!(
        ran,
        "cannot make a network namespace (not root?); set L2TP_SKIP_NETNS=1 to skip"
    );
}

/// A sequenced session with `reorder_timeout`: data messages that arrive out of order are
/// written to the TAP device in sequence order (seen by a packet socket on the interface);
/// a duplicate is dropped and counted.
#[test]
fn reorder_timeout_puts_frames_back_in_order_on_the_tap() {
    if std::env::var_os("L2TP_SKIP_NETNS").is_some() {
        return;
    }
    let ran = in_netns(|| async {
        let (mut dp, peer) = plane_with_tunnel();
        let spec = SessionSpec {
            l2spec: L2SpecType::Default,
            send_seq: true,
            recv_seq: true,
            reorder_timeout: Some(std::time::Duration::from_secs(5)),
            ..eth(42, "usreord%d")
        };
        let ifname = dp.create_session(&spec).unwrap().interface_name.unwrap();
        // Frames the data plane writes to the TAP device arrive on its interface.
        let ps = l2tp_kernel::pppoe::PacketSocket::bind(&ifname, 0x88b5).unwrap();
        let sink = dp.data_sink().unwrap();
        // Data message with the L2SS sequence number `ns` and a frame that carries it.
        let msg = |ns: u32| {
            let mut d = vec![0, 3, 0, 0];
            d.extend_from_slice(&42u32.to_be_bytes());
            d.extend_from_slice(&[1, 2, 3, 4]);
            d.extend_from_slice(&(0x4000_0000 | ns).to_be_bytes());
            d.extend_from_slice(&[0xff; 6]);
            d.extend_from_slice(&[0x02, 0, 0, 0, 0, 1]);
            d.extend_from_slice(&[0x88, 0xb5]);
            d.extend_from_slice(&ns.to_be_bytes());
            d.extend_from_slice(&[0u8; 42]);
            d
        };
        for ns in [0, 2, 3, 3, 1, 5, 4] {
            assert!(sink.input(Encap::Udp, peer, &msg(ns)));
            sink.end_of_batch();
        }
        let mut seen = Vec::new();
        let mut buf = [0u8; 2048];
        for _ in 0..200 {
            match ps.recv(&mut buf) {
                Ok(n) if n >= 18 && buf[12..14] == [0x88, 0xb5] => {
                    seen.push(u32::from_be_bytes([buf[14], buf[15], buf[16], buf[17]]));
                }
                Ok(_) => {}
                Err(_) => {
                    if seen.len() >= 6 {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
        }
        assert_eq!(seen, vec![0, 1, 2, 3, 4, 5], "frames in sequence order");
        let st = dp.session_stats(7, 42).unwrap();
        assert_eq!(st.rx_packets, 6, "{st:?}");
        assert_eq!(st.rx_seq_discards, 1, "the duplicate 3: {st:?}");
        assert_eq!(st.rx_oos_packets, 4, "2, 3, 3 and 5 came early: {st:?}");
        dp.delete_session(7, 42).unwrap();
    });
    assert!(
        ran,
        "cannot make a network namespace (not root?); set L2TP_SKIP_NETNS=1 to skip"
    );
}

/// A `ppp_secrets` file is parsed once and shared while it is unchanged; an edit (here: a new
/// size) is read for the next session; a file that does not parse is an error naming it.
#[test]
fn secrets_files_are_parsed_once_until_they_change() {
    let dir = std::env::temp_dir().join(format!("l2tp-secrets-cache-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("chap-secrets");
    std::fs::write(&path, "alice * \"pw\" *\n").unwrap();
    let mut cache = crate::ppp_session::SecretsCache::default();
    let a = cache.get(&path).unwrap();
    let b = cache.get(&path).unwrap();
    assert!(Arc::ptr_eq(&a, &b), "an unchanged file is not parsed again");
    std::fs::write(&path, "alice * \"pw\" *\nbob * \"other\" *\n").unwrap();
    let c = cache.get(&path).unwrap();
    assert!(!Arc::ptr_eq(&a, &c), "an edited file is read again");
    std::fs::write(&path, "alice * \"unterminated\n").unwrap();
    let e = cache.get(&path).unwrap_err().to_string();
    assert!(e.contains("chap-secrets"), "{e}");
    assert!(cache.get(&dir.join("missing")).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
