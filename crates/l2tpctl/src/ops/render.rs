//! How replies print: the `show` filters and tables, `stats` and `monitor` lines (pure
//! functions of the reply, tested without a daemon).

use super::*;

/// What `show` prints.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum ShowWhat {
    /// Both tables.
    #[default]
    All,
    /// Tunnels, or the one named (name or ID).
    Tunnels(Option<String>),
    /// Sessions, of one tunnel, or the one named in it.
    Sessions(Option<String>, Option<String>),
}

/// `show` filters (all given must match).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// The peer's address: `IP` or `IP:PORT`.
    pub peer: Option<String>,
    /// The state (a tunnel's in the tunnels table, a session's in the sessions table).
    pub state: Option<String>,
    /// A name, `*` matching any run of characters: the tunnel's name in the tunnels table,
    /// the session's or its tunnel's in the sessions table.
    pub name: Option<String>,
}

/// `*`-glob match.
pub(super) fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

impl Filter {
    fn peer_matches(&self, t: &TunnelStatus) -> bool {
        let Some(want) = &self.peer else {
            return true;
        };
        let Some(peer) = t.peer.as_deref() else {
            return false;
        };
        if peer == want {
            return true;
        }
        match (peer.parse::<SocketAddr>(), want.parse::<IpAddr>()) {
            (Ok(p), Ok(ip)) => p.ip() == ip,
            _ => want
                .parse::<SocketAddr>()
                .is_ok_and(|w| peer.parse::<SocketAddr>().is_ok_and(|p| p == w)),
        }
    }

    fn state_matches(&self, state: &str) -> bool {
        self.state.as_deref().is_none_or(|s| s == state)
    }

    fn tunnel(&self, t: &TunnelStatus) -> bool {
        self.peer_matches(t)
            && self.state_matches(&t.state)
            && self.name.as_deref().is_none_or(|n| glob(n, &t.name))
    }

    fn session(&self, t: &TunnelStatus, s: &SessionStatus) -> bool {
        self.peer_matches(t)
            && self.state_matches(&s.state)
            && self
                .name
                .as_deref()
                .is_none_or(|n| glob(n, &s.name) || glob(n, &t.name))
    }
}

