//! The option negotiation automaton of RFC 1661 §4, shared by LCP, IPCP and IPv6CP.
//!
//! [`transition`] is the state transition table of RFC 1661 §4.1 as data; [`Fsm`] runs it:
//! it keeps the Restart timer and counter, the Identifiers and the failure count, builds the
//! Configure/Terminate/Code-Reject packets, and asks an [`Options`] implementation (one per
//! protocol) what to request and how to judge the peer's options. This-Layer-Up/Down/Started/
//! Finished come out as [`Layer`] notices in [`Out`], for the session to act on.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::wire::{self, Packet};

/// Configure-Request (RFC 1661 §5.1).
pub const CONF_REQ: u8 = 1;
/// Configure-Ack (RFC 1661 §5.2).
pub const CONF_ACK: u8 = 2;
/// Configure-Nak (RFC 1661 §5.3).
pub const CONF_NAK: u8 = 3;
/// Configure-Reject (RFC 1661 §5.4).
pub const CONF_REJ: u8 = 4;
/// Terminate-Request (RFC 1661 §5.5).
pub const TERM_REQ: u8 = 5;
/// Terminate-Ack (RFC 1661 §5.5).
pub const TERM_ACK: u8 = 6;
/// Code-Reject (RFC 1661 §5.6).
pub const CODE_REJ: u8 = 7;

/// Default Max-Configure: Configure-Requests sent without answer before giving up (RFC 1661 §4.6).
pub const MAX_CONFIGURE: u32 = 10;
/// Default Max-Terminate: Terminate-Requests sent without answer (RFC 1661 §4.6).
pub const MAX_TERMINATE: u32 = 2;
/// Default Max-Failure: Configure-Naks sent before Naks turn into Rejects (RFC 1661 §4.6).
pub const MAX_FAILURE: u32 = 5;
/// At most this many frames wait in [`Out::tx`]; more are dropped and counted (the caller
/// is not polling, and control traffic is retransmitted anyway).
pub const TX_QUEUE_CAP: usize = 64;

/// The ten states of RFC 1661 §4.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// 0: lower layer down, no Open.
    Initial,
    /// 1: Open given, lower layer down.
    Starting,
    /// 2: lower layer up, no Open.
    Closed,
    /// 3: waiting for the peer after a failure or a Terminate; passive.
    Stopped,
    /// 4: Terminate-Request sent after Close.
    Closing,
    /// 5: Terminate-Request sent, link to be restarted.
    Stopping,
    /// 6: Configure-Request sent, nothing acknowledged.
    ReqSent,
    /// 7: our Configure-Request acknowledged, the peer's not yet.
    AckRcvd,
    /// 8: the peer's Configure-Request acknowledged, ours not yet.
    AckSent,
    /// 9: both acknowledged: the layer is up.
    Opened,
}

impl State {
    /// All states in RFC order (index = state number).
    pub const ALL: [State; 10] = [
        State::Initial,
        State::Starting,
        State::Closed,
        State::Stopped,
        State::Closing,
        State::Stopping,
        State::ReqSent,
        State::AckRcvd,
        State::AckSent,
        State::Opened,
    ];

    /// Whether the Restart timer runs in this state (the states with TO events, RFC 1661 §4.1).
    pub fn timer_runs(self) -> bool {
        matches!(
            self,
            State::Closing | State::Stopping | State::ReqSent | State::AckRcvd | State::AckSent
        )
    }
}

/// The events of RFC 1661 §4.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// Lower layer is Up.
    Up,
    /// Lower layer is Down.
    Down,
    /// Administrative Open.
    Open,
    /// Administrative Close.
    Close,
    /// Timeout with counter > 0.
    ToPlus,
    /// Timeout with counter expired.
    ToMinus,
    /// Receive-Configure-Request, good.
    RcrPlus,
    /// Receive-Configure-Request, bad (Nak or Reject sent).
    RcrMinus,
    /// Receive-Configure-Ack.
    Rca,
    /// Receive-Configure-Nak or Reject.
    Rcn,
    /// Receive-Terminate-Request.
    Rtr,
    /// Receive-Terminate-Ack.
    Rta,
    /// Receive-Unknown-Code.
    Ruc,
    /// Receive-Code-Reject or Protocol-Reject, permitted.
    RxjPlus,
    /// Receive-Code-Reject or Protocol-Reject, catastrophic.
    RxjMinus,
    /// Receive-Echo-Request, Echo-Reply or Discard-Request.
    Rxr,
}

