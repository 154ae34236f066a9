//! Monitors and links, with Erlang's semantics (R32, R33).
//!
//! A **monitor** is one-way: the watcher gets a [`Down`] when the target
//! ends (at once, with [`DownReason::NoSuchActor`], if it is already gone).
//! Monitors stack (each has its own [`MonitorRef`] and its own `Down`), and
//! [`Core::demonitor`] removes one so that no `Down` of it is delivered
//! afterwards, even one already queued. Both sides keep their half in their
//! slot's extras, and each side's end cleans the other's half.
//!
//! A **link** is two-way: when one of two linked actors ends abnormally
//! (fail or panic), the other ends too, with the same reason, at its next
//! turn — unless it traps exits ([`Core::trap_exits`]), in which case it
//! gets an [`Exit`] message instead, for normal exits too. A normal exit
//! ends no one. Exits travel along chains of links, one actor at a time.
//!
//! Supervision is not built on links: a child's end reaches its supervisor
//! as a [`ChildExit`](crate::ChildExit) whatever links it has. A child
//! ended by a link is an abnormal exit of that child, which its supervisor
//! restarts by the child's restart mode; links of a restarted child are not
//! restored (the new incarnation is a new actor).

use super::table::Extras;
use super::Core;
use crate::message::{Down, DownReason, Exit, MonitorRef, StopReason, SysEvent};
use crate::{ActorId, Error};

impl Core {
    // ------------------------------------------------------------- monitors

    /// `watcher` monitors `target`: when `target` ends, `watcher` gets a
    /// [`Down`] in its [`Actor::on_down`](crate::Actor::on_down); if
    /// `target` is not alive, the `Down` (with
    /// [`DownReason::NoSuchActor`]) is queued at once. A `target` on another
    /// loop of the runtime is monitored there, at that loop's next turn: its
    /// `Down` (also the one for a target found gone) comes back across.
    ///
    /// # Errors
    ///
    /// `NoSuchActor` when `watcher` is not alive.
    pub fn monitor(&mut self, watcher: ActorId, target: ActorId) -> Result<MonitorRef, Error> {
        if !self.is_alive(watcher) {
            return Err(Error::NoSuchActor);
        }
        self.next_monitor += 1;
        // Monitor numbers are unique in the runtime: the loop's index is in
        // their high byte (a target's watchers may be on several loops).
        let n = (u64::from(self.actors.index()) << 56) | self.next_monitor;
        let mref = MonitorRef { watcher, target, n };
        self.actors
            .extras_mut(watcher.slot())
            .monitoring
            .push((mref.n, target));
        self.watch_target(mref);
        Ok(mref)
    }

    /// The target's half of monitor `mref`, on the target's loop.
    fn watch_target(&mut self, mref: MonitorRef) {
        let (watcher, target) = (mref.watcher, mref.target);
        if self.is_remote(target) {
            let posted = self.post_to_loop(target.route(), move |core| core.watch_target(mref));
            if posted {
                return;
            }
        }
        if self.is_alive(target) {
            self.actors
                .extras_mut(target.slot())
                .watchers
                .push((mref.n, watcher));
        } else {
            self.push_sys(
                watcher,
                SysEvent::Down(Box::new(Down {
                    id: target,
                    monitor: mref,
                    reason: DownReason::NoSuchActor,
                })),
            );
        }
    }

    /// Removes a monitor: no [`Down`] of it is delivered after this returns,
    /// even one already queued. Returns whether it was still set (false
    /// after its `Down` was delivered, or a second demonitor).
    pub fn demonitor(&mut self, monitor: MonitorRef) -> bool {
        let was_set = self.extras_of(monitor.watcher).is_some_and(|e| {
            let before = e.monitoring.len();
            e.monitoring.retain(|&(n, _)| n != monitor.n);
            e.monitoring.len() != before
        });
        self.unwatch_target(monitor.target, monitor.n);
        was_set
    }

    /// Removes monitor `n` from `target`'s watchers, on the target's loop.
    fn unwatch_target(&mut self, target: ActorId, n: u64) {
        if self.is_remote(target) {
            self.post_to_loop(target.route(), move |core| core.unwatch_target(target, n));
        } else if let Some(e) = self.extras_of(target) {
            e.watchers.retain(|&(m, _)| m != n);
        }
    }

    /// The numbers of the monitors `watcher` holds whose `Down` it has not
    /// received (empty when it is not alive): for a layer above that keys
    /// its own state by them (the C ABI's monitor handles).
    pub(crate) fn monitors_held(&self, watcher: ActorId) -> Vec<u64> {
        self.actors
            .extras(watcher)
            .map_or_else(Vec::new, |e| e.monitoring.iter().map(|&(n, _)| n).collect())
    }

    /// Whether a queued `Down` is still wanted (its monitor was not
    /// removed); marks it delivered.
    pub(crate) fn take_down(&mut self, watcher: ActorId, monitor: MonitorRef) -> bool {
        self.extras_of(watcher).is_some_and(|e| {
            let at = e.monitoring.iter().position(|&(n, _)| n == monitor.n);
            at.map(|i| e.monitoring.swap_remove(i)).is_some()
        })
    }

