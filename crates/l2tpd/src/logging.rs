//! The daemon's log: `tracing` events, formatted as text, written to stderr by a background
//! thread so that a slow reader (a busy journal, a paused terminal) never stalls the event
//! loop.
//!
//! Also compiled into `benches/logging.rs` (via `#[path]`), which measures [`subscriber`]
//! with a blocking and a [`non_blocking`] writer.

use std::io::{IsTerminal as _, Write};

use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::EnvFilter;

/// The environment variables read for filter directives, first set (and non-empty) wins.
pub const ENV_VARS: [&str; 2] = ["L2TPD_LOG", "RUST_LOG"];

/// Lines the background writer queues before it drops new ones (tracing-appender's default).
/// At ~150 bytes a line that is ~20 MB at most, and enough for every session of a
/// 100,000-session daemon to log a line at once (a tunnel going down) without loss.
pub const QUEUED_LINES: usize = tracing_appender::non_blocking::DEFAULT_BUFFERED_LINES_LIMIT;

/// `--help` text on logging (the README's "Logging" section says the same).
pub const HELP: &str = "\
Logging (to standard error; coloured only when that is a terminal and NO_COLOR is unset):
  default      info: tunnel and session lifecycle (starting, up, down and why), pppd
               started / exited, reloads, shutdown, and every warning and error
  -verbose     debug: adds sockets opened, receive errors, datagrams dropped for an
               unknown tunnel or a peer not in accept_peers, internal bookkeeping
  L2TPD_LOG    tracing filter directives, e.g. L2TPD_LOG=warn or
               L2TPD_LOG=l2tp_runtime=debug; a directive naming a target is added to the
               default level, a bare level replaces it
  RUST_LOG     read when L2TPD_LOG is unset or empty
Lines are written by a background thread; if it falls more than 128,000 lines behind,
further lines are dropped (and counted at exit) rather than slowing the daemon.";

/// The filter for `verbose` and the environment (`env` looks a variable up; [`ENV_VARS`]
/// in order). Directives that name a target (`l2tp_runtime=debug`) are added to the default
/// level (`info`, or `debug` when `verbose`); a bare level (`warn`) replaces it. An invalid
/// variable is ignored: the second value is a warning to log once logging is up.
pub fn filter(verbose: bool, env: impl Fn(&str) -> Option<String>) -> (EnvFilter, Option<String>) {
    let base = if verbose { "debug" } else { "info" };
    for var in ENV_VARS {
        let Some(value) = env(var).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        let has_level = value
            .split(',')
            .any(|d| d.trim().parse::<LevelFilter>().is_ok());
        let directives = if has_level {
            value.clone()
        } else {
            format!("{base},{value}")
        };
        return match EnvFilter::try_new(&directives) {
            Ok(f) => (f, None),
            Err(e) => (
                EnvFilter::new(base),
                Some(format!("{var}={value:?} ignored ({e}); logging at {base}")),
            ),
        };
    }
    (EnvFilter::new(base), None)
}

/// Whether to colour the output: only on a terminal, and not when `NO_COLOR` is set to
/// something (<https://no-color.org>). The systemd journal and files get plain text.
pub fn colour(is_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    is_terminal && !matches!(no_color, Some(v) if !v.is_empty())
}

/// The subscriber the daemon installs: text lines through `filter` to `writer`.
pub fn subscriber<W>(
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(ansi)
        .finish()
}

/// A writer whose lines a background thread (`l2tpd-log`) writes to `out`, and the guard
/// that flushes it when dropped.
pub fn non_blocking<T: Write + Send + 'static>(out: T) -> (NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default()
        // Lossy, deliberately: when the queue is full (the reader of stderr cannot keep up
        // with a burst), new lines are dropped and counted instead of blocking the thread
        // that logs, which is the daemon's single event-loop thread. A stalled journal must
        // not stall retransmissions, HELLOs and 100,000 sessions' control traffic.
        .lossy(true)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("l2tpd-log")
        .finish(out)
}

