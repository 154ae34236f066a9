//! jzx as a dependency (SPEC §10): what the registry would serve builds and
//! runs in someone else's project, on a machine that has only what the
//! README's "Use jzx in your project" asks for.
use std::env;
use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The libxev-sys package jzx's Cargo.toml pins, as its folder is named.
const LIBXEV_SYS: &str = "libxev-sys-0.0.1-rc.2";

/// Packages the crate with cargo's verification (it builds the unpacked
/// package), unpacks the `.crate`, and builds and runs a new binary crate
/// that depends on it by path, then as a git dependency, then with that git
/// dependency vendored (`cargo vendor --versioned-dirs`: jzx and libxev-sys
/// side by side, as in a registry folder) and built offline. The builds run
/// in a fresh `CARGO_HOME` (no jzx dev-dependency in it, the registry
/// downloaded anew) with no `ZIG` set, Zig on `PATH` the way the README says,
/// and the README's example as the program; each one builds the bridge over
/// the libxev-sys package cargo resolved for it. Last, jzx's own build errors
/// are checked in the same cargo home and target folder.
#[test]
fn a_new_project_builds_and_runs_the_packaged_crate() {
    let work = WorkDir::new("jzx-dependent");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let target = work.path().join("target");
    let step = Stopwatch::new();

    // What the registry would serve, built by `cargo package` in
    // target/package (the same target folder as the apps below).
    let out = run(Command::new(&cargo)
        .current_dir(ROOT)
        .args(["package", "--allow-dirty", "--target-dir"])
        .arg(&target)
        .env_remove("RUSTFLAGS"));
    step.done("cargo package, verified");
    let version = env!("CARGO_PKG_VERSION");
    let crate_file = target.join(format!("package/jzx-{version}.crate"));
    assert!(
        crate_file.is_file(),
        "no {} after: {out}",
        crate_file.display()
    );
    let listing = run(Command::new("tar").arg("tzf").arg(&crate_file));
    assert_package_contents(&listing, version);
    run(Command::new("tar")
        .arg("xzf")
        .arg(&crate_file)
        .arg("-C")
        .arg(work.path()));
    let jzx = work.path().join(format!("jzx-{version}"));

    // The same sources as a git repository, for the git dependency.
    let jzx_git = work.path().join("jzx-git");
    copy_tree(&jzx, &jzx_git);
    let git = |args: &[&str]| {
        run(Command::new("git")
            .current_dir(&jzx_git)
            .args(["-c", "user.name=jzx", "-c", "user.email=jzx@localhost"])
            .args(args))
    };
    git(&["init", "--quiet"]);
    git(&["add", "--all"]);
    git(&["commit", "--quiet", "-m", "jzx as packaged"]);

    let home = work.path().join("cargo-home");
    let app_cargo = |app: &Path| {
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(app)
            .env("CARGO_HOME", &home)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("ZIG")
            .env_remove("LIBXEV_SRC")
            .env_remove("RUSTFLAGS");
        cmd
    };
    let path_with_zig = path_with_zig();
    let example = readme_example();
    let by_path = format!("{{ path = {:?} }}", jzx.display().to_string());
    let by_git = format!("{{ git = {:?} }}", format!("file://{}", jzx_git.display()));
    for (name, dependency) in [("by-path", &by_path), ("by-git", &by_git)] {
        let app = new_app(work.path(), name, dependency, &example);
        let out = run(app_cargo(&app)
            .args(["run", "--quiet"])
            .env("PATH", &path_with_zig));
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            ["sum reached 10", "actors left: 0"],
            "{name}: the README example's output"
        );
        let registry = fs::read_dir(home.join("registry/src"))
            .unwrap()
            .map(|index| index.unwrap().path().join(LIBXEV_SYS))
            .find(|package| package.is_dir())
            .expect("libxev-sys in the fresh cargo home");
        assert_bridge_built_over(&target, &registry, name);
        step.done(name);
    }

    // The git dependency vendored: offline, from the vendor folder only.
    let app = work.path().join("app-by-git");
    let config = run(app_cargo(&app).args(["vendor", "--versioned-dirs", "vendor"]));
    let vendor = app.join("vendor");
    assert!(
        vendor
            .join(format!("jzx-{version}/.cargo-checksum.json"))
            .is_file(),
        "cargo vendor did not vendor jzx"
    );
    fs::create_dir_all(app.join(".cargo")).unwrap();
    fs::write(app.join(".cargo/config.toml"), config).unwrap();
    let out = run(app_cargo(&app)
        .args(["run", "--quiet", "--offline"])
        .env("PATH", &path_with_zig));
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["sum reached 10", "actors left: 0"],
        "vendored: the README example's output"
    );
    assert_bridge_built_over(&target, &vendor.join(LIBXEV_SYS), "vendored");
    step.done("vendored");

    jzx_build_errors_are_one_message(&work, &jzx, app_cargo);
    step.done("build errors");
}

