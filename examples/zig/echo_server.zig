//! A TCP echo server on jzx's C ABI, written in Zig 0.16.0 through the Zig
//! module `jzx` (`zig/jzx.zig`): the Zig twin of `examples/echo_server.rs`
//! (SPEC §7).
//!
//! Build and run (from the repository root, after `cargo build --release`,
//! which writes `target/release/libjzx.a`):
//!
//!     zig build zig-examples -Djzx-lib=target/release/libjzx.a
//!     zig-out/bin/echo_server [PORT]
//!
//! It listens on 0.0.0.0:PORT (default 5555; 0 picks a free port), prints the
//! address and how to connect (`nc 127.0.0.1 PORT`).
//!
//! - The listener actor owns the non-blocking, close-on-exec listening socket
//!   (`SO_REUSEADDR`, backlog 1024) and watches it for READ. On each readiness
//!   it accepts until the queue is drained, spawning one connection actor per
//!   client and watching the client's fd for it.
//! - A connection actor owns its socket and one `Conn` (a 64 KiB buffer,
//!   allocated when the connection is accepted). It reads into the buffer and
//!   writes it back; on a short write it keeps the rest, switches its watch to
//!   WRITE (`jzx_watch_fd` again changes the interest) and reads nothing until
//!   the rest is flushed, then switches back to READ: one buffer in flight.
//! - EOF or an error closes the socket and stops the actor
//!   (`JZX_BEHAVIOR_STOP`), which frees its `Conn`. It closes its fd and stops
//!   without unwatching: the runtime removes the watch at teardown (SPEC R17).
//! - Accept errors: `ECONNABORTED` is counted and the drain goes on; running
//!   out of resources (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`, or the runtime
//!   refusing the watch) is counted, reported on stderr (at most once a
//!   second) and pauses accepting for 20 ms (unwatch, then a `jzx_send_after`
//!   to itself), as the Rust example does.
//! - Every `JZX_TAG_SYS_IO` payload is released with `jzx_loop_free`.
//!
//! **Stopping** (the rule of the Rust example): SIGINT and SIGTERM are blocked
//! in every thread and a dedicated thread waits for them (`sigwait`), then
//! asks the loop to stop (`jzx_loop_request_stop`, which any thread may
//! call). The server prints its counters, closes every socket and exits with
//! status 0; a second signal while stopping exits at once (status 130). Stdin
//! is not read. SIGPIPE is ignored: a write to a reset peer returns EPIPE
//! instead of killing the process (a Zig host must do that itself).
const std = @import("std");
const builtin = @import("builtin");
const jzx = @import("jzx");

const c = jzx.c;
const sys = std.c;

/// Size of each connection's buffer.
const BUF_SIZE = 64 * 1024;
/// The listen backlog (the kernel caps it at `net.core.somaxconn`).
const BACKLOG = 1024;
/// How long accepting pauses after a resource error.
const ACCEPT_PAUSE_MS = 20;
/// Full buffers a connection reads per readiness event before it lets the
/// other actors run (the watch is level-triggered: it hears again).
const READS_PER_EVENT = 4;
/// The user tag of the listener's "resume accepting" message.
const TAG_RESUME: u32 = 1;

/// Counters, touched only by the loop's thread.
const Stats = struct {
    accepted: u64 = 0,
    accept_errors: u64 = 0,
    accept_pauses: u64 = 0,
    open: u64 = 0,
    closed: u64 = 0,
    conn_errors: u64 = 0,
    bytes_echoed: u64 = 0,
    short_writes: u64 = 0,
};

/// The listener actor's state.
const Server = struct {
    fd: c_int,
    stats: Stats = .{},
    /// Live connections, to close and free those still open at exit.
    conns: ?*Conn = null,
    /// Accept errors not reported yet (rate limit) and when the last report was.
    suppressed: u64 = 0,
    last_report_ms: i64 = -1_000_000,
};

