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
        peers.talked = true;
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
        let mut got = false;
        for inb in peers.inbound.iter_mut().flatten() {
            inb.take(|run| {
                got = true;
                let n = run.len();
                let done = run.deliver(self);
                // Those parked count against this loop's cross-thread bound
                // until they are in a mailbox.
                self.remote.adopt(n - done);
            });
        }
        peers.talked |= got;
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

    /// Messages of this loop not yet pushed to their loops' rings (which
    /// were full).
    pub(crate) fn peers_pending(&self) -> bool {
        self.peers.as_ref().is_some_and(|p| !p.dirty.is_empty())
    }

    /// With nothing to run, polls the inbound rings for a while before the
    /// loop blocks: a loop that answers another is usually sent to again
    /// within microseconds, sooner than a blocked thread wakes. Only when
    /// it has sent to or taken from another loop since it last spun: a loop
    /// that serves its own fds (the echo server on N loops) would otherwise
    /// spend most of its CPU polling empty rings. True when something
    /// arrived.
    pub(crate) fn spin_for_peers(&mut self) -> bool {
        let Some(peers) = self.peers.as_deref_mut() else {
            return false;
        };
        if !std::mem::take(&mut peers.talked) {
            return false;
        }
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
