//! The jzx bridge: a small C-callable surface over libxev's Zig API.
//!
//! jzx's Rust runtime drives one libxev loop per `Loop` through the functions
//! exported here (declared in `jzx_xev.h`). The bridge holds no actor logic.
//! It owns, per loop:
//!
//! - the libxev loop itself, on a backend chosen at run time (io_uring,
//!   falling back to epoll, on Linux; kqueue on macOS and the BSDs);
//! - an `Async` so that other threads can wake a blocked run;
//! - one re-armable timer (the runtime multiplexes its own timers onto it)
//!   and a private deadline timer for runs with a timeout;
//! - a readiness set: its own epoll instance (Linux, both backends) or kqueue
//!   (macOS, BSD) holding every watched fd.
//!
//! The bridge never calls back into Rust. libxev's callbacks only record what
//! happened (readiness per watch, timer expiry, wakeup); the caller reads it
//! after `jzx_xev_run` returns. So no foreign code runs inside libxev, and
//! "no callback after unwatch" reduces to dropping a recorded event.
//!
//! Readiness. Watched fds are registered in the bridge's own set,
//! level-triggered, and libxev polls that one set's fd: a `poll` completion
//! on io_uring and epoll, a zero-length read on kqueue, rearmed after every
//! wake. When it fires, the callback harvests the set without blocking
//! (`epoll_wait` or `kevent` with a zero timeout), which gives each ready
//! fd's exact bits: no per-fd system call, and an interest covers only the
//! watched directions (io_uring's own polls would add RDHUP to every mask and
//! keep completing for a half-closed peer). While a watched condition holds,
//! the set stays readable and every run reports it again: level-triggered.
//!
//! File descriptors. A watch costs no descriptor: the set is one fd per loop,
//! and it refers to the caller's fd directly, not to a duplicate. Changing a
//! watch's interest modifies its entry in place (`jzx_xev_rewatch`). The
//! caller may close a watched fd without unwatching (an echo connection does
//! exactly that): the kernel removes a closed file from the set by itself
//! (epoll once no descriptor of the process refers to the file any more,
//! kqueue at the close), so a closed fd is never reported again and its peer
//! sees the close at once. Each entry carries the fd and a generation, and
//! the bridge holds at most one watch per fd number, so:
//! - removing a watch deletes the entry of its fd number only, which can
//!   never be another watch's entry (a new watch of a reused number replaces
//!   the old one through `jzx_xev_rewatch`);
//! - an entry left behind by an earlier registration of the same number
//!   (its file kept open through another descriptor) reports a stale
//!   generation and is ignored.
//! epoll drops an entry only when its file is closed for good: an fd closed
//! while a duplicate of it lives on (a `dup`, a child process) leaves its
//! entry behind once the watch is removed (its EPOLL_CTL_DEL fails on the
//! closed number), and while that file stays ready the set stays readable
//! with nothing to report. A harvest that meets such an entry marks the set
//! stale: libxev stops polling it, and the next run builds a new set from
//! the live watches (a watch whose fd is closed gets no entry) and polls
//! that instead, so a leftover entry costs one wake-up, not a spinning loop.
//! Checking each event's file identity would cost a system call per event.
//! Watches are released synchronously: nothing of them is left in libxev.
const std = @import("std");
const builtin = @import("builtin");
const xev = @import("xev");

/// Errors from libxev end in `unexpectedErrno`, which prints a stack trace in
/// Debug builds; cancelled io_uring polls take that path by design.
pub const std_options: std.Options = .{ .unexpected_error_tracing = false };

const gpa = std.heap.c_allocator;

/// The buffer of kqueue's zero-length readiness reads and writes.
var empty_buf: [0]u8 = .{};

// ---------------------------------------------------------------------------
// The C surface's constants (kept equal to jzx_xev.h).

const OK: c_int = 0;
const ERR_NO_MEMORY: c_int = -1;
const ERR_INVALID_ARG: c_int = -2;
const ERR_BACKEND_UNAVAILABLE: c_int = -3;
const ERR_LOOP_INIT: c_int = -4;
const ERR_BAD_FD: c_int = -5;
const ERR_RUN: c_int = -6;
const ERR_WAKEUP: c_int = -7;
const ERR_RESOURCES: c_int = -8;

const READ: u32 = 0x1;
const WRITE: u32 = 0x2;
const ERROR: u32 = 0x4;
const HANGUP: u32 = 0x8;

const RAN_TIMER: u32 = 0x1;
const RAN_WAKEUP: u32 = 0x2;

pub const BackendKind = enum(c_int) {
    auto = 0,
    io_uring = 1,
    epoll = 2,
    kqueue = 3,
};

pub const Event = extern struct {
    token: u64,
    ready: u32,
    fd: i32,
};

// ---------------------------------------------------------------------------
// Backends available on this target.

