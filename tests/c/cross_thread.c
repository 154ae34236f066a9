/*
 * cross_thread.c: jzx_send_async and jzx_loop_request_stop from other
 * threads (R3, R14): delivery before run, waking a blocked run, FIFO order of
 * one producer, stopping a blocked run, and a stop requested before run
 * (returns at once, then used up).
 */
#include "check.h"

#define TAG_PING 7u
#define TAG_STOP 8u

typedef struct target_state {
    int got;
    void *data;
    size_t len;
    uint32_t tag;
    jzx_actor_id sender;
    double t_recv;
    int stop_at;      /* STOP after this many messages (0: on TAG_STOP only) */
    uintptr_t next;   /* FIFO check */
    int out_of_order;
} target_state;

static jzx_behavior_result target(jzx_context *ctx, const jzx_message *msg) {
    target_state *t = (target_state *)ctx->state;
    t->t_recv = now_ms();
    t->got++;
    t->data = msg->data;
    t->len = msg->len;
    t->tag = msg->tag;
    t->sender = msg->sender;
    if (msg->tag == TAG_PING) {
        if ((uintptr_t)msg->data != t->next) t->out_of_order++;
        t->next++;
    }
    if (msg->tag == TAG_STOP) return JZX_BEHAVIOR_STOP;
    if (t->stop_at > 0 && t->got >= t->stop_at) return JZX_BEHAVIOR_STOP;
    return JZX_BEHAVIOR_OK;
}

/* Producers that start together: each waits until all `n` have arrived. */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int arrived;
    int n;
} gate;

