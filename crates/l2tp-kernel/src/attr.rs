//! Attributes of the generic netlink `l2tp` family (`enum { L2TP_ATTR_* }` in `linux/l2tp.h`).
//!
//! Every attribute the kernel knows is a typed arm; anything else round-trips through
//! [`L2tpAttr::Other`], so a newer kernel's additions never break parsing.

use std::net::{Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    emit_u16, emit_u32, emit_u64, parse_string, parse_u16, parse_u32, parse_u64, parse_u8,
    DecodeError, DefaultNla, Emitable, Nla, NlaBuffer, NlasIterator, Parseable, NLA_TYPE_MASK,
};

/// `L2TP_ATTR_*` numbers.
#[allow(missing_docs)]
pub mod kind {
    pub const PW_TYPE: u16 = 1;
    pub const ENCAP_TYPE: u16 = 2;
    pub const OFFSET: u16 = 3;
    pub const DATA_SEQ: u16 = 4;
    pub const L2SPEC_TYPE: u16 = 5;
    pub const L2SPEC_LEN: u16 = 6;
    pub const PROTO_VERSION: u16 = 7;
    pub const IFNAME: u16 = 8;
    pub const CONN_ID: u16 = 9;
    pub const PEER_CONN_ID: u16 = 10;
    pub const SESSION_ID: u16 = 11;
    pub const PEER_SESSION_ID: u16 = 12;
    pub const UDP_CSUM: u16 = 13;
    pub const VLAN_ID: u16 = 14;
    pub const COOKIE: u16 = 15;
    pub const PEER_COOKIE: u16 = 16;
    pub const DEBUG: u16 = 17;
    pub const RECV_SEQ: u16 = 18;
    pub const SEND_SEQ: u16 = 19;
    pub const LNS_MODE: u16 = 20;
    pub const USING_IPSEC: u16 = 21;
    pub const RECV_TIMEOUT: u16 = 22;
    pub const FD: u16 = 23;
    pub const IP_SADDR: u16 = 24;
    pub const IP_DADDR: u16 = 25;
    pub const UDP_SPORT: u16 = 26;
    pub const UDP_DPORT: u16 = 27;
    pub const MTU: u16 = 28;
    pub const MRU: u16 = 29;
    pub const STATS: u16 = 30;
    pub const IP6_SADDR: u16 = 31;
    pub const IP6_DADDR: u16 = 32;
    pub const UDP_ZERO_CSUM6_TX: u16 = 33;
    pub const UDP_ZERO_CSUM6_RX: u16 = 34;
    pub const PAD: u16 = 35;
}

/// `L2TP_ATTR_STATS_*` numbers (nested in `L2TP_ATTR_STATS`).
#[allow(missing_docs)]
pub mod stats_kind {
    pub const TX_PACKETS: u16 = 1;
    pub const TX_BYTES: u16 = 2;
    pub const TX_ERRORS: u16 = 3;
    pub const RX_PACKETS: u16 = 4;
    pub const RX_BYTES: u16 = 5;
    pub const RX_SEQ_DISCARDS: u16 = 6;
    pub const RX_OOS_PACKETS: u16 = 7;
    pub const RX_ERRORS: u16 = 8;
    pub const PAD: u16 = 9;
    pub const RX_COOKIE_DISCARDS: u16 = 10;
    pub const RX_INVALID: u16 = 11;
}

/// Pseudowire type (`enum l2tp_pwtype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PwType {
    /// 0: none.
    None,
    /// 4: Ethernet VLAN (no kernel driver).
    EthVlan,
    /// 5: Ethernet (`l2tp_eth`).
    Eth,
    /// 7: PPP (`l2tp_ppp`).
    Ppp,
    /// 8: PPP access concentrator.
    PppAc,
    /// 11: IP (no kernel driver).
    Ip,
    /// Any other number.
    Other(u16),
}

