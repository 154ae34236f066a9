/*
 * toolkit.c: the process toolkit's additions to the C ABI (SPEC §12, C):
 * - jzx_monitor / jzx_demonitor: exactly one JZX_TAG_SYS_DOWN per monitor
 *   (id, handle, reason), its payload from the loop's allocator and given
 *   back by jzx_loop_free; a Down at once for an actor that is not alive;
 *   none after jzx_demonitor (even one queued, or one waiting for a
 *   failing allocator); misuse returns error codes.
 * - jzx_spawn_ex: on_start at spawn, on_stop after the
 *   last with the reason; the hooks may call back into the loop; without
 *   hooks it is jzx_spawn, and jzx_spawn itself is unchanged.
 *
 * jzx_loop_run returns once no actor is alive (or on a stop request), so
 * the actors here end themselves when done. To show that a Down does not
 * come, the watcher also monitors a sentinel that ends after the event:
 * Downs arrive in the order their actors ended, so when the sentinel's
 * arrives, an earlier one would have.
 */
#include "check.h"

/* ---- monitors ---------------------------------------------------------------- */

#define MAX_DOWNS 8

/* Records every Down it gets (and frees its payload); other tags count.
 * Stops once it has `want` Downs. */
typedef struct watcher {
    jzx_loop *loop;
    int want;
    int downs;
    jzx_down got[MAX_DOWNS];
    size_t len[MAX_DOWNS];
    jzx_actor_id sender[MAX_DOWNS];
    int misaligned;
    int others;
    int demonitor_rc; /* of jzx_demonitor on the first Down's handle, from the behavior */
} watcher;

static jzx_behavior_result watcher_behavior(jzx_context *ctx, const jzx_message *msg) {
    watcher *w = (watcher *)ctx->state;
    if (msg->tag != JZX_TAG_SYS_DOWN) {
        w->others++;
        return JZX_BEHAVIOR_OK;
    }
    if (((uintptr_t)msg->data & 7u) != 0) w->misaligned++;
    if (w->downs < MAX_DOWNS) {
        w->got[w->downs] = *(const jzx_down *)msg->data;
        w->len[w->downs] = msg->len;
        w->sender[w->downs] = msg->sender;
        if (w->downs == 0) w->demonitor_rc = jzx_demonitor(ctx->loop, w->got[0].monitor);
    }
    w->downs++;
    jzx_loop_free(ctx->loop, msg->data);
    return w->downs == w->want ? JZX_BEHAVIOR_STOP : JZX_BEHAVIOR_OK;
}

/* Tag 1: stop; tag 2: fail; other tags: keep going. */
static jzx_behavior_result target_behavior(jzx_context *ctx, const jzx_message *msg) {
    (void)ctx;
    if (msg->tag == 1u) return JZX_BEHAVIOR_STOP;
    if (msg->tag == 2u) return JZX_BEHAVIOR_FAIL;
    return JZX_BEHAVIOR_OK;
}

static jzx_actor_id spawn_watcher(jzx_loop *loop, watcher *w, int want) {
    memset(w, 0, sizeof *w);
    w->loop = loop;
    w->want = want;
    return SPAWN(loop, watcher_behavior, w);
}

/* An actor that is gone. Call it while no other actor is alive (the run
 * returns once none is). */
static jzx_actor_id dead_actor(jzx_loop *loop) {
    jzx_actor_id id = SPAWN(loop, target_behavior, NULL);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 1u), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    return id;
}

/* Monitor, then the target ends with `tag` (stop or fail): one Down with
 * the target's id, the handle and `reason`; its payload goes back to the
 * allocator. */
