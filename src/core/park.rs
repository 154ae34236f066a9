//! Parks: cross-thread messages waiting for room in a full mailbox, and the
//! targets whose cross-thread sends are limited meanwhile (the policy is
//! in `remote.rs`).

use crate::mailbox::erased::AnyMailbox;
use crate::observer::drop_each_quietly;
use std::any::Any;
use std::collections::VecDeque;

/// A limited target (see the module's doc).
pub(super) struct Limited {
    pub(super) slot: u32,
    /// Its park's length when it was last granted room (`usize::MAX`
    /// before the first grant).
    pub(super) granted_at: usize,
}

/// Cross-thread messages waiting for room in one target's mailbox.
pub(crate) trait Park {
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// Messages waiting.
    fn len(&self) -> usize;
    /// Moves messages, in order, into its target's `mailbox` (of capacity
    /// `cap`) while it has room; returns how many moved. Shrinks an emptied
    /// park that grew large.
    fn refill(&mut self, mailbox: &mut AnyMailbox, cap: u32) -> usize;
    /// Drops the messages one by one, each under its own `catch_unwind`.
    fn drop_each(&mut self);
}

pub(super) struct Parked<M>(pub(super) VecDeque<M>);

/// An emptied park keeps room for this many messages at most.
const MAX_PARK_CAPACITY: usize = 1024;

impl<M: 'static> Park for Parked<M> {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn refill(&mut self, mailbox: &mut AnyMailbox, cap: u32) -> usize {
        // A park is made for a message its target's mailbox refused as
        // full, so both hold `M`.
        let Some(mailbox) = mailbox.downcast_mut::<M>() else {
            debug_assert!(false, "a park's messages are of its mailbox's type");
            return 0;
        };
        let mut moved = 0;
        while let Some(msg) = self.0.pop_front() {
            if let Err(msg) = mailbox.push(msg, cap) {
                self.0.push_front(msg);
                break;
            }
            moved += 1;
        }
        if self.0.is_empty() && self.0.capacity() > MAX_PARK_CAPACITY {
            self.0 = VecDeque::new();
        }
        moved
    }

    fn drop_each(&mut self) {
        drop_each_quietly(self.0.drain(..));
    }
}
