//! The control socket protocol (`docs/control-protocol.md`), typed: the requests, replies and
//! events that l2tpd (the server) and l2tpctl (the client) exchange as JSON lines. Both sides
//! use these types, so the wire format has one definition.
//!
//! Every request is a struct implementing [`Call`], whose [`Call::Output`] is the type of its
//! `result`; on the wire it travels as [`Request`] (`{"cmd":"show"}`, …), and the answer as
//! [`Reply`] (`{"ok":true,"result":…}` or `{"ok":false,"error":"…"}`). After `monitor` the
//! server sends [`Event`]s, one per line.
//!
//! Also here: how a tunnel or session argument is found in a `show` snapshot, by name or by
//! numeric ID ([`find_tunnel`], [`find_session`]) — the client's side; the daemon resolves
//! the same keys the same way through the driver's indexes
//! ([`Context::lookup`](crate::Context::lookup)).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use l2tp_proto::endpoint::{DownReason, Event as EngineEvent};
use l2tp_proto::wire::{Encap, ResultCode, Version};

use crate::status::{RuntimeStats, SessionStatus, TunnelStatus};
use crate::RuntimeEvent;

/// The daemon's default control socket.
pub const DEFAULT_PATH: &str = "/run/l2tpd/control.sock";

/// How the error a refused client gets (the server is at its client limit) starts; nothing
/// was read from such a connection, so a client may retry.
pub const TOO_MANY_CLIENTS: &str = "too many control clients";

/// A request, with the type of its result.
pub trait Call: Into<Request> {
    /// The `result` of a successful reply.
    type Output: Serialize + DeserializeOwned;
}

/// Every request, as it travels: an object with a `cmd` tag (`{"cmd":"show"}`). Unknown
/// commands and unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    /// See [`Show`].
    Show(Show),
    /// See [`Stats`].
    Stats(Stats),
    /// See [`CreateTunnel`].
    CreateTunnel(CreateTunnel),
    /// See [`DeleteTunnel`].
    DeleteTunnel(DeleteTunnel),
    /// See [`CreateSession`].
    CreateSession(CreateSession),
    /// See [`DeleteSession`].
    DeleteSession(DeleteSession),
    /// See [`Monitor`].
    Monitor(Monitor),
    /// See [`ShowPppoe`].
    ShowPppoe(ShowPppoe),
}

impl Request {
    /// The request as one line (with its newline).
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

macro_rules! call {
    ($t:ident => $out:ty) => {
        impl Call for $t {
            type Output = $out;
        }
        impl From<$t> for Request {
            fn from(r: $t) -> Request {
                Request::$t(r)
            }
        }
    };
}

/// `{"cmd":"show"}`: every tunnel and session, the listener, and what went down recently.
/// `{"cmd":"show","tunnel":T}` (optionally `"session":S`): only the tunnel `T` names, with
/// its sessions (or only the one `S` names), resolved as [`find_tunnel`] / [`find_session`]
/// do, through the daemon's indexes — the cost does not grow with the number of other
/// tunnels and sessions. Nothing found: an empty list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Show {
    /// Only this tunnel: a name, else a decimal local tunnel ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<String>,
    /// With `tunnel`, only this session of it: a name, else a decimal local session ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}
call!(Show => Vec<TunnelStatus>);

/// `{"cmd":"show_pppoe"}`: the PPPoE access concentrator's interfaces, Discovery counters
/// and sessions (subscriber MAC, PPPoE session ID, the L2TP call). An error when the daemon
/// runs no access concentrator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShowPppoe {}
call!(ShowPppoe => Vec<crate::pppoe::PppoeInterfaceStatus>);

/// `{"cmd":"stats"}`: runtime-wide counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stats {}
call!(Stats => StatsReply);

/// `{"cmd":"create_tunnel","name":N,"config":{…}}`: a tunnel from a `[tunnel.N]` table given
/// as a JSON object (the config file's keys; a nested `session` object creates sessions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTunnel {
    /// The new tunnel's name.
    pub name: String,
    /// The table's body (arbitrary TOML, as JSON: the config file's parser checks it).
    #[serde(default)]
    pub config: Map<String, Value>,
}
call!(CreateTunnel => TunnelCreated);

