//! Attributes: a Type and a typed value, decoded and encoded by the dictionary's [`Kind`].
//! Attributes the dictionary does not know are kept as raw bytes ([`Value::Raw`]), so they
//! round-trip unchanged.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::crypt;
use crate::dict::{self, attr, ms, AttrDef, Kind};
use crate::error::Error;

/// Longest attribute value: 255 minus the Type and Length octets (RFC 2865 §5).
pub const MAX_VALUE: usize = 253;

/// A Vendor-Specific attribute with one vendor sub-attribute in the RFC 2865 §5.26 suggested
/// format (vendor-type octet, vendor-length octet, value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vsa {
    /// SMI private enterprise code, e.g. 311 for Microsoft.
    pub vendor_id: u32,
    /// Vendor-type octet.
    pub vendor_type: u8,
    /// Typed value for known vendor attributes, [`Value::Raw`] otherwise.
    pub value: Box<Value>,
}

/// An attribute value, shaped by the attribute's dictionary [`Kind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `text` or `string` bytes ([`Kind::Text`], [`Kind::Octets`]).
    Bytes(Vec<u8>),
    /// 32-bit integer or time ([`Kind::Integer`]).
    Integer(u32),
    /// IPv4 address ([`Kind::Ipv4`]).
    Ipv4(Ipv4Addr),
    /// IPv6 address ([`Kind::Ipv6`]).
    Ipv6(Ipv6Addr),
    /// IPv6 prefix ([`Kind::Ipv6Prefix`]): length in bits (0..=128) and the address, bits past
    /// the length zero.
    Ipv6Prefix {
        /// Prefix length in bits.
        len: u8,
        /// Prefix.
        prefix: Ipv6Addr,
    },
    /// RFC 2868 tagged integer ([`Kind::TaggedInteger`]): tag 0..=0x1f, 24-bit value.
    TaggedInteger {
        /// Tag grouping the tunnel attributes of one tunnel (0 = none).
        tag: u8,
        /// Value, below 2^24.
        value: u32,
    },
    /// RFC 2868 tagged string ([`Kind::TaggedText`]).
    TaggedText {
        /// Tag 0x00..=0x1f (0 = tag unused), or `None` if the first octet is above 0x1f and
        /// so belongs to the string.
        tag: Option<u8>,
        /// The string.
        text: Vec<u8>,
    },
    /// User-Password in clear ([`Kind::UserPassword`]); hidden on the wire (RFC 2865 §5.2).
    Password(Vec<u8>),
    /// CHAP-Password ([`Kind::ChapPassword`]).
    ChapPassword {
        /// CHAP Identifier of the Response.
        ident: u8,
        /// 16-byte MD5 CHAP Response.
        response: [u8; 16],
    },
    /// Message-Authenticator ([`Kind::MessageAuthenticator`]); the encoder computes it, so
    /// any value given is replaced.
    MessageAuthenticator([u8; 16]),
    /// MS-MPPE-Send/Recv-Key in clear ([`Kind::MppeKey`]) with the salt it travels with.
    MppeKey {
        /// Salt, top bit set on the wire.
        salt: u16,
        /// Key bytes in clear.
        key: Vec<u8>,
    },
    /// Vendor-Specific with one sub-attribute in the suggested format.
    Vsa(Vsa),
    /// Unknown attribute, unknown vendor format, or a value kept as it was on the wire.
    Raw(Vec<u8>),
}

/// One attribute: Type octet and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// Attribute Type octet (see [`crate::dict::attr`]).
    pub typ: u8,
    /// The value.
    pub value: Value,
}

/// What the shared-secret transforms need: the secret and the authenticator that keys the
/// hiding (the Access-Request's own Request Authenticator for User-Password; the request's
/// Request Authenticator for MPPE keys in a response).
#[derive(Debug, Clone, Copy)]
pub struct CryptCtx<'a> {
    /// Shared secret.
    pub secret: &'a [u8],
    /// Request Authenticator.
    pub authenticator: &'a [u8; 16],
}

