"""Writes: upsert report rows from the request log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils import timezone

from reports import selectors
from reports.models import DailyReport, WeeklyAnalytics
from reports.periods import InvalidPeriod, date_range, monday_of


def daily_report_generate(
    *, day: dt.date, generated_by: str = "", task_id: str = ""
) -> DailyReport:
    """Aggregate one day and upsert its single DailyReport row (running twice → same row)."""
    figures = selectors.daily_figures(day)
    figures.pop("date")
    report, _ = DailyReport.objects.update_or_create(
        date=day,
        defaults={**figures, "generated_at": timezone.now(), "generated_by": generated_by,
                  "task_id": task_id},
    )
    return report


def weekly_analytics_generate(
    *, week_start: dt.date, generated_by: str = "", task_id: str = ""
) -> WeeklyAnalytics:
    """Aggregate one week (it must start on a Monday) and upsert its WeeklyAnalytics row."""
    if week_start != monday_of(week_start):
        raise InvalidPeriod(f"a week starts on a Monday; {week_start} is a {week_start:%A}")
    figures = selectors.weekly_figures(week_start)
    figures.pop("week_start")
    analytics, _ = WeeklyAnalytics.objects.update_or_create(
        week_start=week_start,
        defaults={**figures, "generated_at": timezone.now(), "generated_by": generated_by,
                  "task_id": task_id},
    )
    return analytics


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
