//! Malformed input: typed errors with offsets, never a panic; hidden-AVP vectors.

use l2tp_proto::wire::hidden::{hide, reveal};
use l2tp_proto::wire::*;
use md5::{Digest, Md5};
use proptest::prelude::*;

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn parse_never_panics_on_arbitrary_bytes(buf in proptest::collection::vec(any::<u8>(), 0..300)) {
        for encap in [Encap::Udp, Encap::Ip] {
            let _ = ControlMessage::parse(&buf, encap, None);
            let _ = ControlMessage::parse(&buf, encap, Some(b"secret"));
        }
    }

    /// Arbitrary AVP bodies behind a valid header: exercises the AVP and hidden-AVP paths.
    #[test]
    fn parse_never_panics_on_arbitrary_avps(
        body in proptest::collection::vec(any::<u8>(), 0..300),
        v3 in any::<bool>(),
    ) {
        let mut buf = vec![0xc8, if v3 { 3 } else { 2 }];
        buf.extend_from_slice(&((12 + body.len()) as u16).to_be_bytes());
        buf.extend_from_slice(&[0, 1, 0, 2, 0, 3, 0, 4]);
        buf.extend_from_slice(&body);
        // Whatever decodes re-encodes to something that decodes to the same value (the only
        // allowed encode failure: v2-form Call Errors with CRC/framing counters in a v3 message).
        if let Ok(m) = ControlMessage::parse(&buf, Encap::Udp, Some(b"secret")) {
            match m.to_bytes(Encap::Udp, Some(b"secret")) {
                Ok(b) => prop_assert_eq!(ControlMessage::parse(&b, Encap::Udp, Some(b"secret")), Ok(m)),
                Err(e) => prop_assert!(matches!(e, Error::Encode(_)), "{:?}", e),
            }
        }
    }

    /// Well-formed AVP headers with arbitrary types and values: exercises every typed decoder
    /// (arbitrary bytes rarely produce a valid AVP chain) and decode → encode → decode.
    #[test]
    fn arbitrary_avp_chains_decode_or_fail_cleanly_and_round_trip(
        avps in proptest::collection::vec(
            (any::<u8>(), prop_oneof![Just(0u16), any::<u16>()], 0u16..80,
             proptest::collection::vec(any::<u8>(), 0..40)),
            0..10),
        v3 in any::<bool>(),
    ) {
        let mut buf = vec![0xc8, if v3 { 3 } else { 2 }, 0, 0, 0, 1, 0, 2, 0, 3, 0, 4];
        // A Random Vector first, so that hidden AVPs can be revealed.
        buf.extend_from_slice(&[0x80, 10, 0, 0, 0, 36, 1, 2, 3, 4]);
        for (flags, vendor, attr, value) in &avps {
            let len = 6 + value.len();
            buf.push((flags & 0xfc) | (len >> 8) as u8);
            buf.push(len as u8);
            buf.extend_from_slice(&vendor.to_be_bytes());
            buf.extend_from_slice(&attr.to_be_bytes());
            buf.extend_from_slice(value);
        }
        let len = buf.len() as u16;
        buf[2..4].copy_from_slice(&len.to_be_bytes());
        if let Ok(m) = ControlMessage::parse(&buf, Encap::Udp, Some(b"secret")) {
            for a in &m.avps {
                let _ = a.value.describe();
            }
            match m.to_bytes(Encap::Udp, Some(b"secret")) {
                Ok(b) => prop_assert_eq!(ControlMessage::parse(&b, Encap::Udp, Some(b"secret")), Ok(m)),
                Err(e) => prop_assert!(matches!(e, Error::Encode(_)), "{:?}", e),
            }
        }
    }
}

proptest! {
    #[test]
    fn peek_and_data_parsers_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..64)) {
        for encap in [Encap::Udp, Encap::Ip] {
            let _ = peek(&buf, encap);
            for cookie in [0, 4, 8, 3] {
                let _ = DataHeader::parse_v3(&buf, encap, cookie, false);
                let _ = DataHeader::parse_v3(&buf, encap, cookie, true);
            }
        }
        if let Ok((h, payload)) = DataHeader::parse_v2_payload(&buf) {
            let mut out = Vec::new();
            h.emit(Encap::Udp, payload.len(), &mut out).unwrap();
            out.extend_from_slice(payload);
            prop_assert_eq!(DataHeader::parse_v2_payload(&out), Ok((h, payload)));
        }
        let _ = DataHeader::parse_v2(&buf);
    }
}

