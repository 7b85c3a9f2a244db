//! The daemon's log subscriber (`src/logging.rs`, the same construction as `l2tpd` uses)
//! with a blocking and a non-blocking writer: 100,000 session-like INFO lines.
//!
//! `cargo bench -p l2tpd --bench logging` prints, per case, the rate at which the logging
//! thread (in the daemon: the event loop) gets through its lines, and for the non-blocking
//! writer also the end-to-end rate (until the background thread has written everything) and
//! the lines dropped.
//!
//! Cases: `/dev/null` (writes cost a syscall each); a slow reader (each write sleeps ~20 µs,
//! like a journal or terminal that is behind); a stalled reader (nothing is written until
//! the logging thread is done: a burst bigger than the queue).
#![forbid(unsafe_code)]

#[allow(dead_code)]
#[path = "../src/logging.rs"]
mod logging;

use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing_subscriber::EnvFilter;

const LINES: u64 = 100_000;

/// What `tunnel up` / `session up` lines look like at 100,000 sessions.
fn log_sessions(n: u64) {
    for i in 0..n {
        tracing::info!(
            tunnel = "lns",
            session = i,
            id = (i as u32).wrapping_mul(2_654_435_761),
            peer_session_id = i ^ 0x5a5a,
            "session up"
        );
    }
}

fn rate(n: u64, d: Duration) -> String {
    format!("{:>10.0} lines/s", n as f64 / d.as_secs_f64())
}

fn blocking<W: Write + Send + 'static>(name: &str, n: u64, out: W) {
    let sub = logging::subscriber(EnvFilter::new("info"), Mutex::new(out), false);
    let t = Instant::now();
    tracing::subscriber::with_default(sub, || log_sessions(n));
    let d = t.elapsed();
    println!(
        "{name:<24} blocking      caller {}  ({n} lines in {d:.2?})",
        rate(n, d)
    );
}

fn non_blocking<W: Write + Send + 'static>(
    name: &str,
    n: u64,
    out: W,
    before_flush: impl FnOnce(),
) {
    let (writer, guard) = logging::non_blocking(out);
    let dropped = writer.error_counter();
    let sub = logging::subscriber(EnvFilter::new("info"), writer, false);
    let t = Instant::now();
    tracing::subscriber::with_default(sub, || log_sessions(n));
    let caller = t.elapsed();
    before_flush();
    drop(guard);
    let total = t.elapsed();
    let dropped = dropped.dropped_lines();
    println!(
        "{name:<24} non-blocking  caller {}  end-to-end {}  dropped {dropped} of {n}",
        rate(n, caller),
        rate(n - dropped as u64, total),
    );
}

/// Each write sleeps `delay` (a reader that is behind).
struct Slow(Duration);

impl Write for Slow {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        std::thread::sleep(self.0);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes nothing until the gate opens (a reader that has stalled), then is a sink.
struct Gated(Arc<AtomicBool>);

impl Write for Gated {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        while !self.0.load(Ordering::Acquire) {
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let null = || File::create("/dev/null").expect("/dev/null");
    println!(
        "{LINES} INFO lines through l2tpd's subscriber (plain text, filter info), queue {} lines",
        logging::QUEUED_LINES
    );
    // Warm-up (page faults, callsite registration).
    blocking("warm-up /dev/null", 10_000, null());

    blocking("/dev/null", LINES, null());
    non_blocking("/dev/null", LINES, null(), || {});

    // A slow reader, 10,000 lines: blocking runs at the reader's pace.
    let slow = Duration::from_micros(20);
    blocking("slow reader (20 us)", 10_000, Slow(slow));
    non_blocking("slow reader (20 us)", 10_000, Slow(slow), || {});

    // A stalled reader and a burst of 200,000: the queue fills, the rest is dropped; the
    // caller is never held up. (Blocking would wait for as long as the reader stalls.)
    let gate = Arc::new(AtomicBool::new(false));
    let open = gate.clone();
    non_blocking("stalled reader, 2x", 2 * LINES, Gated(gate), move || {
        open.store(true, Ordering::Release)
    });
}
