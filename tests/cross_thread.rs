//! Cross-thread sends and stop requests (R14, R3) and running a loop more than
//! once (R2). Every test runs on every backend of `util::backends()`.

mod util;

use jzx::{Config, Error, Flow, Interest, SpawnOptions};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use util::fn_actor::{actor, collector};
use util::{backends, config_loop, new_loop, run_within, AlwaysBomb, Log};

/// How long any one `run` may take before the test fails instead of hanging.
const LIMIT: Duration = Duration::from_secs(10);

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
            let (handle, tid) = (lp.handle(), util::current_tid());
            let producer = thread::spawn(move || {
                // Once the loop blocks: nothing is runnable.
                util::wait_blocked(tid);
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
        let (handle, drained) = (lp.handle(), (nums.clone(), words.clone()));
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
                    // The loop has handled all of them: the runs are empty.
                    let (nums, words) = &drained;
                    util::wait_for(
                        || nums.len() == sent as usize && words.len() == sent as usize,
                        || format!("the loop never handled the first {sent} of each type"),
                    );
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
        let producers = start_producers(&lp, PRODUCERS, move |handle, p| {
            for i in 0..PER {
                handle.send(a, (p, i)).unwrap();
            }
        });
        run_within(&mut lp, LIMIT);
        for p in producers {
            p.join().unwrap();
        }
        assert_each_producer_in_order(&log.get(), PRODUCERS, PER, backend);
    }
}

/// Starts `n` producer threads that run `body(handle, index)` together.
fn start_producers(
    lp: &jzx::Loop,
    n: u32,
    body: impl Fn(jzx::LoopHandle, u32) + Clone + Send + 'static,
) -> Vec<thread::JoinHandle<()>> {
    let start = Arc::new(Barrier::new(n as usize));
    (0..n)
        .map(|p| {
            let (handle, start, body) = (lp.handle(), start.clone(), body.clone());
            thread::spawn(move || {
                start.wait();
                body(handle, p);
            })
        })
        .collect()
}

