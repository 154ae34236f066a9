//! Child exits and `Down`s a C actor has not received yet because the
//! loop's allocator returned NULL for their payload.
//!
//! A `JZX_TAG_SYS_CHILD_EXIT` or `JZX_TAG_SYS_DOWN` is never dropped for
//! that reason: the receiver keeps it (in order, behind any earlier one)
//! and it is tried again at the receiver's next turn and on a retry timer
//! whose delay doubles from [`FIRST_RETRY`] up to [`LAST_RETRY`], so a
//! failing allocator costs a few wakeups a second, not a busy loop. The
//! timer is a pending timer of the receiver (R15): it keeps `run` from
//! returning idle while a message waits, a stop request still ends the run,
//! and the next run goes on retrying. The messages go with the receiver
//! when it dies, and a receiver stopped meanwhile (by itself, from the
//! behavior an earlier message called) is not called again (R12). A
//! waiting `Down` whose monitor is removed (`jzx_demonitor`) is dropped.
//!
//! Each retry timer carries a generation: a timer that fired while its
//! message could no longer be cancelled (the messages were delivered at the
//! receiver's turn meanwhile) is ignored, so only one chain of retries runs.
//! When the timer cannot be armed (the loop's timer table is full), the
//! messages are retried at the receiver's next turn, which arms it again.

use super::types::{jzx_child_exit, jzx_down, jzx_monitor_id, JZX_TAG_SYS_CHILD_EXIT};
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

/// A system message whose payload is still to be allocated.
#[derive(Clone, Copy)]
pub(super) enum Pending {
    ChildExit(jzx_child_exit),
    /// Dropped instead if its monitor is removed meanwhile.
    Down(jzx_down),
}

/// A C actor's waiting system messages.
pub(super) struct Undelivered {
    waiting: VecDeque<Pending>,
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

impl Undelivered {
    /// The monitors of the waiting `Down`s.
    pub(super) fn downs(&self) -> Vec<jzx_monitor_id> {
        self.waiting
            .iter()
            .filter_map(|p| match p {
                Pending::Down(d) => Some(d.monitor),
                Pending::ChildExit(_) => None,
            })
            .collect()
    }
}

impl CActor {
    /// Delivers a system message with a runtime-owned payload: `msg`
    /// comes back when the allocator refuses it.
    fn deliver(&mut self, cx: &mut Context<'_, Self>, msg: Pending) -> Result<Flow, Pending> {
        match msg {
            Pending::ChildExit(e) => self
                .call_sys(cx, JZX_TAG_SYS_CHILD_EXIT, e)
                .map_err(Pending::ChildExit),
            Pending::Down(d) => self.call_down(cx, d).map_err(Pending::Down),
        }
    }

    /// Delivers a child exit or a `Down`, after any that still wait.
    pub(super) fn sys_message(&mut self, cx: &mut Context<'_, Self>, msg: Pending) -> Flow {
        match self.undelivered.as_mut() {
            Some(u) => {
                u.waiting.push_back(msg);
                self.deliver_pending(cx)
            }
            None => match self.deliver(cx, msg) {
                Ok(flow) => flow,
                Err(msg) => {
                    self.undelivered = Some(Box::new(Undelivered {
                        waiting: VecDeque::from([msg]),
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
    pub(super) fn retry_pending(&mut self, cx: &mut Context<'_, Self>, m: CMsg) -> Flow {
        match self.undelivered.as_mut() {
            Some(u) if u.timer.is_some() && m.len == self.retry_gen => {
                u.timer = None;
                u.delay = (u.delay * 2).min(LAST_RETRY);
            }
            _ => return Flow::Continue,
        }
        self.deliver_pending(cx)
    }

    /// Delivers the waiting messages in order until one is refused again
    /// (then the retry timer is armed) or the behavior ends the actor.
    #[inline]
    pub(super) fn deliver_pending(&mut self, cx: &mut Context<'_, Self>) -> Flow {
        if self.undelivered.is_none() {
            return Flow::Continue;
        }
        while let Some(next) = self
            .undelivered
            .as_mut()
            .and_then(|u| u.waiting.pop_front())
        {
            if Self::killed(cx) {
                if let Some(u) = self.undelivered.as_mut() {
                    u.waiting.push_front(next);
                }
                return Flow::Continue;
            }
            match self.deliver(cx, next) {
                Ok(Flow::Continue) => {}
                Ok(end) => return end,
                Err(next) => {
                    if let Some(u) = self.undelivered.as_mut() {
                        u.waiting.push_front(next);
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
    /// When it cannot be armed, the receiver's next turn tries again.
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
