//! Talking to l2tpd's control socket (JSON lines, see `docs/control-protocol.md`), with the
//! protocol's types from [`l2tp_runtime::control`] (the daemon uses the same ones).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use l2tp_runtime::control::{Call, Event, Monitor, Reply, Request, TOO_MANY_CLIENTS};
use serde_json::{Map, Value};

pub use l2tp_runtime::control::DEFAULT_PATH;

/// How long a reply may take.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long to keep retrying while the daemon is at its client limit: longer than its idle
/// timeout (10 s), after which a slot held by an idle client is free again.
const BUSY_RETRY: Duration = Duration::from_secs(25);

/// An open connection.
pub struct Client {
    path: PathBuf,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// Whether the daemon answered a request on this connection (then it was not refused).
    served: bool,
}

fn open(path: &Path) -> Result<(BufReader<UnixStream>, UnixStream), String> {
    let shown = path.display();
    let stream = UnixStream::connect(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("l2tpd is not running (no control socket at {shown})")
        }
        std::io::ErrorKind::ConnectionRefused => {
            format!("l2tpd is not running (stale control socket at {shown})")
        }
        std::io::ErrorKind::PermissionDenied => {
            format!("{shown}: permission denied (the control socket is root-only)")
        }
        _ => format!("{shown}: {e}"),
    })?;
    let _ = stream.set_read_timeout(Some(REPLY_TIMEOUT));
    let writer = stream.try_clone().map_err(|e| format!("{shown}: {e}"))?;
    Ok((BufReader::new(stream), writer))
}

impl Client {
    /// Connects, turning the usual failures into one readable line.
    pub fn connect(path: &Path) -> Result<Client, String> {
        let (reader, writer) = open(path)?;
        Ok(Client {
            path: path.to_path_buf(),
            reader,
            writer,
            served: false,
        })
    }

    /// Sends one request and returns its typed result, or the daemon's error. While the
    /// daemon turns the connection away because it is serving as many clients as it will
    /// (before reading anything from it), reconnects and tries again, for a while.
    pub fn call<C: Call>(&mut self, request: C) -> Result<C::Output, String> {
        let request: Request = request.into();
        let line = request.to_line();
        let start = Instant::now();
        let mut pause = Duration::from_millis(50);
        loop {
            let reply = self.exchange(&line)?;
            let reply: Reply<C::Output> =
                serde_json::from_str(&reply).map_err(|e| format!("bad reply from l2tpd: {e}"))?;
            let refused = !self.served
                && !reply.ok
                && reply
                    .error
                    .as_deref()
                    .is_some_and(|e| e.starts_with(TOO_MANY_CLIENTS));
            if !refused || start.elapsed() > BUSY_RETRY {
                self.served = true;
                return reply.into_result();
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_secs(1));
            (self.reader, self.writer) = open(&self.path)?;
        }
    }

    /// Writes a request line and reads the reply line. A refused connection may be closed
    /// before the request is written: its reply is still read.
    fn exchange(&mut self, line: &str) -> Result<String, String> {
        let sent = self.writer.write_all(line.as_bytes());
        match self.next_line() {
            Ok(Some(reply)) => Ok(reply),
            Ok(None) => Err(match sent {
                Err(e) => format!("sending to l2tpd: {e}"),
                Ok(()) => "l2tpd closed the connection without replying".into(),
            }),
            Err(e) => Err(e),
        }
    }

    /// Starts `monitor`; afterwards [`Client::next_line`] and [`Client::next_event`] yield
    /// events.
    pub fn monitor(&mut self) -> Result<(), String> {
        let _ = self.reader.get_ref().set_read_timeout(None);
        self.call(Monitor {}).map(|_| ())
    }

    /// The next line from the daemon, `None` when it closed the connection.
    pub fn next_line(&mut self) -> Result<Option<String>, String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(line.trim_end().to_string())),
            Err(e) => Err(format!("reading from l2tpd: {e}")),
        }
    }

    /// The next event after [`Client::monitor`], with its line as sent.
    pub fn next_event(&mut self) -> Result<Option<(String, Event)>, String> {
        let Some(line) = self.next_line()? else {
            return Ok(None);
        };
        let ev = serde_json::from_str(&line).map_err(|e| format!("bad event from l2tpd: {e}"))?;
        Ok(Some((line, ev)))
    }
}

