//! What crosses the loops of a runtime besides messages (R27, R28, and the
//! process toolkit across loops): spawns on another loop from a behavior,
//! stops by id, monitors, links and child exits; and a run that ends only
//! when every loop is quiet.

use jzx::{
    Actor, ActorId, Addr, Context, Down, DownReason, Exit, Flow, Runtime, RuntimeConfig,
    RuntimeHandle, SpawnOptions, StopReason,
};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

type Log = Arc<Mutex<Vec<String>>>;

fn log(l: &Log, s: impl Into<String>) {
    l.lock().unwrap().push(s.into());
}

/// Counts what it gets, on whichever loop it lives; stops at `stop_at`.
struct Counter {
    got: Arc<AtomicUsize>,
    stop_at: usize,
    log: Log,
}

impl Actor for Counter {
    type Msg = usize;
    fn on_start(&mut self, cx: &mut Context<'_, Self>) {
        log(&self.log, format!("start on {}", cx.id().loop_index()));
    }
    fn handle(&mut self, _cx: &mut Context<'_, Self>, n: usize) -> Flow {
        let seen = self.got.fetch_add(1, SeqCst);
        assert_eq!(seen, n, "messages arrive in order");
        if n + 1 == self.stop_at {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

/// Spawns a counter on another loop and sends to it at once, before it has
/// arrived there.
struct Spawner {
    on: usize,
    n: usize,
    got: Arc<AtomicUsize>,
    log: Log,
    child: Option<Addr<usize>>,
}

impl Actor for Spawner {
    type Msg = ();
    fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
        let counter = Counter {
            got: self.got.clone(),
            stop_at: self.n,
            log: self.log.clone(),
        };
        let child = cx.spawn_on(self.on, counter).unwrap();
        assert_eq!(child.id().loop_index(), self.on);
        for i in 0..self.n {
            cx.send(child, i).unwrap();
        }
        self.child = Some(child);
        Flow::Stop
    }
}

/// Sends `()` to `start` (from outside the runtime) and runs until every
/// loop is idle.
fn kick_and_run(rt: &mut Runtime, start: Addr<()>) {
    let handle = rt.handle();
    let on = handle.loop_handle(start.id().loop_index()).unwrap();
    on.send(start, ()).unwrap();
    rt.run().unwrap();
}

fn runtime(loops: usize) -> Runtime {
    Runtime::with_config(RuntimeConfig {
        loops,
        ..RuntimeConfig::default()
    })
    .unwrap()
}

#[test]
fn an_actor_spawned_on_another_loop_gets_the_messages_sent_before_it_arrived() {
    let mut rt = runtime(2);
    let got = Arc::new(AtomicUsize::new(0));
    let log = Log::default();
    let spawner = rt
        .spawn_on(
            0,
            Spawner {
                on: 1,
                n: 1000,
                got: got.clone(),
                log: log.clone(),
                child: None,
            },
        )
        .unwrap();
    kick_and_run(&mut rt, spawner);
    assert_eq!(got.load(SeqCst), 1000);
    assert_eq!(*log.lock().unwrap(), ["start on 1"]);
    let counts: Vec<usize> = (0..2)
        .map(|i| rt.on_loop(i, |lp| lp.actor_count()).unwrap())
        .collect();
    assert_eq!(counts, [0, 0]);
}

#[test]
fn a_burst_of_spawns_beyond_the_reserved_slots_still_gets_every_actor_its_messages() {
    // 200 spawns from one behavior: more than the slots reserved for the
    // spawning loop, so most take slots the other loop never used.
    struct Burst(Arc<AtomicUsize>, Log);
    impl Actor for Burst {
        type Msg = ();
        fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
            for _ in 0..200 {
                let c = Counter {
                    got: Arc::new(AtomicUsize::new(0)),
                    stop_at: 3,
                    log: self.1.clone(),
                };
                let addr = cx.spawn_on(1, c).unwrap();
                for i in 0..3 {
                    cx.send(addr, i).unwrap();
                }
                self.0.fetch_add(1, SeqCst);
            }
            Flow::Stop
        }
    }
    let mut rt = runtime(2);
    let spawned = Arc::new(AtomicUsize::new(0));
    let log = Log::default();
    let b = rt.spawn_on(0, Burst(spawned.clone(), log.clone())).unwrap();
    kick_and_run(&mut rt, b);
    assert_eq!(spawned.load(SeqCst), 200);
    assert_eq!(log.lock().unwrap().len(), 200);
    let dead = rt.on_loop(1, |lp| lp.metrics().dead_letters).unwrap();
    assert_eq!(dead, 0);
    // The run ended: every counter got its three messages and stopped.
    assert_eq!(rt.on_loop(1, |lp| lp.actor_count()).unwrap(), 0);
}

/// Lives until stopped by id; counts its messages.
struct Idle;
impl Actor for Idle {
    type Msg = ();
    fn handle(&mut self, _cx: &mut Context<'_, Self>, _: ()) -> Flow {
        Flow::Continue
    }
}

/// Monitors and links an actor of another loop, then stops or fails it by
/// id, and records what comes back.
struct Watcher {
    target: Addr<()>,
    log: Log,
    fail: bool,
    trap: bool,
    /// Events (Down, Exit) to see before it stops.
    events: usize,
}

impl Watcher {
    fn seen(&mut self) -> Flow {
        self.events -= 1;
        if self.events == 0 {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

impl Actor for Watcher {
    type Msg = ();
    fn on_start(&mut self, cx: &mut Context<'_, Self>) {
        cx.trap_exits(self.trap);
    }
    fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
        let t = self.target.id();
        cx.monitor(t);
        cx.link(t).unwrap();
        if self.fail {
            cx.fail_actor(t).unwrap();
        } else {
            cx.stop_actor(t).unwrap();
        }
        Flow::Continue
    }
    fn on_down(&mut self, _cx: &mut Context<'_, Self>, down: Down) -> Flow {
        assert_eq!(down.id.loop_index(), 1);
        log(&self.log, format!("down {:?}", down.reason));
        self.seen()
    }
    fn on_exit(&mut self, _cx: &mut Context<'_, Self>, exit: Exit) -> Flow {
        log(&self.log, format!("exit {:?}", exit.reason));
        self.seen()
    }
    fn on_stop(&mut self, _cx: &mut Context<'_, Self>, reason: StopReason) {
        log(&self.log, format!("stop {reason:?}"));
    }
}

fn watch(fail: bool, trap: bool) -> Vec<String> {
    let mut rt = runtime(2);
    let target = rt.spawn_on(1, Idle).unwrap();
    let log = Log::default();
    let w = rt
        .spawn_on(
            0,
            Watcher {
                target,
                log: log.clone(),
                fail,
                trap,
                events: if trap { 2 } else { 1 },
            },
        )
        .unwrap();
    kick_and_run(&mut rt, w);
    let out = log.lock().unwrap().clone();
    out
}

#[test]
fn a_normal_stop_across_loops_brings_a_down_and_spares_the_linked_actor() {
    assert_eq!(watch(false, false), ["down Exited(Normal)", "stop Normal"]);
}

#[test]
fn a_failure_across_loops_ends_the_linked_actor_with_the_same_reason() {
    // The exit signal and the Down travel in one ring, in that order: the
    // link ends the watcher before its Down is handled.
    assert_eq!(watch(true, false), ["stop Fail"]);
}

#[test]
fn a_trapping_actor_gets_the_down_and_the_exit_across_loops() {
    // Monitors are told before links, on one loop as across loops.
    assert_eq!(
        watch(true, true),
        ["down Exited(Fail)", "exit Fail", "stop Normal"]
    );
}

/// A parent on loop 0 whose child lives on loop 1.
struct Parent {
    log: Log,
}

impl Actor for Parent {
    type Msg = ();
    fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
        let me = cx.id();
        let child = cx
            .spawn_on_with(1, Idle, SpawnOptions::new().parent(me))
            .unwrap();
        cx.fail_actor(child.id()).unwrap();
        Flow::Continue
    }
    fn on_child_exit(&mut self, _cx: &mut Context<'_, Self>, exit: jzx::ChildExit) -> Flow {
        log(
            &self.log,
            format!("child on {} {:?}", exit.child.loop_index(), exit.reason),
        );
        Flow::Stop
    }
}

#[test]
fn a_child_on_another_loop_reports_its_exit_to_its_parent() {
    let mut rt = runtime(2);
    let log = Log::default();
    let p = rt.spawn_on(0, Parent { log: log.clone() }).unwrap();
    kick_and_run(&mut rt, p);
    assert_eq!(*log.lock().unwrap(), ["child on 1 Fail"]);
}

#[test]
fn a_run_waits_for_an_idle_loop_that_another_loop_will_spawn_on() {
    // Loop 1 has nothing at the start; loop 0's actor spawns on it only
    // after a chain of 50 messages to itself. The run must not end early.
    struct Later {
        left: u32,
        got: Arc<AtomicUsize>,
        log: Log,
    }
    impl Actor for Later {
        type Msg = ();
        fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
            if self.left > 0 {
                self.left -= 1;
                let me = cx.addr();
                cx.send(me, ()).unwrap();
                return Flow::Continue;
            }
            let c = Counter {
                got: self.got.clone(),
                stop_at: 1,
                log: self.log.clone(),
            };
            let a = cx.spawn_on(1, c).unwrap();
            cx.send(a, 0).unwrap();
            Flow::Stop
        }
    }
    let mut rt = runtime(3);
    let got = Arc::new(AtomicUsize::new(0));
    let log = Log::default();
    let l = rt
        .spawn_on(
            0,
            Later {
                left: 50,
                got: got.clone(),
                log: log.clone(),
            },
        )
        .unwrap();
    kick_and_run(&mut rt, l);
    assert_eq!(got.load(SeqCst), 1);
    assert_eq!(*log.lock().unwrap(), ["start on 1"]);
}

#[test]
fn a_stop_of_the_runtime_from_an_actor_ends_every_loop() {
    struct Forever;
    impl Actor for Forever {
        type Msg = ();
        fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
            let me = cx.addr();
            cx.send(me, ()).unwrap();
            Flow::Continue
        }
    }
    struct Stopper(RuntimeHandle, u32);
    impl Actor for Stopper {
        type Msg = ();
        fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
            self.1 += 1;
            if self.1 == 100 {
                self.0.request_stop();
            }
            let me = cx.addr();
            cx.send(me, ()).unwrap();
            Flow::Continue
        }
    }
    let mut rt = runtime(2);
    let f = rt.spawn_on(1, Forever).unwrap();
    let s = rt.spawn_on(0, Stopper(rt.handle(), 0)).unwrap();
    let h = rt.handle();
    h.loop_handle(1).unwrap().send(f, ()).unwrap();
    h.loop_handle(0).unwrap().send(s, ()).unwrap();
    rt.run().unwrap();
    let alive: Vec<usize> = (0..2)
        .map(|i| rt.on_loop(i, |lp| lp.actor_count()).unwrap())
        .collect();
    assert_eq!(alive, [1, 1]);
}

