//! Supervision trees: restart modes, intensity and escalation, strategies,
//! backoff, nesting, stable child handles (R20–R24).
mod util;

use jzx::{
    Actor, ActorId, Addr, Backoff, ChildRef, ChildSpec, Config, Context, Error, Flow, Observer,
    RestartMode, StopReason, Strategy, SupervisorSpec,
};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use util::{backends, config_loop, new_loop, run_within, Recorder};

const LIMIT: Duration = Duration::from_secs(20);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// What a scripted child did: (incarnation, event, when).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ev {
    Start,
    Handled,
}

/// Times are the loop's clock at `Handled` (virtual time in the timing
/// tests); a factory has no clock, so `Start` entries carry zero.
type Journal = Rc<RefCell<Vec<(u32, Ev, Duration)>>>;

/// A child whose reaction to `Go` depends on its incarnation (1, 2, ...).
struct Scripted {
    incarnation: u32,
    journal: Journal,
    plan: fn(u32) -> Flow,
}

impl Actor for Scripted {
    type Msg = ();
    fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
        self.journal
            .borrow_mut()
            .push((self.incarnation, Ev::Handled, cx.now()));
        (self.plan)(self.incarnation)
    }
}

/// A child spec whose factory numbers incarnations and journals starts.
fn scripted(journal: &Journal, plan: fn(u32) -> Flow) -> ChildSpec {
    let journal = journal.clone();
    let count = Rc::new(Cell::new(0));
    ChildSpec::new(move || {
        count.set(count.get() + 1);
        journal
            .borrow_mut()
            .push((count.get(), Ev::Start, Duration::ZERO));
        Scripted {
            incarnation: count.get(),
            journal: journal.clone(),
            plan,
        }
    })
}

/// Sends one `()` to each new incarnation of a child, through its stable
/// handle, until `goal` sends succeeded or the supervisor is gone. Polls
/// every millisecond while the child is down or unchanged.
struct Driver {
    child: ChildRef<()>,
    last: Option<ActorId>,
    sent: u32,
    goal: u32,
    /// Zero: poll by sending to itself (busy, but fast).
    poll: Duration,
}

impl Actor for Driver {
    type Msg = ();
    fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
        let sup = self.child.supervisor();
        let current = match cx.supervisor_child(sup, self.child.index()) {
            Ok(current) => current,
            Err(_) => return Flow::Stop, // supervisor gone: done
        };
        if current.is_some() && current != self.last {
            match cx.send_child(self.child, ()) {
                Ok(()) => {
                    self.sent += 1;
                    self.last = current;
                }
                Err(e) => panic!("send to a current child failed: {e}"),
            }
        }
        if self.sent >= self.goal {
            return Flow::Stop;
        }
        let me = cx.addr();
        if self.poll.is_zero() {
            let _ = cx.send(me, ());
        } else {
            let _ = cx.send_after(me, self.poll, ());
        }
        Flow::Continue
    }
}

fn drive(lp: &mut jzx::Loop, child: ChildRef<()>, goal: u32) {
    drive_every(lp, child, goal, ms(1));
}

fn drive_every(lp: &mut jzx::Loop, child: ChildRef<()>, goal: u32, poll: Duration) {
    let d = lp
        .spawn(Driver {
            child,
            last: None,
            sent: 0,
            goal,
            poll,
        })
        .unwrap();
    lp.send(d, ()).unwrap();
}

fn incarnations(journal: &Journal) -> u32 {
    journal.borrow().iter().filter(|e| e.1 == Ev::Start).count() as u32
}

#[test]
fn transient_child_failing_once_runs_twice_and_is_not_restarted_after_normal_stop() {
    // R20
    for backend in backends() {
        let mut lp = new_loop(backend);
        let j = Journal::default();
        let plan = |inc| if inc == 1 { Flow::Fail } else { Flow::Stop };
        let sup = lp
            .spawn_supervisor(
                SupervisorSpec::default().auto_shutdown(true),
                vec![scripted(&j, plan).mode(RestartMode::Transient)],
            )
            .unwrap();
        let child = lp.child_ref::<()>(sup, 0).unwrap();
        drive(&mut lp, child, 2);
        run_within(&mut lp, LIMIT);
        assert_eq!(incarnations(&j), 2, "{backend}");
        assert!(
            !lp.is_alive(sup.id()),
            "{backend}: supervisor stops when all children ended"
        );
    }
}

#[test]
fn supervisor_stays_up_without_children_unless_auto_shutdown() {
    // R20, as Erlang/OTP: no auto-shutdown by default.
    for backend in backends() {
        let mut lp = new_loop(backend);
        let j = Journal::default();
        let sup = lp
            .spawn_supervisor(
                SupervisorSpec::default(),
                vec![scripted(&j, |_| Flow::Stop).mode(RestartMode::Transient)],
            )
            .unwrap();
        let child = lp.child_ref::<()>(sup, 0).unwrap();
        drive(&mut lp, child, 1);
        let jj = j.clone();
        run_within(stop_when(&mut lp, move |_| jj.borrow().len() == 2), LIMIT);
        assert!(lp.is_alive(sup.id()), "{backend}");
        assert_eq!(
            lp.supervisor_child(sup, 0),
            Ok(None),
            "{backend}: down, not restarted"
        );
        let err = lp.send_child(child, ()).unwrap_err();
        assert_eq!(err.error, Error::NoSuchActor, "{backend}: ended for good");
        lp.stop_actor(sup.id()).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(lp.actor_count(), 0, "{backend}");
    }
}

