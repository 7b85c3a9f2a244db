//! The client state machine against simulated servers in virtual time: loss, backoff,
//! failover, dead-server revival, identifier exhaustion, accounting queue. Every datagram
//! goes through the real codec on both sides; nothing sleeps.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use l2tp_radius::client::{
    Client, ClientConfig, ClientEvent, Request, RequestId, Server, ServerKind,
};
use l2tp_radius::dict::{acct_status_type, attr as at, code};
use l2tp_radius::{Attr, Packet, Value};

const SECRET: &[u8] = b"testing123";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn server(a: &str, kind: ServerKind) -> Server {
    Server {
        addr: addr(a),
        secret: SECRET.to_vec(),
        kind,
    }
}

fn config(servers: Vec<Server>) -> ClientConfig {
    ClientConfig {
        servers,
        timeout: Duration::from_secs(1),
        retries: 2,
        dead_time: Duration::from_secs(30),
        max_outstanding: 1000,
        acct_queue_limit: 100,
    }
}

fn access(user: &str) -> Request {
    Request::access(vec![
        Attr::bytes(at::USER_NAME, user),
        Attr::user_password("pw"),
    ])
}

fn acct(status: u32, session: &str) -> Request {
    Request::accounting(vec![
        Attr::integer(at::ACCT_STATUS_TYPE, status),
        Attr::bytes(at::ACCT_SESSION_ID, session),
    ])
}

/// What a correct server answers: the right response Code, Message-Authenticator for Access.
fn answer(req: &[u8], secret: &[u8]) -> Vec<u8> {
    signed_answer(req, secret, secret)
}

/// As [`answer`], but the response is signed with `sign_secret`.
fn signed_answer(req: &[u8], secret: &[u8], sign_secret: &[u8]) -> Vec<u8> {
    let p = Packet::decode_request(req, secret).expect("server: request verifies");
    let auth: [u8; 16] = req[4..20].try_into().unwrap();
    let mut r = match p.code {
        code::ACCESS_REQUEST => {
            assert!(
                p.get(at::MESSAGE_AUTHENTICATOR).is_some(),
                "Access-Request without Message-Authenticator"
            );
            let mut r = Packet::new(code::ACCESS_ACCEPT, p.identifier);
            r.attrs.push(Attr {
                typ: at::MESSAGE_AUTHENTICATOR,
                value: Value::MessageAuthenticator([0; 16]),
            });
            r
        }
        _ => Packet::new(code::ACCOUNTING_RESPONSE, p.identifier),
    };
    r.attrs.push(Attr::bytes(at::REPLY_MESSAGE, "ok"));
    r.encode_response(sign_secret, &auth).unwrap()
}

fn drain(c: &mut Client) -> Vec<(SocketAddr, Vec<u8>)> {
    std::iter::from_fn(|| c.poll_transmit()).collect()
}

fn events(c: &mut Client) -> Vec<ClientEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

/// Advance virtual time to the client's next timer; returns the new time.
fn step(c: &mut Client) -> Instant {
    let t = c.poll_timeout().expect("a timer is pending");
    c.handle_timeout(t);
    t
}

#[test]
fn accept_is_delivered_and_counted() {
    let t0 = Instant::now();
    let mut c =
        Client::with_seed(config(vec![server("192.0.2.1:1812", ServerKind::Auth)]), 7).unwrap();
    let id = c.send(t0, access("alice")).unwrap();
    let tx = drain(&mut c);
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0].0, addr("192.0.2.1:1812"));
    c.handle_datagram(t0, tx[0].0, &answer(&tx[0].1, SECRET));
    match events(&mut c).as_slice() {
        [ClientEvent::Response {
            id: got,
            server: 0,
            packet,
        }] => {
            assert_eq!(*got, id);
            assert_eq!(packet.code, code::ACCESS_ACCEPT);
            assert_eq!(packet.bytes(at::REPLY_MESSAGE), Some(&b"ok"[..]));
        }
        e => panic!("{e:?}"),
    }
    let k = c.server_counters(0).unwrap();
    assert_eq!((k.requests, k.accepts, k.retransmissions), (1, 1, 0));
    assert_eq!(c.in_flight(), 0);
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn lost_access_request_is_retransmitted_identically_with_doubling_waits() {
    let t0 = Instant::now();
    let mut c =
        Client::with_seed(config(vec![server("192.0.2.1:1812", ServerKind::Auth)]), 7).unwrap();
    c.send(t0, access("bob")).unwrap();
    let first = drain(&mut c).remove(0).1;
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(1)));
    let t1 = step(&mut c);
    let second = drain(&mut c).remove(0).1;
    assert_eq!(
        second, first,
        "Access-Request retransmission must be byte-identical"
    );
    assert_eq!(c.poll_timeout(), Some(t1 + Duration::from_secs(2)));
    let t2 = step(&mut c);
    assert_eq!(drain(&mut c).remove(0).1, first);
    assert_eq!(c.poll_timeout(), Some(t2 + Duration::from_secs(4)));
    // The server finally answers the (identical) request.
    c.handle_datagram(t2, addr("192.0.2.1:1812"), &answer(&first, SECRET));
    assert!(matches!(
        events(&mut c).as_slice(),
        [ClientEvent::Response { .. }]
    ));
    assert_eq!(c.server_counters(0).unwrap().retransmissions, 2);
}