    // ---------------------------------------------------------------- links

    /// Links `a` and `b` (R33): when one ends abnormally, the other ends with
    /// the same reason, or, if it traps exits, gets an [`Exit`]. Linking
    /// twice is one link.
    ///
    /// `a` must be on this loop; `b` may be on another loop of the runtime,
    /// where its half is set at that loop's next turn. If `b` is gone by
    /// then, `a` gets the exit signal of an abnormal end (reason
    /// [`StopReason::Fail`]), as Erlang sends `noproc`.
    ///
    /// # Errors
    ///
    /// `NoSuchActor` when either is not alive (nothing is linked; for a `b`
    /// on another loop, only `a` is checked); `InvalidArg` for `a == b` or
    /// an `a` on another loop.
    pub fn link(&mut self, a: ActorId, b: ActorId) -> Result<(), Error> {
        if a == b || self.is_remote(a) {
            return Err(Error::InvalidArg);
        }
        if !self.is_alive(a) || !(self.is_remote(b) || self.is_alive(b)) {
            return Err(Error::NoSuchActor);
        }
        self.add_link(a, b);
        if self.is_remote(b) {
            let posted = self.post_to_loop(b.route(), move |core| {
                if core.is_alive(b) {
                    core.add_link(b, a);
                } else {
                    core.exit_signal(b, StopReason::Fail, a);
                }
            });
            if !posted {
                self.unlink(a, b);
                return Err(Error::NoSuchActor);
            }
        } else {
            self.add_link(b, a);
        }
        Ok(())
    }

    /// `x`'s half of a link with `y`.
    fn add_link(&mut self, x: ActorId, y: ActorId) {
        let links = &mut self.actors.extras_mut(x.slot()).links;
        if !links.contains(&y) {
            links.push(y);
        }
    }

    /// Removes the link between `a` and `b`, if any (either may be gone,
    /// either may be on another loop, whose half goes at its next turn).
    pub fn unlink(&mut self, a: ActorId, b: ActorId) {
        for (x, y) in [(a, b), (b, a)] {
            if self.is_remote(x) {
                self.post_to_loop(x.route(), move |core| {
                    if let Some(e) = core.extras_of(x) {
                        e.links.retain(|&l| l != y);
                    }
                });
            } else if let Some(e) = self.extras_of(x) {
                e.links.retain(|&l| l != y);
            }
        }
    }

    /// Sets whether `id` traps exits: linked actors' ends then reach it as
    /// [`Exit`] messages (normal ones too) instead of ending it.
    ///
    /// # Errors
    ///
    /// `NoSuchActor` when `id` is not alive.
    pub fn trap_exits(&mut self, id: ActorId, trap: bool) -> Result<(), Error> {
        if !self.is_alive(id) {
            return Err(Error::NoSuchActor);
        }
        self.actors.extras_mut(id.slot()).trap_exits = trap;
        Ok(())
    }

    /// The actors linked with `id` (empty when it is not alive).
    pub fn links_of(&self, id: ActorId) -> Vec<ActorId> {
        self.actors
            .extras(id)
            .map_or_else(Vec::new, |e| e.links.clone())
    }

    /// The extras of a live actor, if it has any.
    fn extras_of(&mut self, id: ActorId) -> Option<&mut Extras> {
        self.actors.get_mut(id)?.extras.as_deref_mut()
    }

    /// `id` ended for `reason` (its slot is freed; `extras` are what it
    /// held): its watchers get their `Down`, its links their exit signal,
    /// and the monitors it held are removed from their targets.
    pub(super) fn signal_exit(&mut self, id: ActorId, reason: StopReason, extras: &mut Extras) {
        for (n, target) in std::mem::take(&mut extras.monitoring) {
            self.unwatch_target(target, n);
        }
        for (n, watcher) in std::mem::take(&mut extras.watchers) {
            let monitor = MonitorRef {
                watcher,
                target: id,
                n,
            };
            self.push_sys(
                watcher,
                SysEvent::Down(Box::new(Down {
                    id,
                    monitor,
                    reason: DownReason::Exited(reason),
                })),
            );
        }
        for other in std::mem::take(&mut extras.links) {
            self.exit_signal(id, reason, other);
        }
    }

    /// `id`, linked with `other`, ended for `reason`: `other` (on its own
    /// loop) drops the link and gets an `Exit` if it traps exits, else ends
    /// too when the exit is abnormal.
    fn exit_signal(&mut self, id: ActorId, reason: StopReason, other: ActorId) {
        if self.is_remote(other) {
            self.post_to_loop(other.route(), move |core| {
                core.exit_signal(id, reason, other)
            });
            return;
        }
        // (A link removed meanwhile, by an unlink crossing loops, carries
        // no signal.)
        let Some(e) = self.extras_of(other).filter(|e| e.links.contains(&id)) else {
            return;
        };
        e.links.retain(|&l| l != id);
        if e.trap_exits {
            self.push_sys(other, SysEvent::Exit(Exit { id, reason }));
        } else if reason.is_abnormal() {
            let _ = self.kill(other, reason);
        }
    }
}
