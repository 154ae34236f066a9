//! Helpers for the tests that drive Zig (`tests/zig_module.rs`,
//! `tests/cross_compile.rs`): finding the two Zig versions, the Rust static
//! library and libxev's sources, and running commands with a time bound.
//! A test file using them also declares `mod util`.
#![allow(dead_code)] // Not every test file uses every helper.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::Duration;

/// The Zig that builds the bridge and the Zig examples.
pub const ZIG_0_16: &str = "0.16.0";
/// The Zig of programs written for the original runtime (SPEC §6).
pub const ZIG_0_15: &str = "0.15.2";

/// How long one `zig build` may take (a cold cache on a busy machine).
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `target/<profile>`, from this test binary's path
/// (`target/<profile>/deps/<name>-<hash>`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .to_path_buf()
}

/// `target/<profile>/zig-tests/<name>`, created empty or kept (caches).
pub fn work_dir(name: &str) -> PathBuf {
    let dir = profile_dir().join("zig-tests").join(name);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    dir
}

/// `zig version` of a binary, if it runs.
pub fn zig_version(zig: &Path) -> Option<String> {
    let out = Command::new(zig)
        .arg("version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Zig 0.16.0 as build.rs finds it for this crate: `$ZIG` (cargo sets it to
/// `scripts/zig` through `.cargo/config.toml`), else `scripts/zig`.
pub fn zig_0_16() -> PathBuf {
    let mut tried = Vec::new();
    let mut candidates = Vec::new();
    if let Some(z) = std::env::var_os("ZIG").filter(|z| !z.is_empty()) {
        let z = PathBuf::from(z);
        candidates.push(if z.is_relative() && z.components().count() > 1 {
            manifest_dir().join(z)
        } else {
            z
        });
    }
    candidates.push(manifest_dir().join("scripts/zig"));
    for zig in candidates {
        match zig_version(&zig) {
            Some(v) if v == ZIG_0_16 => return zig,
            v => tried.push(format!("{} reports {v:?}", zig.display())),
        }
    }
    panic!(
        "Zig {ZIG_0_16} not found ({}); install it with `python3 -m pip install ziglang=={ZIG_0_16}`",
        tried.join("; ")
    );
}

/// Zig 0.15.2: `$JZX_ZIG_0_15`, else where scripts/install-deps.sh puts it
/// (`$JZX_TOOLS_DIR`, `${XDG_CACHE_HOME:-$HOME/.cache}/jzx`,
/// `target/jzx-tools`, each `/zig-0.15.2/ziglang/zig`). `Err` says why not.
pub fn zig_0_15() -> Result<PathBuf, String> {
    let mut candidates = Vec::new();
    if let Some(z) = std::env::var_os("JZX_ZIG_0_15").filter(|z| !z.is_empty()) {
        candidates.push(PathBuf::from(z));
    }
    let mut tools = Vec::new();
    if let Some(d) = std::env::var_os("JZX_TOOLS_DIR").filter(|d| !d.is_empty()) {
        tools.push(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        tools.push(PathBuf::from(d).join("jzx"));
    } else if let Some(d) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        tools.push(PathBuf::from(d).join(".cache/jzx"));
    }
    tools.push(manifest_dir().join("target/jzx-tools"));
    candidates.extend(
        tools
            .into_iter()
            .map(|d| d.join(format!("zig-{ZIG_0_15}/ziglang/zig"))),
    );
    let mut tried = Vec::new();
    for zig in candidates {
        match zig_version(&zig) {
            Some(v) if v == ZIG_0_15 => return Ok(zig),
            v => tried.push(format!(
                "{} ({})",
                zig.display(),
                v.unwrap_or("absent".into())
            )),
        }
    }
    Err(format!(
        "no Zig {ZIG_0_15} (tried {}); scripts/test.sh installs one \
         (`python3 -m pip install --target ~/.cache/jzx/zig-{ZIG_0_15} ziglang=={ZIG_0_15}`)",
        tried.join(", ")
    ))
}

/// Zig 0.15.2 for a test that needs it (`what`). Absent, the test is
/// skipped (`None`, and a `SKIP:` line on the real stderr, past the test
/// harness's capture) — unless `$JZX_ZIG_0_15` is set: then the install step
/// ran (scripts/test.sh sets it), and a compiler still missing there fails
/// the test instead of letting it pass untested.
pub fn zig_0_15_or_skip(what: &str) -> Option<PathBuf> {
    let installed = std::env::var_os("JZX_ZIG_0_15").filter(|z| !z.is_empty());
    match (zig_0_15(), installed) {
        (Ok(zig), None) => Some(zig),
        (Ok(zig), Some(want)) if zig == Path::new(&want) => Some(zig),
        (found, Some(want)) => panic!(
            "JZX_ZIG_0_15={} (set by the install step) is not Zig {ZIG_0_15}: {}",
            Path::new(&want).display(),
            match found {
                Ok(other) => format!("one was found elsewhere, at {}", other.display()),
                Err(why) => why,
            }
        ),
        (Err(why), None) => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "SKIP: {what}: {why}");
            None
        }
    }
}

