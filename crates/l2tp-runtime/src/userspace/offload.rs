//! TAP offloads: what the kernel hands a TAP device opened with `IFF_VNET_HDR` and
//! `TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 [| TUN_F_USO4 | TUN_F_USO6])`, and how
//! this data plane turns it back into frames that fit the pseudowire.
//!
//! With offloads on, the stack behind the TAP interface hands over TCP (and UDP) segments of up
//! to 64 KiB in one read, each preceded by a `virtio_net_hdr` (10 bytes, host byte order;
//! include/uapi/linux/virtio_net.h) that says how to cut it (`gso_type`, `gso_size`) and where
//! the transport checksum is left to finish (`csum_start`, `csum_offset`). One read and one
//! header check then carry what were 40-odd reads of 1.4 KB frames: the TAP → network
//! direction's cost per byte falls by about that factor. Every frame written to the device
//! then also starts with a `virtio_net_hdr` (all zero: a finished frame).
//!
//! The cutting itself is tun-rs's [`tun_rs::gso_split`] (a port of wireguard-go's, for IP
//! packets); the frames here are Ethernet frames, so [`split`] strips the Ethernet header (and
//! up to two VLAN tags) before it and puts it back in front of every segment.

use tun_rs::{VirtioNetHdr, VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_GSO_TCPV6};

/// Length of the header in front of every frame read from or written to an offloading TAP
/// device (bytes; `struct virtio_net_hdr` without `num_buffers`).
pub(super) const VNET_HDR_LEN: usize = tun_rs::VIRTIO_NET_HDR_LEN;

/// The header written in front of a frame handed to the device: no offload, checksum done.
pub(super) const VNET_HDR_NONE: [u8; VNET_HDR_LEN] = [0; VNET_HDR_LEN];

/// `virtio_net_hdr.gso_type`: not a GSO frame.
const GSO_NONE: u8 = 0;
/// `virtio_net_hdr.gso_type` flag: TCP with ECN (CWR on the first segment only).
const GSO_ECN: u8 = 0x80;
/// `virtio_net_hdr.flags`: the transport checksum is partial (CHECKSUM_PARTIAL).
const F_NEEDS_CSUM: u8 = 1;

/// Longest Ethernet header this data plane looks past: destination, source, two VLAN tags
/// (802.1Q / 802.1ad), EtherType (bytes).
const MAX_L2_LEN: usize = 14 + 2 * 4;

/// What a device's frames start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Framing {
    /// An Ethernet header (TAP device: Ethernet pseudowires).
    #[default]
    Ethernet,
    /// The IP header (TUN device: PPP sessions).
    Ip,
}

/// Why an offloaded frame could not be made into datagrams; the frame is dropped and counted
/// as a transmit error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OffloadError {
    /// Shorter than its `virtio_net_hdr`, its Ethernet header or the offsets that header gives.
    Truncated,
    /// Not Ethernet + IPv4/IPv6 (GSO), or offsets that point outside the frame.
    Malformed,
    /// The segmentation refused it (more segments than buffers, a segment larger than one).
    Split,
}

/// What one read from an offloading TAP device holds.
pub(super) enum Offloaded {
    /// One frame, complete (its checksum finished if it was partial): send it as it is.
    Frame,
    /// A GSO frame to cut into segments with [`split`].
    Gso(VirtioNetHdr),
}

/// Parses the `virtio_net_hdr` in front of `read` (what one read returned) and, for a single
/// frame with a partial checksum, finishes the checksum in place. `read[VNET_HDR_LEN..]` is the
/// Ethernet frame.
pub(super) fn classify(read: &mut [u8]) -> Result<Offloaded, OffloadError> {
    let hdr = read
        .get(..VNET_HDR_LEN)
        .and_then(|b| VirtioNetHdr::decode(b).ok())
        .ok_or(OffloadError::Truncated)?;
    let frame = read
        .get_mut(VNET_HDR_LEN..)
        .ok_or(OffloadError::Truncated)?;
    if hdr.gso_type & !GSO_ECN != GSO_NONE {
        return Ok(Offloaded::Gso(hdr));
    }
    if hdr.flags & F_NEEDS_CSUM != 0 {
        finish_checksum(frame, hdr.csum_start.into(), hdr.csum_offset.into())?;
    }
    Ok(Offloaded::Frame)
}

