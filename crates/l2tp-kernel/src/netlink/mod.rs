//! A synchronous client of the generic netlink `l2tp` family: typed requests and replies.
//!
//! The family id is resolved by name (`CTRL_CMD_GETFAMILY`), never hard-coded: it differs between
//! kernels (32 on Debian 6.1, 35 on 6.12).
//!
//! Layout: requests ([`TunnelSpec`], [`SessionSpec`], [`SessionModify`]),
//! replies ([`TunnelInfo`], [`SessionInfo`]), the netlink framing and family resolution
//! ([`encode_request`], [`decode_messages`], [`resolve_family`]), the blocking client
//! [`L2tpNetlink`] (here) and the multicast subscription [`L2tpEvents`].

mod codec;
mod events;
mod info;
mod spec;

pub use codec::{decode_messages, encode_request, resolve_family, Family};
pub use events::{L2tpEvent, L2tpEvents};
pub use info::{SessionInfo, TunnelInfo};
pub use spec::{SessionModify, SessionSpec, TunnelSpec, TunnelTransport};

use codec::{nl_socket, recv, NEXT_SEQ};
use spec::push_session_opts;

/// The module that registers the genl family.
const MOD_NETLINK: &str = "l2tp_netlink";

use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::Ordering;

use netlink_packet_core::{NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_sys::Socket;

use crate::attr::L2tpAttr;
use crate::error::{Error, Object, Result};
use crate::message::{L2tpCmd, L2tpMessage};

/// A blocking connection to the kernel's `l2tp` generic netlink family.
pub struct L2tpNetlink {
    sock: Socket,
    family: Family,
}

impl std::fmt::Debug for L2tpNetlink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L2tpNetlink")
            .field("family", &self.family)
            .finish()
    }
}

impl L2tpNetlink {
    /// Open a netlink socket and resolve the family. Fails with
    /// [`Error::ModuleMissing`] naming `l2tp_netlink` when the kernel has no L2TP.
    pub fn open() -> Result<Self> {
        let sock = nl_socket()
            .map_err(|e| Error::from_io(e, "open netlink", Object::Family, MOD_NETLINK))?;
        let family = resolve_family(&sock)?;
        Ok(L2tpNetlink { sock, family })
    }

