//! Hidden AVPs (RFC 2661 §4.3): MD5 chain over the Random Vector, shared secret and attribute type.
//!
//! The hidden value is the *Hidden AVP Subformat* — original length (2 bytes, network byte
//! order) ‖ original value ‖ padding — XORed block by block with an MD5 key stream:
//!
//! ```text
//! b_1 = MD5(attr_type (2 bytes, network order) ‖ secret ‖ random_vector)   c_1 = p_1 xor b_1
//! b_i = MD5(secret ‖ c_{i-1})                                              c_i = p_i xor b_i
//! ```
//!
//! The last block may be shorter than 16 bytes: only the bytes present are XORed. These are pure
//! functions; the codec calls them with the value of the nearest preceding Random Vector AVP.

use md5::{Digest, Md5};

use super::{Error, Result};

/// XOR `data` in place with the RFC 2661 §4.3 key stream. `cipher_of` returns the ciphertext
/// block that feeds the next MD5: for hiding it is the output, for revealing the input.
fn xor_chain(attr_type: u16, secret: &[u8], random_vector: &[u8], data: &mut [u8], hiding: bool) {
    let mut h = Md5::new();
    h.update(attr_type.to_be_bytes());
    h.update(secret);
    h.update(random_vector);
    let mut b: [u8; 16] = h.finalize().into();
    let mut chunks = data.chunks_mut(16).peekable();
    while let Some(chunk) = chunks.next() {
        let mut cipher = [0u8; 16];
        for (i, byte) in chunk.iter_mut().enumerate() {
            let before = *byte;
            *byte ^= b[i];
            cipher[i] = if hiding { *byte } else { before };
        }
        if chunks.peek().is_some() {
            // Only full blocks are followed by another block, so `cipher` is complete here.
            let mut h = Md5::new();
            h.update(secret);
            h.update(cipher);
            b = h.finalize().into();
        }
    }
}

/// Hide `value` for an AVP of type `attr_type` (RFC 2661 §4.3), with no padding.
///
/// Returns the bytes to put in the AVP's value field: the encrypted subformat, 2 bytes longer
/// than `value`. The original length is written as a 16-bit network-order integer, so `value`
/// longer than 65535 bytes is truncated in that field — callers keep AVP values ≤ 1017 bytes
/// (the 10-bit AVP length limit), which [`crate::wire::ControlMessage::emit`] checks. Never fails.
pub fn hide(attr_type: u16, secret: &[u8], random_vector: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 2);
    out.extend_from_slice(&(value.len().min(u16::MAX as usize) as u16).to_be_bytes());
    out.extend_from_slice(value);
    xor_chain(attr_type, secret, random_vector, &mut out, true);
    out
}

/// Reveal a hidden AVP value (the AVP's value field, `hidden`) of type `attr_type`.
///
/// Returns the original value (padding dropped).
///
/// # Errors
/// [`Error::AvpValue`] (with `offset` 0 — the caller knows the real offset) when the hidden
/// value is shorter than the 2-byte length field or the revealed original length exceeds the
/// bytes present (wrong secret or Random Vector, or a corrupt AVP).
pub fn reveal(
    attr_type: u16,
    secret: &[u8],
    random_vector: &[u8],
    hidden: &[u8],
) -> Result<Vec<u8>> {
    if hidden.len() < 2 {
        return Err(Error::AvpValue {
            offset: 0,
            attr_type,
            reason: "hidden value shorter than its 2-byte length field",
        });
    }
    let mut plain = hidden.to_vec();
    xor_chain(attr_type, secret, random_vector, &mut plain, false);
    let len = u16::from_be_bytes([plain[0], plain[1]]) as usize;
    if len > plain.len() - 2 {
        return Err(Error::AvpValue {
            offset: 0,
            attr_type,
            reason: "hidden value: original length exceeds AVP (wrong secret or Random Vector?)",
        });
    }
    plain.truncate(len + 2);
    plain.drain(..2);
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_various_lengths() {
        for n in [0usize, 1, 13, 14, 15, 16, 30, 31, 32, 33, 100] {
            let value: Vec<u8> = (0..n as u8).collect();
            let h = hide(7, b"secret", b"rv-bytes", &value);
            assert_eq!(h.len(), n + 2);
            assert_eq!(reveal(7, b"secret", b"rv-bytes", &h).unwrap(), value);
        }
    }

    #[test]
    fn reveal_short_is_error() {
        assert!(reveal(7, b"s", b"r", &[1]).is_err());
        assert!(reveal(7, b"s", b"r", &[]).is_err());
    }
}
