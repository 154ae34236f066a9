//! Which backends a test run must cover, decided by asking the kernel
//! directly (not jzx): a backend jzx fails to create where the kernel allows
//! it fails the test run instead of being skipped. Shared by the integration
//! tests (`tests/util`) and the backend wrapper's unit tests.
#![allow(dead_code)]

use std::fmt::Display;
use std::io::Write;
use std::sync::Once;

/// Entries of the bridge's io_uring ring (`ring_entries` in `zig-src/`).
pub const RING_ENTRIES: u32 = 256;

/// Whether this process may create an io_uring ring of the size the bridge
/// asks for: a raw `io_uring_setup(RING_ENTRIES, …)` system call (seccomp
/// filters and the `kernel.io_uring_disabled` sysctl make it fail, and so
/// does a small `RLIMIT_MEMLOCK` on kernels that charge rings to it, with
/// ENOMEM: a 1-entry probe would pass there while every real ring fails).
pub fn io_uring_allowed() -> Result<(), std::io::Error> {
    #[cfg(target_os = "linux")]
    {
        // `struct io_uring_params` is 120 bytes; zeroed asks for defaults.
        let mut params = [0u32; 30];
        // SAFETY: the kernel writes at most `sizeof(struct io_uring_params)`
        // bytes into `params`, which has that size.
        let fd =
            unsafe { libc::syscall(libc::SYS_io_uring_setup, RING_ENTRIES, params.as_mut_ptr()) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` is the ring just created, owned by nobody else.
        unsafe { libc::close(fd as libc::c_int) };
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }
}

/// Prints `line` on the real stderr, once per process, past the test
/// harness's capture (which only takes `print!`/`eprint!` output).
pub fn note_once(once: &'static Once, line: &str) {
    once.call_once(|| {
        let _ = writeln!(std::io::stderr(), "{line}");
    });
}

/// The backends to test: on Linux `io_uring` (when the kernel allows it)
/// and `epoll`, elsewhere `others`. `create` makes a loop on one; a backend
/// the kernel allows that `create` refuses fails the test (a panic). Where
/// the kernel refuses io_uring, a `SKIP:` line says so once.
pub fn checked_backends<K: Copy + Display, E: Display>(
    io_uring: Option<K>,
    others: &[K],
    create: impl Fn(K) -> Result<(), E>,
) -> Vec<K> {
    static SKIP: Once = Once::new();
    let mut kinds = Vec::new();
    if let Some(kind) = io_uring {
        match io_uring_allowed() {
            Ok(()) => kinds.push(kind),
            Err(e) => note_once(
                &SKIP,
                &format!("SKIP: backend {kind}: the kernel refuses io_uring_setup ({e})"),
            ),
        }
    }
    kinds.extend_from_slice(others);
    for &kind in &kinds {
        if let Err(e) = create(kind) {
            panic!("backend {kind} is available here but cannot be created: {e}");
        }
    }
    kinds
}
