//! Loop configuration and its defaults (R19).

use crate::{BackendKind, ClockKind, RunOrder};

/// How a [`Loop`](crate::Loop) is sized and scheduled. Every field is
/// honoured; `Config::default()` gives the defaults below.
///
/// # Examples
///
/// ```
/// use jzx::{Config, Loop};
/// let config = Config { default_mailbox_cap: 16, ..Config::default() };
/// let lp = Loop::with_config(config)?;
/// assert_eq!(lp.config().default_mailbox_cap, 16);
/// # Ok::<(), jzx::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Most actors alive at once; the actor table grows on demand up to this
    /// bound (R7). Default 4,194,304; at most 16,777,216 (2^24, the slots an
    /// [`ActorId`](crate::ActorId) can name), larger values mean that.
    pub max_actors: u32,
    /// Mailbox capacity of actors spawned without one (R8). Default 1024.
    pub default_mailbox_cap: u32,
    /// Messages one actor handles per turn before others run (R4). Default 64.
    /// A turn handles at most the messages queued when it starts: a message
    /// an actor sends itself is handled in its next turn. A turn of an actor
    /// whose reserved lane (readiness, child exits, timers) and user lane
    /// both hold messages handles one of each even at a budget of 1.
    pub max_msgs_per_actor: u32,
    /// Actors run per turn before I/O is polled again (R4). Default 1024.
    pub max_actors_per_tick: u32,
    /// Most fds watched at once; more is `IoRegFailed`. Default 1,048,576.
    pub max_io_watchers: u32,
    /// Longest a loop with nothing to do blocks in the event loop before it
    /// looks again at its own state, in ms (a safety net: wakeups, timers and
    /// I/O end a block at once). Default 1000.
    pub io_poll_timeout_ms: u32,
    /// Cross-thread messages a loop holds at most: sent through a
    /// [`LoopHandle`](crate::LoopHandle) and not yet in their target's
    /// mailbox (queued, or waiting for room in a full one). A send beyond
    /// it is refused with `MailboxFull` and the message comes back (R14).
    /// So are sends to a target that already has its share waiting (its
    /// mailbox capacity, or a quarter of this bound if more) until it has
    /// caught up: one slow actor cannot take the bound from the others.
    /// Default 65,536.
    pub cross_thread_cap: u32,
    /// The event-loop backend. Default [`BackendKind::Auto`].
    pub backend: BackendKind,
    /// The clock timers and supervision count on. Default
    /// [`ClockKind::Monotonic`]; [`ClockKind::Virtual`] for tests.
    pub clock: ClockKind,
    /// The order among the actors runnable in one turn. Default
    /// [`RunOrder::Fifo`]; [`RunOrder::Shuffled`] for tests.
    pub run_order: RunOrder,
}

impl Config {
    /// Default of [`Config::max_actors`].
    pub const DEFAULT_MAX_ACTORS: u32 = 1 << 22;
    /// Default of [`Config::default_mailbox_cap`].
    pub const DEFAULT_MAILBOX_CAP: u32 = 1024;
    /// Default of [`Config::max_msgs_per_actor`].
    pub const DEFAULT_MAX_MSGS_PER_ACTOR: u32 = 64;
    /// Default of [`Config::max_actors_per_tick`].
    pub const DEFAULT_MAX_ACTORS_PER_TICK: u32 = 1024;
    /// Default of [`Config::max_io_watchers`].
    pub const DEFAULT_MAX_IO_WATCHERS: u32 = 1 << 20;
    /// Default of [`Config::io_poll_timeout_ms`].
    pub const DEFAULT_IO_POLL_TIMEOUT_MS: u32 = 1000;
    /// Default of [`Config::cross_thread_cap`].
    pub const DEFAULT_CROSS_THREAD_CAP: u32 = 1 << 16;

    /// This config with every zero field replaced by its default (the C
    /// ABI's rule: a zero field means default).
    pub fn normalized(mut self) -> Config {
        fn or(v: &mut u32, d: u32) {
            if *v == 0 {
                *v = d;
            }
        }
        or(&mut self.max_actors, Self::DEFAULT_MAX_ACTORS);
        self.max_actors = self.max_actors.min(crate::id::MAX_SLOTS);
        or(&mut self.default_mailbox_cap, Self::DEFAULT_MAILBOX_CAP);
        or(
            &mut self.max_msgs_per_actor,
            Self::DEFAULT_MAX_MSGS_PER_ACTOR,
        );
        or(
            &mut self.max_actors_per_tick,
            Self::DEFAULT_MAX_ACTORS_PER_TICK,
        );
        or(&mut self.max_io_watchers, Self::DEFAULT_MAX_IO_WATCHERS);
        or(
            &mut self.io_poll_timeout_ms,
            Self::DEFAULT_IO_POLL_TIMEOUT_MS,
        );
        or(&mut self.cross_thread_cap, Self::DEFAULT_CROSS_THREAD_CAP);
        self
    }
}

impl Config {
    /// A simulated loop's config: the virtual clock and the actors of each
    /// turn in an order drawn from `seed` ([`RunOrder::Shuffled`]); the
    /// rest default. The same program on the same seed runs the same way,
    /// which [`Core::trace_hash`](crate::Core::trace_hash) and
    /// [`sim::check_replay`](crate::sim::check_replay) check.
    ///
    /// # Examples
    ///
    /// ```
    /// use jzx::{ClockKind, Config, RunOrder};
    /// let config = Config::simulated(42);
    /// assert_eq!(config.clock, ClockKind::Virtual);
    /// assert_eq!(config.run_order, RunOrder::Shuffled { seed: 42 });
    /// ```
    pub fn simulated(seed: u64) -> Config {
        Config {
            clock: ClockKind::Virtual,
            run_order: RunOrder::Shuffled { seed },
            ..Config::default()
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_actors: Self::DEFAULT_MAX_ACTORS,
            default_mailbox_cap: Self::DEFAULT_MAILBOX_CAP,
            max_msgs_per_actor: Self::DEFAULT_MAX_MSGS_PER_ACTOR,
            max_actors_per_tick: Self::DEFAULT_MAX_ACTORS_PER_TICK,
            max_io_watchers: Self::DEFAULT_MAX_IO_WATCHERS,
            io_poll_timeout_ms: Self::DEFAULT_IO_POLL_TIMEOUT_MS,
            cross_thread_cap: Self::DEFAULT_CROSS_THREAD_CAP,
            backend: BackendKind::Auto,
            clock: ClockKind::Monotonic,
            run_order: RunOrder::Fifo,
        }
    }
}