/// `{"cmd":"delete_tunnel","name":N}`: StopCCN; `name` is a tunnel name or ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteTunnel {
    /// Tunnel name, or its local ID in decimal.
    pub name: String,
}
call!(DeleteTunnel => ());

/// `{"cmd":"create_session","tunnel":T,"name":N,"config":{…}}`: a session in a running tunnel
/// (name or ID) from a `[tunnel.T.session.N]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// Tunnel name, or its local ID in decimal.
    pub tunnel: String,
    /// The new session's name.
    pub name: String,
    /// The table's body (may be omitted: all defaults).
    #[serde(default)]
    pub config: Map<String, Value>,
}
call!(CreateSession => SessionCreated);

/// `{"cmd":"delete_session","tunnel":T,"name":N}`: CDN; `tunnel` a tunnel name or ID, `name`
/// a session name or its local session ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteSession {
    /// Tunnel name or ID.
    pub tunnel: String,
    /// Session name or ID (within the tunnel).
    pub name: String,
}
call!(DeleteSession => ());

/// `{"cmd":"monitor"}`: replies `"monitoring"`, then streams [`Event`]s until the client closes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monitor {}
call!(Monitor => String);

/// The result of `stats`: the runtime's counters plus what the daemon derives from its status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsReply {
    /// [`RuntimeStats`], its fields at the top level.
    #[serde(flatten)]
    pub runtime: RuntimeStats,
    /// Tunnels being set up: [`RuntimeStats::tunnels_half_open`].
    #[serde(default)]
    pub tunnels_half_open: usize,
}

/// The result of `create_tunnel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunnelCreated {
    /// The local tunnel ID (0 for a `listen` tunnel).
    pub tunnel_id: u32,
}

/// The result of `create_session`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCreated {
    /// The local session ID.
    pub session_id: u32,
}

/// One reply line: `{"ok":true,"result":…}` or `{"ok":false,"error":"…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply<T> {
    /// Whether the request succeeded.
    pub ok: bool,
    /// The result (when `ok`).
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub result: Option<T>,
    /// One line for a person (when not `ok`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn none<T>() -> Option<T> {
    None
}

impl<T: Serialize + DeserializeOwned> Reply<T> {
    /// A success.
    pub fn ok(result: T) -> Reply<T> {
        Reply {
            ok: true,
            result: Some(result),
            error: None,
        }
    }

    /// A failure.
    pub fn err(error: impl Into<String>) -> Reply<T> {
        Reply {
            ok: false,
            result: None,
            error: Some(error.into()),
        }
    }

    /// The reply as one line (with its newline).
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// The result, or the server's error. An absent `result` reads as `null` (the result of
    /// the requests that return nothing).
    pub fn into_result(self) -> Result<T, String> {
        if !self.ok {
            return Err(self
                .error
                .unwrap_or_else(|| "l2tpd reported an error without a message".into()));
        }
        match self.result {
            Some(r) => Ok(r),
            None => serde_json::from_value(Value::Null)
                .map_err(|e| format!("bad reply from l2tpd: no result: {e}")),
        }
    }
}

/// A reply whose result is not known (or not wanted) as a type: errors only.
pub type AnyReply = Reply<serde::de::IgnoredAny>;

/// What an [`Event`] line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A tunnel is established.
    TunnelUp,
    /// A tunnel is gone.
    TunnelDown,
    /// A session is established.
    SessionUp,
    /// A session is gone.
    SessionDown,
    /// The peer sent WAN-Error-Notify.
    WanError,
    /// The peer sent Set-Link-Info.
    LinkInfo,
    /// The client read too slowly: `missed` events were dropped in its place.
    Lagged,
    /// An event this build does not know (a newer daemon).
    #[serde(other)]
    Unknown,
}

impl EventKind {
    /// The wire name (`tunnel_up`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::TunnelUp => "tunnel_up",
            EventKind::TunnelDown => "tunnel_down",
            EventKind::SessionUp => "session_up",
            EventKind::SessionDown => "session_down",
            EventKind::WanError => "wan_error",
            EventKind::LinkInfo => "link_info",
            EventKind::Lagged => "lagged",
            EventKind::Unknown => "unknown",
        }
    }
}

