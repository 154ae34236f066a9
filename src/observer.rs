//! Observer hooks: what the runtime reports about actors' lives (R18).

use crate::{ActorId, StopReason};

/// Receives the runtime's lifecycle reports. Every method has an empty
/// default, so an observer implements only what it needs. Hooks run on the
/// loop's thread, synchronously, at the moment the event happens (a refused
/// send reports `on_mailbox_full` before `send` returns).
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
}
