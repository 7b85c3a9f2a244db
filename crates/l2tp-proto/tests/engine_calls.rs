//! Outgoing calls (OCRQ/OCRP/OCCN), WEN and SLI, the tie breaker, hidden AVPs on send, proxy
//! AVPs, and the required-AVP table (RFC 2661 §6, RFC 3931 §6) — between two of our endpoints
//! on the simulated network.

#[path = "sim_harness.rs"]
mod sim;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use l2tp_proto::endpoint::{
    DownReason, EndpointConfig, Event, SessionConfig, SessionId, TunnelConfig, TunnelId,
    SENSITIVE_AVPS,
};
use l2tp_proto::rules::required_avps;
use l2tp_proto::wire::{
    error_code, pw_type, result, AvpValue, CallErrors, ControlMessage, Encap, MessageType,
    ResultCode, Version,
};
use sim::*;

fn lns_cfg() -> EndpointConfig {
    EndpointConfig {
        accept_v2_incoming: true,
        accept_v3_incoming: true,
        host_name: b"lns.example".to_vec(),
        ..EndpointConfig::default()
    }
}

fn cfg_for(s: &Sim, version: Version) -> TunnelConfig {
    match version {
        Version::V2 => s.tunnel_cfg(),
        Version::V3 => s.tunnel_cfg_v3(Encap::Udp),
    }
}

fn session_for(version: Version) -> SessionConfig {
    SessionConfig {
        pseudowire: match version {
            Version::V2 => pw_type::PPP,
            Version::V3 => pw_type::ETHERNET,
        },
        called_number: Some(b"5551234".to_vec()),
        ..SessionConfig::default()
    }
}

fn up_session(s: &Sim, node: usize) -> Option<(TunnelId, SessionId)> {
    s.nodes[node].events.iter().find_map(|(_, e)| match e {
        Event::SessionUp {
            tunnel, session, ..
        } => Some((*tunnel, *session)),
        _ => None,
    })
}

fn tunnel_of(s: &Sim, node: usize) -> TunnelId {
    s.nodes[node]
        .events
        .iter()
        .find_map(|(_, e)| match e {
            Event::TunnelUp { tunnel, .. } => Some(*tunnel),
            _ => None,
        })
        .unwrap()
}

/// RFC 2661 §5.2.1 / §7.5 and RFC 3931 §3.4.2: the LNS places an outgoing call through the
/// LAC; both report SessionUp (the LAC when its OCCN is acknowledged).
#[test]
fn outgoing_call_ocrq_ocrp_occn_in_both_versions() {
    for version in [Version::V2, Version::V3] {
        let mut s = Sim::with(20, EndpointConfig::default(), lns_cfg());
        let now = s.now;
        let cfg = cfg_for(&s, version);
        s.nodes[LAC].ep.connect(now, cfg).unwrap();
        assert!(s.run_until(Duration::from_secs(5), |s| s.count(LNS, is_tunnel_up) == 1));
        let t = tunnel_of(&s, LNS);
        let now = s.now;
        s.nodes[LNS]
            .ep
            .open_outgoing_call(now, t, session_for(version))
            .unwrap();
        assert!(
            s.run_until(Duration::from_secs(5), |s| s.count(LAC, is_session_up) == 1
                && s.count(LNS, is_session_up) == 1)
        );
        for (n, incoming) in [(LAC, true), (LNS, false)] {
            let ev = s.events(n);
            let Some(Event::SessionUp { params, .. }) = ev.iter().find(|e| is_session_up(e)) else {
                unreachable!()
            };
            assert!(params.outgoing_call, "{version:?}");
            assert_eq!(params.peer_initiated, incoming);
            if version == Version::V2 {
                assert_eq!(params.called_number.as_deref(), Some(&b"5551234"[..]));
            }
        }
        assert_eq!(s.sent(LNS, MessageType::Ocrq).len(), 1);
        assert_eq!(s.sent(LAC, MessageType::Ocrp).len(), 1);
        assert_eq!(s.sent(LAC, MessageType::Occn).len(), 1);
    }
}

