//! Sends between the loops of a [`Runtime`](crate::Runtime) (R26).
//!
//! Every ordered pair of loops (source, destination) has two rings
//! (`ring.rs`): one carries runs of messages from the source to the
//! destination, the other hands the emptied runs back for reuse, so a steady
//! stream allocates nothing. The destination first keeps up to
//! `KEPT_SPARES` emptied runs for its own sends back to the source: in a
//! conversation whose messages have one type both ways (a rally, a
//! protocol enum) each side then writes its next run into memory its own
//! core has just read, instead of into a run the other core emptied last
//! (one more cache line moved per hop, and a slot of the return ring).
//! With a different type each way the kept runs serve nothing, and the
//! source makes two runs more (once). A send to an actor on another loop is the same
//! [`Core::send`](crate::Core::send); its id's loop index routes it here
//! (`send_to_loop`), where it joins the source's *outbox* for that
//! destination: the open run, if its messages have the same type, else a
//! new run. Outboxes are flushed into their rings at the end of every turn
//! (`flush_peers`), and earlier when a run holds `FLUSH_AT` messages, so a
//! destination takes a turn's sends in a few ring slots and is woken at
//! most once per flush, only if it said it was about to block. The
//! destination takes the runs at the
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
//! The destination's bound is read at the first send after each flush and
//! then once every `FLUSH_AT` sends (its count is written by the
//! destination, so a read per send would fetch that cache line again and
//! again while messages wait for room there), so it may be passed by up to
//! `FLUSH_AT - 1` messages per other loop. Memory is bounded by `ring_cap`
//! per pair plus the destination's `cross_thread_cap` (plus that slack).
//!
//! Per target: a slow actor whose waiting messages reach its share of the
//! destination's bound is limited there (`inbox.rs`, `remote.rs`), so that
//! it cannot shut out sends to the destination's other actors. Each outbox
//! keeps a copy of the destination's limits, taken again when their epoch
//! has changed, looked at as often as the bound (and at once when a send
//! is refused for a limit, so that room granted since is seen): a send to a
//! limited target is accepted while the room of that copy lasts, and
//! refused with `MailboxFull` after. Each other loop has its own copy, so a
//! target may be sent its room once per loop; and the destination grants
//! room from what it has taken, not counting what is still in the rings,
//! so a limit is passed by at most what one loop has in flight to it
//! (`ring_cap`) plus `FLUSH_AT - 1` sends before the copy is taken. That
//! only spreads the bound a little further; memory stays bounded.
//!
//! A message for an actor that is dead when it arrives (a stale id) is never
//! given to the slot's next occupant: it is dropped there as a dead letter.

use super::inbox::{open_run_in, Batch, Remote, RemoteBatch, RemoteMsg, MAX_SPARE_CAPACITY};
use super::padded::Padded;
use super::ring::{ring, Consumer, Producer};
use crate::{ActorId, Addr};
use std::any::TypeId;
use std::collections::VecDeque;
use std::sync::atomic::{fence, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

/// Messages in one run before it is pushed without waiting for the end of
/// the turn, so that the destination can start on a long burst.
const FLUSH_AT: usize = 256;

/// Runs a ring holds (beyond them, runs wait in the outbox).
const RING_RUNS: usize = 1024;

/// Emptied runs an outbox keeps for reuse.
const MAX_LOCAL_SPARES: usize = 8;

/// Runs taken from a source that a loop keeps for its own sends back to
/// it, at most, instead of handing them back: enough for a conversation
/// (a request and its reply reuse each other's runs), few enough that a
/// one-way stream hands nearly all of them back.
const KEPT_SPARES: usize = 2;

/// Polls of the inbound rings before a loop with nothing to do blocks
/// (only when it has sent to or taken from another loop since it last
/// spun: see `Peers::talked`).
pub(super) const SPIN_POLLS: u32 = 4096;

/// How [`Runtime::spawn`](crate::Runtime::spawn) and
/// [`Core::spawn_placed`](crate::Core::spawn_placed) choose a loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Placement {
    /// Each spawn on the next loop, in turn. The default.
    #[default]
    RoundRobin,
    /// On the loop with the fewest live actors (the lowest index on a tie).
    LeastLoaded,
}

