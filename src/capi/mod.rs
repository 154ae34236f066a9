//! The C ABI (`include/jzx/jzx.h`): a thin layer over the Rust API.
//!
//! A `jzx_loop*` is a boxed [`jzx_loop`] holding a [`Loop`]. C actors are
//! ordinary actors of that loop ([`CActor`], whose messages are [`CMsg`]);
//! C supervisors are the Rust supervisors with C children. Nothing here is a
//! second runtime.
//!
//! Re-entrancy. While a C behavior runs, the loop is inside `Loop::run`, so
//! no `&mut Loop` may be made from the `jzx_loop*` the behavior passes back.
//! [`CActor`] stores the running behavior's (or `on_start`/`on_stop`
//! hook's) `&mut Core` as a raw pointer in [`CState::current`] for the
//! duration of the C call, and every function
//! reached from C uses that pointer then (and only then): it is the same
//! exclusive borrow, handed down through C and back. Observer callbacks run
//! in the middle of a runtime operation: calls made from them fail with
//! `JZX_ERR_LOOP_CLOSED`.
//!
//! Every call that enters the loop (a run, or an operation on the idle loop)
//! marks it busy until it returns ([`enter`]). Meanwhile `jzx_loop_run`
//! fails with `JZX_ERR_LOOP_CLOSED`. `jzx_loop_destroy` made meanwhile is
//! ignored while a run is on the stack (the program's `run(); destroy();`
//! and its other threads keep a valid loop until it destroys it), and
//! otherwise (a hook or an allocator callback during spawn, send, free...)
//! only marks the loop doomed: the outermost call destroys it as it returns,
//! and until then further calls on it fail with `JZX_ERR_LOOP_CLOSED`.
//!
//! Every exported function checks its pointers, catches panics at the
//! boundary and returns a `jzx_err` (or a neutral value for `void`
//! functions): misuse never crashes the process (SPEC §5).

#![allow(non_camel_case_types)]

mod actor_api;
mod io_api;
mod loop_api;
mod monitor_api;
mod supervisor_api;
mod timer_api;
pub(crate) mod types;
mod undelivered;

use crate::core::Core;
use crate::{
    Actor, ActorId, ChildExit, Context, Down, DownReason, Error, Flow, IoEvent, Loop, LoopHandle,
    MonitorRef, StopReason,
};
use std::cell::{Cell, RefCell, UnsafeCell};
use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use types::*;

/// The loop behind a `jzx_loop*`.
pub struct jzx_loop {
    /// Dropped in place by [`destroy_now`], before the payloads are freed.
    lp: UnsafeCell<ManuallyDrop<Loop>>,
    st: CState,
}

/// The C side's bookkeeping for one loop.
struct CState {
    allocator: jzx_allocator,
    /// Runtime-owned payloads handed to C and not yet freed: the aligned
    /// address C sees → the allocator's own pointer.
    outstanding: RefCell<HashMap<usize, usize>>,
    /// Monitors set from C whose `Down` C has not received yet: the handle
    /// C holds (the monitor's number, unique in the loop) → the monitor.
    /// An entry goes when its `Down` is handed to C, at `jzx_demonitor`, or
    /// when its watcher ends (`CActor::forget_monitors`).
    monitors: RefCell<HashMap<jzx_monitor_id, MonitorRef>>,
    /// The running behavior's core (see the module doc); null otherwise.
    current: Cell<*mut Core>,
    /// How many calls into the loop are on the stack (see [`enter`]).
    busy: Cell<u32>,
    /// A `jzx_loop_run` is on the stack (`jzx_loop_destroy` is ignored).
    running: Cell<bool>,
    /// `jzx_loop_destroy` was called while busy: destroy on the way out.
    doomed: Cell<bool>,
    in_observer: Cell<bool>,
    handle: LoopHandle,
}

/// A C message: the runtime never reads, copies or frees `data`.
#[derive(Clone, Copy)]
pub(crate) struct CMsg {
    data: *mut c_void,
    len: usize,
    tag: u32,
    sender: u64,
}

