//! Loops on the virtual clock (`ClockKind::Virtual`): time starts at zero
//! and jumps to the next deadline when nothing is runnable, so timers,
//! backoff and restart periods are checked at exact times, in microseconds
//! of real time, on every backend.
mod util;

use jzx::{
    Actor, ActorId, BackendKind, Backoff, ChildRef, ChildSpec, ClockKind, Config, Context, Flow,
    Interest, IoEvent, Loop, LoopHandle, RestartMode, SupervisorSpec,
};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;
use util::{backends, config_loop, run_within, ChildDriver, Log};

const LIMIT: Duration = Duration::from_secs(20);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn virtual_loop(backend: BackendKind) -> Loop {
    config_loop(Config {
        backend,
        clock: ClockKind::Virtual,
        ..Config::default()
    })
}

/// Records the loop's time and the message at each delivery; stops after
/// `left` messages.
struct Stamps {
    left: u32,
    log: Log<(Duration, u32)>,
}

impl Actor for Stamps {
    type Msg = u32;
    fn handle(&mut self, cx: &mut Context<'_, Self>, n: u32) -> Flow {
        self.log.push((cx.now(), n));
        self.left -= 1;
        if self.left == 0 {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

fn stamps(lp: &mut Loop, left: u32) -> (jzx::Addr<u32>, Log<(Duration, u32)>) {
    let log = Log::default();
    let a = lp
        .spawn(Stamps {
            left,
            log: log.clone(),
        })
        .unwrap();
    (a, log)
}

// R15 in virtual time: a timer fires exactly its delay after it was set;
// timers with one deadline fire in the order they were set; `run` returns
// at the last deadline, which is then the loop's time.
#[test]
fn timers_fire_at_exactly_their_deadlines() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        assert_eq!(lp.now(), Duration::ZERO, "{backend}");
        let (a, log) = stamps(&mut lp, 4);
        lp.send_after(a, ms(5_000), 1).unwrap();
        lp.send_after(a, ms(250), 2).unwrap();
        lp.send_after(a, ms(5_000), 3).unwrap();
        lp.send_after(a, Duration::ZERO, 4).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(
            log.get(),
            [(ms(0), 4), (ms(250), 2), (ms(5_000), 1), (ms(5_000), 3)],
            "{backend}"
        );
        assert_eq!(lp.now(), ms(5_000), "{backend}");
    }
}

/// Every second (virtual), re-arms a one-shot timer from inside its
/// behaviour, and also has an interval of 1.5 s; records both.
struct Ticker {
    log: Log<(Duration, u32)>,
    ticks: u32,
}

impl Actor for Ticker {
    type Msg = u32;
    fn handle(&mut self, cx: &mut Context<'_, Self>, n: u32) -> Flow {
        self.log.push((cx.now(), n));
        if n == 1 {
            self.ticks += 1;
            if self.ticks == 3 {
                return Flow::Stop; // its interval goes with it
            }
            let me = cx.addr();
            cx.send_after(me, ms(1_000), 1)
                .map_err(|e| e.error)
                .unwrap();
        }
        Flow::Continue
    }
}

// An interval ticks at exact multiples of its period, and a timer set
// inside a behaviour counts from the loop's time at that moment. At 3 s
// both are due: the interval's tick (armed at 1.5 s) before the one-shot
// (armed at 2 s), in the order they were set.
#[test]
fn intervals_and_timers_set_in_behaviours_count_from_virtual_now() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let log = Log::default();
        let t = lp
            .spawn(Ticker {
                log: log.clone(),
                ticks: 0,
            })
            .unwrap();
        lp.send_after(t, ms(1_000), 1).unwrap();
        lp.send_interval(t, ms(1_500), 2).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(
            log.get(),
            [
                (ms(1_000), 1),
                (ms(1_500), 2),
                (ms(2_000), 1),
                (ms(3_000), 2),
                (ms(3_000), 1),
            ],
            "{backend}"
        );
        assert_eq!((lp.actor_count(), lp.timer_count()), (0, 0), "{backend}");
    }
}

/// A child that fails at every message, and records when it handled one.
struct Failing(Log<Duration>);

impl Actor for Failing {
    type Msg = ();
    fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
        self.0.push(cx.now());
        Flow::Fail
    }
}

/// At the times it is sent `Fail(i)`, makes the supervised child fail; at
/// `End` records whether the supervisor is alive, then stops it.
struct Trigger {
    child: ChildRef<()>,
    sup: ActorId,
    alive: Log<bool>,
}

