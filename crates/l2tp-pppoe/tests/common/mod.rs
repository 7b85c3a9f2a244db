//! Helpers shared by the integration tests: a client that builds Discovery frames.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use l2tp_pppoe::ac::{AccessConcentrator, Config, RateLimit};
use l2tp_pppoe::codec::{
    tag_type, Code, Discovery, EthHeader, Tag, BROADCAST, ETHERTYPE_DISCOVERY,
};

pub const AC_MAC: [u8; 6] = [0x02, 0xac, 0, 0, 0, 1];
pub const CLIENT: [u8; 6] = [0x02, 0xc1, 0, 0, 0, 1];

pub fn config() -> Config {
    Config {
        mac: AC_MAC,
        ac_name: "test-ac".into(),
        services: vec!["isp-a".into(), "isp-b".into()],
        cookie_secret: b"test secret".to_vec(),
        cookie_lifetime: Duration::from_secs(30),
        max_sessions: 100,
        max_sessions_per_mac: 2,
        rate_limit: Some(RateLimit {
            per_second: 1000,
            burst: 1000,
        }),
        max_payload: None,
    }
}

pub fn ac(config: Config) -> (AccessConcentrator, Instant) {
    let now = Instant::now();
    (AccessConcentrator::new(config, now).expect("config"), now)
}

pub fn frame(dst: [u8; 6], src: [u8; 6], code: Code, session_id: u16, tags: Vec<Tag>) -> Vec<u8> {
    Discovery {
        eth: EthHeader {
            dst,
            src,
            vlan: None,
            ether_type: ETHERTYPE_DISCOVERY,
        },
        code,
        session_id,
        tags,
    }
    .to_bytes()
    .expect("emit")
}

pub fn padi(src: [u8; 6], service: &str, host_uniq: Option<&[u8]>) -> Vec<u8> {
    let mut tags = vec![Tag::ServiceName(service.as_bytes().to_vec())];
    if let Some(h) = host_uniq {
        tags.push(Tag::HostUniq(h.to_vec()));
    }
    frame(BROADCAST, src, Code::Padi, 0, tags)
}

pub fn padr(src: [u8; 6], service: &str, host_uniq: Option<&[u8]>, cookie: &[u8]) -> Vec<u8> {
    let mut tags = vec![
        Tag::ServiceName(service.as_bytes().to_vec()),
        Tag::AcCookie(cookie.to_vec()),
    ];
    if let Some(h) = host_uniq {
        tags.push(Tag::HostUniq(h.to_vec()));
    }
    frame(AC_MAC, src, Code::Padr, 0, tags)
}

/// The one frame the AC queued, parsed; panics (test failure) if there is not exactly one.
pub fn one_tx(ac: &mut AccessConcentrator) -> Discovery {
    let f = ac.poll_transmit().expect("a frame was sent");
    assert!(ac.poll_transmit().is_none(), "exactly one frame expected");
    Discovery::parse(&f).expect("our frame parses")
}

pub fn cookie_of(pado: &Discovery) -> Vec<u8> {
    match pado.find(tag_type::AC_COOKIE) {
        Some(Tag::AcCookie(c)) => c.clone(),
        other => panic!("PADO without AC-Cookie: {other:?}"),
    }
}

/// PADI -> PADO -> cookie, for `src`.
pub fn discover(
    ac: &mut AccessConcentrator,
    now: Instant,
    src: [u8; 6],
    host_uniq: Option<&[u8]>,
) -> Vec<u8> {
    ac.handle_frame(now, &padi(src, "", host_uniq));
    cookie_of(&one_tx(ac))
}