#[test]
fn ids_of_another_loop_are_not_found_on_this_one() {
    let mut rt = runtime(2);
    let a = rt.spawn_on(1, Idle).unwrap();
    let raw = a.id().to_raw();
    let (alive_here, stop_here) = rt
        .on_loop(0, move |lp| {
            let id = ActorId::from_raw(raw).unwrap();
            (lp.is_alive(id), lp.mailbox_depth(id))
        })
        .unwrap();
    assert!(!alive_here);
    assert_eq!(stop_here, None);
    assert!(rt.on_loop(1, move |lp| lp.is_alive(a.id())).unwrap());
    let _ = DownReason::NoSuchActor;
}

#[test]
fn a_name_registered_on_one_loop_is_found_and_reached_from_another() {
    struct Named(&'static str);
    impl Actor for Named {
        type Msg = usize;
        fn on_start(&mut self, cx: &mut Context<'_, Self>) {
            let me = cx.id();
            cx.register_name(self.0, me).unwrap();
        }
        fn handle(&mut self, _cx: &mut Context<'_, Self>, n: usize) -> Flow {
            assert_eq!(n, 7);
            Flow::Stop
        }
    }
    struct Finder(Log);
    impl Actor for Finder {
        type Msg = ();
        fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
            let id = cx.lookup("svc").unwrap();
            assert_eq!(id.loop_index(), 1);
            // Taken in the whole runtime, from this loop too.
            let me = cx.id();
            assert_eq!(cx.register_name("svc", me), Err(jzx::Error::InvalidArg));
            let svc: Addr<usize> = cx.remote_addr(id).unwrap();
            cx.send(svc, 7).unwrap();
            log(&self.0, "sent");
            Flow::Stop
        }
    }
    let mut rt = runtime(2);
    rt.spawn_on(1, Named("svc")).unwrap();
    let log_ = Log::default();
    let f = rt.spawn_on(0, Finder(log_.clone())).unwrap();
    kick_and_run(&mut rt, f);
    assert_eq!(*log_.lock().unwrap(), ["sent"]);
    // The named actor ended: its name is free in the whole runtime.
    let found = rt.on_loop(0, |lp| lp.lookup("svc")).unwrap();
    assert_eq!(found, None);
    rt.spawn_on(0, Named("svc")).unwrap();
    let found = rt.on_loop(1, |lp| lp.lookup("svc")).unwrap();
    assert_eq!(found.map(|id| id.loop_index()), Some(0));
}

