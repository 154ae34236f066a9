//! Asks waiting for their outcome ([`AskTable`]), and the reply handles
//! dropped unanswered (the policy is in `ask.rs`).
//!
//! An ask waits in a slot of a slab, found from its [`AskId`] (its number,
//! unique in the loop, and its slot) without hashing; freed slots are
//! reused. Two intrusive lists run through the slots, so that every
//! operation on an ask is O(1) and nothing is left behind when it goes:
//!
//! - its asker's asks (an actor that ends forgets its asks without a scan);
//! - its timeout's FIFO. Asks with the same timeout duration share a FIFO
//!   ([`QUEUES`] durations at a time; an ask of yet another duration waits
//!   in the loop's timer queue instead). Deadlines of equal durations grow
//!   with the time they are set, so a FIFO's head is its earliest deadline:
//!   arming appends, an answer unlinks, and no cancelled entry stays behind
//!   (unlike a heap's).
//!
//! A timeout gets its deadline from a clock reading taken at or after the
//! ask: on the virtual clock the reading of the ask itself; on the monotonic
//! clock the loop's next precise reading ([`AskTable::stamp`]), so that an
//! ask reads no clock. Until then the timeout is "unstamped" (never early:
//! its deadline counts from a later reading; late by at most the time to
//! that reading, see `Clock::expect`).
//!
//! A reply handle carries its ask's id and its loop's [`LoopKey`], plain
//! numbers: making, answering and dropping one on the loop's thread
//! touches no shared count.

use crate::backend::xev::Waker;
use crate::{ActorId, TimerId};
use std::any::Any;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// How an ask ended, before its answer is typed again for its asker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Replied: the reply comes with it (see [`Deliver`]).
    Reply,
    /// Its timeout came first.
    Timeout,
    /// Its handle was dropped with its receiver (which ended, or was not
    /// alive).
    NoSuchActor,
    /// Its handle was dropped unanswered by the receiver.
    Dropped,
}

/// Hands an ask's outcome, typed, to its asker (the id given); with
/// [`Outcome::Reply`], the reply in an `Option<R>` that it takes it from (a
/// reply of another type is left there). The outcome and the reply are
/// separate arguments, so both travel in registers. For an `answer` that
/// captures nothing (a function or an enum variant) it is zero-sized:
/// boxed, it allocates nothing.
pub(crate) type Deliver<C> =
    Box<dyn for<'a> FnOnce(&mut C, ActorId, Outcome, Option<&'a mut dyn Any>)>;

/// An ask waiting for its outcome, for a loop whose state is `C`.
pub(crate) struct PendingAsk<C> {
    pub(crate) deliver: Deliver<C>,
    /// Its timeout when it waits in the loop's timer queue (no FIFO of its
    /// duration was free), cancelled when another outcome comes first.
    pub(crate) timer: Option<TimerId>,
}

/// Which ask: its number (unique in its loop: never reused) and the slot it
/// waits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct AskId {
    n: u64,
    slot: u32,
}

impl AskId {
    /// The ask's number (the first ask of a loop is 1).
    pub(crate) fn number(self) -> u64 {
        self.n
    }
}

/// How many timeout durations have a FIFO at a time.
pub(crate) const QUEUES: usize = 8;

const NIL: u32 = u32::MAX;

struct Slot<P> {
    /// The ask's number; 0 while the slot is free.
    n: u64,
    asker: ActorId,
    payload: Option<P>,
    /// Links in the asker's list.
    asker_prev: u32,
    asker_next: u32,
    /// The FIFO it waits in (NIL: none) and its links there.
    queue: u32,
    prev: u32,
    next: u32,
    /// Whether `deadline` is set (see the module's doc).
    stamped: bool,
    deadline: u64,
    /// Orders timeouts of one deadline, with the loop's timers.
    seq: u64,
}

/// The timeouts of one duration, oldest first.
#[derive(Clone, Copy)]
struct Queue {
    ms: u64,
    head: u32,
    tail: u32,
    /// The first entry without a deadline (all after it have none either).
    unstamped: u32,
}

