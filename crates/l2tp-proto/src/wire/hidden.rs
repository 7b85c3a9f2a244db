//! Hidden AVPs (RFC 2661 §4.3): MD5 chain over the Random Vector, shared secret and attribute type.
