//! Requests' specifications: the tunnel and session the kernel is asked to create or modify,
//! checked ([`TunnelSpec::to_attrs`], [`SessionSpec::to_attrs`]) before anything is sent.

use std::net::{IpAddr, SocketAddr};
use std::os::fd::RawFd;
use std::time::Duration;

use crate::attr::{EncapType, L2SpecType, L2tpAttr, PwType};
use crate::error::{Error, Object, Result};

use super::MOD_NETLINK;

/// How a tunnel reaches its peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelTransport {
    /// Managed tunnel: the daemon owns this connected UDP or L2TP/IP socket (it must stay open;
    /// closing it removes the tunnel).
    Socket {
        /// The socket's file descriptor.
        fd: RawFd,
        /// Its encapsulation.
        encap: EncapType,
    },
    /// Unmanaged UDP tunnel: the kernel opens its own socket, as `ip l2tp add tunnel encap udp`.
    Udp {
        /// Local address and port.
        local: SocketAddr,
        /// Peer address and port.
        peer: SocketAddr,
        /// IPv4 only: compute UDP checksums (`None`: kernel default, off).
        checksum: Option<bool>,
        /// IPv6 only: send zero UDP checksums.
        zero_csum6_tx: bool,
        /// IPv6 only: accept zero UDP checksums.
        zero_csum6_rx: bool,
    },
    /// Unmanaged L2TP/IP tunnel (IP protocol 115, L2TPv3 only).
    Ip {
        /// Local address.
        local: IpAddr,
        /// Peer address.
        peer: IpAddr,
    },
}

/// Parameters of `L2TP_CMD_TUNNEL_CREATE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelSpec {
    /// Local tunnel id (non-zero).
    pub tunnel_id: u32,
    /// Peer tunnel id.
    pub peer_tunnel_id: u32,
    /// L2TP version, 2 or 3.
    pub version: u8,
    /// Transport.
    pub transport: TunnelTransport,
    /// Debug flags (ignored by current kernels).
    pub debug: Option<u32>,
}

impl TunnelSpec {
    /// An unmanaged L2TPv3 tunnel over UDP (like `ip l2tp add tunnel ... encap udp`).
    pub fn unmanaged_udp(
        tunnel_id: u32,
        peer_tunnel_id: u32,
        local: SocketAddr,
        peer: SocketAddr,
    ) -> Self {
        TunnelSpec {
            tunnel_id,
            peer_tunnel_id,
            version: 3,
            transport: TunnelTransport::Udp {
                local,
                peer,
                checksum: None,
                zero_csum6_tx: false,
                zero_csum6_rx: false,
            },
            debug: None,
        }
    }

    /// An unmanaged L2TPv3 tunnel over IP (like `ip l2tp add tunnel ... encap ip`).
    pub fn unmanaged_ip(tunnel_id: u32, peer_tunnel_id: u32, local: IpAddr, peer: IpAddr) -> Self {
        TunnelSpec {
            tunnel_id,
            peer_tunnel_id,
            version: 3,
            transport: TunnelTransport::Ip { local, peer },
            debug: None,
        }
    }

    /// A managed tunnel on the daemon's connected socket.
    pub fn managed(
        tunnel_id: u32,
        peer_tunnel_id: u32,
        version: u8,
        fd: RawFd,
        encap: EncapType,
    ) -> Self {
        TunnelSpec {
            tunnel_id,
            peer_tunnel_id,
            version,
            transport: TunnelTransport::Socket { fd, encap },
            debug: None,
        }
    }

    pub(super) fn encap(&self) -> EncapType {
        match self.transport {
            TunnelTransport::Socket { encap, .. } => encap,
            TunnelTransport::Udp { .. } => EncapType::Udp,
            TunnelTransport::Ip { .. } => EncapType::Ip,
        }
    }

