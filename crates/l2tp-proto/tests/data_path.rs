//! The data message path (`l2tp_proto::data`): byte-exact headers for every layout against
//! the RFC figures and the wire codec, the real v2 data messages of the shared xl2tpd
//! captures, and the kernel's receive rules (IDs, cookie, sequencing, counters).

use l2tp_proto::data::*;
use l2tp_proto::wire::{DataHeader, Encap, Version};
use std::time::{Duration, Instant};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn v2(tunnel_id: u32, peer_tunnel_id: u32, session_id: u32, peer_session_id: u32) -> DataConfig {
    DataConfig {
        version: Version::V2,
        encap: Encap::Udp,
        tunnel_id,
        peer_tunnel_id,
        session_id,
        peer_session_id,
        cookie: vec![],
        peer_cookie: vec![],
        l2spec: L2Spec::None,
        send_seq: false,
        recv_seq: false,
    }
}

fn v3(encap: Encap, cookie: &[u8], peer_cookie: &[u8], l2spec: L2Spec) -> DataConfig {
    DataConfig {
        version: Version::V3,
        encap,
        tunnel_id: 7,
        peer_tunnel_id: 8,
        session_id: 0x0102_0304,
        peer_session_id: 0x0a0b_0c0d,
        cookie: cookie.to_vec(),
        peer_cookie: peer_cookie.to_vec(),
        l2spec,
        send_seq: false,
        recv_seq: false,
    }
}

/// The configuration the other end of `cfg` uses (IDs and cookies swapped).
fn mirror(cfg: &DataConfig) -> DataConfig {
    DataConfig {
        tunnel_id: cfg.peer_tunnel_id,
        peer_tunnel_id: cfg.tunnel_id,
        session_id: cfg.peer_session_id,
        peer_session_id: cfg.session_id,
        cookie: cfg.peer_cookie.clone(),
        peer_cookie: cfg.cookie.clone(),
        ..cfg.clone()
    }
}

/// Encapsulate `payload` with `s`, returning the datagram.
fn encap(s: &mut DataSession, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0xee; s.header_len()];
    buf.extend_from_slice(payload);
    s.encapsulate(&mut buf).unwrap();
    buf
}

const PPP: &str = "ff03c021010100100206000000000506708d6e5f";

// ---------------------------------------------------------------------------------------------
// Byte-exact layouts
// ---------------------------------------------------------------------------------------------

/// RFC 2661 §3.1: T=0, L=0, S=0, O=0, P=0, Ver=2, Tunnel ID, Session ID — the 6-byte header
/// the kernel sends (flags 0x0002, as in `xl2tpd-v2-kernel-ppp`).
#[test]
fn v2_plain_header_is_flags_ver2_tunnel_session() {
    let mut s = DataSession::new(v2(1, 0x1234, 2, 0x5678)).unwrap();
    assert_eq!(s.header_len(), 6);
    let d = encap(&mut s, &h(PPP));
    assert_eq!(d, h(&format!("0002 1234 5678 {PPP}")));
    // The wire codec's independent emitter agrees.
    let mut want = Vec::new();
    DataHeader::V2 {
        tunnel_id: 0x1234,
        session_id: 0x5678,
        sequence: None,
        offset: None,
        length_present: false,
        priority: false,
    }
    .emit(Encap::Udp, 20, &mut want)
    .unwrap();
    assert_eq!(&d[..6], &want[..]);
    assert_eq!(s.stats().tx_packets, 1);
    assert_eq!(s.stats().tx_bytes, d.len() as u64, "L2TP header + payload");
}

/// RFC 2661 §3.1 with S=1: flags 0x0802, Ns counting from 0, Nr 0 (l2tp_build_l2tpv2_header),
/// wrapping at 2^16.
#[test]
fn v2_with_s_bit_carries_ns_from_zero_and_nr_zero() {
    let mut cfg = v2(1, 0x1234, 2, 0x5678);
    cfg.send_seq = true;
    let mut s = DataSession::new(cfg).unwrap();
    assert_eq!(s.header_len(), 10);
    assert_eq!(encap(&mut s, b"ab"), h("0802 1234 5678 0000 0000 6162"));
    assert_eq!(encap(&mut s, b"ab"), h("0802 1234 5678 0001 0000 6162"));
    for _ in 2..0xffff {
        encap(&mut s, b"");
    }
    assert_eq!(s.next_ns(), 0xffff);
    assert_eq!(encap(&mut s, b"")[6..8], [0xff, 0xff]);
    assert_eq!(encap(&mut s, b"")[6..8], [0, 0], "16-bit wrap");
}

