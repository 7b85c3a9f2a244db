//! Access concentrator state machine: the RFC 2516 §5 exchange and its refusals.

mod common;

use std::time::Duration;

use common::*;
use l2tp_pppoe::ac::{Error, Event, Reject, SessionState};
use l2tp_pppoe::codec::{tag_type, Code, Tag, BROADCAST};

fn requested(ac: &mut l2tp_pppoe::AccessConcentrator) -> u16 {
    match ac.poll_event() {
        Some(Event::SessionRequested { session_id, .. }) => session_id,
        other => panic!("expected SessionRequested, got {other:?}"),
    }
}

#[test]
fn padi_pado_padr_pads_padt_full_exchange() {
    let (mut ac, now) = ac(config());
    ac.handle_frame(now, &padi(CLIENT, "isp-b", Some(b"hu-1")));
    let pado = one_tx(&mut ac);
    assert_eq!(pado.code, Code::Pado);
    assert_eq!(pado.session_id, 0);
    assert_eq!((pado.eth.dst, pado.eth.src), (CLIENT, AC_MAC));
    assert_eq!(
        pado.find(tag_type::AC_NAME),
        Some(&Tag::AcName(b"test-ac".to_vec()))
    );
    // The requested Service-Name first, then the other offered ones (RFC 2516 §5.2).
    let services: Vec<_> = pado
        .tags
        .iter()
        .filter_map(|t| match t {
            Tag::ServiceName(s) => Some(s.as_slice()),
            _ => None,
        })
        .collect();
    assert_eq!(services, vec![&b"isp-b"[..], &b"isp-a"[..]]);
    assert_eq!(
        pado.find(tag_type::HOST_UNIQ),
        Some(&Tag::HostUniq(b"hu-1".to_vec()))
    );
    let cookie = cookie_of(&pado);
    assert_eq!(cookie.len(), 20);
    // Nothing is held for a PADI.
    assert_eq!(ac.table_sizes().sessions, 0);
    assert_eq!(ac.table_sizes().requests, 0);

    ac.handle_frame(now, &padr(CLIENT, "isp-b", Some(b"hu-1"), &cookie));
    assert!(
        ac.poll_transmit().is_none(),
        "no PADS before the runtime accepts"
    );
    let ev = ac.poll_event().expect("event");
    let Event::SessionRequested {
        mac,
        session_id,
        service,
        host_uniq,
        relay_session_id,
        ..
    } = ev
    else {
        panic!("{ev:?}")
    };
    assert_eq!((mac, service.as_slice()), (CLIENT, &b"isp-b"[..]));
    assert_eq!(host_uniq.as_deref(), Some(&b"hu-1"[..]));
    assert_eq!(relay_session_id, None);
    assert!((1..=0xfffe).contains(&session_id));
    assert_eq!(
        ac.session(session_id).map(|s| s.state),
        Some(SessionState::Pending)
    );

    ac.accept(session_id).expect("accept");
    let pads = one_tx(&mut ac);
    assert_eq!((pads.code, pads.session_id), (Code::Pads, session_id));
    assert_eq!(
        pads.find(tag_type::SERVICE_NAME),
        Some(&Tag::ServiceName(b"isp-b".to_vec()))
    );
    assert_eq!(
        pads.find(tag_type::HOST_UNIQ),
        Some(&Tag::HostUniq(b"hu-1".to_vec()))
    );
    assert_eq!(
        ac.session(session_id).map(|s| s.state),
        Some(SessionState::Open)
    );
    assert_eq!(ac.accept(session_id), Err(Error::NotPending(session_id)));

    let padt = frame(
        AC_MAC,
        CLIENT,
        Code::Padt,
        session_id,
        vec![Tag::GenericError(b"bye".to_vec())],
    );
    ac.handle_frame(now, &padt);
    assert_eq!(
        ac.poll_event(),
        Some(Event::SessionTerminated {
            mac: CLIENT,
            session_id,
            reason: Some("bye".into())
        })
    );
    assert!(ac.session(session_id).is_none());
    let sz = ac.table_sizes();
    assert_eq!((sz.sessions, sz.requests, sz.macs), (0, 0, 0));
    let c = ac.counters();
    assert_eq!(
        (c.padi_in, c.pado_out, c.padr_in, c.pads_out, c.padt_in),
        (1, 1, 1, 1, 1)
    );
}

