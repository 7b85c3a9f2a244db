//! RFC MUSTs about what we send, checked on every datagram of a full run (tunnel, incoming and
//! outgoing calls, WEN, SLI, CDN, HELLO, StopCCN) in both versions — table-driven, each row
//! citing its section.

#[path = "sim_harness.rs"]
mod sim;

use std::time::Duration;

use l2tp_proto::endpoint::{DigestAlg, EndpointConfig, Event, SessionConfig};
use l2tp_proto::rules::missing_avp;
use l2tp_proto::wire::{
    pw_type, AvpValue, CallErrors, ControlMessage, Encap, MBit, MessageType, ResultCode, Version,
};
use sim::*;

/// A full run; returns the log.
fn full_run(version: Version, digest: bool) -> Sim {
    let lns = EndpointConfig {
        accept_v2_incoming: true,
        accept_v3_incoming: true,
        host_name: b"lns".to_vec(),
        hello_interval: Some(Duration::from_secs(5)),
        secret: digest.then(|| b"k".to_vec()),
        digest: digest.then_some(DigestAlg::HmacMd5),
        ..EndpointConfig::default()
    };
    let mut s = Sim::with(5, EndpointConfig::default(), lns);
    let now = s.now;
    let mut cfg = match version {
        Version::V2 => s.tunnel_cfg(),
        Version::V3 => s.tunnel_cfg_v3(Encap::Udp),
    };
    cfg.hello_interval = Some(Duration::from_secs(5));
    if digest {
        cfg.secret = Some(b"k".to_vec());
        cfg.digest = Some(DigestAlg::HmacSha1);
    }
    let sc = SessionConfig {
        pseudowire: match version {
            Version::V2 => pw_type::PPP,
            Version::V3 => pw_type::ETHERNET,
        },
        called_number: Some(b"1".to_vec()),
        ..SessionConfig::default()
    };
    let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    let sid = s.nodes[LAC].ep.open_session(now, t, sc.clone()).unwrap();
    s.run_for(Duration::from_secs(1));
    let lt = s.nodes[LNS]
        .events
        .iter()
        .find_map(|(_, e)| match e {
            Event::TunnelUp { tunnel, .. } => Some(*tunnel),
            _ => None,
        })
        .unwrap();
    let now = s.now;
    s.nodes[LNS].ep.open_outgoing_call(now, lt, sc).unwrap();
    s.nodes[LAC]
        .ep
        .send_wan_error_notify(now, t, sid, CallErrors::default())
        .unwrap();
    s.run_for(Duration::from_secs(12)); // HELLOs
    let now = s.now;
    let rc = ResultCode {
        result: 3,
        error: None,
        message: None,
    };
    s.nodes[LAC]
        .ep
        .close_session(now, t, sid, rc.clone())
        .unwrap();
    s.run_for(Duration::from_secs(1));
    let now = s.now;
    s.nodes[LAC].ep.close_tunnel(now, t, rc).unwrap();
    s.run_for(Duration::from_secs(40));
    assert!(s.count(LNS, is_tunnel_down) == 1);
    s
}

type Check = fn(Version, bool, &[&ControlMessage]) -> Result<(), String>;

fn each(
    msgs: &[&ControlMessage],
    f: impl Fn(&ControlMessage) -> Result<(), String>,
) -> Result<(), String> {
    msgs.iter().try_for_each(|m| f(m))
}

