//! [`NullDataPlane`] (nothing programmed: go-l2tp's `-null` mode, and tests) and [`Recorder`],
//! which wraps a data plane to record its calls ([`Call`], [`CallLog`]).

use super::*;

/// A call made on a data plane wrapped in a [`Recorder`], as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// `create_tunnel`.
    CreateTunnel(TunnelSpec),
    /// `delete_tunnel(tunnel_id)`.
    DeleteTunnel(u32),
    /// `create_session`.
    CreateSession(SessionSpec),
    /// `delete_session(tunnel_id, session_id)`.
    DeleteSession(u32, u32),
    /// `bridge_sessions(a, b)`.
    Bridge((u32, u32), (u32, u32)),
}

/// A shared view of a [`Recorder`]'s calls (clone it before handing the data plane to the
/// runtime).
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<Call>>>);

impl CallLog {
    /// The calls so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }

    fn push(&self, c: Call) {
        if let Ok(mut v) = self.0.lock() {
            v.push(c);
        }
    }
}

/// Wraps a data plane and records every call made on it, in order: for tests. It grows with
/// every call, so production code never uses it.
#[derive(Debug)]
pub struct Recorder<D> {
    pub(super) inner: D,
    log: CallLog,
}

impl<D: DataPlane> Recorder<D> {
    /// Records the calls made on `inner`.
    pub fn new(inner: D) -> Self {
        Recorder {
            inner,
            log: CallLog::default(),
        }
    }

    /// The shared call log.
    pub fn log(&self) -> CallLog {
        self.log.clone()
    }
}

impl<D: DataPlane> DataPlane for Recorder<D> {
    fn create_tunnel(&mut self, spec: &TunnelSpec) -> Result<(), DataPlaneError> {
        self.log.push(Call::CreateTunnel(spec.clone()));
        self.inner.create_tunnel(spec)
    }
    fn create_tunnel_owning(
        &mut self,
        spec: &TunnelSpec,
        control: Option<std::os::fd::OwnedFd>,
    ) -> Result<(), DataPlaneError> {
        self.log.push(Call::CreateTunnel(spec.clone()));
        self.inner.create_tunnel_owning(spec, control)
    }
    fn delete_tunnel(&mut self, tunnel_id: u32) -> Result<(), DataPlaneError> {
        self.log.push(Call::DeleteTunnel(tunnel_id));
        self.inner.delete_tunnel(tunnel_id)
    }
    fn create_session(&mut self, spec: &SessionSpec) -> Result<SessionHandle, DataPlaneError> {
        self.log.push(Call::CreateSession(spec.clone()));
        self.inner.create_session(spec)
    }
    fn delete_session(&mut self, tunnel_id: u32, session_id: u32) -> Result<(), DataPlaneError> {
        self.log.push(Call::DeleteSession(tunnel_id, session_id));
        self.inner.delete_session(tunnel_id, session_id)
    }
    fn session_stats(&mut self, tunnel_id: u32, session_id: u32) -> Option<SessionStats> {
        self.inner.session_stats(tunnel_id, session_id)
    }
    fn ppp_fd(&self, tunnel_id: u32, session_id: u32) -> Option<i32> {
        self.inner.ppp_fd(tunnel_id, session_id)
    }
    fn bridge_sessions(&mut self, a: (u32, u32), b: (u32, u32)) -> Result<(), DataPlaneError> {
        self.log.push(Call::Bridge(a, b));
        self.inner.bridge_sessions(a, b)
    }
    fn blocking(&self) -> bool {
        self.inner.blocking()
    }
    fn data_sink(&self) -> Option<Arc<dyn DataSink>> {
        self.inner.data_sink()
    }
    fn user_space_for(&self, plane: Option<TunnelPlane>) -> Result<bool, DataPlaneError> {
        self.inner.user_space_for(plane)
    }
}

/// A null data plane's tunnel: its version and its sessions' IDs.
#[derive(Debug)]
pub(super) struct NullTunnel {
    version: Version,
    sessions: std::collections::HashSet<u32>,
}

/// A data plane that creates nothing (go-l2tp's `-null` mode): it checks each request as the
/// kernel would (IDs in use, missing tunnel, v2 limits, v3 session IDs unique per host) and
/// logs what it would do at debug level. Every call is O(1) (deleting a tunnel: O(its
/// sessions)) and it keeps nothing for objects that were deleted.
#[derive(Debug, Default)]
pub struct NullDataPlane {
    pub(super) tunnels: HashMap<u32, NullTunnel>,
    /// v3 session IDs in use (the kernel keys v3 sessions per host).
    pub(super) v3_sessions: std::collections::HashSet<u32>,
    sessions: usize,
    fail_next: Option<DataPlaneError>,
}

impl NullDataPlane {
    /// An empty null data plane.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the next create call fail with this error (for tests of failure handling).
    pub fn fail_next(&mut self, err: DataPlaneError) {
        self.fail_next = Some(err);
    }

