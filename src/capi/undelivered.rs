//! Child exits a C parent has not received yet because the loop's allocator
//! returned NULL for their payload.
//!
//! A `JZX_TAG_SYS_CHILD_EXIT` is never dropped for that reason: the parent
//! keeps it (in order, behind any earlier one) and it is tried again at the
//! parent's next turn and on a retry timer whose delay doubles from
//! [`FIRST_RETRY`] up to [`LAST_RETRY`], so a failing allocator costs a few
//! wakeups a second, not a busy loop. The timer is a pending timer of the
//! parent (R15): it keeps `run` from returning idle while an exit waits, a
//! stop request still ends the run, and the next run goes on retrying. The
//! exits go with the parent when it dies, and a parent stopped meanwhile
//! (by itself, from the behavior an earlier exit called) is not called
//! again (R12).
//!
//! Each retry timer carries a generation: a timer that fired while its
//! message could no longer be cancelled (the exits were delivered at the
//! parent's turn meanwhile) is ignored, so only one chain of retries runs.
//! When the timer cannot be armed (the loop's timer table is full), the
//! exits are retried at the parent's next turn, which arms it again.

use super::types::{jzx_child_exit, JZX_TAG_SYS_CHILD_EXIT};
use super::{CActor, CMsg};
use crate::{Context, Flow, TimerId};
use std::collections::VecDeque;
use std::ffi::c_void;
use std::time::Duration;

/// The first retry's delay.
const FIRST_RETRY: Duration = Duration::from_millis(1);
/// The longest delay between retries.
const LAST_RETRY: Duration = Duration::from_millis(100);

/// What the retry message points at: no C payload can have this address.
static RETRY_MARK: u8 = 0;

/// A C parent's waiting child exits.
pub(super) struct Undelivered {
    exits: VecDeque<jzx_child_exit>,
    /// The armed retry timer, if any.
    timer: Option<TimerId>,
    /// The delay of the next retry timer.
    delay: Duration,
}

impl CMsg {
    /// The message of the retry timer of generation `generation` (never
    /// shown to C).
    fn retry(generation: usize) -> Self {
        CMsg {
            data: std::ptr::addr_of!(RETRY_MARK).cast::<c_void>().cast_mut(),
            len: generation,
            tag: JZX_TAG_SYS_CHILD_EXIT,
            sender: 0,
        }
    }

    /// Whether this is the retry timer's message.
    pub(super) fn is_retry(&self) -> bool {
        std::ptr::eq(self.data.cast_const().cast::<u8>(), &RETRY_MARK)
    }
}

impl CActor {
    /// Delivers a child exit, after any that still wait.
    pub(super) fn child_exit(&mut self, cx: &mut Context<'_, Self>, exit: jzx_child_exit) -> Flow {
        match self.undelivered.as_mut() {
            Some(u) => {
                u.exits.push_back(exit);
                self.deliver_child_exits(cx)
            }
            None => match self.call_sys(cx, JZX_TAG_SYS_CHILD_EXIT, exit) {
                Ok(flow) => flow,
                Err(exit) => {
                    self.undelivered = Some(Box::new(Undelivered {
                        exits: VecDeque::from([exit]),
                        timer: None,
                        delay: FIRST_RETRY,
                    }));
                    self.arm_retry(cx);
                    Flow::Continue
                }
            },
        }
    }

    /// The retry timer `m` fired: tries again, with a longer delay next
    /// time. A stale timer (not the latest armed) is ignored.
    pub(super) fn retry_child_exits(&mut self, cx: &mut Context<'_, Self>, m: CMsg) -> Flow {
        match self.undelivered.as_mut() {
            Some(u) if u.timer.is_some() && m.len == self.retry_gen => {
                u.timer = None;
                u.delay = (u.delay * 2).min(LAST_RETRY);
            }
            _ => return Flow::Continue,
        }
        self.deliver_child_exits(cx)
    }

    /// Delivers the waiting child exits in order until one is refused again
    /// (then the retry timer is armed) or the behavior ends the actor.
    #[inline]
    pub(super) fn deliver_child_exits(&mut self, cx: &mut Context<'_, Self>) -> Flow {
        if self.undelivered.is_none() {
            return Flow::Continue;
        }
        while let Some(exit) = self.undelivered.as_mut().and_then(|u| u.exits.pop_front()) {
            if Self::killed(cx) {
                if let Some(u) = self.undelivered.as_mut() {
                    u.exits.push_front(exit);
                }
                return Flow::Continue;
            }
            match self.call_sys(cx, JZX_TAG_SYS_CHILD_EXIT, exit) {
                Ok(Flow::Continue) => {}
                Ok(end) => return end,
                Err(exit) => {
                    if let Some(u) = self.undelivered.as_mut() {
                        u.exits.push_front(exit);
                    }
                    self.arm_retry(cx);
                    return Flow::Continue;
                }
            }
        }
        if let Some(timer) = self.undelivered.take().and_then(|u| u.timer) {
            let _ = cx.core_mut().cancel_timer(timer);
        }
        Flow::Continue
    }

    /// Arms the retry timer unless it is armed, with a new generation.
    /// When it cannot be armed, the parent's next turn tries again.
    fn arm_retry(&mut self, cx: &mut Context<'_, Self>) {
        let addr = cx.addr();
        let Some(u) = self.undelivered.as_mut() else {
            return;
        };
        if u.timer.is_none() {
            let generation = self.retry_gen.wrapping_add(1);
            u.timer = cx
                .core_mut()
                .send_after(addr, u.delay, CMsg::retry(generation))
                .ok();
            if u.timer.is_some() {
                self.retry_gen = generation;
            }
        }
    }
}
