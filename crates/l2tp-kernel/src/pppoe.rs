//! PPPoE (RFC 2516) in the kernel: the Session-stage socket (`AF_PPPOX`/`PX_PROTO_OE`, module
//! `pppoe`) whose PPP channel is bridged to a PPPoL2TP session's, and the raw packet socket
//! (`AF_PACKET`, EtherType 0x8863) the access concentrator's Discovery stage runs on.
//!
//! The kernel's `pppoe` module takes Session-stage frames (EtherType 0x8864) for a connected
//! (session ID, peer MAC, device) triple off the wire and hands them to the socket's PPP
//! channel; Discovery frames are not its business and arrive on the packet socket.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use crate::error::{Error, Object, Result};
use crate::sockaddr::AF_PPPOX;
use crate::socket::{ioctl_int, setsockopt_int, socket, PPPIOCGCHAN};

/// `SOL_PACKET` (linux/socket.h).
const SOL_PACKET: i32 = 263;
/// `PACKET_IGNORE_OUTGOING` (linux/if_packet.h).
const PACKET_IGNORE_OUTGOING: i32 = 23;

/// `PX_PROTO_OE` (linux/if_pppox.h).
pub const PX_PROTO_OE: i32 = 0;
/// `ETH_P_PPP_DISC` (linux/if_ether.h): PPPoE Discovery EtherType.
pub const ETH_P_PPP_DISC: u16 = 0x8863;
/// `ETH_P_PPP_SES` (linux/if_ether.h): PPPoE Session EtherType.
pub const ETH_P_PPP_SES: u16 = 0x8864;
/// `sizeof(struct sockaddr_pppox)` (packed: family u16, protocol u32, union of 24 bytes).
pub const SOCKADDR_PPPOX_LEN: usize = 30;
/// `IFNAMSIZ`: interface names are at most 15 bytes plus the NUL.
pub const IFNAMSIZ: usize = 16;

/// `struct sockaddr_pppox` for PPPoE (30 bytes): `sa_family` = AF_PPPOX (host order),
/// `sa_protocol` = PX_PROTO_OE (host order, unaligned: the struct is packed), then
/// `struct pppoe_addr { __be16 sid; u8 remote[6]; char dev[16]; }`.
///
/// Errors: [`Error::Invalid`] when `dev` is empty, longer than 15 bytes or holds a NUL, or
/// `session_id` is 0 or 0xffff (reserved, RFC 2516 §4).
pub fn sockaddr_pppoe(
    session_id: u16,
    peer_mac: [u8; 6],
    dev: &str,
) -> Result<[u8; SOCKADDR_PPPOX_LEN]> {
    if session_id == 0 || session_id == 0xffff {
        return Err(Error::Invalid(format!(
            "PPPoE session ID {session_id:#06x} is reserved (RFC 2516 §4)"
        )));
    }
    if dev.is_empty() || dev.len() >= IFNAMSIZ || dev.bytes().any(|b| b == 0) {
        return Err(Error::Invalid(format!(
            "interface name {dev:?}: 1 to 15 bytes without NUL"
        )));
    }
    let mut b = [0u8; SOCKADDR_PPPOX_LEN];
    b[0..2].copy_from_slice(&(AF_PPPOX as u16).to_ne_bytes());
    b[2..6].copy_from_slice(&(PX_PROTO_OE as u32).to_ne_bytes());
    b[6..8].copy_from_slice(&session_id.to_be_bytes());
    b[8..14].copy_from_slice(&peer_mac);
    b[14..14 + dev.len()].copy_from_slice(dev.as_bytes());
    Ok(b)
}

/// A connected PPPoE session socket: it is the session's PPP channel. Closing it ends the
/// kernel's side of the session (no PADT is sent: the Discovery stage does that).
#[derive(Debug)]
pub struct PppoeSocket {
    fd: OwnedFd,
    session_id: u16,
}