/// A supervised child that says where it starts, and ends its first
/// incarnation by failing and later ones by stopping (or idles until it is
/// stopped, when `idle_first`).
struct Child {
    tag: &'static str,
    starts: Arc<AtomicUsize>,
    idle_first: bool,
    log: Log,
}

impl Actor for Child {
    type Msg = &'static str;
    fn on_start(&mut self, cx: &mut Context<'_, Self>) {
        let n = self.starts.fetch_add(1, SeqCst);
        log(
            &self.log,
            format!("{} start {} on {}", self.tag, n, cx.id().loop_index()),
        );
        let me = cx.addr();
        match (n, self.idle_first) {
            (0, true) => {}
            (0, false) => cx.send(me, "fail").unwrap(),
            _ => cx.send(me, "stop").unwrap(),
        }
    }
    fn handle(&mut self, _cx: &mut Context<'_, Self>, m: &'static str) -> Flow {
        fail_or_stop(m)
    }
    fn on_stop(&mut self, _cx: &mut Context<'_, Self>, reason: StopReason) {
        log(&self.log, format!("{} stop {reason:?}", self.tag));
    }
}

/// What a supervised test child does with its message: `"fail"` fails it,
/// anything else stops it.
fn fail_or_stop(m: &str) -> Flow {
    if m == "fail" {
        Flow::Fail
    } else {
        Flow::Stop
    }
}

fn child_spec(on: usize, tag: &'static str, idle_first: bool, log: &Log) -> jzx::ChildSpec {
    let starts = Arc::new(AtomicUsize::new(0));
    let log = log.clone();
    jzx::ChildSpec::on_loop(on, move || Child {
        tag,
        starts: starts.clone(),
        idle_first,
        log: log.clone(),
    })
    .mode(jzx::RestartMode::Transient)
}

fn supervise(
    strategy: jzx::Strategy,
    children: impl FnOnce(&Log) -> Vec<jzx::ChildSpec> + Send + 'static,
) -> Vec<String> {
    let rt = runtime(2);
    let log = Log::default();
    let l = log.clone();
    rt.on_loop(0, move |lp| {
        let spec = jzx::SupervisorSpec::new(strategy).auto_shutdown(true);
        lp.spawn_supervisor(spec, children(&l)).map(|s| s.id())
    })
    .unwrap()
    .unwrap();
    let mut rt = rt;
    rt.run().unwrap();
    let alive: Vec<usize> = (0..2)
        .map(|i| rt.on_loop(i, |lp| lp.actor_count()).unwrap())
        .collect();
    assert_eq!(alive, [0, 0], "the supervisor shut down with its children");
    let out = log.lock().unwrap().clone();
    out
}

#[test]
fn a_child_on_another_loop_is_restarted_there_after_a_failure() {
    let log = supervise(jzx::Strategy::OneForOne, |log| {
        vec![child_spec(1, "b", false, log)]
    });
    assert_eq!(
        log,
        [
            "b start 0 on 1",
            "b stop Fail",
            "b start 1 on 1",
            "b stop Normal"
        ]
    );
}

/// One-for-all with a child on each loop, `b` (on loop 1) named or not:
/// `a` fails once, so `b` is stopped there and both restart.
fn one_for_all_across_loops(named: bool) {
    let log = supervise(jzx::Strategy::OneForAll, move |log| {
        let b = child_spec(1, "b", true, log);
        vec![
            child_spec(0, "a", false, log),
            if named { b.name("b") } else { b },
        ]
    });
    let of = |tag: &str| -> Vec<&String> { log.iter().filter(|l| l.starts_with(tag)).collect() };
    let incarnations = |tag: &str, on: usize, first_end: &str| {
        vec![
            format!("{tag} start 0 on {on}"),
            format!("{tag} stop {first_end}"),
            format!("{tag} start 1 on {on}"),
            format!("{tag} stop Normal"),
        ]
    };
    assert_eq!(
        of("a"),
        incarnations("a", 0, "Fail").iter().collect::<Vec<_>>()
    );
    assert_eq!(
        of("b"),
        incarnations("b", 1, "Normal").iter().collect::<Vec<_>>()
    );
}

