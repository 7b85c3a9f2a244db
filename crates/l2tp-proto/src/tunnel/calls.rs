//! Call handling: the session messages of a tunnel (ICRQ/ICRP/ICCN, OCRQ/OCRP/OCCN, CDN) and
//! the session API (open, close, Set-Link-Info), on top of the session state machine in
//! [`crate::session`].

use super::*;

/// v3 session parameters a peer asks for that we cannot honour: a cookie that is not 0, 4 or 8
/// bytes (RFC 3931 §5.4.4 Assigned Cookie: CDN 2 / error 3), or data sequencing without an
/// L2-Specific Sublayer to carry the sequence numbers (§5.4.4 Data Sequencing: CDN 15).
fn check_peer_session(msg: &ControlMessage) -> Option<ResultCode> {
    let mut peer = PeerSession::default();
    peer.learn(msg);
    if !matches!(peer.cookie.len(), 0 | 4 | 8) {
        return Some(rc(
            result::CDN_GENERAL_ERROR,
            error_code::BAD_VALUE,
            "Assigned Cookie must be 4 or 8 bytes",
        ));
    }
    if msg.header.version == Version::V3 && peer.data_sequencing != 0 && peer.l2_specific == 0 {
        return Some(rc(result::CDN_SEQ_WITHOUT_L2SPEC, error_code::NO_ERROR, ""));
    }
    None
}

impl Tunnel {
    /// Allocates (or checks) a local session ID; v3 IDs are reserved endpoint-wide. A random
    /// ID is found in O(1) expected steps; see [`table::alloc_id`] for a nearly full space.
    fn new_session_id(&mut self, ctx: &mut Ctx, requested: Option<u32>) -> Result<u32, ApiError> {
        let v3 = self.cfg.version == Version::V3;
        let taken = |id: u32, sessions: &IdMap<Session>, set: &HashSet<u32>| {
            if v3 {
                set.contains(&id)
            } else {
                sessions.contains_key(&id)
            }
        };
        let id = match requested {
            Some(0) => return Err(ApiError::InvalidConfig("session ID must be non-zero")),
            Some(id) if !v3 && id > 0xffff => {
                return Err(ApiError::InvalidConfig("v2 session ID must be 1..=65535"))
            }
            Some(id) if taken(id, &self.sessions, ctx.v3_sessions) => {
                return Err(ApiError::IdInUse(id))
            }
            Some(id) => id,
            None => {
                let max = if v3 { u32::MAX } else { 0xffff };
                let (sessions, set) = (&self.sessions, &*ctx.v3_sessions);
                table::alloc_id(&mut *ctx.rng, max, sessions.steps(), |id| {
                    taken(id, sessions, set)
                })
                .ok_or(ApiError::InvalidConfig("no free session ID"))?
            }
        };
        if v3 {
            ctx.v3_sessions.insert(id);
        }
        Ok(id)
    }

    /// API: open a session as the call's originator: an incoming call (ICRQ) or, with
    /// `outgoing_call`, an outgoing call (OCRQ). Sent now, or once the tunnel has the peer's
    /// tunnel ID.
    pub fn open_session(
        &mut self,
        ctx: &mut Ctx,
        cfg: SessionConfig,
        outgoing_call: bool,
    ) -> Result<u32, ApiError> {
        if matches!(self.state, TunnelState::Closing | TunnelState::Closed) || self.finished {
            return Err(ApiError::NotEstablished(TunnelId(self.id)));
        }
        if self.quiescent {
            return Err(ApiError::InvalidConfig(
                "a quiescent tunnel carries no sessions",
            ));
        }
        if self.cfg.version == Version::V2 && cfg.pseudowire != pw_type::PPP {
            return Err(ApiError::InvalidConfig("L2TPv2 sessions carry PPP only"));
        }
        if !matches!(cfg.cookie.len(), 0 | 4 | 8) {
            return Err(ApiError::InvalidConfig("cookie must be 0, 4 or 8 bytes"));
        }
        if cfg.data_sequencing != 0 && cfg.l2_specific == 0 && self.cfg.version == Version::V3 {
            return Err(ApiError::InvalidConfig(
                "data sequencing needs an L2-Specific Sublayer (RFC 3931 §5.4.4)",
            ));
        }
        let id = self.new_session_id(ctx, cfg.local_session_id)?;
        let serial = self.next_call_serial;
        self.next_call_serial = self.next_call_serial.wrapping_add(1);
        let mut s = Session {
            id,
            peer_id: 0,
            cfg,
            state: SessionState::WaitTunnel,
            call_serial: serial,
            peer_initiated: false,
            outgoing_call,
            peer: PeerSession::default(),
            deadline: None,
        };
        if matches!(
            self.state,
            TunnelState::WaitCtlConnAck | TunnelState::Established
        ) {
            let m = self.request_msg(&s);
            self.transport.send(ctx.now, m, Tag::None);
            s.state = SessionState::WaitReply;
        }
        self.insert_session(s);
        self.arm_session_deadline(ctx.now, id);
        self.flush(ctx);
        Ok(id)
    }

