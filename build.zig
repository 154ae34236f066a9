//! Builds the jzx bridge: `zig-src/jzx_xev.zig` over libxev, as a static
//! library with its C header, for cargo's build.rs to link.
//!
//! libxev's sources are not part of this repository. Pass their folder (the
//! `vendor/libxev` folder of the crates.io package `libxev-sys`) with
//! `-Dlibxev=/path/to/libxev`; build.rs does that for you.
//!
//! Steps: `install` (default) builds `lib/libjzx_xev.a` and
//! `include/jzx_xev.h`; `test` runs the bridge's own tests.
const std = @import("std");

pub fn build(b: *std.Build) !void {
    const target = b.standardTargetOptions(.{});
    const optimize = b.standardOptimizeOption(.{});
    const libxev_dir = b.option(
        []const u8,
        "libxev",
        "Folder holding libxev's sources (with src/main.zig)",
    ) orelse return error.MissingLibxevOption;

    const xev = b.createModule(.{
        .root_source_file = .{ .cwd_relative = b.pathJoin(&.{ libxev_dir, "src", "main.zig" }) },
        .target = target,
        .optimize = optimize,
    });

    const bridge = b.createModule(.{
        .root_source_file = b.path("zig-src/jzx_xev.zig"),
        .target = target,
        .optimize = optimize,
        .link_libc = true,
        .pic = true,
        .imports = &.{.{ .name = "xev", .module = xev }},
    });

    const lib = b.addLibrary(.{
        .linkage = .static,
        .name = "jzx_xev",
        .root_module = bridge,
    });
    lib.installHeader(b.path("zig-src/jzx_xev.h"), "jzx_xev.h");
    b.installArtifact(lib);

    const tests = b.addTest(.{ .root_module = bridge });
    const test_step = b.step("test", "Run the bridge's tests");
    test_step.dependOn(&b.addRunArtifact(tests).step);
}
