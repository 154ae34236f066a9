/*
 * supervision.c: supervisors of C children (R20-R24 through the C ABI):
 * transient restarts, escalation after the intensity is exceeded, constant
 * and exponential backoff, one_for_all, rest_for_one, unlimited intensity,
 * child ids through jzx_supervisor_child_id, and JZX_TAG_SYS_CHILD_EXIT for
 * plain children spawned with opts.supervisor.
 *
 * Children act when sent a message: a "driver" actor polls
 * jzx_supervisor_child_id on a 1 ms timer and sends each incarnation what
 * the scenario needs.
 */
#include "check.h"

#define TAG_TICK 51u
#define TAG_FAIL 52u
#define TAG_STOP 53u
#define TAG_PING 54u

/* ---- observer --------------------------------------------------------------- */

#define MAXREC 256

typedef struct obs_rec {
    int starts;
    jzx_actor_id start_id[MAXREC];
    double start_t[MAXREC];
    char start_name[MAXREC][24];
    int stops;
    jzx_actor_id stop_id[MAXREC];
    jzx_exit_reason stop_reason[MAXREC];
    int restarts;
    jzx_actor_id restart_sup[MAXREC];
    jzx_actor_id restart_child[MAXREC];
    uint32_t restart_attempt[MAXREC];
    double restart_t[MAXREC];
    int escalations;
    jzx_actor_id escalated[MAXREC];
} obs_rec;

static obs_rec rec;

static void o_start(void *ctx, jzx_actor_id id, const char *name) {
    (void)ctx;
    if (rec.starts < MAXREC) {
        rec.start_id[rec.starts] = id;
        rec.start_t[rec.starts] = now_ms();
        rec.start_name[rec.starts][0] = '\0';
        if (name != NULL) {
            strncpy(rec.start_name[rec.starts], name, sizeof rec.start_name[0] - 1);
            rec.start_name[rec.starts][sizeof rec.start_name[0] - 1] = '\0';
        }
    }
    rec.starts++;
}

static void o_stop(void *ctx, jzx_actor_id id, jzx_exit_reason reason) {
    (void)ctx;
    if (rec.stops < MAXREC) {
        rec.stop_id[rec.stops] = id;
        rec.stop_reason[rec.stops] = reason;
    }
    rec.stops++;
}

static void o_restart(void *ctx, jzx_actor_id sup, jzx_actor_id child, uint32_t attempt) {
    (void)ctx;
    if (rec.restarts < MAXREC) {
        rec.restart_sup[rec.restarts] = sup;
        rec.restart_child[rec.restarts] = child;
        rec.restart_attempt[rec.restarts] = attempt;
        rec.restart_t[rec.restarts] = now_ms();
    }
    rec.restarts++;
}

static void o_escalate(void *ctx, jzx_actor_id sup) {
    (void)ctx;
    if (rec.escalations < MAXREC) rec.escalated[rec.escalations] = sup;
    rec.escalations++;
}

static jzx_loop *observed_loop(void) {
    jzx_loop *loop = NEW_LOOP();
    jzx_observer o;
    memset(&rec, 0, sizeof rec);
    memset(&o, 0, sizeof o);
    o.on_actor_start = o_start;
    o.on_actor_stop = o_stop;
    o.on_actor_restart = o_restart;
    o.on_supervisor_escalate = o_escalate;
    jzx_loop_set_observer(loop, &o, NULL);
    return loop;
}

static int stop_index_of(jzx_actor_id id) {
    int i;
    for (i = 0; i < rec.stops && i < MAXREC; i++) {
        if (rec.stop_id[i] == id) return i;
    }
    return -1;
}

static int start_index_of(jzx_actor_id id) {
    int i;
    for (i = 0; i < rec.starts && i < MAXREC; i++) {
        if (rec.start_id[i] == id) return i;
    }
    return -1;
}

/* ---- workers (children) ----------------------------------------------------- */

typedef struct worker {
    int msgs;
    int incarnations; /* distinct ctx->self values seen */
    jzx_actor_id last_self;
    double t_fail;
    int fails;
} worker;

static worker workers[3];
static int bad_worker_state = 0;

