//! Subscription to the `l2tp` multicast group: tunnel and session notifications.

use std::os::fd::{AsFd, AsRawFd, RawFd};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::time::Duration;

use netlink_packet_core::NetlinkPayload;
use netlink_sys::Socket;

use crate::attr::L2tpAttr;
use crate::error::{Error, Object, Result};
use crate::message::L2tpCmd;

use super::codec::{decode_messages, nl_socket, recv, resolve_family};
use super::MOD_NETLINK;

/// One notification of the `l2tp` multicast group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L2tpEvent {
    /// The command that happened (TUNNEL_CREATE, SESSION_DELETE, ...).
    pub cmd: L2tpCmd,
    /// Its attributes.
    pub attrs: Vec<L2tpAttr>,
}

impl L2tpEvent {
    /// The tunnel id, if present.
    pub fn tunnel_id(&self) -> Option<u32> {
        self.attrs.iter().find_map(|a| match a {
            L2tpAttr::ConnId(v) => Some(*v),
            _ => None,
        })
    }

    /// The session id, if present.
    pub fn session_id(&self) -> Option<u32> {
        self.attrs.iter().find_map(|a| match a {
            L2tpAttr::SessionId(v) => Some(*v),
            _ => None,
        })
    }
}

/// A subscription to the `l2tp` multicast group: tunnel and session create/delete/modify
/// notifications of this network namespace.
pub struct L2tpEvents {
    sock: Socket,
    pending: std::collections::VecDeque<L2tpEvent>,
}

impl L2tpEvents {
    /// Subscribe.
    pub fn subscribe() -> Result<Self> {
        let io = |e| Error::from_io(e, "subscribe", Object::Family, MOD_NETLINK);
        let sock = nl_socket().map_err(io)?;
        let family = resolve_family(&sock)?;
        let group = family
            .mcast_group
            .ok_or_else(|| Error::Decode("family l2tp has no multicast group \"l2tp\"".into()))?;
        sock.add_membership(group).map_err(io)?;
        Ok(L2tpEvents {
            sock,
            pending: Default::default(),
        })
    }

    /// Wait for the next event, at most `timeout` (`None`: forever). `Ok(None)` on timeout.
    pub fn recv(&mut self, timeout: Option<Duration>) -> Result<Option<L2tpEvent>> {
        if let Some(ev) = self.pending.pop_front() {
            return Ok(Some(ev));
        }
        let io = |e| Error::from_io(e, "receive events", Object::Family, MOD_NETLINK);
        // A timeout past poll(2)'s i32 milliseconds waits as long as poll can.
        let timeout = match timeout {
            None => PollTimeout::NONE,
            Some(t) => PollTimeout::try_from(t).unwrap_or(PollTimeout::MAX),
        };
        let mut fds = [PollFd::new(self.sock.as_fd(), PollFlags::POLLIN)];
        let n = poll(&mut fds, timeout).map_err(|e| io(std::io::Error::from(e)))?;
        if n == 0 {
            return Ok(None);
        }
        let data = recv(&self.sock).map_err(io)?;
        for msg in decode_messages(&data)? {
            if let NetlinkPayload::InnerMessage(m) = msg.payload {
                self.pending.push_back(L2tpEvent {
                    cmd: m.payload.cmd,
                    attrs: m.payload.attrs,
                });
            }
        }
        Ok(self.pending.pop_front())
    }
}

impl AsRawFd for L2tpEvents {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}
