//! The RADIUS packet (RFC 2865 §3): Code, Identifier, Length, Authenticator, attributes; and
//! the authenticator rules for each Code.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! |     Code      |  Identifier   |            Length             |
//! |                  Authenticator (16 octets)                    |
//! |  Attributes ... (Type, Length, Value)
//! ```
//!
//! Decoding is bounded: a packet is at most 4096 bytes, so at most 2038 attributes.

use std::net::Ipv4Addr;

use crate::attr::{self, Attr, CryptCtx, Value};
use crate::crypt;
use crate::dict::{self, attr as at, code};
use crate::error::Error;

/// Header length in bytes (Code, Identifier, Length, Authenticator).
pub const HEADER_LEN: usize = 20;
/// Largest packet, in bytes (RFC 2865 §3).
pub const MAX_PACKET: usize = 4096;

/// The fixed header of a datagram, checked against the datagram's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Code octet (see [`crate::dict::code`]).
    pub code: u8,
    /// Identifier octet, matching requests to replies.
    pub identifier: u8,
    /// Length field in bytes: 20..=4096 and no more than the datagram; octets past it are
    /// padding and ignored (RFC 2865 §3).
    pub length: usize,
    /// Authenticator octets 4..20.
    pub authenticator: [u8; 16],
}

impl Header {
    /// Parse and check the header of `buf` (one UDP payload).
    ///
    /// Errors: [`Error::Truncated`] if `buf` is shorter than 20 bytes or than the Length field;
    /// [`Error::BadLength`] if the Length field is outside 20..=4096.
    pub fn parse(buf: &[u8]) -> Result<Header, Error> {
        let Some((head, _)) = buf.split_first_chunk::<HEADER_LEN>() else {
            return Err(Error::Truncated {
                have: buf.len(),
                need: HEADER_LEN,
            });
        };
        let [code, identifier, l0, l1, auth @ ..] = *head;
        let length = usize::from(u16::from_be_bytes([l0, l1]));
        if !(HEADER_LEN..=MAX_PACKET).contains(&length) {
            return Err(Error::BadLength(length));
        }
        if buf.len() < length {
            return Err(Error::Truncated {
                have: buf.len(),
                need: length,
            });
        }
        Ok(Header {
            code,
            identifier,
            length,
            authenticator: auth,
        })
    }
}

/// Walk the attributes of a packet body: yields `(offset, type, value)` with `offset` the
/// Type octet's position in the packet, or one error and then nothing.
pub fn walk(packet: &[u8]) -> impl Iterator<Item = Result<(usize, u8, &[u8]), Error>> {
    let mut off = HEADER_LEN;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || off >= packet.len() {
            return None;
        }
        let item = match (packet.get(off), packet.get(off + 1)) {
            (Some(&typ), Some(&len)) => {
                let len = usize::from(len);
                match packet.get(off + 2..off + len.max(2)) {
                    Some(v) if len >= 2 => Ok((off, typ, v)),
                    _ => Err(Error::BadAttributeLength {
                        typ,
                        offset: off,
                        len,
                    }),
                }
            }
            (Some(&typ), None) => Err(Error::BadAttributeLength {
                typ,
                offset: off,
                len: 1,
            }),
            _ => return None,
        };
        match &item {
            Ok((_, _, v)) => off += 2 + v.len(),
            Err(_) => failed = true,
        }
        Some(item)
    })
}

/// Offset of the (single) Message-Authenticator value in `packet`, `Ok(None)` if absent.
/// Errors: malformed attributes; [`Error::BadMessageAuthenticator`] if it appears twice or is
/// not 16 bytes.
pub fn find_message_authenticator(packet: &[u8]) -> Result<Option<usize>, Error> {
    let mut found = None;
    for item in walk(packet) {
        let (off, typ, v) = item?;
        if typ == at::MESSAGE_AUTHENTICATOR {
            if found.is_some() || v.len() != 16 {
                return Err(Error::BadMessageAuthenticator);
            }
            found = Some(off + 2);
        }
    }
    Ok(found)
}

/// A decoded packet: header fields and typed attributes in wire order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Code octet (see [`crate::dict::code`]).
    pub code: u8,
    /// Identifier octet.
    pub identifier: u8,
    /// Authenticator as on the wire. For an Access-Request to encode, the random Request
    /// Authenticator; for other codes the encoder computes it and ignores this field.
    pub authenticator: [u8; 16],
    /// Attributes in order. User-Password and MPPE keys are in clear here.
    pub attrs: Vec<Attr>,
}

fn is_access_response(c: u8) -> bool {
    matches!(
        c,
        code::ACCESS_ACCEPT | code::ACCESS_REJECT | code::ACCESS_CHALLENGE
    )
}

