//! Who may use a PPP session terminated in this process ([`Authenticator`], with the local
//! [`SecretsAuthenticator`] over a pppd `chap-secrets` file) and which address it gets
//! ([`AddressPool`], or the authenticator's [`Authorization`]).

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use l2tp_ppp::secrets::{indirect_secret, Secret, Secrets};
use l2tp_ppp::{verify_local, AuthRequest, Verdict};

use crate::dataplane::SessionStats;

/// A verdict that is not known yet (a RADIUS round trip, say).
pub type PendingVerdict = Pin<Box<dyn Future<Output = AuthOutcome> + Send + 'static>>;

/// What an [`Authenticator`] answers: at once, or later.
pub enum AuthAnswer {
    /// The verdict, known now (local secrets; no authorization attributes).
    Now(Verdict),
    /// The verdict once this future completes; the session's PPP waits meanwhile (its
    /// authentication timers still run), other sessions do not.
    Later(PendingVerdict),
}

/// A verdict with what the authentication server decided about the session (RFC 2865 §5
/// reply attributes). `Default` authorizes nothing beyond the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authorization {
    /// Framed-IP-Address: the peer's IPv4 address in IPCP instead of a pool address (`None`:
    /// the pool's; RADIUS 255.255.255.254 "NAS assigns" is given as `None`).
    pub framed_ip: Option<Ipv4Addr>,
    /// Session-Timeout: the session is cleared this long after PPP comes up.
    pub session_timeout: Option<Duration>,
    /// Idle-Timeout as given (carried for accounting and `show`; not enforced).
    pub idle_timeout: Option<Duration>,
    /// Acct-Interim-Interval: seconds between accounting Interim-Updates.
    pub interim_interval: Option<Duration>,
    /// Class attributes, in order, to echo in every accounting request (RFC 2865 §5.25).
    pub class: Vec<Vec<u8>>,
}

/// The result of a deferred check: the verdict for PPP and the authorization it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthOutcome {
    /// Accept (with the MS-CHAPv2 Authenticator Response) or reject (with the message, the
    /// RADIUS Reply-Message when there was one).
    pub verdict: Verdict,
    /// Authorization attributes of an accept (empty for a reject).
    pub authorization: Authorization,
}

impl From<Verdict> for AuthOutcome {
    fn from(verdict: Verdict) -> Self {
        AuthOutcome {
            verdict,
            authorization: Authorization::default(),
        }
    }
}

/// The session a credential check is for (RADIUS NAS-Port, Calling-/Called-Station-Id,
/// Tunnel-Client/Server-Endpoint, RFC 2865 §5.5/§5.30/§5.31, RFC 2868 §3.3/§3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthContext {
    /// Local tunnel ID.
    pub tunnel_id: u32,
    /// Local session ID (RADIUS NAS-Port).
    pub session_id: u32,
    /// The call's Calling Number AVP (RFC 2661 §4.4.5), as sent (bytes).
    pub calling_number: Option<Vec<u8>>,
    /// The call's Called Number AVP, as sent.
    pub called_number: Option<Vec<u8>>,
    /// The tunnel's peer (the LAC; RADIUS Tunnel-Client-Endpoint).
    pub tunnel_peer: SocketAddr,
    /// Our end of the tunnel, when bound to one address (Tunnel-Server-Endpoint).
    pub tunnel_local: Option<IpAddr>,
}

/// Why a session ended, for RADIUS Acct-Terminate-Cause (RFC 2866 §5.10 values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminateCause {
    /// The user (peer) ended it: LCP Terminate-Request, or the LAC's CDN (1).
    UserRequest,
    /// The peer vanished: LCP echo or L2TP keepalive timeout (2).
    LostCarrier,
    /// The service ended under the session: its tunnel went down (3).
    LostService,
    /// Idle-Timeout expired (4).
    IdleTimeout,
    /// Session-Timeout expired (5).
    SessionTimeout,
    /// An operator or a Disconnect-Request ended it (6).
    AdminReset,
    /// The daemon is stopping (7).
    AdminReboot,
    /// Something failed on our side (9).
    NasError,
}

impl TerminateCause {
    /// The Acct-Terminate-Cause value (RFC 2866 §5.10).
    pub fn code(self) -> u32 {
        match self {
            TerminateCause::UserRequest => 1,
            TerminateCause::LostCarrier => 2,
            TerminateCause::LostService => 3,
            TerminateCause::IdleTimeout => 4,
            TerminateCause::SessionTimeout => 5,
            TerminateCause::AdminReset => 6,
            TerminateCause::AdminReboot => 7,
            TerminateCause::NasError => 9,
        }
    }

