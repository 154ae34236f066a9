//! The cross-thread inbox: what [`LoopHandle`](crate::LoopHandle)s send
//! into a loop, queued until the loop drains it (R14).
//!
//! Producers push messages into one mutex-protected queue of typed runs
//! (consecutive messages of one type share a run); the loop drains it at the
//! start of every turn (when no producer holds it at that instant, see
//! `Remote::drain`), so delivery is FIFO per producer. Runs the loop has
//! emptied go back to the queue as spares for the producers' next runs, so a
//! steady producer allocates nothing, per message or per drain (a run that
//! grew large, or one pushed out by newer spares, is freed by the loop).
//!
//! The path is bounded: `in_flight` counts the messages accepted and not yet
//! in a mailbox (queued here, or waiting in the loop for room in a full
//! mailbox, see `core/remote.rs`), and a send that finds
//! `Config::cross_thread_cap` of them is refused with `MailboxFull`. Producers
//! add to the count under the queue's lock; the loop subtracts what left the
//! path (into a mailbox, or dropped): after each drain, after a waiting
//! target's turn has taken some of its messages, and when such a target is
//! torn down. So the count is exact.
//!
//! That bound only caps memory. So that one slow target cannot take all of
//! it, the loop also *limits* a target whose waiting messages reached its
//! share (`Limit`): until it has caught up, sends to it are accepted only
//! within the room the loop grants it, and refused with `MailboxFull`
//! otherwise, while sends to every other actor go on. Other loops of a
//! runtime, which send through rings of their own, keep a copy of the
//! limits (`Remote::copy_limits`), taken again when `limits_epoch` says
//! they changed (`peers.rs`).
//!
//! A producer wakes the loop only when the loop has said it is about to block
//! (`sleeping`), and the loop re-checks for queued messages after saying so:
//! with sequentially consistent atomics on both sides, either the loop sees
//! the message or the producer sees the flag, so no wakeup is lost.

use crate::backend::xev::Waker;
use crate::{ActorId, Addr, Error, SendError};
use std::any::Any;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, TryLockError};

/// A run of cross-thread messages of one type, in the order they were
/// sent, for a loop whose state is `C` (the loop implements the delivery,
/// `core/remote.rs`).
pub(crate) trait RemoteBatch<C>: Send {
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// Messages in the run.
    fn len(&self) -> usize;
    /// Messages the run can hold without growing.
    fn capacity(&self) -> usize;
    /// Hands the messages, in order, to their targets on the loop's thread;
    /// a message refused by a full mailbox waits with its target. Returns
    /// how many left the cross-thread path (into a mailbox, or dropped with
    /// a dead target).
    fn deliver(&mut self, core: &mut C) -> usize;
    /// Drops the messages one by one, each under its own `catch_unwind`: a
    /// second panicking destructor in one drop would abort the process.
    fn drop_each(&mut self);
}

pub(crate) type RemoteMsg<C> = Box<dyn RemoteBatch<C>>;

/// The messages of one run, with their targets: each target once per
/// stretch of consecutive messages for it (a stream to one actor carries
/// its address once, not with every message: half the bytes that cross
/// to the other thread for a `u64`). The front stretch and the front
/// message are kept in the run itself, so that a run of one message (a
/// request, a reply) is read from one allocation, not three: each is a
/// cache line the receiving core fetches from the sending one.
pub(crate) struct Batch<M> {
    /// The front stretch: its target and its number of consecutive
    /// messages; `None` when the run is empty.
    head: Option<(Addr<M>, usize)>,
    /// The stretches after it, in order.
    targets: VecDeque<(Addr<M>, usize)>,
    /// The front message, when it is not in `msgs`.
    first: Option<M>,
    /// The messages after `first`, in order.
    msgs: VecDeque<M>,
}

