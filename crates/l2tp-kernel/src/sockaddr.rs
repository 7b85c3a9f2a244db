//! Socket addresses of L2TP/IP and PPPoL2TP sockets, built byte by byte.
//!
//! The C structs (`linux/l2tp.h`, `linux/if_pppox.h`, `linux/if_pppol2tp.h`) are partly packed
//! and the kernel tells the PPPoL2TP variants apart by their size alone, so they are laid out
//! here explicitly instead of through `#[repr(C)]` look-alikes. Multi-byte fields are in host
//! order except addresses and ports, which are in network order (as in `sockaddr_in`).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

/// `IPPROTO_L2TP`.
pub const IPPROTO_L2TP: i32 = 115;
/// `AF_PPPOX`.
pub const AF_PPPOX: i32 = 24;
/// `PX_PROTO_OL2TP`.
pub const PX_PROTO_OL2TP: i32 = 1;

/// `sizeof(struct sockaddr_l2tpip)`.
pub const SOCKADDR_L2TPIP_LEN: usize = 16;
/// `sizeof(struct sockaddr_l2tpip6)`.
pub const SOCKADDR_L2TPIP6_LEN: usize = 32;
/// `sizeof(struct sockaddr_pppol2tp)` (L2TPv2 over IPv4).
pub const SOCKADDR_PPPOL2TP_LEN: usize = 38;
/// `sizeof(struct sockaddr_pppol2tpin6)` (L2TPv2 over IPv6).
pub const SOCKADDR_PPPOL2TPIN6_LEN: usize = 50;
/// `sizeof(struct sockaddr_pppol2tpv3)` (L2TPv3 over IPv4).
pub const SOCKADDR_PPPOL2TPV3_LEN: usize = 46;
/// `sizeof(struct sockaddr_pppol2tpv3in6)` (L2TPv3 over IPv6).
pub const SOCKADDR_PPPOL2TPV3IN6_LEN: usize = 58;

/// A little writer over a byte buffer.
struct W(Vec<u8>);

impl W {
    fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_ne_bytes());
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_ne_bytes());
        self
    }
    fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
    /// `struct sockaddr_in`, 16 bytes.
    fn sockaddr_in(&mut self, a: &SocketAddrV4) -> &mut Self {
        self.u16(libc::AF_INET as u16)
            .bytes(&a.port().to_be_bytes())
            .bytes(&a.ip().octets())
            .bytes(&[0; 8])
    }
    /// `struct sockaddr_in6`, 28 bytes.
    fn sockaddr_in6(&mut self, a: &SocketAddrV6) -> &mut Self {
        self.u16(libc::AF_INET6 as u16)
            .bytes(&a.port().to_be_bytes())
            .bytes(&a.flowinfo().to_be_bytes())
            .bytes(&a.ip().octets())
            .u32(a.scope_id())
    }
}

/// `struct sockaddr_l2tpip` (16 bytes): an IPv4 address and a tunnel (connection) id.
pub fn sockaddr_l2tpip(addr: Ipv4Addr, conn_id: u32) -> [u8; SOCKADDR_L2TPIP_LEN] {
    let mut w = W(Vec::with_capacity(SOCKADDR_L2TPIP_LEN));
    w.u16(libc::AF_INET as u16)
        .u16(0) // l2tp_unused
        .bytes(&addr.octets())
        .u32(conn_id)
        .bytes(&[0; 4]); // __pad
    w.0.try_into().expect("16 bytes")
}

/// `struct sockaddr_l2tpip6` (32 bytes).
pub fn sockaddr_l2tpip6(addr: Ipv6Addr, scope_id: u32, conn_id: u32) -> [u8; SOCKADDR_L2TPIP6_LEN] {
    let mut w = W(Vec::with_capacity(SOCKADDR_L2TPIP6_LEN));
    w.u16(libc::AF_INET6 as u16)
        .u16(0) // l2tp_unused
        .u32(0) // l2tp_flowinfo
        .bytes(&addr.octets())
        .u32(scope_id)
        .u32(conn_id);
    w.0.try_into().expect("32 bytes")
}

/// The address a PPPoL2TP socket is connected to: which tunnel socket, which tunnel and session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PppoL2tpAddr {
    /// L2TP version (2 or 3): selects the 16-bit (v2) or 32-bit (v3) id fields.
    pub version: u8,
    /// The tunnel's UDP or L2TP/IP socket (the old API needs it; with a netlink-created tunnel
    /// the kernel finds the tunnel by id, but it must still be a valid tunnel socket fd).
    pub tunnel_fd: RawFd,
    /// The peer's address (and UDP port); its family selects the IPv4 or IPv6 variant.
    pub peer: SocketAddr,
    /// Local tunnel id.
    pub tunnel_id: u32,
    /// Local session id (0: the v2 tunnel-management socket of the old API).
    pub session_id: u32,
    /// Peer tunnel id.
    pub peer_tunnel_id: u32,
    /// Peer session id.
    pub peer_session_id: u32,
}