#[test]
fn failover_marks_the_server_dead_and_revives_it_after_dead_time() {
    let t0 = Instant::now();
    let a = "192.0.2.1:1812";
    let b = "192.0.2.2:1812";
    let mut c = Client::with_seed(
        config(vec![
            server(a, ServerKind::Auth),
            server(b, ServerKind::Auth),
        ]),
        7,
    )
    .unwrap();
    c.send(t0, access("carol")).unwrap();
    assert_eq!(drain(&mut c)[0].0, addr(a));
    // 1 + 2 retransmissions to A, all lost; the third timeout fails over to B.
    step(&mut c);
    step(&mut c);
    assert!(drain(&mut c).iter().all(|(to, _)| *to == addr(a)));
    let t = step(&mut c);
    let tx = drain(&mut c);
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0].0, addr(b), "failed over to the second server");
    assert!(c.is_dead(0, t));
    assert_eq!(c.server_counters(0).unwrap().timeouts, 1);
    c.handle_datagram(t, addr(b), &answer(&tx[0].1, SECRET));
    assert!(matches!(
        events(&mut c).as_slice(),
        [ClientEvent::Response { server: 1, .. }]
    ));

    // While A is dead, new requests go straight to B.
    c.send(t, access("dave")).unwrap();
    assert_eq!(drain(&mut c)[0].0, addr(b));
    // After dead_time, A is preferred again.
    let later = t + Duration::from_secs(30);
    assert!(!c.is_dead(0, later));
    c.send(later, access("erin")).unwrap();
    assert_eq!(drain(&mut c)[0].0, addr(a));
}

#[test]
fn access_request_times_out_when_every_server_fails() {
    let t0 = Instant::now();
    let mut cfg = config(vec![
        server("192.0.2.1:1812", ServerKind::Auth),
        server("192.0.2.2:1812", ServerKind::Auth),
    ]);
    cfg.retries = 0;
    let mut c = Client::with_seed(cfg, 7).unwrap();
    let id = c.send(t0, access("frank")).unwrap();
    step(&mut c);
    step(&mut c);
    assert_eq!(drain(&mut c).len(), 2, "one transmission per server");
    assert_eq!(events(&mut c), vec![ClientEvent::Timeout { id }]);
    assert_eq!(c.poll_timeout(), None);
    // Both are dead now; a new Access-Request is still tried, on the server that died first.
    let t = t0 + Duration::from_secs(2);
    c.send(t, access("gina")).unwrap();
    assert_eq!(drain(&mut c)[0].0, addr("192.0.2.1:1812"));
}

#[test]
fn identifier_exhaustion_queues_and_never_reuses_an_outstanding_identifier() {
    let t0 = Instant::now();
    let s = "192.0.2.1:1812";
    let mut c = Client::with_seed(config(vec![server(s, ServerKind::Auth)]), 7).unwrap();
    let ids: Vec<RequestId> = (0..300)
        .map(|i| c.send(t0, access(&format!("u{i}"))).unwrap())
        .collect();
    let tx = drain(&mut c);
    assert_eq!(tx.len(), 256, "one per Identifier");
    assert_eq!(c.queued(), (44, 0));
    let idents: HashSet<u8> = tx.iter().map(|(_, b)| b[1]).collect();
    assert_eq!(idents.len(), 256);
    // Answer 10; 10 queued requests go out, on exactly the freed Identifiers.
    let mut outstanding: HashSet<u8> = idents.clone();
    for (_, req) in &tx[..10] {
        c.handle_datagram(t0, addr(s), &answer(req, SECRET));
        outstanding.remove(&req[1]);
    }
    let next = drain(&mut c);
    assert_eq!(next.len(), 10);
    for (_, b) in &next {
        assert!(
            outstanding.insert(b[1]),
            "identifier {} reused while outstanding",
            b[1]
        );
    }
    assert_eq!(c.queued(), (34, 0));
    assert_eq!(events(&mut c).len(), 10);
    assert_eq!(ids.len(), 300);
}

