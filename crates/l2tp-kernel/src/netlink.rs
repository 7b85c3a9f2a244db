//! A synchronous client of the generic netlink `l2tp` family: typed requests and replies.
//!
//! The family id is resolved by name (`CTRL_CMD_GETFAMILY`), never hard-coded: it differs between
//! kernels (32 on Debian 6.1, 35 on 6.12).

use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP,
    NLM_F_REQUEST,
};
use netlink_packet_generic::ctrl::nlas::{GenlCtrlAttrs, McastGrpAttrs};
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::GenlMessage;
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr as NlAddr};

use crate::attr::{EncapType, L2SpecType, L2tpAttr, PwType};
use crate::error::{Error, Object, Result};
use crate::message::{L2tpCmd, L2tpMessage, L2TP_GENL_MCGROUP, L2TP_GENL_NAME};
use crate::stats::Stats;

/// The module that registers the genl family.
const MOD_NETLINK: &str = "l2tp_netlink";

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

    fn encap(&self) -> EncapType {
        match self.transport {
            TunnelTransport::Socket { encap, .. } => encap,
            TunnelTransport::Udp { .. } => EncapType::Udp,
            TunnelTransport::Ip { .. } => EncapType::Ip,
        }
    }

    /// The module whose absence makes creating this tunnel fail with EPROTONOSUPPORT.
    fn module(&self) -> &'static str {
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

    fn validate(&self) -> Result<()> {
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

    fn object(&self) -> Object {
        Object::Session {
            tunnel: self.tunnel_id,
            session: self.session_id,
        }
    }

    fn module(&self) -> &'static str {
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

    fn validate(&self) -> Result<()> {
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

fn push_session_opts(
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

/// Encode one request exactly as it goes on the wire (sequence number and port id given).
pub fn encode_request(family_id: u16, seq: u32, flags: u16, msg: L2tpMessage) -> Vec<u8> {
    let mut genl = GenlMessage::from_payload(msg);
    genl.set_resolved_family_id(family_id);
    encode(genl, seq, flags)
}

fn encode<F>(genl: GenlMessage<F>, seq: u32, flags: u16) -> Vec<u8>
where
    F: netlink_packet_generic::GenlFamily + netlink_packet_core::Emitable + std::fmt::Debug,
{
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut nl = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(genl));
    nl.finalize();
    let mut buf = vec![0u8; nl.buffer_len()];
    nl.serialize(&mut buf);
    buf
}

/// Split a receive buffer into `l2tp` messages (`NLMSG_ERROR` / `NLMSG_DONE` included).
pub fn decode_messages(buf: &[u8]) -> Result<Vec<NetlinkMessage<GenlMessage<L2tpMessage>>>> {
    decode_all(buf)
}

fn decode_all<F>(mut buf: &[u8]) -> Result<Vec<NetlinkMessage<F>>>
where
    F: netlink_packet_core::NetlinkDeserializable,
{
    let mut out = Vec::new();
    while buf.len() >= 16 {
        let len = NetlinkBuffer::new_checked(buf)
            .map_err(|e| Error::Decode(e.to_string()))?
            .length() as usize;
        if len < 16 || len > buf.len() {
            return Err(Error::Decode(format!(
                "netlink length {len} of {} bytes",
                buf.len()
            )));
        }
        out.push(
            NetlinkMessage::<F>::deserialize(&buf[..len])
                .map_err(|e| Error::Decode(e.to_string()))?,
        );
        let aligned = (len + 3) & !3;
        buf = &buf[aligned.min(buf.len())..];
    }
    Ok(out)
}

static NEXT_SEQ: AtomicU32 = AtomicU32::new(1);

fn nl_socket() -> std::io::Result<Socket> {
    let mut s = Socket::new(NETLINK_GENERIC)?;
    s.bind_auto()?;
    s.connect(&NlAddr::new(0, 0))?;
    Ok(s)
}

fn recv(sock: &Socket) -> std::io::Result<Vec<u8>> {
    sock.recv_from_full().map(|(b, _)| b)
}

/// The family id and multicast group id of `l2tp`, resolved by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    /// Generic netlink family id.
    pub id: u16,
    /// Multicast group `l2tp` id, if the kernel registers it.
    pub mcast_group: Option<u32>,
}

impl Family {
    /// Extract the family id and the `l2tp` multicast group from a `CTRL_CMD_NEWFAMILY` reply.
    pub fn from_ctrl_attrs(nlas: &[GenlCtrlAttrs]) -> Family {
        let mut f = Family {
            id: 0,
            mcast_group: None,
        };
        for nla in nlas {
            match nla {
                GenlCtrlAttrs::FamilyId(id) => f.id = *id,
                GenlCtrlAttrs::McastGroups(groups) => {
                    for g in groups {
                        let name = g.iter().find_map(|a| match a {
                            McastGrpAttrs::Name(n) => Some(n.as_str()),
                            _ => None,
                        });
                        let id = g.iter().find_map(|a| match a {
                            McastGrpAttrs::Id(i) => Some(*i),
                            _ => None,
                        });
                        if name == Some(L2TP_GENL_MCGROUP) {
                            f.mcast_group = id;
                        }
                    }
                }
                _ => {}
            }
        }
        f
    }
}

/// Ask the controller for the family `l2tp`.
pub fn resolve_family(sock: &Socket) -> Result<Family> {
    let seq = NEXT_SEQ.fetch_add(1, Ordering::Relaxed);
    let mut genl = GenlMessage::from_payload(GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName(L2TP_GENL_NAME.to_owned())],
    });
    genl.finalize();
    let buf = encode(genl, seq, NLM_F_REQUEST | NLM_F_ACK);
    let io = |e| Error::from_io(e, "resolve", Object::Family, MOD_NETLINK);
    sock.send(&buf, 0).map_err(io)?;
    let mut family = None;
    loop {
        let data = recv(sock).map_err(io)?;
        for msg in decode_all::<GenlMessage<GenlCtrl>>(&data)? {
            if msg.header.sequence_number != seq {
                continue;
            }
            match msg.payload {
                NetlinkPayload::InnerMessage(m) => {
                    family = Some(Family::from_ctrl_attrs(&m.payload.nlas));
                }
                NetlinkPayload::Error(e) => match e.code {
                    None => {
                        return family.ok_or_else(|| Error::Decode("no family in reply".into()))
                    }
                    Some(code) => {
                        let errno = -code.get();
                        // The controller answers ENOENT when no module registered the family.
                        return Err(if errno == libc::ENOENT {
                            Error::ModuleMissing {
                                module: MOD_NETLINK,
                                what: "generic netlink family \"l2tp\" not found".into(),
                            }
                        } else {
                            Error::from_errno(errno, "resolve", Object::Family, MOD_NETLINK)
                        });
                    }
                },
                _ => {}
            }
        }
    }
}

