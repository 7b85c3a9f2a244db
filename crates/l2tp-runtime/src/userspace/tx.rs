//! The device → network direction of the user-space data plane: frames read from a session's
//! TAP device (Ethernet pseudowires) or TUN device (PPP), encapsulated in place and sent on
//! the tunnel's socket in batches.
//!
//! Per wake-up a session's task reads what the device has queued (up to [`TX_BATCH`] reads,
//! without yielding), each into a buffer with the header room in front ([`FRAME_AT`]), has
//! the session write each L2TP header in place and sends the lot with one `sendmmsg`. A TAP
//! device with offloads ([`super::offload`]) may hand over a TCP segment of up to 64 KiB in
//! one read: it is cut into frames that fit the pseudowire, which go out in one `sendmmsg`
//! of their own, after what was read before it (order within a flow is kept).
//!
//! Buffers are per worker thread ([`TX_SCRATCH`]), not per session: 100,000 idle sessions hold
//! none. No allocation per packet.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use l2tp_proto::data::DataSession;

use super::offload::{self, Offloaded, VNET_HDR_LEN};
use super::{ppp, Path, MAX_FRAME};

/// Reads from a device per wake-up, and datagrams per `sendmmsg`, at most.
const TX_BATCH: usize = 32;

/// Where a frame starts in every transmit buffer (bytes): room for the largest L2TP header
/// and the PPP prefix in front (and for the `virtio_net_hdr` a read puts just before it).
const FRAME_AT: usize = DataSession::MAX_HEADER_LEN + ppp::IP_PREFIX;
const _: () = assert!(FRAME_AT >= VNET_HDR_LEN);

/// Segment buffers for one offloaded read: a 64 KiB TCP segment with the smallest usual MSS
/// (536 bytes) is 123 frames.
const SEGMENTS: usize = 128;

/// Room per segment buffer (bytes): the header room and a frame of a jumbo-MTU pseudowire. A
/// segment larger than this (TAP MTU over 16 KB) is dropped and counted.
const SEGMENT_ROOM: usize = 16 * 1024;

/// One worker thread's transmit buffers.
#[derive(Default)]
pub(super) struct TxScratch {
    /// [`TX_BATCH`] buffers of [`FRAME_AT`] + the largest frame.
    frames: Vec<Vec<u8>>,
    /// [`SEGMENTS`] buffers of [`SEGMENT_ROOM`], and the segments' lengths.
    segments: Vec<Vec<u8>>,
    sizes: Vec<usize>,
}

impl TxScratch {
    fn reserve(&mut self, offload: bool) {
        if self.frames.len() < TX_BATCH {
            self.frames
                .resize_with(TX_BATCH, || vec![0u8; FRAME_AT + MAX_FRAME]);
        }
        if offload && self.segments.len() < SEGMENTS {
            self.segments
                .resize_with(SEGMENTS, || vec![0u8; SEGMENT_ROOM]);
            self.sizes.resize(SEGMENTS, 0);
        }
    }
}

thread_local! {
    /// The transmit buffers of the worker thread a session's task runs on.
    pub(super) static TX_SCRATCH: RefCell<TxScratch> = RefCell::new(TxScratch::default());
}

/// A session's TAP → network direction: wait until the TAP device has frames, then forward
/// them ([`forward_batch`]). Runs until the session is deleted (aborted) or its TAP device
/// fails.
pub(super) async fn tap_to_tunnel(
    path: Arc<Path>,
    socket: Arc<std::net::UdpSocket>,
    peer: SocketAddr,
) {
    loop {
        if let Err(e) = path.tap.readable().await {
            tracing::debug!(error = %e, "TAP device failed; session stops sending");
            return;
        }
        TX_SCRATCH.with(|scratch| {
            forward_batch(&path, &socket, peer, &mut scratch.borrow_mut());
        });
    }
}

