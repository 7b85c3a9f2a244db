//! CHAP (RFC 1994) with MD5, and MS-CHAPv2 (RFC 2759) packet formats, both roles.
//!
//! Challenge (1) / Response (2): Value-Size, Value, Name. Success (3) / Failure (4): Message.
//! MS-CHAPv2 Response Value (49 bytes): Peer-Challenge (16), Reserved (8, zero),
//! NT-Response (24), Flags (1, zero). MS-CHAPv2 Success message: `S=<40 hex> M=<text>`;
//! Failure message: `E=691 R=0 C=<32 hex> V=3 M=<text>` (RFC 2759 §5–6).
//! The authenticator retransmits its Challenge every Restart interval until answered; the
//! peer answers every Challenge (the same Response again for a repeated Identifier), and
//! repeats its Response every Restart interval until Success or Failure arrives, so that a
//! lost Success is recovered: the authenticator (ours, and pppd's) answers a repeated Response
//! with its earlier answer.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::RngCore;

use crate::auth::{chap_md5, mschapv2_glue, printable, AuthMethod, AuthRequest, Outcome, Verdict};
use crate::fsm::Out;
use crate::wire::{self, Packet, PROTO_CHAP};

const CHALLENGE: u8 = 1;
const RESPONSE: u8 = 2;
const SUCCESS: u8 = 3;
const FAILURE: u8 = 4;
/// Length of an MS-CHAPv2 Response Value, bytes (RFC 2759 §4).
pub const MSCHAPV2_RESPONSE_LEN: usize = 49;

/// Parse Challenge/Response data into (Value, Name).
pub fn parse_value_name(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let n = usize::from(*data.first()?);
    let value = data.get(1..1 + n)?;
    let name = data.get(1 + n..)?;
    Some((value, name))
}

fn value_name(value: &[u8], name: &[u8]) -> Vec<u8> {
    let name = name.get(..200).unwrap_or(name);
    let mut d = Vec::with_capacity(1 + value.len() + name.len());
    d.push(value.len() as u8);
    d.extend_from_slice(value);
    d.extend_from_slice(name);
    d
}

fn hex_upper(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02X}");
    }
    s
}

/// The MS-CHAPv2 Success message: `<authenticator response> M=<message>` (RFC 2759 §5).
pub fn mschapv2_success_message(authenticator_response: &str, message: &str) -> String {
    format!("{authenticator_response} M={message}")
}

/// The MS-CHAPv2 Failure message for a bad password (error 691, no retry, RFC 2759 §6):
/// `E=691 R=0 C=<challenge, 32 upper-case hex> V=3 M=<message>`.
pub fn mschapv2_failure_message(challenge: &[u8; 16], message: &str) -> String {
    format!("E=691 R=0 C={} V=3 M={message}", hex_upper(challenge))
}

#[derive(Debug)]
enum ServerState {
    Challenging { tries_left: u32 },
    Pending { username: Vec<u8> },
    Done { code: u8, message: Vec<u8> },
}

/// The authenticator side.
#[derive(Debug)]
pub(crate) struct ChapServer {
    method: AuthMethod,
    id: u8,
    challenge: [u8; 16],
    name: Vec<u8>,
    state: ServerState,
    restart: Duration,
    deadline: Option<Instant>,
    mru: usize,
}

impl ChapServer {
    pub fn new(
        method: AuthMethod,
        rng: &mut SmallRng,
        name: &str,
        restart: Duration,
        tries: u32,
        mru: usize,
    ) -> Self {
        let mut challenge = [0u8; 16];
        rng.fill_bytes(&mut challenge);
        ChapServer {
            method,
            id: rng.next_u32() as u8,
            challenge,
            name: name.as_bytes().to_vec(),
            state: ServerState::Challenging { tries_left: tries },
            restart,
            deadline: None,
            mru,
        }
    }

    pub fn start(&mut self, now: Instant, out: &mut Out) {
        self.send_challenge(now, out);
    }

