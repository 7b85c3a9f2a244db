//! The shared PPP session loop ([`super::run`]) over a fake path: two loops (our LAC and our
//! LNS) whose frames go through in-memory channels, no device, no socket, no root.

use super::*;
use crate::config::PppSettings;
use crate::userspace::SecretsAuthenticator;
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// A path whose "wire" is a pair of channels; records what the loop did to the interface.
struct FakePath {
    link: PppLink,
    rx: tokio::sync::Mutex<UnboundedReceiver<Vec<u8>>>,
    tx: UnboundedSender<Vec<u8>>,
    /// Every frame sent, in order.
    sent: Mutex<Vec<Vec<u8>>>,
    /// (local, peer, peer's MRU) of each IPCP up.
    ipcp: Mutex<Vec<(Ipv4Addr, Ipv4Addr, u16)>>,
    /// Make `ipcp_up` fail with this message.
    ipcp_error: Option<&'static str>,
    /// Our interface identifier at each IPV6CP up.
    ipv6cp: Mutex<Vec<u64>>,
}

impl PppIo for FakePath {
    fn link(&self) -> Option<&PppLink> {
        Some(&self.link)
    }

    async fn io(&self, _ip_up: bool) -> std::io::Result<()> {
        match self.rx.lock().await.recv().await {
            Some(f) => {
                self.link.control_input(&f);
                Ok(())
            }
            None => Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "peer gone",
            )),
        }
    }

    fn send_frame(&self, frame: &[u8]) {
        self.sent.lock().unwrap().push(frame.to_vec());
        let _ = self.tx.send(frame.to_vec());
    }

    async fn ipcp_up(&self, up: IpcpUp) -> Result<(), String> {
        assert_eq!(up.replaces, None, "the first IPCP up replaces nothing");
        self.ipcp
            .lock()
            .unwrap()
            .push((up.local, up.peer, up.peer_mru));
        match self.ipcp_error {
            Some(e) => Err(e.to_string()),
            None => Ok(()),
        }
    }

    async fn ipv6cp_up(&self, local_id: u64, _peer_mru: u16) -> Result<(), String> {
        self.ipv6cp.lock().unwrap().push(local_id);
        Ok(())
    }
}

struct Pair {
    lac: Arc<FakePath>,
    lns: Arc<FakePath>,
    lac_events: mpsc::Receiver<DataPlaneEvent>,
    lns_events: mpsc::Receiver<DataPlaneEvent>,
    tasks: [tokio::task::JoinHandle<()>; 2],
}

/// Our LAC (alice / `password`) and our LNS (CHAP-MD5 required against alice / "pw", pool
/// 10.0.0.2-10.0.0.9), wired to each other, their loops running.
fn pair(password: &str, auth: l2tp_ppp::AuthMethod, ipcp_error: Option<&'static str>) -> Pair {
    pair_with(password, auth, ipcp_error, false)
}

/// The MRU our LAC asks for in [`pair`] (bytes; the LNS keeps the default 1500).
const LAC_MRU: u16 = 1400;

