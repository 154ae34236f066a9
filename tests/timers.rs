//! Timers (R15): one-shot and repeating timers, cancellation, timers of dead
//! actors, ordering, and timers keeping `run` alive. Every test runs on every
//! backend of `util::backends()`. Tests of when timers fire, relative to each
//! other or to the loop's time, run on the virtual clock and check exact
//! times; one checks on the real clock that a delay really elapses.

mod util;

use jzx::{Actor, Context, Error, Flow, TimerId};
use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};
use util::{backends, new_loop, run_within, AlwaysBomb, Log};

/// How long any one `run` may take before the test fails instead of hanging.
const LIMIT: Duration = Duration::from_secs(10);
const MS: Duration = Duration::from_millis(1);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A loop on the virtual clock: time starts at 0 and jumps to the next
/// deadline when nothing is runnable, so timers fire at exact times.
fn virtual_loop(backend: jzx::BackendKind) -> jzx::Loop {
    util::config_loop(jzx::Config {
        backend,
        clock: jzx::ClockKind::Virtual,
        ..jzx::Config::default()
    })
}

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

/// A payload that counts how often it was dropped (R10: a dropped message
/// has its destructor run).
struct Counted {
    tag: u32,
    drops: Arc<AtomicUsize>,
}

impl Counted {
    fn new(tag: u32, drops: &Arc<AtomicUsize>) -> Counted {
        Counted {
            tag,
            drops: drops.clone(),
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

enum Msg {
    Payload(Counted),
    Stop,
}

/// An actor that logs what it gets ("payload N" / "stop") and stops on `Stop`.
fn logging_actor(log: &Log<String>) -> FnActor<Msg> {
    let log = log.clone();
    actor(move |_cx, msg: Msg| match msg {
        Msg::Payload(c) => {
            log.push(format!("payload {}", c.tag));
            Flow::Continue
        }
        Msg::Stop => {
            log.push("stop".to_owned());
            Flow::Stop
        }
    })
}

// R15: the message arrives no earlier than the delay (1 ms resolution).
#[test]
fn send_after_delivers_after_the_delay_and_run_returns_when_the_actor_stops() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let log: Log<Instant> = Log::default();
        let l = log.clone();
        let a = lp
            .spawn(actor(move |_cx, ()| {
                l.push(Instant::now());
                Flow::Stop
            }))
            .unwrap();
        let delay = Duration::from_millis(60);
        lp.send_after(a, delay, ()).unwrap();
        // Taken after setting the timer: the bound below is the strict one.
        let start = Instant::now();
        assert_eq!(lp.timer_count(), 1, "{backend}: the timer is pending");
        run_within(&mut lp, LIMIT);
        let ran = start.elapsed();
        let arrivals: Vec<Duration> = log.get().iter().map(|t| *t - start).collect();
        assert_eq!(arrivals.len(), 1, "{backend}: exactly one delivery");
        assert!(
            arrivals[0] >= delay - MS,
            "{backend}: delivered after {:?}, before the delay {delay:?}",
            arrivals[0]
        );
        assert!(
            arrivals[0] < delay + Duration::from_secs(1),
            "{backend}: delivered after {:?}, far too late",
            arrivals[0]
        );
        assert!(
            ran < delay + Duration::from_secs(1),
            "{backend}: run returned only after {ran:?}"
        );
        assert_eq!(lp.actor_count(), 0, "{backend}: the actor stopped");
        assert_eq!(lp.timer_count(), 0, "{backend}: no timer left");
    }
}

// R15: cancelling a pending timer succeeds; its message is dropped, never delivered.
#[test]
fn cancel_of_pending_timer_succeeds_and_drops_its_message_undelivered() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let log = Log::default();
        let drops = Arc::new(AtomicUsize::new(0));
        let a = lp.spawn(logging_actor(&log)).unwrap();
        let t = lp
            .send_after(
                a,
                Duration::from_millis(20),
                Msg::Payload(Counted::new(1, &drops)),
            )
            .unwrap();
        // The stop comes well after the cancelled timer would have fired.
        lp.send_after(a, Duration::from_millis(80), Msg::Stop)
            .unwrap();
        assert_eq!(lp.timer_count(), 2, "{backend}");
        assert_eq!(
            lp.cancel_timer(t),
            Ok(()),
            "{backend}: cancel of a pending timer"
        );
        assert_eq!(
            drops.load(SeqCst),
            1,
            "{backend}: the cancelled message was dropped at once"
        );
        assert_eq!(lp.timer_count(), 1, "{backend}");
        run_within(&mut lp, LIMIT);
        assert_eq!(lp.now(), ms(80), "{backend}: the stop came when due");
        assert_eq!(
            log.get(),
            ["stop"],
            "{backend}: the cancelled message never arrived"
        );
        assert_eq!(drops.load(SeqCst), 1, "{backend}: dropped exactly once");
    }
}

