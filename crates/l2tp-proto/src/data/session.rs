//! [`DataSession`]: one session's header building and checking, sequence numbers and
//! counters (the types it takes and returns are in the parent module).

use super::*;

/// v2 sequence numbers are 16-bit (RFC 2661 §3.1).
const V2_SEQ_MASK: u32 = 0xffff;
/// v3 default L2-Specific Sublayer sequence numbers are 24-bit (RFC 3931 §4.6).
const V3_SEQ_MASK: u32 = 0x00ff_ffff;
/// L2SS S bit.
const L2SS_S: u32 = 0x4000_0000;
/// Consecutive out-of-sequence packets tolerated before resync (kernel `nr_oos_count_max`).
const NR_OOS_COUNT_MAX: u32 = 4;

/// One session's data path: header building, header checking, sequence numbers, counters.
///
/// Fixed size (no heap after [`DataSession::new`]); nothing per packet allocates.
#[derive(Debug, Clone)]
pub struct DataSession {
    version: Version,
    encap: Encap,
    tunnel_id: u32,
    peer_tunnel_id: u32,
    session_id: u32,
    peer_session_id: u32,
    cookie: [u8; 8],
    cookie_len: usize,
    peer_cookie: [u8; 8],
    peer_cookie_len: usize,
    l2spec: L2Spec,
    send_seq: bool,
    recv_seq: bool,
    lns_mode: bool,
    header_len: usize,
    /// Next sequence number we send.
    ns: u32,
    /// Next sequence number we expect.
    nr: u32,
    /// 0xffff (v2) or 0xffffff (v3).
    seq_mask: u32,
    /// Last out-of-sequence number seen, and how many came one after another.
    nr_oos: u32,
    nr_oos_count: u32,
    /// Take the next sequence number as expected (start, and resync).
    reorder_skip: bool,
    /// Packets ahead of the expected number are handed back to be held
    /// ([`Received::Ahead`]), not discarded (a reorder queue is in use).
    reorder: bool,
    stats: DataStats,
}

fn cookie_array(field: &'static str, c: &[u8]) -> Result<([u8; 8], usize), DataConfigError> {
    if !matches!(c.len(), 0 | 4 | 8) {
        return Err(DataConfigError::CookieLength {
            field,
            len: c.len(),
        });
    }
    let mut a = [0u8; 8];
    a[..c.len()].copy_from_slice(c);
    Ok((a, c.len()))
}

impl DataSession {
    /// Maximum header length any configuration produces, bytes: v3 over UDP with an 8-byte
    /// cookie and the L2SS (4 + 4 + 8 + 4). Reserve this much before the payload.
    pub const MAX_HEADER_LEN: usize = 20;

