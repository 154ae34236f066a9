//! Errors of the public API.
//!
//! One [`Error`] enum with a stable numeric code per variant (the C ABI's
//! `jzx_err` values), and [`SendError`], which hands a refused message back.

use std::fmt;

/// Why a call failed.
///
/// Each variant has a fixed code ([`Error::code`]) equal to the C ABI's
/// `jzx_err` value, so C, Zig and Rust agree on what went wrong.
///
/// # Examples
///
/// ```
/// use jzx::Error;
/// assert_eq!(Error::NoSuchActor.code(), -5);
/// assert_eq!(Error::MailboxFull.to_string(), "mailbox full");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// Something failed that has no better description (`JZX_ERR_UNKNOWN`).
    Unknown,
    /// An allocation failed (`JZX_ERR_NO_MEMORY`).
    NoMemory,
    /// An argument was out of range: fd < 0, empty interest, a name already
    /// taken, a call that makes no sense here (`JZX_ERR_INVALID_ARG`).
    InvalidArg,
    /// The loop is gone, or `run` was called from inside a behavior
    /// (`JZX_ERR_LOOP_CLOSED`).
    LoopClosed,
    /// No live actor has this id: never spawned, dead, or a stale id whose
    /// slot was reused (`JZX_ERR_NO_SUCH_ACTOR`).
    NoSuchActor,
    /// The target's mailbox is at its capacity (`JZX_ERR_MAILBOX_FULL`).
    MailboxFull,
    /// The timer already fired, was cancelled, or never existed
    /// (`JZX_ERR_TIMER_INVALID`).
    TimerInvalid,
    /// The event loop refused to watch the fd (`JZX_ERR_IO_REG_FAILED`); for
    /// example, it is not open, or `max_io_watchers` is reached.
    IoRegFailed,
    /// The fd is not watched (`JZX_ERR_IO_NOT_WATCHED`).
    IoNotWatched,
    /// The actor table is full (`JZX_ERR_MAX_ACTORS`).
    MaxActors,
    /// A supervised child is between incarnations (it ended and its
    /// supervisor has not started the next one yet); sends through its
    /// [`ChildRef`](crate::ChildRef) are refused until it is back (C code
    /// `JZX_ERR_NO_SUCH_ACTOR`).
    ChildRestarting,
    /// A child's factory panicked while its supervisor started it (C code
    /// `JZX_ERR_UNKNOWN`). See [`ChildSpec::new`](crate::ChildSpec::new).
    FactoryPanicked,
    /// A loop of a [`Runtime`](crate::Runtime) panicked outside any
    /// behavior: in a closure given to
    /// [`Runtime::on_loop`](crate::Runtime::on_loop) (the loop goes on), or
    /// in the runtime itself, or its thread is gone (C code
    /// `JZX_ERR_UNKNOWN`).
    LoopPanicked,
}

impl Error {
    /// The stable numeric code of this error, as in the C header `jzx.h`.
    pub fn code(self) -> i32 {
        match self {
            Error::Unknown | Error::FactoryPanicked | Error::LoopPanicked => -1,
            Error::NoMemory => -2,
            Error::InvalidArg => -3,
            Error::LoopClosed => -4,
            Error::NoSuchActor | Error::ChildRestarting => -5,
            Error::MailboxFull => -7,
            Error::TimerInvalid => -8,
            Error::IoRegFailed => -9,
            Error::IoNotWatched => -10,
            Error::MaxActors => -11,
        }
    }

    /// The error with this code; `None` for 0 (success) and unknown codes.
    pub fn from_code(code: i32) -> Option<Error> {
        [
            Error::Unknown,
            Error::NoMemory,
            Error::InvalidArg,
            Error::LoopClosed,
            Error::NoSuchActor,
            Error::MailboxFull,
            Error::TimerInvalid,
            Error::IoRegFailed,
            Error::IoNotWatched,
            Error::MaxActors,
        ]
        .into_iter()
        .find(|e| e.code() == code)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Unknown => "unknown error",
            Error::NoMemory => "out of memory",
            Error::InvalidArg => "invalid argument",
            Error::LoopClosed => "loop closed",
            Error::NoSuchActor => "no such actor",
            Error::MailboxFull => "mailbox full",
            Error::TimerInvalid => "invalid timer",
            Error::IoRegFailed => "fd registration failed",
            Error::IoNotWatched => "fd not watched",
            Error::MaxActors => "actor table full",
            Error::ChildRestarting => "child is waiting to be restarted",
            Error::FactoryPanicked => "a child factory panicked",
            Error::LoopPanicked => "a loop's thread panicked",
        })
    }
}

impl std::error::Error for Error {}

/// A refused send: why, and the message itself, handed back (R8).
///
/// # Examples
///
/// ```
/// use jzx::{Error, SendError};
/// let e = SendError { error: Error::MailboxFull, message: "hello" };
/// assert_eq!(e.into_message(), "hello");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SendError<M> {
    /// Why the message was refused.
    pub error: Error,
    /// The message, untouched.
    pub message: M,
}

impl<M> SendError<M> {
    /// Takes the message back.
    pub fn into_message(self) -> M {
        self.message
    }
}

impl<M> fmt::Debug for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<M> fmt::Display for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "send refused: {}", self.error)
    }
}

impl<M> std::error::Error for SendError<M> {}

impl<M> From<SendError<M>> for Error {
    fn from(e: SendError<M>) -> Error {
        e.error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_c_abi_values_and_round_trip() {
        let expected = [
            (Error::Unknown, -1),
            (Error::NoMemory, -2),
            (Error::InvalidArg, -3),
            (Error::LoopClosed, -4),
            (Error::NoSuchActor, -5),
            (Error::MailboxFull, -7),
            (Error::TimerInvalid, -8),
            (Error::IoRegFailed, -9),
            (Error::IoNotWatched, -10),
            (Error::MaxActors, -11),
        ];
        for (e, code) in expected {
            assert_eq!(e.code(), code);
            assert_eq!(Error::from_code(code), Some(e));
        }
        assert_eq!(Error::from_code(0), None);
        assert_eq!(Error::from_code(-6), None);
    }
}
