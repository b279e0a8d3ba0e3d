"""Operations console page times with 1,000,000 task-history rows (overview, history).

`page_ms.overview`: the overview page (queues and workers from Redis, charts from the minute
counters, beat, alerts). `page_ms.history`: the task-history list, first page, filtered by
state (FAILURE). Both through Django's full request stack (middleware, admin, templates) with
a logged-in superuser: server time without the network, median of the repeats. Also given:
the failed-tasks list, /metrics, and the overview with the broker down (nothing listening at
REDIS_URL: it must still answer, well within 2 s). Target: under 150 ms each.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta

ROWS = 1_000_000
REPEATS = 15
PREFIX = "bench-ops-"
BATCH = 5_000
NAMES = ["notifications.tasks.send_welcome_email", "notifications.tasks.send_bulk_notifications",
         "notifications.tasks.send_admin_notification", "reports.tasks.generate_daily_report",
         "reports.tasks.process_api_analytics", "maintenance.tasks.backup_database",
         "maintenance.tasks.cleanup_old_logs", "maintenance.tasks.echo"]
STATES = ["SUCCESS"] * 93 + ["FAILURE"] * 5 + ["STARTED", "QUEUED"]


def _populate(count: int) -> list[int]:
    """Insert `count` runs spread over the last 7 days; return the minute-counter pks made."""
    from django.conf import settings
    from django.utils import timezone

    from operations.models import TaskMinuteStat, TaskRun

    rng = random.Random(7)
    queues = list(settings.CELERY_QUEUE_NAMES)
    now = timezone.now()
    span = 7 * 24 * 3600
    counters: dict[tuple, list] = {}
    started = time.perf_counter()
    for offset in range(0, count, BATCH):
        rows = []
        for n in range(offset, min(offset + BATCH, count)):
            queued = now - timedelta(seconds=rng.random() * span)
            state = rng.choice(STATES)
            queue = rng.choice(queues)
            finished = queued + timedelta(seconds=0.05) if state in ("SUCCESS", "FAILURE") \
                else None
            rows.append(TaskRun(
                task_id=f"{PREFIX}{n}-{uuid.uuid4().hex[:8]}", name=rng.choice(NAMES),
                queue=queue, state=state, args=f'[{n}, "user-{n % 977}"]', kwargs="{}",
                options={"queue": queue}, worker="worker@bench" if finished else "",
                queued_at=queued, started_at=finished, finished_at=finished,
                runtime=0.05 if finished else None,
                traceback="Traceback ...\nRuntimeError: bench" if state == "FAILURE" else "",
            ))
            if finished:
                key = (finished.replace(second=0, microsecond=0), queue)
                counter = counters.setdefault(key, [0, 0])
                counter[state == "FAILURE"] += 1
        TaskRun.objects.bulk_create(rows)
        done = min(offset + BATCH, count)
        if done % 100_000 == 0 or done == count:
            print(f"  {done:>9,} rows ({time.perf_counter() - started:.0f}s)", flush=True)
    existing = set(TaskMinuteStat.objects.filter(minute__gte=now - timedelta(days=8))
                   .values_list("minute", "queue"))
    stats = [TaskMinuteStat(minute=m, queue=q, succeeded=ok, failed=bad,
                            runtime_sum=0.05 * (ok + bad), runtime_count=ok + bad)
             for (m, q), (ok, bad) in counters.items() if (m, q) not in existing]
    made = TaskMinuteStat.objects.bulk_create(stats, batch_size=BATCH)
    return [stat.pk for stat in made]


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _time_page(client, url: str) -> float:
    times = []
    for _ in range(REPEATS + 1):
        start = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        times.append(elapsed)
    return round(statistics.median(times[1:]), 1)  # the first request warms caches


def run(size: int | None) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client, override_settings
    from django.urls import reverse

    from operations.models import TaskMinuteStat, TaskRun

    count = size or ROWS
    print(f"ops_pages: inserting {count:,} task-history rows ({connection.vendor})", flush=True)
    stat_pks = _populate(count)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE operations_taskrun")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    username = f"{PREFIX}admin-{uuid.uuid4().hex[:6]}"
    admin = get_user_model().objects.create_superuser(username, f"{username}@example.com",
                                                      uuid.uuid4().hex)
    try:
        client = Client(SERVER_NAME="localhost")
        client.force_login(admin)
        pages = {
            "overview": reverse("admin:operations_overview"),
            "history": reverse("admin:operations_taskrun_changelist") + "?state__exact=FAILURE",
            "failed": reverse("admin:operations_failedtaskrun_changelist"),
            "metrics": "/metrics",
        }
        page_ms = {}
        for name, url in pages.items():
            page_ms[name] = _time_page(client, url)
            print(f"  {name:<9} {page_ms[name]:>7.1f} ms  (median of {REPEATS})", flush=True)
        with override_settings(REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0"):
            page_ms["overview_broker_down"] = _time_page(client, pages["overview"])
        print(f"  overview with the broker down: {page_ms['overview_broker_down']:.1f} ms",
              flush=True)
    finally:
        print("  removing the benchmark's rows", flush=True)
        admin.delete()
        TaskRun.objects.filter(task_id__startswith=PREFIX)._raw_delete(TaskRun.objects.db)
        for start in range(0, len(stat_pks), BATCH):
            TaskMinuteStat.objects.filter(pk__in=stat_pks[start:start + BATCH]).delete()
    return {"bench": "ops_pages", "rows": count, "database": connection.vendor,
            "repeats": REPEATS, "page_ms": page_ms, "target_ms": 150}


if __name__ == "__main__":  # until `python -m bench` is merged: python -m bench.ops_pages [N]
    import json
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    var = Path(__file__).resolve().parent.parent / "var"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.dev")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{var / 'bench-ops.sqlite3'}")
    os.environ.setdefault("REDIS_URL", os.environ.get("BENCH_REDIS_URL",
                                                      "redis://127.0.0.1:6379/10"))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else None)), flush=True)
