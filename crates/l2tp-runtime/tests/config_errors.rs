//! Bad configuration files: each gives one line `FILE:LINE:COL: KEY: WHAT` with go-l2tp's
//! phrase where it has one.

use l2tp_runtime::config::Config;

/// Parses `text` as "t.toml" and returns the one-line error.
fn err(text: &str) -> String {
    let e = Config::parse(text, "t.toml").expect_err("config should be rejected");
    let s = e.to_string();
    assert!(!s.contains('\n'), "error must be one line: {s:?}");
    s
}

fn assert_err(text: &str, prefix: &str, phrase: &str) {
    let e = err(text);
    assert!(e.starts_with(prefix), "{e:?} should start with {prefix:?}");
    assert!(e.contains(phrase), "{e:?} should contain {phrase:?}");
}

const T: &str = "[tunnel.t1]\npeer = \"10.0.0.1:1701\"\n";

#[test]
fn bad_encap_names_file_line_key_and_expectation() {
    assert_eq!(
        err(&format!("{T}encap = \"tcp\"\n")),
        "t.toml:3:1: tunnel.t1.encap: expect 'udp' or 'ip', got \"tcp\""
    );
}

#[test]
fn bad_version() {
    assert_err(
        &format!("{T}version = \"l2tpv4\"\n"),
        "t.toml:3:1: tunnel.t1.version: ",
        "expect 'l2tpv2' or 'l2tpv3'",
    );
}

#[test]
fn bad_pseudowire() {
    assert_err(
        &format!("{T}[tunnel.t1.session.s1]\npseudowire = \"atm\"\n"),
        "t.toml:4:1: tunnel.t1.session.s1.pseudowire: ",
        "expect 'ppp', 'eth', 'eth_vlan' or 'pppac'",
    );
}

#[test]
fn bad_l2spec_type() {
    assert_err(
        "[tunnel.t1]\npeer = \"10.0.0.1:1701\"\nversion = \"l2tpv3\"\n\n[tunnel.t1.session.s1]\n  l2spec_type = \"sometimes\"\n",
        "t.toml:6:3: tunnel.t1.session.s1.l2spec_type: ",
        "expect 'none' or 'default'",
    );
}

#[test]
fn bad_framing_caps() {
    assert_err(
        &format!("{T}framing_caps = [\"sync\", \"isochronous\"]\n"),
        "t.toml:3:1: tunnel.t1.framing_caps: ",
        "expect 'sync' or 'async'",
    );
}

#[test]
fn ids_out_of_range_for_the_version() {
    assert_err(
        &format!("{T}tid = 65536\n"),
        "t.toml:3:1: tunnel.t1.tid: ",
        "out of range",
    );
    assert_err(
        &format!("{T}ptid = 0\n"),
        "t.toml:3:1: tunnel.t1.ptid: ",
        "out of range",
    );
    assert_err(
        &format!("{T}version = \"l2tpv3\"\ntid = 4294967296\n"),
        "t.toml:4:1: tunnel.t1.tid: ",
        "out of range",
    );
    assert_err(
        &format!("{T}[tunnel.t1.session.s]\nsid = 70000\n"),
        "t.toml:4:1: tunnel.t1.session.s.sid: ",
        "out of range",
    );
    assert_err(
        &format!("{T}[tunnel.t1.session.s]\npseudowire = \"pppac\"\npppoe_session_id = 0\n"),
        "t.toml:5:1: tunnel.t1.session.s.pppoe_session_id: ",
        "out of range",
    );
}

#[test]
fn no_tunnel_table() {
    assert_err(
        "# nothing here\n",
        "t.toml:1:1: ",
        "no tunnel table present",
    );
}

#[test]
fn non_string_where_a_string_is_expected() {
    assert_err(
        "[tunnel.t1]\npeer = 42\n",
        "t.toml:2:1: tunnel.t1.peer: ",
        "could not be parsed as a string",
    );
    assert_err(
        &format!("{T}host_name = true\n"),
        "t.toml:3:1: tunnel.t1.host_name: ",
        "could not be parsed as a string",
    );
}

