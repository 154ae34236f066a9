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
//! - fd readiness watches.
//!
//! The bridge never calls back into Rust. libxev's callbacks only record what
//! happened (readiness per watch, timer expiry, wakeup); the caller reads it
//! after `jzx_xev_run` returns. So no foreign code runs inside libxev, and
//! "no callback after unwatch" reduces to dropping a recorded event.
//!
//! Readiness. io_uring and epoll use libxev's `poll` operation with the
//! interest mask (READ|WRITE in one registration, as epoll requires); kqueue
//! uses zero-length reads and writes, one completion per direction. The result
//! of those operations does not say which bits are ready. A watch of one
//! direction on io_uring or epoll therefore has a second `poll`, the hang-up
//! lane, with an empty mask: the kernel completes it only for error and
//! hang-up (epoll registers a second duplicate of the fd for it). While that
//! lane is quiet, the main poll firing means "the watched direction is ready",
//! with no further system call; when the lane fires, the callback asks the
//! kernel with `poll(fd, 0)` and reports the watched directions plus error and
//! hang-up. Watches of both directions, kqueue, and a watch whose lane could
//! not be set up ask the kernel at every event. Every callback rearms, so
//! readiness is level-triggered.
//!
//! Each watch registers its own duplicate of the caller's fd. The caller may
//! close its fd before unwatching (an echo connection does exactly that), and
//! the kernel may hand the same number to a new socket that is watched at once:
//! the old registration belongs to the duplicate, so removing it never touches
//! the new one (on epoll, removing a closed or reused fd number would corrupt
//! the loop).
//!
//! Unwatch. Cancelling differs per backend: on io_uring and kqueue the
//! cancelled completion is called back once more; on epoll it is removed
//! silently. A watch is therefore released only when every completion of it
//! is known to be finished: either its callback returned `disarm`, or libxev
//! reports it dead after the cancel completed. A cancel is only issued for a
//! completion that libxev has registered (not one still queued for adding),
//! and memory is freed outside callbacks, after a run.
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
    /// Readiness recorded during the current (or last) run.
    events: std.ArrayList(Event) = .empty,
    /// Incremented at every run; lets a watch merge its bits into one event.
    run_seq: u64 = 0,
    /// JZX_XEV_RAN_* bits of the current run.
    ran: u32 = 0,
    /// Watches allocated and not yet released.
    live_watches: usize = 0,

    fn record(self: *Loop, seq: *u64, idx: *usize, token: u64, fd: c_int, ready: u32) void {
        self.note(seq, idx, token, fd, ready, false);
    }

    /// Records `ready` for a watch in this run: merged with what the run
    /// already recorded for it, or (`replace`) in place of it, 0 dropping it.
    fn note(self: *Loop, seq: *u64, idx: *usize, token: u64, fd: c_int, ready: u32, replace: bool) void {
        if (seq.* == self.run_seq) {
            const ev = &self.events.items[idx.*];
            ev.ready = if (replace) ready else ev.ready | ready;
            return;
        }
        if (ready == 0) return;
        // Out of memory here would lose a level-triggered report; the next
        // run reports the same condition again.
        self.events.append(gpa, .{ .token = token, .ready = ready, .fd = fd }) catch return;
        seq.* = self.run_seq;
        idx.* = self.events.items.len - 1;
    }
};

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
        /// kqueue has no poll operation: one zero-length read and one
        /// zero-length write completion stand for READ and WRITE.
        const split_directions = X.backend == .kqueue;

        back: *Loop,
        loop: X.Loop,
        wakeup: X.Async,
        c_wakeup: Completion = .{},
        c_timer: Completion = .{},
        c_timer_cancel: Completion = .{},
        timer_armed: bool = false,
        c_deadline: Completion = .{},
        c_deadline_cancel: Completion = .{},
        /// Every allocated watch (for destroy).
        all: ?*Watch = null,
        /// Unwatched watches waiting for libxev to finish with them.
        releasing: ?*Watch = null,

        const Watch = struct {
            impl: *Self,
            owner: *Loop,
            prev: ?*Watch = null,
            next: ?*Watch = null,
            next_releasing: ?*Watch = null,
            fd: c_int,
            dup: c_int,
            /// The fd of the hang-up lane (`dup` on io_uring, a second
            /// duplicate on epoll), or -1 without a lane.
            hup_fd: c_int = -1,
            /// The hang-up lane is registered: the main poll firing alone
            /// means the watched direction is ready.
            hup_lane: bool = false,
            /// The run in which the hang-up lane last fired (its report then
            /// stands for the whole run).
            lane_seq: u64 = 0,
            interest: u32,
            token: u64,
            /// The completions: [0] is the poll (or the read on kqueue),
            /// [1] the hang-up lane's poll (or the write on kqueue).
            c_main: [2]Completion = .{ .{}, .{} },
            c_cancel: [2]Completion = .{ .{}, .{} },
            live: [2]bool = .{ false, false },
            cancel_sent: [2]bool = .{ false, false },
            cancel_done: [2]bool = .{ false, false },
            cancelled: bool = false,
            event_seq: u64 = 0,
            event_idx: usize = 0,

            fn pollEvents(self: *Watch) u32 {
                var events: u32 = 0;
                if (self.interest & READ != 0) events |= std.c.POLL.IN;
                if (self.interest & WRITE != 0) events |= std.c.POLL.OUT;
                return events;
            }

            /// Asks the kernel which of the watched conditions hold now.
            fn readiness(self: *Watch) u32 {
                var pfd = [1]std.c.pollfd{.{ .fd = self.dup, .events = @intCast(self.pollEvents()), .revents = 0 }};
                const rc = std.c.poll(&pfd, 1, 0);
                if (rc <= 0) return 0;
                const rev: u32 = @intCast(pfd[0].revents);
                var ready: u32 = 0;
                if (rev & std.c.POLL.IN != 0 and self.interest & READ != 0) ready |= READ;
                if (rev & std.c.POLL.OUT != 0 and self.interest & WRITE != 0) ready |= WRITE;
                if (rev & (std.c.POLL.ERR | std.c.POLL.NVAL) != 0) ready |= ERROR;
                if (rev & std.c.POLL.HUP != 0) {
                    ready |= HANGUP;
                    // A read would return EOF at once: that is readable.
                    if (self.interest & READ != 0) ready |= READ;
                }
                return ready;
            }

            fn slot(self: *Watch, c: *Completion) usize {
                return if (c == &self.c_main[0]) 0 else 1;
            }

            /// True while libxev holds completion `i` registered (not queued
            /// for adding, not finished): the only state in which a cancel is
            /// safe on every backend.
            fn registered(self: *Watch, i: usize) bool {
                return self.c_main[i].flags.state == .active;
            }

            /// Moves an unwatched watch towards release; true once it can be
            /// freed. Never called from inside a libxev callback.
            fn advance(self: *Watch) bool {
                for (0..2) |i| {
                    if (!self.live[i]) continue;
                    if (self.c_main[i].state() == .dead) {
                        // Finished without a callback to come (epoll after a
                        // cancel, or never started).
                        if (!self.cancel_sent[i] or self.cancel_done[i]) self.live[i] = false;
                        continue;
                    }
                    if (!self.cancel_sent[i] and self.registered(i)) {
                        self.cancel_sent[i] = true;
                        self.c_cancel[i] = .{
                            .op = .{ .cancel = .{ .c = &self.c_main[i] } },
                            .userdata = self,
                            .callback = cancelCallback,
                        };
                        self.impl.loop.add(&self.c_cancel[i]);
                    }
                }
                for (0..2) |i| {
                    if (self.live[i]) return false;
                    if (self.cancel_sent[i] and !self.cancel_done[i]) return false;
                }
                return true;
            }
        };

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
            self.all = null;
            self.releasing = null;
            self.wakeup.wait(&self.loop, &self.c_wakeup, Self, self, wakeupCallback);
            return OK;
        }

        fn deinit(self: *Self) void {
            self.loop.deinit();
            self.wakeup.deinit();
            var it = self.all;
            while (it) |w| {
                it = w.next;
                self.free(w);
            }
        }

        fn owner(self: *Self) *Loop {
            return self.back;
        }

        fn wakeupCallback(ud: ?*Self, _: *X.Loop, _: *Completion, r: X.Async.WaitError!void) Action {
            const self = ud.?;
            _ = r catch {};
            self.owner().ran |= RAN_WAKEUP;
            return .rearm;
        }

        fn timerCallback(ud: ?*anyopaque, _: *X.Loop, _: *Completion, r: X.Result) Action {
            const self: *Self = @ptrCast(@alignCast(ud.?));
            const trigger = r.timer catch return .disarm;
            if (trigger == .expiration and self.timer_armed) {
                self.timer_armed = false;
                self.owner().ran |= RAN_TIMER;
            }
            return .disarm;
        }

        fn deadlineCallback(_: ?*anyopaque, _: *X.Loop, _: *Completion, _: X.Result) Action {
            return .disarm;
        }

        fn run(self: *Self, timeout_ms: i64) c_int {
            if (timeout_ms > 0) {
                self.loop.update_now();
                self.loop.timer_reset(&self.c_deadline, &self.c_deadline_cancel, @intCast(timeout_ms), self, deadlineCallback);
            }
            // (epoll: only when something waits to be started.)
            const pending = if (X.backend == .epoll) !self.loop.submissions.empty() else true;
            if (timeout_ms == 0 or (X.backend != .io_uring and pending)) {
                // epoll and kqueue count a timer or cancel started in this
                // tick as a completion, so a blocking tick that starts one
                // returns without waiting: start them in a pass of its own.
                self.loop.run(.no_wait) catch return ERR_RUN;
                // Cancels finished in this pass: release their watches (and
                // close their duplicate fds) before blocking, so a peer sees
                // a closed socket at once.
                self.releasePending();
            }
            const back = self.owner();
            if (timeout_ms != 0 and back.ran == 0 and back.events.items.len == 0) {
                self.loop.run(.once) catch return ERR_RUN;
            }
            self.releasePending();
            return OK;
        }

        fn timerSet(self: *Self, ms: u64) void {
            self.loop.update_now();
            self.timer_armed = true;
            self.loop.timer_reset(&self.c_timer, &self.c_timer_cancel, ms, self, timerCallback);
        }

        fn watch(self: *Self, fd: c_int, interest: u32, token: u64, out: **anyopaque) c_int {
            const dup = std.c.fcntl(fd, std.c.F.DUPFD_CLOEXEC, @as(c_int, 0));
            if (dup < 0) {
                return if (std.c.errno(dup) == .BADF) ERR_BAD_FD else ERR_RESOURCES;
            }
            const w = gpa.create(Watch) catch {
                _ = std.c.close(dup);
                return ERR_NO_MEMORY;
            };
            w.* = .{ .impl = self, .owner = self.owner(), .fd = fd, .dup = dup, .interest = interest, .token = token };
            w.next = self.all;
            if (self.all) |head| head.prev = w;
            self.all = w;
            self.owner().live_watches += 1;

            if (split_directions) {
                if (interest & READ != 0) self.arm(w, 0, .{ .read = .{ .fd = dup, .buffer = .{ .slice = &empty_buf } } });
                if (interest & WRITE != 0) self.arm(w, 1, .{ .write = .{ .fd = dup, .buffer = .{ .slice = &empty_buf } } });
            } else {
                self.arm(w, 0, .{ .poll = .{ .fd = dup, .events = w.pollEvents() } });
                if (interest == READ or interest == WRITE) self.armHangupLane(w);
            }
            out.* = w;
            return OK;
        }

        /// Registers the hang-up lane of a one-direction watch (see the file's
        /// header); without a spare fd on epoll the watch goes without it.
        fn armHangupLane(self: *Self, w: *Watch) void {
            const fd = if (X.backend == .epoll)
                std.c.fcntl(w.dup, std.c.F.DUPFD_CLOEXEC, @as(c_int, 0))
            else
                w.dup;
            if (fd < 0) return;
            w.hup_fd = fd;
            w.hup_lane = true;
            self.arm(w, 1, .{ .poll = .{ .fd = fd, .events = 0 } });
        }

        fn arm(self: *Self, w: *Watch, i: usize, op: X.Sys.Operation) void {
            w.c_main[i] = .{ .op = op, .userdata = w, .callback = readyCallback };
            w.live[i] = true;
            self.loop.add(&w.c_main[i]);
        }

        /// True when an operation's result means "the kernel reported this fd",
        /// false when the registration itself failed.
        fn reported(r: X.Result) bool {
            if (split_directions) {
                return switch (r) {
                    .read => |v| if (v) |_| true else |err| err == error.EOF,
                    .write => |v| if (v) |_| true else |_| true,
                    else => false,
                };
            }
            return switch (r) {
                .poll => |v| if (v) |_| true else |_| false,
                else => false,
            };
        }

        fn readyCallback(ud: ?*anyopaque, _: *X.Loop, c: *Completion, r: X.Result) Action {
            const w: *Watch = @ptrCast(@alignCast(ud.?));
            const i = w.slot(c);
            if (w.cancelled) {
                w.live[i] = false;
                return .disarm;
            }
            const loop = w.owner;
            if (!split_directions and i == 1) return hangupLaneCallback(w, r);
            if (!reported(r)) {
                loop.record(&w.event_seq, &w.event_idx, w.token, w.fd, ERROR);
                w.live[i] = false;
                return .disarm;
            }
            if (w.lane_seq != loop.run_seq) {
                const ready = if (w.hup_lane) w.interest else w.readiness();
                loop.record(&w.event_seq, &w.event_idx, w.token, w.fd, ready);
            }
            return .rearm;
        }

        /// The hang-up lane fired: report what the kernel says holds now, in
        /// place of what the main poll recorded in this run (io_uring adds
        /// RDHUP to every poll's mask, so the main poll may have fired for a
        /// half-close without its direction being ready). io_uring also
        /// completes an empty-mask poll for a peer's half-close, which is no
        /// hang-up and would fire again at once: the lane then retires and
        /// the watch asks the kernel at every event instead.
        fn hangupLaneCallback(w: *Watch, r: X.Result) Action {
            const ready = if (reported(r)) w.readiness() else 0;
            w.owner.note(&w.event_seq, &w.event_idx, w.token, w.fd, ready, true);
            w.lane_seq = w.owner.run_seq;
            if (ready & (ERROR | HANGUP) != 0) return .rearm;
            w.hup_lane = false;
            w.live[1] = false;
            return .disarm;
        }

        fn cancelCallback(ud: ?*anyopaque, _: *X.Loop, c: *Completion, _: X.Result) Action {
            const w: *Watch = @ptrCast(@alignCast(ud.?));
            const i: usize = if (c == &w.c_cancel[0]) 0 else 1;
            w.cancel_done[i] = true;
            return .disarm;
        }

        fn unwatch(self: *Self, w: *Watch) void {
            if (w.cancelled) return;
            w.cancelled = true;
            const loop = self.owner();
            if (w.event_seq == loop.run_seq and w.event_idx < loop.events.items.len) {
                loop.events.items[w.event_idx].ready = 0;
            }
            if (w.advance()) {
                self.free(w);
            } else {
                w.next_releasing = self.releasing;
                self.releasing = w;
            }
        }

        fn releasePending(self: *Self) void {
            var link: *?*Watch = &self.releasing;
            while (link.*) |w| {
                if (w.advance()) {
                    link.* = w.next_releasing;
                    self.free(w);
                } else {
                    link = &w.next_releasing;
                }
            }
        }

        fn free(self: *Self, w: *Watch) void {
            if (w.prev) |p| p.next = w.next else self.all = w.next;
            if (w.next) |n| n.prev = w.prev;
            _ = std.c.close(w.dup);
            if (w.hup_fd >= 0 and w.hup_fd != w.dup) _ = std.c.close(w.hup_fd);
            self.owner().live_watches -= 1;
            gpa.destroy(w);
        }
    };
}

