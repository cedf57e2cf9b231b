/* SPDX-License-Identifier: MIT */
/*
 * The copy of a task's live stack bytes that copy-stack runtimes make on
 * every switch, out of the shared stack and back into it.
 *
 * Under AddressSanitizer the frames on a stack keep their redzones
 * poisoned, and the copy reads and writes those redzones as plain bytes.
 * So the range is unpoisoned first, on the stack and in the buffer, as
 * pagedstack does with a region that starts showing another task: the
 * incoming task's frames poison their redzones afresh as they are entered.
 */
#ifndef DEMO_STACK_COPY_H
#define DEMO_STACK_COPY_H

#include <string.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

static inline void stack_copy(void *dst, const void *src, size_t n)
{
#if defined(__SANITIZE_ADDRESS__)
    __asan_unpoison_memory_region(src, n);
    __asan_unpoison_memory_region(dst, n);
#endif
    memcpy(dst, src, n);
}

#endif