/// A new run of messages of type `M`, holding `msg` for `to`: the newest
/// emptied run of that type in `spares` (taken out), else a new one. The
/// cross-thread queue and the outboxes to other loops open their runs so.
pub(crate) fn open_run_in<C, M: 'static>(
    spares: &mut Vec<RemoteMsg<C>>,
    to: Addr<M>,
    msg: M,
) -> RemoteMsg<C>
where
    Batch<M>: RemoteBatch<C>,
{
    let mut run = match spares
        .iter_mut()
        .rposition(|r| r.as_any_mut().is::<Batch<M>>())
    {
        Some(i) => spares.swap_remove(i),
        None => Box::new(Batch::<M>::new()),
    };
    if let Some(batch) = run.as_any_mut().downcast_mut::<Batch<M>>() {
        batch.push(to, msg);
    }
    run
}

/// The messages [`Batch::drain_front`] and [`Batch::drain_all`] take, in
/// order.
pub(crate) type Drained<'a, M> =
    std::iter::Chain<std::option::IntoIter<M>, std::collections::vec_deque::Drain<'a, M>>;

impl<M> Batch<M> {
    /// An empty run.
    pub(crate) fn new() -> Batch<M> {
        Batch {
            head: None,
            targets: VecDeque::new(),
            first: None,
            msgs: VecDeque::new(),
        }
    }

    /// Adds a message for `to` at the back.
    #[inline]
    pub(crate) fn push(&mut self, to: Addr<M>, msg: M) {
        let last = match self.targets.back_mut() {
            Some(last) => Some(last),
            None => self.head.as_mut(),
        };
        match last {
            Some((t, n)) if *t == to => *n += 1,
            Some(_) => self.targets.push_back((to, 1)),
            None => self.head = Some((to, 1)),
        }
        if self.first.is_none() && self.msgs.is_empty() {
            self.first = Some(msg);
        } else {
            self.msgs.push_back(msg);
        }
    }

    /// Messages in the run.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.msgs.len()
    }

    /// Room the run holds (what a spare keeps allocated). Saturating: a
    /// queue of zero-sized messages says its capacity is `usize::MAX`.
    pub(crate) fn capacity(&self) -> usize {
        self.msgs.capacity().saturating_add(self.targets.capacity())
    }

    /// The target of the front message, and how many in a row go to it.
    #[inline]
    pub(crate) fn front(&self) -> Option<(Addr<M>, usize)> {
        self.head
    }

    /// The front stretch has `k` fewer messages: the next one comes to the
    /// front when it has none left.
    #[inline]
    fn shorten_head(&mut self, k: usize) {
        debug_assert!(
            self.head.map_or(k == 0, |(_, n)| k <= n),
            "k past the stretch"
        );
        if let Some((_, n)) = self.head.as_mut() {
            *n -= k.min(*n);
            if *n == 0 {
                self.head = self.targets.pop_front();
            }
        }
    }

    /// Takes the front message, with its target.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(Addr<M>, M)> {
        let (to, _) = self.head?;
        let msg = self.first.take().or_else(|| self.msgs.pop_front())?;
        self.shorten_head(1);
        Some((to, msg))
    }

    /// Puts `msg` for `to` back at the front (refused by a full mailbox).
    #[inline]
    pub(crate) fn unpop(&mut self, to: Addr<M>, msg: M) {
        match self.head.as_mut() {
            Some((t, n)) if *t == to => *n += 1,
            _ => {
                if let Some(head) = self.head.replace((to, 1)) {
                    self.targets.push_front(head);
                }
            }
        }
        if let Some(first) = self.first.replace(msg) {
            self.msgs.push_front(first);
        }
    }

    /// Takes the next `k` messages, all for the front target (`k` at most
    /// its count in a row).
    pub(crate) fn drain_front(&mut self, k: usize) -> Drained<'_, M> {
        let k = k.min(self.len());
        self.shorten_head(k);
        let first = if k == 0 { None } else { self.first.take() };
        let rest = k - usize::from(first.is_some());
        first.into_iter().chain(self.msgs.drain(..rest))
    }

    /// Takes every message (to drop them).
    pub(crate) fn drain_all(&mut self) -> Drained<'_, M> {
        self.head = None;
        self.targets.clear();
        self.first.take().into_iter().chain(self.msgs.drain(..))
    }
}

