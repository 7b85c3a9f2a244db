//! `l2tpctl`: the L2TP command line: `show`, `stats`, `create`, `delete`, `monitor` (talking
//! to l2tpd's control socket) and `decode` (hex or pcap → text tree or JSON).
#![forbid(unsafe_code)]

mod capture;
mod client;
mod decode;
mod ops;

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use l2tp_proto::wire::Encap;
use serde::Serialize;

#[derive(Parser)]
#[command(name = "l2tpctl", version, about = "L2TP command line tool")]
struct Cli {
    /// l2tpd's control socket.
    #[arg(long, global = true, value_name = "PATH", default_value = client::DEFAULT_PATH)]
    control: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Tunnels and sessions: both tables, or `show tunnel [NAME|ID]`, `show session [TUNNEL
    /// [SESSION]]` (names or IDs). Listed too: the listener, and tunnels and sessions that
    /// went down in the last 5 minutes (state `down`, with their last error).
    Show {
        #[command(subcommand)]
        what: Option<ShowCmd>,
        /// The daemon's JSON: an array of tunnels (a flat array of sessions, each with its
        /// `tunnel`, for `show session`).
        #[arg(long, global = true)]
        json: bool,
        /// Only tunnels (and their sessions) with this peer: `IP` or `IP:PORT`.
        #[arg(long, global = true, value_name = "ADDR")]
        peer: Option<String>,
        /// Only objects in this state (`established`, `down`, `waitctlreply`, …): tunnels by
        /// their state, sessions by theirs.
        #[arg(long, global = true, value_name = "STATE")]
        state: Option<String>,
        /// Only this name (`*` matches anything: `lns.*`): a tunnel's name; a session's or
        /// its tunnel's name.
        #[arg(long, global = true, value_name = "NAME")]
        name: Option<String>,
    },
    /// Runtime-wide counters.
    Stats {
        /// The daemon's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Create a tunnel or session: `create tunnel NAME key=value…`,
    /// `create session TUNNEL NAME key=value…` (keys as in the config file), and wait until it
    /// is established; exit status 1 when it went down (its last error is printed) or the
    /// timeout passed.
    Create {
        #[command(subcommand)]
        what: CreateWhat,
        /// Return once l2tpd started it, without waiting for the outcome.
        #[arg(long, global = true)]
        no_wait: bool,
        /// How long to wait for the outcome.
        #[arg(long, global = true, value_name = "SECS", default_value_t = 30.0)]
        timeout: f64,
    },
    /// Close a tunnel or session.
    Delete {
        #[command(subcommand)]
        what: DeleteWhat,
    },
    /// Follow events (tunnels and sessions going up and down), one line each.
    Monitor {
        /// Print the daemon's JSON lines unchanged.
        #[arg(long)]
        json: bool,
    },
    /// Decode L2TP packets given as hex, in files, or on stdin.
    ///
    /// Each argument is a packet in hex (whitespace inside is ignored), a file, or `-` for
    /// stdin; with no argument, stdin is read unless it is a terminal. A file or stdin that
    /// starts with a pcap / pcapng magic number is a capture (UDP port 1701 and IP protocol
    /// 115 are decoded); otherwise it holds one hex packet per line, which may start with a
    /// `SRC>DST` label (the format of captures/*.hex); empty lines and lines starting with `#`
    /// are skipped. Nothing to decode is a usage error (exit status 2).
    Decode {
        /// Packets as hex strings, files (captures or hex lines), or `-` for stdin.
        inputs: Vec<String>,
        /// Read packets from a pcap or pcapng file (also recognised without this flag).
        #[arg(long, value_name = "FILE")]
        pcap: Option<String>,
        /// Shared secret: reveals hidden AVPs and checks authenticators (L2TPv2 Challenge
        /// Responses against the peer's earlier Challenge, L2TPv3 Message Digests), marked
        /// `[correct]` or `[incorrect, should be …]`.
        #[arg(long, value_name = "S")]
        secret: Option<String>,
        /// One JSON object per message, one per line.
        #[arg(long)]
        json: bool,
        /// Encapsulation of hex input (pcap input knows its own).
        #[arg(long, value_enum, default_value_t = EncapArg::Udp)]
        encap: EncapArg,
    },
}

#[derive(Subcommand)]
enum ShowCmd {
    /// `show tunnel [NAME|ID]`: the tunnels table (alias `tunnels`).
    #[command(alias = "tunnels")]
    Tunnel {
        /// Only this tunnel: a name, or a local tunnel ID.
        tunnel: Option<String>,
    },
    /// `show session [TUNNEL [SESSION]]`: the sessions table (alias `sessions`).
    #[command(alias = "sessions")]
    Session {
        /// Only this tunnel's sessions: a name or a local tunnel ID.
        tunnel: Option<String>,
        /// Only this session of it: a name or a local session ID.
        session: Option<String>,
    },
    /// `show pppoe`: the PPPoE access concentrator's sessions (interface, subscriber MAC,
    /// PPPoE session ID, the L2TP call) and each interface's Discovery counters.
    Pppoe,
}

#[derive(Subcommand)]
enum CreateWhat {
    /// `create tunnel NAME key=value…` (keys of a `[tunnel.NAME]` table; dotted keys nest:
    /// `session.s1.pseudowire=ppp`).
    Tunnel {
        /// Tunnel name.
        name: String,
        /// `key=value` settings; values are numbers, booleans, quoted strings, arrays, or bare
        /// strings.
        settings: Vec<String>,
    },
    /// `create session TUNNEL NAME key=value…` (keys of a `[tunnel.T.session.NAME]` table).
    Session {
        /// The tunnel it belongs to: a name or a local tunnel ID.
        tunnel: String,
        /// Session name.
        name: String,
        /// `key=value` settings.
        settings: Vec<String>,
    },
}

#[derive(Subcommand)]
enum DeleteWhat {
    /// `delete tunnel NAME|ID`: StopCCN, sessions go down with it.
    Tunnel {
        /// Tunnel name, or local tunnel ID (l2tpd matches an ID when no tunnel has that name).
        name: String,
    },
    /// `delete session TUNNEL SESSION`: CDN.
    Session {
        /// The tunnel it belongs to: a name or a local tunnel ID.
        tunnel: String,
        /// Session name, or local session ID.
        name: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum EncapArg {
    /// L2TP over UDP (v2, v3): the packet starts with the L2TP header.
    Udp,
    /// L2TPv3 over IP: the packet starts with the 4-byte Session ID.
    Ip,
}

/// Where a packet came from.
#[derive(Serialize, Default)]
struct Meta {
    packet: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dst: Option<String>,
}

struct Input {
    meta: Meta,
    encap: Encap,
    bytes: Result<Vec<u8>, String>,
}

#[derive(Serialize)]
struct JsonOut<'a> {
    #[serde(flatten)]
    meta: &'a Meta,
    #[serde(flatten)]
    decoded: &'a decode::Decoded,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let path = cli.control.as_path();
    let done = match cli.command {
        Command::Show {
            what,
            json,
            peer,
            state,
            name,
        } => {
            let filter = ops::Filter { peer, state, name };
            match what {
                Some(ShowCmd::Pppoe) => ops::show_pppoe(path, json),
                None => ops::show(path, &ops::ShowWhat::All, &filter, json),
                Some(ShowCmd::Tunnel { tunnel }) => {
                    ops::show(path, &ops::ShowWhat::Tunnels(tunnel), &filter, json)
                }
                Some(ShowCmd::Session { tunnel, session }) => ops::show(
                    path,
                    &ops::ShowWhat::Sessions(tunnel, session),
                    &filter,
                    json,
                ),
            }
        }
        Command::Stats { json } => ops::stats(path, json),
        Command::Create {
            what,
            no_wait,
            timeout,
        } => match Duration::try_from_secs_f64(timeout) {
            Err(_) => Err(format!("--timeout {timeout}: not a number of seconds")),
            Ok(timeout) => {
                let wait = ops::Wait { no_wait, timeout };
                match what {
                    CreateWhat::Tunnel { name, settings } => {
                        ops::create_tunnel(path, &name, &settings, wait)
                    }
                    CreateWhat::Session {
                        tunnel,
                        name,
                        settings,
                    } => ops::create_session(path, &tunnel, &name, &settings, wait),
                }
            }
        },
        Command::Delete {
            what: DeleteWhat::Tunnel { name },
        } => ops::delete_tunnel(path, &name),
        Command::Delete {
            what: DeleteWhat::Session { tunnel, name },
        } => ops::delete_session(path, &tunnel, &name),
        Command::Monitor { json } => ops::monitor(path, json),
        Command::Decode {
            inputs,
            pcap,
            secret,
            json,
            encap,
        } => {
            let encap = match encap {
                EncapArg::Udp => Encap::Udp,
                EncapArg::Ip => Encap::Ip,
            };
            return run_decode(&inputs, pcap.as_deref(), secret.as_deref(), json, encap);
        }
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("l2tpctl: {e}");
            ExitCode::from(1)
        }
    }
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("l2tpctl: decode: {msg}");
    ExitCode::from(1)
}

/// Nothing to decode: a usage error, as clap reports them (exit status 2).
fn usage() -> ExitCode {
    eprintln!(
        "l2tpctl: decode: nothing to decode: give HEX, a FILE (pcap, pcapng or hex lines), \
         or `-` / a pipe on stdin\n\nUsage: l2tpctl decode [OPTIONS] [INPUTS]...\n\n\
         For more information, try '--help'."
    );
    ExitCode::from(2)
}

/// Where packets come from, in the order given.
enum Source {
    /// Packets found in a capture file.
    Capture(Vec<capture::Captured>),
    /// Lines of hex.
    Lines(Vec<String>),
}

/// A file's or stdin's bytes: a capture when it starts with a capture magic number, else
/// text lines.
fn source_of(data: Vec<u8>, name: &str) -> Result<Source, String> {
    if capture::is_capture(&data) {
        capture::read_bytes(&data)
            .map(Source::Capture)
            .map_err(|e| format!("{name}: {e:#}"))
    } else {
        Ok(Source::Lines(
            String::from_utf8_lossy(&data)
                .lines()
                .map(str::to_string)
                .collect(),
        ))
    }
}

fn read_sources(inputs: &[String], pcap: Option<&str>) -> Result<Vec<Source>, String> {
    let mut sources = Vec::new();
    if let Some(path) = pcap {
        sources.push(Source::Capture(
            capture::read_file(path).map_err(|e| format!("{e:#}"))?,
        ));
    }
    let mut args = inputs.to_vec();
    if args.is_empty() && pcap.is_none() && !std::io::stdin().is_terminal() {
        args.push("-".into());
    }
    let mut hex_args = Vec::new();
    for i in args {
        let file = if i == "-" {
            let mut data = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut data)
                .map_err(|e| format!("stdin: {e}"))?;
            Some((data, "stdin".to_string()))
        } else if Path::new(&i).is_file() {
            let data = std::fs::read(&i).map_err(|e| format!("{i}: cannot read: {e}"))?;
            Some((data, i.clone()))
        } else {
            None
        };
        match file {
            Some((data, name)) => {
                if !hex_args.is_empty() {
                    sources.push(Source::Lines(std::mem::take(&mut hex_args)));
                }
                sources.push(source_of(data, &name)?);
            }
            None => hex_args.push(i),
        }
    }
    if !hex_args.is_empty() {
        sources.push(Source::Lines(hex_args));
    }
    Ok(sources)
}