#[test]
fn hidden_avp_matches_hand_computed_md5_chain() {
    // 20-byte value: two blocks (18 + 2 bytes of subformat → 22 bytes: 16 + 6).
    let secret = b"s3cr3t-example";
    let rv = h("0102030405060708090a0b0c0d0e0f10");
    let value = b"a-user-name@example!".to_vec();
    let attr: u16 = 30;
    let mut sub = vec![0u8, value.len() as u8];
    sub.extend_from_slice(&value);
    let b1: [u8; 16] = Md5::new()
        .chain_update(attr.to_be_bytes())
        .chain_update(secret)
        .chain_update(&rv)
        .finalize()
        .into();
    let c1: Vec<u8> = sub[..16].iter().zip(b1).map(|(p, b)| p ^ b).collect();
    let b2: [u8; 16] = Md5::new()
        .chain_update(secret)
        .chain_update(&c1)
        .finalize()
        .into();
    let c2: Vec<u8> = sub[16..].iter().zip(b2).map(|(p, b)| p ^ b).collect();
    let expected = [c1, c2].concat();
    assert_eq!(hide(attr, secret, &rv, &value), expected);
    assert_eq!(reveal(attr, secret, &rv, &expected).unwrap(), value);
    // Padding added by a peer (here 10 bytes) is dropped on reveal.
    let mut padded_sub = sub.clone();
    padded_sub.extend_from_slice(&[0xaa; 10]);
    let mut b = b1;
    let mut cipher = Vec::new();
    for chunk in padded_sub.chunks(16) {
        let c: Vec<u8> = chunk.iter().zip(b).map(|(p, k)| p ^ k).collect();
        b = Md5::new()
            .chain_update(secret)
            .chain_update(&c)
            .finalize()
            .into();
        cipher.extend_from_slice(&c);
    }
    assert_eq!(reveal(attr, secret, &rv, &cipher).unwrap(), value);
}

#[test]
fn hidden_avp_in_message_uses_nearest_random_vector() {
    let rv1 = vec![1u8; 16];
    let rv2 = vec![2u8; 8];
    let name = b"bob".to_vec();
    let msg = ControlMessage {
        header: ControlHeader::v2(5, 6, 0, 0),
        avps: vec![
            Avp::m(AvpValue::MessageType(MessageType::Iccn)),
            Avp::m(AvpValue::RandomVector(rv1)),
            Avp::o(AvpValue::RandomVector(rv2.clone())),
            Avp {
                mandatory: true,
                hidden: true,
                value: AvpValue::ProxyAuthenName(name.clone()),
            },
        ],
    };
    let bytes = msg.to_bytes(Encap::Udp, Some(b"k")).unwrap();
    // Last AVP: header 6 bytes, hidden value = hide(30, "k", rv2, "bob").
    let tail = &bytes[bytes.len() - 5..];
    assert_eq!(tail, &hide(30, b"k", &rv2, &name)[..]);
    assert_eq!(bytes[bytes.len() - 11], 0x80 | 0x40, "M and H set");
    assert_eq!(
        ControlMessage::parse(&bytes, Encap::Udp, Some(b"k")).unwrap(),
        msg
    );
    assert_eq!(
        ControlMessage::parse(&bytes, Encap::Udp, None),
        Err(Error::HiddenNoSecret {
            offset: bytes.len() - 11,
            attr_type: 30
        })
    );
    // Wrong secret: revealed length is garbage → typed error, no panic (or, by chance, wrong
    // value).
    assert_ne!(
        ControlMessage::parse(&bytes, Encap::Udp, Some(b"other")),
        Ok(msg)
    );
}

