//! [`Runtime`]: N loops on N threads, one per core, with typed sends between
//! them (SPEC §11, R25–R27).
//!
//! Each loop is a whole [`Loop`] on a thread of its own, made and run there
//! (a loop is not `Send`): the runtime sends it closures (`Command`) to run
//! between runs — spawns, [`Runtime::on_loop`] — and one to run it. The
//! loops share nothing but the rings between each pair of them
//! (`core/peers.rs`) and their inboxes (for wakeups and stop requests).

use crate::backend::affinity;
use crate::core::peers;
use crate::id::MAX_LOOPS;
use crate::{Actor, Addr, Config, Core, Error, Loop, LoopHandle, Placement};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

/// How to build a [`Runtime`]. Zero fields mean their default.
#[derive(Clone, Debug, Default)]
pub struct RuntimeConfig {
    /// Loops (threads). Default: one per CPU the process may use
    /// (`std::thread::available_parallelism`); at most 255.
    pub loops: usize,
    /// Pins loop `i` to the `i`-th CPU the process may use (modulo their
    /// number). Linux only: elsewhere `Runtime::with_config` fails with
    /// `InvalidArg`. Default: off.
    pub pin: bool,
    /// Messages one loop may have sent to another and not yet had taken
    /// by it (the bound of each pair's ring, R26). Default 65,536.
    pub ring_cap: u32,
    /// How [`Runtime::spawn`] places actors.
    pub placement: Placement,
    /// The configuration of every loop.
    pub config: Config,
}

impl RuntimeConfig {
    /// Default of [`RuntimeConfig::ring_cap`].
    pub const DEFAULT_RING_CAP: u32 = 1 << 16;
}

/// Work for a loop's thread, run between runs.
type Command = Box<dyn FnOnce(&mut Loop) + Send>;

struct LoopThread {
    commands: Option<mpsc::Sender<Command>>,
    thread: Option<JoinHandle<()>>,
}

/// N loops on N threads, one per core, share-nothing, with typed sends
/// between them (R25–R27).
///
/// Every loop is a full [`Loop`]: its actors run only on its thread, and
/// inside a behavior the API is the same as on a lone loop. An actor's id
/// and address say which loop it lives on ([`ActorId::loop_index`]), and
/// [`Core::send`] to an actor on another loop is the same typed call: the
/// message goes through a bounded single-producer ring from the sending
/// loop to the receiving one, FIFO per pair of actors (see
/// [threading model](crate#threading-model)). There is no work stealing:
/// an actor stays on the loop it was spawned on.
///
/// [`Runtime::run`] runs every loop until each is idle (no live actors,
/// timers, watched fds or messages in flight) or a stop is requested
/// ([`Runtime::request_stop`], or [`RuntimeHandle::request_stop`] from an
/// actor or another thread), which stops them all. It can be called again.
///
/// # Examples
///
/// A producer on loop 0 sends to a consumer on loop 1:
///
/// ```
/// use jzx::{Actor, Addr, Context, Flow, Runtime};
///
/// struct Consumer { sum: u64 }
/// impl Actor for Consumer {
///     type Msg = u64;
///     fn handle(&mut self, _cx: &mut Context<'_, Self>, n: u64) -> Flow {
///         self.sum += n;
///         if n == 100 { Flow::Stop } else { Flow::Continue }
///     }
/// }
///
/// struct Producer { to: Addr<u64> }
/// impl Actor for Producer {
///     type Msg = ();
///     fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
///         for n in 1..=100 {
///             cx.send(self.to, n).unwrap(); // to another loop, same call
///         }
///         Flow::Stop
///     }
/// }
///
/// let mut rt = Runtime::new(2)?;
/// let consumer = rt.spawn_on(1, Consumer { sum: 0 })?;
/// let producer = rt.spawn_on(0, Producer { to: consumer })?;
/// assert_eq!((producer.id().loop_index(), consumer.id().loop_index()), (0, 1));
/// rt.handle().loop_handle(0).unwrap().send(producer, ()).unwrap();
/// rt.run()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`ActorId::loop_index`]: crate::ActorId::loop_index
/// [`Core::send`]: crate::Core::send
pub struct Runtime {
    threads: Vec<LoopThread>,
    handle: RuntimeHandle,
    placement: Placement,
    next: usize,
    /// Whether every loop is idle (set once the loops are connected).
    quiet: Option<Arc<peers::Quiet<Core>>>,
}