/// `log` holds `per` messages `(producer, 0..per)` of each of `producers`,
/// each producer's in its order.
#[track_caller]
fn assert_each_producer_in_order(
    log: &[(u32, u32)],
    producers: u32,
    per: u32,
    backend: jzx::BackendKind,
) {
    assert_eq!(log.len(), (producers * per) as usize, "{backend}");
    for p in 0..producers {
        let mine: Vec<u32> = log
            .iter()
            .filter(|(q, _)| *q == p)
            .map(|&(_, i)| i)
            .collect();
        assert_eq!(
            mine,
            (0..per).collect::<Vec<_>>(),
            "{backend}: producer {p}"
        );
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
        let (handle, tid) = (lp.handle(), util::current_tid());
        let asked: Arc<Mutex<Option<Instant>>> = Arc::default();
        let at = asked.clone();
        let stopper = thread::spawn(move || {
            // Once the run blocks: nothing is runnable.
            util::wait_blocked(tid);
            *at.lock().unwrap() = Some(Instant::now());
            handle.request_stop();
        });
        run_within(&mut lp, LIMIT);
        let returned = Instant::now();
        let asked = *asked.lock().unwrap();
        let asked = asked.unwrap_or_else(|| panic!("{backend}: run returned before the stop"));
        stopper.join().unwrap();
        let took = returned - asked;
        assert!(
            took < Duration::from_millis(2_000),
            "{backend}: the stop took {took:?}"
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

/// Waits (up to `LIMIT`) until `cond` holds; false on time-out.
fn wait_for(cond: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > LIMIT {
            return false;
        }
        thread::yield_now();
    }
    true
}

/// Sends `msg`, retrying while the cross-thread path is full (R14).
/// A loop with a cross-thread bound of `cap` messages.
fn bounded_loop(backend: jzx::BackendKind, cap: u32) -> jzx::Loop {
    config_loop(Config {
        backend,
        cross_thread_cap: cap,
        ..Config::default()
    })
}

/// Sends `msg`, retrying while the loop refuses it as `MailboxFull` (for
/// `LIMIT` at most); returns how many times it was refused.
fn send_retrying<M: Send + 'static>(
    handle: &jzx::LoopHandle,
    to: jzx::Addr<M>,
    mut msg: M,
) -> usize {
    let start = Instant::now();
    let mut refused = 0;
    loop {
        match handle.send(to, msg) {
            Ok(()) => return refused,
            Err(e) if e.error == Error::MailboxFull && start.elapsed() < LIMIT => {
                refused += 1;
                msg = e.into_message();
                thread::yield_now();
            }
            Err(e) => panic!("send failed: {:?}", e.error),
        }
    }
}

// R14: once `cross_thread_cap` messages are in flight, a send is refused with
// MailboxFull and the same message comes back; the loop's count is exact, and
// room made by delivery is given back to the producers.
#[test]
fn sends_beyond_the_cross_thread_bound_are_refused_with_the_message_back() {
    const CAP: u32 = 8;
    for backend in backends() {
        let mut lp = bounded_loop(backend, CAP);
        assert_eq!(lp.config().cross_thread_cap, CAP, "{backend}");
        let log: Log<u32> = Log::default();
        let a = lp.spawn(collector(&log, CAP as usize + 1)).unwrap();
        let handle = lp.handle();
        let refused = thread::spawn(move || {
            for i in 0..CAP {
                handle.send(a, i).unwrap();
            }
            let err = handle.send(a, CAP).unwrap_err();
            (err.error, err.into_message(), handle)
        })
        .join()
        .unwrap();
        let (error, message, handle) = refused;
        assert_eq!(
            (error, message),
            (Error::MailboxFull, CAP),
            "{backend}: the send past the bound"
        );
        assert_eq!(lp.cross_thread_pending(), CAP as usize, "{backend}");
        // Once the loop has delivered them, there is room again.
        let log2 = log.clone();
        let producer = thread::spawn(move || {
            assert!(wait_for(|| log2.len() == CAP as usize), "never delivered");
            handle.send(a, CAP)
        });
        run_within(&mut lp, LIMIT);
        assert!(producer.join().unwrap().is_ok(), "{backend}");
        assert_eq!(log.get(), (0..=CAP).collect::<Vec<_>>(), "{backend}");
        assert_eq!(lp.cross_thread_pending(), 0, "{backend}");
    }
}

// R14: a producer that never stops, into a capacity-1 actor that is slower
// than it: sends are refused once the bound is reached, the loop never holds
// more than the bound, and what is accepted arrives in order.
#[test]
fn a_producer_that_never_stops_cannot_grow_the_loop() {
    const CAP: u32 = 64;
    const HANDLED: u32 = 2_000;
    for backend in backends() {
        let mut lp = bounded_loop(backend, CAP);
        let refused = Arc::new(AtomicUsize::new(0));
        let handled = Arc::new(AtomicUsize::new(0));
        let log: Log<u64> = Log::default();
        let (r, h, l) = (refused.clone(), handled.clone(), log.clone());
        let a = lp
            .spawn_with(
                actor(move |_cx, i: u64| {
                    if i == 0 {
                        // Hold the loop until the producer has been refused:
                        // it has filled the bound meanwhile.
                        assert!(wait_for(|| r.load(SeqCst) > 0), "never refused");
                    }
                    l.push(i);
                    if h.fetch_add(1, SeqCst) + 1 == HANDLED as usize {
                        Flow::Stop
                    } else {
                        Flow::Continue
                    }
                }),
                SpawnOptions::new().mailbox_cap(1),
            )
            .unwrap();
        let handle = lp.handle();
        let (r, h) = (refused.clone(), handled.clone());
        let producer = thread::spawn(move || {
            let (mut next, mut most_in_flight) = (0u64, 0u64);
            // Until the actor is done; far more than the bound without a
            // refusal means there is no bound.
            while h.load(SeqCst) < HANDLED as usize && next < 100_000 {
                match handle.send(a, next) {
                    Ok(()) => {
                        next += 1;
                        // Accepted minus handled: in the loop's hands (one
                        // in the mailbox, one being handled).
                        let held = next - h.load(SeqCst) as u64;
                        most_in_flight = most_in_flight.max(held);
                    }
                    Err(e) => {
                        assert_eq!(e.error, Error::MailboxFull);
                        assert_eq!(e.into_message(), next, "the refused message came back");
                        r.fetch_add(1, SeqCst);
                        thread::yield_now();
                    }
                }
            }
            most_in_flight
        });
        run_within(&mut lp, LIMIT);
        let most_in_flight = producer.join().unwrap();
        // A last message may have been accepted after the actor stopped:
        // the loop drops it and settles the count.
        run_within(&mut lp, LIMIT);
        assert_eq!(lp.cross_thread_pending(), 0, "{backend}");
        assert!(refused.load(SeqCst) > 0, "{backend}: nothing was refused");
        assert!(
            most_in_flight <= u64::from(CAP) + 2,
            "{backend}: {most_in_flight} accepted and not handled"
        );
        assert_eq!(
            log.get(),
            (0..u64::from(HANDLED)).collect::<Vec<_>>(),
            "{backend}"
        );
    }
}

// R14: messages waiting for room in one full mailbox do not delay another
// actor's message: it is handled in the first turn, not after the backlog.
#[test]
fn a_full_mailbox_does_not_delay_messages_for_other_actors() {
    const BACKLOG: u32 = 2_000;
    for backend in backends() {
        let mut lp = new_loop(backend);
        let log: Log<(char, u32)> = Log::default();
        let busy = lp
            .spawn_with(
                collector(&log, usize::MAX),
                SpawnOptions::new().mailbox_cap(1),
            )
            .unwrap();
        let l = log.clone();
        let idle = lp
            .spawn(actor(move |cx, (): ()| {
                l.push(('i', 0));
                cx.stop_actor(busy.id()).unwrap();
                Flow::Stop
            }))
            .unwrap();
        let handle = lp.handle();
        thread::spawn(move || {
            for n in 0..BACKLOG {
                handle.send(busy, ('b', n)).unwrap();
            }
            handle.send(idle, ()).unwrap();
        })
        .join()
        .unwrap();
        run_within(&mut lp, LIMIT);
        let log = log.get();
        let at = log.iter().position(|&(c, _)| c == 'i');
        // One turn: the busy actor handles its one queued message, the idle
        // actor its message.
        assert_eq!(at, Some(1), "{backend}: {} entries first", at.unwrap_or(0));
        assert_eq!(log[0], ('b', 0), "{backend}");
        assert_eq!(lp.actor_count(), 0, "{backend}");
        assert_eq!(
            lp.cross_thread_pending(),
            0,
            "{backend}: dropped with the actor"
        );
    }
}

// R8, R14: each target whose full mailbox refuses cross-thread messages is
// reported to the observer, once while its messages wait.
#[test]
fn every_full_target_is_reported_to_the_observer() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let rec = util::Recorder::default();
        lp.set_observer(rec.clone());
        let (one, two): (Log<u32>, Log<u32>) = (Log::default(), Log::default());
        let opts = SpawnOptions::new().mailbox_cap(1);
        let a = lp.spawn_with(collector(&one, 3), opts.clone()).unwrap();
        let b = lp.spawn_with(collector(&two, 3), opts).unwrap();
        let handle = lp.handle();
        thread::spawn(move || {
            for n in 0..3 {
                handle.send(a, n).unwrap();
            }
            for n in 0..3 {
                handle.send(b, n).unwrap();
            }
        })
        .join()
        .unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!((one.get(), two.get()), (vec![0, 1, 2], vec![0, 1, 2]));
        assert_eq!(
            rec.seen().mailbox_full,
            [a.id(), b.id()],
            "{backend}: one report per full target"
        );
    }
}

