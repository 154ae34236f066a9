//! Process groups by name (R35): the members of each group, in the order
//! they joined, with their message types. Each member also lists its groups in its slot's extras, so
//! that its end removes it from them (`names.rs` has the API).

use crate::ActorId;
use std::any::TypeId;
use std::collections::HashMap;

/// The groups of a loop, or of all the loops of a runtime.
#[derive(Default)]
pub(crate) struct Groups {
    members: HashMap<Box<str>, Vec<(ActorId, TypeId)>>,
}

/// Groups shared by the loops of a runtime (one lock: group operations
/// are rare next to sends); a lone loop has its own.
#[derive(Default, Clone)]
pub(crate) struct SharedGroups(std::sync::Arc<std::sync::Mutex<Groups>>);

impl SharedGroups {
    /// The groups, locked.
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Groups> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Groups {
    /// Adds `id`, whose messages are of type `msg_type`, to `group`; false
    /// when it is a member already.
    pub(crate) fn join(&mut self, group: &str, id: ActorId, msg_type: TypeId) -> bool {
        let members = self.members.entry(group.into()).or_default();
        if members.iter().any(|m| m.0 == id) {
            return false;
        }
        members.push((id, msg_type));
        true
    }

    /// Removes `id` from `group`; false when it was not a member. An
    /// emptied group is forgotten.
    pub(crate) fn leave(&mut self, group: &str, id: ActorId) -> bool {
        let Some(members) = self.members.get_mut(group) else {
            return false;
        };
        let before = members.len();
        members.retain(|m| m.0 != id);
        let left = members.len() != before;
        if members.is_empty() {
            self.members.remove(group);
        }
        left
    }

    /// The members of `group` with their message types, in the order they
    /// joined.
    pub(crate) fn members(&self, group: &str) -> &[(ActorId, TypeId)] {
        self.members.get(group).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_join_once_leave_and_empty_groups_go() {
        let (a, b) = (ActorId::new(0, 1, 1), ActorId::new(0, 2, 1));
        let t = TypeId::of::<u8>();
        let mut g = Groups::default();
        assert!(g.join("x", a, t));
        assert!(!g.join("x", a, t));
        assert!(g.join("x", b, t));
        assert_eq!(g.members("x"), [(a, t), (b, t)]);
        assert!(g.leave("x", a));
        assert!(!g.leave("x", a));
        assert!(g.leave("x", b));
        assert!(g.members.is_empty());
        assert_eq!(g.members("nope"), []);
    }
}
