//! The echo server (`examples/echo/mod.rs`, SPEC §7, §9, R29) on every
//! backend, on one loop and on two: concurrent transfers, backpressure,
//! resets, half-close, connection churn, 2,000 concurrent connections, fd
//! exhaustion at accept, connections spread over the loops, and the example
//! binary itself (`--loops 2` for two).
//!
//! Each test runs the server's loop on its own thread (a `Loop` is not
//! `Send`, so it is created there), or its runtime's loops on theirs, and
//! drives it with blocking clients from the test thread. The tests count the fds of this process
//! (`/proc/self/fd`) and change its `RLIMIT_NOFILE`, so they run one at a
//! time (`serial()`). Every socket has read/write timeouts and every wait is
//! bounded, so a bug fails a test instead of hanging it.
mod util;

#[path = "../examples/echo/mod.rs"]
mod echo;

use echo::{ListenerMsg, Snapshot, Stats};
use jzx::{Addr, BackendKind, Config, LoopHandle, Runtime, RuntimeConfig};
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use util::{assert_same, backends, random_bytes, retry_eintr};

/// Socket timeouts: generous for debug builds on a busy machine.
const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a wait for the server to reach a state may take.
const WAIT: Duration = Duration::from_secs(10);

static SERIAL: Mutex<()> = Mutex::new(());

/// Runs tests of this file one at a time (fd counts, rlimits).
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

// ------------------------------------------------------------------ helpers

/// The open fds of this process.
fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

fn get_nofile() -> libc::rlimit {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    assert_eq!(rc, 0, "getrlimit: {}", std::io::Error::last_os_error());
    lim
}

fn set_nofile(lim: libc::rlimit) {
    // SAFETY: `lim` is a valid rlimit.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
    assert_eq!(rc, 0, "setrlimit: {}", std::io::Error::last_os_error());
}

/// Whether fd number `n` is open (fcntl allocates nothing).
fn fd_is_open(n: i32) -> bool {
    // SAFETY: F_GETFD on any number only reads the fd table.
    unsafe { libc::fcntl(n, libc::F_GETFD) != -1 }
}

/// Polls `cond` until it holds or `WAIT` passes; panics with `what()`.
#[track_caller]
fn wait_for(cond: impl FnMut() -> bool, what: impl Fn() -> String) {
    assert!(
        util::wait_until(WAIT, cond),
        "timed out waiting: {}",
        what()
    );
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s
}

/// Sends `data` from a writer thread while this thread reads the echo.
fn echo_concurrently(stream: &TcpStream, data: &[u8]) -> Vec<u8> {
    thread::scope(|s| {
        let writer = s.spawn(|| (&*stream).write_all(data));
        let mut got = vec![0; data.len()];
        let read = (&*stream).read_exact(&mut got);
        writer.join().unwrap().expect("write");
        read.expect("read the echo");
        got
    })
}

/// Ends a connection with a reset (SO_LINGER 0, then close).
fn reset(stream: TcpStream) {
    SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER");
    drop(stream);
}

// ------------------------------------------------------------------- server

/// What the server runs on: a backend, and one loop (a lone `Loop`, as
/// `echo_server` runs by default) or several (a `Runtime`, as
/// `echo_server --loops N`).
#[derive(Clone, Copy, Debug)]
struct Setup {
    backend: BackendKind,
    loops: usize,
}

impl std::fmt::Display for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.loops {
            1 => write!(f, "{}", self.backend),
            n => write!(f, "{}, {n} loops", self.backend),
        }
    }
}

/// Every setup the echo tests run on: each backend of this machine, with
/// one loop and with two.
fn setups() -> Vec<Setup> {
    backends()
        .into_iter()
        .flat_map(|backend| [1, 2].map(|loops| Setup { backend, loops }))
        .collect()
}

/// What the loops held after `run` returned, summed over them.
#[derive(Debug, PartialEq, Eq)]
struct Final {
    actors: usize,
    watches: usize,
    bridge_watches: usize,
}

/// An echo server on its own thread(s), on 127.0.0.1 and an ephemeral port.
struct TestServer {
    setup: Setup,
    addr: SocketAddr,
    /// Per loop: its handle, its listener actor, its counters, and the
    /// kernel's id of its thread (for its CPU time and its waits).
    handles: Vec<LoopHandle>,
    listeners: Vec<Addr<ListenerMsg>>,
    stats: Vec<Arc<Stats>>,
    tids: Vec<libc::pid_t>,
    thread: Option<JoinHandle<Final>>,
}

/// What a loop holds, read on its thread.
fn final_of(lp: &jzx::Loop) -> Final {
    Final {
        actors: lp.actor_count(),
        watches: lp.watch_count(),
        bridge_watches: lp.bridge_watch_count(),
    }
}

fn start_server(setup: Setup) -> TestServer {
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    if setup.loops > 1 {
        return start_runtime_server(setup, addr);
    }
    let (tx, rx) = mpsc::channel();
    let thread = thread::spawn(move || {
        let mut lp = util::new_loop(setup.backend);
        let server = echo::start(&mut lp, addr).expect("start the echo server");
        tx.send((
            server.local_addr,
            lp.handle(),
            server.listener,
            server.stats.clone(),
            util::current_tid(),
        ))
        .unwrap();
        lp.run().expect("run");
        final_of(&lp)
    });
    let (addr, handle, listener, stats, tid) = rx.recv_timeout(WAIT).expect("server started");
    TestServer {
        setup,
        addr,
        handles: vec![handle],
        listeners: vec![listener],
        stats: vec![stats],
        tids: vec![tid],
        thread: Some(thread),
    }
}