/// RFC 3931 §4.1.2.1 (over UDP: T=0, Ver=3, 16 reserved bits, Session ID, Cookie) and
/// §4.1.1.2 (over IP: Session ID, Cookie), §4.6 (default L2SS after the cookie), for cookies of
/// 0, 4 and 8 bytes, with and without the L2SS, and with the L2SS S bit when sequencing.
#[test]
fn v3_layouts_match_rfc_3931_figures_for_every_cookie_and_l2ss() {
    let cookies: [&[u8]; 3] = [b"", &[0xde, 0xad, 0xbe, 0xef], &[1, 2, 3, 4, 5, 6, 7, 8]];
    for encap_kind in [Encap::Udp, Encap::Ip] {
        for cookie in cookies {
            for (l2spec, seq) in [
                (L2Spec::None, false),
                (L2Spec::Default, false),
                (L2Spec::Default, true),
            ] {
                let mut cfg = v3(encap_kind, cookie, &[9; 4], l2spec);
                cfg.send_seq = seq;
                let mut s = DataSession::new(cfg).unwrap();
                let mut want = String::new();
                if encap_kind == Encap::Udp {
                    want.push_str("0003 0000 ");
                }
                want.push_str("0a0b0c0d ");
                want.push_str(&hex::encode(cookie));
                match (l2spec, seq) {
                    (L2Spec::None, _) => {}
                    (L2Spec::Default, false) => want.push_str(" 00000000"),
                    (L2Spec::Default, true) => want.push_str(" 40000000"),
                }
                want.push_str(" 0102");
                let d = encap(&mut s, &[1, 2]);
                assert_eq!(
                    hex::encode(&d),
                    hex::encode(h(&want)),
                    "{encap_kind:?} cookie {cookie:?} {l2spec:?} seq {seq}"
                );
                assert_eq!(s.header_len(), d.len() - 2);
                // The wire codec's emitter agrees.
                let mut codec = Vec::new();
                DataHeader::V3 {
                    session_id: 0x0a0b_0c0d,
                    cookie: cookie.to_vec(),
                    l2_specific: (l2spec == L2Spec::Default).then_some((seq, 0)),
                }
                .emit(encap_kind, 2, &mut codec)
                .unwrap();
                assert_eq!(&d[..d.len() - 2], &codec[..]);
                if seq {
                    let d2 = encap(&mut s, &[1, 2]);
                    assert_eq!(&d2[d2.len() - 6..d2.len() - 2], &[0x40, 0, 0, 1]);
                }
            }
        }
    }
    assert_eq!(DataSession::MAX_HEADER_LEN, 4 + 4 + 8 + 4);
}

/// The L2SS sequence number is 24 bits and wraps to 0 (kernel: `ns &= 0xffffff`).
#[test]
fn v3_l2ss_sequence_wraps_at_24_bits() {
    let mut cfg = v3(Encap::Ip, b"", b"", L2Spec::Default);
    cfg.send_seq = true;
    let mut tx = DataSession::new(cfg.clone()).unwrap();
    let mut rx = DataSession::new(mirror(&cfg)).unwrap();
    // The first numbers go through a receiver; then the sender is run to the top of the space.
    let mut last = Vec::new();
    for _ in 0..3 {
        last = encap(&mut tx, b"x");
        assert_eq!(rx.decapsulate(&last).unwrap(), b"x");
    }
    assert_eq!(&last[4..8], &[0x40, 0, 0, 2]);
    for _ in 3..0x00ff_ffff {
        tx.encapsulate(&mut [0u8; 8]).unwrap();
    }
    assert_eq!(tx.next_ns(), 0x00ff_ffff);
    let top = encap(&mut tx, b"y");
    assert_eq!(&top[4..8], &[0x40, 0xff, 0xff, 0xff]);
    let wrapped = encap(&mut tx, b"z");
    assert_eq!(&wrapped[4..8], &[0x40, 0, 0, 0]);
}

/// Received v2 messages may carry L, S, O (with pad) and P in any combination (RFC 2661 §3.1);
/// the payload starts after the Offset pad and ends at the Length field.
#[test]
fn v2_receive_accepts_length_offset_padding_and_priority() {
    let cfg = v2(0x1234, 9, 0x5678, 9);
    let cases = [
        // L: Length 0x000c = 12, then 2 bytes of trailing padding beyond Length.
        ("4002 000c 1234 5678 ff03c021 aaaa", "ff03c021"),
        // O with a 3-byte pad.
        ("0202 1234 5678 0003 000000 ff03", "ff03"),
        // O with Offset Size 0.
        ("0202 1234 5678 0000 ff03", "ff03"),
        // L + S + O + P: Length 0x0013 = 19.
        ("4b02 0013 1234 5678 0000 0000 0002 0000 ff0300", "ff0300"),
        // Empty payload.
        ("0002 1234 5678", ""),
    ];
    for (wire, payload) in cases {
        let mut s = DataSession::new(cfg.clone()).unwrap();
        let d = h(wire);
        assert_eq!(s.decapsulate(&d), Ok(&h(payload)[..]), "{wire}");
        assert_eq!(s.stats().rx_packets, 1);
        assert_eq!(s.stats().rx_bytes, d.len() as u64, "{wire}");
    }
}

// ---------------------------------------------------------------------------------------------
// Real captures
// ---------------------------------------------------------------------------------------------

