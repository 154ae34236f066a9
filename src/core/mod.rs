//! [`Core`]: the state of one loop and the API shared by [`Loop`](crate::Loop)
//! and [`Context`](crate::Context).
//!
//! Where a message goes, in order:
//! - **queued**: [`Core::send`] checks the target's id and generation, then
//!   pushes into its [`Mailbox`] (created on first use), refusing it when the
//!   mailbox is full (R8);
//! - **scheduled**: a target that was not already runnable joins the back of
//!   the run queue (`schedule`);
//! - **delivered**: each turn of the loop (`run_turns` in `event_loop.rs`)
//!   pops actors from the front of the run queue and lets each handle up to
//!   `max_msgs_per_actor` messages (`ErasedActor::run` in `actor.rs`); one
//!   with more goes to the back (R4).
//!
//! System events take the same path through the reserved lane (`push_sys`),
//! which a full mailbox does not block (R9).
//!
//! Messages from other threads join the path at "queued", between turns
//! (`remote.rs`); one that a full mailbox refuses waits for its target's
//! turn to end (`unpark`), without holding up messages for other actors.

mod io;
mod names;
mod remote;
mod scheduler;
mod timers;

use crate::actor::{ActorBox, ErasedActor, SpawnOptions, Turn};
use crate::backend::xev::{BackendError, Reactor, ReadyEvent};
use crate::clock::Clock;
use crate::handle::{Remote, RemoteMsg};
use crate::id::next_generation;
use crate::mailbox::{AnyMailbox, Mailbox};
use crate::message::{ChildExit, StopReason, SysEvent};
use crate::metrics::Counters;
use crate::observer::{drop_each_quietly, drop_quietly, ObserverSlot};
use crate::supervisor::SupState;
use crate::timer::TimerQueue;
use crate::trace::{trace_actor_start, trace_actor_stop, trace_mailbox_full};
use crate::{Actor, ActorId, Addr, BackendKind, ClockKind, Config, Error, SendError};
use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;
use std::os::fd::RawFd;
use std::sync::Arc;

use io::FdTable;
pub use scheduler::RunOrder;
use scheduler::Scheduler;
pub(crate) use timers::TimerMsg;

/// One entry of the actor table.
struct Slot {
    generation: u32,
    cap: u32,
    live: bool,
    scheduled: bool,
    /// A stop or fail requested by id, applied at the actor's next turn.
    kill: Option<StopReason>,
    /// Has fd watches, a name: teardown looks them up only then.
    has_fds: bool,
    has_name: bool,
    parent: Option<ActorId>,
    actor: Option<Box<dyn ErasedActor>>,
    mailbox: Option<AnyMailbox>,
    /// Has a park in `Core::parks`: cross-thread messages waiting for room
    /// in the mailbox (`remote.rs`). A flag, not the park itself, so that
    /// every slot stays small (R7).
    parked: bool,
    /// Sends to it from other threads are limited (`remote.rs`).
    limited: bool,
}

