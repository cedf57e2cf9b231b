/* SPDX-License-Identifier: MIT */
/*
 * demos/bench: every measurement of the demos in one program.
 *
 *   demos/bench switch [OPTIONS] [SCENARIO-PATTERN...]   switch/switch.c
 *   demos/bench memory [OPTIONS]                          memory/memory.c
 *   demos/bench report switch|memory|echo CSV [OPTIONS]   harness/report.c
 *   demos/bench cell switch|memory ...     one cell, run by the two above
 *
 * demos/bench-fcontext is the same with the Boost.Context model.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "harness.h"
#include "model.h"

const char *bench_self;

int main(int argc, char **argv)
{
    static char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    const char *what = argc > 1 ? argv[1] : "";
    const char *sub = argc > 2 ? argv[2] : "";
    bench_self = len > 0 ? (self[len] = '\0', self) : argv[0];
    if (!strcmp(what, "switch"))
        return switch_main(argc - 2, argv + 2);
    if (!strcmp(what, "memory"))
        return memory_main(argc - 2, argv + 2);
    if (!strcmp(what, "report"))
        return report_main(argc - 2, argv + 2);
    if (!strcmp(what, "cell") && !strcmp(sub, "switch"))
        return switch_cell(argc - 3, argv + 3);
    if (!strcmp(what, "cell") && !strcmp(sub, "memory"))
        return memory_cell(argc - 3, argv + 3);
    fprintf(stderr, "usage: %s switch|memory|report|cell ... (see the "
                    "first lines of demos/harness/main.c)\n", argv[0]);
    return 2;
}
