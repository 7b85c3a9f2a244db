//! pppd secrets files (`/etc/ppp/chap-secrets`, `/etc/ppp/pap-secrets`): parser and lookup
//! with pppd's rules (pppd(8) "AUTHENTICATION"; `getword` in pppd/options.c and
//! `scan_authfile`, `set_allowed_addrs` in pppd/auth.c).
//!
//! # Format
//! Each entry is `client server secret [address ...] [-- option ...]`. Words are split as
//! pppd's `getword` splits them:
//! - blanks (space, tab, CR, VT, FF) separate words; a newline ends an entry;
//! - `#` starts a comment to the end of the line, unless quoted or escaped;
//! - `"..."` and `'...'` quote (spaces, `#` and newlines inside are literal); quoted and
//!   unquoted parts of one word join up: `ab"c d"e` is the word `abc de`;
//! - backslash escapes, inside quotes too: `\a \b \f \n \r \t`, `\s` (space), `\ddd`
//!   (1–3 octal digits), `\xhh` (1–2 hex digits); any other character stands for itself;
//! - a backslash before a newline joins the two lines (an entry may continue on the next
//!   line), between words and inside a word.
//!
//! `*` alone as client or server matches any name. A secret `@/path` names a file whose
//! first word is the secret: the parser returns it as [`Secret::File`] and reads nothing
//! (see [`indirect_secret`]). Address words: `-` (no address allowed, ends the list), `*`
//! (any), `[!]a.b.c.d[/n[+]]`, or a host name; words after `--` are pppd options.
//!
//! # Differences from pppd, all on input pppd only warns about
//! Errors instead of warnings: a quote left open at the end of the file, a word longer
//! than pppd's 1023 bytes (pppd truncates it), a NUL byte in a word (pppd's C strings end
//! there), an address word pppd could not use (bad prefix length, bad characters). An
//! entry with fewer than three words is skipped, as pppd does, and reported in
//! [`Secrets::warnings`].
//!
//! # Limits
//! Input over [`MAX_FILE_BYTES`] or with a line over [`MAX_LINE_BYTES`] is rejected.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

/// Largest secrets file accepted, in bytes (16 MiB).
pub const MAX_FILE_BYTES: usize = 16 * 1024 * 1024;
/// Longest line accepted, in bytes, not counting the newline (64 KiB).
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Longest word accepted after quotes and escapes are resolved, in bytes: pppd's
/// `MAXWORDLEN` (1024) less its terminating NUL.
pub const MAX_WORD_BYTES: usize = 1023;

/// Why a secrets file was rejected, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct ParseError {
    /// 1-based line number of the problem; 0 when it concerns the whole input (its size).
    pub line: usize,
    /// What was wrong.
    pub reason: String,
}

/// Something pppd accepts silently but that is probably a mistake; parsing went on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseWarning {
    /// 1-based line number.
    pub line: usize,
    /// What was odd.
    pub reason: String,
}

/// The secret field of an entry.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// The secret itself, bytes as written after quotes and escapes are resolved. For
    /// MS-CHAP the caller needs it as UTF-8 text.
    Literal(Vec<u8>),
    /// `@/path`: the secret is the first word of that file (pppd reads it at lookup time
    /// with the same word rules; see [`indirect_secret`]). The path starts with `/`.
    File(PathBuf),
}

impl Secret {
    /// The secret bytes when the secret is written in the file, `None` for `@/path`.
    pub fn literal(&self) -> Option<&[u8]> {
        match self {
            Secret::Literal(s) => Some(s),
            Secret::File(_) => None,
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Literal(s) => write!(f, "Literal(<{} bytes, redacted>)", s.len()),
            Secret::File(p) => f.debug_tuple("File").field(p).finish(),
        }
    }
}

/// One word of the address list (pppd(8) "AUTHENTICATION", pppd `set_allowed_addrs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrSpec {
    /// `-`: no address is allowed; pppd reads no further address words.
    None,
    /// `*`: any address is allowed; pppd reads no further address words.
    Any,
    /// A numeric IPv4 address or subnet.
    Net {
        /// `false` for a word starting with `!` (the address or subnet is refused).
        permit: bool,
        /// The address as written (host bits are masked when matching).
        addr: Ipv4Addr,
        /// Prefix length in bits, 1–32; 32 when no `/n` is written.
        prefix_len: u8,
        /// `/n+`: one address of the subnet, host part = PPP unit number + 1.
        unit_offset: bool,
    },
    /// A host (or network) name, to be resolved by the caller; the parser does no DNS.
    Name {
        /// `false` for a word starting with `!`.
        permit: bool,
        /// The name: ASCII letters, digits, `.`, `-`, `_`.
        name: String,
        /// `/n` when written, else `None` (a single host).
        prefix_len: Option<u8>,
        /// `/n+`, as for [`AddrSpec::Net`].
        unit_offset: bool,
    },
}

