//! The automaton's transition table against the text of RFC 1661 §4.1, parsed cell by cell,
//! and the Restart counter behaviour of RFC 1661 §4.6 (Max-Configure, Max-Terminate).

use std::time::{Duration, Instant};

use l2tp_ppp::fsm::{self, transition, Action, Event, Fsm, Judgement, Layer, Options, Out, State};

/// RFC 1661 §4.1, as printed (pages 12–13).
const RFC_TABLE: &str = "
      | State
      |    0         1         2         3         4         5
Events| Initial   Starting  Closed    Stopped   Closing   Stopping
------+-----------------------------------------------------------
 Up   |    2     irc,scr/6     -         -         -         -
 Down |    -         -         0       tls/1       0         1
 Open |  tls/1       1     irc,scr/6     3r        5r        5r
 Close|    0       tlf/0       2         2         4         4
  TO+ |    -         -         -         -       str/4     str/5
  TO- |    -         -         -         -       tlf/2     tlf/3
 RCR+ |    -         -       sta/2 irc,scr,sca/8   4         5
 RCR- |    -         -       sta/2 irc,scr,scn/6   4         5
 RCA  |    -         -       sta/2     sta/3       4         5
 RCN  |    -         -       sta/2     sta/3       4         5
 RTR  |    -         -       sta/2     sta/3     sta/4     sta/5
 RTA  |    -         -         2         3       tlf/2     tlf/3
 RUC  |    -         -       scj/2     scj/3     scj/4     scj/5
 RXJ+ |    -         -         2         3         4         5
 RXJ- |    -         -       tlf/2     tlf/3     tlf/2     tlf/3
 RXR  |    -         -         2         3         4         5

      | State
      |    6         7         8           9
Events| Req-Sent  Ack-Rcvd  Ack-Sent    Opened
------+-----------------------------------------
 Up   |    -         -         -           -
 Down |    1         1         1         tld/1
 Open |    6         7         8           9r
 Close|irc,str/4 irc,str/4 irc,str/4 tld,irc,str/4
  TO+ |  scr/6     scr/6     scr/8         -
  TO- |  tlf/3p    tlf/3p    tlf/3p        -
 RCR+ |  sca/8   sca,tlu/9   sca/8   tld,scr,sca/8
 RCR- |  scn/6     scn/7     scn/6   tld,scr,scn/6
 RCA  |  irc/7     scr/6x  irc,tlu/9   tld,scr/6x
 RCN  |irc,scr/6   scr/6x  irc,scr/8   tld,scr/6x
 RTR  |  sta/6     sta/6     sta/6   tld,zrc,sta/5
 RTA  |    6         6         8       tld,scr/6
 RUC  |  scj/6     scj/7     scj/8       scj/9
 RXJ+ |    6         6         8           9
 RXJ- |  tlf/3     tlf/3     tlf/3   tld,irc,str/5
 RXR  |    6         7         8         ser/9
";

fn event(name: &str) -> Event {
    let i = [
        "Up", "Down", "Open", "Close", "TO+", "TO-", "RCR+", "RCR-", "RCA", "RCN", "RTR", "RTA",
        "RUC", "RXJ+", "RXJ-", "RXR",
    ]
    .iter()
    .position(|n| *n == name)
    .unwrap_or_else(|| panic!("unknown event {name}"));
    Event::ALL[i]
}

fn action(name: &str) -> Action {
    match name {
        "tlu" => Action::Tlu,
        "tld" => Action::Tld,
        "tls" => Action::Tls,
        "tlf" => Action::Tlf,
        "irc" => Action::Irc,
        "zrc" => Action::Zrc,
        "scr" => Action::Scr,
        "sca" => Action::Sca,
        "scn" => Action::Scn,
        "str" => Action::Str,
        "sta" => Action::Sta,
        "scj" => Action::Scj,
        "ser" => Action::Ser,
        other => panic!("unknown action {other}"),
    }
}

/// Parse a cell: "-" or "[actions/]state[p|r|x]".
fn cell(text: &str) -> Option<(Vec<Action>, State)> {
    if text == "-" {
        return None;
    }
    let (acts, st) = match text.split_once('/') {
        Some((a, s)) => (a.split(',').map(action).collect(), s),
        None => (Vec::new(), text),
    };
    let digit = st
        .chars()
        .next()
        .and_then(|c| c.to_digit(10))
        .expect("state digit");
    Some((acts, State::ALL[digit as usize]))
}

