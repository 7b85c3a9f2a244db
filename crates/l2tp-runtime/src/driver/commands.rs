//! What the operator and the [`crate::Context`] ask of the driver: listen for peers, add and
//! close tunnels and sessions by name, and the command dispatch of the `Context` channel.
//! Each request is checked against the registry (O(1) by name) before the engine or the data
//! plane is touched, so a refused request leaves nothing behind.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use l2tp_proto::endpoint::{DownReason, SessionId, TunnelId};
use l2tp_proto::wire::{error_code, result, Encap, ResultCode};

use super::registry::{SessionEntry, TunnelEntry};
use super::{wildcard, Command, Driver, DriverError, Listener};
use crate::config::{SessionSection, TunnelKind, TunnelSection};

impl Driver {
    /// Listens for new peers (LNS / responding LCCE) on `section.local`; tunnels they open
    /// take their settings from `section` (its sessions are templates for the peer's calls).
    /// The endpoint must have been created with `accept_v2_incoming`.
    ///
    /// Errors: [`DriverError::Socket`] when the address cannot be bound.
    pub fn listen(&mut self, section: &TunnelSection) -> Result<SocketAddr, DriverError> {
        self.listen_as("listener", section)
    }

    fn listen_as(
        &mut self,
        name: &str,
        section: &TunnelSection,
    ) -> Result<SocketAddr, DriverError> {
        let local = section.local.unwrap_or(SocketAddr::from((
            Ipv4Addr::UNSPECIFIED,
            crate::config::DEFAULT_PORT,
        )));
        let key = (local, section.encap == Encap::Ip);
        let user_space = self.user_space(name, section)?;
        let i = match (self.listen_sockets.get(&key), section.encap) {
            // Listening there already (a reload): new settings, same socket.
            (Some(&i), _) => i,
            (None, Encap::Udp) => {
                self.sockets.check_exclusive(local)?;
                self.sockets.socket_for(local, user_space)?
            }
            (None, Encap::Ip) => self.sockets.open(local, None, Encap::Ip, 0, user_space)?,
        };
        self.listen_sockets.insert(key, i);
        let addr = self.sockets.set_listening(i);
        let mut by_pw = std::collections::HashMap::new();
        for (n, s) in &section.sessions {
            by_pw
                .entry(s.pseudowire.pw_type())
                .or_insert_with(|| (n.clone(), Arc::new(s.clone())));
        }
        let first = section
            .sessions
            .first()
            .map(|(n, s)| (n.clone(), Arc::new(s.clone())))
            .unwrap_or_else(|| ("call".to_string(), Arc::default()));
        self.listener = Some(Listener {
            name: name.to_string(),
            section: Arc::new(section.clone()),
            by_pw,
            first,
            local: addr.unwrap_or(local),
        });
        tracing::info!(local = %addr.unwrap_or(local), "listening for new tunnels");
        Ok(addr.unwrap_or(local))
    }

    /// Starts a tunnel from its configuration: dynamic (LAC / initiating LCCE: sends SCCRQ;
    /// sessions are opened right after) or static (programs the data plane now).
    ///
    /// Errors: name in use, socket set-up failures, engine refusals (tunnel ID in use),
    /// data plane refusals (static tunnels).
    pub async fn add_tunnel(
        &mut self,
        name: &str,
        section: &TunnelSection,
    ) -> Result<TunnelId, DriverError> {
        let r = self.add_tunnel_now(name, section);
        self.flush().await;
        r
    }

