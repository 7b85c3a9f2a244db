//! The Link Control Protocol (RFC 1661 §5–6): option handling for [`crate::fsm::Fsm`] plus the
//! LCP-only codes (Protocol-Reject, Echo-Request/Reply, Discard-Request) and the echo keepalive.
//!
//! Options: MRU (1), Async-Control-Character-Map (2, acknowledged and ignored: L2TP is a
//! synchronous link, and pppd on L2TP sends ACCM 0), Authentication-Protocol (3),
//! Magic-Number (5). Protocol-Field-Compression (7), Address-and-Control-Field-Compression (8)
//! and every other option are rejected (as accel-ppp does by default: `pcomp=deny`,
//! `accomp=deny`); frames are still accepted with a one-byte Protocol field or `FF 03`.

use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::auth::AuthMethod;
use crate::fsm::{Fsm, Judgement, Options, Out, State};
use crate::wire::{self, Packet, PROTO_LCP};

/// Protocol-Reject (RFC 1661 §5.7).
pub const PROTO_REJ: u8 = 8;
/// Echo-Request (RFC 1661 §5.8).
pub const ECHO_REQ: u8 = 9;
/// Echo-Reply (RFC 1661 §5.8).
pub const ECHO_REP: u8 = 10;
/// Discard-Request (RFC 1661 §5.9).
pub const DISCARD_REQ: u8 = 11;

const OPT_MRU: u8 = 1;
const OPT_ACCM: u8 = 2;
const OPT_AUTH: u8 = 3;
const OPT_MAGIC: u8 = 5;
/// Smallest MRU we accept from a peer, bytes (pppd's MINMRU).
pub const MIN_MRU: u16 = 128;

/// Encode an authentication method as Authentication-Protocol option data (RFC 1334 §3,
/// RFC 1994 §3, RFC 2759 §2).
fn auth_data(m: AuthMethod) -> &'static [u8] {
    match m {
        AuthMethod::Pap => &[0xc0, 0x23],
        AuthMethod::ChapMd5 => &[0xc2, 0x23, 0x05],
        AuthMethod::MsChapV2 => &[0xc2, 0x23, 0x81],
    }
}

fn parse_auth(data: &[u8]) -> Option<AuthMethod> {
    match data {
        [0xc0, 0x23] => Some(AuthMethod::Pap),
        [0xc2, 0x23, 0x05] => Some(AuthMethod::ChapMd5),
        [0xc2, 0x23, 0x81] => Some(AuthMethod::MsChapV2),
        _ => None,
    }
}

/// LCP option state: what we ask for and what was agreed.
#[derive(Debug)]
pub struct LcpOptions {
    rng: SmallRng,
    /// Methods we ask the peer to use, in preference order (authenticator role).
    want_auth: Vec<AuthMethod>,
    /// Methods we agree to authenticate ourselves with (peer role).
    accept_auth: Vec<AuthMethod>,
    auth_idx: usize,
    auth_tried: u8,
    auth_refused: bool,
    want_mru: u16,
    send_mru: bool,
    send_magic: bool,
    /// Our Magic-Number (0 when not negotiated).
    pub magic: u32,
    /// The peer's Magic-Number (0 if it sent none).
    pub peer_magic: u32,
    /// The peer's MRU, bytes (1500 unless it sent the option).
    pub peer_mru: u16,
    /// Method the peer agreed to be authenticated with (authenticator role).
    pub our_auth: Option<AuthMethod>,
    /// Method we agreed to authenticate ourselves with (peer role).
    pub his_auth: Option<AuthMethod>,
    /// Configure-Requests seen carrying our own Magic-Number (looped-back link suspicion).
    pub loops: u32,
}