/// Reaches the loops of a [`Runtime`] from anywhere: `Send`, `Sync`,
/// `Clone`; an actor may keep one to stop the whole runtime.
#[derive(Clone)]
pub struct RuntimeHandle {
    loops: Vec<LoopHandle>,
}

impl RuntimeHandle {
    /// Asks every loop to stop after its current turn (R3 for each loop):
    /// the runtime's [`Runtime::run`] then returns.
    pub fn request_stop(&self) {
        for l in &self.loops {
            l.request_stop();
        }
    }

    /// The [`LoopHandle`] of loop `index`, for sends from threads that run
    /// no loop; `None` past the last loop.
    pub fn loop_handle(&self, index: usize) -> Option<&LoopHandle> {
        self.loops.get(index)
    }

    /// The number of loops.
    pub fn loops(&self) -> usize {
        self.loops.len()
    }
}

impl fmt::Debug for RuntimeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeHandle")
            .field("loops", &self.loops.len())
            .finish()
    }
}

impl Runtime {
    /// A runtime of `loops` loops (0: one per usable CPU) with the default
    /// configuration.
    ///
    /// # Errors
    ///
    /// As [`Runtime::with_config`].
    pub fn new(loops: usize) -> Result<Runtime, Error> {
        Self::with_config(RuntimeConfig {
            loops,
            ..RuntimeConfig::default()
        })
    }

    /// A runtime built from `config`: its threads are started and each
    /// makes its loop; they run actors only in [`Runtime::run`].
    ///
    /// # Errors
    ///
    /// `InvalidArg` for more than 255 loops, a virtual clock
    /// ([`Config::simulated`] is for a lone loop), or pinning where it is
    /// not available; any error of [`Loop::with_config`] from a loop.
    pub fn with_config(config: RuntimeConfig) -> Result<Runtime, Error> {
        let n = match config.loops {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        // Virtual time is one loop's: loops on threads of their own cannot
        // share it (a loop would jump to a deadline while another is about
        // to answer).
        if n > MAX_LOOPS || config.config.clock == crate::ClockKind::Virtual {
            return Err(Error::InvalidArg);
        }
        let cpus = if config.pin {
            Some(affinity::usable_cpus().ok_or(Error::InvalidArg)?)
        } else {
            None
        };
        let mut threads = Vec::with_capacity(n);
        let mut handles = Vec::with_capacity(n);
        for index in 0..n {
            let cpu = cpus.as_ref().map(|c| c[index % c.len()]);
            // Loop byte `index + 1`: 0 is a lone loop's (see `ActorId`).
            let (thread, handle) = start_loop(index as u8 + 1, config.config.clone(), cpu)?;
            threads.push(thread);
            handles.push(handle);
        }
        let mut rt = Runtime {
            threads,
            handle: RuntimeHandle { loops: handles },
            placement: config.placement,
            next: 0,
            quiet: None,
        };
        let remotes: Vec<_> = rt.handle.loops.iter().map(|h| h.remote().clone()).collect();
        let ring_cap = match config.ring_cap {
            0 => RuntimeConfig::DEFAULT_RING_CAP,
            c => c,
        };
        let keys = (0..n)
            .map(|i| rt.on_loop(i, |lp| lp.loop_key()))
            .collect::<Result<Vec<_>, _>>()?;
        let (peers, quiet) = peers::connect(&remotes, &keys, ring_cap as usize, config.placement);
        rt.quiet = Some(quiet);
        for (index, p) in peers.into_iter().enumerate() {
            rt.on_loop(index, move |lp| lp.attach_peers(p))?;
        }
        Ok(rt)
    }

    /// The number of loops.
    pub fn loops(&self) -> usize {
        self.threads.len()
    }

    /// A handle to stop the runtime or send into its loops from anywhere.
    pub fn handle(&self) -> RuntimeHandle {
        self.handle.clone()
    }

    /// Asks every loop to stop (see [`RuntimeHandle::request_stop`]).
    pub fn request_stop(&self) {
        self.handle.request_stop();
    }

    /// Runs `f` on loop `index`'s thread, with its loop, and returns what
    /// it returns: to spawn with options, register names, or build an actor
    /// that is not `Send` where it will live. Blocks until it has run; call
    /// it between runs.
    ///
    /// # Errors
    ///
    /// `InvalidArg` when `index` is past the last loop; `LoopPanicked` when
    /// `f` panicked (the loop goes on) or the loop's thread is gone.
    pub fn on_loop<R: Send + 'static>(
        &self,
        index: usize,
        f: impl FnOnce(&mut Loop) -> R + Send + 'static,
    ) -> Result<R, Error> {
        let thread = self.threads.get(index).ok_or(Error::InvalidArg)?;
        let commands = thread.commands.as_ref().ok_or(Error::LoopPanicked)?;
        let (tx, rx) = mpsc::channel();
        let command: Command = Box::new(move |lp| {
            let _ = tx.send(catch_unwind(AssertUnwindSafe(|| f(lp))));
        });
        commands.send(command).map_err(|_| Error::LoopPanicked)?;
        match rx.recv() {
            Ok(Ok(r)) => Ok(r),
            _ => Err(Error::LoopPanicked),
        }
    }

