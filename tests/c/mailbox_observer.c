/*
 * mailbox_observer.c: bounded mailboxes refuse with MAILBOX_FULL (R8), and
 * the observer (R18) hears of actor start (id, name), stop (id, reason) and
 * mailbox full, the last one before the refusing jzx_send returns. The
 * observer table is copied by jzx_loop_set_observer; NULL removes it.
 */
#include "check.h"

#define MAX_EVENTS 64

typedef struct record {
    int starts;
    jzx_actor_id start_ids[MAX_EVENTS];
    char start_names[MAX_EVENTS][32];
    int stops;
    jzx_actor_id stop_ids[MAX_EVENTS];
    jzx_exit_reason stop_reasons[MAX_EVENTS];
    int fulls;
    jzx_actor_id full_ids[MAX_EVENTS];
    int restarts;
    int escalations;
    int wrong_ctx;
    int stale_table_calls; /* calls through the table the caller overwrote */
} record;

static record rec;

static void on_start(void *ctx, jzx_actor_id id, const char *name) {
    record *r = (record *)ctx;
    if (r != &rec) {
        rec.wrong_ctx++;
        return;
    }
    if (r->starts < MAX_EVENTS) {
        r->start_ids[r->starts] = id;
        if (name != NULL) {
            strncpy(r->start_names[r->starts], name, sizeof r->start_names[0] - 1);
        } else {
            strcpy(r->start_names[r->starts], "(null)");
        }
    }
    r->starts++;
}

static void on_stop(void *ctx, jzx_actor_id id, jzx_exit_reason reason) {
    record *r = (record *)ctx;
    if (r != &rec) {
        rec.wrong_ctx++;
        return;
    }
    if (r->stops < MAX_EVENTS) {
        r->stop_ids[r->stops] = id;
        r->stop_reasons[r->stops] = reason;
    }
    r->stops++;
}

static void on_full(void *ctx, jzx_actor_id target) {
    record *r = (record *)ctx;
    if (r != &rec) {
        rec.wrong_ctx++;
        return;
    }
    if (r->fulls < MAX_EVENTS) r->full_ids[r->fulls] = target;
    r->fulls++;
}

static void on_restart(void *ctx, jzx_actor_id sup, jzx_actor_id child, uint32_t attempt) {
    (void)ctx;
    (void)sup;
    (void)child;
    (void)attempt;
    rec.restarts++;
}

static void on_escalate(void *ctx, jzx_actor_id sup) {
    (void)ctx;
    (void)sup;
    rec.escalations++;
}

/* What the caller's table is overwritten with after jzx_loop_set_observer. */
static void stale_start(void *ctx, jzx_actor_id id, const char *name) {
    (void)ctx;
    (void)id;
    (void)name;
    rec.stale_table_calls++;
}
static void stale_stop(void *ctx, jzx_actor_id id, jzx_exit_reason reason) {
    (void)ctx;
    (void)id;
    (void)reason;
    rec.stale_table_calls++;
}
static void stale_full(void *ctx, jzx_actor_id target) {
    (void)ctx;
    (void)target;
    rec.stale_table_calls++;
}

/* Installs the observer from a table on this function's stack, then
 * overwrites the table: the loop must have copied it. */
static void install_observer(jzx_loop *loop) {
    jzx_observer obs;
    memset(&obs, 0, sizeof obs);
    obs.on_actor_start = on_start;
    obs.on_actor_stop = on_stop;
    obs.on_actor_restart = on_restart;
    obs.on_supervisor_escalate = on_escalate;
    obs.on_mailbox_full = on_full;
    jzx_loop_set_observer(loop, &obs, &rec);
    obs.on_actor_start = stale_start;
    obs.on_actor_stop = stale_stop;
    obs.on_actor_restart = NULL;
    obs.on_supervisor_escalate = NULL;
    obs.on_mailbox_full = stale_full;
    /* Keep the stores from being optimised away. */
    {
        volatile jzx_observer *v = &obs;
        (void)v->on_actor_start;
    }
}

typedef struct st {
    int got;
    jzx_behavior_result answer;
} st;

static jzx_behavior_result answer_behavior(jzx_context *ctx, const jzx_message *msg) {
    st *s = (st *)ctx->state;
    (void)msg;
    s->got++;
    return s->answer;
}

static jzx_behavior_result keep_going(jzx_context *ctx, const jzx_message *msg) {
    st *s = (st *)ctx->state;
    (void)msg;
    s->got++;
    return JZX_BEHAVIOR_OK;
}

static int stop_index(jzx_actor_id id) {
    int i;
    for (i = 0; i < rec.stops && i < MAX_EVENTS; i++) {
        if (rec.stop_ids[i] == id) return i;
    }
    return -1;
}

