//! Uses every declaration of the Zig module `jzx` (so that compiling this
//! file checks the whole module) and runs a small scenario through it: a
//! named actor receives a user message and stops, `run` returns once the loop
//! is idle, and the error set maps the C codes both ways. Written without
//! `std`, so it builds unchanged with Zig 0.15.2 and 0.16.0; tests/zig_module.rs
//! builds and runs it with both. Exit status 0 means every check passed; the
//! status names the first check that failed otherwise.
const jzx = @import("jzx");
const c = jzx.c;

const TAG_HELLO: u32 = 42;

const State = struct {
    got: u32 = 0,
    tag: u32 = 0,
    sender: c.jzx_actor_id = 99,
    nested: c_int = 0,
};

fn behavior(ctx_c: [*c]c.jzx_context, msg_c: [*c]const c.jzx_message) callconv(.c) c.jzx_behavior_result {
    const ctx: *c.jzx_context = ctx_c;
    const msg: *const c.jzx_message = msg_c;
    const state: *State = @ptrCast(@alignCast(ctx.state.?));
    var lp = jzx.Loop.fromContext(ctx);
    state.got += 1;
    state.tag = msg.tag;
    state.sender = msg.sender;
    // A nested run is refused with LoopClosed.
    if (lp.run()) |_| {
        state.nested = 1;
    } else |e| state.nested = jzx.code(e);
    // Not a system message: jzx.ioEvent gives null.
    if (jzx.ioEvent(msg) != null) state.nested = 2;
    return c.JZX_BEHAVIOR_STOP;
}

pub fn main() u8 {
    // The error set, both ways.
    const codes = [_]c_int{ -1, -2, -3, -4, -5, -7, -8, -9, -10, -11 };
    for (codes) |rc| {
        if (jzx.check(rc)) |_| return 10 else |e| if (jzx.code(e) != rc) return 11;
    }
    if (jzx.check(c.JZX_OK)) |_| {} else |_| return 12;
    if (jzx.check(-6)) |_| return 13 else |e| if (e != error.Unknown) return 14;

    var cfg: c.jzx_config = undefined;
    c.jzx_config_init(&cfg);
    var loop = jzx.Loop.create(cfg) catch return 20;
    defer loop.deinit();

    var state: State = .{};
    var opts = c.jzx_spawn_opts{
        .behavior = behavior,
        .state = &state,
        .supervisor = 0,
        .mailbox_cap = 0,
        .name = "smoke",
    };
    var id: c.jzx_actor_id = 0;
    jzx.check(c.jzx_spawn(loop.ptr, &opts, &id)) catch return 21;
    // The same name twice is refused.
    var dup: c.jzx_actor_id = 0;
    if (jzx.check(c.jzx_spawn(loop.ptr, &opts, &dup))) |_| return 22 else |e| if (e != error.InvalidArg) return 23;
    const other = loop.spawn(behavior, &state) catch return 24;
    if (other == id or other == 0) return 25;
    _ = c.jzx_actor_stop(loop.ptr, other);

    loop.send(id, null, 0, TAG_HELLO) catch return 30;
    if (loop.send(0, null, 0, TAG_HELLO)) |_| return 31 else |e| if (e != error.NoSuchActor) return 32;
    const timer = loop.sendAfter(id, 60_000, null, 0, TAG_HELLO) catch return 33;
    if (jzx.check(c.jzx_cancel_timer(loop.ptr, timer))) |_| {} else |_| return 34;
    if (loop.watchFd(0, id, 0)) |_| return 35 else |e| if (e != error.InvalidArg) return 36;
    if (loop.unwatchFd(0)) |_| return 37 else |e| if (e != error.IoNotWatched) return 38;
    loop.free(null);

    loop.run() catch return 40;
    if (state.got != 1) return 41;
    if (state.tag != TAG_HELLO) return 42;
    if (state.sender != 0) return 43;
    if (state.nested != c.JZX_ERR_LOOP_CLOSED) return 44;
    // The actor is gone: its id is stale.
    if (loop.send(id, null, 0, TAG_HELLO)) |_| return 45 else |e| if (e != error.NoSuchActor) return 46;

    // A stop requested before run makes run return at once.
    loop.requestStop();
    loop.run() catch return 50;
    return 0;
}
