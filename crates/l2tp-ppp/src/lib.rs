//! Sans-IO PPP (RFC 1661) for L2TP sessions terminated in-process: bytes and time in,
//! frames, timers and events out. No sockets, no clock, no unsafe code.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
pub mod mschap;
pub mod secrets;
