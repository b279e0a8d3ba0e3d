"""What the admin dashboard shows about API traffic: report rows and the per-minute
counters of today, never the request log itself.

The card of last nightly runs is filled in by the dashboard's wiring (backoffice.dashboard)
from the task history, which this app does not read.
"""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from reports import charts, selectors
from reports.models import DailyReport
from reports.periods import day_bounds, today


def _trend(current: int, previous: int) -> dict:
    if not previous:
        return {"direction": "flat", "percent": None}
    change = round(100.0 * (current - previous) / previous, 1)
    direction = "up" if change > 0 else "down" if change < 0 else "flat"
    return {"direction": direction, "percent": abs(change)}


def traffic_dashboard(user) -> dict | None:
    """KPI cards and a 30-day chart; None when the user may not see reports."""
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
    }