    pub(super) fn add_tunnel_now(
        &mut self,
        name: &str,
        section: &TunnelSection,
    ) -> Result<TunnelId, DriverError> {
        if self.registry.name_taken(name) {
            return Err(DriverError::Exists(format!("tunnel {name}")));
        }
        // A tunnel asking for a data plane this daemon has not opened is refused first.
        let user_space = self.user_space(name, section)?;
        self.registry.note_bridges(name, section);
        match section.kind {
            TunnelKind::Static => return self.add_static(name, section),
            TunnelKind::Quiescent => return self.add_quiescent(name, section),
            TunnelKind::Dynamic => {}
        }
        if section.listen {
            self.listen_as(name, section)?;
            return Ok(TunnelId(0));
        }
        let config = section.to_engine();
        let local = section.local.unwrap_or(wildcard(config.peer));
        let peer = config.peer;
        let socket = match config.encap {
            Encap::Udp => Some(self.sockets.socket_for(local, user_space)?),
            Encap::Ip => None,
        };
        let now = Instant::now();
        let id = match self.endpoint.connect(now, config) {
            Ok(id) => id,
            Err(source) => {
                if let Some(i) = socket {
                    self.sockets.add_user(i);
                    self.sockets.release(i);
                }
                return Err(DriverError::Engine {
                    name: name.to_string(),
                    source,
                });
            }
        };
        // L2TP/IP: the socket is bound to the Control Connection ID the engine just chose.
        let socket = match socket {
            Some(i) => i,
            None => match self
                .sockets
                .open(local, Some(peer), Encap::Ip, id.0, user_space)
            {
                Ok(i) => i,
                Err(e) => {
                    let _ = self.endpoint.close_tunnel(
                        now,
                        id,
                        ResultCode {
                            result: result::STOPCCN_GENERAL_ERROR,
                            error: Some(error_code::NO_RESOURCES),
                            message: None,
                        },
                    );
                    return Err(e);
                }
            },
        };
        self.sockets.add_user(socket);
        tracing::info!(tunnel = name, id = id.0, "tunnel starting");
        let mut entry = TunnelEntry::new(name.to_string(), Arc::new(section.clone()));
        entry.socket = Some(socket);
        entry.pending_sessions = section.sessions.clone();
        self.registry.insert_tunnel(id, entry);
        // The engine sends ICRQ right after SCCCN; open the configured sessions now.
        self.open_pending(id, now);
        Ok(id)
    }

    /// Closes a tunnel by name: StopCCN for dynamic tunnels (events follow), immediate data
    /// plane removal for static ones.
    ///
    /// Errors: [`DriverError::NotFound`].
    pub async fn close_tunnel(&mut self, name: &str, rc: ResultCode) -> Result<(), DriverError> {
        let id = self
            .registry
            .by_name(name)
            .ok_or_else(|| DriverError::NotFound(format!("tunnel {name}")))?;
        self.close_tunnel_id(id, rc);
        self.flush().await;
        Ok(())
    }

    pub(super) fn close_tunnel_id(&mut self, id: TunnelId, rc: ResultCode) {
        match self.registry.get(id).map(|e| e.section.kind) {
            Some(TunnelKind::Static | TunnelKind::Quiescent) => self.close_configured(id, rc),
            _ => {
                if let Err(e) = self.endpoint.close_tunnel(Instant::now(), id, rc) {
                    tracing::debug!(tunnel = id.0, error = %e, "close_tunnel");
                }
                // The closing control connection finishes its StopCCN under no name: a new
                // tunnel may take the name at once (reloads converge whatever the timing).
                self.registry.release_name(id);
            }
        }
    }

    /// Sends StopCCN on every tunnel with `result` (sessions are reported down with it).
    pub async fn close_all(&mut self, result: ResultCode) {
        let ids = self.registry.tunnel_ids();
        tracing::debug!(tunnels = ids.len(), "closing every tunnel");
        for id in ids {
            self.close_tunnel_id(id, result.clone());
        }
        self.flush().await;
    }

    /// Opens a session in a dynamic tunnel by name (ICRQ). Errors: unknown tunnel, session
    /// name in use, engine refusal.
    pub async fn add_session(
        &mut self,
        tunnel: &str,
        name: &str,
        section: &SessionSection,
    ) -> Result<SessionId, DriverError> {
        let r = self.add_session_now(tunnel, name, section, false);
        self.flush().await;
        r
    }

    /// Places an outgoing call (OCRQ; RFC 2661 §5.2.1, usually from the LNS) in a dynamic
    /// tunnel by name. Errors as [`Driver::add_session`].
    pub async fn add_outgoing_call(
        &mut self,
        tunnel: &str,
        name: &str,
        section: &SessionSection,
    ) -> Result<SessionId, DriverError> {
        let r = self.add_session_now(tunnel, name, section, true);
        self.flush().await;
        r
    }

