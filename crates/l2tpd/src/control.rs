//! The control socket: a Unix stream socket speaking JSON lines (see
//! `docs/control-protocol.md`).
//!
//! One request object per line, one reply object per line:
//! `{"ok":true,"result":…}` or `{"ok":false,"error":"…"}`. `monitor` replies once and then
//! streams events (the `--events json` format) until the client closes.
//!
//! Access control is the file mode (0600, owner root). Requests are bounded: a line longer than
//! [`MAX_LINE`] ends the connection with an error, at most [`MAX_CLIENTS`] clients are served
//! at once (the next one gets an error line and is closed), and a client that sends nothing for
//! [`IDLE_TIMEOUT`] is disconnected (except while monitoring).

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use l2tp_runtime::config::{Config, Profile, SessionSection, TunnelSection};
use l2tp_runtime::control::{
    self, Call, CreateSession, CreateTunnel, DeleteSession, DeleteTunnel, Event, Reply, Request,
    SessionCreated, Show, ShowPppoe, Stats, StatsReply, TunnelCreated,
};
use l2tp_runtime::status::{Named, TunnelStatus};
use l2tp_runtime::Context;
use serde_json::{Map, Value};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::Semaphore;

/// Longest request line accepted (bytes, without the newline).
pub const MAX_LINE: usize = 64 * 1024;
/// Clients served at once.
pub const MAX_CLIENTS: usize = 32;
/// A client that sends no complete request line for this long (after connecting or after its
/// last reply) is disconnected, and so is one that does not take a reply (or, monitoring, an
/// event) within this long: idle or stuck clients cannot hold the [`MAX_CLIENTS`] slots.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// The default socket path.
pub const DEFAULT_PATH: &str = control::DEFAULT_PATH;

/// The bound socket; removes its file when dropped.
pub struct ControlSocket {
    path: PathBuf,
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds the control socket at `path`: creates the directory, replaces a stale socket file
/// (refuses when a live daemon answers on it), and makes the socket mode 0600 before it becomes
/// reachable under its name (bound under a temporary name, chmod, then renamed).
pub fn bind(path: &Path) -> anyhow::Result<(UnixListener, ControlSocket)> {
    let shown = path.display();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("control socket directory {}: {e}", dir.display()))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                anyhow::bail!("control socket {shown}: another l2tpd is running there");
            }
            std::fs::remove_file(path)
                .map_err(|e| anyhow::anyhow!("control socket {shown}: removing stale: {e}"))?;
        }
        Ok(_) => anyhow::bail!("control socket {shown}: exists and is not a socket"),
        Err(_) => {}
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp)
        .map_err(|e| anyhow::anyhow!("control socket {}: {e}", tmp.display()))?;
    let placed = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&tmp);
        anyhow::bail!("control socket {shown}: {e}");
    }
    Ok((
        listener,
        ControlSocket {
            path: path.to_path_buf(),
        },
    ))
}

/// Serves clients until the task is dropped.
pub async fn serve(listener: UnixListener, ctx: Context, profile: Profile) {
    let limit = Arc::new(Semaphore::new(MAX_CLIENTS));
    loop {
        let mut stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!("control socket: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            tokio::spawn(async move {
                let line = Reply::<()>::err(format!(
                    "{} (at most {MAX_CLIENTS})",
                    control::TOO_MANY_CLIENTS
                ))
                .to_line();
                let _ =
                    tokio::time::timeout(Duration::from_secs(1), stream.write_all(line.as_bytes()))
                        .await;
            });
            continue;
        };
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            client(stream, ctx, profile).await;
        });
    }
}

enum LineError {
    TooLong,
    Io,
}