#[test]
fn temporary_child_is_never_restarted() {
    // R20
    for backend in backends() {
        let mut lp = new_loop(backend);
        let j = Journal::default();
        let sup = lp
            .spawn_supervisor(
                SupervisorSpec::default().auto_shutdown(true),
                vec![scripted(&j, |_| Flow::Fail).mode(RestartMode::Temporary)],
            )
            .unwrap();
        let child = lp.child_ref::<()>(sup, 0).unwrap();
        drive(&mut lp, child, 1);
        run_within(&mut lp, LIMIT);
        assert_eq!(incarnations(&j), 1, "{backend}");
    }
}

#[test]
fn permanent_child_is_restarted_after_a_normal_stop() {
    // R20
    for backend in backends() {
        let mut lp = new_loop(backend);
        let j = Journal::default();
        let rec = Recorder::default();
        lp.set_observer(rec.clone());
        let sup = lp
            .spawn_supervisor(
                SupervisorSpec::default().intensity(5, Duration::from_secs(5)),
                vec![scripted(&j, |_| Flow::Stop)],
            )
            .unwrap();
        let child = lp.child_ref::<()>(sup, 0).unwrap();
        drive(&mut lp, child, 3);
        let jj = j.clone();
        run_within(stop_when(&mut lp, move |_| incarnations(&jj) >= 4), LIMIT);
        let restarts = rec.seen().restarts;
        assert_eq!(restarts.len(), 3, "{backend}: {restarts:?}");
        assert_eq!(
            restarts.iter().map(|r| r.2).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert!(restarts.iter().all(|r| r.0 == sup.id()));
    }
}

/// Ends the run (a stop request) once `done` holds, polled every 2 ms by a
/// helper actor, which then stops itself.
fn stop_when(lp: &mut jzx::Loop, done: impl Fn(&jzx::Core) -> bool + 'static) -> &mut jzx::Loop {
    struct Watcher(Box<dyn Fn(&jzx::Core) -> bool>, jzx::LoopHandle);
    impl Actor for Watcher {
        type Msg = ();
        fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
            if (self.0)(cx) {
                self.1.request_stop();
                return Flow::Stop;
            }
            let me = cx.addr();
            let _ = cx.send_after(me, ms(2), ());
            Flow::Continue
        }
    }
    let handle = lp.handle();
    let w = lp.spawn(Watcher(Box::new(done), handle)).unwrap();
    lp.send(w, ()).unwrap();
    lp
}

#[test]
fn exceeding_intensity_escalates_once_and_stops_children_in_reverse_order() {
    // R22
    for backend in backends() {
        let mut lp = new_loop(backend);
        let rec = Recorder::default();
        lp.set_observer(rec.clone());
        let (a, b, c) = (Journal::default(), Journal::default(), Journal::default());
        let sup = lp
            .spawn_supervisor(
                SupervisorSpec::new(Strategy::OneForOne).intensity(2, Duration::from_secs(1)),
                vec![
                    scripted(&a, |_| Flow::Continue),
                    scripted(&b, |_| Flow::Fail),
                    scripted(&c, |_| Flow::Continue),
                ],
            )
            .unwrap();
        let first = lp.supervisor_child(sup, 0).unwrap().unwrap();
        let last = lp.supervisor_child(sup, 2).unwrap().unwrap();
        let child = lp.child_ref::<()>(sup, 1).unwrap();
        drive(&mut lp, child, 100);
        run_within(&mut lp, LIMIT);
        let seen = rec.seen();
        assert_eq!(seen.escalations, vec![sup.id()], "{backend}");
        assert_eq!(
            incarnations(&b),
            3,
            "{backend}: two restarts, then escalation"
        );
        let stops: Vec<_> = seen
            .stopped
            .iter()
            .filter(|s| s.0 == first || s.0 == last || s.0 == sup.id())
            .collect();
        assert_eq!(
            stops,
            vec![
                &(last, StopReason::Normal),
                &(first, StopReason::Normal),
                &(sup.id(), StopReason::Fail)
            ],
            "{backend}: reverse start order, then the supervisor as failed"
        );
        assert_eq!(lp.supervisor_child(sup, 0), Err(Error::NoSuchActor));
    }
}

/// A loop on the virtual clock: restart delays are exact there, and the
/// drivers below see a new incarnation within one virtual millisecond.
fn virtual_loop(backend: jzx::BackendKind) -> jzx::Loop {
    config_loop(jzx::Config {
        backend,
        clock: jzx::ClockKind::Virtual,
        ..jzx::Config::default()
    })
}

/// When incarnation `inc` handled its first message.
fn handled_at(j: &Journal, inc: u32) -> Duration {
    j.borrow()
        .iter()
        .find(|e| e.0 == inc && e.1 == Ev::Handled)
        .unwrap()
        .2
}

/// From incarnation 1's failure to incarnation 2's first message, which the
/// driver sends within a virtual millisecond of its start.
fn restart_gap(backend: jzx::BackendKind, spec: ChildSpec, j: &Journal) -> Duration {
    let mut lp = virtual_loop(backend);
    let sup = lp
        .spawn_supervisor(
            SupervisorSpec::default()
                .auto_shutdown(true)
                .intensity(10, Duration::from_secs(5)),
            vec![spec],
        )
        .unwrap();
    let child = lp.child_ref::<()>(sup, 0).unwrap();
    drive(&mut lp, child, 2);
    run_within(&mut lp, LIMIT);
    handled_at(j, 2) - handled_at(j, 1)
}

fn fail_then_stop(inc: u32) -> Flow {
    if inc == 1 {
        Flow::Fail
    } else {
        Flow::Stop
    }
}

