//! CHAP-MD5 (RFC 1994), MS-CHAPv2 (RFC 2759) and the MPPE key derivation that rides on it
//! (RFC 3079 §3, RFC 3078 §7.3): pure functions, no state, no I/O.
//!
//! Shapes: every challenge, hash and response is a fixed-size byte array in the order it has
//! on the wire; user names are the raw bytes of the Name field; passwords are Rust strings
//! hashed as UTF-16LE (RFC 2759 §8.3).
//!
//! Comparisons of values derived from a secret ([`verify_nt_response`],
//! [`verify_chap_md5_response`], [`parse_success`]) run in constant time (`subtle`).
//!
//! Password encoding: RFC 2759 hashes the Unicode password. pppd builds its "Unicode" by
//! zero-extending each byte of the secret, which equals UTF-16LE for ASCII only; for a
//! non-ASCII password this module follows the RFC (and Windows), not pppd.

use des::cipher::{generic_array::GenericArray, BlockEncrypt, KeyInit};
use des::Des;
use md4::Md4;
use md5::Md5;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

/// RFC 2759 §8.7 Magic1: "Magic server to client signing constant" (39 bytes).
const AUTH_MAGIC1: &[u8; 39] = b"Magic server to client signing constant";
/// RFC 2759 §8.7 Magic2: "Pad to make it do more than one iteration" (41 bytes).
const AUTH_MAGIC2: &[u8; 41] = b"Pad to make it do more than one iteration";
/// RFC 3079 §3.4 Magic1 of GetMasterKey (27 bytes).
const MPPE_MASTER_MAGIC: &[u8; 27] = b"This is the MPPE Master Key";
/// RFC 3079 §3.4 Magic2 (84 bytes): the client's send key, the server's receive key.
const MPPE_MAGIC2: &[u8; 84] =
    b"On the client side, this is the send key; on the server side, it is the receive key.";
/// RFC 3079 §3.4 Magic3 (84 bytes): the client's receive key, the server's send key.
const MPPE_MAGIC3: &[u8; 84] =
    b"On the client side, this is the receive key; on the server side, it is the send key.";
/// RFC 3079 §3.4 SHSpad1 / RFC 3078 §7.3 SHApad1: 40 bytes of 0x00.
const SHA_PAD1: [u8; 40] = [0x00; 40];
/// RFC 3079 §3.4 SHSpad2 / RFC 3078 §7.3 SHApad2: 40 bytes of 0xF2.
const SHA_PAD2: [u8; 40] = [0xF2; 40];

/// MS-CHAP error code 691, ERROR_AUTHENTICATION_FAILURE (RFC 2759 §6).
pub const ERROR_AUTHENTICATION_FAILURE: u32 = 691;
/// MS-CHAP error code 646, ERROR_RESTRICTED_LOGON_HOURS (RFC 2759 §6).
pub const ERROR_RESTRICTED_LOGON_HOURS: u32 = 646;
/// MS-CHAP error code 647, ERROR_ACCT_DISABLED (RFC 2759 §6).
pub const ERROR_ACCT_DISABLED: u32 = 647;
/// MS-CHAP error code 648, ERROR_PASSWD_EXPIRED (RFC 2759 §6).
pub const ERROR_PASSWD_EXPIRED: u32 = 648;
/// MS-CHAP error code 649, ERROR_NO_DIALIN_PERMISSION (RFC 2759 §6).
pub const ERROR_NO_DIALIN_PERMISSION: u32 = 649;
/// MS-CHAP error code 709, ERROR_CHANGING_PASSWORD (RFC 2759 §6).
pub const ERROR_CHANGING_PASSWORD: u32 = 709;

/// Length in bytes of an authenticator response string: `"S="` and 40 hex digits
/// (RFC 2759 §8.7).
pub const AUTHENTICATOR_RESPONSE_LEN: usize = 42;

// ---------------------------------------------------------------------------------------
// CHAP-MD5
// ---------------------------------------------------------------------------------------

