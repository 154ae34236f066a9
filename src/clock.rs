//! [`ClockKind`]: where a loop's time comes from.
//!
//! A loop reads its time in one place (`Core::now_ms`): timer deadlines,
//! restart backoff and intensity windows all count milliseconds from the
//! loop's creation on its clock. The monotonic clock is what a program
//! runs on; a turn with timers pending reads its coarse variant first and
//! the precise one only when a deadline may have come ([`Clock`]).
//!
//! The virtual clock is for tests: it starts at zero and moves only when
//! the loop has nothing runnable and a timer is pending, straight to that
//! timer's deadline, so a test of a 5-second restart period runs in
//! microseconds and sees exact times.

use crate::backend::time;
use std::time::Duration;

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
    /// The system's monotonic clock (on Linux the one `std::time::Instant`
    /// reads). The default.
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

/// A loop's clock, in whole milliseconds since the loop was made, with the
/// last precise reading the loop remembered (see [`Clock::read_ms`]).
///
/// A turn with timers pending first asks [`Clock::may_be_due`], which reads
/// only the coarse clock (`backend::time`) and compares it with a threshold
/// kept up to date as timers are set ([`Clock::expect`]) and fired
/// ([`Clock::expect_only`]): a deadline later than the coarse time plus
/// the margin (how far the coarse clock may be behind) has certainly not
/// come. Only otherwise is the precise clock read, and timers fire by that
/// reading: never early.
#[derive(Debug)]
pub(crate) struct Clock {
    source: Source,
    /// The last reading remembered by [`Clock::read_ms`], and the coarse
    /// clock's reading of the same moment.
    seen_ms: u64,
    seen_coarse_ms: u64,
    /// How far the coarse clock may be behind the precise one, in ms (two
    /// of its steps, and the millisecond the precise one rounds down).
    margin_ms: u64,
    /// Until the coarse clock reaches this (ms), no timer is due.
    check_at: u64,
}

#[derive(Debug)]
enum Source {
    /// The monotonic clock's reading (ns) when the loop was made.
    Monotonic(u64),
    Virtual(u64),
}

impl Clock {
    pub(crate) fn new(kind: ClockKind) -> Clock {
        let source = match kind {
            ClockKind::Monotonic => Source::Monotonic(time::monotonic_ns()),
            ClockKind::Virtual => Source::Virtual(0),
        };
        let step_ms = time::coarse_step_ns().div_ceil(NS_PER_MS);
        Clock {
            source,
            seen_ms: 0,
            seen_coarse_ms: 0,
            margin_ms: if step_ms == 0 { 0 } else { 2 * step_ms + 1 },
            check_at: 0,
        }
    }

    /// Whether time is virtual (moved by the loop, not by the world).
    #[inline]
    pub(crate) fn is_virtual(&self) -> bool {
        matches!(self.source, Source::Virtual(_))
    }

    /// Milliseconds since the loop was made (the monotonic clock is read
    /// through the vDSO: no system call).
    #[inline]
    pub(crate) fn now_ms(&self) -> u64 {
        match self.source {
            Source::Monotonic(epoch) => time::monotonic_ns().saturating_sub(epoch) / NS_PER_MS,
            Source::Virtual(now) => now,
        }
    }

    /// As [`Clock::now_ms`], remembered as the latest reading (with the
    /// coarse clock's reading of the same moment).
    #[inline]
    pub(crate) fn read_ms(&mut self) -> u64 {
        if let Source::Monotonic(epoch) = self.source {
            self.seen_coarse_ms = coarse_ms(epoch);
        }
        self.seen_ms = self.now_ms();
        self.seen_ms
    }

    /// The last reading remembered by [`Clock::read_ms`]: time is at least
    /// that.
    #[inline]
    pub(crate) fn seen_ms(&self) -> u64 {
        match self.source {
            Source::Monotonic(_) => self.seen_ms,
            Source::Virtual(now) => now,
        }
    }

    /// Whether a timer may be due, reading only the coarse clock: false
    /// when the coarse clock has not reached the threshold that
    /// [`Clock::expect`] keeps. Always true on the virtual clock, whose
    /// reading is free.
    #[inline]
    pub(crate) fn may_be_due(&self) -> bool {
        match self.source {
            Source::Monotonic(epoch) => coarse_ms(epoch) >= self.check_at,
            Source::Virtual(_) => true,
        }
    }

    /// A timer is due at `deadline` (ms), or, with `stamping`, waits for a
    /// reading to get its deadline (an ask's timeout, see
    /// `core/pending.rs`): [`Clock::may_be_due`] says so once the coarse
    /// clock is within the margin of `deadline`, or once it has moved since
    /// the last remembered reading (so that such a timer waits at most
    /// about one of its steps for its deadline); at once for a deadline
    /// that had come at that reading.
    #[inline]
    pub(crate) fn expect(&mut self, deadline: u64, stamping: bool) {
        let at = if deadline <= self.seen_ms {
            0
        } else {
            deadline.saturating_sub(self.margin_ms)
        };
        let at = if stamping {
            at.min(self.seen_coarse_ms + 1)
        } else {
            at
        };
        self.check_at = self.check_at.min(at);
    }

