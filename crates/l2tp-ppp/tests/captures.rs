//! Real PPP frames from the xl2tpd/pppd captures in `shared/captures/*.hex` (carried in
//! L2TPv2 data messages), fed to the engine: its answers must match what pppd answered.
//!
//! The shared directory is found by `l2tp_testdata::shared_dir`.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use l2tp_ppp::fsm::State;
use l2tp_ppp::{classify, Event, Frame, IpcpConfig, Ppp, PppConfig, Role};

/// The PPP frames (starting at `FF 03`) of the L2TPv2 data messages of a capture, with the
/// direction label. Header layout: RFC 2661 §3.1.
fn ppp_frames(name: &str) -> Vec<(String, Vec<u8>)> {
    let mut frames = Vec::new();
    for (dir, b) in l2tp_testdata::capture(name) {
        let flags = u16::from_be_bytes([b[0], b[1]]);
        if flags & 0x8000 != 0 {
            continue; // control message
        }
        let mut at = 2;
        if flags & 0x4000 != 0 {
            at += 2; // Length
        }
        at += 4; // Tunnel ID, Session ID
        if flags & 0x0800 != 0 {
            at += 4; // Ns, Nr
        }
        if flags & 0x0200 != 0 {
            let off = usize::from(u16::from_be_bytes([b[at], b[at + 1]]));
            at += 2 + off;
        }
        frames.push((dir, b[at..].to_vec()));
    }
    frames
}

fn lns(ipv6cp: bool) -> Ppp {
    let cfg = PppConfig {
        role: Role::Authenticator,
        ipcp: Some(IpcpConfig {
            local: Ipv4Addr::new(10, 9, 0, 1),
            peer: Some(Ipv4Addr::new(10, 9, 0, 10)),
            dns: [None, None],
        }),
        ipv6cp,
        ..PppConfig::default()
    };
    Ppp::new(cfg, Instant::now(), 42)
}

fn drain(p: &mut Ppp) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| p.poll_transmit()).collect()
}

/// Strip `FF 03`: our frames start at the Protocol field.
fn unframed(f: &[u8]) -> &[u8] {
    f.strip_prefix(&[0xff, 0x03]).unwrap_or(f)
}

/// Bring our LCP to Opened against pppd's captured Configure-Request; returns what we sent.
fn open_lcp(p: &mut Ppp, now: Instant, pppd_req: &[u8]) -> Vec<Vec<u8>> {
    let ours = drain(p);
    let our_req = ours
        .iter()
        .find(|f| f[..3] == [0xc0, 0x21, 1])
        .expect("our LCP request")
        .clone();
    p.handle_frame(now, pppd_req);
    let mut sent = drain(p);
    // pppd acknowledges our request verbatim (as it did the LNS's in the capture).
    let mut ack = our_req;
    ack[2] = 2;
    p.handle_frame(now, &ack);
    sent.extend(drain(p));
    assert_eq!(p.state().lcp, State::Opened);
    sent
}

#[test]
fn pppd_lcp_request_with_accm_is_acked_as_pppd_did() {
    let frames = ppp_frames("xl2tpd-v2-kernel-ppp");
    // The LAC's pppd: Configure-Request id 1, ACCM 0, Magic-Number.
    let (_, req) = frames
        .iter()
        .find(|(d, f)| d.starts_with("10.1.0.1>") && f[2..5] == [0xc0, 0x21, 1])
        .unwrap();
    // What the LNS's pppd answered.
    let (_, pppd_ack) = frames
        .iter()
        .find(|(d, f)| d.starts_with("10.1.0.2>") && f[2..5] == [0xc0, 0x21, 2])
        .unwrap();
    let mut p = lns(false);
    let now = Instant::now();
    let sent = open_lcp(&mut p, now, req);
    assert!(
        sent.iter().any(|f| f == unframed(pppd_ack)),
        "we sent {sent:02x?}"
    );
    assert_eq!(p.poll_event(), Some(Event::LinkUp));
}

