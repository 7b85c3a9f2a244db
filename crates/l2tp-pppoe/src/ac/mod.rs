//! The access concentrator side of PPPoE Discovery (RFC 2516 §5), one instance per interface.
//!
//! Sans-IO: [`AccessConcentrator::handle_frame`] takes a received Ethernet frame and the time;
//! frames to send come out of [`AccessConcentrator::poll_transmit`], events for the runtime out
//! of [`AccessConcentrator::poll_event`]. The runtime answers a [`Event::SessionRequested`] with
//! [`AccessConcentrator::accept`] (PADS) or [`AccessConcentrator::reject`] (PADS with an error).
//!
//! Stateless PADO: nothing is stored for a PADI. The PADO carries an AC-Cookie =
//! HMAC-SHA1(secret, client MAC || Host-Uniq || time bucket); only a PADR that echoes a valid
//! cookie from the MAC it was issued to creates state. A PADR flood from spoofed MACs therefore
//! costs one HMAC per frame and no memory.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::codec::{
    Code, Discovery, EthHeader, Tag, Vlan, BROADCAST, ETHERTYPE_DISCOVERY, MAX_DISCOVERY_PAYLOAD,
};

type HmacSha1 = Hmac<Sha1>;

/// Length of the AC-Cookie we issue, in bytes (an HMAC-SHA1 output).
pub const COOKIE_LEN: usize = 20;
/// Highest session ID we allocate; 0xffff is reserved and 0 means "no session" (RFC 2516 §4).
pub const MAX_SESSION_ID: u16 = 0xfffe;
/// Frames held in the transmit queue at most; more are dropped and counted
/// ([`Counters::tx_queue_full`]). The runtime drains the queue after each call.
pub const TX_QUEUE_LIMIT: usize = 4096;

/// A token bucket for PADO and PADS answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Tokens added per second (answers per second, sustained).
    pub per_second: u32,
    /// Bucket size (answers that may go out back to back).
    pub burst: u32,
}

/// Configuration of one interface's access concentrator.
#[derive(Debug, Clone)]
pub struct Config {
    /// MAC address of the interface the AC answers on; PADR and PADT must be sent to it.
    pub mac: [u8; 6],
    /// AC-Name sent in every PADO.
    pub ac_name: String,
    /// Service-Names offered. Empty = any Service-Name is accepted and echoed (as kpppoed).
    pub services: Vec<String>,
    /// Key of the AC-Cookie HMAC. Empty = 32 random bytes drawn at [`AccessConcentrator::new`].
    pub cookie_secret: Vec<u8>,
    /// Width of a cookie time bucket. A cookie is accepted in the bucket it was issued in and the
    /// next one, so it lives between 1× and 2× this. Must be non-zero.
    pub cookie_lifetime: Duration,
    /// Sessions (pending and open) this interface holds at most.
    pub max_sessions: u32,
    /// Sessions one client MAC may hold at most.
    pub max_sessions_per_mac: u32,
    /// Limit on PADO and PADS answers; `None` = unlimited.
    pub rate_limit: Option<RateLimit>,
    /// PPP-Max-Payload (RFC 4638) we allow, in bytes. `Some(n)`: a client's PPP-Max-Payload tag
    /// is answered with min(client's, n); `None`: the tag is ignored and the client uses 1492.
    pub max_payload: Option<u16>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            mac: [0x02, 0, 0, 0, 0, 1],
            ac_name: "l2tp-rs".into(),
            services: Vec::new(),
            cookie_secret: Vec::new(),
            cookie_lifetime: Duration::from_secs(30),
            max_sessions: 0xfffe,
            max_sessions_per_mac: 4,
            rate_limit: Some(RateLimit {
                per_second: 1000,
                burst: 1000,
            }),
            max_payload: None,
        }
    }
}

/// Errors of the runtime-facing calls and of [`AccessConcentrator::new`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The configuration cannot work.
    #[error("invalid PPPoE AC configuration: {0}")]
    Config(&'static str),
    /// No session with this ID.
    #[error("no PPPoE session {0:#06x}")]
    UnknownSession(u16),
    /// accept/reject on a session that is already open.
    #[error("PPPoE session {0:#06x} is already open (accept/reject apply to a pending request)")]
    NotPending(u16),
}

/// Why the runtime refuses a session request; selects the error TAG of the PADS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reject {
    /// Service-Name-Error with this text (e.g. no LNS serves this service).
    ServiceName(String),
    /// AC-System-Error with this text (e.g. no tunnel to the LNS, out of resources).
    System(String),
}