impl From<u16> for PwType {
    fn from(v: u16) -> Self {
        match v {
            0 => Self::None,
            4 => Self::EthVlan,
            5 => Self::Eth,
            7 => Self::Ppp,
            8 => Self::PppAc,
            11 => Self::Ip,
            o => Self::Other(o),
        }
    }
}

impl From<PwType> for u16 {
    fn from(v: PwType) -> u16 {
        match v {
            PwType::None => 0,
            PwType::EthVlan => 4,
            PwType::Eth => 5,
            PwType::Ppp => 7,
            PwType::PppAc => 8,
            PwType::Ip => 11,
            PwType::Other(o) => o,
        }
    }
}

/// Tunnel encapsulation (`enum l2tp_encap_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncapType {
    /// 0: UDP.
    Udp,
    /// 1: IP protocol 115 (L2TPv3 only).
    Ip,
    /// Any other number.
    Other(u16),
}

impl From<u16> for EncapType {
    fn from(v: u16) -> Self {
        match v {
            0 => Self::Udp,
            1 => Self::Ip,
            o => Self::Other(o),
        }
    }
}

impl From<EncapType> for u16 {
    fn from(v: EncapType) -> u16 {
        match v {
            EncapType::Udp => 0,
            EncapType::Ip => 1,
            EncapType::Other(o) => o,
        }
    }
}

/// L2-specific sublayer (`enum l2tp_l2spec_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L2SpecType {
    /// 0: no sublayer.
    None,
    /// 1: the default L2-specific sublayer (4 bytes, carries a sequence number).
    Default,
    /// Any other number.
    Other(u8),
}

impl From<u8> for L2SpecType {
    fn from(v: u8) -> Self {
        match v {
            0 => Self::None,
            1 => Self::Default,
            o => Self::Other(o),
        }
    }
}

impl From<L2SpecType> for u8 {
    fn from(v: L2SpecType) -> u8 {
        match v {
            L2SpecType::None => 0,
            L2SpecType::Default => 1,
            L2SpecType::Other(o) => o,
        }
    }
}

/// One attribute of an `l2tp` genl message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L2tpAttr {
    /// Pseudowire type.
    PwType(PwType),
    /// Encapsulation.
    EncapType(EncapType),
    /// L2-specific sublayer type.
    L2SpecType(L2SpecType),
    /// L2-specific sublayer length (bytes).
    L2SpecLen(u8),
    /// L2TP version (2 or 3).
    ProtoVersion(u8),
    /// Interface name (Ethernet sessions).
    IfName(String),
    /// Local tunnel id.
    ConnId(u32),
    /// Peer tunnel id.
    PeerConnId(u32),
    /// Local session id.
    SessionId(u32),
    /// Peer session id.
    PeerSessionId(u32),
    /// UDP checksums on (unmanaged IPv4 tunnels).
    UdpCsum(bool),
    /// Local cookie (0, 4 or 8 bytes).
    Cookie(Vec<u8>),
    /// Peer cookie (0, 4 or 8 bytes).
    PeerCookie(Vec<u8>),
    /// Debug flags (unused by the kernel).
    Debug(u32),
    /// Require sequence numbers on received packets.
    RecvSeq(bool),
    /// Send sequence numbers.
    SendSeq(bool),
    /// LNS mode (the LNS decides sequencing).
    LnsMode(bool),
    /// IPsec in use (reported).
    UsingIpsec(bool),
    /// Reorder timeout, milliseconds.
    RecvTimeout(u64),
    /// Tunnel socket file descriptor (managed tunnels).
    Fd(u32),
    /// Local IPv4 address.
    IpSaddr(Ipv4Addr),
    /// Peer IPv4 address.
    IpDaddr(Ipv4Addr),
    /// Local UDP port.
    UdpSport(u16),
    /// Peer UDP port.
    UdpDport(u16),
    /// MTU.
    Mtu(u16),
    /// MRU.
    Mru(u16),
    /// Statistics (nested).
    Stats(Vec<StatsAttr>),
    /// Local IPv6 address.
    Ip6Saddr(Ipv6Addr),
    /// Peer IPv6 address.
    Ip6Daddr(Ipv6Addr),
    /// Send zero UDP checksums over IPv6 (flag).
    UdpZeroCsum6Tx,
    /// Accept zero UDP checksums over IPv6 (flag).
    UdpZeroCsum6Rx,
    /// Anything else, kept raw.
    Other(DefaultNla),
}