    fn send_challenge(&mut self, now: Instant, out: &mut Out) {
        if let ServerState::Challenging { tries_left } = &mut self.state {
            *tries_left = tries_left.saturating_sub(1);
        }
        out.send(wire::control_frame(
            PROTO_CHAP,
            CHALLENGE,
            self.id,
            &value_name(&self.challenge, &self.name),
            self.mru,
        ));
        self.deadline = Some(now + self.restart);
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub fn timeout(&mut self, now: Instant, out: &mut Out) -> Option<Outcome> {
        match (self.deadline, &self.state) {
            (Some(d), ServerState::Challenging { tries_left }) if d <= now => {
                if *tries_left == 0 {
                    self.deadline = None;
                    self.state = ServerState::Done {
                        code: FAILURE,
                        message: Vec::new(),
                    };
                    return Some(Outcome::Failure {
                        username: Vec::new(),
                        message: "no answer to CHAP Challenge".into(),
                    });
                }
                self.send_challenge(now, out);
                None
            }
            _ => None,
        }
    }

    pub fn input(&mut self, pkt: Packet<'_>, out: &mut Out) -> Option<Outcome> {
        if pkt.code != RESPONSE || pkt.id != self.id {
            return None;
        }
        let (value, name) = parse_value_name(pkt.data)?;
        match &self.state {
            ServerState::Challenging { .. } => {
                let req = match self.method {
                    AuthMethod::MsChapV2 => {
                        if value.len() != MSCHAPV2_RESPONSE_LEN {
                            return None;
                        }
                        let peer_challenge: [u8; 16] = value.get(..16)?.try_into().ok()?;
                        let nt_response: [u8; 24] = value.get(24..48)?.try_into().ok()?;
                        AuthRequest::MsChapV2 {
                            username: name.to_vec(),
                            auth_challenge: self.challenge,
                            peer_challenge,
                            nt_response,
                        }
                    }
                    _ => AuthRequest::ChapMd5 {
                        username: name.to_vec(),
                        id: pkt.id,
                        challenge: self.challenge.to_vec(),
                        response: value.to_vec(),
                    },
                };
                self.deadline = None;
                self.state = ServerState::Pending {
                    username: name.to_vec(),
                };
                Some(Outcome::Check(req))
            }
            ServerState::Pending { .. } => None,
            ServerState::Done { code, message } => {
                // The peer missed our answer: repeat it (RFC 1994 §4.2).
                out.send(wire::control_frame(
                    PROTO_CHAP, *code, self.id, message, self.mru,
                ));
                None
            }
        }
    }

    pub fn verdict(&mut self, v: &Verdict, out: &mut Out) -> Option<Outcome> {
        let ServerState::Pending { username } = &self.state else {
            return None;
        };
        let username = username.clone();
        let ms = self.method == AuthMethod::MsChapV2;
        let (code, message, outcome) = match v {
            Verdict::Accept {
                ms_chap_v2_authenticator_response: Some(s),
                message,
            } if ms => (
                SUCCESS,
                mschapv2_success_message(s, message),
                Outcome::Success {
                    username: username.clone(),
                },
            ),
            Verdict::Accept { message, .. } if !ms => (
                SUCCESS,
                message.clone(),
                Outcome::Success {
                    username: username.clone(),
                },
            ),
            Verdict::Accept { .. } => {
                let m = "no MS-CHAPv2 authenticator response from the credential check";
                (
                    FAILURE,
                    mschapv2_failure_message(&self.challenge, m),
                    Outcome::Failure {
                        username: username.clone(),
                        message: m.into(),
                    },
                )
            }
            Verdict::Reject { message } => (
                FAILURE,
                if ms {
                    mschapv2_failure_message(&self.challenge, message)
                } else {
                    message.clone()
                },
                Outcome::Failure {
                    username: username.clone(),
                    message: message.clone(),
                },
            ),
        };
        out.send(wire::control_frame(
            PROTO_CHAP,
            code,
            self.id,
            message.as_bytes(),
            self.mru,
        ));
        self.state = ServerState::Done {
            code,
            message: message.into_bytes(),
        };
        Some(outcome)
    }
}

/// The peer side: answers Challenges with the configured credentials.
#[derive(Debug)]
pub(crate) struct ChapClient {
    method: AuthMethod,
    username: String,
    password: String,
    /// Identifier and Response frame of the last answer, repeated for a repeated Challenge.
    last: Option<(u8, Vec<u8>)>,
    /// MS-CHAPv2: the Authenticator Response the Success message must carry.
    expect_s: Option<String>,
    peer_challenge: [u8; 16],
    deadline: Option<Instant>,
    restart: Duration,
    retransmit_at: Option<Instant>,
    done: bool,
    mru: usize,
}

impl ChapClient {
    pub fn new(
        method: AuthMethod,
        (username, password): (&str, &str),
        rng: &mut SmallRng,
        now: Instant,
        restart: Duration,
        wait: Duration,
        mru: usize,
    ) -> Self {
        let mut peer_challenge = [0u8; 16];
        rng.fill_bytes(&mut peer_challenge);
        ChapClient {
            method,
            username: username.into(),
            password: password.into(),
            last: None,
            expect_s: None,
            peer_challenge,
            deadline: Some(now + wait),
            restart,
            retransmit_at: None,
            done: false,
            mru,
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        match (self.deadline, self.retransmit_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn timeout(&mut self, now: Instant, out: &mut Out) -> Option<Outcome> {
        if let (Some(t), Some((_, frame)), false) = (self.retransmit_at, &self.last, self.done) {
            if t <= now {
                out.send(frame.clone());
                self.retransmit_at = Some(now + self.restart);
            }
        }
        match self.deadline {
            Some(d) if d <= now && !self.done => {
                self.deadline = None;
                self.done = true;
                self.retransmit_at = None;
                Some(Outcome::Failure {
                    username: self.username.clone().into_bytes(),
                    message: "no CHAP Success or Failure received".into(),
                })
            }
            _ => None,
        }
    }

    pub fn input(&mut self, now: Instant, pkt: Packet<'_>, out: &mut Out) -> Option<Outcome> {
        if self.done {
            return None;
        }
        match pkt.code {
            CHALLENGE => {
                if let Some((id, frame)) = &self.last {
                    if *id == pkt.id {
                        out.send(frame.clone());
                        return None;
                    }
                }
                let (value, _name) = parse_value_name(pkt.data)?;
                let user = self.username.as_bytes();
                let resp_value: Vec<u8> = match self.method {
                    AuthMethod::MsChapV2 => {
                        let auth_challenge: [u8; 16] = value.try_into().ok()?;
                        let (nt, s) = mschapv2_glue::respond(
                            &auth_challenge,
                            &self.peer_challenge,
                            user,
                            &self.password,
                        );
                        self.expect_s = Some(s);
                        let mut v = Vec::with_capacity(MSCHAPV2_RESPONSE_LEN);
                        v.extend_from_slice(&self.peer_challenge);
                        v.extend_from_slice(&[0u8; 8]);
                        v.extend_from_slice(&nt);
                        v.push(0);
                        v
                    }
                    _ => chap_md5(pkt.id, self.password.as_bytes(), value).to_vec(),
                };
                let frame = wire::control_frame(
                    PROTO_CHAP,
                    RESPONSE,
                    pkt.id,
                    &value_name(&resp_value, user),
                    self.mru,
                );
                out.send(frame.clone());
                self.last = Some((pkt.id, frame));
                self.retransmit_at = Some(now + self.restart);
                None
            }
            SUCCESS | FAILURE => {
                if self.last.as_ref().map(|l| l.0) != Some(pkt.id) {
                    return None;
                }
                self.done = true;
                self.deadline = None;
                self.retransmit_at = None;
                let username = self.username.clone().into_bytes();
                if pkt.code == FAILURE {
                    return Some(Outcome::Failure {
                        username,
                        message: printable(pkt.data),
                    });
                }
                if let Some(s) = &self.expect_s {
                    // Mutual authentication: the authenticator must prove it knows the password.
                    let got = pkt.data.get(..s.len());
                    if !got.is_some_and(|g| crate::auth::ct_eq(g, s.as_bytes())) {
                        return Some(Outcome::Failure {
                            username,
                            message: "MS-CHAPv2 Success with a wrong authenticator response".into(),
                        });
                    }
                }
                Some(Outcome::Success { username })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn mschapv2_messages() {
        let c = [0xabu8; 16];
        assert_eq!(
            mschapv2_failure_message(&c, "bad"),
            format!("E=691 R=0 C={} V=3 M=bad", "AB".repeat(16))
        );
        let s = format!("S={}", "0123456789ABCDEF0123456789ABCDEF01234567");
        assert_eq!(mschapv2_success_message(&s, "hi"), format!("{s} M=hi"));
    }

    #[test]
    fn mschapv2_response_layout_and_request() {
        let t0 = Instant::now();
        let mut rng = SmallRng::seed_from_u64(1);
        let mut out = Out::default();
        let mut srv = ChapServer::new(
            AuthMethod::MsChapV2,
            &mut rng,
            "lns",
            Duration::from_secs(3),
            10,
            1500,
        );
        let mut cli = ChapClient::new(
            AuthMethod::MsChapV2,
            ("alice", "pw"),
            &mut rng,
            t0,
            Duration::from_secs(3),
            Duration::from_secs(30),
            1500,
        );
        srv.start(t0, &mut out);
        let ch = out.tx.pop_front().unwrap();
        assert_eq!(&ch[..3], &[0xc2, 0x23, CHALLENGE]);
        assert_eq!(ch[6], 16, "MS-CHAPv2 challenge is 16 bytes");
        assert_eq!(&ch[23..], b"lns");
        assert_eq!(
            cli.input(t0, Packet::parse(&ch[2..]).unwrap(), &mut out),
            None
        );
        let resp = out.tx.pop_front().unwrap();
        assert_eq!(resp[2], RESPONSE);
        assert_eq!(resp[3], ch[3], "Response echoes the Challenge Identifier");
        assert_eq!(usize::from(resp[6]), MSCHAPV2_RESPONSE_LEN);
        assert_eq!(&resp[7 + 16..7 + 24], &[0u8; 8], "reserved bytes zero");
        assert_eq!(resp[7 + 48], 0, "flags zero");
        assert_eq!(&resp[7 + 49..], b"alice");
        match srv.input(Packet::parse(&resp[2..]).unwrap(), &mut out) {
            Some(Outcome::Check(AuthRequest::MsChapV2 {
                username,
                auth_challenge,
                peer_challenge,
                nt_response,
            })) => {
                assert_eq!(username, b"alice");
                assert_eq!(&auth_challenge[..], &ch[7..23]);
                assert_eq!(&peer_challenge[..], &resp[7..23]);
                assert_eq!(&nt_response[..], &resp[31..55]);
            }
            other => panic!("expected an MS-CHAPv2 check, got {other:?}"),
        }
        // Reject: Failure with E=691 and the challenge.
        let o = srv.verdict(
            &Verdict::Reject {
                message: "no".into(),
            },
            &mut out,
        );
        assert!(matches!(o, Some(Outcome::Failure { .. })));
        let f = out.tx.pop_front().unwrap();
        assert_eq!(f[2], FAILURE);
        let text = std::str::from_utf8(&f[6..]).unwrap();
        assert!(
            text.starts_with("E=691 R=0 C=") && text.ends_with(" V=3 M=no"),
            "{text}"
        );
        match cli.input(t0, Packet::parse(&f[2..]).unwrap(), &mut out) {
            Some(Outcome::Failure { message, .. }) => assert!(message.starts_with("E=691")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn md5_server_repeats_challenge_and_answer() {
        let t0 = Instant::now();
        let mut rng = SmallRng::seed_from_u64(2);
        let mut out = Out::default();
        let mut srv = ChapServer::new(
            AuthMethod::ChapMd5,
            &mut rng,
            "lns",
            Duration::from_secs(3),
            2,
            1500,
        );
        srv.start(t0, &mut out);
        assert_eq!(srv.timeout(t0 + Duration::from_secs(3), &mut out), None);
        assert_eq!(out.tx.len(), 2);
        assert_eq!(out.tx[0], out.tx[1], "retransmitted Challenge is identical");
        assert!(matches!(
            srv.timeout(t0 + Duration::from_secs(6), &mut out),
            Some(Outcome::Failure { .. })
        ));
    }
}
