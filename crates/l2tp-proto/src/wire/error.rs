//! Codec errors.

/// What went wrong while decoding or encoding, and where.
///
/// Offsets are byte offsets from the start of the buffer handed to the decoder (for IP
/// encapsulation: from the start of the 4-byte zero Session ID).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The buffer ends before the header does.
    #[error("short header: need {needed} bytes, have {have}")]
    ShortHeader {
        /// Bytes the header needs.
        needed: usize,
        /// Bytes available.
        have: usize,
    },
    /// The Ver field is neither 2 nor 3 (or not the version expected for this encapsulation).
    #[error("bad version {0} at offset 1")]
    BadVersion(u8),
    /// The Length field disagrees with the datagram.
    #[error("length field {field} does not match datagram length {actual}")]
    LengthMismatch {
        /// Value of the Length field.
        field: usize,
        /// Actual bytes available.
        actual: usize,
    },
    /// A control message lacks a required header bit (L or S for v2, or has O/P set).
    #[error("bad control header flags {flags:#06x}: {reason}")]
    BadFlags {
        /// The first 16 bits of the header.
        flags: u16,
        /// What is wrong.
        reason: &'static str,
    },
    /// An AVP's Length field is below 6 or runs past the end of the message.
    #[error("AVP type {attr_type} at offset {offset}: bad length {length}")]
    AvpLength {
        /// Byte offset of the AVP header.
        offset: usize,
        /// Attribute type, as far as it could be read.
        attr_type: u16,
        /// The AVP's Length field.
        length: usize,
    },
    /// An AVP value has the wrong size or content for its type.
    #[error("AVP type {attr_type} at offset {offset}: {reason}")]
    AvpValue {
        /// Byte offset of the AVP header.
        offset: usize,
        /// Attribute type.
        attr_type: u16,
        /// What is wrong.
        reason: &'static str,
    },
    /// A hidden AVP (H bit set) with no shared secret configured.
    #[error("hidden AVP type {attr_type} at offset {offset}: no shared secret")]
    HiddenNoSecret {
        /// Byte offset of the AVP header.
        offset: usize,
        /// Attribute type.
        attr_type: u16,
    },
    /// A hidden AVP not preceded by a Random Vector AVP in the same message.
    #[error("hidden AVP type {attr_type} at offset {offset}: no preceding Random Vector")]
    HiddenNoRandomVector {
        /// Byte offset of the AVP header.
        offset: usize,
        /// Attribute type.
        attr_type: u16,
    },
    /// The caller passed an impossible argument (e.g. a v3 cookie length other than 0, 4, 8).
    #[error("bad argument: {0}")]
    BadArgument(&'static str),
    /// A value too large to encode (e.g. message longer than 65535 bytes).
    #[error("cannot encode: {0}")]
    Encode(&'static str),
}

/// Codec result.
pub type Result<T> = std::result::Result<T, Error>;