/// Lays out rows under a header with columns padded to the widest cell. A row may be
/// followed by a note line (indented, not part of the columns).
pub fn table(header: &[&str], rows: &[(Vec<String>, Option<String>)]) -> String {
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for (r, _) in rows {
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
    for (r, note) in rows {
        line(&mut out, r.iter().map(String::as_str).collect());
        if let Some(n) = note {
            let _ = writeln!(out, "    {n}");
        }
    }
    out
}

pub(super) fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

/// The note under a row that went down: why, and how long ago.
pub(super) fn down_note(last_error: &Option<String>, down_for: Option<u64>) -> String {
    let mut s = format!(
        "last error: {}",
        last_error.as_deref().unwrap_or("(none recorded)")
    );
    if let Some(secs) = down_for {
        let _ = write!(s, " ({secs} s ago)");
    }
    s
}

/// The tunnels table.
pub fn tunnels_table(tunnels: &[&TunnelStatus]) -> String {
    let rows: Vec<(Vec<String>, Option<String>)> = tunnels
        .iter()
        .map(|t| {
            let listener = t.kind == "listener";
            let row = vec![
                t.name.clone(),
                if listener {
                    "-".into()
                } else {
                    t.id.to_string()
                },
                if listener {
                    "-".into()
                } else {
                    t.peer_tunnel_id.to_string()
                },
                t.state.clone(),
                if listener {
                    format!("(local {})", opt(&t.local))
                } else {
                    opt(&t.peer)
                },
                t.version.clone(),
                t.encap.clone(),
                t.sessions.len().to_string(),
            ];
            let note = (t.state == "down").then(|| down_note(&t.last_error, t.down_for));
            (row, note)
        })
        .collect();
    table(
        &[
            "NAME", "ID", "PEER-ID", "STATE", "PEER", "VERSION", "ENCAP", "SESSIONS",
        ],
        &rows,
    )
}

/// A PPP link's state for the sessions table: `lcp opened, auth chap ok, ipcp opened, `
/// (authentication and NCPs only when there are some), ready for the user and address.
fn ppp_phase(p: &l2tp_runtime::status::PppStatus) -> String {
    let mut out = format!("lcp {}, ", p.lcp);
    match (&p.auth_method, &p.auth) {
        (Some(m), Some(a)) => out.push_str(&format!("auth {m} {a}, ")),
        (Some(m), None) => out.push_str(&format!("auth {m}, ")),
        (None, Some(a)) => out.push_str(&format!("auth {a}, ")),
        (None, None) => {}
    }
    if let Some(s) = &p.ipcp {
        out.push_str(&format!("ipcp {s}, "));
    }
    if let Some(s) = &p.ipv6cp {
        out.push_str(&format!("ipv6cp {s}, "));
    }
    out
}

/// The sessions table.
pub fn sessions_table(sessions: &[(&TunnelStatus, &SessionStatus)]) -> String {
    let rows: Vec<(Vec<String>, Option<String>)> = sessions
        .iter()
        .map(|(t, x)| {
            let (rx, tx) = match &x.stats {
                Some(st) => (st.rx_packets.to_string(), st.tx_packets.to_string()),
                None => ("-".into(), "-".into()),
            };
            let row = vec![
                t.name.clone(),
                x.name.clone(),
                x.id.to_string(),
                x.peer_id.to_string(),
                x.state.clone(),
                x.pseudowire.clone(),
                opt(&x.interface),
                rx,
                tx,
            ];
            let ppp = (x.username.is_some() || x.address.is_some() || x.ppp.is_some()).then(|| {
                let class = x
                    .class
                    .as_deref()
                    .map_or(String::new(), |c| format!(", class {c}"));
                format!(
                    "ppp: {}user {}{class}, address {}",
                    x.ppp.as_ref().map_or(String::new(), ppp_phase),
                    x.username.as_deref().unwrap_or("-"),
                    x.address.map_or("-".to_string(), |a| a.to_string())
                )
            });
            let note = if x.state == "down" {
                Some(down_note(&x.last_error, None))
            } else {
                ppp
            };
            (row, note)
        })
        .collect();
    table(
        &[
            "TUNNEL", "SESSION", "ID", "PEER-ID", "STATE", "PW", "IFACE", "RX-PKTS", "TX-PKTS",
        ],
        &rows,
    )
}

/// One session of the flat `show sessions --json` list: its tunnel's name and its status.
#[derive(Serialize)]
pub struct SessionRow<'a> {
    /// The tunnel's name.
    pub tunnel: &'a str,
    /// The session.
    #[serde(flatten)]
    pub session: &'a SessionStatus,
}

/// What `show` selects from a snapshot: tunnels, and sessions with their tunnel.
pub struct Selection<'a> {
    /// Tunnels, for the tunnels table.
    pub tunnels: Vec<&'a TunnelStatus>,
    /// Sessions, for the sessions table.
    pub sessions: Vec<(&'a TunnelStatus, &'a SessionStatus)>,
}

/// Applies `show`'s arguments to a snapshot. Tunnel and session arguments are names or IDs,
/// found as the daemon finds them ([`find_tunnel`], [`find_session`]); one that matches
/// nothing is an error.
pub fn select<'a>(
    status: &'a [TunnelStatus],
    what: &ShowWhat,
    filter: &Filter,
) -> Result<Selection<'a>, String> {
    let (tunnel, session) = match what {
        ShowWhat::All => (None, None),
        ShowWhat::Tunnels(t) => (t.as_deref(), None),
        ShowWhat::Sessions(t, s) => (t.as_deref(), s.as_deref()),
    };
    let scope: Vec<&TunnelStatus> = match tunnel {
        Some(key) => vec![find_tunnel(status, key).ok_or_else(|| format!("no tunnel {key}"))?],
        None => status.iter().collect(),
    };
    let mut sessions = Vec::new();
    for t in &scope {
        match session {
            Some(key) => {
                let s = find_session(t, key)
                    .ok_or_else(|| format!("no session {key} in tunnel {}", t.name))?;
                sessions.push((*t, s));
            }
            None => sessions.extend(t.sessions.iter().map(|s| (*t, s))),
        }
    }
    Ok(Selection {
        tunnels: scope.into_iter().filter(|t| filter.tunnel(t)).collect(),
        sessions: sessions
            .into_iter()
            .filter(|(t, s)| filter.session(t, s))
            .collect(),
    })
}

