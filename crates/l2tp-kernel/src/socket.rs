//! Tunnel sockets (UDP, L2TP/IP) and PPPoL2TP session sockets.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use crate::attr::EncapType;
use crate::error::{Error, Object, Result};
use crate::sockaddr::{
    sockaddr_l2tpip, sockaddr_l2tpip6, PppoL2tpAddr, AF_PPPOX, IPPROTO_L2TP, PX_PROTO_OL2TP,
};
use crate::stats::{PppoL2tpIocStats, Stats};

/// `SOL_PPPOL2TP`.
pub const SOL_PPPOL2TP: i32 = 273;
const PPPOL2TP_SO_DEBUG: i32 = 1;
const PPPOL2TP_SO_RECVSEQ: i32 = 2;
const PPPOL2TP_SO_SENDSEQ: i32 = 3;
const PPPOL2TP_SO_LNSMODE: i32 = 4;
const PPPOL2TP_SO_REORDERTO: i32 = 5;
/// `UDP_NO_CHECK6_TX` / `_RX` (linux/udp.h).
const UDP_NO_CHECK6_TX: i32 = 101;
const UDP_NO_CHECK6_RX: i32 = 102;
/// `PPPIOCGCHAN`.
pub(crate) const PPPIOCGCHAN: libc::c_ulong = 0x8004_7437;
/// `PPPIOCGL2TPSTATS`.
const PPPIOCGL2TPSTATS: libc::c_ulong = 0x8048_7436;

/// `socket(2)` into an owned fd.
pub(crate) fn socket(domain: i32, ty: i32, proto: i32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments; no pointers.
    let fd = unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, proto) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket(2), is valid and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `bind(2)` or `connect(2)` with a raw address buffer.
