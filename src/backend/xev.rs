//! The safe wrapper over the Zig bridge: the only FFI `unsafe` in the crate.
//!
//! Ownership rules for what crosses the boundary:
//! - `Reactor` owns one bridge loop (`jzx_xev_loop`) from `new` to `drop`.
//!   It is `!Send`: the bridge loop is single-threaded.
//! - A [`Waker`] shares the loop pointer behind an `RwLock`; `Reactor::drop`
//!   clears it under the write lock before destroying the loop, so a wakeup
//!   from another thread either reaches a live loop or reports `Closed`.
//! - A [`WatchId`] is the bridge's watch pointer: one entry of the bridge's
//!   readiness set (an epoll or kqueue instance of the watched fds, no
//!   duplicate fd). `rewatch` changes it in place; `unwatch` consumes the id
//!   and the bridge frees it at once, so Rust can never pass it again. The
//!   bridge never calls into Rust: readiness is read from its event buffer
//!   after `run`, so no callback can follow unwatch.

use super::sys;
use super::{BackendKind, Interest, Readiness};
use std::fmt;
use std::marker::PhantomData;
use std::os::fd::RawFd;
use std::ptr::NonNull;
use std::sync::{Arc, RwLock};

/// Why a bridge call failed; keeps the OS errno where there is one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BackendError {
    /// Out of memory in the bridge.
    NoMemory,
    /// A bad argument (fd < 0, empty interest).
    InvalidArg,
    /// The requested backend is not available on this system.
    Unavailable,
    /// libxev could not create its loop (errno when known).
    LoopInit(i32),
    /// The fd is not open.
    BadFd,
    /// The loop failed while running.
    Run,
    /// The wakeup could not be delivered.
    Wakeup,
    /// The system refused a resource (errno), e.g. EPERM for an fd that
    /// cannot be polled.
    Resources(i32),
    /// The loop has been destroyed (wakeups only).
    Closed,
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::NoMemory => f.write_str("out of memory in the bridge"),
            BackendError::InvalidArg => f.write_str("invalid argument"),
            BackendError::Unavailable => f.write_str("backend unavailable"),
            BackendError::LoopInit(e) => write!(f, "event loop creation failed (errno {e})"),
            BackendError::BadFd => f.write_str("bad file descriptor"),
            BackendError::Run => f.write_str("event loop run failed"),
            BackendError::Wakeup => f.write_str("wakeup failed"),
            BackendError::Resources(e) => write!(f, "system resources exhausted (errno {e})"),
            BackendError::Closed => f.write_str("loop closed"),
        }
    }
}

/// The errno the bridge saved for its last failed call on this thread: read
/// from errno itself after the call, it could be the clean-up's instead.
fn errno() -> i32 {
    // SAFETY: reads a thread-local integer of the bridge; no arguments.
    unsafe { sys::jzx_xev_last_errno() }
}

/// Turns a bridge status into a `Result`, with the bridge's saved errno for
/// the codes that carry one (the mio `syscall!` habit: one place checks
/// return codes).
fn check(rc: i32) -> Result<(), BackendError> {
    match rc {
        0 => Ok(()),
        sys::jzx_xev_status_JZX_XEV_ERR_NO_MEMORY => Err(BackendError::NoMemory),
        sys::jzx_xev_status_JZX_XEV_ERR_INVALID_ARG => Err(BackendError::InvalidArg),
        sys::jzx_xev_status_JZX_XEV_ERR_BACKEND_UNAVAILABLE => Err(BackendError::Unavailable),
        sys::jzx_xev_status_JZX_XEV_ERR_LOOP_INIT => Err(BackendError::LoopInit(errno())),
        sys::jzx_xev_status_JZX_XEV_ERR_BAD_FD => Err(BackendError::BadFd),
        sys::jzx_xev_status_JZX_XEV_ERR_RUN => Err(BackendError::Run),
        sys::jzx_xev_status_JZX_XEV_ERR_WAKEUP => Err(BackendError::Wakeup),
        _ => Err(BackendError::Resources(errno())),
    }
}

/// How long one [`Reactor::run`] may block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timeout {
    /// Poll without blocking.
    NoWait,
    /// Block until something happens.
    Forever,
    /// Block at most this many milliseconds.
    #[cfg_attr(not(test), allow(dead_code))]
    Ms(u64),
}

/// What a run saw besides readiness.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RunFlags {
    /// The one re-armable timer expired.
    pub timer: bool,
    /// A [`Waker`] woke the loop.
    pub wakeup: bool,
}

