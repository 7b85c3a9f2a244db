//! pppd secrets file parsing and lookup, against pppd(8)'s examples and the behaviour of
//! pppd's `getword` / `scan_authfile` / `set_allowed_addrs`.

use std::net::Ipv4Addr;

use l2tp_ppp::secrets::*;

fn parse(text: &str) -> Secrets {
    Secrets::parse(text).unwrap_or_else(|e| panic!("{e}\n--- input ---\n{text}"))
}

fn secret_of<'a>(s: &'a Secrets, client: &str, server: &str) -> Option<&'a [u8]> {
    s.lookup(client, server).and_then(|e| e.secret.literal())
}

fn no_dns(_: &str) -> Option<Ipv4Addr> {
    None
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("test address")
}

// ------------------------------------------------------------------ pppd's own examples

/// pppd(8) EXAMPLES: "joespc server "joe's secret" joespc.my.net".
#[test]
fn man_page_example_entry() {
    let s = parse("joespc\tserver\t\"joe's secret\"\tjoespc.my.net\n");
    let e = s.lookup("joespc", "server").expect("entry found");
    assert_eq!(e.client, b"joespc");
    assert_eq!(e.server, b"server");
    assert_eq!(e.secret, Secret::Literal(b"joe's secret".to_vec()));
    assert_eq!(
        e.addresses,
        vec![AddrSpec::Name {
            permit: true,
            name: "joespc.my.net".to_owned(),
            prefix_len: None,
            unit_offset: false
        }]
    );
    assert_eq!(e.line, 1);
    assert!(s.lookup("joespc", "other").is_none());
    assert!(
        s.lookup("JoesPC", "server").is_none(),
        "names are case sensitive"
    );
}

/// pppd's etc.ppp/chap-secrets.example: only comments.
#[test]
fn distributed_example_file_has_no_entries() {
    let s = parse(
        "# Secrets for authentication using CHAP\n# client\tserver\tsecret\t\t\tIP addresses\n",
    );
    assert!(s.is_empty());
    assert!(s.warnings().is_empty());
}

/// pppd(8) AUTHENTICATION: with `login`, the pap-secrets secret is "" and matches any
/// password; a peer that refuses to authenticate is looked up with the empty name, so an
/// entry with "" as client grants it restricted addresses.
#[test]
fn man_page_pap_secrets_login_and_anonymous_entries() {
    let s = parse(
        "# pap-secrets\n\
         \"\"\t*\t\"\"\t192.168.1.5\n\
         *\tgateway\t\"\"\t*\n",
    );
    let anon = s.lookup("", "gateway").expect("empty client name");
    assert_eq!(anon.secret.literal(), Some(&b""[..]));
    assert_eq!(anon.line, 2);
    assert_eq!(anon.suggested_address(0, no_dns), Some(ip("192.168.1.5")));
    let any = s.lookup("bob", "gateway").expect("wildcard client");
    assert_eq!(any.line, 3);
    assert_eq!(any.addresses, vec![AddrSpec::Any]);
}

// ------------------------------------------------------------------ matching rules

#[test]
fn best_match_has_fewest_wildcards_whatever_the_order() {
    let s = parse(
        "*     *      any\n\
         *     srv    wild-client\n\
         alice *      wild-server\n\
         alice srv    exact\n\
         alice srv    exact-second\n\
         *     srv    wild-client-second\n",
    );
    assert_eq!(secret_of(&s, "alice", "srv"), Some(&b"exact"[..]));
    // Non-wild client beats non-wild server (pppd NONWILD_CLIENT = 2 > NONWILD_SERVER = 1).
    assert_eq!(secret_of(&s, "alice", "other"), Some(&b"wild-server"[..]));
    assert_eq!(secret_of(&s, "bob", "srv"), Some(&b"wild-client"[..]));
    assert_eq!(secret_of(&s, "bob", "other"), Some(&b"any"[..]));
    // A literal "*" asked for is not an exact name.
    assert_eq!(secret_of(&s, "*", "srv"), Some(&b"wild-client"[..]));
    assert_eq!(s.len(), 6);
}

#[test]
fn no_match_without_wildcards() {
    let s = parse("alice srv pw\n");
    assert!(s.lookup("bob", "srv").is_none());
    assert!(s.lookup("alice", "srv2").is_none());
    assert!(Secrets::parse("")
        .expect("empty")
        .lookup("a", "b")
        .is_none());
}

