//! What a control request names — one tunnel, and maybe one of its sessions — resolved through
//! the registry's indexes (O(1) at any number of tunnels and sessions), else among the objects
//! that went down recently ([`History`](super::report::History), at most 256 entries). The
//! control socket's `delete_tunnel`, `create_session` and `delete_session` use it instead of a
//! full status snapshot.

use std::time::Instant;

use l2tp_proto::endpoint::{SessionId, TunnelId};

use super::report::{session_line, Downed, PendingStatus};
use super::Driver;
use crate::status::{Named, SessionStatus, TunnelStatus};

/// The number a key names, when it is all decimal digits (at most 10 of them).
fn as_id(key: &str) -> Option<u32> {
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse().ok()
}

impl Driver {
    /// The tunnel `tunnel` names: by name (a live tunnel, the listener, else the newest
    /// downed one of that name), else, when it is all digits, by local tunnel ID (live,
    /// else downed; the listener has none). With `session`, also the session it names in
    /// that tunnel, the same way (by name, else by local session ID). The tunnel's line has
    /// no sessions and no line carries data counters. `None`: no such tunnel.
    pub(crate) fn lookup(&mut self, tunnel: &str, session: Option<&str>) -> Option<Named> {
        let now = Instant::now();
        self.history.expire(now);
        let id = as_id(tunnel);
        let live = |id: TunnelId| Some((self.tunnel_line(id, self.registry.get(id)?), Some(id)));
        let (line, live) = self
            .registry
            .by_name(tunnel)
            .and_then(live)
            .or_else(|| Some((self.listener_line().filter(|l| l.name == tunnel)?, None)))
            .or_else(|| Some((self.history.newest_tunnel(now, |d| d.name == tunnel)?, None)))
            .or_else(|| live(TunnelId(id?)))
            .or_else(|| Some((self.history.newest_tunnel(now, |d| Some(d.id) == id)?, None)))?;
        let session = session.and_then(|key| self.lookup_session(live, &line.name, key));
        Some(Named {
            tunnel: line,
            session,
        })
    }

    /// The session `key` names in the tunnel `name` (live as `live`): a live one by name,
    /// a downed one by name, a live one by ID, a downed one by ID.
    fn lookup_session(
        &self,
        live: Option<TunnelId>,
        name: &str,
        key: &str,
    ) -> Option<SessionStatus> {
        let entry = live.and_then(|id| self.registry.get(id));
        let live_line = |sid: SessionId| {
            let mut s = session_line(sid, entry?.session(sid)?);
            s.stats = None;
            Some(s)
        };
        if let Some(s) = entry
            .and_then(|t| t.session_by_name(key))
            .and_then(live_line)
        {
            return Some(s);
        }
        if let Some(s) = self.history.newest_session(name, |s| s.name == key) {
            return Some(s);
        }
        let id = as_id(key)?;
        live_line(SessionId(id)).or_else(|| self.history.newest_session(name, |s| s.id == id))
    }
}

impl Driver {
    /// The status of the tunnel `tunnel` names (see [`lookup`](Self::lookup)) with its
    /// sessions — live ones and those that went down recently — or with only the one
    /// `session` names; counters asked of the data plane for those sessions only. No such
    /// tunnel: an empty snapshot. O(sessions of that tunnel).
    pub(crate) fn scoped_status_request(
        &mut self,
        tunnel: &str,
        session: Option<&str>,
    ) -> PendingStatus {
        let Some(Named {
            tunnel: mut line,
            session: named,
        }) = self.lookup(tunnel, session)
        else {
            return self.pending_status(Vec::new(), Vec::new());
        };
        let live = Some(TunnelId(line.id))
            .filter(|_| line.state != "down" && line.kind != "listener")
            .and_then(|id| Some((id, self.registry.get(id)?)));
        let mut keys = Vec::new();
        let mut with_stats = |s: SessionStatus| {
            if s.stats.is_some() {
                keys.push((line.id, s.id));
            }
            s
        };
        line.sessions = match (session, named) {
            (Some(_), None) => Vec::new(),
            (Some(_), Some(s)) => {
                // The named session again, with its counters when it is live and ready.
                let fresh = (s.state != "down")
                    .then(|| {
                        live?
                            .1
                            .session(SessionId(s.id))
                            .map(|e| session_line(SessionId(s.id), e))
                    })
                    .flatten();
                vec![with_stats(fresh.unwrap_or(s))]
            }
            (None, _) => {
                let mut all: Vec<SessionStatus> = live
                    .into_iter()
                    .flat_map(|(_, t)| t.sessions())
                    .map(|(sid, e)| with_stats(session_line(*sid, e)))
                    .collect();
                all.extend(self.history.sessions_of(&line.name));
                all
            }
        };
        self.pending_status(vec![line], keys)
    }
}

impl super::report::History {
    /// The sessions of tunnel `tunnel` that went down recently, oldest first.
    fn sessions_of<'a>(&'a self, tunnel: &'a str) -> impl Iterator<Item = SessionStatus> + 'a {
        self.entries.iter().filter_map(move |(_, d)| match d {
            Downed::Session { tunnel: t, status } if t == tunnel => Some(status.clone()),
            _ => None,
        })
    }

    /// The newest downed tunnel `pick` accepts, with how long ago it went down.
    fn newest_tunnel(
        &self,
        now: Instant,
        pick: impl Fn(&TunnelStatus) -> bool,
    ) -> Option<TunnelStatus> {
        self.entries.iter().rev().find_map(|(at, d)| match d {
            Downed::Tunnel(t) if pick(t) => {
                let mut t = t.clone();
                t.down_for = Some(now.saturating_duration_since(*at).as_secs());
                Some(t)
            }
            _ => None,
        })
    }

    /// The newest downed session of tunnel `tunnel` that `pick` accepts.
    fn newest_session(
        &self,
        tunnel: &str,
        pick: impl Fn(&SessionStatus) -> bool,
    ) -> Option<SessionStatus> {
        self.entries.iter().rev().find_map(|(_, d)| match d {
            Downed::Session { tunnel: t, status } if t == tunnel && pick(status) => {
                Some(status.clone())
            }
            _ => None,
        })
    }
}
