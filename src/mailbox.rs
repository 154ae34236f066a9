//! Mailboxes: a bounded FIFO of user messages and an unbounded reserved lane
//! of system messages (R8, R9).
//!
//! A mailbox is typed by its actor's message type and created on first use,
//! so an idle actor that never received anything owns none (R7). The reserved
//! lane carries runtime events and timer deliveries. While both lanes hold
//! messages, they take turns, the reserved lane first: readiness is not starved behind
//! a long backlog of user messages, and an fd that is always ready does not
//! starve the user messages either (R4).

use crate::message::SysEvent;
use crate::observer::drop_each_quietly;
use std::collections::VecDeque;

pub(crate) mod erased;

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
    /// The last system message taken in this turn has not been followed by
    /// a user message yet: when both lanes hold messages, the user lane goes
    /// next.
    user_next: bool,
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
            user_next: false,
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

    /// Queues a runtime event in the reserved lane.
    fn push_event(&mut self, event: SysEvent) {
        self.sys.push_back(Sys::Event(event));
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

    /// Starts a turn with a budget of `budget`; returns how many messages it
    /// handles: those queued now, at most `budget`, but at least one of each
    /// non-empty lane (R4: a turn makes progress on both, even at a budget
    /// of 1). The turn's first message is a system one, if any.
    #[inline]
    pub(crate) fn begin_turn(&mut self, budget: u32) -> usize {
        self.user_next = false;
        let n = self.len().min(budget as usize);
        if n == 1 && !self.sys.is_empty() && !self.user.is_empty() {
            2
        } else {
            n
        }
    }

    /// The next message. With the reserved lane empty (the common case),
    /// the user lane's head, at no extra cost; while both lanes hold
    /// messages, they alternate, the reserved lane first in each turn.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Item<M>> {
        if self.sys.is_empty() {
            return self.user.pop_front().map(Item::User);
        }
        if self.user_next {
            if let Some(msg) = self.user.pop_front() {
                self.user_next = false;
                return Some(Item::User(msg));
            }
        }
        self.user_next = true;
        self.sys.pop_front().map(Item::Sys)
    }

    /// Drops the messages one by one, each under its own `catch_unwind`
    /// (user destructors: a second panic while one unwinds would abort).
    /// Returns how many messages of type `M` it held (user and timer
    /// messages; runtime events are not counted).
    pub(crate) fn drop_each(&mut self) -> usize {
        let timers = if self.sys.is_empty() {
            0
        } else {
            let timers = self.sys.iter().filter(|s| matches!(s, Sys::Timer(_)));
            timers.count()
        };
        let messages = self.user.len() + timers;
        if std::mem::needs_drop::<Item<M>>() {
            drop_each_quietly(std::iter::from_fn(|| self.pop()));
        }
        // Else nothing to run: the buffers go with the mailbox.
        messages
    }
}

#[cfg(test)]
mod tests {
    use super::erased::AnyMailbox;
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
            child: ActorId::new(0, 0, 1),
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
        assert!(matches!(m.pop(), Some(Item::User(1))));
        assert!(matches!(m.pop(), Some(Item::Sys(Sys::Timer(9)))));
        assert!(m.pop().is_none());
        assert!(m.user.is_empty() && m.sys.is_empty());
    }

    #[test]
    fn lanes_alternate_while_both_hold_messages() {
        let mut m = Mailbox::new();
        for v in 0..3 {
            m.push(v, 8).unwrap();
        }
        for t in 10..15 {
            m.push_timer(t);
        }
        assert_eq!(m.begin_turn(64), 8);
        let order: Vec<(bool, i32)> = std::iter::from_fn(|| {
            m.pop().map(|item| match item {
                Item::User(v) => (false, v),
                Item::Sys(Sys::Timer(v)) => (true, v),
                Item::Sys(Sys::Event(_)) => unreachable!(),
            })
        })
        .collect();
        let want = [
            (1, 10),
            (0, 0),
            (1, 11),
            (0, 1),
            (1, 12),
            (0, 2),
            (1, 13),
            (1, 14),
        ];
        let want: Vec<(bool, i32)> = want.iter().map(|&(s, v)| (s == 1, v)).collect();
        assert_eq!(order, want);
        // A turn at budget 1 takes one of each non-empty lane, the reserved
        // lane first.
        m.push(1, 8).unwrap();
        assert_eq!(m.begin_turn(1), 1);
        m.push_timer(2);
        assert_eq!((m.begin_turn(1), m.begin_turn(64)), (2, 2));
        m.push(3, 8).unwrap();
        assert_eq!(
            (m.begin_turn(64), m.begin_turn(2), m.begin_turn(1)),
            (3, 2, 2)
        );
        assert!(matches!(m.pop(), Some(Item::Sys(Sys::Timer(2)))));
        assert!(matches!(m.pop(), Some(Item::User(1))));
        m.push_timer(4);
        assert_eq!(m.begin_turn(1), 2);
        assert!(matches!(m.pop(), Some(Item::Sys(Sys::Timer(4)))));
        assert!(matches!(m.pop(), Some(Item::User(3))));
    }
}
