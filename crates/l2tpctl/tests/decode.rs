//! `l2tpctl decode` run as a binary: real captures decode to the right message sequence, JSON
//! output parses and is typed, bad input gives exit 1 and one located error line, no input exit
//! 2, garbage never panics; with the secret, authenticators are checked.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_l2tpctl"))
}

/// The shared directory: $L2TP_SHARED_DIR, else by the repository layout, `<repo>/../shared`.
fn shared() -> PathBuf {
    if let Some(d) = std::env::var_os("L2TP_SHARED_DIR") {
        return PathBuf::from(d);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn capture(name: &str) -> String {
    shared().join("captures").join(name).display().to_string()
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run l2tpctl")
}

fn run_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run l2tpctl");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON {l:?}: {e}")))
        .collect()
}

/// Control message names (ZLBs left out) and "DATA" for data messages.
fn sequence(file: &str, extra: &[&str]) -> Vec<String> {
    let path = capture(file);
    let mut args = vec!["decode", "--json", "--pcap", path.as_str()];
    args.extend_from_slice(extra);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_lines(&out)
        .iter()
        .filter_map(|m| match m["message"].as_str() {
            Some("ZLB") => None,
            Some(s) => Some(s.to_string()),
            None => Some("DATA".to_string()),
        })
        .collect()
}

fn seq(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

const EXPECTED: &[(&str, &str)] = &[
    ("xl2tpd-v2-userspace-cdn-hello-stopccn.pcap", "SCCRQ SCCRP SCCCN ICRQ ICRP ICCN CDN HELLO HELLO StopCCN"),
    ("xl2tpd-v2-userspace-challenge.pcap", "SCCRQ SCCRP SCCCN ICRQ ICRP ICCN CDN StopCCN"),
    ("xl2tpd-v2-userspace-hidden-bit.pcap", "SCCRQ SCCRP SCCCN ICRQ ICRP ICCN CDN StopCCN"),
    ("xl2tpd-v2-retransmit-unreachable-lns.pcap", "SCCRQ SCCRQ SCCRQ SCCRQ SCCRQ StopCCN StopCCN StopCCN StopCCN"),
    ("xl2tpd-v2-retransmit-blackholed-lns.pcap", "SCCRQ SCCRQ SCCRQ SCCRQ SCCRQ StopCCN StopCCN StopCCN StopCCN"),
    (
        "xl2tpd-v2-retransmit-hello-lns-stopped.pcap",
        "SCCRQ SCCRP SCCCN ICRQ ICRP ICCN CDN HELLO HELLO HELLO HELLO HELLO StopCCN StopCCN StopCCN StopCCN StopCCN",
    ),
];

#[test]
fn every_capture_decodes_to_the_expected_message_sequence() {
    for (file, expected) in EXPECTED {
        assert_eq!(sequence(file, &[]), seq(expected), "{file}");
    }
    // Files with PPP data: control messages in order, data messages counted.
    for (file, control, data) in [
        (
            "xl2tpd-v2-challenge.pcap",
            "SCCRQ SCCRP SCCCN ICRQ ICRP ICCN StopCCN",
            None,
        ),
        (
            "xl2tpd-v2-kernel-ppp.pcap",
            "SCCRQ SCCRP SCCCN ICRQ ICRP ICCN StopCCN",
            None,
        ),
        (
            "xl2tpd-v2-userspace-ppp-data.pcap",
            "SCCRQ SCCRP SCCCN ICRQ ICRP ICCN CDN StopCCN",
            Some(16),
        ),
    ] {
        let s = sequence(file, &[]);
        let ctl: Vec<_> = s.iter().filter(|m| *m != "DATA").cloned().collect();
        assert_eq!(ctl, seq(control), "{file}");
        let n = s.iter().filter(|m| *m == "DATA").count();
        assert!(n > 0, "{file}: data messages expected");
        if let Some(d) = data {
            assert_eq!(n, d, "{file}");
        }
    }
}

#[test]
fn every_capture_decodes_with_the_secret_and_without_errors() {
    let dir = shared().join("captures");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "pcap") {
            let path = p.display().to_string();
            for extra in [&[][..], &["--secret", "s3cr3t-example"][..]] {
                let mut args = vec!["decode", "--pcap", path.as_str()];
                args.extend_from_slice(extra);
                let out = run(&args);
                assert!(
                    out.status.success() && out.stderr.is_empty(),
                    "{path} {extra:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(String::from_utf8_lossy(&out.stdout).contains("L2TPv2 control SCCRQ"));
            }
            n += 1;
        }
    }
    assert!(n >= 9, "captures not found in {}", dir.display());
}

