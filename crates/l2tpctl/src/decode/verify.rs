//! Checking authenticators with the shared secret: L2TPv2 Challenge Responses and L2TPv3
//! Message Digests across a sequence of packets ([`Verifier`]), each outcome a [`Check`].

use super::*;

/// The outcome of checking an authenticator with the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// `correct`, `incorrect` or `unverified`.
    pub result: &'static str,
    /// What it should be (hex), when incorrect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// Why it could not be checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Check {
    pub(super) fn compare(got: &[u8], expected: &[u8]) -> Check {
        if auth::digest_eq(got, expected) {
            Check {
                result: "correct",
                expected: None,
                reason: None,
            }
        } else {
            Check {
                result: "incorrect",
                expected: Some(hex::encode(expected)),
                reason: None,
            }
        }
    }

    pub(super) fn unverified(reason: impl Into<String>) -> Check {
        Check {
            result: "unverified",
            expected: None,
            reason: Some(reason.into()),
        }
    }

    /// As tshark puts it: `[correct]`, `[incorrect, should be …]`, `[not verified: …]`.
    pub fn text(&self) -> String {
        match (self.result, &self.expected, &self.reason) {
            ("incorrect", Some(e), _) => format!("[incorrect, should be 0x{e}]"),
            ("unverified", _, Some(r)) => format!("[not verified: {r}]"),
            (r, _, _) => format!("[{r}]"),
        }
    }
}

/// Checks the authenticators of a sequence of control messages with the shared secret, as
/// they come (a capture, or hex lines in order):
///
/// - L2TPv2 Challenge Response (RFC 2661 §4.3): MD5(Message Type byte ‖ secret ‖ challenge),
///   the challenge being the one the receiver sent earlier (the message's Tunnel ID is the
///   receiver's Assigned Tunnel ID, which came with its Challenge).
/// - L2TPv3 Message Digest (RFC 3931 §5.4.1): HMAC-MD5 or HMAC-SHA-1 keyed with
///   HMAC-MD5(secret, 2), over the message with its digests zeroed, preceded (except in
///   SCCRQ) by the sender's and the receiver's nonces from the SCCRQ / SCCRP exchange.
///
/// What the messages tell about each connection end is learnt by its Assigned Tunnel /
/// Control Connection ID.
pub struct Verifier {
    secret: Vec<u8>,
    /// Challenge sent by the end with this ID.
    challenges: HashMap<u32, Vec<u8>>,
    /// Nonce sent by the end with this ID.
    nonces: HashMap<u32, Vec<u8>>,
    /// The other end of the end with this ID.
    peers: HashMap<u32, u32>,
}

impl Verifier {
    /// A verifier for `secret`.
    pub fn new(secret: &[u8]) -> Verifier {
        Verifier {
            secret: secret.to_vec(),
            challenges: HashMap::new(),
            nonces: HashMap::new(),
            peers: HashMap::new(),
        }
    }

    /// Learns from and checks one decoded packet (`buf` as given to [`decode`]), setting the
    /// `check` of its Challenge Response and Message Digest AVPs.
    pub fn check(&mut self, d: &mut Decoded, buf: &[u8]) {
        if d.kind != "control" {
            return;
        }
        let to = d.tunnel_id.unwrap_or(0);
        let mut msg_type = None;
        let mut assigned = None;
        let mut challenge = None;
        let mut nonce = None;
        for a in &d.avps {
            match &a.parsed {
                Some(AvpValue::MessageType(t)) if msg_type.is_none() => msg_type = Some(*t),
                Some(AvpValue::AssignedTunnelId(id)) => assigned = Some(u32::from(*id)),
                Some(AvpValue::AssignedControlConnectionId(id)) => assigned = Some(*id),
                Some(AvpValue::Challenge(c)) => challenge = Some(c.clone()),
                Some(AvpValue::ControlMessageAuthNonce(n)) => nonce = Some(n.clone()),
                _ => {}
            }
        }
        let Some(msg_type) = msg_type else {
            return; // ZLB
        };
        if let Some(from) = assigned {
            if let Some(c) = challenge {
                self.challenges.insert(from, c);
            }
            if let Some(n) = nonce {
                self.nonces.insert(from, n);
            }
            if to != 0 {
                self.peers.insert(to, from);
                self.peers.insert(from, to);
            }
        }
        let base = if d.encap == "ip" {
            IP_SESSION_ID_LEN
        } else {
            0
        };
        let msg = buf.get(base..).unwrap_or_default();
        let digests = auth::digest_fields(msg);
        for a in &mut d.avps {
            match &a.parsed {
                Some(AvpValue::ChallengeResponse(got)) => {
                    a.check = Some(match self.challenges.get(&to) {
                        Some(c) => Check::compare(
                            got,
                            &challenge_response(msg_type.to_u16() as u8, &self.secret, c),
                        ),
                        None => Check::unverified(format!(
                            "no Challenge from tunnel {to} earlier in the input"
                        )),
                    });
                }
                Some(AvpValue::MessageDigest { .. }) => {
                    let at = a.offset + wire::AVP_HEADER_LEN + 1 - base;
                    if let Some(&(off, len)) = digests.iter().take(2).find(|(o, _)| *o == at) {
                        a.check = Some(self.digest(msg, &digests, off, len, msg_type, to));
                    }
                }
                _ => {}
            }
        }
    }

    /// Checks the digest at `msg[off..off + len]`.
    fn digest(
        &self,
        msg: &[u8],
        fields: &[(usize, usize)],
        off: usize,
        len: usize,
        msg_type: MessageType,
        to: u32,
    ) -> Check {
        let Some(alg) = DigestAlg::from_len(len) else {
            return Check::unverified(format!(
                "a {len}-byte digest is neither HMAC-MD5 (16) nor HMAC-SHA-1 (20)"
            ));
        };
        // `digest_fields` keeps every field inside the message; checked access all the same
        // (capture input is hostile).
        let Some(got) = msg.get(off..off.saturating_add(len)) else {
            return Check::unverified("the digest lies outside the message".to_string());
        };
        let mut zeroed = msg.to_vec();
        for &(o, l) in fields.iter().take(2) {
            if let Some(z) = zeroed.get_mut(o..o.saturating_add(l)) {
                z.fill(0);
            }
        }
        let key = auth::shared_key(&self.secret);
        if msg_type == MessageType::Sccrq {
            return Check::compare(got, &auth::hmac(alg, &key, &[&zeroed]));
        }
        let from = self.peers.get(&to);
        match (from.and_then(|f| self.nonces.get(f)), self.nonces.get(&to)) {
            (Some(sender), Some(receiver)) => {
                Check::compare(got, &auth::hmac(alg, &key, &[sender, receiver, &zeroed]))
            }
            _ => {
                // No nonce exchange seen: a quiescent tunnel digests without nonces.
                let bare = auth::hmac(alg, &key, &[&[], &[], &zeroed]);
                if auth::digest_eq(got, &bare) {
                    Check::compare(got, &bare)
                } else {
                    Check::unverified(format!(
                        "the nonces of control connection {to} are unknown (its SCCRQ and \
                         SCCRP are not in the input)"
                    ))
                }
            }
        }
    }
}