#[test]
fn constant_backoff_waits_base_plus_step() {
    // R23: base 0, step 50 ms: the second run starts 50 ms after the first.
    for backend in backends() {
        let j = Journal::default();
        let spec = scripted(&j, fail_then_stop)
            .mode(RestartMode::Transient)
            .backoff(Backoff::constant(ms(0), ms(50)));
        let gap = restart_gap(backend, spec, &j);
        assert!(gap >= ms(50) && gap <= ms(51), "{backend}: {gap:?}");
    }
}

#[test]
fn exponential_backoff_doubles_the_base() {
    // R23: base 20 ms: 40 ms.
    for backend in backends() {
        let j = Journal::default();
        let spec = scripted(&j, fail_then_stop)
            .mode(RestartMode::Transient)
            .backoff(Backoff::exponential(ms(20), ms(0)));
        let gap = restart_gap(backend, spec, &j);
        assert!(gap >= ms(40) && gap <= ms(41), "{backend}: {gap:?}");
    }
}

#[test]
fn supervisor_backoff_applies_with_the_childs_delay_as_base() {
    // R23: a child without its own backoff uses the supervisor's.
    for backend in backends() {
        let j = Journal::default();
        let mut lp = virtual_loop(backend);
        let sup = lp
            .spawn_supervisor(
                SupervisorSpec::default()
                    .auto_shutdown(true)
                    .backoff(Backoff::constant(ms(0), ms(30))),
                vec![scripted(&j, fail_then_stop)
                    .mode(RestartMode::Transient)
                    .restart_delay(ms(20))],
            )
            .unwrap();
        let child = lp.child_ref::<()>(sup, 0).unwrap();
        drive(&mut lp, child, 2);
        run_within(&mut lp, LIMIT);
        let gap = handled_at(&j, 2) - handled_at(&j, 1);
        assert!(
            gap >= ms(50) && gap <= ms(51),
            "{backend}: 20 + 30·1 ms expected, got {gap:?}"
        );
    }
}

#[test]
fn backoff_maximum_is_honoured() {
    // R23: exponential 40, 80, 160… capped at 60 ms.
    for backend in backends() {
        let j = Journal::default();
        let mut lp = virtual_loop(backend);
        let sup = lp
            .spawn_supervisor(
                SupervisorSpec::default()
                    .auto_shutdown(true)
                    .intensity(10, Duration::from_secs(10)),
                vec![
                    scripted(&j, |inc| if inc < 4 { Flow::Fail } else { Flow::Stop })
                        .mode(RestartMode::Transient)
                        .backoff(Backoff::exponential(ms(20), ms(0)).max_delay(ms(60))),
                ],
            )
            .unwrap();
        let child = lp.child_ref::<()>(sup, 0).unwrap();
        drive(&mut lp, child, 4);
        run_within(&mut lp, LIMIT);
        let second_gap = handled_at(&j, 3) - handled_at(&j, 2);
        assert!(
            second_gap >= ms(60) && second_gap <= ms(61),
            "{backend}: 80 ms not capped at 60: {second_gap:?}"
        );
        let third_gap = handled_at(&j, 4) - handled_at(&j, 3);
        assert!(
            third_gap >= ms(60) && third_gap <= ms(61),
            "{backend}: 160 ms not capped at 60: {third_gap:?}"
        );
    }
}

#[test]
fn backoff_resets_after_a_stable_period() {
    // R23: after running stably, the next restart waits the base again.
    for backend in backends() {
        let j = Journal::default();
        let mut lp = virtual_loop(backend);
        let backoff = Backoff::exponential(ms(50), ms(0)).reset_after(ms(100));
        let sup = lp
            .spawn_supervisor(
                SupervisorSpec::default()
                    .auto_shutdown(true)
                    .intensity(10, Duration::from_secs(10)),
                vec![
                    scripted(&j, |inc| if inc < 3 { Flow::Fail } else { Flow::Stop })
                        .mode(RestartMode::Transient)
                        .backoff(backoff),
                ],
            )
            .unwrap();
        let child = lp.child_ref::<()>(sup, 0).unwrap();
        // Fail at once (streak 1: 100 ms), then let incarnation 2 run ~300 ms
        // before it fails: the streak resets, so the wait is 100 ms, not 200.
        struct Slow {
            child: ChildRef<()>,
            step: u32,
        }
        impl Actor for Slow {
            type Msg = ();
            fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
                let me = cx.addr();
                match cx.send_child(self.child, ()) {
                    Ok(()) => {
                        self.step += 1;
                        if self.step == 3 {
                            return Flow::Stop;
                        }
                        let wait = if self.step == 1 { 400 } else { 1 };
                        let _ = cx.send_after(me, ms(wait), ());
                    }
                    Err(_) => {
                        let _ = cx.send_after(me, ms(1), ());
                    }
                }
                Flow::Continue
            }
        }
        let d = lp.spawn(Slow { child, step: 0 }).unwrap();
        lp.send(d, ()).unwrap();
        run_within(&mut lp, LIMIT);
        let second_gap = handled_at(&j, 3) - handled_at(&j, 2);
        assert!(
            second_gap >= ms(100) && second_gap <= ms(101),
            "{backend}: streak not reset (200 ms): {second_gap:?}"
        );
    }
}

#[test]
fn one_for_all_gives_every_child_a_new_incarnation() {
    // R21
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (a, b, c) = (Journal::default(), Journal::default(), Journal::default());
        let sup = lp
            .spawn_supervisor(
                SupervisorSpec::new(Strategy::OneForAll),
                vec![
                    scripted(&a, |_| Flow::Continue),
                    scripted(&b, |_| Flow::Fail),
                    scripted(&c, |_| Flow::Continue),
                ],
            )
            .unwrap();
        let before: Vec<_> = (0..3)
            .map(|i| lp.supervisor_child(sup, i).unwrap().unwrap())
            .collect();
        let failing = lp.child_ref::<()>(sup, 1).unwrap();
        lp.send_child(failing, ()).unwrap();
        let bb = b.clone();
        run_within(stop_when(&mut lp, move |_| incarnations(&bb) == 2), LIMIT);
        let _ = before;
        assert_eq!((incarnations(&a), incarnations(&c)), (2, 2), "{backend}");
    }
}

