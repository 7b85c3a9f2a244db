//! Loading good configuration files: every go-l2tp key, our extensions, defaults, file order,
//! conversion to engine configs, and every file under `examples/`.

use std::time::Duration;

use l2tp_proto::wire::{pw_type, Encap, Version};
use l2tp_runtime::config::{
    Config, Digest, L2SpecType, Profile, Pseudowire, TunnelKind, TunnelSection,
};

const EVERY_KEY: &str = r#"
[tunnel.t1]
local = "127.0.0.1:5000"
peer = "127.0.0.1:5001"
encap = "udp"
version = "l2tpv2"
tid = 65535
ptid = 1
window_size = 10
hello_timeout = 250
retry_timeout = 100
max_retries = 5
host_name = "blackhole.local"
framing_caps = ["sync"]
secret = "s3cr3t"
challenge = true
hide_avps = true

[tunnel.t1.session.s1]
sid = 11
psid = 12
pseudowire = "ppp"
seqnum = true
reorder_timeout = 1500
interface_name = "ppp-s1"
pppd_args = "/etc/l2tpd/s1.pppd"

[tunnel.t1.session.ac]
pseudowire = "pppac"
pppoe_session_id = 4321
pppoe_peer_mac = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55]

[tunnel.t2]
local = "[::1]:6000"
peer = "[::1]:6001"
encap = "ip"
version = "l2tpv3"
kind = "quiescent"
tid = 4294967295
ptid = 42
hello_timeout = 5000
digest = "sha1"
secret = "x"

[tunnel.t2.session.e1]
sid = 4294967295
psid = 99
pseudowire = "eth"
cookie = [1, 2, 3, 4]
peer_cookie = [1, 2, 3, 4, 5, 6, 7, 8]
l2spec_type = "default"

[tunnel.srv]
listen = true
local = "0.0.0.0:1701"
accept_peers = ["192.0.2.1", "2001:db8::1"]
max_half_open = 100
max_tunnels_per_peer = 10000
"#;

#[test]
fn every_go_l2tp_key_and_extension_is_read() {
    let c = Config::parse(EVERY_KEY, "every.toml").unwrap();
    let names: Vec<_> = c.tunnels.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["t1", "t2", "srv"], "tunnels keep file order");

    let t1 = c.tunnel("t1").unwrap();
    assert_eq!(t1.kind, TunnelKind::Dynamic);
    assert_eq!(t1.local, Some("127.0.0.1:5000".parse().unwrap()));
    assert_eq!(t1.peer, Some("127.0.0.1:5001".parse().unwrap()));
    assert_eq!((t1.encap, t1.version), (Encap::Udp, Version::V2));
    assert_eq!((t1.tid, t1.ptid), (Some(65535), Some(1)));
    assert_eq!(t1.window_size, 10);
    assert_eq!(t1.hello_timeout, Some(Duration::from_millis(250)));
    assert_eq!(t1.retry_timeout, Duration::from_millis(100));
    assert_eq!(t1.max_retries, 5);
    assert_eq!(t1.host_name, "blackhole.local");
    assert_eq!(t1.framing_caps, 1);
    assert_eq!(t1.secret.as_deref(), Some("s3cr3t"));
    assert!(t1.challenge == Some(true) && t1.hide_avps);
    let names: Vec<_> = t1.sessions.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["s1", "ac"], "sessions keep file order");
    let s1 = &t1.sessions[0].1;
    assert_eq!((s1.sid, s1.psid), (Some(11), Some(12)));
    assert_eq!(s1.pseudowire, Pseudowire::Ppp);
    assert!(s1.seqnum);
    assert_eq!(s1.reorder_timeout, Some(Duration::from_millis(1500)));
    assert_eq!(s1.interface_name.as_deref(), Some("ppp-s1"));
    assert_eq!(s1.pppd_args.as_deref(), Some("/etc/l2tpd/s1.pppd".as_ref()));
    let ac = &t1.sessions[1].1;
    assert_eq!(ac.pseudowire, Pseudowire::Pppac);
    assert_eq!(ac.pppoe_session_id, Some(4321));
    assert_eq!(ac.pppoe_peer_mac, Some([0, 0x11, 0x22, 0x33, 0x44, 0x55]));

    let t2 = c.tunnel("t2").unwrap();
    assert_eq!(t2.kind, TunnelKind::Quiescent);
    assert_eq!((t2.encap, t2.version), (Encap::Ip, Version::V3));
    assert!(t2.peer.unwrap().is_ipv6());
    assert_eq!(t2.tid, Some(u32::MAX));
    assert_eq!(t2.digest, Some(Digest::Sha1));
    let e1 = &t2.sessions[0].1;
    assert_eq!(e1.pseudowire, Pseudowire::Eth);
    assert_eq!(e1.cookie, [1, 2, 3, 4]);
    assert_eq!(e1.peer_cookie, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(e1.l2spec_type, L2SpecType::Default);

    let srv = c.tunnel("srv").unwrap();
    assert!(srv.listen);
    assert_eq!(srv.accept_peers.len(), 2);
    assert_eq!(srv.peer, None);
    assert_eq!(
        (srv.max_half_open, srv.max_tunnels_per_peer),
        (Some(100), Some(10_000))
    );
}

