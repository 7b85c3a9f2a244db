//! Talking to l2tpd's control socket (JSON lines, see `docs/control-protocol.md`).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value};

/// The daemon's default control socket.
pub const DEFAULT_PATH: &str = "/run/l2tpd/control.sock";

/// An open connection.
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    /// Connects, turning the usual failures into one readable line.
    pub fn connect(path: &Path) -> Result<Client, String> {
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
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        let writer = stream.try_clone().map_err(|e| format!("{shown}: {e}"))?;
        Ok(Client {
            reader: BufReader::new(stream),
            writer,
        })
    }

    /// Sends one request and returns its `result`, or the daemon's `error`.
    pub fn call(&mut self, request: &Value) -> Result<Value, String> {
        self.send(request)?;
        let reply = self
            .next_line()?
            .ok_or("l2tpd closed the connection without replying")?;
        let mut v: Value =
            serde_json::from_str(&reply).map_err(|e| format!("bad reply from l2tpd: {e}"))?;
        if v["ok"] == Value::Bool(true) {
            Ok(v["result"].take())
        } else {
            Err(v["error"]
                .as_str()
                .unwrap_or("l2tpd reported an error without a message")
                .to_string())
        }
    }

    fn send(&mut self, request: &Value) -> Result<(), String> {
        let mut line = request.to_string();
        line.push('\n');
        self.writer
            .write_all(line.as_bytes())
            .map_err(|e| format!("sending to l2tpd: {e}"))
    }

    /// Starts `monitor`; afterwards [`Client::next_line`] yields events.
    pub fn monitor(&mut self) -> Result<(), String> {
        let _ = self.reader.get_ref().set_read_timeout(None);
        self.call(&serde_json::json!({"cmd": "monitor"}))
            .map(|_| ())
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
}