impl PppoeSocket {
    /// `socket(AF_PPPOX, SOCK_STREAM, PX_PROTO_OE)` + `connect` to (session ID, peer MAC,
    /// device). Needs the `pppoe` module and the device up.
    ///
    /// Errors: [`Error::Invalid`] (see [`sockaddr_pppoe`]), [`Error::ModuleMissing`] naming
    /// `pppoe`, or the OS error of `connect` (e.g. ENODEV for an unknown device).
    pub fn connect(session_id: u16, peer_mac: [u8; 6], dev: &str) -> Result<Self> {
        let obj = Object::Other("PPPoE session socket");
        let addr = sockaddr_pppoe(session_id, peer_mac, dev)?;
        let fd = socket(AF_PPPOX, libc::SOCK_STREAM, PX_PROTO_OE)
            .map_err(|e| Error::from_io(e, "open", obj, "pppoe"))?;
        let p = addr.as_ptr().cast::<libc::sockaddr>();
        // SAFETY: `p` points to SOCKADDR_PPPOX_LEN initialised bytes that outlive the call;
        // the kernel copies them in before reading any field, so alignment does not matter.
        let rc = unsafe { libc::connect(fd.as_raw_fd(), p, addr.len() as libc::socklen_t) };
        if rc < 0 {
            return Err(Error::from_io(
                io::Error::last_os_error(),
                "connect",
                obj,
                "pppoe",
            ));
        }
        Ok(PppoeSocket { fd, session_id })
    }

    /// The PPPoE session ID.
    pub fn session_id(&self) -> u16 {
        self.session_id
    }

    /// The PPP channel index of this session (`PPPIOCGCHAN`), for
    /// [`crate::ppp::PppChannel::attach`] / [`crate::ppp::PppChannel::bridge`].
    pub fn channel_index(&self) -> Result<u32> {
        let mut v = 0;
        ioctl_int(self.fd.as_raw_fd(), PPPIOCGCHAN, &mut v).map_err(|e| {
            Error::from_io(
                e,
                "get PPP channel of",
                Object::Other("PPPoE session socket"),
                "pppoe",
            )
        })?;
        Ok(v as u32)
    }
}

impl AsRawFd for PppoeSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A raw `AF_PACKET` socket bound to one interface and one EtherType (PPPoE Discovery):
/// whole Ethernet frames in and out (no FCS). Non-blocking: [`PacketSocket::recv`] returns
/// `WouldBlock` when nothing is queued; wait for readability on [`AsFd`].
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
}

