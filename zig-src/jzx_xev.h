/*
 * jzx_xev.h: the bridge between jzx's Rust runtime and libxev.
 *
 * Internal to jzx: Rust reads this header through bindgen; nothing else
 * should. The bridge is thin. It owns one libxev loop, a thread-safe wakeup,
 * one re-armable timer and fd readiness watches (one epoll or kqueue set of
 * the watched fds, polled by libxev as a single fd), and it never calls
 * back into Rust: what happened during a run is recorded and read afterwards with
 * jzx_xev_events() and the flags that jzx_xev_run() returns.
 *
 * Every function returns 0 on success or a negative jzx_xev_status.
 */
#ifndef JZX_XEV_H
#define JZX_XEV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jzx_xev_loop jzx_xev_loop;
typedef struct jzx_xev_watcher jzx_xev_watcher;

/* Status codes. */
typedef enum jzx_xev_status {
    JZX_XEV_OK = 0,
    JZX_XEV_ERR_NO_MEMORY = -1,
    JZX_XEV_ERR_INVALID_ARG = -2,
    JZX_XEV_ERR_BACKEND_UNAVAILABLE = -3,
    JZX_XEV_ERR_LOOP_INIT = -4,
    JZX_XEV_ERR_BAD_FD = -5,
    JZX_XEV_ERR_RUN = -6,
    JZX_XEV_ERR_WAKEUP = -7,
    JZX_XEV_ERR_RESOURCES = -8, /* jzx_xev_last_errno tells which */
} jzx_xev_status;

/* Backends. JZX_XEV_BACKEND_AUTO asks for the environment variable
 * JZX_BACKEND (epoll | io_uring | kqueue) when set, else the best available
 * one: io_uring, falling back to epoll, on Linux; kqueue on macOS and BSD. */
typedef enum jzx_xev_backend {
    JZX_XEV_BACKEND_AUTO = 0,
    JZX_XEV_BACKEND_IO_URING = 1,
    JZX_XEV_BACKEND_EPOLL = 2,
    JZX_XEV_BACKEND_KQUEUE = 3,
} jzx_xev_backend;

/* Readiness and interest bits. ERROR and HANGUP are reported, never asked. */
#define JZX_XEV_READ 0x1u
#define JZX_XEV_WRITE 0x2u
#define JZX_XEV_ERROR 0x4u
#define JZX_XEV_HANGUP 0x8u

/* Flags returned by jzx_xev_run through its `flags` out-parameter. */
#define JZX_XEV_RAN_TIMER 0x1u  /* the re-armable timer expired */
#define JZX_XEV_RAN_WAKEUP 0x2u /* jzx_xev_wakeup was called */

/* One readiness report: the token given to jzx_xev_watch and the ready bits
 * (only the watched directions, plus ERROR and HANGUP). */
typedef struct jzx_xev_event {
    uint64_t token;
    uint32_t ready;
    int32_t fd;
} jzx_xev_event;

/* Creates a loop on the requested backend. */
int jzx_xev_loop_create(jzx_xev_backend backend, jzx_xev_loop **out);
/* The errno of the calling thread's last call that failed with LOOP_INIT or
 * RESOURCES (0 when unknown), saved where the system call failed: errno
 * itself may have changed by the time the call returns. */
int jzx_xev_last_errno(void);
/* Destroys a loop, releasing every watch still registered. */
void jzx_xev_loop_destroy(jzx_xev_loop *loop);
/* The backend a loop runs on (never AUTO). */
jzx_xev_backend jzx_xev_loop_backend(const jzx_xev_loop *loop);

/* Runs one tick. timeout_ms == 0: poll without blocking; < 0: block until at
 * least one completion fires (I/O, timer, wakeup); > 0: block at most that
 * long. Readiness found is readable with jzx_xev_events until the next run;
 * `flags` (may be NULL) receives JZX_XEV_RAN_* bits. */
int jzx_xev_run(jzx_xev_loop *loop, int64_t timeout_ms, uint32_t *flags);
/* The readiness recorded by the last jzx_xev_run; *len receives the count. */
const jzx_xev_event *jzx_xev_events(const jzx_xev_loop *loop, size_t *len);
/* Wakes a blocked jzx_xev_run. The only function safe from any thread. */
int jzx_xev_wakeup(jzx_xev_loop *loop);

/* Arms the loop's one timer to expire `ms` milliseconds from now, replacing
 * any earlier arming. */
int jzx_xev_timer_set(jzx_xev_loop *loop, uint64_t ms);
/* Disarms the timer: no JZX_XEV_RAN_TIMER is reported until it is set again. */
void jzx_xev_timer_clear(jzx_xev_loop *loop);

/* Watches `fd` for `interest` (READ, WRITE or both), level-triggered. The
 * bridge registers `fd` itself (no duplicate) in its readiness set, so a watch
 * costs no file descriptor. The caller may close `fd` before unwatching: the
 * kernel then drops it from the set and it is never reported again; a new fd
 * with the same number is watched through jzx_xev_rewatch of the old watch.
 * Errors: INVALID_ARG (fd < 0, no interest, fd already watched), BAD_FD (fd
 * not open), RESOURCES (jzx_xev_last_errno: e.g. EPERM for a file that
 * cannot be polled). */
int jzx_xev_watch(jzx_xev_loop *loop, int fd, uint32_t interest, uint64_t token,
                  jzx_xev_watcher **out);
/* Changes a watch's interest and token in place; needs no file descriptor.
 * When its fd was closed and the number now names another file, the watch
 * follows the new file. After it returns no event carries the old token.
 * Errors as jzx_xev_watch; on error the watch is unchanged. */
int jzx_xev_rewatch(jzx_xev_loop *loop, jzx_xev_watcher *watch, uint32_t interest,
                    uint64_t token);
/* Stops a watch and releases it at once. After it returns no event carries its
 * token, and the watch pointer must not be used again. */
void jzx_xev_unwatch(jzx_xev_loop *loop, jzx_xev_watcher *watch);
/* Watches registered (for leak tests). */
size_t jzx_xev_live_watches(const jzx_xev_loop *loop);

#ifdef __cplusplus
}
#endif

#endif /* JZX_XEV_H */