const is_linux = builtin.os.tag == .linux;

/// One variant per backend compiled in; a loop holds exactly one.
const Inner = if (is_linux)
    union(enum) { io_uring: Impl(xev.IO_Uring), epoll: Impl(xev.Epoll) }
else
    union(enum) { kqueue: Impl(xev.Kqueue) };

/// The exported loop object. Heap-allocated once and never moved: libxev's
/// completions live inside it and must keep their addresses.
pub const Loop = struct {
    inner: Inner,
    /// The readiness set of the watched fds.
    set: Set,
    /// Readiness recorded during the current (or last) run.
    events: std.ArrayList(Event) = .empty,
    /// Incremented at every run; lets a watch merge its bits into one event.
    run_seq: u64 = 0,
    /// JZX_XEV_RAN_* bits of the current run.
    ran: u32 = 0,
    /// The watch of each fd number (null: not watched).
    by_fd: std.ArrayList(?*Watch) = .empty,
    /// Watches registered (for leak tests).
    live_watches: usize = 0,
    /// The generation of the last registration.
    gen: u32 = 0,
    /// A harvest met an entry of no live watch: the set is to be rebuilt.
    stale: bool = false,

    /// Records `ready` for a watch in this run, merged with what the run
    /// already recorded for it.
    fn record(self: *Loop, w: *Watch, ready: u32) void {
        if (w.event_seq == self.run_seq) {
            self.events.items[w.event_idx].ready |= ready;
            return;
        }
        if (ready == 0) return;
        // Out of memory here would lose a level-triggered report; the next
        // run reports the same condition again.
        self.events.append(gpa, .{ .token = w.token, .ready = ready, .fd = w.fd }) catch return;
        w.event_seq = self.run_seq;
        w.event_idx = self.events.items.len - 1;
    }

    /// Drops what this run recorded for `w`.
    fn forget(self: *Loop, w: *Watch) void {
        if (w.event_seq == self.run_seq and w.event_idx < self.events.items.len) {
            self.events.items[w.event_idx].ready = 0;
        }
        w.event_seq = 0;
    }

    /// The watch a set entry names, or null when the entry is stale (its
    /// fd is watched no more, or anew since).
    fn lookup(self: *Loop, key: u64) ?*Watch {
        const fd: u32 = @truncate(key);
        const gen: u32 = @truncate(key >> 32);
        if (fd >= self.by_fd.items.len) return null;
        const w = self.by_fd.items[fd] orelse return null;
        return if (w.gen == gen) w else null;
    }

    fn nextKey(self: *Loop, fd: c_int) struct { gen: u32, key: u64 } {
        self.gen +%= 1;
        return .{ .gen = self.gen, .key = keyOf(fd, self.gen) };
    }

    /// Replaces the set with a new one holding an entry per live watch, and
    /// closes the old one (whose fd libxev polls no more). A watch whose fd
    /// is closed, or names a file that cannot be polled any more, gets no
    /// entry: the kernel would have dropped it too. False (the old set kept)
    /// when the new set cannot be made.
    fn rebuild(self: *Loop) bool {
        self.stale = false;
        const set = Set.open() orelse return false;
        for (self.by_fd.items) |slot| {
            const w = slot orelse continue;
            if (set.register(w.fd, w.interest, 0, 0, keyOf(w.fd, w.gen)) == ERR_NO_MEMORY) {
                set.close();
                return false;
            }
        }
        self.set.close();
        self.set = set;
        return true;
    }

    fn watch(self: *Loop, fd: c_int, interest: u32, token: u64, out: **Watch) c_int {
        const i: usize = @intCast(fd);
        if (i < self.by_fd.items.len and self.by_fd.items[i] != null) return ERR_INVALID_ARG;
        const w = gpa.create(Watch) catch return ERR_NO_MEMORY;
        const k = self.nextKey(fd);
        // Registered first: an fd that is open is below the process's fd
        // limit, which bounds the table.
        const rc = self.set.register(fd, interest, 0, 0, k.key);
        if (rc != OK) {
            gpa.destroy(w);
            return rc;
        }
        if (i >= self.by_fd.items.len) {
            self.by_fd.appendNTimes(gpa, null, i + 1 - self.by_fd.items.len) catch {
                self.set.remove(fd, interest);
                gpa.destroy(w);
                return ERR_NO_MEMORY;
            };
        }
        w.* = .{ .fd = fd, .interest = interest, .token = token, .gen = k.gen };
        self.by_fd.items[i] = w;
        self.live_watches += 1;
        out.* = w;
        return OK;
    }

    fn rewatch(self: *Loop, w: *Watch, interest: u32, token: u64) c_int {
        const k = self.nextKey(w.fd);
        const rc = self.set.register(w.fd, interest, w.interest, keyOf(w.fd, w.gen), k.key);
        if (rc != OK) return rc;
        self.forget(w);
        w.* = .{ .fd = w.fd, .interest = interest, .token = token, .gen = k.gen };
        return OK;
    }

    fn unwatch(self: *Loop, w: *Watch) void {
        self.forget(w);
        self.set.remove(w.fd, w.interest);
        self.release(w);
    }

    fn release(self: *Loop, w: *Watch) void {
        self.by_fd.items[@intCast(w.fd)] = null;
        self.live_watches -= 1;
        gpa.destroy(w);
    }

    fn deinit(self: *Loop) void {
        for (self.by_fd.items) |slot| {
            if (slot) |w| self.release(w);
        }
        self.by_fd.deinit(gpa);
        self.events.deinit(gpa);
        self.set.close();
    }
};

