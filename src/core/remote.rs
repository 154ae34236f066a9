//! Messages from other threads, delivered between turns (R14).
//!
//! The loop drains the cross-thread queue at the start of every turn and
//! hands each message to its target's mailbox. A message that a full mailbox
//! refuses waits in its target's *park* (one per target slot, typed by the
//! target's messages), and so do later messages for that target, so that the
//! order per producer holds; messages for other actors are not held up. When
//! the target's turn ends, it has made room: its park refills the mailbox
//! (`unpark`, called from `run_actor`), before any other actor can send to
//! it. A target that dies drops its park with its mailbox. Parked messages
//! still count against `Config::cross_thread_cap` until they are in the
//! mailbox, which keeps memory bounded whatever the producers do.

use super::Core;
use crate::handle::MAX_SPARE_CAPACITY;
use crate::observer::drop_quietly;
use crate::trace::trace_mailbox_full;
use crate::{ActorId, Addr, Error};
use std::any::Any;
use std::collections::VecDeque;

/// Cross-thread messages waiting for room in one target's mailbox.
pub(super) trait Park {
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// The actor the messages are for.
    fn target(&self) -> ActorId;
    /// Messages waiting.
    fn len(&self) -> usize;
    /// Moves messages, in order, into the target's mailbox while it has
    /// room; returns how many left the park.
    fn refill(&mut self, core: &mut Core) -> usize;
}

struct Parked<M> {
    target: ActorId,
    msgs: VecDeque<M>,
}

impl<M: 'static> Park for Parked<M> {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn target(&self) -> ActorId {
        self.target
    }

    fn len(&self) -> usize {
        self.msgs.len()
    }

    fn refill(&mut self, core: &mut Core) -> usize {
        let to = Addr::new(self.target);
        let mut moved = 0;
        while let Some(msg) = self.msgs.pop_front() {
            match core.enqueue(to, msg) {
                Ok(()) => {}
                Err(e) if e.error == Error::MailboxFull => {
                    self.msgs.push_front(e.message);
                    break;
                }
                Err(e) => drop_quietly(e.message),
            }
            moved += 1;
        }
        moved
    }
}

impl Core {
    // -------------------------------------------------------- cross-thread

    /// Delivers the messages queued by other threads (those the loop holds
    /// already, waiting for room, are not looked at).
    #[inline]
    pub(crate) fn drain_remote(&mut self) {
        if self.remote.in_flight() > self.remote_parked {
            self.drain_remote_queue();
        }
    }

    fn drain_remote_queue(&mut self) {
        let mut msgs = std::mem::take(&mut self.remote_buf);
        self.remote.drain(&mut msgs, &mut self.remote_spent);
        let mut done = 0;
        for mut run in msgs.drain(..) {
            done += run.deliver(self);
            // Keeps a delivered (empty) run to hand back at the next drain,
            // unless it grew large.
            if run.capacity() <= MAX_SPARE_CAPACITY {
                self.remote_spent.push(run);
            }
        }
        self.remote.settle(done);
        self.remote_buf = msgs;
    }

    /// A message from another thread: queued like a send, or parked behind
    /// the messages already waiting for its target, or parked because the
    /// target's mailbox is full. True when it left the cross-thread path
    /// (queued, or dropped because its target is dead).
    pub(crate) fn deliver_remote<M: 'static>(&mut self, to: Addr<M>, msg: M) -> bool {
        if self.remote_parked != 0 {
            if let Some(park) = self.parks.get_mut(&to.id().slot()) {
                if park.target() == to.id() {
                    if let Some(p) = park.as_any_mut().downcast_mut::<Parked<M>>() {
                        p.msgs.push_back(msg);
                        self.remote_parked += 1;
                        return false;
                    }
                }
            }
        }
        match self.enqueue(to, msg) {
            Ok(()) => true,
            Err(e) if e.error == Error::MailboxFull => {
                self.park(to.id(), e.message);
                false
            }
            Err(e) => {
                drop_quietly(e.message);
                true
            }
        }
    }

    /// Starts a park for `target`, whose full mailbox refused `msg`, and
    /// tells the observer.
    #[cold]
    fn park<M: 'static>(&mut self, target: ActorId, msg: M) {
        // A slot has one park: a message for a target that has one joins
        // it (`deliver_remote`), and only a message of the mailbox's type
        // can be refused as `MailboxFull`.
        let previous = self.parks.insert(
            target.slot(),
            Box::new(Parked {
                target,
                msgs: VecDeque::from([msg]),
            }),
        );
        debug_assert!(previous.is_none(), "a second park for one slot");
        self.remote_parked += 1;
        self.counters.refused += 1;
        trace_mailbox_full!(target);
        // A panicking hook is contained: the drain's other messages go on.
        self.observer.notify(|o| o.on_mailbox_full(target));
    }

    /// The turn of the actor in `slot` is over: its parked messages, if any,
    /// fill the room it made.
    #[inline]
    pub(crate) fn unpark(&mut self, slot: u32) {
        if self.remote_parked != 0 {
            self.refill_park(slot);
        }
    }

    fn refill_park(&mut self, slot: u32) {
        let Some(mut park) = self.parks.remove(&slot) else {
            return;
        };
        let moved = park.refill(self);
        self.remote_parked -= moved;
        self.remote.settle(moved);
        if park.len() != 0 {
            self.parks.insert(slot, park);
        }
    }

    /// Takes the messages waiting for the actor in `slot` (it is being torn
    /// down), for the caller to drop.
    pub(super) fn take_park(&mut self, slot: u32) -> Option<Box<dyn Park>> {
        if self.remote_parked == 0 {
            return None;
        }
        let park = self.parks.remove(&slot)?;
        self.remote_parked -= park.len();
        self.remote.settle(park.len());
        Some(park)
    }

    /// Says the loop is about to block; false when it must not (see
    /// `Remote::enter_sleep`).
    pub(crate) fn enter_sleep(&self) -> bool {
        self.remote.enter_sleep(self.remote_parked)
    }

    /// Messages sent from other threads that are not yet in a mailbox:
    /// queued, or waiting for room in a full one. Never more than
    /// [`Config::cross_thread_cap`](crate::Config::cross_thread_cap) (R14).
    pub fn cross_thread_pending(&self) -> usize {
        self.remote.in_flight()
    }

    /// Nothing left to do: no live actors, timers, watches or cross-thread
    /// messages (R2).
    pub(crate) fn is_idle(&self) -> bool {
        self.live == 0
            && self.timers.len() == 0
            && self.watches.is_empty()
            && self.remote.in_flight() == 0
    }
}
