//! fd readiness (R16, R17): watch/unwatch, readiness bits, level-triggered
//! delivery without flooding, discarding of queued events, teardown of an
//! owner's watches, errors, and the closed-and-reused fd number trap. Every
//! test runs on every backend of `util::backends()`.

mod util;

use jzx::{Actor, Addr, Config, Context, Error, Flow, Interest, IoEvent, Readiness, SpawnOptions};
use std::cell::Cell;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;
use util::{
    backends, config_loop, new_loop, read_fd, retry_eintr, run_within, write_fd, Log, Recorder,
};

/// How long any one `run` may take before the test fails instead of hanging.
const LIMIT: Duration = Duration::from_secs(10);

/// Readiness bits, as `Readiness::bits` gives them.
const READ: u32 = 0x1;
const WRITE: u32 = 0x2;
const ERROR: u32 = 0x4;
const HANGUP: u32 = 0x8;

/// Asserts that each event is for `fd` and has every bit of `has` and none
/// of `lacks`.
fn assert_bits(events: &[IoEvent], fd: RawFd, has: u32, lacks: u32, what: &str) {
    for (i, ev) in events.iter().enumerate() {
        let bits = ev.readiness.bits();
        assert_eq!(ev.fd, fd, "{what}: event {i}");
        assert!(
            bits & has == has && bits & lacks == 0,
            "{what}: event {i} is {:?}; wanted {:?} and not {:?}",
            ev.readiness,
            Readiness::from_bits(has),
            Readiness::from_bits(lacks)
        );
    }
}

type MsgFn<M> = Box<dyn FnMut(&mut Context<'_, Probe<M>>, M) -> Flow>;
type IoFn<M> = Box<dyn FnMut(&mut Context<'_, Probe<M>>, IoEvent) -> Flow>;

/// An actor whose behaviors are closures: one for its messages, one for
/// readiness.
struct Probe<M: 'static> {
    on_msg: MsgFn<M>,
    on_io: IoFn<M>,
}

impl<M: 'static> Actor for Probe<M> {
    type Msg = M;
    fn handle(&mut self, cx: &mut Context<'_, Self>, msg: M) -> Flow {
        (self.on_msg)(cx, msg)
    }
    fn on_io(&mut self, cx: &mut Context<'_, Self>, event: IoEvent) -> Flow {
        (self.on_io)(cx, event)
    }
}

fn probe<M: 'static>(
    on_msg: impl FnMut(&mut Context<'_, Probe<M>>, M) -> Flow + 'static,
    on_io: impl FnMut(&mut Context<'_, Probe<M>>, IoEvent) -> Flow + 'static,
) -> Probe<M> {
    Probe {
        on_msg: Box::new(on_msg),
        on_io: Box::new(on_io),
    }
}

/// A message that stops the actor; anything else is ignored.
fn stop_on_true(_: &mut Context<'_, Probe<bool>>, stop: bool) -> Flow {
    if stop {
        Flow::Stop
    } else {
        Flow::Continue
    }
}

/// A non-blocking, close-on-exec pipe: (read end, write end).
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: pipe2 succeeded, so both fds are open and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// A non-blocking connected socket pair.
fn socketpair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().expect("socketpair");
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// Whether `fd` is an open descriptor.
fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only queries the descriptor table.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// Whether the peer of `s` is closed (POLLHUP), waiting up to 2 s: the last
/// reference to a socket may be released asynchronously (io_uring teardown).
fn sees_hangup(s: &UnixStream) -> bool {
    let mut pfd = libc::pollfd {
        fd: s.as_raw_fd(),
        events: libc::POLLRDHUP,
        revents: 0,
    };
    let rc = retry_eintr(|| {
        // SAFETY: `pfd` is one valid pollfd for the duration of the call.
        match unsafe { libc::poll(&mut pfd, 1, 2_000) } {
            -1 => Err(std::io::Error::last_os_error()),
            n => Ok(n),
        }
    });
    rc.expect("poll") == 1 && pfd.revents & libc::POLLHUP != 0
}

// R16: a readable pipe reaches its owner as on_io with the fd and the readable bit.
#[test]
fn pipe_readiness_reaches_the_owner_as_readable_on_io() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (r, w) = pipe();
        assert_eq!(write_fd(w.as_raw_fd(), b"x"), 1);
        let events: Log<IoEvent> = Log::default();
        let bytes: Log<Vec<u8>> = Log::default();
        let (ev_log, byte_log) = (events.clone(), bytes.clone());
        let a = lp
            .spawn(probe(stop_on_true, move |cx, ev| {
                ev_log.push(ev);
                let mut buf = [0u8; 16];
                let n = read_fd(ev.fd, &mut buf);
                byte_log.push(buf[..n.max(0) as usize].to_vec());
                cx.unwatch_fd(ev.fd).unwrap();
                Flow::Stop
            }))
            .unwrap();
        lp.watch_fd(r.as_raw_fd(), a.id(), Interest::READ).unwrap();
        assert_eq!(
            lp.watched(r.as_raw_fd()),
            Some((a.id(), Interest::READ)),
            "{backend}"
        );
        assert_eq!(lp.watch_count(), 1, "{backend}");
        run_within(&mut lp, LIMIT);
        let events = events.get();
        assert_eq!(events.len(), 1, "{backend}: one event: {events:?}");
        assert_eq!(events[0].fd, r.as_raw_fd(), "{backend}: the watched fd");
        assert!(
            events[0].readiness.is_readable(),
            "{backend}: {:?}",
            events[0].readiness
        );
        assert!(
            !events[0].readiness.is_writable(),
            "{backend}: {:?}",
            events[0].readiness
        );
        assert_eq!(bytes.get(), [b"x".to_vec()], "{backend}");
        assert_eq!(lp.watch_count(), 0, "{backend}");
        assert!(
            is_open(r.as_raw_fd()),
            "{backend}: the runtime never closes the caller's fd"
        );
    }
}

