//! A tunnel's message protection: v2 challenge and hidden-AVP secret, v3 Message Digest keys
//! and nonces (the primitives are in [`crate::auth`]), applied to what it sends and checked on
//! what it receives.

use super::*;

impl Tunnel {
    pub(super) fn random_bytes(ctx: &mut Ctx, n: usize) -> Vec<u8> {
        let mut c = vec![0u8; n];
        ctx.rng.fill_bytes(&mut c);
        c
    }

    /// Sets up challenge (v2) or nonce (v3) per configuration.
    pub(super) fn init_auth(&mut self, ctx: &mut Ctx) {
        match self.cfg.version {
            Version::V2 => {
                if self.cfg.secret.is_some() && self.cfg.challenge {
                    self.our_challenge = Some(Self::random_bytes(ctx, 16));
                }
            }
            Version::V3 => {
                if let (Some(alg), Some(_)) = (self.cfg.digest, &self.cfg.secret) {
                    self.digest_alg = Some(alg);
                    self.local_nonce = Some(Self::random_bytes(ctx, 16));
                }
            }
        }
        self.update_auth();
    }

    /// Rebuilds the encoding context after a change of keys or nonces.
    pub(super) fn update_auth(&mut self) {
        let hide = !self.cfg.hide_avps.is_empty() && self.cfg.secret.is_some();
        let digest = match (self.digest_alg, self.digest_key) {
            (Some(alg), Some(key)) => Some(DigestKeys {
                alg,
                key,
                local_nonce: self.local_nonce.clone().unwrap_or_default(),
                peer_nonce: self.peer_nonce.clone().unwrap_or_default(),
            }),
            _ => None,
        };
        self.auth = if hide || digest.is_some() {
            Some(Arc::new(Auth {
                secret: if hide { self.cfg.secret.clone() } else { None },
                digest,
            }))
        } else {
            None
        };
    }

    /// Hides the configured AVPs of `msg` behind a fresh Random Vector and adds the (zero)
    /// Message Digest AVP right after the Message Type AVP, as configured.
    pub(super) fn decorate(&self, ctx: &mut Ctx, msg: &mut ControlMessage) {
        if msg.avps.is_empty() {
            return;
        }
        if self.cfg.secret.is_some() && !self.cfg.hide_avps.is_empty() {
            let hideable = |a: &Avp| {
                a.value.vendor() == 0
                    && self.cfg.hide_avps.contains(&a.value.attr_type())
                    && !matches!(
                        a.value,
                        AvpValue::MessageType(_)
                            | AvpValue::RandomVector(_)
                            | AvpValue::MessageDigest { .. }
                            | AvpValue::ControlMessageAuthNonce(_)
                            | AvpValue::TieBreaker(_)
                    )
            };
            if let Some(first) = msg.avps.iter().skip(1).position(hideable) {
                for a in msg.avps.iter_mut().skip(1) {
                    if hideable(a) {
                        a.hidden = true;
                    }
                }
                let rv = Self::random_bytes(ctx, 16);
                msg.avps
                    .insert(first + 1, Avp::m(AvpValue::RandomVector(rv)));
            }
        }
        if let Some(alg) = self.digest_alg {
            msg.avps.insert(
                1,
                Avp::m(AvpValue::MessageDigest {
                    digest_type: alg.wire_type(),
                    digest: vec![0; alg.digest_len()],
                }),
            );
        }
    }

    /// Checks the Message Digest of a received message (`raw` from the control header on)
    /// when Control Message Authentication is on (RFC 3931 §4.3): true to accept.
    pub fn verify(&self, raw: &[u8], msg: &ControlMessage) -> bool {
        let (Some(_), Some(key)) = (self.digest_alg, self.digest_key) else {
            return true;
        };
        let mt = msg.message_type();
        if mt == Some(MessageType::Sccrq) {
            return auth::verify(raw, &key, None);
        }
        let from_msg;
        let peer_nonce = match (&self.peer_nonce, mt) {
            (Some(n), _) => n.as_slice(),
            (None, Some(MessageType::Sccrp)) => match nonce_of(msg) {
                Some(n) => {
                    from_msg = n;
                    from_msg.as_slice()
                }
                None => return false,
            },
            (None, _) if self.quiescent => &[],
            (None, _) => return false,
        };
        let local = self.local_nonce.as_deref().unwrap_or_default();
        auth::verify(raw, &key, Some((peer_nonce, local)))
    }
}
