//! The loop's counters and their snapshot, [`Metrics`].
//!
//! The counters are plain integers the loop bumps on paths it takes anyway
//! (a send, a timer firing, a readiness event, a turn): no atomics, no
//! clock, no allocation. [`Core::metrics`](crate::Core::metrics) copies them out.

use std::fmt;

/// A snapshot of a loop's counters, from [`Core::metrics`](crate::Core::metrics). The counts are
/// totals since the loop was created (over every call of `run`).
///
/// # Examples
///
/// ```
/// use jzx::{Actor, Context, Flow, Loop};
///
/// struct Sink;
/// impl Actor for Sink {
///     type Msg = u8;
///     fn handle(&mut self, _cx: &mut Context<'_, Self>, _: u8) -> Flow {
///         Flow::Stop
///     }
/// }
///
/// let mut lp = Loop::new()?;
/// let sink = lp.spawn(Sink)?;
/// lp.send(sink, 1)?;
/// lp.run()?;
/// let m = lp.metrics();
/// assert_eq!((m.delivered, m.refused, m.live_actors), (1, 0, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Metrics {
    /// Messages put in a mailbox: each accepted send on the loop, and each
    /// message from another thread when it reaches the mailbox (at once, or
    /// later from the queue where it waited for room). Timer messages and
    /// runtime events are not counted.
    pub delivered: u64,
    /// Mailbox refusals the [`Observer`](crate::Observer) is told of
    /// (`on_mailbox_full`): a send on the loop refused because the target's
    /// mailbox is full (the message is handed back), and a message from
    /// another thread refused for that reason when no message for the same
    /// target is waiting already; it then waits for room, and it and the
    /// messages queued behind it are not counted again.
    pub refused: u64,
    /// Turns of [`Loop::run`](crate::Loop::run): each delivers cross-thread
    /// messages, fires due timers and runs the actors runnable at its start.
    pub turns: u64,
    /// Timer firings: due timers whose message was handed to their target
    /// (an interval counts each time it fires).
    pub timers_fired: u64,
    /// fd readiness events delivered to the actors that watch the fds.
    pub io_events: u64,
    /// Dead letters: messages dropped because their receiver ended (see
    /// [`Observer::on_dead_letters`](crate::Observer::on_dead_letters)).
    pub dead_letters: u64,
    /// Actors alive now.
    pub live_actors: usize,
}

/// One line, for logs: `delivered 4, refused 1, turns 2, timers fired 0,
/// I/O events 0, dead letters 0, live actors 0`.
impl fmt::Display for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "delivered {}, refused {}, turns {}, timers fired {}, I/O events {}, dead letters {}, live actors {}",
            self.delivered,
            self.refused,
            self.turns,
            self.timers_fired,
            self.io_events,
            self.dead_letters,
            self.live_actors
        )
    }
}

/// The counters a loop keeps; see [`Metrics`] for their meaning.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) delivered: u64,
    pub(crate) refused: u64,
    pub(crate) turns: u64,
    pub(crate) timers_fired: u64,
    pub(crate) io_events: u64,
    pub(crate) dead_letters: u64,
}

impl Counters {
    /// The counters as a [`Metrics`], with `live_actors` live actors.
    pub(crate) fn snapshot(&self, live_actors: usize) -> Metrics {
        Metrics {
            delivered: self.delivered,
            refused: self.refused,
            turns: self.turns,
            timers_fired: self.timers_fired,
            io_events: self.io_events,
            dead_letters: self.dead_letters,
            live_actors,
        }
    }
}
