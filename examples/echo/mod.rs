//! The echo server's actors, shared by `examples/echo_server.rs` and the
//! integration tests (`tests/echo_server.rs`, which include this file with
//! `#[path]`), so tests can start the very same server on an ephemeral port.
//!
//! - A [`Listener`] owns the listening socket (non-blocking, close-on-exec,
//!   `SO_REUSEADDR`, backlog 1024) and watches it for READ. On each readiness
//!   it accepts until the queue is drained (`WouldBlock`), spawning one
//!   connection actor per client and watching the client's fd for it.
//! - A connection actor owns its socket and one 64 KiB buffer (allocated once,
//!   when the connection is accepted). It reads into the buffer and writes it
//!   back. On a short write it keeps the rest, switches its watch to WRITE and
//!   reads nothing until the rest is flushed, then switches back to READ: one
//!   buffer in flight, so a client that does not read slows down to the pace
//!   it reads at (backpressure) instead of growing the server's memory.
//! - EOF or an error (a reset, ...) closes the socket and stops the actor. It
//!   closes its fd first and then stops without unwatching: the runtime removes
//!   the watch at teardown (SPEC R17). A half-closed client (it shut down its
//!   write side) still gets everything back: the server reads only when
//!   nothing is pending, so when it reads EOF every byte has been echoed, and
//!   it then closes, which the client sees as EOF.
//!
//! **On N loops** ([`start_on`], for `echo_server --loops N`): every loop
//! of a [`Runtime`] has a listener actor of its own, with its own counters,
//! on its own listening socket; all are bound to the same port with
//! `SO_REUSEPORT`, so the kernel spreads the connections over them (by a
//! hash of the addresses) and each loop accepts and serves its own: a
//! connection, its actor and its watch live on one loop's thread, and the
//! loops never talk to each other. (Handing every connection from one
//! acceptor on loop 0 to the loops in turn was measured too, and cost more
//! CPU per echo: see BENCHMARKS.md, "Echo on N loops".)
//!
//! **Accept errors.** `ECONNABORTED` (the client went away while queued) is
//! counted and the drain goes on. Running out of resources — `EMFILE`,
//! `ENFILE`, `ENOBUFS`, `ENOMEM`, or the runtime refusing to watch a new
//! connection — is counted, reported on stderr (at most once a second, with
//! the number of reports suppressed meanwhile) and **pauses accepting for
//! [`ACCEPT_PAUSE`]**: the listener unwatches its socket and sends itself a
//! `Resume` message with `send_after`. A level-triggered watch on a listener
//! with a queued connection it cannot accept would otherwise fire again at
//! once, forever, at 100% CPU. Pending clients stay in the kernel's queue
//! and are accepted once fds are free again; the connections already open
//! keep being served meanwhile.
#![allow(dead_code)] // Not every user of this module uses every item.

use jzx::{Actor, Addr, Context, Core, Flow, Interest, IoEvent, Runtime};
use socket2::{Domain, Protocol, Socket, Type};
use std::convert::Infallible;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Size of each connection's buffer.
pub const BUF_SIZE: usize = 64 * 1024;

/// The listen backlog (the kernel caps it at `net.core.somaxconn`).
pub const BACKLOG: i32 = 1024;

/// How long accepting pauses after a resource error (EMFILE and the like).
pub const ACCEPT_PAUSE: Duration = Duration::from_millis(20);

/// Full buffers a connection reads per readiness event before it lets the
/// other actors run (the watch is level-triggered: it hears again).
const READS_PER_EVENT: usize = 4;

/// Counters of a running server. The loop's thread updates them; any thread
/// may read them (relaxed atomics: each value is exact, a set of them read
/// together is not a snapshot).
#[derive(Debug, Default)]
pub struct Stats {
    /// Connections accepted.
    pub accepted: AtomicU64,
    /// Accept errors of any kind (including connections accepted that the
    /// runtime refused to watch).
    pub accept_errors: AtomicU64,
    /// Times accepting was paused after a resource error.
    pub accept_pauses: AtomicU64,
    /// Connection actors alive now (a gauge).
    pub open: AtomicU64,
    /// Connections ended (EOF or error).
    pub closed: AtomicU64,
    /// Connections ended by an error (reset, broken pipe, ...).
    pub conn_errors: AtomicU64,
    /// Bytes written back to clients.
    pub bytes_echoed: AtomicU64,
    /// Short writes: times a connection switched to WRITE interest.
    pub short_writes: AtomicU64,
}