fn skipped(line: &str) -> bool {
    let line = line.trim();
    line.is_empty() || line.starts_with('#')
}

fn run_decode(
    inputs: &[String],
    pcap: Option<&str>,
    secret: Option<&str>,
    json: bool,
    encap: Encap,
) -> ExitCode {
    let sources = match read_sources(inputs, pcap) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let given = sources.iter().any(|s| match s {
        Source::Capture(_) => true,
        Source::Lines(l) => l.iter().any(|l| !skipped(l)),
    });
    if !given {
        return usage();
    }
    let mut packets: Vec<Input> = Vec::new();
    let mut n = 0;
    for source in sources {
        match source {
            Source::Capture(caps) => {
                let t0 = caps.first().map(|c| c.timestamp).unwrap_or_default();
                for c in caps {
                    n = c.number;
                    packets.push(Input {
                        meta: Meta {
                            packet: c.number,
                            time: Some(c.timestamp.saturating_sub(t0).as_secs_f64()),
                            timestamp: Some(c.timestamp.as_secs_f64()),
                            src: Some(c.src.to_string()),
                            dst: Some(c.dst.to_string()),
                        },
                        encap: c.encap,
                        bytes: Ok(c.payload),
                    });
                }
            }
            Source::Lines(lines) => {
                for line in &lines {
                    if skipped(line) {
                        continue;
                    }
                    let line = line.trim();
                    n += 1;
                    let (label, hexpart) = match line.split_once(char::is_whitespace) {
                        Some((first, rest)) if first.contains('>') => (Some(first), rest),
                        _ => (None, line),
                    };
                    let (src, dst) = match label.and_then(|l| l.split_once('>')) {
                        Some((s, d)) => (Some(s.to_string()), Some(d.to_string())),
                        None => (None, None),
                    };
                    packets.push(Input {
                        meta: Meta {
                            packet: n,
                            src,
                            dst,
                            ..Meta::default()
                        },
                        encap,
                        bytes: parse_hex(hexpart),
                    });
                }
            }
        }
    }

    let mut verifier = secret.map(|s| decode::Verifier::new(s.as_bytes()));
    let secret = secret.map(str::as_bytes);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    for p in &packets {
        let decoded = p.bytes.clone().and_then(|b| {
            let mut d = decode::decode(&b, p.encap, secret).map_err(|e| e.0)?;
            if let Some(v) = &mut verifier {
                v.check(&mut d, &b);
            }
            Ok(d)
        });
        let d = match decoded {
            Ok(d) => d,
            Err(e) => {
                // Flush what was printed so far so that the error lands after it.
                let _ = out.flush();
                eprintln!("l2tpctl: decode: packet {}: {e}", p.meta.packet);
                failed = true;
                continue;
            }
        };
        let text = if json {
            serde_json::to_string(&JsonOut {
                meta: &p.meta,
                decoded: &d,
            })
            .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        } else {
            let mut title = format!("packet {}", p.meta.packet);
            if let Some(t) = p.meta.time {
                title.push_str(&format!("  t={t:.6}"));
            }
            if let (Some(s), Some(d)) = (&p.meta.src, &p.meta.dst) {
                title.push_str(&format!("  {s} > {d}"));
            }
            format!("{title}\n{}\n", decode::tree(&d))
        };
        if writeln!(out, "{text}").is_err() {
            // Reader went away (e.g. `| head`): stop quietly.
            return ExitCode::SUCCESS;
        }
    }
    let _ = out.flush();
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Hex digits with optional whitespace, `:` separators and a `0x` prefix.
fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    let digits: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect();
    if let Some((i, c)) = digits.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(format!("bad hex: character {c:?} at offset {i}"));
    }
    if digits.len() & 1 == 1 {
        return Err(format!(
            "bad hex: odd number of digits, last byte incomplete at offset {}",
            digits.len() / 2
        ));
    }
    hex::decode(&digits).map_err(|e| format!("bad hex: {e}"))
}

#[cfg(test)]
mod tests {
    use super::parse_hex;

    #[test]
    fn hex_forms() {
        assert_eq!(parse_hex("c8 02\n00").unwrap(), [0xc8, 2, 0]);
        assert_eq!(parse_hex("0xc802").unwrap(), [0xc8, 2]);
        assert_eq!(parse_hex("c8:02").unwrap(), [0xc8, 2]);
        assert!(parse_hex("c8z2").unwrap_err().contains("offset 2"));
        assert!(parse_hex("c80").unwrap_err().contains("offset 1"));
    }
}