    /// Number of tunnels currently "created".
    pub fn tunnel_count(&self) -> usize {
        self.tunnels.len()
    }

    /// Number of sessions currently "created".
    pub fn session_count(&self) -> usize {
        self.sessions
    }
}

impl DataPlane for NullDataPlane {
    fn create_tunnel(&mut self, spec: &TunnelSpec) -> Result<(), DataPlaneError> {
        if let Some(e) = self.fail_next.take() {
            return Err(e);
        }
        spec.validate()?;
        if self.tunnels.contains_key(&spec.tunnel_id) {
            return Err(DataPlaneError::Exists(format!("tunnel {}", spec.tunnel_id)));
        }
        tracing::debug!(
            tunnel_id = spec.tunnel_id,
            peer_tunnel_id = spec.peer_tunnel_id,
            peer = %spec.peer,
            managed = spec.control_fd.is_some(),
            "null data plane: would create tunnel"
        );
        self.tunnels.insert(
            spec.tunnel_id,
            NullTunnel {
                version: spec.version,
                sessions: Default::default(),
            },
        );
        Ok(())
    }

    fn delete_tunnel(&mut self, tunnel_id: u32) -> Result<(), DataPlaneError> {
        let Some(t) = self.tunnels.remove(&tunnel_id) else {
            return Err(DataPlaneError::NotFound(format!("tunnel {tunnel_id}")));
        };
        self.sessions -= t.sessions.len();
        if t.version == Version::V3 {
            for s in &t.sessions {
                self.v3_sessions.remove(s);
            }
        }
        tracing::debug!(tunnel_id, "null data plane: would delete tunnel");
        Ok(())
    }

    fn create_session(&mut self, spec: &SessionSpec) -> Result<SessionHandle, DataPlaneError> {
        if let Some(e) = self.fail_next.take() {
            return Err(e);
        }
        spec.validate()?;
        let Some(t) = self.tunnels.get_mut(&spec.tunnel_id) else {
            return Err(DataPlaneError::NotFound(format!(
                "tunnel {}",
                spec.tunnel_id
            )));
        };
        if t.version != spec.version {
            return Err(DataPlaneError::Invalid(format!(
                "session version {:?} in a {:?} tunnel",
                spec.version, t.version
            )));
        }
        // v3 session IDs are unique per host; v2 per tunnel.
        let clash = t.sessions.contains(&spec.session_id)
            || (t.version == Version::V3 && self.v3_sessions.contains(&spec.session_id));
        if clash {
            return Err(DataPlaneError::Exists(format!(
                "session {}",
                spec.session_id
            )));
        }
        tracing::debug!(
            tunnel_id = spec.tunnel_id,
            session_id = spec.session_id,
            peer_session_id = spec.peer_session_id,
            "null data plane: would create session"
        );
        t.sessions.insert(spec.session_id);
        if t.version == Version::V3 {
            self.v3_sessions.insert(spec.session_id);
        }
        self.sessions += 1;
        Ok(SessionHandle {
            interface_name: spec.interface_name.clone(),
            ppp_channel: None,
        })
    }

    fn delete_session(&mut self, tunnel_id: u32, session_id: u32) -> Result<(), DataPlaneError> {
        let removed = self
            .tunnels
            .get_mut(&tunnel_id)
            .is_some_and(|t| t.sessions.remove(&session_id));
        if !removed {
            return Err(DataPlaneError::NotFound(format!(
                "session {session_id} in tunnel {tunnel_id}"
            )));
        }
        self.v3_sessions.remove(&session_id);
        self.sessions -= 1;
        tracing::debug!(
            tunnel_id,
            session_id,
            "null data plane: would delete session"
        );
        Ok(())
    }

    fn session_stats(&mut self, tunnel_id: u32, session_id: u32) -> Option<SessionStats> {
        self.tunnels
            .get(&tunnel_id)
            .is_some_and(|t| t.sessions.contains(&session_id))
            .then(SessionStats::default)
    }

    /// Accepts every tunnel, whatever plane its configuration names (`-null` programs
    /// nothing for any of them); none is carried in user space.
    fn user_space_for(&self, _plane: Option<TunnelPlane>) -> Result<bool, DataPlaneError> {
        Ok(false)
    }

    fn bridge_sessions(&mut self, a: (u32, u32), b: (u32, u32)) -> Result<(), DataPlaneError> {
        for (t, s) in [a, b] {
            if !self
                .tunnels
                .get(&t)
                .is_some_and(|x| x.sessions.contains(&s))
            {
                return Err(DataPlaneError::NotFound(format!(
                    "session {s} in tunnel {t}"
                )));
            }
        }
        tracing::debug!(?a, ?b, "null data plane: would bridge PPP channels");
        Ok(())
    }
}
