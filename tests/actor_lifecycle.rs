//! Spawn, delivery, ids, mailboxes, stop/fail, panics and the observer.
mod util;

use jzx::{Actor, ActorId, Context, Error, Flow, SpawnOptions, StopReason};
use std::time::Duration;
use util::{backends, new_loop, run_within, Log, Recorder};

const LIMIT: Duration = Duration::from_secs(10);

/// Records what it receives; stops on `None`.
struct Collector(Log<u32>);

impl Actor for Collector {
    type Msg = Option<u32>;
    fn handle(&mut self, _cx: &mut Context<'_, Self>, msg: Option<u32>) -> Flow {
        match msg {
            Some(n) => {
                self.0.push(n);
                Flow::Continue
            }
            None => Flow::Stop,
        }
    }
}

/// Ends the way it is told to.
struct Ender;

#[derive(Clone, Copy)]
enum End {
    Stop,
    Fail,
    Panic,
}

impl Actor for Ender {
    type Msg = End;
    fn handle(&mut self, _cx: &mut Context<'_, Self>, msg: End) -> Flow {
        match msg {
            End::Stop => Flow::Stop,
            End::Fail => Flow::Fail,
            End::Panic => panic!("ender was told to panic"),
        }
    }
}

#[test]
fn message_is_delivered_and_run_returns_when_the_actor_stops() {
    // R2, R7
    for backend in backends() {
        let mut lp = new_loop(backend);
        let log = Log::default();
        let a = lp.spawn(Collector(log.clone())).unwrap();
        assert!(
            log.get().is_empty(),
            "{backend}: spawning must not run the actor"
        );
        lp.send(a, Some(7)).unwrap();
        lp.send(a, Some(8)).unwrap();
        lp.send(a, None).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(log.get(), vec![7, 8], "{backend}");
        assert_eq!(lp.actor_count(), 0, "{backend}");
    }
}

#[test]
fn first_actor_gets_slot_zero_generation_one() {
    // R6
    for backend in backends() {
        let mut lp = new_loop(backend);
        let a = lp.spawn(Ender).unwrap();
        assert_eq!((a.id().slot(), a.id().generation()), (0, 1), "{backend}");
        let b = lp.spawn(Ender).unwrap();
        assert_eq!((b.id().slot(), b.id().generation()), (1, 1), "{backend}");
        lp.send(a, End::Stop).unwrap();
        lp.send(b, End::Stop).unwrap();
        run_within(&mut lp, LIMIT);
    }
}

#[test]
fn stale_id_is_rejected_after_slot_reuse() {
    // R6
    for backend in backends() {
        let mut lp = new_loop(backend);
        let old = lp.spawn(Ender).unwrap();
        lp.send(old, End::Stop).unwrap();
        run_within(&mut lp, LIMIT);
        let log = Log::default();
        let new = lp.spawn(Collector(log.clone())).unwrap();
        assert_eq!(new.id().slot(), old.id().slot(), "{backend}: slot reused");
        assert_eq!(
            new.id().generation(),
            old.id().generation() + 1,
            "{backend}"
        );
        let err = lp.send(old, End::Fail).unwrap_err();
        assert_eq!(err.error, Error::NoSuchActor, "{backend}");
        assert!(matches!(err.message, End::Fail));
        assert_eq!(
            lp.stop_actor(old.id()),
            Err(Error::NoSuchActor),
            "{backend}"
        );
        lp.send(new, None).unwrap();
        run_within(&mut lp, LIMIT);
        assert!(
            log.get().is_empty(),
            "{backend}: the stale send reached the new actor"
        );
    }
}

#[test]
fn most_recently_freed_slot_is_reused_first() {
    // R6
    for backend in backends() {
        let mut lp = new_loop(backend);
        let ids: Vec<_> = (0..3).map(|_| lp.spawn(Ender).unwrap()).collect();
        lp.send(ids[0], End::Stop).unwrap();
        lp.send(ids[1], End::Stop).unwrap();
        // ids[2] stays alive: end the run from another thread.
        util::run_until_blocked(&mut lp, LIMIT);
        // Slot 0 was freed first, slot 1 later: slot 1 comes back first.
        let next = lp.spawn(Ender).unwrap();
        assert_eq!(next.id().slot(), 1, "{backend}");
        let next2 = lp.spawn(Ender).unwrap();
        assert_eq!(next2.id().slot(), 0, "{backend}");
        for a in [ids[2], next, next2] {
            lp.send(a, End::Stop).unwrap();
        }
        run_within(&mut lp, LIMIT);
    }
}

