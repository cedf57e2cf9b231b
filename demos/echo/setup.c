/* SPDX-License-Identifier: MIT */
/*
 * The echo programs' setup: descriptor limits, and announcing the port.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include "setup.h"

int echo_listen(const char *prog, int *port, int type, int option)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((unsigned short)*port) };
    socklen_t alen = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, option, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(fd, ECHO_BACKLOG) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        fprintf(stderr, "%s: listen on 127.0.0.1:%d: %s\n", prog, *port,
                strerror(errno));
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

int echo_raise_fd_limit(const char *prog, unsigned long need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        perror(prog);
        return -1;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            perror(prog);
            return -1;
        }
    }
    if (need && rl.rlim_cur < need) {
        fprintf(stderr, "%s: %lu file descriptors needed, the limit is %llu: "
                "raise it (ulimit -n %lu, as root if the hard limit is lower; "
                "or LimitNOFILE= / nofile in limits.conf)\n", prog, need,
                (unsigned long long)rl.rlim_cur, need);
        return -1;
    }
    return 0;
}

int echo_announce(const char *prog, int port, const char *file)
{
    printf("%s: listening on 127.0.0.1:%d\n", prog, port);
    fflush(stdout);
    if (!file)
        return 0;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", file);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 ||
        rename(tmp, file) != 0) {
        perror(file);
        return -1;
    }
    return 0;
}
