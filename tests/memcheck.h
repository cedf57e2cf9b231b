/* SPDX-License-Identifier: MIT */
/*
 * Some tests do on purpose what memcheck reports: read stack bytes nobody
 * wrote (they must be zero), read what was written below the stack
 * pointer, store into a protected page to see who gets the fault, scan
 * the data segment.  They say so with these requests, which do nothing
 * outside valgrind or without its header.  RUNNING_ON_VALGRIND marks the
 * few places valgrind itself cannot follow.
 */
#ifndef TESTS_MEMCHECK_H
#define TESTS_MEMCHECK_H

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#else
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)(p), (void)(n))
#define VALGRIND_MAKE_MEM_UNDEFINED(p, n) ((void)(p), (void)(n))
#define RUNNING_ON_VALGRIND 0
#define VALGRIND_DISABLE_ERROR_REPORTING ((void)0)
#define VALGRIND_ENABLE_ERROR_REPORTING ((void)0)
#endif

#endif