#[test]
fn run_works_twice_on_one_loop() {
    // R2
    for backend in backends() {
        let mut lp = new_loop(backend);
        let log = Log::default();
        for round in 0..2 {
            let a = lp.spawn(Collector(log.clone())).unwrap();
            lp.send(a, Some(round)).unwrap();
            lp.send(a, None).unwrap();
            run_within(&mut lp, LIMIT);
        }
        assert_eq!(log.get(), vec![0, 1], "{backend}");
    }
}

#[test]
fn full_mailbox_hands_message_back_and_observer_counts_it() {
    // R8, R18
    for backend in backends() {
        let mut lp = new_loop(backend);
        let rec = Recorder::default();
        lp.set_observer(rec.clone());
        let log = Log::default();
        let a = lp
            .spawn_with(Collector(log.clone()), SpawnOptions::new().mailbox_cap(1))
            .unwrap();
        lp.send(a, Some(1)).unwrap();
        let err = lp.send(a, Some(2)).unwrap_err();
        assert_eq!(err.error, Error::MailboxFull, "{backend}");
        assert_eq!(err.into_message(), Some(2), "{backend}");
        let err = lp.try_send(a, Some(3)).unwrap_err();
        assert_eq!(err.message, Some(3));
        assert_eq!(rec.seen().mailbox_full, vec![a.id(), a.id()], "{backend}");
        util::run_until_blocked(&mut lp, LIMIT);
        assert_eq!(log.get(), vec![1], "{backend}");
        lp.send(a, None).unwrap();
        run_within(&mut lp, LIMIT);
    }
}

/// Sends itself the next number until it reaches its goal; records every
/// number and every refused self-send.
struct SelfSender {
    goal: u32,
    seen: Log<u32>,
    refused: Log<u32>,
}

impl Actor for SelfSender {
    type Msg = u32;
    fn handle(&mut self, cx: &mut Context<'_, Self>, n: u32) -> Flow {
        self.seen.push(n);
        if n == self.goal {
            return Flow::Stop;
        }
        let me = cx.addr();
        match cx.send(me, n + 1) {
            Ok(()) => Flow::Continue,
            Err(e) => {
                self.refused.push(e.into_message());
                Flow::Stop
            }
        }
    }
}

#[test]
fn self_sends_count_only_the_messages_still_queued() {
    // R8: a mailbox of capacity 2 holding one message (or none) has room,
    // however many messages the actor already handled in the same turn.
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (seen, refused) = (Log::default(), Log::default());
        let a = lp
            .spawn_with(
                SelfSender {
                    goal: 200,
                    seen: seen.clone(),
                    refused: refused.clone(),
                },
                SpawnOptions::new().mailbox_cap(2),
            )
            .unwrap();
        lp.send(a, 1).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(refused.get(), Vec::<u32>::new(), "{backend}");
        assert_eq!(seen.get(), (1..=200).collect::<Vec<_>>(), "{backend}");
    }
}

#[test]
fn observer_sees_starts_and_stops_with_their_reasons() {
    // R11, R18
    for backend in backends() {
        let mut lp = new_loop(backend);
        let rec = Recorder::default();
        lp.set_observer(rec.clone());
        let a = lp.spawn_with(Ender, SpawnOptions::new().name("a")).unwrap();
        let b = lp.spawn(Ender).unwrap();
        let c = lp.spawn(Ender).unwrap();
        lp.send(a, End::Stop).unwrap();
        lp.send(b, End::Fail).unwrap();
        lp.send(c, End::Panic).unwrap();
        run_within(&mut lp, LIMIT);
        let seen = rec.seen();
        assert_eq!(
            seen.started,
            vec![
                (a.id(), Some("a".to_string())),
                (b.id(), None),
                (c.id(), None)
            ],
            "{backend}"
        );
        assert_eq!(
            seen.stopped,
            vec![
                (a.id(), StopReason::Normal),
                (b.id(), StopReason::Fail),
                (c.id(), StopReason::Panic)
            ],
            "{backend}"
        );
    }
}

/// Counts messages; panics on 0.
struct Fragile(Log<u32>);

