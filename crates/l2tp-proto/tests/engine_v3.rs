//! L2TPv3 (RFC 3931) control connections and sessions between two of our endpoints on the
//! simulated network, over UDP and IP: explicit ACK, session parameters (cookies, L2-Specific
//! Sublayer, Data Sequencing), Message Digest with nonces, per-endpoint session-ID uniqueness,
//! version fallback, quiescent tunnels.

#[path = "sim_harness.rs"]
mod sim;

use std::collections::HashSet;
use std::time::Duration;

use l2tp_proto::endpoint::{
    DigestAlg, DownReason, EndpointConfig, Event, SessionConfig, SessionParams, TunnelId,
};
use l2tp_proto::wire::{pw_type, result, AvpValue, Encap, MessageType, ResultCode, Version};
use sim::*;

fn lns_v3() -> EndpointConfig {
    EndpointConfig {
        accept_v3_incoming: true,
        host_name: b"lns.example".to_vec(),
        router_id: 0x0a00_0002,
        session_defaults: SessionConfig {
            cookie: vec![0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4],
            l2_specific: 1,
            data_sequencing: 0,
            ..SessionConfig::default()
        },
        ..EndpointConfig::default()
    }
}

fn v3_sim(seed: u64, lns: EndpointConfig) -> Sim {
    Sim::with(seed, EndpointConfig::default(), lns)
}

fn eth_session() -> SessionConfig {
    SessionConfig {
        pseudowire: pw_type::ETHERNET,
        cookie: vec![9, 8, 7, 6],
        l2_specific: 1,
        data_sequencing: 2,
        remote_end_id: b"circuit-7".to_vec(),
        interface_name: Some("l2tpeth7".into()),
        ..SessionConfig::default()
    }
}

fn session_params(s: &Sim, node: usize) -> Vec<(u32, u32, SessionParams)> {
    s.nodes[node]
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::SessionUp {
                session,
                peer_session_id,
                params,
                pseudowire,
                ..
            } => {
                assert_eq!(*pseudowire, pw_type::ETHERNET);
                Some((session.0, *peer_session_id, params.clone()))
            }
            _ => None,
        })
        .collect()
}

fn up_both(s: &mut Sim, limit: Duration) -> bool {
    s.run_until(limit, |s| {
        s.count(LAC, is_session_up) == 1 && s.count(LNS, is_session_up) == 1
    })
}

/// RFC 3931 §3.3 / §3.4.1: SCCRQ/SCCRP/SCCCN then ICRQ/ICRP/ICCN; both ends learn the other's
/// cookie, sublayer and sequencing (§5.4.4); v3 acknowledges with explicit ACK (§4.2, §6.15).
fn v3_session_comes_up(encap: Encap) {
    let mut s = v3_sim(1, lns_v3());
    let now = s.now;
    let cfg = s.tunnel_cfg_v3(encap);
    let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    assert!(t.0 != 0);
    s.nodes[LAC].ep.open_session(now, t, eth_session()).unwrap();
    assert!(up_both(&mut s, Duration::from_secs(5)));
    let ev = s.events(LAC);
    let Some(Event::TunnelUp {
        version,
        encap: e,
        peer_tunnel_id,
        peer_host_name,
        ..
    }) = ev.iter().find(|e| is_tunnel_up(e))
    else {
        panic!("no TunnelUp");
    };
    assert_eq!((*version, *e), (Version::V3, encap));
    assert_ne!(*peer_tunnel_id, 0);
    assert_eq!(peer_host_name, b"lns.example");
    let lac = session_params(&s, LAC);
    let lns = session_params(&s, LNS);
    assert_eq!(lac[0].1, lns[0].0, "peer session IDs match");
    assert_eq!(lns[0].1, lac[0].0);
    let (lp, np) = (&lac[0].2, &lns[0].2);
    assert_eq!(lp.local_cookie, vec![9, 8, 7, 6]);
    assert_eq!(lp.peer_cookie, vec![0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4]);
    assert_eq!(np.peer_cookie, lp.local_cookie);
    assert_eq!(np.local_cookie, lp.peer_cookie);
    assert_eq!((lp.l2_specific, lp.peer_l2_specific), (1, 1));
    assert_eq!((np.l2_specific, np.peer_l2_specific), (1, 1));
    assert_eq!((lp.data_sequencing, np.peer_data_sequencing), (2, 2));
    assert_eq!(np.remote_end_id, b"circuit-7");
    assert_eq!(lp.interface_name.as_deref(), Some("l2tpeth7"));
    assert!(!lp.peer_initiated && np.peer_initiated);
    assert_eq!(np.peer_circuit_status, Some(3));
    // Explicit ACKs, no ZLBs, and every packet uses the tunnel's encapsulation.
    assert!(s.zlbs(LAC).is_empty() && s.zlbs(LNS).is_empty());
    assert!(!s.sent(LNS, MessageType::Ack).is_empty());
    assert!(s.log.iter().all(|p| p.msg.is_some()));
    // Teardown: CDN from the LNS, then StopCCN from the LAC.
    let now = s.now;
    let rc = ResultCode {
        result: result::CDN_ADMIN,
        error: None,
        message: None,
    };
    let (lns_t, lns_sid) = match s.events(LNS).iter().find(|e| is_session_up(e)) {
        Some(Event::SessionUp {
            tunnel, session, ..
        }) => (*tunnel, *session),
        _ => unreachable!(),
    };
    s.nodes[LNS]
        .ep
        .close_session(now, lns_t, lns_sid, rc.clone())
        .unwrap();
    s.run_for(Duration::from_secs(1));
    assert!(s.has_event(LAC, |e| matches!(e, Event::SessionDown { reason: DownReason::Peer(r), .. } if r.result == result::CDN_ADMIN)));
    let now = s.now;
    s.nodes[LAC].ep.close_tunnel(now, t, rc).unwrap();
    s.run_for(Duration::from_secs(40));
    assert_eq!(s.count(LAC, is_tunnel_down), 1);
    assert_eq!(s.count(LNS, is_tunnel_down), 1);
    for n in [LAC, LNS] {
        assert_eq!(s.nodes[n].ep.session_counts(), (0, 0));
        assert!(s.nodes[n].ep.tunnel_ids().is_empty());
    }
}