/// RFC 2661 §6.15 WEN and §6.16 SLI (RFC 3931 §6.13, §6.14) reach the peer as events.
#[test]
fn wen_and_sli_are_delivered_as_events() {
    for version in [Version::V2, Version::V3] {
        let mut s = Sim::with(21, EndpointConfig::default(), lns_cfg());
        let now = s.now;
        let cfg = cfg_for(&s, version);
        let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
        let sid = s.nodes[LAC]
            .ep
            .open_session(now, t, session_for(version))
            .unwrap();
        assert!(s.run_until(Duration::from_secs(5), |s| s.count(LNS, is_session_up) == 1));
        s.run_for(Duration::from_millis(10));
        let (lt, ls) = up_session(&s, LNS).unwrap();
        let now = s.now;
        let errors = CallErrors {
            crc: 1,
            framing: 2,
            hardware_overruns: 3,
            buffer_overruns: 4,
            timeouts: 5,
            alignment: 6,
        };
        s.nodes[LAC]
            .ep
            .send_wan_error_notify(now, t, sid, errors)
            .unwrap();
        s.nodes[LNS]
            .ep
            .send_set_link_info(now, lt, ls, Some((0, 0xffff_ffff)), Some(1))
            .unwrap();
        s.run_for(Duration::from_secs(1));
        assert!(s.has_event(LNS, |e| matches!(e, Event::WanError { session, errors: e, .. } if *session == ls && e.timeouts == 5)));
        assert!(s.has_event(LAC, |e| matches!(e, Event::LinkInfo { session, accm: Some((0, 0xffff_ffff)), circuit_status: Some(1), .. } if session.0 == sid.0)));
    }
}

/// RFC 2661 §4.4.3 Tie Breaker: crossing SCCRQs between the same pair — the lower value wins,
/// the loser silently discards its tunnel; one tunnel results.
#[test]
fn crossing_sccrqs_lower_tie_breaker_wins_and_one_tunnel_remains() {
    for (lac_tb, lns_tb, winner) in [([1u8; 8], [2u8; 8], LAC), ([9u8; 8], [3u8; 8], LNS)] {
        let mut s = Sim::with(22, EndpointConfig::default(), EndpointConfig::default());
        let now = s.now;
        let mut a = s.tunnel_cfg();
        a.tie_breaker = Some(lac_tb);
        let mut b = TunnelConfig::new(Version::V2, Encap::Udp, s.nodes[LAC].addr);
        b.tie_breaker = Some(lns_tb);
        let ta = s.nodes[LAC].ep.connect(now, a).unwrap();
        let tb = s.nodes[LNS].ep.connect(now, b).unwrap();
        s.run_for(Duration::from_secs(5));
        let loser = 1 - winner;
        let lost = if loser == LAC { ta } else { tb };
        assert!(s.has_event(loser, |e| matches!(e, Event::TunnelDown { tunnel, reason: DownReason::Protocol(r) } if *tunnel == lost && r.result == result::STOPCCN_ALREADY_EXISTS)));
        assert_eq!(s.count(LAC, is_tunnel_up), 1);
        assert_eq!(s.count(LNS, is_tunnel_up), 1);
        assert_eq!(s.nodes[LAC].ep.tunnel_ids().len(), 1);
        assert_eq!(s.nodes[LNS].ep.tunnel_ids().len(), 1);
        assert_eq!(s.nodes[winner].ep.stats().tie_breaks_lost_by_peer, 1);
        assert!(s.sent(loser, MessageType::StopCcn).is_empty(), "silently");
    }
}

/// RFC 2661 §4.3: configured AVPs go hidden, each message with its own Random Vector; the
/// peer reveals them with the shared secret.
#[test]
fn hidden_avps_on_send_are_revealed_by_the_peer() {
    let lns = EndpointConfig {
        secret: Some(b"hide-me".to_vec()),
        ..lns_cfg()
    };
    let mut s = Sim::with(23, EndpointConfig::default(), lns);
    let now = s.now;
    let mut cfg = s.tunnel_cfg();
    cfg.secret = Some(b"hide-me".to_vec());
    cfg.hide_avps = SENSITIVE_AVPS.to_vec();
    let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    let sc = SessionConfig {
        calling_number: Some(b"0123456789".to_vec()),
        called_number: Some(b"555".to_vec()),
        ..SessionConfig::default()
    };
    s.nodes[LAC].ep.open_session(now, t, sc.clone()).unwrap();
    s.nodes[LAC].ep.open_session(now, t, sc).unwrap();
    assert!(s.run_until(Duration::from_secs(5), |s| s.count(LNS, is_session_up) == 2));
    // The ICRQs cannot be read without the secret; with it, Calling Number is hidden and
    // preceded by a Random Vector; the two vectors differ.
    let mut vectors = vec![];
    for p in s.log.iter().filter(|p| p.from == LAC && p.msg.is_none()) {
        let m = ControlMessage::parse(&p.bytes, Encap::Udp, Some(b"hide-me")).unwrap();
        assert_eq!(m.message_type(), Some(MessageType::Icrq));
        let rv = m
            .avps
            .iter()
            .position(|a| matches!(a.value, AvpValue::RandomVector(_)))
            .unwrap();
        let cn = m
            .avps
            .iter()
            .position(|a| matches!(a.value, AvpValue::CallingNumber(_)))
            .unwrap();
        assert!(rv < cn && m.avps[cn].hidden);
        vectors.push(m.avps[rv].value.clone());
    }
    assert_eq!(vectors.len(), 2);
    assert_ne!(vectors[0], vectors[1]);
    let ev = s.events(LNS);
    let Some(Event::SessionUp { params, .. }) = ev.iter().find(|e| is_session_up(e)) else {
        unreachable!()
    };
    assert_eq!(params.calling_number.as_deref(), Some(&b"0123456789"[..]));
}

