/*
 * dropin.c: SPEC §5 details C programs written for the original runtime rely
 * on. jzx_loop_set_observer returns void, so it can be stored in a pointer
 * of exactly that type (a different return type does not compile with
 * -Werror, nor by default with GCC 14); jzx_spawn_supervisor with no
 * children (child_count 0 or children NULL) is INVALID_ARG and starts
 * nothing.
 */
#include "check.h"

typedef void (*set_observer_fn)(jzx_loop *, const jzx_observer *, void *);

static set_observer_fn set_observer = jzx_loop_set_observer;

static int starts;

static void count_start(void *ctx, jzx_actor_id id, const char *name) {
    (void)id;
    (void)name;
    if (ctx == &starts) starts++;
}

static jzx_behavior_result stop_behavior(jzx_context *ctx, const jzx_message *msg) {
    (void)ctx;
    (void)msg;
    return JZX_BEHAVIOR_STOP;
}

static void test_set_observer_returns_void(void) {
    jzx_loop *loop;
    jzx_observer obs;
    jzx_actor_id id;

    case_begin("set_observer_through_a_void_function_pointer");
    loop = NEW_LOOP();
    memset(&obs, 0, sizeof obs);
    obs.on_actor_start = count_start;
    starts = 0;
    set_observer(loop, &obs, &starts);
    id = SPAWN(loop, stop_behavior, NULL);
    CHECK_EQ(starts, 1);
    set_observer(loop, NULL, NULL);
    (void)SPAWN(loop, stop_behavior, NULL);
    CHECK_EQ(starts, 1);
    set_observer(NULL, &obs, NULL); /* ignored */
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 1), JZX_OK);
    jzx_loop_destroy(loop);
    case_end();
}

static void test_supervisor_without_children(void) {
    jzx_loop *loop;
    jzx_observer obs;
    jzx_child_spec child;
    jzx_supervisor_init init;
    jzx_actor_id out = 77;

    case_begin("spawn_supervisor_with_no_children_is_invalid_arg");
    loop = NEW_LOOP();
    memset(&obs, 0, sizeof obs);
    obs.on_actor_start = count_start;
    starts = 0;
    jzx_loop_set_observer(loop, &obs, &starts);
    memset(&child, 0, sizeof child);
    child.behavior = stop_behavior;
    memset(&init, 0, sizeof init);
    init.children = &child;
    init.child_count = 0;
    CHECK_EQ(jzx_spawn_supervisor(loop, &init, 0, &out), JZX_ERR_INVALID_ARG);
    init.children = NULL;
    CHECK_EQ(jzx_spawn_supervisor(loop, &init, 0, &out), JZX_ERR_INVALID_ARG);
    init.child_count = 1;
    CHECK_EQ(jzx_spawn_supervisor(loop, &init, 0, &out), JZX_ERR_INVALID_ARG);
    CHECK_EQ_U64(out, 77); /* untouched */
    CHECK_EQ(starts, 0);   /* nothing was started */
    /* Nothing is left alive: the run is idle at once. */
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    jzx_loop_destroy(loop);
    case_end();
}

int main(void) {
    check_init();
    test_set_observer_returns_void();
    test_supervisor_without_children();
    return check_exit();
}