/// One entry (logical line) of a secrets file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretEntry {
    /// Client name (first field), bytes as written; `*` is the wildcard.
    pub client: Vec<u8>,
    /// Server name (second field), bytes as written; `*` is the wildcard.
    pub server: Vec<u8>,
    /// The secret (third field).
    pub secret: Secret,
    /// Address words (fourth field on, up to `--`). Empty: no address is allowed
    /// (pppd(8): "If there are only 3 words on the line ... all IP addresses are
    /// disallowed").
    pub addresses: Vec<AddrSpec>,
    /// Words after `--`: extra pppd options for this client, kept as text.
    pub options: Vec<String>,
    /// 1-based line number where the entry starts.
    pub line: usize,
}

impl SecretEntry {
    /// Whether `addr` is allowed to the peer by this entry's address list, as pppd's
    /// `ip_addr_check` decides: the first word whose subnet holds `addr` decides (`!`
    /// refuses), `-` or the end of the list refuses, `*` allows. `unit` is the PPP unit
    /// number used by `/n+` words. `resolve` turns a host name into an address; a name it
    /// cannot resolve is skipped, as pppd skips an unknown host. pppd's refusal of
    /// loopback and multicast addresses (`auth_ip_addr`) is the caller's.
    pub fn address_permitted(
        &self,
        addr: Ipv4Addr,
        unit: u32,
        mut resolve: impl FnMut(&str) -> Option<Ipv4Addr>,
    ) -> bool {
        let addr = u32::from(addr);
        for rule in self.rules(unit, &mut resolve) {
            match rule {
                Rule::Stop => return false,
                Rule::Match { permit, base, mask } => {
                    if addr & mask == base {
                        return permit;
                    }
                }
            }
        }
        false
    }

    /// The address pppd would offer the peer from this entry (`set_allowed_addrs`'
    /// `suggested_ip`): the first single address (no subnet, or `/n+`) in the list that is
    /// allowed. pppd also picks a `!`-refused single address here; this does not.
    pub fn suggested_address(
        &self,
        unit: u32,
        mut resolve: impl FnMut(&str) -> Option<Ipv4Addr>,
    ) -> Option<Ipv4Addr> {
        for rule in self.rules(unit, &mut resolve) {
            match rule {
                Rule::Stop => return None,
                Rule::Match {
                    permit: true,
                    base,
                    mask: u32::MAX,
                } => return Some(Ipv4Addr::from(base)),
                Rule::Match { .. } => {}
            }
        }
        None
    }

    fn rules<'a, F: FnMut(&str) -> Option<Ipv4Addr>>(
        &'a self,
        unit: u32,
        resolve: &'a mut F,
    ) -> impl Iterator<Item = Rule> + 'a {
        let mut stopped = false;
        self.addresses.iter().filter_map(move |spec| {
            if stopped {
                return None;
            }
            let (permit, base, prefix_len, unit_offset) = match spec {
                AddrSpec::None => {
                    stopped = true;
                    return Some(Rule::Stop);
                }
                AddrSpec::Any => {
                    stopped = true;
                    return Some(Rule::Match {
                        permit: true,
                        base: 0,
                        mask: 0,
                    });
                }
                AddrSpec::Net {
                    permit,
                    addr,
                    prefix_len,
                    unit_offset,
                } => (*permit, u32::from(*addr), *prefix_len, *unit_offset),
                AddrSpec::Name {
                    permit,
                    name,
                    prefix_len,
                    unit_offset,
                } => {
                    let addr = resolve(name)?;
                    (
                        *permit,
                        u32::from(addr),
                        prefix_len.unwrap_or(32),
                        *unit_offset,
                    )
                }
            };
            // prefix_len is 1..=32 (checked by the parser), so the shift is 0..=31.
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix_len))
                .unwrap_or(0);
            if unit_offset {
                let offset = unit.checked_add(1)?;
                if offset >= !mask {
                    return None; // pppd: "interface unit too large for subnet"
                }
                return Some(Rule::Match {
                    permit,
                    base: (base & mask) | offset,
                    mask: u32::MAX,
                });
            }
            Some(Rule::Match {
                permit,
                base: base & mask,
                mask,
            })
        })
    }
}

