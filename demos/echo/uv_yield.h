/* SPDX-License-Identifier: MIT */
/*
 * libuv operations as "yield until done" for pagedstack tasks: a task
 * calls uvy_read, uvy_write, uvy_sleep or uvy_close as if they blocked;
 * when the operation cannot finish at once the task yields, and the libuv
 * callback that completes it resumes the task.  Header-only, no state of
 * its own: lift it into your own program as it is.
 *
 * Rules, all following from THE ONE RULE of pagedstack (a task's stack
 * addresses mean nothing while it is switched out):
 *  - struct uvy and every buffer handed to uvy_read/uvy_write live on the
 *    heap: libuv's callbacks use them while the task is switched out.
 *  - The loop runs on the thread's own stack (uv_run outside any task),
 *    and tasks are started with uvy_run, which destroys a task that has
 *    returned.
 *  - One operation at a time per struct uvy (give a task one per thing it
 *    waits on at once).
 */
#ifndef UV_YIELD_H
#define UV_YIELD_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <pagedstack.h>
#include <uv.h>

/* A task's wait on one libuv operation. */
struct uvy {
    pgs_task *task;   /* the task that waits */
    int done;         /* the operation has completed */
    ssize_t result;   /* its result: bytes, 0 at end of stream, or UV_E* */
    uv_buf_t buf;     /* the read buffer */
    uv_write_t write; /* the write request */
};

/* Resume t (from the loop: a callback, or the code that created t).  A
 * task that has returned is destroyed; it must have freed its own heap
 * state and closed its handles first. */
static inline void uvy_run(pgs_task *t)
{
    if (pgs_resume(t, NULL, NULL) != 0) {
        perror("uvy_run: pgs_resume");
        abort();
    }
    if (pgs_state(t) == PGS_DONE && pgs_destroy(t) != 0) {
        perror("uvy_run: pgs_destroy");
        abort();
    }
}

/* Called by a callback: the operation w waited on is done. */
static inline void uvy_wake(struct uvy *w, ssize_t result)
{
    w->result = result;
    w->done = 1;
    /* libuv never calls back from inside the call that started the
     * operation, but a task must never resume itself: check. */
    if (w->task != pgs_self())
        uvy_run(w->task);
}

/* Yield until w's operation is done; returns its result. */
static inline ssize_t uvy_park(struct uvy *w)
{
    w->task = pgs_self();
    while (!w->done)
        pgs_yield(NULL);
    return w->result;
}

static inline void uvy_alloc_cb_(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    *buf = ((struct uvy *)h->data)->buf;
}

static inline void uvy_read_cb_(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    if (n == 0) /* EAGAIN: libuv will call again */
        return;
    uv_read_stop(s);
    uvy_wake(s->data, n == UV_EOF ? 0 : n);
}

/*
 * Read up to len bytes from s into buf (on the heap).  Returns the bytes
 * read, 0 at end of stream, or a negative UV_E* code.  Data already there
 * is read at once without yielding (one read(2)); otherwise the task
 * yields until libuv sees the stream readable.
 */
static inline ssize_t uvy_read(struct uvy *w, uv_stream_t *s, char *buf,
                               size_t len)
{
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)s, &fd) == 0) {
        ssize_t n;
        do
            n = read(fd, buf, len);
        while (n < 0 && errno == EINTR);
        if (n >= 0)
            return n;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
    }
    w->done = 0;
    w->buf = uv_buf_init(buf, (unsigned)len);
    s->data = w;
    int rc = uv_read_start(s, uvy_alloc_cb_, uvy_read_cb_);
    if (rc != 0)
        return rc;
    return uvy_park(w);
}

static inline void uvy_write_cb_(uv_write_t *req, int status)
{
    uvy_wake(req->data, status);
}

/*
 * Write all len bytes of buf (on the heap) to s.  Returns 0 or a negative
 * UV_E* code.  What the socket takes at once costs no yield; the rest is
 * queued and the task yields until libuv has written it.
 */
static inline int uvy_write(struct uvy *w, uv_stream_t *s, const char *buf,
                            size_t len)
{
    uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
    int n = uv_try_write(s, &b, 1);
    if (n == (int)len)
        return 0;
    if (n < 0 && n != UV_EAGAIN)
        return n;
    if (n > 0) {
        b.base += n;
        b.len -= (size_t)n;
    }
    w->done = 0;
    w->write.data = w;
    int rc = uv_write(&w->write, s, &b, 1, uvy_write_cb_);
    if (rc != 0)
        return rc;
    return (int)uvy_park(w);
}

static inline void uvy_timer_cb_(uv_timer_t *t)
{
    uvy_wake(t->data, 0);
}

/* Yield for ms milliseconds on timer t (initialised, on the heap). */
static inline int uvy_sleep(struct uvy *w, uv_timer_t *t, uint64_t ms)
{
    w->done = 0;
    t->data = w;
    int rc = uv_timer_start(t, uvy_timer_cb_, ms, 0);
    if (rc != 0)
        return rc;
    return (int)uvy_park(w);
}

static inline void uvy_close_cb_(uv_handle_t *h)
{
    uvy_wake(h->data, 0);
}

/* Close h and yield until libuv has let go of it (its memory may then be
 * freed). */
static inline void uvy_close(struct uvy *w, uv_handle_t *h)
{
    w->done = 0;
    h->data = w;
    uv_close(h, uvy_close_cb_);
    uvy_park(w);
}

#endif