/// (direction, bytes) of every data message (T = 0) in a capture's `.hex`.
fn data_messages(name: &str) -> Vec<(String, Vec<u8>)> {
    l2tp_testdata::capture(name)
        .into_iter()
        .filter(|(_, b)| b.first().is_some_and(|f| f & 0x80 == 0))
        .collect()
}

/// Receive every data message of a capture with a session per direction built from the IDs
/// the first message of that direction carries; return (direction, datagram, payload).
fn receive_all(name: &str) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let msgs = data_messages(name);
    assert!(!msgs.is_empty(), "{name} has data messages");
    let mut sessions: Vec<(String, DataSession)> = Vec::new();
    let mut out = Vec::new();
    for (dir, d) in msgs {
        let Some(DataKey::V2 {
            tunnel_id,
            session_id,
        }) = data_key(&d, Encap::Udp)
        else {
            panic!("{name}: no v2 key for {}", hex::encode(&d));
        };
        let i = match sessions.iter().position(|(k, _)| *k == dir) {
            Some(i) => i,
            None => {
                let cfg = v2(tunnel_id.into(), 1, session_id.into(), 1);
                sessions.push((dir.clone(), DataSession::new(cfg).unwrap()));
                sessions.len() - 1
            }
        };
        let s = &mut sessions[i].1;
        assert_eq!(s.key(), data_key(&d, Encap::Udp).unwrap());
        let payload = s
            .decapsulate(&d)
            .unwrap_or_else(|e| panic!("{name}: {e} for {}", hex::encode(&d)))
            .to_vec();
        out.push((dir, d, payload));
    }
    for (dir, s) in &sessions {
        let st = s.stats();
        assert_eq!(
            st.rx_errors + st.rx_invalid,
            0,
            "{name} {dir}: nothing discarded"
        );
    }
    out
}

/// xl2tpd in user-space mode sends flags 0x4002 (L bit, no sequence numbers, no offset):
/// every one of its 16 data messages decapsulates to a PPP frame (ff 03 ...) that ends where
/// the Length field says, in both directions.
#[test]
fn capture_xl2tpd_userspace_data_messages_decapsulate_to_ppp_frames() {
    let all = receive_all("xl2tpd-v2-userspace-ppp-data");
    assert_eq!(all.len(), 16);
    let mut protocols = Vec::new();
    for (dir, d, payload) in &all {
        assert_eq!(&d[..2], &[0x40, 0x02], "{dir}");
        assert_eq!(u16::from_be_bytes([d[2], d[3]]) as usize, d.len());
        assert_eq!(
            &payload[..],
            &d[8..],
            "{dir}: payload after the 8-byte header"
        );
        assert_eq!(
            &payload[..2],
            &[0xff, 0x03],
            "{dir}: PPP address and control"
        );
        protocols.push(u16::from_be_bytes([payload[2], payload[3]]));
    }
    // LCP, IPCP and IPv4 as README describes (one echo request and its reply).
    assert!(protocols.contains(&0xc021));
    assert!(protocols.contains(&0x8021));
    assert_eq!(protocols.iter().filter(|&&p| p == 0x0021).count(), 2);
}

/// The kernel (pppol2tp over l2tp_core) sends flags 0x0002 (no L, no S): decapsulating every
/// data message of `xl2tpd-v2-kernel-ppp` and encapsulating its payload again with the same IDs
/// reproduces the captured datagram byte for byte — our transmit path writes what the kernel
/// writes.
#[test]
fn capture_kernel_data_messages_reencapsulate_byte_for_byte() {
    let all = receive_all("xl2tpd-v2-kernel-ppp");
    assert_eq!(all.len(), 26);
    for (dir, d, payload) in &all {
        assert_eq!(&d[..2], &[0x00, 0x02], "{dir}");
        assert_eq!(&payload[..2], &[0xff, 0x03], "{dir}");
        let tunnel = u16::from_be_bytes([d[2], d[3]]);
        let session = u16::from_be_bytes([d[4], d[5]]);
        let mut tx = DataSession::new(v2(1, tunnel.into(), 1, session.into())).unwrap();
        assert_eq!(&encap(&mut tx, payload), d, "{dir}");
    }
}

// ---------------------------------------------------------------------------------------------
// Receive checks and counters
// ---------------------------------------------------------------------------------------------

fn seq_pair(version: Version) -> (DataSession, DataSession) {
    let mut cfg = match version {
        Version::V2 => v2(10, 20, 30, 40),
        Version::V3 => v3(Encap::Udp, &[1, 2, 3, 4], &[5, 6, 7, 8], L2Spec::Default),
    };
    cfg.send_seq = true;
    cfg.recv_seq = true;
    let rx = mirror(&cfg);
    (
        DataSession::new(cfg).unwrap(),
        DataSession::new(rx).unwrap(),
    )
}