#[test]
fn star_inside_a_word_is_not_a_wildcard() {
    let s = parse("a* srv pw\n\"*\" srv quoted\n");
    assert_eq!(
        s.lookup("abc", "srv").map(|e| e.line),
        Some(2),
        "a* is not a pattern"
    );
    assert_eq!(secret_of(&s, "a*", "srv"), Some(&b"pw"[..]));
    // pppd's ISWILD looks at the word after quotes are removed: "*" is a wildcard.
    assert_eq!(secret_of(&s, "zed", "srv"), Some(&b"quoted"[..]));
}

#[test]
fn lookup_bytes_takes_non_utf8_names() {
    let s = parse("caf\\xe9 srv pw\n");
    assert_eq!(s.lookup_bytes(b"caf\xe9", b"srv").map(|e| e.line), Some(1));
    assert!(s.lookup_bytes(b"caf\xe9\0", b"srv").is_none());
}

// ------------------------------------------------------------------ word splitting

#[test]
fn quotes_escapes_and_comments_split_like_getword() {
    let s = parse(
        "# comment line\n\
         c1 s1 'a b'\"c#d\"e   # trailing comment\n\
         c2 s2 x\\sy\\tz\\\\w\n\
         c3 s3 \\101\\x42\\7\\x4a\n\
         c4 s4 \\q\\\"\\#\n\
         c5 s5 ab#cd\n\
         c6 s6 \"\\n\"\n",
    );
    assert_eq!(secret_of(&s, "c1", "s1"), Some(&b"a bc#de"[..]));
    assert_eq!(secret_of(&s, "c2", "s2"), Some(&b"x y\tz\\w"[..]));
    assert_eq!(secret_of(&s, "c3", "s3"), Some(&b"AB\x07J"[..]));
    assert_eq!(secret_of(&s, "c4", "s4"), Some(&b"q\"#"[..]));
    // An unquoted # ends the word and starts a comment.
    assert_eq!(secret_of(&s, "c5", "s5"), Some(&b"ab"[..]));
    assert_eq!(secret_of(&s, "c6", "s6"), Some(&b"\n"[..]));
    assert_eq!(s.lookup("c5", "s5").map(|e| e.addresses.len()), Some(0));
}

#[test]
fn octal_and_hex_escapes_stop_at_their_digit_count() {
    // \123 = 'S' then '4'; \x41 = 'A' then '4'; \8 is '8'; \777 = 511, of which pppd
    // keeps the low byte 0xFF; \x4 takes the one hex digit there is.
    let s = parse("c s \\1234\\x414\\8\\777\\x4\n");
    assert_eq!(secret_of(&s, "c", "s"), Some(&b"S4A48\xff\x04"[..]));
    // \x with no hex digit is a NUL byte: rejected.
    let err = Secrets::parse("c s a\\xg\n").expect_err("NUL from \\x");
    assert!(err.reason.contains("NUL"), "{err}");
}

#[test]
fn backslash_newline_continues_an_entry() {
    let s = parse(
        "alice server \\\n    secret1 \\\n    10.0.0.1\n\
         bob ser\\\nver sec\\\nret2\n",
    );
    let a = s.lookup("alice", "server").expect("continued entry");
    assert_eq!(a.secret.literal(), Some(&b"secret1"[..]));
    assert_eq!(a.addresses.len(), 1);
    assert_eq!(a.line, 1);
    // Inside a word the backslash-newline is dropped and the word goes on.
    let b = s.lookup("bob", "server").expect("joined words");
    assert_eq!(b.secret.literal(), Some(&b"secret2"[..]));
    assert_eq!(b.line, 4);
}

/// In a comment a backslash is ignored: pppd checks for a comment before an escape.
#[test]
fn backslash_at_the_end_of_a_comment_does_not_continue_the_line() {
    let s = parse("alice server pw # note \\\nbob server pw2\n");
    assert_eq!(s.len(), 2);
    assert_eq!(secret_of(&s, "bob", "server"), Some(&b"pw2"[..]));
    assert_eq!(
        s.lookup("alice", "server").map(|e| e.addresses.len()),
        Some(0)
    );
}

#[test]
fn quoted_newline_belongs_to_the_word() {
    let s = parse("alice server \"two\nlines\" 10.0.0.1\nbob server pw\n");
    assert_eq!(secret_of(&s, "alice", "server"), Some(&b"two\nlines"[..]));
    assert_eq!(
        s.lookup("alice", "server").map(|e| e.addresses.len()),
        Some(1)
    );
    assert_eq!(s.lookup("bob", "server").map(|e| e.line), Some(3));
}

#[test]
fn crlf_line_ends_are_blanks() {
    let s = parse("alice server pw\r\nbob server pw2\r\n");
    assert_eq!(secret_of(&s, "alice", "server"), Some(&b"pw"[..]));
    assert_eq!(secret_of(&s, "bob", "server"), Some(&b"pw2"[..]));
}

