//! What goes into our RADIUS requests and what we take out of the answers: pure functions
//! from sessions and credentials to attribute lists (RFC 2865 §5, RFC 2866 §5, RFC 2868 §3,
//! RFC 2548 §2.3) and from an Access-Accept/Reject to a PPP verdict and its authorization.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use l2tp_ppp::{AuthRequest, Verdict};
use l2tp_radius::attr::MsChap2Response;
use l2tp_radius::dict::{
    acct_authentic, acct_status_type, attr as at, code, framed_protocol, ms, nas_port_type,
    service_type, tunnel_medium_type, tunnel_type,
};
use l2tp_radius::{Attr, Packet, Value};

use crate::dataplane::SessionStats;
use crate::userspace::{AuthContext, AuthOutcome, Authorization};

/// Who we are to the RADIUS server: NAS-IP-Address and/or NAS-Identifier (RFC 2865 §4.1
/// wants at least one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NasIdentity {
    /// NAS-IP-Address.
    pub ip: Option<Ipv4Addr>,
    /// NAS-Identifier.
    pub identifier: Option<String>,
}

impl NasIdentity {
    fn push(&self, a: &mut Vec<Attr>) {
        if let Some(ip) = self.ip {
            a.push(Attr::ipv4(at::NAS_IP_ADDRESS, ip));
        }
        if let Some(id) = &self.identifier {
            a.push(Attr::bytes(at::NAS_IDENTIFIER, truncated(id.as_bytes())));
        }
    }
}

/// At most the 253 bytes an attribute holds.
fn truncated(b: &[u8]) -> Vec<u8> {
    b.get(..253).unwrap_or(b).to_vec()
}

/// The session's port and tunnel attributes, in Access-Requests and Accounting-Requests:
/// NAS-Port (our session ID), NAS-Port-Type Virtual, Service-Type Framed, Framed-Protocol
/// PPP, Calling-/Called-Station-Id (the call's Calling/Called Number AVPs), Tunnel-Type L2TP,
/// Tunnel-Medium-Type, Tunnel-Client-Endpoint (the LAC) and Tunnel-Server-Endpoint (us).
fn push_session(ctx: &AuthContext, a: &mut Vec<Attr>) {
    a.push(Attr::integer(at::NAS_PORT, ctx.session_id));
    a.push(Attr::integer(at::NAS_PORT_TYPE, nas_port_type::VIRTUAL));
    a.push(Attr::integer(at::SERVICE_TYPE, service_type::FRAMED));
    a.push(Attr::integer(at::FRAMED_PROTOCOL, framed_protocol::PPP));
    if let Some(c) = ctx.calling_number.as_deref().filter(|c| !c.is_empty()) {
        a.push(Attr::bytes(at::CALLING_STATION_ID, truncated(c)));
    }
    if let Some(c) = ctx.called_number.as_deref().filter(|c| !c.is_empty()) {
        a.push(Attr::bytes(at::CALLED_STATION_ID, truncated(c)));
    }
    let tagged = |typ, value| Attr {
        typ,
        value: Value::TaggedInteger { tag: 0, value },
    };
    let medium = match ctx.tunnel_peer.ip() {
        IpAddr::V4(_) => tunnel_medium_type::IPV4,
        IpAddr::V6(_) => tunnel_medium_type::IPV6,
    };
    a.push(tagged(at::TUNNEL_TYPE, tunnel_type::L2TP));
    a.push(tagged(at::TUNNEL_MEDIUM_TYPE, medium));
    let text = |typ, ip: IpAddr| Attr {
        typ,
        value: Value::TaggedText {
            tag: None,
            text: ip.to_string().into_bytes(),
        },
    };
    a.push(text(at::TUNNEL_CLIENT_ENDPOINT, ctx.tunnel_peer.ip()));
    if let Some(local) = ctx.tunnel_local {
        a.push(text(at::TUNNEL_SERVER_ENDPOINT, local));
    }
}

