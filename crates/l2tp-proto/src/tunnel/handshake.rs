//! Control connection set-up and tear-down: SCCRQ / SCCRP / SCCCN (with the v2 Challenge
//! exchange) and StopCCN.

use super::*;

/// What the peer told us in SCCRQ / SCCRP.
struct PeerParams {
    tunnel_id: u32,
    host_name: Vec<u8>,
    window: u16,
    challenge: Option<Vec<u8>>,
    challenge_response: Option<[u8; 16]>,
    nonce: Option<Vec<u8>>,
    digest_len: Option<usize>,
}

pub(super) fn missing(what: &str) -> ResultCode {
    rc(
        result::STOPCCN_GENERAL_ERROR,
        error_code::BAD_VALUE,
        &format!("missing or bad {what} AVP"),
    )
}

/// Checks the AVPs RFC 2661 §6.1/§6.2 (v2) or RFC 3931 §6.1/§6.2 (v3) require in SCCRQ and
/// SCCRP. Optional ones (Bearer Capabilities, Firmware Revision, Vendor Name, Receive Window
/// Size) may be missing.
fn validate_sccrx(version: Version, msg: &ControlMessage) -> Result<PeerParams, ResultCode> {
    let host_name = |msg: &ControlMessage| {
        msg.host_name()
            .map(<[u8]>::to_vec)
            .ok_or_else(|| missing("Host Name"))
    };
    let (tunnel_id, host_name) = match version {
        Version::V2 => {
            match msg.protocol_version() {
                Some((1, _)) => {}
                Some(_) => {
                    return Err(rc(
                        result::STOPCCN_BAD_VERSION,
                        error_code::NO_ERROR,
                        "unsupported protocol version",
                    ))
                }
                None => return Err(missing("Protocol Version")),
            }
            if msg.framing_capabilities().is_none() {
                return Err(missing("Framing Capabilities"));
            }
            let h = host_name(msg)?;
            let t = msg
                .assigned_tunnel_id_v2()
                .ok_or_else(|| missing("Assigned Tunnel ID"))?;
            (t, h)
        }
        Version::V3 => {
            let h = host_name(msg)?;
            msg.router_id().ok_or_else(|| missing("Router ID"))?;
            let t = msg
                .assigned_control_connection_id()
                .ok_or_else(|| missing("Assigned Control Connection ID"))?;
            msg.pseudowire_capabilities()
                .ok_or_else(|| missing("Pseudowire Capabilities List"))?;
            (t, h)
        }
    };
    let window = msg.receive_window_size().unwrap_or(4);
    Ok(PeerParams {
        tunnel_id,
        host_name,
        window,
        challenge: msg.challenge().map(<[u8]>::to_vec),
        challenge_response: msg.challenge_response(),
        nonce: nonce_of(msg),
        digest_len: msg.message_digest().map(<[u8]>::len),
    })
}

/// The message type as the one byte the Challenge Response hash covers (RFC 2661 §4.2).
fn type_byte(t: MessageType) -> u8 {
    t.to_u16() as u8
}

impl Tunnel {
    /// Learns the peer's parameters from SCCRQ/SCCRP; on error starts closing.
    fn learn_peer(&mut self, ctx: &mut Ctx, msg: &ControlMessage) -> Option<PeerParams> {
        match validate_sccrx(self.cfg.version, msg) {
            Ok(p) => {
                self.peer_tunnel_id = p.tunnel_id;
                self.transport.set_peer_tunnel_id(self.peer_tunnel_id);
                self.transport.set_peer_window(ctx.now, p.window);
                self.peer_host_name = p.host_name.clone();
                Some(p)
            }
            Err(r) => {
                if let Some(t) = assigned_tunnel_id(msg) {
                    self.peer_tunnel_id = t;
                    self.transport.set_peer_tunnel_id(t);
                }
                self.start_close(ctx, r.clone(), DownReason::Protocol(r));
                None
            }
        }
    }

    fn not_authorized(&mut self, ctx: &mut Ctx, why: &str) {
        let r = rc(result::STOPCCN_NOT_AUTHORIZED, error_code::NO_ERROR, why);
        self.start_close(ctx, r.clone(), DownReason::Protocol(r));
    }

    /// Checks the peer's answer to our challenge, which came in a message of type `carrier`
    /// (RFC 2661 §4.2: the type is part of the hash).
    fn check_response(&self, carrier: MessageType, response: Option<[u8; 16]>) -> bool {
        match (&self.our_challenge, &self.cfg.secret) {
            (Some(c), Some(secret)) => response.is_some_and(|r| {
                crate::auth::verify_challenge_response(type_byte(carrier), secret, c, &r)
            }),
            _ => true,
        }
    }

    /// Our answer to the peer's challenge, if it sent one; `Err` when we have no secret.
    fn answer(
        &self,
        carrier: MessageType,
        challenge: Option<&Vec<u8>>,
    ) -> Result<Option<[u8; 16]>, ()> {
        match (challenge, &self.cfg.secret) {
            (None, _) => Ok(None),
            (Some(c), Some(secret)) => Ok(Some(challenge_response(type_byte(carrier), secret, c))),
            (Some(_), None) => Err(()),
        }
    }

