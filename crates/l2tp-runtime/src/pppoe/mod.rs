//! PPPoE access concentrator (RFC 2516) switching subscribers into L2TPv2 (RFC 2661): the
//! runtime side of `l2tp_pppoe::AccessConcentrator` (go-l2tp's kpppoed).
//!
//! Per interface one task runs PPPoE Discovery on a raw packet socket (EtherType 0x8863):
//! - a PADR with a valid AC-Cookie ([`l2tp_pppoe::Event::SessionRequested`]) opens an incoming
//!   call (ICRQ, Calling Number = the subscriber's MAC as `aa:bb:cc:dd:ee:ff`) on the
//!   configured tunnel to the LNS; when the driver takes it, the PADS goes out; when it refuses
//!   (no tunnel, engine error), a PADS with AC-System-Error does;
//! - when the call is up, the data plane (pseudowire `pppac`) connects a PPPoE session socket
//!   and bridges its PPP channel to the PPPoL2TP one (`PPPIOCBRIDGECHAN`): PPP frames go
//!   kernel to kernel, no pppd and no PPP frame in this process;
//! - a PADT from the subscriber clears the call (CDN); a CDN from the LNS, or the tunnel going
//!   down, sends a PADT to the subscriber.
//!
//! Unvalidated senders cost no state: the AC answers PADI statelessly (the cookie) and only a
//! PADR with a valid cookie creates a session, bounded per MAC and per interface.
//!
//! Sessions are named `pppoe-IFNAME-SID` in their tunnel (SID: the PPPoE session ID, decimal).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use l2tp_pppoe::{AccessConcentrator, Counters, Event as AcEvent, Reject};
use tokio::io::unix::AsyncFd;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::config::{PppoeSection, Pseudowire, SessionSection, TunnelKind, TunnelSection};
use crate::driver::{DriverError, RuntimeEvent};
use crate::Context;
use l2tp_proto::shared::Event;

/// Largest frame read from the link, bytes (an Ethernet frame of 1500 bytes payload with a VLAN
/// tag is 1518; longer ones are truncated and fail to parse).
const FRAME_BUF: usize = 1536;
/// Receive queue asked for on each interface's Discovery socket, bytes: a few thousand
/// frames (each costs ~1 KiB of socket memory) of a redial burst wait instead of being dropped.
const RECV_BUFFER: usize = 4 << 20;
/// Frames read per wake-up before the task looks at its other inputs (a PADI flood does not
/// starve the runtime's events).
const FRAMES_PER_WAKE: usize = 256;

/// Why the access concentrator could not start.
#[derive(Debug, thiserror::Error)]
pub enum PppoeError {
    /// The `[pppoe]` settings cannot work.
    #[error("pppoe: {0}")]
    Config(String),
    /// An interface could not be opened (unknown, no permission).
    #[error("pppoe interface {interface}: {message}")]
    Interface {
        /// The interface.
        interface: String,
        /// What went wrong.
        message: String,
    },
}

/// Where an interface's Discovery frames come from and go to.
pub enum Link {
    /// A raw packet socket bound to the interface (EtherType 0x8863).
    Packet(AsyncFd<l2tp_kernel::PacketSocket>),
    /// An in-memory link (tests, simulations): frames received, frames sent.
    Channel(mpsc::Receiver<Vec<u8>>, mpsc::Sender<Vec<u8>>),
}

