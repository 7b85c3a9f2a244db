//! The loopback UDP echo ceiling: how many round trips of small datagrams per second a trivial
//! echo on loopback sustains, with the load generator's shape (one UDP socket per "tunnel",
//! bound to 127.0.0.2, 127.0.0.3, …; one thread multiplexing them all with epoll; a bounded
//! number of them waiting for a reply at once).
//!
//! ```text
//! cargo run --release -p l2tp-bench --example udp_echo -- --in-flight 256 --seconds 5
//! ```
//! The echo runs on a thread of its own (one socket on 127.0.0.1, blocking `recv_from` /
//! `send_to`): two threads, as the generator and the LNS are two processes. The run is bounded
//! in count (`--count` round trips) and time (`--seconds`). It prints one JSON object:
//! round trips per second, datagrams per second (both directions), round-trip p50 / p99.
//!
//! A set-up of an L2TP tunnel (SCCRQ → SCCRP, SCCCN → ZLB) or session (ICRQ → ICRP, ICCN → ZLB)
//! is at least two round trips: half the echo's round trips per second bounds set-ups per
//! second on this machine.
#![forbid(unsafe_code)]

use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket as StdUdpSocket};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token};

/// Most sockets (datagrams in flight) one run may use.
const MAX_IN_FLIGHT: u32 = 10_000;
/// Most round trips one run may do.
const MAX_COUNT: u64 = 100_000_000;
/// A datagram unanswered this long is counted lost and sent again.
const LOST_AFTER: Duration = Duration::from_millis(200);

#[derive(Debug, Parser)]
#[command(
    name = "udp_echo",
    about = "Loopback UDP echo ceiling: round trips/s of small datagrams through a trivial echo"
)]
struct Opts {
    /// Datagrams in flight at once (one socket each, one datagram outstanding per socket).
    #[arg(long, default_value_t = 256)]
    in_flight: u32,
    /// Spread the sockets over this many source addresses 127.0.0.2, 127.0.0.3, …
    #[arg(long, default_value_t = 4)]
    sources: u8,
    /// Datagram size in bytes.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Stop after this many round trips.
    #[arg(long, default_value_t = 20_000_000)]
    count: u64,
    /// Stop after this many seconds (at most 600).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// The echo's port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

#[derive(Debug, serde::Serialize)]
struct Report {
    in_flight: u32,
    sources: u8,
    size: usize,
    seconds: f64,
    round_trips: u64,
    round_trips_per_second: f64,
    datagrams_per_second: f64,
    rtt_p50_us: f64,
    rtt_p99_us: f64,
    lost: u64,
    send_errors: u64,
    echo_recv_buffer: usize,
}

fn main() -> ExitCode {
    let o = Opts::parse();
    if o.in_flight == 0 || o.in_flight > MAX_IN_FLIGHT {
        eprintln!("udp_echo: --in-flight 1..={MAX_IN_FLIGHT}");
        return ExitCode::from(2);
    }
    if !(1..=254).contains(&o.sources) {
        eprintln!("udp_echo: --sources 1..=254");
        return ExitCode::from(2);
    }
    if !(1..=1400).contains(&o.size) {
        eprintln!("udp_echo: --size 1..=1400");
        return ExitCode::from(2);
    }
    if o.count == 0 || o.count > MAX_COUNT {
        eprintln!("udp_echo: --count 1..={MAX_COUNT}");
        return ExitCode::from(2);
    }
    if !o.seconds.is_finite() || o.seconds <= 0.0 || o.seconds > 600.0 {
        eprintln!("udp_echo: --seconds: more than 0, at most 600");
        return ExitCode::from(2);
    }
    match run(&o) {
        Ok(r) => {
            match serde_json::to_string(&r) {
                Ok(s) => println!("{s}"),
                Err(e) => {
                    eprintln!("udp_echo: {e}");
                    return ExitCode::from(2);
                }
            }
            if r.round_trips > 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("udp_echo: {e}");
            ExitCode::from(2)
        }
    }
}

/// The echo: one socket, `recv_from` then `send_to` the same bytes, until `stop`.
fn echo(sock: StdUdpSocket, stop: Arc<AtomicBool>) {
    let _ = sock.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                let _ = sock.send_to(&buf[..n], from);
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => {}
        }
    }
}

/// The echo socket's receive buffer, as l2tpd's listening socket has it (8 MiB).
const ECHO_RECV_BUFFER: usize = 8 << 20;

