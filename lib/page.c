/* SPDX-License-Identifier: MIT */
/*
 * The system's page size, read from the kernel once, before main.  x86-64
 * kernels use 4 KiB pages; aarch64 ones 4, 16 or 64 KiB, chosen when the
 * kernel was built: nothing in the library may assume one.
 */
#include "config.h"
#include "internal.h"

size_t pgs__page;
unsigned pgs__page_shift;

/* Also called by pgs_thread_init, in case a constructor that ran before
 * this one (a static build's order is not fixed) starts a thread of tasks. */
void pgs__page_init(void)
{
    if (!pgs__page) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        pgs__page_shift = (unsigned)__builtin_ctzl(page); /* a power of 2 */
        pgs__page = page;
    }
}

__attribute__((constructor)) static void page_init_early(void)
{
    pgs__page_init();
}
