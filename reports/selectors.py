"""Reads: aggregate the request log in the database, and read report rows for charts."""

from __future__ import annotations

import datetime as dt
import math

from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, Q, Sum
from django.db.models.functions import ExtractHour, TruncDate, TruncMinute

from reports.models import ApiRequest, DailyReport, RequestMinute, WeeklyAnalytics
from reports.periods import date_range, day_bounds

TOP_N = 10
WEEKLY_TOP_N = 50
SUCCESS = Q(status_code__lt=400)
FAILURE = Q(status_code__gte=400)


def requests_between(start: dt.datetime, end: dt.datetime):
    return ApiRequest.objects.filter(timestamp__gte=start, timestamp__lt=end).order_by()


def percentile_nearest_rank(rows, field: str, count: int, fraction: float = 0.95) -> float:
    """The nearest-rank percentile of `field`, computed in the database (ORDER BY … OFFSET).

    Nearest rank (the smallest value with at least `fraction` of values at or below it) is
    what PostgreSQL's percentile_disc computes; SQLite has no percentile function.
    """
    if count == 0:
        return 0.0
    rank = max(1, math.ceil(fraction * count))
    return float(rows.order_by(field).values_list(field, flat=True)[rank - 1])


def _usernames(user_ids) -> dict[int, str]:
    users = get_user_model().objects.filter(pk__in=user_ids)
    return dict(users.values_list("pk", "username"))


def daily_figures(day: dt.date) -> dict:
    """Every figure of one day's report, aggregated by the database (no Python row loops)."""
    rows = requests_between(*day_bounds(day))
    totals = rows.aggregate(
        total=Count("id"),
        successful=Count("id", filter=SUCCESS),
        failed=Count("id", filter=FAILURE),
        unique_users=Count("user_id", distinct=True),
        unique_ips=Count("ip", distinct=True),
        avg_ms=Avg("duration_ms"),
    )
    total = totals["total"]
    status_codes = {
        str(row["status_code"]): row["n"]
        for row in rows.values("status_code").annotate(n=Count("id")).order_by("status_code")
    }
    endpoints = list(
        rows.values("method", "route")
        .annotate(count=Count("id"), failed=Count("id", filter=FAILURE),
                  avg_response_time=Avg("duration_ms"))
        .order_by("-count", "route", "method")[:TOP_N]
    )
    users = list(
        rows.exclude(user_id=None).values("user_id").annotate(count=Count("id"))
        .order_by("-count", "user_id")[:TOP_N]
    )
    names = _usernames([row["user_id"] for row in users])
    for row in users:
        row["username"] = names.get(row["user_id"], "(deleted)")
    for row in endpoints:
        row["avg_response_time"] = round(row["avg_response_time"] or 0.0, 2)
    return {
        "date": day,
        "total_requests": total,
        "successful_requests": totals["successful"],
        "failed_requests": totals["failed"],
        "success_rate": round(100.0 * totals["successful"] / total, 2) if total else 0.0,
        "unique_users": totals["unique_users"],
        "unique_ips": totals["unique_ips"],
        "avg_response_time": round(totals["avg_ms"] or 0.0, 2),
        "p95_response_time": percentile_nearest_rank(rows, "duration_ms", total),
        "status_codes": status_codes,
        "top_endpoints": endpoints,
        "top_users": users,
    }


