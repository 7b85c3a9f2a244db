//! `show`, `stats`, `create`, `delete`, `monitor`: requests to l2tpd (here) and how replies
//! print ([`render`]: tables, filters, stats and event lines).

use std::fmt::Write as _;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use l2tp_proto::wire::{error_code, result};
use l2tp_runtime::control::{
    find_session, find_tunnel, CreateSession, CreateTunnel, DeleteSession, DeleteTunnel, Event,
    EventKind, Show, ShowPppoe, Stats, StatsReply,
};
use l2tp_runtime::status::{SessionStatus, TunnelStatus};
use serde::Serialize;

use crate::client::{parse_assignments, Client};

mod render;
pub use render::*;

fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// `show`. A named tunnel (and session) is asked of the daemon alone, not picked out of a
/// snapshot of everything.
pub fn show(path: &Path, what: &ShowWhat, filter: &Filter, json: bool) -> Result<(), String> {
    let scope = match what {
        ShowWhat::Tunnels(Some(t)) => scoped(t, None),
        ShowWhat::Sessions(Some(t), s) => scoped(t, s.as_deref()),
        _ => Show::default(),
    };
    let status = show_call(&mut Client::connect(path)?, scope)?;
    print(&show_text(&status, what, filter, json)?);
    Ok(())
}

/// A `show` request for one tunnel (and maybe one of its sessions).
fn scoped(tunnel: &str, session: Option<&str>) -> Show {
    Show {
        tunnel: Some(tunnel.to_string()),
        session: session.map(str::to_string),
    }
}

/// Calls `show`; a daemon too old to know a scoped one is asked for everything.
fn show_call(client: &mut Client, scope: Show) -> Result<Vec<TunnelStatus>, String> {
    let scoped = scope.tunnel.is_some();
    match client.call(scope) {
        Err(e) if scoped && e.contains("unknown field") => client.call(Show::default()),
        r => r,
    }
}

/// `show pppoe`.
pub fn show_pppoe(path: &Path, json: bool) -> Result<(), String> {
    let result = Client::connect(path)?.call(ShowPppoe {})?;
    print(&if json {
        format!("{}\n", serde_json::to_string(&result).unwrap_or_default())
    } else {
        pppoe_text(&result)
    });
    Ok(())
}

/// `stats`.
pub fn stats(path: &Path, json: bool) -> Result<(), String> {
    let result = Client::connect(path)?.call(Stats {})?;
    print(&if json {
        format!("{}\n", serde_json::to_string(&result).unwrap_or_default())
    } else {
        stats_text(&result)
    });
    Ok(())
}

/// Whether and how long `create` waits for the outcome.
#[derive(Clone, Copy, Debug)]
pub struct Wait {
    /// Return once the daemon accepted the request.
    pub no_wait: bool,
    /// Give up after this long.
    pub timeout: Duration,
}

/// How often `create` polls.
const POLL: Duration = Duration::from_millis(200);

/// Where a created object stands in a snapshot.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Not there yet, in this state.
    Pending(String),
    /// Established (the line to print).
    Up(String),
    /// Went down or vanished (the error to print).
    Failed(String),
}

/// The outcome of `create tunnel NAME` (its ID `id`, with the sessions it was created with).
pub fn tunnel_outcome(
    status: &[TunnelStatus],
    name: &str,
    id: u32,
    sessions: &[String],
) -> Outcome {
    let found = status
        .iter()
        .filter(|t| t.name == name && t.id == id)
        .min_by_key(|t| t.state == "down");
    let Some(t) = found else {
        return Outcome::Failed(format!("tunnel {name} is gone"));
    };
    if t.state == "down" {
        return Outcome::Failed(format!(
            "tunnel {name} went down: {}",
            t.last_error.as_deref().unwrap_or("no reason recorded")
        ));
    }
    if t.state != "established" && t.state != "listening" {
        return Outcome::Pending(format!("tunnel {name} is {}", t.state));
    }
    for s in sessions {
        match find_session(t, s) {
            None => return Outcome::Pending(format!("session {name}/{s} is not there yet")),
            Some(x) if x.state == "down" => {
                return Outcome::Failed(format!(
                    "session {name}/{s} went down: {}",
                    x.last_error.as_deref().unwrap_or("no reason recorded")
                ))
            }
            Some(x) if x.state != "established" => {
                return Outcome::Pending(format!("session {name}/{s} is {}", x.state))
            }
            Some(_) => {}
        }
    }
    let mut line = format!("tunnel {name} {}", t.state);
    if let Some(p) = &t.peer {
        let _ = write!(line, " (peer {p}, peer tunnel id {})", t.peer_tunnel_id);
    }
    if !sessions.is_empty() {
        let _ = write!(line, ", {} session(s) established", sessions.len());
    }
    Outcome::Up(line)
}

