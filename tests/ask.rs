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