    /// Spawns `actor` on loop `index` (R27).
    ///
    /// # Errors
    ///
    /// As [`Runtime::on_loop`], and as [`Core::spawn`](crate::Core::spawn).
    pub fn spawn_on<A>(&mut self, index: usize, actor: A) -> Result<Addr<A::Msg>, Error>
    where
        A: Actor + Send,
        A::Msg: Send,
    {
        self.on_loop(index, move |lp| lp.spawn(actor))?
    }

    /// Spawns `actor` on the loop the runtime's [`Placement`] chooses.
    ///
    /// # Errors
    ///
    /// As [`Runtime::spawn_on`].
    pub fn spawn<A>(&mut self, actor: A) -> Result<Addr<A::Msg>, Error>
    where
        A: Actor + Send,
        A::Msg: Send,
    {
        let index = self.place()?;
        self.spawn_on(index, actor)
    }

    /// The loop the next [`Runtime::spawn`] goes to.
    ///
    /// # Errors
    ///
    /// `LoopPanicked` when a loop cannot be asked for its load.
    pub fn place(&mut self) -> Result<usize, Error> {
        match self.placement {
            Placement::RoundRobin => {
                let index = self.next % self.loops();
                self.next = index + 1;
                Ok(index)
            }
            Placement::LeastLoaded => {
                let mut best = (usize::MAX, 0);
                for index in 0..self.loops() {
                    let load = self.on_loop(index, |lp| lp.actor_count())?;
                    if load < best.0 {
                        best = (load, index);
                    }
                }
                Ok(best.1)
            }
        }
    }

    /// Runs every loop on its thread until all are idle or a stop is
    /// requested (R25); a loop that fails or panics stops the others.
    ///
    /// # Errors
    ///
    /// The first error of a loop's [`Loop::run`]; `LoopPanicked` when a
    /// loop panicked outside any behavior or its thread is gone.
    pub fn run(&mut self) -> Result<(), Error> {
        if let Some(q) = &self.quiet {
            q.reset();
        }
        let (tx, rx) = mpsc::channel();
        let mut started = 0;
        let mut result = Ok(());
        // Every loop is in the run before any starts, so that none takes a
        // loop that has not started yet for one that has ended (a loop stops
        // waiting for room in the rings of ended ones: `Core::peers_pending`).
        for l in &self.handle.loops {
            l.remote().set_in_runtime_run(true);
        }
        for (index, (thread, handle)) in self.threads.iter().zip(&self.handle.loops).enumerate() {
            let (tx, remote) = (tx.clone(), handle.remote().clone());
            let quiet = self.quiet.clone();
            let command: Command = Box::new(move |lp| {
                let r = catch_unwind(AssertUnwindSafe(|| lp.run()));
                remote.set_in_runtime_run(false);
                // A loop out of the run (stopped on its own, or failed) is
                // idle for the others: they may end theirs without it.
                if let Some(q) = &quiet {
                    q.go_idle(index);
                }
                let _ = tx.send(r.unwrap_or(Err(Error::LoopPanicked)));
            });
            match thread.commands.as_ref().map(|c| c.send(command)) {
                Some(Ok(())) => started += 1,
                _ => {
                    handle.remote().set_in_runtime_run(false);
                    result = Err(Error::LoopPanicked);
                }
            }
        }
        drop(tx);
        if result.is_err() {
            self.request_stop();
        }
        for _ in 0..started {
            if let Err(e) = rx.recv().unwrap_or(Err(Error::LoopPanicked)) {
                if result.is_ok() {
                    result = Err(e);
                }
                self.request_stop();
            }
        }
        // A stop asked for during the run is used up by it, also on loops
        // that had ended idle before it came (R3).
        for l in &self.handle.loops {
            l.take_stop();
        }
        result
    }
}