/// Spawns a probe whose readiness behavior is `on_io`, watches `fd` for it
/// with `interest`, and runs the loop until the probe stops.
fn watch_with(
    lp: &mut jzx::Loop,
    fd: RawFd,
    interest: Interest,
    on_io: impl FnMut(&mut Context<'_, Probe<bool>>, IoEvent) -> Flow + 'static,
) {
    let owner = lp.spawn(probe(stop_on_true, on_io)).unwrap();
    lp.watch_fd(fd, owner.id(), interest).unwrap();
    run_within(lp, LIMIT);
}

/// Watches `fd` for `interest` with an actor that records its first `n`
/// events and then stops (its teardown removes the watch); returns them.
fn first_events(lp: &mut jzx::Loop, fd: RawFd, interest: Interest, n: usize) -> Vec<IoEvent> {
    let events: Log<IoEvent> = Log::default();
    let l = events.clone();
    watch_with(lp, fd, interest, move |_cx, ev| {
        l.push(ev);
        if l.len() == n {
            Flow::Stop
        } else {
            Flow::Continue
        }
    });
    assert_eq!(lp.watch_count(), 0, "the owner's stop removed its watch");
    events.get()
}

// R16: a WRITE watch on an empty socket reports writable, and not readable.
#[test]
fn socketpair_write_watch_reports_writable_and_not_readable() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (a, _b) = socketpair();
        let events = first_events(&mut lp, a.as_raw_fd(), Interest::WRITE, 3);
        assert_eq!(events.len(), 3, "{backend}");
        let what = backend.to_string();
        assert_bits(&events, a.as_raw_fd(), WRITE, READ | HANGUP | ERROR, &what);
    }
}

// R16: a READ watch reports readable and never writable, though the socket is writable.
#[test]
fn socketpair_read_watch_reports_readable_and_never_writable() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (a, mut b) = socketpair();
        b.write_all(b"ping").unwrap();
        let events = first_events(&mut lp, a.as_raw_fd(), Interest::READ, 5);
        assert_eq!(events.len(), 5, "{backend}");
        let what = backend.to_string();
        assert_bits(&events, a.as_raw_fd(), READ, WRITE | HANGUP | ERROR, &what);
    }
}

// R16: a READ | WRITE watch reports both directions when both hold.
#[test]
fn socketpair_read_write_watch_reports_both_directions() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (a, mut b) = socketpair();
        b.write_all(b"ping").unwrap();
        let events = first_events(&mut lp, a.as_raw_fd(), Interest::READ | Interest::WRITE, 2);
        assert_eq!(events.len(), 2, "{backend}");
        assert_bits(
            &events,
            a.as_raw_fd(),
            READ | WRITE,
            0,
            &backend.to_string(),
        );
    }
}

// R16: readiness not consumed is reported again after each turn (level-triggered), but
// never more than one event per fd is queued. R4, R9: the message the actor sends itself
// in on_io k waits for its next turn, where the reserved lane (on_io k+1) goes first.
#[test]
fn unconsumed_readiness_repeats_one_event_at_a_time() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (a, mut b) = socketpair();
        b.write_all(b"never read").unwrap();
        let log: Log<String> = Log::default();
        let (l1, l2) = (log.clone(), log.clone());
        let mut ios = 0u32;
        let owner = lp
            .spawn(probe(
                move |_cx, k: u32| {
                    l1.push(format!("mark {k}"));
                    Flow::Continue
                },
                move |cx, _ev| {
                    ios += 1;
                    l2.push(format!("io {ios}"));
                    if ios == 5 {
                        return Flow::Stop;
                    }
                    let me = cx.addr();
                    cx.send(me, ios).unwrap();
                    Flow::Continue
                },
            ))
            .unwrap();
        lp.watch_fd(a.as_raw_fd(), owner.id(), Interest::READ)
            .unwrap();
        run_within(&mut lp, LIMIT);
        let want: Vec<String> = (1..=5)
            .flat_map(|k| {
                let mut v = vec![format!("io {k}")];
                if k > 1 {
                    v.push(format!("mark {}", k - 1));
                }
                v
            })
            .take(8) // the actor stops in on_io 5: mark 4 is never handled
            .collect();
        assert_eq!(log.get(), want, "{backend}");
        assert_eq!(lp.watch_count(), 0, "{backend}");
    }
}

// R9, R16: readiness travels in the reserved lane: it reaches an actor whose mailbox
// (capacity 1) is kept full by a burst of user messages.
#[test]
fn readiness_reaches_an_actor_whose_mailbox_is_full() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let rec = Recorder::default();
        lp.set_observer(rec.clone());
        let (a, mut b) = socketpair();
        b.write_all(b"data").unwrap();
        let ios = Rc::new(Cell::new(0u32));
        let users = Rc::new(Cell::new(0u32));
        let (i, u) = (ios.clone(), users.clone());
        let target = lp
            .spawn_with(
                probe(
                    move |_cx, _: u32| {
                        u.set(u.get() + 1);
                        Flow::Continue
                    },
                    move |_cx, _ev| {
                        i.set(i.get() + 1);
                        if i.get() == 3 {
                            Flow::Stop
                        } else {
                            Flow::Continue
                        }
                    },
                ),
                SpawnOptions::new().mailbox_cap(1),
            )
            .unwrap();
        lp.send(target, 0).unwrap();
        assert_eq!(
            lp.send(target, 1).unwrap_err().error,
            Error::MailboxFull,
            "{backend}"
        );
        // The pump refills the target's mailbox every turn until the target is gone.
        let refused = Rc::new(Cell::new(0u32));
        let r = refused.clone();
        let pump = lp
            .spawn(probe(
                move |cx, (): ()| {
                    loop {
                        match cx.send(target, 2) {
                            Ok(()) => {}
                            Err(e) if e.error == Error::MailboxFull => {
                                r.set(r.get() + 1);
                                break;
                            }
                            Err(_) => return Flow::Stop,
                        }
                    }
                    let me = cx.addr();
                    cx.send(me, ()).unwrap();
                    Flow::Continue
                },
                |_cx, _ev| Flow::Continue,
            ))
            .unwrap();
        lp.send(pump, ()).unwrap();
        lp.watch_fd(a.as_raw_fd(), target.id(), Interest::READ)
            .unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(
            ios.get(),
            3,
            "{backend}: readiness arrived through the full mailbox"
        );
        assert!(refused.get() >= 1, "{backend}: the mailbox was full");
        let full = rec
            .seen()
            .mailbox_full
            .iter()
            .filter(|&&id| id == target.id())
            .count();
        assert!(full >= 2, "{backend}: observer saw {full} refusals");
        assert!(users.get() >= 1, "{backend}");
        assert_eq!(lp.actor_count(), 0, "{backend}: target and pump stopped");
        assert_eq!(lp.watch_count(), 0, "{backend}");
    }
}

