//! Fuzz the PPP engine: the input is a sequence of frames (1-byte length prefix each, the
//! first byte chooses the role), with a timer step after each. Contract: no panic.
#![no_main]

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use l2tp_ppp::{AuthMethod, IpcpConfig, Ppp, PppConfig, Role};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let role = if sel & 1 == 0 { Role::Authenticator } else { Role::Peer };
    let cfg = PppConfig {
        role,
        auth_methods: vec![AuthMethod::MsChapV2, AuthMethod::ChapMd5, AuthMethod::Pap],
        credentials: Some(("user".into(), "pass".into())),
        ipcp: Some(IpcpConfig {
            local: Ipv4Addr::new(10, 0, 0, 1),
            peer: (sel & 2 == 0).then_some(Ipv4Addr::new(10, 0, 0, 2)),
            dns: [Some(Ipv4Addr::new(10, 0, 0, 53)), None],
        }),
        ipv6cp: sel & 4 == 0,
        ..PppConfig::default()
    };
    let t0 = Instant::now();
    let mut now = t0;
    let mut p = Ppp::new(cfg, t0, u64::from(sel));
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        let (frame, next) = tail.split_at(n);
        rest = next;
        let _ = l2tp_ppp::classify(frame);
        p.handle_frame(now, frame);
        now += Duration::from_millis(u64::from(len) * 50);
        p.handle_timeout(now);
        while p.poll_transmit().is_some() {}
        while p.poll_event().is_some() {}
    }
    let _ = p.state();
});
