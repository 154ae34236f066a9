//! The C ABI (`include/jzx/jzx.h`): a thin layer over the Rust API.
//!
//! A `jzx_loop*` is a boxed [`jzx_loop`] holding a [`Loop`]. C actors are
//! ordinary actors of that loop ([`CActor`], whose messages are [`CMsg`]);
//! C supervisors are the Rust supervisors with C children. Nothing here is a
//! second runtime.
//!
//! Re-entrancy. While a C behavior runs, the loop is inside `Loop::run`, so
//! no `&mut Loop` may be made from the `jzx_loop*` the behavior passes back.
//! [`CActor`] stores the running behavior's `&mut Core` as a raw pointer in
//! [`CState::current`] for the duration of the C call, and every function
//! reached from C uses that pointer then (and only then): it is the same
//! exclusive borrow, handed down through C and back. Observer callbacks run
//! in the middle of a runtime operation: calls made from them fail with
//! `JZX_ERR_LOOP_CLOSED`.
//!
//! Every call that enters the loop (a run, or an operation on the idle loop)
//! marks it busy until it returns ([`enter`]). Meanwhile `jzx_loop_run`
//! fails with `JZX_ERR_LOOP_CLOSED`, and `jzx_loop_destroy` — from a hook, a
//! behavior or an allocator callback — only marks the loop doomed: the
//! outermost call destroys it as it returns, and until then further calls on
//! it fail with `JZX_ERR_LOOP_CLOSED` (a run stops after its current turn).
//!
//! Every exported function checks its pointers, catches panics at the
//! boundary and returns a `jzx_err` (or a neutral value for `void`
//! functions): misuse never crashes the process (SPEC §5).

#![allow(non_camel_case_types)]

mod actor_api;
mod io_api;
mod loop_api;
mod supervisor_api;
mod timer_api;
pub(crate) mod types;
mod undelivered;

use crate::core::Core;
use crate::{
    Actor, ActorId, ChildExit, Context, Error, Flow, IoEvent, Loop, LoopHandle, StopReason,
};
use std::cell::{Cell, RefCell, UnsafeCell};
use std::collections::HashSet;
use std::ffi::{c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use types::*;

/// The loop behind a `jzx_loop*`.
pub struct jzx_loop {
    lp: UnsafeCell<Loop>,
    st: CState,
}

/// The C side's bookkeeping for one loop.
struct CState {
    allocator: jzx_allocator,
    /// Runtime-owned payloads handed to C and not yet freed.
    outstanding: RefCell<HashSet<usize>>,
    /// The running behavior's core (see the module doc); null otherwise.
    current: Cell<*mut Core>,
    /// How many calls into the loop are on the stack (see [`enter`]).
    busy: Cell<u32>,
    /// `jzx_loop_destroy` was called while busy: destroy on the way out.
    doomed: Cell<bool>,
    in_observer: Cell<bool>,
    handle: LoopHandle,
}

impl Drop for CState {
    /// The loop (dropped first, as the first field of [`jzx_loop`]) is
    /// gone: every payload still outstanding goes back to the allocator.
    fn drop(&mut self) {
        self.free_all();
    }
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
        // core, parked by CActor::call for exactly the duration of the C call
        // that led here; nothing else uses it meanwhile.
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
/// still outstanding. Calls reached meanwhile find it busy and doomed.
fn destroy_now(lp: *mut jzx_loop) {
    if let Some(st) = state(lp) {
        st.busy.set(st.busy.get() + 1);
        st.doomed.set(true);
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `lp` came from jzx_loop_create and is not busy (this is
        // its owner's last use, the C contract): dropping the box drops the
        // Loop, then the CState (which frees the payloads), then the memory.
        drop(unsafe { Box::from_raw(lp) });
    }));
}

impl CState {
    /// Allocates a runtime-owned payload holding `value` with the loop's
    /// allocator; `value` comes back when the allocator returns null.
    fn alloc_payload<T: Copy>(&self, value: T) -> Result<*mut c_void, T> {
        let Some(alloc) = self.allocator.alloc else {
            return Err(value);
        };
        // SAFETY: the allocator is the C caller's (or malloc); it returns
        // at least `size` bytes, or null. Alignment is not assumed.
        let p = unsafe { alloc(self.allocator.ctx, std::mem::size_of::<T>()) };
        if p.is_null() {
            return Err(value);
        }
        // SAFETY: `p` is fresh and large enough for T; a user allocator may
        // return under-aligned blocks, hence the unaligned write.
        unsafe { p.cast::<T>().write_unaligned(value) };
        self.outstanding.borrow_mut().insert(p as usize);
        Ok(p)
    }

    /// Returns a runtime-owned payload to the allocator; others are ignored
    /// (a double free or a foreign pointer must not crash).
    fn free_payload(&self, ptr: *mut c_void) {
        if ptr.is_null() || !self.outstanding.borrow_mut().remove(&(ptr as usize)) {
            return;
        }
        if let Some(free) = self.allocator.free {
            // SAFETY: `ptr` came from this allocator and was outstanding.
            unsafe { free(self.allocator.ctx, ptr) };
        }
    }

    fn free_all(&self) {
        let all: Vec<usize> = self.outstanding.borrow_mut().drain().collect();
        if let Some(free) = self.allocator.free {
            for p in all {
                // SAFETY: every outstanding pointer came from this allocator.
                unsafe { free(self.allocator.ctx, p as *mut c_void) };
            }
        }
    }
}

/// An actor whose behavior is a C function.
pub(crate) struct CActor {
    behavior: unsafe extern "C" fn(*mut jzx_context, *const jzx_message) -> c_int,
    state: *mut c_void,
    lp: *mut jzx_loop,
    /// Child exits waiting for the allocator (`undelivered.rs`).
    undelivered: Option<Box<undelivered::Undelivered>>,
}

impl CActor {
    fn call(
        &mut self,
        cx: &mut Context<'_, Self>,
        data: *mut c_void,
        len: usize,
        tag: u32,
        sender: u64,
    ) -> Flow {
        let Some(st) = state(self.lp) else {
            return Flow::Fail;
        };
        let mut ctx = jzx_context {
            state: self.state,
            self_: cx.id().to_raw(),
            loop_: self.lp,
        };
        let msg = jzx_message {
            data,
            len,
            tag,
            sender,
        };
        let core: *mut Core = cx.core_mut();
        let outer = st.current.replace(core);
        // SAFETY: the behavior is the C caller's function with the header's
        // signature; ctx and msg live across the call.
        let result = unsafe { (self.behavior)(&mut ctx, &msg) };
        st.current.set(outer);
        self.state = ctx.state;
        match result {
            JZX_BEHAVIOR_OK => Flow::Continue,
            JZX_BEHAVIOR_STOP => Flow::Stop,
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
            undelivered: None,
        }
    }
}

impl Actor for CActor {
    type Msg = CMsg;

    fn handle(&mut self, cx: &mut Context<'_, Self>, m: CMsg) -> Flow {
        if m.is_retry() {
            return self.retry_child_exits(cx);
        }
        match self.deliver_child_exits(cx) {
            Flow::Continue => self.call(cx, m.data, m.len, m.tag, m.sender),
            end => end,
        }
    }

    fn on_io(&mut self, cx: &mut Context<'_, Self>, event: IoEvent) -> Flow {
        let payload = jzx_io_event {
            fd: event.fd,
            readiness: event.readiness.bits(),
        };
        match self.deliver_child_exits(cx) {
            // A refused I/O event is not kept: level-triggered readiness is
            // reported again after the turn while it holds (R16).
            Flow::Continue => self
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
        self.child_exit(cx, payload)
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
