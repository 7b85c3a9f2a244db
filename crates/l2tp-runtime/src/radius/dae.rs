//! Dynamic authorization (RFC 5176) in the RADIUS task: which sessions a Disconnect- or
//! CoA-Request names (through the task's hash-map indexes, no scan), and the answer.

use super::*;

impl Task {
    /// Sessions a DAE request names: the most specific identification present, then every
    /// other present attribute must agree (RFC 5176 §3).
    pub(super) fn select(&self, r: &DaeRequest) -> Vec<Key> {
        let s = &r.session;
        let candidates: Vec<Key> = if let Some(id) = &s.acct_session_id {
            String::from_utf8(id.clone())
                .ok()
                .and_then(|id| self.by_acct_id.get(&id).copied())
                .into_iter()
                .collect()
        } else if let Some(ip) = s.framed_ip_address {
            self.by_ip.get(&ip).copied().into_iter().collect()
        } else if let Some(u) = &s.user_name {
            String::from_utf8(u.clone())
                .ok()
                .and_then(|u| self.by_user.get(&u))
                .map_or_else(Vec::new, |v| v.iter().copied().collect())
        } else if let Some(p) = s.nas_port {
            self.by_port
                .get(&p)
                .map_or_else(Vec::new, |v| v.iter().copied().collect())
        } else {
            Vec::new()
        };
        candidates
            .into_iter()
            .filter(|k| {
                let Some(a) = self.sessions.get(k) else {
                    return false;
                };
                s.user_name
                    .as_deref()
                    .is_none_or(|u| u == a.username.as_bytes())
                    && s.framed_ip_address.is_none_or(|ip| ip == a.address)
                    && s.nas_port.is_none_or(|p| p == k.1)
                    && s.acct_session_id
                        .as_deref()
                        .is_none_or(|id| id == a.acct_id.as_bytes())
            })
            .collect()
    }

    /// One DAE datagram: the answer to send back, if any.
    pub(super) fn dae(&mut self, from: SocketAddr, d: &[u8]) -> Option<Vec<u8>> {
        let outcome = self.dae.as_mut()?.handle(from, d, u64::from(unix_now()));
        let req = match outcome {
            DaeOutcome::Drop(why) => {
                self.dae_dropped += 1;
                tracing::debug!(%from, ?why, "DAE request dropped");
                return None;
            }
            DaeOutcome::Nak { reply, cause, .. } => {
                self.dae_naks += 1;
                tracing::info!(%from, cause, "DAE request refused");
                return Some(reply);
            }
            DaeOutcome::Request(r) => r,
        };
        self.dae_requests += 1;
        let keys = self.select(&req);
        let dae = self.dae.as_ref()?;
        if keys.is_empty() {
            self.dae_naks += 1;
            tracing::info!(%from, kind = ?req.kind, session = ?req.session, "DAE: no such session");
            return Some(dae.nak(&req, error_cause::SESSION_CONTEXT_NOT_FOUND));
        }
        let now = Instant::now();
        for k in &keys {
            let Some(a) = self.sessions.get_mut(k) else {
                continue;
            };
            match req.kind {
                DaeKind::Disconnect => {
                    a.cause.get_or_insert(TerminateCause::AdminReset);
                    tracing::info!(user = %a.username, session_id = %a.acct_id, %from, "Disconnect-Request: ending the session");
                    a.control.terminate("Disconnect-Request");
                }
                DaeKind::Coa => {
                    for c in &req.changes {
                        match (c.typ, c.as_integer()) {
                            (at::SESSION_TIMEOUT, Some(0)) => a.timeout_at = None,
                            (at::SESSION_TIMEOUT, Some(secs)) => {
                                let t = now + Duration::from_secs(u64::from(secs));
                                a.timeout_at = Some(t);
                                self.timers
                                    .push(Reverse((t, *k, TimerKind::SessionTimeout)));
                            }
                            (at::ACCT_INTERIM_INTERVAL, Some(secs)) => {
                                let i = (secs > 0).then(|| Duration::from_secs(u64::from(secs)));
                                a.interim = i;
                                a.next_interim = i.map(|i| now + i);
                                if let Some(t) = a.next_interim {
                                    self.timers.push(Reverse((t, *k, TimerKind::Interim)));
                                }
                            }
                            _ => {}
                        }
                    }
                    tracing::info!(user = %a.username, session_id = %a.acct_id, %from, "CoA-Request applied");
                }
            }
        }
        Some(dae.ack(&req))
    }
}
