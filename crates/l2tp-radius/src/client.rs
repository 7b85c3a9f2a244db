//! Sans-IO RADIUS client (RFC 2865 §2.5/§3, RFC 2866, RFC 5080 §2.2): the caller owns the
//! UDP socket and the clock.
//!
//! Feed it requests with [`Client::send`], datagrams with [`Client::handle_datagram`] and
//! time with [`Client::handle_timeout`]; drain [`Client::poll_transmit`] and
//! [`Client::poll_event`]; sleep until [`Client::poll_timeout`].
//!
//! Behaviour:
//! - each server has its own 8-bit Identifier space; an Identifier is never reused while a
//!   request holding it is outstanding, and freed Identifiers are reused least recently
//!   used first. When a server's 256 Identifiers (or `max_outstanding` overall) are busy,
//!   requests wait in a FIFO per server kind.
//! - a request is sent to the first live server of its kind (configuration order), then
//!   retransmitted `retries` times, the wait doubling each time up to 8 × `timeout`. Then the
//!   server is marked dead for `dead_time` and the request fails over to the next live
//!   server. An Access-Request that has no live server left ends in [`ClientEvent::Timeout`];
//!   if every server of its kind was already dead when it was sent, it is tried on the one
//!   that died first, so authentication is never refused without a try.
//! - Accounting-Requests are never given up for a timeout: when no live server is left they go
//!   back to the accounting queue and wait until a server's `dead_time` has passed. The queue
//!   holds at most `acct_queue_limit` requests; on overflow the oldest Interim-Update is
//!   dropped first, then the oldest other non-Stop, and a Stop only if the queue holds nothing
//!   else ([`ClientEvent::Dropped`], counted in [`ClientCounters`]).
//! - an accounting retransmission carries an updated Acct-Delay-Time (seconds since the
//!   request was first handed to [`Client::send`], added to any value the caller gave) and so,
//!   per RFC 5080 §2.2.1, a new Identifier; an Access-Request retransmission is byte-identical.
//! - a datagram is accepted only from a configured server, with the Identifier of a request
//!   outstanding there, a response Code fitting the request, a valid Response Authenticator
//!   and (Access-Accept/Reject/Challenge) a valid Message-Authenticator; everything else is
//!   counted and dropped.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use crate::attr::{Attr, Value};
use crate::dict::{acct_status_type, attr as at, code};
use crate::error::Error;
use crate::packet::{self, Header, Packet};

/// What a server is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerKind {
    /// Authentication (Access-Request), usually UDP port 1812.
    Auth,
    /// Accounting (Accounting-Request), usually UDP port 1813.
    Acct,
}

/// One RADIUS server.
#[derive(Debug, Clone)]
pub struct Server {
    /// UDP address requests go to and responses must come from.
    pub addr: SocketAddr,
    /// Shared secret (RFC 2865 §3), non-empty.
    pub secret: Vec<u8>,
    /// Authentication or accounting.
    pub kind: ServerKind,
}

/// Client configuration.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Servers in order of preference; the first live one of a kind gets the requests.
    /// At most 64.
    pub servers: Vec<Server>,
    /// Wait for a response before the first retransmission; doubled on each one, up to 8×.
    pub timeout: Duration,
    /// Retransmissions to one server before failing over (0 = send once).
    pub retries: u32,
    /// How long a server that timed out is skipped.
    pub dead_time: Duration,
    /// Most requests in flight at once over all servers (at least 1).
    pub max_outstanding: usize,
    /// Most accounting requests waiting to be (re)sent (at least 1).
    pub acct_queue_limit: usize,
}

/// A request to send. Build with [`Request::access`] or [`Request::accounting`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    code: u8,
    attrs: Vec<Attr>,
}

impl Request {
    /// An Access-Request with these attributes (User-Password in clear; the client hides it
    /// and appends a Message-Authenticator if there is none).
    pub fn access(attrs: Vec<Attr>) -> Request {
        Request {
            code: code::ACCESS_REQUEST,
            attrs,
        }
    }
    /// An Accounting-Request with these attributes (Acct-Status-Type among them).
    pub fn accounting(attrs: Vec<Attr>) -> Request {
        Request {
            code: code::ACCOUNTING_REQUEST,
            attrs,
        }
    }
    fn kind(&self) -> ServerKind {
        if self.code == code::ACCESS_REQUEST {
            ServerKind::Auth
        } else {
            ServerKind::Acct
        }
    }
}