/// Pending asks (see the module's doc), each with its payload `P`.
pub(crate) struct AskTable<P> {
    slots: Vec<Slot<P>>,
    free: Vec<u32>,
    live: usize,
    /// The latest ask number.
    last: u64,
    /// The first ask of each asker slot (NIL: none).
    by_asker: Vec<u32>,
    queues: Vec<Queue>,
    /// The FIFO used last (most asks of a loop share one timeout).
    last_queue: usize,
    /// Asks in a FIFO, and how many of them wait for their deadline.
    timed: usize,
    unstamped: usize,
}

impl<P> AskTable<P> {
    pub(crate) fn new() -> Self {
        AskTable {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            last: 0,
            by_asker: Vec::new(),
            queues: Vec::new(),
            last_queue: 0,
            timed: 0,
            unstamped: 0,
        }
    }

    /// No ask pending.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Pending asks.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Asks whose timeout waits in a FIFO.
    #[inline]
    pub(crate) fn timed(&self) -> usize {
        self.timed
    }

    /// Whether a timeout in a FIFO waits for its deadline.
    #[inline]
    pub(crate) fn has_unstamped(&self) -> bool {
        self.unstamped != 0
    }

    /// The id the next [`AskTable::insert`] gives.
    #[inline]
    pub(crate) fn next_id(&self) -> AskId {
        AskId {
            n: self.last + 1,
            slot: match self.free.last() {
                Some(&slot) => slot,
                None => self.slots.len() as u32,
            },
        }
    }

    /// Adds an ask of `asker`.
    #[inline]
    pub(crate) fn insert(&mut self, asker: ActorId, payload: P) -> AskId {
        self.last += 1;
        let n = self.last;
        let owner = asker.slot() as usize;
        if self.by_asker.len() <= owner {
            self.by_asker.resize(owner + 1, NIL);
        }
        let first = self.by_asker[owner];
        let slot = match self.free.pop() {
            Some(slot) => {
                // Filled in place: a free slot has no payload, its links
                // are set where they are used.
                let e = &mut self.slots[slot as usize];
                e.n = n;
                e.asker = asker;
                e.payload = Some(payload);
                e.asker_prev = NIL;
                e.asker_next = first;
                e.queue = NIL;
                slot
            }
            None => {
                self.slots.push(Slot {
                    n,
                    asker,
                    payload: Some(payload),
                    asker_prev: NIL,
                    asker_next: first,
                    queue: NIL,
                    prev: NIL,
                    next: NIL,
                    stamped: false,
                    deadline: 0,
                    seq: 0,
                });
                (self.slots.len() - 1) as u32
            }
        };
        if first != NIL {
            self.slots[first as usize].asker_prev = slot;
        }
        self.by_asker[owner] = slot;
        self.live += 1;
        AskId { n, slot }
    }

    #[inline]
    fn find(&self, id: AskId) -> Option<&Slot<P>> {
        self.slots
            .get(id.slot as usize)
            .filter(|s| s.n == id.n && s.payload.is_some())
    }

    /// The payload of pending ask `id`.
    pub(crate) fn payload_mut(&mut self, id: AskId) -> Option<&mut P> {
        self.find(id)?;
        self.slots[id.slot as usize].payload.as_mut()
    }