fn emit_bytes(buf: &mut [u8], v: &[u8]) {
    buf[..v.len()].copy_from_slice(v);
}

impl Nla for L2tpAttr {
    fn value_len(&self) -> usize {
        use L2tpAttr::*;
        match self {
            L2SpecType(_) | L2SpecLen(_) | ProtoVersion(_) | UdpCsum(_) | RecvSeq(_)
            | SendSeq(_) | LnsMode(_) | UsingIpsec(_) => 1,
            PwType(_) | EncapType(_) | UdpSport(_) | UdpDport(_) | Mtu(_) | Mru(_) => 2,
            ConnId(_) | PeerConnId(_) | SessionId(_) | PeerSessionId(_) | Debug(_) | Fd(_)
            | IpSaddr(_) | IpDaddr(_) => 4,
            RecvTimeout(_) => 8,
            Ip6Saddr(_) | Ip6Daddr(_) => 16,
            IfName(s) => s.len() + 1,
            Cookie(c) | PeerCookie(c) => c.len(),
            Stats(s) => s.as_slice().buffer_len(),
            UdpZeroCsum6Tx | UdpZeroCsum6Rx => 0,
            Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use L2tpAttr::*;
        match self {
            PwType(_) => kind::PW_TYPE,
            EncapType(_) => kind::ENCAP_TYPE,
            L2SpecType(_) => kind::L2SPEC_TYPE,
            L2SpecLen(_) => kind::L2SPEC_LEN,
            ProtoVersion(_) => kind::PROTO_VERSION,
            IfName(_) => kind::IFNAME,
            ConnId(_) => kind::CONN_ID,
            PeerConnId(_) => kind::PEER_CONN_ID,
            SessionId(_) => kind::SESSION_ID,
            PeerSessionId(_) => kind::PEER_SESSION_ID,
            UdpCsum(_) => kind::UDP_CSUM,
            Cookie(_) => kind::COOKIE,
            PeerCookie(_) => kind::PEER_COOKIE,
            Debug(_) => kind::DEBUG,
            RecvSeq(_) => kind::RECV_SEQ,
            SendSeq(_) => kind::SEND_SEQ,
            LnsMode(_) => kind::LNS_MODE,
            UsingIpsec(_) => kind::USING_IPSEC,
            RecvTimeout(_) => kind::RECV_TIMEOUT,
            Fd(_) => kind::FD,
            IpSaddr(_) => kind::IP_SADDR,
            IpDaddr(_) => kind::IP_DADDR,
            UdpSport(_) => kind::UDP_SPORT,
            UdpDport(_) => kind::UDP_DPORT,
            Mtu(_) => kind::MTU,
            Mru(_) => kind::MRU,
            // The kernel nests STATS without NLA_F_NESTED (nla_nest_start_noflag).
            Stats(_) => kind::STATS,
            Ip6Saddr(_) => kind::IP6_SADDR,
            Ip6Daddr(_) => kind::IP6_DADDR,
            UdpZeroCsum6Tx => kind::UDP_ZERO_CSUM6_TX,
            UdpZeroCsum6Rx => kind::UDP_ZERO_CSUM6_RX,
            Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use L2tpAttr::*;
        // The emit_* helpers only fail on a buffer shorter than value_len(), which the
        // Emitable machinery guarantees not to pass.
        match self {
            L2SpecType(v) => buf[0] = u8::from(*v),
            L2SpecLen(v) | ProtoVersion(v) => buf[0] = *v,
            UdpCsum(v) | RecvSeq(v) | SendSeq(v) | LnsMode(v) | UsingIpsec(v) => buf[0] = *v as u8,
            PwType(v) => emit_u16(buf, u16::from(*v)).expect("sized"),
            EncapType(v) => emit_u16(buf, u16::from(*v)).expect("sized"),
            UdpSport(v) | UdpDport(v) | Mtu(v) | Mru(v) => emit_u16(buf, *v).expect("sized"),
            ConnId(v) | PeerConnId(v) | SessionId(v) | PeerSessionId(v) | Debug(v) | Fd(v) => {
                emit_u32(buf, *v).expect("sized")
            }
            IpSaddr(a) | IpDaddr(a) => emit_bytes(buf, &a.octets()),
            RecvTimeout(v) => emit_u64(buf, *v).expect("sized"),
            Ip6Saddr(a) | Ip6Daddr(a) => emit_bytes(buf, &a.octets()),
            IfName(s) => {
                emit_bytes(buf, s.as_bytes());
                buf[s.len()] = 0;
            }
            Cookie(c) | PeerCookie(c) => emit_bytes(buf, c),
            Stats(s) => s.as_slice().emit(buf),
            UdpZeroCsum6Tx | UdpZeroCsum6Rx => {}
            Other(nla) => nla.emit_value(buf),
        }
    }
}

fn parse_bool(v: &[u8]) -> Result<bool, DecodeError> {
    Ok(parse_u8(v)? != 0)
}

fn parse_v4(v: &[u8]) -> Result<Ipv4Addr, DecodeError> {
    let a: [u8; 4] = v
        .get(..4)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| DecodeError::invalid_ip_address(v.len()))?;
    Ok(Ipv4Addr::from(a))
}

fn parse_v6(v: &[u8]) -> Result<Ipv6Addr, DecodeError> {
    let a: [u8; 16] = v
        .get(..16)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| DecodeError::invalid_ip_address(v.len()))?;
    Ok(Ipv6Addr::from(a))
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for L2tpAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() & NLA_TYPE_MASK {
            kind::PW_TYPE => Self::PwType(parse_u16(v)?.into()),
            kind::ENCAP_TYPE => Self::EncapType(parse_u16(v)?.into()),
            kind::L2SPEC_TYPE => Self::L2SpecType(parse_u8(v)?.into()),
            kind::L2SPEC_LEN => Self::L2SpecLen(parse_u8(v)?),
            kind::PROTO_VERSION => Self::ProtoVersion(parse_u8(v)?),
            kind::IFNAME => Self::IfName(parse_string(v)?),
            kind::CONN_ID => Self::ConnId(parse_u32(v)?),
            kind::PEER_CONN_ID => Self::PeerConnId(parse_u32(v)?),
            kind::SESSION_ID => Self::SessionId(parse_u32(v)?),
            kind::PEER_SESSION_ID => Self::PeerSessionId(parse_u32(v)?),
            kind::UDP_CSUM => Self::UdpCsum(parse_bool(v)?),
            kind::COOKIE => Self::Cookie(v.to_vec()),
            kind::PEER_COOKIE => Self::PeerCookie(v.to_vec()),
            kind::DEBUG => Self::Debug(parse_u32(v)?),
            kind::RECV_SEQ => Self::RecvSeq(parse_bool(v)?),
            kind::SEND_SEQ => Self::SendSeq(parse_bool(v)?),
            kind::LNS_MODE => Self::LnsMode(parse_bool(v)?),
            kind::USING_IPSEC => Self::UsingIpsec(parse_bool(v)?),
            kind::RECV_TIMEOUT => Self::RecvTimeout(parse_u64(v)?),
            kind::FD => Self::Fd(parse_u32(v)?),
            kind::IP_SADDR => Self::IpSaddr(parse_v4(v)?),
            kind::IP_DADDR => Self::IpDaddr(parse_v4(v)?),
            kind::UDP_SPORT => Self::UdpSport(parse_u16(v)?),
            kind::UDP_DPORT => Self::UdpDport(parse_u16(v)?),
            kind::MTU => Self::Mtu(parse_u16(v)?),
            kind::MRU => Self::Mru(parse_u16(v)?),
            kind::STATS => Self::Stats(
                NlasIterator::new(v)
                    .map(|nla| nla.and_then(|nla| StatsAttr::parse(&nla)))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            kind::IP6_SADDR => Self::Ip6Saddr(parse_v6(v)?),
            kind::IP6_DADDR => Self::Ip6Daddr(parse_v6(v)?),
            kind::UDP_ZERO_CSUM6_TX => Self::UdpZeroCsum6Tx,
            kind::UDP_ZERO_CSUM6_RX => Self::UdpZeroCsum6Rx,
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// One counter nested in `L2TP_ATTR_STATS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsAttr {
    /// Packets sent.
    TxPackets(u64),
    /// Bytes sent.
    TxBytes(u64),
    /// Send errors.
    TxErrors(u64),
    /// Packets received.
    RxPackets(u64),
    /// Bytes received.
    RxBytes(u64),
    /// Packets dropped for sequence number reasons.
    RxSeqDiscards(u64),
    /// Packets received out of sequence.
    RxOosPackets(u64),
    /// Receive errors.
    RxErrors(u64),
    /// Packets dropped because the cookie did not match.
    RxCookieDiscards(u64),
    /// Invalid packets received.
    RxInvalid(u64),
    /// Anything else (including the 64-bit alignment pad), kept raw.
    Other(DefaultNla),
}

impl Nla for StatsAttr {
    fn value_len(&self) -> usize {
        match self {
            Self::Other(nla) => nla.value_len(),
            _ => 8,
        }
    }

    fn kind(&self) -> u16 {
        use StatsAttr::*;
        match self {
            TxPackets(_) => stats_kind::TX_PACKETS,
            TxBytes(_) => stats_kind::TX_BYTES,
            TxErrors(_) => stats_kind::TX_ERRORS,
            RxPackets(_) => stats_kind::RX_PACKETS,
            RxBytes(_) => stats_kind::RX_BYTES,
            RxSeqDiscards(_) => stats_kind::RX_SEQ_DISCARDS,
            RxOosPackets(_) => stats_kind::RX_OOS_PACKETS,
            RxErrors(_) => stats_kind::RX_ERRORS,
            RxCookieDiscards(_) => stats_kind::RX_COOKIE_DISCARDS,
            RxInvalid(_) => stats_kind::RX_INVALID,
            Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use StatsAttr::*;
        match self {
            TxPackets(v) | TxBytes(v) | TxErrors(v) | RxPackets(v) | RxBytes(v)
            | RxSeqDiscards(v) | RxOosPackets(v) | RxErrors(v) | RxCookieDiscards(v)
            | RxInvalid(v) => emit_u64(buf, *v).expect("sized"),
            Other(nla) => nla.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for StatsAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() & NLA_TYPE_MASK {
            stats_kind::TX_PACKETS => Self::TxPackets(parse_u64(v)?),
            stats_kind::TX_BYTES => Self::TxBytes(parse_u64(v)?),
            stats_kind::TX_ERRORS => Self::TxErrors(parse_u64(v)?),
            stats_kind::RX_PACKETS => Self::RxPackets(parse_u64(v)?),
            stats_kind::RX_BYTES => Self::RxBytes(parse_u64(v)?),
            stats_kind::RX_SEQ_DISCARDS => Self::RxSeqDiscards(parse_u64(v)?),
            stats_kind::RX_OOS_PACKETS => Self::RxOosPackets(parse_u64(v)?),
            stats_kind::RX_ERRORS => Self::RxErrors(parse_u64(v)?),
            stats_kind::RX_COOKIE_DISCARDS => Self::RxCookieDiscards(parse_u64(v)?),
            stats_kind::RX_INVALID => Self::RxInvalid(parse_u64(v)?),
            _ => Self::Other(DefaultNla::parse(buf)?),
        })
    }
}
