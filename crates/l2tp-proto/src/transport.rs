//! The reliable control channel of one tunnel (RFC 2661 §5.8, RFC 3931 §4.2).
//!
//! Pure state machine over [`ControlMessage`] values: the owner hands it messages to send
//! ([`Transport::send`]) and messages received ([`Transport::on_receive`]), and drains datagrams
//! to transmit ([`Transport::poll_outgoing`]), messages delivered in order
//! ([`Transport::poll_delivered`]) and acknowledged tags ([`Transport::poll_acked`]). Time is an
//! argument; the transport never reads a clock.
//!
//! - Ns/Nr are 16-bit and compared modulo 2¹⁶ ([`seq_newer`]).
//! - The send window is the peer's Receive Window Size (default 4 until known), further limited
//!   by slow start and congestion avoidance (RFC 2661 Appendix A: CWND starts at 1, +1 per ack
//!   up to SSTHRESH, then +1 per CWND acks; a retransmission timeout halves SSTHRESH and resets
//!   CWND to 1). Messages beyond the window wait in a queue and get their Ns when they enter it.
//! - After a retransmission timeout every message then in flight is taken as lost (go-back-N):
//!   the oldest is resent at once and the others as the congestion window reopens with each
//!   acknowledgement, before any new message — not one per timer, so a burst of k losses costs
//!   one timeout plus a few round trips rather than k timeouts.
//! - One retransmission timer for the window: it starts at `retry_timeout` and doubles on each
//!   retransmission, capped at [`MAX_RETRY_TIMEOUT`]; after `max_retries` retransmissions
//!   without progress the channel has [`failed`](Transport::failed). Retransmitted messages keep
//!   their Ns and carry the current Nr.
//! - Every received message (and ZLB) acknowledges by its Nr. A ZLB acknowledgement is sent by
//!   [`Transport::flush_ack`] (call it once at the end of processing a datagram) when a message
//!   was received and nothing was sent since that carries the ack.
//! - Duplicates (Ns older than expected) are counted, re-acknowledged, not delivered;
//!   out-of-order newer messages inside our receive window are held and delivered in order.
//! - HELLO after `hello_interval` of receive silence, when enabled (a zero interval: never).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::wire::{Avp, AvpValue, ControlHeader, ControlMessage, MessageType, Version};

/// Upper bound of the retransmission timeout (RFC 2661 §5.8 recommends a cap of at least 8 s).
pub const MAX_RETRY_TIMEOUT: Duration = Duration::from_secs(8);

/// Most out-of-order messages held, whatever our advertised window.
const MAX_HELD: u16 = 256;

/// `a` is newer than `b` in sequence-number space: `(a - b) mod 2¹⁶` is in `1..32768`.
pub fn seq_newer(a: u16, b: u16) -> bool {
    let d = a.wrapping_sub(b);
    d != 0 && d < 32768
}

/// Settings of one reliable channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportConfig {
    /// Our receive window (what we advertise in the Receive Window Size AVP).
    pub recv_window: u16,
    /// First retransmission timeout.
    pub retry_timeout: Duration,
    /// Retransmissions of an unacknowledged message before the channel fails.
    pub max_retries: u32,
    /// Send HELLO after this much receive silence (once enabled).
    pub hello_interval: Option<Duration>,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            recv_window: 4,
            retry_timeout: Duration::from_secs(1),
            max_retries: 3,
            hello_interval: None,
        }
    }
}

/// What the owner wants to learn when a message is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// Nothing.
    None,
    /// The SCCCN (tunnel established on the LAC side).
    Scccn,
    /// The ICCN of this local session.
    Iccn(u32),
    /// The OCCN of this local session (we answered the peer's outgoing call).
    Occn(u32),
    /// The StopCCN (closing finished).
    StopCcn,
}

/// Why a datagram is being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendKind {
    /// First transmission of a message.
    First,
    /// Retransmission.
    Retransmit,
    /// ZLB acknowledgement.
    Zlb,
}

/// A message ready for the wire (Ns and Nr filled in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The message.
    pub msg: ControlMessage,
    /// Why it is sent.
    pub kind: SendKind,
}

/// Per-channel counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransportStats {
    /// Messages received (excluding ZLBs), including duplicates.
    pub rx: u64,
    /// First transmissions (excluding ZLBs).
    pub tx: u64,
    /// Retransmissions.
    pub retransmits: u64,
    /// ZLBs sent.
    pub zlb_tx: u64,
    /// Duplicates received.
    pub duplicates: u64,
    /// Out-of-order messages held for later delivery.
    pub out_of_order: u64,
    /// Messages dropped because they were beyond our receive window.
    pub beyond_window: u64,
}

