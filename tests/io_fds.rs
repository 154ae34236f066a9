//! What a watch costs in file descriptors (SPEC R17): none beyond a small
//! constant per loop, and an interest change needs no new one, so it works
//! with every fd of the process in use.
//!
//! Each test counts this process's fds or lowers its `RLIMIT_NOFILE`, so its
//! body runs in a child process of its own (this test binary re-run on that
//! one test) where no other test opens or closes fds meanwhile.

mod util;

use jzx::{Actor, Context, Flow, Interest, IoEvent};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::process::Command;
use util::backends;

/// Set in the child process that runs a test's body.
const CHILD: &str = "JZX_IO_FDS_CHILD";

/// True in the child; in the parent, runs test `name` alone in a child
/// process, checks that it ran and passed, and returns false.
fn in_child(name: &str) -> bool {
    if std::env::var_os(CHILD).is_some() {
        return true;
    }
    let exe = std::env::current_exe().expect("current_exe");
    let out = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .expect("run the test in a child process");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "the child process failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    false
}

/// The open fds of this process.
fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// An actor that ignores everything.
struct Idle;

impl Actor for Idle {
    type Msg = ();
    fn handle(&mut self, _cx: &mut Context<'_, Self>, _msg: ()) -> Flow {
        Flow::Continue
    }
    fn on_io(&mut self, _cx: &mut Context<'_, Self>, _ev: IoEvent) -> Flow {
        Flow::Continue
    }
}

fn pairs(n: usize) -> Vec<(UnixStream, UnixStream)> {
    (0..n)
        .map(|_| {
            let (a, b) = UnixStream::pair().expect("socketpair");
            a.set_nonblocking(true).unwrap();
            (a, b)
        })
        .collect()
}

#[test]
fn a_watch_costs_no_fd_and_neither_does_an_interest_change() {
    if !in_child("a_watch_costs_no_fd_and_neither_does_an_interest_change") {
        return;
    }
    for backend in backends() {
        let mut lp = util::new_loop(backend);
        let owner = lp.spawn(Idle).unwrap();
        let socks = pairs(100);
        let before = fd_count();
        for interest in [
            Interest::READ,
            Interest::WRITE,
            Interest::READ | Interest::WRITE,
            Interest::READ,
        ] {
            for (a, _) in &socks {
                lp.watch_fd(a.as_raw_fd(), owner.id(), interest).unwrap();
            }
            assert_eq!(
                fd_count(),
                before,
                "{backend}: 100 watches of {interest:?} cost fds"
            );
        }
        for (a, _) in &socks {
            lp.unwatch_fd(a.as_raw_fd()).unwrap();
        }
        assert_eq!(fd_count(), before, "{backend}");
    }
}

/// Stops at its first readiness event and keeps it.
struct FirstEvent(std::rc::Rc<std::cell::Cell<Option<(RawFd, u32)>>>);

impl Actor for FirstEvent {
    type Msg = ();
    fn handle(&mut self, _cx: &mut Context<'_, Self>, _msg: ()) -> Flow {
        Flow::Continue
    }
    fn on_io(&mut self, _cx: &mut Context<'_, Self>, ev: IoEvent) -> Flow {
        self.0.set(Some((ev.fd, ev.readiness.bits())));
        Flow::Stop
    }
}

/// Lowers the soft `RLIMIT_NOFILE` to just above the highest open fd and
/// fills every free number below it: no fd can be opened any more. The
/// filler fds are returned (closing them frees numbers again).
fn use_up_every_fd() -> Vec<OwnedFd> {
    let highest = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .max()
        .expect("open fds");
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim.rlim_cur = (highest + 1) as libc::rlim_t;
    // SAFETY: `lim` is a valid rlimit (lowering the soft limit).
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    let mut fillers = Vec::new();
    loop {
        // SAFETY: a duplicate of stderr, owned below.
        let fd = unsafe { libc::fcntl(2, libc::F_DUPFD_CLOEXEC, 0) };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "dup: {e}");
            break;
        }
        // SAFETY: `fd` was just opened and is owned by nothing else.
        fillers.push(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    fillers
}

#[test]
fn watches_and_interest_changes_work_with_no_fd_left() {
    if !in_child("watches_and_interest_changes_work_with_no_fd_left") {
        return;
    }
    let backends = backends();
    let socks = pairs(2 * backends.len());
    let mut loops = Vec::new();
    let mut seen = Vec::new();
    for (&backend, pair) in backends.iter().zip(socks.chunks(2)) {
        let mut lp = util::new_loop(backend);
        let first = std::rc::Rc::default();
        let owner = lp.spawn(FirstEvent(std::rc::Rc::clone(&first))).unwrap();
        lp.watch_fd(pair[0].0.as_raw_fd(), owner.id(), Interest::READ)
            .unwrap();
        loops.push((backend, lp, owner));
        seen.push(first);
    }
    let _fillers = use_up_every_fd();
    for (((backend, mut lp, owner), pair), seen) in loops.into_iter().zip(socks.chunks(2)).zip(seen)
    {
        let (a, mut a_peer) = (&pair[0].0, &pair[0].1);
        let (c, _) = &pair[1];
        // An interest change, then a new watch, with no fd to spare.
        a_peer.write_all(b"x").unwrap();
        lp.watch_fd(a.as_raw_fd(), owner.id(), Interest::WRITE)
            .unwrap_or_else(|e| panic!("{backend}: READ to WRITE at the fd limit: {e}"));
        lp.watch_fd(c.as_raw_fd(), owner.id(), Interest::READ)
            .unwrap_or_else(|e| panic!("{backend}: a new watch at the fd limit: {e}"));
        util::run_within(&mut lp, std::time::Duration::from_secs(10));
        assert_eq!(
            seen.get(),
            Some((a.as_raw_fd(), 0x2)),
            "{backend}: the first event is not WRITE on the switched fd"
        );
    }
}
