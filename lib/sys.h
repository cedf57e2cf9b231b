/* SPDX-License-Identifier: MIT */
/*
 * Every system call and allocation that can fail goes through these
 * wrappers.  In the installed library they are plain calls.  In the test
 * build (PGS_FAULT_INJECTION) each one first asks the injector whether this
 * call should fail, so tests can make the Nth failure point fail and check
 * that the library recovers or dies loudly.
 */
#ifndef PGS_SYS_H
#define PGS_SYS_H

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

enum pgs_fail_point {
    PGS_FP_MEMFD,
    PGS_FP_FTRUNCATE,
    PGS_FP_FALLOCATE,
    PGS_FP_MMAP,
    PGS_FP_MPROTECT,
    PGS_FP_MUNMAP,
    PGS_FP_MADVISE,
    PGS_FP_SIGALTSTACK,
    PGS_FP_SIGACTION,
    PGS_FP_SIGMASK,             /* only counted (pgs__sigmask_get) */
    PGS_FP_MALLOC,
    PGS_FP_COUNT
};

/*
 * Each wrapper pgs__NAME(...) is a macro that passes its caller's name to
 * pgs__sys_NAME(site, ...), so that an injection report names the function
 * where the call failed.
 */
#ifdef PGS_FAULT_INJECTION
/* Returns the errno this call must fail with, or 0 to let it run. */
int pgs__inject(enum pgs_fail_point p, const char *site);
/* For tests: make the nth call from now through any failure point fail
 * (0 disarms); after a run, which point and call site failed (-1/NULL if
 * none did), and how many calls each point has seen in this process. */
void pgs__inject_arm(long n);
long pgs__inject_arm_point(void);
const char *pgs__inject_site(void);
unsigned long pgs__inject_calls(int point);
/* Make an injected fallocate failure EINTR (on) rather than ENOMEM. */
void pgs__inject_eintr(int on);
/* Count a call through point p that is never made to fail. */
void pgs__inject_count(enum pgs_fail_point p);
#define PGS_COUNT(p) pgs__inject_count(p)
#define PGS_INJECT(p, err_ret)                                              \
    do {                                                                    \
        int pgs_e_ = pgs__inject((p), site);                                \
        if (pgs_e_) {                                                       \
            errno = pgs_e_;                                                 \
            return err_ret;                                                 \
        }                                                                   \
    } while (0)
#else
#define PGS_INJECT(p, err_ret) ((void)site)
#define PGS_COUNT(p) ((void)0)
#endif

#define PGS_SYS static inline __attribute__((always_inline))

/* The real sigaction and sigaltstack, past the library's own definitions
 * of them (lib/interpose.c; found in lib/realsig.c): every call the
 * library makes goes there. */
int pgs__real_sigaction(int sig, const struct sigaction *sa,
                        struct sigaction *old);
int pgs__real_sigaltstack(const stack_t *ss, stack_t *old);

PGS_SYS int pgs__sys_memfd(const char *site, const char *name)
{
    PGS_INJECT(PGS_FP_MEMFD, -1);
    extern int memfd_create(const char *, unsigned int);
    return memfd_create(name, 1u /* MFD_CLOEXEC */);
}

PGS_SYS int pgs__sys_ftruncate(const char *site, int fd, off_t len)
{
    PGS_INJECT(PGS_FP_FTRUNCATE, -1);
    return ftruncate(fd, len);
}

PGS_SYS int pgs__sys_fallocate(const char *site, int fd, int mode, off_t off, off_t len)
{
    PGS_INJECT(PGS_FP_FALLOCATE, -1);
    extern int fallocate(int, int, off_t, off_t);
    return fallocate(fd, mode, off, len);
}

PGS_SYS void *pgs__sys_mmap(const char *site, void *a, size_t len, int prot, int flags, int fd,
                        off_t off)
{
    PGS_INJECT(PGS_FP_MMAP, MAP_FAILED);
    return mmap(a, len, prot, flags, fd, off);
}

PGS_SYS int pgs__sys_mprotect(const char *site, void *a, size_t len, int prot)
{
    PGS_INJECT(PGS_FP_MPROTECT, -1);
    return mprotect(a, len, prot);
}

PGS_SYS int pgs__sys_munmap(const char *site, void *a, size_t len)
{
    PGS_INJECT(PGS_FP_MUNMAP, -1);
    return munmap(a, len);
}

PGS_SYS int pgs__sys_madvise(const char *site, void *a, size_t len, int advice)
{
    PGS_INJECT(PGS_FP_MADVISE, -1);
    return madvise(a, len, advice);
}

PGS_SYS int pgs__sys_sigaltstack(const char *site, const stack_t *ss, stack_t *old)
{
    PGS_INJECT(PGS_FP_SIGALTSTACK, -1);
    return pgs__real_sigaltstack(ss, old);
}

PGS_SYS int pgs__sys_sigaction(const char *site, int sig, const struct sigaction *sa,
                           struct sigaction *old)
{
    PGS_INJECT(PGS_FP_SIGACTION, -1);
    return pgs__real_sigaction(sig, sa, old);
}

/* Queries that cannot fail with these arguments: counted with the other
 * system calls (the benchmark reports them), never made to fail. */
PGS_SYS int pgs__sys_sigaction_get(const char *site, int sig,
                               struct sigaction *cur)
{
    (void)site;
    PGS_COUNT(PGS_FP_SIGACTION);
    return pgs__real_sigaction(sig, NULL, cur);
}

PGS_SYS int pgs__sys_sigmask_get(const char *site, sigset_t *cur)
{
    (void)site;
    PGS_COUNT(PGS_FP_SIGMASK);
    return pthread_sigmask(SIG_BLOCK, NULL, cur);
}

PGS_SYS void *pgs__sys_malloc(const char *site, size_t n)
{
    PGS_INJECT(PGS_FP_MALLOC, NULL);
    return malloc(n);
}

PGS_SYS void *pgs__sys_realloc(const char *site, void *p, size_t n)
{
    PGS_INJECT(PGS_FP_MALLOC, NULL);
    return realloc(p, n);
}

#define pgs__memfd(...) pgs__sys_memfd(__func__, __VA_ARGS__)
#define pgs__ftruncate(...) pgs__sys_ftruncate(__func__, __VA_ARGS__)
#define pgs__fallocate(...) pgs__sys_fallocate(__func__, __VA_ARGS__)
#define pgs__mmap(...) pgs__sys_mmap(__func__, __VA_ARGS__)
#define pgs__mprotect(...) pgs__sys_mprotect(__func__, __VA_ARGS__)
#define pgs__munmap(...) pgs__sys_munmap(__func__, __VA_ARGS__)
#define pgs__madvise(...) pgs__sys_madvise(__func__, __VA_ARGS__)
#define pgs__sigaltstack(...) pgs__sys_sigaltstack(__func__, __VA_ARGS__)
#define pgs__sigaction(...) pgs__sys_sigaction(__func__, __VA_ARGS__)
#define pgs__sigaction_get(...) pgs__sys_sigaction_get(__func__, __VA_ARGS__)
#define pgs__sigmask_get(...) pgs__sys_sigmask_get(__func__, __VA_ARGS__)
#define pgs__malloc(...) pgs__sys_malloc(__func__, __VA_ARGS__)
#define pgs__realloc(...) pgs__sys_realloc(__func__, __VA_ARGS__)

#endif
