//! Decoding one L2TP packet into a printable / serialisable description; [`render`] prints
//! it, [`verify`] checks its authenticators with the secret.
//!
//! Uses the codec's header parser and per-AVP value parser, but walks the AVPs here so that a
//! hidden AVP without a secret is shown as hidden hex instead of failing the whole message,
//! and so that each AVP's offset is known.

use std::collections::HashMap;

use l2tp_proto::auth::{self, DigestAlg};
use l2tp_proto::tunnel::challenge_response;
use l2tp_proto::wire::{
    self, attr, avp_name, error_code, peek, result, reveal_at, AvpIter, AvpValue, ControlHeader,
    DataHeader, Encap, MessageType, Peek, ValueKind, Version, CONTROL_HEADER_LEN, FLAG_L, FLAG_O,
    FLAG_P, FLAG_S, FLAG_T, IP_SESSION_ID_LEN,
};
use serde::Serialize;
use serde_json::{json, Map, Value};

mod render;
mod verify;

pub use render::tree;
use render::{describe, json_value};
pub use verify::{Check, Verifier};

/// One decoded L2TP packet.
#[derive(Debug, Clone, Serialize)]
pub struct Decoded {
    /// "udp" or "ip".
    pub encap: &'static str,
    /// 2 or 3.
    pub version: u16,
    /// "control" or "data".
    pub kind: &'static str,
    /// The first 16 header bits (UDP) or, over IP, the bits after the Session ID (control).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags_raw: Option<u16>,
    /// The T, L, S, O, P flags that are set.
    pub flags: Vec<&'static str>,
    /// Length field, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u16>,
    /// v2 Tunnel ID or v3 Control Connection ID (absent for v3 data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel_id: Option<u32>,
    /// Session ID (v2, v3 data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<u32>,
    /// Ns, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ns: Option<u16>,
    /// Nr, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nr: Option<u16>,
    /// Control: message name ("SCCRQ", "ZLB", …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Control: AVPs in wire order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub avps: Vec<AvpOut>,
    /// Data: v2 Offset Size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset_size: Option<u16>,
    /// Data: payload length in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_len: Option<usize>,
    /// Data: the first payload bytes, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_head: Option<String>,
    /// Data v3: a note on what could not be decoded without session state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

/// One AVP.
#[derive(Debug, Clone, Serialize)]
pub struct AvpOut {
    /// Byte offset of the AVP header in the packet.
    pub offset: usize,
    /// Vendor ID.
    pub vendor: u16,
    /// Attribute type.
    #[serde(rename = "type")]
    pub attr_type: u16,
    /// RFC name, or "Unknown".
    pub name: &'static str,
    /// M bit.
    pub mandatory: bool,
    /// H bit.
    pub hidden: bool,
    /// Decoded value, typed: numbers as numbers, text as strings, byte strings as hex,
    /// structured values (Result Code, Message Type, …) as objects with their names (absent
    /// when hidden and no secret given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Raw value hex: unknown AVPs, and hidden AVPs that could not be revealed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    /// Challenge Response / Message Digest checked with the secret ([`Verifier`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<Check>,
    /// The value for people (the tree).
    #[serde(skip)]
    pub text: Option<String>,
    /// The decoded value itself.
    #[serde(skip)]
    pub parsed: Option<AvpValue>,
}

/// A decode failure: the codec's error plus where it happened, as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Turns a codec error into one line that always names an offset. `base` is where the L2TP
/// header starts (4 for v3 control over IP).
fn located(e: wire::Error, base: usize, len: usize) -> DecodeError {
    use wire::Error::*;
    let s = e.to_string();
    if s.contains("offset") {
        return DecodeError(s);
    }
    let at = match e {
        ShortHeader { .. } => len,
        LengthMismatch { .. } => base + 2,
        _ => base,
    };
    DecodeError(format!("at offset {at}: {s}"))
}

fn flag_names(flags: u16) -> Vec<&'static str> {
    [
        (FLAG_T, "T"),
        (FLAG_L, "L"),
        (FLAG_S, "S"),
        (FLAG_O, "O"),
        (FLAG_P, "P"),
    ]
    .iter()
    .filter(|(b, _)| flags & b != 0)
    .map(|(_, n)| *n)
    .collect()
}

