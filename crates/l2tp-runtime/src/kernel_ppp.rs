//! PPP terminated in this process on the kernel data plane (session key `ppp = "builtin"`):
//! no pppd. The kernel carries the data (PPPoL2TP socket, `pppN` unit); this process runs
//! the PPP control protocols with the same sans-IO engine, [`crate::userspace::Authenticator`]
//! and [`crate::dataplane::DataPlaneEvent`] reports as the user-space data plane (the loop is
//! [`crate::ppp_session::run`]).
//!
//! Per session, as pppd does it (Documentation/networking/l2tp.rst "PPP"):
//! the session's PPPoL2TP socket gives its channel index (`PPPIOCGCHAN`); a `/dev/ppp` file
//! attaches to the channel (`PPPIOCATTCHAN`); another creates a unit (`PPPIOCNEWUNIT`,
//! interface `pppN`); the channel is connected to the unit (`PPPIOCCONNECT`). IPv4 and IPv6
//! do not pass (`PPPIOCSNPMODE` drop) until IPCP is up.
//!
//! Framing (drivers/net/ppp/ppp_generic.c, net/l2tp/l2tp_ppp.c): PPPoL2TP strips `FF 03`
//! from received frames and `ppp_input` undoes Protocol-Field-Compression, so a frame read
//! from either file starts with the two-byte Protocol field. Frames of protocols from 0xc000
//! up (LCP, PAP, CHAP) are queued on the channel file; once the channel is connected, the
//! others that are not network protocols the unit carries (IPCP 0x8021, CCP, IPV6CP) are
//! queued on the unit file instead. So both are read. A frame written to the channel file
//! starts with the Protocol field; PPPoL2TP puts `FF 03` and the L2TP header in front.
//!
//! On IPCP up: NP mode pass for IPv4, then `pppN` gets our address with the peer's as
//! point-to-point destination (the kernel adds the /32 route) and comes up, over rtnetlink.
//! On session end the task is aborted: the unit's file closes (`pppN` goes) and the channel's
//! (it is disconnected and released with the PPPoL2TP socket).
//!
//! Counters for accounting ([`PppIo::stats`]) are `pppN`'s (`IFLA_STATS64`, one rtnetlink
//! request per call): what pppd's RADIUS plugin reports too. They count PPP frames through
//! the unit without the Protocol field, i.e. IP packets, headers included; not the L2TP,
//! UDP and outer IP headers, nor `FF 03`, nor the LCP and authentication frames (written to
//! the channel, not the unit). Received IPCP/IPV6CP frames are counted (the unit counts
//! them before handing them to us). When the session's path goes (task ended or aborted),
//! the final counters go to the authenticator ([`crate::userspace::Authenticator::session_gone`])
//! before `pppN` is closed.
//!
//! One task per session; no allocation per frame (a per-thread receive buffer); nothing is
//! logged per frame above trace level.

use crate::reaper::Reaped;
use std::cell::RefCell;
use std::io;
use std::sync::Arc;

use l2tp_kernel as k;
use tokio::io::unix::AsyncFd;

use crate::dataplane::SessionStats;
use crate::ppp_session::{IpcpUp, PppIo, PppLink};

/// Largest frame read from a `/dev/ppp` file (bytes): a longer one is dropped by the kernel
/// (`EOVERFLOW`). The largest MRU (65535) plus the Protocol field.
const MAX_FRAME: usize = 65_535 + 2;

/// Frames read from one file per wake-up at most, so one busy session cannot hold the thread.
const FRAMES_PER_WAKE: usize = 32;

thread_local! {
    /// The receive buffer, per worker thread (not per session: 100,000 sessions hold none).
    static RX: RefCell<Vec<u8>> = RefCell::new(vec![0u8; MAX_FRAME]);
}

/// What a built-in PPP session holds in the kernel before its task starts.
pub(crate) struct KernelPppParts {
    pub(crate) link: PppLink,
    pub(crate) channel: k::PppChannel,
    pub(crate) unit: k::PppUnit,
    /// `pppN`'s interface index.
    pub(crate) ifindex: u32,
    /// MTU given to `pppN` with the link up (bytes).
    pub(crate) mtu: u32,
}

