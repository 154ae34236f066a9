//! Property tests over random programs on simulated loops
//! (`Config::simulated`, `jzx::sim`), with proptest.
//!
//! A program is a loop seed (the shuffled run order) plus a list of ops:
//! spawns of workers with small mailboxes (1 to 8, so that sends are
//! refused), numbered sends between workers, commands relayed from worker
//! to worker, stops and fails (of a worker by itself or by id), one-shot
//! timers, intervals that are cancelled later, and fd watches on
//! `sim::fd_pair` ends with writes that make them readable, unwatches and
//! rewatches. Each op runs either from the test before `run` or inside a
//! worker's behavior (the test hands it over as a command message, at
//! once or on a timer). Every worker stops by itself at the end of a
//! lifetime set when it is spawned, so every program ends.
//!
//! Every message carries a serial and a tag whose destructor records what
//! became of it. The properties, checked on every backend:
//!
//! - each message is accounted exactly once: delivered (to the worker it
//!   was sent to), handed back in a `SendError`, or dropped by the runtime
//!   because its receiver died (or its interval was cancelled); none twice,
//!   none lost;
//! - a send is refused with `MailboxFull` exactly when the target's user
//!   lane holds its capacity, with `NoSuchActor` exactly when the target is
//!   dead; stops, cancels and unwatches succeed or fail as the program's
//!   state says they must;
//! - messages from one sender to one receiver are delivered in the order
//!   sent (FIFO per pair);
//! - readiness never reaches a worker whose fd is not watched, a child
//!   exit is reported once, for a dead child, and no timer message arrives
//!   before its virtual deadline;
//! - `run` returns `Ok` with no actor, timer, watch or bridge registration
//!   left;
//! - the run is deterministic: `sim::check_replay` runs it twice with the
//!   same trace hash, and the two runs account every message in the same
//!   order.
//!
//! # Replaying a seed
//!
//! A failing case panics with its loop seed and the minimal program
//! proptest shrank it to. Each case's ops are generated from its loop seed,
//! so the seed alone replays the original (unshrunk) case:
//!
//! ```text
//! JZX_SIM_SEED=<u64> cargo test --test sim_props -- --nocapture
//! ```
//!
//! runs that one program (every test of this file then runs only it) and
//! prints it with its trace hashes. `JZX_SIM_CASES=<n>` runs more random
//! cases than the default. No regression files are written
//! (`failure_persistence: None`): the seed in the panic message is the
//! record.
mod util;

use jzx::sim;
use jzx::{
    Actor, ActorId, Addr, BackendKind, ChildExit, Config, Context, Core, Error, Flow, Interest,
    IoEvent, Observer, SendError, SpawnOptions, StopReason, TimerId,
};
use proptest::prelude::*;
use proptest::strategy::{NewTree, ValueTree};
use proptest::test_runner::{
    Config as PropConfig, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

/// Random cases per run of the property (each on every backend, twice).
const CASES: u32 = 256;
/// Real time a run may take before the watchdog stops it (a run takes
/// about a millisecond).
const RUN_LIMIT: Duration = Duration::from_secs(2);
/// Workers a program spawns at most.
const MAX_WORKERS: usize = 24;
/// The sender index of the test itself.
const TEST: u32 = u32::MAX;

// ------------------------------------------------------------- programs

/// What an op does. Worker indices (`u8`) are taken modulo the number of
/// workers spawned so far, when the op runs.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Act {
    /// Spawns a worker (linked to the executor when an actor spawns it)
    /// that stops itself after `life_ms`; with `fd`, it watches one end of
    /// an fd pair whose other end anyone may write to.
    Spawn { cap: u32, life_ms: u64, fd: bool },
    /// `k` numbered messages to `to`.
    Send { to: u8, k: u8 },
    /// A command to `via`: send `k` messages to `to`.
    Relay { via: u8, to: u8, k: u8 },
    /// `who` stops: by returning `Flow::Stop` if it is the executor, else
    /// by id.
    Stop { who: u8 },
    /// `who` fails, by id (`fail_actor`, on itself too: it takes effect
    /// when the behavior returns).
    Fail { who: u8 },
    /// A message to `to` after `delay_ms`.
    After { to: u8, delay_ms: u64 },
    /// An interval to `to`, cancelled after `cancel_ms` (by the executor,
    /// or by `to` when the test set it).
    Interval {
        to: u8,
        period_ms: u64,
        cancel_ms: u64,
    },
    /// `n` bytes into the fd pair of `to`.
    Write { to: u8, n: u8 },
    /// Unwatches the fd of `who`.
    Unwatch { who: u8 },
    /// Watches the fd of `who` again.
    Rewatch { who: u8 },
}

