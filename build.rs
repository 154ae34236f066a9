//! Builds the Zig bridge and generates its Rust bindings.
//!
//! Steps, in order:
//! 0. a docs build (`DOCS_RS` set, as on docs.rs): no Zig, no libclang, no
//!    network. The bindings become the committed stand-in
//!    `src/backend/sys_docs.rs` and nothing is linked; stop there;
//! 1. find Zig 0.16.0: `$ZIG`, else `zig` on PATH, else the PyPI package
//!    `ziglang` (`python3 -m pip install ziglang==0.16.0`); any other version
//!    is an error that says how to install the right one;
//! 2. find libxev's sources without resolving jzx's dependency graph (a
//!    dependent never has jzx's dev-dependencies), first found wins:
//!    `$LIBXEV_SRC`; then, with the feature `libxev-sys` (the default), the
//!    folder libxev-sys's own build script reported (the package cargo
//!    resolved, `[patch]` included), the `vendor/libxev` folder of
//!    `libxev-sys-<version>` beside jzx's own package folder (a registry or
//!    `cargo vendor --versioned-dirs` folder), `libxev-sys` beside it when
//!    jzx's folder is a `cargo vendor` one (it has `.cargo-checksum.json`),
//!    and the same package in `$CARGO_HOME/registry/src/*/`. Without the
//!    feature `LIBXEV_SRC` is required;
//! 3. run `zig build` with its prefix and caches under `OUT_DIR` (debug
//!    profile: Zig Debug; release: ReleaseFast; baseline CPU of the target);
//! 4. link the static library `jzx_xev`;
//! 5. run bindgen (it needs libclang) on `zig-src/jzx_xev.h`.
//!
//! A step that cannot proceed prints one message (what is missing, how to get
//! it) and exits with status 1: no panic, no backtrace.
use std::env;
use std::ffi::OsString;
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{self, Command};

const ZIG_VERSION: &str = "0.16.0";
/// The libxev-sys package whose `vendor/libxev` folder holds libxev's sources:
/// its version is the `=` one of Cargo.toml (tests/dependent.rs checks it).
const LIBXEV_SYS: &str = "libxev-sys-0.0.1-rc.2";
const ZIG_HINT: &str = "install Zig 0.16.0 and put it on PATH (or set ZIG to the binary), \
     from PyPI:\n    python3 -m pip install ziglang==0.16.0\n    \
     export PATH=\"$(python3 -c 'import os, ziglang; print(os.path.dirname(ziglang.__file__))'):$PATH\"\n  \
     or a release from https://ziglang.org/download/";
const LIBCLANG_HINT: &str = "bindgen needs libclang; install it (Debian/Ubuntu: \
     `sudo apt-get install libclang-dev`; Fedora: `sudo dnf install clang-devel`; \
     macOS: Xcode or its Command Line Tools), or set LIBCLANG_PATH to the folder holding it";