/// The loop's state, and the API available both on a [`Loop`](crate::Loop)
/// and, inside behaviors, on a [`Context`](crate::Context) (which
/// dereferences to `Core`).
///
/// # Examples
///
/// ```
/// use jzx::{Actor, Context, Flow, Loop};
///
/// struct Parent;
/// impl Actor for Parent {
///     type Msg = ();
///     fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
///         // Context derefs to Core: spawn and send from inside a behavior.
///         let child = cx.spawn(Child).unwrap();
///         cx.send(child, 7).unwrap();
///         Flow::Stop
///     }
/// }
///
/// struct Child;
/// impl Actor for Child {
///     type Msg = u8;
///     fn handle(&mut self, _cx: &mut Context<'_, Self>, n: u8) -> Flow {
///         assert_eq!(n, 7);
///         Flow::Stop
///     }
/// }
///
/// let mut lp = Loop::new()?;
/// let parent = lp.spawn(Parent)?;
/// lp.send(parent, ())?;
/// lp.run()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Core {
    config: Config,
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    pub(crate) scheduler: Scheduler,
    pub(crate) reactor: Reactor,
    timers: TimerQueue<Box<dyn TimerMsg>>,
    /// The deadline the bridge timer is armed for.
    armed: Option<u64>,
    watches: FdTable,
    owned_fds: HashMap<u32, Vec<RawFd>>,
    next_token: u64,
    pub(crate) observer: ObserverSlot,
    pub(crate) counters: Counters,
    pub(crate) supervisors: HashMap<u32, SupState>,
    names: HashMap<Box<str>, ActorId>,
    names_of: HashMap<u32, Box<str>>,
    pub(crate) remote: Arc<Remote>,
    remote_buf: Vec<RemoteMsg>,
    /// Cross-thread runs delivered and empty, handed back at the next drain.
    remote_spent: Vec<RemoteMsg>,
    /// Cross-thread messages waiting for room in full mailboxes (in the
    /// slots' parks), all targets together.
    remote_parked: usize,
    /// Drains in a row that found a producer holding the queue.
    drains_missed: u32,
    /// Slots whose cross-thread sends are limited (see `remote.rs`).
    limited: Vec<remote::Limited>,
    /// The parks of the slots flagged `parked`, kept (emptied) for the next
    /// burst until the actor is torn down.
    parks: remote::Parks,
    events_buf: Vec<ReadyEvent>,
    pub(crate) in_run: bool,
    /// The loop's clock (timer deadlines count from its creation).
    clock: Clock,
    /// System events for the running actor, queued after its batch.
    deferred_sys: Vec<(ActorId, SysEvent)>,
    current: Option<ActorId>,
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core")
            .field("backend", &self.reactor.backend())
            .field("actors", &self.live)
            .field("timers", &self.timers.len())
            .field("watches", &self.watches.len())
            .finish_non_exhaustive()
    }
}

/// A mailbox for an actor, typed by the actor itself when it is in its slot
/// (so a message of another type is refused, not stored), else (the running
/// actor) by the message being sent.
fn new_mailbox<M: 'static>(actor: Option<&dyn ErasedActor>) -> AnyMailbox {
    match actor {
        Some(actor) => actor.new_mailbox(),
        None => AnyMailbox::new::<M>(),
    }
}

fn backend_error(e: BackendError) -> Error {
    match e {
        BackendError::NoMemory => Error::NoMemory,
        BackendError::InvalidArg => Error::InvalidArg,
        BackendError::Closed => Error::LoopClosed,
        BackendError::BadFd | BackendError::Resources(_) => Error::IoRegFailed,
        _ => Error::Unknown,
    }
}

impl Core {
    pub(crate) fn new(config: Config) -> Result<Core, Error> {
        let config = config.normalized();
        let reactor = Reactor::new(config.backend).map_err(|e| match e {
            BackendError::Unavailable => Error::InvalidArg,
            other => backend_error(other),
        })?;
        let remote = Remote::new(reactor.waker(), config.cross_thread_cap);
        Ok(Core {
            clock: Clock::new(config.clock),
            scheduler: Scheduler::new(config.run_order, config.clock == ClockKind::Virtual),
            config,
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            reactor,
            timers: TimerQueue::new(),
            armed: None,
            watches: FdTable::default(),
            owned_fds: HashMap::new(),
            next_token: 1,
            observer: ObserverSlot::default(),
            counters: Counters::default(),
            supervisors: HashMap::new(),
            names: HashMap::new(),
            names_of: HashMap::new(),
            remote,
            remote_buf: Vec::new(),
            remote_spent: Vec::new(),
            remote_parked: 0,
            drains_missed: 0,
            limited: Vec::new(),
            parks: remote::Parks::default(),
            events_buf: Vec::new(),
            in_run: false,
            deferred_sys: Vec::new(),
            current: None,
        })
    }

