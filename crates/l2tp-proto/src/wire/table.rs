//! The AVP table: each IETF AVP's attribute type, RFC name, flag rules and value type, written
//! once (RFC 2661 §4.4 for types 0–39, RFC 3931 §5.4 for types 58–75).
//!
//! Everything that needs to know about an AVP type reads it from here: the attribute type
//! constants ([`attr`]), [`AvpValue::attr_type`], [`avp_name`], the size checks and byte order
//! of the simple values in the codec, the required-AVP rules ([`crate::rules`]) and the CLI's
//! packet decoder. Only values with a layout of their own (Result Code, Call Errors, …) are
//! parsed and emitted by hand in `avp.rs`.

use super::AvpValue;

/// The M-bit rule of an AVP, as its defining RFC words it.
///
/// RFC 2661 (types 0–39) says "MUST be set to 1 / 0"; RFC 3931 (types 58–75, and the RFC 2661
/// types it reuses) says "SHOULD be set to 1 / 0, but MAY vary" (RFC 3931 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MBit {
    /// The M bit MUST be 1.
    Must1,
    /// The M bit MUST be 0.
    Must0,
    /// The M bit SHOULD be 1 (MAY vary).
    Should1,
    /// The M bit SHOULD be 0 (MAY vary).
    Should0,
}

impl MBit {
    /// The M bit a sender sets by default: true for [`MBit::Must1`] and [`MBit::Should1`].
    pub fn default_set(self) -> bool {
        matches!(self, MBit::Must1 | MBit::Should1)
    }
}

/// The value type of an AVP: its size on the wire and how it is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A 16-bit unsigned integer, network order (2 bytes); `hex`: shown in hex as well.
    U16 {
        /// Shown in hex as well as decimal (revisions, IDs, bitmasks).
        hex: bool,
    },
    /// A 32-bit unsigned integer, network order (4 bytes); `hex`: shown in hex as well.
    U32 {
        /// Shown in hex as well as decimal (revisions, IDs, bitmasks).
        hex: bool,
    },
    /// A 64-bit unsigned integer, network order (8 bytes).
    U64,
    /// Text of any length, kept as the bytes sent (the RFCs do not require UTF-8).
    Text,
    /// Opaque bytes of any length.
    Bytes,
    /// Opaque bytes of exactly this many bytes.
    Fixed(usize),
    /// No value (the AVP is the 6-byte header alone).
    Empty,
    /// A layout of its own, described in the RFC section of the AVP.
    Structured,
}

/// What the table says about one IETF AVP type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvpSpec {
    /// Attribute type (vendor 0).
    pub attr_type: u16,
    /// The RFC name, as printed by the CLI (e.g. "Host Name").
    pub name: &'static str,
    /// The M-bit rule.
    pub m: MBit,
    /// Whether the AVP may be hidden (RFC 2661 §4.3): "This AVP MUST NOT be hidden" → false.
    pub hidden_allowed: bool,
    /// The value type.
    pub kind: ValueKind,
}