impl Attr {
    /// Attribute with a `text`/`string` value (User-Name, Class, State, ...).
    pub fn bytes(typ: u8, v: impl Into<Vec<u8>>) -> Attr {
        Attr {
            typ,
            value: Value::Bytes(v.into()),
        }
    }
    /// Attribute with an integer value (NAS-Port, Session-Timeout, Acct-*-Octets, ...).
    pub fn integer(typ: u8, v: u32) -> Attr {
        Attr {
            typ,
            value: Value::Integer(v),
        }
    }
    /// Attribute with an IPv4 address (NAS-IP-Address, Framed-IP-Address, ...).
    pub fn ipv4(typ: u8, v: Ipv4Addr) -> Attr {
        Attr {
            typ,
            value: Value::Ipv4(v),
        }
    }
    /// User-Password in clear, at most 128 bytes; hidden by the encoder.
    pub fn user_password(password: impl Into<Vec<u8>>) -> Attr {
        Attr {
            typ: attr::USER_PASSWORD,
            value: Value::Password(password.into()),
        }
    }
    /// CHAP-Password (RFC 2865 §5.3) from the CHAP Response's identifier and 16-byte value.
    pub fn chap_password(ident: u8, response: [u8; 16]) -> Attr {
        Attr {
            typ: attr::CHAP_PASSWORD,
            value: Value::ChapPassword { ident, response },
        }
    }
    /// A Microsoft vendor attribute (vendor 311, RFC 2548).
    pub fn ms(vendor_type: u8, value: Value) -> Attr {
        Attr {
            typ: attr::VENDOR_SPECIFIC,
            value: Value::Vsa(Vsa {
                vendor_id: ms::VENDOR_ID,
                vendor_type,
                value: Box::new(value),
            }),
        }
    }
    /// Dictionary name, or `None` for attributes kept raw.
    pub fn name(&self) -> Option<&'static str> {
        dict::lookup(self.typ).map(|d| d.name)
    }
    /// The value as bytes, if it is `text`/`string`/raw.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match &self.value {
            Value::Bytes(b) | Value::Raw(b) => Some(b),
            Value::TaggedText { text, .. } => Some(text),
            _ => None,
        }
    }
    /// The value as an integer, if it is one.
    pub fn as_integer(&self) -> Option<u32> {
        match self.value {
            Value::Integer(v) => Some(v),
            Value::TaggedInteger { value, .. } => Some(value),
            _ => None,
        }
    }
    /// The value as an IPv4 address, if it is one.
    pub fn as_ipv4(&self) -> Option<Ipv4Addr> {
        match self.value {
            Value::Ipv4(v) => Some(v),
            _ => None,
        }
    }
}

/// MS-CHAP2-Response value (RFC 2548 §2.3.2): 50 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsChap2Response {
    /// PPP CHAP Identifier of the MS-CHAPv2 Response.
    pub ident: u8,
    /// Flags octet (0).
    pub flags: u8,
    /// Peer-Challenge, 16 bytes.
    pub peer_challenge: [u8; 16],
    /// NT-Response, 24 bytes (RFC 2759 §8.1).
    pub nt_response: [u8; 24],
}

impl MsChap2Response {
    /// Parse the 50-byte value: Ident, Flags, Peer-Challenge (16), Reserved (8), Response (24).
    /// `None` for any other length.
    pub fn parse(v: &[u8]) -> Option<MsChap2Response> {
        let [ident, flags, rest @ ..]: [u8; 50] = v.try_into().ok()?;
        let (peer_challenge, rest) = rest.split_first_chunk::<16>()?;
        let (_reserved, nt_response) = rest.split_first_chunk::<8>()?;
        Some(MsChap2Response {
            ident,
            flags,
            peer_challenge: *peer_challenge,
            nt_response: nt_response.try_into().ok()?,
        })
    }

    /// The 50-byte value, Reserved octets zero.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(50);
        v.extend_from_slice(&[self.ident, self.flags]);
        v.extend_from_slice(&self.peer_challenge);
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&self.nt_response);
        v
    }
}

/// Split an MS-CHAP2-Success or MS-CHAP-Error value (RFC 2548 §2.3.3, §2.1.5) into the PPP
/// CHAP Identifier and the message (`S=<40 hex>` or `E=... R=... C=... V=... M=...`).
/// `None` if empty.
pub fn ms_chap_ident_message(v: &[u8]) -> Option<(u8, &[u8])> {
    v.split_first().map(|(i, m)| (*i, m))
}

fn bad(def: &AttrDef, offset: usize, reason: &'static str) -> Error {
    Error::BadValue {
        typ: def.typ,
        name: def.name,
        offset,
        reason,
    }
}

fn fixed<const N: usize>(v: &[u8], def: &AttrDef, offset: usize) -> Result<[u8; N], Error> {
    v.try_into()
        .map_err(|_| bad(def, offset, "wrong value length"))
}