/// One readiness report: the token given to [`Reactor::watch`], the fd and
/// what it is ready for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ReadyEvent {
    pub token: u64,
    pub fd: RawFd,
    pub readiness: Readiness,
}

/// A watch registered with the bridge; consumed by [`Reactor::unwatch`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct WatchId(NonNull<sys::jzx_xev_watcher>);

struct SharedLoop(*mut sys::jzx_xev_loop);
// SAFETY: the pointer is only dereferenced by `jzx_xev_wakeup`, which the
// bridge documents as thread-safe, and only while the RwLock says it is alive.
unsafe impl Send for SharedLoop {}
// SAFETY: as above; readers only call the thread-safe wakeup.
unsafe impl Sync for SharedLoop {}

/// Wakes a blocked [`Reactor::run`] from any thread.
#[derive(Clone)]
pub(crate) struct Waker(Arc<RwLock<SharedLoop>>);

impl fmt::Debug for Waker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Waker")
    }
}

impl Waker {
    /// Ends the loop's current or next blocking run. `Closed` once the loop
    /// is gone.
    pub(crate) fn wake(&self) -> Result<(), BackendError> {
        let guard = self.0.read().unwrap_or_else(|p| p.into_inner());
        if guard.0.is_null() {
            return Err(BackendError::Closed);
        }
        // SAFETY: the loop is alive while the pointer is non-null under the
        // read lock (Reactor::drop nulls it under the write lock first), and
        // jzx_xev_wakeup is safe from any thread.
        check(unsafe { sys::jzx_xev_wakeup(guard.0) })
    }
}

/// One bridge loop. Not `Send`: libxev loops are single-threaded.
pub(crate) struct Reactor {
    raw: NonNull<sys::jzx_xev_loop>,
    shared: Arc<RwLock<SharedLoop>>,
    kind: BackendKind,
    _not_send: PhantomData<*mut ()>,
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("backend", &self.kind)
            .finish()
    }
}

impl Reactor {
    /// Creates a loop on `kind` (`Auto` honours `JZX_BACKEND`).
    pub(crate) fn new(kind: BackendKind) -> Result<Reactor, BackendError> {
        let requested = match kind {
            BackendKind::Auto => sys::jzx_xev_backend::JZX_XEV_BACKEND_AUTO,
            BackendKind::IoUring => sys::jzx_xev_backend::JZX_XEV_BACKEND_IO_URING,
            BackendKind::Epoll => sys::jzx_xev_backend::JZX_XEV_BACKEND_EPOLL,
            BackendKind::Kqueue => sys::jzx_xev_backend::JZX_XEV_BACKEND_KQUEUE,
        };
        let mut raw = std::ptr::null_mut();
        // SAFETY: `raw` is a valid out-pointer for the duration of the call.
        check(unsafe { sys::jzx_xev_loop_create(requested, &mut raw) })?;
        let raw = NonNull::new(raw).ok_or(BackendError::NoMemory)?;
        // SAFETY: `raw` was just created and is alive.
        let kind = match unsafe { sys::jzx_xev_loop_backend(raw.as_ptr()) } {
            sys::jzx_xev_backend::JZX_XEV_BACKEND_IO_URING => BackendKind::IoUring,
            sys::jzx_xev_backend::JZX_XEV_BACKEND_EPOLL => BackendKind::Epoll,
            sys::jzx_xev_backend::JZX_XEV_BACKEND_KQUEUE => BackendKind::Kqueue,
            sys::jzx_xev_backend::JZX_XEV_BACKEND_AUTO => BackendKind::Auto,
        };
        Ok(Reactor {
            raw,
            shared: Arc::new(RwLock::new(SharedLoop(raw.as_ptr()))),
            kind,
            _not_send: PhantomData,
        })
    }

    /// The backend this loop runs on (never `Auto`).
    pub(crate) fn backend(&self) -> BackendKind {
        self.kind
    }

    /// A handle that wakes this loop from any thread.
    pub(crate) fn waker(&self) -> Waker {
        Waker(Arc::clone(&self.shared))
    }

