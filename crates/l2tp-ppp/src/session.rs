//! The PPP link: phases (RFC 1661 §3.2) tying LCP, authentication and the NCPs together,
//! behind a sans-IO API in the style of quinn-proto.

use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};

use crate::auth::{printable, AuthMethod, AuthRequest, Outcome, Verdict};
use crate::chap::{ChapClient, ChapServer};
use crate::fsm::{self, Fsm, Layer, Options, Out, State};
use crate::ipcp::{IpcpConfig, IpcpOptions};
use crate::ipv6cp::Ipv6cpOptions;
use crate::lcp::{Lcp, LcpNotice};
use crate::pap::{PapClient, PapServer};
use crate::wire::{self, Packet};

/// At most this many events wait in the queue; more are dropped (and counted).
pub const EVENT_QUEUE_CAP: usize = 64;

/// Which side of the authentication this end takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Requires the peer to authenticate (the LNS side).
    Authenticator,
    /// Authenticates itself to the peer with [`PppConfig::credentials`] (the LAC / client side).
    Peer,
}

/// Settings of one PPP link.
#[derive(Debug, Clone)]
pub struct PppConfig {
    /// Authenticator or peer.
    pub role: Role,
    /// Our MRU, bytes; sent in LCP only when not 1500.
    pub mru: u16,
    /// Authenticator: methods to require, in order of preference (empty: no authentication).
    /// Peer: methods we agree to use.
    pub auth_methods: Vec<AuthMethod>,
    /// Peer role: user name and password.
    pub credentials: Option<(String, String)>,
    /// Interval between LCP Echo-Requests once LCP is up; `None` disables the keepalive.
    pub echo_interval: Option<Duration>,
    /// Unanswered Echo-Requests in a row after which the peer is declared dead.
    pub echo_failures: u32,
    /// The Restart timer (RFC 1661 §4.6, default 3 s), also the PAP/CHAP retransmit interval.
    pub restart: Duration,
    /// IPCP settings; `None` disables IPv4 (IPCP frames are Protocol-Rejected).
    pub ipcp: Option<IpcpConfig>,
    /// Negotiate IPv6CP.
    pub ipv6cp: bool,
    /// Our name (CHAP Challenge Name field).
    pub name: String,
}

impl Default for PppConfig {
    fn default() -> Self {
        PppConfig {
            role: Role::Authenticator,
            mru: wire::DEFAULT_MRU,
            auth_methods: Vec::new(),
            credentials: None,
            echo_interval: Some(Duration::from_secs(30)),
            echo_failures: 4,
            restart: Duration::from_secs(3),
            ipcp: None,
            ipv6cp: false,
            name: "l2tp-rs".into(),
        }
    }
}

/// The link phase (RFC 1661 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Link dead: finished (or not started).
    Dead,
    /// LCP negotiating.
    Establish,
    /// PAP or CHAP running.
    Authenticate,
    /// NCPs negotiating or up.
    Network,
    /// LCP terminating.
    Terminate,
}

/// What the engine tells the runtime (see [`Ppp::poll_event`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// LCP reached Opened.
    LinkUp,
    /// Authenticator: check these credentials and call [`Ppp::auth_verdict`].
    Authenticate(AuthRequest),
    /// Authentication succeeded (the peer's name as authenticator, ours as peer).
    Authenticated {
        /// User name (printable form).
        username: String,
    },
    /// Authentication failed; the link is being terminated.
    AuthFailed {
        /// Method used.
        method: AuthMethod,
        /// User name (printable form; empty if none was received).
        username: String,
        /// Why (the verdict's message, or the peer's Failure text, or a timeout).
        message: String,
    },
    /// IPCP reached Opened.
    IpcpUp {
        /// Our address.
        local: Ipv4Addr,
        /// The peer's address.
        peer: Ipv4Addr,
        /// DNS servers given (server) or learnt (client).
        dns: [Option<Ipv4Addr>; 2],
    },
    /// IPV6CP reached Opened.
    Ipv6cpUp {
        /// Our interface identifier.
        local_id: u64,
        /// The peer's interface identifier.
        peer_id: u64,
    },
    /// An NCP left Opened: stop routing that protocol.
    NetworkDown {
        /// The NCP's protocol number (0x8021 IPCP, 0x8057 IPV6CP).
        protocol: u16,
    },
    /// The link is finished (LCP This-Layer-Finished): tear the session down.
    Down {
        /// Why.
        reason: String,
    },
}