enum Cue {
    Fail,
    End,
}

impl Actor for Trigger {
    type Msg = Cue;
    fn handle(&mut self, cx: &mut Context<'_, Self>, cue: Cue) -> Flow {
        match cue {
            Cue::Fail => {
                // The child is always up at a cue (restarts are immediate).
                cx.send_child(self.child, ()).map_err(|e| e.error).unwrap();
                Flow::Continue
            }
            Cue::End => {
                let alive = cx.is_alive(self.sup);
                self.alive.push(alive);
                if alive {
                    cx.stop_actor(self.sup).unwrap();
                }
                Flow::Stop
            }
        }
    }
}

/// A supervisor allowing one restart in 5 s; its permanent child fails at
/// each of `fails` (ms); returns when the child handled its messages and
/// whether the supervisor was still alive at 10 s.
fn one_restart_in_five_seconds(backend: BackendKind, fails: &[u64]) -> (Vec<Duration>, bool) {
    let mut lp = virtual_loop(backend);
    let handled = Log::default();
    let h = handled.clone();
    let sup = lp
        .spawn_supervisor(
            SupervisorSpec::default().intensity(1, ms(5_000)),
            vec![ChildSpec::new(move || Failing(h.clone())).mode(RestartMode::Permanent)],
        )
        .unwrap();
    let alive = Log::default();
    let child = lp.child_ref::<()>(sup, 0).unwrap();
    let trigger = lp
        .spawn(Trigger {
            child,
            sup: sup.id(),
            alive: alive.clone(),
        })
        .unwrap();
    for &at in fails {
        lp.send_after(trigger, ms(at), Cue::Fail)
            .map_err(|e| e.error)
            .unwrap();
    }
    lp.send_after(trigger, ms(10_000), Cue::End)
        .map_err(|e| e.error)
        .unwrap();
    run_within(&mut lp, LIMIT);
    assert_eq!(lp.now(), ms(10_000), "{backend}");
    (handled.get(), alive.get() == [true])
}

// R22 at the edge of the period, which only virtual time can hit: restarts
// at 1 s and 6 s are 5 s apart, so the first has left the window and the
// supervisor restarts again; at 1 s and 5.999 s both are in it, one more
// than the intensity allows, and the supervisor gives up.
#[test]
fn the_restart_period_is_counted_to_the_millisecond() {
    for backend in backends() {
        let (handled, alive) = one_restart_in_five_seconds(backend, &[1_000, 6_000]);
        assert_eq!(handled, [ms(1_000), ms(6_000)], "{backend}");
        assert!(alive, "{backend}: gave up with restarts 5 s apart");
        let (handled, alive) = one_restart_in_five_seconds(backend, &[1_000, 5_999]);
        assert_eq!(handled, [ms(1_000), ms(5_999)], "{backend}");
        assert!(!alive, "{backend}: kept restarting 4.999 s apart");
    }
}

/// A child that records when it started (its first message, sent by
/// the driver as soon as it sees a new incarnation) and fails once.
struct Once(Log<Duration>);

impl Actor for Once {
    type Msg = ();
    fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
        self.0.push(cx.now());
        if self.0.len() == 1 {
            Flow::Fail
        } else {
            Flow::Stop
        }
    }
}

// R23: a transient child failing at t restarts after its backoff, read on
// the virtual clock to the millisecond (the driver's 1 ms polling is the
// only slack).
#[test]
fn backoff_delays_a_restart_by_exactly_its_length() {
    for (backoff, want) in [
        (Backoff::constant(ms(0), ms(50)), 50),
        (Backoff::exponential(ms(20), ms(0)), 40),
        (Backoff::constant(ms(2_000), ms(0)), 2_000),
    ] {
        for backend in backends() {
            let mut lp = virtual_loop(backend);
            let log = Log::default();
            let l = log.clone();
            let sup = lp
                .spawn_supervisor(
                    SupervisorSpec::default()
                        .auto_shutdown(true)
                        .intensity(10, ms(5_000)),
                    vec![ChildSpec::new(move || Once(l.clone()))
                        .mode(RestartMode::Transient)
                        .backoff(backoff)],
                )
                .unwrap();
            let child = lp.child_ref::<()>(sup, 0).unwrap();
            let d = lp.spawn(ChildDriver::new(child, ms(1))).unwrap();
            lp.send(d, ()).unwrap();
            run_within(&mut lp, LIMIT);
            let got = log.get();
            assert_eq!(got.len(), 2, "{backend}: {got:?}");
            let gap = got[1] - got[0];
            assert!(
                gap >= ms(want) && gap <= ms(want + 1),
                "{backend} {backoff:?}: restarted {gap:?} after the failure"
            );
        }
    }
}

