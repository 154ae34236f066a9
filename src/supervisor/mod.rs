//! Supervision trees with Erlang/OTP semantics (R20–R24).
//!
//! A supervisor is an actor of the loop. Its children are spawned with the
//! supervisor as their parent, so each child's end reaches it as a
//! [`ChildExit`]; the supervisor then applies its restart mode, intensity,
//! strategy and backoff. Its table of children lives in the loop's [`Core`]
//! (not inside the actor), so [`Core::supervisor_child`] and [`ChildRef`]
//! resolve the current incarnation of a child at any time.
//!
//! Choices where Erlang leaves room:
//! - messages sent through a [`ChildRef`] while the child is between
//!   incarnations (ended, restart not yet done) are **refused** with
//!   [`Error::ChildRestarting`], message handed back; a child that ended for
//!   good (temporary, or transient after a normal exit) gives `NoSuchActor`;
//! - children stopped by their supervisor (for a strategy, an escalation or
//!   the supervisor's own end) are torn down at once, in reverse start order,
//!   and reported to the observer as a normal stop (a panic in the child's
//!   [`Actor::on_stop`] makes it a panic). A child on another loop of a
//!   runtime ends at that loop's next turn, and the supervisor waits for it
//!   as Erlang/OTP's waits for each child's exit: the next child is stopped,
//!   the restart made, and the supervisor's own end reported (to its parent,
//!   monitors, links and the observer) only once it has ended
//!   (`Core::stop_in_order`). A monitor or link set on the supervisor while
//!   its end is held finds it gone at once;
//! - a child that cannot be started (its factory panicked, the actor table
//!   is full, its name is taken) at a restart is a failure of that child,
//!   as in Erlang/OTP: it counts toward the intensity and the child is
//!   retried after its backoff (with the children of the same restart not
//!   started yet); only exceeding the intensity gives up (R22). At the
//!   supervisor's spawn, the spawn is undone and returns the error;
//! - user code run by the supervisor (factories, destructors, observer
//!   hooks) never unwinds through it: its table stays attached to its slot
//!   in the loop's [`Core`] until its own teardown has stopped every child,
//!   so no child is ever left without its supervisor;
//! - as in Erlang/OTP, a supervisor stays up when its children have all
//!   ended for good; with [`SupervisorSpec::auto_shutdown`] it stops normally
//!   then, so that a loop whose work is done becomes idle (R2).

mod backoff;
mod intensity;
mod spec;

pub use backoff::{Backoff, BackoffKind};
pub use spec::{ChildSpec, RestartMode, Strategy, SupervisorSpec};

use crate::core::{Core, Then};
use crate::message::{ChildExit, StopReason};
use crate::observer::drop_quietly;
use crate::trace::{trace_actor_restart, trace_escalate};
use crate::{Actor, ActorId, Context, Error, Flow, SendError, SpawnOptions, TimerId};
use intensity::RestartWindow;
use std::any::TypeId;
use std::fmt;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

/// The supervisor actor's own messages (restart timers).
pub(crate) enum SupMsg {
    Restart { indices: Vec<usize>, epoch: u64 },
}

/// The supervisor actor. Its table is state attached to its slot in the
/// loop's [`Core`].
struct SupervisorActor;

impl Actor for SupervisorActor {
    type Msg = SupMsg;

    fn handle(&mut self, cx: &mut Context<'_, Self>, msg: SupMsg) -> Flow {
        let me = cx.id();
        match msg {
            SupMsg::Restart { indices, epoch } => cx.core_mut().sup_restart(me, &indices, epoch),
        }
    }

    fn on_child_exit(&mut self, cx: &mut Context<'_, Self>, exit: ChildExit) -> Flow {
        let me = cx.id();
        cx.core_mut().sup_child_exited(me, exit)
    }

    /// Its children go first, in reverse start order (R24).
    fn on_stop(&mut self, cx: &mut Context<'_, Self>, _reason: StopReason) {
        let me = cx.id();
        cx.core_mut().sup_teardown(me);
    }
}

struct ChildState {
    spec: ChildSpec,
    current: Option<ActorId>,
    /// A delayed restart is pending (the epoch of the decision).
    pending: Option<u64>,
    /// Ended for good: not restarted.
    done: bool,
    /// Restarts so far (the observer's attempt number).
    restarts: u32,
    /// Consecutive restarts for the backoff (reset after a stable run).
    streak: u32,
    started_at: u64,
}

/// A supervisor's table, attached to its slot in the loop's [`Core`].
struct SupState {
    spec: SupervisorSpec,
    children: Vec<ChildState>,
    restarts: RestartWindow,
    epoch: u64,
    rng: u64,
}

