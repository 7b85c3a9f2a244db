//! Properties over many seeds of the simulated network: with heavy loss, reordering,
//! duplication and bit corruption both ends agree (both established or both failed) within a
//! bounded virtual time, and nothing leaks; 10,000 sessions through one tunnel.

#[path = "sim_harness.rs"]
mod sim;

use std::time::Duration;

use l2tp_proto::endpoint::{DigestAlg, EndpointConfig, Event, SessionConfig, TunnelId};
use l2tp_proto::wire::{pw_type, Encap, ResultCode, Version};
use sim::*;

/// Retransmission settings of the property runs: RFC 3931 §4.2's recommended 10 retries,
/// HELLO every 10 s so that a peer left behind detects the failure.
const RETRIES: u32 = 10;
const HELLO: Duration = Duration::from_secs(10);
/// Bound on convergence: a full retransmission cycle (1+2+4+8+8·7 = 71 s) for establishment,
/// then a HELLO interval and another full cycle for the peer to notice, with margin.
const BOUND: Duration = Duration::from_secs(200);

fn sim_for(seed: u64, version: Version, digest: bool) -> Sim {
    let lns = EndpointConfig {
        accept_v2_incoming: true,
        accept_v3_incoming: true,
        host_name: b"lns".to_vec(),
        max_retries: RETRIES,
        hello_interval: Some(HELLO),
        window_size: 8,
        secret: digest.then(|| b"prop".to_vec()),
        digest: digest.then_some(DigestAlg::HmacMd5),
        ..EndpointConfig::default()
    };
    let mut s = Sim::with(seed, EndpointConfig::default(), lns);
    let now = s.now;
    let mut cfg = match version {
        Version::V2 => s.tunnel_cfg(),
        Version::V3 => s.tunnel_cfg_v3(Encap::Udp),
    };
    cfg.max_retries = RETRIES;
    cfg.hello_interval = Some(HELLO);
    cfg.window_size = 8;
    if digest {
        cfg.secret = Some(b"prop".to_vec());
        cfg.digest = Some(DigestAlg::HmacSha1);
    }
    let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    let sc = SessionConfig {
        pseudowire: match version {
            Version::V2 => pw_type::PPP,
            Version::V3 => pw_type::ETHERNET_VLAN,
        },
        ..SessionConfig::default()
    };
    s.nodes[LAC].ep.open_session(now, t, sc).unwrap();
    s
}

#[derive(Debug, PartialEq)]
enum Outcome {
    BothUp,
    BothFailed,
}

/// Runs until both ends have the session up (and no tunnel down) or both have reported their
/// tunnel down (or hold none: the peer may never have heard of it); returns the outcome and the virtual time it took.
fn converge(s: &mut Sim) -> Option<(Outcome, Duration)> {
    let start = s.elapsed();
    let ok = s.run_until(BOUND, |s| {
        let up = |n| s.count(n, is_session_up) == 1 && s.count(n, is_tunnel_down) == 0;
        // Failed: reported down, or never got far enough to hold a tunnel at all.
        let down =
            |n: usize| s.count(n, is_tunnel_down) >= 1 || s.nodes[n].ep.tunnel_ids().is_empty();
        (up(LAC) && up(LNS)) || (down(LAC) && down(LNS))
    });
    if !ok {
        return None;
    }
    let o = if s.count(LAC, is_tunnel_down) == 0 {
        Outcome::BothUp
    } else {
        Outcome::BothFailed
    };
    Some((o, s.elapsed() - start))
}

/// Tears everything down and checks that no state is left: every SessionUp has its
/// SessionDown, every tunnel one TunnelDown, no session IDs reserved, no tunnel records.
fn teardown_and_check_no_leak(s: &mut Sim, ctx: &str) {
    let now = s.now;
    for t in s.nodes[LAC].ep.tunnel_ids() {
        let _ = s.nodes[LAC].ep.close_tunnel(
            now,
            TunnelId(t.0),
            ResultCode {
                result: 1,
                error: None,
                message: None,
            },
        );
    }
    s.run_for(Duration::from_secs(400));
    for n in [LAC, LNS] {
        assert_eq!(s.nodes[n].ep.session_counts(), (0, 0), "{ctx} node {n}");
        assert!(s.nodes[n].ep.tunnel_ids().is_empty(), "{ctx} node {n}");
        assert_eq!(s.nodes[n].ep.poll_timeout(), None, "{ctx} node {n}");
        let ups = s.count(n, is_session_up);
        let downs = s.count(n, |e| matches!(e, Event::SessionDown { .. }));
        assert!(downs >= ups, "{ctx} node {n}: {ups} up, {downs} down");
        assert!(s.count(n, is_tunnel_down) <= 1, "{ctx} node {n}");
    }
}

fn lossy_property(version: Version, seeds: std::ops::Range<u64>, faults: Faults) -> (usize, usize) {
    let (mut up, mut failed) = (0, 0);
    for seed in seeds {
        let mut s = sim_for(seed, version, false);
        s.faults = faults.clone();
        let ctx = format!("{version:?} seed {seed}");
        let Some((o, _)) = converge(&mut s) else {
            panic!(
                "{ctx}: no agreement within {BOUND:?}: {:?} / {:?}",
                s.events(LAC),
                s.events(LNS)
            );
        };
        match o {
            Outcome::BothUp => up += 1,
            Outcome::BothFailed => failed += 1,
        }
        teardown_and_check_no_leak(&mut s, &ctx);
    }
    (up, failed)
}