/// One watched fd: a single entry in the loop's readiness set.
const Watch = struct {
    fd: c_int,
    interest: u32,
    token: u64,
    /// The generation of the registration, stamped into the set's entry with
    /// the fd.
    gen: u32,
    /// The run and index of this watch's event in `Loop.events`.
    event_seq: u64 = 0,
    event_idx: usize = 0,
};

/// The key of a set entry: the fd and the generation of its registration.
fn keyOf(fd: c_int, gen: u32) u64 {
    return @as(u64, @as(u32, @intCast(fd))) | (@as(u64, gen) << 32);
}

/// The errno of this thread's last failed bridge call that carries one
/// (`jzx_xev_last_errno`), saved where the system call failed: errno itself
/// may be overwritten by the clean-up that follows (free, close).
threadlocal var last_errno: c_int = 0;

/// Saves errno as the last failed call's, now.
fn saveErrno() void {
    last_errno = std.c._errno().*;
}

/// Maps a `register` failure's errno to a status. Not pollable (a regular
/// file: EPERM on epoll) is refused as a resource error with errno kept.
fn registerError(e: std.c.E) c_int {
    last_errno = @intFromEnum(e);
    return switch (e) {
        .BADF => ERR_BAD_FD,
        .NOMEM => ERR_NO_MEMORY,
        else => ERR_RESOURCES,
    };
}

/// The readiness set of this target.
const Set = if (is_linux) EpollSet else KqueueSet;

/// An epoll instance of the watched fds (both Linux backends).
const EpollSet = struct {
    fd: c_int,

    const EPOLL = std.os.linux.EPOLL;
    const epoll_event = std.os.linux.epoll_event;

    fn open() ?EpollSet {
        const fd = std.c.epoll_create1(EPOLL.CLOEXEC);
        if (fd < 0) {
            saveErrno();
            return null;
        }
        return .{ .fd = fd };
    }

    fn close(self: EpollSet) void {
        _ = std.c.close(self.fd);
    }

    /// Registers `fd` for `interest`, or (`old` != 0) changes an entry
    /// registered for `old` (with `old_key`). An entry that the kernel
    /// removed meanwhile (the file was closed, the number maybe reused) is
    /// added anew. On failure the entry is left as it was.
    fn register(self: EpollSet, fd: c_int, interest: u32, old: u32, _: u64, key: u64) c_int {
        var ev: epoll_event = .{ .events = 0, .data = .{ .u64 = key } };
        if (interest & READ != 0) ev.events |= EPOLL.IN;
        if (interest & WRITE != 0) ev.events |= EPOLL.OUT;
        var op: u32 = if (old != 0) EPOLL.CTL_MOD else EPOLL.CTL_ADD;
        var e: std.c.E = .SUCCESS;
        for (0..2) |_| {
            const rc = std.c.epoll_ctl(self.fd, op, fd, &ev);
            if (rc == 0) return OK;
            e = std.c.errno(rc);
            switch (e) {
                .NOENT => op = EPOLL.CTL_ADD,
                // An entry of this fd and file left behind by an unwatch
                // of a number closed at the time and reused for the same
                // file since (dup2): take it over.
                .EXIST => op = EPOLL.CTL_MOD,
                else => break,
            }
        }
        return registerError(e);
    }

    /// Deletes the entry of `fd` if the number still names the registered
    /// file; a closed file is gone from the set already.
    fn remove(self: EpollSet, fd: c_int, _: u32) void {
        _ = std.c.epoll_ctl(self.fd, EPOLL.CTL_DEL, fd, null);
    }

    fn harvest(self: EpollSet, loop: *Loop) void {
        var buf: [256]epoll_event = undefined;
        const rc = std.c.epoll_wait(self.fd, &buf, buf.len, 0);
        if (rc <= 0) return;
        for (buf[0..@intCast(rc)]) |ev| {
            const w = loop.lookup(ev.data.u64) orelse {
                // Left behind by a watch of a file that is still open
                // elsewhere: it would keep the set readable.
                loop.stale = true;
                continue;
            };
            var ready: u32 = 0;
            if (ev.events & EPOLL.IN != 0 and w.interest & READ != 0) ready |= READ;
            if (ev.events & EPOLL.OUT != 0 and w.interest & WRITE != 0) ready |= WRITE;
            if (ev.events & EPOLL.ERR != 0) ready |= ERROR;
            if (ev.events & EPOLL.HUP != 0) {
                ready |= HANGUP;
                // A read would return EOF at once: that is readable.
                if (w.interest & READ != 0) ready |= READ;
            }
            loop.record(w, ready);
        }
    }
};

