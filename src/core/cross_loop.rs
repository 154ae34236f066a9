//! The operations of sends between the loops of a runtime: routing a send
//! to its outbox, flushing outboxes at the end of a turn, delivering what
//! other loops pushed at the start of one (the rings and outboxes are in
//! `peers.rs`, which explains the path).

use super::peers::{Outbox, Peers, FLUSH_AT, SPIN_POLLS};
use super::Core;
use crate::{Addr, Error, SendError};
use std::sync::atomic::{fence, Ordering};

impl Core {
    /// Connects this loop to the other loops of its runtime.
    pub(crate) fn attach_peers(&mut self, peers: Peers<Core>) {
        self.peers = Some(Box::new(peers));
    }

    /// A send to an actor on another loop (see the module's doc).
    #[inline(never)]
    pub(super) fn send_to_loop<M: 'static>(
        &mut self,
        to: Addr<M>,
        msg: M,
    ) -> Result<(), SendError<M>> {
        let index = to.id().loop_index();
        let Some(out) = self
            .peers
            .as_deref_mut()
            .and_then(|p| p.out.get_mut(index))
            .and_then(Option::as_mut)
        else {
            return Err(SendError {
                error: Error::NoSuchActor,
                message: msg,
            });
        };
        if !out.has_room() || out.dest.in_flight() >= out.dest.cap() {
            self.note_refused(to.id());
            return Err(SendError {
                error: Error::MailboxFull,
                message: msg,
            });
        }
        out.add(to, msg);
        let (pending, open) = (out.pending, out.runs.back().map_or(0, |r| r.len()));
        let peers = self.peers.as_deref_mut().expect("peers checked above");
        if pending == 1 {
            peers.dirty.push(index);
        } else if open >= FLUSH_AT {
            if let Some(out) = peers.out[index].as_mut() {
                out.flush();
            }
        }
        Ok(())
    }

    /// Pushes every outbox into its ring (end of a turn).
    #[inline]
    pub(crate) fn flush_peers(&mut self) {
        let Some(peers) = self.peers.as_deref_mut() else {
            return;
        };
        let Peers { out, dirty, .. } = peers;
        dirty.retain(|&d| out[d].as_mut().is_some_and(Outbox::flush));
    }

    /// Delivers the runs other loops have pushed (start of a turn).
    #[inline]
    pub(crate) fn drain_peers(&mut self) {
        let Some(mut peers) = self.peers.take() else {
            return;
        };
        for inb in peers.inbound.iter_mut().flatten() {
            inb.take(|run| {
                let n = run.len();
                let done = run.deliver(self);
                // Those parked count against this loop's cross-thread bound
                // until they are in a mailbox.
                self.remote.adopt(n - done);
            });
        }
        self.peers = Some(peers);
    }

    /// Whether another loop has pushed runs not yet taken. Called after the
    /// loop said it is about to block.
    pub(crate) fn peers_have_news(&mut self) -> bool {
        let Some(peers) = self.peers.as_deref_mut() else {
            return false;
        };
        fence(Ordering::SeqCst);
        peers
            .inbound
            .iter_mut()
            .flatten()
            .any(|i| i.ring.has_items())
    }

    /// Messages of this loop not yet pushed to the rings (which were full)
    /// of loops that are still in their run: only those can make room.
    ///
    /// A loop whose run has ended (idle, or stopped on its own) takes
    /// nothing more in this run of the runtime. Waiting for it would keep
    /// this loop from ever being idle and the runtime's `run` from
    /// returning (R25); its messages stay in the outbox, to be pushed in
    /// the next run or dropped with the loop.
    pub(crate) fn peers_pending(&self) -> bool {
        self.peers.as_ref().is_some_and(|p| {
            p.dirty.iter().any(|&d| {
                p.out[d]
                    .as_ref()
                    .is_some_and(|o| o.dest.is_in_runtime_run())
            })
        })
    }

    /// With nothing to run, polls the inbound rings for a while before the
    /// loop blocks: a loop that answers another is usually sent to again
    /// within microseconds, sooner than a blocked thread wakes. True when
    /// something arrived.
    pub(crate) fn spin_for_peers(&mut self) -> bool {
        let Some(peers) = self.peers.as_deref_mut() else {
            return false;
        };
        for _ in 0..SPIN_POLLS {
            if peers
                .inbound
                .iter_mut()
                .flatten()
                .any(|i| i.ring.has_items())
            {
                return true;
            }
            std::hint::spin_loop();
        }
        false
    }
}