// SAFETY: a CMsg only carries the C caller's pointer and integers; the
// runtime never dereferences `data`, and jzx_send_async's contract makes the
// payload's cross-thread use the caller's business.
unsafe impl Send for CMsg {}

/// The error code of a Rust error.
fn code(e: Error) -> jzx_err {
    e.code()
}

/// Runs an exported function's body, turning a panic into `JZX_ERR_UNKNOWN`.
fn guard(f: impl FnOnce() -> jzx_err) -> jzx_err {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(JZX_ERR_UNKNOWN)
}

/// The state of a non-null loop pointer.
fn state<'a>(lp: *mut jzx_loop) -> Option<&'a CState> {
    // SAFETY: a non-null jzx_loop* comes from jzx_loop_create and is alive
    // until jzx_loop_destroy (the C contract); `st` is only read here, and
    // its mutable parts are Cells.
    unsafe { lp.as_ref().map(|l| &l.st) }
}

/// Runs `f` on the loop's core: the running behavior's when called from one,
/// else the idle loop's (marked busy meanwhile). `LOOP_CLOSED` from an
/// observer callback, once the loop is doomed, or while the loop is busy
/// without a behavior on the stack.
fn with_core(lp: *mut jzx_loop, f: impl FnOnce(&mut Core) -> jzx_err) -> jzx_err {
    let Some(st) = state(lp) else {
        return JZX_ERR_INVALID_ARG;
    };
    if st.in_observer.get() || st.doomed.get() {
        return JZX_ERR_LOOP_CLOSED;
    }
    let current = st.current.get();
    if !current.is_null() {
        // SAFETY: `current` is the running behavior's exclusive borrow of the
        // core, parked by CActor::enter_c for exactly the duration of the C
        // call that led here; nothing else uses it meanwhile.
        return f(unsafe { &mut *current });
    }
    if st.busy.get() > 0 {
        return JZX_ERR_LOOP_CLOSED;
    }
    enter(lp, || {
        // SAFETY: the loop is alive and was not busy, so no other reference
        // to its core exists (C calls the API from one thread, the C
        // contract); behaviors and hooks reached from `f` find it busy.
        f(unsafe { &mut *(*lp).lp.get() })
    })
}

/// Runs `f` (a call into the live loop `lp`) with the loop marked busy,
/// turning a panic into `JZX_ERR_UNKNOWN`. When it was the outermost call
/// and the loop was doomed meanwhile, destroys the loop before returning.
fn enter(lp: *mut jzx_loop, f: impl FnOnce() -> jzx_err) -> jzx_err {
    let Some(st) = state(lp) else {
        return JZX_ERR_INVALID_ARG;
    };
    let depth = st.busy.get();
    st.busy.set(depth + 1);
    let r = guard(f);
    // The loop is still alive: only the outermost call (this one, when
    // `depth` is 0) destroys it, and `st` is not used after that.
    st.busy.set(depth);
    if depth == 0 && st.doomed.get() {
        destroy_now(lp);
    }
    r
}

/// Frees the loop: its actors, timers and watches, then every payload
/// still outstanding, then the box. Calls reached meanwhile (from hooks or
/// the allocator's `free`) find it busy and doomed, and only ever make
/// shared references to its state: no `&mut` to the box exists until no
/// callback can run.
fn destroy_now(lp: *mut jzx_loop) {
    let Some(st) = state(lp) else { return };
    st.busy.set(st.busy.get() + 1);
    st.doomed.set(true);
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the loop is alive and no call is on the stack (destroy
        // is refused or deferred while one is), so this is the only
        // reference to the Loop; it is dropped once, here, and never used
        // again (every later call finds the loop doomed).
        unsafe { ManuallyDrop::drop(&mut *(*lp).lp.get()) };
    }));
    let _ = catch_unwind(AssertUnwindSafe(|| st.free_all()));
    // SAFETY: `lp` came from Box::into_raw in jzx_loop_create; the Loop is
    // dropped and the payloads freed, so no callback can run any more and
    // `st` is not used after this: the box's memory goes.
    drop(unsafe { Box::from_raw(lp) });
}