#[derive(Debug)]
struct InFlight {
    msg: ControlMessage,
    tag: Tag,
}

/// The reliable control channel of one tunnel.
#[derive(Debug)]
pub struct Transport {
    cfg: TransportConfig,
    /// Header fields for ZLBs and HELLOs: version and the peer's tunnel ID.
    version: Version,
    peer_tunnel_id: u32,
    zlb_session_id: u16,
    peer_window: u16,
    cwnd: u16,
    ssthresh: u16,
    ca_acks: u16,
    next_ns: u16,
    expected: u16,
    in_flight: VecDeque<InFlight>,
    /// The first `sent` messages of `in_flight` were transmitted since the last retransmission
    /// timeout; the rest are taken as lost and resent as the window allows (go-back-N). Equal
    /// to `in_flight.len()` outside recovery.
    sent: usize,
    queue: VecDeque<(ControlMessage, Tag)>,
    held: BTreeMap<u16, ControlMessage>,
    ack_needed: bool,
    rto: Duration,
    retries: u32,
    retransmit_at: Option<Instant>,
    hello_enabled: bool,
    hello_at: Option<Instant>,
    stopped: bool,
    failed: bool,
    outbox: VecDeque<Outgoing>,
    delivered: VecDeque<ControlMessage>,
    acked: VecDeque<Tag>,
    stats: TransportStats,
}

impl Transport {
    /// A fresh channel: Ns = Nr = 0, peer window 4.
    pub fn new(cfg: TransportConfig, version: Version) -> Self {
        let rto = cfg.retry_timeout;
        Transport {
            cfg,
            version,
            peer_tunnel_id: 0,
            zlb_session_id: 0,
            peer_window: 4,
            cwnd: 1,
            ssthresh: 4,
            ca_acks: 0,
            next_ns: 0,
            expected: 0,
            in_flight: VecDeque::new(),
            sent: 0,
            queue: VecDeque::new(),
            held: BTreeMap::new(),
            ack_needed: false,
            rto,
            retries: 0,
            retransmit_at: None,
            hello_enabled: false,
            hello_at: None,
            stopped: false,
            failed: false,
            outbox: VecDeque::new(),
            delivered: VecDeque::new(),
            acked: VecDeque::new(),
            stats: TransportStats::default(),
        }
    }

    /// The peer's tunnel ID, used in the header of ZLBs and HELLOs.
    pub fn set_peer_tunnel_id(&mut self, id: u32) {
        self.peer_tunnel_id = id;
    }

    /// The session ID to put in the next ZLB's header (xl2tpd uses the peer's ID of the session
    /// whose message is acknowledged; 0 is always acceptable).
    pub fn set_zlb_session_id(&mut self, id: u16) {
        self.zlb_session_id = id;
    }

    /// The peer's Receive Window Size (0 is treated as 1).
    pub fn set_peer_window(&mut self, now: Instant, window: u16) {
        self.peer_window = window.max(1);
        self.ssthresh = self.peer_window;
        self.cwnd = self.cwnd.min(self.peer_window);
        self.fill_window(now);
    }

    /// The peer's advertised window.
    pub fn peer_window(&self) -> u16 {
        self.peer_window
    }

    /// The congestion window (never above the peer's window).
    pub fn cwnd(&self) -> u16 {
        self.cwnd
    }

    /// The slow-start threshold.
    pub fn ssthresh(&self) -> u16 {
        self.ssthresh
    }

    /// Starts the sequence spaces elsewhere than 0 (tests of wrap-around; a fresh channel
    /// only).
    #[doc(hidden)]
    pub fn set_initial_sequence(&mut self, next_ns: u16, expected: u16) {
        self.next_ns = next_ns;
        self.expected = expected;
    }

    fn send_window(&self) -> usize {
        usize::from(self.cwnd.min(self.peer_window).max(1))
    }

    fn on_ack_cwnd(&mut self) {
        if self.cwnd < self.ssthresh {
            self.cwnd += 1;
        } else {
            self.ca_acks += 1;
            if self.ca_acks >= self.cwnd {
                self.ca_acks = 0;
                self.cwnd = self.cwnd.saturating_add(1);
            }
        }
        self.cwnd = self.cwnd.min(self.peer_window);
    }