/// Who runs an op.
#[derive(Clone, Debug, PartialEq, Eq)]
enum By {
    /// The test, before `run`.
    Test,
    /// Worker `w`, handed the op as a command: a message at once, or a
    /// timer message after `delay_ms`.
    Actor { w: u8, delay_ms: Option<u64> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Op {
    by: By,
    act: Act,
}

/// A worker the test spawns before anything else.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Spawn {
    cap: u32,
    life_ms: u64,
    fd: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Program {
    /// The loop seed (`Config::simulated`); the ops are generated from it.
    seed: u64,
    initial: Vec<Spawn>,
    ops: Vec<Op>,
}

fn spawn_args() -> impl Strategy<Value = (u32, u64, bool)> {
    (1u32..=8, 1u64..=400, any::<bool>())
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        2 => spawn_args().prop_map(|(cap, life_ms, fd)| Act::Spawn { cap, life_ms, fd }),
        4 => (any::<u8>(), 1u8..=8).prop_map(|(to, k)| Act::Send { to, k }),
        2 => (any::<u8>(), any::<u8>(), 1u8..=8).prop_map(|(via, to, k)| Act::Relay { via, to, k }),
        1 => any::<u8>().prop_map(|who| Act::Stop { who }),
        1 => any::<u8>().prop_map(|who| Act::Fail { who }),
        2 => (any::<u8>(), 0u64..=100).prop_map(|(to, delay_ms)| Act::After { to, delay_ms }),
        1 => (any::<u8>(), 1u64..=40, 0u64..=200).prop_map(|(to, period_ms, cancel_ms)| {
            Act::Interval { to, period_ms, cancel_ms }
        }),
        2 => (any::<u8>(), 1u8..=32).prop_map(|(to, n)| Act::Write { to, n }),
        1 => any::<u8>().prop_map(|who| Act::Unwatch { who }),
        1 => any::<u8>().prop_map(|who| Act::Rewatch { who }),
    ]
}

fn by() -> impl Strategy<Value = By> {
    prop_oneof![
        1 => Just(By::Test),
        3 => (any::<u8>(), proptest::option::of(0u64..=300))
            .prop_map(|(w, delay_ms)| By::Actor { w, delay_ms }),
    ]
}

type Body = (Vec<Spawn>, Vec<Op>);

fn body() -> BoxedStrategy<Body> {
    let spawn = spawn_args().prop_map(|(cap, life_ms, fd)| Spawn { cap, life_ms, fd });
    let op = (by(), act()).prop_map(|(by, act)| Op { by, act });
    (
        proptest::collection::vec(spawn, 1..=4),
        proptest::collection::vec(op, 0..=40),
    )
        .boxed()
}

/// The ops of the program with loop seed `seed`, as a shrinkable tree: a
/// runner of their own, seeded with `seed`, generates them.
fn body_tree(seed: u64) -> Result<Box<dyn ValueTree<Value = Body>>, proptest::test_runner::Reason> {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(PropConfig::default(), rng);
    body().new_tree(&mut runner)
}

/// The program generated from `seed` (what `JZX_SIM_SEED` replays).
fn program_from_seed(seed: u64) -> Program {
    ProgramTree {
        seed,
        body: body_tree(seed).expect("ops from a seed"),
    }
    .current()
}

/// Programs: a random loop seed, and ops generated from it. Shrinking
/// shrinks the ops and keeps the seed.
#[derive(Debug)]
struct Programs;

struct ProgramTree {
    seed: u64,
    body: Box<dyn ValueTree<Value = Body>>,
}

impl Strategy for Programs {
    type Tree = ProgramTree;
    type Value = Program;
    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        let seed = any::<u64>().new_tree(runner)?.current();
        Ok(ProgramTree {
            seed,
            body: body_tree(seed)?,
        })
    }
}

impl ValueTree for ProgramTree {
    type Value = Program;
    fn current(&self) -> Program {
        let (initial, ops) = self.body.current();
        Program {
            seed: self.seed,
            initial,
            ops,
        }
    }
    fn simplify(&mut self) -> bool {
        self.body.simplify()
    }
    fn complicate(&mut self) -> bool {
        self.body.complicate()
    }
}

// ---------------------------------------------------------- the ledger

