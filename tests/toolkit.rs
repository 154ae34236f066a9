//! The process toolkit (SPEC §12): `on_start` (R30), monitors (R32), links
//! and trapped exits (R33), dead letters (R34). On the virtual clock, every
//! backend.
mod util;

use jzx::{
    Actor, ActorId, BackendKind, ChildSpec, ClockKind, Config, Context, Down, DownReason, Exit,
    Flow, Loop, LoopHandle, MonitorRef, Observer, RestartMode, StopReason, SupervisorSpec,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use util::{backends, config_loop, Log};

fn virtual_loop(backend: BackendKind) -> Loop {
    config_loop(Config {
        backend,
        clock: ClockKind::Virtual,
        ..Config::default()
    })
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Seen {
    Start(u32),
    Msg(u32, u32),
    Stop(u32, StopReason),
    Down(u32, ActorId, DownReason),
    Exit(u32, ActorId, StopReason),
}

/// What a probe is told to do.
#[derive(Debug)]
enum Cmd {
    Note(u32),
    Stop,
    Fail,
    Panic,
    Monitor(ActorId),
    Link(ActorId),
    Unlink(ActorId),
    Trap(bool),
}

/// Logs what happens to it, tagged with its number.
struct Probe {
    n: u32,
    log: Log<Seen>,
    monitors: Arc<Mutex<Vec<MonitorRef>>>,
    panic_on_start: bool,
    /// Asks its loop to stop once this probe is torn down.
    stop_loop: Option<LoopHandle>,
}

impl Actor for Probe {
    type Msg = Cmd;
    fn on_start(&mut self, _cx: &mut Context<'_, Self>) {
        self.log.push(Seen::Start(self.n));
        if self.panic_on_start {
            panic!("on_start panics");
        }
    }
    fn handle(&mut self, cx: &mut Context<'_, Self>, cmd: Cmd) -> Flow {
        match cmd {
            Cmd::Note(k) => self.log.push(Seen::Msg(self.n, k)),
            Cmd::Stop => return Flow::Stop,
            Cmd::Fail => return Flow::Fail,
            Cmd::Panic => panic!("probe panics"),
            Cmd::Monitor(t) => {
                let m = cx.monitor(t);
                self.monitors.lock().unwrap().push(m);
            }
            Cmd::Link(t) => cx.link(t).unwrap(),
            Cmd::Unlink(t) => cx.unlink(t),
            Cmd::Trap(on) => cx.trap_exits(on),
        }
        Flow::Continue
    }
    fn on_stop(&mut self, _cx: &mut Context<'_, Self>, reason: StopReason) {
        self.log.push(Seen::Stop(self.n, reason));
        if let Some(h) = &self.stop_loop {
            h.request_stop();
        }
    }
    fn on_down(&mut self, _cx: &mut Context<'_, Self>, down: Down) -> Flow {
        assert!(self.monitors.lock().unwrap().contains(&down.monitor));
        self.log.push(Seen::Down(self.n, down.id, down.reason));
        Flow::Continue
    }
    fn on_exit(&mut self, _cx: &mut Context<'_, Self>, exit: Exit) -> Flow {
        self.log.push(Seen::Exit(self.n, exit.id, exit.reason));
        Flow::Continue
    }
}

struct Probes {
    log: Log<Seen>,
    monitors: Arc<Mutex<Vec<MonitorRef>>>,
}

impl Probes {
    fn new() -> Probes {
        Probes {
            log: Log::default(),
            monitors: Arc::default(),
        }
    }
    fn probe(&self, n: u32) -> Probe {
        Probe {
            n,
            log: self.log.clone(),
            monitors: self.monitors.clone(),
            panic_on_start: false,
            stop_loop: None,
        }
    }
    fn spawn(&self, lp: &mut Loop, n: u32) -> jzx::Addr<Cmd> {
        lp.spawn(self.probe(n)).unwrap()
    }
    /// What was logged, without the starts and the stops.
    fn signals(&self) -> Vec<Seen> {
        let log = self.log.get();
        log.into_iter()
            .filter(|s| !matches!(s, Seen::Start(_) | Seen::Stop(..)))
            .collect()
    }
}

// ------------------------------------------------------------- on_start

#[test]
fn on_start_runs_at_spawn_before_anything_else_of_the_actor() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let p = Probes::new();
        let a = p.spawn(&mut lp, 1);
        // At once, inside spawn.
        assert_eq!(p.log.get(), [Seen::Start(1)]);
        let b = p.spawn(&mut lp, 2);
        let _idle = p.spawn(&mut lp, 3);
        lp.send(a, Cmd::Note(1)).unwrap();
        lp.send(a, Cmd::Note(2)).unwrap();
        lp.send(a, Cmd::Stop).unwrap();
        lp.stop_actor(b.id()).unwrap();
        util::run_for(&mut lp, Duration::from_secs(1));
        assert_eq!(
            p.log.get()[..],
            [
                Seen::Start(1),
                Seen::Start(2),
                Seen::Start(3),
                Seen::Msg(1, 1),
                Seen::Msg(1, 2),
                Seen::Stop(1, StopReason::Normal),
                Seen::Stop(2, StopReason::Normal),
            ]
        );
        // Each once; the idle one is still alive.
        assert_eq!(lp.actor_count(), 1);
    }
}

