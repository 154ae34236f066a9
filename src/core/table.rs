//! The actor table: a slot per actor, reused with a new generation (R6, R7).
//!
//! A slot holds what every actor has — its generation, mailbox capacity,
//! run state, parent, the actor itself and its mailbox — in 64 bytes. What
//! only some actors have (a name, watched fds, cross-thread messages waiting
//! for room, a supervisor's table of children) is in the slot's [`Extras`],
//! allocated the first time one of them is needed and dropped with the
//! actor, so no map beside the table is keyed by slot. Names are also
//! indexed by name here, for [`ActorTable::lookup`].
//!
//! The table is generic over the actor's type (`A`, the loop's type-erased
//! actor), so that it imports nothing of the loop that drives it.

use super::padded::Padded;
use super::park::Park;
use crate::id::next_generation;
use crate::mailbox::erased::AnyMailbox;
use crate::message::StopReason;
use crate::ActorId;
use std::any::Any;
use std::collections::HashMap;
use std::os::fd::RawFd;

/// One entry of the actor table.
pub(crate) struct Slot<A: ?Sized> {
    pub(crate) generation: u32,
    /// Mailbox capacity (R8).
    pub(crate) cap: u32,
    pub(crate) live: bool,
    /// In the run queue.
    pub(crate) scheduled: bool,
    /// Has a park in its extras (kept, emptied, until the actor is torn
    /// down): a flag in the slot so that the turn's end looks no further.
    pub(crate) parked: bool,
    /// Sends to it from other threads are limited (`remote.rs`).
    pub(crate) limited: bool,
    /// Reserved for an actor another loop spawns here, not arrived yet:
    /// messages for it are queued, it does not count as a live actor and
    /// it gets no turn until its actor is put there.
    pub(crate) reserved: bool,
    /// A stop or fail requested by id, applied at the actor's next turn.
    pub(crate) kill: Option<StopReason>,
    /// Told with a child exit when this actor ends: a raw id, 0 for none
    /// (8 bytes instead of an `Option<ActorId>`'s 16, for the 64-byte slot).
    parent: u64,
    /// The actor; `None` while its behavior or one of its hooks runs.
    pub(crate) actor: Option<Box<A>>,
    /// Created by the first message.
    pub(crate) mailbox: Option<AnyMailbox>,
    pub(crate) extras: Option<Box<Extras>>,
}

impl<A: ?Sized> Slot<A> {
    /// A slot never used: free, generation 1.
    fn new() -> Self {
        Slot {
            generation: 1,
            cap: 0,
            live: false,
            scheduled: false,
            parked: false,
            limited: false,
            reserved: false,
            kill: None,
            parent: 0,
            actor: None,
            mailbox: None,
            extras: None,
        }
    }

    /// The actor told with a child exit when this one ends.
    #[inline]
    pub(crate) fn parent(&self) -> Option<ActorId> {
        ActorId::from_raw(self.parent)
    }

    /// Forgets the parent: it will not be told.
    #[inline]
    pub(crate) fn orphan(&mut self) {
        self.parent = 0;
    }
}

/// What only some actors have (see the module's doc).
#[derive(Default)]
pub(crate) struct Extras {
    pub(crate) name: Option<Box<str>>,
    /// The fds it watches (`io.rs`).
    pub(crate) fds: Vec<RawFd>,
    /// Cross-thread messages waiting for room in its mailbox (`remote.rs`).
    pub(crate) park: Option<Box<dyn Park>>,
    /// State a layer above keeps for this actor, typed by that layer: a
    /// supervisor's table of children.
    pub(crate) attached: Option<Box<dyn Any>>,
    /// Monitors of this actor: (monitor number, watcher) (`links.rs`).
    pub(crate) watchers: Vec<(u64, ActorId)>,
    /// Monitors this actor holds, until their `Down` is delivered or they
    /// are removed: (monitor number, target).
    pub(crate) monitoring: Vec<(u64, ActorId)>,
    /// Actors linked with this one (both sides list each other).
    pub(crate) links: Vec<ActorId>,
    /// Linked exits arrive as messages instead of ending this actor.
    pub(crate) trap_exits: bool,
    /// The groups it is a member of (`names.rs`).
    pub(crate) groups: Vec<Box<str>>,
}

