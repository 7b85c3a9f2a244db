//! [`KernelDataPlane`]: the [`DataPlane`] on the Linux kernel's L2TP subsystem, through the
//! `l2tp-kernel` crate (generic netlink `l2tp` family, PPPoL2TP sockets).
//!
//! - Dynamic tunnels are *managed*: the kernel takes the runtime's connected UDP socket
//!   (`TunnelSpec::control_fd`). Static tunnels are *unmanaged*: the kernel opens its own
//!   socket from the configured addresses, as `ip l2tp add tunnel` does.
//! - Ethernet sessions get an `l2tpethN` (or the configured) interface; PPP sessions get a
//!   PPPoL2TP socket, whose descriptor pppd's `pppol2tp.so` plugin takes
//!   ([`DataPlane::ppp_fd`]), and whose PPP channel index is reported in the handle. With
//!   `ppp = "builtin"` no pppd: this process runs PPP on the session's `/dev/ppp` channel and
//!   a `pppN` unit of its own (`kernel_ppp`), reporting to the driver through
//!   [`DataPlane::take_events`] as the user-space data plane does.
//! - Deleting a tunnel deletes its sessions; dropping the data plane deletes everything it
//!   created (a crash is handled at the next start by [`KernelDataPlane::purge`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

use l2tp_kernel as k;
use l2tp_proto::wire::{Encap, Version};

use crate::config::PppMode;
use crate::config::{L2SpecType, Pseudowire};
use crate::dataplane::{
    DataPlane, DataPlaneError, DataPlaneEvent, SessionHandle, SessionSpec, SessionStats,
    TunnelSpec, DATA_PLANE_EVENT_CAP,
};
use crate::kernel_ppp::KernelPppParts;
use crate::ppp_session::{PppFactory, PppLink};

struct KTunnel {
    version: Version,
    peer: SocketAddr,
    /// The managed tunnel's control socket (our own duplicate: PPPoL2TP sockets name it).
    control: Option<std::os::fd::OwnedFd>,
    /// Its sessions (deleting the tunnel drops them without a scan of every session).
    sessions: HashMap<u32, KSession>,
}

struct KSession {
    /// PPP terminated in this process (`ppp = "builtin"`): its task and address lease. Declared
    /// before `pppox`: dropped first (the task is aborted; its files close on the runtime).
    builtin: Option<BuiltinPpp>,
    pppox: Option<k::PppoL2tpSocket>,
    /// The /dev/ppp channel handle that holds a bridge to another session's channel.
    bridge: Option<k::PppChannel>,
    /// Pseudowire pppac: the PPPoE session socket whose channel is bridged to this session's
    /// (the bridge itself is held in `bridge`).
    pppoe: Option<k::PppoeSocket>,
}

/// A session's built-in PPP: the task running it (aborted when the session goes: the
/// unit's and the channel's files close, `pppN` goes) and the peer's pool address (LNS).
struct BuiltinPpp {
    task: tokio::task::JoinHandle<()>,
    _lease: Option<crate::userspace::Lease>,
}

impl Drop for BuiltinPpp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The Linux kernel data plane. Blocking calls (netlink round trips of a few microseconds).
pub struct KernelDataPlane {
    nl: k::L2tpNetlink,
    tunnels: HashMap<u32, KTunnel>,
    /// Where the IDs of the kernel tunnels we hold are recorded, so that the next start can
    /// remove what a killed process left behind.
    state: Option<PathBuf>,
    /// The unmanaged (static) tunnels: the state file lists these alone, since only they
    /// outlive a killed process (config-bound, so writing it costs nothing per dynamic tunnel).
    unmanaged: std::collections::BTreeSet<u32>,
    /// Built-in PPP (`ppp = "builtin"`): engines, pools, secrets, the authenticator.
    ppp: PppFactory,
    /// The runtime built-in PPP sessions' tasks run on (this data plane's calls run on a
    /// thread of their own): the one current when the data plane was opened.
    runtime: Option<tokio::runtime::Handle>,
    events_tx: tokio::sync::mpsc::Sender<DataPlaneEvent>,
    events_rx: Option<tokio::sync::mpsc::Receiver<DataPlaneEvent>>,
}