impl CState {
    /// Allocates a runtime-owned payload holding `value` with the loop's
    /// allocator; `value` comes back when the allocator returns null. The
    /// allocator's blocks need not be aligned: it is asked for `align - 1`
    /// more bytes, and C gets the first address aligned for `T`.
    fn alloc_payload<T: Copy>(&self, value: T) -> Result<*mut c_void, T> {
        let Some(alloc) = self.allocator.alloc else {
            return Err(value);
        };
        let align = std::mem::align_of::<T>();
        let size = std::mem::size_of::<T>() + align - 1;
        // SAFETY: the allocator is the C caller's (or malloc); it returns
        // at least `size` bytes, or null. Alignment is not assumed.
        let raw = unsafe { alloc(self.allocator.ctx, size) };
        if raw.is_null() {
            return Err(value);
        }
        let p = raw
            .cast::<u8>()
            .wrapping_add(raw.cast::<u8>().align_offset(align));
        // SAFETY: `raw` is fresh and holds `size` bytes; `p` is within its
        // first `align - 1` bytes and aligned for T, so T fits from `p`.
        unsafe { p.cast::<T>().write(value) };
        self.outstanding
            .borrow_mut()
            .insert(p as usize, raw as usize);
        Ok(p.cast())
    }

    /// Returns a runtime-owned payload (by the address C got) to the
    /// allocator; others are ignored (a double free or a foreign pointer
    /// must not crash).
    fn free_payload(&self, ptr: *mut c_void) {
        let raw = self.outstanding.borrow_mut().remove(&(ptr as usize));
        if let Some(raw) = raw {
            self.give_back(raw);
        }
    }

    /// Returns every outstanding payload to the allocator. Its `free` may
    /// call back (`jzx_loop_free` finds the rest already taken).
    fn free_all(&self) {
        let all: Vec<usize> = self
            .outstanding
            .borrow_mut()
            .drain()
            .map(|(_, raw)| raw)
            .collect();
        for raw in all {
            self.give_back(raw);
        }
    }

    /// Calls the allocator's `free` on a pointer its `alloc` returned.
    fn give_back(&self, raw: usize) {
        if let Some(free) = self.allocator.free {
            // SAFETY: `raw` came from this allocator and was outstanding
            // until its entry was removed just now.
            unsafe { free(self.allocator.ctx, raw as *mut c_void) };
        }
    }
}

/// An actor whose behavior is a C function.
pub(crate) struct CActor {
    behavior: unsafe extern "C" fn(*mut jzx_context, *const jzx_message) -> c_int,
    state: *mut c_void,
    lp: *mut jzx_loop,
    /// The hooks of `jzx_spawn_opts_ex` (none for other C actors).
    on_start: jzx_start_fn,
    on_stop: jzx_stop_fn,
    /// System messages waiting for the allocator (`undelivered.rs`).
    undelivered: Option<Box<undelivered::Undelivered>>,
    /// The generation of the latest retry timer (`undelivered.rs`).
    retry_gen: usize,
}

impl CActor {
    /// Runs `f`, a call of this actor's C code (behavior or hook), with
    /// the actor's `jzx_context`, and the running core parked in
    /// [`CState::current`] meanwhile so that C can call back into the loop
    /// (see the module doc); keeps the state C leaves in the context.
    /// `None` without a loop.
    fn enter_c<R>(
        &mut self,
        cx: &mut Context<'_, Self>,
        f: impl FnOnce(*mut jzx_context) -> R,
    ) -> Option<R> {
        let st = state(self.lp)?;
        let mut ctx = jzx_context {
            state: self.state,
            self_: cx.id().to_raw(),
            loop_: self.lp,
        };
        let core: *mut Core = cx.core_mut();
        let outer = st.current.replace(core);
        let result = f(&mut ctx);
        st.current.set(outer);
        self.state = ctx.state;
        Some(result)
    }

    fn call(
        &mut self,
        cx: &mut Context<'_, Self>,
        data: *mut c_void,
        len: usize,
        tag: u32,
        sender: u64,
    ) -> Flow {
        let msg = jzx_message {
            data,
            len,
            tag,
            sender,
        };
        let behavior = self.behavior;
        // SAFETY: the behavior is the C caller's function with the header's
        // signature; ctx and msg live across the call.
        match self.enter_c(cx, |ctx| unsafe { behavior(ctx, &msg) }) {
            Some(JZX_BEHAVIOR_OK) => Flow::Continue,
            Some(JZX_BEHAVIOR_STOP) => Flow::Stop,
            _ => Flow::Fail,
        }
    }