#[test]
fn tree_output_names_header_fields_avps_and_pcap_addresses() {
    let path = capture("xl2tpd-v2-challenge.pcap");
    let out = run(&["decode", "--pcap", &path]);
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "packet 1  t=0.000000  10.1.0.1:1701 > 10.1.0.2:1701",
        "L2TPv2 control SCCRQ",
        "flags 0xc802 [T L S], ver 2, length 130, tunnel id 0, session id 0, Ns 0, Nr 0",
        "[M-] Host Name (7): \"lac.example\"",
        "[--] Vendor Name (8): \"xelerance.com\"",
        "[M-] Challenge Response (13)",
        "L2TPv2 control ZLB",
        "L2TPv2 data",
        "payload: ",
    ] {
        assert!(text.contains(needle), "missing {needle:?}");
    }
}

#[test]
fn json_output_has_the_expected_fields() {
    let path = capture("xl2tpd-v2-userspace-ppp-data.pcap");
    let out = run(&["decode", "--json", "--pcap", &path]);
    assert!(out.status.success());
    let msgs = json_lines(&out);
    let first = &msgs[0];
    assert_eq!(first["packet"], 1);
    assert_eq!(first["kind"], "control");
    assert_eq!(first["version"], 2);
    assert_eq!(first["message"], "SCCRQ");
    assert_eq!(first["tunnel_id"], 0);
    assert_eq!(first["ns"], 0);
    assert_eq!(first["flags"], serde_json::json!(["T", "L", "S"]));
    assert!(first["src"].as_str().unwrap().ends_with(":1701"));
    let avps = first["avps"].as_array().unwrap();
    assert_eq!(avps[0]["name"], "Message Type");
    assert_eq!(avps[0]["mandatory"], true);
    assert!(avps
        .iter()
        .any(|a| a["name"] == "Host Name" && a["value"] == "lac.example"));
    let data = msgs.iter().find(|m| m["kind"] == "data").unwrap();
    assert!(data["payload_len"].as_u64().unwrap() > 0);
    assert!(data["payload_head"].as_str().unwrap().starts_with("ff03"));
    assert_eq!(data["flags"], serde_json::json!(["L"]));
}

const SCCCN: &str =
    "c802002af926000000010001800800000000000380160000000d8c9e814154e8ba02471dddae2388a033";

