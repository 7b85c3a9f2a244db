//! Dynamic tunnels' lifecycle in the runtime: a tunnel a peer opened is adopted (named,
//! given its socket) the moment the engine accepts its SCCRQ; when the engine reports it up
//! its data plane is requested (and, in kernel mode, it gets a connected socket of its own);
//! when it goes down its sessions' pppd are stopped and its data plane objects and socket
//! released.

use std::net::SocketAddr;
use std::time::Instant;

use l2tp_proto::endpoint::{Event, TunnelId};
use l2tp_proto::wire::{error_code, result, Encap, ResultCode};

use super::plane::Job;
use super::registry::{Dp, TunnelEntry};
use super::{Driver, SocketMode};
use crate::config::TunnelKind;

impl Driver {
    /// Adopts a tunnel a peer opened (LNS role) under a generated name, on the socket its
    /// SCCRQ arrived on (L2TP/IP: a socket of its own, bound to its Control Connection ID
    /// before the peer's SCCCN arrives, since the kernel matches on it).
    pub(super) fn adopt(&mut self, tunnel: TunnelId, peer: SocketAddr, arrived_on: usize) {
        if self.registry.contains(tunnel) {
            return;
        }
        let (lname, section) = self
            .listener
            .as_ref()
            .map(|l| (l.name.as_str(), l.section.clone()))
            .unwrap_or_else(|| ("listener", Default::default()));
        let name = format!("{lname}.{}", tunnel.0);
        // The listener's plane (checked when it started listening).
        let user_space = self.planes.user_space(&section).unwrap_or(false);
        let listen = self.sockets.get(arrived_on);
        let encap = listen.map_or(Encap::Udp, |s| s.encap);
        let socket = match encap {
            Encap::Udp => Some(arrived_on),
            Encap::Ip => {
                let local = listen.map(|s| s.local);
                match local.map(|l| {
                    self.sockets
                        .open(l, Some(peer), encap, tunnel.0, user_space)
                }) {
                    Some(Ok(i)) => Some(i),
                    Some(Err(e)) => {
                        tracing::warn!(%peer, error = %e, "no connected socket for accepted tunnel");
                        Some(arrived_on)
                    }
                    None => None,
                }
            }
        };
        if let Some(i) = socket {
            self.sockets.add_user(i);
        }
        let mut entry = TunnelEntry::new(name, section);
        entry.socket = socket;
        entry.peer = Some(peer);
        entry.accepted = true;
        self.registry.insert_tunnel(tunnel, entry);
    }