// R4, R16: readiness is polled after each turn, and a turn handles at most
// `max_msgs_per_actor` (64) messages of an actor: an actor that keeps sending itself
// messages cannot hold back another actor's readiness for more than a few turns.
#[test]
fn readiness_arrives_within_a_few_turns_while_another_actor_is_busy() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (a, mut b) = socketpair();
        b.write_all(b"x").unwrap();
        let busy_count = Rc::new(Cell::new(0u64));
        let done = Rc::new(Cell::new(false));
        let (c, d) = (busy_count.clone(), done.clone());
        let busy = lp
            .spawn(probe(
                move |cx, (): ()| {
                    if d.get() {
                        return Flow::Stop;
                    }
                    c.set(c.get() + 1);
                    let me = cx.addr();
                    cx.send(me, ()).unwrap();
                    Flow::Continue
                },
                |_cx, _ev| Flow::Continue,
            ))
            .unwrap();
        let seen_at: Log<u64> = Log::default();
        let (c, d, l) = (busy_count.clone(), done.clone(), seen_at.clone());
        lp.send(busy, ()).unwrap();
        watch_with(&mut lp, a.as_raw_fd(), Interest::READ, move |cx, ev| {
            l.push(c.get());
            d.set(true);
            cx.unwatch_fd(ev.fd).unwrap();
            Flow::Stop
        });
        let seen_at = seen_at.get();
        assert_eq!(seen_at.len(), 1, "{backend}");
        // 64 per turn; allow eight turns for the backend to report the fd.
        assert!(
            seen_at[0] <= 8 * 64,
            "{backend}: readiness arrived only after the busy actor handled {} messages",
            seen_at[0]
        );
    }
}

// R4, R9: at a budget of one message per turn, an fd that is always ready
// (level-triggered, never read) does not starve its owner's user messages:
// every turn with both lanes non-empty handles one of each.
#[test]
fn an_always_ready_fd_does_not_starve_user_messages_at_budget_one() {
    for backend in backends() {
        let mut lp = config_loop(Config {
            max_msgs_per_actor: 1,
            backend,
            ..Config::default()
        });
        let (r, w) = pipe();
        assert_eq!(write_fd(w.as_raw_fd(), b"never read"), 10);
        let fd = r.as_raw_fd();
        let order: Log<&str> = Log::default();
        let (o1, o2) = (order.clone(), order.clone());
        let owner = lp
            .spawn(probe(
                move |cx, last: bool| {
                    o1.push("user");
                    if last {
                        cx.unwatch_fd(fd).unwrap();
                        Flow::Stop
                    } else {
                        Flow::Continue
                    }
                },
                move |cx, _ev| {
                    o2.push("io");
                    if o2.len() == 1 {
                        // Queued behind the readiness, which stays ready.
                        let me = cx.addr();
                        for last in [false, false, false, false, true] {
                            cx.send(me, last).unwrap();
                        }
                    }
                    // Starved: give up instead of spinning forever.
                    if o2.len() >= 1_000 {
                        Flow::Fail
                    } else {
                        Flow::Continue
                    }
                },
            ))
            .unwrap();
        lp.watch_fd(fd, owner.id(), Interest::READ).unwrap();
        run_within(&mut lp, LIMIT);
        let order = order.get();
        let users = order.iter().filter(|&&e| e == "user").count();
        assert_eq!(
            users,
            5,
            "{backend}: user messages handled ({} events)",
            order.len()
        );
        // Each turn handles one of each lane, the reserved lane first: no
        // more than two I/O events in a row (at a turn boundary).
        assert!(
            !order.windows(3).any(|p| p == ["io", "io", "io"]),
            "{backend}: {order:?}"
        );
    }
}

// R16, R17: 1,000 watch/unwatch cycles from the Loop leave no watch, and no event
// reaches the actor for the unwatched (readable) fd.
#[test]
fn rapid_watch_unwatch_from_the_loop_leaves_no_watch_and_no_events() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (a, mut b) = socketpair();
        b.write_all(b"readable").unwrap();
        let events: Log<IoEvent> = Log::default();
        let l = events.clone();
        let owner = lp
            .spawn(probe(stop_on_true, move |_cx, ev| {
                l.push(ev);
                Flow::Continue
            }))
            .unwrap();
        for i in 0..1_000 {
            let interest = if i % 2 == 0 {
                Interest::READ
            } else {
                Interest::READ | Interest::WRITE
            };
            lp.watch_fd(a.as_raw_fd(), owner.id(), interest).unwrap();
            assert_eq!(lp.unwatch_fd(a.as_raw_fd()), Ok(()), "{backend}: cycle {i}");
        }
        assert_eq!(lp.watch_count(), 0, "{backend}");
        // Let the loop poll for a while with the fd readable.
        lp.send_after(owner, Duration::from_millis(50), true)
            .unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(events.get(), [], "{backend}: events for an unwatched fd");
        assert_eq!(lp.watch_count(), 0, "{backend}");
        // Nothing of the socket is held after the loop is gone: the peer sees EOF.
        drop(lp);
        drop(a);
        assert!(sees_hangup(&b), "{backend}: a watch kept the socket open");
    }
}

