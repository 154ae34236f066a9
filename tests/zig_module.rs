//! The Zig module `jzx` (`zig/jzx.zig`, SPEC §6) and the Zig echo server
//! (`examples/zig/echo_server.zig`, SPEC §7), against the Rust static library
//! `target/<profile>/libjzx.a`:
//!
//! - the Zig echo server, built with Zig 0.16.0 by `zig build zig-examples`,
//!   echoes (large transfers that force short writes, concurrent clients,
//!   half-close, a reset), and stops cleanly on SIGTERM and SIGINT, on
//!   io_uring and on epoll;
//! - a program written against Zig 0.15.2's std (`tests/zig/io_015.zig`)
//!   opens a socket with `std.posix`, watches it through the module and gets
//!   `JZX_TAG_SYS_IO`, on both backends;
//! - the module compiles with both Zig versions (`ast-check`, and
//!   `tests/zig/module_smoke.zig`, which uses every declaration, is built and
//!   run with each), and the Zig sources are `zig fmt`-clean.
//!
//! Zig 0.16.0 is found as build.rs finds it (`$ZIG`, else `scripts/zig`);
//! Zig 0.15.2 in `$JZX_ZIG_0_15` or where scripts/install-deps.sh puts it. The
//! tests that need 0.15.2 print `SKIP:` and pass when it is absent, but fail
//! when `$JZX_ZIG_0_15` is set (scripts/test.sh installs it and sets it, so
//! the suite runs them). Builds go to
//! `target/<profile>/zig-tests/`.
mod util;

use util::{assert_same, random_bytes, retry_eintr};
mod zig_tools;

use socket2::SockRef;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};
use zig_tools::{
    global_cache_args, libjzx_a, manifest_dir, run, run_ok, work_dir, zig_0_15_or_skip, zig_0_16,
    zig_version, BUILD_TIMEOUT, ZIG_0_15, ZIG_0_16,
};

/// Socket timeouts: generous for debug builds on a busy machine.
const IO_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a program may run.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The system libraries the Rust static library needs besides libc, as
/// `rustc --print native-static-libs` lists them for Linux
/// (`-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc`), with Zig's own libunwind
/// for libgcc_s.
const SYSTEM_LIBS: &[&str] = &[
    "-lc",
    "-lunwind",
    "-lpthread",
    "-ldl",
    "-lm",
    "-lrt",
    "-lutil",
];

// --------------------------------------------------------- building

/// `zig build-exe` of a one-file program importing the module, with the
/// command form of SPEC §6:
/// `zig build-exe [-fllvm] --dep jzx -Mroot=<app> -Mjzx=zig/jzx.zig -I include
/// <libjzx.a> -lc -lunwind ...`. Returns the executable.
///
/// With Zig 0.15.2, `-fllvm`: its default Debug code generator on x86_64
/// links with Zig's own ELF linker, which places some of the Rust library's
/// 16-byte constants (`.rodata.cst16`) at 8-byte boundaries, and the SSE
/// loads of those constants fault (hashbrown, in `jzx_spawn` with a name).
fn build_exe(zig: &Path, app: &str, name: &str, llvm: bool) -> PathBuf {
    let version = zig_version(zig).unwrap_or_default();
    let dir = work_dir(&format!("build-exe-{version}"));
    let exe = dir.join(name);
    let _ = std::fs::remove_file(&exe);
    let root = manifest_dir();
    let mut cmd = Command::new(zig);
    cmd.current_dir(&root).arg("build-exe");
    if llvm {
        cmd.arg("-fllvm");
    }
    cmd.args(["--dep", "jzx"])
        .arg(format!("-Mroot={app}"))
        .arg("-Mjzx=zig/jzx.zig")
        .args(["-I", "include"])
        .arg(libjzx_a())
        .args(SYSTEM_LIBS)
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .args(global_cache_args())
        .arg(format!("-femit-bin={}", exe.display()));
    run_ok(
        cmd,
        BUILD_TIMEOUT,
        &format!("zig {version} build-exe {app}"),
    );
    assert!(exe.is_file(), "{} was not written", exe.display());
    exe
}

