//! Static and quiescent tunnels: both ends configured with each other's IDs, no call set-up.
//! A static tunnel has no control connection at all: the data plane is programmed when it is
//! added, and `TunnelUp` / `SessionUp` are reported then. A quiescent tunnel also has a
//! control socket of its own on which the engine only ACKs and sends HELLO (so a dead peer
//! takes the pseudowires down); its data plane is programmed when the engine reports it up.
//!
//! Set-up here waits for the data plane (the operator gets its error, and nothing
//! half-created stays behind); these tunnels come from the configuration, not from the wire.

use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Instant;

use l2tp_proto::endpoint::{DownReason, Event, SessionId, SessionParams, TunnelId};
use l2tp_proto::wire::{Encap, ResultCode};

use super::plane::{Done, Job};
use super::registry::{Dp, SessionEntry, TunnelEntry};
use super::sessions::session_spec;
use super::{wildcard, Driver, DriverError};
use crate::config::TunnelSection;
use crate::dataplane::{DataPlaneError, TunnelSpec};

impl Driver {
    pub(super) fn add_static(
        &mut self,
        name: &str,
        section: &TunnelSection,
    ) -> Result<TunnelId, DriverError> {
        let (Some(tid), Some(ptid), Some(peer)) = (section.tid, section.ptid, section.peer) else {
            return Err(DriverError::Unsupported(format!(
                "tunnel {name}: a static tunnel needs tid, ptid and peer"
            )));
        };
        let id = TunnelId(tid);
        if self.registry.contains(id) || self.endpoint.tunnel_info(id).is_some() {
            return Err(DriverError::Exists(format!("tunnel ID {tid}")));
        }
        // The kernel opens a static tunnel's socket itself; a user-space data plane gets one
        // of the driver's, whose reader hands it the data messages.
        let mut socket = None;
        let mut control = None;
        if self.user_space(name, section)? {
            let local = section.local.unwrap_or(wildcard(peer));
            let i = match section.encap {
                Encap::Udp => self.sockets.socket_for(local, true)?,
                Encap::Ip => self.sockets.open(local, None, Encap::Ip, tid, true)?,
            };
            self.sockets.add_user(i);
            socket = Some(i);
            control = self.sockets.dup(i);
        }
        let spec = TunnelSpec {
            version: section.version,
            encap: section.encap,
            tunnel_id: tid,
            peer_tunnel_id: ptid,
            local: section.local,
            peer,
            control_fd: control.as_ref().map(std::os::fd::AsRawFd::as_raw_fd),
            udp_checksum: true,
            plane: section.dataplane,
        };
        if let Err(e) = self.create_tunnel_now(spec, control) {
            if let Some(i) = socket {
                self.sockets.release(i);
            }
            return Err(DriverError::DataPlane(e));
        }
        let events_before = self.events.len();
        let mut entry = TunnelEntry::new(name.to_string(), Arc::new(section.clone()));
        entry.socket = socket;
        entry.up = true;
        entry.peer_tunnel_id = ptid;
        entry.dp = Dp::Ready(());
        self.registry.insert_tunnel(id, entry);
        self.report(
            name.to_string(),
            None,
            None,
            Event::TunnelUp {
                tunnel: id,
                peer_tunnel_id: ptid,
                peer,
                version: section.version,
                encap: section.encap,
                peer_host_name: Vec::new(),
            },
        );
        if let Err(e) = self.create_configured_sessions(id) {
            // Nothing half-created: the tunnel's delete removes its sessions too.
            self.registry.remove_tunnel(id);
            let _ = self.plane.call(Job::DeleteTunnel(tid));
            if let Some(i) = socket {
                self.sockets.release(i);
            }
            self.events.truncate(events_before);
            return Err(DriverError::DataPlane(e));
        }
        Ok(id)
    }

    /// A quiescent tunnel: configured IDs like a static one, plus HELLO and ACK on a control
    /// socket of its own (which the kernel also takes as the managed tunnel's socket).
    pub(super) fn add_quiescent(
        &mut self,
        name: &str,
        section: &TunnelSection,
    ) -> Result<TunnelId, DriverError> {
        let (Some(tid), Some(ptid), Some(peer)) = (section.tid, section.ptid, section.peer) else {
            return Err(DriverError::Unsupported(format!(
                "tunnel {name}: a quiescent tunnel needs tid, ptid and peer"
            )));
        };
        if self.registry.contains(TunnelId(tid)) {
            return Err(DriverError::Exists(format!("tunnel ID {tid}")));
        }
        let local = section.local.unwrap_or(wildcard(peer));
        let user_space = self.user_space(name, section)?;
        let socket = self
            .sockets
            .open(local, Some(peer), section.encap, tid, user_space)?;
        self.sockets.add_user(socket);
        let mut cfg = section.to_engine();
        cfg.local_tunnel_id = Some(tid);
        cfg.peer_tunnel_id = Some(ptid);
        // The engine reports TunnelUp at once; `quiescent_up` programs the data plane.
        let mut entry = TunnelEntry::new(name.to_string(), Arc::new(section.clone()));
        entry.socket = Some(socket);
        entry.peer_tunnel_id = ptid;
        self.registry.insert_tunnel(TunnelId(tid), entry);
        match self.endpoint.add_quiescent(Instant::now(), cfg) {
            Ok(id) => Ok(id),
            Err(source) => {
                self.registry.remove_tunnel(TunnelId(tid));
                self.sockets.release(socket);
                Err(DriverError::Engine {
                    name: name.to_string(),
                    source,
                })
            }
        }
    }

