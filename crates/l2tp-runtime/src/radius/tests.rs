//! The RADIUS task against a scripted server on loopback (a UDP socket this test answers
//! with the sans-IO codec) and a fake session: the verdict of a check carries the
//! authorization, accounting Start/Stop carry the session's counters and cause,
//! Session-Timeout and a Disconnect-Request end the session through its control, an unknown
//! session gets NAK 503. Nothing sleeps a fixed time: every step awaits a datagram or a call.

use std::net::{SocketAddr, UdpSocket as StdUdp};
use std::sync::Mutex;

use l2tp_radius::dict::{code, terminate_cause};
use l2tp_radius::{Attr, Packet, Value};
use tokio::net::UdpSocket;

use super::*;
use crate::config::{RadiusDaeClient, RadiusServer};

const SECRET: &[u8] = b"unit-secret";
const DAE_SECRET: &[u8] = b"dae-secret";

/// What the fake session saw.
#[derive(Default)]
struct FakeSession {
    terminated: Mutex<Vec<String>>,
    notify: tokio::sync::Notify,
}

impl SessionControl for Arc<FakeSession> {
    fn stats(&self) -> Option<SessionStats> {
        Some(SessionStats {
            rx_bytes: (1 << 32) + 5,
            tx_bytes: 777,
            rx_packets: 3,
            tx_packets: 4,
            ..SessionStats::default()
        })
    }
    fn terminate(&self, reason: &str) {
        self.terminated.lock().unwrap().push(reason.to_string());
        self.notify.notify_one();
    }
}

