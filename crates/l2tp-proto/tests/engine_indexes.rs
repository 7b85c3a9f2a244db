//! The endpoint's indexes: per-operation work does not grow with the number of tunnels and
//! sessions, and the indexes always agree with a walk of the tables they index.
//!
//! Work is counted, not timed: `Endpoint::scan_steps` counts every table entry a whole-table
//! walk visits and every ID allocation probe. An index that went back to a walk (tie breaker
//! over all tunnels, peer session ID over all sessions of a tunnel) costs a step per tunnel or
//! session on every operation, and the bounds below fail by orders of magnitude.

#[path = "sim_harness.rs"]
mod sim;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use l2tp_proto::endpoint::{
    DownReason, Endpoint, EndpointConfig, Event, SessionConfig, SessionId, TunnelConfig, TunnelId,
};
use l2tp_proto::wire::{
    pw_type, result, AvpValue, ControlMessage, Encap, MessageType, ResultCode, Version,
};
use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sim::*;

fn rc() -> ResultCode {
    ResultCode {
        result: 3,
        error: Some(0),
        message: None,
    }
}

fn accepting(host: &[u8]) -> EndpointConfig {
    EndpointConfig {
        accept_v2_incoming: true,
        accept_v3_incoming: true,
        host_name: host.to_vec(),
        ..EndpointConfig::default()
    }
}

fn session(version: Version) -> SessionConfig {
    SessionConfig {
        pseudowire: match version {
            Version::V2 => pw_type::PPP,
            Version::V3 => pw_type::ETHERNET,
        },
        ..SessionConfig::default()
    }
}

/// Two endpoints back to back in memory: datagrams are delivered at once, in order, except
/// those sent to [`BLACK_HOLE`]; time does not advance.
struct Wire {
    ep: [Endpoint; 2],
    addr: [SocketAddr; 2],
    now: Instant,
    events: [Vec<Event>; 2],
}

/// The LNS's IP, another port: SCCRQs sent there are never answered (the tunnels keep
/// awaiting SCCRP from the LNS's IP).
const BLACK_HOLE: &str = "10.0.0.2:9";

impl Wire {
    fn new() -> Wire {
        Wire {
            ep: [
                Endpoint::new(accepting(b"lac"), 1),
                Endpoint::new(accepting(b"lns"), 2),
            ],
            addr: [addr("10.0.0.1:1701"), addr("10.0.0.2:1701")],
            now: Instant::now(),
            events: [Vec::new(), Vec::new()],
        }
    }

    fn cfg(&self, from: usize, version: Version) -> TunnelConfig {
        let mut c = TunnelConfig::new(version, Encap::Udp, self.addr[1 - from]);
        c.router_id = 1 + from as u32;
        c
    }

