//! Set-up: the start schedule, one socket and one tunnel at a time, and what a failed start
//! counts as.

use super::*;

impl<'a> Bench<'a> {
    /// Starts tunnels while the concurrency window and the rate schedule allow.
    pub(super) fn start_tunnels(&mut self, now: Instant) {
        while self.tuns.len() < self.total && self.in_setup < self.opts.concurrency as usize {
            if let Some(t) = self.next_start_time() {
                if t > now {
                    return;
                }
            }
            self.start_tunnel(now);
        }
    }

    pub(super) fn start_tunnel(&mut self, now: Instant) {
        let slot = self.tuns.len();
        let e = slot / self.per_ep;
        while self.eps.len() <= e {
            let n = self.eps.len() as u64;
            self.eps.push(Endpoint::new(
                EndpointConfig::default(),
                self.seed
                    .wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            ));
            self.ids.push(HashMap::new());
        }
        self.first_sccrq.get_or_insert(now);
        let src = self.sources[slot % self.sources.len()];
        self.tuns.push(Tun {
            ep: e,
            id: None,
            sock: None,
            state: TState::Down,
            in_setup: false,
            started: now,
            sccrq_rtx: 0,
            sessions_opened: None,
            pending: HashSet::new(),
            up: HashSet::new(),
        });
        match self.open_socket(src, slot) {
            Ok(s) => self.tuns[slot].sock = Some(s),
            Err(err) => {
                self.tunnel_failed(format!("socket on {src}: {err}"));
                return;
            }
        }
        let mut cfg = self.tunnel_cfg.clone();
        if let IpAddr::V4(a) = src {
            cfg.router_id = u32::from(a);
        }
        match self.eps[e].connect(now, cfg) {
            Ok(id) => {
                let t = &mut self.tuns[slot];
                t.id = Some(id);
                t.state = TState::Connecting;
                t.in_setup = true;
                self.in_setup += 1;
                self.ids[e].insert(id, slot);
                self.awaiting_reply.insert(slot);
                self.drain(e, Cause::Api, now);
            }
            Err(err) => {
                // Free the socket at once: the tunnel will never use it.
                if let Some(mut s) = self.tuns[slot].sock.take() {
                    let _ = self.poll.registry().deregister(&mut s);
                }
                self.tunnel_failed(format!("connect: {err}"));
            }
        }
    }

    pub(super) fn open_socket(&self, src: IpAddr, slot: usize) -> std::io::Result<UdpSocket> {
        let domain = match src {
            IpAddr::V4(_) => Domain::IPV4,
            IpAddr::V6(_) => Domain::IPV6,
        };
        // SOCK_NONBLOCK at creation: one system call less per tunnel.
        let s = Socket::new(domain, Type::DGRAM.nonblocking(), Some(Protocol::UDP))?;
        s.bind(&SocketAddr::new(src, 0).into())?;
        let mut sock = UdpSocket::from_std(s.into());
        self.poll
            .registry()
            .register(&mut sock, Token(slot), Interest::READABLE)?;
        Ok(sock)
    }

    /// A tunnel that never came up: counted with its sessions, which were never opened.
    pub(super) fn tunnel_failed(&mut self, cause: String) {
        self.r.tunnels_failed += 1;
        bump(&mut self.r.tunnel_failures, cause, 1);
        self.sessions_never_opened("not opened: their tunnel did not come up", 1);
    }

    pub(super) fn sessions_never_opened(&mut self, cause: &str, tunnels: u64) {
        let n = tunnels * self.per_tunnel;
        self.r.sessions_failed += n;
        bump(&mut self.r.session_failures, cause.to_string(), n);
    }

    pub(super) fn finish_setup(&mut self, slot: usize) {
        let t = &mut self.tuns[slot];
        if t.in_setup {
            t.in_setup = false;
            self.in_setup -= 1;
        }
    }
}
