//! [`PlaneRouter`]: the kernel data plane and the user-space one side by side, each tunnel on
//! the one its configuration names (`dataplane` in a `[tunnel.NAME]` table), its sessions with
//! it.

use super::*;

/// Two data planes behind one: calls for a tunnel go to the plane it was created on.
///
/// A tunnel's plane is [`TunnelSpec::plane`], or the router's default when that is `None`;
/// it is remembered from `create_tunnel` to `delete_tunnel` (one hash-map entry per tunnel:
/// every call is O(1) in the number of tunnels), and every session call follows its tunnel's
/// (sessions, configured or opened by the peer, inherit their tunnel's plane).
///
/// - [`DataPlane::data_sink`] is the user-space plane's: only the sockets of user-space
///   tunnels hand it their datagrams ([`DataPlane::user_space_for`] says which).
/// - [`DataPlane::sessions_stats`] asks each plane for its own sessions (the kernel one with
///   one dump) and merges the answers.
/// - [`DataPlane::bridge_sessions`] bridges within one plane only; across the two it is
///   [`DataPlaneError::Unsupported`] (a PPP channel cannot be bridged to a session that has
///   none).
/// - [`DataPlane::take_events`] merges both planes' events into one channel (a forwarding
///   task on the runtime the router is started in).
pub struct PlaneRouter {
    kernel: Box<dyn DataPlane>,
    userspace: Box<dyn DataPlane>,
    default: TunnelPlane,
    /// Local tunnel ID → the plane the tunnel was created on.
    tunnels: HashMap<u32, TunnelPlane>,
    /// How many of `tunnels` are on the kernel plane.
    kernel_tunnels: usize,
}

impl std::fmt::Debug for PlaneRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlaneRouter")
            .field("default", &self.default)
            .field("tunnels", &self.tunnels.len())
            .finish_non_exhaustive()
    }
}

impl PlaneRouter {
    /// Routes between `kernel` (normally [`crate::kernel::KernelDataPlane`]) and
    /// `userspace` (normally [`crate::userspace::UserspaceDataPlane`]); tunnels that name no
    /// plane go to `default`.
    pub fn new(
        kernel: Box<dyn DataPlane>,
        userspace: Box<dyn DataPlane>,
        default: TunnelPlane,
    ) -> Self {
        PlaneRouter {
            kernel,
            userspace,
            default,
            tunnels: HashMap::new(),
            kernel_tunnels: 0,
        }
    }

    /// The plane tunnel `tunnel_id` (local ID) was created on, if it exists.
    pub fn plane_of(&self, tunnel_id: u32) -> Option<TunnelPlane> {
        self.tunnels.get(&tunnel_id).copied()
    }

    /// The number of tunnels on each plane: (kernel, user space). O(1).
    pub fn tunnel_counts(&self) -> (usize, usize) {
        (
            self.kernel_tunnels,
            self.tunnels.len() - self.kernel_tunnels,
        )
    }

    fn plane(&mut self, p: TunnelPlane) -> &mut dyn DataPlane {
        match p {
            TunnelPlane::Kernel => self.kernel.as_mut(),
            TunnelPlane::Userspace => self.userspace.as_mut(),
        }
    }

    /// The plane of tunnel `tunnel_id`, or [`DataPlaneError::NotFound`].
    fn tunnel_plane(&mut self, tunnel_id: u32) -> Result<&mut dyn DataPlane, DataPlaneError> {
        match self.tunnels.get(&tunnel_id) {
            Some(&p) => Ok(self.plane(p)),
            None => Err(DataPlaneError::NotFound(format!("tunnel {tunnel_id}"))),
        }
    }
}

impl DataPlane for PlaneRouter {
    fn create_tunnel(&mut self, spec: &TunnelSpec) -> Result<(), DataPlaneError> {
        self.create_tunnel_owning(spec, None)
    }

    fn create_tunnel_owning(
        &mut self,
        spec: &TunnelSpec,
        control: Option<std::os::fd::OwnedFd>,
    ) -> Result<(), DataPlaneError> {
        // Checked here too: a v3 tunnel ID in use on the other plane would otherwise be
        // accepted, and the later calls could not tell the two apart.
        if self.tunnels.contains_key(&spec.tunnel_id) {
            return Err(DataPlaneError::Exists(format!("tunnel {}", spec.tunnel_id)));
        }
        let p = spec.plane.unwrap_or(self.default);
        self.plane(p).create_tunnel_owning(spec, control)?;
        self.tunnels.insert(spec.tunnel_id, p);
        if p == TunnelPlane::Kernel {
            self.kernel_tunnels += 1;
        }
        Ok(())
    }

