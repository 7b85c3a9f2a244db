//! The PPPoE access concentrator against our own LNS over loopback (null data planes, the
//! Discovery link in memory): PADR → ICRQ with the subscriber's MAC as Calling Number → PADS;
//! the LAC's data plane is asked for a pppac session bridged to that PPPoE session; PADT from
//! the subscriber → CDN; CDN from the LNS → PADT to the subscriber.

use std::time::Duration;

use l2tp_pppoe::{Code, Discovery, EthHeader, Tag};
use l2tp_proto::endpoint::{EndpointConfig, Event};
use l2tp_runtime::config::{Config, Pseudowire};
use l2tp_runtime::dataplane::{Call, NullDataPlane, Recorder};
use l2tp_runtime::pppoe::{Link, Pppoe};
use l2tp_runtime::{Context, ContextOptions};
use tokio::sync::mpsc;

mod common;
use common::{free_udp_port, next_matching};

const AC_MAC: [u8; 6] = [0x02, 0xac, 0, 0, 0, 1];
const SUB_MAC: [u8; 6] = [0x02, 0x5b, 0, 0, 0, 7];

fn frame(code: Code, dst: [u8; 6], session_id: u16, tags: Vec<Tag>) -> Vec<u8> {
    Discovery {
        eth: EthHeader {
            dst,
            src: SUB_MAC,
            vlan: None,
            ether_type: l2tp_pppoe::codec::ETHERTYPE_DISCOVERY,
        },
        code,
        session_id,
        tags,
    }
    .to_bytes()
    .expect("frame")
}

async fn next_frame(rx: &mut mpsc::Receiver<Vec<u8>>, code: Code) -> Discovery {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let f = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {code:?}"))
            .expect("link open");
        let d = Discovery::parse(&f).expect("AC sends valid frames");
        if d.code == code {
            return d;
        }
    }
}

/// PADI → PADO → PADR (echoing the cookie) → PADS; returns the PPPoE session ID.
async fn discover(tx: &mpsc::Sender<Vec<u8>>, rx: &mut mpsc::Receiver<Vec<u8>>) -> u16 {
    let hu = Tag::HostUniq(b"hu-1".to_vec());
    tx.send(frame(
        Code::Padi,
        [0xff; 6],
        0,
        vec![Tag::ServiceName(Vec::new()), hu.clone()],
    ))
    .await
    .unwrap();
    let pado = next_frame(rx, Code::Pado).await;
    assert_eq!(pado.eth.dst, SUB_MAC);
    assert!(pado.tags.contains(&Tag::AcName(b"test-ac".to_vec())));
    let cookie = pado
        .tags
        .iter()
        .find(|t| matches!(t, Tag::AcCookie(_)))
        .cloned()
        .expect("PADO has an AC-Cookie");
    tx.send(frame(
        Code::Padr,
        AC_MAC,
        0,
        vec![Tag::ServiceName(Vec::new()), hu, cookie],
    ))
    .await
    .unwrap();
    let pads = next_frame(rx, Code::Pads).await;
    assert_ne!(
        pads.session_id, 0,
        "PADS without an error carries a session ID"
    );
    pads.session_id
}

