//! What a supervisor is told: its strategy and limits, and how to start each
//! child (R20–R23).

use super::backoff::Backoff;
use crate::core::Core;
use crate::{Actor, ActorId, Error, SpawnOptions};
use std::any::TypeId;
use std::fmt;
use std::time::Duration;

/// When a child that ended is restarted (R20).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum RestartMode {
    /// Always, whatever the reason.
    #[default]
    Permanent,
    /// Only after an abnormal exit (fail or panic).
    Transient,
    /// Never.
    Temporary,
}

impl RestartMode {
    /// Whether a child ending for `reason` is restarted.
    pub fn restarts_after(self, reason: crate::StopReason) -> bool {
        match self {
            RestartMode::Permanent => true,
            RestartMode::Transient => reason.is_abnormal(),
            RestartMode::Temporary => false,
        }
    }
}

/// Which children a supervisor restarts when one of them ends (R21).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    /// Only the child that ended.
    #[default]
    OneForOne,
    /// All children: the others are stopped (in reverse start order), then
    /// all restart in order.
    OneForAll,
    /// The child that ended and those started after it.
    RestForOne,
}

/// A supervisor's strategy, restart intensity and default backoff.
///
/// More than `intensity` restarts within `period` make the supervisor stop
/// all its children (reverse start order) and fail, which its own parent
/// sees as an abnormal exit (R22). Every restart counts, a failed one (a
/// child that could not be started, and is retried) included. Defaults as
/// Erlang/OTP: 1 restart in 5 s.
///
/// # Examples
///
/// ```
/// use jzx::{Strategy, SupervisorSpec};
/// use std::time::Duration;
/// let spec = SupervisorSpec::new(Strategy::OneForAll).intensity(3, Duration::from_secs(1));
/// assert_eq!(spec.intensity, 3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SupervisorSpec {
    /// Which children restart together.
    pub strategy: Strategy,
    /// Restarts allowed within `period`.
    pub intensity: u32,
    /// The window of the intensity count.
    pub period: Duration,
    /// Backoff for children without their own (see [`ChildSpec::backoff`]).
    pub backoff: Backoff,
    /// Stop (normally) once every child has ended for good. Default false:
    /// as in Erlang/OTP, a supervisor stays up with no children running.
    pub auto_shutdown: bool,
}

impl Default for SupervisorSpec {
    fn default() -> Self {
        SupervisorSpec {
            strategy: Strategy::OneForOne,
            intensity: 1,
            period: Duration::from_secs(5),
            backoff: Backoff::none(),
            auto_shutdown: false,
        }
    }
}

impl SupervisorSpec {
    /// A spec with `strategy` and the Erlang defaults (1 restart in 5 s).
    pub fn new(strategy: Strategy) -> Self {
        SupervisorSpec {
            strategy,
            ..Self::default()
        }
    }
    /// With at most `restarts` restarts within `period`.
    pub fn intensity(mut self, restarts: u32, period: Duration) -> Self {
        self.intensity = restarts;
        self.period = period;
        self
    }
    /// With a default backoff for the children.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }
    /// Stop normally once every child has ended for good (temporary
    /// children, transient ones after a normal exit), so a loop whose work
    /// is done becomes idle.
    pub fn auto_shutdown(mut self, on: bool) -> Self {
        self.auto_shutdown = on;
        self
    }
}

type StartFn = Box<dyn FnMut(&mut Core, SpawnOptions) -> Result<ActorId, Error>>;

/// How to start one child, and how to treat it when it ends (R20).
///
/// The factory builds fresh state for every start, so a restarted child
/// never sees its previous incarnation's state (R24).
///
/// # Examples
///
/// ```
/// use jzx::{Actor, ChildSpec, Context, Flow, RestartMode};
/// use std::time::Duration;
///
/// struct Worker { jobs: u32 }
/// impl Actor for Worker {
///     type Msg = u32;
///     fn handle(&mut self, _cx: &mut Context<'_, Self>, n: u32) -> Flow {
///         self.jobs += n;
///         Flow::Continue
///     }
/// }
///
/// let spec = ChildSpec::new(|| Worker { jobs: 0 })
///     .mode(RestartMode::Transient)
///     .mailbox_cap(64)
///     .restart_delay(Duration::from_millis(10))
///     .name("worker");
/// assert_eq!(spec.get_mode(), RestartMode::Transient);
/// ```
pub struct ChildSpec {
    pub(crate) start: StartFn,
    pub(crate) msg_type: TypeId,
    pub(crate) mode: RestartMode,
    pub(crate) mailbox_cap: u32,
    pub(crate) restart_delay: Duration,
    pub(crate) backoff: Option<Backoff>,
    pub(crate) name: Option<String>,
}