static void check_down_on_end(const char *name, uint32_t tag, uint32_t reason) {
    tally t;
    jzx_loop *loop;
    watcher w;
    jzx_actor_id wid, tid;
    jzx_monitor_id m = 0;

    case_begin(name);
    loop = NEW_TALLY_LOOP(&t, 1); /* under-aligned blocks: payloads still aligned */
    wid = spawn_watcher(loop, &w, 1);
    tid = SPAWN(loop, target_behavior, NULL);
    CHECK_EQ(jzx_monitor(loop, wid, tid, &m), JZX_OK);
    CHECK(m != 0);
    CHECK_EQ(jzx_send(loop, tid, NULL, 0, tag), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    if (CHECK_EQ(w.downs, 1)) {
        CHECK_EQ_U64(w.got[0].id, tid);
        CHECK_EQ_U64(w.got[0].monitor, m);
        CHECK_EQ(w.got[0].reason, reason);
        CHECK_EQ(w.len[0], sizeof(jzx_down));
        CHECK_EQ_U64(w.sender[0], 0);
        /* Delivered: nothing left to remove. */
        CHECK_EQ(w.demonitor_rc, JZX_ERR_INVALID_ARG);
    }
    CHECK_EQ(w.misaligned, 0);
    CHECK_EQ(w.others, 0);
    CHECK_EQ(t.allocs, 1);
    CHECK_EQ(t.frees, 1);
    CHECK_EQ(t.foreign, 0);
    CHECK_EQ(jzx_demonitor(loop, m), JZX_ERR_INVALID_ARG);
    jzx_loop_destroy(loop);
    CHECK_EQ(t.frees, t.allocs);
    case_end();
}

/* A stale target: a Down with JZX_DOWN_NO_SUCH_ACTOR at once (at the
 * watcher's next turn, without anything else happening). */
static void test_monitor_dead_actor(void) {
    tally t;
    jzx_loop *loop;
    watcher w;
    jzx_actor_id wid, tid;
    jzx_monitor_id m = 0;

    case_begin("monitor_of_a_dead_actor_is_down_at_once");
    loop = NEW_TALLY_LOOP(&t, 0);
    tid = dead_actor(loop);
    wid = spawn_watcher(loop, &w, 1);
    CHECK_EQ(jzx_monitor(loop, wid, tid, &m), JZX_OK);
    CHECK(m != 0);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    if (CHECK_EQ(w.downs, 1)) {
        CHECK_EQ_U64(w.got[0].id, tid);
        CHECK_EQ_U64(w.got[0].monitor, m);
        CHECK_EQ(w.got[0].reason, JZX_DOWN_NO_SUCH_ACTOR);
        CHECK_EQ(w.len[0], sizeof(jzx_down));
    }
    CHECK_EQ(t.frees, t.allocs);
    jzx_loop_destroy(loop);
    case_end();
}

/* Two monitors of one target: two Downs, one per handle. */
static void test_monitors_stack(void) {
    jzx_loop *loop = NEW_LOOP();
    watcher w;
    jzx_actor_id wid, tid;
    jzx_monitor_id a = 0, b = 0;

    case_begin("monitors_stack");
    wid = spawn_watcher(loop, &w, 3);
    tid = SPAWN(loop, target_behavior, NULL);
    CHECK_EQ(jzx_monitor(loop, wid, tid, &a), JZX_OK);
    CHECK_EQ(jzx_monitor(loop, wid, tid, &b), JZX_OK);
    CHECK(a != 0 && b != 0 && a != b);
    CHECK_EQ(jzx_monitor(loop, wid, tid, NULL), JZX_OK); /* out may be NULL */
    CHECK_EQ(jzx_send(loop, tid, NULL, 0, 2u), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    if (CHECK_EQ(w.downs, 3)) {
        CHECK_EQ_U64(w.got[0].monitor, a);
        CHECK_EQ_U64(w.got[1].monitor, b);
        CHECK(w.got[2].monitor != a && w.got[2].monitor != b);
        CHECK_EQ(w.got[0].reason, JZX_EXIT_FAIL);
        CHECK_EQ(w.got[1].reason, JZX_EXIT_FAIL);
    }
    jzx_loop_destroy(loop);
    case_end();
}

/* jzx_demonitor before the target ends, and after a Down was queued (the
 * target was already dead): no Down either way. */
static void test_demonitor(void) {
    tally t;
    jzx_loop *loop;
    watcher w;
    jzx_actor_id wid, tid, dead, sentinel;
    jzx_monitor_id kept = 0, removed = 0, queued = 0;

    case_begin("demonitor_means_no_down");
    loop = NEW_TALLY_LOOP(&t, 0);
    dead = dead_actor(loop);
    wid = spawn_watcher(loop, &w, 2);
    tid = SPAWN(loop, target_behavior, NULL);
    sentinel = SPAWN(loop, target_behavior, NULL);
    CHECK_EQ(jzx_monitor(loop, wid, tid, &removed), JZX_OK);
    CHECK_EQ(jzx_monitor(loop, wid, tid, &kept), JZX_OK);
    CHECK_EQ(jzx_monitor(loop, wid, dead, &queued), JZX_OK); /* its Down is queued */
    CHECK_EQ(jzx_demonitor(loop, removed), JZX_OK);
    CHECK_EQ(jzx_demonitor(loop, queued), JZX_OK);
    CHECK_EQ(jzx_demonitor(loop, removed), JZX_ERR_INVALID_ARG); /* twice */
    CHECK_EQ(jzx_monitor(loop, wid, sentinel, NULL), JZX_OK);
    CHECK_EQ(jzx_send(loop, tid, NULL, 0, 1u), JZX_OK);
    CHECK_EQ(jzx_send(loop, sentinel, NULL, 0, 1u), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    if (CHECK_EQ(w.downs, 2)) { /* only the monitor that was kept, then the sentinel's */
        CHECK_EQ_U64(w.got[0].monitor, kept);
        CHECK_EQ_U64(w.got[0].id, tid);
        CHECK_EQ(w.got[0].reason, JZX_EXIT_NORMAL);
        CHECK_EQ_U64(w.got[1].id, sentinel);
    }
    CHECK_EQ(t.allocs, 2);
    CHECK_EQ(t.frees, 2);
    jzx_loop_destroy(loop);
    case_end();
}

/* After a while: removes a monitor (when `monitor` is set), un-fails the
 * allocator, and stops an actor (when `stop` is set). */
typedef struct fixer {
    tally *t;
    jzx_monitor_id monitor;
    jzx_actor_id stop;
    int demonitor_rc;
    int stop_rc;
    long refused_then;
} fixer;

static jzx_behavior_result fixer_behavior(jzx_context *ctx, const jzx_message *msg) {
    fixer *f = (fixer *)ctx->state;
    (void)msg;
    f->refused_then = f->t->refused;
    if (f->monitor != 0) f->demonitor_rc = jzx_demonitor(ctx->loop, f->monitor);
    f->t->failing = 0;
    if (f->stop != 0) f->stop_rc = jzx_actor_stop(ctx->loop, f->stop);
    return JZX_BEHAVIOR_STOP;
}

/* A watcher monitoring a target on a loop whose allocator can fail, and a
 * fixer that makes it work again when its timer comes. */
typedef struct failing_down {
    tally t;
    jzx_loop *loop;
    watcher w;
    fixer f;
    jzx_actor_id wid, tid, fid;
    jzx_monitor_id m;
} failing_down;

static void failing_down_begin(failing_down *x) {
    memset(x, 0, sizeof *x);
    x->loop = NEW_TALLY_LOOP(&x->t, 0);
    x->wid = spawn_watcher(x->loop, &x->w, 1);
    x->tid = SPAWN(x->loop, target_behavior, NULL);
    x->f.t = &x->t;
    x->fid = SPAWN(x->loop, fixer_behavior, &x->f);
    CHECK_EQ(jzx_monitor(x->loop, x->wid, x->tid, &x->m), JZX_OK);
}

/* The allocator fails, the target gets `tag` (1: stop, 2: fail), the fixer
 * runs `fix_ms` later; the run ends with the allocator refused meanwhile. */
static void failing_down_run(failing_down *x, uint32_t tag, uint32_t fix_ms) {
    x->t.failing = 1;
    CHECK_EQ(jzx_send(x->loop, x->tid, NULL, 0, tag), JZX_OK);
    CHECK_EQ(jzx_send_after(x->loop, x->fid, fix_ms, NULL, 0, 1, NULL), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(x->loop, 5000), 0);
    CHECK(x->f.refused_then >= 1);
}

/* The allocator fails as the Down comes and recovers 50 ms later: the Down
 * is kept and delivered once. */
static void test_down_survives_a_null_allocator(void) {
    failing_down x;

    case_begin("down_survives_a_null_allocator");
    failing_down_begin(&x);
    failing_down_run(&x, 2u, 50);
    CHECK(x.t.refused <= 20); /* backed off, no busy retrying */
    if (CHECK_EQ(x.w.downs, 1)) {
        CHECK_EQ_U64(x.w.got[0].id, x.tid);
        CHECK_EQ_U64(x.w.got[0].monitor, x.m);
        CHECK_EQ(x.w.got[0].reason, JZX_EXIT_FAIL);
    }
    CHECK_EQ(x.t.frees, x.t.allocs);
    jzx_loop_destroy(x.loop);
    case_end();
}

/* The Down waits for the allocator when its monitor is removed: it is
 * dropped, never delivered (the sentinel's, after it, is). */
static void test_demonitor_while_waiting(void) {
    failing_down x;
    jzx_actor_id sentinel;

    case_begin("demonitor_drops_a_down_waiting_for_the_allocator");
    failing_down_begin(&x);
    sentinel = SPAWN(x.loop, target_behavior, NULL);
    CHECK_EQ(jzx_monitor(x.loop, x.wid, sentinel, NULL), JZX_OK);
    x.f.monitor = x.m;
    x.f.stop = sentinel;
    failing_down_run(&x, 1u, 30);
    CHECK_EQ(x.f.demonitor_rc, JZX_OK);
    if (CHECK_EQ(x.w.downs, 1)) CHECK_EQ_U64(x.w.got[0].id, sentinel);
    CHECK_EQ(x.t.allocs, 1);
    jzx_loop_destroy(x.loop);
    CHECK_EQ(x.t.frees, x.t.allocs);
    case_end();
}

/* The watcher ends while its Down waits for the allocator: the Down goes
 * with it, and its handle is no longer a monitor. */
static void test_watcher_ends_while_waiting(void) {
    failing_down x;

    case_begin("down_waiting_for_the_allocator_goes_with_its_watcher");
    failing_down_begin(&x);
    x.f.stop = x.wid;
    failing_down_run(&x, 1u, 30);
    CHECK_EQ(x.f.stop_rc, JZX_OK);
    CHECK_EQ(x.w.downs, 0);
    CHECK_EQ(jzx_demonitor(x.loop, x.m), JZX_ERR_INVALID_ARG);
    CHECK_EQ(x.t.allocs, 0);
    jzx_loop_destroy(x.loop);
    case_end();
}

/* A watcher that ends holding monitors: their handles are forgotten. */
static void test_watcher_ends_with_monitors(void) {
    jzx_loop *loop = NEW_LOOP();
    watcher w;
    jzx_actor_id wid, tid;
    jzx_monitor_id m = 0;

    case_begin("monitors_go_with_their_watcher");
    wid = spawn_watcher(loop, &w, 1);
    tid = SPAWN(loop, target_behavior, NULL);
    CHECK_EQ(jzx_monitor(loop, wid, tid, &m), JZX_OK);
    CHECK_EQ(jzx_actor_stop(loop, wid), JZX_OK); /* at its next turn */
    CHECK_EQ(jzx_send(loop, tid, NULL, 0, 1u), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(jzx_demonitor(loop, m), JZX_ERR_INVALID_ARG);
    CHECK_EQ(w.downs, 0);
    jzx_loop_destroy(loop);
    case_end();
}

/* Monitors set and never resolved, with Downs queued, at destroy: nothing
 * leaks (valgrind), nothing is delivered. */
static void test_destroy_with_monitors(void) {
    tally t;
    jzx_loop *loop;
    watcher w;
    jzx_actor_id wid, tid;

    case_begin("destroy_with_monitors_set");
    loop = NEW_TALLY_LOOP(&t, 0);
    wid = spawn_watcher(loop, &w, 1);
    tid = SPAWN(loop, target_behavior, NULL);
    CHECK_EQ(jzx_monitor(loop, wid, tid, NULL), JZX_OK);
    CHECK_EQ(jzx_monitor(loop, tid, wid, NULL), JZX_OK);
    CHECK_EQ(jzx_monitor(loop, wid, 0xdead00000001ull, NULL), JZX_OK); /* queued Down */
    jzx_loop_destroy(loop);
    CHECK_EQ(w.downs, 0);
    CHECK_EQ(t.frees, t.allocs);
    case_end();
}

static jzx_behavior_result idle_behavior(jzx_context *ctx, const jzx_message *msg) {
    (void)ctx;
    (void)msg;
    return JZX_BEHAVIOR_OK;
}

/* Misuse: error codes, never a crash. */
static void test_misuse(void) {
    jzx_loop *loop = NEW_LOOP();
    watcher w;
    jzx_actor_id wid, sid, stale, sup = 0;
    jzx_monitor_id m = 0;
    jzx_child_spec child;
    jzx_supervisor_init init;
    jzx_spawn_opts_ex ex;

    case_begin("toolkit_misuse");
    stale = dead_actor(loop);
    wid = spawn_watcher(loop, &w, 1);

    CHECK_EQ(jzx_monitor(NULL, wid, wid, &m), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_monitor(loop, 0, wid, &m), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_monitor(loop, wid, 0, &m), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ(jzx_monitor(loop, stale, wid, &m), JZX_ERR_NO_SUCH_ACTOR);
    CHECK_EQ_U64(m, 0); /* untouched on error */

    memset(&child, 0, sizeof child);
    child.behavior = idle_behavior;
    child.mode = JZX_CHILD_TEMPORARY;
    memset(&init, 0, sizeof init);
    init.children = &child;
    init.child_count = 1;
    CHECK_EQ(jzx_spawn_supervisor(loop, &init, 0, &sup), JZX_OK);
    CHECK_EQ(jzx_monitor(loop, sup, wid, &m), JZX_ERR_INVALID_ARG); /* not a C actor */
    CHECK_EQ(jzx_monitor(loop, wid, sup, &m), JZX_OK);              /* a fine target */
    CHECK_EQ(jzx_demonitor(loop, m), JZX_OK);

    CHECK_EQ(jzx_demonitor(NULL, m), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_demonitor(loop, 0), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_demonitor(loop, 0x123456789ull), JZX_ERR_INVALID_ARG);

    CHECK_EQ(jzx_spawn_ex(loop, NULL, &sid), JZX_ERR_INVALID_ARG);
    CHECK_EQ(jzx_spawn_ex(NULL, NULL, &sid), JZX_ERR_INVALID_ARG);
    memset(&ex, 0, sizeof ex);
    CHECK_EQ(jzx_spawn_ex(loop, &ex, &sid), JZX_ERR_INVALID_ARG); /* no behavior */
    ex.base.behavior = idle_behavior;
    CHECK_EQ(jzx_spawn_ex(NULL, &ex, &sid), JZX_ERR_INVALID_ARG);
    ex.base.supervisor = stale;
    CHECK_EQ(jzx_spawn_ex(loop, &ex, &sid), JZX_ERR_NO_SUCH_ACTOR);
    jzx_loop_destroy(loop);
    case_end();
}

/* ---- on_start / on_stop ----------------------------------------------------------- */

/* Logs what happens to it: 'S' on_start, 'M' per user message, 'E' on_stop. */
typedef struct hooked {
    char log[16];
    int n;
    int stop_reason;
    jzx_actor_id start_self;
    jzx_actor_id stop_self;
    jzx_actor_id report_to; /* on_stop sends it tag 7 (0: no one) */
    int report_rc;
    int start_send_rc; /* on_start sends itself tag 9 */
    int self_msgs;
} hooked;

static void hlog(hooked *h, char c) {
    if (h->n < (int)sizeof h->log - 1) h->log[h->n++] = c;
}

static void check_log_at(const hooked *h, const char *want, const char *file, int line) {
    if (strcmp(h->log, want) != 0) {
        char buf[128];
        snprintf(buf, sizeof buf, "hook log \"%s\", expected \"%s\"", h->log, want);
        chk_fail(file, line, buf);
    }
}
#define check_log(h, want) check_log_at((h), (want), __FILE__, __LINE__)

static void hooked_start(jzx_context *ctx) {
    hooked *h = (hooked *)ctx->state;
    hlog(h, 'S');
    h->start_self = ctx->self;
    h->start_send_rc = jzx_send(ctx->loop, ctx->self, NULL, 0, 9u);
}

static void hooked_stop(jzx_context *ctx, jzx_exit_reason reason) {
    hooked *h = (hooked *)ctx->state;
    hlog(h, 'E');
    h->stop_reason = (int)reason;
    h->stop_self = ctx->self;
    if (h->report_to != 0) h->report_rc = jzx_send(ctx->loop, h->report_to, NULL, 0, 7u);
}

/* Tag 1: stop; tag 2: fail; 9: its own message from on_start (queued at
 * spawn, before any other), which ends the run. */
static jzx_behavior_result hooked_behavior(jzx_context *ctx, const jzx_message *msg) {
    hooked *h = (hooked *)ctx->state;
    if (msg->tag == 9u) {
        h->self_msgs++;
        jzx_loop_request_stop(ctx->loop);
        return JZX_BEHAVIOR_OK;
    }
    hlog(h, 'M');
    if (msg->tag == 1u) return JZX_BEHAVIOR_STOP;
    if (msg->tag == 2u) return JZX_BEHAVIOR_FAIL;
    return JZX_BEHAVIOR_OK;
}

static jzx_actor_id spawn_hooked(jzx_loop *loop, hooked *h) {
    jzx_spawn_opts_ex ex;
    jzx_actor_id id = 0;
    memset(&ex, 0, sizeof ex);
    ex.base.behavior = hooked_behavior;
    ex.base.state = h;
    ex.on_start = hooked_start;
    ex.on_stop = hooked_stop;
    CHECK_EQ(jzx_spawn_ex(loop, &ex, &id), JZX_OK);
    return id;
}

/* Counts tag-7 messages (on_stop's reports) and stops on the first. */
static jzx_behavior_result counter_behavior(jzx_context *ctx, const jzx_message *msg) {
    int *n = (int *)ctx->state;
    if (msg->tag != 7u) return JZX_BEHAVIOR_OK;
    (*n)++;
    return JZX_BEHAVIOR_STOP;
}

/* on_start before the first message, on_stop after the last with the
 * reason; both may call back into the loop. */
static void check_hooks(const char *name, uint32_t last_tag, int reason) {
    jzx_loop *loop = NEW_LOOP();
    hooked h;
    int reports = 0;
    jzx_actor_id id;

    case_begin(name);
    memset(&h, 0, sizeof h);
    h.report_to = SPAWN(loop, counter_behavior, &reports);
    id = spawn_hooked(loop, &h);
    CHECK_EQ(h.n, 1); /* on_start ran inside jzx_spawn_ex */
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 3u), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0); /* on_start's own message comes first */
    CHECK_EQ(h.self_msgs, 1);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, last_tag), JZX_OK);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 3u), JZX_OK); /* after the last: never handled */
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    check_log(&h, "SMME");
    CHECK_EQ(h.stop_reason, reason);
    CHECK_EQ_U64(h.start_self, id);
    CHECK_EQ_U64(h.stop_self, id);
    CHECK_EQ(h.start_send_rc, JZX_OK);
    CHECK_EQ(h.self_msgs, 1);
    CHECK_EQ(h.report_rc, JZX_OK);
    CHECK_EQ(reports, 1);
    jzx_loop_destroy(loop);
    case_end();
}