    /// The resolved family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Send one request; collect the replies until the ACK (or `NLMSG_DONE` for dumps).
    fn request(
        &self,
        cmd: L2tpCmd,
        attrs: Vec<L2tpAttr>,
        dump: bool,
        what: &'static str,
        object: Object,
        module: &'static str,
    ) -> Result<Vec<Vec<L2tpAttr>>> {
        let seq = NEXT_SEQ.fetch_add(1, Ordering::Relaxed);
        let flags = if dump {
            NLM_F_REQUEST | NLM_F_DUMP
        } else {
            NLM_F_REQUEST | NLM_F_ACK
        };
        let buf = encode_request(self.family.id, seq, flags, L2tpMessage::new(cmd, attrs));
        let io = |e| Error::from_io(e, what, object, module);
        self.sock.send(&buf, 0).map_err(io)?;
        let mut out = Vec::new();
        loop {
            let data = recv(&self.sock).map_err(io)?;
            for msg in decode_messages(&data)? {
                if msg.header.sequence_number != seq {
                    continue;
                }
                match msg.payload {
                    NetlinkPayload::InnerMessage(m) => out.push(m.payload.attrs),
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) => match e.code {
                        None => return Ok(out),
                        Some(code) => {
                            return Err(Error::from_errno(-code.get(), what, object, module))
                        }
                    },
                    _ => {}
                }
            }
        }
    }

    /// `L2TP_CMD_TUNNEL_CREATE`.
    pub fn create_tunnel(&self, spec: &TunnelSpec) -> Result<()> {
        spec.validate()?;
        self.request(
            L2tpCmd::TunnelCreate,
            spec.to_attrs(),
            false,
            "create",
            Object::Tunnel(spec.tunnel_id),
            spec.module(),
        )
        .map(drop)
    }

    /// `L2TP_CMD_TUNNEL_DELETE` (also deletes its sessions).
    pub fn delete_tunnel(&self, tunnel_id: u32) -> Result<()> {
        self.request(
            L2tpCmd::TunnelDelete,
            vec![L2tpAttr::ConnId(tunnel_id)],
            false,
            "delete",
            Object::Tunnel(tunnel_id),
            MOD_NETLINK,
        )
        .map(drop)
    }

    /// `L2TP_CMD_TUNNEL_MODIFY`: the kernel only lets the debug flags change.
    pub fn modify_tunnel(&self, tunnel_id: u32, debug: u32) -> Result<()> {
        self.request(
            L2tpCmd::TunnelModify,
            vec![L2tpAttr::ConnId(tunnel_id), L2tpAttr::Debug(debug)],
            false,
            "modify",
            Object::Tunnel(tunnel_id),
            MOD_NETLINK,
        )
        .map(drop)
    }

    /// `L2TP_CMD_TUNNEL_GET` of one tunnel.
    pub fn get_tunnel(&self, tunnel_id: u32) -> Result<TunnelInfo> {
        let object = Object::Tunnel(tunnel_id);
        let mut r = self.request(
            L2tpCmd::TunnelGet,
            vec![L2tpAttr::ConnId(tunnel_id)],
            false,
            "get",
            object,
            MOD_NETLINK,
        )?;
        r.pop()
            .map(TunnelInfo::from_attrs)
            .ok_or(Error::NotFound { object })
    }

    /// `L2TP_CMD_TUNNEL_GET` with `NLM_F_DUMP`: every tunnel of this network namespace.
    pub fn list_tunnels(&self) -> Result<Vec<TunnelInfo>> {
        let r = self.request(
            L2tpCmd::TunnelGet,
            vec![],
            true,
            "dump",
            Object::Other("tunnels"),
            MOD_NETLINK,
        )?;
        Ok(r.into_iter().map(TunnelInfo::from_attrs).collect())
    }

    /// `L2TP_CMD_SESSION_CREATE`.
    pub fn create_session(&self, spec: &SessionSpec) -> Result<()> {
        spec.validate()?;
        self.request(
            L2tpCmd::SessionCreate,
            spec.to_attrs(),
            false,
            "create",
            spec.object(),
            spec.module(),
        )
        .map(drop)
        .map_err(|e| match e {
            // The kernel answers ENODEV when the parent tunnel does not exist.
            Error::NotFound { .. } => Error::NotFound {
                object: Object::Tunnel(spec.tunnel_id),
            },
            e => e,
        })
    }

    /// `L2TP_CMD_SESSION_DELETE`.
    pub fn delete_session(&self, tunnel_id: u32, session_id: u32) -> Result<()> {
        self.request(
            L2tpCmd::SessionDelete,
            vec![L2tpAttr::ConnId(tunnel_id), L2tpAttr::SessionId(session_id)],
            false,
            "delete",
            Object::Session {
                tunnel: tunnel_id,
                session: session_id,
            },
            MOD_NETLINK,
        )
        .map(drop)
    }

    /// `L2TP_CMD_SESSION_MODIFY`.
    pub fn modify_session(&self, tunnel_id: u32, session_id: u32, m: &SessionModify) -> Result<()> {
        let mut a = vec![L2tpAttr::ConnId(tunnel_id), L2tpAttr::SessionId(session_id)];
        push_session_opts(
            &mut a,
            m.send_seq,
            m.recv_seq,
            m.lns_mode,
            m.reorder_timeout,
        );
        if let Some(v) = m.mtu {
            a.push(L2tpAttr::Mtu(v));
        }
        if let Some(v) = m.mru {
            a.push(L2tpAttr::Mru(v));
        }
        self.request(
            L2tpCmd::SessionModify,
            a,
            false,
            "modify",
            Object::Session {
                tunnel: tunnel_id,
                session: session_id,
            },
            MOD_NETLINK,
        )
        .map(drop)
    }

    /// `L2TP_CMD_SESSION_GET` of one session.
    pub fn get_session(&self, tunnel_id: u32, session_id: u32) -> Result<SessionInfo> {
        let object = Object::Session {
            tunnel: tunnel_id,
            session: session_id,
        };
        let mut r = self.request(
            L2tpCmd::SessionGet,
            vec![L2tpAttr::ConnId(tunnel_id), L2tpAttr::SessionId(session_id)],
            false,
            "get",
            object,
            MOD_NETLINK,
        )?;
        r.pop()
            .map(SessionInfo::from_attrs)
            .ok_or(Error::NotFound { object })
    }

    /// `L2TP_CMD_SESSION_GET` with `NLM_F_DUMP`: every session of this network namespace.
    pub fn list_sessions(&self) -> Result<Vec<SessionInfo>> {
        let r = self.request(
            L2tpCmd::SessionGet,
            vec![],
            true,
            "dump",
            Object::Other("sessions"),
            MOD_NETLINK,
        )?;
        Ok(r.into_iter().map(SessionInfo::from_attrs).collect())
    }

    /// Create a tunnel and one session in it; if the session fails, the tunnel is deleted again
    /// so nothing is left half-created. The session's error is returned.
    pub fn create_tunnel_with_session(
        &self,
        tunnel: &TunnelSpec,
        session: &SessionSpec,
    ) -> Result<()> {
        if session.tunnel_id != tunnel.tunnel_id {
            return Err(Error::Invalid(format!(
                "session names tunnel {} but the tunnel is {}",
                session.tunnel_id, tunnel.tunnel_id
            )));
        }
        session.validate()?;
        self.create_tunnel(tunnel)?;
        if let Err(e) = self.create_session(session) {
            // Best effort: the session error is the one worth reporting.
            let _ = self.delete_tunnel(tunnel.tunnel_id);
            return Err(e);
        }
        Ok(())
    }
}

impl AsRawFd for L2tpNetlink {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}
