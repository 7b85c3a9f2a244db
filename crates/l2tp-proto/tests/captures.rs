//! Decode every packet of the real xl2tpd captures in `shared/captures/*.hex` and pin down the
//! facts listed in `shared/captures/README.md`.
//!
//! The shared directory is found via `L2TP_SHARED_DIR`, else by the repository layout:
//! `<repo>/../shared` (CI: a fresh clone with `shared/` beside it).

use l2tp_proto::wire::*;

/// One packet of a `.hex` file: direction label and L2TP bytes.
struct Pkt {
    dir: String,
    bytes: Vec<u8>,
}

fn load(name: &str) -> Vec<Pkt> {
    l2tp_testdata::capture(name)
        .into_iter()
        .map(|(dir, bytes)| Pkt { dir, bytes })
        .collect()
}

/// A decoded packet: control message or data header + payload.
#[derive(Debug)]
enum Decoded {
    Control(ControlMessage),
    Data(DataHeader, Vec<u8>),
}

fn decode(p: &Pkt, secret: Option<&[u8]>) -> Decoded {
    match peek(&p.bytes, Encap::Udp).unwrap() {
        Peek::Control { .. } => {
            let m = ControlMessage::parse(&p.bytes, Encap::Udp, secret)
                .unwrap_or_else(|e| panic!("{} {}: {e}", p.dir, hex::encode(&p.bytes)));
            // Every real message re-encodes to exactly the captured bytes.
            assert_eq!(m.to_bytes(Encap::Udp, secret).unwrap(), p.bytes, "{m:?}");
            Decoded::Control(m)
        }
        Peek::Data { .. } => {
            let (h, payload) = DataHeader::parse_v2_payload(&p.bytes).unwrap();
            Decoded::Data(h, payload.to_vec())
        }
    }
}

/// Name as in the tshark listing ("ZLB" for no AVPs, "Hello" as tshark prints it).
fn label(d: &Decoded) -> String {
    match d {
        Decoded::Control(m) if m.is_zlb() => "ZLB".into(),
        Decoded::Control(m) => match m.message_type().unwrap() {
            MessageType::Hello => "Hello".into(),
            t => t.name().into(),
        },
        Decoded::Data(..) => "data".into(),
    }
}

