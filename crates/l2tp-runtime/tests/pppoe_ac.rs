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
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let st = loop {
        let st = ac.status().await;
        if st[0].sessions.first().is_some_and(|s| s.state == "up") {
            break st;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "AC never saw the call up: {st:?}"
        );
        tokio::task::yield_now().await;
    };
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

    // 4. A PADI flood from random MACs: answered statelessly, no session state.
    for i in 0..2000u32 {
        let mut f = frame(Code::Padi, [0xff; 6], 0, vec![Tag::ServiceName(Vec::new())]);
        f[6..12].copy_from_slice(&[0x02, 0xf1, (i >> 16) as u8, (i >> 8) as u8, i as u8, 1]);
        to_ac.send(f).await.unwrap();
        while from_ac.try_recv().is_ok() {}
    }
    let st = ac.status().await;
    assert!(st[0].counters.padi_in >= 2002);
    assert!(st[0].sessions.is_empty());

    lac.shutdown().await.expect("lac shutdown");
    lns.shutdown().await.expect("lns shutdown");
}
