/*
 * delivery_ids.c: a message reaches its behavior intact (data, len, tag,
 * sender), actor ids are generation-over-slot and stale ids are refused after
 * slot reuse (R6), jzx_loop_run can be called again (R2), and jzx_loop_run
 * from inside a behavior refuses to nest (LOOP_CLOSED).
 */
#include "check.h"

#define TAG_HELLO 42u
#define TAG_RELAY 43u
#define TAG_STOP 44u

typedef struct seen {
    int count;
    void *data;
    size_t len;
    uint32_t tag;
    jzx_actor_id sender;
    jzx_actor_id self;
    jzx_actor_id forward_to; /* relay the message there (0: don't) */
    int send_rc;
} seen;

static jzx_behavior_result recorder(jzx_context *ctx, const jzx_message *msg) {
    seen *s = (seen *)ctx->state;
    s->count++;
    s->data = msg->data;
    s->len = msg->len;
    s->tag = msg->tag;
    s->sender = msg->sender;
    s->self = ctx->self;
    if (s->forward_to != 0) {
        s->send_rc = jzx_send(ctx->loop, s->forward_to, msg->data, msg->len, TAG_RELAY);
    }
    return JZX_BEHAVIOR_STOP;
}

static void test_delivery(void) {
    jzx_loop *loop;
    seen a, b;
    jzx_actor_id ida = 0, idb = 0;
    char payload[] = "hello, actor";
    int rc;

    case_begin("delivery");
    loop = NEW_LOOP();
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    ida = SPAWN(loop, recorder, &a);
    /* R6: the first actor of a loop is slot 0, generation 1. */
    CHECK_EQ_U64(ida, 1ull << 32);
    idb = SPAWN(loop, recorder, &b);
    CHECK(idb != 0 && idb != ida);
    a.forward_to = idb;

    /* Spawning does not run the actor (R7). */
    CHECK_EQ(a.count, 0);
    CHECK_EQ(jzx_send(loop, ida, payload, sizeof payload, TAG_HELLO), JZX_OK);
    CHECK_EQ(a.count, 0); /* delivered by the loop, not by jzx_send */

    rc = RUN_BOUNDED(loop, 5000);
    CHECK_EQ(rc, 0);
    /* From outside a behavior: sender 0. */
    CHECK_EQ(a.count, 1);
    CHECK(a.data == (void *)payload);
    CHECK_EQ(a.len, sizeof payload);
    CHECK_EQ(a.tag, TAG_HELLO);
    CHECK_EQ_U64(a.sender, 0);
    CHECK_EQ_U64(a.self, ida);
    CHECK_EQ(a.send_rc, JZX_OK);
    /* From inside a behavior: the sending actor's id. User payloads are
     * never copied: the same pointer arrives. */
    CHECK_EQ(b.count, 1);
    CHECK(b.data == (void *)payload);
    CHECK_EQ(b.len, sizeof payload);
    CHECK_EQ(b.tag, TAG_RELAY);
    CHECK_EQ_U64(b.sender, ida);
    CHECK_EQ_U64(b.self, idb);
    CHECK(strcmp(payload, "hello, actor") == 0);
    jzx_loop_destroy(loop);
    case_end();
}

static void test_stale_id(void) {
    jzx_loop *loop;
    seen x, y;
    jzx_actor_id idx = 0, idy = 0;
    int rc;

    case_begin("stale_id_after_slot_reuse");
    loop = NEW_LOOP();
    memset(&x, 0, sizeof x);
    memset(&y, 0, sizeof y);
    idx = SPAWN(loop, recorder, &x);
    CHECK_EQ(jzx_send(loop, idx, NULL, 0, TAG_STOP), JZX_OK);
    rc = RUN_BOUNDED(loop, 5000);
    CHECK_EQ(rc, 0);
    CHECK_EQ(x.count, 1);

    /* x is dead: its slot is reused with generation + 1. */
    idy = SPAWN(loop, recorder, &y);
    CHECK_EQ_U64(idy & 0xffffffffull, idx & 0xffffffffull);
    CHECK_EQ_U64(idy >> 32, (idx >> 32) + 1);
    CHECK_EQ(jzx_send(loop, idx, NULL, 0, TAG_HELLO), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_actor_stop(loop, idx), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_actor_fail(loop, idx), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_send_after(loop, idx, 1, NULL, 0, TAG_HELLO, NULL), JZX_ERR_NO_SUCH_ACTOR);
    /* The new occupant gets only its own message. */
    CHECK_EQ(jzx_send(loop, idy, NULL, 0, TAG_STOP), JZX_OK);
    rc = RUN_BOUNDED(loop, 5000);
    CHECK_EQ(rc, 0);
    CHECK_EQ(y.count, 1);
    CHECK_EQ(y.tag, TAG_STOP);
    CHECK_EQ(x.count, 1);
    jzx_loop_destroy(loop);
    case_end();
}

