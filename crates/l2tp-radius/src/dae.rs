//! The NAS side of Dynamic Authorization (RFC 5176), sans-IO: a Disconnect-Request or
//! CoA-Request in, a typed request or a NAK out; the caller looks the session up, acts, and
//! answers with [`DaeServer::ack`] or [`DaeServer::nak`].
//!
//! Checks, in order (RFC 5176 §2.3, §3, §3.3, §3.5):
//! 1. the source IP is a configured client (else dropped silently);
//! 2. Code is Disconnect-Request (40) or CoA-Request (43) (else dropped);
//! 3. the Request Authenticator and any Message-Authenticator verify with that client's
//!    secret (else dropped silently: a forged or mis-keyed packet gets no answer);
//! 4. if an Event-Timestamp window is configured, Event-Timestamp must be present and within
//!    the window of the caller's wall clock (else dropped: replay protection, §3.5);
//! 5. attributes are well formed (else NAK 404 Invalid Request / 407 Invalid Attribute Value),
//!    NAS-IP-Address/NAS-Identifier match ours if given (else NAK 403), at least one session
//!    identification attribute is present (else NAK 402 Missing Attribute), Service-Type is
//!    not Authorize-Only (NAK 405), and no attribute is outside what the request kind
//!    supports (NAK 401 Unsupported Attribute).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::attr::{Attr, Value};
use crate::dict::{attr as at, code, error_cause, service_type};
use crate::error::Error;
use crate::packet::{Header, Packet};

/// A dynamic authorization client (the RADIUS server or proxy sending CoA/Disconnect).
#[derive(Debug, Clone)]
pub struct DaeClient {
    /// Source IP address requests must come from (any port).
    pub addr: IpAddr,
    /// Shared secret, non-empty.
    pub secret: Vec<u8>,
}

/// Configuration of the dynamic authorization server.
#[derive(Debug, Clone, Default)]
pub struct DaeConfig {
    /// Allowed clients.
    pub clients: Vec<DaeClient>,
    /// If set, Event-Timestamp is required and must be within this many seconds of the
    /// caller's clock, either way (RFC 5176 §3.5 suggests 300 s).
    pub event_timestamp_window: Option<Duration>,
    /// Our NAS-IP-Address; a request naming another gets NAK 403.
    pub nas_ip_address: Option<Ipv4Addr>,
    /// Our NAS-Identifier; a request naming another gets NAK 403.
    pub nas_identifier: Option<Vec<u8>>,
}

/// Which request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaeKind {
    /// Disconnect-Request: end the session.
    Disconnect,
    /// CoA-Request: change the session's authorization.
    Coa,
}

/// The session identification attributes of a request (RFC 5176 §3); each `None` if absent.
/// The caller matches the session on all that are present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionSelector {
    /// User-Name.
    pub user_name: Option<Vec<u8>>,
    /// Acct-Session-Id.
    pub acct_session_id: Option<Vec<u8>>,
    /// Acct-Multi-Session-Id.
    pub acct_multi_session_id: Option<Vec<u8>>,
    /// Framed-IP-Address.
    pub framed_ip_address: Option<Ipv4Addr>,
    /// Calling-Station-Id.
    pub calling_station_id: Option<Vec<u8>>,
    /// Called-Station-Id.
    pub called_station_id: Option<Vec<u8>>,
    /// NAS-Port.
    pub nas_port: Option<u32>,
    /// NAS-Port-Id.
    pub nas_port_id: Option<Vec<u8>>,
}

impl SessionSelector {
    fn is_empty(&self) -> bool {
        *self == SessionSelector::default()
    }
}

/// A verified request for the caller to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaeRequest {
    /// Disconnect or CoA.
    pub kind: DaeKind,
    /// Where it came from; send the answer there.
    pub from: SocketAddr,
    /// Which session(s).
    pub session: SessionSelector,
    /// For CoA: the authorization attributes to apply (Session-Timeout, Idle-Timeout,
    /// Acct-Interim-Interval, Framed-*, Class, Reply-Message, vendor attributes), in order.
    pub changes: Vec<Attr>,
    identifier: u8,
    authenticator: [u8; 16],
    proxy_state: Vec<Vec<u8>>,
    with_message_authenticator: bool,
}

