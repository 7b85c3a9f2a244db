//! The user-space data plane: L2TP data messages carried by this process, for hosts whose
//! kernel has no L2TP (containers, minimal kernels): an L2TPv3 Ethernet pseudowire becomes a
//! TAP interface per session (Ethernet and Ethernet VLAN pseudowires: tagged frames pass
//! through the TAP device as they are).
//!
//! # Data flow
//! - **Network → TAP.** The driver's socket readers (`recvmmsg` batches) offer every datagram
//!   to [`DataSink::input`] before the control plane sees it. A data message is looked up by
//!   its key (v2: tunnel and session ID; v3: session ID, unique per host as in the kernel) in
//!   one hash map, checked and stripped by the session's sans-IO
//!   [`l2tp_proto::data::DataSession`] (cookie, L2-Specific Sublayer, sequence numbers,
//!   counters with the kernel's meaning), and its payload written to the TAP device with one
//!   non-blocking write. Consecutive TCP segments of one flow in a batch are first merged
//!   into one GSO frame (receive offload, `offload::Coalescer`): one write and one pass
//!   through the stack behind the TAP device for up to 64 of them.
//! - **TAP → network** (module `tx`). One task per session reads frames from its TAP device into a
//!   buffer with room for the header in front, has the session write the header in place,
//!   and sends the datagrams with one `sendmmsg` on the tunnel's socket (the control
//!   connection's own socket, so the peer sees data from the address and port it knows; for
//!   L2TP/IP a raw IP socket). The TAP device is opened with offloads (`IFF_VNET_HDR`, TSO):
//!   the stack behind it hands over TCP segments of up to 64 KiB, cut here into frames that
//!   fit the pseudowire and sent with UDP segmentation offload (`UDP_SEGMENT`, one `sendmsg`
//!   per 64 KiB) where the socket takes it.
//!
//! A full TAP queue or socket buffer drops the packet and counts it (`rx_errors` /
//! `tx_errors`), as the kernel does; nothing ever blocks the control plane.
//!
//! # PPP sessions
//! A PPP session (L2TPv2 LAC or LNS, L2TPv3 PPP pseudowire) is terminated here, no pppd: a
//! sans-IO [`l2tp_ppp::Ppp`] per session and a TUN interface per session (see [`ppp`] for the
//! flow). The LNS authenticates the peer (`ppp_auth`, through an [`Authenticator`]: by
//! default a [`SecretsAuthenticator`] over the session's `ppp_secrets` file, parsed once and
//! again only when it changes) and gives it an address from `ppp_pool` ([`AddressPool`], one per range,
//! the address returned when the session goes); the LAC authenticates itself with
//! `ppp_user` / `ppp_password` and takes the address it is given. When IPCP is up the TUN
//! interface gets our address with the peer's as point-to-point destination and comes up;
//! when PPP goes down the driver is told ([`DataPlane::take_events`]) and clears the session
//! with a CDN.
//!
//! # Sequencing and reordering
//! Sequence numbers are checked as the kernel does. With `reorder_timeout` set (and
//! sequence numbers required of the peer), packets that arrive ahead of their turn are held
//! in a bounded per-session [`ReorderQueue`] until the ones before them come or the timeout
//! passes (then the gap is given up on and they are delivered); without it, they are
//! dropped (`rx_seq_discards`), as the kernel does with `reorder_timeout` 0.
//!
//! # What is not carried
//! - IPv6 over PPP unless `ppp_ipv6 = true` (IPV6CP).
//! - PPP-AC (`pppac`, PPPoE bridged into L2TP): refused with [`DataPlaneError::Unsupported`].
//! - Address restrictions of the secrets file (its fourth field on) are not applied; the
//!   address comes from the pool. Pools of overlapping but different ranges are not
//!   coordinated with each other.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use l2tp_proto::data::{
    data_key, DataConfig, DataKey, DataSession, L2Spec, Received, ReorderQueue,
};
use l2tp_proto::wire::Encap;
use std::time::Instant;

use crate::dataplane::{
    DataPlane, DataPlaneError, DataPlaneEvent, DataSink, L2SpecType, Pseudowire, SessionHandle,
    SessionSpec, SessionStats, TunnelSpec, DATA_PLANE_EVENT_CAP,
};
use crate::ppp_session::{PppFactory, PppLink};
use crate::reaper::Reaped;

