//! Simulated network for engine tests: two [`Endpoint`]s joined by an in-memory network with a
//! virtual clock, a seeded RNG and fault injection (drop, duplicate, delay/reorder, filters).
//! Everything goes through the real codec (`poll_transmit` bytes → `handle`).
//!
//! Included by the `engine_*` tests with `#[path = "sim_harness.rs"] mod sim;`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use l2tp_proto::endpoint::{
    Endpoint, EndpointConfig, Event, SessionConfig, TunnelConfig, TunnelId,
};
use l2tp_proto::wire::{ControlMessage, Encap, MessageType, ResultCode, Version};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Index of the LAC (initiator) node.
pub const LAC: usize = 0;
/// Index of the LNS (responder) node.
pub const LNS: usize = 1;

/// One endpoint on the simulated network.
pub struct Node {
    pub ep: Endpoint,
    /// Address peers send to.
    pub addr: SocketAddr,
    /// Address its datagrams come from (may differ: RFC 2661 §8.1 port change).
    pub src: SocketAddr,
    /// Events drained so far, with the time they were seen.
    pub events: Vec<(Duration, Event)>,
    /// Whether this node is attached (a detached node never receives anything).
    pub up: bool,
}

/// A datagram seen on the network.
#[derive(Clone, Debug)]
pub struct Packet {
    /// Offset from the start of the simulation when it was sent.
    pub at: Duration,
    /// Sending node.
    pub from: usize,
    /// Destination address.
    pub to: SocketAddr,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Decoded (without secret), if it parses.
    pub msg: Option<ControlMessage>,
}

impl Packet {
    /// Message type, or `None` for a ZLB / undecodable packet.
    pub fn mt(&self) -> Option<MessageType> {
        self.msg.as_ref().and_then(|m| m.message_type())
    }
    /// True for a ZLB.
    pub fn is_zlb(&self) -> bool {
        self.msg.as_ref().is_some_and(|m| m.is_zlb())
    }
}

/// Fault injection.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Probability of dropping each datagram.
    pub drop: f64,
    /// Probability of duplicating each datagram.
    pub duplicate: f64,
    /// Extra random delay in 0..=jitter (reorders).
    pub jitter: Duration,
    /// Probability of flipping one random bit of each datagram.
    pub corrupt: f64,
}

type Filter = Box<dyn FnMut(&Packet) -> bool>;
/// Rewrites a decoded message from a node before it is sent (re-encoded without secret).
type Rewrite = Box<dyn FnMut(usize, &mut ControlMessage)>;

pub struct Sim {
    pub t0: Instant,
    pub now: Instant,
    pub nodes: [Node; 2],
    pub latency: Duration,
    pub faults: Faults,
    /// Drop packets for which this returns true (after logging them).
    pub drop_if: Option<Filter>,
    /// Rewrite messages (sender node, message) before they are logged and sent.
    pub rewrite: Option<Rewrite>,
    /// Every datagram sent, in order.
    pub log: Vec<Packet>,
    /// Print deliveries to stderr.
    pub trace: bool,
    rng: SmallRng,
    seq: u64,
    /// (deliver at, seq, destination node, source address, encapsulation, bytes)
    in_flight: Vec<(Instant, u64, usize, SocketAddr, Encap, Vec<u8>)>,
}

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

impl Sim {
    /// A LAC endpoint (node 0, 10.0.0.1:1701) and an LNS endpoint accepting v2 tunnels
    /// (node 1, 10.0.0.2:1701).
    pub fn new(seed: u64, lns_cfg: EndpointConfig) -> Sim {
        Sim::with(
            seed,
            EndpointConfig::default(),
            EndpointConfig {
                accept_v2_incoming: true,
                host_name: b"lns.example".to_vec(),
                ..lns_cfg
            },
        )
    }

