//! Stopping actors in order across the loops of a runtime, and holding the
//! end of the actor that stops them until they have ended (R24).
//!
//! A supervisor stops its children one after the other, in reverse start
//! order, each only once the one before has ended, as a supervisor of
//! Erlang/OTP waits for each child's exit. On one loop a stop is immediate.
//! A child on another loop ends at that loop's next turn, so the stops form
//! a **chain**, run from the owner's loop: [`Core::stop_in_order`] stops
//! the children of this loop at once, up to the first one of another loop;
//! that one is stopped on its loop (the stop travels in the ring that
//! carried its spawn, so it has arrived), which sends the rest of the chain
//! back, and so on. A child that is itself a supervisor with stops of its
//! own in flight holds the chain until its end is reported. When the last
//! child has ended, the owner's `later` work runs (a restart) — or, if the
//! owner has other chains in flight (an earlier restart's), once those have
//! ended too.
//!
//! Meanwhile the owner's end is **held**: if it ends with chains in flight
//! (its own shutdown, or a restart under way), its teardown frees its slot
//! as always but keeps the reports of its end — its parent's `ChildExit`,
//! its monitors' `Down`, its links' exit signals, the observer's
//! `on_actor_stop` — until the chains have ended (`held.rs`). So a parent,
//! a monitor or a link that hears of a supervisor's end hears it after its
//! children have ended, and a parent that restarts it never runs two
//! incarnations of one child at once. The supervisor itself is gone at
//! once: lookups, `is_alive`, and monitors or links set during the hold see
//! no such actor.
//!
//! A lone loop never holds an end: every stop there is immediate. A loop
//! that is being dropped starts no chain that holds, and reports nothing.
//! A chain lost with a loop that panicked (`LoopPanicked`) never ends: the
//! end of its owner stays held, unreported.

use super::held::{HeldEnd, Then};
use super::table::Extras;
use super::Core;
use crate::message::{ChildExit, StopReason, SysEvent};
use crate::observer::drop_quietly;
use crate::trace::trace_actor_stop;
use crate::ActorId;
use std::collections::VecDeque;

/// Actors to stop one after the other, for `owner`.
struct Chain {
    owner: ActorId,
    ids: VecDeque<ActorId>,
    later: Option<Then<Core>>,
}

impl Core {
    /// Stops `ids` (children of `owner`, an actor of this loop) in this
    /// order, each after the one before has ended (see the module's doc).
    /// True when all have ended now and `owner` has no other stops in
    /// flight; else `owner`'s end is held until they are over, and then
    /// `later` runs on this loop (not when this returns true).
    pub(crate) fn stop_in_order(
        &mut self,
        owner: ActorId,
        ids: VecDeque<ActorId>,
        later: Option<Then<Core>>,
    ) -> bool {
        let chain = Chain { owner, ids, later };
        let Some(chain) = self.run_chain(chain) else {
            if !self.closing {
                self.held.begin(owner);
            }
            return false;
        };
        if !self.held.waits(owner) {
            return true;
        }
        // Stops of an earlier chain are still in flight: `later` waits for
        // them too.
        if let Some(later) = chain.later {
            self.held.after(owner, later);
        }
        false
    }

    /// On the owner's loop: stops the chain's actors of this loop, in
    /// order, until one of another loop or one whose end is held; the rest
    /// goes on from there. Gives the chain back when all have ended.
    fn run_chain(&mut self, mut chain: Chain) -> Option<Chain> {
        while let Some(id) = chain.ids.pop_front() {
            if self.is_remote(id) {
                self.post_to_loop(id.route(), move |core| core.stop_link(id, chain));
                return None;
            }
            self.terminate_now(id);
            if self.held.is_held(id) {
                self.held
                    .after(id, Box::new(move |core| core.resume_chain(chain)));
                return None;
            }
        }
        Some(chain)
    }

    /// On the loop of `id`, a link of a chain: stops it (it has arrived:
    /// this came after its spawn, in the same ring), then sends the chain
    /// back to its owner's loop once `id` has ended.
    fn stop_link(&mut self, id: ActorId, chain: Chain) {
        self.terminate_now(id);
        let owner = chain.owner.route();
        let back: Then<Core> = Box::new(move |core| {
            core.post_to_loop(owner, move |core| core.resume_chain(chain));
        });
        if self.held.is_held(id) {
            self.held.after(id, back);
        } else {
            back(self);
        }
    }

    /// On the owner's loop: goes on with a chain that came back or waited.
    fn resume_chain(&mut self, chain: Chain) {
        if let Some(chain) = self.run_chain(chain) {
            self.chain_ended(chain.owner, chain.later);
        }
    }

    /// One of `owner`'s chains is over (on its loop). If another of its
    /// chains is still in flight, its `later` work waits for that one too;
    /// else it runs, `owner`'s held end (if any) is reported, and what
    /// waited for it goes on.
    fn chain_ended(&mut self, owner: ActorId, later: Option<Then<Core>>) {
        let released = self.held.chain_ended(owner);
        if released.is_none() && self.held.waits(owner) {
            if let Some(later) = later {
                self.held.after(owner, later);
            }
            return;
        }
        if let Some(later) = later {
            later(self);
        }
        let Some(released) = released else {
            return;
        };
        if let Some(mut end) = released.end {
            self.report_end(owner, end.reason, end.parent, end.extras.as_deref_mut());
            drop_quietly(end.extras);
        }
        for then in released.after {
            then(self);
        }
    }

    /// Whether `id` has ended and its end is held (a supervisor stopped
    /// with stops in flight): what comes after its end must wait.
    pub(crate) fn end_is_held(&self, id: ActorId) -> bool {
        self.held.is_held(id)
    }

    /// Whether the end of `id`, being torn down, must wait for its stops
    /// in flight.
    #[inline]
    pub(super) fn end_waits(&self, id: ActorId) -> bool {
        self.held.waits(id)
    }

    /// Keeps what the teardown of `id` has not reported (see the module's
    /// doc).
    #[cold]
    pub(super) fn hold_end(
        &mut self,
        id: ActorId,
        reason: StopReason,
        parent: Option<ActorId>,
        extras: Option<Box<Extras>>,
    ) {
        let end = HeldEnd {
            reason,
            parent,
            extras,
        };
        self.held.hold(id, end);
    }

    /// Reports the end of `id`, torn down (`Core::teardown`), now or
    /// after it was held: its monitors and links, the observer and its
    /// parent are told.
    #[inline]
    pub(super) fn report_end(
        &mut self,
        id: ActorId,
        reason: StopReason,
        parent: Option<ActorId>,
        extras: Option<&mut Extras>,
    ) {
        if let Some(e) = extras {
            self.signal_exit(id, reason, e);
        }
        trace_actor_stop!(id, reason);
        self.observer.notify(|o| o.on_actor_stop(id, reason));
        if let Some(parent) = parent {
            self.push_sys(parent, SysEvent::ChildExit(ChildExit { child: id, reason }));
        }
    }
}