/// jzx's own build script, when something is missing, prints one message
/// and no panic. (With the default feature, libxev-sys's build script runs
/// first and fails in its own words when Zig or libclang is missing: see
/// the README.) Here the feature is off and LIBXEV_SRC set, so jzx's build
/// script is the one that finds Zig missing: none on PATH, no ZIG, and
/// `python3`/`python` fail, so the PyPI package cannot be asked either.
fn jzx_build_errors_are_one_message(
    work: &WorkDir,
    jzx: &Path,
    app_cargo: impl Fn(&Path) -> Command,
) {
    let dependency = format!(
        "{{ path = {:?}, default-features = false }}",
        jzx.display().to_string()
    );
    let app = new_app(work.path(), "no-zig", &dependency, "fn main() {}\n");
    let stubs = work.path().join("no-python");
    fs::create_dir_all(&stubs).unwrap();
    for python in ["python3", "python"] {
        fs::write(stubs.join(python), "#!/bin/sh\nexit 1\n").unwrap();
        fs::set_permissions(stubs.join(python), fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = env::var_os("PATH").unwrap_or_default();
    let without_zig = env::split_paths(&path).filter(|dir| !dir.join("zig").exists());
    let path = env::join_paths(std::iter::once(stubs).chain(without_zig)).unwrap();
    let libxev = fs::read_dir(work.path().join("cargo-home/registry/src"))
        .unwrap()
        .map(|index| index.unwrap().path().join(LIBXEV_SYS).join("vendor/libxev"))
        .find(|dir| dir.is_dir())
        .unwrap();
    let out = app_cargo(&app)
        .arg("build")
        .env("PATH", path)
        .env("LIBXEV_SRC", libxev)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "built without Zig: {stderr}");
    assert_eq!(
        stderr.matches("error: jzx cannot be built: ").count(),
        1,
        "one message: {stderr}"
    );
    assert!(
        stderr.contains("Zig 0.16.0 exactly is required")
            && stderr.contains("pip install ziglang==0.16.0"),
        "what is missing and how to install it: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A new binary crate `app-NAME` in `dir` that depends on jzx as
/// `dependency`, with `main` as its program.
fn new_app(dir: &Path, name: &str, dependency: &str, main: &str) -> PathBuf {
    // Outside this repository: its .cargo/config.toml must not apply.
    let app = dir.join(format!("app-{name}"));
    fs::create_dir_all(app.join("src")).unwrap();
    fs::write(
        app.join("Cargo.toml"),
        format!(
            "[package]\nname = \"app-{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\njzx = {dependency}\n"
        ),
    )
    .unwrap();
    fs::write(app.join("src/main.rs"), main).unwrap();
    app
}

/// The build just done ran jzx's build script last: its rebuild triggers
/// name the libxev folder of the `libxev_sys` package folder.
fn assert_bridge_built_over(target: &Path, libxev_sys: &Path, name: &str) {
    let newest = fs::read_dir(target.join("debug/build"))
        .unwrap()
        .map(|dir| dir.unwrap().path().join("output"))
        .filter(|output| {
            output.is_file()
                && output
                    .parent()
                    .and_then(Path::file_name)
                    .is_some_and(|n| n.to_string_lossy().starts_with("jzx-"))
        })
        .max_by_key(|output| output.metadata().unwrap().modified().unwrap())
        .expect("jzx's build script output");
    let output = fs::read_to_string(&newest).unwrap();
    let expected = format!(
        "cargo:rerun-if-changed={}",
        libxev_sys.join("vendor/libxev/src").display()
    );
    assert!(
        output.lines().any(|line| line == expected),
        "{name}: jzx's bridge was not built over {}: {}\n{output}",
        libxev_sys.display(),
        newest.display()
    );
}

/// The docs build (DOCS_RS set) compiles against `src/backend/sys_docs.rs`
/// instead of bindgen's output: it must declare what bindgen generates from
/// the bridge's header today. When the header changes, copy the generated
/// file over it (keeping the stand-in's first line).
#[test]
fn the_docs_stand_in_bindings_are_what_bindgen_generates() {
    let generated = include_str!(concat!(env!("OUT_DIR"), "/jzx_xev.rs"));
    let stand_in = fs::read_to_string(Path::new(ROOT).join("src/backend/sys_docs.rs")).unwrap();
    let body = |text: &str| text.split_once('\n').map(|(_, rest)| rest.to_string());
    assert!(
        stand_in.starts_with("/* Stand-in"),
        "the stand-in lost its first line"
    );
    assert!(
        body(generated) == body(&stand_in),
        "src/backend/sys_docs.rs differs from bindgen's output for zig-src/jzx_xev.h: \
         copy {}/jzx_xev.rs over it, keeping its first line",
        env!("OUT_DIR")
    );
}

/// build.rs (and this test) look for libxev's sources in the folder
/// `libxev-sys-<version>`: that version must be the one Cargo.toml pins with
/// `=`.
#[test]
fn build_rs_looks_for_the_libxev_sys_version_cargo_toml_pins() {
    let read = |file: &str| fs::read_to_string(Path::new(ROOT).join(file)).unwrap();
    let between = |text: &str, before: &str, after: &str| -> String {
        let (_, rest) = text
            .split_once(before)
            .unwrap_or_else(|| panic!("no `{before}`"));
        rest.split_once(after).unwrap().0.to_string()
    };
    let in_build_rs = between(
        &read("build.rs"),
        "const LIBXEV_SYS: &str = \"libxev-sys-",
        "\"",
    );
    let in_cargo_toml = between(&read("Cargo.toml"), "\nlibxev-sys = { version = \"=", "\"");
    assert_eq!(in_build_rs, in_cargo_toml);
    assert_eq!(LIBXEV_SYS, format!("libxev-sys-{in_cargo_toml}"));
}

/// The `.crate` holds what a dependent's build needs, and nothing of CI,
/// tests or benchmarks.
fn assert_package_contents(listing: &str, version: &str) {
    let prefix = format!("jzx-{version}/");
    let files: Vec<&str> = listing
        .lines()
        .map(|l| {
            l.strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("{l} outside {prefix}"))
        })
        .collect();
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "LICENSE",
        "build.rs",
        "build.zig",
        "build.zig.zon",
        "src/lib.rs",
        "src/backend/sys_docs.rs",
        "zig-src/jzx_xev.zig",
        "zig-src/jzx_xev.h",
        "include/jzx/jzx.h",
        "zig/jzx.zig",
    ] {
        assert!(
            files.contains(&needed),
            "the package lacks {needed}: {files:?}"
        );
    }
    for file in &files {
        assert!(
            ![
                ".ci/",
                ".github/",
                "scripts/",
                "tests/",
                "benches/",
                "examples/",
                "target/"
            ]
            .iter()
            .any(|dir| file.starts_with(dir)),
            "the package ships {file}"
        );
    }
}

/// The first Rust block of the README's "Use jzx in your project" section.
fn readme_example() -> String {
    let readme = fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let (_, section) = readme
        .split_once("## Use jzx in your project")
        .expect("README has a \"Use jzx in your project\" section");
    let (_, code) = section.split_once("```rust\n").expect("a Rust block in it");
    let (code, _) = code.split_once("```").unwrap();
    assert!(
        code.contains("fn main()"),
        "the README example is a program"
    );
    code.to_string()
}

/// PATH with Zig 0.16.0 first, as the README tells a user to do it: the
/// folder of the PyPI package `ziglang`, else the folder of a `zig` 0.16.0
/// already on PATH.
fn path_with_zig() -> OsString {
    let path = env::var_os("PATH").unwrap_or_default();
    let pypi = Command::new("python3")
        .args([
            "-c",
            "import os, ziglang; print(os.path.dirname(ziglang.__file__))",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let on_path = env::split_paths(&path).find(|dir| zig_version(&dir.join("zig")) == "0.16.0");
    let dir = pypi
        .filter(|dir| zig_version(&dir.join("zig")) == "0.16.0")
        .or(on_path)
        .expect(
            "Zig 0.16.0 neither from PyPI (python3 -m pip install ziglang==0.16.0) \
             nor on PATH",
        );
    env::join_paths(std::iter::once(dir).chain(env::split_paths(&path))).unwrap()
}

fn zig_version(zig: &Path) -> String {
    Command::new(zig)
        .arg("version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Runs a command; on failure panics with its output. Returns its stdout.
#[track_caller]
fn run(cmd: &mut Command) -> String {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    assert!(
        status.success(),
        "{cmd:?} failed ({status})\n--- stdout\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&stderr)
    );
    stdout
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// A fresh folder under the system's temporary folder (outside this
/// repository, so its cargo configuration does not apply). Removed when
/// dropped, unless `JZX_KEEP_TMP` is set; its path is printed when the test
/// fails.
struct WorkDir(PathBuf);

impl WorkDir {
    fn new(name: &str) -> WorkDir {
        let dir = env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        WorkDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let keep = env::var_os("JZX_KEEP_TMP").is_some();
        if std::thread::panicking() {
            eprintln!(
                "the test's folder: {} ({})",
                self.0.display(),
                if keep {
                    "kept"
                } else {
                    "removed; set JZX_KEEP_TMP=1 to keep it"
                }
            );
        }
        if !keep {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

/// Prints how long each step of a long test took (seen with `--nocapture`).
struct Stopwatch(std::cell::Cell<Instant>);

impl Stopwatch {
    fn new() -> Stopwatch {
        Stopwatch(std::cell::Cell::new(Instant::now()))
    }

    fn done(&self, step: &str) {
        eprintln!("{step}: {} s", self.0.get().elapsed().as_secs());
        self.0.set(Instant::now());
    }
}