/// CHAP with MD5 (RFC 1994 §4.1, algorithm 5): the Response Value is
/// `MD5(Identifier || secret || Challenge Value)`, 16 bytes.
///
/// `id` is the Identifier of the Challenge packet being answered; `secret` the shared
/// secret as bytes; `challenge` the Challenge Value exactly as received (any length).
pub fn chap_md5_response(id: u8, secret: &[u8], challenge: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update([id]);
    h.update(secret);
    h.update(challenge);
    h.finalize().into()
}

/// Checks a CHAP-MD5 Response Value (RFC 1994 §4.1) against the one computed from the
/// secret, in constant time. A `response` of any length other than 16 bytes is `false`.
pub fn verify_chap_md5_response(id: u8, secret: &[u8], challenge: &[u8], response: &[u8]) -> bool {
    let expected = chap_md5_response(id, secret, challenge);
    response.len() == expected.len() && bool::from(expected.ct_eq(response))
}

// ---------------------------------------------------------------------------------------
// MS-CHAPv2 building blocks (RFC 2759 §8)
// ---------------------------------------------------------------------------------------

/// NtPasswordHash (RFC 2759 §8.3): MD4 of the password encoded as UTF-16LE, 16 bytes.
///
/// No length limit is applied: RFC 2759 allows 0 to 256 Unicode characters; the caller
/// enforces its own policy. See the module docs for non-ASCII passwords and pppd.
pub fn nt_password_hash(password: &str) -> [u8; 16] {
    let mut h = Md4::new();
    for unit in password.encode_utf16() {
        h.update(unit.to_le_bytes());
    }
    h.finalize().into()
}

/// HashNtPasswordHash (RFC 2759 §8.4): MD4 of the 16-byte NtPasswordHash, 16 bytes.
pub fn hash_nt_password_hash(password_hash: &[u8; 16]) -> [u8; 16] {
    Md4::digest(password_hash).into()
}

/// The user name that enters the challenge hash: the bytes after the last backslash, so
/// `DOMAIN\user` hashes as `user` (RFC 2759 §8.2 "excluding any prepended domain name";
/// pppd's `ChallengeHash` strips up to the last `\` the same way).
pub fn strip_domain(username: &[u8]) -> &[u8] {
    match username.iter().rposition(|&b| b == b'\\') {
        // `i` is an index into `username`, so `i + 1 <= len`: `get` cannot fail, and an
        // empty slice stands for a name that ends in a backslash.
        Some(i) => username.get(i + 1..).unwrap_or_default(),
        None => username,
    }
}

