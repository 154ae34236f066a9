//! Typed addresses: an [`ActorId`] that knows its actor's message type.

use crate::ActorId;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::sync::Mutex;

/// The address of an actor whose messages are `M` (R10).
///
/// Sends through an `Addr<M>` are checked at compile time: only an `M` can be
/// sent. An address is 8 bytes and `Copy`. Its id says which loop the actor
/// lives on: on that loop a send is local, from another loop of the same
/// [`Runtime`](crate::Runtime) it crosses threads, with the same call. So an
/// address is `Send` and `Sync` exactly when `M` is `Send`: an address
/// whose messages cannot leave their thread cannot leave it either. From a
/// thread that runs no loop, send through a
/// [`LoopHandle`](crate::LoopHandle).
///
/// # Examples
///
/// ```
/// use jzx::{Actor, Context, Flow, Loop};
///
/// struct Greeter;
/// impl Actor for Greeter {
///     type Msg = String;
///     fn handle(&mut self, _cx: &mut Context<'_, Self>, msg: String) -> Flow {
///         assert_eq!(msg, "hi");
///         Flow::Stop
///     }
/// }
///
/// let mut lp = Loop::new()?;
/// let addr = lp.spawn(Greeter)?;
/// lp.send(addr, "hi".to_string())?;
/// lp.run()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Addr<M> {
    id: ActorId,
    /// The message type. A `Mutex<M>` is `Send` and `Sync` exactly when `M`
    /// is `Send`, which is what an address must be: moving or sharing it
    /// lets another thread send an `M`. (An address holds no `M`.)
    _msg: PhantomData<Mutex<M>>,
}

impl<M> Addr<M> {
    pub(crate) fn new(id: ActorId) -> Self {
        Addr {
            id,
            _msg: PhantomData,
        }
    }

    /// The actor's id.
    pub fn id(self) -> ActorId {
        self.id
    }
}

impl<M> Clone for Addr<M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M> Copy for Addr<M> {}

impl<M> PartialEq for Addr<M> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl<M> Eq for Addr<M> {}

impl<M> Hash for Addr<M> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state)
    }
}

impl<M> fmt::Debug for Addr<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Addr({})", self.id)
    }
}

impl<M> From<Addr<M>> for ActorId {
    fn from(a: Addr<M>) -> ActorId {
        a.id
    }
}