/// The link's phase and automata states (see [`Ppp::automata`]): `Copy`, no allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Automata {
    /// Current phase (RFC 1661 §3.2).
    pub phase: Phase,
    /// LCP automaton state.
    pub lcp: State,
    /// Negotiated authentication method.
    pub auth: Option<AuthMethod>,
    /// IPCP automaton state, if IPCP is configured.
    pub ipcp: Option<State>,
    /// IPV6CP automaton state, if enabled.
    pub ipv6cp: Option<State>,
}

/// A snapshot of the link for status displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseSnapshot {
    /// Current phase.
    pub phase: Phase,
    /// LCP automaton state.
    pub lcp: State,
    /// IPCP automaton state, if IPCP is configured.
    pub ipcp: Option<State>,
    /// IPV6CP automaton state, if enabled.
    pub ipv6cp: Option<State>,
    /// Negotiated authentication method.
    pub auth: Option<AuthMethod>,
    /// Authenticated user name.
    pub username: Option<String>,
    /// The peer's MRU, bytes.
    pub peer_mru: u16,
    /// Our address and the peer's, once IPCP is up.
    pub addresses: Option<(Ipv4Addr, Ipv4Addr)>,
    /// Frames and events dropped because the runtime did not poll (should stay 0).
    pub dropped: u64,
    /// Received frames dropped as malformed: no valid Protocol field, or a control packet
    /// shorter than 4 bytes or than its Length field (RFC 1661 §5).
    pub malformed: u64,
}

#[derive(Debug)]
enum AuthState {
    None,
    PapServer(PapServer),
    PapClient(PapClient),
    ChapServer(ChapServer),
    ChapClient(ChapClient),
}

#[derive(Debug)]
struct Ncp<O> {
    fsm: Fsm,
    opts: O,
}

/// One PPP link, sans-IO: feed it frames and time, take frames, timers and events out.
#[derive(Debug)]
pub struct Ppp {
    cfg: PppConfig,
    phase: Phase,
    rng: SmallRng,
    lcp: Lcp,
    auth: AuthState,
    auth_method: Option<AuthMethod>,
    username: Option<String>,
    ipcp: Option<Ncp<IpcpOptions>>,
    ipv6cp: Option<Ncp<Ipv6cpOptions>>,
    out: Out,
    events: VecDeque<Event>,
    events_dropped: u64,
    malformed: u64,
    reason: Option<String>,
}

impl Ppp {
    /// A new link; LCP gets Up and Open at once, so the first Configure-Request is queued.
    /// `rng_seed` seeds Magic-Numbers, challenges, identifiers and interface identifiers
    /// (pass real randomness in production, a constant in tests).
    pub fn new(cfg: PppConfig, now: Instant, rng_seed: u64) -> Ppp {
        let mut rng = SmallRng::seed_from_u64(rng_seed);
        let (want, accept) = match cfg.role {
            Role::Authenticator => (cfg.auth_methods.clone(), Vec::new()),
            Role::Peer if cfg.credentials.is_some() => (Vec::new(), cfg.auth_methods.clone()),
            Role::Peer => (Vec::new(), Vec::new()),
        };
        let lcp = Lcp::new(
            rng.next_u64(),
            cfg.restart,
            want,
            accept,
            cfg.mru,
            cfg.echo_interval.map(|i| (i, cfg.echo_failures)),
        );
        let ipcp = cfg.ipcp.clone().map(|c| Ncp {
            fsm: Fsm::new(wire::PROTO_IPCP, cfg.restart, rng.next_u32() as u8),
            opts: IpcpOptions::new(c),
        });
        let ipv6cp = cfg.ipv6cp.then(|| Ncp {
            fsm: Fsm::new(wire::PROTO_IPV6CP, cfg.restart, rng.next_u32() as u8),
            opts: Ipv6cpOptions::new(rng.next_u64()),
        });
        let mut p = Ppp {
            cfg,
            phase: Phase::Establish,
            rng,
            lcp,
            auth: AuthState::None,
            auth_method: None,
            username: None,
            ipcp,
            ipv6cp,
            out: Out::default(),
            events: VecDeque::new(),
            events_dropped: 0,
            malformed: 0,
            reason: None,
        };
        p.lcp.fsm.up(now, &mut p.lcp.opts, &mut p.out);
        p.lcp.fsm.open(now, &mut p.lcp.opts, &mut p.out);
        p.drive(now);
        p
    }