/// [`pair`], both ends negotiating IPV6CP too when `ipv6` (`ppp_ipv6 = true`).
fn pair_with(
    password: &str,
    auth: l2tp_ppp::AuthMethod,
    ipcp_error: Option<&'static str>,
    ipv6: bool,
) -> Pair {
    let mut factory = PppFactory {
        authenticator: Some(Arc::new(
            SecretsAuthenticator::parse(b"alice * pw *\n", PPP_SERVER_NAME).unwrap(),
        )),
        ..PppFactory::default()
    };
    let spec = |lns: bool, settings: PppSettings| SessionSpec {
        lns_mode: lns,
        ppp: Arc::new(settings),
        ..SessionSpec::ppp(1, 2, 10, 20)
    };
    let lns_engine = factory
        .engine(&spec(
            true,
            PppSettings {
                auth: vec![auth],
                local_ip: Some(Ipv4Addr::new(10, 0, 0, 1)),
                pool: Some((Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 9))),
                echo_interval: Some(0),
                ipv6,
                ..PppSettings::default()
            },
        ))
        .unwrap();
    assert!(lns_engine.lease.is_some(), "the LNS leased an address");
    let lac_engine = factory
        .engine(&spec(
            false,
            PppSettings {
                user: Some("alice".into()),
                password: Some(password.into()),
                echo_interval: Some(0),
                // The LAC asks for a smaller MRU: the LNS's interface must not exceed it.
                mru: Some(LAC_MRU),
                ipv6,
                ..PppSettings::default()
            },
        ))
        .unwrap();
    let (to_lns, lns_rx) = unbounded_channel();
    let (to_lac, lac_rx) = unbounded_channel();
    let (lac_tx, lac_events) = mpsc::channel(64);
    let (lns_tx, lns_events) = mpsc::channel(64);
    let path = |e: NewEngine, ids: (u32, u32), events, rx, tx, err| {
        let context = Arc::new(crate::userspace::AuthContext {
            tunnel_id: ids.0,
            session_id: ids.1,
            calling_number: None,
            called_number: None,
            tunnel_peer: "127.0.0.1:1701".parse().unwrap(),
            tunnel_local: None,
        });
        Arc::new(FakePath {
            link: PppLink::new(e.engine, e.role, ids, e.authenticator, context, events),
            rx: tokio::sync::Mutex::new(rx),
            tx,
            sent: Mutex::default(),
            ipcp: Mutex::default(),
            ipcp_error: err,
            ipv6cp: Mutex::default(),
        })
    };
    let lac = path(lac_engine, (1, 10), lac_tx, lac_rx, to_lns, None);
    let lns = path(lns_engine, (2, 20), lns_tx, lns_rx, to_lac, ipcp_error);
    let tasks = [
        tokio::spawn(run(lac.clone())),
        tokio::spawn(run(lns.clone())),
    ];
    Pair {
        lac,
        lns,
        lac_events,
        lns_events,
        tasks,
    }
}

/// The next event, phase changes and authentication failures included.
async fn next_any(rx: &mut mpsc::Receiver<DataPlaneEvent>) -> DataPlaneEvent {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("an event within 20 s")
        .expect("events channel open")
}

/// The next `PppUp` or `SessionFailed` (phase changes and authentication failures skipped).
async fn next(rx: &mut mpsc::Receiver<DataPlaneEvent>) -> DataPlaneEvent {
    loop {
        match next_any(rx).await {
            DataPlaneEvent::PppPhase { .. } | DataPlaneEvent::PppAuthFailed { .. } => {}
            e => return e,
        }
    }
}

/// The phases reported, in order, until (and without) the first `PppUp` or `SessionFailed`,
/// and that event; auth failures reported meanwhile, by method.
async fn phases_until_end(
    rx: &mut mpsc::Receiver<DataPlaneEvent>,
) -> (Vec<PppPhase>, Vec<l2tp_ppp::AuthMethod>, DataPlaneEvent) {
    let (mut phases, mut failed) = (Vec::new(), Vec::new());
    loop {
        match next_any(rx).await {
            DataPlaneEvent::PppPhase { phase, .. } => phases.push(phase),
            DataPlaneEvent::PppAuthFailed { method, .. } => failed.push(method),
            e => return (phases, failed, e),
        }
    }
}