static jzx_behavior_result worker_behavior(jzx_context *ctx, const jzx_message *msg) {
    worker *w = (worker *)ctx->state;
    if (w < &workers[0] || w > &workers[2]) {
        bad_worker_state++;
        return JZX_BEHAVIOR_FAIL;
    }
    w->msgs++;
    if (ctx->self != w->last_self) {
        w->incarnations++;
        w->last_self = ctx->self;
    }
    if (msg->tag == TAG_FAIL) {
        w->fails++;
        w->t_fail = now_ms();
        return JZX_BEHAVIOR_FAIL;
    }
    if (msg->tag == TAG_STOP) return JZX_BEHAVIOR_STOP;
    return JZX_BEHAVIOR_OK;
}

static void child_spec_init(jzx_child_spec *c, int index, jzx_child_mode mode) {
    memset(c, 0, sizeof *c);
    c->behavior = worker_behavior;
    c->state = &workers[index];
    c->mode = mode;
    c->backoff = JZX_BACKOFF_NONE;
}

/* ---- driver ------------------------------------------------------------------- */

typedef struct driver driver;
/* Returns 1 when the scenario is done. */
typedef int (*step_fn)(driver *d, jzx_context *ctx);

struct driver {
    step_fn step;
    jzx_actor_id sup;
    jzx_actor_id orig[3];
    jzx_actor_id now[3];
    jzx_actor_id last_sent;
    int phase;
    int count;
    int saw_down;
    int sup_gone;
    double t_mark;
    double deadline;
    int timed_out;
    int errors;
    int error_line;
    int error_rc;
};

/* Counts a driver error, keeping the line and code of the first. */
#define DRIVER_ERROR(d, rc)             \
    do {                                \
        (d)->errors++;                  \
        if ((d)->error_line == 0) {     \
            (d)->error_line = __LINE__; \
            (d)->error_rc = (rc);       \
        }                               \
    } while (0)

/* Runs an API call and records a driver error when it does not return OK. */
#define DRIVER_CALL(d, call)                   \
    do {                                       \
        int e_ = (call);                       \
        if (e_ != JZX_OK) DRIVER_ERROR(d, e_); \
    } while (0)

static jzx_behavior_result driver_behavior(jzx_context *ctx, const jzx_message *msg) {
    driver *d = (driver *)ctx->state;
    (void)msg;
    if (d->step(d, ctx)) return JZX_BEHAVIOR_STOP;
    if (now_ms() > d->deadline) {
        d->timed_out = 1;
        jzx_actor_stop(ctx->loop, d->sup);
        return JZX_BEHAVIOR_STOP;
    }
    if (jzx_send_after(ctx->loop, ctx->self, 1, NULL, 0, TAG_TICK, NULL) != JZX_OK) {
        DRIVER_ERROR(d, -2000);
        jzx_actor_stop(ctx->loop, d->sup);
        return JZX_BEHAVIOR_STOP;
    }
    return JZX_BEHAVIOR_OK;
}

static void start_driver(jzx_loop *loop, driver *d, step_fn step, jzx_actor_id sup) {
    jzx_actor_id id = 0;
    d->step = step;
    d->sup = sup;
    d->deadline = now_ms() + 3000.0 * slow_factor();
    id = SPAWN(loop, driver_behavior, d);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, TAG_TICK), JZX_OK);
}

static jzx_supervisor_spec sup_spec(jzx_supervisor_strategy strategy, uint32_t intensity,
                                    uint32_t period_ms, jzx_backoff_type backoff,
                                    uint32_t backoff_delay_ms) {
    jzx_supervisor_spec s;
    memset(&s, 0, sizeof s);
    s.strategy = strategy;
    s.intensity = intensity;
    s.period_ms = period_ms;
    s.backoff = backoff;
    s.backoff_delay_ms = backoff_delay_ms;
    return s;
}

static jzx_actor_id child_now(jzx_loop *loop, jzx_actor_id sup, size_t index, int *rc_out) {
    jzx_actor_id id = 0xdeadull;
    int rc = jzx_supervisor_child_id(loop, sup, index, &id);
    if (rc_out != NULL) *rc_out = rc;
    return rc == JZX_OK ? id : 0;
}

