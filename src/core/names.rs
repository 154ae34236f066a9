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

    /// Registers a unique name for a live actor; it is removed when the
    /// actor dies (R18).
    ///
    /// # Errors
    ///
    /// `NoSuchActor` for a dead actor; `InvalidArg` when the name is taken or
    /// the actor already has a name.
    pub fn register_name(&mut self, name: &str, id: ActorId) -> Result<(), Error> {
        if !self.is_alive(id) {
            return Err(Error::NoSuchActor);
        }
        if self.actors.name_taken(name) || self.actors.name_of(id).is_some() {
            return Err(Error::InvalidArg);
        }
        self.actors.set_name(id, name);
        Ok(())
    }

    /// Removes a name.
    ///
    /// # Errors
    ///
    /// `InvalidArg` when the name is not registered.
    pub fn unregister_name(&mut self, name: &str) -> Result<(), Error> {
        self.actors
            .clear_name(name)
            .map(drop)
            .ok_or(Error::InvalidArg)
    }

    /// The actor registered under `name`.
    pub fn lookup(&self, name: &str) -> Option<ActorId> {
        self.actors.lookup(name)
    }

    /// The name of a live actor.
    pub fn name_of(&self, id: ActorId) -> Option<&str> {
        self.actors.name_of(id)
    }

    // -------------------------------------------------------------- groups

    /// Adds the live actor `member` to `group` (made on first use); a
    /// [`Core::broadcast`] of messages of type `M` reaches it. Joining a
    /// group twice is one membership. A member leaves by itself when it
    /// ends.
    ///
    /// # Errors
    ///
    /// `NoSuchActor` when `member` is not alive.
    pub fn join_group<M: 'static>(&mut self, group: &str, member: Addr<M>) -> Result<(), Error> {
        let id = member.id();
        if !self.is_alive(id) {
            return Err(Error::NoSuchActor);
        }
        if self.groups.join(group, id, TypeId::of::<M>()) {
            self.actors.extras_mut(id.slot()).groups.push(group.into());
        }
        Ok(())
    }

    /// Removes `id` from `group`; false when it was not a member.
    pub fn leave_group(&mut self, group: &str, id: ActorId) -> bool {
        if let Some(e) = self.actors.get_mut(id).and_then(|s| s.extras.as_mut()) {
            e.groups.retain(|g| &**g != group);
        }
        self.groups.leave(group, id)
    }

    /// The live members of `group`, in the order they joined (empty for a
    /// group nobody joined).
    pub fn group_members(&self, group: &str) -> Vec<ActorId> {
        self.groups.members(group).iter().map(|m| m.0).collect()
    }

    /// Sends a clone of `msg` to every member of `group` whose messages are
    /// `M`, in the order they joined, as [`Core::send`] would.
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
    pub fn broadcast<M: Clone + 'static>(&mut self, group: &str, msg: M) -> Broadcast {
        let mut sent = Broadcast::default();
        for (id, msg_type) in self.groups.members(group).to_vec() {
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
        for group in groups {
            self.groups.leave(&group, id);
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