#[test]
fn one_for_all_stops_and_restarts_a_sibling_on_another_loop() {
    one_for_all_across_loops(false);
}

#[test]
fn one_for_all_restarts_only_after_the_sibling_on_another_loop_has_ended() {
    // `a` (loop 0) fails; `b` (loop 1) is stopped there, and nothing of the
    // restart starts before it has ended, as a supervisor of Erlang/OTP
    // waits for each child it stops.
    let log = supervise(jzx::Strategy::OneForAll, |log| {
        vec![
            child_spec(0, "a", false, log),
            child_spec(1, "b", true, log),
        ]
    });
    let at = |line: &str| log.iter().position(|l| l == line).unwrap();
    assert!(
        at("b stop Normal") < at("a start 1 on 0"),
        "the restart waited for b's end: {log:?}"
    );
}

#[test]
fn spawns_placed_from_an_actor_follow_the_runtime_policy() {
    struct Placer(Arc<Mutex<Vec<usize>>>, RuntimeHandle);
    impl Actor for Placer {
        type Msg = ();
        fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
            for _ in 0..4 {
                let a = cx.spawn_placed(Idle).unwrap();
                self.0.lock().unwrap().push(a.id().loop_index());
            }
            self.1.request_stop();
            Flow::Stop
        }
    }
    let placed = |placement: jzx::Placement, busy: [usize; 3]| -> Vec<usize> {
        let mut rt = Runtime::with_config(RuntimeConfig {
            loops: 3,
            placement,
            ..RuntimeConfig::default()
        })
        .unwrap();
        for (i, n) in busy.into_iter().enumerate() {
            for _ in 0..n {
                rt.spawn_on(i, Idle).unwrap();
            }
        }
        let out = Arc::new(Mutex::new(Vec::new()));
        let p = rt.spawn_on(0, Placer(out.clone(), rt.handle())).unwrap();
        kick_and_run(&mut rt, p);
        let v = out.lock().unwrap().clone();
        v
    };
    // In turn from the spawning loop.
    assert_eq!(placed(jzx::Placement::RoundRobin, [0, 0, 0]), [0, 1, 2, 0]);
    // Loads at the start: 1 on loop 0 (the placer), 3 on loop 1, 0 on
    // loop 2; each spawn counts where it went, and ties go to the lower
    // index.
    assert_eq!(placed(jzx::Placement::LeastLoaded, [0, 3, 0]), [2, 0, 2, 0]);
}

#[test]
fn a_group_spans_loops_and_a_broadcast_reaches_every_member() {
    struct Member(Arc<AtomicUsize>, Log);
    impl Actor for Member {
        type Msg = u64;
        fn on_start(&mut self, cx: &mut Context<'_, Self>) {
            let me = cx.addr();
            cx.join_group("all", me).unwrap();
        }
        fn handle(&mut self, cx: &mut Context<'_, Self>, n: u64) -> Flow {
            assert_eq!(n, 42);
            self.0.fetch_add(1, SeqCst);
            log(&self.1, format!("got on {}", cx.id().loop_index()));
            Flow::Stop
        }
    }
    struct Caster(Log);
    impl Actor for Caster {
        type Msg = ();
        fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
            let members = cx.group_members("all");
            let mut loops: Vec<usize> = members.iter().map(|m| m.loop_index()).collect();
            loops.sort();
            assert_eq!(loops, [0, 1, 1]);
            let sent = cx.broadcast("all", 42u64);
            assert_eq!((sent.delivered, sent.refused, sent.skipped), (3, 0, 0));
            log(&self.0, "cast");
            Flow::Stop
        }
    }
    let mut rt = runtime(3);
    let got = Arc::new(AtomicUsize::new(0));
    let l = Log::default();
    for on in [0, 1, 1] {
        rt.spawn_on(on, Member(got.clone(), l.clone())).unwrap();
    }
    let c = rt.spawn_on(2, Caster(l.clone())).unwrap();
    kick_and_run(&mut rt, c);
    assert_eq!(got.load(SeqCst), 3);
    assert_eq!(l.lock().unwrap().first().map(String::as_str), Some("cast"));
    // Each member stopped on the news and left the group.
    assert!(rt
        .on_loop(2, |lp| lp.group_members("all"))
        .unwrap()
        .is_empty());
}

#[test]
fn a_supervisor_stops_its_children_on_several_loops_in_reverse_start_order() {
    struct Driver(ActorId);
    impl Actor for Driver {
        type Msg = ();
        fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
            cx.stop_actor(self.0).unwrap();
            Flow::Stop
        }
    }
    let mut rt = runtime(2);
    let log_ = Log::default();
    let l = log_.clone();
    let sup = rt
        .on_loop(0, move |lp| {
            let children = [("a", 0), ("b", 1), ("c", 0), ("d", 1)]
                .into_iter()
                .map(|(tag, on)| child_spec(on, tag, true, &l))
                .collect();
            lp.spawn_supervisor(jzx::SupervisorSpec::new(jzx::Strategy::OneForOne), children)
                .map(|s| s.id())
        })
        .unwrap()
        .unwrap();
    let d = rt.spawn_on(0, Driver(sup)).unwrap();
    kick_and_run(&mut rt, d);
    let stops: Vec<String> = log_
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("stop"))
        .cloned()
        .collect();
    assert_eq!(
        stops,
        [
            "d stop Normal",
            "c stop Normal",
            "b stop Normal",
            "a stop Normal"
        ]
    );
}