    fn add_session_now(
        &mut self,
        tunnel: &str,
        name: &str,
        section: &SessionSection,
        outgoing: bool,
    ) -> Result<SessionId, DriverError> {
        let not_found = || DriverError::NotFound(format!("tunnel {tunnel}"));
        let id = self.registry.by_name(tunnel).ok_or_else(not_found)?;
        let entry = self.registry.get(id).ok_or_else(not_found)?;
        if entry.session_by_name(name).is_some() {
            return Err(DriverError::Exists(format!("session {tunnel}/{name}")));
        }
        if entry.section.kind != TunnelKind::Dynamic {
            return Err(DriverError::Unsupported(format!(
                "adding sessions to the {:?} tunnel {tunnel}",
                entry.section.kind
            )));
        }
        let now = Instant::now();
        let opened = if outgoing {
            self.endpoint
                .open_outgoing_call(now, id, section.to_engine())
        } else {
            self.endpoint.open_session(now, id, section.to_engine())
        };
        let sid = opened.map_err(|source| DriverError::Engine {
            name: tunnel.to_string(),
            source,
        })?;
        self.registry.insert_session(
            id,
            sid,
            SessionEntry::new(name.to_string(), Arc::new(section.clone())),
        );
        Ok(sid)
    }

    /// Closes a session by tunnel and session name (CDN with result 3, administrative).
    pub async fn close_session(&mut self, tunnel: &str, session: &str) -> Result<(), DriverError> {
        let id = self
            .registry
            .by_name(tunnel)
            .ok_or_else(|| DriverError::NotFound(format!("tunnel {tunnel}")))?;
        let sid = self
            .registry
            .get(id)
            .and_then(|t| t.session_by_name(session))
            .ok_or_else(|| DriverError::NotFound(format!("session {tunnel}/{session}")))?;
        let rc = ResultCode {
            result: result::CDN_ADMIN,
            error: Some(error_code::NO_ERROR),
            message: Some(b"closed by operator".to_vec()),
        };
        self.end_session(id, sid, rc)
            .map_err(|source| DriverError::Engine {
                name: tunnel.to_string(),
                source,
            })?;
        self.flush().await;
        Ok(())
    }

    /// Ends one session with `rc`: a CDN for a dynamic tunnel's session (the engine reports
    /// it down), the data plane alone for a static or quiescent tunnel's configured session
    /// (no control protocol for sessions there).
    pub(super) fn end_session(
        &mut self,
        tunnel: TunnelId,
        session: SessionId,
        rc: ResultCode,
    ) -> Result<(), l2tp_proto::endpoint::ApiError> {
        let dynamic = self
            .registry
            .get(tunnel)
            .is_some_and(|t| t.section.kind == TunnelKind::Dynamic);
        if dynamic {
            self.endpoint
                .close_session(Instant::now(), tunnel, session, rc)
        } else {
            self.session_down(tunnel, session, DownReason::Local(rc));
            Ok(())
        }
    }

    pub(super) async fn command(&mut self, cmd: Command) {
        match cmd {
            Command::AddTunnel {
                name,
                section,
                reply,
            } => {
                let r = self.add_tunnel(&name, &section).await;
                let _ = reply.send(r);
            }
            Command::CloseTunnel { name, reply } => {
                let rc = ResultCode {
                    result: result::STOPCCN_GENERAL,
                    error: Some(error_code::NO_ERROR),
                    message: Some(b"closed by operator".to_vec()),
                };
                let r = self.close_tunnel(&name, rc).await;
                let _ = reply.send(r);
            }
            Command::AddSession {
                tunnel,
                name,
                section,
                outgoing,
                reply,
            } => {
                let r = if outgoing {
                    self.add_outgoing_call(&tunnel, &name, &section).await
                } else {
                    self.add_session(&tunnel, &name, &section).await
                };
                let _ = reply.send(r);
            }
            Command::CloseSession {
                tunnel,
                session,
                reply,
            } => {
                let r = self.close_session(&tunnel, &session).await;
                let _ = reply.send(r);
            }
            Command::Status { scope, reply } => {
                // The counters come from the data plane (one dump on its thread); the loop
                // goes on meanwhile.
                let pending = match scope {
                    None => self.status_request(),
                    Some((t, s)) => self.scoped_status_request(&t, s.as_deref()),
                };
                tokio::spawn(async move {
                    let _ = reply.send(pending.finish().await);
                });
            }
            Command::Stats { reply } => {
                let _ = reply.send(self.runtime_stats());
            }
            Command::Lookup {
                tunnel,
                session,
                reply,
            } => {
                let _ = reply.send(self.lookup(&tunnel, session.as_deref()));
            }
        }
    }
}