#[test]
fn pppd_ipcp_zero_address_is_naked_with_the_assigned_address_and_ipv6cp_acked() {
    let frames = ppp_frames("xl2tpd-v2-kernel-ppp");
    let lac = |code: u8, proto: [u8; 2]| {
        frames
            .iter()
            .find(|(d, f)| d.starts_with("10.1.0.1>") && f[2..4] == proto && f[4] == code)
            .map(|(_, f)| f.clone())
            .unwrap()
    };
    let lns_sent = |code: u8, proto: [u8; 2]| {
        frames
            .iter()
            .find(|(d, f)| d.starts_with("10.1.0.2>") && f[2..4] == proto && f[4] == code)
            .map(|(_, f)| f.clone())
            .unwrap()
    };
    let mut p = lns(true);
    let now = Instant::now();
    let ncp_reqs = open_lcp(&mut p, now, &lac(1, [0xc0, 0x21]));
    assert!(
        ncp_reqs
            .iter()
            .any(|f| f == &[0x80, 0x21, 1, f[3], 0, 10, 3, 6, 10, 9, 0, 1]),
        "IPCP request with our address: {ncp_reqs:02x?}"
    );
    // IPCP Configure-Request 0.0.0.0 -> Nak 10.9.0.10, byte for byte as pppd.
    p.handle_frame(now, &lac(1, [0x80, 0x21]));
    assert_eq!(
        drain(&mut p),
        vec![unframed(&lns_sent(3, [0x80, 0x21])).to_vec()]
    );
    // IPV6CP Configure-Request with an Interface-Identifier -> Ack, as pppd.
    p.handle_frame(now, &lac(1, [0x80, 0x57]));
    assert_eq!(
        drain(&mut p),
        vec![unframed(&lns_sent(2, [0x80, 0x57])).to_vec()]
    );
    // The second IPCP request (10.9.0.10, id 2) is acked, byte for byte as pppd.
    let second = frames
        .iter()
        .find(|(d, f)| d.starts_with("10.1.0.1>") && f[2..5] == [0x80, 0x21, 1] && f[5] == 2)
        .map(|(_, f)| f.clone())
        .unwrap();
    p.handle_frame(now, &second);
    assert_eq!(
        drain(&mut p),
        vec![unframed(&lns_sent(2, [0x80, 0x21])).to_vec()]
    );
}

#[test]
fn echo_request_and_terminate_from_captures_are_answered() {
    let frames = ppp_frames("xl2tpd-v2-userspace-ppp-data");
    let find = |dir: &str, code: u8| {
        frames
            .iter()
            .find(|(d, f)| d == dir && f[2..4] == [0xc0, 0x21] && f[4] == code)
            .map(|(_, f)| f.clone())
            .unwrap()
    };
    let mut p = lns(false);
    let now = Instant::now();
    open_lcp(&mut p, now, &find("LAC>LNS", 1));
    drain(&mut p);
    let echo = find("LAC>LNS", 9);
    p.handle_frame(now, &echo);
    let reply = drain(&mut p);
    assert_eq!(reply.len(), 1);
    let r = &reply[0];
    assert_eq!(
        &r[..4],
        &[0xc0, 0x21, 10, echo[5]],
        "Echo-Reply, same Identifier"
    );
    assert_eq!(&r[4..6], &8u16.to_be_bytes());
    assert_ne!(&r[6..10], &echo[8..12], "our Magic-Number, not the peer's");
    // Terminate-Request "fake pppd done" -> Terminate-Ack, then Down after the Restart timer.
    let term = find("LAC>LNS", 5);
    p.handle_frame(now, &term);
    assert_eq!(drain(&mut p), vec![vec![0xc0, 0x21, 6, term[5], 0, 4]]);
    let t = p.poll_timeout().expect("zero-restart timer");
    p.handle_timeout(t);
    let events: Vec<Event> = std::iter::from_fn(|| p.poll_event()).collect();
    assert!(
        events.contains(&Event::Down {
            reason: "peer requested termination: fake pppd done".into()
        }),
        "{events:?}"
    );
}