fn all_capture_names() -> Vec<String> {
    let dir = l2tp_testdata::shared_dir().join("captures");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().into_string().unwrap();
            n.strip_suffix(".hex").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

const SECRET: &[u8] = b"s3cr3t-example";

/// `"DIR TYPE TUNNEL SESSION NS/NR"` for each control message of a capture.
fn control_listing(name: &str) -> Vec<String> {
    load(name)
        .iter()
        .filter_map(|p| {
            let d = decode(p, Some(SECRET));
            let Decoded::Control(m) = &d else { return None };
            let dir = if p.dir.contains("LAC") {
                p.dir.as_str()
            } else {
                "-"
            };
            let h = m.header;
            Some(format!(
                "{dir} {} {} {} {}/{}",
                label(&d),
                h.tunnel_id,
                h.session_id,
                h.ns,
                h.nr
            ))
        })
        .collect()
}

fn controls(name: &str) -> Vec<ControlMessage> {
    load(name)
        .iter()
        .filter_map(|p| match decode(p, Some(SECRET)) {
            Decoded::Control(m) => Some(m),
            Decoded::Data(..) => None,
        })
        .collect()
}

fn values(m: &ControlMessage) -> Vec<AvpValue> {
    m.avps.iter().map(|a| a.value.clone()).collect()
}

#[test]
fn every_packet_of_every_capture_decodes_and_control_messages_reencode_byte_exact() {
    let names = all_capture_names();
    assert!(
        names.len() >= 9,
        "expected the 9 capture files, found {names:?}"
    );
    let mut total = 0;
    for n in &names {
        let pkts = load(n);
        assert!(!pkts.is_empty(), "{n}: empty");
        for p in &pkts {
            // decode() asserts byte-exact re-encoding of control messages.
            match decode(p, Some(SECRET)) {
                Decoded::Control(m) => {
                    assert_eq!(m.header.version, Version::V2);
                    // Also decodes without a secret (no AVP in these files has H set).
                    assert_eq!(
                        ControlMessage::parse(&p.bytes, Encap::Udp, None).unwrap(),
                        m
                    );
                }
                Decoded::Data(h, payload) => {
                    assert!(matches!(
                        h,
                        DataHeader::V2 {
                            sequence: None,
                            offset: None,
                            ..
                        }
                    ));
                    assert_eq!(&payload[..2], &[0xff, 0x03], "{n}: PPP address/control");
                }
            }
            total += 1;
        }
    }
    assert_eq!(total, 186, "packets in all .hex files");
}

#[test]
fn control_message_sequences_match_the_readme_listings() {
    for (name, want) in [
        ("xl2tpd-v2-challenge", CHALLENGE),
        ("xl2tpd-v2-kernel-ppp", KERNEL_PPP),
        (
            "xl2tpd-v2-retransmit-blackholed-lns",
            RETRANSMIT_BLACKHOLED_LNS,
        ),
        (
            "xl2tpd-v2-retransmit-hello-lns-stopped",
            RETRANSMIT_HELLO_LNS_STOPPED,
        ),
        (
            "xl2tpd-v2-retransmit-unreachable-lns",
            RETRANSMIT_UNREACHABLE_LNS,
        ),
        (
            "xl2tpd-v2-userspace-cdn-hello-stopccn",
            USERSPACE_CDN_HELLO_STOPCCN,
        ),
        ("xl2tpd-v2-userspace-challenge", USERSPACE_CHALLENGE),
        ("xl2tpd-v2-userspace-hidden-bit", USERSPACE_HIDDEN_BIT),
        ("xl2tpd-v2-userspace-ppp-data", USERSPACE_PPP_DATA),
    ] {
        assert_eq!(control_listing(name), want, "{name}");
    }
}

/// SCCRQ/SCCRP AVP order and values as xl2tpd 1.3.18 sends them.
#[test]
fn xl2tpd_sccrq_and_sccrp_avps() {
    let m = controls("xl2tpd-v2-userspace-cdn-hello-stopccn");
    let expect = |mt, host: &str, tid| {
        vec![
            AvpValue::MessageType(mt),
            AvpValue::ProtocolVersion {
                version: 1,
                revision: 0,
            },
            AvpValue::FramingCapabilities(3),
            AvpValue::BearerCapabilities(0),
            AvpValue::FirmwareRevision(0x0690),
            AvpValue::HostName(host.as_bytes().to_vec()),
            AvpValue::VendorName(b"xelerance.com".to_vec()),
            AvpValue::AssignedTunnelId(tid),
            AvpValue::ReceiveWindowSize(4),
        ]
    };
    assert_eq!(
        values(&m[0]),
        expect(MessageType::Sccrq, "lac.example", 44424)
    );
    assert_eq!(
        values(&m[1]),
        expect(MessageType::Sccrp, "lns.example", 13548)
    );
    // M bits: Bearer Capabilities set, Firmware Revision and Vendor Name clear.
    let mbits: Vec<bool> = m[0].avps.iter().map(|a| a.mandatory).collect();
    assert_eq!(
        mbits,
        [true, true, true, true, false, true, false, true, true]
    );
    // SCCCN has only the Message Type; ZLB none.
    assert_eq!(values(&m[2]), [AvpValue::MessageType(MessageType::Scccn)]);
    assert!(m[4].is_zlb());
}

#[test]
fn xl2tpd_session_messages_avps() {
    let m = controls("xl2tpd-v2-userspace-cdn-hello-stopccn");
    assert_eq!(
        values(&m[3]),
        [
            AvpValue::MessageType(MessageType::Icrq),
            AvpValue::AssignedSessionId(60959),
            AvpValue::CallSerialNumber(1),
            AvpValue::BearerType(0),
        ]
    );
    assert_eq!(
        values(&m[5]),
        [
            AvpValue::MessageType(MessageType::Icrp),
            AvpValue::AssignedSessionId(4507)
        ]
    );
    assert_eq!(
        values(&m[6]),
        [
            AvpValue::MessageType(MessageType::Iccn),
            AvpValue::TxConnectSpeed(0),
            AvpValue::FramingType(1),
            AvpValue::RxConnectSpeed(0),
        ]
    );
    assert!(!m[6].avps[3].mandatory, "Rx Connect Speed has M clear");
    // CDN: Result Code of length 10 (result 1, error 0, no message), Assigned Session ID.
    assert_eq!(
        values(&m[9]),
        [
            AvpValue::MessageType(MessageType::Cdn),
            AvpValue::ResultCode(ResultCode {
                result: 1,
                error: Some(0),
                message: None
            }),
            AvpValue::AssignedSessionId(60959),
        ]
    );
    assert_eq!(m[11].message_type(), Some(MessageType::Hello));
    assert_eq!(m[11].avps.len(), 1);
}

fn stopccn_result(m: &ControlMessage) -> (u16, Option<u16>, Option<String>) {
    assert_eq!(m.message_type(), Some(MessageType::StopCcn));
    m.find(|v| match v {
        AvpValue::ResultCode(rc) => Some((
            rc.result,
            rc.error,
            rc.message
                .as_ref()
                .map(|b| String::from_utf8(b.clone()).unwrap()),
        )),
        _ => None,
    })
    .expect("StopCCN without Result Code")
}

#[test]
fn stopccn_result_codes_and_messages() {
    let text = |s: &str| (1, Some(0), Some(s.to_string()));
    for (name, idx, tid, msg) in [
        (
            "xl2tpd-v2-userspace-cdn-hello-stopccn",
            15,
            44424,
            "Server closing",
        ),
        (
            "xl2tpd-v2-userspace-hidden-bit",
            11,
            40956,
            "Server closing",
        ),
        ("xl2tpd-v2-userspace-ppp-data", 11, 10872, "Server closing"),
        ("xl2tpd-v2-userspace-challenge", 11, 7207, "Goodbye!"),
        (
            "xl2tpd-v2-retransmit-hello-lns-stopped",
            16,
            54193,
            "Timeout",
        ),
    ] {
        let m = &controls(name)[idx];
        assert_eq!(stopccn_result(m), text(msg), "{name}");
        // StopCCN: Message Type, [Random Vector], Assigned Tunnel ID, Result Code.
        let tunnel = m.find(|v| match v {
            AvpValue::AssignedTunnelId(t) => Some(*t),
            _ => None,
        });
        // The Assigned Tunnel ID is the sender's own ID (the one its peer puts in headers).
        assert_eq!(tunnel, Some(tid), "{name}");
    }
    // Retransmitted StopCCNs after the SCCRQ timeout: tunnel ID 0 in the header, "Timeout".
    for name in [
        "xl2tpd-v2-retransmit-blackholed-lns",
        "xl2tpd-v2-retransmit-unreachable-lns",
    ] {
        let m = controls(name);
        for s in &m[5..9] {
            assert_eq!(s.header.tunnel_id, 0);
            assert_eq!(stopccn_result(s), text("Timeout"), "{name}");
        }
        // All four StopCCNs are the same message (retransmissions keep Ns/Nr).
        assert!(m[5..9].iter().all(|s| s == &m[5]));
        assert!(
            m[..5].iter().all(|s| s == &m[0]),
            "SCCRQ retransmissions identical"
        );
    }
}

#[test]
fn retransmitted_hello_keeps_ns_5_nr_2() {
    let m = controls("xl2tpd-v2-retransmit-hello-lns-stopped");
    for h in &m[11..16] {
        assert_eq!(h.message_type(), Some(MessageType::Hello));
        assert_eq!((h.header.ns, h.header.nr), (5, 2));
    }
    for s in &m[16..21] {
        assert_eq!((s.header.ns, s.header.nr), (6, 2));
        assert_eq!(stopccn_result(s).2.as_deref(), Some("Timeout"));
    }
}

#[test]
fn hidden_bit_capture_has_random_vector_after_message_type_and_no_h_bits() {
    for m in controls("xl2tpd-v2-userspace-hidden-bit") {
        assert!(m.avps.iter().all(|a| !a.hidden));
        if m.is_zlb() {
            continue;
        }
        match &m.avps[1].value {
            AvpValue::RandomVector(rv) => assert_eq!(rv.len(), 16),
            v => panic!("second AVP of {:?} is {v:?}", m.message_type()),
        }
    }
}

fn md5_response(msg_type: u8, challenge: &[u8]) -> [u8; 16] {
    use md5::{Digest, Md5};
    Md5::new()
        .chain_update([msg_type])
        .chain_update(SECRET)
        .chain_update(challenge)
        .finalize()
        .into()
}

/// Challenge Response = MD5(message type byte ‖ secret ‖ challenge): 2 in SCCRP, 3 in SCCCN.
#[test]
fn challenge_responses_match_md5_of_type_secret_challenge() {
    for name in [
        "xl2tpd-v2-challenge",
        "xl2tpd-v2-userspace-challenge",
        "xl2tpd-v2-userspace-hidden-bit",
    ] {
        let m = controls(name);
        let challenge = |m: &ControlMessage| {
            m.find(|v| match v {
                AvpValue::Challenge(c) => Some(c.clone()),
                _ => None,
            })
            .unwrap()
        };
        let response = |m: &ControlMessage| {
            m.find(|v| match v {
                AvpValue::ChallengeResponse(r) => Some(*r),
                _ => None,
            })
            .unwrap()
        };
        let (sccrq, sccrp, scccn) = (&m[0], &m[1], &m[2]);
        assert_eq!(scccn.message_type(), Some(MessageType::Scccn));
        assert_eq!(challenge(sccrq).len(), 16);
        assert_eq!(
            response(sccrp),
            md5_response(2, &challenge(sccrq)),
            "{name} SCCRP"
        );
        assert_eq!(
            response(scccn),
            md5_response(3, &challenge(sccrp)),
            "{name} SCCCN"
        );
        // In SCCRP the Challenge Response precedes the LNS's own Challenge, at the end.
        let n = sccrp.avps.len();
        assert!(matches!(
            sccrp.avps[n - 2].value,
            AvpValue::ChallengeResponse(_)
        ));
        assert!(matches!(sccrp.avps[n - 1].value, AvpValue::Challenge(_)));
    }
}

#[test]
fn userspace_data_messages_have_flags_0x4002_and_ppp_payloads() {
    let pkts = load("xl2tpd-v2-userspace-ppp-data");
    let data: Vec<&Pkt> = pkts.iter().filter(|p| p.bytes[0] & 0x80 == 0).collect();
    assert_eq!(data.len(), 16);
    let mut payloads = Vec::new();
    for p in &data {
        assert_eq!(u16::from_be_bytes([p.bytes[0], p.bytes[1]]), 0x4002);
        let (h, off) = DataHeader::parse_v2(&p.bytes).unwrap();
        assert_eq!(off, 8);
        let (tunnel, session) = if p.dir == "LAC>LNS" {
            (36366, 3208)
        } else {
            (10872, 30449)
        };
        assert_eq!(
            h,
            DataHeader::V2 {
                tunnel_id: tunnel,
                session_id: session,
                sequence: None,
                offset: None,
                length_present: true,
                priority: false
            }
        );
        // Length covers the whole datagram.
        assert_eq!(
            usize::from(u16::from_be_bytes([p.bytes[2], p.bytes[3]])),
            p.bytes.len()
        );
        let mut re = Vec::new();
        h.emit(Encap::Udp, p.bytes.len() - off, &mut re).unwrap();
        assert_eq!(re, &p.bytes[..off], "header re-encodes byte-exact");
        payloads.push(&p.bytes[off..]);
    }
    // LCP Configure-Request with MRU 1400 (option 1, length 4, 0x0578).
    assert_eq!(&payloads[0][..4], &[0xff, 0x03, 0xc0, 0x21]);
    assert_eq!(payloads[0][4], 1, "Configure-Request");
    assert_eq!(&payloads[0][8..12], &[1, 4, 0x05, 0x78]);
    // ICMP echo request 10.201.0.10 → 10.201.0.1 (PPP protocol 0x0021, IPv4).
    let icmp = payloads[8];
    assert_eq!(&icmp[2..4], &[0x00, 0x21]);
    assert_eq!(&icmp[4 + 12..4 + 20], &[10, 201, 0, 10, 10, 201, 0, 1]);
    assert_eq!(icmp[4 + 9], 1, "ICMP");
    // LCP Terminate-Request carrying "fake pppd done", then Terminate-Ack.
    assert_eq!(payloads[14][4], 5);
    assert!(payloads[14].ends_with(b"fake pppd done"));
    assert_eq!(payloads[15][4], 6);
}

#[test]
fn kernel_mode_data_messages_have_flags_0x0002() {
    for name in ["xl2tpd-v2-kernel-ppp", "xl2tpd-v2-challenge"] {
        let pkts = load(name);
        let data: Vec<&Pkt> = pkts.iter().filter(|p| p.bytes[0] & 0x80 == 0).collect();
        assert_eq!(
            data.len(),
            if name.contains("kernel") { 26 } else { 27 },
            "{name}"
        );
        for p in data {
            assert_eq!(u16::from_be_bytes([p.bytes[0], p.bytes[1]]), 0x0002);
            let (h, off) = DataHeader::parse_v2(&p.bytes).unwrap();
            assert_eq!(off, 6);
            assert!(matches!(
                h,
                DataHeader::V2 {
                    length_present: false,
                    ..
                }
            ));
            assert_eq!(
                peek(&p.bytes, Encap::Udp).unwrap(),
                match h {
                    DataHeader::V2 {
                        tunnel_id,
                        session_id,
                        ..
                    } => Peek::Data {
                        version: Version::V2,
                        tunnel_id: Some(tunnel_id),
                        session_id: session_id.into()
                    },
                    DataHeader::V3 { .. } => unreachable!(),
                }
            );
        }
    }
}

/// Control messages of `xl2tpd-v2-challenge` in capture order: direction (group 2 only), type,
/// tunnel ID, session ID, Ns/Nr (types and IDs as in the README listing).
const CHALLENGE: &[&str] = &[
    "- SCCRQ 0 0 0/0",
    "- SCCRP 34135 0 0/1",
    "- SCCCN 63782 0 1/1",
    "- ZLB 34135 0 1/2",
    "- ICRQ 63782 0 2/1",
    "- ICRP 34135 37083 1/3",
    "- ZLB 34135 0 2/3",
    "- ICCN 63782 28531 3/2",
    "- ZLB 34135 37083 2/4",
    "- StopCCN 63782 0 4/2",
    "- ZLB 34135 0 2/5",
];

/// Control messages of `xl2tpd-v2-kernel-ppp` in capture order: direction (group 2 only), type,
/// tunnel ID, session ID, Ns/Nr (types and IDs as in the README listing).
const KERNEL_PPP: &[&str] = &[
    "- SCCRQ 0 0 0/0",
    "- SCCRP 53126 0 0/1",
    "- SCCCN 50276 0 1/1",
    "- ZLB 53126 0 1/2",
    "- ICRQ 50276 0 2/1",
    "- ICRP 53126 2470 1/3",
    "- ZLB 53126 0 2/3",
    "- ICCN 50276 51285 3/2",
    "- ZLB 53126 2470 2/4",
    "- StopCCN 50276 0 4/2",
    "- ZLB 53126 0 2/5",
];

/// Control messages of `xl2tpd-v2-retransmit-blackholed-lns` in capture order: direction (group 2 only), type,
/// tunnel ID, session ID, Ns/Nr (types and IDs as in the README listing).
const RETRANSMIT_BLACKHOLED_LNS: &[&str] = &[
    "LAC>LNS SCCRQ 0 0 0/0",
    "LAC>LNS SCCRQ 0 0 0/0",
    "LAC>LNS SCCRQ 0 0 0/0",
    "LAC>LNS SCCRQ 0 0 0/0",
    "LAC>LNS SCCRQ 0 0 0/0",
    "LAC>LNS StopCCN 0 0 1/0",
    "LAC>LNS StopCCN 0 0 1/0",
    "LAC>LNS StopCCN 0 0 1/0",
    "LAC>LNS StopCCN 0 0 1/0",
];

/// Control messages of `xl2tpd-v2-retransmit-hello-lns-stopped` in capture order: direction (group 2 only), type,
/// tunnel ID, session ID, Ns/Nr (types and IDs as in the README listing).
const RETRANSMIT_HELLO_LNS_STOPPED: &[&str] = &[
    "LAC>LNS SCCRQ 0 0 0/0",
    "LNS>LAC SCCRP 54193 0 0/1",
    "LAC>LNS SCCCN 32447 0 1/1",
    "LAC>LNS ICRQ 32447 0 2/1",
    "LNS>LAC ZLB 54193 0 1/2",
    "LNS>LAC ICRP 54193 34761 1/3",
    "LAC>LNS ICCN 32447 19480 3/2",
    "LNS>LAC ZLB 54193 0 2/3",
    "LNS>LAC ZLB 54193 34761 2/4",
    "LAC>LNS CDN 32447 19480 4/2",
    "LNS>LAC ZLB 54193 34761 2/5",
    "LAC>LNS Hello 32447 0 5/2",
    "LAC>LNS Hello 32447 0 5/2",
    "LAC>LNS Hello 32447 0 5/2",
    "LAC>LNS Hello 32447 0 5/2",
    "LAC>LNS Hello 32447 0 5/2",
    "LAC>LNS StopCCN 32447 0 6/2",
    "LAC>LNS StopCCN 32447 0 6/2",
    "LAC>LNS StopCCN 32447 0 6/2",
    "LAC>LNS StopCCN 32447 0 6/2",
    "LAC>LNS StopCCN 32447 0 6/2",
];

/// Control messages of `xl2tpd-v2-retransmit-unreachable-lns` in capture order: direction (group 2 only), type,
/// tunnel ID, session ID, Ns/Nr (types and IDs as in the README listing).
const RETRANSMIT_UNREACHABLE_LNS: &[&str] = &[
    "- SCCRQ 0 0 0/0",
    "- SCCRQ 0 0 0/0",
    "- SCCRQ 0 0 0/0",
    "- SCCRQ 0 0 0/0",
    "- SCCRQ 0 0 0/0",
    "- StopCCN 0 0 1/0",
    "- StopCCN 0 0 1/0",
    "- StopCCN 0 0 1/0",
    "- StopCCN 0 0 1/0",
];

/// Control messages of `xl2tpd-v2-userspace-cdn-hello-stopccn` in capture order: direction (group 2 only), type,
/// tunnel ID, session ID, Ns/Nr (types and IDs as in the README listing).
const USERSPACE_CDN_HELLO_STOPCCN: &[&str] = &[
    "LAC>LNS SCCRQ 0 0 0/0",
    "LNS>LAC SCCRP 44424 0 0/1",
    "LAC>LNS SCCCN 13548 0 1/1",
    "LAC>LNS ICRQ 13548 0 2/1",
    "LNS>LAC ZLB 44424 0 1/2",
    "LNS>LAC ICRP 44424 60959 1/3",
    "LAC>LNS ICCN 13548 4507 3/2",
    "LNS>LAC ZLB 44424 0 2/3",
    "LNS>LAC ZLB 44424 60959 2/4",
    "LAC>LNS CDN 13548 4507 4/2",
    "LNS>LAC ZLB 44424 60959 2/5",
    "LNS>LAC Hello 44424 0 2/5",
    "LAC>LNS ZLB 13548 0 5/3",
    "LAC>LNS Hello 13548 0 5/3",
    "LNS>LAC ZLB 44424 0 3/6",
    "LAC>LNS StopCCN 13548 0 6/3",
    "LNS>LAC ZLB 44424 0 3/7",
];

/// Control messages of `xl2tpd-v2-userspace-challenge` in capture order: direction (group 2 only), type,
/// tunnel ID, session ID, Ns/Nr (types and IDs as in the README listing).
const USERSPACE_CHALLENGE: &[&str] = &[
    "LAC>LNS SCCRQ 0 0 0/0",
    "LNS>LAC SCCRP 7207 0 0/1",
    "LAC>LNS SCCCN 35593 0 1/1",
    "LAC>LNS ICRQ 35593 0 2/1",
    "LNS>LAC ZLB 7207 0 1/2",
    "LNS>LAC ICRP 7207 45793 1/3",
    "LAC>LNS ICCN 35593 28428 3/2",
    "LNS>LAC ZLB 7207 0 2/3",
    "LNS>LAC ZLB 7207 45793 2/4",
    "LAC>LNS CDN 35593 28428 4/2",
    "LNS>LAC ZLB 7207 45793 2/5",
    "LAC>LNS StopCCN 35593 0 5/2",
    "LNS>LAC ZLB 7207 0 2/6",
];

/// Control messages of `xl2tpd-v2-userspace-hidden-bit` in capture order: direction (group 2 only), type,
/// tunnel ID, session ID, Ns/Nr (types and IDs as in the README listing).
const USERSPACE_HIDDEN_BIT: &[&str] = &[
    "LAC>LNS SCCRQ 0 0 0/0",
    "LNS>LAC SCCRP 51723 0 0/1",
    "LAC>LNS SCCCN 40956 0 1/1",
    "LNS>LAC ZLB 51723 0 1/2",
    "LAC>LNS ICRQ 40956 0 2/1",
    "LNS>LAC ICRP 51723 37547 1/3",
    "LNS>LAC ZLB 51723 0 2/3",
    "LAC>LNS ICCN 40956 35731 3/2",
    "LNS>LAC ZLB 51723 37547 2/4",
    "LNS>LAC CDN 51723 37547 2/4",
    "LAC>LNS ZLB 40956 35731 4/3",
    "LNS>LAC StopCCN 51723 0 3/4",
    "LAC>LNS ZLB 40956 0 4/4",
];

/// Control messages of `xl2tpd-v2-userspace-ppp-data` in capture order: direction (group 2 only), type,
/// tunnel ID, session ID, Ns/Nr (types and IDs as in the README listing).
const USERSPACE_PPP_DATA: &[&str] = &[
    "LAC>LNS SCCRQ 0 0 0/0",
    "LNS>LAC SCCRP 10872 0 0/1",
    "LAC>LNS SCCCN 36366 0 1/1",
    "LAC>LNS ICRQ 36366 0 2/1",
    "LNS>LAC ZLB 10872 0 1/2",
    "LNS>LAC ICRP 10872 30449 1/3",
    "LNS>LAC ZLB 10872 0 2/3",
    "LAC>LNS ICCN 36366 3208 3/2",
    "LNS>LAC ZLB 10872 30449 2/4",
    "LAC>LNS CDN 36366 3208 4/2",
    "LNS>LAC ZLB 10872 30449 2/5",
    "LAC>LNS StopCCN 36366 0 5/2",
    "LNS>LAC ZLB 10872 0 2/6",
];