/* ---- A: transient child restarted exactly once -------------------------------- */

static int step_transient(driver *d, jzx_context *ctx) {
    int rc;
    jzx_actor_id id = child_now(ctx->loop, d->sup, 0, &rc);
    if (rc == JZX_ERR_NO_SUCH_ACTOR && d->phase > 0) {
        d->sup_gone = 1;
        return 1;
    }
    if (rc != JZX_OK) {
        DRIVER_ERROR(d, rc);
        return 1;
    }
    switch (d->phase) {
    case 0: /* wait for the restarted incarnation, tell it to stop normally */
        if (id != 0 && id != d->orig[0]) {
            d->now[0] = id;
            DRIVER_CALL(d, jzx_send(ctx->loop, id, NULL, 0, TAG_STOP));
            d->phase = 1;
        }
        return 0;
    case 1: /* transient + normal exit: down for good */
        if (id == 0) {
            d->t_mark = now_ms();
            d->phase = 2;
        }
        return 0;
    default: /* 50 ms later it is still down, then stop everything */
        if (id != 0) DRIVER_ERROR(d, -1000);
        if (now_ms() - d->t_mark < 50.0) return 0;
        DRIVER_CALL(d, jzx_actor_stop(ctx->loop, d->sup));
        return 1;
    }
}

/* lone: the transient worker is the supervisor's only child; else it has a
 * permanent sibling (child 1) that just idles. */
static void transient_case(int lone) {
    jzx_loop *loop;
    jzx_child_spec children[2];
    jzx_supervisor_init init;
    jzx_actor_id sup = 0;
    driver d;
    int k;

    case_begin(lone ? "supervisor_outlives_its_only_transient_child"
                    : "transient_child_restarted_once");
    loop = observed_loop();
    memset(workers, 0, sizeof workers);
    child_spec_init(&children[0], 0, JZX_CHILD_TRANSIENT);
    children[0].name = "transient-worker";
    child_spec_init(&children[1], 1, JZX_CHILD_PERMANENT);
    memset(&init, 0, sizeof init);
    init.children = children;
    init.child_count = lone ? 1 : 2;
    init.supervisor = sup_spec(JZX_SUP_ONE_FOR_ONE, 5, 1000, JZX_BACKOFF_NONE, 0);
    CHECK_EQ(jzx_spawn_supervisor(loop, &init, 0, &sup), JZX_OK);
    memset(&d, 0, sizeof d);
    /* Children start before jzx_spawn_supervisor returns. */
    d.orig[0] = child_now(loop, sup, 0, NULL);
    CHECK(d.orig[0] != 0);
    k = start_index_of(d.orig[0]);
    if (CHECK(k >= 0)) CHECK(strcmp(rec.start_name[k], "transient-worker") == 0);
    CHECK_EQ(jzx_send(loop, d.orig[0], NULL, 0, TAG_FAIL), JZX_OK);
    start_driver(loop, &d, step_transient, sup);
    CHECK_EQ(RUN_BOUNDED(loop, 6000), 0);
    CHECK_EQ(d.timed_out, 0);
    if (!CHECK_EQ(d.errors, 0)) FAILF("driver error at line %d: %d", d.error_line, d.error_rc);
    if (!CHECK_EQ(d.sup_gone, 0)) {
        FAILF("the supervisor stopped itself when its transient child exited normally: "
              "jzx_supervisor_child_id(sup, 0) gave NO_SUCH_ACTOR where SPEC 5 says OK with 0 "
              "for a child that is not restarted");
    }
    CHECK_EQ(bad_worker_state, 0);
    CHECK_EQ(rec.restarts, 1);
    if (rec.restarts >= 1) {
        CHECK_EQ_U64(rec.restart_sup[0], sup);
        printf("# restart: child 0x%llx attempt %u\n", (unsigned long long)rec.restart_child[0],
               (unsigned)rec.restart_attempt[0]);
    }
    CHECK_EQ(rec.escalations, 0);
    CHECK_EQ(workers[0].incarnations, 2);
    CHECK_EQ(workers[0].msgs, 2);
    k = stop_index_of(d.orig[0]);
    if (CHECK(k >= 0)) CHECK_EQ(rec.stop_reason[k], JZX_EXIT_FAIL);
    k = stop_index_of(d.now[0]);
    if (CHECK(k >= 0)) CHECK_EQ(rec.stop_reason[k], JZX_EXIT_NORMAL);
    k = stop_index_of(sup);
    if (CHECK(k >= 0)) CHECK_EQ(rec.stop_reason[k], JZX_EXIT_NORMAL);
    /* The restarted incarnation registered the same name again. */
    k = start_index_of(d.now[0]);
    if (CHECK(k >= 0)) CHECK(strcmp(rec.start_name[k], "transient-worker") == 0);
    jzx_loop_destroy(loop);
    case_end();
}

