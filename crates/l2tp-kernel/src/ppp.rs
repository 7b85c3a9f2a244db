//! `/dev/ppp`: PPP channels (one per PPPoL2TP session) and units (`pppN` interfaces).
//!
//! Without pppd: create a unit, attach to the session's channel, connect the channel to the
//! unit, set the network protocols to pass (`PPPIOCSNPMODE`) and configure `pppN` with `ip`.
//! Or bridge two channels (`PPPIOCBRIDGECHAN`, kernel ≥ 5.13) to switch a session into another.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use crate::error::{Error, Object, Result};
use crate::socket::ioctl_int;

const PPPIOCATTCHAN: libc::c_ulong = 0x4004_7438;
const PPPIOCNEWUNIT: libc::c_ulong = 0xc004_743e;
const PPPIOCCONNECT: libc::c_ulong = 0x4004_743a;
const PPPIOCDISCONN: libc::c_ulong = 0x0000_7439;
const PPPIOCBRIDGECHAN: libc::c_ulong = 0x4004_7435;
const PPPIOCUNBRIDGECHAN: libc::c_ulong = 0x0000_7434;
/// `_IOW('t', 75, struct npioctl)`.
const PPPIOCSNPMODE: libc::c_ulong = 0x4008_744b;

/// PPP protocol number of IPv4 (for [`PppUnit::set_np_mode`]).
pub const PPP_IP: u16 = 0x0021;
/// PPP protocol number of IPv6.
pub const PPP_IPV6: u16 = 0x0057;

/// What a unit does with packets of a network protocol (`enum NPmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpMode {
    /// Pass the packet through.
    Pass = 0,
    /// Silently drop.
    Drop = 1,
    /// Return an error.
    Error = 2,
    /// Queue it.
    Queue = 3,
}

/// `struct npioctl { int protocol; enum NPmode mode; }`.
#[repr(C)]
struct NpIoctl {
    protocol: i32,
    mode: i32,
}

fn open_dev_ppp() -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/ppp")
        .map_err(|e| {
            let module = "ppp_generic";
            if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENODEV) {
                Error::ModuleMissing {
                    module,
                    what: format!("open /dev/ppp: {e}"),
                }
            } else {
                Error::from_io(e, "open", Object::Other("/dev/ppp"), module)
            }
        })
}