impl Link {
    /// The packet socket on `ifname`, and the interface's MAC address.
    ///
    /// Errors: [`PppoeError::Interface`] (unknown interface, not Ethernet, no CAP_NET_RAW, no
    /// tokio reactor).
    pub fn packet(ifname: &str) -> Result<(Link, [u8; 6]), PppoeError> {
        let err = |message: String| PppoeError::Interface {
            interface: ifname.to_string(),
            message,
        };
        let sock = l2tp_kernel::PacketSocket::bind(ifname, l2tp_kernel::pppoe::ETH_P_PPP_DISC)
            .map_err(|e| err(e.to_string()))?;
        let mac = sock.hw_addr().map_err(|e| err(e.to_string()))?;
        match sock.set_recv_buffer(RECV_BUFFER) {
            Ok(got) => tracing::debug!(
                interface = ifname,
                bytes = got,
                "PPPoE Discovery receive buffer"
            ),
            Err(e) => {
                tracing::warn!(interface = ifname, error = %e, "PPPoE Discovery receive buffer")
            }
        }
        // `AsyncFd::new` is deprecated for types that do not own their descriptor (it could be
        // closed while registered). `PacketSocket` owns it (an `OwnedFd`) and the `AsyncFd`
        // owns the socket, deregistering in its drop before the descriptor closes.
        #[allow(deprecated)]
        let fd = AsyncFd::new(sock).map_err(|e| err(e.to_string()))?;
        Ok((Link::Packet(fd), mac))
    }

    fn send(&self, frame: Vec<u8>) -> bool {
        match self {
            Link::Packet(fd) => fd.get_ref().send(&frame).is_ok(),
            Link::Channel(_, tx) => tx.try_send(frame).is_ok(),
        }
    }
}

/// One PPPoE session as `show pppoe` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PppoeSessionStatus {
    /// The Ethernet interface.
    pub interface: String,
    /// The subscriber's MAC address, `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
    /// The PPPoE session ID (1..=65534).
    pub pppoe_session_id: u16,
    /// The L2TP tunnel carrying it (configured name).
    pub tunnel: String,
    /// The L2TP session's name (`pppoe-IFNAME-SID`).
    pub session: String,
    /// The L2TP session's local ID (0 until the driver assigned one).
    pub l2tp_session_id: u32,
    /// `calling` (ICRQ sent) or `up` (call established, channels bridged).
    pub state: String,
}

/// One interface's Discovery counters (frames, since start).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PppoeCounters {
    /// PADI received.
    pub padi_in: u64,
    /// PADO sent.
    pub pado_out: u64,
    /// PADR received.
    pub padr_in: u64,
    /// PADS sent with a session ID.
    pub pads_out: u64,
    /// PADS sent with an error TAG (refusals).
    pub pads_error_out: u64,
    /// PADT received.
    pub padt_in: u64,
    /// PADT sent.
    pub padt_out: u64,
    /// PADR with a missing, wrong or expired AC-Cookie.
    pub bad_cookie: u64,
    /// Frames that failed to parse or broke RFC 2516 rules.
    pub malformed: u64,
    /// PADI/PADR not answered: the token bucket was empty.
    pub rate_limited: u64,
    /// Requests refused for other reasons: Service-Name not offered, session limits, IDs
    /// exhausted, oversize answers, no L2TP call.
    pub refused: u64,
    /// Frames the link did not take (socket send error, full queue).
    #[serde(default)]
    pub tx_errors: u64,
}

impl From<&Counters> for PppoeCounters {
    fn from(c: &Counters) -> PppoeCounters {
        let r = &c.refused;
        PppoeCounters {
            padi_in: c.padi_in,
            pado_out: c.pado_out,
            padr_in: c.padr_in,
            pads_out: c.pads_out,
            pads_error_out: c.pads_error_out,
            padt_in: c.padt_in,
            padt_out: c.padt_out,
            bad_cookie: c.bad_cookie,
            malformed: c.malformed,
            rate_limited: r.rate_limited,
            refused: r.service_not_offered
                + r.max_sessions
                + r.max_sessions_per_mac
                + r.session_ids_exhausted
                + r.oversize
                + r.by_runtime,
            tx_errors: 0,
        }
    }
}

/// One interface's Discovery counters and its sessions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PppoeInterfaceStatus {
    /// The interface.
    pub interface: String,
    /// PADI/PADO/PADR/PADS/PADT and refusal counters.
    pub counters: PppoeCounters,
    /// Its sessions, by PPPoE session ID.
    pub sessions: Vec<PppoeSessionStatus>,
}

