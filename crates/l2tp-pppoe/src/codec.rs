//! PPPoE wire format (RFC 2516 §4, RFC 4638 §4): the Ethernet header (optionally one 802.1Q tag),
//! the 6-byte PPPoE header and the discovery TAGs.
//!
//! Contract: no input panics; every length is checked against the frame; at most [`MAX_TAGS`]
//! TAGs are read from one packet; unknown TAGs are kept raw ([`Tag::Unknown`]) so they
//! round-trip. All multi-byte fields are in network byte order on the wire.

use etherparse::{EtherType, Ethernet2Header, SingleVlanHeader, VlanId, VlanPcp};

/// EtherType of the PPPoE Discovery stage (RFC 2516 §4).
pub const ETHERTYPE_DISCOVERY: u16 = 0x8863;
/// EtherType of the PPPoE Session stage (RFC 2516 §4).
pub const ETHERTYPE_SESSION: u16 = 0x8864;
/// EtherType of an IEEE 802.1Q VLAN tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// Length of the PPPoE header in bytes (VER/TYPE, CODE, SESSION_ID, LENGTH).
pub const PPPOE_HEADER_LEN: usize = 6;
/// Length of a TAG header in bytes (TAG_TYPE, TAG_LENGTH).
pub const TAG_HEADER_LEN: usize = 4;
/// Largest number of TAGs read from one packet; a packet with more is rejected as malformed.
/// A 1500-byte payload holds at most 373 empty TAGs; real clients send fewer than 10.
pub const MAX_TAGS: usize = 64;
/// Ethernet broadcast address, the destination of a PADI (RFC 2516 §5.1).
pub const BROADCAST: [u8; 6] = [0xff; 6];
/// Largest PPPoE payload (bytes after the 6-byte PPPoE header) that fits a 1500-byte Ethernet
/// MTU: 1494. Discovery packets we emit never exceed it.
pub const MAX_DISCOVERY_PAYLOAD: usize = 1500 - PPPOE_HEADER_LEN;

/// A codec error: what was wrong and at which byte offset of the frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The frame ends before a header or field that must be there.
    #[error("truncated {what}: need {need} bytes at offset {offset}, frame has {have}")]
    Truncated {
        /// Which header or field.
        what: &'static str,
        /// Offset in the frame where it starts (bytes).
        offset: usize,
        /// Bytes needed from `offset`.
        need: usize,
        /// Bytes the frame has from `offset`.
        have: usize,
    },
    /// The EtherType is neither PPPoE Discovery nor Session (after an optional VLAN tag).
    #[error("EtherType {0:#06x} is not PPPoE (0x8863/0x8864)")]
    NotPppoe(u16),
    /// VER or TYPE is not 1 (RFC 2516 §4: both MUST be 0x1).
    #[error("PPPoE VER/TYPE byte {0:#04x} at offset {1}, expected 0x11")]
    BadVersion(u8, usize),
    /// A TAG's TAG_LENGTH runs past the PPPoE LENGTH.
    #[error("TAG {tag_type:#06x} at offset {offset} claims {len} bytes, only {have} left in the payload")]
    TagOverrun {
        /// TAG_TYPE of the offending TAG.
        tag_type: u16,
        /// Offset of the TAG header in the frame (bytes).
        offset: usize,
        /// TAG_LENGTH it claims (bytes).
        len: usize,
        /// Bytes left in the PPPoE payload after the TAG header.
        have: usize,
    },
    /// More than [`MAX_TAGS`] TAGs.
    #[error("more than {MAX_TAGS} TAGs in one packet")]
    TooManyTags,
    /// A TAG has a value of the wrong size (End-Of-List non-empty, PPP-Max-Payload not 2 bytes).
    #[error("TAG {tag_type:#06x} at offset {offset} has length {len}, expected {expected}")]
    BadTagLength {
        /// TAG_TYPE of the offending TAG.
        tag_type: u16,
        /// Offset of the TAG header in the frame (bytes).
        offset: usize,
        /// TAG_LENGTH found (bytes).
        len: usize,
        /// TAG_LENGTH the TAG type requires (bytes).
        expected: usize,
    },
    /// Emitting: the payload would not fit a 16-bit LENGTH or a TAG's value a 16-bit TAG_LENGTH.
    #[error("cannot emit: {0} is {1} bytes, more than the field can hold")]
    TooLong(&'static str, usize),
}