impl Event {
    /// All events in RFC order.
    pub const ALL: [Event; 16] = [
        Event::Up,
        Event::Down,
        Event::Open,
        Event::Close,
        Event::ToPlus,
        Event::ToMinus,
        Event::RcrPlus,
        Event::RcrMinus,
        Event::Rca,
        Event::Rcn,
        Event::Rtr,
        Event::Rta,
        Event::Ruc,
        Event::RxjPlus,
        Event::RxjMinus,
        Event::Rxr,
    ];
}

/// The actions of RFC 1661 §4.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// This-Layer-Up.
    Tlu,
    /// This-Layer-Down.
    Tld,
    /// This-Layer-Started.
    Tls,
    /// This-Layer-Finished.
    Tlf,
    /// Initialize-Restart-Count.
    Irc,
    /// Zero-Restart-Count.
    Zrc,
    /// Send-Configure-Request.
    Scr,
    /// Send-Configure-Ack.
    Sca,
    /// Send-Configure-Nak/Rej.
    Scn,
    /// Send-Terminate-Request.
    Str,
    /// Send-Terminate-Ack.
    Sta,
    /// Send-Code-Reject.
    Scj,
    /// Send-Echo-Reply (LCP answers Echo-Requests itself; the automaton only records it).
    Ser,
}

/// The RFC 1661 §4.1 state transition table: actions in order, and the next state.
/// `None` is a "-" cell: the event cannot occur in that state and is ignored.
/// The `[p]`, `[r]` and `[x]` options of the table take their default (no extra action).
pub fn transition(state: State, event: Event) -> Option<(&'static [Action], State)> {
    use Action::*;
    use Event as E;
    use State as S;
    let r: (&'static [Action], State) = match (state, event) {
        (S::Initial, E::Up) => (&[], S::Closed),
        (S::Starting, E::Up) => (&[Irc, Scr], S::ReqSent),
        (_, E::Up) => return None,

        (S::Initial | S::Starting, E::Down) => return None,
        (S::Closed | S::Closing, E::Down) => (&[], S::Initial),
        (S::Stopped, E::Down) => (&[Tls], S::Starting),
        (S::Stopping | S::ReqSent | S::AckRcvd | S::AckSent, E::Down) => (&[], S::Starting),
        (S::Opened, E::Down) => (&[Tld], S::Starting),

        (S::Initial, E::Open) => (&[Tls], S::Starting),
        (S::Closed, E::Open) => (&[Irc, Scr], S::ReqSent),
        (S::Closing | S::Stopping, E::Open) => (&[], S::Stopping),
        (s, E::Open) => (&[], s),

        (S::Initial | S::Closed | S::Stopped, E::Close) => (&[], closed_of(state)),
        (S::Starting, E::Close) => (&[Tlf], S::Initial),
        (S::Closing | S::Stopping, E::Close) => (&[], S::Closing),
        (S::ReqSent | S::AckRcvd | S::AckSent, E::Close) => (&[Irc, Str], S::Closing),
        (S::Opened, E::Close) => (&[Tld, Irc, Str], S::Closing),

        (S::Closing | S::Stopping, E::ToPlus) => (&[Str], state),
        (S::ReqSent | S::AckRcvd, E::ToPlus) => (&[Scr], S::ReqSent),
        (S::AckSent, E::ToPlus) => (&[Scr], S::AckSent),
        (S::Closing, E::ToMinus) => (&[Tlf], S::Closed),
        (S::Stopping | S::ReqSent | S::AckRcvd | S::AckSent, E::ToMinus) => (&[Tlf], S::Stopped),
        (_, E::ToPlus | E::ToMinus) => return None,

        (S::Initial | S::Starting, _) => return None,

        (S::Closed, E::RcrPlus | E::RcrMinus | E::Rca | E::Rcn | E::Rtr) => (&[Sta], S::Closed),
        (S::Stopped, E::RcrPlus) => (&[Irc, Scr, Sca], S::AckSent),
        (S::Stopped, E::RcrMinus) => (&[Irc, Scr, Scn], S::ReqSent),
        (S::Stopped, E::Rca | E::Rcn | E::Rtr) => (&[Sta], S::Stopped),
        (S::Closing | S::Stopping, E::RcrPlus | E::RcrMinus | E::Rca | E::Rcn) => (&[], state),
        (S::Closing | S::Stopping, E::Rtr) => (&[Sta], state),

        (S::ReqSent, E::RcrPlus) => (&[Sca], S::AckSent),
        (S::AckRcvd, E::RcrPlus) => (&[Sca, Tlu], S::Opened),
        (S::AckSent, E::RcrPlus) => (&[Sca], S::AckSent),
        (S::Opened, E::RcrPlus) => (&[Tld, Scr, Sca], S::AckSent),
        (S::ReqSent | S::AckSent, E::RcrMinus) => (&[Scn], S::ReqSent),
        (S::AckRcvd, E::RcrMinus) => (&[Scn], S::AckRcvd),
        (S::Opened, E::RcrMinus) => (&[Tld, Scr, Scn], S::ReqSent),

        (S::ReqSent, E::Rca) => (&[Irc], S::AckRcvd),
        (S::AckRcvd, E::Rca | E::Rcn) => (&[Scr], S::ReqSent),
        (S::AckSent, E::Rca) => (&[Irc, Tlu], S::Opened),
        (S::Opened, E::Rca | E::Rcn) => (&[Tld, Scr], S::ReqSent),
        (S::ReqSent, E::Rcn) => (&[Irc, Scr], S::ReqSent),
        (S::AckSent, E::Rcn) => (&[Irc, Scr], S::AckSent),

        (S::ReqSent | S::AckRcvd | S::AckSent, E::Rtr) => (&[Sta], S::ReqSent),
        (S::Opened, E::Rtr) => (&[Tld, Zrc, Sta], S::Stopping),

        (S::Closed | S::Stopped, E::Rta) => (&[], state),
        (S::Closing, E::Rta) => (&[Tlf], S::Closed),
        (S::Stopping, E::Rta) => (&[Tlf], S::Stopped),
        (S::ReqSent | S::AckRcvd, E::Rta) => (&[], S::ReqSent),
        (S::AckSent, E::Rta) => (&[], S::AckSent),
        (S::Opened, E::Rta) => (&[Tld, Scr], S::ReqSent),

        (s, E::Ruc) => (&[Scj], s),
        (S::AckRcvd, E::RxjPlus) => (&[], S::ReqSent),
        (s, E::RxjPlus) => (&[], s),

        (S::Closed | S::Closing, E::RxjMinus) => (&[Tlf], S::Closed),
        (S::Stopped | S::Stopping, E::RxjMinus) => (&[Tlf], S::Stopped),
        (S::ReqSent | S::AckRcvd | S::AckSent, E::RxjMinus) => (&[Tlf], S::Stopped),
        (S::Opened, E::RxjMinus) => (&[Tld, Irc, Str], S::Stopping),

        (S::Opened, E::Rxr) => (&[Ser], S::Opened),
        (s, E::Rxr) => (&[], s),
    };
    Some(r)
}