/// Why a datagram got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// Source address is not a configured client.
    UnknownClient,
    /// Not a Disconnect-Request or CoA-Request, or shorter than a header.
    NotARequest,
    /// Request Authenticator or Message-Authenticator did not verify.
    BadAuthenticator,
    /// Event-Timestamp missing or outside the window.
    Stale,
}

/// Result of [`DaeServer::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaeOutcome {
    /// A valid request: find the session, act, answer with [`DaeServer::ack`] /
    /// [`DaeServer::nak`] (e.g. 503 Session Context Not Found).
    Request(Box<DaeRequest>),
    /// The request was refused here: send this NAK (UDP payload) back to `to`.
    Nak {
        /// Destination.
        to: SocketAddr,
        /// The Disconnect-NAK or CoA-NAK datagram.
        reply: Vec<u8>,
        /// The Error-Cause it carries.
        cause: u32,
    },
    /// No answer.
    Drop(DropReason),
}

/// Counters, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DaeCounters {
    /// Requests handed to the caller.
    pub requests: u64,
    /// NAKs built by [`DaeServer::handle`].
    pub naks: u64,
    /// Dropped: unknown client.
    pub unknown_client: u64,
    /// Dropped: bad authenticator.
    pub bad_authenticator: u64,
    /// Dropped: not a request or too short.
    pub not_a_request: u64,
    /// Dropped: Event-Timestamp missing or out of window.
    pub stale: u64,
}

/// The dynamic authorization server state.
pub struct DaeServer {
    cfg: DaeConfig,
    secrets: HashMap<IpAddr, Vec<u8>>,
    counters: DaeCounters,
}

/// Attributes that identify the NAS or secure the request, allowed in both kinds.
fn is_common(typ: u8) -> bool {
    matches!(
        typ,
        at::USER_NAME
            | at::ACCT_SESSION_ID
            | at::ACCT_MULTI_SESSION_ID
            | at::FRAMED_IP_ADDRESS
            | at::CALLING_STATION_ID
            | at::CALLED_STATION_ID
            | at::NAS_PORT
            | at::NAS_PORT_ID
            | at::NAS_PORT_TYPE
            | at::NAS_IP_ADDRESS
            | at::NAS_IPV6_ADDRESS
            | at::NAS_IDENTIFIER
            | at::PROXY_STATE
            | at::MESSAGE_AUTHENTICATOR
            | at::EVENT_TIMESTAMP
            | at::SERVICE_TYPE
            | at::STATE
            | at::CLASS
            | at::REPLY_MESSAGE
    )
}

/// Authorization attributes a CoA-Request may change here.
fn is_coa_change(typ: u8) -> bool {
    matches!(
        typ,
        at::SESSION_TIMEOUT
            | at::IDLE_TIMEOUT
            | at::ACCT_INTERIM_INTERVAL
            | at::FRAMED_IP_NETMASK
            | at::FRAMED_ROUTE
            | at::FRAMED_MTU
            | at::FRAMED_IPV6_PREFIX
            | at::DELEGATED_IPV6_PREFIX
            | at::CLASS
            | at::REPLY_MESSAGE
            | at::VENDOR_SPECIFIC
    )
}

impl DaeServer {
    /// A server for `cfg`. Errors: [`Error::Config`] if a client's secret is empty.
    pub fn new(cfg: DaeConfig) -> Result<DaeServer, Error> {
        if cfg.clients.iter().any(|c| c.secret.is_empty()) {
            return Err(Error::Config("empty shared secret"));
        }
        let secrets = cfg
            .clients
            .iter()
            .map(|c| (c.addr, c.secret.clone()))
            .collect();
        Ok(DaeServer {
            cfg,
            secrets,
            counters: DaeCounters::default(),
        })
    }

