//! Netlink framing of `l2tp` requests and replies, the socket, and the family resolution by
//! name (`CTRL_CMD_GETFAMILY`).

use std::sync::atomic::{AtomicU32, Ordering};

use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_REQUEST,
};
use netlink_packet_generic::ctrl::nlas::{GenlCtrlAttrs, McastGrpAttrs};
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::GenlMessage;
use netlink_sys::{protocols::NETLINK_GENERIC, Socket, SocketAddr as NlAddr};

use crate::error::{Error, Object, Result};
use crate::message::{L2tpMessage, L2TP_GENL_MCGROUP, L2TP_GENL_NAME};

use super::MOD_NETLINK;

/// Encode one request exactly as it goes on the wire (sequence number and port id given).
pub fn encode_request(family_id: u16, seq: u32, flags: u16, msg: L2tpMessage) -> Vec<u8> {
    let mut genl = GenlMessage::from_payload(msg);
    genl.set_resolved_family_id(family_id);
    encode(genl, seq, flags)
}

fn encode<F>(genl: GenlMessage<F>, seq: u32, flags: u16) -> Vec<u8>
where
    F: netlink_packet_generic::GenlFamily + netlink_packet_core::Emitable + std::fmt::Debug,
{
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut nl = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(genl));
    nl.finalize();
    let mut buf = vec![0u8; nl.buffer_len()];
    nl.serialize(&mut buf);
    buf
}

/// Split a receive buffer into `l2tp` messages (`NLMSG_ERROR` / `NLMSG_DONE` included).
pub fn decode_messages(buf: &[u8]) -> Result<Vec<NetlinkMessage<GenlMessage<L2tpMessage>>>> {
    decode_all(buf)
}

fn decode_all<F>(mut buf: &[u8]) -> Result<Vec<NetlinkMessage<F>>>
where
    F: netlink_packet_core::NetlinkDeserializable,
{
    let mut out = Vec::new();
    while buf.len() >= 16 {
        let len = NetlinkBuffer::new_checked(buf)
            .map_err(|e| Error::Decode(e.to_string()))?
            .length() as usize;
        if len < 16 || len > buf.len() {
            return Err(Error::Decode(format!(
                "netlink length {len} of {} bytes",
                buf.len()
            )));
        }
        out.push(
            NetlinkMessage::<F>::deserialize(&buf[..len])
                .map_err(|e| Error::Decode(e.to_string()))?,
        );
        let aligned = (len + 3) & !3;
        buf = &buf[aligned.min(buf.len())..];
    }
    Ok(out)
}

pub(super) static NEXT_SEQ: AtomicU32 = AtomicU32::new(1);

pub(super) fn nl_socket() -> std::io::Result<Socket> {
    let mut s = Socket::new(NETLINK_GENERIC)?;
    s.bind_auto()?;
    s.connect(&NlAddr::new(0, 0))?;
    Ok(s)
}

pub(super) fn recv(sock: &Socket) -> std::io::Result<Vec<u8>> {
    sock.recv_from_full().map(|(b, _)| b)
}

/// The family id and multicast group id of `l2tp`, resolved by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Family {
    /// Generic netlink family id.
    pub id: u16,
    /// Multicast group `l2tp` id, if the kernel registers it.
    pub mcast_group: Option<u32>,
}

impl Family {
    /// Extract the family id and the `l2tp` multicast group from a `CTRL_CMD_NEWFAMILY` reply.
    pub fn from_ctrl_attrs(nlas: &[GenlCtrlAttrs]) -> Family {
        let mut f = Family {
            id: 0,
            mcast_group: None,
        };
        for nla in nlas {
            match nla {
                GenlCtrlAttrs::FamilyId(id) => f.id = *id,
                GenlCtrlAttrs::McastGroups(groups) => {
                    for g in groups {
                        let name = g.iter().find_map(|a| match a {
                            McastGrpAttrs::Name(n) => Some(n.as_str()),
                            _ => None,
                        });
                        let id = g.iter().find_map(|a| match a {
                            McastGrpAttrs::Id(i) => Some(*i),
                            _ => None,
                        });
                        if name == Some(L2TP_GENL_MCGROUP) {
                            f.mcast_group = id;
                        }
                    }
                }
                _ => {}
            }
        }
        f
    }
}

/// Ask the controller for the family `l2tp`.
pub fn resolve_family(sock: &Socket) -> Result<Family> {
    let seq = NEXT_SEQ.fetch_add(1, Ordering::Relaxed);
    let mut genl = GenlMessage::from_payload(GenlCtrl {
        cmd: GenlCtrlCmd::GetFamily,
        nlas: vec![GenlCtrlAttrs::FamilyName(L2TP_GENL_NAME.to_owned())],
    });
    genl.finalize();
    let buf = encode(genl, seq, NLM_F_REQUEST | NLM_F_ACK);
    let io = |e| Error::from_io(e, "resolve", Object::Family, MOD_NETLINK);
    sock.send(&buf, 0).map_err(io)?;
    let mut family = None;
    loop {
        let data = recv(sock).map_err(io)?;
        for msg in decode_all::<GenlMessage<GenlCtrl>>(&data)? {
            if msg.header.sequence_number != seq {
                continue;
            }
            match msg.payload {
                NetlinkPayload::InnerMessage(m) => {
                    family = Some(Family::from_ctrl_attrs(&m.payload.nlas));
                }
                NetlinkPayload::Error(e) => match e.code {
                    None => {
                        return family.ok_or_else(|| Error::Decode("no family in reply".into()))
                    }
                    Some(code) => {
                        let errno = -code.get();
                        // The controller answers ENOENT when no module registered the family.
                        return Err(if errno == libc::ENOENT {
                            Error::ModuleMissing {
                                module: MOD_NETLINK,
                                what: "generic netlink family \"l2tp\" not found".into(),
                            }
                        } else {
                            Error::from_errno(errno, "resolve", Object::Family, MOD_NETLINK)
                        });
                    }
                },
                _ => {}
            }
        }
    }
}
