//! Reading L2TP packets out of capture files (pcap and pcapng): link layer → IPv4/IPv6 →
//! UDP port 1701 (either side) or IP protocol 115 (L2TPv3 over IP).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use l2tp_proto::wire::Encap;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};

/// The L2TP UDP port.
pub const L2TP_PORT: u16 = 1701;
/// IP protocol number of L2TPv3 over IP.
pub const IPPROTO_L2TP: u8 = 115;

/// One L2TP packet found in a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// Frame number in the capture (1-based, counting every frame).
    pub number: usize,
    /// Capture timestamp (since the epoch).
    pub timestamp: Duration,
    /// Source (port 0 for IP encapsulation).
    pub src: SocketAddr,
    /// Destination (port 0 for IP encapsulation).
    pub dst: SocketAddr,
    /// UDP or IP.
    pub encap: Encap,
    /// The L2TP packet (for IP encapsulation: from the 4-byte Session ID on).
    pub payload: Vec<u8>,
}

/// Reads every L2TP packet of a pcap or pcapng file, in capture order.
pub fn read_file(path: &str) -> Result<Vec<Captured>> {
    let data = std::fs::read(path).with_context(|| format!("{path}: cannot read"))?;
    read_bytes(&data).with_context(|| path.to_string())
}

/// As [`read_file`], from the file's bytes.
pub fn read_bytes(data: &[u8]) -> Result<Vec<Captured>> {
    let mut out = Vec::new();
    if data.len() >= 4 && data[..4] == [0x0a, 0x0d, 0x0d, 0x0a] {
        let mut r = PcapNgReader::new(data).context("not a pcapng file")?;
        let mut links: Vec<u32> = Vec::new();
        let mut number = 0;
        while let Some(block) = r.next_block() {
            let block = block.with_context(|| format!("pcapng block after frame {number}"))?;
            match block {
                Block::SectionHeader(_) => links.clear(),
                Block::InterfaceDescription(idb) => links.push(idb.linktype.into()),
                Block::EnhancedPacket(epb) => {
                    number += 1;
                    let link = links.get(epb.interface_id as usize).copied().unwrap_or(1);
                    if let Some(p) = extract(link, &epb.data) {
                        out.push(p.finish(number, epb.timestamp));
                    }
                }
                Block::SimplePacket(spb) => {
                    number += 1;
                    let link = links.first().copied().unwrap_or(1);
                    if let Some(p) = extract(link, &spb.data) {
                        out.push(p.finish(number, Duration::ZERO));
                    }
                }
                _ => {}
            }
        }
    } else {
        let mut r = PcapReader::new(data).context("not a pcap or pcapng file")?;
        let link: u32 = r.header().datalink.into();
        let mut number = 0;
        while let Some(pkt) = r.next_packet() {
            let pkt = pkt.with_context(|| format!("pcap record after frame {number}"))?;
            number += 1;
            if let Some(p) = extract(link, &pkt.data) {
                out.push(p.finish(number, pkt.timestamp));
            }
        }
        if number == 0 && data.len() > 24 {
            bail!("no packet records");
        }
    }
    Ok(out)
}

/// An L2TP packet found in one frame (before numbering).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Source.
    pub src: SocketAddr,
    /// Destination.
    pub dst: SocketAddr,
    /// UDP or IP.
    pub encap: Encap,
    /// The L2TP packet.
    pub payload: Vec<u8>,
}