/// What [`ActorTable::remove`] takes out of a slot, to be dropped by the
/// caller in its own order.
pub(crate) struct Removed<A: ?Sized> {
    pub(crate) actor: Option<Box<A>>,
    pub(crate) mailbox: Option<AnyMailbox>,
    pub(crate) parent: Option<ActorId>,
    pub(crate) extras: Option<Box<Extras>>,
}

/// The actor table (see the module's doc).
pub(crate) struct ActorTable<A: ?Sized> {
    slots: Vec<Slot<A>>,
    free: Vec<u32>,
    live: usize,
    names: HashMap<Box<str>, ActorId>,
    /// The loop's index in its runtime (0 for a lone loop): part of every id.
    index: u8,
    /// Reserved slots (live, not counted as actors).
    reserved: usize,
    /// For a loop of a runtime: slots never used yet are claimed through
    /// this count, shared with the other loops, so that one of them can
    /// claim a slot here for an actor it spawns on this loop (when it has
    /// no reserved slot at hand). `None` for a lone loop.
    fresh: Option<std::sync::Arc<Padded<std::sync::atomic::AtomicU32>>>,
}

/// Claims a slot never used through a loop's shared count, which stops at
/// the largest table (so it never wraps around to used slots).
pub(crate) fn claim(fresh: &std::sync::atomic::AtomicU32) -> Option<u32> {
    use std::sync::atomic::Ordering::Relaxed;
    fresh
        .fetch_update(Relaxed, Relaxed, |n| {
            (n < crate::id::MAX_SLOTS).then_some(n + 1)
        })
        .ok()
}

impl<A: ?Sized> ActorTable<A> {
    pub(crate) fn new(index: u8) -> Self {
        ActorTable {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            names: HashMap::new(),
            index,
            reserved: 0,
            fresh: None,
        }
    }

    /// Shares the count of claimed slots with the other loops of a runtime
    /// (before any actor is spawned).
    pub(crate) fn share_fresh(
        &mut self,
        fresh: std::sync::Arc<Padded<std::sync::atomic::AtomicU32>>,
    ) {
        fresh.store(self.slots.len() as u32, std::sync::atomic::Ordering::SeqCst);
        self.fresh = Some(fresh);
    }

    /// Live actors, not counting reserved slots.
    #[inline]
    pub(crate) fn actors(&self) -> usize {
        self.live - self.reserved
    }

    /// The loop's index in its runtime.
    #[inline]
    pub(crate) fn index(&self) -> u8 {
        self.index
    }

    /// Live actors.
    #[inline]
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Slots ever used (live or free).
    pub(crate) fn len(&self) -> u32 {
        self.slots.len() as u32
    }

    /// The slot of a live actor `id` (loop, slot and generation match).
    #[inline]
    pub(crate) fn get(&self, id: ActorId) -> Option<&Slot<A>> {
        if id.loop_byte() != self.index {
            return None;
        }
        self.slots
            .get(id.slot() as usize)
            .filter(|s| s.live && s.generation == id.generation())
    }

    /// As [`ActorTable::get`], mutable.
    #[inline]
    pub(crate) fn get_mut(&mut self, id: ActorId) -> Option<&mut Slot<A>> {
        if id.loop_byte() != self.index {
            return None;
        }
        self.slots
            .get_mut(id.slot() as usize)
            .filter(|s| s.live && s.generation == id.generation())
    }

    /// Slot `slot`, live or not (the caller has it from the run queue or an
    /// id it checked).
    #[inline]
    pub(crate) fn at(&self, slot: u32) -> &Slot<A> {
        &self.slots[slot as usize]
    }

    /// As [`ActorTable::at`], mutable.
    #[inline]
    pub(crate) fn at_mut(&mut self, slot: u32) -> &mut Slot<A> {
        &mut self.slots[slot as usize]
    }

    /// The id of slot `slot`'s current (or next) actor.
    #[inline]
    pub(crate) fn id_of(&self, slot: u32) -> ActorId {
        ActorId::new(self.index, slot, self.slots[slot as usize].generation)
    }

