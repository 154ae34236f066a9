//! The loop's metrics snapshot (SPEC §10): exact counts for known programs,
//! and mailbox depth on request.
mod util;

use jzx::{
    Actor, Addr, Context, Error, Flow, Interest, IoEvent, Loop, Metrics, SpawnOptions, StopReason,
};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;
use util::{backends, new_loop, run_within, Log};

const LIMIT: Duration = Duration::from_secs(20);

/// (delivered, refused, turns, timers fired, I/O events, live actors).
fn counts(lp: &Loop) -> (u64, u64, u64, u64, u64, usize) {
    let m: Metrics = lp.metrics();
    (
        m.delivered,
        m.refused,
        m.turns,
        m.timers_fired,
        m.io_events,
        m.live_actors,
    )
}

/// Forwards each number to `to`; stops after forwarding `last`.
struct Relay {
    to: Addr<u32>,
    last: u32,
}

impl Actor for Relay {
    type Msg = u32;
    fn handle(&mut self, cx: &mut Context<'_, Self>, n: u32) -> Flow {
        cx.send(self.to, n).unwrap();
        if n == self.last {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

/// Records what it gets; stops after `left` messages.
struct Sink<M> {
    left: u32,
    got: Log<M>,
}

impl<M: Clone + 'static> Actor for Sink<M> {
    type Msg = M;
    fn handle(&mut self, _cx: &mut Context<'_, Self>, n: M) -> Flow {
        self.got.push(n);
        self.left -= 1;
        if self.left == 0 {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

/// A [`Sink`] that stops after `left` messages, and its record.
fn spawn_sink<M: Clone + 'static>(lp: &mut Loop, left: u32) -> (Addr<M>, Log<M>) {
    let got = Log::default();
    let sink = lp
        .spawn(Sink {
            left,
            got: got.clone(),
        })
        .unwrap();
    (sink, got)
}

// Two sends accepted and one refused before the run; in the run, the relay
// forwards both in turn 1 and stops, the sink handles both in turn 2 and
// stops, and the loop is idle. A second run is one empty turn.
#[test]
fn sends_refusals_turns_and_live_actors_are_counted_exactly() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        assert_eq!(counts(&lp), (0, 0, 0, 0, 0, 0), "{backend}: a new loop");
        let (sink, got) = spawn_sink::<u32>(&mut lp, 2);
        let relay = lp
            .spawn_with(
                Relay { to: sink, last: 2 },
                SpawnOptions::new().mailbox_cap(2),
            )
            .unwrap();
        lp.send(relay, 1).unwrap();
        lp.send(relay, 2).unwrap();
        assert_eq!(lp.send(relay, 3).unwrap_err().error, Error::MailboxFull);
        assert_eq!(lp.mailbox_depth(relay.id()), Some(2), "{backend}");
        assert_eq!(lp.mailbox_depth(sink.id()), Some(0), "{backend}");
        assert_eq!(counts(&lp), (2, 1, 0, 0, 0, 2), "{backend}: before the run");

        run_within(&mut lp, LIMIT);
        assert_eq!(got.get(), [1, 2], "{backend}");
        assert_eq!(counts(&lp), (4, 1, 2, 0, 0, 0), "{backend}: after the run");
        assert_eq!(lp.mailbox_depth(relay.id()), None, "{backend}: dead");

        run_within(&mut lp, LIMIT);
        assert_eq!(counts(&lp), (4, 1, 3, 0, 0, 0), "{backend}: a second run");
    }
}

// Three one-shot timers fire; a cancelled one does not; timer messages are
// not counted as sends.
#[test]
fn timers_fired_are_counted_and_timer_messages_are_not_sends() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (ticks, ticks_got) = spawn_sink(&mut lp, 3);
        for ms in [1, 2, 3] {
            lp.send_after(ticks, Duration::from_millis(ms), "tick")
                .unwrap();
        }
        let cancelled = lp
            .send_after(ticks, Duration::from_millis(1), "never")
            .unwrap();
        lp.cancel_timer(cancelled).unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(ticks_got.get(), ["tick"; 3], "{backend}");
        let (delivered, refused, turns, timers_fired, io_events, live) = counts(&lp);
        assert_eq!(
            (delivered, refused, timers_fired, io_events, live),
            (0, 0, 3, 0, 0),
            "{backend}"
        );
        // At least the turn that ran the actor for each firing (timers that
        // come due together share a turn; waits may add empty turns).
        assert!(turns >= 1, "{backend}: {turns} turns");
    }
}