#[test]
fn hex_arguments_and_stdin_in_the_captures_hex_format() {
    let out = run(&["decode", SCCCN, "c802000c8557000000010002"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("packet 1\nL2TPv2 control SCCCN"), "{text}");
    assert!(text.contains("packet 2\nL2TPv2 control ZLB"), "{text}");

    let hexfile = std::fs::read(capture("xl2tpd-v2-challenge.hex")).unwrap();
    let out = run_stdin(&["decode", "--json", "-"], &hexfile);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let msgs = json_lines(&out);
    assert_eq!(msgs[0]["message"], "SCCRQ");
    assert_eq!(msgs[0]["src"], "10.1.0.1");
    assert_eq!(msgs[0]["dst"], "10.1.0.2");
    assert_eq!(msgs[1]["message"], "SCCRP");
    assert_eq!(msgs[2]["message"], "SCCCN");
}

#[test]
fn truncated_hex_exits_1_with_one_line_naming_the_offset() {
    for cut in [4, 20, SCCCN.len() - 2] {
        let out = run(&["decode", &SCCCN[..cut]]);
        assert_eq!(out.status.code(), Some(1), "cut {cut}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("l2tpctl: decode: packet 1: "), "{err}");
        assert!(err.contains("offset"), "{err}");
    }
    // An AVP whose length runs short: the codec's message, located.
    let bad = "c8020016000000000000000080080000000000010003";
    let out = run(&["decode", "c802000c8557000000010002", bad]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("l2tpctl: decode: packet 2: "), "{err}");
    assert!(err.contains("offset"), "{err}");
    // Not hex at all.
    let out = run(&["decode", "zz"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stderr).unwrap().contains("offset 0"));
}

#[test]
fn bad_pcap_file_is_one_line_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("garbage.pcap");
    std::fs::write(&f, b"this is not a capture file at all").unwrap();
    let out = run(&["decode", "--pcap", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stderr).unwrap().lines().count(), 1);
    let out = run(&["decode", "--pcap", "/nonexistent.pcap"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn random_garbage_never_panics() {
    // A fixed xorshift stream: reproducible without a dependency.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let seeds: Vec<Vec<u8>> = vec![
        hex::decode(SCCCN).unwrap(),
        hex::decode("4002000c855700a2ff03c021").unwrap(),
    ];
    let mut lines = String::new();
    for i in 0..300 {
        let mut b: Vec<u8> = if i % 2 == 0 {
            let len = (next() % 64) as usize;
            (0..len).map(|_| next() as u8).collect()
        } else {
            seeds[i % seeds.len()].clone()
        };
        // Mutate a few bytes of the real messages.
        if i % 2 == 1 {
            for _ in 0..3 {
                let at = (next() as usize) % b.len();
                b[at] = next() as u8;
            }
        }
        lines.push_str(&hex::encode(&b));
        lines.push('\n');
    }
    for encap in ["udp", "ip"] {
        for json in [false, true] {
            let mut args = vec!["decode", "--encap", encap, "-"];
            if json {
                args.push("--json");
            }
            let out = run_stdin(&args, lines.as_bytes());
            let code = out.status.code();
            assert!(
                matches!(code, Some(0 | 1)),
                "{encap} json={json}: exit {code:?}"
            );
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!err.contains("panicked"), "{err}");
            assert!(
                err.lines()
                    .all(|l| l.starts_with("l2tpctl: decode: packet ")),
                "{err}"
            );
        }
    }
    // Garbage as a capture file.
    let dir = tempfile::tempdir().unwrap();
    let real = std::fs::read(capture("xl2tpd-v2-challenge.pcap")).unwrap();
    for i in 0..20 {
        let mut b = real.clone();
        for _ in 0..40 {
            let at = 24 + (next() as usize) % (b.len() - 24);
            b[at] = next() as u8;
        }
        if i % 4 == 0 {
            b.truncate(24 + (next() as usize) % (b.len() - 24));
        }
        let f = dir.path().join("g.pcap");
        std::fs::write(&f, &b).unwrap();
        let out = run(&["decode", "--pcap", f.to_str().unwrap()]);
        assert!(matches!(out.status.code(), Some(0 | 1)), "pcap {i}");
    }
}

/// An L2TPv3 control connection set-up with Message Digests: SCCRQ (no nonces in the digest),
/// SCCRP and SCCCN (sender's nonce, then receiver's), signed with `secret`.
fn v3_digest_exchange(secret: &[u8], alg: l2tp_proto::auth::DigestAlg) -> Vec<String> {
    use l2tp_proto::auth;
    use l2tp_proto::wire::{
        Avp, AvpValue, ControlHeader, ControlMessage, Encap, MessageType, Version,
    };
    let key = auth::shared_key(secret);
    let (lac_nonce, lns_nonce) = (vec![0x11; 16], vec![0x22; 16]);
    let msg = |to: u32, ns: u16, t: MessageType, mut avps: Vec<Avp>| {
        let mut all = vec![Avp::m(AvpValue::MessageType(t))];
        all.append(&mut avps);
        all.push(Avp::m(AvpValue::MessageDigest {
            digest_type: alg.wire_type(),
            digest: vec![0; alg.digest_len()],
        }));
        ControlMessage {
            header: ControlHeader {
                version: Version::V3,
                tunnel_id: to,
                session_id: 0,
                ns,
                nr: ns,
            },
            avps: all,
        }
        .to_bytes(Encap::Udp, None)
        .unwrap()
    };
    let mut sccrq = msg(
        0,
        0,
        MessageType::Sccrq,
        vec![
            Avp::m(AvpValue::AssignedControlConnectionId(100)),
            Avp::m(AvpValue::ControlMessageAuthNonce(lac_nonce.clone())),
        ],
    );
    assert!(auth::sign(&mut sccrq, alg, &key, None));
    let mut sccrp = msg(
        100,
        0,
        MessageType::Sccrp,
        vec![
            Avp::m(AvpValue::AssignedControlConnectionId(200)),
            Avp::m(AvpValue::ControlMessageAuthNonce(lns_nonce.clone())),
        ],
    );
    assert!(auth::sign(
        &mut sccrp,
        alg,
        &key,
        Some((&lns_nonce, &lac_nonce))
    ));
    let mut scccn = msg(200, 1, MessageType::Scccn, vec![]);
    assert!(auth::sign(
        &mut scccn,
        alg,
        &key,
        Some((&lac_nonce, &lns_nonce))
    ));
    [sccrq, sccrp, scccn].iter().map(hex::encode).collect()
}

/// The `check` of each message's Message Digest AVP.
fn digest_checks(out: &Output) -> Vec<serde_json::Value> {
    json_lines(out)
        .iter()
        .map(|m| {
            m["avps"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["name"] == "Message Digest")
                .unwrap()["check"]
                .clone()
        })
        .collect()
}

#[test]
fn secret_checks_v3_message_digests() {
    use l2tp_proto::auth::DigestAlg;
    for alg in [DigestAlg::HmacMd5, DigestAlg::HmacSha1] {
        let lines = v3_digest_exchange(b"s3cr3t", alg).join("\n");
        let out = run_stdin(
            &["decode", "--json", "--secret", "s3cr3t"],
            lines.as_bytes(),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for c in digest_checks(&out) {
            assert_eq!(c, serde_json::json!({"result": "correct"}), "{alg:?}");
        }
        // The wrong secret: each is incorrect, with what it should have been.
        let out = run_stdin(&["decode", "--json", "--secret", "other"], lines.as_bytes());
        for c in digest_checks(&out) {
            assert_eq!(c["result"], "incorrect", "{alg:?}");
            assert_eq!(
                c["expected"].as_str().unwrap().len(),
                2 * alg.digest_len(),
                "{c}"
            );
        }
        let out = run_stdin(&["decode", "--secret", "other", "-"], lines.as_bytes());
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.matches("[incorrect, should be 0x").count(),
            3,
            "{text}"
        );
    }
    // Without the SCCRQ and SCCRP the nonces are unknown: not verified, and said why.
    let lines = v3_digest_exchange(b"s3cr3t", DigestAlg::HmacMd5);
    let out = run(&["decode", "--secret", "s3cr3t", &lines[2]]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("[not verified: the nonces of control connection 200 are unknown"),
        "{text}"
    );
    // No secret, no checks.
    let out = run(&["decode", "--json", &lines[0]]);
    assert!(digest_checks(&out)[0].is_null());
}

#[test]
fn secret_checks_v2_challenge_responses_against_the_earlier_challenge() {
    for file in [
        "xl2tpd-v2-challenge.pcap",
        "xl2tpd-v2-userspace-challenge.pcap",
        "xl2tpd-v2-userspace-hidden-bit.pcap",
    ] {
        let path = capture(file);
        let out = run(&["decode", "--json", &path, "--secret", "s3cr3t-example"]);
        assert!(out.status.success());
        let checks: Vec<(String, serde_json::Value)> = json_lines(&out)
            .iter()
            .flat_map(|m| {
                let name = m["message"].as_str().unwrap_or("").to_string();
                m["avps"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|a| a["name"] == "Challenge Response")
                    .map(move |a| (name.clone(), a["check"].clone()))
            })
            .collect();
        assert_eq!(
            checks,
            [
                (
                    "SCCRP".to_string(),
                    serde_json::json!({"result": "correct"})
                ),
                (
                    "SCCCN".to_string(),
                    serde_json::json!({"result": "correct"})
                ),
            ],
            "{file}"
        );
        let out = run(&["decode", &path, "--secret", "not-it"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            text.matches("[incorrect, should be 0x").count(),
            2,
            "{text}"
        );
    }
    // A response whose challenge is not in the input.
    let scccn =
        "c802002af926000000010001800800000000000380160000000d8c9e814154e8ba02471dddae2388a033";
    let out = run(&["decode", scccn, "--secret", "s3cr3t-example"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("[not verified: no Challenge from tunnel 63782 earlier in the input]"),
        "{text}"
    );
}

#[test]
fn no_input_is_a_usage_error() {
    for args in [
        &["decode"][..],
        &["decode", "-"][..],
        &["decode", "--json"][..],
    ] {
        let out = run_stdin(args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("l2tpctl: decode: nothing to decode"),
            "{err}"
        );
        assert!(err.contains("\nUsage: l2tpctl decode "), "{err}");
        assert!(out.stdout.is_empty());
    }
    // Only comments and blank lines: nothing either.
    let out = run_stdin(&["decode"], b"# nothing\n\n");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn capture_files_are_recognised_without_pcap_and_stdin_is_read_without_dash() {
    let path = capture("xl2tpd-v2-challenge.pcap");
    let with_flag = run(&["decode", "--json", "--pcap", &path]);
    let positional = run(&["decode", "--json", &path]);
    assert!(positional.status.success());
    assert_eq!(positional.stdout, with_flag.stdout);
    // A capture on stdin (`tcpdump -w - | l2tpctl decode`), no `-` needed.
    let piped = run_stdin(&["decode", "--json"], &std::fs::read(&path).unwrap());
    assert!(piped.status.success());
    assert_eq!(piped.stdout, with_flag.stdout);
    // A file of hex lines.
    let hexfile = capture("xl2tpd-v2-challenge.hex");
    let out = run(&["decode", "--json", &hexfile]);
    assert!(out.status.success());
    assert_eq!(json_lines(&out)[0]["message"], "SCCRQ");
}

#[test]
fn json_values_are_typed_and_codes_named() {
    let path = capture("xl2tpd-v2-userspace-cdn-hello-stopccn.pcap");
    let out = run(&["decode", "--json", &path]);
    let msgs = json_lines(&out);
    let avp = |m: &serde_json::Value, name: &str| -> serde_json::Value {
        m["avps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {m}"))["value"]
            .clone()
    };
    let sccrq = &msgs[0];
    assert_eq!(
        avp(sccrq, "Message Type"),
        serde_json::json!({"type": 1, "name": "SCCRQ"})
    );
    assert_eq!(avp(sccrq, "Host Name"), "lac.example");
    assert_eq!(avp(sccrq, "Receive Window Size"), 4);
    assert!(avp(sccrq, "Assigned Tunnel ID").is_u64());
    assert_eq!(
        avp(sccrq, "Protocol Version"),
        serde_json::json!({"version": 1, "revision": 0})
    );
    assert_eq!(avp(sccrq, "Framing Capabilities"), 3);
    let stop = msgs.iter().find(|m| m["message"] == "StopCCN").unwrap();
    assert_eq!(
        avp(stop, "Result Code"),
        serde_json::json!({"result": 1, "result_name": "general request to clear", "error": 0,
            "error_name": "no error", "message": "Server closing"})
    );
    let cdn = msgs.iter().find(|m| m["message"] == "CDN").unwrap();
    assert_eq!(avp(cdn, "Result Code")["result_name"], "lost carrier");
    // The tree names them too.
    let text = String::from_utf8_lossy(&run(&["decode", &path]).stdout).to_string();
    assert!(
        text.contains(
            "Result Code (1): result 1 (general request to clear), error 0 (no error), \
             message \"Server closing\""
        ),
        "{text}"
    );
    assert!(
        text.contains("result 1 (lost carrier), error 0 (no error)"),
        "{text}"
    );
}