/// One event line after `monitor` (the format of `l2tpd --events json`). Which fields are
/// present depends on [`Event::event`]; see `docs/control-protocol.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Seconds since the Unix epoch (absent on `lagged`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<f64>,
    /// What happened.
    pub event: EventKind,
    /// Tunnel name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<String>,
    /// Session name (session events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Local tunnel ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel_id: Option<u32>,
    /// Local session ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<u32>,
    /// The peer's tunnel ID (up events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_tunnel_id: Option<u32>,
    /// The peer's session ID (`session_up`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_session_id: Option<u32>,
    /// The peer's address (`tunnel_up`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// `l2tpv2` / `l2tpv3` (`tunnel_up`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `udp` / `ip` (`tunnel_up`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encap: Option<String>,
    /// The peer's Host Name (`tunnel_up`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_host_name: Option<String>,
    /// Pseudowire type number (`session_up`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudowire: Option<u16>,
    /// The session's network interface (`session_up`, when the data plane named one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// v3 cookie sent in data (hex, `session_up` with cookies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    /// v3 cookie expected in data (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_cookie: Option<String>,
    /// v3 L2-Specific Sublayer (`session_up`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l2_specific: Option<u16>,
    /// Why it went down: `local`, `peer`, `timeout`, `protocol`, `tunnel_down`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The Result Code exchanged (down events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_code: Option<u16>,
    /// Its Error Code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u16>,
    /// Its message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `wan_error` counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc_errors: Option<u32>,
    /// `wan_error` counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framing_errors: Option<u32>,
    /// `wan_error` counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_overruns: Option<u32>,
    /// `wan_error` counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffer_overruns: Option<u32>,
    /// `wan_error` counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_errors: Option<u32>,
    /// `wan_error` counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alignment_errors: Option<u32>,
    /// `link_info`: send ACCM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_accm: Option<u32>,
    /// `link_info`: receive ACCM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recv_accm: Option<u32>,
    /// `link_info`: v3 Circuit Status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_status: Option<u16>,
    /// PPP terminated in the data plane: the authenticated user name (`session_down`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// PPP terminated in the data plane: the PPP client's IPv4 address (`session_down`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// `lagged`: how many events were dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed: Option<u64>,
}

impl Event {
    /// An event with only its kind set.
    pub fn new(event: EventKind) -> Event {
        Event {
            ts: None,
            event,
            tunnel: None,
            session: None,
            tunnel_id: None,
            session_id: None,
            peer_tunnel_id: None,
            peer_session_id: None,
            peer: None,
            version: None,
            encap: None,
            peer_host_name: None,
            pseudowire: None,
            interface: None,
            cookie: None,
            peer_cookie: None,
            l2_specific: None,
            reason: None,
            result_code: None,
            error_code: None,
            message: None,
            crc_errors: None,
            framing_errors: None,
            hardware_overruns: None,
            buffer_overruns: None,
            timeout_errors: None,
            alignment_errors: None,
            send_accm: None,
            recv_accm: None,
            circuit_status: None,
            username: None,
            address: None,
            missed: None,
        }
    }

    /// `{"event":"lagged","missed":N}`.
    pub fn lagged(missed: u64) -> Event {
        Event {
            missed: Some(missed),
            ..Event::new(EventKind::Lagged)
        }
    }