/// Counts that two sides share, each written by one side only.
pub(crate) struct PairCounts {
    /// Messages the destination has taken from the ring (written by it).
    taken: Padded<AtomicUsize>,
    /// Messages the source has pushed into the ring (written by it), on a
    /// line of its own: read only to tell whether the runtime is quiet.
    sent: Padded<AtomicUsize>,
}

impl PairCounts {
    /// Whether everything pushed into the ring has been taken.
    fn is_drained(&self) -> bool {
        self.sent.load(Ordering::SeqCst) == self.taken.load(Ordering::SeqCst)
    }
}

/// The names of a runtime (R28): registered on one loop, looked up from
/// any. Each loop keeps its own actors' names in its table too; this map is
/// what makes a name unique in the runtime and visible from other loops.
/// Name operations are rare next to sends, so one lock is enough.
#[derive(Default)]
pub(crate) struct Names(std::sync::Mutex<std::collections::HashMap<Box<str>, crate::ActorId>>);

impl Names {
    /// The map, locked.
    pub(crate) fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<Box<str>, crate::ActorId>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Slots a destination loop has reserved for the actors one source loop
/// spawns there, so that the source can name such an actor (its `Addr`) at
/// once: the source takes one, the destination tops the pool up when a
/// spawn arrives. When the pool is empty (a burst of spawns), the source
/// claims a slot the destination never used through the destination's
/// shared count (`ActorTable::share_fresh`); the pool keeps that rare, so
/// that the destination's table does not grow with every spawn from
/// elsewhere (the slots of actors that ended come back through the pool).
pub(crate) struct SlotPool(std::sync::Mutex<Vec<crate::ActorId>>);

impl SlotPool {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<crate::ActorId>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Slots a destination keeps reserved for each source.
pub(super) const POOL_SLOTS: usize = 32;

/// Work for another loop of the runtime, run there between turns, in ring
/// order with the messages sent there: a stop by id, a system event (a
/// child's exit, a `Down`, an `Exit`), a spawn, a monitor or a link.
pub(crate) type Control<C> = Box<dyn FnOnce(&mut C) + Send>;

/// A run of controls.
pub(crate) struct Controls<C>(VecDeque<Control<C>>);

impl<C> Drop for Controls<C> {
    /// Controls still in a run when it is dropped: each contained (see
    /// `Batch`'s drop).
    fn drop(&mut self) {
        if !self.0.is_empty() {
            crate::observer::drop_each_quietly(self.0.drain(..));
        }
    }
}

impl<C: 'static> RemoteBatch<C> for Controls<C> {
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn capacity(&self) -> usize {
        self.0.capacity()
    }

    fn deliver(&mut self, core: &mut C) -> usize {
        let n = self.0.len();
        while let Some(f) = self.0.pop_front() {
            f(core);
        }
        n
    }

    fn drop_each(&mut self) {
        crate::observer::drop_each_quietly(self.0.drain(..));
    }
}

/// Whether the whole runtime is quiet: every loop idle and every ring
/// drained. Shared by the loops; changed only under its lock, and only by
/// loops going idle or leaving idleness, which is rare (a loop is idle only
/// with no live actors, timers or watched fds).
pub(crate) struct Quiet<C: 'static> {
    idle: std::sync::Mutex<Vec<bool>>,
    /// Every pair's counts, with the destination's index.
    pairs: Vec<(usize, Arc<PairCounts>)>,
    remotes: Vec<Arc<Remote<C>>>,
}