/// A running supervisor. 8 bytes, `Copy`; its id works with every id-based
/// call (stop, fail, names, `supervisor_child`).
///
/// # Examples
///
/// ```
/// use jzx::{Actor, ChildSpec, Context, Flow, Loop, Strategy, SupervisorSpec};
///
/// struct Worker;
/// impl Actor for Worker {
///     type Msg = &'static str;
///     fn handle(&mut self, _cx: &mut Context<'_, Self>, msg: &'static str) -> Flow {
///         if msg == "done" { Flow::Stop } else { Flow::Continue }
///     }
/// }
///
/// let mut lp = Loop::new()?;
/// let sup = lp.spawn_supervisor(
///     SupervisorSpec::new(Strategy::OneForOne).auto_shutdown(true),
///     vec![ChildSpec::new(|| Worker).mode(jzx::RestartMode::Transient)],
/// )?;
/// let worker = lp.child_ref::<&'static str>(sup, 0)?;
/// lp.send_child(worker, "done")?;
/// lp.run()?; // the child stopped normally, the supervisor with it
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Supervisor(ActorId);

impl Supervisor {
    /// The supervisor's actor id.
    pub fn id(self) -> ActorId {
        self.0
    }
}

impl From<Supervisor> for ActorId {
    fn from(s: Supervisor) -> ActorId {
        s.0
    }
}

/// A stable handle to a supervised child: it always reaches the child's
/// current incarnation, so senders never look up new ids (R24).
///
/// `Copy`, 16 bytes. Made by [`Core::child_ref`], which checks the message
/// type against the child's spec.
pub struct ChildRef<M> {
    supervisor: ActorId,
    index: usize,
    _msg: PhantomData<fn(M)>,
}

impl<M> ChildRef<M> {
    /// The supervisor.
    pub fn supervisor(self) -> ActorId {
        self.supervisor
    }
    /// The child's position in the supervisor's spec list.
    pub fn index(self) -> usize {
        self.index
    }
}

impl<M> Clone for ChildRef<M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M> Copy for ChildRef<M> {}

impl<M> fmt::Debug for ChildRef<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChildRef({}#{})", self.supervisor, self.index)
    }
}

