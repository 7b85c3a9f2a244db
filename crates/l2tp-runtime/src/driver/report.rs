//! Status snapshots and counters. `stats()` is O(1): the registry keeps its counters. A
//! status snapshot lists every tunnel and session (O(n) by nature), the listener, and the
//! tunnels and sessions that went down recently with why ([`History`], bounded); its data
//! counters come from the data plane in one request (one `SESSION_GET` dump for the
//! kernel), answered off the driver's loop.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use l2tp_proto::endpoint::{DownReason, Event, SessionId, TunnelId};
use l2tp_proto::wire::ResultCode;

use super::plane::Job;
use super::registry::{SessionEntry, TunnelEntry};
use super::{Driver, RuntimeEvent};
use crate::dataplane::SessionStats;
use crate::status::{RuntimeStats, SessionStatus, TunnelStatus};

/// Objects that went down recently, so that `show` can tell what happened to them: at most
/// [`History::CAP`] entries, none older than [`History::KEEP`].
#[derive(Debug, Default)]
pub(crate) struct History {
    pub(super) entries: VecDeque<(Instant, Downed)>,
}

#[derive(Debug)]
pub(super) enum Downed {
    Tunnel(TunnelStatus),
    Session {
        tunnel: String,
        status: SessionStatus,
    },
}

impl History {
    /// Entries kept.
    pub(crate) const CAP: usize = 256;
    /// How long an entry is kept.
    pub(crate) const KEEP: Duration = Duration::from_secs(300);

    fn push(&mut self, now: Instant, d: Downed) {
        if self.entries.len() == Self::CAP {
            self.entries.pop_front();
        }
        self.entries.push_back((now, d));
    }

    pub(crate) fn tunnel(&mut self, now: Instant, mut t: TunnelStatus, why: String) {
        t.state = "down".to_string();
        t.last_error = Some(why);
        self.push(now, Downed::Tunnel(t));
    }

    pub(crate) fn session(
        &mut self,
        now: Instant,
        tunnel: &str,
        mut s: SessionStatus,
        why: String,
    ) {
        s.state = "down".to_string();
        s.last_error = Some(why);
        self.push(
            now,
            Downed::Session {
                tunnel: tunnel.to_string(),
                status: s,
            },
        );
    }

    pub(super) fn expire(&mut self, now: Instant) {
        while self
            .entries
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) > Self::KEEP)
        {
            self.entries.pop_front();
        }
    }
}

/// A status snapshot waiting for the data plane's counters.
pub(crate) struct PendingStatus {
    tunnels: Vec<TunnelStatus>,
    stats: Option<oneshot::Receiver<HashMap<(u32, u32), SessionStats>>>,
}

impl PendingStatus {
    /// The snapshot with counters filled in, tunnels and sessions in name order.
    pub(crate) async fn finish(mut self) -> Vec<TunnelStatus> {
        let stats = match self.stats.take() {
            Some(rx) => rx.await.unwrap_or_default(),
            None => HashMap::new(),
        };
        for t in &mut self.tunnels {
            for s in &mut t.sessions {
                if s.stats.is_some() {
                    s.stats = stats.get(&(t.id, s.id)).copied();
                }
            }
            t.sessions.sort_by(|a, b| a.name.cmp(&b.name));
        }
        self.tunnels.sort_by(|a, b| a.name.cmp(&b.name));
        self.tunnels
    }
}

impl Driver {
    /// Logs an event (tunnel-level at info, session-level at debug: counters carry the
    /// volume) and queues it for subscribers.
    pub(super) fn report(
        &mut self,
        tunnel_name: String,
        session_name: Option<String>,
        interface_name: Option<String>,
        event: Event,
    ) {
        log_event(&tunnel_name, session_name.as_deref(), &event);
        self.events.push(RuntimeEvent {
            tunnel_name,
            session_name,
            interface_name,
            event,
            username: None,
            address: None,
        });
    }

    /// Counters of the whole runtime (O(1)).
    pub fn runtime_stats(&self) -> RuntimeStats {
        let c = self.registry.counts();
        RuntimeStats {
            tunnels: c.tunnels,
            tunnels_up: c.tunnels_up,
            sessions: c.sessions,
            sessions_up: c.sessions_up,
            send_errors: self.send_errors,
            dataplane_errors: self.dataplane_errors,
            endpoint: crate::status::EndpointCounters {
                engine: self.endpoint.stats(),
                refused_peers: self.refused_peers,
            },
            ppp_auth_failures: self.ppp_auth_failures,
        }
    }

    /// A snapshot of every tunnel and session, in name order.
    pub async fn status(&mut self) -> Vec<TunnelStatus> {
        self.status_request().finish().await
    }