    /// Queues the timeout of ask `id` (pending, its timeout not queued yet)
    /// of `ms`: due `ms` after `now` when given, else after the reading
    /// given to the next [`AskTable::stamp`]. `seq` orders it among
    /// timeouts and timers of the same deadline. False (and nothing done)
    /// when every FIFO holds timeouts of other durations.
    #[inline]
    pub(crate) fn queue_timeout(&mut self, id: AskId, ms: u64, seq: u64, now: Option<u64>) -> bool {
        // `id` was just added: its slot is pending and in no FIFO.
        debug_assert!(self.find(id).is_some_and(|e| e.queue == NIL));
        let last = self.last_queue;
        let found = match self.queues.get(last) {
            Some(q) if q.ms == ms => Some(last),
            _ => self.queues.iter().position(|q| q.ms == ms),
        };
        let q = match found {
            Some(q) => q,
            None => match self.queues.iter().position(|q| q.head == NIL) {
                Some(q) => {
                    self.queues[q].ms = ms;
                    q
                }
                None if self.queues.len() < QUEUES => {
                    self.queues.push(Queue {
                        ms,
                        head: NIL,
                        tail: NIL,
                        unstamped: NIL,
                    });
                    self.queues.len() - 1
                }
                None => return false,
            },
        };
        self.last_queue = q;
        let slot = id.slot;
        let queue = &mut self.queues[q];
        let tail = queue.tail;
        let e = &mut self.slots[slot as usize];
        e.queue = q as u32;
        e.prev = tail;
        e.next = NIL;
        e.seq = seq;
        // Behind an entry without a deadline it waits for one too, so that
        // the FIFO's deadlines keep growing.
        match now.filter(|_| queue.unstamped == NIL) {
            Some(now) => {
                e.stamped = true;
                e.deadline = now.saturating_add(ms);
            }
            None => {
                e.stamped = false;
                if queue.unstamped == NIL {
                    queue.unstamped = slot;
                }
                self.unstamped += 1;
            }
        }
        if tail == NIL {
            queue.head = slot;
        } else {
            self.slots[tail as usize].next = slot;
        }
        queue.tail = slot;
        self.timed += 1;
        true
    }

    /// Gives every timeout waiting for its deadline the deadline its
    /// duration after `now`.
    pub(crate) fn stamp(&mut self, now: u64) {
        if self.unstamped == 0 {
            return;
        }
        for q in &mut self.queues {
            let mut i = q.unstamped;
            while i != NIL {
                let e = &mut self.slots[i as usize];
                e.stamped = true;
                e.deadline = now.saturating_add(q.ms);
                i = e.next;
            }
            q.unstamped = NIL;
        }
        self.unstamped = 0;
    }

    /// The earliest deadline of a timeout in a FIFO, one without a deadline
    /// counting as due its duration after `base` (it will be due after a
    /// later reading).
    pub(crate) fn earliest(&self, base: u64) -> Option<u64> {
        self.queues
            .iter()
            .filter(|q| q.head != NIL)
            .map(|q| {
                let head = &self.slots[q.head as usize];
                if head.stamped {
                    head.deadline
                } else {
                    base.saturating_add(q.ms)
                }
            })
            .min()
    }

    /// The timeout in a FIFO that comes first (by deadline, then `seq`)
    /// among those due at `now`: `(deadline, seq, ask)`.
    pub(crate) fn first_due(&self, now: u64) -> Option<(u64, u64, AskId)> {
        self.queues
            .iter()
            .filter(|q| q.head != NIL)
            .filter_map(|q| {
                let head = &self.slots[q.head as usize];
                (head.stamped && head.deadline <= now).then(|| {
                    let id = AskId {
                        n: head.n,
                        slot: q.head,
                    };
                    (head.deadline, head.seq, id)
                })
            })
            .min_by_key(|&(deadline, seq, _)| (deadline, seq))
    }

    /// Removes pending ask `id`, with its timeout: its asker and payload;
    /// `None` when it is not pending (answered, or never was).
    #[inline(always)]
    pub(crate) fn remove(&mut self, id: AskId) -> Option<(ActorId, P)> {
        self.find(id)?;
        let slot = id.slot;
        let e = &mut self.slots[slot as usize];
        let payload = e.payload.take()?;
        e.n = 0;
        let (asker, asker_prev, asker_next) = (e.asker, e.asker_prev, e.asker_next);
        let (queue, prev, next, stamped) = (e.queue, e.prev, e.next, e.stamped);
        e.queue = NIL;
        if asker_prev == NIL {
            self.by_asker[asker.slot() as usize] = asker_next;
        } else {
            self.slots[asker_prev as usize].asker_next = asker_next;
        }
        if asker_next != NIL {
            self.slots[asker_next as usize].asker_prev = asker_prev;
        }
        if queue != NIL {
            let q = &mut self.queues[queue as usize];
            if q.unstamped == slot {
                q.unstamped = next;
            }
            if prev == NIL {
                q.head = next;
            } else {
                self.slots[prev as usize].next = next;
            }
            if next == NIL {
                q.tail = prev;
            } else {
                self.slots[next as usize].prev = prev;
            }
            self.timed -= 1;
            if !stamped {
                self.unstamped -= 1;
            }
        }
        self.free.push(slot);
        self.live -= 1;
        Some((asker, payload))
    }