fn run(o: &Opts) -> std::io::Result<Report> {
    let server_sock = StdUdpSocket::bind((Ipv4Addr::LOCALHOST, o.port))?;
    let server: SocketAddr = server_sock.local_addr()?;
    // SO_RCVBUFFORCE when privileged, else SO_RCVBUF (capped by net.core.rmem_max).
    let sock2 = socket2::SockRef::from(&server_sock);
    if nix::sys::socket::setsockopt(
        &server_sock,
        nix::sys::socket::sockopt::RcvBufForce,
        &ECHO_RECV_BUFFER,
    )
    .is_err()
    {
        let _ = sock2.set_recv_buffer_size(ECHO_RECV_BUFFER);
    }
    let echo_recv_buffer = sock2.recv_buffer_size().unwrap_or(0);
    let stop = Arc::new(AtomicBool::new(false));
    let echo_thread = {
        let stop = stop.clone();
        std::thread::spawn(move || echo(server_sock, stop))
    };
    let result = client(o, server, echo_recv_buffer);
    stop.store(true, Ordering::Relaxed);
    let _ = echo_thread.join();
    result
}

struct Slot {
    sock: UdpSocket,
    sent: Instant,
}

fn client(o: &Opts, server: SocketAddr, echo_recv_buffer: usize) -> std::io::Result<Report> {
    let mut poll = Poll::new()?;
    let mut slots = Vec::with_capacity(o.in_flight as usize);
    for i in 0..o.in_flight {
        let src = IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            0,
            2 + (i % u32::from(o.sources)) as u8,
        ));
        let mut sock = UdpSocket::bind(SocketAddr::new(src, 0))?;
        poll.registry()
            .register(&mut sock, Token(i as usize), Interest::READABLE)?;
        slots.push(Slot {
            sock,
            sent: Instant::now(),
        });
    }
    let payload = vec![0x5au8; o.size];
    let mut buf = vec![0u8; 2048];
    let mut rtts: Vec<f32> = Vec::with_capacity(o.count.min(1 << 24) as usize);
    let (mut done, mut lost, mut send_errors) = (0u64, 0u64, 0u64);
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(o.seconds);
    for s in &mut slots {
        s.sent = Instant::now();
        if s.sock.send_to(&payload, server).is_err() {
            send_errors += 1;
        }
    }
    let mut events = Events::with_capacity(1024);
    let mut last_scan = t0;
    'run: loop {
        let now = Instant::now();
        if now >= deadline || done >= o.count {
            break;
        }
        // Lost datagrams (none expected on loopback): count them and send again.
        if now - last_scan >= LOST_AFTER {
            last_scan = now;
            for s in &mut slots {
                if now - s.sent >= LOST_AFTER {
                    lost += 1;
                    s.sent = now;
                    if s.sock.send_to(&payload, server).is_err() {
                        send_errors += 1;
                    }
                }
            }
        }
        let wait = (deadline - now).min(LOST_AFTER);
        if let Err(e) = poll.poll(&mut events, Some(wait)) {
            if e.kind() != ErrorKind::Interrupted {
                return Err(e);
            }
        }
        for ev in events.iter() {
            let s = &mut slots[ev.token().0];
            loop {
                match s.sock.recv_from(&mut buf) {
                    Ok(_) => {
                        let now = Instant::now();
                        if rtts.len() < rtts.capacity() {
                            rtts.push((now - s.sent).as_secs_f32() * 1e6);
                        }
                        done += 1;
                        if done >= o.count {
                            break 'run;
                        }
                        s.sent = now;
                        if s.sock.send_to(&payload, server).is_err() {
                            send_errors += 1;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => break,
                }
            }
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    rtts.sort_by(f32::total_cmp);
    let pct = |p: f64| -> f64 {
        if rtts.is_empty() {
            return 0.0;
        }
        let n = rtts.len();
        f64::from(rtts[((p * n as f64).ceil() as usize).clamp(1, n) - 1])
    };
    Ok(Report {
        in_flight: o.in_flight,
        sources: o.sources,
        size: o.size,
        seconds: secs,
        round_trips: done,
        round_trips_per_second: done as f64 / secs,
        datagrams_per_second: 2.0 * done as f64 / secs,
        rtt_p50_us: pct(0.50),
        rtt_p99_us: pct(0.99),
        lost,
        send_errors,
        echo_recv_buffer,
    })
}