impl Stats {
    /// Reads one counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Relaxed)
    }
}

/// What the loop holds, as seen from inside it (see [`ListenerMsg::Snapshot`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// Live actors of the loop.
    pub actors: usize,
    /// Watched fds.
    pub watches: usize,
    /// Registrations the bridge still holds.
    pub bridge_watches: usize,
    /// Pending timers.
    pub timers: usize,
}

/// A running echo server: where it listens, its listener, its counters.
#[derive(Debug, Clone)]
pub struct Server {
    /// The address bound (with the real port when port 0 was asked for).
    pub local_addr: SocketAddr,
    /// The listener actor.
    pub listener: Addr<ListenerMsg>,
    /// Counters shared with the actors.
    pub stats: Arc<Stats>,
}

/// Binds `addr` and starts an echo server on the loop (`&mut Loop` coerces to
/// `&mut Core`): it serves while the loop runs.
///
/// # Errors
///
/// The socket cannot be created, bound or listened on, or the runtime refuses
/// to spawn the listener or watch its socket.
pub fn start(core: &mut Core, addr: SocketAddr) -> anyhow::Result<Server> {
    start_with(core, listen_socket(addr, false)?)
}

/// Binds `addr` once per loop of `rt`, with `SO_REUSEPORT`, and starts an
/// echo server on every loop (call it between runs: they serve while the
/// runtime runs). Returns one [`Server`] per loop, in loop order, each with
/// its own counters; with port 0 all listen on the port the first bind got.
///
/// # Errors
///
/// As [`start`], on any loop; or a loop cannot be reached.
pub fn start_on(rt: &Runtime, addr: SocketAddr) -> anyhow::Result<Vec<Server>> {
    let mut addr = addr;
    let mut servers = Vec::with_capacity(rt.loops());
    for index in 0..rt.loops() {
        let sock = listen_socket(addr, true)?;
        let server = rt.on_loop(index, move |lp| start_with(lp, sock))??;
        // Port 0 is resolved by the first bind; the others take the same.
        addr = server.local_addr;
        servers.push(server);
    }
    Ok(servers)
}

/// Starts a listener on the bound and listening `sock`.
fn start_with(core: &mut Core, sock: Socket) -> anyhow::Result<Server> {
    let local_addr = sock
        .local_addr()?
        .as_socket()
        .ok_or_else(|| anyhow::anyhow!("bound address is not an IP address"))?;
    let fd = sock.as_raw_fd();
    let stats = Arc::new(Stats::default());
    let listener = core.spawn(Listener {
        sock,
        paused: false,
        stats: stats.clone(),
        reporter: Reporter::default(),
    })?;
    if let Err(e) = core.watch_fd(fd, listener.id(), Interest::READ) {
        let _ = core.stop_actor(listener.id());
        return Err(anyhow::anyhow!("cannot watch the listening socket: {e}"));
    }
    Ok(Server {
        local_addr,
        listener,
        stats,
    })
}

/// A non-blocking, close-on-exec listening socket with `SO_REUSEADDR`, and
/// `SO_REUSEPORT` when `reuse_port`.
fn listen_socket(addr: SocketAddr, reuse_port: bool) -> io::Result<Socket> {
    // socket2 creates sockets close-on-exec.
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    if reuse_port {
        sock.set_reuse_port(true)?;
    }
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    sock.listen(BACKLOG)?;
    Ok(sock)
}

/// Accepts one connection, non-blocking and close-on-exec.
fn accept(sock: &Socket) -> io::Result<TcpStream> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    let (conn, _) = sock.accept4(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)?;
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let (conn, _) = {
        let (conn, peer) = sock.accept()?; // close-on-exec
        conn.set_nonblocking(true)?;
        (conn, peer)
    };
    Ok(conn.into())
}

/// Whether an accept error means "out of some resource, try later".
fn is_resource_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Reports accept errors on stderr, at most once a second.
#[derive(Debug, Default)]
struct Reporter {
    last: Option<Instant>,
    suppressed: u64,
}

