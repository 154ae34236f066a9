//! The table of fd watches, indexed by fd.

use crate::backend::xev::WatchId;
use crate::{ActorId, Interest};
use std::os::fd::RawFd;

/// A fd watch.
pub(super) struct Watch {
    pub(super) owner: ActorId,
    pub(super) interest: Interest,
    pub(super) token: u64,
    pub(super) id: WatchId,
    /// An `IoEvent` for this watch is queued and not yet delivered.
    pub(super) queued: bool,
}

/// Watches indexed by fd: fds are small integers, so a vector beats a hash
/// map on the readiness path (two lookups per event).
#[derive(Default)]
pub(super) struct FdTable {
    slots: Vec<Option<Watch>>,
    len: usize,
}

impl FdTable {
    #[inline]
    pub(super) fn get(&self, fd: RawFd) -> Option<&Watch> {
        self.slots.get(usize::try_from(fd).ok()?)?.as_ref()
    }

    #[inline]
    pub(super) fn get_mut(&mut self, fd: RawFd) -> Option<&mut Watch> {
        self.slots.get_mut(usize::try_from(fd).ok()?)?.as_mut()
    }

    /// Stores a watch (fd >= 0, checked by the callers).
    pub(super) fn insert(&mut self, fd: RawFd, watch: Watch) {
        let i = usize::try_from(fd).unwrap_or(0);
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, || None);
        }
        if self.slots[i].replace(watch).is_none() {
            self.len += 1;
        }
    }

    pub(super) fn remove(&mut self, fd: RawFd) -> Option<Watch> {
        let w = self.slots.get_mut(usize::try_from(fd).ok()?)?.take()?;
        self.len -= 1;
        Some(w)
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }
}