/// Handle of a request given to [`Client::send`], unique for the client's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// What the client reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// A verified response (Access-Accept/Reject/Challenge or Accounting-Response).
    Response {
        /// The request answered.
        id: RequestId,
        /// Index of the server that answered, in [`ClientConfig::servers`].
        server: usize,
        /// The decoded response (User-Password absent, MPPE keys in clear).
        packet: Packet,
    },
    /// An Access-Request got no valid response from any live server.
    Timeout {
        /// The request given up.
        id: RequestId,
    },
    /// An Accounting-Request was dropped from the full accounting queue.
    Dropped {
        /// The request dropped.
        id: RequestId,
    },
}

/// Per-server counters, for metrics. All count packets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerCounters {
    /// First transmissions.
    pub requests: u64,
    /// Retransmissions.
    pub retransmissions: u64,
    /// Requests that used up their retransmissions here (each marks the server dead).
    pub timeouts: u64,
    /// Access-Accepts accepted.
    pub accepts: u64,
    /// Access-Rejects accepted.
    pub rejects: u64,
    /// Access-Challenges accepted.
    pub challenges: u64,
    /// Accounting-Responses accepted.
    pub acct_responses: u64,
    /// Responses dropped for a bad Response Authenticator or Message-Authenticator.
    pub bad_authenticators: u64,
    /// Responses dropped for an Identifier with nothing outstanding or a Code that does not
    /// answer the request (late duplicates land here).
    pub unmatched: u64,
    /// Responses dropped as malformed (header or attributes).
    pub malformed: u64,
}

/// Client-wide counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientCounters {
    /// Datagrams from an address that is not a configured server.
    pub unknown_source: u64,
    /// Accounting Interim-Updates dropped from the full queue.
    pub acct_dropped_interim: u64,
    /// Other non-Stop accounting requests dropped from the full queue.
    pub acct_dropped_other: u64,
    /// Accounting Stops dropped from a queue holding only Stops.
    pub acct_dropped_stop: u64,
    /// Accounting requests put back in the queue after every live server timed out.
    pub acct_requeued: u64,
}

struct ServerState {
    cfg: Server,
    dead_until: Option<Instant>,
    /// Identifier → request holding it.
    ids: Box<[Option<RequestId>; 256]>,
    /// Free Identifiers, least recently released first.
    free: VecDeque<u8>,
    counters: ServerCounters,
}

impl ServerState {
    fn alive(&self, now: Instant) -> bool {
        self.dead_until.is_none_or(|t| now >= t)
    }
}

struct Slot {
    server: usize,
    identifier: u8,
    authenticator: [u8; 16],
    bytes: Vec<u8>,
    attempt: u32,
    deadline: Instant,
}

struct Pending {
    req: Request,
    /// Acct-Status-Type, for the queue's drop order.
    status: Option<u32>,
    created: Instant,
    /// Acct-Delay-Time the caller gave, seconds.
    base_delay: u32,
    /// Bit i set: server i timed out for this request (since it last left the queue).
    tried: u64,
    slot: Option<Slot>,
}

/// The client state machine. See the module documentation.
pub struct Client {
    cfg: ClientConfig,
    servers: Vec<ServerState>,
    by_addr: HashMap<SocketAddr, usize>,
    pending: HashMap<RequestId, Pending>,
    timers: BTreeSet<(Instant, RequestId)>,
    wait_auth: VecDeque<RequestId>,
    wait_acct: VecDeque<RequestId>,
    in_flight: usize,
    next_id: u64,
    transmits: VecDeque<(SocketAddr, Vec<u8>)>,
    events: VecDeque<ClientEvent>,
    counters: ClientCounters,
    rng: StdRng,
}

