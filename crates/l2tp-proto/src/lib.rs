//! Sans-IO L2TP protocol core (RFC 2661 L2TPv2, RFC 3931 L2TPv3).
//!
//! No sockets, no clock, no async runtime, no unsafe_code: the caller feeds datagrams and the
//! current time (`std::time::Instant`, passed in as a value) and drains datagrams to send, timers
//! and events.
//!
//! - [`wire`]: headers, AVPs, messages, hidden AVPs — parse and emit.
//! - [`transport`]: the reliable control channel (Ns/Nr, window, retransmission, ZLB, HELLO).
//! - [`tunnel`], [`session`]: control connection and session state machines.
//! - [`auth`]: L2TPv3 Message Digest (HMAC-MD5 / HMAC-SHA-1) over raw messages.
//! - [`shared`], [`config`]: identifiers, events, errors, counters; tunnel, session and endpoint
//!   settings — the types every layer uses, so the modules depend on each other one way.
//! - [`endpoint`]: demultiplexes datagrams to tunnels, allocates IDs, accepts new peers.
//! - [`data`]: the per-session data message path (encapsulate / decapsulate, sequence numbers,
//!   counters) with the Linux kernel's semantics, for a user-space data plane.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod wire;

pub mod auth;
pub mod config;
pub mod data;
pub mod endpoint;
pub mod rules;
pub mod session;
pub mod shared;
mod table;
pub mod transport;
pub mod tunnel;
