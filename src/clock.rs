//! [`ClockKind`]: where a loop's time comes from.
//!
//! A loop reads its time in one place (`Core::now_ms`): timer deadlines,
//! restart backoff and intensity windows all count milliseconds from the
//! loop's creation on its clock. The monotonic clock is what a program
//! runs on. The virtual clock is for tests: it starts at zero and moves
//! only when the loop has nothing runnable and a timer is pending, straight
//! to that timer's deadline, so a test of a 5-second restart period runs in
//! microseconds and sees exact times.

use std::time::{Duration, Instant};

/// The clock a [`Loop`](crate::Loop) runs on ([`Config::clock`](crate::Config::clock)).
///
/// # Examples
///
/// ```
/// use jzx::{Actor, ClockKind, Config, Context, Flow, Loop};
/// use std::time::Duration;
///
/// struct Alarm;
/// impl Actor for Alarm {
///     type Msg = ();
///     fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
///         // Exactly one virtual hour after the loop was made.
///         assert_eq!(cx.now(), Duration::from_secs(3600));
///         Flow::Stop
///     }
/// }
///
/// let mut lp = Loop::with_config(Config { clock: ClockKind::Virtual, ..Config::default() })?;
/// let alarm = lp.spawn(Alarm)?;
/// lp.send_after(alarm, Duration::from_secs(3600), ()).map_err(|e| e.error)?;
/// lp.run()?; // returns at once in real time
/// assert_eq!(lp.now(), Duration::from_secs(3600));
/// # Ok::<(), jzx::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ClockKind {
    /// The monotonic clock (`std::time::Instant`). The default.
    #[default]
    Monotonic,
    /// Virtual time for tests: starts at zero; when nothing is runnable and
    /// a timer is pending, the loop jumps to its deadline instead of
    /// waiting (fd readiness is polled, without waiting, and messages from
    /// other threads are taken first, at the current time). Nothing else
    /// moves it. A timer of `d` (rounded up to the millisecond) fires
    /// exactly `d` after it was set.
    ///
    /// Time stands still while any actor is runnable: an actor that keeps
    /// sending itself messages until a timeout fires never sees it. And a
    /// loop with a timer pending never blocks: it runs ahead through
    /// virtual time as fast as it can, so fds and other threads that would
    /// become ready in real time meanwhile come late. A `Duration::MAX`
    /// delay is "never", as on the monotonic clock.
    Virtual,
}

/// A loop's clock, in whole milliseconds since the loop was made.
#[derive(Debug)]
pub(crate) enum Clock {
    Monotonic(Instant),
    Virtual(u64),
}

impl Clock {
    pub(crate) fn new(kind: ClockKind) -> Clock {
        match kind {
            ClockKind::Monotonic => Clock::Monotonic(Instant::now()),
            ClockKind::Virtual => Clock::Virtual(0),
        }
    }

    /// Whether time is virtual (moved by the loop, not by the world).
    #[inline]
    pub(crate) fn is_virtual(&self) -> bool {
        matches!(self, Clock::Virtual(_))
    }

    /// Milliseconds since the loop was made (the monotonic clock is read
    /// through the vDSO: no system call).
    #[inline]
    pub(crate) fn now_ms(&self) -> u64 {
        match self {
            Clock::Monotonic(epoch) => {
                u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
            }
            Clock::Virtual(now) => *now,
        }
    }

    /// The time since the loop was made (to the nanosecond on the monotonic
    /// clock).
    pub(crate) fn elapsed(&self) -> Duration {
        match self {
            Clock::Monotonic(epoch) => epoch.elapsed(),
            Clock::Virtual(now) => Duration::from_millis(*now),
        }
    }

    /// What to add to "now" so that a deadline `delay` later is never early:
    /// the monotonic clock reads whole milliseconds rounded down, so it
    /// counts from the next one; virtual time is exact.
    pub(crate) fn rounding_ms(&self) -> u64 {
        match self {
            Clock::Monotonic(_) => 1,
            Clock::Virtual(_) => 0,
        }
    }

    /// Moves virtual time forward to `ms` (never back); false, doing
    /// nothing, on the monotonic clock.
    pub(crate) fn jump_to(&mut self, ms: u64) -> bool {
        match self {
            Clock::Monotonic(_) => false,
            Clock::Virtual(now) => {
                *now = (*now).max(ms);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_time_moves_only_forward_and_only_when_told() {
        let mut c = Clock::new(ClockKind::Virtual);
        assert!(c.is_virtual());
        assert_eq!((c.now_ms(), c.rounding_ms()), (0, 0));
        assert!(c.jump_to(5_000));
        assert!(c.jump_to(10));
        assert_eq!(c.now_ms(), 5_000);
        assert_eq!(c.elapsed(), Duration::from_secs(5));
        let mut m = Clock::new(ClockKind::Monotonic);
        assert!(!m.is_virtual());
        assert!(!m.jump_to(5_000));
        assert!(m.now_ms() < 5_000);
        assert_eq!(m.rounding_ms(), 1);
    }
}
