/* Stand-in for the generated bindings in docs builds (DOCS_RS set): build.rs copies this file to OUT_DIR instead of running Zig and bindgen. It is bindgen's output for zig-src/jzx_xev.h minus this line; tests/dependent.rs checks that it still is. */

pub const JZX_XEV_READ: u32 = 1;
pub const JZX_XEV_WRITE: u32 = 2;
pub const JZX_XEV_ERROR: u32 = 4;
pub const JZX_XEV_HANGUP: u32 = 8;
pub const JZX_XEV_RAN_TIMER: u32 = 1;
pub const JZX_XEV_RAN_WAKEUP: u32 = 2;
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct jzx_xev_loop {
    _unused: [u8; 0],
}
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct jzx_xev_watcher {
    _unused: [u8; 0],
}
pub const jzx_xev_status_JZX_XEV_OK: jzx_xev_status = 0;
pub const jzx_xev_status_JZX_XEV_ERR_NO_MEMORY: jzx_xev_status = -1;
pub const jzx_xev_status_JZX_XEV_ERR_INVALID_ARG: jzx_xev_status = -2;
pub const jzx_xev_status_JZX_XEV_ERR_BACKEND_UNAVAILABLE: jzx_xev_status = -3;
pub const jzx_xev_status_JZX_XEV_ERR_LOOP_INIT: jzx_xev_status = -4;
pub const jzx_xev_status_JZX_XEV_ERR_BAD_FD: jzx_xev_status = -5;
pub const jzx_xev_status_JZX_XEV_ERR_RUN: jzx_xev_status = -6;
pub const jzx_xev_status_JZX_XEV_ERR_WAKEUP: jzx_xev_status = -7;
pub const jzx_xev_status_JZX_XEV_ERR_RESOURCES: jzx_xev_status = -8;
pub type jzx_xev_status = ::std::os::raw::c_int;
#[repr(u32)]
#[derive(Debug, Copy, Clone, Hash, PartialEq, Eq)]
pub enum jzx_xev_backend {
    JZX_XEV_BACKEND_AUTO = 0,
    JZX_XEV_BACKEND_IO_URING = 1,
    JZX_XEV_BACKEND_EPOLL = 2,
    JZX_XEV_BACKEND_KQUEUE = 3,
}
#[repr(C)]
#[derive(Debug, Copy, Clone)]
pub struct jzx_xev_event {
    pub token: u64,
    pub ready: u32,
    pub fd: i32,
}
#[allow(clippy::unnecessary_operation, clippy::identity_op)]
const _: () = {
    ["Size of jzx_xev_event"][::std::mem::size_of::<jzx_xev_event>() - 16usize];
    ["Alignment of jzx_xev_event"][::std::mem::align_of::<jzx_xev_event>() - 8usize];
    ["Offset of field: jzx_xev_event::token"]
        [::std::mem::offset_of!(jzx_xev_event, token) - 0usize];
    ["Offset of field: jzx_xev_event::ready"]
        [::std::mem::offset_of!(jzx_xev_event, ready) - 8usize];
    ["Offset of field: jzx_xev_event::fd"][::std::mem::offset_of!(jzx_xev_event, fd) - 12usize];
};
unsafe extern "C" {
    pub fn jzx_xev_loop_create(
        backend: jzx_xev_backend,
        out: *mut *mut jzx_xev_loop,
    ) -> ::std::os::raw::c_int;
}
unsafe extern "C" {
    pub fn jzx_xev_last_errno() -> ::std::os::raw::c_int;
}
unsafe extern "C" {
    pub fn jzx_xev_loop_destroy(loop_: *mut jzx_xev_loop);
}
unsafe extern "C" {
    pub fn jzx_xev_loop_backend(loop_: *const jzx_xev_loop) -> jzx_xev_backend;
}
unsafe extern "C" {
    pub fn jzx_xev_run(
        loop_: *mut jzx_xev_loop,
        timeout_ms: i64,
        flags: *mut u32,
    ) -> ::std::os::raw::c_int;
}
unsafe extern "C" {
    pub fn jzx_xev_events(loop_: *const jzx_xev_loop, len: *mut usize) -> *const jzx_xev_event;
}
unsafe extern "C" {
    pub fn jzx_xev_wakeup(loop_: *mut jzx_xev_loop) -> ::std::os::raw::c_int;
}
unsafe extern "C" {
    pub fn jzx_xev_timer_set(loop_: *mut jzx_xev_loop, ms: u64) -> ::std::os::raw::c_int;
}
unsafe extern "C" {
    pub fn jzx_xev_timer_clear(loop_: *mut jzx_xev_loop);
}
unsafe extern "C" {
    pub fn jzx_xev_watch(
        loop_: *mut jzx_xev_loop,
        fd: ::std::os::raw::c_int,
        interest: u32,
        token: u64,
        out: *mut *mut jzx_xev_watcher,
    ) -> ::std::os::raw::c_int;
}
unsafe extern "C" {
    pub fn jzx_xev_rewatch(
        loop_: *mut jzx_xev_loop,
        watch: *mut jzx_xev_watcher,
        interest: u32,
        token: u64,
    ) -> ::std::os::raw::c_int;
}
unsafe extern "C" {
    pub fn jzx_xev_unwatch(loop_: *mut jzx_xev_loop, watch: *mut jzx_xev_watcher);
}
unsafe extern "C" {
    pub fn jzx_xev_live_watches(loop_: *const jzx_xev_loop) -> usize;
}