/// A kqueue of the watched fds (macOS, BSD): one filter per direction.
const KqueueSet = struct {
    fd: c_int,

    const Kevent = std.c.Kevent;
    /// EV_EOF: the same bit on macOS and the BSDs (Zig's FreeBSD constants
    /// lack it).
    const EV_EOF = 0x8000;

    fn open() ?KqueueSet {
        const fd = std.c.kqueue();
        if (fd < 0) {
            saveErrno();
            return null;
        }
        _ = std.c.fcntl(fd, std.c.F.SETFD, @as(c_int, std.c.FD_CLOEXEC));
        return .{ .fd = fd };
    }

    fn close(self: KqueueSet) void {
        _ = std.c.close(self.fd);
    }

    /// Applies one change; 0 or the errno.
    fn change(self: KqueueSet, fd: c_int, filter: anytype, flags: anytype, key: u64) std.c.E {
        // The key (fd and generation) travels in `udata`: a narrower one
        // would drop the generation and let stale entries pass for live.
        if (comptime @bitSizeOf(usize) < 64) @compileError("the kqueue readiness set needs a 64-bit udata");
        var ev = std.mem.zeroes(Kevent);
        ev.ident = @intCast(fd);
        ev.filter = @intCast(filter);
        ev.flags = @intCast(flags);
        ev.udata = @truncate(key);
        var none: [0]Kevent = .{};
        const rc = std.c.kevent(self.fd, @ptrCast(&ev), 1, &none, 0, null);
        return if (rc < 0) std.c.errno(rc) else .SUCCESS;
    }

    /// Adds (or updates) a filter per watched direction and deletes the
    /// filter of a direction `old` had and `interest` drops. kqueue removes
    /// a closed fd's filters at the close, so adding to a reused number
    /// starts afresh. On failure the filters are left as they were (`old`,
    /// with `old_key`).
    fn register(self: KqueueSet, fd: c_int, interest: u32, old: u32, old_key: u64, key: u64) c_int {
        const dirs = [2]struct { bit: u32, filter: i32 }{
            .{ .bit = READ, .filter = std.c.EVFILT.READ },
            .{ .bit = WRITE, .filter = std.c.EVFILT.WRITE },
        };
        for (dirs, 0..) |d, i| {
            if (interest & d.bit == 0) continue;
            const e = self.change(fd, d.filter, std.c.EV.ADD | std.c.EV.ENABLE, key);
            if (e == .SUCCESS) continue;
            // Undo the READ filter changed here: delete one added, give
            // one that was there its old key back (the watch keeps its old
            // generation).
            if (i == 1 and interest & READ != 0) {
                if (old & READ == 0) {
                    _ = self.change(fd, std.c.EVFILT.READ, std.c.EV.DELETE, 0);
                } else {
                    _ = self.change(fd, std.c.EVFILT.READ, std.c.EV.ADD | std.c.EV.ENABLE, old_key);
                }
            }
            return registerError(e);
        }
        for (dirs) |d| {
            if (old & d.bit != 0 and interest & d.bit == 0) {
                _ = self.change(fd, d.filter, std.c.EV.DELETE, 0);
            }
        }
        return OK;
    }

    fn remove(self: KqueueSet, fd: c_int, interest: u32) void {
        if (interest & READ != 0) _ = self.change(fd, std.c.EVFILT.READ, std.c.EV.DELETE, 0);
        if (interest & WRITE != 0) _ = self.change(fd, std.c.EVFILT.WRITE, std.c.EV.DELETE, 0);
    }

    fn harvest(self: KqueueSet, loop: *Loop) void {
        var buf: [256]Kevent = undefined;
        const zero: std.c.timespec = .{ .sec = 0, .nsec = 0 };
        const none: [0]Kevent = .{};
        const rc = std.c.kevent(self.fd, &none, 0, &buf, buf.len, &zero);
        if (rc <= 0) return;
        for (buf[0..@intCast(rc)]) |ev| {
            const w = loop.lookup(@intCast(ev.udata)) orelse continue;
            // End of file or an error: poll(2) tells hang-up from a half
            // close, as epoll does.
            if (ev.flags & (EV_EOF | std.c.EV.ERROR) != 0) {
                loop.record(w, pollReadiness(w.fd, w.interest) | if (ev.flags & std.c.EV.ERROR != 0) ERROR else 0);
            } else if (ev.filter == std.c.EVFILT.READ) {
                loop.record(w, READ);
            } else if (ev.filter == std.c.EVFILT.WRITE) {
                loop.record(w, WRITE);
            }
        }
    }
};

