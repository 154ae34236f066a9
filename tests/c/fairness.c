/*
 * fairness.c: R4. Two actors bouncing messages share the work evenly, and
 * max_msgs_per_actor bounds what one busy actor handles before another
 * runnable actor gets its turn.
 */
#include "check.h"

#define TAG_BALL 21u

typedef struct player {
    jzx_actor_id other;
    int hits;
    int send_errors;
    int bad_sender;
    int expect_total;
} player;

/* Payload: the remaining bounces. */
static jzx_behavior_result bounce(jzx_context *ctx, const jzx_message *msg) {
    player *p = (player *)ctx->state;
    uintptr_t remaining = (uintptr_t)msg->data;
    p->hits++;
    if (msg->sender != 0 && msg->sender != p->other) p->bad_sender++;
    if (remaining > 0) {
        if (jzx_send(ctx->loop, p->other, (void *)(remaining - 1), 0, TAG_BALL) != JZX_OK) {
            p->send_errors++;
        }
    }
    return p->hits == p->expect_total ? JZX_BEHAVIOR_STOP : JZX_BEHAVIOR_OK;
}

static void test_bounce(void) {
    jzx_loop *loop;
    player a, b;
    jzx_actor_id ida = 0, idb = 0;

    case_begin("two_actors_bounce_11_hits_each");
    loop = NEW_LOOP();
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.expect_total = 11;
    b.expect_total = 11;
    ida = SPAWN(loop, bounce, &a);
    idb = SPAWN(loop, bounce, &b);
    a.other = idb;
    b.other = ida;
    CHECK_EQ(jzx_send(loop, ida, (void *)(uintptr_t)10, 0, TAG_BALL), JZX_OK);
    CHECK_EQ(jzx_send(loop, idb, (void *)(uintptr_t)10, 0, TAG_BALL), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(a.hits, 11);
    CHECK_EQ(b.hits, 11);
    CHECK_EQ(a.send_errors, 0);
    CHECK_EQ(b.send_errors, 0);
    CHECK_EQ(a.bad_sender, 0);
    CHECK_EQ(b.bad_sender, 0);
    jzx_loop_destroy(loop);
    case_end();
}

/* A busy actor with 200 queued messages and a quiet one with 1: with
 * max_msgs_per_actor = N the quiet one runs after at most N of the busy
 * one's messages. */
typedef struct busy_state {
    int handled;
} busy_state;

typedef struct quiet_state {
    busy_state *busy;
    int busy_handled_when_i_ran;
    int ran;
} quiet_state;

static jzx_behavior_result busy(jzx_context *ctx, const jzx_message *msg) {
    busy_state *b = (busy_state *)ctx->state;
    (void)msg;
    b->handled++;
    return b->handled == 200 ? JZX_BEHAVIOR_STOP : JZX_BEHAVIOR_OK;
}

static jzx_behavior_result quiet(jzx_context *ctx, const jzx_message *msg) {
    quiet_state *q = (quiet_state *)ctx->state;
    (void)msg;
    q->ran++;
    q->busy_handled_when_i_ran = q->busy->handled;
    return JZX_BEHAVIOR_STOP;
}

static void busy_case(const char *name, uint32_t max_msgs, int expect_bound) {
    jzx_loop *loop;
    jzx_config cfg;
    busy_state b;
    quiet_state q;
    jzx_actor_id idb = 0, idq = 0;
    int i;

    case_begin(name);
    jzx_config_init(&cfg);
    if (max_msgs != 0) cfg.max_msgs_per_actor = max_msgs;
    loop = jzx_loop_create(&cfg);
    if (!CHECK(loop != NULL)) {
        case_end();
        return;
    }
    memset(&b, 0, sizeof b);
    memset(&q, 0, sizeof q);
    q.busy = &b;
    idb = SPAWN(loop, busy, &b);
    idq = SPAWN(loop, quiet, &q);
    for (i = 0; i < 200; i++) CHECK_EQ(jzx_send(loop, idb, NULL, 0, 1), JZX_OK);
    CHECK_EQ(jzx_send(loop, idq, NULL, 0, 1), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(b.handled, 200);
    CHECK_EQ(q.ran, 1);
    if (!CHECK(q.busy_handled_when_i_ran <= expect_bound)) {
        FAILF("the quiet actor ran after %d of the busy actor's messages (bound %d)",
              q.busy_handled_when_i_ran, expect_bound);
    }
    jzx_loop_destroy(loop);
    case_end();
}

int main(void) {
    check_init();
    test_bounce();
    busy_case("busy_actor_yields_after_default_64", 0, 64);
    busy_case("max_msgs_per_actor_8_is_honoured", 8, 8);
    return check_exit();
}
