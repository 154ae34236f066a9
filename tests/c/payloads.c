/*
 * payloads.c: runtime-owned payloads (SPEC §5) from a user jzx_allocator.
 * - An allocator may hand out under-aligned blocks (here: malloc's pointer
 *   plus one byte): receivers still get payloads aligned for their type, and
 *   jzx_loop_free / jzx_loop_destroy give the allocator back exactly the
 *   pointers it returned.
 * - When the allocator returns NULL, a child exit is kept, not lost: it is
 *   retried (on a backoff timer, and at the parent's next turn) until it can
 *   be delivered. Meanwhile the loop does not spin, a stop request still
 *   ends the run, and a later run delivers it.
 */
#include "check.h"


typedef struct parent {
    int fd;            /* watched pipe end, -1 for none */
    int io_events;
    int io_ok;         /* payloads with the right fd and READ set */
    int exits;
    jzx_actor_id exit_child;
    int exit_status;
    size_t exit_len;
    int misaligned;    /* payloads not aligned for their type */
} parent;

/* Reads system payloads through their type, frees them
 * and stops once it has seen a child exit and, when it watches an fd, an I/O
 * event. */
static jzx_behavior_result parent_behavior(jzx_context *ctx, const jzx_message *msg) {
    parent *p = (parent *)ctx->state;
    if (msg->tag == JZX_TAG_SYS_IO) {
        const jzx_io_event *ev = (const jzx_io_event *)msg->data;
        p->io_events++;
        if (((uintptr_t)msg->data & 3u) != 0) {
            p->misaligned++;
        } else if (ev->fd == p->fd && (ev->readiness & JZX_IO_READ) != 0) {
            p->io_ok++;
        }
        jzx_loop_free(ctx->loop, msg->data);
        jzx_unwatch_fd(ctx->loop, p->fd);
        return p->exits > 0 ? JZX_BEHAVIOR_STOP : JZX_BEHAVIOR_OK;
    }
    if (msg->tag == JZX_TAG_SYS_CHILD_EXIT) {
        const jzx_child_exit *ce = (const jzx_child_exit *)msg->data;
        p->exits++;
        p->exit_len = msg->len;
        if (((uintptr_t)msg->data & 7u) != 0) {
            p->misaligned++;
        } else {
            p->exit_child = ce->child;
            p->exit_status = (int)ce->status;
        }
        jzx_loop_free(ctx->loop, msg->data);
        return (p->fd < 0 || p->io_events > 0) ? JZX_BEHAVIOR_STOP : JZX_BEHAVIOR_OK;
    }
    return JZX_BEHAVIOR_OK;
}

static jzx_behavior_result child_behavior(jzx_context *ctx, const jzx_message *msg) {
    (void)ctx;
    return msg->tag == 2u ? JZX_BEHAVIOR_FAIL : JZX_BEHAVIOR_STOP;
}

static jzx_actor_id spawn_child(jzx_loop *loop, jzx_actor_id parent_id) {
    jzx_spawn_opts opts;
    jzx_actor_id id = 0;
    memset(&opts, 0, sizeof opts);
    opts.behavior = child_behavior;
    opts.supervisor = parent_id;
    CHECK_EQ(jzx_spawn(loop, &opts, &id), JZX_OK);
    return id;
}

/* A loop over `t` (blocks `offset` bytes off) with a parent `p` (watching
 * no fd) and its child. */
static jzx_loop *family(tally *t, size_t offset, parent *p, jzx_actor_id *pid,
                        jzx_actor_id *cid) {
    jzx_loop *loop = NEW_TALLY_LOOP(t, offset);
    memset(p, 0, sizeof *p);
    p->fd = -1;
    *pid = SPAWN(loop, parent_behavior, p);
    *cid = spawn_child(loop, *pid);
    return loop;
}