/// The `show` output for a snapshot.
pub fn show_text(
    status: &[TunnelStatus],
    what: &ShowWhat,
    filter: &Filter,
    json: bool,
) -> Result<String, String> {
    let sel = select(status, what, filter)?;
    Ok(match (what, json) {
        (ShowWhat::Sessions(..), true) => {
            let rows: Vec<SessionRow> = sel
                .sessions
                .iter()
                .map(|(t, s)| SessionRow {
                    tunnel: &t.name,
                    session: s,
                })
                .collect();
            to_json(&rows)
        }
        (_, true) => to_json(&sel.tunnels),
        (ShowWhat::Tunnels(_), false) => tunnels_table(&sel.tunnels),
        (ShowWhat::Sessions(..), false) => sessions_table(&sel.sessions),
        (ShowWhat::All, false) => format!(
            "{}\n{}",
            tunnels_table(&sel.tunnels),
            sessions_table(&sel.sessions)
        ),
    })
}

pub(super) fn to_json<T: Serialize>(v: &T) -> String {
    format!("{}\n", serde_json::to_string(v).unwrap_or_default())
}

/// `stats` for people: every counter, one per line.
pub fn stats_text(st: &StatsReply) -> String {
    let r = &st.runtime;
    let e = &r.endpoint.engine;
    let rows: Vec<(&str, String)> = vec![
        (
            "tunnels",
            format!("{} ({} established)", r.tunnels, r.tunnels_up),
        ),
        ("tunnels half-open", st.tunnels_half_open.to_string()),
        (
            "sessions",
            format!("{} ({} established)", r.sessions, r.sessions_up),
        ),
        ("tunnels accepted", e.tunnels_accepted.to_string()),
        ("control messages rx", e.control_rx.to_string()),
        ("control messages tx", e.control_tx.to_string()),
        ("retransmits", e.retransmits.to_string()),
        ("ZLB acks sent", e.zlb_tx.to_string()),
        ("duplicates", e.duplicates.to_string()),
        ("malformed", e.malformed.to_string()),
        ("unknown tunnel", e.unknown_tunnel.to_string()),
        ("auth failures", e.auth_failures.to_string()),
        ("refused peers", r.endpoint.refused_peers.to_string()),
        ("wrong source", e.wrong_source.to_string()),
        ("wrong tunnel ID", e.wrong_tunnel_id.to_string()),
        ("half-open evicted", e.half_open_evicted.to_string()),
        ("peer limit refused", e.refused_peer_limit.to_string()),
        ("data msgs ignored", e.data_ignored.to_string()),
        ("unsupported msgs", e.unsupported.to_string()),
        ("encode errors", e.encode_errors.to_string()),
        ("peer lost tie break", e.tie_breaks_lost_by_peer.to_string()),
        ("send errors", r.send_errors.to_string()),
        ("data plane errors", r.dataplane_errors.to_string()),
        (
            "PPP auth failures",
            format!(
                "pap {}, chap {}, mschapv2 {}",
                r.ppp_auth_failures.pap, r.ppp_auth_failures.chap, r.ppp_auth_failures.mschapv2
            ),
        ),
    ];
    let w = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(k, v)| format!("{k:<w$}  {v}\n"))
        .collect()
}

/// A value for `key=value`: quoted when it has spaces or quotes.
pub(super) fn word(s: &str) -> String {
    if s.is_empty() || s.contains(|c: char| c.is_whitespace() || c == '"') {
        format!("{s:?}")
    } else {
        s.to_string()
    }
}