    /// Delivers a system message whose payload the receiver frees; the
    /// payload comes back when the allocator refuses.
    fn call_sys<T: Copy>(
        &mut self,
        cx: &mut Context<'_, Self>,
        tag: u32,
        payload: T,
    ) -> Result<Flow, T> {
        let Some(st) = state(self.lp) else {
            return Ok(Flow::Fail);
        };
        let p = st.alloc_payload(payload)?;
        Ok(self.call(cx, p, std::mem::size_of::<T>(), tag, 0))
    }

    /// Delivers a `Down` as `JZX_TAG_SYS_DOWN`, unless its monitor was
    /// removed meanwhile (`jzx_demonitor` while the allocator refused it):
    /// then it is dropped. The monitor's handle is forgotten as C gets it.
    fn call_down(&mut self, cx: &mut Context<'_, Self>, down: jzx_down) -> Result<Flow, jzx_down> {
        let Some(st) = state(self.lp) else {
            return Ok(Flow::Fail);
        };
        if !st.monitors.borrow().contains_key(&down.monitor) {
            return Ok(Flow::Continue);
        }
        let p = st.alloc_payload(down)?;
        st.monitors.borrow_mut().remove(&down.monitor);
        Ok(self.call(cx, p, std::mem::size_of::<jzx_down>(), JZX_TAG_SYS_DOWN, 0))
    }

    /// Forgets the handles of the monitors this actor holds: it is being
    /// torn down, so their `Down`s will never reach it (those queued in the
    /// core and those waiting for the allocator).
    fn forget_monitors(&mut self, cx: &mut Context<'_, Self>) {
        let Some(st) = state(self.lp) else { return };
        if st.monitors.borrow().is_empty() {
            return;
        }
        let held = cx.monitors_held(cx.id());
        let waiting = self
            .undelivered
            .as_ref()
            .map(|u| u.downs())
            .unwrap_or_default();
        let mut monitors = st.monitors.borrow_mut();
        for n in held.into_iter().chain(waiting) {
            monitors.remove(&n);
        }
    }

    /// A new C actor.
    fn new(
        behavior: unsafe extern "C" fn(*mut jzx_context, *const jzx_message) -> c_int,
        state: *mut c_void,
        lp: *mut jzx_loop,
    ) -> Self {
        CActor {
            behavior,
            state,
            lp,
            on_start: None,
            on_stop: None,
            undelivered: None,
            retry_gen: 0,
        }
    }

    /// The same actor with `jzx_spawn_opts_ex`'s hooks.
    fn with_hooks(self, on_start: jzx_start_fn, on_stop: jzx_stop_fn) -> Self {
        CActor {
            on_start,
            on_stop,
            ..self
        }
    }

    /// Whether the actor was stopped or failed (by itself from C, or by
    /// another) during this turn: it must not be called again (R12).
    fn killed(cx: &mut Context<'_, Self>) -> bool {
        let slot = cx.id().slot();
        cx.core_mut().pending_kill(slot).is_some()
    }
}

impl Actor for CActor {
    type Msg = CMsg;

    fn handle(&mut self, cx: &mut Context<'_, Self>, m: CMsg) -> Flow {
        if m.is_retry() {
            return self.retry_pending(cx, m);
        }
        match self.deliver_pending(cx) {
            Flow::Continue if !Self::killed(cx) => self.call(cx, m.data, m.len, m.tag, m.sender),
            end => end,
        }
    }

    fn on_io(&mut self, cx: &mut Context<'_, Self>, event: IoEvent) -> Flow {
        let payload = jzx_io_event {
            fd: event.fd,
            readiness: event.readiness.bits(),
        };
        match self.deliver_pending(cx) {
            // A refused I/O event is not kept: level-triggered readiness is
            // reported again after the turn while it holds (R16).
            Flow::Continue if !Self::killed(cx) => self
                .call_sys(cx, JZX_TAG_SYS_IO, payload)
                .unwrap_or(Flow::Continue),
            end => end,
        }
    }