#[test]
fn a_panicking_on_start_ends_the_actor_at_once_and_its_parent_hears() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let p = Probes::new();
        let watcher = p.spawn(&mut lp, 2);
        let a = lp
            .spawn_with(
                Probe {
                    panic_on_start: true,
                    ..p.probe(1)
                },
                jzx::SpawnOptions::new().parent(watcher.id()),
            )
            .unwrap();
        // The spawn succeeded; the actor is already gone.
        assert!(!lp.is_alive(a.id()));
        assert_eq!(
            lp.send(a, Cmd::Note(1)).map_err(|e| e.error),
            Err(jzx::Error::NoSuchActor)
        );
        assert_eq!(
            p.log.get(),
            [
                Seen::Start(2),
                Seen::Start(1),
                Seen::Stop(1, StopReason::Panic)
            ]
        );
        let m = lp.monitor(watcher.id(), a.id()).unwrap();
        p.monitors.lock().unwrap().push(m);
        util::run_for(&mut lp, Duration::from_millis(1));
        assert_eq!(
            p.signals(),
            [Seen::Down(2, a.id(), DownReason::NoSuchActor)]
        );
    }
}

#[test]
fn on_start_runs_once_per_incarnation_of_a_supervised_child() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let p = Arc::new(Probes::new());
        let q = p.clone();
        let sup = lp
            .spawn_supervisor(
                SupervisorSpec::new(jzx::Strategy::OneForOne).auto_shutdown(true),
                vec![ChildSpec::new(move || q.probe(7)).mode(RestartMode::Transient)],
            )
            .unwrap();
        let child = lp.child_ref::<Cmd>(sup, 0).unwrap();
        lp.send_child(child, Cmd::Fail).unwrap();
        util::run_for(&mut lp, Duration::from_secs(1));
        lp.send_child(child, Cmd::Stop).unwrap();
        lp.run().unwrap();
        assert_eq!(
            p.log.get(),
            [
                Seen::Start(7),
                Seen::Stop(7, StopReason::Fail),
                Seen::Start(7),
                Seen::Stop(7, StopReason::Normal),
            ]
        );
        assert_eq!(lp.actor_count(), 0);
    }
}

// ------------------------------------------------------------- monitors

#[test]
fn a_monitor_gets_one_down_per_monitor_with_the_reason() {
    for backend in backends() {
        for (cmd, reason) in [
            (Cmd::Stop, StopReason::Normal),
            (Cmd::Fail, StopReason::Fail),
            (Cmd::Panic, StopReason::Panic),
        ] {
            let mut lp = virtual_loop(backend);
            let p = Probes::new();
            let target = p.spawn(&mut lp, 1);
            let w = p.spawn(&mut lp, 2);
            // Stacked: two monitors, two Downs.
            lp.send(w, Cmd::Monitor(target.id())).unwrap();
            lp.send(w, Cmd::Monitor(target.id())).unwrap();
            util::run_for(&mut lp, Duration::from_millis(1));
            lp.send(target, cmd).unwrap();
            util::run_for(&mut lp, Duration::from_millis(1));
            lp.send(w, Cmd::Stop).unwrap();
            lp.run().unwrap();
            let down = Seen::Down(2, target.id(), DownReason::Exited(reason));
            assert_eq!(p.signals(), [down.clone(), down]);
        }
    }
}

