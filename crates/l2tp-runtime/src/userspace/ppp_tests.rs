//! Unit tests of the user-space data plane's PPP sessions (TUN, in-process PPP).

use super::*;
use crate::config::PppSettings;
use l2tp_proto::wire::Version;
use std::net::UdpSocket;
use std::time::Duration;

/// An LNS PPP session: its TUN interface exists, its first LCP
/// Configure-Request goes out at once as an L2TPv2 data message with `FF 03 C0 21 01`,
/// and each session leases one pool address, returned when the session is deleted.
#[test]
fn lns_ppp_sessions_send_lcp_at_once_and_lease_pool_addresses() {
    if std::env::var_os("L2TP_SKIP_NETNS").is_some() {
        return;
    }
    let ran = super::tests::in_netns(|| async {
        let lo = std::process::Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status();
        assert!(lo.is_ok_and(|s| s.success()), "ip link set lo up");
        let ours = UdpSocket::bind("127.0.0.1:0").unwrap();
        let peer_sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        peer_sock.set_nonblocking(true).unwrap();
        let peer_sock = tokio::net::UdpSocket::from_std(peer_sock).unwrap();
        let peer = peer_sock.local_addr().unwrap();
        let mut dp = UserspaceDataPlane::new();
        let fd = std::os::fd::OwnedFd::from(ours.try_clone().unwrap());
        let spec = TunnelSpec {
            version: Version::V2,
            peer_tunnel_id: 8,
            ..super::tests::tunnel(peer, &ours)
        };
        dp.create_tunnel_owning(&spec, Some(fd)).unwrap();
        let (first, last) = ("10.9.0.2".parse().unwrap(), "10.9.0.3".parse().unwrap());
        let settings = Arc::new(PppSettings {
            local_ip: Some("10.9.0.1".parse().unwrap()),
            pool: Some((first, last)),
            echo_interval: Some(0),
            ..PppSettings::default()
        });
        let lns = |sid: u32| SessionSpec {
            lns_mode: true,
            ppp: settings.clone(),
            interface_name: Some(format!("upt{sid}")),
            ..SessionSpec::ppp(7, 8, sid, sid + 100)
        };
        let h = dp.create_session(&lns(1)).unwrap();
        assert_eq!(h.interface_name.as_deref(), Some("upt1"));
        let idx = nix::net::if_::if_nametoindex("upt1").expect("TUN upt1 exists");
        assert!(idx > 0);
        assert_eq!(dp.pool_in_use(first, last), 1);

        // The first Configure-Request, without waiting for a timer.
        let mut buf = [0u8; 1500];
        let (n, _) = tokio::time::timeout(Duration::from_secs(1), peer_sock.recv_from(&mut buf))
            .await
            .expect("an LCP Configure-Request within 1 s (not after the 3 s Restart timer)")
            .unwrap();
        let d = &buf[..n];
        // v2 data header: flags/version 0x0002, tunnel 8, session 101 (no length).
        assert_eq!(d.get(..2), Some(&[0x00, 0x02][..]), "{d:02x?}");
        assert_eq!(d.get(2..6), Some(&[0, 8, 0, 101][..]), "{d:02x?}");
        assert_eq!(
            d.get(6..11),
            Some(&[0xff, 0x03, 0xc0, 0x21, 0x01][..]),
            "{d:02x?}"
        );

        dp.create_session(&lns(2)).unwrap();
        assert_eq!(dp.pool_in_use(first, last), 2);
        assert!(matches!(
            dp.create_session(&lns(3)),
            Err(DataPlaneError::Invalid(m)) if m.contains("exhausted")
        ));
        assert!(
            dp.session_stats(7, 3).is_none(),
            "nothing left of the refused one"
        );
        dp.delete_session(7, 1).unwrap();
        assert_eq!(
            dp.pool_in_use(first, last),
            1,
            "deleting returns the address"
        );
        dp.create_session(&lns(3)).unwrap();
        assert_eq!(dp.pool_in_use(first, last), 2);
        dp.delete_tunnel(7).unwrap();
        assert_eq!(
            dp.pool_in_use(first, last),
            0,
            "the tunnel's sessions returned theirs"
        );
    });
    assert!(
        ran,
        "cannot make a network namespace (not root?); set L2TP_SKIP_NETNS=1 to skip"
    );
}

/// An authenticator that answers later (as a RADIUS client would): alice / "pw".
struct SlowAuthenticator;

impl Authenticator for SlowAuthenticator {
    fn check(&self, _ctx: &Arc<super::AuthContext>, req: &l2tp_ppp::AuthRequest) -> AuthAnswer {
        let req = req.clone();
        AuthAnswer::Later(Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if req.username() != b"alice" {
                return l2tp_ppp::Verdict::Reject {
                    message: "who?".into(),
                }
                .into();
            }
            l2tp_ppp::verify_local(&req, "pw").into()
        }))
    }
}