#[test]
fn unknown_keys_are_rejected_at_every_level() {
    assert_eq!(
        err(&format!("{T}foo = 1\n")),
        "t.toml:3:1: tunnel.t1.foo: unrecognised parameter 'foo'"
    );
    assert_err(
        &format!("{T}[tunnel.t1.session.s]\nbar = 1\n"),
        "t.toml:4:1: tunnel.t1.session.s.bar: ",
        "unrecognised parameter 'bar'",
    );
    assert_err(
        &format!("top = 1\n{T}"),
        "t.toml:1:1: top: ",
        "unrecognised parameter 'top'",
    );
}

#[test]
fn unnamed_tunnels_and_sessions() {
    assert_err(
        "tunnel = 1\n",
        "t.toml:1:1: tunnel: ",
        "tunnel instances must be named",
    );
    assert_err(
        "[tunnel]\npeer = \"10.0.0.1:1701\"\n",
        "t.toml:2:1: tunnel.peer: ",
        "tunnel instances must be named",
    );
    assert_err(
        &format!("{T}[tunnel.t1.session]\nsid = 1\n"),
        "t.toml:4:1: tunnel.t1.session.sid: ",
        "session instances must be named",
    );
}

#[test]
fn cross_field_checks_name_the_key() {
    // v2 sessions carry PPP only.
    assert_err(
        &format!("{T}[tunnel.t1.session.s]\npseudowire = \"eth\"\n"),
        "t.toml:4:1: tunnel.t1.session.s.pseudowire: ",
        "L2TPv2",
    );
    // Cookies are 0, 4 or 8 bytes.
    assert_err(
        &format!("{T}version = \"l2tpv3\"\n[tunnel.t1.session.s]\ncookie = [1, 2, 3]\n"),
        "t.toml:5:1: tunnel.t1.session.s.cookie: ",
        "expect 0, 4 or 8 bytes, got 3",
    );
    // v2 over IP does not exist.
    assert_err(
        &format!("{T}encap = \"ip\"\n"),
        "t.toml:3:1: tunnel.t1.encap: ",
        "'udp' only",
    );
    // Dynamic LAC tunnels need a peer; the error points at the tunnel's table.
    assert_err(
        "\n[tunnel.t1]\nversion = \"l2tpv2\"\n",
        "t.toml:2:",
        "missing parameter 'peer'",
    );
    // Static tunnels need IDs on both sides.
    assert_err(
        "[tunnel.s]\nkind = \"static\"\nversion = \"l2tpv3\"\nlocal = \"10.0.0.1\"\npeer = \"10.0.0.2\"\ntid = 1\n",
        "t.toml:1:",
        "missing parameter 'ptid'",
    );
    // Challenge needs a secret.
    assert_err(
        &format!("{T}challenge = true\n"),
        "t.toml:3:1: tunnel.t1.challenge: ",
        "needs parameter 'secret'",
    );
    // pppoe keys only with pppac.
    assert_err(
        &format!("{T}[tunnel.t1.session.s]\npppoe_session_id = 5\n"),
        "t.toml:4:1: tunnel.t1.session.s.pppoe_session_id: ",
        "pppac",
    );
    // Duplicate tunnel IDs.
    assert_err(
        &format!("{T}tid = 5\n[tunnel.t2]\npeer = \"10.0.0.1:1701\"\ntid = 5\n"),
        "t.toml:6:1: tunnel.t2.tid: ",
        "already used by tunnel 't1'",
    );
}

#[test]
fn bad_values_of_other_kinds() {
    assert_err(
        &format!("{T}window_size = \"big\"\n"),
        "t.toml:3:1: tunnel.t1.window_size: ",
        "could not be parsed as an integer",
    );
    assert_err(
        &format!("{T}peer_x = 1\n"),
        "t.toml:3:1: tunnel.t1.peer_x: ",
        "unrecognised parameter",
    );
    assert_err(
        "[tunnel.t1]\npeer = \"10.0.0.1:port\"\n",
        "t.toml:2:1: tunnel.t1.peer: ",
        "host:port",
    );
    assert_err(
        &format!("{T}[tunnel.t1.session.s]\npseudowire = \"pppac\"\npppoe_peer_mac = [1, 2, 3]\n"),
        "t.toml:5:1: tunnel.t1.session.s.pppoe_peer_mac: ",
        "expect 6 bytes",
    );
    assert_err(
        "[tunnel.t1]\npeer = \"10.0.0.1:1701\"\nversion = \"l2tpv3\"\n[tunnel.t1.session.s]\ncookie = [1, 2, 3, 300]\n",
        "t.toml:5:1: tunnel.t1.session.s.cookie: ",
        "out of range",
    );
}

