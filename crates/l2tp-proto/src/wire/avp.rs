//! Attribute-Value Pairs: RFC 2661 §4.4 (types 0–39) and RFC 3931 §5.4 (types 58–75).
//!
//! Each AVP is a 6-byte header (M, H, 4 reserved bits, 10-bit Length, Vendor ID, Attribute
//! Type) and a value (RFC 2661 §4.1). IETF AVPs (vendor 0) with a known type decode to a typed
//! [`AvpValue`]; everything else is kept as [`AvpValue::Unknown`] so that it round-trips and the
//! engine can skip it (M = 0) or reject the message (M = 1). Each type's number, name, flag
//! rules and value kind are in the AVP table (`table.rs`); the numbers carried inside values
//! (result and error codes, pseudowire types) in `codes.rs`.

use super::MessageType;

/// One AVP: flags plus typed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avp {
    /// M bit: the receiver must understand this AVP or tear down the session / tunnel.
    pub mandatory: bool,
    /// H bit: the value was (or is to be) hidden with the shared secret (RFC 2661 §4.3).
    /// On decode, the value is already revealed; on encode, the value is hidden.
    pub hidden: bool,
    /// The attribute value.
    pub value: AvpValue,
}

impl Avp {
    /// A mandatory, not hidden AVP.
    pub fn m(value: AvpValue) -> Self {
        Avp {
            mandatory: true,
            hidden: false,
            value,
        }
    }
    /// An optional (M = 0), not hidden AVP.
    pub fn o(value: AvpValue) -> Self {
        Avp {
            mandatory: false,
            hidden: false,
            value,
        }
    }
}

/// Result Code AVP value (attribute 1; RFC 2661 §4.4.2, RFC 3931 §5.4.2).
///
/// `error` is optional on the wire (a 2-byte value carries only the result code, as some
/// clients send); `message` is the optional human-readable text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultCode {
    /// Result code (meaning depends on StopCCN vs CDN, see [`result`](super::result) constants).
    pub result: u16,
    /// General error code ([`error_code`](super::error_code) constants), when present.
    pub error: Option<u16>,
    /// Optional error message (bytes as sent; usually ASCII).
    pub message: Option<Vec<u8>>,
}

/// Call Errors / Circuit Errors AVP value (attribute 34): 2 reserved bytes then six u32
/// counters (RFC 2661 §4.4.6, RFC 3931 §5.4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallErrors {
    /// CRC errors.
    pub crc: u32,
    /// Framing errors.
    pub framing: u32,
    /// Hardware overruns.
    pub hardware_overruns: u32,
    /// Buffer overruns.
    pub buffer_overruns: u32,
    /// Time-out errors.
    pub timeouts: u32,
    /// Alignment errors.
    pub alignment: u32,
}