    /// Builds the snapshot and asks the data plane for the counters of every session it
    /// holds (one request).
    pub(crate) fn status_request(&mut self) -> PendingStatus {
        let mut keys = Vec::new();
        let mut out = Vec::with_capacity(self.registry.counts().tunnels);
        let now = Instant::now();
        self.history.expire(now);
        let mut downed_sessions: HashMap<&str, Vec<SessionStatus>> = HashMap::new();
        let mut downed_tunnels = Vec::new();
        for (at, d) in &self.history.entries {
            match d {
                Downed::Session { tunnel, status } => downed_sessions
                    .entry(tunnel.as_str())
                    .or_default()
                    .push(status.clone()),
                Downed::Tunnel(t) => {
                    let mut t = t.clone();
                    t.down_for = Some(now.saturating_duration_since(*at).as_secs());
                    downed_tunnels.push(t);
                }
            }
        }
        for (id, t) in self.registry.tunnels() {
            let mut line = self.tunnel_line(*id, t);
            line.sessions = t
                .sessions()
                .map(|(sid, s)| {
                    let s = session_line(*sid, s);
                    if s.stats.is_some() {
                        keys.push((id.0, s.id));
                    }
                    s
                })
                .collect();
            if let Some(d) = downed_sessions.remove(t.name.as_str()) {
                line.sessions.extend(d);
            }
            out.push(line);
        }
        for mut t in downed_tunnels {
            if let Some(d) = downed_sessions.remove(t.name.as_str()) {
                t.sessions.extend(d);
            }
            out.push(t);
        }
        out.extend(self.listener_line());
        self.pending_status(out, keys)
    }

    /// `tunnels`, waiting for the data plane's counters of the sessions `keys` (one request).
    pub(super) fn pending_status(
        &mut self,
        tunnels: Vec<TunnelStatus>,
        keys: Vec<(u32, u32)>,
    ) -> PendingStatus {
        let stats = (!keys.is_empty()).then(|| {
            let (tx, rx) = oneshot::channel();
            self.plane.submit(Job::Stats(keys, tx));
            rx
        });
        PendingStatus { tunnels, stats }
    }
}

impl Driver {
    /// The status line of a live tunnel, without its sessions.
    pub(super) fn tunnel_line(&self, id: TunnelId, t: &TunnelEntry) -> TunnelStatus {
        let info = self.endpoint.tunnel_info(id);
        let local = t
            .socket
            .and_then(|i| self.sockets.get(i))
            .map(|s| s.local)
            .or(t.section.local);
        TunnelStatus {
            name: t.name.clone(),
            id: id.0,
            kind: format!("{:?}", t.section.kind).to_lowercase(),
            state: match &info {
                Some(i) => format!("{:?}", i.state).to_lowercase(),
                None if t.up => "established".to_string(),
                None => "closed".to_string(),
            },
            version: version_name(t.version).to_string(),
            encap: encap_name(t.section.encap).to_string(),
            local: local.map(|a| a.to_string()),
            peer: info
                .as_ref()
                .map(|i| i.peer.to_string())
                .or(t.peer.map(|p| p.to_string())),
            peer_tunnel_id: t.peer_tunnel_id,
            peer_host_name: info
                .as_ref()
                .map(|i| String::from_utf8_lossy(&i.peer_host_name).into_owned()),
            control_rx: info.as_ref().map_or(0, |i| i.transport.rx),
            control_tx: info.as_ref().map_or(0, |i| i.transport.tx),
            retransmits: info.as_ref().map_or(0, |i| i.transport.retransmits),
            sessions: Vec::new(),
            last_error: None,
            down_for: None,
        }
    }

    /// The listener's status line, when there is one.
    pub(super) fn listener_line(&self) -> Option<TunnelStatus> {
        let l = self.listener.as_ref()?;
        Some(TunnelStatus {
            name: l.name.clone(),
            id: 0,
            kind: "listener".to_string(),
            state: "listening".to_string(),
            version: version_name(l.section.version).to_string(),
            encap: encap_name(l.section.encap).to_string(),
            local: Some(l.local.to_string()),
            ..TunnelStatus::default()
        })
    }
}

/// The status line of a live session; `stats` is `Some` (zeros, to be filled from the data
/// plane) when its data plane object exists.
pub(super) fn session_line(id: SessionId, s: &SessionEntry) -> SessionStatus {
    let ready = s.dp.ready();
    SessionStatus {
        name: s.name.clone(),
        id: id.0,
        peer_id: s.peer_id,
        pseudowire: s.section.pseudowire.to_string(),
        state: if s.up { "established" } else { "establishing" }.to_string(),
        interface: ready.and_then(|d| d.interface_name.clone()),
        stats: ready.map(|_| SessionStats::default()),
        last_error: None,
        username: s.username.clone(),
        address: s.address,
        class: s.class.clone(),
        ppp: s.ppp.map(|p| p.status()),
    }
}