/// Polls the AC's status (each poll a round trip through its task) until `f` holds, within
/// 20 s.
async fn wait_status(
    ac: &Pppoe,
    what: &str,
    f: impl Fn(&[l2tp_runtime::pppoe::PppoeInterfaceStatus]) -> bool,
) -> Vec<l2tp_runtime::pppoe::PppoeInterfaceStatus> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let st = ac.status().await;
        if f(&st) {
            return st;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}: {st:?}"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn pppoe_sessions_become_l2tp_calls_and_end_together() {
    let port = free_udp_port();
    let lns_cfg = Config::parse(
        &format!("[tunnel.lns]\nlocal = \"127.0.0.1:{port}\"\nlisten = true\n[tunnel.lns.session.tmpl]\npseudowire = \"ppp\"\n"),
        "lns.toml",
    )
    .expect("lns config");
    let lac_cfg = Config::parse(
        &format!(
            "[tunnel.up]\npeer = \"127.0.0.1:{port}\"\n\n[pppoe]\ninterfaces = [\"veth-sub\"]\nac_name = \"test-ac\"\ntunnel = \"up\"\n"
        ),
        "lac.toml",
    )
    .expect("lac config");

    let mut lns_opts = ContextOptions::new(Box::new(NullDataPlane::new()));
    lns_opts.endpoint = EndpointConfig {
        accept_v2_incoming: true,
        ..EndpointConfig::default()
    };
    let lns = Context::start(lns_opts);
    let mut lns_ev = lns.subscribe();
    for (n, t) in &lns_cfg.tunnels {
        lns.create_tunnel(n, t.clone()).await.expect("listen");
    }

    let lac_dp = Recorder::new(NullDataPlane::new());
    let lac_log = lac_dp.log();
    let lac = Context::start(ContextOptions::new(Box::new(lac_dp)));
    let mut lac_ev = lac.subscribe();
    for (n, t) in &lac_cfg.tunnels {
        lac.create_tunnel(n, t.clone()).await.expect("tunnel");
    }
    let (to_ac, from_sub) = mpsc::channel(64);
    let (to_sub, mut from_ac) = mpsc::channel(64);
    let section = lac_cfg.pppoe.clone().expect("[pppoe]");
    let ac = Pppoe::start_on(
        &lac,
        &section,
        &lac_cfg.tunnels,
        vec![("veth-sub".into(), AC_MAC, Link::Channel(from_sub, to_sub))],
    )
    .expect("AC starts");

    // 1. Discovery → incoming call with the MAC as Calling Number → data plane bridges.
    let sid = discover(&to_ac, &mut from_ac).await;
    let up = next_matching(&mut lns_ev, "LNS session up", |e| {
        matches!(e.event, Event::SessionUp { .. })
    })
    .await;
    let Event::SessionUp { params, .. } = &up.event else {
        unreachable!()
    };
    assert_eq!(
        params.calling_number.as_deref(),
        Some(&b"02:5b:00:00:00:07"[..])
    );
    let lac_up = next_matching(&mut lac_ev, "LAC session up", |e| {
        matches!(e.event, Event::SessionUp { .. })
    })
    .await;
    let name = format!("pppoe-veth-sub-{sid}");
    assert_eq!(lac_up.session_name.as_deref(), Some(name.as_str()));
    let spec = lac_log
        .calls()
        .into_iter()
        .find_map(|c| match c {
            Call::CreateSession(s) => Some(s),
            _ => None,
        })
        .expect("data plane asked for the session");
    assert_eq!(spec.pseudowire, Pseudowire::Pppac);
    assert_eq!(spec.pppoe, Some((sid, SUB_MAC)));
    assert_eq!(spec.interface_name.as_deref(), Some("veth-sub"));
    // The AC hears of the SessionUp through its own event subscription: wait for it.
    let st = wait_status(&ac, "the AC saw the call up", |st| {
        st[0].sessions.first().is_some_and(|s| s.state == "up")
    })
    .await;
    assert_eq!(st.len(), 1);
    assert_eq!(st[0].sessions.len(), 1);
    assert_eq!(st[0].sessions[0].mac, "02:5b:00:00:00:07");
    assert_eq!(st[0].sessions[0].state, "up");
    assert_eq!(st[0].counters.padi_in, 1);
    assert_eq!(st[0].counters.pads_out, 1);

    // 2. PADT from the subscriber → CDN: the LNS sees the call go.
    to_ac
        .send(frame(Code::Padt, AC_MAC, sid, vec![]))
        .await
        .unwrap();
    next_matching(&mut lns_ev, "LNS session down after PADT", |e| {
        matches!(e.event, Event::SessionDown { .. })
    })
    .await;
    assert!(ac.status().await[0].sessions.is_empty());

    // 3. A new session, cleared by the LNS (CDN) → PADT to the subscriber.
    let sid2 = discover(&to_ac, &mut from_ac).await;
    let up2 = next_matching(&mut lns_ev, "LNS second session up", |e| {
        matches!(e.event, Event::SessionUp { .. })
    })
    .await;
    lns.close_session(&up2.tunnel_name, up2.session_name.as_deref().unwrap())
        .await
        .expect("LNS clears the call");
    let padt = next_frame(&mut from_ac, Code::Padt).await;
    assert_eq!(padt.session_id, sid2);
    assert_eq!(padt.eth.dst, SUB_MAC);
    let st = ac.status().await;
    assert!(st[0].sessions.is_empty());
    assert_eq!(st[0].counters.padt_in, 1);
    assert_eq!(st[0].counters.padt_out, 1);

    // 4. The tunnel goes down (the LNS closes it): the subscriber gets a PADT; the next
    //    PADR re-opens the tunnel on demand and gets its PADS.
    let sid3 = discover(&to_ac, &mut from_ac).await;
    let up3 = next_matching(&mut lns_ev, "LNS third session up", |e| {
        matches!(e.event, Event::SessionUp { .. })
    })
    .await;
    lns.close_tunnel(&up3.tunnel_name)
        .await
        .expect("LNS closes the tunnel");
    let padt = next_frame(&mut from_ac, Code::Padt).await;
    assert_eq!(padt.session_id, sid3);
    next_matching(&mut lac_ev, "LAC tunnel down", |e| {
        matches!(e.event, Event::TunnelDown { .. })
    })
    .await;
    let sid4 = discover(&to_ac, &mut from_ac).await;
    let up4_lns = next_matching(&mut lns_ev, "LNS fourth session up", |e| {
        matches!(e.event, Event::SessionUp { .. })
    })
    .await;
    next_matching(&mut lac_ev, "LAC tunnel re-opened", |e| {
        matches!(e.event, Event::TunnelUp { .. })
    })
    .await;
    let up4 = next_matching(&mut lac_ev, "LAC session up on the new tunnel", |e| {
        matches!(e.event, Event::SessionUp { .. })
    })
    .await;
    assert_eq!(
        up4.session_name.as_deref(),
        Some(format!("pppoe-veth-sub-{sid4}").as_str())
    );

    // 5. A PADI flood from random MACs: answered statelessly, no session state.
    for i in 0..2000u32 {
        let mut f = frame(Code::Padi, [0xff; 6], 0, vec![Tag::ServiceName(Vec::new())]);
        f[6..12].copy_from_slice(&[0x02, 0xf1, (i >> 16) as u8, (i >> 8) as u8, i as u8, 1]);
        to_ac.send(f).await.unwrap();
        while from_ac.try_recv().is_ok() {}
    }
    // The status request may overtake frames still queued on the link: wait for them.
    let st = wait_status(&ac, "the flood counted", |st| {
        st[0].counters.padi_in >= 2004
    })
    .await;
    assert_eq!(
        st[0].sessions.len(),
        1,
        "only the subscriber's session is held"
    );

    // 6. The AC stops (every handle dropped): PADT to the subscriber, CDN to the LNS.
    drop(ac);
    let padt = next_frame(&mut from_ac, Code::Padt).await;
    assert_eq!(padt.session_id, sid4);
    next_matching(
        &mut lns_ev,
        "LNS: the call cleared when the AC stopped",
        |e| matches!(e.event, Event::SessionDown { .. }) && e.session_name == up4_lns.session_name,
    )
    .await;

    lac.shutdown().await.expect("lac shutdown");
    lns.shutdown().await.expect("lns shutdown");
}

