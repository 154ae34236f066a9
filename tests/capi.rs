//! The C ABI from C (SPEC §5): builds each program of `tests/c/` and
//! `examples/c/` with the system C compiler against `include/jzx/jzx.h` and
//! the static library cargo built (`libjzx.a`), runs it on every backend of
//! `util::backends()` (`JZX_BACKEND`), and once more under valgrind's leak
//! checker (epoll; skipped with a note when valgrind is not installed, or
//! when `JZX_CAPI_VALGRIND=0`).
//!
//! A C test prints `ok <case>` per passing case and `FAIL <case>: <why>` per
//! failed check, and exits 0 only when nothing failed (`tests/c/check.h`).

mod util;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// Upper bound for one plain run of a C program (each bounds itself too).
const RUN_LIMIT: Duration = Duration::from_secs(120);
/// Upper bound for one run under valgrind.
const VALGRIND_LIMIT: Duration = Duration::from_secs(900);

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/<profile>`: the test binary lives in `target/<profile>/deps`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("deps dir");
    deps.parent().expect("profile dir").to_path_buf()
}

fn mtime(p: &Path) -> SystemTime {
    std::fs::metadata(p)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// The static library to link. `cargo test` builds the lib's `staticlib`
/// crate type in `deps/` next to the rlib the tests link, but only
/// `cargo build` copies it up to `target/<profile>/libjzx.a`, so that copy
/// can be stale. Take the `libjzx-<hash>.a` built together with the newest
/// `libjzx-<hash>.rlib` in `deps/` (same hash, same rustc invocation), and
/// refuse an `.a` that is missing or older than its rlib.
fn static_lib() -> PathBuf {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let profile = profile_dir();
        let deps = profile.join("deps");
        let newest_rlib = std::fs::read_dir(&deps)
            .expect("read deps dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.starts_with("libjzx-") && name.ends_with(".rlib")
            })
            .max_by_key(|p| mtime(p));
        let lib = match newest_rlib {
            Some(rlib) => {
                let a = rlib.with_extension("a");
                assert!(
                    a.exists(),
                    "{} has no staticlib next to it ({} is missing): the crate must \
                     build crate-type \"staticlib\" (Cargo.toml [lib])",
                    rlib.display(),
                    a.display()
                );
                let (ta, tr) = (mtime(&a), mtime(&rlib));
                assert!(
                    ta + Duration::from_secs(60) >= tr,
                    "{} is older than {}: stale static library",
                    a.display(),
                    rlib.display()
                );
                a
            }
            None => {
                // No rlib in deps (unusual layout): fall back to the uplifted copy.
                let a = profile.join("libjzx.a");
                assert!(
                    a.exists(),
                    "no libjzx.a in {} or {}",
                    deps.display(),
                    profile.display()
                );
                a
            }
        };
        eprintln!("capi: linking {}", lib.display());
        lib
    })
    .clone()
}

/// System libraries the Rust static library needs
/// (`cargo rustc --lib --crate-type staticlib -- --print native-static-libs`).
fn native_libs() -> &'static [&'static str] {
    if cfg!(target_os = "macos") {
        &["-lSystem", "-lc", "-lm"]
    } else if cfg!(target_os = "linux") {
        &[
            "-lgcc_s",
            "-lutil",
            "-lrt",
            "-lpthread",
            "-lm",
            "-ldl",
            "-lc",
        ]
    } else {
        &["-lpthread", "-lm", "-lc"]
    }
}

fn out_dir() -> PathBuf {
    let dir = profile_dir().join("capi-c");
    std::fs::create_dir_all(&dir).expect("create capi-c dir");
    dir
}

/// Compiles `source` (relative to the repository root) into an executable.
fn compile(source: &str) -> PathBuf {
    let root = manifest_dir();
    let src = root.join(source);
    let stem = src.file_stem().unwrap().to_str().unwrap().to_owned();
    let kind = src
        .parent()
        .and_then(|p| p.parent())
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("c");
    let exe = out_dir().join(format!("{kind}-{stem}"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let mut cmd = Command::new(&cc);
    cmd.args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-g"])
        .arg("-I")
        .arg(root.join("include"))
        .arg(&src)
        .arg(static_lib())
        .arg("-pthread")
        .args(native_libs())
        .arg("-o")
        .arg(&exe);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}`: {e}"));
    assert!(
        out.status.success(),
        "compiling {source} failed ({:?}):\n{}{}",
        cmd,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

struct Outcome {
    success: bool,
    code: Option<i32>,
    timed_out: bool,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` with a time limit, capturing its output.
fn run_limited(mut cmd: Command, limit: Duration) -> Outcome {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = so.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = se.read_to_end(&mut s);
        s
    });
    let status = util::wait_child(&mut child, limit);
    let timed_out = status.is_none();
    Outcome {
        success: status.is_some_and(|s| s.success()),
        code: status.and_then(|s| s.code()),
        timed_out,
        stdout: String::from_utf8_lossy(&t_out.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&t_err.join().unwrap()).into_owned(),
    }
}

/// valgrind's own noise about the Zig objects' DWARF 5 debug info.
fn is_noise(line: &str) -> bool {
    line.contains("DWARF2 reader")
        || line.contains("dwarf2 abbrev")
        || line.contains("get_Form_")
        || line.contains("Serious error when reading debug info")
        || line.contains("When reading debug info from")
}

fn clean(text: &str) -> String {
    text.lines()
        .filter(|l| !is_noise(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks one run; returns a failure description.
fn judge(what: &str, out: &Outcome, expect_ok_lines: bool) -> Option<String> {
    let fails: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("FAIL"))
        .collect();
    let oks = out.stdout.lines().filter(|l| l.starts_with("ok ")).count();
    let mut why = Vec::new();
    if out.timed_out {
        why.push("timed out".to_owned());
    } else if !out.success {
        why.push(format!("exit status {:?}", out.code));
    }
    if !fails.is_empty() {
        why.push(format!("{} FAIL line(s)", fails.len()));
    }
    if expect_ok_lines && oks == 0 {
        why.push("no `ok` line".to_owned());
    }
    if why.is_empty() {
        return None;
    }
    Some(format!(
        "{what}: {}\n--- stdout\n{}\n--- stderr\n{}",
        why.join(", "),
        out.stdout,
        clean(&out.stderr)
    ))
}

fn valgrind_available() -> Result<(), String> {
    if std::env::var("JZX_CAPI_VALGRIND").as_deref() == Ok("0") {
        return Err("JZX_CAPI_VALGRIND=0".to_owned());
    }
    if !cfg!(target_os = "linux") {
        return Err("valgrind pass runs on Linux only".to_owned());
    }
    match Command::new("valgrind").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!("`valgrind --version` failed: {:?}", o.status)),
        Err(e) => Err(format!("valgrind not found ({e})")),
    }
}

/// Builds `source`, runs it on every backend, then under valgrind (epoll:
/// valgrind does not model io_uring's shared rings).
fn check_program(source: &str, expect_ok_lines: bool) {
    let exe = compile(source);
    let mut failures = Vec::new();
    let backends = util::backends();
    assert!(!backends.is_empty(), "no backend available");
    for backend in &backends {
        let mut cmd = Command::new(&exe);
        cmd.env("JZX_BACKEND", backend.to_string());
        let out = run_limited(cmd, RUN_LIMIT);
        eprintln!(
            "== {source} on {backend}\n{}{}",
            out.stdout,
            clean(&out.stderr)
        );
        if let Some(f) = judge(&format!("{source} on {backend}"), &out, expect_ok_lines) {
            failures.push(f);
        }
    }
    match valgrind_available() {
        Err(reason) => eprintln!("== {source}: valgrind pass skipped: {reason}"),
        Ok(()) => {
            let mut cmd = Command::new("valgrind");
            cmd.args([
                "-q",
                "--error-exitcode=99",
                "--leak-check=full",
                "--show-leak-kinds=definite,indirect",
                "--errors-for-leak-kinds=definite,indirect",
            ])
            .arg(&exe)
            .env("JZX_BACKEND", "epoll")
            .env("JZX_TEST_SLOW", "1");
            let out = run_limited(cmd, VALGRIND_LIMIT);
            eprintln!(
                "== {source} under valgrind (epoll)\n{}{}",
                out.stdout,
                clean(&out.stderr)
            );
            if let Some(f) = judge(
                &format!("{source} under valgrind (epoll)"),
                &out,
                expect_ok_lines,
            ) {
                failures.push(f);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn c_delivery_ids() {
    check_program("tests/c/delivery_ids.c", true);
}

#[test]
fn c_mailbox_observer() {
    check_program("tests/c/mailbox_observer.c", true);
}

#[test]
fn c_cross_thread() {
    check_program("tests/c/cross_thread.c", true);
}

#[test]
fn c_cross_thread_bounds() {
    check_program("tests/c/cross_thread_bounds.c", true);
}

#[test]
fn c_timers() {
    check_program("tests/c/timers.c", true);
}

#[test]
fn c_fairness() {
    check_program("tests/c/fairness.c", true);
}

#[test]
fn c_pipes() {
    check_program("tests/c/pipes.c", true);
}

#[test]
fn c_supervision() {
    check_program("tests/c/supervision.c", true);
}

#[test]
fn c_misuse() {
    check_program("tests/c/misuse.c", true);
}

#[test]
fn c_reentry() {
    check_program("tests/c/reentry.c", true);
}

#[test]
fn c_payloads() {
    check_program("tests/c/payloads.c", true);
}

#[test]
fn c_dropin() {
    check_program("tests/c/dropin.c", true);
}

#[test]
fn c_toolkit() {
    check_program("tests/c/toolkit.c", true);
}

#[test]
fn c_examples() {
    check_program("examples/c/loop.c", false);
    check_program("examples/c/supervisor.c", false);
}

/// Every C file in tests/c/ has its #[test] above (so failures are named).
#[test]
fn c_every_program_has_a_test() {
    let this = std::fs::read_to_string(manifest_dir().join("tests/capi.rs")).unwrap();
    for entry in std::fs::read_dir(manifest_dir().join("tests/c")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("c") {
            continue;
        }
        let rel = format!(
            "\"tests/c/{}\"",
            path.file_name().unwrap().to_str().unwrap()
        );
        assert!(this.contains(&rel), "{rel} has no #[test] in tests/capi.rs");
    }
}