/// A blocking connection to the kernel's `l2tp` generic netlink family.
pub struct L2tpNetlink {
    sock: Socket,
    family: Family,
}

impl std::fmt::Debug for L2tpNetlink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L2tpNetlink")
            .field("family", &self.family)
            .finish()
    }
}

impl L2tpNetlink {
    /// Open a netlink socket and resolve the family. Fails with
    /// [`Error::ModuleMissing`] naming `l2tp_netlink` when the kernel has no L2TP.
    pub fn open() -> Result<Self> {
        let sock = nl_socket()
            .map_err(|e| Error::from_io(e, "open netlink", Object::Family, MOD_NETLINK))?;
        let family = resolve_family(&sock)?;
        Ok(L2tpNetlink { sock, family })
    }

    /// The resolved family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Send one request; collect the replies until the ACK (or `NLMSG_DONE` for dumps).
    fn request(
        &self,
        cmd: L2tpCmd,
        attrs: Vec<L2tpAttr>,
        dump: bool,
        what: &'static str,
        object: Object,
        module: &'static str,
    ) -> Result<Vec<Vec<L2tpAttr>>> {
        let seq = NEXT_SEQ.fetch_add(1, Ordering::Relaxed);
        let flags = if dump {
            NLM_F_REQUEST | NLM_F_DUMP
        } else {
            NLM_F_REQUEST | NLM_F_ACK
        };
        let buf = encode_request(self.family.id, seq, flags, L2tpMessage::new(cmd, attrs));
        let io = |e| Error::from_io(e, what, object, module);
        self.sock.send(&buf, 0).map_err(io)?;
        let mut out = Vec::new();
        loop {
            let data = recv(&self.sock).map_err(io)?;
            for msg in decode_messages(&data)? {
                if msg.header.sequence_number != seq {
                    continue;
                }
                match msg.payload {
                    NetlinkPayload::InnerMessage(m) => out.push(m.payload.attrs),
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) => match e.code {
                        None => return Ok(out),
                        Some(code) => {
                            return Err(Error::from_errno(-code.get(), what, object, module))
                        }
                    },
                    _ => {}
                }
            }
        }
    }

    /// `L2TP_CMD_TUNNEL_CREATE`.
    pub fn create_tunnel(&self, spec: &TunnelSpec) -> Result<()> {
        spec.validate()?;
        self.request(
            L2tpCmd::TunnelCreate,
            spec.to_attrs(),
            false,
            "create",
            Object::Tunnel(spec.tunnel_id),
            spec.module(),
        )
        .map(drop)
    }

    /// `L2TP_CMD_TUNNEL_DELETE` (also deletes its sessions).
    pub fn delete_tunnel(&self, tunnel_id: u32) -> Result<()> {
        self.request(
            L2tpCmd::TunnelDelete,
            vec![L2tpAttr::ConnId(tunnel_id)],
            false,
            "delete",
            Object::Tunnel(tunnel_id),
            MOD_NETLINK,
        )
        .map(drop)
    }

    /// `L2TP_CMD_TUNNEL_MODIFY`: the kernel only lets the debug flags change.
    pub fn modify_tunnel(&self, tunnel_id: u32, debug: u32) -> Result<()> {
        self.request(
            L2tpCmd::TunnelModify,
            vec![L2tpAttr::ConnId(tunnel_id), L2tpAttr::Debug(debug)],
            false,
            "modify",
            Object::Tunnel(tunnel_id),
            MOD_NETLINK,
        )
        .map(drop)
    }

    /// `L2TP_CMD_TUNNEL_GET` of one tunnel.
    pub fn get_tunnel(&self, tunnel_id: u32) -> Result<TunnelInfo> {
        let object = Object::Tunnel(tunnel_id);
        let mut r = self.request(
            L2tpCmd::TunnelGet,
            vec![L2tpAttr::ConnId(tunnel_id)],
            false,
            "get",
            object,
            MOD_NETLINK,
        )?;
        r.pop()
            .map(TunnelInfo::from_attrs)
            .ok_or(Error::NotFound { object })
    }

    /// `L2TP_CMD_TUNNEL_GET` with `NLM_F_DUMP`: every tunnel of this network namespace.
    pub fn list_tunnels(&self) -> Result<Vec<TunnelInfo>> {
        let r = self.request(
            L2tpCmd::TunnelGet,
            vec![],
            true,
            "dump",
            Object::Other("tunnels"),
            MOD_NETLINK,
        )?;
        Ok(r.into_iter().map(TunnelInfo::from_attrs).collect())
    }

    /// `L2TP_CMD_SESSION_CREATE`.
    pub fn create_session(&self, spec: &SessionSpec) -> Result<()> {
        spec.validate()?;
        self.request(
            L2tpCmd::SessionCreate,
            spec.to_attrs(),
            false,
            "create",
            spec.object(),
            spec.module(),
        )
        .map(drop)
        .map_err(|e| match e {
            // The kernel answers ENODEV when the parent tunnel does not exist.
            Error::NotFound { .. } => Error::NotFound {
                object: Object::Tunnel(spec.tunnel_id),
            },
            e => e,
        })
    }

    /// `L2TP_CMD_SESSION_DELETE`.
    pub fn delete_session(&self, tunnel_id: u32, session_id: u32) -> Result<()> {
        self.request(
            L2tpCmd::SessionDelete,
            vec![L2tpAttr::ConnId(tunnel_id), L2tpAttr::SessionId(session_id)],
            false,
            "delete",
            Object::Session {
                tunnel: tunnel_id,
                session: session_id,
            },
            MOD_NETLINK,
        )
        .map(drop)
    }

    /// `L2TP_CMD_SESSION_MODIFY`.
    pub fn modify_session(&self, tunnel_id: u32, session_id: u32, m: &SessionModify) -> Result<()> {
        let mut a = vec![L2tpAttr::ConnId(tunnel_id), L2tpAttr::SessionId(session_id)];
        push_session_opts(
            &mut a,
            m.send_seq,
            m.recv_seq,
            m.lns_mode,
            m.reorder_timeout,
        );
        if let Some(v) = m.mtu {
            a.push(L2tpAttr::Mtu(v));
        }
        if let Some(v) = m.mru {
            a.push(L2tpAttr::Mru(v));
        }
        self.request(
            L2tpCmd::SessionModify,
            a,
            false,
            "modify",
            Object::Session {
                tunnel: tunnel_id,
                session: session_id,
            },
            MOD_NETLINK,
        )
        .map(drop)
    }

    /// `L2TP_CMD_SESSION_GET` of one session.
    pub fn get_session(&self, tunnel_id: u32, session_id: u32) -> Result<SessionInfo> {
        let object = Object::Session {
            tunnel: tunnel_id,
            session: session_id,
        };
        let mut r = self.request(
            L2tpCmd::SessionGet,
            vec![L2tpAttr::ConnId(tunnel_id), L2tpAttr::SessionId(session_id)],
            false,
            "get",
            object,
            MOD_NETLINK,
        )?;
        r.pop()
            .map(SessionInfo::from_attrs)
            .ok_or(Error::NotFound { object })
    }

    /// `L2TP_CMD_SESSION_GET` with `NLM_F_DUMP`: every session of this network namespace.
    pub fn list_sessions(&self) -> Result<Vec<SessionInfo>> {
        let r = self.request(
            L2tpCmd::SessionGet,
            vec![],
            true,
            "dump",
            Object::Other("sessions"),
            MOD_NETLINK,
        )?;
        Ok(r.into_iter().map(SessionInfo::from_attrs).collect())
    }

    /// Create a tunnel and one session in it; if the session fails, the tunnel is deleted again
    /// so nothing is left half-created. The session's error is returned.
    pub fn create_tunnel_with_session(
        &self,
        tunnel: &TunnelSpec,
        session: &SessionSpec,
    ) -> Result<()> {
        if session.tunnel_id != tunnel.tunnel_id {
            return Err(Error::Invalid(format!(
                "session names tunnel {} but the tunnel is {}",
                session.tunnel_id, tunnel.tunnel_id
            )));
        }
        session.validate()?;
        self.create_tunnel(tunnel)?;
        if let Err(e) = self.create_session(session) {
            // Best effort: the session error is the one worth reporting.
            let _ = self.delete_tunnel(tunnel.tunnel_id);
            return Err(e);
        }
        Ok(())
    }
}