/// The next `PppUp` or `SessionFailed` (phase changes and authentication failures skipped).
async fn wait(rx: &mut tokio::sync::mpsc::Receiver<DataPlaneEvent>) -> DataPlaneEvent {
    loop {
        let e = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("an event within 10 s")
            .expect("channel open");
        if !matches!(
            e,
            DataPlaneEvent::PppPhase { .. } | DataPlaneEvent::PppAuthFailed { .. }
        ) {
            return e;
        }
    }
}

/// Feeds what `socket` receives to `sink`, as the driver's socket readers do.
fn reader(socket: &UdpSocket, sink: Arc<dyn DataSink>) {
    let s = socket.try_clone().unwrap();
    s.set_nonblocking(true).unwrap();
    let s = tokio::net::UdpSocket::from_std(s).unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        while let Ok((n, from)) = s.recv_from(&mut buf).await {
            sink.input(Encap::Udp, from, &buf[..n]);
        }
    });
}

/// Our LAC and our LNS, two data planes in one process over loopback UDP: MS-CHAPv2 with
/// an authenticator that answers later, IPCP gives the LAC the pool's first address,
/// both report `PppUp`; the LNS's TUN carries its address with the LAC's as peer.
#[test]
fn lac_and_lns_data_planes_reach_ipcp_with_a_later_verdict() {
    if std::env::var_os("L2TP_SKIP_NETNS").is_some() {
        return;
    }
    let ran = super::tests::in_netns(|| async {
        let lo = std::process::Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status();
        assert!(lo.is_ok_and(|s| s.success()), "ip link set lo up");
        let (sa, sb) = (
            UdpSocket::bind("127.0.0.1:0").unwrap(),
            UdpSocket::bind("127.0.0.1:0").unwrap(),
        );
        let (a_addr, b_addr) = (sa.local_addr().unwrap(), sb.local_addr().unwrap());
        let mut lac = UserspaceDataPlane::new();
        let mut lns = UserspaceDataPlane::new();
        lns.set_authenticator(Arc::new(SlowAuthenticator));
        let mut lac_events = lac.take_events().unwrap();
        let mut lns_events = lns.take_events().unwrap();
        assert!(lac.take_events().is_none(), "taken once");
        let fd = |s: &UdpSocket| Some(std::os::fd::OwnedFd::from(s.try_clone().unwrap()));
        let tspec = |id: u32, peer_id: u32, peer: SocketAddr, s: &UdpSocket| TunnelSpec {
            version: Version::V2,
            tunnel_id: id,
            peer_tunnel_id: peer_id,
            ..super::tests::tunnel(peer, s)
        };
        lac.create_tunnel_owning(&tspec(7, 8, b_addr, &sa), fd(&sa))
            .unwrap();
        lns.create_tunnel_owning(&tspec(8, 7, a_addr, &sb), fd(&sb))
            .unwrap();
        reader(&sa, lac.data_sink().unwrap());
        reader(&sb, lns.data_sink().unwrap());
        let pool = ("10.9.0.2".parse().unwrap(), "10.9.0.9".parse().unwrap());
        lns.create_session(&SessionSpec {
            lns_mode: true,
            interface_name: Some("pb0".into()),
            ppp: Arc::new(PppSettings {
                auth: vec![l2tp_ppp::AuthMethod::MsChapV2],
                local_ip: Some("10.9.0.1".parse().unwrap()),
                pool: Some(pool),
                ..PppSettings::default()
            }),
            ..SessionSpec::ppp(8, 7, 22, 11)
        })
        .unwrap();
        lac.create_session(&SessionSpec {
            interface_name: Some("pa0".into()),
            ppp: Arc::new(PppSettings {
                user: Some("alice".into()),
                password: Some("pw".into()),
                ..PppSettings::default()
            }),
            ..SessionSpec::ppp(7, 8, 11, 22)
        })
        .unwrap();
        let a = wait(&mut lac_events).await;
        let b = wait(&mut lns_events).await;
        let addr: Option<Ipv4Addr> = Some("10.9.0.2".parse().unwrap());
        assert_eq!(
            a,
            DataPlaneEvent::PppUp {
                tunnel_id: 7,
                session_id: 11,
                username: Some("alice".into()),
                address: addr,
                class: None,
            }
        );
        assert_eq!(
            b,
            DataPlaneEvent::PppUp {
                tunnel_id: 8,
                session_id: 22,
                username: Some("alice".into()),
                address: addr,
                class: None,
            }
        );
        // Both data planes count the control frames they carried.
        let st = lns.session_stats(8, 22).unwrap();
        assert!(st.rx_packets >= 4 && st.tx_packets >= 4, "{st:?}");
        assert_eq!(lns.pool_in_use(pool.0, pool.1), 1);
        lns.delete_tunnel(8).unwrap();
        assert_eq!(lns.pool_in_use(pool.0, pool.1), 0);
        lac.delete_tunnel(7).unwrap();
    });
    assert!(
        ran,
        "cannot make a network namespace (not root?); set L2TP_SKIP_NETNS=1 to skip"
    );
}
