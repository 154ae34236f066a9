/*
 * check.h: tiny helpers shared by the C ABI tests in tests/c/.
 *
 * Include it first (it sets the POSIX feature macro). Each test program groups
 * its checks into named cases:
 *
 *     case_begin("stale_id");
 *     CHECK_EQ(jzx_send(loop, old, NULL, 0, 1), JZX_ERR_NO_SUCH_ACTOR);
 *     case_end();               prints "ok stale_id" or nothing (failures
 *                               were printed as "FAIL stale_id: ...")
 *     return check_exit();      0 when nothing failed
 *
 * Runs are bounded: run_bounded() arms a watchdog thread that calls
 * jzx_loop_request_stop after a few seconds (a failure), and check_init()
 * arms alarm() as a last resort. JZX_TEST_SLOW=1 (set for valgrind runs)
 * stretches the time limits; lower bounds on delays stay as they are.
 */
#ifndef JZX_TEST_CHECK_H
#define JZX_TEST_CHECK_H

#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#if defined(__APPLE__) && !defined(_DARWIN_C_SOURCE)
#define _DARWIN_C_SOURCE 1
#endif

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif

#include <jzx/jzx.h>

static const char *chk_case = "?";
static int chk_case_failures = 0;
static int chk_total_failures = 0;

static inline void chk_fail(const char *file, int line, const char *what) {
    printf("FAIL %s: %s:%d: %s\n", chk_case, file, line, what);
    fflush(stdout);
    chk_case_failures++;
    chk_total_failures++;
}

static inline int chk_true(int ok, const char *expr, const char *file, int line) {
    if (!ok) {
        char buf[512];
        snprintf(buf, sizeof buf, "expected %s", expr);
        chk_fail(file, line, buf);
    }
    return ok;
}

static inline int chk_eq(long long got, long long want, const char *got_expr, const char *want_expr,
                         const char *file, int line) {
    if (got != want) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s == %s: got %lld, expected %lld", got_expr, want_expr, got,
                 want);
        chk_fail(file, line, buf);
        return 0;
    }
    return 1;
}

static inline int chk_eq_u64(unsigned long long got, unsigned long long want, const char *got_expr,
                             const char *want_expr, const char *file, int line) {
    if (got != want) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s == %s: got 0x%llx, expected 0x%llx", got_expr, want_expr,
                 got, want);
        chk_fail(file, line, buf);
        return 0;
    }
    return 1;
}

/* CHECK(cond); CHECK_EQ(signed ints / error codes); CHECK_EQ_U64(ids);
 * FAILF(printf-like message with at least one argument). Each evaluates to 1
 * when the check passed. */