enum Rule {
    Stop,
    Match { permit: bool, base: u32, mask: u32 },
}

/// A parsed secrets file, indexed for lookup by (client, server).
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    entries: Vec<SecretEntry>,
    warnings: Vec<ParseWarning>,
    /// Non-wild client and server: key `client NUL server` (words never hold NUL).
    exact: HashMap<Vec<u8>, usize>,
    /// Non-wild client, `*` server.
    by_client: HashMap<Vec<u8>, usize>,
    /// `*` client, non-wild server.
    by_server: HashMap<Vec<u8>, usize>,
    /// `*` client and `*` server.
    any: Option<usize>,
}

const WILD: &[u8] = b"*";

impl Secrets {
    /// Parses the text of a secrets file. See the module docs for the format, the limits
    /// and the errors.
    pub fn parse(text: &str) -> Result<Secrets, ParseError> {
        Self::parse_bytes(text.as_bytes())
    }

    /// Parses a secrets file given as bytes (pppd does not require UTF-8; names and
    /// secrets are compared as bytes).
    pub fn parse_bytes(input: &[u8]) -> Result<Secrets, ParseError> {
        check_limits(input)?;
        let mut tokens = Tokenizer::new(input);
        let mut secrets = Secrets::default();
        let mut line_words: Vec<Word> = Vec::new();
        loop {
            let word = tokens.next_word()?;
            let ends_entry = !matches!(
                word,
                Some(Word {
                    newline_before: false,
                    ..
                })
            );
            if ends_entry && !line_words.is_empty() {
                secrets.add_line(std::mem::take(&mut line_words))?;
            }
            match word {
                Some(w) => line_words.push(w),
                None => break,
            }
        }
        Ok(secrets)
    }

    fn add_line(&mut self, words: Vec<Word>) -> Result<(), ParseError> {
        let line = words.first().map_or(0, |w| w.line);
        let mut it = words.into_iter();
        let (Some(client), Some(server), Some(secret)) = (it.next(), it.next(), it.next()) else {
            self.warnings.push(ParseWarning {
                line,
                reason: "entry has fewer than 3 words (client server secret); ignored as pppd does"
                    .to_owned(),
            });
            return Ok(());
        };
        let secret = match secret.bytes.strip_prefix(b"@") {
            Some(path) if path.starts_with(b"/") => {
                let path = String::from_utf8(path.to_vec()).map_err(|_| ParseError {
                    line: secret.line,
                    reason: "secret file path (@/...) is not UTF-8".to_owned(),
                })?;
                Secret::File(PathBuf::from(path))
            }
            _ => Secret::Literal(secret.bytes),
        };
        let mut addresses = Vec::new();
        let mut options = Vec::new();
        let mut in_options = false;
        for w in it {
            if in_options {
                options.push(String::from_utf8(w.bytes).map_err(|_| ParseError {
                    line: w.line,
                    reason: "option word after -- is not UTF-8".to_owned(),
                })?);
            } else if w.bytes == b"--" {
                in_options = true;
            } else {
                addresses.push(parse_addr(&w.bytes).map_err(|reason| ParseError {
                    line: w.line,
                    reason: format!(
                        "address word {:?}: {reason}",
                        String::from_utf8_lossy(&w.bytes)
                    ),
                })?);
            }
        }
        let index = self.entries.len();
        let (cw, sw) = (client.bytes == WILD, server.bytes == WILD);
        match (cw, sw) {
            (false, false) => {
                let mut key = Vec::with_capacity(client.bytes.len() + 1 + server.bytes.len());
                key.extend_from_slice(&client.bytes);
                key.push(0);
                key.extend_from_slice(&server.bytes);
                self.exact.entry(key).or_insert(index);
            }
            (false, true) => {
                self.by_client.entry(client.bytes.clone()).or_insert(index);
            }
            (true, false) => {
                self.by_server.entry(server.bytes.clone()).or_insert(index);
            }
            (true, true) => {
                self.any.get_or_insert(index);
            }
        }
        self.entries.push(SecretEntry {
            client: client.bytes,
            server: server.bytes,
            secret,
            addresses,
            options,
            line,
        });
        Ok(())
    }

