/*
 * jzx.h: the C ABI of jzx, an actor runtime on libxev.
 *
 * C99, only <stddef.h> and <stdint.h>. Link the static library libjzx.a
 * (built by cargo: the runtime, the Zig bridge and libxev) with -lpthread
 * -ldl -lm (Linux) or nothing more (macOS).
 *
 * A loop is single-threaded: call every function on the thread that runs it,
 * except jzx_send_async and jzx_loop_request_stop, which any thread may call.
 * Functions other than jzx_loop_run return a jzx_err; out pointers may be NULL
 * (except in jzx_supervisor_child_id); an actor id of 0 is NO_SUCH_ACTOR.
 */
#ifndef JZX_H
#define JZX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Errors ------------------------------------------------------------ */

typedef enum jzx_err {
    JZX_OK = 0,
    JZX_ERR_UNKNOWN = -1,
    JZX_ERR_NO_MEMORY = -2,
    JZX_ERR_INVALID_ARG = -3,
    JZX_ERR_LOOP_CLOSED = -4,
    JZX_ERR_NO_SUCH_ACTOR = -5,
    /* -6 is reserved for "actor not local". */
    JZX_ERR_MAILBOX_FULL = -7,
    JZX_ERR_TIMER_INVALID = -8,
    JZX_ERR_IO_REG_FAILED = -9,
    JZX_ERR_IO_NOT_WATCHED = -10,
    JZX_ERR_MAX_ACTORS = -11
} jzx_err;

/* ---- Basic types ------------------------------------------------------- */

typedef uint64_t jzx_actor_id;
typedef uint64_t jzx_timer_id;
typedef struct jzx_loop jzx_loop;

/* Serves the runtime-owned payloads handed to C code (system messages).
 * Blocks need not be aligned: the runtime asks for up to alignof - 1 more
 * bytes than a payload's size and hands receivers a pointer aligned for the
 * payload's type (msg->data may point past the start of the block); free
 * gets back exactly the pointer alloc returned. A NULL return skips an I/O event (reported
 * again while the fd stays ready); a child exit is kept and retried at the
 * parent's next turn and on a timer (1 ms, doubling up to 100 ms), which
 * keeps jzx_loop_run from returning idle until it is delivered.
 * jzx_loop_destroy returns everything taken from it. */
typedef struct jzx_allocator {
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr);
    void *ctx;
} jzx_allocator;

/* A zero field means its default (see jzx_config_init). */
typedef struct jzx_config {
    jzx_allocator allocator;
    uint32_t max_actors;
    uint32_t default_mailbox_cap;
    uint32_t max_msgs_per_actor;
    uint32_t max_actors_per_tick;
    uint32_t max_io_watchers;
    uint32_t io_poll_timeout_ms;
} jzx_config;

/* A message. `sender` is the sending actor, 0 for the system or a foreign
 * thread. User payloads are never copied or freed by the runtime. */
typedef struct jzx_message {
    void *data;
    size_t len;
    uint32_t tag;
    jzx_actor_id sender;
} jzx_message;

typedef struct jzx_context {
    void *state;
    jzx_actor_id self;
    jzx_loop *loop;
} jzx_context;

typedef enum jzx_behavior_result {
    JZX_BEHAVIOR_OK = 0,
    JZX_BEHAVIOR_STOP = 1,
    JZX_BEHAVIOR_FAIL = 2
} jzx_behavior_result;

typedef jzx_behavior_result (*jzx_behavior_fn)(jzx_context *ctx, const jzx_message *msg);

typedef enum jzx_actor_status {
    JZX_ACTOR_INIT = 0,
    JZX_ACTOR_RUNNING = 1,
    JZX_ACTOR_STOPPING = 2,
    JZX_ACTOR_STOPPED = 3,
    JZX_ACTOR_FAILED = 4
} jzx_actor_status;

typedef enum jzx_exit_reason {
    JZX_EXIT_NORMAL = 0,
    JZX_EXIT_FAIL = 1,
    JZX_EXIT_PANIC = 2
} jzx_exit_reason;