/// What the runtime must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A PADR with a valid cookie asked for a session; answer with accept or reject.
    SessionRequested {
        /// Client MAC address.
        mac: [u8; 6],
        /// VLAN the request came in on.
        vlan: Option<Vlan>,
        /// Session ID reserved for it (1..=0xfffe).
        session_id: u16,
        /// Service-Name requested (may be empty = any).
        service: Vec<u8>,
        /// Host-Uniq of the request, if any.
        host_uniq: Option<Vec<u8>>,
        /// Relay-Session-Id of the request, if any (a relay is in the path).
        relay_session_id: Option<Vec<u8>>,
        /// Agreed PPP-Max-Payload in bytes (RFC 4638), if negotiated.
        max_payload: Option<u16>,
    },
    /// The client ended a session with a PADT (pending or open). The ID is free again.
    SessionTerminated {
        /// Client MAC address.
        mac: [u8; 6],
        /// The session ID.
        session_id: u16,
        /// Generic-Error text of the PADT, if any.
        reason: Option<String>,
    },
}

/// Answers refused, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refused {
    /// Token bucket empty: no PADO/PADS sent.
    pub rate_limited: u64,
    /// Service-Name not offered (PADI ignored, PADR answered with Service-Name-Error).
    pub service_not_offered: u64,
    /// [`Config::max_sessions`] reached (PADS with AC-System-Error).
    pub max_sessions: u64,
    /// [`Config::max_sessions_per_mac`] reached (PADS with AC-System-Error).
    pub max_sessions_per_mac: u64,
    /// All 65534 session IDs in use (PADS with AC-System-Error).
    pub session_ids_exhausted: u64,
    /// The answer would not fit 1500 bytes (huge Host-Uniq/Relay-Session-Id): not sent.
    pub oversize: u64,
    /// Refused by the runtime through [`AccessConcentrator::reject`].
    pub by_runtime: u64,
}

/// Counters for metrics; none is logged per frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// PADI received.
    pub padi_in: u64,
    /// PADO sent.
    pub pado_out: u64,
    /// PADR received.
    pub padr_in: u64,
    /// PADS sent with a session ID.
    pub pads_out: u64,
    /// PADS sent with session ID 0 and an error TAG.
    pub pads_error_out: u64,
    /// PADT received.
    pub padt_in: u64,
    /// PADT sent.
    pub padt_out: u64,
    /// PADR repeated for a request we already hold (retransmission).
    pub padr_retransmit: u64,
    /// PADR without an AC-Cookie or with one that is wrong, expired or from another MAC.
    pub bad_cookie: u64,
    /// Frames that failed to parse or break RFC 2516 rules (session ID, Service-Name count...).
    pub malformed: u64,
    /// Well-formed frames not for us: other destination, PADO/PADS/unknown codes, PADT for an
    /// unknown session or from another MAC.
    pub ignored: u64,
    /// Answers refused, by reason.
    pub refused: Refused,
    /// Frames dropped because the transmit queue held [`TX_QUEUE_LIMIT`] frames.
    pub tx_queue_full: u64,
}

/// Sizes of every table the state machine holds, for tests and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSizes {
    /// Sessions held (pending and open).
    pub sessions: usize,
    /// Index (client MAC, cookie) -> session, used to recognise retransmitted PADRs.
    pub requests: usize,
    /// Client MACs holding at least one session.
    pub macs: usize,
    /// Released session IDs waiting for reuse.
    pub released_ids: usize,
    /// Frames waiting in the transmit queue.
    pub tx_queue: usize,
    /// Events waiting for the runtime.
    pub events: usize,
}

/// State of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// PADR accepted by the AC, waiting for the runtime's accept/reject.
    Pending,
    /// PADS sent; the Session stage is running.
    Open,
}

/// What the AC holds for one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Client MAC address.
    pub mac: [u8; 6],
    /// VLAN of the client.
    pub vlan: Option<Vlan>,
    /// Service-Name requested.
    pub service: Vec<u8>,
    /// Host-Uniq, echoed in PADS.
    pub host_uniq: Option<Vec<u8>>,
    /// Relay-Session-Id, echoed in PADS and PADT.
    pub relay_session_id: Option<Vec<u8>>,
    /// Agreed PPP-Max-Payload (bytes).
    pub max_payload: Option<u16>,
    /// Pending or open.
    pub state: SessionState,
    cookie: [u8; COOKIE_LEN],
}

