//! Known-answer tests for CHAP-MD5, MS-CHAPv2 and MPPE key derivation.
//!
//! MS-CHAPv2 vectors: RFC 2759 §9.2 ("User" / "clientPass"), every intermediate value.
//! MPPE vectors: RFC 3079 §3.5.1–3.5.3 (same credentials).

use l2tp_ppp::mschap::*;

fn h<const N: usize>(s: &str) -> [u8; N] {
    let v = hex::decode(s.replace(' ', "")).expect("test vector is hex");
    v.try_into().expect("test vector has the stated length")
}

const USER: &[u8] = b"User";
const PASSWORD: &str = "clientPass";

fn auth_challenge() -> [u8; 16] {
    h("5B 5D 7C 7D 7B 3F 2F 3E 3C 2C 60 21 32 26 26 28")
}
fn peer_challenge() -> [u8; 16] {
    h("21 40 23 24 25 5E 26 2A 28 29 5F 2B 3A 33 7C 7E")
}
fn nt_response() -> [u8; 24] {
    h("82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF")
}
const AUTH_RESPONSE: &str = "S=407A5589115FD0D6209F510FE9C04566932CDA56";

// ------------------------------------------------------------------ RFC 1994 CHAP-MD5

/// RFC 1994 has no test vector. Expected values computed independently with Python's
/// hashlib:
///   python3 -c "import hashlib;print(hashlib.md5(bytes([0x2a])+b'joe\'s secret'
///     +bytes.fromhex('00112233445566778899aabbccddeeff')).hexdigest())"
///   -> 8f5faed823b2fae1735b887789efc1dd
///   python3 -c "import hashlib;print(hashlib.md5(bytes([0x01])+b''+bytes.fromhex('a5')).hexdigest())"
///   -> acae0579c1c79a8dfb842089da6e9182
#[test]
fn chap_md5_response_is_md5_of_id_secret_challenge() {
    let challenge: [u8; 16] = h("00112233445566778899aabbccddeeff");
    assert_eq!(
        chap_md5_response(0x2a, b"joe's secret", &challenge),
        h::<16>("8f5faed823b2fae1735b887789efc1dd")
    );
    assert_eq!(
        chap_md5_response(0x01, b"", &[0xa5]),
        h::<16>("acae0579c1c79a8dfb842089da6e9182")
    );
}

#[test]
fn chap_md5_verify_rejects_wrong_id_secret_or_length() {
    let challenge: [u8; 16] = h("00112233445566778899aabbccddeeff");
    let good = chap_md5_response(0x2a, b"joe's secret", &challenge);
    assert!(verify_chap_md5_response(
        0x2a,
        b"joe's secret",
        &challenge,
        &good
    ));
    assert!(!verify_chap_md5_response(
        0x2b,
        b"joe's secret",
        &challenge,
        &good
    ));
    assert!(!verify_chap_md5_response(
        0x2a,
        b"joe's secreT",
        &challenge,
        &good
    ));
    assert!(!verify_chap_md5_response(
        0x2a,
        b"joe's secret",
        &challenge,
        &good[..15]
    ));
    assert!(!verify_chap_md5_response(
        0x2a,
        b"joe's secret",
        &challenge,
        &[]
    ));
}

// ------------------------------------------------------------------ RFC 2759 §9.2

#[test]
fn rfc2759_challenge_hash() {
    assert_eq!(
        challenge_hash(&peer_challenge(), &auth_challenge(), USER),
        h::<8>("D0 2E 43 86 BC E9 12 26")
    );
}

#[test]
fn rfc2759_nt_password_hash() {
    assert_eq!(
        nt_password_hash(PASSWORD),
        h::<16>("44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE")
    );
}

#[test]
fn rfc2759_challenge_response() {
    let challenge: [u8; 8] = h("D0 2E 43 86 BC E9 12 26");
    let hash: [u8; 16] = h("44 EB BA 8D 53 12 B8 D6 11 47 44 11 F5 69 89 AE");
    assert_eq!(challenge_response(&challenge, &hash), nt_response());
}