/// Asks the kernel which of the watched conditions of `fd` hold now.
fn pollReadiness(fd: c_int, interest: u32) u32 {
    var events: i16 = 0;
    if (interest & READ != 0) events |= std.c.POLL.IN;
    if (interest & WRITE != 0) events |= std.c.POLL.OUT;
    var pfd = [1]std.c.pollfd{.{ .fd = fd, .events = events, .revents = 0 }};
    if (std.c.poll(&pfd, 1, 0) <= 0) return 0;
    const rev: u32 = @intCast(@as(u16, @bitCast(pfd[0].revents)));
    var ready: u32 = 0;
    if (rev & std.c.POLL.IN != 0 and interest & READ != 0) ready |= READ;
    if (rev & std.c.POLL.OUT != 0 and interest & WRITE != 0) ready |= WRITE;
    if (rev & (std.c.POLL.ERR | std.c.POLL.NVAL) != 0) ready |= ERROR;
    if (rev & std.c.POLL.HUP != 0) {
        ready |= HANGUP;
        if (interest & READ != 0) ready |= READ;
    }
    return ready;
}

/// Reads the requested backend, resolving AUTO through JZX_BACKEND.
fn resolveBackend(requested: BackendKind) ?BackendKind {
    if (requested != .auto) return requested;
    if (std.c.getenv("JZX_BACKEND")) |raw| {
        const name = std.mem.span(raw);
        if (std.mem.eql(u8, name, "epoll")) return .epoll;
        if (std.mem.eql(u8, name, "io_uring")) return .io_uring;
        if (std.mem.eql(u8, name, "kqueue")) return .kqueue;
        if (name.len != 0) return null;
    }
    if (is_linux) {
        return if (xev.IO_Uring.available()) .io_uring else .epoll;
    }
    return .kqueue;
}

