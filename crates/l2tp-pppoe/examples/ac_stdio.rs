//! The access concentrator driven over stdin/stdout, for interop runs against real clients
//! (`tests/interop/pppoe-discovery.sh` puts an AF_PACKET shim in front of it).
//!
//! Input: one received Ethernet frame per line, in hex. Output: one frame to send per line, in
//! hex. Session requests are accepted at once. The AC MAC is the first argument
//! (aa:bb:cc:dd:ee:ff), the AC-Name the second.

use std::io::{BufRead, Write};
use std::time::Instant;

use l2tp_pppoe::ac::{AccessConcentrator, Config, Event};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mac_arg = args
        .get(1)
        .map(String::as_str)
        .unwrap_or("02:ac:00:00:00:01");
    let mut mac = [0u8; 6];
    for (i, part) in mac_arg.split(':').enumerate().take(6) {
        mac[i] = u8::from_str_radix(part, 16).expect("MAC as aa:bb:cc:dd:ee:ff");
    }
    let config = Config {
        mac,
        ac_name: args.get(2).cloned().unwrap_or_else(|| "l2tp-rs".into()),
        services: vec!["isp-a".into()],
        ..Config::default()
    };
    let mut ac = AccessConcentrator::new(config, Instant::now()).expect("config");
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let Ok(frame) = hex::decode(line.trim()) else {
            continue;
        };
        ac.handle_frame(Instant::now(), &frame);
        while let Some(ev) = ac.poll_event() {
            if let Event::SessionRequested { session_id, .. } = ev {
                ac.accept(session_id).expect("pending");
            }
        }
        while let Some(f) = ac.poll_transmit() {
            writeln!(out, "{}", hex::encode(f)).expect("stdout");
        }
        out.flush().expect("stdout");
    }
}