    /// Handle one received frame (Protocol field first; a leading `FF 03` and a compressed
    /// one-byte Protocol field are accepted). Malformed frames are dropped. IPv4/IPv6
    /// datagrams are not the engine's business (see [`crate::classify`]) and are dropped.
    /// Never panics.
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8]) {
        if self.phase == Phase::Dead {
            return;
        }
        let Some((proto, info)) = wire::split_protocol(frame) else {
            self.malformed += 1;
            return;
        };
        let control = matches!(
            proto,
            wire::PROTO_LCP
                | wire::PROTO_PAP
                | wire::PROTO_CHAP
                | wire::PROTO_IPCP
                | wire::PROTO_IPV6CP
        );
        if control && Packet::parse(info).is_none() {
            self.malformed += 1;
            return;
        }
        match proto {
            wire::PROTO_LCP => {
                if let Some(LcpNotice::ProtocolRejected(p)) =
                    self.lcp.input(now, info, &mut self.out)
                {
                    self.protocol_rejected(now, p);
                }
            }
            wire::PROTO_PAP | wire::PROTO_CHAP => self.auth_input(now, proto, info),
            wire::PROTO_IPCP => match &mut self.ipcp {
                Some(n) if self.phase == Phase::Network => {
                    if let Some(pkt) = Packet::parse(info) {
                        if let Some(rest) = n.fsm.input(now, pkt, &mut n.opts, &mut self.out) {
                            let raw = info.get(..4 + rest.data.len()).unwrap_or(info);
                            n.fsm.unknown_code(now, raw, &mut n.opts, &mut self.out);
                        }
                    }
                }
                Some(_) => {}
                None => self.lcp.protocol_reject(proto, info, &mut self.out),
            },
            wire::PROTO_IPV6CP => match &mut self.ipv6cp {
                Some(n) if self.phase == Phase::Network => {
                    if let Some(pkt) = Packet::parse(info) {
                        if let Some(rest) = n.fsm.input(now, pkt, &mut n.opts, &mut self.out) {
                            let raw = info.get(..4 + rest.data.len()).unwrap_or(info);
                            n.fsm.unknown_code(now, raw, &mut n.opts, &mut self.out);
                        }
                    }
                }
                Some(_) => {}
                None => self.lcp.protocol_reject(proto, info, &mut self.out),
            },
            wire::PROTO_IPV4 | wire::PROTO_IPV6 => {}
            other => self.lcp.protocol_reject(other, info, &mut self.out),
        }
        self.drive(now);
    }

    fn auth_input(&mut self, now: Instant, proto: u16, info: &[u8]) {
        if !matches!(self.phase, Phase::Authenticate | Phase::Network) {
            return;
        }
        let Some(pkt) = Packet::parse(info) else {
            return;
        };
        let out = &mut self.out;
        let outcome = match (&mut self.auth, proto) {
            (AuthState::PapServer(s), wire::PROTO_PAP) => s.input(pkt, out),
            (AuthState::PapClient(c), wire::PROTO_PAP) => c.input(pkt),
            (AuthState::ChapServer(s), wire::PROTO_CHAP) => s.input(pkt, out),
            (AuthState::ChapClient(c), wire::PROTO_CHAP) => c.input(now, pkt, out),
            // The protocol was not negotiated: RFC 1661 §5.7 says reject it.
            (AuthState::None, _) => {
                self.lcp.protocol_reject(proto, info, out);
                None
            }
            _ => None,
        };
        if let Some(o) = outcome {
            self.auth_outcome(now, o);
        }
    }

    /// Run due timers (Restart timers, keepalive, authentication retransmissions).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.phase == Phase::Dead {
            return;
        }
        if self.lcp.handle_timeout(now, &mut self.out) {
            let n = self.cfg.echo_failures;
            self.close_with(
                now,
                format!("peer not responding ({n} LCP Echo-Requests unanswered)"),
            );
            // The peer is dead: one Terminate-Request goes out (a courtesy, should it only be
            // deaf), but waiting Max-Terminate Restart periods (6 s) for an Ack that cannot
            // come would only delay clearing the session. The lower layer is declared down
            // (Closing -> Initial, no more retransmission) and the link finished now.
            self.lcp.fsm.down(now, &mut self.lcp.opts, &mut self.out);
            self.out.layer.push_back((wire::PROTO_LCP, Layer::Finished));
        }
        let outcome = match &mut self.auth {
            AuthState::None => None,
            AuthState::PapServer(s) => s.timeout(now),
            AuthState::PapClient(c) => c.timeout(now, &mut self.out),
            AuthState::ChapServer(s) => s.timeout(now, &mut self.out),
            AuthState::ChapClient(c) => c.timeout(now, &mut self.out),
        };
        if let Some(o) = outcome {
            self.auth_outcome(now, o);
        }
        if let Some(n) = &mut self.ipcp {
            n.fsm.handle_timeout(now, &mut n.opts, &mut self.out);
        }
        if let Some(n) = &mut self.ipv6cp {
            n.fsm.handle_timeout(now, &mut n.opts, &mut self.out);
        }
        self.drive(now);
    }

    /// The earliest instant at which [`Ppp::handle_timeout`] has work, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Dead {
            return None;
        }
        let auth = match &self.auth {
            AuthState::None => None,
            AuthState::PapServer(s) => s.deadline(),
            AuthState::PapClient(c) => c.deadline(),
            AuthState::ChapServer(s) => s.deadline(),
            AuthState::ChapClient(c) => c.deadline(),
        };
        [
            self.lcp.deadline(),
            auth,
            self.ipcp.as_ref().and_then(|n| n.fsm.deadline()),
            self.ipv6cp.as_ref().and_then(|n| n.fsm.deadline()),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Next frame to send (Protocol field first, no `FF 03`).
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.tx.pop_front()
    }

    /// Next event for the runtime.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The runtime's answer to [`Event::Authenticate`]. Ignored if no check is pending.
    /// It answers the latest `Authenticate` event: if LCP renegotiated meanwhile (a new
    /// `LinkUp` came), the runtime must drop the verdict of the older request.
    pub fn auth_verdict(&mut self, now: Instant, v: Verdict) {
        let outcome = match &mut self.auth {
            AuthState::PapServer(s) => s.verdict(&v, &mut self.out),
            AuthState::ChapServer(s) => s.verdict(&v, &mut self.out),
            _ => None,
        };
        if let Some(o) = outcome {
            self.auth_outcome(now, o);
        }
        self.drive(now);
    }

    /// LNS: give the peer `peer` in IPCP instead of the configured address (RADIUS
    /// Framed-IP-Address, RFC 2865 §5.8). Call it before the verdict that opens the network
    /// phase ([`Ppp::auth_verdict`]); IPCP negotiations after that offer this address. Has no
    /// effect on a link without IPCP, and on the peer side of a link (the address is ours to
    /// learn, not to give).
    pub fn set_ipcp_peer_address(&mut self, peer: Ipv4Addr) {
        if self.cfg.role != Role::Authenticator {
            return;
        }
        if let Some(n) = &mut self.ipcp {
            n.opts.set_peer(peer);
            if let Some(c) = &mut self.cfg.ipcp {
                c.peer = Some(peer);
            }
            if matches!(n.fsm.state(), State::Initial | State::Starting) {
                n.opts.reset();
            }
        }
    }

    /// Close the link: LCP Terminate-Request with `reason` as data; [`Event::Down`] follows
    /// when the peer acknowledges or after Max-Terminate tries.
    pub fn close(&mut self, now: Instant, reason: &str) {
        self.close_with(now, reason.to_string());
        self.drive(now);
    }

    /// The link's phase and automata states, without allocating (for a caller that compares
    /// them after each input to report changes; [`Ppp::state`] has everything).
    pub fn automata(&self) -> Automata {
        Automata {
            phase: self.phase,
            lcp: self.lcp.fsm.state(),
            auth: self.auth_method,
            ipcp: self.ipcp.as_ref().map(|n| n.fsm.state()),
            ipv6cp: self.ipv6cp.as_ref().map(|n| n.fsm.state()),
        }
    }

    /// The peer's MRU (bytes): what LCP negotiated, else 1500 (RFC 1661 §6.1). The most a
    /// packet to the peer may carry: the interface MTU is at most this.
    pub fn peer_mru(&self) -> u16 {
        self.lcp.opts.peer_mru
    }

    /// The link's state for `l2tpctl show`.
    pub fn state(&self) -> PhaseSnapshot {
        let ipcp_up = self
            .ipcp
            .as_ref()
            .filter(|n| n.fsm.state() == State::Opened)
            .map(|n| (n.opts.local, n.opts.peer));
        PhaseSnapshot {
            phase: self.phase,
            lcp: self.lcp.fsm.state(),
            ipcp: self.ipcp.as_ref().map(|n| n.fsm.state()),
            ipv6cp: self.ipv6cp.as_ref().map(|n| n.fsm.state()),
            auth: self.auth_method,
            username: self.username.clone(),
            peer_mru: self.lcp.opts.peer_mru,
            addresses: ipcp_up,
            dropped: self.out.dropped + self.events_dropped,
            malformed: self.malformed,
        }
    }

    fn close_with(&mut self, now: Instant, reason: String) {
        if self.reason.is_none() {
            self.reason = Some(reason.clone());
        }
        if self.phase != Phase::Dead {
            self.phase = Phase::Terminate;
        }
        self.lcp
            .fsm
            .close(now, &reason, &mut self.lcp.opts, &mut self.out);
    }

    fn emit(&mut self, e: Event) {
        if self.events.len() >= EVENT_QUEUE_CAP {
            self.events_dropped += 1;
        } else {
            self.events.push_back(e);
        }
    }

    fn auth_outcome(&mut self, now: Instant, o: Outcome) {
        let method = self.auth_method.unwrap_or(AuthMethod::Pap);
        match o {
            Outcome::Check(req) => self.emit(Event::Authenticate(req)),
            Outcome::Success { username } => {
                let username = printable(&username);
                self.username = Some(username.clone());
                self.emit(Event::Authenticated { username });
                if self.phase == Phase::Authenticate {
                    self.enter_network(now);
                }
            }
            Outcome::Failure { username, message } => {
                let reason = match self.cfg.role {
                    Role::Authenticator => "Authentication failed",
                    Role::Peer => "Failed to authenticate ourselves to peer",
                };
                self.emit(Event::AuthFailed {
                    method,
                    username: printable(&username),
                    message: message.clone(),
                });
                self.close_with(now, reason.to_string());
            }
        }
    }

    fn protocol_rejected(&mut self, now: Instant, p: u16) {
        match p {
            wire::PROTO_IPCP => {
                if let Some(n) = &mut self.ipcp {
                    n.fsm.rxj(now, true, &mut n.opts, &mut self.out);
                }
            }
            wire::PROTO_IPV6CP => {
                if let Some(n) = &mut self.ipv6cp {
                    n.fsm.rxj(now, true, &mut n.opts, &mut self.out);
                }
            }
            wire::PROTO_LCP | wire::PROTO_PAP | wire::PROTO_CHAP => {
                self.close_with(now, format!("peer rejected protocol {p:#06x}"));
            }
            _ => {}
        }
    }

    fn start_auth(&mut self, now: Instant) {
        let mru = usize::from(self.lcp.opts.peer_mru);
        let restart = self.cfg.restart;
        let wait = restart * fsm::MAX_CONFIGURE;
        match self.cfg.role {
            Role::Authenticator => {
                let Some(m) = self.lcp.opts.our_auth else {
                    if self.cfg.auth_methods.is_empty() {
                        self.enter_network(now);
                    } else {
                        self.close_with(now, "peer refused to authenticate".into());
                    }
                    return;
                };
                self.auth_method = Some(m);
                self.phase = Phase::Authenticate;
                self.auth = match m {
                    AuthMethod::Pap => AuthState::PapServer(PapServer::new(now, wait, mru)),
                    _ => {
                        let mut s = ChapServer::new(
                            m,
                            &mut self.rng,
                            &self.cfg.name,
                            restart,
                            fsm::MAX_CONFIGURE,
                            mru,
                        );
                        s.start(now, &mut self.out);
                        AuthState::ChapServer(s)
                    }
                };
            }
            Role::Peer => {
                let (Some(m), Some((user, pass))) =
                    (self.lcp.opts.his_auth, self.cfg.credentials.clone())
                else {
                    self.enter_network(now);
                    return;
                };
                self.auth_method = Some(m);
                self.phase = Phase::Authenticate;
                self.auth = match m {
                    AuthMethod::Pap => {
                        let id = self.rng.next_u32() as u8;
                        let mut c =
                            PapClient::new(&user, &pass, id, restart, fsm::MAX_CONFIGURE, mru);
                        c.start(now, &mut self.out);
                        AuthState::PapClient(c)
                    }
                    _ => AuthState::ChapClient(ChapClient::new(
                        m,
                        (&user, &pass),
                        &mut self.rng,
                        now,
                        restart,
                        wait,
                        mru,
                    )),
                };
            }
        }
    }

    fn enter_network(&mut self, now: Instant) {
        if self.ipcp.is_none() && self.ipv6cp.is_none() {
            self.close_with(now, "no network protocols configured".into());
            return;
        }
        self.phase = Phase::Network;
        let mru = usize::from(self.lcp.opts.peer_mru);
        if let Some(n) = &mut self.ipcp {
            n.fsm.peer_mru = mru;
            n.fsm.up(now, &mut n.opts, &mut self.out);
            n.fsm.open(now, &mut n.opts, &mut self.out);
        }
        if let Some(n) = &mut self.ipv6cp {
            n.fsm.peer_mru = mru;
            n.fsm.up(now, &mut n.opts, &mut self.out);
            n.fsm.open(now, &mut n.opts, &mut self.out);
        }
    }

    fn ncps_down(&mut self, now: Instant) {
        if let Some(n) = &mut self.ipcp {
            n.fsm.down(now, &mut n.opts, &mut self.out);
        }
        if let Some(n) = &mut self.ipv6cp {
            n.fsm.down(now, &mut n.opts, &mut self.out);
        }
    }

    /// Act on the layer notices the automata produced, until none are left.
    fn drive(&mut self, now: Instant) {
        // Each notice handled can queue a bounded number of new ones; the loop ends.
        while let Some((proto, layer)) = self.out.layer.pop_front() {
            match (proto, layer) {
                (wire::PROTO_LCP, Layer::Up) => {
                    self.lcp.fsm.peer_mru = usize::from(self.lcp.opts.peer_mru);
                    self.lcp.set_echo_running(now, true);
                    self.emit(Event::LinkUp);
                    self.start_auth(now);
                }
                (wire::PROTO_LCP, Layer::Down) => {
                    self.lcp.set_echo_running(now, false);
                    self.auth = AuthState::None;
                    self.ncps_down(now);
                    if self.phase != Phase::Terminate {
                        self.phase = Phase::Establish;
                    }
                }
                (wire::PROTO_LCP, Layer::Started) => {}
                (wire::PROTO_LCP, Layer::Finished) => {
                    self.ncps_down(now);
                    self.phase = Phase::Dead;
                    let reason =
                        self.reason
                            .take()
                            .unwrap_or_else(|| match &self.lcp.peer_reason {
                                Some(r) if r.is_empty() => "peer requested termination".into(),
                                Some(r) => format!("peer requested termination: {r}"),
                                None => "LCP negotiation failed".into(),
                            });
                    self.emit(Event::Down { reason });
                }
                (wire::PROTO_IPCP, Layer::Up) => {
                    if let Some(n) = &self.ipcp {
                        let e = Event::IpcpUp {
                            local: n.opts.local,
                            peer: n.opts.peer,
                            dns: n.opts.dns,
                        };
                        self.emit(e);
                    }
                }
                (wire::PROTO_IPV6CP, Layer::Up) => {
                    if let Some(n) = &self.ipv6cp {
                        let e = Event::Ipv6cpUp {
                            local_id: n.opts.local_id,
                            peer_id: n.opts.peer_id,
                        };
                        self.emit(e);
                    }
                }
                (p, Layer::Down) => self.emit(Event::NetworkDown { protocol: p }),
                (_, Layer::Finished) => {
                    // pppd: when no NCP is left running, the link has no use.
                    let running = |s: Option<State>| {
                        s.is_some_and(|s| {
                            !matches!(
                                s,
                                State::Initial | State::Starting | State::Closed | State::Stopped
                            )
                        })
                    };
                    let any = running(self.ipcp.as_ref().map(|n| n.fsm.state()))
                        || running(self.ipv6cp.as_ref().map(|n| n.fsm.state()));
                    if !any && self.phase == Phase::Network {
                        self.close_with(now, "no network protocols running".into());
                    }
                }
                _ => {}
            }
        }
    }
}
