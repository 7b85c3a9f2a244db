//! tokio runtime around l2tp-proto: configuration, the data plane seam, the driver and the
//! [`Context`] library API.
//!
//! - [`config`]: go-l2tp's TOML schema (plus our extensions), with located errors.
//! - [`dataplane`]: the [`dataplane::DataPlane`] trait and the null implementation;
//!   [`kernel`]: the Linux kernel implementation; [`userspace`]: data messages carried by this
//!   process (TAP interfaces), for hosts without kernel L2TP. PPP terminated in this process
//!   (no pppd) runs one loop for both (`ppp_session`), over a TUN device (user space) or a
//!   `/dev/ppp` channel and `pppN` unit (`kernel_ppp`, `ppp = "builtin"`).
//! - [`driver`]: the tokio task that owns the sans-IO endpoint, its sockets and the data plane
//!   (how sockets map to tunnels is documented there).
//! - [`context`]: [`Context`], a cloneable handle to that task: create / close tunnels and
//!   sessions, subscribe to events, read status and counters, shut down.
//! - [`status`]: serialisable snapshots for the CLI and the control socket;
//!   [`control`]: the control socket's requests, replies and events (l2tpd and l2tpctl).
//! - [`pppoe`]: the PPPoE access concentrator that switches subscribers into L2TPv2 calls.
//! - [`radius`]: RADIUS authentication, accounting and Disconnect/CoA for the PPP sessions the
//!   user-space data plane terminates (a task around the sans-IO `l2tp-radius` client).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod config;
pub mod context;
pub mod control;
pub mod dataplane;
pub mod driver;
pub mod kernel;
mod kernel_ppp;
mod ppp_session;
pub mod pppd;
pub mod pppoe;
pub mod radius;
pub mod ratelimit;
mod reaper;
pub mod status;
pub mod userspace;

pub use context::{raise_nofile_limit, Context, ContextOptions};
pub use driver::{RuntimeEvent, SocketMode};
