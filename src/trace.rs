//! Tracing of the loop's life (feature `tracing`): one macro per event, so
//! the runtime's code says what happened in one line and never names the
//! `tracing` crate. Without the feature every macro expands to nothing: its
//! arguments are not even evaluated.
//!
//! Everything is emitted with target `jzx`:
//!
//! | what | level | message | fields |
//! |---|---|---|---|
//! | an actor started | DEBUG | `actor started` | `actor`, `name` (when it has one) |
//! | an actor stopped | DEBUG | `actor stopped` | `actor`, `reason` (`Normal`, `Fail`) |
//! | a supervisor restarted a child | INFO | `actor restarted` | `supervisor`, `child`, `attempt` |
//! | a supervisor gave up | WARN | `supervisor escalated` | `supervisor` |
//! | a full mailbox refused a message (each time [`Metrics::refused`](crate::Metrics::refused) counts) | DEBUG | `mailbox full` | `actor` |
//! | a loop turn (a span) | TRACE | `turn` | `turn` (its number, from 1) |

/// An actor was spawned (`id`, `name: Option<&str>`).
macro_rules! trace_actor_start {
    ($id:expr, $name:expr) => {
        #[cfg(feature = "tracing")]
        ::tracing::debug!(target: "jzx", actor = %$id, name = $name, "actor started");
    };
}

/// An actor was torn down (`id`, `reason: StopReason`).
macro_rules! trace_actor_stop {
    ($id:expr, $reason:expr) => {
        #[cfg(feature = "tracing")]
        ::tracing::debug!(target: "jzx", actor = %$id, reason = ?$reason, "actor stopped");
    };
}

/// A supervisor restarted a child (`supervisor`, `child`, `attempt`).
macro_rules! trace_actor_restart {
    ($sup:expr, $child:expr, $attempt:expr) => {
        #[cfg(feature = "tracing")]
        ::tracing::info!(
            target: "jzx",
            supervisor = %$sup,
            child = %$child,
            attempt = $attempt,
            "actor restarted"
        );
    };
}

/// A supervisor exceeded its restart intensity, or could not start a child.
macro_rules! trace_escalate {
    ($sup:expr) => {
        #[cfg(feature = "tracing")]
        ::tracing::warn!(target: "jzx", supervisor = %$sup, "supervisor escalated");
    };
}

/// A full mailbox refused a message: a send on the loop, or a message from
/// another thread that starts waiting for room (those queued behind it are
/// not told again). Where the observer's `on_mailbox_full` is called.
macro_rules! trace_mailbox_full {
    ($id:expr) => {
        #[cfg(feature = "tracing")]
        ::tracing::debug!(target: "jzx", actor = %$id, "mailbox full");
    };
}

/// Enters the span of loop turn number `$n`; it ends when the returned guard
/// is dropped. Without the feature the guard is [`NoSpan`].
macro_rules! trace_turn {
    ($n:expr) => {{
        #[cfg(feature = "tracing")]
        let guard = ::tracing::trace_span!(target: "jzx", "turn", turn = $n).entered();
        #[cfg(not(feature = "tracing"))]
        let guard = $crate::trace::NoSpan;
        guard
    }};
}

pub(crate) use {
    trace_actor_restart, trace_actor_start, trace_actor_stop, trace_escalate, trace_mailbox_full,
    trace_turn,
};

/// What [`trace_turn!`] returns without the feature: a guard that holds and
/// does nothing.
#[cfg(not(feature = "tracing"))]
pub(crate) struct NoSpan;
