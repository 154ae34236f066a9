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
//!   and reported to the observer as a normal stop;
//! - a child that cannot be started (its factory panicked, or the actor
//!   table is full) fails its supervisor: at a restart, the supervisor stops
//!   its other children in reverse start order and fails, so its own parent
//!   sees an abnormal exit (as for exceeded intensity, R22); at the
//!   supervisor's spawn, the spawn is undone and returns the error;
//! - as in Erlang/OTP, a supervisor stays up when its children have all
//!   ended for good; with [`SupervisorSpec::auto_shutdown`] it stops normally
//!   then, so that a loop whose work is done becomes idle (R2).

mod backoff;
mod spec;

pub use backoff::{Backoff, BackoffKind};
pub use spec::{ChildSpec, RestartMode, Strategy, SupervisorSpec};

use crate::core::Core;
use crate::message::ChildExit;
use crate::trace::{trace_actor_restart, trace_escalate};
use crate::{Actor, ActorId, Context, Error, Flow, SendError, SpawnOptions, TimerId};
use std::any::TypeId;
use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

/// The supervisor actor's own messages (restart timers).
pub(crate) enum SupMsg {
    Restart { indices: Vec<usize>, epoch: u64 },
}

/// The supervisor actor. Its state is in the loop's supervisor table.
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

/// A supervisor's table, kept in the loop's [`Core`].
pub(crate) struct SupState {
    spec: SupervisorSpec,
    children: Vec<ChildState>,
    restarts: VecDeque<u64>,
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

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Core {
    /// Spawns a supervisor and starts its children, in order, before
    /// returning (so their ids are known at once).
    ///
    /// # Errors
    ///
    /// `MaxActors` when the table cannot hold the supervisor and its
    /// children (nothing is left running then).
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
            restarts: VecDeque::new(),
            epoch: 0,
            rng: 0x9E37_79B9_7F4A_7C15 ^ id.to_raw(),
        };
        self.supervisors.insert(id.slot(), state);
        for i in 0..self.supervisors[&id.slot()].children.len() {
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
    /// [`Core::send`].
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
            Some((Some(id), _)) if self.is_alive(id) => self.send(crate::Addr::new(id), msg),
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
        if !self.is_alive(sup) {
            return None;
        }
        self.supervisors.get(&sup.slot())
    }

    /// Starts (or restarts) child `i` of `sup`.
    fn start_child(&mut self, sup: ActorId, i: usize) -> Result<ActorId, Error> {
        let mut state = self
            .supervisors
            .remove(&sup.slot())
            .expect("supervisor state");
        let child = &mut state.children[i];
        let opts = SpawnOptions {
            mailbox_cap: child.spec.mailbox_cap,
            name: child.spec.name.clone(),
            parent: Some(sup),
        };
        let started = (child.spec.start)(self, opts);
        let now = self.now_ms();
        let child = &mut state.children[i];
        child.pending = None;
        if let Ok(id) = started {
            child.current = Some(id);
            child.started_at = now;
        }
        self.supervisors.insert(sup.slot(), state);
        started
    }

    /// A supervisor's child ended.
    fn sup_child_exited(&mut self, sup: ActorId, exit: ChildExit) -> Flow {
        let Some(mut state) = self.supervisors.remove(&sup.slot()) else {
            return Flow::Continue;
        };
        let flow = self.sup_decide(sup, &mut state, exit);
        self.supervisors.insert(sup.slot(), state);
        match flow {
            Ok(flow) => flow,
            Err(Restart::Now(indices)) => self.sup_restart_now(sup, &indices),
            Err(Restart::Escalate) => Flow::Fail,
        }
    }

