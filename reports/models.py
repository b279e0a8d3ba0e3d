"""The API request log: the raw data the reports aggregate."""

from django.conf import settings
from django.db import models


class ApiRequest(models.Model):
    """One `/api/` request as the logging middleware saw it."""

    timestamp = models.DateTimeField(db_index=True)
    method = models.CharField(max_length=10)
    route = models.CharField(
        max_length=255, help_text="URL pattern, e.g. /api/users/<int:pk>/, not the raw path"
    )
    status_code = models.PositiveSmallIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="api_requests", db_constraint=False,
        db_index=False,  # partial index below: most logged requests are anonymous
    )
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    duration_ms = models.FloatField("duration (ms)")

    class Meta:
        ordering = ["-timestamp"]
        verbose_name = "API request"
        verbose_name_plural = "API requests"
        # Each admin filter is "equals X, newest first". Every index costs each logged
        # request a B-tree insert, so the status, method and user indexes are partial:
        # they hold only the rare rows (errors, non-GET, signed in) that a scan of the
        # timestamp index would not find quickly; the common ones are found by that scan.
        indexes = [
            # Ascending: a new row lands at the end of its route's entries, and "newest
            # first" reads them backwards. Descending put each new row at the front,
            # which made SQLite's insert of a log row about a quarter slower.
            models.Index(fields=["route", "timestamp"], name="reports_apireq_route_ts"),
            models.Index(fields=["status_code", "-timestamp"], name="reports_apireq_error_ts",
                         condition=models.Q(status_code__gte=400)),
            models.Index(fields=["method", "-timestamp"], name="reports_apireq_method_ts",
                         condition=~models.Q(method="GET")),
            # A user's requests (search, SET_NULL when a user is deleted): only the rows
            # that have a user; anonymous ones would be a NULL entry per request.
            models.Index(fields=["user"], name="reports_apireq_user",
                         condition=models.Q(user__isnull=False)),
        ]

    def __str__(self):
        return f"{self.method} {self.route} {self.status_code}"


class RequestMinute(models.Model):
    """The requests logged in one minute, counted as the log is written: at most 1,440 rows
    a day, so today's figures never aggregate the log however large it grows."""

    minute = models.DateTimeField(unique=True, help_text="the minute's start (UTC)")
    total = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0, help_text="4xx and 5xx")
    duration_ms_sum = models.FloatField(default=0.0)

    class Meta:
        ordering = ["-minute"]
        verbose_name = "requests per minute"
        verbose_name_plural = "requests per minute"

    def __str__(self):
        return f"{self.minute:%Y-%m-%d %H:%M}: {self.total}"


class DailyReport(models.Model):
    """One day of API traffic, aggregated from ApiRequest. Charts read only these rows."""

    date = models.DateField(unique=True)
    total_requests = models.PositiveIntegerField(default=0)
    successful_requests = models.PositiveIntegerField(default=0, help_text="2xx and 3xx")
    failed_requests = models.PositiveIntegerField(default=0, help_text="4xx and 5xx")
    success_rate = models.FloatField("success rate (%)", default=0.0,
                                     help_text="percent of requests that succeeded")
    unique_users = models.PositiveIntegerField(default=0)
    unique_ips = models.PositiveIntegerField("unique IPs", default=0)
    avg_response_time = models.FloatField("average response time (ms)", default=0.0)
    p95_response_time = models.FloatField("95th percentile response time (ms)", default=0.0,
                                          help_text="nearest rank")
    status_codes = models.JSONField(default=dict, blank=True, help_text="status code → count")
    top_endpoints = models.JSONField(default=list, blank=True)
    top_users = models.JSONField(default=list, blank=True)
    generated_at = models.DateTimeField()
    generated_by = models.CharField(max_length=100, blank=True, help_text="task, command or user")
    task_id = models.CharField("task ID", max_length=255, blank=True)

    class Meta:
        ordering = ["-date"]
        permissions = [("regenerate_dailyreport", "Can regenerate daily reports")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    total_requests=models.F("successful_requests") + models.F("failed_requests")
                ),
                name="daily_report_total_is_success_plus_failed",
            ),
        ]

    def __str__(self):
        return f"Daily report {self.date:%Y-%m-%d}"


class WeeklyAnalytics(models.Model):
    """One week (Monday start) of per-endpoint and per-user analytics."""

    week_start = models.DateField(unique=True, help_text="the Monday that starts the week")
    total_requests = models.PositiveIntegerField(default=0)
    failed_requests = models.PositiveIntegerField(default=0)
    previous_total_requests = models.PositiveIntegerField(default=0)
    change_percent = models.FloatField(
        "change (%)", null=True, blank=True, help_text="week-over-week change of the request count"
    )
    endpoints = models.JSONField(default=list, blank=True)
    users = models.JSONField(default=list, blank=True)
    busiest_hours = models.JSONField(default=list, blank=True, help_text="24 request counts")
    generated_at = models.DateTimeField()
    generated_by = models.CharField(max_length=100, blank=True)
    task_id = models.CharField("task ID", max_length=255, blank=True)

    class Meta:
        ordering = ["-week_start"]
        verbose_name_plural = "weekly analytics"

    def __str__(self):
        return f"Week of {self.week_start:%Y-%m-%d}"