#[test]
fn v3_over_udp_tunnel_and_ethernet_session_come_up_with_cookies_and_go_down() {
    v3_session_comes_up(Encap::Udp);
}

#[test]
fn v3_over_ip_encapsulation_tunnel_and_session_come_up() {
    v3_session_comes_up(Encap::Ip);
}

#[test]
fn v3_ip_encap_transmits_start_with_zero_session_id() {
    let mut s = v3_sim(2, lns_v3());
    let now = s.now;
    let cfg = s.tunnel_cfg_v3(Encap::Ip);
    s.nodes[LAC].ep.connect(now, cfg).unwrap();
    let tx = s.nodes[LAC].ep.poll_transmit().unwrap();
    assert_eq!(tx.encap, Encap::Ip);
    assert_eq!(&tx.payload[..4], &[0, 0, 0, 0]);
    assert_eq!(
        tx.payload[5] & 0x0f,
        3,
        "version 3 header after the session ID"
    );
}

/// RFC 3931 §4.1 / §5.4.4: Session IDs are unique per LCCE, across all control connections.
#[test]
fn v3_session_ids_are_unique_across_tunnels_on_one_endpoint() {
    let mut s = v3_sim(3, lns_v3());
    let now = s.now;
    let mut tunnels = vec![];
    for _ in 0..20 {
        let cfg = s.tunnel_cfg_v3(Encap::Udp);
        let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
        for _ in 0..10 {
            s.nodes[LAC].ep.open_session(now, t, eth_session()).unwrap();
        }
        tunnels.push(t);
    }
    assert!(
        s.run_until(Duration::from_secs(20), |s| s.count(LNS, is_session_up)
            == 200
            && s.count(LAC, is_session_up) == 200)
    );
    for n in [LAC, LNS] {
        let ids: HashSet<u32> = session_params(&s, n).iter().map(|x| x.0).collect();
        assert_eq!(ids.len(), 200, "node {n}: all local session IDs distinct");
        assert_eq!(s.nodes[n].ep.session_counts(), (200, 200));
    }
    // A requested ID already used in another tunnel is refused.
    let used = session_params(&s, LAC)[0].0;
    let cfg = SessionConfig {
        local_session_id: Some(used),
        ..eth_session()
    };
    let other = tunnels[19];
    let now = s.now;
    let r = s.nodes[LAC].ep.open_session(now, other, cfg);
    assert!(r.is_err(), "{r:?}");
}

/// RFC 3931 §5.4.3 Pseudowire Type / §5.4.4 Result Code 14: unsupported pseudowire refused.
#[test]
fn v3_icrq_for_unsupported_pseudowire_gets_cdn_14() {
    let mut s = v3_sim(4, lns_v3());
    let now = s.now;
    let cfg = s.tunnel_cfg_v3(Encap::Udp);
    let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    let sc = SessionConfig {
        pseudowire: pw_type::FRAME_RELAY,
        ..SessionConfig::default()
    };
    s.nodes[LAC].ep.open_session(now, t, sc).unwrap();
    s.run_for(Duration::from_secs(3));
    assert!(s.has_event(LAC, |e| matches!(e, Event::SessionDown { reason: DownReason::Peer(r), .. } if r.result == result::CDN_UNSUPPORTED_PW)));
    assert_eq!(s.count(LNS, is_session_up), 0);
    assert_eq!(s.nodes[LNS].ep.session_counts(), (0, 0));
}