impl Found {
    fn finish(self, number: usize, timestamp: Duration) -> Captured {
        Captured {
            number,
            timestamp,
            src: self.src,
            dst: self.dst,
            encap: self.encap,
            payload: self.payload,
        }
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// Finds the L2TP packet in one frame of the given link type, if there is one. Frames that are
/// not L2TP, or too broken to tell, give `None`.
pub fn extract(link: u32, frame: &[u8]) -> Option<Found> {
    match link {
        // DLT_NULL / DLT_LOOP: 4-byte address family, either byte order.
        0 | 108 => {
            let fam = frame.get(..4)?;
            let af = u32::from_le_bytes(fam.try_into().ok()?)
                .min(u32::from_be_bytes(fam.try_into().ok()?));
            match af {
                2 => ipv4(frame.get(4..)?),
                24 | 28 | 30 => ipv6(frame.get(4..)?),
                _ => None,
            }
        }
        // Ethernet, with any number of 802.1Q / 802.1ad tags.
        1 => {
            let mut off = 12;
            let mut ethertype = be16(frame, off)?;
            while matches!(ethertype, 0x8100 | 0x88a8 | 0x9100) {
                off += 4;
                ethertype = be16(frame, off)?;
            }
            by_ethertype(ethertype, frame.get(off + 2..)?)
        }
        // Linux cooked capture v1: 16-byte header, protocol at 14.
        113 => by_ethertype(be16(frame, 14)?, frame.get(16..)?),
        // Linux cooked capture v2: 20-byte header, protocol at 0.
        276 => by_ethertype(be16(frame, 0)?, frame.get(20..)?),
        // Raw IP.
        101 | 12 | 14 => match frame.first()? >> 4 {
            4 => ipv4(frame),
            6 => ipv6(frame),
            _ => None,
        },
        228 => ipv4(frame),
        229 => ipv6(frame),
        _ => None,
    }
}

fn by_ethertype(ethertype: u16, rest: &[u8]) -> Option<Found> {
    match ethertype {
        0x0800 => ipv4(rest),
        0x86dd => ipv6(rest),
        _ => None,
    }
}

fn ipv4(p: &[u8]) -> Option<Found> {
    if p.first()? >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    if ihl < 20 || p.len() < ihl {
        return None;
    }
    let total = usize::from(be16(p, 2)?).clamp(ihl, p.len());
    let frag_offset = be16(p, 6)? & 0x1fff;
    if frag_offset != 0 {
        return None; // not the first fragment: no transport header
    }
    let proto = p[9];
    let src = IpAddr::V4(Ipv4Addr::new(p[12], p[13], p[14], p[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(p[16], p[17], p[18], p[19]));
    transport(proto, src, dst, &p[ihl..total])
}

fn ipv6(p: &[u8]) -> Option<Found> {
    if p.first()? >> 4 != 6 || p.len() < 40 {
        return None;
    }
    let plen = usize::from(be16(p, 4)?);
    let end = if plen == 0 {
        p.len()
    } else {
        (40 + plen).min(p.len())
    };
    let src = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&p[8..24]).ok()?));
    let dst = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&p[24..40]).ok()?));
    let mut next = p[6];
    let mut off = 40;
    // Skip extension headers: hop-by-hop, routing, destination options, fragment.
    for _ in 0..8 {
        match next {
            0 | 43 | 60 => {
                let h = p.get(off..off + 2)?;
                next = h[0];
                off += (usize::from(h[1]) + 1) * 8;
            }
            44 => {
                let h = p.get(off..off + 8)?;
                if be16(h, 2)? & 0xfff8 != 0 {
                    return None; // not the first fragment
                }
                next = h[0];
                off += 8;
            }
            _ => break,
        }
    }
    transport(next, src, dst, p.get(off..end)?)
}

fn transport(proto: u8, src: IpAddr, dst: IpAddr, p: &[u8]) -> Option<Found> {
    match proto {
        17 => {
            let sport = be16(p, 0)?;
            let dport = be16(p, 2)?;
            if sport != L2TP_PORT && dport != L2TP_PORT {
                return None;
            }
            let ulen = usize::from(be16(p, 4)?).clamp(8, p.len().max(8));
            Some(Found {
                src: SocketAddr::new(src, sport),
                dst: SocketAddr::new(dst, dport),
                encap: Encap::Udp,
                payload: p.get(8..ulen.min(p.len()))?.to_vec(),
            })
        }
        IPPROTO_L2TP => Some(Found {
            src: SocketAddr::new(src, 0),
            dst: SocketAddr::new(dst, 0),
            encap: Encap::Ip,
            payload: p.to_vec(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4_udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![
            0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let total = 20 + 8 + payload.len();
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p.extend_from_slice(&sport.to_be_bytes());
        p.extend_from_slice(&dport.to_be_bytes());
        p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn ethernet_vlan_ipv4_udp_1701() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x05, 0x08, 0x00]);
        f.extend(ipv4_udp(1701, 40000, &[0xc8, 0x02]));
        f.extend_from_slice(&[0; 6]); // Ethernet padding is cut at the IP length
        let found = extract(1, &f).unwrap();
        assert_eq!(found.payload, [0xc8, 0x02]);
        assert_eq!(found.src, "10.0.0.1:1701".parse().unwrap());
        assert_eq!(found.encap, Encap::Udp);
    }

    #[test]
    fn other_ports_are_skipped() {
        assert_eq!(extract(101, &ipv4_udp(53, 53, &[1, 2])), None);
    }

    #[test]
    fn sll_and_sll2() {
        let mut f = vec![0u8; 14];
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend(ipv4_udp(1701, 1701, &[1]));
        assert!(extract(113, &f).is_some());
        let mut f = vec![0x08, 0x00];
        f.extend_from_slice(&[0; 18]);
        f.extend(ipv4_udp(1701, 1701, &[1]));
        assert!(extract(276, &f).is_some());
    }

    #[test]
    fn ipv6_l2tp_over_ip() {
        let mut p = vec![0x60, 0, 0, 0, 0, 8, IPPROTO_L2TP, 64];
        p.extend_from_slice(&[0; 15]);
        p.push(1);
        p.extend_from_slice(&[0; 15]);
        p.push(2);
        p.extend_from_slice(&[0, 0, 0, 5, 1, 2, 3, 4]);
        let found = extract(229, &p).unwrap();
        assert_eq!(found.encap, Encap::Ip);
        assert_eq!(found.payload, [0, 0, 0, 5, 1, 2, 3, 4]);
        assert!(found.src.is_ipv6());
    }

    #[test]
    fn truncated_frames_never_panic() {
        let f = ipv4_udp(1701, 1701, &[1, 2, 3]);
        for link in [0, 1, 101, 113, 228, 229, 276] {
            for n in 0..f.len() {
                let _ = extract(link, &f[..n]);
            }
        }
    }
}
