//! The control message trace: with `-verbose` (or `L2TPD_LOG=l2tp_runtime::trace=debug`)
//! every control message received and sent is logged on one line — direction, peer, message
//! type, tunnel and session IDs, Ns/Nr, and for StopCCN / CDN the result and error codes by
//! number and name — what go-l2tp's `-verbose` and xl2tpd's `debug avp` show. Retransmitted
//! messages appear again with the same Ns. Nothing is decoded when the target is off.

use std::net::SocketAddr;

use l2tp_proto::wire::{error_code, result, AvpValue, ControlMessage, Encap, MessageType};

/// The tracing target of the trace.
pub(crate) const TARGET: &str = "l2tp_runtime::trace";

/// Whether the trace is on (one cheap check per datagram when it is not).
pub(crate) fn enabled() -> bool {
    tracing::enabled!(target: TARGET, tracing::Level::DEBUG)
}

/// Logs one control message (`bytes` as the codec sees them: UDP payload, or the IP payload
/// with its 4-byte zero Session ID). Hidden AVPs are not decrypted: the trace shows what
/// their type is, not their value.
pub(crate) fn message(dir: &'static str, peer: SocketAddr, encap: Encap, bytes: &[u8]) {
    let msg = match ControlMessage::parse(bytes, encap, None) {
        Ok(m) => m,
        Err(e) => {
            tracing::debug!(target: TARGET, dir = %dir, %peer, len = bytes.len(), error = %e, "undecodable");
            return;
        }
    };
    let h = &msg.header;
    let kind = match msg.message_type() {
        Some(t) => t.name(),
        None if msg.avps.is_empty() => "ZLB",
        None => "?",
    };
    let rc = msg.find(|v| match v {
        AvpValue::ResultCode(rc) => Some(rc.clone()),
        _ => None,
    });
    match rc {
        Some(rc) => {
            let name = match msg.message_type() {
                Some(MessageType::StopCcn) => result::stopccn_name(rc.result),
                _ => result::cdn_name(rc.result),
            };
            let error = rc.error.unwrap_or(0);
            tracing::debug!(
                target: TARGET,
                dir = %dir, %peer, msg = %kind, tunnel = h.tunnel_id, session = h.session_id,
                ns = h.ns, nr = h.nr,
                result = format_args!("{} ({name})", rc.result),
                error = format_args!("{error} ({})", error_code::name(error)),
                text = %String::from_utf8_lossy(rc.message.as_deref().unwrap_or_default()),
            );
        }
        None => tracing::debug!(
            target: TARGET,
            dir = %dir, %peer, msg = %kind, tunnel = h.tunnel_id, session = h.session_id,
            ns = h.ns, nr = h.nr, avps = msg.avps.len(),
        ),
    }
}