impl AsRawFd for L2tpNetlink {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

/// One notification of the `l2tp` multicast group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L2tpEvent {
    /// The command that happened (TUNNEL_CREATE, SESSION_DELETE, ...).
    pub cmd: L2tpCmd,
    /// Its attributes.
    pub attrs: Vec<L2tpAttr>,
}

impl L2tpEvent {
    /// The tunnel id, if present.
    pub fn tunnel_id(&self) -> Option<u32> {
        self.attrs.iter().find_map(|a| match a {
            L2tpAttr::ConnId(v) => Some(*v),
            _ => None,
        })
    }

    /// The session id, if present.
    pub fn session_id(&self) -> Option<u32> {
        self.attrs.iter().find_map(|a| match a {
            L2tpAttr::SessionId(v) => Some(*v),
            _ => None,
        })
    }
}

/// A subscription to the `l2tp` multicast group: tunnel and session create/delete/modify
/// notifications of this network namespace.
pub struct L2tpEvents {
    sock: Socket,
    pending: std::collections::VecDeque<L2tpEvent>,
}

impl L2tpEvents {
    /// Subscribe.
    pub fn subscribe() -> Result<Self> {
        let io = |e| Error::from_io(e, "subscribe", Object::Family, MOD_NETLINK);
        let sock = nl_socket().map_err(io)?;
        let family = resolve_family(&sock)?;
        let group = family
            .mcast_group
            .ok_or_else(|| Error::Decode("family l2tp has no multicast group \"l2tp\"".into()))?;
        sock.add_membership(group).map_err(io)?;
        Ok(L2tpEvents {
            sock,
            pending: Default::default(),
        })
    }

    /// Wait for the next event, at most `timeout` (`None`: forever). `Ok(None)` on timeout.
    pub fn recv(&mut self, timeout: Option<Duration>) -> Result<Option<L2tpEvent>> {
        if let Some(ev) = self.pending.pop_front() {
            return Ok(Some(ev));
        }
        let io = |e| Error::from_io(e, "receive events", Object::Family, MOD_NETLINK);
        let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
        let mut pfd = libc::pollfd {
            fd: self.sock.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `pfd` is a valid, initialised pollfd that lives across the call; nfds is 1.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n < 0 {
            return Err(io(std::io::Error::last_os_error()));
        }
        if n == 0 {
            return Ok(None);
        }
        let data = recv(&self.sock).map_err(io)?;
        for msg in decode_messages(&data)? {
            if let NetlinkPayload::InnerMessage(m) = msg.payload {
                self.pending.push_back(L2tpEvent {
                    cmd: m.payload.cmd,
                    attrs: m.payload.attrs,
                });
            }
        }
        Ok(self.pending.pop_front())
    }
}

impl AsRawFd for L2tpEvents {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}