impl Client {
    /// A client with Request Authenticators from an OS-seeded CSPRNG.
    ///
    /// Errors: [`Error::Config`] if there are no servers or more than 64, a secret is empty,
    /// `max_outstanding` or `acct_queue_limit` is 0.
    pub fn new(cfg: ClientConfig) -> Result<Client, Error> {
        Client::with_rng(cfg, StdRng::from_entropy())
    }

    /// As [`Client::new`] with a seeded generator, for reproducible tests.
    pub fn with_seed(cfg: ClientConfig, seed: u64) -> Result<Client, Error> {
        Client::with_rng(cfg, StdRng::seed_from_u64(seed))
    }

    fn with_rng(cfg: ClientConfig, rng: StdRng) -> Result<Client, Error> {
        if cfg.servers.is_empty() || cfg.servers.len() > 64 {
            return Err(Error::Config("between 1 and 64 servers"));
        }
        if cfg.servers.iter().any(|s| s.secret.is_empty()) {
            return Err(Error::Config("empty shared secret"));
        }
        if cfg.max_outstanding == 0 || cfg.acct_queue_limit == 0 {
            return Err(Error::Config(
                "max_outstanding and acct_queue_limit must be at least 1",
            ));
        }
        let mut by_addr = HashMap::new();
        let servers = cfg
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                by_addr.entry(s.addr).or_insert(i);
                ServerState {
                    cfg: s.clone(),
                    dead_until: None,
                    ids: Box::new([None; 256]),
                    free: (0..=255).collect(),
                    counters: ServerCounters::default(),
                }
            })
            .collect();
        Ok(Client {
            cfg,
            servers,
            by_addr,
            pending: HashMap::new(),
            timers: BTreeSet::new(),
            wait_auth: VecDeque::new(),
            wait_acct: VecDeque::new(),
            in_flight: 0,
            next_id: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            counters: ClientCounters::default(),
            rng,
        })
    }

    /// Queue a request; it goes out at once if a server and an Identifier are free.
    ///
    /// Errors: [`Error::Encode`]/[`Error::TooLong`] if the request cannot be encoded (checked
    /// here, so it cannot fail later); [`Error::Config`] if no server of its kind is
    /// configured.
    pub fn send(&mut self, now: Instant, req: Request) -> Result<RequestId, Error> {
        let kind = req.kind();
        if !self.servers.iter().any(|s| s.cfg.kind == kind) {
            return Err(Error::Config("no server of this kind"));
        }
        let base_delay = req
            .attrs
            .iter()
            .find(|a| a.typ == at::ACCT_DELAY_TIME)
            .and_then(Attr::as_integer);
        let status = req
            .attrs
            .iter()
            .find(|a| a.typ == at::ACCT_STATUS_TYPE)
            .and_then(Attr::as_integer);
        let p = Pending {
            req,
            status,
            created: now,
            base_delay: base_delay.unwrap_or(0),
            tried: 0,
            slot: None,
        };
        // Encode once with the largest Acct-Delay-Time so a later encode cannot fail.
        build(&p, 0, [0; 16], u32::MAX).encode_request(b"check")?;
        let id = RequestId(self.next_id);
        self.next_id += 1;
        self.pending.insert(id, p);
        match kind {
            ServerKind::Auth => self.wait_auth.push_back(id),
            ServerKind::Acct => self.enqueue_acct(id),
        }
        self.dispatch(now);
        Ok(id)
    }

    /// Next datagram to send: destination and UDP payload.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.transmits.pop_front()
    }

    /// Next event.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When [`Client::handle_timeout`] must next be called; `None` if nothing is pending.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let retransmit = self.timers.first().map(|(t, _)| *t);
        let revive = if self.wait_acct.is_empty() {
            None
        } else {
            // Only when the accounting queue waits for a dead server to come back.
            self.servers
                .iter()
                .filter(|s| s.cfg.kind == ServerKind::Acct)
                .map(|s| s.dead_until)
                .min()
                .flatten()
        };
        match (retransmit, revive) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Retransmit, fail over, give up and revive servers as due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&(t, id)) = self.timers.first() {
            if t > now {
                break;
            }
            self.timers.pop_first();
            self.expire(now, id);
        }
        self.dispatch(now);
    }

    /// A UDP payload arrived from `from`. Responses that pass every check become
    /// [`ClientEvent::Response`]; anything else is counted and dropped.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, buf: &[u8]) {
        let Some(&si) = self.by_addr.get(&from) else {
            self.counters.unknown_source += 1;
            return;
        };
        let Some(server) = self.servers.get_mut(si) else {
            return;
        };
        let h = match Header::parse(buf) {
            Ok(h) => h,
            Err(_) => {
                server.counters.malformed += 1;
                return;
            }
        };
        let Some(id) = server.ids.get(usize::from(h.identifier)).copied().flatten() else {
            server.counters.unmatched += 1;
            return;
        };
        let Some(p) = self.pending.get(&id) else {
            return;
        };
        let Some(slot) = p
            .slot
            .as_ref()
            .filter(|s| s.server == si && s.identifier == h.identifier)
        else {
            server.counters.unmatched += 1;
            return;
        };
        let fits = match p.req.code {
            code::ACCESS_REQUEST => {
                matches!(
                    h.code,
                    code::ACCESS_ACCEPT | code::ACCESS_REJECT | code::ACCESS_CHALLENGE
                )
            }
            _ => h.code == code::ACCOUNTING_RESPONSE,
        };
        if !fits {
            server.counters.unmatched += 1;
            return;
        }
        let buf = buf.get(..h.length).unwrap_or(buf);
        let secret = &server.cfg.secret;
        let packet = match packet::verify_response(buf, &h, secret, &slot.authenticator)
            .and_then(|()| Packet::decode_unverified(buf, secret, &slot.authenticator))
        {
            Ok(p) => p,
            Err(
                Error::BadAuthenticator
                | Error::BadMessageAuthenticator
                | Error::MissingMessageAuthenticator,
            ) => {
                server.counters.bad_authenticators += 1;
                return;
            }
            Err(_) => {
                server.counters.malformed += 1;
                return;
            }
        };
        let c = &mut server.counters;
        match h.code {
            code::ACCESS_ACCEPT => c.accepts += 1,
            code::ACCESS_REJECT => c.rejects += 1,
            code::ACCESS_CHALLENGE => c.challenges += 1,
            _ => c.acct_responses += 1,
        }
        server.dead_until = None;
        if let Some(mut p) = self.pending.remove(&id) {
            self.release(&mut p, id);
        }
        self.events.push_back(ClientEvent::Response {
            id,
            server: si,
            packet,
        });
        self.dispatch(now);
    }

    /// Counters of server `index` (position in [`ClientConfig::servers`]).
    pub fn server_counters(&self, index: usize) -> Option<&ServerCounters> {
        self.servers.get(index).map(|s| &s.counters)
    }

    /// Client-wide counters.
    pub fn counters(&self) -> &ClientCounters {
        &self.counters
    }

    /// Whether server `index` is marked dead at `now`.
    pub fn is_dead(&self, index: usize, now: Instant) -> bool {
        self.servers.get(index).is_some_and(|s| !s.alive(now))
    }

    /// Requests in flight (sent, awaiting a response).
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Requests waiting for a server or an Identifier: (access, accounting).
    pub fn queued(&self) -> (usize, usize) {
        (self.wait_auth.len(), self.wait_acct.len())
    }

    /// Put an accounting request at the back of the queue, dropping by the overflow rule.
    fn enqueue_acct(&mut self, id: RequestId) {
        if self.wait_acct.len() >= self.cfg.acct_queue_limit {
            let status_of = |rid: &RequestId| self.pending.get(rid).and_then(|p| p.status);
            // Scans the queue, but only on overflow.
            let victim = self
                .wait_acct
                .iter()
                .position(|r| status_of(r) == Some(acct_status_type::INTERIM_UPDATE))
                .map(|i| (i, 0))
                .or_else(|| {
                    self.wait_acct
                        .iter()
                        .position(|r| status_of(r) != Some(acct_status_type::STOP))
                        .map(|i| (i, 1))
                })
                .unwrap_or((0, 2));
            if let Some(v) = self.wait_acct.remove(victim.0) {
                match victim.1 {
                    0 => self.counters.acct_dropped_interim += 1,
                    1 => self.counters.acct_dropped_other += 1,
                    _ => self.counters.acct_dropped_stop += 1,
                }
                self.pending.remove(&v);
                self.events.push_back(ClientEvent::Dropped { id: v });
            }
        }
        self.wait_acct.push_back(id);
    }

    /// Server for a request of `kind` that has not timed out on `tried`: the first live one;
    /// if none is live and `fallback` is set, the dead one that died first.
    fn pick(&self, kind: ServerKind, tried: u64, now: Instant, fallback: bool) -> Option<usize> {
        let candidates = self
            .servers
            .iter()
            .enumerate()
            .filter(|(i, s)| s.cfg.kind == kind && tried & (1 << i) == 0);
        if let Some((i, _)) = candidates.clone().find(|(_, s)| s.alive(now)) {
            return Some(i);
        }
        if fallback {
            return candidates.min_by_key(|(_, s)| s.dead_until).map(|(i, _)| i);
        }
        None
    }

    /// Send queued requests while servers, Identifiers and `max_outstanding` allow.
    fn dispatch(&mut self, now: Instant) {
        for kind in [ServerKind::Auth, ServerKind::Acct] {
            loop {
                if self.in_flight >= self.cfg.max_outstanding {
                    return;
                }
                let queue = match kind {
                    ServerKind::Auth => &self.wait_auth,
                    ServerKind::Acct => &self.wait_acct,
                };
                let Some(&id) = queue.front() else { break };
                let tried = self.pending.get(&id).map_or(0, |p| p.tried);
                let Some(si) = self.pick(kind, tried, now, kind == ServerKind::Auth) else {
                    break;
                };
                if self.servers.get(si).is_none_or(|s| s.free.is_empty()) {
                    break;
                }
                match kind {
                    ServerKind::Auth => self.wait_auth.pop_front(),
                    ServerKind::Acct => self.wait_acct.pop_front(),
                };
                self.transmit_new(now, id, si);
            }
        }
    }

    /// First transmission of request `id` to server `si` (which has a free Identifier).
    fn transmit_new(&mut self, now: Instant, id: RequestId, si: usize) {
        let Some(server) = self.servers.get_mut(si) else {
            return;
        };
        let Some(identifier) = server.free.pop_front() else {
            return;
        };
        let Some(p) = self.pending.get_mut(&id) else {
            server.free.push_back(identifier);
            return;
        };
        if let Some(s) = server.ids.get_mut(usize::from(identifier)) {
            *s = Some(id);
        }
        server.counters.requests += 1;
        let mut authenticator = [0u8; 16];
        if p.req.code == code::ACCESS_REQUEST {
            self.rng.fill_bytes(&mut authenticator);
        }
        let (bytes, authenticator) = encode(p, identifier, authenticator, now, &server.cfg.secret);
        let deadline = now + self.cfg.timeout;
        self.transmits.push_back((server.cfg.addr, bytes.clone()));
        p.slot = Some(Slot {
            server: si,
            identifier,
            authenticator,
            bytes,
            attempt: 0,
            deadline,
        });
        self.timers.insert((deadline, id));
        self.in_flight += 1;
    }

    /// Free the Identifier and timer of `p` (its slot is taken).
    fn release(&mut self, p: &mut Pending, id: RequestId) {
        if let Some(slot) = p.slot.take() {
            self.timers.remove(&(slot.deadline, id));
            if let Some(server) = self.servers.get_mut(slot.server) {
                if let Some(s) = server.ids.get_mut(usize::from(slot.identifier)) {
                    *s = None;
                }
                server.free.push_back(slot.identifier);
            }
            self.in_flight = self.in_flight.saturating_sub(1);
        }
    }

    /// The retransmission timer of `id` fired.
    fn expire(&mut self, now: Instant, id: RequestId) {
        let Some(mut p) = self.pending.remove(&id) else {
            return;
        };
        let Some(slot) = p.slot.as_mut() else {
            self.pending.insert(id, p);
            return;
        };
        let si = slot.server;
        let Some(server) = self.servers.get_mut(si) else {
            return;
        };
        if slot.attempt < self.cfg.retries {
            slot.attempt += 1;
            server.counters.retransmissions += 1;
            if p.req.code == code::ACCOUNTING_REQUEST {
                // New content (Acct-Delay-Time) needs a new Identifier (RFC 5080 §2.2.1);
                // keep the old one if none is free.
                if let Some(new_ident) = server.free.pop_front() {
                    if let Some(s) = server.ids.get_mut(usize::from(slot.identifier)) {
                        *s = None;
                    }
                    server.free.push_back(slot.identifier);
                    if let Some(s) = server.ids.get_mut(usize::from(new_ident)) {
                        *s = Some(id);
                    }
                    slot.identifier = new_ident;
                }
                let ident = slot.identifier;
                let (bytes, auth) = encode(&p, ident, [0; 16], now, &server.cfg.secret);
                if let Some(slot) = p.slot.as_mut() {
                    slot.bytes = bytes;
                    slot.authenticator = auth;
                }
            }
            let Some(slot) = p.slot.as_mut() else { return };
            let backoff = self.cfg.timeout.saturating_mul(1 << slot.attempt.min(3));
            slot.deadline = now + backoff;
            self.transmits
                .push_back((server.cfg.addr, slot.bytes.clone()));
            self.timers.insert((slot.deadline, id));
            self.pending.insert(id, p);
            return;
        }
        // Retransmissions used up: this server is dead for a while; fail over.
        server.counters.timeouts += 1;
        server.dead_until = Some(now + self.cfg.dead_time);
        self.release(&mut p, id);
        p.tried |= 1 << si;
        let kind = p.req.kind();
        match self.pick(kind, p.tried, now, false) {
            Some(next) if self.servers.get(next).is_some_and(|s| !s.free.is_empty()) => {
                self.pending.insert(id, p);
                self.transmit_new(now, id, next);
            }
            Some(_) => {
                // Next server has no free Identifier: wait at the head of the queue.
                self.pending.insert(id, p);
                match kind {
                    ServerKind::Auth => self.wait_auth.push_front(id),
                    ServerKind::Acct => self.wait_acct.push_front(id),
                }
            }
            None if kind == ServerKind::Auth => self.events.push_back(ClientEvent::Timeout { id }),
            None => {
                p.tried = 0;
                self.pending.insert(id, p);
                self.counters.acct_requeued += 1;
                self.enqueue_acct(id);
            }
        }
    }
}