    // ----------------------------------------------------------------- info

    /// The loop's configuration, zero fields replaced by defaults.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The event-loop backend in use (never `Auto`).
    pub fn backend(&self) -> BackendKind {
        self.reactor.backend()
    }

    /// Live actors.
    pub fn actor_count(&self) -> usize {
        self.live
    }

    /// Pending timers.
    pub fn timer_count(&self) -> usize {
        self.timers.len()
    }

    /// Watched fds.
    pub fn watch_count(&self) -> usize {
        self.watches.len()
    }

    /// Registrations the event-loop bridge holds (for leak checks: it equals
    /// [`Core::watch_count`], since unwatching releases a registration at
    /// once).
    pub fn bridge_watch_count(&self) -> usize {
        self.reactor.live_watches()
    }

    /// Messages queued for a live actor, in both lanes of its mailbox (user
    /// messages, timer messages, runtime events); `None` when `id` is not
    /// alive.
    pub fn mailbox_depth(&self, id: ActorId) -> Option<usize> {
        let slot = self.slot(id)?;
        Some(slot.mailbox.as_ref().map_or(0, AnyMailbox::len))
    }

    /// Whether `id` names a live actor.
    #[inline]
    pub fn is_alive(&self, id: ActorId) -> bool {
        self.slot(id).is_some()
    }

    /// The trace hash of a loop on the virtual clock: every turn of every
    /// actor so far (which actor, at what time, with how many messages
    /// queued) mixed into one number, so
    /// that two runs of one program can be compared (see
    /// [`sim::check_replay`](crate::sim::check_replay)). `None` on the
    /// monotonic clock, where it is not kept.
    pub fn trace_hash(&self) -> Option<u64> {
        self.scheduler.trace_hash()
    }

    /// The actor whose behavior is running, if any (the C ABI's `sender`).
    pub fn current_actor(&self) -> Option<ActorId> {
        self.current
    }

