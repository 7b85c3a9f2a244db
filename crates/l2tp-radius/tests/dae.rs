//! RFC 5176 server side: which requests are accepted, NAKed or dropped, and what the
//! answers carry.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use l2tp_radius::dae::{DaeClient, DaeConfig, DaeKind, DaeOutcome, DaeServer, DropReason};
use l2tp_radius::dict::{attr as at, code, error_cause, service_type};
use l2tp_radius::{Attr, Packet, Value};

const SECRET: &[u8] = b"coa-secret";
const NOW: u64 = 1_700_000_000;

fn from() -> SocketAddr {
    "192.0.2.10:40000".parse().unwrap()
}

fn server(window: Option<Duration>) -> DaeServer {
    DaeServer::new(DaeConfig {
        clients: vec![DaeClient {
            addr: from().ip(),
            secret: SECRET.to_vec(),
        }],
        event_timestamp_window: window,
        nas_ip_address: None,
        nas_identifier: Some(b"lns1".to_vec()),
    })
    .unwrap()
}

fn request(c: u8, attrs: Vec<Attr>) -> Vec<u8> {
    let mut p = Packet::new(c, 77);
    p.attrs = attrs;
    p.encode_request(SECRET).unwrap()
}

fn reply_of(wire: &[u8], req: &[u8]) -> Packet {
    let auth: [u8; 16] = req[4..20].try_into().unwrap();
    Packet::decode_response(wire, SECRET, &auth).expect("reply verifies against the request")
}

#[test]
fn disconnect_request_gives_the_session_selector_and_ack_verifies() {
    let mut s = server(None);
    let req = request(
        code::DISCONNECT_REQUEST,
        vec![
            Attr::bytes(at::USER_NAME, "alice"),
            Attr::bytes(at::ACCT_SESSION_ID, "0000002a"),
            Attr::ipv4(at::FRAMED_IP_ADDRESS, Ipv4Addr::new(10, 1, 2, 3)),
            Attr::bytes(at::PROXY_STATE, "p1"),
            Attr::bytes(at::PROXY_STATE, "p2"),
            Attr {
                typ: at::MESSAGE_AUTHENTICATOR,
                value: Value::MessageAuthenticator([0; 16]),
            },
        ],
    );
    let DaeOutcome::Request(r) = s.handle(from(), &req, NOW) else {
        panic!("not accepted")
    };
    assert_eq!(r.kind, DaeKind::Disconnect);
    assert_eq!(r.session.user_name.as_deref(), Some(&b"alice"[..]));
    assert_eq!(r.session.acct_session_id.as_deref(), Some(&b"0000002a"[..]));
    assert_eq!(
        r.session.framed_ip_address,
        Some(Ipv4Addr::new(10, 1, 2, 3))
    );
    let ack = reply_of(&s.ack(&r), &req);
    assert_eq!((ack.code, ack.identifier), (code::DISCONNECT_ACK, 77));
    let ps: Vec<_> = ack
        .get_all(at::PROXY_STATE)
        .filter_map(Attr::as_bytes)
        .collect();
    assert_eq!(ps, vec![&b"p1"[..], b"p2"], "Proxy-State echoed in order");
    assert!(ack.get(at::MESSAGE_AUTHENTICATOR).is_some());

    let nak = reply_of(&s.nak(&r, error_cause::SESSION_CONTEXT_NOT_FOUND), &req);
    assert_eq!(nak.code, code::DISCONNECT_NAK);
    assert_eq!(nak.integer(at::ERROR_CAUSE), Some(503));
    assert_eq!(s.counters().requests, 1);
}

#[test]
fn coa_request_carries_the_authorization_changes() {
    let mut s = server(None);
    let req = request(
        code::COA_REQUEST,
        vec![
            Attr::bytes(at::ACCT_SESSION_ID, "s9"),
            Attr::integer(at::SESSION_TIMEOUT, 3600),
            Attr::integer(at::ACCT_INTERIM_INTERVAL, 300),
        ],
    );
    let DaeOutcome::Request(r) = s.handle(from(), &req, NOW) else {
        panic!("not accepted")
    };
    assert_eq!(r.kind, DaeKind::Coa);
    assert_eq!(
        r.changes,
        vec![
            Attr::integer(at::SESSION_TIMEOUT, 3600),
            Attr::integer(at::ACCT_INTERIM_INTERVAL, 300)
        ]
    );
    assert_eq!(reply_of(&s.ack(&r), &req).code, code::COA_ACK);
}

