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
        let taken = self.names.contains_key(name);
        let slot = self.slot_mut(id).ok_or(Error::NoSuchActor)?;
        if slot.has_name || taken {
            return Err(Error::InvalidArg);
        }
        slot.has_name = true;
        self.names.insert(name.into(), id);
        self.names_of.insert(id.slot(), name.into());
        Ok(())
    }

    /// Removes a name.
    ///
    /// # Errors
    ///
    /// `InvalidArg` when the name is not registered.
    pub fn unregister_name(&mut self, name: &str) -> Result<(), Error> {
        let id = self.names.remove(name).ok_or(Error::InvalidArg)?;
        self.names_of.remove(&id.slot());
        if let Some(s) = self.slot_mut(id) {
            s.has_name = false;
        }
        Ok(())
    }

    /// The actor registered under `name`.
    pub fn lookup(&self, name: &str) -> Option<ActorId> {
        self.names.get(name).copied()
    }

    /// The name of a live actor.
    pub fn name_of(&self, id: ActorId) -> Option<&str> {
        self.slot(id)?;
        self.names_of.get(&id.slot()).map(|n| &**n)
    }
}