/// The table: `type => CONST, Variant, "Name", M rule, hidden allowed, value kind;`.
///
/// Generates the [`attr`] constants, a [`AvpSpec`] per row ([`spec`]), [`AVP_TABLE`],
/// [`avp_spec`], [`AvpValue::attr_type`] and the codec of the simple value kinds
/// (`u16`, `u16x`, `u32`, `u32x`, `u64`, `text`, `bytes`, `fixed8`, `fixed16`, `empty`;
/// `custom` rows are coded by hand in `avp.rs`).
macro_rules! avp_table {
    ($($num:literal => $konst:ident, $variant:ident, $name:literal, $m:ident, $h:ident, $kind:ident;)*) => {
        /// Attribute type numbers of the IETF AVPs (vendor 0), one constant per AVP.
        pub mod attr {
            $(
                #[doc = concat!($num, ": ", $name, ".")]
                pub const $konst: u16 = $num;
            )*
        }

        /// The [`AvpSpec`] of each IETF AVP, named as its [`attr`] constant.
        pub mod spec {
            use super::{AvpSpec, MBit, ValueKind};
            $(
                #[doc = concat!("The table row of ", $name, " (", $num, ").")]
                pub const $konst: AvpSpec = AvpSpec {
                    attr_type: $num,
                    name: $name,
                    m: MBit::$m,
                    hidden_allowed: avp_table!(@hidden $h),
                    kind: avp_table!(@kind $kind),
                };
            )*
        }

        /// Every IETF AVP the codec knows, in attribute type order.
        pub static AVP_TABLE: &[AvpSpec] = &[$(spec::$konst),*];

        /// The table row of an AVP type; `None` for vendor AVPs (`vendor` ≠ 0) and unassigned
        /// IETF types. A `match`, not a scan.
        pub fn avp_spec(vendor: u16, attr_type: u16) -> Option<&'static AvpSpec> {
            if vendor != 0 {
                return None;
            }
            match attr_type {
                $($num => Some(&spec::$konst),)*
                _ => None,
            }
        }

        impl AvpValue {
            /// The attribute type carried in the AVP header (host order).
            pub fn attr_type(&self) -> u16 {
                match self {
                    $(AvpValue::$variant { .. } => $num,)*
                    AvpValue::Unknown { attr_type, .. } => *attr_type,
                }
            }

            /// The value of a `u16`/`u32`/`u64` kind AVP, widened.
            pub fn as_uint(&self) -> Option<u64> {
                match self {
                    $(AvpValue::$variant { .. } => avp_table!(@uint $kind $variant self),)*
                    AvpValue::Unknown { .. } => None,
                }
            }

            /// The value of a `text`/`bytes`/`fixed` kind AVP.
            pub fn as_bytes(&self) -> Option<&[u8]> {
                match self {
                    $(AvpValue::$variant { .. } => avp_table!(@bytes $kind $variant self),)*
                    AvpValue::Unknown { .. } => None,
                }
            }

            /// Appends the value of a simple-kind AVP; false for `custom` rows.
            pub(super) fn emit_simple(&self, out: &mut Vec<u8>) -> bool {
                match self {
                    $(AvpValue::$variant { .. } => avp_table!(@emit $kind $variant self out),)*
                    AvpValue::Unknown { .. } => false,
                }
            }
        }

        /// Parses the value `v` of a simple-kind IETF AVP; `None` for `custom` rows and
        /// unassigned types, `Some(Err(reason))` for a value of the wrong size.
        pub(super) fn parse_simple(
            attr_type: u16,
            v: &[u8],
        ) -> Option<std::result::Result<AvpValue, &'static str>> {
            match attr_type {
                $($num => avp_table!(@parse $kind $variant $name v),)*
                _ => None,
            }
        }
    };

    (@hidden may) => { true };
    (@hidden no) => { false };

    (@kind u16) => { ValueKind::U16 { hex: false } };
    (@kind u16x) => { ValueKind::U16 { hex: true } };
    (@kind u32) => { ValueKind::U32 { hex: false } };
    (@kind u32x) => { ValueKind::U32 { hex: true } };
    (@kind u64) => { ValueKind::U64 };
    (@kind text) => { ValueKind::Text };
    (@kind bytes) => { ValueKind::Bytes };
    (@kind fixed8) => { ValueKind::Fixed(8) };
    (@kind fixed16) => { ValueKind::Fixed(16) };
    (@kind empty) => { ValueKind::Empty };
    (@kind custom) => { ValueKind::Structured };

    (@parse u16 $variant:ident $name:literal $v:ident) => {
        Some(fixed::<2>($v, "expected a 2-byte value").map(|b| AvpValue::$variant(u16::from_be_bytes(b))))
    };
    (@parse u16x $variant:ident $name:literal $v:ident) => { avp_table!(@parse u16 $variant $name $v) };
    (@parse u32 $variant:ident $name:literal $v:ident) => {
        Some(fixed::<4>($v, "expected a 4-byte value").map(|b| AvpValue::$variant(u32::from_be_bytes(b))))
    };
    (@parse u32x $variant:ident $name:literal $v:ident) => { avp_table!(@parse u32 $variant $name $v) };
    (@parse u64 $variant:ident $name:literal $v:ident) => {
        Some(fixed::<8>($v, "expected an 8-byte value").map(|b| AvpValue::$variant(u64::from_be_bytes(b))))
    };
    (@parse text $variant:ident $name:literal $v:ident) => { Some(Ok(AvpValue::$variant($v.to_vec()))) };
    (@parse bytes $variant:ident $name:literal $v:ident) => { Some(Ok(AvpValue::$variant($v.to_vec()))) };
    (@parse fixed8 $variant:ident $name:literal $v:ident) => {
        Some(fixed::<8>($v, "expected an 8-byte value").map(AvpValue::$variant))
    };
    (@parse fixed16 $variant:ident $name:literal $v:ident) => {
        Some(fixed::<16>($v, "expected a 16-byte value").map(AvpValue::$variant))
    };
    (@parse empty $variant:ident $name:literal $v:ident) => {
        Some(if $v.is_empty() {
            Ok(AvpValue::$variant)
        } else {
            Err(concat!($name, " carries no value"))
        })
    };
    (@parse custom $variant:ident $name:literal $v:ident) => { None };

    (@uint u16 $variant:ident $s:ident) => { avp_table!(@uint_of $variant $s) };
    (@uint u16x $variant:ident $s:ident) => { avp_table!(@uint_of $variant $s) };
    (@uint u32 $variant:ident $s:ident) => { avp_table!(@uint_of $variant $s) };
    (@uint u32x $variant:ident $s:ident) => { avp_table!(@uint_of $variant $s) };
    (@uint u64 $variant:ident $s:ident) => { avp_table!(@uint_of $variant $s) };
    (@uint $other:ident $variant:ident $s:ident) => { None };
    (@uint_of $variant:ident $s:ident) => {
        match $s {
            AvpValue::$variant(x) => Some(u64::from(*x)),
            _ => None,
        }
    };

    (@bytes text $variant:ident $s:ident) => { avp_table!(@bytes_of $variant $s) };
    (@bytes bytes $variant:ident $s:ident) => { avp_table!(@bytes_of $variant $s) };
    (@bytes fixed8 $variant:ident $s:ident) => { avp_table!(@bytes_of $variant $s) };
    (@bytes fixed16 $variant:ident $s:ident) => { avp_table!(@bytes_of $variant $s) };
    (@bytes $other:ident $variant:ident $s:ident) => { None };
    (@bytes_of $variant:ident $s:ident) => {
        match $s {
            AvpValue::$variant(x) => Some(&x[..]),
            _ => None,
        }
    };

    (@emit empty $variant:ident $s:ident $out:ident) => { true };
    (@emit custom $variant:ident $s:ident $out:ident) => { false };
    (@emit text $variant:ident $s:ident $out:ident) => { avp_table!(@emit_bytes $variant $s $out) };
    (@emit bytes $variant:ident $s:ident $out:ident) => { avp_table!(@emit_bytes $variant $s $out) };
    (@emit fixed8 $variant:ident $s:ident $out:ident) => { avp_table!(@emit_bytes $variant $s $out) };
    (@emit fixed16 $variant:ident $s:ident $out:ident) => { avp_table!(@emit_bytes $variant $s $out) };
    (@emit $int:ident $variant:ident $s:ident $out:ident) => {
        match $s {
            AvpValue::$variant(x) => {
                $out.extend_from_slice(&x.to_be_bytes());
                true
            }
            _ => false,
        }
    };
    (@emit_bytes $variant:ident $s:ident $out:ident) => {
        match $s {
            AvpValue::$variant(x) => {
                $out.extend_from_slice(&x[..]);
                true
            }
            _ => false,
        }
    };
}