/// Everything a loop needs from one backend `X` (a libxev API type).
fn Impl(comptime X: type) type {
    return struct {
        const Self = @This();
        const Completion = X.Completion;
        const Action = X.CallbackAction;

        back: *Loop,
        loop: X.Loop,
        wakeup: X.Async,
        c_wakeup: Completion = .{},
        c_timer: Completion = .{},
        c_timer_cancel: Completion = .{},
        timer_armed: bool = false,
        c_deadline: Completion = .{},
        c_deadline_cancel: Completion = .{},
        /// The readiness set's fd, polled readable.
        c_set: Completion = .{},
        /// `c_set` was disarmed for a stale set: the next run rebuilds the
        /// set and polls the new one.
        set_parked: bool = false,

        fn available() bool {
            return X.available();
        }

        /// The libxev loop. On io_uring the ring is made here, with
        /// IORING_SETUP_COOP_TASKRUN: the kernel then completes polls when
        /// the loop's thread next enters it (every run does, and so does
        /// every read or write of an actor) instead of interrupting the
        /// thread with an inter-processor interrupt for each readiness
        /// event. Kernels older than 5.19 refuse the flag: the ring is then
        /// made as libxev makes it.
        fn newLoop() !X.Loop {
            if (X.backend == .io_uring) {
                const linux = std.os.linux;
                if (linux.IoUring.init(ring_entries, linux.IORING_SETUP_COOP_TASKRUN)) |ring| {
                    var l: X.Loop = .{ .ring = ring };
                    l.update_now();
                    return l;
                } else |_| {}
            }
            return X.Loop.init(.{ .entries = ring_entries });
        }

        /// Submission queue entries of an io_uring ring (libxev's default).
        const ring_entries = 256;

        fn init(self: *Self, back: *Loop) c_int {
            self.back = back;
            self.loop = newLoop() catch return ERR_LOOP_INIT;
            self.wakeup = X.Async.init() catch {
                self.loop.deinit();
                return ERR_LOOP_INIT;
            };
            self.c_wakeup = .{};
            self.c_timer = .{};
            self.c_timer_cancel = .{};
            self.c_deadline = .{};
            self.c_deadline_cancel = .{};
            self.timer_armed = false;
            self.set_parked = false;
            self.wakeup.wait(&self.loop, &self.c_wakeup, Self, self, wakeupCallback);
            self.pollSet();
            return OK;
        }

        /// Starts polling the readiness set's fd (`c_set` must be idle).
        fn pollSet(self: *Self) void {
            const fd = self.back.set.fd;
            // kqueue has no poll operation: a zero-length read completes
            // when the set's fd is readable, without reading.
            const op: X.Sys.Operation = if (X.backend == .kqueue)
                .{ .read = .{ .fd = fd, .buffer = .{ .slice = &empty_buf } } }
            else
                .{ .poll = .{ .fd = fd, .events = std.c.POLL.IN } };
            self.c_set = .{ .op = op, .userdata = self, .callback = setCallback };
            self.loop.add(&self.c_set);
        }

        fn deinit(self: *Self) void {
            self.loop.deinit();
            self.wakeup.deinit();
        }

        fn wakeupCallback(ud: ?*Self, _: *X.Loop, _: *Completion, r: X.Async.WaitError!void) Action {
            const self = ud.?;
            _ = r catch {};
            self.back.ran |= RAN_WAKEUP;
            return .rearm;
        }

        /// The readiness set is readable: harvest it. Whatever the result
        /// (kqueue's zero-length read reports the set's pending count, or
        /// EOF for none), the set is polled again, unless the harvest found
        /// it stale: the completion is then finished (on epoll libxev
        /// deletes the set's fd from its own epoll now, while the fd is
        /// still open; an io_uring poll is one-shot and done) and the next
        /// run polls a rebuilt set.
        fn setCallback(ud: ?*anyopaque, _: *X.Loop, _: *Completion, _: X.Result) Action {
            const self: *Self = @ptrCast(@alignCast(ud.?));
            const back = self.back;
            back.set.harvest(back);
            if (!back.stale) return .rearm;
            self.set_parked = true;
            return .disarm;
        }

        fn timerCallback(ud: ?*anyopaque, _: *X.Loop, _: *Completion, r: X.Result) Action {
            const self: *Self = @ptrCast(@alignCast(ud.?));
            const trigger = r.timer catch return .disarm;
            if (trigger == .expiration and self.timer_armed) {
                self.timer_armed = false;
                self.back.ran |= RAN_TIMER;
            }
            return .disarm;
        }

        fn deadlineCallback(_: ?*anyopaque, _: *X.Loop, _: *Completion, _: X.Result) Action {
            return .disarm;
        }

        fn run(self: *Self, timeout_ms: i64) c_int {
            if (self.set_parked) {
                // Out of descriptors or memory, the old set is polled
                // again and the next stale harvest retries.
                _ = self.back.rebuild();
                self.set_parked = false;
                self.pollSet();
            }
            if (timeout_ms > 0) {
                self.loop.update_now();
                self.loop.timer_reset(&self.c_deadline, &self.c_deadline_cancel, @intCast(timeout_ms), self, deadlineCallback);
            }
            // (epoll: only when something waits to be started.)
            const pending = if (X.backend == .epoll) !self.loop.submissions.empty() else true;
            if (timeout_ms == 0 or (X.backend != .io_uring and pending)) {
                // epoll and kqueue count a timer started in this tick as a
                // completion, so a blocking tick that starts one returns
                // without waiting: start them in a pass of its own.
                self.loop.run(.no_wait) catch return ERR_RUN;
            }
            const back = self.back;
            if (timeout_ms != 0 and back.ran == 0 and back.events.items.len == 0) {
                self.loop.run(.once) catch return ERR_RUN;
            }
            return OK;
        }

        fn timerSet(self: *Self, ms: u64) void {
            self.loop.update_now();
            self.timer_armed = true;
            self.loop.timer_reset(&self.c_timer, &self.c_timer_cancel, ms, self, timerCallback);
        }
    };
}

// ---------------------------------------------------------------------------
// Exports (see jzx_xev.h).

export fn jzx_xev_loop_create(requested: BackendKind, out: ?*?*Loop) c_int {
    const dest = out orelse return ERR_INVALID_ARG;
    const kind = resolveBackend(requested) orelse return ERR_BACKEND_UNAVAILABLE;
    const loop = gpa.create(Loop) catch return ERR_NO_MEMORY;
    const set = Set.open() orelse {
        gpa.destroy(loop);
        return ERR_LOOP_INIT;
    };
    loop.* = .{ .inner = undefined, .set = set };
    const rc = switch (kind) {
        .auto => unreachable,
        inline else => |k| init: {
            if (comptime !@hasField(Inner, @tagName(k))) {
                break :init ERR_BACKEND_UNAVAILABLE;
            } else {
                if (!@FieldType(Inner, @tagName(k)).available()) break :init ERR_BACKEND_UNAVAILABLE;
                loop.inner = @unionInit(Inner, @tagName(k), undefined);
                break :init @field(loop.inner, @tagName(k)).init(loop);
            }
        },
    };
    if (rc != OK) {
        // (The clean-up below may change errno.)
        if (rc == ERR_LOOP_INIT) saveErrno();
        set.close();
        gpa.destroy(loop);
        return rc;
    }
    dest.* = loop;
    return OK;
}

