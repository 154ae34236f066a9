/*
 * supervisor.c: a supervision tree in C.
 *
 * A one_for_one supervisor owns two permanent children: "flaky", which
 * fails on its first three jobs, and "steady", which never fails. A client
 * actor sends each child a job every 10 ms, looking up the child's current
 * id with jzx_supervisor_child_id (a restarted child has a new id). The
 * supervisor restarts "flaky" after each failure, waiting a constant 20 ms
 * backoff; an observer prints every start, stop and restart. Once "flaky"
 * has finished a job, the client stops the supervisor (which stops its
 * children, in reverse order) and itself; the loop is then idle and
 * jzx_loop_run returns. Exit code 0.
 *
 * Build (from the repository root, after `cargo build`):
 *   cc -std=c99 -I include examples/c/supervisor.c target/debug/libjzx.a \
 *      -pthread -lm -ldl -lrt -lutil -lgcc_s -o supervisor
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jzx/jzx.h>

#define TAG_JOB 1u
#define TAG_TICK 2u

/* ---- children: their state outlives each incarnation (the spec's state
 * pointer is reused on restart) ---------------------------------------------- */

typedef struct worker_state {
    const char *name;
    int failures_left;
    int jobs_done;
} worker_state;

static jzx_behavior_result worker(jzx_context *ctx, const jzx_message *msg) {
    worker_state *w = (worker_state *)ctx->state;
    if (msg->tag != TAG_JOB) return JZX_BEHAVIOR_OK;
    if (w->failures_left > 0) {
        w->failures_left--;
        printf("  %s (%llu): job failed\n", w->name, (unsigned long long)ctx->self);
        return JZX_BEHAVIOR_FAIL;
    }
    w->jobs_done++;
    return JZX_BEHAVIOR_OK;
}

/* ---- observer ----------------------------------------------------------------- */

static int restarts = 0;

static void on_start(void *ctx, jzx_actor_id id, const char *name) {
    (void)ctx;
    printf("start   %llu %s\n", (unsigned long long)id, name != NULL ? name : "");
}

static void on_stop(void *ctx, jzx_actor_id id, jzx_exit_reason reason) {
    static const char *const reasons[] = {"normal", "fail", "panic"};
    (void)ctx;
    printf("stop    %llu (%s)\n", (unsigned long long)id,
           (unsigned)reason < 3u ? reasons[reason] : "?");
}

static void on_restart(void *ctx, jzx_actor_id sup, jzx_actor_id child, uint32_t attempt) {
    (void)ctx;
    restarts++;
    printf("restart %llu by supervisor %llu, attempt %u\n", (unsigned long long)child,
           (unsigned long long)sup, (unsigned)attempt);
}

static void on_escalate(void *ctx, jzx_actor_id sup) {
    (void)ctx;
    printf("escalate: supervisor %llu gave up\n", (unsigned long long)sup);
}

/* ---- client ---------------------------------------------------------------------- */

typedef struct client_state {
    jzx_actor_id sup;
    worker_state *flaky;
    int ticks;
} client_state;

static jzx_behavior_result client(jzx_context *ctx, const jzx_message *msg) {
    client_state *c = (client_state *)ctx->state;
    size_t i;
    (void)msg;
    if (c->flaky->jobs_done > 0 || ++c->ticks > 500) {
        jzx_actor_stop(ctx->loop, c->sup);
        return JZX_BEHAVIOR_STOP;
    }
    for (i = 0; i < 2; i++) {
        jzx_actor_id child = 0;
        /* 0 while the child waits out its restart backoff. */
        if (jzx_supervisor_child_id(ctx->loop, c->sup, i, &child) == JZX_OK && child != 0) {
            jzx_send(ctx->loop, child, NULL, 0, TAG_JOB);
        }
    }
    jzx_send_after(ctx->loop, ctx->self, 10, NULL, 0, TAG_TICK, NULL);
    return JZX_BEHAVIOR_OK;
}

int main(void) {
    worker_state flaky = {"flaky", 3, 0};
    worker_state steady = {"steady", 0, 0};
    jzx_child_spec children[2];
    jzx_supervisor_init init;
    jzx_observer obs;
    client_state cs;
    jzx_spawn_opts opts;
    jzx_actor_id sup = 0, cid = 0;
    jzx_loop *loop;
    int rc;

    loop = jzx_loop_create(NULL);
    if (loop == NULL) {
        fprintf(stderr, "jzx_loop_create failed\n");
        return 1;
    }
    memset(&obs, 0, sizeof obs);
    obs.on_actor_start = on_start;
    obs.on_actor_stop = on_stop;
    obs.on_actor_restart = on_restart;
    obs.on_supervisor_escalate = on_escalate;
    jzx_loop_set_observer(loop, &obs, NULL);

    memset(children, 0, sizeof children);
    children[0].behavior = worker;
    children[0].state = &flaky;
    children[0].mode = JZX_CHILD_PERMANENT;
    children[0].backoff = JZX_BACKOFF_NONE; /* use the supervisor's backoff */
    children[0].name = "flaky";
    children[1].behavior = worker;
    children[1].state = &steady;
    children[1].mode = JZX_CHILD_PERMANENT;
    children[1].backoff = JZX_BACKOFF_NONE;
    children[1].name = "steady";

    memset(&init, 0, sizeof init);
    init.children = children;
    init.child_count = 2;
    init.supervisor.strategy = JZX_SUP_ONE_FOR_ONE;
    init.supervisor.intensity = 5; /* more than 5 restarts in 1 s: give up */
    init.supervisor.period_ms = 1000;
    init.supervisor.backoff = JZX_BACKOFF_CONSTANT;
    init.supervisor.backoff_delay_ms = 20;
    rc = jzx_spawn_supervisor(loop, &init, 0, &sup);
    if (rc != JZX_OK) {
        fprintf(stderr, "jzx_spawn_supervisor: %d\n", rc);
        jzx_loop_destroy(loop);
        return 1;
    }

    memset(&cs, 0, sizeof cs);
    cs.sup = sup;
    cs.flaky = &flaky;
    memset(&opts, 0, sizeof opts);
    opts.behavior = client;
    opts.state = &cs;
    opts.name = "client";
    jzx_spawn(loop, &opts, &cid);
    jzx_send(loop, cid, NULL, 0, TAG_TICK);

    rc = jzx_loop_run(loop);
    printf("run returned %d: %d restarts, flaky did %d job(s), steady did %d\n", rc, restarts,
           flaky.jobs_done, steady.jobs_done);
    jzx_loop_destroy(loop);
    return rc == 0 && restarts == 3 && flaky.jobs_done > 0 ? 0 : 1;
}
