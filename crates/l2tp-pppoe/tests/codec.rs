//! Wire codec: byte-exact frames in RFC 2516 §4/§5 layout, error reporting, and tshark's
//! dissector agreeing with what we emit.

mod common;

use common::*;
use l2tp_pppoe::codec::{
    Code, Discovery, Error, EthHeader, SessionFrame, Tag, Vlan, BROADCAST, ETHERTYPE_DISCOVERY,
    ETHERTYPE_SESSION, MAX_TAGS,
};
use l2tp_pppoe::Event;

/// A PADI as RFC 2516 §5.1 lays it out: broadcast, EtherType 0x8863, VER=1 TYPE=1, CODE 0x09,
/// SESSION_ID 0, LENGTH 12, an empty Service-Name and a 4-byte Host-Uniq.
const PADI: &str = concat!(
    "ffffffffffff",
    "02c100000001",
    "8863", // Ethernet
    "11",
    "09",
    "0000",
    "000c",     // VER/TYPE, CODE, SESSION_ID, LENGTH
    "01010000", // Service-Name, empty
    "01030004",
    "deadbeef", // Host-Uniq
);

#[test]
fn padi_parses_and_reemits_byte_exact() {
    let bytes = hex::decode(PADI).unwrap();
    let p = Discovery::parse(&bytes).expect("parse");
    assert_eq!(p.eth.dst, BROADCAST);
    assert_eq!(p.eth.src, CLIENT);
    assert_eq!(p.eth.vlan, None);
    assert_eq!((p.code, p.session_id), (Code::Padi, 0));
    assert_eq!(
        p.tags,
        vec![
            Tag::ServiceName(vec![]),
            Tag::HostUniq(vec![0xde, 0xad, 0xbe, 0xef])
        ]
    );
    assert_eq!(p.to_bytes().unwrap(), bytes);
}

#[test]
fn pads_with_session_id_and_every_known_tag_byte_exact() {
    let tags = vec![
        Tag::ServiceName(b"isp".to_vec()),
        Tag::AcName(b"ac".to_vec()),
        Tag::HostUniq(vec![1]),
        Tag::AcCookie(vec![2, 3]),
        Tag::VendorSpecific(vec![0, 0, 0x0d, 0xe9, 9]),
        Tag::RelaySessionId(vec![4]),
        Tag::PppMaxPayload(1500),
        Tag::ServiceNameError(vec![]),
        Tag::AcSystemError(b"x".to_vec()),
        Tag::GenericError(b"y".to_vec()),
        Tag::Unknown {
            tag_type: 0x7777,
            value: vec![5, 6],
        },
        Tag::EndOfList,
    ];
    let p = Discovery {
        eth: EthHeader {
            dst: CLIENT,
            src: AC_MAC,
            vlan: None,
            ether_type: ETHERTYPE_DISCOVERY,
        },
        code: Code::Pads,
        session_id: 0x1234,
        tags,
    };
    let bytes = p.to_bytes().unwrap();
    let expect = hex::decode(concat!(
        "02c100000001",
        "02ac00000001",
        "8863",
        "11",
        "65",
        "1234",
        "0044",
        "01010003",
        "697370",
        "01020002",
        "6163",
        "01030001",
        "01",
        "01040002",
        "0203",
        "01050005",
        "00000de909",
        "01100001",
        "04",
        "01200002",
        "05dc",
        "02010000",
        "02020001",
        "78",
        "02030001",
        "79",
        "77770002",
        "0506",
        "00000000",
    ))
    .unwrap();
    assert_eq!(bytes, expect);
    assert_eq!(Discovery::parse(&bytes).unwrap(), p);
}

#[test]
fn vlan_tagged_frame_round_trips() {
    let mut bytes = hex::decode(PADI).unwrap();
    // Insert 802.1Q: TPID 0x8100, PCP 5, VID 0x123.
    bytes.splice(12..12, [0x81, 0x00, 0xa1, 0x23]);
    let p = Discovery::parse(&bytes).unwrap();
    assert_eq!(p.eth.vlan, Some(Vlan { id: 0x123, pcp: 5 }));
    assert_eq!(p.eth.ether_type, ETHERTYPE_DISCOVERY);
    assert_eq!(p.to_bytes().unwrap(), bytes);
}

#[test]
fn ethernet_padding_after_length_ignored() {
    let mut bytes = hex::decode(PADI).unwrap();
    bytes.resize(60, 0);
    let p = Discovery::parse(&bytes).unwrap();
    assert_eq!(p.tags.len(), 2);
}