#[test]
fn monitoring_a_dead_actor_gives_no_such_actor_at_once() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let p = Probes::new();
        let gone = p.spawn(&mut lp, 1);
        lp.send(gone, Cmd::Stop).unwrap();
        lp.run().unwrap();
        let w = p.spawn(&mut lp, 2);
        let m = lp.monitor(w.id(), gone.id()).unwrap();
        p.monitors.lock().unwrap().push(m);
        assert_eq!(m.target(), gone.id());
        lp.send(w, Cmd::Stop).unwrap();
        lp.run().unwrap();
        assert_eq!(
            p.signals(),
            [Seen::Down(2, gone.id(), DownReason::NoSuchActor)]
        );
        // A dead watcher cannot monitor.
        assert_eq!(lp.monitor(w.id(), gone.id()), Err(jzx::Error::NoSuchActor));
    }
}

#[test]
fn no_down_after_demonitor_even_one_already_queued() {
    for backend in backends() {
        // One actor per turn, so that the loop can stop right after the
        // target's end, with its Down queued for the watcher.
        let mut lp = config_loop(Config {
            backend,
            clock: ClockKind::Virtual,
            max_actors_per_tick: 1,
            ..Config::default()
        });
        let p = Probes::new();
        let t1 = p.spawn(&mut lp, 1);
        let handle = lp.handle();
        let t2 = lp
            .spawn(Probe {
                stop_loop: Some(handle),
                ..p.probe(2)
            })
            .unwrap();
        let w = p.spawn(&mut lp, 3);
        let m1 = lp.monitor(w.id(), t1.id()).unwrap();
        let m2 = lp.monitor(w.id(), t2.id()).unwrap();
        p.monitors.lock().unwrap().extend([m1, m2]);
        // m1 is removed before its target ends.
        assert!(lp.demonitor(m1));
        assert!(!lp.demonitor(m1));
        lp.send(t1, Cmd::Stop).unwrap();
        util::run_for(&mut lp, Duration::from_millis(1));
        // m2's target ends; the run stops with its Down queued.
        lp.send(t2, Cmd::Stop).unwrap();
        lp.run().unwrap();
        assert_eq!(lp.mailbox_depth(w.id()), Some(1));
        assert!(lp.demonitor(m2));
        lp.send(w, Cmd::Stop).unwrap();
        lp.run().unwrap();
        assert_eq!(p.signals(), []);
        assert_eq!(lp.actor_count(), 0);
    }
}

#[test]
fn a_dead_watcher_leaves_nothing_behind_on_its_target() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let p = Probes::new();
        let target = p.spawn(&mut lp, 1);
        let w = p.spawn(&mut lp, 2);
        let m = lp.monitor(w.id(), target.id()).unwrap();
        p.monitors.lock().unwrap().push(m);
        lp.send(w, Cmd::Stop).unwrap();
        util::run_for(&mut lp, Duration::from_millis(1));
        // The watcher's slot is reused by a new actor: the target's end
        // must not reach it.
        let fresh = [p.spawn(&mut lp, 3), p.spawn(&mut lp, 4)];
        assert!(fresh.iter().any(|f| f.id().slot() == w.id().slot()));
        lp.send(target, Cmd::Stop).unwrap();
        for f in fresh {
            lp.send(f, Cmd::Stop).unwrap();
        }
        lp.run().unwrap();
        assert_eq!(p.signals(), []);
        assert!(!lp.demonitor(m));
    }
}

// ---------------------------------------------------------------- links

