//! Monitors from C: `jzx_monitor` and `jzx_demonitor`.
//!
//! A C monitor handle is the monitor's number (a [`MonitorRef`]'s, unique in
//! its loop and never reused, so never 0): the loop's C state maps it back
//! to the monitor (`CState::monitors`) while its `Down` has not reached C.
//!
//! [`MonitorRef`]: crate::MonitorRef

use super::jzx_loop;
use super::types::*;
use super::{actor_id, code, guard, put, state, with_core, CMsg};

/// `watcher` (a live C actor) monitors `target`.
#[no_mangle]
pub extern "C" fn jzx_monitor(
    lp: *mut jzx_loop,
    watcher: jzx_actor_id,
    target: jzx_actor_id,
    out: *mut jzx_monitor_id,
) -> jzx_err {
    let (watcher, target) = match (actor_id(watcher), actor_id(target)) {
        (Ok(w), Ok(t)) => (w, t),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    guard(|| {
        with_core(lp, |core| {
            if core.addr_of::<CMsg>(watcher).is_none() {
                // Alive but not a C actor (a supervisor): it could not
                // receive the Down.
                return if core.is_alive(watcher) {
                    JZX_ERR_INVALID_ARG
                } else {
                    JZX_ERR_NO_SUCH_ACTOR
                };
            }
            match core.monitor(watcher, target) {
                Ok(mref) => {
                    if let Some(st) = state(lp) {
                        st.monitors.borrow_mut().insert(mref.n, mref);
                    }
                    put(out, mref.n);
                    JZX_OK
                }
                Err(e) => code(e),
            }
        })
    })
}

/// Removes a monitor: no `Down` of it is delivered afterwards.
/// `INVALID_ARG` for a handle that is not a monitor whose `Down` is still
/// to come (0, unknown, removed, delivered, or its watcher ended).
#[no_mangle]
pub extern "C" fn jzx_demonitor(lp: *mut jzx_loop, monitor: jzx_monitor_id) -> jzx_err {
    guard(|| {
        with_core(lp, |core| {
            let Some(st) = state(lp) else {
                return JZX_ERR_INVALID_ARG;
            };
            let removed = st.monitors.borrow_mut().remove(&monitor);
            match removed {
                Some(mref) => {
                    core.demonitor(mref);
                    JZX_OK
                }
                None => JZX_ERR_INVALID_ARG,
            }
        })
    })
}