/// A connection actor's state: its socket and its one buffer in flight.
const Conn = struct {
    fd: c_int,
    server: *Server,
    /// Bytes `buf[start..end]` are read but not yet written back.
    start: usize = 0,
    end: usize = 0,
    prev: ?*Conn = null,
    next: ?*Conn = null,
    buf: [BUF_SIZE]u8 = undefined,

    fn create(server: *Server, fd: c_int) ?*Conn {
        const conn = std.heap.c_allocator.create(Conn) catch return null;
        conn.* = .{ .fd = fd, .server = server, .next = server.conns };
        if (server.conns) |head| head.prev = conn;
        server.conns = conn;
        server.stats.open += 1;
        return conn;
    }

    /// Closes the socket and frees the state.
    fn destroy(conn: *Conn) void {
        const server = conn.server;
        if (conn.prev) |p| p.next = conn.next else server.conns = conn.next;
        if (conn.next) |n| n.prev = conn.prev;
        _ = sys.close(conn.fd);
        server.stats.open -= 1;
        server.stats.closed += 1;
        std.heap.c_allocator.destroy(conn);
    }
};

// ------------------------------------------------------------------ output

/// Writes a formatted line to fd 1 or 2 at once (no buffering, so a reader of
/// a pipe sees each line when it is printed).
fn say(fd: c_int, comptime fmt: []const u8, args: anytype) void {
    var buf: [512]u8 = undefined;
    const line = std.fmt.bufPrint(&buf, fmt ++ "\n", args) catch return;
    var rest: []const u8 = line;
    while (rest.len > 0) {
        const n = sys.write(fd, rest.ptr, rest.len);
        if (n < 0) {
            if (sys.errno(n) == .INTR) continue;
            return;
        }
        rest = rest[@intCast(n)..];
    }
}

fn nowMs() i64 {
    var ts: sys.timespec = undefined;
    if (sys.clock_gettime(.MONOTONIC, &ts) != 0) return 0;
    return @as(i64, @intCast(ts.sec)) * 1000 + @divTrunc(@as(i64, @intCast(ts.nsec)), 1_000_000);
}

// ---------------------------------------------------------------- sockets

/// fcntl's close-on-exec flag (1 on every POSIX system).
const FD_CLOEXEC: c_int = 1;

/// Sets O_NONBLOCK and FD_CLOEXEC (for systems without accept4's flags).
fn setNonblockCloexec(fd: c_int) bool {
    const fl = sys.fcntl(fd, sys.F.GETFL);
    if (fl < 0 or sys.fcntl(fd, sys.F.SETFL, fl | @as(c_int, @bitCast(sys.O{ .NONBLOCK = true }))) < 0) return false;
    return sys.fcntl(fd, sys.F.SETFD, FD_CLOEXEC) >= 0;
}

/// A non-blocking, close-on-exec TCP socket listening on 0.0.0.0:`port`
/// (`port` 0 picks one), or null after printing which call failed and why.
fn listenOn(port: u16) ?c_int {
    const fd = sys.socket(sys.AF.INET, sys.SOCK.STREAM, 0);
    if (fd < 0) return sayErrno("socket");
    if (!setNonblockCloexec(fd)) return closeAfter(fd, "fcntl");
    const one: c_int = 1;
    _ = sys.setsockopt(fd, sys.SOL.SOCKET, sys.SO.REUSEADDR, &one, @sizeOf(c_int));
    const addr: sys.sockaddr.in = .{ .port = std.mem.nativeToBig(u16, port), .addr = 0 };
    if (sys.bind(fd, @ptrCast(&addr), @sizeOf(sys.sockaddr.in)) != 0) return closeAfter(fd, "bind");
    if (sys.listen(fd, BACKLOG) != 0) return closeAfter(fd, "listen");
    return fd;
}

/// The port a socket is bound to.
fn localPort(fd: c_int) u16 {
    var addr: sys.sockaddr.in = undefined;
    var len: sys.socklen_t = @sizeOf(sys.sockaddr.in);
    if (sys.getsockname(fd, @ptrCast(&addr), &len) != 0) return 0;
    return std.mem.bigToNative(u16, addr.port);
}

/// Prints the failed call with errno; returns null.
fn sayErrno(what: []const u8) ?c_int {
    const err = sys.errno(@as(c_int, -1));
    say(2, "echo_server: {s}: {s} (errno {d})", .{ what, @tagName(err), @intFromEnum(err) });
    return null;
}

fn closeAfter(fd: c_int, what: []const u8) ?c_int {
    _ = sayErrno(what);
    _ = sys.close(fd);
    return null;
}