#[test]
fn wrong_cookie_refused_without_state_or_answer() {
    let (mut ac, now) = ac(config());
    let mut cookie = discover(&mut ac, now, CLIENT, None);
    cookie[0] ^= 1;
    ac.handle_frame(now, &padr(CLIENT, "isp-a", None, &cookie));
    ac.handle_frame(now, &padr(CLIENT, "isp-a", None, &cookie[..19]));
    // A PADR without any cookie.
    let no_cookie = frame(
        AC_MAC,
        CLIENT,
        Code::Padr,
        0,
        vec![Tag::ServiceName(vec![])],
    );
    ac.handle_frame(now, &no_cookie);
    assert!(ac.poll_transmit().is_none());
    assert!(ac.poll_event().is_none());
    assert_eq!(ac.table_sizes().sessions, 0);
    assert_eq!(ac.counters().bad_cookie, 3);
}

#[test]
fn cookie_from_another_mac_or_host_uniq_refused() {
    let (mut ac, now) = ac(config());
    let cookie = discover(&mut ac, now, CLIENT, Some(b"a"));
    let other = [0x02, 0xc1, 0, 0, 0, 2];
    ac.handle_frame(now, &padr(other, "isp-a", Some(b"a"), &cookie));
    ac.handle_frame(now, &padr(CLIENT, "isp-a", Some(b"b"), &cookie));
    assert!(ac.poll_event().is_none());
    assert_eq!(ac.counters().bad_cookie, 2);
    // The right MAC and Host-Uniq still work.
    ac.handle_frame(now, &padr(CLIENT, "isp-a", Some(b"a"), &cookie));
    requested(&mut ac);
}

#[test]
fn cookie_valid_for_one_to_two_lifetimes_then_expired() {
    let (mut ac, now) = ac(config());
    let cookie = discover(&mut ac, now, CLIENT, None);
    // Still valid in the next bucket (30..60 s after issue).
    ac.handle_frame(
        now + Duration::from_secs(45),
        &padr(CLIENT, "isp-a", None, &cookie),
    );
    let id = requested(&mut ac);
    ac.reject(id, Reject::System("test".into()))
        .expect("reject");
    ac.poll_transmit();
    // Two buckets later it is refused.
    ac.handle_frame(
        now + Duration::from_secs(61),
        &padr(CLIENT, "isp-a", None, &cookie),
    );
    assert!(ac.poll_event().is_none());
    assert!(ac.poll_transmit().is_none());
    assert_eq!(ac.counters().bad_cookie, 1);
}

#[test]
fn duplicate_padr_returns_the_same_session() {
    let (mut ac, now) = ac(config());
    let cookie = discover(&mut ac, now, CLIENT, Some(b"x"));
    let req = padr(CLIENT, "isp-a", Some(b"x"), &cookie);
    ac.handle_frame(now, &req);
    let id = requested(&mut ac);
    // Retransmitted while pending: nothing new.
    ac.handle_frame(now, &req);
    assert!(ac.poll_event().is_none());
    assert!(ac.poll_transmit().is_none());
    ac.accept(id).expect("accept");
    assert_eq!(one_tx(&mut ac).session_id, id);
    // Retransmitted after the PADS (PADS lost): the same PADS again.
    ac.handle_frame(now + Duration::from_secs(1), &req);
    let again = one_tx(&mut ac);
    assert_eq!((again.code, again.session_id), (Code::Pads, id));
    assert!(ac.poll_event().is_none());
    assert_eq!(ac.table_sizes().sessions, 1);
    assert_eq!(ac.counters().padr_retransmit, 2);
}

#[test]
fn service_not_offered_padi_ignored_padr_gets_service_name_error() {
    let (mut ac, now) = ac(config());
    ac.handle_frame(now, &padi(CLIENT, "isp-z", None));
    assert!(
        ac.poll_transmit().is_none(),
        "RFC 2516 §5.2: no PADO for a service not served"
    );
    // A PADR for a service not offered, with a cookie from a PADI for any service.
    let cookie = discover(&mut ac, now, CLIENT, None);
    ac.handle_frame(now, &padr(CLIENT, "isp-z", None, &cookie));
    let pads = one_tx(&mut ac);
    assert_eq!((pads.code, pads.session_id), (Code::Pads, 0));
    assert!(matches!(
        pads.find(tag_type::SERVICE_NAME_ERROR),
        Some(Tag::ServiceNameError(_))
    ));
    assert!(ac.poll_event().is_none());
    assert_eq!(ac.table_sizes().sessions, 0);
    assert_eq!(ac.counters().refused.service_not_offered, 2);
}

