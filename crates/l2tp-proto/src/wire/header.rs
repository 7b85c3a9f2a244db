//! L2TP headers: v2 control/data (RFC 2661 §3.1), v3 control over UDP and IP (RFC 3931 §3.2.1,
//! §4.1.1.1, §4.1.2.1) and v3 data (RFC 3931 §4.1, §4.6).

/// L2TP protocol version carried in the header's Ver field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// L2TPv2, RFC 2661 (Ver = 2).
    V2,
    /// L2TPv3, RFC 3931 (Ver = 3).
    V3,
}

/// How L2TP packets are carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encap {
    /// Over UDP (port 1701 by default): v2 and v3.
    Udp,
    /// Directly over IP, protocol 115 (v3 only, RFC 3931 §4.1.1). Control messages are preceded
    /// by a 4-byte zero Session ID.
    Ip,
}

/// The header of a control message (T = 1, L = 1, S = 1).
///
/// For L2TPv2 `tunnel_id` is the 16-bit Tunnel ID (widened) and `session_id` the 16-bit Session
/// ID; for L2TPv3 `tunnel_id` is the 32-bit Control Connection ID and `session_id` is 0 (the v3
/// control header has no session field). Ns and Nr are 16-bit sequence numbers (RFC 2661 §5.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ControlHeader {
    /// Protocol version (also selects the header layout).
    pub version: Version,
    /// v2 Tunnel ID (0..=65535) or v3 Control Connection ID. Host order.
    pub tunnel_id: u32,
    /// v2 Session ID; always 0 for v3.
    pub session_id: u16,
    /// Sequence number of this message.
    pub ns: u16,
    /// Next sequence number expected from the peer.
    pub nr: u16,
}

impl ControlHeader {
    /// An L2TPv2 control header (RFC 2661 §3.1): the receiver's Tunnel ID and Session ID (0 for
    /// tunnel messages), Ns and Nr.
    pub fn v2(tunnel_id: u16, session_id: u16, ns: u16, nr: u16) -> Self {
        ControlHeader {
            version: Version::V2,
            tunnel_id: u32::from(tunnel_id),
            session_id,
            ns,
            nr,
        }
    }

    /// An L2TPv3 control header (RFC 3931 §3.2.1): the receiver's Control Connection ID (0
    /// in an SCCRQ), Ns and Nr.
    pub fn v3(control_connection_id: u32, ns: u16, nr: u16) -> Self {
        ControlHeader {
            version: Version::V3,
            tunnel_id: control_connection_id,
            session_id: 0,
            ns,
            nr,
        }
    }
}

/// The header of a data message, as far as the codec can read it without session state.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DataHeader {
    /// L2TPv2 data header (T = 0, RFC 2661 §3.1).
    V2 {
        /// Tunnel ID (host order).
        tunnel_id: u16,
        /// Session ID (host order).
        session_id: u16,
        /// Ns/Nr when the S bit is set.
        sequence: Option<(u16, u16)>,
        /// Offset Size when the O bit is set (bytes of padding skipped before the payload).
        offset: Option<u16>,
        /// Whether the L bit (length present) was set.
        length_present: bool,
        /// The P (priority) bit.
        priority: bool,
    },
    /// L2TPv3 data header (RFC 3931 §4.1): Session ID, Cookie, optional default L2-Specific
    /// Sublayer (§4.6). The cookie length and sublayer presence come from session state.
    V3 {
        /// Session ID (never 0 for data).
        session_id: u32,
        /// Cookie, 0, 4 or 8 bytes.
        cookie: Vec<u8>,
        /// Default L2-Specific Sublayer, when configured: (S bit, 24-bit sequence number).
        l2_specific: Option<(bool, u32)>,
    },
}

// ---------------------------------------------------------------------------------------------
// Codec
// ---------------------------------------------------------------------------------------------

use super::{Error, Result};

/// T bit: control message.
pub const FLAG_T: u16 = 0x8000;
/// L bit: Length field present.
pub const FLAG_L: u16 = 0x4000;
/// S bit: Ns/Nr present.
pub const FLAG_S: u16 = 0x0800;
/// O bit (v2): Offset Size present.
pub const FLAG_O: u16 = 0x0200;
/// P bit (v2): priority.
pub const FLAG_P: u16 = 0x0100;
/// Mask of the Ver field in the first 16 bits.
pub const VERSION_MASK: u16 = 0x000f;

