//! Replies: tunnels and sessions as the kernel reports them (`L2TP_CMD_*_GET`).

use std::net::IpAddr;
use std::time::Duration;

use crate::attr::{EncapType, L2tpAttr, PwType};
use crate::stats::Stats;

/// A tunnel as the kernel reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TunnelInfo {
    /// Local tunnel id.
    pub tunnel_id: u32,
    /// Peer tunnel id.
    pub peer_tunnel_id: u32,
    /// L2TP version.
    pub version: u8,
    /// Encapsulation (`None` if not reported).
    pub encap: Option<EncapType>,
    /// Local address (unmanaged tunnels and connected sockets).
    pub local: Option<IpAddr>,
    /// Peer address.
    pub peer: Option<IpAddr>,
    /// Local UDP port.
    pub udp_sport: Option<u16>,
    /// Peer UDP port.
    pub udp_dport: Option<u16>,
    /// UDP checksum (IPv4).
    pub udp_csum: Option<bool>,
    /// Traffic counters.
    pub stats: Stats,
    /// Every attribute as received.
    pub attrs: Vec<L2tpAttr>,
}

impl TunnelInfo {
    /// Collect the attributes of a TUNNEL_GET reply.
    pub fn from_attrs(attrs: Vec<L2tpAttr>) -> Self {
        let mut t = TunnelInfo::default();
        for a in &attrs {
            match a {
                L2tpAttr::ConnId(v) => t.tunnel_id = *v,
                L2tpAttr::PeerConnId(v) => t.peer_tunnel_id = *v,
                L2tpAttr::ProtoVersion(v) => t.version = *v,
                L2tpAttr::EncapType(v) => t.encap = Some(*v),
                L2tpAttr::IpSaddr(v) => t.local = Some(IpAddr::V4(*v)),
                L2tpAttr::IpDaddr(v) => t.peer = Some(IpAddr::V4(*v)),
                L2tpAttr::Ip6Saddr(v) => t.local = Some(IpAddr::V6(*v)),
                L2tpAttr::Ip6Daddr(v) => t.peer = Some(IpAddr::V6(*v)),
                L2tpAttr::UdpSport(v) => t.udp_sport = Some(*v),
                L2tpAttr::UdpDport(v) => t.udp_dport = Some(*v),
                L2tpAttr::UdpCsum(v) => t.udp_csum = Some(*v),
                L2tpAttr::Stats(s) => t.stats = Stats::from_attrs(s),
                _ => {}
            }
        }
        t.attrs = attrs;
        t
    }
}

/// A session as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Parent tunnel id.
    pub tunnel_id: u32,
    /// Peer tunnel id.
    pub peer_tunnel_id: u32,
    /// Local session id.
    pub session_id: u32,
    /// Peer session id.
    pub peer_session_id: u32,
    /// Pseudowire type.
    pub pw_type: PwType,
    /// Interface name (Ethernet).
    pub ifname: Option<String>,
    /// Cookie sent.
    pub cookie: Vec<u8>,
    /// Cookie expected on receive.
    pub peer_cookie: Vec<u8>,
    /// Sending sequence numbers.
    pub send_seq: bool,
    /// Requiring sequence numbers.
    pub recv_seq: bool,
    /// LNS mode.
    pub lns_mode: bool,
    /// Reorder timeout.
    pub reorder_timeout: Option<Duration>,
    /// MTU (if reported).
    pub mtu: Option<u16>,
    /// MRU (if reported).
    pub mru: Option<u16>,
    /// Traffic counters.
    pub stats: Stats,
    /// Every attribute as received.
    pub attrs: Vec<L2tpAttr>,
}

impl SessionInfo {
    /// Collect the attributes of a SESSION_GET reply.
    pub fn from_attrs(attrs: Vec<L2tpAttr>) -> Self {
        let mut s = SessionInfo {
            tunnel_id: 0,
            peer_tunnel_id: 0,
            session_id: 0,
            peer_session_id: 0,
            pw_type: PwType::None,
            ifname: None,
            cookie: Vec::new(),
            peer_cookie: Vec::new(),
            send_seq: false,
            recv_seq: false,
            lns_mode: false,
            reorder_timeout: None,
            mtu: None,
            mru: None,
            stats: Stats::default(),
            attrs: Vec::new(),
        };
        for a in &attrs {
            match a {
                L2tpAttr::ConnId(v) => s.tunnel_id = *v,
                L2tpAttr::PeerConnId(v) => s.peer_tunnel_id = *v,
                L2tpAttr::SessionId(v) => s.session_id = *v,
                L2tpAttr::PeerSessionId(v) => s.peer_session_id = *v,
                L2tpAttr::PwType(v) => s.pw_type = *v,
                L2tpAttr::IfName(v) => s.ifname = Some(v.clone()),
                L2tpAttr::Cookie(v) => s.cookie = v.clone(),
                L2tpAttr::PeerCookie(v) => s.peer_cookie = v.clone(),
                L2tpAttr::SendSeq(v) => s.send_seq = *v,
                L2tpAttr::RecvSeq(v) => s.recv_seq = *v,
                L2tpAttr::LnsMode(v) => s.lns_mode = *v,
                L2tpAttr::RecvTimeout(v) => s.reorder_timeout = Some(Duration::from_millis(*v)),
                L2tpAttr::Mtu(v) => s.mtu = Some(*v),
                L2tpAttr::Mru(v) => s.mru = Some(*v),
                L2tpAttr::Stats(st) => s.stats = Stats::from_attrs(st),
                _ => {}
            }
        }
        s.attrs = attrs;
        s
    }
}
