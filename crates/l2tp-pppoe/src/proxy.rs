//! Proxy LCP and proxy authentication data a LAC forwards to the LNS in the ICCN
//! (RFC 2661 §4.4.5, AVPs 26–33), gathered from the PPP frames of a PPPoE session when the LAC
//! itself runs LCP and authentication with the client before switching the call into L2TP.
//!
//! Feed every Session-stage PPP frame (protocol number + information, as
//! [`crate::codec::SessionFrame::ppp`]) in both directions to [`ProxyLcp::observe`]; read the
//! fields when the call is placed. Frames that are not LCP Configure-Request, PAP
//! Authenticate-Request or CHAP Challenge/Response are ignored, as are truncated ones.
//! Memory per session: at most one copy of each recorded field, each bounded by the frame.

/// PPP protocol number of LCP.
pub const PPP_LCP: u16 = 0xc021;
/// PPP protocol number of PAP.
pub const PPP_PAP: u16 = 0xc023;
/// PPP protocol number of CHAP.
pub const PPP_CHAP: u16 = 0xc223;

/// Proxy Authen Type values (RFC 2661 §4.4.5, AVP 29).
pub mod authen_type {
    /// No authentication.
    pub const NONE: u16 = 4;
    /// PPP CHAP (MD5).
    pub const CHAP: u16 = 2;
    /// PPP PAP.
    pub const PAP: u16 = 3;
    /// Microsoft CHAP version 1.
    pub const MSCHAP_V1: u16 = 5;
}

/// Which way a PPP frame travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received from the PPPoE client.
    FromClient,
    /// Sent by the LAC to the client.
    ToClient,
}

/// What the LAC has seen of LCP and authentication, in the shape of the proxy AVPs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyLcp {
    /// AVP 26: options of the first LCP Configure-Request received from the client.
    pub initial_received_confreq: Option<Vec<u8>>,
    /// AVP 27: options of the last LCP Configure-Request sent to the client.
    pub last_sent_confreq: Option<Vec<u8>>,
    /// AVP 28: options of the last LCP Configure-Request received from the client.
    pub last_received_confreq: Option<Vec<u8>>,
    /// AVP 29: [`authen_type`] value, once a PAP request or CHAP response was seen. `None` also
    /// for MS-CHAPv2 (0x81), which RFC 2661 has no value for.
    pub authen_type: Option<u16>,
    /// AVP 30: the name the client authenticated with (PAP Peer-ID, CHAP Name).
    pub authen_name: Option<Vec<u8>>,
    /// AVP 31: the CHAP challenge value sent to the client.
    pub authen_challenge: Option<Vec<u8>>,
    /// AVP 32: Identifier of the PAP request / CHAP response.
    pub authen_id: Option<u8>,
    /// AVP 33: PAP password or CHAP response value.
    pub authen_response: Option<Vec<u8>>,
}

/// The Code, Identifier and data of an LCP-style packet, bounded by its own Length field.
fn packet(info: &[u8]) -> Option<(u8, u8, &[u8])> {
    let [code, id, l0, l1, ..] = *info else {
        return None;
    };
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    let data = info.get(4..len)?;
    Some((code, id, data))
}

/// A one-byte length then that many bytes; returns (value, rest).
fn length_prefixed(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&n, rest) = data.split_first()?;
    let n = usize::from(n);
    Some((rest.get(..n)?, rest.get(n..)?))
}

/// The CHAP algorithm in an LCP Authentication-Protocol option (type 3) of `options`, if any.
fn chap_algorithm(options: &[u8]) -> Option<u8> {
    let mut rest = options;
    while let [_, len, ..] = *rest {
        let len = usize::from(len);
        if len < 2 {
            return None;
        }
        let opt = rest.get(..len)?;
        if let [3, 5, 0xc2, 0x23, alg] = *opt {
            return Some(alg);
        }
        rest = rest.get(len..)?;
    }
    None
}