/// A sequenced datagram with sequence number `ns` from `tx`'s configuration.
fn with_ns(tx: &DataSession, version: Version, ns: u32, payload: &[u8]) -> Vec<u8> {
    let mut d = encap(&mut tx.clone(), payload);
    match version {
        Version::V2 => d[6..8].copy_from_slice(&(ns as u16).to_be_bytes()),
        Version::V3 => {
            let at = tx.header_len() - 4;
            d[at..at + 4].copy_from_slice(&(0x4000_0000 | ns).to_be_bytes())
        }
    }
    d
}

/// In-order packets are delivered; a gap makes the following packets out of sequence:
/// discarded and counted in `rx_seq_discards` and `rx_errors` (no reorder queue, so
/// `rx_oos_packets` stays 0); after more than four consecutive out-of-sequence packets numbered
/// one after another the receiver resyncs to the peer and delivers again (kernel
/// `nr_oos_count_max` = 4).
#[test]
fn out_of_sequence_discarded_then_resync_after_five_in_a_run() {
    for version in [Version::V2, Version::V3] {
        let (tx, mut rx) = seq_pair(version);
        for ns in 0..3 {
            assert!(rx.decapsulate(&with_ns(&tx, version, ns, b"p")).is_ok());
        }
        assert_eq!(rx.expected_nr(), 3);
        // Packet 3 lost: 4..=8 are out of sequence and discarded, 9 resyncs.
        for ns in 4..=8 {
            assert_eq!(
                rx.decapsulate(&with_ns(&tx, version, ns, b"p")),
                Err(Discard::OutOfSequence { ns, expected: 3 }),
                "{version:?} ns {ns}"
            );
        }
        assert_eq!(
            rx.decapsulate(&with_ns(&tx, version, 9, b"p")),
            Ok(&b"p"[..])
        );
        assert_eq!(rx.expected_nr(), 10);
        assert!(rx.decapsulate(&with_ns(&tx, version, 10, b"p")).is_ok());
        // A late packet 3 is now behind: outside the window (more than half the space ahead).
        assert_eq!(
            rx.decapsulate(&with_ns(&tx, version, 3, b"p")),
            Err(Discard::OutsideWindow {
                ns: 3,
                expected: 11
            })
        );
        let st = rx.stats();
        assert_eq!(st.rx_packets, 5);
        assert_eq!(st.rx_seq_discards, 5);
        assert_eq!(st.rx_errors, 6, "5 out of sequence + 1 outside the window");
        assert_eq!(st.rx_oos_packets, 0);
        assert_eq!(st.rx_invalid, 0);
    }
}

/// The receive window is the kernel's `nr_window_size` = `nr_max / 2`: a number up to
/// 0x7ffe (v2) / 0x7ffffe (v3) ahead is in it (out of sequence), one further is outside.
#[test]
fn receive_window_is_half_the_sequence_space() {
    for (version, half) in [(Version::V2, 0x7fffu32), (Version::V3, 0x7f_ffff)] {
        let (tx, mut rx) = seq_pair(version);
        assert!(rx.decapsulate(&with_ns(&tx, version, 0, b"")).is_ok());
        assert_eq!(
            rx.decapsulate(&with_ns(&tx, version, half, b"")),
            Err(Discard::OutOfSequence {
                ns: half,
                expected: 1
            })
        );
        assert_eq!(
            rx.decapsulate(&with_ns(&tx, version, half + 1, b"")),
            Err(Discard::OutsideWindow {
                ns: half + 1,
                expected: 1
            })
        );
        assert_eq!(
            rx.decapsulate(&with_ns(&tx, version, 0, b"")),
            Err(Discard::OutsideWindow { ns: 0, expected: 1 }),
            "a duplicate of the last packet is behind the window"
        );
    }
}

/// A run of out-of-sequence packets that are not numbered one after another never resyncs
/// (the run counter restarts), and one in-sequence packet is still taken.
#[test]
fn scattered_out_of_sequence_packets_do_not_resync() {
    let (tx, mut rx) = seq_pair(Version::V2);
    assert!(rx.decapsulate(&with_ns(&tx, Version::V2, 0, b"")).is_ok());
    for ns in [5, 7, 9, 11, 13, 15, 17, 19] {
        assert!(matches!(
            rx.decapsulate(&with_ns(&tx, Version::V2, ns, b"")),
            Err(Discard::OutOfSequence { .. })
        ));
    }
    assert!(rx.decapsulate(&with_ns(&tx, Version::V2, 1, b"")).is_ok());
    assert_eq!(rx.expected_nr(), 2);
}

/// Send `target - 5 ..= target`: five out of sequence (discarded), the sixth resyncs.
fn resync_to(tx: &DataSession, rx: &mut DataSession, version: Version, target: u32) {
    for ns in target - 5..target {
        assert!(
            matches!(
                rx.decapsulate(&with_ns(tx, version, ns, b"")),
                Err(Discard::OutOfSequence { .. })
            ),
            "{version:?} ns {ns}"
        );
    }
    assert!(rx.decapsulate(&with_ns(tx, version, target, b"")).is_ok());
    assert_eq!(rx.expected_nr(), target + 1);
}

