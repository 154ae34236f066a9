//! A program written against Zig 0.15.2's std (SPEC §6): it opens a TCP
//! connection over loopback with `std.posix` sockets (which Zig 0.16 removed),
//! watches the accepted socket through the Zig module `jzx` and checks that an
//! actor receives `JZX_TAG_SYS_IO` with `JZX_IO_READ` once a byte is written.
//! The actor then reads the byte, frees the payload and stops; with nothing
//! left the loop is idle and `run` returns. Exit status 0 means every check
//! passed; otherwise it prints what failed and exits with 1.
//!
//! Built by tests/zig_module.rs with Zig 0.15.2, as a program outside this
//! repository would be (Linux):
//!
//!     zig build-exe -fllvm --dep jzx -Mroot=tests/zig/io_015.zig \
//!         -Mjzx=zig/jzx.zig -I include target/debug/libjzx.a -lc -lunwind
//!
//! `-fllvm` because Zig 0.15.2's own x86_64 code generator, its Debug
//! default, links with Zig's own ELF linker, which misaligns some 16-byte
//! constants of the Rust library (see `zig/jzx.zig`).
const std = @import("std");
const jzx = @import("jzx");

const c = jzx.c;
const posix = std.posix;

/// A user tag: the watchdog fired (the readiness never came).
const TAG_TIMEOUT: u32 = 7;

/// The actor's state, read back by main after `run`.
const State = struct {
    fd: posix.fd_t,
    events: u32 = 0,
    readiness: u32 = 0,
    byte: u8 = 0,
    timed_out: bool = false,
    bad: ?[]const u8 = null,
};

fn behavior(ctx_c: [*c]c.jzx_context, msg_c: [*c]const c.jzx_message) callconv(.c) c.jzx_behavior_result {
    const ctx: *c.jzx_context = ctx_c;
    const msg: *const c.jzx_message = msg_c;
    const state: *State = @ptrCast(@alignCast(ctx.state.?));
    var lp = jzx.Loop.fromContext(ctx);
    if (msg.tag == TAG_TIMEOUT) {
        state.timed_out = true;
        return c.JZX_BEHAVIOR_FAIL;
    }
    const ev = jzx.ioEvent(msg) orelse {
        state.bad = "a message that is not JZX_TAG_SYS_IO";
        return c.JZX_BEHAVIOR_FAIL;
    };
    defer lp.free(msg.data);
    state.events += 1;
    state.readiness = ev.readiness;
    if (msg.sender != 0) state.bad = "a system message with a sender";
    if (msg.len != @sizeOf(c.jzx_io_event)) state.bad = "a JZX_TAG_SYS_IO payload of the wrong size";
    if (ev.fd != state.fd) state.bad = "readiness for another fd";
    if (ev.readiness & c.JZX_IO_READ == 0) state.bad = "readiness without JZX_IO_READ";
    if (ev.readiness & c.JZX_IO_WRITE != 0) state.bad = "WRITE readiness on a READ watch";
    var buf: [1]u8 = undefined;
    const n = posix.read(state.fd, &buf) catch |e| {
        state.bad = @errorName(e);
        return c.JZX_BEHAVIOR_FAIL;
    };
    if (n != 1) state.bad = "read returned no byte";
    state.byte = buf[0];
    return c.JZX_BEHAVIOR_STOP;
}

fn fail(comptime fmt: []const u8, args: anytype) u8 {
    std.debug.print("io_015: FAIL: " ++ fmt ++ "\n", args);
    return 1;
}

pub fn main() u8 {
    return run() catch |e| fail("{s}", .{@errorName(e)});
}

fn run() !u8 {
    // A connected pair of TCP sockets over loopback, with std.posix.
    const listener = try posix.socket(posix.AF.INET, posix.SOCK.STREAM | posix.SOCK.CLOEXEC, 0);
    defer posix.close(listener);
    var addr = try std.net.Address.parseIp4("127.0.0.1", 0);
    try posix.bind(listener, &addr.any, addr.getOsSockLen());
    try posix.listen(listener, 1);
    var len: posix.socklen_t = addr.getOsSockLen();
    try posix.getsockname(listener, &addr.any, &len);
    const client = try posix.socket(posix.AF.INET, posix.SOCK.STREAM | posix.SOCK.CLOEXEC, 0);
    defer posix.close(client);
    try posix.connect(client, &addr.any, addr.getOsSockLen());
    const server = try posix.accept(listener, null, null, posix.SOCK.CLOEXEC | posix.SOCK.NONBLOCK);
    defer posix.close(server);

    var loop = try jzx.Loop.create(null);
    defer loop.deinit();

    var state: State = .{ .fd = server };
    var opts = c.jzx_spawn_opts{
        .behavior = behavior,
        .state = &state,
        .supervisor = 0,
        .mailbox_cap = 0,
        .name = "io_015",
    };
    var id: c.jzx_actor_id = 0;
    try jzx.check(c.jzx_spawn(loop.ptr, &opts, &id));
    if (id == 0) return fail("jzx_spawn gave id 0", .{});

    // The error set maps the C codes.
    if (loop.watchFd(-1, id, c.JZX_IO_READ)) |_| {
        return fail("watching fd -1 succeeded", .{});
    } else |e| if (e != error.InvalidArg) return fail("watching fd -1: {s}, want InvalidArg", .{@errorName(e)});
    if (loop.unwatchFd(server)) |_| {
        return fail("unwatching an unwatched fd succeeded", .{});
    } else |e| if (e != error.IoNotWatched) return fail("unwatching an unwatched fd: {s}, want IoNotWatched", .{@errorName(e)});

    try loop.watchFd(server, id, c.JZX_IO_READ);
    _ = try loop.sendAfter(id, 5000, null, 0, TAG_TIMEOUT);
    _ = try posix.write(client, "x");

    try loop.run();

    if (state.timed_out) return fail("no JZX_TAG_SYS_IO within 5 s", .{});
    if (state.bad) |why| return fail("{s} (readiness 0x{x})", .{ why, state.readiness });
    if (state.events != 1) return fail("{d} readiness events, want 1", .{state.events});
    if (state.byte != 'x') return fail("read 0x{x}, want 'x'", .{state.byte});
    // The actor stopped: its watch went with it.
    if (loop.unwatchFd(server)) |_| {
        return fail("the stopped actor's watch is still there", .{});
    } else |e| if (e != error.IoNotWatched) return fail("unwatch after stop: {s}", .{@errorName(e)});

    std.debug.print("io_015: ok: JZX_TAG_SYS_IO fd {d} readiness 0x{x} (Zig {s})\n", .{ server, state.readiness, @import("builtin").zig_version_string });
    return 0;
}
