//! The tables beside the tunnels: `[pppoe]` (the access concentrator) and `[radius]` (servers,
//! timers, NAS identity, DAE clients), with their checks against the tunnels.

use super::*;

impl Cx<'_> {
    /// The `[pppoe]` table (extension).
    pub(super) fn pppoe_table(&self, at: &At, item: &Item, p: &mut PppoeSection) -> R<()> {
        let t = item
            .as_table_like()
            .ok_or_else(|| self.err(at, format!("expect a table, got {}", describe(item))))?;
        for (k, kat, item) in self.entries(at, t) {
            match k.as_str() {
                "interfaces" => p.interfaces = self.strings(&kat, item)?,
                "ac_name" => p.ac_name = self.string(&kat, item)?,
                "services" => p.services = self.strings(&kat, item)?,
                "tunnel" => p.tunnel = Some(self.string(&kat, item)?),
                "lns" => p.lns_ipaddr = Some(self.addr(&kat, item)?),
                "max_sessions" => p.max_sessions = Some(self.int(&kat, item, 1, 65534)? as u32),
                "max_sessions_per_mac" => {
                    p.max_sessions_per_mac = Some(self.int(&kat, item, 1, 65534)? as u32)
                }
                _ => return Err(self.err(&kat, format!("unrecognised parameter '{k}'"))),
            }
        }
        for i in &p.interfaces {
            if i.is_empty() || i.len() > 15 || i.contains('/') {
                return Err(self.err(
                    &at.child("interfaces", None, None),
                    format!("bad interface name {i:?}"),
                ));
            }
        }
        Ok(())
    }

    /// The access concentrator needs interfaces and a way to the LNS: a configured dynamic
    /// L2TPv2 tunnel (`tunnel`) or an address (`lns` / `lns_ipaddr`).
    pub(super) fn check_pppoe(
        &self,
        p: &PppoeSection,
        tunnels: &[(String, TunnelSection)],
    ) -> R<()> {
        let top = At {
            key: "pppoe".into(),
            span: None,
        };
        if p.all_interfaces().is_empty() {
            return Err(self.err(&top, "needs an interface (interfaces or interface_name)"));
        }
        match (&p.tunnel, &p.lns_ipaddr) {
            (Some(name), _) => {
                let Some((_, t)) = tunnels.iter().find(|(n, _)| n == name) else {
                    return Err(self.err(&top, format!("tunnel {name:?} is not configured")));
                };
                if t.kind != TunnelKind::Dynamic || t.version != Version::V2 || t.listen {
                    return Err(self.err(
                        &top,
                        format!("tunnel {name:?} must be a dynamic L2TPv2 tunnel that dials (no listen)"),
                    ));
                }
                Ok(())
            }
            (None, Some(_)) => Ok(()),
            (None, None) => Err(self.err(
                &top,
                "needs a tunnel or an LNS address (tunnel, lns or lns_ipaddr)",
            )),
        }
    }

    /// `[radius]`: servers, timers, NAS identity, DAE.
    pub(super) fn radius(&self, at: &At, item: &Item) -> R<RadiusSection> {
        let t = item
            .as_table_like()
            .ok_or_else(|| self.err(at, format!("expect a table, got {}", describe(item))))?;
        let mut r = RadiusSection {
            timeout: Duration::from_secs(3),
            retries: 2,
            dead_time: Duration::from_secs(30),
            acct_queue_limit: 4096,
            ..RadiusSection::default()
        };
        for (k, kat, item) in self.entries(at, t) {
            match k.as_str() {
                "server" => {
                    let st = self.table(&kat, item, "radius.server")?;
                    for (name, sat, si) in self.entries(&kat, st) {
                        let tt = self.table(&sat, si, "radius.server")?;
                        let (address, secret, ports) = self.radius_peer(&sat, tt, true)?;
                        let (auth_port, acct_port) = ports;
                        r.servers.push((
                            name,
                            RadiusServer {
                                address,
                                auth_port,
                                acct_port,
                                secret,
                            },
                        ));
                    }
                }
                "dae_client" => {
                    let ct = self.table(&kat, item, "radius.dae_client")?;
                    for (name, cat, ci) in self.entries(&kat, ct) {
                        let tt = self.table(&cat, ci, "radius.dae_client")?;
                        let (address, secret, _) = self.radius_peer(&cat, tt, false)?;
                        r.dae_clients
                            .push((name, RadiusDaeClient { address, secret }));
                    }
                }
                "timeout" => {
                    r.timeout = Duration::from_millis(self.int(&kat, item, 1, 60_000)? as u64)
                }
                "retries" => r.retries = self.int(&kat, item, 0, 10)? as u32,
                "dead_time" => {
                    r.dead_time = Duration::from_secs(self.int(&kat, item, 0, 86_400)? as u64)
                }
                "nas_identifier" => r.nas_identifier = Some(self.string(&kat, item)?),
                "nas_ip" => r.nas_ip = Some(self.ipv4(&kat, item)?),
                "acct_interim_interval" => {
                    let v = self.int(&kat, item, 0, 86_400)? as u64;
                    r.acct_interim_interval = (v > 0).then(|| Duration::from_secs(v));
                }
                "acct_queue_limit" => {
                    r.acct_queue_limit = self.int(&kat, item, 1, 1_000_000)? as usize
                }
                "dae_listen" => {
                    let v = self.string(&kat, item)?;
                    r.dae_listen = Some(v.parse().map_err(|_| {
                        self.err(&kat, format!("expect \"address:port\", got {v:?}"))
                    })?);
                }
                _ => return Err(self.err(&kat, format!("unrecognised parameter '{k}'"))),
            }
        }
        if r.servers.is_empty() {
            return Err(self.err(at, "no [radius.server.NAME] table present"));
        }
        if r.dae_listen.is_some() && r.dae_clients.is_empty() {
            return Err(self.err(at, "dae_listen needs a [radius.dae_client.NAME] table"));
        }
        Ok(r)
    }

    /// A RADIUS server (`ports`: auth/acct ports allowed) or DAE client table: address,
    /// secret (inline, from a file, from the environment), ports.
    pub(super) fn radius_peer(
        &self,
        at: &At,
        t: &dyn TableLike,
        ports: bool,
    ) -> R<(IpAddr, String, (u16, u16))> {
        let mut address = None;
        let mut secret = None;
        let (mut auth, mut acct) = (1812u16, 1813u16);
        for (k, kat, item) in self.entries(at, t) {
            match k.as_str() {
                "address" => {
                    let v = self.string(&kat, item)?;
                    address =
                        Some(v.parse::<IpAddr>().map_err(|_| {
                            self.err(&kat, format!("expect an IP address, got {v:?}"))
                        })?);
                }
                "secret" => secret = Some(self.string(&kat, item)?),
                "secret_file" => {
                    let f = self.string(&kat, item)?;
                    let text = std::fs::read_to_string(&f)
                        .map_err(|e| self.err(&kat, format!("{f}: {e}")))?;
                    secret = Some(text.lines().next().unwrap_or("").trim().to_string());
                }
                "secret_env" => {
                    let v = self.string(&kat, item)?;
                    secret = Some(std::env::var(&v).map_err(|_| {
                        self.err(&kat, format!("environment variable {v} is not set"))
                    })?);
                }
                "auth_port" if ports => auth = self.int(&kat, item, 0, 65535)? as u16,
                "acct_port" if ports => acct = self.int(&kat, item, 0, 65535)? as u16,
                _ => return Err(self.err(&kat, format!("unrecognised parameter '{k}'"))),
            }
        }
        let Some(address) = address else {
            return Err(self.err(at, "address is required"));
        };
        match secret {
            Some(s) if !s.is_empty() => Ok((address, s, (auth, acct))),
            _ => Err(self.err(
                at,
                "a non-empty secret is required (secret, secret_file or secret_env)",
            )),
        }
    }
}