    /// Starts (or restarts) the HELLO timer, if a hello interval is configured (a zero
    /// interval counts as none: it would send a HELLO on every timer).
    pub fn enable_hello(&mut self, now: Instant) {
        self.cfg.hello_interval = self.cfg.hello_interval.filter(|i| !i.is_zero());
        self.hello_enabled = self.cfg.hello_interval.is_some();
        self.hello_at = self.cfg.hello_interval.map(|i| now + i);
    }

    /// Queues a message for reliable delivery. The header's version, tunnel and session IDs are
    /// the caller's; Ns and Nr are filled in here.
    pub fn send(&mut self, now: Instant, msg: ControlMessage, tag: Tag) {
        if self.stopped {
            return;
        }
        self.queue.push_back((msg, tag));
        self.fill_window(now);
    }

    /// Fills the send window: first with messages in flight that a retransmission timeout left
    /// to resend (go-back-N, oldest first, carrying the current Nr), then with new ones.
    fn fill_window(&mut self, now: Instant) {
        let window = self.send_window();
        while self.sent < self.in_flight.len().min(window) {
            let Some(f) = self.in_flight.get_mut(self.sent) else {
                break;
            };
            f.msg.header.nr = self.expected;
            self.stats.retransmits += 1;
            self.outbox.push_back(Outgoing {
                msg: f.msg.clone(),
                kind: SendKind::Retransmit,
            });
            self.sent += 1;
            self.ack_needed = false;
        }
        while self.in_flight.len() < self.send_window() {
            let Some((mut msg, tag)) = self.queue.pop_front() else {
                break;
            };
            msg.header.ns = self.next_ns;
            msg.header.nr = self.expected;
            self.next_ns = self.next_ns.wrapping_add(1);
            self.ack_needed = false;
            self.stats.tx += 1;
            self.outbox.push_back(Outgoing {
                msg: msg.clone(),
                kind: SendKind::First,
            });
            self.in_flight.push_back(InFlight { msg, tag });
            self.sent = self.in_flight.len();
            if self.retransmit_at.is_none() {
                self.retransmit_at = Some(now + self.rto);
            }
        }
    }

    /// Processes a received control message (or ZLB) addressed to this tunnel: acknowledgement
    /// by its Nr, then in-order delivery, duplicate detection or holding.
    pub fn on_receive(&mut self, now: Instant, msg: ControlMessage) {
        if self.hello_enabled {
            self.hello_at = self.cfg.hello_interval.map(|i| now + i);
        }
        self.process_nr(now, msg.header.nr);
        if msg.is_zlb() || self.is_explicit_ack(&msg) {
            return;
        }
        self.stats.rx += 1;
        let ns = msg.header.ns;
        if ns == self.expected {
            self.ack_needed = true;
            self.delivered.push_back(msg);
            self.expected = self.expected.wrapping_add(1);
            while let Some(m) = self.held.remove(&self.expected) {
                self.delivered.push_back(m);
                self.expected = self.expected.wrapping_add(1);
            }
        } else if seq_newer(self.expected, ns) {
            // Already delivered: the peer missed our ack.
            self.stats.duplicates += 1;
            self.ack_needed = true;
        } else {
            let offset = ns.wrapping_sub(self.expected);
            if offset < self.cfg.recv_window.clamp(1, MAX_HELD) {
                if self.held.insert(ns, msg).is_none() {
                    self.stats.out_of_order += 1;
                } else {
                    self.stats.duplicates += 1;
                }
            } else {
                self.stats.beyond_window += 1;
            }
            // Tell the peer what we are still waiting for.
            self.ack_needed = true;
        }
    }

    fn process_nr(&mut self, now: Instant, nr: u16) {
        let Some(front) = self.in_flight.front() else {
            return;
        };
        let n = usize::from(nr.wrapping_sub(front.msg.header.ns));
        if n == 0 || n > self.in_flight.len() {
            return; // nothing new, or not something we sent
        }
        for _ in 0..n {
            if let Some(f) = self.in_flight.pop_front() {
                if f.tag != Tag::None {
                    self.acked.push_back(f.tag);
                }
            }
            self.on_ack_cwnd();
        }
        self.sent = self.sent.saturating_sub(n);
        self.retries = 0;
        self.rto = self.cfg.retry_timeout;
        self.retransmit_at = if self.in_flight.is_empty() {
            None
        } else {
            Some(now + self.rto)
        };
        self.fill_window(now);
    }

    /// An L2TPv3 Explicit Acknowledgement (message type 20, RFC 3931 §6.15): acknowledges like
    /// a ZLB, takes no sequence slot and is never delivered.
    fn is_explicit_ack(&self, msg: &ControlMessage) -> bool {
        self.version == Version::V3 && msg.message_type() == Some(MessageType::Ack)
    }

