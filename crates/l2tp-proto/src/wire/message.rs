//! Control message types and the control message `Repr`.

use super::{
    Avp, AvpValue, ControlHeader, Encap, Error, Result, Version, CONTROL_HEADER_LEN,
    IP_SESSION_ID_LEN,
};

/// Control message type: the value of the Message Type AVP (attribute 0).
///
/// RFC 2661 §3.2 (L2TPv2) and RFC 3931 §3.1 (L2TPv3, adds ACK = 20). Unknown values round-trip
/// through [`MessageType::Unknown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageType {
    /// 1: Start-Control-Connection-Request.
    Sccrq,
    /// 2: Start-Control-Connection-Reply.
    Sccrp,
    /// 3: Start-Control-Connection-Connected.
    Scccn,
    /// 4: Stop-Control-Connection-Notification.
    StopCcn,
    /// 6: Hello (keep-alive).
    Hello,
    /// 7: Outgoing-Call-Request.
    Ocrq,
    /// 8: Outgoing-Call-Reply.
    Ocrp,
    /// 9: Outgoing-Call-Connected.
    Occn,
    /// 10: Incoming-Call-Request.
    Icrq,
    /// 11: Incoming-Call-Reply.
    Icrp,
    /// 12: Incoming-Call-Connected.
    Iccn,
    /// 14: Call-Disconnect-Notify.
    Cdn,
    /// 15: WAN-Error-Notify.
    Wen,
    /// 16: Set-Link-Info.
    Sli,
    /// 20: Explicit Acknowledgement (L2TPv3 only, RFC 3931 §3.1).
    Ack,
    /// Any other value (including reserved 0, 5, 13).
    Unknown(u16),
}

impl MessageType {
    /// The numeric value carried in the Message Type AVP.
    pub fn to_u16(self) -> u16 {
        match self {
            MessageType::Sccrq => 1,
            MessageType::Sccrp => 2,
            MessageType::Scccn => 3,
            MessageType::StopCcn => 4,
            MessageType::Hello => 6,
            MessageType::Ocrq => 7,
            MessageType::Ocrp => 8,
            MessageType::Occn => 9,
            MessageType::Icrq => 10,
            MessageType::Icrp => 11,
            MessageType::Iccn => 12,
            MessageType::Cdn => 14,
            MessageType::Wen => 15,
            MessageType::Sli => 16,
            MessageType::Ack => 20,
            MessageType::Unknown(v) => v,
        }
    }

    /// Maps a wire value to a message type; never fails.
    pub fn from_u16(v: u16) -> Self {
        match v {
            1 => MessageType::Sccrq,
            2 => MessageType::Sccrp,
            3 => MessageType::Scccn,
            4 => MessageType::StopCcn,
            6 => MessageType::Hello,
            7 => MessageType::Ocrq,
            8 => MessageType::Ocrp,
            9 => MessageType::Occn,
            10 => MessageType::Icrq,
            11 => MessageType::Icrp,
            12 => MessageType::Iccn,
            14 => MessageType::Cdn,
            15 => MessageType::Wen,
            16 => MessageType::Sli,
            20 => MessageType::Ack,
            v => MessageType::Unknown(v),
        }
    }

    /// The short name used in the RFCs and by tshark ("SCCRQ", "StopCCN", "ZLB" is not a type).
    pub fn name(self) -> &'static str {
        match self {
            MessageType::Sccrq => "SCCRQ",
            MessageType::Sccrp => "SCCRP",
            MessageType::Scccn => "SCCCN",
            MessageType::StopCcn => "StopCCN",
            MessageType::Hello => "HELLO",
            MessageType::Ocrq => "OCRQ",
            MessageType::Ocrp => "OCRP",
            MessageType::Occn => "OCCN",
            MessageType::Icrq => "ICRQ",
            MessageType::Icrp => "ICRP",
            MessageType::Iccn => "ICCN",
            MessageType::Cdn => "CDN",
            MessageType::Wen => "WEN",
            MessageType::Sli => "SLI",
            MessageType::Ack => "ACK",
            MessageType::Unknown(_) => "Unknown",
        }
    }
}

impl std::fmt::Display for MessageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MessageType::Unknown(v) => write!(f, "Unknown({v})"),
            t => f.write_str(t.name()),
        }
    }
}

/// A decoded control message: header plus AVPs in wire order.
///
/// A ZLB (zero-length body) acknowledgement has no AVPs. Otherwise the first AVP is the
/// Message Type AVP (RFC 2661 §4.1); the codec does not check which other AVPs a message type
/// must carry — that is the engine's job (RFC 2661 §6, RFC 3931 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlMessage {
    /// The control header (version, IDs, Ns/Nr).
    pub header: ControlHeader,
    /// AVPs in wire order, hidden ones already decrypted when a secret was given.
    pub avps: Vec<Avp>,
}