/* ---- B: escalation --------------------------------------------------------------- */

/* Fails every incarnation until the supervisor is gone. */
static int step_always_fail(driver *d, jzx_context *ctx) {
    int rc;
    jzx_actor_id id = child_now(ctx->loop, d->sup, 0, &rc);
    if (rc == JZX_ERR_NO_SUCH_ACTOR) return 1; /* the supervisor died */
    if (rc != JZX_OK) {
        DRIVER_ERROR(d, rc);
        return 1;
    }
    if (id != 0 && id != d->last_sent) {
        DRIVER_CALL(d, jzx_send(ctx->loop, id, NULL, 0, TAG_FAIL));
        d->last_sent = id;
        d->count++;
    }
    return 0;
}

typedef struct parent_state {
    int exits;
    jzx_actor_id child[8];
    jzx_actor_status status[8];
    int bad;
    int expect;
} parent_state;

static jzx_behavior_result parent_behavior(jzx_context *ctx, const jzx_message *msg) {
    parent_state *p = (parent_state *)ctx->state;
    if (msg->tag != JZX_TAG_SYS_CHILD_EXIT) return JZX_BEHAVIOR_OK;
    if (msg->len != sizeof(jzx_child_exit) || msg->sender != 0 || msg->data == NULL) {
        p->bad++;
    } else {
        const jzx_child_exit *e = (const jzx_child_exit *)msg->data;
        if (p->exits < 8) {
            p->child[p->exits] = e->child;
            p->status[p->exits] = e->status;
        }
        jzx_loop_free(ctx->loop, msg->data);
    }
    p->exits++;
    return p->exits >= p->expect ? JZX_BEHAVIOR_STOP : JZX_BEHAVIOR_OK;
}

static void escalation_case(int with_parent) {
    jzx_loop *loop;
    jzx_child_spec child;
    jzx_supervisor_init init;
    jzx_actor_id sup = 0, parent = 0, out = 0;
    parent_state ps;
    driver d;
    int k;

    case_begin(with_parent ? "escalation_reaches_parent" : "escalation_after_intensity");
    loop = observed_loop();
    memset(workers, 0, sizeof workers);
    memset(&ps, 0, sizeof ps);
    ps.expect = 1;
    if (with_parent) {
        parent = SPAWN(loop, parent_behavior, &ps);
    }
    child_spec_init(&child, 0, JZX_CHILD_PERMANENT);
    memset(&init, 0, sizeof init);
    init.children = &child;
    init.child_count = 1;
    init.supervisor = sup_spec(JZX_SUP_ONE_FOR_ONE, 1, 1000, JZX_BACKOFF_NONE, 0);
    CHECK_EQ(jzx_spawn_supervisor(loop, &init, parent, &sup), JZX_OK);
    memset(&d, 0, sizeof d);
    start_driver(loop, &d, step_always_fail, sup);
    CHECK_EQ(RUN_BOUNDED(loop, 6000), 0);
    CHECK_EQ(d.timed_out, 0);
    if (!CHECK_EQ(d.errors, 0)) FAILF("driver error at line %d: %d", d.error_line, d.error_rc);
    CHECK_EQ(bad_worker_state, 0);
    /* Failure 1 is restarted; failure 2 exceeds 1 restart in 1000 ms. */
    CHECK_EQ(d.count, 2);
    CHECK_EQ(workers[0].fails, 2);
    CHECK_EQ(rec.restarts, 1);
    CHECK_EQ(rec.escalations, 1);
    if (rec.escalations >= 1) CHECK_EQ_U64(rec.escalated[0], sup);
    k = stop_index_of(sup);
    if (CHECK(k >= 0)) CHECK_EQ(rec.stop_reason[k], JZX_EXIT_FAIL);
    CHECK_EQ(jzx_supervisor_child_id(loop, sup, 0, &out), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_send(loop, sup, NULL, 0, TAG_PING), JZX_ERR_NO_SUCH_ACTOR);
    if (with_parent) {
        CHECK_EQ(ps.bad, 0);
        CHECK_EQ(ps.exits, 1);
        CHECK_EQ_U64(ps.child[0], sup);
        CHECK_EQ(ps.status[0], JZX_ACTOR_FAILED);
    }
    jzx_loop_destroy(loop);
    case_end();
}