/// RFC 2661 §4.4.5: proxy LCP and authentication AVPs from the LAC's ICCN reach the LNS's
/// SessionUp.
#[test]
fn proxy_avps_are_carried_to_session_up() {
    let mut s = Sim::with(24, EndpointConfig::default(), lns_cfg());
    let now = s.now;
    let cfg = s.tunnel_cfg();
    let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    let proxy = vec![
        AvpValue::InitialReceivedLcpConfreq(vec![1, 4, 5, 0xdc]),
        AvpValue::LastSentLcpConfreq(vec![1, 4, 5, 0xdc]),
        AvpValue::LastReceivedLcpConfreq(vec![3, 4, 0xc2, 0x23]),
        AvpValue::ProxyAuthenType(2),
        AvpValue::ProxyAuthenName(b"alice".to_vec()),
        AvpValue::ProxyAuthenChallenge(vec![7; 16]),
        AvpValue::ProxyAuthenId(9),
        AvpValue::ProxyAuthenResponse(vec![8; 16]),
    ];
    let sc = SessionConfig {
        calling_number: Some(b"42".to_vec()),
        proxy_avps: proxy.clone(),
        ..SessionConfig::default()
    };
    s.nodes[LAC].ep.open_session(now, t, sc).unwrap();
    assert!(s.run_until(Duration::from_secs(5), |s| s.count(LNS, is_session_up) == 1));
    let ev = s.events(LNS);
    let Some(Event::SessionUp { params, .. }) = ev.iter().find(|e| is_session_up(e)) else {
        unreachable!()
    };
    assert_eq!(params.proxy_avps, proxy);
    assert_eq!(params.calling_number.as_deref(), Some(&b"42"[..]));
}

/// Which node sends the first message of each type in the two scenarios.
fn scenario_of(mt: MessageType) -> (bool, usize) {
    use MessageType::*;
    match mt {
        Ocrq => (true, LNS),
        Ocrp | Occn => (true, LAC),
        Sccrp | Icrp | Sli => (false, LNS),
        _ => (false, LAC),
    }
}

