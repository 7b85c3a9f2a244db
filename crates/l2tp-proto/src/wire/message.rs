//! Control message types and the control message `Repr`.

use super::{Avp, AvpValue, ControlHeader};

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
}