export fn jzx_xev_loop_destroy(loop: ?*Loop) void {
    const self = loop orelse return;
    switch (self.inner) {
        inline else => |*impl| impl.deinit(),
    }
    self.deinit();
    gpa.destroy(self);
}

export fn jzx_xev_loop_backend(loop: ?*const Loop) BackendKind {
    const self = loop orelse return .auto;
    return switch (self.inner) {
        inline else => |_, tag| @field(BackendKind, @tagName(tag)),
    };
}

export fn jzx_xev_run(loop: ?*Loop, timeout_ms: i64, flags: ?*u32) c_int {
    const self = loop orelse return ERR_INVALID_ARG;
    self.events.clearRetainingCapacity();
    self.run_seq +%= 1;
    self.ran = 0;
    const rc = switch (self.inner) {
        inline else => |*impl| impl.run(timeout_ms),
    };
    if (flags) |f| f.* = self.ran;
    return rc;
}

export fn jzx_xev_events(loop: ?*const Loop, len: ?*usize) ?[*]const Event {
    const self = loop orelse return null;
    if (len) |l| l.* = self.events.items.len;
    return self.events.items.ptr;
}

export fn jzx_xev_wakeup(loop: ?*Loop) c_int {
    const self = loop orelse return ERR_INVALID_ARG;
    switch (self.inner) {
        inline else => |*impl| impl.wakeup.notify() catch return ERR_WAKEUP,
    }
    return OK;
}

export fn jzx_xev_timer_set(loop: ?*Loop, ms: u64) c_int {
    const self = loop orelse return ERR_INVALID_ARG;
    switch (self.inner) {
        inline else => |*impl| impl.timerSet(ms),
    }
    return OK;
}

export fn jzx_xev_timer_clear(loop: ?*Loop) void {
    const self = loop orelse return;
    switch (self.inner) {
        inline else => |*impl| impl.timer_armed = false,
    }
}

fn validInterest(interest: u32) bool {
    return interest & (READ | WRITE) != 0 and interest & ~(READ | WRITE) == 0;
}

export fn jzx_xev_watch(loop: ?*Loop, fd: c_int, interest: u32, token: u64, out: ?*?*Watch) c_int {
    const self = loop orelse return ERR_INVALID_ARG;
    const dest = out orelse return ERR_INVALID_ARG;
    if (fd < 0 or !validInterest(interest)) return ERR_INVALID_ARG;
    var w: *Watch = undefined;
    const rc = self.watch(fd, interest, token, &w);
    if (rc == OK) dest.* = w;
    return rc;
}

export fn jzx_xev_rewatch(loop: ?*Loop, watch: ?*Watch, interest: u32, token: u64) c_int {
    const self = loop orelse return ERR_INVALID_ARG;
    const w = watch orelse return ERR_INVALID_ARG;
    if (!validInterest(interest)) return ERR_INVALID_ARG;
    return self.rewatch(w, interest, token);
}

export fn jzx_xev_unwatch(loop: ?*Loop, watch: ?*Watch) void {
    const self = loop orelse return;
    self.unwatch(watch orelse return);
}

export fn jzx_xev_last_errno() c_int {
    return last_errno;
}

export fn jzx_xev_live_watches(loop: ?*const Loop) usize {
    const self = loop orelse return 0;
    return self.live_watches;
}

// ---------------------------------------------------------------------------
// Tests: `zig build test -Dlibxev=...` runs them on every backend compiled in.

const testing = std.testing;

fn testBackends() []const BackendKind {
    return if (is_linux) &.{ .io_uring, .epoll } else &.{.kqueue};
}

fn createFor(kind: BackendKind) ?*Loop {
    var loop: ?*Loop = null;
    if (jzx_xev_loop_create(kind, &loop) != OK) return null;
    return loop;
}

fn socketPair() ![2]c_int {
    var fds: [2]c_int = undefined;
    if (std.c.socketpair(std.c.AF.UNIX, std.c.SOCK.STREAM, 0, &fds) != 0) return error.SocketPair;
    return fds;
}

fn collect(loop: *Loop, token: u64) u32 {
    var n: usize = 0;
    const evs = jzx_xev_events(loop, &n).?;
    var bits: u32 = 0;
    for (evs[0..n]) |e| {
        if (e.token == token) bits |= e.ready;
    }
    return bits;
}

/// A loop on one backend and a connected socket pair, for a test.
const Fixture = struct {
    loop: *Loop,
    fds: [2]c_int,

    /// Null when the backend is not available here.
    fn init(kind: BackendKind) !?Fixture {
        const loop = createFor(kind) orelse return null;
        errdefer jzx_xev_loop_destroy(loop);
        return .{ .loop = loop, .fds = try socketPair() };
    }

    fn deinit(self: Fixture) void {
        for (self.fds) |fd| {
            if (fd >= 0) _ = std.c.close(fd);
        }
        jzx_xev_loop_destroy(self.loop);
    }
};