/// The packet for one transmission; Acct-Delay-Time (seconds) for accounting.
fn build(p: &Pending, identifier: u8, authenticator: [u8; 16], delay: u32) -> Packet {
    let mut packet = Packet {
        code: p.req.code,
        identifier,
        authenticator,
        attrs: p.req.attrs.clone(),
    };
    if p.req.code == code::ACCESS_REQUEST {
        if packet.get(at::MESSAGE_AUTHENTICATOR).is_none() {
            packet.attrs.push(Attr {
                typ: at::MESSAGE_AUTHENTICATOR,
                value: Value::MessageAuthenticator([0; 16]),
            });
        }
    } else if delay > 0 || p.base_delay > 0 {
        packet.set(Attr::integer(at::ACCT_DELAY_TIME, delay));
    }
    packet
}

/// Encode one transmission; returns the bytes and the Request Authenticator they carry.
fn encode(
    p: &Pending,
    identifier: u8,
    authenticator: [u8; 16],
    now: Instant,
    secret: &[u8],
) -> (Vec<u8>, [u8; 16]) {
    let waited =
        u32::try_from(now.saturating_duration_since(p.created).as_secs()).unwrap_or(u32::MAX);
    let delay = p.base_delay.saturating_add(waited);
    // `send` encoded this request once already, so this cannot fail; an empty datagram
    // would only be dropped by the server.
    let bytes = build(p, identifier, authenticator, delay)
        .encode_request(secret)
        .unwrap_or_default();
    let auth = bytes
        .get(4..20)
        .and_then(|a| a.try_into().ok())
        .unwrap_or(authenticator);
    (bytes, auth)
}
