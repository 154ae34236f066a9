//! The operations of sends between the loops of a runtime: routing a send
//! to its outbox, flushing outboxes at the end of a turn, delivering what
//! other loops pushed at the start of one (the rings and outboxes are in
//! `peers.rs`, which explains the path).

use super::peers::{Outbox, Peers, FLUSH_AT, SPIN_POLLS};
use super::Core;
use crate::{ActorId, Addr, Error, SendError};
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
        self.queued_for(index);
        Ok(())
    }

    /// Runs `f` on loop `index` of the runtime, at its next turn, after
    /// what this loop sent there before. False when there is no such loop
    /// (`f` is dropped).
    pub(crate) fn post_to_loop(
        &mut self,
        index: usize,
        f: impl FnOnce(&mut Core) + Send + 'static,
    ) -> bool {
        let Some(out) = self
            .peers
            .as_deref_mut()
            .and_then(|p| p.out.get_mut(index))
            .and_then(Option::as_mut)
        else {
            return false;
        };
        out.add_control(Box::new(f));
        self.queued_for(index);
        true
    }

    /// Something was added to the outbox for loop `index`: it is flushed
    /// at the end of the turn, or now if its open run is long.
    #[inline]
    fn queued_for(&mut self, index: usize) {
        let Some(peers) = self.peers.as_deref_mut() else {
            return;
        };
        let Some(out) = peers.out[index].as_mut() else {
            return;
        };
        if out.pending == 1 {
            peers.dirty.push(index);
        } else if out.runs.back().map_or(0, |r| r.len()) >= FLUSH_AT {
            out.flush();
        }
    }

    /// Whether `id` lives on another loop than this one.
    #[inline]
    pub(crate) fn is_remote(&self, id: ActorId) -> bool {
        id.loop_byte() != self.actors.index()
    }

    /// The loop has nothing to do (R2). A lone loop's run then ends; a
    /// loop of a runtime tells the others, and its run ends only once every
    /// loop is idle with nothing in flight between them (another loop may
    /// still spawn on it or send it work): true when the run may end.
    pub(crate) fn quiesce(&mut self) -> bool {
        let Some(peers) = self.peers.as_deref_mut() else {
            return true;
        };
        if peers.idle {
            return false;
        }
        peers.idle = true;
        if peers.quiet.go_idle(peers.index) {
            peers.idle = false;
            return true;
        }
        false
    }

    /// The start of a run: this loop is not idle.
    pub(crate) fn begin_run_peers(&mut self) {
        if let Some(peers) = self.peers.as_deref_mut() {
            peers.idle = false;
        }
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
        if peers.idle && peers.inbound.iter_mut().flatten().any(|i| i.ring.has_items()) {
            // Work from another loop: not idle any more, said before the
            // runs are taken (see `Quiet`).
            peers.quiet.leave_idle(peers.index);
            peers.idle = false;
        }
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

    /// Messages of this loop not yet pushed to their loops' rings (which
    /// were full).
    pub(crate) fn peers_pending(&self) -> bool {
        self.peers.as_ref().is_some_and(|p| !p.dirty.is_empty())
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
