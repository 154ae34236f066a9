//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod fn_actor;
pub mod kernel;
pub mod wait;

#[allow(unused_imports)] // Not every test file uses every helper.
pub use wait::{
    blocked_in_reactor, current_tid, wait_blocked, wait_child, wait_for, wait_until, WAIT,
};

use jzx::{
    Actor, ActorId, BackendKind, ChildRef, Config, Context, Flow, Loop, Observer, StopReason,
};
use std::io::{self, ErrorKind};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Every backend this machine offers: io_uring and epoll on Linux, kqueue
/// elsewhere. io_uring is left out (with one `SKIP:` line) only where the
/// kernel refuses it; a backend that the machine offers and jzx cannot
/// create fails the test.
pub fn backends() -> Vec<BackendKind> {
    let (io_uring, others): (_, &[BackendKind]) = if cfg!(target_os = "linux") {
        (Some(BackendKind::IoUring), &[BackendKind::Epoll])
    } else {
        (None, &[BackendKind::Kqueue])
    };
    kernel::checked_backends(io_uring, others, |backend| {
        Loop::with_config(Config {
            backend,
            ..Config::default()
        })
        .map(drop)
    })
}

/// A loop on `backend` with otherwise default settings.
#[track_caller]
pub fn new_loop(backend: BackendKind) -> Loop {
    config_loop(Config {
        backend,
        ..Config::default()
    })
}

/// A loop with `config`.
#[track_caller]
pub fn config_loop(config: Config) -> Loop {
    Loop::with_config(config).expect("loop")
}

/// What an observer saw, shared with the test.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    pub started: Vec<(ActorId, Option<String>)>,
    pub stopped: Vec<(ActorId, StopReason)>,
    pub restarts: Vec<(ActorId, ActorId, u32)>,
    pub escalations: Vec<ActorId>,
    pub mailbox_full: Vec<ActorId>,
}

/// An observer recording into a shared [`Seen`].
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Seen>>);

impl Recorder {
    pub fn seen(&self) -> Seen {
        self.0.lock().unwrap().clone()
    }
}

impl Observer for Recorder {
    fn on_actor_start(&mut self, id: ActorId, name: Option<&str>) {
        self.0
            .lock()
            .unwrap()
            .started
            .push((id, name.map(str::to_owned)));
    }
    fn on_actor_stop(&mut self, id: ActorId, reason: StopReason) {
        self.0.lock().unwrap().stopped.push((id, reason));
    }
    fn on_actor_restart(&mut self, supervisor: ActorId, child: ActorId, attempt: u32) {
        self.0
            .lock()
            .unwrap()
            .restarts
            .push((supervisor, child, attempt));
    }
    fn on_supervisor_escalate(&mut self, supervisor: ActorId) {
        self.0.lock().unwrap().escalations.push(supervisor);
    }
    fn on_mailbox_full(&mut self, target: ActorId) {
        self.0.lock().unwrap().mailbox_full.push(target);
    }
}

/// A shared log the test and its actors append to.
#[derive(Clone)]
pub struct Log<T>(pub Arc<Mutex<Vec<T>>>);

impl<T> Default for Log<T> {
    fn default() -> Self {
        Log(Arc::new(Mutex::new(Vec::new())))
    }
}

impl<T: Clone> Log<T> {
    pub fn push(&self, v: T) {
        self.0.lock().unwrap().push(v);
    }
    pub fn get(&self) -> Vec<T> {
        self.0.lock().unwrap().clone()
    }
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// Runs `lp` on a watchdog: the test fails (instead of hanging) if `run`
/// does not return within `limit`.
#[track_caller]
pub fn run_within(lp: &mut Loop, limit: Duration) {
    let handle = lp.handle();
    let (done, returned) = std::sync::mpsc::channel::<()>();
    let dog = std::thread::spawn(move || {
        let late = returned.recv_timeout(limit) == Err(RecvTimeoutError::Timeout);
        if late {
            handle.request_stop();
        }
        late
    });
    lp.run().expect("run");
    drop(done);
    let fired = dog.join().unwrap();
    assert!(!fired, "run did not return within {limit:?}");
}

/// Runs `lp` (as [`run_within`]) until it blocks in its event loop's wait
/// with nothing left to run, and stops it there; fails when the run returned
/// by itself first. With the virtual clock that is once every timer but
/// `Duration::MAX` ones has fired; with the real clock a pending timer also
/// blocks the loop.
#[track_caller]
pub fn run_until_blocked(lp: &mut Loop, limit: Duration) {
    let (tid, handle) = (current_tid(), lp.handle());
    let returned = Arc::new(AtomicBool::new(false));
    let r = returned.clone();
    let stopper = std::thread::spawn(move || {
        let seen = wait_until(limit, || r.load(SeqCst) || blocked_in_reactor(tid));
        // Blocked, not returned (nothing but this request ends it then).
        let blocked = seen && !r.load(SeqCst);
        if blocked {
            handle.request_stop();
        }
        blocked
    });
    run_within(lp, limit);
    returned.store(true, SeqCst);
    let stopped = stopper.join().unwrap();
    assert!(stopped, "run returned by itself before it blocked");
}

/// xorshift64* bytes, deterministic per seed.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Panics with the first differing byte (not with megabytes of `assert_eq`).
#[track_caller]
pub fn assert_same(got: &[u8], want: &[u8], what: &str) {
    if got == want {
        return;
    }
    match got.iter().zip(want).position(|(a, b)| a != b) {
        Some(i) => panic!(
            "{what}: byte {i} differs: got {:#04x}, want {:#04x} (lengths {} and {})",
            got[i],
            want[i],
            got.len(),
            want.len()
        ),
        None => panic!(
            "{what}: got {} bytes, want {} (common prefix equal)",
            got.len(),
            want.len()
        ),
    }
}

/// Runs `op` again while it fails with EINTR (a signal arrived before any
/// byte moved). Every read and write of the tests goes through this (or
/// through `read_exact`/`write_all`/`read_to_end`, which retry by
/// themselves), so a signal never fails a test.
pub fn retry_eintr<T>(mut op: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match op() {
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            done => return done,
        }
    }
}

