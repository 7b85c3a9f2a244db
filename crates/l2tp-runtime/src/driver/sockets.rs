//! The driver's sockets: opening and binding them (UDP or L2TP/IP), the receive buffer a
//! listening socket needs for bursts, batched reads (`recvmmsg`) by one small reader task per
//! socket, batched sends (`sendmmsg`), and which tunnels use which socket.
//!
//! Readers hand the engine task whole batches over one bounded channel: one wake-up and one
//! allocation per batch, not per datagram. The 64 KiB read buffers are per thread, not per
//! socket, so a kernel-mode daemon with 10,000 per-tunnel sockets holds 10,000 idle tasks and
//! no buffers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{IoSlice, IoSliceMut};
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;

use l2tp_proto::wire::Encap;
use nix::sys::socket::{ControlMessageOwned, MsgFlags, MultiHeaders, SockaddrStorage};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::{DriverError, SocketMode};
use crate::dataplane::DataSink;

/// IP protocol number of L2TPv3 over IP (RFC 3931 §4.1.1.1).
const IPPROTO_L2TP: i32 = 115;

/// Largest datagram read (bytes). L2TP over UDP cannot exceed 65,507 bytes.
const MAX_DATAGRAM: usize = 65_536;
/// Datagrams read (and sent) per system call.
pub(crate) const BATCH: usize = 32;
/// Batches queued between the reader tasks and the engine task before readers wait.
const INBOX_DEPTH: usize = 256;

/// Datagrams read from one socket in one `recvmmsg`, packed into one buffer.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    data: Vec<u8>,
    items: Vec<(SocketAddr, usize, usize)>,
}

impl Batch {
    /// (source, datagram) in arrival order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (SocketAddr, &[u8])> {
        self.items
            .iter()
            .map(|&(from, start, len)| (from, self.data.get(start..start + len).unwrap_or(&[])))
    }

    #[cfg(test)]
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }
}

/// A batch and the socket it came from.
pub(crate) struct Inbound {
    pub socket: usize,
    pub batch: Batch,
}

pub(crate) struct Sock {
    pub local: SocketAddr,
    pub encap: Encap,
    /// Where the socket is connected to, if it is (then `send` is used, not `send_to`:
    /// IPv6 L2TP/IP sockets take no `sockaddr_in6` destination).
    pub connected: Option<SocketAddr>,
    pub sock: Arc<UdpSocket>,
    reader: tokio::task::JoinHandle<()>,
    /// Tunnels using it; a per-tunnel socket is closed with its last tunnel.
    pub users: usize,
    pub listening: bool,
    /// A raw IP socket (protocol 115) carrying L2TP/IP for a user-space data plane: it sees
    /// every L2TP/IP datagram to its address, control and data, with the 4-byte Session ID
    /// (IPv4 reads also carry the IP header, removed by the reader).
    pub raw: bool,
}

/// The socket table.
pub(crate) struct Sockets {
    table: HashMap<usize, Sock>,
    next: usize,
    /// Shared UDP sockets by local address ([`SocketMode::Shared`]).
    shared: HashMap<SocketAddr, usize>,
    /// Listening sockets (a handful), in the order they were opened.
    listeners: Vec<usize>,
    mode: SocketMode,
    inbox_tx: mpsc::Sender<Inbound>,
    /// Receive buffer asked for listening sockets (bytes; 0 = the system default).
    recv_buffer: usize,
    /// Where readers hand data messages (user-space data plane); with it, L2TP/IP runs on
    /// raw sockets shared per local address (`raw_ip`).
    sink: Option<Arc<dyn DataSink>>,
    raw_ip: HashMap<SocketAddr, usize>,
}

impl Sockets {
    pub(crate) fn new(mode: SocketMode, recv_buffer: usize) -> (Sockets, mpsc::Receiver<Inbound>) {
        let (inbox_tx, rx) = mpsc::channel(INBOX_DEPTH);
        (
            Sockets {
                table: HashMap::new(),
                next: 0,
                shared: HashMap::new(),
                listeners: Vec::new(),
                mode,
                inbox_tx,
                recv_buffer,
                sink: None,
                raw_ip: HashMap::new(),
            },
            rx,
        )
    }

