//! SIGHUP: re-read the config file and apply the difference to the running tunnels.
//!
//! Tunnels are matched by name, and within a dynamic tunnel, sessions by name:
//! - new in the file → created; gone from the file → closed;
//! - a dynamic tunnel whose own keys are unchanged but whose sessions differ keeps running:
//!   only the sessions that were added, removed or changed are opened / closed (a changed
//!   session is closed and opened again), so the other calls in it stay up;
//! - any other difference → the tunnel is closed and created again. The runtime releases a
//!   closed tunnel's name at once (the old control connection finishes its StopCCN under no
//!   name), so the new one can take it whatever the timing: add / remove / re-add in quick
//!   succession converges to the file.
//! - identical → untouched.
//!
//! Tunnels created through the control socket are in neither file and never touched. A file
//! that does not parse changes nothing. A listening (LNS) tunnel's session templates and
//! `accept_peers` apply at once; other changes to it (address, version, secrets, timers) need
//! a restart and are logged as such.

use std::collections::HashMap;
use std::time::Duration;

use l2tp_runtime::config::{Config, SessionSection, TunnelKind, TunnelSection};
use l2tp_runtime::Context;

/// Session changes in one dynamic tunnel: (tunnel, sessions to close, sessions to open).
pub type SessionChanges = (String, Vec<String>, Vec<(String, SessionSection)>);

/// What a reload will do.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// In the new file only.
    pub create: Vec<(String, TunnelSection)>,
    /// In the old file only.
    pub close: Vec<String>,
    /// In both, different beyond their sessions (closed, then created).
    pub replace: Vec<(String, TunnelSection)>,
    /// In both, only sessions differ: (tunnel, sessions to close, sessions to open).
    pub sessions: Vec<SessionChanges>,
    /// In both, identical.
    pub unchanged: Vec<String>,
    /// Listening tunnels whose templates or `accept_peers` changed (applied live).
    pub listener: Vec<(String, TunnelSection)>,
    /// Listening tunnels that changed otherwise (need a restart).
    pub ignored: Vec<String>,
}

/// `t` without its sessions (and `accept_peers` for a listener), to compare the rest.
fn without_sessions(t: &TunnelSection) -> TunnelSection {
    let mut t = t.clone();
    t.sessions.clear();
    if t.listen {
        t.accept_peers.clear();
    }
    t
}

/// The sessions to close and to open to go from `old` to `new` (matched by name; a changed
/// session is closed and opened again).
fn session_diff(
    old: &TunnelSection,
    new: &TunnelSection,
) -> (Vec<String>, Vec<(String, SessionSection)>) {
    let before: HashMap<&str, &SessionSection> =
        old.sessions.iter().map(|(n, s)| (n.as_str(), s)).collect();
    let after: HashMap<&str, &SessionSection> =
        new.sessions.iter().map(|(n, s)| (n.as_str(), s)).collect();
    let close = old
        .sessions
        .iter()
        .filter(|(n, s)| after.get(n.as_str()) != Some(&s))
        .map(|(n, _)| n.clone())
        .collect();
    let open = new
        .sessions
        .iter()
        .filter(|(n, s)| before.get(n.as_str()) != Some(&s))
        .cloned()
        .collect();
    (close, open)
}

/// Compares the running file's tunnels with the new file's.
pub fn diff(old: &Config, new: &Config) -> Plan {
    let mut plan = Plan::default();
    let new_by_name: HashMap<&str, &TunnelSection> =
        new.tunnels.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let old_by_name: HashMap<&str, &TunnelSection> =
        old.tunnels.iter().map(|(n, t)| (n.as_str(), t)).collect();
    for (name, t) in &old.tunnels {
        match new_by_name.get(name.as_str()) {
            None if t.listen => plan.ignored.push(name.clone()),
            None => plan.close.push(name.clone()),
            Some(n) if *n == t => plan.unchanged.push(name.clone()),
            Some(n) if t.listen && n.listen && without_sessions(n) == without_sessions(t) => {
                plan.listener.push((name.clone(), (*n).clone()))
            }
            Some(_) if t.listen => plan.ignored.push(name.clone()),
            Some(n)
                if t.kind == TunnelKind::Dynamic
                    && !n.listen
                    && without_sessions(n) == without_sessions(t) =>
            {
                let (close, open) = session_diff(t, n);
                plan.sessions.push((name.clone(), close, open));
            }
            Some(n) => plan.replace.push((name.clone(), (*n).clone())),
        }
    }
    for (name, t) in &new.tunnels {
        if !old_by_name.contains_key(name.as_str()) {
            if t.listen {
                plan.ignored.push(name.clone());
            } else {
                plan.create.push((name.clone(), t.clone()));
            }
        }
    }
    plan
}