/// Reads one line of at most `max` bytes (newline excluded). `Ok(None)` at end of stream.
async fn read_line(
    rd: &mut (impl AsyncBufRead + Unpin),
    max: usize,
) -> Result<Option<Vec<u8>>, LineError> {
    let mut line = Vec::new();
    loop {
        let buf = rd.fill_buf().await.map_err(|_| LineError::Io)?;
        if buf.is_empty() {
            return Ok((!line.is_empty()).then_some(line));
        }
        if let Some(i) = buf.iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&buf[..i]);
            rd.consume(i + 1);
            if line.len() > max {
                return Err(LineError::TooLong);
            }
            return Ok(Some(line));
        }
        let n = buf.len();
        line.extend_from_slice(buf);
        rd.consume(n);
        if line.len() > max {
            return Err(LineError::TooLong);
        }
    }
}

/// Writes `text` within [`IDLE_TIMEOUT`]; false when the client is gone or does not read.
async fn send(wr: &mut (impl AsyncWrite + Unpin), text: &str) -> bool {
    matches!(
        tokio::time::timeout(IDLE_TIMEOUT, wr.write_all(text.as_bytes())).await,
        Ok(Ok(()))
    )
}

async fn client(stream: UnixStream, ctx: Context, profile: Profile) {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    loop {
        // The whole line must arrive within the timeout: a client that stops mid-line is
        // dropped like one that sends nothing.
        let line = match tokio::time::timeout(IDLE_TIMEOUT, read_line(&mut rd, MAX_LINE)).await {
            Err(_) => {
                tracing::debug!("control socket: idle client disconnected");
                return;
            }
            Ok(Err(LineError::Io)) | Ok(Ok(None)) => return,
            Ok(Err(LineError::TooLong)) => {
                let msg = format!("request longer than {MAX_LINE} bytes");
                send(&mut wr, &Reply::<()>::err(msg).to_line()).await;
                return;
            }
            Ok(Ok(Some(l))) => l,
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let req: Request = match serde_json::from_slice(&line) {
            Ok(r) => r,
            Err(e) => {
                let msg = format!("bad request: {e}");
                if !send(&mut wr, &Reply::<()>::err(msg).to_line()).await {
                    return;
                }
                continue;
            }
        };
        if matches!(req, Request::Monitor(_)) {
            monitor(rd, wr, &ctx).await;
            return;
        }
        let reply = handle(&ctx, req, profile).await;
        if !send(&mut wr, &reply).await {
            return;
        }
    }
}

/// Streams events until the client closes its end (or the runtime stops, or the client stops
/// reading for [`IDLE_TIMEOUT`]).
async fn monitor(
    mut rd: BufReader<tokio::net::unix::OwnedReadHalf>,
    mut wr: OwnedWriteHalf,
    ctx: &Context,
) {
    let mut events = ctx.subscribe();
    if !send(&mut wr, &Reply::ok("monitoring".to_string()).to_line()).await {
        return;
    }
    loop {
        let ev = tokio::select! {
            ev = events.recv() => match ev {
                Ok(ev) => Event::from_runtime(&ev, now()),
                Err(RecvError::Lagged(n)) => Event::lagged(n),
                Err(RecvError::Closed) => return,
            },
            r = rd.fill_buf() => match r {
                Ok([]) | Err(_) => return,
                Ok(buf) => {
                    // Input while monitoring is ignored.
                    let n = buf.len();
                    rd.consume(n);
                    continue;
                }
            },
        };
        let mut line = ev.to_json();
        line.push('\n');
        if !send(&mut wr, &line).await {
            return;
        }
    }
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The reply line to one request (not `monitor`).
async fn handle(ctx: &Context, req: Request, profile: Profile) -> String {
    fn line<C: Call>(_: &C, r: Result<C::Output, String>) -> String {
        match r {
            Ok(v) => Reply::ok(v).to_line(),
            Err(e) => Reply::<C::Output>::err(e).to_line(),
        }
    }
    match req {
        Request::Show(r) => line(&r, show(ctx, &r).await),
        Request::Stats(r) => line(&r, stats(ctx).await),
        Request::CreateTunnel(r) => line(&r, create_tunnel(ctx, &r, profile).await),
        Request::DeleteTunnel(r) => line(&r, delete_tunnel(ctx, &r).await),
        Request::CreateSession(r) => line(&r, create_session(ctx, &r, profile).await),
        Request::DeleteSession(r) => line(&r, delete_session(ctx, &r).await),
        Request::ShowPppoe(r) => line(&r, show_pppoe().await),
        Request::Monitor(r) => line(
            &r,
            Err("monitor must be the last request on a connection".into()),
        ),
    }
}

fn driver_error(e: l2tp_runtime::driver::DriverError) -> String {
    e.to_string()
}

/// The whole snapshot, or (scoped) one tunnel's part of it without a snapshot of the rest.
async fn show(ctx: &Context, r: &Show) -> Result<<Show as Call>::Output, String> {
    match (&r.tunnel, &r.session) {
        (None, None) => ctx.status().await,
        (Some(t), s) => ctx.status_of(t, s.as_deref()).await,
        (None, Some(_)) => return Err("show: a session is named within its tunnel".into()),
    }
    .map_err(driver_error)
}

async fn show_pppoe() -> Result<<ShowPppoe as Call>::Output, String> {
    match crate::PPPOE.get() {
        Some(p) => Ok(p.status().await),
        None => Err("no PPPoE access concentrator runs (no [pppoe] in the configuration)".into()),
    }
}

async fn stats(ctx: &Context) -> Result<<Stats as Call>::Output, String> {
    // O(1): counters only, no snapshot.
    let runtime = ctx.stats().await.map_err(driver_error)?;
    Ok(StatsReply {
        runtime,
        tunnels_half_open: runtime.tunnels_half_open(),
    })
}

async fn create_tunnel(
    ctx: &Context,
    r: &CreateTunnel,
    profile: Profile,
) -> Result<TunnelCreated, String> {
    let section = tunnel_section(&r.name, &r.config, profile)?;
    let id = ctx
        .create_tunnel(&r.name, section)
        .await
        .map_err(driver_error)?;
    tracing::info!(tunnel = %r.name, id = id.0, "tunnel created via control socket");
    Ok(TunnelCreated { tunnel_id: id.0 })
}

/// The tunnel `key` names, with the session `session` names in it when asked: resolved by
/// the driver through its indexes (O(1), no snapshot of every tunnel). Errors: `no tunnel
/// KEY`, or that it is down and why.
async fn resolve(ctx: &Context, key: &str, session: Option<&str>) -> Result<Named, String> {
    match ctx.lookup(key, session).await.map_err(driver_error)? {
        None => Err(format!("no tunnel {key}")),
        Some(n) if n.tunnel.state == "down" => Err(format!(
            "tunnel {} is down ({})",
            n.tunnel.name,
            n.tunnel
                .last_error
                .as_deref()
                .unwrap_or("no reason recorded")
        )),
        Some(n) => Ok(n),
    }
}

async fn delete_tunnel(ctx: &Context, r: &DeleteTunnel) -> Result<(), String> {
    let name = resolve(ctx, &r.name, None).await?.tunnel.name;
    ctx.close_tunnel(&name).await.map_err(driver_error)?;
    tracing::info!(tunnel = %name, "tunnel closed via control socket");
    Ok(())
}

async fn create_session(
    ctx: &Context,
    r: &CreateSession,
    profile: Profile,
) -> Result<SessionCreated, String> {
    let t = resolve(ctx, &r.tunnel, None).await?.tunnel;
    let section = session_section(&t, &r.name, &r.config, profile)?;
    let id = ctx
        .create_session(&t.name, &r.name, section)
        .await
        .map_err(driver_error)?;
    tracing::info!(tunnel = %t.name, session = %r.name, id = id.0,
        "session created via control socket");
    Ok(SessionCreated { session_id: id.0 })
}

async fn delete_session(ctx: &Context, r: &DeleteSession) -> Result<(), String> {
    let Named { tunnel: t, session } = resolve(ctx, &r.tunnel, Some(&r.name)).await?;
    let s = match session {
        None => return Err(format!("no session {} in tunnel {}", r.name, t.name)),
        Some(s) if s.state == "down" => {
            return Err(format!(
                "session {}/{} is down ({})",
                t.name,
                s.name,
                s.last_error.as_deref().unwrap_or("no reason recorded")
            ))
        }
        Some(s) => s,
    };
    ctx.close_session(&t.name, &s.name)
        .await
        .map_err(driver_error)?;
    tracing::info!(tunnel = %t.name, session = %s.name, "session closed via control socket");
    Ok(())
}

/// Checks a name given for a new tunnel or session. Refused: empty or over 64 bytes, `.`
/// (the tunnels and calls peers open are named `LISTENER.ID` / `TEMPLATE.ID`), `/` (the
/// `TUNNEL/SESSION` notation), whitespace and control characters (names are shell words).
fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err(format!("{what} name must be 1 to 64 characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, '.' | '/') || c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "{what} name {name:?}: {c:?} is not allowed (no '.', which names of tunnels and \
             calls opened by peers use, no '/', whitespace or control characters)"
        ));
    }
    Ok(())
}