/// The server on a `Runtime` of `setup.loops` loops, run on a thread.
fn start_runtime_server(setup: Setup, addr: SocketAddr) -> TestServer {
    let mut rt = Runtime::with_config(RuntimeConfig {
        loops: setup.loops,
        config: Config {
            backend: setup.backend,
            ..Config::default()
        },
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    let servers = echo::start_on(&rt, addr).expect("start the echo server");
    let tids = (0..setup.loops)
        .map(|i| rt.on_loop(i, |_| util::current_tid()).expect("loop"))
        .collect();
    let handle = rt.handle();
    let thread = thread::spawn(move || {
        rt.run().expect("run");
        (0..rt.loops())
            .map(|i| rt.on_loop(i, |lp| final_of(lp)).expect("loop"))
            .fold(
                Final {
                    actors: 0,
                    watches: 0,
                    bridge_watches: 0,
                },
                |a, b| Final {
                    actors: a.actors + b.actors,
                    watches: a.watches + b.watches,
                    bridge_watches: a.bridge_watches + b.bridge_watches,
                },
            )
    });
    TestServer {
        setup,
        addr: servers[0].local_addr,
        handles: (0..setup.loops)
            .map(|i| handle.loop_handle(i).expect("loop").clone())
            .collect(),
        listeners: servers.iter().map(|s| s.listener).collect(),
        stats: servers.iter().map(|s| s.stats.clone()).collect(),
        tids,
        thread: Some(thread),
    }
}

impl TestServer {
    /// What the loops hold, asked from inside each, summed.
    fn snapshot(&self) -> Snapshot {
        let mut sum = Snapshot {
            actors: 0,
            watches: 0,
            bridge_watches: 0,
            timers: 0,
        };
        for (handle, &listener) in self.handles.iter().zip(&self.listeners) {
            let (tx, rx) = mpsc::channel();
            handle
                .send(listener, ListenerMsg::Snapshot(tx))
                .expect("send to the loop");
            let s = rx.recv_timeout(WAIT).expect("snapshot reply");
            sum.actors += s.actors;
            sum.watches += s.watches;
            sum.bridge_watches += s.bridge_watches;
            sum.timers += s.timers;
        }
        sum
    }

    /// A counter, summed over the loops.
    fn get(&self, f: impl Fn(&Stats) -> &std::sync::atomic::AtomicU64) -> u64 {
        self.stats.iter().map(|s| Stats::get(f(s))).sum()
    }

    /// A counter, per loop.
    fn per_loop(&self, f: impl Fn(&Stats) -> &std::sync::atomic::AtomicU64) -> Vec<u64> {
        self.stats.iter().map(|s| Stats::get(f(s))).collect()
    }

    /// Whether every loop's thread waits in its event loop.
    fn blocked_in_reactor(&self) -> bool {
        self.tids.iter().all(|&t| util::blocked_in_reactor(t))
    }

    /// The CPU time all the loops' threads have used so far.
    fn cpu_time(&self) -> Duration {
        self.tids.iter().map(|&t| thread_cpu_time(t)).sum()
    }

    /// The loops holding nothing but their listeners: one actor and one
    /// watched listening socket per loop.
    fn idle(&self) -> Final {
        let n = self.setup.loops;
        Final {
            actors: n,
            watches: n,
            bridge_watches: n,
        }
    }

    /// Waits until every connection is gone: no connection actor, only the
    /// listeners' watches (in the runtime and in the bridge), no timer, and
    /// this process back to `fds` open fds.
    #[track_caller]
    fn wait_idle(&self, fds: usize) {
        let want = self.idle();
        let idle = Snapshot {
            actors: want.actors,
            watches: want.watches,
            bridge_watches: want.bridge_watches,
            timers: 0,
        };
        let mut last = None;
        let back = util::wait_until(WAIT, || {
            let state = (self.snapshot(), self.get(|s| &s.open), fd_count());
            let done = state.0 == idle && state.1 == 0 && state.2 == fds;
            last = Some(state);
            done
        });
        let (snap, open, now_fds) = last.unwrap();
        assert!(
            back,
            "{}: server not back to idle: {snap:?}, {open} connections open, {now_fds} fds (baseline {fds})",
            self.setup
        );
    }

    /// Stops every loop, joins the thread and returns what they held.
    fn stop(mut self) -> Final {
        for h in &self.handles {
            h.request_stop();
        }
        let thread = self.thread.take().unwrap();
        wait_for(
            || thread.is_finished(),
            || "the server loops did not stop".into(),
        );
        thread.join().expect("server thread")
    }

    /// Stops the server and checks that only the listeners were left.
    fn stop_clean(self) {
        let (setup, idle) = (self.setup, self.idle());
        let fin = self.stop();
        assert_eq!(fin, idle, "{setup}: after run returned");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // A failed test: stop the loops, but never hang on a stuck one.
        if let Some(thread) = self.thread.take() {
            for h in &self.handles {
                h.request_stop();
            }
            if util::wait_until(Duration::from_secs(5), || thread.is_finished()) {
                let _ = thread.join();
            }
        }
    }
}

// -------------------------------------------------------------------- tests

#[test]
fn fifty_connections_each_echo_one_mebibyte() {
    let _serial = serial();
    const CONNS: usize = 50;
    const SIZE: usize = 1 << 20;
    for setup in setups() {
        let server = start_server(setup);
        let fds = fd_count();
        let addr = server.addr;
        thread::scope(|s| {
            let clients: Vec<_> = (0..CONNS)
                .map(|i| {
                    s.spawn(move || {
                        let data = random_bytes(i as u64 + 1, SIZE);
                        let stream = connect(addr);
                        let got = echo_concurrently(&stream, &data);
                        assert_same(&got, &data, &format!("{setup}: connection {i}"));
                    })
                })
                .collect();
            for c in clients {
                c.join().expect("client");
            }
        });
        server.wait_idle(fds);
        assert_eq!(server.get(|s| &s.accepted), CONNS as u64, "{setup}");
        assert_eq!(
            server.get(|s| &s.bytes_echoed),
            (CONNS * SIZE) as u64,
            "{setup}"
        );
        assert_eq!(server.get(|s| &s.accept_errors), 0, "{setup}");
        server.stop_clean();
    }
}

#[test]
fn a_client_that_writes_8_mib_before_reading_gets_it_all_back_in_order() {
    // Backpressure: the server's writes come up short, it stops reading
    // while the client does not read, and nothing is lost or reordered.
    let _serial = serial();
    const SIZE: usize = 8 << 20;
    for setup in setups() {
        let server = start_server(setup);
        let fds = fd_count();
        let data = random_bytes(8, SIZE);
        let stream = connect(server.addr);
        thread::scope(|s| {
            let (tx, rx) = mpsc::channel();
            let (out, bytes) = (&stream, &data);
            let writer = s.spawn(move || {
                tx.send(util::current_tid()).unwrap();
                let mut out = out;
                out.write_all(bytes).expect("write 8 MiB");
                out.shutdown(Shutdown::Write).expect("shutdown");
            });
            let writer_tid = rx.recv().unwrap();
            // Read nothing until the server has hit a short write...
            wait_for(
                || server.get(|s| &s.short_writes) > 0,
                || format!("{setup}: the server never saw a short write"),
            );
            // ...and check that it then stops: its loop waits with nothing to
            // do while the writer cannot send more (or has sent it all: more
            // than the kernel holds for an echo nobody reads), one buffer in
            // flight...
            wait_for(
                || {
                    (writer.is_finished()
                        || util::wait::blocked_in(writer_tid, &util::wait::socket_writes()))
                        && server.blocked_in_reactor()
                },
                || format!("{setup}: the server kept reading from a client that does not read"),
            );
            // ...and a turn of its loop later, has echoed nothing more.
            let before = server.get(|s| &s.bytes_echoed);
            server.snapshot();
            let after = server.get(|s| &s.bytes_echoed);
            assert_eq!(
                before, after,
                "{setup}: the server kept writing to a client that does not read"
            );
            assert!(
                (before as usize) < SIZE,
                "{setup}: everything was echoed without reading"
            );
            let mut got = Vec::with_capacity(SIZE);
            (&stream).read_to_end(&mut got).expect("read the echo");
            writer.join().expect("writer");
            assert_same(&got, &data, &format!("{setup}: 8 MiB echo"));
        });
        drop(stream);
        server.wait_idle(fds);
        assert_eq!(server.get(|s| &s.bytes_echoed), SIZE as u64, "{setup}");
        server.stop_clean();
    }
}

#[test]
fn abrupt_resets_mid_transfer_leak_nothing() {
    let _serial = serial();
    for setup in setups() {
        let server = start_server(setup);
        let fds = fd_count();
        for round in 0..10u64 {
            // A client that does not read: the server is blocked in a write
            // (WRITE interest, a buffer pending) when the reset comes.
            let stream = connect(server.addr);
            let short_writes = server.get(|s| &s.short_writes);
            stream.set_nonblocking(true).unwrap();
            let chunk = random_bytes(round, 256 << 10);
            wait_for(
                || {
                    // Fill what the kernel takes, then see if the server's
                    // echo came up short.
                    loop {
                        match retry_eintr(|| (&stream).write(&chunk)) {
                            Ok(_) => continue,
                            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                            Err(e) => panic!("{setup}: write: {e}"),
                        }
                    }
                    server.get(|s| &s.short_writes) > short_writes
                },
                || format!("{setup}: round {round}: no short write"),
            );
            reset(stream);

            // A client that reads part of the echo, then resets with unread
            // data in both directions.
            let stream = connect(server.addr);
            let data = random_bytes(round + 100, 256 << 10);
            (&stream).write_all(&data).expect("write");
            let mut part = vec![0; 10 << 10];
            (&stream).read_exact(&mut part).expect("read part");
            assert_same(&part, &data[..part.len()], "partial echo");
            reset(stream);

            // A reset right after connecting, before any byte.
            reset(connect(server.addr));
        }
        wait_for(
            || server.get(|s| &s.accepted) + server.get(|s| &s.accept_errors) == 30,
            || format!("{setup}: not every connection was accepted"),
        );
        server.wait_idle(fds);
        assert!(server.get(|s| &s.conn_errors) > 0, "{setup}: no reset seen");
        // The server still works.
        let stream = connect(server.addr);
        let got = echo_concurrently(&stream, b"still alive");
        assert_eq!(got, b"still alive");
        drop(stream);
        server.wait_idle(fds);
        server.stop_clean();
    }
}

#[test]
fn half_closed_clients_get_the_full_echo_then_eof() {
    let _serial = serial();
    for setup in setups() {
        let server = start_server(setup);
        let fds = fd_count();
        // Concurrently: on epoll the EOF comes late (see
        // `a_closed_connection_reaches_the_client_promptly`).
        thread::scope(|s| {
            for (i, size) in [0usize, 5, 64 << 10, 1 << 20].into_iter().enumerate() {
                let addr = server.addr;
                s.spawn(move || {
                    let data = random_bytes(i as u64 + 40, size);
                    let stream = connect(addr);
                    let mut got = Vec::new();
                    thread::scope(|s| {
                        let writer = s.spawn(|| {
                            (&stream).write_all(&data)?;
                            stream.shutdown(Shutdown::Write)
                        });
                        // read_to_end returns at EOF: the server closed after
                        // echoing everything.
                        (&stream).read_to_end(&mut got).expect("read until EOF");
                        writer.join().unwrap().expect("write then shutdown");
                    });
                    assert_same(&got, &data, &format!("{setup}: half-close, {size} bytes"));
                    // And EOF stays EOF.
                    let eof = retry_eintr(|| (&stream).read(&mut [0; 16]));
                    assert_eq!(eof.expect("read at EOF"), 0);
                });
            }
        });
        server.wait_idle(fds);
        assert_eq!(server.get(|s| &s.conn_errors), 0, "{setup}");
        server.stop_clean();
    }
}

#[test]
// Regression: on epoll the bridge once closed released watches' duplicate fds
// only after its blocking tick, so a closed connection stayed open up to 1 s.
fn a_closed_connection_reaches_the_client_promptly() {
    // The server closes right after echoing what a half-closed client sent;
    // the client must see that EOF at once, not when the loop next wakes up.
    let _serial = serial();
    for setup in setups() {
        let server = start_server(setup);
        for i in 0..5 {
            let stream = connect(server.addr);
            (&stream).write_all(b"bye").unwrap();
            let start = Instant::now();
            stream.shutdown(Shutdown::Write).unwrap();
            let mut got = Vec::new();
            (&stream).read_to_end(&mut got).unwrap();
            let took = start.elapsed();
            assert_eq!(got, b"bye");
            assert!(
                took < Duration::from_millis(200),
                "{setup}: round {i}: EOF came {took:?} after the half-close"
            );
        }
        server.stop_clean();
    }
}

#[test]
fn a_thousand_connect_disconnect_cycles_leave_nothing_behind() {
    let _serial = serial();
    const CYCLES: u64 = 1000;
    for setup in setups() {
        let server = start_server(setup);
        let fds = fd_count();
        for i in 0..CYCLES {
            let stream = connect(server.addr);
            match i % 4 {
                // Close at once.
                0 => drop(stream),
                // One round trip, then close.
                1 => {
                    (&stream).write_all(&i.to_le_bytes()).unwrap();
                    let mut got = [0; 8];
                    (&stream).read_exact(&mut got).unwrap();
                    assert_eq!(got, i.to_le_bytes(), "{setup}: cycle {i}");
                }
                // Half-close, read the echo, close (not waiting for the
                // server's EOF: see `a_closed_connection_reaches_the_client_promptly`).
                2 => {
                    (&stream).write_all(b"bye").unwrap();
                    stream.shutdown(Shutdown::Write).unwrap();
                    let mut got = [0; 3];
                    (&stream).read_exact(&mut got).unwrap();
                    assert_eq!(&got, b"bye", "{setup}: cycle {i}");
                }
                // Write and reset.
                _ => {
                    (&stream).write_all(&[7; 100]).unwrap();
                    reset(stream);
                }
            }
        }
        wait_for(
            || server.get(|s| &s.accepted) + server.get(|s| &s.accept_errors) == CYCLES,
            || {
                format!(
                    "{setup}: {} accepted, {} accept errors",
                    server.get(|s| &s.accepted),
                    server.get(|s| &s.accept_errors)
                )
            },
        );
        server.wait_idle(fds);
        assert_eq!(
            server.get(|s| &s.closed),
            server.get(|s| &s.accepted),
            "{setup}"
        );
        server.stop_clean();
    }
}

#[test]
fn two_thousand_concurrent_connections_are_held_and_served() {
    let _serial = serial();
    const CONNS: usize = 2000;
    // Client and server socket per connection (a watch costs no fd).
    let need = (CONNS * 2 + 256) as libc::rlim_t;
    let mut lim = get_nofile();
    if lim.rlim_cur < need && lim.rlim_max >= need {
        lim.rlim_cur = lim.rlim_max;
        set_nofile(lim);
    }
    if lim.rlim_cur < need {
        eprintln!(
            "skipping: RLIMIT_NOFILE {} (hard {}) is below the {need} fds needed",
            lim.rlim_cur, lim.rlim_max
        );
        return;
    }
    for setup in setups() {
        let server = start_server(setup);
        let fds = fd_count();
        let clients: Vec<TcpStream> = (0..CONNS)
            .map(|i| {
                let s = connect(server.addr);
                (&s).write_all(format!("hello {i:05}").as_bytes()).unwrap();
                s
            })
            .collect();
        // All of them are held at once.
        wait_for(
            || server.snapshot().actors == CONNS + setup.loops,
            || format!("{setup}: {:?}", server.snapshot()),
        );
        assert_eq!(server.get(|s| &s.open), CONNS as u64, "{setup}");
        for (i, s) in clients.iter().enumerate() {
            let mut got = [0; 11];
            let mut s: &TcpStream = s;
            s.read_exact(&mut got).expect("read the echo");
            assert_eq!(&got, format!("hello {i:05}").as_bytes(), "{setup}");
        }
        // A second round while all are still open.
        for s in &clients {
            (&*s).write_all(b"again").unwrap();
        }
        for s in &clients {
            let mut got = [0; 5];
            (&*s).read_exact(&mut got).unwrap();
            assert_eq!(&got, b"again", "{setup}");
        }
        assert_eq!(server.get(|s| &s.accept_errors), 0, "{setup}");
        drop(clients);
        server.wait_idle(fds);
        server.stop_clean();
    }
}

#[test]
fn on_two_loops_both_loops_accept_and_serve_connections() {
    // R29: `--loops 2` spreads connections over the loops (with enough of
    // them: the kernel's choice is a hash of the addresses).
    let _serial = serial();
    const CONNS: usize = 64;
    for setup in setups().into_iter().filter(|s| s.loops == 2) {
        let server = start_server(setup);
        let fds = fd_count();
        let clients: Vec<TcpStream> = (0..CONNS).map(|_| connect(server.addr)).collect();
        for (i, s) in clients.iter().enumerate() {
            let msg = format!("connection {i:03}");
            let got = echo_concurrently(s, msg.as_bytes());
            assert_eq!(got, msg.as_bytes(), "{setup}");
        }
        // A loop counts an echo after its send returns, which may be after
        // the client has read it.
        let total =
            |f: fn(&Stats) -> &std::sync::atomic::AtomicU64| server.per_loop(f).iter().sum::<u64>();
        wait_for(
            || {
                total(|s| &s.accepted) == CONNS as u64
                    && total(|s| &s.bytes_echoed) == CONNS as u64 * 14
            },
            || format!("{setup}: {:?}", server.per_loop(|s| &s.bytes_echoed)),
        );
        let accepted = server.per_loop(|s| &s.accepted);
        let echoed = server.per_loop(|s| &s.bytes_echoed);
        assert!(
            accepted.iter().all(|&n| n > 0) && echoed.iter().all(|&n| n > 0),
            "{setup}: a loop served nothing: accepted {accepted:?}, echoed {echoed:?}"
        );
        // Each loop's open connections are its own actors.
        assert_eq!(server.snapshot().actors, CONNS + setup.loops, "{setup}");
        drop(clients);
        server.wait_idle(fds);
        server.stop_clean();
    }
}

/// The index of the first of `socks` to have bytes to read (`poll(2)`,
/// bounded by `WAIT`).
fn first_readable(socks: &[Socket]) -> usize {
    let mut fds: Vec<libc::pollfd> = socks
        .iter()
        .map(|s| libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(s),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = WAIT.as_millis() as libc::c_int;
    // SAFETY: `fds` is a valid array of `fds.len()` pollfd structures.
    let n = retry_eintr(|| {
        match unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) } {
            -1 => Err(std::io::Error::last_os_error()),
            n => Ok(n),
        }
    })
    .expect("poll");
    assert!(n > 0, "no echo within {WAIT:?}");
    fds.iter()
        .position(|p| p.revents & libc::POLLIN != 0)
        .expect("a readable socket")
}

/// Restores `RLIMIT_NOFILE` when dropped (also when a test fails).
struct RestoreNofile(libc::rlimit);

impl Drop for RestoreNofile {
    fn drop(&mut self) {
        // SAFETY: `self.0` is a valid rlimit read with getrlimit.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &self.0) };
    }
}

#[test]
fn running_out_of_fds_pauses_accepting_without_spinning_then_recovers() {
    // EMFILE at accept: reported, counted, accepting pauses (no busy loop),
    // open connections are still served, and queued clients are accepted once
    // fds are free again.
    let _serial = serial();
    const CLIENTS: usize = 12;
    for setup in setups() {
        let server = start_server(setup);
        let fds = fd_count();
        // The client sockets exist before the limit drops: connecting them
        // takes no new fd.
        let clients: Vec<Socket> = (0..CLIENTS)
            .map(|_| Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap())
            .collect();
        let orig = get_nofile();
        let restore = RestoreNofile(orig);
        // Leave exactly two fd numbers free: two connections (a watch costs
        // no fd), then EMFILE.
        let mut free = 0;
        let mut limit = 0;
        while free < 2 {
            if !fd_is_open(limit) {
                free += 1;
            }
            limit += 1;
        }
        set_nofile(libc::rlimit {
            rlim_cur: limit as libc::rlim_t,
            rlim_max: orig.rlim_max,
        });
        for c in &clients {
            c.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            c.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
            c.connect(&server.addr.into()).expect("connect (queued)");
        }
        wait_for(
            || server.get(|s| &s.accept_errors) > 0,
            || format!("{setup}: no accept error with no fd left"),
        );
        // A connection accepted before fds ran out is served meanwhile
        // (which ones were accepted depends on the loops' race on several):
        // all are sent to, the first echo to come back is checked, and the
        // others' echo comes once they are accepted (below).
        let mut expect: Vec<Vec<u8>> = vec![b"first".to_vec(); CLIENTS];
        for c in &clients {
            (&*c).write_all(b"first").unwrap();
        }
        let served = first_readable(&clients);
        let mut got = [0; 5];
        (&clients[served]).read_exact(&mut got).unwrap();
        assert_eq!(&got, b"first", "{setup}");
        expect[served].clear();
        // Not spinning: accepting pauses for 20 ms after each error (one
        // attempt per pause, not thousands), on the real clock. Pauses are
        // per listener: watch the loop that pauses first.
        const PAUSES: u64 = 5;
        let t1 = Instant::now();
        let (e1, p1) = (
            server.per_loop(|s| &s.accept_errors),
            server.per_loop(|s| &s.accept_pauses),
        );
        let mut pausing = 0;
        wait_for(
            || {
                let p = server.per_loop(|s| &s.accept_pauses);
                match (0..p.len()).find(|&i| p[i] >= p1[i] + PAUSES) {
                    Some(i) => {
                        pausing = i;
                        true
                    }
                    None => false,
                }
            },
            || format!("{setup}: accepting never paused again"),
        );
        let (e2, took) = (server.per_loop(|s| &s.accept_errors), t1.elapsed());
        let errors = e2[pausing] - e1[pausing];
        assert!(
            errors <= 2 * PAUSES + 2,
            "{setup}: {errors} accept errors for {PAUSES} pauses: the listener spins"
        );
        // Pauses p1 + 2 to p1 + 5 each came a whole pause after the one
        // before (timers are never early), all after t1.
        assert!(
            took >= echo::ACCEPT_PAUSE * (PAUSES - 1) as u32,
            "{setup}: {PAUSES} pauses in {took:?}"
        );
        // Fds free again: every queued client is accepted and served.
        drop(restore);
        for (i, (c, mut want)) in clients.iter().zip(expect).enumerate() {
            let msg = format!("client {i:02}");
            (&*c).write_all(msg.as_bytes()).unwrap();
            want.extend_from_slice(msg.as_bytes());
            let mut got = vec![0; want.len()];
            (&*c).read_exact(&mut got).expect("echo after recovery");
            assert_eq!(got, want, "{setup}");
        }
        assert_eq!(server.get(|s| &s.accepted), CLIENTS as u64, "{setup}");
        drop(clients);
        server.wait_idle(fds);
        server.stop_clean();
    }
}

// ------------------------------------------------------------ the example

/// The example binary, built if needed (cargo does not build examples for
/// `cargo test --test echo_server`).
fn example_binary() -> PathBuf {
    // target/<profile>/deps/echo_server-<hash> → target/<profile>
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .to_path_buf();
    let bin = profile_dir.join("examples").join("echo_server");
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug")
        .to_string();
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet", "--example", "echo_server", "--profile"])
        .arg(if profile == "debug" { "dev" } else { &profile })
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null());
    if let Some(target_dir) = profile_dir.parent() {
        cmd.env("CARGO_TARGET_DIR", target_dir);
    }
    // Bounded (cargo may wait for a lock), its messages kept in a log file;
    // when the build fails, an existing binary is used with a warning.
    let log_path = profile_dir.join("echo_server-example-build.log");
    let log = std::fs::File::create(&log_path).expect("build log");
    cmd.stdout(Stdio::null()).stderr(log);
    let mut child = cmd.spawn().expect("run cargo build --example echo_server");
    let status = util::wait_child(&mut child, Duration::from_secs(300));
    if !status.is_some_and(|s| s.success()) {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        assert!(
            bin.exists(),
            "cargo build --example echo_server failed ({status:?}) and {} does not exist:\n{log}",
            bin.display()
        );
        eprintln!(
            "warning: cargo build --example echo_server failed ({status:?}); testing the existing {} (log: {})",
            bin.display(),
            log_path.display()
        );
    }
    bin
}