fn digest_sim(seed: u64, lac_alg: Option<DigestAlg>, lac_secret: &[u8]) -> (Sim, TunnelId) {
    let lns = EndpointConfig {
        secret: Some(b"v3-secret".to_vec()),
        digest: Some(DigestAlg::HmacMd5),
        max_retries: 10,
        ..lns_v3()
    };
    let mut s = v3_sim(seed, lns);
    let now = s.now;
    let mut cfg = s.tunnel_cfg_v3(Encap::Udp);
    cfg.secret = Some(lac_secret.to_vec());
    cfg.digest = lac_alg;
    cfg.max_retries = 10;
    let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    s.nodes[LAC].ep.open_session(now, t, eth_session()).unwrap();
    (s, t)
}

/// RFC 3931 §4.3, §5.4.1: with Control Message Authentication every message (ACK included)
/// carries a Message Digest right after the Message Type, and the nonces are exchanged in
/// SCCRQ/SCCRP.
#[test]
fn v3_message_digest_md5_and_sha1_tunnel_comes_up_and_every_message_is_signed() {
    for (seed, alg, len) in [(5, DigestAlg::HmacMd5, 16), (6, DigestAlg::HmacSha1, 20)] {
        let (mut s, _) = digest_sim(seed, Some(alg), b"v3-secret");
        assert!(up_both(&mut s, Duration::from_secs(5)), "{alg:?}");
        assert_eq!(s.nodes[LAC].ep.stats().auth_failures, 0);
        assert_eq!(s.nodes[LNS].ep.stats().auth_failures, 0);
        // Each side signs with its own configured algorithm (the LNS: MD5).
        for p in &s.log {
            let m = p.msg.as_ref().unwrap();
            let want = if p.from == LAC { len } else { 16 };
            assert!(
                matches!(&m.avps[1].value, AvpValue::MessageDigest { digest, .. } if digest.len() == want),
                "{m:?}"
            );
        }
        let sccrq = s.sent(LAC, MessageType::Sccrq)[0].msg.clone().unwrap();
        assert!(sccrq
            .avps
            .iter()
            .any(|a| matches!(a.value, AvpValue::ControlMessageAuthNonce(_))));
    }
}

/// RFC 3931 §5.4.1: "If the calculation fails, the message MUST be dropped."
#[test]
fn v3_wrong_secret_is_dropped_and_counted_and_tunnel_never_comes_up() {
    let (mut s, _) = digest_sim(7, Some(DigestAlg::HmacMd5), b"not-the-secret");
    s.run_for(Duration::from_secs(120));
    assert_eq!(s.count(LAC, is_tunnel_up), 0);
    assert_eq!(s.count(LNS, is_tunnel_up), 0);
    assert!(s.nodes[LNS].ep.stats().auth_failures >= 1);
    assert!(s.nodes[LNS].ep.tunnel_ids().is_empty());
    assert!(s.has_event(LAC, |e| matches!(
        e,
        Event::TunnelDown {
            reason: DownReason::Timeout,
            ..
        }
    )));
}

#[test]
fn v3_missing_digest_is_dropped_when_authentication_is_required() {
    let (mut s, _) = digest_sim(8, None, b"v3-secret");
    s.run_for(Duration::from_secs(60));
    assert_eq!(s.count(LNS, is_tunnel_up), 0);
    assert!(s.nodes[LNS].ep.stats().auth_failures >= 1);
}

/// A corrupted signed message fails the digest (or the codec) and is dropped; retransmission
/// recovers (RFC 3931 §4.2, §4.3).
#[test]
fn v3_digest_detects_corruption_and_retransmission_recovers() {
    let mut caught = 0;
    for seed in 0..10 {
        let (mut s, _) = digest_sim(100 + seed, Some(DigestAlg::HmacSha1), b"v3-secret");
        s.faults.corrupt = 0.3;
        let ok = up_both(&mut s, Duration::from_secs(120));
        assert!(ok, "seed {seed}");
        for n in [LAC, LNS] {
            let st = s.nodes[n].ep.stats();
            caught += st.auth_failures + st.malformed;
        }
    }
    assert!(caught > 0, "some corruption was caught");
}