/// Parses a `[tunnel.NAME]` table given as JSON with the config file's parser.
pub fn tunnel_section(
    name: &str,
    config: &Map<String, Value>,
    profile: Profile,
) -> Result<TunnelSection, String> {
    check_name("tunnel", name)?;
    let text = format!("[tunnel.{}]\n{}", quote(name), toml_body(config)?);
    let mut parsed = parse(&text, profile)?;
    Ok(parsed.tunnels.remove(0).1)
}

/// Parses a `[tunnel.T.session.NAME]` table given as JSON with the config file's parser, in the
/// context of the running tunnel `t` (version, encap and kind decide what is valid).
pub fn session_section(
    t: &TunnelStatus,
    name: &str,
    config: &Map<String, Value>,
    profile: Profile,
) -> Result<SessionSection, String> {
    check_name("session", name)?;
    // A stand-in for the tunnel's table: only what the session checks look at is real.
    let mut head = format!(
        "[tunnel.{}]\nkind = {}\nversion = {}\nencap = {}\n",
        quote(&t.name),
        quote(&t.kind),
        quote(&t.version),
        quote(&t.encap)
    );
    if t.kind == "dynamic" {
        head.push_str("peer = \"192.0.2.1:1701\"\n");
    } else {
        head.push_str("local = \"192.0.2.2:1701\"\npeer = \"192.0.2.1:1701\"\ntid = 1\nptid = 1\n");
    }
    let text = format!(
        "{head}[tunnel.{}.session.{}]\n{}",
        quote(&t.name),
        quote(name),
        toml_body(config)?
    );
    let mut parsed = parse(&text, profile)?;
    let mut tunnel = parsed.tunnels.remove(0).1;
    Ok(tunnel.sessions.remove(0).1)
}