static void test_run_twice(void) {
    jzx_loop *loop;
    seen s1, s2;
    jzx_actor_id id1 = 0, id2 = 0;

    case_begin("run_twice");
    loop = NEW_LOOP();
    /* An empty loop is idle: run returns at once. */
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    memset(&s1, 0, sizeof s1);
    memset(&s2, 0, sizeof s2);
    id1 = SPAWN(loop, recorder, &s1);
    CHECK_EQ(jzx_send(loop, id1, NULL, 0, 1), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(s1.count, 1);

    id2 = SPAWN(loop, recorder, &s2);
    CHECK_EQ(jzx_send(loop, id2, NULL, 0, 2), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(s2.count, 1);
    CHECK_EQ(s2.tag, 2);
    CHECK_EQ(s1.count, 1);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    jzx_loop_destroy(loop);
    case_end();
}

static int nested_rc = 12345;
static int nested_calls = 0;

static jzx_behavior_result nester(jzx_context *ctx, const jzx_message *msg) {
    (void)msg;
    nested_calls++;
    nested_rc = jzx_loop_run(ctx->loop);
    return JZX_BEHAVIOR_STOP;
}

static void test_nested_run(void) {
    jzx_loop *loop;
    jzx_actor_id id = 0;

    case_begin("run_inside_behavior_is_loop_closed");
    loop = NEW_LOOP();
    id = SPAWN(loop, nester, NULL);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 1), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(nested_calls, 1);
    CHECK_EQ(nested_rc, JZX_ERR_LOOP_CLOSED);
    jzx_loop_destroy(loop);
    case_end();
}

/* Several messages to one actor arrive in the order sent, and each actor
 * keeps its own state pointer. */
typedef struct counter {
    int next;
    int bad;
    int stop_at;
} counter;

static jzx_behavior_result ordered(jzx_context *ctx, const jzx_message *msg) {
    counter *c = (counter *)ctx->state;
    if ((int)(uintptr_t)msg->data != c->next) c->bad++;
    c->next++;
    return c->next == c->stop_at ? JZX_BEHAVIOR_STOP : JZX_BEHAVIOR_OK;
}

static void test_fifo(void) {
    jzx_loop *loop;
    counter c1, c2;
    jzx_actor_id id1 = 0, id2 = 0;
    int i;

    case_begin("fifo_per_actor");
    loop = NEW_LOOP();
    memset(&c1, 0, sizeof c1);
    memset(&c2, 0, sizeof c2);
    c1.stop_at = 100;
    c2.stop_at = 50;
    id1 = SPAWN(loop, ordered, &c1);
    id2 = SPAWN(loop, ordered, &c2);
    for (i = 0; i < 100; i++) {
        CHECK_EQ(jzx_send(loop, id1, (void *)(uintptr_t)i, 0, 7), JZX_OK);
        if (i < 50) CHECK_EQ(jzx_send(loop, id2, (void *)(uintptr_t)i, 0, 7), JZX_OK);
    }
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(c1.next, 100);
    CHECK_EQ(c1.bad, 0);
    CHECK_EQ(c2.next, 50);
    CHECK_EQ(c2.bad, 0);
    /* Both stopped: their ids are stale now. */
    CHECK_EQ(jzx_send(loop, id1, NULL, 0, 7), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_send(loop, id2, NULL, 0, 7), JZX_ERR_NO_SUCH_ACTOR);
    jzx_loop_destroy(loop);
    case_end();
}

/* R12: an actor that stops or fails itself inside a behavior processes no
 * further message of its mailbox; an external stop of an idle actor takes
 * effect (the run returns). */
typedef struct selfstop {
    int got;
    int fail;
    int rc;
} selfstop;

static jzx_behavior_result self_stopper(jzx_context *ctx, const jzx_message *msg) {
    selfstop *s = (selfstop *)ctx->state;
    (void)msg;
    s->got++;
    s->rc = s->fail ? jzx_actor_fail(ctx->loop, ctx->self) : jzx_actor_stop(ctx->loop, ctx->self);
    return JZX_BEHAVIOR_OK;
}

static void test_self_stop(void) {
    jzx_loop *loop;
    selfstop a, b;
    jzx_actor_id ida = 0, idb = 0, idle = 0;
    int i;

    case_begin("stop_self_inside_behavior_and_stop_idle_actor");
    loop = NEW_LOOP();
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    b.fail = 1;
    ida = SPAWN(loop, self_stopper, &a);
    idb = SPAWN(loop, self_stopper, &b);
    for (i = 0; i < 3; i++) {
        CHECK_EQ(jzx_send(loop, ida, NULL, 0, 1), JZX_OK);
        CHECK_EQ(jzx_send(loop, idb, NULL, 0, 1), JZX_OK);
    }
    idle = SPAWN(loop, recorder, NULL);
    CHECK_EQ(jzx_actor_stop(loop, idle), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(a.got, 1);
    CHECK_EQ(a.rc, JZX_OK);
    CHECK_EQ(b.got, 1);
    CHECK_EQ(b.rc, JZX_OK);
    CHECK_EQ(jzx_send(loop, ida, NULL, 0, 1), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_send(loop, idb, NULL, 0, 1), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_send(loop, idle, NULL, 0, 1), JZX_ERR_NO_SUCH_ACTOR);
    jzx_loop_destroy(loop);
    case_end();
}

int main(void) {
    check_init();
    test_delivery();
    test_stale_id();
    test_run_twice();
    test_nested_run();
    test_fifo();
    test_self_stop();
    return check_exit();
}
