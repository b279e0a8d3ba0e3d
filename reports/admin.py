"""Report rows, the request log, and the charts page in the Unfold admin.

The request log (ApiRequest) stays fast at millions of rows: no full COUNT (infinite
paginator), newest-first on the timestamp index, and only filters an index serves.
"""

import csv

from django.contrib import admin, messages
from django.http import StreamingHttpResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import FieldTextFilter, RangeDateFilter
from unfold.decorators import action, display
from unfold.paginator import InfinitePaginator

from accounts.admin_mixins import RecordAdminMixin
from backoffice.admin_filters import LocalDateTimeRangeFilter
from backoffice.enqueue import QueueUnavailable, enqueue
from backoffice.numbers import count, count_column
from backoffice.task_links import task_run_url
from reports import selectors
from reports.models import ApiRequest, DailyReport, WeeklyAnalytics
from reports.periods import day_bounds
from reports.tasks import generate_daily_report
from reports.views import ReportChartsView


class _Echo:
    """A file-like object whose write returns the line, for streaming CSV."""

    def write(self, value):
        return value


def _cell(value):
    return count(value) if isinstance(value, int) else value


def _table(rows, columns):
    if not rows:
        return "—"
    head = format_html_join("", "<th class='pr-4 text-left'>{}</th>", ((c,) for c, _ in columns))
    body = format_html_join(
        "", "<tr>{}</tr>",
        ((format_html_join("", "<td class='pr-4'>{}</td>", ((_cell(row.get(key, "")),)
                                                             for _, key in columns)),)
         for row in rows),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


@admin.register(DailyReport)
class DailyReportAdmin(RecordAdminMixin, ModelAdmin):
    list_display = ("date", "total_requests_display", "failed_requests_display",
                    "success_rate_display", "avg_ms_display", "p95_ms_display",
                    "unique_users_display", "generated_at", "generated_by")
    list_filter = [("date", RangeDateFilter)]
    list_filter_submit = True
    date_hierarchy = "date"
    ordering = ("-date",)
    actions = ["export_csv", "regenerate"]
    readonly_fields = ("requests_link", "top_endpoints_table", "top_users_table",
                       "status_codes_table")
    total_requests_display = count_column("total_requests", "total requests")
    failed_requests_display = count_column("failed_requests", "failed requests")
    unique_users_display = count_column("unique_users", "unique users")
    avg_ms_display = count_column("avg_response_time", "avg ms")
    p95_ms_display = count_column("p95_response_time", "p95 ms")
    fieldsets = (
        (None, {"fields": ("date", "requests_link", "total_requests", "successful_requests",
                           "failed_requests", "success_rate", "unique_users", "unique_ips",
                           "avg_response_time", "p95_response_time")}),
        ("Breakdown", {"fields": ("status_codes_table", "top_endpoints_table",
                                  "top_users_table")}),
        ("Generation", {"fields": ("generated_at", "generated_by", "task_id")}),
    )

    def get_urls(self):
        charts = self.admin_site.admin_view(ReportChartsView.as_view(model_admin=self))
        return [path("charts/", charts, name="reports_dailyreport_charts"), *super().get_urls()]

    def has_regenerate_permission(self, request):
        return request.user.has_perm("reports.regenerate_dailyreport")

    @display(description="Success rate", ordering="success_rate")
    def success_rate_display(self, obj):
        return f"{obj.success_rate:.2f}%"

    @display(description="API requests of this day")
    def requests_link(self, obj):
        start, end = day_bounds(obj.date)
        url = reverse("admin:reports_apirequest_changelist")
        query = f"timestamp__gte={start.isoformat()}&timestamp__lt={end.isoformat()}"
        return format_html('<a class="text-primary-600" href="{}?{}">{} requests logged</a>',
                           url, query.replace("+", "%2B"), obj.total_requests)

    @display(description="Top endpoints")
    def top_endpoints_table(self, obj):
        return _table(obj.top_endpoints, [("Method", "method"), ("Route", "route"),
                                          ("Requests", "count"), ("Failed", "failed"),
                                          ("Avg ms", "avg_response_time")])

    @display(description="Top users")
    def top_users_table(self, obj):
        return _table(obj.top_users, [("User", "username"), ("Requests", "count")])

    @display(description="Status codes")
    def status_codes_table(self, obj):
        rows = [{"code": code, "count": count} for code, count in obj.status_codes.items()]
        return _table(rows, [("Status", "code"), ("Requests", "count")])

    @admin.action(description="Export selected reports as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        writer = csv.writer(_Echo())
        rows = selectors.daily_reports_csv_rows(queryset.order_by("date"))
        response = StreamingHttpResponse((writer.writerow(row) for row in rows),
                                         content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="daily-reports.csv"'
        return response

    @action(description="Regenerate selected days", permissions=["regenerate"])
    def regenerate(self, request, queryset):
        reports = list(queryset.order_by("date"))
        kept = selectors.reports_the_log_no_longer_covers(reports)
        if kept:
            messages.error(request, "Kept as they are, not regenerated: the request log no "
                           "longer holds every request of {} (its rows are deleted after "
                           "LOG_RETENTION_DAYS), so regenerating would lose data.".format(
                               ", ".join(f"{report.date}" for report in kept)))
        days = [report.date for report in reports if report not in kept]
        if not days:
            return
        try:
            results = [enqueue(generate_daily_report, kwargs={"date": day.isoformat()})
                       for day in days]
        except QueueUnavailable as exc:
            messages.error(request, str(exc))
            return
        links = format_html_join(
            ", ", '<a class="text-primary-600 underline" href="{}">{}</a>',
            ((task_run_url(result.id), day) for result, day in zip(results, days, strict=True)),
        )
        messages.success(request, format_html("Regeneration queued for {} day(s): {}",
                                              len(days), links))


@admin.register(WeeklyAnalytics)
class WeeklyAnalyticsAdmin(RecordAdminMixin, ModelAdmin):
    list_display = ("week_start", "total_requests_display", "failed_requests_display",
                    "change_percent", "generated_at")
    ordering = ("-week_start",)
    readonly_fields = ("endpoints_table", "users_table", "busiest_hours_table")
    exclude = ("endpoints", "users", "busiest_hours")
    total_requests_display = count_column("total_requests", "total requests")
    failed_requests_display = count_column("failed_requests", "failed requests")

    @display(description="Endpoints")
    def endpoints_table(self, obj):
        return _table(obj.endpoints, [("Method", "method"), ("Route", "route"),
                                      ("Requests", "requests"), ("Error rate %", "error_rate"),
                                      ("Avg ms", "avg_response_time")])

    @display(description="Users")
    def users_table(self, obj):
        return _table(obj.users, [("User", "username"), ("Requests", "requests"),
                                  ("Active days", "active_days"), ("Error rate %", "error_rate")])

    @display(description="Requests per hour")
    def busiest_hours_table(self, obj):
        rows = [{"hour": f"{hour:02d}:00", "count": count}
                for hour, count in enumerate(obj.busiest_hours)]
        return _table(sorted(rows, key=lambda r: -r["count"])[:6],
                      [("Hour", "hour"), ("Requests", "count")])


METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
STATUS_CLASSES = {"2xx": (200, 300), "3xx": (300, 400), "4xx": (400, 500), "5xx": (500, 600)}


class MethodFilter(admin.SimpleListFilter):
    """Fixed choices: no SELECT DISTINCT over the whole table to build the list."""

    title = "method"
    parameter_name = "method"

    def lookups(self, request, model_admin):
        return [(method, method) for method in METHODS]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        if self.value() != "GET":  # spelled out so SQLite picks the partial index
            queryset = queryset.exclude(method="GET")
        return queryset.filter(method=self.value())


class StatusClassFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status_class"

    def lookups(self, request, model_admin):
        return [(name, name) for name in STATUS_CLASSES]

    def queryset(self, request, queryset):
        bounds = STATUS_CLASSES.get(self.value())
        if not bounds:
            return queryset
        if bounds[0] >= 400:  # spelled out so SQLite picks the partial index
            queryset = queryset.filter(status_code__gte=400)
        return queryset.filter(status_code__gte=bounds[0], status_code__lt=bounds[1])


@admin.register(ApiRequest)
class ApiRequestAdmin(RecordAdminMixin, ModelAdmin):
    list_display = ("timestamp", "method", "route", "status_code", "user_id", "ip",
                    "duration_ms")
    list_filter = (
        ("timestamp", LocalDateTimeRangeFilter),
        MethodFilter,
        StatusClassFilter,
        ("route", FieldTextFilter),
    )
    list_filter_submit = True
    search_fields = ("=route", "=ip", "=user__id")
    ordering = ("-timestamp",)
    paginator = InfinitePaginator
    list_disable_select_all = True  # the paginator never counts: no "Select all N"
    show_full_result_count = False
    list_per_page = 50
    readonly_fields = ("timestamp", "method", "route", "status_code", "user", "ip",
                       "duration_ms")
    fields = readonly_fields

