//! `l2tp` generic netlink messages: a command plus attributes.

use netlink_packet_core::{DecodeError, Emitable, NlasIterator, Parseable, ParseableParametrized};
use netlink_packet_generic::{GenlFamily, GenlHeader};

use crate::attr::L2tpAttr;

/// Family name registered by `l2tp_netlink` (`L2TP_GENL_NAME`).
pub const L2TP_GENL_NAME: &str = "l2tp";
/// Family version (`L2TP_GENL_VERSION`).
pub const L2TP_GENL_VERSION: u8 = 1;
/// Multicast group name (`L2TP_GENL_MCGROUP`).
pub const L2TP_GENL_MCGROUP: &str = "l2tp";

/// `L2TP_CMD_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L2tpCmd {
    /// 0.
    Noop,
    /// 1.
    TunnelCreate,
    /// 2.
    TunnelDelete,
    /// 3.
    TunnelModify,
    /// 4.
    TunnelGet,
    /// 5.
    SessionCreate,
    /// 6.
    SessionDelete,
    /// 7.
    SessionModify,
    /// 8.
    SessionGet,
    /// Any other number.
    Other(u8),
}

impl From<u8> for L2tpCmd {
    fn from(v: u8) -> Self {
        use L2tpCmd::*;
        match v {
            0 => Noop,
            1 => TunnelCreate,
            2 => TunnelDelete,
            3 => TunnelModify,
            4 => TunnelGet,
            5 => SessionCreate,
            6 => SessionDelete,
            7 => SessionModify,
            8 => SessionGet,
            o => Other(o),
        }
    }
}

impl From<L2tpCmd> for u8 {
    fn from(v: L2tpCmd) -> u8 {
        use L2tpCmd::*;
        match v {
            Noop => 0,
            TunnelCreate => 1,
            TunnelDelete => 2,
            TunnelModify => 3,
            TunnelGet => 4,
            SessionCreate => 5,
            SessionDelete => 6,
            SessionModify => 7,
            SessionGet => 8,
            Other(o) => o,
        }
    }
}

/// The payload of one `l2tp` genl message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L2tpMessage {
    /// Command.
    pub cmd: L2tpCmd,
    /// Attributes, in wire order.
    pub attrs: Vec<L2tpAttr>,
}

impl L2tpMessage {
    /// A message with these attributes.
    pub fn new(cmd: L2tpCmd, attrs: Vec<L2tpAttr>) -> Self {
        Self { cmd, attrs }
    }
}

impl GenlFamily for L2tpMessage {
    fn family_name() -> &'static str {
        L2TP_GENL_NAME
    }

    fn command(&self) -> u8 {
        self.cmd.into()
    }

    fn version(&self) -> u8 {
        L2TP_GENL_VERSION
    }
}

impl Emitable for L2tpMessage {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }

    fn emit(&self, buffer: &mut [u8]) {
        self.attrs.as_slice().emit(buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for L2tpMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let attrs = NlasIterator::new(buf)
            .map(|nla| nla.and_then(|nla| L2tpAttr::parse(&nla)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            cmd: header.cmd.into(),
            attrs,
        })
    }
}
