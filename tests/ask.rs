//! Request/reply (R31): exactly one answer per ask — the reply, a timeout,
//! or no-such-actor/dropped — a late reply discarded, and the blocking ask
//! from a thread. Loop-side tests on the virtual clock, every backend.
mod util;

use jzx::{
    Actor, Addr, Answer, BackendKind, ClockKind, Config, Context, Error, Flow, Loop, ReplyTo,
    SpawnOptions,
};
use std::time::Duration;
use util::{backends, config_loop, Log};

fn virtual_loop(backend: BackendKind) -> Loop {
    config_loop(Config {
        backend,
        clock: ClockKind::Virtual,
        ..Config::default()
    })
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// How the server treats a request.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// Replies at once with twice the number.
    Double,
    /// Replies after the given delay (virtual).
    Late(u64),
    /// Drops the handle.
    Drop,
    /// Stops, its mailbox (this request's followers) dropped.
    Die,
}

enum ServerMsg {
    Req(u32, Mode, ReplyTo<u32>),
    Later(u32, ReplyTo<u32>),
}

/// Answers requests; logs whether each late reply was taken.
struct Server {
    late_taken: Log<bool>,
}

impl Actor for Server {
    type Msg = ServerMsg;
    fn handle(&mut self, cx: &mut Context<'_, Self>, msg: ServerMsg) -> Flow {
        match msg {
            ServerMsg::Req(n, Mode::Double, reply) => {
                assert!(reply.reply(cx, 2 * n));
            }
            ServerMsg::Req(n, Mode::Late(delay), reply) => {
                let me = cx.addr();
                cx.send_after(me, ms(delay), ServerMsg::Later(n, reply))
                    .map_err(|e| e.error)
                    .unwrap();
            }
            ServerMsg::Req(_, Mode::Drop, reply) => drop(reply),
            ServerMsg::Req(_, Mode::Die, _reply) => return Flow::Stop,
            ServerMsg::Later(n, reply) => self.late_taken.push(reply.reply(cx, n)),
        }
        Flow::Continue
    }
}

enum ClientMsg {
    Go(Vec<(u32, Mode)>),
    Got(u32, Answer<u32>, Duration),
}

/// Asks the server for each `(n, mode)`; logs each answer with its time.
struct Client {
    server: Addr<ServerMsg>,
    timeout: Duration,
    answers: Log<(u32, Answer<u32>, Duration)>,
    expect: usize,
}

impl Actor for Client {
    type Msg = ClientMsg;
    fn handle(&mut self, cx: &mut Context<'_, Self>, msg: ClientMsg) -> Flow {
        match msg {
            ClientMsg::Go(asks) => {
                for (n, mode) in asks {
                    let start = cx.now();
                    cx.ask(
                        self.server,
                        self.timeout,
                        |reply| ServerMsg::Req(n, mode, reply),
                        move |answer| ClientMsg::Got(n, answer, start),
                    )
                    .map_err(|e| e.error)
                    .unwrap();
                }
            }
            ClientMsg::Got(n, answer, start) => {
                self.answers.push((n, answer, cx.now() - start));
                if self.answers.len() == self.expect {
                    return Flow::Stop;
                }
            }
        }
        Flow::Continue
    }
}

struct Setup {
    lp: Loop,
    server: Addr<ServerMsg>,
    client: Addr<ClientMsg>,
    answers: Log<(u32, Answer<u32>, Duration)>,
    late_taken: Log<bool>,
}

fn setup(backend: BackendKind, timeout: u64, expect: usize) -> Setup {
    let mut lp = virtual_loop(backend);
    let late_taken = Log::default();
    let server = lp
        .spawn(Server {
            late_taken: late_taken.clone(),
        })
        .unwrap();
    let answers = Log::default();
    let client = lp
        .spawn(Client {
            server,
            timeout: ms(timeout),
            answers: answers.clone(),
            expect,
        })
        .unwrap();
    Setup {
        lp,
        server,
        client,
        answers,
        late_taken,
    }
}