/// `--global-cache-dir` when none of the variables Zig reads for its global
/// cache is set (then Zig fails with AppDataDirUnavailable).
pub fn global_cache_args() -> Vec<OsString> {
    let has = ["ZIG_GLOBAL_CACHE_DIR", "XDG_CACHE_HOME", "HOME"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
    if has {
        Vec::new()
    } else {
        let dir = manifest_dir().join("target/zig-global-cache");
        vec!["--global-cache-dir".into(), dir.into()]
    }
}

/// Runs `cmd` (stdin closed, output captured), killing it after `timeout`.
pub fn run(mut cmd: Command, timeout: Duration, what: &str) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start {cmd:?}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let status = crate::util::wait_child(&mut child, timeout)
        .unwrap_or_else(|| panic!("{what}: {cmd:?} did not finish within {timeout:?}"));
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Like [`run`], and panics with its output unless it succeeded.
#[track_caller]
pub fn run_ok(cmd: Command, timeout: Duration, what: &str) -> Output {
    let shown = format!("{cmd:?}");
    let out = run(cmd, timeout, what);
    assert!(
        out.status.success(),
        "{what} failed ({}): {shown}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `target/<profile>/libjzx.a`, the Rust static library (cargo builds it with
/// the crate, crate-type `staticlib`); built here if it is missing.
pub fn libjzx_a() -> PathBuf {
    let dir = profile_dir();
    let lib = dir.join("libjzx.a");
    if lib.is_file() {
        return lib;
    }
    let profile = dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--quiet", "--lib", "--profile"])
        .arg(if profile == "debug" { "dev" } else { profile })
        .current_dir(manifest_dir());
    if let Some(target_dir) = dir.parent() {
        cmd.env("CARGO_TARGET_DIR", target_dir);
    }
    let out = run(cmd, BUILD_TIMEOUT, "cargo build --lib");
    assert!(
        lib.is_file(),
        "{} is missing and `cargo build --lib` did not write it ({}): {}",
        lib.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    lib
}

/// The host's target triple (`rustc -vV`).
pub fn host_triple() -> String {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc)
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .trim()
        .to_string()
}

/// libxev's sources as build.rs finds them: `$LIBXEV_SRC`, else the
/// `vendor/libxev` folder beside libxev-sys's manifest (`cargo metadata
/// --offline --filter-platform <host>`).
pub fn libxev_src() -> PathBuf {
    if let Some(dir) = std::env::var_os("LIBXEV_SRC").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join("src/main.zig").is_file(),
            "LIBXEV_SRC={} has no src/main.zig",
            dir.display()
        );
        return dir;
    }
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["metadata", "--format-version", "1", "--offline"])
        .arg("--filter-platform")
        .arg(host_triple())
        .arg("--manifest-path")
        .arg(manifest_dir().join("Cargo.toml"));
    let out = run_ok(cmd, Duration::from_secs(120), "cargo metadata");
    let json = String::from_utf8_lossy(&out.stdout);
    // cargo's own JSON: a plain search for the package's manifest path.
    let marker = "\"manifest_path\":\"";
    for (at, _) in json.match_indices(marker) {
        let rest = &json[at + marker.len()..];
        let Some(end) = rest.find('"') else { continue };
        let path = rest[..end].replace("\\\\", "\\");
        if !path.contains("libxev-sys-0.0.1-rc.2") {
            continue;
        }
        let dir = Path::new(&path)
            .parent()
            .unwrap_or(Path::new("."))
            .join("vendor/libxev");
        if dir.join("src/main.zig").is_file() {
            return dir;
        }
    }
    panic!("libxev-sys =0.0.1-rc.2 not found by cargo metadata; set LIBXEV_SRC");
}