/// Typed AVP values. Integer fields are in host order; the codec converts from/to network order.
///
/// String-like values (host names, numbers, messages) are kept as raw bytes: the RFCs do not
/// require UTF-8 and peers send what they like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AvpValue {
    /// 0: Message Type.
    MessageType(MessageType),
    /// 1: Result Code (StopCCN, CDN).
    ResultCode(ResultCode),
    /// 2: Protocol Version: (version, revision), 1.0 for L2TPv2.
    ProtocolVersion {
        /// Version (1 for L2TPv2).
        version: u8,
        /// Revision (0).
        revision: u8,
    },
    /// 3: Framing Capabilities bitmask (bit 0x1 synchronous, 0x2 asynchronous).
    FramingCapabilities(u32),
    /// 4: Bearer Capabilities bitmask (0x1 digital, 0x2 analog).
    BearerCapabilities(u32),
    /// 5: Tie Breaker (8 bytes; v3 uses the same type for the control connection and session
    /// tie breakers).
    TieBreaker([u8; 8]),
    /// 6: Firmware Revision.
    FirmwareRevision(u16),
    /// 7: Host Name.
    HostName(Vec<u8>),
    /// 8: Vendor Name.
    VendorName(Vec<u8>),
    /// 9: Assigned Tunnel ID (v2).
    AssignedTunnelId(u16),
    /// 10: Receive Window Size.
    ReceiveWindowSize(u16),
    /// 11: Challenge (one or more bytes).
    Challenge(Vec<u8>),
    /// 12: Q.931 Cause Code: cause code, cause message, optional advisory text.
    Q931CauseCode {
        /// Q.931 cause code.
        cause_code: u16,
        /// Q.931 message type.
        cause_msg: u8,
        /// Advisory message (may be empty).
        advisory: Vec<u8>,
    },
    /// 13: Challenge Response (16 bytes: MD5 digest, RFC 2661 §4.4.3).
    ChallengeResponse([u8; 16]),
    /// 14: Assigned Session ID (v2).
    AssignedSessionId(u16),
    /// 15: Call Serial Number (v2) / Serial Number (v3).
    CallSerialNumber(u32),
    /// 16: Minimum BPS.
    MinimumBps(u32),
    /// 17: Maximum BPS.
    MaximumBps(u32),
    /// 18: Bearer Type bitmask.
    BearerType(u32),
    /// 19: Framing Type bitmask.
    FramingType(u32),
    /// 21: Called Number.
    CalledNumber(Vec<u8>),
    /// 22: Calling Number.
    CallingNumber(Vec<u8>),
    /// 23: Sub-Address.
    SubAddress(Vec<u8>),
    /// 24: (Tx) Connect Speed, bits per second (32-bit).
    TxConnectSpeed(u32),
    /// 25: Physical Channel ID.
    PhysicalChannelId(u32),
    /// 26: Initial Received LCP CONFREQ (raw LCP options).
    InitialReceivedLcpConfreq(Vec<u8>),
    /// 27: Last Sent LCP CONFREQ.
    LastSentLcpConfreq(Vec<u8>),
    /// 28: Last Received LCP CONFREQ.
    LastReceivedLcpConfreq(Vec<u8>),
    /// 29: Proxy Authen Type.
    ProxyAuthenType(u16),
    /// 30: Proxy Authen Name.
    ProxyAuthenName(Vec<u8>),
    /// 31: Proxy Authen Challenge.
    ProxyAuthenChallenge(Vec<u8>),
    /// 32: Proxy Authen ID (the low byte of the 2-byte value; the high byte is reserved).
    ProxyAuthenId(u8),
    /// 33: Proxy Authen Response.
    ProxyAuthenResponse(Vec<u8>),
    /// 34: Call Errors (v2) / Circuit Errors (v3).
    CallErrors(CallErrors),
    /// 35: ACCM: send and receive async control character maps (after 2 reserved bytes).
    Accm {
        /// Send ACCM.
        send: u32,
        /// Receive ACCM.
        recv: u32,
    },
    /// 36: Random Vector (used to hide the AVPs that follow it).
    RandomVector(Vec<u8>),
    /// 37: Private Group ID.
    PrivateGroupId(Vec<u8>),
    /// 38: Rx Connect Speed (32-bit, v2).
    RxConnectSpeed(u32),
    /// 39: Sequencing Required (no value).
    SequencingRequired,
    /// 58: Extended Vendor ID (v3).
    ExtendedVendorId(u32),
    /// 59: Message Digest (v3): digest type (1 = HMAC-MD5, 2 = HMAC-SHA-1) and digest bytes.
    MessageDigest {
        /// Digest type.
        digest_type: u8,
        /// Digest (16 bytes for MD5, 20 for SHA-1).
        digest: Vec<u8>,
    },
    /// 60: Router ID (v3).
    RouterId(u32),
    /// 61: Assigned Control Connection ID (v3).
    AssignedControlConnectionId(u32),
    /// 62: Pseudowire Capabilities List (v3): pseudowire types.
    PseudowireCapabilities(Vec<u16>),
    /// 63: Local Session ID (v3).
    LocalSessionId(u32),
    /// 64: Remote Session ID (v3).
    RemoteSessionId(u32),
    /// 65: Assigned Cookie (v3): 4 or 8 bytes (0–8 accepted).
    AssignedCookie(Vec<u8>),
    /// 66: Remote End ID (v3).
    RemoteEndId(Vec<u8>),
    /// 68: Pseudowire Type (v3).
    PseudowireType(u16),
    /// 69: L2-Specific Sublayer (v3): 0 none, 1 default.
    L2SpecificSublayer(u16),
    /// 70: Data Sequencing (v3): 0 none, 1 non-IP, 2 all.
    DataSequencing(u16),
    /// 71: Circuit Status (v3): bit 0 A (active), bit 1 N (new).
    CircuitStatus(u16),
    /// 72: Preferred Language (v3).
    PreferredLanguage(Vec<u8>),
    /// 73: Control Message Authentication Nonce (v3).
    ControlMessageAuthNonce(Vec<u8>),
    /// 74: Tx Connect Speed (v3, 64-bit bps).
    TxConnectSpeedV3(u64),
    /// 75: Rx Connect Speed (v3, 64-bit bps).
    RxConnectSpeedV3(u64),
    /// Any other AVP (unknown IETF type or a vendor AVP), kept raw so it round-trips.
    Unknown {
        /// Vendor ID (0 = IETF).
        vendor: u16,
        /// Attribute type.
        attr_type: u16,
        /// Raw value (revealed if it was hidden).
        value: Vec<u8>,
    },
}

