//! `#[repr(C)]` mirrors of the types of `include/jzx/jzx.h`, in its order.
//! Their sizes and offsets are pinned by the tests at the bottom.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_int, c_void};

pub type jzx_actor_id = u64;
pub type jzx_timer_id = u64;
pub type jzx_err = c_int;

pub const JZX_OK: jzx_err = 0;
pub const JZX_ERR_UNKNOWN: jzx_err = -1;
pub const JZX_ERR_INVALID_ARG: jzx_err = -3;
pub const JZX_ERR_LOOP_CLOSED: jzx_err = -4;
pub const JZX_ERR_NO_SUCH_ACTOR: jzx_err = -5;
pub const JZX_ERR_TIMER_INVALID: jzx_err = -8;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct jzx_allocator {
    pub alloc: Option<unsafe extern "C" fn(ctx: *mut c_void, size: usize) -> *mut c_void>,
    pub free: Option<unsafe extern "C" fn(ctx: *mut c_void, ptr: *mut c_void)>,
    pub ctx: *mut c_void,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct jzx_config {
    pub allocator: jzx_allocator,
    pub max_actors: u32,
    pub default_mailbox_cap: u32,
    pub max_msgs_per_actor: u32,
    pub max_actors_per_tick: u32,
    pub max_io_watchers: u32,
    pub io_poll_timeout_ms: u32,
}

#[repr(C)]
pub struct jzx_message {
    pub data: *mut c_void,
    pub len: usize,
    pub tag: u32,
    pub sender: jzx_actor_id,
}

#[repr(C)]
pub struct jzx_context {
    pub state: *mut c_void,
    pub self_: jzx_actor_id,
    pub loop_: *mut super::jzx_loop,
}

pub const JZX_BEHAVIOR_OK: c_int = 0;
pub const JZX_BEHAVIOR_STOP: c_int = 1;

pub type jzx_behavior_fn =
    Option<unsafe extern "C" fn(ctx: *mut jzx_context, msg: *const jzx_message) -> c_int>;

pub const JZX_ACTOR_STOPPED: c_int = 3;
pub const JZX_ACTOR_FAILED: c_int = 4;

pub const JZX_EXIT_NORMAL: c_int = 0;
pub const JZX_EXIT_FAIL: c_int = 1;
pub const JZX_EXIT_PANIC: c_int = 2;

#[repr(C)]
pub struct jzx_spawn_opts {
    pub behavior: jzx_behavior_fn,
    pub state: *mut c_void,
    pub supervisor: jzx_actor_id,
    pub mailbox_cap: u32,
    pub name: *const c_char,
}

pub const JZX_TAG_SYS_IO: u32 = 0xFFFF_0001;
pub const JZX_TAG_SYS_CHILD_EXIT: u32 = 0xFFFF_0002;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct jzx_io_event {
    pub fd: c_int,
    pub readiness: u32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct jzx_child_exit {
    pub child: jzx_actor_id,
    pub status: c_int,
}

/// Sent by the original runtime's supervisors to themselves; jzx's
/// supervisors keep their restarts internal. Kept for the layout test.
#[repr(C)]
#[allow(dead_code)]
pub struct jzx_child_restart {
    pub child_index: u32,
}

pub const JZX_CHILD_PERMANENT: c_int = 0;
pub const JZX_CHILD_TRANSIENT: c_int = 1;
pub const JZX_CHILD_TEMPORARY: c_int = 2;

pub const JZX_SUP_ONE_FOR_ONE: c_int = 0;
pub const JZX_SUP_ONE_FOR_ALL: c_int = 1;
pub const JZX_SUP_REST_FOR_ONE: c_int = 2;

pub const JZX_BACKOFF_NONE: c_int = 0;
pub const JZX_BACKOFF_CONSTANT: c_int = 1;
pub const JZX_BACKOFF_EXPONENTIAL: c_int = 2;

#[repr(C)]
pub struct jzx_child_spec {
    pub behavior: jzx_behavior_fn,
    pub state: *mut c_void,
    pub mode: c_int,
    pub mailbox_cap: u32,
    pub restart_delay_ms: u32,
    pub backoff: c_int,
    pub name: *const c_char,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct jzx_supervisor_spec {
    pub strategy: c_int,
    pub intensity: u32,
    pub period_ms: u32,
    pub backoff: c_int,
    pub backoff_delay_ms: u32,
}

#[repr(C)]
pub struct jzx_supervisor_init {
    pub children: *const jzx_child_spec,
    pub child_count: usize,
    pub supervisor: jzx_supervisor_spec,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct jzx_observer {
    pub on_actor_start:
        Option<unsafe extern "C" fn(ctx: *mut c_void, id: jzx_actor_id, name: *const c_char)>,
    pub on_actor_stop:
        Option<unsafe extern "C" fn(ctx: *mut c_void, id: jzx_actor_id, reason: c_int)>,
    pub on_actor_restart: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            sup: jzx_actor_id,
            child: jzx_actor_id,
            attempt: u32,
        ),
    >,
    pub on_supervisor_escalate: Option<unsafe extern "C" fn(ctx: *mut c_void, sup: jzx_actor_id)>,
    pub on_mailbox_full: Option<unsafe extern "C" fn(ctx: *mut c_void, target: jzx_actor_id)>,
}

// ---- Process toolkit (appended to the original header) ----

pub type jzx_monitor_id = u64;

pub const JZX_TAG_SYS_DOWN: u32 = 0xFFFF_0004;

pub const JZX_DOWN_NO_SUCH_ACTOR: u32 = 3;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct jzx_down {
    pub id: jzx_actor_id,
    pub monitor: jzx_monitor_id,
    pub reason: u32,
}

pub type jzx_start_fn = Option<unsafe extern "C" fn(ctx: *mut jzx_context)>;
pub type jzx_stop_fn = Option<unsafe extern "C" fn(ctx: *mut jzx_context, reason: c_int)>;

#[repr(C)]
pub struct jzx_spawn_opts_ex {
    pub base: jzx_spawn_opts,
    pub on_start: jzx_start_fn,
    pub on_stop: jzx_stop_fn,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    // The layouts of jzx.h on LP64 (Linux and macOS, x86_64 and aarch64).
    #[test]
    fn layouts_match_the_header() {
        assert_eq!(size_of::<jzx_allocator>(), 24);
        assert_eq!(size_of::<jzx_config>(), 48);
        assert_eq!(offset_of!(jzx_config, max_actors), 24);
        assert_eq!(offset_of!(jzx_config, io_poll_timeout_ms), 44);
        assert_eq!(size_of::<jzx_message>(), 32);
        assert_eq!(offset_of!(jzx_message, tag), 16);
        assert_eq!(offset_of!(jzx_message, sender), 24);
        assert_eq!(size_of::<jzx_context>(), 24);
        assert_eq!(size_of::<jzx_spawn_opts>(), 40);
        assert_eq!(offset_of!(jzx_spawn_opts, mailbox_cap), 24);
        assert_eq!(offset_of!(jzx_spawn_opts, name), 32);
        assert_eq!(size_of::<jzx_io_event>(), 8);
        assert_eq!(size_of::<jzx_child_exit>(), 16);
        assert_eq!(size_of::<jzx_child_restart>(), 4);
        assert_eq!(size_of::<jzx_child_spec>(), 40);
        assert_eq!(offset_of!(jzx_child_spec, mode), 16);
        assert_eq!(offset_of!(jzx_child_spec, backoff), 28);
        assert_eq!(offset_of!(jzx_child_spec, name), 32);
        assert_eq!(size_of::<jzx_supervisor_spec>(), 20);
        assert_eq!(size_of::<jzx_supervisor_init>(), 40);
        assert_eq!(offset_of!(jzx_supervisor_init, supervisor), 16);
        assert_eq!(size_of::<jzx_observer>(), 40);
        assert_eq!(size_of::<jzx_down>(), 24);
        assert_eq!(offset_of!(jzx_down, monitor), 8);
        assert_eq!(offset_of!(jzx_down, reason), 16);
        assert_eq!(size_of::<jzx_spawn_opts_ex>(), 56);
        assert_eq!(offset_of!(jzx_spawn_opts_ex, on_start), 40);
        assert_eq!(offset_of!(jzx_spawn_opts_ex, on_stop), 48);
    }
}
