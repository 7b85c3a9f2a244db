//! L2TPv3 Control Message Authentication (RFC 3931 §4.3, §5.4.1): the Message Digest AVP.
//!
//! ```text
//! shared_key     = HMAC_MD5(shared_secret, 0x02)
//! digest (SCCRQ) = HMAC_Hash(shared_key, control_message)
//! digest (other) = HMAC_Hash(shared_key, sender_nonce ‖ receiver_nonce ‖ control_message)
//! ```
//!
//! `control_message` is the whole message from the control header on (after the 4-byte zero
//! Session ID over IP), with the value of every Message Digest AVP after its Digest Type octet
//! set to zeros. The sender puts its own nonce first ("local_nonce + remote_nonce"); the
//! receiver computes the same value with the nonces reversed from its point of view.
//!
//! Digest Type: RFC 3931 §5.4.1 lists 0 = HMAC-MD5 and 1 = HMAC-SHA-1 but its length text says
//! "Digest Type 1 (HMAC-MD5) … 2 (HMAC-SHA-1)". We send 0/1 (the value list) and, on receipt,
//! pick the algorithm from the digest's length (16 = MD5, 20 = SHA-1), so either numbering
//! verifies.
//!
//! Pure functions over byte slices; they never panic on any input.

use hmac::digest::{CtOutput, KeyInit};
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::wire::{attr, AvpIter, AVP_HEADER_LEN, CONTROL_HEADER_LEN};

/// HMAC algorithm of the Message Digest AVP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlg {
    /// HMAC-MD5 (16-byte digest; MUST be supported).
    HmacMd5,
    /// HMAC-SHA-1 (20-byte digest).
    HmacSha1,
}

impl DigestAlg {
    /// The Digest Type octet we send (RFC 3931 §5.4.1 value list: 0 MD5, 1 SHA-1).
    pub fn wire_type(self) -> u8 {
        match self {
            DigestAlg::HmacMd5 => 0,
            DigestAlg::HmacSha1 => 1,
        }
    }

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            DigestAlg::HmacMd5 => 16,
            DigestAlg::HmacSha1 => 20,
        }
    }

    /// The algorithm a digest of `len` bytes was made with.
    pub fn from_len(len: usize) -> Option<DigestAlg> {
        match len {
            16 => Some(DigestAlg::HmacMd5),
            20 => Some(DigestAlg::HmacSha1),
            _ => None,
        }
    }
}

/// `shared_key = HMAC_MD5(shared_secret, 2)` (RFC 3931 §5.4.1).
pub fn shared_key(secret: &[u8]) -> [u8; 16] {
    let mut m = <Hmac<Md5> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    m.update(&[2]);
    m.finalize().into_bytes().into()
}

/// HMAC over `parts` (concatenated).
pub fn hmac(alg: DigestAlg, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    match alg {
        DigestAlg::HmacMd5 => keyed::<Hmac<Md5>>(key, parts)
            .finalize()
            .into_bytes()
            .to_vec(),
        DigestAlg::HmacSha1 => keyed::<Hmac<Sha1>>(key, parts)
            .finalize()
            .into_bytes()
            .to_vec(),
    }
}

/// True when `expected` is the HMAC over `parts`, compared in constant time (the hmac crate's
/// `verify_slice`); false for a length other than the algorithm's.
pub fn hmac_verify(alg: DigestAlg, key: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    match alg {
        DigestAlg::HmacMd5 => keyed::<Hmac<Md5>>(key, parts)
            .verify_slice(expected)
            .is_ok(),
        DigestAlg::HmacSha1 => keyed::<Hmac<Sha1>>(key, parts)
            .verify_slice(expected)
            .is_ok(),
    }
}

/// A MAC keyed with `key` (HMAC takes any key length) that has absorbed `parts`.
fn keyed<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]]) -> M {
    let mut m = <M as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        m.update(p);
    }
    m
}

