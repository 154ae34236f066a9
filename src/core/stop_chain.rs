//! Stopping actors in order across the loops of a runtime, and holding the
//! end of the actor that stops them until they have ended (R24).
//!
//! A supervisor stops its children one after the other, in reverse start
//! order, each only once the one before has ended, as a supervisor of
//! Erlang/OTP waits for each child's exit. On one loop a stop is immediate.
//! A child on another loop ends at that loop's next turn, so the stops form
//! a **chain**: [`Core::stop_in_order`] stops the children of this loop at
//! once, up to the first one of another loop, and posts the rest of the
//! chain there, which does the same, and so on. A child that is itself a
//! supervisor with a chain of its own in flight holds the chain until its
//! end is reported. When the last child has ended, the chain goes back to
//! its owner's loop and runs the owner's `later` work (a restart).
//!
//! Meanwhile the owner's end is **held**: if it ends with chains in flight
//! (its own shutdown, or a restart under way), its teardown frees its slot
//! as always but keeps the reports of its end — its parent's
//! `ChildExit`, its monitors' `Down`, its links' exit
//! signals, the observer's `on_actor_stop` — until the chains have ended
//! (`held.rs`). So whoever learns that a supervisor has ended knows that its
//! children have, and a parent that restarts it never runs two
//! incarnations of one child at once.
//!
//! A lone loop never holds an end: every stop there is immediate. A loop
//! that is being dropped holds none either: it reports nothing.

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
    /// Stops `ids` in this order, each after the one before has ended
    /// (see the module's doc). True when all have ended now; else the chain
    /// goes on across loops, `owner`'s end is held until it is over, and
    /// then `later` runs on `owner`'s loop (not when all ended now).
    pub(crate) fn stop_in_order(
        &mut self,
        owner: ActorId,
        ids: VecDeque<ActorId>,
        later: Option<Then<Core>>,
    ) -> bool {
        let chain = Chain { owner, ids, later };
        if self.run_chain(chain).is_some() {
            return true;
        }
        if !self.closing {
            self.held.begin(owner);
        }
        false
    }

    /// Stops the chain's actors of this loop, in order, until one of
    /// another loop or one whose end is held: the rest goes on from there.
    /// Gives the chain back when all have ended here.
    fn run_chain(&mut self, mut chain: Chain) -> Option<Chain> {
        while let Some(&id) = chain.ids.front() {
            if self.is_remote(id) {
                self.post_to_loop(id.route(), move |core| core.resume_chain(chain));
                return None;
            }
            chain.ids.pop_front();
            self.terminate_now(id);
            // Ended, with its end held: the rest waits for it. (Not ended:
            // a spawn from another loop still on its way, which ends on
            // arrival, or the running actor, at the end of its turn; the
            // chain does not wait for those.)
            if self.held.is_held(id) {
                self.held
                    .after(id, Box::new(move |core| core.resume_chain(chain)));
                return None;
            }
        }
        Some(chain)
    }

    /// Goes on with a chain that was posted here or waited here.
    fn resume_chain(&mut self, chain: Chain) {
        let Some(chain) = self.run_chain(chain) else {
            return;
        };
        let Chain { owner, later, .. } = chain;
        if self.is_remote(owner) {
            self.post_to_loop(owner.route(), move |core| core.chain_ended(owner, later));
        } else {
            self.chain_ended(owner, later);
        }
    }

    /// One of `owner`'s chains is over (on its loop): its `later` work
    /// runs, and if no other chain of its is in flight, its held end is
    /// reported and what waited for it goes on.
    fn chain_ended(&mut self, owner: ActorId, later: Option<Then<Core>>) {
        if let Some(later) = later {
            later(self);
        }
        let Some(released) = self.held.chain_ended(owner) else {
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