// ---------------------------------------------------------------------------------------------
// Codec
// ---------------------------------------------------------------------------------------------

use super::hidden;
use super::table::{attr, parse_simple, ValueKind};
use super::view::{AvpIter, AVP_MAX_LEN, AVP_MAX_VALUE_LEN, FLAG_H, FLAG_M};
use super::{Error, Result, Version};

/// Render bytes for humans: `"text"` when printable ASCII, else hex digits.
fn describe_bytes(b: &[u8]) -> String {
    if !b.is_empty() && b.iter().all(|c| (0x20..0x7f).contains(c)) {
        format!("{:?}", String::from_utf8_lossy(b))
    } else {
        hex_string(b)
    }
}

fn hex_string(b: &[u8]) -> String {
    if b.is_empty() {
        return "(empty)".to_string();
    }
    let mut s = String::with_capacity(2 + b.len() * 2);
    s.push_str("0x");
    for c in b {
        s.push_str(&format!("{c:02x}"));
    }
    s
}

impl AvpValue {
    /// The Vendor ID carried in the AVP header: 0 (IETF) for every typed value.
    pub fn vendor(&self) -> u16 {
        match self {
            AvpValue::Unknown { vendor, .. } => *vendor,
            _ => 0,
        }
    }

    /// The RFC name of this AVP ([`avp_name`](super::avp_name)).
    pub fn name(&self) -> &'static str {
        super::avp_name(self.vendor(), self.attr_type())
    }

    /// A one-line human rendering of the value for the CLI: numbers in decimal (plus hex for
    /// bitmasks, revisions and IDs), strings quoted when printable ASCII else hex, result codes
    /// with their error code and message.
    pub fn describe(&self) -> String {
        use AvpValue::*;
        match self {
            MessageType(t) => format!("{} ({})", t, t.to_u16()),
            ResultCode(rc) => {
                let mut s = format!("result {}", rc.result);
                if let Some(e) = rc.error {
                    s.push_str(&format!(", error {e}"));
                }
                if let Some(m) = &rc.message {
                    s.push_str(&format!(", message {}", describe_bytes(m)));
                }
                s
            }
            ProtocolVersion { version, revision } => format!("{version}.{revision}"),
            AssignedCookie(b) => hex_string(b),
            Q931CauseCode { cause_code, cause_msg, advisory } => {
                let mut s = format!("cause {cause_code}, message type {cause_msg}");
                if !advisory.is_empty() {
                    s.push_str(&format!(", advisory {}", describe_bytes(advisory)));
                }
                s
            }
            ProxyAuthenId(v) => format!("{v}"),
            CallErrors(c) => format!(
                "crc {}, framing {}, hardware overruns {}, buffer overruns {}, timeouts {}, alignment {}",
                c.crc, c.framing, c.hardware_overruns, c.buffer_overruns, c.timeouts, c.alignment
            ),
            Accm { send, recv } => format!("send {send:#010x}, recv {recv:#010x}"),
            MessageDigest { digest_type, digest } => {
                format!("type {digest_type}, digest {}", hex_string(digest))
            }
            PseudowireCapabilities(list) => list
                .iter()
                .map(|v| format!("{v:#06x}"))
                .collect::<Vec<_>>()
                .join(", "),
            Unknown { vendor, attr_type, value } => {
                format!("vendor {vendor}, type {attr_type}: {}", hex_string(value))
            }
            simple => simple.describe_simple(),
        }
    }

    /// [`AvpValue::describe`] of a value whose kind the table gives (not `Structured`).
    fn describe_simple(&self) -> String {
        let kind = self.spec().map(|s| s.kind);
        match (kind, self.as_uint(), self.as_bytes()) {
            (Some(ValueKind::U16 { hex: true }), Some(v), _) => format!("{v} ({v:#06x})"),
            (Some(ValueKind::U32 { hex: true }), Some(v), _) => format!("{v} ({v:#010x})"),
            (_, Some(v), _) => format!("{v}"),
            (Some(ValueKind::Text), _, Some(b)) => describe_bytes(b),
            (_, _, Some(b)) => hex_string(b),
            (Some(ValueKind::Empty), _, _) => "(no value)".to_string(),
            _ => format!("{self:?}"),
        }
    }

    /// Append the value field (no AVP header) in network byte order.
    ///
    /// `version` selects the Call/Circuit Errors layout (26 bytes for v2, 18 for v3).
    ///
    /// # Errors
    /// [`Error::Encode`] when a value cannot be represented: a Result Code with a message but no
    /// error code, v3 Circuit Errors with non-zero CRC/framing counters, a cookie longer than 8
    /// bytes.
    pub fn emit_value(&self, version: Version, out: &mut Vec<u8>) -> Result<()> {
        use AvpValue::*;
        if self.emit_simple(out) {
            return Ok(());
        }
        match self {
            MessageType(t) => out.extend_from_slice(&t.to_u16().to_be_bytes()),
            ResultCode(rc) => {
                out.extend_from_slice(&rc.result.to_be_bytes());
                match (rc.error, &rc.message) {
                    (None, None) => {}
                    (None, Some(_)) => {
                        return Err(Error::Encode("Result Code message without error code"))
                    }
                    (Some(e), m) => {
                        out.extend_from_slice(&e.to_be_bytes());
                        if let Some(m) = m {
                            out.extend_from_slice(m);
                        }
                    }
                }
            }
            ProtocolVersion { version, revision } => out.extend_from_slice(&[*version, *revision]),
            AssignedCookie(b) => {
                if b.len() > 8 {
                    return Err(Error::Encode("Assigned Cookie longer than 8 bytes"));
                }
                out.extend_from_slice(b)
            }
            Q931CauseCode {
                cause_code,
                cause_msg,
                advisory,
            } => {
                out.extend_from_slice(&cause_code.to_be_bytes());
                out.push(*cause_msg);
                out.extend_from_slice(advisory);
            }
            ProxyAuthenId(v) => out.extend_from_slice(&[0, *v]),
            CallErrors(c) => {
                out.extend_from_slice(&[0, 0]);
                match version {
                    Version::V2 => {
                        out.extend_from_slice(&c.crc.to_be_bytes());
                        out.extend_from_slice(&c.framing.to_be_bytes());
                    }
                    Version::V3 => {
                        if c.crc != 0 || c.framing != 0 {
                            return Err(Error::Encode(
                                "v3 Circuit Errors has no CRC or framing counters",
                            ));
                        }
                    }
                }
                for v in [
                    c.hardware_overruns,
                    c.buffer_overruns,
                    c.timeouts,
                    c.alignment,
                ] {
                    out.extend_from_slice(&v.to_be_bytes());
                }
            }
            Accm { send, recv } => {
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&send.to_be_bytes());
                out.extend_from_slice(&recv.to_be_bytes());
            }
            MessageDigest {
                digest_type,
                digest,
            } => {
                out.push(*digest_type);
                out.extend_from_slice(digest);
            }
            PseudowireCapabilities(list) => {
                for v in list {
                    out.extend_from_slice(&v.to_be_bytes());
                }
            }
            Unknown { value, .. } => out.extend_from_slice(value),
            // The simple kinds, emitted from the table above.
            _ => {}
        }
        Ok(())
    }

    /// Decode a value field `v` of an AVP with `vendor` and `attr_type`. `offset` is the byte
    /// offset of the AVP header, used in errors.
    ///
    /// Vendor AVPs and unassigned IETF types give [`AvpValue::Unknown`]; the sizes of the
    /// simple kinds come from the AVP table ([`ValueKind`]).
    ///
    /// # Errors
    /// [`Error::AvpValue`] when a known IETF AVP has a value of the wrong size.
    pub fn parse_value(vendor: u16, attr_type: u16, v: &[u8], offset: usize) -> Result<AvpValue> {
        use AvpValue::*;
        let bad = |reason: &'static str| Error::AvpValue {
            offset,
            attr_type,
            reason,
        };
        let be32 = |b: &[u8]| -> u32 {
            // Callers pass exactly 4 bytes.
            b.iter().fold(0u32, |acc, x| (acc << 8) | u32::from(*x))
        };
        let unknown = || Unknown {
            vendor,
            attr_type,
            value: v.to_vec(),
        };
        if vendor != 0 {
            return Ok(unknown());
        }
        if let Some(simple) = parse_simple(attr_type, v) {
            return simple.map_err(bad);
        }
        Ok(match attr_type {
            attr::MESSAGE_TYPE => match v {
                [a, b] => MessageType(super::MessageType::from_u16(u16::from_be_bytes([*a, *b]))),
                _ => return Err(bad("expected a 2-byte value")),
            },
            attr::RESULT_CODE => {
                let (result, rest) = match v {
                    [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
                    _ => return Err(bad("Result Code shorter than 2 bytes")),
                };
                let (error, message) = match rest {
                    [] => (None, None),
                    [_] => return Err(bad("Result Code: truncated error code")),
                    [a, b] => (Some(u16::from_be_bytes([*a, *b])), None),
                    [a, b, m @ ..] => (Some(u16::from_be_bytes([*a, *b])), Some(m.to_vec())),
                };
                ResultCode(super::ResultCode {
                    result,
                    error,
                    message,
                })
            }
            attr::PROTOCOL_VERSION => match v {
                [a, b] => ProtocolVersion {
                    version: *a,
                    revision: *b,
                },
                _ => return Err(bad("expected a 2-byte value")),
            },
            attr::Q931_CAUSE_CODE => match v {
                [a, b, msg, advisory @ ..] => Q931CauseCode {
                    cause_code: u16::from_be_bytes([*a, *b]),
                    cause_msg: *msg,
                    advisory: advisory.to_vec(),
                },
                _ => return Err(bad("Q.931 Cause Code shorter than 3 bytes")),
            },
            attr::PROXY_AUTHEN_ID => ProxyAuthenId(match v {
                [_, id] => *id,
                _ => return Err(bad("expected a 2-byte value")),
            }),
            attr::CALL_ERRORS => {
                // Two reserved bytes, then six counters (v2) or four without CRC and framing (v3).
                let skip = match v.len() {
                    26 => 0,
                    18 => 2,
                    _ => return Err(bad("Call/Circuit Errors must be 26 (v2) or 18 (v3) bytes")),
                };
                let mut n = [0u32; 6];
                let counters = v.get(2..).unwrap_or_default().chunks_exact(4);
                for (c, b) in n.iter_mut().skip(skip).zip(counters) {
                    *c = be32(b);
                }
                let [crc, framing, hardware_overruns, buffer_overruns, timeouts, alignment] = n;
                CallErrors(super::CallErrors {
                    crc,
                    framing,
                    hardware_overruns,
                    buffer_overruns,
                    timeouts,
                    alignment,
                })
            }
            attr::ACCM => {
                if v.len() != 10 {
                    return Err(bad("ACCM must be 10 bytes"));
                }
                Accm {
                    send: be32(v.get(2..6).unwrap_or_default()),
                    recv: be32(v.get(6..10).unwrap_or_default()),
                }
            }
            attr::MESSAGE_DIGEST => match v.split_first() {
                Some((t, d)) => MessageDigest {
                    digest_type: *t,
                    digest: d.to_vec(),
                },
                None => return Err(bad("Message Digest is empty")),
            },
            attr::PSEUDOWIRE_CAPABILITIES => {
                let pairs = v.chunks_exact(2);
                if !pairs.remainder().is_empty() {
                    return Err(bad("Pseudowire Capabilities List has odd length"));
                }
                PseudowireCapabilities(
                    pairs
                        .map(|c| c.iter().fold(0u16, |acc, x| (acc << 8) | u16::from(*x)))
                        .collect(),
                )
            }
            attr::ASSIGNED_COOKIE => {
                if v.len() > 8 {
                    return Err(bad("Assigned Cookie longer than 8 bytes"));
                }
                AssignedCookie(v.to_vec())
            }
            _ => unknown(),
        })
    }
}