/// RFC 2661 §6.1–6.16 and RFC 3931 §6.1–6.14, table-driven: for every message and every AVP it
/// MUST carry, a message without it is answered with StopCCN / CDN Result Code 2 (general
/// error), Error Code 3, and a message naming the missing AVP — or, when the missing AVP is
/// the sender's own tunnel / session ID (nothing to address an answer to), dropped without
/// creating state.
#[test]
fn every_required_avp_missing_is_answered_per_rfc() {
    use MessageType::*;
    let mut checked = 0;
    for version in [Version::V2, Version::V3] {
        for mt in [
            Sccrq, Sccrp, Icrq, Icrp, Iccn, Ocrq, Ocrp, Occn, Wen, Sli, Cdn, StopCcn,
        ] {
            for &attr in required_avps(version, mt) {
                if matches!(mt, Cdn | StopCcn) {
                    continue; // always honoured (see rules.rs); tested elsewhere
                }
                checked += 1;
                let (outgoing, sender) = scenario_of(mt);
                let receiver = 1 - sender;
                let mut s = Sim::with(30, EndpointConfig::default(), lns_cfg());
                let done = Rc::new(Cell::new(false));
                let d2 = done.clone();
                s.rewrite = Some(Box::new(move |from, m: &mut ControlMessage| {
                    if from == sender && m.message_type() == Some(mt) && !d2.get() {
                        m.avps
                            .retain(|a| a.value.vendor() != 0 || a.value.attr_type() != attr);
                        d2.set(true);
                    }
                }));
                let now = s.now;
                let cfg = cfg_for(&s, version);
                let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
                if !outgoing {
                    s.nodes[LAC]
                        .ep
                        .open_session(now, t, session_for(version))
                        .unwrap();
                }
                s.run_for(Duration::from_secs(3));
                if outgoing && s.count(LNS, is_tunnel_up) == 1 {
                    let lt = tunnel_of(&s, LNS);
                    let now = s.now;
                    s.nodes[LNS]
                        .ep
                        .open_outgoing_call(now, lt, session_for(version))
                        .unwrap();
                    s.run_for(Duration::from_secs(3));
                }
                if matches!(mt, Wen | Sli) {
                    let (tl, sl) = up_session(&s, LAC).unwrap();
                    let (tn, sn) = up_session(&s, LNS).unwrap();
                    let now = s.now;
                    s.nodes[LAC]
                        .ep
                        .send_wan_error_notify(now, tl, sl, CallErrors::default())
                        .unwrap();
                    s.nodes[LNS]
                        .ep
                        .send_set_link_info(now, tn, sn, Some((0, 0)), Some(1))
                        .unwrap();
                    s.run_for(Duration::from_secs(3));
                }
                assert!(done.get(), "{version:?} {mt} {attr}: message was sent");
                let answer = if matches!(mt, Sccrq | Sccrp) {
                    StopCcn
                } else {
                    Cdn
                };
                let answers: Vec<ResultCode> = s
                    .sent(receiver, answer)
                    .iter()
                    .filter_map(|p| {
                        p.msg.as_ref()?.find(|v| match v {
                            AvpValue::ResultCode(r) => Some(r.clone()),
                            _ => None,
                        })
                    })
                    .collect();
                let own_id = matches!(attr, 9 | 61) && mt == Sccrq
                    || matches!(attr, 14 | 63) && matches!(mt, Icrq | Ocrq)
                    || attr == 64 && matches!(mt, Icrp | Ocrp | Iccn | Occn | Wen | Sli);
                let ctx = format!("{version:?} {mt} without attribute {attr}: {answers:?}");
                if own_id {
                    assert!(answers.is_empty(), "{ctx}");
                    assert_eq!(
                        s.count(receiver, |e| matches!(e, Event::SessionUp { .. })
                            && matches!(mt, Icrq | Ocrq)),
                        0,
                        "{ctx}"
                    );
                } else {
                    // One answer (possibly retransmitted).
                    let Some(r) = answers.first() else {
                        panic!("{ctx}: expected an answer");
                    };
                    assert!(answers.iter().all(|a| a == r), "{ctx}");
                    let code = if answer == StopCcn {
                        result::STOPCCN_GENERAL_ERROR
                    } else {
                        result::CDN_GENERAL_ERROR
                    };
                    assert_eq!(r.result, code, "{ctx}");
                    assert_eq!(r.error, Some(error_code::BAD_VALUE), "{ctx}");
                    let text = String::from_utf8_lossy(r.message.as_deref().unwrap_or_default())
                        .to_string();
                    assert!(text.starts_with("missing"), "{ctx}");
                    // The sender learns why (unless it did not say who it is).
                    let unaddressable = matches!(attr, 9 | 61) && mt == Sccrp;
                    assert!(
                        unaddressable
                            || s.has_event(sender, |e| matches!(e,
                            Event::SessionDown { reason: DownReason::Peer(r), .. }
                            | Event::TunnelDown { reason: DownReason::Peer(r), .. }
                            if r.result == code)),
                        "{ctx}"
                    );
                }
            }
        }
    }
    assert!(checked >= 40, "{checked}");
}

/// RFC 2661 §4.4.2 CDN Result Code 10 ("not established within time allotted"): a call whose
/// set-up stalls (here: the v3 ICRP lost its Remote Session ID, so the LAC cannot match it) is
/// cleared on both sides by the call set-up timer while the tunnel stays up — no session is
/// held forever.
#[test]
fn stalled_call_setup_times_out_with_cdn_10_and_nothing_is_held() {
    let mut s = Sim::with(25, EndpointConfig::default(), lns_cfg());
    s.rewrite = Some(Box::new(|from, m: &mut ControlMessage| {
        if from == LNS && m.message_type() == Some(MessageType::Icrp) {
            m.avps
                .retain(|a| !matches!(a.value, AvpValue::RemoteSessionId(_)));
        }
    }));
    let now = s.now;
    let mut cfg = cfg_for(&s, Version::V3);
    cfg.hello_interval = Some(Duration::from_secs(10));
    let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    s.nodes[LAC]
        .ep
        .open_session(now, t, session_for(Version::V3))
        .unwrap();
    s.run_for(Duration::from_secs(10));
    assert_eq!(s.nodes[LAC].ep.session_counts(), (1, 1));
    assert_eq!(s.nodes[LNS].ep.session_counts(), (1, 1));
    s.run_for(Duration::from_secs(120));
    assert!(s.has_event(LAC, |e| matches!(
        e,
        Event::SessionDown {
            reason: DownReason::Timeout,
            ..
        }
    )));
    assert!(s.has_event(LNS, |e| matches!(e, Event::SessionDown { reason: DownReason::Peer(r), .. } if r.result == result::CDN_TIMEOUT)
        || matches!(e, Event::SessionDown { reason: DownReason::Timeout, .. })));
    for n in [LAC, LNS] {
        assert_eq!(s.nodes[n].ep.session_counts(), (0, 0), "node {n}");
        assert_eq!(s.count(n, is_tunnel_down), 0, "tunnel stays up");
    }
}
