//! Where a session gets its data plane objects: on `SessionUp` the driver builds the
//! [`SessionSpec`] from the configuration and what the control exchange negotiated and asks
//! the data plane for it; when the data plane has made it (kernel session, PPPoL2TP socket,
//! `l2tpeth`/`ppp` interface) the session is reported up and, for PPP, pppd is started on
//! its socket (or its channel is bridged, for tunnel switching). On `SessionDown` pppd is
//! stopped and the objects removed. A data plane failure goes back to the control plane as a
//! CDN.

use std::time::Instant;

use l2tp_proto::endpoint::{DownReason, Event, SessionId, SessionParams, TunnelId};
use l2tp_proto::wire::{error_code, result, ResultCode};

use super::plane::Job;
use super::registry::{Dp, SessionEntry};
use super::Driver;
use crate::config::{Pseudowire, SessionSection, TunnelKind, TunnelSection};
use crate::dataplane::{DataPlaneError, SessionHandle, SessionSpec};

impl Driver {
    /// The control plane established a session: ask the data plane for it. `SessionUp` is
    /// reported when the data plane has made it.
    pub(super) fn session_up(&mut self, ev: Event) {
        let Event::SessionUp {
            tunnel,
            session,
            peer_session_id,
            peer_tunnel_id,
            pseudowire,
            ref params,
        } = ev
        else {
            return;
        };
        let Some(t) = self.registry.get(tunnel) else {
            tracing::debug!(tunnel = tunnel.0, "SessionUp for an unknown tunnel");
            return;
        };
        if t.session(session).is_none() {
            // A call the peer placed: the listener's first session of the same pseudowire
            // type is the template (else its first session).
            let (tname, template) = self
                .listener
                .as_ref()
                .map(|l| l.by_pw.get(&pseudowire).unwrap_or(&l.first).clone())
                .unwrap_or_else(|| ("call".to_string(), Default::default()));
            self.registry.insert_session(
                tunnel,
                session,
                SessionEntry::new(format!("{tname}.{}", session.0), template),
            );
        }
        self.registry
            .set_session_up(tunnel, session, peer_session_id);
        let Some(t) = self.registry.get(tunnel) else {
            return;
        };
        let Some(s) = t.session(session) else {
            return;
        };
        let mut spec = session_spec(
            &t.section,
            &s.section,
            t.accepted,
            (tunnel.0, peer_tunnel_id),
            (session.0, peer_session_id),
        );
        spec.version = t.version;
        spec.calling_number.clone_from(&params.calling_number);
        spec.called_number.clone_from(&params.called_number);
        if t.section.kind == TunnelKind::Dynamic {
            apply_negotiated(&mut spec, params);
            match pseudowire {
                l2tp_proto::wire::pw_type::PPP if spec.pseudowire == Pseudowire::Eth => {
                    spec.pseudowire = Pseudowire::Ppp
                }
                l2tp_proto::wire::pw_type::ETHERNET => spec.pseudowire = Pseudowire::Eth,
                l2tp_proto::wire::pw_type::ETHERNET_VLAN => spec.pseudowire = Pseudowire::EthVlan,
                _ => {}
            }
        }
        let token = self.plane.token();
        if let Some(s) = self.registry.session_mut(tunnel, session) {
            s.dp = Dp::Creating(token);
            s.pending_up = Some(Box::new(ev));
        }
        self.plane.submit(Job::CreateSession {
            spec: Box::new(spec),
            token,
        });
    }

    /// The data plane answered a session create.
    pub(super) fn session_ready(
        &mut self,
        tunnel: TunnelId,
        session: SessionId,
        token: u64,
        result: Result<(SessionHandle, Option<i32>), DataPlaneError>,
    ) {
        let Some(t) = self.registry.get(tunnel) else {
            return; // gone meanwhile; its delete was queued after the create
        };
        let tname = t.name.clone();
        let accepted = t.accepted;
        let Some(s) = self.registry.session_mut(tunnel, session) else {
            return;
        };
        if s.dp != Dp::Creating(token) {
            return;
        }
        let ev = s.pending_up.take();
        match result {
            Ok((handle, fd)) => {
                let ifname = handle.interface_name.clone();
                s.dp = Dp::Ready(handle);
                let sname = s.name.clone();
                let section = s.section.clone();
                if let Some(ev) = ev {
                    self.report(tname.clone(), Some(sname.clone()), ifname, *ev);
                }
                // A bridged session's PPP runs end to end through the bridge.
                if self.registry.is_bridged_by_config(tunnel, session) {
                    tracing::debug!(tunnel = %tname, session = %sname, "PPP session waits for its bridge partner (no pppd)");
                    self.try_bridge(tunnel, session);
                } else if let (Some(_), Some(fd)) = (&self.pppd, fd) {
                    self.start_pppd(tunnel, session, fd, accepted, &section);
                }
            }
            Err(e) => {
                s.dp = Dp::None;
                self.dataplane_errors += 1;
                tracing::error!(tunnel = %tname, session = session.0, error = %e, "data plane: session");
                let rc = ResultCode {
                    result: result::CDN_GENERAL_ERROR,
                    error: Some(error_code::VENDOR_ERROR),
                    message: Some(format!("data plane: {e}").into_bytes()),
                };
                let _ = self.end_session(tunnel, session, rc);
            }
        }
    }