#[test]
fn toml_syntax_errors_are_located_on_one_line() {
    assert_err("[tunnel.t1]\npeer = \n", "t.toml:2:", "");
    assert_err("[tunnel.t1\n", "t.toml:1:", "");
}

#[test]
fn missing_file_names_the_path() {
    let e = Config::load("/nonexistent/l2tpd.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("/nonexistent/l2tpd.toml: could not read"),
        "{e}"
    );
}

#[test]
fn bridge_needs_tunnel_slash_session_and_a_ppp_session() {
    assert_err(
        "[tunnel.t]\npeer = \"127.0.0.1:1701\"\n[tunnel.t.session.s]\nbridge = \"nope\"\n",
        "t.toml:4:1: tunnel.t.session.s.bridge",
        "expect \"TUNNEL/SESSION\"",
    );
    let ok = Config::parse(
        "[tunnel.t]\npeer = \"127.0.0.1:1701\"\n[tunnel.t.session.s]\nbridge = \"other/s2\"\n",
        "t.toml",
    )
    .expect("valid bridge");
    assert_eq!(
        ok.tunnels[0].1.sessions[0].1.bridge,
        Some(("other".to_string(), "s2".to_string()))
    );
}

#[test]
fn listener_limits_need_listen_and_a_positive_value() {
    assert_err(
        &format!("{T}max_half_open = 10\n"),
        "t.toml:3:1: tunnel.t1.max_half_open: ",
        "only meaningful with listen = true",
    );
    assert_err(
        &format!("{T}max_tunnels_per_peer = 10\n"),
        "t.toml:3:1: tunnel.t1.max_tunnels_per_peer: ",
        "only meaningful with listen = true",
    );
    assert_err(
        "[tunnel.l]\nlisten = true\nlocal = \"0.0.0.0:1701\"\nmax_half_open = 0\n",
        "t.toml:4:1: tunnel.l.max_half_open: ",
        "out of range 1..=",
    );
}