impl LcpOptions {
    fn new(seed: u64, want_auth: Vec<AuthMethod>, accept_auth: Vec<AuthMethod>, mru: u16) -> Self {
        let mut o = LcpOptions {
            rng: SmallRng::seed_from_u64(seed),
            want_auth,
            accept_auth,
            auth_idx: 0,
            auth_tried: 0,
            auth_refused: false,
            want_mru: mru,
            send_mru: false,
            send_magic: true,
            magic: 0,
            peer_magic: 0,
            peer_mru: wire::DEFAULT_MRU,
            our_auth: None,
            his_auth: None,
            loops: 0,
        };
        o.reset();
        o
    }

    fn new_magic(&mut self) -> u32 {
        loop {
            let m: u32 = self.rng.gen();
            if m != 0 && m != self.magic && m != self.peer_magic {
                return m;
            }
        }
    }

    fn current_auth(&self) -> Option<AuthMethod> {
        if self.auth_refused {
            return None;
        }
        self.want_auth.get(self.auth_idx).copied()
    }
}

fn bit(i: usize) -> u8 {
    1u8.checked_shl(i as u32).unwrap_or(0)
}

impl Options for LcpOptions {
    fn reset(&mut self) {
        self.auth_idx = 0;
        self.auth_tried = bit(0);
        self.auth_refused = false;
        self.send_mru = self.want_mru != wire::DEFAULT_MRU;
        self.send_magic = true;
        self.magic = self.new_magic();
        self.peer_magic = 0;
        self.peer_mru = wire::DEFAULT_MRU;
        self.our_auth = None;
        self.his_auth = None;
    }

    fn build_request(&mut self, out: &mut Vec<u8>) {
        if self.send_mru {
            wire::push_opt(out, OPT_MRU, &self.want_mru.to_be_bytes());
        }
        if let Some(m) = self.current_auth() {
            wire::push_opt(out, OPT_AUTH, auth_data(m));
        }
        if self.send_magic {
            wire::push_opt(out, OPT_MAGIC, &self.magic.to_be_bytes());
        }
    }

    fn judge_request(&mut self, opts: &[u8], exhausted: bool, reply: &mut Vec<u8>) -> Judgement {
        let mut rej = Vec::new();
        let mut nak = Vec::new();
        let mut nak_raw = Vec::new();
        let mut peer_mru = wire::DEFAULT_MRU;
        let mut peer_magic = 0;
        let mut his_auth = None;
        for o in wire::options(opts).filter_map(Result::ok) {
            match (o.kind, o.data) {
                (OPT_MRU, &[a, b]) => {
                    let v = u16::from_be_bytes([a, b]);
                    if v < MIN_MRU {
                        wire::push_opt(&mut nak, OPT_MRU, &MIN_MRU.to_be_bytes());
                        nak_raw.extend_from_slice(o.raw);
                    } else {
                        peer_mru = v;
                    }
                }
                (OPT_ACCM, d) if d.len() == 4 => {}
                (OPT_AUTH, d) if !self.accept_auth.is_empty() => {
                    match parse_auth(d).filter(|m| self.accept_auth.contains(m)) {
                        Some(m) => his_auth = Some(m),
                        None => {
                            let ours = self.accept_auth.first().copied().unwrap_or(AuthMethod::Pap);
                            wire::push_opt(&mut nak, OPT_AUTH, auth_data(ours));
                            nak_raw.extend_from_slice(o.raw);
                        }
                    }
                }
                (OPT_MAGIC, &[a, b, c, d]) => {
                    let v = u32::from_be_bytes([a, b, c, d]);
                    if v == 0 || (self.send_magic && v == self.magic) {
                        if v != 0 {
                            self.loops = self.loops.saturating_add(1);
                            // Either side may be looped; pick a new number of our own too.
                            self.magic = self.new_magic();
                        }
                        let suggest = self.new_magic();
                        wire::push_opt(&mut nak, OPT_MAGIC, &suggest.to_be_bytes());
                        nak_raw.extend_from_slice(o.raw);
                    } else {
                        peer_magic = v;
                    }
                }
                _ => rej.extend_from_slice(o.raw),
            }
        }
        if !rej.is_empty() {
            *reply = rej;
            return Judgement::Reject;
        }
        if !nak.is_empty() {
            if exhausted {
                *reply = nak_raw;
                return Judgement::Reject;
            }
            *reply = nak;
            return Judgement::Nak;
        }
        self.peer_mru = peer_mru;
        self.peer_magic = peer_magic;
        self.his_auth = his_auth;
        Judgement::Ack
    }

