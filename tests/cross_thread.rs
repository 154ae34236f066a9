//! Cross-thread sends and stop requests (R14, R3) and running a loop more than
//! once (R2). Every test runs on every backend of `util::backends()`.

mod util;

use jzx::{Actor, Config, Context, Error, Flow, Interest, SpawnOptions};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};
use util::{backends, config_loop, new_loop, run_within, Log};

/// How long any one `run` may take before the test fails instead of hanging.
const LIMIT: Duration = Duration::from_secs(10);

type Behavior<M> = Box<dyn FnMut(&mut Context<'_, FnActor<M>>, M) -> Flow>;

/// An actor whose behavior is a closure.
struct FnActor<M: 'static>(Behavior<M>);

impl<M: 'static> Actor for FnActor<M> {
    type Msg = M;
    fn handle(&mut self, cx: &mut Context<'_, Self>, msg: M) -> Flow {
        (self.0)(cx, msg)
    }
}

fn actor<M: 'static>(
    f: impl FnMut(&mut Context<'_, FnActor<M>>, M) -> Flow + 'static,
) -> FnActor<M> {
    FnActor(Box::new(f))
}

/// Logs every message; stops after `n` of them.
fn collector<M: Clone + Send + 'static>(log: &Log<M>, n: usize) -> FnActor<M> {
    let log = log.clone();
    actor(move |_cx, m: M| {
        log.push(m);
        if log.len() >= n {
            Flow::Stop
        } else {
            Flow::Continue
        }
    })
}

/// A payload that counts how often it was dropped.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

// R14: a message sent from another thread before run is delivered by run.
#[test]
fn send_from_another_thread_before_run_is_delivered() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let log: Log<u64> = Log::default();
        let a = lp.spawn(collector(&log, 1)).unwrap();
        let handle = lp.handle();
        thread::spawn(move || handle.send(a, 42).unwrap())
            .join()
            .unwrap();
        assert_eq!(log.get(), [], "{backend}: nothing runs before run");
        run_within(&mut lp, LIMIT);
        assert_eq!(log.get(), [42], "{backend}");
        assert_eq!(lp.actor_count(), 0, "{backend}");
    }
}

/// What the loop waits on besides the cross-thread send.
#[derive(Clone, Copy, Debug)]
enum Waiting {
    /// Nothing: no timer, no watch.
    Nothing,
    /// A timer due in 5 s.
    Timer,
    /// A watched socket that never becomes readable.
    Watch,
}

// R14, R5: a send while the loop is blocked wakes it at once (well under the poll
// timeout, set long here so a lost wakeup shows), whatever else the loop waits on.
#[test]
fn send_while_the_loop_blocks_wakes_it_at_once() {
    for backend in backends() {
        for waiting in [Waiting::Nothing, Waiting::Timer, Waiting::Watch] {
            let mut lp = config_loop(Config {
                backend,
                io_poll_timeout_ms: 5_000,
                ..Config::default()
            });
            let latency: Log<Duration> = Log::default();
            let l = latency.clone();
            let a = lp
                .spawn(actor(move |_cx, sent: Instant| {
                    l.push(sent.elapsed());
                    Flow::Stop
                }))
                .unwrap();
            let (sock, _peer) = UnixStream::pair().unwrap();
            match waiting {
                Waiting::Nothing => {}
                Waiting::Timer => {
                    lp.send_after(a, Duration::from_secs(5), Instant::now())
                        .unwrap();
                }
                Waiting::Watch => lp
                    .watch_fd(sock.as_raw_fd(), a.id(), Interest::READ)
                    .unwrap(),
            }
            let handle = lp.handle();
            let producer = thread::spawn(move || {
                // Wait for the loop to block: nothing is runnable.
                thread::sleep(Duration::from_millis(50));
                handle.send(a, Instant::now()).unwrap();
            });
            let start = Instant::now();
            run_within(&mut lp, LIMIT);
            let ran = start.elapsed();
            producer.join().unwrap();
            let latency = latency.get();
            assert_eq!(latency.len(), 1, "{backend} {waiting:?}");
            assert!(
                latency[0] < Duration::from_millis(500),
                "{backend} {waiting:?}: delivered {:?} after the send",
                latency[0]
            );
            // The actor's stop ended the run (its timer or watch went with it).
            assert!(
                ran < Duration::from_secs(2),
                "{backend} {waiting:?}: run took {ran:?}"
            );
            assert_eq!(
                (lp.timer_count(), lp.watch_count()),
                (0, 0),
                "{backend} {waiting:?}"
            );
        }
    }
}