fn closed_of(s: State) -> State {
    match s {
        State::Stopped => State::Closed,
        other => other,
    }
}

/// How the peer's Configure-Request was judged (RFC 1661 §5.1–5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// All options acceptable: send Configure-Ack (RCR+).
    Ack,
    /// Some values unacceptable: send Configure-Nak with the reply options (RCR-).
    Nak,
    /// Some options unrecognised or not negotiable: send Configure-Reject (RCR-).
    Reject,
}

/// One protocol's option handling, driven by [`Fsm`].
pub trait Options {
    /// Reset negotiated values before a new negotiation (called on This-Layer-Started and on
    /// leaving Opened).
    fn reset(&mut self);
    /// Append the options of our next Configure-Request to `out`.
    fn build_request(&mut self, out: &mut Vec<u8>);
    /// Judge the peer's Configure-Request options (`opts` is well formed). For [`Judgement::Nak`]
    /// or [`Judgement::Reject`] write the reply's options to `reply`; for `Ack` the request is
    /// echoed. `naks_exhausted` is set once Max-Failure Naks were sent: answer Reject instead of
    /// Nak (RFC 1661 §4.6).
    fn judge_request(
        &mut self,
        opts: &[u8],
        naks_exhausted: bool,
        reply: &mut Vec<u8>,
    ) -> Judgement;
    /// Our request (`ours`) was acknowledged verbatim.
    fn acked(&mut self, ours: &[u8]);
    /// The peer Nak'd our request; adjust the next one. Return `false` if the Nak is invalid
    /// (then it is discarded).
    fn naked(&mut self, opts: &[u8]) -> bool;
    /// The peer rejected these options (already checked to be ours); stop sending them.
    /// Return `false` if the Reject is invalid.
    fn rejected(&mut self, opts: &[u8]) -> bool;
}