static void test_under_aligned(void) {
    tally t;
    jzx_loop *loop;
    parent p;
    jzx_actor_id pid, cid;
    int fds[2];

    case_begin("under_aligned_allocator");
    loop = family(&t, 1, &p, &pid, &cid);
    if (!CHECK_EQ(pipe(fds), 0)) {
        jzx_loop_destroy(loop);
        case_end();
        return;
    }
    p.fd = fds[0];
    CHECK_EQ(write(fds[1], "x", 1), 1);
    CHECK_EQ(jzx_watch_fd(loop, fds[0], pid, JZX_IO_READ), JZX_OK);
    CHECK_EQ(jzx_send(loop, cid, NULL, 0, 2), JZX_OK); /* the child fails */
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(p.io_events, 1);
    CHECK_EQ(p.io_ok, 1);
    CHECK_EQ(p.exits, 1);
    CHECK_EQ_U64(p.exit_child, cid);
    CHECK_EQ(p.exit_status, JZX_ACTOR_FAILED);
    CHECK_EQ(p.exit_len, sizeof(jzx_child_exit));
    CHECK_EQ(p.misaligned, 0); /* aligned though the allocator's blocks are not */
    CHECK_EQ(t.allocs, 2);
    CHECK_EQ(t.frees, 2); /* jzx_loop_free gave the allocator's pointers back */
    CHECK_EQ(t.foreign, 0);
    jzx_loop_destroy(loop);
    CHECK_EQ(t.frees, t.allocs);
    CHECK_EQ(t.foreign, 0);
    close(fds[0]);
    close(fds[1]);
    case_end();
}

/* Stops on a child exit, keeping its payload (unfreed). */
static jzx_behavior_result keeper_behavior(jzx_context *ctx, const jzx_message *msg) {
    (void)ctx;
    return msg->tag == JZX_TAG_SYS_CHILD_EXIT ? JZX_BEHAVIOR_STOP : JZX_BEHAVIOR_OK;
}

/* jzx_loop_destroy gives an under-aligned allocator its own pointer back
 * for a payload C never freed. */