    /// Two endpoints with the given configurations (node 0 at 10.0.0.1:1701, node 1 at
    /// 10.0.0.2:1701).
    pub fn with(seed: u64, lac_cfg: EndpointConfig, lns_cfg: EndpointConfig) -> Sim {
        let t0 = Instant::now();
        let lac = Node {
            ep: Endpoint::new(lac_cfg, seed),
            addr: addr("10.0.0.1:1701"),
            src: addr("10.0.0.1:1701"),
            events: vec![],
            up: true,
        };
        let lns = Node {
            ep: Endpoint::new(lns_cfg, seed.wrapping_add(1)),
            addr: addr("10.0.0.2:1701"),
            src: addr("10.0.0.2:1701"),
            events: vec![],
            up: true,
        };
        Sim {
            t0,
            now: t0,
            nodes: [lac, lns],
            latency: Duration::from_millis(1),
            faults: Faults::default(),
            drop_if: None,
            rewrite: None,
            log: vec![],
            trace: false,
            rng: SmallRng::seed_from_u64(seed ^ 0x5eed),
            seq: 0,
            in_flight: vec![],
        }
    }

    /// Default LNS config.
    pub fn pair(seed: u64) -> Sim {
        Sim::new(seed, EndpointConfig::default())
    }

    /// Tunnel config from the LAC to the LNS.
    pub fn tunnel_cfg(&self) -> TunnelConfig {
        let mut c = TunnelConfig::new(Version::V2, Encap::Udp, self.nodes[LNS].addr);
        c.host_name = b"lac.example".to_vec();
        c
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    fn node_for(&self, to: SocketAddr) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.up && (n.addr == to || n.src == to))
    }

    /// Moves transmits and events out of both endpoints.
    pub fn drain(&mut self) {
        for i in 0..2 {
            while let Some(e) = self.nodes[i].ep.poll_event() {
                let at = self.now - self.t0;
                self.nodes[i].events.push((at, e));
            }
            while let Some(tx) = self.nodes[i].ep.poll_transmit() {
                let mut msg = ControlMessage::parse(&tx.payload, tx.encap, None).ok();
                let mut bytes = tx.payload;
                if let (Some(rw), Some(m)) = (self.rewrite.as_mut(), msg.as_mut()) {
                    rw(i, m);
                    bytes = m.to_bytes(tx.encap, None).unwrap();
                }
                let p = Packet {
                    at: self.now - self.t0,
                    from: i,
                    to: tx.destination,
                    bytes,
                    msg,
                };
                self.log.push(p.clone());
                if let Some(f) = self.drop_if.as_mut() {
                    if f(&p) {
                        continue;
                    }
                }
                if self.faults.drop > 0.0 && self.rng.gen_bool(self.faults.drop) {
                    continue;
                }
                let Some(dst) = self.node_for(tx.destination) else {
                    continue;
                };
                let copies =
                    if self.faults.duplicate > 0.0 && self.rng.gen_bool(self.faults.duplicate) {
                        2
                    } else {
                        1
                    };
                for _ in 0..copies {
                    let jitter = if self.faults.jitter.is_zero() {
                        Duration::ZERO
                    } else {
                        let j = self
                            .rng
                            .gen_range(0..=self.faults.jitter.as_micros() as u64);
                        Duration::from_micros(j)
                    };
                    self.seq += 1;
                    let src = self.nodes[i].src;
                    let mut bytes = p.bytes.clone();
                    if self.faults.corrupt > 0.0
                        && !bytes.is_empty()
                        && self.rng.gen_bool(self.faults.corrupt)
                    {
                        let bit = self.rng.gen_range(0..bytes.len() * 8);
                        bytes[bit / 8] ^= 1 << (bit % 8);
                    }
                    self.in_flight.push((
                        self.now + self.latency + jitter,
                        self.seq,
                        dst,
                        src,
                        tx.encap,
                        bytes,
                    ));
                }
            }
        }
    }

    /// The next moment something happens (delivery or timer), if anything is pending.
    fn next_time(&self) -> Option<Instant> {
        let d = self.in_flight.iter().map(|x| x.0).min();
        let t = self.nodes.iter().filter_map(|n| n.ep.poll_timeout()).min();
        match (d, t) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Advances to the next happening and processes everything due then. False when idle or
    /// the next happening is after `deadline`.
    pub fn step(&mut self, deadline: Instant) -> bool {
        self.drain();
        let Some(next) = self.next_time() else {
            return false;
        };
        if next > deadline {
            return false;
        }
        self.now = self.now.max(next);
        let now = self.now;
        // Deliveries due now, in (time, seq) order.
        let mut due: Vec<_> = Vec::new();
        let mut rest = Vec::new();
        for x in self.in_flight.drain(..) {
            if x.0 <= now {
                due.push(x);
            } else {
                rest.push(x);
            }
        }
        self.in_flight = rest;
        due.sort_by_key(|x| (x.0, x.1));
        for (_, _, dst, src, encap, bytes) in due {
            if self.nodes[dst].up {
                if self.trace {
                    eprintln!(
                        "{:>8.3} deliver to {dst}: {}",
                        (now - self.t0).as_secs_f64(),
                        hex::encode(&bytes[..bytes.len().min(12)])
                    );
                }
                self.nodes[dst].ep.handle_encap(now, src, encap, &bytes);
            }
        }
        for n in &mut self.nodes {
            if n.ep.poll_timeout().is_some_and(|t| t <= now) {
                n.ep.handle_timeout(now);
            }
        }
        self.drain();
        true
    }

    /// Runs for `d` of virtual time (or until nothing is pending).
    pub fn run_for(&mut self, d: Duration) {
        let deadline = self.now + d;
        while self.step(deadline) {}
        self.now = self.now.max(deadline);
        self.drain();
    }

    /// Runs until `pred` holds (checked after each step) or `limit` of virtual time passes.
    pub fn run_until(&mut self, limit: Duration, mut pred: impl FnMut(&Sim) -> bool) -> bool {
        let deadline = self.now + limit;
        loop {
            if pred(self) {
                return true;
            }
            if !self.step(deadline) {
                return pred(self);
            }
        }
    }

    /// Events of a node (without times).
    pub fn events(&self, node: usize) -> Vec<Event> {
        self.nodes[node]
            .events
            .iter()
            .map(|(_, e)| e.clone())
            .collect()
    }

    pub fn has_event(&self, node: usize, f: impl Fn(&Event) -> bool) -> bool {
        self.nodes[node].events.iter().any(|(_, e)| f(e))
    }

    /// Packets sent by `node` of message type `mt`.
    pub fn sent(&self, node: usize, mt: MessageType) -> Vec<&Packet> {
        self.log
            .iter()
            .filter(|p| p.from == node && p.mt() == Some(mt))
            .collect()
    }

    /// Tunnel config from the LAC to the LNS for L2TPv3 over `encap`.
    pub fn tunnel_cfg_v3(&self, encap: Encap) -> TunnelConfig {
        let mut c = TunnelConfig::new(Version::V3, encap, self.nodes[LNS].addr);
        c.host_name = b"lac.example".to_vec();
        c.router_id = 0x0a00_0001;
        c
    }

    /// Count of events of a node matching `f`.
    pub fn count(&self, node: usize, f: impl Fn(&Event) -> bool) -> usize {
        self.nodes[node].events.iter().filter(|(_, e)| f(e)).count()
    }

    /// ZLBs sent by `node`.
    pub fn zlbs(&self, node: usize) -> Vec<&Packet> {
        self.log
            .iter()
            .filter(|p| p.from == node && p.is_zlb())
            .collect()
    }
}