/// Reads what the session's device has queued (up to [`TX_BATCH`] reads), encapsulates and
/// sends it. PPP sessions: IPv4 / IPv6 packets get the PPP prefix (`FF 03` and the Protocol
/// field), each only while its NCP is open; anything else read from the TUN device is dropped.
pub(super) fn forward_batch(
    path: &Path,
    socket: &std::net::UdpSocket,
    peer: SocketAddr,
    scratch: &mut TxScratch,
) {
    // (Fixed for Ethernet; a v2 LAC session's follows the peer's sequencing.)
    let Some(h) = path.session.lock().ok().map(|s| s.header_len()) else {
        return;
    };
    scratch.reserve(path.offload);
    let TxScratch {
        frames,
        segments,
        sizes,
    } = scratch;
    let (extra, v4_up, v6_up) = match &path.ppp {
        Some(l) => (
            ppp::IP_PREFIX,
            l.ipv4_up.load(std::sync::atomic::Ordering::Relaxed),
            l.ipv6_up.load(std::sync::atomic::Ordering::Relaxed),
        ),
        None => (0, false, false),
    };
    let read_at = if path.offload {
        FRAME_AT - VNET_HDR_LEN
    } else {
        FRAME_AT
    };
    // Length of the frame at FRAME_AT in each buffer read; 0: dropped.
    let mut lens = [0usize; TX_BATCH];
    let mut n = 0;
    let mut errors = 0u64;
    for _ in 0..TX_BATCH {
        let Some(room) = frames.get_mut(n).and_then(|b| b.get_mut(read_at..)) else {
            break;
        };
        let got = match path.tap.try_recv(room) {
            Ok(got) => got,
            Err(_) => break, // WouldBlock (readiness cleared) or a failed device
        };
        let room_len = room.len();
        let read = &mut room[..got.min(room_len)];
        if path.offload {
            match offload::classify(read) {
                Ok(Offloaded::Frame) => lens[n] = got - VNET_HDR_LEN,
                Ok(Offloaded::Gso(hdr)) => {
                    // What was read before it goes first, then its segments.
                    errors += send_frames(path, socket, peer, frames, &lens[..n], h, extra);
                    let read = &mut frames[n][read_at..read_at + got];
                    match offload::split(read, path.framing(), hdr, segments, sizes, FRAME_AT) {
                        Ok(k) => {
                            let k = k.min(sizes.len());
                            if extra > 0 {
                                for (seg, size) in segments.iter_mut().zip(&mut sizes[..k]) {
                                    if !ppp_prefix(seg, v4_up, v6_up) {
                                        *size = 0;
                                    }
                                }
                            }
                            errors +=
                                send_frames(path, socket, peer, segments, &sizes[..k], h, extra);
                        }
                        Err(e) => {
                            tracing::trace!(error = ?e, "offloaded frame dropped");
                            errors += 1;
                        }
                    }
                    n = 0;
                    continue;
                }
                Err(e) => {
                    tracing::trace!(error = ?e, "offloaded frame dropped");
                    errors += 1;
                    lens[n] = 0;
                }
            }
        } else {
            lens[n] = got;
        }
        if extra > 0 && !ppp_prefix(&mut frames[n], v4_up, v6_up) {
            lens[n] = 0;
        }
        n += 1;
    }
    errors += send_frames(path, socket, peer, frames, &lens[..n], h, extra);
    if errors > 0 {
        if let Ok(mut s) = path.session.lock() {
            for _ in 0..errors {
                s.count_tx_error();
            }
        }
    }
}

