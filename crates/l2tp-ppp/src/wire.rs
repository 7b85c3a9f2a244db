//! PPP framing and the control-packet layout shared by LCP, PAP, CHAP, IPCP and IPv6CP.
//!
//! Frames handed to and produced by this crate start at the PPP Protocol field (RFC 1661 §2),
//! in network byte order, with no HDLC Address/Control bytes: that is how a Linux `/dev/ppp`
//! channel takes them. On input a leading `FF 03` (RFC 1662 §3.1) and a one-byte compressed
//! Protocol field (RFC 1661 §6.5, odd first byte) are also accepted.

/// PPP Protocol field value of IPv4 datagrams (RFC 1332 §3).
pub const PROTO_IPV4: u16 = 0x0021;
/// PPP Protocol field value of IPv6 datagrams (RFC 5072 §3).
pub const PROTO_IPV6: u16 = 0x0057;
/// PPP Protocol field value of the IP Control Protocol (RFC 1332 §2).
pub const PROTO_IPCP: u16 = 0x8021;
/// PPP Protocol field value of the IPv6 Control Protocol (RFC 5072 §2).
pub const PROTO_IPV6CP: u16 = 0x8057;
/// PPP Protocol field value of the Link Control Protocol (RFC 1661 §5).
pub const PROTO_LCP: u16 = 0xc021;
/// PPP Protocol field value of the Password Authentication Protocol (RFC 1334 §2.2).
pub const PROTO_PAP: u16 = 0xc023;
/// PPP Protocol field value of the Challenge-Handshake Authentication Protocol (RFC 1994 §3).
pub const PROTO_CHAP: u16 = 0xc223;

/// Largest control packet this crate emits or answers, in bytes (the RFC 1661 default MRU).
pub const DEFAULT_MRU: u16 = 1500;

/// What a frame carries, for the runtime's fast path (see [`classify`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// An IPv4 datagram (protocol 0x0021); the slice is the datagram, without the PPP header.
    Ipv4(&'a [u8]),
    /// An IPv6 datagram (protocol 0x0057); the slice is the datagram, without the PPP header.
    Ipv6(&'a [u8]),
    /// Anything else (control protocols, unknown protocols, malformed frames): give it to
    /// [`crate::Ppp::handle_frame`].
    Control,
}

/// Classify a received frame without copying: network-layer datagrams go straight to the TUN
/// device, everything else to the engine. Accepts the same framings as
/// [`crate::Ppp::handle_frame`]; never panics.
pub fn classify(frame: &[u8]) -> Frame<'_> {
    match split_protocol(frame) {
        Some((PROTO_IPV4, payload)) => Frame::Ipv4(payload),
        Some((PROTO_IPV6, payload)) => Frame::Ipv6(payload),
        _ => Frame::Control,
    }
}

/// Split a frame into its Protocol field value and the information field.
///
/// Strips an optional leading `FF 03`; a first Protocol byte with the low bit set is a
/// compressed one-byte field (RFC 1661 §2: protocol values are odd in the low byte and even in
/// the high byte). Returns `None` if the frame is too short or the field is not a valid
/// protocol number.
pub fn split_protocol(frame: &[u8]) -> Option<(u16, &[u8])> {
    let frame = match frame {
        [0xff, 0x03, rest @ ..] => rest,
        other => other,
    };
    let first = *frame.first()?;
    if first & 1 == 1 {
        return Some((u16::from(first), frame.get(1..)?));
    }
    let second = *frame.get(1)?;
    if second & 1 == 0 {
        return None;
    }
    Some((u16::from_be_bytes([first, second]), frame.get(2..)?))
}

/// A control packet (RFC 1661 §5 layout: Code, Identifier, Length, Data), borrowed from a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The Code octet.
    pub code: u8,
    /// The Identifier octet.
    pub id: u8,
    /// The Data field: `Length - 4` bytes; octets beyond Length (padding) are dropped.
    pub data: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Parse the information field of a control frame. Returns `None` if it is shorter than 4
    /// bytes, if Length is below 4 or if Length exceeds the bytes present (RFC 1661 §5:
    /// such packets are silently discarded).
    pub fn parse(info: &'a [u8]) -> Option<Packet<'a>> {
        let code = *info.first()?;
        let id = *info.get(1)?;
        let len = usize::from(u16::from_be_bytes([*info.get(2)?, *info.get(3)?]));
        if len < 4 {
            return None;
        }
        let data = info.get(4..len)?;
        Some(Packet { code, id, data })
    }
}

