/* SPDX-License-Identifier: MIT */
/*
 * What every echo program does before it serves or loads: enough file
 * descriptors for its connections, and telling its port to the caller.
 */
#ifndef ECHO_SETUP_H
#define ECHO_SETUP_H

/* The options of every echo program (getopt_long): its port, or a file
 * to tell it in; and of both servers, the stack size of a task. */
#define ECHO_PORT_OPTIONS                                                    \
    { "port", required_argument, NULL, 'p' },                                \
    { "port-file", required_argument, NULL, 'f' }
#define ECHO_SERVER_OPTIONS                                                  \
    ECHO_PORT_OPTIONS, { "stack-size", required_argument, NULL, 's' }

/* The servers' listen backlog (the kernel caps it at somaxconn). */
#define ECHO_BACKLOG 4096

/*
 * Raise this process's descriptor limit (RLIMIT_NOFILE) to its hard limit,
 * and check that it allows need descriptors (0: no check).  Returns 0, or
 * -1 after one line on stderr saying what to raise.
 */
int echo_raise_fd_limit(const char *prog, unsigned long need);

/* Print "PROG: listening on 127.0.0.1:PORT" and, if file is not NULL,
 * write the port to it (through a temporary name, so a reader never sees
 * half of it).  Returns 0 or -1. */
int echo_announce(const char *prog, int port, const char *file);

#endif