fn free_port() -> u16 {
    StdUdp::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn recv_request(s: &UdpSocket) -> (Packet, SocketAddr) {
    let mut buf = vec![0u8; 4096];
    let (n, from) = tokio::time::timeout(Duration::from_secs(10), s.recv_from(&mut buf))
        .await
        .expect("a request within 10 s")
        .unwrap();
    let p = Packet::decode_request(&buf[..n], SECRET).expect("a valid request");
    (p, from)
}

async fn answer(s: &UdpSocket, to: SocketAddr, req: &Packet, code: u8, attrs: Vec<Attr>) {
    let mut r = Packet::new(code, req.identifier);
    r.attrs = attrs;
    if code != code::ACCOUNTING_RESPONSE {
        r.attrs.push(Attr {
            typ: at::MESSAGE_AUTHENTICATOR,
            value: Value::MessageAuthenticator([0; 16]),
        });
    }
    let bytes = r.encode_response(SECRET, &req.authenticator).unwrap();
    s.send_to(&bytes, to).await.unwrap();
}

/// The next accounting request of `status`, answered (others are answered and skipped).
async fn acct(s: &UdpSocket, status: u32) -> Packet {
    loop {
        let (p, from) = recv_request(s).await;
        assert_eq!(p.code, code::ACCOUNTING_REQUEST);
        answer(s, from, &p, code::ACCOUNTING_RESPONSE, vec![]).await;
        if p.integer(at::ACCT_STATUS_TYPE) == Some(status) {
            return p;
        }
    }
}

fn ctx() -> Arc<AuthContext> {
    Arc::new(AuthContext {
        tunnel_id: 5,
        session_id: 77,
        calling_number: Some(b"555-1234".to_vec()),
        called_number: None,
        tunnel_peer: "192.0.2.9:1701".parse().unwrap(),
        tunnel_local: None,
    })
}

#[tokio::test]
async fn check_accounting_session_timeout_and_disconnect() {
    let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = server.local_addr().unwrap().port();
    let acct_server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let acct_port = acct_server.local_addr().unwrap().port();
    let dae_port = free_port();
    let section = RadiusSection {
        servers: vec![(
            "s".into(),
            RadiusServer {
                address: "127.0.0.1".parse().unwrap(),
                auth_port: port,
                acct_port,
                secret: String::from_utf8(SECRET.to_vec()).unwrap(),
            },
        )],
        timeout: Duration::from_secs(2),
        retries: 2,
        dead_time: Duration::from_secs(30),
        acct_queue_limit: 16,
        dae_listen: Some(SocketAddr::from(([127, 0, 0, 1], dae_port))),
        dae_clients: vec![(
            "local".into(),
            RadiusDaeClient {
                address: "127.0.0.1".parse().unwrap(),
                secret: String::from_utf8(DAE_SECRET.to_vec()).unwrap(),
            },
        )],
        ..RadiusSection::default()
    };
    let h = start(RadiusSettings {
        section,
        host_name: "unit-lns".into(),
    })
    .await
    .unwrap();
    let on = acct(&acct_server, acct_status_type::ACCOUNTING_ON).await;
    assert_eq!(on.bytes(at::NAS_IDENTIFIER), Some(&b"unit-lns"[..]));

    // PAP check: the Access-Request, answered with an accept carrying authorization.
    let req = AuthRequest::Pap {
        username: b"alice".to_vec(),
        password: b"pw".to_vec(),
    };
    let AuthAnswer::Later(verdict) = h.check(&ctx(), &req) else {
        panic!("RADIUS answers later");
    };
    let (p, from) = recv_request(&server).await;
    assert_eq!(p.code, code::ACCESS_REQUEST);
    assert_eq!(p.bytes(at::USER_NAME), Some(&b"alice"[..]));
    assert_eq!(
        p.get(at::USER_PASSWORD).unwrap().value,
        Value::Password(b"pw".to_vec())
    );
    assert_eq!(p.integer(at::NAS_PORT), Some(77));
    assert_eq!(p.bytes(at::CALLING_STATION_ID), Some(&b"555-1234"[..]));
    answer(
        &server,
        from,
        &p,
        code::ACCESS_ACCEPT,
        vec![
            Attr::ipv4(at::FRAMED_IP_ADDRESS, Ipv4Addr::new(10, 7, 7, 7)),
            Attr::integer(at::SESSION_TIMEOUT, 1),
            Attr::bytes(at::CLASS, b"gold".to_vec()),
        ],
    )
    .await;
    let o = verdict.await;
    assert!(matches!(o.verdict, Verdict::Accept { .. }), "{o:?}");
    assert_eq!(o.authorization.framed_ip, Some(Ipv4Addr::new(10, 7, 7, 7)));

    // IPCP up: Start; Session-Timeout (1 s) ends the session through its control.
    let fake = Arc::new(FakeSession::default());
    h.session_up(SessionUp {
        context: ctx(),
        username: "alice".into(),
        address: Ipv4Addr::new(10, 7, 7, 7),
        authorization: o.authorization.clone(),
        control: Arc::new(fake.clone()),
    });
    let start_req = acct(&acct_server, acct_status_type::START).await;
    let acct_id = start_req.bytes(at::ACCT_SESSION_ID).unwrap().to_vec();
    assert_eq!(start_req.bytes(at::CLASS), Some(&b"gold"[..]));
    assert_eq!(
        start_req.ipv4(at::FRAMED_IP_ADDRESS),
        Some(Ipv4Addr::new(10, 7, 7, 7))
    );
    tokio::time::timeout(Duration::from_secs(5), fake.notify.notified())
        .await
        .expect("Session-Timeout ends the session");
    assert_eq!(*fake.terminated.lock().unwrap(), ["Session-Timeout"]);
    // PPP's own cause comes later and does not override the first one.
    h.session_ending(5, 77, TerminateCause::UserRequest);
    h.session_gone(5, 77, fake.stats().unwrap());
    let stop = acct(&acct_server, acct_status_type::STOP).await;
    assert_eq!(stop.bytes(at::ACCT_SESSION_ID), Some(&acct_id[..]));
    assert_eq!(
        stop.integer(at::ACCT_TERMINATE_CAUSE),
        Some(terminate_cause::SESSION_TIMEOUT)
    );
    assert_eq!(stop.integer(at::ACCT_INPUT_OCTETS), Some(5));
    assert_eq!(stop.integer(at::ACCT_INPUT_GIGAWORDS), Some(1));
    assert_eq!(stop.integer(at::ACCT_OUTPUT_OCTETS), Some(777));
    assert_eq!(stop.integer(at::ACCT_OUTPUT_PACKETS), Some(4));

    // A second session, ended by a Disconnect-Request naming its Framed-IP-Address.
    let fake2 = Arc::new(FakeSession::default());
    let ctx2 = Arc::new(AuthContext {
        session_id: 78,
        ..(*ctx()).clone()
    });
    h.session_up(SessionUp {
        context: ctx2,
        username: "bob".into(),
        address: Ipv4Addr::new(10, 7, 7, 8),
        authorization: Authorization::default(),
        control: Arc::new(fake2.clone()),
    });
    acct(&acct_server, acct_status_type::START).await;
    let dae_client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let dae_addr = SocketAddr::from(([127, 0, 0, 1], dae_port));
    let disconnect = |id: u8, ip: Ipv4Addr| {
        let mut p = Packet::new(code::DISCONNECT_REQUEST, id);
        p.attrs.push(Attr::ipv4(at::FRAMED_IP_ADDRESS, ip));
        p.encode_request(DAE_SECRET).unwrap()
    };
    let mut buf = vec![0u8; 4096];
    for (id, ip, want_code, want_cause) in [
        (1, Ipv4Addr::new(10, 7, 7, 8), code::DISCONNECT_ACK, None),
        (
            2,
            Ipv4Addr::new(10, 7, 7, 99),
            code::DISCONNECT_NAK,
            Some(error_cause::SESSION_CONTEXT_NOT_FOUND),
        ),
    ] {
        let d = disconnect(id, ip);
        dae_client.send_to(&d, dae_addr).await.unwrap();
        let (n, _) = tokio::time::timeout(Duration::from_secs(5), dae_client.recv_from(&mut buf))
            .await
            .expect("a DAE answer")
            .unwrap();
        let auth: [u8; 16] = d[4..20].try_into().unwrap();
        let r = Packet::decode_response(&buf[..n], DAE_SECRET, &auth).expect("a valid answer");
        assert_eq!((r.code, r.identifier), (want_code, id));
        assert_eq!(r.integer(at::ERROR_CAUSE), want_cause);
    }
    assert_eq!(*fake2.terminated.lock().unwrap(), ["Disconnect-Request"]);
    h.session_gone(5, 78, fake2.stats().unwrap());
    let stop = acct(&acct_server, acct_status_type::STOP).await;
    assert_eq!(stop.bytes(at::USER_NAME), Some(&b"bob"[..]));
    assert_eq!(
        stop.integer(at::ACCT_TERMINATE_CAUSE),
        Some(terminate_cause::ADMIN_RESET)
    );

    let m = h.metrics().await.unwrap();
    assert_eq!(m.servers.len(), 2, "auth and acct entries of one server");
    assert_eq!(m.servers[0].accepts, 1);
    assert_eq!((m.sessions, m.dae_requests, m.dae_naks), (0, 2, 1));

    // Clean stop: Accounting-Off, answered; shutdown returns.
    let (off, ()) = tokio::join!(
        acct(&acct_server, acct_status_type::ACCOUNTING_OFF),
        h.shutdown()
    );
    assert_eq!(off.bytes(at::NAS_IDENTIFIER), Some(&b"unit-lns"[..]));
}

#[tokio::test]
async fn no_answer_from_any_server_refuses_the_peer() {
    // A bound socket that never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let section = RadiusSection {
        servers: vec![(
            "mute".into(),
            RadiusServer {
                address: "127.0.0.1".parse().unwrap(),
                auth_port: silent.local_addr().unwrap().port(),
                acct_port: 0,
                secret: "x".into(),
            },
        )],
        timeout: Duration::from_millis(50),
        retries: 1,
        dead_time: Duration::from_secs(30),
        acct_queue_limit: 16,
        ..RadiusSection::default()
    };
    let h = start(RadiusSettings {
        section,
        host_name: "h".into(),
    })
    .await
    .unwrap();
    let req = AuthRequest::Pap {
        username: b"alice".to_vec(),
        password: b"pw".to_vec(),
    };
    let AuthAnswer::Later(v) = h.check(&ctx(), &req) else {
        panic!("later");
    };
    let o = tokio::time::timeout(Duration::from_secs(5), v)
        .await
        .unwrap();
    assert!(
        matches!(&o.verdict, Verdict::Reject { message } if message.contains("not responding")),
        "{o:?}"
    );
    let m = h.metrics().await.unwrap();
    assert_eq!(m.auth_timeouts, 1);
    assert_eq!(m.servers[0].retransmissions, 1);
}