    pub(crate) fn get(&self, i: usize) -> Option<&Sock> {
        self.table.get(&i)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    /// Any socket (replies for which no tunnel names one: the listener's).
    pub(crate) fn any_listening(&self) -> Option<usize> {
        self.listeners
            .first()
            .copied()
            .or_else(|| self.table.keys().next().copied())
    }

    /// Hands data messages read from now on, on sockets opened for user-space tunnels, to
    /// `sink` (a user-space data plane), and opens L2TP/IP for them on shared raw sockets.
    pub(crate) fn set_data_sink(&mut self, sink: Arc<dyn DataSink>) {
        self.sink = Some(sink);
    }

    /// The receive buffer asked for listening sockets opened from now on (bytes).
    pub(crate) fn set_recv_buffer_size(&mut self, bytes: usize) {
        self.recv_buffer = bytes;
    }

    /// Counts one more tunnel on socket `i`.
    pub(crate) fn add_user(&mut self, i: usize) {
        if let Some(s) = self.table.get_mut(&i) {
            s.users += 1;
        }
    }

    /// Marks socket `i` as a listener and sizes its receive buffer for bursts.
    pub(crate) fn set_listening(&mut self, i: usize) -> Option<SocketAddr> {
        let size = self.recv_buffer;
        let s = self.table.get_mut(&i)?;
        if !s.listening {
            self.listeners.push(i);
        }
        s.listening = true;
        if size > 0 {
            let got = set_recv_buffer(&s.sock, size);
            tracing::info!(local = %s.local, asked = size, got, "listening socket receive buffer (bytes)");
        }
        Some(s.local)
    }

    /// The shared socket of `local` (binding it on first use), or a new one. `user_space`:
    /// the socket serves tunnels whose data messages are carried in user space (see
    /// [`Sockets::open`]).
    pub(crate) fn socket_for(
        &mut self,
        local: SocketAddr,
        user_space: bool,
    ) -> Result<usize, DriverError> {
        if self.mode == SocketMode::Shared && local.port() != 0 {
            if let Some(&i) = self.shared.get(&local) {
                return Ok(i);
            }
            let i = self.open(local, None, Encap::Udp, 0, user_space)?;
            self.shared.insert(local, i);
            return Ok(i);
        }
        self.open(local, None, Encap::Udp, 0, user_space)
    }

    /// Fails if another process holds UDP `local` (say, a second daemon): the listening
    /// socket is ours alone. Our sockets set `SO_REUSEADDR` (the per-tunnel connected
    /// sockets share the listener's address), which would otherwise let a second daemon bind
    /// too and take a share of the traffic; a probe without it finds the holder.
    ///
    /// Errors: [`DriverError::Socket`] "address in use", naming the holding process when
    /// `/proc` tells.
    pub(crate) fn check_exclusive(&self, local: SocketAddr) -> Result<(), DriverError> {
        let ours = self.shared.contains_key(&local)
            || self
                .listeners
                .iter()
                .any(|i| self.table.get(i).is_some_and(|s| s.local == local));
        if local.port() == 0 || ours {
            return Ok(());
        }
        match std::net::UdpSocket::bind(local) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(DriverError::Socket {
                addr: local,
                message: match holder_of(local) {
                    Some(who) => format!("address in use by {who}"),
                    None => "address in use by another process".to_string(),
                },
            }),
            Err(_) => Ok(()), // binding proper reports anything else
        }
    }

    /// Releases one user of socket `i`; closes it (and stops its reader) when it has none
    /// left and is not a listener, in every socket mode: nothing of a tunnel outlives it.
    pub(crate) fn release(&mut self, i: usize) {
        let Some(s) = self.table.get_mut(&i) else {
            return;
        };
        s.users = s.users.saturating_sub(1);
        if s.users == 0 && !s.listening {
            if let Some(s) = self.table.remove(&i) {
                s.reader.abort();
                if self.shared.get(&s.local) == Some(&i) {
                    self.shared.remove(&s.local);
                }
                if self.raw_ip.get(&s.local) == Some(&i) {
                    self.raw_ip.remove(&s.local);
                }
                tracing::debug!(local = %s.local, "socket closed");
            }
        }
    }

    /// A duplicate of socket `i`'s descriptor (kept open until the data plane holds it).
    pub(crate) fn dup(&self, i: usize) -> Option<OwnedFd> {
        self.table.get(&i)?.sock.as_fd().try_clone_to_owned().ok()
    }