/// The responder turns authentication on when the SCCRQ offers a nonce and it has a secret.
#[test]
fn v3_responder_with_secret_answers_offered_authentication() {
    let lns = EndpointConfig {
        secret: Some(b"k".to_vec()),
        ..lns_v3()
    };
    let mut s = v3_sim(10, lns);
    let now = s.now;
    let mut cfg = s.tunnel_cfg_v3(Encap::Udp);
    cfg.secret = Some(b"k".to_vec());
    cfg.digest = Some(DigestAlg::HmacSha1);
    let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    s.nodes[LAC].ep.open_session(now, t, eth_session()).unwrap();
    assert!(up_both(&mut s, Duration::from_secs(5)));
    let sccrp = s.sent(LNS, MessageType::Sccrp)[0].msg.clone().unwrap();
    assert!(
        matches!(&sccrp.avps[1].value, AvpValue::MessageDigest { digest, .. } if digest.len() == 20)
    );
}

/// go-l2tp's ProtocolVersion3Fallback: a v3 LCCE configured to fall back accepts v2 peers.
#[test]
fn v3_endpoint_accepts_v2_peer_only_with_fallback() {
    for (fallback, expect_up) in [(false, 0), (true, 1)] {
        let lns = EndpointConfig {
            v3_fallback_to_v2: fallback,
            ..lns_v3()
        };
        let mut s = v3_sim(11, lns);
        let now = s.now;
        let cfg = s.tunnel_cfg();
        s.nodes[LAC].ep.connect(now, cfg).unwrap();
        s.run_for(Duration::from_secs(20));
        assert_eq!(s.count(LNS, is_tunnel_up), expect_up, "fallback {fallback}");
        assert_eq!(s.count(LAC, is_tunnel_up), expect_up);
    }
}

/// Quiescent tunnels: no SCCRQ exchange, HELLO acknowledged, dead peer detected.
#[test]
fn quiescent_tunnels_hello_each_other_and_detect_a_dead_peer() {
    for version in [Version::V2, Version::V3] {
        let mut s = v3_sim(12, EndpointConfig::default());
        let now = s.now;
        let mut a = s.tunnel_cfg_v3(Encap::Udp);
        a.version = version;
        a.local_tunnel_id = Some(100);
        a.peer_tunnel_id = Some(200);
        a.hello_interval = Some(Duration::from_secs(10));
        let mut b = a.clone();
        b.peer = s.nodes[LAC].addr;
        b.local_tunnel_id = Some(200);
        b.peer_tunnel_id = Some(100);
        s.nodes[LAC].ep.add_quiescent(now, a).unwrap();
        s.nodes[LNS].ep.add_quiescent(now, b).unwrap();
        s.run_for(Duration::from_secs(65));
        assert_eq!(s.count(LAC, is_tunnel_up), 1);
        assert_eq!(s.count(LNS, is_tunnel_up), 1);
        assert!(s.sent(LAC, MessageType::Hello).len() >= 5);
        assert!(s.sent(LAC, MessageType::Sccrq).is_empty());
        assert_eq!(s.count(LAC, is_tunnel_down), 0);
        assert_eq!(s.nodes[LAC].ep.stats().retransmits, 0);
        assert!(s.nodes[LAC]
            .ep
            .open_session(s.now, TunnelId(100), SessionConfig::default())
            .is_err());
        s.nodes[LNS].up = false;
        s.run_for(Duration::from_secs(60));
        assert!(
            s.has_event(LAC, |e| matches!(
                e,
                Event::TunnelDown {
                    reason: DownReason::Timeout,
                    ..
                }
            )),
            "{version:?}"
        );
    }
}

/// RFC 3931 §5.4.4 Data Sequencing / Result Code 15: sequencing asked without an L2-Specific
/// Sublayer is refused; our own API refuses to ask for it.
#[test]
fn v3_sequencing_without_l2_specific_sublayer_is_refused() {
    let mut s = v3_sim(13, lns_v3());
    let now = s.now;
    let cfg = s.tunnel_cfg_v3(Encap::Udp);
    let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    let bad = SessionConfig {
        l2_specific: 0,
        ..eth_session()
    };
    assert!(s.nodes[LAC].ep.open_session(now, t, bad).is_err());
    // A peer that asks for it anyway (rewritten on the wire) gets CDN 15.
    s.rewrite = Some(Box::new(|from, m| {
        if from == LAC && m.message_type() == Some(MessageType::Icrq) {
            for a in &mut m.avps {
                if let AvpValue::L2SpecificSublayer(v) = &mut a.value {
                    *v = 0;
                }
            }
        }
    }));
    s.nodes[LAC].ep.open_session(now, t, eth_session()).unwrap();
    s.run_for(Duration::from_secs(3));
    assert!(s.has_event(LAC, |e| matches!(e, Event::SessionDown { reason: DownReason::Peer(r), .. } if r.result == result::CDN_SEQ_WITHOUT_L2SPEC)));
    assert_eq!(s.nodes[LNS].ep.session_counts(), (0, 0));
}