    /// A session's data path from its configuration. Starts with Ns 0, and takes the first
    /// sequence number received as the expected one (kernel: `reorder_skip` 1 at creation).
    /// In LNS mode (see [`DataSession::with_lns_mode`]).
    ///
    /// # Errors
    /// [`DataConfigError`]: a zero ID, a v2 ID above 65535, v2 over IP, a cookie not 0/4/8
    /// bytes, a cookie or L2SS on v2, v3 sequencing without the default L2SS.
    pub fn new(cfg: DataConfig) -> Result<DataSession, DataConfigError> {
        for (field, v) in [
            ("tunnel_id", cfg.tunnel_id),
            ("peer_tunnel_id", cfg.peer_tunnel_id),
            ("session_id", cfg.session_id),
            ("peer_session_id", cfg.peer_session_id),
        ] {
            if v == 0 {
                return Err(DataConfigError::ZeroId { field });
            }
            if cfg.version == Version::V2 && v > 0xffff {
                return Err(DataConfigError::IdTooLarge { field, value: v });
            }
        }
        let (cookie, cookie_len) = cookie_array("cookie", &cfg.cookie)?;
        let (peer_cookie, peer_cookie_len) = cookie_array("peer_cookie", &cfg.peer_cookie)?;
        match cfg.version {
            Version::V2 => {
                if cfg.encap == Encap::Ip {
                    return Err(DataConfigError::V2OverIp);
                }
                if cookie_len != 0 {
                    return Err(DataConfigError::NotInV2("cookie"));
                }
                if peer_cookie_len != 0 {
                    return Err(DataConfigError::NotInV2("peer_cookie"));
                }
                if cfg.l2spec != L2Spec::None {
                    return Err(DataConfigError::NotInV2("L2-Specific Sublayer"));
                }
            }
            Version::V3 => {
                if (cfg.send_seq || cfg.recv_seq) && cfg.l2spec != L2Spec::Default {
                    return Err(DataConfigError::SequencingWithoutL2Spec);
                }
            }
        }
        let mut s = DataSession {
            version: cfg.version,
            encap: cfg.encap,
            tunnel_id: cfg.tunnel_id,
            peer_tunnel_id: cfg.peer_tunnel_id,
            session_id: cfg.session_id,
            peer_session_id: cfg.peer_session_id,
            cookie,
            cookie_len,
            peer_cookie,
            peer_cookie_len,
            l2spec: cfg.l2spec,
            send_seq: cfg.send_seq,
            recv_seq: cfg.recv_seq,
            lns_mode: true,
            header_len: 0,
            ns: 0,
            nr: 0,
            seq_mask: match cfg.version {
                Version::V2 => V2_SEQ_MASK,
                Version::V3 => V3_SEQ_MASK,
            },
            nr_oos: 0,
            nr_oos_count: 0,
            reorder_skip: true,
            reorder: false,
            stats: DataStats::default(),
        };
        s.set_header_len();
        Ok(s)
    }

    /// Set the kernel's `lns_mode` (see the module documentation). `true` (the default of
    /// [`DataSession::new`]): sequencing stays as configured and the header length is fixed;
    /// `false`: the peer's packets switch our `send_seq` on and off, as a kernel LAC does.
    pub fn with_lns_mode(mut self, lns_mode: bool) -> DataSession {
        self.lns_mode = lns_mode;
        self
    }

    /// The kernel's `l2tp_session_set_header_len`.
    fn set_header_len(&mut self) {
        self.header_len = match self.version {
            Version::V2 => 6 + if self.send_seq { 4 } else { 0 },
            Version::V3 => {
                (if self.encap == Encap::Udp { 4 } else { 0 })
                    + 4
                    + self.cookie_len
                    + if self.l2spec == L2Spec::Default { 4 } else { 0 }
            }
        };
    }

    /// Header length of this session, bytes (6 or 10 for v2; 4–20 for v3). Fixed for the
    /// session's life in LNS mode; in LAC mode (`with_lns_mode(false)`) a v2 session's changes
    /// when the peer switches sequencing (after a [`DataSession::decapsulate`]).
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// Largest datagram (header + payload, bytes) [`DataSession::encapsulate`] builds: 65527
    /// over UDP (the UDP Length field less the 8-byte UDP header), 65515 over IP (the IPv4
    /// Total Length less a 20-byte IPv4 header).
    pub fn max_datagram_len(&self) -> usize {
        match self.encap {
            Encap::Udp => 65535 - 8,
            Encap::Ip => 65535 - 20,
        }
    }

    /// Whether we currently put sequence numbers in what we send (configured `send_seq`,
    /// possibly switched by the peer in LAC mode).
    pub fn send_seq(&self) -> bool {
        self.send_seq
    }

    /// Whether we require sequence numbers from the peer (configured `recv_seq`).
    pub fn recv_seq(&self) -> bool {
        self.recv_seq
    }

    /// Whether the session is in LNS mode (see [`DataSession::with_lns_mode`]).
    pub fn lns_mode(&self) -> bool {
        self.lns_mode
    }

    /// The sequence number the next sequenced packet we send will carry (v2 Ns, 16-bit; v3
    /// L2SS, 24-bit).
    pub fn next_ns(&self) -> u32 {
        self.ns
    }

    /// The sequence number we expect next from the peer (meaningless until the first
    /// sequenced packet arrived: that one is taken as expected).
    pub fn expected_nr(&self) -> u32 {
        self.nr
    }