/// The attributes of an Access-Request for `req` on session `ctx` (RFC 2865 §4.1): the
/// credentials as the method wants them (PAP: User-Password, hidden by the encoder; CHAP-MD5:
/// CHAP-Password and CHAP-Challenge, RFC 2865 §5.3/§5.40; MS-CHAPv2: MS-CHAP-Challenge and
/// MS-CHAP2-Response, RFC 2548 §2.3.2), the NAS and the session. `None` when the credentials
/// cannot be carried (a CHAP response that is not 16 bytes, a password over 128 bytes).
pub fn access_request(
    nas: &NasIdentity,
    ctx: &AuthContext,
    req: &AuthRequest,
) -> Option<Vec<Attr>> {
    let mut a = vec![Attr::bytes(at::USER_NAME, truncated(req.username()))];
    match req {
        AuthRequest::Pap { password, .. } => {
            if password.len() > l2tp_radius::crypt::MAX_PASSWORD {
                return None;
            }
            a.push(Attr::user_password(password.clone()));
        }
        AuthRequest::ChapMd5 {
            id,
            challenge,
            response,
            ..
        } => {
            let response: [u8; 16] = response.as_slice().try_into().ok()?;
            if challenge.is_empty() || challenge.len() > 253 {
                return None;
            }
            a.push(Attr::chap_password(*id, response));
            a.push(Attr::bytes(at::CHAP_CHALLENGE, challenge.clone()));
        }
        AuthRequest::MsChapV2 {
            auth_challenge,
            peer_challenge,
            nt_response,
            ..
        } => {
            a.push(Attr::ms(
                ms::MS_CHAP_CHALLENGE,
                Value::Bytes(auth_challenge.to_vec()),
            ));
            let r = MsChap2Response {
                ident: 0,
                flags: 0,
                peer_challenge: *peer_challenge,
                nt_response: *nt_response,
            };
            a.push(Attr::ms(ms::MS_CHAP2_RESPONSE, Value::Bytes(r.to_bytes())));
        }
    }
    nas.push(&mut a);
    push_session(ctx, &mut a);
    Some(a)
}

/// The PPP verdict and authorization of an Access-Accept or Access-Reject (anything else,
/// e.g. an Access-Challenge, rejects: PPP has no way to carry a challenge).
///
/// Accept: Framed-IP-Address (except 255.255.255.254 / 255.255.255.255, "NAS assigns" /
/// "user chooses": the pool's), Session-Timeout, Idle-Timeout, Acct-Interim-Interval (s),
/// every Class; for MS-CHAPv2 the MS-CHAP2-Success's `S=` authenticator response (an accept
/// without one becomes a reject: the peer could not verify us). Reject: the Reply-Message
/// (else "Authentication failed") for the peer.
pub fn outcome(p: &Packet, req: &AuthRequest) -> AuthOutcome {
    let reply = p
        .get_all(at::REPLY_MESSAGE)
        .filter_map(Attr::as_bytes)
        .map(String::from_utf8_lossy)
        .collect::<Vec<_>>()
        .join(" ");
    let reject = |message: String| AuthOutcome::from(Verdict::Reject { message });
    if p.code != code::ACCESS_ACCEPT {
        return reject(if reply.is_empty() {
            "Authentication failed".into()
        } else {
            reply
        });
    }
    let secs = |t| p.integer(t).map(|s| Duration::from_secs(u64::from(s)));
    let authorization = Authorization {
        framed_ip: p
            .ipv4(at::FRAMED_IP_ADDRESS)
            .filter(|ip| u32::from(*ip) < 0xffff_fffe && !ip.is_unspecified()),
        session_timeout: secs(at::SESSION_TIMEOUT).filter(|d| !d.is_zero()),
        idle_timeout: secs(at::IDLE_TIMEOUT).filter(|d| !d.is_zero()),
        interim_interval: secs(at::ACCT_INTERIM_INTERVAL).filter(|d| !d.is_zero()),
        class: p
            .get_all(at::CLASS)
            .filter_map(Attr::as_bytes)
            .map(<[u8]>::to_vec)
            .collect(),
    };
    let ms_response = match req {
        AuthRequest::MsChapV2 { .. } => {
            let s = match p.ms(ms::MS_CHAP2_SUCCESS) {
                Some(Value::Bytes(v)) | Some(Value::Raw(v)) => {
                    l2tp_radius::attr::ms_chap_ident_message(v)
                        .and_then(|(_, m)| m.get(..42))
                        .filter(|m| {
                            m.strip_prefix(b"S=")
                                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
                        })
                        .map(|m| String::from_utf8_lossy(m).to_ascii_uppercase())
                }
                _ => None,
            };
            match s {
                Some(s) => Some(s),
                None => return reject("Authentication failed (no MS-CHAP2-Success)".into()),
            }
        }
        _ => None,
    };
    AuthOutcome {
        verdict: Verdict::Accept {
            ms_chap_v2_authenticator_response: ms_response,
            message: reply,
        },
        authorization,
    }
}

