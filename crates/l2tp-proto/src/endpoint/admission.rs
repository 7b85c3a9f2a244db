//! Admission of datagrams and new peers: source and tunnel-ID checks, dispatch to a tunnel,
//! SCCRQs from unknown peers (Message Digest, per-peer limit, half-open eviction) and the
//! tie break between crossing SCCRQs (RFC 2661 §5.1, RFC 3931 §5.4.3).

use super::*;

/// Which of our tunnels an incoming SCCRQ crosses ([`Endpoint::crossing`]).
#[derive(Debug, Default)]
pub(super) struct Crossing {
    /// Ours that lose: discarded, and the peer's SCCRQ is accepted.
    lost: Vec<u32>,
    /// Ours with the same Tie Breaker value: both sides discard.
    equal: Vec<u32>,
    /// One of ours wins: the peer's SCCRQ is dropped.
    won: bool,
}

/// True if an `accepted` queue entry (tunnel, serial) is still to be yielded.
fn live_accept(t: Option<&Tunnel>, serial: u64) -> bool {
    t.is_some_and(|t| t.marks.serial == serial && t.marks.accept_queued)
}

impl Endpoint {
    /// Message Digest check of a v3 message for tunnel 0 (an SCCRQ): required when we require
    /// authentication, or when the SCCRQ offers it (nonce) and we have a secret.
    pub(super) fn verify_new_sccrq(
        &self,
        remote: SocketAddr,
        raw: &[u8],
        msg: &ControlMessage,
    ) -> bool {
        if let Some(peer) = crate::tunnel::assigned_tunnel_id(msg) {
            if let Some(t) = self
                .incoming
                .get(&(remote, peer))
                .and_then(|id| self.tunnels.get(id))
            {
                return t.verify(raw, msg);
            }
        }
        let offered = crate::tunnel::nonce_of(msg).is_some();
        match (&self.config.secret, self.config.digest.is_some() || offered) {
            (Some(secret), true) => {
                crate::auth::verify(raw, &crate::auth::shared_key(secret), None)
            }
            (None, true) if self.config.digest.is_some() => false,
            _ => true,
        }
    }

    /// False (and counted in [`EndpointStats::wrong_source`]) for a datagram naming one of our
    /// tunnels from an address other than that tunnel's peer ([`Tunnel::accepts_from`]).
    pub(super) fn check_source(&mut self, tid: u32, remote: SocketAddr) -> bool {
        match self.tunnels.get(&tid) {
            Some(t) if tid != 0 && !t.accepts_from(remote) => {
                self.stats.wrong_source += 1;
                false
            }
            _ => true,
        }
    }

    pub(super) fn dispatch(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        encap: Encap,
        msg: ControlMessage,
    ) {
        let version = msg.header.version;
        let tid = msg.header.tunnel_id;
        if !self.check_source(tid, remote) {
            return;
        }
        if tid != 0 {
            if self
                .with_tunnel(now, tid, |t, ctx| t.handle_message(ctx, remote, msg))
                .is_none()
            {
                self.stats.unknown_tunnel += 1;
            }
            return;
        }
        // Tunnel ID 0: only an SCCRQ may create a tunnel.
        if msg.message_type() != Some(MessageType::Sccrq) {
            self.stats.unknown_tunnel += 1;
            return;
        }
        let c = &self.config;
        let accept = match version {
            Version::V2 => c.accept_v2_incoming || (c.accept_v3_incoming && c.v3_fallback_to_v2),
            Version::V3 => c.accept_v3_incoming,
        };
        let Some(peer_tid) = crate::tunnel::assigned_tunnel_id(&msg) else {
            self.stats.malformed += 1;
            return;
        };
        if let Some(&id) = self.incoming.get(&(remote, peer_tid)) {
            // A closed record's peer is done with that tunnel: an SCCRQ reusing its ID opens a
            // new one (a peer re-dialling with a fixed tunnel ID), the record gives way.
            if !self.take_over_closed_record(id) {
                // A retransmitted SCCRQ: the transport re-acknowledges it.
                self.with_tunnel(now, id, |t, ctx| t.handle_message(ctx, remote, msg));
                return;
            }
        }
        // Tie breaker (RFC 2661 §5.1 Tie Breaker AVP, RFC 3931 §5.4.3): our own SCCRQ to the
        // same peer is unanswered.
        let theirs = msg.tie_breaker();
        let crossing = self.crossing(version, remote.ip(), theirs);
        let would_accept =
            !crossing.won && crossing.equal.is_empty() && (accept || !crossing.lost.is_empty());
        if would_accept && self.peer_tunnels(remote.ip()) >= self.config.max_tunnels_per_peer {
            // Dropped before anything changes (our crossing tunnels included): the peer
            // retransmits, and is taken once one of its tunnels has gone.
            self.stats.refused_peer_limit += 1;
            return;
        }
        for &id in crossing.lost.iter().chain(&crossing.equal) {
            self.lose_tie(now, id);
        }
        let peer_won = !crossing.lost.is_empty();
        if crossing.won {
            self.stats.tie_breaks_lost_by_peer += 1;
        }
        if crossing.won || !crossing.equal.is_empty() {
            return;
        }
        if !accept && !peer_won {
            self.stats.unknown_tunnel += 1;
            return;
        }
        if self.half_open.len() >= self.config.max_half_open.max(1) {
            self.evict_oldest_half_open(now);
        }
        let Ok(id) = self.alloc_tunnel_id(version) else {
            self.stats.unknown_tunnel += 1;
            return;
        };
        let cfg = self.config.accepted_tunnel(version, encap, remote, id);
        let env = self.env();
        let mut t = Tunnel::accept(id, cfg, env, &mut ctx!(self, now));
        self.stats.tunnels_accepted += 1;
        t.marks.incoming = Some((remote, peer_tid));
        t.marks.accept_queued = true;
        self.accepted.push_back((id, self.next_serial));
        self.accepted_live += 1;
        self.insert_tunnel(id, t);
        self.incoming.insert((remote, peer_tid), id);
        self.compact_accepted();
        self.with_tunnel(now, id, |t, ctx| t.handle_message(ctx, remote, msg));
    }

