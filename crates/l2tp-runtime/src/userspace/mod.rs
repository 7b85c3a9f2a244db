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
//!   non-blocking write. No allocation and no copy besides the write.
//! - **TAP → network.** One task per session reads frames from its TAP device into a buffer
//!   with room for the header in front, has the session write the header in place, and sends
//!   the datagram on the tunnel's socket (the control connection's own socket, so the peer
//!   sees data from the address and port it knows; for L2TP/IP a raw IP socket).
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
//! # What is not carried
//! - IPv6 over PPP: IPV6CP is not negotiated (IPv6 frames are dropped).
//! - PPP-AC (`pppac`, PPPoE bridged into L2TP): refused with [`DataPlaneError::Unsupported`].
//! - Address restrictions of the secrets file (its fourth field on) are not applied; the
//!   address comes from the pool. Pools of overlapping but different ranges are not
//!   coordinated with each other.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use l2tp_proto::data::{data_key, DataConfig, DataKey, DataSession, L2Spec};
use l2tp_proto::wire::Encap;

use crate::dataplane::{
    DataPlane, DataPlaneError, DataPlaneEvent, DataSink, L2SpecType, Pseudowire, SessionHandle,
    SessionSpec, SessionStats, TunnelSpec, DATA_PLANE_EVENT_CAP,
};
use crate::ppp_session::{PppFactory, PppLink};
use crate::reaper::Reaped;

mod auth;
pub mod ppp;

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

/// Path MTU assumed for the underlying network when a session has no MTU of its own (bytes).
const UNDERLAY_MTU: usize = 1500;