#[test]
fn each_ask_gets_exactly_one_answer_of_its_kind() {
    for backend in backends() {
        let mut s = setup(backend, 100, 4);
        let asks = vec![
            (1, Mode::Double),
            (2, Mode::Late(30)),
            (3, Mode::Late(250)),
            (4, Mode::Drop),
        ];
        s.lp.send(s.client, ClientMsg::Go(asks)).unwrap();
        // The server outlives the client: stop it once the client is done.
        util::run_for(&mut s.lp, Duration::from_secs(1));
        s.lp.stop_actor(s.server.id()).unwrap();
        s.lp.run().unwrap();
        let mut got = s.answers.get();
        got.sort_by_key(|a| a.0);
        assert_eq!(
            got,
            [
                (1, Answer::Reply(2), ms(0)),
                (2, Answer::Reply(2), ms(30)),
                (3, Answer::Timeout, ms(100)),
                (4, Answer::Dropped, ms(0)),
            ]
        );
        // The late reply (at 250 ms) came after the timeout: discarded.
        assert_eq!(s.late_taken.get(), [true, false]);
        assert_eq!((s.lp.actor_count(), s.lp.timer_count()), (0, 0));
    }
}

#[test]
fn a_receiver_that_is_gone_or_ends_with_the_request_gives_no_such_actor() {
    for backend in backends() {
        let mut s = setup(backend, 100, 3);
        // 5 makes the server stop (its handle dropped by the handler: a
        // drop); 6, queued behind it, is dropped with it; 7 is asked once it
        // is gone.
        s.lp.send(
            s.client,
            ClientMsg::Go(vec![(5, Mode::Die), (6, Mode::Double)]),
        )
        .unwrap();
        util::run_for(&mut s.lp, Duration::from_secs(1));
        s.lp.send(s.client, ClientMsg::Go(vec![(7, Mode::Double)]))
            .unwrap();
        s.lp.run().unwrap();
        let mut got = s.answers.get();
        got.sort_by_key(|a| a.0);
        let kinds: Vec<_> = got.iter().map(|a| (a.0, a.1)).collect();
        assert_eq!(
            kinds,
            [
                (5, Answer::Dropped),
                (6, Answer::NoSuchActor),
                (7, Answer::NoSuchActor)
            ]
        );
        assert_eq!(s.lp.timer_count(), 0);
    }
}

#[test]
fn a_full_mailbox_hands_the_request_back_and_no_answer_comes() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let server = lp
            .spawn_with(
                Server {
                    late_taken: Log::default(),
                },
                SpawnOptions::new().mailbox_cap(1),
            )
            .unwrap();
        let answers: Log<Answer<u32>> = Log::default();
        let a = answers.clone();
        let client = lp.spawn(util_sink(a)).unwrap();
        lp.ask(
            client,
            server,
            ms(50),
            |r| ServerMsg::Req(1, Mode::Double, r),
            |x| x,
        )
        .map_err(|e| e.error)
        .unwrap();
        let refused = lp
            .ask(
                client,
                server,
                ms(50),
                |r| ServerMsg::Req(2, Mode::Double, r),
                |x| x,
            )
            .unwrap_err();
        assert_eq!(refused.error, Error::MailboxFull);
        assert!(matches!(refused.message, ServerMsg::Req(2, ..)));
        drop(refused);
        util::run_for(&mut lp, Duration::from_secs(1));
        assert_eq!(answers.get(), [Answer::Reply(2)]);
        // A dead target: an answer.
        lp.stop_actor(server.id()).unwrap();
        util::run_for(&mut lp, Duration::from_secs(1));
        lp.ask(
            client,
            server,
            ms(50),
            |r| ServerMsg::Req(3, Mode::Double, r),
            |x| x,
        )
        .map_err(|e| e.error)
        .unwrap();
        util::run_for(&mut lp, Duration::from_secs(1));
        assert_eq!(answers.get(), [Answer::Reply(2), Answer::NoSuchActor]);
        // A dead asker cannot ask.
        lp.stop_actor(client.id()).unwrap();
        lp.run().unwrap();
        let dead_asker = lp
            .ask(
                client,
                server,
                ms(50),
                |r| ServerMsg::Req(4, Mode::Double, r),
                |x| x,
            )
            .unwrap_err();
        assert_eq!(dead_asker.error, Error::NoSuchActor);
        assert_eq!(lp.timer_count(), 0);
    }
}

/// Logs every answer it gets; never stops by itself.
fn util_sink(log: Log<Answer<u32>>) -> impl Actor<Msg = Answer<u32>> {
    struct Sink(Log<Answer<u32>>);
    impl Actor for Sink {
        type Msg = Answer<u32>;
        fn handle(&mut self, _cx: &mut Context<'_, Self>, a: Answer<u32>) -> Flow {
            self.0.push(a);
            Flow::Continue
        }
    }
    Sink(log)
}

