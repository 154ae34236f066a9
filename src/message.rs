//! System messages: what the runtime itself tells an actor (R9).
//!
//! They reach actors through [`Actor`](crate::Actor)'s `on_io`,
//! `on_child_exit`, `on_down` and `on_exit` methods, so users never add them
//! to their own message type, and they travel in a lane of the mailbox that the capacity does not
//! bound: a full mailbox never blocks them.

use crate::{ActorId, Readiness};
use std::os::fd::RawFd;

/// Readiness of a watched fd (R16). At most one undelivered `IoEvent` per fd
/// is queued; while the condition holds and the watch stays, another follows
/// after the owner's turn (level-triggered).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoEvent {
    /// The watched fd.
    pub fd: RawFd,
    /// What it is ready for: the watched directions, plus error and hang-up.
    pub readiness: Readiness,
}

/// Why an actor ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StopReason {
    /// It returned [`Flow::Stop`](crate::Flow::Stop) or was stopped by id.
    Normal,
    /// It returned [`Flow::Fail`](crate::Flow::Fail) or was failed by id.
    Fail,
    /// Its behavior panicked; the panic was caught and the loop went on (R11).
    Panic,
}

impl StopReason {
    /// Whether the exit counts as abnormal (fail or panic), as supervisors see it.
    pub fn is_abnormal(self) -> bool {
        !matches!(self, StopReason::Normal)
    }
}

/// A child ended: sent to its parent (the `parent` of its spawn options, or
/// its supervisor) after the child's teardown (R13).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildExit {
    /// The child that ended (its id is already stale).
    pub child: ActorId,
    /// Why it ended.
    pub reason: StopReason,
}

/// A monitor: what [`Core::monitor`](crate::Core::monitor) returns, and what
/// [`Core::demonitor`](crate::Core::demonitor) takes. Unique in its loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MonitorRef {
    pub(crate) watcher: ActorId,
    pub(crate) target: ActorId,
    pub(crate) n: u64,
}

impl MonitorRef {
    /// The monitored actor.
    pub fn target(self) -> ActorId {
        self.target
    }
}

/// Why a monitored actor is down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DownReason {
    /// It ended, for this reason.
    Exited(StopReason),
    /// It was not alive when the monitor was set (Erlang's `noproc`).
    NoSuchActor,
}

/// A monitored actor ended (R32): delivered to the watcher's
/// [`Actor::on_down`](crate::Actor::on_down), once per monitor, unless the
/// monitor was removed first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Down {
    /// The actor that ended (its id is already stale).
    pub id: ActorId,
    /// The monitor this is for.
    pub monitor: MonitorRef,
    /// Why.
    pub reason: DownReason,
}

/// A linked actor ended (R33), delivered to an actor that traps exits
/// ([`Core::trap_exits`](crate::Core::trap_exits)) through
/// [`Actor::on_exit`](crate::Actor::on_exit), instead of ending it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    /// The linked actor that ended (its id is already stale).
    pub id: ActorId,
    /// Why it ended.
    pub reason: StopReason,
}

/// A message of the reserved lane, before it reaches the behavior.
#[derive(Debug)]
pub(crate) enum SysEvent {
    Io {
        fd: RawFd,
        token: u64,
        readiness: Readiness,
    },
    ChildExit(ChildExit),
    /// Boxed: the largest event, rare, and every message of every mailbox
    /// is as large as the largest event (`mailbox::Item`).
    Down(Box<Down>),
    Exit(Exit),
}

#[cfg(test)]
mod tests {
    /// Every message slot of a mailbox is as large as the largest runtime
    /// event: events stay small (a rare large one goes in a box).
    #[test]
    fn a_runtime_event_stays_at_24_bytes() {
        assert_eq!(std::mem::size_of::<super::SysEvent>(), 24);
    }
}
