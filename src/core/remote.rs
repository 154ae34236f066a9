//! Messages from other threads, delivered between turns (R14).
//!
//! The loop drains the cross-thread queue at the start of every turn (unless
//! a producer holds it at that instant: the loop does not wait for the lock,
//! it takes the queue at the next turn) and hands each message to its
//! target's mailbox. A message that a full mailbox
//! refuses waits in its target's *park* (kept for the target's slot, typed by
//! the target's messages), and so do later messages for that target, so that
//! the order per producer holds; messages for other actors are not held up.
//! When the target's turn ends, it has made room: its park refills the
//! mailbox (`unpark`, called from `run_actor`), before any other actor can
//! send to it. A target that dies drops its park with its mailbox; an empty
//! park stays with its actor for the next burst, so parking allocates only
//! the first time (or after a large park was shrunk).
//!
//! Parked messages still count against `Config::cross_thread_cap` until they
//! are in the mailbox, which keeps memory bounded whatever the producers do.
//! So that one slow target cannot fill that bound and shut out sends to
//! every other actor, a target whose park reaches its share — its mailbox
//! capacity, or a quarter of the bound if more — is *limited*
//! (`inbox::Limits`). A quarter: a burst into one actor of up to a quarter
//! of the bound is still taken whole, and one slow target leaves three
//! quarters to the others (it takes four to fill the bound); the mailbox
//! capacity because a mailbox's worth is what a target takes in one
//! refill. While limited, producers may add only as many messages as it has
//! made room for, until it has caught up (nothing of it waiting or queued).
//! The set of limited targets is updated after each drain and after a
//! limited target's turn that took in a quarter of its share since its last
//! grant (or emptied its park), under the queue's lock. Only the loop sets
//! limits: before its first drain, or once a target has caught up, one burst
//! into a target can still take what is left of the bound, until the next
//! drain parks it and limits the target.

use super::inbox::{Batch, RemoteBatch, MAX_SPARE_CAPACITY};
use super::park::{Limited, Park, Parked};
use super::Core;
use crate::observer::{drop_each_quietly, drop_quietly};
use crate::{ActorId, Addr, Error};
use std::any::Any;
use std::collections::VecDeque;

impl<M: 'static> RemoteBatch<Core> for Batch<M> {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn len(&self) -> usize {
        Batch::len(self)
    }

    fn capacity(&self) -> usize {
        Batch::capacity(self)
    }

    fn deliver(&mut self, core: &mut Core) -> usize {
        let mut done = 0;
        while let Some((to, _)) = self.front() {
            let burst = core.deliver_burst(to, self);
            if burst != 0 {
                done += burst;
                continue;
            }
            let Some((to, msg)) = self.pop() else {
                break;
            };
            if core.deliver_remote(to, msg) {
                done += 1;
                continue;
            }
            // It waits for room: so do the messages right behind it for the
            // same target, moved into its park at once.
            let same = self.front().filter(|&(t, _)| t == to).map_or(0, |(_, n)| n);
            if same != 0 {
                core.park_behind(to, same, self.drain_front(same));
            }
        }
        done
    }

    fn drop_each(&mut self) {
        drop_each_quietly(self.drain_all());
    }
}