/// Constant-time equality of two digests (RustCrypto `subtle`); false when the lengths differ.
/// For authenticators computed elsewhere (the CLI's capture checks), where no MAC object is at
/// hand for `verify_slice`.
pub fn digest_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Positions of the digest bytes (after the Digest Type octet) of every Message Digest AVP in a
/// control message `msg` (starting at the control header): `(offset, length)`. Walks the AVPs
/// with [`AvpIter`] up to the header's Length and stops at the first malformed AVP.
pub fn digest_fields(msg: &[u8]) -> Vec<(usize, usize)> {
    let end = match msg.get(2..4) {
        Some(&[a, b]) => usize::from(u16::from_be_bytes([a, b])),
        _ => return Vec::new(),
    };
    AvpIter::new(msg, CONTROL_HEADER_LEN, end)
        .map_while(|a| a.ok())
        .filter(|a| {
            a.header.vendor == 0 && a.header.attr_type == attr::MESSAGE_DIGEST && a.value.len() > 1
        })
        .map(|a| (a.offset + AVP_HEADER_LEN + 1, a.value.len() - 1))
        .collect()
}

/// The nonces of a digest computation: `(sender's, receiver's)`; `None` for the SCCRQ formula.
pub type Nonces<'a> = Option<(&'a [u8], &'a [u8])>;

/// The HMAC input of a digest computation: the nonces (none for the SCCRQ formula), then the
/// message with its digests zeroed.
fn parts<'a>(nonces: Nonces<'a>, zeroed: &'a [u8]) -> Vec<&'a [u8]> {
    match nonces {
        None => vec![zeroed],
        Some((a, b)) => vec![a, b, zeroed],
    }
}

/// Fills the first Message Digest AVP of `msg` (whose digest bytes are zero) with the digest
/// of the message. Returns false when there is no digest field of the algorithm's length.
pub fn sign(msg: &mut [u8], alg: DigestAlg, key: &[u8], nonces: Nonces) -> bool {
    let fields = digest_fields(msg);
    let Some(&(off, len)) = fields.first() else {
        return false;
    };
    if len != alg.digest_len() {
        return false;
    }
    for &(o, l) in &fields {
        if let Some(b) = msg.get_mut(o..o + l) {
            b.fill(0);
        }
    }
    let d = hmac(alg, key, &parts(nonces, msg));
    match msg.get_mut(off..off + len) {
        Some(b) => {
            b.copy_from_slice(&d);
            true
        }
        None => false,
    }
}

/// Checks a received control message `msg` (from the control header on): true when one of its
/// Message Digest AVPs (at most two are looked at) matches. False when it has none.
pub fn verify(msg: &[u8], key: &[u8], nonces: Nonces) -> bool {
    let fields: Vec<(usize, usize)> = digest_fields(msg).into_iter().take(2).collect();
    if fields.is_empty() {
        return false;
    }
    let mut zeroed = msg.to_vec();
    let mut received = Vec::new();
    for &(o, l) in &fields {
        if let Some(b) = zeroed.get_mut(o..o + l) {
            received.push(b.to_vec());
            b.fill(0);
        }
    }
    let input = parts(nonces, &zeroed);
    received
        .iter()
        .any(|r| DigestAlg::from_len(r.len()).is_some_and(|alg| hmac_verify(alg, key, &input, r)))
}

/// v3 Message Digest keys of one control connection.
#[derive(Debug)]
pub(crate) struct DigestKeys {
    pub alg: DigestAlg,
    pub key: [u8; 16],
    pub local_nonce: Vec<u8>,
    pub peer_nonce: Vec<u8>,
}

/// What the endpoint needs to encode a tunnel's messages beyond the message itself.
#[derive(Debug)]
pub(crate) struct Auth {
    /// Secret for hidden AVPs.
    pub secret: Option<Vec<u8>>,
    /// v3 Message Digest, when Control Message Authentication is on.
    pub digest: Option<DigestKeys>,
}

impl Auth {
    /// Fills the Message Digest of an encoded message (`raw` from the control header on).
    pub fn sign(&self, raw: &mut [u8], is_sccrq: bool) -> bool {
        let Some(d) = &self.digest else {
            return true;
        };
        let nonces = if is_sccrq {
            None
        } else {
            Some((d.local_nonce.as_slice(), d.peer_nonce.as_slice()))
        };
        sign(raw, d.alg, &d.key, nonces)
    }
}

/// Challenge Response = MD5(message type byte ‖ secret ‖ challenge) (RFC 2661 §4.2).
pub fn challenge_response(msg_type: u8, secret: &[u8], challenge: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update([msg_type]);
    h.update(secret);
    h.update(challenge);
    h.finalize().into()
}