// R14: with four producers into two small mailboxes behind a small bound
// (sends refused and retried, messages waiting for room), each producer's
// messages arrive at each target in the order it sent them.
#[test]
fn fifo_per_producer_holds_while_messages_wait_and_sends_are_refused() {
    const PER: u32 = 3_000;
    const PRODUCERS: u32 = 4;
    for backend in backends() {
        let mut lp = bounded_loop(backend, 32);
        let logs: [Log<(u32, u32)>; 2] = [Log::default(), Log::default()];
        let total = (PER * PRODUCERS) as usize;
        let opts = SpawnOptions::new().mailbox_cap(2);
        let targets = [
            lp.spawn_with(collector(&logs[0], total), opts.clone())
                .unwrap(),
            lp.spawn_with(collector(&logs[1], total), opts).unwrap(),
        ];
        let producers = start_producers(&lp, PRODUCERS, move |handle, p| {
            for i in 0..PER {
                for to in targets {
                    send_retrying(&handle, to, (p, i));
                }
            }
        });
        run_within(&mut lp, LIMIT);
        for p in producers {
            p.join().unwrap();
        }
        for log in &logs {
            assert_each_producer_in_order(&log.get(), PRODUCERS, PER, backend);
        }
    }
}

/// A message whose destructor panics.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        if !thread::panicking() {
            panic!("a destructor panicked");
        }
    }
}