impl PacketSocket {
    /// `socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ether_type))` bound to interface
    /// `ifname`. Needs CAP_NET_RAW.
    ///
    /// Errors: [`Error::Invalid`] for an unknown interface; the OS error of socket/bind.
    pub fn bind(ifname: &str, ether_type: u16) -> Result<Self> {
        let obj = Object::Other("packet socket");
        let ifindex = nix::net::if_::if_nametoindex(ifname)
            .map_err(|e| Error::Invalid(format!("interface {ifname:?}: {e}")))?;
        let fd = socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK,
            i32::from(ether_type.to_be()),
        )
        .map_err(|e| Error::from_io(e, "open", obj, "af_packet"))?;
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ether_type.to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: `sll` is a live, correctly laid out sockaddr_ll whose size is passed.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(Error::from_io(
                io::Error::last_os_error(),
                "bind",
                obj,
                "af_packet",
            ));
        }
        // Frames we send would come back to us as PACKET_OUTGOING copies: not wanted
        // (Linux ≥ 4.20; older kernels deliver them and the caller ignores its own frames).
        let _ = setsockopt_int(fd.as_raw_fd(), SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
        Ok(PacketSocket { fd, ifindex })
    }

    /// Ask for a receive queue of `bytes` (`SO_RCVBUFFORCE`, which may exceed
    /// `net.core.rmem_max` with CAP_NET_ADMIN, else `SO_RCVBUF`, capped by it): bursts of
    /// Discovery frames (every CPE of a segment redialling at once) wait there instead of
    /// being dropped. Returns the size the kernel granted (it doubles the request for its
    /// bookkeeping).
    pub fn set_recv_buffer(&self, bytes: usize) -> Result<usize> {
        let fd = self.fd.as_raw_fd();
        let v = i32::try_from(bytes).unwrap_or(i32::MAX);
        if setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, v).is_err() {
            setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, v).map_err(|e| {
                Error::from_io(
                    e,
                    "set receive buffer of",
                    Object::Other("packet socket"),
                    "af_packet",
                )
            })?;
        }
        let got =
            crate::socket::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF).map_err(|e| {
                Error::from_io(
                    e,
                    "get receive buffer of",
                    Object::Other("packet socket"),
                    "af_packet",
                )
            })?;
        Ok(got.max(0) as usize)
    }

    /// The bound interface's hardware address, as the kernel reports it for this socket
    /// (`getsockname`: `sockaddr_ll.sll_addr`; right in any network namespace, unlike a
    /// sysfs path).
    ///
    /// Errors: [`Error::Invalid`] when the interface has no 6-byte address; the OS error.
    pub fn hw_addr(&self) -> Result<[u8; 6]> {
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: `sll` and `len` are live and `len` holds the size of `sll`; the kernel writes
        // at most `len` bytes.
        let rc = unsafe {
            libc::getsockname(
                self.fd.as_raw_fd(),
                (&mut sll as *mut libc::sockaddr_ll).cast(),
                &mut len,
            )
        };
        if rc < 0 {
            return Err(Error::from_io(
                io::Error::last_os_error(),
                "get address of",
                Object::Other("packet socket"),
                "af_packet",
            ));
        }
        if sll.sll_halen != 6 {
            return Err(Error::Invalid(format!(
                "interface {} has a {}-byte hardware address (not Ethernet)",
                self.ifindex, sll.sll_halen
            )));
        }
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&sll.sll_addr[..6]);
        Ok(mac)
    }

    /// The interface index it is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Receive one frame (Ethernet header first) into `buf`; a longer frame is truncated to
    /// `buf.len()`. `WouldBlock` when none is queued.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is a live, exclusive buffer of `buf.len()` bytes.
        let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// Send one complete Ethernet frame (destination MAC first) on the bound interface.
    pub fn send(&self, frame: &[u8]) -> io::Result<usize> {
        // SAFETY: `frame` is a live buffer of `frame.len()` initialised bytes.
        let n = unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// `aa:bb:cc:dd:ee:ff` → bytes.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut mac {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddr_pppox_layout_matches_linux_if_pppox_h() {
        // gcc on linux/if_pppox.h: sizeof 30, sid at 6, remote at 8, dev at 14.
        let b = sockaddr_pppoe(0x1234, [2, 0, 0, 0, 0, 9], "eth0").unwrap();
        assert_eq!(b.len(), SOCKADDR_PPPOX_LEN);
        assert_eq!(&b[0..2], &24u16.to_ne_bytes());
        assert_eq!(&b[2..6], &0u32.to_ne_bytes());
        assert_eq!(&b[6..8], &[0x12, 0x34]); // network order
        assert_eq!(&b[8..14], &[2, 0, 0, 0, 0, 9]);
        assert_eq!(&b[14..18], b"eth0");
        assert!(b[18..].iter().all(|&x| x == 0));
    }

    #[test]
    fn sockaddr_pppoe_refuses_reserved_ids_and_bad_names() {
        assert!(sockaddr_pppoe(0, [2; 6], "eth0").is_err());
        assert!(sockaddr_pppoe(0xffff, [2; 6], "eth0").is_err());
        assert!(sockaddr_pppoe(1, [2; 6], "").is_err());
        assert!(sockaddr_pppoe(1, [2; 6], "a\0b").is_err());
        assert!(sockaddr_pppoe(1, [2; 6], "0123456789abcdef").is_err());
        let b = sockaddr_pppoe(1, [2; 6], "0123456789abcde").unwrap();
        assert_eq!(b[28], b'e'); // 15 bytes, and the NUL in the last byte
        assert_eq!(b[29], 0);
    }

    #[test]
    fn ethertypes_and_sockaddr_ll_size() {
        assert_eq!(ETH_P_PPP_DISC, libc::ETH_P_PPP_DISC as u16);
        assert_eq!(ETH_P_PPP_SES, libc::ETH_P_PPP_SES as u16);
        assert_eq!(std::mem::size_of::<libc::sockaddr_ll>(), 20);
    }

    #[test]
    fn mac_parsing() {
        assert_eq!(
            parse_mac("02:aB:00:01:02:ff"),
            Some([2, 0xab, 0, 1, 2, 0xff])
        );
        assert_eq!(parse_mac("02:ab:00:01:02"), None);
        assert_eq!(parse_mac("02:ab:00:01:02:03:04"), None);
        assert_eq!(parse_mac("zz:ab:00:01:02:03"), None);
    }
}
