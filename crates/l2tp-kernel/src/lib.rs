//! Linux L2TP data plane driver.
//!
//! Everything the project asks of the kernel's L2TP subsystem goes through this crate:
//! - [`L2tpNetlink`]: the generic netlink `l2tp` family (tunnels, sessions, dumps, statistics),
//!   [`L2tpEvents`] for its multicast notifications;
//! - [`socket`]: tunnel sockets (UDP, L2TP/IP) and PPPoL2TP session sockets;
//! - [`ppp`]: `/dev/ppp` channels and units (attach, connect, bridge);
//! - [`pppoe`]: PPPoE session sockets and the raw packet socket of PPPoE Discovery.
//!
//! All calls are blocking and return [`Error`]s that name the object and, when a kernel module
//! is missing, the module. This is the only crate of the project with `unsafe` code; every
//! `unsafe` block states its invariant.
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod attr;
mod error;
pub mod message;
pub mod netlink;
pub mod ppp;
pub mod pppoe;
pub mod rtnl;
pub mod sockaddr;
pub mod socket;
pub mod stats;

pub use attr::{EncapType, L2SpecType, L2tpAttr, PwType, StatsAttr};
pub use error::{Error, Object, Result};
pub use message::{L2tpCmd, L2tpMessage};
pub use netlink::{
    L2tpEvent, L2tpEvents, L2tpNetlink, SessionInfo, SessionModify, SessionSpec, TunnelInfo,
    TunnelSpec, TunnelTransport,
};
pub use ppp::{NpMode, PppChannel, PppUnit};
pub use pppoe::{PacketSocket, PppoeSocket};
pub use sockaddr::PppoL2tpAddr;
pub use socket::{PppoL2tpSocket, TunnelSocket};
pub use stats::Stats;