// R10, R2: a cross-thread message for a dead actor whose destructor panics is
// dropped without taking the loop down: run returns, and runs again.
#[test]
fn a_panicking_destructor_of_a_message_for_a_dead_actor_does_not_poison_the_loop() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let a = lp.spawn(actor(|_cx, _: Bomb| Flow::Stop)).unwrap();
        lp.stop_actor(a.id()).unwrap();
        run_within(&mut lp, LIMIT);
        let handle = lp.handle();
        thread::spawn(move || {
            handle.send(a, Bomb).unwrap();
        })
        .join()
        .unwrap();
        let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lp.run()));
        assert!(
            matches!(first, Ok(Ok(()))),
            "{backend}: the destructor's panic left run"
        );
        assert_eq!(lp.cross_thread_pending(), 0, "{backend}");
        let log: Log<u32> = Log::default();
        let b = lp.spawn(collector(&log, 1)).unwrap();
        lp.send(b, 5).unwrap();
        assert_eq!(lp.run(), Ok(()), "{backend}: the loop is usable");
        assert_eq!(log.get(), [5], "{backend}");
    }
}

/// An observer whose `on_actor_stop` panics.
struct PanickyObserver;

impl jzx::Observer for PanickyObserver {
    fn on_actor_stop(&mut self, _: jzx::ActorId, _: jzx::StopReason) {
        panic!("an observer panicked");
    }
}

// R2: whatever unwinds out of a run (here possibly an observer's panic), the
// loop is not left marked as running: the next run works.
#[test]
fn a_run_left_by_a_panic_does_not_refuse_the_next_run() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        lp.set_observer(PanickyObserver);
        let a = lp.spawn(actor(|_cx, (): ()| Flow::Stop)).unwrap();
        lp.send(a, ()).unwrap();
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lp.run()));
        let log: Log<u32> = Log::default();
        let b = lp.spawn(collector(&log, 1)).unwrap();
        lp.send(b, 5).unwrap();
        let second = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lp.run()));
        assert!(
            !matches!(second, Ok(Err(Error::LoopClosed))),
            "{backend}: the loop stayed marked as running"
        );
        assert_eq!(log.get(), [5], "{backend}");
    }
}

// R3: a stop requested during a run that then ends because the loop is idle
// is used up by that run: the next run handles its work.
#[test]
fn a_stop_requested_in_a_run_that_ends_idle_is_used_up() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let handle = lp.handle();
        let a = lp
            .spawn(actor(move |_cx, (): ()| {
                handle.request_stop();
                Flow::Stop
            }))
            .unwrap();
        lp.send(a, ()).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(lp.actor_count(), 0, "{backend}");
        let log: Log<u32> = Log::default();
        let b = lp.spawn(collector(&log, 2)).unwrap();
        lp.send(b, 1).unwrap();
        lp.send(b, 2).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(log.get(), [1, 2], "{backend}: the old stop ended this run");
        assert_eq!(lp.actor_count(), 0, "{backend}");
    }
}

