//! [`Loop`]: owns a [`Core`] and runs it until stopped or idle.

use crate::backend::xev::Timeout;
use crate::core::Core;
use crate::handle::LoopHandle;
use crate::trace::trace_turn;
use crate::{Config, Error};
use std::fmt;
use std::ops::{Deref, DerefMut};

/// One actor loop on one thread, driven by libxev.
///
/// A `Loop` dereferences to [`Core`], which holds the API shared with
/// behaviors (spawn, send, timers, fd watches, names, observer). `Loop` adds
/// [`Loop::run`] and the cross-thread [`LoopHandle`]. It is not `Send`:
/// actors of a loop run only on the thread that runs it (R1).
///
/// # Examples
///
/// ```
/// use jzx::{Actor, Context, Flow, Loop};
///
/// struct Once;
/// impl Actor for Once {
///     type Msg = &'static str;
///     fn handle(&mut self, _cx: &mut Context<'_, Self>, msg: &'static str) -> Flow {
///         println!("got {msg}");
///         Flow::Stop
///     }
/// }
///
/// let mut lp = Loop::new()?;
/// let a = lp.spawn(Once)?;
/// lp.send(a, "hello")?;
/// lp.run()?; // returns: the only actor stopped
/// lp.run()?; // and can run again (R2)
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Loop {
    core: Core,
}

impl Loop {
    /// A loop with the default [`Config`].
    ///
    /// # Errors
    ///
    /// `InvalidArg` when the backend asked for (`JZX_BACKEND`) is not
    /// available; `NoMemory`/`Unknown` when the event loop cannot be created.
    pub fn new() -> Result<Loop, Error> {
        Self::with_config(Config::default())
    }

    /// A loop with `config` (zero fields mean their default).
    ///
    /// # Errors
    ///
    /// As [`Loop::new`].
    pub fn with_config(config: Config) -> Result<Loop, Error> {
        Self::in_runtime(config, 0)
    }

    /// Loop `index` of a runtime.
    pub(crate) fn in_runtime(config: Config, index: u8) -> Result<Loop, Error> {
        Ok(Loop {
            core: Core::new(config, index)?,
        })
    }

    /// A `Send + Clone` handle for other threads: cross-thread sends and stop
    /// requests (R14).
    pub fn handle(&self) -> LoopHandle {
        LoopHandle::new(self.core.remote.clone())
    }

    /// Asks the loop to stop after its current turn. Before `run`, the next
    /// `run` returns at once. A request is used up by the run it ends, or by
    /// the run that was going on when it was made, even if that run ended
    /// idle first (R3).
    pub fn request_stop(&self) {
        self.core.remote.request_stop();
    }

    /// Runs actors, timers and I/O until a stop is requested or nothing is
    /// left to do: no live actors, no pending timers, no watched fds and no
    /// queued cross-thread messages (R2). It can be called again. A stop
    /// requested while it runs is used up when it returns, whatever ended it.
    ///
    /// Each turn runs at most `max_actors_per_tick` actors, each handling at
    /// most `max_msgs_per_actor` messages (one of each lane when both hold
    /// messages, see [`Config::max_msgs_per_actor`]), then polls I/O without
    /// blocking (R4, R5). With nothing runnable it blocks in libxev until I/O, a
    /// timer, a cross-thread message or a stop request.
    ///
    /// # Errors
    ///
    /// `LoopClosed` when called re-entrantly; `Unknown` when the event loop
    /// itself fails.
    pub fn run(&mut self) -> Result<(), Error> {
        if self.core.in_run {
            return Err(Error::LoopClosed);
        }
        let running = Running::enter(&mut self.core);
        run_turns(&mut *running.0)
    }
}

/// Marks a core as running for as long as it lives: when the run ends, by
/// returning or by unwinding, the mark is cleared and a stop requested during
/// the run is used up (R3).
struct Running<'a>(&'a mut Core);

impl<'a> Running<'a> {
    fn enter(core: &'a mut Core) -> Running<'a> {
        core.in_run = true;
        Running(core)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.remote.take_stop();
        self.0.in_run = false;
    }
}

/// The turns of one `run` (see [`Loop::run`]).
fn run_turns(core: &mut Core) -> Result<(), Error> {
    let per_tick = core.config().max_actors_per_tick as usize;
    core.begin_run_peers();
    loop {
        if core.remote.take_stop() {
            return Ok(());
        }
        core.counters.turns += 1;
        {
            let _turn = trace_turn!(core.counters.turns);
            core.drain_remote();
            core.drain_peers();
            core.fire_timers();
            // One turn: the actors runnable now, at most `per_tick` of them.
            // An actor requeued during the turn waits for the next one,
            // after I/O has been polled (R4).
            let turn = core.scheduler.begin_turn(per_tick);
            for _ in 0..turn {
                let Some(slot) = core.scheduler.pop() else {
                    break;
                };
                core.run_actor(slot);
            }
            core.settle_asks();
            core.flush_peers();
        }
        if !core.scheduler.is_empty() {
            // Poll I/O between turns (R5) when anything can be ready:
            // timers are fired from the clock and cross-thread work is
            // seen through atomics, so with no fd watched the poll would
            // be a wasted system call.
            if core.has_io() {
                core.poll_io(Timeout::NoWait)?;
            }
            continue;
        }
        // A loop that has just sent to or taken from another loop polls its
        // rings for a while first: the answer usually comes within
        // microseconds, and saying idle (a lock the loops share) and arming
        // the timer would cost more than that each time (timers and other
        // threads' sends wait at most the spin). Fds are polled before the
        // next turn, as between turns with actors runnable (R5): a loop in a
        // steady exchange with another would never poll them otherwise.
        if core.spin_for_peers() {
            if core.has_io() {
                core.poll_io(Timeout::NoWait)?;
            }
            continue;
        }
        // Read once: it changes when a loop this one sends to ends its run,
        // and a loop found idle but for those messages must come back here
        // (and return) rather than block with nothing to wake it.
        let peers_pending = core.peers_pending();
        if core.is_idle() && !peers_pending && core.quiesce() {
            return Ok(());
        }
        if core.jump_to_next_timer()? {
            // Virtual time: the next deadline is now.
            continue;
        }
        core.arm_timer();
        // A loop whose messages for another loop (still in its run) wait
        // for room in their ring polls until they are out: that loop does
        // not wake it.
        let flags = if !peers_pending && core.enter_sleep() {
            let flags = core.reactor.run(Timeout::Forever);
            core.remote.leave_sleep();
            flags
        } else {
            core.reactor.run(Timeout::NoWait)
        }
        .map_err(|_| Error::Unknown)?;
        if flags.timer {
            core.timer_expired();
        }
        core.dispatch_io();
    }
}

impl Deref for Loop {
    type Target = Core;
    fn deref(&self) -> &Core {
        &self.core
    }
}

impl DerefMut for Loop {
    fn deref_mut(&mut self) -> &mut Core {
        &mut self.core
    }
}

impl fmt::Debug for Loop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loop").field("core", &self.core).finish()
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        // Messages still queued by other threads are dropped (destructors
        // run), and later sends fail with LoopClosed.
        crate::core::pending::dropping_dead_letters(|| {
            for mut run in self.core.remote.close() {
                run.drop_each();
            }
        });
        self.core.teardown_all();
    }
}
