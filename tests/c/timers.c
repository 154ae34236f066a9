/*
 * timers.c: jzx_send_after / jzx_cancel_timer (R15): delivery after the
 * delay, cancel before firing, TIMER_INVALID for a second cancel or a fired
 * timer, timers of a dead actor dropped, same-delay timers in the order set,
 * and pending timers keeping run alive.
 */
#include "check.h"

#define TAG_TIMER 11u
#define TAG_STOP 12u
#define TAG_CANCELLED 13u

typedef struct tstate {
    int got;
    int got_cancelled;
    double t_recv;
    void *data;
    size_t len;
    uint32_t tag;
    jzx_actor_id sender;
    int stop_at;
    uintptr_t next;
    int out_of_order;
} tstate;

static jzx_behavior_result timer_target(jzx_context *ctx, const jzx_message *msg) {
    tstate *s = (tstate *)ctx->state;
    s->got++;
    s->t_recv = now_ms();
    s->data = msg->data;
    s->len = msg->len;
    s->tag = msg->tag;
    s->sender = msg->sender;
    if (msg->tag == TAG_CANCELLED) s->got_cancelled++;
    if (msg->tag == TAG_TIMER) {
        if ((uintptr_t)msg->data != s->next) s->out_of_order++;
        s->next++;
    }
    if (msg->tag == TAG_STOP) return JZX_BEHAVIOR_STOP;
    if (s->stop_at > 0 && s->got >= s->stop_at) return JZX_BEHAVIOR_STOP;
    return JZX_BEHAVIOR_OK;
}

static jzx_actor_id spawn_timer_target(jzx_loop *loop, tstate *s) {
    jzx_actor_id id = 0;
    id = SPAWN(loop, timer_target, s);
    return id;
}

static void test_delivers_after_delay(void) {
    jzx_loop *loop;
    tstate s;
    jzx_actor_id id;
    jzx_timer_id tid = 0;
    double t0, waited;
    static int payload = 5;

    case_begin("send_after_delivers_after_delay");
    loop = NEW_LOOP();
    memset(&s, 0, sizeof s);
    s.stop_at = 1;
    id = spawn_timer_target(loop, &s);
    t0 = now_ms();
    CHECK_EQ(jzx_send_after(loop, id, 30, &payload, sizeof payload, TAG_TIMER, &tid), JZX_OK);
    CHECK(tid != 0);
    /* A pending timer keeps run alive; the actor stops on the timer message. */
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(s.got, 1);
    CHECK(s.data == (void *)&payload);
    CHECK_EQ(s.len, sizeof payload);
    CHECK_EQ(s.tag, TAG_TIMER);
    waited = s.t_recv - t0;
    if (!CHECK(waited >= 29.0)) FAILF("delivered after %.3f ms, asked 30", waited);
    if (!CHECK(waited < 1000.0 * slow_factor())) FAILF("delivered after %.3f ms", waited);
    printf("# 30 ms timer delivered after %.3f ms\n", waited);
    /* Fired: cancelling it now is TIMER_INVALID. */
    CHECK_EQ(jzx_cancel_timer(loop, tid), JZX_ERR_TIMER_INVALID);
    /* Out pointer may be NULL. */
    memset(&s, 0, sizeof s);
    s.stop_at = 1;
    id = spawn_timer_target(loop, &s);
    CHECK_EQ(jzx_send_after(loop, id, 0, NULL, 0, TAG_TIMER, NULL), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(s.got, 1);
    jzx_loop_destroy(loop);
    case_end();
}

static void test_cancel(void) {
    jzx_loop *loop;
    tstate s;
    jzx_actor_id id;
    jzx_timer_id cancelled = 0, keeper = 0;

    case_begin("cancel_before_firing");
    loop = NEW_LOOP();
    memset(&s, 0, sizeof s);
    id = spawn_timer_target(loop, &s);
    CHECK_EQ(jzx_send_after(loop, id, 20, NULL, 0, TAG_CANCELLED, &cancelled), JZX_OK);
    CHECK_EQ(jzx_send_after(loop, id, 60, NULL, 0, TAG_STOP, &keeper), JZX_OK);
    CHECK(cancelled != 0 && keeper != 0 && cancelled != keeper);
    CHECK_EQ(jzx_cancel_timer(loop, cancelled), JZX_OK);
    CHECK_EQ(jzx_cancel_timer(loop, cancelled), JZX_ERR_TIMER_INVALID);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(s.got_cancelled, 0);
    CHECK_EQ(s.got, 1);
    CHECK_EQ(s.tag, TAG_STOP);
    CHECK_EQ(jzx_cancel_timer(loop, cancelled), JZX_ERR_TIMER_INVALID);
    CHECK_EQ(jzx_cancel_timer(loop, keeper), JZX_ERR_TIMER_INVALID);
    jzx_loop_destroy(loop);
    case_end();
}

/* A cancelled 2 s timer leaves nothing to wait for: once its target has
 * stopped, the run returns without waiting the 2 s out. */
static void test_cancel_only_timer(void) {
    jzx_loop *loop;
    tstate s;
    jzx_actor_id id;
    jzx_timer_id tid = 0;
    double t0, took;

    case_begin("cancelled_timer_does_not_keep_run_alive");
    loop = NEW_LOOP();
    memset(&s, 0, sizeof s);
    s.stop_at = 1;
    id = spawn_timer_target(loop, &s);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 1), JZX_OK); /* stops it */
    CHECK_EQ(jzx_send_after(loop, id, 2000, NULL, 0, TAG_CANCELLED, &tid), JZX_OK);
    CHECK_EQ(jzx_cancel_timer(loop, tid), JZX_OK);
    t0 = now_ms();
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    took = now_ms() - t0;
    if (!CHECK(took < 1000.0)) FAILF("run took %.3f ms", took);
    CHECK_EQ(s.got_cancelled, 0);
    jzx_loop_destroy(loop);
    case_end();
}

