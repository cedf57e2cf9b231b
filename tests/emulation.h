/* SPDX-License-Identifier: MIT */
/*
 * What the suites need to know when they run under user-mode emulation:
 * make check-aarch64 runs every test program under qemu-aarch64-static
 * and names the emulator in PGS_EMULATOR.  Checks that cannot hold there
 * are skipped (each says why where it is registered); everything else
 * must pass as on the hardware.
 */
#ifndef PGS_TESTS_EMULATION_H
#define PGS_TESTS_EMULATION_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether the suite runs under an emulator. */
static inline int emu_active(void)
{
    const char *e = getenv("PGS_EMULATOR");
    return e && *e;
}

/*
 * Whether to leave test `name` out: under emulation, when it checks what
 * the emulator does not do as a kernel does (`why`).  Says so, on the
 * suite's output, so that every skip is listed in the test log.
 */
static inline int emu_skip(const char *name, const char *why)
{
    if (!emu_active())
        return 0;
    printf("# SKIP under emulation: %s (%s)\n", name, why);
    return 1;
}

/*
 * qemu-user reports a program's death by a signal itself, on the
 * program's own stderr ("qemu: uncaught target signal 11 (Segmentation
 * fault) - core dumped"); a kernel says nothing.  Drop those lines from
 * captured stderr (buf, *len bytes, NUL-terminated), so that the checks
 * of what the library said see only the library.
 */
static inline void emu_strip(char *buf, size_t *len)
{
    static const char line[] = "qemu: uncaught target signal ";
    char *p;
    while ((p = strstr(buf, line)) != NULL &&
           (p == buf || p[-1] == '\n')) {
        char *nl = strchr(p, '\n');
        char *end = nl ? nl + 1 : buf + *len;
        memmove(p, end, (size_t)(buf + *len - end) + 1);
        *len -= (size_t)(end - p);
    }
}

#endif
