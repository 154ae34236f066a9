//! The kqueue path, cross-compiled (it cannot run here): `zig build` of the
//! bridge over libxev for aarch64-macos and x86_64-freebsd must succeed and
//! produce `lib/libjzx_xev.a` with objects of that target, and the Zig echo
//! example (over the C ABI) must compile for both. Builds go to
//! `target/<profile>/zig-tests/cross-*`.
mod util;
mod zig_tools;

use std::process::Command;
use zig_tools::{
    global_cache_args, libxev_src, manifest_dir, run_ok, work_dir, zig_0_16, BUILD_TIMEOUT,
};

/// A cross-compilation target and how to recognise its objects.
struct Target {
    /// The Zig target triple.
    name: &'static str,
    /// The bytes an object of the target starts with.
    magic: &'static [u8],
    /// Bytes it also carries at an offset from its start, if any.
    at: Option<(usize, &'static [u8])>,
}

/// A 64-bit little-endian Mach-O header for arm64, and a 64-bit little-endian
/// ELF header with e_machine x86_64 (0x3e). (Zig sets the ELF OS/ABI byte to
/// FreeBSD in the bridge's objects but not in a `build-obj` object.)
const TARGETS: &[Target] = &[
    Target {
        name: "aarch64-macos",
        magic: &[0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0x00, 0x00, 0x01],
        at: None,
    },
    Target {
        name: "x86_64-freebsd",
        magic: &[0x7f, b'E', b'L', b'F', 2, 1, 1],
        at: Some((18, &[0x3e, 0x00])),
    },
];

/// Whether `bytes` (an object or an archive) hold an object of `target`.
fn has_object(bytes: &[u8], target: &Target) -> bool {
    bytes.windows(target.magic.len()).enumerate().any(|(i, w)| {
        w == target.magic
            && match target.at {
                None => true,
                Some((off, want)) => bytes.get(i + off..i + off + want.len()) == Some(want),
            }
    })
}

#[test]
fn the_bridge_cross_compiles_for_the_kqueue_targets() {
    let zig = zig_0_16();
    let libxev = libxev_src();
    let dir = work_dir("cross-bridge");
    for t in TARGETS {
        let target = t.name;
        let prefix = dir.join(target);
        let _ = std::fs::remove_dir_all(&prefix);
        let mut cmd = Command::new(&zig);
        cmd.current_dir(manifest_dir())
            .arg("build")
            .arg(format!("-Dlibxev={}", libxev.display()))
            .arg(format!("-Dtarget={target}"))
            .arg("-Dcpu=baseline")
            .arg("--prefix")
            .arg(&prefix)
            .arg("--cache-dir")
            .arg(dir.join("cache"))
            .args(global_cache_args());
        run_ok(cmd, BUILD_TIMEOUT, &format!("zig build -Dtarget={target}"));
        let lib = prefix.join("lib/libjzx_xev.a");
        let bytes = std::fs::read(&lib)
            .unwrap_or_else(|e| panic!("{target}: {} not built: {e}", lib.display()));
        assert!(bytes.starts_with(b"!<arch>\n"), "{target}: not an archive");
        assert!(
            has_object(&bytes, t),
            "{target}: {} holds no object for the target",
            lib.display()
        );
        assert!(
            prefix.join("include/jzx_xev.h").is_file(),
            "{target}: header not installed"
        );
    }
}

#[test]
fn the_zig_echo_example_compiles_for_the_kqueue_targets() {
    let zig = zig_0_16();
    let dir = work_dir("cross-examples");
    for t in TARGETS {
        let target = t.name;
        let obj = dir.join(format!("echo_server-{target}.o"));
        let _ = std::fs::remove_file(&obj);
        let mut cmd = Command::new(&zig);
        cmd.current_dir(manifest_dir())
            .args(["build-obj", "-target", target])
            .args(["--dep", "jzx", "-Mroot=examples/zig/echo_server.zig"])
            .args(["-Mjzx=zig/jzx.zig", "-I", "include", "-lc"])
            .arg("--cache-dir")
            .arg(dir.join("cache"))
            .args(global_cache_args())
            .arg(format!("-femit-bin={}", obj.display()));
        run_ok(
            cmd,
            BUILD_TIMEOUT,
            &format!("zig build-obj echo_server.zig -target {target}"),
        );
        let bytes = std::fs::read(&obj).unwrap_or_else(|e| panic!("{target}: {e}"));
        assert!(has_object(&bytes, t), "{target}: wrong object format");
    }
}
