//! Fuzz the PPPoE codec and the access concentrator: no input may panic, whatever parses must
//! re-encode to something that parses to the same value, and the AC's tables stay within its
//! configured limits.
//!
//! Run: `cargo +nightly fuzz run pppoe` from the repository root.

#![no_main]

use std::time::{Duration, Instant};

use l2tp_pppoe::ac::{AccessConcentrator, Config, Event};
use l2tp_pppoe::codec::{Discovery, SessionFrame};
use l2tp_pppoe::proxy::{Direction, ProxyLcp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Discovery::parse(data) {
        let bytes = p.to_bytes().expect("a parsed packet re-encodes");
        assert_eq!(Discovery::parse(&bytes).expect("re-encoded packet parses"), p);
    }
    if let Ok(f) = SessionFrame::parse(data) {
        let mut out = Vec::new();
        SessionFrame::emit(&f.eth, f.session_id, f.ppp, &mut out).expect("re-encodes");
        assert_eq!(SessionFrame::parse(&out).expect("re-encoded frame parses"), f);
    }
    let mut proxy = ProxyLcp::default();
    proxy.observe(Direction::FromClient, data);
    proxy.observe(Direction::ToClient, data);
    // The input as a sequence of frames: [len u8][ms u8][frame bytes]...
    let config = Config {
        mac: [0x02, 0xac, 0, 0, 0, 1],
        cookie_secret: b"fuzz".to_vec(),
        max_sessions: 16,
        max_sessions_per_mac: 2,
        ..Config::default()
    };
    let start = Instant::now();
    let Ok(mut ac) = AccessConcentrator::new(config, start) else {
        return;
    };
    let mut now = start;
    let mut rest = data;
    while let [len, ms, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (frame, next) = tail.split_at(n);
        now += Duration::from_millis(u64::from(*ms) * 100);
        ac.handle_frame(now, frame);
        while ac.poll_transmit().is_some() {}
        while let Some(ev) = ac.poll_event() {
            if let Event::SessionRequested { session_id, .. } = ev {
                let _ = ac.accept(session_id);
            }
        }
        let sz = ac.table_sizes();
        assert!(sz.sessions <= 16 && sz.requests == sz.sessions && sz.macs <= sz.sessions);
        rest = next;
    }
});
