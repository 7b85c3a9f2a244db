//! systemd readiness notification (`sd_notify`): one datagram to `$NOTIFY_SOCKET`.
//!
//! A few lines instead of a dependency: the protocol is "send `KEY=VALUE` lines as one datagram
//! to the Unix socket named in `$NOTIFY_SOCKET`"; a name starting with `@` is in the abstract
//! namespace. Without `$NOTIFY_SOCKET` (not started by systemd) nothing is sent.

use std::os::unix::net::UnixDatagram;

/// Sends `state` (e.g. `"READY=1"`) when `$NOTIFY_SOCKET` is set. Errors are logged, never
/// fatal: a daemon must not die because its supervisor went away.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(e) = send(&path.to_string_lossy(), state) {
        tracing::warn!(socket = %path.to_string_lossy(), "sd_notify {state:?}: {e}");
    }
}

fn send(path: &str, state: &str) -> std::io::Result<()> {
    let sock = UnixDatagram::unbound()?;
    if let Some(name) = path.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
        sock.send_to_addr(state.as_bytes(), &addr)?;
    } else {
        sock.send_to(state.as_bytes(), path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn sends_state_to_a_path_socket() {
        let dir = std::env::temp_dir().join(format!("l2tpd-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let rx = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        super::send(path.to_str().unwrap(), "READY=1").unwrap();
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn sends_state_to_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("l2tpd-notify-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let rx = std::os::unix::net::UnixDatagram::bind_addr(&addr).unwrap();
        super::send(&format!("@{name}"), "STOPPING=1").unwrap();
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
    }
}
