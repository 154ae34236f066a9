//! The test helpers themselves: which backends a test run covers
//! (`util::backends()`: where the kernel refuses io_uring, a seccomp filter
//! here as Docker's default profile does, the tests run on epoll and say
//! `SKIP:` once, visibly), and reads and writes that a signal cannot fail.
mod util;

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod seccomp {
    use jzx::BackendKind;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    const CHILD: &str = "JZX_TEST_IO_URING_REFUSED";

    /// Makes `io_uring_setup` fail with EPERM in this process and what it
    /// executes (a classic BPF filter: syscall number == io_uring_setup?).
    fn refuse_io_uring() -> std::io::Result<()> {
        let nr = libc::SYS_io_uring_setup as u32;
        let filter = [
            libc::sock_filter {
                code: (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16,
                jt: 0,
                jf: 0,
                k: 0, // seccomp_data.nr
            },
            libc::sock_filter {
                code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
                jt: 0,
                jf: 1,
                k: nr,
            },
            libc::sock_filter {
                code: (libc::BPF_RET | libc::BPF_K) as u16,
                jt: 0,
                jf: 0,
                k: libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
            },
            libc::sock_filter {
                code: (libc::BPF_RET | libc::BPF_K) as u16,
                jt: 0,
                jf: 0,
                k: libc::SECCOMP_RET_ALLOW,
            },
        ];
        let prog = libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_ptr().cast_mut(),
        };
        // SAFETY: plain prctl calls; `prog` and `filter` outlive them (the
        // kernel copies the program).
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                || libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_FILTER,
                    &prog as *const libc::sock_fprog,
                ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }

    #[test]
    fn where_the_kernel_refuses_io_uring_the_run_says_skip_once_and_uses_epoll() {
        if std::env::var_os(CHILD).is_some() {
            // The child: twice, to see the note only once.
            assert_eq!(super::util::backends(), [BackendKind::Epoll]);
            assert_eq!(super::util::backends(), [BackendKind::Epoll]);
            return;
        }
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "seccomp::where_the_kernel_refuses_io_uring_the_run_says_skip_once_and_uses_epoll",
        ])
        .env(CHILD, "1");
        // SAFETY: the closure runs in the forked child before exec and only
        // makes system calls (prctl), which are async-signal-safe.
        unsafe { cmd.pre_exec(refuse_io_uring) };
        let out = cmd.output().expect("run the child");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains("1 passed"), "{stdout}");
        let skips: Vec<&str> = stderr.lines().filter(|l| l.starts_with("SKIP:")).collect();
        assert_eq!(skips.len(), 1, "{stderr}");
        assert!(skips[0].contains("io_uring"), "{stderr}");
    }
}

#[test]
fn where_the_kernel_allows_io_uring_it_is_tested() {
    let kinds = util::backends();
    if cfg!(target_os = "linux") {
        assert!(kinds.contains(&jzx::BackendKind::Epoll), "{kinds:?}");
        if util::kernel::io_uring_allowed().is_ok() {
            assert_eq!(kinds[0], jzx::BackendKind::IoUring, "{kinds:?}");
        }
    }
}

static SIGNALS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn count_signal(_: libc::c_int) {
    SIGNALS.fetch_add(1, SeqCst);
}

/// Reads on another thread through `read`, while SIGUSR1 (its handler
/// installed without SA_RESTART, so a blocked read fails with EINTR) hits
/// that thread until it has been interrupted; then writes `hello`. Returns
/// what the read gave and how many times it was attempted.
fn read_under_signals(
    read: fn(&UnixStream, &mut [u8], &AtomicUsize) -> std::io::Result<usize>,
) -> (std::io::Result<Vec<u8>>, usize) {
    // SAFETY: a zeroed sigaction is valid; the handler only touches an
    // atomic, which is async-signal-safe.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = count_signal as *const () as libc::sighandler_t;
        sa.sa_flags = 0;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
    let (a, mut b) = UnixStream::pair().unwrap();
    let attempts = std::sync::Arc::new(AtomicUsize::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let at = attempts.clone();
    let reader = std::thread::spawn(move || {
        // SAFETY: pthread_self has no preconditions.
        tx.send((unsafe { libc::pthread_self() }, util::current_tid()))
            .unwrap();
        let mut buf = [0u8; 5];
        read(&a, &mut buf, &at).map(|n| buf[..n].to_vec())
    });
    let (thread, tid) = rx.recv().unwrap();
    let before = SIGNALS.load(SeqCst);
    // Until the read has been attempted again after an interruption, or
    // three signals hit it (a helper that retries inside), or it returned
    // (a helper that does not retry: with the error).
    util::wait_until(Duration::from_secs(5), || {
        let hits = SIGNALS.load(SeqCst) - before;
        if attempts.load(SeqCst) > 1 || hits >= 3 || reader.is_finished() {
            return true;
        }
        // Each signal while the read blocks, so that it interrupts it.
        if util::wait::blocked_in(tid, &[libc::SYS_read, libc::SYS_recvfrom]) {
            // SAFETY: `thread` is alive: it is blocked in the read, or it
            // has finished but not been joined (its id stays valid until then).
            unsafe { libc::pthread_kill(thread, libc::SIGUSR1) };
        }
        false
    });
    assert!(SIGNALS.load(SeqCst) > before, "no signal arrived");
    let _ = b.write_all(b"hello");
    let got = reader.join().unwrap();
    (got, attempts.load(SeqCst))
}

#[test]
fn reads_retry_when_a_signal_interrupts_them() {
    let (got, attempts) = read_under_signals(|s, buf, at| {
        util::retry_eintr(|| {
            at.fetch_add(1, SeqCst);
            let mut s = s;
            s.read(buf)
        })
    });
    assert_eq!(got.unwrap(), b"hello");
    assert!(attempts > 1, "the read was never interrupted");
    let (got, attempts) = read_under_signals(|s, buf, at| {
        at.fetch_add(1, SeqCst);
        match util::read_fd(s.as_raw_fd(), buf) {
            n if n < 0 => Err(std::io::Error::last_os_error()),
            n => Ok(n as usize),
        }
    });
    assert_eq!(got.unwrap(), b"hello");
    assert_eq!(attempts, 1, "read_fd retried by itself");
}
