//! Messages from other threads, delivered between turns (R14).

use super::Core;
use crate::handle::{RemoteMsg, MAX_SPARE_CAPACITY};

impl Core {
    // -------------------------------------------------------- cross-thread

    /// Delivers the messages queued by other threads.
    /// Messages refused by a full mailbox wait at the head, with everything
    /// behind them (FIFO per producer), until the target has made room.
    #[inline]
    pub(crate) fn drain_remote(&mut self) {
        if self.remote_backlog.is_empty() && !self.remote.has_pending() {
            return;
        }
        self.drain_remote_queue();
    }

    fn drain_remote_queue(&mut self) {
        let mut msgs = std::mem::take(&mut self.remote_buf);
        self.remote.drain(&mut msgs, &mut self.remote_spent);
        if self.remote_backlog.is_empty() {
            let mut rest = msgs.drain(..);
            while let Some(mut msg) = rest.next() {
                if !msg.deliver(self) {
                    self.remote_blocked = true;
                    self.remote_backlog.push_back(msg);
                    self.remote_backlog.extend(rest);
                    break;
                }
                self.keep_spent(msg);
            }
        } else {
            self.remote_backlog.extend(msgs.drain(..));
            while let Some(mut msg) = self.remote_backlog.pop_front() {
                if !msg.deliver(self) {
                    self.remote_backlog.push_front(msg);
                    break;
                }
                self.remote_blocked = false;
                self.keep_spent(msg);
            }
        }
        self.remote_buf = msgs;
    }

    /// Keeps a delivered (empty) run to hand back at the next drain, unless
    /// it grew large.
    fn keep_spent(&mut self, run: RemoteMsg) {
        if run.capacity() <= MAX_SPARE_CAPACITY {
            self.remote_spent.push(run);
        }
    }

    /// Cross-thread messages wait for room in a mailbox.
    pub(crate) fn has_remote_backlog(&self) -> bool {
        !self.remote_backlog.is_empty()
    }

    /// Nothing left to do: no live actors, timers, watches or queued
    /// cross-thread messages (R2).
    pub(crate) fn is_idle(&self) -> bool {
        self.live == 0
            && self.timers.len() == 0
            && self.watches.is_empty()
            && !self.remote.has_pending()
            && self.remote_backlog.is_empty()
    }
}
