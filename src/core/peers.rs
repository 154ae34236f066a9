//! Sends between the loops of a [`Runtime`](crate::Runtime) (R26).
//!
//! Every ordered pair of loops (source, destination) has two rings
//! (`ring.rs`): one carries runs of messages from the source to the
//! destination, the other hands the emptied runs back for reuse, so a steady
//! stream allocates nothing. A send to an actor on another loop is the same
//! [`Core::send`](crate::Core::send); its id's loop index routes it here
//! (`send_to_loop`), where it joins the source's *outbox* for that
//! destination: the open run, if its messages have the same type, else a
//! new run. Outboxes are flushed into their rings at the end of every turn
//! (`flush_peers`), and earlier when a run holds `FLUSH_AT` messages, so a
//! destination takes a turn's sends in a few ring slots and is woken at
//! most once per flush, only if it said it was about to block. The destination takes the runs at the
//! start of its turns (`drain_peers`) and delivers them as it delivers
//! messages from other threads (`remote.rs`): into the mailbox, or, when
//! it is full, into the target's park, after which they count against the
//! destination's cross-thread bound (`Remote::adopt`).
//!
//! Order: one source loop fills each ring in send order and the destination
//! delivers runs in ring order, so messages from one actor to another keep
//! their order (FIFO per pair of actors, and per pair of loops).
//!
//! Bounds: a pair may have `ring_cap` messages sent and not yet taken by
//! the destination (counted by two monotonic counters, each written by one
//! side only); past that, or while the destination's cross-thread bound is
//! reached, a send is refused with `MailboxFull` and the message comes back.
//! Memory is bounded by `ring_cap` per pair plus the destination's
//! `cross_thread_cap`.
//!
//! A message for an actor that is dead when it arrives (a stale id) is never
//! given to the slot's next occupant: it is dropped there as a dead letter.

use super::inbox::{Batch, Remote, RemoteBatch, RemoteMsg, MAX_SPARE_CAPACITY};
use super::ring::{ring, Consumer, Producer};
use crate::Addr;
use std::collections::VecDeque;
use std::sync::atomic::{fence, AtomicUsize, Ordering};
use std::sync::Arc;

/// Messages in one run before it is pushed without waiting for the end of
/// the turn, so that the destination can start on a long burst.
pub(super) const FLUSH_AT: usize = 256;

/// Runs a ring holds (beyond them, runs wait in the outbox).
const RING_RUNS: usize = 1024;

/// Emptied runs an outbox keeps for reuse.
const MAX_LOCAL_SPARES: usize = 8;

/// Polls of the inbound rings before a loop with nothing to do blocks.
pub(super) const SPIN_POLLS: u32 = 4096;

/// Counts that two sides share, each written by one side only.
struct PairCounts {
    /// Messages the destination has taken from the ring (written by it).
    taken: AtomicUsize,
}

/// A loop's ends of the rings to and from the other loops.
pub(crate) struct Peers<C: 'static> {
    /// By destination loop; `None` for this loop.
    pub(super) out: Vec<Option<Outbox<C>>>,
    /// By source loop; `None` for this loop.
    pub(super) inbound: Vec<Option<Inbound<C>>>,
    /// Destinations whose outbox holds messages to flush.
    pub(super) dirty: Vec<usize>,
}

/// What a loop holds to send to one other loop.
pub(super) struct Outbox<C: 'static> {
    ring: Producer<RemoteMsg<C>>,
    /// Emptied runs handed back by the destination.
    spares_back: Consumer<RemoteMsg<C>>,
    spares: Vec<RemoteMsg<C>>,
    /// Runs not yet pushed (the last one is open to more messages).
    pub(super) runs: VecDeque<RemoteMsg<C>>,
    /// Messages in `runs`.
    pub(super) pending: usize,
    /// Messages ever pushed into the ring.
    sent: usize,
    /// `counts.taken` as last read.
    taken_seen: usize,
    counts: Arc<PairCounts>,
    /// Most messages sent and not yet taken.
    cap: usize,
    /// The destination's inbox: its bound and its sleep flag.
    pub(super) dest: Arc<Remote<C>>,
}

/// What a loop holds to take from one other loop.
pub(super) struct Inbound<C: 'static> {
    pub(super) ring: Consumer<RemoteMsg<C>>,
    spares_back: Producer<RemoteMsg<C>>,
    taken: usize,
    counts: Arc<PairCounts>,
}