#[test]
fn an_answer_reaches_a_full_mailbox_and_an_ended_asker_gets_none() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let server = lp
            .spawn(Server {
                late_taken: Log::default(),
            })
            .unwrap();
        let answers = Log::default();
        let client = lp
            .spawn_with(
                util_sink(answers.clone()),
                SpawnOptions::new().mailbox_cap(1),
            )
            .unwrap();
        lp.send(client, Answer::Dropped).unwrap(); // the mailbox is full
        lp.ask(
            client,
            server,
            ms(50),
            |r| ServerMsg::Req(4, Mode::Double, r),
            |x| x,
        )
        .map_err(|e| e.error)
        .unwrap();
        // An asker that ends first: its answer (a late reply) is discarded.
        let late = lp.spawn(util_sink(Log::default())).unwrap();
        lp.ask(
            late,
            server,
            ms(500),
            |r| ServerMsg::Req(5, Mode::Late(20), r),
            |x| x,
        )
        .map_err(|e| e.error)
        .unwrap();
        lp.stop_actor(late.id()).unwrap();
        util::run_for(&mut lp, Duration::from_secs(1));
        assert_eq!(answers.get(), [Answer::Dropped, Answer::Reply(8)]);
        lp.stop_actor(client.id()).unwrap();
        lp.stop_actor(server.id()).unwrap();
        lp.run().unwrap();
        assert_eq!((lp.actor_count(), lp.timer_count()), (0, 0));
    }
}

#[test]
fn a_thread_asks_and_blocks_for_the_answer() {
    for backend in backends() {
        let mut lp = util::new_loop(backend);
        let late_taken = Log::default();
        let server = lp
            .spawn(Server {
                late_taken: late_taken.clone(),
            })
            .unwrap();
        // Keeps the loop running until the asking thread is done.
        let keeper = lp.spawn(util_sink(Log::default())).unwrap();
        let handle = lp.handle();
        let asker = std::thread::spawn(move || {
            let ask = |n, mode, timeout| {
                handle
                    .ask(server, timeout, |r| ServerMsg::Req(n, mode, r))
                    .map_err(|e| e.error)
                    .unwrap()
            };
            let long = Duration::from_secs(20);
            let got = vec![
                ask(1, Mode::Double, long),
                ask(2, Mode::Drop, long),
                ask(3, Mode::Late(300), ms(20)),
                // Answered after 3's late reply, which is then discarded.
                ask(6, Mode::Late(400), long),
                ask(4, Mode::Die, long),
                ask(5, Mode::Double, long),
            ];
            handle.request_stop();
            got
        });
        lp.run().unwrap();
        let got = asker.join().unwrap();
        assert_eq!(
            got,
            [
                Answer::Reply(2),
                Answer::Dropped,
                Answer::Timeout,
                Answer::Reply(6),
                Answer::Dropped,
                Answer::NoSuchActor
            ]
        );
        assert!(lp.is_alive(keeper.id()));
        // The reply to 3 came after its timeout: discarded.
        assert_eq!(late_taken.get(), [false, true]);
    }
}

/// Hands each request's handle to its `forward` callback.
struct Forwarder<F: FnMut(ReplyTo<u32>) + 'static>(F);

impl<F: FnMut(ReplyTo<u32>) + 'static> Actor for Forwarder<F> {
    type Msg = ReplyTo<u32>;
    fn handle(&mut self, _cx: &mut Context<'_, Self>, reply: ReplyTo<u32>) -> Flow {
        (self.0)(reply);
        Flow::Continue
    }
}

