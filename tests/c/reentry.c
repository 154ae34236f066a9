/*
 * reentry.c: SPEC §5 "a call made from inside an observer hook that would
 * destroy or run the loop is refused (LOOP_CLOSED) or deferred, never a
 * use-after-free".
 * - Outside a run, jzx_loop_destroy called while the loop is inside another
 *   API call (a hook during jzx_spawn, jzx_spawn_supervisor or jzx_send, an
 *   allocator's free during jzx_loop_free or during the destroy itself) is
 *   deferred: the loop is destroyed when that outermost call returns, and
 *   meanwhile other calls on it return LOOP_CLOSED or are ignored.
 * - While a run is on the stack (a behavior, a hook or an allocator callback
 *   during jzx_loop_run), jzx_loop_destroy is ignored: the run goes on, and
 *   the loop stays valid after it returns until the program destroys it.
 * - jzx_loop_run from inside any call returns LOOP_CLOSED and runs nothing.
 * valgrind (epoll) reports any access to a freed loop.
 *
 * Whether the loop was really destroyed is seen through its allocator: each
 * case first leaves runtime-owned payloads unfreed (child exits their parent
 * keeps), and jzx_loop_destroy returns them; a deferred destroy has freed
 * nothing yet when jzx_loop_destroy returns.
 */
#include "check.h"

/* ---- hooks ----------------------------------------------------------------- */

enum hook_action { HOOK_NOTHING, HOOK_DESTROY, HOOK_RUN, HOOK_RUN_AND_DESTROY };

typedef struct hook_state {
    jzx_loop *loop;
    enum hook_action action;
    int calls;
    int runs;
    int run_rc; /* of the last jzx_loop_run made from a hook */
    tally *t;   /* the loop's allocator, if any */
    long frees_at_destroy; /* t->frees just after the hook's jzx_loop_destroy */
} hook_state;

static hook_state hk;

static void act(void) {
    hk.calls++;
    if (hk.action == HOOK_RUN || hk.action == HOOK_RUN_AND_DESTROY) {
        hk.run_rc = jzx_loop_run(hk.loop);
        hk.runs++;
    }
    if (hk.action == HOOK_DESTROY || hk.action == HOOK_RUN_AND_DESTROY) {
        jzx_loop_destroy(hk.loop);
        hk.frees_at_destroy = hk.t != NULL ? hk.t->frees : -1;
    }
}

static void hook_start(void *ctx, jzx_actor_id id, const char *name) {
    (void)ctx;
    (void)id;
    (void)name;
    act();
}

static void hook_stop(void *ctx, jzx_actor_id id, jzx_exit_reason reason) {
    (void)ctx;
    (void)id;
    (void)reason;
    act();
}

static void hook_full(void *ctx, jzx_actor_id target) {
    (void)ctx;
    (void)target;
    act();
}

/* Installs hooks on start, stop and mailbox full that do `action`; `t` is
 * the loop's allocator (or NULL). */
static void install_hooks(jzx_loop *loop, tally *t, enum hook_action action) {
    jzx_observer obs;
    memset(&hk, 0, sizeof hk);
    hk.loop = loop;
    hk.action = action;
    hk.run_rc = 12345;
    hk.t = t;
    hk.frees_at_destroy = 12345;
    memset(&obs, 0, sizeof obs);
    obs.on_actor_start = hook_start;
    obs.on_actor_stop = hook_stop;
    obs.on_mailbox_full = hook_full;
    jzx_loop_set_observer(loop, &obs, NULL);
}

/* ---- actors ----------------------------------------------------------------- */

/* Counts its messages and stops on tag 99. */
static jzx_behavior_result counter(jzx_context *ctx, const jzx_message *msg) {
    int *n = (int *)ctx->state;
    (*n)++;
    return msg->tag == 99u ? JZX_BEHAVIOR_STOP : JZX_BEHAVIOR_OK;
}

/* Keeps the payloads of its child exits, unfreed; stops once it has `want`. */
typedef struct hoard {
    void *data[4];
    int n;
    int want;
} hoard;

static jzx_behavior_result hoarder(jzx_context *ctx, const jzx_message *msg) {
    hoard *h = (hoard *)ctx->state;
    if (msg->tag == JZX_TAG_SYS_CHILD_EXIT && h->n < 4) h->data[h->n++] = msg->data;
    return h->n >= h->want ? JZX_BEHAVIOR_STOP : JZX_BEHAVIOR_OK;
}