impl<C> Quiet<C> {
    /// Loop `index` is idle: true when that makes the runtime quiet, in
    /// which case every other loop is asked to stop (its run returns).
    pub(crate) fn go_idle(&self, index: usize) -> bool {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle[index] = true;
        // A ring into a loop whose run has ended is not waited for: that loop
        // takes nothing more in this run (its messages wait for the next).
        // A loop out of the runtime's run (ended, or a loop run on its own)
        // counts as idle.
        let in_run = |i: usize| self.remotes[i].is_in_runtime_run();
        let quiet = idle.iter().enumerate().all(|(i, &idle)| idle || !in_run(i))
            && self
                .pairs
                .iter()
                .all(|(dst, p)| p.is_drained() || !in_run(*dst));
        if quiet {
            idle.iter_mut().for_each(|i| *i = false);
            drop(idle);
            for (i, r) in self.remotes.iter().enumerate() {
                if i != index && in_run(i) {
                    r.request_stop();
                }
            }
        }
        quiet
    }

    /// Loop `index` has work again (before it takes it from a ring).
    pub(crate) fn leave_idle(&self, index: usize) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())[index] = false;
    }

    /// Every loop busy: the start of a run.
    pub(crate) fn reset(&self) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.iter_mut().for_each(|i| *i = false);
    }
}

/// A loop's ends of the rings to and from the other loops.
pub(crate) struct Peers<C: 'static> {
    /// By destination loop; `None` for this loop.
    pub(super) out: Vec<Option<Outbox<C>>>,
    /// By source loop; `None` for this loop.
    pub(super) inbound: Vec<Option<Inbound<C>>>,
    /// Destinations whose outbox holds messages to flush.
    pub(super) dirty: Vec<usize>,
    /// This loop's index.
    pub(super) index: usize,
    /// Whether this loop told `quiet` it is idle.
    pub(super) idle: bool,
    pub(super) quiet: Arc<Quiet<C>>,
    /// This loop's count of claimed slots (see `SlotPool`).
    pub(super) fresh: Arc<Padded<AtomicU32>>,
    /// The runtime's names.
    pub(super) names: Arc<Names>,
    /// The runtime's process groups.
    pub(super) groups: super::groups::SharedGroups,
    /// Live actors of every loop, as each last published it (at the end of
    /// its turns), for placement by load.
    pub(super) loads: Arc<[Padded<AtomicUsize>]>,
    /// What this loop last published in `loads`.
    pub(super) load: usize,
    /// The next loop of a round-robin spawn from this loop.
    pub(super) next: usize,
    /// How `Core::spawn_placed` chooses a loop.
    pub(super) placement: Placement,
    /// This loop has sent to or taken from another loop since it last spun
    /// for news: a reply or the next message is then likely within
    /// microseconds. A loop whose work comes from elsewhere (its own fds,
    /// timers) blocks at once instead of burning its CPU on empty rings.
    pub(super) talked: bool,
    /// Every loop's key (`LoopKey`), by index: where a reply to an ask of
    /// another loop goes.
    pub(super) keys: Vec<super::pending::LoopKey>,
}

/// What a loop holds to send to one other loop.
pub(super) struct Outbox<C: 'static> {
    ring: Producer<RemoteMsg<C>>,
    /// Emptied runs handed back by the destination.
    spares_back: Consumer<RemoteMsg<C>>,
    pub(super) spares: Vec<RemoteMsg<C>>,
    /// Runs not yet pushed (the last one is open to more messages).
    pub(super) runs: VecDeque<RemoteMsg<C>>,
    /// Messages in `runs`.
    pub(super) pending: usize,
    /// The message type of the open run (the last of `runs`), when it is a
    /// run of messages: a send of that type joins it without asking the
    /// boxed run what it is (two virtual calls per send otherwise).
    open_type: Option<TypeId>,
    /// Messages in the open run (0 when there is none), counted here so
    /// that a send need not ask the run for its length.
    pub(super) open_len: usize,
    /// Sends left before the destination's cross-thread bound is read
    /// again (see `Outbox::dest_has_room`).
    unchecked: usize,
    /// Messages ever pushed into the ring.
    sent: usize,
    /// `counts.taken` as last read.
    taken_seen: usize,
    counts: Arc<PairCounts>,
    /// Most messages sent and not yet taken.
    cap: usize,
    /// The destination's inbox: its bound, limits and sleep flag.
    pub(super) dest: Arc<Remote<C>>,
    /// The destination's limited targets and the room each has left (see
    /// the module's doc), as of `limits_seen`.
    limits: Vec<(ActorId, usize)>,
    limits_seen: usize,
    /// Slots reserved there for actors this loop spawns there.
    pool: Arc<SlotPool>,
    /// The destination's count of claimed slots.
    fresh: Arc<Padded<AtomicU32>>,
    /// The destination's index.
    index: u8,
}

