//! Timers of the loop: `send_after`, intervals, cancel, and arming the
//! bridge's one timer for the next deadline (R15).

use crate::{ActorId, Addr, Error, SendError, TimerId};
use std::time::Duration;

use super::ask::AskTimeout;
use super::pending::{AskId, Outcome};
use super::Core;
use crate::backend::xev::Timeout;
use crate::observer::drop_quietly;
use crate::timer::TimerMsg;
use std::panic::{catch_unwind, AssertUnwindSafe};

struct OnceMsg<M>(M);

impl<M: 'static> TimerMsg<Core> for OnceMsg<M> {
    fn fire(self: Box<Self>, core: &mut Core, target: ActorId) {
        core.push_timer_msg(target, self.0);
    }
    fn copy(&self) -> Box<dyn TimerMsg<Core>> {
        Box::new(Nothing)
    }
}

struct RepeatMsg<M>(M);

impl<M: Clone + 'static> TimerMsg<Core> for RepeatMsg<M> {
    fn fire(self: Box<Self>, core: &mut Core, target: ActorId) {
        core.push_timer_msg(target, self.0);
    }
    fn copy(&self) -> Box<dyn TimerMsg<Core>> {
        Box::new(OnceMsg(self.0.clone()))
    }
    /// An interval's message is a pattern for the copies it sends, not a
    /// message sent: not a dead letter.
    fn is_message(&self) -> bool {
        false
    }
}

/// What `copy` of a one-shot message gives (never asked for).
struct Nothing;

impl TimerMsg<Core> for Nothing {
    fn fire(self: Box<Self>, _: &mut Core, _: ActorId) {}
    fn copy(&self) -> Box<dyn TimerMsg<Core>> {
        Box::new(Nothing)
    }
}

/// Delays count in whole milliseconds, a fraction rounded up: never early
/// (saturating; without a 128-bit division).
#[inline]
fn ms(d: Duration) -> u64 {
    let fraction = u64::from(d.subsec_nanos()).div_ceil(1_000_000);
    match d.as_secs().checked_mul(1_000) {
        Some(whole) => whole.saturating_add(fraction),
        None => u64::MAX,
    }
}

impl Core {
    // --------------------------------------------------------------- timers

    /// Milliseconds since the loop was made, on its clock.
    #[inline]
    pub(crate) fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    /// The time since the loop was made, on its clock
    /// ([`Config::clock`](crate::Config::clock)): virtual time on a loop
    /// with [`ClockKind::Virtual`](crate::ClockKind::Virtual).
    pub fn now(&self) -> Duration {
        self.clock.elapsed()
    }

    /// On a virtual clock with nothing runnable: jumps to the next timer's
    /// deadline, after polling fd readiness without waiting (what that
    /// makes runnable runs first, at the current time). False when there is
    /// nothing to jump to (no timer pending) or the clock is not virtual:
    /// the loop then blocks as usual.
    pub(crate) fn jump_to_next_timer(&mut self) -> Result<bool, Error> {
        if !self.clock.is_virtual() {
            return Ok(false);
        }
        // A deadline that saturated (`Duration::MAX`) is "never", as on the
        // monotonic clock: the loop blocks instead of reaching the end of
        // time, where every timer would be due at once.
        let Some(deadline) = self.next_deadline().filter(|&d| d != u64::MAX) else {
            return Ok(false);
        };
        // What other threads sent (or a stop request) is taken at the
        // current time, before time moves.
        if self.remote.has_news(self.remote_parked) || self.asks_to_settle() {
            return Ok(true);
        }
        if self.has_io() {
            self.poll_io(Timeout::NoWait)?;
            if !self.scheduler.is_empty() {
                return Ok(true);
            }
        }
        Ok(self.clock.jump_to(deadline))
    }

    /// The earliest deadline of a timer or an ask's timeout; an ask's
    /// timeout that waits for its deadline counts from the last reading.
    fn next_deadline(&mut self) -> Option<u64> {
        let timer = self.timers.next_deadline();
        if self.asks.timed() == 0 {
            return timer;
        }
        let base = self.clock.seen_ms() + self.clock.rounding_ms();
        match (timer, self.asks.earliest(base)) {
            (Some(t), Some(a)) => Some(t.min(a)),
            (t, a) => t.or(a),
        }
    }

    /// Reads the clock precisely, remembering the reading, and gives the
    /// asks' timeouts that wait for a deadline theirs (counted from this
    /// reading, which comes after they were set: never early).
    fn read_time(&mut self) -> u64 {
        let now = self.clock.read_ms();
        if self.asks.has_unstamped() {
            self.asks.stamp(now + self.clock.rounding_ms());
        }
        now
    }

