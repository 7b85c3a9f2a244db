//! Tunnel switching: a session configured with `bridge = "TUNNEL/SESSION"` has its PPP
//! channel bridged in the kernel to that session's (`PPPIOCBRIDGECHAN`), with no pppd at the
//! switch. Whichever half comes up second makes the bridge (its partner is found through the
//! registry's bridge index, O(1)); a switched call is one call, so when one half goes down
//! the other is cleared (CDN).

use l2tp_proto::endpoint::{SessionId, TunnelId};
use l2tp_proto::wire::{error_code, result, ResultCode};

use super::plane::Job;
use super::Driver;
use crate::dataplane::DataPlaneError;

impl Driver {
    /// Bridges a session that the data plane has just made to its configured partner, if
    /// the partner is ready and not bridged yet.
    pub(super) fn try_bridge(&mut self, t: TunnelId, s: SessionId) {
        let Some((pt, ps)) = self.registry.bridge_partner(t, s) else {
            return;
        };
        let ready = |e: Option<&super::registry::SessionEntry>| {
            e.is_some_and(|e| e.dp.ready().is_some() && e.bridged.is_none())
        };
        if !ready(self.registry.session(t, s)) || !ready(self.registry.session(pt, ps)) {
            return;
        }
        for ((tt, ss), other) in [((t, s), (pt, ps)), ((pt, ps), (t, s))] {
            if let Some(e) = self.registry.session_mut(tt, ss) {
                e.bridged = Some(other);
            }
        }
        self.plane.submit(Job::Bridge((t.0, s.0), (pt.0, ps.0)));
    }

    /// The data plane answered a bridge request.
    pub(super) fn bridged(
        &mut self,
        a: (u32, u32),
        b: (u32, u32),
        result: Result<(), DataPlaneError>,
    ) {
        match result {
            Ok(()) => tracing::info!(?a, ?b, "sessions bridged"),
            Err(e) => {
                self.dataplane_errors += 1;
                tracing::error!(error = %e, ?a, ?b, "data plane: bridge");
                for (t, s) in [a, b] {
                    if let Some(e) = self.registry.session_mut(TunnelId(t), SessionId(s)) {
                        e.bridged = None;
                    }
                }
            }
        }
    }

    /// One half of a switched call went down: clear the other (CDN, loss of carrier).
    pub(super) fn clear_partner(&mut self, (pt, ps): (TunnelId, SessionId)) {
        let Some(p) = self.registry.session_mut(pt, ps) else {
            return;
        };
        p.bridged = None;
        let rc = ResultCode {
            result: result::CDN_LOST_CARRIER,
            error: Some(error_code::NO_ERROR),
            message: Some(b"bridged session went down".to_vec()),
        };
        tracing::info!(tunnel = pt.0, session = ps.0, "clearing the bridge partner");
        let _ = self.end_session(pt, ps, rc);
    }
}
