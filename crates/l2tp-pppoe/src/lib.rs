//! Sans-IO PPPoE discovery (RFC 2516) for an access concentrator.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