    /// A typed address for `id` if it is a live actor whose message type is
    /// `M` (for ids that come from names or from C).
    pub fn addr_of<M: 'static>(&self, id: ActorId) -> Option<Addr<M>> {
        let actor = self.slot(id)?.actor.as_ref();
        // While its behavior runs the actor is out of its slot; it is the
        // current actor, and its type was checked when it was spawned.
        match actor {
            Some(a) if a.msg_type() != TypeId::of::<M>() => None,
            _ => Some(Addr::new(id)),
        }
    }

    #[inline]
    fn slot(&self, id: ActorId) -> Option<&Slot> {
        self.slots
            .get(id.slot() as usize)
            .filter(|s| s.live && s.generation == id.generation())
    }

    #[inline]
    fn slot_mut(&mut self, id: ActorId) -> Option<&mut Slot> {
        self.slots
            .get_mut(id.slot() as usize)
            .filter(|s| s.live && s.generation == id.generation())
    }

    #[inline]
    pub(crate) fn id_of_slot(&self, slot: u32) -> ActorId {
        ActorId::new(slot, self.slots[slot as usize].generation)
    }

    #[inline]
    pub(crate) fn pending_kill(&self, slot: u32) -> Option<StopReason> {
        self.slots[slot as usize].kill
    }

    /// The typed mailbox of a live slot, if it has one and its messages are `M`.
    #[inline]
    pub(crate) fn mailbox_mut<M: 'static>(&mut self, slot: u32) -> Option<&mut Mailbox<M>> {
        self.slots[slot as usize]
            .mailbox
            .as_mut()?
            .downcast_mut::<M>()
    }

    // ---------------------------------------------------------------- spawn

    /// Spawns `actor` with default options. It runs once it has messages (R7).
    ///
    /// # Errors
    ///
    /// `MaxActors` when `max_actors` actors are alive.
    pub fn spawn<A: Actor>(&mut self, actor: A) -> Result<Addr<A::Msg>, Error> {
        self.spawn_with(actor, SpawnOptions::default())
    }

    /// Spawns `actor` with a mailbox capacity, a name and a parent.
    ///
    /// # Errors
    ///
    /// `MaxActors` when the table is full; `InvalidArg` when the name is
    /// taken; `NoSuchActor` when the parent is not alive.
    pub fn spawn_with<A: Actor>(
        &mut self,
        actor: A,
        opts: SpawnOptions,
    ) -> Result<Addr<A::Msg>, Error> {
        self.spawn_boxed(Box::new(ActorBox(actor)), opts)
            .map(Addr::new)
    }

    pub(crate) fn spawn_boxed(
        &mut self,
        actor: Box<dyn ErasedActor>,
        opts: SpawnOptions,
    ) -> Result<ActorId, Error> {
        // A refused actor is dropped here; its destructor must not unwind
        // through the caller (a supervisor mid-way through a restart).
        let refuse = |actor, error| {
            drop_quietly(actor);
            Err(error)
        };
        if let Some(parent) = opts.parent {
            if !self.is_alive(parent) {
                return refuse(actor, Error::NoSuchActor);
            }
        }
        if let Some(name) = &opts.name {
            if self.names.contains_key(name.as_str()) {
                return refuse(actor, Error::InvalidArg);
            }
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                if self.slots.len() >= self.config.max_actors as usize {
                    return refuse(actor, Error::MaxActors);
                }
                self.slots.push(Slot {
                    generation: 1,
                    cap: 0,
                    live: false,
                    scheduled: false,
                    kill: None,
                    has_fds: false,
                    has_name: false,
                    parent: None,
                    actor: None,
                    mailbox: None,
                    parked: false,
                    limited: false,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let cap = match opts.mailbox_cap {
            0 => self.config.default_mailbox_cap,
            n => n,
        };
        let s = &mut self.slots[slot as usize];
        s.cap = cap;
        s.live = true;
        s.scheduled = false;
        s.kill = None;
        s.has_fds = false;
        s.has_name = opts.name.is_some();
        s.parent = opts.parent;
        s.actor = Some(actor);
        s.mailbox = None;
        let id = ActorId::new(slot, s.generation);
        self.live += 1;
        if let Some(name) = opts.name {
            let name: Box<str> = name.into();
            self.names.insert(name.clone(), id);
            self.names_of.insert(slot, name);
        }
        self.observer
            .notify(|o| o.on_actor_start(id, self.names_of.get(&slot).map(|n| &**n)));
        trace_actor_start!(id, self.names_of.get(&slot).map(|n| &**n));
        Ok(id)
    }

    // ----------------------------------------------------------------- send

    /// Sends `msg` to `to`. Never blocks.
    ///
    /// # Errors
    ///
    /// The message comes back in the error (R8): `NoSuchActor` when the
    /// target is dead, `MailboxFull` when its mailbox is at capacity (the
    /// observer's `on_mailbox_full` is called first).
    #[inline]
    pub fn send<M: 'static>(&mut self, to: Addr<M>, msg: M) -> Result<(), SendError<M>> {
        let result = self.enqueue(to, msg);
        if let Err(e) = &result {
            if e.error == Error::MailboxFull {
                self.note_refused(to.id());
            }
        }
        result
    }

    /// A full mailbox refused a message for `id`: counted, traced and told
    /// to the observer (a panicking hook is contained), in one place for
    /// local sends and for cross-thread messages that start to wait.
    #[cold]
    pub(crate) fn note_refused(&mut self, id: ActorId) {
        self.counters.refused += 1;
        trace_mailbox_full!(id);
        self.observer.notify(|o| o.on_mailbox_full(id));
    }

    /// [`Core::send`] without telling the observer.
    #[inline]
    fn enqueue<M: 'static>(&mut self, to: Addr<M>, msg: M) -> Result<(), SendError<M>> {
        let id = to.id();
        let Some(slot) = self.slot_mut(id) else {
            return Err(SendError {
                error: Error::NoSuchActor,
                message: msg,
            });
        };
        let cap = slot.cap;
        if slot.mailbox.is_none() {
            slot.mailbox = Some(new_mailbox::<M>(slot.actor.as_deref()));
        }
        let Some(mailbox) = slot.mailbox.as_mut().and_then(|m| m.downcast_mut::<M>()) else {
            return Err(SendError {
                error: Error::InvalidArg,
                message: msg,
            });
        };
        if let Err(message) = mailbox.push(msg, cap) {
            return Err(SendError {
                error: Error::MailboxFull,
                message,
            });
        }
        self.counters.delivered += 1;
        self.schedule(id.slot());
        Ok(())
    }

    /// The same as [`Core::send`]: a send never blocks, so it is always a
    /// "try"; the name is here for readers who look for it.
    ///
    /// # Errors
    ///
    /// As [`Core::send`].
    pub fn try_send<M: 'static>(&mut self, to: Addr<M>, msg: M) -> Result<(), SendError<M>> {
        self.send(to, msg)
    }

    #[inline]
    fn schedule(&mut self, slot: u32) {
        let s = &mut self.slots[slot as usize];
        if !s.scheduled {
            s.scheduled = true;
            self.scheduler.push(slot);
        }
    }

    /// Queues a system event for `to`, in the reserved lane.
    fn push_sys(&mut self, to: ActorId, event: SysEvent) {
        let Some(slot) = self.slot_mut(to) else {
            return;
        };
        if slot.mailbox.is_none() {
            match slot.actor.as_ref() {
                Some(actor) => slot.mailbox = Some(actor.new_mailbox()),
                // The running actor (out of its slot, so its message type
                // is not at hand) with no mailbox yet: queue the event once
                // its turn is over.
                None => {
                    self.deferred_sys.push((to, event));
                    return;
                }
            }
        }
        if let Some(m) = slot.mailbox.as_mut() {
            m.push_sys(event);
        }
        self.schedule(to.slot());
    }

    fn push_timer_msg<M: 'static>(&mut self, to: ActorId, msg: M) {
        let Some(slot) = self.slot_mut(to) else {
            return;
        };
        if slot.mailbox.is_none() {
            slot.mailbox = Some(new_mailbox::<M>(slot.actor.as_deref()));
        }
        if let Some(m) = slot.mailbox.as_mut().and_then(|m| m.downcast_mut::<M>()) {
            m.push_timer(msg);
            self.schedule(to.slot());
        }
    }

    // ------------------------------------------------------------ stop/fail

    /// Stops an actor normally: it is torn down at its next turn without
    /// handling its remaining mailbox; on itself, when its behavior returns
    /// (R12).
    ///
    /// # Errors
    ///
    /// `NoSuchActor` when `id` is not alive.
    pub fn stop_actor(&mut self, id: ActorId) -> Result<(), Error> {
        self.kill(id, StopReason::Normal)
    }

    /// Fails an actor: as [`Core::stop_actor`], reported as a failure.
    ///
    /// # Errors
    ///
    /// `NoSuchActor` when `id` is not alive.
    pub fn fail_actor(&mut self, id: ActorId) -> Result<(), Error> {
        self.kill(id, StopReason::Fail)
    }

    fn kill(&mut self, id: ActorId, reason: StopReason) -> Result<(), Error> {
        let slot = self.slot_mut(id).ok_or(Error::NoSuchActor)?;
        slot.kill.get_or_insert(reason);
        self.schedule(id.slot());
        Ok(())
    }

    /// Runs one actor's turn: handles up to `max_msgs_per_actor` messages,
    /// then requeues or tears it down.
    pub(crate) fn run_actor(&mut self, slot: u32) {
        let budget = self.config.max_msgs_per_actor;
        let Some(mut actor) = self.slots[slot as usize].actor.take() else {
            self.slots[slot as usize].scheduled = false;
            return;
        };
        let id = self.id_of_slot(slot);
        let (clock, queued) = (&self.clock, &self.slots[slot as usize].mailbox);
        self.scheduler.trace(|| {
            let queued = queued.as_ref().map_or(0, AnyMailbox::len);
            [id.to_raw(), clock.now_ms(), queued as u64]
        });
        self.current = Some(id);
        let turn = actor.run(self, slot, budget);
        self.current = None;
        self.slots[slot as usize].actor = Some(actor);
        if !self.deferred_sys.is_empty() {
            for (to, event) in std::mem::take(&mut self.deferred_sys) {
                self.push_sys(to, event);
            }
        }
        match turn {
            Turn::Ended(reason) => self.teardown(slot, reason),
            Turn::More => self.scheduler.push(slot),
            Turn::Idle => self.slots[slot as usize].scheduled = false,
        }
        self.unpark(slot);
    }

    /// Tears down a live actor that is not running, at once (a supervisor
    /// stopping its children); its parent is not told.
    pub(crate) fn terminate_now(&mut self, id: ActorId) {
        let Some(s) = self.slot_mut(id) else { return };
        if s.actor.is_none() {
            // The running actor: stop it when its behavior returns.
            s.kill.get_or_insert(StopReason::Normal);
            return;
        }
        s.parent = None;
        if s.scheduled {
            self.scheduler.remove(id.slot());
        }
        self.teardown(id.slot(), StopReason::Normal);
    }

    /// Tears an actor down (R13). A supervisor's children go first (R24).
    fn teardown(&mut self, slot: u32, reason: StopReason) {
        if self.supervisors.contains_key(&slot) {
            self.sup_teardown(slot);
        }
        let id = self.id_of_slot(slot);
        let s = &mut self.slots[slot as usize];
        let actor = s.actor.take();
        let mailbox = s.mailbox.take();
        let parent = s.parent.take();
        let (has_fds, has_name) = (s.has_fds, s.has_name);
        s.live = false;
        s.scheduled = false;
        s.kill = None;
        s.has_fds = false;
        s.has_name = false;
        s.generation = next_generation(s.generation);
        self.free.push(slot);
        self.live -= 1;

        if has_fds {
            self.remove_watches_of(slot, id);
        }
        let timers = self.timers.remove_owner(slot);
        let parked = self.take_park(id);
        if has_name {
            if let Some(name) = self.names_of.remove(&slot) {
                self.names.remove(&name);
            }
        }
        trace_actor_stop!(id, reason);
        self.observer.notify(|o| o.on_actor_stop(id, reason));
        if let Some(parent) = parent {
            self.push_sys(parent, SysEvent::ChildExit(ChildExit { child: id, reason }));
        }
        // Pending messages, timer messages and the actor itself are dropped
        // last; a panicking destructor must not take the loop down (each
        // message on its own: a second panic while one unwinds would abort
        // the process).
        drop_each_quietly(timers);
        if let Some(mut parked) = parked {
            parked.drop_each();
        }
        if let Some(mut mailbox) = mailbox {
            mailbox.drop_each();
        }
        drop_quietly(actor);
    }

    /// Tears down every actor (the loop is going away); no reports.
    pub(crate) fn teardown_all(&mut self) {
        self.observer.put(None);
        for slot in 0..self.slots.len() as u32 {
            if self.slots[slot as usize].live {
                let s = &mut self.slots[slot as usize];
                s.parent = None;
                self.teardown(slot, StopReason::Normal);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// Every actor costs one slot, idle or not (R7, SPEC §8's ≤ 256 B per
    /// idle actor): what is rare (names, fds, parks) lives beside the table.
    #[test]
    fn a_slot_stays_at_64_bytes() {
        assert_eq!(std::mem::size_of::<super::Slot>(), 64);
    }
}
