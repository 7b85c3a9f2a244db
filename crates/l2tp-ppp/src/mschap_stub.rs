//! STAND-IN for `crate::mschap` (RFC 2759 crypto), which another branch provides with exactly
//! these signatures. Remove this file and its `use` line in lib.rs when merging.
//! These return zeros / `false`: MS-CHAPv2 never succeeds with the stand-in.
#![allow(dead_code)]

/// Stand-in: RFC 2759 §8.1 GenerateNTResponse. Returns zeros.
pub fn generate_nt_response(
    _auth_challenge: &[u8; 16],
    _peer_challenge: &[u8; 16],
    _username: &[u8],
    _password: &str,
) -> [u8; 24] {
    [0; 24]
}

/// Stand-in: RFC 2759 NT-Response check. Always `false`.
pub fn verify_nt_response(
    _auth_challenge: &[u8; 16],
    _peer_challenge: &[u8; 16],
    _username: &[u8],
    _password: &str,
    _nt_response: &[u8; 24],
) -> bool {
    false
}

/// Stand-in: RFC 2759 §8.7 GenerateAuthenticatorResponse. Returns "S=" and 40 zeros.
pub fn authenticator_response(
    _password: &str,
    _nt_response: &[u8; 24],
    _peer_challenge: &[u8; 16],
    _auth_challenge: &[u8; 16],
    _username: &[u8],
) -> String {
    format!("S={}", "0".repeat(40))
}