typedef struct jzx_spawn_opts {
    jzx_behavior_fn behavior;
    void *state;
    jzx_actor_id supervisor;
    uint32_t mailbox_cap;
    const char *name;
} jzx_spawn_opts;

/* ---- System messages ----------------------------------------------------
 * Their payloads are allocated by the runtime (with the loop's allocator);
 * the receiver releases them with jzx_loop_free(loop, msg->data). They have
 * sender 0 and len = the size of their payload struct. */

#define JZX_TAG_SYS_IO 0xFFFF0001u
#define JZX_TAG_SYS_CHILD_EXIT 0xFFFF0002u
#define JZX_TAG_SYS_CHILD_RESTART 0xFFFF0003u

#define JZX_IO_READ (1u << 0)
#define JZX_IO_WRITE (1u << 1)
#define JZX_IO_ERROR (1u << 2)  /* reported, never asked for */
#define JZX_IO_HANGUP (1u << 3) /* reported, never asked for */

typedef struct jzx_io_event {
    int fd;
    uint32_t readiness;
} jzx_io_event;

typedef struct jzx_child_exit {
    jzx_actor_id child;
    jzx_actor_status status; /* JZX_ACTOR_STOPPED or JZX_ACTOR_FAILED */
} jzx_child_exit;

typedef struct jzx_child_restart {
    uint32_t child_index;
} jzx_child_restart;

/* ---- Supervision -------------------------------------------------------- */

typedef enum jzx_child_mode {
    JZX_CHILD_PERMANENT = 0,
    JZX_CHILD_TRANSIENT = 1,
    JZX_CHILD_TEMPORARY = 2
} jzx_child_mode;

typedef enum jzx_supervisor_strategy {
    JZX_SUP_ONE_FOR_ONE = 0,
    JZX_SUP_ONE_FOR_ALL = 1,
    JZX_SUP_REST_FOR_ONE = 2
} jzx_supervisor_strategy;

typedef enum jzx_backoff_type {
    JZX_BACKOFF_NONE = 0,
    JZX_BACKOFF_CONSTANT = 1,
    JZX_BACKOFF_EXPONENTIAL = 2
} jzx_backoff_type;

typedef struct jzx_child_spec {
    jzx_behavior_fn behavior;
    void *state; /* reused by every incarnation */
    jzx_child_mode mode;
    uint32_t mailbox_cap;
    uint32_t restart_delay_ms;
    jzx_backoff_type backoff;
    const char *name;
} jzx_child_spec;

/* intensity or period_ms 0: unlimited restarts. */
typedef struct jzx_supervisor_spec {
    jzx_supervisor_strategy strategy;
    uint32_t intensity;
    uint32_t period_ms;
    jzx_backoff_type backoff;
    uint32_t backoff_delay_ms;
} jzx_supervisor_spec;

typedef struct jzx_supervisor_init {
    const jzx_child_spec *children;
    size_t child_count;
    jzx_supervisor_spec supervisor;
} jzx_supervisor_init;

/* ---- Observer ------------------------------------------------------------ */

typedef struct jzx_observer {
    void (*on_actor_start)(void *ctx, jzx_actor_id id, const char *name);
    void (*on_actor_stop)(void *ctx, jzx_actor_id id, jzx_exit_reason reason);
    void (*on_actor_restart)(void *ctx, jzx_actor_id supervisor, jzx_actor_id child,
                             uint32_t attempt);
    void (*on_supervisor_escalate)(void *ctx, jzx_actor_id supervisor);
    void (*on_mailbox_full)(void *ctx, jzx_actor_id target);
} jzx_observer;

/* ---- Loop ------------------------------------------------------------------ */