/// Control header length in bytes, from the T bit (both v2 and v3): flags, Length, Tunnel ID /
/// CCID (+ Session ID for v2), Ns, Nr.
pub const CONTROL_HEADER_LEN: usize = 12;
/// Length of the zero Session ID that precedes a v3 control message over IP.
pub const IP_SESSION_ID_LEN: usize = 4;

/// Read a big-endian u16 at `off`, or a [`Error::ShortHeader`] needing `need` bytes.
fn be16(buf: &[u8], off: usize, need: usize) -> Result<u16> {
    match buf.get(off..off + 2) {
        Some(b) => Ok(u16::from_be_bytes([b[0], b[1]])),
        None => Err(Error::ShortHeader {
            needed: need,
            have: buf.len(),
        }),
    }
}

/// Read a big-endian u32 at `off`, or a [`Error::ShortHeader`] needing `need` bytes.
fn be32(buf: &[u8], off: usize, need: usize) -> Result<u32> {
    match buf.get(off..off + 4) {
        Some(b) => Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        None => Err(Error::ShortHeader {
            needed: need,
            have: buf.len(),
        }),
    }
}

fn version_of(flags: u16) -> Result<Version> {
    match flags & VERSION_MASK {
        2 => Ok(Version::V2),
        3 => Ok(Version::V3),
        v => Err(Error::BadVersion(v as u8)),
    }
}

impl Version {
    /// The Ver field value (2 or 3).
    pub fn number(self) -> u16 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

impl ControlHeader {
    /// Parse a control header starting at `buf[base]` (`base` is 4 for v3 over IP, after the
    /// zero Session ID, else 0). Returns the header and the message end (`base` + Length).
    ///
    /// Checks T = L = S = 1 and, for v2, O = P = 0; other reserved bits are ignored. The
    /// Length field may be smaller than the buffer (trailing padding is ignored).
    ///
    /// # Errors
    /// [`Error::ShortHeader`], [`Error::BadVersion`], [`Error::BadFlags`],
    /// [`Error::LengthMismatch`] (Length > bytes available or < 12).
    pub fn parse_at(buf: &[u8], base: usize) -> Result<(ControlHeader, usize)> {
        let need = base + CONTROL_HEADER_LEN;
        let flags = be16(buf, base, need)?;
        if flags & FLAG_T == 0 {
            return Err(Error::BadFlags {
                flags,
                reason: "T bit clear: data message",
            });
        }
        let version = version_of(flags)?;
        if flags & FLAG_L == 0 {
            return Err(Error::BadFlags {
                flags,
                reason: "control message without L bit",
            });
        }
        if flags & FLAG_S == 0 {
            return Err(Error::BadFlags {
                flags,
                reason: "control message without S bit",
            });
        }
        if version == Version::V2 && flags & (FLAG_O | FLAG_P) != 0 {
            return Err(Error::BadFlags {
                flags,
                reason: "O or P bit set in a control message",
            });
        }
        if buf.len() < need {
            return Err(Error::ShortHeader {
                needed: need,
                have: buf.len(),
            });
        }
        let length = usize::from(be16(buf, base + 2, need)?);
        let actual = buf.len() - base;
        if length > actual || length < CONTROL_HEADER_LEN {
            return Err(Error::LengthMismatch {
                field: length,
                actual,
            });
        }
        let (tunnel_id, session_id) = match version {
            Version::V2 => (
                u32::from(be16(buf, base + 4, need)?),
                be16(buf, base + 6, need)?,
            ),
            Version::V3 => (be32(buf, base + 4, need)?, 0),
        };
        let ns = be16(buf, base + 8, need)?;
        let nr = be16(buf, base + 10, need)?;
        Ok((
            ControlHeader {
                version,
                tunnel_id,
                session_id,
                ns,
                nr,
            },
            base + length,
        ))
    }