/// `v` as an `N`-byte array, or `reason`.
fn fixed<const N: usize>(
    v: &[u8],
    reason: &'static str,
) -> std::result::Result<[u8; N], &'static str> {
    <[u8; N]>::try_from(v).map_err(|_| reason)
}

avp_table! {
    // RFC 2661 §4.4 (M "MUST"; hidden "may" or "MUST NOT").
    0 => MESSAGE_TYPE, MessageType, "Message Type", Must1, no, custom;
    1 => RESULT_CODE, ResultCode, "Result Code", Must1, no, custom;
    2 => PROTOCOL_VERSION, ProtocolVersion, "Protocol Version", Must1, no, custom;
    3 => FRAMING_CAPABILITIES, FramingCapabilities, "Framing Capabilities", Must1, may, u32x;
    4 => BEARER_CAPABILITIES, BearerCapabilities, "Bearer Capabilities", Must1, may, u32x;
    5 => TIE_BREAKER, TieBreaker, "Tie Breaker", Must0, no, fixed8;
    6 => FIRMWARE_REVISION, FirmwareRevision, "Firmware Revision", Must0, may, u16x;
    7 => HOST_NAME, HostName, "Host Name", Must1, no, text;
    8 => VENDOR_NAME, VendorName, "Vendor Name", Must0, may, text;
    9 => ASSIGNED_TUNNEL_ID, AssignedTunnelId, "Assigned Tunnel ID", Must1, may, u16;
    10 => RECEIVE_WINDOW_SIZE, ReceiveWindowSize, "Receive Window Size", Must1, no, u16;
    11 => CHALLENGE, Challenge, "Challenge", Must1, may, bytes;
    12 => Q931_CAUSE_CODE, Q931CauseCode, "Q.931 Cause Code", Must1, no, custom;
    13 => CHALLENGE_RESPONSE, ChallengeResponse, "Challenge Response", Must1, may, fixed16;
    14 => ASSIGNED_SESSION_ID, AssignedSessionId, "Assigned Session ID", Must1, may, u16;
    15 => CALL_SERIAL_NUMBER, CallSerialNumber, "Call Serial Number", Must1, may, u32;
    16 => MINIMUM_BPS, MinimumBps, "Minimum BPS", Must1, may, u32;
    17 => MAXIMUM_BPS, MaximumBps, "Maximum BPS", Must1, may, u32;
    18 => BEARER_TYPE, BearerType, "Bearer Type", Must1, may, u32x;
    19 => FRAMING_TYPE, FramingType, "Framing Type", Must1, may, u32x;
    21 => CALLED_NUMBER, CalledNumber, "Called Number", Must1, may, text;
    22 => CALLING_NUMBER, CallingNumber, "Calling Number", Must1, may, text;
    23 => SUB_ADDRESS, SubAddress, "Sub-Address", Must1, may, text;
    24 => TX_CONNECT_SPEED, TxConnectSpeed, "Connect Speed", Must1, may, u32;
    25 => PHYSICAL_CHANNEL_ID, PhysicalChannelId, "Physical Channel ID", Must0, may, u32;
    26 => INITIAL_RECEIVED_LCP_CONFREQ, InitialReceivedLcpConfreq, "Initial Received LCP CONFREQ", Must0, may, bytes;
    27 => LAST_SENT_LCP_CONFREQ, LastSentLcpConfreq, "Last Sent LCP CONFREQ", Must0, may, bytes;
    28 => LAST_RECEIVED_LCP_CONFREQ, LastReceivedLcpConfreq, "Last Received LCP CONFREQ", Must0, may, bytes;
    29 => PROXY_AUTHEN_TYPE, ProxyAuthenType, "Proxy Authen Type", Must0, may, u16;
    30 => PROXY_AUTHEN_NAME, ProxyAuthenName, "Proxy Authen Name", Must0, may, text;
    31 => PROXY_AUTHEN_CHALLENGE, ProxyAuthenChallenge, "Proxy Authen Challenge", Must0, may, bytes;
    32 => PROXY_AUTHEN_ID, ProxyAuthenId, "Proxy Authen ID", Must0, may, custom;
    33 => PROXY_AUTHEN_RESPONSE, ProxyAuthenResponse, "Proxy Authen Response", Must0, may, bytes;
    34 => CALL_ERRORS, CallErrors, "Call Errors", Must1, may, custom;
    35 => ACCM, Accm, "ACCM", Must1, may, custom;
    36 => RANDOM_VECTOR, RandomVector, "Random Vector", Must1, no, bytes;
    37 => PRIVATE_GROUP_ID, PrivateGroupId, "Private Group ID", Must0, may, text;
    38 => RX_CONNECT_SPEED, RxConnectSpeed, "Rx Connect Speed", Must0, may, u32;
    39 => SEQUENCING_REQUIRED, SequencingRequired, "Sequencing Required", Must1, no, empty;
    // RFC 3931 §5.4 (M "SHOULD … but MAY vary", except Extended Vendor ID).
    58 => EXTENDED_VENDOR_ID, ExtendedVendorId, "Extended Vendor ID", Must0, may, u32;
    59 => MESSAGE_DIGEST, MessageDigest, "Message Digest", Should1, no, custom;
    60 => ROUTER_ID, RouterId, "Router ID", Should1, no, u32x;
    61 => ASSIGNED_CONTROL_CONNECTION_ID, AssignedControlConnectionId, "Assigned Control Connection ID", Should1, may, u32x;
    62 => PSEUDOWIRE_CAPABILITIES, PseudowireCapabilities, "Pseudowire Capabilities List", Should1, may, custom;
    63 => LOCAL_SESSION_ID, LocalSessionId, "Local Session ID", Should1, may, u32x;
    64 => REMOTE_SESSION_ID, RemoteSessionId, "Remote Session ID", Should1, may, u32x;
    65 => ASSIGNED_COOKIE, AssignedCookie, "Assigned Cookie", Should1, may, custom;
    66 => REMOTE_END_ID, RemoteEndId, "Remote End ID", Should1, may, text;
    68 => PSEUDOWIRE_TYPE, PseudowireType, "Pseudowire Type", Should1, may, u16;
    69 => L2_SPECIFIC_SUBLAYER, L2SpecificSublayer, "L2-Specific Sublayer", Should1, may, u16;
    70 => DATA_SEQUENCING, DataSequencing, "Data Sequencing", Should1, may, u16;
    71 => CIRCUIT_STATUS, CircuitStatus, "Circuit Status", Should1, may, u16;
    72 => PREFERRED_LANGUAGE, PreferredLanguage, "Preferred Language", Should0, may, text;
    73 => CONTROL_MESSAGE_AUTH_NONCE, ControlMessageAuthNonce, "Control Message Authentication Nonce", Should1, no, bytes;
    74 => TX_CONNECT_SPEED_V3, TxConnectSpeedV3, "Tx Connect Speed", Should0, may, u64;
    75 => RX_CONNECT_SPEED_V3, RxConnectSpeedV3, "Rx Connect Speed", Should0, may, u64;
}

