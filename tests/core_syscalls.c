/* SPDX-License-Identifier: MIT */
/*
 * Invariant 2: live stack is always mapped.  A system call never raises
 * SIGSEGV, so a read() into a stack buffer the task never touched would
 * fail with EFAULT unless the library mapped everything down to the stack
 * pointer when the task grew.  Each test reads 256 KiB into a fresh stack
 * buffer inside a task and checks every byte.
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include "core_util.h"
#include "memcheck.h"

#define V(x) ((void *)(uintptr_t)(x))
#define RBUF (256 << 10)
#define FILE_SIZE (512 << 10)
#define PREAD_OFF 100003

enum rd_mode {
    RD_READ,          /* read() from a file */
    RD_PREAD,         /* pread() at an odd offset */
    RD_DEVZERO,       /* read() from /dev/zero */
    RD_READV,         /* readv() into two halves */
    RD_AFTER_EVICTED, /* read() after a deep task used the region */
    RD_AT_1MIB,       /* read() into a buffer below 1 MiB of stack */
    RD_MODES
};

struct rd {
    enum rd_mode mode;
    int fd;
    const unsigned char *expect; /* what the buffer must hold */
};

static unsigned char file_bytes[FILE_SIZE];
static unsigned char zeroes[RBUF];

/* The buffer is never written by this code before the system call. */
static CORE_NOINLINE void read_untouched(struct rd *r)
{
    unsigned char buf[RBUF];
    ssize_t n;
    switch (r->mode) {
    case RD_PREAD:
        n = pread(r->fd, buf, RBUF, PREAD_OFF);
        break;
    case RD_READV: {
        struct iovec iov[2] = {
            { buf + RBUF / 2, RBUF / 2 }, /* the upper half first */
            { buf, RBUF / 2 },
        };
        n = readv(r->fd, iov, 2);
        if (n == RBUF) { /* put the halves in file order for the check */
            unsigned char *tmp = malloc(RBUF / 2);
            ck_assert_ptr_nonnull(tmp);
            memcpy(tmp, buf, RBUF / 2);
            memmove(buf, buf + RBUF / 2, RBUF / 2);
            memcpy(buf + RBUF / 2, tmp, RBUF / 2);
            free(tmp);
        }
        break;
    }
    default:
        n = read(r->fd, buf, RBUF);
        break;
    }
    ck_assert_msg(n == RBUF, "mode %d: read %zd bytes (%s)", (int)r->mode,
                  n, n < 0 ? strerror(errno) : "short");
    for (size_t i = 0; i < RBUF; i++)
        if (buf[i] != r->expect[i])
            ck_abort_msg("mode %d: byte %zu is %#x, expected %#x",
                         (int)r->mode, i, buf[i], r->expect[i]);
}

static CORE_NOINLINE long read_below(struct rd *r, size_t bytes)
{
    volatile char pad[1000];
    pad[0] = 1;
    if (bytes > sizeof pad)
        return read_below(r, bytes - sizeof pad - 24) + pad[0];
    read_untouched(r);
    return pad[0];
}

static void *fn_reader(void *arg)
{
    struct rd *r = arg;
    if (r->mode == RD_AFTER_EVICTED)
        pgs_yield(V(1));
    if (r->mode == RD_AT_1MIB)
        read_below(r, CORE_MIB);
    else
        read_untouched(r);
    return V(2);
}

static void *fn_deep(void *arg)
{
    core_recurse(2 * CORE_MIB);
    return V(3);
}

START_TEST(read_into_untouched_stack)
{
    struct rd r = { .mode = (enum rd_mode)_i };
    for (size_t i = 0; i < FILE_SIZE; i++)
        file_bytes[i] = (unsigned char)core_mix(i / 8) ^ (unsigned char)i;
    if (r.mode == RD_DEVZERO) {
        r.fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
        r.expect = zeroes;
    } else {
        char path[] = "/tmp/pagedstack-core-XXXXXX";
        r.fd = mkstemp(path);
        ck_assert_int_ge(r.fd, 0);
        unlink(path);
        ck_assert_int_eq(write(r.fd, file_bytes, FILE_SIZE), FILE_SIZE);
        ck_assert_int_eq(lseek(r.fd, 0, SEEK_SET), 0);
        r.expect = r.mode == RD_PREAD ? file_bytes + PREAD_OFF : file_bytes;
    }
    ck_assert_int_ge(r.fd, 0);

    struct pgs_config cfg = { .regions = 1 };
    ck_assert_int_eq(pgs_thread_init(&cfg), 0);
    pgs_task *t = pgs_create(fn_reader, &r);
    void *out = NULL;
    ck_assert_int_eq(pgs_resume(t, NULL, &out), 0);
    if (r.mode == RD_AFTER_EVICTED) {
        ck_assert_ptr_eq(out, V(1));
        pgs_task *d = pgs_create(fn_deep, NULL);
        ck_assert_int_eq(pgs_resume(d, NULL, &out), 0);
        ck_assert_ptr_eq(out, V(3));
        ck_assert_int_eq(pgs_destroy(d), 0);
        ck_assert_int_eq(pgs_resume(t, NULL, &out), 0);
    }
    ck_assert_ptr_eq(out, V(2));
    ck_assert_int_eq(pgs_state(t), PGS_DONE);
    ck_assert_int_eq(pgs_destroy(t), 0);
    close(r.fd);
}
END_TEST