/// The Ethernet layer of a PPPoE frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EthHeader {
    /// Destination MAC address.
    pub dst: [u8; 6],
    /// Source MAC address.
    pub src: [u8; 6],
    /// The 802.1Q tag, if the frame carried one.
    pub vlan: Option<Vlan>,
    /// EtherType after the VLAN tag: [`ETHERTYPE_DISCOVERY`] or [`ETHERTYPE_SESSION`].
    pub ether_type: u16,
}

/// One IEEE 802.1Q tag (the drop-eligible bit is not kept and is emitted as 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vlan {
    /// VLAN identifier, 0..=4095 (values above 4095 are emitted masked to 12 bits).
    pub id: u16,
    /// Priority code point, 0..=7 (masked to 3 bits when emitted).
    pub pcp: u8,
}

impl EthHeader {
    /// Length of this header on the wire in bytes: 14, or 18 with a VLAN tag.
    pub fn len(&self) -> usize {
        if self.vlan.is_some() {
            18
        } else {
            14
        }
    }

    /// Always false: an Ethernet header is never empty (present for clippy's `len` rule).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Split a frame (no FCS) into its Ethernet header and payload. Accepts one 802.1Q tag.
    ///
    /// Errors: [`Error::Truncated`] if the frame is shorter than the header(s),
    /// [`Error::NotPppoe`] if the EtherType is not 0x8863/0x8864.
    pub fn parse(frame: &[u8]) -> Result<(EthHeader, &[u8]), Error> {
        let (eth, rest) = Ethernet2Header::from_slice(frame).map_err(|_| Error::Truncated {
            what: "Ethernet header",
            offset: 0,
            need: Ethernet2Header::LEN,
            have: frame.len(),
        })?;
        let (vlan, ether_type, rest) = if eth.ether_type.0 == ETHERTYPE_VLAN {
            let (v, rest) = SingleVlanHeader::from_slice(rest).map_err(|_| Error::Truncated {
                what: "802.1Q tag",
                offset: Ethernet2Header::LEN,
                need: SingleVlanHeader::LEN,
                have: rest.len(),
            })?;
            let vlan = Vlan {
                id: v.vlan_id.value(),
                pcp: v.pcp.value(),
            };
            (Some(vlan), v.ether_type.0, rest)
        } else {
            (None, eth.ether_type.0, rest)
        };
        if ether_type != ETHERTYPE_DISCOVERY && ether_type != ETHERTYPE_SESSION {
            return Err(Error::NotPppoe(ether_type));
        }
        let h = EthHeader {
            dst: eth.destination,
            src: eth.source,
            vlan,
            ether_type,
        };
        Ok((h, rest))
    }

    /// Append this header to `out` (14 or 18 bytes).
    pub fn emit(&self, out: &mut Vec<u8>) {
        match self.vlan {
            None => {
                let eth = Ethernet2Header {
                    destination: self.dst,
                    source: self.src,
                    ether_type: EtherType(self.ether_type),
                };
                out.extend_from_slice(&eth.to_bytes());
            }
            Some(v) => {
                let eth = Ethernet2Header {
                    destination: self.dst,
                    source: self.src,
                    ether_type: EtherType(ETHERTYPE_VLAN),
                };
                out.extend_from_slice(&eth.to_bytes());
                let tag = SingleVlanHeader {
                    pcp: VlanPcp::try_new(v.pcp & 0x7).unwrap_or(VlanPcp::ZERO),
                    drop_eligible_indicator: false,
                    vlan_id: VlanId::try_new(v.id & 0x0fff).unwrap_or(VlanId::ZERO),
                    ether_type: EtherType(self.ether_type),
                };
                out.extend_from_slice(&tag.to_bytes());
            }
        }
    }
}

