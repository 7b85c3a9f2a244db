//! The machine-readable event stream (`--events json`): one JSON object per line.
//!
//! Fields (all events): `ts` (seconds since the Unix epoch, float), `event` (`tunnel_up`,
//! `tunnel_down`, `session_up`, `session_down`), `tunnel` (configured name), `tunnel_id`
//! (local ID). Session events add `session` (name) and `session_id`. Up events add the peer's
//! IDs; down events add `reason` (`local`, `peer`, `timeout`, `protocol`, `tunnel_down`) and,
//! where a Result Code was exchanged, `result_code`, `error_code` and `message`.

use l2tp_proto::endpoint::{DownReason, Event};
use l2tp_proto::wire::{Encap, ResultCode, Version};
use l2tp_runtime::RuntimeEvent;
use serde_json::{json, Map, Value};

/// Renders one event as a single JSON line (no trailing newline).
pub fn to_json_line(ev: &RuntimeEvent) -> String {
    let mut m = Map::new();
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    m.insert("ts".into(), json!(ts));
    m.insert("tunnel".into(), json!(ev.tunnel_name));
    if let Some(s) = &ev.session_name {
        m.insert("session".into(), json!(s));
    }
    match &ev.event {
        Event::TunnelUp {
            tunnel,
            peer_tunnel_id,
            peer,
            version,
            encap,
            peer_host_name,
        } => {
            m.insert("event".into(), json!("tunnel_up"));
            m.insert("tunnel_id".into(), json!(tunnel.0));
            m.insert("peer_tunnel_id".into(), json!(peer_tunnel_id));
            m.insert("peer".into(), json!(peer.to_string()));
            m.insert(
                "version".into(),
                json!(match version {
                    Version::V2 => "l2tpv2",
                    Version::V3 => "l2tpv3",
                }),
            );
            m.insert(
                "encap".into(),
                json!(match encap {
                    Encap::Udp => "udp",
                    Encap::Ip => "ip",
                }),
            );
            m.insert(
                "peer_host_name".into(),
                json!(String::from_utf8_lossy(peer_host_name)),
            );
        }
        Event::TunnelDown { tunnel, reason } => {
            m.insert("event".into(), json!("tunnel_down"));
            m.insert("tunnel_id".into(), json!(tunnel.0));
            reason_fields(&mut m, reason);
        }
        Event::SessionUp {
            tunnel,
            session,
            peer_session_id,
            peer_tunnel_id,
            pseudowire,
            params,
        } => {
            m.insert("event".into(), json!("session_up"));
            if !params.local_cookie.is_empty() || !params.peer_cookie.is_empty() {
                m.insert("cookie".into(), json!(hex(&params.peer_cookie)));
                m.insert("peer_cookie".into(), json!(hex(&params.local_cookie)));
            }
            m.insert(
                "l2_specific".into(),
                json!(params.l2_specific.max(params.peer_l2_specific)),
            );
            m.insert("tunnel_id".into(), json!(tunnel.0));
            m.insert("session_id".into(), json!(session.0));
            m.insert("peer_tunnel_id".into(), json!(peer_tunnel_id));
            m.insert("peer_session_id".into(), json!(peer_session_id));
            m.insert("pseudowire".into(), json!(pseudowire));
            if let Some(i) = &ev.interface_name {
                m.insert("interface".into(), json!(i));
            }
        }
        Event::WanError {
            tunnel,
            session,
            errors,
        } => {
            m.insert("event".into(), json!("wan_error"));
            m.insert("tunnel_id".into(), json!(tunnel.0));
            m.insert("session_id".into(), json!(session.0));
            m.insert("crc_errors".into(), json!(errors.crc));
            m.insert("framing_errors".into(), json!(errors.framing));
            m.insert("hardware_overruns".into(), json!(errors.hardware_overruns));
            m.insert("buffer_overruns".into(), json!(errors.buffer_overruns));
            m.insert("timeout_errors".into(), json!(errors.timeouts));
            m.insert("alignment_errors".into(), json!(errors.alignment));
        }
        Event::LinkInfo {
            tunnel,
            session,
            accm,
            circuit_status,
        } => {
            m.insert("event".into(), json!("link_info"));
            m.insert("tunnel_id".into(), json!(tunnel.0));
            m.insert("session_id".into(), json!(session.0));
            if let Some((send, recv)) = accm {
                m.insert("send_accm".into(), json!(send));
                m.insert("recv_accm".into(), json!(recv));
            }
            if let Some(c) = circuit_status {
                m.insert("circuit_status".into(), json!(c));
            }
        }
        Event::SessionDown {
            tunnel,
            session,
            reason,
        } => {
            m.insert("event".into(), json!("session_down"));
            m.insert("tunnel_id".into(), json!(tunnel.0));
            m.insert("session_id".into(), json!(session.0));
            reason_fields(&mut m, reason);
        }
    }
    Value::Object(m).to_string()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn reason_fields(m: &mut Map<String, Value>, reason: &DownReason) {
    let (name, rc): (&str, Option<&ResultCode>) = match reason {
        DownReason::Local(r) => ("local", Some(r)),
        DownReason::Peer(r) => ("peer", Some(r)),
        DownReason::Protocol(r) => ("protocol", Some(r)),
        DownReason::Timeout => ("timeout", None),
        DownReason::TunnelDown => ("tunnel_down", None),
    };
    m.insert("reason".into(), json!(name));
    if let Some(r) = rc {
        m.insert("result_code".into(), json!(r.result));
        if let Some(e) = r.error {
            m.insert("error_code".into(), json!(e));
        }
        if let Some(msg) = &r.message {
            m.insert("message".into(), json!(String::from_utf8_lossy(msg)));
        }
    }
}
