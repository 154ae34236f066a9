/*
 * pipes.c: fd readiness as JZX_TAG_SYS_IO messages (R16, R17): the payload
 * (fd, readiness, len, sender 0) released with jzx_loop_free, READ vs WRITE
 * interest, unwatch stops delivery (events queued for an unwatched fd are
 * discarded), 1000 watch/unwatch cycles, and a second unwatch is
 * IO_NOT_WATCHED.
 */
#include "check.h"

#include <fcntl.h>
#include <sys/socket.h>

#define TAG_GO 31u
#define TAG_STOP 32u

static int make_pipe(int fds[2]) {
    if (pipe(fds) != 0) return -1;
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK);
    return 0;
}

typedef struct reader {
    int fd;
    int events;
    int bad_len;
    int bad_sender;
    int bad_fd;
    int no_read_bit;
    int write_bit;
    int null_data;
    uint32_t last_readiness;
    int unwatch_rc;
    int bytes;
    int stop_after_unwatch;
} reader;

static jzx_behavior_result read_once(jzx_context *ctx, const jzx_message *msg) {
    reader *r = (reader *)ctx->state;
    if (msg->tag != JZX_TAG_SYS_IO) return JZX_BEHAVIOR_FAIL;
    r->events++;
    if (msg->len != sizeof(jzx_io_event)) r->bad_len++;
    if (msg->sender != 0) r->bad_sender++;
    if (msg->data == NULL) {
        r->null_data++;
    } else {
        const jzx_io_event *ev = (const jzx_io_event *)msg->data;
        if (ev->fd != r->fd) r->bad_fd++;
        if ((ev->readiness & JZX_IO_READ) == 0) r->no_read_bit++;
        if ((ev->readiness & JZX_IO_WRITE) != 0) r->write_bit++;
        r->last_readiness = ev->readiness;
        jzx_loop_free(ctx->loop, msg->data);
    }
    {
        char buf[16];
        ssize_t n = read(r->fd, buf, sizeof buf);
        if (n > 0) r->bytes += (int)n;
    }
    r->unwatch_rc = jzx_unwatch_fd(ctx->loop, r->fd);
    return JZX_BEHAVIOR_STOP;
}

static void test_read_event(void) {
    jzx_loop *loop;
    int fds[2];
    reader r;
    jzx_actor_id id = 0;

    case_begin("pipe_read_event");
    loop = NEW_LOOP();
    if (!CHECK_EQ(make_pipe(fds), 0)) {
        jzx_loop_destroy(loop);
        case_end();
        return;
    }
    memset(&r, 0, sizeof r);
    r.fd = fds[0];
    r.unwatch_rc = 12345;
    id = SPAWN(loop, read_once, &r);
    CHECK_EQ(jzx_watch_fd(loop, fds[0], id, JZX_IO_READ), JZX_OK);
    CHECK_EQ(write(fds[1], "x", 1), 1);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(r.events, 1);
    CHECK_EQ(r.bad_len, 0);
    CHECK_EQ(r.bad_sender, 0);
    CHECK_EQ(r.bad_fd, 0);
    CHECK_EQ(r.null_data, 0);
    CHECK_EQ(r.no_read_bit, 0);
    CHECK_EQ(r.write_bit, 0);
    CHECK_EQ(r.bytes, 1);
    CHECK_EQ(r.unwatch_rc, JZX_OK);
    /* Unwatched inside the behavior: a second unwatch is IO_NOT_WATCHED. */
    CHECK_EQ(jzx_unwatch_fd(loop, fds[0]), JZX_ERR_IO_NOT_WATCHED);
    CHECK_EQ(jzx_unwatch_fd(loop, fds[0]), JZX_ERR_IO_NOT_WATCHED);
    /* The runtime never closes an fd it did not open. */
    CHECK(fcntl(fds[0], F_GETFD) != -1);
    CHECK(fcntl(fds[1], F_GETFD) != -1);
    jzx_loop_destroy(loop);
    CHECK(fcntl(fds[0], F_GETFD) != -1);
    close(fds[0]);
    close(fds[1]);
    case_end();
}

/* WRITE interest on the write end reports WRITE and not READ; the owner
 * stops without unwatching and teardown removes the watch. */
typedef struct writer {
    int fd;
    int events;
    int bad;
    uint32_t readiness;
} writer;

