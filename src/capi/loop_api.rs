//! Loop functions: config, create/destroy, run, stop, free, observer.

use super::jzx_loop;
use super::types::*;
use super::{code, destroy_now, enter, exit_reason, guard, state, with_core, CState};
use crate::{ActorId, Config, Loop, Observer, StopReason};
use std::cell::{Cell, RefCell, UnsafeCell};
use std::collections::HashMap;
use std::ffi::{c_char, c_void, CString};
use std::mem::ManuallyDrop;

unsafe extern "C" fn default_alloc(_ctx: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: malloc with any size is sound; it returns null or memory.
    unsafe { libc::malloc(size) }
}

unsafe extern "C" fn default_free(_ctx: *mut c_void, ptr: *mut c_void) {
    // SAFETY: `ptr` came from default_alloc (malloc).
    unsafe { libc::free(ptr) }
}

fn default_allocator() -> jzx_allocator {
    jzx_allocator {
        alloc: Some(default_alloc),
        free: Some(default_free),
        ctx: std::ptr::null_mut(),
    }
}

/// Writes the defaults (R4, R8, R19) into every field.
#[no_mangle]
pub extern "C" fn jzx_config_init(cfg: *mut jzx_config) {
    let d = Config::default();
    super::put(
        cfg,
        jzx_config {
            allocator: default_allocator(),
            max_actors: d.max_actors,
            default_mailbox_cap: d.default_mailbox_cap,
            max_msgs_per_actor: d.max_msgs_per_actor,
            max_actors_per_tick: d.max_actors_per_tick,
            max_io_watchers: d.max_io_watchers,
            io_poll_timeout_ms: d.io_poll_timeout_ms,
        },
    );
}

/// A new loop (NULL config: defaults); NULL on failure.
#[no_mangle]
pub extern "C" fn jzx_loop_create(cfg: *const jzx_config) -> *mut jzx_loop {
    let made = std::panic::catch_unwind(|| {
        // SAFETY: a non-null config points at a jzx_config (C contract).
        let c = unsafe { cfg.as_ref() }.copied();
        let mut config = Config::default();
        let mut allocator = default_allocator();
        if let Some(c) = c {
            config.max_actors = c.max_actors;
            config.default_mailbox_cap = c.default_mailbox_cap;
            config.max_msgs_per_actor = c.max_msgs_per_actor;
            config.max_actors_per_tick = c.max_actors_per_tick;
            config.max_io_watchers = c.max_io_watchers;
            config.io_poll_timeout_ms = c.io_poll_timeout_ms;
            if c.allocator.alloc.is_some() && c.allocator.free.is_some() {
                allocator = c.allocator;
            }
        }
        let lp = Loop::with_config(config.normalized()).ok()?;
        let handle = lp.handle();
        Some(Box::into_raw(Box::new(jzx_loop {
            lp: UnsafeCell::new(ManuallyDrop::new(lp)),
            st: CState {
                allocator,
                outstanding: RefCell::new(HashMap::new()),
                monitors: RefCell::new(HashMap::new()),
                current: Cell::new(std::ptr::null_mut()),
                busy: Cell::new(0),
                running: Cell::new(false),
                doomed: Cell::new(false),
                in_observer: Cell::new(false),
                handle,
            },
        })))
    });
    made.ok().flatten().unwrap_or(std::ptr::null_mut())
}

/// Destroys a loop: its actors, timers and watches, and every runtime-owned
/// payload not yet freed. Ignored while a run is on the stack (from a
/// behavior, or a hook or allocator callback during the run): the loop
/// stays valid until the program destroys it after the run. Called from a
/// hook or an allocator callback inside another call, it dooms the loop
/// instead: that outermost call destroys it as it returns.
#[no_mangle]
pub extern "C" fn jzx_loop_destroy(lp: *mut jzx_loop) {
    let Some(st) = state(lp) else { return };
    if st.running.get() {
        return;
    }
    if st.busy.get() > 0 {
        st.doomed.set(true);
        return;
    }
    destroy_now(lp);
}