/// Finishes a partial transport checksum (CHECKSUM_PARTIAL): the field at `start + offset`
/// holds the pseudo-header sum; the one's complement sum of `frame[start..]` goes there.
fn finish_checksum(frame: &mut [u8], start: usize, offset: usize) -> Result<(), OffloadError> {
    let at = start.checked_add(offset).ok_or(OffloadError::Malformed)?;
    if at.checked_add(2).is_none_or(|end| end > frame.len()) {
        return Err(OffloadError::Truncated);
    }
    let sum = tun_rs::checksum(frame.get(start..).ok_or(OffloadError::Truncated)?, 0);
    let field = frame.get_mut(at..at + 2).ok_or(OffloadError::Truncated)?;
    field.copy_from_slice(&(!sum).to_be_bytes());
    Ok(())
}

/// Length of the link header of `frame` (Ethernet: 14, 18 or 22 bytes, up to two VLAN tags;
/// IP: none) and whether the packet after it is IPv6 (`false`: IPv4); `None` for anything
/// else.
fn l2_header(frame: &[u8], framing: Framing) -> Option<(usize, bool)> {
    if framing == Framing::Ip {
        return match frame.first()? >> 4 {
            4 => Some((0, false)),
            6 => Some((0, true)),
            _ => None,
        };
    }
    let mut at = 12;
    while at + 2 <= MAX_L2_LEN {
        let ethertype = u16::from_be_bytes([*frame.get(at)?, *frame.get(at + 1)?]);
        match ethertype {
            0x8100 | 0x88a8 => at += 4,
            0x0800 => return Some((at + 2, false)),
            0x86dd => return Some((at + 2, true)),
            _ => return None,
        }
    }
    None
}

/// Cuts the GSO frame `read[VNET_HDR_LEN..]` (described by `hdr`) into Ethernet frames of at
/// most `hdr.gso_size` bytes of transport payload each: segment `i` is written to
/// `out[i][at..at + sizes[i]]`, with the frame's Ethernet header, its own IP length and ID,
/// TCP sequence number (or UDP length) and checksums. Returns the number of segments.
///
/// # Errors
/// [`OffloadError`]: a frame too short for what its header says, not Ethernet + IP, or more
/// segments than `out` has buffers (each must hold `at` + the largest segment).
pub(super) fn split(
    read: &mut [u8],
    framing: Framing,
    hdr: VirtioNetHdr,
    out: &mut [Vec<u8>],
    sizes: &mut [usize],
    at: usize,
) -> Result<usize, OffloadError> {
    let frame = read
        .get_mut(VNET_HDR_LEN..)
        .ok_or(OffloadError::Truncated)?;
    let (l2, is_v6) = l2_header(frame, framing).ok_or(OffloadError::Malformed)?;
    let (eth, packet) = frame.split_at_mut(l2);
    // Offsets from the start of the IP packet. The header length is recomputed from the
    // transport header: the kernel may give the whole linear part (wireguard-go's note).
    let csum_start = usize::from(hdr.csum_start)
        .checked_sub(l2)
        .ok_or(OffloadError::Malformed)?;
    let tcp = matches!(
        hdr.gso_type & !GSO_ECN,
        VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_TCPV6
    );
    let l4_len = if tcp {
        let off = *packet.get(csum_start + 12).ok_or(OffloadError::Truncated)?;
        usize::from(off >> 4) * 4
    } else {
        8
    };
    let hdr_len = u16::try_from(csum_start + l4_len).map_err(|_| OffloadError::Malformed)?;
    let ip_hdr = VirtioNetHdr {
        hdr_len,
        csum_start: u16::try_from(csum_start).map_err(|_| OffloadError::Malformed)?,
        ..hdr
    };
    let n = tun_rs::gso_split(packet, ip_hdr, out, sizes, at + l2, is_v6)
        .map_err(|_| OffloadError::Split)?;
    for (buf, size) in out.iter_mut().zip(sizes.iter_mut()).take(n) {
        let head = buf.get_mut(at..at + l2).ok_or(OffloadError::Split)?;
        head.copy_from_slice(eth);
        *size += l2;
    }
    Ok(n)
}