#[test]
fn defaults_follow_go_l2tp() {
    let c = Config::parse("[tunnel.t]\npeer = \"10.0.0.1:1701\"\n", "d.toml").unwrap();
    let t = c.tunnel("t").unwrap();
    assert_eq!(t.kind, TunnelKind::Dynamic);
    assert_eq!((t.encap, t.version), (Encap::Udp, Version::V2));
    assert_eq!((t.tid, t.ptid), (None, None));
    assert_eq!(t.window_size, 4);
    assert_eq!(t.hello_timeout, None);
    assert_eq!(t.retry_timeout, Duration::from_millis(1000));
    assert_eq!(t.max_retries, 3);
    assert_eq!(t.framing_caps, 3);
    assert_eq!(t.host_name, l2tp_runtime::config::default_host_name());
    assert!(!t.host_name.is_empty());
    assert!(t.secret.is_none() && t.challenge.is_none() && !t.hide_avps && !t.listen);
    assert!(!t.challenges());
    assert!(t.sessions.is_empty());
    assert!(c.pppoe.is_none());
}

#[test]
fn peer_without_port_uses_1701() {
    let c = Config::parse("[tunnel.t]\npeer = \"10.0.0.1\"\n", "p.toml").unwrap();
    assert_eq!(
        c.tunnel("t").unwrap().peer,
        Some("10.0.0.1:1701".parse().unwrap())
    );
}

#[test]
fn ql2tpd_profile_picks_static_or_quiescent_by_hello_timeout() {
    let text = r#"
[tunnel.a]
version = "l2tpv3"
encap = "udp"
local = "127.0.0.1:7000"
peer = "127.0.0.1:7001"
tid = 1
ptid = 2
[tunnel.a.session.s]
pseudowire = "eth"
sid = 1
psid = 2
[tunnel.b]
version = "l2tpv3"
encap = "ip"
local = "127.0.0.1"
peer = "127.0.0.2"
tid = 3
ptid = 4
hello_timeout = 1000
"#;
    let c = Config::parse_as(text, "q.toml", Profile::Ql2tpd).unwrap();
    assert_eq!(c.tunnel("a").unwrap().kind, TunnelKind::Static);
    assert_eq!(c.tunnel("b").unwrap().kind, TunnelKind::Quiescent);
}