impl<M> Drop for Batch<M> {
    /// Messages still in a run when it is dropped (in a ring or a queue that
    /// outlived its loops): each destructor runs contained, as in
    /// `RemoteBatch::drop_each`, so that a panicking one neither escapes nor
    /// skips the others.
    fn drop(&mut self) {
        if self.len() != 0 {
            crate::observer::drop_each_quietly(self.drain_all());
        }
    }
}

// SAFETY: a `Batch<M>` moves its messages to another thread, which needs
// `M: Send`. Runs are made in two places only: `Remote::post`, whose
// signature requires `M: Send`, and a send from one loop of a runtime to an
// actor on another (`core/peers.rs`), which holds an `Addr<M>` for that
// actor on the sending loop's thread: an address is `Send` exactly when `M`
// is (`addr.rs`), and the runtime builds addresses of actors on other
// loops only where `M: Send` is required, so the address (and `M: Send`
// with it) came from another thread. Addresses of a lone loop (made on the
// same thread, with no `Send` needed) never route to another loop: their
// loop byte is 0, which names no loop of a runtime (`ActorId::route`).
#[allow(unsafe_code)]
unsafe impl<M> Send for Batch<M> {}

pub(crate) struct Remote<C: 'static> {
    queue: Mutex<RemoteQueue<C>>,
    /// Messages accepted and not yet in a mailbox: queued, or waiting in
    /// the loop for room.
    in_flight: AtomicUsize,
    /// Most messages in flight (`Config::cross_thread_cap`).
    cap: usize,
    sleeping: AtomicBool,
    stop: AtomicBool,
    /// Whether the loop is in a run of its runtime: set for every loop
    /// before any starts, cleared by each as its run returns. Other loops
    /// wait for room in its rings only while it is set (`peers.rs`).
    in_runtime_run: AtomicBool,
    /// Bumped, under the queue's lock, each time the limits change.
    limits_epoch: AtomicUsize,
    waker: Waker,
}

struct RemoteQueue<C: 'static> {
    msgs: Vec<RemoteMsg<C>>,
    /// Emptied runs handed back by the loop, reused by `post`.
    spare: Vec<RemoteMsg<C>>,
    closed: bool,
    /// Targets that may take only so many more messages (few: a target is
    /// limited only while its waiting messages are a share of the bound).
    limits: Vec<Limit>,
}

/// A limited target: sends to it are accepted while `room` lasts.
struct Limit {
    target: ActorId,
    /// More messages it may be sent before the loop grants more.
    room: usize,
    /// Messages accepted for it since the loop's last drain.
    queued: usize,
}

impl<C> RemoteQueue<C> {
    /// Whether a message for `to` may be accepted; counts it if so.
    fn admit(&mut self, to: ActorId) -> bool {
        match self.limits.iter_mut().find(|l| l.target == to) {
            Some(l) if l.room == 0 => false,
            Some(l) => {
                l.room -= 1;
                l.queued += 1;
                true
            }
            None => true,
        }
    }
}

/// The loop's view of the limits, under the queue's lock. Dropping it
/// publishes a change (`Remote::limits_epoch`).
pub(crate) struct Limits<'a, C: 'static> {
    queue: std::sync::MutexGuard<'a, RemoteQueue<C>>,
    epoch: &'a AtomicUsize,
    changed: bool,
}

impl<C> Drop for Limits<'_, C> {
    fn drop(&mut self) {
        // Still under the lock (the guard drops after this), so an epoch
        // read under the lock matches the limits.
        if self.changed {
            self.epoch.fetch_add(1, SeqCst);
        }
    }
}