    /// Whether the asker in actor slot `asker` has a pending ask.
    #[inline]
    pub(crate) fn has_asks_of(&self, asker: u32) -> bool {
        self.by_asker.get(asker as usize).is_some_and(|&f| f != NIL)
    }

    /// Removes the latest pending ask of the asker in actor slot `asker`.
    pub(crate) fn remove_one_of(&mut self, asker: u32) -> Option<P> {
        let first = *self.by_asker.get(asker as usize).filter(|&&f| f != NIL)?;
        let e = &self.slots[first as usize];
        let id = AskId {
            n: e.n,
            slot: first,
        };
        self.remove(id).map(|(_, payload)| payload)
    }
}

/// Which loop a reply handle's ask waits in: a number unique in the
/// process. A handle holds only this (no reference count to touch per
/// ask); the loop's [`DroppedReplies`] are found from it, in a registry of
/// live loops, only when a handle is dropped unanswered or answered on
/// another loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LoopKey(u64);

/// The live loops' lists of dropped reply handles, by key.
static REGISTRY: Mutex<BTreeMap<u64, Weak<DroppedReplies>>> = Mutex::new(BTreeMap::new());

/// The key of the next loop made.
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

impl LoopKey {
    /// Tells the loop, if it is still alive, that the handle of its ask
    /// `id` was dropped unanswered (from any thread).
    pub(crate) fn push_dropped(self, id: AskId, receiver_ended: bool) {
        let registry = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
        let dropped = registry.get(&self.0).and_then(Weak::upgrade);
        drop(registry);
        if let Some(dropped) = dropped {
            dropped.push(id, receiver_ended);
        }
    }
}

/// A loop's list of dropped reply handles, registered under its key for as
/// long as this lives.
pub(crate) struct Registered {
    key: LoopKey,
    dropped: Arc<DroppedReplies>,
}

impl Registered {
    pub(crate) fn new(dropped: DroppedReplies) -> Registered {
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        let dropped = Arc::new(dropped);
        REGISTRY
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, Arc::downgrade(&dropped));
        Registered {
            key: LoopKey(key),
            dropped,
        }
    }

    /// The key reply handles of this loop's asks carry.
    #[inline]
    pub(crate) fn key(&self) -> LoopKey {
        self.key
    }

    /// The list.
    #[inline]
    pub(crate) fn list(&self) -> &DroppedReplies {
        &self.dropped
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        REGISTRY
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key.0);
    }
}

/// Reply handles dropped unanswered, by ask number, with whether their
/// receiver had ended; filled by the handles' `Drop` (on whatever thread
/// drops them, which wakes the loop), emptied by the loop after each turn.
pub(crate) struct DroppedReplies {
    ids: Mutex<Vec<(AskId, bool)>>,
    any: AtomicBool,
    waker: Waker,
}

impl DroppedReplies {
    pub(crate) fn new(waker: Waker) -> DroppedReplies {
        DroppedReplies {
            ids: Mutex::default(),
            any: AtomicBool::new(false),
            waker,
        }
    }

    pub(crate) fn push(&self, id: AskId, receiver_ended: bool) {
        let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        ids.push((id, receiver_ended));
        self.any.store(true, Ordering::Release);
        drop(ids);
        // A handle dropped on another thread while the loop sleeps: the
        // loop must look (a spare wake on its own thread costs one turn).
        let _ = self.waker.wake();
    }

