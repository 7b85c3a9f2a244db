//! The per-session L2TP data message path, sans-IO: build the header of what we send, check and
//! strip the header of what we receive, with the Linux kernel's semantics (net/l2tp/l2tp_core.c
//! `l2tp_build_l2tpv2_header` / `l2tp_build_l2tpv3_header` / `l2tp_recv_common` /
//! `l2tp_recv_data_seq`, with `reorder_timeout` 0) so a user-space data plane (TAP / TUN) is wire
//! compatible with a kernel peer and counts what the kernel counts (`L2TP_ATTR_STATS`).
//!
//! Layouts written by [`DataSession::encapsulate`] (what the kernel writes):
//! ```text
//! v2 (RFC 2661 §3.1), over UDP:   flags | Tunnel ID | Session ID [| Ns | Nr=0]
//!   flags = Ver 2, plus S (0x0800) when sending sequence numbers; never L, O or P.
//! v3 over UDP (RFC 3931 §4.1.2.1): 0x0003 | 0x0000 | Session ID | Cookie (0/4/8) [| L2SS]
//!   (T = 0, Ver = 3, 16 reserved bits zero)
//! v3 over IP (RFC 3931 §4.1.1.2):  Session ID | Cookie (0/4/8) [| L2SS]
//! L2SS = default L2-Specific Sublayer (RFC 3931 §4.6), after the cookie:
//!   |x|S|x|x|x|x|x|x| 24-bit Sequence Number |, all zero when not sending sequence numbers.
//! ```
//! Every field is in network byte order.
//!
//! Receive ([`DataSession::decapsulate`]) accepts what RFC 2661 / RFC 3931 allow (v2 L, S, O and
//! P bits in any combination; trailing bytes after a v2 Length are dropped), checks the IDs, the
//! cookie and the sequence number, and hands back the payload (a PPP frame, an Ethernet frame…)
//! as a slice of the datagram. There is no reorder queue (the kernel's default, `reorder_timeout`
//! 0): a packet in sequence is delivered; one out of sequence — behind, or ahead after a loss —
//! is discarded, until a run of out-of-sequence packets numbered one after another grows past
//! four (the kernel's `nr_oos_count_max`): the next one is delivered and taken as the new
//! expected number. So one lost packet costs the five after it, as with a kernel peer; this is
//! stricter than RFC 3931 Appendix C's recommendation, which accepts any packet at or ahead of
//! the expected number (within the window) and drops only older ones. The receive window is half the sequence space less one (`nr_max / 2`):
//! anything further ahead is discarded without affecting the resync run.
//!
//! Sequencing and the peer (the kernel's `lns_mode`, [`DataSession::with_lns_mode`]):
//! - `lns_mode` true — the default here: `send_seq` and `recv_seq` stay as configured, and the
//!   header length never changes. As in the kernel's LNS mode, when we send sequence numbers a
//!   received packet without them is discarded (the peer is broken: RFC 2661 §5.4 lets the LNS
//!   decide sequencing and the LAC must follow).
//! - `lns_mode` false — the kernel's LAC mode (and its default for sessions created without
//!   `L2TP_ATTR_LNS_MODE`, e.g. by `ip l2tp`): the peer drives our sending: a received packet
//!   with sequence numbers turns `send_seq` on, one without turns it off (RFC 2661 §5.4). For v2
//!   this changes the header length (6 ↔ 10 bytes); read [`DataSession::header_len`] before each
//!   packet, or use [`DataSession::encapsulate_at`].
//!
//! Counters ([`DataStats`]) follow the kernel: bytes are L2TP bytes (header + payload, the UDP
//! payload or the IP payload), `rx_errors` counts every discard of a packet for this session
//! and `rx_cookie_discards` / `rx_seq_discards` say why for some of them; `rx_invalid` counts
//! packets whose L2TP header cannot belong to this session (kernel: the tunnel's `rx_invalid`,
//! or packets it passes up to user space uncounted).
//!
//! Nothing here allocates per packet, panics on any input, or logs.

use crate::wire::{Encap, Version, FLAG_L, FLAG_O, FLAG_S, FLAG_T, VERSION_MASK};