impl<C> Limits<'_, C> {
    /// Sets the room of `target`, which has `waiting` messages in the loop
    /// and may hold `most` in all: limited from when `waiting` reaches
    /// `most` until it has caught up (nothing waiting nor queued). Returns
    /// whether it is limited.
    pub(crate) fn update(&mut self, target: ActorId, waiting: usize, most: usize) -> bool {
        let limits = &mut self.queue.limits;
        let at = match limits.iter().position(|l| l.target == target) {
            Some(at) => at,
            None if waiting >= most => {
                limits.push(Limit {
                    target,
                    room: 0,
                    queued: 0,
                });
                limits.len() - 1
            }
            None => return false,
        };
        let l = &mut limits[at];
        if waiting == 0 && l.queued == 0 {
            limits.swap_remove(at);
            self.changed = true;
            return false;
        }
        // A change even when the room is the same: other loops spend
        // copies of it (`peers.rs`), which this grant renews.
        l.room = most.saturating_sub(waiting + l.queued);
        self.changed = true;
        true
    }

    /// `target` is gone: its limit, if any, with it.
    pub(crate) fn remove(&mut self, target: ActorId) {
        let before = self.queue.limits.len();
        self.queue.limits.retain(|l| l.target != target);
        self.changed |= self.queue.limits.len() != before;
    }
}

/// Emptied runs kept for reuse at most (one per message type in flight is
/// what a steady producer needs); the newest are kept.
const MAX_SPARE: usize = 8;

/// Runs that grew beyond this many messages are not kept.
pub(crate) const MAX_SPARE_CAPACITY: usize = 4096;

