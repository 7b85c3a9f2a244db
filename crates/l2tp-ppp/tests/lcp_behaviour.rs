//! LCP details pinned against RFC 1661 and pppd's behaviour: PFC/ACFC rejected on a sync
//! link, ACCM acknowledged, MRU floor, Max-Failure turning Naks into Rejects, looped-back
//! link detection, Code-Reject, Protocol-Reject both ways, Discard-Request.

use std::net::Ipv4Addr;
use std::time::Instant;

use l2tp_ppp::fsm::State;
use l2tp_ppp::{Event, IpcpConfig, Phase, Ppp, PppConfig, Role};

fn engine() -> Ppp {
    let cfg = PppConfig {
        role: Role::Authenticator,
        ipcp: Some(IpcpConfig {
            local: Ipv4Addr::new(10, 0, 0, 1),
            peer: Some(Ipv4Addr::new(10, 0, 0, 2)),
            dns: [None, None],
        }),
        ..PppConfig::default()
    };
    Ppp::new(cfg, Instant::now(), 11)
}

fn drain(p: &mut Ppp) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| p.poll_transmit()).collect()
}

fn lcp(code: u8, id: u8, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0xc0, 0x21, code, id];
    f.extend_from_slice(&((data.len() + 4) as u16).to_be_bytes());
    f.extend_from_slice(data);
    f
}

/// Open LCP: ack our request, and have ours acked. Returns the frames sent meanwhile.
fn open(p: &mut Ppp, now: Instant) -> Vec<Vec<u8>> {
    let out = drain(p);
    assert_eq!(out.len(), 1, "only our Configure-Request: {out:02x?}");
    let mut req = out[0].clone();
    p.handle_frame(now, &lcp(1, 1, &[5, 6, 0xde, 0xad, 0xbe, 0xef]));
    req[2] = 2;
    p.handle_frame(now, &req);
    assert_eq!(p.state().lcp, State::Opened);
    drain(p)
}

#[test]
fn pfc_and_acfc_are_rejected_and_accm_acknowledged() {
    let now = Instant::now();
    let mut p = engine();
    drain(&mut p);
    let opts = [2, 6, 0, 0, 0, 0, 7, 2, 8, 2, 5, 6, 1, 2, 3, 4];
    p.handle_frame(now, &lcp(1, 7, &opts));
    assert_eq!(
        drain(&mut p),
        vec![lcp(4, 7, &[7, 2, 8, 2])],
        "Configure-Reject of PFC, ACFC"
    );
    let opts = [2, 6, 0, 0, 0, 0, 5, 6, 1, 2, 3, 4];
    p.handle_frame(now, &lcp(1, 8, &opts));
    assert_eq!(
        drain(&mut p),
        vec![lcp(2, 8, &opts)],
        "ACCM and Magic-Number acknowledged"
    );
}

#[test]
fn small_mru_is_naked_until_max_failure_then_rejected() {
    let now = Instant::now();
    let mut p = engine();
    drain(&mut p);
    for id in 0..5 {
        p.handle_frame(now, &lcp(1, id, &[1, 4, 0, 64]));
        assert_eq!(
            drain(&mut p),
            vec![lcp(3, id, &[1, 4, 0, 128])],
            "Nak {id} with MRU 128"
        );
    }
    p.handle_frame(now, &lcp(1, 5, &[1, 4, 0, 64]));
    assert_eq!(
        drain(&mut p),
        vec![lcp(4, 5, &[1, 4, 0, 64])],
        "Max-Failure reached: Reject"
    );
}

#[test]
fn own_magic_number_coming_back_is_naked_as_a_looped_link() {
    let now = Instant::now();
    let mut p = engine();
    let ours = drain(&mut p).remove(0);
    // Our own Configure-Request, looped back.
    p.handle_frame(now, &ours);
    let out = drain(&mut p);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0][2], 3, "Configure-Nak");
    assert_eq!(&out[0][6..8], &[5, 6], "of the Magic-Number");
    assert_ne!(&out[0][8..12], &ours[8..12], "suggesting another number");
}

#[test]
fn unknown_code_gets_code_reject_and_discard_request_nothing() {
    let now = Instant::now();
    let mut p = engine();
    open(&mut p, now);
    p.handle_frame(now, &lcp(11, 3, &[0, 0, 0, 0, 1, 2]));
    assert!(
        drain(&mut p).is_empty(),
        "Discard-Request is dropped silently"
    );
    let odd = lcp(99, 4, &[1, 2, 3]);
    p.handle_frame(now, &odd);
    let out = drain(&mut p);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0][2], 7, "Code-Reject");
    assert_eq!(&out[0][6..], &odd[2..], "carrying the rejected packet");
    assert_eq!(p.state().lcp, State::Opened);
    // Length 3 (below 4) and Length past the end: dropped and counted, nothing sent.
    p.handle_frame(now, &[0xc0, 0x21, 9, 1, 0, 3]);
    p.handle_frame(now, &[0xc0, 0x21, 9, 1, 0, 40, 0, 0, 0, 0]);
    p.handle_frame(now, &[0xc0]);
    assert!(drain(&mut p).is_empty());
    assert_eq!(p.state().malformed, 3);
}

#[test]
fn unknown_protocol_gets_protocol_reject_only_when_opened() {
    let now = Instant::now();
    let mut p = engine();
    let frame = [0x80, 0xfd, 1, 1, 0, 4]; // CCP Configure-Request
                                          // Not Opened yet: no Protocol-Reject (open() checks only our request is queued).
    p.handle_frame(now, &frame);
    open(&mut p, now);
    p.handle_frame(now, &frame);
    let out = drain(&mut p);
    assert_eq!(out.len(), 1);
    assert_eq!(&out[0][..3], &[0xc0, 0x21, 8], "Protocol-Reject");
    assert_eq!(
        &out[0][6..],
        &frame[..],
        "rejected protocol then its information field"
    );
    // IPv6CP is not configured here: rejected too.
    p.handle_frame(now, &[0x80, 0x57, 1, 1, 0, 4]);
    assert_eq!(drain(&mut p)[0][2], 8);
}

#[test]
fn protocol_reject_of_ipcp_by_the_peer_ends_the_link() {
    let now = Instant::now();
    let mut p = engine();
    let sent = open(&mut p, now);
    assert!(
        sent.iter().any(|f| f[..3] == [0x80, 0x21, 1]),
        "IPCP started: {sent:02x?}"
    );
    assert_eq!(p.state().phase, Phase::Network);
    p.handle_frame(now, &lcp(8, 9, &[0x80, 0x21, 1, 1, 0, 4]));
    // IPCP was the only NCP: LCP terminates (pppd: "No network protocols running").
    let out = drain(&mut p);
    assert!(
        out.iter().any(|f| f[..3] == [0xc0, 0x21, 5]),
        "Terminate-Request: {out:02x?}"
    );
    assert_ne!(p.state().ipcp, Some(State::Opened));
    assert_eq!(p.state().phase, Phase::Terminate);
    // The peer acknowledges: the link is down with that reason.
    p.handle_frame(now, &lcp(6, out.last().unwrap()[3], &[]));
    let events: Vec<Event> = std::iter::from_fn(|| p.poll_event()).collect();
    assert!(
        events.contains(&Event::Down {
            reason: "no network protocols running".into()
        }),
        "{events:?}"
    );
}
