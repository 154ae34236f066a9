//! Which backends a test run covers (`util::backends()`): where the kernel
//! refuses io_uring (a seccomp filter here, as Docker's default profile
//! does), the tests run on epoll and say `SKIP:` once, visibly.
mod util;

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
