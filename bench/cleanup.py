"""cleanup_old_logs over 1,000,000 old + 100,000 recent API log rows vs one raw DELETE.

`seconds.ours` and `peak_mb.ours` come from a fresh process running the task's body;
`seconds.longest_transaction` is the longest single batch; `seconds.raw_delete` is one
`DELETE ... WHERE timestamp < cut-off` on the same freshly inserted rows. Runs on SQLite,
or on PostgreSQL when DATABASE_URL points there.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

from django.db import connection
from django.utils import timezone

from bench.common import require_empty, stopwatch
from reports.models import ApiRequest

COLUMNS = "timestamp, method, route, status_code, user_id, ip, duration_ms"
DAYS = 30


def _rows(start: dt.datetime, span: dt.timedelta, count: int):
    step = span / max(count, 1)
    for n in range(count):
        yield (start + step * n, "GET", "/api/public/", 200 if n % 10 else 404, None,
               f"10.0.{n % 250}.{n % 200 + 1}", 12.5)


def insert(old: int, recent: int, now: dt.datetime) -> None:
    table = ApiRequest._meta.db_table
    batches = [(_rows(now - dt.timedelta(days=DAYS + 60), dt.timedelta(days=59), old)),
               (_rows(now - dt.timedelta(days=DAYS - 1), dt.timedelta(days=DAYS - 2), recent))]
    with connection.cursor() as cursor:
        for rows in batches:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({COLUMNS}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                sql = f"INSERT INTO {table} ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                batch = []
                for row in rows:
                    batch.append(row)
                    if len(batch) == 50_000:
                        cursor.executemany(sql, batch)
                        batch = []
                cursor.executemany(sql, batch)
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {table}")


def child(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "bench._child", *args], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(size: int | None) -> dict:
    old = size or 1_000_000
    recent = max(1, old // 10)
    now = timezone.now()
    cutoff = now - dt.timedelta(days=DAYS)
    require_empty(ApiRequest)
    print(f"{connection.vendor}: inserting {old} old + {recent} recent rows", flush=True)
    insert(old, recent, now)
    ours = child("cleanup", str(DAYS))
    assert ours["result"]["tables"]["reports.ApiRequest"] == old, ours
    assert ApiRequest.objects.count() == recent
    print(f"  ours: {ours['seconds']}s in {ours['result']['batches']} batches, longest "
          f"{ours['result']['longest_batch_seconds']}s, peak {ours['peak_mb']} MB", flush=True)

    ApiRequest.objects.all().delete()  # all ours: the table started empty
    insert(old, recent, now)
    with connection.cursor() as cursor, stopwatch() as elapsed:
        cursor.execute(f"DELETE FROM {ApiRequest._meta.db_table} WHERE timestamp < %s",
                       [cutoff])
        deleted = cursor.rowcount
    raw = elapsed()
    assert deleted == old and ApiRequest.objects.count() == recent
    print(f"  raw DELETE: {raw:.3f}s", flush=True)
    ApiRequest.objects.all().delete()  # all ours: the table started empty
    return {
        "bench": "cleanup",
        "database": connection.vendor,
        "seconds": {"ours": ours["seconds"], "raw_delete": round(raw, 3),
                    "longest_transaction": ours["result"]["longest_batch_seconds"]},
        "peak_mb": {"ours": ours["peak_mb"]},
        "batches": ours["result"]["batches"],
        "size": {"old_rows": old, "recent_rows": recent},
    }