/// Codes whose Request Authenticator is MD5 over the packet with a zero authenticator
/// (RFC 2866 §3, RFC 5176 §2.3).
fn is_hashed_request(c: u8) -> bool {
    matches!(
        c,
        code::ACCOUNTING_REQUEST | code::DISCONNECT_REQUEST | code::COA_REQUEST
    )
}

impl Packet {
    /// A packet with no attributes and a zero authenticator.
    pub fn new(code: u8, identifier: u8) -> Packet {
        Packet {
            code,
            identifier,
            authenticator: [0; 16],
            attrs: Vec::new(),
        }
    }

    /// Decode `buf` without checking any authenticator. `hide_auth` keys the hidden
    /// attributes: the packet's own Request Authenticator for User-Password in an
    /// Access-Request, the request's for MPPE keys in a response.
    ///
    /// Errors: header errors ([`Header::parse`]), [`Error::BadAttributeLength`],
    /// [`Error::BadValue`] for a known attribute of the wrong shape.
    pub fn decode_unverified(
        buf: &[u8],
        secret: &[u8],
        hide_auth: &[u8; 16],
    ) -> Result<Packet, Error> {
        let h = Header::parse(buf)?;
        let buf = buf.get(..h.length).unwrap_or(buf);
        let ctx = CryptCtx {
            secret,
            authenticator: hide_auth,
        };
        let mut attrs = Vec::new();
        for item in walk(buf) {
            let (off, typ, v) = item?;
            attrs.push(Attr {
                typ,
                value: attr::decode_value(typ, v, off, ctx)?,
            });
        }
        Ok(Packet {
            code: h.code,
            identifier: h.identifier,
            authenticator: h.authenticator,
            attrs,
        })
    }

    /// Decode and verify a request received by a server (RADIUS server, or a NAS's dynamic
    /// authorization server): Accounting-Request, CoA-Request and Disconnect-Request must carry
    /// a valid Request Authenticator (RFC 2866 §3, RFC 5176 §2.3); a Message-Authenticator, if
    /// present, must verify (RFC 3579 §3.2, RFC 5176 §3.3: computed with a zero authenticator
    /// for those codes and with the Request Authenticator for an Access-Request).
    ///
    /// Errors: decoding errors, [`Error::BadAuthenticator`], [`Error::BadMessageAuthenticator`],
    /// [`Error::UnexpectedCode`] for a response code.
    pub fn decode_request(buf: &[u8], secret: &[u8]) -> Result<Packet, Error> {
        let h = Header::parse(buf)?;
        let buf = buf.get(..h.length).unwrap_or(buf);
        let zero = [0u8; 16];
        let mac_auth = match h.code {
            code::ACCESS_REQUEST => &h.authenticator,
            c if is_hashed_request(c) => {
                if !crypt::ct_eq16(&crypt::packet_md5(buf, &zero, secret), &h.authenticator) {
                    return Err(Error::BadAuthenticator);
                }
                &zero
            }
            c => return Err(Error::UnexpectedCode(c)),
        };
        if let Some(ma) = find_message_authenticator(buf)? {
            if !crypt::verify_message_authenticator(buf, mac_auth, ma, secret) {
                return Err(Error::BadMessageAuthenticator);
            }
        }
        Packet::decode_unverified(buf, secret, &h.authenticator)
    }

    /// Decode and verify a response to a request sent with `request_authenticator`: the
    /// Response Authenticator must be MD5(Code+Identifier+Length+RequestAuth+Attributes+Secret)
    /// (RFC 2865 §3); Access-Accept/Reject/Challenge must carry a Message-Authenticator that
    /// verifies (RFC 3579 §3.2, required here because every Access-Request we send has one);
    /// for other codes one is checked if present.
    ///
    /// Errors: decoding errors, [`Error::BadAuthenticator`],
    /// [`Error::MissingMessageAuthenticator`], [`Error::BadMessageAuthenticator`].
    pub fn decode_response(
        buf: &[u8],
        secret: &[u8],
        request_authenticator: &[u8; 16],
    ) -> Result<Packet, Error> {
        let h = Header::parse(buf)?;
        let buf = buf.get(..h.length).unwrap_or(buf);
        verify_response(buf, &h, secret, request_authenticator)?;
        Packet::decode_unverified(buf, secret, request_authenticator)
    }

    /// Encode a request. Access-Request: `self.authenticator` is the Request Authenticator and
    /// hides User-Password. Accounting-Request, CoA-Request, Disconnect-Request: the Request
    /// Authenticator is computed (RFC 2866 §3, RFC 5176 §2.3). A Message-Authenticator
    /// attribute in `attrs` gets its HMAC-MD5 value computed (RFC 3579 §3.2).
    ///
    /// Errors: [`Error::Encode`] for a value that does not fit its attribute,
    /// [`Error::TooLong`], [`Error::UnexpectedCode`] for response codes.
    pub fn encode_request(&self, secret: &[u8]) -> Result<Vec<u8>, Error> {
        match self.code {
            code::ACCESS_REQUEST => self.encode_with(secret, &self.authenticator, None),
            c if is_hashed_request(c) => self.encode_with(secret, &[0; 16], Some(&[0; 16])),
            c => Err(Error::UnexpectedCode(c)),
        }
    }

