//! Cost of PPP on the control path: a whole LNS/LAC negotiation (LCP, CHAP-MD5 checked with
//! `verify_local`, IPCP, IPV6CP) in memory, and one LCP Echo-Request answered.
//! Run: `cargo bench -p l2tp-ppp --bench negotiate`.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use l2tp_ppp::{verify_local, AuthMethod, Event, IpcpConfig, Ppp, PppConfig, Role};

fn configs() -> (PppConfig, PppConfig) {
    let lns = PppConfig {
        role: Role::Authenticator,
        auth_methods: vec![AuthMethod::ChapMd5],
        ipcp: Some(IpcpConfig {
            local: Ipv4Addr::new(10, 0, 0, 1),
            peer: Some(Ipv4Addr::new(10, 0, 0, 2)),
            dns: [None, None],
        }),
        ipv6cp: true,
        ..PppConfig::default()
    };
    let lac = PppConfig {
        role: Role::Peer,
        auth_methods: vec![AuthMethod::ChapMd5],
        credentials: Some(("alice".into(), "pw".into())),
        ipcp: Some(IpcpConfig {
            local: Ipv4Addr::UNSPECIFIED,
            peer: None,
            dns: [None, None],
        }),
        ipv6cp: true,
        ..PppConfig::default()
    };
    (lns, lac)
}

/// Run both engines until neither has anything to send; returns true once both IPCPs are up.
fn negotiate(now: Instant, seed: u64) -> (Ppp, Ppp) {
    let (a, b) = configs();
    let mut lns = Ppp::new(a, now, seed);
    let mut lac = Ppp::new(b, now, seed + 1);
    let mut up = 0;
    for _ in 0..100 {
        let mut moved = false;
        while let Some(f) = lns.poll_transmit() {
            lac.handle_frame(now, &f);
            moved = true;
        }
        while let Some(f) = lac.poll_transmit() {
            lns.handle_frame(now, &f);
            moved = true;
        }
        while let Some(e) = lns.poll_event() {
            match e {
                Event::Authenticate(r) => lns.auth_verdict(now, verify_local(&r, "pw")),
                Event::IpcpUp { .. } => up += 1,
                _ => {}
            }
        }
        while let Some(e) = lac.poll_event() {
            if let Event::IpcpUp { .. } = e {
                up += 1;
            }
        }
        if !moved {
            break;
        }
    }
    assert_eq!(up, 2, "both IPCPs up");
    (lns, lac)
}

fn bench(c: &mut Criterion) {
    let now = Instant::now();
    c.bench_function("negotiate_lcp_chap_ipcp_ipv6cp", |b| {
        let mut seed = 0;
        b.iter(|| {
            seed += 2;
            negotiate(now, seed)
        })
    });
    let (mut lns, _lac) = negotiate(now, 1);
    let echo = [0xc0, 0x21, 9, 1, 0, 8, 0x12, 0x34, 0x56, 0x78];
    c.bench_function("lcp_echo_request_answered", |b| {
        b.iter(|| {
            lns.handle_frame(now + Duration::from_secs(1), &echo);
            lns.poll_transmit().expect("Echo-Reply")
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
