//! Two engines, authenticator (LNS) and peer (LAC), over a simulated link with virtual time,
//! seeded loss and duplication (quinn-proto `Pair` style). Nothing sleeps.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use l2tp_ppp::fsm::State;
use l2tp_ppp::{
    verify_local, AuthMethod, AuthRequest, Event, IpcpConfig, Phase, Ppp, PppConfig, Role, Verdict,
};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const LNS_ADDR: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);
const LAC_ADDR: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 10);
const DNS1: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 53);
const DNS2: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 54);

fn lns_config(methods: Vec<AuthMethod>) -> PppConfig {
    PppConfig {
        role: Role::Authenticator,
        auth_methods: methods,
        echo_interval: Some(Duration::from_secs(10)),
        echo_failures: 3,
        ipcp: Some(IpcpConfig {
            local: LNS_ADDR,
            peer: Some(LAC_ADDR),
            dns: [Some(DNS1), Some(DNS2)],
        }),
        ipv6cp: true,
        name: "lns.example".into(),
        ..PppConfig::default()
    }
}

fn lac_config(methods: Vec<AuthMethod>, password: &str) -> PppConfig {
    PppConfig {
        role: Role::Peer,
        auth_methods: methods,
        credentials: Some(("alice".into(), password.into())),
        echo_interval: None,
        ipcp: Some(IpcpConfig {
            local: Ipv4Addr::UNSPECIFIED,
            peer: None,
            dns: [Some(Ipv4Addr::UNSPECIFIED), Some(Ipv4Addr::UNSPECIFIED)],
        }),
        ipv6cp: true,
        name: "lac.example".into(),
        ..PppConfig::default()
    }
}

struct Pair {
    now: Instant,
    t0: Instant,
    lns: Ppp,
    lac: Ppp,
    /// Frames in flight: (deliver at, to LNS?, frame).
    wire: VecDeque<(Instant, bool, Vec<u8>)>,
    rng: SmallRng,
    loss: f64,
    dup: f64,
    /// Drop everything the LAC sends (dead peer).
    lac_mute: bool,
    lns_events: Vec<Event>,
    lac_events: Vec<Event>,
    password: String,
    /// The runtime's credential check (local secrets by default; a test can play RADIUS).
    check: fn(&AuthRequest, &str) -> Verdict,
    /// An address the authentication server assigned (RADIUS Framed-IP-Address), given to
    /// the engine before the verdict.
    assigned: Option<Ipv4Addr>,
    frames: usize,
}

impl Pair {
    fn new(lns: PppConfig, lac: PppConfig, seed: u64, loss: f64, dup: f64) -> Pair {
        let t0 = Instant::now();
        Pair {
            now: t0,
            t0,
            lns: Ppp::new(lns, t0, seed),
            lac: Ppp::new(lac, t0, seed ^ 0x5555),
            wire: VecDeque::new(),
            rng: SmallRng::seed_from_u64(seed),
            loss,
            dup,
            lac_mute: false,
            lns_events: Vec::new(),
            lac_events: Vec::new(),
            password: "correct horse".into(),
            check: verify_local,
            assigned: None,
            frames: 0,
        }
    }

    fn collect(&mut self) {
        let latency = Duration::from_millis(10);
        for to_lns in [false, true] {
            let src = if to_lns { &mut self.lac } else { &mut self.lns };
            while let Some(f) = src.poll_transmit() {
                self.frames += 1;
                if (to_lns && self.lac_mute) || self.rng.gen_bool(self.loss) {
                    continue;
                }
                if self.rng.gen_bool(self.dup) {
                    self.wire.push_back((self.now + latency, to_lns, f.clone()));
                }
                self.wire.push_back((self.now + latency, to_lns, f));
            }
        }
        while let Some(e) = self.lns.poll_event() {
            if let Event::Authenticate(req) = &e {
                let v = (self.check)(req, &self.password);
                if let Some(a) = self.assigned {
                    self.lns.set_ipcp_peer_address(a);
                }
                self.lns.auth_verdict(self.now, v);
            }
            self.lns_events.push(e);
        }
        while let Some(e) = self.lac.poll_event() {
            self.lac_events.push(e);
        }
    }

