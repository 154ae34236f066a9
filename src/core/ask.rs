//! Asks: a request carrying a one-shot [`ReplyTo`], and exactly one
//! [`Answer`] for its asker (R31; the types and their doc are in
//! `reply.rs`).
//!
//! An ask is a [`PendingAsk`] under its number until its outcome: the
//! reply ([`ReplyTo::reply`] resolves it), its timeout (a timer of the
//! asker's), or its handle's drop (noted by the handle in
//! [`DroppedReplies`], settled after each turn: `NoSuchActor` when the
//! receiver's end dropped it, `Dropped` otherwise). Whichever comes first
//! resolves it; the others find nothing and are discarded. The answer goes
//! to the asker's reserved lane, like a timer's message, so a full mailbox
//! never refuses it. An asker that ends forgets its asks.

use super::pending::{dropping_dead_letters, DroppedReplies, PendingAsk, RawAnswer};
use super::table::Extras;
use super::Core;
use crate::observer::drop_quietly;
use crate::reply::{Answer, ReplyTo};
use crate::timer::TimerMsg;
use crate::{ActorId, Addr, Error, SendError, StopReason};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

/// The timer of an ask's timeout.
struct AskTimeout(u64);

impl TimerMsg<Core> for AskTimeout {
    fn fire(self: Box<Self>, core: &mut Core, _asker: ActorId) {
        core.resolve_ask(self.0, RawAnswer::Timeout);
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
        if self.asks.is_empty() && self.dropped_replies.any() {
            // Handles of asks answered long ago, dropped since.
            drop(self.dropped_replies.take());
        }
        self.next_ask += 1;
        let id = self.next_ask;
        let req = request(ReplyTo::for_ask(id, self.dropped_replies.clone()));
        if !self.is_alive(asker.id()) {
            return Err(SendError {
                error: Error::NoSuchActor,
                message: req,
            });
        }
        let to = asker.id();
        let deliver = Box::new(move |core: &mut Core, raw: RawAnswer| {
            let typed = match raw {
                RawAnswer::Reply(value) => match value.downcast::<R>() {
                    Ok(value) => Answer::Reply(*value),
                    Err(_) => Answer::Dropped,
                },
                RawAnswer::Timeout => Answer::Timeout,
                RawAnswer::NoSuchActor => Answer::NoSuchActor,
                RawAnswer::Dropped => Answer::Dropped,
            };
            let msg = answer(typed);
            core.push_timer_msg(to, msg);
        });
        let timer = (timeout != Duration::MAX)
            .then(|| self.add_timer(to, timeout, None, Box::new(AskTimeout(id))));
        self.asks.insert(
            id,
            PendingAsk {
                asker: to,
                timer,
                deliver,
            },
        );
        self.actors.extras_mut(to.slot()).asks.push(id);
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

    /// Whether `dropped` is this loop's list of dropped reply handles (a
    /// reply handle belongs to the loop of its asker).
    pub(crate) fn owns_replies(&self, dropped: &Arc<DroppedReplies>) -> bool {
        Arc::ptr_eq(dropped, &self.dropped_replies)
    }

    /// Resolves ask `id` with `raw`; false when it was resolved already
    /// (the late reply is discarded).
    pub(crate) fn resolve_ask(&mut self, id: u64, raw: RawAnswer) -> bool {
        let timed_out = matches!(raw, RawAnswer::Timeout);
        let Some(pending) = self.take_ask(id, !timed_out) else {
            return false;
        };
        let deliver = pending.deliver;
        // `answer` is the asker's code: a panic there is the asker's.
        if catch_unwind(AssertUnwindSafe(|| deliver(self, raw))).is_err() {
            let _ = self.kill(pending.asker, StopReason::Panic);
        }
        true
    }

    /// Removes ask `id` with no answer.
    fn forget_ask(&mut self, id: u64) {
        if let Some(pending) = self.take_ask(id, true) {
            drop_quietly(pending.deliver);
        }
    }

    /// Takes ask `id` out of the tables (its asker's list, and its timer
    /// when `cancel_timer`).
    fn take_ask(&mut self, id: u64, cancel_timer: bool) -> Option<PendingAsk<Core>> {
        let pending = self.asks.remove(&id)?;
        if let (Some(timer), true) = (pending.timer, cancel_timer) {
            let _ = self.cancel_timer(timer);
        }
        let asker = self.actors.get_mut(pending.asker);
        if let Some(e) = asker.and_then(|s| s.extras.as_mut()) {
            e.asks.retain(|&a| a != id);
        }
        Some(pending)
    }

    /// Answers the asks whose handles were dropped unanswered.
    /// Whether a dropped reply handle answers a pending ask.
    #[inline]
    pub(crate) fn asks_to_settle(&self) -> bool {
        // With no ask pending there is nothing to answer (`ask` clears what
        // is left over before it adds one).
        !self.asks.is_empty() && self.dropped_replies.any()
    }

    #[inline]
    pub(crate) fn settle_asks(&mut self) {
        if self.asks_to_settle() {
            for (id, ended) in self.dropped_replies.take() {
                let raw = if ended {
                    RawAnswer::NoSuchActor
                } else {
                    RawAnswer::Dropped
                };
                self.resolve_ask(id, raw);
            }
        }
    }

    /// An asker ended (`extras` are what it held): its asks go, unanswered
    /// (their timers went with its other timers).
    pub(super) fn drop_asks_of(&mut self, extras: &mut Extras) {
        for id in std::mem::take(&mut extras.asks) {
            if let Some(pending) = self.asks.remove(&id) {
                drop_quietly(pending.deliver);
            }
        }
    }
}