/// One event line for people: `HH:MM:SS.mmm EVENT TUNNEL[/SESSION] key=value…`, result and
/// error codes followed by their names.
pub fn event_text(ev: &Event) -> String {
    let ts = ev.ts.unwrap_or(0.0);
    let day_ms = ((ts * 1000.0) as u64) % 86_400_000;
    let mut out = format!(
        "{:02}:{:02}:{:02}.{:03} {}",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1000 % 60,
        day_ms % 1000,
        ev.event.as_str()
    );
    if let Some(t) = &ev.tunnel {
        out.push(' ');
        out.push_str(t);
        if let Some(x) = &ev.session {
            out.push('/');
            out.push_str(x);
        }
    }
    let mut kv = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            let _ = write!(out, " {k}={v}");
        }
    };
    let n = |v: Option<u32>| v.map(|x| x.to_string());
    let n16 = |v: Option<u16>| v.map(|x| x.to_string());
    let s = |v: &Option<String>| v.as_deref().map(word);
    kv("tunnel_id", n(ev.tunnel_id));
    kv("session_id", n(ev.session_id));
    kv("peer_tunnel_id", n(ev.peer_tunnel_id));
    kv("peer_session_id", n(ev.peer_session_id));
    kv("peer", s(&ev.peer));
    kv("peer_host_name", s(&ev.peer_host_name));
    kv("version", s(&ev.version));
    kv("encap", s(&ev.encap));
    kv("pseudowire", n16(ev.pseudowire));
    kv("interface", s(&ev.interface));
    kv("cookie", s(&ev.cookie));
    kv("peer_cookie", s(&ev.peer_cookie));
    kv("l2_specific", n16(ev.l2_specific));
    kv("reason", s(&ev.reason));
    kv("username", s(&ev.username));
    kv("address", s(&ev.address));
    let stopccn = ev.event == EventKind::TunnelDown;
    kv(
        "result_code",
        ev.result_code.map(|c| {
            let name = if stopccn {
                result::stopccn_name(c)
            } else {
                result::cdn_name(c)
            };
            format!("{c}({})", word(name))
        }),
    );
    kv(
        "error_code",
        ev.error_code
            .map(|c| format!("{c}({})", word(error_code::name(c)))),
    );
    kv("message", s(&ev.message));
    kv("crc_errors", n(ev.crc_errors));
    kv("framing_errors", n(ev.framing_errors));
    kv("hardware_overruns", n(ev.hardware_overruns));
    kv("buffer_overruns", n(ev.buffer_overruns));
    kv("timeout_errors", n(ev.timeout_errors));
    kv("alignment_errors", n(ev.alignment_errors));
    kv("send_accm", ev.send_accm.map(|x| format!("{x:#010x}")));
    kv("recv_accm", ev.recv_accm.map(|x| format!("{x:#010x}")));
    kv("circuit_status", n16(ev.circuit_status));
    kv("missed", ev.missed.map(|x| x.to_string()));
    out
}

/// `show pppoe` as text: one table of sessions, then each interface's Discovery counters.
pub fn pppoe_text(st: &[l2tp_runtime::pppoe::PppoeInterfaceStatus]) -> String {
    let mut out = format!(
        "{:<15} {:<17} {:>6}  {:<20} {:<28} {:>8}  {}\n",
        "INTERFACE", "MAC", "PPPOE", "TUNNEL", "SESSION", "L2TP ID", "STATE"
    );
    for i in st {
        for s in &i.sessions {
            out.push_str(&format!(
                "{:<15} {:<17} {:>6}  {:<20} {:<28} {:>8}  {}\n",
                s.interface,
                s.mac,
                s.pppoe_session_id,
                s.tunnel,
                s.session,
                s.l2tp_session_id,
                s.state
            ));
        }
    }
    for i in st {
        let c = &i.counters;
        out.push_str(&format!(
            "\n{}: {} session(s); PADI {} in, PADO {} out, PADR {} in, PADS {} out ({} refusals), \
             PADT {} in / {} out; bad cookie {}, malformed {}, rate limited {}, refused {}\n",
            i.interface,
            i.sessions.len(),
            c.padi_in,
            c.pado_out,
            c.padr_in,
            c.pads_out,
            c.pads_error_out,
            c.padt_in,
            c.padt_out,
            c.bad_cookie,
            c.malformed,
            c.rate_limited,
            c.refused
        ));
    }
    out
}
