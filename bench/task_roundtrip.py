"""1,000 no-op tasks through Redis and a real worker: project settings vs Celery defaults.

`seconds.ours`: the project's `maintenance.tasks.noop` with the project's settings (acks
late, prefetch 1, django-db results with extended/STARTED tracking, events on).
`seconds.celery_defaults`: the same no-op on a bare Celery app with no result backend.
Both: one worker, concurrency 2 (prefork), timed from the first send to the worker
reporting the last run done; median of three rounds.
"""

from __future__ import annotations

import sys

from celery import current_app
from django.conf import settings
from django_celery_results.models import TaskResult

from bench.common import median, stopwatch, wait_processed
from tests.processes import CeleryWorker, ManagedProcess, subprocess_env

ROUNDS = 3


def _time_rounds(app, send_one, hostname: str, task_name: str, count: int) -> list[float]:
    times = []
    for round_number in range(1, ROUNDS + 1):
        with stopwatch() as elapsed:
            for _ in range(count):
                send_one()
            wait_processed(app, hostname, task_name, count * round_number)
        times.append(elapsed())
        print(f"  round {round_number}: {times[-1]:.3f}s", flush=True)
    return times


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
        ours = _time_rounds(current_app, noop.delay, worker.hostname,
                            "maintenance.tasks.noop", count)
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
        defaults = _time_rounds(anchor, anchor_noop.delay, hostname, "anchor.noop", count)
    finally:
        anchor_worker.stop()

    return {
        "bench": "task_roundtrip",
        "seconds": {"ours": median(ours), "celery_defaults": median(defaults)},
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