/// Builds the Zig examples once per test binary with
/// `zig build zig-examples -Djzx-lib=<libjzx.a>`; returns the echo server.
fn zig_echo_server() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    BUILT
        .get_or_init(|| {
            let dir = work_dir("zig-examples");
            let prefix = dir.join("out");
            let _ = std::fs::remove_dir_all(&prefix);
            let mut cmd = Command::new(zig_0_16());
            cmd.current_dir(manifest_dir())
                .args(["build", "zig-examples"])
                .arg(format!("-Djzx-lib={}", libjzx_a().display()))
                .arg("--prefix")
                .arg(&prefix)
                .arg("--cache-dir")
                .arg(dir.join("cache"))
                .args(global_cache_args());
            run_ok(cmd, BUILD_TIMEOUT, "zig build zig-examples");
            let exe = prefix.join("bin/echo_server");
            assert!(exe.is_file(), "{} was not installed", exe.display());
            exe
        })
        .clone()
}

/// Runs a built program on `backend`; panics unless it exits 0.
fn run_program(exe: &Path, backend: &str) -> String {
    let mut cmd = Command::new(exe);
    cmd.env("JZX_BACKEND", backend);
    let out = run_ok(cmd, RUN_TIMEOUT, &format!("{} on {backend}", exe.display()));
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn backends() -> Vec<String> {
    util::backends().iter().map(|b| b.to_string()).collect()
}

// ----------------------------------------------------- the echo server

/// The server process, killed when dropped (a failed test leaves none).
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// What it prints on stderr (also passed on to this process's stderr).
    errors: mpsc::Receiver<String>,
    port: u16,
    banner: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the echo server on a port it picks (argument 0) and reads its
    /// banner.
    fn start(exe: &Path, backend: &str) -> Server {
        Server::start_with(exe, backend, None)
    }

    /// Starts it with `RLIMIT_NOFILE` set to `nofile` (soft and hard), when
    /// given.
    fn start_with(exe: &Path, backend: &str, nofile: Option<u64>) -> Server {
        let mut cmd = Command::new(exe);
        cmd.arg("0")
            .env("JZX_BACKEND", backend)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(n) = nofile {
            util::limit_nofile(&mut cmd, n as libc::rlim_t);
        }
        let mut child = cmd.spawn().expect("start the Zig echo server");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (tx, errors) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("{line}");
                let _ = tx.send(line);
            }
        });
        let mut server = Server {
            child,
            lines,
            errors,
            port: 0,
            banner: Vec::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !server.banner.iter().any(|l| l.starts_with("stop with")) {
            let left = deadline.saturating_duration_since(Instant::now());
            match server.lines.recv_timeout(left) {
                Ok(line) => server.banner.push(line),
                Err(e) => panic!("{backend}: no banner ({e}); saw {:?}", server.banner),
            }
        }
        let listening = server
            .banner
            .iter()
            .find_map(|l| l.split("listening on 0.0.0.0:").nth(1))
            .unwrap_or_else(|| panic!("{backend}: no address in {:?}", server.banner));
        server.port = listening
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("{backend}: bad address line {listening:?}"));
        assert_ne!(server.port, 0, "{backend}");
        assert!(
            server
                .banner
                .iter()
                .any(|l| l == &format!("connect with: nc 127.0.0.1 {}", server.port)),
            "{backend}: {:?}",
            server.banner
        );
        server
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect_timeout(&self.addr(), IO_TIMEOUT).expect("connect");
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        s
    }

    /// The kernel objects behind its fds (`anon_inode:[io_uring]`, ...).
    fn fd_kinds(&self) -> Vec<String> {
        let dir = format!("/proc/{}/fd", self.child.id());
        std::fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| std::fs::read_link(e.path()).ok())
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Sends `sig`, waits for the exit; returns the lines printed after the
    /// banner.
    fn stop_with(mut self, sig: libc::c_int, backend: &str) -> String {
        util::signal_and_wait(
            &mut self.child,
            sig,
            &format!("{backend}: the Zig echo server"),
        );
        let mut tail = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            tail.push(line);
        }
        tail.join("\n")
    }
}