#[test]
fn a_reply_on_another_loop_is_a_drop_and_answers_nothing_there() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let mut other = virtual_loop(backend);
        let stash = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let s = stash.clone();
        let server = lp
            .spawn(Forwarder(move |r| s.borrow_mut().push(r)))
            .unwrap();
        let answers = Log::default();
        let client = lp.spawn(util_sink(answers.clone())).unwrap();
        lp.ask(client, server, ms(500), |r| r, |x| x)
            .map_err(|e| e.error)
            .unwrap();
        // The other loop has an ask of the same number waiting.
        let other_server = other
            .spawn(Forwarder(|r: ReplyTo<u32>| std::mem::forget(r)))
            .unwrap();
        let other_answers = Log::default();
        let other_client = other.spawn(util_sink(other_answers.clone())).unwrap();
        other
            .ask(other_client, other_server, ms(500), |r| r, |x| x)
            .map_err(|e| e.error)
            .unwrap();
        util::run_for(&mut lp, ms(100));
        let reply = stash.borrow_mut().pop().unwrap();
        // Replied on the wrong loop: not taken, and the asker hears of a
        // drop.
        assert!(!reply.reply(&mut other, 7));
        util::run_for(&mut lp, ms(100));
        assert_eq!(answers.get(), [Answer::Dropped]);
        util::run_for(&mut other, ms(1000));
        assert_eq!(other_answers.get(), [Answer::Timeout]);
    }
}

#[test]
fn a_handle_dropped_on_another_thread_wakes_the_loop_at_once() {
    for backend in backends() {
        let mut lp = util::new_loop(backend);
        let (to_thread, from_loop) = std::sync::mpsc::channel::<ReplyTo<u32>>();
        let dropper = std::thread::spawn(move || {
            let reply = from_loop.recv().unwrap();
            drop(reply);
        });
        let server = lp
            .spawn(Forwarder(move |r| to_thread.send(r).unwrap()))
            .unwrap();
        let answers = Log::default();
        let client = lp.spawn(util_sink(answers.clone())).unwrap();
        lp.ask(client, server, Duration::from_secs(30), |r| r, |x| x)
            .map_err(|e| e.error)
            .unwrap();
        let started = std::time::Instant::now();
        // Until the answer: a thread stops the run once it is there.
        let handle = lp.handle();
        let watcher = answers.clone();
        let stopper = std::thread::spawn(move || {
            util::wait::wait_for(|| watcher.len() == 1, || "an answer".into());
            handle.request_stop();
        });
        lp.run().unwrap();
        stopper.join().unwrap();
        dropper.join().unwrap();
        assert_eq!(answers.get(), [Answer::Dropped]);
        // Not after the loop's 1-second safety-net wake-up.
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "{:?}",
            started.elapsed()
        );
    }
}

#[test]
fn a_thread_asking_a_dropped_loop_hears_no_such_actor() {
    for backend in backends() {
        let mut lp = util::new_loop(backend);
        let server = lp
            .spawn(Server {
                late_taken: Log::default(),
            })
            .unwrap();
        let handle = lp.handle();
        let (posted, wait_posted) = std::sync::mpsc::channel();
        let asker = std::thread::spawn(move || {
            // The request is queued; the loop is dropped before it runs.
            let waiting = std::thread::spawn({
                let handle = handle.clone();
                move || {
                    handle.ask(server, Duration::from_secs(20), |r| {
                        ServerMsg::Req(1, Mode::Double, r)
                    })
                }
            });
            posted.send(()).unwrap();
            waiting.join().unwrap().map_err(|e| e.error)
        });
        wait_posted.recv().unwrap();
        util::wait::wait_for(
            || lp.cross_thread_pending() == 1,
            || "the request queued".into(),
        );
        drop(lp);
        assert_eq!(asker.join().unwrap(), Ok(Answer::NoSuchActor));
    }
}

/// Keeps every request's handle, answering none, until it stops.
fn util_hoarder() -> Forwarder<impl FnMut(ReplyTo<u32>) + 'static> {
    let mut kept = Vec::new();
    Forwarder(move |r| kept.push(r))
}

/// Logs each answer with its tag and the loop's time; stops once it has
/// `expect`, stopping the actors in `also` with it.
struct Timed {
    log: Log<(u32, Answer<u32>, Duration)>,
    expect: usize,
    also: Vec<jzx::ActorId>,
}

enum TimedMsg {
    Got(u32, Answer<u32>),
    Tick(u32),
}

impl Actor for Timed {
    type Msg = TimedMsg;
    fn handle(&mut self, cx: &mut Context<'_, Self>, msg: TimedMsg) -> Flow {
        let (tag, answer) = match msg {
            TimedMsg::Got(tag, answer) => (tag, answer),
            // A timer's message, logged as a reply of its number.
            TimedMsg::Tick(n) => (n, Answer::Reply(n)),
        };
        self.log.push((tag, answer, cx.now()));
        if self.log.len() < self.expect {
            return Flow::Continue;
        }
        for &id in &self.also {
            let _ = cx.stop_actor(id);
        }
        Flow::Stop
    }
}