/// Builds the peers of `remotes.len()` loops: element `i` is loop `i`'s.
pub(crate) fn connect<C>(remotes: &[Arc<Remote<C>>], ring_cap: usize) -> Vec<Peers<C>> {
    let n = remotes.len();
    let mut peers: Vec<Peers<C>> = (0..n)
        .map(|_| Peers {
            out: (0..n).map(|_| None).collect(),
            inbound: (0..n).map(|_| None).collect(),
            dirty: Vec::new(),
        })
        .collect();
    for src in 0..n {
        for dst in (0..n).filter(|&d| d != src) {
            let (tx, rx) = ring(RING_RUNS);
            let (back_tx, back_rx) = ring(RING_RUNS);
            let counts = Arc::new(PairCounts {
                taken: AtomicUsize::new(0),
            });
            peers[src].out[dst] = Some(Outbox {
                ring: tx,
                spares_back: back_rx,
                spares: Vec::new(),
                runs: VecDeque::new(),
                pending: 0,
                sent: 0,
                taken_seen: 0,
                counts: counts.clone(),
                cap: ring_cap.max(1),
                dest: remotes[dst].clone(),
            });
            peers[dst].inbound[src] = Some(Inbound {
                ring: rx,
                spares_back: back_tx,
                taken: 0,
                counts,
            });
        }
    }
    peers
}

impl<C> Outbox<C> {
    /// Whether one more message fits the pair's bound.
    #[inline]
    pub(super) fn has_room(&mut self) -> bool {
        if self.pending + self.sent.wrapping_sub(self.taken_seen) < self.cap {
            return true;
        }
        self.taken_seen = self.counts.taken.load(Ordering::Acquire);
        self.pending + self.sent.wrapping_sub(self.taken_seen) < self.cap
    }

    /// Adds a message to the open run, or to a new one.
    #[inline]
    pub(super) fn add<M: 'static>(&mut self, to: Addr<M>, msg: M)
    where
        Batch<M>: RemoteBatch<C>,
    {
        self.pending += 1;
        if let Some(b) = self
            .runs
            .back_mut()
            .and_then(|r| r.as_any_mut().downcast_mut::<Batch<M>>())
        {
            b.0.push_back((to, msg));
            return;
        }
        while let Some(run) = self.spares_back.pop() {
            if self.spares.len() < MAX_LOCAL_SPARES {
                self.spares.push(run);
            }
        }
        let mut run = match self
            .spares
            .iter_mut()
            .rposition(|r| r.as_any_mut().is::<Batch<M>>())
        {
            Some(i) => self.spares.swap_remove(i),
            None => Box::new(Batch::<M>(VecDeque::new())),
        };
        if let Some(b) = run.as_any_mut().downcast_mut::<Batch<M>>() {
            b.0.push_back((to, msg));
        }
        self.runs.push_back(run);
    }

    /// Pushes the runs the ring has room for and wakes the destination if
    /// it sleeps. Returns whether messages are left in the outbox.
    pub(super) fn flush(&mut self) -> bool {
        let mut pushed = 0;
        while let Some(run) = self.runs.pop_front() {
            let n = run.len();
            match self.ring.push(run) {
                Ok(()) => pushed += n,
                Err(run) => {
                    self.runs.push_front(run);
                    break;
                }
            }
        }
        if pushed != 0 {
            self.pending -= pushed;
            self.sent = self.sent.wrapping_add(pushed);
            // The pushes (release stores) before the read of the sleep
            // flag; the destination orders its flag before its last look
            // at the rings the same way (`Core::peers_have_news`).
            fence(Ordering::SeqCst);
            self.dest.nudge();
        }
        self.pending != 0
    }
}

impl<C> Drop for Peers<C> {
    fn drop(&mut self) {
        // Messages that never reached their loop: their destructors run
        // here, each contained (those pushed into a ring whose destination
        // is already gone are dropped with the ring).
        for out in self.out.iter_mut().flatten() {
            for mut run in out.runs.drain(..) {
                run.drop_each();
            }
        }
        for inb in self.inbound.iter_mut().flatten() {
            while let Some(mut run) = inb.ring.pop() {
                run.drop_each();
            }
        }
    }
}

impl<C> Inbound<C> {
    /// Takes every run pushed so far, in order, handing each to `deliver`,
    /// then hands the emptied runs back and tells the source how many
    /// messages were taken.
    pub(super) fn take(&mut self, mut deliver: impl FnMut(&mut RemoteMsg<C>)) {
        let mut taken = 0;
        while let Some(mut run) = self.ring.pop() {
            taken += run.len();
            deliver(&mut run);
            if run.capacity() <= MAX_SPARE_CAPACITY {
                // A full return ring drops the run instead.
                let _ = self.spares_back.push(run);
            }
        }
        if taken != 0 {
            self.taken = self.taken.wrapping_add(taken);
            self.counts.taken.store(self.taken, Ordering::Release);
        }
    }
}