/// What became of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Delivered,
    HandedBack(Error),
    /// Dropped by the runtime (its receiver died, or its interval was
    /// cancelled).
    Dropped,
}

/// Which lane of the receiver's mailbox a message takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lane {
    /// A send: bounded by the capacity, FIFO per sender.
    User,
    /// A timer's message.
    Timer,
}

/// How many times each path was taken (the coverage test reads them).
#[derive(Clone, Copy, Debug, Default)]
struct Stats {
    delivered: u64,
    full: u64,
    no_such_actor: u64,
    dropped: u64,
    cancelled: u64,
    cancel_too_late: u64,
    io_events: u64,
    child_exits: u64,
    killed_by_id: u64,
    unwatched: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.delivered += o.delivered;
        self.full += o.full;
        self.no_such_actor += o.no_such_actor;
        self.dropped += o.dropped;
        self.cancelled += o.cancelled;
        self.cancel_too_late += o.cancel_too_late;
        self.io_events += o.io_events;
        self.child_exits += o.child_exits;
        self.killed_by_id += o.killed_by_id;
        self.unwatched += o.unwatched;
    }
}

struct WorkerInfo {
    addr: Addr<Msg>,
    cap: u32,
    /// Accepted sends not yet delivered (its user lane, while it lives).
    pending: u32,
    fd: Option<RawFd>,
    writer: Option<UnixStream>,
    watching: bool,
    written: u64,
    read: u64,
    parent: Option<u32>,
    exits: u32,
}

#[derive(Default)]
struct State {
    /// What became of each message, by serial (one entry each, at the end).
    fates: Vec<Vec<Fate>>,
    workers: Vec<WorkerInfo>,
    /// The last serial delivered per (sender, receiver).
    last: HashMap<(u32, u32), u64>,
    /// Actors whose stop the observer reported (raw ids).
    dead: HashSet<u64>,
    /// The interval payload a `cancel_timer` call may drop.
    cancelling: Option<u64>,
    errors: Vec<String>,
    /// Every fate in the order it happened, hashed.
    digest: u64,
    stats: Stats,
}

impl State {
    fn error(&mut self, e: String) {
        if self.errors.len() < 16 {
            self.errors.push(e);
        }
    }
    fn is_dead(&self, w: u32) -> bool {
        self.dead
            .contains(&self.workers[w as usize].addr.id().to_raw())
    }
}

/// The state of one run of a program, shared by the test, its workers,
/// its messages and its observer. Borrowed only briefly, never across a
/// call into the loop (which may drop messages, whose tags borrow it).
struct World {
    st: RefCell<State>,
    /// A tag found the state borrowed: its record is missing.
    reentered: Cell<bool>,
}

impl World {
    fn new() -> Rc<World> {
        Rc::new(World {
            st: RefCell::new(State {
                digest: 0xcbf2_9ce4_8422_2325,
                ..State::default()
            }),
            reentered: Cell::new(false),
        })
    }

    fn st(&self) -> std::cell::RefMut<'_, State> {
        self.st.borrow_mut()
    }

    fn error(&self, e: String) {
        self.st().error(e);
    }

    fn workers(&self) -> u32 {
        self.st().workers.len() as u32
    }

    /// The address of worker `w` and whether it is dead.
    fn target(&self, w: u32) -> (Addr<Msg>, bool) {
        let st = self.st();
        (st.workers[w as usize].addr, st.is_dead(w))
    }

    fn msg(self: &Rc<Self>, from: u32, to: u32, lane: Lane, body: Cmd) -> Msg {
        let mut st = self.st();
        let serial = st.fates.len() as u64;
        st.fates.push(Vec::new());
        let to_id = st.workers[to as usize].addr.id().to_raw();
        Msg {
            tag: Tag {
                serial,
                from,
                to,
                to_id,
                lane,
                due: None,
                fate: None,
                world: Rc::clone(self),
            },
            body,
        }
    }
}