pub(super) fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Decodes one packet.
pub fn decode(buf: &[u8], encap: Encap, secret: Option<&[u8]>) -> Result<Decoded, DecodeError> {
    let p = peek(buf, encap).map_err(|e| located(e, 0, buf.len()))?;
    match p {
        Peek::Control { .. } => control(buf, encap, secret),
        Peek::Data {
            version,
            session_id,
            ..
        } => data(buf, encap, version, session_id),
    }
}

fn control(buf: &[u8], encap: Encap, secret: Option<&[u8]>) -> Result<Decoded, DecodeError> {
    let base = if encap == Encap::Ip {
        IP_SESSION_ID_LEN
    } else {
        0
    };
    let (h, end): (ControlHeader, usize) =
        ControlHeader::parse_at(buf, base).map_err(|e| located(e, base, buf.len()))?;
    let flags = be16(buf, base).unwrap_or(0);
    let length = be16(buf, base + 2);
    let mut avps = walk_avps(buf, base + CONTROL_HEADER_LEN, end, secret)
        .map_err(|e| located(e, base, buf.len()))?;
    let msg_type = match avps.first().and_then(|a| a.parsed.as_ref()) {
        Some(AvpValue::MessageType(t)) => Some(*t),
        _ => None,
    };
    for a in &mut avps {
        if let Some(v) = &a.parsed {
            a.value = Some(json_value(v, msg_type));
            a.text = Some(describe(v, msg_type));
        }
    }
    let message = match avps.first() {
        None => "ZLB".to_string(),
        Some(AvpOut {
            parsed: Some(AvpValue::MessageType(t)),
            ..
        }) => t.to_string(),
        Some(_) => "Unknown (first AVP is not Message Type)".to_string(),
    };
    Ok(Decoded {
        encap: encap_name(encap),
        version: h.version.number(),
        kind: "control",
        flags_raw: Some(flags),
        flags: flag_names(flags),
        length,
        tunnel_id: Some(h.tunnel_id),
        session_id: (h.version == Version::V2).then_some(u32::from(h.session_id)),
        ns: Some(h.ns),
        nr: Some(h.nr),
        message: Some(message),
        avps,
        offset_size: None,
        payload_len: None,
        payload_head: None,
        note: None,
    })
}

/// The AVPs of `buf[start..end]` through the codec's checked view ([`AvpIter`]), with their
/// offsets; a hidden AVP is revealed when `secret` is given and shown as hex otherwise.
fn walk_avps(
    buf: &[u8],
    start: usize,
    end: usize,
    secret: Option<&[u8]>,
) -> wire::Result<Vec<AvpOut>> {
    let mut out = Vec::new();
    let mut rv: Option<&[u8]> = None;
    for raw in AvpIter::new(buf, start, end) {
        let raw = raw?;
        let h = raw.header;
        let mut a = AvpOut {
            offset: raw.offset,
            vendor: h.vendor,
            attr_type: h.attr_type,
            name: avp_name(h.vendor, h.attr_type),
            mandatory: h.mandatory,
            hidden: h.hidden,
            value: None,
            hex: None,
            check: None,
            text: None,
            parsed: None,
        };
        let plain = match (h.hidden, secret) {
            (true, None) => None,
            (true, Some(_)) => Some(reveal_at(raw.offset, &h, secret, rv, raw.value)?),
            (false, _) => {
                if h.vendor == 0 && h.attr_type == attr::RANDOM_VECTOR {
                    rv = Some(raw.value);
                }
                Some(raw.value.to_vec())
            }
        };
        match plain {
            Some(v) => {
                let value = AvpValue::parse_value(h.vendor, h.attr_type, &v, raw.offset)?;
                if matches!(value, AvpValue::Unknown { .. }) {
                    a.hex = Some(hex::encode(&v));
                }
                a.parsed = Some(value);
            }
            None => a.hex = Some(hex::encode(raw.value)),
        }
        out.push(a);
    }
    Ok(out)
}