/// ChallengeHash (RFC 2759 §8.2): the first 8 bytes of
/// `SHA1(PeerChallenge || AuthenticatorChallenge || UserName)`.
///
/// `username` is the Name field as sent by the peer; any domain prefix (`DOMAIN\`) is
/// removed first with [`strip_domain`], as the RFC and pppd do.
pub fn challenge_hash(
    peer_challenge: &[u8; 16],
    auth_challenge: &[u8; 16],
    username: &[u8],
) -> [u8; 8] {
    let mut h = Sha1::new();
    h.update(peer_challenge);
    h.update(auth_challenge);
    h.update(strip_domain(username));
    let digest = h.finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// Expands a 56-bit DES key given as 7 bytes into the 8-byte form DES takes, seven key bits
/// per byte, most significant first, the low (parity) bit of each byte left clear: DES
/// ignores it (RFC 2759 §8.6 DesEncrypt, "MakeKey").
pub fn des_key_from_7(key7: &[u8; 7]) -> [u8; 8] {
    let k = key7;
    [
        k[0] & 0xFE,
        (k[0] << 7) | ((k[1] >> 1) & 0xFE),
        (k[1] << 6) | ((k[2] >> 2) & 0xFE),
        (k[2] << 5) | ((k[3] >> 3) & 0xFE),
        (k[3] << 4) | ((k[4] >> 4) & 0xFE),
        (k[4] << 3) | ((k[5] >> 5) & 0xFE),
        (k[5] << 2) | ((k[6] >> 6) & 0xFE),
        k[6] << 1,
    ]
}

/// DesEncrypt (RFC 2759 §8.6): one DES-ECB block of `clear` under the 7-byte key expanded
/// by [`des_key_from_7`].
fn des_encrypt(clear: &[u8; 8], key7: &[u8; 7]) -> [u8; 8] {
    let key = des_key_from_7(key7);
    let cipher = Des::new(GenericArray::from_slice(&key));
    let mut block = GenericArray::clone_from_slice(clear);
    cipher.encrypt_block(&mut block);
    block.into()
}

/// ChallengeResponse (RFC 2759 §8.5): the 16-byte password hash is padded with five zero
/// bytes to 21 bytes, cut into three 7-byte DES keys, and each encrypts the 8-byte
/// challenge; the three 8-byte blocks make the 24-byte response.
pub fn challenge_response(challenge: &[u8; 8], password_hash: &[u8; 16]) -> [u8; 24] {
    let mut z = [0u8; 21];
    z[..16].copy_from_slice(password_hash);
    let mut out = [0u8; 24];
    for (block, key) in out.chunks_exact_mut(8).zip(z.chunks_exact(7)) {
        let mut key7 = [0u8; 7];
        key7.copy_from_slice(key);
        block.copy_from_slice(&des_encrypt(challenge, &key7));
    }
    out
}

/// GenerateNTResponse (RFC 2759 §8.1): the 24-byte NT-Response a peer puts in its
/// MS-CHAPv2 Response, from the authenticator's 16-byte challenge, the peer's own 16-byte
/// challenge, the user name as sent (domain prefix dropped, see [`challenge_hash`]) and
/// the password.
pub fn generate_nt_response(
    auth_challenge: &[u8; 16],
    peer_challenge: &[u8; 16],
    username: &[u8],
    password: &str,
) -> [u8; 24] {
    let challenge = challenge_hash(peer_challenge, auth_challenge, username);
    challenge_response(&challenge, &nt_password_hash(password))
}

/// The authenticator's check of a peer's NT-Response (RFC 2759 §5): recomputes
/// [`generate_nt_response`] and compares the 24 bytes in constant time.
pub fn verify_nt_response(
    auth_challenge: &[u8; 16],
    peer_challenge: &[u8; 16],
    username: &[u8],
    password: &str,
    nt_response: &[u8; 24],
) -> bool {
    let expected = generate_nt_response(auth_challenge, peer_challenge, username, password);
    bool::from(expected.ct_eq(nt_response))
}

/// The 20-byte digest behind the authenticator response (RFC 2759 §8.7):
/// `SHA1(SHA1(PasswordHashHash || NT-Response || Magic1) || ChallengeHash || Magic2)`.
pub fn authenticator_response_digest(
    password_hash_hash: &[u8; 16],
    nt_response: &[u8; 24],
    peer_challenge: &[u8; 16],
    auth_challenge: &[u8; 16],
    username: &[u8],
) -> [u8; 20] {
    let mut h = Sha1::new();
    h.update(password_hash_hash);
    h.update(nt_response);
    h.update(AUTH_MAGIC1);
    let inner = h.finalize();
    let challenge = challenge_hash(peer_challenge, auth_challenge, username);
    let mut h = Sha1::new();
    h.update(inner);
    h.update(challenge);
    h.update(AUTH_MAGIC2);
    h.finalize().into()
}

/// GenerateAuthenticatorResponse (RFC 2759 §8.7): `"S="` followed by the 20-byte digest
/// of [`authenticator_response_digest`] as 40 upper-case hex digits, 42 characters in all.
/// The authenticator sends it in its Success packet; the peer checks it with
/// [`parse_success`].
pub fn authenticator_response(
    password: &str,
    nt_response: &[u8; 24],
    peer_challenge: &[u8; 16],
    auth_challenge: &[u8; 16],
    username: &[u8],
) -> String {
    let hash_hash = hash_nt_password_hash(&nt_password_hash(password));
    let digest = authenticator_response_digest(
        &hash_hash,
        nt_response,
        peer_challenge,
        auth_challenge,
        username,
    );
    let mut s = String::with_capacity(AUTHENTICATOR_RESPONSE_LEN);
    s.push_str("S=");
    push_hex_upper(&mut s, &digest);
    s
}

// ---------------------------------------------------------------------------------------
// MPPE keys (RFC 3079 §3, RFC 3078 §7.3)
// ---------------------------------------------------------------------------------------

/// Which end of the link a key is derived for (RFC 3079 §3.4 `IsServer`): the
/// authenticator is the server, the authenticated peer the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MppeRole {
    /// The authenticator (the side that sent the MS-CHAPv2 Challenge).
    Server,
    /// The peer that authenticated itself.
    Client,
}