    fn delete_tunnel(&mut self, tunnel_id: u32) -> Result<(), DataPlaneError> {
        match self.tunnels.remove(&tunnel_id) {
            Some(p) => {
                if p == TunnelPlane::Kernel {
                    self.kernel_tunnels -= 1;
                }
                self.plane(p).delete_tunnel(tunnel_id)
            }
            None => Err(DataPlaneError::NotFound(format!("tunnel {tunnel_id}"))),
        }
    }

    fn create_session(&mut self, spec: &SessionSpec) -> Result<SessionHandle, DataPlaneError> {
        self.tunnel_plane(spec.tunnel_id)?.create_session(spec)
    }

    fn delete_session(&mut self, tunnel_id: u32, session_id: u32) -> Result<(), DataPlaneError> {
        self.tunnel_plane(tunnel_id)?
            .delete_session(tunnel_id, session_id)
    }

    fn session_stats(&mut self, tunnel_id: u32, session_id: u32) -> Option<SessionStats> {
        self.tunnel_plane(tunnel_id)
            .ok()?
            .session_stats(tunnel_id, session_id)
    }

    fn ppp_fd(&self, tunnel_id: u32, session_id: u32) -> Option<i32> {
        match self.tunnels.get(&tunnel_id)? {
            TunnelPlane::Kernel => self.kernel.ppp_fd(tunnel_id, session_id),
            TunnelPlane::Userspace => self.userspace.ppp_fd(tunnel_id, session_id),
        }
    }

    fn bridge_sessions(&mut self, a: (u32, u32), b: (u32, u32)) -> Result<(), DataPlaneError> {
        let plane = |t: u32| {
            self.tunnels
                .get(&t)
                .copied()
                .ok_or_else(|| DataPlaneError::NotFound(format!("tunnel {t}")))
        };
        let (pa, pb) = (plane(a.0)?, plane(b.0)?);
        if pa != pb {
            return Err(DataPlaneError::Unsupported(format!(
                "bridging session {} of tunnel {} ({pa} data plane) to session {} of tunnel {} \
                 ({pb} data plane): both must be on one data plane",
                a.1, a.0, b.1, b.0
            )));
        }
        self.plane(pa).bridge_sessions(a, b)
    }

    /// One call per plane, with that plane's keys (the kernel answers from one dump); keys
    /// of tunnels neither plane holds are left out.
    fn sessions_stats(&mut self, keys: &[(u32, u32)]) -> HashMap<(u32, u32), SessionStats> {
        let (mut kernel, mut userspace) = (Vec::new(), Vec::new());
        for &k in keys {
            match self.tunnels.get(&k.0) {
                Some(TunnelPlane::Kernel) => kernel.push(k),
                Some(TunnelPlane::Userspace) => userspace.push(k),
                None => {}
            }
        }
        let mut out = if kernel.is_empty() {
            HashMap::new()
        } else {
            self.kernel.sessions_stats(&kernel)
        };
        if !userspace.is_empty() {
            out.extend(self.userspace.sessions_stats(&userspace));
        }
        out
    }

    fn data_sink(&self) -> Option<Arc<dyn DataSink>> {
        self.userspace.data_sink()
    }

    fn blocking(&self) -> bool {
        self.kernel.blocking() || self.userspace.blocking()
    }

    /// Both planes' events on one channel. When both have events, a task forwards them
    /// (spawned on the current tokio runtime; it ends when both planes' senders are gone or
    /// the receiver is dropped); outside a runtime only the user-space plane's are returned.
    fn take_events(&mut self) -> Option<tokio::sync::mpsc::Receiver<DataPlaneEvent>> {
        match (self.kernel.take_events(), self.userspace.take_events()) {
            (None, None) => None,
            (Some(r), None) | (None, Some(r)) => Some(r),
            (Some(k), Some(u)) => match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    let (tx, rx) = tokio::sync::mpsc::channel(DATA_PLANE_EVENT_CAP);
                    rt.spawn(merge_events(k, u, tx));
                    Some(rx)
                }
                Err(_) => {
                    tracing::warn!(
                        "data plane router made outside a tokio runtime: the kernel data \
                         plane's events are not forwarded"
                    );
                    Some(u)
                }
            },
        }
    }

    /// `None` is the router's default; either plane is accepted.
    fn user_space_for(&self, plane: Option<TunnelPlane>) -> Result<bool, DataPlaneError> {
        Ok(plane.unwrap_or(self.default) == TunnelPlane::Userspace)
    }
}