impl Reporter {
    fn report(&mut self, what: std::fmt::Arguments<'_>) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            self.suppressed += 1;
            return;
        }
        if self.suppressed > 0 {
            eprintln!(
                "echo: {what} ({} similar reports suppressed)",
                self.suppressed
            );
        } else {
            eprintln!("echo: {what}");
        }
        self.last = Some(now);
        self.suppressed = 0;
    }
}

/// Messages of the listener.
#[derive(Debug)]
pub enum ListenerMsg {
    /// Accept again after a pause (sent by the listener to itself).
    Resume,
    /// Reply with what the loop holds (for tests and monitoring; send it
    /// from another thread with a `LoopHandle`).
    Snapshot(mpsc::Sender<Snapshot>),
}

/// Owns the listening socket and accepts connections.
pub struct Listener {
    sock: Socket,
    /// Accepting is paused (the socket is not watched; a `Resume` is due).
    paused: bool,
    stats: Arc<Stats>,
    reporter: Reporter,
}

impl Listener {
    /// Stops watching the socket and schedules a `Resume`.
    fn pause(&mut self, cx: &mut Context<'_, Self>) {
        if self.paused {
            return;
        }
        let fd = self.sock.as_raw_fd();
        if cx.watched(fd).is_some() {
            let _ = cx.unwatch_fd(fd);
        }
        self.paused = true;
        self.stats.accept_pauses.fetch_add(1, Relaxed);
        let me = cx.addr();
        if cx
            .send_after(me, ACCEPT_PAUSE, ListenerMsg::Resume)
            .is_err()
        {
            // Cannot happen (we are alive); never stay paused forever.
            self.paused = false;
            let _ = cx.watch(fd, Interest::READ);
        }
    }

    /// Hands an accepted connection to a new actor watching its fd.
    fn adopt(&mut self, cx: &mut Context<'_, Self>, stream: TcpStream) -> Result<(), String> {
        let fd = stream.as_raw_fd();
        // On failure the actor (and with it the socket) is dropped.
        let conn = cx
            .spawn(Connection::new(stream, self.stats.clone()))
            .map_err(|e| format!("cannot spawn a connection actor: {e}"))?;
        if let Err(e) = cx.watch_fd(fd, conn.id(), Interest::READ) {
            // Torn down at its next turn, which closes the socket.
            let _ = cx.stop_actor(conn.id());
            return Err(format!("cannot watch a new connection: {e}"));
        }
        self.stats.accepted.fetch_add(1, Relaxed);
        Ok(())
    }

    /// Accepts until the queue is drained or a resource runs out.
    fn accept_all(&mut self, cx: &mut Context<'_, Self>) {
        loop {
            match accept(&self.sock) {
                Ok(stream) => {
                    if let Err(what) = self.adopt(cx, stream) {
                        self.stats.accept_errors.fetch_add(1, Relaxed);
                        self.reporter
                            .report(format_args!("{what}; pausing accepts for {ACCEPT_PAUSE:?}"));
                        self.pause(cx);
                        return;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(libc::ECONNABORTED) => {
                    // The client gave up while queued: nothing to do.
                    self.stats.accept_errors.fetch_add(1, Relaxed);
                }
                Err(e) => {
                    self.stats.accept_errors.fetch_add(1, Relaxed);
                    let kind = if is_resource_error(&e) {
                        "out of resources"
                    } else {
                        "unexpected error"
                    };
                    self.reporter.report(format_args!(
                        "accept: {e} ({kind}); pausing accepts for {ACCEPT_PAUSE:?}"
                    ));
                    self.pause(cx);
                    return;
                }
            }
        }
    }
}

impl Actor for Listener {
    type Msg = ListenerMsg;

    fn handle(&mut self, cx: &mut Context<'_, Self>, msg: ListenerMsg) -> Flow {
        match msg {
            ListenerMsg::Resume => {
                self.paused = false;
                // Watching takes no fd, but it can still fail (the runtime's
                // `max_io_watchers`, kernel memory): pause again then.
                if let Err(e) = cx.watch(self.sock.as_raw_fd(), Interest::READ) {
                    self.stats.accept_errors.fetch_add(1, Relaxed);
                    self.reporter.report(format_args!(
                        "cannot watch the listening socket: {e}; pausing accepts for {ACCEPT_PAUSE:?}"
                    ));
                    self.pause(cx);
                }
            }
            ListenerMsg::Snapshot(reply) => {
                let _ = reply.send(Snapshot {
                    actors: cx.actor_count(),
                    watches: cx.watch_count(),
                    bridge_watches: cx.bridge_watch_count(),
                    timers: cx.timer_count(),
                });
            }
        }
        Flow::Continue
    }

    fn on_io(&mut self, cx: &mut Context<'_, Self>, _event: IoEvent) -> Flow {
        if !self.paused {
            self.accept_all(cx);
        }
        Flow::Continue
    }
}

/// What a connection waits for next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Want {
    Read,
    Write,
    Close,
}

impl Want {
    fn interest(self) -> Interest {
        match self {
            Want::Write => Interest::WRITE,
            _ => Interest::READ,
        }
    }
}

/// One client: echoes what it reads, one buffer in flight.
struct Connection {
    /// `None` once closed.
    stream: Option<TcpStream>,
    fd: RawFd,
    buf: Box<[u8]>,
    /// Bytes `start..end` of `buf` are read and not yet written back.
    start: usize,
    end: usize,
    /// The interest the fd is watched with.
    interest: Interest,
    stats: Arc<Stats>,
}

impl Connection {
    fn new(stream: TcpStream, stats: Arc<Stats>) -> Connection {
        stats.open.fetch_add(1, Relaxed);
        Connection {
            fd: stream.as_raw_fd(),
            stream: Some(stream),
            buf: vec![0; BUF_SIZE].into_boxed_slice(),
            start: 0,
            end: 0,
            interest: Interest::READ,
            stats,
        }
    }