/// Reads the byte that made its end readable, then stops.
struct Reader {
    end: UnixStream,
    stopped: Log<StopReason>,
}

impl Actor for Reader {
    type Msg = ();
    fn handle(&mut self, _cx: &mut Context<'_, Self>, _: ()) -> Flow {
        Flow::Continue
    }
    fn on_io(&mut self, _cx: &mut Context<'_, Self>, event: IoEvent) -> Flow {
        assert!(event.readiness.is_readable());
        let mut byte = [0u8; 1];
        assert_eq!(self.end.read(&mut byte).unwrap(), 1);
        self.stopped.push(StopReason::Normal);
        Flow::Stop // its watch goes with it
    }
}

// One readable byte: one readiness event delivered, then the owner stops.
#[test]
fn io_events_delivered_are_counted() {
    for backend in backends() {
        let mut lp = new_loop(backend);
        let (mut near, far) = UnixStream::pair().unwrap();
        let fd = far.as_raw_fd();
        let stopped = Log::default();
        let reader = lp
            .spawn(Reader {
                end: far,
                stopped: stopped.clone(),
            })
            .unwrap();
        lp.watch_fd(fd, reader.id(), Interest::READ).unwrap();
        near.write_all(b"x").unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(stopped.len(), 1, "{backend}");
        let (delivered, refused, _, timers_fired, io_events, live) = counts(&lp);
        assert_eq!(
            (delivered, refused, timers_fired, io_events, live),
            (0, 0, 0, 1, 0),
            "{backend}"
        );
    }
}

// Cross-thread messages for two actors with 4-message mailboxes, queued
// before the run in one interleaved burst: most wait in the targets' parks
// and go into the mailboxes as room appears. Each is counted as delivered
// once (into its mailbox), each target gets its own in order, and a full
// mailbox is counted once per target (when its first message starts to
// wait).
#[test]
fn parked_cross_thread_messages_are_counted_once_each() {
    const N: u32 = 600;
    for backend in backends() {
        let mut lp = new_loop(backend);
        let spawn = |lp: &mut Loop| {
            let got = Log::default();
            let sink = lp
                .spawn_with(
                    Sink {
                        left: N,
                        got: got.clone(),
                    },
                    SpawnOptions::new().mailbox_cap(4),
                )
                .unwrap();
            (sink, got)
        };
        let (a, got_a) = spawn(&mut lp);
        let (b, got_b) = spawn(&mut lp);
        let handle = lp.handle();
        // Runs of 50 for one target, then 50 for the other: a run behind a
        // parked message joins its park at once.
        for chunk in 0..(2 * N / 50) {
            let to = if chunk % 2 == 0 { a } else { b };
            for i in 0..50 {
                handle.send(to, (chunk / 2) * 50 + i).unwrap();
            }
        }
        run_within(&mut lp, LIMIT);
        assert_eq!(got_a.get(), (0..N).collect::<Vec<_>>(), "{backend}");
        assert_eq!(got_b.get(), (0..N).collect::<Vec<_>>(), "{backend}");
        let (delivered, refused, _, _, _, live) = counts(&lp);
        assert_eq!(
            (delivered, refused, live),
            (2 * N as u64, 2, 0),
            "{backend}"
        );
        assert_eq!(lp.cross_thread_pending(), 0, "{backend}");
    }
}
