"""Writes: record API requests (the log), upsert report rows aggregated from it."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from functools import lru_cache

from django.db import connection, transaction
from django.utils import timezone

from reports import selectors
from reports.models import ApiRequest, DailyReport, WeeklyAnalytics
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


def _report_upsert(model, *, key: str, figures: dict, generated_by: str, task_id: str):
    """The one row of a period (`figures[key]`), created or replaced with fresh figures."""
    period = figures.pop(key)
    row, _ = model.objects.update_or_create(
        **{key: period},
        defaults={**figures, "generated_at": timezone.now(), "generated_by": generated_by,
                  "task_id": task_id},
    )
    return row


def reports_backfill(
    *, start: dt.date, end: dt.date, generated_by: str = "backfill",
    progress: Callable[[int, int, dt.date], None] | None = None,
) -> list[DailyReport]:
    """Generate every day from `start` to `end` (both included) and the weeks they touch."""
    days = date_range(start, end)
    reports = []
    for number, day in enumerate(days, start=1):
        reports.append(daily_report_generate(day=day, generated_by=generated_by))
        if progress:
            progress(number, len(days), day)
    for monday in sorted({monday_of(day) for day in days}):
        weekly_analytics_generate(week_start=monday, generated_by=generated_by)
    return reports


def daily_report_as_result(report: DailyReport) -> dict:
    """The seed's result shape of `generate_daily_report` (JSON-able)."""
    return {
        "date": report.date.isoformat(),
        "total_requests": report.total_requests,
        "successful_requests": report.successful_requests,
        "failed_requests": report.failed_requests,
        "success_rate": report.success_rate,
        "unique_users": report.unique_users,
        "unique_ips": report.unique_ips,
        "avg_response_time": report.avg_response_time,
        "p95_response_time": report.p95_response_time,
        "top_endpoints": report.top_endpoints,
        "report_id": report.pk,
    }


# A logged request as the middleware hands it over, integer clocks only:
# (unix_time_ns, method, route, status_code, user_id, ip, duration_ns)
ROW_FIELDS = ("timestamp", "method", "route", "status_code", "user_id", "ip", "duration_ms")
# Rows per INSERT statement (7 parameters each; well inside every backend's limit).
ROWS_PER_STATEMENT = 500


@lru_cache(maxsize=64)  # a batch spans a few seconds: each second's text is made once
def _utc_second_text(unix_seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(unix_seconds))


def _sqlite_utc_text(unix_time_ns: int) -> str:
    """What Django stores in SQLite for this instant: str() of the naive UTC datetime.

    Like `timezone.now()`, the instant is floored to the microsecond; like str(), the
    fraction is left out when it is zero.
    """
    seconds, micro = divmod(unix_time_ns // 1000, 1_000_000)
    text = _utc_second_text(seconds)
    return f"{text}.{micro:06d}" if micro else text


def _timestamp_adapter() -> Callable[[int], object]:
    """A unix time in ns → what the database stores for a DateTimeField (Django's format).

    SQLite with its connection in UTC gets the text made directly: a datetime per row and
    its isoformat were about a sixth of the instructions of writing a log row (valgrind:
    58K -> 48K a row). Other databases go through Django's adapter.
    """
    if connection.vendor == "sqlite" and connection.timezone is dt.UTC:
        return _sqlite_utc_text
    django_adapt = connection.ops.adapt_datetimefield_value
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return lambda unix_time_ns: django_adapt(
        epoch + dt.timedelta(microseconds=unix_time_ns // 1000))


@lru_cache(maxsize=8)
def _insert_sql(vendor: str, rows: int) -> str:
    meta = ApiRequest._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in ROW_FIELDS)
    # SQLite's own "?" placeholders: Django's SQLite cursor turns each "%s" into "?" with a
    # regex substitution; at 3,500 placeholders a statement that was about a tenth of the
    # instructions of writing a log row (valgrind: 40K -> 36K a row). It leaves "?" as it
    # is; the statement still goes through Django's cursor (error wrapping, query logging).
    placeholder = "?" if vendor == "sqlite" else "%s"
    values = ",".join(["(" + ",".join([placeholder] * len(ROW_FIELDS)) + ")"] * rows)
    return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {values}"


def api_requests_write(*, rows: list[tuple]) -> int:
    """Insert request rows with multi-row INSERTs in one transaction (no models, no signals).

    Each row is (unix_time_ns, method, route, status_code, user_id, ip, duration_ns).

    One statement per few hundred rows, not one per row: SQLite commits after every
    statement outside a transaction, and the driver releases the GIL around every
    statement, which in a busy web process costs the request threads more than the insert.
    """
    if not rows:
        return 0
    adapt = _timestamp_adapter()
    adapt_ip = connection.ops.adapt_ipaddressfield_value
    params: list = []  # flat: ROW_FIELDS values of each row in turn
    add = params.extend
    for unix_time_ns, method, route, status, user_id, ip, duration_ns in rows:
        add((adapt(unix_time_ns), method[:10], route[:255], status, user_id, adapt_ip(ip),
             duration_ns // 1000 / 1000))  # milliseconds, to the microsecond
    width = len(ROW_FIELDS)
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            count = min(ROWS_PER_STATEMENT, len(rows) - start)
            cursor.execute(_insert_sql(connection.vendor, count),
                           params[start * width:(start + count) * width])
    return len(rows)