const MUSTS: &[(&str, Check)] = &[
    ("RFC 2661 §6 / RFC 3931 §6: every message carries the AVPs its type requires", |v, _, msgs| {
        each(msgs, |m| match missing_avp(v, m) {
            Some(a) => Err(format!("{:?} lacks {a}", m.message_type())),
            None => Ok(()),
        })
    }),
    ("RFC 2661 §4.4: M bit as the AVP table's MUST (v2), never hidden where it says MUST NOT", |v, _, msgs| {
        each(msgs, |m| {
            m.avps.iter().try_for_each(|a| match a.value.spec() {
                Some(s) if a.hidden && !s.hidden_allowed => Err(format!("{} hidden", s.name)),
                Some(s) if v == Version::V2 && s.m == MBit::Must1 && !a.mandatory => {
                    Err(format!("{} without M", s.name))
                }
                Some(s) if v == Version::V2 && s.m == MBit::Must0 && a.mandatory => {
                    Err(format!("{} with M", s.name))
                }
                _ => Ok(()),
            })
        })
    }),
    ("RFC 2661 §4.1: the Message Type AVP is first", |_, _, msgs| {
        each(msgs, |m| {
            if m.is_zlb() || m.message_type().is_some() {
                Ok(())
            } else {
                Err("first AVP is not Message Type".into())
            }
        })
    }),
    ("RFC 3931 §4.2: an ACK takes no slot in the Ns space (other messages' Ns have no gaps)", |_, _, msgs| {
        let mut ns: Vec<u16> = msgs
            .iter()
            .filter(|m| !m.is_zlb() && m.message_type() != Some(MessageType::Ack))
            .map(|m| m.header.ns)
            .collect();
        ns.sort_unstable();
        ns.dedup();
        if ns.iter().enumerate().all(|(i, &n)| usize::from(n) == i) {
            Ok(())
        } else {
            Err(format!("gaps in Ns: {ns:?}"))
        }
    }),
    ("RFC 3931 §6.15: ZLBs only without message authentication (we always send ACK in v3)", |v, _, msgs| {
        each(msgs, |m| {
            if v == Version::V3 && m.is_zlb() {
                Err("ZLB in v3".into())
            } else {
                Ok(())
            }
        })
    }),
    ("RFC 3931 §5.4.1: with authentication, a Message Digest AVP right after the Message Type, never hidden", |_, digest, msgs| {
        if !digest {
            return Ok(());
        }
        each(msgs, |m| match m.avps.get(1) {
            Some(a) if matches!(a.value, AvpValue::MessageDigest { .. }) && !a.hidden => Ok(()),
            _ => Err(format!("{:?} without digest at position 1", m.message_type())),
        })
    }),
    ("RFC 3931 §5.4.1: with authentication, the Nonce AVP is in SCCRQ and SCCRP", |_, digest, msgs| {
        each(msgs, |m| {
            let needs = digest
                && matches!(m.message_type(), Some(MessageType::Sccrq | MessageType::Sccrp));
            let has = m.avps.iter().any(|a| matches!(a.value, AvpValue::ControlMessageAuthNonce(_)));
            if needs && !has {
                Err("SCCRQ/SCCRP without nonce".into())
            } else {
                Ok(())
            }
        })
    }),
    ("RFC 3931 §6.4: StopCCN after SCCRQ/SCCRP carries the Assigned Control Connection ID", |v, _, msgs| {
        each(msgs, |m| {
            if v == Version::V3
                && m.message_type() == Some(MessageType::StopCcn)
                && !m.avps.iter().any(|a| matches!(a.value, AvpValue::AssignedControlConnectionId(id) if id != 0))
            {
                Err("StopCCN without ACCID".into())
            } else {
                Ok(())
            }
        })
    }),
    ("RFC 2661 §6.5 / RFC 3931 §6.5: HELLO has Session ID 0", |_, _, msgs| {
        each(msgs, |m| {
            if m.message_type() == Some(MessageType::Hello) && m.header.session_id != 0 {
                Err("HELLO with a session ID".into())
            } else {
                Ok(())
            }
        })
    }),
    ("RFC 2661 §4.4.3: the Tie Breaker AVP is never mandatory; Random Vector precedes hidden AVPs", |_, _, msgs| {
        each(msgs, |m| {
            let mut rv = false;
            for a in &m.avps {
                if matches!(a.value, AvpValue::TieBreaker(_)) && a.mandatory {
                    return Err("mandatory Tie Breaker".into());
                }
                if matches!(a.value, AvpValue::RandomVector(_)) {
                    rv = true;
                }
                if a.hidden && !rv {
                    return Err("hidden AVP before any Random Vector".into());
                }
            }
            Ok(())
        })
    }),
];

#[test]
fn everything_we_send_meets_the_rfc_musts() {
    for (version, digest) in [
        (Version::V2, false),
        (Version::V3, false),
        (Version::V3, true),
    ] {
        let s = full_run(version, digest);
        for node in [LAC, LNS] {
            let msgs: Vec<&ControlMessage> = s
                .log
                .iter()
                .filter(|p| p.from == node)
                .map(|p| p.msg.as_ref().expect("decodable"))
                .collect();
            let kinds: std::collections::HashSet<_> =
                msgs.iter().filter_map(|m| m.message_type()).collect();
            for mt in [
                MessageType::Hello,
                MessageType::Cdn,
                MessageType::Ocrq,
                MessageType::Occn,
                MessageType::Wen,
                MessageType::StopCcn,
            ] {
                let sender = match mt {
                    MessageType::Ocrq => LNS,
                    MessageType::Occn
                    | MessageType::Wen
                    | MessageType::Cdn
                    | MessageType::StopCcn => LAC,
                    _ => node,
                };
                if sender == node {
                    assert!(kinds.contains(&mt), "{version:?} node {node} sent no {mt}");
                }
            }
            for (rule, check) in MUSTS {
                if let Err(e) = check(version, digest, &msgs) {
                    panic!("{version:?} digest={digest} node {node}: {rule}: {e}");
                }
            }
        }
    }
}