#[test]
fn one_for_all_and_rest_for_one_replace_the_right_ids() {
    // R21
    for backend in backends() {
        for (strategy, changed) in [
            (Strategy::OneForAll, [true, true, true]),
            (Strategy::RestForOne, [false, true, true]),
            (Strategy::OneForOne, [false, true, false]),
        ] {
            // Virtual time: the loop blocks only once every restart is done.
            let mut lp = virtual_loop(backend);
            let js: Vec<Journal> = (0..3).map(|_| Journal::default()).collect();
            let sup = lp
                .spawn_supervisor(
                    SupervisorSpec::new(strategy),
                    vec![
                        scripted(&js[0], |_| Flow::Continue),
                        scripted(&js[1], |_| Flow::Fail),
                        scripted(&js[2], |_| Flow::Continue),
                    ],
                )
                .unwrap();
            let before: Vec<_> = (0..3)
                .map(|i| lp.supervisor_child(sup, i).unwrap().unwrap())
                .collect();
            let failing = lp.child_ref::<()>(sup, 1).unwrap();
            lp.send_child(failing, ()).unwrap();
            util::run_until_blocked(&mut lp, LIMIT);
            let after: Vec<_> = (0..3)
                .map(|i| lp.supervisor_child(sup, i).unwrap().unwrap())
                .collect();
            for i in 0..3 {
                assert_eq!(
                    before[i] != after[i],
                    changed[i],
                    "{backend} {strategy:?} child {i}"
                );
                assert!(lp.is_alive(after[i]));
            }
            let starts: Vec<u32> = js.iter().map(incarnations).collect();
            let want: Vec<u32> = changed.iter().map(|&c| if c { 2 } else { 1 }).collect();
            assert_eq!(starts, want, "{backend} {strategy:?}");
        }
    }
}

#[test]
fn inner_escalation_is_handled_by_the_outer_strategy() {
    // R22, R24
    for backend in backends() {
        // Virtual time: the loop blocks only once the escalation is handled.
        let mut lp = virtual_loop(backend);
        let rec = Recorder::default();
        lp.set_observer(rec.clone());
        let j = Journal::default();
        let jj = j.clone();
        let outer = lp
            .spawn_supervisor(
                SupervisorSpec::new(Strategy::OneForOne).intensity(3, Duration::from_secs(5)),
                vec![ChildSpec::supervisor(move || {
                    (
                        SupervisorSpec::default().intensity(0, Duration::from_secs(5)),
                        vec![scripted(&jj, |inc| {
                            if inc == 1 {
                                Flow::Fail
                            } else {
                                Flow::Continue
                            }
                        })],
                    )
                })],
            )
            .unwrap();
        let inner1 = lp.supervisor_child(outer, 0).unwrap().unwrap();
        let worker = lp.child_ref::<()>(inner1, 0).unwrap();
        lp.send_child(worker, ()).unwrap();
        util::run_until_blocked(&mut lp, LIMIT);
        let seen = rec.seen();
        assert_eq!(seen.escalations, vec![inner1], "{backend}");
        assert!(
            seen.stopped.contains(&(inner1, StopReason::Fail)),
            "{backend}"
        );
        let inner2 = lp.supervisor_child(outer, 0).unwrap().unwrap();
        assert_ne!(
            inner1, inner2,
            "{backend}: outer restarted the inner supervisor"
        );
        assert_eq!(seen.restarts, vec![(outer.id(), inner2, 1)], "{backend}");
        assert_eq!(
            incarnations(&j),
            2,
            "{backend}: fresh inner tree, fresh worker"
        );
        assert_eq!(lp.supervisor_child_count(inner2), Ok(1));
    }
}

#[test]
fn stable_handle_reaches_the_new_incarnation() {
    // R24
    struct Echo(Rc<RefCell<Vec<(u32, u32)>>>, u32);
    impl Actor for Echo {
        type Msg = u32;
        fn handle(&mut self, _cx: &mut Context<'_, Self>, n: u32) -> Flow {
            self.0.borrow_mut().push((self.1, n));
            if n == 0 {
                Flow::Fail
            } else {
                Flow::Continue
            }
        }
    }
    for backend in backends() {
        let mut lp = new_loop(backend);
        let got = Rc::new(RefCell::new(Vec::new()));
        let g = got.clone();
        let inc = Rc::new(Cell::new(0));
        let sup = lp
            .spawn_supervisor(
                SupervisorSpec::default(),
                vec![ChildSpec::new(move || {
                    inc.set(inc.get() + 1);
                    Echo(g.clone(), inc.get())
                })
                .backoff(Backoff::constant(ms(30), ms(0)))],
            )
            .unwrap();
        let child = lp.child_ref::<u32>(sup, 0).unwrap();
        assert_eq!(lp.child_ref::<u8>(sup, 0).unwrap_err(), Error::InvalidArg);
        lp.send_child(child, 0).unwrap();
        // Between incarnations: refused, message handed back.
        struct Prober(ChildRef<u32>, Rc<RefCell<Vec<Error>>>);
        impl Actor for Prober {
            type Msg = ();
            fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
                match cx.send_child(self.0, 7) {
                    Ok(()) => Flow::Stop,
                    Err(e) => {
                        assert_eq!(e.message, 7);
                        self.1.borrow_mut().push(e.error);
                        let me = cx.addr();
                        let _ = cx.send_after(me, ms(5), ());
                        Flow::Continue
                    }
                }
            }
        }
        let refused = Rc::new(RefCell::new(Vec::new()));
        let p = lp.spawn(Prober(child, refused.clone())).unwrap();
        lp.send(p, ()).unwrap();
        let g2 = got.clone();
        run_within(stop_when(&mut lp, move |_| g2.borrow().len() == 2), LIMIT);
        assert_eq!(*got.borrow(), vec![(1, 0), (2, 7)], "{backend}");
        assert!(!refused.borrow().is_empty(), "{backend}");
        assert!(
            refused
                .borrow()
                .iter()
                .all(|&e| e == Error::ChildRestarting),
            "{backend}"
        );
    }
}