// R15: cancel of a fired one-shot timer fails with TimerInvalid (outside and inside the loop).
#[test]
fn cancel_after_fire_is_timer_invalid() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let log: Log<String> = Log::default();
        let id: Rc<Cell<Option<TimerId>>> = Rc::default();
        let (l, own) = (log.clone(), id.clone());
        let a = lp
            .spawn(actor(move |cx, n: u32| {
                // Inside the behavior handling the timer's message: it has fired.
                let r = cx.cancel_timer(own.get().expect("timer id"));
                l.push(format!("got {n}, cancel {r:?}"));
                Flow::Stop
            }))
            .unwrap();
        let t = lp.send_after(a, Duration::from_millis(5), 7).unwrap();
        id.set(Some(t));
        run_within(&mut lp, LIMIT);
        assert_eq!(log.get(), ["got 7, cancel Err(TimerInvalid)"], "{backend}");
        assert_eq!(
            lp.cancel_timer(t),
            Err(Error::TimerInvalid),
            "{backend}: after run"
        );
        assert_eq!(lp.timer_count(), 0, "{backend}");
    }
}

// R15: a cancelled timer cannot be cancelled again, even once its slot is reused.
#[test]
fn cancel_twice_is_timer_invalid_and_does_not_touch_the_slot_reuser() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let log = Log::default();
        let drops = Arc::new(AtomicUsize::new(0));
        let a = lp.spawn(logging_actor(&log)).unwrap();
        let t1 = lp
            .send_after(
                a,
                Duration::from_secs(5),
                Msg::Payload(Counted::new(1, &drops)),
            )
            .unwrap();
        assert_eq!(lp.cancel_timer(t1), Ok(()), "{backend}: first cancel");
        assert_eq!(
            lp.cancel_timer(t1),
            Err(Error::TimerInvalid),
            "{backend}: second cancel"
        );
        // A new timer (very likely on the freed slot): the stale id must not cancel it.
        let t2 = lp
            .send_after(
                a,
                Duration::from_millis(10),
                Msg::Payload(Counted::new(2, &drops)),
            )
            .unwrap();
        assert_ne!(t1, t2, "{backend}: a new timer gets a new id");
        assert_eq!(
            lp.cancel_timer(t1),
            Err(Error::TimerInvalid),
            "{backend}: stale id"
        );
        assert_eq!(
            lp.timer_count(),
            1,
            "{backend}: the new timer is still pending"
        );
        // Never-issued ids are invalid too.
        let unknown = TimerId::from_raw((77 << 32) | 12_345).unwrap();
        assert_eq!(
            lp.cancel_timer(unknown),
            Err(Error::TimerInvalid),
            "{backend}: unknown id"
        );
        lp.send_after(a, Duration::from_millis(40), Msg::Stop)
            .unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(log.get(), ["payload 2", "stop"], "{backend}");
        assert_eq!(lp.now(), ms(40), "{backend}");
        assert_eq!(
            drops.load(SeqCst),
            2,
            "{backend}: both payloads dropped once"
        );
    }
}

// R15, R13, R10: a timer of an actor that died is dropped (destructor run), never
// delivered, and does not keep run alive.
#[test]
fn timer_of_dead_actor_is_dropped_and_does_not_keep_run_alive() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let log = Log::default();
        let drops = Arc::new(AtomicUsize::new(0));
        let a = lp.spawn(logging_actor(&log)).unwrap();
        let delay = Duration::from_secs(3);
        let t = lp
            .send_after(a, delay, Msg::Payload(Counted::new(1, &drops)))
            .unwrap();
        lp.send(a, Msg::Stop).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(
            lp.now(),
            Duration::ZERO,
            "{backend}: run waited for a dead actor's timer"
        );
        assert_eq!(
            log.get(),
            ["stop"],
            "{backend}: the timer's message was not delivered"
        );
        assert_eq!(
            drops.load(SeqCst),
            1,
            "{backend}: the timer's message was dropped"
        );
        assert_eq!(lp.timer_count(), 0, "{backend}: the timer is gone");
        assert_eq!(
            lp.cancel_timer(t),
            Err(Error::TimerInvalid),
            "{backend}: and cannot be cancelled"
        );
    }
}

