//! The scheduler: which runnable actor runs next (R4).
//!
//! An actor becomes runnable when a message, a timer message, a readiness
//! event, a child exit or a stop request reaches it; [`Scheduler::push`] puts
//! its slot at the back of the run queue (the actor table's `scheduled` flag
//! keeps it there once). A turn of the loop takes the actors runnable when it
//! starts, at most `max_actors_per_tick` ([`Scheduler::begin_turn`]), and
//! runs each in the order [`Scheduler::pop`] gives; an actor with messages
//! left joins the back again.
//!
//! The order among the actors of a turn is FIFO, or, for tests, a seeded
//! shuffle ([`RunOrder::Shuffled`]): each turn's actors in a random order
//! drawn from the seed. Messages between two actors stay FIFO in both
//! orders (a mailbox is FIFO); only the order in which different actors run
//! changes, which shakes out code that assumes one.
//!
//! On a virtual clock the scheduler also keeps a trace hash: every turn of
//! every actor (its id, the loop's time, the messages it has queued) is
//! mixed into one `u64`, so two
//! runs of the same program from the same seed can be compared in one
//! number ([`Core::trace_hash`](crate::Core::trace_hash)).

use std::collections::VecDeque;

/// The order in which the actors runnable in one turn run
/// ([`Config::run_order`](crate::Config::run_order)).
///
/// # Examples
///
/// ```
/// use jzx::{ClockKind, Config, Loop, RunOrder};
///
/// // A loop for a test: virtual time, actors of each turn in a random order
/// // drawn from seed 7 (the same seed gives the same order every run).
/// let lp = Loop::with_config(Config {
///     clock: ClockKind::Virtual,
///     run_order: RunOrder::Shuffled { seed: 7 },
///     ..Config::default()
/// })?;
/// assert_eq!(lp.config().run_order, RunOrder::Shuffled { seed: 7 });
/// # Ok::<(), jzx::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RunOrder {
    /// First runnable, first run. The default, and what programs run on.
    #[default]
    Fifo,
    /// Each turn's actors in an order drawn from `seed`. Messages from one
    /// actor to another stay FIFO; nothing else about the order between
    /// actors is promised, and this mode checks that a program does not
    /// rely on it.
    Shuffled {
        /// The seed of the order: the same seed, the same order.
        seed: u64,
    },
}

/// The run queue and its order.
#[derive(Debug)]
pub(crate) struct Scheduler {
    queue: VecDeque<u32>,
    /// The state of the shuffle's generator; `None` for FIFO.
    rng: Option<u64>,
    /// The trace hash, when kept.
    trace: Option<u64>,
}

/// The trace hash before anything ran.
const TRACE_START: u64 = 0xcbf2_9ce4_8422_2325;

impl Scheduler {
    /// A scheduler with `order`; `trace` keeps the trace hash.
    pub(crate) fn new(order: RunOrder, trace: bool) -> Scheduler {
        Scheduler {
            queue: VecDeque::new(),
            rng: match order {
                RunOrder::Fifo => None,
                // Zero would be a fixed point of the generator's step.
                RunOrder::Shuffled { seed } => Some(seed ^ 0x9e37_79b9_7f4a_7c15),
            },
            trace: trace.then_some(TRACE_START),
        }
    }

    /// Makes `slot` runnable: the back of the queue.
    #[inline]
    pub(crate) fn push(&mut self, slot: u32) {
        self.queue.push_back(slot);
    }

    /// Whether no actor is runnable.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Starts a turn: how many actors it runs (those runnable now, at most
    /// `per_tick`). In the shuffled order, those actors are put in a random
    /// order here.
    #[inline]
    pub(crate) fn begin_turn(&mut self, per_tick: usize) -> usize {
        let n = self.queue.len().min(per_tick);
        if let Some(rng) = self.rng.as_mut() {
            let turn = &mut self.queue.make_contiguous()[..n];
            for i in (1..turn.len()).rev() {
                let j = (next_random(rng) % (i as u64 + 1)) as usize;
                turn.swap(i, j);
            }
        }
        n
    }

    /// The next actor of the turn.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<u32> {
        self.queue.pop_front()
    }

    /// Takes `slot` out of the queue (an actor torn down while runnable).
    pub(crate) fn remove(&mut self, slot: u32) {
        self.queue.retain(|&q| q != slot);
    }

    /// Records a turn, when the trace hash is kept: `step` gives what
    /// identifies it (the actor, the time, its queued messages) and is
    /// called only then, so a loop without a trace does not read its clock.
    #[inline]
    pub(crate) fn trace(&mut self, step: impl FnOnce() -> [u64; 3]) {
        if let Some(h) = self.trace.as_mut() {
            *h = step().into_iter().fold(*h, mix);
        }
    }

    /// The trace hash so far (`None` when it is not kept).
    pub(crate) fn trace_hash(&self) -> Option<u64> {
        self.trace
    }
}

/// One step of a splitmix64 generator: small, fast, and good enough to
/// shuffle a run queue.
fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Mixes `v` into the hash `h` (FNV-1a over the value's bytes).
fn mix(mut h: u64, v: u64) -> u64 {
    for b in v.to_le_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order_of(sched: &mut Scheduler, slots: &[u32]) -> Vec<u32> {
        for &s in slots {
            sched.push(s);
        }
        let n = sched.begin_turn(usize::MAX);
        (0..n).filter_map(|_| sched.pop()).collect()
    }

    #[test]
    fn fifo_runs_in_push_order() {
        let mut s = Scheduler::new(RunOrder::Fifo, false);
        assert_eq!(order_of(&mut s, &[3, 1, 2]), [3, 1, 2]);
    }

    #[test]
    fn a_seed_gives_one_permutation_and_another_seed_another() {
        let slots: Vec<u32> = (0..32).collect();
        let run = |seed| {
            order_of(
                &mut Scheduler::new(RunOrder::Shuffled { seed }, false),
                &slots,
            )
        };
        let a = run(1);
        assert_eq!(a, run(1));
        assert_ne!(a, run(2));
        assert_ne!(a, slots);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, slots);
    }

    #[test]
    fn a_turn_shuffles_only_its_own_actors() {
        let mut s = Scheduler::new(RunOrder::Shuffled { seed: 9 }, false);
        for slot in 0..10 {
            s.push(slot);
        }
        assert_eq!(s.begin_turn(4), 4);
        let mut first: Vec<u32> = (0..4).filter_map(|_| s.pop()).collect();
        first.sort_unstable();
        assert_eq!(first, [0, 1, 2, 3]);
        assert_eq!(s.pop(), Some(4));
    }

    #[test]
    fn the_trace_hash_depends_on_ids_times_and_their_order() {
        let trace = |steps: &[(u64, u64)]| {
            let mut s = Scheduler::new(RunOrder::Fifo, true);
            for &(id, t) in steps {
                s.trace(|| [id, t, 1]);
            }
            s.trace_hash().unwrap()
        };
        let a = trace(&[(1, 0), (2, 0)]);
        assert_eq!(a, trace(&[(1, 0), (2, 0)]));
        assert_ne!(a, trace(&[(2, 0), (1, 0)]));
        assert_ne!(a, trace(&[(1, 0), (2, 5)]));
        assert_eq!(Scheduler::new(RunOrder::Fifo, false).trace_hash(), None);
    }
}
