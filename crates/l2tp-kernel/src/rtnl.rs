//! A few blocking rtnetlink (`NETLINK_ROUTE`) requests for a PPP unit's interface: the
//! point-to-point address pppd would give it (`ip addr add LOCAL peer PEER/32 dev pppN`) and
//! the link up (`ip link set pppN up`). Messages are built with `netlink-packet-route`.
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
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet;
    msg.header.prefix_len = 32;
    msg.header.scope = AddressScope::Universe;
    msg.header.index = index;
    msg.attributes
        .push(AddressAttribute::Local(IpAddr::V4(local)));
    msg.attributes
        .push(AddressAttribute::Address(IpAddr::V4(peer)));
    request(
        RouteNetlinkMessage::NewAddress(msg),
        NLM_F_CREATE | NLM_F_EXCL,
        "add address to",
    )
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

/// Sends one request and waits for its acknowledgement.
fn request(msg: RouteNetlinkMessage, extra_flags: u16, what: &'static str) -> Result<()> {
    let object = Object::Other("network interface");
    let io_err = |e: io::Error| Error::from_io(e, what, object, "");
    let mut sock = Socket::new(NETLINK_ROUTE).map_err(io_err)?;
    sock.bind_auto().map_err(io_err)?;
    sock.connect(&NlAddr::new(0, 0)).map_err(io_err)?;
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_ACK | extra_flags;
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
            if let NetlinkPayload::Error(e) = m.payload {
                return match e.code {
                    None => Ok(()),
                    Some(code) => Err(Error::from_errno(-code.get(), what, object, "")),
                };
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
