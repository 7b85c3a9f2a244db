//! Bad requests on the control socket and from l2tpctl: each is refused with `ok: false` and an
//! error that names what was wrong, and the connection (or the daemon) carries on. One test a
//! kind of mistake, each against its own LNS / LAC pair (tunnel `t1`, session `s1`).

mod common;

use std::io::{BufRead, BufReader, Write};

use common::*;
use serde_json::Value;

/// The error of a refused request.
fn refused(d: &Daemon, line: &str) -> String {
    let r = d.request(line);
    assert_eq!(r["ok"], false, "{r}");
    r["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_string()
}

#[test]
fn unknown_command_is_refused_naming_it() {
    let dir = TempDir::new("bad-cmd");
    let (_lns, lac) = lns_and_lac(&dir);
    let e = refused(&lac, r#"{"cmd":"frobnicate"}"#);
    assert!(e.contains("unknown variant `frobnicate`"), "{e}");
}

#[test]
fn a_line_that_is_not_json_is_a_bad_request() {
    let dir = TempDir::new("bad-json");
    let (_lns, lac) = lns_and_lac(&dir);
    let e = refused(&lac, "this is not json");
    assert!(e.starts_with("bad request: "), "{e}");
}

#[test]
fn unknown_request_field_is_refused_naming_it() {
    let dir = TempDir::new("bad-field");
    let (_lns, lac) = lns_and_lac(&dir);
    let e = refused(&lac, r#"{"cmd":"show","extra":1}"#);
    assert!(e.contains("unknown field `extra`"), "{e}");
}

#[test]
fn create_tunnel_config_errors_name_the_key_as_the_config_file_parser_does() {
    let dir = TempDir::new("bad-config");
    let (_lns, lac) = lns_and_lac(&dir);
    let e = refused(
        &lac,
        r#"{"cmd":"create_tunnel","name":"x","config":{"peer":"127.0.0.1:1","encap":"tcp"}}"#,
    );
    assert_eq!(e, "tunnel.x.encap: expect 'udp' or 'ip', got \"tcp\"");
    let e = refused(
        &lac,
        r#"{"cmd":"create_tunnel","name":"x","config":{"peer":"127.0.0.1:1","bogus":true}}"#,
    );
    assert_eq!(e, "tunnel.x.bogus: unrecognised parameter 'bogus'");
}

#[test]
fn creating_an_existing_tunnel_or_touching_a_missing_one_is_refused() {
    let dir = TempDir::new("bad-names");
    let (_lns, lac) = lns_and_lac(&dir);
    let e = refused(
        &lac,
        r#"{"cmd":"create_tunnel","name":"t1","config":{"peer":"127.0.0.1:1"}}"#,
    );
    assert_eq!(e, "tunnel t1 exists already");
    let r = lac.request(r#"{"cmd":"delete_tunnel","name":"nope"}"#);
    assert_eq!(
        r,
        serde_json::json!({"ok": false, "error": "no tunnel nope"})
    );
    let e = refused(
        &lac,
        r#"{"cmd":"create_session","tunnel":"nope","name":"s"}"#,
    );
    assert_eq!(e, "no tunnel nope");
}

#[test]
fn a_cookie_on_an_l2tpv2_session_is_refused() {
    let dir = TempDir::new("bad-cookie");
    let (_lns, lac) = lns_and_lac(&dir);
    let e = refused(
        &lac,
        r#"{"cmd":"create_session","tunnel":"t1","name":"s9","config":{"cookie":[1,2,3,4]}}"#,
    );
    assert_eq!(e, "tunnel.t1.session.s9.cookie: cookies are L2TPv3 only");
}

#[test]
fn a_request_line_over_64_kib_ends_the_connection_with_an_error() {
    let dir = TempDir::new("bad-long");
    let (_lns, lac) = lns_and_lac(&dir);
    let big = format!(r#"{{"cmd":"show","pad":"{}"}}"#, "x".repeat(70 * 1024));
    let e = refused(&lac, &big);
    assert!(e.contains("longer than 65536 bytes"), "{e}");
}

#[test]
fn an_error_does_not_end_a_connection_of_several_requests() {
    let dir = TempDir::new("bad-several");
    let (_lns, lac) = lns_and_lac(&dir);
    let mut s = std::os::unix::net::UnixStream::connect(&lac.control).unwrap();
    s.write_all(b"{\"cmd\":\"nope\"}\n{\"cmd\":\"stats\"}\n")
        .unwrap();
    let mut lines = BufReader::new(s).lines();
    let a: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let b: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(a["ok"], false);
    assert_eq!(b["ok"], true);
    assert_eq!(b["result"]["tunnels_up"], 1);
}

#[test]
fn l2tpctl_errors_are_one_line_on_stderr_with_exit_status_1() {
    let dir = TempDir::new("bad-ctl");
    let (_lns, lac) = lns_and_lac(&dir);
    let o = ctl(
        &lac.control,
        &["create", "session", "t1", "s9", "pseudowire=eth"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "l2tpctl: tunnel.t1.session.s9.pseudowire: expect 'ppp' or 'pppac' for an L2TPv2 \
         tunnel, got \"eth\"\n"
    );
    let o = ctl(&lac.control, &["create", "tunnel", "t9", "peer"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "l2tpctl: expected key=value, got \"peer\"\n"
    );
}