// R16, R17: 1,000 watch/unwatch cycles inside a behavior, spread over turns, deliver
// nothing; a watch made afterwards works.
#[test]
fn rapid_watch_unwatch_inside_a_behavior_then_a_last_watch_works() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (a, mut b) = socketpair();
        b.write_all(b"readable").unwrap();
        let fd = a.as_raw_fd();
        let log: Log<String> = Log::default();
        let (l1, l2) = (log.clone(), log.clone());
        let watching = Rc::new(Cell::new(false));
        let w = watching.clone();
        let owner = lp
            .spawn(probe(
                move |cx, round: u32| {
                    if round < 10 {
                        // 100 cycles per turn, ten turns: polls happen between them.
                        for _ in 0..100 {
                            if let Err(e) = cx.watch(fd, Interest::READ) {
                                l1.push(format!("watch {e:?}"));
                            }
                            if let Err(e) = cx.unwatch_fd(fd) {
                                l1.push(format!("unwatch {e:?}"));
                            }
                        }
                        let me = cx.addr();
                        cx.send(me, round + 1).unwrap();
                    } else if round == 10 {
                        // Let the loop poll a while before the last watch.
                        let me = cx.addr();
                        cx.send_after(me, Duration::from_millis(30), 11).unwrap();
                    } else {
                        l1.push(format!("watches {}", cx.watch_count()));
                        w.set(true);
                        cx.watch(fd, Interest::READ).unwrap();
                    }
                    Flow::Continue
                },
                move |cx, ev| {
                    l2.push(format!("io {} watching {}", ev.fd == fd, watching.get()));
                    cx.unwatch_fd(ev.fd).unwrap();
                    Flow::Stop
                },
            ))
            .unwrap();
        lp.send(owner, 0).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(
            log.get(),
            ["watches 0", "io true watching true"],
            "{backend}"
        );
        assert_eq!(lp.watch_count(), 0, "{backend}");
    }
}

#[derive(Debug)]
enum Cmd {
    /// Act on the watched fd (unwatch it, or drain it in the control run).
    Act(Addr<Cmd>),
    Stop,
}

/// The scenario of `queued_event_is_discarded_on_unwatch`: with one actor per
/// turn, the owner's first on_io asks a helper to act on the fd; the loop
/// polls (queuing the owner's next event) before the helper's turn; the
/// helper acts, then tells the owner to stop. Returns the log.
fn queued_event_scenario(backend: jzx::BackendKind, unwatch: bool) -> Vec<String> {
    let mut lp = config_loop(Config {
        backend,
        max_actors_per_tick: 1,
        ..Config::default()
    });
    let (a, mut b) = socketpair();
    b.write_all(b"readable").unwrap();
    let fd = a.as_raw_fd();
    let log: Log<String> = Log::default();
    let (l1, l2, l3) = (log.clone(), log.clone(), log.clone());
    let helper = lp
        .spawn(probe(
            move |cx, cmd: Cmd| {
                if let Cmd::Act(owner) = cmd {
                    if unwatch {
                        l1.push(format!("helper unwatch {:?}", cx.unwatch_fd(fd)));
                    } else {
                        // Drain the socket: not readable any more, so an event
                        // the owner gets later was queued before this turn.
                        let mut buf = [0u8; 64];
                        while read_fd(fd, &mut buf) > 0 {}
                        l1.push("helper drained".to_owned());
                    }
                    cx.send(owner, Cmd::Stop).unwrap();
                }
                Flow::Stop
            },
            |_cx, _ev| Flow::Continue,
        ))
        .unwrap();
    let mut ios = 0;
    let owner = lp
        .spawn(probe(
            move |cx, cmd: Cmd| {
                l2.push(format!("owner {cmd:?}"));
                if matches!(cmd, Cmd::Stop) {
                    if !unwatch {
                        let _ = cx.unwatch_fd(fd);
                    }
                    return Flow::Stop;
                }
                Flow::Continue
            },
            move |cx, _ev| {
                ios += 1;
                l3.push(format!("owner io {ios}"));
                if ios == 1 {
                    let me = cx.addr();
                    cx.send(helper, Cmd::Act(me)).unwrap();
                }
                Flow::Continue
            },
        ))
        .unwrap();
    lp.watch_fd(fd, owner.id(), Interest::READ).unwrap();
    run_within(&mut lp, LIMIT);
    assert_eq!(lp.watch_count(), 0, "{backend}");
    log.get()
}

// R17: an event queued for the owner when its fd is unwatched is discarded.
#[test]
fn queued_event_is_discarded_on_unwatch() {
    for backend in backends() {
        // Control: the helper only drains the fd; the owner still gets the event
        // queued before the helper's turn — so one is queued at that point.
        assert_eq!(
            queued_event_scenario(backend, false),
            ["owner io 1", "helper drained", "owner io 2", "owner Stop"],
            "{backend}: control run"
        );
        // The same with an unwatch: the queued event never reaches on_io.
        assert_eq!(
            queued_event_scenario(backend, true),
            ["owner io 1", "helper unwatch Ok(())", "owner Stop"],
            "{backend}"
        );
    }
}

// R13, R2: an owner's stop removes its watches (the fds stay open), and run returns.
#[test]
fn owner_stop_removes_its_watches_and_run_returns() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (r, _w) = pipe();
        let (a, _b) = socketpair();
        let owner = lp
            .spawn(probe(stop_on_true, |_cx, _ev| Flow::Continue))
            .unwrap();
        lp.watch_fd(r.as_raw_fd(), owner.id(), Interest::READ)
            .unwrap();
        lp.watch_fd(a.as_raw_fd(), owner.id(), Interest::READ | Interest::WRITE)
            .unwrap();
        assert_eq!(lp.watch_count(), 2, "{backend}");
        // Stop it once it has had readiness (the socket is writable).
        lp.send_after(owner, Duration::from_millis(20), true)
            .unwrap();
        run_within(&mut lp, LIMIT);
        assert!(!lp.is_alive(owner.id()), "{backend}");
        assert_eq!(
            lp.watch_count(),
            0,
            "{backend}: watches of the dead owner remain"
        );
        assert_eq!(lp.watched(r.as_raw_fd()), None, "{backend}");
        assert_eq!(
            lp.unwatch_fd(a.as_raw_fd()),
            Err(Error::IoNotWatched),
            "{backend}"
        );
        assert!(
            is_open(r.as_raw_fd()) && is_open(a.as_raw_fd()),
            "{backend}: fds closed by the runtime"
        );
        // A second run has nothing to do.
        run_within(&mut lp, LIMIT);
    }
}