// R31 on the virtual clock: each timeout comes exactly when due, whatever
// the mix of durations (more than the loop keeps a FIFO for at a time),
// and equal deadlines come in the order the asks were made.
#[test]
fn timeouts_of_many_durations_each_come_exactly_on_time() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let server = lp.spawn(util_hoarder()).unwrap();
        let log = Log::default();
        // 12 durations, 10..120 ms, asked twice each, longest first.
        let durations: Vec<u64> = (1..=12).rev().map(|k| 10 * k).collect();
        let client = lp
            .spawn(Timed {
                log: log.clone(),
                expect: 2 * durations.len(),
                also: vec![server.id()],
            })
            .unwrap();
        let mut tag = 0;
        for _ in 0..2 {
            for &d in &durations {
                tag += 1;
                let t = tag;
                lp.ask(client, server, ms(d), |r| r, move |a| TimedMsg::Got(t, a))
                    .map_err(|e| e.error)
                    .unwrap();
            }
        }
        assert_eq!(lp.timer_count(), 24, "{backend}: every timeout pending");
        lp.run().unwrap();
        let got = log.get();
        let mut want = Vec::new();
        for (i, &d) in durations.iter().enumerate().rev() {
            let first = i as u32 + 1;
            let second = first + durations.len() as u32;
            want.push((first, Answer::Timeout, ms(d)));
            want.push((second, Answer::Timeout, ms(d)));
        }
        assert_eq!(got, want, "{backend}");
        assert_eq!((lp.actor_count(), lp.timer_count()), (0, 0));
    }
}

// On the virtual clock an ask's timeout keeps its place among the asker's
// timers of the same deadline: the order in which they were set.
#[test]
fn an_ask_timeout_and_timers_of_one_deadline_come_in_the_order_set() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let server = lp.spawn(util_hoarder()).unwrap();
        let log = Log::default();
        let client = lp
            .spawn(Timed {
                log: log.clone(),
                expect: 3,
                also: vec![server.id()],
            })
            .unwrap();
        lp.send_after(client, ms(50), TimedMsg::Tick(1))
            .map_err(|e| e.error)
            .unwrap();
        lp.ask(client, server, ms(50), |r| r, |a| TimedMsg::Got(2, a))
            .map_err(|e| e.error)
            .unwrap();
        lp.send_after(client, ms(50), TimedMsg::Tick(3))
            .map_err(|e| e.error)
            .unwrap();
        lp.run().unwrap();
        assert_eq!(
            log.get(),
            [
                (1, Answer::Reply(1), ms(50)),
                (2, Answer::Timeout, ms(50)),
                (3, Answer::Reply(3), ms(50)),
            ],
            "{backend}"
        );
    }
}

/// Sends itself a message each turn until `stop` is set: a loop that never
/// waits.
struct Busy(std::rc::Rc<std::cell::Cell<bool>>);

impl Actor for Busy {
    type Msg = ();
    fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
        if self.0.get() {
            return Flow::Stop;
        }
        let me = cx.addr();
        cx.send(me, ()).unwrap();
        Flow::Continue
    }
}

/// Logs each answer with its tag and the real time; on the last it stops
/// the server and tells the spinner to stop.
struct RealTimed {
    log: Log<(u32, Answer<u32>, std::time::Instant)>,
    expect: usize,
    server: jzx::ActorId,
    stop: std::rc::Rc<std::cell::Cell<bool>>,
}

impl Actor for RealTimed {
    type Msg = (u32, Answer<u32>);
    fn handle(&mut self, cx: &mut Context<'_, Self>, (tag, a): (u32, Answer<u32>)) -> Flow {
        self.log.push((tag, a, std::time::Instant::now()));
        if self.log.len() < self.expect {
            return Flow::Continue;
        }
        self.stop.set(true);
        cx.stop_actor(self.server).unwrap();
        Flow::Stop
    }
}