fn mix(mut h: u64, v: u64) -> u64 {
    for b in v.to_le_bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A message's identity; its destructor records the message's fate.
struct Tag {
    serial: u64,
    from: u32,
    to: u32,
    to_id: u64,
    lane: Lane,
    /// A one-shot timer's message: the virtual time it is due at.
    due: Option<Duration>,
    fate: Option<Fate>,
    world: Rc<World>,
}

impl Drop for Tag {
    fn drop(&mut self) {
        // Never panics: the runtime drops messages under `catch_unwind`,
        // which would hide it, and a panic while unwinding would abort.
        let fate = self.fate.take().unwrap_or(Fate::Dropped);
        let Ok(mut st) = self.world.st.try_borrow_mut() else {
            self.world.reentered.set(true);
            return;
        };
        if fate == Fate::Dropped {
            if st.dead.contains(&self.to_id) || st.cancelling == Some(self.serial) {
                st.stats.dropped += 1;
            } else {
                let e = format!(
                    "message {} ({:?} lane, {} -> {}) dropped while its receiver lives",
                    self.serial, self.lane, self.from, self.to
                );
                st.error(e);
            }
        }
        let code = match fate {
            Fate::Delivered => 1,
            Fate::HandedBack(e) => 2 + e.code().unsigned_abs() as u64,
            Fate::Dropped => 100,
        };
        st.digest = mix(mix(st.digest, self.serial), code);
        match st.fates.get_mut(self.serial as usize) {
            Some(f) => f.push(fate),
            None => st.error(format!("message {} was never made", self.serial)),
        }
    }
}

/// What a worker receives.
#[derive(Clone, Debug)]
enum Cmd {
    Data,
    /// An interval's message.
    Tick,
    /// Run this op.
    Run(Act),
    /// The end of the worker's lifetime.
    Quit,
    /// Cancel this interval, whose payload has this serial.
    Cancel {
        timer: TimerId,
        payload: u64,
    },
}

struct Msg {
    tag: Tag,
    body: Cmd,
}

impl Clone for Msg {
    /// An interval's next delivery: a new message, with a serial of its own.
    fn clone(&self) -> Msg {
        let t = &self.tag;
        t.world.msg(t.from, t.to, Lane::Timer, self.body.clone())
    }
}

// -------------------------------------------------------- interpreter

/// A refused message: recorded as handed back, checked against what the
/// program's state says the refusal must be.
fn handed_back(world: &World, e: SendError<Msg>, dead: bool, full: bool) {
    let SendError { error, mut message } = e;
    message.tag.fate = Some(Fate::HandedBack(error));
    let expected = if dead {
        Error::NoSuchActor
    } else if full {
        Error::MailboxFull
    } else {
        Error::Unknown // any refusal is wrong
    };
    {
        let mut st = world.st();
        match error {
            Error::NoSuchActor => st.stats.no_such_actor += 1,
            Error::MailboxFull => st.stats.full += 1,
            _ => {}
        }
        if error != expected {
            let e = format!(
                "send of message {} to worker {} refused with {error:?} (dead {dead}, full {full})",
                message.tag.serial, message.tag.to
            );
            st.error(e);
        }
    }
    drop(message);
}

/// A send from `from` to worker `to`.
fn send_user(core: &mut Core, world: &Rc<World>, from: u32, to: u32, body: Cmd) {
    let (addr, dead, full) = {
        let st = world.st();
        let w = &st.workers[to as usize];
        (w.addr, st.is_dead(to), w.pending >= w.cap)
    };
    let msg = world.msg(from, to, Lane::User, body);
    match core.send(addr, msg) {
        Ok(()) => {
            let mut st = world.st();
            st.workers[to as usize].pending += 1;
            if dead || full {
                st.error(format!(
                    "send to worker {to} accepted (dead {dead}, full {full})"
                ));
            }
        }
        Err(e) => handed_back(world, e, dead, full),
    }
}

/// A timer message from `from` to worker `to` after `delay_ms`.
fn send_timer(
    core: &mut Core,
    world: &Rc<World>,
    from: u32,
    to: u32,
    delay_ms: u64,
    body: Cmd,
) -> Option<TimerId> {
    let (addr, dead) = world.target(to);
    let mut msg = world.msg(from, to, Lane::Timer, body);
    msg.tag.due = Some(core.now() + Duration::from_millis(delay_ms));
    match core.send_after(addr, Duration::from_millis(delay_ms), msg) {
        Ok(timer) => {
            if dead {
                world.error(format!("timer to dead worker {to} accepted"));
            }
            Some(timer)
        }
        Err(e) => {
            handed_back(world, e, dead, false);
            None
        }
    }
}

fn spawn_worker(core: &mut Core, world: &Rc<World>, by: u32, parent: Option<ActorId>, s: &Spawn) {
    let idx = world.workers();
    if idx as usize >= MAX_WORKERS {
        return;
    }
    let (end, writer) = if s.fd {
        let (a, b) = sim::fd_pair().expect("fd pair");
        (Some(a), Some(b))
    } else {
        (None, None)
    };
    let fd = end.as_ref().map(AsRawFd::as_raw_fd);
    let mut opts = SpawnOptions::new().mailbox_cap(s.cap);
    if let Some(p) = parent {
        opts = opts.parent(p);
    }
    let worker = Worker {
        idx,
        world: Rc::clone(world),
        end,
    };
    let addr = match core.spawn_with(worker, opts) {
        Ok(addr) => addr,
        Err(e) => return world.error(format!("spawn refused: {e:?}")),
    };
    world.st().workers.push(WorkerInfo {
        addr,
        cap: s.cap,
        pending: 0,
        fd,
        writer,
        watching: false,
        written: 0,
        read: 0,
        parent: parent.map(|_| by),
        exits: 0,
    });
    if let Some(fd) = fd {
        match core.watch_fd(fd, addr.id(), Interest::READ) {
            Ok(()) => world.st().workers[idx as usize].watching = true,
            Err(e) => world.error(format!("watch of worker {idx}'s fd refused: {e:?}")),
        }
    }
    if send_timer(core, world, by, idx, s.life_ms, Cmd::Quit).is_none() {
        world.error(format!("worker {idx} got no lifetime"));
    }
}

/// Runs `act` for `by` (a worker's index, or `TEST`); `me` is the running
/// worker's id. Returns how the running worker goes on.
fn exec(core: &mut Core, world: &Rc<World>, by: u32, me: Option<ActorId>, act: &Act) -> Flow {
    let n = world.workers();
    if n == 0 {
        return Flow::Continue;
    }
    let pick = |x: u8| u32::from(x) % n;
    match *act {
        Act::Spawn { cap, life_ms, fd } => {
            spawn_worker(core, world, by, me, &Spawn { cap, life_ms, fd });
        }
        Act::Send { to, k } => {
            for _ in 0..k {
                send_user(core, world, by, pick(to), Cmd::Data);
            }
        }
        Act::Relay { via, to, k } => {
            send_user(core, world, by, pick(via), Cmd::Run(Act::Send { to, k }));
        }
        Act::Stop { who } | Act::Fail { who } => {
            let stop = matches!(act, Act::Stop { .. });
            let w = pick(who);
            if w == by {
                // Itself: a stop by returning `Flow::Stop`; a fail by id,
                // which takes effect when the behavior returns.
                if stop {
                    return Flow::Stop;
                }
                if let Err(e) = core.fail_actor(me.expect("a worker runs this")) {
                    world.error(format!("worker {w} could not fail itself: {e:?}"));
                }
                return Flow::Continue;
            }
            let (addr, dead) = world.target(w);
            let r = if stop {
                core.stop_actor(addr.id())
            } else {
                core.fail_actor(addr.id())
            };
            let mut st = world.st();
            match r {
                Ok(()) if !dead => st.stats.killed_by_id += 1,
                Err(Error::NoSuchActor) if dead => {}
                r => st.error(format!("stop/fail of worker {w} (dead {dead}): {r:?}")),
            }
        }
        Act::After { to, delay_ms } => {
            send_timer(core, world, by, pick(to), delay_ms, Cmd::Data);
        }
        Act::Interval {
            to,
            period_ms,
            cancel_ms,
        } => {
            let t = pick(to);
            let (addr, dead) = world.target(t);
            let msg = world.msg(by, t, Lane::Timer, Cmd::Tick);
            let payload = msg.tag.serial;
            match core.send_interval(addr, Duration::from_millis(period_ms), msg) {
                Ok(timer) => {
                    if dead {
                        world.error(format!("interval to dead worker {t} accepted"));
                    }
                    let canceller = if by == TEST { t } else { by };
                    send_timer(
                        core,
                        world,
                        by,
                        canceller,
                        cancel_ms,
                        Cmd::Cancel { timer, payload },
                    );
                }
                Err(e) => handed_back(world, e, dead, false),
            }
        }
        Act::Write { to, n } => {
            let w = pick(to);
            let mut st = world.st();
            if st.is_dead(w) {
                return Flow::Continue;
            }
            let info = &mut st.workers[w as usize];
            let Some(writer) = info.writer.as_mut() else {
                return Flow::Continue;
            };
            match writer.write(&vec![n; usize::from(n)]) {
                Ok(k) => info.written += k as u64,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => st.error(format!("write to worker {w}: {e}")),
            }
        }
        Act::Unwatch { who } | Act::Rewatch { who } => {
            let w = pick(who);
            let (fd, id, watching) = {
                let st = world.st();
                let info = &st.workers[w as usize];
                // A dead worker's fd is closed, and its number may be
                // another's by now.
                if st.is_dead(w) {
                    return Flow::Continue;
                }
                let Some(fd) = info.fd else {
                    return Flow::Continue;
                };
                (fd, info.addr.id(), info.watching)
            };
            if matches!(act, Act::Unwatch { .. }) {
                let r = core.unwatch_fd(fd);
                let mut st = world.st();
                match r {
                    Ok(()) if watching => st.stats.unwatched += 1,
                    Err(Error::IoNotWatched) if !watching => {}
                    r => st.error(format!(
                        "unwatch of worker {w} (watching {watching}): {r:?}"
                    )),
                }
                st.workers[w as usize].watching = false;
            } else {
                let r = core.watch_fd(fd, id, Interest::READ);
                let mut st = world.st();
                match r {
                    Ok(()) => st.workers[w as usize].watching = true,
                    Err(e) => st.error(format!("rewatch of worker {w}: {e:?}")),
                }
            }
        }
    }
    Flow::Continue
}

/// Cancels an interval; whether that must succeed follows from whether its
/// payload is gone already (its target died).
fn cancel(core: &mut Core, world: &World, timer: TimerId, payload: u64) {
    let gone = !world.st().fates[payload as usize].is_empty();
    world.st().cancelling = Some(payload);
    let r = core.cancel_timer(timer);
    let mut st = world.st();
    st.cancelling = None;
    let dropped_now = st.fates[payload as usize] == [Fate::Dropped];
    match r {
        Ok(()) if !gone && dropped_now => st.stats.cancelled += 1,
        Err(Error::TimerInvalid) if gone => st.stats.cancel_too_late += 1,
        r => st.error(format!(
            "cancel of the interval with payload {payload} (gone {gone}): {r:?}"
        )),
    }
}

/// A worker of a program.
struct Worker {
    idx: u32,
    world: Rc<World>,
    /// Its watched end of an fd pair.
    end: Option<UnixStream>,
}

impl Actor for Worker {
    type Msg = Msg;

    fn handle(&mut self, cx: &mut Context<'_, Self>, msg: Msg) -> Flow {
        let Msg { mut tag, body } = msg;
        {
            let mut st = self.world.st();
            if tag.to != self.idx {
                st.error(format!(
                    "message {} for worker {} delivered to worker {}",
                    tag.serial, tag.to, self.idx
                ));
            }
            if tag.lane == Lane::User {
                let last = st.last.insert((tag.from, tag.to), tag.serial);
                if last.is_some_and(|l| l >= tag.serial) {
                    st.error(format!(
                        "FIFO broken from {} to {}: message {} after {}",
                        tag.from,
                        tag.to,
                        tag.serial,
                        last.unwrap_or(0)
                    ));
                }
                let w = &mut st.workers[self.idx as usize];
                match w.pending.checked_sub(1) {
                    Some(p) => w.pending = p,
                    None => st.error(format!("worker {} got an unsent message", self.idx)),
                }
            }
            if tag.due.is_some_and(|due| cx.now() < due) {
                st.error(format!(
                    "timer message {} delivered at {:?}, due at {:?}",
                    tag.serial,
                    cx.now(),
                    tag.due
                ));
            }
            st.stats.delivered += 1;
        }
        tag.fate = Some(Fate::Delivered);
        drop(tag);
        let me = Some(cx.id());
        match body {
            Cmd::Data | Cmd::Tick => Flow::Continue,
            Cmd::Quit => Flow::Stop,
            Cmd::Run(act) => exec(cx, &self.world, self.idx, me, &act),
            Cmd::Cancel { timer, payload } => {
                cancel(cx, &self.world, timer, payload);
                Flow::Continue
            }
        }
    }

    fn on_io(&mut self, _cx: &mut Context<'_, Self>, event: IoEvent) -> Flow {
        let mut st = self.world.st();
        st.stats.io_events += 1;
        let idx = self.idx;
        let Some(end) = self.end.as_mut() else {
            st.error(format!("readiness for worker {idx}, which has no fd"));
            return Flow::Continue;
        };
        if event.fd != end.as_raw_fd() {
            st.error(format!("readiness of fd {} for worker {idx}", event.fd));
        }
        if !st.workers[idx as usize].watching {
            st.error(format!("readiness for worker {idx} after its unwatch"));
        }
        let mut buf = [0u8; 256];
        loop {
            match end.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => st.workers[idx as usize].read += k as u64,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => {
                    st.error(format!("read of worker {idx}: {e}"));
                    break;
                }
            }
        }
        Flow::Continue
    }

    fn on_child_exit(&mut self, _cx: &mut Context<'_, Self>, exit: ChildExit) -> Flow {
        let mut st = self.world.st();
        st.stats.child_exits += 1;
        let child = st.workers.iter().position(|w| w.addr.id() == exit.child);
        match child {
            Some(c) => {
                let w = &mut st.workers[c];
                w.exits += 1;
                let (exits, parent) = (w.exits, w.parent);
                if exits > 1 || parent != Some(self.idx) || !st.is_dead(c as u32) {
                    st.error(format!(
                        "exit #{exits} of worker {c} (parent {parent:?}) told to worker {}",
                        self.idx
                    ));
                }
            }
            None => st.error(format!("exit of an unknown child {:?}", exit.child)),
        }
        Flow::Continue
    }
}