/// Writes `data` from a thread, then shuts the write side down (half-close)
/// when `half_close`; reads the echo until `data.len()` bytes arrived. With
/// `late` (the server), reading starts only once the server waits with
/// nothing to do while the writer cannot send more (or has sent it all):
/// its writes have come up short and it has switched to WRITE interest.
fn echo(stream: &TcpStream, data: &[u8], late: Option<&Server>, half_close: bool) -> Vec<u8> {
    thread::scope(|s| {
        let (tx, rx) = mpsc::channel();
        let writer = s.spawn(move || {
            tx.send(util::current_tid()).unwrap();
            (&*stream).write_all(data)?;
            if half_close {
                stream.shutdown(Shutdown::Write)?;
            }
            Ok::<(), std::io::Error>(())
        });
        let writer_tid = rx.recv().unwrap();
        if let Some(server) = late {
            util::wait_for(
                || {
                    (writer.is_finished()
                        || util::wait::blocked_in(writer_tid, &util::wait::socket_writes()))
                        && util::wait::process_blocked_in_reactor(server.child.id())
                },
                || "the echo server never waited on a client that does not read".into(),
            );
        }
        let mut got = vec![0; data.len()];
        let read = (&*stream).read_exact(&mut got);
        writer.join().unwrap().expect("write to the echo server");
        read.expect("read the echo");
        got
    })
}

/// After a half-close, the server closes once all is echoed: EOF.
#[track_caller]
fn expect_eof(stream: &TcpStream, what: &str) {
    let mut buf = [0; 16];
    match retry_eintr(|| (&*stream).read(&mut buf)) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("{what}: expected EOF, got {other:?}"),
    }
}

#[test]
fn zig_echo_server_echoes_and_stops_cleanly_on_every_backend() {
    let exe = zig_echo_server();
    for backend in backends() {
        for (sig, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGINT, "SIGINT")] {
            let server = Server::start(&exe, &backend);
            let banner = server.banner.join("\n");
            assert!(
                banner.contains(&format!("(backend: {backend})")),
                "{banner}"
            );

            // The backend asked for is the one in use.
            if cfg!(target_os = "linux") {
                let kinds = server.fd_kinds();
                let uring = kinds.iter().any(|k| k.contains("[io_uring]"));
                let epoll = kinds.iter().any(|k| k.contains("[eventpoll]"));
                match backend.as_str() {
                    "io_uring" => assert!(uring, "{backend}: no io_uring fd in {kinds:?}"),
                    "epoll" => assert!(epoll && !uring, "{backend}: fds {kinds:?}"),
                    _ => {}
                }
            }

            let mut connections = 0;
            if sig == libc::SIGTERM {
                // 64 KiB, then 8 MiB read late (short writes, WRITE
                // interest, backpressure), each then half-closed.
                for (seed, len, late) in [(1, 64 << 10, false), (2, 8 << 20, true)] {
                    let c = server.connect();
                    connections += 1;
                    let data = random_bytes(seed, len);
                    let got = echo(&c, &data, late.then_some(&server), true);
                    assert_same(&got, &data, &format!("{backend}: {len} bytes"));
                    expect_eof(&c, &format!("{backend}: after the half-close"));
                }
                // Concurrent clients.
                thread::scope(|s| {
                    for i in 0..8u64 {
                        let c = server.connect();
                        connections += 1;
                        let backend = &backend;
                        s.spawn(move || {
                            let data = random_bytes(100 + i, 512 << 10);
                            let got = echo(&c, &data, None, false);
                            assert_same(&got, &data, &format!("{backend}: client {i}"));
                        });
                    }
                });
                // A client that resets its connection mid-transfer.
                {
                    let c = server.connect();
                    connections += 1;
                    (&c).write_all(&random_bytes(7, 256 << 10)).expect("write");
                    let mut first = [0; 1];
                    (&c).read_exact(&mut first).expect("the first echoed byte");
                    SockRef::from(&c)
                        .set_linger(Some(Duration::ZERO))
                        .expect("SO_LINGER");
                }
            }
            // The server still serves; this connection stays open until exit.
            let last = server.connect();
            connections += 1;
            let got = echo(&last, b"hello from the test\n", None, false);
            assert_eq!(got, b"hello from the test\n", "{backend}");

            let tail = server.stop_with(sig, &backend);
            assert!(
                tail.contains(&format!("{name} received")),
                "{backend}: {tail}"
            );
            assert!(
                tail.contains(&format!("stopped: {connections} connections accepted")),
                "{backend}: {tail}"
            );
            if sig == libc::SIGTERM {
                // The late reader made writes come up short.
                let short = tail
                    .rsplit(", ")
                    .find_map(|f| f.strip_suffix(" short writes"))
                    .and_then(|n| n.parse::<u64>().ok());
                assert!(short.is_some_and(|n| n > 0), "{backend}: {tail}");
            }
            // The server closed the open connection at exit.
            expect_eof(&last, &format!("{backend}: after the server exited"));
        }
    }
}