#[test]
fn rfc2759_generate_nt_response() {
    assert_eq!(
        generate_nt_response(&auth_challenge(), &peer_challenge(), USER, PASSWORD),
        nt_response()
    );
}

#[test]
fn rfc2759_password_hash_hash() {
    assert_eq!(
        hash_nt_password_hash(&nt_password_hash(PASSWORD)),
        h::<16>("41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F")
    );
}

#[test]
fn rfc2759_authenticator_response() {
    let s = authenticator_response(
        PASSWORD,
        &nt_response(),
        &peer_challenge(),
        &auth_challenge(),
        USER,
    );
    assert_eq!(s, AUTH_RESPONSE);
    assert_eq!(s.len(), AUTHENTICATOR_RESPONSE_LEN);
}

/// RFC 2759 §8.6 MakeKey: the 7-byte key `7C A1 10 45 4A 1A 6E` (the DES test key
/// `7C A1 10 45 4A 1A 6E 57` with its parity bits dropped) expands back to the same
/// 56 key bits; parity bits are left clear.
#[test]
fn des_key_expansion_spreads_seven_bits_per_byte() {
    let k = des_key_from_7(&[0xFF; 7]);
    assert_eq!(k, [0xFE; 8]);
    let k = des_key_from_7(&[0x80, 0, 0, 0, 0, 0, 0x01]);
    assert_eq!(k, [0x80, 0, 0, 0, 0, 0, 0, 0x02]);
    // Every input bit lands in exactly one output bit (56 distinct positions).
    for bit in 0..56 {
        let mut key7 = [0u8; 7];
        key7[bit / 8] = 0x80 >> (bit % 8);
        let k = des_key_from_7(&key7);
        let ones: u32 = k.iter().map(|b| b.count_ones()).sum();
        assert_eq!(ones, 1, "input bit {bit}");
        assert_eq!(k[bit / 7], 0x80 >> (bit % 7), "input bit {bit}");
    }
}

#[test]
fn verify_nt_response_accepts_the_rfc_vector_and_rejects_changes() {
    let (a, p) = (auth_challenge(), peer_challenge());
    assert!(verify_nt_response(&a, &p, USER, PASSWORD, &nt_response()));
    assert!(!verify_nt_response(
        &a,
        &p,
        USER,
        "clientPasS",
        &nt_response()
    ));
    assert!(!verify_nt_response(
        &a,
        &p,
        b"user",
        PASSWORD,
        &nt_response()
    ));
    let mut flipped = nt_response();
    flipped[23] ^= 1;
    assert!(!verify_nt_response(&a, &p, USER, PASSWORD, &flipped));
    let mut other = a;
    other[0] ^= 0x80;
    assert!(!verify_nt_response(
        &other,
        &p,
        USER,
        PASSWORD,
        &nt_response()
    ));
}

#[test]
fn domain_prefix_is_not_part_of_the_challenge_hash() {
    let (a, p) = (auth_challenge(), peer_challenge());
    assert_eq!(
        challenge_hash(&p, &a, b"ACME\\User"),
        challenge_hash(&p, &a, USER)
    );
    assert_eq!(
        challenge_hash(&p, &a, b"A\\B\\User"),
        challenge_hash(&p, &a, USER)
    );
    assert_eq!(
        generate_nt_response(&a, &p, b"ACME\\User", PASSWORD),
        nt_response()
    );
    assert_eq!(
        authenticator_response(PASSWORD, &nt_response(), &p, &a, b"ACME\\User"),
        AUTH_RESPONSE
    );
    assert_eq!(strip_domain(b"DOM\\"), b"");
    assert_eq!(strip_domain(b"plain"), b"plain");
    assert_ne!(
        challenge_hash(&p, &a, b"ACME/User"),
        challenge_hash(&p, &a, USER),
        "only a backslash separates a domain"
    );
}