// R15: a dead actor's repeating interval is dropped too.
#[test]
fn interval_of_dead_actor_is_dropped() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let ticks = Rc::new(Cell::new(0u32));
        let t = ticks.clone();
        let a = lp
            .spawn(actor(move |cx, stop: bool| {
                if stop {
                    return Flow::Stop;
                }
                t.set(t.get() + 1);
                if t.get() == 2 {
                    // Stop later, by a one-shot timer, while the interval is pending.
                    let me = cx.addr();
                    cx.send_after(me, Duration::from_millis(5), true).unwrap();
                }
                Flow::Continue
            }))
            .unwrap();
        let iv = lp
            .send_interval(a, Duration::from_millis(20), false)
            .unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(ticks.get(), 2, "{backend}: no tick after the actor stopped");
        assert_eq!(lp.now(), ms(45), "{backend}: it stopped 5 ms after tick 2");
        assert_eq!(lp.timer_count(), 0, "{backend}: the interval is gone");
        assert_eq!(lp.cancel_timer(iv), Err(Error::TimerInvalid), "{backend}");
    }
}

// R15: timers with the same delay fire in the order they were set.
#[test]
fn same_delay_timers_arrive_in_the_order_set() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let log: Log<u32> = Log::default();
        let l = log.clone();
        let a = lp
            .spawn(actor(move |cx, n: u32| {
                assert_eq!(cx.now(), ms(20), "timer {n} fired when due");
                l.push(n);
                if l.len() == 32 {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            }))
            .unwrap();
        for n in 0..32 {
            lp.send_after(a, Duration::from_millis(20), n).unwrap();
        }
        assert_eq!(lp.timer_count(), 32, "{backend}");
        run_within(&mut lp, LIMIT);
        assert_eq!(log.get(), (0..32).collect::<Vec<_>>(), "{backend}");
    }
}

#[derive(Clone, Debug)]
enum Iv {
    Start,
    Tick,
    Done,
}

// R15: an interval repeats until it is cancelled (here from inside the actor); then it
// delivers nothing more.
#[test]
fn interval_repeats_until_cancelled_from_inside_the_actor() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let log: Log<String> = Log::default();
        let tick_times: Log<Duration> = Log::default();
        let (l, times) = (log.clone(), tick_times.clone());
        let mut timer = None;
        let a = lp
            .spawn(actor(move |cx, msg: Iv| {
                match msg {
                    Iv::Start => {
                        let me = cx.addr();
                        timer = Some(
                            cx.send_interval(me, Duration::from_millis(10), Iv::Tick)
                                .unwrap(),
                        );
                    }
                    Iv::Tick => {
                        l.push("tick".to_owned());
                        times.push(cx.now());
                        if times.len() == 3 {
                            let id = timer.expect("interval id");
                            l.push(format!("cancel {:?}", cx.cancel_timer(id)));
                            l.push(format!("cancel again {:?}", cx.cancel_timer(id)));
                            // Wait ten periods: no tick may come.
                            let me = cx.addr();
                            cx.send_after(me, Duration::from_millis(100), Iv::Done)
                                .unwrap();
                        }
                    }
                    Iv::Done => {
                        l.push("done".to_owned());
                        return Flow::Stop;
                    }
                }
                Flow::Continue
            }))
            .unwrap();
        lp.send(a, Iv::Start).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(
            log.get(),
            [
                "tick",
                "tick",
                "tick",
                "cancel Ok(())",
                "cancel again Err(TimerInvalid)",
                "done"
            ],
            "{backend}"
        );
        // Started at 0: one tick each period, and none in the ten periods
        // after the cancel.
        assert_eq!(tick_times.get(), [ms(10), ms(20), ms(30)], "{backend}");
        assert_eq!(lp.now(), ms(130), "{backend}");
        assert_eq!(lp.timer_count(), 0, "{backend}");
    }
}

// R15, R2: a pending timer keeps run alive until it fires.
#[test]
fn pending_timer_keeps_run_alive_until_it_fires() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let fired: Log<Duration> = Log::default();
        let f = fired.clone();
        let a = lp
            .spawn(actor(move |cx, ()| {
                f.push(cx.now());
                Flow::Stop
            }))
            .unwrap();
        let delay = ms(50);
        lp.send_after(a, delay, ()).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(fired.get(), [delay], "{backend}: the timer fired when due");
        assert_eq!(
            lp.now(),
            delay,
            "{backend}: run returned when the timer had fired"
        );
        assert_eq!(lp.actor_count(), 0, "{backend}");
    }
}