static void gate_pass(gate *g) {
    pthread_mutex_lock(&g->mu);
    g->arrived++;
    pthread_cond_broadcast(&g->cv);
    while (g->arrived < g->n) pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

typedef struct producer {
    jzx_loop *loop;
    jzx_actor_id target;
    /* Wait until the loop (run by the main thread) blocks with nothing to do,
     * then pass `start` (when set), before sending. */
    int after_block;
    int never_blocked;
    gate *start;
    int count;
    uint32_t tag;
    int stop_instead; /* call jzx_loop_request_stop instead of sending */
    int errors;
    int first_error;
    double t_send;
} producer;

static void *producer_main(void *arg) {
    producer *p = (producer *)arg;
    int i;
    if (p->after_block && !wait_blocked(main_thread_id())) p->never_blocked = 1;
    if (p->start != NULL) gate_pass(p->start);
    p->t_send = now_ms();
    if (p->stop_instead) {
        jzx_loop_request_stop(p->loop);
        return NULL;
    }
    for (i = 0; i < p->count; i++) {
        int rc = jzx_send_async(p->loop, p->target, (void *)(uintptr_t)i, (size_t)i, p->tag);
        if (rc != JZX_OK) {
            if (p->errors == 0) p->first_error = rc;
            p->errors++;
        }
    }
    return NULL;
}

static jzx_actor_id spawn_target(jzx_loop *loop, target_state *t) {
    return SPAWN(loop, target, t);
}

static void test_async_before_run(void) {
    jzx_loop *loop;
    target_state t;
    producer p;
    pthread_t th;
    jzx_actor_id id;

    case_begin("send_async_before_run");
    loop = NEW_LOOP();
    memset(&t, 0, sizeof t);
    id = spawn_target(loop, &t);
    memset(&p, 0, sizeof p);
    p.loop = loop;
    p.target = id;
    p.count = 1;
    p.tag = TAG_STOP;
    CHECK_EQ(pthread_create(&th, NULL, producer_main, &p), 0);
    pthread_join(th, NULL);
    CHECK_EQ(p.errors, 0);
    CHECK_EQ(t.got, 0);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(t.got, 1);
    CHECK_EQ(t.tag, TAG_STOP);
    CHECK_EQ_U64(t.sender, 0);
    CHECK(t.data == (void *)(uintptr_t)0);
    CHECK_EQ(t.len, 0);
    jzx_loop_destroy(loop);
    case_end();
}

static void test_wakes_blocked_run(void) {
    jzx_loop *loop;
    target_state t;
    producer p;
    pthread_t th;
    jzx_actor_id id;
    double t_end, latency;

    case_begin("send_async_wakes_blocked_run");
    loop = NEW_LOOP();
    memset(&t, 0, sizeof t);
    id = spawn_target(loop, &t);
    memset(&p, 0, sizeof p);
    p.loop = loop;
    p.target = id;
    p.count = 1;
    p.tag = TAG_STOP;
    p.after_block = 1;
    CHECK_EQ(pthread_create(&th, NULL, producer_main, &p), 0);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    t_end = now_ms();
    pthread_join(th, NULL);
    CHECK_EQ(p.errors, 0);
    CHECK_EQ(t.got, 1);
    CHECK_EQ_U64(t.sender, 0);
    /* The run blocked (the actor was alive) until the message came... */
    CHECK_EQ(p.never_blocked, 0);
    CHECK(t_end >= p.t_send);
    /* ...and the message woke it well under a second. */
    latency = t.t_recv - p.t_send;
    if (!CHECK(latency < 1000.0 * slow_factor())) {
        FAILF("wakeup latency %.3f ms", latency);
    }
    printf("# wakeup latency %.3f ms\n", latency);
    jzx_loop_destroy(loop);
    case_end();
}

static void test_fifo_512(void) {
    jzx_loop *loop;
    target_state t;
    producer p;
    pthread_t th;
    jzx_actor_id id;

    case_begin("send_async_fifo_512");
    loop = NEW_LOOP();
    memset(&t, 0, sizeof t);
    t.stop_at = 512;
    id = spawn_target(loop, &t);
    memset(&p, 0, sizeof p);
    p.loop = loop;
    p.target = id;
    p.count = 512;
    p.tag = TAG_PING;
    p.after_block = 1; /* they arrive while the loop runs */
    CHECK_EQ(pthread_create(&th, NULL, producer_main, &p), 0);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    pthread_join(th, NULL);
    CHECK_EQ(p.never_blocked, 0);
    if (!CHECK_EQ(p.errors, 0)) FAILF("first error %d", p.first_error);
    CHECK_EQ(t.got, 512);
    CHECK_EQ(t.next, 512);
    CHECK_EQ(t.out_of_order, 0);
    CHECK(t.data == (void *)(uintptr_t)511);
    CHECK_EQ(t.len, 511);
    jzx_loop_destroy(loop);
    case_end();
}

/* Two producers: each one's messages stay in order. */
typedef struct two_state {
    uintptr_t next[2];
    int bad;
    int got;
} two_state;

static jzx_behavior_result two_target(jzx_context *ctx, const jzx_message *msg) {
    two_state *s = (two_state *)ctx->state;
    unsigned who = msg->tag - 100u;
    if (who > 1u) {
        s->bad++;
    } else {
        if ((uintptr_t)msg->data != s->next[who]) s->bad++;
        s->next[who]++;
    }
    s->got++;
    return s->got == 600 ? JZX_BEHAVIOR_STOP : JZX_BEHAVIOR_OK;
}

static void test_two_producers(void) {
    jzx_loop *loop;
    two_state s;
    producer p[2];
    pthread_t th[2];
    jzx_actor_id id = 0;
    gate start;
    int i;

    case_begin("send_async_fifo_per_producer");
    loop = NEW_LOOP();
    memset(&s, 0, sizeof s);
    id = SPAWN(loop, two_target, &s);
    /* Both send at once, while the loop runs. */
    memset(&start, 0, sizeof start);
    pthread_mutex_init(&start.mu, NULL);
    pthread_cond_init(&start.cv, NULL);
    start.n = 2;
    for (i = 0; i < 2; i++) {
        memset(&p[i], 0, sizeof p[i]);
        p[i].loop = loop;
        p[i].target = id;
        p[i].count = 300;
        p[i].tag = 100u + (uint32_t)i;
        p[i].after_block = 1;
        p[i].start = &start;
        CHECK_EQ(pthread_create(&th[i], NULL, producer_main, &p[i]), 0);
    }
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    for (i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ(p[i].errors, 0);
        CHECK_EQ(p[i].never_blocked, 0);
    }
    pthread_mutex_destroy(&start.mu);
    pthread_cond_destroy(&start.cv);
    CHECK_EQ(s.got, 600);
    CHECK_EQ(s.bad, 0);
    jzx_loop_destroy(loop);
    case_end();
}

static void test_request_stop_from_thread(void) {
    jzx_loop *loop;
    target_state t;
    producer p;
    pthread_t th;
    jzx_actor_id id;
    double t_end;

    case_begin("request_stop_from_thread_ends_blocked_run");
    loop = NEW_LOOP();
    memset(&t, 0, sizeof t);
    id = spawn_target(loop, &t);
    memset(&p, 0, sizeof p);
    p.loop = loop;
    p.stop_instead = 1;
    p.after_block = 1;
    CHECK_EQ(pthread_create(&th, NULL, producer_main, &p), 0);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    t_end = now_ms();
    pthread_join(th, NULL);
    /* The run blocked until the stop was asked for. */
    CHECK_EQ(p.never_blocked, 0);
    CHECK(t_end >= p.t_send);
    if (!CHECK(t_end - p.t_send < 1000.0 * slow_factor())) {
        FAILF("stop took %.3f ms", t_end - p.t_send);
    }
    CHECK_EQ(t.got, 0);
    /* The actor is still alive: it can be stopped and the loop run again
     * until idle (the stop request was used up). */
    CHECK_EQ(jzx_send(loop, id, NULL, 0, TAG_STOP), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(t.got, 1);
    jzx_loop_destroy(loop);
    case_end();
}

static void test_request_stop_before_run(void) {
    jzx_loop *loop;
    target_state t;
    jzx_actor_id id;
    double t0, t1;

    case_begin("request_stop_before_run_is_used_up");
    loop = NEW_LOOP();
    memset(&t, 0, sizeof t);
    id = spawn_target(loop, &t);
    jzx_loop_request_stop(loop);
    /* The actor is alive with nothing to do: without the request the run
     * would block (the watchdog would end it). */
    t0 = now_ms();
    CHECK_EQ(RUN_BOUNDED(loop, 3000), 0);
    t1 = now_ms();
    if (!CHECK(t1 - t0 < 500.0 * slow_factor())) FAILF("run took %.3f ms", t1 - t0);
    CHECK_EQ(t.got, 0);
    /* Used up: this run handles the message and returns when idle. */
    CHECK_EQ(jzx_send(loop, id, NULL, 0, TAG_STOP), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    if (!CHECK_EQ(t.got, 1)) FAILF("the second run returned without delivering: stop not used up");
    /* A request from another thread before the run, too. */
    memset(&t, 0, sizeof t);
    id = spawn_target(loop, &t);
    {
        producer p;
        pthread_t th;
        memset(&p, 0, sizeof p);
        p.loop = loop;
        p.stop_instead = 1;
        CHECK_EQ(pthread_create(&th, NULL, producer_main, &p), 0);
        pthread_join(th, NULL);
    }
    CHECK_EQ(RUN_BOUNDED(loop, 3000), 0);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, TAG_STOP), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(t.got, 1);
    jzx_loop_destroy(loop);
    case_end();
}

/* request_stop from inside a behavior: the current turn finishes, the run
 * returns, and the next run carries on. */
typedef struct self_stopper {
    int got;
} self_stopper;

static jzx_behavior_result stopper(jzx_context *ctx, const jzx_message *msg) {
    self_stopper *s = (self_stopper *)ctx->state;
    s->got++;
    if (msg->tag == 1) {
        jzx_loop_request_stop(ctx->loop);
        return JZX_BEHAVIOR_OK;
    }
    return JZX_BEHAVIOR_STOP;
}

static void test_request_stop_inside(void) {
    jzx_loop *loop;
    self_stopper s;
    jzx_actor_id id = 0;

    case_begin("request_stop_inside_behavior");
    loop = NEW_LOOP();
    memset(&s, 0, sizeof s);
    id = SPAWN(loop, stopper, &s);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 1), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 3000), 0);
    CHECK_EQ(s.got, 1);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 2), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 3000), 0);
    CHECK_EQ(s.got, 2);
    jzx_loop_destroy(loop);
    case_end();
}

