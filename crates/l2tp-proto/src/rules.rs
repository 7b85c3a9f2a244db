//! Which AVPs each control message MUST carry (RFC 2661 §6, RFC 3931 §6), as a table the engine
//! checks before acting on a message and the tests iterate over.
//!
//! A message that lacks one is answered as RFC 2661 §4.4.2 allows for a "general error": a
//! tunnel message (SCCRQ, SCCRP) with StopCCN Result Code 2 (general error), a session message
//! with CDN Result Code 2; the Error Code is 3 ("one of the field values was out of range") —
//! the RFC has no code for a missing AVP — and the Error Message names the missing AVP. StopCCN
//! and CDN are always honoured (being liberal: some peers send a StopCCN without Assigned
//! Tunnel ID), and the v3 SCCCN / HELLO / ACK need only the Message Type.

use crate::wire::attr::*;
use crate::wire::{avp_name, MessageType, Version};

/// Attribute types (IETF vendor; the [`attr`](crate::wire::attr) constants of the AVP table)
/// that a message of type `mt` MUST carry besides the Message Type AVP, per RFC 2661
/// §6.1–6.16 (v2) and RFC 3931 §6.1–6.15 (v3).
pub fn required_avps(version: Version, mt: MessageType) -> &'static [u16] {
    use MessageType::*;
    match version {
        // RFC 2661 §6.
        Version::V2 => match mt {
            Sccrq | Sccrp => &[
                PROTOCOL_VERSION,
                FRAMING_CAPABILITIES,
                HOST_NAME,
                ASSIGNED_TUNNEL_ID,
            ], // §6.1, §6.2
            StopCcn => &[ASSIGNED_TUNNEL_ID, RESULT_CODE], // §6.4
            Ocrq => &[
                ASSIGNED_SESSION_ID,
                CALL_SERIAL_NUMBER,
                MINIMUM_BPS,
                MAXIMUM_BPS,
                BEARER_TYPE,
                FRAMING_TYPE,
                CALLED_NUMBER,
            ], // §6.7
            Ocrp => &[ASSIGNED_SESSION_ID],                // §6.8
            Occn => &[TX_CONNECT_SPEED, FRAMING_TYPE],     // §6.9
            Icrq => &[ASSIGNED_SESSION_ID, CALL_SERIAL_NUMBER], // §6.10
            Icrp => &[ASSIGNED_SESSION_ID],                // §6.11
            Iccn => &[TX_CONNECT_SPEED, FRAMING_TYPE],     // §6.12
            Cdn => &[RESULT_CODE, ASSIGNED_SESSION_ID],    // §6.13
            Wen => &[CALL_ERRORS],                         // §6.15
            Sli => &[ACCM],                                // §6.16
            _ => &[],                                      // SCCCN §6.3, HELLO §6.5
        },
        // RFC 3931 §6.
        Version::V3 => match mt {
            Sccrq | Sccrp => &[
                HOST_NAME,
                ROUTER_ID,
                ASSIGNED_CONTROL_CONNECTION_ID,
                PSEUDOWIRE_CAPABILITIES,
            ], // §6.1, §6.2
            StopCcn => &[RESULT_CODE], // §6.4
            Icrq | Ocrq => &[
                LOCAL_SESSION_ID,
                REMOTE_SESSION_ID,
                CALL_SERIAL_NUMBER,
                PSEUDOWIRE_TYPE,
                REMOTE_END_ID,
                CIRCUIT_STATUS,
            ], // §6.6, §6.9
            Icrp | Ocrp => &[LOCAL_SESSION_ID, REMOTE_SESSION_ID, CIRCUIT_STATUS], // §6.7, §6.10
            Iccn | Occn | Sli => &[LOCAL_SESSION_ID, REMOTE_SESSION_ID], // §6.8, §6.11, §6.14
            Cdn => &[RESULT_CODE, LOCAL_SESSION_ID, REMOTE_SESSION_ID], // §6.12
            Wen => &[LOCAL_SESSION_ID, REMOTE_SESSION_ID, CALL_ERRORS], // §6.13
            _ => &[],                  // SCCCN §6.3, HELLO §6.5, ACK §6.15
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