/// The outcome of `create session TUNNEL NAME` (its ID `id`).
pub fn session_outcome(status: &[TunnelStatus], tunnel: &str, name: &str, id: u32) -> Outcome {
    let Some(t) = find_tunnel(status, tunnel) else {
        return Outcome::Failed(format!("tunnel {tunnel} is gone"));
    };
    let found = t
        .sessions
        .iter()
        .filter(|s| s.name == name && s.id == id)
        .min_by_key(|s| s.state == "down");
    match found {
        None if t.state == "down" => Outcome::Failed(format!(
            "tunnel {} went down: {}",
            t.name,
            t.last_error.as_deref().unwrap_or("no reason recorded")
        )),
        None => Outcome::Failed(format!("session {}/{name} is gone", t.name)),
        Some(s) if s.state == "down" => {
            let mut msg = format!(
                "session {}/{name} went down: {}",
                t.name,
                s.last_error.as_deref().unwrap_or("no reason recorded")
            );
            if t.state == "down" {
                let _ = write!(
                    msg,
                    "; tunnel {}: {}",
                    t.name,
                    t.last_error.as_deref().unwrap_or("no reason recorded")
                );
            }
            Outcome::Failed(msg)
        }
        Some(s) if s.state == "established" => Outcome::Up(format!(
            "session {}/{name} established (peer session id {})",
            t.name, s.peer_id
        )),
        Some(s) => Outcome::Pending(format!("session {}/{name} is {}", t.name, s.state)),
    }
}

/// Polls `show` on `client` until `outcome` is no longer pending, or the timeout.
fn wait_for(
    client: &mut Client,
    scope: Show,
    wait: Wait,
    outcome: impl Fn(&[TunnelStatus]) -> Outcome,
) -> Result<(), String> {
    let deadline = Instant::now() + wait.timeout;
    loop {
        let status = show_call(client, scope.clone())?;
        match outcome(&status) {
            Outcome::Up(line) => {
                print(&format!("{line}\n"));
                return Ok(());
            }
            Outcome::Failed(e) => return Err(e),
            Outcome::Pending(now) => {
                if Instant::now() >= deadline {
                    return Err(format!(
                        "timed out after {} s: {now}",
                        wait.timeout.as_secs_f64()
                    ));
                }
            }
        }
        std::thread::sleep(POLL.min(deadline.saturating_duration_since(Instant::now())));
    }
}

/// `create tunnel NAME k=v…`: waits until the tunnel (and the sessions created with it) are
/// established, unless `wait.no_wait`.
pub fn create_tunnel(
    path: &Path,
    name: &str,
    assignments: &[String],
    wait: Wait,
) -> Result<(), String> {
    let config = parse_assignments(assignments)?;
    let sessions: Vec<String> = config
        .get("session")
        .and_then(|s| s.as_object())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let mut client = Client::connect(path)?;
    let r = client.call(CreateTunnel {
        name: name.to_string(),
        config,
    })?;
    print(&format!("tunnel {name} created (id {})\n", r.tunnel_id));
    if wait.no_wait {
        return Ok(());
    }
    wait_for(&mut client, scoped(name, None), wait, |st| {
        tunnel_outcome(st, name, r.tunnel_id, &sessions)
    })
}

/// `create session TUNNEL NAME k=v…`: waits until the session is established, unless
/// `wait.no_wait`.
pub fn create_session(
    path: &Path,
    tunnel: &str,
    name: &str,
    assignments: &[String],
    wait: Wait,
) -> Result<(), String> {
    let config = parse_assignments(assignments)?;
    let mut client = Client::connect(path)?;
    let r = client.call(CreateSession {
        tunnel: tunnel.to_string(),
        name: name.to_string(),
        config,
    })?;
    print(&format!(
        "session {tunnel}/{name} created (id {})\n",
        r.session_id
    ));
    if wait.no_wait {
        return Ok(());
    }
    wait_for(&mut client, scoped(tunnel, Some(name)), wait, |st| {
        session_outcome(st, tunnel, name, r.session_id)
    })
}