/// What a loop holds to take from one other loop.
pub(super) struct Inbound<C: 'static> {
    pub(super) ring: Consumer<RemoteMsg<C>>,
    spares_back: Producer<RemoteMsg<C>>,
    taken: usize,
    counts: Arc<PairCounts>,
    /// Slots this loop keeps reserved for the source's spawns.
    pub(super) pool: Arc<SlotPool>,
}

/// Builds the peers of `remotes.len()` loops: element `i` is loop `i`'s.
/// Also returns what tells whether the runtime is quiet.
pub(crate) fn connect<C>(
    remotes: &[Arc<Remote<C>>],
    keys: &[super::pending::LoopKey],
    ring_cap: usize,
    placement: Placement,
) -> (Vec<Peers<C>>, Arc<Quiet<C>>) {
    let n = remotes.len();
    let loads: Arc<[Padded<AtomicUsize>]> = (0..n).map(|_| Padded(AtomicUsize::new(0))).collect();
    let fresh: Vec<Arc<Padded<AtomicU32>>> = (0..n)
        .map(|_| Arc::new(Padded(AtomicU32::new(0))))
        .collect();
    let names = Arc::new(Names::default());
    let groups = super::groups::SharedGroups::default();
    let mut pairs = Vec::new();
    let mut out: Vec<Vec<Option<Outbox<C>>>> =
        (0..n).map(|_| (0..n).map(|_| None).collect()).collect();
    let mut inbound: Vec<Vec<Option<Inbound<C>>>> =
        (0..n).map(|_| (0..n).map(|_| None).collect()).collect();
    for src in 0..n {
        for dst in (0..n).filter(|&d| d != src) {
            let (tx, rx) = ring(RING_RUNS);
            let (back_tx, back_rx) = ring(RING_RUNS);
            let counts = Arc::new(PairCounts {
                taken: Padded(AtomicUsize::new(0)),
                sent: Padded(AtomicUsize::new(0)),
            });
            pairs.push((dst, counts.clone()));
            let pool = Arc::new(SlotPool(std::sync::Mutex::new(Vec::new())));
            out[src][dst] = Some(Outbox {
                // Ids of loop `dst` carry loop byte `dst + 1` (`ActorId`).
                index: dst as u8 + 1,
                pool: pool.clone(),
                fresh: fresh[dst].clone(),
                ring: tx,
                spares_back: back_rx,
                spares: Vec::new(),
                runs: VecDeque::new(),
                pending: 0,
                open_type: None,
                open_len: 0,
                unchecked: 0,
                sent: 0,
                taken_seen: 0,
                counts: counts.clone(),
                cap: ring_cap.max(1),
                dest: remotes[dst].clone(),
                limits: Vec::new(),
                limits_seen: 0,
            });
            inbound[dst][src] = Some(Inbound {
                ring: rx,
                spares_back: back_tx,
                taken: 0,
                counts,
                pool,
            });
        }
    }
    let quiet = Arc::new(Quiet {
        idle: std::sync::Mutex::new(vec![false; n]),
        pairs,
        remotes: remotes.to_vec(),
    });
    let peers = out
        .into_iter()
        .zip(inbound)
        .enumerate()
        .map(|(index, (out, inbound))| Peers {
            out,
            inbound,
            dirty: Vec::new(),
            index,
            idle: false,
            quiet: quiet.clone(),
            fresh: fresh[index].clone(),
            names: names.clone(),
            groups: groups.clone(),
            loads: loads.clone(),
            load: 0,
            // Loops start their rounds at different loops.
            next: index,
            placement,
            talked: false,
            keys: keys.to_vec(),
        })
        .collect();
    (peers, quiet)
}

