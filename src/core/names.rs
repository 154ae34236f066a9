//! The observer and the registry of unique names (R18).

use crate::observer::Observer;
use crate::{ActorId, Error};

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
}