#[test]
fn a_child_failing_on_another_loop_makes_its_supervisor_escalate_to_its_parent() {
    struct Failing(Arc<AtomicUsize>);
    impl Actor for Failing {
        type Msg = ();
        fn on_start(&mut self, cx: &mut Context<'_, Self>) {
            self.0.fetch_add(1, SeqCst);
            let me = cx.addr();
            cx.send(me, ()).unwrap();
        }
        fn handle(&mut self, _cx: &mut Context<'_, Self>, _: ()) -> Flow {
            Flow::Fail
        }
    }
    struct Top(Arc<AtomicUsize>, Log);
    impl Actor for Top {
        type Msg = ();
        fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
            let starts = self.0.clone();
            let child = jzx::ChildSpec::on_loop(1, move || Failing(starts.clone()));
            let spec = jzx::SupervisorSpec::new(jzx::Strategy::OneForOne)
                .intensity(2, std::time::Duration::from_secs(60));
            let me = cx.id();
            cx.spawn_supervisor_with(spec, vec![child], SpawnOptions::new().parent(me))
                .unwrap();
            Flow::Continue
        }
        fn on_child_exit(&mut self, _cx: &mut Context<'_, Self>, exit: jzx::ChildExit) -> Flow {
            log(&self.1, format!("supervisor {:?}", exit.reason));
            Flow::Stop
        }
    }
    let mut rt = runtime(2);
    let starts = Arc::new(AtomicUsize::new(0));
    let l = Log::default();
    let top = rt.spawn_on(0, Top(starts.clone(), l.clone())).unwrap();
    kick_and_run(&mut rt, top);
    // The first start and two restarts; the third failure exceeds the
    // intensity.
    assert_eq!(starts.load(SeqCst), 3);
    assert_eq!(*l.lock().unwrap(), ["supervisor Fail"]);
    assert_eq!(rt.on_loop(1, |lp| lp.actor_count()).unwrap(), 0);
}

#[test]
fn one_loop_of_a_runtime_run_on_its_own_returns_when_it_is_idle() {
    struct Once;
    impl Actor for Once {
        type Msg = ();
        fn handle(&mut self, _cx: &mut Context<'_, Self>, _: ()) -> Flow {
            Flow::Stop
        }
    }
    let mut rt = runtime(2);
    let a = rt.spawn_on(1, Once).unwrap();
    let b = rt.spawn_on(0, Once).unwrap();
    let solo = rt
        .on_loop(1, move |lp| {
            lp.send(a, ()).unwrap();
            lp.run().map(|()| lp.actor_count())
        })
        .unwrap();
    assert_eq!(solo, Ok(0));
    // Loop 0 was not asked to stop by it: the whole runtime still runs.
    kick_and_run(&mut rt, b);
    assert_eq!(rt.on_loop(0, |lp| lp.actor_count()).unwrap(), 0);
}

/// Answers `Ask(n, reply)` with `n * 2`, or drops the handle for `n == 0`;
/// for `u64::MAX`, replies only once the asker has recorded its timeout,
/// then tells the asker it is done (after the late reply, in ring order).
struct Doubler(Answers);
struct Ask(u64, jzx::ReplyTo<u64>);
type Answers = Arc<Mutex<Vec<(u64, jzx::Answer<u64>)>>>;

impl Actor for Doubler {
    type Msg = Ask;
    fn handle(&mut self, cx: &mut Context<'_, Self>, Ask(n, reply): Ask) -> Flow {
        match n {
            0 => drop(reply),
            u64::MAX => {
                while !self.0.lock().unwrap().contains(&(n, jzx::Answer::Timeout)) {
                    std::thread::yield_now();
                }
                // Sent to the asker's loop, discarded there.
                assert!(reply.reply(cx, 1));
                let asker = cx.lookup("asker").unwrap();
                let asker: Addr<AskerMsg> = cx.remote_addr(asker).unwrap();
                cx.send(asker, AskerMsg::Done).unwrap();
            }
            n => assert!(reply.reply(cx, n * 2)),
        }
        Flow::Continue
    }
}

enum AskerMsg {
    Go,
    Answer(u64, jzx::Answer<u64>),
    Done,
}

/// Asks the doubler across loops with each number in turn, records the
/// answers, and ends both once the doubler is done and every answer is in
/// (answers come in the reserved lane, `Done` in the other: either may be
/// handled first).
struct Asker {
    server: Addr<Ask>,
    questions: Vec<(u64, u64)>,
    answers: Answers,
    done: bool,
}

impl Asker {
    fn maybe_end(&mut self, cx: &mut Context<'_, Self>) -> Flow {
        if !self.done || self.answers.lock().unwrap().len() < self.questions.len() {
            return Flow::Continue;
        }
        cx.stop_actor(self.server.id()).unwrap();
        Flow::Stop
    }
}

impl Actor for Asker {
    type Msg = AskerMsg;
    fn on_start(&mut self, cx: &mut Context<'_, Self>) {
        let me = cx.id();
        cx.register_name("asker", me).unwrap();
    }
    fn handle(&mut self, cx: &mut Context<'_, Self>, msg: AskerMsg) -> Flow {
        match msg {
            AskerMsg::Go => {
                for (n, timeout_ms) in self.questions.clone() {
                    cx.ask(
                        self.server,
                        std::time::Duration::from_millis(timeout_ms),
                        move |reply| Ask(n, reply),
                        move |a| AskerMsg::Answer(n, a),
                    )
                    .unwrap();
                }
                Flow::Continue
            }
            AskerMsg::Answer(n, a) => {
                self.answers.lock().unwrap().push((n, a));
                self.maybe_end(cx)
            }
            AskerMsg::Done => {
                self.done = true;
                self.maybe_end(cx)
            }
        }
    }
}