/// A child process killed when dropped (a failed test leaves none behind).
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The example binary started on a free port, `setup.backend` and
/// `--loops setup.loops` (none for one loop), with its soft and hard
/// `RLIMIT_NOFILE` set to `nofile` when given (the example raises its soft
/// limit to the hard one); once its banner is checked, the process, its port
/// and the rest of its stdout, line by line.
fn start_example(
    bin: &std::path::Path,
    setup: Setup,
    nofile: Option<libc::rlim_t>,
) -> (Server, u16, mpsc::Receiver<String>) {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cmd = Command::new(bin);
    cmd.arg(port.to_string());
    if setup.loops > 1 {
        cmd.args(["--loops", &setup.loops.to_string()]);
    }
    cmd.env("JZX_BACKEND", setup.backend.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(n) = nofile {
        util::limit_nofile(&mut cmd, n);
    }
    let mut server = Server(cmd.spawn().expect("start the example"));
    // Its stdout, line by line, through a channel (reads are bounded).
    let (tx, lines) = mpsc::channel();
    let stdout = server.0.stdout.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + WAIT;
    while !seen.iter().any(|l: &String| l.contains("open-file limit")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(e) => panic!("{setup}: no banner from the example ({e}); saw {seen:?}"),
        }
    }
    let banner = seen.join("\n");
    assert!(
        banner.contains(&format!("listening on 0.0.0.0:{port}")),
        "{banner}"
    );
    assert!(
        banner.contains(&format!("backend: {})", setup.backend)),
        "{banner}"
    );
    if setup.loops > 1 {
        assert!(
            banner.contains(&format!(" on {} loops", setup.loops)),
            "{banner}"
        );
    }
    assert!(
        banner.contains(&format!("connect with: nc 127.0.0.1 {port}")),
        "{banner}"
    );
    if let Some(n) = nofile {
        assert!(
            banner.contains(&format!("open-file limit: {n})")),
            "{banner}"
        );
    }
    (server, port, lines)
}

