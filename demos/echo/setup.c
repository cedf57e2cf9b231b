/* SPDX-License-Identifier: MIT */
/*
 * The echo programs' setup: descriptor limits, and announcing the port.
 */
#include <stdio.h>
#include <sys/resource.h>
#include "setup.h"

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
