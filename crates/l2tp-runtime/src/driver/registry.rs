//! Every index the runtime keeps over its tunnels and sessions, and the counters that
//! `stats()` reports, maintained on each insert and removal so that no lookup or count scans.
//!
//! | question | index |
//! |---|---|
//! | tunnel by local ID | `tunnels` |
//! | tunnel by configured name | `by_name` |
//! | session by (tunnel, local ID) | `TunnelEntry::sessions` |
//! | session by (tunnel, name) | `TunnelEntry::session_names` |
//! | who is bridged to a (tunnel, session) name | `bridge_wanted_by` |
//! | tunnels up, sessions, sessions up | counters |
//!
//! All mutations go through [`Registry`]'s methods, which keep the indexes and counters in
//! step (a test checks them against a recount after random operations).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::SocketAddr;
use std::sync::Arc;

use l2tp_proto::endpoint::{SessionId, TunnelId};

use crate::config::{SessionSection, TunnelSection};
use crate::dataplane::SessionHandle;

/// A hash map that offers keyed operations, and walks that count themselves (in tests), so
/// that a test can show a lookup never walks: a scan put back into a lookup would have to go
/// through [`Table::iter`] and be counted.
#[derive(Debug)]
pub(crate) struct Table<K, V>(HashMap<K, V>);

#[cfg(test)]
thread_local! {
    /// Entries visited by walks over any [`Table`] on this thread.
    static WALKS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

impl<K: Hash + Eq, V> Default for Table<K, V> {
    fn default() -> Self {
        Table(HashMap::new())
    }
}

impl<K: Hash + Eq, V> Table<K, V> {
    fn get<Q: Hash + Eq + ?Sized>(&self, k: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
    {
        self.0.get(k)
    }
    fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.0.get_mut(k)
    }
    fn contains_key<Q: Hash + Eq + ?Sized>(&self, k: &Q) -> bool
    where
        K: std::borrow::Borrow<Q>,
    {
        self.0.contains_key(k)
    }
    fn insert(&mut self, k: K, v: V) -> Option<V> {
        self.0.insert(k, v)
    }
    fn remove<Q: Hash + Eq + ?Sized>(&mut self, k: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
    {
        self.0.remove(k)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Every entry (a walk: for reports, shutdown and tests, never a lookup).
    fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().inspect(|_| {
            #[cfg(test)]
            WALKS.with(|w| w.set(w.get() + 1));
        })
    }
}

/// Entries visited by table walks on this thread so far (tests).
#[cfg(test)]
pub(crate) fn walks() -> u64 {
    WALKS.with(|w| w.get())
}

/// Where an object stands in the data plane.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Dp<T> {
    /// Nothing asked of the data plane.
    #[default]
    None,
    /// Asked; the completion carrying this token is awaited.
    Creating(u64),
    /// Created.
    Ready(T),
}

impl<T> Dp<T> {
    /// Whether the data plane was asked to create it (so it must be asked to delete it).
    pub(crate) fn requested(&self) -> bool {
        !matches!(self, Dp::None)
    }

    pub(crate) fn ready(&self) -> Option<&T> {
        match self {
            Dp::Ready(t) => Some(t),
            _ => None,
        }
    }
}

/// One session as the runtime knows it.
#[derive(Debug)]
pub(crate) struct SessionEntry {
    /// Configured name, or `#<id>` for calls a peer placed.
    pub name: String,
    /// Its configuration (shared with the listener template for peer-placed calls).
    pub section: Arc<SessionSection>,
    /// Established in the control protocol.
    pub up: bool,
    pub peer_id: u32,
    pub dp: Dp<SessionHandle>,
    /// pppd's process ID while it runs.
    pub pppd: Option<u32>,
    /// The session its PPP channel is bridged to (no pppd then); when one goes down, the
    /// other is cleared too.
    pub bridged: Option<(TunnelId, SessionId)>,
    /// The engine's `SessionUp`, reported once the data plane has made the session.
    pub pending_up: Option<Box<l2tp_proto::endpoint::Event>>,
    /// PPP in this process: the authenticated user name, once known.
    pub username: Option<String>,
    /// PPP in this process: the PPP client's IPv4 address, once IPCP is up.
    pub address: Option<std::net::Ipv4Addr>,
    /// PPP in this process with RADIUS: the Access-Accept's Class, printable.
    pub class: Option<String>,
    /// PPP in this process: its automata and authentication, as last reported.
    pub ppp: Option<crate::dataplane::PppPhase>,
}

impl SessionEntry {
    pub(crate) fn new(name: String, section: Arc<SessionSection>) -> Self {
        SessionEntry {
            name,
            section,
            up: false,
            peer_id: 0,
            dp: Dp::None,
            pppd: None,
            bridged: None,
            pending_up: None,
            username: None,
            address: None,
            class: None,
            ppp: None,
        }
    }
}

/// One tunnel as the runtime knows it.
#[derive(Debug)]
pub(crate) struct TunnelEntry {
    pub name: String,
    /// Index into the socket table.
    pub socket: Option<usize>,
    /// Sessions to open once the tunnel is up, in configuration order.
    pub pending_sessions: Vec<(String, SessionSection)>,
    sessions: Table<SessionId, SessionEntry>,
    session_names: Table<String, SessionId>,
    /// Configuration (shared with the listener for accepted tunnels).
    pub section: Arc<TunnelSection>,
    /// The peer's address (configured, or where an accepted tunnel's SCCRQ came from).
    pub peer: Option<SocketAddr>,
    /// A peer opened it (we are the LNS / responding LCCE): the role decides who controls
    /// data sequencing (RFC 2661 §5.4), so the kernel session gets `LNS_MODE`.
    pub accepted: bool,
    /// The protocol version in use (an L2TPv3 listener may accept an L2TPv2 peer).
    pub version: l2tp_proto::wire::Version,
    pub up: bool,
    pub peer_tunnel_id: u32,
    pub dp: Dp<()>,
    sessions_up: usize,
}

impl TunnelEntry {
    pub(crate) fn new(name: String, section: Arc<TunnelSection>) -> Self {
        TunnelEntry {
            name,
            socket: None,
            pending_sessions: Vec::new(),
            sessions: Table::default(),
            session_names: Table::default(),
            peer: section.peer,
            version: section.version,
            section,
            accepted: false,
            up: false,
            peer_tunnel_id: 0,
            dp: Dp::None,
            sessions_up: 0,
        }
    }

    pub(crate) fn session(&self, id: SessionId) -> Option<&SessionEntry> {
        self.sessions.get(&id)
    }

    /// A session by name: O(1).
    pub(crate) fn session_by_name(&self, name: &str) -> Option<SessionId> {
        self.session_names.get(name).copied()
    }

    pub(crate) fn sessions(&self) -> impl Iterator<Item = (&SessionId, &SessionEntry)> {
        self.sessions.iter()
    }

    pub(crate) fn session_ids(&self) -> Vec<SessionId> {
        self.sessions.iter().map(|(k, _)| *k).collect()
    }
}

/// The runtime's tunnels and sessions with their indexes and counters.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    tunnels: Table<TunnelId, TunnelEntry>,
    by_name: Table<String, TunnelId>,
    /// (tunnel name, session name) of a bridge target → the session configured to bridge to
    /// it, so that either half coming up finds the other at once.
    bridge_wanted_by: Table<(String, String), (String, String)>,
    tunnels_up: usize,
    sessions: usize,
    sessions_up: usize,
}

