//! Measure the AC's discovery cost on one core: PADI -> PADO, forged-cookie PADR (the flood
//! case), and full PADR -> accept -> PADS session setups.
//!
//! Run: `cargo run --release -p l2tp-pppoe --example discovery_rate`

use std::time::Instant;

use l2tp_pppoe::ac::{AccessConcentrator, Config, Event};
use l2tp_pppoe::codec::{
    tag_type, Code, Discovery, EthHeader, Tag, BROADCAST, ETHERTYPE_DISCOVERY,
};

const AC: [u8; 6] = [0x02, 0xac, 0, 0, 0, 1];
const N: u32 = 100_000;

fn frame(dst: [u8; 6], src: [u8; 6], code: Code, tags: Vec<Tag>) -> Vec<u8> {
    let eth = EthHeader {
        dst,
        src,
        vlan: None,
        ether_type: ETHERTYPE_DISCOVERY,
    };
    Discovery {
        eth,
        code,
        session_id: 0,
        tags,
    }
    .to_bytes()
    .expect("emit")
}

fn mac(i: u32) -> [u8; 6] {
    let b = i.to_be_bytes();
    [0x02, 0xc1, b[0], b[1], b[2], b[3]]
}

fn main() {
    let config = Config {
        mac: AC,
        cookie_secret: b"bench".to_vec(),
        max_sessions: 0xfffe,
        max_sessions_per_mac: 1,
        rate_limit: None,
        ..Config::default()
    };
    let t0 = Instant::now();
    let mut ac = AccessConcentrator::new(config, t0).expect("config");
    let padis: Vec<Vec<u8>> = (0..N)
        .map(|i| {
            frame(
                BROADCAST,
                mac(i),
                Code::Padi,
                vec![
                    Tag::ServiceName(vec![]),
                    Tag::HostUniq(i.to_be_bytes().to_vec()),
                ],
            )
        })
        .collect();

    let start = Instant::now();
    let mut cookies = Vec::with_capacity(N as usize);
    for f in &padis {
        ac.handle_frame(t0, f);
        let pado = Discovery::parse(&ac.poll_transmit().expect("PADO")).expect("parse");
        cookies.push(pado.find(tag_type::AC_COOKIE).cloned().expect("cookie"));
    }
    let padi_s = start.elapsed().as_secs_f64();

    let forged: Vec<Vec<u8>> = (0..N)
        .map(|i| {
            frame(
                AC,
                mac(i),
                Code::Padr,
                vec![
                    Tag::ServiceName(vec![]),
                    Tag::AcCookie(vec![7; 20]),
                    Tag::HostUniq(i.to_be_bytes().to_vec()),
                ],
            )
        })
        .collect();
    let start = Instant::now();
    for f in &forged {
        ac.handle_frame(t0, f);
    }
    let forged_s = start.elapsed().as_secs_f64();
    assert_eq!(ac.table_sizes().sessions, 0);

    let n_setup = 60_000u32;
    let padrs: Vec<Vec<u8>> = (0..n_setup)
        .map(|i| {
            frame(
                AC,
                mac(i),
                Code::Padr,
                vec![
                    Tag::ServiceName(vec![]),
                    cookies[i as usize].clone(),
                    Tag::HostUniq(i.to_be_bytes().to_vec()),
                ],
            )
        })
        .collect();
    let start = Instant::now();
    for f in &padrs {
        ac.handle_frame(t0, f);
        let Some(Event::SessionRequested { session_id, .. }) = ac.poll_event() else {
            panic!("no request")
        };
        ac.accept(session_id).expect("accept");
        ac.poll_transmit().expect("PADS");
    }
    let setup_s = start.elapsed().as_secs_f64();
    assert_eq!(ac.table_sizes().sessions, n_setup as usize);

    println!(
        "PADI->PADO (incl. parsing the PADO): {:.0}/s ({:.2} us each)",
        f64::from(N) / padi_s,
        padi_s * 1e6 / f64::from(N)
    );
    println!(
        "forged-cookie PADR dropped:          {:.0}/s ({:.2} us each)",
        f64::from(N) / forged_s,
        forged_s * 1e6 / f64::from(N)
    );
    println!(
        "PADR->request->accept->PADS:         {:.0}/s ({:.2} us each), {} sessions held",
        f64::from(n_setup) / setup_s,
        setup_s * 1e6 / f64::from(n_setup),
        n_setup
    );
}