    /// Append the 12-byte control header with Length = `length` (whole message from the T
    /// bit, bytes). v3 over IP callers write the zero Session ID first.
    ///
    /// # Errors
    /// [`Error::Encode`] when `length` exceeds 65535, a v2 Tunnel ID exceeds 65535 or a v3
    /// header has a non-zero `session_id`.
    pub fn emit(&self, length: usize, out: &mut Vec<u8>) -> Result<()> {
        let length =
            u16::try_from(length).map_err(|_| Error::Encode("message longer than 65535 bytes"))?;
        let flags = FLAG_T | FLAG_L | FLAG_S | self.version.number();
        out.extend_from_slice(&flags.to_be_bytes());
        out.extend_from_slice(&length.to_be_bytes());
        match self.version {
            Version::V2 => {
                let t = u16::try_from(self.tunnel_id)
                    .map_err(|_| Error::Encode("v2 Tunnel ID larger than 65535"))?;
                out.extend_from_slice(&t.to_be_bytes());
                out.extend_from_slice(&self.session_id.to_be_bytes());
            }
            Version::V3 => {
                if self.session_id != 0 {
                    return Err(Error::Encode("v3 control header has no Session ID"));
                }
                out.extend_from_slice(&self.tunnel_id.to_be_bytes());
            }
        }
        out.extend_from_slice(&self.ns.to_be_bytes());
        out.extend_from_slice(&self.nr.to_be_bytes());
        Ok(())
    }
}

/// Result of [`peek`]: what a datagram is and whom it is for, without a full parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Peek {
    /// A control message (T = 1, or v3 over IP with Session ID 0).
    Control {
        /// Header version.
        version: Version,
        /// v2 Tunnel ID (widened) or v3 Control Connection ID.
        tunnel_id: u32,
        /// v2 Session ID; 0 for v3.
        session_id: u16,
    },
    /// A data message.
    Data {
        /// Header version.
        version: Version,
        /// v2 Tunnel ID; `None` for v3 (the Session ID alone identifies the session).
        tunnel_id: Option<u16>,
        /// v2 Session ID (widened) or v3 Session ID.
        session_id: u32,
    },
}

/// Cheap classification of a received datagram for demultiplexing: reads the flags, version
/// and IDs only (no AVPs, no Length check beyond the header).
///
/// For [`Encap::Ip`] the first 4 bytes are the Session ID: 0 means a v3 control message follows,
/// anything else is a v3 data message.
///
/// # Errors
/// [`Error::ShortHeader`] when the buffer ends inside the fields read, [`Error::BadVersion`]
/// when Ver is not 2 or 3 (or not 3 over IP).
pub fn peek(buf: &[u8], encap: Encap) -> Result<Peek> {
    match encap {
        Encap::Ip => {
            let sid = be32(buf, 0, IP_SESSION_ID_LEN)?;
            if sid != 0 {
                return Ok(Peek::Data {
                    version: Version::V3,
                    tunnel_id: None,
                    session_id: sid,
                });
            }
            let need = IP_SESSION_ID_LEN + 8;
            let flags = be16(buf, IP_SESSION_ID_LEN, need)?;
            if version_of(flags)? != Version::V3 {
                return Err(Error::BadVersion((flags & VERSION_MASK) as u8));
            }
            let ccid = be32(buf, IP_SESSION_ID_LEN + 4, need)?;
            Ok(Peek::Control {
                version: Version::V3,
                tunnel_id: ccid,
                session_id: 0,
            })
        }
        Encap::Udp => {
            let flags = be16(buf, 0, 2)?;
            let version = version_of(flags)?;
            let control = flags & FLAG_T != 0;
            match (version, control) {
                (Version::V2, _) => {
                    let off = if flags & FLAG_L != 0 { 4 } else { 2 };
                    let tunnel_id = be16(buf, off, off + 4)?;
                    let session_id = be16(buf, off + 2, off + 4)?;
                    Ok(if control {
                        Peek::Control {
                            version,
                            tunnel_id: tunnel_id.into(),
                            session_id,
                        }
                    } else {
                        Peek::Data {
                            version,
                            tunnel_id: Some(tunnel_id),
                            session_id: session_id.into(),
                        }
                    })
                }
                (Version::V3, true) => {
                    let ccid = be32(buf, 4, 8)?;
                    Ok(Peek::Control {
                        version,
                        tunnel_id: ccid,
                        session_id: 0,
                    })
                }
                (Version::V3, false) => {
                    let sid = be32(buf, 4, 8)?;
                    Ok(Peek::Data {
                        version,
                        tunnel_id: None,
                        session_id: sid,
                    })
                }
            }
        }
    }
}

