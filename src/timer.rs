//! The loop's timers: a binary heap of deadlines over a slab of entries.
//!
//! The runtime multiplexes every timer of a loop onto the bridge's one
//! re-armable timer (R15): this queue says which deadline comes next, and the
//! loop arms the bridge timer for it. Arming is O(log n); cancelling is O(1)
//! (the heap entry goes stale and is skipped when it reaches the top; the heap
//! is rebuilt when stale entries outnumber live ones). Same-deadline timers
//! fire in the order they were set (a sequence number breaks ties).
//!
//! Asks' timeouts mostly wait elsewhere, in a FIFO per duration
//! (`core/pending.rs`), and fire with these timers in one order: their
//! sequence numbers come from [`TimerQueue::next_seq`].
//!
//! Time is passed in (`now`, milliseconds), never read here, so the queue is
//! tested in virtual time.

use crate::id::{next_generation, TimerId};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A timer's message, its type erased, for a loop whose state is `C` (the
/// queue holds them; the loop implements their delivery).
pub(crate) trait TimerMsg<C> {
    /// Delivers the message to `target` (dropped if `target` is dead).
    fn fire(self: Box<Self>, core: &mut C, target: crate::ActorId);
    /// A one-shot copy of the message, for an interval's next delivery.
    fn copy(&self) -> Box<dyn TimerMsg<C>>;
    /// Whether it is a message for its target (counted as a dead letter
    /// when the target ends first), not the runtime's own timeout.
    fn is_message(&self) -> bool {
        true
    }
}

const NIL: u32 = u32::MAX;

struct Entry<P> {
    generation: u32,
    payload: Option<P>,
    seq: u64,
    interval: Option<u64>,
    owner: u32,
    prev: u32,
    next: u32,
}

/// What [`TimerQueue::pop_due`] returns.
pub(crate) struct Due<P> {
    pub id: TimerId,
    pub owner: u32,
    /// `Some` for a one-shot timer (now removed); `None` for an interval,
    /// whose payload stays (see [`TimerQueue::payload_mut`]).
    pub payload: Option<P>,
}

/// Timers keyed by [`TimerId`], each owned by an actor slot.
pub(crate) struct TimerQueue<P> {
    entries: Vec<Entry<P>>,
    free: Vec<u32>,
    heap: BinaryHeap<Reverse<(u64, u64, u32)>>,
    seq: u64,
    live: usize,
    /// First timer of each owner slot, or NIL (an intrusive list through the
    /// entries), so an actor's teardown finds its timers without a scan.
    owners: Vec<u32>,
}

impl<P> TimerQueue<P> {
    pub(crate) fn new() -> Self {
        TimerQueue {
            entries: Vec::new(),
            free: Vec::new(),
            heap: BinaryHeap::new(),
            seq: 0,
            live: 0,
            owners: Vec::new(),
        }
    }