/// A handle to the running access concentrator: status of every interface. Dropping every
/// clone stops it: each subscriber gets a PADT and each of their L2TP calls a CDN.
#[derive(Clone)]
pub struct Pppoe {
    tasks: Vec<mpsc::Sender<oneshot::Sender<PppoeInterfaceStatus>>>,
}

impl Pppoe {
    /// Starts one task per interface of `section` on packet sockets, calling into `ctx`.
    /// `tunnels`: the configured tunnels (the one `section.tunnel` names is re-opened when it
    /// has gone down and a subscriber asks for a session).
    ///
    /// Errors: [`PppoeError::Config`] (no interface, no tunnel or LNS, unknown tunnel),
    /// [`PppoeError::Interface`] (see [`Link::packet`]).
    pub fn start(
        ctx: &Context,
        section: &PppoeSection,
        tunnels: &[(String, TunnelSection)],
    ) -> Result<Pppoe, PppoeError> {
        let mut links = Vec::new();
        for ifname in section.all_interfaces() {
            let (link, mac) = Link::packet(&ifname)?;
            links.push((ifname, mac, link));
        }
        Self::start_on(ctx, section, tunnels, links)
    }

    /// Like [`Pppoe::start`] on given links: (interface name, its MAC, link).
    ///
    /// Errors: [`PppoeError::Config`].
    pub fn start_on(
        ctx: &Context,
        section: &PppoeSection,
        tunnels: &[(String, TunnelSection)],
        links: Vec<(String, [u8; 6], Link)>,
    ) -> Result<Pppoe, PppoeError> {
        let (tunnel_name, tunnel) = carrier(section, tunnels)?;
        let mut tasks = Vec::new();
        for (ifname, mac, link) in links {
            let defaults = l2tp_pppoe::Config::default();
            let config = l2tp_pppoe::Config {
                mac,
                ac_name: section.ac_name.clone(),
                services: section.services.clone(),
                max_sessions: section.max_sessions.unwrap_or(defaults.max_sessions),
                max_sessions_per_mac: section
                    .max_sessions_per_mac
                    .unwrap_or(defaults.max_sessions_per_mac),
                ..defaults
            };
            let ac = AccessConcentrator::new(config, Instant::now())
                .map_err(|e| PppoeError::Config(format!("interface {ifname}: {e}")))?;
            let (status_tx, status_rx) = mpsc::channel(4);
            let task = Interface {
                ifname,
                ac,
                link,
                ctx: ctx.clone(),
                events: ctx.subscribe(),
                tunnel_name: tunnel_name.clone(),
                tunnel: tunnel.clone(),
                sessions: HashMap::new(),
                by_name: HashMap::new(),
                status_rx,
                tx_errors: 0,
            };
            tokio::spawn(task.run());
            tasks.push(status_tx);
        }
        Ok(Pppoe { tasks })
    }

    /// Every interface's counters and sessions (interfaces whose task has ended are left out).
    pub async fn status(&self) -> Vec<PppoeInterfaceStatus> {
        let mut out = Vec::with_capacity(self.tasks.len());
        for t in &self.tasks {
            let (tx, rx) = oneshot::channel();
            if t.send(tx).await.is_ok() {
                if let Ok(s) = rx.await {
                    out.push(s);
                }
            }
        }
        out
    }
}