/// Acct-Terminate-Cause is the first cause heard: PPP's (LCP echo timeout) wins over the
/// driver's own close that follows; the driver's alone (the LAC's CDN) gives User-Request.
#[tokio::test]
async fn terminate_cause_is_the_first_heard() {
    use crate::dataplane::SessionObserver;
    use l2tp_proto::wire::ResultCode;
    let acct_server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let section = RadiusSection {
        servers: vec![(
            "s".into(),
            RadiusServer {
                address: "127.0.0.1".parse().unwrap(),
                auth_port: 0,
                acct_port: acct_server.local_addr().unwrap().port(),
                secret: String::from_utf8(SECRET.to_vec()).unwrap(),
            },
        )],
        timeout: Duration::from_secs(2),
        retries: 2,
        dead_time: Duration::from_secs(30),
        acct_queue_limit: 16,
        ..RadiusSection::default()
    };
    let t0 = Instant::now();
    let h = start(RadiusSettings {
        section,
        host_name: "h".into(),
    })
    .await
    .unwrap();
    acct(&acct_server, acct_status_type::ACCOUNTING_ON).await;
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "Accounting-On at start, not at the first retransmission (2 s): {:?}",
        t0.elapsed()
    );
    let rc = ResultCode {
        result: 3,
        error: None,
        message: None,
    };
    for (sid, ppp_first, want) in [
        (1u32, true, terminate_cause::LOST_CARRIER),
        (2, false, terminate_cause::USER_REQUEST),
    ] {
        let fake = Arc::new(FakeSession::default());
        h.session_up(SessionUp {
            context: Arc::new(AuthContext {
                session_id: sid,
                ..(*ctx()).clone()
            }),
            username: format!("u{sid}"),
            address: Ipv4Addr::new(10, 0, 0, sid as u8),
            authorization: Authorization::default(),
            control: Arc::new(fake.clone()),
        });
        acct(&acct_server, acct_status_type::START).await;
        if ppp_first {
            h.session_ending(
                5,
                sid,
                TerminateCause::from_ppp_reason(
                    "peer not responding (4 LCP Echo-Requests unanswered)",
                ),
            );
            SessionObserver::session_down(&h, 5, sid, &DownReason::Local(rc.clone()));
        } else {
            SessionObserver::session_down(&h, 5, sid, &DownReason::Peer(rc.clone()));
        }
        h.session_gone(5, sid, fake.stats().unwrap());
        let stop = acct(&acct_server, acct_status_type::STOP).await;
        assert_eq!(
            stop.integer(at::ACCT_TERMINATE_CAUSE),
            Some(want),
            "session {sid}"
        );
    }
}

