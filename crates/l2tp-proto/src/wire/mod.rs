//! Wire codec: L2TPv2 / L2TPv3 headers, AVPs, control messages and hidden AVPs.
//!
//! Two layers in the smoltcp style: plain `Repr` types ([`ControlMessage`], [`Avp`],
//! [`AvpValue`], [`DataHeader`]) with `parse` / `emit`, and checked views over byte buffers.
//! Parsing never panics and never allocates more than the input's size; every error names the
//! byte offset and, for AVPs, the attribute type ([`Error`]).

mod access;
mod avp;
mod codes;
mod error;
mod header;
pub mod hidden;
mod message;
mod table;
mod view;

pub use avp::*;
pub use codes::*;
pub use error::*;
pub use header::*;
pub use message::*;
pub use table::*;
pub use view::*;