#[test]
fn empty_service_list_accepts_any_service_and_echoes_it() {
    let mut cfg = config();
    cfg.services.clear();
    let (mut ac, now) = ac(cfg);
    ac.handle_frame(now, &padi(CLIENT, "whatever", None));
    let pado = one_tx(&mut ac);
    assert_eq!(pado.count(tag_type::SERVICE_NAME), 1);
    assert_eq!(
        pado.find(tag_type::SERVICE_NAME),
        Some(&Tag::ServiceName(b"whatever".to_vec()))
    );
}

#[test]
fn per_mac_limit_refuses_with_ac_system_error() {
    let (mut ac, now) = ac(config()); // 2 per MAC
    for hu in [b"1", b"2"] {
        let c = discover(&mut ac, now, CLIENT, Some(hu));
        ac.handle_frame(now, &padr(CLIENT, "isp-a", Some(hu), &c));
        requested(&mut ac);
    }
    let c = discover(&mut ac, now, CLIENT, Some(b"3"));
    ac.handle_frame(now, &padr(CLIENT, "isp-a", Some(b"3"), &c));
    let pads = one_tx(&mut ac);
    assert_eq!(pads.session_id, 0);
    assert!(matches!(
        pads.find(tag_type::AC_SYSTEM_ERROR),
        Some(Tag::AcSystemError(_))
    ));
    assert_eq!(ac.counters().refused.max_sessions_per_mac, 1);
    // Another MAC is not affected.
    let other = [0x02, 0xc1, 0, 0, 0, 9];
    let c = discover(&mut ac, now, other, None);
    ac.handle_frame(now, &padr(other, "isp-a", None, &c));
    requested(&mut ac);
}

#[test]
fn max_sessions_limit_refuses() {
    let mut cfg = config();
    cfg.max_sessions = 1;
    let (mut ac, now) = ac(cfg);
    let c = discover(&mut ac, now, CLIENT, None);
    ac.handle_frame(now, &padr(CLIENT, "", None, &c));
    requested(&mut ac);
    let other = [0x02, 0xc1, 0, 0, 0, 9];
    let c = discover(&mut ac, now, other, None);
    ac.handle_frame(now, &padr(other, "", None, &c));
    assert_eq!(one_tx(&mut ac).session_id, 0);
    assert_eq!(ac.counters().refused.max_sessions, 1);
}