/// One session's data path, shared by the receive side (socket readers) and its TAP task.
struct Path {
    session: Mutex<DataSession>,
    /// The TAP device (Ethernet) or TUN device (PPP); closed on the reaper thread.
    tap: Reaped<tun_rs::AsyncDevice>,
    /// PPP sessions: the PPP link terminated here.
    ppp: Option<PppLink>,
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
        let Ok(payload) = session.decapsulate(datagram) else {
            return true; // counted by the session
        };
        drop(session);
        let payload = match &path.ppp {
            None => payload,
            Some(link) => match link.input(payload) {
                Some(ip) => ip,
                None => return true, // the engine's, or dropped
            },
        };
        // A plain non-blocking write(2) on the device's own descriptor: tokio's readiness
        // would refuse a write it has not yet seen an event for.
        if nix::unistd::write(AsFd::as_fd(&**path.tap), payload).is_err() {
            path.tap_drops.fetch_add(1, Ordering::Relaxed);
        }
        true
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
        let tap = tun_rs::DeviceBuilder::new()
            .name(name)
            .layer(if is_ppp {
                tun_rs::Layer::L3
            } else {
                tun_rs::Layer::L2
            })
            .mtu(mtu)
            // A PPP session's interface comes up with IPCP.
            .enable(!is_ppp)
            .build_async()
            .map_err(op)?;
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
            peer: peer.ip(),
            tap_drops: AtomicU64::new(0),
            wrong_peer: AtomicU64::new(0),
        });
        let task = if is_ppp {
            tokio::spawn(crate::ppp_session::run(Arc::new(ppp::UserspacePpp {
                path: path.clone(),
                socket,
                peer,
            })))
        } else {
            tokio::spawn(tap_to_tunnel(path.clone(), socket, peer))
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

/// Frames read from a TAP device and sent with one `sendmmsg`, at most.
const TX_BATCH: usize = 32;

thread_local! {
    /// The TAP → network batch buffers, per worker thread (not per session: 100,000 idle
    /// sessions hold no buffer): [`TX_BATCH`] buffers of a header's room plus a frame.
    static TX_SCRATCH: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A session's TAP → network direction: wait until the TAP device has frames, then (without
/// yielding) read up to [`TX_BATCH`] of them, each after the header room, let the session write
/// each header in place, and send them all with one `sendmmsg`. Runs until the session is
/// deleted (aborted) or its TAP device fails.
async fn tap_to_tunnel(path: Arc<Path>, socket: Arc<std::net::UdpSocket>, peer: SocketAddr) {
    loop {
        if let Err(e) = path.tap.readable().await {
            tracing::debug!(error = %e, "TAP device failed; session stops sending");
            return;
        }
        TX_SCRATCH.with(|scratch| {
            let mut bufs = scratch.borrow_mut();
            forward_batch(&path, &socket, peer, &mut bufs);
        });
    }
}

/// Reads what the TAP device has queued (up to [`TX_BATCH`] frames), encapsulates and sends it.
fn forward_batch(
    path: &Path,
    socket: &std::net::UdpSocket,
    peer: SocketAddr,
    bufs: &mut Vec<Vec<u8>>,
) {
    // (Fixed for Ethernet; a v2 LAC session's follows the peer's sequencing.)
    let Some(h) = path.session.lock().ok().map(|s| s.header_len()) else {
        return;
    };
    if bufs.len() < TX_BATCH {
        bufs.resize_with(TX_BATCH, || {
            vec![0u8; DataSession::MAX_HEADER_LEN + MAX_FRAME]
        });
    }
    // PPP: FF 03 and the Protocol field between the L2TP header and the IP packet; each IP
    // version passes only while its NCP is open.
    let (extra, v4_up, v6_up) = match &path.ppp {
        Some(l) => (
            ppp::IP_PREFIX,
            l.ipv4_up.load(std::sync::atomic::Ordering::Relaxed),
            l.ipv6_up.load(std::sync::atomic::Ordering::Relaxed),
        ),
        None => (0, false, false),
    };
    let mut lens = [0usize; TX_BATCH];
    let mut n = 0;
    for (buf, len) in bufs.iter_mut().zip(lens.iter_mut()) {
        let Some(room) = buf.get_mut(h + extra..) else {
            break;
        };
        match path.tap.try_recv(room) {
            Ok(got) => {
                *len = h + extra + got;
                n += 1;
            }
            Err(_) => break, // WouldBlock (readiness cleared) or a failed device
        }
        if extra > 0 {
            // IPv4 (IPCP open) or IPv6 (IPV6CP open); anything else read from the TUN
            // device is dropped.
            let proto = match buf.get(h + extra).map(|b| b >> 4) {
                Some(4) if v4_up => Some([0x00, 0x21]),
                Some(6) if v6_up => Some([0x00, 0x57]),
                _ => None,
            };
            match (buf.get_mut(h..h + extra), proto) {
                (Some(p), Some([a, b])) => p.copy_from_slice(&[0xff, 0x03, a, b]),
                _ => *len = 0,
            }
        }
    }
    if n == 0 {
        return;
    }
    let Ok(mut session) = path.session.lock() else {
        return;
    };
    if session.header_len() != h {
        // The peer switched sequencing meanwhile (v2 LAC): the room is wrong; drop these.
        return;
    }
    let mut ready: [&[u8]; TX_BATCH] = [&[]; TX_BATCH];
    let mut k = 0;
    for (buf, &len) in bufs.iter_mut().zip(&lens[..n]) {
        if len == 0 {
            continue;
        }
        let Some(datagram) = buf.get_mut(..len) else {
            continue;
        };
        if session.encapsulate(datagram).is_ok() {
            ready[k] = datagram;
            k += 1;
        }
    }
    drop(session);
    let sent = send_all(socket, &ready[..k], peer);
    if sent < k {
        if let Ok(mut s) = path.session.lock() {
            for _ in sent..k {
                s.count_tx_error();
            }
        }
    }
}

/// Sends `datagrams` to `peer` with `sendmmsg` (non-blocking); returns how many the kernel
/// took. What a full socket buffer refuses is dropped, as the kernel drops it.
fn send_all(socket: &std::net::UdpSocket, datagrams: &[&[u8]], peer: SocketAddr) -> usize {
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

#[cfg(test)]
mod tests;

#[cfg(test)]
mod ppp_tests;