    /// The cause of an [`l2tp_ppp::Event::Down`] reason: an unanswered LCP echo is a lost
    /// carrier, anything else the peer or the link ended.
    pub fn from_ppp_reason(reason: &str) -> TerminateCause {
        if reason.starts_with("peer not responding") {
            TerminateCause::LostCarrier
        } else if reason.starts_with("peer requested termination") {
            TerminateCause::UserRequest
        } else {
            TerminateCause::NasError
        }
    }
}

/// A RADIUS Class for people (`show`, logs): the text when it is printable ASCII, else
/// `0x` and hex digits, as FreeRADIUS prints octets.
pub fn printable_class(c: &[u8]) -> String {
    if !c.is_empty() && c.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        String::from_utf8_lossy(c).into_owned()
    } else {
        let mut s = String::from("0x");
        for b in c {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }
}

/// A running session's handle for its authenticator: counters now, and a way to end it.
pub trait SessionControl: Send + Sync {
    /// The data plane's counters of the session (`None` once it is gone).
    fn stats(&self) -> Option<SessionStats>;
    /// Ends the session: PPP sends an LCP Terminate-Request with `reason`, goes down, and the
    /// driver clears the session with a CDN (at once if the peer does not acknowledge). Call
    /// it inside a tokio runtime.
    fn terminate(&self, reason: &str);
}

/// A session whose PPP reached the network phase (IPCP up), for accounting.
pub struct SessionUp {
    /// Which session, where from.
    pub context: Arc<AuthContext>,
    /// The authenticated user name.
    pub username: String,
    /// The peer's IPv4 address.
    pub address: Ipv4Addr,
    /// What the authenticator decided at the check.
    pub authorization: Authorization,
    /// Counters and termination.
    pub control: Arc<dyn SessionControl>,
}

/// Checks the credentials a PPP peer presented to an LNS session (PAP, CHAP-MD5,
/// MS-CHAPv2), and (default no-ops) hears about the session's life for accounting. Called on
/// the session's task; must not block: a check that needs I/O returns [`AuthAnswer::Later`].
pub trait Authenticator: Send + Sync {
    /// The verdict on `req` for the session `ctx`. For MS-CHAPv2 an accepting verdict
    /// carries the Authenticator Response (RFC 2759 §5).
    fn check(&self, ctx: &Arc<AuthContext>, req: &AuthRequest) -> AuthAnswer;

    /// The session's IPCP came up after this authenticator accepted it.
    fn session_up(&self, _up: SessionUp) {}

    /// The session is going down for `cause` (PPP saw why); its final counters follow with
    /// [`Authenticator::session_gone`].
    fn session_ending(&self, _tunnel_id: u32, _session_id: u32, _cause: TerminateCause) {}

    /// The session's data plane objects are gone; `stats` are its final counters.
    fn session_gone(&self, _tunnel_id: u32, _session_id: u32, _stats: SessionStats) {}
}

/// The local authenticator: a pppd `chap-secrets`-format file (pppd(8) "AUTHENTICATION";
/// parsed by [`l2tp_ppp::secrets`]). An entry matches when its client field is the user
/// name (or `*`) and its server field is `server_name` (or `*`); `@/path` secrets are read
/// from their file at check time, as pppd does. Address restrictions in the file are not
/// applied (addresses come from the session's `ppp_pool`).
#[derive(Debug)]
pub struct SecretsAuthenticator {
    secrets: Secrets,
    server_name: String,
}

impl SecretsAuthenticator {
    /// Parses secrets text; `server_name` is our name for the server field.
    ///
    /// # Errors
    /// The parser's error, with its line number.
    pub fn parse(text: &[u8], server_name: &str) -> Result<Self, String> {
        let secrets = Secrets::parse_bytes(text).map_err(|e| e.to_string())?;
        Ok(SecretsAuthenticator {
            secrets,
            server_name: server_name.to_string(),
        })
    }