/// The first sequenced packet sets the expected number (the kernel starts with
/// `reorder_skip` = 1) if it lies in the first half of the space from 0; v2 wraps at 2^16 and
/// v3 at 2^24 with no discard at the wrap (reached by resyncs of less than half the space).
#[test]
fn first_packet_sets_expected_and_sequence_wraps() {
    for (version, top) in [(Version::V2, 0xffffu32), (Version::V3, 0x00ff_ffff)] {
        let (tx, mut rx) = seq_pair(version);
        assert!(rx.decapsulate(&with_ns(&tx, version, 1000, b"")).is_ok());
        assert_eq!(rx.expected_nr(), 1001);
        resync_to(&tx, &mut rx, version, top / 4);
        resync_to(&tx, &mut rx, version, top / 2 + top / 4);
        resync_to(&tx, &mut rx, version, top - 2);
        for ns in [top - 1, top, 0, 1] {
            assert!(
                rx.decapsulate(&with_ns(&tx, version, ns, b"")).is_ok(),
                "{version:?} ns {ns}"
            );
        }
        assert_eq!(rx.expected_nr(), 2, "{version:?}");
        assert_eq!(rx.stats().rx_packets, 8);
        assert_eq!(rx.stats().rx_seq_discards, 15);
    }
    // A first packet numbered in the upper half is outside the window from 0 (as the kernel).
    let (tx, mut rx) = seq_pair(Version::V2);
    assert_eq!(
        rx.decapsulate(&with_ns(&tx, Version::V2, 0x9000, b"")),
        Err(Discard::OutsideWindow {
            ns: 0x9000,
            expected: 0
        })
    );
}

/// With `recv_seq` a packet without sequence numbers is discarded (`rx_seq_discards`); in
/// LNS mode (the default) a session that sends sequence numbers also discards them; with
/// neither, they pass.
#[test]
fn missing_sequence_numbers_when_required_are_discarded() {
    let plain = encap(&mut DataSession::new(v2(20, 10, 40, 30)).unwrap(), b"x");
    for (send_seq, recv_seq, ok) in [
        (false, true, false),
        (true, false, false),
        (true, true, false),
        (false, false, true),
    ] {
        let mut cfg = v2(10, 20, 30, 40);
        cfg.send_seq = send_seq;
        cfg.recv_seq = recv_seq;
        let mut rx = DataSession::new(cfg).unwrap();
        let r = rx.decapsulate(&plain);
        if ok {
            assert_eq!(r, Ok(&b"x"[..]));
        } else {
            assert_eq!(r, Err(Discard::MissingSequence));
            assert_eq!(rx.stats().rx_seq_discards, 1);
            assert_eq!(rx.stats().rx_errors, 1);
        }
        assert_eq!(rx.send_seq(), send_seq, "LNS mode never switches send_seq");
    }
}

/// LAC mode (`with_lns_mode(false)`, the kernel's default): a sequenced packet from the peer
/// turns our sequencing on (v2 header 6 → 10 bytes), a plain one turns it off again — unless
/// we require sequence numbers, then it is discarded (RFC 2661 §5.4).
#[test]
fn lac_mode_follows_the_peers_sequencing() {
    let mut peer_cfg = v2(20, 10, 40, 30);
    peer_cfg.send_seq = true;
    let mut peer_seq = DataSession::new(peer_cfg).unwrap();
    let mut peer_plain = DataSession::new(v2(20, 10, 40, 30)).unwrap();
    let mut lac = DataSession::new(v2(10, 20, 30, 40))
        .unwrap()
        .with_lns_mode(false);
    assert!(!lac.lns_mode());
    assert_eq!(lac.header_len(), 6);
    assert!(lac.decapsulate(&encap(&mut peer_seq, b"a")).is_ok());
    assert!(lac.send_seq());
    assert_eq!(lac.header_len(), 10);
    assert_eq!(&encap(&mut lac, b"")[..2], &[0x08, 0x02]);
    // encapsulate_at with MAX_HEADER_LEN of headroom works whatever the header length.
    let mut buf = vec![0u8; DataSession::MAX_HEADER_LEN + 3];
    buf[DataSession::MAX_HEADER_LEN..].copy_from_slice(b"xyz");
    let start = lac
        .encapsulate_at(&mut buf, DataSession::MAX_HEADER_LEN)
        .unwrap();
    assert_eq!(start, DataSession::MAX_HEADER_LEN - 10);
    assert_eq!(&buf[start..], &h("0802 0014 0028 0001 0000 78797a")[..]);
    assert!(lac.decapsulate(&encap(&mut peer_plain, b"b")).is_ok());
    assert!(!lac.send_seq());
    assert_eq!(lac.header_len(), 6);

    let mut cfg = v2(10, 20, 30, 40);
    cfg.recv_seq = true;
    cfg.send_seq = true;
    let mut strict = DataSession::new(cfg).unwrap().with_lns_mode(false);
    assert_eq!(
        strict.decapsulate(&encap(&mut peer_plain, b"b")),
        Err(Discard::MissingSequence)
    );
    assert!(
        strict.send_seq(),
        "a discarded packet does not switch sequencing off"
    );
}