    /// Encode a response to a request whose Request Authenticator was
    /// `request_authenticator`: Response Authenticator (RFC 2865 §3), Message-Authenticator if
    /// present in `attrs`, MPPE keys encrypted with the request's authenticator.
    ///
    /// Errors: as [`Packet::encode_request`].
    pub fn encode_response(
        &self,
        secret: &[u8],
        request_authenticator: &[u8; 16],
    ) -> Result<Vec<u8>, Error> {
        self.encode_with(secret, request_authenticator, Some(request_authenticator))
    }

    /// `auth`: what goes into the authenticator field while the Message-Authenticator is
    /// computed (and keys hiding). `hash_from`: if set, the authenticator field is then
    /// replaced by MD5(packet with `hash_from` as authenticator + secret).
    fn encode_with(
        &self,
        secret: &[u8],
        auth: &[u8; 16],
        hash_from: Option<&[u8; 16]>,
    ) -> Result<Vec<u8>, Error> {
        let ctx = CryptCtx {
            secret,
            authenticator: auth,
        };
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(&[self.code, self.identifier, 0, 0]);
        out.extend_from_slice(auth);
        let mut ma = None;
        for a in &self.attrs {
            let start = out.len();
            out.extend_from_slice(&[a.typ, 0]);
            let kind = dict::lookup(a.typ).map(|d| d.kind);
            if a.typ == at::MESSAGE_AUTHENTICATOR {
                if ma.is_some() {
                    return Err(Error::Encode {
                        typ: a.typ,
                        reason: "Message-Authenticator twice",
                    });
                }
                ma = Some(start + 2);
                out.extend_from_slice(&[0; 16]);
            } else {
                attr::encode_value(a.typ, kind, &a.value, &mut out, ctx)?;
            }
            let len = out.len() - start;
            if len > 255 {
                return Err(Error::Encode {
                    typ: a.typ,
                    reason: "value longer than 253 bytes",
                });
            }
            if let Some(l) = out.get_mut(start + 1) {
                *l = len as u8;
            }
        }
        if out.len() > MAX_PACKET {
            return Err(Error::TooLong(out.len()));
        }
        let len = (out.len() as u16).to_be_bytes();
        if let Some(l) = out.get_mut(2..4) {
            l.copy_from_slice(&len);
        }
        if let Some(off) = ma {
            let mac =
                crypt::message_authenticator(&out, auth, off, secret).ok_or(Error::Encode {
                    typ: at::MESSAGE_AUTHENTICATOR,
                    reason: "offset",
                })?;
            if let Some(v) = out.get_mut(off..off + 16) {
                v.copy_from_slice(&mac);
            }
        }
        if let Some(from) = hash_from {
            let a = crypt::packet_md5(&out, from, secret);
            if let Some(v) = out.get_mut(4..20) {
                v.copy_from_slice(&a);
            }
        }
        Ok(out)
    }

    /// First attribute of type `typ`.
    pub fn get(&self, typ: u8) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.typ == typ)
    }

    /// All attributes of type `typ`, in order.
    pub fn get_all(&self, typ: u8) -> impl Iterator<Item = &Attr> {
        self.attrs.iter().filter(move |a| a.typ == typ)
    }

    /// First `text`/`string` value of type `typ`.
    pub fn bytes(&self, typ: u8) -> Option<&[u8]> {
        self.get(typ).and_then(Attr::as_bytes)
    }

    /// First integer value of type `typ`.
    pub fn integer(&self, typ: u8) -> Option<u32> {
        self.get(typ).and_then(Attr::as_integer)
    }

    /// First IPv4 address value of type `typ`.
    pub fn ipv4(&self, typ: u8) -> Option<Ipv4Addr> {
        self.get(typ).and_then(Attr::as_ipv4)
    }

    /// Value of the first Microsoft vendor attribute (vendor 311) with `vendor_type`.
    pub fn ms(&self, vendor_type: u8) -> Option<&Value> {
        self.attrs.iter().find_map(|a| match &a.value {
            Value::Vsa(v) if v.vendor_id == dict::ms::VENDOR_ID && v.vendor_type == vendor_type => {
                Some(&*v.value)
            }
            _ => None,
        })
    }

    /// Replace the first attribute of type `typ` by `attr`, or append it if there is none.
    pub fn set(&mut self, attr: Attr) {
        match self.attrs.iter_mut().find(|a| a.typ == attr.typ) {
            Some(a) => *a = attr,
            None => self.attrs.push(attr),
        }
    }
}

