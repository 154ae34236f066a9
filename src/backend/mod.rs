//! The seam between the runtime and the event loop.
//!
//! Everything the runtime needs from the operating system goes through
//! [`xev::Reactor`], a safe wrapper over the Zig bridge (`zig-src/jzx_xev.zig`),
//! which in turn drives libxev. This is the contract the rest of the crate
//! relies on:
//!
//! - `Reactor::new(kind)` creates a loop on a backend ([`BackendKind`]);
//!   `BackendKind::Auto` honours `JZX_BACKEND=epoll|io_uring|kqueue`, else picks
//!   io_uring and falls back to epoll where io_uring is unavailable;
//! - `Reactor::run(timeout)` runs one tick and reports what happened: fd
//!   readiness (level-triggered, with [`Readiness`] bits), timer expiry, wakeup;
//! - `Reactor::waker()` gives a `Send + Sync` handle that ends a blocked run
//!   from any thread;
//! - one re-armable timer (`timer_set`, `timer_clear`), millisecond resolution;
//! - `watch`/`unwatch` of fds, READ, WRITE or both ([`Interest`]). After
//!   `unwatch` returns, no readiness is reported for that watch.
//!
//! Besides the bridge, the loop reads the system's monotonic clock here
//! (`time.rs`): precisely, and coarsely (a few nanoseconds a read, behind by
//! up to about a tick), so that a turn can rule out its timers cheaply.
//!
//! bindgen's types never leave this module, and every FFI `unsafe` of the
//! crate lives in `xev.rs` (the bridge), `time.rs` (the clock) and
//! `affinity.rs` (pinning a runtime's loops to CPUs).

pub(crate) mod affinity;
mod sys;
pub(crate) mod time;
pub(crate) mod xev;

use std::fmt;
use std::ops::BitOr;

/// The event-loop backend a loop runs on.
///
/// # Examples
///
/// ```
/// use jzx::BackendKind;
/// assert_eq!(BackendKind::Epoll.to_string(), "epoll");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum BackendKind {
    /// `JZX_BACKEND` when set, else the best available: io_uring, falling back
    /// to epoll, on Linux; kqueue on macOS and the BSDs.
    #[default]
    Auto,
    /// Linux io_uring (readiness through `IORING_OP_POLL_ADD`).
    IoUring,
    /// Linux epoll.
    Epoll,
    /// kqueue (macOS, FreeBSD and the other BSDs).
    Kqueue,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendKind::Auto => "auto",
            BackendKind::IoUring => "io_uring",
            BackendKind::Epoll => "epoll",
            BackendKind::Kqueue => "kqueue",
        })
    }
}

/// Which directions of an fd to watch: [`Interest::READ`], [`Interest::WRITE`]
/// or both (`Interest::READ | Interest::WRITE`).
///
/// # Examples
///
/// ```
/// use jzx::Interest;
/// let both = Interest::READ | Interest::WRITE;
/// assert!(both.is_readable() && both.is_writable());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interest(u32);

impl Interest {
    /// Readable: data, EOF, or a pending connection on a listener.
    pub const READ: Interest = Interest(READ_BIT);
    /// Writable: room in the send buffer.
    pub const WRITE: Interest = Interest(WRITE_BIT);

    /// Whether READ is part of this interest.
    pub fn is_readable(self) -> bool {
        self.0 & READ_BIT != 0
    }

    /// Whether WRITE is part of this interest.
    pub fn is_writable(self) -> bool {
        self.0 & WRITE_BIT != 0
    }

    /// The bits as the C ABI writes them (`JZX_IO_READ = 1`, `JZX_IO_WRITE = 2`).
    pub fn bits(self) -> u32 {
        self.0
    }

    /// An interest from C ABI bits; `None` when no direction (or an unknown
    /// bit) is given.
    pub fn from_bits(bits: u32) -> Option<Interest> {
        (bits != 0 && bits & !(READ_BIT | WRITE_BIT) == 0).then_some(Interest(bits))
    }
}

impl BitOr for Interest {
    type Output = Interest;
    fn bitor(self, rhs: Interest) -> Interest {
        Interest(self.0 | rhs.0)
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_readable(), self.is_writable()) {
            (true, true) => f.write_str("READ | WRITE"),
            (true, false) => f.write_str("READ"),
            _ => f.write_str("WRITE"),
        }
    }
}

pub(crate) const READ_BIT: u32 = 0x1;
pub(crate) const WRITE_BIT: u32 = 0x2;
pub(crate) const ERROR_BIT: u32 = 0x4;
pub(crate) const HANGUP_BIT: u32 = 0x8;

/// What an fd is ready for, as reported by a readiness event.
///
/// Only watched directions are reported (a READ watch never reports
/// writable); error and hang-up are reported whatever the interest.
///
/// # Examples
///
/// ```
/// use jzx::Readiness;
/// let r = Readiness::from_bits(0x1 | 0x8);
/// assert!(r.is_readable() && r.is_hangup() && !r.is_writable());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Readiness(u32);

impl Readiness {
    /// Readable (or EOF: a read returns 0).
    pub fn is_readable(self) -> bool {
        self.0 & READ_BIT != 0
    }
    /// Writable.
    pub fn is_writable(self) -> bool {
        self.0 & WRITE_BIT != 0
    }
    /// An error condition on the fd (`POLLERR`, or an fd the kernel refused).
    pub fn is_error(self) -> bool {
        self.0 & ERROR_BIT != 0
    }
    /// The peer hung up (`POLLHUP`).
    pub fn is_hangup(self) -> bool {
        self.0 & HANGUP_BIT != 0
    }
    /// The raw bits: READ `0x1`, WRITE `0x2`, ERROR `0x4`, HANGUP `0x8` (the
    /// first two match the C ABI's `JZX_IO_READ` and `JZX_IO_WRITE`).
    pub fn bits(self) -> u32 {
        self.0
    }
    /// Readiness from raw bits (unknown bits are dropped).
    pub fn from_bits(bits: u32) -> Readiness {
        Readiness(bits & (READ_BIT | WRITE_BIT | ERROR_BIT | HANGUP_BIT))
    }
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (READ_BIT, "READ"),
            (WRITE_BIT, "WRITE"),
            (ERROR_BIT, "ERROR"),
            (HANGUP_BIT, "HANGUP"),
        ];
        let set: Vec<&str> = names
            .iter()
            .filter(|(b, _)| self.0 & b != 0)
            .map(|(_, n)| *n)
            .collect();
        if set.is_empty() {
            f.write_str("(none)")
        } else {
            f.write_str(&set.join(" | "))
        }
    }
}