/// Renders the value as [`AvpValue::describe`] does.
impl std::fmt::Display for AvpValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Renders `Name: value`, with ` [M]` / ` [H]` suffixes for the flags, e.g.
/// `Host Name: "lac.example" [M]`.
impl std::fmt::Display for Avp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.value.name(), self.value.describe())?;
        if self.mandatory {
            f.write_str(" [M]")?;
        }
        if self.hidden {
            f.write_str(" [H]")?;
        }
        Ok(())
    }
}

impl Avp {
    /// Parse all AVPs in `buf[start..end]` (the message body), walking them with
    /// [`AvpIter`](super::AvpIter). Offsets in errors are indexes into `buf`. Hidden AVPs are
    /// revealed with `secret` and the value of the nearest preceding Random Vector AVP;
    /// reserved bits are ignored.
    ///
    /// Allocation is bounded by the input size.
    ///
    /// # Errors
    /// [`Error::AvpLength`] (Length < 6 or past `end`), [`Error::AvpValue`] (wrong value size
    /// for a known type, corrupt hidden value), [`Error::HiddenNoSecret`],
    /// [`Error::HiddenNoRandomVector`].
    pub fn parse_all(
        buf: &[u8],
        start: usize,
        end: usize,
        secret: Option<&[u8]>,
    ) -> Result<Vec<Avp>> {
        let mut avps = Vec::new();
        let mut rv: Option<&[u8]> = None;
        for raw in AvpIter::new(buf, start, end) {
            let raw = raw?;
            let h = raw.header;
            let value = if h.hidden {
                let plain = reveal_at(raw.offset, &h, secret, rv, raw.value)?;
                AvpValue::parse_value(h.vendor, h.attr_type, &plain, raw.offset)?
            } else {
                if h.vendor == 0 && h.attr_type == attr::RANDOM_VECTOR {
                    rv = Some(raw.value);
                }
                AvpValue::parse_value(h.vendor, h.attr_type, raw.value, raw.offset)?
            };
            avps.push(Avp {
                mandatory: h.mandatory,
                hidden: h.hidden,
                value,
            });
        }
        Ok(avps)
    }