mod cookie;
use cookie::TokenBucket;

/// The PPPoE Discovery state machine of one interface.
pub struct AccessConcentrator {
    config: Config,
    /// HMAC-SHA1 state with the secret already absorbed; cloned per cookie.
    keyed: HmacSha1,
    epoch: Instant,
    bucket: Option<TokenBucket>,
    sessions: HashMap<u16, Session>,
    requests: HashMap<([u8; 6], [u8; COOKIE_LEN]), u16>,
    per_mac: HashMap<[u8; 6], u32>,
    next_fresh: u32,
    released: VecDeque<u16>,
    tx: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    counters: Counters,
}

/// The TAG values of a PADI/PADR we act on.
struct Request {
    service: Vec<u8>,
    host_uniq: Option<Vec<u8>>,
    relay: Option<Vec<u8>>,
    cookie: Option<Vec<u8>>,
    max_payload: Option<u16>,
}

impl Request {
    /// Pull the TAGs out; `None` if the Service-Name count is not exactly one (RFC 2516 §5.1,
    /// §5.3) or another singleton TAG repeats.
    fn from_tags(tags: Vec<Tag>) -> Option<Request> {
        let mut service = None;
        let mut r = Request {
            service: Vec::new(),
            host_uniq: None,
            relay: None,
            cookie: None,
            max_payload: None,
        };
        fn set<T>(slot: &mut Option<T>, v: T) -> Option<()> {
            if slot.is_some() {
                return None;
            }
            *slot = Some(v);
            Some(())
        }
        for t in tags {
            match t {
                Tag::ServiceName(v) => set(&mut service, v)?,
                Tag::HostUniq(v) => set(&mut r.host_uniq, v)?,
                Tag::RelaySessionId(v) => set(&mut r.relay, v)?,
                Tag::AcCookie(v) => set(&mut r.cookie, v)?,
                Tag::PppMaxPayload(v) => set(&mut r.max_payload, v)?,
                _ => {}
            }
        }
        r.service = service?;
        Some(r)
    }
}

fn is_unicast(mac: &[u8; 6]) -> bool {
    mac[0] & 1 == 0 && *mac != [0; 6]
}

