//! PAP, the Password Authentication Protocol (RFC 1334 §2), both roles.
//!
//! Authenticate-Request (1): Peer-ID Length, Peer-ID, Passwd-Length, Password.
//! Authenticate-Ack (2) / Authenticate-Nak (3): Msg-Length, Message.
//! The peer retransmits its request every Restart interval (a new Identifier each time, as
//! pppd does); the authenticator answers duplicates with its earlier answer.

use std::time::{Duration, Instant};

use crate::auth::{printable, AuthRequest, Outcome, Verdict};
use crate::fsm::Out;
use crate::wire::{self, Packet, PROTO_PAP};

const AUTH_REQ: u8 = 1;
const AUTH_ACK: u8 = 2;
const AUTH_NAK: u8 = 3;

/// Parse an Authenticate-Request's data into (Peer-ID, Password).
pub fn parse_request(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let ulen = usize::from(*data.first()?);
    let user = data.get(1..1 + ulen)?;
    let plen = usize::from(*data.get(1 + ulen)?);
    let pass = data.get(2 + ulen..2 + ulen + plen)?;
    Some((user, pass))
}

fn msg_data(msg: &[u8]) -> Vec<u8> {
    let msg = msg.get(..255).unwrap_or(msg);
    let mut d = Vec::with_capacity(1 + msg.len());
    d.push(msg.len() as u8);
    d.extend_from_slice(msg);
    d
}

#[derive(Debug)]
enum ServerState {
    Waiting,
    Pending { id: u8, username: Vec<u8> },
    Done { code: u8, message: String },
}

/// The authenticator side: waits for a request, hands it to the runtime, answers.
#[derive(Debug)]
pub(crate) struct PapServer {
    state: ServerState,
    deadline: Option<Instant>,
    mru: usize,
}