fn version_name(v: l2tp_proto::wire::Version) -> &'static str {
    match v {
        l2tp_proto::wire::Version::V2 => "l2tpv2",
        l2tp_proto::wire::Version::V3 => "l2tpv3",
    }
}

fn encap_name(e: l2tp_proto::wire::Encap) -> &'static str {
    match e {
        l2tp_proto::wire::Encap::Udp => "udp",
        l2tp_proto::wire::Encap::Ip => "ip",
    }
}

/// The status line of a tunnel that is going away (history), from what the runtime knows.
pub(super) fn brief_tunnel(id: TunnelId, t: &TunnelEntry) -> TunnelStatus {
    TunnelStatus {
        name: t.name.clone(),
        id: id.0,
        kind: format!("{:?}", t.section.kind).to_lowercase(),
        state: "down".to_string(),
        version: version_name(t.version).to_string(),
        encap: encap_name(t.section.encap).to_string(),
        local: t.section.local.map(|a| a.to_string()),
        peer: t.peer.map(|p| p.to_string()),
        peer_tunnel_id: t.peer_tunnel_id,
        ..TunnelStatus::default()
    }
}

/// The status line of a session that is going away (history).
pub(super) fn brief_session(id: SessionId, s: &SessionEntry) -> SessionStatus {
    SessionStatus {
        name: s.name.clone(),
        id: id.0,
        peer_id: s.peer_id,
        pseudowire: s.section.pseudowire.to_string(),
        state: "down".to_string(),
        interface: s.dp.ready().and_then(|d| d.interface_name.clone()),
        stats: None,
        last_error: None,
        username: s.username.clone(),
        address: s.address,
        class: s.class.clone(),
        ppp: s.ppp.map(|p| p.status()),
    }
}

fn log_event(tunnel: &str, session: Option<&str>, ev: &Event) {
    match ev {
        Event::WanError { errors, .. } => {
            tracing::warn!(tunnel, session, ?errors, "WAN error notify from the peer")
        }
        Event::LinkInfo {
            accm,
            circuit_status,
            ..
        } => tracing::debug!(
            tunnel,
            session,
            ?accm,
            ?circuit_status,
            "set link info from the peer"
        ),
        Event::TunnelUp {
            tunnel: id,
            peer_tunnel_id,
            peer,
            ..
        } => tracing::info!(tunnel, id = id.0, peer_tunnel_id, %peer, "tunnel up"),
        Event::TunnelDown { reason, .. } => {
            tracing::info!(tunnel, reason = %describe_down(reason, true), "tunnel down")
        }
        Event::SessionUp {
            session: id,
            peer_session_id,
            ..
        } => tracing::debug!(tunnel, session, id = id.0, peer_session_id, "session up"),
        Event::SessionDown { reason, .. } => {
            tracing::debug!(tunnel, session, reason = %describe_down(reason, false), "session down")
        }
    }
}

/// One-line text for a [`DownReason`], e.g. `peer: result 1 error 0 "Server closing"`.
pub fn describe_reason(reason: &DownReason) -> String {
    describe(reason, None)
}

/// Like [`describe_reason`], with the result code's name, e.g. `peer: result 6 (requester is
/// being shut down), error 0 (no error), "Server closing"`; `stopccn` says which table the
/// result code is from (StopCCN or CDN).
pub fn describe_down(reason: &DownReason, stopccn: bool) -> String {
    describe(reason, Some(stopccn))
}

fn describe(reason: &DownReason, table: Option<bool>) -> String {
    use l2tp_proto::wire::{error_code, result};
    let rc = |r: &ResultCode| {
        let mut s = format!("result {}", r.result);
        match table {
            Some(true) => s.push_str(&format!(" ({})", result::stopccn_name(r.result))),
            Some(false) => s.push_str(&format!(" ({})", result::cdn_name(r.result))),
            None => {}
        }
        if let Some(e) = r.error {
            match table {
                Some(_) => s.push_str(&format!(", error {e} ({})", error_code::name(e))),
                None => s.push_str(&format!(" error {e}")),
            }
        }
        if let Some(m) = &r.message {
            let sep = if table.is_some() { "," } else { "" };
            s.push_str(&format!("{sep} {:?}", String::from_utf8_lossy(m)));
        }
        s
    };
    match reason {
        DownReason::Local(r) => format!("local: {}", rc(r)),
        DownReason::Peer(r) => format!("peer: {}", rc(r)),
        DownReason::Protocol(r) => format!("protocol: {}", rc(r)),
        DownReason::Timeout => "timeout".to_string(),
        DownReason::TunnelDown => "tunnel down".to_string(),
    }
}