impl AccessConcentrator {
    /// A new AC for one interface; `now` starts the cookie time buckets.
    ///
    /// Errors: [`Error::Config`] if `cookie_lifetime` is zero, the MAC is not unicast, a rate
    /// limit has a zero burst, or a Service-Name / the AC-Name is longer than 255 bytes.
    pub fn new(config: Config, now: Instant) -> Result<AccessConcentrator, Error> {
        if config.cookie_lifetime.is_zero() {
            return Err(Error::Config("cookie_lifetime must be non-zero"));
        }
        if !is_unicast(&config.mac) {
            return Err(Error::Config("mac must be a unicast address"));
        }
        if config.rate_limit.is_some_and(|r| r.burst == 0) {
            return Err(Error::Config("rate_limit.burst must be at least 1"));
        }
        if config.ac_name.len() > 255 || config.services.iter().any(|s| s.len() > 255) {
            return Err(Error::Config(
                "AC-Name and Service-Names are at most 255 bytes",
            ));
        }
        let secret = if config.cookie_secret.is_empty() {
            let mut s = vec![0u8; 32];
            rand::Rng::fill(&mut rand::thread_rng(), &mut s[..]);
            s
        } else {
            config.cookie_secret.clone()
        };
        let keyed = HmacSha1::new_from_slice(&secret)
            .map_err(|_| Error::Config("cookie_secret not usable as an HMAC key"))?;
        let bucket = config.rate_limit.map(|limit| TokenBucket {
            limit,
            tokens: f64::from(limit.burst),
            last: now,
        });
        Ok(AccessConcentrator {
            config,
            keyed,
            epoch: now,
            bucket,
            sessions: HashMap::new(),
            requests: HashMap::new(),
            per_mac: HashMap::new(),
            next_fresh: 1,
            released: VecDeque::new(),
            tx: VecDeque::new(),
            events: VecDeque::new(),
            counters: Counters::default(),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Counters since creation.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Sizes of the tables held.
    pub fn table_sizes(&self) -> TableSizes {
        TableSizes {
            sessions: self.sessions.len(),
            requests: self.requests.len(),
            macs: self.per_mac.len(),
            released_ids: self.released.len(),
            tx_queue: self.tx.len(),
            events: self.events.len(),
        }
    }

    /// The session with this ID, if held.
    pub fn session(&self, session_id: u16) -> Option<&Session> {
        self.sessions.get(&session_id)
    }

    /// Next frame to send on the interface (a complete Ethernet frame without FCS; the NIC pads
    /// it to 60 bytes).
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.tx.pop_front()
    }

    /// Next event for the runtime.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Process one received Ethernet frame (EtherType 0x8863, optionally 802.1Q tagged). Any
    /// input is accepted: bad frames are counted in [`Counters::malformed`] (other EtherTypes
    /// in [`Counters::ignored`]), never an error.
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        let pkt = match Discovery::parse(frame) {
            Ok(p) => p,
            // A Session-stage or non-PPPoE frame is not ours to judge.
            Err(crate::codec::Error::NotPppoe(_)) => {
                self.counters.ignored += 1;
                return;
            }
            Err(_) => {
                self.counters.malformed += 1;
                return;
            }
        };
        match pkt.code {
            Code::Padi => self.on_padi(now, pkt),
            Code::Padr => self.on_padr(now, pkt),
            Code::Padt => self.on_padt(pkt),
            _ => self.counters.ignored += 1,
        }
    }

    fn offered(&self, service: &[u8]) -> bool {
        self.config.services.is_empty()
            || service.is_empty()
            || self.config.services.iter().any(|s| s.as_bytes() == service)
    }

    fn reply_eth(&self, to: [u8; 6], vlan: Option<Vlan>) -> EthHeader {
        EthHeader {
            dst: to,
            src: self.config.mac,
            vlan,
            ether_type: ETHERTYPE_DISCOVERY,
        }
    }

    fn max_payload(&self, asked: Option<u16>) -> Option<u16> {
        match (asked, self.config.max_payload) {
            (Some(a), Some(ours)) => Some(a.min(ours)),
            _ => None,
        }
    }

    /// Queue a frame; false (and counted) if it is too big or the queue is full.
    fn send(&mut self, pkt: &Discovery) -> bool {
        if pkt.payload_len() > MAX_DISCOVERY_PAYLOAD {
            self.counters.refused.oversize += 1;
            return false;
        }
        if self.tx.len() >= TX_QUEUE_LIMIT {
            self.counters.tx_queue_full += 1;
            return false;
        }
        match pkt.to_bytes() {
            Ok(b) => {
                self.tx.push_back(b);
                true
            }
            Err(_) => {
                self.counters.refused.oversize += 1;
                false
            }
        }
    }

    fn on_padi(&mut self, now: Instant, pkt: Discovery) {
        self.counters.padi_in += 1;
        let eth = pkt.eth;
        if eth.dst != BROADCAST && eth.dst != self.config.mac {
            self.counters.ignored += 1;
            return;
        }
        if pkt.session_id != 0 || !is_unicast(&eth.src) {
            self.counters.malformed += 1;
            return;
        }
        let Some(req) = Request::from_tags(pkt.tags) else {
            self.counters.malformed += 1;
            return;
        };
        if !self.offered(&req.service) {
            // RFC 2516 §5.2: an AC that cannot serve the PADI MUST NOT answer.
            self.counters.refused.service_not_offered += 1;
            return;
        }
        if !self.take_token(now) {
            return;
        }
        let host_uniq = req.host_uniq.as_deref().unwrap_or(&[]);
        let cookie = self.issue_cookie(now, &eth.src, host_uniq);
        let mut tags = vec![
            Tag::AcName(self.config.ac_name.as_bytes().to_vec()),
            Tag::ServiceName(req.service.clone()),
        ];
        for s in &self.config.services {
            if s.as_bytes() != req.service.as_slice() {
                tags.push(Tag::ServiceName(s.as_bytes().to_vec()));
            }
        }
        tags.push(Tag::AcCookie(cookie.to_vec()));
        if let Some(h) = req.host_uniq {
            tags.push(Tag::HostUniq(h));
        }
        if let Some(r) = req.relay {
            tags.push(Tag::RelaySessionId(r));
        }
        if let Some(m) = self.max_payload(req.max_payload) {
            tags.push(Tag::PppMaxPayload(m));
        }
        let pado = Discovery {
            eth: self.reply_eth(eth.src, eth.vlan),
            code: Code::Pado,
            session_id: 0,
            tags,
        };
        if self.send(&pado) {
            self.counters.pado_out += 1;
        }
    }

    fn on_padr(&mut self, now: Instant, pkt: Discovery) {
        self.counters.padr_in += 1;
        let eth = pkt.eth;
        if eth.dst != self.config.mac {
            self.counters.ignored += 1;
            return;
        }
        if pkt.session_id != 0 || !is_unicast(&eth.src) {
            self.counters.malformed += 1;
            return;
        }
        let Some(req) = Request::from_tags(pkt.tags) else {
            self.counters.malformed += 1;
            return;
        };
        let host_uniq = req.host_uniq.as_deref().unwrap_or(&[]);
        let cookie: [u8; COOKIE_LEN] = match req.cookie.as_deref().map(<[u8; COOKIE_LEN]>::try_from)
        {
            Some(Ok(c)) if self.cookie_valid(now, &eth.src, host_uniq, &c) => c,
            _ => {
                self.counters.bad_cookie += 1;
                return;
            }
        };
        if let Some(&id) = self.requests.get(&(eth.src, cookie)) {
            self.counters.padr_retransmit += 1;
            let open = self
                .sessions
                .get(&id)
                .is_some_and(|s| s.state == SessionState::Open);
            if open && self.take_token(now) {
                self.send_pads(id);
            }
            return;
        }
        if !self.take_token(now) {
            return;
        }
        let max_payload = self.max_payload(req.max_payload);
        let session = Session {
            mac: eth.src,
            vlan: eth.vlan,
            service: req.service,
            host_uniq: req.host_uniq,
            relay_session_id: req.relay,
            max_payload,
            state: SessionState::Pending,
            cookie,
        };
        if !self.offered(&session.service) {
            self.counters.refused.service_not_offered += 1;
            self.send_pads_error(
                &session,
                Tag::ServiceNameError(b"service not offered".to_vec()),
            );
            return;
        }
        let macs = self.per_mac.get(&eth.src).copied().unwrap_or(0);
        let refusal = if self.sessions.len() >= self.config.max_sessions as usize {
            self.counters.refused.max_sessions += 1;
            Some("session limit reached")
        } else if macs >= self.config.max_sessions_per_mac {
            self.counters.refused.max_sessions_per_mac += 1;
            Some("session limit for this MAC reached")
        } else {
            None
        };
        if let Some(text) = refusal {
            self.send_pads_error(&session, Tag::AcSystemError(text.as_bytes().to_vec()));
            return;
        }
        let Some(id) = self.allocate_id() else {
            self.counters.refused.session_ids_exhausted += 1;
            self.send_pads_error(&session, Tag::AcSystemError(b"no session ID free".to_vec()));
            return;
        };
        self.requests.insert((eth.src, cookie), id);
        *self.per_mac.entry(eth.src).or_insert(0) += 1;
        self.events.push_back(Event::SessionRequested {
            mac: session.mac,
            vlan: session.vlan,
            session_id: id,
            service: session.service.clone(),
            host_uniq: session.host_uniq.clone(),
            relay_session_id: session.relay_session_id.clone(),
            max_payload,
        });
        self.sessions.insert(id, session);
    }

    fn on_padt(&mut self, pkt: Discovery) {
        self.counters.padt_in += 1;
        if pkt.eth.dst != self.config.mac {
            self.counters.ignored += 1;
            return;
        }
        let owned = self
            .sessions
            .get(&pkt.session_id)
            .is_some_and(|s| s.mac == pkt.eth.src);
        if !owned {
            self.counters.ignored += 1;
            return;
        }
        let reason = pkt.tags.iter().find_map(|t| match t {
            Tag::GenericError(_) => t.text(),
            _ => None,
        });
        if let Some(s) = self.release(pkt.session_id) {
            self.events.push_back(Event::SessionTerminated {
                mac: s.mac,
                session_id: pkt.session_id,
                reason,
            });
        }
    }

    /// O(1): fresh IDs in order first, then released IDs oldest first (so a just-freed ID is
    /// not handed out again while stale frames for it may still be in flight).
    fn allocate_id(&mut self) -> Option<u16> {
        if self.next_fresh <= u32::from(MAX_SESSION_ID) {
            let id = self.next_fresh as u16;
            self.next_fresh += 1;
            return Some(id);
        }
        self.released.pop_front()
    }

    fn release(&mut self, id: u16) -> Option<Session> {
        let s = self.sessions.remove(&id)?;
        self.requests.remove(&(s.mac, s.cookie));
        if let Some(n) = self.per_mac.get_mut(&s.mac) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_mac.remove(&s.mac);
            }
        }
        self.released.push_back(id);
        Some(s)
    }

    fn echo_tags(s: &Session, tags: &mut Vec<Tag>) {
        if let Some(h) = &s.host_uniq {
            tags.push(Tag::HostUniq(h.clone()));
        }
        if let Some(r) = &s.relay_session_id {
            tags.push(Tag::RelaySessionId(r.clone()));
        }
    }

    fn send_pads(&mut self, id: u16) {
        let Some(s) = self.sessions.get(&id) else {
            return;
        };
        let mut tags = vec![Tag::ServiceName(s.service.clone())];
        Self::echo_tags(s, &mut tags);
        if let Some(m) = s.max_payload {
            tags.push(Tag::PppMaxPayload(m));
        }
        let pads = Discovery {
            eth: self.reply_eth(s.mac, s.vlan),
            code: Code::Pads,
            session_id: id,
            tags,
        };
        if self.send(&pads) {
            self.counters.pads_out += 1;
        }
    }

    /// RFC 2516 §5.4: a refusing PADS has SESSION_ID 0 and an error TAG.
    fn send_pads_error(&mut self, s: &Session, error: Tag) {
        let mut tags = vec![Tag::ServiceName(s.service.clone()), error];
        Self::echo_tags(s, &mut tags);
        let pads = Discovery {
            eth: self.reply_eth(s.mac, s.vlan),
            code: Code::Pads,
            session_id: 0,
            tags,
        };
        if self.send(&pads) {
            self.counters.pads_error_out += 1;
        }
    }

    /// Accept a pending request: the session opens and a PADS with its ID is queued.
    ///
    /// Errors: [`Error::UnknownSession`], [`Error::NotPending`] (already accepted).
    pub fn accept(&mut self, session_id: u16) -> Result<(), Error> {
        let s = self
            .sessions
            .get_mut(&session_id)
            .ok_or(Error::UnknownSession(session_id))?;
        if s.state != SessionState::Pending {
            return Err(Error::NotPending(session_id));
        }
        s.state = SessionState::Open;
        self.send_pads(session_id);
        Ok(())
    }

    /// Refuse a pending request: the ID is freed and a PADS with SESSION_ID 0 and
    /// Service-Name-Error or AC-System-Error (the `reason` text) is queued.
    ///
    /// Errors: [`Error::UnknownSession`], [`Error::NotPending`] (already open: use terminate).
    pub fn reject(&mut self, session_id: u16, reason: Reject) -> Result<(), Error> {
        let s = self
            .sessions
            .get(&session_id)
            .ok_or(Error::UnknownSession(session_id))?;
        if s.state != SessionState::Pending {
            return Err(Error::NotPending(session_id));
        }
        let Some(s) = self.release(session_id) else {
            return Err(Error::UnknownSession(session_id));
        };
        self.counters.refused.by_runtime += 1;
        let tag = match reason {
            Reject::ServiceName(t) => Tag::ServiceNameError(t.into_bytes()),
            Reject::System(t) => Tag::AcSystemError(t.into_bytes()),
        };
        self.send_pads_error(&s, tag);
        Ok(())
    }

    /// End a session from the AC side (LNS hung up, admin): the ID is freed and a PADT with
    /// Generic-Error `reason` (and the Relay-Session-Id, if any) is queued. Works on pending and
    /// open sessions. No event follows.
    ///
    /// Errors: [`Error::UnknownSession`].
    pub fn terminate(&mut self, session_id: u16, reason: &str) -> Result<(), Error> {
        let s = self
            .release(session_id)
            .ok_or(Error::UnknownSession(session_id))?;
        let mut tags = Vec::new();
        if !reason.is_empty() {
            let mut text = reason.as_bytes().to_vec();
            text.truncate(255);
            tags.push(Tag::GenericError(text));
        }
        if let Some(r) = &s.relay_session_id {
            tags.push(Tag::RelaySessionId(r.clone()));
        }
        let padt = Discovery {
            eth: self.reply_eth(s.mac, s.vlan),
            code: Code::Padt,
            session_id,
            tags,
        };
        if self.send(&padt) {
            self.counters.padt_out += 1;
        }
        Ok(())
    }
}