    /// Tunnels the peer at `ip` opened and we hold (closed records not counted). O(1).
    fn peer_tunnels(&self, ip: IpAddr) -> usize {
        self.per_peer.get(&ip.to_canonical()).copied().unwrap_or(0)
    }

    /// Discards the oldest half-open tunnel (silently: unvalidated state) to make room for a
    /// new SCCRQ. O(log n).
    fn evict_oldest_half_open(&mut self, now: Instant) {
        let Some(&(_, id)) = self.half_open.first() else {
            return;
        };
        self.stats.half_open_evicted += 1;
        let rc = ResultCode {
            result: wire::result::STOPCCN_GENERAL_ERROR,
            error: Some(wire::error_code::NO_RESOURCES),
            message: Some(b"too many half-open tunnels: oldest evicted".to_vec()),
        };
        self.with_tunnel(now, id, |t, ctx| t.discard(ctx, rc));
    }

    /// Our tunnels an incoming SCCRQ from `ip` crosses, by the Tie Breaker rule (RFC 2661
    /// §5.1, RFC 3931 §5.4.3: the lower value wins, a value beats none; neither sending one
    /// means two separate tunnels), each pair decided on its own. O(log n + tunnels
    /// returned).
    fn crossing(&self, version: Version, ip: IpAddr, theirs: Option<[u8; 8]>) -> Crossing {
        let mut c = Crossing::default();
        let Some(set) = self.awaiting_sccrp.get(&(version, ip)) else {
            return c;
        };
        const LOW: Option<[u8; 8]> = Some([0; 8]);
        let ids = |r: std::collections::btree_set::Range<'_, (Option<[u8; 8]>, u32)>| {
            r.map(|&(_, id)| id).collect::<Vec<u32>>()
        };
        match theirs {
            // Only ours with a value cross it, and they win.
            None => c.won = set.range((LOW, 0)..).next().is_some(),
            Some(t) => {
                let t = Some(t);
                c.lost = ids(set.range((None, 0)..=(None, u32::MAX)));
                c.lost.extend(ids(
                    set.range((Bound::Excluded((t, u32::MAX)), Bound::Unbounded))
                ));
                c.equal = ids(set.range((t, 0)..=(t, u32::MAX)));
                c.won = set.range((LOW, 0)..(t, 0)).next().is_some();
            }
        }
        self.steps.add(1 + (c.lost.len() + c.equal.len()) as u64);
        c
    }

    /// Drops `accepted` entries of tunnels that are gone once they outnumber the live ones
    /// (by more than 64): the walk is paid for by the removals that left those entries dead,
    /// O(1) amortized each. Called wherever the queue or the live count changes, so that it
    /// always holds at most `2 × live + 64` entries.
    pub(super) fn compact_accepted(&mut self) {
        if self.accepted.len() <= 2 * self.accepted_live + 64 {
            return;
        }
        self.steps.add(self.accepted.len() as u64);
        let tunnels = &self.tunnels;
        self.accepted
            .retain(|&(id, serial)| live_accept(tunnels.get(&id), serial));
    }

    /// The next tunnel accepted for a peer's SCCRQ (LNS / listen mode, or the winner of a tie
    /// break): its local ID and the peer's address. Each accepted tunnel is yielded once, in
    /// the order accepted, if it still exists when polled (one removed before — refused,
    /// timed out — is skipped; its `TunnelDown` is in [`Endpoint::poll_event`]). Drain it after
    /// each [`Endpoint::handle`] / [`Endpoint::handle_encap`] and before `poll_event`, and a
    /// tunnel's `TunnelUp` / `TunnelDown` never precede its being yielded. O(1) amortized; a
    /// driver that never calls it costs a queue of at most 2 × (live accepted tunnels) + 64
    /// entries: those of tunnels that are gone are dropped.
    pub fn poll_accepted(&mut self) -> Option<(TunnelId, SocketAddr)> {
        while let Some((id, serial)) = self.accepted.pop_front() {
            let Some(t) = self.tunnels.get_mut(&id) else {
                continue;
            };
            if live_accept(Some(t), serial) {
                t.marks.accept_queued = false;
                let peer = t.peer;
                self.accepted_live -= 1;
                self.compact_accepted();
                return Some((TunnelId(id), peer));
            }
        }
        None
    }

    /// Our tunnel lost a tie break: discarded silently (RFC 2661 §5.1).
    fn lose_tie(&mut self, now: Instant, id: u32) {
        let rc = ResultCode {
            result: wire::result::STOPCCN_ALREADY_EXISTS,
            error: Some(wire::error_code::NO_ERROR),
            message: Some(b"lost tie break".to_vec()),
        };
        self.with_tunnel(now, id, |t, ctx| t.discard(ctx, rc));
    }
}