/// L2-Specific Sublayer of an L2TPv3 session (RFC 3931 §4.6; L2-Specific Sublayer AVP 69).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum L2Spec {
    /// No sublayer (AVP value 0). The only choice for L2TPv2.
    #[default]
    None,
    /// The default L2-Specific Sublayer (AVP value 1): 4 bytes after the cookie carrying the S
    /// bit and a 24-bit sequence number.
    Default,
}

/// Configuration of one session's data path (what the kernel is told by
/// `L2TP_CMD_SESSION_CREATE` / PPPoL2TP). IDs in host order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataConfig {
    /// [`Version::V2`] (RFC 2661) or [`Version::V3`] (RFC 3931).
    pub version: Version,
    /// [`Encap::Udp`] or [`Encap::Ip`] (IP protocol 115; v3 only).
    pub encap: Encap,
    /// Our tunnel ID. v2: the Tunnel ID the peer writes in data it sends us (checked on
    /// receive; 1..=65535). v3: not on the wire (data carries no tunnel ID); must be non-zero.
    pub tunnel_id: u32,
    /// The peer's tunnel ID. v2: written in every header we send (1..=65535). v3: unused on
    /// the wire; must be non-zero.
    pub peer_tunnel_id: u32,
    /// Our session ID: what the peer puts in data it sends us (v2: 1..=65535, v3: non-zero).
    pub session_id: u32,
    /// The peer's session ID, written in every header we send.
    pub peer_session_id: u32,
    /// v3: the cookie we send (0, 4 or 8 bytes; the kernel's `cookie`, `L2TP_ATTR_COOKIE`).
    /// Must be empty for v2.
    pub cookie: Vec<u8>,
    /// v3: the cookie we expect on receive (0, 4 or 8 bytes; the kernel's `peer_cookie`,
    /// `L2TP_ATTR_PEER_COOKIE`). Must be empty for v2.
    pub peer_cookie: Vec<u8>,
    /// v3: L2-Specific Sublayer, used in both directions. Must be [`L2Spec::None`] for v2.
    pub l2spec: L2Spec,
    /// Put sequence numbers in what we send (v2: S bit with Ns, Nr = 0; v3: L2SS S bit). v3
    /// needs [`L2Spec::Default`].
    pub send_seq: bool,
    /// Require sequence numbers from the peer: a packet without them is discarded
    /// (`rx_seq_discards`). v3 needs [`L2Spec::Default`].
    pub recv_seq: bool,
}

/// Why a [`DataConfig`] was refused by [`DataSession::new`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataConfigError {
    /// An ID is 0 (reserved for control messages, RFC 2661 §3.1 / RFC 3931 §4.1).
    #[error("{field} is 0, which is reserved")]
    ZeroId {
        /// Name of the [`DataConfig`] field.
        field: &'static str,
    },
    /// A v2 ID does not fit in the 16-bit header field.
    #[error("{field} = {value} does not fit the 16-bit L2TPv2 field")]
    IdTooLarge {
        /// Name of the [`DataConfig`] field.
        field: &'static str,
        /// The configured value.
        value: u32,
    },
    /// L2TPv2 over IP: L2TPv2 runs over UDP only.
    #[error("L2TPv2 runs over UDP only; IP encapsulation is L2TPv3 (RFC 3931 §4.1.1)")]
    V2OverIp,
    /// A cookie that is not 0, 4 or 8 bytes long (RFC 3931 §4.1).
    #[error("{field} is {len} bytes; a cookie is 0, 4 or 8 bytes (RFC 3931 §4.1)")]
    CookieLength {
        /// `"cookie"` or `"peer_cookie"`.
        field: &'static str,
        /// Its length, bytes.
        len: usize,
    },
    /// A cookie or an L2-Specific Sublayer on an L2TPv2 session.
    #[error("L2TPv2 has no {0} (it is an L2TPv3 field)")]
    NotInV2(&'static str),
    /// v3 sequencing without the default L2-Specific Sublayer, which is where the sequence
    /// number travels (RFC 3931 §4.6).
    #[error("L2TPv3 send_seq / recv_seq need the default L2-Specific Sublayer (RFC 3931 §4.6)")]
    SequencingWithoutL2Spec,
}