    fn on_child_exit(&mut self, cx: &mut Context<'_, Self>, exit: ChildExit) -> Flow {
        let status = match exit.reason {
            StopReason::Normal => JZX_ACTOR_STOPPED,
            StopReason::Fail | StopReason::Panic => JZX_ACTOR_FAILED,
        };
        let payload = jzx_child_exit {
            child: exit.child.to_raw(),
            status,
        };
        self.sys_message(cx, undelivered::Pending::ChildExit(payload))
    }

    fn on_down(&mut self, cx: &mut Context<'_, Self>, down: Down) -> Flow {
        let reason = match down.reason {
            DownReason::Exited(reason) => exit_reason(reason) as u32,
            DownReason::NoSuchActor => JZX_DOWN_NO_SUCH_ACTOR,
        };
        let payload = jzx_down {
            id: down.id.to_raw(),
            monitor: down.monitor.n,
            reason,
        };
        self.sys_message(cx, undelivered::Pending::Down(payload))
    }

    fn on_start(&mut self, cx: &mut Context<'_, Self>) {
        if let Some(hook) = self.on_start {
            // SAFETY: the C caller's hook with the header's signature; the
            // context lives across the call.
            self.enter_c(cx, |ctx| unsafe { hook(ctx) });
        }
    }

    fn on_stop(&mut self, cx: &mut Context<'_, Self>, reason: StopReason) {
        if let Some(hook) = self.on_stop {
            let reason = exit_reason(reason);
            // SAFETY: as for on_start.
            self.enter_c(cx, |ctx| unsafe { hook(ctx, reason) });
        }
        // After the hook: a monitor it set is forgotten too.
        self.forget_monitors(cx);
    }
}

/// The `jzx_exit_reason` of a stop reason.
fn exit_reason(reason: StopReason) -> std::ffi::c_int {
    match reason {
        StopReason::Normal => JZX_EXIT_NORMAL,
        StopReason::Fail => JZX_EXIT_FAIL,
        StopReason::Panic => JZX_EXIT_PANIC,
    }
}

/// The id of a raw C id, `NO_SUCH_ACTOR` for 0.
fn actor_id(raw: jzx_actor_id) -> Result<ActorId, jzx_err> {
    ActorId::from_raw(raw).ok_or(JZX_ERR_NO_SUCH_ACTOR)
}

/// Writes `value` through an optional out pointer.
fn put<T>(out: *mut T, value: T) {
    // SAFETY: a non-null out pointer points at writable storage for T (the
    // C contract); null means "not wanted".
    if let Some(out) = unsafe { out.as_mut() } {
        *out = value;
    }
}

/// `Ok` → `JZX_OK`, errors → their code.
fn status(r: Result<(), Error>) -> jzx_err {
    match r {
        Ok(()) => JZX_OK,
        Err(e) => code(e),
    }
}

/// A C message for `target` from the running actor (sender 0 outside a
/// behavior) with the target's typed address; `NO_SUCH_ACTOR` when the
/// target is not a live C actor.
fn c_message(
    core: &Core,
    target: ActorId,
    data: *mut c_void,
    len: usize,
    tag: u32,
) -> Result<(crate::Addr<CMsg>, CMsg), jzx_err> {
    let sender = core.current_actor().map_or(0, |a| a.to_raw());
    let addr = core.addr_of::<CMsg>(target).ok_or(JZX_ERR_NO_SUCH_ACTOR)?;
    Ok((
        addr,
        CMsg {
            data,
            len,
            tag,
            sender,
        },
    ))
}

/// Runs an id-based call (stop, fail) on a raw C id.
fn by_id(
    lp: *mut jzx_loop,
    raw: jzx_actor_id,
    f: impl FnOnce(&mut Core, ActorId) -> Result<(), Error>,
) -> jzx_err {
    match actor_id(raw) {
        Ok(id) => guard(|| with_core(lp, |core| status(f(core, id)))),
        Err(e) => e,
    }
}