/// Drains in a row that may give way to a producer holding the queue before
/// the loop waits for the lock.
const MAX_DRAINS_MISSED: u32 = 64;

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
        // After `MAX_DRAINS_MISSED` tries in a row that found a producer
        // holding the queue (one preempted with the lock, or producers
        // retrying at the bound), the loop waits for the lock.
        let wait = self.drains_missed >= MAX_DRAINS_MISSED;
        if !self.remote.drain(&mut msgs, &mut self.remote_spent, wait) {
            self.drains_missed += 1;
            self.remote_buf = msgs;
            return;
        }
        self.drains_missed = 0;
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
        // What the queue's producers were granted is now counted as waiting.
        if !self.limited.is_empty() {
            self.update_limits();
        }
    }

    /// After a drain of the rings from other loops: sets the limits of the
    /// targets that have just reached their share (their room is renewed
    /// as they catch up, `refill_park`), so that a loop that keeps sending
    /// to a limited target does not take the queue's lock at every drain.
    #[inline]
    pub(super) fn set_new_limits(&mut self) {
        if self.limited.iter().any(|l| l.granted_at == usize::MAX) {
            self.update_limits();
        }
    }

    /// The messages at the front of `run` for `to`, moved into its mailbox
    /// at once while it has room (one lookup of the slot and its mailbox,
    /// one scheduling): how many. 0 when the common case does not hold (a
    /// message waits in a park, the target has no mailbox yet, is gone, or
    /// its mailbox is full): [`Core::deliver_remote`] then takes the first.
    #[inline]
    pub(crate) fn deliver_burst<M: 'static>(&mut self, to: Addr<M>, run: &mut Batch<M>) -> usize {
        if self.remote_parked != 0 {
            return 0;
        }
        let Some(slot) = self.actors.get_mut(to.id()) else {
            return 0;
        };
        let cap = slot.cap;
        let Some(mailbox) = slot.mailbox.as_mut().and_then(|m| m.downcast_mut::<M>()) else {
            return 0;
        };
        let mut n = 0;
        while run.front().is_some_and(|(t, _)| t == to) {
            let Some((_, msg)) = run.pop() else {
                break;
            };
            if let Err(msg) = mailbox.push(msg, cap) {
                run.unpop(to, msg);
                break;
            }
            n += 1;
        }
        if n != 0 {
            self.counters.delivered += n as u64;
            self.schedule(to.id().slot());
        }
        n
    }

    /// A message from another thread: queued like a send, or parked behind
    /// the messages already waiting for its target, or parked because the
    /// target's mailbox is full. True when it left the cross-thread path
    /// (queued, or dropped because its target is dead).
    pub(crate) fn deliver_remote<M: 'static>(&mut self, to: Addr<M>, msg: M) -> bool {
        let msg = if self.remote_parked != 0 {
            match self.join_park(to.id(), msg) {
                Ok(()) => return false,
                Err(msg) => msg,
            }
        } else {
            msg
        };
        match self.enqueue(to, msg) {
            Ok(()) => true,
            Err(e) if e.error == Error::MailboxFull => {
                self.park(to.id(), e.message);
                false
            }
            Err(e) => {
                super::pending::dropping_dead_letters(|| drop_quietly(e.message));
                // Its target is gone, or takes messages of another type (an
                // address made for a type it does not have): a dead letter.
                self.note_dead_letters(to.id(), std::any::type_name::<M>(), 1);
                true
            }
        }
    }

    /// Parks `msg` behind the messages already waiting for `to`, if any;
    /// gives it back otherwise.
    #[inline]
    fn join_park<M: 'static>(&mut self, to: ActorId, msg: M) -> Result<(), M> {
        if !self.actors.get(to).is_some_and(|s| s.parked) {
            return Err(msg);
        }
        let Some(p) = self
            .park_mut(to.slot())
            .filter(|p| p.len() != 0)
            .and_then(|p| p.as_any_mut().downcast_mut::<Parked<M>>())
        else {
            return Err(msg);
        };
        p.0.push_back(msg);
        self.remote_parked += 1;
        self.check_limit(to.slot());
        Ok(())
    }

    /// Parks `msgs` (`n` of them) behind the message for `to` that has just
    /// been parked (or has joined its park).
    pub(crate) fn park_behind<M: 'static>(
        &mut self,
        to: Addr<M>,
        n: usize,
        msgs: impl Iterator<Item = M>,
    ) {
        let slot = to.id().slot();
        let park = self
            .park_mut(slot)
            .and_then(|p| p.as_any_mut().downcast_mut::<Parked<M>>());
        match park {
            Some(p) => p.0.extend(msgs),
            // Cannot happen (the first message was parked just now, with
            // its target alive); were it, they would still leave the path.
            None => {
                drop_each_quietly(msgs);
                self.remote.settle(n);
                return;
            }
        }
        self.remote_parked += n;
        self.check_limit(slot);
    }

    /// Parks `msg` for `target`, whose full mailbox refused it and which
    /// had nothing waiting, and tells the observer.
    #[cold]
    fn park<M: 'static>(&mut self, target: ActorId, msg: M) {
        let slot = target.slot();
        match self
            .park_mut(slot)
            .and_then(|p| p.as_any_mut().downcast_mut::<Parked<M>>())
        {
            Some(p) => p.0.push_back(msg),
            None => {
                // Only a message of the mailbox's type can be refused as
                // `MailboxFull`, so a park of another type cannot be there;
                // were it, its messages would still leave the path.
                self.actors.at_mut(slot).parked = true;
                let old = self
                    .actors
                    .extras_mut(slot)
                    .park
                    .replace(Box::new(Parked(VecDeque::from([msg]))));
                if let Some(mut old) = old {
                    self.settle_parked(old.len());
                    old.drop_each();
                }
            }
        }
        self.remote_parked += 1;
        self.check_limit(slot);
        self.note_refused(target);
    }

    /// The park of `slot`, if it has one.
    #[inline]
    fn park_mut(&mut self, slot: u32) -> Option<&mut Box<dyn Park>> {
        let s = self.actors.at_mut(slot);
        if !s.parked {
            return None;
        }
        s.extras.as_mut()?.park.as_mut()
    }

    /// Messages waiting in the park of `slot`.
    #[inline]
    fn park_len(&self, slot: u32) -> usize {
        let s = self.actors.at(slot);
        match (s.parked, s.extras.as_ref()) {
            (true, Some(e)) => e.park.as_ref().map_or(0, |p| p.len()),
            _ => 0,
        }
    }

    /// `n` parked messages left the cross-thread path.
    #[inline]
    fn settle_parked(&mut self, n: usize) {
        self.remote_parked -= n;
        self.remote.settle(n);
    }

    /// The share of the cross-thread bound the actor in `slot` may have
    /// waiting before it is limited (see the module's doc).
    fn park_share(&self, slot: u32) -> usize {
        (self.actors.at(slot).cap as usize)
            .max(self.remote.cap() / 4)
            .max(1)
    }

    /// Notes the actor in `slot` for limiting once its park holds its
    /// share (the limit itself is set after the drain).
    #[inline]
    fn check_limit(&mut self, slot: u32) {
        if !self.actors.at(slot).limited && self.park_len(slot) >= self.park_share(slot) {
            self.actors.at_mut(slot).limited = true;
            self.limited.push(Limited {
                slot,
                granted_at: usize::MAX,
            });
        }
    }

    /// Sets the room of every limited target from its park, and drops the
    /// limits of targets that have caught up.
    #[cold]
    fn update_limits(&mut self) {
        // A blocking lock, unlike the drain's: a grant skipped here might
        // never come (a limited target with an empty park and no room gets
        // no turn and no drain to grant it again).
        let mut limits = self.remote.limits();
        let mut i = 0;
        while let Some(&Limited { slot, .. }) = self.limited.get(i) {
            let share = self.park_share(slot);
            let waiting = self.park_len(slot);
            let id = self.actors.id_of(slot);
            let s = self.actors.at_mut(slot);
            if limits.update(id, waiting, share) {
                self.limited[i].granted_at = waiting;
                i += 1;
            } else {
                s.limited = false;
                self.limited.swap_remove(i);
            }
        }
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
        let s = self.actors.at_mut(slot);
        if !s.parked {
            return;
        }
        let park = s.extras.as_mut().and_then(|e| e.park.as_mut());
        let (Some(park), Some(mailbox)) = (park, s.mailbox.as_mut()) else {
            // A parked slot has its park and the mailbox that refused it
            // (teardown takes both and clears the flag).
            debug_assert!(false, "a parked slot without its park or mailbox");
            return;
        };
        let moved = park.refill(mailbox, s.cap);
        if moved == 0 {
            return;
        }
        let waiting = park.len();
        self.counters.delivered += moved as u64;
        self.settle_parked(moved);
        self.schedule(slot);
        if self.actors.at(slot).limited && self.regrant_due(slot, waiting) {
            self.update_limits();
        }
    }

    /// Whether a limited target, now with `waiting` messages parked, has
    /// caught up enough since its last grant to be granted room again: it
    /// has nothing left, or has taken in a quarter of its share. Granting
    /// after every turn would take the queue's lock, which the producers
    /// hold for every send, once per batch of messages.
    fn regrant_due(&self, slot: u32, waiting: usize) -> bool {
        let granted_at = self
            .limited
            .iter()
            .find(|l| l.slot == slot)
            .map_or(usize::MAX, |l| l.granted_at);
        waiting == 0 || granted_at.saturating_sub(waiting) >= self.park_share(slot) / 4
    }

    /// The actor in `slot` (`target`) is being torn down: its limit goes,
    /// and its parked messages (`park`, out of its freed slot, for the
    /// caller to drop with `drop_each`) leave the cross-thread path.
    pub(super) fn release_park(&mut self, target: ActorId, limited: bool, park: Option<&dyn Park>) {
        if limited {
            self.limited.retain(|l| l.slot != target.slot());
            self.remote.limits().remove(target);
        }
        if let Some(p) = park {
            self.settle_parked(p.len());
        }
    }

    /// Says the loop is about to block; false when it must not (see
    /// `Remote::enter_sleep`).
    pub(crate) fn enter_sleep(&mut self) -> bool {
        if !self.remote.enter_sleep(self.remote_parked) {
            return false;
        }
        if self.peers_have_news() {
            self.remote.leave_sleep();
            return false;
        }
        true
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
        self.actors.actors() == 0
            && self.timer_count() == 0
            && !self.has_io()
            && self.remote.in_flight() == 0
    }
}