#[tokio::test]
async fn a_padr_the_l2tp_side_cannot_serve_gets_a_pads_with_ac_system_error() {
    // A static tunnel takes no calls: the driver refuses the session, the AC refuses the PADR.
    let cfg = Config::parse(
        "[tunnel.st]\nkind = \"static\"\nversion = \"l2tpv3\"\nlocal = \"127.0.0.1:1\"\npeer = \"127.0.0.1:2\"\ntid = 1\nptid = 2\n",
        "st.toml",
    )
    .expect("config");
    let ctx = Context::start(ContextOptions::new(Box::new(NullDataPlane::new())));
    for (n, t) in &cfg.tunnels {
        ctx.create_tunnel(n, t.clone())
            .await
            .expect("static tunnel");
    }
    let section = l2tp_runtime::config::PppoeSection {
        interfaces: vec!["veth-sub".into()],
        ac_name: "test-ac".into(),
        tunnel: Some("st".into()),
        ..Default::default()
    };
    let (to_ac, from_sub) = mpsc::channel(64);
    let (to_sub, mut from_ac) = mpsc::channel(64);
    let ac = Pppoe::start_on(
        &ctx,
        &section,
        &cfg.tunnels,
        vec![("veth-sub".into(), AC_MAC, Link::Channel(from_sub, to_sub))],
    )
    .expect("AC starts");
    let hu = Tag::HostUniq(b"hu-2".to_vec());
    to_ac
        .send(frame(
            Code::Padi,
            [0xff; 6],
            0,
            vec![Tag::ServiceName(Vec::new()), hu.clone()],
        ))
        .await
        .unwrap();
    let pado = next_frame(&mut from_ac, Code::Pado).await;
    let cookie = pado
        .tags
        .iter()
        .find(|t| matches!(t, Tag::AcCookie(_)))
        .cloned()
        .expect("cookie");
    to_ac
        .send(frame(
            Code::Padr,
            AC_MAC,
            0,
            vec![Tag::ServiceName(Vec::new()), hu, cookie],
        ))
        .await
        .unwrap();
    let pads = next_frame(&mut from_ac, Code::Pads).await;
    assert_eq!(
        pads.session_id, 0,
        "a refusing PADS has SESSION_ID 0 (RFC 2516 §5.4)"
    );
    let err = pads
        .tags
        .iter()
        .find_map(|t| match t {
            Tag::AcSystemError(m) => Some(String::from_utf8_lossy(m).into_owned()),
            _ => None,
        })
        .expect("AC-System-Error TAG");
    assert!(err.starts_with("no L2TP call"), "{err}");
    let st = ac.status().await;
    assert!(st[0].sessions.is_empty());
    assert_eq!(st[0].counters.pads_error_out, 1);
    assert_eq!(st[0].counters.refused, 1);
    ctx.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn an_unknown_interface_is_named_in_the_error() {
    let ctx = Context::start(ContextOptions::new(Box::new(NullDataPlane::new())));
    let section = l2tp_runtime::config::PppoeSection {
        interfaces: vec!["nosuchif0".into()],
        lns_ipaddr: Some("192.0.2.1:1701".parse().unwrap()),
        ..Default::default()
    };
    let e = Pppoe::start(&ctx, &section, &[])
        .err()
        .expect("no such interface");
    let text = e.to_string();
    assert!(text.starts_with("pppoe interface nosuchif0: "), "{text}");
    ctx.shutdown().await.expect("shutdown");
}
