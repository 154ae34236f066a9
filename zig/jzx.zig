//! The Zig module `jzx`: Zig bindings over jzx's C ABI (`include/jzx/jzx.h`).
//!
//! `jzx.c` is the raw C interface (every type, constant and function of the
//! header); `jzx.Loop` wraps a loop pointer; `jzx.Error` is one Zig error per
//! `jzx_err` code and `jzx.check` turns a return code into it.
//!
//! One plain file that compiles unchanged with Zig 0.15.2 and 0.16.0. It needs
//! the include folder holding `jzx/jzx.h` and, to link, the Rust static
//! library `libjzx.a` with libc and the system libraries it needs (Linux:
//! `-lc -lunwind -lpthread -ldl -lm -lrt -lutil`). `zig build` of this
//! repository exposes it as the module `jzx`; outside a build script:
//!
//!     zig build-exe --dep jzx -Mroot=app.zig -Mjzx=zig/jzx.zig -I include \
//!         target/release/libjzx.a -lc -lunwind
//!
//! With Zig 0.15.2 on x86_64 add `-fllvm` (or build with `-OReleaseSafe` or
//! `-OReleaseFast`): its Debug default, Zig's own code generator and ELF
//! linker, places some of the Rust library's 16-byte constants
//! (`.rodata.cst16`) at 8-byte boundaries, and the SSE loads of them fault.
//! Zig 0.16.0 links them correctly.
//!
//! Behaviors are plain C-ABI functions (`callconv(.c)`) that receive a
//! `*c.jzx_context` and a `*const c.jzx_message`; system payloads
//! (`c.JZX_TAG_SYS_IO` and the like) must be released with `Loop.free` (or
//! `c.jzx_loop_free`).

/// The C interface of `jzx/jzx.h`, as translated by Zig.
pub const c = @cImport(@cInclude("jzx/jzx.h"));

/// One error per `jzx_err` code other than `JZX_OK`.
pub const Error = error{
    /// `JZX_ERR_UNKNOWN` (-1), also any code this module does not know, and a
    /// loop that could not be created.
    Unknown,
    /// `JZX_ERR_NO_MEMORY` (-2).
    NoMemory,
    /// `JZX_ERR_INVALID_ARG` (-3).
    InvalidArg,
    /// `JZX_ERR_LOOP_CLOSED` (-4).
    LoopClosed,
    /// `JZX_ERR_NO_SUCH_ACTOR` (-5).
    NoSuchActor,
    /// `JZX_ERR_MAILBOX_FULL` (-7).
    MailboxFull,
    /// `JZX_ERR_TIMER_INVALID` (-8).
    TimerInvalid,
    /// `JZX_ERR_IO_REG_FAILED` (-9).
    IoRegFailed,
    /// `JZX_ERR_IO_NOT_WATCHED` (-10).
    IoNotWatched,
    /// `JZX_ERR_MAX_ACTORS` (-11).
    MaxActors,
};

/// Turns a `jzx_err` code (or the result of `jzx_loop_run`) into an error:
/// `JZX_OK` is success, every other code its `Error`, an unknown code
/// `error.Unknown`.
pub fn check(rc: c_int) Error!void {
    return switch (rc) {
        c.JZX_OK => {},
        c.JZX_ERR_NO_MEMORY => error.NoMemory,
        c.JZX_ERR_INVALID_ARG => error.InvalidArg,
        c.JZX_ERR_LOOP_CLOSED => error.LoopClosed,
        c.JZX_ERR_NO_SUCH_ACTOR => error.NoSuchActor,
        c.JZX_ERR_MAILBOX_FULL => error.MailboxFull,
        c.JZX_ERR_TIMER_INVALID => error.TimerInvalid,
        c.JZX_ERR_IO_REG_FAILED => error.IoRegFailed,
        c.JZX_ERR_IO_NOT_WATCHED => error.IoNotWatched,
        c.JZX_ERR_MAX_ACTORS => error.MaxActors,
        else => error.Unknown,
    };
}

/// The `jzx_err` code of an `Error` (the inverse of `check`).
pub fn code(err: Error) c_int {
    return switch (err) {
        error.Unknown => c.JZX_ERR_UNKNOWN,
        error.NoMemory => c.JZX_ERR_NO_MEMORY,
        error.InvalidArg => c.JZX_ERR_INVALID_ARG,
        error.LoopClosed => c.JZX_ERR_LOOP_CLOSED,
        error.NoSuchActor => c.JZX_ERR_NO_SUCH_ACTOR,
        error.MailboxFull => c.JZX_ERR_MAILBOX_FULL,
        error.TimerInvalid => c.JZX_ERR_TIMER_INVALID,
        error.IoRegFailed => c.JZX_ERR_IO_REG_FAILED,
        error.IoNotWatched => c.JZX_ERR_IO_NOT_WATCHED,
        error.MaxActors => c.JZX_ERR_MAX_ACTORS,
    };
}