    /// A tunnel is up: its data plane is requested (off the loop for the kernel).
    pub(super) fn tunnel_up(&mut self, ev: Event) {
        let Event::TunnelUp {
            tunnel,
            peer_tunnel_id,
            peer,
            version,
            encap,
            ..
        } = &ev
        else {
            return;
        };
        let (tunnel, peer, ptid) = (*tunnel, *peer, *peer_tunnel_id);
        if !self.registry.contains(tunnel) {
            match self.sockets.any_listening() {
                Some(i) => self.adopt(tunnel, peer, i),
                None => {
                    tracing::debug!(tunnel = tunnel.0, "TunnelUp for an unknown tunnel");
                    return;
                }
            }
        }
        self.registry.set_tunnel_up(tunnel, ptid);
        let mode = self.mode;
        let Some(entry) = self.registry.get_mut(tunnel) else {
            return;
        };
        entry.peer = Some(peer);
        entry.version = *version;
        let tname = entry.name.clone();
        let quiescent = entry.section.kind == TunnelKind::Quiescent;
        // Checked when the tunnel (or its listener) was added.
        let user_space = self.planes.user_space(&entry.section).unwrap_or(false);
        // Kernel mode: an accepted UDP tunnel leaves the socket its SCCRQ arrived on (the
        // listener, or another tunnel's connected socket when a restarted peer dials again
        // from the same address and port) for one of its own, connected to where the peer
        // speaks from: the kernel takes a managed tunnel's socket for that tunnel alone.
        let on_listener = entry
            .socket
            .and_then(|i| self.sockets.get(i))
            .is_some_and(|s| s.listening || s.users > 1);
        if mode == SocketMode::PerTunnel && on_listener && *encap == Encap::Udp {
            let old = entry.socket;
            let local = old.and_then(|i| self.sockets.get(i)).map(|s| s.local);
            match local.map(|l| self.sockets.open(l, Some(peer), Encap::Udp, 0, user_space)) {
                Some(Ok(i)) => {
                    self.sockets.add_user(i);
                    if let Some(o) = old {
                        self.sockets.release(o);
                    }
                    if let Some(e) = self.registry.get_mut(tunnel) {
                        e.socket = Some(i);
                    }
                }
                Some(Err(e)) => {
                    tracing::warn!(%peer, error = %e, "no connected socket for accepted tunnel")
                }
                None => {}
            }
        }
        let Some(entry) = self.registry.get(tunnel) else {
            return;
        };
        let mut control = None;
        if let Some(i) = entry.socket {
            if let Some(s) = self.sockets.get(i) {
                if (mode == SocketMode::PerTunnel || s.encap == Encap::Ip) && !s.listening {
                    // The peer may have answered from another port (RFC 2661 §8.1): connect
                    // now, to where it answered from. (L2TP/IP sockets were connected when
                    // opened.)
                    if s.encap == Encap::Udp {
                        let r = socket2::SockRef::from(s.sock.as_ref()).connect(&peer.into());
                        if let Err(e) = r {
                            tracing::warn!(tunnel = %tname, error = %e, "connect");
                        }
                    }
                    control = self.sockets.dup(i);
                }
            }
            // A user-space data plane sends data messages on the tunnel's own socket, shared
            // or not (the peer knows that address and port).
            if control.is_none() && user_space {
                control = self.sockets.dup(i);
            }
        }
        let spec = crate::dataplane::TunnelSpec {
            version: *version,
            encap: *encap,
            tunnel_id: tunnel.0,
            peer_tunnel_id: ptid,
            local: entry
                .socket
                .and_then(|i| self.sockets.get(i))
                .map(|s| s.local),
            peer,
            control_fd: control.as_ref().map(std::os::fd::AsRawFd::as_raw_fd),
            udp_checksum: true,
            plane: entry.section.dataplane,
        };
        if quiescent {
            self.quiescent_up(tunnel, spec, control, ev);
            return;
        }
        let token = self.plane.token();
        if let Some(e) = self.registry.get_mut(tunnel) {
            e.dp = Dp::Creating(token);
        }
        self.plane.submit(Job::CreateTunnel {
            spec,
            control,
            token,
        });
        self.report(tname, None, None, ev);
    }

    /// A tunnel is gone (StopCCN either way, peer death, shutdown, static removal): its
    /// sessions' pppd are stopped, its data plane objects and its socket released.
    pub(super) fn tunnel_down(&mut self, tunnel: TunnelId, ev: Event) {
        let Some(entry) = self.registry.remove_tunnel(tunnel) else {
            tracing::debug!(tunnel = tunnel.0, "TunnelDown for an unknown tunnel");
            return;
        };
        for (_, s) in entry.sessions() {
            if let Some(pid) = s.pppd {
                crate::pppd::terminate(pid);
            }
        }
        if entry.dp.requested() {
            // The data plane removes the tunnel's sessions with it.
            self.plane.submit(Job::DeleteTunnel(tunnel.0));
        } else {
            for (sid, s) in entry.sessions() {
                if s.dp.requested() {
                    self.plane.submit(Job::DeleteSession(tunnel.0, sid.0));
                }
            }
        }
        if let Some(i) = entry.socket {
            self.linger(tunnel, i);
        }
        if let Event::TunnelDown { reason, .. } = &ev {
            let brief = super::report::brief_tunnel(tunnel, &entry);
            let why = super::report::describe_down(reason, true);
            self.history.tunnel(Instant::now(), brief, why);
        }
        self.report(entry.name, None, None, ev);
    }

    /// A tunnel's data plane create finished.
    pub(super) fn tunnel_ready(
        &mut self,
        id: TunnelId,
        token: u64,
        result: Result<(), crate::dataplane::DataPlaneError>,
    ) {
        let Some(entry) = self.registry.get_mut(id) else {
            return; // gone meanwhile; its delete was queued after the create
        };
        if entry.dp != Dp::Creating(token) {
            return;
        }
        match result {
            Ok(()) => entry.dp = Dp::Ready(()),
            Err(e) => {
                entry.dp = Dp::None;
                self.dataplane_errors += 1;
                tracing::error!(tunnel = %entry.name, error = %e, "data plane: tunnel");
                let rc = ResultCode {
                    result: result::STOPCCN_GENERAL_ERROR,
                    error: Some(error_code::VENDOR_ERROR),
                    message: Some(format!("data plane: {e}").into_bytes()),
                };
                let _ = self.endpoint.close_tunnel(Instant::now(), id, rc);
            }
        }
    }
}