    /// Arms the timeout of ask `id` (of `asker`): in the FIFO of its
    /// duration, which reads no clock on the monotonic clock (the deadline
    /// comes with the loop's next precise reading, see `core/pending.rs`);
    /// in the timer queue when no FIFO is free for that duration.
    #[inline]
    pub(super) fn arm_ask_timeout(&mut self, id: AskId, asker: ActorId, timeout: Duration) {
        let seq = self.timers.next_seq();
        // Virtual time is exact and free to read: the deadline at once.
        let now = self
            .clock
            .is_virtual()
            .then(|| self.clock.now_ms() + self.clock.rounding_ms());
        let ms = ms(timeout);
        if self.asks.queue_timeout(id, ms, seq, now) {
            let base = now.unwrap_or(self.clock.seen_ms() + self.clock.rounding_ms());
            self.clock.expect(base.saturating_add(ms), now.is_none());
        } else {
            let timer = self.add_timer(asker, timeout, None, Box::new(AskTimeout(id)));
            if let Some(pending) = self.asks.payload_mut(id) {
                pending.timer = Some(timer);
            }
        }
    }

    pub(super) fn add_timer(
        &mut self,
        target: ActorId,
        delay: Duration,
        interval: Option<Duration>,
        msg: Box<dyn TimerMsg<Core>>,
    ) -> TimerId {
        // The monotonic clock reads whole milliseconds, rounded down:
        // counting from the next millisecond makes "no earlier than `delay`"
        // hold. Virtual time is exact.
        let now = self.now_ms() + self.clock.rounding_ms();
        let delay = ms(delay);
        self.clock.expect(now.saturating_add(delay), false);
        self.timers
            .insert(now, delay, interval.map(ms), target.slot(), msg)
    }

