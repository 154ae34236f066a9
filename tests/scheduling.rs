//! Fairness budgets of the scheduler (R4, R5).
mod util;

use jzx::{Actor, Addr, Config, Context, Flow};
use std::time::Duration;
use util::{backends, config_loop, new_loop, run_within, Log};

const LIMIT: Duration = Duration::from_secs(10);

enum Bounce {
    Peer(Addr<Bounce>),
    Ball(u32),
}

/// Bounces the ball to its peer until `remaining` reaches 0.
struct Bouncer {
    name: char,
    peer: Option<Addr<Bounce>>,
    log: Log<char>,
    hits: u32,
}

impl Actor for Bouncer {
    type Msg = Bounce;
    fn handle(&mut self, cx: &mut Context<'_, Self>, msg: Bounce) -> Flow {
        match msg {
            Bounce::Peer(p) => self.peer = Some(p),
            Bounce::Ball(remaining) => {
                self.hits += 1;
                self.log.push(self.name);
                if remaining > 0 {
                    let _ = cx.send(self.peer.expect("peer"), Bounce::Ball(remaining - 1));
                }
            }
        }
        if self.hits == 11 {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

#[test]
fn two_bouncing_actors_get_eleven_hits_each() {
    // R4: two actors bouncing a message share the work evenly.
    for backend in backends() {
        let mut lp = new_loop(backend);
        let log = Log::default();
        let spawn = |lp: &mut jzx::Loop, name| {
            lp.spawn(Bouncer {
                name,
                peer: None,
                log: log.clone(),
                hits: 0,
            })
            .unwrap()
        };
        let a = spawn(&mut lp, 'a');
        let b = spawn(&mut lp, 'b');
        lp.send(a, Bounce::Peer(b)).unwrap();
        lp.send(b, Bounce::Peer(a)).unwrap();
        lp.send(a, Bounce::Ball(10)).unwrap();
        lp.send(b, Bounce::Ball(10)).unwrap();
        run_within(&mut lp, LIMIT);
        let hits = log.get();
        let count = |c| hits.iter().filter(|&&h| h == c).count();
        assert_eq!((count('a'), count('b')), (11, 11), "{backend}: {hits:?}");
        // Evenly: neither runs more than twice in a row.
        let longest = hits
            .chunk_by(|x, y| x == y)
            .map(<[char]>::len)
            .max()
            .unwrap();
        assert!(longest <= 2, "{backend}: uneven turns {hits:?}");
    }
}

/// Logs every message; stops on `u32::MAX`.
struct Worker(char, Log<char>);

impl Actor for Worker {
    type Msg = u32;
    fn handle(&mut self, _cx: &mut Context<'_, Self>, n: u32) -> Flow {
        self.1.push(self.0);
        if n == u32::MAX {
            Flow::Stop
        } else {
            Flow::Continue
        }
    }
}

#[test]
fn a_busy_actor_yields_after_max_msgs_per_actor() {
    // R4, R19: max_msgs_per_actor is honoured; the busy actor goes to the back.
    for backend in backends() {
        for budget in [1u32, 5, 64] {
            let mut lp = config_loop(Config {
                backend,
                max_msgs_per_actor: budget,
                ..Config::default()
            });
            let log = Log::default();
            let busy = lp.spawn(Worker('x', log.clone())).unwrap();
            let other = lp.spawn(Worker('y', log.clone())).unwrap();
            for _ in 0..200 {
                lp.send(busy, 0).unwrap();
            }
            lp.send(busy, u32::MAX).unwrap();
            lp.send(other, u32::MAX).unwrap();
            run_within(&mut lp, LIMIT);
            let seq = log.get();
            let first_y = seq.iter().position(|&c| c == 'y').unwrap();
            assert_eq!(first_y, budget as usize, "{backend}, budget {budget}");
            assert_eq!(seq.len(), 202, "{backend}");
        }
    }
}

#[test]
fn io_is_polled_between_turns_of_a_busy_loop() {
    // R4, R5: with max_actors_per_tick = 1 a self-feeding actor cannot starve
    // readiness of another actor's fd.
    use std::io::Write;
    use std::os::fd::AsRawFd;
    struct Spinner;
    impl Actor for Spinner {
        type Msg = ();
        fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
            let me = cx.addr();
            let _ = cx.send(me, ());
            Flow::Continue
        }
    }
    struct Reader(jzx::ActorId);
    impl Actor for Reader {
        type Msg = ();
        fn handle(&mut self, _cx: &mut Context<'_, Self>, _: ()) -> Flow {
            Flow::Continue
        }
        fn on_io(&mut self, cx: &mut Context<'_, Self>, ev: jzx::IoEvent) -> Flow {
            assert!(ev.readiness.is_readable());
            cx.stop_actor(self.0).unwrap();
            Flow::Stop
        }
    }
    for backend in backends() {
        let mut lp = config_loop(Config {
            backend,
            max_actors_per_tick: 1,
            ..Config::default()
        });
        let (r, mut w) = std::os::unix::net::UnixStream::pair().unwrap();
        let spinner = lp.spawn(Spinner).unwrap();
        let reader = lp.spawn(Reader(spinner.id())).unwrap();
        lp.watch_fd(r.as_raw_fd(), reader.id(), jzx::Interest::READ)
            .unwrap();
        lp.send(spinner, ()).unwrap();
        w.write_all(b"x").unwrap();
        run_within(&mut lp, LIMIT);
        assert_eq!(lp.actor_count(), 0, "{backend}");
    }
}