/// A cookie that differs from `peer_cookie` is discarded and counted in
/// `rx_cookie_discards` and `rx_errors`; a truncated cookie is `rx_invalid`.
#[test]
fn cookie_mismatch_counts_cookie_discards() {
    for encap_kind in [Encap::Udp, Encap::Ip] {
        for len in [4usize, 8] {
            let cookie: Vec<u8> = (1..=len as u8).collect();
            let cfg = v3(encap_kind, &cookie, &cookie, L2Spec::None);
            let mut tx = DataSession::new(cfg.clone()).unwrap();
            let mut rx = DataSession::new(mirror(&cfg)).unwrap();
            let good = encap(&mut tx, b"eth");
            assert_eq!(rx.decapsulate(&good), Ok(&b"eth"[..]));
            let base = if encap_kind == Encap::Udp { 8 } else { 4 };
            let mut bad = good.clone();
            bad[base + len - 1] ^= 1;
            assert_eq!(rx.decapsulate(&bad), Err(Discard::Cookie));
            assert_eq!(
                rx.decapsulate(&good[..base + len - 1]),
                Err(Discard::Short {
                    needed: base + len,
                    have: base + len - 1
                })
            );
            let st = rx.stats();
            assert_eq!(
                (
                    st.rx_packets,
                    st.rx_cookie_discards,
                    st.rx_errors,
                    st.rx_invalid
                ),
                (1, 1, 1, 1)
            );
        }
    }
}

/// Headers that cannot belong to the session count `rx_invalid`: control messages, another
/// version, another tunnel or session, a v2 Length that does not fit; an Offset Size running
/// past the message counts `rx_errors` (the kernel fails `pskb_may_pull` after finding the
/// session).
#[test]
fn header_level_discards_count_rx_invalid() {
    let mut s = DataSession::new(v2(0x1234, 1, 0x5678, 1)).unwrap();
    let cases: [(&str, Discard); 8] = [
        ("c802 000c 1234 0000 0000 0000", Discard::Control),
        ("0003 0000 0000 5678", Discard::Version { got: 3, want: 2 }),
        ("0002 1235 5678 ff03", Discard::WrongTunnel { got: 0x1235 }),
        ("0002 1234 5679 ff03", Discard::WrongSession { got: 0x5679 }),
        (
            "4002 0010 1234 5678 ff03",
            Discard::BadLength {
                field: 16,
                actual: 10,
            },
        ),
        (
            "4002 0006 1234 5678 ff03",
            Discard::BadLength {
                field: 6,
                actual: 10,
            },
        ),
        ("0002 1234 56", Discard::Short { needed: 6, have: 5 }),
        (
            "0802 1234 5678 0000 00",
            Discard::Short {
                needed: 10,
                have: 9,
            },
        ),
    ];
    for (i, (wire, why)) in cases.iter().enumerate() {
        assert_eq!(s.decapsulate(&h(wire)), Err(*why), "{wire}");
        assert_eq!(why.counter(), DiscardCounter::Invalid);
        assert_eq!(s.stats().rx_invalid, i as u64 + 1);
    }
    assert_eq!(
        s.decapsulate(&h("0202 1234 5678 0005 ff03")),
        Err(Discard::OffsetPastEnd {
            offset: 5,
            at: 8,
            end: 10
        })
    );
    assert_eq!(s.stats().rx_errors, 1);
    assert_eq!(s.stats().rx_packets, 0);

    let mut ip = DataSession::new(v3(Encap::Ip, b"", b"", L2Spec::None)).unwrap();
    assert_eq!(ip.decapsulate(&h("00000000 c003")), Err(Discard::Control));
    assert_eq!(
        ip.decapsulate(&h("01020305 aa")),
        Err(Discard::WrongSession { got: 0x0102_0305 })
    );
    assert_eq!(ip.decapsulate(&h("01020304 aa")), Ok(&[0xaa][..]));
    assert_eq!(ip.stats().rx_invalid, 2);
}

/// `data_key` reads the IDs only: v2 (tunnel, session) with and without the L bit, v3 over
/// UDP and IP; `None` for control messages, unknown versions, zero IDs and short datagrams.
#[test]
fn data_key_demultiplexes_without_state() {
    let k = |s: &str, e| data_key(&h(s), e);
    assert_eq!(
        k("0002 1234 5678", Encap::Udp),
        Some(DataKey::V2 {
            tunnel_id: 0x1234,
            session_id: 0x5678
        })
    );
    assert_eq!(
        k("4002 0008 1234 5678", Encap::Udp),
        Some(DataKey::V2 {
            tunnel_id: 0x1234,
            session_id: 0x5678
        })
    );
    assert_eq!(
        k("0003 0000 01020304", Encap::Udp),
        Some(DataKey::V3 {
            session_id: 0x0102_0304
        })
    );
    assert_eq!(
        k("01020304", Encap::Ip),
        Some(DataKey::V3 {
            session_id: 0x0102_0304
        })
    );
    for (s, e) in [
        ("c802 000c 1234 0000 0000 0000", Encap::Udp),
        ("c803 000c 00000001 0000 0000", Encap::Udp),
        ("00000000 c803", Encap::Ip),
        ("0001 1234 5678", Encap::Udp),
        ("0002 0000 5678", Encap::Udp),
        ("0002 1234 0000", Encap::Udp),
        ("0003 0000 00000000", Encap::Udp),
        ("0002 1234 56", Encap::Udp),
        ("4002 0008 1234", Encap::Udp),
        ("010203", Encap::Ip),
        ("", Encap::Udp),
    ] {
        assert_eq!(k(s, e), None, "{s}");
    }
}

