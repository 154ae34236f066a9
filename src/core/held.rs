//! Ends held back: the actors of this loop that wait for stops in flight on
//! other loops (a supervisor stopping its children, R24), and the reports of
//! their own end that wait with them (the policy is in `stop_chain.rs`).

use super::table::Extras;
use crate::message::StopReason;
use crate::ActorId;

/// Work for a loop's core `C` that waits: the rest of a stop chain until
/// an end is reported, or what an owner does once its stops have ended.
pub(crate) type Then<C> = Box<dyn FnOnce(&mut C) + Send>;

/// What an actor's teardown did not report yet: the rest of its teardown
/// (`Core::teardown`), kept until its stops in flight have ended.
pub(super) struct HeldEnd {
    pub(super) reason: StopReason,
    pub(super) parent: Option<ActorId>,
    /// Its monitors and links, still to be told.
    pub(super) extras: Option<Box<Extras>>,
}

/// One actor with stops in flight.
struct Entry<C> {
    id: ActorId,
    /// Stop chains it started that have not ended yet.
    waiting: u32,
    /// Set by its teardown: it has ended, and its end waits.
    end: Option<HeldEnd>,
    /// The rest of the stop chains it is part of, run once its end is
    /// reported.
    after: Vec<Then<C>>,
}

/// An end that may be reported now, and what waited for it.
pub(super) struct Released<C> {
    pub(super) end: Option<HeldEnd>,
    pub(super) after: Vec<Then<C>>,
}

/// The actors of one loop with stops in flight. Few at a time (supervisors
/// in the middle of a restart or a shutdown across loops): a list.
pub(super) struct HeldEnds<C> {
    entries: Vec<Entry<C>>,
}

impl<C> Default for HeldEnds<C> {
    fn default() -> Self {
        HeldEnds {
            entries: Vec::new(),
        }
    }
}

impl<C> HeldEnds<C> {
    fn find(&mut self, id: ActorId) -> Option<&mut Entry<C>> {
        self.entries.iter_mut().find(|e| e.id == id)
    }

    /// `id` started a stop chain that goes on elsewhere.
    pub(super) fn begin(&mut self, id: ActorId) {
        match self.find(id) {
            Some(e) => e.waiting += 1,
            None => self.entries.push(Entry {
                id,
                waiting: 1,
                end: None,
                after: Vec::new(),
            }),
        }
    }

    /// Whether `id`'s end must wait (it has stops in flight).
    #[inline]
    pub(super) fn waits(&self, id: ActorId) -> bool {
        !self.entries.is_empty() && self.entries.iter().any(|e| e.id == id)
    }

    /// `id` has ended: its end waits for its stops in flight.
    pub(super) fn hold(&mut self, id: ActorId, end: HeldEnd) {
        if let Some(e) = self.find(id) {
            e.end = Some(end);
        }
    }

    /// Whether `id` has ended and its end is held.
    pub(super) fn is_held(&self, id: ActorId) -> bool {
        self.entries.iter().any(|e| e.id == id && e.end.is_some())
    }

    /// Runs `then` once `id` waits no more: its stops in flight have ended
    /// (and its end, if held, is reported). Only for an `id` that waits.
    pub(super) fn after(&mut self, id: ActorId, then: Then<C>) {
        if let Some(e) = self.find(id) {
            e.after.push(then);
        }
    }

    /// One stop chain of `id` has ended: when it was the last, `id` waits
    /// no more, and what was held is handed out.
    pub(super) fn chain_ended(&mut self, id: ActorId) -> Option<Released<C>> {
        let i = self.entries.iter().position(|e| e.id == id)?;
        let e = &mut self.entries[i];
        e.waiting -= 1;
        if e.waiting != 0 {
            return None;
        }
        let e = self.entries.swap_remove(i);
        Some(Released {
            end: e.end,
            after: e.after,
        })
    }
}