    /// The entry pppd's `scan_authfile` would pick for `client` authenticating to
    /// `server`: the best match, i.e. the fewest wildcards, with a non-wild client
    /// beating a non-wild server (exact/exact, then client/`*`, then `*`/server, then
    /// `*`/`*`); among equals the first in the file. Names compare as bytes, case
    /// sensitive. One hash lookup per class, no scan.
    pub fn lookup(&self, client: &str, server: &str) -> Option<&SecretEntry> {
        self.lookup_bytes(client.as_bytes(), server.as_bytes())
    }

    /// [`Secrets::lookup`] for names given as bytes (a CHAP Name field as received).
    pub fn lookup_bytes(&self, client: &[u8], server: &[u8]) -> Option<&SecretEntry> {
        let exact = if client.contains(&0) || server.contains(&0) {
            None // no word holds NUL, and NUL separates the exact key
        } else {
            let mut key = Vec::with_capacity(client.len() + 1 + server.len());
            key.extend_from_slice(client);
            key.push(0);
            key.extend_from_slice(server);
            self.exact.get(&key).copied()
        };
        let index = exact
            .or_else(|| self.by_client.get(client).copied())
            .or_else(|| self.by_server.get(server).copied())
            .or(self.any)?;
        self.entries.get(index)
    }

    /// All entries, in file order.
    pub fn entries(&self) -> &[SecretEntry] {
        &self.entries
    }

    /// Lines pppd would silently ignore (entries of fewer than 3 words).
    pub fn warnings(&self) -> &[ParseWarning] {
        &self.warnings
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the file holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The secret held in an `@/path` secret file, given that file's contents: its first word,
/// split with the same rules as the secrets file (pppd `scan_authfile`). `Ok(None)` when
/// the file holds no word (pppd then ignores the entry). The same size limits apply.
pub fn indirect_secret(contents: &[u8]) -> Result<Option<Vec<u8>>, ParseError> {
    check_limits(contents)?;
    Ok(Tokenizer::new(contents).next_word()?.map(|w| w.bytes))
}

fn check_limits(input: &[u8]) -> Result<(), ParseError> {
    if input.len() > MAX_FILE_BYTES {
        return Err(ParseError {
            line: 0,
            reason: format!(
                "input is {} bytes, more than the {MAX_FILE_BYTES} accepted",
                input.len()
            ),
        });
    }
    for (i, line) in input.split(|&b| b == b'\n').enumerate() {
        if line.len() > MAX_LINE_BYTES {
            return Err(ParseError {
                line: i + 1,
                reason: format!(
                    "line is {} bytes, more than the {MAX_LINE_BYTES} accepted",
                    line.len()
                ),
            });
        }
    }
    Ok(())
}

/// Parses one address word (pppd `set_allowed_addrs`); `Err` says why pppd could not
/// use it.
fn parse_addr(word: &[u8]) -> Result<AddrSpec, String> {
    match word {
        b"-" => return Ok(AddrSpec::None),
        b"*" => return Ok(AddrSpec::Any),
        _ => {}
    }
    let (permit, rest) = match word.strip_prefix(b"!") {
        Some(rest) => (false, rest),
        None => (true, word),
    };
    let (host, prefix_len, unit_offset) = match rest.iter().position(|&b| b == b'/') {
        None => (rest, None, false),
        Some(slash) => {
            let host = rest.get(..slash).unwrap_or_default();
            let spec = rest.get(slash + 1..).unwrap_or_default();
            let (digits, unit_offset) = match spec.strip_suffix(b"+") {
                Some(d) => (d, true),
                None => (spec, false),
            };
            let n = std::str::from_utf8(digits)
                .ok()
                .filter(|d| !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit()))
                .and_then(|d| d.parse::<u8>().ok())
                .filter(|n| (1..=32).contains(n))
                .ok_or_else(|| "prefix length after / is not a number from 1 to 32".to_owned())?;
            (host, Some(n), unit_offset)
        }
    };
    if host.is_empty() {
        return Err("no address before the prefix length".to_owned());
    }
    let host = std::str::from_utf8(host).map_err(|_| "not an IPv4 address or host name")?;
    if let Ok(addr) = host.parse::<Ipv4Addr>() {
        return Ok(AddrSpec::Net {
            permit,
            addr,
            prefix_len: prefix_len.unwrap_or(32),
            unit_offset,
        });
    }
    if !host
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
    {
        return Err("not an IPv4 address or host name".to_owned());
    }
    Ok(AddrSpec::Name {
        permit,
        name: host.to_owned(),
        prefix_len,
        unit_offset,
    })
}

/// One word, with whether a newline came before it (pppd `getword`'s `newlinep`).
struct Word {
    bytes: Vec<u8>,
    newline_before: bool,
    line: usize,
}

/// pppd `getword` over a byte slice.
struct Tokenizer<'a> {
    input: &'a [u8],
    pos: usize,
    /// 1-based line of `input[pos]`.
    line: usize,
    /// The start of input counts as a newline (pppd `scan_authfile` forces it for the
    /// first word).
    first: bool,
}