// R16: a peer that closes its end is reported as hang-up on a socketpair (with
// readable: a read gives EOF).
#[test]
fn peer_close_is_reported_as_hangup_on_a_socketpair() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (a, b) = socketpair();
        drop(b);
        let events: Log<(IoEvent, isize)> = Log::default();
        let l = events.clone();
        watch_with(&mut lp, a.as_raw_fd(), Interest::READ, move |cx, ev| {
            let mut buf = [0u8; 8];
            l.push((ev, read_fd(ev.fd, &mut buf)));
            cx.unwatch_fd(ev.fd).unwrap();
            Flow::Stop
        });
        let events = events.get();
        assert_eq!(events.len(), 1, "{backend}");
        let (ev, n) = events[0];
        assert!(
            ev.readiness.is_hangup(),
            "{backend}: peer close gave {:?}",
            ev.readiness
        );
        assert!(ev.readiness.is_readable(), "{backend}: {:?}", ev.readiness);
        assert!(!ev.readiness.is_writable(), "{backend}: {:?}", ev.readiness);
        assert_eq!(n, 0, "{backend}: a read gives EOF");
    }
}

// R16: a WRITE watch on a socket whose peer closed reports hang-up, and never readable.
#[test]
fn peer_close_is_reported_as_hangup_to_a_write_watch_without_readable() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (a, b) = socketpair();
        drop(b);
        let events = first_events(&mut lp, a.as_raw_fd(), Interest::WRITE, 2);
        assert_eq!(events.len(), 2, "{backend}");
        assert_bits(&events, a.as_raw_fd(), HANGUP, READ, &backend.to_string());
    }
}

// R16: a peer that only shut down its write side is no hang-up: a WRITE watch keeps
// reporting writable without HANGUP (a poll of the fd itself would see RDHUP for the
// half-close; the bridge's set reports exact bits), and once the peer closes, the same
// watch reports HANGUP. Never READ.
#[test]
fn half_closed_peer_is_no_hangup_until_it_closes() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (a, b) = socketpair();
        b.shutdown(std::net::Shutdown::Write).unwrap();
        let events: Log<IoEvent> = Log::default();
        let l = events.clone();
        let mut peer = Some(b);
        watch_with(&mut lp, a.as_raw_fd(), Interest::WRITE, move |_cx, ev| {
            l.push(ev);
            if ev.readiness.is_hangup() || l.len() == 200 {
                return Flow::Stop;
            }
            if l.len() == 5 {
                drop(peer.take()); // the peer closes
            }
            Flow::Continue
        });
        let events = events.get();
        assert!(events.len() > 5, "{backend}: {events:?}");
        let fd = a.as_raw_fd();
        let what = backend.to_string();
        assert_bits(&events[..5], fd, WRITE, READ | HANGUP | ERROR, &what);
        assert_bits(&events[5..], fd, 0, READ, &what);
        let last = &events[events.len() - 1..];
        assert_bits(last, fd, HANGUP, 0, &format!("{backend}, peer closed"));
    }
}

// R16: a WRITE watch on a socket whose send buffer is full hears nothing when the peer
// shuts its write side down (io_uring would complete a poll of the fd itself for that
// half-close, RDHUP being in every mask it polls), and hears WRITE once the peer reads.
#[test]
fn peer_half_close_is_not_writable_while_the_send_buffer_is_full() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::sync::Arc;
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (mut a, b) = socketpair();
        let chunk = [7u8; 4096];
        while retry_eintr(|| a.write(&chunk)).is_ok() {}
        let drained = Arc::new(AtomicBool::new(false));
        let events: Log<(IoEvent, bool)> = Log::default();
        let (l, d) = (events.clone(), drained.clone());
        let owner = lp
            .spawn(probe(stop_on_true, move |_cx, ev| {
                l.push((ev, d.load(SeqCst)));
                Flow::Stop
            }))
            .unwrap();
        lp.watch_fd(a.as_raw_fd(), owner.id(), Interest::WRITE)
            .unwrap();
        b.shutdown(std::net::Shutdown::Write).unwrap();
        let tid = util::current_tid();
        let reader = std::thread::spawn(move || {
            // Once the loop, the watch armed, has found nothing ready and
            // blocks: a WRITE the backend wrongly reports for the half-closed
            // peer would have ended its wait (and the run) instead.
            util::wait_blocked(tid);
            drained.store(true, SeqCst);
            let mut b = b;
            let mut buf = [0u8; 65536];
            // Read all that is buffered: the writer's side has room again.
            let mut total = 0;
            loop {
                match retry_eintr(|| b.read(&mut buf)) {
                    Ok(n) if n > 0 => total += n,
                    _ => break,
                }
            }
            total
        });
        run_within(&mut lp, LIMIT);
        let events = events.get();
        assert_eq!(events.len(), 1, "{backend}: {events:?}");
        let (ev, after_drain) = events[0];
        assert!(
            after_drain,
            "{backend}: {ev:?} before the peer read anything"
        );
        assert_bits(&[ev], a.as_raw_fd(), WRITE, READ, &backend.to_string());
        assert!(
            reader.join().unwrap() > 0,
            "{backend}: nothing was buffered"
        );
    }
}

/// A non-blocking TCP socket whose connection to a closed local port is
/// being refused.
fn refused_connection() -> socket2::Socket {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.set_nonblocking(true).unwrap();
    match s.connect(&addr.into()) {
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        other => panic!("non-blocking connect to a closed port gave {other:?}"),
    }
    s
}

// R16: a socket error (refused connection) is reported with the error bit, to a WRITE
// and to a READ watch, each with only its own direction.
#[test]
fn refused_connection_is_reported_as_error() {
    for backend in backends() {
        for interest in [Interest::WRITE, Interest::READ] {
            let mut lp = new_loop(backend);
            let s = refused_connection();
            let events = first_events(&mut lp, s.as_raw_fd(), interest, 2);
            assert_eq!(events.len(), 2, "{backend} {interest:?}");
            let other = if interest == Interest::WRITE {
                READ
            } else {
                WRITE
            };
            let what = format!("{backend} {interest:?}");
            assert_bits(&events, s.as_raw_fd(), ERROR, other, &what);
            let err = s.take_error().unwrap().expect("so_error");
            assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED), "{backend}");
        }
    }
}