    pub(super) fn request_msg(&self, s: &Session) -> ControlMessage {
        if s.outgoing_call {
            session::ocrq(self.cfg.version, self.header(0), s)
        } else {
            session::icrq(self.cfg.version, self.header(0), s)
        }
    }

    /// API: close a session with a CDN.
    pub fn close_session(
        &mut self,
        ctx: &mut Ctx,
        sid: u32,
        rc: ResultCode,
    ) -> Result<(), ApiError> {
        if !self.sessions.contains_key(&sid) {
            return Err(ApiError::NoSuchSession(TunnelId(self.id), SessionId(sid)));
        }
        self.close_session_internal(ctx, sid, rc.clone(), DownReason::Local(rc));
        self.flush(ctx);
        Ok(())
    }

    /// API: send WEN (`errors`) or SLI (`accm` / `circuit_status`) for an established session.
    pub fn send_session_info(
        &mut self,
        ctx: &mut Ctx,
        sid: u32,
        errors: Option<CallErrors>,
        accm: Option<(u32, u32)>,
        circuit_status: Option<u16>,
    ) -> Result<(), ApiError> {
        let Some(s) = self.sessions.get(&sid) else {
            return Err(ApiError::NoSuchSession(TunnelId(self.id), SessionId(sid)));
        };
        if s.state != SessionState::Established {
            return Err(ApiError::NotEstablished(TunnelId(self.id)));
        }
        let h = self.header(s.peer_id);
        let m = match errors {
            Some(e) => session::wen(self.cfg.version, h, s, e),
            None => session::sli(self.cfg.version, h, s, accm, circuit_status),
        };
        self.transport.send(ctx.now, m, Tag::None);
        self.flush(ctx);
        Ok(())
    }

    fn close_session_internal(
        &mut self,
        ctx: &mut Ctx,
        sid: u32,
        rc: ResultCode,
        reason: DownReason,
    ) {
        let Some(s) = self.remove_session(ctx, sid) else {
            return;
        };
        // A session still waiting for the tunnel never reached the peer: nothing to send.
        if s.state != SessionState::WaitTunnel {
            let m = session::cdn(
                self.cfg.version,
                self.header(s.peer_id),
                sid,
                s.peer_id,
                &rc,
            );
            self.transport.send(ctx.now, m, Tag::None);
        }
        ctx.events.push_back(Event::SessionDown {
            tunnel: TunnelId(self.id),
            session: SessionId(sid),
            reason,
        });
    }

    /// Refuses a call the peer asked for (no local session): CDN to its session ID.
    fn refuse_call(&mut self, ctx: &mut Ctx, peer_sid: u32, r: &ResultCode) {
        let m = session::cdn(self.cfg.version, self.header(peer_sid), 0, peer_sid, r);
        self.transport.send(ctx.now, m, Tag::None);
    }

    /// The local session a session message is about: v2 by header Session ID, v3 by Remote
    /// Session ID AVP; or (CDN from a peer that did not know our ID yet) by the sender's
    /// session ID.
    pub(super) fn session_for(&self, msg: &ControlMessage) -> Option<u32> {
        let sid = match self.cfg.version {
            Version::V2 => u32::from(msg.header.session_id),
            Version::V3 => msg.remote_session_id().unwrap_or(0),
        };
        if sid != 0 && self.sessions.contains_key(&sid) {
            return Some(sid);
        }
        if msg.message_type() == Some(MessageType::Cdn) {
            let peer_sid = msg.sender_session_id()?;
            return self.peer_sessions.get(&peer_sid).copied();
        }
        None
    }

    /// A session message that cannot be acted on (unknown mandatory AVP, missing required
    /// AVP): CDN for the session, or a refusal of a call request.
    pub(super) fn session_error(&mut self, ctx: &mut Ctx, msg: &ControlMessage, r: ResultCode) {
        let mt = msg.message_type();
        if let Some(sid) = self.session_for(msg) {
            self.close_session_internal(ctx, sid, r.clone(), DownReason::Protocol(r));
        } else if matches!(mt, Some(MessageType::Icrq | MessageType::Ocrq)) {
            if let Some(peer_sid) = msg.sender_session_id() {
                self.refuse_call(ctx, peer_sid, &r);
            }
        }
    }