/// True when `response` is the Challenge Response to `challenge` for a message of type
/// `msg_type` (RFC 2661 §4.2), compared in constant time (RustCrypto `CtOutput`).
pub fn verify_challenge_response(
    msg_type: u8,
    secret: &[u8],
    challenge: &[u8],
    response: &[u8; 16],
) -> bool {
    let expected = challenge_response(msg_type, secret, challenge);
    CtOutput::<Md5>::new(expected.into()) == CtOutput::new((*response).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Avp, AvpValue, ControlHeader, ControlMessage, Encap, MessageType};

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn challenge_response_is_md5_of_type_secret_challenge_per_published_vectors() {
        // RFC 1321 §A.5 test suite: MD5("abc") and MD5("message digest"), split into
        // type byte ‖ secret ‖ challenge.
        let abc = challenge_response(b'a', b"b", b"c");
        assert_eq!(abc.to_vec(), unhex("900150983cd24fb0d6963f7d28e17f72"));
        let md = challenge_response(b'm', b"essage ", b"digest");
        assert_eq!(md.to_vec(), unhex("f96b697d7cb7938d525a2f31aaf161d0"));
        // RFC 2661 §4.2 with an SCCRP (type 2), secret "s3cr3t" and the challenge 00..0f,
        // computed independently with python3:
        // hashlib.md5(bytes([2]) + b"s3cr3t" + bytes(range(16))).hexdigest()
        let challenge: Vec<u8> = (0..16).collect();
        let r = challenge_response(2, b"s3cr3t", &challenge);
        assert_eq!(r.to_vec(), unhex("eed2c93005303fe88a4392b557ffdbb5"));
        assert!(verify_challenge_response(2, b"s3cr3t", &challenge, &r));
        // The same challenge answered in an SCCCN (type 3) gives another digest.
        assert!(!verify_challenge_response(3, b"s3cr3t", &challenge, &r));
        let mut wrong = r;
        wrong[15] ^= 1;
        assert!(!verify_challenge_response(2, b"s3cr3t", &challenge, &wrong));
    }

    fn msg(alg: DigestAlg) -> Vec<u8> {
        ControlMessage {
            header: ControlHeader::v3(7, 1, 2),
            avps: vec![
                Avp::m(AvpValue::MessageType(MessageType::Hello)),
                Avp::m(AvpValue::MessageDigest {
                    digest_type: alg.wire_type(),
                    digest: vec![0; alg.digest_len()],
                }),
            ],
        }
        .to_bytes(Encap::Udp, None)
        .unwrap()
    }

    #[test]
    fn shared_key_is_hmac_md5_of_octet_2() {
        // RFC 2202 §2 test case 2 checks the HMAC-MD5 we build on.
        let key = b"Jefe";
        let tc2 = hmac(
            DigestAlg::HmacMd5,
            key,
            &[b"what do ya want ", b"for nothing?"],
        );
        assert_eq!(tc2, unhex("750c783e6ab0b503eaa86e310a5db738"));
        // RFC 3931 §5.4.1 shared_key with the secret "secret", computed independently with
        // python3: hmac.new(b"secret", b"\x02", "md5").hexdigest()
        assert_eq!(
            shared_key(b"secret").to_vec(),
            unhex("21dc457145ad58f4b1497ae27d2a87b4")
        );
        assert!(hmac_verify(
            DigestAlg::HmacMd5,
            key,
            &[b"what do ya want for nothing?"],
            &tc2
        ));
        assert!(!hmac_verify(
            DigestAlg::HmacMd5,
            key,
            &[b"what do ya want for nothing!"],
            &tc2
        ));
    }

    #[test]
    fn sign_then_verify_with_reversed_nonces() {
        for alg in [DigestAlg::HmacMd5, DigestAlg::HmacSha1] {
            let key = shared_key(b"s");
            let mut m = msg(alg);
            assert!(sign(&mut m, alg, &key, Some((b"A", b"B"))));
            assert!(verify(&m, &key, Some((b"A", b"B"))));
            assert!(!verify(&m, &key, Some((b"B", b"A"))));
            assert!(!verify(&m, &shared_key(b"t"), Some((b"A", b"B"))));
            let mut bad = m.clone();
            bad[9] ^= 1; // Nr
            assert!(!verify(&bad, &key, Some((b"A", b"B"))));
        }
    }

    #[test]
    fn verify_never_panics_on_garbage() {
        for n in 0..40 {
            let v: Vec<u8> = (0..n).map(|i| (i * 37) as u8).collect();
            let _ = verify(&v, b"k", None);
            let _ = digest_fields(&v);
        }
    }
}
