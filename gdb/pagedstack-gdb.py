# SPDX-License-Identifier: MIT
"""gdb commands for programs that use pagedstack.

Suspended pagedstack tasks are invisible to gdb: their stacks are copied
aside or not mapped.  These commands show them:

  pgs tasks        list the selected thread's tasks: address, state, where
                   the stack is, memory held, deepest use, name
  pgs bt TASK      backtrace of a suspended task (TASK: its address or name)

Loading this file also says `handle SIGSEGV nostop noprint pass`, because
every first touch of a stack page is a SIGSEGV that the library handles.
"""

import gdb

STATES = ("created", "running", "suspended", "done")
HOMES = ("none", "region", "copy", "extent")
# Frames pgs bt asks for: the size of the library's pgs__gdb_ips.
BT_MAX = 128


def _thread_state():
    """The selected thread's struct pgs_thread, or None."""
    try:
        th = gdb.parse_and_eval("pgs__tls")
    except gdb.error as e:
        raise gdb.GdbError("pagedstack: cannot read the thread's state (%s); "
                           "is libpagedstack loaded, with symbols?" % e)
    return None if int(th) == 0 else th


def _tasks(th):
    t = th["list"]
    while int(t) != 0:
        yield t
        t = t["next"]


def _page():
    """The page size the library read from the kernel (4 KiB on x86-64;
    4, 16 or 64 KiB on aarch64)."""
    return int(gdb.parse_and_eval("pgs__page"))


def _held(th, t):
    """Stack memory t holds, as pgs_task_stack_bytes computes it."""
    PAGE = _page()
    held = int(t["bufcap"])
    home = int(t["home"])
    if home == 1:
        held += int(th["regions"][int(t["region"])]["mapped"]) * PAGE
    elif home == 3:
        held += int(t["pages"]) * PAGE
    return held


def _find(th, arg):
    """A task by address or by name."""
    arg = arg.strip()
    if not arg:
        raise gdb.GdbError("usage: pgs bt TASK (an address or a task name)")
    for t in _tasks(th):
        if t["name"].string() == arg:
            return t
    try:
        addr = int(gdb.parse_and_eval(arg))
    except gdb.error:
        raise gdb.GdbError("pagedstack: no task named %r" % arg)
    for t in _tasks(th):
        if int(t) == addr:
            return t
    raise gdb.GdbError("pagedstack: %#x is not a task of this thread" % addr)


class PgsCommand(gdb.Command):
    """pagedstack commands: pgs tasks, pgs bt TASK."""

    def __init__(self):
        super().__init__("pgs", gdb.COMMAND_STACK, gdb.COMPLETE_NONE, True)


class PgsTasks(gdb.Command):
    """List the selected thread's pagedstack tasks.

Columns: address (* marks the running task), state, where its stack is
(region: mapped; copy: saved aside; extent: in the pool, unmapped), bytes
of stack memory held now, deepest mapped use, and name."""

    def __init__(self):
        super().__init__("pgs tasks", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        th = _thread_state()
        if th is None:
            print("pagedstack: no tasks in this thread")
            return
        cur = int(th["current"])
        print("  %-18s %-9s %-6s %10s %10s  %s"
              % ("task", "state", "stack", "held", "deepest", "name"))
        n = 0
        for t in _tasks(th):
            print("%s %-18s %-9s %-6s %10d %10d  %s"
                  % ("*" if int(t) == cur else " ", "%#x" % int(t),
                     STATES[int(t["state"])], HOMES[int(t["home"])],
                     _held(th, t), int(t["peak_pages"]) * _page(),
                     t["name"].string()))
            n += 1
        print("%d tasks" % n)


class PgsBt(gdb.Command):
    """Backtrace of a suspended pagedstack task: pgs bt TASK.

TASK is the task's address or name.  The process must be live: the
backtrace is taken by calling pgs_backtrace in it, which shows the task's
stack for a moment and unwinds it."""

    def __init__(self):
        super().__init__("pgs bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        th = _thread_state()
        if th is None:
            raise gdb.GdbError("pagedstack: no tasks in this thread")
        t = _find(th, arg)
        n = int(gdb.parse_and_eval(
            "pgs_backtrace((pgs_task *)%d, (void **)pgs__gdb_ips, %d)"
            % (int(t), BT_MAX)))
        if n < 0:
            raise gdb.GdbError("pagedstack: pgs_backtrace failed (the task "
                               "is running? use bt)")
        print("task %#x \"%s\" (%s):" % (int(t), t["name"].string(),
                                         STATES[int(t["state"])]))
        ips = gdb.parse_and_eval("pgs__gdb_ips")
        for i in range(n):
            pc = int(ips[i])
            # A return address points after the call: look up pc - 1.
            look = pc - 1 if pc else pc
            block = gdb.block_for_pc(look)
            func = block.function if block is not None else None
            where = ""
            sal = gdb.find_pc_line(look)
            if sal.symtab is not None:
                where = " at %s:%d" % (sal.symtab.filename, sal.line)
            if func is not None:
                name = func.print_name
            else:
                name = gdb.execute("info symbol %d" % look, to_string=True)
                name = name.split(" in section")[0].strip()
            print("#%-2d %#018x in %s%s" % (i, pc, name, where))
        if n == BT_MAX:
            print("(pgs bt shows at most %d frames; there may be more)"
                  % BT_MAX)


PgsCommand()
PgsTasks()
PgsBt()
gdb.execute("handle SIGSEGV nostop noprint pass", to_string=True)
