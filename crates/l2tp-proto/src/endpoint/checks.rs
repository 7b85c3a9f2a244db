//! Consistency checks of the endpoint's indexes against its tables (for tests).

use super::*;

impl Endpoint {
    /// Checks every index against a walk of the tables it indexes (tunnels awaiting SCCRP,
    /// accepted SCCRQs, the `poll_accepted` queue, timers, the session total, v3 session IDs,
    /// closed records, half-open tunnels, tunnels per peer, and each tunnel's peer session IDs
    /// and call set-up timers): `Err` names the first mismatch. O(tunnels + sessions); for
    /// tests.
    #[doc(hidden)]
    pub fn check_indexes(&self) -> Result<(), String> {
        let mut awaiting = AwaitingIndex::new();
        let mut incoming = HashMap::new();
        let mut timers = BTreeSet::new();
        let (mut sessions, mut queued, mut lingering) = (0, 0, 0);
        let mut half_open = BTreeSet::new();
        let mut per_peer: HashMap<IpAddr, usize> = HashMap::new();
        let mut v3 = HashSet::new();
        let queue: HashSet<(u32, u64)> = self.accepted.iter().copied().collect();
        for (id, t) in self.tunnels.scan() {
            t.check_indexes()?;
            if t.id != id || t.finished {
                return Err(format!("tunnel {id}: wrong ID or finished but held"));
            }
            if t.awaiting_sccrp() {
                let key = (t.cfg.version, t.peer.ip());
                awaiting
                    .entry(key)
                    .or_default()
                    .insert((t.cfg.tie_breaker, id));
            }
            if let Some(key) = t.marks.incoming {
                incoming.insert(key, id);
            }
            if t.marks.scheduled != t.next_timeout() {
                return Err(format!("tunnel {id}: timer not re-armed"));
            }
            if let Some(at) = t.marks.scheduled {
                timers.insert((at, id));
            }
            sessions += t.session_count();
            if t.state == TunnelState::Closed {
                lingering += 1;
            }
            if t.half_open() {
                half_open.insert((t.marks.serial, id));
            }
            if let Some(ip) = t.counted_peer() {
                *per_peer.entry(ip).or_default() += 1;
            }
            if t.marks.accept_queued {
                queued += 1;
                if !queue.contains(&(id, t.marks.serial)) {
                    return Err(format!("tunnel {id}: accepted but not queued"));
                }
            }
            if t.cfg.version == Version::V3 {
                v3.extend(t.session_ids());
            }
        }
        if awaiting != self.awaiting_sccrp {
            return Err(format!(
                "tie-breaker index {:?}, tunnels say {awaiting:?}",
                self.awaiting_sccrp
            ));
        }
        if incoming != self.incoming {
            return Err(format!(
                "accepted SCCRQ index {:?}, tunnels say {incoming:?}",
                self.incoming
            ));
        }
        if timers != self.timers {
            return Err(format!(
                "{} timers, tunnels say {}",
                self.timers.len(),
                timers.len()
            ));
        }
        if sessions != self.session_total {
            return Err(format!(
                "session total {}, tunnels hold {sessions}",
                self.session_total
            ));
        }
        if half_open != self.half_open {
            return Err(format!(
                "{} half-open tunnels indexed, {} held",
                self.half_open.len(),
                half_open.len()
            ));
        }
        if per_peer != self.per_peer {
            return Err(format!(
                "tunnels per peer {:?}, tunnels say {per_peer:?}",
                self.per_peer
            ));
        }
        if lingering != self.lingering {
            return Err(format!(
                "{} closed records counted, {lingering} held",
                self.lingering
            ));
        }
        if queued != self.accepted_live || self.accepted.len() > 2 * queued + 64 {
            return Err(format!(
                "accepted queue: {} entries, {} said live, {queued} live",
                self.accepted.len(),
                self.accepted_live
            ));
        }
        if v3 != self.v3_sessions {
            return Err(format!(
                "{} v3 session IDs reserved, tunnels hold {}",
                self.v3_sessions.len(),
                v3.len()
            ));
        }
        Ok(())
    }
}