/// The example's per-loop lines ("loop I: N connections accepted, ..."),
/// printed on exit when it runs on several loops: N of each, in loop order.
fn accepted_per_loop(tail: &str) -> Vec<u64> {
    tail.lines()
        .filter(|l| l.starts_with("loop ") && !l.starts_with("loop metrics"))
        .map(|l| {
            l.split_once(": ")
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("bad per-loop line {l:?}"))
        })
        .collect()
}

/// Sends `sig` to the example and waits (at most 5 s) for it to exit with
/// status 0; returns the rest of its stdout.
fn stop_example(server: &mut Server, sig: libc::c_int, lines: mpsc::Receiver<String>) -> String {
    let what = format!("the example (pid {})", server.0.id());
    util::signal_and_wait(&mut server.0, sig, &what);
    lines.iter().collect::<Vec<_>>().join("\n")
}

#[test]
fn the_example_binary_echoes_and_stops_on_sigterm_or_sigint() {
    let _serial = serial();
    let bin = example_binary();
    for setup in setups() {
        for (sig, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT")] {
            let (mut server, port, lines) = start_example(&bin, setup, None);
            let stream = connect(SocketAddr::from(([127, 0, 0, 1], port)));
            let got = echo_concurrently(&stream, b"hello from the test\n");
            assert_eq!(got, b"hello from the test\n", "{setup}");

            let tail = stop_example(&mut server, sig, lines);
            // Its closing lines: the signal seen, the connection counted.
            assert!(tail.contains(&format!("{name} received")), "{tail}");
            assert!(tail.contains("1 connections accepted"), "{tail}");
            // The loops' metrics (one line each): at least the listener's
            // readiness and the connection's.
            let metrics: Vec<&str> = tail
                .lines()
                .filter_map(|l| l.split_once("metrics: ").map(|(_, m)| m))
                .collect();
            assert_eq!(
                metrics.len(),
                setup.loops,
                "{setup}: metrics lines in {tail}"
            );
            let io_events: u64 = metrics
                .iter()
                .map(|m| {
                    m.split(", ")
                        .find_map(|f| f.strip_prefix("I/O events "))
                        .and_then(|n| n.parse::<u64>().ok())
                        .unwrap_or_else(|| panic!("{setup}: no I/O events in {m}"))
                })
                .sum();
            assert!(io_events >= 2, "{setup}: {metrics:?}");
            // The connection was closed by the server's exit.
            let mut buf = [0; 8];
            match retry_eintr(|| (&stream).read(&mut buf)) {
                Ok(0) => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
                other => panic!("{setup}: expected EOF after exit, got {other:?}"),
            }
        }
    }
}