/// C `isspace` in the C locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C)
}

impl<'a> Tokenizer<'a> {
    fn new(input: &'a [u8]) -> Self {
        Tokenizer {
            input,
            pos: 0,
            line: 1,
            first: true,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn bump(&mut self) {
        if self.peek() == Some(b'\n') {
            self.line += 1;
        }
        self.pos += 1;
    }

    fn err(&self, line: usize, reason: impl Into<String>) -> ParseError {
        ParseError {
            line,
            reason: reason.into(),
        }
    }

    /// The next word, or `None` at the end of the input.
    fn next_word(&mut self) -> Result<Option<Word>, ParseError> {
        let mut newline_before = std::mem::take(&mut self.first);
        let mut escape = false;
        let mut comment = false;
        // Skip blanks, comments and backslash-newlines up to the start of a word.
        loop {
            let Some(c) = self.peek() else {
                return Ok(None);
            };
            if c == b'\n' {
                self.bump();
                if escape {
                    escape = false; // backslash-newline: the line continues
                } else {
                    newline_before = true;
                    comment = false;
                }
                continue;
            }
            if comment {
                self.bump();
                continue;
            }
            if escape || !(is_space(c) || c == b'\\' || c == b'#') {
                break; // a word starts at `c` (escaped if `escape`)
            }
            self.bump();
            match c {
                b'\\' => escape = true,
                b'#' => comment = true,
                _ => {}
            }
        }

        let line = self.line;
        let mut bytes = Vec::new();
        let mut quote: Option<u8> = None;
        while let Some(c) = self.peek() {
            let value = if escape {
                escape = false;
                match self.escape_value(c) {
                    Some(v) => v,
                    None => continue, // backslash-newline inside a word
                }
            } else if c == b'\\' {
                self.bump();
                escape = true;
                continue;
            } else if quote == Some(c) {
                self.bump();
                quote = None;
                continue;
            } else if quote.is_none() && (c == b'"' || c == b'\'') {
                self.bump();
                quote = Some(c);
                continue;
            } else if quote.is_none() && (is_space(c) || c == b'#') {
                break;
            } else {
                self.bump();
                c
            };
            if value == 0 {
                return Err(self.err(
                    self.line,
                    "NUL byte in a word (pppd would cut the word there)",
                ));
            }
            if bytes.len() >= MAX_WORD_BYTES {
                return Err(self.err(
                    line,
                    format!("word longer than {MAX_WORD_BYTES} bytes (pppd's limit)"),
                ));
            }
            bytes.push(value);
        }
        if quote.is_some() {
            return Err(self.err(line, "quoted word runs to the end of the file"));
        }
        Ok(Some(Word {
            bytes,
            newline_before,
            line,
        }))
    }

    /// Consumes the escape sequence whose first character (after the backslash) is `c`
    /// and returns its value; `None` for backslash-newline.
    fn escape_value(&mut self, c: u8) -> Option<u8> {
        self.bump();
        let v = match c {
            b'\n' => return None,
            b'a' => 0x07,
            b'b' => 0x08,
            b'f' => 0x0C,
            b'n' => b'\n',
            b'r' => b'\r',
            b's' => b' ',
            b't' => b'\t',
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ b'0'..=b'7') => {
                            self.bump();
                            v = v * 8 + u32::from(d - b'0');
                        }
                        _ => break,
                    }
                }
                // Up to \777 = 511: pppd stores it in a char, keeping the low 8 bits.
                (v & 0xFF) as u8
            }
            b'x' => {
                let mut v = 0u8;
                for _ in 0..2 {
                    match self.peek().and_then(|d| (d as char).to_digit(16)) {
                        Some(d) => {
                            self.bump();
                            v = (v << 4) | d as u8;
                        }
                        None => break,
                    }
                }
                v
            }
            other => other,
        };
        Some(v)
    }
}