#[test]
fn forged_misrouted_and_late_responses_are_dropped_and_counted() {
    let t0 = Instant::now();
    let s = "192.0.2.1:1812";
    let mut c = Client::with_seed(config(vec![server(s, ServerKind::Auth)]), 7).unwrap();
    c.send(t0, access("hank")).unwrap();
    let req = drain(&mut c).remove(0).1;
    let good = answer(&req, SECRET);

    c.handle_datagram(t0, addr("192.0.2.99:1812"), &good);
    assert_eq!(c.counters().unknown_source, 1);
    c.handle_datagram(t0, addr(s), &signed_answer(&req, SECRET, b"wrong-secret"));
    // Accept without Message-Authenticator but a correct Response Authenticator.
    let auth: [u8; 16] = req[4..20].try_into().unwrap();
    let no_ma = Packet::new(code::ACCESS_ACCEPT, req[1])
        .encode_response(SECRET, &auth)
        .unwrap();
    c.handle_datagram(t0, addr(s), &no_ma);
    assert_eq!(c.server_counters(0).unwrap().bad_authenticators, 2);
    let mut other_id = good.clone();
    other_id[1] = other_id[1].wrapping_add(1);
    c.handle_datagram(t0, addr(s), &other_id);
    let mut wrong_code = good.clone();
    wrong_code[0] = code::ACCOUNTING_RESPONSE;
    c.handle_datagram(t0, addr(s), &wrong_code);
    c.handle_datagram(t0, addr(s), &good[..19]);
    assert!(events(&mut c).is_empty(), "nothing accepted yet");

    c.handle_datagram(t0, addr(s), &good);
    assert_eq!(events(&mut c).len(), 1);
    c.handle_datagram(t0, addr(s), &good); // late duplicate
    let k = c.server_counters(0).unwrap();
    assert_eq!((k.unmatched, k.malformed, k.accepts), (3, 1, 1));
}

#[test]
fn accounting_retransmission_updates_acct_delay_time_and_identifier() {
    let t0 = Instant::now();
    let s = "192.0.2.1:1813";
    let mut c = Client::with_seed(config(vec![server(s, ServerKind::Acct)]), 7).unwrap();
    c.send(t0, acct(acct_status_type::START, "s1")).unwrap();
    let first = drain(&mut c).remove(0).1;
    let p1 = Packet::decode_request(&first, SECRET).unwrap();
    assert_eq!(p1.integer(at::ACCT_DELAY_TIME), None);
    let t1 = step(&mut c);
    let second = drain(&mut c).remove(0).1;
    let p2 =
        Packet::decode_request(&second, SECRET).expect("retransmission has a valid authenticator");
    assert_eq!(p2.integer(at::ACCT_DELAY_TIME), Some(1));
    assert_ne!(
        p2.identifier, p1.identifier,
        "new content, new Identifier (RFC 5080 §2.2.1)"
    );
    step(&mut c);
    let third = Packet::decode_request(&drain(&mut c).remove(0).1, SECRET).unwrap();
    assert_eq!(third.integer(at::ACCT_DELAY_TIME), Some(3));
    // An answer to the superseded identifier is not taken; the current one is.
    c.handle_datagram(t1, addr(s), &answer(&first, SECRET));
    assert!(events(&mut c).is_empty());
    assert_eq!(c.server_counters(0).unwrap().unmatched, 1);
    let cur = Packet {
        attrs: third.attrs.clone(),
        ..third.clone()
    }
    .encode_request(SECRET)
    .unwrap();
    c.handle_datagram(t1, addr(s), &answer(&cur, SECRET));
    assert!(matches!(
        events(&mut c).as_slice(),
        [ClientEvent::Response { .. }]
    ));
}