// R16: a pipe whose write end is closed is reported as hang-up to a READ watch.
#[test]
fn closed_pipe_writer_is_reported_as_hangup() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (r, w) = pipe();
        drop(w);
        let events: Log<IoEvent> = Log::default();
        let l = events.clone();
        watch_with(&mut lp, r.as_raw_fd(), Interest::READ, move |_cx, ev| {
            l.push(ev);
            Flow::Stop
        });
        let events = events.get();
        assert_eq!(events.len(), 1, "{backend}");
        assert_bits(&events, r.as_raw_fd(), HANGUP, WRITE, &backend.to_string());
        assert_eq!(lp.watch_count(), 0, "{backend}");
    }
}

// R17: unwatch of an unknown fd is IoNotWatched; fd -1 is InvalidArg; a closed fd
// number is IoRegFailed; a dead owner is NoSuchActor. Nothing is registered.
#[test]
fn watch_and_unwatch_errors() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (a, _b) = socketpair();
        let fd = a.as_raw_fd();
        let owner = lp
            .spawn(probe(stop_on_true, |_cx, _ev| Flow::Continue))
            .unwrap();
        assert_eq!(
            lp.unwatch_fd(fd),
            Err(Error::IoNotWatched),
            "{backend}: never watched"
        );
        lp.watch_fd(fd, owner.id(), Interest::READ).unwrap();
        assert_eq!(lp.unwatch_fd(fd), Ok(()), "{backend}");
        assert_eq!(
            lp.unwatch_fd(fd),
            Err(Error::IoNotWatched),
            "{backend}: unwatched twice"
        );
        assert_eq!(
            lp.watch_fd(-1, owner.id(), Interest::READ),
            Err(Error::InvalidArg),
            "{backend}"
        );
        assert_eq!(lp.unwatch_fd(-1), Err(Error::InvalidArg), "{backend}");
        // A closed fd number: duplicate onto a high number nothing else uses, close it.
        let high = (900..1000)
            .find(|&n| !is_open(n))
            .expect("a free fd number");
        // SAFETY: dup2 onto a free fd number, which this test owns from now on.
        let dup = unsafe { libc::dup2(fd, high) };
        assert_eq!(dup, high, "dup2: {}", std::io::Error::last_os_error());
        // SAFETY: `high` was opened just above and is closed once.
        assert_eq!(unsafe { libc::close(high) }, 0);
        assert!(!is_open(high));
        assert_eq!(
            lp.watch_fd(high, owner.id(), Interest::READ),
            Err(Error::IoRegFailed),
            "{backend}"
        );
        assert_eq!(
            lp.watch_count(),
            0,
            "{backend}: failed watches register nothing"
        );
        // A dead owner.
        lp.send(owner, true).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(
            lp.watch_fd(fd, owner.id(), Interest::READ),
            Err(Error::NoSuchActor),
            "{backend}"
        );
        assert_eq!(lp.watch_count(), 0, "{backend}");
    }
}

// R17: a file that cannot be polled — a regular file, a device without readiness
// (/dev/null) — is refused with IoRegFailed on both Linux backends (epoll refuses
// it; io_uring's own poll would have called it always ready), registers nothing,
// and the loop still watches a socket afterwards.
#[cfg(target_os = "linux")]
#[test]
fn a_regular_file_or_unpollable_device_is_refused() {
    let path = std::env::temp_dir().join(format!("jzx-io-watch-{}", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .unwrap();
    for backend in backends() {
        let mut lp = new_loop(backend);
        let owner = lp
            .spawn(probe(stop_on_true, |_cx, _ev| Flow::Stop))
            .unwrap();
        for (fd, what) in [
            (file.as_raw_fd(), "regular file"),
            (null.as_raw_fd(), "/dev/null"),
        ] {
            for interest in [
                Interest::READ,
                Interest::WRITE,
                Interest::READ | Interest::WRITE,
            ] {
                assert_eq!(
                    lp.watch_fd(fd, owner.id(), interest),
                    Err(Error::IoRegFailed),
                    "{backend}: {what}, {interest:?}"
                );
            }
        }
        assert_eq!(
            lp.watch_count(),
            0,
            "{backend}: refused watches register nothing"
        );
        let (a, _b) = socketpair();
        lp.watch_fd(a.as_raw_fd(), owner.id(), Interest::WRITE)
            .unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(
            lp.actor_count(),
            0,
            "{backend}: the socket was never reported"
        );
    }
}

// R16: watching a watched fd again changes its interest and owner; the old owner's
// stop does not remove the watch it no longer owns.
#[test]
fn watching_a_watched_fd_changes_its_interest_and_owner() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (a, _b) = socketpair();
        let fd = a.as_raw_fd();
        let first: Log<IoEvent> = Log::default();
        let second: Log<IoEvent> = Log::default();
        let (l1, l2) = (first.clone(), second.clone());
        let old = lp
            .spawn(probe(stop_on_true, move |_cx, ev| {
                l1.push(ev);
                Flow::Continue
            }))
            .unwrap();
        let new = lp
            .spawn(probe(stop_on_true, move |cx, ev| {
                l2.push(ev);
                if l2.len() == 3 {
                    cx.unwatch_fd(ev.fd).unwrap();
                    return Flow::Stop;
                }
                Flow::Continue
            }))
            .unwrap();
        // Nothing to read: the READ watch is silent.
        lp.watch_fd(fd, old.id(), Interest::READ).unwrap();
        lp.watch_fd(fd, new.id(), Interest::WRITE).unwrap();
        assert_eq!(
            lp.watched(fd),
            Some((new.id(), Interest::WRITE)),
            "{backend}"
        );
        assert_eq!(lp.watch_count(), 1, "{backend}");
        // The old owner stops first (its message is handled in the first turn).
        lp.send(old, true).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(first.get(), [], "{backend}: the old owner got events");
        let second = second.get();
        assert_eq!(
            second.len(),
            3,
            "{backend}: the new owner's watch survived the old owner's stop"
        );
        for ev in second {
            assert_eq!(ev.fd, fd, "{backend}");
            assert!(
                ev.readiness.is_writable() && !ev.readiness.is_readable(),
                "{backend}: {:?}",
                ev.readiness
            );
        }
        assert_eq!(lp.watch_count(), 0, "{backend}");
    }
}

