//! The wrapper's contract, checked on every backend this machine offers.
use super::*;
use crate::backend::{READ_BIT, WRITE_BIT};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

#[path = "../../../tests/util/kernel.rs"]
mod kernel;
#[path = "../../../tests/util/wait.rs"]
mod wait;

/// The backends to test: as `tests/util::backends()`, a backend the kernel
/// allows must be created; io_uring is skipped (with a note) only where the
/// kernel refuses it.
fn backends() -> Vec<BackendKind> {
    let (io_uring, others): (_, &[BackendKind]) = if cfg!(target_os = "linux") {
        (Some(BackendKind::IoUring), &[BackendKind::Epoll])
    } else {
        (None, &[BackendKind::Kqueue])
    };
    kernel::checked_backends(io_uring, others, |k| Reactor::new(k).map(drop))
}

/// Runs ticks until `pred` holds for the bits reported for `token`, or the
/// deadline passes; returns the last bits seen.
fn run_until(r: &mut Reactor, token: u64, pred: impl Fn(Readiness) -> bool) -> Readiness {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut last = Readiness::default();
    while Instant::now() < deadline {
        r.run(Timeout::Ms(50)).unwrap();
        for e in r.events() {
            if e.token == token {
                last = e.readiness;
            }
        }
        if pred(last) {
            break;
        }
    }
    last
}

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

#[test]
fn socketpair_is_readable_after_a_write() {
    for kind in backends() {
        let mut r = Reactor::new(kind).unwrap();
        assert_eq!(r.backend(), kind);
        let (a, mut b) = pair();
        let w = r.watch(a.as_raw_fd(), Interest::READ, 1).unwrap();
        r.run(Timeout::NoWait).unwrap();
        assert_eq!(r.events().count(), 0, "{kind}: nothing to read yet");
        std::io::Write::write_all(&mut b, b"x").unwrap();
        let got = run_until(&mut r, 1, |x| x.is_readable());
        assert!(got.is_readable() && !got.is_writable(), "{kind}: {got:?}");
        r.unwatch(w);
    }
}

#[test]
fn socketpair_is_writable() {
    for kind in backends() {
        let mut r = Reactor::new(kind).unwrap();
        let (a, _b) = pair();
        let w = r.watch(a.as_raw_fd(), Interest::WRITE, 2).unwrap();
        let got = run_until(&mut r, 2, |x| x.is_writable());
        assert!(got.is_writable() && !got.is_readable(), "{kind}: {got:?}");
        r.unwatch(w);
    }
}

#[test]
fn read_and_write_interest_on_one_fd() {
    for kind in backends() {
        let mut r = Reactor::new(kind).unwrap();
        let (a, mut b) = pair();
        let w = r
            .watch(a.as_raw_fd(), Interest::READ | Interest::WRITE, 3)
            .unwrap();
        let got = run_until(&mut r, 3, |x| x.is_writable());
        assert_eq!(got, Readiness::from_bits(WRITE_BIT), "{kind}");
        std::io::Write::write_all(&mut b, b"x").unwrap();
        let got = run_until(&mut r, 3, |x| x.is_readable());
        assert_eq!(got, Readiness::from_bits(READ_BIT | WRITE_BIT), "{kind}");
        r.unwatch(w);
    }
}

#[test]
fn ten_thousand_watch_unwatch_cycles_leave_nothing_behind() {
    for kind in backends() {
        let mut r = Reactor::new(kind).unwrap();
        let (a, mut b) = pair();
        std::io::Write::write_all(&mut b, b"ready").unwrap();
        let mut stray = 0usize;
        let mut most_live = 0;
        for i in 0..10_000u64 {
            let token = 1_000 + i;
            let w = r.watch(a.as_raw_fd(), Interest::READ, token).unwrap();
            r.unwatch(w);
            let w = r
                .watch(a.as_raw_fd(), Interest::READ, token + 1_000_000)
                .unwrap();
            r.run(Timeout::NoWait).unwrap();
            stray += r.events().filter(|e| e.token == token).count();
            r.unwatch(w);
            stray += r.events().count();
            most_live = most_live.max(r.live_watches());
        }
        for _ in 0..4 {
            r.run(Timeout::NoWait).unwrap();
            stray += r.events().count();
        }
        assert_eq!(stray, 0, "{kind}: readiness reported for an unwatched fd");
        // Memory does not grow: released watches never pile up.
        assert!(
            most_live <= 3,
            "{kind}: up to {most_live} watches held at once"
        );
        assert_eq!(r.live_watches(), 0, "{kind}: watches not released");
    }
}