impl ChildSpec {
    /// A child that is itself a supervisor (nested trees, R24); `factory`
    /// gives its spec and fresh child specs at every start. A panicking
    /// factory is a failed start, as for [`ChildSpec::new`].
    pub fn supervisor(
        mut factory: impl FnMut() -> (SupervisorSpec, Vec<ChildSpec>) + 'static,
    ) -> ChildSpec {
        ChildSpec::from_start(TypeId::of::<SupMsg>(), move |core, opts| {
            let (spec, children) = factory();
            core.spawn_supervisor_with(spec, children, opts)
                .map(|s| s.id())
        })
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Core {
    /// Spawns a supervisor and starts its children, in order, before
    /// returning (so their ids are known at once).
    ///
    /// # Errors
    ///
    /// Nothing is left running after an error:
    /// - `MaxActors` when the table cannot hold the supervisor and its
    ///   children;
    /// - `FactoryPanicked` when a child's factory panics;
    /// - a child's own spawn error: `InvalidArg` when its name is taken,
    ///   and a nested supervisor's errors for a [`ChildSpec::supervisor`].
    pub fn spawn_supervisor(
        &mut self,
        spec: SupervisorSpec,
        children: Vec<ChildSpec>,
    ) -> Result<Supervisor, Error> {
        self.spawn_supervisor_with(spec, children, SpawnOptions::default())
    }

    /// As [`Core::spawn_supervisor`], with spawn options for the supervisor
    /// itself (name, parent: a parent supervisor sees its escalations).
    ///
    /// # Errors
    ///
    /// As [`Core::spawn_supervisor`]; `NoSuchActor` for a dead parent,
    /// `InvalidArg` for a taken name.
    pub fn spawn_supervisor_with(
        &mut self,
        spec: SupervisorSpec,
        children: Vec<ChildSpec>,
        opts: SpawnOptions,
    ) -> Result<Supervisor, Error> {
        let id = self.spawn_with(SupervisorActor, opts)?.id();
        let now = self.now_ms();
        let state = SupState {
            spec,
            children: children
                .into_iter()
                .map(|spec| ChildState {
                    spec,
                    current: None,
                    pending: None,
                    done: false,
                    restarts: 0,
                    streak: 0,
                    started_at: now,
                })
                .collect(),
            restarts: RestartWindow::default(),
            epoch: 0,
            rng: 0x9E37_79B9_7F4A_7C15 ^ id.to_raw(),
        };
        let children = state.children.len();
        self.attach(id, Box::new(state));
        for i in 0..children {
            if let Err(e) = self.start_child(id, i) {
                // Undo: children in reverse, then the supervisor.
                self.terminate_now(id);
                return Err(e);
            }
        }
        Ok(Supervisor(id))
    }

    /// The current incarnation of child `index` of supervisor `sup`:
    /// `Ok(None)` while it is down (ended for good or waiting for a restart).
    ///
    /// # Errors
    ///
    /// `NoSuchActor` when `sup` is not a live supervisor; `InvalidArg` for an
    /// index out of range.
    pub fn supervisor_child(
        &self,
        sup: impl Into<ActorId>,
        index: usize,
    ) -> Result<Option<ActorId>, Error> {
        let state = self.sup_state(sup.into()).ok_or(Error::NoSuchActor)?;
        let child = state.children.get(index).ok_or(Error::InvalidArg)?;
        Ok(child.current)
    }

    /// Children of a live supervisor.
    ///
    /// # Errors
    ///
    /// `NoSuchActor` when `sup` is not a live supervisor.
    pub fn supervisor_child_count(&self, sup: impl Into<ActorId>) -> Result<usize, Error> {
        Ok(self
            .sup_state(sup.into())
            .ok_or(Error::NoSuchActor)?
            .children
            .len())
    }

    /// A stable, typed handle to child `index` of `sup`.
    ///
    /// # Errors
    ///
    /// `NoSuchActor` when `sup` is not a live supervisor; `InvalidArg` for an
    /// index out of range or a child whose messages are not `M`.
    pub fn child_ref<M: 'static>(
        &self,
        sup: impl Into<ActorId>,
        index: usize,
    ) -> Result<ChildRef<M>, Error> {
        let sup = sup.into();
        let state = self.sup_state(sup).ok_or(Error::NoSuchActor)?;
        let child = state.children.get(index).ok_or(Error::InvalidArg)?;
        if child.spec.msg_type != TypeId::of::<M>() {
            return Err(Error::InvalidArg);
        }
        Ok(ChildRef {
            supervisor: sup,
            index,
            _msg: PhantomData,
        })
    }

    /// Sends to the current incarnation of a supervised child.
    ///
    /// # Errors
    ///
    /// With the message handed back: `ChildRestarting` while the child is
    /// between incarnations (it ended and its supervisor has not started the
    /// next one yet, or waits for a delayed restart); `NoSuchActor` when it
    /// ended for good or the supervisor is gone; `MailboxFull` as for
    /// [`Core::send`]. A child on another loop of a runtime cannot be
    /// looked at from here: until its exit has reached its supervisor, a
    /// send to it is accepted, and if it has ended meanwhile the message
    /// is a dead letter on its loop (as any send to an actor that ends
    /// before the message arrives).
    pub fn send_child<M: 'static>(
        &mut self,
        child: ChildRef<M>,
        msg: M,
    ) -> Result<(), SendError<M>> {
        let current = self
            .sup_state(child.supervisor)
            .and_then(|s| s.children.get(child.index))
            .map(|c| (c.current, c.pending.is_some()));
        match current {
            // A child on another loop cannot be checked from here; its
            // spec was made by `ChildSpec::on_loop`, which requires `M: Send`
            // (the message type checked in `child_ref`), as an address of
            // an actor on another loop must (`addr.rs`).
            Some((Some(id), _)) if self.is_alive(id) || self.is_remote(id) => {
                self.send(crate::Addr::new(id), msg)
            }
            // Ended, and its supervisor has not handled the exit yet; or
            // waiting for a delayed restart.
            Some((Some(_), _)) | Some((None, true)) => Err(SendError {
                error: Error::ChildRestarting,
                message: msg,
            }),
            _ => Err(SendError {
                error: Error::NoSuchActor,
                message: msg,
            }),
        }
    }

    fn sup_state(&self, sup: ActorId) -> Option<&SupState> {
        self.attached(sup)
    }

