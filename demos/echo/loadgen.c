/* SPDX-License-Identifier: MIT */
/*
 * The echo demo's load generator, a process of its own: N connections to
 * 127.0.0.1, each sending requests one at a time and checking every
 * answer, for a bounded number of rounds; then it stops.  What it measures
 * and how: demos/echo/README.md.
 *
 *   echo_loadgen --port-file FILE | --port N  [-n CONNECTIONS] [--rounds R]
 *       [--deep-share P] [--deep-depth D] [--shallow-depth D] [--seed S]
 *       [--wait-ms MS] [--label NAME] [--csv FILE]
 *
 * Exit status 0 when every answer was right or a refusal of a deep
 * request ("ERR too deep"), 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>
#include "harness.h"
#include "request.h"
#include "serve.h"
#include "setup.h"

#define VARIANTS 16

struct conn {
    int fd;
    int left;          /* requests still to send in this phase */
    int gone;          /* the server closed it: no more requests */
    int deep;          /* the request in flight is deep */
    int variant;       /* which of the prepared requests */
    double sent;       /* when it was sent (mem_now) */
    size_t have;       /* bytes of the answer so far */
    char in[128];
};

struct prepared {
    char text[3 * 2000 + 2];
    size_t len;
    char answer[64];
};

static struct prepared shallow[VARIANTS], deep[VARIANTS];
static unsigned long long ok, refused, failed;
static double *lat;
static size_t nlat;
static unsigned long long rng = 0x9e3779b97f4a7c15ULL;

static unsigned long long next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void prepare(struct prepared *p, int depth, unsigned seed)
{
    uint64_t hash;
    p->len = req_build(p->text, sizeof p->text, depth, seed, &hash);
    if (p->len == 0 || p->len > REQ_MAX_LINE) {
        fprintf(stderr, "echo_loadgen: depth %d does not fit a request line "
                "(at most %d bytes)\n", depth, REQ_MAX_LINE);
        exit(2);
    }
    snprintf(p->answer, sizeof p->answer, "%d %016llx\n", depth,
             (unsigned long long)hash);
}

/* Write all of buf to a socket that may be non-blocking. */
static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            struct pollfd p = { fd, POLLOUT, 0 };
            poll(&p, 1, 1000);
        } else {
            return -1;
        }
    }
    return 0;
}

/* Send a line and wait for the one-line answer (conn 0, between phases). */
static int exchange(int fd, const char *req, char *ans, size_t len)
{
    if (send_all(fd, req, strlen(req)) != 0)
        return -1;
    size_t have = 0;
    while (have + 1 < len) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 60000) <= 0)
            return -1;
        ssize_t n = recv(fd, ans + have, len - 1 - have, 0);
        if (n <= 0)
            return -1;
        have += (size_t)n;
        ans[have] = '\0';
        if (memchr(ans, '\n', have))
            return 0;
    }
    return -1;
}

static long long stat_field(const char *s, const char *key)
{
    const char *p = strstr(s, key);
    return p ? strtoll(p + strlen(key), NULL, 10) : 0;
}

/* Send c its next request.  Returns 0, or -1 if the connection is gone
 * (its requests left are counted as failed). */
static int send_next(struct conn *c, double share)
{
    c->deep = (double)(next_rand() % 1000000) < share * 1e6;
    c->variant = (int)(next_rand() % VARIANTS);
    struct prepared *p = c->deep ? &deep[c->variant] : &shallow[c->variant];
    c->have = 0;
    c->sent = mem_now();
    if (send_all(c->fd, p->text, p->len) != 0) {
        failed += (unsigned long long)c->left;
        c->left = 0;
        return -1;
    }
    return 0;
}

/* Check the answer in c->in, count it, and send the next request. */
static void answered(struct conn *c, double share, int record, size_t *pending)
{
    struct prepared *p = c->deep ? &deep[c->variant] : &shallow[c->variant];
    if (strcmp(c->in, p->answer) == 0)
        ok++;
    else if (c->deep && strcmp(c->in, "ERR too deep\n") == 0)
        refused++;
    else {
        if (failed < 5)
            fprintf(stderr, "echo_loadgen: wrong answer: %s", c->in);
        failed++;
    }
    if (record)
        lat[nlat++] = (mem_now() - c->sent) * 1e6;
    if (--c->left == 0 || send_next(c, share) != 0)
        --*pending;
}

