//! The dictionary: packet codes, attribute numbers, names and value types used by an LNS, in
//! one table. Numbers from RFC 2865 §5, RFC 2866 §5, RFC 2868 §3, RFC 2869 §5, RFC 3162 §2,
//! RFC 4818, RFC 5176 §3.5, RFC 2548 §2 (Microsoft, vendor 311).

/// How an attribute's value is laid out on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `text` (RFC 2865 §5): 0..=253 bytes, UTF-8 expected but not enforced.
    Text,
    /// `string` (octets): 0..=253 bytes.
    Octets,
    /// 32-bit unsigned integer, network order (also `time`: seconds since 1970-01-01 UTC).
    Integer,
    /// IPv4 address, 4 bytes.
    Ipv4,
    /// IPv6 address, 16 bytes (RFC 3162).
    Ipv6,
    /// IPv6 prefix (RFC 3162 §2.3): reserved octet, prefix length (0..=128), 0..=16 prefix bytes.
    Ipv6Prefix,
    /// RFC 2868 tagged integer: tag octet (0..=0x1f) then a 24-bit value, network order.
    TaggedInteger,
    /// RFC 2868 tagged string: optional tag octet (present if 0x01..=0x1f) then the string.
    TaggedText,
    /// User-Password, hidden with the shared secret (RFC 2865 §5.2); at most 128 bytes clear.
    UserPassword,
    /// CHAP-Password (RFC 2865 §5.3): CHAP identifier then the 16-byte MD5 response.
    ChapPassword,
    /// Message-Authenticator (RFC 3579 §3.2): 16-byte HMAC-MD5.
    MessageAuthenticator,
    /// Vendor-Specific (RFC 2865 §5.26): vendor id then vendor sub-attributes.
    Vsa,
    /// MS-MPPE-Send/Recv-Key (RFC 2548 §2.4.2/2.4.3): salt, then the key encrypted with the secret.
    MppeKey,
}

/// One dictionary entry: attribute number, name as in FreeRADIUS' dictionaries, value kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttrDef {
    /// Attribute Type octet (or vendor-type octet for vendor attributes).
    pub typ: u8,
    /// Name, e.g. `"User-Name"`.
    pub name: &'static str,
    /// Value layout.
    pub kind: Kind,
}

macro_rules! attributes {
    ($table:ident, $( $konst:ident = $num:literal, $name:literal, $kind:ident; )*) => {
        $(
            #[doc = concat!("`", $name, "` (", stringify!($num), ").")]
            pub const $konst: u8 = $num;
        )*
        /// Every attribute of this space this crate knows, in numeric order.
        pub const $table: &[AttrDef] = &[
            $( AttrDef { typ: $num, name: $name, kind: Kind::$kind }, )*
        ];
    };
}