/// A password outside the BMP is hashed as its UTF-16 surrogate pair, not one unit per
/// byte: for ASCII the UTF-16LE encoding equals pppd's zero-extension of each byte.
#[test]
fn nt_password_hash_uses_utf16le() {
    use md4::{Digest, Md4};
    let expected: [u8; 16] = Md4::digest([0x3D, 0xD8, 0x00, 0xDE, b'a', 0]).into();
    assert_eq!(nt_password_hash("\u{1F600}a"), expected);
    let ascii: [u8; 16] = Md4::digest(b"c\0l\0i\0e\0n\0t\0P\0a\0s\0s\0").into();
    assert_eq!(nt_password_hash(PASSWORD), ascii);
}

// ------------------------------------------------------------------ RFC 3079 §3.5

fn master_key() -> [u8; 16] {
    h("FD EC E3 71 7A 8C 83 8C B3 88 E5 27 AE 3C DD 31")
}

#[test]
fn rfc3079_master_key() {
    let hh = hash_nt_password_hash(&nt_password_hash(PASSWORD));
    assert_eq!(mppe_master_key(&hh, &nt_response()), master_key());
}

/// RFC 3079 §3.5 lists the server's send key (Magic3), which is also the client's
/// receive key. The other direction (Magic2) is not in the RFC; D5F0...2226 was computed
/// independently with Python's hashlib:
///   python3 -c "import hashlib;mk=bytes.fromhex('FDECE3717A8C838CB388E527AE3CDD31');
///     m=b'On the client side, this is the send key; on the server side, it is the receive key.';
///     print(hashlib.sha1(mk+b'\0'*40+m+b'\xf2'*40).hexdigest()[:32])"
#[test]
fn rfc3079_asymmetric_start_keys_for_both_roles() {
    let mk = master_key();
    let server_send = mppe_asymmetric_start_key(&mk, MppeDirection::Send, MppeRole::Server);
    assert_eq!(
        server_send,
        h::<16>("8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB")
    );
    assert_eq!(
        mppe_asymmetric_start_key(&mk, MppeDirection::Receive, MppeRole::Client),
        server_send
    );
    let server_receive = mppe_asymmetric_start_key(&mk, MppeDirection::Receive, MppeRole::Server);
    assert_eq!(server_receive, h::<16>("D5F0E9521E3EA9589645E86051C82226"));
    assert_eq!(
        mppe_asymmetric_start_key(&mk, MppeDirection::Send, MppeRole::Client),
        server_receive
    );

    let server = mppe_start_keys(PASSWORD, &nt_response(), MppeRole::Server);
    let client = mppe_start_keys(PASSWORD, &nt_response(), MppeRole::Client);
    assert_eq!(server.send, server_send);
    assert_eq!(server.receive, server_receive);
    assert_eq!(client.send, server.receive);
    assert_eq!(client.receive, server.send);
}

/// RFC 3079 §3.5.1 (40-bit): SendStartKey40 = 8B 7C DC 14 9B 99 3A 1B,
/// SendSessionKey40 = D1 26 9E C4 9F A6 2E 3E.
#[test]
fn rfc3079_40_bit_session_key() {
    let start = mppe_asymmetric_start_key(&master_key(), MppeDirection::Send, MppeRole::Server);
    assert_eq!(start[..8], h::<8>("8B 7C DC 14 9B 99 3A 1B"));
    let key = mppe_initial_session_key(&start, MppeStrength::Bits40);
    assert_eq!(key.as_bytes(), h::<8>("D1 26 9E C4 9F A6 2E 3E"));
}

/// RFC 3079 §3.5.2 (56-bit): SendSessionKey56 = D1 5C 00 C4 9F A6 2E 3E.
#[test]
fn rfc3079_56_bit_session_key() {
    let start = mppe_asymmetric_start_key(&master_key(), MppeDirection::Send, MppeRole::Server);
    let key = mppe_initial_session_key(&start, MppeStrength::Bits56);
    assert_eq!(key.as_bytes(), h::<8>("D1 5C 00 C4 9F A6 2E 3E"));
}