/// Attaches to the channel `channel_index`, makes a unit and connects the two; IPv4 and IPv6
/// stay dropped until IPCP is up. Returns the channel, the unit and `pppN`'s index. On an
/// error nothing is left: the files opened so far are closed (the unit's interface goes).
///
/// # Errors
/// The kernel's refusal, naming the step (`/dev/ppp` missing: module `ppp_generic`).
pub(crate) fn open_unit(channel_index: u32) -> Result<(k::PppChannel, k::PppUnit, u32), k::Error> {
    let channel = k::PppChannel::attach(channel_index)?;
    let unit = k::PppUnit::new(None)?;
    unit.set_np_mode(k::ppp::PPP_IP, k::NpMode::Drop)?;
    unit.set_np_mode(k::ppp::PPP_IPV6, k::NpMode::Drop)?;
    channel.connect(&unit)?;
    channel.set_nonblocking(true)?;
    unit.set_nonblocking(true)?;
    let ifindex = k::rtnl::ifindex(&unit.ifname())?;
    Ok((channel, unit, ifindex))
}

/// The session's task: registers both files with the reactor, then runs the shared loop.
/// A registration failure is reported as the session's failure (it is cleared with a CDN).
pub(crate) async fn run(parts: KernelPppParts) {
    let KernelPppParts {
        link,
        channel,
        unit,
        ifindex,
        mtu,
    } = parts;
    let registered = channel
        .into_async()
        .and_then(|c| Ok((c, unit.into_async()?)));
    let (channel, unit) = match registered {
        Ok(fds) => fds,
        Err(e) => {
            link.fail(format!("cannot poll /dev/ppp: {e}")).await;
            return;
        }
    };
    let path = Arc::new(KernelPpp {
        link,
        channel,
        unit: Reaped::new(unit),
        ifindex,
        mtu,
    });
    crate::ppp_session::run(path).await;
}

/// A built-in PPP session's path on the kernel data plane.
struct KernelPpp {
    link: PppLink,
    channel: AsyncFd<k::PppChannel>,
    /// Closed on the reaper thread: `pppN` goes with it (an RCU grace period in the kernel).
    unit: Reaped<AsyncFd<k::PppUnit>>,
    ifindex: u32,
    /// The configured MTU (bytes): `pppN` gets the smaller of it and the peer's MRU.
    mtu: u32,
}

impl PppIo for KernelPpp {
    fn link(&self) -> Option<&PppLink> {
        Some(&self.link)
    }

    /// Control frames queued on the channel file or the unit file (IP itself never passes
    /// here: the kernel carries it through `pppN`).
    async fn io(&self, _ip_up: bool) -> io::Result<()> {
        tokio::select! {
            g = self.channel.readable() => {
                let mut g = g?;
                drain(&self.link, |buf| g.try_io(|c| c.get_ref().read_frame(buf)))
            }
            g = self.unit.readable() => {
                let mut g = g?;
                drain(&self.link, |buf| g.try_io(|u| u.get_ref().read_frame(buf)))
            }
        }
    }

    fn send_frame(&self, frame: &[u8]) {
        if let Err(e) = self.channel.get_ref().write_frame(frame) {
            tracing::debug!(
                channel = self.channel.get_ref().index(),
                error = %e,
                "PPP control frame not sent"
            );
        }
    }

