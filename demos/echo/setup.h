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

/* A listening socket on 127.0.0.1:*port (0: any; *port is set to the one
 * taken), of type SOCK_STREAM (| SOCK_NONBLOCK), with the socket option
 * option (SO_REUSEADDR, or SO_REUSEPORT to share the port); -1 after one
 * line on stderr. */
int echo_listen(const char *prog, int *port, int type, int option);

/* Print "PROG: listening on 127.0.0.1:PORT" and, if file is not NULL,
 * write the port to it (through a temporary name, so a reader never sees
 * half of it).  Returns 0 or -1. */
int echo_announce(const char *prog, int port, const char *file);

#endif