#[cfg(test)]
mod tests {
    use crate::{Actor, BackendKind, Config, Context, Flow, Loop};
    use std::sync::mpsc;
    use std::time::Duration;

    struct Sum(u32, std::rc::Rc<std::cell::Cell<u32>>);

    impl Actor for Sum {
        type Msg = u32;
        fn handle(&mut self, _cx: &mut Context<'_, Self>, n: u32) -> Flow {
            self.1.set(self.1.get() + n);
            self.0 -= 1;
            if self.0 == 0 {
                Flow::Stop
            } else {
                Flow::Continue
            }
        }
    }

    // A producer holds the queue's lock (preempted, say) while messages are
    // queued: the loop's drains give way a few times, then it waits for the
    // lock; the messages are delivered once it is free and `run` returns.
    #[test]
    fn messages_queued_behind_a_held_lock_are_delivered_when_it_is_free() {
        // The drain's logic does not depend on the backend (the suite in
        // tests/ runs every backend through the public API).
        let backend = BackendKind::Epoll;
        let mut lp = Loop::with_config(Config {
            backend,
            ..Config::default()
        })
        .unwrap();
        let got = std::rc::Rc::new(std::cell::Cell::new(0));
        let sum = lp.spawn(Sum(2, got.clone())).unwrap();
        let handle = lp.handle();
        handle.send(sum, 1).unwrap();
        handle.send(sum, 2).unwrap();
        let remote = lp.remote.clone();
        let (locked, wait_locked) = mpsc::channel();
        let holder = std::thread::spawn(move || {
            let _held = remote.limits();
            locked.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(50));
        });
        wait_locked.recv().unwrap();
        lp.run().unwrap();
        holder.join().unwrap();
        assert_eq!(got.get(), 3, "{backend}");
        assert_eq!(lp.cross_thread_pending(), 0, "{backend}");
        // It waited for the lock after a few tries, rather than spinning
        // through turns for the 50 ms the lock was held.
        let turns = lp.metrics().turns;
        assert!(turns <= 100, "{backend}: {turns} turns");
    }
}
