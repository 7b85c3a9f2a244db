//! The shared-secret transforms: User-Password hiding (RFC 2865 §5.2), MS-MPPE key
//! encryption (RFC 2548 §2.4.2), authenticators (RFC 2865 §3, RFC 2866 §3, RFC 5176 §2.3) and
//! Message-Authenticator (RFC 3579 §3.2).

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};

/// Longest User-Password accepted, in bytes of clear text (RFC 2865 §5.2).
pub const MAX_PASSWORD: usize = 128;

type HmacMd5 = Hmac<Md5>;

/// Hide a User-Password (RFC 2865 §5.2): pad `password` with NULs to a multiple of 16 bytes
/// (16 for an empty one), then `c(i) = p(i) xor MD5(secret + c(i-1))` with `c(0)` the
/// Request Authenticator. Returns `None` if `password` is longer than 128 bytes.
pub fn hide_password(password: &[u8], secret: &[u8], authenticator: &[u8; 16]) -> Option<Vec<u8>> {
    if password.len() > MAX_PASSWORD {
        return None;
    }
    let padded = password.len().div_ceil(16).max(1) * 16;
    let mut out = Vec::with_capacity(padded);
    out.extend_from_slice(password);
    out.resize(padded, 0);
    let mut prev: [u8; 16] = *authenticator;
    for chunk in out.chunks_mut(16) {
        let b = Md5::new()
            .chain_update(secret)
            .chain_update(prev)
            .finalize();
        for (c, k) in chunk.iter_mut().zip(b.iter()) {
            *c ^= k;
        }
        prev.copy_from_slice(chunk);
    }
    Some(out)
}

/// Recover a hidden User-Password (RFC 2865 §5.2); trailing NUL padding is removed. Returns
/// `None` if `hidden` is empty, not a multiple of 16 bytes, or longer than 128 bytes.
pub fn unhide_password(hidden: &[u8], secret: &[u8], authenticator: &[u8; 16]) -> Option<Vec<u8>> {
    if hidden.is_empty() || !hidden.len().is_multiple_of(16) || hidden.len() > MAX_PASSWORD {
        return None;
    }
    let mut out = Vec::with_capacity(hidden.len());
    let mut prev: &[u8] = authenticator;
    for chunk in hidden.chunks(16) {
        let b = Md5::new()
            .chain_update(secret)
            .chain_update(prev)
            .finalize();
        out.extend(chunk.iter().zip(b.iter()).map(|(c, k)| c ^ k));
        prev = chunk;
    }
    while out.last() == Some(&0) {
        out.pop();
    }
    Some(out)
}