    /// Counters so far.
    pub fn counters(&self) -> &DaeCounters {
        &self.counters
    }

    /// Check one datagram from `from`. `now_unix` is the caller's wall clock in seconds since
    /// 1970-01-01 UTC, used only for the Event-Timestamp window.
    pub fn handle(&mut self, from: SocketAddr, buf: &[u8], now_unix: u64) -> DaeOutcome {
        let Some(secret) = self.secrets.get(&from.ip()) else {
            self.counters.unknown_client += 1;
            return DaeOutcome::Drop(DropReason::UnknownClient);
        };
        let h = match Header::parse(buf) {
            Ok(h) if matches!(h.code, code::DISCONNECT_REQUEST | code::COA_REQUEST) => h,
            _ => {
                self.counters.not_a_request += 1;
                return DaeOutcome::Drop(DropReason::NotARequest);
            }
        };
        let kind = if h.code == code::DISCONNECT_REQUEST {
            DaeKind::Disconnect
        } else {
            DaeKind::Coa
        };
        let packet = match Packet::decode_request(buf, secret) {
            Ok(p) => p,
            Err(Error::BadAuthenticator | Error::BadMessageAuthenticator) => {
                self.counters.bad_authenticator += 1;
                return DaeOutcome::Drop(DropReason::BadAuthenticator);
            }
            Err(e) => {
                let cause = match e {
                    Error::BadValue { .. } => error_cause::INVALID_ATTRIBUTE_VALUE,
                    _ => error_cause::INVALID_REQUEST,
                };
                let reply = nak_bytes(secret, &h, &[], true, cause);
                self.counters.naks += 1;
                return DaeOutcome::Nak {
                    to: from,
                    reply,
                    cause,
                };
            }
        };
        if let Some(window) = self.cfg.event_timestamp_window {
            let fresh = packet
                .integer(at::EVENT_TIMESTAMP)
                .is_some_and(|t| u64::from(t).abs_diff(now_unix) <= window.as_secs());
            if !fresh {
                self.counters.stale += 1;
                return DaeOutcome::Drop(DropReason::Stale);
            }
        }
        let mut req = DaeRequest {
            kind,
            from,
            session: SessionSelector::default(),
            changes: Vec::new(),
            identifier: h.identifier,
            authenticator: h.authenticator,
            proxy_state: Vec::new(),
            with_message_authenticator: packet.get(at::MESSAGE_AUTHENTICATOR).is_some(),
        };
        let mut cause = None;
        for a in packet.attrs {
            let s = &mut req.session;
            match (a.typ, a.value) {
                (at::USER_NAME, Value::Bytes(v)) => s.user_name = Some(v),
                (at::ACCT_SESSION_ID, Value::Bytes(v)) => s.acct_session_id = Some(v),
                (at::ACCT_MULTI_SESSION_ID, Value::Bytes(v)) => s.acct_multi_session_id = Some(v),
                (at::FRAMED_IP_ADDRESS, Value::Ipv4(v)) => s.framed_ip_address = Some(v),
                (at::CALLING_STATION_ID, Value::Bytes(v)) => s.calling_station_id = Some(v),
                (at::CALLED_STATION_ID, Value::Bytes(v)) => s.called_station_id = Some(v),
                (at::NAS_PORT, Value::Integer(v)) => s.nas_port = Some(v),
                (at::NAS_PORT_ID, Value::Bytes(v)) => s.nas_port_id = Some(v),
                (at::PROXY_STATE, Value::Bytes(v)) => req.proxy_state.push(v),
                (at::NAS_IP_ADDRESS, Value::Ipv4(v)) => {
                    if self.cfg.nas_ip_address.is_some_and(|ours| ours != v) {
                        cause.get_or_insert(error_cause::NAS_IDENTIFICATION_MISMATCH);
                    }
                }
                (at::NAS_IDENTIFIER, Value::Bytes(v)) => {
                    if self
                        .cfg
                        .nas_identifier
                        .as_ref()
                        .is_some_and(|ours| *ours != v)
                    {
                        cause.get_or_insert(error_cause::NAS_IDENTIFICATION_MISMATCH);
                    }
                }
                (at::SERVICE_TYPE, Value::Integer(service_type::AUTHORIZE_ONLY)) => {
                    cause.get_or_insert(error_cause::UNSUPPORTED_SERVICE);
                }
                (typ, value) if kind == DaeKind::Coa && is_coa_change(typ) => {
                    req.changes.push(Attr { typ, value })
                }
                (typ, _) if is_common(typ) => {}
                _ => {
                    cause.get_or_insert(error_cause::UNSUPPORTED_ATTRIBUTE);
                }
            }
        }
        if cause.is_none() && req.session.is_empty() {
            cause = Some(error_cause::MISSING_ATTRIBUTE);
        }
        if let Some(cause) = cause {
            let reply = self.nak(&req, cause);
            return DaeOutcome::Nak {
                to: from,
                reply,
                cause,
            };
        }
        self.counters.requests += 1;
        DaeOutcome::Request(Box::new(req))
    }

