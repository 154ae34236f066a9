//! fd watches: readiness of watched fds delivered as system messages
//! (R16, R17).

use crate::backend::xev::Timeout;
use crate::message::SysEvent;
use crate::{ActorId, Error, Interest};
use std::os::fd::RawFd;

use super::fd_table::Watch;
use super::{backend_error, Core};

impl Core {
    // ------------------------------------------------------------------- io

    /// Watches `fd` for `interest`, owned by `owner`: readiness arrives in
    /// the owner's [`Actor::on_io`](crate::Actor::on_io). Watching an fd that is already watched
    /// changes its interest and owner (R16). The runtime never closes `fd`.
    ///
    /// # Errors
    ///
    /// `InvalidArg` for fd < 0; `NoSuchActor` for a dead owner;
    /// `IoRegFailed` when the fd is not open, cannot be polled (on Linux, a
    /// regular file or a device without readiness such as `/dev/null`; kqueue
    /// accepts a regular file as always readable) or `max_io_watchers` is
    /// reached.
    /// A watch costs no file descriptor, so neither errors at the fd limit.
    pub fn watch_fd(&mut self, fd: RawFd, owner: ActorId, interest: Interest) -> Result<(), Error> {
        if fd < 0 {
            return Err(Error::InvalidArg);
        }
        if !self.is_alive(owner) {
            return Err(Error::NoSuchActor);
        }
        if self.watches.get(fd).is_none()
            && self.watches.len() >= self.config.max_io_watchers as usize
        {
            return Err(Error::IoRegFailed);
        }
        let token = self.next_token;
        self.next_token += 1;
        if let Some(w) = self.watches.get_mut(fd) {
            // Changed in place: no new fd, and when the number was closed
            // and reused meanwhile, the bridge follows the new file. A
            // queued event of the old token is discarded on delivery.
            self.reactor
                .rewatch(&w.id, interest, token)
                .map_err(backend_error)?;
            w.owner = owner;
            w.interest = interest;
            w.token = token;
            w.queued = false;
        } else {
            let id = self
                .reactor
                .watch(fd, interest, token)
                .map_err(backend_error)?;
            self.watches.insert(
                fd,
                Watch {
                    owner,
                    interest,
                    token,
                    id,
                    queued: false,
                },
            );
        }
        let fds = &mut self.actors.extras_mut(owner.slot()).fds;
        if !fds.contains(&fd) {
            fds.push(fd);
        }
        Ok(())
    }

    /// Stops watching `fd`; an `IoEvent` already queued for it is discarded
    /// (R17).
    ///
    /// # Errors
    ///
    /// `InvalidArg` for fd < 0; `IoNotWatched` when `fd` is not watched.
    pub fn unwatch_fd(&mut self, fd: RawFd) -> Result<(), Error> {
        if fd < 0 {
            return Err(Error::InvalidArg);
        }
        let w = self.watches.remove(fd).ok_or(Error::IoNotWatched)?;
        self.reactor.unwatch(w.id);
        if let Some(extras) = self.actors.get_mut(w.owner).and_then(|s| s.extras.as_mut()) {
            extras.fds.retain(|&f| f != fd);
        }
        Ok(())
    }

    /// Whether the event loop has fds to poll. Unwatching releases a watch
    /// at once (the bridge holds no duplicate fd to close later), so `run`
    /// never waits for releases.
    #[inline]
    pub(crate) fn has_io(&self) -> bool {
        !self.watches.is_empty()
    }

    /// The interest and owner of a watched fd.
    pub fn watched(&self, fd: RawFd) -> Option<(ActorId, Interest)> {
        self.watches.get(fd).map(|w| (w.owner, w.interest))
    }

    /// Whether a queued readiness event is still current (its watch was not
    /// removed or replaced since); marks it delivered.
    pub(crate) fn take_io_event(&mut self, fd: RawFd, token: u64) -> bool {
        match self.watches.get_mut(fd) {
            Some(w) if w.token == token => {
                w.queued = false;
                true
            }
            _ => false,
        }
    }

    /// Runs the event loop once, for at most `timeout`, and hands out what
    /// it found: readiness to the watchers, the bridge timer's expiry.
    pub(crate) fn poll_io(&mut self, timeout: Timeout) -> Result<(), Error> {
        let flags = self.reactor.run(timeout).map_err(|_| Error::Unknown)?;
        if flags.timer {
            self.timer_expired();
        }
        self.dispatch_io();
        Ok(())
    }

    /// Queues the readiness found by the last reactor run: at most one
    /// undelivered event per fd.
    pub(crate) fn dispatch_io(&mut self) {
        let mut events = std::mem::take(&mut self.events_buf);
        events.clear();
        events.extend(self.reactor.events());
        if self.clock.is_virtual() {
            // A simulated loop hands readiness out in the order the
            // watches were made, whatever order the backend found it in.
            events.sort_unstable_by_key(|ev| ev.token);
        }
        for ev in &events {
            let Some(w) = self.watches.get_mut(ev.fd) else {
                continue;
            };
            if w.token != ev.token || w.queued {
                continue;
            }
            w.queued = true;
            let owner = w.owner;
            self.counters.io_events += 1;
            self.push_sys(
                owner,
                SysEvent::Io {
                    fd: ev.fd,
                    token: ev.token,
                    readiness: ev.readiness,
                },
            );
        }
        self.events_buf = events;
    }

    /// Removes the watches an actor still owns (its teardown, R13). An fd
    /// that another actor watches by now is left alone (R17).
    pub(super) fn remove_watches_of(&mut self, id: ActorId, fds: Vec<RawFd>) {
        for fd in fds {
            if self.watches.get(fd).is_some_and(|w| w.owner == id) {
                if let Some(w) = self.watches.remove(fd) {
                    self.reactor.unwatch(w.id);
                }
            }
        }
    }
}
