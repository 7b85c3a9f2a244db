//! Fuzz the wire decoders: no input may panic, and whatever decodes must re-encode to
//! something that decodes to the same value.
//!
//! Run: `cargo +nightly fuzz run decode` from the repository root.

#![no_main]

use l2tp_proto::wire::{peek, ControlMessage, DataHeader, Encap, Error};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"fuzz-secret";

fuzz_target!(|data: &[u8]| {
    for encap in [Encap::Udp, Encap::Ip] {
        let _ = peek(data, encap);
        for secret in [None, Some(SECRET)] {
            if let Ok(msg) = ControlMessage::parse(data, encap, secret) {
                match msg.to_bytes(encap, secret) {
                    Ok(bytes) => {
                        let again = ControlMessage::parse(&bytes, encap, secret)
                            .expect("re-encoded message must decode");
                        assert_eq!(again, msg, "decode(encode(m)) != m");
                    }
                    // Decodable but not encodable as is: only v2-form Call Errors with CRC or
                    // framing counters inside a v3 message.
                    Err(Error::Encode(_)) => {}
                    Err(e) => panic!("unexpected encode error {e:?} for {msg:?}"),
                }
            }
        }
        for cookie_len in [0, 4, 8] {
            for l2 in [false, true] {
                if let Ok((h, off)) = DataHeader::parse_v3(data, encap, cookie_len, l2) {
                    assert!(off <= data.len());
                    let mut out = Vec::new();
                    h.emit(encap, data.len() - off, &mut out)
                        .expect("v3 header re-encodes");
                    // Reserved bits are not kept, so compare values, not bytes.
                    let (again, off2) = DataHeader::parse_v3(&out, encap, cookie_len, l2)
                        .expect("re-encoded v3 header must decode");
                    assert_eq!((again, off2), (h, off));
                }
            }
        }
    }
    if let Ok((h, off)) = DataHeader::parse_v2(data) {
        assert!(off <= data.len());
        let (h2, payload) = DataHeader::parse_v2_payload(data).expect("same header");
        assert_eq!(h2, h);
        let mut out = Vec::new();
        h.emit(Encap::Udp, payload.len(), &mut out)
            .expect("v2 header re-encodes");
        out.extend_from_slice(payload);
        let (again, p2) =
            DataHeader::parse_v2_payload(&out).expect("re-encoded v2 header must decode");
        assert_eq!((again, p2), (h, payload));
    }
});