    fn acked(&mut self, ours: &[u8]) {
        self.our_auth = wire::options(ours)
            .filter_map(Result::ok)
            .find(|o| o.kind == OPT_AUTH)
            .and_then(|o| parse_auth(o.data));
    }

    fn naked(&mut self, opts: &[u8]) -> bool {
        for o in wire::options(opts).filter_map(Result::ok) {
            match (o.kind, o.data) {
                (OPT_MRU, &[a, b]) => {
                    let v = u16::from_be_bytes([a, b]);
                    if (MIN_MRU..=self.want_mru).contains(&v) {
                        self.want_mru = v;
                        self.send_mru = true;
                    }
                }
                (OPT_AUTH, d) if self.current_auth().is_some() => {
                    // The peer names the method it would rather use: take it if we allow it and
                    // have not tried it yet, else move on to our next preference.
                    let named = parse_auth(d)
                        .and_then(|m| self.want_auth.iter().position(|w| *w == m))
                        .filter(|i| self.auth_tried & bit(*i) == 0);
                    let next = named.or_else(|| {
                        (0..self.want_auth.len()).find(|i| self.auth_tried & bit(*i) == 0)
                    });
                    match next {
                        Some(i) => {
                            self.auth_idx = i;
                            self.auth_tried |= bit(i);
                        }
                        None => self.auth_refused = true,
                    }
                }
                (OPT_MAGIC, _) => self.magic = self.new_magic(),
                _ => {}
            }
        }
        true
    }

    fn rejected(&mut self, opts: &[u8]) -> bool {
        for o in wire::options(opts).filter_map(Result::ok) {
            match o.kind {
                OPT_MRU => self.send_mru = false,
                OPT_AUTH => self.auth_refused = true,
                OPT_MAGIC => {
                    self.send_magic = false;
                    self.magic = 0;
                }
                _ => {}
            }
        }
        true
    }
}

/// What a received LCP packet means for the session beyond the automaton.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LcpNotice {
    /// The peer sent a Protocol-Reject for this protocol number.
    ProtocolRejected(u16),
}

/// The echo keepalive (pppd's lcp-echo-interval / lcp-echo-failure).
#[derive(Debug)]
struct Echo {
    interval: Duration,
    max_failures: u32,
    outstanding: u32,
    deadline: Option<Instant>,
}

/// LCP: the automaton, its options and the keepalive.
#[derive(Debug)]
pub struct Lcp {
    /// The RFC 1661 automaton.
    pub fsm: Fsm,
    /// Option state.
    pub opts: LcpOptions,
    echo: Option<Echo>,
    /// Data of the last Terminate-Request received (printable, at most 64 bytes).
    pub peer_reason: Option<String>,
}

impl Lcp {
    /// A new LCP in the Initial state. `want_auth`: methods to require (authenticator);
    /// `accept_auth`: methods to agree to (peer); `mru`: our MRU in bytes;
    /// `echo`: keepalive interval and failure count.
    pub fn new(
        seed: u64,
        restart: Duration,
        want_auth: Vec<AuthMethod>,
        accept_auth: Vec<AuthMethod>,
        mru: u16,
        echo: Option<(Duration, u32)>,
    ) -> Lcp {
        Lcp {
            fsm: Fsm::new(PROTO_LCP, restart, seed as u8),
            opts: LcpOptions::new(seed, want_auth, accept_auth, mru),
            echo: echo.map(|(interval, max_failures)| Echo {
                interval,
                max_failures,
                outstanding: 0,
                deadline: None,
            }),
            peer_reason: None,
        }
    }

    /// Start or stop the keepalive (call on LCP Up / Down).
    pub fn set_echo_running(&mut self, now: Instant, running: bool) {
        if let Some(e) = &mut self.echo {
            e.outstanding = 0;
            e.deadline = running.then(|| now + e.interval);
        }
    }