impl ControlMessage {
    /// True for a ZLB acknowledgement (a control message with no AVPs).
    pub fn is_zlb(&self) -> bool {
        self.avps.is_empty()
    }

    /// The message type from the first AVP, or `None` for a ZLB or when the first AVP is not a
    /// Message Type AVP.
    pub fn message_type(&self) -> Option<MessageType> {
        match self.avps.first().map(|a| &a.value) {
            Some(AvpValue::MessageType(t)) => Some(*t),
            _ => None,
        }
    }

    /// The first AVP whose value matches `pred` (helper for the engine's look-ups).
    pub fn find<T>(&self, mut pred: impl FnMut(&AvpValue) -> Option<T>) -> Option<T> {
        self.avps.iter().find_map(|a| pred(&a.value))
    }

    /// Parse a control message.
    ///
    /// For [`Encap::Ip`], `buf` starts with the 4-byte zero Session ID (RFC 3931 §4.1.1.1) and
    /// the version must be 3. The version (2 or 3) is read from the header. Hidden AVPs are
    /// revealed with `secret` and the nearest preceding Random Vector AVP. Bytes after the
    /// Length field are ignored (padding). Never panics; allocation is bounded by `buf.len()`.
    ///
    /// # Errors
    /// Header errors as [`ControlHeader::parse_at`]; [`Error::BadFlags`] for a non-zero Session
    /// ID over IP; [`Error::BadVersion`] for v2 over IP; AVP errors as [`Avp::parse_all`]
    /// (offsets from the start of `buf`).
    pub fn parse(buf: &[u8], encap: Encap, secret: Option<&[u8]>) -> Result<ControlMessage> {
        let base = match encap {
            Encap::Udp => 0,
            Encap::Ip => {
                let sid = buf.get(..IP_SESSION_ID_LEN).ok_or(Error::ShortHeader {
                    needed: IP_SESSION_ID_LEN + CONTROL_HEADER_LEN,
                    have: buf.len(),
                })?;
                if sid != [0, 0, 0, 0] {
                    return Err(Error::BadFlags {
                        flags: 0,
                        reason: "non-zero Session ID over IP: data message",
                    });
                }
                IP_SESSION_ID_LEN
            }
        };
        let (header, end) = ControlHeader::parse_at(buf, base)?;
        if encap == Encap::Ip && header.version != Version::V3 {
            return Err(Error::BadVersion(2));
        }
        let avps = Avp::parse_all(buf, base + CONTROL_HEADER_LEN, end, secret)?;
        Ok(ControlMessage { header, avps })
    }

    /// Append the encoded message to `out` (for [`Encap::Ip`]: the 4-byte zero Session ID
    /// first). The Length field is computed. AVPs with `hidden: true` are hidden with `secret`
    /// and the nearest preceding (not hidden) Random Vector AVP in `self.avps`, with no
    /// padding. On error `out` is left as it was.
    ///
    /// # Errors
    /// [`Error::HiddenNoSecret`] / [`Error::HiddenNoRandomVector`] (offset = position of the
    /// AVP in the message) when a hidden AVP cannot be hidden; [`Error::Encode`] when the
    /// message exceeds 65535 bytes, an AVP value exceeds 1017 bytes, v2 is asked over IP, or a
    /// value is not representable (see [`AvpValue::emit_value`], [`ControlHeader::emit`]).
    pub fn emit(&self, encap: Encap, secret: Option<&[u8]>, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        let r = self.emit_inner(encap, secret, out);
        if r.is_err() {
            out.truncate(start);
        }
        r
    }

    fn emit_inner(&self, encap: Encap, secret: Option<&[u8]>, out: &mut Vec<u8>) -> Result<()> {
        let msg = out.len();
        if encap == Encap::Ip {
            if self.header.version != Version::V3 {
                return Err(Error::Encode("L2TPv2 runs over UDP only"));
            }
            out.extend_from_slice(&[0, 0, 0, 0]);
        }
        let hdr = out.len();
        // Placeholder length, patched below once the AVPs are written.
        self.header.emit(CONTROL_HEADER_LEN, out)?;
        Avp::emit_all(&self.avps, self.header.version, secret, out).map_err(|e| match e {
            Error::HiddenNoSecret { offset, attr_type } => Error::HiddenNoSecret {
                offset: offset - msg,
                attr_type,
            },
            Error::HiddenNoRandomVector { offset, attr_type } => Error::HiddenNoRandomVector {
                offset: offset - msg,
                attr_type,
            },
            e => e,
        })?;
        let len = u16::try_from(out.len() - hdr)
            .map_err(|_| Error::Encode("message longer than 65535 bytes"))?;
        out[hdr + 2..hdr + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }

    /// Encode into a new buffer; see [`ControlMessage::emit`].
    ///
    /// # Errors
    /// As [`ControlMessage::emit`].
    pub fn to_bytes(&self, encap: Encap, secret: Option<&[u8]>) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(128);
        self.emit(encap, secret, &mut out)?;
        Ok(out)
    }
}