// R31 on the monotonic clock: a timeout never comes early, on a loop that
// sleeps between turns and on one that never waits (the loop then reads
// its clock coarsely, and the deadline comes with a later reading).
#[test]
fn ask_timeouts_on_the_monotonic_clock_are_never_early() {
    for backend in backends() {
        for busy in [false, true] {
            let mut lp = util::new_loop(backend);
            let server = lp.spawn(util_hoarder()).unwrap();
            let stop = std::rc::Rc::new(std::cell::Cell::new(false));
            if busy {
                let spinner = lp.spawn(Busy(stop.clone())).unwrap();
                lp.send(spinner, ()).unwrap();
            }
            let durations = [1, 3, 7, 15, 30];
            let log = Log::default();
            let client = lp
                .spawn(RealTimed {
                    log: log.clone(),
                    expect: durations.len(),
                    server: server.id(),
                    stop,
                })
                .unwrap();
            let start = std::time::Instant::now();
            for (i, &d) in durations.iter().enumerate() {
                let t = i as u32;
                lp.ask(client, server, ms(d), |r| r, move |a| (t, a))
                    .map_err(|e| e.error)
                    .unwrap();
            }
            util::run_within(&mut lp, Duration::from_secs(20));
            let answers = log.get();
            assert_eq!(answers.len(), durations.len(), "{backend} busy={busy}");
            for (tag, answer, at) in answers {
                let d = ms(durations[tag as usize]);
                let after = at - start;
                assert_eq!(answer, Answer::Timeout, "{backend} busy={busy}");
                assert!(after >= d, "{backend} busy={busy}: {d:?} after {after:?}");
                assert!(
                    after < d + Duration::from_secs(2),
                    "{backend} busy={busy}: {d:?} only after {after:?}"
                );
            }
            assert_eq!((lp.actor_count(), lp.timer_count()), (0, 0));
        }
    }
}

// An answered ask leaves nothing pending: a loop whose asks all got their
// reply returns from `run` at once, whatever their timeouts.
#[test]
fn answered_asks_leave_no_timeout_behind() {
    for backend in backends() {
        let mut lp = util::new_loop(backend);
        let server = lp
            .spawn(Server {
                late_taken: Log::default(),
            })
            .unwrap();
        let log = Log::default();
        let client = lp
            .spawn(Timed {
                log: log.clone(),
                expect: 10_000,
                also: vec![server.id()],
            })
            .unwrap();
        let hour = Duration::from_secs(3600);
        for n in 0..10_000u32 {
            // A few durations, each answered before it could come.
            let timeout = hour + ms(u64::from(n % 3));
            lp.ask(
                client,
                server,
                timeout,
                |r| ServerMsg::Req(n, Mode::Double, r),
                move |a| TimedMsg::Got(n, a),
            )
            .map_err(|e| e.error)
            .unwrap();
            if n % 100 == 99 {
                // Let the replies through (the server's mailbox is bounded).
                util::run_for(&mut lp, ms(1));
            }
        }
        assert!(lp.timer_count() <= 100, "{backend}: {}", lp.timer_count());
        util::run_within(&mut lp, Duration::from_secs(10));
        assert_eq!(log.len(), 10_000);
        assert!(log.get().iter().all(|a| a.1 == Answer::Reply(2 * a.0)));
        assert_eq!((lp.actor_count(), lp.timer_count()), (0, 0));
    }
}

// An asker that ends takes its pending asks and their timeouts with it
// (in FIFOs or, past the FIFOs, in the timer queue): nothing keeps the
// loop from ending, and virtual time does not move to them.
#[test]
fn an_asker_that_ends_takes_its_timeouts_with_it() {
    for backend in backends() {
        let mut lp = virtual_loop(backend);
        let server = lp.spawn(util_hoarder()).unwrap();
        let asker = lp.spawn(util_sink(Log::default())).unwrap();
        let other = lp
            .spawn(Timed {
                log: Log::default(),
                expect: 1,
                also: vec![server.id()],
            })
            .unwrap();
        for d in 1..=20 {
            lp.ask(asker, server, ms(100 * d), |r| r, |a| a)
                .map_err(|e| e.error)
                .unwrap();
        }
        lp.ask(other, server, ms(50), |r| r, |a| TimedMsg::Got(0, a))
            .map_err(|e| e.error)
            .unwrap();
        assert_eq!(lp.timer_count(), 21);
        lp.stop_actor(asker.id()).unwrap();
        lp.run().unwrap();
        // The other asker's timeout came; the ended one's did not hold the
        // loop until 2 s.
        assert_eq!(lp.now(), ms(50), "{backend}");
        assert_eq!((lp.actor_count(), lp.timer_count()), (0, 0));
    }
}
