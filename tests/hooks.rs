//! `Actor::on_stop`: once per actor, at teardown, for every way an actor
//! ends, before its parent hears of it; a panic in it is contained and
//! turns the exit into a panic.
mod util;

use jzx::{Actor, ActorId, ChildExit, Context, Flow, Loop, StopReason};
use util::{backends, new_loop, Log, Recorder};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    Msg(u32),
    Stopped(StopReason, usize),
    ChildExit(StopReason),
}

/// Logs its messages and its `on_stop`; ends as `how` says at message 0.
struct Hooked {
    log: Log<Event>,
    how: Flow,
    panic_in_stop: bool,
}

impl Actor for Hooked {
    type Msg = u32;
    fn handle(&mut self, cx: &mut Context<'_, Self>, n: u32) -> Flow {
        self.log.push(Event::Msg(n));
        if n == 99 {
            panic!("behavior panics");
        }
        if n == 0 {
            // Sent to itself: dropped with the mailbox, never handled.
            let me = cx.addr();
            cx.send(me, 7).unwrap();
            return self.how;
        }
        Flow::Continue
    }
    fn on_stop(&mut self, cx: &mut Context<'_, Self>, reason: StopReason) {
        // The actor is still alive while its hook runs.
        assert!(cx.is_alive(cx.id()));
        self.log
            .push(Event::Stopped(reason, cx.mailbox_depth(cx.id()).unwrap()));
        if self.panic_in_stop {
            panic!("on_stop panics");
        }
    }
}

fn hooked(lp: &mut Loop, how: Flow, panic_in_stop: bool) -> (jzx::Addr<u32>, Log<Event>) {
    let log = Log::default();
    let a = lp
        .spawn(Hooked {
            log: log.clone(),
            how,
            panic_in_stop,
        })
        .unwrap();
    (a, log)
}

#[test]
fn on_stop_runs_once_after_the_last_message_for_each_way_to_end() {
    for backend in backends() {
        for (how, first, reason) in [
            (Flow::Stop, 0, StopReason::Normal),
            (Flow::Fail, 0, StopReason::Fail),
            (Flow::Continue, 99, StopReason::Panic),
        ] {
            let mut lp = new_loop(backend);
            let (a, log) = hooked(&mut lp, how, false);
            lp.send(a, 1).unwrap();
            lp.send(a, first).unwrap();
            lp.send(a, 2).unwrap();
            lp.run().unwrap();
            // Message 2 (and the self-sent 7) were still queued.
            let queued = if first == 0 { 2 } else { 1 };
            assert_eq!(
                log.get(),
                [
                    Event::Msg(1),
                    Event::Msg(first),
                    Event::Stopped(reason, queued)
                ],
                "{how:?}"
            );
        }
    }
}

#[test]
fn on_stop_runs_for_stop_and_fail_by_id_and_when_the_loop_is_dropped() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (a, log_a) = hooked(&mut lp, Flow::Continue, false);
        let (b, log_b) = hooked(&mut lp, Flow::Continue, false);
        lp.send(a, 5).unwrap();
        lp.stop_actor(a.id()).unwrap();
        lp.fail_actor(b.id()).unwrap();
        lp.run().unwrap();
        let (_c, log_c) = hooked(&mut lp, Flow::Continue, false);
        // A stop by id ends the actor at its next turn, unhandled messages
        // left in its mailbox.
        assert_eq!(log_a.get(), [Event::Stopped(StopReason::Normal, 1)]);
        assert_eq!(log_b.get(), [Event::Stopped(StopReason::Fail, 0)]);
        assert!(log_c.get().is_empty());
        drop(lp);
        assert_eq!(log_c.get(), [Event::Stopped(StopReason::Normal, 0)]);
    }
}

/// Spawns a `Hooked` child and logs its exit.
struct Parent {
    log: Log<Event>,
    panic_in_stop: bool,
    child: Option<ActorId>,
}

impl Actor for Parent {
    type Msg = ();
    fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
        let me = cx.id();
        let child = cx
            .spawn_with(
                Hooked {
                    log: self.log.clone(),
                    how: Flow::Stop,
                    panic_in_stop: self.panic_in_stop,
                },
                jzx::SpawnOptions::new().parent(me),
            )
            .unwrap();
        cx.send(child, 0).unwrap();
        self.child = Some(child.id());
        Flow::Continue
    }
    fn on_child_exit(&mut self, _cx: &mut Context<'_, Self>, exit: ChildExit) -> Flow {
        assert_eq!(Some(exit.child), self.child);
        self.log.push(Event::ChildExit(exit.reason));
        Flow::Stop
    }
}