/// Configurations the kernel or the RFCs cannot carry are refused with the field named.
#[test]
fn invalid_configurations_are_refused() {
    let err = |c: DataConfig| DataSession::new(c).unwrap_err();
    let mut c = v2(1, 2, 3, 4);
    c.peer_session_id = 0;
    assert_eq!(
        err(c),
        DataConfigError::ZeroId {
            field: "peer_session_id"
        }
    );
    let mut c = v2(1, 2, 3, 4);
    c.tunnel_id = 0x1_0000;
    assert_eq!(
        err(c),
        DataConfigError::IdTooLarge {
            field: "tunnel_id",
            value: 0x1_0000
        }
    );
    let mut c = v2(1, 2, 3, 4);
    c.encap = Encap::Ip;
    assert_eq!(err(c), DataConfigError::V2OverIp);
    let mut c = v2(1, 2, 3, 4);
    c.cookie = vec![1; 4];
    assert_eq!(err(c), DataConfigError::NotInV2("cookie"));
    let mut c = v2(1, 2, 3, 4);
    c.l2spec = L2Spec::Default;
    assert_eq!(err(c), DataConfigError::NotInV2("L2-Specific Sublayer"));
    assert_eq!(
        err(v3(Encap::Udp, &[1; 5], b"", L2Spec::None)),
        DataConfigError::CookieLength {
            field: "cookie",
            len: 5
        }
    );
    assert_eq!(
        err(v3(Encap::Udp, b"", &[1; 2], L2Spec::None)),
        DataConfigError::CookieLength {
            field: "peer_cookie",
            len: 2
        }
    );
    let mut c = v3(Encap::Udp, b"", b"", L2Spec::None);
    c.recv_seq = true;
    assert_eq!(err(c), DataConfigError::SequencingWithoutL2Spec);
    let mut c = v3(Encap::Ip, b"", b"", L2Spec::None);
    c.session_id = 0x1_0000; // 32-bit IDs are fine for v3
    assert!(DataSession::new(c).is_ok());
}

/// Transmit errors: no room for the header, a datagram too large for its carrier, a payload
/// offset beyond the buffer. Each counts `tx_errors` once and consumes no sequence number.
#[test]
fn encapsulate_errors_count_tx_errors_and_keep_ns() {
    let mut cfg = v2(1, 2, 3, 4);
    cfg.send_seq = true;
    let mut s = DataSession::new(cfg).unwrap();
    assert_eq!(
        s.encapsulate(&mut [0u8; 9]),
        Err(DataError::NoHeadroom {
            room: 9,
            header_len: 10
        })
    );
    let mut big = vec![0u8; 65528];
    assert_eq!(
        s.encapsulate(&mut big),
        Err(DataError::TooLong {
            len: 65528,
            max: 65527
        })
    );
    assert!(s.encapsulate(&mut big[..65527]).is_ok());
    assert_eq!(
        s.encapsulate_at(&mut [0u8; 12], 13),
        Err(DataError::BadOffset {
            offset: 13,
            len: 12
        })
    );
    assert_eq!(s.next_ns(), 1, "only the successful packet took a number");
    s.count_tx_error();
    let st = s.stats();
    assert_eq!((st.tx_packets, st.tx_bytes, st.tx_errors), (1, 65527, 4));
}

// ---------------------------------------------------------------------------------------------
// Reordering (ReorderQueue)
// ---------------------------------------------------------------------------------------------

/// Feeds `rx` (reordering on) the datagrams with these sequence numbers at these times
/// (milliseconds after `t0`), as a data plane does: deliver, hold, then pop what is ready.
/// Returns the payloads delivered, in order.
fn reorder_run(
    version: Version,
    arrivals: &[(u32, u64)],
    timeout_ms: u64,
) -> (Vec<u32>, DataSession, ReorderQueue) {
    let (tx, rx) = seq_pair(version);
    let mut rx = rx.with_reorder(true);
    let mut q = ReorderQueue::new(Duration::from_millis(timeout_ms));
    let t0 = Instant::now();
    let mut out = Vec::new();
    let num = |p: &[u8]| u32::from_be_bytes(p.try_into().unwrap());
    for &(ns, ms) in arrivals {
        let d = with_ns(&tx, version, ns, &ns.to_be_bytes());
        let now = t0 + Duration::from_millis(ms);
        match rx.receive(&d) {
            Ok(Received::Deliver(p)) => out.push(num(p)),
            Ok(Received::Ahead { ns, payload }) => q.hold(&mut rx, ns, d.len(), payload, now),
            Err(_) => {}
        }
        while let Some(h) = q.pop_ready(&mut rx, now) {
            out.push(num(&h.payload));
        }
    }
    (out, rx, q)
}