/// Build a control frame: Protocol (2 bytes), Code, Identifier, Length, then `data`, truncated
/// so the packet fits in `max` bytes (Length counts from Code; RFC 1661 §5).
pub fn control_frame(protocol: u16, code: u8, id: u8, data: &[u8], max: usize) -> Vec<u8> {
    let room = max.saturating_sub(4).min(usize::from(u16::MAX) - 4);
    let data = data.get(..room).unwrap_or(data);
    let mut f = Vec::with_capacity(6 + data.len());
    f.extend_from_slice(&protocol.to_be_bytes());
    f.push(code);
    f.push(id);
    // data.len() <= u16::MAX - 4 by the truncation above.
    f.extend_from_slice(&((data.len() + 4) as u16).to_be_bytes());
    f.extend_from_slice(data);
    f
}

/// One configuration option (RFC 1661 §6 layout: Type, Length, Data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opt<'a> {
    /// The Type octet.
    pub kind: u8,
    /// The Data field (`Length - 2` bytes).
    pub data: &'a [u8],
    /// The whole option as received (Type, Length, Data), for Reject and Ack lists.
    pub raw: &'a [u8],
}

/// Walk the options of a Configure-* packet. Yields `Err(())` once and stops if an option's
/// Length is below 2 or runs past the end (RFC 1661 §5.1: such a packet is malformed).
pub fn options(mut data: &[u8]) -> impl Iterator<Item = Result<Opt<'_>, ()>> {
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || data.is_empty() {
            return None;
        }
        let kind = *data.first()?;
        let len = data.get(1).map(|l| usize::from(*l));
        match len {
            Some(len) if len >= 2 && len <= data.len() => {
                let raw = data.get(..len)?;
                let opt = Opt {
                    kind,
                    data: raw.get(2..)?,
                    raw,
                };
                data = data.get(len..)?;
                Some(Ok(opt))
            }
            _ => {
                failed = true;
                Some(Err(()))
            }
        }
    })
}

/// Check that every option of `data` is well formed (see [`options`]).
pub fn options_well_formed(data: &[u8]) -> bool {
    options(data).all(|o| o.is_ok())
}

/// Append an option (Type, Length, Data) to `out`. `data` must be at most 253 bytes; longer
/// data is truncated (no option this crate sends comes near that).
pub fn push_opt(out: &mut Vec<u8>, kind: u8, data: &[u8]) {
    let data = data.get(..253).unwrap_or(data);
    out.push(kind);
    out.push((data.len() + 2) as u8);
    out.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_field_forms() {
        assert_eq!(
            split_protocol(&[0xc0, 0x21, 1]),
            Some((PROTO_LCP, &[1u8][..]))
        );
        assert_eq!(
            split_protocol(&[0xff, 0x03, 0xc0, 0x21]),
            Some((PROTO_LCP, &[][..]))
        );
        assert_eq!(
            split_protocol(&[0x21, 0x45]),
            Some((PROTO_IPV4, &[0x45u8][..]))
        );
        assert_eq!(
            split_protocol(&[0xc0, 0x20]),
            None,
            "even low byte is not a protocol"
        );
        assert_eq!(split_protocol(&[0xc0]), None);
        assert_eq!(split_protocol(&[]), None);
        assert_eq!(classify(&[0x00, 0x57, 0x60]), Frame::Ipv6(&[0x60]));
        assert_eq!(classify(&[0xc0, 0x21]), Frame::Control);
    }

    #[test]
    fn packet_length_checks() {
        assert_eq!(Packet::parse(&[1, 2, 0, 3]), None);
        assert_eq!(Packet::parse(&[1, 2, 0, 6, 9]), None);
        let p = Packet::parse(&[1, 2, 0, 5, 9, 0xaa]).unwrap();
        assert_eq!(
            (p.code, p.id, p.data),
            (1, 2, &[9u8][..]),
            "padding dropped"
        );
    }

    #[test]
    fn option_walk_stops_on_bad_length() {
        let v: Vec<_> = options(&[1, 4, 5, 0xdc, 7, 1]).collect();
        assert_eq!(v.len(), 2);
        assert!(v[0].is_ok() && v[1].is_err());
        assert!(!options_well_formed(&[1, 9, 0]));
        assert!(options_well_formed(&[]));
    }

    #[test]
    fn control_frame_truncates() {
        let f = control_frame(PROTO_LCP, 7, 1, &[0u8; 100], 20);
        assert_eq!(f.len(), 22);
        assert_eq!(&f[4..6], &20u16.to_be_bytes());
    }
}
