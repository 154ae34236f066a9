//! Mailboxes: a bounded FIFO of user messages and an unbounded reserved lane
//! of system messages (R8, R9).
//!
//! A mailbox is typed by its actor's message type and created on first use,
//! so an idle actor that never received anything owns none (R7). The reserved
//! lane carries runtime events and timer deliveries; it is drained before the
//! user queue so readiness is not starved behind a long backlog.

use crate::message::SysEvent;
use std::any::TypeId;
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
    user: Lane<M>,
    sys: VecDeque<Sys<M>>,
}

/// The user lane: a FIFO that holds its oldest message inline, so an actor
/// that gets one message at a time (most of them) never allocates a buffer.
struct Lane<M> {
    /// The oldest message, when `rest` holds none older (a message is only
    /// put here while the lane is empty).
    head: Option<M>,
    rest: VecDeque<M>,
}

impl<M> Lane<M> {
    #[inline]
    fn len(&self) -> usize {
        usize::from(self.head.is_some()) + self.rest.len()
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.head.is_none() && self.rest.is_empty()
    }

    #[inline]
    fn push_back(&mut self, msg: M) {
        if self.is_empty() {
            self.head = Some(msg);
        } else {
            self.rest.push_back(msg);
        }
    }

    #[inline]
    fn pop_front(&mut self) -> Option<M> {
        match self.head.take() {
            Some(msg) => Some(msg),
            None => self.rest.pop_front(),
        }
    }
}

impl<M> Mailbox<M> {
    pub(crate) fn new() -> Self {
        Mailbox {
            user: Lane {
                head: None,
                rest: VecDeque::new(),
            },
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
/// one box (a 16-byte pointer in every slot of the table) holding the
/// `TypeId` of `M` followed by the `Mailbox<M>`. A typed access compares that
/// `TypeId` with a constant, with no indirect call (every send makes one, so
/// this is the hot path of R10); system events, queued by code that does not
/// know `M`, go through the box's vtable.
pub(crate) struct AnyMailbox(Box<dyn ErasedMailbox>);

/// The contents of an [`AnyMailbox`]: `repr(C)`, so `type_id` is at offset 0
/// whatever `M` is.
#[repr(C)]
struct Typed<M> {
    /// `TypeId::of::<M>()`, set in `AnyMailbox::new` and never changed.
    type_id: TypeId,
    mailbox: Mailbox<M>,
}

/// What an [`AnyMailbox`] does without knowing `M`. Implemented by
/// `Typed<M>` only (the private type is what makes the cast in
/// `AnyMailbox::downcast_mut` sound).
trait ErasedMailbox {
    fn push_sys(&mut self, event: SysEvent);
    fn len(&self) -> usize;
}

impl<M> ErasedMailbox for Typed<M> {
    fn push_sys(&mut self, event: SysEvent) {
        self.mailbox.sys.push_back(Sys::Event(event));
    }

    fn len(&self) -> usize {
        self.mailbox.len()
    }
}

impl AnyMailbox {
    /// An empty mailbox for messages of type `M` (no buffer is allocated
    /// until the first message).
    pub(crate) fn new<M: 'static>() -> AnyMailbox {
        AnyMailbox(Box::new(Typed {
            type_id: TypeId::of::<M>(),
            mailbox: Mailbox::<M>::new(),
        }))
    }

    /// The `TypeId` of the message type.
    #[inline]
    #[allow(unsafe_code)]
    pub(crate) fn msg_type(&self) -> TypeId {
        let erased: *const dyn ErasedMailbox = &*self.0;
        // SAFETY: the box always holds some `Typed<X>` (the only implementor
        // of the private trait), whose `repr(C)` layout starts with its
        // `TypeId` whatever `X` is: this reads that field.
        unsafe { erased.cast::<TypeId>().read() }
    }

    /// The typed mailbox, if its messages are `M`.
    #[inline]
    #[allow(unsafe_code)]
    pub(crate) fn downcast_mut<M: 'static>(&mut self) -> Option<&mut Mailbox<M>> {
        if self.msg_type() != TypeId::of::<M>() {
            return None;
        }
        let erased: *mut dyn ErasedMailbox = &mut *self.0;
        // SAFETY: the box holds a `Typed<X>` whose `TypeId` field says `X` is
        // `M` (checked above), so the cast to `Typed<M>` is exact; the borrow
        // of `self` bounds the returned reference.
        Some(unsafe { &mut (*erased.cast::<Typed<M>>()).mailbox })
    }

    /// Queues a system event in the reserved lane.
    pub(crate) fn push_sys(&mut self, event: SysEvent) {
        self.0.push_sys(event)
    }

    /// Messages in both lanes.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
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
    fn user_lane_is_fifo_across_its_inline_head_and_its_buffer() {
        let mut m = Mailbox::new();
        let mut want = std::collections::VecDeque::new();
        let mut next = 0u32;
        // Pushes and pops interleaved in every pattern up to 4 deep: the
        // head is filled only while the lane is empty, so order holds.
        for round in 0..200u32 {
            for _ in 0..=(round % 4) {
                m.push(next, 1024).unwrap();
                want.push_back(next);
                next += 1;
            }
            for _ in 0..=((round / 4) % 4) {
                let got = match m.pop() {
                    Some(Item::User(v)) => Some(v),
                    None => None,
                    Some(Item::Sys(_)) => panic!("a system message appeared"),
                };
                assert_eq!(got, want.pop_front(), "round {round}");
            }
            assert_eq!(m.len(), want.len(), "round {round}");
        }
        // One message at a time never allocates a buffer.
        let mut one = Mailbox::new();
        for v in 0..10 {
            one.push(v, 1024).unwrap();
            assert!(matches!(one.pop(), Some(Item::User(x)) if x == v));
        }
        assert_eq!(one.user.rest.capacity(), 0);
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
