"""generate_daily_report over 1,000,000 requests in one day vs one hand-written SQL pass.

Also the server time of the charts page and the dashboard with 365 report rows and the
1M-row log (`page_ms`; the dashboard's target is under 50 ms whatever the size of the log:
it reads report rows and today's per-minute counters only, and today holds a tenth of
the big day's rows), and the peak memory of generating the report in a fresh process.
Runs on SQLite, or on PostgreSQL when DATABASE_URL points there.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import resource
import subprocess
import sys
import time

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from bench.common import median, require_empty, stopwatch
from reports import services
from reports.models import ApiRequest, DailyReport, RequestMinute
from reports.periods import day_bounds, today
from reports.tasks import generate_daily_report

REPEATS = 3
ROUTES = [("GET", "/api/public/"), ("GET", "/api/protected/"), ("GET", "/api/profile/"),
          ("PATCH", "/api/profile/"), ("POST", "/api/login/"), ("POST", "/api/register/"),
          ("POST", "/api/logout/"), ("POST", "/api/password-reset/"),
          ("GET", "/api/users/<int:pk>/"), ("GET", "/api/items/<slug:slug>/"),
          ("DELETE", "/api/items/<slug:slug>/"), ("GET", "/api/search/")]
STATUSES = [200] * 90 + [201] * 3 + [302] * 2 + [400, 401, 404, 404, 500]
COLUMNS = "timestamp, method, route, status_code, user_id, ip, duration_ms"


def _rows(day: dt.date, count: int, user_ids: list[int], rng: random.Random):
    start, _ = day_bounds(day)
    for n in range(count):
        method, route = ROUTES[n % len(ROUTES)]
        yield (
            start + dt.timedelta(microseconds=int(n * 86_400_000_000 / count)),
            method, route, rng.choice(STATUSES),
            rng.choice(user_ids) if n % 3 else None,
            f"10.{n % 7}.{(n // 7) % 250}.{n % 250 + 1}",
            round(rng.lognormvariate(3, 0.6), 3),
        )


def _insert(day: dt.date, count: int, user_ids, rng) -> None:
    table = ApiRequest._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({COLUMNS}) FROM STDIN") as copy:
                for row in _rows(day, count, user_ids, rng):
                    copy.write_row(row)
        else:
            batch = []
            sql = f"INSERT INTO {table} ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)"
            for row in _rows(day, count, user_ids, rng):
                batch.append(row)
                if len(batch) == 50_000:
                    cursor.executemany(sql, batch)
                    batch = []
            cursor.executemany(sql, batch)


def raw_sql_pass(day: dt.date) -> tuple:
    """The same figures, by hand, in one SQL statement (the anchor)."""
    start, end = day_bounds(day)
    table = ApiRequest._meta.db_table
    pg = connection.vendor == "postgresql"
    fail = "CASE WHEN status_code >= 400 THEN 1 ELSE 0 END"
    agg = "json_agg(x)" if pg else "json_group_array(json_array(status_code, n))"
    sql = f"""
    WITH d AS (SELECT method, route, status_code, user_id, ip, duration_ms FROM {table}
               WHERE timestamp >= %(start)s AND timestamp < %(end)s)
    SELECT
      (SELECT COUNT(*) FROM d),
      (SELECT SUM(CASE WHEN status_code < 400 THEN 1 ELSE 0 END) FROM d),
      (SELECT SUM({fail}) FROM d),
      (SELECT COUNT(DISTINCT user_id) FROM d),
      (SELECT COUNT(DISTINCT ip) FROM d),
      (SELECT AVG(duration_ms) FROM d),
      (SELECT {agg} FROM (SELECT status_code, COUNT(*) AS n FROM d GROUP BY status_code) x),
      (SELECT {'json_agg(x)' if pg else 'json_group_array(json_array(method, route, n, f, a))'}
         FROM (SELECT method, route, COUNT(*) AS n, SUM({fail}) AS f, AVG(duration_ms) AS a
               FROM d GROUP BY method, route ORDER BY n DESC, route, method LIMIT 10) x),
      (SELECT {'json_agg(x)' if pg else 'json_group_array(json_array(user_id, n))'}
         FROM (SELECT user_id, COUNT(*) AS n FROM d WHERE user_id IS NOT NULL
               GROUP BY user_id ORDER BY n DESC, user_id LIMIT 10) x),
      (SELECT duration_ms FROM d ORDER BY duration_ms
         LIMIT 1 OFFSET (SELECT CAST(CEIL(0.95 * COUNT(*)) AS INTEGER) - 1 FROM d))
    """
    if not pg:
        sql = sql.replace("CEIL(0.95 * COUNT(*))",
                          "(0.95 * COUNT(*) + 0.999999999)")  # SQLite has no CEIL before 3.35
    with connection.cursor() as cursor:
        cursor.execute(sql, {"start": start, "end": end})
        return cursor.fetchone()


def _peak_mb_in_fresh_process(day: dt.date) -> float:
    """Run generate_reports for the day in a new process; its peak RSS in MB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([sys.executable, "manage.py", "generate_reports", "--from", day.isoformat(),
                    "--to", day.isoformat()], check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(before, after) / 1024, 1)


