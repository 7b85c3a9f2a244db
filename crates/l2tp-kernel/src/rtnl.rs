//! A few blocking rtnetlink (`NETLINK_ROUTE`) requests for a PPP unit's interface: the
//! point-to-point address pppd would give it (`ip addr add LOCAL peer PEER/32 dev pppN`) and
//! the link up (`ip link set pppN up`). Messages are built with `netlink-packet-route`.
//!
//! One more reads an interface's 64-bit counters (`IFLA_STATS64`, as `ip -s link show`).
//!
//! Each call opens its own socket (one per PPP session's IPCP up, not per packet) and waits
//! for the kernel's acknowledgement, so an error names what the kernel refused.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr as NlAddr};

use crate::error::{Error, Object, Result};

/// The interface index of `ifname`.
///
/// # Errors
/// [`Error::NotFound`] when no interface has that name.
pub fn ifindex(ifname: &str) -> Result<u32> {
    nix::net::if_::if_nametoindex(ifname)
        .map_err(|e| Error::from_errno(e as i32, "look up", Object::Other("network interface"), ""))
}

/// Gives interface `index` the IPv4 address `local` with `peer` as its point-to-point
/// destination, prefix length 32 (`IFA_LOCAL` = local, `IFA_ADDRESS` = peer): the kernel adds
/// the /32 route to `peer` through the interface. Scope universe, as pppd's `sifaddr`.
///
/// # Errors
/// [`Error::Exists`] when the interface has that address already; [`Error::NotFound`] for an
/// unknown index; [`Error::Kernel`] for any other refusal.
pub fn add_ptp_address(index: u32, local: Ipv4Addr, peer: Ipv4Addr) -> Result<()> {
    request(
        RouteNetlinkMessage::NewAddress(ptp_address(index, local, peer)),
        NLM_F_CREATE | NLM_F_EXCL,
        "add address to",
    )
}

/// Takes the point-to-point address [`add_ptp_address`] gave back off interface `index` (and
/// with it the /32 route to `peer`), as pppd's `cifaddr` when IPCP goes down or changes.
///
/// # Errors
/// [`Error::NotFound`] when the interface or the address is not there; [`Error::Kernel`] for
/// any other refusal.
pub fn del_ptp_address(index: u32, local: Ipv4Addr, peer: Ipv4Addr) -> Result<()> {
    request(
        RouteNetlinkMessage::DelAddress(ptp_address(index, local, peer)),
        0,
        "remove address from",
    )
}

/// The address message of `local` peer `peer`/32 on interface `index`, scope universe.
fn ptp_address(index: u32, local: Ipv4Addr, peer: Ipv4Addr) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet;
    msg.header.prefix_len = 32;
    msg.header.scope = AddressScope::Universe;
    msg.header.index = index;
    msg.attributes
        .push(AddressAttribute::Local(IpAddr::V4(local)));
    msg.attributes
        .push(AddressAttribute::Address(IpAddr::V4(peer)));
    msg
}

/// Gives interface `index` the IPv6 link-local address `fe80::<interface_id>/64` (the
/// interface identifier IPV6CP negotiated, RFC 5072 §5; host byte order `u64`, the address's
/// low 64 bits), scope link, as pppd's `sif6addr`; the kernel adds the fe80::/64 route
/// through the interface. The interface should be up (the kernel refuses IPv6 addresses on an
/// interface whose IPv6 is disabled).
///
/// # Errors
/// [`Error::Exists`] when the interface has that address already; [`Error::NotFound`] for an
/// unknown index; [`Error::Kernel`] for any other refusal.
pub fn add_link_local_v6(index: u32, interface_id: u64) -> Result<()> {
    let addr = link_local_v6(interface_id);
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet6;
    msg.header.prefix_len = 64;
    msg.header.scope = AddressScope::Link;
    msg.header.index = index;
    msg.attributes
        .push(AddressAttribute::Local(IpAddr::V6(addr)));
    msg.attributes
        .push(AddressAttribute::Address(IpAddr::V6(addr)));
    request(
        RouteNetlinkMessage::NewAddress(msg),
        NLM_F_CREATE | NLM_F_EXCL,
        "add IPv6 address to",
    )
}

/// `fe80::<interface_id>`: the link-local address of an IPV6CP interface identifier (RFC 5072
/// §5: the identifier is the address's low 64 bits).
pub fn link_local_v6(interface_id: u64) -> Ipv6Addr {
    Ipv6Addr::from((0xfe80u128 << 112) | u128::from(interface_id))
}

/// Sets interface `index` up (`IFF_UP`) or down, and its MTU (bytes) when `mtu` is given.
///
/// # Errors
/// [`Error::NotFound`] for an unknown index; [`Error::Kernel`] for any other refusal (an MTU
/// out of the device's range: `EINVAL`).
pub fn set_link_up(index: u32, up: bool, mtu: Option<u32>) -> Result<()> {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    msg.header.flags = if up {
        LinkFlags::Up
    } else {
        LinkFlags::empty()
    };
    msg.header.change_mask = LinkFlags::Up;
    if let Some(mtu) = mtu {
        msg.attributes.push(LinkAttribute::Mtu(mtu));
    }
    request(RouteNetlinkMessage::SetLink(msg), 0, "set up")
}

