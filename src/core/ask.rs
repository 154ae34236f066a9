//! Asks: a request carrying a one-shot [`ReplyTo`], and exactly one
//! [`Answer`] for its asker (R31; the types and their doc are in
//! `reply.rs`).
//!
//! An ask is a [`PendingAsk`] in the loop's table of asks (`pending.rs`)
//! until its outcome: the reply ([`ReplyTo::reply`] resolves it, the value
//! passed by reference), its timeout (in the FIFO of its duration, or in
//! the timer queue as a timer of the asker's), or its handle's drop (noted by the handle in
//! the loop's `DroppedReplies`, settled after each turn: `NoSuchActor` when the
//! receiver's end dropped it, `Dropped` otherwise). Whichever comes first
//! resolves it; the others find nothing and are discarded. The answer goes
//! to the asker's reserved lane, like a timer's message, so a full mailbox
//! never refuses it. An asker that ends forgets its asks.

use super::pending::{dropping_dead_letters, AskId, LoopKey, Outcome, PendingAsk};
use super::Core;
use crate::observer::drop_quietly;
use crate::reply::{Answer, ReplyTo};
use crate::timer::TimerMsg;
use crate::{ActorId, Addr, Error, SendError, StopReason};
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

/// The timeout of an ask that waits in the loop's timer queue (see
/// `Core::arm_ask_timeout`).
pub(super) struct AskTimeout(pub(super) AskId);

impl TimerMsg<Core> for AskTimeout {
    fn fire(self: Box<Self>, core: &mut Core, _asker: ActorId) {
        core.resolve_ask(self.0, Outcome::Timeout, None);
    }
    fn copy(&self) -> Box<dyn TimerMsg<Core>> {
        Box::new(AskTimeout(self.0))
    }
    fn is_message(&self) -> bool {
        false
    }
}