    pub(super) fn on_sccrp(&mut self, ctx: &mut Ctx, msg: &ControlMessage) {
        if self.role != Role::Initiator || self.state != TunnelState::WaitCtlReply {
            return;
        }
        let Some(p) = self.learn_peer(ctx, msg) else {
            return;
        };
        if self.cfg.version == Version::V3 {
            if self.digest_alg.is_some() {
                // Verified by the endpoint with this nonce before the message got here.
                self.peer_nonce = p.nonce.clone();
                self.update_auth();
            } else if p.nonce.is_some() {
                return self.not_authorized(ctx, "peer wants message authentication, we do not");
            }
        }
        if !self.check_response(MessageType::Sccrp, p.challenge_response) {
            return self.not_authorized(ctx, "bad challenge response");
        }
        let Ok(resp) = self.answer(MessageType::Scccn, p.challenge.as_ref()) else {
            return self.not_authorized(ctx, "challenged but no secret configured");
        };
        let mut avps = vec![Avp::m(AvpValue::MessageType(MessageType::Scccn))];
        if let Some(r) = resp {
            avps.push(Avp::m(AvpValue::ChallengeResponse(r)));
        }
        let scccn = ControlMessage {
            header: self.header(0),
            avps,
        };
        self.transport.send(ctx.now, scccn, Tag::Scccn);
        self.state = TunnelState::WaitCtlConnAck;
        // Sessions opened before the peer's tunnel ID was known: ICRQ now, like xl2tpd.
        // Once per tunnel, over the sessions opened before now (all waiting but those closed).
        let mut waiting: Vec<u32> = self
            .sessions
            .scan()
            .filter(|(_, s)| s.state == SessionState::WaitTunnel)
            .map(|(id, _)| id)
            .collect();
        waiting.sort_unstable();
        for sid in waiting {
            if let Some(s) = self.sessions.get(&sid) {
                let m = self.request_msg(s);
                self.transport.send(ctx.now, m, Tag::None);
            }
            if let Some(s) = self.sessions.get_mut(&sid) {
                s.state = SessionState::WaitReply;
            }
        }
    }

    pub(super) fn on_sccrq(&mut self, ctx: &mut Ctx, msg: &ControlMessage) {
        if self.role != Role::Responder || self.state != TunnelState::Listen {
            return;
        }
        let Some(p) = self.learn_peer(ctx, msg) else {
            return;
        };
        if self.cfg.version == Version::V3 {
            match (&p.nonce, self.digest_key) {
                (Some(n), Some(_)) => {
                    // The peer asks for authentication: answer with it (RFC 3931 §4.3).
                    self.peer_nonce = Some(n.clone());
                    if self.digest_alg.is_none() {
                        self.digest_alg = Some(
                            p.digest_len
                                .and_then(DigestAlg::from_len)
                                .unwrap_or(DigestAlg::HmacMd5),
                        );
                    }
                    if self.local_nonce.is_none() {
                        self.local_nonce = Some(Self::random_bytes(ctx, 16));
                    }
                    self.update_auth();
                }
                (Some(_), None) => {
                    return self.not_authorized(ctx, "message authentication without a secret")
                }
                (None, _) if self.digest_alg.is_some() => {
                    // Required by us, not offered: the endpoint drops such SCCRQs already.
                    return self.not_authorized(ctx, "message authentication required");
                }
                (None, _) => {}
            }
        }
        let Ok(resp) = self.answer(MessageType::Sccrp, p.challenge.as_ref()) else {
            return self.not_authorized(ctx, "challenged but no secret configured");
        };
        let sccrp = self.sccrx(MessageType::Sccrp, resp);
        self.transport.send(ctx.now, sccrp, Tag::None);
        self.state = TunnelState::WaitCtlConn;
    }

    pub(super) fn on_scccn(&mut self, ctx: &mut Ctx, msg: &ControlMessage) {
        if self.role != Role::Responder || self.state != TunnelState::WaitCtlConn {
            return;
        }
        let resp = msg.challenge_response();
        if !self.check_response(MessageType::Scccn, resp) {
            return self.not_authorized(ctx, "bad challenge response");
        }
        self.established(ctx);
    }

    pub(super) fn on_stopccn(&mut self, ctx: &mut Ctx, msg: &ControlMessage) {
        let peer_rc = result_code_of(msg);
        if self.peer_tunnel_id == 0 {
            // Refused before SCCRP: address the ack to the tunnel the peer names.
            if let Some(t) = assigned_tunnel_id(msg) {
                self.peer_tunnel_id = t;
                self.transport.set_peer_tunnel_id(t);
            }
        }
        let reason = match self.state {
            TunnelState::Closing => self
                .close_reason
                .take()
                .unwrap_or(DownReason::Peer(peer_rc)),
            _ => DownReason::Peer(peer_rc),
        };
        self.all_sessions_down(ctx, DownReason::TunnelDown);
        self.tunnel_down(ctx, reason);
        // Keep the record to re-acknowledge retransmissions of the StopCCN (RFC 2661 §5.7).
        self.linger(ctx.now);
    }

    /// Becomes a closed record (already reported down): sends nothing but acknowledgements
    /// until the StopCCN hold time has passed, then is removed.
    pub(super) fn linger(&mut self, now: Instant) {
        self.transport.stop();
        self.state = TunnelState::Closed;
        self.closed_until = Some(now + self.env.closed_hold);
    }
}