/// Counters of a session as accounting reports them (RFC 2866 §5.3–§5.8, RFC 2869 §5.1/5.2):
/// input is what the user sent us (our receive counters), output what we sent it; octets
/// are split into the low 32 bits and the Gigawords count of 2^32 wraps.
pub fn push_counters(st: &SessionStats, a: &mut Vec<Attr>) {
    let split = |v: u64| ((v & 0xffff_ffff) as u32, (v >> 32) as u32);
    let (in_lo, in_hi) = split(st.rx_bytes);
    let (out_lo, out_hi) = split(st.tx_bytes);
    a.push(Attr::integer(at::ACCT_INPUT_OCTETS, in_lo));
    a.push(Attr::integer(at::ACCT_OUTPUT_OCTETS, out_lo));
    a.push(Attr::integer(at::ACCT_INPUT_GIGAWORDS, in_hi));
    a.push(Attr::integer(at::ACCT_OUTPUT_GIGAWORDS, out_hi));
    a.push(Attr::integer(
        at::ACCT_INPUT_PACKETS,
        u32::try_from(st.rx_packets).unwrap_or(u32::MAX),
    ));
    a.push(Attr::integer(
        at::ACCT_OUTPUT_PACKETS,
        u32::try_from(st.tx_packets).unwrap_or(u32::MAX),
    ));
}

/// What every Accounting-Request of one session carries.
#[derive(Debug, Clone)]
pub struct AcctIdentity<'a> {
    /// Acct-Session-Id.
    pub session_id: &'a str,
    /// User-Name.
    pub username: &'a str,
    /// Framed-IP-Address.
    pub address: Ipv4Addr,
    /// Class attributes from the Access-Accept, echoed (RFC 2865 §5.25).
    pub class: &'a [Vec<u8>],
}

/// The attributes of an Accounting-Request (RFC 2866 §4.1) of status `status` (Start,
/// Interim-Update, Stop) for a session: identity, NAS and session attributes, Acct-Authentic
/// RADIUS, Event-Timestamp (`now_unix`, seconds since 1970), and for Interim/Stop the
/// session time (seconds) and counters; Stop adds Acct-Terminate-Cause.
pub fn accounting(
    status: u32,
    nas: &NasIdentity,
    ctx: &AuthContext,
    id: &AcctIdentity<'_>,
    now_unix: u32,
    usage: Option<(Duration, &SessionStats)>,
    terminate_cause: Option<u32>,
) -> Vec<Attr> {
    let mut a = vec![
        Attr::integer(at::ACCT_STATUS_TYPE, status),
        Attr::bytes(at::ACCT_SESSION_ID, truncated(id.session_id.as_bytes())),
        Attr::bytes(at::USER_NAME, truncated(id.username.as_bytes())),
        Attr::ipv4(at::FRAMED_IP_ADDRESS, id.address),
        Attr::integer(at::ACCT_AUTHENTIC, acct_authentic::RADIUS),
        Attr::integer(at::EVENT_TIMESTAMP, now_unix),
    ];
    nas.push(&mut a);
    push_session(ctx, &mut a);
    a.extend(
        id.class
            .iter()
            .map(|c| Attr::bytes(at::CLASS, truncated(c))),
    );
    if let Some((time, st)) = usage {
        a.push(Attr::integer(
            at::ACCT_SESSION_TIME,
            u32::try_from(time.as_secs()).unwrap_or(u32::MAX),
        ));
        push_counters(st, &mut a);
    }
    if let Some(c) = terminate_cause.filter(|_| status == acct_status_type::STOP) {
        a.push(Attr::integer(at::ACCT_TERMINATE_CAUSE, c));
    }
    a
}

