//! fd watch functions.

use super::jzx_loop;
use super::types::*;
use super::{actor_id, guard, status, with_core};
use crate::Interest;
use std::ffi::c_int;

/// Watches `fd` for `interest` on behalf of `owner`.
#[no_mangle]
pub extern "C" fn jzx_watch_fd(
    lp: *mut jzx_loop,
    fd: c_int,
    owner: jzx_actor_id,
    interest: u32,
) -> jzx_err {
    if lp.is_null() || fd < 0 {
        return JZX_ERR_INVALID_ARG;
    }
    let Some(interest) = Interest::from_bits(interest) else {
        return JZX_ERR_INVALID_ARG;
    };
    let owner = match actor_id(owner) {
        Ok(id) => id,
        Err(e) => return e,
    };
    guard(|| with_core(lp, |core| status(core.watch_fd(fd, owner, interest))))
}

/// Stops watching `fd`.
#[no_mangle]
pub extern "C" fn jzx_unwatch_fd(lp: *mut jzx_loop, fd: c_int) -> jzx_err {
    guard(|| with_core(lp, |core| status(core.unwatch_fd(fd))))
}
