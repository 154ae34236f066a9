//! Mailboxes: a bounded FIFO of user messages and an unbounded reserved lane
//! of system messages (R8, R9).
//!
//! A mailbox is typed by its actor's message type and created on first use,
//! so an idle actor that never received anything owns none (R7). The reserved
//! lane carries runtime events and timer deliveries; it is drained before the
//! user queue so readiness is not starved behind a long backlog.

use crate::message::SysEvent;
use std::any::{Any, TypeId};
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

    /// Messages in both lanes.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.user.len() + self.sys.len()
    }

    /// No message in either lane.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.user.is_empty() && self.sys.is_empty()
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Item<M>> {
        match self.sys.pop_front() {
            Some(s) => Some(Item::Sys(s)),
            None => self.user.pop_front().map(Item::User),
        }
    }
}

/// A mailbox whose message type is erased, as the actor table stores it:
/// the boxed `Mailbox<M>`, the `TypeId` of `Mailbox<M>` and, for system
/// events (queued by code that does not know `M`), a function made for `M`.
/// A typed access compares the stored `TypeId` with a constant: no indirect
/// call (every send makes one, so this is the hot path of R10).
pub(crate) struct AnyMailbox {
    any: Box<dyn Any>,
    /// `TypeId::of::<Mailbox<M>>()` for the `M` that `any` was made with;
    /// set once, in `new`, with `any`.
    type_id: TypeId,
    push_sys: fn(&mut dyn Any, SysEvent),
}

fn push_sys_of<M: 'static>(any: &mut dyn Any, event: SysEvent) {
    if let Some(m) = any.downcast_mut::<Mailbox<M>>() {
        m.sys.push_back(Sys::Event(event));
    }
}

impl AnyMailbox {
    /// An empty mailbox for messages of type `M` (no buffer is allocated
    /// until the first message).
    pub(crate) fn new<M: 'static>() -> AnyMailbox {
        AnyMailbox {
            any: Box::new(Mailbox::<M>::new()),
            type_id: TypeId::of::<Mailbox<M>>(),
            push_sys: push_sys_of::<M>,
        }
    }

    /// The typed mailbox, if its messages are `M`.
    #[inline]
    #[allow(unsafe_code)]
    pub(crate) fn downcast_mut<M: 'static>(&mut self) -> Option<&mut Mailbox<M>> {
        if self.type_id != TypeId::of::<Mailbox<M>>() {
            return None;
        }
        let any: *mut dyn Any = &mut *self.any;
        // SAFETY: `any` and `type_id` are only ever set together in `new`, so
        // `any` holds a `Mailbox<M>` (what `<dyn Any>::downcast_mut` checks
        // through the vtable, here without the indirect call); the borrow of
        // `self` bounds the returned reference.
        Some(unsafe { &mut *any.cast::<Mailbox<M>>() })
    }

    /// Queues a system event in the reserved lane.
    pub(crate) fn push_sys(&mut self, event: SysEvent) {
        (self.push_sys)(&mut *self.any, event)
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
        let mut erased = AnyMailbox::new::<i32>();
        erased.push_sys(SysEvent::ChildExit(exit));
        assert!(erased.downcast_mut::<u8>().is_none());
        let typed = erased.downcast_mut::<i32>().unwrap();
        assert!(!typed.is_empty() && typed.user.is_empty());
        m.sys.push_back(Sys::Event(SysEvent::ChildExit(exit)));
        m.push_timer(9);
        assert!(matches!(
            m.pop(),
            Some(Item::Sys(Sys::Event(SysEvent::ChildExit(_))))
        ));
        assert!(matches!(m.pop(), Some(Item::Sys(Sys::Timer(9)))));
        assert!(matches!(m.pop(), Some(Item::User(1))));
        assert!(m.pop().is_none());
        assert!(m.user.is_empty() && m.sys.is_empty());
    }
}
