//! Plots a run of `l2tp-bench` (its `--json` report, or its progress lines): set-up rate and
//! server RSS against sessions held, as an SVG.
//!
//! ```text
//! l2tp-bench … --report-every 1000 --server-pid PID --json > run.json
//! cargo run --release -p l2tp-bench --example plot -- --input run.json --output setup.svg
//! ```
//! The input is either the JSON report (its `progress` array) or text holding the progress
//! lines (`progress elapsed=… sessions=… established=… interval_rate=… server_rss_kb=…`; other
//! lines are skipped). Two panels share the x axis (sessions held): the set-up rate (each
//! progress interval, and over a sliding window of `--window` intervals), and the server's
//! RSS in MB. Text is drawn by the SVG viewer: no font is needed here.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use plotters::prelude::*;

#[derive(Debug, Parser)]
#[command(
    name = "plot",
    about = "Set-up rate and server RSS against sessions held, from an l2tp-bench run, as SVG"
)]
struct Opts {
    /// The run: l2tp-bench's JSON report, or its progress lines.
    #[arg(long)]
    input: std::path::PathBuf,
    /// The SVG to write.
    #[arg(long)]
    output: std::path::PathBuf,
    /// Title above the plot.
    #[arg(
        long,
        default_value = "l2tpd -null: set-up rate and RSS against sessions held"
    )]
    title: String,
    /// Sliding window of the smoothed rate, in progress intervals.
    #[arg(long, default_value_t = 10)]
    window: usize,
    /// Width and height of the picture, pixels.
    #[arg(long, default_value_t = 960)]
    width: u32,
    /// Height of the picture, pixels.
    #[arg(long, default_value_t = 720)]
    height: u32,
}

/// One progress record (the fields the plot needs).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Point {
    elapsed: f64,
    sessions: f64,
    established: f64,
    interval_rate: f64,
    rss_kb: Option<f64>,
}

fn field(v: &serde_json::Value, k: &str) -> Option<f64> {
    v.get(k).and_then(serde_json::Value::as_f64)
}

/// The progress records of `text`: a JSON report, or progress lines.
fn parse(text: &str) -> Result<Vec<Point>, String> {
    if text.trim_start().starts_with('{') {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("JSON report: {e}"))?;
        let progress = v
            .get("progress")
            .and_then(serde_json::Value::as_array)
            .ok_or("JSON report without a progress array (run with --report-every)")?;
        return progress
            .iter()
            .map(|p| {
                Ok(Point {
                    elapsed: field(p, "elapsed").ok_or("progress without elapsed")?,
                    sessions: field(p, "sessions").ok_or("progress without sessions")?,
                    established: field(p, "established").ok_or("progress without established")?,
                    interval_rate: field(p, "interval_rate")
                        .ok_or("progress without interval_rate")?,
                    rss_kb: field(p, "server_rss_kb"),
                })
            })
            .collect();
    }
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix("progress ") else {
            continue;
        };
        let get = |k: &str| {
            rest.split_whitespace()
                .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('=')?.parse::<f64>().ok())
        };
        let (Some(elapsed), Some(sessions), Some(established), Some(interval_rate)) = (
            get("elapsed"),
            get("sessions"),
            get("established"),
            get("interval_rate"),
        ) else {
            return Err(format!("progress line without its fields: {line}"));
        };
        out.push(Point {
            elapsed,
            sessions,
            established,
            interval_rate,
            rss_kb: get("server_rss_kb"),
        });
    }
    Ok(out)
}

/// Set-up rate over the last `w` intervals at each point (the first points: from the start).
fn smoothed(points: &[Point], w: usize) -> Vec<(f64, f64)> {
    let w = w.max(1);
    points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (t0, n0) = if i >= w {
                (points[i - w].elapsed, points[i - w].established)
            } else {
                (0.0, 0.0)
            };
            let dt = p.elapsed - t0;
            let rate = if dt > 0.0 {
                (p.established - n0) / dt
            } else {
                0.0
            };
            (p.sessions, rate)
        })
        .collect()
}