static jzx_behavior_result write_once(jzx_context *ctx, const jzx_message *msg) {
    writer *w = (writer *)ctx->state;
    if (msg->tag != JZX_TAG_SYS_IO || msg->len != sizeof(jzx_io_event) || msg->data == NULL) {
        w->bad++;
        return JZX_BEHAVIOR_STOP;
    }
    {
        const jzx_io_event *ev = (const jzx_io_event *)msg->data;
        w->events++;
        w->readiness = ev->readiness;
        if (ev->fd != w->fd) w->bad++;
    }
    jzx_loop_free(ctx->loop, msg->data);
    return JZX_BEHAVIOR_STOP;
}

static void test_write_event(void) {
    jzx_loop *loop;
    int fds[2];
    writer w;
    jzx_actor_id id = 0;

    case_begin("pipe_write_event_and_teardown_unwatches");
    loop = NEW_LOOP();
    if (!CHECK_EQ(make_pipe(fds), 0)) {
        jzx_loop_destroy(loop);
        case_end();
        return;
    }
    memset(&w, 0, sizeof w);
    w.fd = fds[1];
    id = SPAWN(loop, write_once, &w);
    CHECK_EQ(jzx_watch_fd(loop, fds[1], id, JZX_IO_WRITE), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(w.events, 1);
    CHECK_EQ(w.bad, 0);
    CHECK((w.readiness & JZX_IO_WRITE) != 0);
    CHECK((w.readiness & JZX_IO_READ) == 0);
    /* Teardown removed the watch (R13). */
    CHECK_EQ(jzx_unwatch_fd(loop, fds[1]), JZX_ERR_IO_NOT_WATCHED);
    jzx_loop_destroy(loop);
    close(fds[0]);
    close(fds[1]);
    case_end();
}

/* Level-triggered: unread data is reported again after each turn. */
typedef struct level {
    int fd;
    int events;
    int want;
} level;

static jzx_behavior_result level_behavior(jzx_context *ctx, const jzx_message *msg) {
    level *l = (level *)ctx->state;
    if (msg->tag == JZX_TAG_SYS_IO) {
        l->events++;
        if (msg->data != NULL) jzx_loop_free(ctx->loop, msg->data);
        if (l->events == l->want) {
            jzx_unwatch_fd(ctx->loop, l->fd);
            return JZX_BEHAVIOR_STOP;
        }
    }
    return JZX_BEHAVIOR_OK;
}

static void test_level_triggered(void) {
    jzx_loop *loop;
    int fds[2];
    level l;
    jzx_actor_id id = 0;

    case_begin("level_triggered_repeats");
    loop = NEW_LOOP();
    if (!CHECK_EQ(make_pipe(fds), 0)) {
        jzx_loop_destroy(loop);
        case_end();
        return;
    }
    memset(&l, 0, sizeof l);
    l.fd = fds[0];
    l.want = 5;
    id = SPAWN(loop, level_behavior, &l);
    CHECK_EQ(write(fds[1], "abc", 3), 3);
    CHECK_EQ(jzx_watch_fd(loop, fds[0], id, JZX_IO_READ), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(l.events, 5);
    jzx_loop_destroy(loop);
    close(fds[0]);
    close(fds[1]);
    case_end();
}

/* 1000 watch/unwatch cycles, first back to back before a run, then one
 * step per turn while the pipe is readable; after an unwatch no event for
 * the fd may arrive. */
typedef struct cycler {
    int fd;
    int steps;
    int watched;
    int events;
    int events_while_unwatched;
    int got_event;
    int errors;
    int first_error;
} cycler;

static void note_error(cycler *c, int rc) {
    if (rc != JZX_OK) {
        if (c->errors == 0) c->first_error = rc;
        c->errors++;
    }
}

/* Even cycles wait for the readiness event before unwatching; odd cycles
 * unwatch on the next turn, racing the event (which must then be dropped). */
static jzx_behavior_result cycle_behavior(jzx_context *ctx, const jzx_message *msg) {
    cycler *c = (cycler *)ctx->state;
    int waiting = c->watched && (c->steps / 2) % 2 == 0;
    if (msg->tag == JZX_TAG_SYS_IO) {
        c->events++;
        if (!c->watched) c->events_while_unwatched++;
        if (msg->data != NULL) jzx_loop_free(ctx->loop, msg->data);
        if (waiting && !c->got_event) {
            c->got_event = 1;
            note_error(c, jzx_send(ctx->loop, ctx->self, NULL, 0, TAG_GO));
        }
        return JZX_BEHAVIOR_OK;
    }
    if (msg->tag == TAG_STOP) return JZX_BEHAVIOR_STOP;
    /* TAG_GO: one step. */
    if (c->watched) {
        note_error(c, jzx_unwatch_fd(ctx->loop, c->fd));
        c->watched = 0;
    } else {
        note_error(c, jzx_watch_fd(ctx->loop, c->fd, ctx->self, JZX_IO_READ));
        c->watched = 1;
        c->got_event = 0;
    }
    c->steps++;
    if (c->steps < 2000) {
        /* After a watch on an even cycle, the event sends the next GO. */
        if (!(c->watched && (c->steps / 2) % 2 == 0)) {
            note_error(c, jzx_send(ctx->loop, ctx->self, NULL, 0, TAG_GO));
        }
    } else {
        /* Unwatched now; stay alive a little to catch stray events. */
        note_error(c, jzx_send_after(ctx->loop, ctx->self, 30, NULL, 0, TAG_STOP, NULL));
    }
    return JZX_BEHAVIOR_OK;
}

static void test_rapid_cycles(void) {
    jzx_loop *loop;
    int fds[2];
    cycler c;
    jzx_actor_id id = 0;
    int i, errors = 0;

    case_begin("watch_unwatch_1000_cycles");
    loop = NEW_LOOP();
    if (!CHECK_EQ(make_pipe(fds), 0)) {
        jzx_loop_destroy(loop);
        case_end();
        return;
    }
    CHECK_EQ(write(fds[1], "ready", 5), 5);
    memset(&c, 0, sizeof c);
    c.fd = fds[0];
    id = SPAWN(loop, cycle_behavior, &c);
    /* Back to back, outside a run. */
    for (i = 0; i < 1000; i++) {
        if (jzx_watch_fd(loop, fds[0], id, JZX_IO_READ) != JZX_OK) errors++;
        if (jzx_unwatch_fd(loop, fds[0]) != JZX_OK) errors++;
    }
    CHECK_EQ(errors, 0);
    CHECK_EQ(jzx_unwatch_fd(loop, fds[0]), JZX_ERR_IO_NOT_WATCHED);
    /* Then one step per turn inside the run: 1000 watches, 1000 unwatches. */
    CHECK_EQ(jzx_send(loop, id, NULL, 0, TAG_GO), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 10000), 0);
    CHECK_EQ(c.steps, 2000);
    if (!CHECK_EQ(c.errors, 0)) FAILF("first error %d", c.first_error);
    CHECK_EQ(c.events_while_unwatched, 0);
    CHECK(c.events >= 500);
    printf("# %d readiness events during 1000 in-run watch/unwatch cycles\n", c.events);
    CHECK_EQ(jzx_unwatch_fd(loop, fds[0]), JZX_ERR_IO_NOT_WATCHED);
    jzx_loop_destroy(loop);
    close(fds[0]);
    close(fds[1]);
    case_end();
}

/* Re-watching a watched fd changes its interest and owner (R16). */
typedef struct owner {
    int events;
} owner;

static jzx_behavior_result owner_behavior(jzx_context *ctx, const jzx_message *msg) {
    owner *o = (owner *)ctx->state;
    if (msg->tag == JZX_TAG_SYS_IO) {
        o->events++;
        if (msg->data != NULL) jzx_loop_free(ctx->loop, msg->data);
        return JZX_BEHAVIOR_STOP; /* teardown removes the watch */
    }
    return msg->tag == TAG_STOP ? JZX_BEHAVIOR_STOP : JZX_BEHAVIOR_OK;
}

static void test_rewatch_changes_owner(void) {
    jzx_loop *loop;
    int fds[2];
    owner o1, o2;
    jzx_actor_id id1 = 0, id2 = 0;

    case_begin("rewatch_changes_owner");
    loop = NEW_LOOP();
    if (!CHECK_EQ(make_pipe(fds), 0)) {
        jzx_loop_destroy(loop);
        case_end();
        return;
    }
    memset(&o1, 0, sizeof o1);
    memset(&o2, 0, sizeof o2);
    id1 = SPAWN(loop, owner_behavior, &o1);
    id2 = SPAWN(loop, owner_behavior, &o2);
    CHECK_EQ(write(fds[1], "x", 1), 1);
    CHECK_EQ(jzx_watch_fd(loop, fds[0], id1, JZX_IO_READ), JZX_OK);
    CHECK_EQ(jzx_watch_fd(loop, fds[0], id2, JZX_IO_READ), JZX_OK);
    /* o1 must be told to stop by a message: it never hears of the fd. */
    CHECK_EQ(jzx_send_after(loop, id1, 50, NULL, 0, TAG_STOP, NULL), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(o1.events, 0);
    CHECK_EQ(o2.events, 1);
    CHECK_EQ(jzx_unwatch_fd(loop, fds[0]), JZX_ERR_IO_NOT_WATCHED);
    jzx_loop_destroy(loop);
    close(fds[0]);
    close(fds[1]);
    case_end();
}

/* Events left unfreed by the receiver, and events still queued when the
 * loop is destroyed, are released by jzx_loop_destroy (valgrind checks). */
static jzx_behavior_result hoarder(jzx_context *ctx, const jzx_message *msg) {
    int *n = (int *)ctx->state;
    (void)msg; /* never frees msg->data */
    (*n)++;
    if (*n == 3) jzx_loop_request_stop(ctx->loop);
    return JZX_BEHAVIOR_OK;
}

static void test_unfreed_released_by_destroy(void) {
    jzx_loop *loop;
    int fds[2];
    int n = 0;
    jzx_actor_id id = 0;

    case_begin("unfreed_events_released_by_destroy");
    loop = NEW_LOOP();
    if (!CHECK_EQ(make_pipe(fds), 0)) {
        jzx_loop_destroy(loop);
        case_end();
        return;
    }
    id = SPAWN(loop, hoarder, &n);
    CHECK_EQ(write(fds[1], "x", 1), 1);
    CHECK_EQ(jzx_watch_fd(loop, fds[0], id, JZX_IO_READ | JZX_IO_WRITE), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK(n >= 3);
    /* Destroy with the actor alive and the watch in place. */
    jzx_loop_destroy(loop);
    close(fds[0]);
    close(fds[1]);
    case_end();
}

/* Closing the write end: the read end reports READ and/or HANGUP, never
 * WRITE. A socketpair watched for READ|WRITE reports both directions. */
typedef struct bits {
    int events;
    uint32_t seen;
    int bad;
    int want;
    int fd;
} bits;

static jzx_behavior_result bits_behavior(jzx_context *ctx, const jzx_message *msg) {
    bits *b = (bits *)ctx->state;
    if (msg->tag != JZX_TAG_SYS_IO || msg->data == NULL || msg->len != sizeof(jzx_io_event)) {
        b->bad++;
        return JZX_BEHAVIOR_STOP;
    }
    b->events++;
    b->seen |= ((const jzx_io_event *)msg->data)->readiness;
    if (((const jzx_io_event *)msg->data)->fd != b->fd) b->bad++;
    jzx_loop_free(ctx->loop, msg->data);
    if ((b->seen & (uint32_t)b->want) == (uint32_t)b->want || b->events >= 10) {
        return JZX_BEHAVIOR_STOP;
    }
    return JZX_BEHAVIOR_OK;
}

static void test_hangup_and_both(void) {
    jzx_loop *loop;
    int fds[2], sv[2];
    bits b;
    jzx_actor_id id = 0;

    case_begin("hangup_and_read_write_interest");
    loop = NEW_LOOP();
    if (!CHECK_EQ(make_pipe(fds), 0)) {
        jzx_loop_destroy(loop);
        case_end();
        return;
    }
    close(fds[1]);
    memset(&b, 0, sizeof b);
    b.fd = fds[0];
    b.want = 0; /* any event */
    id = SPAWN(loop, bits_behavior, &b);
    CHECK_EQ(jzx_watch_fd(loop, fds[0], id, JZX_IO_READ), JZX_OK);
    CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
    CHECK_EQ(b.bad, 0);
    CHECK_EQ(b.events, 1);
    CHECK((b.seen & (JZX_IO_READ | JZX_IO_HANGUP)) != 0);
    CHECK((b.seen & JZX_IO_WRITE) == 0);
    printf("# closed pipe, READ watch: readiness 0x%x\n", (unsigned)b.seen);
    close(fds[0]);

    if (CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0)) {
        CHECK_EQ(write(sv[1], "hi", 2), 2);
        memset(&b, 0, sizeof b);
        b.fd = sv[0];
        b.want = (int)(JZX_IO_READ | JZX_IO_WRITE);
        id = SPAWN(loop, bits_behavior, &b);
        CHECK_EQ(jzx_watch_fd(loop, sv[0], id, JZX_IO_READ | JZX_IO_WRITE), JZX_OK);
        CHECK_EQ(RUN_BOUNDED(loop, 5000), 0);
        CHECK_EQ(b.bad, 0);
        if (!CHECK((b.seen & (JZX_IO_READ | JZX_IO_WRITE)) == (JZX_IO_READ | JZX_IO_WRITE))) {
            FAILF("READ|WRITE watch saw 0x%x in %d events", (unsigned)b.seen, b.events);
        }
        close(sv[0]);
        close(sv[1]);
    }
    jzx_loop_destroy(loop);
    case_end();
}

int main(void) {
    check_init();
    test_read_event();
    test_write_event();
    test_level_triggered();
    test_rapid_cycles();
    test_rewatch_changes_owner();
    test_unfreed_released_by_destroy();
    test_hangup_and_both();
    return check_exit();
}