/// Records (time, what) for readiness, timers and messages; told `go`,
/// sends itself `remote` through its loop's handle; stops at `timer`.
struct Watcher {
    /// The watched end of a socket pair, if any.
    end: Option<UnixStream>,
    log: Log<(Duration, &'static str)>,
    handle: LoopHandle,
}

impl Actor for Watcher {
    type Msg = &'static str;
    fn handle(&mut self, cx: &mut Context<'_, Self>, what: &'static str) -> Flow {
        self.log.push((cx.now(), what));
        match what {
            // Sent through the cross-thread path after this turn's drain,
            // as another thread's message would be.
            "go" => self.handle.send(cx.addr(), "remote").unwrap(),
            "timer" => return Flow::Stop,
            _ => {}
        }
        Flow::Continue
    }
    fn on_io(&mut self, cx: &mut Context<'_, Self>, _: IoEvent) -> Flow {
        let mut byte = [0u8; 1];
        let end = self.end.as_mut().expect("only a watched end is ready");
        assert_eq!(end.read(&mut byte).unwrap(), 1);
        self.log.push((cx.now(), "readable"));
        Flow::Continue
    }
}

// Before time jumps to the next deadline, what is ready now is handled at
// the current time: a readable fd, and a message another thread has sent.
#[test]
fn readiness_and_cross_thread_messages_come_before_the_jump() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let (mut near, far) = UnixStream::pair().unwrap();
        let fd = far.as_raw_fd();
        let log = Log::default();
        let handle = lp.handle();
        let w = lp
            .spawn(Watcher {
                end: Some(far),
                log: log.clone(),
                handle,
            })
            .unwrap();
        lp.watch_fd(fd, w.id(), Interest::READ).unwrap();
        lp.send_after(w, ms(1_000), "timer").unwrap();
        lp.send(w, "go").unwrap();
        near.write_all(b"x").unwrap();
        run_within(&mut lp, LIMIT);
        let mut got = log.get();
        // Readiness and the remote message both come at time zero, in an
        // order that depends on the backend's poll.
        got[1..3].sort();
        assert_eq!(
            got,
            [
                (ms(0), "go"),
                (ms(0), "readable"),
                (ms(0), "remote"),
                (ms(1_000), "timer")
            ],
            "{backend}"
        );
    }
}

// A message that came through the cross-thread path after the turn's
// drain is taken before time moves, with no fd watched to wake the loop.
#[test]
fn a_cross_thread_message_comes_before_the_jump() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let log = Log::default();
        let handle = lp.handle();
        let a = lp
            .spawn(Watcher {
                end: None,
                log: log.clone(),
                handle,
            })
            .unwrap();
        lp.send_after(a, ms(1_000), "timer").unwrap();
        lp.send(a, "go").unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(
            log.get(),
            [(ms(0), "go"), (ms(0), "remote"), (ms(1_000), "timer")],
            "{backend}"
        );
    }
}

// `Duration::MAX` is "never" on the virtual clock too: with only such a
// timer left the loop blocks (until another thread asks it to stop), and
// time does not run to its end, where every timer would be due at once.
#[test]
fn a_delay_of_duration_max_never_comes() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let (a, log) = stamps(&mut lp, 3);
        lp.send_after(a, Duration::MAX, 1).unwrap();
        lp.send_after(a, ms(1_000), 2).unwrap();
        // Stopped once it blocks: it does, with only that timer left.
        util::run_until_blocked(&mut lp, LIMIT);
        assert_eq!(log.get(), [(ms(1_000), 2)], "{backend}");
        assert_eq!((lp.now(), lp.timer_count()), (ms(1_000), 1), "{backend}");
    }
}

// A delay with a fraction of a millisecond is rounded up: never early.
#[test]
fn a_fractional_delay_is_rounded_up() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let (a, log) = stamps(&mut lp, 2);
        lp.send_after(a, Duration::from_micros(1_500), 1).unwrap();
        lp.send_after(a, Duration::from_nanos(1), 2).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(log.get(), [(ms(1), 2), (ms(2), 1)], "{backend}");
    }
}
