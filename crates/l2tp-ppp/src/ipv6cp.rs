//! IPV6CP, the IPv6 Control Protocol (RFC 5072 §4): the Interface-Identifier option (1).
//!
//! Each side proposes a random non-zero 64-bit identifier. A peer proposing zero or our own
//! identifier is Nak'd with a fresh one (RFC 5072 §4.1 collision handling); a Nak of ours
//! makes us take the suggested value. IPv6-Compression-Protocol (2) and others are rejected.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::fsm::{Judgement, Options};
use crate::wire;

const OPT_IFID: u8 = 1;

/// IPV6CP option state.
#[derive(Debug)]
pub struct Ipv6cpOptions {
    rng: SmallRng,
    /// Our interface identifier (network order bytes as a big-endian number).
    pub local_id: u64,
    /// The peer's interface identifier once agreed.
    pub peer_id: u64,
    send_id: bool,
}

impl Ipv6cpOptions {
    /// New option state with identifiers drawn from `seed`.
    pub fn new(seed: u64) -> Self {
        let mut o = Ipv6cpOptions {
            rng: SmallRng::seed_from_u64(seed),
            local_id: 0,
            peer_id: 0,
            send_id: true,
        };
        o.local_id = o.fresh(0);
        o
    }

    fn fresh(&mut self, avoid: u64) -> u64 {
        loop {
            let v: u64 = self.rng.gen();
            if v != 0 && v != avoid && v != self.local_id {
                return v;
            }
        }
    }
}

impl Options for Ipv6cpOptions {
    fn reset(&mut self) {
        self.peer_id = 0;
        self.send_id = true;
    }

    fn build_request(&mut self, out: &mut Vec<u8>) {
        if self.send_id {
            wire::push_opt(out, OPT_IFID, &self.local_id.to_be_bytes());
        }
    }

    fn judge_request(&mut self, opts: &[u8], exhausted: bool, reply: &mut Vec<u8>) -> Judgement {
        let mut rej = Vec::new();
        let mut nak = Vec::new();
        let mut nak_raw = Vec::new();
        let mut peer = 0;
        for o in wire::options(opts).filter_map(Result::ok) {
            let id = <[u8; 8]>::try_from(o.data).ok().map(u64::from_be_bytes);
            match (o.kind, id) {
                (OPT_IFID, Some(v)) if v == 0 || v == self.local_id => {
                    let suggest = self.fresh(v);
                    wire::push_opt(&mut nak, OPT_IFID, &suggest.to_be_bytes());
                    nak_raw.extend_from_slice(o.raw);
                }
                (OPT_IFID, Some(v)) => peer = v,
                _ => rej.extend_from_slice(o.raw),
            }
        }
        if !rej.is_empty() {
            *reply = rej;
            return Judgement::Reject;
        }
        if !nak.is_empty() {
            *reply = if exhausted { nak_raw } else { nak };
            return if exhausted {
                Judgement::Reject
            } else {
                Judgement::Nak
            };
        }
        self.peer_id = peer;
        Judgement::Ack
    }

    fn acked(&mut self, _ours: &[u8]) {}

    fn naked(&mut self, opts: &[u8]) -> bool {
        for o in wire::options(opts).filter_map(Result::ok) {
            if let (OPT_IFID, Ok(b)) = (o.kind, <[u8; 8]>::try_from(o.data)) {
                let v = u64::from_be_bytes(b);
                self.local_id = if v == 0 || v == self.peer_id {
                    self.fresh(v)
                } else {
                    v
                };
            }
        }
        true
    }

    fn rejected(&mut self, opts: &[u8]) -> bool {
        if wire::options(opts)
            .filter_map(Result::ok)
            .any(|o| o.kind == OPT_IFID)
        {
            self.send_id = false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collision_and_zero_identifiers_are_naked_with_a_fresh_one() {
        let mut o = Ipv6cpOptions::new(5);
        let ours = o.local_id;
        let mut reply = Vec::new();
        let mut req = vec![1, 10];
        req.extend_from_slice(&ours.to_be_bytes());
        assert_eq!(o.judge_request(&req, false, &mut reply), Judgement::Nak);
        let suggested = u64::from_be_bytes(reply[2..10].try_into().unwrap());
        assert!(suggested != 0 && suggested != ours);
        reply.clear();
        assert_eq!(
            o.judge_request(&[1, 10, 0, 0, 0, 0, 0, 0, 0, 0], false, &mut reply),
            Judgement::Nak
        );
        reply.clear();
        assert_eq!(
            o.judge_request(&[2, 4, 0, 0x4f], false, &mut reply),
            Judgement::Reject
        );
        // Our identifier Nak'd: take the suggestion.
        assert!(o.naked(&[1, 10, 0, 0, 0, 0, 0, 0, 0, 7]));
        assert_eq!(o.local_id, 7);
    }
}
