//! tokio runtime around l2tp-proto.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod driver;
