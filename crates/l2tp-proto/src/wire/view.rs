//! A checked view over the AVP area of a control message (smoltcp style): an iterator of
//! ([`AvpHeader`], value bytes) that validates each AVP's Length once, so that nothing after it
//! indexes the buffer unchecked. The codec, the message digest and the CLI's decoder all walk
//! AVPs through it.

use super::{Error, Result};

/// AVP header length in bytes (flags/length, vendor ID, attribute type).
pub const AVP_HEADER_LEN: usize = 6;
/// Largest AVP Length field (10 bits), header included.
pub const AVP_MAX_LEN: usize = 0x3ff;
/// Largest value an AVP can carry (bytes): [`AVP_MAX_LEN`] − [`AVP_HEADER_LEN`].
pub const AVP_MAX_VALUE_LEN: usize = AVP_MAX_LEN - AVP_HEADER_LEN;

/// M (mandatory) bit of the first header byte (RFC 2661 §4.1).
pub(super) const FLAG_M: u8 = 0x80;
/// H (hidden) bit of the first header byte (RFC 2661 §4.1).
pub(super) const FLAG_H: u8 = 0x40;

/// The 6-byte header of one AVP (RFC 2661 §4.1), fields in host order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvpHeader {
    /// M bit.
    pub mandatory: bool,
    /// H bit.
    pub hidden: bool,
    /// Length field: header plus value, in bytes (6..=1023 once checked).
    pub length: usize,
    /// Vendor ID (0 = IETF).
    pub vendor: u16,
    /// Attribute type.
    pub attr_type: u16,
}

impl AvpHeader {
    /// Reads a header from the first 6 bytes of `b`; `None` when `b` is shorter. The Length
    /// is not checked against anything here ([`AvpIter`] does).
    pub fn parse(b: &[u8]) -> Option<AvpHeader> {
        let h: &[u8; AVP_HEADER_LEN] = b.get(..AVP_HEADER_LEN)?.try_into().ok()?;
        Some(AvpHeader {
            mandatory: h[0] & FLAG_M != 0,
            hidden: h[0] & FLAG_H != 0,
            length: (usize::from(h[0] & 0x03) << 8) | usize::from(h[1]),
            vendor: u16::from_be_bytes([h[2], h[3]]),
            attr_type: u16::from_be_bytes([h[4], h[5]]),
        })
    }
}

/// One AVP as it lies in the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawAvp<'a> {
    /// Byte offset of the header in the buffer the iterator was made on.
    pub offset: usize,
    /// The header.
    pub header: AvpHeader,
    /// The value bytes (hidden values as sent), `length − 6` bytes.
    pub value: &'a [u8],
}

/// Iterator over the AVPs of `buf[start..end]` ([`AvpIter::new`]).
///
/// Yields `Err(`[`Error::AvpLength`]`)` once — for a header cut short (attribute type 0) or a
/// Length below 6 or past `end` — and then ends.
#[derive(Debug, Clone)]
pub struct AvpIter<'a> {
    buf: &'a [u8],
    off: usize,
    end: usize,
}

impl<'a> AvpIter<'a> {
    /// The AVPs in `buf[start..end]` (`end` is clamped to `buf.len()`); offsets in items and
    /// errors are indexes into `buf`.
    pub fn new(buf: &'a [u8], start: usize, end: usize) -> Self {
        AvpIter {
            buf,
            off: start,
            end: end.min(buf.len()),
        }
    }
}

impl<'a> Iterator for AvpIter<'a> {
    type Item = Result<RawAvp<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.off >= self.end {
            return None;
        }
        let offset = self.off;
        let rest = self.buf.get(offset..self.end).unwrap_or_default();
        // Whatever happens next, an error ends the walk.
        self.off = self.end;
        let Some(header) = AvpHeader::parse(rest) else {
            return Some(Err(Error::AvpLength {
                offset,
                attr_type: 0,
                length: rest.len(),
            }));
        };
        let value = match rest.get(AVP_HEADER_LEN..header.length) {
            Some(v) if header.length >= AVP_HEADER_LEN => v,
            _ => {
                return Some(Err(Error::AvpLength {
                    offset,
                    attr_type: header.attr_type,
                    length: header.length,
                }))
            }
        };
        self.off = offset + header.length;
        Some(Ok(RawAvp {
            offset,
            header,
            value,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_avps_and_stops_at_the_first_bad_length() {
        // Two AVPs: type 7 "ab" (M), then type 9 with Length 5 (< 6).
        let b = [0x80, 8, 0, 0, 0, 7, b'a', b'b', 0, 5, 0, 0, 0, 9];
        let mut it = AvpIter::new(&b, 0, b.len());
        let a = it.next().unwrap().unwrap();
        assert_eq!((a.offset, a.header.attr_type, a.value), (0, 7, &b"ab"[..]));
        assert!(a.header.mandatory && !a.header.hidden);
        assert!(matches!(
            it.next(),
            Some(Err(Error::AvpLength {
                offset: 8,
                attr_type: 9,
                length: 5
            }))
        ));
        assert!(it.next().is_none());
    }

    #[test]
    fn never_panics_and_never_reads_past_end() {
        let b: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37)).collect();
        for start in 0..b.len() + 2 {
            for end in 0..b.len() + 2 {
                for a in AvpIter::new(&b, start, end).flatten() {
                    assert!(a.offset + a.header.length <= end.min(b.len()));
                }
            }
        }
    }
}
