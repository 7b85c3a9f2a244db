//! Running tshark and reading its `-V` output: raw IPv4 packets for the pcap, the tshark
//! binary and its invocation, and the parse of the L2TP subtree of each frame.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::SECRET;

pub fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// IPv4 (+ UDP 1701 → 1701 unless `proto` is 115) around `payload`.
pub fn ip_packet(proto: u8, payload: &[u8], id: u16) -> Vec<u8> {
    let mut l4 = Vec::new();
    if proto == 17 {
        l4.extend_from_slice(&1701u16.to_be_bytes());
        l4.extend_from_slice(&1701u16.to_be_bytes());
        l4.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        l4.extend_from_slice(&[0, 0]); // no checksum (allowed over IPv4)
    }
    l4.extend_from_slice(payload);
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

pub fn tshark() -> PathBuf {
    for p in ["/usr/bin/tshark", "/usr/local/bin/tshark"] {
        if Path::new(p).exists() {
            return p.into();
        }
    }
    match Command::new("tshark").arg("--version").output() {
        Ok(o) if o.status.success() => "tshark".into(),
        _ => panic!(
            "tshark is not installed: this test cross-checks the codec against Wireshark's \
             dissector. Install it (Debian/Ubuntu: `apt-get install tshark`)."
        ),
    }
}

pub fn run_tshark(pcap: &Path, extra: &[&str]) -> String {
    let secret_pref = format!("l2tp.shared_secret:{SECRET}");
    let out = Command::new(tshark())
        .arg("-r")
        .arg(pcap)
        .args(["-o", &secret_pref])
        // v3 data: the cookie size and sublayer of our test session (tshark cannot tie the
        // data session to the ICRQ's AVPs in this synthetic capture).
        .args(["-o", "l2tp.cookie_size:4 Byte Cookie"])
        .args(["-o", "l2tp.l2_specific:Default L2-Specific"])
        .args(extra)
        .env("LC_ALL", "C")
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A pcap path under Cargo's per-test temporary directory (kept for inspection).
pub fn pcap_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("l2tp-tshark-{name}.pcap"))
}

/// One AVP as printed by `tshark -V`.
#[derive(Debug, Default)]
pub struct TsAvp {
    pub mandatory: Option<bool>,
    pub hidden: Option<bool>,
    pub length: Option<usize>,
    pub vendor: Option<u16>,
    /// Name and number from "AVP Type: NAME (N)" (absent for hidden AVPs in tshark 4.0).
    pub attr: Option<(String, u16)>,
    /// Every line of the AVP subtree, trimmed.
    pub lines: Vec<String>,
}

/// The L2TP part of one frame.
#[derive(Debug, Default)]
pub struct TsFrame {
    /// Header lines ("Flags: ...", "Tunnel ID: ...", ...), trimmed.
    pub header: Vec<String>,
    pub avps: Vec<TsAvp>,
    pub zlb: bool,
}

/// The number in the last "(N)" of a line.
pub fn paren_num(s: &str) -> Option<u16> {
    let open = s.rfind('(')?;
    let close = s[open..].find(')')? + open;
    s[open + 1..close].parse().ok()
}

pub fn after_colon(s: &str) -> &str {
    s.split_once(": ").map(|x| x.1).unwrap_or("")
}

pub fn parse_tshark(out: &str) -> Vec<TsFrame> {
    let mut frames = Vec::new();
    let mut cur: Option<TsFrame> = None;
    let mut in_l2tp = false;
    for line in out.lines() {
        if line.starts_with("Frame ") {
            frames.extend(cur.take());
            cur = Some(TsFrame::default());
            in_l2tp = false;
            continue;
        }
        let Some(f) = cur.as_mut() else { continue };
        if !line.starts_with(' ') {
            in_l2tp = line.starts_with("Layer 2 Tunneling Protocol");
            continue;
        }
        if !in_l2tp || line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let t = line.trim().to_string();
        if indent == 4 {
            // "Host Name AVP", or "Vendor Microsoft (311) AVP Type 1" for vendor AVPs.
            if t.ends_with(" AVP") || (t.starts_with("Vendor ") && t.contains(" AVP Type ")) {
                f.avps.push(TsAvp::default());
            } else if t == "Zero Length Body message" {
                f.zlb = true;
            } else {
                f.header.push(t);
            }
        } else if f.avps.is_empty() {
            // Subtrees of header fields (flag bits, L2-Specific Sublayer fields).
            f.header.push(t);
        } else if let Some(avp) = f.avps.last_mut() {
            if indent == 8 {
                if t.contains("= Mandatory: ") {
                    avp.mandatory = Some(t.ends_with("True"));
                } else if t.contains("= Hidden: ") {
                    avp.hidden = Some(t.ends_with("True"));
                } else if t.contains("= Length: ") {
                    avp.length = after_colon(&t).parse().ok();
                } else if t.starts_with("Vendor ID: ") {
                    avp.vendor = paren_num(&t);
                } else if t.starts_with("AVP Type: ") {
                    let name = after_colon(&t).rsplit_once(" (").unwrap().0.to_string();
                    avp.attr = Some((name, paren_num(&t).unwrap()));
                }
            }
            avp.lines.push(t);
        }
    }
    frames.extend(cur);
    frames
}
