"""seed_demo creates traffic with a realistic shape, and reports for it."""

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Avg, Count, Q

from reports.models import ApiRequest, DailyReport, WeeklyAnalytics

pytestmark = pytest.mark.django_db


def test_seed_demo_has_weekly_shape_errors_and_slow_endpoints(capsys):
    call_command("seed_demo", "--days", "28", "--per-day", "400")

    assert DailyReport.objects.count() == 28
    assert WeeklyAnalytics.objects.count() >= 4
    by_weekday = {}
    for report in DailyReport.objects.all():
        by_weekday.setdefault(report.date.weekday() >= 5, []).append(report.total_requests)
    weekday_mean = sum(by_weekday[False]) / len(by_weekday[False])
    weekend_mean = sum(by_weekday[True]) / len(by_weekday[True])
    assert weekend_mean < 0.7 * weekday_mean
    stats = ApiRequest.objects.aggregate(failed=Count("id", filter=Q(status_code__gte=400)),
                                         total=Count("id"))
    assert 0.01 < stats["failed"] / stats["total"] < 0.2
    latency = dict(ApiRequest.objects.values_list("route").annotate(Avg("duration_ms")))
    assert latency["/api/register/"] > 5 * latency["/api/public/"]
    assert "created" in capsys.readouterr().out


def test_seed_demo_if_empty_adds_nothing_twice():
    call_command("seed_demo", "--days", "2", "--per-day", "50")
    count = ApiRequest.objects.count()

    call_command("seed_demo", "--days", "2", "--per-day", "50", "--if-empty")

    assert ApiRequest.objects.count() == count


def test_seed_demo_rejects_nonsense():
    with pytest.raises(CommandError):
        call_command("seed_demo", "--days", "0")
    assert not ApiRequest.objects.exists()