/// Applies `plan`; returns the config now in force (the new one, minus tunnels that failed to
/// be created, so that the next reload tries them again; plus ignored listening tunnels as
/// they were).
pub async fn apply(
    ctx: &Context,
    old: &Config,
    new: Config,
    plan: Plan,
    _wait: Duration,
) -> Config {
    tracing::info!(
        created = plan.create.len(),
        closed = plan.close.len(),
        replaced = plan.replace.len(),
        sessions_changed = plan.sessions.len(),
        unchanged = plan.unchanged.len(),
        "reloading configuration"
    );
    for name in &plan.ignored {
        tracing::warn!(tunnel = %name, "listening tunnel changed: takes effect after a restart");
    }
    for (name, section) in &plan.listener {
        tracing::info!(tunnel = %name, "reload: listener templates / accept_peers updated");
        if let Err(e) = ctx.create_tunnel(name, section.clone()).await {
            tracing::error!(tunnel = %name, "reload: listener: {e}");
        }
    }
    let mut failed: Vec<String> = Vec::new();
    for name in plan.close.iter().chain(plan.replace.iter().map(|(n, _)| n)) {
        tracing::info!(tunnel = %name, "reload: closing tunnel");
        if let Err(e) = ctx.close_tunnel(name).await {
            tracing::warn!(tunnel = %name, "reload: close: {e}");
        }
    }
    for (tunnel, close, open) in &plan.sessions {
        for s in close {
            tracing::info!(tunnel = %tunnel, session = %s, "reload: closing session");
            if let Err(e) = ctx.close_session(tunnel, s).await {
                tracing::warn!(tunnel = %tunnel, session = %s, "reload: close session: {e}");
            }
        }
        for (s, section) in open {
            tracing::info!(tunnel = %tunnel, session = %s, "reload: opening session");
            if let Err(e) = ctx.create_session(tunnel, s, section.clone()).await {
                tracing::error!(tunnel = %tunnel, session = %s, "reload: open session: {e}");
            }
        }
    }
    for (name, section) in plan.replace.iter().chain(plan.create.iter()) {
        tracing::info!(tunnel = %name, "reload: creating tunnel");
        if let Err(e) = ctx.create_tunnel(name, section.clone()).await {
            tracing::error!(tunnel = %name, "reload: create: {e}");
            failed.push(name.clone());
        }
    }
    let mut now = new;
    now.tunnels
        .retain(|(n, t)| !failed.contains(n) && !t.listen);
    let live: Vec<&String> = plan.listener.iter().map(|(n, _)| n).collect();
    for (n, t) in &old.tunnels {
        if t.listen && !live.contains(&n) {
            now.tunnels.push((n.clone(), t.clone()));
        }
    }
    for (n, t) in &plan.listener {
        now.tunnels.push((n.clone(), t.clone()));
    }
    now
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> Config {
        Config::parse(text, "test").unwrap()
    }

    #[test]
    fn diff_sorts_tunnels_into_create_close_replace_unchanged() {
        let old = cfg(r#"
            [tunnel.a]
            peer = "127.0.0.1:1701"
            [tunnel.b]
            peer = "127.0.0.1:1702"
            [tunnel.c]
            peer = "127.0.0.1:1703"
            "#);
        let new = cfg(r#"
            [tunnel.a]
            peer = "127.0.0.1:1701"
            [tunnel.c]
            peer = "127.0.0.1:1703"
            [tunnel.c.session.s]
            pseudowire = "ppp"
            [tunnel.d]
            peer = "127.0.0.1:1704"
            "#);
        let p = diff(&old, &new);
        assert_eq!(p.unchanged, ["a"]);
        assert_eq!(p.close, ["b"]);
        assert!(
            p.replace.is_empty(),
            "c keeps running: only a session was added"
        );
        assert_eq!(p.sessions.len(), 1);
        assert_eq!(p.sessions[0].0, "c");
        assert_eq!(
            p.create.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["d"]
        );
        assert!(p.ignored.is_empty());
    }

    #[test]
    fn a_session_change_touches_only_that_session() {
        let old = cfg(r#"
            [tunnel.t]
            peer = "127.0.0.1:1701"
            [tunnel.t.session.a]
            pseudowire = "ppp"
            [tunnel.t.session.b]
            pseudowire = "ppp"
            [tunnel.t.session.c]
            pseudowire = "ppp"
            "#);
        let new = cfg(r#"
            [tunnel.t]
            peer = "127.0.0.1:1701"
            [tunnel.t.session.a]
            pseudowire = "ppp"
            [tunnel.t.session.c]
            pseudowire = "ppp"
            seqnum = true
            [tunnel.t.session.d]
            pseudowire = "ppp"
            "#);
        let p = diff(&old, &new);
        assert!(p.replace.is_empty() && p.close.is_empty() && p.create.is_empty());
        assert_eq!(p.sessions.len(), 1);
        let (t, close, open) = &p.sessions[0];
        assert_eq!(t, "t");
        assert_eq!(close, &["b", "c"]);
        assert_eq!(
            open.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["c", "d"]
        );
    }

    #[test]
    fn listener_templates_and_accept_peers_apply_live() {
        let old = cfg(r#"
            [tunnel.lns]
            listen = true
            local = "127.0.0.1:1701"
            "#);
        let new = cfg(r#"
            [tunnel.lns]
            listen = true
            local = "127.0.0.1:1701"
            accept_peers = ["127.0.0.2"]
            [tunnel.lns.session.t]
            pseudowire = "ppp"
            "#);
        let p = diff(&old, &new);
        assert_eq!(p.listener.len(), 1);
        assert!(p.ignored.is_empty());
    }

    #[test]
    fn listening_tunnel_changes_are_ignored() {
        let old = cfg(r#"
            [tunnel.lns]
            listen = true
            local = "127.0.0.1:1701"
            "#);
        let new = cfg(r#"
            [tunnel.lns]
            listen = true
            local = "127.0.0.1:1702"
            "#);
        let p = diff(&old, &new);
        assert_eq!(p.ignored, ["lns"], "a new address needs a restart");
        assert!(p.replace.is_empty() && p.create.is_empty() && p.close.is_empty());
    }
}