    /// Binds a socket of either encapsulation on `local` (`SO_REUSEADDR` set, so a listening
    /// socket and the per-tunnel sockets of the same address coexist), optionally connects
    /// it, and starts its reader task. L2TP/IP sockets are bound with `conn_id`: the kernel
    /// delivers a control message to the socket bound to its Control Connection ID (0 =
    /// SCCRQs from new peers). Returns its index.
    ///
    /// `user_space`: the socket serves tunnels whose data messages a user-space data plane
    /// carries: its reader offers every datagram to the data sink first (when there is one),
    /// and L2TP/IP runs on a raw socket shared per local address. Otherwise (a kernel
    /// tunnel's socket, whose data messages the kernel takes itself) nothing is offered to the
    /// sink: the kernel's L2TP/IP sockets strip the zero Session ID of control messages, which
    /// a sink would read as data.
    ///
    /// Errors: [`DriverError::Socket`] naming the address and the OS error.
    pub(crate) fn open(
        &mut self,
        local: SocketAddr,
        connect: Option<SocketAddr>,
        encap: Encap,
        conn_id: u32,
        user_space: bool,
    ) -> Result<usize, DriverError> {
        let err = |e: std::io::Error| DriverError::Socket {
            addr: local,
            message: e.to_string(),
        };
        let sink = self.sink.clone().filter(|_| user_space);
        let raw = encap == Encap::Ip && sink.is_some();
        let raw_key = SocketAddr::new(local.ip(), 0);
        if raw {
            // One raw socket per local address sees every L2TP/IP datagram to it: a second
            // one would deliver each datagram twice.
            if let Some(&i) = self.raw_ip.get(&raw_key) {
                return Ok(i);
            }
        }
        let s: std::net::UdpSocket = match encap {
            Encap::Ip if raw => {
                let domain = socket2::Domain::for_address(local);
                let s = socket2::Socket::new(
                    domain,
                    socket2::Type::RAW,
                    Some(socket2::Protocol::from(IPPROTO_L2TP)),
                )
                .map_err(err)?;
                s.bind(&raw_key.into()).map_err(err)?;
                // A raw socket is a datagram socket for reading and writing whole IP
                // payloads: the standard library's UDP type carries it (port 0 everywhere).
                std::net::UdpSocket::from(OwnedFd::from(s))
            }
            Encap::Udp => {
                let domain = socket2::Domain::for_address(local);
                let s = socket2::Socket::new(
                    domain,
                    socket2::Type::DGRAM,
                    Some(socket2::Protocol::UDP),
                )
                .map_err(err)?;
                s.set_reuse_address(true).map_err(err)?;
                s.bind(&local.into()).map_err(err)?;
                if let Some(peer) = connect {
                    s.connect(&peer.into()).map_err(err)?;
                }
                s.into()
            }
            Encap::Ip => {
                // An L2TP/IP socket is a datagram socket like UDP's; its addresses have the
                // layout of sockaddr_in / sockaddr_in6 with the port field unused, so the
                // standard library's UDP type carries it (port 0 in every address).
                let ts = l2tp_kernel::TunnelSocket::l2tp_ip_bound(
                    local.ip(),
                    conn_id,
                    connect.map(|p| p.ip()),
                )
                .map_err(|e| DriverError::Socket {
                    addr: local,
                    message: e.to_string(),
                })?;
                std::net::UdpSocket::from(OwnedFd::from(ts))
            }
        };
        s.set_nonblocking(true).map_err(err)?;
        // Data through this process (user-space data plane) over UDP: let the kernel hand a
        // run of datagrams of one flow over as one (UDP_GRO; split again in `recv_batch`).
        let gro = encap == Encap::Udp
            && sink.is_some()
            && nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::UdpGroSegment, &true)
                .is_ok();
        let sock = UdpSocket::from_std(s).map_err(err)?;
        let bound = sock.local_addr().unwrap_or(local);
        let sock = Arc::new(sock);
        let index = self.next;
        self.next += 1;
        // The kernel strips the 4-byte zero Session ID of L2TP/IP control messages before
        // user space reads them (and adds it on send); the codec wants it: put it back.
        // A raw socket reads the Session ID as it is on the wire (after the IPv4 header).
        let prefix: &'static [u8] = match encap {
            Encap::Ip if !raw => &[0, 0, 0, 0],
            _ => &[],
        };
        let reader = tokio::spawn(read_loop(
            sock.clone(),
            Reader {
                index,
                prefix,
                encap,
                strip_ipv4: raw && local.is_ipv4(),
                sink,
                gro,
            },
            self.inbox_tx.clone(),
        ));
        tracing::debug!(local = %bound, peer = ?connect, "socket open");
        self.table.insert(
            index,
            Sock {
                local: bound,
                encap,
                connected: connect,
                sock,
                reader,
                users: 0,
                listening: false,
                raw,
            },
        );
        if raw {
            self.raw_ip.insert(raw_key, index);
        }
        Ok(index)
    }

    /// Sends `items` (destination, L2TP message as the codec encodes it) on socket `i`,
    /// batched. Returns how many could not be sent.
    pub(crate) async fn send(&self, i: usize, items: &[(SocketAddr, Vec<u8>)]) -> u64 {
        let Some(s) = self.table.get(&i) else {
            return items.len() as u64;
        };
        // The kernel adds the zero Session ID of L2TP/IP control messages itself.
        // (A raw socket sends the Session ID as the codec wrote it.)
        let skip = match s.encap {
            Encap::Ip if !s.raw => 4,
            _ => 0,
        };
        let connected = s.connected.is_some() && s.encap == Encap::Ip && !s.raw;
        let mut failed = 0;
        let mut rest = items;
        while !rest.is_empty() {
            let n = rest.len().min(BATCH);
            let chunk = &rest[..n];
            let sent = s
                .sock
                .try_io(Interest::WRITABLE, || {
                    send_batch(&s.sock, chunk, skip, connected)
                })
                .unwrap_or(0);
            // What the batch did not take (a full buffer, an error on one datagram): one by
            // one, waiting for room.
            let Some(first) = chunk.get(sent) else {
                rest = &rest[n..];
                continue;
            };
            let body = first.1.get(skip..).unwrap_or_default();
            let r = if connected {
                s.sock.send(body).await
            } else {
                s.sock.send_to(body, first.0).await
            };
            if let Err(e) = r {
                failed += 1;
                tracing::debug!(to = %first.0, error = %e, "send failed");
            }
            rest = &rest[sent + 1..];
        }
        failed
    }
}

