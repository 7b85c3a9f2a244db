//! Fuzz the data path: for a session configuration taken from the first input bytes, feed the
//! rest to `data_key` and `DataSession::decapsulate` as a stream of datagrams. No input may
//! panic; each datagram counts exactly one event; a delivered payload lies inside the datagram
//! and the datagram's key is the session's.
//!
//! Run: `cargo +nightly fuzz run data` from the repository root.

#![no_main]

use l2tp_proto::data::{data_key, DataConfig, DataSession, L2Spec};
use l2tp_proto::wire::{Encap, Version};
use libfuzzer_sys::fuzz_target;

fn config(b: u8) -> DataConfig {
    let v3 = b & 1 != 0;
    let cookie = |bits: u8| match bits % 3 {
        0 => vec![],
        1 => vec![0xc0, 0x0c, 0x1e, 0x55],
        _ => vec![1, 2, 3, 4, 5, 6, 7, 8],
    };
    let l2spec = if v3 && b & 2 != 0 {
        L2Spec::Default
    } else {
        L2Spec::None
    };
    let seq = b & 4 != 0 && (!v3 || l2spec == L2Spec::Default);
    DataConfig {
        version: if v3 { Version::V3 } else { Version::V2 },
        encap: if v3 && b & 8 != 0 { Encap::Ip } else { Encap::Udp },
        tunnel_id: 0x1234,
        peer_tunnel_id: 0x4321,
        session_id: 0x5678,
        peer_session_id: 0x8765,
        cookie: if v3 { cookie(b >> 4) } else { vec![] },
        peer_cookie: if v3 { cookie(b >> 6) } else { vec![] },
        l2spec,
        send_seq: seq,
        recv_seq: seq && b & 0x10 != 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&b, rest)) = data.split_first() else {
        return;
    };
    let cfg = config(b);
    let encap = cfg.encap;
    let mut s = DataSession::new(cfg)
        .expect("fuzz configurations are valid")
        .with_lns_mode(b & 0x20 == 0);
    // Datagrams: a length byte, then that many bytes.
    let mut rest = rest;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        let (d, next) = tail.split_at(n);
        rest = next;
        let _ = data_key(d, encap);
        let before = *s.stats();
        let r = s.decapsulate(d);
        let after = *s.stats();
        let events = |x: &l2tp_proto::data::DataStats| x.rx_packets + x.rx_errors + x.rx_invalid;
        assert_eq!(events(&after), events(&before) + 1);
        if let Ok(p) = r {
            assert!(p.len() <= d.len());
            assert_eq!(data_key(d, encap), Some(s.key()));
        }
    }
});