/// Makes the fixture's fd readable, watches it for READ with `token` and
/// checks that a run reports it.
fn watchReadable(f: Fixture, token: u64) !?*Watch {
    _ = std.c.write(f.fds[1], "x", 1);
    var w: ?*Watch = null;
    try testing.expectEqual(OK, jzx_xev_watch(f.loop, f.fds[0], READ, token, &w));
    try testing.expectEqual(OK, jzx_xev_run(f.loop, 100, null));
    try testing.expectEqual(READ, collect(f.loop, token));
    return w;
}

test "bridge: read and write watch on one fd" {
    for (testBackends()) |kind| {
        const f = try Fixture.init(kind) orelse continue;
        defer f.deinit();
        const loop = f.loop;
        var w: ?*Watch = null;
        try testing.expectEqual(OK, jzx_xev_watch(loop, f.fds[0], READ | WRITE, 7, &w));
        try testing.expectEqual(OK, jzx_xev_run(loop, 100, null));
        try testing.expectEqual(WRITE, collect(loop, 7));
        _ = std.c.write(f.fds[1], "x", 1);
        try testing.expectEqual(OK, jzx_xev_run(loop, 100, null));
        try testing.expectEqual(READ | WRITE, collect(loop, 7));
        jzx_xev_unwatch(loop, w);
    }
}

test "bridge: no callback after unwatch" {
    for (testBackends()) |kind| {
        const f = try Fixture.init(kind) orelse continue;
        defer f.deinit();
        const loop = f.loop;
        const w = try watchReadable(f, 9);
        jzx_xev_unwatch(loop, w);
        try testing.expectEqual(@as(u32, 0), collect(loop, 9));
        for (0..3) |_| {
            try testing.expectEqual(OK, jzx_xev_run(loop, 0, null));
            try testing.expectEqual(@as(u32, 0), collect(loop, 9));
        }
        try testing.expectEqual(@as(usize, 0), jzx_xev_live_watches(loop));
    }
}

test "bridge: rewatch switches direction in place" {
    for (testBackends()) |kind| {
        const f = try Fixture.init(kind) orelse continue;
        defer f.deinit();
        const loop = f.loop;
        const w = try watchReadable(f, 1);
        var again: ?*Watch = null;
        try testing.expectEqual(ERR_INVALID_ARG, jzx_xev_watch(loop, f.fds[0], WRITE, 2, &again));
        try testing.expectEqual(OK, jzx_xev_rewatch(loop, w, WRITE, 3));
        try testing.expectEqual(@as(u32, 0), collect(loop, 1));
        try testing.expectEqual(OK, jzx_xev_run(loop, 100, null));
        try testing.expectEqual(@as(u32, 0), collect(loop, 1));
        try testing.expectEqual(WRITE, collect(loop, 3));
        jzx_xev_unwatch(loop, w);
        try testing.expectEqual(@as(usize, 0), jzx_xev_live_watches(loop));
    }
}

test "bridge: a closed fd is never reported" {
    for (testBackends()) |kind| {
        var f = try Fixture.init(kind) orelse continue;
        defer f.deinit();
        const loop = f.loop;
        const w = try watchReadable(f, 4);
        _ = std.c.close(f.fds[0]);
        f.fds[0] = -1;
        for (0..3) |_| {
            try testing.expectEqual(OK, jzx_xev_run(loop, 10, null));
            try testing.expectEqual(@as(u32, 0), collect(loop, 4));
        }
        jzx_xev_unwatch(loop, w);
    }
}

test "bridge: an entry left by a closed fd's duplicate does not keep runs awake" {
    for (testBackends()) |kind| {
        var f = try Fixture.init(kind) orelse continue;
        defer f.deinit();
        const loop = f.loop;
        const w = try watchReadable(f, 5);
        // The peer hangs up: the file is ready for good. A duplicate keeps
        // it open after the watched number is closed, so the unwatch
        // cannot delete its entry.
        const keep = std.c.dup(f.fds[0]);
        defer _ = std.c.close(keep);
        _ = std.c.close(f.fds[1]);
        f.fds[1] = -1;
        _ = std.c.close(f.fds[0]);
        f.fds[0] = -1;
        jzx_xev_unwatch(loop, w);
        // A blocking run until a timer fires: the leftover entry may wake
        // one run (the one that finds it), not every run.
        try testing.expectEqual(OK, jzx_xev_timer_set(loop, 100));
        var runs: usize = 0;
        var flags: u32 = 0;
        while (flags & RAN_TIMER == 0 and runs < 1000) : (runs += 1) {
            try testing.expectEqual(OK, jzx_xev_run(loop, -1, &flags));
            try testing.expectEqual(@as(u32, 0), collect(loop, 5));
        }
        try testing.expect(runs <= 3);
    }
}