    /// ICRQ (we answer an incoming call: ICRP) or OCRQ (we place the call and report it
    /// connected: OCRP then OCCN, as a LAC that answers at once).
    pub(super) fn on_call_request(&mut self, ctx: &mut Ctx, msg: &ControlMessage, outgoing: bool) {
        if self.state != TunnelState::Established {
            return;
        }
        let Some(peer_sid) = msg.sender_session_id() else {
            return;
        };
        if self.peer_sessions.contains_key(&peer_sid) {
            return; // a second request for the same call
        }
        let pseudowire = match self.cfg.version {
            Version::V2 => pw_type::PPP,
            Version::V3 => msg.pseudowire_type().unwrap_or(0),
        };
        if self.cfg.version == Version::V3 && !self.cfg.pseudowires.contains(&pseudowire) {
            let r = rc(result::CDN_UNSUPPORTED_PW, error_code::NO_ERROR, "");
            self.refuse_call(ctx, peer_sid, &r);
            return;
        }
        if let Some(r) = check_peer_session(msg) {
            self.refuse_call(ctx, peer_sid, &r);
            return;
        }
        let Ok(id) = self.new_session_id(ctx, None) else {
            let r = rc(result::CDN_NO_FACILITIES_TEMP, error_code::NO_RESOURCES, "");
            self.refuse_call(ctx, peer_sid, &r);
            return;
        };
        let serial = msg.call_serial_number().unwrap_or(0);
        let d = &self.env.session_defaults;
        let cfg = SessionConfig {
            pseudowire,
            local_session_id: Some(id),
            bearer_type: msg.bearer_type().unwrap_or(d.bearer_type),
            framing_type: msg.framing_type().unwrap_or(d.framing_type),
            calling_number: None,
            called_number: None,
            remote_end_id: Vec::new(),
            proxy_avps: Vec::new(),
            interface_name: None,
            ..d.clone()
        };
        let mut peer = PeerSession::default();
        peer.learn(msg);
        let mut s = Session {
            id,
            peer_id: peer_sid,
            cfg,
            state: SessionState::WaitConnect,
            call_serial: serial,
            peer_initiated: true,
            outgoing_call: outgoing,
            peer,
            deadline: None,
        };
        let h = self.header(peer_sid);
        if outgoing {
            let v = self.cfg.version;
            self.transport
                .send(ctx.now, session::ocrp(v, h, &s), Tag::None);
            self.transport
                .send(ctx.now, session::occn(v, h, &s), Tag::Occn(id));
            s.state = SessionState::WaitConnAck;
        } else {
            let m = session::icrp(self.cfg.version, h, &s);
            self.transport.send(ctx.now, m, Tag::None);
        }
        self.insert_session(s);
        self.arm_session_deadline(ctx.now, id);
    }

    /// ICRP (send ICCN) or OCRP (wait for OCCN).
    pub(super) fn on_call_reply(&mut self, ctx: &mut Ctx, msg: &ControlMessage, outgoing: bool) {
        let Some(sid) = self.session_for(msg) else {
            return;
        };
        let version = self.cfg.version;
        let Some(s) = self.sessions.get(&sid) else {
            return;
        };
        if s.state != SessionState::WaitReply || s.outgoing_call != outgoing {
            return;
        }
        let Some(peer_sid) = msg.sender_session_id() else {
            let r = rc(
                result::CDN_GENERAL_ERROR,
                error_code::BAD_VALUE,
                "missing Assigned Session ID AVP",
            );
            self.close_session_internal(ctx, sid, r.clone(), DownReason::Protocol(r));
            return;
        };
        if self.peer_sessions.contains_key(&peer_sid) {
            // The peer gave this ID to another live call of the tunnel. The CDN names the call
            // by our Assigned Session ID only, so that the other call is left alone.
            let r = rc(
                result::CDN_GENERAL_ERROR,
                error_code::BAD_VALUE,
                "Assigned Session ID already in use",
            );
            self.close_session_internal(ctx, sid, r.clone(), DownReason::Protocol(r));
            return;
        }
        self.set_peer_id(sid, peer_sid);
        if let Some(r) = check_peer_session(msg) {
            self.close_session_internal(ctx, sid, r.clone(), DownReason::Protocol(r));
            return;
        }
        let h = self.header(peer_sid);
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        s.peer.learn(msg);
        if outgoing {
            s.state = SessionState::WaitConnect;
            return;
        }
        s.state = SessionState::WaitConnAck;
        let m = session::iccn(version, h, s);
        self.transport.send(ctx.now, m, Tag::Iccn(sid));
    }

