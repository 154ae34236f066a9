//! The observer, the registry of unique names (R18) and process groups
//! (R35).

use crate::observer::Observer;
use crate::{ActorId, Addr, Error};
use std::any::TypeId;

use super::Core;

impl Core {
    // ------------------------------------------------------------ observer

    /// Installs the observer (replacing any earlier one).
    pub fn set_observer(&mut self, observer: impl Observer + 'static) {
        self.observer.put(Some(Box::new(observer)));
    }

    /// Removes the observer.
    pub fn clear_observer(&mut self) {
        self.observer.put(None);
    }

    // --------------------------------------------------------------- names

    /// Registers a unique name for a live actor of this loop; it is removed
    /// when the actor dies (R18). On a loop of a [`Runtime`](crate::Runtime)
    /// the name is unique in the whole runtime and [`Core::lookup`] finds it
    /// from every loop (R28).
    ///
    /// # Errors
    ///
    /// `NoSuchActor` for a dead actor (or one of another loop); `InvalidArg`
    /// when the name is taken or the actor already has a name.
    pub fn register_name(&mut self, name: &str, id: ActorId) -> Result<(), Error> {
        if !self.is_alive(id) {
            return Err(Error::NoSuchActor);
        }
        if self.actors.name_taken(name) || self.actors.name_of(id).is_some() {
            return Err(Error::InvalidArg);
        }
        if let Some(names) = self.runtime_names() {
            let mut names = names.lock();
            if names.contains_key(name) {
                return Err(Error::InvalidArg);
            }
            names.insert(name.into(), id);
        }
        self.actors.set_name(id, name);
        Ok(())
    }

    /// Removes a name (in a runtime, also one registered on another loop,
    /// which that loop forgets at its next turn).
    ///
    /// # Errors
    ///
    /// `InvalidArg` when the name is not registered.
    pub fn unregister_name(&mut self, name: &str) -> Result<(), Error> {
        let here = self.actors.clear_name(name);
        let elsewhere = self.runtime_names().and_then(|n| n.lock().remove(name));
        match (here, elsewhere) {
            (Some(_), _) => Ok(()),
            (None, Some(id)) => {
                let name: Box<str> = name.into();
                self.post_to_loop(id.route(), move |core| {
                    if core.actors.lookup(&name) == Some(id) {
                        core.actors.clear_name(&name);
                    }
                });
                Ok(())
            }
            (None, None) => Err(Error::InvalidArg),
        }
    }

    /// The actor registered under `name`: on this loop, or, in a runtime,
    /// on any of its loops (R28). Turn it into an address with
    /// [`Core::addr_of`] (this loop's actors) or [`Core::remote_addr`].
    pub fn lookup(&self, name: &str) -> Option<ActorId> {
        self.actors
            .lookup(name)
            .or_else(|| self.runtime_names()?.lock().get(name).copied())
    }