/// Standard attribute numbers (RADIUS Type octet).
pub mod attr {
    use super::{AttrDef, Kind};
    attributes! { TABLE,
        USER_NAME = 1, "User-Name", Text;
        USER_PASSWORD = 2, "User-Password", UserPassword;
        CHAP_PASSWORD = 3, "CHAP-Password", ChapPassword;
        NAS_IP_ADDRESS = 4, "NAS-IP-Address", Ipv4;
        NAS_PORT = 5, "NAS-Port", Integer;
        SERVICE_TYPE = 6, "Service-Type", Integer;
        FRAMED_PROTOCOL = 7, "Framed-Protocol", Integer;
        FRAMED_IP_ADDRESS = 8, "Framed-IP-Address", Ipv4;
        FRAMED_IP_NETMASK = 9, "Framed-IP-Netmask", Ipv4;
        FRAMED_MTU = 12, "Framed-MTU", Integer;
        REPLY_MESSAGE = 18, "Reply-Message", Text;
        FRAMED_ROUTE = 22, "Framed-Route", Text;
        STATE = 24, "State", Octets;
        CLASS = 25, "Class", Octets;
        VENDOR_SPECIFIC = 26, "Vendor-Specific", Vsa;
        SESSION_TIMEOUT = 27, "Session-Timeout", Integer;
        IDLE_TIMEOUT = 28, "Idle-Timeout", Integer;
        CALLED_STATION_ID = 30, "Called-Station-Id", Text;
        CALLING_STATION_ID = 31, "Calling-Station-Id", Text;
        NAS_IDENTIFIER = 32, "NAS-Identifier", Text;
        PROXY_STATE = 33, "Proxy-State", Octets;
        ACCT_STATUS_TYPE = 40, "Acct-Status-Type", Integer;
        ACCT_DELAY_TIME = 41, "Acct-Delay-Time", Integer;
        ACCT_INPUT_OCTETS = 42, "Acct-Input-Octets", Integer;
        ACCT_OUTPUT_OCTETS = 43, "Acct-Output-Octets", Integer;
        ACCT_SESSION_ID = 44, "Acct-Session-Id", Text;
        ACCT_AUTHENTIC = 45, "Acct-Authentic", Integer;
        ACCT_SESSION_TIME = 46, "Acct-Session-Time", Integer;
        ACCT_INPUT_PACKETS = 47, "Acct-Input-Packets", Integer;
        ACCT_OUTPUT_PACKETS = 48, "Acct-Output-Packets", Integer;
        ACCT_TERMINATE_CAUSE = 49, "Acct-Terminate-Cause", Integer;
        ACCT_MULTI_SESSION_ID = 50, "Acct-Multi-Session-Id", Text;
        ACCT_INPUT_GIGAWORDS = 52, "Acct-Input-Gigawords", Integer;
        ACCT_OUTPUT_GIGAWORDS = 53, "Acct-Output-Gigawords", Integer;
        EVENT_TIMESTAMP = 55, "Event-Timestamp", Integer;
        CHAP_CHALLENGE = 60, "CHAP-Challenge", Octets;
        NAS_PORT_TYPE = 61, "NAS-Port-Type", Integer;
        TUNNEL_TYPE = 64, "Tunnel-Type", TaggedInteger;
        TUNNEL_MEDIUM_TYPE = 65, "Tunnel-Medium-Type", TaggedInteger;
        TUNNEL_CLIENT_ENDPOINT = 66, "Tunnel-Client-Endpoint", TaggedText;
        TUNNEL_SERVER_ENDPOINT = 67, "Tunnel-Server-Endpoint", TaggedText;
        MESSAGE_AUTHENTICATOR = 80, "Message-Authenticator", MessageAuthenticator;
        TUNNEL_ASSIGNMENT_ID = 82, "Tunnel-Assignment-Id", TaggedText;
        ACCT_INTERIM_INTERVAL = 85, "Acct-Interim-Interval", Integer;
        NAS_PORT_ID = 87, "NAS-Port-Id", Text;
        TUNNEL_CLIENT_AUTH_ID = 90, "Tunnel-Client-Auth-Id", TaggedText;
        TUNNEL_SERVER_AUTH_ID = 91, "Tunnel-Server-Auth-Id", TaggedText;
        NAS_IPV6_ADDRESS = 95, "NAS-IPv6-Address", Ipv6;
        FRAMED_IPV6_PREFIX = 97, "Framed-IPv6-Prefix", Ipv6Prefix;
        ERROR_CAUSE = 101, "Error-Cause", Integer;
        DELEGATED_IPV6_PREFIX = 123, "Delegated-IPv6-Prefix", Ipv6Prefix;
    }
}

/// Microsoft vendor attributes (vendor id 311, RFC 2548 §2).
pub mod ms {
    use super::{AttrDef, Kind};
    /// Microsoft's SMI network management private enterprise code.
    pub const VENDOR_ID: u32 = 311;
    attributes! { TABLE,
        MS_CHAP_ERROR = 2, "MS-CHAP-Error", Octets;
        MS_CHAP_CHALLENGE = 11, "MS-CHAP-Challenge", Octets;
        MS_MPPE_SEND_KEY = 16, "MS-MPPE-Send-Key", MppeKey;
        MS_MPPE_RECV_KEY = 17, "MS-MPPE-Recv-Key", MppeKey;
        MS_CHAP2_RESPONSE = 25, "MS-CHAP2-Response", Octets;
        MS_CHAP2_SUCCESS = 26, "MS-CHAP2-Success", Octets;
        MS_PRIMARY_DNS_SERVER = 28, "MS-Primary-DNS-Server", Ipv4;
        MS_SECONDARY_DNS_SERVER = 29, "MS-Secondary-DNS-Server", Ipv4;
    }
}