/// A jzx loop: single-threaded; call its methods on the thread that runs it,
/// except `requestStop`, which any thread may call.
pub const Loop = struct {
    /// The C loop. Usable with every `c.jzx_*` function.
    ptr: *c.jzx_loop,

    /// Creates a loop; `null` means the defaults (`c.jzx_config_init`).
    /// Fails with `error.Unknown` when the runtime cannot create one (for
    /// instance `JZX_BACKEND=io_uring` where io_uring is blocked).
    pub fn create(cfg: ?c.jzx_config) Error!Loop {
        const ptr = if (cfg) |config|
            c.jzx_loop_create(&config)
        else
            c.jzx_loop_create(null);
        return .{ .ptr = ptr orelse return error.Unknown };
    }

    /// Wraps the loop a behavior runs on (`ctx.*.loop`), to use the methods
    /// below inside a behavior. Do not `deinit` the result there.
    pub fn fromContext(ctx: *const c.jzx_context) Loop {
        return .{ .ptr = ctx.loop.? };
    }

    /// Destroys the loop and everything it owns (actors, watches, timers).
    pub fn deinit(self: *Loop) void {
        c.jzx_loop_destroy(self.ptr);
        self.* = undefined;
    }

    /// Runs until stopped or idle (no actors, timers, watches or queued
    /// cross-thread messages). `error.LoopClosed` from inside a behavior.
    pub fn run(self: *Loop) Error!void {
        return check(c.jzx_loop_run(self.ptr));
    }

    /// Asks the loop to stop after its current turn; any thread may call it.
    /// Before `run`, the next `run` returns at once.
    pub fn requestStop(self: *Loop) void {
        c.jzx_loop_request_stop(self.ptr);
    }

    /// Watches `fd` for `interest` (`c.JZX_IO_READ` and/or `c.JZX_IO_WRITE`)
    /// on behalf of `actor`, which then receives `c.JZX_TAG_SYS_IO` messages.
    /// Watching a watched fd changes its interest and owner.
    pub fn watchFd(self: *Loop, fd: c_int, actor: c.jzx_actor_id, interest: u32) Error!void {
        return check(c.jzx_watch_fd(self.ptr, fd, actor, interest));
    }

    /// Stops watching `fd`; `error.IoNotWatched` when it is not watched.
    pub fn unwatchFd(self: *Loop, fd: c_int) Error!void {
        return check(c.jzx_unwatch_fd(self.ptr, fd));
    }

    /// Helper: spawns an actor running `behavior` with `state` (no
    /// supervisor, default mailbox, no name); returns its id. For the other
    /// options use `c.jzx_spawn` with a `c.jzx_spawn_opts`.
    pub fn spawn(self: *Loop, behavior: c.jzx_behavior_fn, state: ?*anyopaque) Error!c.jzx_actor_id {
        var opts = c.jzx_spawn_opts{
            .behavior = behavior,
            .state = state,
            .supervisor = 0,
            .mailbox_cap = 0,
            .name = null,
        };
        var id: c.jzx_actor_id = 0;
        try check(c.jzx_spawn(self.ptr, &opts, &id));
        return id;
    }

    /// Helper: sends a user message (`data`, `len`, `tag`) to `target` from
    /// the loop's thread. The runtime neither copies nor frees `data`.
    pub fn send(self: *Loop, target: c.jzx_actor_id, data: ?*anyopaque, len: usize, tag: u32) Error!void {
        return check(c.jzx_send(self.ptr, target, data, len, tag));
    }

    /// Helper: delivers a user message to `target` after `ms` milliseconds;
    /// returns the timer's id (for `c.jzx_cancel_timer`).
    pub fn sendAfter(self: *Loop, target: c.jzx_actor_id, ms: u32, data: ?*anyopaque, len: usize, tag: u32) Error!c.jzx_timer_id {
        var id: c.jzx_timer_id = 0;
        try check(c.jzx_send_after(self.ptr, target, ms, data, len, tag, &id));
        return id;
    }

    /// Helper: releases a runtime-owned payload (the `data` of a system
    /// message such as `c.JZX_TAG_SYS_IO`).
    pub fn free(self: *Loop, ptr: ?*anyopaque) void {
        c.jzx_loop_free(self.ptr, ptr);
    }
};

/// Helper: the payload of a `c.JZX_TAG_SYS_IO` message (a copy; the caller
/// still frees `msg.data` with `Loop.free`), or `null` for any other message.
pub fn ioEvent(msg: *const c.jzx_message) ?c.jzx_io_event {
    if (msg.tag != c.JZX_TAG_SYS_IO) return null;
    const data = msg.data orelse return null;
    if (msg.len < @sizeOf(c.jzx_io_event)) return null;
    // Payloads are aligned, but a foreign message may not be: read through
    // an align(1) pointer rather than assert alignment.
    const ev: *align(1) const c.jzx_io_event = @ptrCast(data);
    return ev.*;
}
