/*
 * cross_thread_bounds.c: the cross-thread path is bounded (R14) and a stop
 * request is used up by the run it ends (R3, SPEC §5).
 *
 * - jzx_send_async into a loop that is not running: accepted until the
 *   loop's bound (65,536 messages not yet in a mailbox, the default, which C
 *   loops use), then JZX_ERR_MAILBOX_FULL; the run delivers every accepted
 *   message, and the room comes back.
 * - a stop requested during a run that then ends idle does not end the next
 *   run.
 */
#include "check.h"

#define TAG_PING 7u
#define BOUND 65536

typedef struct counter {
    int got;
    int stop_at;
    uintptr_t next; /* FIFO check */
    int out_of_order;
} counter;

static jzx_behavior_result count(jzx_context *ctx, const jzx_message *msg) {
    counter *c = (counter *)ctx->state;
    if ((uintptr_t)msg->data != c->next) c->out_of_order++;
    c->next++;
    c->got++;
    return c->got >= c->stop_at ? JZX_BEHAVIOR_STOP : JZX_BEHAVIOR_OK;
}

typedef struct producer {
    jzx_loop *loop;
    jzx_actor_id target;
    int accepted;
    int refused_with; /* the first error */
} producer;

static void *fill(void *arg) {
    producer *p = (producer *)arg;
    int i;
    for (i = 0; i < 4 * BOUND; i++) {
        int rc = jzx_send_async(p->loop, p->target, (void *)(uintptr_t)i, 0, TAG_PING);
        if (rc != JZX_OK) {
            p->refused_with = rc;
            return NULL;
        }
        p->accepted++;
    }
    return NULL;
}

static void test_bound(void) {
    jzx_loop *loop;
    counter c;
    producer p;
    pthread_t th;

    case_begin("send_async_is_refused_at_the_bound");
    loop = NEW_LOOP();
    memset(&c, 0, sizeof c);
    c.stop_at = BOUND;
    memset(&p, 0, sizeof p);
    p.loop = loop;
    p.target = SPAWN(loop, count, &c);
    CHECK_EQ(pthread_create(&th, NULL, fill, &p), 0);
    pthread_join(th, NULL);
    CHECK_EQ(p.refused_with, JZX_ERR_MAILBOX_FULL);
    CHECK_EQ(p.accepted, BOUND);
    CHECK_EQ(RUN_BOUNDED(loop, 20000), 0);
    CHECK_EQ(c.got, BOUND);
    CHECK_EQ(c.out_of_order, 0);
    /* Delivered: there is room again. */
    memset(&c, 0, sizeof c);
    c.stop_at = 1;
    p.target = SPAWN(loop, count, &c);
    CHECK_EQ(jzx_send_async(loop, p.target, NULL, 0, TAG_PING), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 3000), 0);
    CHECK_EQ(c.got, 1);
    jzx_loop_destroy(loop);
    case_end();
}

static jzx_behavior_result stop_loop_and_self(jzx_context *ctx, const jzx_message *msg) {
    (void)msg;
    jzx_loop_request_stop(ctx->loop);
    return JZX_BEHAVIOR_STOP;
}

static void test_stop_used_up(void) {
    jzx_loop *loop;
    counter c;
    jzx_actor_id a, b;

    case_begin("stop_in_a_run_that_ends_idle_is_used_up");
    loop = NEW_LOOP();
    a = SPAWN(loop, stop_loop_and_self, NULL);
    CHECK_EQ(jzx_send(loop, a, NULL, 0, TAG_PING), JZX_OK);
    /* The actor stops itself: this run ends idle, with the stop requested. */
    CHECK_EQ(RUN_BOUNDED(loop, 3000), 0);
    memset(&c, 0, sizeof c);
    c.stop_at = 2;
    b = SPAWN(loop, count, &c);
    CHECK_EQ(jzx_send(loop, b, (void *)(uintptr_t)0, 0, TAG_PING), JZX_OK);
    CHECK_EQ(jzx_send(loop, b, (void *)(uintptr_t)1, 0, TAG_PING), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 3000), 0);
    if (!CHECK_EQ(c.got, 2)) FAILF("%d of 2 messages handled: the old stop ended the run", c.got);
    jzx_loop_destroy(loop);
    case_end();
}

int main(void) {
    check_init();
    test_bound();
    test_stop_used_up();
    return check_exit();
}