impl PapServer {
    /// Wait up to `wait` for the peer's request.
    pub fn new(now: Instant, wait: Duration, mru: usize) -> Self {
        PapServer {
            state: ServerState::Waiting,
            deadline: Some(now + wait),
            mru,
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub fn timeout(&mut self, now: Instant) -> Option<Outcome> {
        match self.deadline {
            Some(d) if d <= now => {
                self.deadline = None;
                self.state = ServerState::Done {
                    code: AUTH_NAK,
                    message: String::new(),
                };
                Some(Outcome::Failure {
                    username: Vec::new(),
                    message: "no PAP Authenticate-Request received".into(),
                })
            }
            _ => None,
        }
    }

    pub fn input(&mut self, pkt: Packet<'_>, out: &mut Out) -> Option<Outcome> {
        if pkt.code != AUTH_REQ {
            return None;
        }
        let (user, pass) = parse_request(pkt.data)?;
        match &self.state {
            ServerState::Waiting => {
                self.deadline = None;
                self.state = ServerState::Pending {
                    id: pkt.id,
                    username: user.to_vec(),
                };
                Some(Outcome::Check(AuthRequest::Pap {
                    username: user.to_vec(),
                    password: pass.to_vec(),
                }))
            }
            // A retransmission while the runtime decides: the answer will go out once.
            ServerState::Pending { .. } => None,
            ServerState::Done { code, message } => {
                out.send(wire::control_frame(
                    PROTO_PAP,
                    *code,
                    pkt.id,
                    &msg_data(message.as_bytes()),
                    self.mru,
                ));
                None
            }
        }
    }

    pub fn verdict(&mut self, v: &Verdict, out: &mut Out) -> Option<Outcome> {
        let ServerState::Pending { id, username } = &self.state else {
            return None;
        };
        let (id, username) = (*id, username.clone());
        let (code, message, outcome) = match v {
            Verdict::Accept { message, .. } => (
                AUTH_ACK,
                message.clone(),
                Outcome::Success {
                    username: username.clone(),
                },
            ),
            Verdict::Reject { message } => (
                AUTH_NAK,
                message.clone(),
                Outcome::Failure {
                    username: username.clone(),
                    message: message.clone(),
                },
            ),
        };
        out.send(wire::control_frame(
            PROTO_PAP,
            code,
            id,
            &msg_data(message.as_bytes()),
            self.mru,
        ));
        self.state = ServerState::Done { code, message };
        Some(outcome)
    }
}

/// The peer side: sends the request until answered or Max-Configure tries are spent.
#[derive(Debug)]
pub(crate) struct PapClient {
    username: Vec<u8>,
    request: Vec<u8>,
    id: u8,
    tries_left: u32,
    restart: Duration,
    deadline: Option<Instant>,
    done: bool,
    mru: usize,
}

impl PapClient {
    pub fn new(
        username: &str,
        password: &str,
        first_id: u8,
        restart: Duration,
        tries: u32,
        mru: usize,
    ) -> Self {
        let u = username.as_bytes();
        let p = password.as_bytes();
        let u = u.get(..255).unwrap_or(u);
        let p = p.get(..255).unwrap_or(p);
        let mut request = Vec::with_capacity(2 + u.len() + p.len());
        request.push(u.len() as u8);
        request.extend_from_slice(u);
        request.push(p.len() as u8);
        request.extend_from_slice(p);
        PapClient {
            username: u.to_vec(),
            request,
            id: first_id,
            tries_left: tries,
            restart,
            deadline: None,
            done: false,
            mru,
        }
    }

    pub fn start(&mut self, now: Instant, out: &mut Out) {
        self.send(now, out);
    }

    fn send(&mut self, now: Instant, out: &mut Out) {
        self.id = self.id.wrapping_add(1);
        self.tries_left = self.tries_left.saturating_sub(1);
        out.send(wire::control_frame(
            PROTO_PAP,
            AUTH_REQ,
            self.id,
            &self.request,
            self.mru,
        ));
        self.deadline = Some(now + self.restart);
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub fn timeout(&mut self, now: Instant, out: &mut Out) -> Option<Outcome> {
        match self.deadline {
            Some(d) if d <= now && !self.done => {
                if self.tries_left == 0 {
                    self.deadline = None;
                    self.done = true;
                    return Some(Outcome::Failure {
                        username: self.username.clone(),
                        message: "no answer to PAP Authenticate-Request".into(),
                    });
                }
                self.send(now, out);
                None
            }
            _ => None,
        }
    }

    pub fn input(&mut self, pkt: Packet<'_>) -> Option<Outcome> {
        if self.done || !matches!(pkt.code, AUTH_ACK | AUTH_NAK) {
            return None;
        }
        let len = usize::from(*pkt.data.first().unwrap_or(&0));
        let msg = pkt.data.get(1..1 + len).unwrap_or(&[]);
        self.done = true;
        self.deadline = None;
        let username = self.username.clone();
        Some(if pkt.code == AUTH_ACK {
            Outcome::Success { username }
        } else {
            Outcome::Failure {
                username,
                message: printable(msg),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_parse_rejects_short_fields() {
        assert_eq!(
            parse_request(&[1, b'u', 2, b'p', b'w']),
            Some((&b"u"[..], &b"pw"[..]))
        );
        assert_eq!(parse_request(&[5, b'u']), None);
        assert_eq!(parse_request(&[1, b'u', 3, b'p']), None);
        assert_eq!(parse_request(&[]), None);
    }

    #[test]
    fn client_retransmits_with_new_ids_then_gives_up() {
        let t0 = Instant::now();
        let mut out = Out::default();
        let mut c = PapClient::new("u", "p", 0, Duration::from_secs(3), 3, 1500);
        c.start(t0, &mut out);
        let mut t = t0;
        for _ in 0..2 {
            t += Duration::from_secs(3);
            assert_eq!(c.timeout(t, &mut out), None);
        }
        let ids: Vec<u8> = out.tx.iter().map(|f| f[3]).collect();
        assert_eq!(ids, vec![1, 2, 3]);
        t += Duration::from_secs(3);
        assert!(matches!(
            c.timeout(t, &mut out),
            Some(Outcome::Failure { .. })
        ));
    }
}