#[test]
fn an_abnormal_exit_travels_a_chain_of_links_with_its_reason() {
    for backend in backends() {
        for (cmd, reason) in [
            (Cmd::Fail, StopReason::Fail),
            (Cmd::Panic, StopReason::Panic),
        ] {
            let mut lp = virtual_loop(backend);
            let p = Probes::new();
            let a = p.spawn(&mut lp, 1);
            let b = p.spawn(&mut lp, 2);
            let c = p.spawn(&mut lp, 3);
            let outside = p.spawn(&mut lp, 4);
            lp.link(a.id(), b.id()).unwrap();
            lp.send(c, Cmd::Link(b.id())).unwrap();
            util::run_for(&mut lp, Duration::from_millis(1));
            assert_eq!(lp.links_of(b.id()).len(), 2);
            lp.send(a, cmd).unwrap();
            util::run_for(&mut lp, Duration::from_millis(1));
            let stops: Vec<Seen> = p
                .log
                .get()
                .into_iter()
                .filter(|s| matches!(s, Seen::Stop(..)))
                .collect();
            assert_eq!(
                stops,
                [
                    Seen::Stop(1, reason),
                    Seen::Stop(2, reason),
                    Seen::Stop(3, reason)
                ]
            );
            assert!(lp.is_alive(outside.id()));
            assert_eq!(lp.actor_count(), 1);
        }
    }
}

#[test]
fn normal_exits_do_not_propagate_and_trapping_actors_get_exit_messages() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let p = Probes::new();
        let a = p.spawn(&mut lp, 1);
        let b = p.spawn(&mut lp, 2);
        let trapper = p.spawn(&mut lp, 3);
        let unlinked = p.spawn(&mut lp, 4);
        lp.link(a.id(), b.id()).unwrap();
        lp.link(a.id(), trapper.id()).unwrap();
        lp.link(b.id(), trapper.id()).unwrap();
        lp.link(b.id(), unlinked.id()).unwrap();
        lp.send(trapper, Cmd::Trap(true)).unwrap();
        lp.send(unlinked, Cmd::Unlink(b.id())).unwrap();
        util::run_for(&mut lp, Duration::from_millis(1));
        // a stops normally: b lives on; the trapper hears of it.
        lp.send(a, Cmd::Stop).unwrap();
        util::run_for(&mut lp, Duration::from_millis(1));
        assert!(lp.is_alive(b.id()));
        // b fails: the trapper is told and lives; the unlinked one lives.
        lp.send(b, Cmd::Fail).unwrap();
        util::run_for(&mut lp, Duration::from_millis(1));
        assert!(lp.is_alive(trapper.id()) && lp.is_alive(unlinked.id()));
        assert_eq!(
            p.signals(),
            [
                Seen::Exit(3, a.id(), StopReason::Normal),
                Seen::Exit(3, b.id(), StopReason::Fail),
            ]
        );
        assert_eq!(lp.links_of(trapper.id()), []);
        assert_eq!(lp.link(trapper.id(), a.id()), Err(jzx::Error::NoSuchActor));
        assert_eq!(
            lp.link(trapper.id(), trapper.id()),
            Err(jzx::Error::InvalidArg)
        );
    }
}

// --------------------------------------------------------- dead letters