/* Stopped by id: on_stop with NORMAL after the messages it handled, and
 * for an actor failed before its first turn (its on_start ran at spawn). */
static void test_hooks_stop_by_id(void) {
    jzx_loop *loop = NEW_LOOP();
    hooked a, b;
    jzx_actor_id aid, bid;

    case_begin("on_stop_after_stop_by_id");
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    aid = spawn_hooked(loop, &a);
    bid = spawn_hooked(loop, &b);
    CHECK_EQ(jzx_send(loop, aid, NULL, 0, 3u), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(a.self_msgs, 1);
    CHECK_EQ(jzx_actor_stop(loop, aid), JZX_OK);
    CHECK_EQ(jzx_actor_fail(loop, bid), JZX_OK); /* before its first turn */
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    check_log(&a, "SME");
    CHECK_EQ(a.stop_reason, JZX_EXIT_NORMAL);
    check_log(&b, "SE");
    CHECK_EQ(b.stop_reason, JZX_EXIT_FAIL);
    jzx_loop_destroy(loop);
    case_end();
}

/* jzx_loop_destroy ends a live hooked actor: on_stop runs (NORMAL), and
 * its calls into the dying loop return LOOP_CLOSED. */
static void test_hooks_at_destroy(void) {
    jzx_loop *loop = NEW_LOOP();
    hooked h;
    int reports = 0;
    jzx_actor_id id;

    case_begin("on_stop_at_destroy");
    memset(&h, 0, sizeof h);
    h.report_to = SPAWN(loop, counter_behavior, &reports);
    id = spawn_hooked(loop, &h);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 3u), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(h.self_msgs, 1);
    jzx_loop_destroy(loop);
    check_log(&h, "SME");
    CHECK_EQ(h.stop_reason, JZX_EXIT_NORMAL);
    CHECK_EQ(h.report_rc, JZX_ERR_LOOP_CLOSED);
    case_end();
}