/// Throughput of the task: 10,000 PAP checks in flight at once (under the 16,384 the
/// channel holds) against a scripted server
/// that accepts each (one server: 256 Identifiers, the rest waits in the client's queue).
/// 200 ms retransmission timeout: the first burst overflows a socket buffer and a few dozen
/// requests go again; a longer timeout would measure the timeout. Run with
/// `cargo test -p l2tp-runtime --release --lib radius::tests::checks_per_second --
/// --ignored --nocapture`; asserts every check is accepted and at least 2,000 a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "throughput figure; run on purpose"]
async fn checks_per_second() {
    const N: usize = 10_000;
    let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = server.local_addr().unwrap().port();
    let section = RadiusSection {
        servers: vec![(
            "s".into(),
            RadiusServer {
                address: "127.0.0.1".parse().unwrap(),
                auth_port: port,
                acct_port: 0,
                secret: String::from_utf8(SECRET.to_vec()).unwrap(),
            },
        )],
        timeout: Duration::from_millis(200),
        retries: 2,
        dead_time: Duration::from_secs(30),
        acct_queue_limit: 16,
        ..RadiusSection::default()
    };
    let h = start(RadiusSettings {
        section,
        host_name: "h".into(),
    })
    .await
    .unwrap();
    let responder = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            let p = Packet::decode_request(&buf[..n], SECRET).unwrap();
            let mut r = Packet::new(code::ACCESS_ACCEPT, p.identifier);
            r.attrs.push(Attr {
                typ: at::MESSAGE_AUTHENTICATOR,
                value: Value::MessageAuthenticator([0; 16]),
            });
            let bytes = r.encode_response(SECRET, &p.authenticator).unwrap();
            server.send_to(&bytes, from).await.unwrap();
        }
    });
    let req = AuthRequest::Pap {
        username: b"alice".to_vec(),
        password: b"pw".to_vec(),
    };
    let t0 = Instant::now();
    let mut pending = Vec::with_capacity(N);
    for i in 0..N {
        let c = Arc::new(AuthContext {
            session_id: i as u32,
            ..(*ctx()).clone()
        });
        match h.check(&c, &req) {
            AuthAnswer::Later(f) => pending.push(f),
            AuthAnswer::Now(v) => panic!("refused at once: {v:?}"),
        }
    }
    let mut accepted = 0;
    for f in pending {
        if matches!(f.await.verdict, Verdict::Accept { .. }) {
            accepted += 1;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    responder.abort();
    let rate = N as f64 / secs;
    let m = h.metrics().await.unwrap();
    println!(
        "bench: radius checks: {N} PAP Access-Requests accepted in {secs:.2} s: {rate:.0}/s \
         ({} retransmissions)",
        m.servers[0].retransmissions
    );
    assert_eq!(accepted, N);
    assert!(rate > 2000.0, "{rate:.0} checks/s");
}

/// A Stop survives an accounting server that is briefly away: unanswered, the server is
/// marked dead and the Stop waits in the queue; once the dead time has passed it goes again
/// (with Acct-Delay-Time) and is answered. Nothing is dropped.
#[tokio::test]
async fn stop_waits_for_a_server_that_was_away() {
    let acct_server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let section = RadiusSection {
        servers: vec![(
            "s".into(),
            RadiusServer {
                address: "127.0.0.1".parse().unwrap(),
                auth_port: 0,
                acct_port: acct_server.local_addr().unwrap().port(),
                secret: String::from_utf8(SECRET.to_vec()).unwrap(),
            },
        )],
        timeout: Duration::from_millis(100),
        retries: 1,
        dead_time: Duration::from_secs(1),
        acct_queue_limit: 16,
        ..RadiusSection::default()
    };
    let h = start(RadiusSettings {
        section,
        host_name: "h".into(),
    })
    .await
    .unwrap();
    acct(&acct_server, acct_status_type::ACCOUNTING_ON).await;
    let fake = Arc::new(FakeSession::default());
    h.session_up(SessionUp {
        context: ctx(),
        username: "alice".into(),
        address: Ipv4Addr::new(10, 0, 0, 1),
        authorization: Authorization::default(),
        control: Arc::new(fake.clone()),
    });
    acct(&acct_server, acct_status_type::START).await;
    h.session_gone(5, 77, fake.stats().unwrap());
    // The server is away: the Stop and its retransmission go unanswered.
    let t0 = Instant::now();
    for _ in 0..2 {
        let (p, _) = recv_request(&acct_server).await;
        assert_eq!(
            p.integer(at::ACCT_STATUS_TYPE),
            Some(acct_status_type::STOP)
        );
    }
    // Back: the Stop comes again after the dead time, and is answered.
    let stop = acct(&acct_server, acct_status_type::STOP).await;
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t0.elapsed()
    );
    assert!(
        stop.integer(at::ACCT_DELAY_TIME).is_some_and(|d| d >= 1),
        "{stop:?}"
    );
    let m = h.metrics().await.unwrap();
    assert_eq!((m.acct_dropped, m.acct_queued), (0, 0));
    assert_eq!(m.servers[0].timeouts, 1);
}
