//! `show`, `stats`, `create`, `delete`, `monitor`: requests to l2tpd and how replies print.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};

use crate::client::{parse_assignments, Client};

/// Which table `show` prints.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum ShowWhat {
    /// One line per tunnel.
    Tunnels,
    /// One line per session.
    Sessions,
}

/// Lays out rows under a header with columns padded to the widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            width[i] = width[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: Vec<&str>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                let _ = write!(l, "{c:<w$}  ", w = width[i]);
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut out, header.to_vec());
    for r in rows {
        line(&mut out, r.iter().map(String::as_str).collect());
    }
    out
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// The tunnels table for a `show` result.
pub fn tunnels_table(status: &[Value]) -> String {
    let rows: Vec<Vec<String>> = status
        .iter()
        .map(|t| {
            vec![
                s(&t["name"]),
                s(&t["id"]),
                s(&t["peer_tunnel_id"]),
                s(&t["state"]),
                s(&t["peer"]),
                s(&t["version"]),
                s(&t["encap"]),
                t["sessions"].as_array().map_or(0, Vec::len).to_string(),
            ]
        })
        .collect();
    table(
        &[
            "NAME", "ID", "PEER-ID", "STATE", "PEER", "VERSION", "ENCAP", "SESSIONS",
        ],
        &rows,
    )
}

/// The sessions table for a `show` result.
pub fn sessions_table(status: &[Value]) -> String {
    let mut rows = Vec::new();
    for t in status {
        for x in t["sessions"].as_array().into_iter().flatten() {
            let (rx, tx) = match x.get("stats").filter(|v| v.is_object()) {
                Some(st) => (s(&st["rx_packets"]), s(&st["tx_packets"])),
                None => ("-".into(), "-".into()),
            };
            rows.push(vec![
                s(&t["name"]),
                s(&x["name"]),
                s(&x["id"]),
                s(&x["peer_id"]),
                s(&x["state"]),
                s(&x["pseudowire"]),
                s(&x["interface"]),
                rx,
                tx,
            ]);
        }
    }
    table(
        &[
            "TUNNEL", "SESSION", "ID", "PEER-ID", "STATE", "PW", "IFACE", "RX-PKTS", "TX-PKTS",
        ],
        &rows,
    )
}

/// The sessions of a `show` result as a flat JSON array (each with its `tunnel`).
pub fn sessions_json(status: &[Value]) -> Value {
    let mut out = Vec::new();
    for t in status {
        for x in t["sessions"].as_array().into_iter().flatten() {
            let mut x = x.clone();
            if let Some(m) = x.as_object_mut() {
                m.insert("tunnel".into(), t["name"].clone());
            }
            out.push(x);
        }
    }
    Value::Array(out)
}

/// `stats` for people.
pub fn stats_text(st: &Value) -> String {
    let e = &st["endpoint"];
    let rows: Vec<(&str, String)> = vec![
        (
            "tunnels",
            format!(
                "{} ({} established)",
                s(&st["tunnels"]),
                s(&st["tunnels_up"])
            ),
        ),
        (
            "sessions",
            format!(
                "{} ({} established)",
                s(&st["sessions"]),
                s(&st["sessions_up"])
            ),
        ),
        ("control messages rx", s(&e["control_rx"])),
        ("control messages tx", s(&e["control_tx"])),
        ("retransmits", s(&e["retransmits"])),
        ("ZLB acks sent", s(&e["zlb_tx"])),
        ("duplicates", s(&e["duplicates"])),
        ("malformed", s(&e["malformed"])),
        ("unknown tunnel", s(&e["unknown_tunnel"])),
        ("tunnels accepted", s(&e["tunnels_accepted"])),
        ("send errors", s(&st["send_errors"])),
        ("data plane errors", s(&st["dataplane_errors"])),
    ];
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(k, v)| format!("{k:<w$}  {v}\n"))
        .collect()
}

/// One event line for people: `HH:MM:SS.mmm EVENT TUNNEL[/SESSION] key=value…`.
pub fn event_text(ev: &Value) -> String {
    let ts = ev["ts"].as_f64().unwrap_or(0.0);
    let day_ms = ((ts * 1000.0) as u64) % 86_400_000;
    let mut out = format!(
        "{:02}:{:02}:{:02}.{:03} {}",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1000 % 60,
        day_ms % 1000,
        s(&ev["event"])
    );
    if let Some(t) = ev.get("tunnel") {
        out.push(' ');
        out.push_str(&s(t));
        if let Some(x) = ev.get("session") {
            out.push('/');
            out.push_str(&s(x));
        }
    }
    if let Some(m) = ev.as_object() {
        for (k, v) in m {
            if !["ts", "event", "tunnel", "session"].contains(&k.as_str()) {
                let _ = write!(out, " {k}={}", s(v));
            }
        }
    }
    out
}

fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// `show`.
pub fn show(path: &Path, what: Option<ShowWhat>, json: bool) -> Result<(), String> {
    let result = Client::connect(path)?.call(&json!({"cmd": "show"}))?;
    let status = result.as_array().cloned().unwrap_or_default();
    let text = match (what, json) {
        (Some(ShowWhat::Sessions), true) => format!("{}\n", sessions_json(&status)),
        (_, true) => format!("{result}\n"),
        (Some(ShowWhat::Tunnels), false) => tunnels_table(&status),
        (Some(ShowWhat::Sessions), false) => sessions_table(&status),
        (None, false) => format!("{}\n{}", tunnels_table(&status), sessions_table(&status)),
    };
    print(&text);
    Ok(())
}

/// `stats`.
pub fn stats(path: &Path, json: bool) -> Result<(), String> {
    let result = Client::connect(path)?.call(&json!({"cmd": "stats"}))?;
    print(&if json {
        format!("{result}\n")
    } else {
        stats_text(&result)
    });
    Ok(())
}

/// `create tunnel NAME k=v…`.
pub fn create_tunnel(path: &Path, name: &str, assignments: &[String]) -> Result<(), String> {
    let config = parse_assignments(assignments)?;
    let r = Client::connect(path)?.call(&json!({
        "cmd": "create_tunnel", "name": name, "config": config,
    }))?;
    print(&format!(
        "tunnel {name} created (id {})\n",
        s(&r["tunnel_id"])
    ));
    Ok(())
}

/// `create session TUNNEL NAME k=v…`.
pub fn create_session(
    path: &Path,
    tunnel: &str,
    name: &str,
    assignments: &[String],
) -> Result<(), String> {
    let config = parse_assignments(assignments)?;
    let r = Client::connect(path)?.call(&json!({
        "cmd": "create_session", "tunnel": tunnel, "name": name, "config": config,
    }))?;
    print(&format!(
        "session {tunnel}/{name} created (id {})\n",
        s(&r["session_id"])
    ));
    Ok(())
}

/// `delete tunnel NAME`.
pub fn delete_tunnel(path: &Path, name: &str) -> Result<(), String> {
    Client::connect(path)?.call(&json!({"cmd": "delete_tunnel", "name": name}))?;
    print(&format!("tunnel {name} closing\n"));
    Ok(())
}

/// `delete session TUNNEL NAME`.
pub fn delete_session(path: &Path, tunnel: &str, name: &str) -> Result<(), String> {
    Client::connect(path)?.call(&json!({
        "cmd": "delete_session", "tunnel": tunnel, "name": name,
    }))?;
    print(&format!("session {tunnel}/{name} closing\n"));
    Ok(())
}

/// `monitor`: follows events until l2tpd goes away (or the reader of stdout does).
pub fn monitor(path: &Path, json: bool) -> Result<(), String> {
    let mut c = Client::connect(path)?;
    c.monitor()?;
    while let Some(line) = c.next_line()? {
        let text = if json {
            line
        } else {
            match serde_json::from_str::<Value>(&line) {
                Ok(v) => event_text(&v),
                Err(_) => line,
            }
        };
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
            return Ok(());
        }
    }
    Err("l2tpd closed the connection".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status() -> Vec<Value> {
        serde_json::from_value(json!([{
            "name": "lac", "id": 17, "kind": "dynamic", "state": "established",
            "version": "l2tpv2", "encap": "udp", "local": "127.0.0.1:40000",
            "peer": "127.0.0.1:1701", "peer_tunnel_id": 4242, "peer_host_name": "lns",
            "control_rx": 3, "control_tx": 4, "retransmits": 0,
            "sessions": [{"name": "s1", "id": 5, "peer_id": 9, "pseudowire": "ppp",
                "state": "established", "interface": null,
                "stats": {"rx_packets": 12, "tx_packets": 34}}]
        }]))
        .unwrap()
    }

    #[test]
    fn tunnels_table_aligns_columns() {
        assert_eq!(
            tunnels_table(&status()),
            "NAME  ID  PEER-ID  STATE        PEER            VERSION  ENCAP  SESSIONS\n\
             lac   17  4242     established  127.0.0.1:1701  l2tpv2   udp    1\n"
        );
    }

    #[test]
    fn sessions_table_shows_counters() {
        assert_eq!(
            sessions_table(&status()),
            "TUNNEL  SESSION  ID  PEER-ID  STATE        PW   IFACE  RX-PKTS  TX-PKTS\n\
             lac     s1       5   9        established  ppp  -      12       34\n"
        );
        assert_eq!(sessions_json(&status())[0]["tunnel"], "lac");
    }

    #[test]
    fn events_print_on_one_line() {
        let ev = json!({"ts": 3723.5, "event": "session_up", "tunnel": "lac", "session": "s1",
            "session_id": 5});
        assert_eq!(
            event_text(&ev),
            "01:02:03.500 session_up lac/s1 session_id=5"
        );
    }
}