/* ---- C, D: backoff ----------------------------------------------------------------- */

static int step_wait_restart(driver *d, jzx_context *ctx) {
    int rc;
    jzx_actor_id id = child_now(ctx->loop, d->sup, 0, &rc);
    if (rc != JZX_OK) {
        DRIVER_ERROR(d, rc);
        return 1;
    }
    if (id == 0 && workers[0].fails > 0) d->saw_down = 1;
    if (id != 0 && id != d->orig[0]) {
        d->now[0] = id;
        DRIVER_CALL(d, jzx_actor_stop(ctx->loop, d->sup));
        return 1;
    }
    return 0;
}

static void backoff_case(const char *name, jzx_backoff_type sup_backoff, uint32_t sup_delay,
                         uint32_t child_delay, double min_ms, double spec_ms) {
    jzx_loop *loop;
    jzx_child_spec child;
    jzx_supervisor_init init;
    jzx_actor_id sup = 0;
    driver d;
    int k;

    case_begin(name);
    loop = observed_loop();
    memset(workers, 0, sizeof workers);
    child_spec_init(&child, 0, JZX_CHILD_PERMANENT);
    child.restart_delay_ms = child_delay;
    child.backoff = JZX_BACKOFF_NONE;
    memset(&init, 0, sizeof init);
    init.children = &child;
    init.child_count = 1;
    init.supervisor = sup_spec(JZX_SUP_ONE_FOR_ONE, 0, 0, sup_backoff, sup_delay);
    CHECK_EQ(jzx_spawn_supervisor(loop, &init, 0, &sup), JZX_OK);
    memset(&d, 0, sizeof d);
    d.orig[0] = child_now(loop, sup, 0, NULL);
    CHECK(d.orig[0] != 0);
    CHECK_EQ(jzx_send(loop, d.orig[0], NULL, 0, TAG_FAIL), JZX_OK);
    start_driver(loop, &d, step_wait_restart, sup);
    CHECK_EQ(RUN_BOUNDED(loop, 6000), 0);
    CHECK_EQ(d.timed_out, 0);
    if (!CHECK_EQ(d.errors, 0)) FAILF("driver error at line %d: %d", d.error_line, d.error_rc);
    CHECK_EQ(workers[0].fails, 1);
    CHECK_EQ(rec.restarts, 1);
    /* While waiting out the delay the child is down: id 0. */
    CHECK_EQ(d.saw_down, 1);
    k = start_index_of(d.now[0]);
    if (CHECK(k >= 0)) {
        double waited = rec.start_t[k] - workers[0].t_fail;
        if (!CHECK(waited >= min_ms)) {
            FAILF("restarted %.3f ms after the failure, expected >= %.0f", waited, min_ms);
        }
        if (!CHECK(waited < 2000.0 * slow_factor())) FAILF("restarted after %.3f ms", waited);
        printf("# %s: restarted %.3f ms after the failure (SPEC R23: %.0f ms)\n", name, waited,
               spec_ms);
        if (waited < spec_ms - 1.0) {
            printf("# note: below the %.0f ms SPEC R23 gives for this configuration\n", spec_ms);
        }
    }
    jzx_loop_destroy(loop);
    case_end();
}

/* ---- E, F: one_for_all and rest_for_one -------------------------------------------- */