fn map_err(e: k::Error) -> DataPlaneError {
    match e {
        k::Error::Exists { .. } => DataPlaneError::Exists(e.to_string()),
        k::Error::NotFound { .. } => DataPlaneError::NotFound(e.to_string()),
        k::Error::ModuleMissing { .. } => DataPlaneError::Unsupported(e.to_string()),
        k::Error::Invalid(m) => DataPlaneError::Invalid(m),
        other => DataPlaneError::Os {
            op: "kernel".into(),
            message: other.to_string(),
        },
    }
}

impl KernelDataPlane {
    /// Opens the generic netlink `l2tp` family.
    ///
    /// Errors: [`DataPlaneError::Unsupported`] naming the missing module (`l2tp_netlink`) when
    /// the kernel has no L2TP support loaded.
    ///
    /// Built-in PPP sessions (`ppp = "builtin"`) run their tasks on the tokio runtime current
    /// here; opened outside one, they are refused ([`DataPlaneError::Unsupported`]).
    pub fn open() -> Result<Self, DataPlaneError> {
        let (events_tx, events_rx) = tokio::sync::mpsc::channel(DATA_PLANE_EVENT_CAP);
        Ok(KernelDataPlane {
            nl: k::L2tpNetlink::open().map_err(map_err)?,
            tunnels: HashMap::new(),
            state: None,
            unmanaged: Default::default(),
            ppp: PppFactory::default(),
            runtime: tokio::runtime::Handle::try_current().ok(),
            events_tx,
            events_rx: Some(events_rx),
        })
    }

    /// Built-in PPP LNS sessions ask `a` instead of reading their `ppp_secrets` file (a
    /// RADIUS client, say).
    pub fn set_authenticator(&mut self, a: std::sync::Arc<dyn crate::userspace::Authenticator>) {
        self.ppp.authenticator = Some(a);
    }

    /// Addresses of the pool `first..=last` in use by built-in PPP sessions (0 when no
    /// session used that pool).
    pub fn pool_in_use(&self, first: std::net::Ipv4Addr, last: std::net::Ipv4Addr) -> usize {
        self.ppp.pool_in_use(first, last)
    }

    /// Like [`KernelDataPlane::open`], recording the tunnels it creates in `state` (one ID per
    /// line). Tunnels listed there by a previous run — one killed before it could clean up —
    /// are deleted first; unmanaged (static) tunnels would otherwise outlive the process and
    /// make the next create fail with "exists". Returns the data plane and how many stale
    /// tunnels it removed.
    pub fn open_with_state(state: PathBuf) -> Result<(Self, usize), DataPlaneError> {
        let mut dp = Self::open()?;
        let stale: Vec<u32> = std::fs::read_to_string(&state)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        let removed = dp.purge(&stale);
        if let Some(dir) = state.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        dp.state = Some(state);
        dp.save_state();
        Ok((dp, removed))
    }

    fn save_state(&self) {
        let Some(path) = &self.state else { return };
        let mut text = String::new();
        for id in &self.unmanaged {
            text.push_str(&format!("{id}\n"));
        }
        if let Err(e) = std::fs::write(path, text) {
            tracing::warn!(path = %path.display(), error = %e, "cannot write data plane state");
        }
    }

    /// Deletes kernel tunnels with the given IDs that this process does not hold: what a
    /// previous run of the daemon left behind when it was killed (managed tunnels vanish with
    /// their socket; unmanaged ones — static tunnels — would survive). Returns how many it
    /// removed.
    pub fn purge(&mut self, tunnel_ids: &[u32]) -> usize {
        let Ok(list) = self.nl.list_tunnels() else {
            return 0;
        };
        let mut n = 0;
        for t in list {
            if tunnel_ids.contains(&t.tunnel_id)
                && !self.tunnels.contains_key(&t.tunnel_id)
                && self.nl.delete_tunnel(t.tunnel_id).is_ok()
            {
                tracing::info!(tunnel_id = t.tunnel_id, "removed stale kernel tunnel");
                n += 1;
            }
        }
        n
    }
}