/// The PPPoE CODE field (RFC 2516 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// 0x00: Session-stage data (RFC 2516 §6).
    Session,
    /// 0x09: PPPoE Active Discovery Initiation (§5.1).
    Padi,
    /// 0x07: PPPoE Active Discovery Offer (§5.2).
    Pado,
    /// 0x19: PPPoE Active Discovery Request (§5.3).
    Padr,
    /// 0x65: PPPoE Active Discovery Session-confirmation (§5.4).
    Pads,
    /// 0xa7: PPPoE Active Discovery Terminate (§5.5).
    Padt,
    /// Any other value, kept as received.
    Unknown(u8),
}

impl From<u8> for Code {
    fn from(v: u8) -> Code {
        match v {
            0x00 => Code::Session,
            0x09 => Code::Padi,
            0x07 => Code::Pado,
            0x19 => Code::Padr,
            0x65 => Code::Pads,
            0xa7 => Code::Padt,
            other => Code::Unknown(other),
        }
    }
}

impl From<Code> for u8 {
    fn from(c: Code) -> u8 {
        match c {
            Code::Session => 0x00,
            Code::Padi => 0x09,
            Code::Pado => 0x07,
            Code::Padr => 0x19,
            Code::Pads => 0x65,
            Code::Padt => 0xa7,
            Code::Unknown(v) => v,
        }
    }
}

/// TAG_TYPE numbers (RFC 2516 Appendix A, RFC 4638 §4, RFC 5578 is not handled).
pub mod tag_type {
    /// End-Of-List (0x0000), TAG_LENGTH always 0.
    pub const END_OF_LIST: u16 = 0x0000;
    /// Service-Name (0x0101), UTF-8, empty = any service.
    pub const SERVICE_NAME: u16 = 0x0101;
    /// AC-Name (0x0102), UTF-8.
    pub const AC_NAME: u16 = 0x0102;
    /// Host-Uniq (0x0103), opaque bytes chosen by the host.
    pub const HOST_UNIQ: u16 = 0x0103;
    /// AC-Cookie (0x0104), opaque bytes chosen by the AC.
    pub const AC_COOKIE: u16 = 0x0104;
    /// Vendor-Specific (0x0105): 4-byte vendor id (0, then 3-byte IANA number) + data.
    pub const VENDOR_SPECIFIC: u16 = 0x0105;
    /// Relay-Session-Id (0x0110), opaque bytes added by a relay.
    pub const RELAY_SESSION_ID: u16 = 0x0110;
    /// PPP-Max-Payload (0x0120), 2 bytes, network order (RFC 4638 §4).
    pub const PPP_MAX_PAYLOAD: u16 = 0x0120;
    /// Service-Name-Error (0x0201), optional UTF-8 text.
    pub const SERVICE_NAME_ERROR: u16 = 0x0201;
    /// AC-System-Error (0x0202), optional UTF-8 text.
    pub const AC_SYSTEM_ERROR: u16 = 0x0202;
    /// Generic-Error (0x0203), optional UTF-8 text.
    pub const GENERIC_ERROR: u16 = 0x0203;
}

/// One discovery TAG (RFC 2516 Appendix A). Text TAGs keep their bytes as received (the RFC says
/// UTF-8 but peers send anything); [`Tag::text`] decodes lossily for display.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Tag {
    /// End-Of-List: no TAG after it is read.
    EndOfList,
    /// Service-Name; empty = any service.
    ServiceName(Vec<u8>),
    /// AC-Name.
    AcName(Vec<u8>),
    /// Host-Uniq: echoed unmodified by the AC.
    HostUniq(Vec<u8>),
    /// AC-Cookie: echoed unmodified by the host in its PADR.
    AcCookie(Vec<u8>),
    /// Vendor-Specific: the whole value, vendor id included.
    VendorSpecific(Vec<u8>),
    /// Relay-Session-Id: echoed unmodified by the AC.
    RelaySessionId(Vec<u8>),
    /// PPP-Max-Payload (RFC 4638): the PPP MRU/MTU the host can use, in bytes.
    PppMaxPayload(u16),
    /// Service-Name-Error: the requested service cannot be served; optional text.
    ServiceNameError(Vec<u8>),
    /// AC-System-Error: the AC cannot serve the request (resources); optional text.
    AcSystemError(Vec<u8>),
    /// Generic-Error: optional text.
    GenericError(Vec<u8>),
    /// Any other TAG_TYPE, value kept raw.
    Unknown {
        /// TAG_TYPE.
        tag_type: u16,
        /// Value bytes.
        value: Vec<u8>,
    },
}