    fn pump(&mut self) {
        loop {
            let mut moved = false;
            for i in 0..2 {
                while let Some(t) = self.ep[i].poll_transmit() {
                    moved = true;
                    if t.destination == addr(BLACK_HOLE) {
                        continue;
                    }
                    let (now, from) = (self.now, self.addr[i]);
                    self.ep[1 - i].handle(now, from, &t.payload);
                }
                while let Some(e) = self.ep[i].poll_event() {
                    self.events[i].push(e);
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn steps(&self) -> u64 {
        self.ep[0].scan_steps() + self.ep[1].scan_steps()
    }

    fn ups(&self, node: usize) -> usize {
        self.events[node]
            .iter()
            .filter(|e| is_session_up(e))
            .count()
    }

    fn downs(&self, node: usize) -> usize {
        self.events[node]
            .iter()
            .filter(|e| matches!(e, Event::SessionDown { .. }))
            .count()
    }
}

/// Builds `tunnels × per_tunnel` established sessions from node 0 to node 1, plus
/// `tunnels` tunnels of node 0 awaiting an SCCRP from node 1's IP; then runs `k` of each
/// per-tunnel or per-session operation, then a round of timers (a HELLO on every tunnel,
/// set-up failure of the unanswered ones), and returns the table-walk steps the operations
/// and the timers cost.
fn steps_of_operations(
    version: Version,
    tunnels: usize,
    per_tunnel: usize,
    k: usize,
) -> (u64, u64) {
    let mut w = Wire::new();
    let now = w.now;
    let mut ids = Vec::new();
    for _ in 0..tunnels {
        let mut hole = w.cfg(0, version);
        hole.peer = addr(BLACK_HOLE);
        w.ep[0].connect(now, hole).unwrap();
        let mut cfg = w.cfg(0, version);
        cfg.hello_interval = Some(Duration::from_secs(30));
        let t = w.ep[0].connect(now, cfg).unwrap();
        for _ in 0..per_tunnel {
            w.ep[0].open_session(now, t, session(version)).unwrap();
        }
        ids.push(t);
    }
    w.pump();
    assert_eq!(w.ups(1), tunnels * per_tunnel);
    assert_eq!(w.ep[1].counts(), (tunnels, tunnels * per_tunnel));
    assert_eq!(w.ep[0].counts(), (2 * tunnels, tunnels * per_tunnel));
    let busy = ids[tunnels / 2];
    let before = w.steps();

    // New tunnels both ways: node 1's SCCRQs cross node 0's unanswered ones (tie-breaker
    // index), each tunnel needs a free ID at both ends.
    for i in 0..k {
        let from = i % 2;
        let t = w.ep[from].connect(now, w.cfg(from, version)).unwrap();
        w.ep[from].open_session(now, t, session(version)).unwrap();
    }
    w.pump();
    // Calls into a full tunnel (peer session index on ICRQ, ID allocation).
    let mut opened = Vec::new();
    for _ in 0..k {
        opened.push(w.ep[0].open_session(now, busy, session(version)).unwrap());
    }
    w.pump();
    // Calls cleared before the reply: the CDN names only the sender's session ID (peer
    // session index on CDN).
    for _ in 0..k {
        let s = w.ep[0].open_session(now, busy, session(version)).unwrap();
        w.ep[0].close_session(now, busy, s, rc()).unwrap();
    }
    w.pump();
    // Established calls cleared.
    for s in opened {
        w.ep[0].close_session(now, busy, s, rc()).unwrap();
    }
    w.pump();
    let steps = w.steps() - before;
    assert_eq!(w.ups(1), tunnels * per_tunnel + 2 * k);
    assert_eq!(w.downs(1), 2 * k);

    let before = w.steps();
    w.now += Duration::from_secs(31);
    let now = w.now;
    assert!(w.ep[0].poll_timeout().is_some_and(|t| t <= now));
    for ep in &mut w.ep {
        ep.handle_timeout(now);
    }
    w.pump();
    let timer_steps = w.steps() - before;
    let downs = w.events[0]
        .iter()
        .filter(|e| matches!(e, Event::TunnelDown { .. }))
        .count();
    assert_eq!(downs, tunnels, "the unanswered tunnels gave up");
    for ep in &w.ep {
        ep.check_indexes().unwrap();
        let (t, s) = ep.counts();
        assert_eq!(t, ep.tunnel_ids().len());
        assert_eq!(s, ep.session_counts().0);
    }
    (steps, timer_steps)
}

/// 4k operations and their replies; each may walk a few entries (ID allocation tries, the
/// sessions a new tunnel queued before its SCCRP), never a table. Timers walk nothing (fewer
/// steps than tunnels, whatever the sessions per tunnel).
fn assert_bounded(version: Version, tunnels: usize, per_tunnel: usize) {
    const K: usize = 40;
    let (steps, timer_steps) = steps_of_operations(version, tunnels, per_tunnel, K);
    let per_op = steps as f64 / (4 * K) as f64;
    let what = format!("{version:?} {tunnels} tunnels x {per_tunnel}");
    assert!(
        per_op <= 4.0,
        "{what}: {steps} steps for {} operations",
        4 * K
    );
    assert!(
        timer_steps < tunnels as u64,
        "{what}: {timer_steps} steps for a round of timers"
    );
}

#[test]
fn work_per_operation_does_not_grow_with_the_number_of_tunnels() {
    for version in [Version::V2, Version::V3] {
        assert_bounded(version, 20, 2);
        assert_bounded(version, 3_000, 2);
    }
}

#[test]
fn work_per_operation_does_not_grow_with_the_sessions_of_a_tunnel() {
    for version in [Version::V2, Version::V3] {
        assert_bounded(version, 1, 20);
        assert_bounded(version, 2, 3_000);
    }
}

/// `poll_accepted` yields every tunnel accepted for a peer's SCCRQ once, with the peer's
/// address; not tunnels we started, not tunnels gone before it was asked.
#[test]
fn poll_accepted_yields_each_accepted_tunnel_once() {
    let mut w = Wire::new();
    let now = w.now;
    let mine = w.ep[0].connect(now, w.cfg(0, Version::V2)).unwrap();
    let mut theirs = Vec::new();
    for v in [Version::V2, Version::V3, Version::V3] {
        theirs.push(w.ep[1].connect(now, w.cfg(1, v)).unwrap());
    }
    w.pump();
    let mut got = Vec::new();
    while let Some((t, peer)) = w.ep[0].poll_accepted() {
        assert_eq!(peer, w.addr[1]);
        got.push(t);
    }
    assert_eq!(got.len(), 3);
    assert!(!got.contains(&mine));
    let mut all = w.ep[0].tunnel_ids();
    all.retain(|&t| t != mine);
    got.sort();
    assert_eq!(got, all);
    assert_eq!(w.ep[0].poll_accepted(), None);
    assert_eq!(w.ep[1].poll_accepted(), Some((mine_on_peer(&w), w.addr[0])));
    assert_eq!(w.ep[1].poll_accepted(), None);

    // Accepted, then gone (the peer closes and the closed record expires) before anyone
    // asked: skipped.
    let t = w.ep[1].connect(now, w.cfg(1, Version::V2)).unwrap();
    w.pump();
    w.ep[1].close_tunnel(now, t, rc()).unwrap();
    w.pump();
    let later = now + Duration::from_secs(60);
    w.now = later;
    w.ep[0].handle_timeout(later);
    w.pump();
    assert_eq!(w.ep[0].poll_accepted(), None);
    w.ep[0].check_indexes().unwrap();
}

fn mine_on_peer(w: &Wire) -> TunnelId {
    // The one tunnel node 1 accepted: the only one it did not start (they have peer
    // tunnel IDs of node 0's choosing).
    let ids = w.ep[1].tunnel_ids();
    *ids.iter()
        .find(|t| {
            w.ep[1]
                .tunnel_info(**t)
                .is_some_and(|i| i.role == l2tp_proto::tunnel::Role::Responder)
        })
        .unwrap()
}

/// A runtime that never calls `poll_accepted` holds at most a bounded queue: entries of
/// tunnels that are gone are dropped.
#[test]
fn poll_accepted_queue_stays_bounded_when_never_drained() {
    let mut w = Wire::new();
    for round in 0..20 {
        let now = w.now;
        let mut ts = Vec::new();
        for _ in 0..50 {
            ts.push(w.ep[1].connect(now, w.cfg(1, Version::V2)).unwrap());
        }
        w.pump();
        for t in ts {
            w.ep[1].close_tunnel(now, t, rc()).unwrap();
        }
        w.pump();
        w.now += Duration::from_secs(60);
        let now = w.now;
        w.ep[0].handle_timeout(now);
        w.ep[1].handle_timeout(now);
        w.pump();
        assert_eq!(w.ep[0].counts(), (0, 0), "round {round}");
        // check_indexes asserts the queue holds at most 2 × live + 64 entries.
        w.ep[0].check_indexes().unwrap();
    }
    assert_eq!(w.ep[0].stats().tunnels_accepted, 1000);
    assert_eq!(w.ep[0].poll_accepted(), None);
}

/// RFC 2661 §4.4.3: crossing SCCRQs from one peer IP, each pair decided by its own values —
/// ours with a lower value win (the peer's SCCRQ is dropped), higher or none lose (discarded
/// silently), equal both discard; none on both sides means separate tunnels.
#[test]
fn crossing_sccrqs_are_decided_per_pair_through_the_index() {
    /// (our tie breakers, theirs, ours discarded, theirs accepted)
    type Case = (&'static [Option<u8>], Option<u8>, usize, bool);
    let cases: &[Case] = &[
        (&[None, None], None, 0, true),
        (&[None, Some(5)], None, 0, false),
        (&[None, Some(9), Some(7)], Some(5), 3, true),
        (&[Some(3), Some(9)], Some(5), 1, false),
        (&[Some(5), Some(9)], Some(5), 2, false),
    ];
    for &(ours, theirs, discarded, accepted) in cases {
        let ctx = format!("ours {ours:?} theirs {theirs:?}");
        let mut w = Wire::new();
        let now = w.now;
        let mut mine = Vec::new();
        for tb in ours {
            let mut c = w.cfg(0, Version::V2);
            c.peer = addr(BLACK_HOLE);
            c.tie_breaker = tb.map(|b| [b; 8]);
            mine.push(w.ep[0].connect(now, c).unwrap());
        }
        w.pump();
        let mut c = w.cfg(1, Version::V2);
        c.tie_breaker = theirs.map(|b| [b; 8]);
        w.ep[1].connect(now, c).unwrap();
        w.pump();
        let lost = w.events[0]
            .iter()
            .filter(|e| matches!(e, Event::TunnelDown { reason: DownReason::Protocol(r), .. } if r.result == result::STOPCCN_ALREADY_EXISTS))
            .count();
        assert_eq!(lost, discarded, "{ctx}");
        assert_eq!(w.ep[0].poll_accepted().is_some(), accepted, "{ctx}");
        assert_eq!(
            w.ep[0].stats().tie_breaks_lost_by_peer,
            u64::from(
                ours.iter()
                    .any(|m| m.is_some() && (theirs.is_none() || *m < theirs))
            ),
            "{ctx}"
        );
        w.ep[0].check_indexes().unwrap();
        w.ep[1].check_indexes().unwrap();
    }
}

/// A peer that gives two live calls of one tunnel the same session ID: the second reply is
/// refused with a CDN that names only our session, and the first call is left alone.
#[test]
fn reply_reusing_a_live_peer_session_id_is_refused() {
    for version in [Version::V2, Version::V3] {
        let mut s = Sim::with(7, EndpointConfig::default(), accepting(b"lns"));
        // Every ICRP from the LNS assigns session ID 42.
        s.rewrite = Some(Box::new(|from, m: &mut ControlMessage| {
            if from == LNS && m.message_type() == Some(MessageType::Icrp) {
                for a in &mut m.avps {
                    match &mut a.value {
                        AvpValue::AssignedSessionId(v) => *v = 42,
                        AvpValue::LocalSessionId(v) => *v = 42,
                        _ => {}
                    }
                }
            }
        }));
        let now = s.now;
        let cfg = match version {
            Version::V2 => s.tunnel_cfg(),
            Version::V3 => s.tunnel_cfg_v3(Encap::Udp),
        };
        let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
        let a = s.nodes[LAC]
            .ep
            .open_session(now, t, session(version))
            .unwrap();
        assert!(s.run_until(Duration::from_secs(5), |s| s.count(LAC, is_session_up) == 1));
        let b = s.nodes[LAC]
            .ep
            .open_session(s.now, t, session(version))
            .unwrap();
        s.run_for(Duration::from_secs(5));
        assert!(s.has_event(LAC, |e| matches!(e, Event::SessionDown { session, reason: DownReason::Protocol(r), .. } if *session == b && r.result == result::CDN_GENERAL_ERROR)), "{version:?}");
        let info = s.nodes[LAC].ep.tunnel_info(t).unwrap();
        assert_eq!(info.sessions.len(), 1);
        assert_eq!(
            (SessionId(info.sessions[0].id), info.sessions[0].peer_id),
            (a, 42)
        );
        for n in [LAC, LNS] {
            s.nodes[n].ep.check_indexes().unwrap();
        }
    }
}

/// The call set-up timer belongs to the session, not to its ID: a session closed and opened
/// again under the same ID gets a full set-up time (RFC 2661 §4.4.2 Result Code 10).
#[test]
fn a_reused_session_id_gets_its_own_call_setup_timer() {
    let mut s = Sim::with(8, EndpointConfig::default(), accepting(b"lns"));
    // v3 ICRPs without Remote Session ID cannot be matched: set-up stalls.
    s.rewrite = Some(Box::new(|from, m: &mut ControlMessage| {
        if from == LNS && m.message_type() == Some(MessageType::Icrp) {
            m.avps
                .retain(|a| !matches!(a.value, AvpValue::RemoteSessionId(_)));
        }
    }));
    let now = s.now;
    let mut cfg = s.tunnel_cfg_v3(Encap::Udp);
    cfg.hello_interval = Some(Duration::from_secs(10));
    let t = s.nodes[LAC].ep.connect(now, cfg).unwrap();
    let sc = SessionConfig {
        local_session_id: Some(77),
        ..session(Version::V3)
    };
    let first = s.nodes[LAC].ep.open_session(now, t, sc.clone()).unwrap();
    s.run_for(Duration::from_secs(30));
    s.nodes[LAC]
        .ep
        .close_session(s.now, t, first, rc())
        .unwrap();
    s.run_for(Duration::from_secs(10));
    let opened = s.now;
    let again = s.nodes[LAC].ep.open_session(opened, t, sc).unwrap();
    assert_eq!(again, first);
    // The first session's deadline passes: the second one stays.
    s.run_for(Duration::from_secs(25));
    assert_eq!(s.nodes[LAC].ep.tunnel_info(t).unwrap().sessions.len(), 1);
    s.nodes[LAC].ep.check_indexes().unwrap();
    // Its own deadline clears it.
    s.run_for(Duration::from_secs(60));
    let down = s.nodes[LAC].events.iter().find_map(|(at, e)| match e {
        Event::SessionDown {
            session,
            reason: DownReason::Timeout,
            ..
        } if *session == again => Some(*at),
        _ => None,
    });
    let at = down.expect("timed out");
    assert!(at >= opened - s.t0 + Duration::from_secs(40), "{at:?}");
    assert_eq!(s.nodes[LAC].ep.session_counts(), (0, 0));
}

/// One step of the consistency property.
#[derive(Debug, Clone)]
enum Op {
    /// `node` connects to the other, with a tie breaker (or none), v2 or v3.
    Connect(usize, Option<u8>, bool),
    /// `node` opens a call in its `n`th tunnel (outgoing call if the flag is set).
    Open(usize, usize, bool),
    /// `node` clears its `n`th session (over all tunnels).
    Close(usize, usize),
    /// `node` closes its `n`th tunnel.
    CloseTunnel(usize, usize),
    /// Run the network for this many milliseconds.
    Run(u16),
    /// `node` drains its accepted tunnels.
    PollAccepted(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let node = 0usize..2;
    prop_oneof![
        2 => (node.clone(), proptest::option::of(0u8..3), any::<bool>())
            .prop_map(|(n, tb, v3)| Op::Connect(n, tb, v3)),
        6 => (node.clone(), 0usize..8, any::<bool>()).prop_map(|(n, t, o)| Op::Open(n, t, o)),
        3 => (node.clone(), 0usize..32).prop_map(|(n, s)| Op::Close(n, s)),
        1 => (node.clone(), 0usize..8).prop_map(|(n, t)| Op::CloseTunnel(n, t)),
        5 => (0u16..5000).prop_map(Op::Run),
        1 => (5000u16..60000).prop_map(Op::Run),
        1 => node.prop_map(Op::PollAccepted),
    ]
}

fn check(s: &Sim) -> Result<(), TestCaseError> {
    for (i, n) in s.nodes.iter().enumerate() {
        if let Err(e) = n.ep.check_indexes() {
            return Err(TestCaseError::fail(format!("node {i}: {e}")));
        }
        let (t, sessions) = n.ep.counts();
        prop_assert_eq!(t, n.ep.tunnel_ids().len());
        prop_assert_eq!(sessions, n.ep.session_counts().0);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random opens, closes, crossing connects with and without tie breakers, lossy and
    /// reordering network, and a peer that reuses session IDs: after every step every index
    /// equals what a walk of the tables finds.
    #[test]
    fn indexes_agree_with_a_walk_after_any_sequence(
        seed in any::<u64>(),
        loss in prop_oneof![Just(0.0), Just(0.1), Just(0.3)],
        reuse in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..60),
    ) {
        let mut s = Sim::with(seed, accepting(b"a"), accepting(b"b"));
        s.faults = Faults { drop: loss, duplicate: loss / 3.0, jitter: Duration::from_millis(30), corrupt: 0.0 };
        if reuse {
            // Half the call requests and replies get a session ID drawn from 1..=3:
            // duplicates, reuse after close, and replies the other side cannot match.
            let mut rng = SmallRng::seed_from_u64(seed);
            s.rewrite = Some(Box::new(move |_, m: &mut ControlMessage| {
                if matches!(m.message_type(), Some(MessageType::Icrq | MessageType::Icrp | MessageType::Ocrq | MessageType::Ocrp))
                    && rng.gen_bool(0.5)
                {
                    for a in &mut m.avps {
                        match &mut a.value {
                            AvpValue::AssignedSessionId(v) => *v = rng.gen_range(1..=3),
                            AvpValue::LocalSessionId(v) => *v = rng.gen_range(1..=3),
                            _ => {}
                        }
                    }
                }
            }));
        }
        for op in ops {
            let now = s.now;
            match op {
                Op::Connect(n, tb, v3) => {
                    let peer = s.nodes[1 - n].addr;
                    let mut c = TunnelConfig::new(if v3 { Version::V3 } else { Version::V2 }, Encap::Udp, peer);
                    c.tie_breaker = tb.map(|b| [b; 8]);
                    c.hello_interval = Some(Duration::from_secs(2));
                    s.nodes[n].ep.connect(now, c).unwrap();
                }
                Op::Open(n, i, outgoing) => {
                    let ids = s.nodes[n].ep.tunnel_ids();
                    if let Some(&t) = ids.get(i % ids.len().max(1)) {
                        let v = s.nodes[n].ep.tunnel_info(t).unwrap().version;
                        let ep = &mut s.nodes[n].ep;
                        let _ = if outgoing {
                            ep.open_outgoing_call(now, t, session(v))
                        } else {
                            ep.open_session(now, t, session(v))
                        };
                    }
                }
                Op::Close(n, i) => {
                    let all: Vec<(TunnelId, SessionId)> = s.nodes[n]
                        .ep
                        .tunnel_ids()
                        .into_iter()
                        .flat_map(|t| {
                            s.nodes[n].ep.tunnel_info(t).unwrap().sessions.into_iter().map(move |x| (t, SessionId(x.id)))
                        })
                        .collect();
                    if let Some(&(t, sid)) = all.get(i % all.len().max(1)) {
                        s.nodes[n].ep.close_session(now, t, sid, rc()).unwrap();
                    }
                }
                Op::CloseTunnel(n, i) => {
                    let ids = s.nodes[n].ep.tunnel_ids();
                    if let Some(&t) = ids.get(i % ids.len().max(1)) {
                        s.nodes[n].ep.close_tunnel(now, t, rc()).unwrap();
                    }
                }
                Op::Run(ms) => {
                    let deadline = s.now + Duration::from_millis(u64::from(ms));
                    while s.step(deadline) {
                        check(&s)?;
                    }
                    s.now = s.now.max(deadline);
                }
                Op::PollAccepted(n) => while s.nodes[n].ep.poll_accepted().is_some() {},
            }
            s.drain();
            check(&s)?;
        }
        // Everything ends: nothing is left in any index.
        for n in 0..2 {
            for t in s.nodes[n].ep.tunnel_ids() {
                s.nodes[n].ep.close_tunnel(s.now, t, rc()).unwrap();
            }
        }
        s.faults = Faults::default();
        s.run_for(Duration::from_secs(120));
        check(&s)?;
        for n in 0..2 {
            prop_assert_eq!(s.nodes[n].ep.counts(), (0, 0));
            prop_assert_eq!(s.nodes[n].ep.session_counts(), (0, 0));
            prop_assert_eq!(s.nodes[n].ep.poll_timeout(), None);
        }
    }
}