#[test]
fn zig_echo_server_survives_running_out_of_fds() {
    // With 48 fds the server runs out after a few dozen connections (each
    // costs its socket; a watch costs no fd). How many fds the server holds
    // besides its connections (inherited ones, the loop's own) varies, so 64
    // clients make sure the limit is reached whatever that count: accept
    // fails with
    // EMFILE, the listener pauses (unwatch, then jzx_send_after to itself)
    // and resumes; the connections already open keep being served, and once
    // they are gone new clients are served again.
    let exe = zig_echo_server();
    for backend in backends() {
        let server = Server::start_with(&exe, &backend, Some(48));
        assert!(
            server
                .banner
                .iter()
                .any(|l| l.contains("open-file limit: 48")),
            "{backend}: {:?}",
            server.banner
        );
        let clients: Vec<TcpStream> = (0..64).map(|_| server.connect()).collect();
        // The first client is served while the server is out of fds (once
        // it has said so).
        let deadline = Instant::now() + util::WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match server.errors.recv_timeout(left) {
                Ok(line) if line.starts_with("echo_server: accept: ") => break,
                Ok(_) => {}
                Err(e) => panic!("{backend}: the server never ran out of fds ({e})"),
            }
        }
        let got = echo(&clients[0], b"first\n", None, false);
        assert_eq!(got, b"first\n", "{backend}");
        drop(clients);
        // Served again once the fds are free (retried: the server may still
        // be closing the old ones, or drop one it could not watch).
        let served = util::wait_until(Duration::from_secs(10), || {
            let c = server.connect();
            (&c).write_all(b"again\n").is_ok() && {
                let mut buf = [0; 6];
                (&c).read_exact(&mut buf).is_ok() && &buf == b"again\n"
            }
        });
        assert!(
            served,
            "{backend}: not served again after the fds were freed"
        );
        let tail = server.stop_with(libc::SIGTERM, &backend);
        let errors = tail
            .split(", ")
            .find_map(|f| f.strip_suffix(" accept errors"))
            .and_then(|n| n.parse::<u64>().ok());
        assert!(errors.is_some_and(|n| n > 0), "{backend}: {tail}");
    }
}

// ------------------------------------------------ Zig 0.15.2 program