/// A child that fails on its first message and whose factory panics on the
/// calls (from 1) that `panics` picks; `calls` counts the calls.
fn panicking_factory_on(
    calls: &Rc<Cell<u32>>,
    panics: impl Fn(u32) -> bool + 'static,
) -> ChildSpec {
    struct Failer;
    impl Actor for Failer {
        type Msg = ();
        fn handle(&mut self, _cx: &mut Context<'_, Self>, _: ()) -> Flow {
            Flow::Fail
        }
    }
    let calls = calls.clone();
    ChildSpec::new(move || {
        calls.set(calls.get() + 1);
        assert!(
            !panics(calls.get()),
            "factory panics on call {}",
            calls.get()
        );
        Failer
    })
}

/// As [`panicking_factory_on`], panicking from the `panic_from`-th call on.
fn panicking_factory(panic_from: u32) -> ChildSpec {
    panicking_factory_on(&Rc::default(), move |n| n >= panic_from)
}

/// A one-for-one supervisor allowing `intensity` restarts in 10 s, with
/// `middle` between two children that keep running; the children's ids.
fn flanked(
    lp: &mut jzx::Loop,
    intensity: u32,
    middle: ChildSpec,
) -> (jzx::Supervisor, [ActorId; 3]) {
    let (a, c) = (Journal::default(), Journal::default());
    let sup = lp
        .spawn_supervisor(
            SupervisorSpec::new(Strategy::OneForOne).intensity(intensity, Duration::from_secs(10)),
            vec![
                scripted(&a, |_| Flow::Continue),
                middle,
                scripted(&c, |_| Flow::Continue),
            ],
        )
        .unwrap();
    let ids = [0, 1, 2].map(|i| lp.supervisor_child(sup, i).unwrap().unwrap());
    (sup, ids)
}

#[test]
fn a_factory_that_keeps_panicking_at_restart_exhausts_the_intensity_then_stops_its_siblings() {
    // R22, R24: each failed start counts toward the intensity and is
    // retried; exceeding it escalates; no child is left without parent.
    for backend in backends() {
        let mut lp = new_loop(backend);
        let rec = Recorder::default();
        lp.set_observer(rec.clone());
        let calls = Rc::new(Cell::new(0));
        let (sup, [first, failer, last]) =
            flanked(&mut lp, 10, panicking_factory_on(&calls, |n| n >= 2));
        let child = lp.child_ref::<()>(sup, 1).unwrap();
        lp.send_child(child, ()).unwrap();
        // Idle: nothing is left alive.
        run_within(&mut lp, Duration::from_secs(5));
        let seen = rec.seen();
        assert_eq!(seen.escalations, vec![sup.id()], "{backend}");
        assert!(seen.restarts.is_empty(), "{backend}: {:?}", seen.restarts);
        assert_eq!(
            seen.stopped,
            vec![
                (failer, StopReason::Fail),
                (last, StopReason::Normal),
                (first, StopReason::Normal),
                (sup.id(), StopReason::Fail)
            ],
            "{backend}: siblings in reverse order, then the supervisor"
        );
        assert!(!lp.is_alive(first) && !lp.is_alive(last), "{backend}");
        // The child's failure counts 1; ten failed starts make 11 > 10.
        assert_eq!(calls.get(), 11, "{backend}: the first start, ten retries");
    }
}

#[test]
fn a_failed_start_at_restart_is_retried_after_the_backoff() {
    // R22 as in Erlang/OTP: a failed restart counts toward the intensity and
    // is retried with the child's backoff; the supervisor stays up.
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let rec = Recorder::default();
        lp.set_observer(rec.clone());
        let calls = Rc::new(Cell::new(0));
        let middle =
            panicking_factory_on(&calls, |n| n == 2).backoff(Backoff::constant(ms(20), ms(0)));
        let (sup, [first, failer, last]) = flanked(&mut lp, 3, middle);
        let failer = Some(failer);
        let child = lp.child_ref::<()>(sup, 1).unwrap();
        lp.send_child(child, ()).unwrap();
        let n = calls.clone();
        let sup_id = sup.id();
        run_within(
            stop_when(&mut lp, move |core| {
                match core.supervisor_child(sup_id, 1) {
                    Ok(now) => now.is_some() && now != failer,
                    Err(_) => true,
                }
            }),
            LIMIT,
        );
        assert_eq!(lp.now(), ms(40), "{backend}: two backoffs of 20 ms");
        let seen = rec.seen();
        assert!(seen.escalations.is_empty(), "{backend}");
        assert_eq!(n.get(), 3, "{backend}: a failed start, then a good one");
        let third = lp.supervisor_child(sup, 1).unwrap().unwrap();
        assert_eq!(seen.restarts, vec![(sup.id(), third, 1)], "{backend}");
        assert_eq!(lp.supervisor_child(sup, 0), Ok(Some(first)), "{backend}");
        assert_eq!(lp.supervisor_child(sup, 2), Ok(Some(last)), "{backend}");
    }
}