pub fn is_tunnel_up(e: &Event) -> bool {
    matches!(e, Event::TunnelUp { .. })
}

pub fn is_session_up(e: &Event) -> bool {
    matches!(e, Event::SessionUp { .. })
}

pub fn is_tunnel_down(e: &Event) -> bool {
    matches!(e, Event::TunnelDown { .. })
}

/// `s` seconds of virtual time.
pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// A Result Code with an error code and no message.
pub fn rc(result: u16, error: u16) -> ResultCode {
    ResultCode {
        result,
        error: Some(error),
        message: None,
    }
}

impl Sim {
    /// The LAC dials a v2 tunnel with one session; returns (LAC tunnel, LNS tunnel) once both
    /// ends report the session up (fails the test if that takes over 60 virtual seconds).
    pub fn tunnel_with_session(&mut self) -> (TunnelId, TunnelId) {
        let now = self.now;
        let cfg = self.tunnel_cfg();
        let t = self.nodes[LAC].ep.connect(now, cfg).unwrap();
        self.nodes[LAC]
            .ep
            .open_session(now, t, SessionConfig::default())
            .unwrap();
        assert!(
            self.run_until(secs(60.0), |s| s.has_event(LAC, is_session_up)
                && s.has_event(LNS, is_session_up))
        );
        (t, self.nodes[LNS].ep.tunnel_ids()[0])
    }
}