/* on_start may replace the state (as a behavior may); on_stop sees it. */
typedef struct boxed {
    hooked *next;
    int stops;
} boxed;

static void swap_start(jzx_context *ctx) {
    boxed *b = (boxed *)ctx->state;
    ctx->state = b->next;
    hlog(b->next, 'S');
}

static void swap_stop(jzx_context *ctx, jzx_exit_reason reason) {
    hooked *h = (hooked *)ctx->state;
    (void)reason;
    hlog(h, 'E');
}

static void test_hooks_replace_state(void) {
    jzx_loop *loop = NEW_LOOP();
    hooked h;
    boxed b;
    jzx_spawn_opts_ex ex;
    jzx_actor_id id = 0;

    case_begin("on_start_may_replace_the_state");
    memset(&h, 0, sizeof h);
    b.next = &h;
    b.stops = 0;
    memset(&ex, 0, sizeof ex);
    ex.base.behavior = hooked_behavior;
    ex.base.state = &b;
    ex.on_start = swap_start;
    ex.on_stop = swap_stop;
    CHECK_EQ(jzx_spawn_ex(loop, &ex, &id), JZX_OK);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 1u), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    check_log(&h, "SME");
    jzx_loop_destroy(loop);
    case_end();
}

/* jzx_spawn_ex without hooks, and jzx_spawn, behave alike: no hook, the
 * messages in order, a child exit to the parent (which stops after two). */