fn encap_name(e: Encap) -> &'static str {
    match e {
        Encap::Udp => "udp",
        Encap::Ip => "ip",
    }
}

pub(super) const HEAD_BYTES: usize = 16;

fn data(
    buf: &[u8],
    encap: Encap,
    version: Version,
    session_id: u32,
) -> Result<Decoded, DecodeError> {
    let mut d = Decoded {
        encap: encap_name(encap),
        version: version.number(),
        kind: "data",
        flags_raw: None,
        flags: Vec::new(),
        length: None,
        tunnel_id: None,
        session_id: Some(session_id),
        ns: None,
        nr: None,
        message: None,
        avps: Vec::new(),
        offset_size: None,
        payload_len: None,
        payload_head: None,
        note: None,
    };
    let payload: &[u8] = match version {
        Version::V2 => {
            let (h, payload) =
                DataHeader::parse_v2_payload(buf).map_err(|e| located(e, 0, buf.len()))?;
            let flags = be16(buf, 0).unwrap_or(0);
            d.flags_raw = Some(flags);
            d.flags = flag_names(flags);
            if let DataHeader::V2 {
                tunnel_id,
                session_id,
                sequence,
                offset,
                length_present,
                ..
            } = h
            {
                d.tunnel_id = Some(u32::from(tunnel_id));
                d.session_id = Some(u32::from(session_id));
                if let Some((ns, nr)) = sequence {
                    d.ns = Some(ns);
                    d.nr = Some(nr);
                }
                d.offset_size = offset;
                if length_present {
                    d.length = be16(buf, 2);
                }
            }
            payload
        }
        Version::V3 => {
            // Cookie length and L2-Specific Sublayer are session state: show what follows
            // the Session ID as payload.
            let start = match encap {
                Encap::Udp => {
                    let flags = be16(buf, 0).unwrap_or(0);
                    d.flags_raw = Some(flags);
                    d.flags = flag_names(flags);
                    8
                }
                Encap::Ip => 4,
            };
            d.note = Some("cookie and L2-Specific Sublayer (if any) are part of the payload");
            buf.get(start..).unwrap_or_default()
        }
    };
    d.payload_len = Some(payload.len());
    d.payload_head = Some(hex::encode(&payload[..payload.len().min(HEAD_BYTES)]));
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCCCN: &str =
        "c802002af926000000010001800800000000000380160000000d8c9e814154e8ba02471dddae2388a033";

    #[test]
    fn control_message_tree_names_message_and_avps() {
        let d = decode(&hex::decode(SCCCN).unwrap(), Encap::Udp, None).unwrap();
        assert_eq!(d.message.as_deref(), Some("SCCCN"));
        assert_eq!(d.tunnel_id, Some(0xf926));
        assert_eq!(d.flags, ["T", "L", "S"]);
        let t = tree(&d);
        assert!(t.contains("Challenge Response (13)"), "{t}");
        assert!(t.contains("Ns 1, Nr 1"), "{t}");
    }

    #[test]
    fn zlb() {
        let d = decode(
            &hex::decode("c802000c8557000000010002").unwrap(),
            Encap::Udp,
            None,
        )
        .unwrap();
        assert_eq!(d.message.as_deref(), Some("ZLB"));
    }

    #[test]
    fn truncation_errors_name_an_offset() {
        let b = hex::decode(SCCCN).unwrap();
        for n in 0..b.len() {
            let e = decode(&b[..n], Encap::Udp, None).unwrap_err();
            assert!(e.0.contains("offset"), "{n}: {e}");
        }
    }

    #[test]
    fn v2_data_payload() {
        let d = decode(
            &hex::decode("4002000e855700a2ff03c021").unwrap(),
            Encap::Udp,
            None,
        );
        // Length 14 > 12 bytes: a length mismatch, located.
        assert!(d.unwrap_err().0.contains("offset 2"));
        let d = decode(
            &hex::decode("4002000c855700a2ff03c021").unwrap(),
            Encap::Udp,
            None,
        )
        .unwrap();
        assert_eq!(d.kind, "data");
        assert_eq!(d.payload_len, Some(4));
        assert_eq!(d.payload_head.as_deref(), Some("ff03c021"));
    }

    #[test]
    fn hidden_avps_are_revealed_with_the_secret_else_shown_as_hex() {
        use l2tp_proto::wire::{Avp, ControlMessage, MessageType};
        let msg = ControlMessage {
            header: ControlHeader::v2(1, 0, 0, 0),
            avps: vec![
                Avp::m(AvpValue::MessageType(MessageType::Sccrq)),
                Avp::m(AvpValue::RandomVector(vec![7; 16])),
                Avp {
                    mandatory: true,
                    hidden: true,
                    value: AvpValue::HostName(b"secret-host".to_vec()),
                },
            ],
        };
        let b = msg.to_bytes(Encap::Udp, Some(b"s3cr3t")).unwrap();
        let d = decode(&b, Encap::Udp, Some(b"s3cr3t")).unwrap();
        let host = &d.avps[2];
        assert!(host.hidden);
        assert_eq!(host.value, Some(json!("secret-host")));
        assert_eq!(host.text.as_deref(), Some("\"secret-host\""));
        let d = decode(&b, Encap::Udp, None).unwrap();
        assert_eq!(d.avps[2].value, None);
        assert!(d.avps[2].hex.is_some());
        assert!(tree(&d).contains("[MH] Host Name (7): hidden, 13 bytes"));
    }

    #[test]
    fn v3_over_ip_control_and_data() {
        use l2tp_proto::wire::{Avp, ControlMessage, MessageType};
        let msg = ControlMessage {
            header: ControlHeader::v3(0x01020304, 3, 4),
            avps: vec![
                Avp::m(AvpValue::MessageType(MessageType::Hello)),
                Avp::o(AvpValue::Unknown {
                    vendor: 9,
                    attr_type: 77,
                    value: vec![0xab, 0xcd],
                }),
            ],
        };
        let b = msg.to_bytes(Encap::Ip, None).unwrap();
        let d = decode(&b, Encap::Ip, None).unwrap();
        assert_eq!(d.version, 3);
        assert_eq!(d.message.as_deref(), Some("HELLO"));
        assert_eq!(d.tunnel_id, Some(0x01020304));
        assert_eq!(d.session_id, None);
        let t = tree(&d);
        assert!(t.contains("(over IP)"), "{t}");
        assert!(t.contains("[--] vendor 9 type 77: 2 bytes: abcd"), "{t}");
        let d = decode(&[0, 0, 0, 9, 1, 2, 3], Encap::Ip, None).unwrap();
        assert_eq!(
            (d.kind, d.session_id, d.payload_len),
            ("data", Some(9), Some(3))
        );
    }

    #[test]
    fn v3_digest_over_ip_is_checked_after_the_session_id() {
        use l2tp_proto::wire::{Avp, ControlMessage};
        let alg = DigestAlg::HmacSha1;
        let mut b = ControlMessage {
            header: ControlHeader::v3(0, 0, 0),
            avps: vec![
                Avp::m(AvpValue::MessageType(MessageType::Sccrq)),
                Avp::m(AvpValue::AssignedControlConnectionId(9)),
                Avp::m(AvpValue::MessageDigest {
                    digest_type: alg.wire_type(),
                    digest: vec![0; alg.digest_len()],
                }),
            ],
        }
        .to_bytes(Encap::Ip, None)
        .unwrap();
        assert!(auth::sign(
            &mut b[IP_SESSION_ID_LEN..],
            alg,
            &auth::shared_key(b"k"),
            None
        ));
        let mut d = decode(&b, Encap::Ip, None).unwrap();
        Verifier::new(b"k").check(&mut d, &b);
        let check = d.avps[2].check.clone().unwrap();
        assert_eq!(check.result, "correct");
        let mut d = decode(&b, Encap::Ip, None).unwrap();
        Verifier::new(b"j").check(&mut d, &b);
        let check = d.avps[2].check.clone().unwrap();
        assert_eq!(check.result, "incorrect");
        assert!(
            tree(&d).contains("[incorrect, should be 0x"),
            "{}",
            tree(&d)
        );
    }
}