mod auth;
mod offload;
pub mod ppp;
mod tx;

pub use auth::{
    printable_class, AddressPool, AuthAnswer, AuthContext, AuthOutcome, Authenticator,
    Authorization, Lease, PendingVerdict, SecretsAuthenticator, SessionControl, SessionUp,
    TerminateCause,
};

/// Default name of a PPP session's TUN interface (the kernel picks the number).
const DEFAULT_PPP_NAME: &str = "ppp%d";

pub use crate::ppp_session::PPP_SERVER_NAME;

/// Largest frame read from a TAP device (bytes): an Ethernet frame of the largest IP packet.
const MAX_FRAME: usize = 65_535 + 18;

/// Default name of a session's TAP interface; the kernel picks the number (as for
/// `l2tpeth%d`).
const DEFAULT_NAME: &str = "l2tpeth%d";

/// Receive buffer of a tunnel socket carrying data through this process (bytes; the kernel
/// reports twice this). A TCP flow at a few Gbit/s fills the default 208 KiB in a millisecond.
const DATA_RECV_BUFFER: usize = 4 << 20;

/// Path MTU assumed for the underlying network when a session has no MTU of its own (bytes).
const UNDERLAY_MTU: usize = 1500;

/// One session's data path, shared by the receive side (socket readers) and its TAP task.
struct Path {
    session: Mutex<DataSession>,
    /// The TAP device (Ethernet) or TUN device (PPP); closed on the reaper thread.
    tap: Reaped<tun_rs::AsyncDevice>,
    /// PPP sessions: the PPP link terminated here.
    ppp: Option<PppLink>,
    /// The TAP device was opened with offloads (`IFF_VNET_HDR`, TSO/USO and checksum): every
    /// read and write starts with a `virtio_net_hdr` ([`offload`]).
    offload: bool,
    /// Sequenced sessions with a `reorder_timeout`: packets that came early, held.
    reorder: Option<Mutex<ReorderQueue>>,
    /// Segments of offloaded reads go out with UDP segmentation offload (`UDP_SEGMENT`):
    /// UDP encapsulation, until the socket refuses it once.
    udp_gso: std::sync::atomic::AtomicBool,
    /// The tunnel's peer: data from any other address is dropped (`rx_invalid`).
    peer: IpAddr,
    /// Frames decapsulated but refused by the TAP device (queue full): `rx_errors`.
    tap_drops: AtomicU64,
    /// Data messages with this session's ID from another address than the tunnel's peer:
    /// `rx_invalid`.
    wrong_peer: AtomicU64,
}

impl Path {
    /// The session's counters as `session_stats` reports them.
    fn stats_now(&self) -> Option<SessionStats> {
        let mut st = *self.session.lock().ok()?.stats();
        st.rx_errors += self.tap_drops.load(Ordering::Relaxed);
        st.rx_invalid += self.wrong_peer.load(Ordering::Relaxed);
        Some(st)
    }
}

/// The lookup table the socket readers use (the [`DataSink`]).
#[derive(Default)]
struct Paths {
    by_key: RwLock<HashMap<DataKey, Arc<Path>>>,
    /// Data messages for no known session (dropped).
    unknown: AtomicU64,
}