    async fn ipcp_up(&self, up: IpcpUp) -> Result<(), String> {
        self.unit
            .get_ref()
            .set_np_mode(k::ppp::PPP_IP, k::NpMode::Pass)
            .map_err(|e| e.to_string())?;
        let (index, mtu) = (self.ifindex, self.mtu);
        // Netlink round trips: off the runtime's threads (rtnl_lock may be contended when
        // many sessions come up at once).
        let configured =
            tokio::task::spawn_blocking(move || crate::ppp_session::configure_ptp(index, up, mtu))
                .await;
        match configured {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("ppp unit {}: {e}", self.unit.get_ref().unit())),
            Err(e) => Err(format!("configuring task: {e}")),
        }
    }

    async fn ipv6cp_up(&self, local_id: u64, peer_mru: u16) -> Result<(), String> {
        self.unit
            .get_ref()
            .set_np_mode(k::ppp::PPP_IPV6, k::NpMode::Pass)
            .map_err(|e| e.to_string())?;
        let (index, mtu) = (self.ifindex, self.mtu.min(u32::from(peer_mru)));
        // The link up first: the kernel refuses IPv6 addresses on a down PPP interface
        // whose IPv6 is not initialised yet.
        let configured = tokio::task::spawn_blocking(move || {
            k::rtnl::set_link_up(index, true, Some(mtu))?;
            match k::rtnl::add_link_local_v6(index, local_id) {
                Ok(()) | Err(k::Error::Exists { .. }) => Ok(()),
                Err(e) => Err(e),
            }
        })
        .await;
        match configured {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("ppp unit {}: {e}", self.unit.get_ref().unit())),
            Err(e) => Err(format!("configuring task: {e}")),
        }
    }

    fn ipv6cp_down(&self) {
        let _ = self
            .unit
            .get_ref()
            .set_np_mode(k::ppp::PPP_IPV6, k::NpMode::Drop);
    }

    fn ipcp_down(&self) {
        let _ = self
            .unit
            .get_ref()
            .set_np_mode(k::ppp::PPP_IP, k::NpMode::Drop);
    }

    /// `pppN`'s counters (see the module docs for which bytes): rx is from the peer, tx to
    /// it. One blocking rtnetlink round trip (tens of microseconds): called for accounting
    /// (Start, Interim-Update, Stop), never per packet. `None` when the interface cannot be
    /// read (gone).
    fn stats(&self) -> Option<SessionStats> {
        match k::rtnl::link_stats(self.ifindex) {
            Ok(s) => Some(session_stats(&s)),
            Err(e) => {
                tracing::debug!(ifindex = self.ifindex, error = %e, "pppN counters not read");
                None
            }
        }
    }
}

impl Drop for KernelPpp {
    /// The session's last counters for the authenticator's accounting Stop, read while
    /// `pppN` still exists (its file is closed after this, with the fields). Sent even when
    /// they cannot be read (zeros): the authenticator must hear that the session is gone, or
    /// its accounting entry would stay until shutdown.
    fn drop(&mut self) {
        let Some(a) = self.link.authenticator() else {
            return;
        };
        let st = self.stats().unwrap_or_default();
        let (t, s) = self.link.key();
        a.session_gone(t, s, st);
    }
}

/// A PPP unit's interface counters as session counters: packets and bytes each way, errors
/// and drops together as errors.
fn session_stats(s: &k::rtnl::LinkStats) -> SessionStats {
    SessionStats {
        rx_packets: s.rx_packets,
        rx_bytes: s.rx_bytes,
        rx_errors: s.rx_errors.saturating_add(s.rx_dropped),
        tx_packets: s.tx_packets,
        tx_bytes: s.tx_bytes,
        tx_errors: s.tx_errors.saturating_add(s.tx_dropped),
        ..SessionStats::default()
    }
}

/// Feeds the frames `read` gets (at most [`FRAMES_PER_WAKE`]) to the engine. `read` answers
/// `Err(TryIoError)` when nothing is left (readiness cleared), `Ok(Ok(0))` at end of file
/// (the channel is gone): an error that ends the session's loop.
fn drain<E>(
    link: &PppLink,
    mut read: impl FnMut(&mut [u8]) -> Result<io::Result<usize>, E>,
) -> io::Result<()> {
    RX.with(|rx| {
        let mut buf = rx.borrow_mut();
        for _ in 0..FRAMES_PER_WAKE {
            match read(&mut buf) {
                Err(_would_block) => return Ok(()),
                Ok(Ok(0)) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "PPP channel closed",
                    ))
                }
                Ok(Ok(n)) => {
                    if let Some(frame) = buf.get(..n) {
                        link.control_input(frame);
                    }
                }
                // A frame longer than any MRU: the kernel dropped it.
                Ok(Err(e)) if e.raw_os_error() == Some(nix::errno::Errno::EOVERFLOW as i32) => {}
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(Err(e)) => return Err(e),
            }
        }
        Ok(())
    })
}