    /// Sends a ZLB (L2TPv2) or an explicit ACK message (L2TPv3, RFC 3931 §4.2 / §6.15: ZLBs are
    /// not permitted once Control Message Authentication is on, so v3 always uses ACK) if a
    /// received message still needs acknowledging. Call once after processing
    /// a datagram and whatever the owner queued in response (those piggyback the ack).
    pub fn flush_ack(&mut self) {
        if !self.ack_needed {
            return;
        }
        self.ack_needed = false;
        self.stats.zlb_tx += 1;
        self.outbox.push_back(Outgoing {
            msg: ControlMessage {
                header: ControlHeader {
                    version: self.version,
                    tunnel_id: self.peer_tunnel_id,
                    session_id: self.zlb_session_id,
                    ns: self.next_ns,
                    nr: self.expected,
                },
                avps: match self.version {
                    Version::V2 => Vec::new(),
                    Version::V3 => vec![Avp::m(AvpValue::MessageType(MessageType::Ack))],
                },
            },
            kind: SendKind::Zlb,
        });
    }

    /// Runs expired timers: retransmission (or failure) and HELLO.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(at) = self.retransmit_at {
            if at <= now {
                if self.retries >= self.cfg.max_retries {
                    self.failed = true;
                    self.retransmit_at = None;
                    self.hello_at = None;
                    return;
                }
                self.retries += 1;
                let cap = MAX_RETRY_TIMEOUT.max(self.cfg.retry_timeout);
                self.rto = self.rto.saturating_mul(2).min(cap);
                // Congestion (RFC 2661 Appendix A): halve SSTHRESH, back to slow start. Every
                // message in flight is taken as lost; what fits in the new CWND (the oldest)
                // is resent now, the rest as the acknowledgements reopen the window.
                self.ssthresh = (self.cwnd / 2).max(1);
                self.cwnd = 1;
                self.ca_acks = 0;
                self.sent = 0;
                self.fill_window(now);
                self.retransmit_at = Some(now + self.rto);
            }
        }
        if let (true, Some(at), Some(interval)) =
            (self.hello_enabled, self.hello_at, self.cfg.hello_interval)
        {
            if at <= now {
                self.hello_at = Some(now + interval);
                if self.in_flight.is_empty() && self.queue.is_empty() {
                    let hello = ControlMessage {
                        header: ControlHeader {
                            version: self.version,
                            tunnel_id: self.peer_tunnel_id,
                            session_id: 0,
                            ns: 0,
                            nr: 0,
                        },
                        avps: vec![Avp::m(AvpValue::MessageType(MessageType::Hello))],
                    };
                    self.send(now, hello, Tag::None);
                }
            }
        }
    }

    /// The earliest timer, if any.
    pub fn next_timeout(&self) -> Option<Instant> {
        let hello = if self.hello_enabled {
            self.hello_at
        } else {
            None
        };
        match (self.retransmit_at, hello) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Stops sending anything but acknowledgements (closed tunnel record): drops queued and
    /// unacknowledged messages and stops the timers.
    pub fn stop(&mut self) {
        self.stopped = true;
        self.queue.clear();
        self.in_flight.clear();
        self.sent = 0;
        self.retransmit_at = None;
        self.hello_enabled = false;
        self.hello_at = None;
    }

    /// Drops messages not yet sent (still waiting for window space).
    pub fn clear_unsent(&mut self) {
        self.queue.clear();
    }

    /// True once `max_retries` retransmissions went unacknowledged.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// True when nothing is in flight or queued.
    pub fn is_idle(&self) -> bool {
        self.in_flight.is_empty() && self.queue.is_empty()
    }

    /// Messages sent and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Ns of the next new message.
    pub fn next_ns(&self) -> u16 {
        self.next_ns
    }

    /// Nr: the next Ns expected from the peer.
    pub fn expected_ns(&self) -> u16 {
        self.expected
    }

    /// Counters.
    pub fn stats(&self) -> TransportStats {
        self.stats
    }

    /// Next datagram to transmit.
    pub fn poll_outgoing(&mut self) -> Option<Outgoing> {
        self.outbox.pop_front()
    }

    /// Next message delivered in order.
    pub fn poll_delivered(&mut self) -> Option<ControlMessage> {
        self.delivered.pop_front()
    }

    /// Next acknowledged tag.
    pub fn poll_acked(&mut self) -> Option<Tag> {
        self.acked.pop_front()
    }
}