#[test]
fn short_entries_are_skipped_with_a_warning() {
    let s = parse("lonely\nalice server\nbob server pw\n");
    assert_eq!(s.len(), 1);
    assert_eq!(
        s.warnings().iter().map(|w| w.line).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(s.lookup("alice", "server").is_none());
    assert_eq!(secret_of(&s, "bob", "server"), Some(&b"pw"[..]));
}

// ------------------------------------------------------------------ secret, addresses, options

#[test]
fn at_slash_secret_is_a_file_reference() {
    let s = parse("a srv @/etc/ppp/secret-a\nb srv @notapath\nc srv \"@/with space\"\n");
    assert_eq!(
        s.lookup("a", "srv").map(|e| &e.secret),
        Some(&Secret::File("/etc/ppp/secret-a".into()))
    );
    assert_eq!(secret_of(&s, "b", "srv"), Some(&b"@notapath"[..]));
    assert_eq!(
        s.lookup("c", "srv").map(|e| &e.secret),
        Some(&Secret::File("/with space".into()))
    );
    assert_eq!(s.lookup("a", "srv").and_then(|e| e.secret.literal()), None);
}

#[test]
fn indirect_secret_is_the_first_word_of_the_file() {
    assert_eq!(
        indirect_secret(b"  # note\n\"s3cret word\" ignored\n"),
        Ok(Some(b"s3cret word".to_vec()))
    );
    assert_eq!(indirect_secret(b"# only a comment\n"), Ok(None));
    assert!(indirect_secret(b"\"open").is_err());
}

#[test]
fn address_words_parse_to_specs() {
    let s = parse("c s pw 10.0.0.1 !10.1.0.0/16 192.168.0.0/24+ host-a.example !net_b/8 - *\n");
    let e = s.lookup("c", "s").expect("entry");
    assert_eq!(
        e.addresses,
        vec![
            AddrSpec::Net {
                permit: true,
                addr: ip("10.0.0.1"),
                prefix_len: 32,
                unit_offset: false
            },
            AddrSpec::Net {
                permit: false,
                addr: ip("10.1.0.0"),
                prefix_len: 16,
                unit_offset: false
            },
            AddrSpec::Net {
                permit: true,
                addr: ip("192.168.0.0"),
                prefix_len: 24,
                unit_offset: true
            },
            AddrSpec::Name {
                permit: true,
                name: "host-a.example".into(),
                prefix_len: None,
                unit_offset: false
            },
            AddrSpec::Name {
                permit: false,
                name: "net_b".into(),
                prefix_len: Some(8),
                unit_offset: false
            },
            AddrSpec::None,
            AddrSpec::Any,
        ]
    );
}

#[test]
fn words_after_double_dash_are_options() {
    let s = parse("c s pw 10.0.0.1 -- ms-dns 10.0.0.53 mtu 1400\n");
    let e = s.lookup("c", "s").expect("entry");
    assert_eq!(e.addresses.len(), 1);
    assert_eq!(e.options, vec!["ms-dns", "10.0.0.53", "mtu", "1400"]);
}

#[test]
fn bad_address_words_are_errors_with_their_line() {
    for (word, why) in [
        ("10.0.0.0/0", "prefix"),
        ("10.0.0.0/33", "prefix"),
        ("10.0.0.0/", "prefix"),
        ("10.0.0.0/8x", "prefix"),
        ("/8", "no address"),
        ("!*", "host name"),
        ("10.0.0.1+", "host name"),
        ("a,b", "host name"),
    ] {
        let text = format!("ok s pw\nc s pw {word}\n");
        let err = Secrets::parse(&text).expect_err(word);
        assert_eq!(err.line, 2, "{word}: {err}");
        assert!(err.reason.contains(why), "{word}: {err}");
        assert!(err.reason.contains(word), "{word}: {err}");
    }
}

// ------------------------------------------------------------------ address policy

#[test]
fn address_list_first_match_decides_as_ip_addr_check() {
    let s = parse(
        "c1 s pw !10.0.0.5 10.0.0.0/24\n\
         c2 s pw\n\
         c3 s pw -\n\
         c4 s pw * -\n\
         c5 s pw - 10.0.0.1\n\
         c6 s pw 10.9.0.0/16+\n\
         c7 s pw peerhost\n",
    );
    let allowed = |c: &str, a: &str| {
        s.lookup(c, "s")
            .expect(c)
            .address_permitted(ip(a), 3, |n| (n == "peerhost").then(|| ip("172.16.1.1")))
    };
    assert!(!allowed("c1", "10.0.0.5"));
    assert!(allowed("c1", "10.0.0.6"));
    assert!(!allowed("c1", "10.0.1.1"));
    // Only 3 words, or "-": no address is allowed (pppd(8) AUTHENTICATION).
    assert!(!allowed("c2", "10.0.0.1"));
    assert!(!allowed("c3", "10.0.0.1"));
    assert!(allowed("c4", "203.0.113.9"));
    assert!(!allowed("c5", "10.0.0.1"), "words after - are not read");
    // /16+ on unit 3: host part 4.
    assert!(allowed("c6", "10.9.0.4"));
    assert!(!allowed("c6", "10.9.0.5"));
    assert!(allowed("c7", "172.16.1.1"));
    assert!(!allowed("c7", "172.16.1.2"));
    assert!(
        !s.lookup("c7", "s")
            .expect("c7")
            .address_permitted(ip("172.16.1.1"), 0, no_dns),
        "an unresolved name is skipped"
    );
}

#[test]
fn unit_offset_too_large_for_the_subnet_is_skipped() {
    let s = parse("c s pw 10.0.0.0/30+ 10.1.0.0/16\n");
    let e = s.lookup("c", "s").expect("entry");
    assert!(e.address_permitted(ip("10.0.0.2"), 1, no_dns));
    assert!(
        !e.address_permitted(ip("10.0.0.3"), 2, no_dns),
        "3 >= ~mask 3: skipped"
    );
    assert_eq!(e.suggested_address(1, no_dns), Some(ip("10.0.0.2")));
    assert_eq!(
        e.suggested_address(2, no_dns),
        None,
        "skipped, and /16 is a subnet"
    );
}

#[test]
fn suggested_address_is_the_first_single_permitted_host() {
    let s = parse("c s pw !10.0.0.1 10.0.0.0/24 10.0.0.7 10.0.0.8\nd s pw - 10.0.0.9\n");
    assert_eq!(
        s.lookup("c", "s").expect("c").suggested_address(0, no_dns),
        Some(ip("10.0.0.7"))
    );
    assert_eq!(
        s.lookup("d", "s").expect("d").suggested_address(0, no_dns),
        None
    );
}

// ------------------------------------------------------------------ errors and limits

#[test]
fn unterminated_quote_is_an_error_at_its_line() {
    let err = Secrets::parse("a s pw\nb s \"open\nmore\n").expect_err("open quote");
    assert_eq!(err.line, 2);
    assert!(err.reason.contains("quoted"), "{err}");
}

#[test]
fn nul_in_a_word_is_an_error() {
    let err = Secrets::parse("a s pw\nb s x\\000y\n").expect_err("NUL escape");
    assert_eq!(err.line, 2);
    let err = Secrets::parse_bytes(b"a s x\0y\n").expect_err("raw NUL");
    assert_eq!(err.line, 1);
}

#[test]
fn word_longer_than_pppd_maxwordlen_is_an_error() {
    let ok = format!("a s {}\n", "x".repeat(MAX_WORD_BYTES));
    assert_eq!(
        parse(&ok)
            .lookup("a", "s")
            .and_then(|e| e.secret.literal())
            .map(<[u8]>::len),
        Some(MAX_WORD_BYTES)
    );
    let long = format!("a s pw\nb s {}\n", "x".repeat(MAX_WORD_BYTES + 1));
    let err = Secrets::parse(&long).expect_err("long word");
    assert_eq!(err.line, 2);
    assert!(err.reason.contains("1023"), "{err}");
}

#[test]
fn line_over_64_kib_is_an_error_with_its_number() {
    let text = format!("a s pw\n# {}\n", "y".repeat(MAX_LINE_BYTES));
    let err = Secrets::parse(&text).expect_err("long line");
    assert_eq!(err.line, 2);
    let fits = format!("a s pw\n#{}\n", "y".repeat(MAX_LINE_BYTES - 1));
    assert!(Secrets::parse(&fits).is_ok());
}

#[test]
fn file_over_16_mib_is_an_error() {
    let line = format!("# {}\n", "z".repeat(1000));
    let text = line.repeat(MAX_FILE_BYTES / line.len() + 1);
    let err = Secrets::parse(&text).expect_err("big file");
    assert_eq!(err.line, 0);
    assert!(err.reason.contains("bytes"), "{err}");
}

#[test]
fn debug_output_redacts_literal_secrets() {
    let s = parse("alice server hunter2\n");
    let shown = format!("{:?}", s.lookup("alice", "server"));
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("alice") || shown.contains("97"), "{shown}");
}