#[test]
fn emit_hidden_without_random_vector_or_secret_is_an_error() {
    let mut msg = ControlMessage {
        header: ControlHeader::v2(5, 0, 0, 0),
        avps: vec![
            Avp::m(AvpValue::MessageType(MessageType::Sccrq)),
            Avp {
                mandatory: true,
                hidden: true,
                value: AvpValue::HostName(b"x".to_vec()),
            },
        ],
    };
    assert_eq!(
        msg.to_bytes(Encap::Udp, Some(b"k")),
        Err(Error::HiddenNoRandomVector {
            offset: 20,
            attr_type: 7
        })
    );
    msg.avps
        .insert(1, Avp::m(AvpValue::RandomVector(vec![9; 4])));
    assert_eq!(
        msg.to_bytes(Encap::Udp, None),
        Err(Error::HiddenNoSecret {
            offset: 30,
            attr_type: 7
        })
    );
    let mut out = vec![0xee];
    assert!(msg.emit(Encap::Udp, None, &mut out).is_err());
    assert_eq!(out, vec![0xee], "emit leaves the buffer untouched on error");
}

#[test]
fn hidden_avp_without_preceding_random_vector_is_an_error() {
    // ZLB header + hidden Host Name AVP (H set), no Random Vector.
    let b = h("c802 0015 0001 0000 0000 0000  c009 0000 0007 aabbcc");
    assert_eq!(
        ControlMessage::parse(&b, Encap::Udp, Some(b"k")),
        Err(Error::HiddenNoRandomVector {
            offset: 12,
            attr_type: 7
        })
    );
}

#[test]
fn v2_control_header_flag_errors() {
    // L bit missing.
    let e = ControlMessage::parse(&h("8802 000c 0001 0000 0000 0000"), Encap::Udp, None);
    assert!(
        matches!(e, Err(Error::BadFlags { flags: 0x8802, .. })),
        "{e:?}"
    );
    // S bit missing.
    let e = ControlMessage::parse(&h("c002 000c 0001 0000 0000 0000"), Encap::Udp, None);
    assert!(
        matches!(e, Err(Error::BadFlags { flags: 0xc002, .. })),
        "{e:?}"
    );
    // O bit set.
    let e = ControlMessage::parse(&h("ca02 000c 0001 0000 0000 0000"), Encap::Udp, None);
    assert!(
        matches!(e, Err(Error::BadFlags { flags: 0xca02, .. })),
        "{e:?}"
    );
    // P bit set.
    let e = ControlMessage::parse(&h("c902 000c 0001 0000 0000 0000"), Encap::Udp, None);
    assert!(
        matches!(e, Err(Error::BadFlags { flags: 0xc902, .. })),
        "{e:?}"
    );
    // Data message handed to the control parser.
    let e = ControlMessage::parse(&h("4002 000c 0001 0000 0000 0000"), Encap::Udp, None);
    assert!(
        matches!(e, Err(Error::BadFlags { flags: 0x4002, .. })),
        "{e:?}"
    );
    // Version 1 (L2F) and 4.
    assert_eq!(
        ControlMessage::parse(&h("c801 000c 0001 0000 0000 0000"), Encap::Udp, None),
        Err(Error::BadVersion(1))
    );
    assert_eq!(
        ControlMessage::parse(&h("c804 000c 0001 0000 0000 0000"), Encap::Udp, None),
        Err(Error::BadVersion(4))
    );
    // Reserved bits are ignored.
    assert!(ControlMessage::parse(&h("ccf2 000c 0001 0000 0000 0000"), Encap::Udp, None).is_ok());
}

#[test]
fn v2_header_parsed_as_v3_and_v2_over_ip_are_typed_errors() {
    // A v3 ZLB over UDP parses as v3 (CCID 0x00010000).
    let m = ControlMessage::parse(&h("c803 000c 0001 0000 0005 0006"), Encap::Udp, None).unwrap();
    assert_eq!(m.header.version, Version::V3);
    assert_eq!(m.header.tunnel_id, 0x0001_0000);
    assert_eq!((m.header.ns, m.header.nr), (5, 6));
    // Over IP only v3 is allowed.
    assert_eq!(
        ControlMessage::parse(
            &h("00000000 c802 000c 0001 0000 0000 0000"),
            Encap::Ip,
            None
        ),
        Err(Error::BadVersion(2))
    );
    // Non-zero Session ID over IP is a data message.
    assert!(matches!(
        ControlMessage::parse(
            &h("00000001 c803 000c 0001 0000 0000 0000"),
            Encap::Ip,
            None
        ),
        Err(Error::BadFlags { .. })
    ));
}

