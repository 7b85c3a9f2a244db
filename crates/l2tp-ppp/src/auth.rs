//! Authentication types shared by PAP and CHAP, and local credential checks.

use md5::{Digest, Md5};

/// An authentication protocol, as negotiated in the LCP Authentication-Protocol option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// PAP, protocol 0xc023 (RFC 1334). The password crosses the link in clear.
    Pap,
    /// CHAP with MD5, protocol 0xc223 algorithm 5 (RFC 1994).
    ChapMd5,
    /// Microsoft CHAP version 2, protocol 0xc223 algorithm 0x81 (RFC 2759).
    MsChapV2,
}

/// Credentials received by the authenticator, for the runtime to check (local secrets or
/// RADIUS) and answer with [`crate::Ppp::auth_verdict`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthRequest {
    /// PAP Authenticate-Request (RFC 1334 §2.2.1): Peer-ID and Password as sent (bytes, may be
    /// non-UTF-8).
    Pap {
        /// Peer-ID.
        username: Vec<u8>,
        /// Password.
        password: Vec<u8>,
    },
    /// CHAP-MD5 Response (RFC 1994 §4.1): the expected response is
    /// MD5(`id` ‖ secret ‖ `challenge`).
    ChapMd5 {
        /// Name field of the Response.
        username: Vec<u8>,
        /// Identifier of the Challenge/Response.
        id: u8,
        /// The Challenge Value we sent.
        challenge: Vec<u8>,
        /// The Response Value received (16 bytes when well formed).
        response: Vec<u8>,
    },
    /// MS-CHAPv2 Response (RFC 2759 §4).
    MsChapV2 {
        /// Name field of the Response.
        username: Vec<u8>,
        /// Authenticator-Challenge we sent.
        auth_challenge: [u8; 16],
        /// Peer-Challenge from the Response.
        peer_challenge: [u8; 16],
        /// NT-Response from the Response.
        nt_response: [u8; 24],
    },
}

impl AuthRequest {
    /// The method this request belongs to.
    pub fn method(&self) -> AuthMethod {
        match self {
            AuthRequest::Pap { .. } => AuthMethod::Pap,
            AuthRequest::ChapMd5 { .. } => AuthMethod::ChapMd5,
            AuthRequest::MsChapV2 { .. } => AuthMethod::MsChapV2,
        }
    }

    /// The user name, bytes as received.
    pub fn username(&self) -> &[u8] {
        match self {
            AuthRequest::Pap { username, .. }
            | AuthRequest::ChapMd5 { username, .. }
            | AuthRequest::MsChapV2 { username, .. } => username,
        }
    }
}

/// The runtime's answer to an [`AuthRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Credentials good.
    Accept {
        /// For MS-CHAPv2: the Authenticator Response, `"S="` and 40 upper-case hex digits
        /// (RFC 2759 §5); required for that method (RADIUS gives it in MS-CHAP2-Success).
        ms_chap_v2_authenticator_response: Option<String>,
        /// Text for the peer (PAP Msg, CHAP Success message, MS-CHAPv2 `M=` part).
        message: String,
    },
    /// Credentials bad.
    Reject {
        /// Text for the peer (PAP Msg, CHAP Failure message, MS-CHAPv2 `M=` part).
        message: String,
    },
}

/// Constant-time byte comparison (lengths are not secret).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The CHAP-MD5 Response Value: MD5(Identifier ‖ secret ‖ Challenge) (RFC 1994 §4.1).
pub fn chap_md5(id: u8, secret: &[u8], challenge: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update([id]);
    h.update(secret);
    h.update(challenge);
    h.finalize().into()
}