impl ChildSpec {
    /// A child built by `factory` at every start.
    ///
    /// A factory that panics is a failed start, caught like a panic in a
    /// behavior, and so is a start the loop refuses (`MaxActors`, a taken
    /// name); the actor a refused start built is dropped, its destructor's
    /// panic caught too:
    /// - at the supervisor's spawn, the children started so far are stopped
    ///   (reverse order) and the spawn returns the error
    ///   ([`Error::FactoryPanicked`] for a panic);
    /// - at a restart, a failed start is a failure of the child, as in
    ///   Erlang/OTP: it counts toward the supervisor's intensity, and the
    ///   child is retried after its backoff (together with the children of
    ///   the same restart not started yet, which wait for it). Only
    ///   exceeding the intensity makes the supervisor stop its other
    ///   children in reverse start order and fail (R22).
    ///
    /// No child is ever left without its supervisor: no user code unwinds
    /// through it.
    pub fn new<A: Actor>(mut factory: impl FnMut() -> A + 'static) -> ChildSpec {
        Self::from_start(TypeId::of::<A::Msg>(), move |core, opts| {
            // A panic here is caught by the supervisor's `start_child` and
            // becomes `Error::FactoryPanicked`.
            core.spawn_with(factory(), opts).map(|a| a.id())
        })
    }

    /// A child built by `factory` at every start, and placed on loop
    /// `index` of the supervisor's [`Runtime`](crate::Runtime) (R28): the
    /// factory runs on the supervisor's loop and the actor moves there, so
    /// it must be `Send` (and so must its messages). Its exits reach the
    /// supervisor across loops and restarts place it there again; when the
    /// supervisor stops its children, one on another loop is stopped at
    /// that loop's next turn, and the supervisor waits for its end as for
    /// any other: the next child in reverse start order, a restart, or the
    /// report of the supervisor's own end (to its parent, monitors and
    /// links) only comes after it. On a lone loop, or with the supervisor's own
    /// index, it is an ordinary child; an index past the last loop is a
    /// start the loop refuses (see [`ChildSpec::new`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use jzx::{Actor, ChildSpec, Context, Flow};
    ///
    /// struct Worker;
    /// impl Actor for Worker {
    ///     type Msg = u32;
    ///     fn handle(&mut self, _cx: &mut Context<'_, Self>, _n: u32) -> Flow {
    ///         Flow::Continue
    ///     }
    /// }
    ///
    /// let spec = ChildSpec::on_loop(1, || Worker).name("worker-1");
    /// # let _ = spec;
    /// ```
    pub fn on_loop<A>(index: usize, mut factory: impl FnMut() -> A + 'static) -> ChildSpec
    where
        A: Actor + Send,
        A::Msg: Send,
    {
        Self::from_start(TypeId::of::<A::Msg>(), move |core, opts| {
            core.spawn_on_with(index, factory(), opts).map(|a| a.id())
        })
    }

    pub(crate) fn from_start(
        msg_type: TypeId,
        start: impl FnMut(&mut Core, SpawnOptions) -> Result<ActorId, Error> + 'static,
    ) -> ChildSpec {
        ChildSpec {
            start: Box::new(start),
            msg_type,
            mode: RestartMode::Permanent,
            mailbox_cap: 0,
            restart_delay: Duration::ZERO,
            backoff: None,
            name: None,
        }
    }

    /// The restart mode (default permanent).
    pub fn mode(mut self, mode: RestartMode) -> Self {
        self.mode = mode;
        self
    }
    /// The child's mailbox capacity (0: the loop's default).
    pub fn mailbox_cap(mut self, cap: u32) -> Self {
        self.mailbox_cap = cap;
        self
    }
    /// The base delay before a restart (default 0). Without a backoff of its
    /// own, the child uses the supervisor's, with this delay as its base.
    pub fn restart_delay(mut self, delay: Duration) -> Self {
        self.restart_delay = delay;
        self
    }
    /// The child's own backoff, overriding the supervisor's (R23).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = Some(backoff);
        self
    }
    /// A unique name, registered for every incarnation.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// The restart mode.
    pub fn get_mode(&self) -> RestartMode {
        self.mode
    }

    /// The backoff in force for this child: its own, else the supervisor's,
    /// with this child's restart delay as base when it has one (R23); with no
    /// backoff kind at all, the restart delay itself.
    pub(crate) fn effective_backoff(&self, sup: &Backoff) -> Backoff {
        match self.backoff {
            Some(own) => own,
            None if self.restart_delay.is_zero() => *sup,
            None => Backoff {
                base: self.restart_delay,
                ..*sup
            },
        }
    }
}

impl fmt::Debug for ChildSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildSpec")
            .field("mode", &self.mode)
            .field("mailbox_cap", &self.mailbox_cap)
            .field("restart_delay", &self.restart_delay)
            .field("backoff", &self.backoff)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}
