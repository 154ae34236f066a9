/*
 * misuse.c: SPEC §5 "misuse from C never crashes": NULL pointers, zero and
 * stale ids, fd < 0, zero interest, double unwatch, double cancel, NULL out
 * pointers, a NULL loop; jzx_config_init defaults and honoured config
 * fields; a counting jzx_allocator gets back everything at jzx_loop_destroy;
 * an allocator that always fails crashes nothing.
 */
#include "check.h"

#include <fcntl.h>

static jzx_behavior_result idle_behavior(jzx_context *ctx, const jzx_message *msg) {
    (void)ctx;
    return msg->tag == 99 ? JZX_BEHAVIOR_STOP : JZX_BEHAVIOR_OK;
}

static jzx_actor_id spawn_idle(jzx_loop *loop) {
    return SPAWN(loop, idle_behavior, NULL);
}

static void test_null_loop(void) {
    jzx_spawn_opts opts;
    jzx_supervisor_init init;
    jzx_child_spec child;
    jzx_observer obs;
    jzx_actor_id out = 0;
    jzx_timer_id tid = 0;

    case_begin("null_loop");
    memset(&opts, 0, sizeof opts);
    opts.behavior = idle_behavior;
    memset(&child, 0, sizeof child);
    child.behavior = idle_behavior;
    memset(&init, 0, sizeof init);
    init.children = &child;
    init.child_count = 1;
    memset(&obs, 0, sizeof obs);
    CHECK_EQ(jzx_loop_run(NULL), JZX_ERR_INVALID_ARG);
    jzx_loop_request_stop(NULL);
    jzx_loop_free(NULL, NULL);
    jzx_loop_destroy(NULL);
    jzx_config_init(NULL);
    jzx_loop_set_observer(NULL, &obs, NULL); /* ignored */
    CHECK_EQ(jzx_spawn(NULL, &opts, &out), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_spawn_supervisor(NULL, &init, 0, &out), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_supervisor_child_id(NULL, 1ull << 32, 0, &out), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_send(NULL, 1ull << 32, NULL, 0, 1), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_send_async(NULL, 1ull << 32, NULL, 0, 1), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_actor_stop(NULL, 1ull << 32), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_actor_fail(NULL, 1ull << 32), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_send_after(NULL, 1ull << 32, 1, NULL, 0, 1, &tid), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_cancel_timer(NULL, 1), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_watch_fd(NULL, 0, 1ull << 32, JZX_IO_READ), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_unwatch_fd(NULL, 0), JZX_ERR_INVALID_ARG);
    case_end();
}

