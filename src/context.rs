//! [`Context`]: what a behavior can do while it runs.

use crate::core::Core;
use crate::{Actor, ActorId, Addr, Error, Interest};
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::os::fd::RawFd;

/// The running actor's view of its loop.
///
/// A `Context` dereferences to [`Core`], so inside a behavior the whole API
/// of the loop is at hand — spawn, send, stop or fail (itself included),
/// watch/unwatch, timers, names — and such calls take effect in order (R1).
/// It adds what concerns the running actor itself: its id and address,
/// `stop`/`fail` of itself, and fd watches it owns.
///
/// # Examples
///
/// ```
/// use jzx::{Actor, Context, Flow, Loop};
///
/// struct Echo;
/// impl Actor for Echo {
///     type Msg = (u32, jzx::Addr<u32>);
///     fn handle(&mut self, cx: &mut Context<'_, Self>, (n, reply): Self::Msg) -> Flow {
///         let _ = cx.send(reply, n + 1);
///         cx.stop();
///         Flow::Continue
///     }
/// }
///
/// struct Sink;
/// impl Actor for Sink {
///     type Msg = u32;
///     fn handle(&mut self, _cx: &mut Context<'_, Self>, n: u32) -> Flow {
///         assert_eq!(n, 42);
///         Flow::Stop
///     }
/// }
///
/// let mut lp = Loop::new()?;
/// let echo = lp.spawn(Echo)?;
/// let sink = lp.spawn(Sink)?;
/// lp.send(echo, (41, sink))?;
/// lp.run()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Context<'a, A: Actor> {
    core: &'a mut Core,
    id: ActorId,
    _actor: PhantomData<fn(A)>,
}

impl<'a, A: Actor> Context<'a, A> {
    pub(crate) fn new(core: &'a mut Core, id: ActorId) -> Self {
        Context {
            core,
            id,
            _actor: PhantomData,
        }
    }

    pub(crate) fn core_mut(&mut self) -> &mut Core {
        self.core
    }

    /// The running actor's id.
    pub fn id(&self) -> ActorId {
        self.id
    }

    /// The running actor's own address.
    pub fn addr(&self) -> Addr<A::Msg> {
        Addr::new(self.id)
    }

    /// Stops the running actor normally once this behavior returns; no
    /// further message of its mailbox is handled (R12).
    pub fn stop(&mut self) {
        let _ = self.core.stop_actor(self.id);
    }

    /// Fails the running actor once this behavior returns (R12).
    pub fn fail(&mut self) {
        let _ = self.core.fail_actor(self.id);
    }

    /// Watches `fd` for the running actor: readiness arrives in
    /// [`Actor::on_io`]. Watching an fd that is already watched replaces its
    /// interest and owner (R16).
    ///
    /// # Errors
    ///
    /// `InvalidArg` for fd < 0; `IoRegFailed` when the fd is not open,
    /// cannot be polled (on Linux a regular file, or a device without
    /// readiness such as `/dev/null`: see [`Core::watch_fd`]) or
    /// `max_io_watchers` is reached.
    pub fn watch(&mut self, fd: RawFd, interest: Interest) -> Result<(), Error> {
        self.core.watch_fd(fd, self.id, interest)
    }
}

impl<A: Actor> Deref for Context<'_, A> {
    type Target = Core;
    fn deref(&self) -> &Core {
        self.core
    }
}

impl<A: Actor> DerefMut for Context<'_, A> {
    fn deref_mut(&mut self) -> &mut Core {
        self.core
    }
}

impl<A: Actor> fmt::Debug for Context<'_, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}
