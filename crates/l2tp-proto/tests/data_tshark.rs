//! Cross-check the data path's headers against Wireshark's L2TP dissector: datagrams built by
//! `DataSession::encapsulate` (v2 plain and with sequence numbers; v3 over UDP and over IP with
//! cookies of 0, 4 and 8 bytes, with and without the default L2-Specific Sublayer) are written
//! to a pcap (raw IPv4, UDP 1701 or IP protocol 115) and decoded by `tshark -T fields`; the
//! Session ID, Tunnel ID, cookie and sequence fields it reads must be the ones we meant, and the
//! payload must be the PPP / Ethernet frame we put in.
//!
//! Needs tshark (CI installs it); fails with a message if it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use l2tp_proto::data::*;
use l2tp_proto::wire::{Encap, Version};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::DataLink;

/// PPP LCP Configure-Request (from `xl2tpd-v2-kernel-ppp`), with address and control.
const PPP_LCP: &str = "ff03c021010100100206000000000506708d6e5f";

/// An Ethernet frame: broadcast from 02:00:00:00:00:01, EtherType 0x88b5, zero padded.
fn ethernet() -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 1, 0x88, 0xb5]);
    f.extend_from_slice(&[0u8; 46]);
    f
}

fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// IPv4 around an L2TP datagram: UDP 1701 → 1701, or IP protocol 115.
fn ip_packet(encap: Encap, l2tp: &[u8], id: u16) -> Vec<u8> {
    let mut l4 = Vec::new();
    let proto = match encap {
        Encap::Udp => {
            l4.extend_from_slice(&1701u16.to_be_bytes());
            l4.extend_from_slice(&1701u16.to_be_bytes());
            l4.extend_from_slice(&((8 + l2tp.len()) as u16).to_be_bytes());
            l4.extend_from_slice(&[0, 0]); // no checksum (allowed over IPv4)
            17
        }
        Encap::Ip => 115,
    };
    l4.extend_from_slice(l2tp);
    let total = (20 + l4.len()) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&id.to_be_bytes());
    ip.extend_from_slice(&[0x40, 0, 64, proto, 0, 0]);
    ip.extend_from_slice(&[10, 200, 0, 1, 10, 200, 0, 2]);
    let ck = ipv4_checksum(&ip);
    ip[10..12].copy_from_slice(&ck.to_be_bytes());
    ip.extend_from_slice(&l4);
    ip
}

fn write_pcap(path: &Path, packets: &[(Encap, Vec<u8>)]) {
    let file = std::fs::File::create(path).unwrap();
    let header = PcapHeader {
        datalink: DataLink::RAW,
        ..Default::default()
    };
    let mut w = PcapWriter::with_header(file, header).unwrap();
    for (i, (encap, d)) in packets.iter().enumerate() {
        let pkt = ip_packet(*encap, d, i as u16);
        let ts = Duration::from_millis(i as u64);
        w.write_packet(&PcapPacket::new(ts, pkt.len() as u32, &pkt))
            .unwrap();
    }
}

fn tshark() -> PathBuf {
    for p in ["/usr/bin/tshark", "/usr/local/bin/tshark"] {
        if Path::new(p).exists() {
            return p.into();
        }
    }
    match Command::new("tshark").arg("--version").output() {
        Ok(o) if o.status.success() => "tshark".into(),
        _ => panic!(
            "tshark is not installed: this test cross-checks the data path against Wireshark's \
             dissector. Install it (Debian/Ubuntu: `apt-get install tshark`)."
        ),
    }
}

/// The fields read from each frame, in this order.
const FIELDS: [&str; 13] = [
    "l2tp.version",
    "l2tp.seq_bit",
    "l2tp.length_bit",
    "l2tp.tunnel",
    "l2tp.session",
    "l2tp.Ns",
    "l2tp.Nr",
    "l2tp.sid",
    "l2tp.cookie",
    "l2tp.l2_spec_s",
    "l2tp.l2_spec_sequence",
    "ppp.protocol",
    "data.data",
];

/// One row per frame: field name → value as tshark prints it ("" when absent).
fn decode(pcap: &Path, prefs: &[&str]) -> Vec<Vec<(String, String)>> {
    let mut cmd = Command::new(tshark());
    cmd.arg("-r")
        .arg(pcap)
        .args(["-d", "udp.port==1701,l2tp"])
        .args(["-T", "fields", "-E", "separator=/t", "-E", "occurrence=f"]);
    for p in prefs {
        cmd.args(["-o", p]);
    }
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = cmd.env("LC_ALL", "C").output().expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            FIELDS
                .iter()
                .zip(l.split('\t').chain(std::iter::repeat("")))
                .map(|(f, v)| (f.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Frames on which tshark raises an expert warning or error (one line each).
fn expert_warnings(pcap: &Path, prefs: &[&str]) -> String {
    let mut cmd = Command::new(tshark());
    cmd.arg("-r")
        .arg(pcap)
        .args(["-d", "udp.port==1701,l2tp"])
        .args(["-Y", "_ws.expert.severity >= \"Warning\""]);
    for p in prefs {
        cmd.args(["-o", p]);
    }
    let out = cmd.env("LC_ALL", "C").output().expect("run tshark");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

fn field<'a>(row: &'a [(String, String)], name: &str) -> &'a str {
    &row.iter().find(|(f, _)| f == name).unwrap().1
}

fn pcap_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("l2tp-data-{name}.pcap"))
}