    /// Sends `msg` to `to` after `delay` (1 ms resolution); returns the
    /// timer's id for [`Core::cancel_timer`]. Timers with the same delay fire
    /// in the order they were set; a timer of a dead actor is dropped (R15).
    ///
    /// # Errors
    ///
    /// `NoSuchActor` (with the message) when `to` is not alive.
    pub fn send_after<M: 'static>(
        &mut self,
        to: Addr<M>,
        delay: Duration,
        msg: M,
    ) -> Result<TimerId, SendError<M>> {
        let msg = self.alive_or_refuse(to, msg)?;
        Ok(self.add_timer(to.id(), delay, None, Box::new(OnceMsg(msg))))
    }

    /// Sends a clone of `msg` to `to` every `period`, first after one period,
    /// until cancelled or the actor dies.
    ///
    /// # Errors
    ///
    /// `NoSuchActor` (with the message) when `to` is not alive.
    pub fn send_interval<M: Clone + 'static>(
        &mut self,
        to: Addr<M>,
        period: Duration,
        msg: M,
    ) -> Result<TimerId, SendError<M>> {
        let msg = self.alive_or_refuse(to, msg)?;
        Ok(self.add_timer(to.id(), period, Some(period), Box::new(RepeatMsg(msg))))
    }

    /// Cancels a pending timer; its message is dropped.
    ///
    /// # Errors
    ///
    /// `TimerInvalid` when the timer fired (one-shot), was cancelled, or
    /// never existed.
    pub fn cancel_timer(&mut self, id: TimerId) -> Result<(), Error> {
        self.timers
            .cancel(id)
            .map(drop_quietly)
            .ok_or(Error::TimerInvalid)
    }

    /// Delivers every timer (and answers every ask's timeout) due now. The
    /// clock is read precisely only when one may be due by the coarse clock
    /// (see [`Clock::may_be_due`](crate::clock::Clock::may_be_due)).
    #[inline]
    pub(crate) fn fire_timers(&mut self) {
        if (self.timers.len() != 0 || self.asks.timed() != 0) && self.clock.may_be_due() {
            self.fire_due_timers();
        }
    }

    /// User code runs here, outside any behavior: an interval's `clone`,
    /// the destructor of a payload its target cannot take, and an asker's
    /// `answer` to a timeout. A panic in either skips that one delivery; the
    /// loop goes on. Timers and asks' timeouts fire in the order of their
    /// deadlines, then in the order they were set.
    fn fire_due_timers(&mut self) {
        let now = self.read_time();
        loop {
            let timer = self.timers.peek().filter(|&(deadline, _)| deadline <= now);
            let ask = self.asks.first_due(now);
            match (timer, ask) {
                (None, None) => break,
                (Some(t), Some((deadline, seq, id))) if (deadline, seq) < t => {
                    self.ask_timed_out(id);
                }
                (None, Some((_, _, id))) => self.ask_timed_out(id),
                _ => self.fire_one_timer(now),
            }
        }
        let next = self.next_deadline();
        let stamping = self.asks.has_unstamped();
        self.clock.expect_only(next, stamping);
    }

    /// Ask `id`'s timeout came (from its FIFO).
    fn ask_timed_out(&mut self, id: AskId) {
        self.counters.timers_fired += 1;
        self.resolve_ask(id, Outcome::Timeout, None);
    }

    /// Fires the timer that comes first (due at `now`).
    fn fire_one_timer(&mut self, now: u64) {
        if let Some(due) = self.timers.pop_due(now) {
            let target = self.id_of_slot(due.owner);
            let _ = catch_unwind(AssertUnwindSafe(|| {
                let msg = match due.payload {
                    Some(msg) => msg,
                    // An interval: deliver a copy, the payload stays for the
                    // next.
                    None => match self.timers.payload_mut(due.id) {
                        Some(p) => p.copy(),
                        None => return,
                    },
                };
                self.counters.timers_fired += 1;
                msg.fire(self, target);
            }));
        }
    }

    /// Arms the bridge timer for the next deadline; returns whether any timer
    /// is pending.
    ///
    /// The same timer bounds a blocking wait by `io_poll_timeout_ms` (R19):
    /// it is armed for the earlier of the next deadline and the poll timeout,
    /// and an earlier arming that still bounds the wait is kept, so a busy
    /// loop that blocks often re-arms it at most once per poll timeout.
    pub(crate) fn arm_timer(&mut self) {
        let now = self.read_time();
        let limit = now.saturating_add(u64::from(self.config().io_poll_timeout_ms));
        let target = self.next_deadline().map_or(limit, |d| d.min(limit));
        match self.armed {
            Some(armed) if armed > now && armed <= target => {}
            _ => {
                self.reactor.timer_set(target.saturating_sub(now));
                self.armed = Some(target);
            }
        }
    }

    pub(crate) fn timer_expired(&mut self) {
        self.armed = None;
    }

    /// The message back, refused, when `to` is not alive.
    fn alive_or_refuse<M>(&self, to: Addr<M>, msg: M) -> Result<M, SendError<M>> {
        if self.is_alive(to.id()) {
            Ok(msg)
        } else {
            Err(SendError {
                error: Error::NoSuchActor,
                message: msg,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Actor, Addr, Context, Flow, Loop};
    use std::time::Duration;

    #[test]
    fn delays_round_up_to_the_millisecond_and_saturate() {
        let cases = [
            (Duration::ZERO, 0),
            (Duration::from_nanos(1), 1),
            (Duration::from_millis(1), 1),
            (Duration::from_nanos(1_000_001), 2),
            (Duration::from_millis(1_500), 1_500),
            (Duration::new(7, 999_999_999), 8_000),
            (
                Duration::from_secs(u64::MAX / 1_000),
                u64::MAX / 1_000 * 1_000,
            ),
            (Duration::new(u64::MAX / 1_000, 999_999_999), u64::MAX),
            (Duration::MAX, u64::MAX),
        ];
        for (d, want) in cases {
            assert_eq!(super::ms(d), want, "{d:?}");
        }
    }

    struct Stops;

    impl Actor for Stops {
        type Msg = u32;
        fn handle(&mut self, _cx: &mut Context<'_, Self>, _: u32) -> Flow {
            Flow::Stop
        }
    }

    /// A payload whose destructor panics.
    struct Bomb;

    impl Drop for Bomb {
        fn drop(&mut self) {
            if !std::thread::panicking() {
                panic!("a destructor panicked");
            }
        }
    }

    // R11: a timer whose payload its target cannot take (a type other than
    // its mailbox's; only the crate can address one so) is dropped at fire
    // time; a panicking destructor does not leave run, and the target still
    // gets its own timer.
    #[test]
    fn a_fired_payload_its_target_cannot_take_is_dropped_quietly() {
        let mut lp = Loop::new().unwrap();
        let a = lp.spawn(Stops).unwrap();
        let wrong = Addr::<Bomb>::new(a.id());
        lp.send_after(wrong, Duration::from_millis(1), Bomb)
            .map_err(|e| e.error)
            .unwrap();
        lp.send_after(a, Duration::from_millis(2), 7).unwrap();
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lp.run()));
        assert!(matches!(run, Ok(Ok(()))), "a panic left run");
        assert_eq!((lp.actor_count(), lp.timer_count()), (0, 0));
    }
}