/// `delete tunnel NAME|ID`.
pub fn delete_tunnel(path: &Path, name: &str) -> Result<(), String> {
    Client::connect(path)?.call(DeleteTunnel {
        name: name.to_string(),
    })?;
    print(&format!("tunnel {name} closing\n"));
    Ok(())
}

/// `delete session TUNNEL NAME` (names or IDs).
pub fn delete_session(path: &Path, tunnel: &str, name: &str) -> Result<(), String> {
    Client::connect(path)?.call(DeleteSession {
        tunnel: tunnel.to_string(),
        name: name.to_string(),
    })?;
    print(&format!("session {tunnel}/{name} closing\n"));
    Ok(())
}

/// `monitor`: follows events until l2tpd goes away (or the reader of stdout does).
pub fn monitor(path: &Path, json: bool) -> Result<(), String> {
    let mut c = Client::connect(path)?;
    c.monitor()?;
    while let Some((line, ev)) = c.next_event()? {
        let text = if json { line } else { event_text(&ev) };
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
    use l2tp_runtime::dataplane::SessionStats;

    /// A tunnel as l2tpd's `show` reply carries it.
    fn tunnel(name: &str, id: u32, state: &str) -> TunnelStatus {
        serde_json::from_value(serde_json::json!({
            "name": name, "id": id, "kind": "dynamic", "state": state,
            "version": "l2tpv2", "encap": "udp",
            "local": "127.0.0.1:40000", "peer": "127.0.0.1:1701",
            "peer_tunnel_id": 4242, "peer_host_name": "lns",
            "control_rx": 3, "control_tx": 4, "retransmits": 0, "sessions": [],
        }))
        .expect("a TunnelStatus")
    }

    fn session(name: &str, id: u32, state: &str) -> SessionStatus {
        SessionStatus {
            name: name.into(),
            id,
            peer_id: 9,
            pseudowire: "ppp".into(),
            state: state.into(),
            ..SessionStatus::default()
        }
    }

    fn status() -> Vec<TunnelStatus> {
        let mut t = tunnel("lac", 17, "established");
        let mut s = session("s1", 5, "established");
        s.stats = Some(SessionStats {
            rx_packets: 12,
            tx_packets: 34,
            ..SessionStats::default()
        });
        t.sessions = vec![s];
        vec![t]
    }

    /// A listener, an accepted tunnel with a live and a downed call, a tunnel that went down.
    fn lns_status() -> Vec<TunnelStatus> {
        let mut listener = tunnel("lns", 0, "listening");
        listener.kind = "listener".into();
        listener.local = Some("0.0.0.0:1701".into());
        listener.peer = None;
        listener.peer_tunnel_id = 0;
        let mut a = tunnel("lns.28324", 28324, "established");
        a.peer = Some("192.0.2.7:1701".into());
        let mut gone = session("tmpl.100", 100, "down");
        gone.last_error = Some("peer: result 3 (administrative)".into());
        a.sessions = vec![session("tmpl.6460", 6460, "established"), gone];
        let mut d = tunnel("lns.555", 555, "down");
        d.peer = Some("192.0.2.8:40000".into());
        d.last_error = Some("timeout".into());
        d.down_for = Some(42);
        vec![listener, a, d]
    }

    /// A RADIUS session's note names user, Class and address; one without a Class keeps
    /// the old line.
    #[test]
    fn ppp_note_shows_the_radius_class_next_to_the_user() {
        let mut st = status();
        let t = &mut st[0];
        let mut r = session("r", 6, "established");
        r.username = Some("alice".into());
        r.address = Some("10.99.7.7".parse().unwrap());
        r.class = Some("cls-alice".into());
        t.sessions[0].username = Some("bob".into());
        t.sessions.push(r);
        let t = &st[0];
        let rows: Vec<_> = t.sessions.iter().map(|s| (t, s)).collect();
        let text = sessions_table(&rows);
        assert!(
            text.contains("ppp: user alice, class cls-alice, address 10.99.7.7"),
            "{text}"
        );
        assert!(text.contains("ppp: user bob, address -"), "{text}");
    }

    /// A session terminated in process shows where its PPP stands before user and address;
    /// a failed authentication shows which method failed.
    #[test]
    fn ppp_note_shows_lcp_auth_and_ipcp() {
        use l2tp_runtime::status::PppStatus;
        let mut st = status();
        let t = &mut st[0];
        t.sessions[0].username = Some("alice".into());
        t.sessions[0].address = Some("10.99.7.7".parse().unwrap());
        t.sessions[0].ppp = Some(PppStatus {
            lcp: "opened".into(),
            auth_method: Some("chap".into()),
            auth: Some("ok".into()),
            ipcp: Some("opened".into()),
            ipv6cp: None,
        });
        let mut f = session("f", 7, "established");
        f.ppp = Some(PppStatus {
            lcp: "closing".into(),
            auth_method: Some("pap".into()),
            auth: Some("failed".into()),
            ipcp: Some("initial".into()),
            ipv6cp: None,
        });
        t.sessions.push(f);
        let t = &st[0];
        let rows: Vec<_> = t.sessions.iter().map(|s| (t, s)).collect();
        let text = sessions_table(&rows);
        assert!(
            text.contains(
                "ppp: lcp opened, auth chap ok, ipcp opened, user alice, address 10.99.7.7"
            ),
            "{text}"
        );
        assert!(
            text.contains("ppp: lcp closing, auth pap failed, ipcp initial, user -, address -"),
            "{text}"
        );
    }

    #[test]
    fn tunnels_table_aligns_columns() {
        let st = status();
        assert_eq!(
            tunnels_table(&st.iter().collect::<Vec<_>>()),
            "NAME  ID  PEER-ID  STATE        PEER            VERSION  ENCAP  SESSIONS\n\
             lac   17  4242     established  127.0.0.1:1701  l2tpv2   udp    1\n"
        );
    }

    #[test]
    fn sessions_table_shows_counters_and_json_is_flat() {
        let st = status();
        let text = show_text(
            &st,
            &ShowWhat::Sessions(None, None),
            &Filter::default(),
            false,
        );
        assert_eq!(
            text.unwrap(),
            "TUNNEL  SESSION  ID  PEER-ID  STATE        PW   IFACE  RX-PKTS  TX-PKTS\n\
             lac     s1       5   9        established  ppp  -      12       34\n"
        );
        let json = show_text(
            &st,
            &ShowWhat::Sessions(None, None),
            &Filter::default(),
            true,
        );
        let v: serde_json::Value = serde_json::from_str(&json.unwrap()).unwrap();
        assert_eq!(v[0]["tunnel"], "lac");
        assert_eq!(v[0]["name"], "s1");
        assert_eq!(v[0]["stats"]["rx_packets"], 12);
    }

    #[test]
    fn listener_and_down_objects_are_shown_with_the_last_error() {
        let st = lns_status();
        let text = show_text(&st, &ShowWhat::All, &Filter::default(), false).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("lns  "), "{text}");
        assert!(lines[1].contains("listening"), "{text}");
        assert!(lines[1].contains("(local 0.0.0.0:1701)"), "{text}");
        assert!(lines[3].starts_with("lns.555 "), "{text}");
        assert!(lines[3].contains(" down "), "{text}");
        assert_eq!(lines[4], "    last error: timeout (42 s ago)", "{text}");
        assert!(
            text.contains("tmpl.100   100   9        down")
                && text.contains("\n    last error: peer: result 3 (administrative)\n"),
            "{text}"
        );
    }

    #[test]
    fn tunnels_and_sessions_are_selected_by_name_or_id() {
        let st = lns_status();
        let one = |what: ShowWhat| {
            let v: serde_json::Value =
                serde_json::from_str(&show_text(&st, &what, &Filter::default(), true).unwrap())
                    .unwrap();
            v.as_array().unwrap().clone()
        };
        let t = one(ShowWhat::Tunnels(Some("28324".into())));
        assert_eq!(t.len(), 1);
        assert_eq!(t[0]["name"], "lns.28324");
        assert_eq!(one(ShowWhat::Tunnels(Some("lns.555".into())))[0]["id"], 555);
        let s = one(ShowWhat::Sessions(
            Some("28324".into()),
            Some("6460".into()),
        ));
        assert_eq!(s.len(), 1);
        assert_eq!(s[0]["name"], "tmpl.6460");
        assert_eq!(s[0]["tunnel"], "lns.28324");
        assert_eq!(
            one(ShowWhat::Sessions(Some("lns.28324".into()), None)).len(),
            2
        );
        let e = show_text(
            &st,
            &ShowWhat::Tunnels(Some("9".into())),
            &Filter::default(),
            false,
        );
        assert_eq!(e.unwrap_err(), "no tunnel 9");
        let e = show_text(
            &st,
            &ShowWhat::Sessions(Some("28324".into()), Some("1".into())),
            &Filter::default(),
            false,
        );
        assert_eq!(e.unwrap_err(), "no session 1 in tunnel lns.28324");
    }

    #[test]
    fn filters_by_peer_state_and_name() {
        let st = lns_status();
        let names = |what: ShowWhat, f: Filter| -> Vec<String> {
            let sel = select(&st, &what, &f).unwrap();
            match what {
                ShowWhat::Sessions(..) => {
                    sel.sessions.iter().map(|(_, s)| s.name.clone()).collect()
                }
                _ => sel.tunnels.iter().map(|t| t.name.clone()).collect(),
            }
        };
        let f = |peer: Option<&str>, state: Option<&str>, name: Option<&str>| Filter {
            peer: peer.map(Into::into),
            state: state.map(Into::into),
            name: name.map(Into::into),
        };
        let all = ShowWhat::Tunnels(None);
        assert_eq!(
            names(all.clone(), f(Some("192.0.2.7"), None, None)),
            ["lns.28324"]
        );
        assert_eq!(
            names(all.clone(), f(Some("192.0.2.7:1701"), None, None)),
            ["lns.28324"]
        );
        assert!(names(all.clone(), f(Some("192.0.2.7:9"), None, None)).is_empty());
        assert_eq!(names(all.clone(), f(None, Some("down"), None)), ["lns.555"]);
        assert_eq!(
            names(all.clone(), f(None, None, Some("lns.*"))),
            ["lns.28324", "lns.555"]
        );
        assert_eq!(names(all.clone(), f(None, None, Some("lns"))), ["lns"]);
        assert_eq!(
            names(all.clone(), f(None, None, Some("*5*5*"))),
            ["lns.555"]
        );
        let sessions = ShowWhat::Sessions(None, None);
        assert_eq!(
            names(sessions.clone(), f(None, Some("down"), None)),
            ["tmpl.100"]
        );
        assert_eq!(
            names(sessions.clone(), f(None, None, Some("lns.28324"))),
            ["tmpl.6460", "tmpl.100"]
        );
        assert!(names(sessions, f(Some("192.0.2.8"), None, None)).is_empty());
    }

    #[test]
    fn globs() {
        assert!(glob("a*", "abc"));
        assert!(glob("*c", "abc"));
        assert!(glob("a*c", "abc"));
        assert!(glob("*", ""));
        assert!(!glob("a*c", "ab"));
        assert!(!glob("ab*bc", "abc"));
        assert!(glob("ab*bc", "abbc"));
        assert!(!glob("abc", "abcd"));
    }

    /// Every counter of the reply is printed: each gets a distinct value, which must appear.
    #[test]
    fn stats_text_prints_every_counter() {
        fn number_leaves(v: &mut serde_json::Value, next: &mut u64) -> Vec<u64> {
            match v {
                serde_json::Value::Object(m) => m
                    .values_mut()
                    .flat_map(|x| number_leaves(x, next))
                    .collect(),
                serde_json::Value::Number(_) => {
                    *next += 1;
                    *v = (*next * 1000 + 7).into();
                    vec![*next * 1000 + 7]
                }
                _ => vec![],
            }
        }
        let mut v = serde_json::to_value(StatsReply::default()).unwrap();
        let mut next = 0;
        let values = number_leaves(&mut v, &mut next);
        assert!(values.len() >= 17);
        let st: StatsReply = serde_json::from_value(v).unwrap();
        let text = stats_text(&st);
        for value in values {
            assert!(
                text.contains(&value.to_string()),
                "{value} missing:\n{text}"
            );
        }
        for label in [
            "tunnels half-open",
            "auth failures",
            "refused peers",
            "malformed",
        ] {
            assert!(text.contains(label), "{label}");
        }
    }

    #[test]
    fn events_print_on_one_line_with_code_names() {
        let ev: Event = serde_json::from_str(
            r#"{"ts": 3723.5, "event": "session_up", "tunnel": "lac", "session": "s1",
            "session_id": 5}"#,
        )
        .unwrap();
        assert_eq!(
            event_text(&ev),
            "01:02:03.500 session_up lac/s1 session_id=5"
        );
        let ev: Event = serde_json::from_str(
            r#"{"ts": 0, "event": "tunnel_down", "tunnel": "t1", "tunnel_id": 7,
            "reason": "peer", "result_code": 1, "error_code": 0, "message": "Server closing"}"#,
        )
        .unwrap();
        assert_eq!(
            event_text(&ev),
            "00:00:00.000 tunnel_down t1 tunnel_id=7 reason=peer \
             result_code=1(\"general request to clear\") error_code=0(\"no error\") \
             message=\"Server closing\""
        );
        let ev: Event = serde_json::from_str(
            r#"{"ts": 0, "event": "session_down", "tunnel": "t1", "session": "s", "reason": "local",
            "result_code": 3}"#,
        )
        .unwrap();
        assert!(event_text(&ev).ends_with("reason=local result_code=3(administrative)"));
        assert_eq!(
            event_text(&Event::lagged(3)),
            "00:00:00.000 lagged missed=3"
        );
    }

    #[test]
    fn create_outcomes() {
        let mut st = lns_status();
        // Still setting up.
        st.push(tunnel("t9", 9, "waitctlreply"));
        assert_eq!(
            tunnel_outcome(&st, "t9", 9, &[]),
            Outcome::Pending("tunnel t9 is waitctlreply".into())
        );
        st.pop();
        // A downed tunnel of the same name but another ID is not this one.
        let mut old = tunnel("t9", 8, "down");
        old.last_error = Some("old".into());
        st.push(old);
        assert_eq!(
            tunnel_outcome(&st, "t9", 9, &[]),
            Outcome::Failed("tunnel t9 is gone".into())
        );
        let mut down = tunnel("t9", 9, "down");
        down.last_error = Some("peer: result 4 (not authorized)".into());
        st.push(down);
        assert_eq!(
            tunnel_outcome(&st, "t9", 9, &[]),
            Outcome::Failed("tunnel t9 went down: peer: result 4 (not authorized)".into())
        );
        let mut up = tunnel("t10", 10, "established");
        up.sessions = vec![
            session("a", 1, "established"),
            session("b", 2, "establishing"),
        ];
        st.push(up);
        assert_eq!(
            tunnel_outcome(&st, "t10", 10, &["a".into(), "b".into()]),
            Outcome::Pending("session t10/b is establishing".into())
        );
        assert_eq!(
            tunnel_outcome(&st, "t10", 10, &["a".into()]),
            Outcome::Up(
                "tunnel t10 established (peer 127.0.0.1:1701, peer tunnel id 4242), \
                 1 session(s) established"
                    .into()
            )
        );
        // Sessions, by the tunnel's ID.
        assert_eq!(
            session_outcome(&st, "28324", "tmpl.6460", 6460),
            Outcome::Up("session lns.28324/tmpl.6460 established (peer session id 9)".into())
        );
        assert_eq!(
            session_outcome(&st, "lns.28324", "tmpl.100", 100),
            Outcome::Failed(
                "session lns.28324/tmpl.100 went down: peer: result 3 (administrative)".into()
            )
        );
        assert_eq!(
            session_outcome(&st, "t10", "b", 2),
            Outcome::Pending("session t10/b is establishing".into())
        );
        assert_eq!(
            session_outcome(&st, "t10", "c", 3),
            Outcome::Failed("session t10/c is gone".into())
        );
    }
}