fn send(s: &mut DataSession, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; s.header_len()];
    buf.extend_from_slice(payload);
    s.encapsulate(&mut buf).unwrap();
    buf
}

/// v2: flags 0x0002 and, with sequencing, 0x0802 with Ns 0, 1 and Nr 0; Tunnel and Session ID
/// are the peer's; the payload decodes as PPP LCP (0xc021).
#[test]
fn tshark_reads_v2_tunnel_session_and_ns() {
    let cfg = |send_seq| DataConfig {
        version: Version::V2,
        encap: Encap::Udp,
        tunnel_id: 1,
        peer_tunnel_id: 44424,
        session_id: 2,
        peer_session_id: 60959,
        cookie: vec![],
        peer_cookie: vec![],
        l2spec: L2Spec::None,
        send_seq,
        recv_seq: false,
    };
    let ppp = hex::decode(PPP_LCP).unwrap();
    let mut plain = DataSession::new(cfg(false)).unwrap();
    let mut seq = DataSession::new(cfg(true)).unwrap();
    let packets = vec![
        (Encap::Udp, send(&mut plain, &ppp)),
        (Encap::Udp, send(&mut seq, &ppp)),
        (Encap::Udp, send(&mut seq, &ppp)),
    ];
    let path = pcap_path("v2");
    write_pcap(&path, &packets);
    let rows = decode(&path, &[]);
    assert_eq!(expert_warnings(&path, &[]), "");
    assert_eq!(rows.len(), 3, "{rows:?}");
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(field(row, "l2tp.version"), "2", "{row:?}");
        assert_eq!(field(row, "l2tp.tunnel"), "44424", "{row:?}");
        assert_eq!(field(row, "l2tp.session"), "60959", "{row:?}");
        assert_eq!(field(row, "l2tp.length_bit"), "0", "{row:?}");
        assert_eq!(field(row, "ppp.protocol"), "0xc021", "{row:?}");
        if i == 0 {
            assert_eq!(field(row, "l2tp.seq_bit"), "0", "{row:?}");
            assert_eq!(field(row, "l2tp.Ns"), "", "{row:?}");
        } else {
            assert_eq!(field(row, "l2tp.seq_bit"), "1", "{row:?}");
            assert_eq!(field(row, "l2tp.Ns"), (i - 1).to_string(), "{row:?}");
            assert_eq!(field(row, "l2tp.Nr"), "0", "{row:?}");
        }
    }
}

/// v3 over UDP and over IP, for each cookie size and L2SS choice (tshark told both by its
/// `l2tp.cookie_size` / `l2tp.l2_specific` preferences): Session ID, cookie bytes, L2SS S bit
/// and 24-bit sequence number read as written; the payload is the Ethernet frame.
#[test]
fn tshark_reads_v3_session_cookie_and_l2ss_sequence() {
    let cookies: [(&str, Vec<u8>); 3] = [
        ("None", vec![]),
        ("4 Byte Cookie", vec![0xde, 0xad, 0xbe, 0xef]),
        ("8 Byte Cookie", vec![1, 2, 3, 4, 5, 6, 7, 8]),
    ];
    for (cookie_pref, cookie) in &cookies {
        for (l2_pref, l2spec) in [
            ("None", L2Spec::None),
            ("Default L2-Specific", L2Spec::Default),
        ] {
            let mut packets = Vec::new();
            for encap in [Encap::Udp, Encap::Ip] {
                let with_seq = l2spec == L2Spec::Default;
                let mut s = DataSession::new(DataConfig {
                    version: Version::V3,
                    encap,
                    tunnel_id: 1,
                    peer_tunnel_id: 2,
                    session_id: 3,
                    peer_session_id: 0x0a0b_0c0d,
                    cookie: cookie.clone(),
                    peer_cookie: vec![],
                    l2spec,
                    send_seq: with_seq,
                    recv_seq: false,
                })
                .unwrap();
                for _ in 0..2 {
                    packets.push((encap, send(&mut s, &ethernet())));
                }
            }
            let name = format!("v3-{}-{:?}", cookie.len(), l2spec);
            let path = pcap_path(&name);
            write_pcap(&path, &packets);
            let cookie_o = format!("l2tp.cookie_size:{cookie_pref}");
            let l2_o = format!("l2tp.l2_specific:{l2_pref}");
            let rows = decode(&path, &[&cookie_o, &l2_o]);
            assert_eq!(expert_warnings(&path, &[&cookie_o, &l2_o]), "", "{name}");
            assert_eq!(rows.len(), 4, "{name}: {rows:?}");
            for (i, row) in rows.iter().enumerate() {
                let ctx = format!("{name} frame {i}: {row:?}");
                assert_eq!(field(row, "l2tp.sid"), "0x0a0b0c0d", "{ctx}");
                assert_eq!(field(row, "l2tp.cookie"), hex::encode(cookie), "{ctx}");
                if l2spec == L2Spec::Default {
                    assert_eq!(field(row, "l2tp.l2_spec_s"), "1", "{ctx}");
                    assert_eq!(
                        field(row, "l2tp.l2_spec_sequence"),
                        (i % 2).to_string(),
                        "{ctx}"
                    );
                } else {
                    assert_eq!(field(row, "l2tp.l2_spec_sequence"), "", "{ctx}");
                }
                // Without the session's pseudowire type tshark shows the payload as data:
                // it must be exactly the Ethernet frame, so the header ended where we meant.
                assert_eq!(field(row, "data.data"), hex::encode(ethernet()), "{ctx}");
            }
        }
    }
}