    /// An address for `id`, an actor on another loop of the runtime whose
    /// messages are `M` (an id from [`Core::lookup`], or from a message).
    /// This loop cannot check `M`: a message of another type is dropped
    /// when it arrives there. `None` for an id of this loop (use
    /// [`Core::addr_of`], which checks) or of no loop of the runtime.
    pub fn remote_addr<M: Send + 'static>(&self, id: ActorId) -> Option<Addr<M>> {
        let index = id.route();
        let known = self
            .peers
            .as_deref()
            .is_some_and(|p| p.out.get(index).is_some_and(Option::is_some));
        known.then(|| Addr::new(id))
    }

    /// The actor `id` of this loop ended with `name`: the runtime forgets
    /// the name too.
    pub(super) fn forget_name(&mut self, name: &str, id: ActorId) {
        if let Some(names) = self.runtime_names() {
            let mut names = names.lock();
            if names.get(name) == Some(&id) {
                names.remove(name);
            }
        }
    }

    /// The name of a live actor.
    pub fn name_of(&self, id: ActorId) -> Option<&str> {
        self.actors.name_of(id)
    }

    // -------------------------------------------------------------- groups

    /// Adds the live actor `member` to `group` (made on first use); a
    /// [`Core::broadcast`] of messages of type `M` reaches it. Joining a
    /// group twice is one membership. A member leaves by itself when it
    /// ends. In a [`Runtime`](crate::Runtime), groups are the runtime's:
    /// members of every loop, seen and reached from every loop.
    ///
    /// # Errors
    ///
    /// `NoSuchActor` when `member` is not alive.
    pub fn join_group<M: 'static>(&mut self, group: &str, member: Addr<M>) -> Result<(), Error> {
        let id = member.id();
        if !self.is_alive(id) {
            return Err(Error::NoSuchActor);
        }
        if self.groups.lock().join(group, id, TypeId::of::<M>()) {
            self.actors.extras_mut(id.slot()).groups.push(group.into());
        }
        Ok(())
    }

    /// Removes `id` (of any loop of the runtime) from `group`; false when it
    /// was not a member.
    pub fn leave_group(&mut self, group: &str, id: ActorId) -> bool {
        if let Some(e) = self.actors.get_mut(id).and_then(|s| s.extras.as_mut()) {
            e.groups.retain(|g| &**g != group);
        }
        self.groups.lock().leave(group, id)
    }

    /// The live members of `group`, in the order they joined (empty for a
    /// group nobody joined).
    pub fn group_members(&self, group: &str) -> Vec<ActorId> {
        self.groups
            .lock()
            .members(group)
            .iter()
            .map(|m| m.0)
            .collect()
    }

    /// Sends a clone of `msg` to every member of `group` whose messages are
    /// `M`, in the order they joined, as [`Core::send`] would (to members
    /// of other loops too: so `M` is `Send`).
    ///
    /// # Examples
    ///
    /// ```
    /// use jzx::{Actor, Context, Flow, Loop};
    ///
    /// struct Listener;
    /// impl Actor for Listener {
    ///     type Msg = &'static str;
    ///     fn handle(&mut self, _cx: &mut Context<'_, Self>, _: &'static str) -> Flow {
    ///         Flow::Stop
    ///     }
    /// }
    ///
    /// let mut lp = Loop::new()?;
    /// for _ in 0..3 {
    ///     let l = lp.spawn(Listener)?;
    ///     lp.join_group("listeners", l)?;
    /// }
    /// let sent = lp.broadcast("listeners", "news");
    /// assert_eq!((sent.delivered, sent.refused, sent.skipped), (3, 0, 0));
    /// lp.run()?; // each stops on the news, and leaves the group
    /// assert!(lp.group_members("listeners").is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn broadcast<M: Clone + Send + 'static>(&mut self, group: &str, msg: M) -> Broadcast {
        let mut sent = Broadcast::default();
        let members = self.groups.lock().members(group).to_vec();
        for (id, msg_type) in members {
            if msg_type != TypeId::of::<M>() {
                sent.skipped += 1;
                continue;
            }
            match self.send(Addr::new(id), msg.clone()) {
                Ok(()) => sent.delivered += 1,
                Err(_) => sent.refused += 1,
            }
        }
        sent
    }

    /// `id` ended: it leaves its groups.
    pub(super) fn leave_groups(&mut self, id: ActorId, groups: Vec<Box<str>>) {
        let mut shared = self.groups.lock();
        for group in groups {
            shared.leave(&group, id);
        }
    }
}

/// What [`Core::broadcast`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Broadcast {
    /// Members that got the message.
    pub delivered: usize,
    /// Members whose mailbox was full (the observer is told, as for a
    /// refused send), or that ended meanwhile (a member's `on_stop`
    /// broadcasting to its group).
    pub refused: usize,
    /// Members whose messages are of another type.
    pub skipped: usize,
}