type LetterLog = Arc<Mutex<Vec<(ActorId, &'static str, usize)>>>;

#[derive(Clone, Default)]
struct Letters(LetterLog);

impl Observer for Letters {
    fn on_dead_letters(&mut self, target: ActorId, type_name: &'static str, count: usize) {
        self.0.lock().unwrap().push((target, type_name, count));
    }
}

/// Stops at message `stop_at`; counts what it handled.
struct Quitter {
    stop_at: u64,
    handled: Arc<Mutex<u64>>,
}

impl Actor for Quitter {
    type Msg = u64;
    fn handle(&mut self, _cx: &mut Context<'_, Self>, n: u64) -> Flow {
        *self.handled.lock().unwrap() += 1;
        if n == self.stop_at {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

#[test]
fn dead_letters_count_every_message_dropped_with_its_receiver() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let letters = Letters::default();
        lp.set_observer(letters.clone());
        let handled = Arc::new(Mutex::new(0));
        let mut expected = 0u64;
        let mut addrs = Vec::new();
        for k in 0..20u64 {
            let q = lp
                .spawn(Quitter {
                    stop_at: k * 3,
                    handled: handled.clone(),
                })
                .unwrap();
            addrs.push(q);
            let sent = 50 + k;
            for n in 0..sent {
                lp.send(q, n).unwrap();
            }
            // A pending one-shot timer's message is a dead letter too; an
            // interval's pattern is not.
            lp.send_after(q, Duration::from_secs(5), 1).unwrap();
            lp.send_interval(q, Duration::from_secs(7), 2).unwrap();
            expected += sent - (k * 3 + 1) + 1;
        }
        // And one from another thread for a dead actor.
        let handle = lp.handle();
        lp.run().unwrap();
        handle.send(addrs[0], 9).unwrap();
        lp.run().unwrap();
        expected += 1;
        let seen = letters.0.lock().unwrap().clone();
        let total: usize = seen.iter().map(|l| l.2).sum();
        assert_eq!(total as u64, expected);
        assert_eq!(lp.metrics().dead_letters, expected);
        assert!(seen.iter().all(|l| l.1 == "u64"), "{seen:?}");
        assert_eq!(seen.len(), 21);
        assert_eq!(seen[20], (addrs[0].id(), "u64", 1));
        assert_eq!(
            *handled.lock().unwrap(),
            (0..20).map(|k| k * 3 + 1).sum::<u64>()
        );
    }
}

// --------------------------------------------------------------- groups

#[test]
fn groups_join_leave_broadcast_and_lose_dead_members() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let handled = Arc::new(Mutex::new(0));
        let quitter = |lp: &mut Loop, stop_at| {
            lp.spawn_with(
                Quitter {
                    stop_at,
                    handled: handled.clone(),
                },
                jzx::SpawnOptions::new().mailbox_cap(1),
            )
            .unwrap()
        };
        let a = quitter(&mut lp, 7);
        let b = quitter(&mut lp, 7);
        let c = quitter(&mut lp, 3);
        let p = Probes::new();
        let other_type = p.spawn(&mut lp, 1);
        for q in [a, b, c, a] {
            lp.join_group("g", q).unwrap();
        }
        lp.join_group("g", other_type).unwrap();
        assert_eq!(
            lp.group_members("g"),
            [a.id(), b.id(), c.id(), other_type.id()]
        );
        assert!(lp.leave_group("g", b.id()));
        assert!(!lp.leave_group("g", b.id()));
        lp.join_group("h", b).unwrap();
        let sent = lp.broadcast("g", 3u64);
        assert_eq!(
            sent,
            jzx::Broadcast {
                delivered: 2,
                refused: 0,
                skipped: 1
            }
        );
        // Mailboxes of capacity 1, still full: refused, and told.
        let again = lp.broadcast("g", 5u64);
        assert_eq!((again.delivered, again.refused), (0, 2));
        lp.send(other_type, Cmd::Stop).unwrap();
        util::run_for(&mut lp, Duration::from_millis(1));
        // c stopped on 3, other_type stopped: both left; a lives on.
        assert_eq!(lp.group_members("g"), [a.id()]);
        assert_eq!(lp.group_members("h"), [b.id()]);
        assert_eq!(*handled.lock().unwrap(), 2);
        assert_eq!(lp.join_group("g", c), Err(jzx::Error::NoSuchActor));
        lp.stop_actor(a.id()).unwrap();
        lp.stop_actor(b.id()).unwrap();
        lp.run().unwrap();
        assert!(lp.group_members("g").is_empty() && lp.group_members("h").is_empty());
        assert_eq!(lp.broadcast("g", 1u64), jzx::Broadcast::default());
    }
}

/// Broadcasts its greeting to group "g" at each message.
struct Greeter;

impl Actor for Greeter {
    type Msg = u32;
    fn handle(&mut self, cx: &mut Context<'_, Self>, _: u32) -> Flow {
        // Itself a member of "g" with another message type, and running.
        let sent = cx.broadcast("g", "hello");
        assert_eq!(
            sent,
            jzx::Broadcast {
                delivered: 0,
                refused: 0,
                skipped: 1
            }
        );
        Flow::Stop
    }
}

#[test]
fn a_broadcast_skips_a_running_member_of_another_type() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let g = lp.spawn(Greeter).unwrap();
        lp.join_group("g", g).unwrap();
        lp.send(g, 1).unwrap();
        lp.run().unwrap();
        assert_eq!(lp.metrics().dead_letters, 0);
        assert!(lp.group_members("g").is_empty());
    }
}