/* Writes the defaults into every field (allocator: malloc/free). */
void jzx_config_init(jzx_config *cfg);
/* A new loop; cfg NULL means defaults. NULL on failure. */
jzx_loop *jzx_loop_create(const jzx_config *cfg);
/* Destroys a loop and everything it owns. Ignored while jzx_loop_run is on
 * the stack (from a behavior, or an observer hook or allocator callback
 * during a run): the loop stays valid after the run returns, until the
 * program destroys it. Called from a hook or an allocator callback inside
 * another call (jzx_spawn, jzx_send, jzx_loop_free, ...), it takes effect
 * when that outermost call returns; until then other calls on the loop
 * return LOOP_CLOSED (or, for void functions, are ignored). */
void jzx_loop_destroy(jzx_loop *loop);
/* Runs until stopped or idle: 0, or a negative jzx_err (LOOP_CLOSED when
 * called from inside a behavior, an observer hook or an allocator
 * callback). */
int jzx_loop_run(jzx_loop *loop);
/* Asks the loop to stop after its current turn; any thread. Before run, the
 * next run returns at once (and the request is used up). */
void jzx_loop_request_stop(jzx_loop *loop);
/* Releases a runtime-owned payload (a system message's data). */
void jzx_loop_free(jzx_loop *loop, void *ptr);
/* Installs an observer (the table is copied; NULL removes it). Ignored from
 * inside an observer hook, from an allocator callback outside a run, and
 * once jzx_loop_destroy was deferred. */
void jzx_loop_set_observer(jzx_loop *loop, const jzx_observer *obs, void *ctx);

/* ---- Actors ------------------------------------------------------------------ */

/* Spawns an actor. INVALID_ARG (no behavior, name taken), MAX_ACTORS,
 * NO_SUCH_ACTOR (dead supervisor). */
jzx_err jzx_spawn(jzx_loop *loop, const jzx_spawn_opts *opts, jzx_actor_id *out);
/* Sends from the loop's thread. NO_SUCH_ACTOR, MAILBOX_FULL. */
jzx_err jzx_send(jzx_loop *loop, jzx_actor_id target, void *data, size_t len, uint32_t tag);
/* Sends from any thread; delivered between turns, FIFO per thread.
 * LOOP_CLOSED once the loop is destroyed. MAILBOX_FULL when the loop already
 * holds its bound of cross-thread messages not yet in a mailbox (65,536), or
 * when the target already has its share of them waiting for room (its
 * mailbox capacity, or a quarter of the bound if more): retry later. These
 * refusals happen on the sending thread and are not reported to
 * on_mailbox_full. */
jzx_err jzx_send_async(jzx_loop *loop, jzx_actor_id target, void *data, size_t len,
                       uint32_t tag);
/* Stops (normal) or fails an actor at its next turn. NO_SUCH_ACTOR. */
jzx_err jzx_actor_stop(jzx_loop *loop, jzx_actor_id id);
jzx_err jzx_actor_fail(jzx_loop *loop, jzx_actor_id id);

/* ---- Supervision --------------------------------------------------------------- */

/* Spawns a supervisor and starts its children before returning. INVALID_ARG
 * without children (child_count 0 or children NULL). */
jzx_err jzx_spawn_supervisor(jzx_loop *loop, const jzx_supervisor_init *init,
                             jzx_actor_id parent, jzx_actor_id *out);
/* The current id of child `index` (0 while it is down). out must not be NULL.
 * NO_SUCH_ACTOR (not a live supervisor), INVALID_ARG (index out of range). */
jzx_err jzx_supervisor_child_id(jzx_loop *loop, jzx_actor_id sup, size_t index,
                                jzx_actor_id *out);

/* ---- Timers -------------------------------------------------------------------- */

/* Delivers a message to target after ms. NO_SUCH_ACTOR. */
jzx_err jzx_send_after(jzx_loop *loop, jzx_actor_id target, uint32_t ms, void *data,
                       size_t len, uint32_t tag, jzx_timer_id *out);
/* Cancels a pending timer. TIMER_INVALID once fired, cancelled or unknown. */
jzx_err jzx_cancel_timer(jzx_loop *loop, jzx_timer_id timer);