impl DataPlane for KernelDataPlane {
    fn create_tunnel(&mut self, spec: &TunnelSpec) -> Result<(), DataPlaneError> {
        self.create_tunnel_owning(spec, None)
    }

    fn create_tunnel_owning(
        &mut self,
        spec: &TunnelSpec,
        control: Option<std::os::fd::OwnedFd>,
    ) -> Result<(), DataPlaneError> {
        spec.validate()?;
        let version = match spec.version {
            Version::V2 => 2,
            Version::V3 => 3,
        };
        let ks = match (spec.control_fd, spec.encap) {
            (Some(fd), Encap::Udp) => k::TunnelSpec::managed(
                spec.tunnel_id,
                spec.peer_tunnel_id,
                version,
                fd,
                k::EncapType::Udp,
            ),
            (Some(fd), Encap::Ip) => k::TunnelSpec::managed(
                spec.tunnel_id,
                spec.peer_tunnel_id,
                version,
                fd,
                k::EncapType::Ip,
            ),
            (None, encap) => {
                let local = spec.local.ok_or_else(|| {
                    DataPlaneError::Invalid("an unmanaged tunnel needs a local address".into())
                })?;
                let mut ks = match encap {
                    Encap::Udp => k::TunnelSpec::unmanaged_udp(
                        spec.tunnel_id,
                        spec.peer_tunnel_id,
                        local,
                        spec.peer,
                    ),
                    Encap::Ip => k::TunnelSpec::unmanaged_ip(
                        spec.tunnel_id,
                        spec.peer_tunnel_id,
                        local.ip(),
                        spec.peer.ip(),
                    ),
                };
                ks.version = version;
                if let k::TunnelTransport::Udp { checksum, .. } = &mut ks.transport {
                    if spec.peer.is_ipv4() {
                        *checksum = Some(spec.udp_checksum);
                    }
                }
                ks
            }
        };
        self.nl.create_tunnel(&ks).map_err(map_err)?;
        let unmanaged = spec.control_fd.is_none();
        self.tunnels.insert(
            spec.tunnel_id,
            KTunnel {
                version: spec.version,
                peer: spec.peer,
                control,
                sessions: HashMap::new(),
            },
        );
        // Only unmanaged tunnels outlive the process: the state file lists just those (the
        // configured static tunnels), so writing it costs nothing per dynamic tunnel.
        if unmanaged {
            self.unmanaged.insert(spec.tunnel_id);
            self.save_state();
        }
        Ok(())
    }

    fn delete_tunnel(&mut self, tunnel_id: u32) -> Result<(), DataPlaneError> {
        let held = self.tunnels.remove(&tunnel_id);
        if self.unmanaged.remove(&tunnel_id) {
            self.save_state();
        }
        match self.nl.delete_tunnel(tunnel_id) {
            Ok(()) => Ok(()),
            // A managed tunnel may be gone already (its socket closed first).
            Err(k::Error::NotFound { .. }) if held.is_some() => Ok(()),
            Err(e) => Err(map_err(e)),
        }
    }