/// The CPU time (user + system) thread `tid` of this process has used so far.
fn thread_cpu_time(tid: libc::pid_t) -> Duration {
    let path = format!("/proc/self/task/{tid}/stat");
    let stat = std::fs::read_to_string(&path).expect(&path);
    // The fields after the command name (which may hold spaces) start at
    // field 3; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

/// The TCP state of a socket (`TCP_FIN_WAIT2` = 5: its FIN was acknowledged).
fn tcp_state(s: &TcpStream) -> u8 {
    // SAFETY: tcp_info is plain data; all zeroes is a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `info` and `len` are valid for writes of the sizes given.
    let rc = unsafe {
        libc::getsockopt(
            std::os::fd::AsRawFd::as_raw_fd(s),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "TCP_INFO: {}", std::io::Error::last_os_error());
    info.tcpi_state
}

#[test]
// Regression: on io_uring a WRITE watch's poll completed again at once on
// every tick for a half-closed peer with a full send buffer (io_uring adds
// RDHUP to a poll's mask): the server burned a core reporting nothing.
fn a_slow_half_closed_client_costs_the_server_no_cpu() {
    let _serial = serial();
    const TCP_FIN_WAIT2: u8 = 5;
    for setup in setups() {
        let server = start_server(setup);
        let fds = fd_count();
        let stream = connect(server.addr);
        // Send until the server's echo comes up short (this client does not
        // read): it then watches for WRITE only and stops reading. Stop
        // there, so that what is in flight fits the server's receive buffer
        // and the half-close reaches it.
        let chunk = random_bytes(77, 16 << 10);
        let mut sent = Vec::new();
        while server.get(|s| &s.short_writes) == 0 {
            assert!(
                sent.len() < 64 << 20,
                "{setup}: no short write after {} bytes",
                sent.len()
            );
            (&stream).write_all(&chunk).expect("write");
            sent.extend_from_slice(&chunk);
            // The server has echoed all of it, or its echo came up short.
            wait_for(
                || {
                    server.get(|s| &s.short_writes) > 0
                        || server.get(|s| &s.bytes_echoed) == sent.len() as u64
                },
                || format!("{setup}: the server neither echoed nor came up short"),
            );
        }
        stream.shutdown(Shutdown::Write).unwrap();
        wait_for(
            || tcp_state(&stream) == TCP_FIN_WAIT2,
            || format!("{setup}: the server's kernel never acknowledged the half-close"),
        );
        // Once its loop has handled the half-close and waits.
        wait_for(
            || server.blocked_in_reactor(),
            || format!("{setup}: the server's loop never waited"),
        );
        let before = server.cpu_time();
        // Real clock: the CPU time the server's thread uses in a second of
        // it (a loop that spins would use most of it).
        thread::sleep(Duration::from_secs(1));
        let used = server.cpu_time() - before;
        assert!(
            used < Duration::from_millis(100),
            "{setup}: the server used {used:?} of CPU in 1 s with nothing ready"
        );
        // The client reads at last: everything comes back, then EOF.
        let mut got = Vec::with_capacity(sent.len());
        loop {
            let mut buf = [0u8; 64 << 10];
            match (&stream).read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("{setup}: read the echo: {e}"),
            }
        }
        assert_same(
            &got,
            &sent,
            &format!("{setup}: the echo after the half-close"),
        );
        drop(stream);
        server.wait_idle(fds);
        server.stop_clean();
    }
}

#[test]
fn ten_thousand_concurrent_connections_fit_in_a_10240_fd_limit() {
    // SPEC R17: a watch costs no fd of the server beyond a small constant, so
    // 10,000 connections fit in RLIMIT_NOFILE = 10,240. The server is the
    // example binary in a process of its own with that limit; this process
    // holds the 10,000 client sockets.
    let _serial = serial();
    const CONNS: usize = 10_000;
    const BATCH: usize = 500;
    const SERVER_NOFILE: libc::rlim_t = 10_240;
    let orig = get_nofile();
    let _restore = RestoreNofile(orig);
    let need = (CONNS + 512) as libc::rlim_t;
    assert!(
        orig.rlim_max >= need,
        "the hard RLIMIT_NOFILE {} is below the {need} fds this test's clients need",
        orig.rlim_max
    );
    set_nofile(libc::rlimit {
        rlim_cur: orig.rlim_max,
        rlim_max: orig.rlim_max,
    });
    let bin = example_binary();
    for setup in setups() {
        let (mut server, port, lines) = start_example(&bin, setup, Some(SERVER_NOFILE));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut clients: Vec<TcpStream> = Vec::with_capacity(CONNS);
        let mut sent = 0usize;
        // Connected in batches (the listen backlog is 1,024), each
        // connection echoing once; all of them stay open.
        while clients.len() < CONNS {
            let first = clients.len();
            for i in first..first + BATCH {
                let s = connect(addr);
                (&s).write_all(format!("hello {i:05}").as_bytes())
                    .unwrap_or_else(|e| panic!("{setup}: connection {i}: {e}"));
                sent += 11;
                clients.push(s);
            }
            for (i, s) in clients.iter().enumerate().skip(first) {
                let mut got = [0; 11];
                (&*s)
                    .read_exact(&mut got)
                    .unwrap_or_else(|e| panic!("{setup}: connection {i} got no echo: {e}"));
                assert_eq!(&got, format!("hello {i:05}").as_bytes(), "{setup}");
            }
        }
        // A second round while all 10,000 are open.
        for s in &clients {
            (&*s).write_all(b"again").unwrap();
            sent += 5;
        }
        for (i, s) in clients.iter().enumerate() {
            let mut got = [0; 5];
            (&*s)
                .read_exact(&mut got)
                .unwrap_or_else(|e| panic!("{setup}: connection {i}, second round: {e}"));
            assert_eq!(&got, b"again", "{setup}");
        }
        let tail = stop_example(&mut server, libc::SIGTERM, lines);
        assert!(
            tail.contains(&format!(
                "{CONNS} connections accepted, {CONNS} still open, 0 accept errors, {sent} bytes echoed"
            )),
            "{setup}: {tail}"
        );
        if setup.loops > 1 {
            // Every loop served its share.
            let per_loop = accepted_per_loop(&tail);
            assert_eq!(per_loop.len(), setup.loops, "{setup}: {tail}");
            assert_eq!(
                per_loop.iter().sum::<u64>(),
                CONNS as u64,
                "{setup}: {tail}"
            );
            assert!(per_loop.iter().all(|&n| n > 0), "{setup}: {per_loop:?}");
        }
        drop(clients);
    }
}
