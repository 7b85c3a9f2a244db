//! [`ReorderQueue`]: packets that arrived ahead of their turn on a sequenced session, held
//! until the ones before them come or a timeout passes (the kernel's `reorder_timeout`).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::DataSession;

/// Packets held at most per session: past this the oldest is delivered at once, gap or not
/// (the kernel bounds its queue by time only; a peer could otherwise make us hold a window's
/// worth, 8 million packets on v3).
pub const REORDER_MAX_HELD: usize = 64;

/// Payload bytes held at most per session: past this too the oldest is delivered at once
/// (64 jumbo datagrams would otherwise be 4 MiB per session).
pub const REORDER_MAX_BYTES: usize = 256 * 1024;

/// What [`DataSession::receive`] makes of a datagram it accepts.
#[derive(Debug, PartialEq, Eq)]
pub enum Received<'a> {
    /// In sequence (or not sequenced): deliver the payload now.
    Deliver(&'a [u8]),
    /// Ahead of the expected sequence number, within the window (reordering on): hold it
    /// ([`ReorderQueue::hold`]) until the packets before it arrive or the timeout passes.
    Ahead {
        /// Its sequence number.
        ns: u32,
        /// The payload, as [`Received::Deliver`] would give it.
        payload: &'a [u8],
    },
}

/// One held packet: its sequence number, when it arrived, the length of the datagram it came
/// in (bytes, for `rx_bytes` when delivered) and a copy of its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// Sequence number (Ns).
    pub ns: u32,
    /// Arrival time.
    pub at: Instant,
    /// Length of the whole datagram (bytes).
    pub datagram_len: usize,
    /// The payload (a copy: the receive buffer is reused).
    pub payload: Vec<u8>,
}

/// A session's reorder queue (sans-IO: the caller passes the time). Held packets are kept in
/// sequence order; [`ReorderQueue::pop_ready`] gives back the next one to deliver: the
/// expected one, or the first after a gap once it has waited `timeout` (the missing ones are
/// given up on: unlike the kernel, which drops the packet that timed out and resyncs on the
/// next, the packet is delivered), or the oldest when more than [`REORDER_MAX_HELD`] packets
/// or [`REORDER_MAX_BYTES`] bytes are held.
///
/// Like the kernel's, the queue is looked at when packets arrive: with no more traffic, a held
/// packet waits for the next datagram.
#[derive(Debug)]
pub struct ReorderQueue {
    timeout: Duration,
    held: VecDeque<Held>,
    /// Sum of the held payloads' lengths (bytes).
    bytes: usize,
}

impl ReorderQueue {
    /// An empty queue whose packets wait at most `timeout` for the ones before them.
    pub fn new(timeout: Duration) -> Self {
        ReorderQueue {
            timeout,
            held: VecDeque::new(),
            bytes: 0,
        }
    }

    /// Packets held now.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Holds `payload` (sequence number `ns`, from a `datagram_len`-byte datagram) that
    /// `session` returned as [`Received::Ahead`] at `now`. A second copy of a held number is
    /// discarded (`rx_seq_discards`). Allocates the copy.
    pub fn hold(
        &mut self,
        session: &mut DataSession,
        ns: u32,
        datagram_len: usize,
        payload: &[u8],
        now: Instant,
    ) {
        let (nr, mask) = (session.expected_nr(), session.sequence_mask());
        let dist = |n: u32| n.wrapping_sub(nr) & mask;
        let d = dist(ns);
        let at = self.held.partition_point(|h| dist(h.ns) < d);
        if self.held.get(at).is_some_and(|h| h.ns == ns) {
            session.count_seq_discard();
            return;
        }
        self.bytes += payload.len();
        self.held.insert(
            at,
            Held {
                ns,
                at: now,
                datagram_len,
                payload: payload.to_vec(),
            },
        );
    }

    /// The next held packet to deliver at `now`, if any (see the type's documentation);
    /// `session` is told ([`DataSession::deliver_held`]). Held packets the expected number has
    /// moved past (a resync) are discarded on the way (`rx_seq_discards`). Call it until
    /// `None` after every packet received.
    pub fn pop_ready(&mut self, session: &mut DataSession, now: Instant) -> Option<Held> {
        loop {
            let head = self.held.front()?;
            let (nr, mask) = (session.expected_nr(), session.sequence_mask());
            let dist = head.ns.wrapping_sub(nr) & mask;
            if dist > mask / 2 {
                // Behind the expected number: too late.
                if let Some(h) = self.held.pop_front() {
                    self.bytes -= h.payload.len();
                }
                session.count_seq_discard();
                continue;
            }
            let due = dist == 0
                || now.saturating_duration_since(head.at) >= self.timeout
                || self.held.len() > REORDER_MAX_HELD
                || self.bytes > REORDER_MAX_BYTES;
            if !due {
                return None;
            }
            let h = self.held.pop_front()?;
            self.bytes -= h.payload.len();
            session.deliver_held(h.ns, h.datagram_len);
            return Some(h);
        }
    }
}