/* Stops on its first message. */
static jzx_behavior_result quitter(jzx_context *ctx, const jzx_message *msg) {
    (void)ctx;
    (void)msg;
    return JZX_BEHAVIOR_STOP;
}

/* Gives `loop` (allocator `t`, fresh) `count` (at most 4) unfreed
 * runtime-owned payloads, kept in `h`, and no live actor. */
static void add_payloads(jzx_loop *loop, tally *t, int count, hoard *h) {
    jzx_spawn_opts opts;
    jzx_actor_id parent, child = 0;
    int i;
    memset(h, 0, sizeof *h);
    h->want = count;
    parent = SPAWN(loop, hoarder, h);
    for (i = 0; i < count; i++) {
        memset(&opts, 0, sizeof opts);
        opts.behavior = quitter;
        opts.supervisor = parent;
        CHECK_EQ(jzx_spawn(loop, &opts, &child), JZX_OK);
        CHECK_EQ(jzx_send(loop, child, NULL, 0, 1), JZX_OK);
    }
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(h->n, count);
    CHECK_EQ(t->allocs, count);
    CHECK_EQ(t->frees, 0);
}

static hoard the_hoard;

/* A loop on `t` holding one unfreed runtime-owned payload, no live actor. */
static jzx_loop *loop_with_payload(tally *t) {
    jzx_loop *loop = NEW_TALLY_LOOP(t, 0);
    add_payloads(loop, t, 1, &the_hoard);
    return loop;
}

/* A counter whose mailbox holds one message. */
static jzx_actor_id spawn_counter_cap1(jzx_loop *loop, int *n) {
    jzx_spawn_opts opts;
    jzx_actor_id id = 0;
    memset(&opts, 0, sizeof opts);
    opts.behavior = counter;
    opts.state = n;
    opts.mailbox_cap = 1;
    CHECK_EQ(jzx_spawn(loop, &opts, &id), JZX_OK);
    return id;
}

/* The loop was destroyed: its allocator got everything back. */
#define CHECK_DESTROYED(t)           \
    do {                             \
        CHECK_EQ((t).allocs, 1);     \
        CHECK_EQ((t).frees, 1);      \
        CHECK_EQ((t).foreign, 0);    \
    } while (0)

/* The hook destroyed the loop, which was deferred: nothing freed yet. */
#define CHECK_DEFERRED() CHECK_EQ(hk.frees_at_destroy, 0)

/* ---- destroy from a hook outside a run -------------------------------------------- */

static void test_destroy_in_spawn_hook(void) {
    tally t;
    jzx_loop *loop;
    jzx_spawn_opts opts;
    jzx_actor_id id = 0;
    int n = 0;

    case_begin("destroy_from_on_actor_start_in_spawn_is_deferred");
    loop = loop_with_payload(&t);
    install_hooks(loop, &t, HOOK_DESTROY);
    memset(&opts, 0, sizeof opts);
    opts.behavior = counter;
    opts.state = &n;
    CHECK_EQ(jzx_spawn(loop, &opts, &id), JZX_OK);
    CHECK(id != 0);
    CHECK_EQ(hk.calls, 1);
    CHECK_DEFERRED();
    CHECK_DESTROYED(t);
    CHECK_EQ(n, 0);
    case_end();
}

static void test_destroy_in_supervisor_hook(void) {
    tally t;
    jzx_loop *loop;
    jzx_child_spec kids[2];
    jzx_supervisor_init init;
    jzx_actor_id sup = 0;
    int n = 0;

    case_begin("destroy_from_on_actor_start_in_spawn_supervisor_is_deferred");
    loop = loop_with_payload(&t);
    install_hooks(loop, &t, HOOK_DESTROY);
    memset(kids, 0, sizeof kids);
    kids[0].behavior = counter;
    kids[0].state = &n;
    kids[1] = kids[0];
    memset(&init, 0, sizeof init);
    init.children = kids;
    init.child_count = 2;
    CHECK_EQ(jzx_spawn_supervisor(loop, &init, 0, &sup), JZX_OK);
    CHECK(sup != 0);
    CHECK(hk.calls >= 1);
    CHECK_DEFERRED();
    CHECK_DESTROYED(t);
    case_end();
}

