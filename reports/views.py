"""The charts page: report rows drawn with Unfold's chart components."""

from django.views.generic import TemplateView
from unfold.views import UnfoldModelAdminViewMixin

from reports import charts, selectors
from reports.forms import RANGE_CHOICES, ChartRangeForm
from reports.periods import today


class ReportChartsView(UnfoldModelAdminViewMixin, TemplateView):
    """Requests, success rate, latency, users and top endpoints over a chosen range.

    Reads only DailyReport rows, so it stays fast however large the request log grows.
    """

    title = "Report charts"
    permission_required = ("reports.view_dailyreport",)
    template_name = "reports/charts.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = ChartRangeForm(self.request.GET or None)
        start, end, chosen = form.period(last_day=today())
        series = selectors.daily_report_series(start, end)
        reported = [row for row in series if row["id"]]
        total = sum(row["total_requests"] for row in reported)
        successful = sum(row["successful_requests"] for row in reported)
        context.update(
            form=form,
            start=start,
            end=end,
            chosen=chosen,
            presets=RANGE_CHOICES,
            charts=charts.daily_charts(series),
            day_links=charts.report_links(series),
            top_endpoints=charts.top_endpoints_chart(
                selectors.top_endpoints_between(start, end)
            ),
            summary={
                "days_reported": len(reported),
                "days": len(series),
                "total": total,
                "success_rate": round(100.0 * successful / total, 2) if total else None,
            },
        )
        return context
