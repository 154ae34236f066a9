//! The operations of sends between the loops of a runtime: routing a send
//! to its outbox, flushing outboxes at the end of a turn, delivering what
//! other loops pushed at the start of one (the rings and outboxes are in
//! `peers.rs`, which explains the path).

use super::peers::{Outbox, Peers, POOL_SLOTS, SPIN_POLLS};
use super::Core;
use crate::message::{ChildExit, StopReason, SysEvent};
use crate::observer::drop_quietly;
use crate::{Actor, ActorId, Addr, Error, SendError, SpawnOptions};
use std::sync::atomic::{fence, Ordering};

impl Core {
    /// Connects this loop to the other loops of its runtime (before any
    /// actor is spawned on it), and reserves slots for each other loop's
    /// spawns here.
    pub(crate) fn attach_peers(&mut self, peers: Peers<Core>) {
        self.actors.share_fresh(peers.fresh.clone());
        self.groups = peers.groups.clone();
        let sources = peers.inbound.len();
        self.peers = Some(Box::new(peers));
        for src in 0..sources {
            self.refill_pool(src);
        }
    }

    /// Tops up the slots reserved for loop `src`'s spawns here.
    fn refill_pool(&mut self, src: usize) {
        let Some(missing) = self
            .peers
            .as_deref()
            .and_then(|p| p.inbound[src].as_ref())
            .map(|i| POOL_SLOTS.saturating_sub(i.pooled()))
        else {
            return;
        };
        let cap = self.config.default_mailbox_cap;
        let ids: Vec<ActorId> = (0..missing)
            .map_while(|_| self.actors.reserve(cap))
            .collect();
        if let Some(i) = self.peers.as_deref().and_then(|p| p.inbound[src].as_ref()) {
            i.add_to_pool(ids);
        }
    }

    /// The loop a spawn by the runtime's [`Placement`](crate::Placement)
    /// goes to (R27): the next in turn from this loop, or the one with the
    /// fewest live actors as each loop last published (at the end of its
    /// turns), plus those spawned there since (this loop's own count is
    /// current), the lowest index on a tie. This loop on a lone loop.
    pub fn place_next(&mut self) -> usize {
        let here = self.here();
        let own = self.actors.actors();
        let Some(peers) = self.peers.as_deref_mut() else {
            return here;
        };
        let n = peers.loads.len();
        match peers.placement {
            super::peers::Placement::RoundRobin => {
                let index = peers.next % n;
                peers.next = index + 1;
                index
            }
            super::peers::Placement::LeastLoaded => (0..n)
                .min_by_key(|&i| {
                    if i == here {
                        own
                    } else {
                        peers.loads[i].load(Ordering::Relaxed)
                    }
                })
                .unwrap_or(here),
        }
    }

    /// Spawns `actor` on the loop the runtime's placement chooses
    /// ([`Core::place_next`]); see [`Core::spawn_on_with`].
    ///
    /// # Errors
    ///
    /// As [`Core::spawn_on_with`].
    pub fn spawn_placed<A>(&mut self, actor: A) -> Result<Addr<A::Msg>, Error>
    where
        A: Actor + Send,
        A::Msg: Send,
    {
        let index = self.place_next();
        self.spawn_on_with(index, actor, SpawnOptions::default())
    }

    /// Spawns `actor` on loop `index` of the runtime (R27) with default
    /// options; see [`Core::spawn_on_with`].
    ///
    /// # Errors
    ///
    /// As [`Core::spawn_on_with`].
    pub fn spawn_on<A>(&mut self, index: usize, actor: A) -> Result<Addr<A::Msg>, Error>
    where
        A: Actor + Send,
        A::Msg: Send,
    {
        self.spawn_on_with(index, actor, SpawnOptions::default())
    }