/// accept(2) of one connection, non-blocking and close-on-exec.
fn acceptOne(fd: c_int) c_int {
    if (builtin.os.tag == .linux) {
        return sys.accept4(fd, null, null, sys.SOCK.NONBLOCK | sys.SOCK.CLOEXEC);
    }
    const cfd = sys.accept(fd, null, null);
    if (cfd >= 0 and !setNonblockCloexec(cfd)) {
        _ = sys.close(cfd);
        return -1;
    }
    return cfd;
}

// ---------------------------------------------------------------- actors

/// Releases a system message's payload.
fn freeSys(ctx: *const c.jzx_context, msg: *const c.jzx_message) void {
    switch (msg.tag) {
        c.JZX_TAG_SYS_IO, c.JZX_TAG_SYS_CHILD_EXIT, c.JZX_TAG_SYS_CHILD_RESTART => c.jzx_loop_free(ctx.loop, msg.data),
        else => {},
    }
}

/// The listener: accepts on each readiness until the queue is drained.
fn listenerBehavior(ctx_c: [*c]c.jzx_context, msg_c: [*c]const c.jzx_message) callconv(.c) c.jzx_behavior_result {
    const ctx: *c.jzx_context = ctx_c;
    const msg: *const c.jzx_message = msg_c;
    const server: *Server = @ptrCast(@alignCast(ctx.state.?));
    var lp = jzx.Loop.fromContext(ctx);
    switch (msg.tag) {
        c.JZX_TAG_SYS_IO => {
            freeSys(ctx, msg);
            drainAccepts(server, &lp, ctx.self);
        },
        TAG_RESUME => {
            lp.watchFd(server.fd, ctx.self, c.JZX_IO_READ) catch |e| {
                say(2, "echo_server: cannot watch the listener again: {s}", .{@errorName(e)});
                return c.JZX_BEHAVIOR_FAIL;
            };
        },
        else => freeSys(ctx, msg),
    }
    return c.JZX_BEHAVIOR_OK;
}

fn drainAccepts(server: *Server, lp: *jzx.Loop, self: c.jzx_actor_id) void {
    while (true) {
        const cfd = acceptOne(server.fd);
        if (cfd < 0) {
            const err = sys.errno(cfd);
            switch (err) {
                .AGAIN => return,
                .INTR => continue,
                .CONNABORTED => {
                    server.stats.accept_errors += 1;
                    continue;
                },
                .MFILE, .NFILE, .NOBUFS, .NOMEM => {
                    pauseAccepting(server, lp, self, @tagName(err));
                    return;
                },
                else => {
                    server.stats.accept_errors += 1;
                    report(server, @tagName(err));
                    return;
                },
            }
        }
        const conn = Conn.create(server, cfd) orelse {
            _ = sys.close(cfd);
            pauseAccepting(server, lp, self, "out of memory for a connection");
            return;
        };
        const id = lp.spawn(connBehavior, conn) catch |e| {
            conn.destroy();
            pauseAccepting(server, lp, self, @errorName(e));
            return;
        };
        lp.watchFd(cfd, id, c.JZX_IO_READ) catch |e| {
            // The actor has no message, so it never ran: stop it, then close
            // and free what it would have owned.
            _ = c.jzx_actor_stop(lp.ptr, id);
            conn.destroy();
            pauseAccepting(server, lp, self, @errorName(e));
            return;
        };
        server.stats.accepted += 1;
    }
}

/// Reports an accept error on stderr, at most once a second.
fn report(server: *Server, what: []const u8) void {
    const now = nowMs();
    if (now - server.last_report_ms < 1000) {
        server.suppressed += 1;
        return;
    }
    say(2, "echo_server: accept: {s} ({d} accept errors so far, {d} reports suppressed)", .{ what, server.stats.accept_errors, server.suppressed });
    server.suppressed = 0;
    server.last_report_ms = now;
}

/// Out of resources: stop watching the listener for ACCEPT_PAUSE_MS (a
/// level-triggered watch would fire again at once, forever).
fn pauseAccepting(server: *Server, lp: *jzx.Loop, self: c.jzx_actor_id, what: []const u8) void {
    server.stats.accept_errors += 1;
    server.stats.accept_pauses += 1;
    report(server, what);
    lp.unwatchFd(server.fd) catch {};
    _ = lp.sendAfter(self, ACCEPT_PAUSE_MS, null, 0, TAG_RESUME) catch |e| {
        say(2, "echo_server: cannot schedule the accept resume: {s}; watching again now", .{@errorName(e)});
        lp.watchFd(server.fd, self, c.JZX_IO_READ) catch {};
    };
}

