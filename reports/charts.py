"""Chart.js data for report charts, drawn by Unfold's chart components (which load Chart.js)."""

from __future__ import annotations

import datetime as dt
import json

from django.urls import reverse
from django.utils import translation

SUCCESS_COLOUR = "#16a34a"
FAILURE_COLOUR = "#dc2626"
PRIMARY = "var(--color-primary-600)"
SECONDARY = "var(--color-primary-300)"
AXIS = {"ticks": {"color": "#9ca3af", "maxTicksLimit": 12}, "grid": {"display": False}}


def _options(*, stacked: bool = False, suffix: str = "", legend: bool = True,
             horizontal: bool = False) -> str:
    """Full Chart.js options (Unfold uses these instead of its defaults when given)."""
    value_axis = {"beginAtZero": True, "stacked": stacked, "ticks": {"color": "#9ca3af"},
                  "grid": {"color": "rgba(156,163,175,.2)"}}
    if suffix:
        value_axis["title"] = {"display": True, "text": suffix, "color": "#9ca3af"}
    category_axis = {**AXIS, "stacked": stacked}
    scales = {"x": value_axis, "y": category_axis} if horizontal else {
        "x": category_axis, "y": value_axis}
    options = {
        # Tick and tooltip numbers grouped as the page's language groups them, not as the
        # browser's language would.
        "locale": translation.get_language() or "en-us",
        "responsive": True,
        "maintainAspectRatio": False,
        "animation": {"duration": 300},
        "interaction": {"mode": "index", "intersect": False},
        "plugins": {"legend": {"display": legend, "align": "end", "labels": {
            "usePointStyle": True, "boxWidth": 6, "boxHeight": 6, "color": "#9ca3af"}}},
        "scales": scales,
    }
    if horizontal:
        options["indexAxis"] = "y"
    return json.dumps(options)


def _values(series, field):
    return [row.get(field) for row in series]


def report_links(series) -> str:
    """JSON list aligned with the chart's days: each day's report change page or null."""
    return json.dumps([
        reverse("admin:reports_dailyreport_change", args=[row["id"]]) if row["id"] else None
        for row in series
    ])


def _day_chart(series: list[dict], datasets: list[dict], **options) -> dict:
    labels = [row["date"].strftime("%b %d") if isinstance(row["date"], dt.date) else row["date"]
              for row in series]
    return {"data": json.dumps({"labels": labels, "datasets": datasets}),
            "options": _options(**options)}


def requests_chart(series: list[dict]) -> dict:
    """Requests per day, successful and failed stacked (the charts page and the dashboard)."""
    return _day_chart(series, [
        {"label": "Successful", "data": _values(series, "successful_requests"),
         "backgroundColor": SUCCESS_COLOUR, "stack": "requests"},
        {"label": "Failed", "data": _values(series, "failed_requests"),
         "backgroundColor": FAILURE_COLOUR, "stack": "requests"},
    ], stacked=True)


def daily_charts(series: list[dict]) -> dict[str, dict]:
    """Chart data and options for each chart of the charts page."""

    def chart(datasets, **options):
        return _day_chart(series, datasets, **options)

    return {
        "requests": requests_chart(series),
        "success_rate": chart([
            {"label": "Success rate", "data": _values(series, "success_rate"),
             "borderColor": SUCCESS_COLOUR, "backgroundColor": SUCCESS_COLOUR,
             "spanGaps": False, "pointRadius": 2},
        ], suffix="%", legend=False),
        "latency": chart([
            {"label": "Average", "data": _values(series, "avg_response_time"),
             "borderColor": PRIMARY, "backgroundColor": PRIMARY, "pointRadius": 2},
            {"label": "p95", "data": _values(series, "p95_response_time"),
             "borderColor": FAILURE_COLOUR, "backgroundColor": FAILURE_COLOUR,
             "pointRadius": 2, "borderDash": [4, 4]},
        ], suffix="ms"),
        "users": chart([
            {"label": "Unique users", "data": _values(series, "unique_users"),
             "backgroundColor": PRIMARY},
        ], legend=False),
    }


def top_endpoints_chart(endpoints: list[dict]) -> dict:
    labels = [f"{row['method']} {row['route']}" for row in endpoints]
    data = {"labels": labels, "datasets": [
        {"label": "Requests", "data": [row["count"] for row in endpoints],
         "backgroundColor": PRIMARY},
    ]}
    return {"data": json.dumps(data), "options": _options(legend=False, horizontal=True)}