#[test]
fn ppp_keys_are_read_and_bad_values_are_located() {
    const S: &str = "[tunnel.t]\npeer = \"127.0.0.1:1701\"\n[tunnel.t.session.s]\n";
    let ok = Config::parse(
        &format!(
            "{S}ppp_auth = [\"mschapv2\", \"chap\", \"pap\"]\nppp_secrets = \"/etc/ppp/chap-secrets\"\n\
             ppp_local_ip = \"10.0.0.1\"\nppp_pool = \"10.0.0.2 - 10.0.0.254\"\nppp_dns = [\"192.0.2.53\", \"192.0.2.54\"]\n\
             ppp_mru = 1400\nppp_echo_interval = 0\nppp_echo_failures = 5\nppp_user = \"alice\"\nppp_password = \"pw\"\n\
             ppp_ipv6 = true\n"
        ),
        "t.toml",
    )
    .expect("valid ppp keys");
    let p = &ok.tunnels[0].1.sessions[0].1.ppp;
    use l2tp_ppp::AuthMethod::*;
    assert_eq!(p.auth, [MsChapV2, ChapMd5, Pap]);
    assert_eq!(
        p.secrets.as_deref(),
        Some(std::path::Path::new("/etc/ppp/chap-secrets"))
    );
    assert_eq!(p.local_ip, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(
        p.pool,
        Some(("10.0.0.2".parse().unwrap(), "10.0.0.254".parse().unwrap()))
    );
    assert_eq!(p.dns.len(), 2);
    assert_eq!(
        (p.mru, p.echo_interval, p.echo_failures),
        (Some(1400), Some(0), Some(5))
    );
    assert_eq!(p.user.as_deref(), Some("alice"));
    assert!(p.ipv6, "ppp_ipv6 = true");
    assert!(
        !Config::parse(&format!("{S}ppp_mru = 1400\n"), "t.toml")
            .unwrap()
            .tunnels[0]
            .1
            .sessions[0]
            .1
            .ppp
            .ipv6,
        "IPV6CP is off by default"
    );
    assert_err(
        &format!("{S}ppp_ipv6 = 1\n"),
        "t.toml:4:1: tunnel.t.session.s.ppp_ipv6",
        "expect true or false",
    );
    assert!(
        !format!("{p:?}").contains("\"pw\""),
        "Debug must not print the password"
    );

    assert_err(
        &format!("{S}ppp_auth = [\"chap\", \"eap\"]\n"),
        "t.toml:4:1: tunnel.t.session.s.ppp_auth",
        "expect 'chap', 'mschapv2' or 'pap', got \"eap\"",
    );
    assert_err(
        &format!("{S}ppp_auth = [\"pap\", \"pap\"]\n"),
        "t.toml:4:1: tunnel.t.session.s.ppp_auth",
        "given twice",
    );
    assert_err(
        &format!("{S}ppp_local_ip = \"10.0.0.1\"\nppp_pool = \"10.0.0.9-10.0.0.2\"\n"),
        "t.toml:5:1: tunnel.t.session.s.ppp_pool",
        "ends before it starts",
    );
    assert_err(
        &format!("{S}ppp_local_ip = \"10.0.0.1\"\nppp_pool = \"10.0.0.9\"\n"),
        "t.toml:5:1: tunnel.t.session.s.ppp_pool",
        "expect \"FIRST-LAST\" IPv4 addresses",
    );
    assert_err(
        &format!("{S}ppp_pool = \"10.0.0.2-10.0.0.9\"\n"),
        "t.toml:4:1: tunnel.t.session.s.ppp_pool",
        "ppp_pool and ppp_local_ip go together",
    );
    assert_err(
        &format!("{S}ppp_local_ip = \"fd00::1\"\n"),
        "t.toml:4:1: tunnel.t.session.s.ppp_local_ip",
        "expect an IPv4 address",
    );
    assert_err(
        &format!("{S}ppp_dns = [\"1.1.1.1\", \"8.8.8.8\", \"9.9.9.9\"]\n"),
        "t.toml:4:1: tunnel.t.session.s.ppp_dns",
        "at most 2 servers",
    );
    assert_err(
        &format!("{S}ppp_mru = 64\n"),
        "t.toml:4:1: tunnel.t.session.s.ppp_mru",
        "out of range 128..=65535",
    );
    assert_err(
        "[tunnel.t]\npeer = \"127.0.0.1:1701\"\nversion = \"l2tpv3\"\n[tunnel.t.session.s]\npseudowire = \"eth\"\nppp_mru = 1400\n",
        "t.toml:6:1: tunnel.t.session.s.ppp_mru",
        "only applies to pseudowire 'ppp'",
    );
    assert_err(
        &format!("{S}ppp_user = \"alice\"\n"),
        "t.toml:4:1: tunnel.t.session.s.ppp_user",
        "ppp_user and ppp_password go together",
    );
}

#[test]
fn pppoe_table_needs_a_known_dialling_v2_tunnel_and_an_interface() {
    assert_err(
        &format!("{T}[pppoe]\ninterfaces = [\"eth1\"]\ntunnel = \"nope\"\n"),
        "t.toml:",
        "pppoe: tunnel \"nope\" is not configured",
    );
    assert_err(
        &format!("{T}[pppoe]\ntunnel = \"t1\"\n"),
        "t.toml:",
        "needs an interface",
    );
    assert_err(
        &format!("{T}[pppoe]\ninterfaces = [\"eth1\"]\n"),
        "t.toml:",
        "needs a tunnel or an LNS address",
    );
    assert_err(
        "[tunnel.l]\nlocal = \"127.0.0.1:1701\"\nlisten = true\n[pppoe]\ninterfaces = [\"eth1\"]\ntunnel = \"l\"\n",
        "t.toml:",
        "must be a dynamic L2TPv2 tunnel that dials",
    );
    assert_err(
        &format!("{T}[pppoe]\ninterfaces = [\"eth1\"]\ntunnel = \"t1\"\nac = \"x\"\n"),
        "t.toml:6:1: pppoe.ac: ",
        "unrecognised parameter 'ac'",
    );
    assert_err(
        &format!("{T}[pppoe]\ninterfaces = [\"a/b\"]\ntunnel = \"t1\"\n"),
        "t.toml:",
        "bad interface name \"a/b\"",
    );
    assert_err(
        &format!("{T}[pppoe]\ninterfaces = [\"eth1\"]\ntunnel = \"t1\"\nmax_sessions = 0\n"),
        "t.toml:6:1: pppoe.max_sessions: ",
        "out of range",
    );
}

#[test]
fn ppp_key_chooses_pppd_or_builtin_and_defaults_to_pppd() {
    use l2tp_runtime::config::PppMode;
    const S: &str = "[tunnel.t]\npeer = \"127.0.0.1:1701\"\n[tunnel.t.session.s]\n";
    let mode = |extra: &str| {
        Config::parse(&format!("{S}{extra}"), "t.toml")
            .expect("valid")
            .tunnels[0]
            .1
            .sessions[0]
            .1
            .ppp
            .mode
    };
    assert_eq!(mode(""), PppMode::Pppd, "existing configs keep pppd");
    assert_eq!(mode("ppp = \"pppd\"\n"), PppMode::Pppd);
    assert_eq!(mode("ppp = \"builtin\"\n"), PppMode::Builtin);
    assert_err(
        &format!("{S}ppp = \"inprocess\"\n"),
        "t.toml:4:1: tunnel.t.session.s.ppp",
        "expect 'pppd' or 'builtin', got \"inprocess\"",
    );
    assert_err(
        &format!("{S}ppp = true\n"),
        "t.toml:4:1: tunnel.t.session.s.ppp",
        "could not be parsed as a string",
    );
    assert_err(
        "[tunnel.t]\npeer = \"127.0.0.1:1701\"\nversion = \"l2tpv3\"\n[tunnel.t.session.s]\npseudowire = \"eth\"\nppp = \"builtin\"\n",
        "t.toml:6:1: tunnel.t.session.s.ppp",
        "only applies to pseudowire 'ppp'",
    );
    assert_err(
        &format!("{S}bridge = \"other/s2\"\nppp = \"builtin\"\n"),
        "t.toml:5:1: tunnel.t.session.s.ppp",
        "not 'builtin'",
    );
}

#[test]
fn radius_section_is_read_with_secrets_from_file_and_environment() {
    let dir = std::env::temp_dir().join(format!("l2tp-radius-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret_file = dir.join("secret");
    std::fs::write(&secret_file, "from-file\nignored second line\n").unwrap();
    std::env::set_var("L2TP_CFG_TEST_RADIUS_SECRET", "from-env");
    let text = format!(
        "[radius]\nnas_identifier = \"lns1\"\nnas_ip = \"192.0.2.1\"\ntimeout = 500\nretries = 1\n\
         dead_time = 10\nacct_interim_interval = 60\ndae_listen = \"127.0.0.1:3799\"\n\
         [radius.server.b]\naddress = \"192.0.2.10\"\nsecret_file = \"{}\"\n\
         [radius.server.a]\naddress = \"192.0.2.11\"\nauth_port = 1645\nacct_port = 0\n\
         secret_env = \"L2TP_CFG_TEST_RADIUS_SECRET\"\n\
         [radius.dae_client.c]\naddress = \"192.0.2.10\"\nsecret = \"dae\"\n\
         [tunnel.t]\nlocal = \"0.0.0.0:1701\"\nlisten = true\n[tunnel.t.session.s]\n\
         ppp_auth = [\"pap\"]\nppp_auth_source = \"radius\"\n",
        secret_file.display()
    );
    let c = Config::parse(&text, "t.toml").expect("valid [radius]");
    let r = c.radius.expect("a radius section");
    // File order is the order of preference.
    let names: Vec<_> = r.servers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["b", "a"]);
    assert_eq!(r.servers[0].1.secret, "from-file");
    assert_eq!(
        (r.servers[0].1.auth_port, r.servers[0].1.acct_port),
        (1812, 1813)
    );
    assert_eq!(r.servers[1].1.secret, "from-env");
    assert_eq!(
        (r.servers[1].1.auth_port, r.servers[1].1.acct_port),
        (1645, 0)
    );
    assert_eq!(r.timeout, std::time::Duration::from_millis(500));
    assert_eq!(r.retries, 1);
    assert_eq!(
        r.acct_interim_interval,
        Some(std::time::Duration::from_secs(60))
    );
    assert_eq!(r.nas_identifier.as_deref(), Some("lns1"));
    assert_eq!(r.dae_clients[0].1.secret, "dae");
    assert!(
        !format!("{r:?}").contains("from-file"),
        "Debug hides secrets"
    );
    assert_eq!(
        c.tunnels[0].1.sessions[0].1.ppp.auth_source,
        l2tp_runtime::config::PppAuthSource::Radius
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn radius_section_errors_are_located() {
    const T: &str = "[tunnel.t]\npeer = \"127.0.0.1:1701\"\n";
    assert_err(
        &format!("[radius]\nnas_ip = \"192.0.2.1\"\n{T}"),
        "t.toml:1:2: radius",
        "no [radius.server.NAME] table present",
    );
    assert_err(
        &format!("[radius.server.a]\naddress = \"192.0.2.1\"\n{T}"),
        "t.toml:1:16: radius.server.a",
        "a non-empty secret is required",
    );
    assert_err(
        &format!("[radius.server.a]\naddress = \"192.0.2.1\"\nsecret_env = \"L2TP_NO_SUCH_VARIABLE_X\"\n{T}"),
        "t.toml:3:1: radius.server.a.secret_env",
        "environment variable L2TP_NO_SUCH_VARIABLE_X is not set",
    );
    assert_err(
        &format!("[radius.server.a]\naddress = \"nowhere\"\nsecret = \"s\"\n{T}"),
        "t.toml:2:1: radius.server.a.address",
        "expect an IP address",
    );
    assert_err(
        &format!("[radius]\ndae_listen = \"127.0.0.1:3799\"\n[radius.server.a]\naddress = \"192.0.2.1\"\nsecret = \"s\"\n{T}"),
        "t.toml:1:2: radius",
        "dae_listen needs a [radius.dae_client.NAME] table",
    );
    assert_err(
        &format!("{T}[tunnel.t.session.s]\nppp_auth_source = \"ldap\"\n"),
        "t.toml:4:1: tunnel.t.session.s.ppp_auth_source",
        "expect 'secrets' or 'radius'",
    );
}

#[test]
fn tunnel_dataplane_is_kernel_or_userspace_and_a_bad_value_names_the_line() {
    use l2tp_runtime::config::{DataPlaneKind, TunnelPlane};
    let c = Config::parse(
        "dataplane = \"kernel\"\n\
         [tunnel.k]\npeer = \"10.0.0.1:1701\"\ndataplane = \"kernel\"\n\
         [tunnel.u]\npeer = \"10.0.0.2:1701\"\ndataplane = \"userspace\"\n\
         [tunnel.d]\npeer = \"10.0.0.3:1701\"\n",
        "t.toml",
    )
    .unwrap();
    assert_eq!(c.dataplane, Some(DataPlaneKind::Kernel));
    let planes: Vec<_> = c.tunnels.iter().map(|(_, t)| t.dataplane).collect();
    assert_eq!(
        planes,
        [
            Some(TunnelPlane::Kernel),
            Some(TunnelPlane::Userspace),
            None
        ]
    );
    assert_eq!(
        err(&format!("{T}dataplane = \"tap\"\n")),
        "t.toml:3:1: tunnel.t1.dataplane: expect 'kernel' or 'userspace', got \"tap\""
    );
    // `null` and `auto` are daemon-wide only.
    for v in ["null", "auto"] {
        assert_err(
            &format!("{T}\ndataplane = \"{v}\"\n"),
            "t.toml:4:1: tunnel.t1.dataplane: ",
            "expect 'kernel' or 'userspace'",
        );
    }
    assert_err(
        &format!("{T}dataplane = 1\n"),
        "t.toml:3:1: tunnel.t1.dataplane: ",
        "could not be parsed as a string",
    );
}