/// Drops counted; the destructor panics.
struct Loud(Rc<Cell<u32>>);
impl Drop for Loud {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
        panic!("a destructor panics");
    }
}
impl Actor for Loud {
    type Msg = ();
    fn handle(&mut self, _cx: &mut Context<'_, Self>, _: ()) -> Flow {
        Flow::Fail
    }
}

#[test]
fn a_panicking_drop_at_a_restart_that_finds_the_actor_table_full_keeps_the_tree_whole() {
    // R22, R24, SPEC §9: the actor built for a restart is refused
    // (`MaxActors`) and its destructor panics; the supervisor counts a
    // failed start and retries, and restarts the child once room is made.
    struct Filler;
    impl Actor for Filler {
        type Msg = ();
        fn handle(&mut self, _cx: &mut Context<'_, Self>, _: ()) -> Flow {
            Flow::Continue
        }
    }
    /// Fills the slot of the failed child, frees it once the supervisor has
    /// refused one start, and stops the loop after the restart.
    struct Crowd {
        sup: ActorId,
        drops: Rc<Cell<u32>>,
        filler: Option<Addr<()>>,
        freed: bool,
        handle: jzx::LoopHandle,
    }
    impl Actor for Crowd {
        type Msg = ();
        fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
            let Ok(child) = cx.supervisor_child(self.sup, 1) else {
                self.handle.request_stop();
                return Flow::Stop;
            };
            if self.filler.is_none() && child.is_none() {
                self.filler = Some(cx.spawn(Filler).expect("the child's slot is free"));
            }
            if !self.freed && self.drops.get() >= 2 {
                // The failed incarnation and the refused one.
                cx.stop_actor(self.filler.unwrap().id()).unwrap();
                self.freed = true;
            }
            if self.freed && child.is_some() {
                self.handle.request_stop();
                return Flow::Stop;
            }
            let me = cx.addr();
            let _ = cx.send_after(me, ms(1), ());
            Flow::Continue
        }
    }
    for backend in backends() {
        let mut lp = config_loop(Config {
            backend,
            max_actors: 4,
            ..Config::default()
        });
        let rec = Recorder::default();
        lp.set_observer(rec.clone());
        let a = Journal::default();
        let drops = Rc::new(Cell::new(0));
        let d = drops.clone();
        let sup = lp
            .spawn_supervisor(
                SupervisorSpec::new(Strategy::OneForOne).intensity(5, Duration::from_secs(10)),
                vec![
                    scripted(&a, |_| Flow::Continue),
                    ChildSpec::new(move || Loud(d.clone()))
                        .backoff(Backoff::constant(ms(20), ms(0))),
                ],
            )
            .unwrap();
        let first = lp.supervisor_child(sup, 0).unwrap().unwrap();
        let handle = lp.handle();
        let crowd = lp
            .spawn(Crowd {
                sup: sup.id(),
                drops: drops.clone(),
                filler: None,
                freed: false,
                handle,
            })
            .unwrap();
        let c1 = lp.child_ref::<()>(sup, 1).unwrap();
        lp.send_child(c1, ()).unwrap();
        lp.send(crowd, ()).unwrap();
        run_within(&mut lp, LIMIT);
        let seen = rec.seen();
        assert!(seen.escalations.is_empty(), "{backend}: {seen:?}");
        assert!(drops.get() >= 2, "{backend}: {}", drops.get());
        let restarted = lp.supervisor_child(sup, 1).unwrap().unwrap();
        assert_eq!(seen.restarts, vec![(sup.id(), restarted, 1)], "{backend}");
        assert_eq!(lp.supervisor_child(sup, 0), Ok(Some(first)), "{backend}");
        assert!(lp.is_alive(restarted) && lp.is_alive(first), "{backend}");
    }
}

#[test]
fn a_panicking_drop_at_a_restart_that_finds_the_actor_table_full_counts_toward_intensity() {
    // With intensity 1, the child's failure and the refused start make two:
    // the supervisor stops its other child and fails; run goes idle.
    /// Lives until the supervisor is gone.
    struct Squatter(ActorId);
    impl Actor for Squatter {
        type Msg = ();
        fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
            if !cx.is_alive(self.0) {
                return Flow::Stop;
            }
            let me = cx.addr();
            let _ = cx.send_after(me, ms(1), ());
            Flow::Continue
        }
    }
    /// On its message, takes the slot its failed sibling left.
    struct Taker(Rc<Cell<Option<ActorId>>>);
    impl Actor for Taker {
        type Msg = ();
        fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
            let sup = self.0.get().unwrap();
            let s = cx.spawn(Squatter(sup)).expect("the failed child's slot");
            cx.send(s, ()).unwrap();
            Flow::Continue
        }
    }
    for backend in backends() {
        let mut lp = config_loop(Config {
            backend,
            max_actors: 3,
            ..Config::default()
        });
        let rec = Recorder::default();
        lp.set_observer(rec.clone());
        let sup_cell = Rc::new(Cell::new(None));
        let drops = Rc::new(Cell::new(0));
        let (d, cell) = (drops.clone(), sup_cell.clone());
        let sup = lp
            .spawn_supervisor(
                SupervisorSpec::new(Strategy::OneForOne),
                vec![
                    ChildSpec::new(move || Loud(d.clone()))
                        .backoff(Backoff::constant(ms(20), ms(0))),
                    ChildSpec::new(move || Taker(cell.clone())),
                ],
            )
            .unwrap();
        sup_cell.set(Some(sup.id()));
        let loud = lp.supervisor_child(sup, 0).unwrap().unwrap();
        let taker = lp.supervisor_child(sup, 1).unwrap().unwrap();
        // The loud child fails first; its sibling then takes its slot.
        let c0 = lp.child_ref::<()>(sup, 0).unwrap();
        lp.send_child(c0, ()).unwrap();
        let c1 = lp.child_ref::<()>(sup, 1).unwrap();
        lp.send_child(c1, ()).unwrap();
        run_within(&mut lp, LIMIT);
        let seen = rec.seen();
        assert_eq!(seen.escalations, vec![sup.id()], "{backend}");
        assert_eq!(
            drops.get(),
            2,
            "{backend}: the failed child, the refused one"
        );
        let squatter = seen.started.last().unwrap().0;
        assert_eq!(
            seen.stopped,
            vec![
                (loud, StopReason::Fail),
                (taker, StopReason::Normal),
                (sup.id(), StopReason::Fail),
                (squatter, StopReason::Normal),
            ],
            "{backend}"
        );
        assert_eq!(lp.actor_count(), 0, "{backend}");
    }
}

