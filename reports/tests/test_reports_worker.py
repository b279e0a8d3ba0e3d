"""Report tasks through Redis and a real worker."""

import pytest
from django_celery_results.models import TaskResult

from reports.models import DailyReport, WeeklyAnalytics
from reports.tasks import generate_daily_report, process_api_analytics
from reports.tests.factories import DAY, log

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_generate_daily_report_runs_on_the_reports_queue(celery_worker):
    log(DAY, route="/api/public/", ms=20.0)
    log(DAY, route="/api/public/", ms=30.0)
    log(DAY, route="/api/protected/", status=500, ms=100.0)

    result = generate_daily_report.delay(date=DAY.isoformat())
    summary = result.get(timeout=60)

    assert summary["total_requests"] == 3 and summary["failed_requests"] == 1
    assert (summary["success_rate"], summary["success_rate_pct"]) == ("66.7%", 66.67)
    assert (summary["avg_response_time"], summary["avg_response_ms"]) == ("0.050s", 50.0)
    # Busiest first, through the broker and the result backend (not alphabetical).
    assert list(summary["top_endpoints"].items()) == [("/api/public/", 2),
                                                      ("/api/protected/", 1)]
    report = DailyReport.objects.get(date=DAY)
    assert report.task_id == result.id and report.generated_by == "task"
    assert TaskResult.objects.get(task_id=result.id).status == "SUCCESS"


def test_default_date_is_yesterday(celery_worker):
    from reports.periods import yesterday

    assert generate_daily_report.delay().get(timeout=60)["date"] == yesterday().isoformat()
    assert DailyReport.objects.filter(date=yesterday()).exists()


def test_weekly_analytics_through_worker(celery_worker):
    result = process_api_analytics.delay(week_start="2026-03-09").get(timeout=60)

    assert result["week_start"] == "2026-03-09"
    assert WeeklyAnalytics.objects.filter(week_start="2026-03-09").exists()


def test_invalid_date_fails_the_task_with_a_clear_message(celery_worker):
    result = generate_daily_report.delay(date="2026-02-30")

    with pytest.raises(Exception, match="invalid date '2026-02-30'"):
        result.get(timeout=60)
    assert TaskResult.objects.get(task_id=result.id).status == "FAILURE"
    assert not DailyReport.objects.exists()