#[test]
fn length_field_checks() {
    // Length larger than the datagram.
    assert_eq!(
        ControlMessage::parse(&h("c802 000d 0001 0000 0000 0000"), Encap::Udp, None),
        Err(Error::LengthMismatch {
            field: 13,
            actual: 12
        })
    );
    // Length shorter than the header.
    assert_eq!(
        ControlMessage::parse(&h("c802 000b 0001 0000 0000 0000"), Encap::Udp, None),
        Err(Error::LengthMismatch {
            field: 11,
            actual: 12
        })
    );
    // Length smaller than the datagram: the rest is padding.
    let m = ControlMessage::parse(&h("c802 000c 0001 0000 0000 0000 dead"), Encap::Udp, None);
    assert!(m.unwrap().is_zlb());
    // Short header.
    assert_eq!(
        ControlMessage::parse(&h("c802 000c 0001"), Encap::Udp, None),
        Err(Error::ShortHeader {
            needed: 12,
            have: 6
        })
    );
    // v3 over IP: Length excludes the 4-byte Session ID.
    let m = ControlMessage::parse(
        &h("00000000 c803 000c 0000 0007 0000 0000"),
        Encap::Ip,
        None,
    );
    assert_eq!(m.unwrap().header.tunnel_id, 7);
}

#[test]
fn avp_length_errors_name_offset_and_type() {
    // AVP Length 5 (< 6).
    let b = h("c802 0012 0001 0000 0000 0000  8005 0000 0007");
    assert_eq!(
        ControlMessage::parse(&b, Encap::Udp, None),
        Err(Error::AvpLength {
            offset: 12,
            attr_type: 7,
            length: 5
        })
    );
    // Second AVP runs past the message end.
    let b = h("c802 001a 0001 0000 0000 0000  8008 0000 0000 0001  8009 0000 0007 61");
    assert_eq!(
        ControlMessage::parse(&b, Encap::Udp, None),
        Err(Error::AvpLength {
            offset: 20,
            attr_type: 7,
            length: 9
        })
    );
    // Trailing bytes too short for an AVP header.
    let b = h("c802 0011 0001 0000 0000 0000  8008 0000 00");
    assert!(matches!(
        ControlMessage::parse(&b, Encap::Udp, None),
        Err(Error::AvpLength { offset: 12, .. })
    ));
}

#[test]
fn wrong_value_sizes_are_avp_value_errors() {
    // Message Type with 3 bytes.
    let b = h("c802 0015 0001 0000 0000 0000  8009 0000 0000 000001");
    assert!(matches!(
        ControlMessage::parse(&b, Encap::Udp, None),
        Err(Error::AvpValue {
            offset: 12,
            attr_type: 0,
            ..
        })
    ));
    // Assigned Tunnel ID with 4 bytes at offset 20.
    let b = h("c802 001e 0001 0000 0000 0000  8008 0000 0000 0001  800a 0000 0009 00000001");
    assert!(matches!(
        ControlMessage::parse(&b, Encap::Udp, None),
        Err(Error::AvpValue {
            offset: 20,
            attr_type: 9,
            ..
        })
    ));
    // Challenge Response with 15 bytes.
    let mut b = h("c802 0021 0001 0000 0000 0000  8015 0000 000d");
    b.extend_from_slice(&[0; 15]);
    assert!(matches!(
        ControlMessage::parse(&b, Encap::Udp, None),
        Err(Error::AvpValue {
            offset: 12,
            attr_type: 13,
            ..
        })
    ));
}