    /// Earliest timer: Restart or keepalive.
    pub fn deadline(&self) -> Option<Instant> {
        let echo = self.echo.as_ref().and_then(|e| e.deadline);
        match (self.fsm.deadline(), echo) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Run due timers. Returns `true` when the keepalive declares the peer dead
    /// (more than `echo_failures` Echo-Requests unanswered in a row).
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Out) -> bool {
        self.fsm.handle_timeout(now, &mut self.opts, out);
        let Some(e) = &mut self.echo else {
            return false;
        };
        match e.deadline {
            Some(d) if d <= now && self.fsm.state() == State::Opened => {
                if e.outstanding >= e.max_failures {
                    e.deadline = None;
                    return true;
                }
                e.outstanding += 1;
                e.deadline = Some(now + e.interval);
                let id = self.fsm.next_identifier();
                out.send(wire::control_frame(
                    PROTO_LCP,
                    ECHO_REQ,
                    id,
                    &self.opts.magic.to_be_bytes(),
                    usize::from(self.opts.peer_mru),
                ));
                false
            }
            _ => false,
        }
    }

    /// Handle an LCP packet (`info` is the information field of the frame).
    pub fn input(&mut self, now: Instant, info: &[u8], out: &mut Out) -> Option<LcpNotice> {
        let pkt = Packet::parse(info)?;
        if pkt.code == crate::fsm::TERM_REQ {
            let text: String = String::from_utf8_lossy(pkt.data.get(..64).unwrap_or(pkt.data))
                .chars()
                .filter(|c| !c.is_control())
                .collect();
            self.peer_reason = Some(text);
        }
        let rest = self.fsm.input(now, pkt, &mut self.opts, out)?;
        let opened = self.fsm.state() == State::Opened;
        match rest.code {
            PROTO_REJ => {
                if opened {
                    if let [a, b, ..] = rest.data {
                        return Some(LcpNotice::ProtocolRejected(u16::from_be_bytes([*a, *b])));
                    }
                }
            }
            ECHO_REQ => {
                // RFC 1661 §5.8: answer only in Opened; the reply carries our Magic-Number.
                if opened {
                    let mut data = self.opts.magic.to_be_bytes().to_vec();
                    data.extend_from_slice(rest.data.get(4..).unwrap_or(&[]));
                    out.send(wire::control_frame(
                        PROTO_LCP,
                        ECHO_REP,
                        rest.id,
                        &data,
                        usize::from(self.opts.peer_mru),
                    ));
                }
            }
            ECHO_REP => {
                let magic = rest.data.get(..4);
                let looped =
                    self.opts.magic != 0 && magic == Some(&self.opts.magic.to_be_bytes()[..]);
                if opened && !looped {
                    if let Some(e) = &mut self.echo {
                        e.outstanding = 0;
                    }
                }
            }
            DISCARD_REQ => {}
            _ => {
                let len = 4 + rest.data.len();
                let raw = info.get(..len).unwrap_or(info);
                self.fsm.unknown_code(now, raw, &mut self.opts, out);
            }
        }
        None
    }

    /// Send a Protocol-Reject for a frame of an unknown or unused protocol (only when Opened,
    /// RFC 1661 §5.7). `info` is the rejected frame's information field.
    pub fn protocol_reject(&mut self, protocol: u16, info: &[u8], out: &mut Out) {
        if self.fsm.state() != State::Opened {
            return;
        }
        let mru = usize::from(self.opts.peer_mru);
        let take = info.len().min(mru.saturating_sub(6));
        let mut data = Vec::with_capacity(2 + take);
        data.extend_from_slice(&protocol.to_be_bytes());
        data.extend_from_slice(info.get(..take).unwrap_or(info));
        let id = self.fsm.next_identifier();
        out.send(wire::control_frame(PROTO_LCP, PROTO_REJ, id, &data, mru));
    }
}