static void test_bad_arguments(void) {
    jzx_loop *loop;
    jzx_spawn_opts opts;
    jzx_child_spec child;
    jzx_supervisor_init init;
    jzx_actor_id id, stale, sup = 0, out = 0, bogus;
    jzx_timer_id tid = 0;
    int fds[2];
    int closed_fd;
    int rc;

    case_begin("bad_arguments");
    loop = NEW_LOOP();
    if (!CHECK_EQ(pipe(fds), 0)) {
        jzx_loop_destroy(loop);
        case_end();
        return;
    }
    /* A stale id: an actor that stopped. */
    stale = spawn_idle(loop);
    CHECK_EQ(jzx_send(loop, stale, NULL, 0, 99), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    /* A never-issued id: a far slot and generation. */
    bogus = (7ull << 32) | 12345ull;

    /* Spawn: NULL opts, NULL behavior; NULL out is fine. */
    memset(&opts, 0, sizeof opts);
    CHECK_EQ(jzx_spawn(loop, NULL, &out), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_spawn(loop, &opts, &out), JZX_ERR_INVALID_ARG);
    opts.behavior = idle_behavior;
    opts.supervisor = stale;
    CHECK_EQ(jzx_spawn(loop, &opts, &out), JZX_ERR_NO_SUCH_ACTOR);
    opts.supervisor = bogus;
    CHECK_EQ(jzx_spawn(loop, &opts, &out), JZX_ERR_NO_SUCH_ACTOR);
    opts.supervisor = 0;
    /* Unique names: a second live actor with the same name is refused. */
    opts.name = "unique-name";
    CHECK_EQ(jzx_spawn(loop, &opts, NULL), JZX_OK);
    CHECK_EQ(jzx_spawn(loop, &opts, &out), JZX_ERR_INVALID_ARG);
    opts.name = NULL;
    id = spawn_idle(loop);

    /* Sends and stops: zero, stale and never-issued ids. */
    CHECK_EQ(jzx_send(loop, 0, NULL, 0, 1), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_send(loop, stale, NULL, 0, 1), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_send(loop, bogus, NULL, 0, 1), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_send_async(loop, 0, NULL, 0, 1), JZX_ERR_NO_SUCH_ACTOR);
    rc = jzx_send_async(loop, stale, NULL, 0, 1);
    CHECK(rc == JZX_OK || rc == JZX_ERR_NO_SUCH_ACTOR);
    printf("# jzx_send_async to a stale id from the loop thread: %d\n", rc);
    CHECK_EQ(jzx_actor_stop(loop, 0), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_actor_stop(loop, stale), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_actor_stop(loop, bogus), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_actor_fail(loop, 0), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_actor_fail(loop, stale), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_actor_fail(loop, bogus), JZX_ERR_NO_SUCH_ACTOR);

    /* Timers. */
    CHECK_EQ(jzx_send_after(loop, 0, 1, NULL, 0, 1, &tid), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_send_after(loop, stale, 1, NULL, 0, 1, &tid), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_send_after(loop, bogus, 1, NULL, 0, 1, NULL), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_send_after(loop, id, 5, NULL, 0, 1, NULL), JZX_OK);
    CHECK_EQ(jzx_cancel_timer(loop, 0), JZX_ERR_TIMER_INVALID);
    CHECK_EQ(jzx_cancel_timer(loop, 0xffffffffffull), JZX_ERR_TIMER_INVALID);
    CHECK_EQ(jzx_send_after(loop, id, 1000, NULL, 0, 1, &tid), JZX_OK);
    CHECK_EQ(jzx_cancel_timer(loop, tid), JZX_OK);
    CHECK_EQ(jzx_cancel_timer(loop, tid), JZX_ERR_TIMER_INVALID);

    /* Watches. */
    CHECK_EQ(jzx_watch_fd(loop, -1, id, JZX_IO_READ), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_watch_fd(loop, fds[0], id, 0), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_watch_fd(loop, fds[0], 0, JZX_IO_READ), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_watch_fd(loop, fds[0], stale, JZX_IO_READ), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_watch_fd(loop, fds[0], bogus, JZX_IO_READ), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_unwatch_fd(loop, -1), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_unwatch_fd(loop, fds[0]), JZX_ERR_IO_NOT_WATCHED);
    CHECK_EQ(jzx_watch_fd(loop, fds[0], id, JZX_IO_READ), JZX_OK);
    CHECK_EQ(jzx_unwatch_fd(loop, fds[0]), JZX_OK);
    CHECK_EQ(jzx_unwatch_fd(loop, fds[0]), JZX_ERR_IO_NOT_WATCHED);
    rc = jzx_watch_fd(loop, fds[0], id, 0x80u);
    printf("# jzx_watch_fd with only an unknown interest bit (0x80): %d\n", rc);
    if (rc == JZX_OK) CHECK_EQ(jzx_unwatch_fd(loop, fds[0]), JZX_OK);
    rc = jzx_watch_fd(loop, fds[0], id, JZX_IO_ERROR);
    printf("# jzx_watch_fd with interest JZX_IO_ERROR only: %d\n", rc);
    if (rc == JZX_OK) CHECK_EQ(jzx_unwatch_fd(loop, fds[0]), JZX_OK);
    /* An fd number that is not open. */
    closed_fd = dup(fds[0]);
    close(closed_fd);
    rc = jzx_watch_fd(loop, closed_fd, id, JZX_IO_READ);
    printf("# jzx_watch_fd on a closed fd: %d\n", rc);
    CHECK(rc == JZX_ERR_IO_REG_FAILED || rc == JZX_OK);
    if (rc == JZX_OK) jzx_unwatch_fd(loop, closed_fd);

    /* Supervisors. */
    memset(&child, 0, sizeof child);
    memset(&init, 0, sizeof init);
    CHECK_EQ(jzx_spawn_supervisor(loop, NULL, 0, &out), JZX_ERR_INVALID_ARG);
    init.children = NULL;
    init.child_count = 1;
    CHECK_EQ(jzx_spawn_supervisor(loop, &init, 0, &out), JZX_ERR_INVALID_ARG);
    init.children = &child; /* behavior NULL */
    CHECK_EQ(jzx_spawn_supervisor(loop, &init, 0, &out), JZX_ERR_INVALID_ARG);
    child.behavior = idle_behavior;
    CHECK_EQ(jzx_spawn_supervisor(loop, &init, stale, &out), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_spawn_supervisor(loop, &init, bogus, &out), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_spawn_supervisor(loop, &init, 0, &sup), JZX_OK);
    CHECK(sup != 0);
    CHECK_EQ(jzx_supervisor_child_id(loop, sup, 0, NULL), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_supervisor_child_id(loop, sup, 1, &out), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_supervisor_child_id(loop, sup, (size_t)-1, &out), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_supervisor_child_id(loop, 0, 0, &out), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_supervisor_child_id(loop, stale, 0, &out), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_supervisor_child_id(loop, bogus, 0, &out), JZX_ERR_NO_SUCH_ACTOR);
    /* A live actor that is not a supervisor. */
    CHECK_EQ(jzx_supervisor_child_id(loop, id, 0, &out), JZX_ERR_NO_SUCH_ACTOR);
    out = 0;
    CHECK_EQ(jzx_supervisor_child_id(loop, sup, 0, &out), JZX_OK);
    CHECK(out != 0);
    init.child_count = 0;
    CHECK_EQ(jzx_spawn_supervisor(loop, &init, 0, NULL), JZX_ERR_INVALID_ARG);
    init.child_count = 1;
    /* NULL out: fine (the supervisor is left for jzx_loop_destroy). */
    CHECK_EQ(jzx_spawn_supervisor(loop, &init, 0, NULL), JZX_OK);

    /* Observer and free. */
    jzx_loop_set_observer(loop, NULL, NULL);
    jzx_loop_free(loop, NULL);

    /* Destroy with live actors, a live supervisor and a pending timer. */
    CHECK_EQ(jzx_send_after(loop, id, 10000, NULL, 0, 1, NULL), JZX_OK);
    jzx_loop_destroy(loop);
    close(fds[0]);
    close(fds[1]);
    case_end();
}

static void test_config(void) {
    jzx_config cfg;
    jzx_loop *loop;
    jzx_actor_id id = 0;
    int i, rc;

    case_begin("config_init_defaults");
    memset(&cfg, 0xAB, sizeof cfg);
    jzx_config_init(&cfg);
    CHECK_EQ(cfg.max_msgs_per_actor, 64);
    CHECK_EQ(cfg.max_actors_per_tick, 1024);
    CHECK_EQ(cfg.default_mailbox_cap, 1024);
    CHECK(cfg.max_actors >= 1000000u);
    CHECK(cfg.max_actors != 0xABABABABu);
    CHECK(cfg.max_io_watchers != 0xABABABABu);
    CHECK(cfg.io_poll_timeout_ms != 0xABABABABu);
    CHECK(cfg.allocator.alloc != NULL);
    CHECK(cfg.allocator.free != NULL);
    {
        void *pattern;
        memset(&pattern, 0xAB, sizeof pattern);
        CHECK(cfg.allocator.ctx != pattern);
        {
        unsigned char fpat[sizeof cfg.allocator.alloc];
        memset(fpat, 0xAB, sizeof fpat);
        CHECK(memcmp(&cfg.allocator.alloc, fpat, sizeof fpat) != 0);
        CHECK(memcmp(&cfg.allocator.free, fpat, sizeof fpat) != 0);
        }
    }
    printf("# defaults: max_actors %u, default_mailbox_cap %u, max_msgs_per_actor %u, "
           "max_actors_per_tick %u, max_io_watchers %u, io_poll_timeout_ms %u\n",
           (unsigned)cfg.max_actors, (unsigned)cfg.default_mailbox_cap,
           (unsigned)cfg.max_msgs_per_actor, (unsigned)cfg.max_actors_per_tick,
           (unsigned)cfg.max_io_watchers, (unsigned)cfg.io_poll_timeout_ms);
    if (cfg.allocator.alloc != NULL && cfg.allocator.free != NULL) {
        void *p = cfg.allocator.alloc(cfg.allocator.ctx, 32);
        CHECK(p != NULL);
        if (p != NULL) {
            memset(p, 1, 32);
            cfg.allocator.free(cfg.allocator.ctx, p);
        }
    }
    loop = jzx_loop_create(&cfg);
    if (CHECK(loop != NULL)) {
        /* Default mailbox: 1024 fit, the next is refused. */
        id = SPAWN(loop, idle_behavior, NULL);
        for (i = 0, rc = JZX_OK; i < 1024 && rc == JZX_OK; i++) rc = jzx_send(loop, id, NULL, 0, 1);
        CHECK_EQ(rc, JZX_OK);
        CHECK_EQ(i, 1024);
        CHECK_EQ(jzx_send(loop, id, NULL, 0, 1), JZX_ERR_MAILBOX_FULL);
        CHECK_EQ(jzx_actor_stop(loop, id), JZX_OK);
        CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
        jzx_loop_destroy(loop);
    }
    /* NULL config and an all-zero config both mean defaults. */
    loop = jzx_loop_create(NULL);
    CHECK(loop != NULL);
    jzx_loop_destroy(loop);
    memset(&cfg, 0, sizeof cfg);
    loop = jzx_loop_create(&cfg);
    if (CHECK(loop != NULL)) {
        id = spawn_idle(loop);
        CHECK_EQ(jzx_send(loop, id, NULL, 0, 99), JZX_OK);
        CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
        jzx_loop_destroy(loop);
    }
    case_end();
}

static void test_config_honoured(void) {
    jzx_config cfg;
    jzx_loop *loop;
    jzx_actor_id id = 0;
    jzx_spawn_opts opts;

    case_begin("config_fields_honoured");
    jzx_config_init(&cfg);
    cfg.default_mailbox_cap = 2;
    cfg.max_actors = 3;
    loop = jzx_loop_create(&cfg);
    if (!CHECK(loop != NULL)) {
        case_end();
        return;
    }
    memset(&opts, 0, sizeof opts);
    opts.behavior = idle_behavior;
    CHECK_EQ(jzx_spawn(loop, &opts, &id), JZX_OK);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 1), JZX_OK);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 99), JZX_OK);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 1), JZX_ERR_MAILBOX_FULL);
    /* An explicit cap wins over the default. */
    opts.mailbox_cap = 3;
    CHECK_EQ(jzx_spawn(loop, &opts, &id), JZX_OK);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 1), JZX_OK);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 1), JZX_OK);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 99), JZX_OK);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 1), JZX_ERR_MAILBOX_FULL);
    opts.mailbox_cap = 0;
    CHECK_EQ(jzx_spawn(loop, &opts, &id), JZX_OK);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 99), JZX_OK);
    /* max_actors 3: the fourth is refused. */
    CHECK_EQ(jzx_spawn(loop, &opts, NULL), JZX_ERR_MAX_ACTORS);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    /* All three stopped: room again. */
    CHECK_EQ(jzx_spawn(loop, &opts, &id), JZX_OK);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 99), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    jzx_loop_destroy(loop);
    case_end();
}