    /// Starts (or restarts) child `i` of `sup`. The table stays in place
    /// while the child's start function (user code) runs; only that function
    /// is taken out, and put back even if it panics.
    fn start_child(&mut self, sup: ActorId, i: usize) -> Result<ActorId, Error> {
        let Some(child) = self.sup_child_mut(sup, i) else {
            return Err(Error::NoSuchActor);
        };
        let opts = SpawnOptions {
            mailbox_cap: child.spec.mailbox_cap,
            name: child.spec.name.clone(),
            parent: Some(sup),
        };
        let mut start =
            std::mem::replace(&mut child.spec.start, Box::new(|_, _| Err(Error::Unknown)));
        let started = catch_unwind(AssertUnwindSafe(|| start(self, opts)))
            .unwrap_or(Err(Error::FactoryPanicked));
        let now = self.now_ms();
        let Some(child) = self.sup_child_mut(sup, i) else {
            // The supervisor went away meanwhile (a C start function that
            // re-entered the loop): the child goes with it.
            drop_quietly(start);
            if let Ok(id) = started {
                self.terminate_now(id);
            }
            return Err(Error::NoSuchActor);
        };
        child.spec.start = start;
        child.pending = None;
        if let Ok(id) = started {
            child.current = Some(id);
            child.started_at = now;
        }
        started
    }

    fn sup_child_mut(&mut self, sup: ActorId, i: usize) -> Option<&mut ChildState> {
        self.attached_mut::<SupState>(sup)?.children.get_mut(i)
    }

    /// A supervisor's child ended.
    fn sup_child_exited(&mut self, sup: ActorId, exit: ChildExit) -> Flow {
        let now = self.now_ms();
        let Some(state) = self.attached_mut::<SupState>(sup) else {
            return Flow::Continue;
        };
        let Some(i) = state
            .children
            .iter()
            .position(|c| c.current == Some(exit.child))
        else {
            return Flow::Continue;
        };
        let child = &mut state.children[i];
        child.current = None;
        if !child.spec.mode.restarts_after(exit.reason) {
            child.done = true;
            let all_done = state
                .children
                .iter()
                .all(|c| c.done || (c.current.is_none() && c.pending.is_none()));
            return if all_done && state.spec.auto_shutdown {
                Flow::Stop
            } else {
                Flow::Continue
            };
        }
        let scope = state.scope(i);
        let decision = state.decide(i, scope, now, true);
        self.sup_apply(sup, decision, true)
    }

    /// Carries out a decision, with the table in place: stops the children
    /// it names (in that order), then restarts, schedules or escalates.
    /// Restarts at once only when `now_ok`, there is no delay, and every
    /// stop of this supervisor has ended (none is in flight on another
    /// loop); else a timer message restarts them, once the stops have
    /// ended (a failed start is retried from a later turn, never in a loop
    /// of its own).
    fn sup_apply(&mut self, sup: ActorId, decision: Decision, now_ok: bool) -> Flow {
        match decision {
            Decision::Escalate => {
                trace_escalate!(sup);
                self.observer.notify(|o| o.on_supervisor_escalate(sup));
                Flow::Fail
            }
            Decision::Restart {
                stop,
                targets,
                delay,
                epoch,
            } => {
                // Children on other loops end at their loops' next turns:
                // the restart waits for them (as a supervisor of Erlang/OTP
                // waits for each child it stops).
                let later_targets = targets.clone();
                let later: Then<Core> = Box::new(move |core: &mut Core| {
                    core.sup_restart_after(sup, later_targets, delay, epoch);
                });
                if !self.stop_in_order(sup, stop.into(), Some(later)) {
                    return Flow::Continue;
                }
                if now_ok && delay.is_zero() {
                    return self.sup_restart_now(sup, &targets);
                }
                self.sup_restart_after(sup, targets, delay, epoch);
                Flow::Continue
            }
        }
    }

    /// Restarts `indices` after `delay`, from a turn of the supervisor's
    /// own (a timer message).
    fn sup_restart_after(
        &mut self,
        sup: ActorId,
        indices: Vec<usize>,
        delay: Duration,
        epoch: u64,
    ) {
        let msg = SupMsg::Restart { indices, epoch };
        // Refused only when the supervisor has ended meanwhile: nothing to
        // restart then.
        let _: Result<TimerId, _> = self.send_after(crate::Addr::new(sup), delay, msg);
    }

    /// A delayed restart is due.
    fn sup_restart(&mut self, sup: ActorId, indices: &[usize], epoch: u64) -> Flow {
        let due: Vec<usize> = match self.sup_state(sup) {
            Some(state) => indices
                .iter()
                .copied()
                .filter(|&j| {
                    state
                        .children
                        .get(j)
                        .is_some_and(|c| c.pending == Some(epoch))
                })
                .collect(),
            None => return Flow::Continue,
        };
        self.sup_restart_now(sup, &due)
    }