fn main() {
    let manifest_dir = PathBuf::from(env_or_fail("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env_or_fail("OUT_DIR"));
    let bindings = out_dir.join("jzx_xev.rs");

    if env::var_os("DOCS_RS").is_some() {
        let stand_in = manifest_dir.join("src/backend/sys_docs.rs");
        if let Err(e) = fs::copy(&stand_in, &bindings) {
            fail(&format!("cannot copy {}: {e}", stand_in.display()));
        }
        rerun_directives(&manifest_dir);
        return;
    }

    let zig = find_zig().unwrap_or_else(|why| fail_with_fix(&why, ZIG_HINT));
    let libxev = find_libxev(&manifest_dir).unwrap_or_else(|why| fail(&why));
    let prefix = out_dir.join("zig-out");
    zig_build(&zig, &manifest_dir, &libxev.dir, &out_dir, &prefix);
    generate_bindings(&manifest_dir.join("zig-src/jzx_xev.h"), &bindings);

    // Printed last: a failed build script is run again anyway, and its
    // message is then not buried under these lines.
    rerun_directives(&manifest_dir);
    // Edits to libxev's sources (under LIBXEV_SRC, say) rebuild the bridge.
    for path in ["src", "build.zig"] {
        println!("cargo:rerun-if-changed={}", libxev.dir.join(path).display());
    }
    for var in libxev.decided_by {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!(
        "cargo:rustc-link-search=native={}",
        prefix.join("lib").display()
    );
    println!("cargo:rustc-link-lib=static=jzx_xev");
    println!("cargo:include={}", prefix.join("include").display());
    println!("cargo:lib={}", prefix.join("lib").display());
}

fn rerun_directives(manifest_dir: &Path) {
    for path in [
        "zig-src",
        "build.zig",
        "build.zig.zon",
        "src/backend/sys_docs.rs",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            manifest_dir.join(path).display()
        );
    }
    for var in [
        "DOCS_RS",
        "ZIG",
        "LIBXEV_SRC",
        "LIBCLANG_PATH",
        "ZIG_GLOBAL_CACHE_DIR",
        "XDG_CACHE_HOME",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
}

/// Prints why the build cannot proceed, once, and stops the build script.
fn fail(why: &str) -> ! {
    eprintln!("error: jzx cannot be built: {why}");
    process::exit(1);
}

/// [`fail`] with a second part: how to get what is missing.
fn fail_with_fix(why: &str, fix: &str) -> ! {
    eprintln!("error: jzx cannot be built: {why}\n  to fix it: {fix}");
    process::exit(1);
}

fn env_or_fail(var: &str) -> OsString {
    env::var_os(var).unwrap_or_else(|| fail(&format!("cargo did not set {var}")))
}

/// `$ZIG`, then `zig` on PATH, then the PyPI package's binary.
fn find_zig() -> Result<PathBuf, String> {
    let mut seen = Vec::new();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(zig) = env::var_os("ZIG").filter(|z| !z.is_empty()) {
        candidates.push(PathBuf::from(zig));
    }
    candidates.push(PathBuf::from("zig"));
    for python in ["python3", "python"] {
        let out = Command::new(python)
            .args([
                "-c",
                "import os, ziglang; print(os.path.dirname(ziglang.__file__))",
            ])
            .output();
        if let Ok(out) = out {
            if out.status.success() {
                let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
                candidates.push(Path::new(&dir).join("zig"));
                break;
            }
        }
    }
    for zig in candidates {
        match zig_version(&zig) {
            Some(v) if v == ZIG_VERSION => return Ok(zig),
            Some(v) => seen.push(format!("{} is Zig {v}", zig.display())),
            None => {}
        }
    }
    let seen = if seen.is_empty() {
        "none was found in $ZIG, on PATH or in the PyPI package ziglang".to_string()
    } else {
        seen.join("; ")
    };
    Err(format!("Zig {ZIG_VERSION} exactly is required ({seen})"))
}

fn zig_version(zig: &Path) -> Option<String> {
    let out = Command::new(zig).arg("version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Where libxev's sources were found, and the environment variables that
/// decided it (cargo runs the build script again when one changes).
struct Libxev {
    dir: PathBuf,
    decided_by: &'static [&'static str],
}

/// libxev's source folder (the one holding `src/main.zig`), looked up in the
/// order the file comment gives.
fn find_libxev(manifest_dir: &Path) -> Result<Libxev, String> {
    let fix = format!(
        "keep jzx's default feature `libxev-sys` on (cargo then downloads libxev's sources \
         with that package), or set LIBXEV_SRC to the folder of libxev's sources (with \
         src/main.zig) at the version the package {LIBXEV_SYS} carries"
    );
    if let Some(dir) = env::var_os("LIBXEV_SRC").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return if is_libxev(&dir) {
            Ok(Libxev {
                dir,
                decided_by: &[],
            })
        } else {
            Err(format!(
                "LIBXEV_SRC={} is not libxev's source folder (it has no src/main.zig)",
                dir.display()
            ))
        };
    }
    if env::var_os("CARGO_FEATURE_LIBXEV_SYS").is_none() {
        return Err(format!(
            "libxev's sources were not found: the feature `libxev-sys` is off and \
             LIBXEV_SRC is not set\n  to fix it: {fix}"
        ));
    }
    if let Some(dir) = reported_by_libxev_sys() {
        return Ok(Libxev {
            dir,
            decided_by: &[],
        });
    }
    let mut beside = Vec::new();
    if let Some(parent) = manifest_dir.parent() {
        // A registry folder names packages `name-version`; `cargo vendor`
        // names them `name` unless asked for versions, and marks each
        // package folder with `.cargo-checksum.json`.
        beside.push(parent.join(LIBXEV_SYS));
        if manifest_dir.join(".cargo-checksum.json").is_file() {
            beside.push(parent.join("libxev-sys"));
        }
    }
    let found = beside
        .into_iter()
        .map(|package| package.join("vendor/libxev"))
        .find(|dir| is_libxev(dir));
    if let Some(dir) = found {
        return Ok(Libxev {
            dir,
            decided_by: &[],
        });
    }
    let cargo_home = cargo_home(manifest_dir);
    let in_registry = cargo_home.as_ref().and_then(|home| {
        let mut indexes: Vec<PathBuf> = fs::read_dir(home.join("registry/src"))
            .ok()?
            .flatten()
            .map(|e| e.path())
            .collect();
        indexes.sort();
        indexes
            .into_iter()
            .map(|index| index.join(LIBXEV_SYS).join("vendor/libxev"))
            .find(|dir| is_libxev(dir))
    });
    if let Some(dir) = in_registry {
        return Ok(Libxev {
            dir,
            decided_by: &["CARGO_HOME", "HOME"],
        });
    }
    let home = cargo_home.map_or_else(
        || "no cargo home was found".to_string(),
        |h| format!("{}/registry/src/*/", h.display()),
    );
    Err(format!(
        "libxev's sources were not found: libxev-sys's build script reported no source \
         folder, and the crates.io package {LIBXEV_SYS} is neither beside jzx ({}) nor in \
         {home}\n  to fix it: {fix}",
        manifest_dir.display()
    ))
}

fn is_libxev(dir: &Path) -> bool {
    dir.join("src/main.zig").is_file()
}

/// `$CARGO_HOME` (cargo run through rustup sets it), else the cargo home
/// that holds jzx itself (a registry or git dependency), else `~/.cargo`.
fn cargo_home(manifest_dir: &Path) -> Option<PathBuf> {
    if let Some(home) = env::var_os("CARGO_HOME").filter(|h| !h.is_empty()) {
        return Some(PathBuf::from(home));
    }
    let holder = manifest_dir.ancestors().find(|dir| {
        manifest_dir.starts_with(dir.join("registry/src"))
            || manifest_dir.starts_with(dir.join("git/checkouts"))
    });
    if let Some(home) = holder {
        return Some(home.to_path_buf());
    }
    env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| Path::new(&h).join(".cargo"))
}

/// The source folder libxev-sys's build script named in its
/// `rerun-if-changed` lines, read from its output file: `DEP_XEV_INCLUDE` is
/// `<its OUT_DIR>/zig-out/include`, and cargo keeps the script's output in
/// `output` beside `OUT_DIR`. This is the package cargo resolved (a
/// `[patch]`, a vendored copy, another registry), so it is asked first.
fn reported_by_libxev_sys() -> Option<PathBuf> {
    let include = PathBuf::from(env::var_os("DEP_XEV_INCLUDE")?);
    let out_dir = include.ancestors().find(|d| d.ends_with("out"))?;
    let output = fs::read_to_string(out_dir.parent()?.join("output")).ok()?;
    output.lines().find_map(|line| {
        let path = line
            .strip_prefix("cargo:rerun-if-changed=")
            .or_else(|| line.strip_prefix("cargo::rerun-if-changed="))?;
        let dir = Path::new(path.strip_suffix("/build.zig")?);
        is_libxev(dir).then(|| dir.to_path_buf())
    })
}

fn zig_build(zig: &Path, manifest_dir: &Path, libxev: &Path, out_dir: &Path, prefix: &Path) {
    let optimize = match env::var("PROFILE").as_deref() {
        Ok("release") => "ReleaseFast",
        _ => "Debug",
    };
    let mut cmd = Command::new(zig);
    cmd.current_dir(manifest_dir)
        .arg("build")
        .arg(format!("-Dlibxev={}", libxev.display()))
        .arg(format!("-Doptimize={optimize}"))
        .arg("--prefix")
        .arg(prefix)
        .arg("--cache-dir")
        .arg(out_dir.join("zig-cache"));
    let has_global_cache = ["ZIG_GLOBAL_CACHE_DIR", "XDG_CACHE_HOME", "HOME"]
        .iter()
        .any(|v| env::var_os(v).is_some_and(|s| !s.is_empty()));
    if !has_global_cache {
        cmd.arg("--global-cache-dir")
            .arg(out_dir.join("zig-global-cache"));
    }
    let target = env::var("TARGET").unwrap_or_default();
    match zig_target(&target) {
        Some(t) => cmd.arg(format!("-Dtarget={t}")),
        None => fail(&format!(
            "no Zig target is known for the Rust target `{target}` \
             (jzx builds for Linux, macOS and the BSDs)"
        )),
    };
    cmd.arg("-Dcpu=baseline");
    let status = cmd
        .status()
        .unwrap_or_else(|e| fail(&format!("cannot run {}: {e}", zig.display())));
    if !status.success() {
        fail(&format!(
            "`zig build` of the bridge failed ({status}; Zig's messages are above), with \
             libxev's sources from {}",
            libxev.display()
        ));
    }
}

/// bindgen on the bridge's header. bindgen panics when it cannot load
/// libclang: that panic is caught and told as one message.
fn generate_bindings(header: &Path, out: &Path) {
    let builder = bindgen::Builder::default()
        .header(header.to_string_lossy())
        .allowlist_function("jzx_xev_.*")
        .allowlist_type("jzx_xev_.*")
        .allowlist_var("JZX_XEV_.*")
        .rustified_enum("jzx_xev_backend")
        .layout_tests(true);
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let generated = panic::catch_unwind(AssertUnwindSafe(|| builder.generate()));
    panic::set_hook(hook);
    let bindings = match generated {
        Ok(Ok(bindings)) => bindings,
        Ok(Err(e)) => fail_with_fix(
            &format!("bindgen failed on {}: {e}", header.display()),
            LIBCLANG_HINT,
        ),
        Err(payload) => {
            let why = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("bindgen panicked");
            fail_with_fix(why, LIBCLANG_HINT)
        }
    };
    if let Err(e) = bindings.write_to_file(out) {
        fail(&format!("cannot write {}: {e}", out.display()));
    }
}

/// The Zig target triple for a Rust target triple.
fn zig_target(rust: &str) -> Option<String> {
    let parts: Vec<&str> = rust.split('-').collect();
    let arch = match parts.first()? {
        &"i686" => "x86",
        &"riscv64gc" => "riscv64",
        a => a,
    };
    let os_abi = match parts.get(1..)? {
        [_, "linux", abi] => format!("linux-{abi}"),
        ["apple", "darwin"] => "macos".to_string(),
        [_, "freebsd"] => "freebsd".to_string(),
        [_, "netbsd"] => "netbsd".to_string(),
        [_, "openbsd"] => "openbsd".to_string(),
        _ => return None,
    };
    Some(format!("{arch}-{os_abi}"))
}