impl DataHeader {
    /// Parse an L2TPv2 data header (T = 0, RFC 2661 §3.1). Returns the header and the offset
    /// of the payload (after the Offset Pad when O is set).
    ///
    /// When L is set, the payload ends at the Length field (see [`DataHeader::parse_v2_payload`]);
    /// otherwise at the end of `buf`.
    ///
    /// # Errors
    /// [`Error::ShortHeader`] (including an Offset Size running past the packet),
    /// [`Error::BadFlags`] (T set), [`Error::BadVersion`] (Ver ≠ 2),
    /// [`Error::LengthMismatch`] (Length > buffer or shorter than the header).
    pub fn parse_v2(buf: &[u8]) -> Result<(DataHeader, usize)> {
        let (h, off, _) = Self::parse_v2_inner(buf)?;
        Ok((h, off))
    }

    /// As [`DataHeader::parse_v2`], but returns the payload slice, cut at the Length field when
    /// L is set (trailing padding dropped).
    ///
    /// # Errors
    /// As [`DataHeader::parse_v2`].
    pub fn parse_v2_payload(buf: &[u8]) -> Result<(DataHeader, &[u8])> {
        let (h, off, end) = Self::parse_v2_inner(buf)?;
        Ok((h, buf.get(off..end).unwrap_or(&[])))
    }

    fn parse_v2_inner(buf: &[u8]) -> Result<(DataHeader, usize, usize)> {
        let flags = be16(buf, 0, 6)?;
        if flags & FLAG_T != 0 {
            return Err(Error::BadFlags {
                flags,
                reason: "T bit set: control message",
            });
        }
        if flags & VERSION_MASK != 2 {
            return Err(Error::BadVersion((flags & VERSION_MASK) as u8));
        }
        let length_present = flags & FLAG_L != 0;
        let has_seq = flags & FLAG_S != 0;
        let has_off = flags & FLAG_O != 0;
        let need = 6
            + if length_present { 2 } else { 0 }
            + if has_seq { 4 } else { 0 }
            + if has_off { 2 } else { 0 };
        if buf.len() < need {
            return Err(Error::ShortHeader {
                needed: need,
                have: buf.len(),
            });
        }
        let mut off = 2;
        let mut end = buf.len();
        if length_present {
            let length = usize::from(be16(buf, off, need)?);
            if length > buf.len() || length < need {
                return Err(Error::LengthMismatch {
                    field: length,
                    actual: buf.len(),
                });
            }
            end = length;
            off += 2;
        }
        let tunnel_id = be16(buf, off, need)?;
        let session_id = be16(buf, off + 2, need)?;
        off += 4;
        let sequence = if has_seq {
            let s = (be16(buf, off, need)?, be16(buf, off + 2, need)?);
            off += 4;
            Some(s)
        } else {
            None
        };
        let offset = if has_off {
            let o = be16(buf, off, need)?;
            off += 2;
            let payload = off + usize::from(o);
            if payload > end {
                return Err(Error::ShortHeader {
                    needed: payload,
                    have: end,
                });
            }
            off = payload;
            Some(o)
        } else {
            None
        };
        let h = DataHeader::V2 {
            tunnel_id,
            session_id,
            sequence,
            offset,
            length_present,
            priority: flags & FLAG_P != 0,
        };
        Ok((h, off, end))
    }

    /// Parse an L2TPv3 data header (RFC 3931 §4.1.1.2 over IP, §4.1.2.1 over UDP): Session ID,
    /// `cookie_len` bytes of Cookie (0, 4 or 8, from session state), then the 4-byte default
    /// L2-Specific Sublayer (§4.6) when `l2_specific`. Returns the header and payload offset.
    ///
    /// # Errors
    /// [`Error::BadArgument`] (`cookie_len` not 0/4/8), [`Error::ShortHeader`],
    /// [`Error::BadFlags`] (UDP: T set; IP: Session ID 0, i.e. a control message),
    /// [`Error::BadVersion`] (UDP: Ver ≠ 3).
    pub fn parse_v3(
        buf: &[u8],
        encap: Encap,
        cookie_len: usize,
        l2_specific: bool,
    ) -> Result<(DataHeader, usize)> {
        if !matches!(cookie_len, 0 | 4 | 8) {
            return Err(Error::BadArgument("cookie length must be 0, 4 or 8"));
        }
        let base = match encap {
            Encap::Udp => 8,
            Encap::Ip => 4,
        };
        let need = base + cookie_len + if l2_specific { 4 } else { 0 };
        let session_id = match encap {
            Encap::Udp => {
                let flags = be16(buf, 0, need)?;
                if flags & FLAG_T != 0 {
                    return Err(Error::BadFlags {
                        flags,
                        reason: "T bit set: control message",
                    });
                }
                if flags & VERSION_MASK != 3 {
                    return Err(Error::BadVersion((flags & VERSION_MASK) as u8));
                }
                be32(buf, 4, need)?
            }
            Encap::Ip => {
                let sid = be32(buf, 0, need)?;
                if sid == 0 {
                    return Err(Error::BadFlags {
                        flags: 0,
                        reason: "Session ID 0 over IP: control message",
                    });
                }
                sid
            }
        };
        if buf.len() < need {
            return Err(Error::ShortHeader {
                needed: need,
                have: buf.len(),
            });
        }
        let cookie = buf[base..base + cookie_len].to_vec();
        let l2 = if l2_specific {
            let w = be32(buf, base + cookie_len, need)?;
            Some((w & 0x4000_0000 != 0, w & 0x00ff_ffff))
        } else {
            None
        };
        Ok((
            DataHeader::V3 {
                session_id,
                cookie,
                l2_specific: l2,
            },
            need,
        ))
    }

