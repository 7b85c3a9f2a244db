//! Sans-IO RADIUS client for the LNS (RFC 2865, 2866, 3579, 5176): packets in, packets and
//! timers out. No sockets, no clock, no unsafe code.
//!
//! - [`packet`], [`attr`], [`dict`]: the codec (RFC 2865 §3/§5, RFC 2866, RFC 2868 tagged
//!   attributes, RFC 2548 Microsoft attributes). Never panics on input; bounded by 4096 bytes.
//! - [`crypt`]: User-Password hiding, MPPE key encryption, authenticators,
//!   Message-Authenticator.
//! - [`client`]: retransmission, failover, dead servers, identifier allocation, accounting
//!   queue.
//! - [`dae`]: the NAS side of Dynamic Authorization (RFC 5176: Disconnect and CoA).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod attr;
pub mod client;
pub mod crypt;
pub mod dae;
pub mod dict;
pub mod error;
pub mod packet;

pub use attr::{Attr, Value, Vsa};
pub use error::Error;
pub use packet::{Header, Packet};