impl Tag {
    /// The TAG_TYPE number of this TAG.
    pub fn tag_type(&self) -> u16 {
        use tag_type::*;
        match self {
            Tag::EndOfList => END_OF_LIST,
            Tag::ServiceName(_) => SERVICE_NAME,
            Tag::AcName(_) => AC_NAME,
            Tag::HostUniq(_) => HOST_UNIQ,
            Tag::AcCookie(_) => AC_COOKIE,
            Tag::VendorSpecific(_) => VENDOR_SPECIFIC,
            Tag::RelaySessionId(_) => RELAY_SESSION_ID,
            Tag::PppMaxPayload(_) => PPP_MAX_PAYLOAD,
            Tag::ServiceNameError(_) => SERVICE_NAME_ERROR,
            Tag::AcSystemError(_) => AC_SYSTEM_ERROR,
            Tag::GenericError(_) => GENERIC_ERROR,
            Tag::Unknown { tag_type, .. } => *tag_type,
        }
    }

    fn value(&self) -> &[u8] {
        match self {
            Tag::EndOfList | Tag::PppMaxPayload(_) => &[],
            Tag::ServiceName(v)
            | Tag::AcName(v)
            | Tag::HostUniq(v)
            | Tag::AcCookie(v)
            | Tag::VendorSpecific(v)
            | Tag::RelaySessionId(v)
            | Tag::ServiceNameError(v)
            | Tag::AcSystemError(v)
            | Tag::GenericError(v)
            | Tag::Unknown { value: v, .. } => v,
        }
    }

    /// The value as text (lossy UTF-8), for the text TAGs; `None` for the others.
    pub fn text(&self) -> Option<String> {
        match self {
            Tag::ServiceName(v)
            | Tag::AcName(v)
            | Tag::ServiceNameError(v)
            | Tag::AcSystemError(v)
            | Tag::GenericError(v) => Some(String::from_utf8_lossy(v).into_owned()),
            _ => None,
        }
    }

    /// Length of this TAG on the wire in bytes: 4-byte header plus value.
    pub fn wire_len(&self) -> usize {
        TAG_HEADER_LEN
            + match self {
                Tag::PppMaxPayload(_) => 2,
                t => t.value().len(),
            }
    }

    /// Append this TAG to `out`. Errors: [`Error::TooLong`] if the value exceeds 65535 bytes.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        out.extend_from_slice(&self.tag_type().to_be_bytes());
        if let Tag::PppMaxPayload(v) = self {
            out.extend_from_slice(&2u16.to_be_bytes());
            out.extend_from_slice(&v.to_be_bytes());
            return Ok(());
        }
        let value = self.value();
        let len =
            u16::try_from(value.len()).map_err(|_| Error::TooLong("TAG value", value.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(value);
        Ok(())
    }

    fn parse(tag_type: u16, value: &[u8], offset: usize) -> Result<Tag, Error> {
        use tag_type::*;
        let v = value.to_vec();
        Ok(match tag_type {
            END_OF_LIST => {
                if !value.is_empty() {
                    return Err(Error::BadTagLength {
                        tag_type,
                        offset,
                        len: value.len(),
                        expected: 0,
                    });
                }
                Tag::EndOfList
            }
            SERVICE_NAME => Tag::ServiceName(v),
            AC_NAME => Tag::AcName(v),
            HOST_UNIQ => Tag::HostUniq(v),
            AC_COOKIE => Tag::AcCookie(v),
            VENDOR_SPECIFIC => Tag::VendorSpecific(v),
            RELAY_SESSION_ID => Tag::RelaySessionId(v),
            PPP_MAX_PAYLOAD => match <[u8; 2]>::try_from(value) {
                Ok(b) => Tag::PppMaxPayload(u16::from_be_bytes(b)),
                Err(_) => {
                    return Err(Error::BadTagLength {
                        tag_type,
                        offset,
                        len: value.len(),
                        expected: 2,
                    })
                }
            },
            SERVICE_NAME_ERROR => Tag::ServiceNameError(v),
            AC_SYSTEM_ERROR => Tag::AcSystemError(v),
            GENERIC_ERROR => Tag::GenericError(v),
            _ => Tag::Unknown { tag_type, value: v },
        })
    }
}

/// A PPPoE Discovery packet with its Ethernet header (RFC 2516 §4, §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// The Ethernet layer; `ether_type` is [`ETHERTYPE_DISCOVERY`].
    pub eth: EthHeader,
    /// CODE.
    pub code: Code,
    /// SESSION_ID (host order here, network order on the wire); 0 before PADS.
    pub session_id: u16,
    /// The TAGs in wire order. An End-Of-List, if present, is the last one kept.
    pub tags: Vec<Tag>,
}