    /// Append the header for a payload of `payload_len` bytes. For v2 the Length field (when
    /// `length_present`) covers header, Offset Pad (zeros) and payload. `encap` must be
    /// [`Encap::Udp`] for v2; v3 over UDP writes the 4-byte flags/reserved word first.
    ///
    /// # Errors
    /// [`Error::Encode`] when the v2 Length would exceed 65535, v2 is asked over IP, the v3
    /// cookie is not 0/4/8 bytes, the v3 Session ID is 0 or the sequence number exceeds 24 bits.
    pub fn emit(&self, encap: Encap, payload_len: usize, out: &mut Vec<u8>) -> Result<()> {
        match self {
            DataHeader::V2 {
                tunnel_id,
                session_id,
                sequence,
                offset,
                length_present,
                priority,
            } => {
                if encap != Encap::Udp {
                    return Err(Error::Encode("L2TPv2 runs over UDP only"));
                }
                let mut flags = 2u16;
                let mut hlen = 6;
                if *length_present {
                    flags |= FLAG_L;
                    hlen += 2;
                }
                if sequence.is_some() {
                    flags |= FLAG_S;
                    hlen += 4;
                }
                if offset.is_some() {
                    flags |= FLAG_O;
                    hlen += 2;
                }
                if *priority {
                    flags |= FLAG_P;
                }
                let pad = usize::from(offset.unwrap_or(0));
                let total = hlen + pad + payload_len;
                let length = u16::try_from(total)
                    .map_err(|_| Error::Encode("data message longer than 65535 bytes"));
                out.extend_from_slice(&flags.to_be_bytes());
                if *length_present {
                    out.extend_from_slice(&length?.to_be_bytes());
                }
                out.extend_from_slice(&tunnel_id.to_be_bytes());
                out.extend_from_slice(&session_id.to_be_bytes());
                if let Some((ns, nr)) = sequence {
                    out.extend_from_slice(&ns.to_be_bytes());
                    out.extend_from_slice(&nr.to_be_bytes());
                }
                if let Some(o) = offset {
                    out.extend_from_slice(&o.to_be_bytes());
                    out.resize(out.len() + pad, 0);
                }
                Ok(())
            }
            DataHeader::V3 {
                session_id,
                cookie,
                l2_specific,
            } => {
                if !matches!(cookie.len(), 0 | 4 | 8) {
                    return Err(Error::Encode("cookie must be 0, 4 or 8 bytes"));
                }
                if *session_id == 0 {
                    return Err(Error::Encode("data Session ID 0 is reserved"));
                }
                if let Some((_, seq)) = l2_specific {
                    if *seq > 0x00ff_ffff {
                        return Err(Error::Encode(
                            "L2-Specific Sublayer sequence exceeds 24 bits",
                        ));
                    }
                }
                if encap == Encap::Udp {
                    out.extend_from_slice(&[0, 3, 0, 0]);
                }
                out.extend_from_slice(&session_id.to_be_bytes());
                out.extend_from_slice(cookie);
                if let Some((s, seq)) = l2_specific {
                    let w = seq | if *s { 0x4000_0000 } else { 0 };
                    out.extend_from_slice(&w.to_be_bytes());
                }
                Ok(())
            }
        }
    }
}