/// Dynamic tunnels (dialled and listening) send HELLO every 60 s unless told otherwise; an
/// explicit `hello_timeout` wins and 0 turns it off; static and quiescent tunnels keep
/// go-l2tp's "none unless set", and ql2tpd takes `hello_timeout = 0` for static.
#[test]
fn hello_defaults_to_60_s_for_dynamic_tunnels_and_0_turns_it_off() {
    let text = r#"
[tunnel.dial]
peer = "10.0.0.1:1701"
[tunnel.dial_off]
peer = "10.0.0.1:1701"
hello_timeout = 0
[tunnel.dial_5s]
peer = "10.0.0.1:1701"
hello_timeout = 5000
[tunnel.lns]
local = "0.0.0.0:1701"
listen = true
[tunnel.lns_off]
local = "0.0.0.0:1702"
listen = true
hello_timeout = 0
[tunnel.q]
kind = "quiescent"
version = "l2tpv3"
local = "127.0.0.1:7000"
peer = "127.0.0.1:7001"
tid = 1
ptid = 2
[tunnel.q_10s]
kind = "quiescent"
version = "l2tpv3"
local = "127.0.0.1:7002"
peer = "127.0.0.1:7003"
tid = 3
ptid = 4
hello_timeout = 10000
"#;
    let c = Config::parse(text, "h.toml").unwrap();
    let hello = |n: &str| c.tunnel(n).unwrap().to_engine().hello_interval;
    let minute = Some(Duration::from_secs(60));
    assert_eq!(hello("dial"), minute);
    assert_eq!(hello("dial_off"), None);
    assert_eq!(hello("dial_5s"), Some(Duration::from_secs(5)));
    assert_eq!(hello("q"), None, "quiescent: HELLO only when configured");
    assert_eq!(hello("q_10s"), Some(Duration::from_secs(10)));
    // Tunnels a listener accepts.
    let accepted = |n: &str| c.tunnel(n).unwrap().to_endpoint_config().hello_interval;
    assert_eq!(accepted("lns"), minute);
    assert_eq!(accepted("lns_off"), None);
    assert_eq!(TunnelSection::new().to_engine().hello_interval, minute);

    let q = "[tunnel.a]\nversion = \"l2tpv3\"\nlocal = \"127.0.0.1:1\"\npeer = \"127.0.0.1:2\"\n\
             tid = 1\nptid = 2\nhello_timeout = 0\n";
    let c = Config::parse_as(q, "q.toml", Profile::Ql2tpd).unwrap();
    let a = c.tunnel("a").unwrap();
    assert_eq!(a.kind, TunnelKind::Static);
    assert_eq!(a.to_engine().hello_interval, None);
}

/// The listener's limits on half-open tunnels and tunnels per peer reach the engine; without
/// them the engine's defaults (4,096 each) apply.
#[test]
fn listener_limits_reach_the_endpoint_config() {
    let c = Config::parse(EVERY_KEY, "every.toml").unwrap();
    let e = c.tunnel("srv").unwrap().to_endpoint_config();
    assert_eq!((e.max_half_open, e.max_tunnels_per_peer), (100, 10_000));
    let c = Config::parse(
        "[tunnel.l]\nlisten = true\nlocal = \"0.0.0.0:1701\"\n",
        "l.toml",
    )
    .unwrap();
    let e = c.tunnel("l").unwrap().to_endpoint_config();
    assert_eq!((e.max_half_open, e.max_tunnels_per_peer), (4096, 4096));
}

/// `challenge` reaches the engine: a secret challenges the peer unless `challenge = false`
/// (then the secret still answers the peer's Challenge and hides AVPs); dialled and
/// listening tunnels alike.
#[test]
fn challenge_key_reaches_the_engine() {
    let text = r#"
[tunnel.plain]
peer = "10.0.0.1:1701"
[tunnel.secret]
peer = "10.0.0.1:1701"
secret = "s"
[tunnel.on]
peer = "10.0.0.1:1701"
secret = "s"
challenge = true
[tunnel.off]
peer = "10.0.0.1:1701"
secret = "s"
challenge = false
hide_avps = true
[tunnel.nosecret_off]
peer = "10.0.0.1:1701"
challenge = false
[tunnel.lns]
listen = true
local = "0.0.0.0:1701"
secret = "s"
challenge = false
"#;
    let c = Config::parse(text, "c.toml").unwrap();
    let challenge = |n: &str| c.tunnel(n).unwrap().to_engine().challenge;
    let secret = |n: &str| c.tunnel(n).unwrap().to_engine().secret.is_some();
    assert!(!challenge("plain"));
    assert!(challenge("secret") && challenge("on"));
    assert!(!challenge("off") && secret("off"));
    assert!(!c.tunnel("off").unwrap().to_engine().hide_avps.is_empty());
    assert!(!challenge("nosecret_off"));
    let lns = c.tunnel("lns").unwrap().to_endpoint_config();
    assert!(!lns.challenge && lns.secret.is_some());
    let lns = Config::parse(
        "[tunnel.l]\nlisten = true\nlocal = \"0.0.0.0:1701\"\nsecret = \"s\"\n",
        "l.toml",
    )
    .unwrap();
    assert!(lns.tunnel("l").unwrap().to_endpoint_config().challenge);
}