// ------------------------------------------------------------------ scale

/// 100,000 users: every lookup returns its own entry through the index (the answer is
/// checked for each), and a user with only a wildcard entry falls through to it.
#[test]
fn hundred_thousand_entries_look_up_by_index() {
    let mut text = String::with_capacity(100_000 * 40);
    for i in 0..100_000u32 {
        text.push_str(&format!(
            "user{i} lns \"pw {i}\" 10.{}.{}.{}\n",
            i >> 16,
            (i >> 8) & 255,
            i & 255
        ));
    }
    text.push_str("* lns fallback\n");
    let s = parse(&text);
    assert_eq!(s.len(), 100_001);
    for i in (0..100_000u32).step_by(7) {
        let e = s.lookup(&format!("user{i}"), "lns").expect("own entry");
        assert_eq!(e.secret.literal(), Some(format!("pw {i}").as_bytes()));
        assert_eq!(e.line, i as usize + 1);
    }
    assert_eq!(secret_of(&s, "stranger", "lns"), Some(&b"fallback"[..]));
}

// ------------------------------------------------------------------ properties

mod prop {
    use super::*;
    use proptest::prelude::*;

    /// Writes `word` so that pppd's getword reads it back as the same bytes.
    fn quote(word: &[u8], style: u8) -> String {
        let mut out = String::new();
        if word.is_empty() {
            return "\"\"".to_owned();
        }
        if style % 2 == 1 {
            out.push('"');
        }
        for &b in word {
            match (b.is_ascii_alphanumeric(), style % 3) {
                (true, _) => out.push(char::from(b)),
                (false, 0) => out.push_str(&format!("\\{b:03o}")),
                (false, _) => out.push_str(&format!("\\x{b:02x}")),
            }
        }
        if style % 2 == 1 {
            out.push('"');
        }
        out
    }