def _page_ms(client: Client, url: str, repeats: int = 15) -> float:
    client.get(url)  # warm caches and template loading
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return round(sorted(times)[len(times) // 2], 1)


def run(size: int | None) -> dict:
    count = size or 1_000_000
    neighbours = max(1, count // 10)
    rng = random.Random(1)
    big_day = today() - dt.timedelta(days=1)
    require_empty(ApiRequest, DailyReport, RequestMinute)
    users = get_user_model()
    user_ids = [users.objects.get_or_create(username=f"bench_{n}")[0].pk for n in range(200)]
    print(f"{connection.vendor}: inserting {count} rows for {big_day} and {neighbours} on "
          "each neighbouring day", flush=True)
    with stopwatch() as elapsed:
        _insert(big_day, count, user_ids, rng)
        _insert(big_day - dt.timedelta(days=1), neighbours, user_ids, rng)
        _insert(big_day + dt.timedelta(days=1), neighbours, user_ids, rng)
        # Written around the request log's writer: count their minutes as it would have.
        services.request_minutes_rebuild(start=day_bounds(big_day - dt.timedelta(days=1))[0],
                                         end=day_bounds(big_day + dt.timedelta(days=1))[1])
    print(f"  inserted in {elapsed():.1f}s", flush=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {ApiRequest._meta.db_table}")

    ours, raw = [], []
    for attempt in range(REPEATS):
        with stopwatch() as elapsed:
            result = generate_daily_report.apply(kwargs={"date": big_day.isoformat()}).get()
        ours.append(elapsed())
        with stopwatch() as elapsed:
            figures = raw_sql_pass(big_day)
        raw.append(elapsed())
        print(f"  round {attempt + 1}: ours {ours[-1]:.3f}s, raw_sql {raw[-1]:.3f}s", flush=True)
    assert result["total_requests"] == figures[0] == count, (result, figures[0])
    assert result["failed_requests"] == figures[2]
    assert math.isclose(result["p95_response_time"], figures[9])

    peak = _peak_mb_in_fresh_process(big_day)
    print(f"  peak memory of generate_reports in a fresh process: {peak} MB", flush=True)

    print("page times with 365 report rows", flush=True)
    template = DailyReport.objects.get(date=big_day)
    DailyReport.objects.bulk_create([
        DailyReport(**{**{f.attname: getattr(template, f.attname)
                          for f in DailyReport._meta.concrete_fields if f.name != "id"},
                       "date": big_day - dt.timedelta(days=n)})
        for n in range(1, 365)
    ], ignore_conflicts=True)
    admin, _ = users.objects.get_or_create(username="bench_admin", defaults={
        "is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(admin)
    pages = {"charts": _page_ms(client, "/admin/reports/dailyreport/charts/?days=365"),
             "dashboard": _page_ms(client, "/admin/")}
    print(f"  {pages}", flush=True)

    ApiRequest.objects.all().delete()  # all ours: the tables started empty
    DailyReport.objects.all().delete()
    RequestMinute.objects.all().delete()
    return {
        "bench": "daily_report",
        "database": connection.vendor,
        "seconds": {"ours": median(ours), "raw_sql": median(raw)},
        "peak_mb": {"ours": peak},
        "page_ms": pages,
        "size": {"rows_in_day": count, "rows_per_neighbour_day": neighbours},
    }
