//! The parser: go-l2tp's TOML read through `toml_edit` (which keeps positions), every key
//! checked and located (`FILE:LINE:COL: KEY: WHAT`), into the types of the parent module.

use super::*;
use toml_edit::{ImDocument, Item, Key, TableLike, Value};

mod services;

/// Parses config text with a daemon profile's defaults (see [`Config::parse_as`]).
pub(super) fn parse(text: &str, path: &str, profile: Profile) -> Result<Config, ConfigError> {
    let cx = Cx { text, path };
    let doc = ImDocument::parse(text).map_err(|e| ConfigError {
        path: path.to_string(),
        position: e.span().map(|s| cx.line_col(s.start)),
        key: None,
        message: e.message().trim().replace('\n', "; "),
    })?;
    cx.config(doc.as_table(), profile)
}

/// Parsing context: the text (for positions) and the path (for messages).
struct Cx<'a> {
    text: &'a str,
    path: &'a str,
}

/// Where a key sits: its dotted path and a byte span to point at.
#[derive(Clone)]
struct At {
    key: String,
    span: Option<Range<usize>>,
}

impl At {
    fn child(&self, name: &str, key: Option<&Key>, item: Option<&Item>) -> At {
        let span = key
            .and_then(|k| k.span())
            .or_else(|| item.and_then(|i| i.span()))
            .or_else(|| self.span.clone());
        let key = if self.key.is_empty() {
            name.to_string()
        } else {
            format!("{}.{}", self.key, name)
        };
        At { key, span }
    }
}

type R<T> = Result<T, ConfigError>;

fn describe(item: &Item) -> String {
    match item {
        Item::None => "nothing".into(),
        Item::Table(_) => "a table".into(),
        Item::ArrayOfTables(_) => "an array of tables".into(),
        Item::Value(v) => describe_value(v),
    }
}

fn describe_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{:?}", s.value()),
        Value::Integer(i) => i.value().to_string(),
        Value::Float(f) => f.value().to_string(),
        Value::Boolean(b) => b.value().to_string(),
        Value::Datetime(d) => format!("datetime {}", d.value()),
        Value::Array(_) => "an array".into(),
        Value::InlineTable(_) => "a table".into(),
    }
}