#define CHECK(cond) chk_true((cond) ? 1 : 0, #cond, __FILE__, __LINE__)
#define CHECK_EQ(got, want) \
    chk_eq((long long)(got), (long long)(want), #got, #want, __FILE__, __LINE__)
#define CHECK_EQ_U64(got, want)                                                               \
    chk_eq_u64((unsigned long long)(got), (unsigned long long)(want), #got, #want, __FILE__, \
               __LINE__)
#define FAILF(...)                                           \
    do {                                                     \
        char chk_buf_[512];                                  \
        snprintf(chk_buf_, sizeof chk_buf_, __VA_ARGS__);    \
        chk_fail(__FILE__, __LINE__, chk_buf_);              \
    } while (0)

static inline void case_begin(const char *name) {
    chk_case = name;
    chk_case_failures = 0;
}

static inline void case_end(void) {
    if (chk_case_failures == 0) printf("ok %s\n", chk_case);
    fflush(stdout);
    chk_case = "?";
}

static inline int check_exit(void) {
    fflush(stdout);
    return chk_total_failures == 0 ? 0 : 1;
}

/* ---- time ----------------------------------------------------------------- */

static inline double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* 1, or 10 when JZX_TEST_SLOW is set (valgrind): multiplies upper limits. */
static inline unsigned slow_factor(void) {
    const char *s = getenv("JZX_TEST_SLOW");
    return (s != NULL && s[0] != '\0' && s[0] != '0') ? 10u : 1u;
}

/* ---- waiting for a condition ---------------------------------------------- */

/* Polls cond(arg) until it holds (1) or `ms` (times slow_factor) have passed
 * (0). For a condition no event tells of; it holds the C tests' one pause
 * between polls: they wait for the condition itself, never for a guessed
 * delay. */
static inline int wait_until(int (*cond)(void *), void *arg, unsigned ms) {
    double deadline = now_ms() + (double)ms * slow_factor();
    struct timespec pause;
    pause.tv_sec = 0;
    pause.tv_nsec = 1000000L;
    for (;;) {
        if (cond(arg)) return 1;
        if (now_ms() >= deadline) return 0;
        nanosleep(&pause, NULL); /* between two polls of the condition */
    }
}

/* The kernel's id of the process's main thread, the one that runs the loops
 * of these tests. */
static inline long main_thread_id(void) {
    return (long)getpid();
}

/* 1 when thread `tid` of this process sleeps in an event loop's wait
 * (epoll_wait, epoll_pwait, epoll_pwait2, io_uring_enter): its loop has found
 * nothing ready and blocks until I/O, a timer or a wakeup. Seen in /proc on
 * Linux; elsewhere it cannot be seen: 1. */
static inline int blocked_in_reactor(long tid) {
#if defined(__linux__)
    char path[64], buf[512];
    const char *state;
    FILE *f;
    size_t n;
    long call = -1;
    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
    f = fopen(path, "r");
    if (f == NULL) return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* The state follows the command name, which may hold spaces. */
    state = strrchr(buf, ')');
    if (state == NULL || state[1] == '\0' || state[2] != 'S') return 0;
    snprintf(path, sizeof path, "/proc/self/task/%ld/syscall", tid);
    f = fopen(path, "r");
    if (f == NULL) return 0;
    if (fscanf(f, "%ld", &call) != 1) call = -1; /* "running" */
    fclose(f);
    return 0
#if defined(SYS_epoll_wait)
           || call == SYS_epoll_wait
#endif
#if defined(SYS_epoll_pwait)
           || call == SYS_epoll_pwait
#endif
#if defined(SYS_epoll_pwait2)
           || call == SYS_epoll_pwait2
#endif
#if defined(SYS_io_uring_enter)
           || call == SYS_io_uring_enter
#endif
        ;
#else
    (void)tid;
    return 1;
#endif
}

static inline int reactor_blocked_cond(void *tid) {
    return blocked_in_reactor(*(const long *)tid);
}

/* Waits (at most 10 s times slow_factor) until thread `tid` is blocked in its
 * event loop's wait; 0 when it never was. */
static inline int wait_blocked(long tid) {
    return wait_until(reactor_blocked_cond, &tid, 10000u);
}

static inline void check_init(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* Last resort: SIGALRM's default action kills the process. */
    alarm(60u * slow_factor());
}

/* ---- watchdog ------------------------------------------------------------- */

typedef struct watchdog {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    jzx_loop *loop;
    unsigned ms;
    int disarmed;
    int fired;
} watchdog;

static inline void *wd_main(void *arg) {
    watchdog *wd = (watchdog *)arg;
    struct timespec deadline;
    int fire = 0;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += (time_t)(wd->ms / 1000u);
    deadline.tv_nsec += (long)(wd->ms % 1000u) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec += 1;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&wd->mu);
    while (!wd->disarmed) {
        if (pthread_cond_timedwait(&wd->cv, &wd->mu, &deadline) == ETIMEDOUT) {
            fire = !wd->disarmed;
            break;
        }
    }
    if (fire) wd->fired = 1;
    pthread_mutex_unlock(&wd->mu);
    if (fire) jzx_loop_request_stop(wd->loop);
    return NULL;
}

/* Starts a thread that calls jzx_loop_request_stop(loop) after ms (times
 * slow_factor) unless wd_disarm comes first. */
static inline void wd_arm(watchdog *wd, jzx_loop *loop, unsigned ms) {
    memset(wd, 0, sizeof *wd);
    wd->loop = loop;
    wd->ms = ms * slow_factor();
    pthread_mutex_init(&wd->mu, NULL);
    pthread_cond_init(&wd->cv, NULL);
    if (pthread_create(&wd->thread, NULL, wd_main, wd) != 0) {
        printf("FAIL %s: cannot start the watchdog thread\n", chk_case);
        exit(2);
    }
}

/* Stops the watchdog; returns 1 when it had fired. */
static inline int wd_disarm(watchdog *wd) {
    int fired;
    pthread_mutex_lock(&wd->mu);
    wd->disarmed = 1;
    pthread_cond_signal(&wd->cv);
    pthread_mutex_unlock(&wd->mu);
    pthread_join(wd->thread, NULL);
    fired = wd->fired;
    pthread_mutex_destroy(&wd->mu);
    pthread_cond_destroy(&wd->cv);
    return fired;
}

/* jzx_loop_run under a watchdog of `ms`; a fired watchdog is a failure. */
#define RUN_BOUNDED(loop, ms) run_bounded_at((loop), (ms), __FILE__, __LINE__)

