//! Actor functions: spawn (with or without hooks), send (same thread and
//! any thread), stop, fail.

use super::jzx_loop;
use super::types::*;
use super::{actor_id, by_id, c_message, code, guard, put, state, status, with_core, CActor, CMsg};
use crate::{Addr, SpawnOptions};
use std::ffi::{c_char, c_void, CStr};

/// A C string as an owned name; NULL is no name.
pub(super) fn name_of(name: *const c_char) -> Option<String> {
    if name.is_null() {
        return None;
    }
    // SAFETY: a non-null name is a NUL-terminated string (C contract).
    Some(
        unsafe { CStr::from_ptr(name) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// Spawns a C actor.
#[no_mangle]
pub extern "C" fn jzx_spawn(
    lp: *mut jzx_loop,
    opts: *const jzx_spawn_opts,
    out: *mut jzx_actor_id,
) -> jzx_err {
    // SAFETY: a non-null opts points at a jzx_spawn_opts (C contract).
    match unsafe { opts.as_ref() } {
        Some(opts) => spawn(lp, opts, None, None, out),
        None => JZX_ERR_INVALID_ARG,
    }
}

/// Spawns a C actor with `on_start`/`on_stop` hooks (each may be NULL).
#[no_mangle]
pub extern "C" fn jzx_spawn_ex(
    lp: *mut jzx_loop,
    opts: *const jzx_spawn_opts_ex,
    out: *mut jzx_actor_id,
) -> jzx_err {
    // SAFETY: a non-null opts points at a jzx_spawn_opts_ex (C contract).
    match unsafe { opts.as_ref() } {
        Some(ex) => spawn(lp, &ex.base, ex.on_start, ex.on_stop, out),
        None => JZX_ERR_INVALID_ARG,
    }
}

/// `jzx_spawn` and `jzx_spawn_ex`.
fn spawn(
    lp: *mut jzx_loop,
    opts: &jzx_spawn_opts,
    on_start: jzx_start_fn,
    on_stop: jzx_stop_fn,
    out: *mut jzx_actor_id,
) -> jzx_err {
    let Some(behavior) = opts.behavior else {
        return JZX_ERR_INVALID_ARG;
    };
    let parent = match opts.supervisor {
        0 => None,
        raw => match actor_id(raw) {
            Ok(id) => Some(id),
            Err(e) => return e,
        },
    };
    let spawn = SpawnOptions {
        mailbox_cap: opts.mailbox_cap,
        name: name_of(opts.name),
        parent,
    };
    let actor = CActor::new(behavior, opts.state, lp).with_hooks(on_start, on_stop);
    guard(|| {
        with_core(lp, |core| match core.spawn_with(actor, spawn) {
            Ok(addr) => {
                put(out, addr.id().to_raw());
                JZX_OK
            }
            Err(e) => code(e),
        })
    })
}

/// Sends from the loop's thread; `sender` is the running actor (or 0).
#[no_mangle]
pub extern "C" fn jzx_send(
    lp: *mut jzx_loop,
    target: jzx_actor_id,
    data: *mut c_void,
    len: usize,
    tag: u32,
) -> jzx_err {
    let id = match actor_id(target) {
        Ok(id) => id,
        Err(e) => return e,
    };
    guard(|| {
        with_core(lp, |core| match c_message(core, id, data, len, tag) {
            Ok((addr, msg)) => status(core.send(addr, msg).map_err(|e| e.error)),
            Err(e) => e,
        })
    })
}

/// Sends from any thread; delivered between turns, FIFO per thread.
/// `MAILBOX_FULL` when the loop's cross-thread bound is reached (the loop
/// holds `Config::DEFAULT_CROSS_THREAD_CAP` messages not yet in a mailbox)
/// or the target has its share of them waiting (retry later; not reported
/// to `on_mailbox_full`, this is the sending thread), `LOOP_CLOSED` when the
/// loop is gone.
#[no_mangle]
pub extern "C" fn jzx_send_async(
    lp: *mut jzx_loop,
    target: jzx_actor_id,
    data: *mut c_void,
    len: usize,
    tag: u32,
) -> jzx_err {
    let Some(st) = state(lp) else {
        return JZX_ERR_INVALID_ARG;
    };
    let id = match actor_id(target) {
        Ok(id) => id,
        Err(e) => return e,
    };
    guard(|| {
        let msg = CMsg {
            data,
            len,
            tag,
            sender: 0,
        };
        status(
            st.handle
                .send(Addr::<CMsg>::new(id), msg)
                .map_err(|e| e.error),
        )
    })
}

/// Stops an actor normally at its next turn.
#[no_mangle]
pub extern "C" fn jzx_actor_stop(lp: *mut jzx_loop, id: jzx_actor_id) -> jzx_err {
    by_id(lp, id, |core, id| core.stop_actor(id))
}

/// Fails an actor at its next turn.
#[no_mangle]
pub extern "C" fn jzx_actor_fail(lp: *mut jzx_loop, id: jzx_actor_id) -> jzx_err {
    by_id(lp, id, |core, id| core.fail_actor(id))
}