    /// Runs one tick; readiness found is then available from [`Self::events`].
    pub(crate) fn run(&mut self, timeout: Timeout) -> Result<RunFlags, BackendError> {
        let ms: i64 = match timeout {
            Timeout::NoWait => 0,
            Timeout::Forever => -1,
            Timeout::Ms(ms) => i64::try_from(ms.max(1)).unwrap_or(i64::MAX),
        };
        let mut flags = 0u32;
        // SAFETY: the loop is alive (owned by self) and `flags` is a valid
        // out-pointer; the bridge calls no Rust code during the run.
        check(unsafe { sys::jzx_xev_run(self.raw.as_ptr(), ms, &mut flags) })?;
        Ok(RunFlags {
            timer: flags & sys::JZX_XEV_RAN_TIMER != 0,
            wakeup: flags & sys::JZX_XEV_RAN_WAKEUP != 0,
        })
    }

    /// The readiness recorded by the last run (unwatched ones left out).
    pub(crate) fn events(&self) -> impl Iterator<Item = ReadyEvent> + '_ {
        let mut len = 0usize;
        // SAFETY: the loop is alive; the bridge returns its event buffer and
        // its length, valid until the next run or unwatch, which need
        // `&mut self` and so cannot happen while this borrow lives.
        let ptr = unsafe { sys::jzx_xev_events(self.raw.as_ptr(), &mut len) };
        let events: &[sys::jzx_xev_event] = if ptr.is_null() || len == 0 {
            &[]
        } else {
            // SAFETY: `ptr` points at `len` initialised events owned by the
            // loop (see above).
            unsafe { std::slice::from_raw_parts(ptr, len) }
        };
        events.iter().filter(|e| e.ready != 0).map(|e| ReadyEvent {
            token: e.token,
            fd: e.fd,
            readiness: Readiness::from_bits(e.ready),
        })
    }

    /// Arms the one timer to expire `ms` milliseconds from now.
    pub(crate) fn timer_set(&mut self, ms: u64) {
        // SAFETY: the loop is alive; the call cannot fail with a live loop.
        let rc = unsafe { sys::jzx_xev_timer_set(self.raw.as_ptr(), ms) };
        debug_assert_eq!(rc, 0);
    }

    /// Disarms the timer.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn timer_clear(&mut self) {
        // SAFETY: the loop is alive.
        unsafe { sys::jzx_xev_timer_clear(self.raw.as_ptr()) }
    }

    /// Watches `fd` for `interest`; readiness carries `token`.
    pub(crate) fn watch(
        &mut self,
        fd: RawFd,
        interest: Interest,
        token: u64,
    ) -> Result<WatchId, BackendError> {
        if fd < 0 {
            return Err(BackendError::InvalidArg);
        }
        let mut out = std::ptr::null_mut();
        // SAFETY: the loop is alive and `out` is a valid out-pointer; the
        // bridge only registers the fd number in its set (a closed fd drops
        // out of it), it keeps nothing of the caller's.
        check(unsafe {
            sys::jzx_xev_watch(self.raw.as_ptr(), fd, interest.bits(), token, &mut out)
        })?;
        NonNull::new(out).map(WatchId).ok_or(BackendError::NoMemory)
    }

    /// Changes a watch's interest and token in place (no new fd). When the
    /// watched fd was closed and its number reused, the watch follows the
    /// new file. On error the watch is unchanged.
    pub(crate) fn rewatch(
        &mut self,
        watch: &WatchId,
        interest: Interest,
        token: u64,
    ) -> Result<(), BackendError> {
        // SAFETY: the loop is alive and `watch` is a live watch of it (ids
        // are consumed by unwatch, so a borrowed one is still registered).
        check(unsafe {
            sys::jzx_xev_rewatch(self.raw.as_ptr(), watch.0.as_ptr(), interest.bits(), token)
        })
    }

    /// Stops a watch; no readiness for it is reported after this returns.
    pub(crate) fn unwatch(&mut self, watch: WatchId) {
        // SAFETY: `watch` came from this loop's `watch` and is consumed here,
        // so it is passed exactly once.
        unsafe { sys::jzx_xev_unwatch(self.raw.as_ptr(), watch.0.as_ptr()) }
    }

    /// Watches the bridge holds; for leak tests.
    pub(crate) fn live_watches(&self) -> usize {
        // SAFETY: the loop is alive.
        unsafe { sys::jzx_xev_live_watches(self.raw.as_ptr()) }
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        let mut guard = self.shared.write().unwrap_or_else(|p| p.into_inner());
        guard.0 = std::ptr::null_mut();
        // SAFETY: no waker can reach the loop any more (pointer cleared under
        // the write lock) and this is its owner's last use.
        unsafe { sys::jzx_xev_loop_destroy(self.raw.as_ptr()) }
    }
}

#[cfg(test)]
mod tests;
