//! L2TP traffic counters, from genl `L2TP_ATTR_STATS` or the `PPPIOCGL2TPSTATS` ioctl.

use crate::attr::StatsAttr;

/// Counters of a tunnel or a session. Counters the source does not report stay 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Send errors.
    pub tx_errors: u64,
    /// Packets received.
    pub rx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Packets dropped for sequence number reasons.
    pub rx_seq_discards: u64,
    /// Packets received out of sequence.
    pub rx_oos_packets: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Packets dropped because the cookie did not match (genl only).
    pub rx_cookie_discards: u64,
    /// Invalid packets (genl only).
    pub rx_invalid: u64,
}

impl Stats {
    /// Collect the nested genl counters.
    pub fn from_attrs(attrs: &[StatsAttr]) -> Self {
        let mut s = Stats::default();
        for a in attrs {
            match *a {
                StatsAttr::TxPackets(v) => s.tx_packets = v,
                StatsAttr::TxBytes(v) => s.tx_bytes = v,
                StatsAttr::TxErrors(v) => s.tx_errors = v,
                StatsAttr::RxPackets(v) => s.rx_packets = v,
                StatsAttr::RxBytes(v) => s.rx_bytes = v,
                StatsAttr::RxSeqDiscards(v) => s.rx_seq_discards = v,
                StatsAttr::RxOosPackets(v) => s.rx_oos_packets = v,
                StatsAttr::RxErrors(v) => s.rx_errors = v,
                StatsAttr::RxCookieDiscards(v) => s.rx_cookie_discards = v,
                StatsAttr::RxInvalid(v) => s.rx_invalid = v,
                StatsAttr::Other(_) => {}
            }
        }
        s
    }
}

/// `struct pppol2tp_ioc_stats` (`linux/if_pppol2tp.h`): 72 bytes.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PppoL2tpIocStats {
    pub tunnel_id: u16,
    pub session_id: u16,
    pub using_ipsec: u32, // u32 bitfield:1 + padding
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub tx_errors: u64,
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub rx_seq_discards: u64,
    pub rx_oos_packets: u64,
    pub rx_errors: u64,
}

impl From<&PppoL2tpIocStats> for Stats {
    fn from(s: &PppoL2tpIocStats) -> Self {
        Stats {
            tx_packets: s.tx_packets,
            tx_bytes: s.tx_bytes,
            tx_errors: s.tx_errors,
            rx_packets: s.rx_packets,
            rx_bytes: s.rx_bytes,
            rx_seq_discards: s.rx_seq_discards,
            rx_oos_packets: s.rx_oos_packets,
            rx_errors: s.rx_errors,
            rx_cookie_discards: 0,
            rx_invalid: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pppol2tp_ioc_stats_is_72_bytes_like_the_c_struct() {
        // PPPIOCGL2TPSTATS = _IOR('t', 54, struct pppol2tp_ioc_stats) = 0x80487436: size 0x48.
        assert_eq!(std::mem::size_of::<PppoL2tpIocStats>(), 0x48);
    }
}
