"""1,000 no-op tasks through Redis and a real worker: project settings vs Celery defaults.

`seconds.ours`: the project's `maintenance.tasks.noop` with the project's settings (acks
late, prefetch 1, django-db results with extended/STARTED tracking, events on).
`seconds.celery_defaults`: the same no-op on a bare Celery app with no result backend.
Both: one worker, concurrency 2 (prefork), timed from the first send to the worker
reporting the last run done; median of three rounds. Beside the wall time, `cpu_seconds`
is the CPU the round cost: the worker's processes plus this process (which sends the tasks
and, for ours, records each one as queued), a steadier figure on a shared machine.
"""

from __future__ import annotations

import sys
import time

from celery import current_app
from django.conf import settings
from django_celery_results.models import TaskResult

from bench.common import median, process_tree_cpu_seconds, stopwatch, wait_processed
from tests.processes import CeleryWorker, ManagedProcess, subprocess_env

ROUNDS = 3


def _time_rounds(app, send_one, worker_pid: int, hostname: str, task_name: str,
                 count: int) -> tuple[list[float], list[float]]:
    """Wall seconds and CPU seconds of each round."""
    times, cpu = [], []
    for round_number in range(1, ROUNDS + 1):
        cpu_before = process_tree_cpu_seconds(worker_pid) + time.process_time()
        with stopwatch() as elapsed:
            for _ in range(count):
                send_one()
            wait_processed(app, hostname, task_name, count * round_number)
        times.append(elapsed())
        cpu.append(process_tree_cpu_seconds(worker_pid) + time.process_time() - cpu_before)
        print(f"  round {round_number}: {times[-1]:.3f}s, {cpu[-1]:.3f} CPU s", flush=True)
    return times, cpu


def run(size: int | None) -> dict:
    count = size or 1000
    from bench.anchor_app import anchor
    from bench.anchor_app import noop as anchor_noop
    from maintenance.tasks import noop

    for queue in settings.CELERY_QUEUE_NAMES:
        current_app.connection_for_write().default_channel.client.delete(queue)

    print(f"ours: {count} x maintenance.tasks.noop, project settings", flush=True)
    worker = CeleryWorker(concurrency=2).start()
    before = set(TaskResult.objects.values_list("id", flat=True))
    try:
        ours, ours_cpu = _time_rounds(current_app, noop.delay, worker.process.pid,
                                      worker.hostname, "maintenance.tasks.noop", count)
    finally:
        worker.stop()
    TaskResult.objects.exclude(id__in=before).delete()

    print(f"celery_defaults: {count} x anchor.noop, no result backend", flush=True)
    hostname = "anchor-bench@localhost"
    anchor_worker = ManagedProcess(
        "anchor-bench",
        [sys.executable, "-m", "celery", "-A", "bench.anchor_app", "worker", "--hostname",
         hostname, "--concurrency", "2", "--pool", "prefork", "--without-mingle",
         "--without-gossip", "--loglevel", "WARNING"],
        {**subprocess_env(), "BENCH_REDIS_URL": settings.REDIS_URL},
    ).start()
    try:
        _wait_ping(anchor, hostname, anchor_worker)
        anchor.connection_for_write().default_channel.client.delete("celery")
        defaults, defaults_cpu = _time_rounds(anchor, anchor_noop.delay,
                                              anchor_worker.process.pid, hostname,
                                              "anchor.noop", count)
    finally:
        anchor_worker.stop()

    return {
        "bench": "task_roundtrip",
        "seconds": {"ours": median(ours), "celery_defaults": median(defaults)},
        "ratio": round(median(ours) / median(defaults), 3),
        "cpu_seconds": {"ours": median(ours_cpu), "celery_defaults": median(defaults_cpu)},
        "cpu_ratio": round(median(ours_cpu) / median(defaults_cpu), 3),
        "size": {"tasks": count, "rounds": ROUNDS},
    }


def _wait_ping(app, hostname: str, process: ManagedProcess, timeout: float = 60) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"anchor worker exited:\n{process.log_tail()}")
        if app.control.ping(destination=[hostname], timeout=0.5):
            return
    raise RuntimeError(f"anchor worker did not answer:\n{process.log_tail()}")