impl<C> Peers<C> {
    /// Something was added to `out`, the outbox for loop `index`: it is
    /// flushed at the end of the turn (`dirty`), or now if its open run is
    /// long.
    #[inline]
    pub(super) fn queued(&mut self, index: usize) {
        self.talked = true;
        if let Some(out) = self.out[index].as_mut() {
            if out.note_added() {
                self.dirty.push(index);
            }
        }
    }

    /// Whether another loop has pushed runs not yet taken.
    #[inline]
    pub(super) fn has_news(&mut self) -> bool {
        self.inbound
            .iter_mut()
            .flatten()
            .any(|i| i.ring.has_items())
    }
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

    /// Whether the destination's cross-thread bound leaves room for one
    /// more message. Its count is a cache line the destination writes (as
    /// messages wait for room in its mailboxes and leave), so it is read at
    /// the first send after each flush and then once every `FLUSH_AT`
    /// sends, not on each: between two reads the bound can be passed by at
    /// most `FLUSH_AT - 1` messages from this loop, which only caps memory a
    /// little higher (see the module's doc).
    #[inline]
    pub(super) fn dest_has_room(&mut self) -> bool {
        if self.unchecked != 0 {
            self.unchecked -= 1;
            return true;
        }
        if self.dest.in_flight() >= self.dest.cap() {
            return false;
        }
        self.unchecked = FLUSH_AT - 1;
        self.see_limits();
        true
    }

    /// Takes a copy of the destination's limits if they changed since the
    /// last one; true if they had.
    fn see_limits(&mut self) -> bool {
        if self.dest.limits_epoch() == self.limits_seen {
            return false;
        }
        self.limits_seen = self.dest.copy_limits(&mut self.limits);
        true
    }

    /// Whether a message for `to` may be sent as far as its limit goes
    /// (see the module's doc); counts it if so.
    #[inline]
    pub(super) fn admit(&mut self, to: ActorId) -> bool {
        self.limits.is_empty() || self.admit_limited(to)
    }

    #[cold]
    fn admit_limited(&mut self, to: ActorId) -> bool {
        let mut again = true;
        loop {
            let Some(at) = self.limits.iter().position(|&(t, _)| t == to) else {
                return true;
            };
            let room = &mut self.limits[at].1;
            if *room != 0 {
                *room -= 1;
                return true;
            }
            // No room left in this copy: the destination may have granted
            // more since.
            if !std::mem::take(&mut again) || !self.see_limits() {
                return false;
            }
        }
    }

    /// Adds a message to the open run if it carries messages of this type,
    /// else to a new run.
    #[inline]
    #[allow(unsafe_code)]
    pub(super) fn add<M: 'static>(&mut self, to: Addr<M>, msg: M)
    where
        Batch<M>: RemoteBatch<C>,
    {
        self.pending += 1;
        if self.open_type == Some(TypeId::of::<M>()) {
            if let Some(run) = self.runs.back_mut() {
                let run: *mut dyn RemoteBatch<C> = &mut **run;
                // SAFETY: `open_type` is `M` only while the last run is a
                // `Batch<M>` (set where such a run is pushed, cleared when
                // another kind is pushed or the runs are emptied).
                let batch = unsafe { &mut *run.cast::<Batch<M>>() };
                batch.push(to, msg);
                self.open_len += 1;
                return;
            }
        }
        self.open_run(to, msg);
    }

    /// Opens a run for messages of type `M` with `msg` in it: a spare run
    /// handed back by the destination if one of that type is at hand, else
    /// a new one.
    #[cold]
    fn open_run<M: 'static>(&mut self, to: Addr<M>, msg: M)
    where
        Batch<M>: RemoteBatch<C>,
    {
        while let Some(run) = self.spares_back.pop() {
            // The newest are kept: the types sent lately.
            if self.spares.len() == MAX_LOCAL_SPARES {
                self.spares.remove(0);
            }
            self.spares.push(run);
        }
        let run = open_run_in(&mut self.spares, to, msg);
        self.runs.push_back(run);
        self.open_type = Some(TypeId::of::<M>());
        self.open_len = 1;
    }