    fn word() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(1u8..=255, 0..24)
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
            let _ = Secrets::parse(&text);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            if let Ok(s) = Secrets::parse_bytes(&bytes) {
                for e in s.entries() {
                    let _ = e.address_permitted(Ipv4Addr::new(10, 0, 0, 1), 0, |_| Some(Ipv4Addr::new(10, 0, 0, 1)));
                    let _ = e.suggested_address(u32::MAX, |_| None);
                    prop_assert!(s.lookup_bytes(&e.client, &e.server).is_some());
                }
            }
            let _ = indirect_secret(&bytes);
        }

        #[test]
        fn syntax_heavy_text_never_panics(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("\\"), Just("\""), Just("'"), Just("#"), Just("\n"), Just(" "),
                    Just("*"), Just("-"), Just("--"), Just("@/"), Just("\\x"), Just("\\7"),
                    Just("10.0.0.1/8+"), Just("!"), Just("a"), Just("\r\n"), Just("\\\n"),
                ],
                0..80,
            )
        ) {
            let _ = Secrets::parse(&parts.concat());
        }

        /// Any non-NUL bytes written with quotes and escapes read back exactly, and
        /// lookup finds the first entry of each (client, server) pair.
        #[test]
        fn escaped_words_round_trip(
            rows in proptest::collection::vec((word(), word(), word(), any::<u8>()), 1..12)
        ) {
            // A secret `@/PATH` names a file, and a path that is not UTF-8 is refused with an
            // error (its own test): keep such secrets literal here.
            let rows: Vec<_> = rows
                .into_iter()
                .map(|(c, s, mut p, st)| {
                    if p.starts_with(b"@/") && std::str::from_utf8(&p).is_err() {
                        p.insert(0, b'x');
                    }
                    (c, s, p, st)
                })
                .collect();
            let mut text = String::new();
            for (c, s, p, style) in &rows {
                text.push_str(&format!(
                    "{} {} {}\n",
                    quote(c, *style),
                    quote(s, style.wrapping_add(1)),
                    quote(p, style.wrapping_add(2))
                ));
            }
            let parsed = Secrets::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(parsed.len(), rows.len());
            for (e, (c, s, p, _)) in parsed.entries().iter().zip(&rows) {
                prop_assert_eq!(&e.client, c);
                prop_assert_eq!(&e.server, s);
                if !(p.starts_with(b"@/")) {
                    prop_assert_eq!(e.secret.literal(), Some(&p[..]));
                }
            }
            for (c, s, _, _) in &rows {
                if c.as_slice() != b"*" && s.as_slice() != b"*" {
                    let first = rows.iter().position(|(c2, s2, _, _)| c2 == c && s2 == s);
                    let got = parsed.lookup_bytes(c, s).map(|e| e.line);
                    prop_assert_eq!(got, first.map(|i| i + 1));
                }
            }
        }
    }
}