    fn start_pppd(
        &mut self,
        tunnel: TunnelId,
        session: SessionId,
        fd: i32,
        lns_mode: bool,
        section: &SessionSection,
    ) {
        let Some(opts) = &self.pppd else {
            return;
        };
        // The spawner owns a duplicate: the data plane may close the session's socket (and
        // its number be reused) before the spawner gets to it.
        let dup = l2tp_kernel::socket::dup_fd(fd);
        let spawner = match &self.pppd_spawner {
            Some(s) => Ok(s),
            None => crate::pppd::Spawner::start(
                opts.clone(),
                tokio::runtime::Handle::current(),
                self.pppd_reports_tx.clone(),
            )
            .map(|s| &*self.pppd_spawner.insert(s)),
        };
        let queued = match (spawner, dup) {
            (Ok(spawner), Ok(fd)) => spawner.request(crate::pppd::SpawnRequest {
                key: (tunnel.0, session.0),
                fd,
                lns_mode,
                seqnum: section.seqnum,
                ifname: section.interface_name.clone(),
                args_file: section.pppd_args.clone(),
            }),
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(tunnel = tunnel.0, session = session.0, error = %e, "pppd: cannot queue its start");
                false
            }
        };
        // Counted either way: the failure report below takes it back.
        self.pppd_pending += 1;
        if !queued {
            self.pppd_report(
                (tunnel.0, session.0),
                crate::pppd::PppdReport::Failed(crate::pppd::PppdError::Spawn {
                    path: opts.path.clone(),
                    source: std::io::Error::other("the pppd spawner thread is gone"),
                }),
            );
        }
    }

    /// The data plane spoke: PPP is up (record who and which address, for `show`) or the
    /// session failed (clear it with a CDN, result 2 "general error", vendor error code and
    /// the reason as message).
    pub(super) fn dataplane_event(&mut self, ev: crate::dataplane::DataPlaneEvent) {
        use crate::dataplane::DataPlaneEvent;
        match ev {
            DataPlaneEvent::PppUp {
                tunnel_id,
                session_id,
                username,
                address,
                class,
            } => {
                tracing::info!(
                    tunnel = tunnel_id,
                    session = session_id,
                    user = username.as_deref().unwrap_or("-"),
                    address = ?address,
                    "PPP up"
                );
                if let Some(s) = self
                    .registry
                    .session_mut(TunnelId(tunnel_id), SessionId(session_id))
                {
                    s.username = username;
                    s.address = address;
                    s.class = class;
                }
            }
            DataPlaneEvent::PppPhase {
                tunnel_id,
                session_id,
                phase,
            } => {
                if let Some(s) = self
                    .registry
                    .session_mut(TunnelId(tunnel_id), SessionId(session_id))
                {
                    s.ppp = Some(phase);
                }
            }
            DataPlaneEvent::PppAuthFailed { method, .. } => {
                self.ppp_auth_failures.count(method);
            }
            DataPlaneEvent::SessionFailed {
                tunnel_id,
                session_id,
                reason,
            } => {
                let (tunnel, session) = (TunnelId(tunnel_id), SessionId(session_id));
                if self
                    .registry
                    .get(tunnel)
                    .and_then(|t| t.session(session))
                    .is_none()
                {
                    return; // already gone
                }
                tracing::info!(tunnel = tunnel_id, session = session_id, %reason, "PPP down; clearing the session");
                let rc = ResultCode {
                    result: result::CDN_GENERAL_ERROR,
                    error: Some(error_code::VENDOR_ERROR),
                    message: Some(format!("PPP: {reason}").into_bytes()),
                };
                let _ = self.end_session(tunnel, session, rc);
            }
        }
    }

    /// A session is gone (CDN either way, its tunnel closing, operator, pppd exit, a static
    /// tunnel's removal): pppd stopped, data plane objects removed, a bridge partner cleared.
    pub(super) fn session_down(
        &mut self,
        tunnel: TunnelId,
        session: SessionId,
        reason: DownReason,
    ) {
        let Some(t) = self.registry.get(tunnel) else {
            tracing::debug!(tunnel = tunnel.0, "SessionDown for an unknown tunnel");
            return;
        };
        let tname = t.name.clone();
        let mut removed = self.registry.remove_session(tunnel, session);
        let sname = match &removed {
            Some(s) => s.name.clone(),
            None => format!("call.{}", session.0),
        };
        // Up on the wire but its data plane still being made (a CDN right behind the ICCN, in
        // the same batch): report the up first, so that every session_down has its session_up.
        if let Some(up) = removed.as_mut().and_then(|s| s.pending_up.take()) {
            self.report(tname.clone(), Some(sname.clone()), None, *up);
        }
        let mut partner = None;
        let ppp = removed
            .as_ref()
            .map(|s| (s.username.clone(), s.address))
            .unwrap_or_default();
        if let Some(s) = &removed {
            // A session that goes with its tunnel is told by the tunnel's entry.
            if !matches!(reason, DownReason::TunnelDown) {
                let brief = super::report::brief_session(session, s);
                let why = super::report::describe_down(&reason, false);
                self.history.session(Instant::now(), &tname, brief, why);
            }
        }
        if let (Some(o), Some(_)) = (&self.session_observer, &removed) {
            let why = match reason {
                DownReason::TunnelDown => self.tunnel_down_reasons.get(&tunnel).unwrap_or(&reason),
                _ => &reason,
            };
            o.session_down(tunnel.0, session.0, why);
        }
        if let Some(s) = removed {
            partner = s.bridged;
            if let Some(pid) = s.pppd {
                crate::pppd::terminate(pid);
            }
            if s.dp.requested() {
                if matches!(reason, DownReason::TunnelDown) {
                    // The tunnel is closing: one delete of the tunnel removes all of its
                    // sessions in the kernel at once (deleting them one by one first made a
                    // 1,000-session teardown take ~20 s of serialised netlink work). The
                    // control socket stays ours for the StopCCN exchange.
                    if let Some(t) = self.registry.get_mut(tunnel) {
                        if t.dp.requested() {
                            t.dp = Dp::None;
                            self.plane.submit(Job::DeleteTunnel(tunnel.0));
                        }
                    }
                } else {
                    self.plane.submit(Job::DeleteSession(tunnel.0, session.0));
                }
            }
        }
        self.report(
            tname,
            Some(sname),
            None,
            Event::SessionDown {
                tunnel,
                session,
                reason,
            },
        );
        if let Some(ev) = self.events.last_mut() {
            (ev.username, ev.address) = ppp;
        }
        if let Some(p) = partner {
            self.clear_partner(p);
        }
    }
}