/// Starts the thread of loop `index`, pinned to `cpu` if given, and waits
/// for its loop to be made.
fn start_loop(
    index: u8,
    config: Config,
    cpu: Option<usize>,
) -> Result<(LoopThread, LoopHandle), Error> {
    let (commands, inbox) = mpsc::channel::<Command>();
    let (ready_tx, ready) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(format!("jzx-loop-{index}"))
        .spawn(move || {
            if let Some(cpu) = cpu {
                if !affinity::pin_to(cpu) {
                    let _ = ready_tx.send(Err(Error::InvalidArg));
                    return;
                }
            }
            let mut lp = match Loop::in_runtime(config, index) {
                Ok(lp) => lp,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(lp.handle()));
            while let Ok(command) = inbox.recv() {
                command(&mut lp);
                lp.publish_load();
            }
            // The runtime is dropped: the loop with it, on its thread.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(lp)));
        })
        .map_err(|_| Error::NoMemory)?;
    let handle = ready.recv().map_err(|_| Error::LoopPanicked)??;
    Ok((
        LoopThread {
            commands: Some(commands),
            thread: Some(thread),
        },
        handle,
    ))
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Closing the command channels ends each thread, which drops its
        // loop there (its actors' teardown runs on their own thread).
        for t in &mut self.threads {
            t.commands = None;
        }
        for t in &mut self.threads {
            if let Some(thread) = t.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("loops", &self.threads.len())
            .field("placement", &self.placement)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    //! A loop that panics outside any behavior, or whose thread has died,
    //! is reported by `run` (R25). Neither can happen through the public
    //! API, where user code is contained, so the panics are injected as
    //! runtime code: a control between loops, and a command to a loop's
    //! thread.
    use super::*;
    use crate::{Actor, Context, Flow};

    /// Sends itself a message at every turn: its loop is never idle, so a
    /// run ends only if it is stopped.
    struct Busy;

    impl Actor for Busy {
        type Msg = ();
        fn on_start(&mut self, cx: &mut Context<'_, Self>) {
            let me = cx.addr();
            cx.send(me, ()).unwrap();
        }
        fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
            let me = cx.addr();
            cx.send(me, ()).unwrap();
            Flow::Continue
        }
    }

    /// `rt.run()`, with a watchdog that stops it after 30 s: a hang fails
    /// the test instead of blocking it.
    fn run_watched(rt: &mut Runtime) -> Result<(), Error> {
        let handle = rt.handle();
        let (done, returned) = mpsc::channel::<()>();
        let dog = std::thread::spawn(move || {
            let late = returned.recv_timeout(std::time::Duration::from_secs(30))
                == Err(mpsc::RecvTimeoutError::Timeout);
            if late {
                handle.request_stop();
            }
            late
        });
        let result = rt.run();
        drop(done);
        assert!(!dog.join().unwrap(), "run did not return by itself");
        result
    }

    #[test]
    fn a_loop_that_panics_outside_any_behavior_fails_the_run_and_stops_the_others() {
        let mut rt = Runtime::new(2).unwrap();
        rt.spawn_on(0, Busy).unwrap();
        // Loop 1 runs this at its first turn, in its run, outside any
        // behavior.
        let posted = rt
            .on_loop(0, |lp| lp.post_to_loop(1, |_| panic!("injected")))
            .unwrap();
        assert!(posted);
        assert_eq!(run_watched(&mut rt), Err(Error::LoopPanicked));
        // Both threads are still there; loop 0's actor was stopped, not
        // torn down.
        assert_eq!(rt.on_loop(0, |lp| lp.actor_count()), Ok(1));
        assert_eq!(rt.on_loop(1, |lp| lp.actor_count()), Ok(0));
    }

    #[test]
    fn a_loop_whose_thread_has_died_is_reported_by_run_and_on_loop() {
        let mut rt = Runtime::new(2).unwrap();
        rt.spawn_on(0, Busy).unwrap();
        let died: Command = Box::new(|_| panic!("injected"));
        rt.threads[1].commands.as_ref().unwrap().send(died).unwrap();
        let thread = rt.threads[1].thread.take().unwrap();
        assert!(thread.join().is_err(), "the thread died of the panic");
        assert_eq!(run_watched(&mut rt), Err(Error::LoopPanicked));
        assert_eq!(rt.on_loop(1, |_| ()), Err(Error::LoopPanicked));
        // The live loop ran, was stopped, and still answers.
        assert_eq!(rt.on_loop(0, |lp| lp.actor_count()), Ok(1));
    }
}