impl PppoL2tpAddr {
    /// The `sockaddr_pppol2tp*` bytes: 38, 50, 46 or 58 bytes by version and address family.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = W(Vec::with_capacity(SOCKADDR_PPPOL2TPV3IN6_LEN));
        // struct sockaddr_pppol2tp* { sa_family_t sa_family; unsigned int sa_protocol; ... }
        // __packed: the u32 protocol follows the u16 family without padding.
        w.u16(AF_PPPOX as u16).u32(PX_PROTO_OL2TP as u32);
        w.u32(0) // pid: unused by the kernel
            .u32(self.tunnel_fd as u32);
        let ids_v2 = |w: &mut W| {
            w.u16(self.tunnel_id as u16)
                .u16(self.session_id as u16)
                .u16(self.peer_tunnel_id as u16)
                .u16(self.peer_session_id as u16);
        };
        let ids_v3 = |w: &mut W| {
            w.u32(self.tunnel_id)
                .u32(self.session_id)
                .u32(self.peer_tunnel_id)
                .u32(self.peer_session_id);
        };
        match (self.version, &self.peer) {
            // struct pppol2tp_addr: pid, fd, sockaddr_in addr, s_tunnel, s_session, d_tunnel, d_session
            (2, SocketAddr::V4(a)) => {
                w.sockaddr_in(a);
                ids_v2(&mut w);
            }
            // struct pppol2tpin6_addr: pid, fd, ids (u16), sockaddr_in6 addr
            (2, SocketAddr::V6(a)) => {
                ids_v2(&mut w);
                w.sockaddr_in6(a);
            }
            // struct pppol2tpv3_addr: pid, fd, sockaddr_in addr, ids (u32)
            (_, SocketAddr::V4(a)) => {
                w.sockaddr_in(a);
                ids_v3(&mut w);
            }
            // struct pppol2tpv3in6_addr: pid, fd, ids (u32), sockaddr_in6 addr
            (_, SocketAddr::V6(a)) => {
                ids_v3(&mut w);
                w.sockaddr_in6(a);
            }
        }
        w.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(version: u8, peer: &str) -> PppoL2tpAddr {
        PppoL2tpAddr {
            version,
            tunnel_fd: 7,
            peer: peer.parse().unwrap(),
            tunnel_id: 0x0102,
            session_id: 0x0304,
            peer_tunnel_id: 0x0506,
            peer_session_id: 0x0708,
        }
    }

    #[test]
    fn pppol2tp_sockaddr_sizes_match_the_c_structs() {
        assert_eq!(
            addr(2, "10.0.0.1:1701").to_bytes().len(),
            SOCKADDR_PPPOL2TP_LEN
        );
        assert_eq!(
            addr(2, "[fd00::1]:1701").to_bytes().len(),
            SOCKADDR_PPPOL2TPIN6_LEN
        );
        assert_eq!(
            addr(3, "10.0.0.1:1701").to_bytes().len(),
            SOCKADDR_PPPOL2TPV3_LEN
        );
        assert_eq!(
            addr(3, "[fd00::1]:1701").to_bytes().len(),
            SOCKADDR_PPPOL2TPV3IN6_LEN
        );
    }

    #[test]
    fn pppol2tp_v2_ipv4_layout() {
        let b = addr(2, "10.0.0.1:1701").to_bytes();
        let mut want = vec![];
        want.extend_from_slice(&24u16.to_ne_bytes()); // AF_PPPOX
        want.extend_from_slice(&1u32.to_ne_bytes()); // PX_PROTO_OL2TP, unaligned (packed)
        want.extend_from_slice(&0u32.to_ne_bytes()); // pid
        want.extend_from_slice(&7u32.to_ne_bytes()); // fd
        want.extend_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        want.extend_from_slice(&[0x06, 0xa5, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]); // port 1701 BE
        for id in [0x0102u16, 0x0304, 0x0506, 0x0708] {
            want.extend_from_slice(&id.to_ne_bytes());
        }
        assert_eq!(b, want);
    }

    #[test]
    fn pppol2tp_v3_ipv6_puts_ids_before_the_address() {
        let b = addr(3, "[fd00::1]:1701").to_bytes();
        assert_eq!(&b[14..18], &0x0102u32.to_ne_bytes());
        assert_eq!(&b[26..30], &0x0708u32.to_ne_bytes());
        assert_eq!(&b[30..32], &(libc::AF_INET6 as u16).to_ne_bytes());
        assert_eq!(&b[32..34], &1701u16.to_be_bytes());
        assert_eq!(b[38], 0xfd);
    }

    #[test]
    fn l2tpip_sockaddr_sizes_and_layout() {
        let b = sockaddr_l2tpip(Ipv4Addr::new(10, 0, 0, 1), 42);
        assert_eq!(b.len(), std::mem::size_of::<libc::sockaddr_in>());
        assert_eq!(&b[0..2], &(libc::AF_INET as u16).to_ne_bytes());
        assert_eq!(&b[4..8], &[10, 0, 0, 1]);
        assert_eq!(&b[8..12], &42u32.to_ne_bytes());
        let b6 = sockaddr_l2tpip6("fd00::1".parse().unwrap(), 0, 42);
        assert_eq!(b6.len(), 32);
        // The first 28 bytes match struct sockaddr_in6; conn_id follows.
        assert_eq!(std::mem::size_of::<libc::sockaddr_in6>(), 28);
        assert_eq!(&b6[28..32], &42u32.to_ne_bytes());
        assert_eq!(b6[8], 0xfd);
    }
}