/// Most segments merged into one frame (the kernel's GRO merges up to 64 too).
const MAX_SEGMENTS: u16 = 64;

/// Largest IP payload a coalesced frame may carry (bytes): the 16-bit IPv4 total length /
/// IPv6 payload length.
const MAX_IP_LEN: usize = 65_535;

/// TCP flags: what a mergeable segment may carry (ACK, and PSH on the last one).
const TCP_ACK: u8 = 0x10;
const TCP_PSH: u8 = 0x08;

/// What [`tcp_segment`] learns of a frame that can be merged with its neighbours.
#[derive(Debug, Clone, Copy)]
struct Segment {
    /// Offsets: the IP header (after the 14-byte Ethernet header), the TCP header, the
    /// payload; and the payload's length (bytes).
    ip: usize,
    tcp: usize,
    payload: usize,
    len: usize,
    v6: bool,
    seq: u32,
    psh: bool,
}

/// The sum of an IP pseudo-header (RFC 793 / RFC 8200 §8.1) for TCP, unfolded.
fn pseudo_sum(frame: &[u8], seg: &Segment, tcp_len: usize) -> Option<u64> {
    let addrs = if seg.v6 {
        frame.get(seg.ip + 8..seg.ip + 40)?
    } else {
        frame.get(seg.ip + 12..seg.ip + 20)?
    };
    let len = u32::try_from(tcp_len).ok()?;
    let mut tail = [0u8; 8];
    tail[..4].copy_from_slice(&len.to_be_bytes());
    tail[7] = 6;
    Some(tun_rs::checksum_no_fold(
        &tail,
        tun_rs::checksum_no_fold(addrs, 0),
    ))
}

/// A frame that may be merged: untagged Ethernet, IPv4 without options or fragments (or IPv6
/// with TCP as its next header), TCP with ACK (and maybe PSH) only and a payload, both
/// checksums right (a segment with a wrong checksum is written as it came, for the stack to
/// drop). `None` for anything else.
fn tcp_segment(frame: &[u8], framing: Framing) -> Option<Segment> {
    let (ip, v6) = l2_header(frame, framing)?;
    if framing == Framing::Ethernet && ip != 14 {
        return None; // tagged: written as it came
    }
    let (v6, tcp, ip_end) = match v6 {
        false => {
            let h = frame.get(ip..ip + 20)?;
            let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
            let frag = u16::from_be_bytes([h[6], h[7]]) & 0x3fff;
            if h[0] != 0x45 || h[9] != 6 || frag != 0 || tun_rs::checksum(h, 0) != 0xffff {
                return None;
            }
            (false, ip + 20, ip + total)
        }
        true => {
            let h = frame.get(ip..ip + 40)?;
            let payload = usize::from(u16::from_be_bytes([h[4], h[5]]));
            if h[0] >> 4 != 6 || h[6] != 6 {
                return None;
            }
            (true, ip + 40, ip + 40 + payload)
        }
    };
    if ip_end != frame.len() {
        return None; // Ethernet padding (or a lie): not merged
    }
    let th = frame.get(tcp..tcp + 20)?;
    let thl = usize::from(th[12] >> 4) * 4;
    let payload = tcp + thl;
    if thl < 20 || th[13] & !TCP_PSH != TCP_ACK || payload >= frame.len() {
        return None;
    }
    let seg = Segment {
        ip,
        tcp,
        payload,
        len: frame.len() - payload,
        v6,
        seq: u32::from_be_bytes([th[4], th[5], th[6], th[7]]),
        psh: th[13] & TCP_PSH != 0,
    };
    let sum = pseudo_sum(frame, &seg, frame.len() - tcp)?;
    (tun_rs::checksum(frame.get(tcp..)?, sum) == 0xffff).then_some(seg)
}