/// Accounting-On or Accounting-Off (RFC 2866 §5.1: the NAS starts or stops; the server may
/// close whatever sessions it still holds for us).
pub fn accounting_on_off(
    status: u32,
    nas: &NasIdentity,
    session_id: &str,
    now_unix: u32,
) -> Vec<Attr> {
    let mut a = vec![
        Attr::integer(at::ACCT_STATUS_TYPE, status),
        Attr::bytes(at::ACCT_SESSION_ID, truncated(session_id.as_bytes())),
        Attr::integer(at::EVENT_TIMESTAMP, now_unix),
    ];
    nas.push(&mut a);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> AuthContext {
        AuthContext {
            tunnel_id: 3,
            session_id: 4711,
            calling_number: Some(b"0123456".to_vec()),
            called_number: None,
            tunnel_peer: "192.0.2.7:1701".parse().unwrap(),
            tunnel_local: Some("192.0.2.1".parse().unwrap()),
        }
    }

    fn nas() -> NasIdentity {
        NasIdentity {
            ip: Some(Ipv4Addr::new(192, 0, 2, 1)),
            identifier: Some("lns1".into()),
        }
    }

    fn find(a: &[Attr], typ: u8) -> Option<&Attr> {
        a.iter().find(|x| x.typ == typ)
    }

    #[test]
    fn access_requests_carry_each_methods_credentials_and_the_session() {
        let pap = AuthRequest::Pap {
            username: b"alice".to_vec(),
            password: b"pw".to_vec(),
        };
        let a = access_request(&nas(), &ctx(), &pap).unwrap();
        assert_eq!(
            find(&a, at::USER_NAME).unwrap().as_bytes(),
            Some(&b"alice"[..])
        );
        assert_eq!(
            find(&a, at::USER_PASSWORD).unwrap().value,
            Value::Password(b"pw".to_vec())
        );
        assert_eq!(find(&a, at::NAS_PORT).unwrap().as_integer(), Some(4711));
        assert_eq!(
            find(&a, at::NAS_PORT_TYPE).unwrap().as_integer(),
            Some(nas_port_type::VIRTUAL)
        );
        assert_eq!(
            find(&a, at::CALLING_STATION_ID).unwrap().as_bytes(),
            Some(&b"0123456"[..])
        );
        assert!(
            find(&a, at::CALLED_STATION_ID).is_none(),
            "no Called Number AVP, no attribute"
        );
        assert_eq!(
            find(&a, at::TUNNEL_TYPE).unwrap().as_integer(),
            Some(tunnel_type::L2TP)
        );
        assert_eq!(
            find(&a, at::TUNNEL_CLIENT_ENDPOINT).unwrap().as_bytes(),
            Some(&b"192.0.2.7"[..])
        );
        assert_eq!(
            find(&a, at::NAS_IDENTIFIER).unwrap().as_bytes(),
            Some(&b"lns1"[..])
        );
        // The whole request encodes (hidden password, tagged attributes, vendor attributes).
        let mut p = Packet::new(code::ACCESS_REQUEST, 1);
        p.attrs = a;
        p.encode_request(b"secret").unwrap();

        let chap = AuthRequest::ChapMd5 {
            username: b"bob".to_vec(),
            id: 9,
            challenge: vec![1; 16],
            response: vec![2; 16],
        };
        let a = access_request(&nas(), &ctx(), &chap).unwrap();
        assert_eq!(
            find(&a, at::CHAP_PASSWORD).unwrap().value,
            Value::ChapPassword {
                ident: 9,
                response: [2; 16]
            }
        );
        assert_eq!(
            find(&a, at::CHAP_CHALLENGE).unwrap().as_bytes(),
            Some(&[1u8; 16][..])
        );
        let bad = AuthRequest::ChapMd5 {
            username: b"bob".to_vec(),
            id: 9,
            challenge: vec![1; 16],
            response: vec![2; 15],
        };
        assert!(
            access_request(&nas(), &ctx(), &bad).is_none(),
            "a 15-byte CHAP response"
        );

        let ms2 = AuthRequest::MsChapV2 {
            username: b"carol".to_vec(),
            auth_challenge: [3; 16],
            peer_challenge: [4; 16],
            nt_response: [5; 24],
        };
        let a = access_request(&nas(), &ctx(), &ms2).unwrap();
        let vsas: Vec<_> = a
            .iter()
            .filter_map(|x| match &x.value {
                Value::Vsa(v) => Some((v.vendor_type, (*v.value).clone())),
                _ => None,
            })
            .collect();
        assert_eq!(vsas[0], (ms::MS_CHAP_CHALLENGE, Value::Bytes(vec![3; 16])));
        let Value::Bytes(r) = &vsas[1].1 else {
            panic!("{vsas:?}")
        };
        assert_eq!(MsChap2Response::parse(r).unwrap().nt_response, [5; 24]);
    }

    fn accept(attrs: Vec<Attr>) -> Packet {
        let mut p = Packet::new(code::ACCESS_ACCEPT, 1);
        p.attrs = attrs;
        p
    }

    #[test]
    fn accept_gives_authorization_and_reject_the_reply_message() {
        let pap = AuthRequest::Pap {
            username: b"alice".to_vec(),
            password: b"pw".to_vec(),
        };
        let o = outcome(
            &accept(vec![
                Attr::ipv4(at::FRAMED_IP_ADDRESS, Ipv4Addr::new(10, 1, 2, 3)),
                Attr::integer(at::SESSION_TIMEOUT, 60),
                Attr::integer(at::ACCT_INTERIM_INTERVAL, 30),
                Attr::bytes(at::CLASS, b"c1".to_vec()),
                Attr::bytes(at::CLASS, b"c2".to_vec()),
            ]),
            &pap,
        );
        assert!(matches!(o.verdict, Verdict::Accept { .. }));
        assert_eq!(o.authorization.framed_ip, Some(Ipv4Addr::new(10, 1, 2, 3)));
        assert_eq!(
            o.authorization.session_timeout,
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            o.authorization.interim_interval,
            Some(Duration::from_secs(30))
        );
        assert_eq!(o.authorization.class, vec![b"c1".to_vec(), b"c2".to_vec()]);
        // "NAS assigns": the pool's address.
        let o = outcome(
            &accept(vec![Attr::ipv4(
                at::FRAMED_IP_ADDRESS,
                Ipv4Addr::new(255, 255, 255, 254),
            )]),
            &pap,
        );
        assert_eq!(o.authorization.framed_ip, None);
        let mut rej = Packet::new(code::ACCESS_REJECT, 1);
        rej.attrs
            .push(Attr::bytes(at::REPLY_MESSAGE, b"expired".to_vec()));
        assert_eq!(
            outcome(&rej, &pap).verdict,
            Verdict::Reject {
                message: "expired".into()
            }
        );
    }

    #[test]
    fn mschapv2_accept_needs_the_authenticator_response() {
        let ms2 = AuthRequest::MsChapV2 {
            username: b"carol".to_vec(),
            auth_challenge: [3; 16],
            peer_challenge: [4; 16],
            nt_response: [5; 24],
        };
        let s = format!("S={}", "0123456789ABCDEF0123456789ABCDEF01234567");
        let mut v = vec![7u8];
        v.extend_from_slice(s.as_bytes());
        let o = outcome(
            &accept(vec![Attr::ms(ms::MS_CHAP2_SUCCESS, Value::Bytes(v))]),
            &ms2,
        );
        assert_eq!(
            o.verdict,
            Verdict::Accept {
                ms_chap_v2_authenticator_response: Some(s),
                message: String::new()
            }
        );
        assert!(matches!(
            outcome(&accept(vec![]), &ms2).verdict,
            Verdict::Reject { .. }
        ));
    }

    #[test]
    fn stop_carries_time_counters_with_gigawords_cause_and_class() {
        let st = SessionStats {
            rx_bytes: (5u64 << 32) + 7,
            tx_bytes: 1000,
            rx_packets: 10,
            tx_packets: 20,
            ..SessionStats::default()
        };
        let class = [b"abc".to_vec()];
        let id = AcctIdentity {
            session_id: "00000001",
            username: "alice",
            address: Ipv4Addr::new(10, 1, 2, 3),
            class: &class,
        };
        let a = accounting(
            acct_status_type::STOP,
            &nas(),
            &ctx(),
            &id,
            1_700_000_000,
            Some((Duration::from_secs(42), &st)),
            Some(6),
        );
        let int = |t| find(&a, t).and_then(Attr::as_integer);
        assert_eq!(int(at::ACCT_SESSION_TIME), Some(42));
        assert_eq!(int(at::ACCT_INPUT_OCTETS), Some(7));
        assert_eq!(int(at::ACCT_INPUT_GIGAWORDS), Some(5));
        assert_eq!(int(at::ACCT_OUTPUT_OCTETS), Some(1000));
        assert_eq!(int(at::ACCT_INPUT_PACKETS), Some(10));
        assert_eq!(int(at::ACCT_OUTPUT_PACKETS), Some(20));
        assert_eq!(int(at::ACCT_TERMINATE_CAUSE), Some(6));
        assert_eq!(find(&a, at::CLASS).unwrap().as_bytes(), Some(&b"abc"[..]));
        // A Start has neither counters nor a cause.
        let a = accounting(
            acct_status_type::START,
            &nas(),
            &ctx(),
            &id,
            0,
            None,
            Some(6),
        );
        assert!(
            find(&a, at::ACCT_INPUT_OCTETS).is_none()
                && find(&a, at::ACCT_TERMINATE_CAUSE).is_none()
        );
    }
}