    fn sup_restart_now(&mut self, sup: ActorId, indices: &[usize]) -> Flow {
        for (k, &j) in indices.iter().enumerate() {
            match self.start_child(sup, j) {
                Ok(child) => {
                    let Some(c) = self.sup_child_mut(sup, j) else {
                        return Flow::Continue;
                    };
                    c.restarts = c.restarts.saturating_add(1);
                    let attempt = c.restarts;
                    trace_actor_restart!(sup, child, attempt);
                    self.observer
                        .notify(|o| o.on_actor_restart(sup, child, attempt));
                }
                Err(_) => {
                    // A child that cannot start is a failure of that child
                    // (as in Erlang/OTP): it counts toward the intensity,
                    // and it is retried after its backoff with the children
                    // of this restart not started yet (R22).
                    let now = self.now_ms();
                    let Some(state) = self.attached_mut::<SupState>(sup) else {
                        return Flow::Continue;
                    };
                    let decision = state.decide(j, indices[k..].to_vec(), now, false);
                    return self.sup_apply(sup, decision, false);
                }
            }
        }
        Flow::Continue
    }

    /// Stops a supervisor's children in reverse start order (its `on_stop`
    /// calls this first, R24).
    fn sup_teardown(&mut self, sup: ActorId) {
        // The table stays attached while the children's `on_stop` hooks
        // run, so that they can still reach their elder siblings. Children
        // of this loop are stopped one by one, until one of another loop,
        // or one whose end is held (a supervisor with children of other
        // loops): from there on, the rest make a chain across the loops
        // (`Core::stop_in_order`), and this supervisor's end is held until
        // it is over.
        let n = self.sup_state(sup).map_or(0, |s| s.children.len());
        let mut chain = std::collections::VecDeque::new();
        for i in (0..n).rev() {
            let Some(id) = self.sup_child_mut(sup, i).and_then(|c| c.current.take()) else {
                continue;
            };
            if chain.is_empty() && !self.is_remote(id) {
                self.terminate_now(id);
                if self.end_is_held(id) {
                    // The chain starts by waiting for its end.
                    chain.push_back(id);
                }
            } else {
                chain.push_back(id);
            }
        }
        self.stop_in_order(sup, chain, None);
        // The specs hold user closures.
        drop_quietly(self.detach(sup));
    }
}

/// What a supervisor does about a failed child, decided on its table alone
/// (no user code runs while deciding).
enum Decision {
    /// The intensity is exceeded: fail, stopping every child (R22).
    Escalate,
    /// Stop `stop` (in this order), then restart `targets` after `delay`.
    Restart {
        stop: Vec<ActorId>,
        targets: Vec<usize>,
        delay: Duration,
        epoch: u64,
    },
}

impl SupState {
    /// The children that restart with child `i`, by strategy (R21).
    fn scope(&self, i: usize) -> Vec<usize> {
        let n = self.children.len();
        match self.spec.strategy {
            Strategy::OneForOne => vec![i],
            Strategy::OneForAll => (0..n).collect(),
            Strategy::RestForOne => (i..n).collect(),
        }
    }

    /// Child `i` failed: it ended and is to restart, or (`ran` false) it
    /// could not be started. Counts a restart toward the intensity and
    /// decides which children of `scope` stop and restart, and when.
    fn decide(&mut self, i: usize, scope: Vec<usize>, now: u64, ran: bool) -> Decision {
        if self
            .restarts
            .record(now, self.spec.intensity, ms(self.spec.period))
        {
            return Decision::Escalate;
        }
        // The others of the scope stop now, in reverse start order.
        let stop: Vec<ActorId> = scope
            .iter()
            .rev()
            .filter(|&&j| j != i)
            .filter_map(|&j| self.children[j].current.take())
            .collect();
        let targets: Vec<usize> = scope
            .into_iter()
            .filter(|&j| {
                let c = &self.children[j];
                j == i || (!c.done && c.spec.mode != RestartMode::Temporary)
            })
            .collect();

        // Backoff of the child that failed; a failed start does not count
        // as a stable run.
        let child = &mut self.children[i];
        let backoff = child.spec.effective_backoff(&self.spec.backoff);
        if ran && now.saturating_sub(child.started_at) >= ms(backoff.reset_after) {
            child.streak = 0;
        }
        child.streak = child.streak.saturating_add(1);
        let delay = backoff.delay_jittered(child.streak, &mut self.rng);

        self.epoch += 1;
        for &j in &targets {
            self.children[j].pending = Some(self.epoch);
        }
        Decision::Restart {
            stop,
            targets,
            delay,
            epoch: self.epoch,
        }
    }
}