impl<C> Remote<C> {
    pub(crate) fn new(waker: Waker, cap: u32) -> Arc<Remote<C>> {
        Arc::new(Remote {
            queue: Mutex::new(RemoteQueue {
                msgs: Vec::new(),
                spare: Vec::new(),
                closed: false,
                limits: Vec::new(),
            }),
            in_flight: AtomicUsize::new(0),
            cap: cap as usize,
            sleeping: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            in_runtime_run: AtomicBool::new(false),
            limits_epoch: AtomicUsize::new(0),
            waker,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RemoteQueue<C>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `msg` for `to`; gives it back with `LoopClosed` when the loop
    /// is gone (checked under the same lock as `close`, so nothing slips
    /// past) and with `MailboxFull` when `cap` messages are in flight or
    /// `to` is limited and has no room left.
    pub(crate) fn post<M: Send + 'static>(&self, to: Addr<M>, msg: M) -> Result<(), SendError<M>>
    where
        Batch<M>: RemoteBatch<C>,
    {
        {
            let mut q = self.lock();
            // Producers add under the lock and the loop only subtracts: the
            // check and the add below cannot be overtaken.
            let refused = if q.closed {
                Some(Error::LoopClosed)
            } else if self.in_flight.load(SeqCst) >= self.cap
                || (!q.limits.is_empty() && !q.admit(to.id()))
            {
                Some(Error::MailboxFull)
            } else {
                None
            };
            if let Some(error) = refused {
                return Err(SendError {
                    error,
                    message: msg,
                });
            }
            match q
                .msgs
                .last_mut()
                .and_then(|b| b.as_any_mut().downcast_mut::<Batch<M>>())
            {
                Some(batch) => batch.push(to, msg),
                None => {
                    let run = open_run_in(&mut q.spare, to, msg);
                    q.msgs.push(run);
                }
            }
            self.in_flight.fetch_add(1, SeqCst);
        }
        if self.sleeping.load(SeqCst) {
            let _ = self.waker.wake();
        }
        Ok(())
    }

    /// Moves every queued message into `into` (in order), and hands the
    /// emptied runs of `spent` back for reuse. Unless `wait`, returns false,
    /// having done nothing, when a producer holds the queue at that moment:
    /// the loop tries again a little later instead of waiting for the lock,
    /// since a loop waiting on it would make that producer's unlock a system
    /// call to wake it, and a producer sending a stream holds the lock often.
    #[must_use]
    pub(crate) fn drain(
        &self,
        into: &mut Vec<RemoteMsg<C>>,
        spent: &mut Vec<RemoteMsg<C>>,
        wait: bool,
    ) -> bool {
        let mut q = if wait {
            self.lock()
        } else {
            match self.queue.try_lock() {
                Ok(q) => q,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => return false,
            }
        };
        std::mem::swap(&mut q.msgs, into);
        for l in &mut q.limits {
            l.queued = 0;
        }
        q.spare.append(spent);
        let excess = q.spare.len().saturating_sub(MAX_SPARE);
        spent.extend(q.spare.drain(..excess));
        drop(q);
        spent.clear();
        true
    }

    /// The per-target limits, to update (see `Limits`).
    pub(crate) fn limits(&self) -> Limits<'_, C> {
        Limits {
            queue: self.lock(),
            epoch: &self.limits_epoch,
            changed: false,
        }
    }

    /// A number that changes whenever the per-target limits do.
    #[inline]
    pub(crate) fn limits_epoch(&self) -> usize {
        self.limits_epoch.load(SeqCst)
    }

    /// Copies the per-target limits — each limited target and the room it
    /// has left — into `into` (cleared first); returns the epoch they are
    /// of.
    pub(crate) fn copy_limits(&self, into: &mut Vec<(ActorId, usize)>) -> usize {
        let q = self.lock();
        into.clear();
        into.extend(q.limits.iter().map(|l| (l.target, l.room)));
        self.limits_epoch.load(SeqCst)
    }

    /// Most messages in flight (`Config::cross_thread_cap`).
    #[inline]
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// Messages accepted and not yet in a mailbox.
    #[inline]
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(SeqCst)
    }

    /// `n` messages from another loop of the runtime wait in the loop for
    /// room in full mailboxes: from now on they count as messages in
    /// flight here (until they are in a mailbox, `settle`).
    #[inline]
    pub(crate) fn adopt(&self, n: usize) {
        if n != 0 {
            self.in_flight.fetch_add(n, SeqCst);
        }
    }

    /// Wakes the loop if it said it is about to block (after the caller
    /// made work visible to it, with a `SeqCst` fence in between).
    #[inline]
    pub(crate) fn nudge(&self) {
        if self.sleeping.load(SeqCst) {
            let _ = self.waker.wake();
        }
    }

    /// `n` messages left the path: delivered into a mailbox, or dropped.
    #[inline]
    pub(crate) fn settle(&self, n: usize) {
        if n != 0 {
            self.in_flight.fetch_sub(n, SeqCst);
        }
    }

    pub(crate) fn request_stop(&self) {
        self.stop.store(true, SeqCst);
        let _ = self.waker.wake();
    }

    /// Consumes a stop request. The loop asks at every turn: a load first,
    /// as the swap (a locked instruction) costs a turn a few nanoseconds;
    /// only the loop clears the flag, so a request seen is still there.
    #[inline]
    pub(crate) fn take_stop(&self) -> bool {
        self.stop.load(SeqCst) && self.stop.swap(false, SeqCst)
    }

    /// Marks the loop as in, or out of, a run of its runtime.
    pub(crate) fn set_in_runtime_run(&self, running: bool) {
        self.in_runtime_run.store(running, SeqCst);
    }

    /// Whether the loop is in a run of its runtime (or about to start it).
    pub(crate) fn is_in_runtime_run(&self) -> bool {
        self.in_runtime_run.load(SeqCst)
    }

    /// Whether the loop has work from other threads to take before it may
    /// block or move virtual time: messages beyond the `waiting` ones it
    /// holds, or a stop request (not consumed).
    pub(crate) fn has_news(&self, waiting: usize) -> bool {
        self.in_flight.load(SeqCst) > waiting || self.stop.load(SeqCst)
    }

    /// Says the loop is about to block; false when it must not (messages
    /// arrived beyond the `waiting` ones the loop holds, or a stop was
    /// requested), in which case the flag is already cleared.
    pub(crate) fn enter_sleep(&self, waiting: usize) -> bool {
        self.sleeping.store(true, SeqCst);
        if self.has_news(waiting) {
            self.sleeping.store(false, SeqCst);
            return false;
        }
        true
    }

    pub(crate) fn leave_sleep(&self) {
        self.sleeping.store(false, SeqCst);
    }

    /// Refuses further messages and returns the ones still queued.
    pub(crate) fn close(&self) -> Vec<RemoteMsg<C>> {
        let mut q = self.lock();
        q.closed = true;
        q.spare.clear();
        if !q.limits.is_empty() {
            q.limits.clear();
            self.limits_epoch.fetch_add(1, SeqCst);
        }
        std::mem::take(&mut q.msgs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::xev::Reactor;
    use crate::core::Core;
    use crate::BackendKind;

    // A drain that finds a producer holding the queue moves nothing and says
    // so (the loop tries again next turn); once the lock is free it takes
    // what was queued. Messages stay counted in flight until delivered.
    /// A queue (and the reactor its waker needs) holding one message, and
    /// that message's address.
    fn one_queued() -> (Reactor, Arc<Remote<Core>>, Addr<u32>) {
        let reactor = Reactor::new(BackendKind::Epoll).unwrap();
        let remote = Remote::new(reactor.waker(), 16);
        let to = Addr::<u32>::new(ActorId::new(0, 0, 1));
        remote.post(to, 7).unwrap();
        (reactor, remote, to)
    }

    #[test]
    fn a_drain_gives_way_to_a_producer_holding_the_queue() {
        let (_reactor, remote, _) = one_queued();
        let (mut into, mut spent) = (Vec::new(), Vec::new());
        let held = remote.lock();
        assert!(!remote.drain(&mut into, &mut spent, false));
        assert!(into.is_empty());
        drop(held);
        assert!(remote.drain(&mut into, &mut spent, false));
        assert_eq!(into.len(), 1);
        assert_eq!(remote.in_flight(), 1);
    }

    // A producer that panicked holding the queue does not stop the loop from
    // taking what was queued, waiting or not.
    #[test]
    fn a_poisoned_queue_is_still_drained() {
        let (_reactor, remote, to) = one_queued();
        let poisoner = remote.clone();
        let died = std::thread::spawn(move || {
            let _held = poisoner.lock();
            panic!("a producer dies holding the queue");
        })
        .join();
        assert!(died.is_err());
        assert!(remote.queue.is_poisoned());
        let (mut into, mut spent) = (Vec::new(), Vec::new());
        assert!(remote.drain(&mut into, &mut spent, false));
        assert_eq!(into.len(), 1);
        remote.post(to, 8).unwrap();
        assert!(remote.drain(&mut into, &mut spent, true));
        assert_eq!(into.len(), 1);
        assert_eq!(remote.in_flight(), 2);
    }

    // A run keeps each stretch of messages for one target as the target
    // once and a count; taking from it, giving one back and draining a
    // stretch keep the order and the targets of the messages.
    #[test]
    fn a_batch_keeps_order_and_targets_with_each_stretch_stored_once() {
        let (a, b) = (
            Addr::<u32>::new(ActorId::new(0, 1, 1)),
            Addr::<u32>::new(ActorId::new(0, 2, 1)),
        );
        let mut run = Batch::new();
        for (to, m) in [(a, 0), (a, 1), (a, 2), (b, 3), (a, 4), (a, 5)] {
            run.push(to, m);
        }
        assert_eq!(run.len(), 6);
        assert_eq!(run.targets.len() + 1, 3, "three stretches");
        assert_eq!(run.front(), Some((a, 3)));
        assert_eq!(run.pop(), Some((a, 0)));
        run.unpop(a, 0);
        assert_eq!(run.front(), Some((a, 3)));
        assert_eq!(run.drain_front(2).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(run.pop(), Some((a, 2)));
        assert_eq!(run.front(), Some((b, 1)));
        run.unpop(a, 2);
        assert_eq!(run.front(), Some((a, 1)), "given back before b's stretch");
        assert_eq!(run.pop(), Some((a, 2)));
        assert_eq!(run.pop(), Some((b, 3)));
        assert_eq!(run.drain_all().collect::<Vec<_>>(), [4, 5]);
        assert_eq!((run.len(), run.front()), (0, None));
        // The front stretch and message live in the run itself: emptying
        // it, giving one back to an empty run, and pushing after a pop that
        // took the front keep the same order.
        run.push(b, 6);
        assert_eq!(run.pop(), Some((b, 6)));
        run.unpop(b, 6);
        assert_eq!((run.len(), run.front()), (1, Some((b, 1))));
        run.push(b, 7);
        run.push(a, 8);
        assert_eq!(run.pop(), Some((b, 6)));
        run.push(a, 9);
        assert_eq!(run.front(), Some((b, 1)));
        assert_eq!(run.drain_front(1).collect::<Vec<_>>(), [7]);
        assert_eq!(run.front(), Some((a, 2)));
        run.unpop(b, 7);
        assert_eq!(run.drain_front(1).collect::<Vec<_>>(), [7]);
        assert_eq!(run.drain_front(2).collect::<Vec<_>>(), [8, 9]);
        assert_eq!((run.len(), run.front()), (0, None));
        // Zero-sized messages: a queue of them has room for `usize::MAX`.
        let mut units = Batch::new();
        units.push(Addr::<()>::new(ActorId::new(0, 1, 1)), ());
        assert_eq!(units.capacity(), usize::MAX);
    }

    /// Counts its drops, and panics in every other one.
    struct Bomb(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl Drop for Bomb {
        fn drop(&mut self) {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if n % 2 == 0 {
                panic!("bomb {n}");
            }
        }
    }

    // A run dropped with messages in it (a ring or queue outliving its
    // loops) runs each destructor once, contained: a panicking one neither
    // escapes nor skips the rest.
    #[test]
    fn a_run_dropped_with_messages_drops_each_once_contained() {
        let drops = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let to = Addr::<Bomb>::new(ActorId::new(0, 1, 1));
        let mut run = Batch::new();
        for _ in 0..5 {
            run.push(to, Bomb(drops.clone()));
        }
        let run: RemoteMsg<Core> = Box::new(run);
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(run)));
        assert!(dropped.is_ok(), "no panic escapes the drop");
        assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 5);
    }
}

/// `Batch` against a model (a queue of target and message pairs) under
/// random pushes, pops, give-backs and drains: the same order, targets,
/// stretches and counts, and every message dropped exactly once.
#[cfg(test)]
mod batch_model {
    use super::*;
    use proptest::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;

    #[derive(Debug, Clone, Copy)]
    enum Op {
        Push(u8),
        Pop,
        PopUnpop,
        UnpopOther(u8),
        DrainFront(u8),
        DrainFrontPartial(u8),
        DrainAll,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..3).prop_map(Op::Push),
            2 => Just(Op::Pop),
            2 => Just(Op::PopUnpop),
            1 => (0u8..3).prop_map(Op::UnpopOther),
            2 => (0u8..5).prop_map(Op::DrainFront),
            1 => (0u8..5).prop_map(Op::DrainFrontPartial),
            1 => Just(Op::DrainAll),
        ]
    }