/// The process holding UDP port `local.port()` ("name (pid N)"), from /proc/net/udp[6] and
/// the processes' descriptors; `None` when that cannot be read.
fn holder_of(local: SocketAddr) -> Option<String> {
    let port = format!("{:04X}", local.port());
    let mut inodes = Vec::new();
    for table in ["/proc/net/udp", "/proc/net/udp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(addr), Some(inode)) = (f.get(1), f.get(9)) else {
                continue;
            };
            if addr.rsplit(':').next() == Some(port.as_str()) {
                inodes.push(format!("socket:[{inode}]"));
            }
        }
    }
    let me = std::process::id().to_string();
    for p in std::fs::read_dir("/proc").ok()?.flatten() {
        let pid = p.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let target = std::fs::read_link(fd.path()).unwrap_or_default();
            if inodes.iter().any(|i| target.as_os_str() == i.as_str()) {
                let comm = std::fs::read_to_string(p.path().join("comm")).unwrap_or_default();
                return Some(format!("{} (pid {pid})", comm.trim()));
            }
        }
    }
    None
}

/// Sets `SO_RCVBUFFORCE` (privileged: beyond `net.core.rmem_max`), falling back to
/// `SO_RCVBUF`. Returns the size the kernel reports now (bytes; it doubles the request for
/// its bookkeeping).
pub(crate) fn set_recv_buffer(sock: &impl std::os::fd::AsFd, size: usize) -> usize {
    use nix::sys::socket::{getsockopt, setsockopt, sockopt};
    if setsockopt(sock, sockopt::RcvBufForce, &size).is_err() {
        let _ = setsockopt(sock, sockopt::RcvBuf, &size);
    }
    getsockopt(sock, sockopt::RcvBuf).unwrap_or(0)
}

thread_local! {
    /// Read buffers, one set per thread (a read completes before the task yields).
    static SCRATCH: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

fn to_std(a: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::from(*v4)));
    }
    a.as_sockaddr_in6()
        .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
}

/// What a reader task needs to know of its socket.
struct Reader {
    index: usize,
    /// Bytes put before each datagram (the zero Session ID the kernel's L2TP/IP sockets
    /// strip from control messages).
    prefix: &'static [u8],
    encap: Encap,
    /// Raw IPv4 socket: each read starts with the IP header, removed here.
    strip_ipv4: bool,
    /// Data messages go here, straight from the read buffers (no copy into the batch).
    sink: Option<Arc<dyn DataSink>>,
    /// `UDP_GRO` is on: a read may hold several datagrams of one length (the last may be
    /// shorter), its segment size in a control message.
    gro: bool,
}

