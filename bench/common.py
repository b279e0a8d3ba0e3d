"""Helpers shared by benchmarks: timing, medians, peak memory, worker throughput."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import time
from contextlib import contextmanager

from tests.processes import wait_until


@contextmanager
def stopwatch():
    """`with stopwatch() as elapsed: ...` then `elapsed()` gives seconds."""
    start = time.perf_counter()
    end = None

    def elapsed() -> float:
        return (end or time.perf_counter()) - start

    try:
        yield elapsed
    finally:
        end = time.perf_counter()


def timed_run(argv: list[str], **kwargs) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run a command from interpreter start to exit: the finished process, its wall seconds,
    and the CPU seconds (user + system) of it and every process it waited for (a shell
    pipeline's commands included). Nothing else may run as this process's child meanwhile.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, check=True, **kwargs)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return done, round(seconds, 3), round(cpu, 3)


def median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def wait_processed(app, hostname: str, task_name: str, count: int, timeout: float = 600) -> None:
    """Wait until the worker's own stats say it finished `count` runs of `task_name`.

    Asking the worker (not the result backend) measures both configurations the same way.
    """
    def finished() -> bool:
        replies = app.control.inspect(destination=[hostname], timeout=1.0).stats() or {}
        return replies.get(hostname, {}).get("total", {}).get(task_name, 0) >= count

    wait_until(finished, timeout, f"{hostname} to finish {count} x {task_name}",
               interval=0.05)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (the state comes first)."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int, *, reaped: bool = False) -> float:
    """utime + stime of all the process's threads (and, with `reaped`, of the children it
    has waited for)."""
    fields = stat_fields(pid)[11:15 if reaped else 13]
    return sum(int(ticks) for ticks in fields) / CLOCK_TICKS


def child_pids(pid: int) -> list[int]:
    """The live children of a process, from /proc."""
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return sorted(int(child) for child in children.read().split())


def process_tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live descendants (all threads), from /proc."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            total += cpu_seconds(current)
            pending.extend(child_pids(current))
        except FileNotFoundError:  # exited meanwhile
            continue
    return total


def require_empty(*models) -> None:
    """Stop unless the tables a benchmark fills start empty: it then deletes only its own rows."""
    import sys

    for model in models:
        if model.objects.exists():
            sys.exit(f"bench: {model._meta.label} already holds rows in this database; a "
                     "benchmark fills and empties it, so it needs it empty (use a fresh "
                     "bench database)")