// R14, R10, R2: a cross-thread message whose target died before it arrived is dropped
// (destructor run), not delivered, and run still returns once it is drained.
#[test]
fn cross_thread_message_to_a_dead_actor_is_dropped_and_run_returns() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let drops = Arc::new(AtomicUsize::new(0));
        let got = Arc::new(AtomicUsize::new(0));
        let g = got.clone();
        let a = lp
            .spawn(actor(move |_cx, m: Option<Counted>| {
                if m.is_some() {
                    g.fetch_add(1, SeqCst);
                }
                Flow::Stop
            }))
            .unwrap();
        lp.send(a, None).unwrap();
        run_within(&mut lp, LIMIT);
        assert!(!lp.is_alive(a.id()), "{backend}");
        let handle = lp.handle();
        let d = drops.clone();
        thread::spawn(move || handle.send(a, Some(Counted(d))).unwrap())
            .join()
            .unwrap();
        assert_eq!(drops.load(SeqCst), 0, "{backend}: queued, not yet dropped");
        run_within(&mut lp, LIMIT);
        assert_eq!(got.load(SeqCst), 0, "{backend}: delivered to a dead actor");
        assert_eq!(
            drops.load(SeqCst),
            1,
            "{backend}: the message was dropped once"
        );
    }
}

// R14: 10,000 messages from one producer thread arrive, in order.
#[test]
fn ten_thousand_messages_from_one_producer_arrive_in_order() {
    const N: u32 = 10_000;
    for backend in backends() {
        let mut lp = new_loop(backend);
        let log: Log<u32> = Log::default();
        // The default mailbox (1024) is smaller than the burst: cross-thread
        // messages wait for room instead of being lost (R8, R14).
        let a = lp.spawn(collector(&log, N as usize)).unwrap();
        let handle = lp.handle();
        let producer = thread::spawn(move || {
            for i in 0..N {
                handle.send(a, i).unwrap();
            }
        });
        run_within(&mut lp, LIMIT);
        producer.join().unwrap();
        assert_eq!(log.get(), (0..N).collect::<Vec<_>>(), "{backend}");
    }
}

// R14: runs of messages of two types, of every length from 1 to 40, sent while the loop
// drains (so emptied runs come back and are reused for the other type too): each actor
// gets exactly its messages, in order, and nothing of the other type.
#[test]
fn alternating_runs_of_two_types_arrive_in_order() {
    const RUNS: u32 = 40;
    let total: u32 = (1..=RUNS).sum();
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (nums, words): (Log<u32>, Log<String>) = (Log::default(), Log::default());
        let a = lp.spawn(collector(&nums, total as usize)).unwrap();
        let b = lp.spawn(collector(&words, total as usize)).unwrap();
        let handle = lp.handle();
        let producer = thread::spawn(move || {
            let mut sent = 0u32;
            for len in 1..=RUNS {
                for i in sent..sent + len {
                    handle.send(a, i).unwrap();
                }
                for i in sent..sent + len {
                    handle.send(b, format!("w{i}")).unwrap();
                }
                sent += len;
                if len % 8 == 0 {
                    thread::sleep(Duration::from_millis(1));
                }
            }
        });
        run_within(&mut lp, LIMIT);
        producer.join().unwrap();
        assert_eq!(nums.get(), (0..total).collect::<Vec<_>>(), "{backend}");
        let want: Vec<String> = (0..total).map(|i| format!("w{i}")).collect();
        assert_eq!(words.get(), want, "{backend}");
    }
}