    /// The key under which the peer's datagrams for this session arrive ([`data_key`] of them).
    pub fn key(&self) -> DataKey {
        match self.version {
            // IDs were checked to fit 16 bits in `new`.
            Version::V2 => DataKey::V2 {
                tunnel_id: self.tunnel_id as u16,
                session_id: self.session_id as u16,
            },
            Version::V3 => DataKey::V3 {
                session_id: self.session_id,
            },
        }
    }

    /// Build the header in place: `buf[..header_len()]` is free space and is overwritten,
    /// `buf[header_len()..]` is the payload (PPP frame for v2 / PPP pseudowires, including
    /// the `ff 03` address and control bytes the kernel's pppol2tp sends; Ethernet frame for
    /// Ethernet pseudowires). On success `buf` is the whole datagram to send (UDP payload or
    /// IP payload); the send sequence number advances and `tx_packets` / `tx_bytes` count it.
    ///
    /// # Errors
    /// [`DataError::NoHeadroom`] (`buf` shorter than the header) or [`DataError::TooLong`];
    /// counted in `tx_errors`, nothing written, the sequence number not used.
    pub fn encapsulate(&mut self, buf: &mut [u8]) -> Result<(), DataError> {
        // A buffer shorter than the header reports NoHeadroom (room = its length).
        let at = self.header_len.min(buf.len());
        self.encapsulate_at(buf, at).map(|_| ())
    }

    /// As [`DataSession::encapsulate`], for a payload at `buf[payload_start..]` with any room
    /// before it (reserve [`DataSession::MAX_HEADER_LEN`]): writes the header just before the
    /// payload and returns where the datagram starts (`payload_start - header_len()`); send
    /// `buf[start..]`. Safe when the header length changes (LAC mode).
    ///
    /// # Errors
    /// [`DataError::BadOffset`], [`DataError::NoHeadroom`], [`DataError::TooLong`]; counted in
    /// `tx_errors`.
    pub fn encapsulate_at(
        &mut self,
        buf: &mut [u8],
        payload_start: usize,
    ) -> Result<usize, DataError> {
        match self.write_header(buf, payload_start) {
            Ok(start) => {
                self.stats.tx_packets += 1;
                self.stats.tx_bytes += (buf.len() - start) as u64;
                Ok(start)
            }
            Err(e) => {
                self.stats.tx_errors += 1;
                Err(e)
            }
        }
    }

    fn write_header(&mut self, buf: &mut [u8], payload_start: usize) -> Result<usize, DataError> {
        let hl = self.header_len;
        if payload_start > buf.len() {
            return Err(DataError::BadOffset {
                offset: payload_start,
                len: buf.len(),
            });
        }
        let start = payload_start.checked_sub(hl).ok_or(DataError::NoHeadroom {
            room: payload_start,
            header_len: hl,
        })?;
        let len = buf.len() - start;
        if len > self.max_datagram_len() {
            return Err(DataError::TooLong {
                len,
                max: self.max_datagram_len(),
            });
        }
        let h = buf
            .get_mut(start..payload_start)
            .ok_or(DataError::NoHeadroom {
                room: payload_start,
                header_len: hl,
            })?;
        let seq = if self.send_seq {
            let ns = self.ns;
            self.ns = (self.ns + 1) & self.seq_mask;
            Some(ns)
        } else {
            None
        };
        let mut w = Writer { buf: h, at: 0 };
        match self.version {
            Version::V2 => {
                // Ver 2, S when sequencing; no L, O or P (as l2tp_build_l2tpv2_header).
                let flags = 2 | if seq.is_some() { FLAG_S } else { 0 };
                w.put(&flags.to_be_bytes());
                w.put(&(self.peer_tunnel_id as u16).to_be_bytes());
                w.put(&(self.peer_session_id as u16).to_be_bytes());
                if let Some(ns) = seq {
                    w.put(&(ns as u16).to_be_bytes());
                    w.put(&[0, 0]); // Nr: unused in data messages (RFC 2661 §5.8), 0 as the kernel
                }
            }
            Version::V3 => {
                if self.encap == Encap::Udp {
                    w.put(&[0, 3, 0, 0]); // T = 0, Ver = 3, reserved
                }
                w.put(&self.peer_session_id.to_be_bytes());
                w.put(&self.cookie[..self.cookie_len]);
                if self.l2spec == L2Spec::Default {
                    let l2h = seq.map_or(0, |ns| L2SS_S | ns);
                    w.put(&l2h.to_be_bytes());
                }
            }
        }
        debug_assert_eq!(w.at, hl);
        Ok(start)
    }

