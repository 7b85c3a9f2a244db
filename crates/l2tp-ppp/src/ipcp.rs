//! IPCP, the IP Control Protocol (RFC 1332), with DNS server options (RFC 1877).
//!
//! Options: IP-Address (3), Primary-DNS-Address (129), Secondary-DNS-Address (131).
//! IP-Compression-Protocol (2), IP-Addresses (1) and every other option are rejected.
//! Server (peer address configured): we give the peer that address, Nak'ing 0.0.0.0 or any
//! other value with it, and give DNS when asked. Client: we ask with 0.0.0.0 and take the
//! address (and DNS) the peer Naks back.

use std::net::Ipv4Addr;

use crate::fsm::{Judgement, Options};
use crate::wire;

const OPT_ADDR: u8 = 3;
const OPT_DNS1: u8 = 129;
const OPT_DNS2: u8 = 131;

/// IPCP settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpcpConfig {
    /// Our address; `0.0.0.0` asks the peer to assign one (client).
    pub local: Ipv4Addr,
    /// The address to give the peer (server); `None`: take what the peer says (client).
    pub peer: Option<Ipv4Addr>,
    /// Server: primary and secondary DNS given to a peer that asks (RFC 1877).
    /// Client: ask the peer for DNS servers when either is `Some` (the value is the hint sent).
    pub dns: [Option<Ipv4Addr>; 2],
}

fn addr(d: &[u8]) -> Option<Ipv4Addr> {
    let b: [u8; 4] = d.try_into().ok()?;
    Some(Ipv4Addr::from(b))
}

/// IPCP option state.
#[derive(Debug)]
pub struct IpcpOptions {
    cfg: IpcpConfig,
    /// Our address (learnt from a Nak as client).
    pub local: Ipv4Addr,
    /// The peer's address once agreed.
    pub peer: Ipv4Addr,
    /// DNS servers: given (server) or learnt (client).
    pub dns: [Option<Ipv4Addr>; 2],
    send_addr: bool,
    ask_dns: [bool; 2],
}

impl IpcpOptions {
    /// New option state from the settings.
    pub fn new(cfg: IpcpConfig) -> Self {
        let mut o = IpcpOptions {
            local: cfg.local,
            peer: Ipv4Addr::UNSPECIFIED,
            dns: [None; 2],
            send_addr: true,
            ask_dns: [false; 2],
            cfg,
        };
        o.reset();
        o
    }

    fn is_server(&self) -> bool {
        self.cfg.peer.is_some()
    }

    /// Server: the address to give the peer from now on (an address the authentication
    /// server assigned, say). Takes effect at the next (re)negotiation: call it before IPCP
    /// starts. Does not change DNS or our own address.
    pub fn set_peer(&mut self, peer: Ipv4Addr) {
        self.cfg.peer = Some(peer);
    }
}

impl Options for IpcpOptions {
    fn reset(&mut self) {
        self.local = self.cfg.local;
        self.peer = self.cfg.peer.unwrap_or(Ipv4Addr::UNSPECIFIED);
        self.send_addr = true;
        if self.is_server() {
            self.dns = self.cfg.dns;
            self.ask_dns = [false; 2];
        } else {
            self.dns = [None; 2];
            self.ask_dns = [self.cfg.dns[0].is_some(), self.cfg.dns[1].is_some()];
        }
    }

    fn build_request(&mut self, out: &mut Vec<u8>) {
        if self.send_addr {
            wire::push_opt(out, OPT_ADDR, &self.local.octets());
        }
        for (i, kind) in [OPT_DNS1, OPT_DNS2].into_iter().enumerate() {
            if self.ask_dns[i] {
                let v = self.dns[i]
                    .or(self.cfg.dns[i])
                    .unwrap_or(Ipv4Addr::UNSPECIFIED);
                wire::push_opt(out, kind, &v.octets());
            }
        }
    }

    fn judge_request(&mut self, opts: &[u8], exhausted: bool, reply: &mut Vec<u8>) -> Judgement {
        let mut rej = Vec::new();
        let mut nak = Vec::new();
        let mut nak_raw = Vec::new();
        let mut seen_addr = None;
        for o in wire::options(opts).filter_map(Result::ok) {
            match (o.kind, addr(o.data)) {
                (OPT_ADDR, Some(a)) => match self.cfg.peer {
                    Some(give) if a != give => {
                        wire::push_opt(&mut nak, OPT_ADDR, &give.octets());
                        nak_raw.extend_from_slice(o.raw);
                    }
                    Some(_) => seen_addr = Some(a),
                    None if a.is_unspecified() => rej.extend_from_slice(o.raw),
                    None => seen_addr = Some(a),
                },
                (OPT_DNS1 | OPT_DNS2, Some(a)) if self.is_server() => {
                    let i = usize::from(o.kind == OPT_DNS2);
                    match self.cfg.dns[i] {
                        Some(d) if d != a => {
                            wire::push_opt(&mut nak, o.kind, &d.octets());
                            nak_raw.extend_from_slice(o.raw);
                        }
                        Some(_) => {}
                        None => rej.extend_from_slice(o.raw),
                    }
                }
                _ => rej.extend_from_slice(o.raw),
            }
        }
        if !rej.is_empty() {
            *reply = rej;
            return Judgement::Reject;
        }
        // A server must tell a peer that did not ask which address it has (pppd does).
        if let (Some(give), None, false) = (self.cfg.peer, seen_addr, exhausted) {
            if nak.is_empty() {
                wire::push_opt(&mut nak, OPT_ADDR, &give.octets());
            }
        }
        if !nak.is_empty() {
            if exhausted {
                *reply = nak_raw;
                return Judgement::Reject;
            }
            *reply = nak;
            return Judgement::Nak;
        }
        if let Some(a) = seen_addr {
            self.peer = a;
        }
        Judgement::Ack
    }

