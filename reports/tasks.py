"""Thin Celery tasks: parse arguments, call a service, return a small JSON-able dict."""

from celery import shared_task
from rest_framework import serializers

from backoffice.task_arguments import StrictCharField, TaskArguments
from reports import services
from reports.periods import InvalidPeriod, last_full_week_start, parse_day, yesterday


class DayField(StrictCharField):
    """An ISO day (YYYY-MM-DD); anything else is refused in reports.periods' words."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        try:
            parse_day(text)
        except InvalidPeriod as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return text


class DailyReportArguments(TaskArguments):
    operable = True
    permission = "reports.regenerate_dailyreport"
    date = DayField(required=False, allow_null=True, allow_blank=True, max_length=10)


class WeeklyAnalyticsArguments(TaskArguments):
    operable = True
    permission = "maintenance.run_weekly_analytics"
    week_start = DayField(required=False, allow_null=True, allow_blank=True, max_length=10)


@shared_task(bind=True, name="reports.tasks.generate_daily_report", queue="reports",
             arguments=DailyReportArguments)
def generate_daily_report(self, date=None):
    """Aggregate one day (default: yesterday in TIME_ZONE) into its DailyReport row.

    `date` is an ISO date string; at the head of a chain it gets none.
    """
    day = parse_day(date, default=yesterday())
    report = services.daily_report_generate(
        day=day, generated_by="task", task_id=self.request.id or ""
    )
    return services.daily_report_as_result(report)


@shared_task(bind=True, name="reports.tasks.process_api_analytics", queue="reports",
             arguments=WeeklyAnalyticsArguments)
def process_api_analytics(self, week_start=None):
    """Build the WeeklyAnalytics row of a week (default: the last complete week)."""
    monday = parse_day(week_start, default=last_full_week_start())
    analytics = services.weekly_analytics_generate(
        week_start=monday, generated_by="task", task_id=self.request.id or ""
    )
    return {
        "week_start": analytics.week_start.isoformat(),
        "total_requests": analytics.total_requests,
        "failed_requests": analytics.failed_requests,
        "change_percent": analytics.change_percent,
        "top_endpoints": analytics.endpoints[:5],
        "analytics_id": analytics.pk,
    }