/* ---- allocators ------------------------------------------------------------------ */

#define MAX_LIVE 4096

typedef struct counting {
    long allocs;
    long frees;
    long attempts;
    long unknown_frees;
    long null_frees;
    int fail_all;
    void *live[MAX_LIVE];
} counting;

static void *counting_alloc(void *ctx, size_t size) {
    counting *c = (counting *)ctx;
    void *p;
    int i;
    c->attempts++;
    if (c->fail_all) return NULL;
    p = malloc(size == 0 ? 1 : size);
    if (p == NULL) return NULL;
    for (i = 0; i < MAX_LIVE; i++) {
        if (c->live[i] == NULL) {
            c->live[i] = p;
            break;
        }
    }
    if (i == MAX_LIVE) {
        free(p);
        return NULL;
    }
    c->allocs++;
    return p;
}

static void counting_free(void *ctx, void *ptr) {
    counting *c = (counting *)ctx;
    int i;
    if (ptr == NULL) {
        c->null_frees++;
        return;
    }
    for (i = 0; i < MAX_LIVE; i++) {
        if (c->live[i] == ptr) {
            c->live[i] = NULL;
            c->frees++;
            free(ptr);
            return;
        }
    }
    c->unknown_frees++; /* not ours: leave it alone */
}

typedef struct io_user {
    int fd;
    int io_events;
    int freed;
    int null_data;
    int child_exits;
    int stop_midway; /* request_stop after 3 events, keep everything */
    jzx_actor_id child;
} io_user;