    /// The line for a runtime event, stamped `ts` (seconds since the epoch).
    pub fn from_runtime(ev: &RuntimeEvent, ts: f64) -> Event {
        let kind = match &ev.event {
            EngineEvent::TunnelUp { .. } => EventKind::TunnelUp,
            EngineEvent::TunnelDown { .. } => EventKind::TunnelDown,
            EngineEvent::SessionUp { .. } => EventKind::SessionUp,
            EngineEvent::SessionDown { .. } => EventKind::SessionDown,
            EngineEvent::WanError { .. } => EventKind::WanError,
            EngineEvent::LinkInfo { .. } => EventKind::LinkInfo,
        };
        let mut e = Event {
            ts: Some(ts),
            tunnel: Some(ev.tunnel_name.clone()),
            session: ev.session_name.clone(),
            ..Event::new(kind)
        };
        match &ev.event {
            EngineEvent::TunnelUp {
                tunnel,
                peer_tunnel_id,
                peer,
                version,
                encap,
                peer_host_name,
            } => {
                e.tunnel_id = Some(tunnel.0);
                e.peer_tunnel_id = Some(*peer_tunnel_id);
                e.peer = Some(peer.to_string());
                e.version = Some(version_name(*version).into());
                e.encap = Some(encap_name(*encap).into());
                e.peer_host_name = Some(String::from_utf8_lossy(peer_host_name).into_owned());
            }
            EngineEvent::TunnelDown { tunnel, reason } => {
                e.tunnel_id = Some(tunnel.0);
                e.set_reason(reason);
            }
            EngineEvent::SessionUp {
                tunnel,
                session,
                peer_session_id,
                peer_tunnel_id,
                pseudowire,
                params,
            } => {
                if !params.local_cookie.is_empty() || !params.peer_cookie.is_empty() {
                    e.cookie = Some(hex(&params.peer_cookie));
                    e.peer_cookie = Some(hex(&params.local_cookie));
                }
                e.l2_specific = Some(params.l2_specific.max(params.peer_l2_specific));
                e.tunnel_id = Some(tunnel.0);
                e.session_id = Some(session.0);
                e.peer_tunnel_id = Some(*peer_tunnel_id);
                e.peer_session_id = Some(*peer_session_id);
                e.pseudowire = Some(*pseudowire);
                e.interface = ev.interface_name.clone();
            }
            EngineEvent::WanError {
                tunnel,
                session,
                errors,
            } => {
                e.tunnel_id = Some(tunnel.0);
                e.session_id = Some(session.0);
                e.crc_errors = Some(errors.crc);
                e.framing_errors = Some(errors.framing);
                e.hardware_overruns = Some(errors.hardware_overruns);
                e.buffer_overruns = Some(errors.buffer_overruns);
                e.timeout_errors = Some(errors.timeouts);
                e.alignment_errors = Some(errors.alignment);
            }
            EngineEvent::LinkInfo {
                tunnel,
                session,
                accm,
                circuit_status,
            } => {
                e.tunnel_id = Some(tunnel.0);
                e.session_id = Some(session.0);
                if let Some((send, recv)) = accm {
                    e.send_accm = Some(*send);
                    e.recv_accm = Some(*recv);
                }
                e.circuit_status = *circuit_status;
            }
            EngineEvent::SessionDown {
                tunnel,
                session,
                reason,
            } => {
                e.tunnel_id = Some(tunnel.0);
                e.session_id = Some(session.0);
                e.set_reason(reason);
                e.username = ev.username.clone();
                e.address = ev.address.map(|a| a.to_string());
            }
        }
        e
    }

    fn set_reason(&mut self, reason: &DownReason) {
        let (name, rc): (&str, Option<&ResultCode>) = match reason {
            DownReason::Local(r) => ("local", Some(r)),
            DownReason::Peer(r) => ("peer", Some(r)),
            DownReason::Protocol(r) => ("protocol", Some(r)),
            DownReason::Timeout => ("timeout", None),
            DownReason::TunnelDown => ("tunnel_down", None),
        };
        self.reason = Some(name.into());
        if let Some(r) = rc {
            self.result_code = Some(r.result);
            self.error_code = r.error;
            self.message = r
                .message
                .as_ref()
                .map(|m| String::from_utf8_lossy(m).into_owned());
        }
    }

    /// The event as one line (without a newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn version_name(v: Version) -> &'static str {
    match v {
        Version::V2 => "l2tpv2",
        Version::V3 => "l2tpv3",
    }
}

fn encap_name(e: Encap) -> &'static str {
    match e {
        Encap::Udp => "udp",
        Encap::Ip => "ip",
    }
}

/// The number a key names, when it is all decimal digits.
fn as_id(key: &str) -> Option<u32> {
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse().ok()
}

/// The best of several matches: a live one before one that went down (a name or ID may be
/// reused once its object is gone).
fn best<'a, T>(mut it: impl Iterator<Item = &'a T>, down: impl Fn(&T) -> bool) -> Option<&'a T> {
    let mut fallback = None;
    for x in it.by_ref() {
        if !down(x) {
            return Some(x);
        }
        fallback.get_or_insert(x);
    }
    fallback
}

