//! PPP terminated in this process, for the user-space data plane's PPP sessions: one
//! sans-IO [`l2tp_ppp::Ppp`] per session, one TUN interface per session.
//!
//! - Received frames: IPv4 datagrams go straight to the TUN device once IPCP is open (the
//!   socket reader's write, as for Ethernet); control frames are fed to the engine under its
//!   lock and the session task is woken ([`tokio::sync::Notify`]) to send what the engine queued and act
//!   on its events. IPv6 datagrams likewise once IPV6CP is open (`ppp_ipv6 = true`), else
//!   dropped.
//! - The session task waits on the engine's next timer, the wake-up, and (once IPCP is open)
//!   the TUN device's readability; TUN packets get `FF 03 00 21` (IPv4) or `FF 03 00 57`
//!   (IPv6, IPV6CP open) in front and go out in
//!   batches through the same path as Ethernet frames.
//! - Engine events: `Authenticate` asks the [`super::Authenticator`]; `IpcpUp` gives the TUN device
//!   our address with the peer's as point-to-point destination (ioctls, no `ip` command)
//!   and brings it up, then tells the driver ([`crate::dataplane::DataPlaneEvent::PppUp`]); `Down` tells the
//!   driver the session failed ([`crate::dataplane::DataPlaneEvent::SessionFailed`]), which clears it with a
//!   CDN. The session loop is shared with the kernel data plane's built-in PPP
//!   (`crate::ppp_session`); what is this data plane's own is `UserspacePpp`.

use std::net::SocketAddr;
use std::sync::Arc;

use l2tp_kernel::rtnl;

use super::tx::{self, send_all};
use super::Path;
use crate::ppp_session::{configure_ptp, IpcpUp, PppIo, PppLink};

/// PPP Address and Control fields (RFC 1662 §3.1), sent in front of every frame.
pub(super) const ADDRESS_CONTROL: [u8; 2] = [0xff, 0x03];

/// Bytes put in front of an IP packet from the TUN device: Address, Control, Protocol.
pub(super) const IP_PREFIX: usize = 4;

/// A PPP session's path on this data plane, as the shared session loop
/// ([`crate::ppp_session::run`]) sees it: the session's [`Path`] (TUN device, L2TP data
/// session), the tunnel's socket and the peer's address.
pub(super) struct UserspacePpp {
    pub(super) path: Arc<Path>,
    pub(super) socket: Arc<std::net::UdpSocket>,
    pub(super) peer: SocketAddr,
    /// The TUN device's configured MTU (bytes): it gets the smaller of this and the peer's
    /// MRU once IPCP or IPV6CP is up.
    pub(super) mtu: u16,
}

impl PppIo for UserspacePpp {
    fn link(&self) -> Option<&PppLink> {
        self.path.ppp.as_ref()
    }

    /// Control frames come in through the socket readers ([`PppLink::input`]); the task's
    /// own I/O is the TUN device once IPCP is open: IPv4 packets read from it go out in
    /// batches through the same path as Ethernet frames.
    async fn io(&self, ip_up: bool) -> std::io::Result<()> {
        if !ip_up {
            return std::future::pending().await;
        }
        self.path.tap.readable().await?;
        tx::TX_SCRATCH.with(|scratch| {
            tx::forward_batch(
                &self.path,
                &self.socket,
                self.peer,
                &mut scratch.borrow_mut(),
            );
        });
        Ok(())
    }

    fn send_frame(&self, frame: &[u8]) {
        send_frame(&self.path, &self.socket, self.peer, frame);
    }

    /// Two or three rtnetlink requests by interface index ([`configure_ptp`]), O(1) however
    /// many interfaces the host has (tun-rs's `set_network_address` lists every interface and
    /// address of the namespace first — twice — which made setting up N sessions O(N²):
    /// 1,468 of 2,000 sessions up after 40 s, the rest timed out).
    async fn ipcp_up(&self, up: IpcpUp) -> Result<(), String> {
        let index = self
            .path
            .tap
            .if_index()
            .map_err(|e| format!("TUN device: {e}"))?;
        configure_ptp(index, up, u32::from(self.mtu)).map_err(|e| format!("TUN device: {e}"))
    }

    async fn ipv6cp_up(&self, local_id: u64, peer_mru: u16) -> Result<(), String> {
        let index = self
            .path
            .tap
            .if_index()
            .map_err(|e| format!("TUN device: {e}"))?;
        match rtnl::add_link_local_v6(index, local_id) {
            Ok(()) | Err(l2tp_kernel::Error::Exists { .. }) => {}
            Err(e) => return Err(format!("TUN device: {e}")),
        }
        rtnl::set_link_up(index, true, Some(u32::from(self.mtu.min(peer_mru))))
            .map_err(|e| format!("TUN device: {e}"))
    }

    fn stats(&self) -> Option<crate::dataplane::SessionStats> {
        self.path.stats_now()
    }
}

/// Sends one engine frame: `FF 03`, the frame, the L2TP header in front. Control frames are
/// rare; this one allocates.
fn send_frame(path: &Path, socket: &std::net::UdpSocket, peer: SocketAddr, frame: &[u8]) {
    let Ok(mut session) = path.session.lock() else {
        return;
    };
    let h = session.header_len();
    let mut buf = vec![0u8; h];
    buf.extend_from_slice(&ADDRESS_CONTROL);
    buf.extend_from_slice(frame);
    if session.encapsulate(&mut buf).is_err() {
        return;
    }
    drop(session);
    if send_all(socket, &[&buf], peer) == 0 {
        if let Ok(mut s) = path.session.lock() {
            s.count_tx_error();
        }
    }
}