    /// Whether a handle was dropped since the last `take`.
    #[inline]
    pub(crate) fn any(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    pub(crate) fn take(&self) -> Vec<(AskId, bool)> {
        let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        self.any.store(false, Ordering::Release);
        std::mem::take(&mut *ids)
    }
}

thread_local! {
    /// The loop on this thread is dropping the messages of an actor that
    /// ended (dead letters): a reply handle dropped now was never seen by
    /// its receiver.
    static RECEIVER_ENDED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `drop` (dropping an ended actor's messages) with
/// [`receiver_ended`] true.
#[inline]
pub(crate) fn dropping_dead_letters<T>(drop: impl FnOnce() -> T) -> T {
    let outer = RECEIVER_ENDED.with(|r| r.replace(true));
    let out = drop();
    RECEIVER_ENDED.with(|r| r.set(outer));
    out
}

/// Whether a message dropped now is dropped because its receiver ended.
pub(crate) fn receiver_ended() -> bool {
    RECEIVER_ENDED.with(Cell::get)
}

/// A reply on its way to the asker's loop, another loop of the same
/// runtime (`Core::reply_across`).
pub(crate) struct CrossingReply<R>(R);

impl<R> CrossingReply<R> {
    /// `value`, to send to the asker's loop.
    pub(crate) fn new(value: R) -> Self {
        CrossingReply(value)
    }

    /// The reply, on the asker's loop.
    pub(crate) fn into_inner(self) -> R {
        self.0
    }
}

// SAFETY: a reply crosses to another loop only from a `ReplyTo<R>` that is
// on a loop other than its asker's, so the handle itself crossed threads
// (in a message, or moved): that needs `ReplyTo<R>: Send`, which holds only
// when `R: Send` (a handle may hold an `Arc<Waiting<R>>`, `Send` only for
// `R: Send`, and `ReplyTo` has no `Send` impl of its own).
#[allow(unsafe_code)]
unsafe impl<R> Send for CrossingReply<R> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(slot: u32) -> ActorId {
        ActorId::from_raw((1 << 32) | u64::from(slot)).unwrap()
    }

    #[test]
    fn a_loop_key_reaches_its_list_only_while_the_loop_lives() {
        let reactor = crate::backend::xev::Reactor::new(crate::BackendKind::Auto).unwrap();
        let a = Registered::new(DroppedReplies::new(reactor.waker()));
        let b = Registered::new(DroppedReplies::new(reactor.waker()));
        assert_ne!(a.key(), b.key());
        let id = AskId { n: 7, slot: 3 };
        // From another thread, as a handle may be dropped anywhere.
        let key = a.key();
        std::thread::spawn(move || key.push_dropped(id, true))
            .join()
            .unwrap();
        assert!(a.list().any() && !b.list().any());
        assert_eq!(a.list().take(), [(id, true)]);
        assert!(!a.list().any());
        drop(a);
        // Its loop gone: nothing to tell, and nothing else told.
        key.push_dropped(id, false);
        assert!(!b.list().any());
    }

    #[test]
    fn a_freed_slot_is_reused_and_its_old_id_stays_stale() {
        let mut t = AskTable::new();
        let a = t.insert(actor(0), "a");
        assert_eq!(t.remove(a), Some((actor(0), "a")));
        let b = t.insert(actor(0), "b");
        // The same slot, another number: the old id finds nothing.
        assert_eq!((a.slot, a.number() + 1), (b.slot, b.number()));
        assert_eq!(t.remove(a), None);
        assert!(t.payload_mut(a).is_none());
        assert_eq!(t.payload_mut(b), Some(&mut "b"));
        assert_eq!(t.remove(b), Some((actor(0), "b")));
        assert_eq!(t.remove(b), None);
        assert!(t.is_empty());
        // One ask at a time never takes a second slot.
        for _ in 0..1000 {
            let id = t.insert(actor(0), "c");
            assert!(t.queue_timeout(id, 1000, 0, None));
            t.remove(id);
        }
        assert_eq!((t.slots.len(), t.timed(), t.has_unstamped()), (1, 0, false));
    }

    #[test]
    fn an_askers_asks_go_with_it_and_no_others() {
        let mut t = AskTable::new();
        let ids: Vec<_> = (0..6).map(|i| t.insert(actor(i % 2), i)).collect();
        for &id in &ids {
            assert!(t.queue_timeout(id, 50, 0, Some(0)));
        }
        // One from the middle of actor 1's list first.
        assert_eq!(t.remove(ids[3]).map(|(_, p)| p), Some(3));
        let mut gone = Vec::new();
        while let Some(p) = t.remove_one_of(1) {
            gone.push(p);
        }
        gone.sort();
        assert_eq!(gone, [1, 5]);
        assert_eq!((t.len(), t.timed()), (3, 3));
        assert!(t.remove_one_of(1).is_none());
        assert!(t.remove_one_of(99).is_none());
        assert!(t.has_asks_of(0) && !t.has_asks_of(1) && !t.has_asks_of(99));
        while t.remove_one_of(0).is_some() {}
        assert!(t.is_empty());
        assert_eq!(t.timed(), 0);
        assert_eq!(t.earliest(0), None);
    }

    /// Pops every timeout due at `now`, in firing order.
    fn due(t: &mut AskTable<u32>, now: u64) -> Vec<(u64, u32)> {
        let mut out = Vec::new();
        while let Some((deadline, _, id)) = t.first_due(now) {
            out.push((deadline, t.remove(id).unwrap().1));
        }
        out
    }

    #[test]
    fn timeouts_of_one_duration_are_a_fifo_and_durations_interleave_by_deadline() {
        let mut t = AskTable::new();
        let mut seq = 0;
        let mut ask = |t: &mut AskTable<u32>, p: u32, ms: u64, now: u64| {
            seq += 1;
            let id = t.insert(actor(0), p);
            assert!(t.queue_timeout(id, ms, seq, Some(now)));
            id
        };
        ask(&mut t, 1, 100, 0);
        ask(&mut t, 2, 30, 0);
        let cancelled = ask(&mut t, 3, 100, 10);
        ask(&mut t, 4, 30, 10);
        ask(&mut t, 5, 100, 10);
        // Same deadline as 5 (110): set later, fires later.
        ask(&mut t, 6, 80, 30);
        t.remove(cancelled);
        assert_eq!(t.earliest(0), Some(30));
        assert_eq!(due(&mut t, 29), []);
        assert_eq!(due(&mut t, 40), [(30, 2), (40, 4)]);
        assert_eq!(t.earliest(0), Some(100));
        assert_eq!(due(&mut t, 1_000), [(100, 1), (110, 5), (110, 6)]);
        assert_eq!((t.timed(), t.len()), (0, 0));
    }

    #[test]
    fn a_timeout_without_a_deadline_counts_from_the_next_stamp() {
        let mut t = AskTable::new();
        let a = t.insert(actor(0), 1);
        let b = t.insert(actor(0), 2);
        assert!(t.queue_timeout(a, 100, 1, None));
        assert!(t.has_unstamped());
        // Not due, whatever the time, before it has a deadline; until then
        // it counts as due its duration after the base given.
        assert_eq!(t.first_due(u64::MAX), None);
        assert_eq!(t.earliest(7), Some(107));
        t.stamp(20);
        assert!(!t.has_unstamped());
        assert_eq!(t.earliest(7), Some(120));
        // A later ask, stamped later: its deadline is later.
        assert!(t.queue_timeout(b, 100, 2, None));
        t.remove(b);
        assert!(!t.has_unstamped());
        let c = t.insert(actor(0), 3);
        assert!(t.queue_timeout(c, 100, 3, None));
        // Behind an entry without a deadline, a reading given at the ask
        // waits for the stamp too (the FIFO's deadlines keep growing).
        let d = t.insert(actor(0), 4);
        assert!(t.queue_timeout(d, 100, 4, Some(25)));
        t.stamp(30);
        assert_eq!(due(&mut t, 129), [(120, 1)]);
        assert_eq!(due(&mut t, 130), [(130, 3), (130, 4)]);
    }

    #[test]
    fn beyond_the_fifos_a_duration_is_refused_until_one_is_free() {
        let mut t = AskTable::new();
        let ids: Vec<_> = (0..QUEUES as u64)
            .map(|ms| {
                let id = t.insert(actor(0), ms as u32);
                assert!(t.queue_timeout(id, 10 + ms, 0, Some(0)));
                id
            })
            .collect();
        let extra = t.insert(actor(0), 99);
        assert!(!t.queue_timeout(extra, 5, 0, Some(0)));
        // A duration that has its FIFO is still taken.
        let same = t.insert(actor(0), 98);
        assert!(t.queue_timeout(same, 10, 0, Some(0)));
        // Once a FIFO is empty, it serves the new duration.
        t.remove(ids[3]);
        assert!(t.queue_timeout(extra, 5, 0, Some(0)));
        assert_eq!(t.earliest(0), Some(5));
        assert_eq!(t.timed(), QUEUES + 1);
    }
}