static void test_destroy_in_mailbox_full_hook(void) {
    tally t;
    jzx_loop *loop;
    jzx_actor_id id = 0;
    int n = 0;

    case_begin("destroy_from_on_mailbox_full_in_send_is_deferred");
    loop = loop_with_payload(&t);
    id = spawn_counter_cap1(loop, &n);
    install_hooks(loop, &t, HOOK_DESTROY);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 1), JZX_OK);
    CHECK_EQ(hk.calls, 0);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 1), JZX_ERR_MAILBOX_FULL);
    CHECK_EQ(hk.calls, 1);
    CHECK_DEFERRED();
    CHECK_DESTROYED(t);
    CHECK_EQ(n, 0);
    case_end();
}

/* ---- run from a hook outside a run ------------------------------------------------ */

static void test_run_in_spawn_hook(void) {
    jzx_loop *loop = NULL;
    jzx_actor_id a = 0, b = 0;
    int na = 0, nb = 0;

    case_begin("run_from_on_actor_start_in_spawn_is_loop_closed");
    loop = NEW_LOOP();
    a = SPAWN(loop, counter, &na);
    CHECK_EQ(jzx_send(loop, a, NULL, 0, 99), JZX_OK);
    install_hooks(loop, NULL, HOOK_RUN);
    b = SPAWN(loop, counter, &nb);
    CHECK_EQ(hk.runs, 1);
    CHECK_EQ(hk.run_rc, JZX_ERR_LOOP_CLOSED);
    CHECK_EQ(na, 0); /* nothing ran inside the hook */
    hk.action = HOOK_NOTHING;
    CHECK_EQ(jzx_send(loop, b, NULL, 0, 99), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(na, 1);
    CHECK_EQ(nb, 1);
    jzx_loop_destroy(loop);
    case_end();
}

static void test_run_in_mailbox_full_hook(void) {
    jzx_loop *loop = NULL;
    jzx_actor_id id = 0;
    int n = 0;

    case_begin("run_from_on_mailbox_full_in_send_is_loop_closed");
    loop = NEW_LOOP();
    id = spawn_counter_cap1(loop, &n);
    install_hooks(loop, NULL, HOOK_RUN);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 99), JZX_OK);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 1), JZX_ERR_MAILBOX_FULL);
    CHECK_EQ(hk.runs, 1);
    CHECK_EQ(hk.run_rc, JZX_ERR_LOOP_CLOSED);
    CHECK_EQ(n, 0);
    hk.action = HOOK_NOTHING;
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(n, 1);
    jzx_loop_destroy(loop);
    case_end();
}

/* ---- destroy and run during a run ----------------------------------------------- */

/* A hook during the run (on_actor_stop) tries to run the loop, then destroys
 * it: both are refused, the run goes on to its end, and the loop is still
 * usable after it returns. */
