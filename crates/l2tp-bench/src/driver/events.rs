//! Input: reading a tunnel's socket, timers, and the endpoint's transmits and events after
//! every call into it (events drained right after a datagram are attributed to it).

use super::*;

impl<'a> Bench<'a> {
    /// Reads every datagram waiting on the socket of `slot` into its endpoint.
    pub(super) fn read_socket(&mut self, slot: usize) {
        let mut errors = 0;
        loop {
            let Some(t) = self.tuns.get(slot) else { return };
            let Some(sock) = t.sock.as_ref() else { return };
            let (n, from) = match sock.recv_from(&mut self.buf) {
                Ok(x) => x,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) => {
                    errors += 1;
                    if errors >= MAX_RX_ERRORS {
                        return;
                    }
                    continue;
                }
            };
            let now = Instant::now();
            let e = t.ep;
            let awaiting = self.awaiting_reply.contains(&slot);
            if awaiting {
                self.snapshot_sccrq_retransmits(slot);
            }
            self.eps[e].handle(now, from, &self.buf[..n]);
            if awaiting && !self.waits_for_sccrp(slot) {
                // The server's reply was taken: every retransmission before it was an SCCRQ.
                self.awaiting_reply.remove(&slot);
                self.r.sccrq_retransmits += self.tuns[slot].sccrq_rtx;
            }
            self.drain(e, Cause::Datagram, now);
        }
    }

    /// The tunnel of `slot` still waits for the server's SCCRP.
    pub(super) fn waits_for_sccrp(&self, slot: usize) -> bool {
        let t = &self.tuns[slot];
        t.id.and_then(|id| self.eps[t.ep].tunnel_info(id))
            .is_some_and(|i| i.state == TunnelState::WaitCtlReply)
    }

    /// Records the retransmissions of a tunnel still waiting for the server's SCCRP (they can
    /// only be SCCRQs).
    pub(super) fn snapshot_sccrq_retransmits(&mut self, slot: usize) {
        let t = &self.tuns[slot];
        let Some(id) = t.id else { return };
        if let Some(info) = self.eps[t.ep].tunnel_info(id) {
            self.tuns[slot].sccrq_rtx = info.transport.retransmits;
        }
    }

    /// Runs the endpoints' due timers.
    pub(super) fn run_timers(&mut self, now: Instant) {
        for e in 0..self.eps.len() {
            if self.eps[e].poll_timeout().is_some_and(|t| t <= now) {
                let before = self.eps[e].stats().retransmits;
                self.eps[e].handle_timeout(now);
                if self.eps[e].stats().retransmits != before {
                    let waiting: Vec<usize> = self
                        .awaiting_reply
                        .iter()
                        .copied()
                        .filter(|&s| self.tuns[s].ep == e)
                        .collect();
                    for slot in waiting {
                        self.snapshot_sccrq_retransmits(slot);
                    }
                }
                self.drain(e, Cause::Timer, now);
            }
        }
    }

    /// Sends what endpoint `e` has queued and handles its events, until both are empty.
    pub(super) fn drain(&mut self, e: usize, cause: Cause, now: Instant) {
        loop {
            let mut any = false;
            while let Some(tx) = self.eps[e].poll_transmit() {
                any = true;
                self.send(e, &tx);
            }
            while let Some(ev) = self.eps[e].poll_event() {
                any = true;
                self.on_event(e, ev, cause, now);
            }
            if !any {
                return;
            }
        }
    }

    pub(super) fn send(&mut self, e: usize, tx: &Transmit) {
        let sock = self.ids[e]
            .get(&tx.tunnel)
            .and_then(|&slot| self.tuns[slot].sock.as_ref());
        match sock.map(|s| s.send_to(&tx.payload, tx.destination)) {
            Some(Ok(_)) => {}
            _ => self.r.send_errors += 1,
        }
    }

    pub(super) fn slot_of(&self, e: usize, tunnel: TunnelId) -> Option<usize> {
        self.ids[e].get(&tunnel).copied()
    }

    pub(super) fn on_event(&mut self, e: usize, ev: Event, cause: Cause, now: Instant) {
        match ev {
            Event::TunnelUp { tunnel, .. } => {
                let Some(slot) = self.slot_of(e, tunnel) else {
                    return;
                };
                let t = &mut self.tuns[slot];
                if t.state != TState::Connecting {
                    return;
                }
                t.state = TState::Up;
                self.r.tunnels_up += 1;
                self.held_tunnels += 1;
                self.tunnel_lat.push(ms(now - t.started));
                self.last_up = Some(now);
                if self.per_tunnel == 0 {
                    self.established(now);
                    self.finish_setup(slot);
                    return;
                }
                t.sessions_opened = Some(now);
                for _ in 0..self.per_tunnel {
                    match self.eps[e].open_session(now, tunnel, self.session_cfg.clone()) {
                        Ok(sid) => {
                            self.tuns[slot].pending.insert(sid.0);
                        }
                        Err(err) => {
                            self.r.sessions_failed += 1;
                            bump(
                                &mut self.r.session_failures,
                                format!("open_session: {err}"),
                                1,
                            );
                        }
                    }
                }
                if self.tuns[slot].pending.is_empty() {
                    self.finish_setup(slot);
                }
            }
            Event::SessionUp {
                tunnel, session, ..
            } => {
                let Some(slot) = self.slot_of(e, tunnel) else {
                    return;
                };
                let t = &mut self.tuns[slot];
                if !t.pending.remove(&session.0) {
                    return;
                }
                t.up.insert(session.0);
                let opened = t.sessions_opened.unwrap_or(t.started);
                let done = t.pending.is_empty();
                self.r.sessions_up += 1;
                self.held_sessions += 1;
                self.session_lat.push(ms(now - opened));
                self.last_up = Some(now);
                self.established(now);
                if done {
                    self.finish_setup(slot);
                }
            }
            Event::SessionDown {
                tunnel,
                session,
                reason,
            } => {
                let Some(slot) = self.slot_of(e, tunnel) else {
                    return;
                };
                let t = &mut self.tuns[slot];
                if t.pending.remove(&session.0) {
                    let done = t.pending.is_empty();
                    self.r.sessions_failed += 1;
                    bump(&mut self.r.session_failures, reason_text(false, &reason), 1);
                    if done {
                        self.finish_setup(slot);
                    }
                } else if t.up.remove(&session.0) {
                    self.held_sessions -= 1;
                    if t.state != TState::Closing {
                        self.r.sessions_lost += 1;
                        bump(
                            &mut self.r.session_failures,
                            format!("lost: {}", reason_text(false, &reason)),
                            1,
                        );
                    }
                }
            }
            Event::TunnelDown { tunnel, reason } => {
                let Some(slot) = self.slot_of(e, tunnel) else {
                    return;
                };
                let state = self.tuns[slot].state;
                self.tuns[slot].state = TState::Down;
                match state {
                    TState::Connecting => {
                        if self.awaiting_reply.remove(&slot) {
                            self.r.sccrq_retransmits += self.tuns[slot].sccrq_rtx;
                        }
                        self.tunnel_failed(reason_text(true, &reason));
                    }
                    TState::Up => {
                        self.held_tunnels -= 1;
                        self.r.tunnels_lost += 1;
                        bump(
                            &mut self.r.tunnel_failures,
                            format!("lost: {}", reason_text(true, &reason)),
                            1,
                        );
                    }
                    TState::Closing => {
                        self.held_tunnels -= 1;
                        self.closing -= 1;
                        self.teardown_end = Some(now);
                        if let Some(td) = self.r.teardown.as_mut() {
                            if cause == Cause::Datagram {
                                td.stopccn_acked += 1;
                            } else {
                                td.stopccn_unacked += 1;
                            }
                        }
                    }
                    TState::Down => {}
                }
                // Sessions still pending were reported down before the tunnel.
                self.finish_setup(slot);
            }
            Event::WanError { .. } | Event::LinkInfo { .. } => {}
        }
    }

    /// One more session (tunnel, without sessions) established: a progress record every
    /// `--report-every`.
    pub(super) fn established(&mut self, now: Instant) {
        self.established += 1;
        let k = self.opts.report_every;
        if k > 0 && self.established.is_multiple_of(k) {
            self.record_progress(now);
        }
    }

    pub(super) fn record_progress(&mut self, now: Instant) {
        let first = self.first_sccrq.unwrap_or(self.t0);
        let (prev_t, prev_n) = self.last_progress.unwrap_or((first, 0));
        let elapsed = (now - first).as_secs_f64();
        let interval = (now - prev_t).as_secs_f64();
        let rate = |n: u64, s: f64| if s > 0.0 { n as f64 / s } else { 0.0 };
        self.r.progress.push(Progress {
            elapsed,
            sessions: self.held_sessions,
            tunnels: self.held_tunnels,
            established: self.established,
            rate: rate(self.established, elapsed),
            interval_rate: rate(self.established - prev_n, interval),
            server_rss_kb: self.opts.server_pid.and_then(sys::rss_kb),
        });
        self.last_progress = Some((now, self.established));
    }

    pub(super) fn deliver_progress(&mut self, on_progress: &mut dyn FnMut(&Progress)) {
        while let Some(p) = self.r.progress.get(self.progress_delivered) {
            on_progress(p);
            self.progress_delivered += 1;
        }
    }
}
