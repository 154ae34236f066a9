/*
 * loop.c: the smallest jzx program in C.
 *
 * Creates a loop, spawns one actor, sends it three messages, and runs the
 * loop. The actor prints each message and stops after the third; with no
 * live actor left the loop is idle, so jzx_loop_run returns, and the loop is
 * destroyed. Exit code 0.
 *
 * Build (from the repository root, after `cargo build`):
 *   cc -std=c99 -I include examples/c/loop.c target/debug/libjzx.a \
 *      -pthread -lm -ldl -lrt -lutil -lgcc_s -o loop
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jzx/jzx.h>

typedef struct counter {
    int seen;
} counter;

static jzx_behavior_result greeter(jzx_context *ctx, const jzx_message *msg) {
    counter *c = (counter *)ctx->state;
    c->seen++;
    printf("actor %llu got tag %u: %.*s\n", (unsigned long long)ctx->self, (unsigned)msg->tag,
           (int)msg->len, (const char *)msg->data);
    return c->seen == 3 ? JZX_BEHAVIOR_STOP : JZX_BEHAVIOR_OK;
}

int main(void) {
    static char *const words[3] = {"hello", "from", "C"};
    counter state = {0};
    jzx_spawn_opts opts;
    jzx_actor_id id = 0;
    jzx_loop *loop;
    int i, rc;

    loop = jzx_loop_create(NULL);
    if (loop == NULL) {
        fprintf(stderr, "jzx_loop_create failed\n");
        return 1;
    }
    memset(&opts, 0, sizeof opts);
    opts.behavior = greeter;
    opts.state = &state;
    opts.name = "greeter";
    rc = jzx_spawn(loop, &opts, &id);
    if (rc != JZX_OK) {
        fprintf(stderr, "jzx_spawn: %d\n", rc);
        jzx_loop_destroy(loop);
        return 1;
    }
    /* User payloads are never copied: the strings must outlive delivery. */
    for (i = 0; i < 3; i++) {
        rc = jzx_send(loop, id, words[i], strlen(words[i]), (uint32_t)(i + 1));
        if (rc != JZX_OK) fprintf(stderr, "jzx_send: %d\n", rc);
    }
    rc = jzx_loop_run(loop);
    printf("run returned %d after %d messages\n", rc, state.seen);
    jzx_loop_destroy(loop);
    return rc == 0 && state.seen == 3 ? 0 : 1;
}