#[test]
fn zig_0_15_program_gets_sys_io_through_the_module() {
    let Some(zig) = zig_0_15_or_skip(&format!("the Zig {ZIG_0_15} program")) else {
        return;
    };
    let exe = build_exe(&zig, "tests/zig/io_015.zig", "io_015", true);
    for backend in backends() {
        let out = run_program(&exe, &backend);
        assert!(out.contains("io_015: ok"), "{backend}: {out}");
        assert!(
            out.contains(&format!("(Zig {ZIG_0_15})")),
            "{backend}: {out}"
        );
    }
}

// ------------------------------------------ the module, both versions

/// Every Zig version at hand: 0.16.0 always, 0.15.2 when installed.
fn zigs() -> Vec<(PathBuf, &'static str)> {
    let mut zigs = vec![(zig_0_16(), ZIG_0_16)];
    if let Some(z) = zig_0_15_or_skip(&format!("the module with Zig {ZIG_0_15}")) {
        zigs.push((z, ZIG_0_15));
    }
    zigs
}

#[test]
fn the_module_compiles_and_runs_with_both_zig_versions() {
    for (zig, version) in zigs() {
        let mut cmd = Command::new(&zig);
        cmd.current_dir(manifest_dir())
            .args(["ast-check", "zig/jzx.zig"]);
        run_ok(cmd, RUN_TIMEOUT, &format!("zig {version} ast-check"));

        // 0.16.0 with its default Debug code generator; 0.15.2 with LLVM
        // (see build_exe).
        let llvm = version == ZIG_0_15;
        let exe = build_exe(&zig, "tests/zig/module_smoke.zig", "module_smoke", llvm);
        for backend in backends() {
            run_program(&exe, &backend);
        }
    }
}

#[test]
fn zig_sources_are_formatted() {
    let mut cmd = Command::new(zig_0_16());
    cmd.current_dir(manifest_dir()).args([
        "fmt",
        "--check",
        "build.zig",
        "zig",
        "examples/zig",
        "tests/zig",
    ]);
    let out = run(cmd, RUN_TIMEOUT, "zig fmt --check");
    assert!(
        out.status.success(),
        "zig fmt --check lists files to format:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn zig_build_names_the_missing_options() {
    // Without -Djzx-lib the examples step fails and says what to pass;
    // without -Dlibxev so does the bridge (install).
    let dir = work_dir("missing-options");
    for (step, want) in [("zig-examples", "-Djzx-lib="), ("install", "-Dlibxev=")] {
        let mut cmd = Command::new(zig_0_16());
        cmd.current_dir(manifest_dir())
            .args(["build", step])
            .arg("--prefix")
            .arg(dir.join("out"))
            .arg("--cache-dir")
            .arg(dir.join("cache"))
            .args(global_cache_args());
        let out = run(cmd, BUILD_TIMEOUT, &format!("zig build {step}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "zig build {step} succeeded");
        assert!(stderr.contains(want), "zig build {step}: {stderr}");
    }
}

// ------------------------------------------------ a missing Zig 0.15.2

#[test]
fn a_zig_0_15_test_fails_when_the_install_step_ran_and_the_compiler_is_missing() {
    // A path where no compiler is: as if the install step had failed.
    let missing = work_dir("no-zig-0.15").join("zig");
    for test in [
        "zig_0_15_program_gets_sys_io_through_the_module",
        "the_module_compiles_and_runs_with_both_zig_versions",
    ] {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test])
            .env("JZX_ZIG_0_15", &missing)
            .output()
            .expect("run the test binary");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !out.status.success(),
            "{test} passed without Zig {ZIG_0_15}:\n{stdout}"
        );
        assert!(stdout.contains("1 failed"), "{test}: {stdout}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stdout.contains("JZX_ZIG_0_15=") || stderr.contains("JZX_ZIG_0_15="),
            "{test}: fails for another reason:\n{stdout}\n{stderr}"
        );
    }
}
