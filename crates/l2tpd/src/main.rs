//! `l2tpd`: the L2TP daemon.
//!
//! Invocation compatible with go-l2tp's kl2tpd (`-config FILE`, `-verbose`, `-null`), plus
//! `--config FILE`, `--events json`, `--events-file FILE` and `check-config FILE`.
//!
//! Operations: a control socket for `l2tpctl` (`--control PATH`, see
//! `docs/control-protocol.md`), a Prometheus endpoint (`--metrics ADDR`), systemd readiness
//! notification (`READY=1` / `RELOADING=1` / `STOPPING=1`), and SIGHUP to reload the config
//! file. Invoked as `kl2tpd`, `ql2tpd` or `kpppoed` (a symlink), it takes that daemon's default
//! config path and tunnel defaults. A `[pppoe]` table (or kpppoed's top-level keys) starts the
//! PPPoE access concentrator (`l2tp_runtime::pppoe`).
#![forbid(unsafe_code)]

mod control;
mod events;
mod logging;
mod metrics;
mod notify;
mod reload;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use l2tp_runtime::config::{Config, DataPlaneKind, Profile, TunnelPlane};
use l2tp_runtime::dataplane::{DataPlane, NullDataPlane, PlaneRouter};
use l2tp_runtime::kernel::KernelDataPlane;
use l2tp_runtime::pppd::PppdOptions;
use l2tp_runtime::radius::{RadiusHandle, RadiusSettings};
use l2tp_runtime::userspace::UserspaceDataPlane;
use l2tp_runtime::{Context, ContextOptions, SocketMode};

/// L2TP daemon: LAC/LNS (L2TPv2) and LCCE (L2TPv3) control plane.
#[derive(Parser, Debug)]
#[command(name = "l2tpd", version, about, after_help = logging::HELP)]
struct Args {
    /// Configuration file (go-l2tp's TOML schema). `-config` is accepted too. Default:
    /// /etc/l2tpd/l2tpd.toml (as kl2tpd: /etc/kl2tpd/kl2tpd.toml; as ql2tpd:
    /// /etc/ql2tpd/ql2tpd.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Log at debug level (`-verbose` is accepted too); L2TPD_LOG / RUST_LOG, when set, take
    /// precedence (see below).
    #[arg(long)]
    verbose: bool,
    /// Null data plane: set up tunnels and sessions, program nothing in the kernel (same as
    /// `--dataplane null`).
    #[arg(long)]
    null: bool,
    /// Who carries data messages: `kernel` (L2TP modules), `userspace` (this process, TAP
    /// interfaces; for hosts without kernel L2TP), `null`, or `auto` (kernel when its modules
    /// load, user space otherwise). Overrides the config file's top-level `dataplane`;
    /// default kernel.
    #[arg(long, value_name = "KIND", value_parser = parse_kind)]
    dataplane: Option<DataPlaneKind>,
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
    /// Control socket for `l2tpctl` (mode 0600) [default: /run/l2tpd/control.sock].
    /// Without this flag the default path is tried, and a daemon that cannot have it (not
    /// root, another l2tpd there) runs on without a control socket, with a warning.
    #[arg(long, value_name = "PATH")]
    control: Option<PathBuf>,
    /// Serve Prometheus metrics over HTTP on this address (e.g. 127.0.0.1:9701).
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    /// Allow a non-loopback `--metrics` address.
    #[arg(long)]
    metrics_allow_remote: bool,
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
        "-config" | "-verbose" | "-null" | "-dataplane" => format!("-{a}"),
        _ if a.starts_with("-config=") || a.starts_with("-dataplane=") => format!("-{a}"),
        _ => a,
    })
    .collect()
}

fn parse_kind(s: &str) -> Result<DataPlaneKind, String> {
    s.parse()
}

/// The data plane asked for: `-null`, then `--dataplane`, then the config file, then kernel.
fn chosen_kind(args: &Args, config: &Config) -> DataPlaneKind {
    if args.null {
        DataPlaneKind::Null
    } else {
        args.dataplane.or(config.dataplane).unwrap_or_default()
    }
}