/// Sets or clears `O_NONBLOCK` on a `/dev/ppp` file (for an event loop: reads then fail with
/// `WouldBlock` instead of waiting).
fn set_nonblocking(file: &File, on: bool) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: F_GETFL takes no argument and only reads the flags of a descriptor we own.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    let flags = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: F_SETFL takes an int of flags; the descriptor is ours and open.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn no_arg_ioctl(fd: RawFd, req: libc::c_ulong) -> io::Result<()> {
    // SAFETY: the requests passed here (PPPIOCDISCONN, PPPIOCUNBRIDGECHAN) take no argument.
    let rc = unsafe { libc::ioctl(fd, req as _, 0) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A `pppN` network interface (a PPP unit). Dropping it removes the interface.
#[derive(Debug)]
pub struct PppUnit {
    file: File,
    unit: u32,
}

impl PppUnit {
    /// Create a unit: `Some(n)` asks for `pppn`, `None` takes the next free number.
    pub fn new(unit: Option<u32>) -> Result<Self> {
        let file = open_dev_ppp()?;
        let mut v = unit.map_or(-1, |u| u as i32);
        ioctl_int(file.as_raw_fd(), PPPIOCNEWUNIT, &mut v)
            .map_err(|e| Error::from_io(e, "create", Object::Other("PPP unit"), "ppp_generic"))?;
        Ok(PppUnit {
            file,
            unit: v as u32,
        })
    }

    /// The unit number N.
    pub fn unit(&self) -> u32 {
        self.unit
    }

    /// The interface name, `pppN`.
    pub fn ifname(&self) -> String {
        format!("ppp{}", self.unit)
    }

    /// Set what happens to packets of network protocol `proto` ([`PPP_IP`], [`PPP_IPV6`]).
    /// Without pppd, set [`NpMode::Pass`] so data flows.
    pub fn set_np_mode(&self, proto: u16, mode: NpMode) -> Result<()> {
        let mut arg = NpIoctl {
            protocol: proto as i32,
            mode: mode as i32,
        };
        // SAFETY: PPPIOCSNPMODE reads one struct npioctl (two ints, 8 bytes, matching the size
        // encoded in the request number); `arg` is live and correctly laid out (#[repr(C)]).
        let rc = unsafe {
            libc::ioctl(
                self.file.as_raw_fd(),
                PPPIOCSNPMODE as _,
                &mut arg as *mut NpIoctl,
            )
        };
        if rc < 0 {
            return Err(Error::from_io(
                io::Error::last_os_error(),
                "set NP mode of",
                Object::Other("PPP unit"),
                "ppp_generic",
            ));
        }
        Ok(())
    }
}

impl PppUnit {
    /// Makes reads return `WouldBlock` instead of waiting (see [`PppUnit::read_frame`]).
    pub fn set_nonblocking(&self, on: bool) -> Result<()> {
        set_nonblocking(&self.file, on).map_err(|e| {
            Error::from_io(
                e,
                "set O_NONBLOCK on",
                Object::Other("PPP unit"),
                "ppp_generic",
            )
        })
    }

    /// Reads one frame the unit hands to user space: with a channel connected, the control
    /// frames of protocols below 0xc000 that are not network protocols the unit carries
    /// (IPCP 0x8021, IPV6CP 0x8057, CCP 0x80fd). The frame starts with the two-byte Protocol
    /// field (network order, never compressed), without Address and Control. `Ok(0)` means
    /// no channel is connected any more (end of file).
    ///
    /// # Errors
    /// `WouldBlock` (non-blocking, nothing queued); `EOVERFLOW` when `buf` is smaller than
    /// the frame (the frame is dropped).
    pub fn read_frame(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.file).read(buf)
    }
}

impl AsFd for PppUnit {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl AsRawFd for PppUnit {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

/// A `/dev/ppp` file attached to a PPP channel (a PPPoL2TP session's). Frames the unit does not
/// take (LCP, or all of them before [`PppChannel::connect`]) can be read here.
#[derive(Debug)]
pub struct PppChannel {
    file: File,
    index: u32,
}

impl PppChannel {
    /// Attach to channel `index` (from [`crate::socket::PppoL2tpSocket::channel_index`]).
    pub fn attach(index: u32) -> Result<Self> {
        let file = open_dev_ppp()?;
        let mut v = index as i32;
        ioctl_int(file.as_raw_fd(), PPPIOCATTCHAN, &mut v).map_err(|e| {
            Error::from_io(e, "attach", Object::Other("PPP channel"), "ppp_generic")
        })?;
        Ok(PppChannel { file, index })
    }

    /// The channel index.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Connect the channel to a unit: its data now flows through `pppN`.
    pub fn connect(&self, unit: &PppUnit) -> Result<()> {
        let mut v = unit.unit as i32;
        ioctl_int(self.file.as_raw_fd(), PPPIOCCONNECT, &mut v)
            .map_err(|e| Error::from_io(e, "connect", Object::Other("PPP channel"), "ppp_generic"))
    }

    /// Disconnect the channel from its unit.
    pub fn disconnect(&self) -> Result<()> {
        no_arg_ioctl(self.file.as_raw_fd(), PPPIOCDISCONN).map_err(|e| {
            Error::from_io(e, "disconnect", Object::Other("PPP channel"), "ppp_generic")
        })
    }

    /// Bridge this channel to channel `other`: frames received on one are sent on the other
    /// (both directions). Needs a kernel ≥ 5.13.
    pub fn bridge(&self, other: u32) -> Result<()> {
        let mut v = other as i32;
        ioctl_int(self.file.as_raw_fd(), PPPIOCBRIDGECHAN, &mut v)
            .map_err(|e| Error::from_io(e, "bridge", Object::Other("PPP channel"), "ppp_generic"))
    }

    /// Undo [`PppChannel::bridge`] (both directions).
    pub fn unbridge(&self) -> Result<()> {
        no_arg_ioctl(self.file.as_raw_fd(), PPPIOCUNBRIDGECHAN)
            .map_err(|e| Error::from_io(e, "unbridge", Object::Other("PPP channel"), "ppp_generic"))
    }

    /// Reads one PPP frame delivered to the channel: everything before
    /// [`PppChannel::connect`], after it the frames of protocols from 0xc000 up (LCP, PAP,
    /// CHAP, ...). The frame starts with the two-byte Protocol field (network order: the
    /// kernel undoes Protocol-Field-Compression), without Address and Control (PPPoL2TP strips
    /// `FF 03`). `Ok(0)` means the channel is gone (its PPPoL2TP socket closed).
    ///
    /// # Errors
    /// `WouldBlock` (non-blocking, nothing queued); `EOVERFLOW` when `buf` is smaller than
    /// the frame (the frame is dropped).
    pub fn read_frame(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.file).read(buf)
    }

    /// Sends one PPP frame on the channel: `frame` starts with the Protocol field, without
    /// Address and Control (PPPoL2TP puts `FF 03` in front, then the L2TP header). Returns the
    /// bytes taken (all of `frame`).
    ///
    /// # Errors
    /// `EOVERFLOW`-style refusals of the channel; `ENXIO` when the channel is gone.
    pub fn write_frame(&self, frame: &[u8]) -> io::Result<usize> {
        (&self.file).write(frame)
    }

    /// Makes reads return `WouldBlock` instead of waiting (see [`PppChannel::read_frame`]).
    pub fn set_nonblocking(&self, on: bool) -> Result<()> {
        set_nonblocking(&self.file, on).map_err(|e| {
            Error::from_io(
                e,
                "set O_NONBLOCK on",
                Object::Other("PPP channel"),
                "ppp_generic",
            )
        })
    }
}

impl AsRawFd for PppChannel {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

impl AsFd for PppChannel {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl From<PppChannel> for OwnedFd {
    fn from(c: PppChannel) -> OwnedFd {
        c.file.into()
    }
}

#[cfg(feature = "tokio")]
impl PppChannel {
    /// Registers the channel's file with the current tokio reactor (readable when a frame is
    /// queued, see [`PppChannel::read_frame`]). Call [`PppChannel::set_nonblocking`] first.
    ///
    /// # Errors
    /// The reactor's refusal; panics outside a tokio runtime (as `AsyncFd` does).
    pub fn into_async(self) -> io::Result<tokio::io::unix::AsyncFd<PppChannel>> {
        // SAFETY: the descriptor is the `File` this value owns: open for the whole life of the
        // AsyncFd (which owns the value), and `as_raw_fd` always returns that same one.
        unsafe { tokio::io::unix::AsyncFd::register(self) }.map_err(|e| e.into_parts().1)
    }
}

#[cfg(feature = "tokio")]
impl PppUnit {
    /// Registers the unit's file with the current tokio reactor (readable when a frame is
    /// queued, see [`PppUnit::read_frame`]). Call [`PppUnit::set_nonblocking`] first.
    ///
    /// # Errors
    /// The reactor's refusal; panics outside a tokio runtime (as `AsyncFd` does).
    pub fn into_async(self) -> io::Result<tokio::io::unix::AsyncFd<PppUnit>> {
        // SAFETY: as for PppChannel::into_async: the descriptor is the owned `File`'s.
        unsafe { tokio::io::unix::AsyncFd::register(self) }.map_err(|e| e.into_parts().1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `_IOC(dir, 't', nr, size)` as in asm-generic/ioctl.h.
    const fn ioc(dir: u64, nr: u64, size: u64) -> libc::c_ulong {
        ((dir << 30) | (size << 16) | ((b't' as u64) << 8) | nr) as libc::c_ulong
    }

    #[test]
    fn ioctl_numbers_match_linux_ppp_ioctl_h() {
        const W: u64 = 1;
        const R: u64 = 2;
        assert_eq!(PPPIOCATTCHAN, ioc(W, 56, 4));
        assert_eq!(PPPIOCNEWUNIT, ioc(R | W, 62, 4));
        assert_eq!(PPPIOCCONNECT, ioc(W, 58, 4));
        assert_eq!(PPPIOCDISCONN, ioc(0, 57, 0));
        assert_eq!(PPPIOCBRIDGECHAN, ioc(W, 53, 4));
        assert_eq!(PPPIOCUNBRIDGECHAN, ioc(0, 52, 0));
        assert_eq!(
            PPPIOCSNPMODE,
            ioc(W, 75, std::mem::size_of::<NpIoctl>() as u64)
        );
        assert_eq!(crate::socket::PPPIOCGCHAN, ioc(R, 55, 4));
    }
}