/* ---- I/O ------------------------------------------------------------------------ */

/* Watches fd for JZX_IO_READ and/or JZX_IO_WRITE; readiness arrives as
 * JZX_TAG_SYS_IO. INVALID_ARG (fd < 0, no interest), NO_SUCH_ACTOR,
 * IO_REG_FAILED. Watching a watched fd changes its interest and owner. */
jzx_err jzx_watch_fd(jzx_loop *loop, int fd, jzx_actor_id owner, uint32_t interest);
/* Stops watching fd. IO_NOT_WATCHED, INVALID_ARG (fd < 0). */
jzx_err jzx_unwatch_fd(jzx_loop *loop, int fd);

/* ---- Process toolkit: monitors, start and stop hooks ------------------------
 * Additions to the original interface above, which stays as it was. */

/* A monitor, as jzx_monitor returns it; never 0. */
typedef uint64_t jzx_monitor_id;

/* A monitored actor is down; payload jzx_down (a system message: allocated
 * by the runtime, released with jzx_loop_free). When the allocator returns
 * NULL, it is kept and retried like a child exit. */
#define JZX_TAG_SYS_DOWN 0xFFFF0004u

/* jzx_down.reason: a jzx_exit_reason (JZX_EXIT_NORMAL, JZX_EXIT_FAIL,
 * JZX_EXIT_PANIC) when the actor ended, or this when it was not alive as
 * the monitor was set. */
#define JZX_DOWN_NO_SUCH_ACTOR 3u

typedef struct jzx_down {
    jzx_actor_id id;        /* the monitored actor (its id is already stale) */
    jzx_monitor_id monitor; /* as jzx_monitor returned it */
    uint32_t reason;        /* a jzx_exit_reason or JZX_DOWN_NO_SUCH_ACTOR */
} jzx_down;

/* jzx_spawn_opts and two hooks, each NULL for none. They run on the loop's
 * thread with the actor's context (ctx->state may be changed) and may call
 * into the loop as a behavior may.
 * on_start: inside jzx_spawn_ex, before anything else of the actor (its own
 * messages sent from there come before any sent after the spawn). on_stop: once, at teardown, after its last message, with why it
 * ended (JZX_EXIT_NORMAL also when it is stopped by its supervisor or
 * jzx_loop_destroy; calls from it then return LOOP_CLOSED); its own
 * messages sent from there are dropped. */
typedef struct jzx_spawn_opts_ex {
    jzx_spawn_opts base;
    void (*on_start)(jzx_context *ctx);
    void (*on_stop)(jzx_context *ctx, jzx_exit_reason reason);
} jzx_spawn_opts_ex;

/* Spawns an actor as jzx_spawn does (same errors), with opts->base, and
 * with the hooks. INVALID_ARG (opts NULL, no behavior, name taken),
 * MAX_ACTORS, NO_SUCH_ACTOR (dead supervisor). */
jzx_err jzx_spawn_ex(jzx_loop *loop, const jzx_spawn_opts_ex *opts, jzx_actor_id *out);
/* watcher monitors target: when target ends, watcher gets one
 * JZX_TAG_SYS_DOWN for this monitor (at once, with JZX_DOWN_NO_SUCH_ACTOR,
 * when target is not alive). Monitors stack: each call is its own monitor
 * with its own Down. NO_SUCH_ACTOR (watcher not alive, watcher or target
 * 0), INVALID_ARG (watcher is a supervisor, not a C actor). */
jzx_err jzx_monitor(jzx_loop *loop, jzx_actor_id watcher, jzx_actor_id target,
                    jzx_monitor_id *out);
/* Removes a monitor: no Down of it is delivered afterwards, even one
 * already queued. INVALID_ARG when there is nothing to remove (0, unknown,
 * removed already, its Down delivered, or its watcher ended). */
jzx_err jzx_demonitor(jzx_loop *loop, jzx_monitor_id monitor);

#ifdef __cplusplus
}
#endif

#endif /* JZX_H */