// ---------------------------------------------------------------------------
// Exports (see jzx_xev.h).

export fn jzx_xev_loop_create(requested: BackendKind, out: ?*?*Loop) c_int {
    const dest = out orelse return ERR_INVALID_ARG;
    const kind = resolveBackend(requested) orelse return ERR_BACKEND_UNAVAILABLE;
    const loop = gpa.create(Loop) catch return ERR_NO_MEMORY;
    loop.* = .{ .inner = undefined };
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
    self.events.deinit(gpa);
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

export fn jzx_xev_watch(loop: ?*Loop, fd: c_int, interest: u32, token: u64, out: ?*?*anyopaque) c_int {
    const self = loop orelse return ERR_INVALID_ARG;
    const dest = out orelse return ERR_INVALID_ARG;
    if (fd < 0 or interest & (READ | WRITE) == 0 or interest & ~(READ | WRITE) != 0) return ERR_INVALID_ARG;
    var w: *anyopaque = undefined;
    const rc = switch (self.inner) {
        inline else => |*impl| impl.watch(fd, interest, token, &w),
    };
    if (rc == OK) dest.* = w;
    return rc;
}

export fn jzx_xev_unwatch(loop: ?*Loop, watch: ?*anyopaque) void {
    const self = loop orelse return;
    const w = watch orelse return;
    switch (self.inner) {
        inline else => |*impl| {
            const W = @TypeOf(impl.*).Watch;
            impl.unwatch(@as(*W, @ptrCast(@alignCast(w))));
        },
    }
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

test "bridge: read and write watch on one fd" {
    for (testBackends()) |kind| {
        const loop = createFor(kind) orelse continue;
        defer jzx_xev_loop_destroy(loop);
        const fds = try socketPair();
        defer _ = std.c.close(fds[0]);
        defer _ = std.c.close(fds[1]);
        var w: ?*anyopaque = null;
        try testing.expectEqual(OK, jzx_xev_watch(loop, fds[0], READ | WRITE, 7, &w));
        try testing.expectEqual(OK, jzx_xev_run(loop, 100, null));
        try testing.expectEqual(WRITE, collect(loop, 7));
        _ = std.c.write(fds[1], "x", 1);
        try testing.expectEqual(OK, jzx_xev_run(loop, 100, null));
        try testing.expectEqual(READ | WRITE, collect(loop, 7));
        jzx_xev_unwatch(loop, w);
    }
}

test "bridge: no callback after unwatch" {
    for (testBackends()) |kind| {
        const loop = createFor(kind) orelse continue;
        defer jzx_xev_loop_destroy(loop);
        const fds = try socketPair();
        defer _ = std.c.close(fds[0]);
        defer _ = std.c.close(fds[1]);
        _ = std.c.write(fds[1], "x", 1);
        var w: ?*anyopaque = null;
        try testing.expectEqual(OK, jzx_xev_watch(loop, fds[0], READ, 9, &w));
        try testing.expectEqual(OK, jzx_xev_run(loop, 100, null));
        try testing.expectEqual(READ, collect(loop, 9));
        jzx_xev_unwatch(loop, w);
        try testing.expectEqual(@as(u32, 0), collect(loop, 9));
        for (0..3) |_| {
            try testing.expectEqual(OK, jzx_xev_run(loop, 0, null));
            try testing.expectEqual(@as(u32, 0), collect(loop, 9));
        }
        try testing.expectEqual(@as(usize, 0), jzx_xev_live_watches(loop));
    }
}