#[test]
fn transition_table_matches_rfc1661_section_4_1() {
    let mut checked = 0;
    let mut states: Vec<usize> = Vec::new();
    for line in RFC_TABLE.lines() {
        let Some((head, rest)) = line.split_once('|') else {
            continue;
        };
        let head = head.trim();
        if head.is_empty() {
            let nums: Vec<usize> = rest
                .split_whitespace()
                .filter_map(|s| s.parse().ok())
                .collect();
            if !nums.is_empty() {
                states = nums;
            }
            continue;
        }
        if head == "Events" {
            continue;
        }
        let ev = event(head);
        let cells: Vec<&str> = rest.split_whitespace().collect();
        assert_eq!(cells.len(), states.len(), "row {head}");
        for (s, c) in states.iter().zip(cells) {
            let state = State::ALL[*s];
            let want = cell(c);
            let got = transition(state, ev).map(|(a, n)| (a.to_vec(), n));
            assert_eq!(got, want, "state {state:?} event {ev:?} (RFC cell {c})");
            checked += 1;
        }
    }
    assert_eq!(checked, 160, "all 10 x 16 cells");
}

/// Options that ask for nothing and accept everything.
struct Nothing;
impl Options for Nothing {
    fn reset(&mut self) {}
    fn build_request(&mut self, _: &mut Vec<u8>) {}
    fn judge_request(&mut self, _: &[u8], _: bool, _: &mut Vec<u8>) -> Judgement {
        Judgement::Ack
    }
    fn acked(&mut self, _: &[u8]) {}
    fn naked(&mut self, _: &[u8]) -> bool {
        true
    }
    fn rejected(&mut self, _: &[u8]) -> bool {
        true
    }
}

#[test]
fn max_configure_requests_then_finished() {
    let t0 = Instant::now();
    let restart = Duration::from_secs(3);
    let mut f = Fsm::new(0xc021, restart, 0);
    let mut out = Out::default();
    f.up(t0, &mut Nothing, &mut out);
    f.open(t0, &mut Nothing, &mut out);
    let mut now = t0;
    while let Some(d) = f.deadline() {
        assert!(d > now, "timer moves forward");
        now = d;
        f.handle_timeout(now, &mut Nothing, &mut out);
    }
    let reqs: Vec<_> = out.tx.iter().filter(|p| p[2] == fsm::CONF_REQ).collect();
    assert_eq!(reqs.len(), fsm::MAX_CONFIGURE as usize);
    let ids: std::collections::HashSet<u8> = reqs.iter().map(|p| p[3]).collect();
    assert_eq!(
        ids.len(),
        reqs.len(),
        "a new Identifier per Configure-Request"
    );
    assert_eq!(f.state(), State::Stopped);
    assert_eq!(now - t0, restart * fsm::MAX_CONFIGURE);
    assert_eq!(out.layer.back(), Some(&(0xc021, Layer::Finished)));
}

#[test]
fn max_terminate_requests_then_closed() {
    let t0 = Instant::now();
    let mut f = Fsm::new(0xc021, Duration::from_secs(1), 0);
    let mut out = Out::default();
    f.up(t0, &mut Nothing, &mut out);
    f.open(t0, &mut Nothing, &mut out);
    f.close(t0, "bye", &mut Nothing, &mut out);
    assert_eq!(f.state(), State::Closing);
    while let Some(d) = f.deadline() {
        f.handle_timeout(d, &mut Nothing, &mut out);
    }
    let terms: Vec<_> = out.tx.iter().filter(|p| p[2] == fsm::TERM_REQ).collect();
    assert_eq!(terms.len(), fsm::MAX_TERMINATE as usize);
    assert_eq!(&terms[0][6..], b"bye");
    assert_eq!(f.state(), State::Closed);
}

#[test]
fn unknown_code_is_code_rejected_and_ack_with_wrong_id_ignored() {
    let t0 = Instant::now();
    let mut f = Fsm::new(0x8021, Duration::from_secs(3), 7);
    let mut out = Out::default();
    f.up(t0, &mut Nothing, &mut out);
    f.open(t0, &mut Nothing, &mut out);
    let req = out.tx.pop_front().unwrap();
    let id = req[3];
    // Configure-Ack with another Identifier: discarded (RFC 1661 §5.2).
    let bad = [2, id.wrapping_add(1), 0, 4];
    let pkt = l2tp_ppp::wire::Packet::parse(&bad).unwrap();
    assert!(f.input(t0, pkt, &mut Nothing, &mut out).is_none());
    assert_eq!(f.state(), State::ReqSent);
    let good = [2, id, 0, 4];
    f.input(
        t0,
        l2tp_ppp::wire::Packet::parse(&good).unwrap(),
        &mut Nothing,
        &mut out,
    );
    assert_eq!(f.state(), State::AckRcvd);
    let odd = [42u8, 9, 0, 6, 0xaa, 0xbb];
    let rest = f.input(
        t0,
        l2tp_ppp::wire::Packet::parse(&odd).unwrap(),
        &mut Nothing,
        &mut out,
    );
    assert!(rest.is_some(), "codes above 7 go back to the protocol");
    f.unknown_code(t0, &odd, &mut Nothing, &mut out);
    let rej = out.tx.pop_front().unwrap();
    assert_eq!(rej[2], fsm::CODE_REJ);
    assert_eq!(&rej[6..], &odd, "Code-Reject carries the rejected packet");
    assert_eq!(f.state(), State::AckRcvd);
}