/// What a connection does next.
const Step = enum { keep, done, failed };

/// A connection: echo what it reads; one buffer in flight.
fn connBehavior(ctx_c: [*c]c.jzx_context, msg_c: [*c]const c.jzx_message) callconv(.c) c.jzx_behavior_result {
    const ctx: *c.jzx_context = ctx_c;
    const msg: *const c.jzx_message = msg_c;
    const conn: *Conn = @ptrCast(@alignCast(ctx.state.?));
    if (msg.tag != c.JZX_TAG_SYS_IO) {
        freeSys(ctx, msg);
        return c.JZX_BEHAVIOR_OK;
    }
    freeSys(ctx, msg);
    var lp = jzx.Loop.fromContext(ctx);
    const step = if (conn.start < conn.end) flush(conn, &lp, ctx.self) else echo(conn, &lp, ctx.self);
    switch (step) {
        .keep => return c.JZX_BEHAVIOR_OK,
        .done, .failed => {
            if (step == .failed) conn.server.stats.conn_errors += 1;
            conn.destroy();
            return c.JZX_BEHAVIOR_STOP;
        },
    }
}

/// Writes `buf[start..end]`; returns false on an error (EPIPE, ECONNRESET...).
fn writePending(conn: *Conn) bool {
    while (conn.start < conn.end) {
        const n = sys.write(conn.fd, conn.buf[conn.start..].ptr, conn.end - conn.start);
        if (n < 0) {
            switch (sys.errno(n)) {
                .INTR => continue,
                .AGAIN => return true,
                else => return false,
            }
        }
        conn.start += @intCast(n);
        conn.server.stats.bytes_echoed += @intCast(n);
    }
    return true;
}

/// WRITE readiness with bytes pending: flush them; once flushed, back to READ.
fn flush(conn: *Conn, lp: *jzx.Loop, self: c.jzx_actor_id) Step {
    if (!writePending(conn)) return .failed;
    if (conn.start < conn.end) return .keep;
    conn.start = 0;
    conn.end = 0;
    lp.watchFd(conn.fd, self, c.JZX_IO_READ) catch return .failed;
    return .keep;
}

/// READ readiness with nothing pending: read and write back, up to
/// READS_PER_EVENT buffers; a short write switches the watch to WRITE.
fn echo(conn: *Conn, lp: *jzx.Loop, self: c.jzx_actor_id) Step {
    var reads: usize = 0;
    while (reads < READS_PER_EVENT) {
        const n = sys.read(conn.fd, &conn.buf, conn.buf.len);
        if (n == 0) return .done;
        if (n < 0) {
            switch (sys.errno(n)) {
                .INTR => continue,
                .AGAIN => return .keep,
                else => return .failed,
            }
        }
        reads += 1;
        conn.start = 0;
        conn.end = @intCast(n);
        if (!writePending(conn)) return .failed;
        if (conn.start < conn.end) {
            conn.server.stats.short_writes += 1;
            lp.watchFd(conn.fd, self, c.JZX_IO_WRITE) catch return .failed;
            return .keep;
        }
        conn.start = 0;
        conn.end = 0;
        if (@as(usize, @intCast(n)) < conn.buf.len) return .keep;
    }
    return .keep;
}

// ---------------------------------------------------------------- process

/// Blocks SIGINT and SIGTERM in this thread (and the threads started after);
/// returns the set for sigwait.
fn blockStopSignals() sys.sigset_t {
    var set = std.posix.sigemptyset();
    std.posix.sigaddset(&set, .INT);
    std.posix.sigaddset(&set, .TERM);
    var old: sys.sigset_t = undefined;
    _ = sys.pthread_sigmask(sys.SIG.BLOCK, &set, &old);
    return set;
}

fn ignoreSigpipe() void {
    var act: sys.Sigaction = .{
        .handler = .{ .handler = sys.SIG.IGN },
        .mask = std.posix.sigemptyset(),
        .flags = 0,
    };
    _ = sys.sigaction(.PIPE, &act, null);
}

