/*
 * reentry.c: SPEC §5 "a call made from inside an observer hook that would
 * destroy or run the loop is refused (LOOP_CLOSED) or deferred, never a
 * use-after-free". jzx defers: jzx_loop_destroy called while the loop is
 * inside any API call (a hook during jzx_spawn, jzx_spawn_supervisor or
 * jzx_send outside a run, a hook or a behavior during jzx_loop_run) destroys
 * it when that outermost call returns; jzx_loop_run called there returns
 * LOOP_CLOSED and runs nothing. valgrind (epoll) reports any access to the
 * freed loop.
 *
 * Whether the loop was really destroyed is seen through its allocator: each
 * case first leaves one runtime-owned payload unfreed (a child exit its
 * parent keeps), and jzx_loop_destroy returns it.
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

/* Installs hooks on start, stop and mailbox full that do `action`. */
static void install_hooks(jzx_loop *loop, enum hook_action action) {
    jzx_observer obs;
    memset(&hk, 0, sizeof hk);
    hk.loop = loop;
    hk.action = action;
    hk.run_rc = 12345;
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

/* Stops on its first message, keeping a child exit's payload (unfreed). */
static jzx_behavior_result keeper(jzx_context *ctx, const jzx_message *msg) {
    (void)ctx;
    (void)msg;
    return JZX_BEHAVIOR_STOP;
}

/* A loop on `t` holding one unfreed runtime-owned payload, no live actor. */
static jzx_loop *loop_with_payload(tally *t) {
    jzx_loop *loop = NEW_TALLY_LOOP(t, 0);
    jzx_spawn_opts opts;
    jzx_actor_id parent = SPAWN(loop, keeper, NULL), child = 0;
    memset(&opts, 0, sizeof opts);
    opts.behavior = keeper;
    opts.supervisor = parent;
    CHECK_EQ(jzx_spawn(loop, &opts, &child), JZX_OK);
    CHECK_EQ(jzx_send(loop, child, NULL, 0, 1), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(t->allocs, 1);
    CHECK_EQ(t->frees, 0);
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
    } while (0)

/* ---- destroy from a hook outside a run -------------------------------------------- */

static void test_destroy_in_spawn_hook(void) {
    tally t;
    jzx_loop *loop;
    jzx_spawn_opts opts;
    jzx_actor_id id = 0;
    int n = 0;

    case_begin("destroy_from_on_actor_start_in_spawn_is_deferred");
    loop = loop_with_payload(&t);
    install_hooks(loop, HOOK_DESTROY);
    memset(&opts, 0, sizeof opts);
    opts.behavior = counter;
    opts.state = &n;
    CHECK_EQ(jzx_spawn(loop, &opts, &id), JZX_OK);
    CHECK(id != 0);
    CHECK_EQ(hk.calls, 1);
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
    install_hooks(loop, HOOK_DESTROY);
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
    install_hooks(loop, HOOK_DESTROY);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 1), JZX_OK);
    CHECK_EQ(hk.calls, 0);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 1), JZX_ERR_MAILBOX_FULL);
    CHECK_EQ(hk.calls, 1);
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
    install_hooks(loop, HOOK_RUN);
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
    install_hooks(loop, HOOK_RUN);
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
 * it: the nested run is refused, the destroy waits for the run to return,
 * which it does (LOOP_CLOSED: the loop is gone) though an actor is still
 * alive. */
static void test_hook_during_run(void) {
    tally t;
    jzx_loop *loop;
    jzx_actor_id a = 0, b = 0;
    int na = 0, nb = 0;

    case_begin("run_and_destroy_from_a_hook_during_run");
    loop = loop_with_payload(&t);
    a = SPAWN(loop, counter, &na);
    b = SPAWN(loop, counter, &nb); /* stays alive: the run is not idle */
    CHECK_EQ(jzx_send(loop, a, NULL, 0, 99), JZX_OK);
    install_hooks(loop, HOOK_RUN_AND_DESTROY);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), JZX_ERR_LOOP_CLOSED);
    CHECK_EQ(hk.calls, 1);
    CHECK_EQ(hk.runs, 1);
    CHECK_EQ(hk.run_rc, JZX_ERR_LOOP_CLOSED);
    CHECK_EQ(na, 1);
    CHECK_DESTROYED(t);
    (void)b;
    case_end();
}

typedef struct destroyer {
    jzx_actor_id peer;
    int send_before;
    int send_after;
    int spawn_after;
    int run_after;
    int turns;
} destroyer;

/* Sends to its peer and frees nothing (calls nested in the run that must
 * not end the loop's busy state), destroys the loop, then tries more calls
 * on it. */
static jzx_behavior_result destroying(jzx_context *ctx, const jzx_message *msg) {
    destroyer *d = (destroyer *)ctx->state;
    jzx_spawn_opts opts;
    (void)msg;
    d->turns++;
    d->send_before = jzx_send(ctx->loop, d->peer, NULL, 0, 1);
    jzx_loop_free(ctx->loop, NULL);
    jzx_loop_destroy(ctx->loop);
    d->send_after = jzx_send(ctx->loop, d->peer, NULL, 0, 1);
    memset(&opts, 0, sizeof opts);
    opts.behavior = counter;
    d->spawn_after = jzx_spawn(ctx->loop, &opts, NULL);
    d->run_after = jzx_loop_run(ctx->loop);
    return JZX_BEHAVIOR_OK;
}

static void test_behavior_destroys(void) {
    tally t;
    jzx_loop *loop;
    destroyer d;
    jzx_actor_id id = 0;
    int n = 0;

    case_begin("destroy_from_a_behavior_is_deferred_to_the_end_of_run");
    loop = loop_with_payload(&t);
    memset(&d, 0, sizeof d);
    d.peer = SPAWN(loop, counter, &n);
    id = SPAWN(loop, destroying, &d);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 1), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), JZX_ERR_LOOP_CLOSED);
    CHECK_EQ(d.turns, 1);
    CHECK_EQ(d.send_before, JZX_OK);
    CHECK_EQ(d.send_after, JZX_ERR_LOOP_CLOSED);
    CHECK_EQ(d.spawn_after, JZX_ERR_LOOP_CLOSED);
    CHECK_EQ(d.run_after, JZX_ERR_LOOP_CLOSED);
    CHECK_DESTROYED(t);
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
    return check_exit();
}