    /// Reads and parses the file at `path`.
    ///
    /// # Errors
    /// The file cannot be read, or `PATH:LINE: what` for a parse error.
    pub fn from_file(path: &Path, server_name: &str) -> Result<Self, String> {
        let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::parse(&text, server_name).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn secret_for(&self, user: &[u8]) -> Result<String, String> {
        let entry = self
            .secrets
            .lookup_bytes(user, self.server_name.as_bytes())
            .ok_or("no secret for this user")?;
        let bytes = match &entry.secret {
            Secret::Literal(b) => b.clone(),
            Secret::File(p) => {
                let text = std::fs::read(p).map_err(|_| "secret file unreadable")?;
                indirect_secret(&text)
                    .map_err(|_| "secret file unreadable")?
                    .unwrap_or_default()
            }
        };
        String::from_utf8(bytes).map_err(|_| "secret is not UTF-8".into())
    }
}

impl Authenticator for SecretsAuthenticator {
    fn check(&self, _ctx: &Arc<AuthContext>, req: &AuthRequest) -> AuthAnswer {
        AuthAnswer::Now(match self.secret_for(req.username()) {
            Ok(secret) => verify_local(req, &secret),
            Err(why) => {
                tracing::info!(user = %String::from_utf8_lossy(req.username()), why, "PPP authentication refused");
                Verdict::Reject {
                    message: "Authentication failed".into(),
                }
            }
        })
    }
}

/// A range of IPv4 addresses handed to PPP peers: O(1) allocation (the never-used part is a
/// counter, returned addresses a stack) and O(1) release. Memory grows only with the
/// addresses returned (4 bytes each), never with the range's size.
#[derive(Debug)]
pub struct AddressPool {
    first: u32,
    last: u32,
    /// The next never-used address; past `last` when all have been used once.
    next: u64,
    free: Vec<u32>,
    in_use: usize,
}

impl AddressPool {
    /// The addresses `first..=last` (an empty pool when `last < first`).
    pub fn new(first: Ipv4Addr, last: Ipv4Addr) -> Self {
        AddressPool {
            first: u32::from(first),
            last: u32::from(last),
            next: u64::from(u32::from(first)),
            free: Vec::new(),
            in_use: 0,
        }
    }

    /// An address not in use, lowest never-used first, else the last one released; `None`
    /// when the pool is exhausted.
    pub fn allocate(&mut self) -> Option<Ipv4Addr> {
        let a = match self.free.pop() {
            Some(a) => a,
            None if self.next <= u64::from(self.last) => {
                let a = self.next as u32;
                self.next += 1;
                a
            }
            None => return None,
        };
        self.in_use += 1;
        Some(Ipv4Addr::from(a))
    }

    /// Returns `addr` to the pool. An address outside the range or never handed out is
    /// ignored (no double free: the caller holds a [`Lease`]).
    pub fn release(&mut self, addr: Ipv4Addr) {
        let a = u32::from(addr);
        if a < self.first || a > self.last || u64::from(a) >= self.next || self.in_use == 0 {
            return;
        }
        self.free.push(a);
        self.in_use -= 1;
    }

    /// Addresses handed out and not released.
    pub fn in_use(&self) -> usize {
        self.in_use
    }
}

/// An address taken from a shared pool, returned when dropped (the session goes).
#[derive(Debug)]
pub struct Lease {
    pool: Arc<Mutex<AddressPool>>,
    addr: Ipv4Addr,
}

impl Lease {
    /// Takes an address from `pool`; `None` when it is exhausted.
    pub fn take(pool: &Arc<Mutex<AddressPool>>) -> Option<Lease> {
        let addr = pool.lock().ok()?.allocate()?;
        Some(Lease {
            pool: pool.clone(),
            addr,
        })
    }