/// Records the stops the loop reports.
struct Deaths(Rc<World>);

impl Observer for Deaths {
    fn on_actor_stop(&mut self, id: ActorId, _reason: StopReason) {
        let mut st = self.0.st();
        if !st.dead.insert(id.to_raw()) {
            st.error(format!("{id:?} stopped twice"));
        }
    }
}

// ------------------------------------------------------------- checks

/// One run of `p` on `lp`: what it accounted, in order, and its stats.
fn run_once(lp: &mut jzx::Loop, p: &Program) -> Result<(u64, Stats), String> {
    let world = World::new();
    lp.set_observer(Deaths(Rc::clone(&world)));
    for s in &p.initial {
        spawn_worker(lp, &world, TEST, None, s);
    }
    for op in &p.ops {
        match op.by {
            By::Test => {
                exec(lp, &world, TEST, None, &op.act);
            }
            By::Actor { w, delay_ms } => {
                let w = u32::from(w) % world.workers();
                let cmd = Cmd::Run(op.act.clone());
                match delay_ms {
                    None => send_user(lp, &world, TEST, w, cmd),
                    Some(d) => {
                        send_timer(lp, &world, TEST, w, d, cmd);
                    }
                }
            }
        }
    }
    // A watchdog: a program that never ends (an actor, timer or watch the
    // runtime failed to remove keeps `run` going) fails instead of hanging.
    let (done, wait) = mpsc::channel::<()>();
    let handle = lp.handle();
    let dog = std::thread::spawn(move || {
        let fired = wait.recv_timeout(RUN_LIMIT).is_err();
        if fired {
            handle.request_stop();
        }
        fired
    });
    let run = lp.run();
    let _ = done.send(());
    if dog.join().expect("watchdog") {
        world.error(format!(
            "run did not return within {RUN_LIMIT:?} (real time)"
        ));
    }
    run.map_err(|e| format!("run failed: {e:?}"))?;
    let counts = (
        lp.actor_count(),
        lp.timer_count(),
        lp.watch_count(),
        lp.bridge_watch_count(),
    );
    let mut st = world.st();
    if counts != (0, 0, 0, 0) {
        let e = format!("after run: (actors, timers, watches, bridge watches) = {counts:?}");
        st.error(e);
    }
    if world.reentered.get() {
        st.error("a message was dropped while the ledger was in use".into());
    }
    for (serial, fates) in st.fates.iter().enumerate() {
        if fates.len() != 1 {
            let e = format!("message {serial}: {fates:?} (want exactly one fate)");
            st.errors.push(e);
            break;
        }
    }
    for w in 0..st.workers.len() as u32 {
        let info = &st.workers[w as usize];
        if info.read > info.written {
            let e = format!("worker {w} read {} of {} bytes", info.read, info.written);
            st.error(e);
        }
        if !st.is_dead(w) {
            st.error(format!("worker {w} was never reported stopped"));
        }
    }
    match st.errors.first() {
        Some(_) => Err(st.errors.join("; ")),
        None => Ok((st.digest, st.stats)),
    }
}

