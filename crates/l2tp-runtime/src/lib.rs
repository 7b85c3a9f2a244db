//! tokio runtime around l2tp-proto: configuration, the data plane seam and the driver.
//!
//! - [`config`]: go-l2tp's TOML schema (plus our extensions), with located errors.
//! - [`dataplane`]: the [`dataplane::DataPlane`] trait and the null implementation.
//! - [`driver`]: the tokio task that owns the sans-IO endpoint and its sockets.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod config;
pub mod dataplane;
pub mod driver;