static void test_hook_during_run(void) {
    tally t;
    jzx_loop *loop;
    jzx_actor_id a = 0, b = 0;
    int na = 0, nb = 0;

    case_begin("run_and_destroy_from_a_hook_during_run_are_refused");
    loop = loop_with_payload(&t);
    a = SPAWN(loop, counter, &na);
    CHECK_EQ(jzx_send(loop, a, NULL, 0, 99), JZX_OK);
    install_hooks(loop, &t, HOOK_RUN_AND_DESTROY);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(hk.calls, 1);
    CHECK_EQ(hk.runs, 1);
    CHECK_EQ(hk.run_rc, JZX_ERR_LOOP_CLOSED);
    CHECK_EQ(hk.frees_at_destroy, 0);
    CHECK_EQ(na, 1);
    CHECK_EQ(t.frees, 0); /* the loop is alive */
    hk.action = HOOK_NOTHING;
    b = SPAWN(loop, counter, &nb);
    CHECK_EQ(jzx_send(loop, b, NULL, 0, 99), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(nb, 1);
    jzx_loop_destroy(loop);
    CHECK_DESTROYED(t);
    case_end();
}

typedef struct destroyer {
    jzx_actor_id peer;
    int send_before;
    int send_after;
    int spawn_after;
    int run_after;
    int turns;
    jzx_actor_id spawned;
} destroyer;

/* Sends to its peer and frees nothing (calls nested in the run), destroys
 * the loop, then makes more calls on it, and stops. */
static jzx_behavior_result destroying(jzx_context *ctx, const jzx_message *msg) {
    destroyer *d = (destroyer *)ctx->state;
    jzx_spawn_opts opts;
    (void)msg;
    d->turns++;
    d->send_before = jzx_send(ctx->loop, d->peer, NULL, 0, 1);
    jzx_loop_free(ctx->loop, NULL);
    jzx_loop_destroy(ctx->loop);
    d->send_after = jzx_send(ctx->loop, d->peer, NULL, 0, 99);
    memset(&opts, 0, sizeof opts);
    opts.behavior = quitter;
    d->spawn_after = jzx_spawn(ctx->loop, &opts, &d->spawned);
    jzx_send(ctx->loop, d->spawned, NULL, 0, 1);
    d->run_after = jzx_loop_run(ctx->loop);
    return JZX_BEHAVIOR_STOP;
}

typedef struct sender_thread {
    jzx_loop *loop;
    jzx_actor_id target;
    int rc;
} sender_thread;

static void *send_async_main(void *arg) {
    sender_thread *s = (sender_thread *)arg;
    s->rc = jzx_send_async(s->loop, s->target, NULL, 0, 99);
    jzx_loop_request_stop(s->loop);
    return NULL;
}

/* A behavior destroys the loop: ignored. The run ends as usual, a thread
 * may still use the loop, and the program destroys it afterwards. */
static void test_behavior_destroys(void) {
    tally t;
    jzx_loop *loop;
    destroyer d;
    sender_thread st;
    pthread_t th;
    jzx_actor_id id = 0;
    int n = 0, m = 0;

    case_begin("destroy_from_a_behavior_is_ignored");
    loop = loop_with_payload(&t);
    memset(&d, 0, sizeof d);
    d.peer = SPAWN(loop, counter, &n);
    id = SPAWN(loop, destroying, &d);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 1), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(d.turns, 1);
    CHECK_EQ(d.send_before, JZX_OK);
    CHECK_EQ(d.send_after, JZX_OK);
    CHECK_EQ(d.spawn_after, JZX_OK);
    CHECK_EQ(d.run_after, JZX_ERR_LOOP_CLOSED);
    CHECK_EQ(n, 2);
    CHECK_EQ(t.frees, 0); /* the loop is alive */
    st.loop = loop;
    st.target = SPAWN(loop, counter, &m);
    st.rc = 12345;
    CHECK_EQ(pthread_create(&th, NULL, send_async_main, &st), 0);
    pthread_join(th, NULL);
    CHECK_EQ(st.rc, JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0); /* used up the stop request */
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(m, 1);
    jzx_loop_destroy(loop);
    CHECK_DESTROYED(t);
    case_end();
}

/* ---- destroy from allocator callbacks ------------------------------------------- */

/* What the allocator hooks do (tally after_alloc / after_free). */
typedef struct alloc_hook {
    jzx_loop *loop;
    int destroy;         /* call jzx_loop_destroy */
    int clear_observer;  /* call jzx_loop_set_observer(loop, NULL, NULL) */
    void *free_too;      /* jzx_loop_free this pointer */
    int calls;
    long frees_at_destroy; /* t->frees just after the first destroy */
    int stop_rc;           /* of jzx_actor_stop(stop_id) just after it */
    jzx_actor_id stop_id;
} alloc_hook;

static alloc_hook ah;

static void alloc_hook_act(tally *t) {
    void *p = ah.free_too;
    if (ah.loop == NULL) return;
    ah.calls++;
    if (ah.destroy) {
        jzx_loop_destroy(ah.loop);
        if (ah.calls == 1) {
            ah.frees_at_destroy = t->frees;
            ah.stop_rc = jzx_actor_stop(ah.loop, ah.stop_id);
        }
    }
    if (ah.clear_observer) jzx_loop_set_observer(ah.loop, NULL, NULL);
    if (p != NULL) {
        ah.free_too = NULL;
        jzx_loop_free(ah.loop, p);
    }
}

static void arm_alloc_hook(jzx_loop *loop) {
    memset(&ah, 0, sizeof ah);
    ah.loop = loop;
    ah.frees_at_destroy = 12345;
    ah.stop_rc = 12345;
}

/* The allocator's free, called by jzx_loop_free outside a run, destroys the
 * loop: deferred to the end of jzx_loop_free; meanwhile other calls are
 * refused (jzx_actor_stop) or ignored (jzx_loop_set_observer). */
