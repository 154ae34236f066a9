//! Spawning: [`SpawnOptions`] and [`Core::spawn`], which give an actor a
//! slot in the actor table (R7).

use super::Core;
use crate::actor::{ActorBox, Context};
use crate::observer::drop_quietly;
use crate::trace::trace_actor_start;
use crate::{Actor, ActorId, Addr, Error, StopReason};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// How an actor is spawned: mailbox capacity, name and parent.
///
/// # Examples
///
/// ```
/// use jzx::SpawnOptions;
/// let opts = SpawnOptions::new().mailbox_cap(8).name("worker");
/// assert_eq!(opts.get_mailbox_cap(), 8);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpawnOptions {
    pub(crate) mailbox_cap: u32,
    pub(crate) name: Option<String>,
    pub(crate) parent: Option<ActorId>,
}

impl SpawnOptions {
    /// Defaults: the loop's default mailbox capacity, no name, no parent.
    pub fn new() -> Self {
        Self::default()
    }
    /// Mailbox capacity (0 means the loop's default).
    pub fn mailbox_cap(mut self, cap: u32) -> Self {
        self.mailbox_cap = cap;
        self
    }
    /// A unique name, registered for [`Core::lookup`] until the actor dies.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// The actor told with a [`ChildExit`](crate::ChildExit) when this one ends.
    pub fn parent(mut self, parent: ActorId) -> Self {
        self.parent = Some(parent);
        self
    }
    /// The mailbox capacity asked for (0: the loop's default).
    pub fn get_mailbox_cap(&self) -> u32 {
        self.mailbox_cap
    }
}

impl Core {
    /// Spawns `actor` with default options. It runs once it has messages (R7).
    ///
    /// # Errors
    ///
    /// `MaxActors` when `max_actors` actors are alive; `LoopClosed` from an
    /// [`Actor::on_stop`] hook while the loop is being dropped.
    pub fn spawn<A: Actor>(&mut self, actor: A) -> Result<Addr<A::Msg>, Error> {
        self.spawn_with(actor, SpawnOptions::default())
    }

    /// Spawns `actor` with a mailbox capacity, a name and a parent.
    ///
    /// # Errors
    ///
    /// `MaxActors` when the table is full; `InvalidArg` when the name is
    /// taken; `NoSuchActor` when the parent is not alive; `LoopClosed` while
    /// the loop is being dropped.
    pub fn spawn_with<A: Actor>(
        &mut self,
        actor: A,
        opts: SpawnOptions,
    ) -> Result<Addr<A::Msg>, Error> {
        let id = match self.place(opts) {
            Ok(id) => id,
            Err(error) => {
                // Its destructor must not unwind through the caller.
                drop_quietly(actor);
                return Err(error);
            }
        };
        self.start(id, actor);
        Ok(Addr::new(id))
    }

    /// Runs the new actor `id`'s `on_start` and puts it in its slot.
    pub(super) fn start<A: Actor>(&mut self, id: ActorId, actor: A) {
        // `on_start` on the typed actor, before it is boxed into its slot:
        // the default hook costs nothing.
        let mut actor = actor;
        let started = self.as_current(id, |core| {
            catch_unwind(AssertUnwindSafe(|| {
                actor.on_start(&mut Context::new(core, id));
            }))
            .is_ok()
        });
        self.actors.at_mut(id.slot()).actor = Some(Box::new(ActorBox(actor)));
        if !started {
            self.terminate_with(id, StopReason::Panic);
        }
    }

    /// Gives a new actor a slot (its actor put there by the caller, after
    /// its `on_start`), and tells the observer.
    fn place(&mut self, opts: SpawnOptions) -> Result<ActorId, Error> {
        if self.closing {
            return Err(Error::LoopClosed);
        }
        if let Some(parent) = opts.parent {
            // A parent on another loop is told there (it cannot be checked
            // from here).
            if !self.is_alive(parent) && !self.is_remote(parent) {
                return Err(Error::NoSuchActor);
            }
        }
        if let Some(name) = &opts.name {
            if self.actors.name_taken(name) {
                return Err(Error::InvalidArg);
            }
        }
        let cap = self.mailbox_cap(&opts);
        let name = opts.name.map(String::into_boxed_str);
        // In a runtime, a name is unique in all its loops (R28): checked
        // and taken under the runtime's lock, taken only for a named spawn
        // (other loops spawn at the same time).
        let names = name.as_ref().and_then(|_| self.runtime_names_arc());
        let mut names = names.as_deref().map(|n| n.lock());
        if let (Some(names), Some(name)) = (&names, &name) {
            if names.contains_key(name) {
                return Err(Error::InvalidArg);
            }
        }
        let id = self
            .actors
            .insert(None, cap, opts.parent, name.clone(), self.config.max_actors)
            .ok_or(Error::MaxActors)?;
        if let (Some(names), Some(name)) = (&mut names, name) {
            names.insert(name, id);
        }
        drop(names);
        self.started(id);
        Ok(id)
    }

    /// The mailbox capacity `opts` asks for.
    pub(super) fn mailbox_cap(&self, opts: &SpawnOptions) -> u32 {
        match opts.mailbox_cap {
            0 => self.config.default_mailbox_cap,
            n => n,
        }
    }

    /// Tells the observer (and the trace) that `id` starts.
    pub(super) fn started(&mut self, id: ActorId) {
        let name = self.actors.name_of(id);
        self.observer.notify(|o| o.on_actor_start(id, name));
        trace_actor_start!(id, name);
    }
}