#[test]
fn every_captured_frame_classifies_and_feeds_without_panic() {
    let mut datagrams = 0;
    for name in ["xl2tpd-v2-kernel-ppp", "xl2tpd-v2-userspace-ppp-data"] {
        let frames = ppp_frames(name);
        assert!(frames.len() >= 16, "{name}: {} frames", frames.len());
        for role in [Role::Authenticator, Role::Peer] {
            let cfg = PppConfig {
                role,
                ipcp: Some(IpcpConfig {
                    local: Ipv4Addr::UNSPECIFIED,
                    peer: None,
                    dns: [None, None],
                }),
                ipv6cp: true,
                ..PppConfig::default()
            };
            let t0 = Instant::now();
            let mut p = Ppp::new(cfg, t0, 7);
            for (i, (_, f)) in frames.iter().enumerate() {
                match classify(f) {
                    Frame::Ipv4(d) => {
                        assert_eq!(d[0] >> 4, 4);
                        datagrams += 1;
                    }
                    Frame::Ipv6(d) => {
                        assert_eq!(d[0] >> 4, 6);
                        datagrams += 1;
                    }
                    Frame::Control => {}
                }
                p.handle_frame(t0 + Duration::from_millis(i as u64), f);
                drain(&mut p);
            }
        }
    }
    // 6 ICMP + 2 ICMPv6 in kernel-ppp, 2 ICMP in ppp-data; counted once per role.
    assert_eq!(datagrams, 2 * (6 + 2 + 2));
}

#[test]
fn ipcp_client_takes_the_address_pppd_naks() {
    let frames = ppp_frames("xl2tpd-v2-kernel-ppp");
    let from_lns = |proto: [u8; 2], code: u8| {
        frames
            .iter()
            .find(|(d, f)| d.starts_with("10.1.0.2>") && f[2..4] == proto && f[4] == code)
            .map(|(_, f)| unframed(f).to_vec())
            .unwrap()
    };
    let cfg = PppConfig {
        role: Role::Peer,
        ipcp: Some(IpcpConfig {
            local: Ipv4Addr::UNSPECIFIED,
            peer: None,
            dns: [None, None],
        }),
        ..PppConfig::default()
    };
    let now = Instant::now();
    let mut p = Ppp::new(cfg, now, 9);
    let sent = open_lcp(&mut p, now, &from_lns([0xc0, 0x21], 1));
    let req = sent
        .iter()
        .find(|f| f[..3] == [0x80, 0x21, 1])
        .expect("IPCP request")
        .clone();
    assert_eq!(&req[6..], &[3, 6, 0, 0, 0, 0], "client asks with 0.0.0.0");
    // pppd's Nak (10.9.0.10), aimed at our request's Identifier.
    let mut nak = from_lns([0x80, 0x21], 3);
    nak[3] = req[3];
    p.handle_frame(now, &nak);
    let again = drain(&mut p);
    assert_eq!(again.len(), 1);
    assert_eq!(
        &again[0][6..],
        &[3, 6, 10, 9, 0, 10],
        "takes the Nak'd address"
    );
    // pppd's own request (10.9.0.1) is acked; then pppd acks ours.
    p.handle_frame(now, &from_lns([0x80, 0x21], 1));
    let ack = drain(&mut p);
    assert_eq!(ack[0][2], 2);
    let mut ours = again[0].clone();
    ours[2] = 2;
    p.handle_frame(now, &ours);
    let events: Vec<Event> = std::iter::from_fn(|| p.poll_event()).collect();
    assert!(
        events.contains(&Event::IpcpUp {
            local: Ipv4Addr::new(10, 9, 0, 10),
            peer: Ipv4Addr::new(10, 9, 0, 1),
            dns: [None, None],
        }),
        "{events:?}"
    );
}