/// The data plane's view of a session, from its configuration and the IDs: (local, peer)
/// for the tunnel and the session. `accepted`: the peer opened the tunnel (we are the LNS,
/// which controls data sequencing: RFC 2661 §5.4).
pub(super) fn session_spec(
    tunnel: &TunnelSection,
    session: &SessionSection,
    accepted: bool,
    (tunnel_id, peer_tunnel_id): (u32, u32),
    (session_id, peer_session_id): (u32, u32),
) -> SessionSpec {
    SessionSpec {
        tunnel_id,
        peer_tunnel_id,
        version: tunnel.version,
        session_id,
        peer_session_id,
        pseudowire: session.pseudowire,
        cookie: session.cookie.clone(),
        peer_cookie: session.peer_cookie.clone(),
        l2spec: session.l2spec_type,
        send_seq: session.seqnum,
        recv_seq: session.seqnum,
        reorder_timeout: session.reorder_timeout,
        interface_name: session.interface_name.clone(),
        mtu: None,
        lns_mode: accepted || tunnel.listen,
        pppoe: session.pppoe_session_id.zip(session.pppoe_peer_mac),
        ppp: std::sync::Arc::new(session.ppp.clone()),
        calling_number: None,
        called_number: None,
    }
}

/// What the control exchange agreed on overrides the configuration (RFC 3931 §5.4): the
/// peer's Assigned Cookie is what we send, ours is what we check; the default L2-Specific
/// Sublayer when either side asked for it; sequence numbers as each side requested.
fn apply_negotiated(spec: &mut SessionSpec, p: &SessionParams) {
    if spec.version != l2tp_proto::wire::Version::V3 {
        return;
    }
    spec.cookie = p.peer_cookie.clone();
    spec.peer_cookie = p.local_cookie.clone();
    spec.l2spec = if p.l2_specific == 1 || p.peer_l2_specific == 1 {
        crate::config::L2SpecType::Default
    } else {
        crate::config::L2SpecType::None
    };
    spec.send_seq = p.peer_data_sequencing != 0;
    spec.recv_seq = p.data_sequencing != 0;
    if spec.interface_name.is_none() {
        spec.interface_name = p.interface_name.clone();
    }
}
