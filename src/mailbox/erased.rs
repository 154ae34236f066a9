//! A mailbox whose message type is erased, as the actor table stores it,
//! and the one unchecked cast that gets the typed mailbox back.
//!
//! Every send looks up its target's mailbox (the hot path of R10), so the
//! typed access compares a `TypeId` stored in front of the mailbox with a
//! constant, with no indirect call; system events, queued by code that does
//! not know `M`, go through the vtable.
//!
//! # Invariant
//!
//! An [`AnyMailbox`] holds a [`Header`] whose `type_id` is
//! `TypeId::of::<M>()` exactly when its tail is a `Mailbox<M>`. The compiler
//! checks it: `Header`'s fields are private to the `header` module, whose
//! only constructor, `Header::of`, takes the `Mailbox<M>` and derives the
//! `TypeId` from the same `M`, and nothing writes `type_id` afterwards (the
//! module hands out the tail only). So no code outside `header` can make a
//! header whose `TypeId` disagrees with its tail, and the cast in
//! [`AnyMailbox::downcast_mut`] is exact.

use super::Mailbox;
use crate::message::SysEvent;
use header::Header;
use std::any::TypeId;

mod header {
    use super::Mailbox;
    use std::any::TypeId;

    /// A `TypeId` in front of a mailbox. `T` is `Mailbox<M>`, or the
    /// unsized `dyn ErasedMailbox` it was coerced to.
    pub(super) struct Header<T: ?Sized> {
        type_id: TypeId,
        tail: T,
    }

    impl<M: 'static> Header<Mailbox<M>> {
        /// The only constructor: the `TypeId` is that of the tail's `M`.
        pub(super) fn of(mailbox: Mailbox<M>) -> Self {
            Header {
                type_id: TypeId::of::<M>(),
                tail: mailbox,
            }
        }
    }

    impl<T: ?Sized> Header<T> {
        /// The `TypeId` of the tail's message type (a field at a fixed
        /// offset: no indirect call even when `T` is unsized).
        #[inline]
        pub(super) fn type_id(&self) -> TypeId {
            self.type_id
        }

        /// The mailbox, to read.
        #[inline]
        pub(super) fn tail(&self) -> &T {
            &self.tail
        }

        /// The mailbox.
        #[inline]
        pub(super) fn tail_mut(&mut self) -> &mut T {
            &mut self.tail
        }
    }
}

/// What an [`AnyMailbox`] does without knowing `M`.
trait ErasedMailbox {
    fn push_sys(&mut self, event: SysEvent);
    fn len(&self) -> usize;
    fn drop_each(&mut self) -> usize;
}

impl<M> ErasedMailbox for Mailbox<M> {
    fn push_sys(&mut self, event: SysEvent) {
        self.push_event(event);
    }

    fn len(&self) -> usize {
        Mailbox::len(self)
    }

    fn drop_each(&mut self) -> usize {
        Mailbox::drop_each(self)
    }
}

/// A mailbox of some message type: one box (a 16-byte pointer in every slot
/// of the table) holding the `TypeId` of `M` followed by the `Mailbox<M>`.
pub(crate) struct AnyMailbox(Box<Header<dyn ErasedMailbox>>);

impl AnyMailbox {
    /// An empty mailbox for messages of type `M` (no buffer is allocated
    /// until the first message).
    pub(crate) fn new<M: 'static>() -> AnyMailbox {
        AnyMailbox(Box::new(Header::of(Mailbox::<M>::new())))
    }

    /// The typed mailbox, if its messages are `M`.
    #[inline]
    #[allow(unsafe_code)]
    pub(crate) fn downcast_mut<M: 'static>(&mut self) -> Option<&mut Mailbox<M>> {
        if self.0.type_id() != TypeId::of::<M>() {
            return None;
        }
        let erased: *mut Header<dyn ErasedMailbox> = &mut *self.0;
        // SAFETY: the header says its tail is a `Mailbox<M>` (the module's
        // invariant), so the box holds a `Header<Mailbox<M>>`: the cast only
        // drops the vtable; the borrow of `self` bounds the reference.
        let typed = unsafe { &mut *erased.cast::<Header<Mailbox<M>>>() };
        Some(typed.tail_mut())
    }

    /// Queues a system event in the reserved lane.
    pub(crate) fn push_sys(&mut self, event: SysEvent) {
        self.0.tail_mut().push_sys(event)
    }

    /// Messages queued in both lanes.
    pub(crate) fn len(&self) -> usize {
        self.0.tail().len()
    }

    /// Drops the messages one by one; how many of the message type it held
    /// (see `Mailbox::drop_each`).
    pub(crate) fn drop_each(&mut self) -> usize {
        self.0.tail_mut().drop_each()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailbox::Item;

    #[test]
    fn a_slot_costs_a_fat_pointer_and_the_type_decides_the_downcast() {
        assert_eq!(std::mem::size_of::<Option<AnyMailbox>>(), 16);
        let mut m = AnyMailbox::new::<String>();
        assert!(m.downcast_mut::<u32>().is_none());
        assert!(m.downcast_mut::<&'static str>().is_none());
        let typed = m.downcast_mut::<String>().unwrap();
        typed.push("a".to_owned(), 4).unwrap();
        m.push_sys(SysEvent::Io {
            fd: 3,
            token: 7,
            readiness: Default::default(),
        });
        let typed = m.downcast_mut::<String>().unwrap();
        assert_eq!(typed.len(), 2);
        assert!(matches!(typed.pop(), Some(Item::Sys(_))));
        assert!(matches!(typed.pop(), Some(Item::User(s)) if s == "a"));
    }
}
