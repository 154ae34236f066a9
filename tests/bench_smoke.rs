//! Every benchmark of benches/ runs in smoke mode (tiny N, one run) and prints
//! its `BENCH` line with both figures, jzx and tokio. Timing is never
//! asserted: machines here are shared and noisy (SPEC §8).
//!
//! The bench binaries are built by a nested `cargo bench --no-run` in the
//! profile of this test (`cargo test`: the test profile, whose library build
//! is reused, so only the bench files compile; `cargo test --release`: the
//! bench profile, i.e. release). Cargo holds its build-directory lock while it
//! compiles, not while it runs tests, so the nested cargo does not wait on the
//! outer one. The binaries are then run directly, each with a time limit.
#[path = "util/wait.rs"]
mod wait;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BENCHES: &[&str] = &[
    "tell",
    "ping_pong",
    "spawn",
    "skynet",
    "cross_thread",
    "timers",
    "ask",
    "cross_loop",
];

/// How many `BENCH` lines a benchmark prints: one, except cross_loop, whose
/// three cases print `BENCH cross_loop_tell`, `_ping_pong` and `_skynet`.
fn lines_of(name: &str) -> usize {
    if name == "cross_loop" {
        3
    } else {
        1
    }
}

/// A smoke run should take well under a second; this only catches a hang.
const LIMIT: Duration = Duration::from_secs(120);