/// Forwards events from `a` and `b` to `tx` as they come, until both are closed or `tx` is.
async fn merge_events(
    mut a: tokio::sync::mpsc::Receiver<DataPlaneEvent>,
    mut b: tokio::sync::mpsc::Receiver<DataPlaneEvent>,
    tx: tokio::sync::mpsc::Sender<DataPlaneEvent>,
) {
    let (mut a_open, mut b_open) = (true, true);
    while a_open || b_open {
        let ev = tokio::select! {
            e = a.recv(), if a_open => match e {
                Some(ev) => ev,
                None => {
                    a_open = false;
                    continue;
                }
            },
            e = b.recv(), if b_open => match e {
                Some(ev) => ev,
                None => {
                    b_open = false;
                    continue;
                }
            },
            _ = tx.closed() => return,
        };
        if tx.send(ev).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use l2tp_proto::wire::Encap;

    /// A recorded null data plane whose counters say which plane answered (`rx_packets` =
    /// `tag`), with an event channel the test can send on.
    struct Tagged {
        inner: Recorder<NullDataPlane>,
        tag: u64,
        events: Option<tokio::sync::mpsc::Receiver<DataPlaneEvent>>,
        blocking: bool,
    }

    impl DataPlane for Tagged {
        fn create_tunnel_owning(
            &mut self,
            spec: &TunnelSpec,
            control: Option<std::os::fd::OwnedFd>,
        ) -> Result<(), DataPlaneError> {
            self.inner.create_tunnel_owning(spec, control)
        }
        fn create_tunnel(&mut self, spec: &TunnelSpec) -> Result<(), DataPlaneError> {
            self.inner.create_tunnel(spec)
        }
        fn delete_tunnel(&mut self, tunnel_id: u32) -> Result<(), DataPlaneError> {
            self.inner.delete_tunnel(tunnel_id)
        }
        fn create_session(&mut self, spec: &SessionSpec) -> Result<SessionHandle, DataPlaneError> {
            self.inner.create_session(spec)
        }
        fn delete_session(&mut self, t: u32, s: u32) -> Result<(), DataPlaneError> {
            self.inner.delete_session(t, s)
        }
        fn session_stats(&mut self, t: u32, s: u32) -> Option<SessionStats> {
            self.inner.session_stats(t, s).map(|st| SessionStats {
                rx_packets: self.tag,
                ..st
            })
        }
        fn ppp_fd(&self, _t: u32, _s: u32) -> Option<i32> {
            Some(self.tag as i32)
        }
        fn bridge_sessions(&mut self, a: (u32, u32), b: (u32, u32)) -> Result<(), DataPlaneError> {
            self.inner.bridge_sessions(a, b)
        }
        fn blocking(&self) -> bool {
            self.blocking
        }
        fn take_events(&mut self) -> Option<tokio::sync::mpsc::Receiver<DataPlaneEvent>> {
            self.events.take()
        }
    }

    const KERNEL_TAG: u64 = 1;
    const USER_TAG: u64 = 2;

    /// A router over two tagged planes (default `default`), their call logs and the senders
    /// of their events.
    fn router(
        default: TunnelPlane,
    ) -> (
        PlaneRouter,
        [CallLog; 2],
        [tokio::sync::mpsc::Sender<DataPlaneEvent>; 2],
    ) {
        let (ktx, krx) = tokio::sync::mpsc::channel(4);
        let (utx, urx) = tokio::sync::mpsc::channel(4);
        let k = Recorder::new(NullDataPlane::new());
        let u = Recorder::new(NullDataPlane::new());
        let logs = [k.log(), u.log()];
        let r = PlaneRouter::new(
            Box::new(Tagged {
                inner: k,
                tag: KERNEL_TAG,
                events: Some(krx),
                blocking: true,
            }),
            Box::new(Tagged {
                inner: u,
                tag: USER_TAG,
                events: Some(urx),
                blocking: false,
            }),
            default,
        );
        (r, logs, [ktx, utx])
    }

    fn tunnel(id: u32, plane: Option<TunnelPlane>) -> TunnelSpec {
        TunnelSpec {
            version: Version::V3,
            encap: Encap::Udp,
            tunnel_id: id,
            peer_tunnel_id: id + 100,
            local: Some("10.0.0.1:1701".parse().unwrap()),
            peer: "10.0.0.2:1701".parse().unwrap(),
            control_fd: None,
            udp_checksum: true,
            plane,
        }
    }

    fn eth(tunnel_id: u32, session_id: u32) -> SessionSpec {
        SessionSpec {
            version: Version::V3,
            pseudowire: Pseudowire::Eth,
            ..SessionSpec::ppp(tunnel_id, tunnel_id + 100, session_id, session_id + 1)
        }
    }

    #[test]
    fn each_tunnel_lands_on_its_plane_and_its_sessions_follow_it() {
        let (mut r, [k, u], _) = router(TunnelPlane::Kernel);
        r.create_tunnel(&tunnel(1, Some(TunnelPlane::Kernel)))
            .unwrap();
        r.create_tunnel(&tunnel(2, Some(TunnelPlane::Userspace)))
            .unwrap();
        // No choice: the default plane.
        r.create_tunnel(&tunnel(3, None)).unwrap();
        r.create_session(&eth(1, 10)).unwrap();
        r.create_session(&eth(2, 20)).unwrap();
        r.create_session(&eth(3, 30)).unwrap();
        assert_eq!(r.plane_of(2), Some(TunnelPlane::Userspace));
        assert_eq!(r.plane_of(3), Some(TunnelPlane::Kernel));
        assert_eq!(r.tunnel_counts(), (2, 1));
        assert_eq!(r.ppp_fd(1, 10), Some(KERNEL_TAG as i32));
        assert_eq!(r.ppp_fd(2, 20), Some(USER_TAG as i32));
        r.delete_session(2, 20).unwrap();
        r.delete_session(1, 10).unwrap();
        r.delete_tunnel(2).unwrap();
        r.delete_tunnel(3).unwrap();
        assert_eq!(
            k.calls(),
            vec![
                Call::CreateTunnel(tunnel(1, Some(TunnelPlane::Kernel))),
                Call::CreateTunnel(tunnel(3, None)),
                Call::CreateSession(eth(1, 10)),
                Call::CreateSession(eth(3, 30)),
                Call::DeleteSession(1, 10),
                Call::DeleteTunnel(3),
            ]
        );
        assert_eq!(
            u.calls(),
            vec![
                Call::CreateTunnel(tunnel(2, Some(TunnelPlane::Userspace))),
                Call::CreateSession(eth(2, 20)),
                Call::DeleteSession(2, 20),
                Call::DeleteTunnel(2),
            ]
        );
        // A deleted tunnel is forgotten: nothing kept, its sessions unknown.
        assert_eq!(r.plane_of(2), None);
        assert_eq!(r.tunnel_counts(), (1, 0));
        assert!(matches!(
            r.create_session(&eth(2, 21)),
            Err(DataPlaneError::NotFound(_))
        ));
        assert!(matches!(
            r.delete_tunnel(2),
            Err(DataPlaneError::NotFound(_))
        ));
    }

    #[test]
    fn default_plane_is_the_routers() {
        let (mut r, [k, u], _) = router(TunnelPlane::Userspace);
        r.create_tunnel(&tunnel(1, None)).unwrap();
        assert_eq!(r.plane_of(1), Some(TunnelPlane::Userspace));
        assert!(k.calls().is_empty());
        assert_eq!(u.calls().len(), 1);
        assert!(r.user_space_for(None).unwrap());
        assert!(!r.user_space_for(Some(TunnelPlane::Kernel)).unwrap());
        assert!(r.user_space_for(Some(TunnelPlane::Userspace)).unwrap());
    }

    #[test]
    fn a_failed_create_is_not_remembered_and_ids_are_unique_across_planes() {
        let (mut r, _, _) = router(TunnelPlane::Kernel);
        let mut bad = tunnel(1, Some(TunnelPlane::Userspace));
        bad.tunnel_id = 0;
        assert!(matches!(
            r.create_tunnel(&bad),
            Err(DataPlaneError::Invalid(_))
        ));
        assert_eq!(r.tunnel_counts(), (0, 0));
        r.create_tunnel(&tunnel(1, Some(TunnelPlane::Kernel)))
            .unwrap();
        // The same ID on the other plane: refused, and the first stays where it was.
        assert!(matches!(
            r.create_tunnel(&tunnel(1, Some(TunnelPlane::Userspace))),
            Err(DataPlaneError::Exists(_))
        ));
        assert_eq!(r.plane_of(1), Some(TunnelPlane::Kernel));
    }

    #[test]
    fn stats_are_asked_of_each_plane_and_merged() {
        let (mut r, _, _) = router(TunnelPlane::Kernel);
        r.create_tunnel(&tunnel(1, Some(TunnelPlane::Kernel)))
            .unwrap();
        r.create_tunnel(&tunnel(2, Some(TunnelPlane::Userspace)))
            .unwrap();
        r.create_session(&eth(1, 10)).unwrap();
        r.create_session(&eth(2, 20)).unwrap();
        let got = r.sessions_stats(&[(1, 10), (2, 20), (2, 99), (7, 1)]);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[&(1, 10)].rx_packets, KERNEL_TAG);
        assert_eq!(got[&(2, 20)].rx_packets, USER_TAG);
        assert_eq!(r.session_stats(2, 20).unwrap().rx_packets, USER_TAG);
        assert_eq!(r.session_stats(7, 1), None);
    }

    #[test]
    fn bridging_across_planes_is_refused_and_within_one_plane_forwarded() {
        let (mut r, [k, u], _) = router(TunnelPlane::Kernel);
        r.create_tunnel(&tunnel(1, Some(TunnelPlane::Kernel)))
            .unwrap();
        r.create_tunnel(&tunnel(3, Some(TunnelPlane::Kernel)))
            .unwrap();
        r.create_tunnel(&tunnel(2, Some(TunnelPlane::Userspace)))
            .unwrap();
        for (t, s) in [(1, 10), (3, 30), (2, 20)] {
            r.create_session(&eth(t, s)).unwrap();
        }
        let (k_before, u_before) = (k.calls(), u.calls());
        let e = r.bridge_sessions((1, 10), (2, 20)).unwrap_err();
        assert!(
            matches!(&e, DataPlaneError::Unsupported(m) if m.contains("kernel") && m.contains("userspace")),
            "{e}"
        );
        // Neither plane was asked anything.
        assert_eq!(k.calls(), k_before);
        assert_eq!(u.calls(), u_before);
        r.bridge_sessions((1, 10), (3, 30)).unwrap();
        assert_eq!(k.calls().last(), Some(&Call::Bridge((1, 10), (3, 30))));
        assert!(matches!(
            r.bridge_sessions((1, 10), (9, 1)),
            Err(DataPlaneError::NotFound(_))
        ));
    }

    #[test]
    fn blocking_if_either_plane_blocks_and_the_sink_is_the_user_space_planes() {
        let (r, _, _) = router(TunnelPlane::Kernel);
        assert!(r.blocking());
        // Neither tagged plane has a sink; a real user-space plane's is passed through.
        assert!(r.data_sink().is_none());
        let r = PlaneRouter::new(
            Box::new(NullDataPlane::new()),
            Box::new(crate::userspace::UserspaceDataPlane::new()),
            TunnelPlane::Kernel,
        );
        assert!(r.data_sink().is_some());
        // The user-space plane blocks (TAP devices are made and removed on its calls).
        assert!(r.blocking());
        let r = PlaneRouter::new(
            Box::new(NullDataPlane::new()),
            Box::new(NullDataPlane::new()),
            TunnelPlane::Kernel,
        );
        assert!(!r.blocking());
    }

    #[tokio::test]
    async fn events_of_both_planes_arrive_on_one_receiver() {
        let (mut r, _, [ktx, utx]) = router(TunnelPlane::Kernel);
        let mut rx = r.take_events().expect("merged events");
        assert!(r.take_events().is_none(), "taken once");
        let failed = |t: u32| DataPlaneEvent::SessionFailed {
            tunnel_id: t,
            session_id: 1,
            reason: format!("from {t}"),
        };
        ktx.send(failed(1)).await.unwrap();
        assert_eq!(rx.recv().await, Some(failed(1)));
        utx.send(failed(2)).await.unwrap();
        assert_eq!(rx.recv().await, Some(failed(2)));
        // One plane gone: the other's still arrive; both gone: the channel closes.
        drop(ktx);
        utx.send(failed(3)).await.unwrap();
        assert_eq!(rx.recv().await, Some(failed(3)));
        drop(utx);
        assert_eq!(rx.recv().await, None);
    }
}