/// The L2TP part of a raw IPv4 read: what follows the IP header (IHL × 4 bytes); `None` for
/// anything shorter than its own header claims.
fn after_ipv4_header(d: &[u8]) -> Option<&[u8]> {
    let ihl = usize::from(d.first()? & 0x0f) * 4;
    if ihl < 20 {
        return None;
    }
    d.get(ihl..)
}

/// One `recvmmsg` of up to [`BATCH`] datagrams into a [`Batch`] (each prefixed by `prefix`),
/// data messages handed to the reader's sink on the way. `WouldBlock` when nothing is queued.
fn recv_batch(sock: &UdpSocket, r: &Reader) -> std::io::Result<Batch> {
    let prefix = r.prefix;
    SCRATCH.with(|scratch| {
        let mut bufs = scratch.borrow_mut();
        if bufs.len() < BATCH {
            bufs.resize_with(BATCH, || vec![0u8; MAX_DATAGRAM]);
        }
        // Per read: its length, the sender, and the length of each datagram in it (UDP_GRO;
        // 0: one datagram).
        let mut got: [(usize, Option<SocketAddr>, usize); BATCH] = [(0, None, 0); BATCH];
        let n = {
            let mut iovs: Vec<[IoSliceMut; 1]> = bufs
                .iter_mut()
                .map(|b| [IoSliceMut::new(b.as_mut_slice())])
                .collect();
            let cmsg = r.gro.then(|| nix::cmsg_space!(i32));
            let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(BATCH, cmsg);
            let res = nix::sys::socket::recvmmsg(
                sock.as_raw_fd(),
                &mut headers,
                iovs.iter_mut(),
                MsgFlags::MSG_DONTWAIT,
                None,
            )
            .map_err(std::io::Error::from)?;
            let mut n = 0;
            for (slot, r) in got.iter_mut().zip(res) {
                // A truncated datagram (larger than any L2TP control message may be) is
                // dropped here; the engine would reject it anyway.
                if !r.flags.contains(MsgFlags::MSG_TRUNC) {
                    let segment = r
                        .cmsgs()
                        .ok()
                        .and_then(|mut c| {
                            c.find_map(|m| match m {
                                ControlMessageOwned::UdpGroSegments(s) => usize::try_from(s).ok(),
                                _ => None,
                            })
                        })
                        .unwrap_or(0);
                    *slot = (r.bytes, r.address.as_ref().and_then(to_std), segment);
                }
                n += 1;
            }
            n
        };
        // With a sink most datagrams are data and never reach the batch: no allocation up
        // front (an all-data batch allocates nothing).
        let mut batch = Batch::default();
        if r.sink.is_none() {
            let total: usize = got[..n].iter().map(|(len, _, _)| prefix.len() + len).sum();
            batch.data.reserve_exact(total);
            batch.items.reserve_exact(n);
        }
        let datagrams = bufs
            .iter()
            .zip(&got[..n])
            .flat_map(|(buf, &(len, from, seg))| {
                let read = buf.get(..len).unwrap_or_default();
                // One datagram (even an empty one), or a UDP_GRO read cut at its segment size.
                let whole = (seg == 0 || seg >= len).then_some(read);
                let parts =
                    read.chunks(seg.max(1))
                        .take(if whole.is_some() { 0 } else { usize::MAX });
                whole.into_iter().chain(parts).map(move |d| (from, d))
            });
        for (from, data) in datagrams {
            let Some(from) = from else {
                continue;
            };
            let data = if r.strip_ipv4 {
                match after_ipv4_header(data) {
                    Some(d) => d,
                    None => continue,
                }
            } else {
                data
            };
            if let Some(sink) = &r.sink {
                if sink.input(r.encap, from, data) {
                    continue;
                }
            }
            let start = batch.data.len();
            batch.data.extend_from_slice(prefix);
            batch.data.extend_from_slice(data);
            batch.items.push((from, start, prefix.len() + data.len()));
        }
        if let Some(sink) = &r.sink {
            sink.end_of_batch();
        }
        Ok(batch)
    })
}

/// One `sendmmsg` of `items`; returns how many the kernel took (0 on `WouldBlock`, which
/// `try_io` turns into waiting for writability).
fn send_batch(
    sock: &UdpSocket,
    items: &[(SocketAddr, Vec<u8>)],
    skip: usize,
    connected: bool,
) -> std::io::Result<usize> {
    let iovs: Vec<[IoSlice; 1]> = items
        .iter()
        .map(|(_, p)| [IoSlice::new(p.get(skip..).unwrap_or_default())])
        .collect();
    let addrs: Vec<Option<SockaddrStorage>> = items
        .iter()
        .map(|(to, _)| (!connected).then(|| SockaddrStorage::from(*to)))
        .collect();
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(items.len(), None);
    let res = nix::sys::socket::sendmmsg(
        sock.as_raw_fd(),
        &mut headers,
        &iovs,
        &addrs,
        [],
        MsgFlags::MSG_DONTWAIT,
    )
    .map_err(std::io::Error::from)?;
    Ok(res.count())
}