    /// A slot on the destination for an actor spawned there: a reserved
    /// one, else one claimed there; `None` when the destination's table
    /// is at its largest.
    pub(super) fn claim_slot(&mut self) -> Option<crate::ActorId> {
        if let Some(id) = self.pool.lock().pop() {
            return Some(id);
        }
        let slot = super::table::claim(&self.fresh)?;
        Some(crate::ActorId::new(self.index, slot, 1))
    }

    /// Adds a control to the open run of controls, or to a new one. Never
    /// refused: controls carry what must not be lost (exits, `Down`s,
    /// stops), and their number is bounded by the actors' lives.
    pub(super) fn add_control(&mut self, f: Control<C>)
    where
        C: 'static,
    {
        self.pending += 1;
        if let Some(c) = self
            .runs
            .back_mut()
            .and_then(|r| r.as_any_mut().downcast_mut::<Controls<C>>())
        {
            c.0.push_back(f);
            self.open_len += 1;
            return;
        }
        self.runs.push_back(Box::new(Controls(VecDeque::from([f]))));
        self.open_type = None;
        self.open_len = 1;
    }

    /// After a message or control was added: true when the outbox has just
    /// turned non-empty (to be flushed at the end of the turn); pushes the
    /// runs now when the open one is long.
    #[inline]
    pub(super) fn note_added(&mut self) -> bool {
        if self.pending == 1 {
            return true;
        }
        if self.open_len >= FLUSH_AT {
            self.flush();
        }
        false
    }

    /// Pushes the runs the ring has room for and wakes the destination if
    /// it sleeps. Returns whether messages are left in the outbox.
    pub(super) fn flush(&mut self) -> bool {
        // The next send reads the destination's bound again.
        self.unchecked = 0;
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
        if self.runs.is_empty() {
            self.open_type = None;
            self.open_len = 0;
        }
        if pushed != 0 {
            self.pending -= pushed;
            self.sent = self.sent.wrapping_add(pushed);
            self.counts.sent.store(self.sent, Ordering::Release);
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

/// A run taken from the ring of loop `src`, with its length when taken.
pub(crate) struct TakenRun<C: 'static> {
    pub(super) src: usize,
    pub(super) len: usize,
    pub(super) run: RemoteMsg<C>,
}

impl<C> Inbound<C> {
    /// Reserved slots the source has not taken.
    pub(super) fn pooled(&self) -> usize {
        self.pool.lock().len()
    }

    /// Adds reserved slots to the source's pool.
    pub(super) fn add_to_pool(&self, ids: impl IntoIterator<Item = crate::ActorId>) {
        self.pool.lock().extend(ids);
    }

    /// Takes every run pushed so far, in order (into `into`, to deliver with
    /// the loop's peers in place: a control may send to other loops).
    pub(super) fn take(&mut self, src: usize, into: &mut Vec<TakenRun<C>>) {
        while let Some(run) = self.ring.pop() {
            into.push(TakenRun {
                src,
                len: run.len(),
                run,
            });
        }
    }

    /// A run taken from this ring has been delivered: hands it back for
    /// reuse unless `keep` took it, and tells the source how many messages
    /// were taken.
    pub(super) fn settle(&mut self, mut run: TakenRun<C>, keep: Option<&mut Outbox<C>>)
    where
        C: 'static,
    {
        // Runs of controls are made anew each time (`add_control`): only
        // runs of messages go back.
        let controls = run.run.as_any_mut().is::<Controls<C>>();
        if !controls && run.run.capacity() <= MAX_SPARE_CAPACITY {
            match keep {
                // This loop's next run to the source starts in it: its
                // lines are in this core's cache since the delivery.
                Some(out) if out.spares.len() < KEPT_SPARES => out.spares.push(run.run),
                // A full return ring drops the run instead.
                _ => {
                    let _ = self.spares_back.push(run.run);
                }
            }
        }
        self.taken = self.taken.wrapping_add(run.len);
        self.counts.taken.store(self.taken, Ordering::Release);
    }
}