#[test]
fn peer_hang_up_is_reported() {
    for kind in backends() {
        let mut r = Reactor::new(kind).unwrap();
        let (a, b) = pair();
        let w = r.watch(a.as_raw_fd(), Interest::READ, 4).unwrap();
        drop(b);
        let got = run_until(&mut r, 4, |x| x.is_hangup());
        assert!(got.is_hangup() && got.is_readable(), "{kind}: {got:?}");
        r.unwatch(w);
    }
}

#[test]
fn timer_fires_within_bounds_and_can_be_rearmed_and_cleared() {
    for kind in backends() {
        let mut r = Reactor::new(kind).unwrap();
        let start = Instant::now();
        r.timer_set(30);
        let mut fired = false;
        while !fired && start.elapsed() < Duration::from_secs(2) {
            fired = r.run(Timeout::Forever).unwrap().timer;
        }
        let took = start.elapsed();
        assert!(fired, "{kind}");
        assert!(
            took >= Duration::from_millis(29),
            "{kind}: fired early after {took:?}"
        );
        assert!(
            took < Duration::from_millis(1000),
            "{kind}: fired late after {took:?}"
        );

        // Re-arm: a later setting replaces an earlier one.
        let start = Instant::now();
        r.timer_set(500);
        r.timer_set(20);
        let mut fired = false;
        while !fired && start.elapsed() < Duration::from_secs(2) {
            fired = r.run(Timeout::Forever).unwrap().timer;
        }
        assert!(
            fired && start.elapsed() < Duration::from_millis(450),
            "{kind}"
        );

        // Clear: no expiry is reported.
        r.timer_set(10);
        r.timer_clear();
        let start = Instant::now();
        let mut fired = false;
        while start.elapsed() < Duration::from_millis(100) {
            fired |= r.run(Timeout::Ms(20)).unwrap().timer;
        }
        assert!(!fired, "{kind}: a cleared timer fired");
    }
}

#[test]
fn wakeup_from_another_thread_ends_a_blocking_run() {
    for kind in backends() {
        let mut r = Reactor::new(kind).unwrap();
        let (waker, tid) = (r.waker(), wait::current_tid());
        let t = std::thread::spawn(move || {
            // Once the run blocks.
            wait::wait_blocked(tid);
            let woken = Instant::now();
            waker.wake().unwrap();
            woken
        });
        let start = Instant::now();
        let mut woke = false;
        while !woke && start.elapsed() < Duration::from_secs(2) {
            woke = r.run(Timeout::Forever).unwrap().wakeup;
        }
        let returned = Instant::now();
        let woken = t.join().unwrap();
        assert!(woke, "{kind}");
        let took = returned.saturating_duration_since(woken);
        assert!(
            returned > woken && took < Duration::from_millis(100),
            "{kind}: returned {took:?} after the wake"
        );
    }
}

#[test]
fn waker_reports_closed_after_the_loop_is_gone() {
    for kind in backends() {
        let r = Reactor::new(kind).unwrap();
        let waker = r.waker();
        drop(r);
        assert_eq!(waker.wake(), Err(BackendError::Closed), "{kind}");
    }
}

#[test]
fn invalid_fd_is_an_error_not_a_crash() {
    for kind in backends() {
        let mut r = Reactor::new(kind).unwrap();
        assert_eq!(
            r.watch(-1, Interest::READ, 5),
            Err(BackendError::InvalidArg),
            "{kind}"
        );
        // An fd number that is certainly not open (another test thread could
        // reuse a number this test closed, but none opens 2^30 files).
        let closed = 1 << 30;
        assert_eq!(
            r.watch(closed, Interest::READ, 6),
            Err(BackendError::BadFd),
            "{kind}"
        );
        assert_eq!(r.live_watches(), 0, "{kind}");
    }
}

/// A file without readiness is refused with the errno of the refusal (EPERM
/// from epoll, on both Linux backends), as the bridge saved it: errno itself
/// may have been changed by the bridge's clean-up since.
#[cfg(target_os = "linux")]
#[test]
fn an_unpollable_file_is_refused_with_its_errno() {
    let null = std::fs::File::open("/dev/null").unwrap();
    for kind in backends() {
        let mut r = Reactor::new(kind).unwrap();
        // Another errno left by an earlier call must not leak into the result.
        assert_eq!(
            r.watch(1 << 30, Interest::READ, 1),
            Err(BackendError::BadFd),
            "{kind}"
        );
        assert_eq!(
            r.watch(null.as_raw_fd(), Interest::READ, 2),
            Err(BackendError::Resources(libc::EPERM)),
            "{kind}"
        );
        assert_eq!(r.live_watches(), 0, "{kind}");
    }
}