    /// Spawns `actor` on loop `index` of the runtime (R27): on this loop,
    /// as [`Core::spawn_with`]; on another, the actor is moved there and
    /// started at that loop's next turn (its `on_start` runs there), and
    /// its address is returned at once: messages sent to it before it has
    /// started wait for it. A parent (`opts.parent`) may be on any loop; it
    /// is told of the child's exit on its own loop.
    ///
    /// # Errors
    ///
    /// `InvalidArg` when there is no loop `index` or the name is taken in
    /// the runtime; `MaxActors` when the other loop's table is at its
    /// largest (2^24 slots); as [`Core::spawn_with`] on this loop. The other
    /// loop's [`Config::max_actors`](crate::Config::max_actors) is checked
    /// when the actor arrives there: over it, the actor is dropped without
    /// starting, and its parent, if any, gets a
    /// [`ChildExit`] with [`StopReason::Fail`].
    pub fn spawn_on_with<A>(
        &mut self,
        index: usize,
        actor: A,
        opts: SpawnOptions,
    ) -> Result<Addr<A::Msg>, Error>
    where
        A: Actor + Send,
        A::Msg: Send,
    {
        let here = self.here();
        if index == here {
            return self.spawn_with(actor, opts);
        }
        let closing = self.closing;
        let claimed = match self.outbox(index) {
            _ if closing => Err(Error::LoopClosed),
            None => Err(Error::InvalidArg),
            Some(out) => out.claim_slot().ok_or(Error::MaxActors),
        };
        // The name is taken for the runtime now, so that it is refused here
        // and not on arrival; the other loop registers it when the actor
        // arrives.
        let claimed = claimed.and_then(|id| match &opts.name {
            Some(name) => self.claim_name(name, id).map(|()| id).inspect_err(|_| {
                // The slot goes back to the other loop's free slots.
                self.post_to_loop(index, move |core| core.actors.release(id));
            }),
            None => Ok(id),
        });
        let id = match claimed {
            Ok(id) => id,
            Err(e) => {
                drop_quietly(actor);
                return Err(e);
            }
        };
        self.post_to_loop(index, move |core| core.arrive(id, actor, opts, here));
        if let Some(peers) = self.peers.as_deref() {
            // Counted there now, for the next placement by load from here;
            // that loop publishes its own count at the end of its turns.
            peers.loads[index].fetch_add(1, Ordering::Relaxed);
        }
        Ok(Addr::new(id))
    }

    /// The actor spawned here by loop `src` in slot `id`, arriving.
    fn arrive<A: Actor>(&mut self, id: ActorId, actor: A, opts: SpawnOptions, src: usize) {
        self.refill_pool(src);
        if self.closing || !self.actors.take_reserved(id) {
            drop_quietly(actor);
            return;
        }
        // (It counts among the actors since `take_reserved`.)
        if self.actors.actors() > self.config.max_actors as usize {
            // Over this loop's bound: not started, a failed start for its
            // parent (the spawning loop could not check the bound).
            let removed = self.actors.remove(id.slot());
            super::pending::dropping_dead_letters(|| drop_quietly(removed));
            drop_quietly(actor);
            if let Some(parent) = opts.parent {
                let exit = ChildExit {
                    child: id,
                    reason: StopReason::Fail,
                };
                self.push_sys(parent, SysEvent::ChildExit(exit));
            }
            self.forget_name_of(id);
            return;
        }
        self.take_wrong_mailbox::<A::Msg>(id);
        let cap = self.mailbox_cap(&opts);
        self.actors.occupy(id, cap, opts.parent);
        if let Some(name) = &opts.name {
            if self
                .runtime_names()
                .is_some_and(|n| n.lock().get(&**name) == Some(&id))
            {
                self.actors.set_name(id, name);
            }
        }
        self.started(id);
        self.start(id, actor);
        let s = self.actors.at(id.slot());
        if s.kill.is_some() || s.mailbox.as_ref().is_some_and(|m| m.len() != 0) {
            // Stopped or sent to before it arrived.
            self.schedule(id.slot());
        }
    }

    /// Takes `name` for `id` in the runtime's names.
    fn claim_name(&mut self, name: &str, id: ActorId) -> Result<(), Error> {
        let Some(names) = self.runtime_names() else {
            return Err(Error::InvalidArg);
        };
        let mut names = names.lock();
        if names.contains_key(name) {
            return Err(Error::InvalidArg);
        }
        names.insert(name.into(), id);
        Ok(())
    }

    /// As [`Core::runtime_names`], shared (to hold its lock while the
    /// table changes).
    pub(super) fn runtime_names_arc(&self) -> Option<std::sync::Arc<super::peers::Names>> {
        self.peers.as_deref().map(|p| p.names.clone())
    }

