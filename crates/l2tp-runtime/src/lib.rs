//! tokio runtime around l2tp-proto.
#![forbid(unsafe_code)]