/// Packets that arrive out of order within the timeout are delivered in order; none is
/// discarded; `rx_oos_packets` counts the ones that came early.
#[test]
fn reorder_queue_puts_early_packets_back_in_order() {
    for version in [Version::V2, Version::V3] {
        let arrivals = [(0, 0), (2, 1), (3, 2), (1, 3), (5, 4), (4, 5), (6, 6)];
        let (out, rx, q) = reorder_run(version, &arrivals, 100);
        assert_eq!(out, vec![0, 1, 2, 3, 4, 5, 6], "{version:?}");
        assert!(q.is_empty());
        let st = rx.stats();
        assert_eq!(st.rx_packets, 7);
        assert_eq!(
            (st.rx_oos_packets, st.rx_seq_discards, st.rx_errors),
            (3, 0, 0)
        );
        assert_eq!(rx.expected_nr(), 7);
    }
}

/// A lost packet holds the ones after it for the timeout only; then they are delivered (the
/// gap given up on) and a late copy of the lost one is behind: discarded.
#[test]
fn reorder_queue_gives_up_on_a_gap_after_the_timeout() {
    let arrivals = [(0, 0), (2, 1), (3, 2), (4, 30), (5, 60), (1, 70), (6, 71)];
    let (out, rx, _) = reorder_run(Version::V3, &arrivals, 50);
    // 2, 3, 4 wait for 1; at 60 ms packet 2 has waited 59 ms: 2..5 go, 1 is then too late.
    assert_eq!(out, vec![0, 2, 3, 4, 5, 6]);
    let st = rx.stats();
    assert_eq!(st.rx_packets, 6);
    assert_eq!(st.rx_errors, 1, "the late packet 1: outside the window");
}

/// Duplicates of a held packet are discarded; a peer cannot make one session hold more
/// than REORDER_MAX_HELD packets (the oldest goes out, gap or not).
#[test]
fn reorder_queue_drops_duplicates_and_is_bounded() {
    let mut arrivals = vec![(0, 0), (2, 1), (2, 1), (3, 1)];
    let (out, rx, q) = reorder_run(Version::V3, &arrivals, 1000);
    assert_eq!(out, vec![0]);
    assert_eq!(q.len(), 2);
    assert_eq!(rx.stats().rx_seq_discards, 1);
    // Every other number missing: each packet past the bound forces the oldest out alone.
    arrivals = vec![(0, 0)];
    arrivals.extend((1..=REORDER_MAX_HELD as u32 + 10).map(|i| (2 * i, 1)));
    let (out, _, q) = reorder_run(Version::V3, &arrivals, 1000);
    assert_eq!(q.len(), REORDER_MAX_HELD);
    assert_eq!(out.len(), 1 + 10, "ten forced out");
    assert_eq!(&out[..4], &[0, 2, 4, 6], "in order");
    // And no more than REORDER_MAX_BYTES of payload: 20 KiB datagrams, every other missing.
    let (tx, rx) = seq_pair(Version::V3);
    let mut rx = rx.with_reorder(true);
    let mut q = ReorderQueue::new(Duration::from_secs(1));
    let now = Instant::now();
    let big = vec![7u8; 20 * 1024];
    assert!(rx.receive(&with_ns(&tx, Version::V3, 0, &big)).is_ok());
    let mut forced = 0;
    for i in 1..40u32 {
        let d = with_ns(&tx, Version::V3, 2 * i, &big);
        if let Ok(Received::Ahead { ns, payload }) = rx.receive(&d) {
            q.hold(&mut rx, ns, d.len(), payload, now);
        }
        while q.pop_ready(&mut rx, now).is_some() {
            forced += 1;
        }
        assert!(q.len() * big.len() <= REORDER_MAX_BYTES);
    }
    assert_eq!(forced, 39 - REORDER_MAX_BYTES / big.len());
}

/// Without reordering `receive` never holds: out-of-sequence packets are discarded as by
/// `decapsulate` (the kernel's `reorder_timeout` 0).
#[test]
fn without_reordering_receive_discards_as_before() {
    let (tx, mut rx) = seq_pair(Version::V3);
    assert!(matches!(
        rx.receive(&with_ns(&tx, Version::V3, 0, b"p")),
        Ok(Received::Deliver(_))
    ));
    assert_eq!(
        rx.receive(&with_ns(&tx, Version::V3, 2, b"p")),
        Err(Discard::OutOfSequence { ns: 2, expected: 1 })
    );
}