    /// ICCN / OCCN: the session is up.
    pub(super) fn on_connected(&mut self, ctx: &mut Ctx, msg: &ControlMessage, outgoing: bool) {
        let Some(sid) = self.session_for(msg) else {
            return;
        };
        let Some(s) = self.sessions.get_mut(&sid) else {
            return;
        };
        if s.state != SessionState::WaitConnect || s.outgoing_call != outgoing {
            return;
        }
        s.peer.learn(msg);
        s.state = SessionState::Established;
        self.clear_session_deadline(sid);
        let ev = self.session_up_event(sid);
        ctx.events.extend(ev);
    }
}

impl Tunnel {
    /// Call set-up timer: a session not established within two retransmission cycles of its
    /// creation is cleared with CDN Result Code 10 (RFC 2661 §4.4.2: "not established within
    /// time allotted") and reported down with [`DownReason::Timeout`]. Bounds what a peer
    /// that opens calls and never completes them can make us hold.
    pub(super) fn expire_sessions(&mut self, ctx: &mut Ctx) {
        while let Some(&(at, sid)) = self.session_deadlines.first() {
            if at > ctx.now {
                break;
            }
            self.session_deadlines.pop_first();
            let Some(s) = self.sessions.get_mut(&sid) else {
                continue;
            };
            if s.deadline != Some(at) {
                continue;
            }
            s.deadline = None;
            let pending = !matches!(
                s.state,
                SessionState::Established | SessionState::WaitConnAck
            );
            if pending {
                let r = rc(
                    result::CDN_TIMEOUT,
                    error_code::NO_ERROR,
                    "call set-up timeout",
                );
                self.close_session_internal(ctx, sid, r, DownReason::Timeout);
            }
        }
    }

    fn arm_session_deadline(&mut self, now: Instant, sid: u32) {
        let at = now + Self::setup_time(&self.cfg).saturating_mul(2);
        if let Some(s) = self.sessions.get_mut(&sid) {
            if let Some(old) = s.deadline.replace(at) {
                self.session_deadlines.remove(&(old, sid));
            }
            self.session_deadlines.insert((at, sid));
        }
    }

    /// Stops a session's call set-up timer (it is established, or gone).
    pub(super) fn clear_session_deadline(&mut self, sid: u32) {
        if let Some(at) = self.sessions.get_mut(&sid).and_then(|s| s.deadline.take()) {
            self.session_deadlines.remove(&(at, sid));
        }
    }

    pub(super) fn session_up_event(&self, sid: u32) -> Option<Event> {
        let s = self.sessions.get(&sid)?;
        Some(Event::SessionUp {
            tunnel: TunnelId(self.id),
            session: SessionId(sid),
            peer_session_id: s.peer_id,
            peer_tunnel_id: self.peer_tunnel_id,
            pseudowire: s.cfg.pseudowire,
            params: s.params(),
        })
    }

    /// Adds a session; indexes its peer ID, if known.
    fn insert_session(&mut self, s: Session) {
        if s.peer_id != 0 {
            self.peer_sessions.insert(s.peer_id, s.id);
        }
        self.sessions.insert(s.id, s);
    }

    /// Records the peer's ID of a session (whose peer ID was 0).
    fn set_peer_id(&mut self, sid: u32, peer_sid: u32) {
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.peer_id = peer_sid;
            self.peer_sessions.insert(peer_sid, sid);
        }
    }

    /// Removes a session, its index entries and timer, and frees its ID.
    pub(super) fn remove_session(&mut self, ctx: &mut Ctx, sid: u32) -> Option<Session> {
        self.clear_session_deadline(sid);
        let s = self.sessions.remove(&sid)?;
        if s.peer_id != 0 && self.peer_sessions.get(&s.peer_id) == Some(&sid) {
            self.peer_sessions.remove(&s.peer_id);
        }
        if self.cfg.version == Version::V3 {
            ctx.v3_sessions.remove(&sid);
        }
        Some(s)
    }

    pub(super) fn all_sessions_down(&mut self, ctx: &mut Ctx, reason: DownReason) {
        self.peer_sessions.clear();
        self.session_deadlines.clear();
        for (sid, _) in self.sessions.take_all() {
            if self.cfg.version == Version::V3 {
                ctx.v3_sessions.remove(&sid);
            }
            ctx.events.push_back(Event::SessionDown {
                tunnel: TunnelId(self.id),
                session: SessionId(sid),
                reason: reason.clone(),
            });
        }
    }
}