/// Check a response's authenticators against the request (see [`Packet::decode_response`]).
/// `buf` is cut to the Length field.
pub fn verify_response(
    buf: &[u8],
    h: &Header,
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> Result<(), Error> {
    if !crypt::ct_eq16(
        &crypt::packet_md5(buf, request_authenticator, secret),
        &h.authenticator,
    ) {
        return Err(Error::BadAuthenticator);
    }
    match find_message_authenticator(buf)? {
        Some(ma)
            if !crypt::verify_message_authenticator(buf, request_authenticator, ma, secret) =>
        {
            return Err(Error::BadMessageAuthenticator);
        }
        Some(_) => {}
        None if is_access_response(h.code) => return Err(Error::MissingMessageAuthenticator),
        None => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_checks() {
        assert_eq!(
            Header::parse(&[1; 19]),
            Err(Error::Truncated { have: 19, need: 20 })
        );
        let mut b = [0u8; 20];
        b[3] = 19;
        assert_eq!(Header::parse(&b), Err(Error::BadLength(19)));
        b[2] = 0x10;
        b[3] = 1;
        assert_eq!(Header::parse(&b), Err(Error::BadLength(4097)));
        b[2] = 0;
        b[3] = 21;
        assert_eq!(
            Header::parse(&b),
            Err(Error::Truncated { have: 20, need: 21 })
        );
    }

    #[test]
    fn attribute_walk_rejects_bad_lengths_with_offset() {
        let mut p = vec![1, 0, 0, 0];
        p.extend_from_slice(&[0; 16]);
        p.extend_from_slice(&[1, 3, b'a', 5, 1]);
        let r: Vec<_> = walk(&p).collect();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0], Ok((20, 1, &b"a"[..])));
        assert_eq!(
            r[1],
            Err(Error::BadAttributeLength {
                typ: 5,
                offset: 23,
                len: 1
            })
        );
        let mut q = p[..23].to_vec();
        q.extend_from_slice(&[5, 7, 0]);
        assert_eq!(
            walk(&q).last(),
            Some(Err(Error::BadAttributeLength {
                typ: 5,
                offset: 23,
                len: 7
            }))
        );
    }

    #[test]
    fn accounting_request_and_response_authenticators() {
        let mut p = Packet::new(code::ACCOUNTING_REQUEST, 9);
        p.attrs.push(Attr::integer(
            at::ACCT_STATUS_TYPE,
            dict::acct_status_type::START,
        ));
        p.attrs.push(Attr::bytes(at::ACCT_SESSION_ID, "abc"));
        let wire = p.encode_request(b"sec").unwrap();
        let back = Packet::decode_request(&wire, b"sec").unwrap();
        assert_eq!(back.attrs, p.attrs);
        assert_eq!(
            Packet::decode_request(&wire, b"bad"),
            Err(Error::BadAuthenticator)
        );
        let mut tampered = wire.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(
            Packet::decode_request(&tampered, b"sec"),
            Err(Error::BadAuthenticator)
        );

        let req_auth: [u8; 16] = wire[4..20].try_into().unwrap();
        let resp = Packet::new(code::ACCOUNTING_RESPONSE, 9)
            .encode_response(b"sec", &req_auth)
            .unwrap();
        assert!(Packet::decode_response(&resp, b"sec", &req_auth).is_ok());
        assert_eq!(
            Packet::decode_response(&resp, b"sec", &[0; 16]),
            Err(Error::BadAuthenticator)
        );
    }

    #[test]
    fn access_accept_needs_a_valid_message_authenticator() {
        let req_auth = [0x42; 16];
        let mut ok = Packet::new(code::ACCESS_ACCEPT, 1);
        ok.attrs.push(Attr {
            typ: at::MESSAGE_AUTHENTICATOR,
            value: Value::MessageAuthenticator([0; 16]),
        });
        let wire = ok.encode_response(b"s", &req_auth).unwrap();
        assert!(Packet::decode_response(&wire, b"s", &req_auth).is_ok());

        let none = Packet::new(code::ACCESS_ACCEPT, 1)
            .encode_response(b"s", &req_auth)
            .unwrap();
        assert_eq!(
            Packet::decode_response(&none, b"s", &req_auth),
            Err(Error::MissingMessageAuthenticator)
        );
        // Flip one bit of the HMAC, then re-sign the Response Authenticator so that only the
        // Message-Authenticator is wrong.
        let mut bad = wire.clone();
        bad[22] ^= 1;
        let a = crypt::packet_md5(&bad, &req_auth, b"s");
        bad[4..20].copy_from_slice(&a);
        assert_eq!(
            Packet::decode_response(&bad, b"s", &req_auth),
            Err(Error::BadMessageAuthenticator)
        );
    }
}