#[test]
fn liberal_value_forms_are_accepted() {
    let parse_one = |avp: &str| {
        let avp = h(avp);
        let mut b = h("c802 0000 0001 0000 0000 0000");
        b.extend_from_slice(&avp);
        let len = b.len() as u16;
        b[2..4].copy_from_slice(&len.to_be_bytes());
        ControlMessage::parse(&b, Encap::Udp, None).map(|m| m.avps[0].value.clone())
    };
    // Result Code with only the result.
    assert_eq!(
        parse_one("8008 0000 0001 0002"),
        Ok(AvpValue::ResultCode(ResultCode {
            result: 2,
            error: None,
            message: None
        }))
    );
    // Result Code with an odd-length message.
    assert_eq!(
        parse_one("800d 0000 0001 0001 0000 616263"),
        Ok(AvpValue::ResultCode(ResultCode {
            result: 1,
            error: Some(0),
            message: Some(b"abc".to_vec())
        }))
    );
    // Assigned Cookie of 0 and 6 bytes; 9 bytes is an error.
    assert_eq!(
        parse_one("8006 0000 0041"),
        Ok(AvpValue::AssignedCookie(vec![]))
    );
    assert_eq!(
        parse_one("800c 0000 0041 010203040506"),
        Ok(AvpValue::AssignedCookie(vec![1, 2, 3, 4, 5, 6]))
    );
    assert!(parse_one("800f 0000 0041 010203040506070809").is_err());
    // Reserved AVP bits are ignored; vendor AVPs are Unknown.
    assert_eq!(
        parse_one("3c08 0000 000a 0004"),
        Ok(AvpValue::ReceiveWindowSize(4))
    );
    assert_eq!(
        parse_one("0008 0009 0007 6162"),
        Ok(AvpValue::Unknown {
            vendor: 9,
            attr_type: 7,
            value: b"ab".to_vec()
        })
    );
    // v3 Circuit Errors (18 bytes).
    assert_eq!(
        parse_one("8018 0000 0022 0000 00000001 00000002 00000003 00000004"),
        Ok(AvpValue::CallErrors(CallErrors {
            crc: 0,
            framing: 0,
            hardware_overruns: 1,
            buffer_overruns: 2,
            timeouts: 3,
            alignment: 4
        }))
    );
}

#[test]
fn data_header_errors() {
    assert!(matches!(
        DataHeader::parse_v2(&h("c802 000c")),
        Err(Error::BadFlags { .. })
    ));
    assert_eq!(
        DataHeader::parse_v2(&h("0003 0001 0002")),
        Err(Error::BadVersion(3))
    );
    assert_eq!(
        DataHeader::parse_v2(&h("4002 0020 0001 0002")),
        Err(Error::LengthMismatch {
            field: 32,
            actual: 8
        })
    );
    // Offset Size pointing past the end.
    assert!(matches!(
        DataHeader::parse_v2(&h("0202 0001 0002 0010 ff03")),
        Err(Error::ShortHeader { .. })
    ));
    assert_eq!(
        DataHeader::parse_v3(&h("0003 0000 0000 0001"), Encap::Udp, 3, false),
        Err(Error::BadArgument("cookie length must be 0, 4 or 8"))
    );
    assert_eq!(
        DataHeader::parse_v3(&h("0003 0000 0000 0001 aabb"), Encap::Udp, 4, false),
        Err(Error::ShortHeader {
            needed: 12,
            have: 10
        })
    );
    assert!(matches!(
        DataHeader::parse_v3(&h("0000 0000 aabb"), Encap::Ip, 0, false),
        Err(Error::BadFlags { .. })
    ));
    // v2 data with L bit: payload cut at Length.
    let pkt = h("4002 000a 0001 0002 ff03 0000");
    let (hd, payload) = DataHeader::parse_v2_payload(&pkt).unwrap();
    assert_eq!(payload, &[0xff, 0x03]);
    assert!(matches!(
        hd,
        DataHeader::V2 {
            tunnel_id: 1,
            session_id: 2,
            length_present: true,
            ..
        }
    ));
    // Default L2-Specific Sublayer: S bit and 24-bit sequence.
    let (hd, off) =
        DataHeader::parse_v3(&h("00001234 cafebabe 40000102 ff"), Encap::Ip, 4, true).unwrap();
    assert_eq!(off, 12);
    assert_eq!(
        hd,
        DataHeader::V3 {
            session_id: 0x1234,
            cookie: h("cafebabe"),
            l2_specific: Some((true, 0x102))
        }
    );
}

