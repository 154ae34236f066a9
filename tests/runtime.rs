//! The multi-loop runtime (SPEC §11): N loops on N threads that `run` runs
//! until all are idle or a stop is requested (R25); typed sends between
//! loops through bounded rings, FIFO per sender→receiver, refusals that hand
//! the message back (R26); placement (R27); stale ids across loops; messages
//! in flight when the runtime is dropped; and ids that name their loop.
//! Every test runs on every backend of `util::backends()`, with the blocking
//! `Runtime::run` and counts: no test waits for a guessed delay.

mod util;

use jzx::{
    Actor, ActorId, Addr, BackendKind, Config, Context, Error, Flow, Loop, Observer, Placement,
    Runtime, RuntimeConfig, RuntimeHandle, SendError, SpawnOptions, StopReason,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;
use util::fn_actor::{actor, collector, FnActor};
use util::{backends, Log, Recorder, WAIT};

/// How long any one `run` may take before the test fails instead of hanging.
const LIMIT: Duration = Duration::from_secs(60);

/// An actor that sends itself `()` when it is spawned and runs its
/// behavior on each `()`: a producer that starts when its loop runs.
struct Starter(StarterBehavior);

type StarterBehavior = Box<dyn FnMut(&mut Context<'_, Starter>) -> Flow + Send>;

fn starter(f: impl FnMut(&mut Context<'_, Starter>) -> Flow + Send + 'static) -> Starter {
    Starter(Box::new(f))
}

impl Actor for Starter {
    type Msg = ();
    fn on_start(&mut self, cx: &mut Context<'_, Self>) {
        let me = cx.addr();
        cx.send(me, ()).unwrap();
    }
    fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
        (self.0)(cx)
    }
}

/// A runtime of `loops` loops on `backend`, otherwise default.
#[track_caller]
fn runtime(backend: BackendKind, loops: usize) -> Runtime {
    runtime_with(
        backend,
        RuntimeConfig {
            loops,
            ..RuntimeConfig::default()
        },
    )
}

/// A runtime built from `config`, every loop on `backend`. A loop blocks
/// for longer than [`LIMIT`] before it looks at its state by itself, so a
/// lost wakeup fails the test instead of costing a second.
#[track_caller]
fn runtime_with(backend: BackendKind, mut config: RuntimeConfig) -> Runtime {
    config.config.backend = backend;
    config.config.io_poll_timeout_ms = 2 * LIMIT.as_millis() as u32;
    Runtime::with_config(config).expect("runtime")
}

/// Two loops on `backend`, each with a cross-thread bound of `cap`.
#[track_caller]
fn two_loops_bounded(backend: BackendKind, cap: u32) -> Runtime {
    runtime_with(
        backend,
        RuntimeConfig {
            loops: 2,
            config: Config {
                cross_thread_cap: cap,
                ..Config::default()
            },
            ..RuntimeConfig::default()
        },
    )
}

/// Runs `rt` on a watchdog: the test fails (instead of hanging) if `run`
/// does not return within [`LIMIT`]; `run` itself must succeed.
#[track_caller]
fn run_within(rt: &mut Runtime) {
    let handle = rt.handle();
    let (done, returned) = mpsc::channel::<()>();
    let dog = thread::spawn(move || {
        let late = returned.recv_timeout(LIMIT) == Err(RecvTimeoutError::Timeout);
        if late {
            handle.request_stop();
        }
        late
    });
    let result = rt.run();
    drop(done);
    let fired = dog.join().unwrap();
    assert!(!fired, "run did not return within {LIMIT:?}");
    result.expect("run");
}

/// `f(lp)` on loop `index`; panics if it cannot be run there.
#[track_caller]
fn on<R: Send + 'static>(
    rt: &Runtime,
    index: usize,
    f: impl FnOnce(&mut Loop) -> R + Send + 'static,
) -> R {
    rt.on_loop(index, f).expect("on_loop")
}

/// Live actors on each loop.
fn actor_counts(rt: &Runtime) -> Vec<usize> {
    (0..rt.loops())
        .map(|i| on(rt, i, |lp| lp.actor_count()))
        .collect()
}

/// Counts made and dropped values of [`Counted`].
#[derive(Default)]
struct Tally {
    made: AtomicUsize,
    dropped: AtomicUsize,
}

impl Tally {
    fn made(&self) -> usize {
        self.made.load(SeqCst)
    }
    fn dropped(&self) -> usize {
        self.dropped.load(SeqCst)
    }
}

/// A payload that counts itself: each destructor run exactly once shows as
/// `dropped == made` once all are gone (a double drop would exceed it).
struct Counted(Arc<Tally>);

impl Counted {
    fn new(tally: &Arc<Tally>) -> Counted {
        tally.made.fetch_add(1, SeqCst);
        Counted(tally.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.dropped.fetch_add(1, SeqCst);
    }
}

/// Dead letters an observer was told of: target, message type, count.
type DeadLetter = (ActorId, &'static str, usize);

/// What a loop's observer was told of dead letters.
#[derive(Clone, Default)]
struct DeadLetters(Arc<Mutex<Vec<DeadLetter>>>);

impl Observer for DeadLetters {
    fn on_dead_letters(&mut self, target: ActorId, type_name: &'static str, count: usize) {
        self.0.lock().unwrap().push((target, type_name, count));
    }
}

// ------------------------------------------------------------------ order

/// A numbered message: (producer, sequence number).
type Numbered = (ActorId, u32);

/// Sequence numbers received, by (consumer index, producer).
type Received = Arc<Mutex<HashMap<(usize, ActorId), Vec<u32>>>>;

// R26: producers on loops 0 and 2 send numbered messages to consumers on
// loop 1, through a small ring that refuses now and then (the producer sends
// the handed-back message again later): every consumer gets every message
// of every producer once, in the order sent.
#[test]
fn sends_between_loops_keep_their_order_per_sender_and_receiver() {
    const PER_PAIR: u32 = 2_000;
    const PRODUCERS_PER_LOOP: usize = 2;
    const CONSUMERS: usize = 2;
    const PRODUCERS: usize = 2 * PRODUCERS_PER_LOOP;
    for backend in backends() {
        let mut rt = runtime_with(
            backend,
            RuntimeConfig {
                loops: 3,
                // Below the 100 messages a producer's turn sends to loop 1
                // (all leave at the end of the turn): its first turn is
                // refused some.
                ring_cap: 64,
                ..RuntimeConfig::default()
            },
        );
        let got = Received::default();
        let mut consumers = Vec::new();
        for c in 0..CONSUMERS {
            let (got, mut seen) = (got.clone(), 0);
            let consumer = actor(move |_cx, (from, n): Numbered| {
                got.lock().unwrap().entry((c, from)).or_default().push(n);
                seen += 1;
                if seen == PRODUCERS * PER_PAIR as usize {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            });
            consumers.push(rt.spawn_on(1, consumer).unwrap());
        }
        let refused = Arc::new(AtomicUsize::new(0));
        let mut producers = Vec::new();
        for index in [0, 2] {
            for _ in 0..PRODUCERS_PER_LOOP {
                let (to, refused) = (consumers.clone(), refused.clone());
                let mut next = [0u32; CONSUMERS];
                let producer = starter(move |cx| {
                    let me = cx.id();
                    for (c, &to) in to.iter().enumerate() {
                        // A few at a time, so that producers interleave.
                        for _ in 0..50 {
                            if next[c] == PER_PAIR {
                                break;
                            }
                            match cx.send(to, (me, next[c])) {
                                Ok(()) => next[c] += 1,
                                Err(SendError { error, message }) => {
                                    assert_eq!(error, Error::MailboxFull);
                                    assert_eq!(message, (me, next[c]), "handed back");
                                    refused.fetch_add(1, SeqCst);
                                    break;
                                }
                            }
                        }
                    }
                    if next.iter().all(|&n| n == PER_PAIR) {
                        return Flow::Stop;
                    }
                    let me = cx.addr();
                    cx.send(me, ()).unwrap();
                    Flow::Continue
                });
                producers.push(rt.spawn_on(index, producer).unwrap());
            }
        }
        run_within(&mut rt);
        let got = got.lock().unwrap();
        let want: Vec<u32> = (0..PER_PAIR).collect();
        for c in 0..CONSUMERS {
            for p in &producers {
                assert_eq!(
                    got.get(&(c, p.id())).map(Vec::as_slice),
                    Some(&want[..]),
                    "{backend}: consumer {c} from producer {}",
                    p.id()
                );
            }
        }
        assert_eq!(got.len(), CONSUMERS * PRODUCERS, "{backend}");
        assert_eq!(actor_counts(&rt), [0, 0, 0], "{backend}");
        let m = on(&rt, 1, |lp| lp.metrics());
        assert_eq!(m.dead_letters, 0, "{backend}");
        assert_eq!(
            m.delivered,
            (CONSUMERS * PRODUCERS) as u64 * u64::from(PER_PAIR)
        );
        // Refusals happen at the sending loop, which counts them.
        let refusals: u64 = [0, 2]
            .map(|i| on(&rt, i, |lp| lp.metrics().refused))
            .iter()
            .sum();
        assert_eq!(refusals, refused.load(SeqCst) as u64, "{backend}");
        assert!(refusals > 0, "{backend}: the ring was full at times");
    }
}

// R26: one loop's sends to another mix message types and spawns (which
// travel as the loop's own controls) in one stream: a long stretch of one
// type (past the point where the outbox pushes its open run early), then
// numbers and words alternating (a run of one message each), a spawn every
// 100. Each receiver gets its messages once and in order, and every actor
// spawned there starts.
#[test]
fn mixed_message_types_and_spawns_to_another_loop_arrive_in_order() {
    const N: usize = 1_500;
    const SPAWNS: usize = 9;
    for backend in backends() {
        let mut rt = runtime(backend, 2);
        let nums: Log<usize> = Log::default();
        let words: Log<String> = Log::default();
        let a = rt.spawn_on(1, collector(&nums, N)).unwrap();
        let b = rt.spawn_on(1, collector(&words, N)).unwrap();
        let started = Arc::new(AtomicUsize::new(0));
        let s = started.clone();
        let (mut num, mut word, mut turn) = (0, 0, 0);
        let producer = starter(move |cx| {
            turn += 1;
            if turn == 1 {
                while num < 600 {
                    cx.send(a, num).unwrap();
                    num += 1;
                }
            } else {
                for i in 0..100 {
                    if num < N {
                        cx.send(a, num).unwrap();
                        num += 1;
                    }
                    if word < N && (i % 3 != 0 || num == N) {
                        cx.send(b, word.to_string()).unwrap();
                        word += 1;
                    }
                }
                if turn <= SPAWNS + 1 {
                    let s = s.clone();
                    let probe = starter(move |_cx| {
                        s.fetch_add(1, SeqCst);
                        Flow::Stop
                    });
                    cx.spawn_on(1, probe).unwrap();
                }
            }
            if num == N && word == N && turn > SPAWNS {
                return Flow::Stop;
            }
            let me = cx.addr();
            cx.send(me, ()).unwrap();
            Flow::Continue
        });
        rt.spawn_on(0, producer).unwrap();
        run_within(&mut rt);
        assert_eq!(nums.get(), (0..N).collect::<Vec<_>>(), "{backend}");
        let want: Vec<String> = (0..N).map(|n| n.to_string()).collect();
        assert_eq!(words.get(), want, "{backend}");
        assert_eq!(started.load(SeqCst), SPAWNS, "{backend}");
        assert_eq!(on(&rt, 1, |lp| lp.metrics().dead_letters), 0, "{backend}");
        assert_eq!(on(&rt, 1, |lp| lp.cross_thread_pending()), 0, "{backend}");
        assert_eq!(actor_counts(&rt), [0, 0], "{backend}");
    }
}

/// Watches `fd` when told; at its first readiness, records how many hops
/// the players had made then, and stops.
struct Watcher {
    fd: std::os::fd::RawFd,
    hops: Arc<AtomicUsize>,
    seen_at: Arc<AtomicUsize>,
}

impl Actor for Watcher {
    type Msg = ();
    fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
        cx.watch(self.fd, jzx::Interest::READ).unwrap();
        Flow::Continue
    }
    fn on_io(&mut self, _cx: &mut Context<'_, Self>, _event: jzx::IoEvent) -> Flow {
        self.seen_at.store(self.hops.load(SeqCst), SeqCst);
        Flow::Stop
    }
}

// R5 with R26: a loop kept busy by a steady exchange with another loop
// (each hop answered within its spin, so it never blocks) still polls its
// fds between turns: a readable socket watched in the middle of the
// exchange is reported within a few hops, not when the exchange pauses.
#[test]
fn a_loop_in_a_steady_exchange_with_another_still_polls_its_fds() {
    const GIVE_UP: usize = 2_000_000;
    // Player 0 handles the even balls.
    const WATCH_AT: usize = 1_000;
    for backend in backends() {
        let mut rt = runtime(backend, 2);
        let (readable, mut writer) = std::os::unix::net::UnixStream::pair().unwrap();
        std::io::Write::write_all(&mut writer, b"x").unwrap();
        let hops = Arc::new(AtomicUsize::new(0));
        let seen_at = Arc::new(AtomicUsize::new(usize::MAX));
        let watcher = Watcher {
            fd: std::os::fd::AsRawFd::as_raw_fd(&readable),
            hops: hops.clone(),
            seen_at: seen_at.clone(),
        };
        let watcher = rt.spawn_on(0, watcher).unwrap();
        let player0: Arc<std::sync::OnceLock<Addr<usize>>> = Arc::default();
        let player = |other: Arc<std::sync::OnceLock<Addr<usize>>>, watcher: Option<Addr<()>>| {
            let (hops, seen_at) = (hops.clone(), seen_at.clone());
            actor(move |cx, n: usize| {
                hops.fetch_add(1, SeqCst);
                if n == WATCH_AT {
                    if let Some(w) = watcher {
                        cx.send(w, ()).unwrap();
                    }
                }
                let done = seen_at.load(SeqCst) != usize::MAX || n >= GIVE_UP;
                // The last ball tells the other player to stop too (its
                // own, to a stopped actor, is a dead letter).
                let _ = cx.send(*other.get().unwrap(), n + 1);
                if done {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            })
        };
        let p1 = rt.spawn_on(1, player(player0.clone(), None)).unwrap();
        let p1_cell: Arc<std::sync::OnceLock<Addr<usize>>> = Arc::default();
        p1_cell.set(p1).unwrap();
        let p0 = rt.spawn_on(0, player(p1_cell, Some(watcher))).unwrap();
        player0.set(p0).unwrap();
        on(&rt, 0, move |lp| lp.send(p0, 0)).unwrap();
        run_within(&mut rt);
        let at = seen_at.load(SeqCst);
        assert!(
            (WATCH_AT..WATCH_AT + 100).contains(&at),
            "{backend}: watched after {WATCH_AT} hops, readiness seen after {at}"
        );
        drop(writer);
    }
}

// ----------------------------------------------------------- backpressure

// R26: with the receiving loop not taking anything, a pair's ring accepts
// `ring_cap` messages; further sends fail with MailboxFull and hand the
// message back, turn after turn. What was accepted arrives, in order, once
// the receiving loop runs.
#[test]
fn a_full_ring_refuses_and_hands_the_message_back() {
    const RING: u32 = 8;
    const TRIES: u32 = 20;
    for backend in backends() {
        let mut rt = runtime_with(
            backend,
            RuntimeConfig {
                loops: 2,
                ring_cap: RING,
                ..RuntimeConfig::default()
            },
        );
        let got: Log<u32> = Log::default();
        let consumer = rt.spawn_on(1, collector(&got, RING as usize)).unwrap();
        let outcomes: Log<Result<u32, (Error, u32)>> = Log::default();
        let (o, mut turn) = (outcomes.clone(), 0);
        let producer = starter(move |cx| {
            // First turn: a burst; second turn: one more.
            let sends = if turn == 0 {
                0..TRIES
            } else {
                TRIES..TRIES + 1
            };
            for n in sends {
                o.push(
                    cx.send(consumer, n)
                        .map(|()| n)
                        .map_err(|e| (e.error, e.message)),
                );
            }
            turn += 1;
            if turn == 2 {
                return Flow::Stop;
            }
            let me = cx.addr();
            cx.send(me, ()).unwrap();
            Flow::Continue
        });
        rt.spawn_on(0, producer).unwrap();
        // Loop 1 does not run: the stop request ends its part of the run at
        // once (R3), so nothing leaves the ring.
        rt.handle().loop_handle(1).unwrap().request_stop();
        run_within(&mut rt);
        let want: Vec<_> = (0..TRIES + 1)
            .map(|n| {
                if n < RING {
                    Ok(n)
                } else {
                    Err((Error::MailboxFull, n))
                }
            })
            .collect();
        assert_eq!(outcomes.get(), want, "{backend}");
        assert_eq!(got.get(), [], "{backend}: loop 1 did not run");
        assert_eq!(
            on(&rt, 0, |lp| lp.metrics().refused),
            u64::from(TRIES + 1 - RING),
            "{backend}: every refusal is counted"
        );
        // Now loop 1 runs: the accepted ones arrive, in order, and nothing
        // else (the consumer stops after RING; more would be dead letters).
        run_within(&mut rt);
        assert_eq!(got.get(), (0..RING).collect::<Vec<_>>(), "{backend}");
        let m = on(&rt, 1, |lp| lp.metrics());
        assert_eq!(
            (m.delivered, m.dead_letters),
            (u64::from(RING), 0),
            "{backend}"
        );
        assert_eq!(actor_counts(&rt), [0, 0], "{backend}");
    }
}

// R26: a burst into a full mailbox on another loop waits there for room and
// arrives whole, in order.
#[test]
fn a_full_mailbox_on_another_loop_parks_messages_which_arrive_in_order() {
    const N: u32 = 200;
    for backend in backends() {
        let mut rt = runtime(backend, 2);
        let got: Log<u32> = Log::default();
        let c = collector(&got, N as usize);
        let consumer = on(&rt, 1, move |lp| {
            lp.spawn_with(c, SpawnOptions::new().mailbox_cap(4))
        })
        .unwrap();
        let producer = starter(move |cx| {
            // One turn: one run of N messages, taken by loop 1 at once.
            for n in 0..N {
                cx.send(consumer, n).unwrap();
            }
            Flow::Stop
        });
        rt.spawn_on(0, producer).unwrap();
        run_within(&mut rt);
        assert_eq!(got.get(), (0..N).collect::<Vec<_>>(), "{backend}");
        let m = on(&rt, 1, |lp| lp.metrics());
        assert!(m.refused >= 1, "{backend}: the mailbox was full once: {m}");
        assert_eq!(
            (m.delivered, m.dead_letters),
            (u64::from(N), 0),
            "{backend}"
        );
        assert_eq!(on(&rt, 1, |lp| lp.cross_thread_pending()), 0, "{backend}");
        assert_eq!(actor_counts(&rt), [0, 0], "{backend}");
    }
}

// R26: messages that wait for room on a loop count against its
// cross-thread bound; while that is reached, sends from other loops to it
// are refused with MailboxFull and handed back.
#[test]
fn a_loop_at_its_cross_thread_bound_refuses_sends_from_other_loops() {
    const CAP: u32 = 16;
    const MAILBOX: u32 = 4;
    const BURST: u32 = MAILBOX + CAP;
    for backend in backends() {
        let mut rt = two_loops_bounded(backend, CAP);
        // The consumer holds its loop (in its first message) until the
        // producer has tried its extra send.
        let (parked_tx, parked_rx) = mpsc::channel::<()>();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let got: Log<u32> = Log::default();
        let g = got.clone();
        let c = actor(move |_cx, n: u32| {
            if n == 0 {
                // Loop 1 took the burst at the start of this turn: MAILBOX
                // in the mailbox, CAP waiting for room.
                parked_tx.send(()).unwrap();
                release_rx.recv_timeout(WAIT).expect("released");
            }
            g.push(n);
            if g.len() == BURST as usize {
                Flow::Stop
            } else {
                Flow::Continue
            }
        });
        let consumer = on(&rt, 1, move |lp| {
            lp.spawn_with(c, SpawnOptions::new().mailbox_cap(MAILBOX))
        })
        .unwrap();
        let extra: Log<Result<(), (Error, u32)>> = Log::default();
        let (e, mut turn) = (extra.clone(), 0);
        let producer = starter(move |cx| {
            turn += 1;
            if turn == 1 {
                for n in 0..BURST {
                    cx.send(consumer, n).unwrap();
                }
                // The burst leaves at the end of this turn.
                let me = cx.addr();
                cx.send(me, ()).unwrap();
                return Flow::Continue;
            }
            parked_rx.recv_timeout(WAIT).expect("loop 1 took the burst");
            e.push(cx.send(consumer, BURST).map_err(|e| (e.error, e.message)));
            release_tx.send(()).unwrap();
            Flow::Stop
        });
        rt.spawn_on(0, producer).unwrap();
        run_within(&mut rt);
        assert_eq!(extra.get(), [Err((Error::MailboxFull, BURST))], "{backend}");
        assert_eq!(got.get(), (0..BURST).collect::<Vec<_>>(), "{backend}");
        assert_eq!(on(&rt, 0, |lp| lp.metrics().refused), 1, "{backend}");
        assert_eq!(on(&rt, 1, |lp| lp.cross_thread_pending()), 0, "{backend}");
        assert_eq!(actor_counts(&rt), [0, 0], "{backend}");
    }
}

/// What [`a_slow_target_on_another_loop_is_limited_and_spares_its_neighbours`]'s
/// fast actor gets.
enum FastMsg {
    Ping(Addr<()>),
    Count,
}

// One slow actor on loop 1 cannot take the whole of that loop's
// cross-thread bound from senders on loop 0: once its waiting messages
// reach its share (a quarter of the bound here), sends to it are refused,
// and sends to its neighbour go on.
#[test]
fn a_slow_target_on_another_loop_is_limited_and_spares_its_neighbours() {
    const CAP: u32 = 4096;
    const SHARE: usize = CAP as usize / 4;
    const ROUND: usize = 64;
    const AFTER: usize = 100;
    for backend in backends() {
        let mut rt = two_loops_bounded(backend, CAP);
        // Slow until released: one message per turn (mailbox of one), 100
        // µs each. It stops once it has every message accepted for it.
        let release = Arc::new(AtomicBool::new(false));
        let total = Arc::new(AtomicUsize::new(usize::MAX));
        let consumed = Arc::new(AtomicUsize::new(0));
        let (r, t, c) = (release.clone(), total.clone(), consumed.clone());
        let slow = actor(move |_cx, n: usize| {
            let got = c.fetch_add(1, SeqCst) + 1;
            assert_eq!(n + 1, got, "in order");
            if !r.load(SeqCst) {
                thread::sleep(Duration::from_micros(100));
            }
            if got == t.load(SeqCst) {
                Flow::Stop
            } else {
                Flow::Continue
            }
        });
        let slow = on(&rt, 1, move |lp| {
            lp.spawn_with(slow, SpawnOptions::new().mailbox_cap(1))
        })
        .unwrap();
        let mut counted = 0;
        let fast = actor(move |cx, m: FastMsg| match m {
            FastMsg::Ping(back) => {
                cx.send(back, ()).unwrap();
                Flow::Continue
            }
            FastMsg::Count => {
                counted += 1;
                if counted == AFTER {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            }
        });
        let fast = on(&rt, 1, move |lp| lp.spawn(fast)).unwrap();
        // Rounds of ROUND sends to the slow actor, each after the fast one
        // answered the round before (so loop 1 has taken it), until one is
        // refused; then AFTER sends to the fast one, and, once released,
        // the slow one is retried every 5 ms until it is granted room again.
        let outcome: Log<(usize, usize, Error, usize)> = Log::default();
        let retries = Arc::new(AtomicUsize::new(0));
        let (o, tries, mut sent, mut refused_once) = (outcome.clone(), retries.clone(), 0, false);
        let producer = starter(move |cx| {
            let me = cx.addr();
            if refused_once {
                match cx.send(slow, sent) {
                    Ok(()) => {
                        total.store(sent + 1, SeqCst);
                        return Flow::Stop;
                    }
                    Err(_) if tries.fetch_add(1, SeqCst) < 2000 => {
                        cx.send_after(me, Duration::from_millis(5), ()).unwrap();
                        return Flow::Continue;
                    }
                    Err(_) => {
                        // Never granted room again: end the run anyway.
                        total.store(sent, SeqCst);
                        return Flow::Stop;
                    }
                }
            }
            for _ in 0..ROUND {
                match cx.send(slow, sent) {
                    Ok(()) => sent += 1,
                    Err(refused) => {
                        assert_eq!(refused.message, sent, "handed back");
                        refused_once = true;
                        release.store(true, SeqCst);
                        let to_fast = (0..AFTER)
                            .filter(|_| cx.send(fast, FastMsg::Count).is_ok())
                            .count();
                        let waiting = sent - consumed.load(SeqCst);
                        o.push((sent, waiting, refused.error, to_fast));
                        if to_fast < AFTER {
                            // Shut out: it would wait for them forever.
                            cx.stop_actor(fast.id()).unwrap();
                        }
                        cx.send(me, ()).unwrap();
                        return Flow::Continue;
                    }
                }
            }
            cx.send(fast, FastMsg::Ping(me)).unwrap();
            Flow::Continue
        });
        rt.spawn_on(0, producer).unwrap();
        run_within(&mut rt);
        let [(accepted, waiting, error, to_fast)] = outcome.get()[..] else {
            panic!("{backend}: one refusal, {:?}", outcome.get().len());
        };
        assert_eq!(error, Error::MailboxFull, "{backend}");
        // Limited once a share waits (the mailbox holds one more), and
        // refused within about two rounds of that: far below the bound.
        // (What the slow actor took meanwhile is not waiting: a busy
        // machine lets it take more, and the limit comes later.)
        assert!(accepted > SHARE, "{backend}: {accepted} accepted");
        assert!(
            waiting <= SHARE + 1 + 3 * ROUND,
            "{backend}: {waiting} waiting ({accepted} accepted) at the first refusal"
        );
        assert_eq!(to_fast, AFTER, "{backend}: the neighbour is not shut out");
        assert!(
            retries.load(SeqCst) <= 2000,
            "{backend}: the slow actor, caught up, is granted room again"
        );
        assert_eq!(on(&rt, 1, |lp| lp.cross_thread_pending()), 0, "{backend}");
        assert_eq!(actor_counts(&rt), [0, 0], "{backend}");
    }
}

// -------------------------------------------------------------- stale ids

// R6, R26: an actor on loop 1 ends and a new one takes its slot; messages
// sent from loop 0 to the old id are accepted there (the sending loop cannot
// know) but never reach the new occupant: loop 1 drops them as dead letters,
// counts them and tells its observer.
#[test]
fn a_stale_id_from_another_loop_never_reaches_the_slots_next_actor() {
    for backend in backends() {
        let mut rt = runtime(backend, 3);
        let old_log: Log<u32> = Log::default();
        let old = rt.spawn_on(1, collector(&old_log, usize::MAX)).unwrap();
        on(&rt, 1, move |lp| lp.stop_actor(old.id())).unwrap();
        run_within(&mut rt);
        assert!(!on(&rt, 1, move |lp| lp.is_alive(old.id())), "{backend}");
        let new_log: Log<u32> = Log::default();
        let new = rt.spawn_on(1, collector(&new_log, 1)).unwrap();
        assert_eq!(
            (
                new.id().loop_index(),
                new.id().slot(),
                new.id().generation()
            ),
            (1, old.id().slot(), old.id().generation() + 1),
            "{backend}: the slot is reused"
        );
        let dead = DeadLetters::default();
        let d = dead.clone();
        on(&rt, 1, move |lp| lp.set_observer(d));
        let before = on(&rt, 1, |lp| lp.metrics().dead_letters);
        let sent: Log<Result<(), Error>> = Log::default();
        let s = sent.clone();
        let sender = starter(move |cx| {
            for n in 100..103 {
                s.push(cx.send(old, n).map_err(|e| e.error));
            }
            // After the stale ones (FIFO per pair of loops): it ends the run.
            cx.send(new, 7).unwrap();
            Flow::Stop
        });
        rt.spawn_on(0, sender).unwrap();
        run_within(&mut rt);
        assert_eq!(sent.get(), [Ok(()); 3], "{backend}");
        assert_eq!(new_log.get(), [7], "{backend}: only its own message");
        assert_eq!(old_log.get(), [], "{backend}");
        let after = on(&rt, 1, |lp| lp.metrics().dead_letters);
        assert_eq!(after - before, 3, "{backend}");
        assert_eq!(
            *dead.0.lock().unwrap(),
            [(old.id(), std::any::type_name::<u32>(), 1); 3],
            "{backend}"
        );
        assert_eq!(actor_counts(&rt), [0, 0, 0], "{backend}");
    }
}

/// The address of an actor on loop 3 of a runtime of 4 loops, now gone.
fn address_on_loop_3(backend: BackendKind) -> Addr<u32> {
    let mut rt = runtime(backend, 4);
    let log: Log<u32> = Log::default();
    let a = rt.spawn_on(3, collector(&log, 1)).unwrap();
    assert_eq!(a.id().loop_index(), 3);
    a
}

// R26: an id whose loop index is past the last loop of the sender's runtime
// names no actor: the send fails at once and hands the message back.
#[test]
fn a_send_to_a_loop_past_the_last_is_no_such_actor() {
    for backend in backends() {
        let far = address_on_loop_3(backend);
        let mut rt = runtime(backend, 3);
        let r = on(&rt, 0, move |lp| {
            lp.send(far, 5).map_err(|e| (e.error, e.message))
        });
        assert_eq!(r, Err((Error::NoSuchActor, 5)), "{backend}: from the loop");
        let sent: Log<Result<(), (Error, u32)>> = Log::default();
        let s = sent.clone();
        let sender = starter(move |cx| {
            s.push(cx.send(far, 6).map_err(|e| (e.error, e.message)));
            Flow::Stop
        });
        rt.spawn_on(0, sender).unwrap();
        run_within(&mut rt);
        assert_eq!(
            sent.get(),
            [Err((Error::NoSuchActor, 6))],
            "{backend}: from an actor"
        );
        assert_eq!(on(&rt, 0, |lp| lp.metrics().refused), 0, "{backend}");
    }
}

// R26: a lone loop (index 0, no other loops) fails a send to an id of
// another loop with NoSuchActor.
#[test]
fn a_lone_loop_sending_to_another_loops_id_is_no_such_actor() {
    for backend in backends() {
        let far = address_on_loop_3(backend);
        let mut lp = util::new_loop(backend);
        let e = lp.send(far, 9).unwrap_err();
        assert_eq!((e.error, e.message), (Error::NoSuchActor, 9), "{backend}");
    }
}

/// The CPUs in a `Cpus_allowed_list` of /proc (`0-1`, `0,2-3`).
fn cpu_list(list: &str) -> Vec<usize> {
    list.trim()
        .split(',')
        .filter(|r| !r.is_empty())
        .flat_map(|r| {
            let (a, b) = r.split_once('-').unwrap_or((r, r));
            a.parse::<usize>().unwrap()..=b.parse::<usize>().unwrap()
        })
        .collect()
}

/// The CPUs the calling thread may run on.
fn allowed_cpus() -> Vec<usize> {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .expect("Cpus_allowed_list");
    cpu_list(list)
}

// R25: with `pin`, loop i's thread may run only on the i-th CPU the process
// may use (modulo their number); without it, on all of them.
#[cfg(target_os = "linux")]
#[test]
fn pinned_loops_run_each_on_its_own_cpu() {
    let usable = allowed_cpus();
    for pin in [true, false] {
        let rt = runtime_with(
            BackendKind::Auto,
            RuntimeConfig {
                loops: 3,
                pin,
                ..RuntimeConfig::default()
            },
        );
        for i in 0..3 {
            let got = on(&rt, i, |_| allowed_cpus());
            let want = if pin {
                vec![usable[i % usable.len()]]
            } else {
                usable.clone()
            };
            assert_eq!(got, want, "pin {pin}: loop {i}");
        }
    }
}

// --------------------------------------------------------------- shutdown

// R26, R13: dropping a runtime while messages are still in an outbox (the
// ring of runs is full), in a ring, in a mailbox and waiting for room runs
// every message's destructor exactly once.
#[test]
fn dropping_the_runtime_drops_every_message_in_flight_once() {
    /// Messages of two types alternate, so that each is a run of its own
    /// and the ring of runs to loop 1 overflows into the outbox.
    struct A(#[allow(dead_code)] Counted);
    struct B(#[allow(dead_code)] Counted);
    const PAIRS: usize = 1_100;
    const TO_LOOP_2: usize = 500;
    for backend in backends() {
        let tally = Arc::new(Tally::default());
        let mut rt = runtime(backend, 3);
        let stop = rt.handle();
        // Loop 1 never runs: its ring fills up, then loop 0's outbox.
        let a = rt.spawn_on(1, actor(|_cx, _: A| Flow::Continue)).unwrap();
        let b = rt.spawn_on(1, actor(|_cx, _: B| Flow::Continue)).unwrap();
        // Loop 2 stops the runtime with its first message: the rest stays in
        // its mailbox, waits for room, or stays in the ring.
        let c2 = actor(move |_cx, _: Counted| {
            stop.request_stop();
            Flow::Continue
        });
        let c = on(&rt, 2, move |lp| {
            lp.spawn_with(c2, SpawnOptions::new().mailbox_cap(100))
        })
        .unwrap();
        let t = tally.clone();
        let producer = starter(move |cx| {
            for _ in 0..PAIRS {
                // Refused ones come back in the error, dropped here.
                let _ = cx.send(a, A(Counted::new(&t)));
                let _ = cx.send(b, B(Counted::new(&t)));
            }
            for _ in 0..TO_LOOP_2 {
                let _ = cx.send(c, Counted::new(&t));
            }
            Flow::Stop
        });
        rt.spawn_on(0, producer).unwrap();
        rt.handle().loop_handle(1).unwrap().request_stop();
        run_within(&mut rt);
        assert_eq!(tally.made(), 2 * PAIRS + TO_LOOP_2, "{backend}");
        let (queued, waiting) = on(&rt, 2, move |lp| {
            (lp.mailbox_depth(c.id()), lp.cross_thread_pending())
        });
        assert!(
            queued.is_some_and(|n| n > 0) && waiting > 0,
            "{backend}: loop 2 holds messages ({queued:?} queued, {waiting} waiting)"
        );
        assert!(
            tally.dropped() < tally.made() - 2 * PAIRS,
            "{backend}: none for loop 1 was dropped, only some for loop 2: {} of {}",
            tally.dropped(),
            tally.made()
        );
        drop(rt);
        assert_eq!(tally.dropped(), tally.made(), "{backend}");
    }
}

// ---------------------------------------------------------- run and stop

/// Passes a token (hops left) to the next relay, around the loops.
enum Relay {
    Next(Addr<Relay>),
    Token(u32),
}

// R25: `run` returns once every loop is idle, and not before: a token
// passed around three loops makes every hop, and no actor is left.
#[test]
fn run_returns_once_every_loop_is_idle() {
    const HOPS: u32 = 3_000;
    for backend in backends() {
        let mut rt = runtime(backend, 3);
        let counts: Vec<Arc<AtomicUsize>> = (0..3).map(|_| Arc::default()).collect();
        let mut relays = Vec::new();
        for (i, count) in counts.iter().enumerate() {
            let (count, mut next) = (count.clone(), None);
            let relay = actor(move |cx, msg: Relay| match msg {
                Relay::Next(n) => {
                    next = Some(n);
                    Flow::Continue
                }
                Relay::Token(left) => {
                    count.fetch_add(1, SeqCst);
                    if left > 0 {
                        cx.send(next.unwrap(), Relay::Token(left - 1)).unwrap();
                    }
                    // It sees the token again only with 3 hops fewer.
                    if left < 3 {
                        Flow::Stop
                    } else {
                        Flow::Continue
                    }
                }
            });
            relays.push(rt.spawn_on(i, relay).unwrap());
        }
        for i in 0..3 {
            let (me, next) = (relays[i], relays[(i + 1) % 3]);
            on(&rt, i, move |lp| lp.send(me, Relay::Next(next))).unwrap();
        }
        let first = relays[0];
        on(&rt, 0, move |lp| lp.send(first, Relay::Token(HOPS))).unwrap();
        run_within(&mut rt);
        let seen: Vec<usize> = counts.iter().map(|c| c.load(SeqCst)).collect();
        // Relay i handles HOPS - i, HOPS - i - 3, ..., down to 0, 1 or 2.
        let want: Vec<usize> = (0..3).map(|i| (HOPS as usize - i) / 3 + 1).collect();
        assert_eq!(seen, want, "{backend}");
        assert_eq!(seen.iter().sum::<usize>(), HOPS as usize + 1, "{backend}");
        assert_eq!(actor_counts(&rt), [0, 0, 0], "{backend}");
    }
}

/// An actor that never ends: it sends itself `()` again at every message.
/// The one with `stop` asks the whole runtime to stop every `every`
/// messages.
fn spinner(count: Arc<AtomicUsize>, stop: Option<(RuntimeHandle, usize)>) -> Starter {
    starter(move |cx| {
        let n = count.fetch_add(1, SeqCst) + 1;
        if let Some((handle, every)) = &stop {
            if n % every == 0 {
                handle.request_stop();
            }
        }
        let me = cx.addr();
        cx.send(me, ()).unwrap();
        Flow::Continue
    })
}

// R25, R3: an actor's stop request through a RuntimeHandle stops every
// loop, each busy with an actor that never ends; a stop requested during a
// run is used up by it (the next run does work), and one requested before
// a run ends that run at once.
#[test]
fn a_stop_from_an_actor_stops_every_loop_and_is_used_up() {
    const EVERY: usize = 100;
    for backend in backends() {
        let mut rt = runtime(backend, 3);
        let counts: Vec<Arc<AtomicUsize>> = (0..3).map(|_| Arc::default()).collect();
        for (i, count) in counts.iter().enumerate() {
            let stop = (i == 1).then(|| (rt.handle(), EVERY));
            rt.spawn_on(i, spinner(count.clone(), stop)).unwrap();
        }
        let count1 = || counts[1].load(SeqCst);
        run_within(&mut rt);
        // Loop 1 stopped in the turn that asked: exactly EVERY messages.
        assert_eq!(count1(), EVERY, "{backend}");
        assert_eq!(actor_counts(&rt), [1, 1, 1], "{backend}: all still alive");
        // The stop was used up: this run goes on until the next request.
        run_within(&mut rt);
        assert_eq!(count1(), 2 * EVERY, "{backend}");
        // A stop requested before a run ends it at once.
        let before: Vec<usize> = counts.iter().map(|c| c.load(SeqCst)).collect();
        rt.request_stop();
        run_within(&mut rt);
        let after: Vec<usize> = counts.iter().map(|c| c.load(SeqCst)).collect();
        assert_eq!(after, before, "{backend}: no loop ran an actor");
        // And it, too, is used up.
        run_within(&mut rt);
        assert_eq!(count1(), 3 * EVERY, "{backend}");
        assert_eq!(actor_counts(&rt), [1, 1, 1], "{backend}");
    }
}

/// A loop-1 spinner's stop rule: stop the runtime once its count reaches
/// `at` and `ready` holds (once: `at` is then cleared).
struct StopRule {
    at: Arc<AtomicUsize>,
    ready: Arc<AtomicBool>,
}

// R25, R3: a stop asked for after a loop has ended its run idle is used up
// too: that loop's next run does its work.
#[test]
fn a_stop_that_comes_after_a_loop_ended_idle_is_used_up_too() {
    for backend in backends() {
        let mut rt = runtime(backend, 3);
        let counts: Vec<Arc<AtomicUsize>> = (0..2).map(|_| Arc::default()).collect();
        let rule = StopRule {
            at: Arc::new(AtomicUsize::new(100)),
            ready: Arc::new(AtomicBool::new(true)),
        };
        rt.spawn_on(0, spinner(counts[0].clone(), None)).unwrap();
        let (count, at, ready, stop) = (
            counts[1].clone(),
            rule.at.clone(),
            rule.ready.clone(),
            rt.handle(),
        );
        let spinner1 = starter(move |cx| {
            let n = count.fetch_add(1, SeqCst) + 1;
            if n >= at.load(SeqCst) && ready.load(SeqCst) {
                at.store(usize::MAX, SeqCst);
                stop.request_stop();
            }
            let me = cx.addr();
            cx.send(me, ()).unwrap();
            Flow::Continue
        });
        rt.spawn_on(1, spinner1).unwrap();
        // Loop 2 has nothing: it ends its part of the run idle, most likely
        // before the stop comes.
        run_within(&mut rt);
        assert_eq!(counts[1].load(SeqCst), 100, "{backend}");
        assert_eq!(actor_counts(&rt), [1, 1, 0], "{backend}");
        // Now loop 2 has work, and loop 1 stops the runtime only once it is
        // done: a stop left over from the last run would end loop 2's run
        // before its work, and nothing would stop the spinners.
        let got: Log<u32> = Log::default();
        let (g, ready) = (got.clone(), rule.ready.clone());
        let worker = actor(move |_cx, n: u32| {
            g.push(n);
            if n < 3 {
                return Flow::Continue;
            }
            ready.store(true, SeqCst);
            Flow::Stop
        });
        let w = rt.spawn_on(2, worker).unwrap();
        on(&rt, 2, move |lp| (1..=3).try_for_each(|n| lp.send(w, n))).unwrap();
        rule.ready.store(false, SeqCst);
        rule.at.store(200, SeqCst);
        run_within(&mut rt);
        assert_eq!(got.get(), [1, 2, 3], "{backend}");
        assert!(counts[1].load(SeqCst) >= 200, "{backend}");
        assert_eq!(actor_counts(&rt), [1, 1, 0], "{backend}");
    }
}

// R25: a loop whose messages for another loop wait in its outbox (the ring
// of runs is full) while that loop has ended its run does not wait for it
// forever: the run returns, and the next run delivers them all, in order.
#[test]
fn messages_waiting_for_a_loop_that_has_ended_its_run_do_not_hold_up_run() {
    // More turns, each one run, than the ring of a pair holds (1024).
    const TURNS: u32 = 1_500;
    for backend in backends() {
        let mut rt = runtime(backend, 2);
        let got: Log<u32> = Log::default();
        let consumer = rt.spawn_on(1, collector(&got, TURNS as usize)).unwrap();
        let mut n = 0;
        let producer = starter(move |cx| {
            cx.send(consumer, n).unwrap();
            n += 1;
            if n == TURNS {
                return Flow::Stop;
            }
            let me = cx.addr();
            cx.send(me, ()).unwrap();
            Flow::Continue
        });
        rt.spawn_on(0, producer).unwrap();
        // Loop 1 ends its part of the run at once.
        rt.handle().loop_handle(1).unwrap().request_stop();
        run_within(&mut rt);
        assert_eq!(got.get(), [], "{backend}");
        assert_eq!(actor_counts(&rt), [0, 1], "{backend}");
        run_within(&mut rt);
        assert_eq!(got.get(), (0..TURNS).collect::<Vec<_>>(), "{backend}");
        assert_eq!(actor_counts(&rt), [0, 0], "{backend}");
    }
}

// -------------------------------------------------------------- placement

/// An actor that does nothing (it stays alive until the runtime is dropped).
fn idle() -> FnActor<()> {
    actor(|_cx, ()| Flow::Continue)
}

// R27: round robin places spawns on loops 0, 1, 2, 0, …
#[test]
fn round_robin_places_spawns_on_each_loop_in_turn() {
    for backend in backends() {
        let mut rt = runtime(backend, 3);
        let placed: Vec<usize> = (0..7)
            .map(|_| rt.spawn(idle()).unwrap().id().loop_index())
            .collect();
        assert_eq!(placed, [0, 1, 2, 0, 1, 2, 0], "{backend}");
        assert_eq!(rt.place(), Ok(1), "{backend}: the next one");
        assert_eq!(rt.spawn(idle()).unwrap().id().loop_index(), 2, "{backend}");
        assert_eq!(actor_counts(&rt), [3, 2, 3], "{backend}");
    }
}

// R27: least loaded places a spawn on the loop with the fewest live actors,
// the lowest index on a tie.
#[test]
fn least_loaded_places_a_spawn_on_the_loop_with_fewest_actors() {
    for backend in backends() {
        let mut rt = runtime_with(
            backend,
            RuntimeConfig {
                loops: 3,
                placement: Placement::LeastLoaded,
                ..RuntimeConfig::default()
            },
        );
        assert_eq!(rt.spawn(idle()).unwrap().id().loop_index(), 0, "{backend}");
        rt.spawn_on(0, idle()).unwrap();
        rt.spawn_on(1, idle()).unwrap();
        // Loads 2, 1, 0.
        let placed: Vec<usize> = (0..4)
            .map(|_| rt.spawn(idle()).unwrap().id().loop_index())
            .collect();
        // 2 (2, 1, 0), then 1 (2, 1, 1: tie), then 2 (2, 2, 1), then 0.
        assert_eq!(placed, [2, 1, 2, 0], "{backend}");
        assert_eq!(actor_counts(&rt), [3, 2, 2], "{backend}");
    }
}

// R27: a loop index past the last is refused.
#[test]
fn spawn_on_a_loop_past_the_last_is_invalid_arg() {
    for backend in backends() {
        let mut rt = runtime(backend, 3);
        assert_eq!(
            rt.spawn_on(3, idle()).err(),
            Some(Error::InvalidArg),
            "{backend}"
        );
        assert_eq!(rt.on_loop(3, |_| ()), Err(Error::InvalidArg), "{backend}");
        assert!(rt.handle().loop_handle(3).is_none(), "{backend}");
        assert_eq!(actor_counts(&rt), [0, 0, 0], "{backend}");
    }
    // Loop indexes are 8 bits.
    let err = Runtime::new(257).err();
    assert_eq!(err, Some(Error::InvalidArg));
}

// ----------------------------------------------------------------- panics

// A panic in a closure given to `on_loop` is caught: LoopPanicked, and the
// loop goes on serving.
#[test]
fn a_panic_in_on_loop_is_loop_panicked_and_the_runtime_stays_usable() {
    for backend in backends() {
        let mut rt = runtime(backend, 3);
        let r = rt.on_loop(1, |_lp| -> usize { panic!("a closure panics") });
        assert_eq!(r, Err(Error::LoopPanicked), "{backend}");
        assert_eq!(rt.on_loop(1, |lp| lp.actor_count()), Ok(0), "{backend}");
        let log: Log<u32> = Log::default();
        let c = rt.spawn_on(1, collector(&log, 2)).unwrap();
        let producer = starter(move |cx| {
            cx.send(c, 1).unwrap();
            cx.send(c, 2).unwrap();
            Flow::Stop
        });
        rt.spawn_on(0, producer).unwrap();
        run_within(&mut rt);
        assert_eq!(log.get(), [1, 2], "{backend}");
    }
}

// A behavior that panics fails its actor only: the run returns Ok, the
// observer hears of the panic, and the other actors of its loop go on.
#[test]
fn a_panicking_behavior_is_contained_in_its_actor() {
    for backend in backends() {
        let mut rt = runtime(backend, 3);
        let rec = Recorder::default();
        let r = rec.clone();
        on(&rt, 2, move |lp| lp.set_observer(r));
        let bomb = rt
            .spawn_on(2, actor(|_cx, ()| -> Flow { panic!("a behavior panics") }))
            .unwrap();
        let log: Log<u32> = Log::default();
        let sibling = rt.spawn_on(2, collector(&log, 1)).unwrap();
        let sender = starter(move |cx| {
            cx.send(bomb, ()).unwrap();
            cx.send(sibling, 1).unwrap();
            Flow::Stop
        });
        rt.spawn_on(0, sender).unwrap();
        run_within(&mut rt);
        assert_eq!(log.get(), [1], "{backend}");
        let stopped = rec.seen().stopped;
        assert!(
            stopped.contains(&(bomb.id(), StopReason::Panic)),
            "{backend}: {stopped:?}"
        );
        assert!(
            stopped.contains(&(sibling.id(), StopReason::Normal)),
            "{backend}: {stopped:?}"
        );
        assert_eq!(actor_counts(&rt), [0, 0, 0], "{backend}");
    }
}

// -------------------------------------------------------------- ping-pong

// R26: N round trips between actors on two loops end with the exact count
// on both sides, each message in order.
#[test]
fn ping_pong_between_loops_makes_every_round_trip() {
    const ROUNDS: u32 = 5_000;
    for backend in backends() {
        let mut rt = runtime(backend, 2);
        let pongs = Arc::new(AtomicUsize::new(0));
        let p = pongs.clone();
        let mut expect = 1;
        let pong = rt
            .spawn_on(
                1,
                actor(move |cx, (n, from): (u32, Addr<u32>)| {
                    assert_eq!(n, expect, "in order");
                    expect += 1;
                    p.fetch_add(1, SeqCst);
                    cx.send(from, n).unwrap();
                    if n == ROUNDS {
                        Flow::Stop
                    } else {
                        Flow::Continue
                    }
                }),
            )
            .unwrap();
        let pings = Arc::new(AtomicUsize::new(0));
        let p = pings.clone();
        let mut expect = 1;
        let ping = rt
            .spawn_on(
                0,
                actor(move |cx, n: u32| {
                    assert_eq!(n, expect, "in order");
                    expect += 1;
                    p.fetch_add(1, SeqCst);
                    if n == ROUNDS {
                        return Flow::Stop;
                    }
                    let me = cx.addr();
                    cx.send(pong, (n + 1, me)).unwrap();
                    Flow::Continue
                }),
            )
            .unwrap();
        on(&rt, 0, move |lp| lp.send(pong, (1, ping))).unwrap();
        run_within(&mut rt);
        assert_eq!(pongs.load(SeqCst), ROUNDS as usize, "{backend}");
        assert_eq!(pings.load(SeqCst), ROUNDS as usize, "{backend}");
        assert_eq!(actor_counts(&rt), [0, 0], "{backend}");
    }
}

// -------------------------------------------------------------------- ids

// R26: an actor's id says which loop it lives on, and shows it.
#[test]
fn ids_name_their_loop() {
    for backend in backends() {
        let mut rt = runtime(backend, 3);
        let mut ids = Vec::new();
        for k in [2, 0, 1, 2] {
            let a = rt.spawn_on(k, idle()).unwrap();
            assert_eq!(a.id().loop_index(), k, "{backend}");
            ids.push(a.id());
        }
        // A loop's slots come after those it keeps reserved for the other
        // loops' spawns (2 × 32 here), in order, at generation 1.
        let a0 = rt.spawn_on(0, idle()).unwrap();
        let a2 = rt.spawn_on(2, idle()).unwrap();
        assert_eq!((a0.id().slot(), a2.id().slot()), (65, 66), "{backend}");
        assert_eq!((ids[0].slot(), ids[0].generation()), (64, 1), "{backend}");
        // Loop `i` of a runtime is loop byte `i + 1` in an id (0 is a lone
        // loop's).
        let first2 = ActorId::from_raw((1 << 32) | (3 << 24) | 64).unwrap();
        let first0 = ActorId::from_raw((1 << 32) | (1 << 24) | 64).unwrap();
        assert_eq!((ids[0], ids[1]), (first2, first0), "{backend}");
        assert!(on(&rt, 2, move |lp| lp.is_alive(first2)), "{backend}");
        assert!(on(&rt, 0, move |lp| lp.is_alive(first0)), "{backend}");
        assert!(!on(&rt, 0, move |lp| lp.is_alive(first2)), "{backend}");
        assert_ne!(first0, first2);
        // A runtime's ids carry their loop's index; a lone loop's do not.
        assert_eq!(first0.to_string(), "<0.64.1>");
        assert_eq!(format!("{first0:?}"), "ActorId(0:64v1)");
        let lone = ActorId::from_raw((1 << 32) | 64).unwrap();
        assert_eq!((lone.to_string(), lone.loop_index()), ("<64.1>".into(), 0));
        assert!(!on(&rt, 0, move |lp| lp.is_alive(lone)), "{backend}");
        assert_eq!(first2.to_string(), "<2.64.1>");
        assert_eq!(format!("{first2:?}"), "ActorId(2:64v1)");
        assert_eq!(format!("{a2:?}"), "Addr(<2.66.1>)");
        assert_eq!(
            format!("{rt:?}"),
            "Runtime { loops: 3, placement: RoundRobin }"
        );
        assert_eq!(format!("{:?}", rt.handle()), "RuntimeHandle { loops: 3 }");
        assert_eq!((rt.loops(), rt.handle().loops()), (3, 3));
    }
}