/// Read the 6-byte PPPoE header at `payload` (which starts at `base` in the frame) and return
/// (code, session id, the LENGTH bytes of payload). Bytes after LENGTH (Ethernet padding) are
/// ignored.
fn parse_pppoe_header(payload: &[u8], base: usize) -> Result<(Code, u16, &[u8]), Error> {
    let hdr: [u8; PPPOE_HEADER_LEN] = payload
        .get(..PPPOE_HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or(Error::Truncated {
            what: "PPPoE header",
            offset: base,
            need: PPPOE_HEADER_LEN,
            have: payload.len(),
        })?;
    let [vt, code, s0, s1, l0, l1] = hdr;
    let sid = u16::from_be_bytes([s0, s1]);
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    if vt != 0x11 {
        return Err(Error::BadVersion(vt, base));
    }
    let rest = payload.get(PPPOE_HEADER_LEN..).unwrap_or(&[]);
    let body = rest.get(..len).ok_or(Error::Truncated {
        what: "PPPoE payload (LENGTH)",
        offset: base + PPPOE_HEADER_LEN,
        need: len,
        have: rest.len(),
    })?;
    Ok((Code::from(code), sid, body))
}

impl Discovery {
    /// Parse one Ethernet frame (no FCS) carrying a PPPoE Discovery packet.
    ///
    /// Errors: [`Error::Truncated`], [`Error::NotPppoe`] (also for a Session-stage frame),
    /// [`Error::BadVersion`], [`Error::TagOverrun`], [`Error::BadTagLength`],
    /// [`Error::TooManyTags`]. TAGs after End-Of-List are not read (RFC 2516 Appendix A).
    pub fn parse(frame: &[u8]) -> Result<Discovery, Error> {
        let (eth, payload) = EthHeader::parse(frame)?;
        if eth.ether_type != ETHERTYPE_DISCOVERY {
            return Err(Error::NotPppoe(eth.ether_type));
        }
        let base = eth.len();
        let (code, session_id, mut body) = parse_pppoe_header(payload, base)?;
        let mut offset = base + PPPOE_HEADER_LEN;
        let mut tags = Vec::new();
        while !body.is_empty() {
            if tags.len() == MAX_TAGS {
                return Err(Error::TooManyTags);
            }
            let (t, l) = match body {
                [t0, t1, l0, l1, ..] => (
                    u16::from_be_bytes([*t0, *t1]),
                    usize::from(u16::from_be_bytes([*l0, *l1])),
                ),
                _ => {
                    return Err(Error::Truncated {
                        what: "TAG header",
                        offset,
                        need: TAG_HEADER_LEN,
                        have: body.len(),
                    })
                }
            };
            let after = body.get(TAG_HEADER_LEN..).unwrap_or(&[]);
            let value = after.get(..l).ok_or(Error::TagOverrun {
                tag_type: t,
                offset,
                len: l,
                have: after.len(),
            })?;
            let tag = Tag::parse(t, value, offset)?;
            let end = tag == Tag::EndOfList;
            tags.push(tag);
            if end {
                break;
            }
            body = after.get(l..).unwrap_or(&[]);
            offset += TAG_HEADER_LEN + l;
        }
        Ok(Discovery {
            eth,
            code,
            session_id,
            tags,
        })
    }

    /// Length of the PPPoE payload (the LENGTH field) in bytes: the sum of the TAGs' wire lengths.
    pub fn payload_len(&self) -> usize {
        self.tags.iter().map(Tag::wire_len).sum()
    }

    /// Append the whole frame (Ethernet header, PPPoE header, TAGs; no padding, no FCS) to `out`.
    ///
    /// Errors: [`Error::TooLong`] if the payload exceeds 65535 bytes or a TAG value does. The
    /// caller checks [`MAX_DISCOVERY_PAYLOAD`] if it needs the frame to fit a 1500-byte MTU.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let len = self.payload_len();
        let len16 = u16::try_from(len).map_err(|_| Error::TooLong("PPPoE payload", len))?;
        self.eth.emit(out);
        out.push(0x11);
        out.push(self.code.into());
        out.extend_from_slice(&self.session_id.to_be_bytes());
        out.extend_from_slice(&len16.to_be_bytes());
        for t in &self.tags {
            t.emit(out)?;
        }
        Ok(())
    }

    /// The whole frame as a new vector; see [`Discovery::emit`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(self.eth.len() + PPPOE_HEADER_LEN + self.payload_len());
        self.emit(&mut out)?;
        Ok(out)
    }

    /// The first TAG of the given TAG_TYPE, if any.
    pub fn find(&self, tag_type: u16) -> Option<&Tag> {
        self.tags.iter().find(|t| t.tag_type() == tag_type)
    }

    /// Number of TAGs of the given TAG_TYPE.
    pub fn count(&self, tag_type: u16) -> usize {
        self.tags
            .iter()
            .filter(|t| t.tag_type() == tag_type)
            .count()
    }
}