/// The PPPoE access concentrator, once started (for the control socket and metrics).
pub(crate) static PPPOE: std::sync::OnceLock<l2tp_runtime::pppoe::Pppoe> =
    std::sync::OnceLock::new();

/// The daemon profile and default config path that the program name (argv[0]) selects.
fn profile_for(argv0: &str) -> (Profile, &'static str) {
    let name = Path::new(argv0)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    match name {
        "kl2tpd" => (Profile::Kl2tpd, "/etc/kl2tpd/kl2tpd.toml"),
        "ql2tpd" => (Profile::Ql2tpd, "/etc/ql2tpd/ql2tpd.toml"),
        "kpppoed" => (Profile::Kl2tpd, "/etc/kpppoed/kpppoed.toml"),
        _ => (Profile::L2tpd, "/etc/l2tpd/l2tpd.toml"),
    }
}

fn main() -> std::process::ExitCode {
    let argv0 = std::env::args().next().unwrap_or_default();
    let (profile, default_config) = profile_for(&argv0);
    let args = Args::parse_from(normalize_args(std::env::args()));
    // Held to the end of main: dropping it writes out the queued log lines. No path below
    // calls std::process::exit (which would skip that); every one returns through here.
    let log = logging::init(args.verbose);
    let result = daemon(args, profile, default_config);
    // Flush the log before the last words, so that stderr keeps its order.
    drop(log);
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(Failure::Plain(e)) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
        Err(Failure::Error(e)) => {
            eprintln!("l2tpd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// How `daemon` failed.
enum Failure {
    /// To report as it is (`check-config`: `file:line:col: …`) once the log is flushed.
    Plain(String),
    /// To report as `l2tpd: ERROR` once the log is flushed.
    Error(anyhow::Error),
}

/// Everything `main` does once logging is up.
fn daemon(args: Args, profile: Profile, default_config: &str) -> Result<(), Failure> {
    if let Some(Command::CheckConfig { file }) = &args.command {
        return match Config::load_as(file, profile) {
            Ok(c) => {
                println!("{}: ok, {} tunnel(s)", file.display(), c.tunnels.len());
                Ok(())
            }
            Err(e) => Err(Failure::Plain(e.to_string())),
        };
    }

    let config_path = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(default_config));
    let config = Config::load_as(&config_path, profile)
        .map_err(|e| Failure::Error(anyhow::anyhow!("{e}")))?;
    // A user-space data plane carries packets on the runtime's tasks (socket readers, one
    // task per TAP device): give them worker threads beside the control loop's.
    // The user-space data plane carries packets on the runtime's tasks (socket readers, one
    // task per TAP device). `L2TPD_WORKERS=N` (N > 0) spreads them over N worker threads; by
    // default one thread runs everything, as for the kernel data plane: on the 2-core test
    // machine 0, 1 and 2 workers gave the same iperf3 figures within the run-to-run noise
    // (BENCHMARKS.md), so the simpler runtime stays.
    let workers = std::env::var("L2TPD_WORKERS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0);
    let rt = match (chosen_kind(&args, &config), workers) {
        (DataPlaneKind::Userspace | DataPlaneKind::Auto, Some(n)) => {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(n)
                .enable_all()
                .build()
        }
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    }
    .map_err(|e| Failure::Error(anyhow::anyhow!("cannot start runtime: {e}")))?;
    let result = rt.block_on(run(args, config, config_path, profile));
    // The runtime's tasks (and what they log on the way out) end before the log is flushed.
    drop(rt);
    result.map_err(Failure::Error)
}

/// The data plane, how tunnels map to sockets for it, and the pppd options (kernel only).
type Plane = (Box<dyn DataPlane>, SocketMode, Option<PppdOptions>);

/// The user-space data plane (TAP interfaces).
fn open_userspace(radius: Option<&RadiusHandle>) -> Plane {
    let mut dp = UserspaceDataPlane::new();
    if let Some(r) = radius {
        dp.set_authenticator(std::sync::Arc::new(r.clone()));
    }
    (Box::new(dp), SocketMode::Shared, None)
}

/// The kernel data plane, or why it cannot be opened (modules missing).
fn open_kernel(
    args: &Args,
    config_path: &Path,
    radius: Option<&RadiusHandle>,
) -> Result<Plane, String> {
    let state = args
        .state
        .clone()
        .unwrap_or_else(|| default_state_path(config_path));
    let (mut dp, removed) = KernelDataPlane::open_with_state(state).map_err(|e| e.to_string())?;
    // Built-in PPP (`ppp = "builtin"`) authenticates through RADIUS as on the
    // user-space data plane; pppd sessions keep pppd's own plugins.
    if let Some(r) = radius {
        dp.set_authenticator(std::sync::Arc::new(r.clone()));
    }
    if removed > 0 {
        tracing::warn!(
            tunnels = removed,
            "removed kernel tunnels left by a previous run"
        );
    }
    Ok((
        Box::new(dp),
        SocketMode::PerTunnel,
        Some(PppdOptions {
            path: args.pppd.clone(),
            ..PppdOptions::default()
        }),
    ))
}

/// How to load the kernel's L2TP, said after a failure to open it.
const MODPROBE_HINT: &str = "load it with `modprobe l2tp_netlink l2tp_ppp l2tp_eth`";

/// Opens the data plane `kind` names (`auto`: the kernel's when it opens, else user space).
/// Returns it with the plane it is for tunnels that name none (`None`: null).
fn open_dataplane(
    args: &Args,
    config_path: &Path,
    kind: DataPlaneKind,
    radius: Option<&RadiusHandle>,
) -> anyhow::Result<(Plane, Option<TunnelPlane>)> {
    Ok(match kind {
        DataPlaneKind::Null => (
            (Box::new(NullDataPlane::default()), SocketMode::Shared, None),
            None,
        ),
        DataPlaneKind::Userspace => {
            tracing::info!("user-space data plane (TAP interfaces)");
            (open_userspace(radius), Some(TunnelPlane::Userspace))
        }
        DataPlaneKind::Kernel => (
            open_kernel(args, config_path, radius).map_err(|e| {
                anyhow::anyhow!(
                    "kernel data plane: {e} ({MODPROBE_HINT}, or run with --dataplane \
                         userspace, auto or null)"
                )
            })?,
            Some(TunnelPlane::Kernel),
        ),
        DataPlaneKind::Auto => match open_kernel(args, config_path, radius) {
            Ok(p) => {
                tracing::info!("data plane auto: kernel L2TP is available, using it");
                (p, Some(TunnelPlane::Kernel))
            }
            Err(e) => {
                tracing::info!(reason = %e, "data plane auto: no kernel L2TP, using the user-space data plane (TAP interfaces)");
                (open_userspace(radius), Some(TunnelPlane::Userspace))
            }
        },
    })
}

/// The configured tunnels that name a data plane other than `default` (their `dataplane`
/// key), by name.
fn tunnels_on_other_plane(config: &Config, default: TunnelPlane) -> Vec<&str> {
    config
        .tunnels
        .iter()
        .filter(|(_, t)| t.dataplane.is_some_and(|p| p != default))
        .map(|(n, _)| n.as_str())
        .collect()
}

/// Refuses L2TP/IP tunnels of both planes on one local IP address: the user-space plane reads
/// L2TP/IP through a raw socket per local address, which also sees the kernel tunnels'
/// datagrams to that address (their data messages would be counted as unknown sessions, their
/// control messages handled twice). O(tunnels), at start.
///
/// Errors: names the two tunnels, their planes and the address.
fn check_ip_encap_planes(config: &Config, default: TunnelPlane) -> anyhow::Result<()> {
    let mut by_address: std::collections::HashMap<std::net::IpAddr, (&str, TunnelPlane)> =
        std::collections::HashMap::new();
    for (name, t) in &config.tunnels {
        let (l2tp_proto::wire::Encap::Ip, Some(local)) = (t.encap, t.local) else {
            continue;
        };
        let plane = t.dataplane.unwrap_or(default);
        match by_address.get(&local.ip()) {
            Some(&(other, p)) if p != plane => anyhow::bail!(
                "tunnels {other} (dataplane = \"{p}\") and {name} (dataplane = \"{plane}\") \
                 both use L2TP/IP on local address {}: L2TP/IP tunnels of the two data planes \
                 need local addresses of their own",
                local.ip()
            ),
            Some(_) => {}
            None => {
                by_address.insert(local.ip(), (name.as_str(), plane));
            }
        }
    }
    Ok(())
}

/// The daemon's data plane (see [`open_dataplane`]) and, when some tunnel names the other
/// plane (`dataplane` in its table), that one too, both behind a [`PlaneRouter`] with
/// per-tunnel sockets (the kernel's managed tunnels need them). The choice is logged once.
///
/// Errors: the default plane's; the kernel's failing to open when tunnels ask for it names
/// the first of them.
fn open_planes(
    args: &Args,
    config: &Config,
    config_path: &Path,
    kind: DataPlaneKind,
    radius: Option<&RadiusHandle>,
) -> anyhow::Result<Plane> {
    let (plane, default) = open_dataplane(args, config_path, kind, radius)?;
    let Some(default) = default else {
        if config.tunnels.iter().any(|(_, t)| t.dataplane.is_some()) {
            tracing::info!("null data plane: the tunnels' own `dataplane` keys are ignored");
        }
        return Ok(plane);
    };
    let others = tunnels_on_other_plane(config, default);
    check_ip_encap_planes(config, default)?;
    let Some(first) = others.first() else {
        return Ok(plane);
    };
    let (default_dp, _, default_pppd) = plane;
    let (kernel, userspace, pppd) = match default {
        TunnelPlane::Kernel => (default_dp, open_userspace(radius).0, default_pppd),
        TunnelPlane::Userspace => {
            let (k, _, pppd) = open_kernel(args, config_path, radius).map_err(|e| {
                anyhow::anyhow!(
                    "tunnel {first}: dataplane = \"kernel\": kernel data plane: {e} ({MODPROBE_HINT}, or take the key out of the tunnel's table)"
                )
            })?;
            (k, default_dp, pppd)
        }
    };
    let other = match default {
        TunnelPlane::Kernel => TunnelPlane::Userspace,
        TunnelPlane::Userspace => TunnelPlane::Kernel,
    };
    tracing::info!(
        default = %default,
        other = %other,
        tunnels_on_other = ?others,
        "data planes: kernel and user space side by side, each tunnel on the one its `dataplane` key names (none: the default)"
    );
    Ok((
        Box::new(PlaneRouter::new(kernel, userspace, default)),
        SocketMode::PerTunnel,
        pppd,
    ))
}

async fn run(
    args: Args,
    config: Config,
    config_path: PathBuf,
    profile: Profile,
) -> anyhow::Result<()> {
    let kind = chosen_kind(&args, &config);
    let radius = match &config.radius {
        Some(section) => {
            let host_name = config
                .tunnels
                .iter()
                .find(|(_, t)| t.listen)
                .map_or_else(|| "l2tpd".to_string(), |(_, t)| t.host_name.clone());
            let settings = RadiusSettings {
                section: section.clone(),
                host_name,
            };
            let h = l2tp_runtime::radius::start(settings)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            tracing::info!(servers = section.servers.len(), dae = ?section.dae_listen, "RADIUS client started");
            Some(h)
        }
        None => None,
    };
    let (dataplane, socket_mode, pppd) =
        open_planes(&args, &config, &config_path, kind, radius.as_ref())?;
    if radius.is_some() && pppd.is_some() {
        tracing::info!("[radius] applies to PPP terminated in this process (dataplane = \"userspace\", or ppp = \"builtin\" on the kernel data plane); pppd sessions authenticate with pppd's own plugins");
    }
    let stop = shutdown_signal();
    let nofile = l2tp_runtime::raise_nofile_limit();
    tracing::debug!(nofile, "open files limit");
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("SIGHUP handler")?;
    let metrics_listener = match args.metrics {
        Some(addr) => {
            metrics::check_addr(addr, args.metrics_allow_remote)?;
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("--metrics {addr}"))?;
            tracing::info!(addr = %l.local_addr().unwrap_or(addr), "serving metrics");
            Some(l)
        }
        None => None,
    };
    let control = match &args.control {
        Some(path) => Some((control::bind(path)?, path.clone())),
        None => {
            let path = PathBuf::from(control::DEFAULT_PATH);
            match control::bind(&path) {
                Ok(c) => Some((c, path)),
                Err(e) => {
                    tracing::warn!("{e:#}; running without a control socket");
                    None
                }
            }
        }
    };

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
    if let Some(r) = &radius {
        options.session_observer = Some(std::sync::Arc::new(r.clone()));
    }
    if let Some((_, listen)) = config.tunnels.iter().find(|(_, t)| t.listen) {
        options.endpoint = listen.to_endpoint_config();
    }
    let ctx = Context::start(options);
    // The event stream, when asked for: written in batches (one flush per burst, not per
    // event), so that 100,000 session set-ups do not make it lag.
    let writer = sink.take().map(|w| {
        let mut w = std::io::BufWriter::new(w);
        let mut events = ctx.subscribe();
        tokio::spawn(async move {
            loop {
                let first = events.recv().await;
                let mut next = Some(first);
                while let Some(r) = next.take() {
                    match r {
                        Ok(ev) => {
                            let _ = writeln!(w, "{}", events::to_json_line(&ev));
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                            tracing::warn!(missed = n, "event stream lagged");
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                            let _ = w.flush();
                            return;
                        }
                    }
                    next = match events.try_recv() {
                        Ok(ev) => Some(Ok(ev)),
                        Err(tokio::sync::broadcast::error::TryRecvError::Lagged(n)) => {
                            Some(Err(tokio::sync::broadcast::error::RecvError::Lagged(n)))
                        }
                        Err(_) => None,
                    };
                }
                let _ = w.flush();
            }
        })
    });
    for (name, tunnel) in &config.tunnels {
        ctx.create_tunnel(name, tunnel.clone())
            .await
            .with_context(|| format!("tunnel {name}"))?;
    }
    // The PPPoE access concentrator, when configured (`[pppoe]` or kpppoed's keys): after the
    // tunnels, so that its tunnel exists (it re-opens it on demand when it has gone down).
    let pppoe = match &config.pppoe {
        Some(section) => {
            let p = l2tp_runtime::pppoe::Pppoe::start(&ctx, section, &config.tunnels)?;
            let _ = PPPOE.set(p.clone());
            Some(p)
        }
        None => None,
    };
    let (control_task, control_socket) = match control {
        Some(((listener, socket), path)) => {
            tracing::info!(path = %path.display(), "control socket ready");
            (
                Some(tokio::spawn(control::serve(listener, ctx.clone(), profile))),
                Some(socket),
            )
        }
        None => (None, None),
    };
    let metrics_task =
        metrics_listener.map(|l| tokio::spawn(metrics::serve(l, ctx.clone(), radius.clone())));
    notify::notify("READY=1");

    let mut config = config;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = hangup.recv() => {
                notify::notify("RELOADING=1");
                config = reload_config(&ctx, &config_path, profile, config, &args).await;
                notify::notify("READY=1");
            }
        }
    }

    notify::notify("STOPPING=1");
    tracing::info!("shutting down");
    if let Some(t) = control_task {
        t.abort();
    }
    if let Some(t) = metrics_task {
        t.abort();
    }
    if let Some(r) = &radius {
        // Stops (Admin-Reboot) with the sessions' counters while they still exist, then
        // Accounting-Off.
        r.shutdown().await;
    }
    drop(pppoe);
    let left = ctx.shutdown().await.unwrap_or(0);
    if left > 0 {
        tracing::warn!(tunnels = left, "peers did not acknowledge StopCCN in time");
    }
    drop(ctx);
    if let Some(writer) = writer {
        let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    }
    drop(control_socket);
    Ok(())
}