/* Cross-thread sends into a small mailbox: every message is delivered or
 * refused with an error the producer sees; nothing vanishes (R8, R14). */
typedef struct small_state {
    int pings;
    int stops;
} small_state;

static jzx_behavior_result small_target(jzx_context *ctx, const jzx_message *msg) {
    small_state *s = (small_state *)ctx->state;
    if (msg->tag == TAG_STOP) {
        s->stops++;
        return JZX_BEHAVIOR_STOP;
    }
    s->pings++;
    return JZX_BEHAVIOR_OK;
}

typedef struct small_producer {
    jzx_loop *loop;
    jzx_actor_id target;
    int ok;
    int refused;
    int other;
} small_producer;

/* Sends TAG_STOP; 1 once it was accepted. */
static int stop_sent(void *arg) {
    small_producer *p = (small_producer *)arg;
    return jzx_send_async(p->loop, p->target, NULL, 0, TAG_STOP) == JZX_OK;
}

static void *small_producer_main(void *arg) {
    small_producer *p = (small_producer *)arg;
    int i, rc;
    for (i = 0; i < 300; i++) {
        rc = jzx_send_async(p->loop, p->target, NULL, 0, TAG_PING);
        if (rc == JZX_OK) {
            p->ok++;
        } else if (rc == JZX_ERR_MAILBOX_FULL) {
            p->refused++;
        } else {
            p->other++;
        }
    }
    /* Retried while the mailbox is full, until the loop has made room. */
    (void)wait_until(stop_sent, p, 5000u);
    return NULL;
}

