//! A tunnel's status snapshot and the consistency check of its indexes (for tests).

use super::*;

impl Tunnel {
    /// Status snapshot.
    pub fn info(&self) -> TunnelInfo {
        let mut sessions: Vec<SessionInfo> = self.sessions.scan().map(|(_, s)| s.info()).collect();
        sessions.sort_by_key(|s| s.id);
        TunnelInfo {
            id: TunnelId(self.id),
            state: self.state,
            role: self.role,
            version: self.cfg.version,
            encap: self.cfg.encap,
            peer: self.peer,
            peer_tunnel_id: self.peer_tunnel_id,
            peer_host_name: self.peer_host_name.clone(),
            send_window: self.transport.peer_window(),
            in_flight: self.transport.in_flight(),
            next_ns: self.transport.next_ns(),
            next_nr: self.transport.expected_ns(),
            transport: self.transport.stats(),
            sessions,
        }
    }

    /// Number of sessions (for leak checks).
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Local IDs of this tunnel's sessions (for the endpoint's consistency check).
    pub fn session_ids(&self) -> Vec<u32> {
        self.sessions.scan().map(|(id, _)| id).collect()
    }

    /// Checks the tunnel's indexes against a walk of its sessions: the peer session index
    /// holds exactly the sessions with a known peer ID (unique), the call set-up timers
    /// exactly the sessions with a deadline. For tests.
    pub fn check_indexes(&self) -> Result<(), String> {
        let mut peers = HashMap::new();
        let mut deadlines = BTreeSet::new();
        for (id, s) in self.sessions.scan() {
            if s.id != id {
                return Err(format!(
                    "tunnel {}: session {id} filed under {}",
                    self.id, s.id
                ));
            }
            if s.peer_id != 0 && peers.insert(s.peer_id, id).is_some() {
                return Err(format!(
                    "tunnel {}: peer session ID {} held twice",
                    self.id, s.peer_id
                ));
            }
            if let Some(at) = s.deadline {
                deadlines.insert((at, id));
            }
        }
        if peers != self.peer_sessions {
            return Err(format!(
                "tunnel {}: peer session index {:?}, sessions say {peers:?}",
                self.id, self.peer_sessions
            ));
        }
        if deadlines != self.session_deadlines {
            return Err(format!(
                "tunnel {}: {} call set-up timers, sessions say {}",
                self.id,
                self.session_deadlines.len(),
                deadlines.len()
            ));
        }
        Ok(())
    }
}