impl ProxyLcp {
    /// Record what `ppp` (2-byte protocol number, network order, then the information field)
    /// carries, if it is one of the frames the proxy AVPs describe.
    pub fn observe(&mut self, dir: Direction, ppp: &[u8]) {
        let Some((proto, info)) = ppp.split_first_chunk::<2>() else {
            return;
        };
        let Some((code, id, data)) = packet(info) else {
            return;
        };
        match (u16::from_be_bytes(*proto), code, dir) {
            (PPP_LCP, 1, Direction::FromClient) => {
                if self.initial_received_confreq.is_none() {
                    self.initial_received_confreq = Some(data.to_vec());
                }
                self.last_received_confreq = Some(data.to_vec());
            }
            (PPP_LCP, 1, Direction::ToClient) => self.last_sent_confreq = Some(data.to_vec()),
            (PPP_PAP, 1, Direction::FromClient) => {
                let Some((name, rest)) = length_prefixed(data) else {
                    return;
                };
                let Some((password, _)) = length_prefixed(rest) else {
                    return;
                };
                self.authen_type = Some(authen_type::PAP);
                self.authen_name = Some(name.to_vec());
                self.authen_response = Some(password.to_vec());
                self.authen_id = Some(id);
                self.authen_challenge = None;
            }
            (PPP_CHAP, 1, Direction::ToClient) => {
                if let Some((challenge, _name)) = length_prefixed(data) {
                    self.authen_challenge = Some(challenge.to_vec());
                }
            }
            (PPP_CHAP, 2, Direction::FromClient) => {
                let Some((response, name)) = length_prefixed(data) else {
                    return;
                };
                let alg = self.last_sent_confreq.as_deref().and_then(chap_algorithm);
                self.authen_type = match alg {
                    None | Some(5) => Some(authen_type::CHAP),
                    Some(0x80) => Some(authen_type::MSCHAP_V1),
                    Some(_) => None,
                };
                self.authen_name = Some(name.to_vec());
                self.authen_response = Some(response.to_vec());
                self.authen_id = Some(id);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(proto: u16, code: u8, id: u8, data: &[u8]) -> Vec<u8> {
        let mut f = proto.to_be_bytes().to_vec();
        f.extend_from_slice(&[code, id]);
        f.extend_from_slice(&(4 + data.len() as u16).to_be_bytes());
        f.extend_from_slice(data);
        f
    }

    #[test]
    fn lcp_confreqs_first_and_last_recorded() {
        let mut p = ProxyLcp::default();
        let mru = [1, 4, 0x05, 0xd4];
        let magic = [5, 6, 1, 2, 3, 4];
        p.observe(Direction::FromClient, &frame(PPP_LCP, 1, 1, &mru));
        p.observe(Direction::FromClient, &frame(PPP_LCP, 1, 2, &magic));
        p.observe(
            Direction::ToClient,
            &frame(PPP_LCP, 1, 7, &[3, 4, 0xc0, 0x23]),
        );
        // A Configure-Ack (code 2) changes nothing.
        p.observe(Direction::FromClient, &frame(PPP_LCP, 2, 7, &[1, 2]));
        assert_eq!(p.initial_received_confreq.as_deref(), Some(&mru[..]));
        assert_eq!(p.last_received_confreq.as_deref(), Some(&magic[..]));
        assert_eq!(
            p.last_sent_confreq.as_deref(),
            Some(&[3, 4, 0xc0, 0x23][..])
        );
    }

    #[test]
    fn pap_request_gives_type_3_name_password_id() {
        let mut p = ProxyLcp::default();
        p.observe(
            Direction::FromClient,
            &frame(PPP_PAP, 1, 9, b"\x04user\x06secret"),
        );
        assert_eq!(p.authen_type, Some(authen_type::PAP));
        assert_eq!(p.authen_name.as_deref(), Some(&b"user"[..]));
        assert_eq!(p.authen_response.as_deref(), Some(&b"secret"[..]));
        assert_eq!(p.authen_id, Some(9));
    }

    #[test]
    fn chap_challenge_and_response_recorded_md5_and_mschap_v1() {
        let mut p = ProxyLcp::default();
        p.observe(
            Direction::ToClient,
            &frame(PPP_LCP, 1, 1, &[3, 5, 0xc2, 0x23, 5]),
        );
        p.observe(Direction::ToClient, &frame(PPP_CHAP, 1, 3, b"\x04abcdlac"));
        p.observe(Direction::FromClient, &frame(PPP_CHAP, 2, 3, b"\x02xybob"));
        assert_eq!(p.authen_type, Some(authen_type::CHAP));
        assert_eq!(p.authen_challenge.as_deref(), Some(&b"abcd"[..]));
        assert_eq!(p.authen_response.as_deref(), Some(&b"xy"[..]));
        assert_eq!(p.authen_name.as_deref(), Some(&b"bob"[..]));
        assert_eq!(p.authen_id, Some(3));
        p.observe(
            Direction::ToClient,
            &frame(PPP_LCP, 1, 2, &[3, 5, 0xc2, 0x23, 0x80]),
        );
        p.observe(Direction::FromClient, &frame(PPP_CHAP, 2, 4, b"\x02xybob"));
        assert_eq!(p.authen_type, Some(authen_type::MSCHAP_V1));
        p.observe(
            Direction::ToClient,
            &frame(PPP_LCP, 1, 3, &[3, 5, 0xc2, 0x23, 0x81]),
        );
        p.observe(Direction::FromClient, &frame(PPP_CHAP, 2, 5, b"\x02xybob"));
        assert_eq!(
            p.authen_type, None,
            "MS-CHAPv2 has no RFC 2661 Proxy Authen Type"
        );
    }

    #[test]
    fn truncated_frames_ignored() {
        let mut p = ProxyLcp::default();
        let mut f = frame(PPP_PAP, 1, 9, b"\x04user\x06secret");
        f[5] = 40; // Length beyond the frame
        p.observe(Direction::FromClient, &f);
        p.observe(Direction::FromClient, &frame(PPP_PAP, 1, 9, b"\x09user"));
        p.observe(Direction::FromClient, &[0xc0]);
        assert_eq!(p, ProxyLcp::default());
    }
}