def weekly_figures(week_start: dt.date) -> dict:
    """Per-endpoint, per-user and per-hour figures of the week starting on `week_start`."""
    start, _ = day_bounds(week_start)
    end, _ = day_bounds(week_start + dt.timedelta(days=7))
    previous_start, _ = day_bounds(week_start - dt.timedelta(days=7))
    rows = requests_between(start, end)
    totals = rows.aggregate(total=Count("id"), failed=Count("id", filter=FAILURE))
    previous_total = requests_between(previous_start, start).count()

    endpoints = list(
        rows.values("method", "route")
        .annotate(requests=Count("id"), failed=Count("id", filter=FAILURE),
                  avg_response_time=Avg("duration_ms"))
        .order_by("-requests", "route", "method")[:WEEKLY_TOP_N]
    )
    for row in endpoints:
        row["error_rate"] = round(100.0 * row["failed"] / row["requests"], 2)
        row["avg_response_time"] = round(row["avg_response_time"] or 0.0, 2)

    users = list(
        rows.exclude(user_id=None).values("user_id")
        .annotate(requests=Count("id"), failed=Count("id", filter=FAILURE),
                  active_days=Count(TruncDate("timestamp"), distinct=True))
        .order_by("-requests", "user_id")[:WEEKLY_TOP_N]
    )
    names = _usernames([row["user_id"] for row in users])
    for row in users:
        row["username"] = names.get(row["user_id"], "(deleted)")
        row["error_rate"] = round(100.0 * row["failed"] / row["requests"], 2)

    hours = [0] * 24
    for row in rows.annotate(hour=ExtractHour("timestamp")).values("hour").annotate(
        n=Count("id")
    ):
        hours[row["hour"]] = row["n"]

    total = totals["total"]
    change = (
        round(100.0 * (total - previous_total) / previous_total, 2) if previous_total else None
    )
    return {
        "week_start": week_start,
        "total_requests": total,
        "failed_requests": totals["failed"],
        "previous_total_requests": previous_total,
        "change_percent": change,
        "endpoints": endpoints,
        "users": users,
        "busiest_hours": hours,
    }


def daily_report_series(start: dt.date, end: dt.date) -> list[dict]:
    """One entry per day from `start` to `end`; days without a report row have `None`."""
    reports = {
        row["date"]: row
        for row in DailyReport.objects.filter(date__gte=start, date__lte=end).values(
            "id", "date", "total_requests", "successful_requests", "failed_requests",
            "success_rate", "unique_users", "avg_response_time", "p95_response_time",
        )
    }
    return [reports.get(day, {"id": None, "date": day}) for day in date_range(start, end)]


def top_endpoints_between(start: dt.date, end: dt.date, limit: int = TOP_N) -> list[dict]:
    """Sum the stored per-day top endpoints over a range (report rows only, no log scan)."""
    totals: dict[tuple[str, str], int] = {}
    for day_top in DailyReport.objects.filter(date__gte=start, date__lte=end).values_list(
        "top_endpoints", flat=True
    ):
        for row in day_top:
            key = (row["method"], row["route"])
            totals[key] = totals.get(key, 0) + row["count"]
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0][1]))[:limit]
    return [{"method": m, "route": r, "count": c} for (m, r), c in ranked]


def latest_weekly() -> WeeklyAnalytics | None:
    return WeeklyAnalytics.objects.order_by("-week_start").first()


def today_so_far(start: dt.datetime, end: dt.datetime) -> dict:
    """Live figures for today, from the per-minute counters (at most 1,440 rows), never
    from the log itself."""
    sums = RequestMinute.objects.filter(minute__gte=start, minute__lt=end).aggregate(
        total=Sum("total"), failed=Sum("failed"), ms=Sum("duration_ms_sum"))
    total = sums["total"] or 0
    return {"total": total, "failed": sums["failed"] or 0,
            "avg_ms": round((sums["ms"] or 0.0) / total, 1) if total else 0.0}


def request_minutes_from_log(start: dt.datetime, end: dt.datetime):
    """Per-minute counts of the log rows in [start, end), aggregated by the database."""
    return (requests_between(start, end)
            .annotate(at=TruncMinute("timestamp", tzinfo=dt.UTC)).values("at")
            .annotate(total=Count("id"), failed=Count("id", filter=FAILURE),
                      ms=Sum("duration_ms")).order_by("at"))


CSV_COLUMNS = ("date", "total_requests", "successful_requests", "failed_requests",
               "success_rate", "unique_users", "unique_ips", "avg_response_time",
               "p95_response_time")


def daily_reports_csv_rows(queryset):
    """A header row, then one row per report (iterated in chunks, never all in memory)."""
    yield CSV_COLUMNS
    yield from queryset.values_list(*CSV_COLUMNS).iterator(chunk_size=500)


def reports_the_log_no_longer_covers(reports) -> list:
    """Those of `reports` (DailyReport rows) that count more requests than the request log
    now holds for their day: regenerating them would lose data."""
    return [report for report in reports
            if report.total_requests > requests_between(*day_bounds(report.date)).count()]