static void test_destroy_in_free_callback(void) {
    tally t;
    jzx_loop *loop;
    hoard h;
    jzx_actor_id idle;
    int n = 0;

    case_begin("destroy_from_free_callback_in_jzx_loop_free_is_deferred");
    loop = NEW_TALLY_LOOP(&t, 0);
    add_payloads(loop, &t, 2, &h);
    idle = SPAWN(loop, counter, &n);
    arm_alloc_hook(loop);
    ah.destroy = 1;
    ah.clear_observer = 1;
    ah.stop_id = idle;
    t.after_free = alloc_hook_act;
    jzx_loop_free(loop, h.data[0]);
    CHECK_EQ(ah.calls, 2); /* the free asked for, then the destroy's */
    CHECK_EQ(ah.frees_at_destroy, 1); /* only the block freed by jzx_loop_free */
    CHECK_EQ(ah.stop_rc, JZX_ERR_LOOP_CLOSED);
    CHECK_EQ(t.allocs, 2);
    CHECK_EQ(t.frees, 2);
    CHECK_EQ(t.foreign, 0);
    CHECK_EQ(n, 0);
    case_end();
}

/* The allocator's free, called by jzx_loop_destroy, frees another payload
 * and destroys the loop again: each block is freed once. */
static void test_free_in_free_callback_during_destroy(void) {
    tally t;
    jzx_loop *loop;
    hoard h;

    case_begin("free_and_destroy_from_free_callback_during_destroy");
    loop = NEW_TALLY_LOOP(&t, 0);
    add_payloads(loop, &t, 3, &h);
    arm_alloc_hook(loop);
    ah.destroy = 1;
    ah.free_too = h.data[1];
    t.after_free = alloc_hook_act;
    jzx_loop_destroy(loop);
    CHECK_EQ(t.allocs, 3);
    CHECK_EQ(t.frees, 3);
    CHECK_EQ(t.foreign, 0);
    CHECK_EQ(ah.calls, 3);
    case_end();
}

/* Observer calls from a free callback outside a run are ignored. */
static void test_set_observer_in_free_callback(void) {
    tally t;
    jzx_loop *loop;
    hoard h;
    int n = 0;

    case_begin("set_observer_from_free_callback_is_ignored");
    loop = NEW_TALLY_LOOP(&t, 0);
    add_payloads(loop, &t, 1, &h);
    install_hooks(loop, &t, HOOK_NOTHING);
    arm_alloc_hook(loop);
    ah.clear_observer = 1;
    t.after_free = alloc_hook_act;
    jzx_loop_free(loop, h.data[0]);
    CHECK_EQ(ah.calls, 1);
    CHECK_EQ(t.frees, 1);
    (void)SPAWN(loop, counter, &n);
    CHECK_EQ(hk.calls, 1); /* the observer is still installed */
    ah.loop = NULL;
    jzx_loop_destroy(loop);
    case_end();
}

/* The allocator's alloc, during a run, destroys the loop: ignored, the run
 * delivers the payload, and the loop lives on. */
static void test_destroy_in_alloc_callback(void) {
    tally t;
    jzx_loop *loop;
    hoard h;
    int n = 0;

    case_begin("destroy_from_alloc_callback_during_run_is_ignored");
    loop = NEW_TALLY_LOOP(&t, 0);
    arm_alloc_hook(loop);
    ah.destroy = 1;
    ah.stop_id = SPAWN(loop, counter, &n);
    CHECK_EQ(jzx_send(loop, ah.stop_id, NULL, 0, 99), JZX_OK);
    t.after_alloc = alloc_hook_act;
    add_payloads(loop, &t, 2, &h);
    CHECK_EQ(ah.calls, 2);
    CHECK_EQ(ah.frees_at_destroy, 0);
    /* Outside a behavior, the run refuses calls from the allocator. */
    CHECK_EQ(ah.stop_rc, JZX_ERR_LOOP_CLOSED);
    CHECK_EQ(n, 1);
    CHECK_EQ(t.frees, 0);
    ah.loop = NULL;
    jzx_loop_free(loop, h.data[0]);
    CHECK_EQ(t.frees, 1);
    jzx_loop_destroy(loop);
    CHECK_EQ(t.frees, 2);
    CHECK_EQ(t.foreign, 0);
    case_end();
}

int main(void) {
    check_init();
    test_destroy_in_spawn_hook();
    test_destroy_in_supervisor_hook();
    test_destroy_in_mailbox_full_hook();
    test_run_in_spawn_hook();
    test_run_in_mailbox_full_hook();
    test_hook_during_run();
    test_behavior_destroys();
    test_destroy_in_free_callback();
    test_free_in_free_callback_during_destroy();
    test_set_observer_in_free_callback();
    test_destroy_in_alloc_callback();
    return check_exit();
}
