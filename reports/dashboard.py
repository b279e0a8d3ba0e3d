"""What the admin dashboard shows about API traffic (report rows + one bounded query)."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django_celery_results.models import TaskResult

from reports import charts, selectors
from reports.models import DailyReport
from reports.periods import day_bounds, today

NIGHTLY_TASKS = (
    ("reports.tasks.generate_daily_report", "Daily report"),
    ("reports.tasks.process_api_analytics", "Weekly analytics"),
    ("maintenance.tasks.backup_database", "Backup"),
    ("maintenance.tasks.cleanup_old_logs", "Cleanup"),
)


def _trend(current: int, previous: int) -> dict:
    if not previous:
        return {"direction": "flat", "percent": None}
    change = round(100.0 * (current - previous) / previous, 1)
    direction = "up" if change > 0 else "down" if change < 0 else "flat"
    return {"direction": direction, "percent": abs(change)}


def last_nightly_runs() -> list[dict]:
    """The latest run of each nightly task (one indexed query per task name)."""
    runs = []
    for task_name, label in NIGHTLY_TASKS:
        last = (TaskResult.objects.filter(task_name=task_name).order_by("-date_done")
                .values("id", "status", "date_done").first())
        if last:
            last["url"] = reverse("admin:django_celery_results_taskresult_change",
                                  args=[last["id"]])
        runs.append({"label": label, "task_name": task_name, "last": last})
    return runs


def traffic_dashboard(user) -> dict | None:
    """KPI cards, a 30-day chart and the nightly runs; None when the user may not see reports."""
    if not user.has_perm("reports.view_dailyreport"):
        return None
    now_day = today()
    yesterday = now_day - dt.timedelta(days=1)
    series = selectors.daily_report_series(now_day - dt.timedelta(days=30), yesterday)
    last_7 = sum(row.get("total_requests") or 0 for row in series[-7:])
    previous_7 = sum(row.get("total_requests") or 0 for row in series[-14:-7])
    return {
        "today": selectors.today_so_far(*day_bounds(now_day)),
        "yesterday": DailyReport.objects.filter(date=yesterday).first(),
        "week": {"total": last_7, "previous": previous_7, **_trend(last_7, previous_7)},
        "chart": charts.requests_chart(series),
        "day_links": charts.report_links(series),
        "charts_url": reverse("admin:reports_dailyreport_charts"),
        "nightly": last_nightly_runs(),
    }