fn parse(text: &str, profile: Profile) -> Result<Config, String> {
    // Positions refer to the generated text, not to anything the user wrote: report the key
    // and the message only.
    Config::parse_as(text, "request", profile).map_err(|e| match e.key {
        Some(k) => format!("{k}: {}", e.message),
        None => e.message,
    })
}

/// A TOML basic string (JSON's string escapes are a subset of TOML's).
fn quote(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

/// `key = value` lines for a table body.
fn toml_body(config: &Map<String, Value>) -> Result<String, String> {
    let mut out = String::new();
    for (k, v) in config {
        out.push_str(&format!("{} = {}\n", quote(k), toml_value(k, v)?));
    }
    Ok(out)
}

fn toml_value(key: &str, v: &Value) -> Result<String, String> {
    Ok(match v {
        Value::Null => return Err(format!("{key}: null is not a valid value")),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(_) => v.to_string(),
        Value::Array(a) => {
            let items: Result<Vec<String>, String> = a.iter().map(|x| toml_value(key, x)).collect();
            format!("[{}]", items?.join(", "))
        }
        Value::Object(m) => {
            let items: Result<Vec<String>, String> = m
                .iter()
                .map(|(k, x)| Ok(format!("{} = {}", quote(k), toml_value(k, x)?)))
                .collect();
            format!("{{{}}}", items?.join(", "))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn show_pppoe_without_an_access_concentrator_says_so() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let e = rt.block_on(show_pppoe()).unwrap_err();
        assert!(e.starts_with("no PPPoE access concentrator runs"), "{e}");
        // The request travels as {"cmd":"show_pppoe"}.
        assert_eq!(
            Request::from(ShowPppoe {}).to_line(),
            "{\"cmd\":\"show_pppoe\"}\n"
        );
    }

    #[test]
    fn names_may_not_contain_dots_slashes_whitespace_or_controls() {
        for ok in ["t1", "isp-uplink_2", "#3", "123", "é"] {
            assert_eq!(check_name("tunnel", ok), Ok(()), "{ok}");
        }
        for bad in ["lns.28324", "a/b", "a b", "a\tb", "a\nb", "a\u{7f}"] {
            let e = check_name("tunnel", bad).unwrap_err();
            assert!(e.contains("is not allowed (no '.'"), "{bad}: {e}");
        }
        assert_eq!(
            check_name("session", "tmpl.6460").unwrap_err(),
            "session name \"tmpl.6460\": '.' is not allowed (no '.', which names of tunnels \
             and calls opened by peers use, no '/', whitespace or control characters)"
        );
        assert!(check_name("tunnel", "").is_err());
        assert!(check_name("tunnel", &"x".repeat(65)).is_err());
        let e = tunnel_section("a.b", &obj(json!({"peer": "127.0.0.1:1"})), Profile::L2tpd)
            .unwrap_err();
        assert!(e.starts_with("tunnel name \"a.b\""), "{e}");
    }

    /// The monitor's typed events are the `--events json` lines, field for field.
    #[test]
    fn monitor_events_match_the_events_json_format() {
        use l2tp_proto::endpoint::{DownReason, Event as E, SessionId, SessionParams, TunnelId};
        use l2tp_proto::wire::{CallErrors, Encap, ResultCode, Version};
        use l2tp_runtime::RuntimeEvent;
        let rc = ResultCode {
            result: 3,
            error: Some(0),
            message: Some(b"closed by operator".to_vec()),
        };
        let params = SessionParams {
            local_cookie: vec![1, 2, 3, 4],
            peer_cookie: vec![5, 6, 7, 8],
            l2_specific: 1,
            ..SessionParams::default()
        };
        let events = [
            E::TunnelUp {
                tunnel: TunnelId(7),
                peer_tunnel_id: 9,
                peer: "127.0.0.1:1701".parse().unwrap(),
                version: Version::V3,
                encap: Encap::Ip,
                peer_host_name: b"lns".to_vec(),
            },
            E::TunnelDown {
                tunnel: TunnelId(7),
                reason: DownReason::Peer(rc.clone()),
            },
            E::TunnelDown {
                tunnel: TunnelId(7),
                reason: DownReason::Timeout,
            },
            E::SessionUp {
                tunnel: TunnelId(7),
                session: SessionId(5),
                peer_session_id: 6,
                peer_tunnel_id: 9,
                pseudowire: 5,
                params,
            },
            E::SessionUp {
                tunnel: TunnelId(7),
                session: SessionId(5),
                peer_session_id: 6,
                peer_tunnel_id: 9,
                pseudowire: 7,
                params: SessionParams::default(),
            },
            E::WanError {
                tunnel: TunnelId(7),
                session: SessionId(5),
                errors: CallErrors {
                    crc: 1,
                    framing: 2,
                    hardware_overruns: 3,
                    buffer_overruns: 4,
                    timeouts: 5,
                    alignment: 6,
                },
            },
            E::LinkInfo {
                tunnel: TunnelId(7),
                session: SessionId(5),
                accm: Some((1, 2)),
                circuit_status: Some(3),
            },
            E::SessionDown {
                tunnel: TunnelId(7),
                session: SessionId(5),
                reason: DownReason::Local(ResultCode {
                    result: 2,
                    error: None,
                    message: None,
                }),
            },
            E::SessionDown {
                tunnel: TunnelId(7),
                session: SessionId(5),
                reason: DownReason::TunnelDown,
            },
        ];
        for (i, event) in events.into_iter().enumerate() {
            let ev = RuntimeEvent {
                tunnel_name: "t1".into(),
                session_name: (i > 2).then(|| "s1".to_string()),
                interface_name: Some("l2tpeth0".into()),
                event,
                username: None,
                address: None,
            };
            let mut expected: Value =
                serde_json::from_str(&crate::events::to_json_line(&ev)).unwrap();
            let mut got = serde_json::to_value(Event::from_runtime(&ev, 0.0)).unwrap();
            expected.as_object_mut().unwrap().remove("ts");
            got.as_object_mut().unwrap().remove("ts");
            assert_eq!(got, expected, "{:?}", ev.event);
            // And the client reads the line back to the same event.
            let back: Event = serde_json::from_str(&crate::events::to_json_line(&ev)).unwrap();
            assert_eq!(
                serde_json::to_value(back).unwrap()["event"],
                expected["event"]
            );
        }
    }

    #[test]
    fn tunnel_config_goes_through_the_file_parser() {
        let t = tunnel_section(
            "t1",
            &obj(
                json!({"peer": "127.0.0.1:1701", "version": "l2tpv3", "tid": 7,
                "framing_caps": ["sync"], "session": {"s1": {"pseudowire": "eth"}}}),
            ),
            Profile::L2tpd,
        )
        .unwrap();
        assert_eq!(t.peer, Some("127.0.0.1:1701".parse().unwrap()));
        assert_eq!(t.tid, Some(7));
        assert_eq!(t.framing_caps, 1);
        assert_eq!(t.sessions.len(), 1);
        assert_eq!(t.sessions[0].0, "s1");

        let e = tunnel_section(
            "t1",
            &obj(json!({"peer": "127.0.0.1:1701", "encap": "tcp"})),
            Profile::L2tpd,
        )
        .unwrap_err();
        assert_eq!(e, "tunnel.t1.encap: expect 'udp' or 'ip', got \"tcp\"");
        let e = tunnel_section(
            "t1",
            &obj(json!({"peer": "x:1", "bogus": 1})),
            Profile::L2tpd,
        )
        .unwrap_err();
        assert!(e.contains("unrecognised parameter 'bogus'"), "{e}");
        let e = tunnel_section("t\"1", &obj(json!({"peer": null})), Profile::L2tpd).unwrap_err();
        assert_eq!(e, "peer: null is not a valid value");
    }

    #[test]
    fn session_config_is_checked_against_the_tunnel() {
        let t = TunnelStatus {
            name: "t1".into(),
            id: 1,
            kind: "dynamic".into(),
            state: "established".into(),
            version: "l2tpv2".into(),
            encap: "udp".into(),
            local: None,
            peer: None,
            peer_tunnel_id: 2,
            peer_host_name: None,
            control_rx: 0,
            control_tx: 0,
            retransmits: 0,
            sessions: vec![],
            last_error: None,
            down_for: None,
        };
        let s = session_section(&t, "s2", &obj(json!({"sid": 5})), Profile::L2tpd).unwrap();
        assert_eq!(s.sid, Some(5));
        let e = session_section(&t, "s2", &obj(json!({"pseudowire": "eth"})), Profile::L2tpd)
            .unwrap_err();
        assert!(
            e.starts_with("tunnel.t1.session.s2.pseudowire: expect 'ppp' or 'pppac'"),
            "{e}"
        );
        assert!(session_section(&t, "tmpl.3", &Map::new(), Profile::L2tpd).is_err());
    }
}