    /// The module whose absence makes creating this tunnel fail with EPROTONOSUPPORT.
    pub(super) fn module(&self) -> &'static str {
        match &self.transport {
            TunnelTransport::Ip {
                local: IpAddr::V6(_),
                ..
            } => "l2tp_ip6",
            TunnelTransport::Ip { .. } => "l2tp_ip",
            TunnelTransport::Socket {
                encap: EncapType::Ip,
                ..
            } => "l2tp_ip",
            _ => "l2tp_core",
        }
    }

    /// The attributes of the create request, in the order `ip l2tp` sends them.
    pub fn to_attrs(&self) -> Vec<L2tpAttr> {
        let mut a = vec![
            L2tpAttr::ConnId(self.tunnel_id),
            L2tpAttr::PeerConnId(self.peer_tunnel_id),
            L2tpAttr::ProtoVersion(self.version),
            L2tpAttr::EncapType(self.encap()),
        ];
        if let Some(d) = self.debug {
            a.push(L2tpAttr::Debug(d));
        }
        let push_addrs = |a: &mut Vec<L2tpAttr>, local: IpAddr, peer: IpAddr| match (local, peer) {
            (IpAddr::V4(l), IpAddr::V4(p)) => {
                a.push(L2tpAttr::IpSaddr(l));
                a.push(L2tpAttr::IpDaddr(p));
            }
            (l, p) => {
                a.push(L2tpAttr::Ip6Saddr(to_v6(l)));
                a.push(L2tpAttr::Ip6Daddr(to_v6(p)));
            }
        };
        match &self.transport {
            TunnelTransport::Socket { fd, .. } => a.push(L2tpAttr::Fd(*fd as u32)),
            TunnelTransport::Ip { local, peer } => push_addrs(&mut a, *local, *peer),
            TunnelTransport::Udp {
                local,
                peer,
                checksum,
                zero_csum6_tx,
                zero_csum6_rx,
            } => {
                push_addrs(&mut a, local.ip(), peer.ip());
                if let Some(c) = checksum {
                    a.push(L2tpAttr::UdpCsum(*c));
                }
                if *zero_csum6_tx {
                    a.push(L2tpAttr::UdpZeroCsum6Tx);
                }
                if *zero_csum6_rx {
                    a.push(L2tpAttr::UdpZeroCsum6Rx);
                }
                a.push(L2tpAttr::UdpSport(local.port()));
                a.push(L2tpAttr::UdpDport(peer.port()));
            }
        }
        a
    }

    pub(super) fn validate(&self) -> Result<()> {
        if self.tunnel_id == 0 {
            return Err(Error::Invalid("tunnel id 0 is reserved".into()));
        }
        if !(2..=3).contains(&self.version) {
            return Err(Error::Invalid(format!(
                "L2TP version {} (2 or 3)",
                self.version
            )));
        }
        if self.version == 2 && (self.tunnel_id > 0xffff || self.peer_tunnel_id > 0xffff) {
            return Err(Error::Invalid("L2TPv2 tunnel ids are 16 bits".into()));
        }
        let mixed = |l: IpAddr, p: IpAddr| l.is_ipv4() != p.is_ipv4();
        match &self.transport {
            TunnelTransport::Udp { local, peer, .. } if mixed(local.ip(), peer.ip()) => Err(
                Error::Invalid("local and peer address families differ".into()),
            ),
            TunnelTransport::Ip { local, peer } if mixed(*local, *peer) => Err(Error::Invalid(
                "local and peer address families differ".into(),
            )),
            TunnelTransport::Ip { .. } if self.version != 3 => {
                Err(Error::Invalid("IP encapsulation needs L2TPv3".into()))
            }
            _ => Ok(()),
        }
    }
}

fn to_v6(a: IpAddr) -> std::net::Ipv6Addr {
    match a {
        IpAddr::V6(a) => a,
        IpAddr::V4(a) => a.to_ipv6_mapped(),
    }
}

/// Parameters of `L2TP_CMD_SESSION_CREATE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSpec {
    /// Parent tunnel id.
    pub tunnel_id: u32,
    /// Peer tunnel id (informational; `ip l2tp` sends 0).
    pub peer_tunnel_id: u32,
    /// Local session id (non-zero; unique per network namespace for L2TPv3).
    pub session_id: u32,
    /// Peer session id.
    pub peer_session_id: u32,
    /// Pseudowire type: [`PwType::Eth`] or [`PwType::Ppp`] have kernel drivers.
    pub pw_type: PwType,
    /// L2-specific sublayer (L2TPv3). `None`: not sent (kernel default).
    pub l2spec: Option<L2SpecType>,
    /// Interface name for Ethernet sessions (L2TPv3).
    pub ifname: Option<String>,
    /// Cookie the kernel puts in every data packet it sends (0, 4 or 8 bytes, L2TPv3): it must
    /// equal the peer's `peer_cookie`.
    pub cookie: Vec<u8>,
    /// Cookie every received data packet must carry (0, 4 or 8 bytes, L2TPv3); packets without
    /// it are dropped and counted in [`Stats::rx_cookie_discards`].
    pub peer_cookie: Vec<u8>,
    /// Send sequence numbers.
    pub send_seq: Option<bool>,
    /// Require sequence numbers.
    pub recv_seq: Option<bool>,
    /// LNS mode.
    pub lns_mode: Option<bool>,
    /// Reorder timeout.
    pub reorder_timeout: Option<Duration>,
    /// MTU.
    pub mtu: Option<u16>,
    /// MRU.
    pub mru: Option<u16>,
}