    fn acked(&mut self, ours: &[u8]) {
        for o in wire::options(ours).filter_map(Result::ok) {
            if let (OPT_DNS1 | OPT_DNS2, Some(a)) = (o.kind, addr(o.data)) {
                self.dns[usize::from(o.kind == OPT_DNS2)] = Some(a);
            }
        }
    }

    fn naked(&mut self, opts: &[u8]) -> bool {
        for o in wire::options(opts).filter_map(Result::ok) {
            match (o.kind, addr(o.data)) {
                // A server keeps its own address; a client takes the one it is given.
                (OPT_ADDR, Some(a)) if !self.is_server() && !a.is_unspecified() => self.local = a,
                (OPT_DNS1 | OPT_DNS2, Some(a)) if !self.is_server() => {
                    let i = usize::from(o.kind == OPT_DNS2);
                    self.dns[i] = Some(a);
                    self.ask_dns[i] = true;
                }
                _ => {}
            }
        }
        true
    }

    fn rejected(&mut self, opts: &[u8]) -> bool {
        for o in wire::options(opts).filter_map(Result::ok) {
            match o.kind {
                OPT_ADDR => self.send_addr = false,
                OPT_DNS1 => self.ask_dns[0] = false,
                OPT_DNS2 => self.ask_dns[1] = false,
                _ => {}
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(dns: [Option<Ipv4Addr>; 2]) -> IpcpOptions {
        IpcpOptions::new(IpcpConfig {
            local: Ipv4Addr::new(10, 0, 0, 1),
            peer: Some(Ipv4Addr::new(10, 0, 0, 2)),
            dns,
        })
    }

    #[test]
    fn compression_and_unknown_options_are_rejected() {
        let mut o = server([None, None]);
        let mut reply = Vec::new();
        // IP-Compression-Protocol (VJ), IP-Address, an unknown option 200.
        let req = [2, 6, 0, 0x2d, 0x0f, 1, 3, 6, 10, 0, 0, 2, 200, 2];
        assert_eq!(o.judge_request(&req, false, &mut reply), Judgement::Reject);
        assert_eq!(reply, [2, 6, 0, 0x2d, 0x0f, 1, 200, 2]);
    }

    #[test]
    fn server_naks_wrong_address_and_gives_dns_or_rejects_it() {
        let dns = Ipv4Addr::new(192, 0, 2, 53);
        let mut o = server([Some(dns), None]);
        let mut reply = Vec::new();
        let req = [3, 6, 0, 0, 0, 0, 129, 6, 0, 0, 0, 0];
        assert_eq!(o.judge_request(&req, false, &mut reply), Judgement::Nak);
        assert_eq!(reply, [3, 6, 10, 0, 0, 2, 129, 6, 192, 0, 2, 53]);
        // Secondary DNS is not configured: rejected.
        reply.clear();
        let req = [3, 6, 10, 0, 0, 2, 131, 6, 0, 0, 0, 0];
        assert_eq!(o.judge_request(&req, false, &mut reply), Judgement::Reject);
        assert_eq!(reply, [131, 6, 0, 0, 0, 0]);
        // Right values: acknowledged, peer address recorded.
        reply.clear();
        let req = [3, 6, 10, 0, 0, 2, 129, 6, 192, 0, 2, 53];
        assert_eq!(o.judge_request(&req, false, &mut reply), Judgement::Ack);
        assert_eq!(o.peer, Ipv4Addr::new(10, 0, 0, 2));
        // A request without IP-Address is told the address (Nak adds the option).
        reply.clear();
        assert_eq!(o.judge_request(&[], false, &mut reply), Judgement::Nak);
        assert_eq!(reply, [3, 6, 10, 0, 0, 2]);
    }

    #[test]
    fn client_takes_naked_address_and_dns() {
        let mut o = IpcpOptions::new(IpcpConfig {
            local: Ipv4Addr::UNSPECIFIED,
            peer: None,
            dns: [Some(Ipv4Addr::UNSPECIFIED), None],
        });
        let mut req = Vec::new();
        o.build_request(&mut req);
        assert_eq!(req, [3, 6, 0, 0, 0, 0, 129, 6, 0, 0, 0, 0]);
        assert!(o.naked(&[3, 6, 10, 0, 0, 9, 129, 6, 192, 0, 2, 53]));
        req.clear();
        o.build_request(&mut req);
        assert_eq!(req, [3, 6, 10, 0, 0, 9, 129, 6, 192, 0, 2, 53]);
        o.acked(&req);
        assert_eq!(o.dns, [Some(Ipv4Addr::new(192, 0, 2, 53)), None]);
        assert_eq!(o.local, Ipv4Addr::new(10, 0, 0, 9));
    }
}