#[test]
fn errors_name_what_and_where() {
    let good = hex::decode(PADI).unwrap();
    // LENGTH past the frame.
    let mut b = good.clone();
    b[19] = 0x0d;
    assert_eq!(
        Discovery::parse(&b),
        Err(Error::Truncated {
            what: "PPPoE payload (LENGTH)",
            offset: 20,
            need: 13,
            have: 12
        })
    );
    // Short header.
    assert!(matches!(
        Discovery::parse(&good[..17]),
        Err(Error::Truncated {
            what: "PPPoE header",
            offset: 14,
            ..
        })
    ));
    assert!(matches!(
        Discovery::parse(&good[..10]),
        Err(Error::Truncated {
            what: "Ethernet header",
            ..
        })
    ));
    // VER/TYPE.
    let mut b = good.clone();
    b[14] = 0x21;
    assert_eq!(Discovery::parse(&b), Err(Error::BadVersion(0x21, 14)));
    // TAG_LENGTH past LENGTH: Host-Uniq claims 5 bytes, 4 left.
    let mut b = good.clone();
    b[27] = 5;
    assert_eq!(
        Discovery::parse(&b),
        Err(Error::TagOverrun {
            tag_type: 0x0103,
            offset: 24,
            len: 5,
            have: 4
        })
    );
    // Not PPPoE.
    let mut b = good.clone();
    b[12..14].copy_from_slice(&[0x08, 0x00]);
    assert_eq!(Discovery::parse(&b), Err(Error::NotPppoe(0x0800)));
    // PPP-Max-Payload must be 2 bytes.
    let mut b = good.clone();
    b[24..26].copy_from_slice(&[0x01, 0x20]);
    assert!(matches!(
        Discovery::parse(&b),
        Err(Error::BadTagLength {
            tag_type: 0x0120,
            expected: 2,
            ..
        })
    ));
    // A truncated TAG header (3 bytes left in LENGTH).
    let mut b = good[..27].to_vec();
    b[19] = 7;
    assert!(matches!(
        Discovery::parse(&b),
        Err(Error::Truncated {
            what: "TAG header",
            offset: 24,
            ..
        })
    ));
}

#[test]
fn tag_count_bounded() {
    let mk = |n: usize| Discovery {
        eth: EthHeader {
            dst: BROADCAST,
            src: CLIENT,
            vlan: None,
            ether_type: ETHERTYPE_DISCOVERY,
        },
        code: Code::Padi,
        session_id: 0,
        tags: vec![Tag::ServiceName(vec![]); n],
    };
    assert_eq!(
        Discovery::parse(&mk(MAX_TAGS).to_bytes().unwrap())
            .unwrap()
            .tags
            .len(),
        MAX_TAGS
    );
    assert_eq!(
        Discovery::parse(&mk(MAX_TAGS + 1).to_bytes().unwrap()),
        Err(Error::TooManyTags)
    );
}

#[test]
fn tags_after_end_of_list_not_read() {
    let p = Discovery {
        eth: EthHeader {
            dst: BROADCAST,
            src: CLIENT,
            vlan: None,
            ether_type: ETHERTYPE_DISCOVERY,
        },
        code: Code::Padi,
        session_id: 0,
        tags: vec![
            Tag::ServiceName(vec![]),
            Tag::EndOfList,
            Tag::HostUniq(vec![1]),
        ],
    };
    let parsed = Discovery::parse(&p.to_bytes().unwrap()).unwrap();
    assert_eq!(parsed.tags, vec![Tag::ServiceName(vec![]), Tag::EndOfList]);
}

#[test]
fn session_frame_wrap_unwrap() {
    let eth = EthHeader {
        dst: CLIENT,
        src: AC_MAC,
        vlan: None,
        ether_type: ETHERTYPE_DISCOVERY,
    };
    let lcp = hex::decode("c021010100040000").unwrap(); // protocol 0xc021 + LCP header
    let mut out = Vec::new();
    SessionFrame::emit(&eth, 0x0042, &lcp, &mut out).unwrap();
    assert_eq!(
        out,
        hex::decode(concat!(
            "02c100000001",
            "02ac00000001",
            "8864",
            "1100",
            "0042",
            "0008",
            "c021010100040000"
        ))
        .unwrap()
    );
    out.resize(60, 0);
    let f = SessionFrame::parse(&out).unwrap();
    assert_eq!(
        (f.session_id, f.ppp, f.eth.ether_type),
        (0x42, &lcp[..], ETHERTYPE_SESSION)
    );
    // A discovery frame is not a session frame and vice versa.
    assert_eq!(
        SessionFrame::parse(&hex::decode(PADI).unwrap()),
        Err(Error::NotPppoe(ETHERTYPE_DISCOVERY))
    );
    assert_eq!(
        Discovery::parse(&out),
        Err(Error::NotPppoe(ETHERTYPE_SESSION))
    );
}