/// The LNS reports each change of its link as it happens, no repeats: LCP leaves its first
/// state for opened, authentication runs then succeeds (CHAP-MD5), and right after `PppUp`
/// IPCP is reported opened; no authentication failure is counted.
#[tokio::test]
async fn the_loop_reports_phase_changes_once_each() {
    use crate::dataplane::AuthProgress;
    use l2tp_ppp::fsm::State;
    let mut p = pair("pw", l2tp_ppp::AuthMethod::ChapMd5, None);
    let (phases, failed, up) = phases_until_end(&mut p.lns_events).await;
    assert!(matches!(up, DataPlaneEvent::PppUp { .. }), "{up:?}");
    assert!(failed.is_empty());
    assert!(
        phases.windows(2).all(|w| w[0] != w[1]),
        "a repeat: {phases:?}"
    );
    assert_ne!(
        phases.first().map(|p| p.lcp),
        Some(State::Opened),
        "{phases:?}"
    );
    assert!(
        phases.iter().any(|p| p.lcp == State::Opened
            && p.auth_method == Some(l2tp_ppp::AuthMethod::ChapMd5)
            && p.auth == Some(AuthProgress::Running)),
        "{phases:?}"
    );
    match next_any(&mut p.lns_events).await {
        DataPlaneEvent::PppPhase {
            tunnel_id: 2,
            session_id: 20,
            phase,
        } => assert_eq!(
            phase,
            PppPhase {
                lcp: State::Opened,
                auth_method: Some(l2tp_ppp::AuthMethod::ChapMd5),
                auth: Some(AuthProgress::Ok),
                ipcp: Some(State::Opened),
                ipv6cp: None,
            }
        ),
        other => panic!("expected the IPCP-opened phase, got {other:?}"),
    }
    for t in &p.tasks {
        t.abort();
    }
}

/// A wrong password, each method: both ends report one authentication failure of that
/// method before the session fails, and the LNS's last phase says authentication failed.
#[tokio::test]
async fn a_wrong_password_reports_one_auth_failure_of_its_method() {
    use crate::dataplane::AuthProgress;
    use l2tp_ppp::AuthMethod::*;
    for method in [ChapMd5, Pap, MsChapV2] {
        let mut p = pair("wrong", method, None);
        let (phases, failed, end) = phases_until_end(&mut p.lns_events).await;
        assert!(
            matches!(end, DataPlaneEvent::SessionFailed { .. }),
            "{method:?}: {end:?}"
        );
        assert_eq!(failed, [method], "LNS");
        let last = phases.last().expect("phases reported");
        assert_eq!(
            last.auth,
            Some(AuthProgress::Failed),
            "{method:?}: {phases:?}"
        );
        assert_eq!(last.auth_method, Some(method));
        let (_, failed, _) = phases_until_end(&mut p.lac_events).await;
        assert_eq!(failed, [method], "LAC");
        for t in &p.tasks {
            t.abort();
        }
    }
}