impl Actor for Fragile {
    type Msg = u32;
    fn handle(&mut self, _cx: &mut Context<'_, Self>, n: u32) -> Flow {
        if n == 0 {
            panic!("fragile got zero");
        }
        self.0.push(n);
        if n == 99 {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

#[test]
fn panic_is_reported_as_panic_and_other_actors_keep_running() {
    // R11
    for backend in backends() {
        let mut lp = new_loop(backend);
        let rec = Recorder::default();
        lp.set_observer(rec.clone());
        let log = Log::default();
        let weak = lp.spawn(Fragile(Log::default())).unwrap();
        let strong = lp.spawn(Fragile(log.clone())).unwrap();
        lp.send(weak, 0).unwrap();
        lp.send(weak, 5).unwrap();
        lp.send(strong, 1).unwrap();
        lp.send(strong, 2).unwrap();
        lp.send(strong, 99).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(log.get(), vec![1, 2, 99], "{backend}");
        let stopped = rec.seen().stopped;
        assert!(
            stopped.contains(&(weak.id(), StopReason::Panic)),
            "{backend}: {stopped:?}"
        );
        assert!(
            stopped.contains(&(strong.id(), StopReason::Normal)),
            "{backend}"
        );
        assert!(!lp.is_alive(weak.id()), "{backend}");
    }
}

/// Stops itself or another actor by id.
struct Stopper;

impl Actor for Stopper {
    type Msg = (ActorId, bool);
    fn handle(&mut self, cx: &mut Context<'_, Self>, (target, fail): (ActorId, bool)) -> Flow {
        let r = if fail {
            cx.fail_actor(target)
        } else {
            cx.stop_actor(target)
        };
        assert_eq!(r, Ok(()));
        Flow::Continue
    }
}

#[test]
fn stop_by_id_skips_the_rest_of_the_mailbox() {
    // R12
    for backend in backends() {
        let mut lp = new_loop(backend);
        let rec = Recorder::default();
        lp.set_observer(rec.clone());
        let log = Log::default();
        let victim = lp.spawn(Collector(log.clone())).unwrap();
        lp.send(victim, Some(1)).unwrap();
        lp.send(victim, Some(2)).unwrap();
        lp.fail_actor(victim.id()).unwrap();
        run_within(&mut lp, LIMIT);
        assert!(
            log.get().is_empty(),
            "{backend}: handled {:?} after fail",
            log.get()
        );
        assert_eq!(
            rec.seen().stopped,
            vec![(victim.id(), StopReason::Fail)],
            "{backend}"
        );
    }
}

#[test]
fn stop_of_itself_takes_effect_when_the_behavior_returns() {
    // R12, R1
    for backend in backends() {
        let mut lp = new_loop(backend);
        let rec = Recorder::default();
        lp.set_observer(rec.clone());
        let s = lp.spawn(Stopper).unwrap();
        lp.send(s, (s.id(), false)).unwrap();
        lp.send(s, (s.id(), true)).unwrap(); // never handled
        run_within(&mut lp, LIMIT);
        assert_eq!(
            rec.seen().stopped,
            vec![(s.id(), StopReason::Normal)],
            "{backend}"
        );
    }
}

#[test]
fn parent_hears_of_its_childs_exit() {
    // R13
    struct Parent(Log<(ActorId, StopReason)>);
    impl Actor for Parent {
        type Msg = End;
        fn handle(&mut self, cx: &mut Context<'_, Self>, end: End) -> Flow {
            let me = cx.id();
            let child = cx
                .spawn_with(Ender, SpawnOptions::new().parent(me))
                .unwrap();
            cx.send(child, end).unwrap();
            Flow::Continue
        }
        fn on_child_exit(&mut self, _cx: &mut Context<'_, Self>, exit: jzx::ChildExit) -> Flow {
            self.0.push((exit.child, exit.reason));
            if self.0.len() == 3 {
                Flow::Stop
            } else {
                Flow::Continue
            }
        }
    }
    for backend in backends() {
        let mut lp = new_loop(backend);
        let log = Log::default();
        let p = lp.spawn(Parent(log.clone())).unwrap();
        for end in [End::Stop, End::Fail, End::Panic] {
            lp.send(p, end).unwrap();
        }
        run_within(&mut lp, LIMIT);
        let reasons: Vec<_> = log.get().into_iter().map(|(_, r)| r).collect();
        assert_eq!(
            reasons,
            vec![StopReason::Normal, StopReason::Fail, StopReason::Panic],
            "{backend}"
        );
    }
}

#[test]
fn dropped_messages_run_their_destructors() {
    // R10: pending messages die with their receiver, never leak.
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    struct Sink;
    impl Actor for Sink {
        type Msg = Counted;
        fn handle(&mut self, _cx: &mut Context<'_, Self>, _m: Counted) -> Flow {
            Flow::Stop
        }
    }
    for backend in backends() {
        let mut lp = new_loop(backend);
        let drops = Arc::new(AtomicUsize::new(0));
        let a = lp.spawn(Sink).unwrap();
        for _ in 0..10 {
            lp.send(a, Counted(drops.clone())).unwrap();
        }
        run_within(&mut lp, LIMIT);
        assert_eq!(drops.load(Ordering::SeqCst), 10, "{backend}");
        // Dropping a loop drops what is still queued.
        let mut lp = new_loop(backend);
        let b = lp.spawn(Sink).unwrap();
        lp.send(b, Counted(drops.clone())).unwrap();
        drop(lp);
        assert_eq!(drops.load(Ordering::SeqCst), 11, "{backend}");
    }
}

#[test]
fn names_are_unique_looked_up_and_removed_on_death() {
    // R18
    for backend in backends() {
        let mut lp = new_loop(backend);
        let a = lp
            .spawn_with(Ender, SpawnOptions::new().name("svc"))
            .unwrap();
        assert_eq!(lp.lookup("svc"), Some(a.id()), "{backend}");
        assert_eq!(lp.name_of(a.id()), Some("svc"));
        assert_eq!(
            lp.spawn_with(Ender, SpawnOptions::new().name("svc"))
                .unwrap_err(),
            Error::InvalidArg
        );
        let b = lp.spawn(Ender).unwrap();
        assert_eq!(lp.register_name("svc", b.id()), Err(Error::InvalidArg));
        lp.register_name("other", b.id()).unwrap();
        assert_eq!(lp.addr_of::<End>(b.id()), Some(b));
        assert_eq!(
            lp.addr_of::<u8>(b.id()),
            None,
            "{backend}: wrong message type"
        );
        lp.send(a, End::Stop).unwrap();
        lp.send(b, End::Stop).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(lp.lookup("svc"), None, "{backend}");
        assert_eq!(lp.lookup("other"), None, "{backend}");
    }
}

#[test]
fn max_actors_bounds_the_table() {
    // R7, R19
    for backend in backends() {
        let mut lp = util::config_loop(jzx::Config {
            backend,
            max_actors: 3,
            ..jzx::Config::default()
        });
        let ids: Vec<_> = (0..3).map(|_| lp.spawn(Ender).unwrap()).collect();
        assert_eq!(lp.spawn(Ender).unwrap_err(), Error::MaxActors, "{backend}");
        lp.send(ids[0], End::Stop).unwrap();
        lp.request_stop();
        lp.run().unwrap();
        // The stop request is used before the first turn: nothing ran.
        assert_eq!(lp.actor_count(), 3);
        util::run_until_blocked(&mut lp, LIMIT);
        assert_eq!(lp.actor_count(), 2, "{backend}");
        assert!(
            lp.spawn(Ender).is_ok(),
            "{backend}: a freed slot is usable again"
        );
    }
}

#[test]
fn pending_messages_with_panicking_destructors_are_each_dropped() {
    // R10, R13: the pending messages of an actor that stops, and of actors
    // still alive when the loop is dropped, are dropped one by one: two
    // destructors that panic (even while a panic unwinds, which would abort
    // the process) neither abort it nor leave run.
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use util::AlwaysBomb;
    struct StopsOnNone;
    impl Actor for StopsOnNone {
        type Msg = Option<AlwaysBomb>;
        fn handle(&mut self, _cx: &mut Context<'_, Self>, m: Option<AlwaysBomb>) -> Flow {
            assert!(m.is_none());
            Flow::Stop
        }
    }
    for backend in backends() {
        let mut lp = new_loop(backend);
        let drops = Arc::new(AtomicUsize::new(0));
        let a = lp.spawn(StopsOnNone).unwrap();
        lp.send(a, None).unwrap();
        for _ in 0..2 {
            lp.send(a, Some(AlwaysBomb(drops.clone()))).unwrap();
        }
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lp.run()));
        assert!(matches!(run, Ok(Ok(()))), "{backend}: a panic left run");
        assert_eq!(drops.load(Ordering::SeqCst), 2, "{backend}");
        let b = lp.spawn(StopsOnNone).unwrap();
        for _ in 0..2 {
            lp.send(b, Some(AlwaysBomb(drops.clone()))).unwrap();
        }
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(lp)));
        assert!(dropped.is_ok(), "{backend}: a panic left the loop's drop");
        assert_eq!(drops.load(Ordering::SeqCst), 4, "{backend}");
    }
}