/// Run a whole exchange through the AC (plain and VLAN-tagged, with Relay-Session-Id,
/// PPP-Max-Payload and a Vendor-Specific TAG), write every frame to a pcap and have tshark
/// decode it: codes, session IDs and TAGs as we meant them, and no expert warning.
#[test]
fn tshark_decodes_our_frames_without_expert_warnings() {
    if std::process::Command::new("tshark")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("tshark not installed; skipped");
        return;
    }
    let mut cfg = config();
    cfg.max_payload = Some(1500);
    let (mut ac, now) = ac(cfg);
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let run = |ac: &mut l2tp_pppoe::AccessConcentrator, f: Vec<u8>, frames: &mut Vec<Vec<u8>>| {
        ac.handle_frame(now, &f);
        frames.push(f);
        while let Some(t) = ac.poll_transmit() {
            frames.push(t);
        }
    };
    let padi_tags = vec![
        Tag::ServiceName(b"isp-a".to_vec()),
        Tag::HostUniq(b"hu".to_vec()),
        Tag::RelaySessionId(b"relay".to_vec()),
        Tag::PppMaxPayload(1500),
        // Broadband Forum (3561) Agent-Circuit-Id, as a TR-101 intermediate agent inserts it.
        Tag::VendorSpecific(vec![0, 0, 0x0d, 0xe9, 0x01, 0x03, b'a', b'-', b'1']),
    ];
    let mut padi_f = Discovery::parse(&frame(BROADCAST, CLIENT, Code::Padi, 0, padi_tags)).unwrap();
    padi_f.eth.vlan = Some(Vlan { id: 42, pcp: 0 });
    run(&mut ac, padi_f.to_bytes().unwrap(), &mut frames);
    let cookie = cookie_of(&Discovery::parse(frames.last().unwrap()).unwrap());
    let mut padr_f = Discovery::parse(&frame(
        AC_MAC,
        CLIENT,
        Code::Padr,
        0,
        vec![
            Tag::ServiceName(b"isp-a".to_vec()),
            Tag::HostUniq(b"hu".to_vec()),
            Tag::AcCookie(cookie),
            Tag::RelaySessionId(b"relay".to_vec()),
            Tag::PppMaxPayload(1500),
        ],
    ))
    .unwrap();
    padr_f.eth.vlan = Some(Vlan { id: 42, pcp: 0 });
    run(&mut ac, padr_f.to_bytes().unwrap(), &mut frames);
    let Some(Event::SessionRequested { session_id, .. }) = ac.poll_event() else {
        panic!()
    };
    ac.accept(session_id).unwrap();
    ac.terminate(session_id, "admin down").unwrap();
    while let Some(t) = ac.poll_transmit() {
        frames.push(t);
    }
    // An untagged refusal: service not offered.
    let c = discover(&mut ac, now, CLIENT, None);
    run(&mut ac, padr(CLIENT, "isp-z", None, &c), &mut frames);
    assert_eq!(frames.len(), 7);

    let dir = std::env::temp_dir().join(format!("l2tp-pppoe-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("discovery.pcap");
    {
        let file = std::fs::File::create(&path).unwrap();
        let mut w = pcap_file::pcap::PcapWriter::new(file).unwrap();
        for (i, f) in frames.iter().enumerate() {
            let ts = std::time::Duration::from_millis(i as u64);
            w.write_packet(&pcap_file::pcap::PcapPacket::new(ts, f.len() as u32, f))
                .unwrap();
        }
    }
    let fields = std::process::Command::new("tshark")
        .args([
            "-r",
            path.to_str().unwrap(),
            "-Y",
            "pppoed",
            "-T",
            "fields",
            "-E",
            "separator=|",
        ])
        .args([
            "-e",
            "pppoe.code",
            "-e",
            "pppoe.session_id",
            "-e",
            "pppoed.tags.service_name",
        ])
        .args([
            "-e",
            "pppoed.tags.ac_name",
            "-e",
            "pppoed.tags.host_uniq",
            "-e",
            "pppoed.tags.relay_session_id",
        ])
        .args([
            "-e",
            "pppoed.tags.service_name_error",
            "-e",
            "pppoed.tags.generic_error",
            "-e",
            "vlan.id",
        ])
        .output()
        .unwrap();
    assert!(
        fields.status.success(),
        "{}",
        String::from_utf8_lossy(&fields.stderr)
    );
    let out = String::from_utf8(fields.stdout).unwrap();
    let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split('|').collect()).collect();
    assert_eq!(lines.len(), 7, "{out}");
    let sid = format!("0x{session_id:04x}");
    let codes: Vec<&str> = lines.iter().map(|l| l[0]).collect();
    assert_eq!(
        codes,
        ["0x09", "0x07", "0x19", "0x65", "0xa7", "0x19", "0x65"]
    );
    assert_eq!(lines[3][1], sid, "PADS session ID");
    assert_eq!(lines[4][1], sid, "PADT session ID");
    assert_eq!(lines[6][1], "0x0000", "refusing PADS has session ID 0");
    assert!(
        lines[1][2].starts_with("isp-a"),
        "PADO Service-Names: {}",
        lines[1][2]
    );
    assert_eq!(lines[1][3], "test-ac");
    assert_eq!(lines[1][4], hex::encode("hu"));
    assert_eq!(lines[1][5], hex::encode("relay"));
    assert_eq!(lines[3][5], hex::encode("relay"));
    assert_eq!(lines[4][7], "admin down");
    assert_eq!(lines[6][6], "service not offered");
    assert_eq!(lines[1][8], "42", "PADO goes back on the PADI's VLAN");

    let expert = std::process::Command::new("tshark")
        .args(["-r", path.to_str().unwrap(), "-q", "-z", "expert"])
        .output()
        .unwrap();
    let expert = String::from_utf8_lossy(&expert.stdout);
    assert!(
        !expert.contains("Warns") && !expert.contains("Errors") && !expert.contains("Malformed"),
        "tshark expert info:\n{expert}"
    );
    let verbose = std::process::Command::new("tshark")
        .args(["-r", path.to_str().unwrap(), "-V", "-Y", "pppoed"])
        .output()
        .unwrap();
    let verbose = String::from_utf8_lossy(&verbose.stdout);
    assert!(verbose.contains("AC-Cookie"), "{verbose}");
    assert!(verbose.contains("PPP-Max-Payload"), "{verbose}");
    assert!(!verbose.contains("Expert Info"), "{verbose}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A real exchange: ppp 2.4.9's `pppoe-discovery -S isp-a -W c0ffee` against our AC (the
/// `ac_stdio` example behind `tests/interop/pppoe-discovery.sh`), captured on the client's veth.
/// The client's PADI parses and re-emits byte for byte, and our AC answers it today with the
/// same PADO as in the capture, cookie apart (the capture's AC had a random secret).
#[test]
fn real_pppoe_discovery_padi_and_our_pado_from_capture() {
    let file = std::fs::File::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/pppoe-discovery.pcap"
    ))
    .unwrap();
    let mut r = pcap_file::pcap::PcapReader::new(file).unwrap();
    let mut frames = Vec::new();
    while let Some(p) = r.next_packet() {
        frames.push(p.unwrap().data.into_owned());
    }
    assert_eq!(frames.len(), 2);
    let padi = Discovery::parse(&frames[0]).unwrap();
    assert_eq!(
        (padi.code, padi.session_id, padi.eth.dst),
        (Code::Padi, 0, BROADCAST)
    );
    assert_eq!(
        padi.tags,
        vec![
            Tag::ServiceName(b"isp-a".to_vec()),
            Tag::HostUniq(vec![0xc0, 0xff, 0xee])
        ]
    );
    assert_eq!(padi.to_bytes().unwrap(), frames[0]);

    let mut cfg = config();
    cfg.ac_name = "test-ac".into();
    cfg.services = vec!["isp-a".into()];
    cfg.mac = [0x02, 0xac, 0, 0, 0, 1];
    let (mut ac, now) = ac(cfg);
    ac.handle_frame(now, &frames[0]);
    let ours = ac.poll_transmit().unwrap();
    let captured = Discovery::parse(&frames[1]).unwrap();
    let mut mine = Discovery::parse(&ours).unwrap();
    // Same length, same bytes outside the 20-byte cookie value.
    assert_eq!(ours.len(), frames[1].len());
    for t in &mut mine.tags {
        if let Tag::AcCookie(c) = t {
            *c = cookie_of(&captured);
        }
    }
    assert_eq!(mine, captured);
    assert_eq!(mine.to_bytes().unwrap(), frames[1]);
}
