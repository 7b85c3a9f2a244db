//! Sans-IO PPP (RFC 1661) for L2TP sessions terminated in-process: bytes and time in,
//! frames, timers and events out. No sockets, no clock, no unsafe code.
//!
//! [`Ppp`] is one link: LCP (MRU, Magic-Number, Authentication-Protocol, keepalive), PAP or
//! CHAP-MD5 or MS-CHAPv2 in either role, then IPCP and IPV6CP. Frames start at the PPP
//! Protocol field (as a `/dev/ppp` channel takes them). [`classify`] sorts received frames
//! for the fast path: IPv4/IPv6 datagrams never enter the engine.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auth;
mod chap;
pub mod fsm;
pub mod ipcp;
pub mod ipv6cp;
pub mod lcp;
pub mod mschap;
mod pap;
pub mod secrets;
mod session;
pub mod wire;

pub use auth::{verify_local, AuthMethod, AuthRequest, Verdict};
pub use chap::{mschapv2_failure_message, mschapv2_success_message};
pub use ipcp::IpcpConfig;
pub use session::{Automata, Event, Phase, PhaseSnapshot, Ppp, PppConfig, Role, EVENT_QUEUE_CAP};
pub use wire::{classify, Frame};