/// Both loops reach IPCP for each method: each configures its interface with its own address
/// and the other's as peer (the LAC takes the pool's first address) and reports `PppUp` with
/// the user name (the LAC's own); every frame sent starts with the Protocol field (no `FF 03`: the path puts
/// it in front, or the kernel does).
#[tokio::test]
async fn lac_and_lns_loops_reach_ipcp_over_a_fake_path() {
    use l2tp_ppp::AuthMethod::*;
    for method in [ChapMd5, Pap, MsChapV2] {
        let mut p = pair("pw", method, None);
        let (l, n) = (Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(
            next(&mut p.lac_events).await,
            DataPlaneEvent::PppUp {
                tunnel_id: 1,
                session_id: 10,
                username: Some("alice".into()),
                address: Some(l),
                class: None,
            },
            "{method:?}"
        );
        assert_eq!(
            next(&mut p.lns_events).await,
            DataPlaneEvent::PppUp {
                tunnel_id: 2,
                session_id: 20,
                username: Some("alice".into()),
                address: Some(l),
                class: None,
            },
            "{method:?}"
        );
        assert_eq!(*p.lac.ipcp.lock().unwrap(), [(l, n, 1500)]);
        assert_eq!(*p.lns.ipcp.lock().unwrap(), [(n, l, LAC_MRU)]);
        for side in [&p.lac, &p.lns] {
            let sent = side.sent.lock().unwrap();
            assert_eq!(
                sent.first().and_then(|f| f.get(..2)),
                Some(&[0xc0, 0x21][..])
            );
            assert!(sent.iter().all(|f| f.first() != Some(&0xff)), "no FF 03");
        }
        for t in &p.tasks {
            t.abort();
        }
    }
}

/// A wrong password: the LNS's loop reports the session failed (the driver clears it with a
/// CDN) and ends; the interface is never configured.
#[tokio::test]
async fn a_wrong_password_fails_the_session_and_ends_the_loop() {
    let mut p = pair("wrong", l2tp_ppp::AuthMethod::ChapMd5, None);
    match next(&mut p.lns_events).await {
        DataPlaneEvent::SessionFailed {
            tunnel_id: 2,
            session_id: 20,
            reason,
        } => assert!(!reason.is_empty()),
        other => panic!("expected SessionFailed, got {other:?}"),
    }
    assert!(p.lns.ipcp.lock().unwrap().is_empty());
    let [_, lns_task] = p.tasks;
    tokio::time::timeout(Duration::from_secs(5), lns_task)
        .await
        .expect("the LNS loop ends")
        .unwrap();
}

/// The interface cannot be configured at IPCP up: the session fails with the reason (what
/// failed and the addresses), and no `PppUp` is reported.
#[tokio::test]
async fn an_interface_that_cannot_be_configured_fails_the_session() {
    let mut p = pair("pw", l2tp_ppp::AuthMethod::ChapMd5, Some("no such device"));
    match next(&mut p.lns_events).await {
        DataPlaneEvent::SessionFailed { reason, .. } => {
            assert!(reason.contains("no such device"), "{reason}");
            assert!(
                reason.contains("10.0.0.1") && reason.contains("10.0.0.2"),
                "{reason}"
            );
        }
        other => panic!("expected SessionFailed, got {other:?}"),
    }
    for t in &p.tasks {
        t.abort();
    }
}

/// `ppp_ipv6 = true` on both ends: IPV6CP opens, each end configures its own interface
/// identifier (distinct, non-zero), IPv6 then passes in (`input` hands the datagram over)
/// while before it was dropped, and the phase reports IPV6CP opened. Off (the default), no
/// IPV6CP: the phase has none and IPv6 stays dropped.
#[tokio::test]
async fn ipv6cp_opens_when_enabled_and_then_ipv6_passes() {
    use l2tp_ppp::fsm::State;
    // PPP Protocol 0x0057, then the start of an IPv6 header.
    let v6 = [0x00, 0x57, 0x60, 0, 0, 0];
    let p = pair_with("pw", l2tp_ppp::AuthMethod::ChapMd5, None, true);
    assert_eq!(p.lns.link.input(&v6), None, "IPv6 before IPV6CP is dropped");
    let mut lns_events = p.lns_events;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let e = tokio::time::timeout_at(deadline, lns_events.recv())
            .await
            .expect("IPV6CP opened within 20 s")
            .expect("events");
        if let DataPlaneEvent::PppPhase { phase, .. } = e {
            if phase.ipv6cp == Some(State::Opened) {
                break;
            }
        }
    }
    let ids = |side: &FakePath| side.ipv6cp.lock().unwrap().clone();
    // The LAC may be a moment behind the LNS.
    tokio::time::timeout(Duration::from_secs(5), async {
        while ids(&p.lac).is_empty() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the LAC's IPV6CP up");
    let (lac, lns) = (ids(&p.lac), ids(&p.lns));
    assert_eq!((lac.len(), lns.len()), (1, 1), "{lac:?} {lns:?}");
    assert!(
        lac[0] != 0 && lns[0] != 0 && lac[0] != lns[0],
        "{lac:?} {lns:?}"
    );
    assert_eq!(p.lns.link.input(&v6), Some(&v6[2..]), "IPv6 passes");
    for t in &p.tasks {
        t.abort();
    }

    let mut p = pair("pw", l2tp_ppp::AuthMethod::ChapMd5, None);
    let (phases, _, _) = phases_until_end(&mut p.lns_events).await;
    assert!(phases.iter().all(|p| p.ipv6cp.is_none()), "{phases:?}");
    assert_eq!(p.lns.link.input(&v6), None, "no IPV6CP: IPv6 dropped");
    assert!(p.lns.ipv6cp.lock().unwrap().is_empty());
    for t in &p.tasks {
        t.abort();
    }
}