// R14: a producer that never stops, retrying into one slow capacity-1 actor,
// takes only that actor's share of the bound: a single send from another
// thread to an idle actor is accepted meanwhile and handled within a turn or
// two of the slow actor's, not after its backlog.
#[test]
fn a_flooded_slow_actor_does_not_take_the_bound_from_other_targets() {
    const CAP: u32 = 64;
    for backend in backends() {
        let mut lp = bounded_loop(backend, CAP);
        let handled = Arc::new(AtomicUsize::new(0));
        let refused = Arc::new(AtomicUsize::new(0));
        let (h, r) = (handled.clone(), refused.clone());
        let slow = lp
            .spawn_with(
                actor(move |_cx, _: u64| {
                    h.fetch_add(1, SeqCst);
                    // Slow: busy until the flood, outrunning it, has been
                    // refused once more.
                    let before = r.load(SeqCst);
                    assert!(wait_for(|| r.load(SeqCst) > before));
                    Flow::Continue
                }),
                SpawnOptions::new().mailbox_cap(1),
            )
            .unwrap();
        // The slow actor's count when the idle actor's message was handled.
        let seen_at = Arc::new(AtomicUsize::new(usize::MAX));
        let (h, s) = (handled.clone(), seen_at.clone());
        let idle = lp
            .spawn(actor(move |cx, (): ()| {
                s.store(h.load(SeqCst), SeqCst);
                cx.stop_actor(slow.id()).unwrap();
                Flow::Stop
            }))
            .unwrap();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (handle, d, r) = (lp.handle(), done.clone(), refused.clone());
        let flood = thread::spawn(move || {
            let mut next = 0u64;
            while !d.load(SeqCst) {
                match handle.send(slow, next) {
                    Ok(()) => next += 1,
                    Err(_) => {
                        r.fetch_add(1, SeqCst);
                        thread::yield_now();
                    }
                }
            }
        });
        let (handle, d, r, h) = (lp.handle(), done.clone(), refused.clone(), handled.clone());
        let single = thread::spawn(move || {
            // Once the flood is being refused, and the slow actor is busy.
            assert!(wait_for(|| r.load(SeqCst) >= 10 && h.load(SeqCst) >= 5));
            let before = h.load(SeqCst);
            let sent = handle.send(idle, ()).map_err(|e| e.error);
            if sent.is_err() {
                d.store(true, SeqCst);
                handle.request_stop();
            }
            (sent, before)
        });
        run_within(&mut lp, LIMIT);
        done.store(true, SeqCst);
        flood.join().unwrap();
        // The flood's last messages, for a dead actor, are dropped.
        run_within(&mut lp, LIMIT);
        let (sent, before) = single.join().unwrap();
        assert_eq!(sent, Ok(()), "{backend}: the idle actor's send was refused");
        let at = seen_at.load(SeqCst);
        assert!(
            at != usize::MAX && at - before <= 3,
            "{backend}: handled after {} of the slow actor's messages",
            at.wrapping_sub(before)
        );
        assert_eq!(lp.cross_thread_pending(), 0, "{backend}");
    }
}

// R10: messages waiting for room for a target that dies are dropped one by
// one: two panicking destructors among them neither abort the process nor
// leave the loop.
#[test]
fn parked_messages_with_panicking_destructors_are_each_dropped() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let drops = Arc::new(AtomicUsize::new(0));
        let a = lp
            .spawn_with(
                actor(|_cx, m: Option<AlwaysBomb>| {
                    assert!(m.is_none());
                    Flow::Stop
                }),
                SpawnOptions::new().mailbox_cap(1),
            )
            .unwrap();
        let (handle, d) = (lp.handle(), drops.clone());
        thread::spawn(move || {
            handle.send(a, None).unwrap();
            for _ in 0..3 {
                handle.send(a, Some(AlwaysBomb(d.clone()))).unwrap();
            }
        })
        .join()
        .unwrap();
        let first = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lp.run()));
        assert!(matches!(first, Ok(Ok(()))), "{backend}: a panic left run");
        assert_eq!(drops.load(SeqCst), 3, "{backend}: each parked one dropped");
        assert_eq!(lp.cross_thread_pending(), 0, "{backend}");
        let log: Log<u32> = Log::default();
        let b = lp.spawn(collector(&log, 1)).unwrap();
        lp.send(b, 5).unwrap();
        assert_eq!(lp.run(), Ok(()), "{backend}: the loop is usable");
        assert_eq!(log.get(), [5], "{backend}");
    }
}

// R10: messages still queued from other threads when the loop is dropped are
// dropped one by one: two panicking destructors do not abort the process.
#[test]
fn queued_messages_with_panicking_destructors_are_each_dropped_with_the_loop() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let drops = Arc::new(AtomicUsize::new(0));
        let a = lp.spawn(actor(|_cx, _: AlwaysBomb| Flow::Stop)).unwrap();
        let (handle, d) = (lp.handle(), drops.clone());
        thread::spawn(move || {
            for _ in 0..2 {
                handle.send(a, AlwaysBomb(d.clone())).unwrap();
            }
        })
        .join()
        .unwrap();
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(lp)));
        assert!(dropped.is_ok(), "{backend}: a panic left the loop's drop");
        assert_eq!(drops.load(SeqCst), 2, "{backend}");
    }
}