/// RFC 3079 §3.5.3 (128-bit): SendSessionKey128 = 40 5C B2 24 7A 79 56 E6 E2 11 00 7A
/// E2 7B 22 D4.
#[test]
fn rfc3079_128_bit_session_key() {
    let start = mppe_asymmetric_start_key(&master_key(), MppeDirection::Send, MppeRole::Server);
    let key = mppe_initial_session_key(&start, MppeStrength::Bits128);
    assert_eq!(
        key.as_bytes(),
        h::<16>("40 5C B2 24 7A 79 56 E6 E2 11 00 7A E2 7B 22 D4")
    );
}

#[test]
fn session_key_debug_does_not_print_the_key() {
    let start = mppe_asymmetric_start_key(&master_key(), MppeDirection::Send, MppeRole::Server);
    let key = mppe_initial_session_key(&start, MppeStrength::Bits128);
    let shown = format!("{key:?}");
    assert!(!shown.to_ascii_uppercase().contains("405C"), "{shown}");
    let keys = mppe_start_keys(PASSWORD, &nt_response(), MppeRole::Server);
    assert!(!format!("{keys:?}").contains("139"), "no byte values");
}

#[test]
fn reduce_session_key_leaves_short_keys_alone() {
    let mut short = [0u8; 2];
    mppe_reduce_session_key(&mut short, MppeStrength::Bits40);
    assert_eq!(short, [0, 0]);
    let mut k = [0u8; 16];
    mppe_reduce_session_key(&mut k, MppeStrength::Bits128);
    assert_eq!(k, [0; 16]);
}

// ------------------------------------------------------------------ RFC 2759 §5, §6 text

#[test]
fn success_message_has_s_and_m_fields() {
    assert_eq!(
        success_message(AUTH_RESPONSE, "Access granted"),
        "S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Access granted"
    );
}

#[test]
fn parse_success_accepts_the_right_authenticator_in_either_case() {
    let msg = success_message(AUTH_RESPONSE, "Welcome");
    assert_eq!(
        parse_success(msg.as_bytes(), AUTH_RESPONSE),
        Ok(&b"Welcome"[..])
    );
    assert_eq!(
        parse_success(AUTH_RESPONSE.as_bytes(), AUTH_RESPONSE),
        Ok(&b""[..])
    );
    let lower = b"S=407a5589115fd0d6209f510fe9c04566932cda56 M=x";
    assert_eq!(parse_success(lower, AUTH_RESPONSE), Ok(&b"x"[..]));
    // pppd also accepts "M=" without the space.
    let nospace = b"S=407A5589115FD0D6209F510FE9C04566932CDA56M=y";
    assert_eq!(parse_success(nospace, AUTH_RESPONSE), Ok(&b"y"[..]));
}

