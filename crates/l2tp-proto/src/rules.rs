//! Which AVPs each control message MUST carry (RFC 2661 §6, RFC 3931 §6), as a table the engine
//! checks before acting on a message and the tests iterate over.
//!
//! A message that lacks one is answered as RFC 2661 §4.4.2 allows for a "general error": a
//! tunnel message (SCCRQ, SCCRP) with StopCCN Result Code 2 (general error), a session message
//! with CDN Result Code 2; the Error Code is 3 ("one of the field values was out of range") —
//! the RFC has no code for a missing AVP — and the Error Message names the missing AVP. StopCCN
//! and CDN are always honoured (being liberal: some peers send a StopCCN without Assigned
//! Tunnel ID), and the v3 SCCCN / HELLO / ACK need only the Message Type.

use crate::wire::{avp_name, MessageType, Version};

/// Attribute types (IETF vendor) that a message of type `mt` MUST carry besides the Message
/// Type AVP, per RFC 2661 §6.1–6.16 (v2) and RFC 3931 §6.1–6.15 (v3).
pub fn required_avps(version: Version, mt: MessageType) -> &'static [u16] {
    use MessageType::*;
    match version {
        // RFC 2661 §6: 1 Result Code, 2 Protocol Version, 3 Framing Capabilities, 7 Host Name,
        // 9 Assigned Tunnel ID, 14 Assigned Session ID, 15 Call Serial Number, 16 Minimum BPS,
        // 17 Maximum BPS, 18 Bearer Type, 19 Framing Type, 21 Called Number, 24 (Tx) Connect
        // Speed, 34 Call Errors, 35 ACCM.
        Version::V2 => match mt {
            Sccrq | Sccrp => &[2, 3, 7, 9],        // §6.1, §6.2
            StopCcn => &[9, 1],                    // §6.4
            Ocrq => &[14, 15, 16, 17, 18, 19, 21], // §6.7
            Ocrp => &[14],                         // §6.8
            Occn => &[24, 19],                     // §6.9
            Icrq => &[14, 15],                     // §6.10
            Icrp => &[14],                         // §6.11
            Iccn => &[24, 19],                     // §6.12
            Cdn => &[1, 14],                       // §6.13
            Wen => &[34],                          // §6.15
            Sli => &[35],                          // §6.16
            _ => &[],                              // SCCCN §6.3, HELLO §6.5
        },
        // RFC 3931 §6: 7 Host Name, 60 Router ID, 61 Assigned Control Connection ID,
        // 62 Pseudowire Capabilities List, 63 Local Session ID, 64 Remote Session ID,
        // 15 Serial Number, 68 Pseudowire Type, 66 Remote End ID, 71 Circuit Status,
        // 1 Result Code, 34 Circuit Errors.
        Version::V3 => match mt {
            Sccrq | Sccrp => &[7, 60, 61, 62],        // §6.1, §6.2
            StopCcn => &[1],                          // §6.4
            Icrq | Ocrq => &[63, 64, 15, 68, 66, 71], // §6.6, §6.9
            Icrp | Ocrp => &[63, 64, 71],             // §6.7, §6.10
            Iccn | Occn | Sli => &[63, 64],           // §6.8, §6.11, §6.14
            Cdn => &[1, 63, 64],                      // §6.12
            Wen => &[63, 64, 34],                     // §6.13
            _ => &[],                                 // SCCCN §6.3, HELLO §6.5, ACK §6.15
        },
    }
}

/// The first required AVP missing from `msg` (by name), if any.
pub fn missing_avp(version: Version, msg: &crate::wire::ControlMessage) -> Option<&'static str> {
    let mt = msg.message_type()?;
    required_avps(version, mt)
        .iter()
        .find(|&&t| {
            !msg.avps
                .iter()
                .any(|a| a.value.vendor() == 0 && a.value.attr_type() == t)
        })
        .map(|&t| avp_name(0, t))
}