static void test_mailbox_full_and_observer(void) {
    jzx_loop *loop;
    jzx_spawn_opts opts;
    jzx_actor_id small = 0, normal = 0, failing = 0, ext_stop = 0, ext_fail = 0;
    st s_small, s_normal, s_failing, s_ext_stop, s_ext_fail;
    int i, k;

    case_begin("mailbox_cap_1_and_observer");
    memset(&rec, 0, sizeof rec);
    loop = NEW_LOOP();
    install_observer(loop);

    memset(&s_small, 0, sizeof s_small);
    memset(&s_normal, 0, sizeof s_normal);
    memset(&s_failing, 0, sizeof s_failing);
    memset(&s_ext_stop, 0, sizeof s_ext_stop);
    memset(&s_ext_fail, 0, sizeof s_ext_fail);
    s_small.answer = JZX_BEHAVIOR_STOP;
    s_normal.answer = JZX_BEHAVIOR_STOP;
    s_failing.answer = JZX_BEHAVIOR_FAIL;

    memset(&opts, 0, sizeof opts);
    opts.behavior = answer_behavior;
    opts.state = &s_small;
    opts.mailbox_cap = 1;
    opts.name = "small";
    CHECK_EQ(jzx_spawn(loop, &opts, &small), JZX_OK);
    opts.mailbox_cap = 0;
    opts.state = &s_normal;
    opts.name = "normal";
    CHECK_EQ(jzx_spawn(loop, &opts, &normal), JZX_OK);
    opts.state = &s_failing;
    opts.name = NULL;
    CHECK_EQ(jzx_spawn(loop, &opts, &failing), JZX_OK);
    opts.behavior = keep_going;
    opts.state = &s_ext_stop;
    opts.name = "ext_stop";
    CHECK_EQ(jzx_spawn(loop, &opts, &ext_stop), JZX_OK);
    opts.state = &s_ext_fail;
    opts.name = "ext_fail";
    CHECK_EQ(jzx_spawn(loop, &opts, &ext_fail), JZX_OK);

    /* Start: one per spawn, with the id and the name. */
    CHECK_EQ(rec.starts, 5);
    if (rec.starts >= 2) {
        CHECK_EQ_U64(rec.start_ids[0], small);
        CHECK(strcmp(rec.start_names[0], "small") == 0);
        CHECK_EQ_U64(rec.start_ids[1], normal);
        CHECK(strcmp(rec.start_names[1], "normal") == 0);
    }

    /* mailbox_cap 1: the second send is refused and the observer hears of
     * it before jzx_send returns. */
    CHECK_EQ(jzx_send(loop, small, NULL, 0, 1), JZX_OK);
    CHECK_EQ(rec.fulls, 0);
    CHECK_EQ(jzx_send(loop, small, NULL, 0, 2), JZX_ERR_MAILBOX_FULL);
    CHECK_EQ(rec.fulls, 1);
    CHECK_EQ_U64(rec.full_ids[0], small);
    CHECK_EQ(jzx_send(loop, small, NULL, 0, 3), JZX_ERR_MAILBOX_FULL);
    CHECK_EQ(rec.fulls, 2);
    /* A default mailbox takes many more. */
    for (i = 0; i < 100; i++) CHECK_EQ(jzx_send(loop, normal, NULL, 0, 1), JZX_OK);
    CHECK_EQ(rec.fulls, 2);
    CHECK_EQ(jzx_send(loop, failing, NULL, 0, 1), JZX_OK);
    /* External stop and fail (R12): torn down at the next turn without
     * processing the message already queued. */
    CHECK_EQ(jzx_send(loop, ext_stop, NULL, 0, 1), JZX_OK);
    CHECK_EQ(jzx_send(loop, ext_fail, NULL, 0, 1), JZX_OK);
    CHECK_EQ(jzx_actor_stop(loop, ext_stop), JZX_OK);
    CHECK_EQ(jzx_actor_fail(loop, ext_fail), JZX_OK);

    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(s_small.got, 1);
    CHECK_EQ(s_normal.got, 1); /* stopped after the first of its 100 */
    CHECK_EQ(s_failing.got, 1);
    /* Torn down without processing its mailbox (R12). */
    CHECK_EQ(s_ext_stop.got, 0);
    CHECK_EQ(s_ext_fail.got, 0);

    CHECK_EQ(rec.stops, 5);
    k = stop_index(small);
    if (CHECK(k >= 0)) CHECK_EQ(rec.stop_reasons[k], JZX_EXIT_NORMAL);
    k = stop_index(normal);
    if (CHECK(k >= 0)) CHECK_EQ(rec.stop_reasons[k], JZX_EXIT_NORMAL);
    k = stop_index(failing);
    if (CHECK(k >= 0)) CHECK_EQ(rec.stop_reasons[k], JZX_EXIT_FAIL);
    k = stop_index(ext_stop);
    if (CHECK(k >= 0)) CHECK_EQ(rec.stop_reasons[k], JZX_EXIT_NORMAL);
    k = stop_index(ext_fail);
    if (CHECK(k >= 0)) CHECK_EQ(rec.stop_reasons[k], JZX_EXIT_FAIL);
    CHECK_EQ(rec.fulls, 2);
    CHECK_EQ(rec.restarts, 0);
    CHECK_EQ(rec.escalations, 0);
    CHECK_EQ(rec.wrong_ctx, 0);
    CHECK_EQ(rec.stale_table_calls, 0);

    /* NULL removes the observer. */
    jzx_loop_set_observer(loop, NULL, NULL);
    opts.behavior = answer_behavior;
    opts.state = &s_small;
    opts.mailbox_cap = 1;
    opts.name = NULL;
    s_small.got = 0;
    CHECK_EQ(jzx_spawn(loop, &opts, &small), JZX_OK);
    CHECK_EQ(jzx_send(loop, small, NULL, 0, 1), JZX_OK);
    CHECK_EQ(jzx_send(loop, small, NULL, 0, 1), JZX_ERR_MAILBOX_FULL);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(s_small.got, 1);
    CHECK_EQ(rec.starts, 5);
    CHECK_EQ(rec.stops, 5);
    CHECK_EQ(rec.fulls, 2);
    CHECK_EQ(rec.stale_table_calls, 0);
    jzx_loop_destroy(loop);
    case_end();
}