    fn create_session(&mut self, spec: &SessionSpec) -> Result<SessionHandle, DataPlaneError> {
        spec.validate()?;
        let t = self.tunnels.get(&spec.tunnel_id).ok_or_else(|| {
            DataPlaneError::NotFound(format!("tunnel {} in the data plane", spec.tunnel_id))
        })?;
        let mut ks = match spec.pseudowire {
            Pseudowire::Eth => {
                k::SessionSpec::eth(spec.tunnel_id, spec.session_id, spec.peer_session_id)
            }
            // pppac is a PPP session for the kernel's L2TP (L2TPv2 carries no pseudowire type
            // on the wire); what differs is the far end of its PPP channel: a PPPoE session.
            Pseudowire::Ppp | Pseudowire::Pppac => k::SessionSpec::ppp(
                spec.tunnel_id,
                spec.peer_tunnel_id,
                spec.session_id,
                spec.peer_session_id,
            ),
            Pseudowire::EthVlan => {
                return Err(DataPlaneError::Unsupported(
                    "pseudowire eth_vlan in the kernel (l2tp_eth carries Ethernet only; use \
                     dataplane = \"userspace\")"
                        .into(),
                ))
            }
        };
        if spec.version == Version::V3 {
            ks.l2spec = Some(match spec.l2spec {
                L2SpecType::None => k::L2SpecType::None,
                L2SpecType::Default => k::L2SpecType::Default,
            });
            ks.cookie = spec.cookie.clone();
            ks.peer_cookie = spec.peer_cookie.clone();
            ks.ifname = spec.interface_name.clone();
        }
        ks.send_seq = Some(spec.send_seq);
        ks.recv_seq = Some(spec.recv_seq);
        if spec.lns_mode {
            ks.lns_mode = Some(true);
        }
        ks.reorder_timeout = spec.reorder_timeout;
        ks.mtu = spec.mtu;
        let builtin = spec.pseudowire == Pseudowire::Ppp && spec.ppp.mode == PppMode::Builtin;
        // Built-in PPP: the engine first (a refused pool or secrets file leaves nothing).
        let engine = if builtin {
            if self.runtime.is_none() {
                return Err(DataPlaneError::Unsupported(
                    "ppp = \"builtin\" on a kernel data plane opened outside a tokio runtime"
                        .into(),
                ));
            }
            Some(self.ppp.engine(spec)?)
        } else {
            None
        };
        self.nl.create_session(&ks).map_err(map_err)?;
        let mut handle = SessionHandle::default();
        let mut pppox = None;
        let mut pppoe = None;
        let mut bridge = None;
        let mut builtin_ppp = None;
        if matches!(spec.pseudowire, Pseudowire::Ppp | Pseudowire::Pppac) {
            let Some(fd) = t.control.as_ref().map(|c| c.as_raw_fd()) else {
                let _ = self.nl.delete_session(spec.tunnel_id, spec.session_id);
                return Err(DataPlaneError::Unsupported(
                    "PPP sessions need a managed tunnel (dynamic)".into(),
                ));
            };
            let addr = k::PppoL2tpAddr {
                version: if t.version == Version::V2 { 2 } else { 3 },
                tunnel_fd: fd,
                peer: t.peer,
                tunnel_id: spec.tunnel_id,
                session_id: spec.session_id,
                peer_tunnel_id: spec.peer_tunnel_id,
                peer_session_id: spec.peer_session_id,
            };
            let sock = match k::PppoL2tpSocket::connect(&addr) {
                Ok(s) => s,
                Err(e) => {
                    // Nothing half-created: the netlink session goes too.
                    let _ = self.nl.delete_session(spec.tunnel_id, spec.session_id);
                    return Err(map_err(e));
                }
            };
            if spec.lns_mode {
                let _ = sock.set_lns_mode(true);
            }
            handle.ppp_channel = sock.channel_index().ok();
            if let Some((pppoe_sid, mac)) = spec.pppoe {
                match bridge_pppoe(&sock, pppoe_sid, mac, spec.interface_name.as_deref()) {
                    Ok((s, ch)) => {
                        handle.interface_name = spec.interface_name.clone();
                        pppoe = Some(s);
                        bridge = Some(ch);
                    }
                    Err(e) => {
                        drop(sock);
                        let _ = self.nl.delete_session(spec.tunnel_id, spec.session_id);
                        return Err(e);
                    }
                }
            } else if let Some(e) = engine {
                match self.start_builtin(spec, &sock, e) {
                    Ok((b, ifname)) => {
                        builtin_ppp = Some(b);
                        handle.interface_name = Some(ifname);
                    }
                    Err(err) => {
                        drop(sock);
                        let _ = self.nl.delete_session(spec.tunnel_id, spec.session_id);
                        return Err(err);
                    }
                }
            }
            pppox = Some(sock);
        } else if let Ok(info) = self.nl.get_session(spec.tunnel_id, spec.session_id) {
            handle.interface_name = info.ifname;
        }
        if let Some(t) = self.tunnels.get_mut(&spec.tunnel_id) {
            t.sessions.insert(
                spec.session_id,
                KSession {
                    builtin: builtin_ppp,
                    pppox,
                    bridge,
                    pppoe,
                },
            );
        }
        Ok(handle)
    }