/// Closes `old` and puts `new`'s file at its number in one step (dup2), as
/// the kernel does when it hands a closed number to a new socket, without
/// racing other test threads for the number. `old` still owns the number.
fn reuse_number(old: &UnixStream, new: &UnixStream) {
    // SAFETY: both fds are open and owned by live streams; dup2 replaces
    // the file at `old`'s number, which `old` keeps owning.
    let rc = unsafe { libc::dup2(new.as_raw_fd(), old.as_raw_fd()) };
    assert_eq!(rc, old.as_raw_fd(), "dup2");
}

#[test]
fn a_closed_fd_is_never_reported_and_its_reused_number_is_not_reported_either() {
    for kind in backends() {
        let mut r = Reactor::new(kind).unwrap();
        let (a, mut b) = pair();
        let w = r.watch(a.as_raw_fd(), Interest::READ, 7).unwrap();
        std::io::Write::write_all(&mut b, b"x").unwrap();
        assert!(run_until(&mut r, 7, |x| x.is_readable()).is_readable());
        // The watched file closes while it is readable; its number goes
        // to a new socket that nobody watches, then becomes readable.
        let (c, mut d) = pair();
        reuse_number(&a, &c);
        let mut stray = 0;
        for _ in 0..5 {
            r.run(Timeout::Ms(10)).unwrap();
            stray += r.events().count();
        }
        std::io::Write::write_all(&mut d, b"y").unwrap();
        for _ in 0..5 {
            r.run(Timeout::Ms(10)).unwrap();
            stray += r.events().count();
        }
        assert_eq!(stray, 0, "{kind}: the closed watch reported");
        // Re-watching the number follows the new file.
        r.rewatch(&w, Interest::READ, 8).unwrap();
        let got = run_until(&mut r, 8, |x| x.is_readable());
        assert!(got.is_readable(), "{kind}: the rewatch missed the new file");
        r.unwatch(w);
        assert_eq!(r.live_watches(), 0, "{kind}");
    }
}

#[test]
fn closing_the_fd_before_unwatch_leaves_a_reused_number_working() {
    for kind in backends() {
        let mut r = Reactor::new(kind).unwrap();
        let (a, _b) = pair();
        let old = r.watch(a.as_raw_fd(), Interest::READ, 7).unwrap();
        // The number now names a new socket, which another reactor (another
        // loop of the process) watches; the old watch's teardown leaves it.
        let (c, mut d) = pair();
        reuse_number(&a, &c);
        let mut other = Reactor::new(kind).unwrap();
        let new = other.watch(a.as_raw_fd(), Interest::READ, 8).unwrap();
        r.unwatch(old);
        std::io::Write::write_all(&mut d, b"x").unwrap();
        let got = run_until(&mut other, 8, |x| x.is_readable());
        assert!(
            got.is_readable(),
            "{kind}: the new watch lost its registration"
        );
        other.unwatch(new);
    }
}

#[test]
fn an_interest_change_reports_only_the_new_direction() {
    for kind in backends() {
        let mut r = Reactor::new(kind).unwrap();
        let (a, mut b) = pair();
        std::io::Write::write_all(&mut b, b"x").unwrap();
        let w = r.watch(a.as_raw_fd(), Interest::READ, 1).unwrap();
        assert!(run_until(&mut r, 1, |x| x.is_readable()).is_readable());
        r.rewatch(&w, Interest::WRITE, 2).unwrap();
        let got = run_until(&mut r, 2, |x| x.is_writable());
        assert_eq!(got, Readiness::from_bits(WRITE_BIT), "{kind}");
        assert_eq!(r.events().filter(|e| e.token == 1).count(), 0, "{kind}");
        r.unwatch(w);
    }
}

/// The test helpers fail a run that would silently leave out a backend the
/// kernel offers, and skip io_uring only where the kernel refuses it.
#[test]
fn a_backend_the_machine_offers_but_jzx_cannot_create_fails_the_run() {
    let offered = kernel::io_uring_allowed().is_ok();
    let io_uring_fails = std::panic::catch_unwind(|| {
        kernel::checked_backends(Some("io_uring"), &["epoll"], |k| {
            if k == "io_uring" {
                Err("refused")
            } else {
                Ok(())
            }
        })
    });
    match io_uring_fails {
        Err(_) => assert!(offered, "io_uring skipped, not failed, where refused"),
        Ok(kinds) => {
            assert!(!offered, "a failing io_uring was left out: {kinds:?}");
            assert_eq!(kinds, ["epoll"]);
        }
    }
    let epoll_fails =
        std::panic::catch_unwind(|| kernel::checked_backends(None, &["epoll"], |_| Err("refused")));
    assert!(epoll_fails.is_err(), "a failing epoll was left out");
    let all = kernel::checked_backends(Some("io_uring"), &["epoll"], |_| Ok::<(), &str>(()));
    let want: &[&str] = if offered {
        &["io_uring", "epoll"]
    } else {
        &["epoll"]
    };
    assert_eq!(all, want);
}
