//! Codec and client cost: Access-Accept decode+verify, Access-Request encode, and full
//! request/response round trips through the client (the server side uses the same codec).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use l2tp_radius::client::{Client, ClientConfig, ClientEvent, Request, Server, ServerKind};
use l2tp_radius::dict::{attr as at, code, ms, nas_port_type};
use l2tp_radius::{Attr, Packet, Value};

const SECRET: &[u8] = b"bench-secret";

fn accept(req: &[u8]) -> Vec<u8> {
    let auth: [u8; 16] = req[4..20].try_into().unwrap();
    let mut r = Packet::new(code::ACCESS_ACCEPT, req[1]);
    r.attrs = vec![
        Attr::ipv4(at::FRAMED_IP_ADDRESS, "10.0.0.1".parse().unwrap()),
        Attr::integer(at::SESSION_TIMEOUT, 86400),
        Attr::bytes(at::CLASS, "class-0123456789"),
        Attr::ms(
            ms::MS_MPPE_SEND_KEY,
            Value::MppeKey {
                salt: 0x8001,
                key: vec![7; 16],
            },
        ),
        Attr::ms(
            ms::MS_MPPE_RECV_KEY,
            Value::MppeKey {
                salt: 0x8002,
                key: vec![8; 16],
            },
        ),
        Attr {
            typ: at::MESSAGE_AUTHENTICATOR,
            value: Value::MessageAuthenticator([0; 16]),
        },
    ];
    r.encode_response(SECRET, &auth).unwrap()
}

fn access(i: u32) -> Request {
    Request::access(vec![
        Attr::bytes(at::USER_NAME, format!("user{i}@example.net")),
        Attr::user_password("password123"),
        Attr::integer(at::NAS_PORT_TYPE, nas_port_type::VIRTUAL),
        Attr::integer(at::NAS_PORT, i),
        Attr::bytes(at::CALLING_STATION_ID, "192.0.2.7"),
    ])
}

fn codec(c: &mut Criterion) {
    let mut req = Packet::new(code::ACCESS_REQUEST, 1);
    req.authenticator = [5; 16];
    req.attrs = vec![
        Attr::bytes(at::USER_NAME, "user@example.net"),
        Attr::user_password("password123"),
    ];
    req.attrs.push(Attr {
        typ: at::MESSAGE_AUTHENTICATOR,
        value: Value::MessageAuthenticator([0; 16]),
    });
    let wire = req.encode_request(SECRET).unwrap();
    let resp = accept(&wire);
    let mut g = c.benchmark_group("codec");
    g.throughput(Throughput::Elements(1));
    g.bench_function("encode_access_request", |b| {
        b.iter(|| req.encode_request(SECRET).unwrap())
    });
    g.bench_function("decode_verify_access_accept", |b| {
        b.iter(|| Packet::decode_response(&resp, SECRET, &[5; 16]).unwrap())
    });
    g.finish();
}

fn client(c: &mut Criterion) {
    let addr: SocketAddr = "192.0.2.1:1812".parse().unwrap();
    let mut g = c.benchmark_group("client");
    let n = 10_000u32;
    g.throughput(Throughput::Elements(u64::from(n)));
    g.sample_size(10);
    g.bench_with_input(BenchmarkId::new("access_round_trips", n), &n, |b, &n| {
        b.iter(|| {
            let mut cl = Client::with_seed(
                ClientConfig {
                    servers: vec![Server {
                        addr,
                        secret: SECRET.to_vec(),
                        kind: ServerKind::Auth,
                    }],
                    timeout: Duration::from_secs(3),
                    retries: 2,
                    dead_time: Duration::from_secs(30),
                    max_outstanding: 256,
                    acct_queue_limit: 1024,
                },
                1,
            )
            .unwrap();
            let now = Instant::now();
            let mut done = 0;
            for i in 0..n {
                cl.send(now, access(i)).unwrap();
                while let Some((_, req)) = cl.poll_transmit() {
                    cl.handle_datagram(now, addr, &accept(&req));
                }
                while let Some(ev) = cl.poll_event() {
                    assert!(matches!(ev, ClientEvent::Response { .. }));
                    done += 1;
                }
            }
            assert_eq!(done, n);
        })
    });
    g.finish();
}

criterion_group!(benches, codec, client);
criterion_main!(benches);