#[cfg(test)]
mod pppoe_tests {
    use super::*;
    use l2tp_runtime::pppoe::{PppoeCounters, PppoeInterfaceStatus, PppoeSessionStatus};

    #[test]
    fn show_pppoe_lists_mac_pppoe_id_and_the_l2tp_call_then_counters() {
        let st = vec![PppoeInterfaceStatus {
            interface: "eth1".into(),
            counters: PppoeCounters {
                padi_in: 12,
                pads_out: 3,
                bad_cookie: 2,
                ..Default::default()
            },
            sessions: vec![PppoeSessionStatus {
                interface: "eth1".into(),
                mac: "02:5b:00:00:00:07".into(),
                pppoe_session_id: 2,
                tunnel: "tolns".into(),
                session: "pppoe-eth1-2".into(),
                l2tp_session_id: 28131,
                state: "up".into(),
            }],
        }];
        let text = pppoe_text(&st);
        let row = text.lines().nth(1).expect("a session row");
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(
            cols,
            [
                "eth1",
                "02:5b:00:00:00:07",
                "2",
                "tolns",
                "pppoe-eth1-2",
                "28131",
                "up"
            ]
        );
        assert!(text.contains("eth1: 1 session(s); PADI 12 in"), "{text}");
        assert!(text.contains("bad cookie 2"), "{text}");
    }
}