/// Index from Type octet to table position + 1 (0 = unknown), built at compile time so a
/// lookup is one array read, not a walk of the table.
const fn index(table: &[AttrDef]) -> [u8; 256] {
    let mut idx = [0u8; 256];
    let mut i = 0;
    while i < table.len() {
        idx[table[i].typ as usize] = (i + 1) as u8;
        i += 1;
    }
    idx
}

const ATTR_INDEX: [u8; 256] = index(attr::TABLE);
const MS_INDEX: [u8; 256] = index(ms::TABLE);

fn lookup_in(table: &'static [AttrDef], idx: &[u8; 256], typ: u8) -> Option<&'static AttrDef> {
    let slot = *idx.get(typ as usize)?;
    table.get(usize::from(slot).checked_sub(1)?)
}

/// Look up a standard attribute by Type octet; `None` for attributes kept as raw bytes.
pub fn lookup(typ: u8) -> Option<&'static AttrDef> {
    lookup_in(attr::TABLE, &ATTR_INDEX, typ)
}

/// Look up a Microsoft vendor attribute by vendor-type octet.
pub fn lookup_ms(vendor_type: u8) -> Option<&'static AttrDef> {
    lookup_in(ms::TABLE, &MS_INDEX, vendor_type)
}

/// Look up a standard attribute by name (as in FreeRADIUS, e.g. `"Acct-Session-Id"`).
pub fn lookup_name(name: &str) -> Option<&'static AttrDef> {
    attr::TABLE.iter().find(|d| d.name == name)
}

/// Packet Code values (RFC 2865 §3, RFC 2866 §3, RFC 5176 §2.3).
pub mod code {
    /// Access-Request.
    pub const ACCESS_REQUEST: u8 = 1;
    /// Access-Accept.
    pub const ACCESS_ACCEPT: u8 = 2;
    /// Access-Reject.
    pub const ACCESS_REJECT: u8 = 3;
    /// Accounting-Request.
    pub const ACCOUNTING_REQUEST: u8 = 4;
    /// Accounting-Response.
    pub const ACCOUNTING_RESPONSE: u8 = 5;
    /// Access-Challenge.
    pub const ACCESS_CHALLENGE: u8 = 11;
    /// Disconnect-Request.
    pub const DISCONNECT_REQUEST: u8 = 40;
    /// Disconnect-ACK.
    pub const DISCONNECT_ACK: u8 = 41;
    /// Disconnect-NAK.
    pub const DISCONNECT_NAK: u8 = 42;
    /// CoA-Request.
    pub const COA_REQUEST: u8 = 43;
    /// CoA-ACK.
    pub const COA_ACK: u8 = 44;
    /// CoA-NAK.
    pub const COA_NAK: u8 = 45;
}

/// Service-Type values (RFC 2865 §5.6).
pub mod service_type {
    /// Login.
    pub const LOGIN: u32 = 1;
    /// Framed (PPP).
    pub const FRAMED: u32 = 2;
    /// Authorize-Only (RFC 5176 §3.1).
    pub const AUTHORIZE_ONLY: u32 = 17;
}

/// Framed-Protocol values (RFC 2865 §5.7).
pub mod framed_protocol {
    /// PPP.
    pub const PPP: u32 = 1;
}

/// NAS-Port-Type values (RFC 2865 §5.41).
pub mod nas_port_type {
    /// Async.
    pub const ASYNC: u32 = 0;
    /// Virtual: what an LNS reports for L2TP sessions.
    pub const VIRTUAL: u32 = 5;
    /// Ethernet (PPPoE).
    pub const ETHERNET: u32 = 15;
}

/// Acct-Status-Type values (RFC 2866 §5.1).
pub mod acct_status_type {
    /// Start.
    pub const START: u32 = 1;
    /// Stop.
    pub const STOP: u32 = 2;
    /// Interim-Update.
    pub const INTERIM_UPDATE: u32 = 3;
    /// Accounting-On (NAS restarted, all its sessions are gone).
    pub const ACCOUNTING_ON: u32 = 7;
    /// Accounting-Off (NAS shutting down).
    pub const ACCOUNTING_OFF: u32 = 8;
}