/// Which direction a key protects, seen from the role it is derived for (RFC 3079 §3.4
/// `IsSend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MppeDirection {
    /// Packets this end sends.
    Send,
    /// Packets this end receives.
    Receive,
}

/// MPPE session key strength (RFC 3079 §3.1–3.3; RFC 3078 §2 option bits L, M, S).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MppeStrength {
    /// 40-bit: an 8-byte key whose first 3 bytes are forced to `D1 26 9E` (§3.1).
    Bits40,
    /// 56-bit: an 8-byte key whose first byte is forced to `D1` (§3.2).
    Bits56,
    /// 128-bit: a 16-byte key, not reduced (§3.3).
    Bits128,
}

impl MppeStrength {
    /// Session key length in bytes: 8 for 40 and 56 bits, 16 for 128 bits.
    pub fn key_len(self) -> usize {
        match self {
            MppeStrength::Bits40 | MppeStrength::Bits56 => 8,
            MppeStrength::Bits128 => 16,
        }
    }
}

/// An MPPE session key: 8 bytes for 40/56-bit strength, 16 bytes for 128-bit, held in a
/// fixed array so deriving one allocates nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MppeSessionKey {
    bytes: [u8; 16],
    len: usize,
}

impl MppeSessionKey {
    /// The key bytes, 8 or 16 of them.
    pub fn as_bytes(&self) -> &[u8] {
        // `len` is only ever 8 or 16 (set from `MppeStrength::key_len`).
        self.bytes.get(..self.len).unwrap_or(&self.bytes)
    }
}

impl std::fmt::Debug for MppeSessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MppeSessionKey({} bytes, redacted)", self.len)
    }
}