/// What a checked program gives: its trace hash per backend, and stats.
struct Checked {
    hashes: Vec<u64>,
    stats: Stats,
}

/// Runs `p` on every backend in `backends`, twice each
/// (`sim::check_replay`), and checks every property.
fn check_program(p: &Program, backends: &[BackendKind]) -> Result<Checked, String> {
    let mut out = Checked {
        hashes: Vec::new(),
        stats: Stats::default(),
    };
    for &backend in backends {
        let config = Config {
            backend,
            ..Config::simulated(p.seed)
        };
        let mut runs = Vec::new();
        let replay = sim::check_replay(config, |lp| {
            runs.push(run_once(lp, p));
            Ok(())
        });
        let fail = |why: String| format!("loop seed {} on {backend:?}: {why}", p.seed);
        let hash = replay.map_err(|e| fail(e.to_string()))?;
        let (first, second) = match (runs.remove(0), runs.remove(0)) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return Err(fail(e)),
        };
        if first.0 != second.0 {
            return Err(fail(format!(
                "two runs accounted messages differently: {:#x} then {:#x}",
                first.0, second.0
            )));
        }
        out.hashes.push(hash);
        out.stats.add(&first.1);
    }
    Ok(out)
}

/// `JZX_SIM_SEED`, decimal or `0x` hex.
fn env_seed() -> Option<u64> {
    let s = std::env::var("JZX_SIM_SEED").ok()?;
    let s = s.trim();
    let seed = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    Some(seed.unwrap_or_else(|e| panic!("JZX_SIM_SEED={s}: {e}")))
}