static void test_under_aligned_destroy(void) {
    tally t;
    jzx_loop *loop = NEW_TALLY_LOOP(&t, 1);
    jzx_actor_id pid;

    case_begin("under_aligned_allocator_gets_its_pointers_back_at_destroy");
    pid = SPAWN(loop, keeper_behavior, NULL);
    CHECK_EQ(jzx_send(loop, spawn_child(loop, pid), NULL, 0, 1), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(t.allocs, 1);
    CHECK_EQ(t.frees, 0);
    jzx_loop_destroy(loop);
    CHECK_EQ(t.frees, 1);
    CHECK_EQ(t.foreign, 0);
    case_end();
}

/* Un-fails the allocator after a while. */
typedef struct recoverer {
    tally *t;
    long refused_then;
} recoverer;

static jzx_behavior_result recover_behavior(jzx_context *ctx, const jzx_message *msg) {
    recoverer *r = (recoverer *)ctx->state;
    (void)msg;
    r->refused_then = r->t->refused;
    r->t->failing = 0;
    return JZX_BEHAVIOR_STOP;
}

static jzx_behavior_result stopper_behavior(jzx_context *ctx, const jzx_message *msg) {
    (void)msg;
    jzx_loop_request_stop(ctx->loop);
    return JZX_BEHAVIOR_STOP;
}

/* The child exits while the allocator fails; the allocator recovers 100 ms
 * later: the parent still gets its child exit, after a few retries. */
static void test_null_then_recovers(void) {
    tally t;
    jzx_loop *loop;
    parent p;
    recoverer r;
    jzx_actor_id pid, cid, rid;
    double t0, waited;

    case_begin("child_exit_survives_a_null_allocator");
    loop = family(&t, 0, &p, &pid, &cid);
    r.t = &t;
    r.refused_then = 0;
    rid = SPAWN(loop, recover_behavior, &r);
    t.failing = 1;
    CHECK_EQ(jzx_send(loop, cid, NULL, 0, 1), JZX_OK); /* the child stops */
    t0 = now_ms();
    CHECK_EQ(jzx_send_after(loop, rid, 100, NULL, 0, 1, NULL), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    waited = now_ms() - t0;
    printf("# allocator refused %ld times in 100 ms, %ld in all; delivered after %.1f ms\n",
           r.refused_then, t.refused, waited);
    CHECK_EQ(p.exits, 1);
    CHECK_EQ_U64(p.exit_child, cid);
    CHECK_EQ(p.exit_status, JZX_ACTOR_STOPPED);
    CHECK_EQ(p.exit_len, sizeof(jzx_child_exit));
    CHECK(r.refused_then >= 1);
    /* Retries back off: no hot loop while the allocator keeps failing. */
    CHECK(t.refused <= 20);
    CHECK(waited >= 100.0);
    CHECK_EQ(t.frees, t.allocs);
    jzx_loop_destroy(loop);
    case_end();
}

/* The allocator keeps failing: a stop request still ends the run (the exit
 * is kept), and the next run, with the allocator back, delivers it. */
static void test_null_until_stopped(void) {
    tally t;
    jzx_loop *loop;
    parent p;
    jzx_actor_id pid, cid, sid;

    case_begin("child_exit_kept_across_a_stopped_run");
    loop = family(&t, 0, &p, &pid, &cid);
    sid = SPAWN(loop, stopper_behavior, NULL);
    t.failing = 1;
    CHECK_EQ(jzx_send(loop, cid, NULL, 0, 2), JZX_OK); /* the child fails */
    CHECK_EQ(jzx_send_after(loop, sid, 60, NULL, 0, 1, NULL), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(p.exits, 0);
    CHECK(t.refused >= 1);
    CHECK(t.refused <= 20);
    t.failing = 0;
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(p.exits, 1);
    CHECK_EQ_U64(p.exit_child, cid);
    CHECK_EQ(p.exit_status, JZX_ACTOR_FAILED);
    CHECK_EQ(t.frees, t.allocs);
    jzx_loop_destroy(loop);
    case_end();
}

/* Counts its calls; on its first child exit it stops itself and frees its
 * state (here: poisons it), as a C actor may. */
typedef struct self_stopper {
    int calls;
    int calls_after_stop;
    int stopped;
    int stop_rc;
} self_stopper;

static jzx_behavior_result self_stopping(jzx_context *ctx, const jzx_message *msg) {
    self_stopper *s = (self_stopper *)ctx->state;
    s->calls++;
    if (s->stopped) {
        s->calls_after_stop++;
        return JZX_BEHAVIOR_OK;
    }
    if (msg->tag == JZX_TAG_SYS_CHILD_EXIT) {
        jzx_loop_free(ctx->loop, msg->data);
        s->stopped = 1;
        s->stop_rc = jzx_actor_stop(ctx->loop, ctx->self);
    }
    return JZX_BEHAVIOR_OK;
}

/* Two child exits wait for a failing allocator; when it recovers, the
 * parent stops itself on the first: it is not called for the second (R12),
 * and the second exit's payload is never taken from the allocator or is
 * given back. */
static void test_stop_on_first_waiting_exit(void) {
    tally t;
    jzx_loop *loop;
    self_stopper s;
    recoverer r;
    jzx_actor_id pid, rid;

    case_begin("parent_stopped_on_a_waiting_exit_is_not_called_again");
    loop = NEW_TALLY_LOOP(&t, 0);
    memset(&s, 0, sizeof s);
    pid = SPAWN(loop, self_stopping, &s);
    r.t = &t;
    r.refused_then = 0;
    rid = SPAWN(loop, recover_behavior, &r);
    t.failing = 1;
    CHECK_EQ(jzx_send(loop, spawn_child(loop, pid), NULL, 0, 1), JZX_OK);
    CHECK_EQ(jzx_send(loop, spawn_child(loop, pid), NULL, 0, 1), JZX_OK);
    CHECK_EQ(jzx_send_after(loop, rid, 30, NULL, 0, 1, NULL), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK(r.refused_then >= 2);
    CHECK_EQ(s.stopped, 1);
    CHECK_EQ(s.stop_rc, JZX_OK);
    CHECK_EQ(s.calls, 1);
    CHECK_EQ(s.calls_after_stop, 0);
    CHECK_EQ(jzx_send(loop, pid, NULL, 0, 1), JZX_ERR_NO_SUCH_ACTOR);
    jzx_loop_destroy(loop);
    CHECK_EQ(t.frees, t.allocs);
    CHECK_EQ(t.foreign, 0);
    case_end();
}

int main(void) {
    check_init();
    test_under_aligned();
    test_under_aligned_destroy();
    test_null_then_recovers();
    test_null_until_stopped();
    test_stop_on_first_waiting_exit();
    return check_exit();
}