#[test]
fn an_ask_across_loops_gets_its_reply_its_timeout_or_its_dropped_handle() {
    let mut rt = runtime(2);
    let answers = Answers::default();
    let server = rt.spawn_on(1, Doubler(answers.clone())).unwrap();
    // The late one (last: the doubler is done after it) times out at once
    // (0 ms); the others have time.
    let questions = vec![(21, 60_000), (0, 60_000), (4, 60_000), (u64::MAX, 0)];
    let asker = rt
        .spawn_on(
            0,
            Asker {
                server,
                questions,
                answers: answers.clone(),
                done: false,
            },
        )
        .unwrap();
    rt.handle()
        .loop_handle(0)
        .unwrap()
        .send(asker, AskerMsg::Go)
        .unwrap();
    rt.run().unwrap();
    let mut got = answers.lock().unwrap().clone();
    got.sort_by_key(|(n, _)| *n);
    // One answer each: the late reply was discarded.
    assert_eq!(
        got,
        [
            (0, jzx::Answer::Dropped),
            (4, jzx::Answer::Reply(8)),
            (21, jzx::Answer::Reply(42)),
            (u64::MAX, jzx::Answer::Timeout),
        ]
    );
}

#[test]
fn an_address_of_a_lone_loop_is_not_taken_for_one_of_the_runtime() {
    // A lone loop made on a runtime loop's thread numbers its actors as a
    // lone loop does; its addresses (here of messages that cannot cross
    // threads) must never be routed to another loop of the runtime.
    struct Local;
    impl Actor for Local {
        type Msg = std::rc::Rc<u32>;
        fn handle(&mut self, _cx: &mut Context<'_, Self>, _: std::rc::Rc<u32>) -> Flow {
            Flow::Stop
        }
    }
    let rt = runtime(2);
    let refused = rt
        .on_loop(1, |lp| {
            let mut lone = jzx::Loop::new().unwrap();
            let a = lone.spawn(Local).unwrap();
            assert_eq!(a.id().loop_index(), 0);
            let e = lp.send(a, std::rc::Rc::new(7)).unwrap_err();
            (e.error, *e.message)
        })
        .unwrap();
    assert_eq!(refused, (jzx::Error::NoSuchActor, 7));
}

#[test]
fn reserved_slots_do_not_count_against_max_actors_and_arrivals_over_it_fail() {
    // Each loop keeps 32 slots reserved for the other's spawns; they are
    // not actors.
    let config = jzx::Config {
        max_actors: 16,
        ..jzx::Config::default()
    };
    let mut rt = Runtime::with_config(RuntimeConfig {
        loops: 2,
        config,
        ..RuntimeConfig::default()
    })
    .unwrap();
    assert!(rt.spawn_on(0, Idle).is_ok());
    // 40 spawns on loop 1 from loop 0: each address comes at once, but
    // loop 1 starts only 16 of them; the others fail on arrival, as their
    // parent hears.
    struct Many(usize, RuntimeHandle);
    impl Actor for Many {
        type Msg = ();
        fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
            let me = cx.id();
            for _ in 0..40 {
                cx.spawn_on_with(1, Idle, SpawnOptions::new().parent(me))
                    .unwrap();
            }
            Flow::Continue
        }
        fn on_child_exit(&mut self, _cx: &mut Context<'_, Self>, exit: jzx::ChildExit) -> Flow {
            assert_eq!(exit.reason, StopReason::Fail);
            self.0 += 1;
            if self.0 == 24 {
                self.1.request_stop();
            }
            Flow::Continue
        }
    }
    let m = rt.spawn_on(0, Many(0, rt.handle())).unwrap();
    kick_and_run(&mut rt, m);
    assert_eq!(rt.on_loop(1, |lp| lp.actor_count()).unwrap(), 16);
}

#[test]
fn a_message_of_another_type_sent_before_an_actor_arrives_is_a_dead_letter() {
    let mut rt = runtime(3);
    let got = Arc::new(AtomicUsize::new(0));
    let log_ = Log::default();
    let (g, l) = (got.clone(), log_.clone());
    // Spawned from loop 2 on loop 1; an address of the wrong type is made
    // on loop 0 (which cannot check it) and used there.
    let addr = rt
        .on_loop(2, move |lp| {
            let c = Counter {
                got: g,
                stop_at: 1,
                log: l,
            };
            lp.spawn_on(1, c).unwrap()
        })
        .unwrap();
    let id = addr.id();
    rt.on_loop(0, move |lp| {
        let wrong: Addr<String> = lp.remote_addr(id).unwrap();
        lp.send(wrong, "oops".into()).unwrap();
    })
    .unwrap();
    assert_eq!(
        rt.on_loop(1, move |lp| lp.addr_of::<String>(id)).unwrap(),
        None
    );
    rt.on_loop(2, move |lp| lp.send(addr, 0).unwrap()).unwrap();
    rt.run().unwrap();
    assert_eq!(got.load(SeqCst), 1, "the actor got its own message");
    assert_eq!(rt.on_loop(1, |lp| lp.metrics().dead_letters).unwrap(), 1);
}

#[test]
fn a_runtime_refuses_the_virtual_clock() {
    let e = Runtime::with_config(RuntimeConfig {
        loops: 2,
        config: jzx::Config::simulated(1),
        ..RuntimeConfig::default()
    })
    .unwrap_err();
    assert_eq!(e, jzx::Error::InvalidArg);
}

#[test]
fn one_for_all_restarts_a_named_child_on_another_loop() {
    // Its name is free for the next incarnation as soon as the old one is
    // being stopped on its loop.
    one_for_all_across_loops(true);
}