/// Counters kept by the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub tunnels: usize,
    pub tunnels_up: usize,
    pub sessions: usize,
    pub sessions_up: usize,
}

impl Registry {
    pub(crate) fn counts(&self) -> Counts {
        Counts {
            tunnels: self.tunnels.len(),
            tunnels_up: self.tunnels_up,
            sessions: self.sessions,
            sessions_up: self.sessions_up,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.tunnels.is_empty()
    }

    pub(crate) fn contains(&self, id: TunnelId) -> bool {
        self.tunnels.contains_key(&id)
    }

    pub(crate) fn get(&self, id: TunnelId) -> Option<&TunnelEntry> {
        self.tunnels.get(&id)
    }

    pub(crate) fn get_mut(&mut self, id: TunnelId) -> Option<&mut TunnelEntry> {
        self.tunnels.get_mut(&id)
    }

    pub(crate) fn tunnels(&self) -> impl Iterator<Item = (&TunnelId, &TunnelEntry)> {
        self.tunnels.iter()
    }

    pub(crate) fn tunnel_ids(&self) -> Vec<TunnelId> {
        self.tunnels.iter().map(|(k, _)| *k).collect()
    }

    /// A tunnel by name: O(1).
    pub(crate) fn by_name(&self, name: &str) -> Option<TunnelId> {
        self.by_name.get(name).copied()
    }

    pub(crate) fn name_taken(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// A session by (tunnel, local ID).
    pub(crate) fn session(&self, t: TunnelId, s: SessionId) -> Option<&SessionEntry> {
        self.tunnels.get(&t)?.sessions.get(&s)
    }

    pub(crate) fn session_mut(&mut self, t: TunnelId, s: SessionId) -> Option<&mut SessionEntry> {
        self.tunnels.get_mut(&t)?.sessions.get_mut(&s)
    }

    /// Records the bridge configuration of a tunnel's sessions (`bridge = "T/S"`).
    pub(crate) fn note_bridges(&mut self, tunnel: &str, section: &TunnelSection) {
        for (name, s) in &section.sessions {
            if let Some(target) = &s.bridge {
                self.bridge_wanted_by
                    .insert(target.clone(), (tunnel.to_string(), name.clone()));
            }
        }
    }

    /// The configured bridge partner of a session, by names: the target of its own `bridge`
    /// setting, or the session that names it as its target. O(1).
    pub(crate) fn bridge_partner(
        &mut self,
        t: TunnelId,
        s: SessionId,
    ) -> Option<(TunnelId, SessionId)> {
        let te = self.tunnels.get(&t)?;
        let se = te.sessions.get(&s)?;
        let (pt, ps) = match &se.section.bridge {
            Some(target) => target.clone(),
            None => self
                .bridge_wanted_by
                .get(&(te.name.clone(), se.name.clone()))?
                .clone(),
        };
        let ptid = *self.by_name.get(&pt)?;
        let psid = self.tunnels.get(&ptid)?.session_by_name(&ps)?;
        Some((ptid, psid))
    }

    /// Whether a session takes part in a configured bridge (as either half): it then runs no
    /// pppd, its PPP runs end to end through the bridge.
    pub(crate) fn is_bridged_by_config(&self, t: TunnelId, s: SessionId) -> bool {
        let Some(te) = self.tunnels.get(&t) else {
            return false;
        };
        let Some(se) = te.sessions.get(&s) else {
            return false;
        };
        se.section.bridge.is_some()
            || self
                .bridge_wanted_by
                .contains_key(&(te.name.clone(), se.name.clone()))
    }

    /// Frees a closing tunnel's name for a new tunnel (the closing one keeps its name in
    /// reports but can no longer be found by it).
    pub(crate) fn release_name(&mut self, id: TunnelId) {
        if let Some(t) = self.tunnels.get(&id) {
            if self.by_name.get(&t.name) == Some(&id) {
                self.by_name.remove(&t.name);
            }
        }
    }

    /// Adds a tunnel. The caller checked that the ID and name are free.
    pub(crate) fn insert_tunnel(&mut self, id: TunnelId, entry: TunnelEntry) {
        if entry.up {
            self.tunnels_up += 1;
        }
        self.by_name.insert(entry.name.clone(), id);
        if let Some(old) = self.tunnels.insert(id, entry) {
            self.forget_counts(&old);
        }
    }

    /// Marks a tunnel established.
    pub(crate) fn set_tunnel_up(&mut self, id: TunnelId, peer_tunnel_id: u32) {
        if let Some(t) = self.tunnels.get_mut(&id) {
            if !t.up {
                t.up = true;
                self.tunnels_up += 1;
            }
            t.peer_tunnel_id = peer_tunnel_id;
        }
    }

    fn forget_counts(&mut self, t: &TunnelEntry) {
        if t.up {
            self.tunnels_up -= 1;
        }
        self.sessions -= t.sessions.len();
        self.sessions_up -= t.sessions_up;
    }

    /// Removes a tunnel with its sessions.
    pub(crate) fn remove_tunnel(&mut self, id: TunnelId) -> Option<TunnelEntry> {
        let t = self.tunnels.remove(&id)?;
        if self.by_name.get(&t.name) == Some(&id) {
            self.by_name.remove(&t.name);
        }
        self.forget_counts(&t);
        Some(t)
    }

    /// Adds a session to a tunnel; `false` if the tunnel is unknown or the ID or name is in
    /// use (nothing changed then).
    pub(crate) fn insert_session(&mut self, t: TunnelId, s: SessionId, e: SessionEntry) -> bool {
        let Some(te) = self.tunnels.get_mut(&t) else {
            return false;
        };
        if te.sessions.contains_key(&s) || te.session_names.contains_key(&e.name) {
            return false;
        }
        if e.up {
            te.sessions_up += 1;
            self.sessions_up += 1;
        }
        te.session_names.insert(e.name.clone(), s);
        te.sessions.insert(s, e);
        self.sessions += 1;
        true
    }

    /// Marks a session established.
    pub(crate) fn set_session_up(&mut self, t: TunnelId, s: SessionId, peer_id: u32) {
        let Some(te) = self.tunnels.get_mut(&t) else {
            return;
        };
        let Some(se) = te.sessions.get_mut(&s) else {
            return;
        };
        se.peer_id = peer_id;
        if !se.up {
            se.up = true;
            te.sessions_up += 1;
            self.sessions_up += 1;
        }
    }

    /// Removes a session.
    pub(crate) fn remove_session(&mut self, t: TunnelId, s: SessionId) -> Option<SessionEntry> {
        let te = self.tunnels.get_mut(&t)?;
        let se = te.sessions.remove(&s)?;
        if te.session_names.get(&se.name) == Some(&s) {
            te.session_names.remove(&se.name);
        }
        if se.up {
            te.sessions_up -= 1;
            self.sessions_up -= 1;
        }
        self.sessions -= 1;
        Some(se)
    }

    /// Recounts everything by scanning (tests only: compares with the kept counters).
    #[cfg(test)]
    pub(crate) fn recount(&self) -> Counts {
        let mut c = Counts {
            tunnels: self.tunnels.len(),
            tunnels_up: 0,
            sessions: 0,
            sessions_up: 0,
        };
        for (_, t) in self.tunnels.iter() {
            c.tunnels_up += usize::from(t.up);
            c.sessions += t.sessions.len();
            c.sessions_up += t.sessions.iter().filter(|(_, s)| s.up).count();
            assert_eq!(t.sessions.len(), t.session_names.len(), "name index");
            for (id, s) in t.sessions.iter() {
                assert_eq!(t.session_names.get(&s.name), Some(id), "name index");
            }
        }
        for (name, id) in self.by_name.iter() {
            assert_eq!(
                self.tunnels.get(id).map(|t| &t.name),
                Some(name),
                "tunnel names"
            );
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::SmallRng, Rng, SeedableRng};

    fn tunnel(name: &str) -> TunnelEntry {
        TunnelEntry::new(name.to_string(), Arc::new(TunnelSection::default()))
    }

    fn session(name: String) -> SessionEntry {
        SessionEntry::new(name, Arc::new(SessionSection::default()))
    }

    /// Random inserts, removals and state changes: the kept counters and name indexes always
    /// equal a recount.
    #[test]
    fn counters_and_indexes_match_a_recount() {
        let mut rng = SmallRng::seed_from_u64(7);
        let mut r = Registry::default();
        for step in 0..20_000u32 {
            let t = TunnelId(rng.gen_range(1..50));
            let s = SessionId(rng.gen_range(1..40));
            match rng.gen_range(0..7) {
                0 => {
                    if !r.contains(t) {
                        r.insert_tunnel(t, tunnel(&format!("t{}", t.0)));
                    }
                }
                1 => {
                    r.remove_tunnel(t);
                }
                2 => r.set_tunnel_up(t, 1),
                3 | 4 => {
                    r.insert_session(t, s, session(format!("s{}", s.0)));
                }
                5 => r.set_session_up(t, s, 9),
                _ => {
                    r.remove_session(t, s);
                }
            }
            if step % 97 == 0 {
                assert_eq!(r.counts(), r.recount(), "step {step}");
            }
        }
        assert_eq!(r.counts(), r.recount());
    }

    /// Lookups by name and bridge partner, and session inserts, state changes and removals,
    /// walk no table whatever its size: a scan put back into any of them would be counted.
    #[test]
    fn lookups_and_updates_walk_no_table() {
        let mut r = Registry::default();
        let s1 = SessionSection {
            bridge: Some(("t1".into(), "s1".into())),
            ..SessionSection::default()
        };
        let mut sec = TunnelSection::default();
        sec.sessions.push(("b".into(), s1.clone()));
        let (tunnels, sessions) = (2_000u32, 50u32);
        for t in 1..=tunnels {
            r.insert_tunnel(TunnelId(t), tunnel(&format!("t{t}")));
            for s in 1..=sessions {
                r.insert_session(TunnelId(t), SessionId(s), session(format!("s{s}")));
            }
        }
        r.note_bridges("t2", &sec);
        let mut b = session("b".into());
        b.section = Arc::new(s1);
        let before = walks();
        r.insert_session(TunnelId(2), SessionId(sessions + 1), b);
        for t in 1..=100 {
            assert_eq!(r.by_name(&format!("t{t}")), Some(TunnelId(t)));
            let id = r.get(TunnelId(t)).and_then(|e| e.session_by_name("s1"));
            assert_eq!(id, Some(SessionId(1)));
            r.set_session_up(TunnelId(t), SessionId(2), 7);
            r.remove_session(TunnelId(t), SessionId(3));
        }
        assert_eq!(
            r.bridge_partner(TunnelId(1), SessionId(1)),
            Some((TunnelId(2), SessionId(sessions + 1)))
        );
        assert_eq!(
            r.bridge_partner(TunnelId(2), SessionId(sessions + 1)),
            Some((TunnelId(1), SessionId(1)))
        );
        assert!(r.is_bridged_by_config(TunnelId(1), SessionId(1)));
        r.release_name(TunnelId(5));
        r.remove_tunnel(TunnelId(6));
        assert_eq!(walks(), before, "a lookup or an update walked a table");
        // The counter does count walks.
        assert_eq!(r.tunnel_ids().len(), tunnels as usize - 1);
        assert!(walks() >= before + u64::from(tunnels) - 1);
    }
}
