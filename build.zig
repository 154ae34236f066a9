//! Builds the jzx bridge and the Zig side of jzx.
//!
//! - The bridge: `zig-src/jzx_xev.zig` over libxev, as a static library with
//!   its C header, for cargo's build.rs to link. libxev's sources are not part
//!   of this repository: pass their folder (the `vendor/libxev` folder of the
//!   crates.io package `libxev-sys`) with `-Dlibxev=/path/to/libxev`; build.rs
//!   does that for you. Only the bridge steps need it.
//! - The Zig module `jzx` (`zig/jzx.zig`, over the C header `include/jzx/jzx.h`)
//!   for Zig programs, and the Zig examples built on it against the Rust
//!   static library: pass the library with `-Djzx-lib=target/release/libjzx.a`
//!   (`cargo build` writes it). With `-Djzx-lib`, the module links the library
//!   and the system libraries it needs, so a dependent only imports `jzx`.
//!
//! Steps:
//! - `install` (default): the bridge, `lib/libjzx_xev.a` and
//!   `include/jzx_xev.h` (needs `-Dlibxev`);
//! - `test`: the bridge's own tests (needs `-Dlibxev`);
//! - `zig-examples`: builds and installs `bin/echo_server` from
//!   `examples/zig/echo_server.zig` (needs `-Djzx-lib`).
const std = @import("std");

pub fn build(b: *std.Build) !void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    const libxev_dir = b.option(
        []const u8,
        "libxev",
        "Folder holding libxev's sources (with src/main.zig); the bridge steps need it",
    );
    const jzx_lib = b.option(
        []const u8,
        "jzx-lib",
        "The Rust static library libjzx.a (cargo build writes target/<profile>/libjzx.a); the Zig examples need it",
    );

    // ---------------------------------------------------------- artifacts

    // The bridge over libxev.
    const bridge_lib: ?*std.Build.Step.Compile, const bridge_tests: ?*std.Build.Step.Compile = if (libxev_dir) |dir| blk: {
        const xev = b.createModule(.{
            .root_source_file = .{ .cwd_relative = b.pathJoin(&.{ dir, "src", "main.zig" }) },
            .target = target,
            .optimize = optimize,
        });
        const bridge = b.createModule(.{
            .root_source_file = b.path("zig-src/jzx_xev.zig"),
            .target = target,
            .optimize = optimize,
            .link_libc = true,
            .pic = true,
            // No stack probes: they call compiler_rt's __zig_probe_stack,
            // which a static library does not carry.
            .stack_check = false,
            .imports = &.{.{ .name = "xev", .module = xev }},
        });
        const lib = b.addLibrary(.{
            .linkage = .static,
            .name = "jzx_xev",
            .root_module = bridge,
            // Zig's own x86_64 backend (the Debug default) emits no
            // .note.GNU-stack, which gives C programs linking libjzx.a an
            // executable stack; LLVM emits it on every optimize mode.
            .use_llvm = true,
        });
        lib.installHeader(b.path("zig-src/jzx_xev.h"), "jzx_xev.h");
        break :blk .{ lib, b.addTest(.{ .root_module = bridge }) };
    } else .{ null, null };

    // The Zig module `jzx`: the C ABI through `@cImport` of jzx/jzx.h.
    const jzx = b.addModule("jzx", .{
        .root_source_file = b.path("zig/jzx.zig"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
    });
    jzx.addIncludePath(b.path("include"));
    if (jzx_lib) |path| {
        jzx.addObjectFile(.{ .cwd_relative = path });
        // What the Rust static library needs besides libc (rustc
        // --print native-static-libs); `unwind` is Zig's own libunwind.
        const os = target.result.os.tag;
        if (os == .linux) {
            for ([_][]const u8{ "unwind", "pthread", "dl", "m", "rt", "util" }) |name| {
                jzx.linkSystemLibrary(name, .{});
            }
        } else if (!os.isDarwin()) { // Darwin: libSystem (libc) has it all.
            for ([_][]const u8{ "unwind", "pthread", "m", "execinfo", "util" }) |name| {
                jzx.linkSystemLibrary(name, .{});
            }
        }
    }

    // The Zig echo server.
    const echo_server: ?*std.Build.Step.Compile = if (jzx_lib != null) b.addExecutable(.{
        .name = "echo_server",
        .root_module = b.createModule(.{
            .root_source_file = b.path("examples/zig/echo_server.zig"),
            .target = target,
            .optimize = optimize,
            .link_libc = true,
            .imports = &.{.{ .name = "jzx", .module = jzx }},
        }),
    }) else null;

    // -------------------------------------------------------------- steps

    const test_step = b.step("test", "Run the bridge's tests (needs -Dlibxev)");
    const examples_step = b.step("zig-examples", "Build and install the Zig examples (needs -Djzx-lib)");

    if (bridge_lib) |lib| {
        b.installArtifact(lib);
        test_step.dependOn(&b.addRunArtifact(bridge_tests.?).step);
    } else {
        const missing = &b.addFail("the bridge needs libxev's sources: pass -Dlibxev=/path/to/libxev " ++
            "(the vendor/libxev folder of the crates.io package libxev-sys; cargo's build.rs does this)").step;
        b.getInstallStep().dependOn(missing);
        test_step.dependOn(missing);
    }

    if (echo_server) |exe| {
        examples_step.dependOn(&b.addInstallArtifact(exe, .{}).step);
    } else {
        examples_step.dependOn(&b.addFail("the Zig examples link the Rust static library: pass " ++
            "-Djzx-lib=/path/to/libjzx.a (cargo build writes target/<profile>/libjzx.a)").step);
    }
}
