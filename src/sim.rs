//! Simulated loops: deterministic runs for tests.
//!
//! A simulated loop is an ordinary [`Loop`] made with
//! [`Config::simulated`]: the virtual clock ([`ClockKind::Virtual`]) and a
//! seeded order among runnable actors ([`RunOrder::Shuffled`]). Nothing else
//! differs, so what a test checks there is what programs run:
//!
//! - **time** starts at zero and, when nothing is runnable, jumps to the
//!   next timer's deadline: a 5-second restart period takes microseconds
//!   and every timer fires at its exact time;
//! - **order**: each turn's actors run in an order drawn from the seed, so a
//!   test passing on several seeds does not depend on which actor runs
//!   first (messages from one actor to another stay FIFO);
//! - **I/O**: fds made by [`fd_pair`] live in memory (a connected Unix
//!   socket pair, no network); watched on a simulated loop, their
//!   readiness is polled without waiting whenever nothing is runnable and
//!   handed out in the order the watches were made, so I/O actors run in
//!   the simulation too;
//! - **other threads**: messages sent through a [`LoopHandle`](crate::LoopHandle)
//!   are taken between turns, at the current virtual time, before time
//!   moves; sent from the test's own thread (before `run`, or from a
//!   behavior), they arrive in a deterministic order;
//! - **the trace**: every actor turn (which actor, at what time) is mixed
//!   into [`Core::trace_hash`](crate::Core::trace_hash); [`check_replay`]
//!   runs a program twice and compares the two hashes.
//!
//! # Examples
//!
//! ```
//! use jzx::{sim, Actor, Config, Context, Flow, Loop};
//! use std::time::Duration;
//!
//! struct Ticker { left: u32 }
//! impl Actor for Ticker {
//!     type Msg = ();
//!     fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
//!         self.left -= 1;
//!         if self.left == 0 {
//!             return Flow::Stop;
//!         }
//!         let me = cx.addr();
//!         cx.send_after(me, Duration::from_secs(60), ()).ok();
//!         Flow::Continue
//!     }
//! }
//!
//! // Ten minutes of ticks, in microseconds, twice, with the same trace.
//! let hash = sim::check_replay(Config::simulated(1), |lp: &mut Loop| {
//!     let t = lp.spawn(Ticker { left: 10 })?;
//!     lp.send(t, ())?;
//!     lp.run()?;
//!     assert_eq!(lp.now(), Duration::from_secs(9 * 60));
//!     Ok(())
//! })?;
//! # let _ = hash;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::{ClockKind, Config, Error, Loop};
use std::fmt;
use std::os::unix::net::UnixStream;

#[cfg(doc)]
use crate::RunOrder;

/// Why [`check_replay`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayError {
    /// The config is not on the virtual clock, so no trace is kept.
    NotSimulated,
    /// The program returned this error (on the first or the second run).
    Program(Error),
    /// The two runs took different paths: their trace hashes differ.
    Diverged {
        /// The first run's trace hash.
        first: u64,
        /// The second run's trace hash.
        second: u64,
    },
}

impl fmt::Display for ReplayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayError::NotSimulated => f.write_str("the loop is not on the virtual clock"),
            ReplayError::Program(e) => write!(f, "the program failed: {e}"),
            ReplayError::Diverged { first, second } => write!(
                f,
                "two runs of one program diverged: trace {first:#018x} then {second:#018x}"
            ),
        }
    }
}

impl std::error::Error for ReplayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReplayError::Program(e) => Some(e),
            _ => None,
        }
    }
}

impl From<Error> for ReplayError {
    fn from(e: Error) -> ReplayError {
        ReplayError::Program(e)
    }
}

/// Runs `program` twice, each time on a new loop made with `config` (which
/// must be on the virtual clock), and compares the two runs' trace hashes:
/// the same program on the same seed must take the same path. Returns the
/// hash.
///
/// `program` gets the fresh loop and does everything the test does with it:
/// spawn, send, [`Loop::run`], assertions. It must not depend on anything
/// outside the loop that changes between calls (real time, other threads'
/// timing, a counter kept across calls).
///
/// # Errors
///
/// [`ReplayError::NotSimulated`] for a config on the monotonic clock;
/// [`ReplayError::Program`] when the loop cannot be made or `program`
/// fails; [`ReplayError::Diverged`] when the hashes differ.
pub fn check_replay<F>(config: Config, mut program: F) -> Result<u64, ReplayError>
where
    F: FnMut(&mut Loop) -> Result<(), Error>,
{
    if config.clock != ClockKind::Virtual {
        return Err(ReplayError::NotSimulated);
    }
    let mut once = || -> Result<u64, ReplayError> {
        let mut lp = Loop::with_config(config.clone())?;
        program(&mut lp)?;
        lp.trace_hash().ok_or(ReplayError::NotSimulated)
    };
    let first = once()?;
    let second = once()?;
    if first == second {
        Ok(first)
    } else {
        Err(ReplayError::Diverged { first, second })
    }
}

/// Two connected, non-blocking in-memory fds (a Unix stream socket pair):
/// what one writes the other reads, and readiness follows on any loop. The
/// fd pair a simulated test watches instead of a network socket.
///
/// # Errors
///
/// The system's error when it has no fd left.
pub fn fd_pair() -> std::io::Result<(UnixStream, UnixStream)> {
    let (a, b) = UnixStream::pair()?;
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    Ok((a, b))
}