/// The tunnel `key` names in a `show` snapshot: the one of that name; else, when `key` is all
/// digits, the one with that local ID (the listener has none). A live tunnel is preferred to
/// one that went down.
pub fn find_tunnel<'a>(status: &'a [TunnelStatus], key: &str) -> Option<&'a TunnelStatus> {
    let down = |t: &TunnelStatus| t.state == "down";
    best(status.iter().filter(|t| t.name == key), down).or_else(|| {
        let id = as_id(key)?;
        best(
            status.iter().filter(|t| t.id == id && t.kind != "listener"),
            down,
        )
    })
}

/// The session `key` names in tunnel `t`: by name, else (all digits) by local session ID; a
/// live session before one that went down.
pub fn find_session<'a>(t: &'a TunnelStatus, key: &str) -> Option<&'a SessionStatus> {
    let down = |s: &SessionStatus| s.state == "down";
    best(t.sessions.iter().filter(|s| s.name == key), down).or_else(|| {
        let id = as_id(key)?;
        best(t.sessions.iter().filter(|s| s.id == id), down)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tunnel(name: &str, id: u32, state: &str) -> TunnelStatus {
        TunnelStatus {
            name: name.into(),
            id,
            kind: "dynamic".into(),
            state: state.into(),
            version: "l2tpv2".into(),
            encap: "udp".into(),
            ..TunnelStatus::default()
        }
    }

    fn session(name: &str, id: u32, state: &str) -> SessionStatus {
        SessionStatus {
            name: name.into(),
            id,
            peer_id: 0,
            pseudowire: "ppp".into(),
            state: state.into(),
            ..SessionStatus::default()
        }
    }

    #[test]
    fn requests_keep_the_documented_wire_format() {
        let r: Request = serde_json::from_str(r#"{"cmd":"show"}"#).unwrap();
        assert_eq!(r, Request::Show(Show::default()));
        assert_eq!(
            Request::from(Show::default()).to_line(),
            "{\"cmd\":\"show\"}\n"
        );
        let scoped = Show {
            tunnel: Some("t1".into()),
            session: Some("7".into()),
        };
        let line = Request::from(scoped.clone()).to_line();
        assert_eq!(
            line,
            "{\"cmd\":\"show\",\"tunnel\":\"t1\",\"session\":\"7\"}\n"
        );
        let back: Request = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(back, Request::Show(scoped));
        let r: Request =
            serde_json::from_str(r#"{"cmd":"delete_session","tunnel":"t","name":"s"}"#).unwrap();
        assert_eq!(
            r,
            Request::DeleteSession(DeleteSession {
                tunnel: "t".into(),
                name: "s".into()
            })
        );
        let line = Request::from(CreateSession {
            tunnel: "t".into(),
            name: "s".into(),
            config: Map::new(),
        })
        .to_line();
        assert_eq!(
            line,
            "{\"cmd\":\"create_session\",\"tunnel\":\"t\",\"name\":\"s\",\"config\":{}}\n"
        );
        let r: Request =
            serde_json::from_str(r#"{"cmd":"create_session","tunnel":"t","name":"s"}"#).unwrap();
        assert!(matches!(r, Request::CreateSession(c) if c.config.is_empty()));
        let e = serde_json::from_str::<Request>(r#"{"cmd":"show","x":1}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        let e = serde_json::from_str::<Request>(r#"{"cmd":"delete_tunnel","name":"a","b":1}"#)
            .unwrap_err();
        assert!(e.to_string().contains("unknown field `b`"), "{e}");
        let e = serde_json::from_str::<Request>(r#"{"cmd":"frobnicate"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant"), "{e}");
    }

    #[test]
    fn replies_round_trip_including_null_results() {
        assert_eq!(Reply::ok(()).to_line(), "{\"ok\":true,\"result\":null}\n");
        assert_eq!(
            Reply::<()>::err("no tunnel x").to_line(),
            "{\"ok\":false,\"error\":\"no tunnel x\"}\n"
        );
        let r: Reply<()> = serde_json::from_str(r#"{"ok":true,"result":null}"#).unwrap();
        assert_eq!(r.into_result(), Ok(()));
        let r: Reply<TunnelCreated> =
            serde_json::from_str(r#"{"ok":true,"result":{"tunnel_id":7}}"#).unwrap();
        assert_eq!(r.into_result(), Ok(TunnelCreated { tunnel_id: 7 }));
        let r: Reply<TunnelCreated> =
            serde_json::from_str(r#"{"ok":false,"error":"nope"}"#).unwrap();
        assert_eq!(r.into_result(), Err("nope".to_string()));
        let r: AnyReply = serde_json::from_str(r#"{"ok":true,"result":[1,2]}"#).unwrap();
        assert!(r.ok);
    }

    #[test]
    fn stats_reply_is_runtime_stats_plus_half_open() {
        let mut s = StatsReply::default();
        s.runtime.endpoint.refused_peers = 3;
        s.tunnels_half_open = 2;
        let v = serde_json::to_value(s).unwrap();
        assert_eq!(v["endpoint"]["refused_peers"], 3);
        assert_eq!(v["tunnels_half_open"], 2);
        assert_eq!(v["tunnels_up"], 0);
        // An older daemon's reply (no half-open count) still reads.
        let old = serde_json::to_string(&RuntimeStats::default()).unwrap();
        let back: StatsReply = serde_json::from_str(&old).unwrap();
        assert_eq!(back.tunnels_half_open, 0);
    }

    #[test]
    fn events_parse_and_unknown_kinds_are_tolerated() {
        let e: Event = serde_json::from_str(
            r#"{"ts":1.5,"event":"session_down","tunnel":"t1","session":"s2","tunnel_id":1,
            "session_id":2,"reason":"local","result_code":3,"error_code":0,"message":"bye"}"#,
        )
        .unwrap();
        assert_eq!(e.event, EventKind::SessionDown);
        assert_eq!(e.result_code, Some(3));
        let e: Event = serde_json::from_str(r#"{"event":"lagged","missed":4}"#).unwrap();
        assert_eq!(e, Event::lagged(4));
        assert_eq!(e.to_json(), r#"{"event":"lagged","missed":4}"#);
        let e: Event = serde_json::from_str(r#"{"event":"new_thing","x":1}"#).unwrap();
        assert_eq!(e.event, EventKind::Unknown);
    }

    #[test]
    fn tunnels_are_found_by_name_then_by_id_live_ones_first() {
        let mut lst = tunnel("lns", 0, "listening");
        lst.kind = "listener".into();
        let status = vec![
            tunnel("123", 5, "established"),
            tunnel("lns.28324", 28324, "down"),
            tunnel("lns.28324", 28324, "established"),
            tunnel("t1", 77, "waitctlreply"),
            lst,
        ];
        assert_eq!(find_tunnel(&status, "t1").unwrap().id, 77);
        assert_eq!(find_tunnel(&status, "77").unwrap().name, "t1");
        // A name made of digits wins over an ID.
        assert_eq!(find_tunnel(&status, "123").unwrap().id, 5);
        assert_eq!(find_tunnel(&status, "5").unwrap().name, "123");
        let t = find_tunnel(&status, "28324").unwrap();
        assert_eq!(t.state, "established");
        assert_eq!(find_tunnel(&status, "lns").unwrap().kind, "listener");
        assert!(
            find_tunnel(&status, "0").is_none(),
            "the listener has no ID"
        );
        assert!(find_tunnel(&status, "nope").is_none());
        assert!(find_tunnel(&status, "+77").is_none());
        assert!(find_tunnel(&status, "").is_none());
        // Only a downed one: found (the caller tells it is down).
        let only_down = vec![tunnel("x", 9, "down")];
        assert_eq!(find_tunnel(&only_down, "9").unwrap().state, "down");
    }

    #[test]
    fn sessions_are_found_by_name_then_by_id() {
        let mut t = tunnel("lns.1", 1, "established");
        t.sessions = vec![
            session("tmpl.6460", 6460, "down"),
            session("tmpl.6460", 6460, "established"),
            session("s1", 12, "establishing"),
        ];
        assert_eq!(find_session(&t, "6460").unwrap().state, "established");
        assert_eq!(find_session(&t, "tmpl.6460").unwrap().state, "established");
        assert_eq!(find_session(&t, "12").unwrap().name, "s1");
        assert!(find_session(&t, "13").is_none());
    }
}