/// Encrypt an MS-MPPE-Send/Recv-Key value (RFC 2548 §2.4.2): the clear text is a key-length
/// octet, the key, and NUL padding to a multiple of 16; `b(1) = MD5(secret + request
/// authenticator + salt)`, `b(i) = MD5(secret + c(i-1))`. `salt` gets its top bit set as the
/// RFC requires. Returns the 2 salt bytes followed by the cipher text, or `None` if the key is
/// longer than 240 bytes (the value must fit in a vendor attribute).
pub fn encrypt_mppe_key(
    key: &[u8],
    salt: u16,
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> Option<Vec<u8>> {
    if key.len() > 240 {
        return None;
    }
    let salt = (salt | 0x8000).to_be_bytes();
    let plain_len = (key.len() + 1).div_ceil(16) * 16;
    let mut out = Vec::with_capacity(2 + plain_len);
    out.extend_from_slice(&salt);
    out.push(key.len() as u8);
    out.extend_from_slice(key);
    out.resize(2 + plain_len, 0);
    let (_, body) = out.split_at_mut(2);
    let mut b = Md5::new()
        .chain_update(secret)
        .chain_update(request_authenticator)
        .chain_update(salt)
        .finalize();
    for chunk in body.chunks_mut(16) {
        for (c, k) in chunk.iter_mut().zip(b.iter()) {
            *c ^= k;
        }
        b = Md5::new()
            .chain_update(secret)
            .chain_update(&*chunk)
            .finalize();
    }
    Some(out)
}

/// Decrypt an MS-MPPE-Send/Recv-Key value (RFC 2548 §2.4.2): `value` is salt (2 bytes, top bit
/// set) then a multiple of 16 bytes of cipher text. Returns `(salt, key)`, or `None` if the
/// layout is wrong or the decrypted key-length octet exceeds the data.
pub fn decrypt_mppe_key(
    value: &[u8],
    secret: &[u8],
    request_authenticator: &[u8; 16],
) -> Option<(u16, Vec<u8>)> {
    let (salt, body) = value.split_first_chunk::<2>()?;
    if body.is_empty() || !body.len().is_multiple_of(16) || u16::from_be_bytes(*salt) & 0x8000 == 0
    {
        return None;
    }
    let mut plain = Vec::with_capacity(body.len());
    let mut b = Md5::new()
        .chain_update(secret)
        .chain_update(request_authenticator)
        .chain_update(salt)
        .finalize();
    for chunk in body.chunks(16) {
        plain.extend(chunk.iter().zip(b.iter()).map(|(c, k)| c ^ k));
        b = Md5::new()
            .chain_update(secret)
            .chain_update(chunk)
            .finalize();
    }
    let (&len, rest) = plain.split_first()?;
    let key = rest.get(..usize::from(len))?.to_vec();
    Some((u16::from_be_bytes(*salt), key))
}

/// MD5 over `packet` with bytes 4..20 replaced by `authenticator`, then `secret`. This is the
/// Response Authenticator (RFC 2865 §3) when `authenticator` is the request's, and the
/// Accounting/CoA/Disconnect Request Authenticator (RFC 2866 §3, RFC 5176 §2.3) when it is 16
/// zero octets. `packet` must be at least 20 bytes (callers check); shorter input hashes as is.
pub fn packet_md5(packet: &[u8], authenticator: &[u8; 16], secret: &[u8]) -> [u8; 16] {
    let head = packet.get(..4).unwrap_or(packet);
    let tail = packet.get(20..).unwrap_or(&[]);
    Md5::new()
        .chain_update(head)
        .chain_update(authenticator)
        .chain_update(tail)
        .chain_update(secret)
        .finalize()
        .into()
}

/// HMAC-MD5 keyed with `secret` over `packet` with bytes 4..20 replaced by `authenticator`
/// and the 16 value bytes of the Message-Authenticator at `ma_offset` (offset of its value,
/// not of its Type octet) taken as zero (RFC 3579 §3.2).
fn message_authenticator_mac(
    packet: &[u8],
    authenticator: &[u8; 16],
    ma_offset: usize,
    secret: &[u8],
) -> Option<HmacMd5> {
    let mut mac = HmacMd5::new_from_slice(secret).ok()?;
    mac.update(packet.get(..4)?);
    mac.update(authenticator);
    mac.update(packet.get(20..ma_offset)?);
    mac.update(&[0u8; 16]);
    mac.update(packet.get(ma_offset.checked_add(16)?..)?);
    Some(mac)
}

/// Compute the Message-Authenticator value (RFC 3579 §3.2) for `packet`, whose attribute value
/// at `ma_offset` is the Message-Authenticator. `None` if `ma_offset` is out of range.
pub fn message_authenticator(
    packet: &[u8],
    authenticator: &[u8; 16],
    ma_offset: usize,
    secret: &[u8],
) -> Option<[u8; 16]> {
    let mac = message_authenticator_mac(packet, authenticator, ma_offset, secret)?;
    Some(mac.finalize().into_bytes().into())
}

/// Check the Message-Authenticator at `ma_offset` in constant time (hmac's `verify_slice`).
pub fn verify_message_authenticator(
    packet: &[u8],
    authenticator: &[u8; 16],
    ma_offset: usize,
    secret: &[u8],
) -> bool {
    let Some(tag) = packet.get(ma_offset..ma_offset.saturating_add(16)) else {
        return false;
    };
    match message_authenticator_mac(packet, authenticator, ma_offset, secret) {
        Some(mac) => mac.verify_slice(tag).is_ok(),
        None => false,
    }
}

/// Compare two 16-byte authenticators without an early exit.
pub fn ct_eq16(a: &[u8], b: &[u8; 16]) -> bool {
    if a.len() != 16 {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_round_trip_all_lengths() {
        let auth = [7u8; 16];
        for len in 0..=MAX_PASSWORD {
            let pw: Vec<u8> = (0..len).map(|i| (i as u8) | 1).collect();
            let hidden = hide_password(&pw, b"s3cret", &auth).unwrap();
            assert_eq!(hidden.len(), len.div_ceil(16).max(1) * 16);
            assert_eq!(unhide_password(&hidden, b"s3cret", &auth).unwrap(), pw);
        }
        assert!(hide_password(&[1; 129], b"x", &auth).is_none());
        assert!(unhide_password(&[1; 15], b"x", &auth).is_none());
        assert!(unhide_password(&[1; 144], b"x", &auth).is_none());
    }

    #[test]
    fn mppe_round_trip_and_checks() {
        let auth = [3u8; 16];
        let key: Vec<u8> = (0..16).collect();
        let enc = encrypt_mppe_key(&key, 0x1234, b"secret", &auth).unwrap();
        assert_eq!(enc.len(), 2 + 32);
        assert_eq!(enc[0], 0x92, "salt top bit set");
        let (salt, dec) = decrypt_mppe_key(&enc, b"secret", &auth).unwrap();
        assert_eq!((salt, dec), (0x9234, key.clone()));
        // Wrong secret: the length octet decrypts to garbage; either None or a different key.
        assert_ne!(
            decrypt_mppe_key(&enc, b"other", &auth).map(|k| k.1),
            Some(key)
        );
        let mut no_top = enc.clone();
        no_top[0] &= 0x7f;
        assert!(decrypt_mppe_key(&no_top, b"secret", &auth).is_none());
        assert!(decrypt_mppe_key(&enc[..20], b"secret", &auth).is_none());
    }
}