    /// Append one AVP (header and value) to `out`. When `self.hidden`, the value is hidden with
    /// `secret` and `random_vector` (RFC 2661 §4.3, no padding).
    ///
    /// # Errors
    /// [`Error::Encode`] when the value is longer than [`AVP_MAX_VALUE_LEN`] bytes (after
    /// hiding) or cannot be represented ([`AvpValue::emit_value`]); [`Error::HiddenNoSecret`] /
    /// [`Error::HiddenNoRandomVector`] (offset = position in `out`) when hiding is impossible.
    pub fn emit(
        &self,
        version: Version,
        secret: Option<&[u8]>,
        random_vector: Option<&[u8]>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let start = out.len();
        let attr_type = self.value.attr_type();
        let mut flags = 0u8;
        if self.mandatory {
            flags |= FLAG_M;
        }
        if self.hidden {
            flags |= FLAG_H;
        }
        out.extend_from_slice(&[flags, 0]);
        out.extend_from_slice(&self.value.vendor().to_be_bytes());
        out.extend_from_slice(&attr_type.to_be_bytes());
        let body = |out: &mut Vec<u8>| -> Result<()> {
            if self.hidden {
                let secret = secret.ok_or(Error::HiddenNoSecret {
                    offset: start,
                    attr_type,
                })?;
                let rv = random_vector.ok_or(Error::HiddenNoRandomVector {
                    offset: start,
                    attr_type,
                })?;
                let mut plain = Vec::new();
                self.value.emit_value(version, &mut plain)?;
                if plain.len() + 2 > AVP_MAX_VALUE_LEN {
                    return Err(Error::Encode("hidden AVP value too long (max 1015 bytes)"));
                }
                out.extend_from_slice(&hidden::hide(attr_type, secret, rv, &plain));
            } else {
                self.value.emit_value(version, out)?;
            }
            if out.len() - start > AVP_MAX_LEN {
                return Err(Error::Encode("AVP value too long (max 1017 bytes)"));
            }
            Ok(())
        };
        if let Err(e) = body(out) {
            out.truncate(start);
            return Err(e);
        }
        let len = out.len() - start;
        out[start] |= (len >> 8) as u8 & 0x03;
        out[start + 1] = (len & 0xff) as u8;
        Ok(())
    }