/// Keeps the background log writer alive; dropping it writes out what is queued (for up to
/// about a second, tracing-appender's limit) and then reports lines that were dropped.
pub struct LogGuard {
    worker: Option<WorkerGuard>,
    dropped: ErrorCounter,
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        drop(self.worker.take());
        let n = self.dropped.dropped_lines();
        if n > 0 {
            eprintln!("l2tpd: {n} log line(s) dropped: standard error could not keep up");
        }
    }
}

/// Installs the daemon's subscriber (stderr, non-blocking, filter from `verbose` and the
/// environment). Keep the guard until the end of `main`.
pub fn init(verbose: bool) -> LogGuard {
    let (filter, warning) = filter(verbose, |var| std::env::var(var).ok());
    let (writer, worker) = non_blocking(std::io::stderr());
    let dropped = writer.error_counter();
    let ansi = colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR"),
    );
    // Also routes the `log` crate's records (from dependencies) into the subscriber.
    if let Err(e) = subscriber(filter, writer, ansi).try_init() {
        eprintln!("l2tpd: cannot install the log subscriber: {e}");
    }
    if let Some(w) = warning {
        tracing::warn!("{w}");
    }
    LogGuard {
        worker: Some(worker),
        dropped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn shown(verbose: bool, vars: &[(&str, &str)]) -> (String, Option<String>) {
        let (f, w) = filter(verbose, env(vars));
        (f.to_string(), w)
    }

    #[test]
    fn default_info_verbose_debug() {
        assert_eq!(shown(false, &[]).0, "info");
        assert_eq!(shown(true, &[]).0, "debug");
        assert_eq!(shown(false, &[("L2TPD_LOG", " ")]).0, "info");
    }

    #[test]
    fn l2tpd_log_wins_over_rust_log() {
        assert_eq!(
            shown(false, &[("L2TPD_LOG", "warn"), ("RUST_LOG", "trace")]).0,
            "warn"
        );
        assert_eq!(shown(true, &[("RUST_LOG", "error")]).0, "error");
        assert_eq!(
            shown(false, &[("L2TPD_LOG", ""), ("RUST_LOG", "error")]).0,
            "error"
        );
    }

    #[test]
    fn a_targeted_directive_keeps_the_default_level_for_the_rest() {
        let (f, w) = shown(false, &[("L2TPD_LOG", "l2tp_runtime=debug")]);
        assert!(
            f.contains("l2tp_runtime=debug") && f.contains("info"),
            "{f}"
        );
        assert_eq!(w, None);
        let (f, _) = shown(true, &[("RUST_LOG", "l2tp_runtime=trace")]);
        assert!(
            f.contains("l2tp_runtime=trace") && f.contains("debug"),
            "{f}"
        );
        let (f, _) = shown(false, &[("L2TPD_LOG", "warn,l2tp_runtime=debug")]);
        assert!(!f.contains("info"), "{f}");
    }

    #[test]
    fn an_invalid_variable_falls_back_with_a_warning() {
        let (f, w) = shown(true, &[("L2TPD_LOG", "l2tp_runtime=loud")]);
        assert_eq!(f, "debug");
        let w = w.unwrap();
        assert!(
            w.starts_with("L2TPD_LOG=\"l2tp_runtime=loud\" ignored"),
            "{w}"
        );
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some("".into())));
        assert!(!colour(true, Some("1".into())));
        assert!(!colour(false, None));
    }

    #[test]
    fn lines_reach_the_writer_through_the_background_thread() {
        #[derive(Clone, Default)]
        struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let out = Shared::default();
        let (writer, guard) = non_blocking(out.clone());
        let sub = subscriber(EnvFilter::new("info"), writer, false);
        tracing::subscriber::with_default(sub, || {
            tracing::info!(tunnel = "t1", session = 7, "session up");
            tracing::debug!("not shown");
        });
        drop(guard);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert!(
            text.contains("session up tunnel=\"t1\" session=7"),
            "{text}"
        );
        assert!(!text.contains("not shown"), "{text}");
        assert!(!text.contains('\x1b'), "no colour: {text:?}");
    }
}