/// A This-Layer-* notice for the session (RFC 1661 §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// This-Layer-Up: the automaton entered Opened.
    Up,
    /// This-Layer-Down: the automaton left Opened.
    Down,
    /// This-Layer-Started: the lower layer is needed.
    Started,
    /// This-Layer-Finished: the lower layer is no longer needed.
    Finished,
}

/// Output of the automata: frames to send and layer notices.
#[derive(Debug, Default)]
pub struct Out {
    /// Frames to send, Protocol field first; at most [`TX_QUEUE_CAP`].
    pub tx: VecDeque<Vec<u8>>,
    /// Layer notices, tagged with the protocol number, in the order they happened.
    pub layer: VecDeque<(u16, Layer)>,
    /// Frames dropped because `tx` was full.
    pub dropped: u64,
}

impl Out {
    /// Queue a frame, or count it as dropped when [`TX_QUEUE_CAP`] frames wait.
    pub fn send(&mut self, frame: Vec<u8>) {
        if self.tx.len() >= TX_QUEUE_CAP {
            self.dropped += 1;
        } else {
            self.tx.push_back(frame);
        }
    }
}

/// One protocol's RFC 1661 automaton.
#[derive(Debug)]
pub struct Fsm {
    protocol: u16,
    state: State,
    restart: Duration,
    restart_count: u32,
    deadline: Option<Instant>,
    /// Identifier of our last Configure-Request.
    req_id: u8,
    /// Identifier of our last Terminate-Request.
    term_id: u8,
    next_id: u8,
    /// Options of our last Configure-Request (Ack must echo them, Reject must be a subset).
    req_opts: Vec<u8>,
    naks_sent: u32,
    /// An Ack, Nak or Reject of `req_id` was processed: later copies are duplicates (pppd's
    /// `seen_ack`); a duplicated Ack in Opened would otherwise restart negotiation.
    seen_reply: bool,
    /// Max-Configure (RFC 1661 §4.6).
    pub max_configure: u32,
    /// Max-Terminate (RFC 1661 §4.6).
    pub max_terminate: u32,
    /// Max-Failure (RFC 1661 §4.6).
    pub max_failure: u32,
    /// Largest packet the peer takes (its MRU), bytes; replies are truncated to it.
    pub peer_mru: usize,
    // Scratch for the event being processed.
    reply: Vec<u8>,
    reply_code: u8,
    rx_id: u8,
    rx_raw: Vec<u8>,
    term_reason: Vec<u8>,
}