/// Waits for SIGINT/SIGTERM: the first asks the loop to stop, a second one
/// exits at once.
fn waitForSignals(set: sys.sigset_t, lp: *c.jzx_loop) void {
    var s = set;
    var stopping = false;
    while (true) {
        var sig: c_int = 0;
        const rc = sys.sigwait(&s, &sig);
        if (rc != 0) {
            say(2, "echo_server: sigwait failed ({d})", .{rc});
            return;
        }
        if (stopping) {
            say(2, "echo_server: second signal, exiting now", .{});
            sys._exit(130);
        }
        const name = if (sig == @intFromEnum(sys.SIG.INT)) "SIGINT" else "SIGTERM";
        say(1, "{s} received, stopping", .{name});
        stopping = true;
        c.jzx_loop_request_stop(lp);
    }
}

/// Raises the soft open-file limit to the hard one; returns the soft limit.
fn raiseNofileLimit() u64 {
    var lim = std.posix.getrlimit(.NOFILE) catch return 0;
    if (lim.cur < lim.max) {
        const raised: std.posix.rlimit = .{ .cur = lim.max, .max = lim.max };
        if (std.posix.setrlimit(.NOFILE, raised)) |_| {
            lim = raised;
        } else |e| {
            say(2, "echo_server: cannot raise the open-file limit: {s}", .{@errorName(e)});
        }
    }
    return @intCast(lim.cur);
}

pub fn main(init: std.process.Init.Minimal) u8 {
    var args = init.args.iterate();
    _ = args.next();
    const port: u16 = if (args.next()) |arg|
        std.fmt.parseInt(u16, arg, 10) catch {
            say(2, "echo_server: bad port \"{s}\"; usage: echo_server [PORT] (default 5555)", .{arg});
            return 1;
        }
    else
        5555;

    ignoreSigpipe();
    // Before any thread exists, so that every thread inherits the mask.
    const signals = blockStopSignals();
    const nofile = raiseNofileLimit();

    const listen_fd = listenOn(port) orelse {
        say(2, "echo_server: cannot listen on 0.0.0.0:{d}", .{port});
        return 1;
    };
    // Runs last: the loop (and its watch on this fd) is gone by then.
    defer _ = sys.close(listen_fd);
    var server: Server = .{ .fd = listen_fd };

    var lp = jzx.Loop.create(null) catch |e| {
        say(2, "echo_server: cannot create the event loop: {s}", .{@errorName(e)});
        return 1;
    };
    defer {
        // The loop first (it drops every actor and watch; it never frees an
        // actor's state nor closes an fd it did not open), then the
        // connections still open: close their sockets, free their state.
        lp.deinit();
        while (server.conns) |conn| conn.destroy();
    }

    const listener_id = lp.spawn(listenerBehavior, &server) catch |e| {
        say(2, "echo_server: cannot spawn the listener: {s}", .{@errorName(e)});
        return 1;
    };
    lp.watchFd(listen_fd, listener_id, c.JZX_IO_READ) catch |e| {
        say(2, "echo_server: cannot watch the listener: {s}", .{@errorName(e)});
        return 1;
    };

    // The C ABI does not tell which backend runs: name the override if any.
    const backend: []const u8 = if (sys.getenv("JZX_BACKEND")) |b| std.mem.span(b) else "default";
    const bound = localPort(listen_fd);
    say(1, "jzx echo server (Zig) listening on 0.0.0.0:{d} (backend: {s})", .{ bound, backend });
    say(1, "connect with: nc 127.0.0.1 {d}", .{bound});
    say(1, "stop with Ctrl-C or SIGTERM (open-file limit: {d})", .{nofile});

    const thread = std.Thread.spawn(.{}, waitForSignals, .{ signals, lp.ptr }) catch |e| {
        say(2, "echo_server: cannot start the signal thread: {s}", .{@errorName(e)});
        return 1;
    };
    thread.detach();

    lp.run() catch |e| {
        say(2, "echo_server: the event loop failed: {s}", .{@errorName(e)});
        return 1;
    };

    const s = server.stats;
    say(1, "stopped: {d} connections accepted, {d} still open, {d} accept errors, {d} bytes echoed, {d} short writes", .{ s.accepted, s.open, s.accept_errors, s.bytes_echoed, s.short_writes });
    return 0;
}