#[test]
fn session_ids_unique_never_0_or_ffff_exhaustion_refused_and_reuse_oldest_first() {
    let mut cfg = config();
    cfg.max_sessions = u32::MAX;
    cfg.max_sessions_per_mac = u32::MAX;
    cfg.rate_limit = None;
    let (mut ac, now) = ac(cfg);
    let mut seen = vec![false; 0x10000];
    let mut n = 0u32;
    loop {
        let hu = n.to_be_bytes();
        let c = discover(&mut ac, now, CLIENT, Some(&hu));
        ac.handle_frame(now, &padr(CLIENT, "", Some(&hu), &c));
        n += 1;
        match ac.poll_event() {
            Some(Event::SessionRequested { session_id, .. }) => {
                assert!(session_id != 0 && session_id != 0xffff);
                assert!(
                    !seen[usize::from(session_id)],
                    "ID {session_id} handed out twice"
                );
                seen[usize::from(session_id)] = true;
            }
            None => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        n - 1,
        0xfffe,
        "all 65534 IDs were handed out before refusing"
    );
    assert_eq!(ac.counters().refused.session_ids_exhausted, 1);
    assert_eq!(one_tx(&mut ac).session_id, 0);
    // Free two; they come back oldest first.
    ac.terminate(7, "").expect("terminate");
    ac.terminate(3, "").expect("terminate");
    ac.poll_transmit();
    ac.poll_transmit();
    let mut got = Vec::new();
    for hu in [b"new1", b"new2"] {
        let c = discover(&mut ac, now, CLIENT, Some(hu));
        ac.handle_frame(now, &padr(CLIENT, "", Some(hu), &c));
        got.push(requested(&mut ac));
    }
    assert_eq!(got, vec![7, 3]);
}

#[test]
fn reject_sends_pads_error_and_frees_the_id() {
    let (mut ac, now) = ac(config());
    let c = discover(&mut ac, now, CLIENT, None);
    ac.handle_frame(now, &padr(CLIENT, "isp-a", None, &c));
    let id = requested(&mut ac);
    ac.reject(id, Reject::ServiceName("no LNS".into()))
        .expect("reject");
    let pads = one_tx(&mut ac);
    assert_eq!(pads.session_id, 0);
    assert_eq!(
        pads.find(tag_type::SERVICE_NAME_ERROR),
        Some(&Tag::ServiceNameError(b"no LNS".to_vec()))
    );
    assert!(ac.session(id).is_none());
    assert_eq!(
        ac.reject(id, Reject::System("x".into())),
        Err(Error::UnknownSession(id))
    );
    assert_eq!(ac.counters().refused.by_runtime, 1);
}

#[test]
fn terminate_sends_padt_with_generic_error() {
    let (mut ac, now) = ac(config());
    let c = discover(&mut ac, now, CLIENT, None);
    ac.handle_frame(now, &padr(CLIENT, "isp-a", None, &c));
    let id = requested(&mut ac);
    ac.accept(id).unwrap();
    ac.poll_transmit();
    ac.terminate(id, "LNS closed the call").expect("terminate");
    let padt = one_tx(&mut ac);
    assert_eq!(
        (padt.code, padt.session_id, padt.eth.dst),
        (Code::Padt, id, CLIENT)
    );
    assert_eq!(
        padt.find(tag_type::GENERIC_ERROR),
        Some(&Tag::GenericError(b"LNS closed the call".to_vec()))
    );
    assert!(ac.poll_event().is_none(), "no event for our own terminate");
    assert_eq!(ac.terminate(id, ""), Err(Error::UnknownSession(id)));
}

#[test]
fn padt_from_another_mac_or_unknown_session_ignored() {
    let (mut ac, now) = ac(config());
    let c = discover(&mut ac, now, CLIENT, None);
    ac.handle_frame(now, &padr(CLIENT, "isp-a", None, &c));
    let id = requested(&mut ac);
    let other = [0x02, 0xc1, 0, 0, 0, 9];
    ac.handle_frame(now, &frame(AC_MAC, other, Code::Padt, id, vec![]));
    ac.handle_frame(
        now,
        &frame(AC_MAC, CLIENT, Code::Padt, id.wrapping_add(1), vec![]),
    );
    assert!(ac.poll_event().is_none());
    assert!(ac.session(id).is_some());
    assert_eq!(ac.counters().ignored, 2);
}

#[test]
fn relay_session_id_echoed_in_pado_and_pads() {
    let (mut ac, now) = ac(config());
    let relay = Tag::RelaySessionId(b"relay-42".to_vec());
    ac.handle_frame(
        now,
        &frame(
            BROADCAST,
            CLIENT,
            Code::Padi,
            0,
            vec![Tag::ServiceName(vec![]), relay.clone()],
        ),
    );
    let pado = one_tx(&mut ac);
    assert_eq!(pado.find(tag_type::RELAY_SESSION_ID), Some(&relay));
    let c = cookie_of(&pado);
    ac.handle_frame(
        now,
        &frame(
            AC_MAC,
            CLIENT,
            Code::Padr,
            0,
            vec![Tag::ServiceName(vec![]), Tag::AcCookie(c), relay.clone()],
        ),
    );
    let Some(Event::SessionRequested {
        session_id,
        relay_session_id,
        ..
    }) = ac.poll_event()
    else {
        panic!("no request")
    };
    assert_eq!(relay_session_id.as_deref(), Some(&b"relay-42"[..]));
    ac.accept(session_id).unwrap();
    assert_eq!(
        one_tx(&mut ac).find(tag_type::RELAY_SESSION_ID),
        Some(&relay)
    );
}

#[test]
fn ppp_max_payload_answered_with_the_minimum_when_enabled() {
    let mut cfg = config();
    cfg.max_payload = Some(1500);
    let (mut ac, now) = ac(cfg);
    ac.handle_frame(
        now,
        &frame(
            BROADCAST,
            CLIENT,
            Code::Padi,
            0,
            vec![Tag::ServiceName(vec![]), Tag::PppMaxPayload(9000)],
        ),
    );
    assert_eq!(
        one_tx(&mut ac).find(tag_type::PPP_MAX_PAYLOAD),
        Some(&Tag::PppMaxPayload(1500))
    );
    // Disabled: the tag is not echoed.
    let (mut ac, now) = common::ac(config());
    ac.handle_frame(
        now,
        &frame(
            BROADCAST,
            CLIENT,
            Code::Padi,
            0,
            vec![Tag::ServiceName(vec![]), Tag::PppMaxPayload(1500)],
        ),
    );
    assert_eq!(one_tx(&mut ac).find(tag_type::PPP_MAX_PAYLOAD), None);
}

#[test]
fn rate_limit_counts_refusals_and_refills_over_time() {
    let mut cfg = config();
    cfg.rate_limit = Some(l2tp_pppoe::RateLimit {
        per_second: 10,
        burst: 5,
    });
    let (mut ac, now) = ac(cfg);
    for _ in 0..20 {
        ac.handle_frame(now, &padi(CLIENT, "", None));
    }
    let mut sent = 0;
    while ac.poll_transmit().is_some() {
        sent += 1;
    }
    assert_eq!(sent, 5);
    assert_eq!(ac.counters().refused.rate_limited, 15);
    // 0.5 s later, 5 more tokens.
    for _ in 0..20 {
        ac.handle_frame(now + Duration::from_millis(500), &padi(CLIENT, "", None));
    }
    assert_eq!(ac.counters().pado_out, 10);
}

#[test]
fn malformed_discovery_refused_padi_rules() {
    let (mut ac, now) = ac(config());
    // No Service-Name.
    ac.handle_frame(now, &frame(BROADCAST, CLIENT, Code::Padi, 0, vec![]));
    // Two Service-Names.
    ac.handle_frame(
        now,
        &frame(
            BROADCAST,
            CLIENT,
            Code::Padi,
            0,
            vec![Tag::ServiceName(vec![]), Tag::ServiceName(vec![])],
        ),
    );
    // Non-zero session ID.
    ac.handle_frame(
        now,
        &frame(
            BROADCAST,
            CLIENT,
            Code::Padi,
            5,
            vec![Tag::ServiceName(vec![])],
        ),
    );
    // Multicast source.
    ac.handle_frame(
        now,
        &frame(
            BROADCAST,
            [0x01, 0, 0x5e, 0, 0, 1],
            Code::Padi,
            0,
            vec![Tag::ServiceName(vec![])],
        ),
    );
    // Garbage.
    ac.handle_frame(now, &[0u8; 3]);
    assert!(ac.poll_transmit().is_none());
    assert_eq!(ac.counters().malformed, 5);
    // A Session-stage frame handed in by mistake is not malformed, just not ours.
    let mut session = padi(CLIENT, "", None);
    session[13] = 0x64;
    ac.handle_frame(now, &session);
    assert_eq!((ac.counters().malformed, ac.counters().ignored), (5, 1));
}

#[test]
fn padr_to_another_ac_ignored() {
    let (mut ac, now) = ac(config());
    let c = discover(&mut ac, now, CLIENT, None);
    let mut f = padr(CLIENT, "", None, &c);
    f[5] ^= 0xff; // destination MAC of another AC
    ac.handle_frame(now, &f);
    assert!(ac.poll_event().is_none());
    assert_eq!(ac.counters().ignored, 1);
}

#[test]
fn vlan_tag_of_the_request_kept_in_answers() {
    use l2tp_pppoe::codec::{Discovery, Vlan};
    let (mut ac, now) = ac(config());
    let mut p = Discovery::parse(&padi(CLIENT, "", None)).unwrap();
    p.eth.vlan = Some(Vlan { id: 100, pcp: 3 });
    ac.handle_frame(now, &p.to_bytes().unwrap());
    let pado = one_tx(&mut ac);
    assert_eq!(pado.eth.vlan, Some(Vlan { id: 100, pcp: 3 }));
}