/// GetMasterKey (RFC 3079 §3.4): the first 16 bytes of
/// `SHA1(PasswordHashHash || NT-Response || "This is the MPPE Master Key")`.
///
/// `password_hash_hash` comes from [`hash_nt_password_hash`]; `nt_response` is the 24-byte
/// NT-Response of the exchange that succeeded.
pub fn mppe_master_key(password_hash_hash: &[u8; 16], nt_response: &[u8; 24]) -> [u8; 16] {
    let mut h = Sha1::new();
    h.update(password_hash_hash);
    h.update(nt_response);
    h.update(MPPE_MASTER_MAGIC);
    let digest = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// GetAsymmetricStartKey (RFC 3079 §3.4): the 16-byte master send or receive key
/// ("start key") of one end, `SHA1(MasterKey || SHSpad1 || Magic || SHSpad2)[..16]`.
///
/// The server's send key equals the client's receive key (both use Magic3) and the
/// server's receive key the client's send key (Magic2). 40- and 56-bit keys use the first
/// 8 bytes of the result (the RFC's `KeyLength` of 8 truncates the same digest).
pub fn mppe_asymmetric_start_key(
    master_key: &[u8; 16],
    direction: MppeDirection,
    role: MppeRole,
) -> [u8; 16] {
    let magic =
        match (direction, role) {
            (MppeDirection::Send, MppeRole::Server)
            | (MppeDirection::Receive, MppeRole::Client) => MPPE_MAGIC3,
            (MppeDirection::Send, MppeRole::Client)
            | (MppeDirection::Receive, MppeRole::Server) => MPPE_MAGIC2,
        };
    let mut h = Sha1::new();
    h.update(master_key);
    h.update(SHA_PAD1);
    h.update(magic);
    h.update(SHA_PAD2);
    let digest = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// GetNewKeyFromSHA (RFC 3078 §7.3, used by RFC 3079 §3.1–3.3): the first `len` bytes of
/// `SHA1(StartKey[..len] || SHApad1 || SessionKey[..len] || SHApad2)`, written to
/// `out[..len]`, where `len` is [`MppeStrength::key_len`] (8 or 16). For the initial key
/// `session_key` is the start key itself; on a key change it is the current session key
/// (the RC4 step of a key change is the data plane's, not done here).
pub fn mppe_new_key_from_sha(
    start_key: &[u8; 16],
    session_key: &[u8; 16],
    strength: MppeStrength,
) -> [u8; 16] {
    let len = strength.key_len();
    let mut h = Sha1::new();
    h.update(&start_key[..len]);
    h.update(SHA_PAD1);
    h.update(&session_key[..len]);
    h.update(SHA_PAD2);
    let digest = h.finalize();
    let mut out = [0u8; 16];
    out[..len].copy_from_slice(&digest[..len]);
    out
}

/// Reduces a session key to its effective strength (RFC 3079 §3.1, §3.2): 40-bit keys get
/// `D1 26 9E` in their first three bytes, 56-bit keys `D1` in the first; 128-bit keys and
/// keys shorter than the bytes to overwrite are left as they are.
pub fn mppe_reduce_session_key(key: &mut [u8], strength: MppeStrength) {
    let salt: &[u8] = match strength {
        MppeStrength::Bits40 => &[0xD1, 0x26, 0x9E],
        MppeStrength::Bits56 => &[0xD1],
        MppeStrength::Bits128 => &[],
    };
    if let Some(head) = key.get_mut(..salt.len()) {
        head.copy_from_slice(salt);
    }
}

/// The initial MPPE session key of one direction (RFC 3079 §3.1–3.3): GetNewKeyFromSHA of
/// the start key with itself, then reduced to the strength. `start_key` comes from
/// [`mppe_asymmetric_start_key`].
pub fn mppe_initial_session_key(start_key: &[u8; 16], strength: MppeStrength) -> MppeSessionKey {
    let mut bytes = mppe_new_key_from_sha(start_key, start_key, strength);
    let len = strength.key_len();
    mppe_reduce_session_key(&mut bytes[..len], strength);
    MppeSessionKey { bytes, len }
}

/// Both 16-byte start keys of one end, from the password and the NT-Response of the
/// exchange that succeeded (RFC 3079 §3.4: NtPasswordHash, HashNtPasswordHash,
/// GetMasterKey, GetAsymmetricStartKey).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MppeStartKeys {
    /// The master send key of this end.
    pub send: [u8; 16],
    /// The master receive key of this end.
    pub receive: [u8; 16],
}

impl std::fmt::Debug for MppeStartKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MppeStartKeys(redacted)")
    }
}

/// Derives [`MppeStartKeys`] for `role` from the password and the 24-byte NT-Response.
pub fn mppe_start_keys(password: &str, nt_response: &[u8; 24], role: MppeRole) -> MppeStartKeys {
    let hash_hash = hash_nt_password_hash(&nt_password_hash(password));
    let master = mppe_master_key(&hash_hash, nt_response);
    MppeStartKeys {
        send: mppe_asymmetric_start_key(&master, MppeDirection::Send, role),
        receive: mppe_asymmetric_start_key(&master, MppeDirection::Receive, role),
    }
}

// ---------------------------------------------------------------------------------------
// Success / Failure message text (RFC 2759 §5, §6)
// ---------------------------------------------------------------------------------------

/// The Message field of an MS-CHAPv2 Success packet (RFC 2759 §5):
/// `"<auth_response> M=<msg>"`, where `auth_response` is the 42-character `"S=..."`
/// string from [`authenticator_response`].
pub fn success_message(auth_response: &str, msg: &str) -> String {
    format!("{auth_response} M={msg}")
}