    /// Sends the reply to ask `id` of loop `lp`, another loop of this
    /// loop's runtime, where it resolves the ask (or is discarded if the
    /// ask was resolved already). Gives the value back when `lp` is no loop
    /// of this runtime.
    pub(crate) fn reply_across<R: 'static>(
        &mut self,
        id: super::pending::AskId,
        lp: super::pending::LoopKey,
        value: R,
    ) -> Result<(), R> {
        let Some(index) = self
            .peers
            .as_deref()
            .and_then(|p| p.keys.iter().position(|&k| k == lp))
        else {
            return Err(value);
        };
        let value = super::pending::CrossingReply::new(value);
        self.post_to_loop(index, move |core| {
            let mut value = Some(value.into_inner());
            core.resolve_ask(id, super::pending::Outcome::Reply, Some(&mut value));
        });
        Ok(())
    }

    /// The runtime's names, for a loop of a runtime.
    pub(super) fn runtime_names(&self) -> Option<&super::peers::Names> {
        self.peers.as_deref().map(|p| &*p.names)
    }

    /// Messages sent to the actor arriving in slot `id` before it arrived,
    /// through an address of another type than its own, cannot reach it:
    /// they are dropped as dead letters, so that its mailbox takes its own.
    fn take_wrong_mailbox<M: 'static>(&mut self, id: ActorId) {
        let s = self.actors.at_mut(id.slot());
        if !s
            .mailbox
            .as_mut()
            .is_some_and(|m| m.downcast_mut::<M>().is_none())
        {
            return;
        }
        if let Some(mut wrong) = s.mailbox.take() {
            let n = super::pending::dropping_dead_letters(|| wrong.drop_each());
            self.note_dead_letters(id, "?", n);
        }
    }

    /// The runtime forgets every name it holds for `id` (an actor of
    /// another loop that is being stopped, whose name its next incarnation
    /// may take at once, or one that was never started).
    pub(crate) fn forget_name_of(&mut self, id: ActorId) {
        if let Some(names) = self.runtime_names() {
            names.lock().retain(|_, v| *v != id);
        }
    }

    /// The outbox for loop `index`, if this loop has one.
    fn outbox(&mut self, index: usize) -> Option<&mut Outbox<Core>> {
        self.peers
            .as_deref_mut()
            .and_then(|p| p.out.get_mut(index))
            .and_then(Option::as_mut)
    }

    /// A send to an actor on another loop (see the module's doc).
    #[inline(never)]
    pub(super) fn send_to_loop<M: 'static>(
        &mut self,
        to: Addr<M>,
        msg: M,
    ) -> Result<(), SendError<M>> {
        let index = to.id().route();
        let Some(peers) = self.peers.as_deref_mut() else {
            return Err(SendError {
                error: Error::NoSuchActor,
                message: msg,
            });
        };
        let Some(out) = peers.out.get_mut(index).and_then(Option::as_mut) else {
            return Err(SendError {
                error: Error::NoSuchActor,
                message: msg,
            });
        };
        if !out.has_room() || !out.dest_has_room() || !out.admit(to.id()) {
            self.note_refused(to.id());
            return Err(SendError {
                error: Error::MailboxFull,
                message: msg,
            });
        }
        out.add(to, msg);
        if out.note_added() {
            peers.dirty.push(index);
        }
        peers.talked = true;
        Ok(())
    }

    /// Runs `f` on loop `index` of the runtime, at its next turn, after
    /// what this loop sent there before. False when there is no such loop
    /// (`f` is dropped).
    pub(crate) fn post_to_loop(
        &mut self,
        index: usize,
        f: impl FnOnce(&mut Core) + Send + 'static,
    ) -> bool {
        let Some(out) = self.outbox(index) else {
            return false;
        };
        out.add_control(Box::new(f));
        if let Some(peers) = self.peers.as_deref_mut() {
            peers.queued(index);
        }
        true
    }

    /// This loop's index in its runtime (0 for a lone loop).
    fn here(&self) -> usize {
        usize::from(self.actors.index().saturating_sub(1))
    }

    /// Whether `id` lives on another loop than this one.
    #[inline]
    pub(crate) fn is_remote(&self, id: ActorId) -> bool {
        id.loop_byte() != self.actors.index()
    }

    /// The loop has nothing to do (R2). A lone loop's run then ends; a
    /// loop of a runtime tells the others, and its run ends only once every
    /// loop is idle with nothing in flight between them (another loop may
    /// still spawn on it or send it work): true when the run may end.
    pub(crate) fn quiesce(&mut self) -> bool {
        let Some(peers) = self.peers.as_deref_mut() else {
            return true;
        };
        if peers.idle {
            return false;
        }
        peers.idle = true;
        if peers.quiet.go_idle(peers.index) {
            peers.idle = false;
            return true;
        }
        false
    }

    /// The start of a run: this loop is not idle.
    pub(crate) fn begin_run_peers(&mut self) {
        if let Some(peers) = self.peers.as_deref_mut() {
            peers.idle = false;
        }
    }

    /// Pushes every outbox into its ring, and publishes this loop's load
    /// (end of a turn).
    #[inline]
    pub(crate) fn flush_peers(&mut self) {
        let Some(peers) = self.peers.as_deref_mut() else {
            return;
        };
        let load = self.actors.actors();
        if load != peers.load {
            peers.load = load;
            peers.loads[peers.index].store(load, Ordering::Relaxed);
        }
        self.flush_outboxes();
    }

    /// Publishes this loop's load (after a runtime's command ran on it).
    pub(crate) fn publish_load(&mut self) {
        let load = self.actors.actors();
        if let Some(peers) = self.peers.as_deref_mut() {
            peers.load = load;
            peers.loads[peers.index].store(load, Ordering::Relaxed);
        }
    }

    /// Pushes every outbox into its ring.
    #[inline]
    fn flush_outboxes(&mut self) {
        let Some(peers) = self.peers.as_deref_mut() else {
            return;
        };
        let Peers { out, dirty, .. } = peers;
        dirty.retain(|&d| out[d].as_mut().is_some_and(Outbox::flush));
    }

    /// Delivers the runs other loops have pushed (start of a turn).
    #[inline]
    pub(crate) fn drain_peers(&mut self) {
        let Some(peers) = self.peers.as_deref_mut() else {
            return;
        };
        let mut runs = std::mem::take(&mut self.peer_runs);
        for (src, inb) in peers.inbound.iter_mut().enumerate() {
            if let Some(inb) = inb {
                inb.take(src, &mut runs);
            }
        }
        if runs.is_empty() {
            self.peer_runs = runs;
            return;
        }
        if peers.idle {
            // Work from another loop: not idle any more, said before the
            // runs are delivered and their sources told (`settle`), so that
            // no loop finds every loop idle and every ring drained while
            // this one still has them (see `Quiet`).
            peers.quiet.leave_idle(peers.index);
            peers.idle = false;
        }
        peers.talked = true;
        for taken in &mut runs {
            let done = taken.run.deliver(self);
            // Those parked count against this loop's cross-thread bound
            // until they are in a mailbox.
            self.remote.adopt(taken.len - done);
        }
        // Targets that now wait for room get their limits, which the
        // other loops see (`peers.rs`).
        self.set_new_limits();
        if let Some(peers) = self.peers.as_deref_mut() {
            for taken in runs.drain(..) {
                let keep = peers.out[taken.src].as_mut();
                if let Some(inb) = peers.inbound[taken.src].as_mut() {
                    inb.settle(taken, keep);
                }
            }
        }
        self.peer_runs = runs;
    }

    /// Whether another loop has pushed runs not yet taken. Called after the
    /// loop said it is about to block.
    pub(crate) fn peers_have_news(&mut self) -> bool {
        let Some(peers) = self.peers.as_deref_mut() else {
            return false;
        };
        fence(Ordering::SeqCst);
        peers.has_news()
    }

    /// Messages of this loop not yet pushed to the rings (which were full)
    /// of loops that are still in their run: only those can make room.
    ///
    /// A loop whose run has ended (idle, or stopped on its own) takes
    /// nothing more in this run of the runtime. Waiting for it would keep
    /// this loop from ever being idle and the runtime's `run` from
    /// returning (R25); its messages stay in the outbox, to be pushed in
    /// the next run or dropped with the loop.
    pub(crate) fn peers_pending(&self) -> bool {
        self.peers.as_ref().is_some_and(|p| {
            p.dirty.iter().any(|&d| {
                p.out[d]
                    .as_ref()
                    .is_some_and(|o| o.dest.is_in_runtime_run())
            })
        })
    }

    /// With nothing to run, polls the inbound rings for a while before the
    /// loop blocks: a loop that answers another is usually sent to again
    /// within microseconds, sooner than a blocked thread wakes. Only when
    /// it has sent to or taken from another loop since it last spun: a loop
    /// that serves its own fds (the echo server on N loops) would otherwise
    /// spend most of its CPU polling empty rings. True when something
    /// arrived.
    pub(crate) fn spin_for_peers(&mut self) -> bool {
        let Some(peers) = self.peers.as_deref_mut() else {
            return false;
        };
        if !std::mem::take(&mut peers.talked) {
            return false;
        }
        for _ in 0..SPIN_POLLS {
            if peers.has_news() {
                return true;
            }
            std::hint::spin_loop();
        }
        false
    }
}