/// The tunnel that carries the sessions: the configured one, or one to the LNS address.
fn carrier(
    section: &PppoeSection,
    tunnels: &[(String, TunnelSection)],
) -> Result<(String, TunnelSection), PppoeError> {
    if let Some(name) = &section.tunnel {
        let t = tunnels
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
            .ok_or_else(|| PppoeError::Config(format!("tunnel {name:?} is not configured")))?;
        return Ok((name.clone(), t));
    }
    let lns: SocketAddr = section.lns_ipaddr.ok_or_else(|| {
        PppoeError::Config("needs a tunnel or an LNS address (tunnel, lns or lns_ipaddr)".into())
    })?;
    let mut t = TunnelSection::new();
    t.kind = TunnelKind::Dynamic;
    t.peer = Some(lns);
    Ok(("pppoe-lns".into(), t))
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn mac_string(mac: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Calling,
    Up,
}

struct Held {
    mac: [u8; 6],
    name: String,
    l2tp_session_id: u32,
    state: State,
}

struct Interface {
    ifname: String,
    ac: AccessConcentrator,
    link: Link,
    ctx: Context,
    events: broadcast::Receiver<RuntimeEvent>,
    tunnel_name: String,
    tunnel: TunnelSection,
    /// PPPoE session ID → session.
    sessions: HashMap<u16, Held>,
    /// L2TP session name → PPPoE session ID.
    by_name: HashMap<String, u16>,
    status_rx: mpsc::Receiver<oneshot::Sender<PppoeInterfaceStatus>>,
    /// Frames the link refused.
    tx_errors: u64,
}

impl Interface {
    async fn run(mut self) {
        tracing::info!(interface = %self.ifname, tunnel = %self.tunnel_name, "PPPoE access concentrator up");
        let mut buf = vec![0u8; FRAME_BUF];
        loop {
            tokio::select! {
                r = recv_frames(&mut self.link, &mut self.ac, &mut buf) => {
                    if let Err(e) = r {
                        tracing::error!(interface = %self.ifname, error = %e, "PPPoE link failed; access concentrator stops");
                        break;
                    }
                }
                ev = self.events.recv() => match ev {
                    Ok(ev) => self.on_runtime_event(ev),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(interface = %self.ifname, missed = n, "PPPoE: runtime events lagged; reconciling with the status");
                        self.reconcile().await;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                r = self.status_rx.recv() => match r {
                    Some(reply) => {
                        let _ = reply.send(self.status());
                    }
                    // Every `Pppoe` handle is gone: the access concentrator stops.
                    None => break,
                },
            }
            self.drive().await;
        }
        // Stopping (handles dropped, link failed): every subscriber gets a PADT and every
        // call a CDN (a runtime that has stopped already cleared them).
        let held: Vec<(u16, String)> = self.sessions.drain().map(|(id, h)| (id, h.name)).collect();
        self.by_name.clear();
        for (id, name) in held {
            let _ = self.ac.terminate(id, "access concentrator stopping");
            self.flush();
            let _ = self.ctx.close_session(&self.tunnel_name, &name).await;
        }
        tracing::info!(interface = %self.ifname, "PPPoE access concentrator stopped");
    }

    /// Acts on the AC's events and sends what it queued.
    async fn drive(&mut self) {
        while let Some(ev) = self.ac.poll_event() {
            match ev {
                AcEvent::SessionRequested {
                    mac, session_id, ..
                } => self.call(mac, session_id).await,
                AcEvent::SessionTerminated {
                    session_id, reason, ..
                } => {
                    if let Some(h) = self.sessions.remove(&session_id) {
                        self.by_name.remove(&h.name);
                        tracing::info!(interface = %self.ifname, pppoe_session = session_id, mac = %mac_string(&h.mac), reason = reason.as_deref().unwrap_or(""), "PADT from the subscriber: clearing the call");
                        match self.ctx.close_session(&self.tunnel_name, &h.name).await {
                            Ok(()) | Err(DriverError::NotFound(_)) => {}
                            Err(e) => {
                                tracing::warn!(session = %h.name, error = %e, "PPPoE: CDN failed")
                            }
                        }
                    }
                }
            }
            self.flush();
        }
        self.flush();
    }

    /// Sends what the AC queued; failures are counted, not logged (a flood must not become
    /// a log line per frame).
    fn flush(&mut self) {
        while let Some(frame) = self.ac.poll_transmit() {
            if !self.link.send(frame) {
                self.tx_errors += 1;
            }
        }
    }

    /// ICRQ for a PPPoE session the AC reserved; PADS when the driver takes it.
    async fn call(&mut self, mac: [u8; 6], pppoe_sid: u16) {
        let name = format!("pppoe-{}-{}", self.ifname, pppoe_sid);
        let section = SessionSection {
            pseudowire: Pseudowire::Pppac,
            pppoe_session_id: Some(pppoe_sid),
            pppoe_peer_mac: Some(mac),
            interface_name: Some(self.ifname.clone()),
            calling_number: Some(mac_string(&mac)),
            ..SessionSection::default()
        };
        let mut r = self
            .ctx
            .create_session(&self.tunnel_name, &name, section.clone())
            .await;
        if matches!(r, Err(DriverError::NotFound(_))) {
            // The tunnel is gone (or never was): open it, then call again.
            tracing::info!(tunnel = %self.tunnel_name, "PPPoE: opening the tunnel to the LNS");
            match self
                .ctx
                .create_tunnel(&self.tunnel_name, self.tunnel.clone())
                .await
            {
                Ok(_) | Err(DriverError::Exists(_)) => {
                    r = self
                        .ctx
                        .create_session(&self.tunnel_name, &name, section)
                        .await;
                }
                Err(e) => r = Err(e),
            }
        }
        match r {
            Ok(sid) => {
                if self.ac.accept(pppoe_sid).is_ok() {
                    tracing::info!(interface = %self.ifname, pppoe_session = pppoe_sid, mac = %mac_string(&mac), session = %name, "PADS sent; incoming call placed");
                    self.by_name.insert(name.clone(), pppoe_sid);
                    self.sessions.insert(
                        pppoe_sid,
                        Held {
                            mac,
                            name,
                            l2tp_session_id: sid.0,
                            state: State::Calling,
                        },
                    );
                } else {
                    let _ = self.ctx.close_session(&self.tunnel_name, &name).await;
                }
            }
            Err(e) => {
                tracing::warn!(interface = %self.ifname, mac = %mac_string(&mac), error = %e, "PPPoE session refused: no L2TP call");
                let _ = self
                    .ac
                    .reject(pppoe_sid, Reject::System(format!("no L2TP call: {e}")));
            }
        }
    }

    fn on_runtime_event(&mut self, ev: RuntimeEvent) {
        if ev.tunnel_name != self.tunnel_name {
            return;
        }
        match &ev.event {
            Event::SessionUp { .. } => {
                if let Some(h) = ev
                    .session_name
                    .as_ref()
                    .and_then(|n| self.by_name.get(n))
                    .and_then(|id| self.sessions.get_mut(id))
                {
                    h.state = State::Up;
                }
            }
            Event::SessionDown { reason, .. } => {
                if let Some(id) = ev
                    .session_name
                    .as_ref()
                    .and_then(|n| self.by_name.remove(n))
                {
                    self.sessions.remove(&id);
                    let text = crate::driver::describe_reason(reason);
                    tracing::info!(interface = %self.ifname, pppoe_session = id, reason = %text, "L2TP call cleared: PADT to the subscriber");
                    let _ = self.ac.terminate(id, &text);
                    self.flush();
                }
            }
            Event::TunnelDown { .. } => {
                // Its sessions were reported down first; anything left is cleared here.
                let ids: Vec<u16> = self.sessions.keys().copied().collect();
                for id in ids {
                    let _ = self.ac.terminate(id, "L2TP tunnel down");
                }
                self.sessions.clear();
                self.by_name.clear();
                self.flush();
            }
            _ => {}
        }
    }

    /// After missed events: sessions the runtime no longer holds get their PADT.
    async fn reconcile(&mut self) {
        let Ok(status) = self.ctx.status().await else {
            return;
        };
        let live: std::collections::HashSet<&str> = status
            .iter()
            .filter(|t| t.name == self.tunnel_name && t.down_for.is_none())
            .flat_map(|t| t.sessions.iter())
            .filter(|s| s.state != "down")
            .map(|s| s.name.as_str())
            .collect();
        let gone: Vec<u16> = self
            .sessions
            .iter()
            .filter(|(_, h)| !live.contains(h.name.as_str()))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            if let Some(h) = self.sessions.remove(&id) {
                self.by_name.remove(&h.name);
            }
            let _ = self.ac.terminate(id, "L2TP call cleared");
        }
        self.flush();
    }

    fn status(&self) -> PppoeInterfaceStatus {
        let mut sessions: Vec<PppoeSessionStatus> = self
            .sessions
            .iter()
            .map(|(id, h)| PppoeSessionStatus {
                interface: self.ifname.clone(),
                mac: mac_string(&h.mac),
                pppoe_session_id: *id,
                tunnel: self.tunnel_name.clone(),
                session: h.name.clone(),
                l2tp_session_id: h.l2tp_session_id,
                state: match h.state {
                    State::Calling => "calling",
                    State::Up => "up",
                }
                .into(),
            })
            .collect();
        sessions.sort_by_key(|s| s.pppoe_session_id);
        PppoeInterfaceStatus {
            interface: self.ifname.clone(),
            counters: PppoeCounters {
                tx_errors: self.tx_errors,
                ..self.ac.counters().into()
            },
            sessions,
        }
    }
}

/// Waits for frames and feeds up to [`FRAMES_PER_WAKE`] of them to the AC. Errors: the link
/// is gone (socket error other than would-block, channel closed).
async fn recv_frames(
    link: &mut Link,
    ac: &mut AccessConcentrator,
    buf: &mut [u8],
) -> std::io::Result<()> {
    match link {
        Link::Packet(fd) => {
            let mut guard = fd.readable().await?;
            let now = Instant::now();
            for _ in 0..FRAMES_PER_WAKE {
                match guard.get_inner().recv(buf) {
                    Ok(n) => ac.handle_frame(now, buf.get(..n).unwrap_or(&[])),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        guard.clear_ready();
                        break;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }
        Link::Channel(rx, _) => {
            let Some(first) = rx.recv().await else {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::BrokenPipe,
                    "link channel closed",
                ));
            };
            let now = Instant::now();
            ac.handle_frame(now, &first);
            for _ in 1..FRAMES_PER_WAKE {
                match rx.try_recv() {
                    Ok(f) => ac.handle_frame(now, &f),
                    Err(_) => break,
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_strings_are_lower_case_colon_separated() {
        assert_eq!(
            mac_string(&[2, 0xab, 0, 1, 0x0c, 0xff]),
            "02:ab:00:01:0c:ff"
        );
    }

    #[test]
    fn carrier_is_the_named_tunnel_or_one_to_the_lns() {
        let mut t = TunnelSection::new();
        t.peer = Some("192.0.2.1:1701".parse().unwrap());
        let tunnels = vec![("t1".to_string(), t.clone())];
        let named = PppoeSection {
            tunnel: Some("t1".into()),
            ..Default::default()
        };
        assert_eq!(carrier(&named, &tunnels).unwrap(), ("t1".into(), t));
        let missing = PppoeSection {
            tunnel: Some("nope".into()),
            ..Default::default()
        };
        assert!(carrier(&missing, &tunnels).is_err());
        let lns = PppoeSection {
            lns_ipaddr: Some("192.0.2.9:1701".parse().unwrap()),
            ..Default::default()
        };
        let (name, t) = carrier(&lns, &[]).unwrap();
        assert_eq!(name, "pppoe-lns");
        assert_eq!(t.peer, Some("192.0.2.9:1701".parse().unwrap()));
        assert!(carrier(&PppoeSection::default(), &[]).is_err());
    }
}