#[test]
fn parse_success_rejects_a_wrong_or_malformed_authenticator() {
    let wrong = b"S=407A5589115FD0D6209F510FE9C04566932CDA57 M=hi";
    assert_eq!(
        parse_success(wrong, AUTH_RESPONSE),
        Err(MessageError::AuthenticatorMismatch)
    );
    for bad in [
        &b""[..],
        b"S=",
        b"S=407A5589115FD0D6209F510FE9C04566932CDA5",
        b"s=407A5589115FD0D6209F510FE9C04566932CDA56",
        b"S=407A5589115FD0D6209F510FE9C04566932CDAZZ",
        b"E=691 R=0",
    ] {
        assert_eq!(
            parse_success(bad, AUTH_RESPONSE),
            Err(MessageError::MalformedAuthenticatorResponse),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    let trailing = b"S=407A5589115FD0D6209F510FE9C04566932CDA56 junk";
    assert_eq!(
        parse_success(trailing, AUTH_RESPONSE),
        Err(MessageError::TrailingGarbage { offset: 42 })
    );
    assert_eq!(
        parse_success(AUTH_RESPONSE.as_bytes(), "S=nothex"),
        Err(MessageError::BadExpected)
    );
}

#[test]
fn failure_message_round_trips_through_parse_failure() {
    let challenge = auth_challenge();
    let text = failure_message(
        ERROR_AUTHENTICATION_FAILURE,
        false,
        &challenge,
        "Access denied",
    );
    assert_eq!(
        text,
        "E=691 R=0 C=5B5D7C7D7B3F2F3E3C2C602132262628 V=3 M=Access denied"
    );
    let parsed = parse_failure(text.as_bytes()).expect("our own message parses");
    assert_eq!(
        parsed,
        Failure {
            error: 691,
            retry: false,
            challenge: Some(challenge),
            version: Some(3),
            message: Some("Access denied".to_owned()),
        }
    );
    let retry = failure_message(648, true, &[0xAB; 16], "");
    assert_eq!(retry, format!("E=648 R=1 C={} V=3 M=", "AB".repeat(16)));
    let parsed = parse_failure(retry.as_bytes()).expect("parses");
    assert!(parsed.retry);
    assert_eq!(parsed.error, ERROR_PASSWD_EXPIRED);
    assert_eq!(parsed.message.as_deref(), Some(""));
}

#[test]
fn parse_failure_takes_pppd_and_windows_shapes() {
    // pppd's own Failure text.
    let pppd = b"E=691 R=1 C=0123456789abcdef0123456789ABCDEF V=0 M=Access denied";
    let f = parse_failure(pppd).expect("pppd text parses");
    assert_eq!(f.error, 691);
    assert!(f.retry);
    assert_eq!(f.version, Some(0));
    assert_eq!(f.challenge.map(|c| c[0]), Some(0x01));
    // Only an error code.
    let bare = parse_failure(b"E=649").expect("E alone parses");
    assert_eq!(bare.error, ERROR_NO_DIALIN_PERMISSION);
    assert_eq!(
        (bare.retry, bare.challenge, bare.version, bare.message),
        (false, None, None, None)
    );
    // M= keeps spaces and "E=" inside the text.
    let m = parse_failure(b"E=691  R=0 M=try E=1 later").expect("parses");
    assert_eq!(m.message.as_deref(), Some("try E=1 later"));
}

#[test]
fn parse_failure_names_the_bad_field() {
    let cases: [(&[u8], char, usize); 6] = [
        (b"", 'E', 0),
        (b"R=1 E=691", 'E', 0),
        (b"E=69x", 'E', 0),
        (b"E=691 R=2", 'R', 6),
        (b"E=691 R=0 C=0011", 'C', 10),
        (b"E=99999999999", 'E', 0),
    ];
    for (input, field, offset) in cases {
        match parse_failure(input) {
            Err(MessageError::BadFailureField {
                field: f,
                offset: o,
                ..
            }) => {
                assert_eq!(
                    (f, o),
                    (field, offset),
                    "{:?}",
                    String::from_utf8_lossy(input)
                )
            }
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
        }
    }
    assert!(matches!(
        parse_failure(b"E=691 garbage"),
        Err(MessageError::BadFailureField {
            field: '?',
            offset: 6,
            ..
        })
    ));
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn message_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_failure(&bytes);
            let _ = parse_success(&bytes, AUTH_RESPONSE);
        }

        #[test]
        fn nt_response_verifies_only_with_its_own_password(
            user in proptest::collection::vec(any::<u8>(), 0..40),
            pw in "\\PC{0,20}",
            other in "\\PC{0,20}",
            a in any::<[u8; 16]>(),
            p in any::<[u8; 16]>(),
        ) {
            let r = generate_nt_response(&a, &p, &user, &pw);
            prop_assert!(verify_nt_response(&a, &p, &user, &pw, &r));
            if other != pw {
                prop_assert!(!verify_nt_response(&a, &p, &user, &other, &r));
            }
            let s = authenticator_response(&pw, &r, &p, &a, &user);
            let msg = success_message(&s, "ok");
            prop_assert_eq!(parse_success(msg.as_bytes(), &s), Ok(&b"ok"[..]));
        }
    }
}