    /// Gives `actor` (or, with `None`, an actor the caller puts there
    /// later) a slot, with mailbox capacity `cap`, `parent` and `name`
    /// (which the caller checked is free). `None` when `max` actors are
    /// alive.
    #[inline]
    pub(crate) fn insert(
        &mut self,
        actor: Option<Box<A>>,
        cap: u32,
        parent: Option<ActorId>,
        name: Option<Box<str>>,
        max: u32,
    ) -> Option<ActorId> {
        // Slots reserved for other loops' spawns do not count as actors.
        if self.live - self.reserved >= max as usize {
            return None;
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                if self.slots.len() >= crate::id::MAX_SLOTS as usize {
                    return None;
                }
                match &self.fresh {
                    None => {
                        self.slots.push(Slot::new());
                        (self.slots.len() - 1) as u32
                    }
                    Some(fresh) => {
                        let slot = claim(fresh)?;
                        // Slots other loops claimed meanwhile wait for their
                        // actors.
                        self.materialize(slot);
                        slot
                    }
                }
            }
        };
        let s = &mut self.slots[slot as usize];
        s.cap = cap;
        s.live = true;
        s.parent = parent.map_or(0, ActorId::to_raw);
        s.actor = actor;
        let id = ActorId::new(self.index, slot, s.generation);
        self.live += 1;
        if let Some(name) = name {
            self.names.insert(name.clone(), id);
            self.extras_mut(slot).name = Some(name);
        }
        Some(id)
    }

    /// Makes the slots up to `slot` exist: those not made yet were claimed
    /// by other loops (see `fresh`), and are reserved for their actors
    /// (generation 1, as every new slot).
    fn materialize(&mut self, slot: u32) {
        while self.slots.len() <= slot as usize {
            let mut s = Slot::new();
            s.live = true;
            s.reserved = true;
            self.slots.push(s);
            self.live += 1;
            self.reserved += 1;
        }
        // `slot` itself is the caller's.
        let s = &mut self.slots[slot as usize];
        s.live = false;
        s.reserved = false;
        self.live -= 1;
        self.reserved -= 1;
    }

    /// Reserves a slot for an actor another loop spawns here (not counted
    /// as an actor: the bound is checked when it arrives); `None` when the
    /// table is at its largest.
    pub(crate) fn reserve(&mut self, cap: u32) -> Option<ActorId> {
        let id = self.insert(None, cap, None, None, u32::MAX)?;
        self.slots[id.slot() as usize].reserved = true;
        self.reserved += 1;
        Some(id)
    }

    /// The reserved slot `id`, once its actor arrives: the slot that was
    /// claimed by another loop and not made yet is made now. False when
    /// `id` is neither reserved nor claimed (a stale id, or one no loop
    /// claimed).
    pub(crate) fn take_reserved(&mut self, id: ActorId) -> bool {
        if id.loop_byte() != self.index {
            return false;
        }
        let claimed = self
            .fresh
            .as_ref()
            .map_or(0, |f| f.load(std::sync::atomic::Ordering::Relaxed));
        if id.slot() as usize >= self.slots.len() && id.slot() < claimed && id.generation() == 1 {
            self.materialize(id.slot());
            let s = &mut self.slots[id.slot() as usize];
            s.live = true;
            self.live += 1;
            return true;
        }
        match self.get_mut(id) {
            Some(s) if s.reserved => {
                s.reserved = false;
                self.reserved -= 1;
                true
            }
            _ => false,
        }
    }

    /// Gives back the slot reserved or claimed for `id`, whose spawn was
    /// called off.
    pub(crate) fn release(&mut self, id: ActorId) {
        if self.take_reserved(id) {
            self.remove(id.slot());
        }
    }

    /// Sets what a spawn asked for on the reserved slot `id`, whose actor
    /// has arrived (`take_reserved`).
    pub(crate) fn occupy(&mut self, id: ActorId, cap: u32, parent: Option<ActorId>) {
        let s = &mut self.slots[id.slot() as usize];
        s.cap = cap;
        s.parent = parent.map_or(0, ActorId::to_raw);
    }

    /// For a message arriving from another loop: makes the slot that
    /// another loop claimed for `id` (its actor not arrived yet), so that
    /// the message waits there. False when `id` was not claimed.
    pub(crate) fn await_claimed(&mut self, id: ActorId) -> bool {
        let claimed = self
            .fresh
            .as_ref()
            .map_or(0, |f| f.load(std::sync::atomic::Ordering::Relaxed));
        if id.loop_byte() != self.index
            || (id.slot() as usize) < self.slots.len()
            || id.slot() >= claimed
            || id.generation() != 1
        {
            return false;
        }
        self.materialize(id.slot());
        let s = &mut self.slots[id.slot() as usize];
        s.live = true;
        s.reserved = true;
        self.live += 1;
        self.reserved += 1;
        true
    }

    /// Frees slot `slot` for a next actor (a new generation) and hands back
    /// what it held. Its name is unregistered.
    #[inline]
    pub(crate) fn remove(&mut self, slot: u32) -> Removed<A> {
        let s = &mut self.slots[slot as usize];
        let removed = Removed {
            actor: s.actor.take(),
            mailbox: s.mailbox.take(),
            parent: ActorId::from_raw(std::mem::take(&mut s.parent)),
            extras: s.extras.take(),
        };
        s.live = false;
        s.scheduled = false;
        s.parked = false;
        s.limited = false;
        if s.reserved {
            s.reserved = false;
            self.reserved -= 1;
        }
        s.kill = None;
        s.generation = next_generation(s.generation);
        self.free.push(slot);
        self.live -= 1;
        if let Some(name) = removed.extras.as_ref().and_then(|e| e.name.as_ref()) {
            self.names.remove(name);
        }
        removed
    }

    /// The extras of slot `slot`, made on first use.
    #[inline]
    pub(crate) fn extras_mut(&mut self, slot: u32) -> &mut Extras {
        self.slots[slot as usize]
            .extras
            .get_or_insert_with(Box::default)
    }

    /// The extras of a live actor, if it has any.
    #[inline]
    pub(crate) fn extras(&self, id: ActorId) -> Option<&Extras> {
        self.get(id)?.extras.as_deref()
    }

    // ---------------------------------------------------------------- names

    /// Whether `name` is registered.
    pub(crate) fn name_taken(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    /// The actor registered as `name`.
    pub(crate) fn lookup(&self, name: &str) -> Option<ActorId> {
        self.names.get(name).copied()
    }

    /// The name of a live actor.
    pub(crate) fn name_of(&self, id: ActorId) -> Option<&str> {
        self.extras(id)?.name.as_deref()
    }

    /// Registers `name` for the live actor `id`, which has none.
    pub(crate) fn set_name(&mut self, id: ActorId, name: &str) {
        self.names.insert(name.into(), id);
        self.extras_mut(id.slot()).name = Some(name.into());
    }

    /// Unregisters `name`; the actor it named, if any.
    pub(crate) fn clear_name(&mut self, name: &str) -> Option<ActorId> {
        let id = self.names.remove(name)?;
        if let Some(e) = self.slots[id.slot() as usize].extras.as_mut() {
            e.name = None;
        }
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every actor costs one slot, idle or not (R7, SPEC §8's ≤ 256 B per
    /// idle actor): what is rare (names, fds, parks, supervisor tables)
    /// lives in the extras.
    #[test]
    fn a_slot_stays_at_64_bytes() {
        assert_eq!(std::mem::size_of::<Slot<dyn Any>>(), 64);
    }

    #[test]
    fn a_freed_slot_comes_back_with_a_new_generation_and_without_its_name() {
        let mut t: ActorTable<u8> = ActorTable::new(0);
        let a = t
            .insert(Some(Box::new(1)), 4, None, Some("a".into()), 8)
            .unwrap();
        assert_eq!(t.lookup("a"), Some(a));
        assert_eq!(t.name_of(a), Some("a"));
        let removed = t.remove(a.slot());
        assert_eq!(removed.actor.as_deref(), Some(&1));
        assert!(t.get(a).is_none());
        assert_eq!(t.lookup("a"), None);
        let b = t.insert(Some(Box::new(2)), 4, None, None, 8).unwrap();
        assert_eq!(b.slot(), a.slot());
        assert_ne!(b, a);
        assert_eq!(t.name_of(b), None);
        assert_eq!(t.live(), 1);
    }

    #[test]
    fn a_full_table_refuses() {
        let mut t: ActorTable<u8> = ActorTable::new(0);
        assert!(t.insert(Some(Box::new(1)), 1, None, None, 1).is_some());
        assert_eq!(t.insert(Some(Box::new(2)), 1, None, None, 1), None);
    }
}