/*
 * The handler maps down to the stack pointer, not only to the fault: a
 * frame that moved rsp 256 KiB down and first touched its stack above the
 * buffer (a fault above rsp) must find the whole buffer mapped when it
 * makes a system call there.  Done in assembly, so that no call pushes a
 * return address below the buffer first: the fault above rsp is the only
 * one before the syscall.
 */
#define RAW_DROP (256 << 10)
#define RAW_LEN (200 << 10)
#define RAW_TOUCH (32 << 10)

static CORE_NOINLINE long raw_read_below_rsp(int fd, char **buf)
{
    long ret;
    char *b;
#if defined(__x86_64__)
    __asm__ volatile(
        "mov %%rsp, %%r12\n\t"
        "sub %[drop], %%rsp\n\t"
        "and $-16, %%rsp\n\t"
        /* The first touch: above the new rsp, below what is mapped. */
        "mov %%r12, %%rax\n\t"
        "sub %[touch], %%rax\n\t"
        "movb $0, (%%rax)\n\t"
        /* read(fd, rsp, RAW_LEN) */
        "mov %%rsp, %%rsi\n\t"
        "mov %%rsp, %[b]\n\t"
        "mov %[len], %%rdx\n\t"
        "mov $0, %%eax\n\t" /* SYS_read */
        "syscall\n\t"
        "mov %%r12, %%rsp\n\t"
        : "=&a"(ret), [b] "=&r"(b)
        : "D"((long)fd), [drop] "i"(RAW_DROP), [touch] "i"(RAW_TOUCH),
          [len] "i"(RAW_LEN)
        : "rsi", "rdx", "rcx", "r11", "r12", "memory");
#elif defined(__aarch64__)
    register long x0 __asm__("x0") = fd;
    __asm__ volatile(
        "mov x9, sp\n\t"
        "sub x10, x9, %[drop]\n\t"
        "and x10, x10, #-16\n\t"
        "mov sp, x10\n\t"
        /* The first touch: above the new sp, below what is mapped. */
        "sub x11, x9, %[touch]\n\t"
        "strb wzr, [x11]\n\t"
        /* read(fd, sp, RAW_LEN) */
        "mov x1, sp\n\t"
        "mov %[b], sp\n\t"
        "mov x2, %[len]\n\t"
        "mov x8, %[nr]\n\t"
        "svc #0\n\t"
        "mov sp, x9\n\t"
        : "+r"(x0), [b] "=&r"(b)
        : [drop] "r"((long)RAW_DROP), [touch] "r"((long)RAW_TOUCH),
          [len] "r"((long)RAW_LEN), [nr] "r"((long)SYS_read)
        : "x1", "x2", "x8", "x9", "x10", "x11", "memory");
    ret = x0;
#endif
    *buf = b;
    return ret;
}

static void *fn_raw_reader(void *arg)
{
    struct rd *r = arg;
    char *b = NULL;
    long n = raw_read_below_rsp(r->fd, &b);
    ck_assert_msg(n == RAW_LEN, "raw read below rsp returned %ld (%s)", n,
                  n < 0 ? strerror((int)-n) : "short");
    /* The deepest bytes, far below anything the calls since have used
     * (and below the stack pointer, which memcheck is told is meant). */
    VALGRIND_MAKE_MEM_DEFINED(b, 4096);
    for (size_t i = 0; i < 4096; i++)
        ck_assert_uint_eq((unsigned char)((volatile char *)b)[i],
                          r->expect[i]);
    return V(2);
}

START_TEST(raw_syscall_below_rsp)
{
    struct rd r = { .mode = RD_READ };
    for (size_t i = 0; i < FILE_SIZE; i++)
        file_bytes[i] = (unsigned char)core_mix(i / 8) ^ (unsigned char)i;
    char path[] = "/tmp/pagedstack-core-XXXXXX";
    r.fd = mkstemp(path);
    ck_assert_int_ge(r.fd, 0);
    unlink(path);
    ck_assert_int_eq(write(r.fd, file_bytes, FILE_SIZE), FILE_SIZE);
    ck_assert_int_eq(lseek(r.fd, 0, SEEK_SET), 0);
    r.expect = file_bytes;
    pgs_task *t = pgs_create(fn_raw_reader, &r);
    void *out = NULL;
    ck_assert_int_eq(pgs_resume(t, NULL, &out), 0);
    ck_assert_ptr_eq(out, V(2));
    ck_assert_int_eq(pgs_destroy(t), 0);
    close(r.fd);
}
END_TEST

void core_add_syscalls(Suite *s)
{
    TCase *tc = core_tcase(s, "syscalls");
    tcase_add_loop_test(tc, read_into_untouched_stack, 0, RD_MODES);
    tcase_add_test(tc, raw_syscall_below_rsp);
}
