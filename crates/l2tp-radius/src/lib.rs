//! Sans-IO RADIUS client for the LNS (RFC 2865, 2866, 3579, 5176): packets in, packets and
//! timers out. No sockets, no clock, no unsafe code.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