/// Why [`DataSession::encapsulate`] could not build a datagram (counted in `tx_errors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    /// The room left before the payload is smaller than the header.
    #[error("{room} bytes before the payload, the header needs {header_len}")]
    NoHeadroom {
        /// Bytes available for the header.
        room: usize,
        /// This session's header length, bytes.
        header_len: usize,
    },
    /// The payload start lies beyond the end of the buffer.
    #[error("payload offset {offset} is beyond the {len}-byte buffer")]
    BadOffset {
        /// The payload offset given.
        offset: usize,
        /// Buffer length, bytes.
        len: usize,
    },
    /// The datagram (header + payload) is larger than its carrier can hold.
    #[error("datagram of {len} bytes exceeds the {max}-byte limit of its encapsulation")]
    TooLong {
        /// Header + payload, bytes.
        len: usize,
        /// [`DataSession::max_datagram_len`].
        max: usize,
    },
}

/// Why [`DataSession::decapsulate`] discarded a datagram. Each reason says which counter
/// was bumped ([`Discard::counter`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Discard {
    /// The datagram ends inside the header (`rx_invalid`).
    #[error("short data header: need {needed} bytes, have {have}")]
    Short {
        /// Bytes the header needs.
        needed: usize,
        /// Bytes in the datagram.
        have: usize,
    },
    /// A control message (UDP: T bit set; IP: Session ID 0) (`rx_invalid`).
    #[error("control message on the data path")]
    Control,
    /// The Ver field is not this session's version (`rx_invalid`).
    #[error("version {got} in the header, session is L2TPv{want}")]
    Version {
        /// Ver field of the datagram.
        got: u8,
        /// This session's version number.
        want: u8,
    },
    /// v2: the Length field exceeds the datagram or is shorter than the header
    /// (`rx_invalid`).
    #[error("v2 Length field {field} does not fit a {actual}-byte datagram")]
    BadLength {
        /// Length field value.
        field: usize,
        /// Bytes in the datagram.
        actual: usize,
    },
    /// v2: the Tunnel ID is not ours (`rx_invalid`).
    #[error("tunnel ID {got} is not this session's")]
    WrongTunnel {
        /// Tunnel ID in the header.
        got: u32,
    },
    /// The Session ID is not ours (`rx_invalid`).
    #[error("session ID {got} is not this session's")]
    WrongSession {
        /// Session ID in the header.
        got: u32,
    },
    /// v3: the cookie differs from the one we expect (`rx_cookie_discards` and `rx_errors`).
    #[error("cookie mismatch")]
    Cookie,
    /// No sequence number where one is required: `recv_seq` is set, or (LNS mode) we send
    /// sequence numbers (`rx_seq_discards` and `rx_errors`).
    #[error("no sequence number, and sequencing is required")]
    MissingSequence,
    /// v2: the Offset Size runs past the end of the message (`rx_errors`).
    #[error("v2 Offset Size {offset} at byte {at} runs past the {end}-byte message")]
    OffsetPastEnd {
        /// Offset Size field value, bytes.
        offset: u16,
        /// Where the offset pad starts.
        at: usize,
        /// End of the message.
        end: usize,
    },
    /// The sequence number is outside the receive window: more than half the sequence space
    /// ahead of the expected one, or behind it (`rx_errors`).
    #[error("sequence number {ns} outside the receive window (expected {expected})")]
    OutsideWindow {
        /// Sequence number received.
        ns: u32,
        /// Sequence number expected.
        expected: u32,
    },
    /// The sequence number is in the window but not the expected one: lost, reordered or
    /// duplicated packets (`rx_seq_discards` and `rx_errors`).
    #[error("sequence number {ns} out of sequence (expected {expected})")]
    OutOfSequence {
        /// Sequence number received.
        ns: u32,
        /// Sequence number expected.
        expected: u32,
    },
}

/// Which [`DataStats`] counter a [`Discard`] goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiscardCounter {
    /// `rx_invalid` only.
    Invalid,
    /// `rx_errors` only.
    Error,
    /// `rx_cookie_discards` and `rx_errors`.
    Cookie,
    /// `rx_seq_discards` and `rx_errors`.
    Sequence,
}

impl Discard {
    /// The counter this discard is counted in (the kernel's meaning).
    pub fn counter(&self) -> DiscardCounter {
        match self {
            Discard::Short { .. }
            | Discard::Control
            | Discard::Version { .. }
            | Discard::BadLength { .. }
            | Discard::WrongTunnel { .. }
            | Discard::WrongSession { .. } => DiscardCounter::Invalid,
            Discard::Cookie => DiscardCounter::Cookie,
            Discard::MissingSequence | Discard::OutOfSequence { .. } => DiscardCounter::Sequence,
            Discard::OffsetPastEnd { .. } | Discard::OutsideWindow { .. } => DiscardCounter::Error,
        }
    }
}