    /// Writes back what is pending, then reads and echoes while data comes
    /// in full buffers (at most `READS_PER_EVENT` of them).
    fn pump(&mut self) -> io::Result<Want> {
        let Some(stream) = self.stream.as_ref() else {
            return Ok(Want::Close);
        };
        let mut stream: &TcpStream = stream;
        let mut reads = 0;
        loop {
            while self.start < self.end {
                match stream.write(&self.buf[self.start..self.end]) {
                    Ok(0) => return Err(ErrorKind::WriteZero.into()),
                    Ok(n) => {
                        self.start += n;
                        self.stats.bytes_echoed.fetch_add(n as u64, Relaxed);
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(Want::Write),
                    Err(e) => return Err(e),
                }
            }
            // Flushed. A short read last time means the socket is most likely
            // drained: wait for the next readiness rather than pay for a read
            // that would block.
            if reads == READS_PER_EVENT || (reads > 0 && self.end < self.buf.len()) {
                self.start = 0;
                self.end = 0;
                return Ok(Want::Read);
            }
            self.start = 0;
            self.end = 0;
            match stream.read(&mut self.buf) {
                // EOF: nothing is pending (we read only when flushed).
                Ok(0) => return Ok(Want::Close),
                Ok(n) => {
                    self.end = n;
                    reads += 1;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(Want::Read),
                Err(e) => return Err(e),
            }
        }
    }

    /// Closes the socket (the watch goes at teardown, R17).
    fn close(&mut self) -> Flow {
        self.stream = None;
        self.stats.closed.fetch_add(1, Relaxed);
        Flow::Stop
    }
}

impl Actor for Connection {
    type Msg = Infallible;

    fn handle(&mut self, _cx: &mut Context<'_, Self>, msg: Infallible) -> Flow {
        match msg {}
    }

    fn on_io(&mut self, cx: &mut Context<'_, Self>, event: IoEvent) -> Flow {
        debug_assert_eq!(event.fd, self.fd);
        match self.pump() {
            Ok(Want::Close) => self.close(),
            Ok(want) => {
                let interest = want.interest();
                if interest != self.interest {
                    if cx.watch(self.fd, interest).is_err() {
                        self.stats.conn_errors.fetch_add(1, Relaxed);
                        return self.close();
                    }
                    if want == Want::Write {
                        self.stats.short_writes.fetch_add(1, Relaxed);
                    }
                    self.interest = interest;
                }
                Flow::Continue
            }
            Err(_) => {
                // Resets and broken pipes are a client's right; not reported.
                self.stats.conn_errors.fetch_add(1, Relaxed);
                self.close()
            }
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.stats.open.fetch_sub(1, Relaxed);
    }
}