    /// The leased address.
    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Ok(mut p) = self.pool.lock() {
            p.release(self.addr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use l2tp_ppp::AuthMethod;

    #[test]
    fn pool_hands_out_lowest_first_reuses_released_and_runs_dry() {
        let mut p = AddressPool::new("10.0.0.2".parse().unwrap(), "10.0.0.4".parse().unwrap());
        let a: Vec<_> = (0..3).map(|_| p.allocate().unwrap()).collect();
        assert_eq!(
            a,
            ["10.0.0.2", "10.0.0.3", "10.0.0.4"].map(|s| s.parse::<Ipv4Addr>().unwrap())
        );
        assert_eq!(p.allocate(), None, "exhausted");
        assert_eq!(p.in_use(), 3);
        p.release(a[1]);
        p.release("10.0.0.9".parse().unwrap()); // not ours: ignored
        assert_eq!(p.in_use(), 2);
        assert_eq!(p.allocate(), Some(a[1]));
        assert_eq!(p.allocate(), None);
        // The whole IPv4 space: no allocation proportional to the range.
        let mut big = AddressPool::new(Ipv4Addr::new(0, 0, 0, 1), Ipv4Addr::BROADCAST);
        assert_eq!(big.allocate(), Some(Ipv4Addr::new(0, 0, 0, 1)));
        let mut last = AddressPool::new(Ipv4Addr::BROADCAST, Ipv4Addr::BROADCAST);
        assert_eq!(last.allocate(), Some(Ipv4Addr::BROADCAST));
        assert_eq!(last.allocate(), None, "no wrap past 255.255.255.255");
    }

    #[test]
    fn lease_returns_its_address_when_dropped() {
        let pool = Arc::new(Mutex::new(AddressPool::new(
            "10.1.0.1".parse().unwrap(),
            "10.1.0.1".parse().unwrap(),
        )));
        let l = Lease::take(&pool).unwrap();
        assert_eq!(l.addr(), "10.1.0.1".parse::<Ipv4Addr>().unwrap());
        assert!(Lease::take(&pool).is_none());
        drop(l);
        assert_eq!(pool.lock().unwrap().in_use(), 0);
        assert!(Lease::take(&pool).is_some());
    }

    fn ctx() -> Arc<AuthContext> {
        Arc::new(AuthContext {
            tunnel_id: 1,
            session_id: 2,
            calling_number: None,
            called_number: None,
            tunnel_peer: "192.0.2.1:1701".parse().unwrap(),
            tunnel_local: None,
        })
    }

    fn verdict(a: AuthAnswer) -> Verdict {
        match a {
            AuthAnswer::Now(v) => v,
            AuthAnswer::Later(_) => panic!("local checks answer at once"),
        }
    }

    #[test]
    fn secrets_authenticator_checks_pap_and_chap_against_the_file() {
        let auth = SecretsAuthenticator::parse(
            b"# client server secret addresses\nalice * \"wonder land\" *\nbob lns bobpw *\ncarol other carolpw *\n",
            "lns",
        )
        .unwrap();
        let pap = |u: &str, p: &str| AuthRequest::Pap {
            username: u.into(),
            password: p.into(),
        };
        assert!(matches!(
            verdict(auth.check(&ctx(), &pap("alice", "wonder land"))),
            Verdict::Accept { .. }
        ));
        assert!(matches!(
            verdict(auth.check(&ctx(), &pap("alice", "wonder"))),
            Verdict::Reject { .. }
        ));
        assert!(matches!(
            verdict(auth.check(&ctx(), &pap("bob", "bobpw"))),
            Verdict::Accept { .. }
        ));
        // carol's entry is for another server; nobody's is for mallory.
        assert!(matches!(
            verdict(auth.check(&ctx(), &pap("carol", "carolpw"))),
            Verdict::Reject { .. }
        ));
        assert!(matches!(
            verdict(auth.check(&ctx(), &pap("mallory", ""))),
            Verdict::Reject { .. }
        ));
        // CHAP-MD5: the response is MD5(id || secret || challenge) (RFC 1994 §4.1).
        let challenge = vec![7u8; 16];
        let good = l2tp_ppp::auth::chap_md5(9, b"bobpw", &challenge).to_vec();
        let chap = |response: Vec<u8>| AuthRequest::ChapMd5 {
            username: b"bob".to_vec(),
            id: 9,
            challenge: challenge.clone(),
            response,
        };
        assert_eq!(chap(good.clone()).method(), AuthMethod::ChapMd5);
        assert!(matches!(
            verdict(auth.check(&ctx(), &chap(good))),
            Verdict::Accept { .. }
        ));
        let bad = l2tp_ppp::auth::chap_md5(9, b"nope", &challenge).to_vec();
        assert!(matches!(
            verdict(auth.check(&ctx(), &chap(bad))),
            Verdict::Reject { .. }
        ));
    }

    #[test]
    fn a_broken_secrets_file_is_an_error_naming_the_line() {
        let e = SecretsAuthenticator::parse(b"alice * \"unterminated\n", "lns").unwrap_err();
        assert!(e.contains("line"), "{e}");
        let e = SecretsAuthenticator::from_file(Path::new("/nonexistent/chap-secrets"), "x")
            .unwrap_err();
        assert!(e.contains("/nonexistent/chap-secrets"), "{e}");
    }
}