// R8, R14: a tiny mailbox holds back cross-thread messages, none is lost,
// and the observer hears of the full mailbox without a flood of reports.
#[test]
fn cross_thread_burst_into_a_tiny_mailbox_loses_nothing() {
    const N: u32 = 5_000;
    for backend in backends() {
        let mut lp = new_loop(backend);
        let rec = util::Recorder::default();
        lp.set_observer(rec.clone());
        let log: Log<u32> = Log::default();
        let a = lp
            .spawn_with(
                collector(&log, N as usize),
                SpawnOptions::new().mailbox_cap(4),
            )
            .unwrap();
        let handle = lp.handle();
        let producer = thread::spawn(move || {
            for i in 0..N {
                handle.send(a, i).unwrap();
            }
        });
        producer.join().unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(log.get(), (0..N).collect::<Vec<_>>(), "{backend}");
        let reports = rec.seen().mailbox_full.len();
        assert!(
            reports >= 1 && reports <= N as usize / 4,
            "{backend}: {reports} reports"
        );
    }
}

// R14: with four producers, each producer's messages arrive in its order.
#[test]
fn four_producers_each_arrive_in_their_own_order() {
    const PER: u32 = 10_000;
    const PRODUCERS: u32 = 4;
    for backend in backends() {
        let mut lp = new_loop(backend);
        let log: Log<(u32, u32)> = Log::default();
        let total = PER * PRODUCERS;
        let a = lp
            .spawn_with(
                collector(&log, total as usize),
                SpawnOptions::new().mailbox_cap(total),
            )
            .unwrap();
        let start = Arc::new(Barrier::new(PRODUCERS as usize));
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let handle = lp.handle();
                let start = start.clone();
                thread::spawn(move || {
                    start.wait();
                    for i in 0..PER {
                        handle.send(a, (p, i)).unwrap();
                    }
                })
            })
            .collect();
        run_within(&mut lp, LIMIT);
        for p in producers {
            p.join().unwrap();
        }
        let log = log.get();
        assert_eq!(log.len(), total as usize, "{backend}");
        for p in 0..PRODUCERS {
            let mine: Vec<u32> = log
                .iter()
                .filter(|(q, _)| *q == p)
                .map(|&(_, i)| i)
                .collect();
            assert_eq!(
                mine,
                (0..PER).collect::<Vec<_>>(),
                "{backend}: producer {p}"
            );
        }
    }
}

// R3: request_stop from another thread ends a blocked run; the actors stay alive and
// a later run carries on.
#[test]
fn request_stop_from_another_thread_ends_a_blocked_run() {
    for backend in backends() {
        let mut lp = config_loop(Config {
            backend,
            io_poll_timeout_ms: 5_000,
            ..Config::default()
        });
        let log: Log<u32> = Log::default();
        let a = lp.spawn(collector(&log, 1)).unwrap();
        let handle = lp.handle();
        let stopper = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            handle.request_stop();
        });
        let start = Instant::now();
        run_within(&mut lp, LIMIT);
        let ran = start.elapsed();
        stopper.join().unwrap();
        assert!(
            ran >= Duration::from_millis(40),
            "{backend}: run returned after {ran:?}, before the stop"
        );
        assert!(
            ran < Duration::from_millis(2_000),
            "{backend}: the stop took {ran:?}"
        );
        assert!(
            lp.is_alive(a.id()),
            "{backend}: a loop stop does not stop actors"
        );
        assert_eq!(log.get(), [], "{backend}");
        // The loop runs again and the actor gets its message.
        lp.send(a, 7).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(log.get(), [7], "{backend}");
        assert_eq!(lp.actor_count(), 0, "{backend}");
    }
}

// R3: a stop requested during a turn (here from a behavior, through a handle) lets
// the current turn finish: the rest of that turn's messages are handled, then run
// returns with the actors alive.
#[test]
fn request_stop_lets_the_current_turn_finish() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let log: Log<(char, u32)> = Log::default();
        let handle = lp.handle();
        let l = log.clone();
        let a = lp
            .spawn(actor(move |_cx, n: u32| {
                l.push(('a', n));
                if n == 0 {
                    handle.request_stop();
                }
                Flow::Continue
            }))
            .unwrap();
        let b = lp.spawn(collector(&log, usize::MAX)).unwrap();
        // Ten messages each: well within one turn's 64 per actor.
        for n in 0..10 {
            lp.send(a, n).unwrap();
        }
        for n in 0..10 {
            lp.send(b, ('b', n)).unwrap();
        }
        run_within(&mut lp, LIMIT);
        let want: Vec<(char, u32)> = (0..10)
            .map(|n| ('a', n))
            .chain((0..10).map(|n| ('b', n)))
            .collect();
        assert_eq!(log.get(), want, "{backend}: the turn was cut short");
        assert_eq!(lp.actor_count(), 2, "{backend}: a loop stop stops no actor");
    }
}