/// The Message field of an MS-CHAPv2 Failure packet (RFC 2759 §6):
/// `"E=<error> R=<0|1> C=<32 upper-case hex> V=3 M=<msg>"`. `error` is an MS-CHAP error
/// code such as [`ERROR_AUTHENTICATION_FAILURE`]; `retry` says whether the peer may try
/// again; `challenge` is the 16-byte authenticator challenge for that retry; the version
/// is always 3 (MS-CHAPv2 password change, RFC 2759 §6).
pub fn failure_message(error: u32, retry: bool, challenge: &[u8; 16], msg: &str) -> String {
    let mut s = String::with_capacity(48 + msg.len());
    s.push_str(&format!("E={error} R={} C=", u8::from(retry)));
    push_hex_upper(&mut s, challenge);
    s.push_str(" V=3 M=");
    s.push_str(msg);
    s
}

/// Why an MS-CHAPv2 Success or Failure message was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The Success message does not begin with `S=` and 40 hex digits.
    #[error("success message: expected \"S=\" and 40 hex digits at byte 0")]
    MalformedAuthenticatorResponse,
    /// The authenticator response in a Success message differs from the expected one: the
    /// authenticator does not know the password (mutual authentication failed).
    #[error(
        "success message: authenticator response does not match (mutual authentication failed)"
    )]
    AuthenticatorMismatch,
    /// Text after the authenticator response that does not begin with `" M="` or `"M="`.
    #[error("success message: unexpected text at byte {offset}, expected \" M=\"")]
    TrailingGarbage {
        /// Byte offset of the unexpected text in the message.
        offset: usize,
    },
    /// The expected authenticator response given by the caller is not `S=` and 40 hex.
    #[error("expected authenticator response is not \"S=\" and 40 hex digits")]
    BadExpected,
    /// A Failure message field is missing or malformed.
    #[error("failure message: field {field} at byte {offset}: {reason}")]
    BadFailureField {
        /// The field's letter (`E`, `R`, `C`, `V`).
        field: char,
        /// Byte offset of the field in the message.
        offset: usize,
        /// What was wrong with it.
        reason: &'static str,
    },
}

/// Checks the Message field of an MS-CHAPv2 Success packet as the peer (RFC 2759 §5,
/// pppd `chapms2_check_success`): it must begin with `S=` and 40 hex digits (either case)
/// equal to `expected`, the string [`authenticator_response`] computed; the comparison of
/// the 20 bytes is constant-time. What may follow is `" M=<text>"` (or `"M=<text>"`, which
/// pppd accepts too). Returns the text after `M=` (empty when there is none).
pub fn parse_success<'a>(message: &'a [u8], expected: &str) -> Result<&'a [u8], MessageError> {
    let expected = expected
        .as_bytes()
        .strip_prefix(b"S=")
        .and_then(decode_hex20)
        .ok_or(MessageError::BadExpected)?;
    let got = message
        .strip_prefix(b"S=")
        .and_then(|rest| rest.get(..40))
        .and_then(decode_hex20)
        .ok_or(MessageError::MalformedAuthenticatorResponse)?;
    if !bool::from(got.ct_eq(&expected)) {
        return Err(MessageError::AuthenticatorMismatch);
    }
    let rest = message
        .get(AUTHENTICATOR_RESPONSE_LEN..)
        .unwrap_or_default();
    if rest.is_empty() {
        Ok(rest)
    } else if let Some(text) = rest
        .strip_prefix(b" M=")
        .or_else(|| rest.strip_prefix(b"M="))
    {
        Ok(text)
    } else {
        Err(MessageError::TrailingGarbage {
            offset: AUTHENTICATOR_RESPONSE_LEN,
        })
    }
}

