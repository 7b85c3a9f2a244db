//! The crate's error type: kernel refusals named by object and, for missing modules, by module.

use std::fmt;
use std::io;

/// What an operation was about, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    /// A tunnel, by local id.
    Tunnel(u32),
    /// A session, by tunnel id and local session id.
    Session {
        /// Tunnel id.
        tunnel: u32,
        /// Session id.
        session: u32,
    },
    /// The generic netlink family itself.
    Family,
    /// A socket or device that is not a tunnel or a session.
    Other(&'static str),
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Object::Tunnel(t) => write!(f, "tunnel {t}"),
            Object::Session { tunnel, session } => {
                write!(f, "session {session} in tunnel {tunnel}")
            }
            Object::Family => f.write_str("genl family l2tp"),
            Object::Other(s) => f.write_str(s),
        }
    }
}

/// Errors of the L2TP data plane.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A kernel module the operation needs is not loaded (and could not be auto-loaded).
    #[error("kernel module {module} not loaded ({what})")]
    ModuleMissing {
        /// The module's name, e.g. `l2tp_netlink`.
        module: &'static str,
        /// What was being done.
        what: String,
    },
    /// The object already exists (EEXIST).
    #[error("{object} already exists")]
    Exists {
        /// Which one.
        object: Object,
    },
    /// The object does not exist (ENOENT / ENODEV on lookup).
    #[error("{object} not found")]
    NotFound {
        /// Which one.
        object: Object,
    },
    /// Any other refusal by the kernel.
    #[error("{what} ({object}): {source}")]
    Kernel {
        /// The operation, e.g. "create tunnel".
        what: &'static str,
        /// Which object.
        object: Object,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A reply could not be decoded.
    #[error("cannot decode netlink reply: {0}")]
    Decode(String),
    /// The request itself is invalid (checked before asking the kernel).
    #[error("invalid request: {0}")]
    Invalid(String),
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Build an error from an errno returned for `what` on `object`; `module` is the kernel module
    /// whose absence `EPROTONOSUPPORT` (or `EAFNOSUPPORT`) means here.
    pub(crate) fn from_errno(
        errno: i32,
        what: &'static str,
        object: Object,
        module: &'static str,
    ) -> Self {
        match errno {
            libc::EEXIST => Error::Exists { object },
            // l2tp_netlink answers ENODEV for an unknown tunnel or session id.
            libc::ENOENT | libc::ENODEV => Error::NotFound { object },
            libc::EPROTONOSUPPORT | libc::EAFNOSUPPORT | libc::ESOCKTNOSUPPORT => {
                Error::ModuleMissing {
                    module,
                    what: format!("{what} {object}"),
                }
            }
            _ => Error::Kernel {
                what,
                object,
                source: io::Error::from_raw_os_error(errno),
            },
        }
    }

    /// Same, from an `io::Error` of a syscall.
    pub(crate) fn from_io(
        e: io::Error,
        what: &'static str,
        object: Object,
        module: &'static str,
    ) -> Self {
        match e.raw_os_error() {
            Some(errno) => Self::from_errno(errno, what, object, module),
            None => Error::Kernel {
                what,
                object,
                source: e,
            },
        }
    }

    /// The errno behind this error, if any (EEXIST for `Exists`, ...).
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Exists { .. } => Some(libc::EEXIST),
            Error::NotFound { .. } => Some(libc::ENOENT),
            Error::ModuleMissing { .. } => Some(libc::EPROTONOSUPPORT),
            Error::Kernel { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}