/// PPP: writes Address, Control and the Protocol field in front of the IP packet at
/// [`FRAME_AT`] in `buf`: IPv4 while IPCP is open, IPv6 while IPV6CP is. `false` for anything
/// else (dropped).
fn ppp_prefix(buf: &mut [u8], v4_up: bool, v6_up: bool) -> bool {
    let proto = match buf.get(FRAME_AT).map(|b| b >> 4) {
        Some(4) if v4_up => [0x00, 0x21],
        Some(6) if v6_up => [0x00, 0x57],
        _ => return false,
    };
    match buf.get_mut(FRAME_AT - ppp::IP_PREFIX..FRAME_AT) {
        Some(p) => {
            p.copy_from_slice(&[0xff, 0x03, proto[0], proto[1]]);
            true
        }
        None => false,
    }
}

/// Encapsulates the frames `bufs[i][FRAME_AT..FRAME_AT + lens[i]]` (`extra` bytes in front of
/// each already written: the PPP prefix) with `h`-byte L2TP headers and sends them
/// ([`send_ready`]). Returns how many were dropped (refused by the socket), for `tx_errors`.
fn send_frames(
    path: &Path,
    socket: &std::net::UdpSocket,
    peer: SocketAddr,
    bufs: &mut [Vec<u8>],
    lens: &[usize],
    h: usize,
    extra: usize,
) -> u64 {
    let mut ready: [&[u8]; SEGMENTS] = [&[]; SEGMENTS];
    let k = encapsulate_all(path, bufs, lens, h, extra, &mut ready);
    let sent = send_ready(path, socket, &ready[..k], peer);
    (k - sent) as u64
}

/// Sends `ready` in order. Over UDP, each run of datagrams of one length (the last may be
/// shorter: the segments of an offloaded read, or a stream of equal small packets) goes out
/// with UDP segmentation offload: one `sendmsg` with `UDP_SEGMENT` per 64 KiB, one route lookup
/// and one pass through the stack for the run, cut into datagrams by the kernel (or the NIC).
/// The others, and everything on a socket that refused offload once, go with `sendmmsg`.
/// Returns how many the kernel took.
fn send_ready(
    path: &Path,
    socket: &std::net::UdpSocket,
    ready: &[&[u8]],
    peer: SocketAddr,
) -> usize {
    if ready.len() < 2 || !path.udp_gso.load(Ordering::Relaxed) {
        return send_all(socket, ready, peer);
    }
    let (mut sent, mut singles, mut i) = (0, 0, 0);
    while let Some(first) = ready.get(i) {
        let size = first.len();
        let mut j = i + 1;
        while ready.get(j).is_some_and(|d| d.len() == size) {
            j += 1;
        }
        if ready.get(j).is_some_and(|d| d.len() < size) {
            j += 1; // a shorter one ends the run
        }
        if j - i >= 2 {
            sent += send_all(socket, ready.get(singles..i).unwrap_or_default(), peer);
            let run = ready.get(i..j).unwrap_or_default();
            match send_gso(socket, run, peer) {
                Some(n) => sent += n,
                None => {
                    tracing::debug!("UDP segmentation offload refused; one datagram per send");
                    path.udp_gso.store(false, Ordering::Relaxed);
                    return sent + send_all(socket, ready.get(i..).unwrap_or_default(), peer);
                }
            }
            singles = j;
        }
        i = j;
    }
    sent + send_all(socket, ready.get(singles..).unwrap_or_default(), peer)
}

/// Encapsulates what [`send_frames`] sends into `ready`; returns how many are ready.
fn encapsulate_all<'a>(
    path: &Path,
    bufs: &'a mut [Vec<u8>],
    lens: &[usize],
    h: usize,
    extra: usize,
    ready: &mut [&'a [u8]; SEGMENTS],
) -> usize {
    if lens.iter().all(|&l| l == 0) {
        return 0;
    }
    let Ok(mut session) = path.session.lock() else {
        return 0;
    };
    if session.header_len() != h {
        // The peer switched sequencing meanwhile (v2 LAC): the room is wrong; drop these.
        return 0;
    }
    let mut k = 0;
    let start = FRAME_AT - extra - h;
    for (buf, &len) in bufs.iter_mut().zip(lens) {
        if len == 0 || k == ready.len() {
            continue;
        }
        let Some(datagram) = buf.get_mut(start..FRAME_AT + len) else {
            continue;
        };
        if session.encapsulate(datagram).is_ok() {
            ready[k] = datagram;
            k += 1;
        }
    }
    k
}