fn cases() -> u32 {
    std::env::var("JZX_SIM_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(CASES)
}

/// Runs the program generated from `seed` and prints it with its hashes.
fn replay(seed: u64) -> Checked {
    let p = program_from_seed(seed);
    eprintln!("JZX_SIM_SEED={seed}: {p:#?}");
    match check_program(&p, &util::backends()) {
        Ok(c) => {
            eprintln!("trace hashes: {:x?}; {:?}", c.hashes, c.stats);
            c
        }
        Err(e) => panic!("{e}\nprogram: {p:#?}"),
    }
}

#[test]
fn random_programs_keep_every_property() {
    if let Some(seed) = env_seed() {
        replay(seed);
        return;
    }
    let backends = util::backends();
    let mut runner = TestRunner::new(PropConfig {
        cases: cases(),
        // The seed in the panic message replays a failure; no files.
        failure_persistence: None,
        max_shrink_iters: 4096,
        // Shrinking a program that hangs costs `RUN_LIMIT` per attempt.
        max_shrink_time: 60_000,
        ..PropConfig::default()
    });
    let result = runner.run(&Programs, |p| {
        check_program(&p, &backends)
            .map(drop)
            .map_err(TestCaseError::fail)
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(why, p)) => panic!(
            "{why}\n\nloop seed {seed}: JZX_SIM_SEED={seed} cargo test --test sim_props \
             replays the original case; the minimal failing program is {p:#?}",
            seed = p.seed
        ),
        Err(TestError::Abort(why)) => panic!("proptest gave up: {why}"),
    }
}

#[test]
fn a_seed_replays_one_program_with_one_trace() {
    let seed = env_seed().unwrap_or(0x5eed_0001);
    assert_eq!(program_from_seed(seed), program_from_seed(seed));
    let first = replay(seed);
    let second = replay(seed);
    assert_eq!(first.hashes, second.hashes, "seed {seed}: two traces");
    if env_seed().is_none() {
        let other = replay(seed + 1);
        assert_ne!(first.hashes, other.hashes, "two seeds, one trace");
    }
}

/// The generated programs reach every path the properties speak of:
/// refusals of both kinds, drops at teardown, cancels before and after the
/// target died, readiness, unwatches, child exits and kills by id.
#[test]
fn programs_cover_every_path() {
    if env_seed().is_some() {
        return;
    }
    let backends = [*util::backends().last().expect("a backend")];
    let mut stats = Stats::default();
    for seed in 0..24 {
        let p = program_from_seed(seed);
        match check_program(&p, &backends) {
            Ok(c) => stats.add(&c.stats),
            Err(e) => panic!("{e}\nprogram: {p:#?}"),
        }
    }
    let s = stats;
    let paths = [
        ("delivered", s.delivered),
        ("MailboxFull", s.full),
        ("NoSuchActor", s.no_such_actor),
        ("dropped at teardown", s.dropped),
        ("interval cancelled", s.cancelled),
        ("cancel after the target died", s.cancel_too_late),
        ("readiness", s.io_events),
        ("unwatched", s.unwatched),
        ("child exits", s.child_exits),
        ("killed by id", s.killed_by_id),
    ];
    for (what, n) in paths {
        assert!(n > 0, "24 programs never took the path {what:?}: {s:?}");
    }
}