#[test]
fn the_parent_hears_after_on_stop_and_a_panicking_hook_makes_a_panic_exit() {
    for backend in backends() {
        for panic_in_stop in [false, true] {
            let mut lp = new_loop(backend);
            let recorder = Recorder::default();
            lp.set_observer(recorder.clone());
            let log = Log::default();
            let p = lp
                .spawn(Parent {
                    log: log.clone(),
                    panic_in_stop,
                    child: None,
                })
                .unwrap();
            lp.send(p, ()).unwrap();
            lp.run().unwrap();
            let reason = if panic_in_stop {
                StopReason::Panic
            } else {
                StopReason::Normal
            };
            assert_eq!(
                log.get(),
                [
                    Event::Msg(0),
                    Event::Stopped(StopReason::Normal, 1),
                    Event::ChildExit(reason)
                ]
            );
            let stopped: Vec<StopReason> = recorder.seen().stopped.iter().map(|s| s.1).collect();
            assert_eq!(stopped, [reason, StopReason::Normal]);
            assert_eq!(lp.actor_count(), 0);
        }
    }
}

/// Sends itself a message from `on_stop` (which is dropped with it); logs
/// its stop.
struct SelfSender {
    n: u32,
    log: Log<u32>,
}

impl Actor for SelfSender {
    type Msg = Flow;
    fn handle(&mut self, _cx: &mut Context<'_, Self>, flow: Flow) -> Flow {
        flow
    }
    fn on_stop(&mut self, cx: &mut Context<'_, Self>, _reason: StopReason) {
        let me = cx.addr();
        cx.send(me, Flow::Continue).unwrap();
        self.log.push(self.n);
    }
}

#[test]
fn a_hook_sending_to_its_own_actor_leaves_no_run_behind() {
    // A supervisor stops an idle child whose on_stop sends to itself; the
    // restarted children reuse the freed slots. A run of a freed slot left
    // in the run queue would run the actor that reuses it out of turn
    // (debug builds check that every run is of a marked slot).
    for backend in backends() {
        let mut lp = new_loop(backend);
        let log = Log::default();
        let (l0, l1) = (log.clone(), log.clone());
        let sup = lp
            .spawn_supervisor(
                jzx::SupervisorSpec::new(jzx::Strategy::OneForAll),
                vec![
                    jzx::ChildSpec::new(move || SelfSender {
                        n: 0,
                        log: l0.clone(),
                    }),
                    jzx::ChildSpec::new(move || SelfSender {
                        n: 1,
                        log: l1.clone(),
                    }),
                ],
            )
            .unwrap();
        let first = lp.child_ref::<Flow>(sup, 0).unwrap();
        let second = lp.child_ref::<Flow>(sup, 1).unwrap();
        lp.send_child(first, Flow::Fail).unwrap();
        lp.send_child(second, Flow::Continue).unwrap();
        util::run_for(&mut lp, std::time::Duration::from_millis(50));
        lp.stop_actor(sup.id()).unwrap();
        lp.run().unwrap();
        // Child 0 failed, child 1 was stopped for the restart, then both
        // new ones with the supervisor (in reverse start order).
        assert_eq!(log.get(), [0, 1, 1, 0]);
        assert_eq!(lp.actor_count(), 0);
    }
}

/// Logs its stop; tries to spawn from `on_stop`.
struct Leaver {
    n: u32,
    log: Log<(u32, Result<(), jzx::Error>)>,
}

impl Actor for Leaver {
    type Msg = ();
    fn handle(&mut self, _cx: &mut Context<'_, Self>, _: ()) -> Flow {
        Flow::Fail
    }
    fn on_stop(&mut self, cx: &mut Context<'_, Self>, _reason: StopReason) {
        let spawned = cx
            .spawn(Leaver {
                n: 100 + self.n,
                log: self.log.clone(),
            })
            .map(drop);
        self.log.push((self.n, spawned));
    }
}

#[test]
fn dropping_the_loop_stops_supervised_children_in_reverse_start_order_and_spawns_nothing() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let log = Log::default();
        // A free low slot, for child 0's restart to land below its
        // supervisor.
        let early = lp
            .spawn(Leaver {
                n: 9,
                log: Log::default(),
            })
            .unwrap();
        let children = (0..3)
            .map(|n| {
                let log = log.clone();
                jzx::ChildSpec::new(move || Leaver {
                    n,
                    log: log.clone(),
                })
            })
            .collect();
        let sup = lp
            .spawn_supervisor(jzx::SupervisorSpec::new(jzx::Strategy::OneForOne), children)
            .unwrap();
        // Child 0 ends, then the early actor: the free list gives the
        // early actor's slot to the restarted child.
        let first = lp.child_ref::<()>(sup, 0).unwrap();
        lp.send_child(first, ()).unwrap();
        lp.stop_actor(early.id()).unwrap();
        util::run_for(&mut lp, std::time::Duration::from_millis(50));
        let restarted = lp.supervisor_child(sup, 0).unwrap().unwrap();
        assert!(restarted.slot() < sup.id().slot(), "{restarted} {sup:?}");
        log.0.lock().unwrap().clear();
        drop(lp);
        // Child 0's first incarnation spawned a Leaver (100) when it failed;
        // it is a root too, torn down in its own pass.
        let closed = Err(jzx::Error::LoopClosed);
        let seen = log.get();
        let children: Vec<_> = seen.iter().filter(|e| e.0 < 100).cloned().collect();
        assert_eq!(children, [(2, closed), (1, closed), (0, closed)]);
        assert_eq!(seen.len(), 4);
        assert!(seen.contains(&(100, closed)));
    }
}