    struct Tracked(u32, Arc<AtomicUsize>);
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.1.fetch_add(1, SeqCst);
        }
    }

    fn addr(t: u8) -> Addr<Tracked> {
        Addr::new(ActorId::new(0, u32::from(t) + 1, 1))
    }

    fn front_model(m: &VecDeque<(u8, u32)>) -> Option<(u8, usize)> {
        let &(t, _) = m.front()?;
        Some((t, m.iter().take_while(|(x, _)| *x == t).count()))
    }

    fn check(b: &Batch<Tracked>, m: &VecDeque<(u8, u32)>) {
        assert_eq!(b.len(), m.len());
        let f = front_model(m).map(|(t, n)| (addr(t), n));
        assert_eq!(b.front(), f);
        // Invariants: `head` is `None` exactly when the run is empty; the
        // stretches' counts add up to its length, none is 0, and no two
        // neighbours have the same target.
        assert_eq!(b.head.is_none(), b.len() == 0);
        if b.head.is_none() {
            assert!(b.targets.is_empty());
            assert!(b.first.is_none() && b.msgs.is_empty());
        }
        let all: Vec<_> = b.head.iter().chain(b.targets.iter()).copied().collect();
        assert_eq!(all.iter().map(|s| s.1).sum::<usize>(), b.len());
        assert!(all.iter().all(|s| s.1 != 0));
        assert!(
            all.windows(2).all(|w| w[0].0 != w[1].0),
            "adjacent stretches merged"
        );
        // Stretches in the batch match the model when expanded.
        let expanded: Vec<Addr<Tracked>> = all
            .iter()
            .flat_map(|&(t, n)| std::iter::repeat(t).take(n))
            .collect();
        let model_t: Vec<_> = m.iter().map(|&(t, _)| addr(t)).collect();
        assert_eq!(expanded, model_t);
        let vals: Vec<u32> = b.first.iter().chain(b.msgs.iter()).map(|x| x.0).collect();
        let mv: Vec<u32> = m.iter().map(|&(_, v)| v).collect();
        assert_eq!(vals, mv);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]
        #[test]
        fn batch_matches_model(ops in proptest::collection::vec(op(), 0..60)) {
            let drops = Arc::new(AtomicUsize::new(0));
            let mut made = 0usize;
            let mut b: Batch<Tracked> = Batch::new();
            let mut m: VecDeque<(u8, u32)> = VecDeque::new();
            let mut next = 0u32;
            for o in ops {
                match o {
                    Op::Push(t) => {
                        b.push(addr(t), Tracked(next, drops.clone()));
                        made += 1;
                        m.push_back((t, next));
                        next += 1;
                    }
                    Op::Pop => {
                        let got = b.pop().map(|(a, x)| (a, x.0));
                        let want = m.pop_front().map(|(t, v)| (addr(t), v));
                        prop_assert_eq!(got, want);
                    }
                    Op::PopUnpop => {
                        if let Some((a, x)) = b.pop() {
                            b.unpop(a, x);
                        }
                    }
                    Op::UnpopOther(t) => {
                        b.unpop(addr(t), Tracked(next, drops.clone()));
                        made += 1;
                        m.push_front((t, next));
                        next += 1;
                    }
                    Op::DrainFront(k) => {
                        // Within the contract: k at most the front count.
                        let n = front_model(&m).map_or(0, |f| f.1);
                        let k = usize::from(k).min(n);
                        let got: Vec<u32> = b.drain_front(k).map(|x| x.0).collect();
                        let want: Vec<u32> = m.drain(..k).map(|x| x.1).collect();
                        prop_assert_eq!(got, want);
                    }
                    Op::DrainFrontPartial(k) => {
                        // The iterator dropped before it is used up.
                        let n = front_model(&m).map_or(0, |f| f.1);
                        let k = usize::from(k).min(n);
                        let mut it = b.drain_front(k);
                        let firstv = it.next().map(|x| x.0);
                        drop(it);
                        let want: Vec<u32> = m.drain(..k).map(|x| x.1).collect();
                        prop_assert_eq!(firstv, want.first().copied());
                    }
                    Op::DrainAll => {
                        let got: Vec<u32> = b.drain_all().map(|x| x.0).collect();
                        let want: Vec<u32> = m.drain(..).map(|x| x.1).collect();
                        prop_assert_eq!(got, want);
                    }
                }
                check(&b, &m);
                prop_assert_eq!(drops.load(SeqCst) + b.len(), made);
            }
            drop(b);
            prop_assert_eq!(drops.load(SeqCst), made, "each dropped exactly once");
        }
    }
}