// R14, R13: messages waiting for a target that stops are dropped with it; an
// actor that then takes the same slot gets none of them, and a late send to
// the old id is dropped too.
#[test]
fn a_new_actor_in_a_stopped_targets_slot_gets_none_of_its_parked_messages() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let drops = Arc::new(AtomicUsize::new(0));
        // Logs its first message's number and stops; mailbox capacity 1.
        let spawn_one = |lp: &mut jzx::Loop, log: &Log<u32>| {
            let l = log.clone();
            let behavior = actor(move |_cx, m: (u32, Counted)| {
                l.push(m.0);
                Flow::Stop
            });
            lp.spawn_with(behavior, SpawnOptions::new().mailbox_cap(1))
                .unwrap()
        };
        let first: Log<u32> = Log::default();
        let t = spawn_one(&mut lp, &first);
        let (handle, d) = (lp.handle(), drops.clone());
        thread::spawn(move || {
            for n in 0..5 {
                handle.send(t, (n, Counted(d.clone()))).unwrap();
            }
        })
        .join()
        .unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(first.get(), [0], "{backend}");
        // One handled, four dropped with T.
        assert_eq!(drops.load(SeqCst), 5, "{backend}");
        assert_eq!(lp.cross_thread_pending(), 0, "{backend}");
        let second: Log<u32> = Log::default();
        let u = spawn_one(&mut lp, &second);
        assert_eq!(
            u.id().slot(),
            t.id().slot(),
            "{backend}: the slot is reused"
        );
        let (handle, d) = (lp.handle(), drops.clone());
        thread::spawn(move || {
            handle.send(t, (7, Counted(d.clone()))).unwrap();
            handle.send(u, (9, Counted(d))).unwrap();
        })
        .join()
        .unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(second.get(), [9], "{backend}");
        assert_eq!(drops.load(SeqCst), 7, "{backend}");
        assert_eq!(lp.cross_thread_pending(), 0, "{backend}");
    }
}

// R14: a target limited because its park holds its share is granted room
// again as it catches up (every quarter of its share taken in, or when its
// park is empty), so a producer that retries refused sends finishes, in
// order. Bound 1,024 and a 1-message mailbox: share 256, a new grant every
// 64 messages; the producer sends 20 times the bound. The target holds its
// loop in its first message until the producer has been refused once (at
// the bound, or at its share if the loop parked that many first), so that
// its park starts over its share whatever the speeds of the two threads.
#[test]
fn a_limited_target_is_granted_room_again_as_it_catches_up() {
    const N: u32 = 20_000;
    for backend in backends() {
        let mut lp = bounded_loop(backend, 1024);
        let log: Log<u32> = Log::default();
        let (refused_tx, refused_rx) = std::sync::mpsc::channel::<()>();
        let l = log.clone();
        let held = actor(move |_cx, m: u32| {
            if m == 0 {
                refused_rx
                    .recv_timeout(util::WAIT)
                    .expect("the producer was refused");
            }
            l.push(m);
            if l.len() >= N as usize {
                Flow::Stop
            } else {
                Flow::Continue
            }
        });
        let target = lp
            .spawn_with(held, SpawnOptions::new().mailbox_cap(1))
            .unwrap();
        let handle = lp.handle();
        let producer = thread::spawn(move || {
            // Up to the first refusal, which releases the target.
            let mut next = 0;
            let first = loop {
                match handle.send(target, next) {
                    Ok(()) => next += 1,
                    Err(e) => break e,
                }
            };
            refused_tx.send(()).unwrap();
            assert_eq!((first.error, first.message), (Error::MailboxFull, next));
            for i in next..N {
                send_retrying(&handle, target, i);
            }
        });
        run_within(&mut lp, LIMIT);
        // The producer checked its first refusal (MailboxFull, the message
        // handed back): at the bound, or at the target's share once the
        // loop had parked that many.
        producer.join().unwrap();
        assert_eq!(log.get(), (0..N).collect::<Vec<_>>(), "{backend}");
        assert_eq!(lp.cross_thread_pending(), 0, "{backend}");
    }
}