#[test]
fn peek_classifies() {
    assert_eq!(
        peek(&h("c802 000c 1234 5678 0000 0000"), Encap::Udp),
        Ok(Peek::Control {
            version: Version::V2,
            tunnel_id: 0x1234,
            session_id: 0x5678
        })
    );
    assert_eq!(
        peek(&h("0002 1234 5678"), Encap::Udp),
        Ok(Peek::Data {
            version: Version::V2,
            tunnel_id: Some(0x1234),
            session_id: 0x5678
        })
    );
    assert_eq!(
        peek(&h("4002 0008 1234 5678"), Encap::Udp),
        Ok(Peek::Data {
            version: Version::V2,
            tunnel_id: Some(0x1234),
            session_id: 0x5678
        })
    );
    assert_eq!(
        peek(&h("c803 000c 0000 0009 0000 0000"), Encap::Udp),
        Ok(Peek::Control {
            version: Version::V3,
            tunnel_id: 9,
            session_id: 0
        })
    );
    assert_eq!(
        peek(&h("0003 0000 0000 0042"), Encap::Udp),
        Ok(Peek::Data {
            version: Version::V3,
            tunnel_id: None,
            session_id: 0x42
        })
    );
    assert_eq!(
        peek(&h("00000042 ff"), Encap::Ip),
        Ok(Peek::Data {
            version: Version::V3,
            tunnel_id: None,
            session_id: 0x42
        })
    );
    assert_eq!(
        peek(&h("00000000 c803 000c 0000 0009"), Encap::Ip),
        Ok(Peek::Control {
            version: Version::V3,
            tunnel_id: 9,
            session_id: 0
        })
    );
    assert_eq!(peek(&h("c805 000c"), Encap::Udp), Err(Error::BadVersion(5)));
    assert!(matches!(
        peek(&h("c8"), Encap::Udp),
        Err(Error::ShortHeader { .. })
    ));
}

#[test]
fn describe_and_names() {
    assert_eq!(avp_name(0, 7), "Host Name");
    assert_eq!(avp_name(0, 9), "Assigned Tunnel ID");
    assert_eq!(avp_name(0, 61), "Assigned Control Connection ID");
    assert_eq!(avp_name(9, 7), "Unknown");
    assert_eq!(
        AvpValue::HostName(b"lac.example".to_vec()).describe(),
        "\"lac.example\""
    );
    assert_eq!(
        AvpValue::FirmwareRevision(0x0690).describe(),
        "1680 (0x0690)"
    );
    assert_eq!(
        AvpValue::MessageType(MessageType::Sccrq).describe(),
        "SCCRQ (1)"
    );
    assert_eq!(
        AvpValue::ResultCode(ResultCode {
            result: 1,
            error: Some(0),
            message: Some(b"Timeout".to_vec())
        })
        .describe(),
        "result 1, error 0, message \"Timeout\""
    );
    assert_eq!(AvpValue::Challenge(vec![0xde, 0xad]).describe(), "0xdead");
    assert_eq!(AvpValue::HostName(vec![0x01, 0x41]).describe(), "0x0141");
    let u = AvpValue::Unknown {
        vendor: 311,
        attr_type: 8,
        value: vec![1],
    };
    assert_eq!((u.vendor(), u.attr_type()), (311, 8));
}

#[test]
fn encode_limits() {
    let big = ControlMessage {
        header: ControlHeader::v2(1, 0, 0, 0),
        avps: vec![Avp::m(AvpValue::HostName(vec![b'a'; 1018]))],
    };
    assert!(matches!(
        big.to_bytes(Encap::Udp, None),
        Err(Error::Encode(_))
    ));
    let ok = ControlMessage {
        avps: vec![Avp::m(AvpValue::HostName(vec![b'a'; 1017]))],
        ..big.clone()
    };
    let b = ok.to_bytes(Encap::Udp, None).unwrap();
    assert_eq!(&b[12..14], &[0x83, 0xff]);
    assert_eq!(ControlMessage::parse(&b, Encap::Udp, None).unwrap(), ok);
    // v2 over IP, v2 Tunnel ID > 65535.
    assert!(ok.to_bytes(Encap::Ip, None).is_err());
    let mut wide = ok.clone();
    wide.header.tunnel_id = 70000;
    assert!(wide.to_bytes(Encap::Udp, None).is_err());
    // Message over 65535 bytes.
    let huge = ControlMessage {
        avps: (0..70)
            .map(|_| Avp::m(AvpValue::HostName(vec![b'a'; 1000])))
            .collect(),
        ..big
    };
    assert_eq!(
        huge.to_bytes(Encap::Udp, None),
        Err(Error::Encode("message longer than 65535 bytes"))
    );
}