#[test]
fn a_factory_panic_at_spawn_undoes_the_spawn_and_returns_an_error() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let rec = Recorder::default();
        lp.set_observer(rec.clone());
        let a = Journal::default();
        let got = lp.spawn_supervisor(
            SupervisorSpec::default(),
            vec![scripted(&a, |_| Flow::Continue), panicking_factory(1)],
        );
        assert_eq!(got.unwrap_err(), Error::FactoryPanicked, "{backend}");
        let seen = rec.seen();
        assert_eq!(seen.started.len(), 2, "{backend}: supervisor, first child");
        let (sup, first) = (seen.started[0].0, seen.started[1].0);
        assert_eq!(
            seen.stopped,
            vec![(first, StopReason::Normal), (sup, StopReason::Normal)],
            "{backend}"
        );
        // Nested: the inner spawn fails, so does the outer one, and nothing
        // stays alive.
        let nested = lp.spawn_supervisor(
            SupervisorSpec::default(),
            vec![ChildSpec::supervisor(|| {
                (SupervisorSpec::default(), vec![panicking_factory(1)])
            })],
        );
        assert_eq!(nested.unwrap_err(), Error::FactoryPanicked, "{backend}");
        run_within(&mut lp, Duration::from_secs(5));
        let seen = rec.seen();
        assert_eq!(
            seen.started.len(),
            seen.stopped.len(),
            "{backend}: {seen:?}"
        );
    }
}

#[test]
fn a_jitter_of_duration_max_is_capped_by_the_maximum_delay() {
    // SPEC §9: durations saturate. The child fails once, then stops.
    for backend in backends() {
        let j = Journal::default();
        let mut lp = new_loop(backend);
        let rec = Recorder::default();
        lp.set_observer(rec.clone());
        let sup = lp
            .spawn_supervisor(
                SupervisorSpec::default().auto_shutdown(true),
                vec![
                    scripted(&j, |inc| if inc == 1 { Flow::Fail } else { Flow::Stop })
                        .mode(RestartMode::Transient)
                        .backoff(
                            Backoff::constant(ms(0), ms(0))
                                .jitter(Duration::MAX)
                                .max_delay(ms(20)),
                        ),
                ],
            )
            .unwrap();
        let child = lp.child_ref::<()>(sup, 0).unwrap();
        drive(&mut lp, child, 2);
        run_within(&mut lp, LIMIT);
        assert_eq!(incarnations(&j), 2, "{backend}: restarted once");
        let seen = rec.seen();
        assert!(seen.escalations.is_empty(), "{backend}");
        assert!(
            seen.stopped.contains(&(sup.id(), StopReason::Normal)),
            "{backend}: {:?}",
            seen.stopped
        );
    }
}

#[test]
fn extreme_limits_and_delays_saturate() {
    // SPEC §9: intensity, period, backoff, restart delay and mailbox
    // capacity at their maximum neither panic nor overflow.
    for backend in backends() {
        let (j0, j1) = (Journal::default(), Journal::default());
        let mut lp = new_loop(backend);
        let rec = Recorder::default();
        lp.set_observer(rec.clone());
        let max = Duration::MAX;
        let sup = lp
            .spawn_supervisor(
                SupervisorSpec::new(Strategy::OneForOne)
                    .intensity(u32::MAX, max)
                    .backoff(
                        Backoff::exponential(max, max)
                            .max_delay(max)
                            .jitter(max)
                            .reset_after(max),
                    ),
                vec![
                    // Restarted after the supervisor's backoff, saturated:
                    // never, in practice.
                    scripted(&j0, |_| Flow::Fail)
                        .restart_delay(max)
                        .mailbox_cap(u32::MAX),
                    // Its own backoff: no delay.
                    scripted(&j1, |inc| if inc < 3 { Flow::Fail } else { Flow::Continue })
                        .backoff(Backoff::none().max_delay(max).reset_after(max))
                        .mailbox_cap(u32::MAX),
                ],
            )
            .unwrap();
        let c0 = lp.child_ref::<()>(sup, 0).unwrap();
        let c1 = lp.child_ref::<()>(sup, 1).unwrap();
        lp.send_child(c0, ()).unwrap();
        drive(&mut lp, c1, 3);
        let j = j1.clone();
        run_within(stop_when(&mut lp, move |_| j.borrow().len() >= 6), LIMIT);
        assert_eq!(incarnations(&j1), 3, "{backend}");
        assert_eq!(incarnations(&j0), 1, "{backend}");
        assert_eq!(lp.supervisor_child(sup, 0), Ok(None), "{backend}: waiting");
        assert_eq!(
            lp.send_child(c0, ()).unwrap_err().error,
            Error::ChildRestarting,
            "{backend}"
        );
        let seen = rec.seen();
        assert!(seen.escalations.is_empty(), "{backend}");
        assert_eq!(seen.restarts.len(), 2, "{backend}: {:?}", seen.restarts);
    }
}

