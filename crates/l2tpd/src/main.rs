//! `l2tpd`: the L2TP daemon.
//!
//! Invocation compatible with go-l2tp's kl2tpd (`-config FILE`, `-verbose`, `-null`), plus
//! `--config FILE`, `--events json`, `--events-file FILE` and `check-config FILE`.
#![forbid(unsafe_code)]

mod events;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use l2tp_proto::endpoint::EndpointConfig;
use l2tp_proto::wire::{result, ResultCode};
use l2tp_runtime::config::Config;
use l2tp_runtime::dataplane::{DataPlane, NullDataPlane};
use l2tp_runtime::driver::{Driver, RuntimeEvent};

/// L2TP daemon: LAC/LNS (L2TPv2) and LCCE (L2TPv3) control plane.
#[derive(Parser, Debug)]
#[command(name = "l2tpd", version, about)]
struct Args {
    /// Configuration file (go-l2tp's TOML schema). `-config` is accepted too.
    #[arg(long, default_value = "/etc/kl2tpd/kl2tpd.toml")]
    config: PathBuf,
    /// Log at debug level (`-verbose` is accepted too).
    #[arg(long)]
    verbose: bool,
    /// Null data plane: set up tunnels and sessions, program nothing in the kernel.
    #[arg(long)]
    null: bool,
    /// Write a machine-readable event stream (one JSON object per line).
    #[arg(long, value_enum)]
    events: Option<EventsFormat>,
    /// Where the event stream goes (default: standard output).
    #[arg(long)]
    events_file: Option<PathBuf>,
    /// Seconds to wait for peers to acknowledge StopCCN on shutdown.
    #[arg(long, default_value_t = 5)]
    shutdown_grace: u64,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a configuration file and exit (status 0 when valid).
    CheckConfig {
        /// The file to check.
        file: PathBuf,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum EventsFormat {
    /// One JSON object per line.
    Json,
}

/// go-l2tp's daemons take Go-style single-dash long flags; map them to clap's `--` form.
fn normalize_args(args: impl Iterator<Item = String>) -> Vec<String> {
    args.map(|a| match a.as_str() {
        "-config" | "-verbose" | "-null" => format!("-{a}"),
        _ if a.starts_with("-config=") => format!("-{a}"),
        _ => a,
    })
    .collect()
}

fn main() -> std::process::ExitCode {
    let args = Args::parse_from(normalize_args(std::env::args()));
    let filter = if args.verbose { "debug" } else { "info" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("L2TPD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        .init();

    if let Some(Command::CheckConfig { file }) = &args.command {
        return match Config::load(file) {
            Ok(c) => {
                println!("{}: ok, {} tunnel(s)", file.display(), c.tunnels.len());
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                std::process::ExitCode::FAILURE
            }
        };
    }

    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("l2tpd: cannot start runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("l2tpd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let config = Config::load(&args.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    if !args.null {
        anyhow::bail!(
            "the kernel data plane is not wired into l2tpd yet; run with -null (null data plane)"
        );
    }
    let dataplane: Box<dyn DataPlane> = Box::new(NullDataPlane::default());

    let mut sink: Option<Box<dyn Write + Send>> = match (args.events, &args.events_file) {
        (None, _) => None,
        (Some(EventsFormat::Json), None) => Some(Box::new(std::io::stdout())),
        (Some(EventsFormat::Json), Some(path)) => Some(Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("events file {}", path.display()))?,
        )),
    };

    let seed = seed_from_os();
    let mut driver = Driver::new(EndpointConfig::default(), seed, dataplane);
    for (name, tunnel) in &config.tunnels {
        driver
            .add_tunnel(name, tunnel)
            .await
            .with_context(|| format!("tunnel {name}"))?;
    }

    let mut on_event = |ev: &RuntimeEvent| {
        if let Some(w) = sink.as_mut() {
            let _ = writeln!(w, "{}", events::to_json_line(ev));
            let _ = w.flush();
        }
    };

    let stop = shutdown_signal();
    driver.run_until(stop, &mut on_event).await;
    tracing::info!("shutting down");
    let left = driver
        .shutdown(
            ResultCode {
                result: result::STOPCCN_SHUTTING_DOWN,
                error: None,
                message: Some(b"l2tpd shutting down".to_vec()),
            },
            Duration::from_secs(args.shutdown_grace),
            &mut on_event,
        )
        .await;
    if left > 0 {
        tracing::warn!(tunnels = left, "peers did not acknowledge StopCCN in time");
    }
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut t), Ok(mut i)) => {
            tokio::select! {
                _ = t.recv() => {}
                _ = i.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Seed for the engine's RNG from the OS (tunnel and session IDs must be unpredictable).
fn seed_from_os() -> u64 {
    rand::random()
}