    fn sup_decide(
        &mut self,
        sup: ActorId,
        state: &mut SupState,
        exit: ChildExit,
    ) -> Result<Flow, Restart> {
        let Some(i) = state
            .children
            .iter()
            .position(|c| c.current == Some(exit.child))
        else {
            return Ok(Flow::Continue);
        };
        let now = self.now_ms();
        let child = &mut state.children[i];
        child.current = None;
        if !child.spec.mode.restarts_after(exit.reason) {
            child.done = true;
            let all_done = state
                .children
                .iter()
                .all(|c| c.done || (c.current.is_none() && c.pending.is_none()));
            return Ok(if all_done && state.spec.auto_shutdown {
                Flow::Stop
            } else {
                Flow::Continue
            });
        }

        // Intensity: more than `intensity` restarts within `period`.
        let period = ms(state.spec.period);
        state.restarts.push_back(now);
        while state
            .restarts
            .front()
            .is_some_and(|&t| now.saturating_sub(t) >= period)
        {
            state.restarts.pop_front();
        }
        if state.restarts.len() > state.spec.intensity as usize {
            trace_escalate!(sup);
            if let Some(obs) = self.observer.as_mut() {
                obs.on_supervisor_escalate(sup);
            }
            return Err(Restart::Escalate);
        }

        // Which children restart: the failed one, and by strategy others,
        // stopped now in reverse start order.
        let n = state.children.len();
        let scope: Vec<usize> = match state.spec.strategy {
            Strategy::OneForOne => vec![i],
            Strategy::OneForAll => (0..n).collect(),
            Strategy::RestForOne => (i..n).collect(),
        };
        for &j in scope.iter().rev() {
            if j == i {
                continue;
            }
            if let Some(id) = state.children[j].current.take() {
                self.terminate_now(id);
            }
        }
        let targets: Vec<usize> = scope
            .into_iter()
            .filter(|&j| {
                let c = &state.children[j];
                j == i || (!c.done && c.spec.mode != RestartMode::Temporary)
            })
            .collect();
        for &j in &targets {
            if j != i && state.children[j].spec.mode == RestartMode::Temporary {
                state.children[j].done = true;
            }
        }

        // Backoff of the child that ended.
        let child = &mut state.children[i];
        let backoff = child.spec.effective_backoff(&state.spec.backoff);
        if now.saturating_sub(child.started_at) >= ms(backoff.reset_after) {
            child.streak = 0;
        }
        child.streak = child.streak.saturating_add(1);
        let delay = backoff.delay_jittered(child.streak, &mut state.rng);

        state.epoch += 1;
        if delay.is_zero() {
            return Err(Restart::Now(targets));
        }
        for &j in &targets {
            state.children[j].pending = Some(state.epoch);
        }
        let msg = SupMsg::Restart {
            indices: targets,
            epoch: state.epoch,
        };
        // The supervisor is alive (it is running), so this cannot fail.
        let _: Result<TimerId, _> = self.send_after(crate::Addr::new(sup), delay, msg);
        Ok(Flow::Continue)
    }

    /// A delayed restart is due.
    fn sup_restart(&mut self, sup: ActorId, indices: &[usize], epoch: u64) -> Flow {
        let due: Vec<usize> = match self.supervisors.get(&sup.slot()) {
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
        for &j in indices {
            match self.start_child(sup, j) {
                Ok(child) => {
                    let state = self.supervisors.get_mut(&sup.slot()).expect("state");
                    let c = &mut state.children[j];
                    c.restarts = c.restarts.saturating_add(1);
                    let attempt = c.restarts;
                    trace_actor_restart!(sup, child, attempt);
                    if let Some(obs) = self.observer.as_mut() {
                        obs.on_actor_restart(sup, child, attempt);
                    }
                }
                Err(_) => {
                    // A child that cannot start (table full, factory
                    // panicked) is a supervisor failure: its teardown stops
                    // the other children in reverse order (R22, R24).
                    trace_escalate!(sup);
                    if let Some(obs) = self.observer.as_mut() {
                        obs.on_supervisor_escalate(sup);
                    }
                    return Flow::Fail;
                }
            }
        }
        Flow::Continue
    }

    /// Stops a supervisor's children in reverse start order (its teardown
    /// calls this first, R24).
    pub(crate) fn sup_teardown(&mut self, slot: u32) {
        let Some(mut state) = self.supervisors.remove(&slot) else {
            return;
        };
        for child in state.children.iter_mut().rev() {
            if let Some(id) = child.current.take() {
                self.terminate_now(id);
            }
        }
    }
}

/// What `sup_decide` leaves for after the table is back in place.
enum Restart {
    Now(Vec<usize>),
    Escalate,
}