impl SessionSpec {
    /// An L2TPv3 Ethernet pseudowire with the default L2-specific sublayer, like
    /// `ip l2tp add session`.
    pub fn eth(tunnel_id: u32, session_id: u32, peer_session_id: u32) -> Self {
        SessionSpec {
            tunnel_id,
            peer_tunnel_id: 0,
            session_id,
            peer_session_id,
            pw_type: PwType::Eth,
            l2spec: Some(L2SpecType::Default),
            ifname: None,
            cookie: Vec::new(),
            peer_cookie: Vec::new(),
            send_seq: None,
            recv_seq: None,
            lns_mode: None,
            reorder_timeout: None,
            mtu: None,
            mru: None,
        }
    }

    /// A PPP session (carried by a PPPoL2TP socket connected afterwards).
    pub fn ppp(tunnel_id: u32, peer_tunnel_id: u32, session_id: u32, peer_session_id: u32) -> Self {
        SessionSpec {
            peer_tunnel_id,
            pw_type: PwType::Ppp,
            l2spec: None,
            ..SessionSpec::eth(tunnel_id, session_id, peer_session_id)
        }
    }

    pub(super) fn object(&self) -> Object {
        Object::Session {
            tunnel: self.tunnel_id,
            session: self.session_id,
        }
    }

    pub(super) fn module(&self) -> &'static str {
        match self.pw_type {
            PwType::Eth | PwType::EthVlan => "l2tp_eth",
            PwType::Ppp | PwType::PppAc => "l2tp_ppp",
            _ => MOD_NETLINK,
        }
    }

    /// The attributes of the create request, in the order `ip l2tp` sends them.
    pub fn to_attrs(&self) -> Vec<L2tpAttr> {
        let mut a = vec![
            L2tpAttr::ConnId(self.tunnel_id),
            L2tpAttr::PeerConnId(self.peer_tunnel_id),
            L2tpAttr::SessionId(self.session_id),
            L2tpAttr::PeerSessionId(self.peer_session_id),
            L2tpAttr::PwType(self.pw_type),
        ];
        if let Some(t) = self.l2spec {
            a.push(L2tpAttr::L2SpecType(t));
            a.push(L2tpAttr::L2SpecLen(if t == L2SpecType::None {
                0
            } else {
                4
            }));
        }
        if let Some(m) = self.mtu {
            a.push(L2tpAttr::Mtu(m));
        }
        if let Some(n) = &self.ifname {
            a.push(L2tpAttr::IfName(n.clone()));
        }
        if !self.cookie.is_empty() {
            a.push(L2tpAttr::Cookie(self.cookie.clone()));
        }
        if !self.peer_cookie.is_empty() {
            a.push(L2tpAttr::PeerCookie(self.peer_cookie.clone()));
        }
        push_session_opts(
            &mut a,
            self.send_seq,
            self.recv_seq,
            self.lns_mode,
            self.reorder_timeout,
        );
        if let Some(m) = self.mru {
            a.push(L2tpAttr::Mru(m));
        }
        a
    }

    pub(super) fn validate(&self) -> Result<()> {
        if self.session_id == 0 {
            return Err(Error::Invalid("session id 0 is reserved".into()));
        }
        for (name, c) in [("cookie", &self.cookie), ("peer cookie", &self.peer_cookie)] {
            if ![0, 4, 8].contains(&c.len()) {
                return Err(Error::Invalid(format!(
                    "{name} of {} bytes (0, 4 or 8)",
                    c.len()
                )));
            }
        }
        if let Some(n) = &self.ifname {
            if n.is_empty() || n.len() >= libc::IFNAMSIZ || n.contains(['/', ' ', '\0']) {
                return Err(Error::Invalid(format!("interface name {n:?}")));
            }
        }
        Ok(())
    }
}

pub(super) fn push_session_opts(
    a: &mut Vec<L2tpAttr>,
    send_seq: Option<bool>,
    recv_seq: Option<bool>,
    lns_mode: Option<bool>,
    reorder: Option<Duration>,
) {
    if let Some(v) = recv_seq {
        a.push(L2tpAttr::RecvSeq(v));
    }
    if let Some(v) = send_seq {
        a.push(L2tpAttr::SendSeq(v));
    }
    if let Some(v) = lns_mode {
        a.push(L2tpAttr::LnsMode(v));
    }
    if let Some(t) = reorder {
        a.push(L2tpAttr::RecvTimeout(
            t.as_millis().min(u64::MAX as u128) as u64
        ));
    }
}

/// Parameters of `L2TP_CMD_SESSION_MODIFY`: only the `Some` fields change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionModify {
    /// Send sequence numbers.
    pub send_seq: Option<bool>,
    /// Require sequence numbers.
    pub recv_seq: Option<bool>,
    /// LNS mode.
    pub lns_mode: Option<bool>,
    /// Reorder timeout.
    pub reorder_timeout: Option<Duration>,
    /// MTU.
    pub mtu: Option<u16>,
    /// MRU.
    pub mru: Option<u16>,
}