    /// Pending timers.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Adds a timer due at `now + delay`, repeating every `interval` ms when
    /// given (an interval of 0 counts as 1).
    pub(crate) fn insert(
        &mut self,
        now: u64,
        delay: u64,
        interval: Option<u64>,
        owner: u32,
        payload: P,
    ) -> TimerId {
        self.seq += 1;
        if self.owners.len() <= owner as usize {
            self.owners.resize(owner as usize + 1, NIL);
        }
        let head = self.owners[owner as usize];
        let entry = Entry {
            generation: 1,
            payload: Some(payload),
            seq: self.seq,
            interval: interval.map(|i| i.max(1)),
            owner,
            prev: NIL,
            next: head,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                let e = &mut self.entries[slot as usize];
                let generation = e.generation;
                *e = Entry {
                    generation,
                    ..entry
                };
                slot
            }
            None => {
                self.entries.push(entry);
                (self.entries.len() - 1) as u32
            }
        };
        if head != NIL {
            self.entries[head as usize].prev = slot;
        }
        self.owners[owner as usize] = slot;
        self.live += 1;
        self.heap
            .push(Reverse((now.saturating_add(delay), self.seq, slot)));
        TimerId::new(slot, self.entries[slot as usize].generation)
    }

    fn valid(&self, id: TimerId) -> bool {
        self.entries
            .get(id.slot() as usize)
            .is_some_and(|e| e.generation == id.generation() && e.payload.is_some())
    }

    /// Removes a pending timer; `None` when it fired, was cancelled, or never
    /// existed.
    pub(crate) fn cancel(&mut self, id: TimerId) -> Option<P> {
        if !self.valid(id) {
            return None;
        }
        Some(self.remove(id.slot()))
    }

    fn remove(&mut self, slot: u32) -> P {
        let e = &mut self.entries[slot as usize];
        let payload = e.payload.take().expect("live timer");
        e.generation = next_generation(e.generation);
        let (prev, next, owner) = (e.prev, e.next, e.owner);
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else {
            self.owners[owner as usize] = next;
        }
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
        self.free.push(slot);
        self.live -= 1;
        if self.heap.len() > 64 && self.heap.len() > 2 * self.live {
            self.rebuild();
        }
        payload
    }

    fn rebuild(&mut self) {
        let entries = &self.entries;
        self.heap.retain(|Reverse((_, seq, slot))| {
            let e = &entries[*slot as usize];
            e.payload.is_some() && e.seq == *seq
        });
    }

    fn top_is_stale(&self) -> Option<bool> {
        let Reverse((_, seq, slot)) = self.heap.peek()?;
        let e = &self.entries[*slot as usize];
        Some(e.payload.is_none() || e.seq != *seq)
    }

    /// The earliest deadline of a pending timer.
    #[inline]
    pub(crate) fn next_deadline(&mut self) -> Option<u64> {
        self.peek().map(|(deadline, _)| deadline)
    }

    /// The timer that comes first: its deadline and sequence number (the
    /// order of timers of one deadline, see [`TimerQueue::next_seq`]).
    pub(crate) fn peek(&mut self) -> Option<(u64, u64)> {
        while self.top_is_stale()? {
            self.heap.pop();
        }
        self.heap
            .peek()
            .map(|Reverse((deadline, seq, _))| (*deadline, *seq))
    }

    /// A sequence number after every one given so far, for something that
    /// fires with these timers (an ask's timeout) and must keep their order
    /// at equal deadlines: the order in which they were set.
    #[inline]
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// The next timer due at or before `now`. A one-shot timer is removed; an
    /// interval is rescheduled one period after its deadline (or after `now`
    /// when it fell behind).
    pub(crate) fn pop_due(&mut self, now: u64) -> Option<Due<P>> {
        let deadline = self.next_deadline()?;
        if deadline > now {
            return None;
        }
        let Reverse((_, _, slot)) = self.heap.pop()?;
        let e = &mut self.entries[slot as usize];
        let id = TimerId::new(slot, e.generation);
        let owner = e.owner;
        match e.interval {
            Some(period) => {
                self.seq += 1;
                e.seq = self.seq;
                let mut next = deadline.saturating_add(period);
                if next <= now {
                    next = now.saturating_add(period);
                }
                self.heap.push(Reverse((next, self.seq, slot)));
                Some(Due {
                    id,
                    owner,
                    payload: None,
                })
            }
            None => Some(Due {
                id,
                owner,
                payload: Some(self.remove(slot)),
            }),
        }
    }

    /// The payload of a pending (interval) timer.
    pub(crate) fn payload_mut(&mut self, id: TimerId) -> Option<&mut P> {
        if !self.valid(id) {
            return None;
        }
        self.entries[id.slot() as usize].payload.as_mut()
    }

    /// Removes every timer of `owner`, returning their payloads.
    pub(crate) fn remove_owner(&mut self, owner: u32) -> Vec<P> {
        let mut out = Vec::new();
        while let Some(&head) = self.owners.get(owner as usize).filter(|&&h| h != NIL) {
            out.push(self.remove(head));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(q: &mut TimerQueue<u32>, now: u64) -> Vec<u32> {
        let mut out = Vec::new();
        while let Some(d) = q.pop_due(now) {
            out.push(d.payload.unwrap_or(u32::MAX));
        }
        out
    }

    #[test]
    fn timers_fire_in_deadline_then_insertion_order() {
        let mut q = TimerQueue::new();
        for i in 0..32 {
            q.insert(0, 10, None, 0, i);
        }
        q.insert(0, 5, None, 0, 100);
        assert_eq!(q.next_deadline(), Some(5));
        assert!(drain(&mut q, 4).is_empty());
        let mut want = vec![100];
        want.extend(0..32);
        assert_eq!(drain(&mut q, 10), want);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn cancel_of_pending_succeeds_and_of_fired_or_cancelled_fails() {
        let mut q = TimerQueue::new();
        let a = q.insert(0, 10, None, 0, 1);
        let b = q.insert(0, 10, None, 0, 2);
        assert_eq!(q.cancel(a), Some(1));
        assert_eq!(q.cancel(a), None);
        assert_eq!(drain(&mut q, 10), vec![2]);
        assert_eq!(q.cancel(b), None);
        // The slot is reused with a new generation: the old id stays invalid.
        let c = q.insert(0, 1, None, 0, 3);
        assert_ne!(c, a);
        assert_ne!(c, b);
        assert_eq!(q.cancel(a), None);
        assert_eq!(q.cancel(c), Some(3));
    }

    #[test]
    fn interval_repeats_until_cancelled() {
        let mut q = TimerQueue::new();
        let id = q.insert(0, 10, Some(10), 7, 9);
        let mut fired = 0;
        for now in (0..=100).step_by(5) {
            while let Some(d) = q.pop_due(now) {
                assert_eq!(d.id, id);
                assert_eq!(d.owner, 7);
                assert!(d.payload.is_none());
                fired += 1;
            }
        }
        assert_eq!(fired, 10);
        assert_eq!(q.payload_mut(id), Some(&mut 9));
        assert_eq!(q.cancel(id), Some(9));
        assert!(q.pop_due(1_000).is_none());
    }

    #[test]
    fn removing_an_owner_removes_only_its_timers() {
        let mut q = TimerQueue::new();
        for i in 0..5 {
            q.insert(0, 10, None, 1, i);
            q.insert(0, 10, None, 2, 10 + i);
        }
        let mut gone = q.remove_owner(1);
        gone.sort();
        assert_eq!(gone, vec![0, 1, 2, 3, 4]);
        assert_eq!(q.len(), 5);
        assert_eq!(drain(&mut q, 10), vec![10, 11, 12, 13, 14]);
        assert!(q.remove_owner(1).is_empty());
    }

    #[test]
    fn many_cancellations_keep_the_heap_bounded() {
        let mut q = TimerQueue::new();
        for i in 0..10_000 {
            let id = q.insert(0, 1_000, None, 0, i);
            q.cancel(id);
        }
        assert!(
            q.heap.len() <= 130,
            "heap kept {} stale entries",
            q.heap.len()
        );
        assert_eq!(q.next_deadline(), None);
    }
}