/// Runs until stopped or idle. `LOOP_CLOSED` when the loop is busy (from
/// inside a behavior, an observer hook or an allocator callback).
#[no_mangle]
pub extern "C" fn jzx_loop_run(lp: *mut jzx_loop) -> i32 {
    let Some(st) = state(lp) else {
        return JZX_ERR_INVALID_ARG;
    };
    if st.busy.get() > 0 || st.doomed.get() {
        return JZX_ERR_LOOP_CLOSED;
    }
    st.running.set(true);
    let r = enter(lp, || {
        // SAFETY: the loop is alive and was not busy: this is the only
        // reference until run returns; behaviors reach the core through
        // CState::current, never through `lp`.
        match unsafe { (*(*lp).lp.get()).run() } {
            Ok(()) => JZX_OK,
            Err(e) => code(e),
        }
    });
    // Nothing can doom the loop while it runs, so it is still alive.
    st.running.set(false);
    r
}

/// Asks the loop to stop after its current turn; from any thread.
#[no_mangle]
pub extern "C" fn jzx_loop_request_stop(lp: *mut jzx_loop) {
    if let Some(st) = state(lp) {
        st.handle.request_stop();
    }
}

/// Releases a runtime-owned payload (unknown pointers are ignored). The
/// loop is busy meanwhile: an allocator whose `free` destroys it is safe.
#[no_mangle]
pub extern "C" fn jzx_loop_free(lp: *mut jzx_loop, ptr: *mut c_void) {
    if let Some(st) = state(lp) {
        let _ = enter(lp, || {
            st.free_payload(ptr);
            JZX_OK
        });
    }
}

/// A C observer table, copied, with its context.
struct CObserver {
    table: jzx_observer,
    ctx: *mut c_void,
    lp: *mut jzx_loop,
}

impl CObserver {
    /// Calls a C hook with calls back into the API refused meanwhile (the
    /// loop is busy, so a destroy from the hook is deferred and leaves it
    /// alive until the call that led here returns).
    fn call(&self, f: impl FnOnce()) {
        let st = state(self.lp);
        let outer = st.map(|st| st.in_observer.replace(true));
        f();
        if let (Some(st), Some(outer)) = (st, outer) {
            st.in_observer.set(outer);
        }
    }
}

impl Observer for CObserver {
    fn on_actor_start(&mut self, id: ActorId, name: Option<&str>) {
        if let Some(f) = self.table.on_actor_start {
            let name = name.and_then(|n| CString::new(n).ok());
            let ptr: *const c_char = name.as_ref().map_or(std::ptr::null(), |n| n.as_ptr());
            // SAFETY: the C caller's hook with the header's signature; `ptr`
            // lives across the call.
            self.call(|| unsafe { f(self.ctx, id.to_raw(), ptr) });
        }
    }
    fn on_actor_stop(&mut self, id: ActorId, reason: StopReason) {
        if let Some(f) = self.table.on_actor_stop {
            let reason = exit_reason(reason);
            // SAFETY: the C caller's hook with the header's signature.
            self.call(|| unsafe { f(self.ctx, id.to_raw(), reason) });
        }
    }
    fn on_actor_restart(&mut self, sup: ActorId, child: ActorId, attempt: u32) {
        if let Some(f) = self.table.on_actor_restart {
            // SAFETY: the C caller's hook with the header's signature.
            self.call(|| unsafe { f(self.ctx, sup.to_raw(), child.to_raw(), attempt) });
        }
    }
    fn on_supervisor_escalate(&mut self, sup: ActorId) {
        if let Some(f) = self.table.on_supervisor_escalate {
            // SAFETY: the C caller's hook with the header's signature.
            self.call(|| unsafe { f(self.ctx, sup.to_raw()) });
        }
    }
    fn on_mailbox_full(&mut self, target: ActorId) {
        if let Some(f) = self.table.on_mailbox_full {
            // SAFETY: the C caller's hook with the header's signature.
            self.call(|| unsafe { f(self.ctx, target.to_raw()) });
        }
    }
}

/// Installs a copy of `obs` (NULL removes the observer). Ignored for a NULL
/// loop, from inside an observer hook, from an allocator callback outside a
/// run, and once the loop is doomed.
#[no_mangle]
pub extern "C" fn jzx_loop_set_observer(
    lp: *mut jzx_loop,
    obs: *const jzx_observer,
    ctx: *mut c_void,
) {
    // SAFETY: a non-null table points at a jzx_observer (C contract).
    let table = unsafe { obs.as_ref() }.copied();
    let _ = guard(|| {
        with_core(lp, |core| {
            match table {
                Some(table) => core.set_observer(CObserver { table, ctx, lp }),
                None => core.clear_observer(),
            }
            JZX_OK
        })
    });
}