#[test]
fn runs_end_exactly_when_work_from_another_loop_is_done_under_a_stream_of_wakeups() {
    // Loop 1 is idle but kept turning by dead letters from a thread; loop 0
    // spawns a short actor on it now and then. Every run must end, with no
    // actor left (a loop taking work while marked idle once made runs hang
    // or end early).
    struct Quick;
    impl Actor for Quick {
        type Msg = ();
        fn on_start(&mut self, cx: &mut Context<'_, Self>) {
            let me = cx.addr();
            cx.send(me, ()).unwrap();
        }
        fn handle(&mut self, _cx: &mut Context<'_, Self>, _: ()) -> Flow {
            Flow::Stop
        }
    }
    struct Spawner(u32);
    impl Actor for Spawner {
        type Msg = ();
        fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
            if self.0 > 0 {
                self.0 -= 1;
                let me = cx.addr();
                cx.send(me, ()).unwrap();
                return Flow::Continue;
            }
            cx.spawn_on(1, Quick).unwrap();
            Flow::Stop
        }
    }
    let mut rt = runtime(2);
    let dead = rt.spawn_on(1, Idle).unwrap();
    rt.on_loop(1, move |lp| lp.stop_actor(dead.id()).unwrap())
        .unwrap();
    rt.run().unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (h1, s) = (rt.handle().loop_handle(1).unwrap().clone(), stop.clone());
    let hammer = std::thread::spawn(move || {
        while !s.load(SeqCst) {
            let _ = h1.send(dead, ());
            std::thread::yield_now();
        }
    });
    for trial in 0..400 {
        let sp = rt.spawn_on(0, Spawner(trial % 7)).unwrap();
        kick_and_run(&mut rt, sp);
        let left: Vec<usize> = (0..2)
            .map(|i| rt.on_loop(i, |lp| lp.actor_count()).unwrap())
            .collect();
        assert_eq!(left, [0, 0], "trial {trial}");
    }
    stop.store(true, SeqCst);
    hammer.join().unwrap();
}

/// Reports its supervisor's end (as its parent) and what its monitor of the
/// supervisor brings, in one log with the children's stops.
struct Top {
    children: fn(&Log) -> Vec<jzx::ChildSpec>,
    log: Log,
    sup: Option<ActorId>,
}

impl Actor for Top {
    type Msg = ();
    fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
        match self.sup {
            None => {
                let me = cx.id();
                let spec = jzx::SupervisorSpec::new(jzx::Strategy::OneForOne);
                let sup = cx
                    .spawn_supervisor_with(
                        spec,
                        (self.children)(&self.log),
                        SpawnOptions::new().parent(me),
                    )
                    .unwrap()
                    .id();
                cx.monitor(sup);
                self.sup = Some(sup);
                // Once every child has started (they are on other loops).
                let addr = cx.addr();
                cx.send_after(addr, std::time::Duration::from_millis(20), ())
                    .unwrap();
            }
            Some(sup) => cx.stop_actor(sup).unwrap(),
        }
        Flow::Continue
    }
    fn on_child_exit(&mut self, _cx: &mut Context<'_, Self>, exit: jzx::ChildExit) -> Flow {
        log(&self.log, format!("supervisor exit {:?}", exit.reason));
        Flow::Stop
    }
    fn on_down(&mut self, _cx: &mut Context<'_, Self>, down: Down) -> Flow {
        log(&self.log, format!("supervisor down {:?}", down.reason));
        Flow::Continue
    }
}

/// Starts a supervisor with `children` under a [`Top`] on loop 0, stops it,
/// and returns the stops and reports in the order they happened.
fn stop_supervisor(loops: usize, children: fn(&Log) -> Vec<jzx::ChildSpec>) -> Vec<String> {
    let mut rt = runtime(loops);
    let log_ = Log::default();
    let top = rt
        .spawn_on(
            0,
            Top {
                children,
                log: log_.clone(),
                sup: None,
            },
        )
        .unwrap();
    kick_and_run(&mut rt, top);
    let alive: Vec<usize> = (0..loops)
        .map(|i| rt.on_loop(i, |lp| lp.actor_count()).unwrap())
        .collect();
    assert_eq!(alive, vec![0; loops]);
    let out = log_
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("stop") || l.contains("supervisor"))
        .cloned()
        .collect();
    out
}

#[test]
fn a_supervisors_end_is_reported_only_after_its_children_on_other_loops_have_ended() {
    let log = stop_supervisor(3, |log| {
        vec![
            child_spec(0, "a", true, log),
            child_spec(1, "b", true, log),
            child_spec(2, "c", true, log),
        ]
    });
    assert_eq!(
        log,
        [
            "c stop Normal",
            "b stop Normal",
            "a stop Normal",
            "supervisor down Exited(Normal)",
            "supervisor exit Normal"
        ]
    );
}

#[test]
fn a_nested_supervisor_with_children_on_other_loops_ends_before_its_elder_siblings() {
    // The outer supervisor's children: `a` (loop 0), then a supervisor (loop
    // 0) of `b` (loop 1). Stopping the outer one stops the inner one first,
    // and `a` only once `b` has ended on its loop.
    let log = stop_supervisor(2, |log| {
        let log = log.clone();
        vec![
            child_spec(0, "a", true, &log),
            jzx::ChildSpec::supervisor(move || {
                (
                    jzx::SupervisorSpec::new(jzx::Strategy::OneForOne),
                    vec![child_spec(1, "b", true, &log)],
                )
            }),
        ]
    });
    assert_eq!(
        log,
        [
            "b stop Normal",
            "a stop Normal",
            "supervisor down Exited(Normal)",
            "supervisor exit Normal"
        ]
    );
}

