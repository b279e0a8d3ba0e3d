"""Writes: record API requests (the log), upsert report rows aggregated from it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from django.db import connection, transaction
from django.utils import timezone

from reports import selectors
from reports.models import ApiRequest, DailyReport, RequestMinute, WeeklyAnalytics
from reports.periods import InvalidPeriod, date_range, monday_of


def daily_report_generate(
    *, day: dt.date, generated_by: str = "", task_id: str = ""
) -> DailyReport:
    """Aggregate one day and upsert its single DailyReport row (running twice → same row)."""
    return _report_upsert(DailyReport, key="date", figures=selectors.daily_figures(day),
                          generated_by=generated_by, task_id=task_id)


def weekly_analytics_generate(
    *, week_start: dt.date, generated_by: str = "", task_id: str = ""
) -> WeeklyAnalytics:
    """Aggregate one week (it must start on a Monday) and upsert its WeeklyAnalytics row."""
    if week_start != monday_of(week_start):
        raise InvalidPeriod(f"a week starts on a Monday; {week_start} is a {week_start:%A}")
    return _report_upsert(WeeklyAnalytics, key="week_start",
                          figures=selectors.weekly_figures(week_start),
                          generated_by=generated_by, task_id=task_id)


class ReportKept(ValueError):
    """Regenerating would replace a report with one that counts fewer requests: the log it
    was made from has been cleaned up since. The report is kept; the message says why."""


# The counts a fresh report must not fall below: if it does, the log lost rows.
KEPT_COUNTS = {DailyReport: ("total_requests",),
               WeeklyAnalytics: ("total_requests", "previous_total_requests")}


def _report_upsert(model, *, key: str, figures: dict, generated_by: str, task_id: str):
    """The one row of a period (`figures[key]`), created or replaced with fresh figures;
    ReportKept (nothing written) when the fresh figures count fewer requests than the row."""
    period = figures.pop(key)
    with transaction.atomic():
        stored = model.objects.select_for_update().filter(**{key: period}).first()
        for field in KEPT_COUNTS[model] if stored is not None else ():
            if getattr(stored, field) > figures[field]:
                raise ReportKept(
                    f"The report of {period} is kept as it is: it counts "
                    f"{getattr(stored, field):,} requests and the request log now holds "
                    f"{figures[field]:,} for that period (log rows older than "
                    f"LOG_RETENTION_DAYS are deleted). Regenerating it would lose data.")
        row, _ = model.objects.update_or_create(
            **{key: period},
            defaults={**figures, "generated_at": timezone.now(), "generated_by": generated_by,
                      "task_id": task_id},
        )
    return row


@dataclass
class Backfill:
    reports: list[DailyReport]
    kept: list[str]


def reports_backfill(
    *, start: dt.date, end: dt.date, generated_by: str = "backfill",
    progress: Callable[[int, int, dt.date], None] | None = None,
) -> Backfill:
    """Generate every day from `start` to `end` (both included) and the weeks they touch;
    a period whose log no longer covers its report is kept as it is and reported in
    `kept` (one message each)."""
    days = date_range(start, end)
    reports, kept = [], []
    for number, day in enumerate(days, start=1):
        try:
            reports.append(daily_report_generate(day=day, generated_by=generated_by))
        except ReportKept as exc:
            kept.append(str(exc))
        if progress:
            progress(number, len(days), day)
    for monday in sorted({monday_of(day) for day in days}):
        try:
            weekly_analytics_generate(week_start=monday, generated_by=generated_by)
        except ReportKept as exc:
            kept.append(str(exc))
    return Backfill(reports=reports, kept=kept)


def daily_report_as_result(report: DailyReport) -> dict:
    """The documented result of `generate_daily_report` (JSON-able).

    `success_rate` and `avg_response_time` are display strings ("91.0%", "0.087s");
    `success_rate_pct`, `avg_response_ms` and `p95_response_ms` are the same figures as
    numbers. `top_endpoints` maps route → requests, busiest first (methods of one route
    added together).
    """
    total = report.total_requests
    rate = Decimal(100 * report.successful_requests) / total if total else Decimal(0)
    seconds = Decimal(str(report.avg_response_time)) / 1000
    return {
        "date": report.date.isoformat(),
        "total_requests": total,
        "successful_requests": report.successful_requests,
        "failed_requests": report.failed_requests,
        "success_rate": f"{_half_up(rate, '0.1')}%",
        "success_rate_pct": report.success_rate,
        "unique_users": report.unique_users,
        "unique_ips": report.unique_ips,
        "avg_response_time": f"{_half_up(seconds, '0.001')}s",
        "avg_response_ms": report.avg_response_time,
        "p95_response_time": report.p95_response_time,
        "p95_response_ms": report.p95_response_time,
        "top_endpoints": _requests_per_route(report.top_endpoints),
        "report_id": report.pk,
    }


def _half_up(value: Decimal, places: str) -> Decimal:
    """Rounded as people do (0.0105 → 0.011), not as binary floats happen to fall."""
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _requests_per_route(endpoints: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in endpoints:
        counts[row["route"]] = counts.get(row["route"], 0) + row["count"]
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


# A logged request as the middleware hands it over, integer clocks only:
# (unix_time_ns, method, route, status_code, user_id, ip, duration_ns)
ROW_FIELDS = ("timestamp", "method", "route", "status_code", "user_id", "ip", "duration_ms")
# Rows per INSERT statement: 28,000 parameters, inside SQLite's default limit (32,766)
# and PostgreSQL's (65,535). A flush is normally one statement.
ROWS_PER_STATEMENT = 4_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@lru_cache(maxsize=16)
def _insert_sql(table: str, rows: int) -> str:
    meta = ApiRequest._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in ROW_FIELDS)
    values = ", ".join(["(" + ", ".join(["%s"] * len(ROW_FIELDS)) + ")"] * rows)
    return f"INSERT INTO {quote(table)} ({columns}) VALUES {values}"


def api_requests_write(*, rows: list[tuple]) -> int:
    """Insert request rows in one transaction: one multi-row INSERT per 4,000 rows.

    Each row is (unix_time_ns, method, route, status_code, user_id, ip, duration_ns).
    Values go through Django's cursor and its adapters, as a model save would; rows are
    not model instances because a log row has no signals, defaults or validation to run,
    and building hundreds of instances per flush would cost the web process more than
    the insert itself.
    """
    if not rows:
        return 0
    adapt_time = connection.ops.adapt_datetimefield_value
    adapt_ip = connection.ops.adapt_ipaddressfield_value
    params: list = []  # flat: ROW_FIELDS values of each row in turn
    add = params.extend
    for unix_time_ns, method, route, status, user_id, ip, duration_ns in rows:
        stamp = _EPOCH + dt.timedelta(microseconds=unix_time_ns // 1000)
        add((adapt_time(stamp), method[:10], route[:255], status, user_id, adapt_ip(ip),
             duration_ns // 1000 / 1000))  # milliseconds, to the microsecond
    width = len(ROW_FIELDS)
    minutes = _per_minute(rows)
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            count = min(ROWS_PER_STATEMENT, len(rows) - start)
            cursor.execute(_insert_sql(ApiRequest._meta.db_table, count),
                           params[start * width:(start + count) * width])
        cursor.execute(_count_sql(len(minutes)), [
            value for minute, (total, failed, ns) in minutes.items()
            for value in (adapt_time(_EPOCH + dt.timedelta(minutes=minute)), total, failed,
                          ns // 1000 / 1000)])
    return len(rows)


def _per_minute(rows: list[tuple]) -> dict[int, list[int]]:
    """Minutes since the epoch → [requests, failed, summed duration in ns] of `rows`."""
    minutes: dict[int, list[int]] = {}
    for row in rows:
        counts = minutes.setdefault(row[0] // 60_000_000_000, [0, 0, 0])
        counts[0] += 1
        counts[1] += row[3] >= 400
        counts[2] += row[6]
    return minutes


@lru_cache(maxsize=64)
def _count_sql(minutes: int) -> str:
    # Adds to the minute's counters in the same transaction as the rows: SQLite and
    # PostgreSQL both take this upsert, which Django's ORM cannot write as an addition.
    table = connection.ops.quote_name(RequestMinute._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s)"] * minutes)
    return (f"INSERT INTO {table} (minute, total, failed, duration_ms_sum) VALUES {values} "
            f"ON CONFLICT (minute) DO UPDATE SET total = {table}.total + excluded.total, "
            f"failed = {table}.failed + excluded.failed, "
            f"duration_ms_sum = {table}.duration_ms_sum + excluded.duration_ms_sum")


def request_minutes_rebuild(*, start: dt.datetime, end: dt.datetime) -> int:
    """Count again, from the log, the per-minute counters of [start, end) (rows that were
    written around the request log, e.g. by a bulk import); returns the minutes written."""
    counted = [RequestMinute(minute=row["at"], total=row["total"], failed=row["failed"],
                             duration_ms_sum=row["ms"] or 0.0)
               for row in selectors.request_minutes_from_log(start, end)]
    with transaction.atomic():
        RequestMinute.objects.filter(minute__gte=start, minute__lt=end).delete()
        RequestMinute.objects.bulk_create(counted, batch_size=500)
    return len(counted)