    /// One step: deliver the next frame or fire the next timer. `false` when nothing is left.
    fn step(&mut self) -> bool {
        self.collect();
        let next_timer = [self.lns.poll_timeout(), self.lac.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let next_frame = self.wire.front().map(|w| w.0);
        let frame_first = match (next_frame, next_timer) {
            (Some(f), Some(t)) => f <= t,
            (Some(_), None) => true,
            _ => false,
        };
        match (next_frame, next_timer) {
            _ if frame_first => {
                let (at, to_lns, frame) = self.wire.pop_front().unwrap();
                self.now = self.now.max(at);
                if to_lns {
                    self.lns.handle_frame(self.now, &frame);
                } else {
                    self.lac.handle_frame(self.now, &frame);
                }
            }
            (_, Some(t)) => {
                self.now = self.now.max(t);
                self.lns.handle_timeout(self.now);
                self.lac.handle_timeout(self.now);
            }
            _ => return false,
        }
        self.collect();
        true
    }

    /// Step until `done` holds or virtual time passes `limit`.
    fn run_until(&mut self, limit: Duration, done: impl Fn(&Pair) -> bool) -> bool {
        while self.now - self.t0 < limit {
            if done(self) {
                return true;
            }
            if !self.step() {
                return done(self);
            }
        }
        done(self)
    }
}

fn ipcp_up(events: &[Event]) -> Option<(Ipv4Addr, Ipv4Addr, [Option<Ipv4Addr>; 2])> {
    events.iter().find_map(|e| match e {
        Event::IpcpUp { local, peer, dns } => Some((*local, *peer, *dns)),
        _ => None,
    })
}

/// Both sides reported IpcpUp, both IPCPs are Opened now, and nothing is in flight.
fn both_ipcp_up(p: &Pair) -> bool {
    ipcp_up(&p.lns_events).is_some()
        && ipcp_up(&p.lac_events).is_some()
        && p.lns.state().ipcp == Some(State::Opened)
        && p.lac.state().ipcp == Some(State::Opened)
        && p.wire.is_empty()
}

fn assert_up(p: &Pair, method: AuthMethod) {
    assert_eq!(
        ipcp_up(&p.lns_events),
        Some((LNS_ADDR, LAC_ADDR, [Some(DNS1), Some(DNS2)])),
        "LNS side: {:?}",
        p.lns_events
    );
    assert_eq!(
        ipcp_up(&p.lac_events),
        Some((LAC_ADDR, LNS_ADDR, [Some(DNS1), Some(DNS2)])),
        "LAC side: {:?}",
        p.lac_events
    );
    assert!(p.lns_events.contains(&Event::Authenticated {
        username: "alice".into()
    }));
    let s = p.lns.state();
    assert_eq!(s.phase, Phase::Network);
    assert_eq!(s.lcp, State::Opened);
    assert_eq!(s.auth, Some(method));
    assert_eq!(s.username.as_deref(), Some("alice"));
    assert_eq!(s.addresses, Some((LNS_ADDR, LAC_ADDR)));
    assert_eq!(s.dropped, 0);
    assert_eq!(p.lac.state().auth, Some(method));
}

#[test]
fn pap_reaches_ipcp_up_with_assigned_addresses() {
    let mut p = Pair::new(
        lns_config(vec![AuthMethod::Pap]),
        lac_config(vec![AuthMethod::Pap], "correct horse"),
        1,
        0.0,
        0.0,
    );
    assert!(p.run_until(Duration::from_secs(5), both_ipcp_up));
    assert_up(&p, AuthMethod::Pap);
    // Lossless: one round of each handshake, no retransmission, well under a second.
    assert!(
        p.now - p.t0 < Duration::from_millis(200),
        "{:?}",
        p.now - p.t0
    );
}

#[test]
fn chap_md5_reaches_ipcp_up_with_assigned_addresses() {
    let mut p = Pair::new(
        lns_config(vec![AuthMethod::ChapMd5]),
        lac_config(vec![AuthMethod::ChapMd5], "correct horse"),
        2,
        0.0,
        0.0,
    );
    assert!(p.run_until(Duration::from_secs(5), both_ipcp_up));
    assert_up(&p, AuthMethod::ChapMd5);
}

/// An address set at authentication time (RADIUS Framed-IP-Address) replaces the
/// configured one in IPCP: the LAC ends up with it, the LNS reports it.
#[test]
fn address_assigned_at_authentication_replaces_the_configured_one() {
    let mut p = Pair::new(
        lns_config(vec![AuthMethod::Pap]),
        lac_config(vec![AuthMethod::Pap], "correct horse"),
        11,
        0.0,
        0.0,
    );
    let radius = Ipv4Addr::new(10, 9, 7, 77);
    p.assigned = Some(radius);
    assert!(p.run_until(Duration::from_secs(5), both_ipcp_up));
    assert_eq!(
        ipcp_up(&p.lac_events).map(|u| (u.0, u.1)),
        Some((radius, LNS_ADDR))
    );
    assert_eq!(
        ipcp_up(&p.lns_events).map(|u| (u.0, u.1)),
        Some((LNS_ADDR, radius))
    );
    assert_eq!(p.lns.state().addresses, Some((LNS_ADDR, radius)));
}

/// MS-CHAPv2 end to end with the real RFC 2759 crypto (`mschap`): the authenticator checks the
/// NT-Response with `verify_local`, the peer checks the authenticator response, IPCP comes up.
#[test]
fn mschapv2_reaches_ipcp_up_with_assigned_addresses() {
    let mut p = Pair::new(
        lns_config(vec![AuthMethod::MsChapV2]),
        lac_config(vec![AuthMethod::MsChapV2], "correct horse"),
        3,
        0.0,
        0.0,
    );
    assert!(p.run_until(Duration::from_secs(5), both_ipcp_up));
    assert_up(&p, AuthMethod::MsChapV2);
}

#[test]
fn ipv6cp_agrees_on_distinct_interface_identifiers() {
    let mut p = Pair::new(
        lns_config(vec![AuthMethod::ChapMd5]),
        lac_config(vec![AuthMethod::ChapMd5], "correct horse"),
        3,
        0.0,
        0.0,
    );
    let v6 = |ev: &[Event]| {
        ev.iter().find_map(|e| match e {
            Event::Ipv6cpUp { local_id, peer_id } => Some((*local_id, *peer_id)),
            _ => None,
        })
    };
    assert!(
        p.run_until(Duration::from_secs(5), |p| v6(&p.lns_events).is_some()
            && v6(&p.lac_events).is_some())
    );
    let (a_local, a_peer) = v6(&p.lns_events).unwrap();
    let (b_local, b_peer) = v6(&p.lac_events).unwrap();
    assert_eq!((a_local, a_peer), (b_peer, b_local));
    assert!(a_local != 0 && b_local != 0 && a_local != b_local);
}

#[test]
fn lossy_duplicating_link_still_reaches_ipcp_up() {
    for seed in 0..20 {
        for method in [AuthMethod::Pap, AuthMethod::ChapMd5] {
            let mut p = Pair::new(
                lns_config(vec![method]),
                lac_config(vec![method], "correct horse"),
                100 + seed,
                0.2,
                0.2,
            );
            let ok = p.run_until(Duration::from_secs(120), both_ipcp_up);
            assert!(
                ok,
                "seed {seed} {method:?}: lns {:?} lac {:?}",
                p.lns_events, p.lac_events
            );
            assert_up(&p, method);
            // A duplicated Response or Authenticate-Request must not produce a second check:
            // one check per LCP negotiation (a lost Configure-Ack can make LCP renegotiate
            // from Opened, RFC 1661 §4.1 RCR+ in state 9, and then authentication reruns).
            let count = |f: fn(&Event) -> bool| p.lns_events.iter().filter(|e| f(e)).count();
            let auths = count(|e| matches!(e, Event::Authenticate(_)));
            let links = count(|e| matches!(e, Event::LinkUp));
            assert!(auths <= links, "seed {seed}: {:?}", p.lns_events);
        }
    }
}

#[test]
fn duplicated_frames_do_not_repeat_checks_or_events() {
    for seed in 0..20 {
        let mut p = Pair::new(
            lns_config(vec![AuthMethod::ChapMd5]),
            lac_config(vec![AuthMethod::ChapMd5], "correct horse"),
            300 + seed,
            0.0,
            0.5,
        );
        assert!(
            p.run_until(Duration::from_secs(30), both_ipcp_up),
            "seed {seed}"
        );
        assert_up(&p, AuthMethod::ChapMd5);
        let count = |f: fn(&Event) -> bool| p.lns_events.iter().filter(|e| f(e)).count();
        // A copy of a Configure-Request arriving after Opened restarts negotiation (RFC 1661
        // §4.1, pppd alike), so LinkUp may repeat; but every check answers one LinkUp, and
        // duplicated Acks never take a layer down (pppd's seen_ack rule).
        let links = count(|e| matches!(e, Event::LinkUp));
        assert!(
            count(|e| matches!(e, Event::Authenticate(_))) <= links,
            "seed {seed}"
        );
        assert!(links <= 3, "seed {seed}: {:?}", p.lns_events);
    }
}

#[test]
fn authenticator_moves_down_its_preference_list_after_nak() {
    // The LNS prefers MS-CHAPv2, then CHAP-MD5, then PAP; the LAC only does CHAP-MD5 and Naks
    // the first proposal naming it.
    let mut p = Pair::new(
        lns_config(vec![
            AuthMethod::MsChapV2,
            AuthMethod::ChapMd5,
            AuthMethod::Pap,
        ]),
        lac_config(vec![AuthMethod::ChapMd5], "correct horse"),
        4,
        0.0,
        0.0,
    );
    assert!(p.run_until(Duration::from_secs(5), both_ipcp_up));
    assert_up(&p, AuthMethod::ChapMd5);
}

#[test]
fn wrong_password_fails_and_terminates_the_link() {
    for method in [AuthMethod::Pap, AuthMethod::ChapMd5, AuthMethod::MsChapV2] {
        let mut p = Pair::new(
            lns_config(vec![method]),
            lac_config(vec![method], "wrong"),
            5,
            0.0,
            0.0,
        );
        let downs = |p: &Pair| {
            p.lns_events.iter().any(|e| matches!(e, Event::Down { .. }))
                && p.lac_events.iter().any(|e| matches!(e, Event::Down { .. }))
        };
        assert!(p.run_until(Duration::from_secs(30), downs), "{method:?}");
        assert!(ipcp_up(&p.lns_events).is_none());
        let failed = p.lns_events.iter().any(|e| {
            matches!(e, Event::AuthFailed { method: m, username, .. } if *m == method && username == "alice")
        });
        assert!(failed, "{:?}", p.lns_events);
        assert!(p
            .lac_events
            .iter()
            .any(|e| matches!(e, Event::AuthFailed { .. })));
        assert!(p.lns_events.contains(&Event::Down {
            reason: "Authentication failed".into()
        }));
        assert_eq!(p.lns.state().phase, Phase::Dead);
        assert_eq!(p.lns.poll_timeout(), None, "a dead link has no timers");
    }
}

#[test]
fn silent_peer_is_declared_dead_by_echo_keepalive() {
    let mut p = Pair::new(
        lns_config(vec![AuthMethod::Pap]),
        lac_config(vec![AuthMethod::Pap], "correct horse"),
        6,
        0.0,
        0.0,
    );
    assert!(p.run_until(Duration::from_secs(5), both_ipcp_up));
    // Healthy keepalive first: a minute of echoes answered keeps the link up.
    let up_at = p.now;
    assert!(!p.run_until(Duration::from_secs(65), |p| p
        .lns_events
        .iter()
        .any(|e| matches!(e, Event::Down { .. }))));
    assert_eq!(p.lns.state().lcp, State::Opened);
    let _ = up_at;
    p.lac_mute = true;
    let muted_at = p.now;
    let down = |p: &Pair| {
        p.lns_events.iter().find_map(|e| match e {
            Event::Down { reason } => Some(reason.clone()),
            _ => None,
        })
    };
    assert!(p.run_until(Duration::from_secs(200), |p| down(p).is_some()));
    assert!(
        down(&p).unwrap().contains("peer not responding"),
        "{:?}",
        down(&p)
    );
    // 3 unanswered echoes at 10 s, the 4th tick declares death and the link is down at once
    // (one Terminate-Request, no waiting for its Ack).
    let took = p.now - muted_at;
    assert!(
        took >= Duration::from_secs(30) && took <= Duration::from_secs(41),
        "{took:?}"
    );
    assert!(p
        .lns_events
        .iter()
        .any(|e| matches!(e, Event::NetworkDown { protocol: 0x8021 })));
}

#[test]
fn peer_without_credentials_is_refused() {
    let mut lac = lac_config(vec![AuthMethod::Pap], "x");
    lac.credentials = None;
    let mut p = Pair::new(lns_config(vec![AuthMethod::Pap]), lac, 7, 0.0, 0.0);
    let down = |p: &Pair| {
        p.lns_events.iter().find_map(|e| match e {
            Event::Down { reason } => Some(reason.clone()),
            _ => None,
        })
    };
    assert!(p.run_until(Duration::from_secs(60), |p| down(p).is_some()));
    assert_eq!(down(&p).as_deref(), Some("peer refused to authenticate"));
}

#[test]
fn administrative_close_sends_terminate_and_both_go_down() {
    let mut p = Pair::new(lns_config(vec![]), lac_config(vec![], "x"), 8, 0.0, 0.0);
    assert!(p.run_until(Duration::from_secs(5), both_ipcp_up));
    let now = p.now;
    p.lns.close(now, "admin reset");
    let downs = |p: &Pair| {
        p.lns_events.iter().any(|e| matches!(e, Event::Down { .. }))
            && p.lac_events.iter().any(|e| matches!(e, Event::Down { .. }))
    };
    assert!(p.run_until(Duration::from_secs(30), downs));
    assert!(p.lns_events.contains(&Event::Down {
        reason: "admin reset".into()
    }));
    assert!(p.lac_events.contains(&Event::Down {
        reason: "peer requested termination: admin reset".into()
    }));
}

#[test]
fn mschapv2_peer_refuses_a_success_with_a_wrong_authenticator_response() {
    // A server that accepts but cannot prove it knows the password (RFC 2759 §5 mutual
    // authentication): the peer must fail and end the link.
    let mut p = Pair::new(
        lns_config(vec![AuthMethod::MsChapV2]),
        lac_config(vec![AuthMethod::MsChapV2], "correct horse"),
        9,
        0.0,
        0.0,
    );
    p.check = |req, _| {
        assert!(matches!(req, AuthRequest::MsChapV2 { username, .. } if username == b"alice"));
        Verdict::Accept {
            ms_chap_v2_authenticator_response: Some(format!("S={}", "1".repeat(40))),
            message: "welcome".into(),
        }
    };
    let lac_down = |p: &Pair| p.lac_events.iter().any(|e| matches!(e, Event::Down { .. }));
    assert!(p.run_until(Duration::from_secs(30), lac_down));
    assert!(p.lns_events.contains(&Event::Authenticated {
        username: "alice".into()
    }));
    assert!(
        p.lac_events.contains(&Event::AuthFailed {
            method: AuthMethod::MsChapV2,
            username: "alice".into(),
            message: "MS-CHAPv2 Success with a wrong authenticator response".into(),
        }),
        "{:?}",
        p.lac_events
    );
    assert!(ipcp_up(&p.lac_events).is_none());
}

#[test]
fn mschapv2_accept_without_authenticator_response_is_a_failure() {
    let mut p = Pair::new(
        lns_config(vec![AuthMethod::MsChapV2]),
        lac_config(vec![AuthMethod::MsChapV2], "correct horse"),
        10,
        0.0,
        0.0,
    );
    p.check = |_, _| Verdict::Accept {
        ms_chap_v2_authenticator_response: None,
        message: "ok".into(),
    };
    let both_down = |p: &Pair| {
        p.lns_events.iter().any(|e| matches!(e, Event::Down { .. }))
            && p.lac_events.iter().any(|e| matches!(e, Event::Down { .. }))
    };
    assert!(p.run_until(Duration::from_secs(30), both_down));
    let lac_failure = p.lac_events.iter().find_map(|e| match e {
        Event::AuthFailed { message, .. } => Some(message.clone()),
        _ => None,
    });
    let m = lac_failure.expect("the peer saw a Failure");
    assert!(
        m.starts_with("E=691 R=0 C=") && m.contains(" V=3 M="),
        "{m}"
    );
}