impl Cx<'_> {
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text.as_bytes()[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let col = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
        (line, col)
    }

    fn err(&self, at: &At, message: impl Into<String>) -> ConfigError {
        ConfigError {
            path: self.path.to_string(),
            position: Some(at.span.as_ref().map_or((1, 1), |s| self.line_col(s.start))),
            key: (!at.key.is_empty()).then(|| at.key.clone()),
            message: message.into(),
        }
    }

    fn string(&self, at: &At, item: &Item) -> R<String> {
        match item.as_str() {
            Some(s) => Ok(s.to_string()),
            None => Err(self.err(
                at,
                format!("could not be parsed as a string, got {}", describe(item)),
            )),
        }
    }

    fn bool(&self, at: &At, item: &Item) -> R<bool> {
        item.as_bool()
            .ok_or_else(|| self.err(at, format!("expect true or false, got {}", describe(item))))
    }

    fn int(&self, at: &At, item: &Item, min: i64, max: i64) -> R<i64> {
        let Some(v) = item.as_integer() else {
            return Err(self.err(
                at,
                format!("could not be parsed as an integer, got {}", describe(item)),
            ));
        };
        if v < min || v > max {
            return Err(self.err(at, format!("value {v} out of range {min}..={max}")));
        }
        Ok(v)
    }

    fn millis(&self, at: &At, item: &Item) -> R<Duration> {
        let v = self.int(at, item, 0, i64::from(u32::MAX))?;
        Ok(Duration::from_millis(v as u64))
    }

    fn choice<T: Copy>(&self, at: &At, item: &Item, expect: &str, map: &[(&str, T)]) -> R<T> {
        let s = item.as_str().ok_or_else(|| {
            self.err(
                at,
                format!("could not be parsed as a string, got {}", describe(item)),
            )
        })?;
        map.iter()
            .find(|(k, _)| *k == s)
            .map(|(_, v)| *v)
            .ok_or_else(|| self.err(at, format!("expect {expect}, got {s:?}")))
    }

    fn array<'b>(&self, at: &At, item: &'b Item) -> R<Vec<&'b Value>> {
        match item.as_array() {
            Some(a) => Ok(a.iter().collect()),
            None => Err(self.err(at, format!("expect an array, got {}", describe(item)))),
        }
    }

    fn bytes(&self, at: &At, item: &Item) -> R<Vec<u8>> {
        let mut out = Vec::new();
        for v in self.array(at, item)? {
            match v.as_integer() {
                Some(b @ 0..=255) => out.push(b as u8),
                Some(b) => return Err(self.err(at, format!("byte value {b} out of range 0..=255"))),
                None => {
                    return Err(self.err(
                        at,
                        format!(
                            "expect an array of bytes, got element {}",
                            describe_value(v)
                        ),
                    ))
                }
            }
        }
        Ok(out)
    }

    fn strings(&self, at: &At, item: &Item) -> R<Vec<String>> {
        self.array(at, item)?
            .into_iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    self.err(
                        at,
                        format!("could not be parsed as a string, got {}", describe_value(v)),
                    )
                })
            })
            .collect()
    }

    fn ipv4(&self, at: &At, item: &Item) -> R<Ipv4Addr> {
        let s = self.string(at, item)?;
        s.parse()
            .map_err(|_| self.err(at, format!("expect an IPv4 address, got {s:?}")))
    }

    fn addr(&self, at: &At, item: &Item) -> R<SocketAddr> {
        let s = self.string(at, item)?;
        parse_addr(&s).map_err(|why| self.err(at, format!("{why}: {s:?}")))
    }

    fn table<'b>(&self, at: &At, item: &'b Item, what: &str) -> R<&'b dyn TableLike> {
        item.as_table_like().ok_or_else(|| {
            self.err(
                at,
                format!("{what} instances must be named, got {}", describe(item)),
            )
        })
    }

    /// Iterates a table's entries in file order with their positions.
    fn entries<'b>(&self, at: &At, t: &'b dyn TableLike) -> Vec<(String, At, &'b Item)> {
        let mut v: Vec<(String, At, &'b Item)> = t
            .iter()
            .filter(|(_, i)| !i.is_none())
            .map(|(k, i)| {
                let key = t.key(k);
                (k.to_string(), at.child(k, key, Some(i)), i)
            })
            .collect();
        v.sort_by_key(|(_, a, _)| a.span.as_ref().map_or(usize::MAX, |s| s.start));
        v
    }

    fn config(&self, root: &dyn TableLike, profile: Profile) -> R<Config> {
        let top = At {
            key: String::new(),
            span: None,
        };
        let mut tunnels = None;
        let mut pppoe: Option<PppoeSection> = None;
        let mut dataplane = None;
        let mut radius = None;
        for (k, at, item) in self.entries(&top, root) {
            match k.as_str() {
                "radius" => radius = Some(self.radius(&at, item)?),
                "dataplane" => {
                    let v = self.string(&at, item)?;
                    dataplane = Some(v.parse().map_err(|e: String| self.err(&at, e))?);
                }
                "tunnel" => tunnels = Some(self.tunnels(&at, item, profile)?),
                "ac_name" => {
                    pppoe.get_or_insert_with(PppoeSection::default).ac_name =
                        self.string(&at, item)?
                }
                "interface_name" => {
                    pppoe
                        .get_or_insert_with(PppoeSection::default)
                        .interface_name = Some(self.string(&at, item)?)
                }
                "services" => {
                    pppoe.get_or_insert_with(PppoeSection::default).services =
                        self.strings(&at, item)?
                }
                "lns_ipaddr" => {
                    pppoe.get_or_insert_with(PppoeSection::default).lns_ipaddr =
                        Some(self.addr(&at, item)?)
                }
                "pppoe" => {
                    self.pppoe_table(&at, item, pppoe.get_or_insert_with(PppoeSection::default))?
                }
                _ => return Err(self.err(&at, format!("unrecognised parameter '{k}'"))),
            }
        }
        if let Some(p) = &mut pppoe {
            if p.ac_name.is_empty() {
                p.ac_name = "kpppoed".into();
            }
        }
        let tunnels = match tunnels {
            Some(t) => t,
            None if pppoe.is_some() => Vec::new(),
            None => return Err(self.err(&top, "no tunnel table present")),
        };
        if let Some(p) = &pppoe {
            self.check_pppoe(p, &tunnels)?;
        }
        Ok(Config {
            tunnels,
            pppoe,
            dataplane,
            radius,
        })
    }

    fn tunnels(&self, at: &At, item: &Item, profile: Profile) -> R<Vec<(String, TunnelSection)>> {
        let t = self.table(at, item, "tunnel")?;
        let mut out: Vec<(String, TunnelSection)> = Vec::new();
        // Configured tunnel IDs → index in `out`: a duplicate is found in O(1), not by a walk
        // of the tunnels before it (O(n²) over a file of many static tunnels).
        let mut tids: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
        for (name, tat, titem) in self.entries(at, t) {
            let tt = self.table(&tat, titem, "tunnel")?;
            let section = self.tunnel(&tat, tt, profile)?;
            if let Some(tid) = section.tid {
                if let Some((other, _)) = tids.get(&tid).and_then(|&i| out.get(i)) {
                    return Err(self.err(
                        &tat.child("tid", tt.key("tid"), tt.get("tid")),
                        format!("tunnel ID {tid} already used by tunnel '{other}'"),
                    ));
                }
                tids.insert(tid, out.len());
            }
            out.push((name, section));
        }
        Ok(out)
    }

    fn tunnel(&self, at: &At, t: &dyn TableLike, profile: Profile) -> R<TunnelSection> {
        let mut s = TunnelSection::new();
        let mut kind = None;
        let mut sessions: Option<(At, &Item)> = None;
        // Positions of keys, for the cross-field checks below.
        let pos = |k: &str| at.child(k, t.key(k), t.get(k));
        for (k, kat, item) in self.entries(at, t) {
            match k.as_str() {
                "local" => s.local = Some(self.addr(&kat, item)?),
                "peer" => s.peer = Some(self.addr(&kat, item)?),
                "encap" => {
                    s.encap = self.choice(
                        &kat,
                        item,
                        "'udp' or 'ip'",
                        &[("udp", Encap::Udp), ("ip", Encap::Ip)],
                    )?
                }
                "version" => {
                    s.version = self.choice(
                        &kat,
                        item,
                        "'l2tpv2' or 'l2tpv3'",
                        &[("l2tpv2", Version::V2), ("l2tpv3", Version::V3)],
                    )?
                }
                // Range against the version is checked below, once the version is known.
                "tid" => s.tid = Some(self.int(&kat, item, 1, i64::from(u32::MAX))? as u32),
                "ptid" => s.ptid = Some(self.int(&kat, item, 1, i64::from(u32::MAX))? as u32),
                "window_size" => s.window_size = self.int(&kat, item, 1, 65535)? as u16,
                "hello_timeout" => s.hello_timeout = Some(self.millis(&kat, item)?),
                "retry_timeout" => {
                    s.retry_timeout = self.millis(&kat, item)?;
                    if s.retry_timeout.is_zero() {
                        return Err(self.err(&kat, "value 0 out of range 1..=4294967295"));
                    }
                }
                "max_retries" => {
                    s.max_retries = self.int(&kat, item, 0, i64::from(u32::MAX))? as u32
                }
                "host_name" => s.host_name = self.string(&kat, item)?,
                "framing_caps" => {
                    let mut caps = 0;
                    for v in self.array(&kat, item)? {
                        caps |= match v.as_str() {
                            Some("sync") => 1,
                            Some("async") => 2,
                            _ => {
                                return Err(self.err(
                                    &kat,
                                    format!("expect 'sync' or 'async', got {}", describe_value(v)),
                                ))
                            }
                        };
                    }
                    s.framing_caps = caps;
                }
                "kind" => {
                    kind = Some(self.choice(
                        &kat,
                        item,
                        "'dynamic', 'static' or 'quiescent'",
                        &[
                            ("dynamic", TunnelKind::Dynamic),
                            ("static", TunnelKind::Static),
                            ("quiescent", TunnelKind::Quiescent),
                        ],
                    )?)
                }
                "secret" => s.secret = Some(self.string(&kat, item)?),
                "challenge" => s.challenge = Some(self.bool(&kat, item)?),
                "hide_avps" => s.hide_avps = self.bool(&kat, item)?,
                "digest" => {
                    s.digest = Some(self.choice(
                        &kat,
                        item,
                        "'md5' or 'sha1'",
                        &[("md5", Digest::Md5), ("sha1", Digest::Sha1)],
                    )?)
                }
                "listen" => s.listen = self.bool(&kat, item)?,
                "accept_peers" => {
                    for a in self.strings(&kat, item)? {
                        let ip = a.parse::<IpAddr>().map_err(|_| {
                            self.err(&kat, format!("expect an IP address, got {a:?}"))
                        })?;
                        s.accept_peers.push(ip);
                    }
                }
                "max_half_open" => {
                    s.max_half_open = Some(self.int(&kat, item, 1, i64::from(u32::MAX))? as usize)
                }
                "max_tunnels_per_peer" => {
                    s.max_tunnels_per_peer =
                        Some(self.int(&kat, item, 1, i64::from(u32::MAX))? as usize)
                }
                "dataplane" => {
                    s.dataplane = Some(self.choice(
                        &kat,
                        item,
                        "'kernel' or 'userspace'",
                        &[
                            ("kernel", TunnelPlane::Kernel),
                            ("userspace", TunnelPlane::Userspace),
                        ],
                    )?)
                }
                "session" => sessions = Some((kat, item)),
                _ => return Err(self.err(&kat, format!("unrecognised parameter '{k}'"))),
            }
        }
        s.kind = kind.unwrap_or(match profile {
            Profile::L2tpd | Profile::Kl2tpd => TunnelKind::Dynamic,
            Profile::Ql2tpd if s.hello_timeout.is_some_and(|d| !d.is_zero()) => {
                TunnelKind::Quiescent
            }
            Profile::Ql2tpd => TunnelKind::Static,
        });

        // Cross-field checks.
        let v2 = s.version == Version::V2;
        let id_max: u32 = if v2 { 65535 } else { u32::MAX };
        for (k, v) in [("tid", s.tid), ("ptid", s.ptid)] {
            if let Some(v) = v {
                if v > id_max {
                    return Err(self.err(&pos(k), format!("value {v} out of range 1..={id_max}")));
                }
            }
        }
        if v2 && s.encap == Encap::Ip {
            return Err(self.err(&pos("encap"), "L2TPv2 supports encap 'udp' only"));
        }
        if s.kind != TunnelKind::Dynamic {
            if v2 {
                return Err(self.err(
                    &pos("version"),
                    "static and quiescent tunnels need version 'l2tpv3'",
                ));
            }
            for (k, missing) in [
                ("local", s.local.is_none()),
                ("peer", s.peer.is_none()),
                ("tid", s.tid.is_none()),
                ("ptid", s.ptid.is_none()),
            ] {
                if missing {
                    return Err(self.err(
                        at,
                        format!(
                            "missing parameter '{k}' (required for a static or quiescent tunnel)"
                        ),
                    ));
                }
            }
            if s.listen {
                return Err(self.err(&pos("listen"), "only dynamic tunnels can listen"));
            }
        } else if s.listen {
            if s.local.is_none() {
                return Err(self.err(
                    &pos("listen"),
                    "missing parameter 'local' (required to listen)",
                ));
            }
        } else if s.peer.is_none() {
            return Err(self.err(
                at,
                "missing parameter 'peer' (required for a dynamic tunnel unless listen = true)",
            ));
        }
        for (k, set) in [
            ("accept_peers", !s.accept_peers.is_empty()),
            ("max_half_open", s.max_half_open.is_some()),
            ("max_tunnels_per_peer", s.max_tunnels_per_peer.is_some()),
        ] {
            if set && !s.listen {
                return Err(self.err(&pos(k), "only meaningful with listen = true"));
            }
        }
        for (k, on) in [
            ("challenge", s.challenge == Some(true)),
            ("hide_avps", s.hide_avps),
            ("digest", s.digest.is_some()),
        ] {
            if on && s.secret.is_none() {
                return Err(self.err(&pos(k), "needs parameter 'secret'"));
            }
        }
        if v2 && s.digest.is_some() {
            return Err(self.err(&pos("digest"), "the Message Digest AVP is L2TPv3 only"));
        }
        if let (Some(peer), Some(local)) = (s.peer, s.local) {
            if peer.is_ipv4() != local.is_ipv4() {
                return Err(self.err(&pos("peer"), "local and peer address families differ"));
            }
        }

        if let Some((sat, item)) = sessions {
            let st = self.table(&sat, item, "session")?;
            // Configured session IDs → index in `s.sessions` (duplicates found in O(1)).
            let mut sids: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
            for (name, at2, sitem) in self.entries(&sat, st) {
                let t2 = self.table(&at2, sitem, "session")?;
                let sess = self.session(&at2, t2, &s)?;
                if let Some(sid) = sess.sid {
                    if let Some((other, _)) = sids.get(&sid).and_then(|&i| s.sessions.get(i)) {
                        return Err(self.err(
                            &at2.child("sid", t2.key("sid"), t2.get("sid")),
                            format!("session ID {sid} already used by session '{other}'"),
                        ));
                    }
                    sids.insert(sid, s.sessions.len());
                }
                s.sessions.push((name, sess));
            }
        }
        Ok(s)
    }

    fn session(&self, at: &At, t: &dyn TableLike, tunnel: &TunnelSection) -> R<SessionSection> {
        let mut s = SessionSection::default();
        let pos = |k: &str| at.child(k, t.key(k), t.get(k));
        for (k, kat, item) in self.entries(at, t) {
            match k.as_str() {
                "sid" => s.sid = Some(self.int(&kat, item, 1, i64::from(u32::MAX))? as u32),
                "psid" => s.psid = Some(self.int(&kat, item, 1, i64::from(u32::MAX))? as u32),
                "pseudowire" => {
                    s.pseudowire = self.choice(
                        &kat,
                        item,
                        "'ppp', 'eth', 'eth_vlan' or 'pppac'",
                        &[
                            ("ppp", Pseudowire::Ppp),
                            ("eth", Pseudowire::Eth),
                            ("eth_vlan", Pseudowire::EthVlan),
                            ("pppac", Pseudowire::Pppac),
                        ],
                    )?
                }
                "seqnum" => s.seqnum = self.bool(&kat, item)?,
                "reorder_timeout" => s.reorder_timeout = Some(self.millis(&kat, item)?),
                "cookie" => s.cookie = self.bytes(&kat, item)?,
                "peer_cookie" => s.peer_cookie = self.bytes(&kat, item)?,
                "interface_name" => {
                    let n = self.string(&kat, item)?;
                    if n.is_empty() || n.len() > 15 || n.contains(['/', ' ']) {
                        return Err(self.err(
                            &kat,
                            format!("expect an interface name of 1 to 15 characters, got {n:?}"),
                        ));
                    }
                    s.interface_name = Some(n);
                }
                "l2spec_type" => {
                    s.l2spec_type = self.choice(
                        &kat,
                        item,
                        "'none' or 'default'",
                        &[("none", L2SpecType::None), ("default", L2SpecType::Default)],
                    )?
                }
                "pppoe_session_id" => {
                    s.pppoe_session_id = Some(self.int(&kat, item, 1, 65535)? as u16)
                }
                "pppoe_peer_mac" => {
                    let b = self.bytes(&kat, item)?;
                    let mac: [u8; 6] = b
                        .as_slice()
                        .try_into()
                        .map_err(|_| self.err(&kat, format!("expect 6 bytes, got {}", b.len())))?;
                    s.pppoe_peer_mac = Some(mac);
                }
                "pppd_args" => s.pppd_args = Some(PathBuf::from(self.string(&kat, item)?)),
                "bridge" => {
                    let v = self.string(&kat, item)?;
                    match v.split_once('/') {
                        Some((t, n)) if !t.is_empty() && !n.is_empty() && !n.contains('/') => {
                            s.bridge = Some((t.to_string(), n.to_string()))
                        }
                        _ => {
                            return Err(
                                self.err(&kat, format!("expect \"TUNNEL/SESSION\", got {v:?}"))
                            )
                        }
                    }
                }
                "ppp" => {
                    s.ppp.mode = match self.string(&kat, item)?.as_str() {
                        "pppd" => PppMode::Pppd,
                        "builtin" => PppMode::Builtin,
                        other => {
                            return Err(self
                                .err(&kat, format!("expect 'pppd' or 'builtin', got {other:?}")))
                        }
                    }
                }
                "ppp_auth" => {
                    let mut v = Vec::new();
                    for m in self.strings(&kat, item)? {
                        let m = match m.as_str() {
                            "pap" => l2tp_ppp::AuthMethod::Pap,
                            "chap" => l2tp_ppp::AuthMethod::ChapMd5,
                            "mschapv2" => l2tp_ppp::AuthMethod::MsChapV2,
                            other => {
                                return Err(self.err(
                                    &kat,
                                    format!("expect 'chap', 'mschapv2' or 'pap', got {other:?}"),
                                ))
                            }
                        };
                        if v.contains(&m) {
                            return Err(self.err(&kat, format!("method {m:?} given twice")));
                        }
                        v.push(m);
                    }
                    s.ppp.auth = v;
                }
                "ppp_secrets" => s.ppp.secrets = Some(PathBuf::from(self.string(&kat, item)?)),
                "ppp_auth_source" => {
                    s.ppp.auth_source = self.choice(
                        &kat,
                        item,
                        "'secrets' or 'radius'",
                        &[
                            ("secrets", PppAuthSource::Secrets),
                            ("radius", PppAuthSource::Radius),
                        ],
                    )?
                }
                "ppp_user" => s.ppp.user = Some(self.string(&kat, item)?),
                "ppp_password" => s.ppp.password = Some(self.string(&kat, item)?),
                "ppp_local_ip" => s.ppp.local_ip = Some(self.ipv4(&kat, item)?),
                "ppp_pool" => {
                    let v = self.string(&kat, item)?;
                    let range = v.split_once('-').and_then(|(a, b)| {
                        Some((a.trim().parse::<Ipv4Addr>().ok()?, b.trim().parse().ok()?))
                    });
                    match range {
                        Some((a, b)) if u32::from(a) <= u32::from(b) => s.ppp.pool = Some((a, b)),
                        Some(_) => {
                            return Err(self.err(&kat, format!("range {v:?} ends before it starts")))
                        }
                        None => {
                            return Err(self.err(
                                &kat,
                                format!("expect \"FIRST-LAST\" IPv4 addresses, got {v:?}"),
                            ))
                        }
                    }
                }
                "ppp_dns" => {
                    let mut v = Vec::new();
                    for d in self.strings(&kat, item)? {
                        v.push(d.parse::<Ipv4Addr>().map_err(|_| {
                            self.err(&kat, format!("expect an IPv4 address, got {d:?}"))
                        })?);
                    }
                    if v.len() > 2 {
                        return Err(self.err(&kat, format!("at most 2 servers, got {}", v.len())));
                    }
                    s.ppp.dns = v;
                }
                "ppp_mru" => s.ppp.mru = Some(self.int(&kat, item, 128, 65535)? as u16),
                "ppp_echo_interval" => {
                    s.ppp.echo_interval = Some(self.int(&kat, item, 0, 86_400)? as u32)
                }
                "ppp_echo_failures" => {
                    s.ppp.echo_failures = Some(self.int(&kat, item, 1, 1000)? as u32)
                }
                "ppp_ipv6" => s.ppp.ipv6 = self.bool(&kat, item)?,
                _ => return Err(self.err(&kat, format!("unrecognised parameter '{k}'"))),
            }
        }

        if s.pseudowire != Pseudowire::Ppp && s.ppp != PppSettings::default() {
            let k = [
                "ppp",
                "ppp_auth",
                "ppp_secrets",
                "ppp_user",
                "ppp_password",
                "ppp_local_ip",
                "ppp_pool",
                "ppp_dns",
                "ppp_mru",
                "ppp_echo_interval",
                "ppp_echo_failures",
                "ppp_auth_source",
                "ppp_ipv6",
            ]
            .into_iter()
            .find(|k| t.contains_key(k))
            .unwrap_or("ppp_auth");
            return Err(self.err(&pos(k), "only applies to pseudowire 'ppp'"));
        }
        if s.ppp.pool.is_some() != s.ppp.local_ip.is_some() {
            let k = if s.ppp.pool.is_some() {
                "ppp_pool"
            } else {
                "ppp_local_ip"
            };
            return Err(self.err(&pos(k), "ppp_pool and ppp_local_ip go together"));
        }
        if s.ppp.user.is_some() != s.ppp.password.is_some() {
            let k = if s.ppp.user.is_some() {
                "ppp_user"
            } else {
                "ppp_password"
            };
            return Err(self.err(&pos(k), "ppp_user and ppp_password go together"));
        }

        if s.bridge.is_some() && s.pseudowire != Pseudowire::Ppp {
            return Err(self.err(&pos("bridge"), "only PPP sessions can be bridged"));
        }
        if s.bridge.is_some() && s.ppp.mode == PppMode::Builtin {
            return Err(self.err(
                &pos("ppp"),
                "a bridged session's PPP runs end to end through the bridge: not 'builtin'",
            ));
        }
        let v2 = tunnel.version == Version::V2;
        let id_max: u32 = if v2 { 65535 } else { u32::MAX };
        for (k, v) in [("sid", s.sid), ("psid", s.psid)] {
            if let Some(v) = v {
                if v > id_max {
                    return Err(self.err(&pos(k), format!("value {v} out of range 1..={id_max}")));
                }
            }
        }
        match (v2, s.pseudowire) {
            (true, pw @ (Pseudowire::Eth | Pseudowire::EthVlan)) => {
                return Err(self.err(
                    &pos("pseudowire"),
                    format!("expect 'ppp' or 'pppac' for an L2TPv2 tunnel, got \"{pw}\""),
                ))
            }
            (false, Pseudowire::Pppac) => {
                return Err(self.err(&pos("pseudowire"), "'pppac' needs an L2TPv2 tunnel"))
            }
            _ => {}
        }
        for k in ["cookie", "peer_cookie"] {
            let c = if k == "cookie" {
                &s.cookie
            } else {
                &s.peer_cookie
            };
            if ![0, 4, 8].contains(&c.len()) {
                return Err(self.err(&pos(k), format!("expect 0, 4 or 8 bytes, got {}", c.len())));
            }
            if v2 && !c.is_empty() {
                return Err(self.err(&pos(k), "cookies are L2TPv3 only"));
            }
        }
        if v2 && s.l2spec_type != L2SpecType::None {
            return Err(self.err(
                &pos("l2spec_type"),
                "the L2-Specific Sublayer is L2TPv3 only",
            ));
        }
        if s.pseudowire != Pseudowire::Pppac {
            for (k, set) in [
                ("pppoe_session_id", s.pppoe_session_id.is_some()),
                ("pppoe_peer_mac", s.pppoe_peer_mac.is_some()),
            ] {
                if set {
                    return Err(self.err(&pos(k), "only applies to pseudowire 'pppac'"));
                }
            }
        }
        if tunnel.kind != TunnelKind::Dynamic {
            for (k, missing) in [("sid", s.sid.is_none()), ("psid", s.psid.is_none())] {
                if missing {
                    return Err(self.err(
                        at,
                        format!(
                            "missing parameter '{k}' (required in a static or quiescent tunnel)"
                        ),
                    ));
                }
            }
        }
        Ok(s)
    }
}

/// Parses "host:port", "[v6]:port", or an address without port (port 1701). Host names are
/// resolved (first address).
fn parse_addr(s: &str) -> Result<SocketAddr, &'static str> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, DEFAULT_PORT));
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => {
            (h, p.parse::<u16>().map_err(|_| "expect \"host:port\"")?)
        }
        Some(_) => return Err("expect \"host:port\" (IPv6 as \"[addr]:port\")"),
        None => (s, DEFAULT_PORT),
    };
    if host.is_empty() {
        return Err("expect \"host:port\"");
    }
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or("could not resolve address")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let cx = Cx {
            text: "a\nbc\n",
            path: "x",
        };
        assert_eq!(cx.line_col(0), (1, 1));
        assert_eq!(cx.line_col(3), (2, 2));
    }

    #[test]
    fn parse_addr_forms() {
        assert_eq!(parse_addr("10.0.0.1:1702").unwrap().port(), 1702);
        assert_eq!(parse_addr("10.0.0.1").unwrap().port(), 1701);
        assert!(parse_addr("[::1]:1701").unwrap().is_ipv6());
        assert!(parse_addr("::1").unwrap().is_ipv6());
        assert!(parse_addr("10.0.0.1:x").is_err());
    }
}