/// Builds the benches and returns (name, executable) for each.
fn build() -> Vec<(String, PathBuf)> {
    let profile = if cfg!(debug_assertions) {
        "test"
    } else {
        "bench"
    };
    let mut cmd = Command::new(env!("CARGO"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args([
        "bench",
        "--no-run",
        "--message-format=json-render-diagnostics",
        "--profile",
        profile,
    ]);
    for b in BENCHES {
        cmd.args(["--bench", b]);
    }
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo bench --no-run");
    assert!(out.status.success(), "cargo bench --no-run failed");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 cargo output");
    let mut found = Vec::new();
    for line in stdout.lines() {
        if !line.contains(r#""reason":"compiler-artifact""#)
            || !line.contains(r#""kind":["bench"]"#)
        {
            continue;
        }
        let (Some(name), Some(exe)) = (json_str(line, "name"), json_str(line, "executable")) else {
            continue;
        };
        found.push((name, PathBuf::from(exe)));
    }
    for b in BENCHES {
        assert!(
            found.iter().any(|(n, _)| n == b),
            "no executable for bench {b} in cargo's output"
        );
    }
    found
}

/// The string value of the first `"key":"..."` in a line of cargo's JSON
/// (the values read here hold no escaped quotes; backslashes are unescaped).
fn json_str(line: &str, key: &str) -> Option<String> {
    let pat = format!(r#""{key}":""#);
    let start = line.find(&pat)? + pat.len();
    let rest = &line[start..];
    let end = rest.find('"')?;
    Some(rest[..end].replace(r"\\", r"\"))
}

/// Runs `exe --smoke`, killing it after `LIMIT`; returns its stdout.
fn run_smoke(name: &str, exe: &PathBuf) -> String {
    let mut child = Command::new(exe)
        .arg("--smoke")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", exe.display()));
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = wait::wait_child(&mut child, LIMIT)
        .unwrap_or_else(|| panic!("bench {name} --smoke did not finish within {LIMIT:?}"));
    let out = reader.join().expect("reader");
    assert!(
        status.success(),
        "bench {name} --smoke failed ({status}); stdout:\n{out}"
    );
    eprintln!("{name}: {:.2} s", start.elapsed().as_secs_f64());
    out
}

/// The value of `key=` in a BENCH line.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// The number at the start of `key=`'s value in `line` (before a unit such
/// as `M/s` or `us/echo`); `name` says which benchmark, in the panic.
fn figure(name: &str, line: &str, key: &str) -> f64 {
    let v = field(line, key).unwrap_or_else(|| panic!("{name}: no {key}= in {line}"));
    let digits: String = v
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("{name}: {key}={v} is not a figure"))
}

#[test]
fn every_benchmark_prints_its_bench_line_in_smoke_mode() {
    let t0 = Instant::now();
    let built = build();
    eprintln!("built benches in {:.1} s", t0.elapsed().as_secs_f64());
    for (name, exe) in &built {
        let out = run_smoke(name, exe);
        let (one, cases) = (format!("BENCH {name} "), format!("BENCH {name}_"));
        let lines: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with(&one) || l.starts_with(&cases))
            .collect();
        let want = lines_of(name);
        assert_eq!(
            lines.len(),
            want,
            "bench {name}: {want} BENCH line(s), got:\n{out}"
        );
        for line in lines {
            check_line(name, line);
        }
    }
    eprintln!(
        "bench smoke: {} benches in {:.1} s",
        built.len(),
        t0.elapsed().as_secs_f64()
    );
}

/// A BENCH line has its figures, both finite, its parameters and a target.
/// The baseline figure is `tokio=`, or the one `baseline=` names.
fn check_line(name: &str, line: &str) {
    println!("{line}");
    let baseline = field(line, "baseline").unwrap_or("tokio");
    for key in [
        "jzx", baseline, "ratio", "n", "backend", "profile", "cores", "met",
    ] {
        let v = field(line, key).unwrap_or_else(|| panic!("{name}: no {key}= in {line}"));
        assert!(!v.is_empty(), "{name}: empty {key}= in {line}");
    }
    for key in ["jzx", baseline] {
        let x = figure(name, line, key);
        assert!(x.is_finite(), "{name}: {key}={x}");
    }
    assert!(
        line.contains(" target>=") || line.contains(" target<="),
        "{name}: no target in {line}"
    );
}

/// The echo benchmark (benches/echo.rs) runs other programs: the jzx echo
/// server, the tokio echo server and the load client, which it looks for in
/// the `examples/` directory of its own profile. Builds those and the driver
/// in this test's profile, runs `echo --smoke` (one short run of each server
/// at 1 and 50 connections) and checks its BENCH lines: one `BENCH echo` per
/// jzx backend that can run here (epoll always; io_uring unless the kernel
/// refuses it), each with both figures. Timing is never asserted.
#[test]
fn echo_benchmark_prints_its_bench_lines_in_smoke_mode() {
    let t0 = Instant::now();
    let profile = if cfg!(debug_assertions) {
        "test"
    } else {
        "bench"
    };
    let status = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--profile", profile])
        .args(["--example", "echo_server", "--example", "echo_tokio"])
        .args(["--example", "echo_bench"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .expect("run cargo build --example ...");
    assert!(status.success(), "cargo build of the echo examples failed");
    let out = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "bench",
            "--no-run",
            "--message-format=json-render-diagnostics",
        ])
        .args(["--profile", profile, "--bench", "echo"])
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo bench --no-run");
    assert!(
        out.status.success(),
        "cargo bench --no-run --bench echo failed"
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8 cargo output");
    let exe = stdout
        .lines()
        .filter(|l| {
            l.contains(r#""reason":"compiler-artifact""#) && l.contains(r#""kind":["bench"]"#)
        })
        .find(|l| json_str(l, "name").as_deref() == Some("echo"))
        .and_then(|l| json_str(l, "executable"))
        .map(PathBuf::from)
        .expect("no executable for bench echo in cargo's output");
    eprintln!(
        "built echo and its examples in {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    let out = run_smoke("echo", &exe);
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("BENCH echo "))
        .collect();
    for l in out.lines().filter(|l| l.starts_with("BENCH ")) {
        println!("{l}");
    }
    assert!(
        lines.iter().any(|l| field(l, "backend") == Some("epoll")),
        "no `BENCH echo ... backend=epoll` line in:\n{out}"
    );
    assert!(lines.len() <= 2, "more than two BENCH echo lines:\n{out}");
    for line in &lines {
        for key in [
            "jzx",
            "tokio",
            "ratio",
            "conns",
            "size",
            "backend",
            "profile",
            "cores",
            "met",
            "jzx_rps",
            "tokio_rps",
        ] {
            let v = field(line, key).unwrap_or_else(|| panic!("echo: no {key}= in {line}"));
            assert!(!v.is_empty(), "echo: empty {key}= in {line}");
        }
        for key in ["jzx", "tokio", "jzx_rps", "tokio_rps"] {
            let x = figure("echo", line, key);
            assert!(x.is_finite() && x > 0.0, "echo: {key}={x}");
        }
        assert!(line.contains(" target<=0.9"), "echo: no target in {line}");
    }
}