/// Parses `key=value` arguments into a config object. Values are read as TOML-like values
/// where possible (numbers, `true`/`false`, quoted strings, arrays), bare strings otherwise.
/// Dotted keys nest: `session.s1.pseudowire=ppp`.
pub fn parse_assignments(args: &[String]) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for a in args {
        let (key, value) = a
            .split_once('=')
            .ok_or_else(|| format!("expected key=value, got {a:?}"))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("expected key=value, got {a:?}"));
        }
        let parts: Vec<&str> = key.split('.').collect();
        let mut table = &mut out;
        for p in &parts[..parts.len() - 1] {
            let slot = table
                .entry(p.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            table = slot
                .as_object_mut()
                .ok_or_else(|| format!("{key}: {p} is not a table"))?;
        }
        let last = parts[parts.len() - 1];
        if table.contains_key(last) {
            return Err(format!("{key} given twice"));
        }
        table.insert(last.to_string(), parse_value(value.trim()));
    }
    Ok(out)
}

/// One value: JSON/TOML scalars and arrays, `'literal'` strings, else the text itself.
pub fn parse_value(s: &str) -> Value {
    if let Ok(v) = serde_json::from_str::<Value>(s) {
        if !v.is_object() && !v.is_null() {
            return v;
        }
    }
    if s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') {
        return Value::String(s[1..s.len() - 1].to_string());
    }
    if s.len() >= 2 && s.starts_with('[') && s.ends_with(']') {
        let inner = s[1..s.len() - 1].trim();
        if inner.is_empty() {
            return Value::Array(Vec::new());
        }
        return Value::Array(inner.split(',').map(|x| parse_value(x.trim())).collect());
    }
    Value::String(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn assignments_become_typed_values() {
        let m = parse_assignments(&args(&[
            "peer=127.0.0.1:1701",
            "tid=100",
            "challenge=true",
            "host_name=\"lac one\"",
            "secret='s3'",
            "framing_caps=[sync, async]",
            "cookie=[1,2,3,4]",
            "session.s1.pseudowire=ppp",
            "session.s1.sid=5",
        ]))
        .unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"peer": "127.0.0.1:1701", "tid": 100, "challenge": true,
                "host_name": "lac one", "secret": "s3", "framing_caps": ["sync", "async"],
                "cookie": [1, 2, 3, 4],
                "session": {"s1": {"pseudowire": "ppp", "sid": 5}}})
        );
    }

    #[test]
    fn bad_assignments_are_refused() {
        assert_eq!(
            parse_assignments(&args(&["peer"])).unwrap_err(),
            "expected key=value, got \"peer\""
        );
        assert_eq!(
            parse_assignments(&args(&["tid=1", "tid=2"])).unwrap_err(),
            "tid given twice"
        );
    }

    /// A fake daemon at its client limit for the first two connections, then serving.
    #[test]
    fn a_refused_connection_is_retried() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("c.sock");
        let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let server = std::thread::spawn(move || {
            for i in 0..3 {
                let (mut s, _) = listener.accept().unwrap();
                if i < 2 {
                    // Refused before reading, as l2tpd does.
                    s.write_all(
                        b"{\"ok\":false,\"error\":\"too many control clients (at most 32)\"}\n",
                    )
                    .unwrap();
                    continue;
                }
                let mut line = String::new();
                BufReader::new(s.try_clone().unwrap())
                    .read_line(&mut line)
                    .unwrap();
                assert_eq!(line, "{\"cmd\":\"monitor\"}\n");
                s.write_all(b"{\"ok\":true,\"result\":\"monitoring\"}\n")
                    .unwrap();
            }
        });
        let mut c = Client::connect(&sock).unwrap();
        assert_eq!(c.call(Monitor {}), Ok("monitoring".to_string()));
        server.join().unwrap();
    }
}