/// Merges runs of consecutive TCP segments of one flow, received for one TAP device, into one
/// GSO frame (what the kernel's GRO does for a NIC): the stack behind the device then handles
/// one 64 KiB packet where it had 40-odd, the receive direction's largest cost. Sans-IO: frames
/// in, `(virtio_net_hdr, frame)` writes out through a callback.
///
/// A run ends at a frame of another flow or kind, a sequence gap, a segment shorter than the
/// first (or with PSH), 64 segments or 64 KiB, and at the end of each receive batch
/// ([`Coalescer::flush`]); frames are written in the order they came.
#[derive(Default)]
pub(super) struct Coalescer {
    /// The frame being built (Ethernet onwards), with the headers of its first segment.
    buf: Vec<u8>,
    first: Option<Segment>,
    segments: u16,
    /// Payload length of the first segment: the others' largest (`gso_size`).
    gso_size: usize,
    next_seq: u32,
    /// The last merged segment was short or had PSH: nothing more goes after it.
    closed: bool,
    /// What the frames of the device being fed start with.
    framing: Framing,
}

impl Coalescer {
    /// Frames from now on start with `framing` (a run being built is written first).
    pub(super) fn set_framing(&mut self, framing: Framing, write: &mut impl FnMut(&[u8], &[u8])) {
        if framing != self.framing {
            self.flush(write);
            self.framing = framing;
        }
    }

    /// Offers one received frame; writes (through `write`) what can no longer grow.
    pub(super) fn push(&mut self, frame: &[u8], write: &mut impl FnMut(&[u8], &[u8])) {
        let seg = tcp_segment(frame, self.framing);
        if let Some(seg) = seg {
            if self.append(frame, &seg) {
                return;
            }
        }
        self.flush(write);
        match seg {
            Some(seg) if !seg.psh => {
                self.buf.clear();
                self.buf.extend_from_slice(frame);
                self.first = Some(seg);
                self.segments = 1;
                self.gso_size = seg.len;
                self.next_seq = seg.seq.wrapping_add(seg.len as u32);
                self.closed = false;
            }
            _ => write(&VNET_HDR_NONE, frame),
        }
    }

    /// Appends `frame` to the run if it continues it.
    fn append(&mut self, frame: &[u8], seg: &Segment) -> bool {
        let Some(first) = self.first else {
            return false;
        };
        let headers = first.payload;
        let ip_len = self.buf.len() - first.ip + seg.len - if first.v6 { 40 } else { 0 };
        let breaks = self.closed
            || seg.v6 != first.v6
            || seg.payload != headers
            || seg.seq != self.next_seq
            || seg.len > self.gso_size
            || self.segments >= MAX_SEGMENTS
            || ip_len > MAX_IP_LEN;
        if breaks {
            return false;
        }
        let (a, b) = (&self.buf[..headers], &frame[..headers]);
        // Ethernet header; IP fields that must match (not length, ID, checksum); TCP ports,
        // ACK number, data offset, flags but PSH, options.
        let ip_same = if first.v6 {
            a[first.ip..first.ip + 4] == b[first.ip..first.ip + 4]
                && a[first.ip + 6..first.ip + 40] == b[first.ip + 6..first.ip + 40]
        } else {
            a[first.ip + 1] == b[first.ip + 1]
                && a[first.ip + 6..first.ip + 10] == b[first.ip + 6..first.ip + 10]
                && a[first.ip + 12..first.ip + 20] == b[first.ip + 12..first.ip + 20]
        };
        let t = first.tcp;
        let tcp_same = a[t..t + 4] == b[t..t + 4]
            && a[t + 8..t + 13] == b[t + 8..t + 13]
            && a[t + 20..headers] == b[t + 20..headers];
        if a[..first.ip] != b[..first.ip] || !ip_same || !tcp_same {
            return false;
        }
        self.buf.extend_from_slice(&frame[headers..]);
        self.segments += 1;
        self.next_seq = seg.seq.wrapping_add(seg.len as u32);
        if seg.psh {
            if let Some(flags) = self.buf.get_mut(t + 13) {
                *flags |= TCP_PSH;
            }
        }
        self.closed = seg.psh || seg.len < self.gso_size;
        true
    }