/// A PPPoE Session-stage frame (EtherType 0x8864, CODE 0x00), borrowed from the received frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionFrame<'a> {
    /// The Ethernet layer; `ether_type` is [`ETHERTYPE_SESSION`].
    pub eth: EthHeader,
    /// SESSION_ID assigned in the PADS.
    pub session_id: u16,
    /// The PPP frame: 2-byte PPP protocol number (network order) then the information field
    /// (RFC 2516 §6; no address/control bytes, no FCS).
    pub ppp: &'a [u8],
}

impl<'a> SessionFrame<'a> {
    /// Unwrap a Session-stage frame. Bytes after LENGTH (Ethernet padding) are dropped.
    ///
    /// Errors: [`Error::Truncated`], [`Error::BadVersion`], [`Error::NotPppoe`] for a Discovery
    /// frame (its EtherType) or for a 0x8864 frame whose CODE is not 0x00 (`NotPppoe(0x8864)`).
    pub fn parse(frame: &'a [u8]) -> Result<SessionFrame<'a>, Error> {
        let (eth, payload) = EthHeader::parse(frame)?;
        if eth.ether_type != ETHERTYPE_SESSION {
            return Err(Error::NotPppoe(eth.ether_type));
        }
        let (code, session_id, ppp) = parse_pppoe_header(payload, eth.len())?;
        if code != Code::Session {
            return Err(Error::NotPppoe(ETHERTYPE_SESSION));
        }
        Ok(SessionFrame {
            eth,
            session_id,
            ppp,
        })
    }

    /// Wrap a PPP frame (protocol number + information) into a Session-stage frame appended to
    /// `out`: `eth` (its `ether_type` is forced to 0x8864), PPPoE header with CODE 0x00.
    ///
    /// Errors: [`Error::TooLong`] if `ppp` exceeds 65535 bytes.
    pub fn emit(
        eth: &EthHeader,
        session_id: u16,
        ppp: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let len = u16::try_from(ppp.len()).map_err(|_| Error::TooLong("PPP frame", ppp.len()))?;
        let eth = EthHeader {
            ether_type: ETHERTYPE_SESSION,
            ..*eth
        };
        eth.emit(out);
        out.extend_from_slice(&[0x11, 0x00]);
        out.extend_from_slice(&session_id.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(ppp);
        Ok(())
    }
}
