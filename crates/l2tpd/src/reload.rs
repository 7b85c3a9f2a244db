//! SIGHUP: re-read the config file and apply the difference to the running tunnels.
//!
//! Tunnels are matched by name. New in the file → created; gone from the file → closed;
//! present in both but with any key different (sessions included) → closed, then created once
//! the old one is gone; identical → untouched. Tunnels created through the control socket are
//! not in either file and are never touched. A file that does not parse changes nothing.
//!
//! The listening (LNS) tunnel is the exception: the runtime keeps listening until restart, so a
//! change to it is logged and otherwise ignored.

use std::time::{Duration, Instant};

use l2tp_runtime::config::{Config, TunnelSection};
use l2tp_runtime::Context;

/// What a reload will do.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// In the new file only.
    pub create: Vec<(String, TunnelSection)>,
    /// In the old file only.
    pub close: Vec<String>,
    /// In both, different.
    pub replace: Vec<(String, TunnelSection)>,
    /// In both, identical.
    pub unchanged: Vec<String>,
    /// Listening tunnels that changed (need a restart).
    pub ignored: Vec<String>,
}

/// Compares the running file's tunnels with the new file's.
pub fn diff(old: &Config, new: &Config) -> Plan {
    let mut plan = Plan::default();
    for (name, t) in &old.tunnels {
        match new.tunnel(name) {
            None if t.listen => plan.ignored.push(name.clone()),
            None => plan.close.push(name.clone()),
            Some(n) if n == t => plan.unchanged.push(name.clone()),
            Some(_) if t.listen => plan.ignored.push(name.clone()),
            Some(n) => plan.replace.push((name.clone(), n.clone())),
        }
    }
    for (name, t) in &new.tunnels {
        if old.tunnel(name).is_none() {
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
pub async fn apply(ctx: &Context, old: &Config, new: Config, plan: Plan, wait: Duration) -> Config {
    tracing::info!(
        created = plan.create.len(),
        closed = plan.close.len(),
        replaced = plan.replace.len(),
        unchanged = plan.unchanged.len(),
        "reloading configuration"
    );
    for name in &plan.ignored {
        tracing::warn!(tunnel = %name, "listening tunnel changed: takes effect after a restart");
    }
    let mut failed: Vec<String> = Vec::new();
    for name in plan.close.iter().chain(plan.replace.iter().map(|(n, _)| n)) {
        tracing::info!(tunnel = %name, "reload: closing tunnel");
        if let Err(e) = ctx.close_tunnel(name).await {
            tracing::warn!(tunnel = %name, "reload: close: {e}");
        }
    }
    // A replaced tunnel keeps its name until the peer acknowledged StopCCN.
    let deadline = Instant::now() + wait;
    for (name, _) in &plan.replace {
        while Instant::now() < deadline {
            match ctx.status().await {
                Ok(s) if s.iter().any(|t| &t.name == name) => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                _ => break,
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
    for (n, t) in &old.tunnels {
        if t.listen {
            now.tunnels.push((n.clone(), t.clone()));
        }
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
        assert_eq!(
            p.replace
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>(),
            ["c"]
        );
        assert_eq!(
            p.create.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["d"]
        );
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
        assert_eq!(p.ignored, ["lns"]);
        assert!(p.replace.is_empty() && p.create.is_empty() && p.close.is_empty());
    }
}