static inline int run_bounded_at(jzx_loop *loop, unsigned ms, const char *file, int line) {
    watchdog wd;
    int rc;
    wd_arm(&wd, loop, ms);
    rc = jzx_loop_run(loop);
    if (wd_disarm(&wd)) {
        char buf[128];
        snprintf(buf, sizeof buf, "jzx_loop_run did not return within %u ms (watchdog stopped it)",
                 ms * slow_factor());
        chk_fail(file, line, buf);
    }
    return rc;
}

/* A loop with default settings, failing the case when it cannot be made. */
#define NEW_LOOP() new_loop_at(__FILE__, __LINE__)

static inline jzx_loop *new_loop_at(const char *file, int line) {
    jzx_loop *loop = jzx_loop_create(NULL);
    if (loop == NULL) {
        chk_fail(file, line, "jzx_loop_create(NULL) returned NULL");
        printf("FAIL %s: cannot continue without a loop\n", chk_case);
        exit(1);
    }
    return loop;
}

/* Spawns an actor with default options but for its behavior and state
 * (state may be NULL); a failed spawn fails the case and gives id 0. */
#define SPAWN(loop, behavior, state) spawn_at((loop), (behavior), (state), __FILE__, __LINE__)

static inline jzx_actor_id spawn_at(jzx_loop *loop, jzx_behavior_fn behavior, void *state,
                                    const char *file, int line) {
    jzx_spawn_opts opts;
    jzx_actor_id id = 0;
    memset(&opts, 0, sizeof opts);
    opts.behavior = behavior;
    opts.state = state;
    chk_eq(jzx_spawn(loop, &opts, &id), JZX_OK, "jzx_spawn(...)", "JZX_OK", file, line);
    return id;
}

/* ---- allocator ------------------------------------------------------------ */

/* A jzx_allocator over malloc that counts, can hand out blocks `offset`
 * bytes past malloc's pointer (offset 1: under-aligned blocks) and refuses
 * every request while `failing` is set. It remembers the blocks it handed
 * out (up to TALLY_SLOTS at a time): `foreign` counts frees of pointers it
 * did not return (or returned already), which it leaves alone. Hooks, when
 * set, run after each allocation and each free. */
#define TALLY_SLOTS 64

typedef struct tally {
    long allocs;
    long frees;
    long refused;
    long foreign;
    int failing;
    size_t offset;
    void *given[TALLY_SLOTS];
    void (*after_alloc)(struct tally *t);
    void (*after_free)(struct tally *t);
} tally;

static inline void *tally_alloc(void *ctx, size_t size) {
    tally *t = (tally *)ctx;
    char *p;
    int i;
    if (t->failing) {
        t->refused++;
        return NULL;
    }
    for (i = 0; i < TALLY_SLOTS && t->given[i] != NULL; i++) {
    }
    if (i == TALLY_SLOTS) return NULL;
    p = (char *)malloc(size + t->offset);
    if (p == NULL) return NULL;
    t->allocs++;
    t->given[i] = p + t->offset;
    if (t->after_alloc != NULL) t->after_alloc(t);
    return p + t->offset;
}

static inline void tally_free(void *ctx, void *ptr) {
    tally *t = (tally *)ctx;
    int i;
    if (ptr == NULL) return;
    for (i = 0; i < TALLY_SLOTS && t->given[i] != ptr; i++) {
    }
    if (i == TALLY_SLOTS) {
        t->foreign++;
        return;
    }
    t->given[i] = NULL;
    t->frees++;
    free((char *)ptr - t->offset);
    if (t->after_free != NULL) t->after_free(t);
}

/* A loop whose allocator is `t` (zeroed first but for `offset`). */
#define NEW_TALLY_LOOP(t, offset) new_tally_loop_at((t), (offset), __FILE__, __LINE__)

static inline jzx_loop *new_tally_loop_at(tally *t, size_t offset, const char *file, int line) {
    jzx_config cfg;
    jzx_loop *loop;
    memset(t, 0, sizeof *t);
    t->offset = offset;
    jzx_config_init(&cfg);
    cfg.allocator.alloc = tally_alloc;
    cfg.allocator.free = tally_free;
    cfg.allocator.ctx = t;
    loop = jzx_loop_create(&cfg);
    if (loop == NULL) {
        chk_fail(file, line, "jzx_loop_create with a tally allocator returned NULL");
        printf("FAIL %s: cannot continue without a loop\n", chk_case);
        exit(1);
    }
    return loop;
}

#endif /* JZX_TEST_CHECK_H */
