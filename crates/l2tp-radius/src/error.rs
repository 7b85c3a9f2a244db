//! The crate's error type: what was wrong on the wire and where.

use thiserror::Error;

/// Why a RADIUS datagram was refused or a packet could not be built.
///
/// Offsets are byte offsets from the start of the RADIUS packet (the Code octet).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// Fewer than 20 bytes, or fewer bytes than the Length field claims (RFC 2865 §3).
    #[error("packet truncated: {have} bytes, need {need}")]
    Truncated {
        /// Bytes received.
        have: usize,
        /// Bytes required.
        need: usize,
    },
    /// The Length field is below 20 or above 4096 (RFC 2865 §3).
    #[error("packet length field {0} outside 20..=4096")]
    BadLength(usize),
    /// An attribute's Length octet is below 2 or runs past the end of the packet.
    #[error("attribute type {typ} at offset {offset}: length {len} invalid")]
    BadAttributeLength {
        /// Attribute Type octet.
        typ: u8,
        /// Offset of the attribute's Type octet.
        offset: usize,
        /// The Length octet.
        len: usize,
    },
    /// A known attribute's value has the wrong size or shape for its type.
    #[error("attribute {name} ({typ}) at offset {offset}: {reason}")]
    BadValue {
        /// Attribute Type octet.
        typ: u8,
        /// Attribute name from the dictionary.
        name: &'static str,
        /// Offset of the attribute's Type octet.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// A value given to the encoder does not fit its attribute (wrong kind, too long).
    #[error("cannot encode attribute {typ}: {reason}")]
    Encode {
        /// Attribute Type octet.
        typ: u8,
        /// What was wrong.
        reason: &'static str,
    },
    /// The encoded packet would exceed 4096 bytes (RFC 2865 §3).
    #[error("encoded packet is {0} bytes, more than 4096")]
    TooLong(usize),
    /// Request or Response Authenticator does not verify with the shared secret.
    #[error("authenticator does not verify (wrong shared secret or forged packet)")]
    BadAuthenticator,
    /// Message-Authenticator (RFC 3579 §3.2) missing where required.
    #[error("Message-Authenticator missing")]
    MissingMessageAuthenticator,
    /// Message-Authenticator present but the HMAC-MD5 does not verify, or it appears twice.
    #[error("Message-Authenticator does not verify")]
    BadMessageAuthenticator,
    /// A [`crate::client::ClientConfig`] or [`crate::dae::DaeConfig`] that cannot work.
    #[error("configuration: {0}")]
    Config(&'static str),
    /// The Code is not the one expected here (e.g. an Access-Request where a response is due).
    #[error("unexpected packet code {0}")]
    UnexpectedCode(u8),
}
