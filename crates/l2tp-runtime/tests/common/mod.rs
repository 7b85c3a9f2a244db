//! Shared scaffolding of the runtime's integration tests.
#![allow(dead_code)]

use std::time::Duration;

use l2tp_runtime::RuntimeEvent;
use tokio::sync::broadcast::Receiver;

/// A UDP port on 127.0.0.1 that was free a moment ago.
pub fn free_udp_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.local_addr().expect("addr").port()
}

/// The next event that `f` accepts, within 20 s (slack for a busy machine).
pub async fn next_matching(
    rx: &mut Receiver<RuntimeEvent>,
    what: &str,
    f: impl Fn(&RuntimeEvent) -> bool,
) -> RuntimeEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let ev = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .expect("event channel open");
        if f(&ev) {
            return ev;
        }
    }
}