/// An observer hook that panics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hook {
    Start,
    Stop,
    Restart,
    Escalate,
}

/// Panics at the `nth` call of `hook`, and counts every call it gets.
struct PanicOn {
    hook: Hook,
    nth: u32,
    calls: Rc<Cell<u32>>,
}

impl PanicOn {
    fn hit(&mut self, hook: Hook) {
        if hook == self.hook {
            self.calls.set(self.calls.get() + 1);
            assert_ne!(self.calls.get(), self.nth, "the {hook:?} hook panics");
        }
    }
}

impl Observer for PanicOn {
    fn on_actor_start(&mut self, _: ActorId, _: Option<&str>) {
        self.hit(Hook::Start);
    }
    fn on_actor_stop(&mut self, _: ActorId, _: StopReason) {
        self.hit(Hook::Stop);
    }
    fn on_actor_restart(&mut self, _: ActorId, _: ActorId, _: u32) {
        self.hit(Hook::Restart);
    }
    fn on_supervisor_escalate(&mut self, _: ActorId) {
        self.hit(Hook::Escalate);
    }
}

#[test]
fn a_panicking_observer_hook_leaves_the_tree_whole_and_is_removed() {
    // No panic from user code escapes the loop: a hook that panics (here
    // while a one-for-all supervisor stops, restarts or gives up on its
    // children) is removed, and supervision goes on. The scenario: B fails,
    // both children restart (A stopped and started again), B fails again,
    // the intensity (1) is exceeded, A is stopped, the supervisor fails and
    // the driver ends; run goes idle.
    let cases = [
        (Hook::Stop, 1),     // B's own end, in the loop's turn
        (Hook::Stop, 2),     // A, stopped by its supervisor's strategy
        (Hook::Start, 5),    // A restarted (after sup, A, B and the driver)
        (Hook::Restart, 1),  // A restarted
        (Hook::Escalate, 1), // the supervisor gives up
    ];
    for backend in backends() {
        for (hook, nth) in cases {
            let mut lp = new_loop(backend);
            let calls = Rc::new(Cell::new(0));
            lp.set_observer(PanicOn {
                hook,
                nth,
                calls: calls.clone(),
            });
            let (a, b) = (Journal::default(), Journal::default());
            let sup = lp
                .spawn_supervisor(
                    SupervisorSpec::new(Strategy::OneForAll),
                    vec![
                        scripted(&a, |_| Flow::Continue),
                        scripted(&b, |_| Flow::Fail),
                    ],
                )
                .unwrap();
            let child = lp.child_ref::<()>(sup, 1).unwrap();
            drive(&mut lp, child, 2);
            run_within(&mut lp, LIMIT);
            let case = format!("{backend}, {hook:?} #{nth}");
            assert_eq!(calls.get(), nth, "{case}: removed after its panic");
            assert_eq!(incarnations(&a), 2, "{case}");
            assert_eq!(incarnations(&b), 2, "{case}");
            let handled = b.borrow().iter().filter(|e| e.1 == Ev::Handled).count();
            assert_eq!(handled, 2, "{case}: both incarnations of B ran");
            assert!(!lp.is_alive(sup.id()), "{case}: it gave up");
            assert_eq!(lp.actor_count(), 0, "{case}: nothing left behind");
        }
    }
}

/// Child 0 of that test: takes what it is sent.
struct Elder;

impl Actor for Elder {
    type Msg = u32;
    fn handle(&mut self, _cx: &mut Context<'_, Self>, _: u32) -> Flow {
        Flow::Continue
    }
}

/// Sends to its elder sibling (child 0) through a `ChildRef` from its
/// `on_stop`, and records what the send gave.
struct Younger {
    sup: Rc<Cell<Option<ActorId>>>,
    sent: Rc<RefCell<Vec<Result<(), Error>>>>,
}

impl Actor for Younger {
    type Msg = u32;
    fn handle(&mut self, _cx: &mut Context<'_, Self>, _: u32) -> Flow {
        Flow::Continue
    }
    fn on_stop(&mut self, cx: &mut Context<'_, Self>, _reason: StopReason) {
        let sup = self.sup.get().expect("supervisor started");
        let elder = cx.child_ref::<u32>(sup, 0).unwrap();
        let sent = cx.send_child(elder, 7).map_err(|e| e.error);
        self.sent.borrow_mut().push(sent);
    }
}

#[test]
fn a_child_stopping_with_its_supervisor_still_reaches_its_elder_siblings() {
    // Children stop in reverse start order, one after the other, with the
    // supervisor's table in place: the younger one, stopping first, can
    // still send to the elder one, which is alive.
    for backend in backends() {
        let mut lp = new_loop(backend);
        let sup_id = Rc::new(Cell::new(None));
        let sent = Rc::new(RefCell::new(Vec::new()));
        let (s, r) = (sup_id.clone(), sent.clone());
        let children = vec![
            ChildSpec::new(|| Elder),
            ChildSpec::new(move || Younger {
                sup: s.clone(),
                sent: r.clone(),
            }),
        ];
        let sup = lp
            .spawn_supervisor(SupervisorSpec::new(Strategy::OneForOne), children)
            .unwrap();
        sup_id.set(Some(sup.id()));
        lp.stop_actor(sup.id()).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(*sent.borrow(), [Ok(())], "{backend}");
        assert_eq!(lp.actor_count(), 0, "{backend}");
    }
}
