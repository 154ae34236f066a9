//! Timer functions.

use super::jzx_loop;
use super::types::*;
use super::{actor_id, c_message, guard, put, status, with_core};
use crate::TimerId;
use std::ffi::c_void;
use std::time::Duration;

/// Delivers a message to `target` after `ms` milliseconds.
#[no_mangle]
pub extern "C" fn jzx_send_after(
    lp: *mut jzx_loop,
    target: jzx_actor_id,
    ms: u32,
    data: *mut c_void,
    len: usize,
    tag: u32,
    out: *mut jzx_timer_id,
) -> jzx_err {
    let id = match actor_id(target) {
        Ok(id) => id,
        Err(e) => return e,
    };
    guard(|| {
        with_core(lp, |core| {
            let (addr, msg) = match c_message(core, id, data, len, tag) {
                Ok(target) => target,
                Err(e) => return e,
            };
            match core.send_after(addr, Duration::from_millis(u64::from(ms)), msg) {
                Ok(timer) => {
                    put(out, timer.to_raw());
                    JZX_OK
                }
                Err(e) => e.error.code(),
            }
        })
    })
}

/// Cancels a pending timer.
#[no_mangle]
pub extern "C" fn jzx_cancel_timer(lp: *mut jzx_loop, timer: jzx_timer_id) -> jzx_err {
    let Some(timer) = TimerId::from_raw(timer) else {
        return if lp.is_null() {
            JZX_ERR_INVALID_ARG
        } else {
            JZX_ERR_TIMER_INVALID
        };
    };
    guard(|| with_core(lp, |core| status(core.cancel_timer(timer))))
}