#[test]
fn unknown_clients_and_bad_authenticators_get_no_answer() {
    let mut s = server(None);
    let req = request(
        code::DISCONNECT_REQUEST,
        vec![Attr::bytes(at::USER_NAME, "a")],
    );
    let stranger: SocketAddr = "198.51.100.1:3799".parse().unwrap();
    assert_eq!(
        s.handle(stranger, &req, NOW),
        DaeOutcome::Drop(DropReason::UnknownClient)
    );
    let mut p = Packet::new(code::DISCONNECT_REQUEST, 1);
    p.attrs.push(Attr::bytes(at::USER_NAME, "a"));
    let forged = p.encode_request(b"not-the-secret").unwrap();
    assert_eq!(
        s.handle(from(), &forged, NOW),
        DaeOutcome::Drop(DropReason::BadAuthenticator)
    );
    let accept = Packet::new(code::ACCESS_ACCEPT, 1)
        .encode_response(SECRET, &[0; 16])
        .unwrap();
    assert_eq!(
        s.handle(from(), &accept, NOW),
        DaeOutcome::Drop(DropReason::NotARequest)
    );
    let k = s.counters();
    assert_eq!(
        (k.unknown_client, k.bad_authenticator, k.not_a_request),
        (1, 1, 1)
    );
}

fn nak_cause(s: &mut DaeServer, req: &[u8]) -> u32 {
    match s.handle(from(), req, NOW) {
        DaeOutcome::Nak { reply, cause, to } => {
            assert_eq!(to, from());
            let p = reply_of(&reply, req);
            assert_eq!(p.integer(at::ERROR_CAUSE), Some(cause));
            assert_eq!(p.code, req[0] + 2, "a NAK of the request's kind");
            cause
        }
        o => panic!("expected a NAK, got {o:?}"),
    }
}

#[test]
fn invalid_requests_are_naked_with_the_right_error_cause() {
    let mut s = server(None);
    let no_session = request(
        code::DISCONNECT_REQUEST,
        vec![Attr::bytes(at::NAS_IDENTIFIER, "lns1")],
    );
    assert_eq!(
        nak_cause(&mut s, &no_session),
        error_cause::MISSING_ATTRIBUTE
    );
    let unsupported = request(
        code::DISCONNECT_REQUEST,
        vec![
            Attr::bytes(at::USER_NAME, "a"),
            Attr::integer(at::SESSION_TIMEOUT, 5),
        ],
    );
    assert_eq!(
        nak_cause(&mut s, &unsupported),
        error_cause::UNSUPPORTED_ATTRIBUTE
    );
    let unknown = request(
        code::COA_REQUEST,
        vec![
            Attr::bytes(at::USER_NAME, "a"),
            Attr {
                typ: 190,
                value: Value::Raw(vec![1]),
            },
        ],
    );
    assert_eq!(
        nak_cause(&mut s, &unknown),
        error_cause::UNSUPPORTED_ATTRIBUTE
    );
    let other_nas = request(
        code::DISCONNECT_REQUEST,
        vec![
            Attr::bytes(at::USER_NAME, "a"),
            Attr::bytes(at::NAS_IDENTIFIER, "lns2"),
        ],
    );
    assert_eq!(
        nak_cause(&mut s, &other_nas),
        error_cause::NAS_IDENTIFICATION_MISMATCH
    );
    let authorize_only = request(
        code::COA_REQUEST,
        vec![
            Attr::bytes(at::USER_NAME, "a"),
            Attr::integer(at::SERVICE_TYPE, service_type::AUTHORIZE_ONLY),
        ],
    );
    assert_eq!(
        nak_cause(&mut s, &authorize_only),
        error_cause::UNSUPPORTED_SERVICE
    );
    // Framed-IP-Address of 3 bytes in an authentic packet.
    let bad_value = request(
        code::DISCONNECT_REQUEST,
        vec![Attr {
            typ: at::FRAMED_IP_ADDRESS,
            value: Value::Raw(vec![1, 2, 3]),
        }],
    );
    assert_eq!(
        nak_cause(&mut s, &bad_value),
        error_cause::INVALID_ATTRIBUTE_VALUE
    );
}

#[test]
fn event_timestamp_window_drops_replays() {
    let mut s = server(Some(Duration::from_secs(300)));
    let with_ts = |t: u32| {
        request(
            code::DISCONNECT_REQUEST,
            vec![
                Attr::bytes(at::USER_NAME, "a"),
                Attr::integer(at::EVENT_TIMESTAMP, t),
            ],
        )
    };
    assert!(matches!(
        s.handle(from(), &with_ts(NOW as u32 - 299), NOW),
        DaeOutcome::Request(_)
    ));
    assert_eq!(
        s.handle(from(), &with_ts(NOW as u32 - 301), NOW),
        DaeOutcome::Drop(DropReason::Stale)
    );
    assert_eq!(
        s.handle(from(), &with_ts(NOW as u32 + 301), NOW),
        DaeOutcome::Drop(DropReason::Stale)
    );
    let none = request(
        code::DISCONNECT_REQUEST,
        vec![Attr::bytes(at::USER_NAME, "a")],
    );
    assert_eq!(
        s.handle(from(), &none, NOW),
        DaeOutcome::Drop(DropReason::Stale)
    );
}