static int step_group(driver *d, jzx_context *ctx, int n, int first_changed) {
    int i, rc, changed = 1;
    for (i = 0; i < n; i++) {
        d->now[i] = child_now(ctx->loop, d->sup, (size_t)i, &rc);
        if (rc != JZX_OK) {
            DRIVER_ERROR(d, rc);
            return 1;
        }
        if (i >= first_changed && (d->now[i] == 0 || d->now[i] == d->orig[i])) changed = 0;
    }
    if (d->phase == 0) {
        if (!changed) return 0;
        d->phase = 1;
        d->t_mark = now_ms();
        return 0;
    }
    /* Settled for 20 ms: nothing restarts any more. Hand back to main with
     * the supervisor still running. */
    if (now_ms() - d->t_mark < 20.0) return 0;
    jzx_loop_request_stop(ctx->loop);
    return 1;
}

static int step_one_for_all(driver *d, jzx_context *ctx) {
    return step_group(d, ctx, 2, 0);
}

static int step_rest_for_one(driver *d, jzx_context *ctx) {
    return step_group(d, ctx, 3, 1);
}

static void test_one_for_all(void) {
    jzx_loop *loop;
    jzx_child_spec children[2];
    jzx_supervisor_init init;
    jzx_actor_id sup = 0, after[2];
    driver d;
    int i;

    case_begin("one_for_all_restarts_both");
    loop = observed_loop();
    memset(workers, 0, sizeof workers);
    child_spec_init(&children[0], 0, JZX_CHILD_PERMANENT);
    child_spec_init(&children[1], 1, JZX_CHILD_PERMANENT);
    children[0].name = "ofa-0";
    children[1].name = "ofa-1";
    memset(&init, 0, sizeof init);
    init.children = children;
    init.child_count = 2;
    init.supervisor = sup_spec(JZX_SUP_ONE_FOR_ALL, 5, 1000, JZX_BACKOFF_NONE, 0);
    CHECK_EQ(jzx_spawn_supervisor(loop, &init, 0, &sup), JZX_OK);
    memset(&d, 0, sizeof d);
    for (i = 0; i < 2; i++) {
        d.orig[i] = child_now(loop, sup, (size_t)i, NULL);
        CHECK(d.orig[i] != 0);
    }
    CHECK(d.orig[0] != d.orig[1]);
    /* Children start in order. */
    CHECK(start_index_of(d.orig[0]) >= 0 &&
          start_index_of(d.orig[0]) < start_index_of(d.orig[1]));
    /* Child 1 handles a ping in its first incarnation. */
    CHECK_EQ(jzx_send(loop, d.orig[1], NULL, 0, TAG_PING), JZX_OK);
    CHECK_EQ(jzx_send(loop, d.orig[0], NULL, 0, TAG_FAIL), JZX_OK);
    start_driver(loop, &d, step_one_for_all, sup);
    CHECK_EQ(RUN_BOUNDED(loop, 6000), 0);
    CHECK_EQ(d.timed_out, 0);
    if (!CHECK_EQ(d.errors, 0)) FAILF("driver error at line %d: %d", d.error_line, d.error_rc);
    for (i = 0; i < 2; i++) {
        after[i] = child_now(loop, sup, (size_t)i, NULL);
        CHECK(after[i] != 0);
        CHECK(after[i] != d.orig[i]);
        CHECK_EQ(jzx_send(loop, d.orig[i], NULL, 0, TAG_PING), JZX_ERR_NO_SUCH_ACTOR);
        /* The new incarnations get messages. */
        CHECK_EQ(jzx_send(loop, after[i], NULL, 0, TAG_PING), JZX_OK);
    }
    CHECK(rec.restarts >= 1);
    CHECK_EQ(rec.escalations, 0);
    CHECK_EQ(jzx_actor_stop(loop, sup), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(workers[1].incarnations, 2);
    CHECK_EQ(workers[0].fails, 1);
    CHECK_EQ(bad_worker_state, 0);
    jzx_loop_destroy(loop);
    case_end();
}

static void test_rest_for_one(void) {
    jzx_loop *loop;
    jzx_child_spec children[3];
    jzx_supervisor_init init;
    jzx_actor_id sup = 0, after[3];
    driver d;
    int i, k0, k1, k2, ks;

    case_begin("rest_for_one_restarts_failed_and_later");
    loop = observed_loop();
    memset(workers, 0, sizeof workers);
    for (i = 0; i < 3; i++) child_spec_init(&children[i], i, JZX_CHILD_PERMANENT);
    memset(&init, 0, sizeof init);
    init.children = children;
    init.child_count = 3;
    init.supervisor = sup_spec(JZX_SUP_REST_FOR_ONE, 5, 1000, JZX_BACKOFF_NONE, 0);
    CHECK_EQ(jzx_spawn_supervisor(loop, &init, 0, &sup), JZX_OK);
    memset(&d, 0, sizeof d);
    for (i = 0; i < 3; i++) {
        d.orig[i] = child_now(loop, sup, (size_t)i, NULL);
        CHECK(d.orig[i] != 0);
    }
    CHECK(start_index_of(d.orig[0]) < start_index_of(d.orig[1]));
    CHECK(start_index_of(d.orig[1]) < start_index_of(d.orig[2]));
    CHECK_EQ(jzx_send(loop, d.orig[1], NULL, 0, TAG_FAIL), JZX_OK);
    start_driver(loop, &d, step_rest_for_one, sup);
    CHECK_EQ(RUN_BOUNDED(loop, 6000), 0);
    CHECK_EQ(d.timed_out, 0);
    if (!CHECK_EQ(d.errors, 0)) FAILF("driver error at line %d: %d", d.error_line, d.error_rc);
    for (i = 0; i < 3; i++) after[i] = child_now(loop, sup, (size_t)i, NULL);
    CHECK_EQ_U64(after[0], d.orig[0]);
    CHECK(after[1] != 0 && after[1] != d.orig[1]);
    CHECK(after[2] != 0 && after[2] != d.orig[2]);
    CHECK_EQ(jzx_send(loop, d.orig[0], NULL, 0, TAG_PING), JZX_OK);
    CHECK_EQ(jzx_send(loop, d.orig[2], NULL, 0, TAG_PING), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(rec.escalations, 0);
    /* Stopping the supervisor stops its children in reverse order first (R24). */
    CHECK_EQ(jzx_actor_stop(loop, sup), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    k0 = stop_index_of(after[0]);
    k1 = stop_index_of(after[1]);
    k2 = stop_index_of(after[2]);
    ks = stop_index_of(sup);
    if (CHECK(k0 >= 0 && k1 >= 0 && k2 >= 0 && ks >= 0)) {
        if (!CHECK(k2 < k1 && k1 < k0 && k0 < ks)) {
            FAILF("stop order: child2 #%d, child1 #%d, child0 #%d, supervisor #%d", k2, k1, k0,
                  ks);
        }
    }
    CHECK_EQ(workers[0].incarnations, 1);
    CHECK_EQ(bad_worker_state, 0);
    jzx_loop_destroy(loop);
    case_end();
}

/* ---- intensity 0: unlimited ----------------------------------------------------------- */

static int step_fail_five(driver *d, jzx_context *ctx) {
    int rc;
    jzx_actor_id id = child_now(ctx->loop, d->sup, 0, &rc);
    if (rc != JZX_OK) {
        DRIVER_ERROR(d, rc);
        return 1;
    }
    if (id != 0 && id != d->last_sent) {
        if (d->count == 5) {
            d->now[0] = id;
            DRIVER_CALL(d, jzx_actor_stop(ctx->loop, d->sup));
            return 1;
        }
        DRIVER_CALL(d, jzx_send(ctx->loop, id, NULL, 0, TAG_FAIL));
        d->last_sent = id;
        d->count++;
    }
    return 0;
}

static void test_unlimited(void) {
    jzx_loop *loop;
    jzx_child_spec child;
    jzx_supervisor_init init;
    jzx_actor_id sup = 0;
    driver d;
    int i, k;

    case_begin("intensity_0_is_unlimited");
    loop = observed_loop();
    memset(workers, 0, sizeof workers);
    child_spec_init(&child, 0, JZX_CHILD_PERMANENT);
    memset(&init, 0, sizeof init);
    init.children = &child;
    init.child_count = 1;
    init.supervisor = sup_spec(JZX_SUP_ONE_FOR_ONE, 0, 0, JZX_BACKOFF_NONE, 0);
    CHECK_EQ(jzx_spawn_supervisor(loop, &init, 0, &sup), JZX_OK);
    memset(&d, 0, sizeof d);
    start_driver(loop, &d, step_fail_five, sup);
    CHECK_EQ(RUN_BOUNDED(loop, 6000), 0);
    CHECK_EQ(d.timed_out, 0);
    if (!CHECK_EQ(d.errors, 0)) FAILF("driver error at line %d: %d", d.error_line, d.error_rc);
    CHECK_EQ(d.count, 5);
    CHECK_EQ(rec.restarts, 5);
    CHECK_EQ(rec.escalations, 0);
    k = stop_index_of(sup);
    if (CHECK(k >= 0)) CHECK_EQ(rec.stop_reason[k], JZX_EXIT_NORMAL);
    printf("# attempts:");
    for (i = 0; i < rec.restarts && i < MAXREC; i++) {
        printf(" %u", (unsigned)rec.restart_attempt[i]);
    }
    printf("\n");
    jzx_loop_destroy(loop);
    case_end();
}

/* ---- child exit of plain children ------------------------------------------------------ */

static void test_plain_child_exit(void) {
    jzx_loop *loop;
    parent_state ps;
    jzx_spawn_opts opts;
    jzx_actor_id parent = 0, c[4] = {0, 0, 0, 0}, stale = 0;
    int i, j;
    jzx_actor_status want[4] = {JZX_ACTOR_STOPPED, JZX_ACTOR_FAILED, JZX_ACTOR_FAILED,
                                JZX_ACTOR_STOPPED};

    case_begin("plain_child_exit_message");
    loop = observed_loop();
    memset(workers, 0, sizeof workers);
    memset(&ps, 0, sizeof ps);
    ps.expect = 4;
    parent = SPAWN(loop, parent_behavior, &ps);
    memset(&opts, 0, sizeof opts);
    opts.behavior = worker_behavior;
    opts.state = &workers[0];
    opts.supervisor = parent;
    for (i = 0; i < 4; i++) CHECK_EQ(jzx_spawn(loop, &opts, &c[i]), JZX_OK);
    CHECK_EQ(jzx_send(loop, c[0], NULL, 0, TAG_STOP), JZX_OK); /* normal stop */
    CHECK_EQ(jzx_send(loop, c[1], NULL, 0, TAG_FAIL), JZX_OK); /* fail */
    CHECK_EQ(jzx_actor_fail(loop, c[2]), JZX_OK);               /* external fail */
    CHECK_EQ(jzx_actor_stop(loop, c[3]), JZX_OK);               /* external stop */
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(ps.bad, 0);
    CHECK_EQ(ps.exits, 4);
    for (i = 0; i < 4; i++) {
        int found = 0;
        for (j = 0; j < ps.exits && j < 8; j++) {
            if (ps.child[j] == c[i]) {
                found = 1;
                if (!CHECK_EQ(ps.status[j], want[i])) FAILF("child %d", i);
            }
        }
        if (!found) FAILF("no child exit for child %d", i);
    }
    /* A dead supervisor is refused. */
    stale = c[0];
    opts.supervisor = stale;
    CHECK_EQ(jzx_spawn(loop, &opts, NULL), JZX_ERR_NO_SUCH_ACTOR);
    jzx_loop_destroy(loop);
    case_end();
}

int main(void) {
    check_init();
    transient_case(0);
    transient_case(1);
    escalation_case(0);
    escalation_case(1);
    backoff_case("constant_backoff_50ms", JZX_BACKOFF_CONSTANT, 50, 0, 49.0, 50.0);
    backoff_case("exponential_backoff_base_20", JZX_BACKOFF_EXPONENTIAL, 0, 20, 30.0, 40.0);
    test_one_for_all();
    test_rest_for_one();
    test_unlimited();
    test_plain_child_exit();
    return check_exit();
}