#[test]
fn accounting_waits_for_a_dead_server_to_revive_instead_of_failing() {
    let t0 = Instant::now();
    let s = "192.0.2.1:1813";
    let mut cfg = config(vec![server(s, ServerKind::Acct)]);
    cfg.retries = 0;
    let mut c = Client::with_seed(cfg, 7).unwrap();
    let id = c.send(t0, acct(acct_status_type::STOP, "s1")).unwrap();
    drain(&mut c);
    let t1 = step(&mut c);
    assert!(drain(&mut c).is_empty(), "no live server: nothing sent");
    assert!(events(&mut c).is_empty(), "accounting is not given up");
    assert_eq!(c.queued(), (0, 1));
    assert_eq!(c.counters().acct_requeued, 1);
    assert_eq!(
        c.poll_timeout(),
        Some(t1 + Duration::from_secs(30)),
        "wakes up for the revival"
    );
    let t2 = step(&mut c);
    let tx = drain(&mut c);
    assert_eq!(tx.len(), 1);
    let p = Packet::decode_request(&tx[0].1, SECRET).unwrap();
    assert_eq!(p.integer(at::ACCT_DELAY_TIME), Some(31));
    c.handle_datagram(t2, addr(s), &answer(&tx[0].1, SECRET));
    assert!(
        matches!(events(&mut c).as_slice(), [ClientEvent::Response { id: got, .. }] if *got == id)
    );
}

#[test]
fn accounting_queue_drops_oldest_interim_first_and_stops_last() {
    let t0 = Instant::now();
    let mut cfg = config(vec![server("192.0.2.1:1813", ServerKind::Acct)]);
    cfg.max_outstanding = 1;
    cfg.acct_queue_limit = 3;
    let mut c = Client::with_seed(cfg, 7).unwrap();
    use acct_status_type::{INTERIM_UPDATE as I, START, STOP};
    let _in_flight = c.send(t0, acct(START, "a")).unwrap();
    let i1 = c.send(t0, acct(I, "b")).unwrap();
    let i2 = c.send(t0, acct(I, "c")).unwrap();
    let _stop1 = c.send(t0, acct(STOP, "d")).unwrap();
    assert_eq!(c.queued(), (0, 3));
    assert!(events(&mut c).is_empty());
    let i3 = c.send(t0, acct(I, "e")).unwrap();
    assert_eq!(events(&mut c), vec![ClientEvent::Dropped { id: i1 }]);
    let _stop2 = c.send(t0, acct(STOP, "f")).unwrap();
    assert_eq!(events(&mut c), vec![ClientEvent::Dropped { id: i2 }]);
    let start2 = c.send(t0, acct(START, "g")).unwrap();
    assert_eq!(events(&mut c), vec![ClientEvent::Dropped { id: i3 }]);
    let _stop3 = c.send(t0, acct(STOP, "h")).unwrap();
    assert_eq!(
        events(&mut c),
        vec![ClientEvent::Dropped { id: start2 }],
        "a Start goes before any Stop"
    );
    let stop4 = c.send(t0, acct(STOP, "i")).unwrap();
    let dropped = events(&mut c);
    assert_eq!(dropped.len(), 1, "only Stops left: the oldest Stop goes");
    assert_ne!(dropped[0], ClientEvent::Dropped { id: stop4 });
    let k = c.counters();
    assert_eq!(
        (
            k.acct_dropped_interim,
            k.acct_dropped_other,
            k.acct_dropped_stop
        ),
        (3, 1, 1)
    );
    assert_eq!(c.queued(), (0, 3));
}

#[test]
fn accounting_fails_over_to_the_secondary_with_the_delay_so_far() {
    let t0 = Instant::now();
    let a = "192.0.2.1:1813";
    let b = "192.0.2.2:1813";
    let mut cfg = config(vec![
        server(a, ServerKind::Acct),
        server(b, ServerKind::Acct),
    ]);
    cfg.retries = 1;
    let mut c = Client::with_seed(cfg, 7).unwrap();
    let id = c
        .send(t0, acct(acct_status_type::INTERIM_UPDATE, "s1"))
        .unwrap();
    step(&mut c); // retransmission to A at 1 s
    let t = step(&mut c); // A gives up at 1 + 2 s: fail over
    let tx = drain(&mut c);
    assert_eq!(
        tx.iter().map(|(to, _)| *to).collect::<Vec<_>>(),
        vec![addr(a), addr(a), addr(b)]
    );
    let p = Packet::decode_request(&tx[2].1, SECRET).unwrap();
    assert_eq!(p.integer(at::ACCT_DELAY_TIME), Some(3));
    assert!(c.is_dead(0, t));
    c.handle_datagram(t, addr(b), &answer(&tx[2].1, SECRET));
    assert!(
        matches!(events(&mut c).as_slice(), [ClientEvent::Response { id: got, server: 1, .. }] if *got == id)
    );
    assert_eq!(c.server_counters(1).unwrap().acct_responses, 1);
}

