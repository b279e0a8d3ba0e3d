"""Per-minute counters of finished task runs, buffered in each worker process.

Counting every run with its own UPDATE would cost each task a database write; instead a
worker process adds (minute, queue, failed, runtime) to a buffer that a background thread
folds into `TaskMinuteStat` once per TASK_STATS_FLUSH_SECONDS. The counters are for charts
and metrics; the task history (`TaskRun`) stays the record of each run, so a worker killed
outright loses at most one interval of counts.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime

from celery import signals
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from backoffice.buffered_writer import BufferedWriter
from operations.models import TaskMinuteStat

logger = logging.getLogger(__name__)
_buffer: BufferedWriter | None = None


def minute_stats_add(*, rows: list[tuple]) -> int:
    """Fold finished runs, each (minute, queue, failed, runtime or None), into the counters.

    One UPDATE per minute and queue, an INSERT where the counter does not exist yet, all
    in one transaction. Returns the number of runs counted.
    """
    sums: dict[tuple[datetime, str], list] = defaultdict(lambda: [0, 0, 0.0, 0])
    for minute, queue, failed, runtime in rows:
        counts = sums[minute, queue]
        counts[1 if failed else 0] += 1
        if runtime is not None:
            counts[2] += runtime
            counts[3] += 1
    with transaction.atomic():
        for (minute, queue), (ok, bad, runtime_sum, runtime_count) in sums.items():
            _add(minute, queue, ok, bad, runtime_sum, runtime_count)
    return len(rows)


def _add(minute, queue, ok, bad, runtime_sum, runtime_count) -> None:
    counter = TaskMinuteStat.objects.filter(minute=minute, queue=queue)
    if counter.update(succeeded=F("succeeded") + ok, failed=F("failed") + bad,
                      runtime_sum=F("runtime_sum") + runtime_sum,
                      runtime_count=F("runtime_count") + runtime_count):
        return
    try:
        with transaction.atomic():
            TaskMinuteStat.objects.create(minute=minute, queue=queue, succeeded=ok, failed=bad,
                                          runtime_sum=runtime_sum, runtime_count=runtime_count)
    except IntegrityError:  # another process created it meanwhile
        _add(minute, queue, ok, bad, runtime_sum, runtime_count)


def count_finished_run(minute: datetime, queue: str, *, failed: bool,
                       runtime: float | None) -> None:
    """Count one finished run, in this process's buffer."""
    global _buffer
    if _buffer is None:
        _buffer = BufferedWriter(lambda rows: minute_stats_add(rows=rows),
                                 name="task-minute-stats",
                                 interval=settings.TASK_STATS_FLUSH_SECONDS,
                                 max_rows=settings.TASK_STATS_MAX_BUFFER, wake_at_rows=10_000)
    _buffer.add((minute, queue, failed, runtime))


@signals.worker_process_shutdown.connect(dispatch_uid="operations.minute_stats.child")
@signals.worker_shutdown.connect(dispatch_uid="operations.minute_stats.worker")
def flush_minute_stats(**_) -> int:
    """Write the buffered counts now (a worker process leaving without `atexit`)."""
    return _buffer.flush() if _buffer is not None else 0


def minute_stats_discard() -> None:
    """Forget this process's buffered counts, unwritten (between tests)."""
    if _buffer is not None:
        _buffer.rows.clear()