/// A child for [`a_restart_decided_while_stops_are_in_flight_waits_for_them`]:
/// its first incarnation fails after `fail_after` (if any) and, when
/// `slow_stop`, takes 150 ms in its `on_stop` (holding its loop); later
/// incarnations stop at once.
struct Kid {
    tag: &'static str,
    n: usize,
    fail_after: Option<u64>,
    slow_stop: bool,
    log: Log,
}

impl Actor for Kid {
    type Msg = &'static str;
    fn on_start(&mut self, cx: &mut Context<'_, Self>) {
        log(&self.log, format!("{} start {}", self.tag, self.n));
        let me = cx.addr();
        match (self.n, self.fail_after) {
            (0, Some(ms)) => {
                cx.send_after(me, std::time::Duration::from_millis(ms), "fail")
                    .unwrap();
            }
            (0, None) => {}
            _ => cx.send(me, "stop").unwrap(),
        }
    }
    fn handle(&mut self, _cx: &mut Context<'_, Self>, m: &'static str) -> Flow {
        fail_or_stop(m)
    }
    fn on_stop(&mut self, _cx: &mut Context<'_, Self>, reason: StopReason) {
        if self.n == 0 && self.slow_stop {
            std::thread::sleep(std::time::Duration::from_millis(150));
        }
        log(
            &self.log,
            format!("{} stop {} {reason:?}", self.tag, self.n),
        );
    }
}

fn kid(
    on: usize,
    tag: &'static str,
    fail_after: Option<u64>,
    slow: bool,
    log: &Log,
) -> jzx::ChildSpec {
    let starts = Arc::new(AtomicUsize::new(0));
    let log = log.clone();
    jzx::ChildSpec::on_loop(on, move || Kid {
        tag,
        n: starts.fetch_add(1, SeqCst),
        fail_after,
        slow_stop: slow,
        log: log.clone(),
    })
    .mode(jzx::RestartMode::Transient)
}

/// Runs a rest-for-one supervisor (intensity 5 a minute, shutting down
/// when its children have) of the `children` it gets on loop 0 of a runtime
/// of three loops; returns the runtime, ended, and its children's log.
fn rest_for_one_on_three_loops(
    children: impl FnOnce(&Log) -> Vec<jzx::ChildSpec> + Send + 'static,
) -> (Runtime, Vec<String>) {
    let mut rt = runtime(3);
    let log_ = Log::default();
    let l = log_.clone();
    rt.on_loop(0, move |lp| {
        let spec = jzx::SupervisorSpec::new(jzx::Strategy::RestForOne)
            .intensity(5, std::time::Duration::from_secs(60))
            .auto_shutdown(true);
        lp.spawn_supervisor(spec, children(&l)).map(|s| s.id())
    })
    .unwrap()
    .unwrap();
    rt.run().unwrap();
    let log = log_.lock().unwrap().clone();
    (rt, log)
}

/// Where `line` is in `log` (a test failure if it is not).
fn position_of(log: &[String], line: &str) -> usize {
    log.iter()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("{line:?} in {log:?}"))
}

#[test]
fn a_restart_decided_while_stops_are_in_flight_waits_for_them() {
    // Rest-for-one over a (loop 0), b (loop 0), c (loop 2, named) and d
    // (loop 1, slow to stop). b fails at once: d, then c are stopped on
    // their loops. a fails while d is still stopping: its restart, which
    // stops nothing more, must still wait for c and d to end — else c's
    // next incarnation would start beside the old one, and could not take
    // its name.
    let (rt, log) = rest_for_one_on_three_loops(|l| {
        vec![
            kid(0, "a", Some(30), false, l),
            kid(0, "b", Some(0), false, l),
            kid(2, "c", None, false, l).name("c"),
            kid(1, "d", None, true, l),
        ]
    });
    let at = |line: &str| position_of(&log, line);
    assert!(at("a stop 0 Fail") < at("d stop 0 Normal"), "{log:?}");
    for tag in ["c", "d"] {
        assert!(
            at(&format!("{tag} stop 0 Normal")) < at(&format!("{tag} start 1")),
            "one incarnation of {tag} at a time: {log:?}"
        );
    }
    // Each child restarted once, then stopped normally: no escalation.
    for tag in ["a", "b", "c", "d"] {
        assert!(log.contains(&format!("{tag} stop 1 Normal")), "{log:?}");
        assert!(!log.contains(&format!("{tag} start 2")), "{log:?}");
    }
    let alive: Vec<usize> = (0..3)
        .map(|i| rt.on_loop(i, |lp| lp.actor_count()).unwrap())
        .collect();
    assert_eq!(
        alive,
        [0, 0, 0],
        "the supervisor shut down with its children"
    );
}

#[test]
fn a_restart_whose_own_stops_end_first_waits_for_earlier_ones() {
    // Rest-for-one over a (loop 0, fails at 30 ms), b (loop 2), c (loop 0,
    // fails at once) and d (loop 1, slow to stop, named). c fails: d is
    // stopped on loop 1 (150 ms). a fails meanwhile: b is stopped on loop 2,
    // which comes back at once. The restart of a..d must wait for d too.
    let (_rt, log) = rest_for_one_on_three_loops(|l| {
        vec![
            kid(0, "a", Some(30), false, l),
            kid(2, "b", None, false, l),
            kid(0, "c", Some(0), false, l),
            kid(1, "d", None, true, l).name("d"),
        ]
    });
    let at = |line: &str| position_of(&log, line);
    assert!(at("a stop 0 Fail") < at("d stop 0 Normal"), "{log:?}");
    assert!(at("b stop 0 Normal") < at("d stop 0 Normal"), "{log:?}");
    for tag in ["a", "b", "c", "d"] {
        assert!(
            at("d stop 0 Normal") < at(&format!("{tag} start 1")),
            "restart of {tag} waited for d: {log:?}"
        );
    }
    assert!(!log.contains(&"d start 2".to_string()), "{log:?}");
}