/// A system call's `ssize_t` result, `-1` meaning "see errno", retried on
/// EINTR; `-1` (errno set) on any other error.
fn retry_syscall(mut call: impl FnMut() -> isize) -> isize {
    retry_eintr(|| match call() {
        n if n < 0 => Err(io::Error::last_os_error()),
        n => Ok(n),
    })
    .unwrap_or(-1)
}

/// read(2) on a raw fd, retried on EINTR: the byte count, 0 at EOF, -1 on
/// error.
pub fn read_fd(fd: RawFd, buf: &mut [u8]) -> isize {
    // SAFETY: `buf` is valid for `buf.len()` bytes of writes.
    retry_syscall(|| unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })
}

/// write(2) on a raw fd, retried on EINTR: the byte count, -1 on error.
pub fn write_fd(fd: RawFd, bytes: &[u8]) -> isize {
    // SAFETY: `bytes` is valid for `bytes.len()` bytes of reads.
    retry_syscall(|| unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) })
}

/// Sends `sig` to `child` and waits (at most 5 s) for it to exit with
/// status 0; `what` names it in failures.
#[track_caller]
pub fn signal_and_wait(child: &mut std::process::Child, sig: libc::c_int, what: &str) {
    // SAFETY: kill with a valid signal to our own child's pid.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    let status = wait::wait_child(child, Duration::from_secs(5))
        .unwrap_or_else(|| panic!("{what}: did not exit within 5 s of signal {sig}"));
    assert!(status.success(), "{what}: exit status {status}");
}

/// Makes `cmd`'s process start with its soft and hard `RLIMIT_NOFILE` at `n`.
pub fn limit_nofile(cmd: &mut std::process::Command, n: libc::rlim_t) {
    use std::os::unix::process::CommandExt;
    let lim = libc::rlimit {
        rlim_cur: n,
        rlim_max: n,
    };
    // SAFETY: between fork and exec the closure only calls setrlimit, which
    // is async-signal-safe, on a valid rlimit it owns.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

/// A message whose destructor always panics, even while a panic unwinds (a
/// second panic then aborts the process): it counts its drops first. For
/// tests that messages are dropped one by one.
pub struct AlwaysBomb(pub Arc<AtomicUsize>);

impl Drop for AlwaysBomb {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
        panic!("a destructor panicked");
    }
}

/// Sends `()` to each new incarnation of a supervised child as soon as it
/// sees it, until the supervisor is gone. It polls by sending itself `()`:
/// at once when `poll` is zero, else after `poll` (on the loop's clock).
/// Start it with one `()`.
pub struct ChildDriver {
    pub child: ChildRef<()>,
    pub poll: Duration,
    pub last: Option<ActorId>,
}

impl ChildDriver {
    pub fn new(child: ChildRef<()>, poll: Duration) -> ChildDriver {
        ChildDriver {
            child,
            poll,
            last: None,
        }
    }
}

impl Actor for ChildDriver {
    type Msg = ();
    fn handle(&mut self, cx: &mut Context<'_, Self>, _: ()) -> Flow {
        let Ok(current) = cx.supervisor_child(self.child.supervisor(), self.child.index()) else {
            return Flow::Stop; // the supervisor is gone
        };
        if current.is_some() && current != self.last {
            cx.send_child(self.child, ()).map_err(|e| e.error).unwrap();
            self.last = current;
        }
        let me = cx.addr();
        if self.poll.is_zero() {
            cx.send(me, ()).unwrap();
        } else {
            cx.send_after(me, self.poll, ())
                .map_err(|e| e.error)
                .unwrap();
        }
        Flow::Continue
    }
}

/// Runs `lp`, whose actors need not all end, until `limit` has passed on
/// its clock (a timer asks the run to stop then): on a virtual clock this
/// takes no real time.
pub fn run_for(lp: &mut Loop, limit: Duration) {
    struct Stopper(jzx::LoopHandle);
    impl Actor for Stopper {
        type Msg = ();
        fn handle(&mut self, _cx: &mut Context<'_, Self>, _: ()) -> Flow {
            self.0.request_stop();
            Flow::Stop
        }
    }
    let handle = lp.handle();
    let stopper = lp.spawn(Stopper(handle)).expect("spawn the stopper");
    lp.send_after(stopper, limit, ())
        .map_err(|e| e.error)
        .expect("arm the stopper");
    lp.run().expect("run");
}