/// Decode one value of dictionary kind `def.kind`. `offset` is the attribute's position for
/// error messages.
fn decode_kind(def: &AttrDef, v: &[u8], offset: usize, ctx: CryptCtx<'_>) -> Result<Value, Error> {
    Ok(match def.kind {
        Kind::Text | Kind::Octets => Value::Bytes(v.to_vec()),
        Kind::Integer => Value::Integer(u32::from_be_bytes(fixed(v, def, offset)?)),
        Kind::Ipv4 => Value::Ipv4(Ipv4Addr::from(fixed::<4>(v, def, offset)?)),
        Kind::Ipv6 => Value::Ipv6(Ipv6Addr::from(fixed::<16>(v, def, offset)?)),
        Kind::Ipv6Prefix => {
            let [_reserved, len, rest @ ..] = v else {
                return Err(bad(def, offset, "shorter than 2 bytes"));
            };
            if *len > 128 || rest.len() > 16 || rest.len() * 8 < usize::from(*len) {
                return Err(bad(def, offset, "prefix length does not match the data"));
            }
            let mut b = [0u8; 16];
            b.get_mut(..rest.len())
                .ok_or(bad(def, offset, "prefix too long"))?
                .copy_from_slice(rest);
            Value::Ipv6Prefix {
                len: *len,
                prefix: Ipv6Addr::from(mask_v6(b, *len)),
            }
        }
        Kind::TaggedInteger => {
            let [tag, a, b, c] = fixed::<4>(v, def, offset)?;
            if tag > 0x1f {
                return Err(bad(def, offset, "tag above 0x1f"));
            }
            Value::TaggedInteger {
                tag,
                value: u32::from_be_bytes([0, a, b, c]),
            }
        }
        Kind::TaggedText => match v.split_first() {
            Some((&t, rest)) if t <= 0x1f => Value::TaggedText {
                tag: Some(t),
                text: rest.to_vec(),
            },
            _ => Value::TaggedText {
                tag: None,
                text: v.to_vec(),
            },
        },
        Kind::UserPassword => Value::Password(
            crypt::unhide_password(v, ctx.secret, ctx.authenticator).ok_or(bad(
                def,
                offset,
                "hidden length not a multiple of 16 in 16..=128",
            ))?,
        ),
        Kind::ChapPassword => {
            let [ident, response @ ..] = fixed::<17>(v, def, offset)?;
            Value::ChapPassword { ident, response }
        }
        Kind::MessageAuthenticator => Value::MessageAuthenticator(fixed(v, def, offset)?),
        Kind::MppeKey => {
            let (salt, key) = crypt::decrypt_mppe_key(v, ctx.secret, ctx.authenticator)
                .ok_or(bad(def, offset, "salt or encrypted key malformed"))?;
            Value::MppeKey { salt, key }
        }
        Kind::Vsa => decode_vsa(v, offset, ctx)?,
    })
}

fn mask_v6(mut b: [u8; 16], len: u8) -> [u8; 16] {
    for (i, byte) in b.iter_mut().enumerate() {
        let bits = usize::from(len).saturating_sub(i * 8).min(8);
        *byte &= !(0xffu8.checked_shr(bits as u32).unwrap_or(0));
    }
    b
}

fn decode_vsa(v: &[u8], offset: usize, ctx: CryptCtx<'_>) -> Result<Value, Error> {
    let Some((vid, rest)) = v.split_first_chunk::<4>() else {
        return Ok(Value::Raw(v.to_vec()));
    };
    let vendor_id = u32::from_be_bytes(*vid);
    // One sub-attribute in the suggested format, filling the VSA exactly; anything else
    // (several sub-attributes, other vendors' formats) stays raw.
    let [vtype, vlen, sub @ ..] = rest else {
        return Ok(Value::Raw(v.to_vec()));
    };
    if usize::from(*vlen) != rest.len() || *vlen < 2 {
        return Ok(Value::Raw(v.to_vec()));
    }
    let value = match (vendor_id, dict::lookup_ms(*vtype)) {
        (ms::VENDOR_ID, Some(def)) => decode_kind(def, sub, offset, ctx)?,
        _ => Value::Raw(sub.to_vec()),
    };
    Ok(Value::Vsa(Vsa {
        vendor_id,
        vendor_type: *vtype,
        value: Box::new(value),
    }))
}

/// Decode one attribute's value. Unknown types give [`Value::Raw`]; a known type whose value
/// has the wrong shape is an error naming the attribute and `offset`.
pub fn decode_value(typ: u8, v: &[u8], offset: usize, ctx: CryptCtx<'_>) -> Result<Value, Error> {
    match dict::lookup(typ) {
        Some(def) => decode_kind(def, v, offset, ctx),
        None => Ok(Value::Raw(v.to_vec())),
    }
}