#[test]
fn kpppoed_top_level_keys_are_read() {
    let text = r#"
ac_name = "my-ac"
interface_name = "eth0"
services = ["internet", "voip"]
lns_ipaddr = "192.0.2.10:1701"
"#;
    let c = Config::parse(text, "k.toml").unwrap();
    let p = c.pppoe.unwrap();
    assert_eq!(p.ac_name, "my-ac");
    assert_eq!(p.interface_name.as_deref(), Some("eth0"));
    assert_eq!(p.services, ["internet", "voip"]);
    assert_eq!(p.lns_ipaddr, Some("192.0.2.10:1701".parse().unwrap()));
    assert!(c.tunnels.is_empty());
}

#[test]
fn pppoe_table_is_read_and_merges_with_kpppoed_keys() {
    let text = r#"
interface_name = "eth0"
[tunnel.up]
peer = "192.0.2.1:1701"
[pppoe]
interfaces = ["eth1", "eth0"]
ac_name = "bras"
services = ["internet"]
tunnel = "up"
max_sessions = 100
max_sessions_per_mac = 2
"#;
    let c = Config::parse(text, "p.toml").unwrap();
    let p = c.pppoe.unwrap();
    assert_eq!(p.ac_name, "bras");
    assert_eq!(p.all_interfaces(), ["eth0", "eth1"]);
    assert_eq!(p.services, ["internet"]);
    assert_eq!(p.tunnel.as_deref(), Some("up"));
    assert_eq!(p.max_sessions, Some(100));
    assert_eq!(p.max_sessions_per_mac, Some(2));
    assert_eq!(c.tunnels.len(), 1);
}

#[test]
fn sections_convert_to_engine_configs() {
    let c = Config::parse(EVERY_KEY, "every.toml").unwrap();
    let t1 = c.tunnel("t1").unwrap();
    let e = t1.to_engine();
    assert_eq!(e.version, Version::V2);
    assert_eq!(e.encap, Encap::Udp);
    assert_eq!(e.peer, "127.0.0.1:5001".parse().unwrap());
    assert_eq!(e.local_tunnel_id, Some(65535));
    assert_eq!(e.host_name, b"blackhole.local");
    assert_eq!(e.window_size, 10);
    assert_eq!(e.hello_interval, Some(Duration::from_millis(250)));
    assert_eq!(e.retry_timeout, Duration::from_millis(100));
    assert_eq!(e.max_retries, 5);
    assert_eq!(e.framing_caps, 1);
    assert_eq!(e.secret.as_deref(), Some(&b"s3cr3t"[..]));
    let s = t1.sessions[0].1.to_engine();
    assert_eq!(s.pseudowire, pw_type::PPP);
    assert_eq!(s.local_session_id, Some(11));
    let e1 = c.tunnel("t2").unwrap().sessions[0].1.to_engine();
    assert_eq!(e1.pseudowire, pw_type::ETHERNET);
    // A listening tunnel has no peer yet.
    assert!(c
        .tunnel("srv")
        .unwrap()
        .to_engine()
        .peer
        .ip()
        .is_unspecified());
    assert_eq!(TunnelSection::new().to_engine().window_size, 4);
}

#[test]
fn every_example_config_loads() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            if let Err(e) = Config::load(&path) {
                panic!("{e}");
            }
            n += 1;
        }
    }
    assert!(n >= 3, "expected the example configs in {}", dir.display());
    let c = Config::load(dir.join("static-v3-pseudowire.toml")).unwrap();
    let pw = c.tunnel("pw").unwrap();
    assert_eq!(pw.kind, TunnelKind::Static);
    assert_eq!(pw.sessions[0].1.cookie, [0xca, 0xfe, 0xba, 0xbe]);
}