static jzx_behavior_result child_behavior(jzx_context *ctx, const jzx_message *msg) {
    (void)ctx;
    (void)msg;
    return JZX_BEHAVIOR_STOP;
}

static jzx_behavior_result io_user_behavior(jzx_context *ctx, const jzx_message *msg) {
    io_user *u = (io_user *)ctx->state;
    if (msg->tag == JZX_TAG_SYS_CHILD_EXIT) {
        u->child_exits++;
        /* left unfreed on purpose */
        return JZX_BEHAVIOR_STOP;
    }
    if (msg->tag == 77u) { /* the failing allocator's deadline */
        jzx_unwatch_fd(ctx->loop, u->fd);
        return JZX_BEHAVIOR_STOP;
    }
    if (msg->tag != JZX_TAG_SYS_IO) return JZX_BEHAVIOR_OK;
    u->io_events++;
    if (msg->data == NULL) {
        u->null_data++;
    } else if (u->io_events <= 3) {
        jzx_loop_free(ctx->loop, msg->data);
        u->freed++;
    }
    if (u->stop_midway && u->io_events == 3) {
        jzx_loop_request_stop(ctx->loop);
        return JZX_BEHAVIOR_OK;
    }
    if (!u->stop_midway && u->io_events == 5) {
        jzx_spawn_opts opts;
        jzx_unwatch_fd(ctx->loop, u->fd);
        memset(&opts, 0, sizeof opts);
        opts.behavior = child_behavior;
        opts.supervisor = ctx->self;
        if (jzx_spawn(ctx->loop, &opts, &u->child) == JZX_OK) {
            jzx_send(ctx->loop, u->child, NULL, 0, 1);
        } else {
            return JZX_BEHAVIOR_STOP;
        }
    }
    return JZX_BEHAVIOR_OK;
}