/// Renames interface `index` to `name` (the interface must be down).
///
/// # Errors
/// [`Error::Exists`] when another interface has that name; [`Error::Invalid`] for a name the
/// kernel cannot take (empty, longer than 15 bytes, `/`, `:` or white space); [`Error::Kernel`]
/// for any other refusal.
pub fn set_link_name(index: u32, name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > 15
        || name
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace())
    {
        return Err(Error::Invalid(format!("interface name {name:?}")));
    }
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    request(RouteNetlinkMessage::SetLink(msg), 0, "rename")
}

/// An interface's counters (`struct rtnl_link_stats64`, `IFLA_STATS64`), the ones
/// `ip -s link show` prints. For a PPP unit (`pppN`, drivers/net/ppp/ppp_generic.c) the byte
/// counts are PPP frames without their two-byte Protocol field (so IP packets, headers
/// included, for IPv4/IPv6), neither L2TP/UDP/IP encapsulation nor `FF 03`; received
/// frames are counted before the NP mode check, including the IPCP/IPV6CP/CCP frames queued
/// for the control process; frames written to the PPP channel directly (LCP,
/// authentication) are not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Packets received.
    pub rx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets received in error.
    pub rx_errors: u64,
    /// Packets received and dropped (no buffer, NP mode drop, ...).
    pub rx_dropped: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Packets whose transmission failed.
    pub tx_errors: u64,
    /// Packets dropped on the way out.
    pub tx_dropped: u64,
}

/// Interface `index`'s counters: one `RTM_GETLINK` request for that index (no dump).
///
/// # Errors
/// [`Error::NotFound`] for an unknown index; [`Error::Decode`] when the reply carries no
/// `IFLA_STATS64` or cannot be parsed; [`Error::Kernel`] for any other refusal.
pub fn link_stats(index: u32) -> Result<LinkStats> {
    let what = "read counters of";
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    let reply = exchange(RouteNetlinkMessage::GetLink(msg), 0, what, |m| match m {
        RouteNetlinkMessage::NewLink(l) if l.header.index == index => Some(l),
        _ => None,
    })?
    .ok_or_else(|| Error::Decode(format!("rtnetlink: no link message for index {index}")))?;
    reply
        .attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::Stats64(s) => Some(LinkStats {
                rx_packets: s.rx_packets,
                rx_bytes: s.rx_bytes,
                rx_errors: s.rx_errors,
                rx_dropped: s.rx_dropped,
                tx_packets: s.tx_packets,
                tx_bytes: s.tx_bytes,
                tx_errors: s.tx_errors,
                tx_dropped: s.tx_dropped,
            }),
            _ => None,
        })
        .ok_or_else(|| Error::Decode(format!("rtnetlink: interface {index} without IFLA_STATS64")))
}

/// Sends one request and waits for its acknowledgement.
fn request(msg: RouteNetlinkMessage, extra_flags: u16, what: &'static str) -> Result<()> {
    exchange(msg, NLM_F_ACK | extra_flags, what, |_| None::<()>).map(|_| ())
}

/// Sends one request and reads replies until the acknowledgement (or error) or, when
/// `pick` takes a reply message, that message.
fn exchange<T>(
    msg: RouteNetlinkMessage,
    flags: u16,
    what: &'static str,
    mut pick: impl FnMut(RouteNetlinkMessage) -> Option<T>,
) -> Result<Option<T>> {
    let object = Object::Other("network interface");
    let io_err = |e: io::Error| Error::from_io(e, what, object, "");
    let mut sock = Socket::new(NETLINK_ROUTE).map_err(io_err)?;
    sock.bind_auto().map_err(io_err)?;
    sock.connect(&NlAddr::new(0, 0)).map_err(io_err)?;
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | flags;
    header.sequence_number = 1;
    let mut nl = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
    nl.finalize();
    let mut buf = vec![0u8; nl.buffer_len()];
    nl.serialize(&mut buf);
    sock.send(&buf, 0).map_err(io_err)?;
    loop {
        let (data, _) = sock.recv_from_full().map_err(io_err)?;
        let mut rest = &data[..];
        while !rest.is_empty() {
            let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(rest)
                .map_err(|e| Error::Decode(format!("rtnetlink reply to {what}: {e}")))?;
            let len = (m.header.length as usize).max(16);
            match m.payload {
                NetlinkPayload::Error(e) => {
                    return match e.code {
                        None => Ok(None),
                        Some(code) => Err(Error::from_errno(-code.get(), what, object, "")),
                    };
                }
                NetlinkPayload::InnerMessage(inner) => {
                    if let Some(t) = pick(inner) {
                        return Ok(Some(t));
                    }
                }
                _ => {}
            }
            rest = rest.get(len..).unwrap_or(&[]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The identifier is the address's low 64 bits, behind fe80::/64.
    #[test]
    fn link_local_v6_puts_the_interface_id_in_the_low_64_bits() {
        assert_eq!(
            link_local_v6(0x0211_22ff_fe33_4455),
            "fe80::211:22ff:fe33:4455".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(link_local_v6(1), "fe80::1".parse::<Ipv6Addr>().unwrap());
    }
}