fn draw(o: &Opts, points: &[Point]) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(&o.output, (o.width, o.height)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(&o.title, ("sans-serif", 20))?;
    let (top, bottom) = root.split_vertically(o.height / 2);
    let x_max = points.iter().map(|p| p.sessions).fold(1.0, f64::max) * 1.02;
    let smooth = smoothed(points, o.window);
    let y_rate = points
        .iter()
        .map(|p| p.interval_rate)
        .chain(smooth.iter().map(|s| s.1))
        .fold(1.0, f64::max)
        * 1.05;

    let mut rate = ChartBuilder::on(&top)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0..x_max, 0.0..y_rate / 1000.0)?;
    rate.configure_mesh()
        .x_desc("sessions held")
        .y_desc("set-up rate (k sessions/s)")
        .x_label_formatter(&|x| format!("{:.0}k", x / 1000.0))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    rate.draw_series(LineSeries::new(
        points
            .iter()
            .map(|p| (p.sessions, p.interval_rate / 1000.0)),
        BLUE.mix(0.35),
    ))?
    .label("each progress interval")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.mix(0.35)));
    rate.draw_series(LineSeries::new(
        smooth.iter().map(|&(x, r)| (x, r / 1000.0)),
        BLUE.stroke_width(3),
    ))?
    .label(format!("over {} intervals", o.window.max(1)))
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(3)));
    rate.configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;

    let rss: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|p| Some((p.sessions, p.rss_kb? / 1024.0)))
        .collect();
    let y_rss = rss.iter().map(|r| r.1).fold(1.0, f64::max) * 1.1;
    let mut mem = ChartBuilder::on(&bottom)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0..x_max, 0.0..y_rss)?;
    mem.configure_mesh()
        .x_desc("sessions held")
        .y_desc("server RSS (MiB)")
        .x_label_formatter(&|x| format!("{:.0}k", x / 1000.0))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    if rss.is_empty() {
        bottom.draw(&Text::new(
            "no server RSS in the progress (run with --server-pid)",
            (100, 100),
            ("sans-serif", 16),
        ))?;
    } else {
        mem.draw_series(LineSeries::new(rss.iter().copied(), RED.stroke_width(2)))?;
    }
    root.present()?;
    Ok(())
}

fn main() -> ExitCode {
    let o = Opts::parse();
    let text = match std::fs::read_to_string(&o.input) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("plot: {}: {e}", o.input.display());
            return ExitCode::from(2);
        }
    };
    let points = match parse(&text) {
        Ok(p) if !p.is_empty() => p,
        Ok(_) => {
            eprintln!("plot: {}: no progress records", o.input.display());
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("plot: {}: {e}", o.input.display());
            return ExitCode::from(1);
        }
    };
    if let Err(e) = draw(&o, &points) {
        eprintln!("plot: {}: {e}", o.output.display());
        return ExitCode::from(1);
    }
    println!(
        "plot: {} progress records -> {}",
        points.len(),
        o.output.display()
    );
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_progress_lines_and_json() {
        let lines = "noise\nprogress elapsed=0.5 sessions=1000 tunnels=100 established=1000 rate=2000.0 interval_rate=2000.0 server_rss_kb=2048\n\
                     progress elapsed=1.0 sessions=2000 tunnels=200 established=2000 rate=2000.0 interval_rate=2000.0\n";
        let p = parse(lines).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].rss_kb, Some(2048.0));
        assert_eq!(p[1].rss_kb, None);
        let json = r#"{"server":"x","progress":[{"elapsed":0.5,"sessions":1000,"tunnels":100,"established":1000,"rate":2000.0,"interval_rate":2000.0,"server_rss_kb":2048}]}"#;
        let q = parse(json).unwrap();
        assert_eq!(q[0], p[0]);
        assert_eq!(smoothed(&p, 1)[1], (2000.0, 2000.0));
        assert_eq!(smoothed(&p, 10)[1], (2000.0, 2000.0));
    }
}
