//! The end: stopping set-up, closing tunnels with StopCCN, the hard deadline, and the report.

use super::*;

impl<'a> Bench<'a> {
    /// Set-up is over: the last progress record, CPU and memory figures.
    pub(super) fn end_setup(&mut self, now: Instant) {
        if self.opts.report_every > 0
            && self.last_progress.map_or(0, |(_, n)| n) != self.established
        {
            self.record_progress(now);
        }
        self.r.setup_cpu_seconds = sys::own_cpu_seconds() - self.cpu0;
        if let Some(pid) = self.opts.server_pid {
            self.r.server_setup_cpu_seconds = sys::process_cpu_seconds(pid)
                .zip(self.server_cpu0)
                .map(|(a, b)| a - b);
            self.r.server_rss_kb = sys::rss_kb(pid);
        }
    }

    pub(super) fn stop_rc() -> ResultCode {
        ResultCode {
            result: result::STOPCCN_GENERAL,
            error: Some(0),
            message: Some(b"l2tp-bench teardown".to_vec()),
        }
    }

    /// Teardown: StopCCN in the next tunnels that are up, `--concurrency` at a time.
    pub(super) fn close_tunnels(&mut self, now: Instant) {
        while self.close_next < self.tuns.len() && self.closing < self.opts.concurrency as usize {
            let slot = self.close_next;
            self.close_next += 1;
            self.close_one(slot, now);
        }
    }

    /// Sends StopCCN in `slot` if it is up; true if it did and now waits for the
    /// acknowledgement.
    pub(super) fn close_one(&mut self, slot: usize, now: Instant) -> bool {
        let t = &self.tuns[slot];
        let (TState::Up, Some(id)) = (t.state, t.id) else {
            return false;
        };
        let e = t.ep;
        if let Some(td) = self.r.teardown.as_mut() {
            td.stopccn_sent += 1;
        }
        self.tuns[slot].state = TState::Closing;
        self.closing += 1;
        if self.eps[e].close_tunnel(now, id, Self::stop_rc()).is_err() {
            // Already gone (its TunnelDown was handled): nothing to wait for.
            self.tuns[slot].state = TState::Down;
            self.closing -= 1;
            self.held_tunnels = self.held_tunnels.saturating_sub(1);
            if let Some(td) = self.r.teardown.as_mut() {
                td.stopccn_unacked += 1;
            }
            return false;
        }
        self.drain(e, Cause::Api, now);
        true
    }

    /// The run's hard bound: whatever is unfinished is counted as failed; with `--teardown`
    /// every tunnel still up or connecting gets a StopCCN (not waited for) so that the server
    /// can clean up.
    pub(super) fn hit_deadline(&mut self, now: Instant) {
        self.r.timed_out = true;
        if self.phase == Phase::Setup {
            self.end_setup(now);
        }
        let mut abandon = Vec::new();
        for slot in 0..self.tuns.len() {
            if !self.tuns[slot].in_setup {
                continue;
            }
            match self.tuns[slot].state {
                TState::Connecting => {
                    self.tunnel_failed("run timeout before the tunnel came up".into());
                    self.tuns[slot].state = TState::Down;
                    abandon.push(slot);
                }
                TState::Up => {
                    let n = self.tuns[slot].pending.len() as u64;
                    self.tuns[slot].pending.clear();
                    self.r.sessions_failed += n;
                    bump(
                        &mut self.r.session_failures,
                        "run timeout before the session came up".into(),
                        n,
                    );
                }
                TState::Closing | TState::Down => {}
            }
            self.finish_setup(slot);
        }
        let not_started = (self.total - self.tuns.len()) as u64;
        self.r.tunnels_failed += not_started;
        bump(
            &mut self.r.tunnel_failures,
            "not started before the run timeout".into(),
            not_started,
        );
        self.sessions_never_opened("not opened: run timeout", not_started);
        // Tunnels already closing are not waited for.
        if let Some(td) = self.r.teardown.as_mut() {
            td.stopccn_unacked += self.closing as u64;
        }
        if self.opts.teardown {
            self.teardown_start.get_or_insert(now);
            for slot in 0..self.tuns.len() {
                if self.close_one(slot, now) {
                    self.closing -= 1;
                    if let Some(td) = self.r.teardown.as_mut() {
                        td.stopccn_unacked += 1;
                    }
                }
            }
            for slot in abandon {
                let (e, id) = (self.tuns[slot].ep, self.tuns[slot].id);
                if let Some(id) = id {
                    let _ = self.eps[e].close_tunnel(now, id, Self::stop_rc());
                    self.drain(e, Cause::Api, now);
                }
            }
        }
        self.phase = Phase::Done;
    }

    /// Final figures.
    pub(super) fn finish(mut self) -> Report {
        let now = Instant::now();
        let waiting: Vec<usize> = self.awaiting_reply.iter().copied().collect();
        for slot in waiting {
            self.snapshot_sccrq_retransmits(slot);
            self.r.sccrq_retransmits += self.tuns[slot].sccrq_rtx;
        }
        let r = &mut self.r;
        if let (Some(first), Some(last)) = (self.first_sccrq, self.last_up) {
            r.setup_seconds = (last - first).as_secs_f64();
            if r.setup_seconds > 0.0 {
                r.tunnels_per_second = r.tunnels_up as f64 / r.setup_seconds;
                r.sessions_per_second = r.sessions_up as f64 / r.setup_seconds;
            }
        }
        r.tunnel_latency = Latency::of(&mut self.tunnel_lat);
        r.session_latency = Latency::of(&mut self.session_lat);
        for ep in &self.eps {
            let s = ep.stats();
            r.retransmits += s.retransmits;
            r.dropped_rx += s.malformed + s.unknown_tunnel + s.unsupported + s.auth_failures;
            r.auth_failures += s.auth_failures;
        }
        if let (Some(td), Some(start)) = (r.teardown.as_mut(), self.teardown_start) {
            td.seconds = (self.teardown_end.unwrap_or(now).max(start) - start).as_secs_f64();
        }
        r.elapsed_seconds = (now - self.t0).as_secs_f64();
        r.cpu_seconds = sys::own_cpu_seconds() - self.cpu0;
        if let Some(pid) = self.opts.server_pid {
            r.server_cpu_seconds = sys::process_cpu_seconds(pid)
                .zip(self.server_cpu0)
                .map(|(a, b)| a - b);
            r.server_peak_rss_kb = sys::status_kb(pid, "VmHWM");
        }
        self.r
    }
}
