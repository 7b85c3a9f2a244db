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
use l2tp_runtime::status::TunnelStatus;
use l2tp_runtime::Context;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::Semaphore;

/// Longest request line accepted (bytes, without the newline).
pub const MAX_LINE: usize = 64 * 1024;
/// Clients served at once.
pub const MAX_CLIENTS: usize = 32;
/// A client that sends no request for this long is disconnected.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// The default socket path.
pub const DEFAULT_PATH: &str = "/run/l2tpd/control.sock";

/// One request, as sent by `l2tpctl`.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Every tunnel and session.
    Show {},
    /// Runtime-wide counters.
    Stats {},
    /// Create a tunnel from a `[tunnel.NAME]` table given as a JSON object.
    CreateTunnel {
        name: String,
        #[serde(default)]
        config: Map<String, Value>,
    },
    /// Close a tunnel.
    DeleteTunnel { name: String },
    /// Create a session in a tunnel from a `[tunnel.T.session.NAME]` table.
    CreateSession {
        tunnel: String,
        name: String,
        #[serde(default)]
        config: Map<String, Value>,
    },
    /// Close a session.
    DeleteSession { tunnel: String, name: String },
    /// Stream events until the client closes.
    Monitor {},
}

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
                let line = error_line(&format!("too many control clients (at most {MAX_CLIENTS})"));
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

fn error_line(msg: &str) -> String {
    let mut s = json!({"ok": false, "error": msg}).to_string();
    s.push('\n');
    s
}

fn ok_line(result: Value) -> String {
    let mut s = json!({"ok": true, "result": result}).to_string();
    s.push('\n');
    s
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

async fn client(stream: UnixStream, ctx: Context, profile: Profile) {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    loop {
        let line = match tokio::time::timeout(IDLE_TIMEOUT, read_line(&mut rd, MAX_LINE)).await {
            Err(_) | Ok(Err(LineError::Io)) | Ok(Ok(None)) => return,
            Ok(Err(LineError::TooLong)) => {
                let _ = wr
                    .write_all(
                        error_line(&format!("request longer than {MAX_LINE} bytes")).as_bytes(),
                    )
                    .await;
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
                if wr.write_all(error_line(&msg).as_bytes()).await.is_err() {
                    return;
                }
                continue;
            }
        };
        if matches!(req, Request::Monitor {}) {
            monitor(rd, wr, &ctx).await;
            return;
        }
        let reply = match handle(&ctx, req, profile).await {
            Ok(v) => ok_line(v),
            Err(e) => error_line(&e),
        };
        if wr.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Streams events until the client closes its end (or the runtime stops).
async fn monitor(
    mut rd: BufReader<tokio::net::unix::OwnedReadHalf>,
    mut wr: OwnedWriteHalf,
    ctx: &Context,
) {
    let mut events = ctx.subscribe();
    if wr
        .write_all(ok_line(json!("monitoring")).as_bytes())
        .await
        .is_err()
    {
        return;
    }
    loop {
        let line = tokio::select! {
            ev = events.recv() => match ev {
                Ok(ev) => crate::events::to_json_line(&ev),
                Err(RecvError::Lagged(n)) => json!({"event": "lagged", "missed": n}).to_string(),
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
        if wr.write_all(format!("{line}\n").as_bytes()).await.is_err() {
            return;
        }
    }
}

async fn handle(ctx: &Context, req: Request, profile: Profile) -> Result<Value, String> {
    let e = |e: l2tp_runtime::driver::DriverError| e.to_string();
    match req {
        Request::Show {} => ctx
            .status()
            .await
            .map_err(e)
            .map(|s| serde_json::to_value(s).unwrap_or(Value::Null)),
        Request::Stats {} => ctx
            .stats()
            .await
            .map_err(e)
            .map(|s| serde_json::to_value(s).unwrap_or(Value::Null)),
        Request::CreateTunnel { name, config } => {
            let section = tunnel_section(&name, &config, profile)?;
            let id = ctx.create_tunnel(&name, section).await.map_err(e)?;
            tracing::info!(tunnel = %name, id = id.0, "tunnel created via control socket");
            Ok(json!({"tunnel_id": id.0}))
        }
        Request::DeleteTunnel { name } => {
            ctx.close_tunnel(&name).await.map_err(e)?;
            tracing::info!(tunnel = %name, "tunnel closed via control socket");
            Ok(Value::Null)
        }
        Request::CreateSession {
            tunnel,
            name,
            config,
        } => {
            let status = ctx.status().await.map_err(e)?;
            let t = status
                .iter()
                .find(|t| t.name == tunnel)
                .ok_or_else(|| format!("no tunnel {tunnel}"))?;
            let section = session_section(t, &name, &config, profile)?;
            let id = ctx
                .create_session(&tunnel, &name, section)
                .await
                .map_err(e)?;
            tracing::info!(tunnel = %tunnel, session = %name, id = id.0,
                "session created via control socket");
            Ok(json!({"session_id": id.0}))
        }
        Request::DeleteSession { tunnel, name } => {
            ctx.close_session(&tunnel, &name).await.map_err(e)?;
            tracing::info!(tunnel = %tunnel, session = %name, "session closed via control socket");
            Ok(Value::Null)
        }
        Request::Monitor {} => Err("monitor must be the last request on a connection".into()),
    }
}

fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err(format!("{what} name must be 1 to 64 characters"));
    }
    if name.starts_with('#') || name.chars().any(char::is_control) {
        return Err(format!(
            "{what} name {name:?}: must not start with '#' or contain control characters"
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

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn requests_parse_and_unknown_fields_are_refused() {
        let r: Request = serde_json::from_str(r#"{"cmd":"show"}"#).unwrap();
        assert_eq!(r, Request::Show {});
        let r: Request =
            serde_json::from_str(r#"{"cmd":"delete_session","tunnel":"t","name":"s"}"#).unwrap();
        assert_eq!(
            r,
            Request::DeleteSession {
                tunnel: "t".into(),
                name: "s".into()
            }
        );
        let e = serde_json::from_str::<Request>(r#"{"cmd":"show","x":1}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
        let e = serde_json::from_str::<Request>(r#"{"cmd":"frobnicate"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant"), "{e}");
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
        assert!(session_section(&t, "#3", &Map::new(), Profile::L2tpd).is_err());
    }
}