    /// The engine reported a quiescent tunnel up: program its data plane and sessions.
    pub(super) fn quiescent_up(
        &mut self,
        id: TunnelId,
        spec: TunnelSpec,
        control: Option<OwnedFd>,
        ev: Event,
    ) {
        let Some(name) = self.registry.get(id).map(|t| t.name.clone()) else {
            return;
        };
        match self.create_tunnel_now(spec, control) {
            Ok(()) => {
                if let Some(t) = self.registry.get_mut(id) {
                    t.dp = Dp::Ready(());
                }
                // Report the tunnel before its sessions.
                self.report(name.clone(), None, None, ev);
                if let Err(e) = self.create_configured_sessions(id) {
                    self.dataplane_errors += 1;
                    tracing::error!(tunnel = %name, error = %e, "data plane: session");
                }
            }
            Err(e) => {
                self.dataplane_errors += 1;
                tracing::error!(tunnel = %name, error = %e, "data plane: tunnel");
                self.report(name, None, None, ev);
            }
        }
    }

    fn create_tunnel_now(
        &mut self,
        spec: TunnelSpec,
        control: Option<OwnedFd>,
    ) -> Result<(), DataPlaneError> {
        let token = self.plane.token();
        match self.plane.call(Job::CreateTunnel {
            spec,
            control,
            token,
        }) {
            Some(Done::Tunnel { result, .. }) => result,
            _ => Err(DataPlaneError::Unsupported("data plane stopped".into())),
        }
    }

    /// Creates the configured sessions of a static or quiescent tunnel (IDs from the config)
    /// in the data plane, reporting `SessionUp` for each. Stops at the first failure.
    fn create_configured_sessions(&mut self, id: TunnelId) -> Result<(), DataPlaneError> {
        let Some(entry) = self.registry.get(id) else {
            return Ok(());
        };
        let (name, section, ptid) = (
            entry.name.clone(),
            entry.section.clone(),
            entry.peer_tunnel_id,
        );
        for (sname, s) in &section.sessions {
            let (Some(sid), Some(psid)) = (s.sid, s.psid) else {
                continue; // the config loader requires them for static tunnels
            };
            let spec = session_spec(&section, s, false, (id.0, ptid), (sid, psid));
            let token = self.plane.token();
            let handle = match self.plane.call(Job::CreateSession {
                spec: Box::new(spec),
                token,
            }) {
                Some(Done::Session { result, .. }) => result?.0,
                _ => return Err(DataPlaneError::Unsupported("data plane stopped".into())),
            };
            let mut e = SessionEntry::new(sname.clone(), Arc::new(s.clone()));
            e.up = true;
            e.peer_id = psid;
            let ifname = handle.interface_name.clone();
            e.dp = Dp::Ready(handle);
            self.registry.insert_session(id, SessionId(sid), e);
            self.report(
                name.clone(),
                Some(sname.clone()),
                ifname,
                Event::SessionUp {
                    tunnel: id,
                    session: SessionId(sid),
                    peer_session_id: psid,
                    peer_tunnel_id: ptid,
                    pseudowire: s.pseudowire.pw_type(),
                    params: SessionParams {
                        local_cookie: s.peer_cookie.clone(),
                        peer_cookie: s.cookie.clone(),
                        interface_name: s.interface_name.clone(),
                        ..SessionParams::default()
                    },
                },
            );
        }
        Ok(())
    }

    /// Closes a static or quiescent tunnel: its sessions and data plane go now (no CDN:
    /// sessions have no control protocol here). A quiescent tunnel then sends StopCCN on its
    /// control socket and is reported down when that is acknowledged (or retransmissions run
    /// out); a static tunnel is reported down at once.
    pub(super) fn close_configured(&mut self, id: TunnelId, rc: ResultCode) {
        let Some(entry) = self.registry.get(id) else {
            return;
        };
        let name = entry.name.clone();
        let quiescent = entry.section.kind == crate::config::TunnelKind::Quiescent;
        for sid in entry.session_ids() {
            self.session_down(id, sid, DownReason::Local(rc.clone()));
        }
        if quiescent
            && self
                .endpoint
                .close_tunnel(Instant::now(), id, rc.clone())
                .is_ok()
        {
            return;
        }
        tracing::info!(tunnel = %name, "static tunnel removed");
        self.tunnel_down(
            id,
            Event::TunnelDown {
                tunnel: id,
                reason: DownReason::Local(rc),
            },
        );
    }
}
