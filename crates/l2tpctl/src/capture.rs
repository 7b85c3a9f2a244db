//! Reading L2TP packets out of capture files (pcap and pcapng): link layer → IPv4/IPv6 →
//! UDP port 1701 (either side) or IP protocol 115 (L2TPv3 over IP).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use etherparse::{EtherType, IpNumber, LaxNetSlice, LaxSlicedPacket, TransportSlice};
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

/// Whether `data` starts like a capture file: the pcapng Section Header block type, or a pcap
/// magic number (microsecond or nanosecond timestamps, either byte order).
pub fn is_capture(data: &[u8]) -> bool {
    matches!(
        data.get(..4),
        Some(
            [0x0a, 0x0d, 0x0d, 0x0a]
                | [0xa1, 0xb2, 0xc3, 0xd4]
                | [0xd4, 0xc3, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0x3c, 0x4d]
                | [0x4d, 0x3c, 0xb2, 0xa1]
        )
    )
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
/// not L2TP, IP fragments (not reassembled), and frames too broken to tell give `None`.
///
/// The link layer is told apart here; VLAN tags, IPv4 / IPv6 (with extension headers) and UDP
/// are etherparse's, with lax length checks: a frame cut short by the capture's snap length
/// still yields what it holds, Ethernet padding is cut at the IP length.
pub fn extract(link: u32, frame: &[u8]) -> Option<Found> {
    let packet = match link {
        // DLT_NULL / DLT_LOOP: a 4-byte address family (either byte order), then IP.
        0 | 108 => LaxSlicedPacket::from_ip(frame.get(4..)?).ok()?,
        // Ethernet, with 802.1Q / 802.1ad tags.
        1 => LaxSlicedPacket::from_ethernet(frame).ok()?,
        // Linux cooked capture v1: 16-byte header, protocol at 14.
        113 => LaxSlicedPacket::from_ether_type(EtherType(be16(frame, 14)?), frame.get(16..)?),
        // Linux cooked capture v2: 20-byte header, protocol at 0.
        276 => LaxSlicedPacket::from_ether_type(EtherType(be16(frame, 0)?), frame.get(20..)?),
        // Raw IP.
        101 | 12 | 14 | 228 | 229 => LaxSlicedPacket::from_ip(frame).ok()?,
        _ => return None,
    };
    let net = packet.net.as_ref()?;
    let (src, dst): (IpAddr, IpAddr) = match net {
        LaxNetSlice::Ipv4(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        LaxNetSlice::Ipv6(ip) => (
            ip.header().source_addr().into(),
            ip.header().destination_addr().into(),
        ),
        LaxNetSlice::Arp(_) => return None,
    };
    let ip = net.ip_payload_ref()?;
    if ip.fragmented {
        return None;
    }
    match ip.ip_number {
        IpNumber::UDP => {
            let Some(TransportSlice::Udp(udp)) = &packet.transport else {
                return None;
            };
            let (sport, dport) = (udp.source_port(), udp.destination_port());
            if sport != L2TP_PORT && dport != L2TP_PORT {
                return None;
            }
            Some(Found {
                src: SocketAddr::new(src, sport),
                dst: SocketAddr::new(dst, dport),
                encap: Encap::Udp,
                payload: udp.payload().to_vec(),
            })
        }
        IpNumber(IPPROTO_L2TP) => Some(Found {
            src: SocketAddr::new(src, 0),
            dst: SocketAddr::new(dst, 0),
            encap: Encap::Ip,
            payload: ip.payload.to_vec(),
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
    fn null_link_and_fragments() {
        let mut f = 2u32.to_le_bytes().to_vec();
        f.extend(ipv4_udp(40000, 1701, &[0xc8, 2]));
        let found = extract(0, &f).unwrap();
        assert_eq!(found.dst, "10.0.0.2:1701".parse().unwrap());
        // More Fragments set: not reassembled, skipped.
        let mut p = ipv4_udp(1701, 1701, &[1, 2]);
        p[6] = 0x20;
        assert_eq!(extract(101, &p), None);
    }

    #[test]
    fn capture_magic_numbers() {
        for m in [
            [0x0a, 0x0d, 0x0d, 0x0a],
            [0xd4, 0xc3, 0xb2, 0xa1],
            [0xa1, 0xb2, 0xc3, 0xd4],
            [0x4d, 0x3c, 0xb2, 0xa1],
        ] {
            assert!(is_capture(&m));
        }
        assert!(!is_capture(b"c802"));
        assert!(!is_capture(&[0xd4]));
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