/* Every connection sends `rounds` requests, one at a time. */
static void phase(int ep, struct conn *cs, size_t n, int rounds, double share,
                  int record)
{
    size_t pending = n;
    for (size_t i = 0; i < n; i++) {
        cs[i].left = rounds;
        if (cs[i].gone) {
            failed += (unsigned long long)rounds;
            cs[i].left = 0;
            pending--;
        } else if (send_next(&cs[i], share) != 0) {
            pending--;
        }
    }
    struct epoll_event ev[1024];
    while (pending > 0) {
        int k = epoll_wait(ep, ev, 1024, 60000);
        if (k == 0) {
            fprintf(stderr, "echo_loadgen: no answer for 60 s; %zu "
                    "connections waiting\n", pending);
            exit(1);
        }
        for (int j = 0; j < k; j++) {
            struct conn *c = ev[j].data.ptr;
            if (c->left == 0) {
                /* Done, or gone (the server closed it): its end of
                 * stream must not wake this loop again. */
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                c->gone = 1;
                continue;
            }
            ssize_t r = recv(c->fd, c->in + c->have,
                             sizeof c->in - 1 - c->have, 0);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r <= 0) {
                /* The server closed the connection (or died). */
                failed += (unsigned long long)c->left;
                c->left = 0;
                pending--;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                c->gone = 1;
                c->gone = 1;
                continue;
            }
            c->have += (size_t)r;
            c->in[c->have] = '\0';
            if (memchr(c->in, '\n', c->have))
                answered(c, share, record, &pending);
            else if (c->have == sizeof c->in - 1) {
                c->in[0] = '\0';
                answered(c, share, record, &pending);
            }
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int connect_one(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((unsigned short)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0)
        die("echo_loadgen: socket");
    while (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (errno != EINTR)
            die("echo_loadgen: connect to 127.0.0.1");
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int read_port(const char *file)
{
    FILE *f = fopen(file, "r");
    int port = 0;
    if (!f || fscanf(f, "%d", &port) != 1)
        die(file);
    fclose(f);
    return port;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        ECHO_PORT_OPTIONS,
        { "connections", required_argument, NULL, 'n' },
        { "rounds", required_argument, NULL, 'r' },
        { "deep-share", required_argument, NULL, 'd' },
        { "deep-depth", required_argument, NULL, 'D' },
        { "shallow-depth", required_argument, NULL, 'S' },
        { "seed", required_argument, NULL, 's' },
        { "wait-ms", required_argument, NULL, 'w' },
        { "label", required_argument, NULL, 'l' },
        { "csv", required_argument, NULL, 'c' },
        { NULL, 0, NULL, 0 }
    };
    int port = 0, rounds = 10, deep_depth = 1000, shallow_depth = 3, o;
    unsigned wait_ms = 0;
    size_t n = 100;
    double share = 0.01;
    const char *label = "server", *csv = NULL;
    while ((o = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
        switch (o) {
        case 'p': port = atoi(optarg); break;
        case 'f': port = read_port(optarg); break;
        case 'n': n = strtoul(optarg, NULL, 10); break;
        case 'r': rounds = atoi(optarg); break;
        case 'd': share = atof(optarg); break;
        case 'D': deep_depth = atoi(optarg); break;
        case 'S': shallow_depth = atoi(optarg); break;
        case 's': rng ^= strtoull(optarg, NULL, 10) * 0xbf58476d1ce4e5b9ULL; break;
        case 'w': wait_ms = (unsigned)atoi(optarg); break;
        case 'l': label = optarg; break;
        case 'c': csv = optarg; break;
        default:
            fprintf(stderr, "usage: see the comment at the top of "
                    "demos/echo/loadgen.c\n");
            return 2;
        }
    }
    if (port <= 0 || n < 1 || rounds < 2 || share < 0 || share > 1) {
        fprintf(stderr, "echo_loadgen: need a port, -n >= 1, --rounds >= 2, "
                "--deep-share in [0, 1]\n");
        return 2;
    }
    if (echo_raise_fd_limit("echo_loadgen", n + 32) != 0)
        return 1;
    for (unsigned v = 0; v < VARIANTS; v++) {
        prepare(&shallow[v], shallow_depth, v);
        prepare(&deep[v], deep_depth, v);
    }
    struct conn *cs = calloc(n, sizeof *cs);
    lat = malloc(n * (size_t)(rounds - 1) * sizeof *lat);
    if (!cs || !lat)
        die("echo_loadgen: malloc");

    /* Before: the machine, and the server with one connection (ours). */
    struct mem_snap m0, m1;
    char s0[512], s1[512], w[64];
    mem_snap_take(&m0);
    cs[0].fd = connect_one(port);
    if (exchange(cs[0].fd, "STATS\n", s0, sizeof s0) != 0)
        die("echo_loadgen: STATS");
    if (wait_ms) {
        char req[32];
        snprintf(req, sizeof req, "WAIT %u\n", wait_ms);
        double t = mem_now();
        if (exchange(cs[0].fd, req, w, sizeof w) != 0 ||
            strcmp(w, "OK waited\n") != 0) {
            fprintf(stderr, "echo_loadgen: WAIT failed\n");
            return 1;
        }
        printf("echo_loadgen: WAIT %u answered after %.1f ms\n", wait_ms,
               (mem_now() - t) * 1e3);
    }
    for (size_t i = 1; i < n; i++)
        cs[i].fd = connect_one(port);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("echo_loadgen: epoll");
    for (size_t i = 0; i < n; i++) {
        fcntl(cs[i].fd, F_SETFL, fcntl(cs[i].fd, F_GETFL) | O_NONBLOCK);
        struct epoll_event e = { .events = EPOLLIN, .data.ptr = &cs[i] };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &e) != 0)
            die("echo_loadgen: epoll_ctl");
    }

    phase(ep, cs, n, 1, share, 0);
    mem_snap_take(&m1);
    if (exchange(cs[0].fd, "STATS\n", s1, sizeof s1) != 0) {
        fprintf(stderr, "echo_loadgen: no STATS after round 1 (server "
                "gone?)\n");
        s1[0] = '\0';
    }

    double t0 = mem_now();
    phase(ep, cs, n, rounds - 1, share, 1);
    double secs = mem_now() - t0;
    for (size_t i = 0; i < n; i++)
        close(cs[i].fd);

    qsort(lat, nlat, sizeof *lat, cmp_double);
    double p50 = nlat ? lat[nlat / 2] : 0;
    double p99 = nlat ? lat[(size_t)((double)nlat * 0.99)] : 0;
    double pmax = nlat ? lat[nlat - 1] : 0;
    double rps = (double)nlat / secs;
    double dn = (double)n;
    double cg = m0.cgroup >= 0 && m1.cgroup >= 0 ?
        (double)(m1.cgroup - m0.cgroup) / dn : -1;
    double used = (double)(m1.used - m0.used) / dn;
    double rss = (double)(stat_field(s1, "rss=") - stat_field(s0, "rss=")) / dn;
    /* The server's own memory: what it has resident, less the pool pages
     * it has mapped (counted once, in pool=), plus every pool page, mapped
     * or not. */
    double own0 = (double)(stat_field(s0, "rss=") - stat_field(s0, "shmem=") +
                           stat_field(s0, "pool="));
    double own1 = (double)(stat_field(s1, "rss=") - stat_field(s1, "shmem=") +
                           stat_field(s1, "pool="));
    double pool = (double)stat_field(s1, "pool=") / dn;
    double own = (own1 - own0) / dn;
    long long threads = stat_field(s1, "threads=");
    unsigned long long requests = ok + refused + failed;

    char b1[32], b2[32], b3[32], b4[32];
    printf("echo_loadgen: %s, %zu connections, %d rounds, %.2f%% deep: "
           "%llu requests, %llu ok, %llu refused as too deep, %llu failed\n",
           label, n, rounds, share * 100, requests, ok, refused, failed);
    printf("echo_loadgen: timed rounds: %.0f requests/s, latency p50 %.0f us, "
           "p99 %.0f us, max %.0f us\n", rps, p50, p99, pmax);
    printf("echo_loadgen: memory per connection: cgroup %s, "
           "MemTotal-MemAvailable %s, server own %s (VmRSS %s), "
           "server threads %lld\n",
           mem_fmt(b1, sizeof b1, cg), mem_fmt(b2, sizeof b2, used),
           mem_fmt(b3, sizeof b3, own), mem_fmt(b4, sizeof b4, rss), threads);
    if (csv) {
        FILE *f = fopen(csv, "a");
        if (!f)
            die(csv);
        if (ftell(f) == 0)
            fprintf(f, "model,connections,rounds,deep_share,requests,ok,"
                    "refused,failed,seconds,req_per_s,p50_us,p99_us,max_us,"
                    "cgroup_per_conn,used_per_conn,server_own_per_conn,"
                    "server_rss_per_conn,pool_per_conn,server_threads\n");
        fprintf(f, "%s,%zu,%d,%g,%llu,%llu,%llu,%llu,%.3f,%.0f,%.0f,%.0f,"
                "%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%lld\n", label, n, rounds,
                share, requests, ok, refused, failed, secs, rps, p50, p99,
                pmax, cg, used, own, rss, pool, threads);
        fclose(f);
    }
    close(ep);
    free(cs);
    free(lat);
    return failed ? 1 : 0;
}