    fn delete_session(&mut self, tunnel_id: u32, session_id: u32) -> Result<(), DataPlaneError> {
        let held = self
            .tunnels
            .get_mut(&tunnel_id)
            .and_then(|t| t.sessions.remove(&session_id));
        // Closing a PPPoL2TP socket removes its session; delete via netlink in any case.
        drop(held);
        match self.nl.delete_session(tunnel_id, session_id) {
            Ok(()) | Err(k::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(map_err(e)),
        }
    }

    fn session_stats(&mut self, tunnel_id: u32, session_id: u32) -> Option<SessionStats> {
        let s = self.nl.get_session(tunnel_id, session_id).ok()?.stats;
        Some(convert_stats(&s))
    }

    fn bridge_sessions(&mut self, a: (u32, u32), b: (u32, u32)) -> Result<(), DataPlaneError> {
        let index = |dp: &Self, (t, s): (u32, u32)| -> Result<u32, DataPlaneError> {
            dp.session(t, s)
                .and_then(|k| k.pppox.as_ref())
                .ok_or_else(|| DataPlaneError::NotFound(format!("PPP session {s} in tunnel {t}")))?
                .channel_index()
                .map_err(map_err)
        };
        let (ia, ib) = (index(self, a)?, index(self, b)?);
        let ch = k::PppChannel::attach(ia).map_err(map_err)?;
        ch.bridge(ib).map_err(map_err)?;
        tracing::info!(?a, ?b, channels = ?(ia, ib), "PPP channels bridged");
        if let Some(k) = self
            .tunnels
            .get_mut(&a.0)
            .and_then(|t| t.sessions.get_mut(&a.1))
        {
            k.bridge = Some(ch);
        }
        Ok(())
    }

    /// `None` for a built-in PPP session: no pppd takes it.
    fn ppp_fd(&self, tunnel_id: u32, session_id: u32) -> Option<i32> {
        // A pppac session's PPP runs between the PPPoE client and the LNS, a built-in one's
        // in this process: no pppd for either.
        self.session(tunnel_id, session_id)
            .filter(|s| s.pppoe.is_none() && s.builtin.is_none())
            .and_then(|s| s.pppox.as_ref())
            .map(|p| p.as_raw_fd())
    }

    fn sessions_stats(&mut self, keys: &[(u32, u32)]) -> HashMap<(u32, u32), SessionStats> {
        // One dump answers for every session (a GET per session would be 100,000 round
        // trips at scale); only the sessions asked about are returned.
        let Ok(all) = self.nl.list_sessions() else {
            return HashMap::new();
        };
        let wanted: std::collections::HashSet<(u32, u32)> = keys.iter().copied().collect();
        all.into_iter()
            .filter_map(|i| {
                let key = (i.tunnel_id, i.session_id);
                wanted
                    .contains(&key)
                    .then(|| (key, convert_stats(&i.stats)))
            })
            .collect()
    }

    fn blocking(&self) -> bool {
        true
    }

    fn take_events(&mut self) -> Option<tokio::sync::mpsc::Receiver<DataPlaneEvent>> {
        self.events_rx.take()
    }
}

/// Pseudowire pppac: connect a PPPoE session socket to (`pppoe_sid`, `mac`, `dev`) and bridge
/// its PPP channel with the PPPoL2TP socket's (`PPPIOCBRIDGECHAN`, which links both
/// directions). Returns the socket and the /dev/ppp handle holding the bridge; dropping them
/// undoes both.
fn bridge_pppoe(
    l2tp: &k::PppoL2tpSocket,
    pppoe_sid: u16,
    mac: [u8; 6],
    dev: Option<&str>,
) -> Result<(k::PppoeSocket, k::PppChannel), DataPlaneError> {
    let dev = dev.ok_or_else(|| {
        DataPlaneError::Invalid("pseudowire pppac needs the PPPoE interface name".into())
    })?;
    let pppoe = k::PppoeSocket::connect(pppoe_sid, mac, dev).map_err(map_err)?;
    let ours = l2tp.channel_index().map_err(map_err)?;
    let theirs = pppoe.channel_index().map_err(map_err)?;
    let ch = k::PppChannel::attach(ours).map_err(map_err)?;
    ch.bridge(theirs).map_err(map_err)?;
    tracing::debug!(
        pppoe_session = pppoe_sid,
        dev,
        channels = ?(ours, theirs),
        "PPPoE session bridged to PPPoL2TP"
    );
    Ok((pppoe, ch))
}

impl KernelDataPlane {
    /// Built-in PPP for a new session: channel, unit, connect (see [`crate::kernel_ppp`]),
    /// then the session's task. Returns it with `pppN`'s name. On an error nothing of it is
    /// left (the caller removes the session itself).
    fn start_builtin(
        &self,
        spec: &SessionSpec,
        sock: &k::PppoL2tpSocket,
        e: crate::ppp_session::NewEngine,
    ) -> Result<(BuiltinPpp, String), DataPlaneError> {
        let Some(rt) = &self.runtime else {
            return Err(DataPlaneError::Unsupported("no tokio runtime".into()));
        };
        let index = sock.channel_index().map_err(map_err)?;
        let (channel, unit, ifindex) = crate::kernel_ppp::open_unit(index).map_err(map_err)?;
        let ifname = match &spec.interface_name {
            // Renamed while down (as pppd's `ifname`); on an error the unit closes with `?`.
            Some(name) => {
                k::rtnl::set_link_name(ifindex, name).map_err(map_err)?;
                name.clone()
            }
            None => unit.ifname(),
        };
        // pppd's default: the MTU is our MRU (1500) unless configured.
        let mtu = spec.mtu.or(spec.ppp.mru).map_or(1500, u32::from);
        let Some(tunnel_peer) = self.tunnels.get(&spec.tunnel_id).map(|t| t.peer) else {
            return Err(DataPlaneError::NotFound(format!(
                "tunnel {}",
                spec.tunnel_id
            )));
        };
        let context = std::sync::Arc::new(crate::userspace::AuthContext {
            tunnel_id: spec.tunnel_id,
            session_id: spec.session_id,
            calling_number: spec.calling_number.clone(),
            called_number: spec.called_number.clone(),
            tunnel_peer,
            tunnel_local: None,
        });
        let link = PppLink::new(
            e.engine,
            e.role,
            (spec.tunnel_id, spec.session_id),
            e.authenticator,
            context,
            self.events_tx.clone(),
        );
        let parts = KernelPppParts {
            link,
            channel,
            unit,
            ifindex,
            mtu,
        };
        let task = rt.spawn(crate::kernel_ppp::run(parts));
        tracing::debug!(
            tunnel = spec.tunnel_id,
            session = spec.session_id,
            channel = index,
            interface = %ifname,
            "built-in PPP session started"
        );
        Ok((
            BuiltinPpp {
                task,
                _lease: e.lease,
            },
            ifname,
        ))
    }

    fn session(&self, tunnel_id: u32, session_id: u32) -> Option<&KSession> {
        self.tunnels.get(&tunnel_id)?.sessions.get(&session_id)
    }
}

fn convert_stats(s: &k::Stats) -> SessionStats {
    SessionStats {
        tx_packets: s.tx_packets,
        tx_bytes: s.tx_bytes,
        tx_errors: s.tx_errors,
        rx_packets: s.rx_packets,
        rx_bytes: s.rx_bytes,
        rx_errors: s.rx_errors,
        rx_seq_discards: s.rx_seq_discards,
        rx_oos_packets: s.rx_oos_packets,
        rx_cookie_discards: s.rx_cookie_discards,
        rx_invalid: s.rx_invalid,
    }
}

impl Drop for KernelDataPlane {
    fn drop(&mut self) {
        for t in self.tunnels.values_mut() {
            t.sessions.clear();
        }
        let ids: Vec<u32> = self.tunnels.keys().copied().collect();
        for id in ids {
            let _ = self.nl.delete_tunnel(id);
        }
        self.tunnels.clear();
        self.unmanaged.clear();
        self.save_state();
    }
}