// R15, R8: send_after (and send_interval) to a dead or stale id is NoSuchActor and the
// message is handed back untouched.
#[test]
fn send_after_to_dead_id_is_no_such_actor_with_the_message_handed_back() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let log = Log::default();
        let drops = Arc::new(AtomicUsize::new(0));
        let a = lp.spawn(logging_actor(&log)).unwrap();
        lp.send(a, Msg::Stop).unwrap();
        run_within(&mut lp, LIMIT);
        assert!(!lp.is_alive(a.id()), "{backend}");
        let err = lp
            .send_after(
                a,
                Duration::from_millis(10),
                Msg::Payload(Counted::new(9, &drops)),
            )
            .unwrap_err();
        assert_eq!(err.error, Error::NoSuchActor, "{backend}");
        assert_eq!(
            drops.load(SeqCst),
            0,
            "{backend}: the message was not dropped"
        );
        match err.into_message() {
            Msg::Payload(c) => assert_eq!(c.tag, 9, "{backend}: the same message came back"),
            Msg::Stop => panic!("{backend}: another message came back"),
        }
        assert_eq!(drops.load(SeqCst), 1, "{backend}");
        // A new actor on the reused slot: the stale id still refuses.
        let b = lp.spawn(logging_actor(&log)).unwrap();
        assert_eq!(b.id().slot(), a.id().slot(), "{backend}: slot reused");
        let err = lp
            .send_after(a, Duration::from_millis(1), Msg::Stop)
            .unwrap_err();
        assert_eq!(err.error, Error::NoSuchActor, "{backend}: stale id");
        assert!(matches!(err.message, Msg::Stop), "{backend}");
        // An interval needs a `Clone` message: a second, short-lived actor.
        let c = lp.spawn(actor(|_cx, _: u8| Flow::Stop)).unwrap();
        lp.send(b, Msg::Stop).unwrap();
        lp.send(c, 0).unwrap();
        run_within(&mut lp, LIMIT);
        let err = lp
            .send_interval(c, Duration::from_millis(1), 5u8)
            .unwrap_err();
        assert_eq!(
            (err.error, err.message),
            (Error::NoSuchActor, 5),
            "{backend}: interval"
        );
        assert_eq!(lp.timer_count(), 0, "{backend}: no timer was set");
        assert_eq!(log.get(), ["stop", "stop"], "{backend}");
    }
}

#[test]
fn extreme_delays_and_config_limits_saturate() {
    // SPEC §9: every field of Config at its maximum, and delays of
    // Duration::MAX, neither panic nor overflow; such timers stay pending
    // (cancellable) and die with their actor.
    for backend in backends() {
        let mut lp = util::config_loop(jzx::Config {
            max_actors: u32::MAX,
            default_mailbox_cap: u32::MAX,
            max_msgs_per_actor: u32::MAX,
            max_actors_per_tick: u32::MAX,
            max_io_watchers: u32::MAX,
            io_poll_timeout_ms: u32::MAX,
            cross_thread_cap: u32::MAX,
            backend,
            clock: jzx::ClockKind::Monotonic,
            run_order: jzx::RunOrder::Shuffled { seed: u64::MAX },
        });
        let log = Log::default();
        let l = log.clone();
        let a = lp
            .spawn(actor(move |cx, n: u32| {
                l.push(n);
                let me = cx.addr();
                if n == 0 {
                    let far = cx.send_after(me, Duration::MAX, 1).unwrap();
                    cx.send_interval(me, Duration::MAX, 2).unwrap();
                    cx.send_after(me, Duration::from_secs(u64::MAX / 2), 3)
                        .unwrap();
                    cx.cancel_timer(far).unwrap();
                    cx.send_after(me, MS, 4).unwrap();
                }
                if n == 4 {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            }))
            .unwrap();
        for _ in 0..1_000 {
            lp.send(a, 0).unwrap();
        }
        run_within(&mut lp, LIMIT);
        let got = log.get();
        assert_eq!(got.len(), 1_001, "{backend}");
        assert!(got[..1_000].iter().all(|&n| n == 0), "{backend}");
        assert_eq!(got[1_000], 4, "{backend}");
    }
}

/// A timer message whose clone panics (`Tick`) or whose destructor panics
/// (`Bomb`).
enum Risky {
    Tick,
    Bomb,
    Stop,
}

impl Clone for Risky {
    fn clone(&self) -> Risky {
        match self {
            Risky::Tick => panic!("a clone panicked"),
            Risky::Bomb => Risky::Bomb,
            Risky::Stop => Risky::Stop,
        }
    }
}

impl Drop for Risky {
    fn drop(&mut self) {
        if matches!(self, Risky::Bomb) && !std::thread::panicking() {
            panic!("a destructor panicked");
        }
    }
}

/// Whether `run` returned `Ok` without a panic leaving it.
fn runs_cleanly(lp: &mut jzx::Loop) -> bool {
    matches!(
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lp.run())),
        Ok(Ok(()))
    )
}