// R3: a stop requested before run makes run return at once, without handling
// anything; the request is used up, so the next run works normally.
#[test]
fn request_stop_before_run_returns_at_once_and_is_used_up() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let log: Log<u32> = Log::default();
        let a = lp.spawn(collector(&log, 2)).unwrap();
        lp.send(a, 1).unwrap();
        lp.request_stop();
        run_within(&mut lp, LIMIT);
        assert_eq!(
            log.get(),
            [],
            "{backend}: run handled a message despite the stop"
        );
        // From another thread's handle, likewise.
        let handle = lp.handle();
        thread::spawn(move || handle.request_stop()).join().unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(
            log.get(),
            [],
            "{backend}: run handled a message despite the stop"
        );
        // Used up: this run handles the work and returns once the actor stops.
        lp.send(a, 2).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(log.get(), [1, 2], "{backend}");
        assert_eq!(lp.actor_count(), 0, "{backend}");
    }
}

// R14, R10: after the loop is dropped, LoopHandle::send fails with LoopClosed and
// hands the message back; messages still queued at the drop were dropped, not leaked.
#[test]
fn send_after_the_loop_is_dropped_is_loop_closed_with_the_message_back() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let drops = Arc::new(AtomicUsize::new(0));
        let a = lp.spawn(actor(|_cx, _: Counted| Flow::Continue)).unwrap();
        let handle = lp.handle();
        handle.send(a, Counted(drops.clone())).unwrap();
        drop(lp);
        assert_eq!(
            drops.load(SeqCst),
            1,
            "{backend}: the queued message was dropped with the loop"
        );
        let h = handle.clone();
        let d = drops.clone();
        let err = thread::spawn(move || h.send(a, Counted(d)).unwrap_err())
            .join()
            .unwrap();
        assert_eq!(err.error, Error::LoopClosed, "{backend}");
        assert_eq!(
            drops.load(SeqCst),
            1,
            "{backend}: the refused message is not dropped"
        );
        let msg = err.into_message();
        assert!(
            Arc::ptr_eq(&msg.0, &drops),
            "{backend}: the same message came back"
        );
        drop(msg);
        assert_eq!(drops.load(SeqCst), 2, "{backend}");
        // Stop requests on a dropped loop are harmless.
        handle.request_stop();
    }
}

// R2: run returns when idle and can be called again on the same loop.
#[test]
fn run_can_be_called_twice_on_one_loop() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        // An idle loop: run returns at once.
        let start = Instant::now();
        run_within(&mut lp, LIMIT);
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{backend}: idle run did not return"
        );
        let log: Log<&'static str> = Log::default();
        let a = lp.spawn(collector(&log, 1)).unwrap();
        lp.send(a, "first").unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(log.get(), ["first"], "{backend}");
        assert!(!lp.is_alive(a.id()), "{backend}");
        // Second run on the same loop: new actor, timer and cross-thread send.
        let b = lp.spawn(collector(&log, 4)).unwrap(); // the log holds "first" already
        lp.send(b, "second").unwrap();
        lp.send_after(b, Duration::from_millis(10), "timer")
            .unwrap();
        let handle = lp.handle();
        thread::spawn(move || handle.send(b, "remote").unwrap())
            .join()
            .unwrap();
        run_within(&mut lp, LIMIT);
        let mut got = log.get();
        got[1..].sort_unstable();
        assert_eq!(got, ["first", "remote", "second", "timer"], "{backend}");
        assert_eq!(lp.actor_count(), 0, "{backend}");
        // And a third, idle again.
        run_within(&mut lp, LIMIT);
    }
}
