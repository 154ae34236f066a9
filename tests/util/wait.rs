//! Waiting for a condition that has no event to wait on: another process
//! listening or exiting, a counter of the server under test, the thread
//! running a loop being blocked in its event loop's wait.
//!
//! Shared by the integration tests (through `tests/util`) and by the
//! backend's unit tests (`src/backend/xev/tests.rs`, through `#[path]`). It
//! holds the tests' one pause between polls: a test waits for the condition
//! itself, with a generous limit, never for a guessed delay.
#![allow(dead_code)]

use std::time::{Duration, Instant};

/// A generous limit for a wait on something that happens at once on an idle
/// machine: slow debug builds on a busy one take far less.
pub const WAIT: Duration = Duration::from_secs(20);

/// Polls `cond` until it holds (`true`) or `limit` has passed (`false`).
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        // Between two polls of a condition (not a timing assumption).
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Like [`wait_until`] with [`WAIT`], and panics with `what()` when the
/// condition never holds.
#[track_caller]
pub fn wait_for(mut cond: impl FnMut() -> bool, what: impl FnOnce() -> String) {
    if !wait_until(WAIT, &mut cond) {
        panic!("timed out after {WAIT:?} waiting: {}", what());
    }
}

/// The kernel's id of the calling thread, for [`blocked_in_reactor`].
pub fn current_tid() -> i32 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no preconditions.
        unsafe { libc::gettid() }
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

/// Whether thread `tid` of this process sleeps in one of the system calls
/// `calls` (numbers, `libc::SYS_*`). (Without `/proc`, on macOS, it cannot be
/// seen: `true`.)
pub fn blocked_in(tid: i32, calls: &[libc::c_long]) -> bool {
    task_blocked_in(&format!("/proc/self/task/{tid}"), calls)
}

/// The system calls of an event loop's wait: epoll_wait, epoll_pwait,
/// epoll_pwait2, io_uring_enter.
pub fn reactor_waits() -> Vec<libc::c_long> {
    #[cfg(target_os = "linux")]
    {
        let mut calls = vec![
            libc::SYS_epoll_pwait,
            libc::SYS_epoll_pwait2,
            libc::SYS_io_uring_enter,
        ];
        #[cfg(target_arch = "x86_64")]
        calls.push(libc::SYS_epoll_wait);
        calls
    }
    #[cfg(not(target_os = "linux"))]
    {
        Vec::new()
    }
}

/// The system calls a blocking write to a socket sleeps in.
pub fn socket_writes() -> Vec<libc::c_long> {
    #[cfg(target_os = "linux")]
    {
        vec![libc::SYS_write, libc::SYS_sendto, libc::SYS_sendmsg]
    }
    #[cfg(not(target_os = "linux"))]
    {
        Vec::new()
    }
}

/// Whether thread `tid` of this process sleeps in its event loop's wait
/// ([`reactor_waits`]): a loop seen there has found nothing ready and blocks
/// until I/O, a timer or a wakeup.
pub fn blocked_in_reactor(tid: i32) -> bool {
    blocked_in(tid, &reactor_waits())
}

/// Whether the main thread of child process `pid` (a single-threaded
/// server) sleeps in its event loop's wait.
pub fn process_blocked_in_reactor(pid: u32) -> bool {
    task_blocked_in(&format!("/proc/{pid}/task/{pid}"), &reactor_waits())
}

/// Whether the task at `task` (a `/proc` folder) sleeps in one of `calls`.
fn task_blocked_in(task: &str, calls: &[libc::c_long]) -> bool {
    #[cfg(target_os = "linux")]
    {
        // The state follows the command name, which may hold spaces.
        let sleeping = std::fs::read_to_string(format!("{task}/stat"))
            .ok()
            .and_then(|s| Some(s[s.rfind(')')? + 2..].starts_with('S')))
            .unwrap_or(false);
        // "NR args...": the system call it is in ("running" while it runs).
        let call = std::fs::read_to_string(format!("{task}/syscall"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<libc::c_long>().ok());
        sleeping && call.is_some_and(|n| calls.contains(&n))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (task, calls);
        true
    }
}

/// Waits until thread `tid` is blocked in its event loop's wait (see
/// [`blocked_in_reactor`]); panics after [`WAIT`].
#[track_caller]
pub fn wait_blocked(tid: i32) {
    wait_for(
        || blocked_in_reactor(tid),
        || format!("thread {tid} never blocked in its event loop"),
    );
}

/// Waits at most `limit` for `child` to exit: its status, or `None` when it
/// did not exit in time (it is then killed and reaped).
pub fn wait_child(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    let mut status = None;
    let exited = wait_until(limit, || {
        status = child.try_wait().expect("try_wait");
        status.is_some()
    });
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
    }
    status
}