/// The fields of an MS-CHAPv2 Failure message (RFC 2759 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// `E=`: the MS-CHAP error code, e.g. [`ERROR_AUTHENTICATION_FAILURE`].
    pub error: u32,
    /// `R=`: whether the authenticator allows a retry (`R=1`). `false` when absent.
    pub retry: bool,
    /// `C=`: the 16-byte challenge for a retry, when present.
    pub challenge: Option<[u8; 16]>,
    /// `V=`: the password-change protocol version, when present.
    pub version: Option<u32>,
    /// `M=`: the human-readable text (to the end of the message), when present; invalid
    /// UTF-8 is replaced with U+FFFD.
    pub message: Option<String>,
}

/// Parses the Message field of an MS-CHAPv2 Failure packet (RFC 2759 §6):
/// `E=eeeeeeeeee R=r C=<32 hex> V=vvvvvvvvvv M=<text>`. `E=` must come first (as pppd
/// requires); `R`, `C`, `V` are optional, in any order, separated by single or multiple
/// spaces; `M=` runs to the end of the message. Unknown `X=` fields are skipped.
pub fn parse_failure(message: &[u8]) -> Result<Failure, MessageError> {
    if !message.starts_with(b"E=") {
        return Err(MessageError::BadFailureField {
            field: 'E',
            offset: 0,
            reason: "message does not begin with E=",
        });
    }
    let mut out = Failure {
        error: 0,
        retry: false,
        challenge: None,
        version: None,
        message: None,
    };
    let mut pos = 0usize;
    while pos < message.len() {
        let rest = message.get(pos..).unwrap_or_default();
        if rest.first() == Some(&b' ') {
            pos += 1;
            continue;
        }
        if let Some(text) = rest.strip_prefix(b"M=") {
            out.message = Some(String::from_utf8_lossy(text).into_owned());
            break;
        }
        let token_len = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        let token = rest.get(..token_len).unwrap_or_default();
        let (key, value) = match token {
            [k, b'=', value @ ..] => (*k, value),
            _ => {
                return Err(MessageError::BadFailureField {
                    field: '?',
                    offset: pos,
                    reason: "expected a field of the form X=value",
                })
            }
        };
        let bad = |reason| MessageError::BadFailureField {
            field: char::from(key),
            offset: pos,
            reason,
        };
        match key {
            b'E' => out.error = parse_decimal(value).ok_or_else(|| bad("not a decimal u32"))?,
            b'R' => {
                out.retry = match value {
                    b"0" => false,
                    b"1" => true,
                    _ => return Err(bad("retry flag is not 0 or 1")),
                }
            }
            b'C' => {
                out.challenge = Some(decode_hex16(value).ok_or_else(|| bad("not 32 hex digits"))?)
            }
            b'V' => {
                out.version = Some(parse_decimal(value).ok_or_else(|| bad("not a decimal u32"))?)
            }
            _ => {}
        }
        pos += token_len;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// hex helpers
// ---------------------------------------------------------------------------------------

fn push_hex_upper(s: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0F)]));
    }
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn decode_hex_into(src: &[u8], out: &mut [u8]) -> Option<()> {
    if src.len() != out.len() * 2 {
        return None;
    }
    for (o, pair) in out.iter_mut().zip(src.chunks_exact(2)) {
        let &[hi, lo] = pair else { return None };
        *o = (hex_value(hi)? << 4) | hex_value(lo)?;
    }
    Some(())
}

fn decode_hex20(src: &[u8]) -> Option<[u8; 20]> {
    let mut out = [0u8; 20];
    decode_hex_into(src, &mut out)?;
    Some(out)
}

fn decode_hex16(src: &[u8]) -> Option<[u8; 16]> {
    let mut out = [0u8; 16];
    decode_hex_into(src, &mut out)?;
    Some(out)
}

fn parse_decimal(src: &[u8]) -> Option<u32> {
    if src.is_empty() || src.len() > 10 {
        return None;
    }
    let mut v: u32 = 0;
    for &c in src {
        let d = c.checked_sub(b'0').filter(|d| *d < 10)?;
        v = v.checked_mul(10)?.checked_add(u32::from(d))?;
    }
    Some(v)
}