// R11, R2: an interval whose message panics when copied for a delivery does
// not take the loop down: run returns normally and the loop runs again. (The
// one-shot `Bomb`, dropped with its dead target, is coverage: teardown has
// always dropped timer payloads quietly.)
#[test]
fn panicking_timer_payloads_do_not_poison_the_loop() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let ticks = Rc::new(Cell::new(0u32));
        let t = ticks.clone();
        let a = lp
            .spawn(actor(move |_cx, m: Risky| match m {
                Risky::Stop => Flow::Stop,
                _ => {
                    t.set(t.get() + 1);
                    Flow::Continue
                }
            }))
            .unwrap();
        lp.send_interval(a, MS, Risky::Tick).unwrap();
        lp.send_after(a, Duration::from_secs(60), Risky::Bomb)
            .unwrap();
        lp.send_after(a, Duration::from_millis(30), Risky::Stop)
            .unwrap();
        assert!(runs_cleanly(&mut lp), "{backend}: a panic left run");
        assert_eq!(ticks.get(), 0, "{backend}: no copy was delivered");
        assert_eq!((lp.actor_count(), lp.timer_count()), (0, 0), "{backend}");
        let log: Log<u32> = Log::default();
        let l = log.clone();
        let b = lp
            .spawn(actor(move |_cx, n: u32| {
                l.push(n);
                Flow::Stop
            }))
            .unwrap();
        lp.send_after(b, MS, 9).unwrap();
        assert!(runs_cleanly(&mut lp), "{backend}: the loop is not usable");
        assert_eq!(log.get(), [9], "{backend}");
    }
}

// R11, R15: cancelling a timer drops its payload at once; a panicking
// destructor does not leave `cancel_timer`, and the loop stays usable.
#[test]
fn cancelling_a_timer_whose_payload_panics_on_drop_succeeds() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let log: Log<u32> = Log::default();
        let l = log.clone();
        let a = lp
            .spawn(actor(move |_cx, m: Risky| {
                l.push(matches!(m, Risky::Stop) as u32);
                Flow::Stop
            }))
            .unwrap();
        let bomb = lp
            .send_after(a, Duration::from_secs(60), Risky::Bomb)
            .unwrap();
        let cancelled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lp.cancel_timer(bomb)));
        assert!(
            matches!(cancelled, Ok(Ok(()))),
            "{backend}: the destructor's panic left cancel_timer"
        );
        assert_eq!(lp.timer_count(), 0, "{backend}");
        assert_eq!(lp.cancel_timer(bomb), Err(Error::TimerInvalid), "{backend}");
        lp.send_after(a, MS, Risky::Stop).unwrap();
        assert!(runs_cleanly(&mut lp), "{backend}: the loop is not usable");
        assert_eq!(log.get(), [1], "{backend}");
    }
}

// R11, R15: the pending timers of an actor that stops are dropped one by one:
// two panicking destructors neither abort the process nor leave run.
#[test]
fn timers_of_a_stopped_actor_with_panicking_payloads_are_each_dropped() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let drops = Arc::new(AtomicUsize::new(0));
        let a = lp
            .spawn(actor(|_cx, _: Option<AlwaysBomb>| Flow::Stop))
            .unwrap();
        for _ in 0..2 {
            let bomb = Some(AlwaysBomb(drops.clone()));
            lp.send_after(a, Duration::from_secs(60), bomb).unwrap();
        }
        lp.send(a, None).unwrap();
        assert!(runs_cleanly(&mut lp), "{backend}: a panic left run");
        assert_eq!(drops.load(SeqCst), 2, "{backend}");
        assert_eq!((lp.actor_count(), lp.timer_count()), (0, 0), "{backend}");
    }
}