fn enc_err(typ: u8, reason: &'static str) -> Error {
    Error::Encode { typ, reason }
}

/// Append the value bytes of `value` (without Type and Length) to `out`. `kind` is the
/// dictionary kind if the attribute is known. [`Value::Raw`] is written as is for any type.
pub fn encode_value(
    typ: u8,
    kind: Option<Kind>,
    value: &Value,
    out: &mut Vec<u8>,
    ctx: CryptCtx<'_>,
) -> Result<(), Error> {
    let mismatch = || enc_err(typ, "value does not match the attribute's type");
    match (kind, value) {
        (_, Value::Raw(b)) => out.extend_from_slice(b),
        (Some(Kind::Text | Kind::Octets), Value::Bytes(b)) => out.extend_from_slice(b),
        (Some(Kind::Integer), Value::Integer(v)) => out.extend_from_slice(&v.to_be_bytes()),
        (Some(Kind::Ipv4), Value::Ipv4(a)) => out.extend_from_slice(&a.octets()),
        (Some(Kind::Ipv6), Value::Ipv6(a)) => out.extend_from_slice(&a.octets()),
        (Some(Kind::Ipv6Prefix), Value::Ipv6Prefix { len, prefix }) => {
            if *len > 128 {
                return Err(enc_err(typ, "prefix length above 128"));
            }
            let bytes = usize::from(*len).div_ceil(8);
            out.extend_from_slice(&[0, *len]);
            out.extend_from_slice(mask_v6(prefix.octets(), *len).get(..bytes).unwrap_or(&[]));
        }
        (Some(Kind::TaggedInteger), Value::TaggedInteger { tag, value }) => {
            if *tag > 0x1f || *value >= 1 << 24 {
                return Err(enc_err(typ, "tag above 0x1f or value above 24 bits"));
            }
            let [_, a, b, c] = value.to_be_bytes();
            out.extend_from_slice(&[*tag, a, b, c]);
        }
        (Some(Kind::TaggedText), Value::TaggedText { tag, text }) => {
            match tag {
                Some(t @ 0..=0x1f) => out.push(*t),
                Some(_) => return Err(enc_err(typ, "tag above 0x1f")),
                None if matches!(text.first(), Some(0..=0x1f)) => {
                    return Err(enc_err(typ, "untagged text starting with a tag-like octet"))
                }
                None => {}
            }
            out.extend_from_slice(text);
        }
        (Some(Kind::UserPassword), Value::Password(p)) => out.extend_from_slice(
            &crypt::hide_password(p, ctx.secret, ctx.authenticator)
                .ok_or(enc_err(typ, "password longer than 128 bytes"))?,
        ),
        (Some(Kind::ChapPassword), Value::ChapPassword { ident, response }) => {
            out.push(*ident);
            out.extend_from_slice(response);
        }
        (Some(Kind::MessageAuthenticator), Value::MessageAuthenticator(m)) => {
            out.extend_from_slice(m)
        }
        (Some(Kind::MppeKey), Value::MppeKey { salt, key }) => out.extend_from_slice(
            &crypt::encrypt_mppe_key(key, *salt, ctx.secret, ctx.authenticator)
                .ok_or(enc_err(typ, "MPPE key longer than 240 bytes"))?,
        ),
        (Some(Kind::Vsa), Value::Vsa(vsa)) => {
            out.extend_from_slice(&vsa.vendor_id.to_be_bytes());
            let start = out.len();
            out.extend_from_slice(&[vsa.vendor_type, 0]);
            let kind = match vsa.vendor_id {
                ms::VENDOR_ID => dict::lookup_ms(vsa.vendor_type).map(|d| d.kind),
                _ => None,
            };
            encode_value(vsa.vendor_type, kind, &vsa.value, out, ctx)?;
            let len = u8::try_from(out.len() - start)
                .map_err(|_| enc_err(typ, "vendor sub-attribute longer than 255 bytes"))?;
            if let Some(l) = out.get_mut(start + 1) {
                *l = len;
            }
        }
        _ => return Err(mismatch()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: CryptCtx<'static> = CryptCtx {
        secret: b"s",
        authenticator: &[9; 16],
    };

    fn round_trip(a: &Attr) -> Value {
        let mut out = Vec::new();
        let kind = dict::lookup(a.typ).map(|d| d.kind);
        encode_value(a.typ, kind, &a.value, &mut out, CTX).unwrap();
        decode_value(a.typ, &out, 20, CTX).unwrap()
    }

    #[test]
    fn typed_values_round_trip() {
        let cases = [
            Attr::bytes(attr::USER_NAME, "bob"),
            Attr::integer(attr::NAS_PORT_TYPE, dict::nas_port_type::VIRTUAL),
            Attr::ipv4(attr::FRAMED_IP_ADDRESS, Ipv4Addr::new(10, 0, 0, 1)),
            Attr {
                typ: attr::NAS_IPV6_ADDRESS,
                value: Value::Ipv6(Ipv6Addr::LOCALHOST),
            },
            Attr {
                typ: attr::DELEGATED_IPV6_PREFIX,
                value: Value::Ipv6Prefix {
                    len: 56,
                    prefix: "2001:db8:1200::".parse().unwrap(),
                },
            },
            Attr {
                typ: attr::TUNNEL_TYPE,
                value: Value::TaggedInteger {
                    tag: 1,
                    value: dict::tunnel_type::L2TP,
                },
            },
            Attr {
                typ: attr::TUNNEL_CLIENT_ENDPOINT,
                value: Value::TaggedText {
                    tag: Some(1),
                    text: b"192.0.2.1".to_vec(),
                },
            },
            Attr {
                typ: attr::TUNNEL_SERVER_AUTH_ID,
                value: Value::TaggedText {
                    tag: None,
                    text: b"lns1".to_vec(),
                },
            },
            Attr::user_password("arctangent"),
            Attr::chap_password(22, [5; 16]),
            Attr::ms(
                ms::MS_PRIMARY_DNS_SERVER,
                Value::Ipv4(Ipv4Addr::new(192, 0, 2, 53)),
            ),
            Attr::ms(
                ms::MS_MPPE_RECV_KEY,
                Value::MppeKey {
                    salt: 0x8001,
                    key: vec![1; 16],
                },
            ),
            Attr::ms(ms::MS_CHAP2_SUCCESS, Value::Bytes(b"\x01S=00".to_vec())),
            Attr {
                typ: 250,
                value: Value::Raw(vec![1, 2, 3]),
            },
        ];
        for a in &cases {
            assert_eq!(&round_trip(a), &a.value, "{:?}", a.name());
        }
    }

    #[test]
    fn wrong_shapes_are_errors_naming_the_attribute() {
        let e = decode_value(attr::NAS_PORT, &[0, 1, 2], 44, CTX).unwrap_err();
        assert_eq!(
            e,
            Error::BadValue {
                typ: 5,
                name: "NAS-Port",
                offset: 44,
                reason: "wrong value length"
            }
        );
        assert!(decode_value(attr::FRAMED_IPV6_PREFIX, &[0, 129], 0, CTX).is_err());
        assert!(decode_value(attr::FRAMED_IPV6_PREFIX, &[0, 64, 1, 2], 0, CTX).is_err());
        assert!(decode_value(attr::TUNNEL_TYPE, &[0x20, 0, 0, 3], 0, CTX).is_err());
        let mut out = Vec::new();
        let kind = dict::lookup(attr::NAS_PORT).map(|d| d.kind);
        assert!(encode_value(attr::NAS_PORT, kind, &Value::Bytes(vec![1]), &mut out, CTX).is_err());
    }

    #[test]
    fn ms_chap2_response_layout() {
        let r = MsChap2Response {
            ident: 9,
            flags: 0,
            peer_challenge: [1; 16],
            nt_response: [2; 24],
        };
        let b = r.to_bytes();
        assert_eq!(b.len(), 50);
        assert_eq!(b[18..26], [0; 8], "reserved");
        assert_eq!(MsChap2Response::parse(&b), Some(r));
        assert_eq!(MsChap2Response::parse(&b[..49]), None);
        assert_eq!(ms_chap_ident_message(b"\x07S=AB"), Some((7, &b"S=AB"[..])));
        assert_eq!(ms_chap_ident_message(b""), None);
    }

    #[test]
    fn unknown_vendor_and_odd_vsa_layouts_stay_raw() {
        let v = [0, 0, 0x0d, 0xe9, 1, 4, 0xaa, 0xbb];
        match decode_value(attr::VENDOR_SPECIFIC, &v, 0, CTX).unwrap() {
            Value::Vsa(vsa) => {
                assert_eq!(vsa.vendor_id, 3561);
                assert_eq!(*vsa.value, Value::Raw(vec![0xaa, 0xbb]));
            }
            other => panic!("{other:?}"),
        }
        let two = [0, 0, 1, 0x37, 28, 3, 1, 28, 3, 2];
        assert_eq!(
            decode_value(attr::VENDOR_SPECIFIC, &two, 0, CTX).unwrap(),
            Value::Raw(two.to_vec())
        );
    }
}