#[test]
fn thirty_percent_loss_with_reordering_and_duplication_both_ends_agree_v2() {
    let faults = Faults {
        drop: 0.3,
        duplicate: 0.1,
        jitter: Duration::from_millis(50),
        corrupt: 0.0,
    };
    let (up, _) = lossy_property(Version::V2, 0..150, faults);
    eprintln!("{up} of 150 established");
    assert!(up >= 120, "most runs establish: {up}");
}

#[test]
fn thirty_percent_loss_with_reordering_and_duplication_both_ends_agree_v3() {
    let faults = Faults {
        drop: 0.3,
        duplicate: 0.1,
        jitter: Duration::from_millis(50),
        corrupt: 0.0,
    };
    let (up, _) = lossy_property(Version::V3, 1000..1150, faults);
    eprintln!("{up} of 150 established");
    assert!(up >= 120, "most runs establish: {up}");
}

/// Bit corruption: v3 with Message Digest catches every flipped bit (or the codec rejects
/// the datagram), retransmission recovers.
#[test]
fn bit_corruption_is_rejected_and_retransmission_recovers_v3_digest() {
    let mut caught = 0;
    for seed in 0..60 {
        let mut s = sim_for(seed, Version::V3, true);
        s.faults = Faults {
            corrupt: 0.2,
            jitter: Duration::from_millis(20),
            ..Faults::default()
        };
        let ctx = format!("seed {seed}");
        let r = converge(&mut s);
        assert!(matches!(r, Some((Outcome::BothUp, _))), "{ctx}: {r:?}");
        for n in [LAC, LNS] {
            let st = s.nodes[n].ep.stats();
            caught += st.auth_failures + st.malformed;
        }
        teardown_and_check_no_leak(&mut s, &ctx);
    }
    assert!(caught > 20, "{caught}");
}

/// Bit corruption without any integrity check (v2; UDP's checksum would catch these in real
/// life): never a panic, and everything is cleaned up in the end.
#[test]
fn bit_corruption_v2_never_panics_and_leaks_nothing() {
    for seed in 0..60 {
        let mut s = sim_for(seed, Version::V2, false);
        s.faults = Faults {
            corrupt: 0.2,
            ..Faults::default()
        };
        s.run_for(BOUND);
        teardown_and_check_no_leak(&mut s, &format!("seed {seed}"));
    }
}

/// 10,000 sessions set up and torn down through one tunnel, in both versions.
#[test]
fn ten_thousand_sessions_through_one_tunnel_set_up_and_torn_down() {
    const N: usize = 10_000;
    for version in [Version::V2, Version::V3] {
        let mut s = sim_for(77, version, false);
        assert!(s.run_until(Duration::from_secs(5), |s| s.count(LAC, is_session_up) == 1));
        let t = s.nodes[LAC].ep.tunnel_ids()[0];
        let now = s.now;
        let mut ids = Vec::with_capacity(N);
        for _ in 1..N {
            let sc = SessionConfig {
                pseudowire: match version {
                    Version::V2 => pw_type::PPP,
                    Version::V3 => pw_type::ETHERNET,
                },
                ..SessionConfig::default()
            };
            ids.push(s.nodes[LAC].ep.open_session(now, t, sc).unwrap());
        }
        assert!(
            s.run_until(Duration::from_secs(600), |s| s.count(LNS, is_session_up)
                == N
                && s.count(LAC, is_session_up) == N),
            "{version:?}: {} / {}",
            s.count(LAC, is_session_up),
            s.count(LNS, is_session_up)
        );
        assert_eq!(s.nodes[LAC].ep.session_counts().0, N);
        assert_eq!(s.nodes[LNS].ep.session_counts().0, N);
        let now = s.now;
        let rc = ResultCode {
            result: 3,
            error: None,
            message: None,
        };
        for sid in ids {
            s.nodes[LAC]
                .ep
                .close_session(now, t, sid, rc.clone())
                .unwrap();
        }
        assert!(s.run_until(Duration::from_secs(600), |s| {
            s.nodes[LNS].ep.session_counts() == (1, usize::from(version == Version::V3))
        }));
        assert_eq!(
            s.nodes[LAC].ep.session_counts(),
            (1, usize::from(version == Version::V3))
        );
        assert_eq!(s.nodes[LAC].ep.stats().retransmits, 0, "{version:?}");
        teardown_and_check_no_leak(&mut s, &format!("{version:?}"));
    }
}

/// Beyond what the channel can carry (70 % loss): runs that fail must fail on both ends.
#[test]
fn seventy_percent_loss_failures_are_reported_on_both_ends() {
    let faults = Faults {
        drop: 0.7,
        duplicate: 0.1,
        jitter: Duration::from_millis(50),
        corrupt: 0.0,
    };
    let (up, failed) = lossy_property(Version::V2, 500..560, faults);
    eprintln!("{up} established, {failed} failed on both ends");
    assert!(failed > 0);
}
