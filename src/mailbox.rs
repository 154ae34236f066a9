//! Mailboxes: a bounded FIFO of user messages and an unbounded reserved lane
//! of system messages (R8, R9).
//!
//! A mailbox is typed by its actor's message type and created on first use,
//! so an idle actor that never received anything owns none (R7). The reserved
//! lane carries runtime events and timer deliveries; it is drained before the
//! user queue so readiness is not starved behind a long backlog.

use crate::message::SysEvent;
use std::any::Any;
use std::collections::VecDeque;

/// An entry of the reserved lane.
pub(crate) enum Sys<M> {
    Event(SysEvent),
    /// A message delivered by a timer of the runtime.
    Timer(M),
}

/// What the actor's next turn handles.
pub(crate) enum Item<M> {
    User(M),
    Sys(Sys<M>),
}

pub(crate) struct Mailbox<M> {
    user: VecDeque<M>,
    sys: VecDeque<Sys<M>>,
}

impl<M> Mailbox<M> {
    pub(crate) fn new() -> Self {
        Mailbox {
            user: VecDeque::new(),
            sys: VecDeque::new(),
        }
    }

    /// Queues a user message unless `cap` are already queued.
    pub(crate) fn push(&mut self, msg: M, cap: u32) -> Result<(), M> {
        if self.user.len() >= cap as usize {
            return Err(msg);
        }
        self.user.push_back(msg);
        Ok(())
    }

    pub(crate) fn push_timer(&mut self, msg: M) {
        self.sys.push_back(Sys::Timer(msg));
    }

    pub(crate) fn pop(&mut self) -> Option<Item<M>> {
        match self.sys.pop_front() {
            Some(s) => Some(Item::Sys(s)),
            None => self.user.pop_front().map(Item::User),
        }
    }
}

/// A mailbox whose message type is erased, as the actor table stores it.
pub(crate) trait AnyMailbox {
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn push_sys(&mut self, event: SysEvent);
    fn is_empty(&self) -> bool;
}

impl<M: 'static> AnyMailbox for Mailbox<M> {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn push_sys(&mut self, event: SysEvent) {
        self.sys.push_back(Sys::Event(event));
    }
    fn is_empty(&self) -> bool {
        self.user.is_empty() && self.sys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::ChildExit;
    use crate::{ActorId, StopReason};

    #[test]
    fn full_mailbox_refuses_and_returns_the_message() {
        let mut m = Mailbox::new();
        assert!(m.push(1, 2).is_ok());
        assert!(m.push(2, 2).is_ok());
        assert_eq!(m.push(3, 2), Err(3));
        assert_eq!(m.user.len(), 2);
    }

    #[test]
    fn reserved_lane_is_not_bounded_and_goes_first() {
        let mut m = Mailbox::new();
        m.push(1, 1).unwrap();
        assert!(m.push(2, 1).is_err());
        let exit = ChildExit {
            child: ActorId::new(0, 1),
            reason: StopReason::Normal,
        };
        m.push_sys(SysEvent::ChildExit(exit));
        m.push_timer(9);
        assert!(matches!(
            m.pop(),
            Some(Item::Sys(Sys::Event(SysEvent::ChildExit(_))))
        ));
        assert!(matches!(m.pop(), Some(Item::Sys(Sys::Timer(9)))));
        assert!(matches!(m.pop(), Some(Item::User(1))));
        assert!(m.pop().is_none());
        assert!(AnyMailbox::is_empty(&m));
    }
}
