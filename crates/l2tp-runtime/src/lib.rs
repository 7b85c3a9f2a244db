//! tokio runtime around l2tp-proto.
#![forbid(unsafe_code)]

pub mod config;
pub mod dataplane;