/// The RFC name of an AVP type, as printed by the CLI (e.g. "Host Name", "Assigned Tunnel ID").
///
/// `vendor` 0 is the IETF; any other vendor, or an unassigned IETF type, gives "Unknown".
pub fn avp_name(vendor: u16, attr_type: u16) -> &'static str {
    avp_spec(vendor, attr_type).map_or("Unknown", |s| s.name)
}

impl AvpValue {
    /// The table row of this AVP; `None` for [`AvpValue::Unknown`].
    pub fn spec(&self) -> Option<&'static AvpSpec> {
        avp_spec(self.vendor(), self.attr_type())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_type_order_and_lookups_agree() {
        for w in AVP_TABLE.windows(2) {
            assert!(w[0].attr_type < w[1].attr_type, "{w:?}");
        }
        for s in AVP_TABLE {
            assert_eq!(avp_spec(0, s.attr_type), Some(s));
            assert_eq!(avp_name(0, s.attr_type), s.name);
            assert_eq!(avp_spec(9, s.attr_type), None);
        }
        assert_eq!(AVP_TABLE.len(), 56);
        assert_eq!(avp_spec(0, 20), None);
        assert_eq!(avp_spec(0, 67), None);
    }

    #[test]
    fn rfc_flag_rules_are_in_the_table() {
        // RFC 2661 §4.4.1: Message Type and Random Vector MUST NOT be hidden, M MUST be 1.
        for t in [attr::MESSAGE_TYPE, attr::RANDOM_VECTOR] {
            let s = avp_spec(0, t).unwrap();
            assert_eq!((s.m, s.hidden_allowed), (MBit::Must1, false));
        }
        // §4.4.3: Tie Breaker M MUST be 0 and MUST NOT be hidden.
        let tie = avp_spec(0, attr::TIE_BREAKER).unwrap();
        assert_eq!((tie.m, tie.hidden_allowed), (MBit::Must0, false));
        assert!(
            avp_spec(0, attr::ASSIGNED_TUNNEL_ID)
                .unwrap()
                .hidden_allowed
        );
        assert!(MBit::Should1.default_set() && !MBit::Must0.default_set());
    }

    #[test]
    fn simple_kinds_check_the_size_the_table_gives() {
        for s in AVP_TABLE {
            let size = match s.kind {
                ValueKind::U16 { .. } => 2,
                ValueKind::U32 { .. } => 4,
                ValueKind::U64 => 8,
                ValueKind::Fixed(n) => n,
                ValueKind::Empty => 0,
                _ => continue,
            };
            let ok = parse_simple(s.attr_type, &vec![1; size]).unwrap().unwrap();
            assert_eq!(ok.attr_type(), s.attr_type);
            let mut out = Vec::new();
            assert!(ok.emit_simple(&mut out));
            assert_eq!(out, vec![1; size], "{}", s.name);
            assert!(parse_simple(s.attr_type, &vec![1; size + 1])
                .unwrap()
                .is_err());
        }
    }
}
