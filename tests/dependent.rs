//! jzx as a dependency (SPEC §10): what the registry would serve builds and
//! runs in someone else's project, on a machine that has only what the
//! README's "Use jzx in your project" asks for.
use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Packages the crate (`cargo package`), unpacks the `.crate`, and builds and
/// runs a new binary crate that depends on it by path and, in a second build
/// on the same registry, as a git dependency. Both builds run in a fresh
/// `CARGO_HOME` (no jzx dev-dependency in it, the registry downloaded anew)
/// with no `ZIG` set, Zig on `PATH` the way the README says, and the README's
/// example as the program.
#[test]
fn a_new_project_builds_and_runs_the_packaged_crate() {
    let work = WorkDir::new("jzx-dependent");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());

    // What the registry would serve.
    let packaged = work.path().join("packaged");
    let out = run(Command::new(&cargo)
        .current_dir(ROOT)
        .args(["package", "--no-verify", "--allow-dirty", "--target-dir"])
        .arg(&packaged));
    let version = env!("CARGO_PKG_VERSION");
    let crate_file = packaged.join(format!("package/jzx-{version}.crate"));
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

    let example = readme_example();
    let home = work.path().join("cargo-home");
    let target = work.path().join("target");
    let path_with_zig = path_with_zig();
    for (name, dependency) in [
        (
            "by-path",
            format!("{{ path = {:?} }}", jzx.display().to_string()),
        ),
        (
            "by-git",
            format!("{{ git = {:?} }}", format!("file://{}", jzx_git.display())),
        ),
    ] {
        // Outside this repository: its .cargo/config.toml must not apply.
        let app = work.path().join(format!("app-{name}"));
        fs::create_dir_all(app.join("src")).unwrap();
        fs::write(
            app.join("Cargo.toml"),
            format!(
                "[package]\nname = \"app-{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [dependencies]\njzx = {dependency}\n"
            ),
        )
        .unwrap();
        fs::write(app.join("src/main.rs"), &example).unwrap();
        let out = run(Command::new(&cargo)
            .current_dir(&app)
            .args(["run", "--quiet"])
            .env("CARGO_HOME", &home)
            .env("CARGO_TARGET_DIR", &target)
            .env("PATH", &path_with_zig)
            .env_remove("ZIG")
            .env_remove("LIBXEV_SRC")
            .env_remove("RUSTFLAGS"));
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            ["sum reached 10", "actors left: 0"],
            "{name}: the README example's output"
        );
    }
    let downloaded: Vec<String> = fs::read_dir(home.join("registry/src"))
        .unwrap()
        .flat_map(|index| fs::read_dir(index.unwrap().path()).unwrap())
        .map(|package| package.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        downloaded.iter().any(|p| p.starts_with("libxev-sys-")),
        "{downloaded:?}"
    );
    for dev in ["anyhow-", "socket2-", "tokio-", "yaml-rust2-"] {
        assert!(
            !downloaded.iter().any(|p| p.starts_with(dev)),
            "a dev-dependency of jzx ({dev}) in the fresh cargo home: {downloaded:?}"
        );
    }
    work.remove();
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

/// build.rs looks for libxev's sources in the folder `libxev-sys-<version>`:
/// that version must be the one Cargo.toml pins with `=`.
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
/// repository, so its cargo configuration does not apply). Removed by
/// `remove` once the test has passed; kept for a look when it fails.
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

    fn remove(self) {
        fs::remove_dir_all(&self.0).unwrap();
    }
}