impl Core {
    /// `asker` asks `target`: `request` builds the request around a
    /// [`ReplyTo<R>`], which is sent to `target`; the one [`Answer<R>`]
    /// (the reply, [`Answer::Timeout`] after `timeout`, or
    /// [`Answer::NoSuchActor`] / [`Answer::Dropped`]) reaches `asker` as
    /// the message `answer` makes of it, in its reserved lane. A
    /// `Duration::MAX` timeout never fires. See [`ReplyTo`] for an example.
    ///
    /// An ask allocates nothing when `answer` captures nothing (an enum
    /// variant such as `MyMsg::Answer`, or a function) and no other
    /// timeout duration is in use at the time (see `core/pending.rs`).
    ///
    /// # Errors
    ///
    /// No answer will come, and the request comes back: `NoSuchActor` when
    /// `asker` is not alive; `MailboxFull` when `target`'s mailbox is full.
    /// (A dead `target` is an answer, [`Answer::NoSuchActor`].)
    pub fn ask<Req: 'static, R: 'static, M: 'static>(
        &mut self,
        asker: Addr<M>,
        target: Addr<Req>,
        timeout: Duration,
        request: impl FnOnce(ReplyTo<R>) -> Req,
        answer: impl FnOnce(Answer<R>) -> M + 'static,
    ) -> Result<(), SendError<Req>> {
        let to = asker.id();
        if !self.is_alive(to) {
            return Err(SendError {
                error: Error::NoSuchActor,
                message: request(ReplyTo::answered()),
            });
        }
        if self.asks.is_empty() && self.dropped_replies.list().any() {
            // Handles of asks answered long ago, dropped since.
            drop(self.dropped_replies.list().take());
        }
        // The ask is added once the request is built (`request` may panic).
        let id = self.asks.next_id();
        let req = request(ReplyTo::for_ask(id, self.dropped_replies.key()));
        let deliver = Box::new(
            move |core: &mut Core, to: ActorId, outcome: Outcome, reply: Option<&mut dyn Any>| {
                let typed = match outcome {
                    Outcome::Reply => {
                        match reply.and_then(|r| r.downcast_mut::<Option<R>>()?.take()) {
                            Some(value) => Answer::Reply(value),
                            None => Answer::Dropped,
                        }
                    }
                    Outcome::Timeout => Answer::Timeout,
                    Outcome::NoSuchActor => Answer::NoSuchActor,
                    Outcome::Dropped => Answer::Dropped,
                };
                let msg = answer(typed);
                core.push_timer_msg(to, msg);
            },
        );
        let added = self.asks.insert(
            to,
            PendingAsk {
                deliver,
                timer: None,
            },
        );
        debug_assert_eq!(added, id);
        if timeout != Duration::MAX {
            self.arm_ask_timeout(id, to, timeout);
        }
        match self.send(target, req) {
            Ok(()) => Ok(()),
            Err(e) if e.error == Error::NoSuchActor => {
                // An answer: the request's handle, dropped as a dead
                // letter, says so after this turn.
                dropping_dead_letters(|| drop_quietly(e.message));
                self.note_dead_letters(target.id(), std::any::type_name::<Req>(), 1);
                Ok(())
            }
            Err(e) => {
                self.forget_ask(id);
                Err(e)
            }
        }
    }

    /// This loop's key, which the reply handles of its asks carry (a reply
    /// handle belongs to the loop of its asker).
    #[inline]
    pub(crate) fn loop_key(&self) -> LoopKey {
        self.dropped_replies.key()
    }

    /// Resolves ask `id` with `outcome` (and `reply`, see [`Outcome`]);
    /// false when it was resolved already (the late reply is discarded).
    pub(crate) fn resolve_ask(
        &mut self,
        id: AskId,
        outcome: Outcome,
        reply: Option<&mut dyn Any>,
    ) -> bool {
        let Some((asker, pending)) = self.asks.remove(id) else {
            return false;
        };
        if let Some(timer) = pending.timer {
            // Fired already when this is its timeout: then nothing to do.
            let _ = self.cancel_timer(timer);
        }
        let deliver = pending.deliver;
        // `answer` is the asker's code: a panic there is the asker's.
        if catch_unwind(AssertUnwindSafe(|| deliver(self, asker, outcome, reply))).is_err() {
            let _ = self.kill(asker, StopReason::Panic);
        }
        true
    }

    /// Removes ask `id` with no answer.
    fn forget_ask(&mut self, id: AskId) {
        if let Some((_, pending)) = self.asks.remove(id) {
            self.drop_pending(pending);
        }
    }

    /// Drops an ask removed unanswered, with its timer if it has one.
    fn drop_pending(&mut self, pending: PendingAsk<Core>) {
        if let Some(timer) = pending.timer {
            let _ = self.cancel_timer(timer);
        }
        drop_quietly(pending.deliver);
    }

    /// Whether a dropped reply handle answers a pending ask.
    #[inline]
    pub(crate) fn asks_to_settle(&self) -> bool {
        // With no ask pending there is nothing to answer (`ask` clears what
        // is left over before it adds one).
        !self.asks.is_empty() && self.dropped_replies.list().any()
    }

    /// Answers the asks whose handles were dropped unanswered.
    #[inline]
    pub(crate) fn settle_asks(&mut self) {
        if self.asks_to_settle() {
            for (id, ended) in self.dropped_replies.list().take() {
                let outcome = if ended {
                    Outcome::NoSuchActor
                } else {
                    Outcome::Dropped
                };
                self.resolve_ask(id, outcome, None);
            }
        }
    }

    /// The asker in actor slot `slot` ended: its asks go, unanswered. Only
    /// from its teardown, which removes all of the asker's timers next
    /// (`TimerQueue::remove_owner`), those of its asks' timeouts that are in the
    /// timer queue with them: they are not cancelled one by one here.
    pub(super) fn drop_asks_of(&mut self, slot: u32) {
        while let Some(pending) = self.asks.remove_one_of(slot) {
            drop_quietly(pending.deliver);
        }
    }
}