/// Largest UDP payload one `UDP_SEGMENT` send carries (bytes; under IPv4's 65,507) and most
/// datagrams (the kernel's `UDP_MAX_SEGMENTS`).
const GSO_MAX_BYTES: usize = 65_000;
const GSO_MAX_SEGMENTS: usize = 64;

/// Sends `datagrams` (all of the first one's length but the last, which may be shorter) with
/// `UDP_SEGMENT`, in as few `sendmsg` calls as the limits allow. Returns how many the kernel
/// took, or `None` when the socket refuses segmentation offload (nothing sent).
fn send_gso(socket: &std::net::UdpSocket, datagrams: &[&[u8]], peer: SocketAddr) -> Option<usize> {
    use nix::errno::Errno;
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, SockaddrStorage};
    use std::io::IoSlice;
    use std::os::fd::AsRawFd;
    let size = datagrams.first()?.len();
    let seg = u16::try_from(size).ok()?;
    let per_send = (GSO_MAX_BYTES / size.max(1)).clamp(1, GSO_MAX_SEGMENTS);
    let to = SockaddrStorage::from(peer);
    let mut sent = 0;
    for chunk in datagrams.chunks(per_send) {
        let iovs: Vec<IoSlice> = chunk.iter().map(|d| IoSlice::new(d)).collect();
        let cmsg = [ControlMessage::UdpGsoSegments(&seg)];
        let one = chunk.len() == 1;
        let cmsgs: &[ControlMessage] = if one { &[] } else { &cmsg };
        match sendmsg(
            socket.as_raw_fd(),
            &iovs,
            cmsgs,
            MsgFlags::MSG_DONTWAIT,
            Some(&to),
        ) {
            Ok(_) => sent += chunk.len(),
            // A full buffer: this chunk is dropped, as the kernel drops it.
            Err(Errno::EAGAIN | Errno::ENOBUFS) => {}
            // No segmentation offload here (no checksum offload, an old kernel).
            Err(Errno::EIO | Errno::EINVAL | Errno::EOPNOTSUPP | Errno::ENOPROTOOPT)
                if sent == 0 =>
            {
                return None;
            }
            Err(_) => {}
        }
    }
    Some(sent)
}

/// Sends `datagrams` to `peer` with `sendmmsg` (non-blocking); returns how many the kernel
/// took. What a full socket buffer refuses is dropped, as the kernel drops it.
pub(super) fn send_all(
    socket: &std::net::UdpSocket,
    datagrams: &[&[u8]],
    peer: SocketAddr,
) -> usize {
    use nix::sys::socket::{sendmmsg, MsgFlags, MultiHeaders, SockaddrStorage};
    use std::io::IoSlice;
    use std::os::fd::AsRawFd;
    let to = SockaddrStorage::from(peer);
    let (mut done, mut sent) = (0, 0);
    while let Some(rest) = datagrams.get(done..).filter(|r| !r.is_empty()) {
        let iovs: Vec<[IoSlice; 1]> = rest.iter().map(|d| [IoSlice::new(d)]).collect();
        let addrs = vec![Some(to); rest.len()];
        let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(rest.len(), None);
        let r = sendmmsg(
            socket.as_raw_fd(),
            &mut headers,
            &iovs,
            &addrs,
            [],
            MsgFlags::MSG_DONTWAIT,
        );
        match r.map(|r| r.count()) {
            Ok(c) if c > 0 => {
                done += c;
                sent += c;
            }
            // Nothing taken, or the first datagram failed (buffer full, unreachable): that
            // one is dropped; the rest are tried.
            _ => done += 1,
        }
    }
    sent
}
