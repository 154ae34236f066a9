//! Simulated loops (`Config::simulated`, `jzx::sim`): a seeded order among
//! runnable actors that keeps every sender–receiver pair FIFO, the trace
//! hash and the replay check, and in-memory fd pairs driven by the loop.
mod util;

use jzx::sim::{self, ReplayError};
use jzx::{
    Actor, ActorId, Addr, BackendKind, ClockKind, Config, Context, Error, Flow, Interest, IoEvent,
    Loop, RunOrder,
};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;
use util::{backends, config_loop, Log};

fn simulated(backend: BackendKind, seed: u64) -> Config {
    Config {
        backend,
        ..Config::simulated(seed)
    }
}

/// Logs `(sender, n)` for each message; stops after `left`.
struct Sink {
    left: u32,
    log: Log<(u32, u32)>,
}

impl Actor for Sink {
    type Msg = (u32, u32);
    fn handle(&mut self, _cx: &mut Context<'_, Self>, msg: (u32, u32)) -> Flow {
        self.log.push(msg);
        self.left -= 1;
        if self.left == 0 {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

/// Sends `count` numbered messages to `to`, one per turn (a message to
/// itself between them), so that its sends interleave with other senders'.
struct Sender {
    me: u32,
    next: u32,
    count: u32,
    to: Addr<(u32, u32)>,
}

impl Actor for Sender {
    type Msg = ();
    fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
        cx.send(self.to, (self.me, self.next)).unwrap();
        self.next += 1;
        if self.next == self.count {
            return Flow::Stop;
        }
        let me = cx.addr();
        cx.send(me, ()).unwrap();
        Flow::Continue
    }
}

const SENDERS: u32 = 6;
const EACH: u32 = 20;

/// Six senders into one sink; returns what the sink saw.
fn fan_in(lp: &mut Loop) -> Result<Vec<(u32, u32)>, Error> {
    let log = Log::default();
    let sink = lp.spawn(Sink {
        left: SENDERS * EACH,
        log: log.clone(),
    })?;
    for me in 0..SENDERS {
        let s = lp.spawn(Sender {
            me,
            next: 0,
            count: EACH,
            to: sink,
        })?;
        lp.send(s, ())?;
    }
    lp.run()?;
    Ok(log.get())
}

fn assert_fifo_per_sender(seen: &[(u32, u32)]) {
    assert_eq!(seen.len(), (SENDERS * EACH) as usize);
    for me in 0..SENDERS {
        let mine: Vec<u32> = seen.iter().filter(|m| m.0 == me).map(|m| m.1).collect();
        assert_eq!(
            mine,
            (0..EACH).collect::<Vec<_>>(),
            "sender {me} out of order"
        );
    }
}

#[test]
fn shuffled_orders_differ_by_seed_and_keep_each_pair_fifo() {
    for backend in backends() {
        let fifo = fan_in(&mut config_loop(Config {
            backend,
            clock: ClockKind::Virtual,
            ..Config::default()
        }))
        .unwrap();
        assert_fifo_per_sender(&fifo);
        // FIFO: the senders take turns in spawn order.
        let round: Vec<u32> = fifo.iter().take(SENDERS as usize).map(|m| m.0).collect();
        assert_eq!(round, (0..SENDERS).collect::<Vec<_>>());

        let mut orders = Vec::new();
        for seed in 0..8 {
            let seen = fan_in(&mut config_loop(simulated(backend, seed))).unwrap();
            assert_fifo_per_sender(&seen);
            let again = fan_in(&mut config_loop(simulated(backend, seed))).unwrap();
            assert_eq!(seen, again, "seed {seed} gave two orders");
            orders.push(seen);
        }
        orders.sort();
        orders.dedup();
        assert!(
            orders.len() >= 6,
            "8 seeds gave only {} distinct interleavings",
            orders.len()
        );
    }
}

#[test]
fn replay_returns_one_hash_per_program_and_seed() {
    for backend in backends() {
        let run = |seed| {
            sim::check_replay(simulated(backend, seed), |lp| {
                assert_fifo_per_sender(&fan_in(lp)?);
                Ok(())
            })
            .unwrap()
        };
        let a = run(3);
        assert_eq!(a, run(3));
        assert_ne!(a, run(4), "two seeds, one trace");
    }
}

#[test]
fn the_trace_hash_counts_time_too() {
    // The same actors in the same order, one run with a timer 1 ms later:
    // the hashes differ.
    let hash = |delay_ms| {
        let mut lp = config_loop(Config::simulated(1));
        let log = Log::default();
        let sink = lp.spawn(Sink { left: 1, log }).unwrap();
        lp.send_after(sink, Duration::from_millis(delay_ms), (0, 0))
            .map_err(|e| e.error)
            .unwrap();
        lp.run().unwrap();
        lp.trace_hash().unwrap()
    };
    assert_eq!(hash(10), hash(10));
    assert_ne!(hash(10), hash(11));
}

#[test]
fn replay_finds_a_program_that_depends_on_outside_state() {
    let mut calls = 0u32;
    let err = sim::check_replay(Config::simulated(5), |lp| {
        // The second run sends one message fewer: another path.
        calls += 1;
        let log = Log::default();
        let sink = lp.spawn(Sink {
            left: 3 - calls,
            log,
        })?;
        for n in 0..3 - calls {
            lp.send(sink, (0, n))?;
        }
        lp.run()
    })
    .unwrap_err();
    assert!(matches!(err, ReplayError::Diverged { first, second } if first != second));
}

#[test]
fn replay_refuses_the_real_clock_and_passes_program_errors_on() {
    let called = std::cell::Cell::new(false);
    let err = sim::check_replay(Config::default(), |_| {
        called.set(true);
        Ok(())
    })
    .unwrap_err();
    assert_eq!(err, ReplayError::NotSimulated);
    assert!(!called.get(), "the program ran on the real clock");
    assert_eq!(util::new_loop(BackendKind::Auto).trace_hash(), None);

    let err = sim::check_replay(Config::simulated(1), |lp| {
        let gone = ActorId::from_raw(
            lp.spawn(Sink {
                left: 1,
                log: Log::default(),
            })?
            .id()
            .to_raw(),
        )
        .unwrap();
        lp.stop_actor(gone)?;
        lp.run()?;
        lp.stop_actor(gone)
    })
    .unwrap_err();
    assert_eq!(err, ReplayError::Program(Error::NoSuchActor));
}

/// Reads what its end of a fd pair receives; answers each chunk with its
/// length and logs the bytes with the loop's time; stops at end of stream.
struct Reader {
    end: UnixStream,
    log: Log<(Duration, Vec<u8>)>,
}

impl Actor for Reader {
    type Msg = ();
    fn handle(&mut self, _cx: &mut Context<'_, Self>, _: ()) -> Flow {
        Flow::Continue
    }
    fn on_io(&mut self, cx: &mut Context<'_, Self>, _ev: IoEvent) -> Flow {
        let mut buf = [0u8; 64];
        match self.end.read(&mut buf) {
            Ok(0) => {
                cx.unwatch_fd(self.end.as_raw_fd()).unwrap();
                Flow::Stop
            }
            Ok(n) => {
                self.log.push((cx.now(), buf[..n].to_vec()));
                self.end.write_all(&[n as u8]).unwrap();
                Flow::Continue
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Flow::Continue,
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// Writes one chunk a virtual second, reads the replies, then closes.
struct Writer {
    end: Option<UnixStream>,
    chunks: Vec<&'static [u8]>,
    replies: Log<u8>,
}

impl Actor for Writer {
    type Msg = ();
    fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
        let end = self.end.as_mut().unwrap();
        let mut buf = [0u8; 8];
        while let Ok(n) = end.read(&mut buf) {
            if n == 0 {
                break;
            }
            for &b in &buf[..n] {
                self.replies.push(b);
            }
        }
        match self.chunks.pop() {
            Some(chunk) => {
                end.write_all(chunk).unwrap();
                let me = cx.addr();
                cx.send_after(me, Duration::from_secs(1), ()).unwrap();
                Flow::Continue
            }
            None => {
                self.end = None; // closed: the reader sees the end
                Flow::Stop
            }
        }
    }
}

#[test]
fn in_memory_fds_drive_io_actors_in_virtual_time() {
    for backend in backends() {
        let log = Log::default();
        let replies = Log::default();
        let hash = sim::check_replay(simulated(backend, 11), |lp| {
            log.0.lock().unwrap().clear();
            replies.0.lock().unwrap().clear();
            let (a, b) = sim::fd_pair().expect("fd pair");
            let fd = a.as_raw_fd();
            let reader = lp.spawn(Reader {
                end: a,
                log: log.clone(),
            })?;
            lp.watch_fd(fd, reader.id(), Interest::READ)?;
            let writer = lp.spawn(Writer {
                end: Some(b),
                chunks: vec![b"three", b"two", b"one"],
                replies: replies.clone(),
            })?;
            lp.send(writer, ())?;
            lp.run()?;
            assert_eq!(
                (lp.actor_count(), lp.watch_count(), lp.timer_count()),
                (0, 0, 0)
            );
            Ok(())
        })
        .unwrap();
        let _ = hash;
        let secs = Duration::from_secs;
        assert_eq!(
            log.get(),
            [
                (secs(0), b"one".to_vec()),
                (secs(1), b"two".to_vec()),
                (secs(2), b"three".to_vec())
            ]
        );
        assert_eq!(replies.get(), [3, 3, 5]);
        // The default order is FIFO; asked for, it is named so.
        assert_eq!(Config::default().run_order, RunOrder::Fifo);
    }
}

/// Logs `(producer, n)` with the loop's time; stops after `left`.
struct Stamped {
    left: u32,
    log: Log<(Duration, u32, u32)>,
}

impl Actor for Stamped {
    type Msg = (u32, u32);
    fn handle(&mut self, cx: &mut Context<'_, Self>, (p, n): (u32, u32)) -> Flow {
        self.log.push((cx.now(), p, n));
        self.left -= 1;
        if self.left == 0 {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

// Messages from other threads reach a simulated loop through its inbox:
// FIFO per producer, whatever the seed, all taken at the current virtual
// time (time moves only for timers).
#[test]
fn cross_thread_sends_keep_each_producers_order_on_a_simulated_loop() {
    const PRODUCERS: u32 = 3;
    const EACH: u32 = 500;
    for backend in backends() {
        for seed in [1, 2] {
            let mut lp = config_loop(simulated(backend, seed));
            let log = Log::default();
            let sink = lp
                .spawn(Stamped {
                    left: PRODUCERS * EACH,
                    log: log.clone(),
                })
                .unwrap();
            let producers: Vec<_> = (0..PRODUCERS)
                .map(|p| {
                    let handle = lp.handle();
                    std::thread::spawn(move || {
                        for n in 0..EACH {
                            let mut msg = (p, n);
                            // Refused at the bound: the message comes back.
                            while let Err(e) = handle.send(sink, msg) {
                                msg = e.message;
                                std::thread::yield_now();
                            }
                        }
                    })
                })
                .collect();
            lp.run().unwrap();
            for p in producers {
                p.join().unwrap();
            }
            let got = log.get();
            assert_eq!(got.len(), (PRODUCERS * EACH) as usize);
            assert!(got.iter().all(|m| m.0 == Duration::ZERO));
            for p in 0..PRODUCERS {
                let mine: Vec<u32> = got.iter().filter(|m| m.1 == p).map(|m| m.2).collect();
                assert_eq!(mine, (0..EACH).collect::<Vec<_>>(), "producer {p}");
            }
        }
    }
}