fn bind_or_connect(fd: RawFd, addr: &[u8], connect: bool) -> io::Result<()> {
    let len = addr.len() as libc::socklen_t;
    let p = addr.as_ptr().cast::<libc::sockaddr>();
    // SAFETY: `p` points to `len` initialised bytes that outlive the call; the kernel copies them
    // in (move_addr_to_kernel) before looking at any field, so the byte buffer's alignment does
    // not matter.
    let rc = unsafe {
        if connect {
            libc::connect(fd, p, len)
        } else {
            libc::bind(fd, p, len)
        }
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `setsockopt(2)` with an int value.
pub(crate) fn setsockopt_int(fd: RawFd, level: i32, name: i32, v: i32) -> io::Result<()> {
    // SAFETY: the option value points to a live i32 whose size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&v as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `getsockopt(2)` of an int value.
pub(crate) fn getsockopt_int(fd: RawFd, level: i32, name: i32) -> io::Result<i32> {
    let mut v: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: `v` and `len` are live and correctly sized for an int option.
    let rc = unsafe { libc::getsockopt(fd, level, name, (&mut v as *mut i32).cast(), &mut len) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(v)
}

/// An `ioctl(2)` that reads or writes one `int`.
pub(crate) fn ioctl_int(fd: RawFd, req: libc::c_ulong, v: &mut i32) -> io::Result<()> {
    // SAFETY: every request this crate passes here takes a pointer to one int, and `v` is a live,
    // exclusive i32 for the duration of the call.
    let rc = unsafe { libc::ioctl(fd, req as _, v as *mut i32) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The socket a tunnel sends and receives on: UDP (L2TPv2/v3) or L2TP/IP (L2TPv3).
/// Bound and connected; pass it to [`crate::TunnelSpec::managed`] and keep it open for the
/// tunnel's lifetime (closing it removes the tunnel). Control messages keep arriving on it.
#[derive(Debug)]
pub struct TunnelSocket {
    fd: OwnedFd,
    encap: EncapType,
    peer: SocketAddr,
}

impl TunnelSocket {
    /// A UDP socket bound to `local` and connected to `peer` (IPv4 or IPv6).
    pub fn udp(local: SocketAddr, peer: SocketAddr) -> Result<Self> {
        let obj = Object::Other("UDP tunnel socket");
        let s = UdpSocket::bind(local).map_err(|e| Error::from_io(e, "bind", obj, "udp"))?;
        s.connect(peer)
            .map_err(|e| Error::from_io(e, "connect", obj, "udp"))?;
        Ok(TunnelSocket {
            fd: s.into(),
            encap: EncapType::Udp,
            peer,
        })
    }

    /// An L2TP/IP socket (IP protocol 115) bound to `local` with our tunnel id and connected to
    /// `peer` with theirs. Needs `l2tp_ip` (IPv4) or `l2tp_ip6` (IPv6).
    pub fn l2tp_ip(
        local: IpAddr,
        peer: IpAddr,
        tunnel_id: u32,
        peer_tunnel_id: u32,
    ) -> Result<Self> {
        let obj = Object::Tunnel(tunnel_id);
        let (domain, module) = match local {
            IpAddr::V4(_) => (libc::AF_INET, "l2tp_ip"),
            IpAddr::V6(_) => (libc::AF_INET6, "l2tp_ip6"),
        };
        let fd = socket(domain, libc::SOCK_DGRAM, IPPROTO_L2TP)
            .map_err(|e| Error::from_io(e, "open L2TP/IP socket for", obj, module))?;
        let sa = |a: IpAddr, id: u32| -> Result<Vec<u8>> {
            match a {
                IpAddr::V4(a) => Ok(sockaddr_l2tpip(a, id).to_vec()),
                IpAddr::V6(a) => Ok(sockaddr_l2tpip6(a, 0, id).to_vec()),
            }
        };
        if local.is_ipv4() != peer.is_ipv4() {
            return Err(Error::Invalid(
                "local and peer address families differ".into(),
            ));
        }
        bind_or_connect(fd.as_raw_fd(), &sa(local, tunnel_id)?, false)
            .map_err(|e| Error::from_io(e, "bind L2TP/IP socket for", obj, module))?;
        bind_or_connect(fd.as_raw_fd(), &sa(peer, peer_tunnel_id)?, true)
            .map_err(|e| Error::from_io(e, "connect L2TP/IP socket for", obj, module))?;
        Ok(TunnelSocket {
            fd,
            encap: EncapType::Ip,
            peer: SocketAddr::new(peer, 0),
        })
    }

    /// An L2TP/IP socket for a control connection that is still being set up: bound to `local`
    /// with our tunnel id (`0` for a listening socket, which receives SCCRQs) and, when `peer`
    /// is given, connected to it (peer tunnel id 0: the kernel matches received control
    /// messages on the bound id only). Needs `l2tp_ip` (IPv4) or `l2tp_ip6` (IPv6).
    pub fn l2tp_ip_bound(local: IpAddr, tunnel_id: u32, peer: Option<IpAddr>) -> Result<Self> {
        let obj = Object::Tunnel(tunnel_id);
        let (domain, module) = match local {
            IpAddr::V4(_) => (libc::AF_INET, "l2tp_ip"),
            IpAddr::V6(_) => (libc::AF_INET6, "l2tp_ip6"),
        };
        if peer.is_some_and(|p| p.is_ipv4() != local.is_ipv4()) {
            return Err(Error::Invalid(
                "local and peer address families differ".into(),
            ));
        }
        let fd = socket(domain, libc::SOCK_DGRAM, IPPROTO_L2TP)
            .map_err(|e| Error::from_io(e, "open L2TP/IP socket for", obj, module))?;
        let sa = |a: IpAddr, id: u32| -> Vec<u8> {
            match a {
                IpAddr::V4(a) => sockaddr_l2tpip(a, id).to_vec(),
                IpAddr::V6(a) => sockaddr_l2tpip6(a, 0, id).to_vec(),
            }
        };
        bind_or_connect(fd.as_raw_fd(), &sa(local, tunnel_id), false)
            .map_err(|e| Error::from_io(e, "bind L2TP/IP socket for", obj, module))?;
        if let Some(p) = peer {
            bind_or_connect(fd.as_raw_fd(), &sa(p, 0), true)
                .map_err(|e| Error::from_io(e, "connect L2TP/IP socket for", obj, module))?;
        }
        Ok(TunnelSocket {
            fd,
            encap: EncapType::Ip,
            peer: SocketAddr::new(peer.unwrap_or(local), 0),
        })
    }

    /// UDP or IP.
    pub fn encap(&self) -> EncapType {
        self.encap
    }

    /// The connected peer (port 0 for L2TP/IP).
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// IPv4 UDP: compute checksums on send (`SO_NO_CHECK` off) or not.
    pub fn set_udp_checksum(&self, on: bool) -> Result<()> {
        setsockopt_int(
            self.fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_NO_CHECK,
            (!on) as i32,
        )
        .map_err(|e| {
            Error::from_io(
                e,
                "set UDP checksum on",
                Object::Other("tunnel socket"),
                "udp",
            )
        })
    }

    /// IPv6 UDP: send zero checksums (`UDP_NO_CHECK6_TX`) / accept them (`UDP_NO_CHECK6_RX`).
    pub fn set_udp6_zero_checksum(&self, tx: bool, rx: bool) -> Result<()> {
        let fd = self.fd.as_raw_fd();
        let err = |e| {
            Error::from_io(
                e,
                "set UDP6 checksum on",
                Object::Other("tunnel socket"),
                "udp",
            )
        };
        setsockopt_int(fd, libc::IPPROTO_UDP, UDP_NO_CHECK6_TX, tx as i32).map_err(err)?;
        setsockopt_int(fd, libc::IPPROTO_UDP, UDP_NO_CHECK6_RX, rx as i32).map_err(err)
    }

    /// Receive one datagram (a control message) into `buf`.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is a live, exclusive buffer of `buf.len()` bytes.
        let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// Send one datagram (a control message) to the connected peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: `buf` is a live buffer of `buf.len()` initialised bytes.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

impl AsRawFd for TunnelSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for TunnelSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl From<TunnelSocket> for OwnedFd {
    fn from(s: TunnelSocket) -> OwnedFd {
        s.fd
    }
}

/// A PPPoL2TP socket: carries one PPP session's control frames and is the session's PPP
/// channel (see [`crate::ppp`]). Closing it removes the session.
#[derive(Debug)]
pub struct PppoL2tpSocket {
    fd: OwnedFd,
    tunnel_id: u32,
    session_id: u32,
}

impl PppoL2tpSocket {
    /// Open a PPPoL2TP socket and connect it to a session. With a netlink-created tunnel and
    /// session this attaches to them; with session id 0 and no tunnel it is the old API's
    /// tunnel-management socket.
    pub fn connect(addr: &PppoL2tpAddr) -> Result<Self> {
        let obj = Object::Session {
            tunnel: addr.tunnel_id,
            session: addr.session_id,
        };
        let fd = socket(AF_PPPOX, libc::SOCK_DGRAM, PX_PROTO_OL2TP).map_err(|e| {
            // No AF_PPPOX at all: pppox is missing; the family exists but not OL2TP: l2tp_ppp.
            let module = if e.raw_os_error() == Some(libc::EAFNOSUPPORT) {
                "pppox"
            } else {
                "l2tp_ppp"
            };
            Error::from_io(e, "open PPPoL2TP socket for", obj, module)
        })?;
        bind_or_connect(fd.as_raw_fd(), &addr.to_bytes(), true)
            .map_err(|e| Error::from_io(e, "connect PPPoL2TP socket for", obj, "l2tp_ppp"))?;
        Ok(PppoL2tpSocket {
            fd,
            tunnel_id: addr.tunnel_id,
            session_id: addr.session_id,
        })
    }

    fn obj(&self) -> Object {
        Object::Session {
            tunnel: self.tunnel_id,
            session: self.session_id,
        }
    }

    fn set(&self, name: i32, v: i32) -> Result<()> {
        setsockopt_int(self.fd.as_raw_fd(), SOL_PPPOL2TP, name, v)
            .map_err(|e| Error::from_io(e, "set option on", self.obj(), "l2tp_ppp"))
    }

    fn get(&self, name: i32) -> Result<i32> {
        getsockopt_int(self.fd.as_raw_fd(), SOL_PPPOL2TP, name)
            .map_err(|e| Error::from_io(e, "get option of", self.obj(), "l2tp_ppp"))
    }

    /// Send sequence numbers (`PPPOL2TP_SO_SENDSEQ`).
    pub fn set_send_seq(&self, on: bool) -> Result<()> {
        self.set(PPPOL2TP_SO_SENDSEQ, on as i32)
    }

    /// Require sequence numbers (`PPPOL2TP_SO_RECVSEQ`).
    pub fn set_recv_seq(&self, on: bool) -> Result<()> {
        self.set(PPPOL2TP_SO_RECVSEQ, on as i32)
    }

    /// LNS mode (`PPPOL2TP_SO_LNSMODE`).
    pub fn set_lns_mode(&self, on: bool) -> Result<()> {
        self.set(PPPOL2TP_SO_LNSMODE, on as i32)
    }

    /// Reorder timeout (`PPPOL2TP_SO_REORDERTO`, milliseconds).
    pub fn set_reorder_timeout(&self, t: Duration) -> Result<()> {
        self.set(
            PPPOL2TP_SO_REORDERTO,
            t.as_millis().min(i32::MAX as u128) as i32,
        )
    }

    /// Debug flags (`PPPOL2TP_SO_DEBUG`; ignored by current kernels).
    pub fn set_debug(&self, flags: u32) -> Result<()> {
        self.set(PPPOL2TP_SO_DEBUG, flags as i32)
    }

    /// (send_seq, recv_seq, lns_mode, reorder timeout ms) as the kernel holds them.
    pub fn options(&self) -> Result<(bool, bool, bool, u32)> {
        Ok((
            self.get(PPPOL2TP_SO_SENDSEQ)? != 0,
            self.get(PPPOL2TP_SO_RECVSEQ)? != 0,
            self.get(PPPOL2TP_SO_LNSMODE)? != 0,
            self.get(PPPOL2TP_SO_REORDERTO)? as u32,
        ))
    }

    /// The PPP channel index of this session (`PPPIOCGCHAN`), for [`crate::ppp::PppChannel`].
    pub fn channel_index(&self) -> Result<u32> {
        let mut v = 0;
        ioctl_int(self.fd.as_raw_fd(), PPPIOCGCHAN, &mut v)
            .map_err(|e| Error::from_io(e, "get PPP channel of", self.obj(), "l2tp_ppp"))?;
        Ok(v as u32)
    }

    /// The session's counters (`PPPIOCGL2TPSTATS`).
    pub fn stats(&self) -> Result<Stats> {
        let mut s = PppoL2tpIocStats {
            tunnel_id: self.tunnel_id as u16,
            session_id: self.session_id as u16,
            ..Default::default()
        };
        // SAFETY: PPPIOCGL2TPSTATS reads and writes one struct pppol2tp_ioc_stats (72 bytes,
        // size checked in a test); `s` is a live, exclusive, correctly laid out instance.
        let rc = unsafe {
            libc::ioctl(
                self.fd.as_raw_fd(),
                PPPIOCGL2TPSTATS as _,
                &mut s as *mut PppoL2tpIocStats,
            )
        };
        if rc < 0 {
            return Err(Error::from_io(
                io::Error::last_os_error(),
                "get statistics of",
                self.obj(),
                "l2tp_ppp",
            ));
        }
        Ok(Stats::from(&s))
    }

    /// Read one PPP control frame (LCP etc.) the kernel passed up.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is a live, exclusive buffer of `buf.len()` bytes.
        let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

impl AsRawFd for PppoL2tpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for PppoL2tpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A new descriptor (close-on-exec) for the open file behind `fd`, owned by the caller: how
/// a PPPoL2TP socket is handed to a pppd started later, independently of the data plane's
/// own descriptor (which may be closed, and its number reused, first).
///
/// # Errors
/// `EBADF` when `fd` is not open; `EMFILE` when the process has no descriptor left.
pub fn dup_fd(fd: RawFd) -> std::io::Result<OwnedFd> {
    let d = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3))
        .map_err(std::io::Error::from)?;
    // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(d) })
}