/// Reads socket `index` until the driver goes away, forwarding batches.
async fn read_loop(sock: Arc<UdpSocket>, r: Reader, tx: mpsc::Sender<Inbound>) {
    let index = r.index;
    loop {
        if sock.readable().await.is_err() {
            return;
        }
        loop {
            match sock.try_io(Interest::READABLE, || recv_batch(&sock, &r)) {
                Ok(batch) => {
                    if batch.items.is_empty() {
                        continue;
                    }
                    if tx
                        .send(Inbound {
                            socket: index,
                            batch,
                        })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    // ICMP port unreachable surfaces as ECONNREFUSED on connected sockets:
                    // the engine's retransmission handles an absent peer.
                    tracing::debug!(socket = index, error = %e, "recv error");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A burst larger than one batch arrives whole, in batches of at most [`BATCH`], with
    /// sources and payloads intact.
    #[tokio::test]
    async fn bursts_arrive_in_batches() {
        let (mut socks, mut rx) = Sockets::new(SocketMode::Shared, 1 << 20);
        let i = socks
            .socket_for("127.0.0.1:0".parse().unwrap(), false)
            .unwrap();
        let local = socks.get(i).unwrap().local;
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let from = tx.local_addr().unwrap();
        for n in 0..100u8 {
            tx.send_to(&[n; 20], local).unwrap();
        }
        let mut seen = Vec::new();
        let mut batches = 0;
        while seen.len() < 100 {
            let ib = tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(ib.socket, i);
            assert!(ib.batch.len() <= BATCH);
            batches += 1;
            for (src, d) in ib.batch.iter() {
                assert_eq!(src, from);
                assert_eq!(d, &[d[0]; 20]);
                seen.push(d[0]);
            }
        }
        assert_eq!(seen, (0..100).collect::<Vec<u8>>());
        assert!(batches < 100, "{batches} batches for 100 datagrams");
        // Sending batches too: 70 datagrams back to the sender.
        let out: Vec<(SocketAddr, Vec<u8>)> = (0..70u8).map(|n| (from, vec![n; 8])).collect();
        assert_eq!(socks.send(i, &out).await, 0);
        tx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 64];
        for n in 0..70u8 {
            let (len, src) = tx.recv_from(&mut buf).unwrap();
            assert_eq!((len, src, buf[0]), (8, local, n));
        }
    }

    /// A listener's address held by someone else is refused, naming the holder; one of our
    /// own shared sockets is not "someone else".
    #[tokio::test]
    async fn a_held_listening_address_is_refused() {
        let (mut socks, _rx) = Sockets::new(SocketMode::Shared, 0);
        let other = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let held = other.local_addr().unwrap();
        let e = socks.check_exclusive(held).unwrap_err().to_string();
        assert!(e.contains("address in use"), "{e}");
        drop(other);
        socks.check_exclusive(held).unwrap();
        let i = socks.socket_for(held, false).unwrap();
        socks.set_listening(i);
        socks.check_exclusive(held).unwrap();
    }

    /// A per-tunnel socket is closed with its last user in every mode, and a shared one
    /// leaves the shared index with it (no socket or reader task outlives its tunnels).
    #[tokio::test]
    async fn sockets_close_with_their_last_user() {
        for mode in [SocketMode::Shared, SocketMode::PerTunnel] {
            let (mut socks, _rx) = Sockets::new(mode, 0);
            let a = socks
                .socket_for("127.0.0.1:0".parse().unwrap(), false)
                .unwrap();
            socks.add_user(a);
            let port = std::net::UdpSocket::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap();
            let b = socks.socket_for(port, false).unwrap();
            socks.add_user(b);
            let b2 = socks.socket_for(port, false).unwrap();
            socks.add_user(b2);
            assert_eq!(b == b2, mode == SocketMode::Shared);
            socks.release(a);
            socks.release(b);
            socks.release(b2);
            assert_eq!(socks.len(), 0, "{mode:?}");
            assert!(socks.shared.is_empty());
        }
    }
}