    /// Append all `avps` to `out`. Hidden AVPs use the nearest preceding Random Vector AVP in
    /// `avps` and `secret`.
    ///
    /// # Errors
    /// As [`Avp::emit`]; `out` may hold the AVPs emitted before the failing one.
    pub fn emit_all(
        avps: &[Avp],
        version: Version,
        secret: Option<&[u8]>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let mut rv: Option<&[u8]> = None;
        for avp in avps {
            avp.emit(version, secret, rv, out)?;
            if let AvpValue::RandomVector(v) = &avp.value {
                if !avp.hidden {
                    rv = Some(v);
                }
            }
        }
        Ok(())
    }
}

/// Reveals the hidden value `raw` of the AVP at `offset` (RFC 2661 §4.3) with `secret` and the
/// Random Vector `rv` in force; errors name the AVP's offset and type.
///
/// # Errors
/// [`Error::HiddenNoSecret`], [`Error::HiddenNoRandomVector`], [`Error::AvpValue`] (corrupt
/// hidden value).
pub fn reveal_at(
    offset: usize,
    h: &super::AvpHeader,
    secret: Option<&[u8]>,
    rv: Option<&[u8]>,
    raw: &[u8],
) -> Result<Vec<u8>> {
    let attr_type = h.attr_type;
    let secret = secret.ok_or(Error::HiddenNoSecret { offset, attr_type })?;
    let rv = rv.ok_or(Error::HiddenNoRandomVector { offset, attr_type })?;
    hidden::reveal(attr_type, secret, rv, raw).map_err(|e| match e {
        Error::AvpValue { reason, .. } => Error::AvpValue {
            offset,
            attr_type,
            reason,
        },
        e => e,
    })
}