static void test_dead_actor_timer_dropped(void) {
    jzx_loop *loop;
    tstate s;
    jzx_actor_id id;
    jzx_timer_id tid = 0;
    double t0, took;

    case_begin("timer_of_dead_actor_dropped");
    loop = NEW_LOOP();
    memset(&s, 0, sizeof s);
    id = spawn_timer_target(loop, &s);
    CHECK_EQ(jzx_send_after(loop, id, 50, NULL, 0, TAG_TIMER, &tid), JZX_OK);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, TAG_STOP), JZX_OK);
    t0 = now_ms();
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    took = now_ms() - t0;
    CHECK_EQ(s.got, 1);
    CHECK_EQ(s.tag, TAG_STOP);
    CHECK_EQ(s.next, 0); /* the timer message never arrived */
    printf("# run with a dead actor's 50 ms timer returned after %.3f ms\n", took);
    /* The dropped timer is no longer pending. */
    CHECK_EQ(jzx_cancel_timer(loop, tid), JZX_ERR_TIMER_INVALID);
    /* A new occupant of the slot does not get it either. */
    memset(&s, 0, sizeof s);
    id = spawn_timer_target(loop, &s);
    CHECK_EQ(jzx_send_after(loop, id, 80, NULL, 0, TAG_STOP, NULL), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(s.got, 1);
    CHECK_EQ(s.tag, TAG_STOP);
    jzx_loop_destroy(loop);
    case_end();
}

static void test_same_delay_order(void) {
    jzx_loop *loop;
    tstate s;
    jzx_actor_id id;
    int i;

    case_begin("same_delay_timers_in_order");
    loop = NEW_LOOP();
    memset(&s, 0, sizeof s);
    s.stop_at = 32;
    id = spawn_timer_target(loop, &s);
    for (i = 0; i < 32; i++) {
        CHECK_EQ(jzx_send_after(loop, id, 20, (void *)(uintptr_t)i, 0, TAG_TIMER, NULL), JZX_OK);
    }
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(s.got, 32);
    CHECK_EQ(s.next, 32);
    CHECK_EQ(s.out_of_order, 0);
    jzx_loop_destroy(loop);
    case_end();
}

/* Timers set from inside a behavior, in shuffled delays, arrive by delay. */
typedef struct sched {
    int phase;
    int order[4];
    int n;
} sched;

static jzx_behavior_result scheduler(jzx_context *ctx, const jzx_message *msg) {
    sched *s = (sched *)ctx->state;
    if (s->phase == 0) {
        s->phase = 1;
        jzx_send_after(ctx->loop, ctx->self, 40, (void *)(uintptr_t)3, 0, TAG_TIMER, NULL);
        jzx_send_after(ctx->loop, ctx->self, 10, (void *)(uintptr_t)1, 0, TAG_TIMER, NULL);
        jzx_send_after(ctx->loop, ctx->self, 25, (void *)(uintptr_t)2, 0, TAG_TIMER, NULL);
        jzx_send_after(ctx->loop, ctx->self, 1, (void *)(uintptr_t)0, 0, TAG_TIMER, NULL);
        return JZX_BEHAVIOR_OK;
    }
    if (s->n < 4) s->order[s->n] = (int)(uintptr_t)msg->data;
    s->n++;
    return s->n == 4 ? JZX_BEHAVIOR_STOP : JZX_BEHAVIOR_OK;
}

static void test_from_behavior(void) {
    jzx_loop *loop;
    sched s;
    jzx_actor_id id = 0;
    int i;

    case_begin("timers_set_inside_behavior_fire_by_delay");
    loop = NEW_LOOP();
    memset(&s, 0, sizeof s);
    id = SPAWN(loop, scheduler, &s);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 1), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(s.n, 4);
    for (i = 0; i < 4; i++) CHECK_EQ(s.order[i], i);
    jzx_loop_destroy(loop);
    case_end();
}

int main(void) {
    check_init();
    test_delivers_after_delay();
    test_cancel();
    test_cancel_only_timer();
    test_dead_actor_timer_dropped();
    test_same_delay_order();
    test_from_behavior();
    return check_exit();
}
