//! Rendering a decoded packet: values for people (the tree, Result Codes with their names)
//! and for programs (`--json`, typed by the AVP table's value kinds).

use super::*;

/// The name of a Result Code's result: StopCCN's and CDN's tables differ.
pub(super) fn result_name(msg: Option<MessageType>, code: u16) -> Option<&'static str> {
    match msg {
        Some(MessageType::StopCcn) => Some(result::stopccn_name(code)),
        Some(MessageType::Cdn) => Some(result::cdn_name(code)),
        _ => None,
    }
}

/// The value for people: the codec's rendering, Result Codes with their names.
pub(super) fn describe(v: &AvpValue, msg: Option<MessageType>) -> String {
    match v {
        AvpValue::Unknown { value, .. } => format!("{} bytes", value.len()),
        AvpValue::ResultCode(rc) => {
            let mut s = format!("result {}", rc.result);
            if let Some(n) = result_name(msg, rc.result) {
                s.push_str(&format!(" ({n})"));
            }
            if let Some(e) = rc.error {
                s.push_str(&format!(", error {e} ({})", error_code::name(e)));
            }
            if let Some(m) = &rc.message {
                s.push_str(&format!(", message {:?}", String::from_utf8_lossy(m)));
            }
            s
        }
        v => v.describe(),
    }
}

/// Text as a string (UTF-8, lossy).
pub(super) fn text(b: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(b).into_owned())
}

/// Bytes as hex digits.
pub(super) fn bytes(b: &[u8]) -> Value {
    Value::String(hex::encode(b))
}

/// The value for programs (`--json`): typed. Values of the simple kinds follow the AVP table
/// ([`ValueKind`]): integers as numbers, text as a string, bytes as hex digits.
pub(super) fn json_value(v: &AvpValue, msg: Option<MessageType>) -> Value {
    use AvpValue::*;
    match v {
        MessageType(t) => json!({"type": t.to_u16(), "name": t.to_string()}),
        ResultCode(rc) => {
            let mut m = Map::new();
            m.insert("result".into(), json!(rc.result));
            if let Some(n) = result_name(msg, rc.result) {
                m.insert("result_name".into(), json!(n));
            }
            if let Some(e) = rc.error {
                m.insert("error".into(), json!(e));
                m.insert("error_name".into(), json!(error_code::name(e)));
            }
            if let Some(msg) = &rc.message {
                m.insert("message".into(), text(msg));
            }
            Value::Object(m)
        }
        ProtocolVersion { version, revision } => {
            json!({"version": version, "revision": revision})
        }
        ProxyAuthenId(v) => json!(v),
        AssignedCookie(b) => bytes(b),
        Q931CauseCode {
            cause_code,
            cause_msg,
            advisory,
        } => json!({"cause_code": cause_code, "cause_msg": cause_msg,
            "advisory": String::from_utf8_lossy(advisory)}),
        CallErrors(c) => json!({"crc": c.crc, "framing": c.framing,
            "hardware_overruns": c.hardware_overruns, "buffer_overruns": c.buffer_overruns,
            "timeouts": c.timeouts, "alignment": c.alignment}),
        Accm { send, recv } => json!({"send": send, "recv": recv}),
        MessageDigest {
            digest_type,
            digest,
        } => json!({"digest_type": digest_type, "digest": hex::encode(digest)}),
        PseudowireCapabilities(list) => json!(list),
        Unknown { value, .. } => bytes(value),
        simple => match (
            simple.spec().map(|s| s.kind),
            simple.as_uint(),
            simple.as_bytes(),
        ) {
            (_, Some(n), _) => json!(n),
            (Some(ValueKind::Text), _, Some(b)) => text(b),
            (_, _, Some(b)) => bytes(b),
            (Some(ValueKind::Empty), _, _) => Value::Bool(true),
            _ => Value::String(simple.describe()),
        },
    }
}

/// Renders a decoded packet as an indented tree (no trailing newline).
pub fn tree(d: &Decoded) -> String {
    let mut s = String::new();
    let title = match &d.message {
        Some(m) => format!("L2TPv{} control {m}", d.version),
        None => format!("L2TPv{} data", d.version),
    };
    s.push_str(&title);
    if d.encap == "ip" {
        s.push_str(" (over IP)");
    }
    s.push('\n');
    let mut hdr = Vec::new();
    if let Some(f) = d.flags_raw {
        hdr.push(format!("flags 0x{f:04x} [{}]", d.flags.join(" ")));
    }
    hdr.push(format!("ver {}", d.version));
    if let Some(l) = d.length {
        hdr.push(format!("length {l}"));
    }
    if let Some(t) = d.tunnel_id {
        hdr.push(format!("tunnel id {t}"));
    }
    if let Some(x) = d.session_id {
        hdr.push(format!("session id {x}"));
    }
    if let Some(x) = d.ns {
        hdr.push(format!("Ns {x}"));
    }
    if let Some(x) = d.nr {
        hdr.push(format!("Nr {x}"));
    }
    if let Some(x) = d.offset_size {
        hdr.push(format!("offset size {x}"));
    }
    s.push_str(&format!("  header: {}\n", hdr.join(", ")));
    for a in &d.avps {
        let mut flags = String::new();
        flags.push(if a.mandatory { 'M' } else { '-' });
        flags.push(if a.hidden { 'H' } else { '-' });
        let name = if a.name == "Unknown" {
            format!("vendor {} type {}", a.vendor, a.attr_type)
        } else {
            format!("{} ({})", a.name, a.attr_type)
        };
        let mut value = match (&a.text, &a.hex) {
            (Some(v), Some(h)) => format!("{v}: {h}"),
            (Some(v), None) => v.clone(),
            (None, Some(h)) => format!("hidden, {} bytes: {h}", h.len() / 2),
            (None, None) => String::new(),
        };
        if let Some(c) = &a.check {
            value.push(' ');
            value.push_str(&c.text());
        }
        s.push_str(&format!("  [{flags}] {name}: {value}\n"));
    }
    if let Some(n) = d.payload_len {
        s.push_str(&format!("  payload: {n} bytes"));
        if let Some(h) = &d.payload_head {
            if !h.is_empty() {
                let more = if n > HEAD_BYTES { " …" } else { "" };
                s.push_str(&format!(": {h}{more}"));
            }
        }
        s.push('\n');
        if let Some(note) = d.note {
            s.push_str(&format!("  ({note})\n"));
        }
    }
    s.pop();
    s
}