/* The mailbox frees room as messages are handled: a pump sends two messages
 * to a cap-2 sink, waits for both acks, and repeats; nothing is refused. */
typedef struct pump {
    jzx_actor_id target;
    int rounds;
    int acks;
    int refused;
} pump;

static jzx_behavior_result pump_behavior(jzx_context *ctx, const jzx_message *msg) {
    pump *p = (pump *)ctx->state;
    if (msg->tag == 5) { /* an ack */
        p->acks++;
        if (p->acks % 2 != 0) return JZX_BEHAVIOR_OK;
    }
    if (p->rounds == 0) {
        if (jzx_send(ctx->loop, p->target, NULL, 0, 99) != JZX_OK) p->refused++;
        return JZX_BEHAVIOR_STOP;
    }
    p->rounds--;
    if (jzx_send(ctx->loop, p->target, NULL, 0, 1) != JZX_OK) p->refused++;
    if (jzx_send(ctx->loop, p->target, NULL, 0, 1) != JZX_OK) p->refused++;
    return JZX_BEHAVIOR_OK;
}

typedef struct sink {
    int got;
    int bad_acks;
} sink;

static jzx_behavior_result sink_behavior(jzx_context *ctx, const jzx_message *msg) {
    sink *s = (sink *)ctx->state;
    s->got++;
    if (msg->tag == 99) return JZX_BEHAVIOR_STOP;
    if (jzx_send(ctx->loop, msg->sender, NULL, 0, 5) != JZX_OK) s->bad_acks++;
    return JZX_BEHAVIOR_OK;
}

static void test_room_frees(void) {
    jzx_loop *loop;
    jzx_spawn_opts opts;
    jzx_actor_id pid = 0, sid = 0;
    pump p;
    sink s;

    case_begin("mailbox_room_is_reused");
    memset(&rec, 0, sizeof rec);
    loop = NEW_LOOP();
    install_observer(loop);
    memset(&p, 0, sizeof p);
    memset(&s, 0, sizeof s);
    memset(&opts, 0, sizeof opts);
    opts.behavior = sink_behavior;
    opts.state = &s;
    opts.mailbox_cap = 2;
    CHECK_EQ(jzx_spawn(loop, &opts, &sid), JZX_OK);
    p.target = sid;
    p.rounds = 200;
    opts.behavior = pump_behavior;
    opts.state = &p;
    opts.mailbox_cap = 0;
    CHECK_EQ(jzx_spawn(loop, &opts, &pid), JZX_OK);
    CHECK_EQ(jzx_send(loop, pid, NULL, 0, 0), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(p.refused, 0);
    CHECK_EQ(s.bad_acks, 0);
    CHECK_EQ(p.acks, 400);
    CHECK_EQ(s.got, 401);
    CHECK_EQ(rec.fulls, 0);
    CHECK_EQ(rec.stops, 2);
    jzx_loop_destroy(loop);
    case_end();
}

int main(void) {
    check_init();
    test_mailbox_full_and_observer();
    test_room_frees();
    return check_exit();
}