/// SIGHUP: re-reads the config file and applies the difference; on a bad file keeps `current`.
async fn reload_config(
    ctx: &Context,
    path: &Path,
    profile: Profile,
    current: Config,
    args: &Args,
) -> Config {
    tracing::info!(file = %path.display(), "SIGHUP: reloading configuration");
    let new = match Config::load_as(path, profile) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("reload failed, keeping the running configuration: {e}");
            return current;
        }
    };
    if current.pppoe != new.pppoe {
        tracing::warn!("reload: [pppoe] changes apply at the next start (the access concentrator keeps its settings)");
    }
    if new.radius != current.radius {
        tracing::warn!("[radius] changed: it is read at start only; restart l2tpd to apply it");
    }
    let plan = reload::diff(&current, &new);
    let wait = Duration::from_secs(args.shutdown_grace) + Duration::from_secs(2);
    reload::apply(ctx, &current, new, plan, wait).await
}

/// `/run/l2tpd/<config path with '/' as '_'>.tunnels`: one state file per configuration, so
/// that daemons with different configs (or in different network namespaces) keep apart.
fn default_state_path(config: &std::path::Path) -> PathBuf {
    let abs = std::fs::canonicalize(config).unwrap_or_else(|_| config.to_path_buf());
    let name: String = abs
        .to_string_lossy()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from("/run/l2tpd").join(format!("{name}.tunnels"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tunnels_naming_the_other_plane_are_found_by_name() {
        let c = Config::parse(
            "[tunnel.k]\npeer = \"10.0.0.1:1701\"\ndataplane = \"kernel\"\n\
             [tunnel.u]\npeer = \"10.0.0.2:1701\"\ndataplane = \"userspace\"\n\
             [tunnel.d]\npeer = \"10.0.0.3:1701\"\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(tunnels_on_other_plane(&c, TunnelPlane::Kernel), ["u"]);
        assert_eq!(tunnels_on_other_plane(&c, TunnelPlane::Userspace), ["k"]);
    }

    #[test]
    fn l2tp_ip_tunnels_of_both_planes_may_not_share_a_local_address() {
        let config = |u_local: &str, u_encap: &str| {
            Config::parse(
                &format!(
                    "[tunnel.k]\npeer = \"10.0.0.1:0\"\nlocal = \"10.0.0.9:0\"\nencap = \"ip\"\n\
                     version = \"l2tpv3\"\n\
                     [tunnel.u]\npeer = \"10.0.0.2:0\"\nlocal = \"{u_local}\"\n\
                     encap = \"{u_encap}\"\nversion = \"l2tpv3\"\ndataplane = \"userspace\"\n"
                ),
                "t.toml",
            )
            .unwrap()
        };
        let e = check_ip_encap_planes(&config("10.0.0.9:0", "ip"), TunnelPlane::Kernel)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("tunnels k") && e.contains("and u") && e.contains("10.0.0.9"),
            "{e}"
        );
        // Another address, or UDP, or both on one plane: accepted.
        check_ip_encap_planes(&config("10.0.0.8:0", "ip"), TunnelPlane::Kernel).unwrap();
        check_ip_encap_planes(&config("10.0.0.9:1701", "udp"), TunnelPlane::Kernel).unwrap();
        check_ip_encap_planes(&config("10.0.0.9:0", "ip"), TunnelPlane::Userspace).unwrap();
    }
}