static void allocator_case(const char *name, int stop_midway) {
    static counting c;
    jzx_config cfg;
    jzx_loop *loop;
    jzx_actor_id id = 0;
    io_user u;
    int fds[2];

    case_begin(name);
    memset(&c, 0, sizeof c);
    jzx_config_init(&cfg);
    cfg.allocator.alloc = counting_alloc;
    cfg.allocator.free = counting_free;
    cfg.allocator.ctx = &c;
    loop = jzx_loop_create(&cfg);
    if (!CHECK(loop != NULL) || !CHECK_EQ(pipe(fds), 0)) {
        if (loop != NULL) jzx_loop_destroy(loop);
        case_end();
        return;
    }
    memset(&u, 0, sizeof u);
    u.fd = fds[0];
    u.stop_midway = stop_midway;
    id = SPAWN(loop, io_user_behavior, &u);
    CHECK_EQ(write(fds[1], "x", 1), 1); /* never read: level-triggered repeats */
    CHECK_EQ(jzx_watch_fd(loop, fds[0], id, JZX_IO_READ), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    if (stop_midway) {
        CHECK(u.io_events >= 3);
    } else {
        CHECK_EQ(u.io_events, 5);
        CHECK_EQ(u.child_exits, 1);
    }
    CHECK_EQ(u.freed, 3);
    CHECK_EQ(u.null_data, 0);
    /* The allocator served the runtime-owned payloads handed to C. */
    CHECK(c.allocs >= (stop_midway ? 3 : 6));
    CHECK(c.allocs - c.frees >= (stop_midway ? 0 : 3));
    printf("# %s before destroy: %ld allocs, %ld frees\n", name, c.allocs, c.frees);
    jzx_loop_destroy(loop);
    printf("# %s after destroy: %ld allocs, %ld frees\n", name, c.allocs, c.frees);
    CHECK_EQ(c.allocs, c.frees);
    CHECK_EQ(c.unknown_frees, 0);
    close(fds[0]);
    close(fds[1]);
    case_end();
}

static void test_failing_allocator(void) {
    static counting c;
    jzx_config cfg;
    jzx_loop *loop;
    jzx_spawn_opts opts;
    jzx_actor_id id = 0, child = 0;
    io_user u;
    int fds[2];
    int rc;

    case_begin("allocator_returning_null");
    memset(&c, 0, sizeof c);
    c.fail_all = 1;
    jzx_config_init(&cfg);
    cfg.allocator.alloc = counting_alloc;
    cfg.allocator.free = counting_free;
    cfg.allocator.ctx = &c;
    loop = jzx_loop_create(&cfg);
    if (loop == NULL) {
        printf("# jzx_loop_create with a failing allocator returned NULL\n");
        case_end();
        return;
    }
    if (!CHECK_EQ(pipe(fds), 0)) {
        jzx_loop_destroy(loop);
        case_end();
        return;
    }
    memset(&u, 0, sizeof u);
    u.fd = fds[0];
    u.stop_midway = 1; /* no child spawned from the behavior */
    memset(&opts, 0, sizeof opts);
    opts.behavior = io_user_behavior;
    opts.state = &u;
    rc = jzx_spawn(loop, &opts, &id);
    CHECK(rc == JZX_OK || rc == JZX_ERR_NO_MEMORY);
    if (rc == JZX_OK) {
        CHECK_EQ(write(fds[1], "x", 1), 1);
        rc = jzx_watch_fd(loop, fds[0], id, JZX_IO_READ);
        CHECK(rc == JZX_OK || rc == JZX_ERR_NO_MEMORY);
        rc = jzx_send_after(loop, id, 50, NULL, 0, 77u, NULL);
        CHECK(rc == JZX_OK || rc == JZX_ERR_NO_MEMORY);
        if (rc != JZX_OK) jzx_actor_stop(loop, id);
        /* A plain child whose exit payload cannot be allocated. */
        opts.behavior = child_behavior;
        opts.state = NULL;
        opts.supervisor = id;
        rc = jzx_spawn(loop, &opts, &child);
        CHECK(rc == JZX_OK || rc == JZX_ERR_NO_MEMORY);
        if (rc == JZX_OK) jzx_send(loop, child, NULL, 0, 1);
        rc = RUN_BOUNDED(loop, 5000);
        CHECK(rc == 0 || rc == JZX_ERR_NO_MEMORY);
        printf("# failing allocator: run %d, %d io events (%d with NULL data), %d child exits, "
               "%ld alloc attempts\n",
               rc, u.io_events, u.null_data, u.child_exits, c.attempts);
    }
    jzx_loop_destroy(loop);
    CHECK_EQ(c.frees, 0);
    CHECK_EQ(c.unknown_frees, 0);
    close(fds[0]);
    close(fds[1]);
    case_end();
}

int main(void) {
    check_init();
    test_null_loop();
    test_bad_arguments();
    test_config();
    test_config_honoured();
    allocator_case("allocator_gets_everything_back", 0);
    allocator_case("allocator_gets_everything_back_destroyed_midway", 1);
    test_failing_allocator();
    return check_exit();
}