/// Acct-Authentic values (RFC 2866 §5.6).
pub mod acct_authentic {
    /// RADIUS.
    pub const RADIUS: u32 = 1;
    /// Local.
    pub const LOCAL: u32 = 2;
}

/// Acct-Terminate-Cause values (RFC 2866 §5.10).
pub mod terminate_cause {
    /// User Request.
    pub const USER_REQUEST: u32 = 1;
    /// Lost Carrier.
    pub const LOST_CARRIER: u32 = 2;
    /// Lost Service.
    pub const LOST_SERVICE: u32 = 3;
    /// Idle Timeout.
    pub const IDLE_TIMEOUT: u32 = 4;
    /// Session Timeout.
    pub const SESSION_TIMEOUT: u32 = 5;
    /// Admin Reset.
    pub const ADMIN_RESET: u32 = 6;
    /// Admin Reboot.
    pub const ADMIN_REBOOT: u32 = 7;
    /// Port Error.
    pub const PORT_ERROR: u32 = 8;
    /// NAS Error.
    pub const NAS_ERROR: u32 = 9;
    /// NAS Request.
    pub const NAS_REQUEST: u32 = 10;
    /// NAS Reboot.
    pub const NAS_REBOOT: u32 = 11;
}

/// Tunnel-Type values (RFC 2868 §3.1).
pub mod tunnel_type {
    /// L2TP.
    pub const L2TP: u32 = 3;
}

/// Tunnel-Medium-Type values (RFC 2868 §3.2).
pub mod tunnel_medium_type {
    /// IPv4.
    pub const IPV4: u32 = 1;
    /// IPv6.
    pub const IPV6: u32 = 2;
}

/// Error-Cause values (RFC 5176 §3.5).
pub mod error_cause {
    /// Residual Session Context Removed (ACK).
    pub const RESIDUAL_SESSION_CONTEXT_REMOVED: u32 = 201;
    /// Unsupported Attribute.
    pub const UNSUPPORTED_ATTRIBUTE: u32 = 401;
    /// Missing Attribute.
    pub const MISSING_ATTRIBUTE: u32 = 402;
    /// NAS Identification Mismatch.
    pub const NAS_IDENTIFICATION_MISMATCH: u32 = 403;
    /// Invalid Request.
    pub const INVALID_REQUEST: u32 = 404;
    /// Unsupported Service.
    pub const UNSUPPORTED_SERVICE: u32 = 405;
    /// Unsupported Extension.
    pub const UNSUPPORTED_EXTENSION: u32 = 406;
    /// Invalid Attribute Value.
    pub const INVALID_ATTRIBUTE_VALUE: u32 = 407;
    /// Administratively Prohibited.
    pub const ADMINISTRATIVELY_PROHIBITED: u32 = 501;
    /// Request Not Routable (Proxy).
    pub const REQUEST_NOT_ROUTABLE: u32 = 502;
    /// Session Context Not Found.
    pub const SESSION_CONTEXT_NOT_FOUND: u32 = 503;
    /// Session Context Not Removable.
    pub const SESSION_CONTEXT_NOT_REMOVABLE: u32 = 504;
    /// Other Proxy Processing Error.
    pub const OTHER_PROXY_PROCESSING_ERROR: u32 = 505;
    /// Resources Unavailable.
    pub const RESOURCES_UNAVAILABLE: u32 = 506;
    /// Request Initiated.
    pub const REQUEST_INITIATED: u32 = 507;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_sorted_and_unique() {
        for t in [attr::TABLE, ms::TABLE] {
            for w in t.windows(2) {
                assert!(w[0].typ < w[1].typ, "{} before {}", w[0].name, w[1].name);
            }
        }
        assert_eq!(
            lookup(attr::NAS_PORT_TYPE).map(|d| d.name),
            Some("NAS-Port-Type")
        );
        assert_eq!(lookup_name("Acct-Session-Id").map(|d| d.typ), Some(44));
        assert!(lookup(200).is_none());
        assert!(lookup(0).is_none());
        for d in attr::TABLE {
            assert_eq!(lookup(d.typ), Some(d));
        }
        for d in ms::TABLE {
            assert_eq!(lookup_ms(d.typ), Some(d));
        }
    }
}