impl DataSink for Paths {
    fn input(&self, encap: Encap, from: SocketAddr, datagram: &[u8]) -> bool {
        // Control messages, and garbage the control plane counts as malformed, go on.
        let Some(key) = data_key(datagram, encap) else {
            return false;
        };
        let Ok(table) = self.by_key.read() else {
            return true;
        };
        let Some(path) = table.get(&key) else {
            self.unknown.fetch_add(1, Ordering::Relaxed);
            return true;
        };
        if from.ip() != path.peer {
            path.wrong_peer.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        let Ok(mut session) = path.session.lock() else {
            return true;
        };
        let Ok(received) = session.receive(datagram) else {
            return true; // counted by the session
        };
        drop(session);
        match (received, &path.reorder) {
            (Received::Deliver(payload), _) => path.deliver(payload),
            (Received::Ahead { ns, payload }, Some(queue)) => {
                if let (Ok(mut q), Ok(mut s)) = (queue.lock(), path.session.lock()) {
                    q.hold(&mut s, ns, datagram.len(), payload, Instant::now());
                }
            }
            (Received::Ahead { .. }, None) => {} // reordering is on only with a queue
        }
        if let Some(queue) = &path.reorder {
            // What the packet let through: held ones now in order, or waited long enough.
            let now = Instant::now();
            loop {
                let next = match (queue.lock(), path.session.lock()) {
                    (Ok(mut q), Ok(mut s)) if !q.is_empty() => q.pop_ready(&mut s, now),
                    _ => None,
                };
                let Some(held) = next else { break };
                path.deliver(&held.payload);
            }
        }
        true
    }

    fn end_of_batch(&self) {
        RX.with(|rx| {
            let mut rx = rx.borrow_mut();
            let rx = &mut *rx;
            if let Some(owner) = rx.owner.take() {
                rx.coalescer.flush(&mut |h, f| owner.write_offloaded(h, f));
            }
        });
    }
}

/// A socket reader thread's receive offload state: the run of TCP segments being merged and
/// the session whose device it goes to.
#[derive(Default)]
struct RxMerge {
    coalescer: offload::Coalescer,
    owner: Option<Arc<Path>>,
}

thread_local! {
    static RX: std::cell::RefCell<RxMerge> = std::cell::RefCell::new(RxMerge::default());
}

impl Path {
    /// Hands one received payload on: to the PPP engine (control frames) or the TUN device
    /// (IP), or to the TAP device: merged with its neighbours first when the device offloads
    /// (written when the run ends or at the end of the batch), else with one non-blocking
    /// `write` (tokio's readiness would refuse a write it has not yet seen an event for).
    fn deliver(self: &Arc<Self>, payload: &[u8]) {
        let payload = match &self.ppp {
            None => payload,
            Some(link) => match link.input(payload) {
                Some(ip) => ip,
                None => return, // the engine's, or dropped
            },
        };
        if self.offload {
            RX.with(|rx| {
                let mut rx = rx.borrow_mut();
                let rx = &mut *rx;
                if let Some(owner) = rx.owner.take_if(|o| !Arc::ptr_eq(o, self)) {
                    rx.coalescer.flush(&mut |h, f| owner.write_offloaded(h, f));
                }
                rx.owner.get_or_insert_with(|| self.clone());
                let mut write = |h: &[u8], f: &[u8]| self.write_offloaded(h, f);
                rx.coalescer.set_framing(self.framing(), &mut write);
                rx.coalescer.push(payload, &mut write);
            });
        } else if nix::unistd::write(AsFd::as_fd(&**self.tap), payload).is_err() {
            self.tap_drops.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// What the session's device frames start with: Ethernet (TAP) or IP (PPP's TUN).
    fn framing(&self) -> offload::Framing {
        match self.ppp {
            Some(_) => offload::Framing::Ip,
            None => offload::Framing::Ethernet,
        }
    }

    /// Writes one frame with its `virtio_net_hdr` to an offloading TAP device (`writev`,
    /// non-blocking); a refused write counts as `rx_errors`.
    fn write_offloaded(&self, hdr: &[u8], frame: &[u8]) {
        let iov = [std::io::IoSlice::new(hdr), std::io::IoSlice::new(frame)];
        if nix::sys::uio::writev(AsFd::as_fd(&**self.tap), &iov).is_err() {
            self.tap_drops.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A tunnel as this data plane holds it.
struct Tunnel {
    spec: TunnelSpec,
    /// The tunnel's socket (a duplicate of the driver's), for sending.
    socket: Option<Arc<std::net::UdpSocket>>,
    sessions: HashSet<u32>,
}

/// A session as this data plane holds it.
struct Session {
    key: DataKey,
    path: Arc<Path>,
    task: tokio::task::JoinHandle<()>,
    /// PPP (LNS): the peer's address, back to its pool when the session goes.
    _lease: Option<Lease>,
}

/// The user-space data plane (see the module documentation). Making a TAP/TUN device takes a
/// few ioctls, removing one an RCU grace period in the kernel: the driver runs it on its data
/// plane thread ([`DataPlane::blocking`]), inside the tokio runtime's context (each session's
/// task is spawned on the runtime). Used directly, it must be called inside a tokio runtime.
pub struct UserspaceDataPlane {
    paths: Arc<Paths>,
    tunnels: HashMap<u32, Tunnel>,
    sessions: HashMap<(u32, u32), Session>,
    /// PPP engines: address pools, secrets files, the authenticator.
    ppp: PppFactory,
    events_tx: tokio::sync::mpsc::Sender<DataPlaneEvent>,
    events_rx: Option<tokio::sync::mpsc::Receiver<DataPlaneEvent>>,
}

impl Default for UserspaceDataPlane {
    fn default() -> Self {
        let (events_tx, events_rx) = tokio::sync::mpsc::channel(DATA_PLANE_EVENT_CAP);
        UserspaceDataPlane {
            paths: Arc::default(),
            tunnels: HashMap::new(),
            sessions: HashMap::new(),
            ppp: PppFactory::default(),
            events_tx,
            events_rx: Some(events_rx),
        }
    }
}

impl UserspaceDataPlane {
    /// An empty data plane.
    pub fn new() -> Self {
        Self::default()
    }

    /// PPP LNS sessions ask `a` instead of reading their `ppp_secrets` file (a RADIUS
    /// client, say).
    pub fn set_authenticator(&mut self, a: Arc<dyn Authenticator>) {
        self.ppp.authenticator = Some(a);
    }

    /// Addresses of the pool `first..=last` in use (0 when no session used that pool).
    pub fn pool_in_use(&self, first: Ipv4Addr, last: Ipv4Addr) -> usize {
        self.ppp.pool_in_use(first, last)
    }

    /// Data messages dropped because no session has their ID.
    pub fn unknown_session_drops(&self) -> u64 {
        self.paths.unknown.load(Ordering::Relaxed)
    }
}

/// The MTU the kernel's l2tp_eth would give the session's interface over a 1500-byte path:
/// path MTU minus the outer IP header, the UDP header (UDP encapsulation), the L2TP header and
/// the inner Ethernet header.
fn default_mtu(peer: &SocketAddr, encap: Encap, header_len: usize) -> u16 {
    let ip = if peer.is_ipv4() { 20 } else { 40 };
    let udp = if encap == Encap::Udp { 8 } else { 0 };
    let mtu = UNDERLAY_MTU.saturating_sub(ip + udp + header_len + 14);
    u16::try_from(mtu.max(576)).unwrap_or(1280)
}

impl DataPlane for UserspaceDataPlane {
    /// Device creation and removal are system calls that can take milliseconds.
    fn blocking(&self) -> bool {
        true
    }

    fn create_tunnel(&mut self, spec: &TunnelSpec) -> Result<(), DataPlaneError> {
        self.create_tunnel_owning(spec, None)
    }

    fn create_tunnel_owning(
        &mut self,
        spec: &TunnelSpec,
        control: Option<OwnedFd>,
    ) -> Result<(), DataPlaneError> {
        spec.validate()?;
        if self.tunnels.contains_key(&spec.tunnel_id) {
            return Err(DataPlaneError::Exists(format!("tunnel {}", spec.tunnel_id)));
        }
        // The socket is non-blocking already (the flag belongs to the shared open file).
        let socket = control.map(|fd| Arc::new(std::net::UdpSocket::from(fd)));
        // The socket carries the tunnel's data through this process: a receive buffer for
        // bursts (a limit, not an allocation), as the listening socket has.
        if let Some(s) = &socket {
            let now = nix::sys::socket::getsockopt(&**s, nix::sys::socket::sockopt::RcvBuf);
            if now.is_ok_and(|n| n < DATA_RECV_BUFFER) {
                crate::driver::set_recv_buffer(&**s, DATA_RECV_BUFFER);
            }
        }
        self.tunnels.insert(
            spec.tunnel_id,
            Tunnel {
                spec: spec.clone(),
                socket,
                sessions: HashSet::new(),
            },
        );
        tracing::debug!(tunnel = spec.tunnel_id, peer = %spec.peer, "user-space tunnel created");
        Ok(())
    }

    fn delete_tunnel(&mut self, tunnel_id: u32) -> Result<(), DataPlaneError> {
        let Some(t) = self.tunnels.remove(&tunnel_id) else {
            return Err(DataPlaneError::NotFound(format!("tunnel {tunnel_id}")));
        };
        for sid in t.sessions {
            self.remove_session(tunnel_id, sid);
        }
        Ok(())
    }

    fn create_session(&mut self, spec: &SessionSpec) -> Result<SessionHandle, DataPlaneError> {
        spec.validate()?;
        let Some(tunnel) = self.tunnels.get(&spec.tunnel_id) else {
            return Err(DataPlaneError::NotFound(format!(
                "tunnel {}",
                spec.tunnel_id
            )));
        };
        if spec.pseudowire == Pseudowire::Pppac {
            return Err(DataPlaneError::Unsupported(
                "pseudowire pppac (PPPoE bridged into L2TP) on the user-space data plane".into(),
            ));
        }
        let is_ppp = spec.pseudowire == Pseudowire::Ppp;
        let Some(socket) = tunnel.socket.clone() else {
            return Err(DataPlaneError::Invalid(format!(
                "tunnel {} has no socket to send on",
                spec.tunnel_id
            )));
        };
        let encap = tunnel.spec.encap;
        let peer = tunnel.spec.peer;
        let session = DataSession::new(DataConfig {
            version: spec.version,
            encap,
            tunnel_id: spec.tunnel_id,
            peer_tunnel_id: spec.peer_tunnel_id,
            session_id: spec.session_id,
            peer_session_id: spec.peer_session_id,
            cookie: spec.cookie.clone(),
            peer_cookie: spec.peer_cookie.clone(),
            l2spec: match spec.l2spec {
                L2SpecType::None => L2Spec::None,
                L2SpecType::Default => L2Spec::Default,
            },
            send_seq: spec.send_seq,
            recv_seq: spec.recv_seq,
        })
        .map_err(|e| DataPlaneError::Invalid(e.to_string()))?
        .with_lns_mode(spec.lns_mode);
        // A reorder queue where the session receives sequence numbers and has a timeout
        // (the kernel's `reorder_timeout`; 0 or none: out-of-sequence packets are dropped).
        let reorder_timeout = spec
            .reorder_timeout
            .filter(|t| !t.is_zero() && spec.recv_seq);
        let session = session.with_reorder(reorder_timeout.is_some());
        let key = session.key();
        let taken = self
            .paths
            .by_key
            .read()
            .map_or(true, |t| t.contains_key(&key));
        if taken {
            return Err(DataPlaneError::Exists(format!(
                "session {}",
                spec.session_id
            )));
        }
        let header_len = session.header_len();
        let context = Arc::new(AuthContext {
            tunnel_id: spec.tunnel_id,
            session_id: spec.session_id,
            calling_number: spec.calling_number.clone(),
            called_number: spec.called_number.clone(),
            tunnel_peer: peer,
            tunnel_local: tunnel
                .spec
                .local
                .map(|a| a.ip())
                .filter(|ip| !ip.is_unspecified()),
        });
        let (ppp_parts, lease) = if is_ppp {
            let e = self.ppp.engine(spec)?;
            (Some((e.engine, e.role, e.authenticator)), e.lease)
        } else {
            (None, None)
        };
        let mtu = spec.mtu.unwrap_or_else(|| {
            let eth = default_mtu(&peer, encap, header_len);
            match &ppp_parts {
                // No Ethernet header; FF 03 and the Protocol field instead; at most our MRU.
                Some(_) => (eth + 14 - ppp::IP_PREFIX as u16).min(spec.ppp.mru.unwrap_or(1500)),
                None => eth,
            }
        });
        let default_name = if is_ppp {
            DEFAULT_PPP_NAME
        } else {
            DEFAULT_NAME
        };
        let name = spec.interface_name.as_deref().unwrap_or(default_name);
        let kind = if is_ppp { "TUN" } else { "TAP" };
        let op = |e: std::io::Error| DataPlaneError::Os {
            op: format!("{kind} device {name} for session {}", spec.session_id),
            message: e.to_string(),
        };
        let build = |offload: bool| {
            tun_rs::DeviceBuilder::new()
                .name(name)
                .layer(if is_ppp {
                    tun_rs::Layer::L3
                } else {
                    tun_rs::Layer::L2
                })
                .mtu(mtu)
                .offload(offload)
                // A PPP session's interface comes up with IPCP.
                .enable(!is_ppp)
                .build_async()
        };
        // Offloads (TSO: one read per 64 KiB of a TCP flow; merged writes), unless the
        // kernel refuses them.
        let (tap, offload) = match build(true) {
            Ok(tap) => (tap, true),
            Err(e) => {
                tracing::debug!(error = %e, "{kind} offloads refused; plain frames");
                (build(false).map_err(op)?, false)
            }
        };
        let ifname = tap.name().map_err(op)?;
        let path = Arc::new(Path {
            session: Mutex::new(session),
            tap: Reaped::new(tap),
            ppp: ppp_parts.map(|(engine, role, auth)| {
                PppLink::new(
                    engine,
                    role,
                    (spec.tunnel_id, spec.session_id),
                    auth,
                    context.clone(),
                    self.events_tx.clone(),
                )
            }),
            offload,
            reorder: reorder_timeout.map(|t| Mutex::new(ReorderQueue::new(t))),
            udp_gso: std::sync::atomic::AtomicBool::new(encap == Encap::Udp),
            peer: peer.ip(),
            tap_drops: AtomicU64::new(0),
            wrong_peer: AtomicU64::new(0),
        });
        let task = if is_ppp {
            tokio::spawn(crate::ppp_session::run(Arc::new(ppp::UserspacePpp {
                path: path.clone(),
                socket,
                peer,
                mtu,
            })))
        } else {
            tokio::spawn(tx::tap_to_tunnel(path.clone(), socket, peer))
        };
        if let Ok(mut t) = self.paths.by_key.write() {
            t.insert(key, path.clone());
        }
        if let Some(t) = self.tunnels.get_mut(&spec.tunnel_id) {
            t.sessions.insert(spec.session_id);
        }
        self.sessions.insert(
            (spec.tunnel_id, spec.session_id),
            Session {
                key,
                path,
                task,
                _lease: lease,
            },
        );
        tracing::debug!(
            tunnel = spec.tunnel_id,
            session = spec.session_id,
            interface = %ifname,
            mtu,
            "user-space session created"
        );
        Ok(SessionHandle {
            interface_name: Some(ifname),
            ppp_channel: None,
        })
    }

    fn delete_session(&mut self, tunnel_id: u32, session_id: u32) -> Result<(), DataPlaneError> {
        if !self.remove_session(tunnel_id, session_id) {
            return Err(DataPlaneError::NotFound(format!(
                "session {session_id} in tunnel {tunnel_id}"
            )));
        }
        if let Some(t) = self.tunnels.get_mut(&tunnel_id) {
            t.sessions.remove(&session_id);
        }
        Ok(())
    }

    fn session_stats(&mut self, tunnel_id: u32, session_id: u32) -> Option<SessionStats> {
        self.sessions
            .get(&(tunnel_id, session_id))?
            .path
            .stats_now()
    }

    fn data_sink(&self) -> Option<Arc<dyn DataSink>> {
        Some(self.paths.clone())
    }

    fn take_events(&mut self) -> Option<tokio::sync::mpsc::Receiver<DataPlaneEvent>> {
        self.events_rx.take()
    }
}

impl UserspaceDataPlane {
    /// Removes a session's lookup entry, stops its TAP task and closes its TAP device (the
    /// interface goes with the last descriptor). Whether it existed.
    fn remove_session(&mut self, tunnel_id: u32, session_id: u32) -> bool {
        let Some(s) = self.sessions.remove(&(tunnel_id, session_id)) else {
            return false;
        };
        if let Ok(mut t) = self.paths.by_key.write() {
            t.remove(&s.key);
        }
        s.task.abort();
        if let Some(a) = s.path.ppp.as_ref().and_then(|l| l.authenticator()) {
            if let Some(st) = s.path.stats_now() {
                a.session_gone(tunnel_id, session_id, st);
            }
        }
        true
    }
}

impl Drop for UserspaceDataPlane {
    fn drop(&mut self) {
        for s in self.sessions.values() {
            s.task.abort();
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod ppp_tests;