    /// Check and strip the header of one received datagram that was demultiplexed to this
    /// session (e.g. by [`data_key`]). `datagram` starts at the L2TP header (UDP payload) for
    /// UDP encap, at the Session ID (IP payload, after the IP header) for IP encap.
    ///
    /// Checks, in the kernel's order: header shape and IDs, cookie, presence of sequence
    /// numbers (and, in LAC mode, follows the peer's sequencing), v2 Offset, sequence number.
    /// Returns the payload: v2 after the Offset pad and up to the Length field if present;
    /// v3 after the cookie and L2SS. A packet delivered counts `rx_packets` / `rx_bytes`.
    ///
    /// # Errors
    /// A [`Discard`] giving the reason; each discard is counted once, in the counter
    /// [`Discard::counter`] names.
    pub fn decapsulate<'a>(&mut self, datagram: &'a [u8]) -> Result<&'a [u8], Discard> {
        match self.receive(datagram)? {
            Received::Deliver(payload) => Ok(payload),
            // Only with reordering on (`with_reorder`), whose caller uses `receive`.
            Received::Ahead { ns, .. } => {
                self.count_seq_discard();
                Err(Discard::OutOfSequence {
                    ns,
                    expected: self.nr,
                })
            }
        }
    }

    /// As [`DataSession::decapsulate`], for a session with reordering on
    /// ([`DataSession::with_reorder`]): a packet ahead of the expected sequence number within
    /// the window comes back as [`Received::Ahead`] (counted in `rx_oos_packets`, not yet in
    /// `rx_packets`), for a [`ReorderQueue`] to hold; anything else as `decapsulate` says.
    ///
    /// # Errors
    /// As [`DataSession::decapsulate`].
    pub fn receive<'a>(&mut self, datagram: &'a [u8]) -> Result<Received<'a>, Discard> {
        let r = match self.version {
            Version::V2 => self.recv_v2(datagram),
            Version::V3 => self.recv_v3(datagram),
        };
        match r {
            Ok((payload, _, Some(ns))) => {
                self.stats.rx_oos_packets += 1;
                Ok(Received::Ahead { ns, payload })
            }
            Ok((payload, has_seq, None)) => {
                self.stats.rx_packets += 1;
                self.stats.rx_bytes += datagram.len() as u64;
                if has_seq {
                    self.nr = (self.nr + 1) & self.seq_mask;
                }
                Ok(Received::Deliver(payload))
            }
            Err(why) => {
                match why.counter() {
                    DiscardCounter::Invalid => self.stats.rx_invalid += 1,
                    DiscardCounter::Error => self.stats.rx_errors += 1,
                    DiscardCounter::Cookie => {
                        self.stats.rx_cookie_discards += 1;
                        self.stats.rx_errors += 1;
                    }
                    DiscardCounter::Sequence => self.count_seq_discard(),
                }
                Err(why)
            }
        }
    }

    /// Reordering (RFC 3931 §4.6 / RFC 2661 §5.4: the receiver may reorder): packets ahead of
    /// the expected sequence number are handed back by [`DataSession::receive`] to be held,
    /// not discarded. Off by default (the kernel's `reorder_timeout` 0).
    pub fn with_reorder(mut self, on: bool) -> Self {
        self.reorder = on;
        self
    }

    /// The sequence space's mask: 0xffff (v2, RFC 2661 §3.1), 0xffffff (v3 default L2SS,
    /// RFC 3931 §4.6).
    pub fn sequence_mask(&self) -> u32 {
        self.seq_mask
    }

    /// A held packet with sequence number `ns` (of a `datagram_len`-byte datagram) is
    /// delivered now: the expected number moves past it; counted in `rx_packets` / `rx_bytes`.
    pub fn deliver_held(&mut self, ns: u32, datagram_len: usize) {
        self.nr = ns.wrapping_add(1) & self.seq_mask;
        self.reorder_skip = false;
        self.stats.rx_packets += 1;
        self.stats.rx_bytes += datagram_len as u64;
    }

    /// Counts one packet discarded for its sequence number (`rx_seq_discards`, `rx_errors`):
    /// a held duplicate, or one left behind.
    pub fn count_seq_discard(&mut self) {
        self.stats.rx_seq_discards += 1;
        self.stats.rx_errors += 1;
    }

    /// v2: returns the payload, whether it carried a sequence number, and its number when it
    /// is ahead of the expected one (reordering on).
    fn recv_v2<'a>(&mut self, d: &'a [u8]) -> Result<(&'a [u8], bool, Option<u32>), Discard> {
        let short = |needed| Discard::Short {
            needed,
            have: d.len(),
        };
        let flags = be16(d, 0).ok_or(short(2))?;
        if flags & FLAG_T != 0 {
            return Err(Discard::Control);
        }
        let ver = (flags & VERSION_MASK) as u8;
        if ver != 2 {
            return Err(Discard::Version { got: ver, want: 2 });
        }
        let has_len = flags & FLAG_L != 0;
        let has_seq = flags & FLAG_S != 0;
        let has_off = flags & FLAG_O != 0;
        // Fixed part: flags [Length] Tunnel Session [Ns Nr] [Offset Size].
        let fixed =
            6 + 2 * usize::from(has_len) + 4 * usize::from(has_seq) + 2 * usize::from(has_off);
        if d.len() < fixed {
            return Err(short(fixed));
        }
        let mut off = 2;
        let mut end = d.len();
        if has_len {
            let length = usize::from(be16(d, 2).ok_or(short(4))?);
            if length > d.len() || length < fixed {
                return Err(Discard::BadLength {
                    field: length,
                    actual: d.len(),
                });
            }
            end = length;
            off = 4;
        }
        let tunnel_id = u32::from(be16(d, off).ok_or(short(off + 2))?);
        let session_id = u32::from(be16(d, off + 2).ok_or(short(off + 4))?);
        off += 4;
        if tunnel_id != self.tunnel_id {
            return Err(Discard::WrongTunnel { got: tunnel_id });
        }
        if session_id != self.session_id {
            return Err(Discard::WrongSession { got: session_id });
        }
        // From here on: l2tp_recv_common.
        let ns = if has_seq {
            let ns = be16(d, off).ok_or(short(off + 2))?;
            off += 4; // Ns, and Nr (ignored in data messages)
            Some(u32::from(ns))
        } else {
            None
        };
        self.seq_presence(ns.is_some())?;
        if has_off {
            let size = be16(d, off).ok_or(short(off + 2))?;
            let at = off + 2;
            off = at + usize::from(size);
            if off > end {
                return Err(Discard::OffsetPastEnd {
                    offset: size,
                    at,
                    end,
                });
            }
        }
        let ahead = match ns {
            Some(ns) => self.seq_check(ns)?.then_some(ns),
            None => None,
        };
        let payload = d.get(off..end).ok_or(short(off))?;
        Ok((payload, has_seq, ahead))
    }

    /// v3: as [`DataSession::recv_v2`].
    fn recv_v3<'a>(&mut self, d: &'a [u8]) -> Result<(&'a [u8], bool, Option<u32>), Discard> {
        let short = |needed| Discard::Short {
            needed,
            have: d.len(),
        };
        let base = match self.encap {
            Encap::Udp => {
                let flags = be16(d, 0).ok_or(short(2))?;
                if flags & FLAG_T != 0 {
                    return Err(Discard::Control);
                }
                let ver = (flags & VERSION_MASK) as u8;
                if ver != 3 {
                    return Err(Discard::Version { got: ver, want: 3 });
                }
                8
            }
            Encap::Ip => 4,
        };
        let session_id = be32(d, base - 4).ok_or(short(base))?;
        if session_id == 0 {
            return Err(Discard::Control);
        }
        if session_id != self.session_id {
            return Err(Discard::WrongSession { got: session_id });
        }
        let l2ss = if self.l2spec == L2Spec::Default { 4 } else { 0 };
        let need = base + self.peer_cookie_len + l2ss;
        if d.len() < need {
            return Err(short(need));
        }
        let mut off = base;
        if self.peer_cookie_len > 0 {
            let got = d
                .get(off..off + self.peer_cookie_len)
                .ok_or(short(off + self.peer_cookie_len))?;
            if got != &self.peer_cookie[..self.peer_cookie_len] {
                return Err(Discard::Cookie);
            }
            off += self.peer_cookie_len;
        }
        let ns = if l2ss != 0 {
            let w = be32(d, off).ok_or(short(off + 4))?;
            off += 4;
            (w & L2SS_S != 0).then_some(w & V3_SEQ_MASK)
        } else {
            None
        };
        self.seq_presence(ns.is_some())?;
        let ahead = match ns {
            Some(ns) => self.seq_check(ns)?.then_some(ns),
            None => None,
        };
        let payload = d.get(off..).ok_or(short(off))?;
        Ok((payload, ns.is_some(), ahead))
    }

    /// Presence of sequence numbers (l2tp_recv_common): in LAC mode follow the peer; discard
    /// when they are required and absent.
    fn seq_presence(&mut self, has_seq: bool) -> Result<(), Discard> {
        if has_seq {
            if !self.lns_mode && !self.send_seq {
                self.send_seq = true;
                self.set_header_len();
            }
            return Ok(());
        }
        if self.recv_seq {
            return Err(Discard::MissingSequence);
        }
        if !self.lns_mode && self.send_seq {
            self.send_seq = false;
            self.set_header_len();
        } else if self.send_seq {
            return Err(Discard::MissingSequence);
        }
        Ok(())
    }

    /// The receive sequence check (l2tp_recv_data_seq). Without reordering: `reorder_timeout`
    /// 0, an out-of-sequence packet is discarded, and after [`NR_OOS_COUNT_MAX`] of them in a
    /// row the peer's numbers are taken (resync). With reordering: a packet ahead within the
    /// window is `Ok(true)`, to be held. On `Ok(false)` the packet is delivered now and the
    /// caller advances `nr`.
    fn seq_check(&mut self, ns: u32) -> Result<bool, Discard> {
        let window = self.seq_mask / 2;
        // Distance ahead of the expected number, modulo the sequence space.
        let ahead = ns.wrapping_sub(self.nr) & self.seq_mask;
        if ahead >= window {
            return Err(Discard::OutsideWindow {
                ns,
                expected: self.nr,
            });
        }
        if ns != self.nr && self.reorder && !self.reorder_skip {
            return Ok(true);
        }
        if ns != self.nr {
            if ns == (self.nr_oos + 1) & self.seq_mask {
                self.nr_oos_count = self.nr_oos_count.saturating_add(1);
            } else {
                self.nr_oos_count = 0;
            }
            self.nr_oos = ns;
            if self.nr_oos_count > NR_OOS_COUNT_MAX {
                self.reorder_skip = true;
            }
            if !self.reorder_skip {
                return Err(Discard::OutOfSequence {
                    ns,
                    expected: self.nr,
                });
            }
        }
        // Delivered: at start or after a resync take the peer's number as the expected one.
        self.reorder_skip = false;
        self.nr = ns;
        Ok(false)
    }

    /// Counters so far.
    pub fn stats(&self) -> &DataStats {
        &self.stats
    }

    /// Count a datagram whose send failed (`tx_errors`). It stays counted in `tx_packets` /
    /// `tx_bytes`, which count what [`DataSession::encapsulate`] built (the kernel counts only
    /// what the IP layer accepted).
    pub fn count_tx_error(&mut self) {
        self.stats.tx_errors += 1;
    }
}

/// Sequential writer into a header slice whose length was checked by the caller.
struct Writer<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, b: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.at..self.at + b.len()) {
            dst.copy_from_slice(b);
        }
        self.at += b.len();
    }
}
