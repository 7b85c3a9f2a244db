//! Sans-IO PPPoE discovery (RFC 2516) for an access concentrator.
//!
//! - [`codec`]: Ethernet (+802.1Q) / PPPoE header / discovery TAG parse and emit, Session-stage
//!   wrap/unwrap.
//! - [`proxy`]: the proxy LCP / proxy authentication data (RFC 2661 AVPs 26–33) a LAC that runs
//!   LCP and authentication itself forwards to the LNS.
//! - [`ac`]: the access concentrator's Discovery state machine, one per interface.
//!
//! No sockets, no clock (time comes in as [`std::time::Instant`]), no unsafe.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod ac;
pub mod codec;
pub mod proxy;

pub use ac::{AccessConcentrator, Config, Counters, Event, RateLimit, Reject};
pub use codec::{Code, Discovery, EthHeader, SessionFrame, Tag, Vlan};