static void test_small_mailbox(void) {
    jzx_loop *loop;
    small_state s;
    small_producer p;
    pthread_t th;
    jzx_spawn_opts opts;
    jzx_actor_id id = 0;

    case_begin("send_async_into_small_mailbox_loses_nothing");
    loop = NEW_LOOP();
    memset(&s, 0, sizeof s);
    memset(&opts, 0, sizeof opts);
    opts.behavior = small_target;
    opts.state = &s;
    opts.mailbox_cap = 4;
    CHECK_EQ(jzx_spawn(loop, &opts, &id), JZX_OK);
    memset(&p, 0, sizeof p);
    p.loop = loop;
    p.target = id;
    CHECK_EQ(pthread_create(&th, NULL, small_producer_main, &p), 0);
    CHECK_EQ(RUN_BOUNDED(loop, 10000), 0);
    pthread_join(th, NULL);
    CHECK_EQ(p.other, 0);
    CHECK_EQ(s.stops, 1);
    if (!CHECK_EQ(s.pings, p.ok)) {
        FAILF("%d accepted, %d delivered, %d refused", p.ok, s.pings, p.refused);
    }
    printf("# 300 async sends into a cap-4 mailbox: %d delivered, %d refused\n", s.pings,
           p.refused);
    jzx_loop_destroy(loop);
    case_end();
}

int main(void) {
    check_init();
    test_async_before_run();
    test_wakes_blocked_run();
    test_fifo_512();
    test_two_producers();
    test_request_stop_from_thread();
    test_request_stop_before_run();
    test_request_stop_inside();
    test_small_mailbox();
    return check_exit();
}