    /// As [`Clock::expect`], for what is pending now, forgetting what was
    /// expected before (timers fired or cancelled since).
    pub(crate) fn expect_only(&mut self, deadline: Option<u64>, stamping: bool) {
        self.check_at = u64::MAX;
        self.expect(deadline.unwrap_or(u64::MAX), stamping);
    }

    /// How far behind the precise clock the coarse one is taken to be, ms
    /// (0 where the coarse clock is the precise one).
    #[cfg(test)]
    pub(crate) fn margin_ms(&self) -> u64 {
        self.margin_ms
    }

    /// The time since the loop was made (to the nanosecond on the monotonic
    /// clock).
    pub(crate) fn elapsed(&self) -> Duration {
        match self.source {
            Source::Monotonic(epoch) => {
                Duration::from_nanos(time::monotonic_ns().saturating_sub(epoch))
            }
            Source::Virtual(now) => Duration::from_millis(now),
        }
    }

    /// What to add to "now" so that a deadline `delay` later is never early:
    /// the monotonic clock reads whole milliseconds rounded down, so it
    /// counts from the next one; virtual time is exact.
    #[inline]
    pub(crate) fn rounding_ms(&self) -> u64 {
        match self.source {
            Source::Monotonic(_) => 1,
            Source::Virtual(_) => 0,
        }
    }

    /// Moves virtual time forward to `ms` (never back); false, doing
    /// nothing, on the monotonic clock.
    pub(crate) fn jump_to(&mut self, ms: u64) -> bool {
        match &mut self.source {
            Source::Monotonic(_) => false,
            Source::Virtual(now) => {
                *now = (*now).max(ms);
                true
            }
        }
    }
}

const NS_PER_MS: u64 = 1_000_000;

/// The coarse clock in ms since `epoch` (ns on the precise clock); 0 while
/// it is still behind the epoch.
#[inline]
fn coarse_ms(epoch: u64) -> u64 {
    time::coarse_ns().saturating_sub(epoch) / NS_PER_MS
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

    #[test]
    fn the_virtual_clock_always_reads_precisely() {
        let mut c = Clock::new(ClockKind::Virtual);
        c.jump_to(70);
        c.expect_only(None, false);
        assert!(c.may_be_due());
        assert_eq!((c.read_ms(), c.seen_ms()), (70, 70));
        c.jump_to(90);
        // Virtual time is what it is: "seen" follows it without a read.
        assert_eq!(c.seen_ms(), 90);
    }

    /// The coarse clock of a monotonic `Clock`, ms since its epoch.
    fn coarse(c: &Clock) -> u64 {
        match c.source {
            Source::Monotonic(epoch) => coarse_ms(epoch),
            Source::Virtual(now) => now,
        }
    }

    // The coarse check only rules deadlines out: a deadline within the
    // margin of the coarse clock, or seen to have come at the last precise
    // reading, is always checked (and timers fire by the precise reading,
    // so never early).
    #[test]
    fn a_deadline_near_or_seen_to_have_come_is_checked() {
        let mut c = Clock::new(ClockKind::Monotonic);
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_millis(20) {
            let seen = c.read_ms();
            c.expect_only(Some(seen), false);
            assert!(c.may_be_due(), "seen to have come at {seen}");
            c.expect_only(Some(coarse(&c) + c.margin_ms()), false);
            assert!(c.may_be_due(), "within the margin");
        }
        // Far ahead: ruled out (the coarse clock is never ahead).
        let far = c.read_ms() + c.margin_ms() + 60_000;
        c.expect_only(Some(far), false);
        assert!(!c.may_be_due());
        c.expect_only(None, false);
        assert!(!c.may_be_due());
        // A nearer deadline expected later lowers the threshold; a later
        // one does not raise it.
        c.expect(coarse(&c), false);
        c.expect(far, false);
        assert!(c.may_be_due());
    }

    #[test]
    fn stamping_is_checked_once_the_coarse_clock_moves() {
        let mut c = Clock::new(ClockKind::Monotonic);
        for _ in 0..2 {
            // Just read: nothing to check until the coarse clock moves (a
            // reading is at most one of its steps old), then a check.
            c.read_ms();
            c.expect_only(None, true);
            let start = std::time::Instant::now();
            loop {
                let before = coarse(&c);
                if c.may_be_due() {
                    break;
                }
                assert_eq!(before, c.seen_coarse_ms, "moved, unchecked");
                assert!(start.elapsed() < Duration::from_secs(1), "never moved");
            }
            assert!(coarse(&c) > c.seen_coarse_ms);
            // Without timers waiting for their deadlines: nothing to check.
            c.expect_only(None, false);
            assert!(!c.may_be_due());
        }
    }
}