typedef struct plain {
    int msgs;
    int exits;
} plain;

static jzx_behavior_result plain_behavior(jzx_context *ctx, const jzx_message *msg) {
    plain *p = (plain *)ctx->state;
    if (msg->tag == JZX_TAG_SYS_CHILD_EXIT) {
        p->exits++;
        jzx_loop_free(ctx->loop, msg->data);
        return p->exits == 2 ? JZX_BEHAVIOR_STOP : JZX_BEHAVIOR_OK;
    }
    p->msgs++;
    return msg->tag == 1u ? JZX_BEHAVIOR_STOP : JZX_BEHAVIOR_OK;
}

static void test_plain_spawns(void) {
    jzx_loop *loop = NEW_LOOP();
    plain parent, a, b;
    jzx_spawn_opts opts;
    jzx_spawn_opts_ex ex;
    jzx_actor_id pid, aid = 0, bid = 0;

    case_begin("spawn_and_spawn_ex_without_hooks_alike");
    memset(&parent, 0, sizeof parent);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    pid = SPAWN(loop, plain_behavior, &parent);
    memset(&opts, 0, sizeof opts);
    opts.behavior = plain_behavior;
    opts.state = &a;
    opts.supervisor = pid;
    CHECK_EQ(jzx_spawn(loop, &opts, &aid), JZX_OK);
    memset(&ex, 0, sizeof ex);
    ex.base = opts;
    ex.base.state = &b;
    CHECK_EQ(jzx_spawn_ex(loop, &ex, &bid), JZX_OK);
    CHECK(aid != 0 && bid != 0 && aid != bid);
    CHECK_EQ(jzx_send(loop, aid, NULL, 0, 3u), JZX_OK);
    CHECK_EQ(jzx_send(loop, aid, NULL, 0, 1u), JZX_OK);
    CHECK_EQ(jzx_send(loop, bid, NULL, 0, 3u), JZX_OK);
    CHECK_EQ(jzx_send(loop, bid, NULL, 0, 1u), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(a.msgs, 2);
    CHECK_EQ(b.msgs, 2);
    CHECK_EQ(parent.exits, 2);
    CHECK_EQ(parent.msgs, 0);
    jzx_loop_destroy(loop);
    case_end();
}

/* A hooked actor is monitored: its on_stop runs before the watcher's Down. */
typedef struct order {
    hooked h;
    int down_after_stop;
    int downs;
} order;

static order ord;

static jzx_behavior_result order_watcher(jzx_context *ctx, const jzx_message *msg) {
    (void)ctx;
    if (msg->tag == JZX_TAG_SYS_DOWN) {
        ord.downs++;
        ord.down_after_stop = ord.h.n > 0 && ord.h.log[ord.h.n - 1] == 'E';
        jzx_loop_free(ctx->loop, msg->data);
        return JZX_BEHAVIOR_STOP;
    }
    return JZX_BEHAVIOR_OK;
}

static void test_on_stop_before_down(void) {
    jzx_loop *loop = NEW_LOOP();
    jzx_actor_id wid, id;

    case_begin("on_stop_runs_before_the_down");
    memset(&ord, 0, sizeof ord);
    wid = SPAWN(loop, order_watcher, NULL);
    id = spawn_hooked(loop, &ord.h);
    CHECK_EQ(jzx_monitor(loop, wid, id, NULL), JZX_OK);
    CHECK_EQ(jzx_send(loop, id, NULL, 0, 2u), JZX_OK);
    /* on_start's own message (handled first) ends the first run. */
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(ord.downs, 1);
    CHECK_EQ(ord.down_after_stop, 1);
    CHECK_EQ(ord.h.stop_reason, JZX_EXIT_FAIL);
    jzx_loop_destroy(loop);
    case_end();
}

int main(void) {
    check_init();
    check_down_on_end("down_after_a_normal_stop", 1u, JZX_EXIT_NORMAL);
    check_down_on_end("down_after_a_failure", 2u, JZX_EXIT_FAIL);
    test_monitor_dead_actor();
    test_monitors_stack();
    test_demonitor();
    test_down_survives_a_null_allocator();
    test_demonitor_while_waiting();
    test_watcher_ends_while_waiting();
    test_watcher_ends_with_monitors();
    test_destroy_with_monitors();
    test_misuse();
    check_hooks("on_start_first_on_stop_last_normal", 1u, JZX_EXIT_NORMAL);
    check_hooks("on_start_first_on_stop_last_fail", 2u, JZX_EXIT_FAIL);
    test_hooks_stop_by_id();
    test_hooks_at_destroy();
    test_hooks_replace_state();
    test_plain_spawns();
    test_on_stop_before_down();
    return check_exit();
}
