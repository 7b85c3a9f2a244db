//! `l2tp-bench`: many L2TPv2 LACs / L2TPv3 LCCEs against one LNS on loopback.
//!
//! ```text
//! l2tp-bench --server 127.0.0.1:1701 --tunnels 1000 --sessions-per-tunnel 10 \
//!            --concurrency 64 --teardown --report-every 1000 --server-pid $(pidof l2tpd)
//! ```
//! Exit status: 0 when everything came up (and, with `--teardown`, went down acknowledged),
//! 1 when anything failed, 2 on a usage error or when the run cannot start.
#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use l2tp_bench::{run, Error, Options};

fn main() -> ExitCode {
    let opts = Options::parse();
    let json = opts.json;
    let mut on_progress = |p: &l2tp_bench::Progress| {
        let line = p.line();
        if json {
            eprintln!("{line}");
        } else {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    };
    let report = match run(&opts, &mut on_progress) {
        Ok(r) => r,
        Err(e @ (Error::Options(_) | Error::Setup(_))) => {
            eprintln!("l2tp-bench: {e}");
            return ExitCode::from(2);
        }
    };
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("l2tp-bench: cannot encode the report: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        print!("{}", report.text());
    }
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
