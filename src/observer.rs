//! Observer hooks: what the runtime reports about actors' lives (R18).

use crate::{ActorId, StopReason};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Receives the runtime's lifecycle reports. Every method has an empty
/// default, so an observer implements only what it needs. Hooks run on the
/// loop's thread, synchronously, at the moment the event happens (a refused
/// send reports `on_mailbox_full` before `send` returns).
///
/// A hook that panics does not take the loop down: the panic is caught
/// where the hook was called, the loop carries on from where it was, and
/// the observer is **removed** (dropped, its destructor's panic caught too)
/// so that an observer whose own state a panic may have left half-updated
/// is never called again. Install a new one with `set_observer`.
///
/// # Examples
///
/// ```
/// use jzx::{ActorId, Loop, Observer, StopReason};
///
/// struct Log;
/// impl Observer for Log {
///     fn on_actor_stop(&mut self, id: ActorId, reason: StopReason) {
///         println!("{id} stopped: {reason:?}");
///     }
/// }
///
/// let mut lp = Loop::new()?;
/// lp.set_observer(Log);
/// # Ok::<(), jzx::Error>(())
/// ```
pub trait Observer {
    /// An actor was spawned, with its name if it has one.
    fn on_actor_start(&mut self, id: ActorId, name: Option<&str>) {
        let _ = (id, name);
    }
    /// An actor was torn down.
    fn on_actor_stop(&mut self, id: ActorId, reason: StopReason) {
        let _ = (id, reason);
    }
    /// A supervisor restarted a child; `attempt` counts restarts of that
    /// child, from 1.
    fn on_actor_restart(&mut self, supervisor: ActorId, child: ActorId, attempt: u32) {
        let _ = (supervisor, child, attempt);
    }
    /// A supervisor exceeded its restart intensity and gave up.
    fn on_supervisor_escalate(&mut self, supervisor: ActorId) {
        let _ = supervisor;
    }
    /// A send to `target` was refused because its mailbox is full.
    fn on_mailbox_full(&mut self, target: ActorId) {
        let _ = target;
    }
    /// Dead letters (R34): `count` messages of type `type_name` for `target`
    /// were dropped because it ended: those still in its mailbox or waiting
    /// for room (once, at its teardown), its pending one-shot timers'
    /// messages (an interval's pattern is not counted), a request asked of
    /// it once it had ended, and
    /// a message from another thread that arrived after it ended (one call
    /// each). Messages handed back to their sender are not dead letters.
    fn on_dead_letters(&mut self, target: ActorId, type_name: &'static str, count: usize) {
        let _ = (target, type_name, count);
    }
}

/// The loop's observer slot. Every hook is called through
/// [`ObserverSlot::notify`], which keeps a hook's panic from unwinding
/// through the loop (see [`Observer`]).
#[derive(Default)]
pub(crate) struct ObserverSlot(Option<Box<dyn Observer>>);

impl ObserverSlot {
    /// Calls one hook, if an observer is installed. A panic in the hook is
    /// caught and removes the observer.
    #[inline]
    pub(crate) fn notify(&mut self, hook: impl FnOnce(&mut dyn Observer)) {
        let Some(observer) = self.0.as_deref_mut() else {
            return;
        };
        if catch_unwind(AssertUnwindSafe(|| hook(observer))).is_err() {
            self.put(None);
        }
    }

    /// Installs `observer` (or none); the one it replaces is dropped, its
    /// destructor's panic caught.
    pub(crate) fn put(&mut self, observer: Option<Box<dyn Observer>>) {
        drop_quietly(std::mem::replace(&mut self.0, observer));
    }
}

/// Drops a value of user code (an actor, a payload, an observer) so that
/// its destructor's panic never unwinds through the loop.
pub(crate) fn drop_quietly<T>(value: T) {
    let _ = catch_unwind(AssertUnwindSafe(move || drop(value)));
}

/// Drops every item of `items`, each under its own `catch_unwind`: a second
/// panicking destructor while a first one unwinds would abort the process.
pub(crate) fn drop_each_quietly<T>(items: impl IntoIterator<Item = T>) {
    for item in items {
        drop_quietly(item);
    }
}