// R16: a re-watch by the same owner switches the interest (WRITE, then READ).
#[test]
fn rewatch_by_the_same_owner_switches_interest() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (a, mut b) = socketpair();
        let fd = a.as_raw_fd();
        let events: Log<IoEvent> = Log::default();
        let l = events.clone();
        let owner = lp
            .spawn(probe(stop_on_true, move |cx, ev| {
                l.push(ev);
                if ev.readiness.is_writable() {
                    cx.watch(ev.fd, Interest::READ).unwrap();
                    Flow::Continue
                } else {
                    Flow::Stop
                }
            }))
            .unwrap();
        b.write_all(b"x").unwrap();
        lp.watch_fd(fd, owner.id(), Interest::WRITE).unwrap();
        run_within(&mut lp, LIMIT);
        let events = events.get();
        assert_eq!(events.len(), 2, "{backend}: {events:?}");
        assert!(
            events[0].readiness.is_writable() && !events[0].readiness.is_readable(),
            "{backend}"
        );
        assert!(
            events[1].readiness.is_readable() && !events[1].readiness.is_writable(),
            "{backend}"
        );
        assert_eq!(lp.watch_count(), 0, "{backend}");
    }
}

/// How the fd number of A's closed socket comes to name a new socket.
#[derive(Clone, Copy, Debug)]
enum Reuse {
    /// close(N), then a new socketpair: the lowest free number, very likely N.
    CloseThenOpen,
    /// dup2(new, N): closes the old socket at N and puts the new one there
    /// in one step, so the number is certainly reused.
    Dup2Over,
}

/// R17 trap: actor A closes its watched fd N itself, without unwatching, and
/// stops; a new socket gets the number N and B watches it at once (from inside
/// A's last behavior, or after A's teardown). B gets readiness.
fn closed_fd_number_reuse(backend: jzx::BackendKind, reuse: Reuse, watch_inside: bool) {
    let what = format!("{backend}, {reuse:?}, watch inside: {watch_inside}");
    let mut lp = new_loop(backend);
    let (old, mut old_peer) = socketpair();
    let n = old.as_raw_fd();
    // The new socket pair, and the number the new socket got.
    let fresh: Rc<Cell<Option<(UnixStream, UnixStream)>>> = Rc::default();
    let fresh_fd = Rc::new(Cell::new(-1));
    let events: Log<IoEvent> = Log::default();
    let l = events.clone();
    let b = lp
        .spawn(probe(
            move |cx, fd: RawFd| {
                cx.watch(fd, Interest::READ).unwrap();
                Flow::Continue
            },
            move |cx, ev| {
                let mut buf = [0u8; 16];
                let got = read_fd(ev.fd, &mut buf);
                l.push(ev);
                if got == 5 && &buf[..5] == b"fresh" {
                    cx.unwatch_fd(ev.fd).unwrap();
                    return Flow::Stop;
                }
                Flow::Continue
            },
        ))
        .unwrap();
    let (f, ff) = (fresh.clone(), fresh_fd.clone());
    let mut old = Some(old);
    let a = lp
        .spawn(probe(
            move |cx, (): ()| {
                let old = old.take().expect("once");
                let (x, mut y) = match reuse {
                    Reuse::CloseThenOpen => {
                        drop(old);
                        socketpair()
                    }
                    Reuse::Dup2Over => {
                        let (x, y) = socketpair();
                        // SAFETY: N belongs to `old`, which gives it up here;
                        // dup2 closes the old socket at N and installs the new one.
                        let d = unsafe { libc::dup2(x.as_raw_fd(), n) };
                        assert_eq!(d, n, "dup2: {}", std::io::Error::last_os_error());
                        std::mem::forget(old);
                        // SAFETY: N is now an open socket owned by nothing else.
                        (unsafe { UnixStream::from_raw_fd(n) }, y)
                    }
                };
                let fd = x.as_raw_fd();
                ff.set(fd);
                y.write_all(b"fresh").unwrap();
                // No unwatch of N before stopping.
                if watch_inside {
                    cx.watch_fd(fd, b.id(), Interest::READ).unwrap();
                } else {
                    cx.send(b, fd).unwrap();
                }
                f.set(Some((x, y)));
                Flow::Stop
            },
            |_cx, _ev| Flow::Continue,
        ))
        .unwrap();
    lp.watch_fd(n, a.id(), Interest::READ).unwrap();
    lp.send(a, ()).unwrap();
    run_within(&mut lp, LIMIT);
    let fd = fresh_fd.get();
    if fd != n {
        eprintln!("note ({what}): the new socket got fd {fd}, not {n}");
    }
    let events = events.get();
    assert!(
        !events.is_empty(),
        "{what}: B got no readiness for the new socket at fd {fd}"
    );
    assert!(
        events
            .iter()
            .all(|e| e.fd == fd && e.readiness.is_readable()),
        "{what}: {events:?}"
    );
    assert_eq!(
        lp.actor_count(),
        0,
        "{what}: B read the new socket's bytes and stopped"
    );
    assert_eq!(lp.watch_count(), 0, "{what}");
    // Once the loop is gone nothing of the old socket is held: its peer sees EOF.
    drop(lp);
    assert!(
        sees_hangup(&old_peer),
        "{what}: the old socket was kept open"
    );
    let mut buf = [0u8; 8];
    assert_eq!(
        retry_eintr(|| old_peer.read(&mut buf)).ok(),
        Some(0),
        "{what}: EOF"
    );
    drop(fresh.take());
}

// R17: a closed-and-reused fd number watched by another actor inside the closer's last
// behavior still gets readiness, on every backend.
#[test]
fn reused_fd_number_watched_at_once_by_another_actor_gets_readiness() {
    for backend in backends() {
        closed_fd_number_reuse(backend, Reuse::CloseThenOpen, true);
        closed_fd_number_reuse(backend, Reuse::Dup2Over, true);
    }
}

// R17: the same when the new watch is made after the closer's teardown.
#[test]
fn reused_fd_number_watched_after_the_closers_teardown_gets_readiness() {
    for backend in backends() {
        closed_fd_number_reuse(backend, Reuse::CloseThenOpen, false);
        closed_fd_number_reuse(backend, Reuse::Dup2Over, false);
    }
}

/// How an owner gets rid of its watched fd without unwatching it.
#[derive(Clone, Copy, Debug)]
enum Gone {
    /// close(N).
    Closed,
    /// dup2(new, N): closes the old socket and puts a new, readable one at N.
    Reused,
}