mod random_runs {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[derive(Debug, Clone)]
    enum Op {
        SendAccess,
        SendAcct(u32),
        /// Answer the i-th datagram in flight (modulo their number).
        Answer(usize),
        /// Lose the i-th datagram in flight.
        Lose(usize),
        /// Advance virtual time by this many milliseconds and fire timers.
        Advance(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => Just(Op::SendAccess),
            2 => prop::sample::select(vec![
                acct_status_type::START,
                acct_status_type::INTERIM_UPDATE,
                acct_status_type::STOP
            ])
            .prop_map(Op::SendAcct),
            4 => any::<usize>().prop_map(Op::Answer),
            2 => any::<usize>().prop_map(Op::Lose),
            2 => (0u64..40_000).prop_map(Op::Advance),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Whatever the loss and timing, every request ends in exactly one event, no more than
        /// `max_outstanding` are in flight, and nothing is left behind.
        #[test]
        fn every_request_ends_exactly_once(ops in prop::collection::vec(op(), 1..200)) {
            let a = "192.0.2.1:1812";
            let b = "192.0.2.2:1812";
            let acct_srv = "192.0.2.3:1813";
            let mut cfg = config(vec![
                server(a, ServerKind::Auth),
                server(b, ServerKind::Auth),
                server(acct_srv, ServerKind::Acct),
            ]);
            cfg.max_outstanding = 8;
            cfg.acct_queue_limit = 5;
            let mut c = Client::with_seed(cfg, 3).unwrap();
            let mut now = Instant::now();
            let mut sent = Vec::new();
            let mut ended: HashMap<RequestId, usize> = HashMap::new();
            let mut wire: Vec<(SocketAddr, Vec<u8>)> = Vec::new();
            let note = |c: &mut Client, ended: &mut HashMap<RequestId, usize>| {
                for e in events(c) {
                    let id = match e {
                        ClientEvent::Response { id, .. } | ClientEvent::Timeout { id } | ClientEvent::Dropped { id } => id,
                    };
                    *ended.entry(id).or_default() += 1;
                }
            };
            for (n, op) in ops.into_iter().enumerate() {
                match op {
                    Op::SendAccess => sent.push(c.send(now, access(&format!("u{n}"))).unwrap()),
                    Op::SendAcct(s) => sent.push(c.send(now, acct(s, &format!("s{n}"))).unwrap()),
                    Op::Answer(i) if !wire.is_empty() => {
                        let (to, req) = wire.remove(i % wire.len());
                        c.handle_datagram(now, to, &answer(&req, SECRET));
                    }
                    Op::Lose(i) if !wire.is_empty() => {
                        wire.remove(i % wire.len());
                    }
                    Op::Advance(ms) => {
                        now += Duration::from_millis(ms);
                        c.handle_timeout(now);
                    }
                    _ => {}
                }
                wire.extend(drain(&mut c));
                note(&mut c, &mut ended);
                prop_assert!(c.in_flight() <= 8);
            }
            // Then a perfect network until everything has ended.
            for _ in 0..10_000 {
                for (to, req) in std::mem::take(&mut wire) {
                    c.handle_datagram(now, to, &answer(&req, SECRET));
                }
                wire.extend(drain(&mut c));
                note(&mut c, &mut ended);
                if wire.is_empty() {
                    match c.poll_timeout() {
                        Some(t) => {
                            now = now.max(t);
                            c.handle_timeout(now);
                            wire.extend(drain(&mut c));
                        }
                        None => break,
                    }
                }
            }
            prop_assert_eq!(c.in_flight(), 0);
            prop_assert_eq!(c.queued(), (0, 0));
            prop_assert_eq!(c.poll_timeout(), None);
            for id in &sent {
                prop_assert_eq!(ended.get(id).copied(), Some(1), "request {:?}", id);
            }
            prop_assert_eq!(ended.len(), sent.len());
        }
    }
}
