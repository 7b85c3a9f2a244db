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
use l2tp_runtime::config::{Config, TunnelSection};
use l2tp_runtime::dataplane::{DataPlane, NullDataPlane};
use l2tp_runtime::kernel::KernelDataPlane;
use l2tp_runtime::pppd::PppdOptions;
use l2tp_runtime::{Context, ContextOptions, SocketMode};

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
    /// File recording the kernel tunnels this daemon holds (default: under /run/l2tpd, named
    /// after the config file), read at start to remove what a killed previous run left.
    #[arg(long)]
    state: Option<PathBuf>,
    /// The pppd binary run for PPP sessions (kernel data plane).
    #[arg(long, default_value = "/usr/sbin/pppd")]
    pppd: PathBuf,
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
    let (dataplane, socket_mode, pppd): (Box<dyn DataPlane>, _, _) = if args.null {
        (Box::new(NullDataPlane::default()), SocketMode::Shared, None)
    } else {
        let state = args.state.clone().unwrap_or_else(|| default_state_path(&args.config));
        let (dp, removed) = KernelDataPlane::open_with_state(state).map_err(|e| {
            anyhow::anyhow!("kernel data plane: {e} (load it with `modprobe l2tp_netlink l2tp_ppp l2tp_eth`, or run with -null)")
        })?;
        if removed > 0 {
            tracing::warn!(tunnels = removed, "removed kernel tunnels left by a previous run");
        }
        (
            Box::new(dp),
            SocketMode::PerTunnel,
            Some(PppdOptions {
                path: args.pppd.clone(),
                ..PppdOptions::default()
            }),
        )
    };
    let stop = shutdown_signal();

    let mut sink: Option<Box<dyn Write + Send>> = match (args.events, &args.events_file) {
        (None, _) => None,
        (Some(EventsFormat::Json), None) => Some(Box::new(std::io::stdout())),
        (Some(EventsFormat::Json), Some(path)) => Some(Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("events file {}", path.display()))?,
        )),
    };

    let mut options = ContextOptions::new(dataplane);
    options.shutdown_grace = Duration::from_secs(args.shutdown_grace);
    options.socket_mode = socket_mode;
    options.pppd = pppd;
    if let Some((_, listen)) = config.tunnels.iter().find(|(_, t)| t.listen) {
        options.endpoint = endpoint_config(listen);
    }
    let ctx = Context::start(options);
    let mut events = ctx.subscribe();
    let writer = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(ev) => {
                    if let Some(w) = sink.as_mut() {
                        let _ = writeln!(w, "{}", events::to_json_line(&ev));
                        let _ = w.flush();
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "event stream lagged");
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    for (name, tunnel) in &config.tunnels {
        ctx.create_tunnel(name, tunnel.clone())
            .await
            .with_context(|| format!("tunnel {name}"))?;
    }

    stop.await;
    tracing::info!("shutting down");
    let left = ctx.shutdown().await.unwrap_or(0);
    if left > 0 {
        tracing::warn!(tunnels = left, "peers did not acknowledge StopCCN in time");
    }
    drop(ctx);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    Ok(())
}

/// `/run/l2tpd/<config path with '/' as '_'>.tunnels`: one state file per configuration, so
/// that daemons with different configs (or in different network namespaces) keep apart.
fn default_state_path(config: &std::path::Path) -> PathBuf {
    let abs = std::fs::canonicalize(config).unwrap_or_else(|_| config.to_path_buf());
    let name: String = abs
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
        .collect();
    PathBuf::from("/run/l2tpd").join(format!("{name}.tunnels"))
}

/// Endpoint-wide settings from the listening tunnel's section (LNS defaults for accepted
/// tunnels).
fn endpoint_config(listen: &TunnelSection) -> EndpointConfig {
    EndpointConfig {
        accept_v2_incoming: true,
        host_name: listen.host_name.as_bytes().to_vec(),
        secret: listen.secret.as_ref().map(|s| s.as_bytes().to_vec()),
        window_size: listen.window_size,
        hello_interval: listen.hello_timeout,
        retry_timeout: listen.retry_timeout,
        max_retries: listen.max_retries,
        framing_caps: listen.framing_caps,
        ..EndpointConfig::default()
    }
}

/// Registers SIGTERM / SIGINT handlers now (so a signal during start-up is not fatal) and
/// returns a future that completes on the first of them.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
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
}