/// Per-session counters, with the meaning of the kernel's `L2TP_ATTR_STATS` (l2tp_core.c).
/// Bytes are L2TP bytes: header + payload (a UDP payload, or an IP payload for IP encap).
///
/// One type for every data plane: [`DataSession`] counts into it, and the runtime reports the
/// kernel's counters in it too (`l2tp_runtime::dataplane::SessionStats`). With the `serde`
/// feature it (de)serialises field by field, absent fields 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct DataStats {
    /// Datagrams built by [`DataSession::encapsulate`].
    pub tx_packets: u64,
    /// Their bytes (L2TP header + payload).
    pub tx_bytes: u64,
    /// Datagrams that could not be built, or whose send failed
    /// ([`DataSession::count_tx_error`]).
    pub tx_errors: u64,
    /// Datagrams delivered by [`DataSession::decapsulate`].
    pub rx_packets: u64,
    /// Their bytes (L2TP header + payload, as received).
    pub rx_bytes: u64,
    /// Datagrams for this session discarded: every [`Discard`] except the `rx_invalid` ones.
    pub rx_errors: u64,
    /// Of `rx_errors`: out of sequence, or missing a required sequence number.
    pub rx_seq_discards: u64,
    /// Packets queued out of order for reordering. Always 0: there is no reorder queue (the
    /// kernel counts this only with a non-zero `reorder_timeout`). Kept so the counter set
    /// matches `L2TP_ATTR_RX_OOS_PACKETS`.
    pub rx_oos_packets: u64,
    /// Of `rx_errors`: cookie mismatches.
    pub rx_cookie_discards: u64,
    /// Datagrams whose header cannot belong to this session: short, control, other version,
    /// other tunnel or session ID, v2 Length inconsistent.
    pub rx_invalid: u64,
}

/// Demultiplexing key of a received data datagram ([`data_key`], [`DataSession::key`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataKey {
    /// L2TPv2: (Tunnel ID, Session ID), host order.
    V2 {
        /// Tunnel ID from the header.
        tunnel_id: u16,
        /// Session ID from the header.
        session_id: u16,
    },
    /// L2TPv3: the Session ID alone identifies the session (RFC 3931 §4.1).
    V3 {
        /// Session ID from the header.
        session_id: u32,
    },
}

/// The demultiplexing key of a received datagram, without session state: reads the flags
/// and the IDs (at most 8 bytes). `datagram` starts at the L2TP header (UDP payload) for
/// [`Encap::Udp`], at the Session ID (IP payload) for [`Encap::Ip`].
///
/// `None` for control messages (T bit set; over IP Session ID 0), unknown versions, a zero
/// tunnel or session ID, or a datagram too short to hold the IDs.
pub fn data_key(datagram: &[u8], encap: Encap) -> Option<DataKey> {
    match encap {
        Encap::Ip => {
            let session_id = be32(datagram, 0)?;
            (session_id != 0).then_some(DataKey::V3 { session_id })
        }
        Encap::Udp => {
            let flags = be16(datagram, 0)?;
            if flags & FLAG_T != 0 {
                return None;
            }
            match flags & VERSION_MASK {
                2 => {
                    let off = if flags & FLAG_L != 0 { 4 } else { 2 };
                    let tunnel_id = be16(datagram, off)?;
                    let session_id = be16(datagram, off + 2)?;
                    (tunnel_id != 0 && session_id != 0).then_some(DataKey::V2 {
                        tunnel_id,
                        session_id,
                    })
                }
                3 => {
                    let session_id = be32(datagram, 4)?;
                    (session_id != 0).then_some(DataKey::V3 { session_id })
                }
                _ => None,
            }
        }
    }
}

fn be16(b: &[u8], off: usize) -> Option<u16> {
    let s = b.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

fn be32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

mod reorder;
mod session;
pub use reorder::{Held, Received, ReorderQueue, REORDER_MAX_BYTES, REORDER_MAX_HELD};
pub use session::DataSession;