    /// Writes the run being built, if any: a single segment as it came, several as one GSO
    /// frame (new IP length and header checksum, the TCP checksum left partial for the
    /// stack: `VIRTIO_NET_HDR_F_NEEDS_CSUM`).
    pub(super) fn flush(&mut self, write: &mut impl FnMut(&[u8], &[u8])) {
        let Some(first) = self.first.take() else {
            return;
        };
        if self.segments <= 1 {
            write(&VNET_HDR_NONE, &self.buf);
            return;
        }
        let frame = &mut self.buf;
        let (ip, tcp) = (first.ip, first.tcp);
        let tcp_len = frame.len() - tcp;
        let ok = if first.v6 {
            u16::try_from(tcp_len).ok().map(|l| {
                frame[ip + 4..ip + 6].copy_from_slice(&l.to_be_bytes());
            })
        } else {
            u16::try_from(frame.len() - ip).ok().map(|l| {
                frame[ip + 2..ip + 4].copy_from_slice(&l.to_be_bytes());
                frame[ip + 10..ip + 12].fill(0);
                let sum = !tun_rs::checksum(&frame[ip..ip + 20], 0);
                frame[ip + 10..ip + 12].copy_from_slice(&sum.to_be_bytes());
            })
        };
        let partial = pseudo_sum(frame, &first, tcp_len).map(|s| tun_rs::checksum(&[], s));
        let (Some(()), Some(partial)) = (ok, partial) else {
            return; // cannot happen: lengths were bounded when merged
        };
        frame[tcp + 16..tcp + 18].copy_from_slice(&partial.to_be_bytes());
        let hdr = VirtioNetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: if first.v6 {
                VIRTIO_NET_HDR_GSO_TCPV6
            } else {
                VIRTIO_NET_HDR_GSO_TCPV4
            },
            hdr_len: first.payload as u16,
            gso_size: self.gso_size as u16,
            csum_start: tcp as u16,
            csum_offset: 16,
        };
        let mut h = [0u8; VNET_HDR_LEN];
        if hdr.encode(&mut h).is_ok() {
            write(&h, frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Internet checksum of `b` (RFC 1071), folded and complemented.
    fn csum(b: &[u8], initial: u64) -> u16 {
        !tun_rs::checksum(b, initial)
    }

    /// The TCP/IPv4 checksum of a segment: pseudo-header plus the TCP header and payload.
    fn tcp4_ok(ip: &[u8]) -> bool {
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let tcp = &ip[ihl..total];
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&ip[12..20]);
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
        let sum = tun_rs::checksum_no_fold(&pseudo, 0);
        csum(&ip[..ihl], 0) == 0 && csum(tcp, sum) == 0
    }

    /// An offloaded TCP/IPv4 frame as the kernel hands it over: `virtio_net_hdr`, Ethernet
    /// (with `vlan` tags), IPv4 (total length of the whole), TCP with the pseudo-header sum
    /// in its checksum field, then `payload` bytes.
    fn gso_frame(vlan: usize, payload: usize, mss: u16, lie_hdr_len: bool) -> Vec<u8> {
        let l2 = 14 + 4 * vlan;
        let mut f = vec![0u8; VNET_HDR_LEN + l2 + 20 + 20 + payload];
        let ip_at = VNET_HDR_LEN + l2;
        let e = &mut f[VNET_HDR_LEN..];
        e[..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
        e[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        for t in 0..vlan {
            e[12 + 4 * t..16 + 4 * t].copy_from_slice(&[0x81, 0x00, 0x00, 0x0a + t as u8]);
        }
        e[12 + 4 * vlan..14 + 4 * vlan].copy_from_slice(&[0x08, 0x00]);
        let ip = &mut f[ip_at..];
        let total = (40 + payload) as u16;
        ip[..20].copy_from_slice(&[
            0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ]);
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        let tcp = &mut ip[20..40];
        tcp[..4].copy_from_slice(&[0x13, 0x88, 0xc0, 0x00]);
        tcp[4..8].copy_from_slice(&1000u32.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = 0x18; // PSH, ACK
        for (i, b) in ip[40..].iter_mut().enumerate() {
            *b = i as u8;
        }
        let hdr = VirtioNetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: VIRTIO_NET_HDR_GSO_TCPV4,
            hdr_len: if lie_hdr_len {
                (l2 + 40 + 100) as u16
            } else {
                (l2 + 40) as u16
            },
            gso_size: mss,
            csum_start: (l2 + 20) as u16,
            csum_offset: 16,
        };
        hdr.encode(&mut f).unwrap();
        f
    }

    #[test]
    fn tso_frame_is_cut_into_segments_with_their_own_headers() {
        for (vlan, lie) in [(0, false), (1, false), (2, true)] {
            let l2 = 14 + 4 * vlan;
            let mut read = gso_frame(vlan, 4000, 1448, lie);
            let original = read.clone();
            let Ok(Offloaded::Gso(hdr)) = classify(&mut read) else {
                panic!("a TSO frame is Gso");
            };
            let mut out = vec![vec![0u8; 2048]; 8];
            let mut sizes = [0usize; 8];
            let n = split(&mut read, Framing::Ethernet, hdr, &mut out, &mut sizes, 30).unwrap();
            assert_eq!(n, 3, "4000 bytes in segments of 1448");
            let mut seq = 1000u32;
            let mut data = Vec::new();
            for (i, (buf, &size)) in out.iter().zip(&sizes).take(n).enumerate() {
                let seg = &buf[30..30 + size];
                assert_eq!(&seg[..l2], &original[VNET_HDR_LEN..VNET_HDR_LEN + l2]);
                let ip = &seg[l2..];
                let want = if i < 2 { 1448 } else { 4000 - 2 * 1448 };
                assert_eq!(ip.len(), 40 + want);
                assert_eq!(u16::from_be_bytes([ip[2], ip[3]]) as usize, ip.len());
                assert_eq!(u32::from_be_bytes([ip[24], ip[25], ip[26], ip[27]]), seq);
                assert!(tcp4_ok(ip), "segment {i}: IP and TCP checksums");
                assert_eq!(ip[33] & 0x08 != 0, i == n - 1, "PSH on the last only");
                seq += want as u32;
                data.extend_from_slice(&ip[40..]);
            }
            assert_eq!(&data[..], &original[VNET_HDR_LEN + l2 + 40..]);
        }
    }

    #[test]
    fn partial_checksum_of_a_single_frame_is_finished() {
        let mut read = gso_frame(0, 300, 1448, false);
        read[1] = GSO_NONE; // gso_type: one packet of 340 bytes
        let ip_at = VNET_HDR_LEN + 14;
        // As the kernel leaves it: the pseudo-header's sum in the TCP checksum field.
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&read[ip_at + 12..ip_at + 20]);
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&320u16.to_be_bytes());
        let partial = tun_rs::checksum(&pseudo, 0).to_be_bytes();
        read[ip_at + 36..ip_at + 38].copy_from_slice(&partial);
        let ip_csum = csum(&read[ip_at..ip_at + 20], 0).to_be_bytes();
        read[ip_at + 10..ip_at + 12].copy_from_slice(&ip_csum);
        assert!(!tcp4_ok(&read[ip_at..]));
        assert!(matches!(classify(&mut read), Ok(Offloaded::Frame)));
        assert!(tcp4_ok(&read[ip_at..]), "checksum finished");
    }

    #[test]
    fn hostile_offload_headers_are_refused_not_panicked_on() {
        // Too short for the header; offsets past the end; not IP; too many segments.
        assert_eq!(classify(&mut [0u8; 4]).err(), Some(OffloadError::Truncated));
        let mut read = gso_frame(0, 300, 1448, false);
        read[1] = GSO_NONE;
        read[6..8].copy_from_slice(&5000u16.to_ne_bytes()); // csum_start
        assert_eq!(classify(&mut read).err(), Some(OffloadError::Truncated));

        let mut read = gso_frame(0, 3000, 1448, false);
        read[VNET_HDR_LEN + 12] = 0x88; // not IP
        let Ok(Offloaded::Gso(hdr)) = classify(&mut read) else {
            panic!()
        };
        let mut out = vec![vec![0u8; 2048]; 4];
        let mut sizes = [0usize; 4];
        assert_eq!(
            split(&mut read, Framing::Ethernet, hdr, &mut out, &mut sizes, 0).err(),
            Some(OffloadError::Malformed)
        );

        let mut read = gso_frame(0, 3000, 100, false);
        let Ok(Offloaded::Gso(hdr)) = classify(&mut read) else {
            panic!()
        };
        assert_eq!(
            split(&mut read, Framing::Ethernet, hdr, &mut out, &mut sizes, 0).err(),
            Some(OffloadError::Split),
            "30 segments, 4 buffers"
        );

        let mut read = gso_frame(0, 3000, 1448, false);
        read.truncate(VNET_HDR_LEN + 14 + 30); // inside the TCP header
        let Ok(Offloaded::Gso(hdr)) = classify(&mut read) else {
            panic!()
        };
        assert!(split(&mut read, Framing::Ethernet, hdr, &mut out, &mut sizes, 0).is_err());
    }

    /// Segments of a GSO frame, cut by [`split`] (valid checksums, IDs counting up).
    fn segments_of(payload: usize, mss: u16) -> Vec<Vec<u8>> {
        let mut read = gso_frame(0, payload, mss, false);
        let Ok(Offloaded::Gso(hdr)) = classify(&mut read) else {
            panic!("a TSO frame is Gso");
        };
        let mut out = vec![vec![0u8; 2048]; 64];
        let mut sizes = [0usize; 64];
        let n = split(&mut read, Framing::Ethernet, hdr, &mut out, &mut sizes, 0).unwrap();
        out.iter()
            .zip(sizes)
            .take(n)
            .map(|(b, s)| b[..s].to_vec())
            .collect()
    }

    /// Everything written through a coalescer: (virtio_net_hdr, frame) pairs.
    fn run(frames: &[Vec<u8>]) -> Vec<(VirtioNetHdr, Vec<u8>)> {
        let mut c = Coalescer::default();
        let mut written = Vec::new();
        let mut w =
            |h: &[u8], f: &[u8]| written.push((VirtioNetHdr::decode(h).unwrap(), f.to_vec()));
        for f in frames {
            c.push(f, &mut w);
        }
        c.flush(&mut w);
        written
    }

    #[test]
    fn a_run_of_segments_becomes_one_gso_frame_that_splits_back_into_them() {
        let segs = segments_of(10_000, 1448);
        assert_eq!(segs.len(), 7);
        let written = run(&segs);
        assert_eq!(written.len(), 1, "one write for the run");
        let (hdr, frame) = &written[0];
        assert_eq!(hdr.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
        assert_eq!(hdr.gso_size, 1448);
        assert_eq!((hdr.hdr_len, hdr.csum_start, hdr.csum_offset), (54, 34, 16));
        assert_eq!(frame.len(), 54 + 10_000);
        assert_eq!(
            u16::from_be_bytes([frame[16], frame[17]]),
            10_040,
            "IP length"
        );
        assert_eq!(csum(&frame[14..34], 0), 0, "IP header checksum");
        assert_eq!(frame[47] & TCP_PSH, TCP_PSH, "PSH of the last segment");
        // What the stack would do with it: cut it again, into the same segments.
        let mut read = [&hdr_bytes(hdr)[..], frame].concat();
        let Ok(Offloaded::Gso(h2)) = classify(&mut read) else {
            panic!()
        };
        let mut out = vec![vec![0u8; 2048]; 64];
        let mut sizes = [0usize; 64];
        let n = split(&mut read, Framing::Ethernet, h2, &mut out, &mut sizes, 0).unwrap();
        let again: Vec<Vec<u8>> = out
            .iter()
            .zip(sizes)
            .take(n)
            .map(|(b, s)| b[..s].to_vec())
            .collect();
        assert_eq!(again, segs);
    }

    fn hdr_bytes(h: &VirtioNetHdr) -> [u8; VNET_HDR_LEN] {
        let mut b = [0u8; VNET_HDR_LEN];
        h.encode(&mut b).unwrap();
        b
    }

    #[test]
    fn runs_end_at_gaps_other_frames_and_bad_checksums_in_order() {
        let segs = segments_of(6 * 1448, 1448);
        // A gap (segment 2 lost): 0-1 merged, 3-5 merged.
        let gap: Vec<Vec<u8>> = segs
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 2)
            .map(|(_, s)| s.clone())
            .collect();
        let w = run(&gap);
        assert_eq!(
            w.iter()
                .map(|(h, f)| (h.gso_type, f.len()))
                .collect::<Vec<_>>(),
            vec![
                (VIRTIO_NET_HDR_GSO_TCPV4, 54 + 2 * 1448),
                (VIRTIO_NET_HDR_GSO_TCPV4, 54 + 3 * 1448)
            ]
        );
        // A frame of another kind between: written in its place, unchanged, no offload.
        let mut arp = vec![0xffu8; 42];
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        let mixed = vec![
            segs[0].clone(),
            segs[1].clone(),
            arp.clone(),
            segs[2].clone(),
        ];
        let w = run(&mixed);
        assert_eq!(w.len(), 3);
        assert_eq!(w[1].1, arp);
        assert_eq!(w[1].0.gso_type, GSO_NONE);
        assert_eq!(w[2].1, segs[2], "a run of one is written as it came");
        assert_eq!(w[2].0.flags, 0);
        // A corrupted segment is not merged (the stack drops it).
        let mut bad = segs.clone();
        bad[1][60] ^= 0xff;
        let w = run(&bad);
        assert_eq!(w.len(), 3);
        assert_eq!(w[1].1, bad[1]);
        assert_eq!(
            w[2].0.gso_type, VIRTIO_NET_HDR_GSO_TCPV4,
            "segments 2.. after the bad one merge"
        );
        assert!(w
            .iter()
            .all(|(h, _)| h.gso_type != VIRTIO_NET_HDR_GSO_TCPV4 || h.flags == F_NEEDS_CSUM));
    }

    #[test]
    fn coalescer_takes_any_bytes_without_panicking() {
        let segs = segments_of(3 * 1448, 1448);
        let mut c = Coalescer::default();
        let mut n = 0;
        let mut w = |_: &[u8], _: &[u8]| n += 1;
        for cut in [0, 1, 13, 14, 20, 33, 34, 40, 53, 54, 55] {
            for s in &segs {
                c.push(&s[..cut.min(s.len())], &mut w);
            }
            c.push(&segs[0], &mut w);
            let mut lying = segs[1].clone();
            lying[46] = 0xf0; // data offset 60, past the payload start
            c.push(&lying, &mut w);
        }
        c.flush(&mut w);
        assert!(n > 0);
    }

    /// Cuts every GSO frame written back into segments (as the stack would): what a run of
    /// writes amounts to, frame by frame.
    fn resplit(written: &[(VirtioNetHdr, Vec<u8>)]) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        for (h, f) in written {
            if h.gso_type == GSO_NONE {
                frames.push(f.clone());
                continue;
            }
            let mut read = [&hdr_bytes(h)[..], f].concat();
            let Ok(Offloaded::Gso(h2)) = classify(&mut read) else {
                panic!("a GSO write classifies as GSO")
            };
            let mut out = vec![vec![0u8; 2048]; 70];
            let mut sizes = [0usize; 70];
            let n = split(&mut read, Framing::Ethernet, h2, &mut out, &mut sizes, 0)
                .expect("a merged frame splits");
            frames.extend(out.iter().zip(sizes).take(n).map(|(b, s)| b[..s].to_vec()));
        }
        frames
    }

    proptest::proptest! {
        /// Whatever arrives (segments of a flow lost, repeated, reordered, corrupted, mixed
        /// with other frames): no panic, and what is written, cut again, is exactly what came,
        /// in order.
        #[test]
        fn merging_never_changes_what_the_stack_sees(
            picks in proptest::collection::vec((0usize..12, 0u8..8, proptest::num::u8::ANY), 0..40),
        ) {
            let segs = segments_of(10 * 1000, 1000);
            let mut frames = Vec::new();
            let mut next = 0;
            for (i, kind, byte) in picks {
                // Mostly the next segment of the flow (runs to merge), else any one.
                let i = if kind >= 4 { next } else { i };
                next = i + 1;
                let mut f = segs[i % segs.len()].clone();
                match kind {
                    0 => { let at = usize::from(byte) % f.len(); f[at] ^= 0x5a; }
                    1 => f.truncate(usize::from(byte) % f.len()),
                    2 => f = vec![byte; usize::from(byte)],
                    _ => {}
                }
                frames.push(f);
            }
            let written = run(&frames);
            proptest::prop_assert!(written.len() <= frames.len());
            proptest::prop_assert_eq!(resplit(&written), frames);
        }
    }
}