/// Check a request against a locally known `password` (secrets file). Comparisons are
/// constant time. PAP compares the password, CHAP-MD5 recomputes the response, MS-CHAPv2
/// verifies the NT-Response and computes the Authenticator Response (RFC 2759 §5).
pub fn verify_local(req: &AuthRequest, password: &str) -> Verdict {
    let ok = match req {
        AuthRequest::Pap { password: p, .. } => ct_eq(p, password.as_bytes()),
        AuthRequest::ChapMd5 {
            id,
            challenge,
            response,
            ..
        } => ct_eq(response, &chap_md5(*id, password.as_bytes(), challenge)),
        AuthRequest::MsChapV2 {
            username,
            auth_challenge,
            peer_challenge,
            nt_response,
        } => {
            return match mschapv2_glue::verify(
                auth_challenge,
                peer_challenge,
                username,
                password,
                nt_response,
            ) {
                Some(s) => Verdict::Accept {
                    ms_chap_v2_authenticator_response: Some(s),
                    message: "Access granted".into(),
                },
                None => Verdict::Reject {
                    message: "Access denied".into(),
                },
            };
        }
    };
    if ok {
        Verdict::Accept {
            ms_chap_v2_authenticator_response: None,
            message: "Access granted".into(),
        }
    } else {
        Verdict::Reject {
            message: "Access denied".into(),
        }
    }
}

/// GLUE to `crate::mschap` (RFC 2759 crypto, written in another module): the only place that
/// calls it.
pub(crate) mod mschapv2_glue {
    use crate::mschap;

    /// Verify an NT-Response; on success return the Authenticator Response (`"S=..."`).
    pub fn verify(
        auth_challenge: &[u8; 16],
        peer_challenge: &[u8; 16],
        username: &[u8],
        password: &str,
        nt_response: &[u8; 24],
    ) -> Option<String> {
        mschap::verify_nt_response(
            auth_challenge,
            peer_challenge,
            username,
            password,
            nt_response,
        )
        .then(|| {
            mschap::authenticator_response(
                password,
                nt_response,
                peer_challenge,
                auth_challenge,
                username,
            )
        })
    }

    /// Peer side: the NT-Response for a challenge and the Authenticator Response to expect.
    pub fn respond(
        auth_challenge: &[u8; 16],
        peer_challenge: &[u8; 16],
        username: &[u8],
        password: &str,
    ) -> ([u8; 24], String) {
        let nt = mschap::generate_nt_response(auth_challenge, peer_challenge, username, password);
        let s =
            mschap::authenticator_response(password, &nt, peer_challenge, auth_challenge, username);
        (nt, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chap_md5_known_answer() {
        // MD5(0x01 || "secret" || 16 x 0x00), computed independently with
        // `(printf "\x01secret"; head -c16 /dev/zero) | md5sum`.
        let r = chap_md5(1, b"secret", &[0u8; 16]);
        assert_eq!(hex::encode(r), "7570c653cdf4755ccffcaa80f29268d1");
    }

    #[test]
    fn verify_local_pap_and_md5() {
        let pap = AuthRequest::Pap {
            username: b"u".to_vec(),
            password: b"pw".to_vec(),
        };
        assert!(matches!(verify_local(&pap, "pw"), Verdict::Accept { .. }));
        assert!(matches!(verify_local(&pap, "pW"), Verdict::Reject { .. }));
        let ch = [7u8; 16];
        let req = AuthRequest::ChapMd5 {
            username: b"u".to_vec(),
            id: 9,
            challenge: ch.to_vec(),
            response: chap_md5(9, b"pw", &ch).to_vec(),
        };
        assert!(matches!(verify_local(&req, "pw"), Verdict::Accept { .. }));
        assert!(matches!(verify_local(&req, "px"), Verdict::Reject { .. }));
    }
}

/// What an authentication exchange tells the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Authenticator: credentials to check; answer with a [`Verdict`].
    Check(AuthRequest),
    /// The exchange succeeded; `username` is the peer's (authenticator) or ours (peer).
    Success { username: Vec<u8> },
    /// The exchange failed.
    Failure { username: Vec<u8>, message: String },
}

/// Printable form of a peer-supplied text: lossy UTF-8, control characters dropped, at most
/// 200 characters.
pub(crate) fn printable(b: &[u8]) -> String {
    String::from_utf8_lossy(b.get(..200).unwrap_or(b))
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}