    /// Disconnect-ACK or CoA-ACK for `req` (Proxy-State copied in order, Message-Authenticator
    /// if the request had one). Empty if the request's client is no longer configured.
    pub fn ack(&self, req: &DaeRequest) -> Vec<u8> {
        self.reply(req, None)
    }

    /// Disconnect-NAK or CoA-NAK for `req` carrying Error-Cause `cause` (see
    /// [`crate::dict::error_cause`], e.g. 503 Session Context Not Found).
    pub fn nak(&self, req: &DaeRequest, cause: u32) -> Vec<u8> {
        self.reply(req, Some(cause))
    }

    fn reply(&self, req: &DaeRequest, cause: Option<u32>) -> Vec<u8> {
        let Some(secret) = self.secrets.get(&req.from.ip()) else {
            return Vec::new();
        };
        let request_code = match req.kind {
            DaeKind::Disconnect => code::DISCONNECT_REQUEST,
            DaeKind::Coa => code::COA_REQUEST,
        };
        let h = Header {
            code: request_code,
            identifier: req.identifier,
            length: 0,
            authenticator: req.authenticator,
        };
        match cause {
            Some(c) => nak_bytes(
                secret,
                &h,
                &req.proxy_state,
                req.with_message_authenticator,
                c,
            ),
            None => reply_bytes(
                secret,
                &h,
                &req.proxy_state,
                req.with_message_authenticator,
                None,
            ),
        }
    }
}

fn nak_bytes(secret: &[u8], h: &Header, proxy_state: &[Vec<u8>], ma: bool, cause: u32) -> Vec<u8> {
    reply_bytes(secret, h, proxy_state, ma, Some(cause))
}

/// ACK (request code + 1) or NAK (+ 2) for the request with header `h`.
fn reply_bytes(
    secret: &[u8],
    h: &Header,
    proxy_state: &[Vec<u8>],
    ma: bool,
    cause: Option<u32>,
) -> Vec<u8> {
    let reply_code = h.code.saturating_add(if cause.is_some() { 2 } else { 1 });
    let mut p = Packet::new(reply_code, h.identifier);
    if let Some(c) = cause {
        p.attrs.push(Attr::integer(at::ERROR_CAUSE, c));
    }
    p.attrs.extend(
        proxy_state
            .iter()
            .map(|v| Attr::bytes(at::PROXY_STATE, v.clone())),
    );
    if ma {
        p.attrs.push(Attr {
            typ: at::MESSAGE_AUTHENTICATOR,
            value: Value::MessageAuthenticator([0; 16]),
        });
    }
    // Only fixed-size attributes and Proxy-State values that came in a valid packet: fits.
    p.encode_response(secret, &h.authenticator)
        .unwrap_or_default()
}
