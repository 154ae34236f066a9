//! Process groups by name (R35): the members of each group, in the order
//! they joined. Each member also lists its groups in its slot's extras, so
//! that its end removes it from them (`names.rs` has the API).

use crate::ActorId;
use std::collections::HashMap;

/// The groups of a loop.
#[derive(Default)]
pub(crate) struct Groups {
    members: HashMap<Box<str>, Vec<ActorId>>,
}

impl Groups {
    /// Adds `id` to `group`; false when it is a member already.
    pub(crate) fn join(&mut self, group: &str, id: ActorId) -> bool {
        let members = self.members.entry(group.into()).or_default();
        if members.contains(&id) {
            return false;
        }
        members.push(id);
        true
    }

    /// Removes `id` from `group`; false when it was not a member. An
    /// emptied group is forgotten.
    pub(crate) fn leave(&mut self, group: &str, id: ActorId) -> bool {
        let Some(members) = self.members.get_mut(group) else {
            return false;
        };
        let before = members.len();
        members.retain(|&m| m != id);
        let left = members.len() != before;
        if members.is_empty() {
            self.members.remove(group);
        }
        left
    }

    /// The members of `group`, in the order they joined.
    pub(crate) fn members(&self, group: &str) -> &[ActorId] {
        self.members.get(group).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_join_once_leave_and_empty_groups_go() {
        let (a, b) = (ActorId::new(1, 1), ActorId::new(2, 1));
        let mut g = Groups::default();
        assert!(g.join("x", a));
        assert!(!g.join("x", a));
        assert!(g.join("x", b));
        assert_eq!(g.members("x"), [a, b]);
        assert!(g.leave("x", a));
        assert!(!g.leave("x", a));
        assert!(g.leave("x", b));
        assert!(g.members.is_empty());
        assert_eq!(g.members("nope"), []);
    }
}