/// R17: an owner that closes its readable, watched fd N without unwatching
/// and keeps running hears nothing more of N (not of the closed socket, nor
/// of a new socket given the number), and the closed socket's peer sees EOF
/// while the owner still runs.
fn closed_without_unwatch(backend: jzx::BackendKind, gone: Gone) -> (Vec<IoEvent>, bool) {
    let mut lp = new_loop(backend);
    let (a, mut a_peer) = socketpair();
    a_peer.write_all(b"never read").unwrap();
    let n = a.as_raw_fd();
    let (x, mut x_peer) = socketpair();
    let events: Log<IoEvent> = Log::default();
    let l = events.clone();
    let peer_closed: Rc<Cell<bool>> = Rc::default();
    let pc = peer_closed.clone();
    let mut a = Some(a);
    let owner = lp
        .spawn(probe(
            move |_cx, stop: bool| {
                // Still running, long after the close: the peer sees it
                // (EOF, or a reset since the socket had unread data).
                let mut buf = [0u8; 16];
                pc.set(match a_peer.read(&mut buf) {
                    Ok(0) => true,
                    Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
                    Ok(_) => false,
                });
                if stop {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            },
            move |_cx, ev| {
                l.push(ev);
                if let Some(a) = a.take() {
                    match gone {
                        Gone::Closed => drop(a),
                        Gone::Reused => {
                            // SAFETY: N belongs to `a`, which gives it up here;
                            // dup2 closes its socket and installs `x`'s at N.
                            let d = unsafe { libc::dup2(x.as_raw_fd(), n) };
                            assert_eq!(d, n, "dup2: {}", std::io::Error::last_os_error());
                            std::mem::forget(a);
                            x_peer.write_all(b"new socket").unwrap();
                        }
                    }
                }
                Flow::Continue
            },
        ))
        .unwrap();
    lp.watch_fd(n, owner.id(), Interest::READ).unwrap();
    lp.send_after(owner, Duration::from_millis(100), true)
        .unwrap();
    run_within(&mut lp, LIMIT);
    if let Gone::Reused = gone {
        // SAFETY: N holds the duplicate of `x` made above, owned by nothing.
        drop(unsafe { OwnedFd::from_raw_fd(n) });
    }
    (events.get(), peer_closed.get())
}

#[test]
fn a_watched_fd_closed_without_unwatch_is_never_reported_again() {
    for backend in backends() {
        for gone in [Gone::Closed, Gone::Reused] {
            let what = format!("{backend}, {gone:?}");
            let (events, peer_closed) = closed_without_unwatch(backend, gone);
            assert!(!events.is_empty(), "{what}: no readiness before the close");
            assert_bits(&events[..1], events[0].fd, READ, WRITE, &what);
            // Nothing after the close: an error reported once would do, readiness never.
            let later = &events[1..];
            assert!(
                later.len() <= 1
                    && later
                        .iter()
                        .all(|e| e.readiness.bits() & (READ | WRITE) == 0),
                "{what}: {} events after the close: {:?}",
                later.len(),
                &later[..later.len().min(4)]
            );
            assert!(
                peer_closed,
                "{what}: the peer saw no close while the owner ran"
            );
        }
    }
}

// R17: the echo pattern — the owner reads, closes its fd and stops without
// unwatching: its peer sees EOF by the time `run` returns, not at loop drop.
#[test]
fn the_peer_sees_eof_before_run_returns_when_the_owner_closes_and_stops() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (a, mut peer) = socketpair();
        let fd = a.as_raw_fd();
        peer.write_all(b"bye").unwrap();
        let mut a = Some(a);
        let owner = lp
            .spawn(probe(stop_on_true, move |_cx, _ev| {
                let mut buf = [0u8; 8];
                if let Some(mut s) = a.take() {
                    assert_eq!(s.read(&mut buf).ok(), Some(3));
                }
                Flow::Stop
            }))
            .unwrap();
        lp.watch_fd(fd, owner.id(), Interest::READ).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(lp.actor_count(), 0, "{backend}");
        let mut buf = [0u8; 8];
        let got = peer.read(&mut buf);
        assert!(
            matches!(got, Ok(0)),
            "{backend}: the peer saw {got:?} after run returned, not EOF"
        );
        drop(lp);
    }
}

/// The CPU time (user + system) the calling thread has used so far.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for clock_gettime to write.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime: {}", std::io::Error::last_os_error());
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

// R17, regression: an fd closed by its owner while a duplicate of it lives on
// (a dup, a fork child) leaves its entry in the loop's readiness set, since the
// teardown's unwatch cannot delete it by a closed number. After a peer hang-up
// that entry is ready for good: the loop woke at once on every blocking run with
// nothing to report and burned a core while another actor waited for a timer.
#[test]
fn a_closed_fd_kept_open_by_a_duplicate_costs_the_loop_no_cpu() {
    const WAIT: Duration = Duration::from_millis(500);
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (a, peer) = socketpair();
        let fd = a.as_raw_fd();
        let keep = a.try_clone().unwrap();
        drop(peer);
        let events: Log<IoEvent> = Log::default();
        let l = events.clone();
        let mut a = Some(a);
        let owner = lp
            .spawn(probe(stop_on_true, move |_cx, ev| {
                l.push(ev);
                drop(a.take()); // closed; `keep` holds the socket open
                Flow::Stop
            }))
            .unwrap();
        lp.watch_fd(fd, owner.id(), Interest::READ).unwrap();
        let waiter = lp.spawn(probe(stop_on_true, |_cx, _ev| Flow::Continue));
        let waiter = waiter.unwrap();
        lp.send_after(waiter, WAIT, true).unwrap();
        let before = thread_cpu_time();
        let t0 = std::time::Instant::now();
        run_within(&mut lp, LIMIT);
        let (used, took) = (thread_cpu_time() - before, t0.elapsed());
        assert_eq!(lp.actor_count(), 0, "{backend}");
        assert_eq!(events.len(), 1, "{backend}: {:?}", events.get());
        assert!(took >= WAIT, "{backend}: run returned after {took:?}");
        assert!(
            used < Duration::from_millis(150),
            "{backend}: the loop used {used:?} of CPU in {took:?} with nothing ready"
        );
        drop(keep);
    }
}