impl Fsm {
    /// A new automaton in the Initial state for `protocol`, with Restart timer `restart`.
    /// `first_id` seeds the Identifiers (pass a random value).
    pub fn new(protocol: u16, restart: Duration, first_id: u8) -> Fsm {
        Fsm {
            protocol,
            state: State::Initial,
            restart,
            restart_count: 0,
            deadline: None,
            req_id: first_id,
            term_id: first_id,
            next_id: first_id,
            req_opts: Vec::new(),
            naks_sent: 0,
            seen_reply: false,
            max_configure: MAX_CONFIGURE,
            max_terminate: MAX_TERMINATE,
            max_failure: MAX_FAILURE,
            peer_mru: usize::from(wire::DEFAULT_MRU),
            reply: Vec::new(),
            reply_code: CONF_ACK,
            rx_id: 0,
            rx_raw: Vec::new(),
            term_reason: Vec::new(),
        }
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The protocol number this automaton negotiates.
    pub fn protocol(&self) -> u16 {
        self.protocol
    }

    /// When the Restart timer fires, if it runs.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Lower layer Up.
    pub fn up<H: Options + ?Sized>(&mut self, now: Instant, h: &mut H, out: &mut Out) {
        self.naks_sent = 0;
        self.event(now, Event::Up, h, out);
    }

    /// Lower layer Down.
    pub fn down<H: Options + ?Sized>(&mut self, now: Instant, h: &mut H, out: &mut Out) {
        self.event(now, Event::Down, h, out);
    }

    /// Administrative Open.
    pub fn open<H: Options + ?Sized>(&mut self, now: Instant, h: &mut H, out: &mut Out) {
        self.naks_sent = 0;
        self.event(now, Event::Open, h, out);
    }

    /// Administrative Close; `reason` goes in the Terminate-Request's Data field.
    pub fn close<H: Options + ?Sized>(
        &mut self,
        now: Instant,
        reason: &str,
        h: &mut H,
        out: &mut Out,
    ) {
        self.term_reason.clear();
        self.term_reason.extend_from_slice(reason.as_bytes());
        self.event(now, Event::Close, h, out);
    }

    /// Run the Restart timer: TO+ or TO- if it is due at `now`.
    pub fn handle_timeout<H: Options + ?Sized>(&mut self, now: Instant, h: &mut H, out: &mut Out) {
        match self.deadline {
            Some(d) if d <= now => {
                self.deadline = None;
                let ev = if self.restart_count > 0 {
                    Event::ToPlus
                } else {
                    Event::ToMinus
                };
                self.event(now, ev, h, out);
            }
            _ => {}
        }
    }

    /// A Code-Reject or Protocol-Reject aimed at this protocol: `catastrophic` selects RXJ-.
    pub fn rxj<H: Options + ?Sized>(
        &mut self,
        now: Instant,
        catastrophic: bool,
        h: &mut H,
        out: &mut Out,
    ) {
        let ev = if catastrophic {
            Event::RxjMinus
        } else {
            Event::RxjPlus
        };
        self.event(now, ev, h, out);
    }

    /// Receive-Unknown-Code: answer with a Code-Reject carrying `info` (the whole packet).
    pub fn unknown_code<H: Options + ?Sized>(
        &mut self,
        now: Instant,
        info: &[u8],
        h: &mut H,
        out: &mut Out,
    ) {
        self.rx_raw.clear();
        self.rx_raw.extend_from_slice(info);
        self.event(now, Event::Ruc, h, out);
    }

    /// Handle a received packet of this protocol. Codes 1–7 are handled here; any other code
    /// is returned for the protocol to handle (LCP's Echo and friends), or to pass back to
    /// [`Fsm::unknown_code`]. Packets that are not valid for the current state are dropped.
    pub fn input<'p, H: Options + ?Sized>(
        &mut self,
        now: Instant,
        pkt: Packet<'p>,
        h: &mut H,
        out: &mut Out,
    ) -> Option<Packet<'p>> {
        self.rx_id = pkt.id;
        match pkt.code {
            CONF_REQ => {
                if !wire::options_well_formed(pkt.data) {
                    return None;
                }
                if matches!(self.state, State::Initial | State::Starting) {
                    return None;
                }
                if matches!(self.state, State::Closed | State::Closing | State::Stopping) {
                    // The table sends Terminate-Ack (Closed) or nothing: no judging needed.
                    self.event(now, Event::RcrPlus, h, out);
                    return None;
                }
                if self.state == State::Opened {
                    // Renegotiation: values start over (pppd does the same).
                    h.reset();
                }
                self.reply.clear();
                let j = h.judge_request(
                    pkt.data,
                    self.naks_sent >= self.max_failure,
                    &mut self.reply,
                );
                let ev = match j {
                    Judgement::Ack => {
                        self.reply.clear();
                        self.reply.extend_from_slice(pkt.data);
                        self.reply_code = CONF_ACK;
                        Event::RcrPlus
                    }
                    Judgement::Nak => {
                        self.reply_code = CONF_NAK;
                        self.naks_sent = self.naks_sent.saturating_add(1);
                        Event::RcrMinus
                    }
                    Judgement::Reject => {
                        self.reply_code = CONF_REJ;
                        Event::RcrMinus
                    }
                };
                self.event(now, ev, h, out);
            }
            CONF_ACK => {
                if pkt.id != self.req_id || self.seen_reply || pkt.data != self.req_opts.as_slice()
                {
                    return None;
                }
                self.seen_reply = true;
                if matches!(self.state, State::ReqSent | State::AckSent) {
                    let ours = std::mem::take(&mut self.req_opts);
                    h.acked(&ours);
                    self.req_opts = ours;
                }
                self.event(now, Event::Rca, h, out);
            }
            CONF_NAK | CONF_REJ => {
                if pkt.id != self.req_id || self.seen_reply || !wire::options_well_formed(pkt.data)
                {
                    return None;
                }
                let active = matches!(
                    self.state,
                    State::ReqSent | State::AckRcvd | State::AckSent | State::Opened
                );
                if active {
                    let ok = if pkt.code == CONF_NAK {
                        h.naked(pkt.data)
                    } else {
                        self.is_subset_of_request(pkt.data) && h.rejected(pkt.data)
                    };
                    if !ok {
                        return None;
                    }
                }
                self.seen_reply = true;
                self.event(now, Event::Rcn, h, out);
            }
            TERM_REQ => self.event(now, Event::Rtr, h, out),
            TERM_ACK => self.event(now, Event::Rta, h, out),
            CODE_REJ => {
                // The rejected packet's Code: rejecting anything we need is catastrophic.
                let catastrophic = matches!(pkt.data.first(), Some(1..=7) | None);
                self.rxj(now, catastrophic, h, out);
            }
            _ => return Some(pkt),
        }
        None
    }

    /// A Reject must list options of our last request, in the same order (RFC 1661 §5.4).
    fn is_subset_of_request(&self, rej: &[u8]) -> bool {
        let mut ours = wire::options(&self.req_opts).filter_map(Result::ok);
        wire::options(rej).all(|r| match r {
            Ok(r) => ours.any(|o| o.raw == r.raw),
            Err(()) => false,
        })
    }

    /// Feed one event through the table and run its actions.
    pub fn event<H: Options + ?Sized>(
        &mut self,
        now: Instant,
        ev: Event,
        h: &mut H,
        out: &mut Out,
    ) {
        let Some((actions, next)) = transition(self.state, ev) else {
            return;
        };
        let terminating = actions.contains(&Action::Str);
        for a in actions {
            match a {
                Action::Tlu => out.layer.push_back((self.protocol, Layer::Up)),
                Action::Tld => {
                    self.naks_sent = 0;
                    out.layer.push_back((self.protocol, Layer::Down));
                }
                Action::Tls => {
                    h.reset();
                    out.layer.push_back((self.protocol, Layer::Started));
                }
                Action::Tlf => out.layer.push_back((self.protocol, Layer::Finished)),
                Action::Irc => {
                    self.restart_count = if terminating {
                        self.max_terminate
                    } else {
                        self.max_configure
                    }
                }
                Action::Zrc => {
                    self.restart_count = 0;
                    self.deadline = Some(now + self.restart);
                }
                Action::Scr => self.send_conf_req(now, h, out),
                Action::Sca | Action::Scn => {
                    let code = if *a == Action::Sca {
                        CONF_ACK
                    } else {
                        self.reply_code
                    };
                    out.send(wire::control_frame(
                        self.protocol,
                        code,
                        self.rx_id,
                        &self.reply,
                        self.peer_mru,
                    ));
                }
                Action::Str => {
                    self.term_id = self.bump_id();
                    out.send(wire::control_frame(
                        self.protocol,
                        TERM_REQ,
                        self.term_id,
                        &self.term_reason,
                        self.peer_mru,
                    ));
                    self.restart_count = self.restart_count.saturating_sub(1);
                    self.deadline = Some(now + self.restart);
                }
                Action::Sta => out.send(wire::control_frame(
                    self.protocol,
                    TERM_ACK,
                    self.rx_id,
                    &[],
                    self.peer_mru,
                )),
                Action::Scj => {
                    let id = self.bump_id();
                    out.send(wire::control_frame(
                        self.protocol,
                        CODE_REJ,
                        id,
                        &self.rx_raw,
                        self.peer_mru,
                    ));
                }
                Action::Ser => {}
            }
        }
        self.state = next;
        if !next.timer_runs() {
            self.deadline = None;
        }
        self.rx_raw.clear();
    }

    fn bump_id(&mut self) -> u8 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    fn send_conf_req<H: Options + ?Sized>(&mut self, now: Instant, h: &mut H, out: &mut Out) {
        self.req_opts.clear();
        h.build_request(&mut self.req_opts);
        self.req_id = self.bump_id();
        self.seen_reply = false;
        out.send(wire::control_frame(
            self.protocol,
            CONF_REQ,
            self.req_id,
            &self.req_opts,
            self.peer_mru,
        ));
        self.restart_count = self.restart_count.saturating_sub(1);
        self.deadline = Some(now + self.restart);
    }

    /// Take a fresh Identifier for a packet the protocol sends itself (Echo-Request...).
    pub fn next_identifier(&mut self) -> u8 {
        self.bump_id()
    }
}
