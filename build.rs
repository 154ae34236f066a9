//! Builds the Zig bridge and generates its Rust bindings.
//!
//! Steps, in order:
//! 1. find Zig 0.16.0: `$ZIG`, else `zig` on PATH, else the PyPI package
//!    `ziglang` (`python3 -m pip install ziglang==0.16.0`); any other version
//!    is an error that says how to install the right one;
//! 2. find libxev's sources: `$LIBXEV_SRC`, else the `vendor/libxev` folder of
//!    the crates.io package `libxev-sys` that cargo has already unpacked
//!    (located with `cargo metadata --offline`);
//! 3. run `zig build` with its prefix and caches under `OUT_DIR` (debug
//!    profile: Zig Debug; release: ReleaseFast; baseline CPU of the target);
//! 4. link the static library `jzx_xev`;
//! 5. run bindgen on `zig-src/jzx_xev.h`.
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

const ZIG_VERSION: &str = "0.16.0";
const INSTALL_HINT: &str = "install it with `python3 -m pip install ziglang==0.16.0` \
     (the wheel carries the binary; build.rs finds it), or put a Zig 0.16.0 binary on PATH \
     or in $ZIG";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    for path in ["zig-src", "build.zig", "build.zig.zon"] {
        println!(
            "cargo:rerun-if-changed={}",
            manifest_dir.join(path).display()
        );
    }
    for var in [
        "ZIG",
        "LIBXEV_SRC",
        "ZIG_GLOBAL_CACHE_DIR",
        "XDG_CACHE_HOME",
        "HOME",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    let zig = find_zig().unwrap_or_else(|why| fail(&why));
    let libxev = find_libxev(&manifest_dir).unwrap_or_else(|why| fail(&why));
    let prefix = out_dir.join("zig-out");
    zig_build(&zig, &manifest_dir, &libxev, &out_dir, &prefix);

    println!(
        "cargo:rustc-link-search=native={}",
        prefix.join("lib").display()
    );
    println!("cargo:rustc-link-lib=static=jzx_xev");
    println!("cargo:include={}", prefix.join("include").display());
    println!("cargo:lib={}", prefix.join("lib").display());

    bindgen::Builder::default()
        .header(manifest_dir.join("zig-src/jzx_xev.h").to_string_lossy())
        .allowlist_function("jzx_xev_.*")
        .allowlist_type("jzx_xev_.*")
        .allowlist_var("JZX_XEV_.*")
        .rustified_enum("jzx_xev_backend")
        .layout_tests(true)
        .generate()
        .unwrap_or_else(|e| fail(&format!("bindgen failed on zig-src/jzx_xev.h: {e}")))
        .write_to_file(out_dir.join("jzx_xev.rs"))
        .unwrap_or_else(|e| fail(&format!("cannot write the bindings: {e}")));
}

fn fail(why: &str) -> ! {
    eprintln!("jzx build: {why}");
    panic!("jzx build: {why}");
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
        "no Zig was found".to_string()
    } else {
        seen.join("; ")
    };
    Err(format!(
        "Zig {ZIG_VERSION} is required ({seen}); {INSTALL_HINT}"
    ))
}

fn zig_version(zig: &Path) -> Option<String> {
    let out = Command::new(zig).arg("version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `$LIBXEV_SRC`, else `vendor/libxev` beside libxev-sys's manifest.
fn find_libxev(manifest_dir: &Path) -> Result<PathBuf, String> {
    if let Some(dir) = env::var_os("LIBXEV_SRC").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return if dir.join("src/main.zig").is_file() {
            Ok(dir)
        } else {
            Err(format!("LIBXEV_SRC={} has no src/main.zig", dir.display()))
        };
    }
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = env::var("TARGET").expect("TARGET");
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
        ])
        .arg(&target)
        .arg("--manifest-path")
        .arg(manifest_dir.join("Cargo.toml"))
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}; set LIBXEV_SRC to libxev's source folder",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let json = String::from_utf8_lossy(&out.stdout);
    // The manifest path of the package whose id names libxev-sys. The JSON is
    // cargo's own, so a plain search is enough (no JSON parser dependency).
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
            return Ok(dir);
        }
    }
    Err("libxev-sys =0.0.1-rc.2 was not found in cargo's registry; \
         run `cargo fetch` or set LIBXEV_SRC"
        .into())
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
    let target = env::var("TARGET").expect("TARGET");
    match zig_target(&target) {
        Some(t) => cmd.arg(format!("-Dtarget={t}")),
        None => fail(&format!(
            "no Zig target is known for the Rust target {target}"
        )),
    };
    cmd.arg("-Dcpu=baseline");
    let status = cmd
        .status()
        .unwrap_or_else(|e| fail(&format!("cannot run {}: {e}", zig.display())));
    if !status.success() {
        fail(&format!("`zig build` of the bridge failed ({status})"));
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
