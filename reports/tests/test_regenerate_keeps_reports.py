"""Regenerating a report never loses data: a period whose request log no longer holds every
request it counted is kept as it is, with the reason, on every path (admin, task, command,
the Maintenance button's task)."""

import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command

from reports import services, tasks
from reports.models import ApiRequest, DailyReport, WeeklyAnalytics
from reports.periods import day_bounds, monday_of, today
from reports.tests.factories import log

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/reports/dailyreport/"
KEPT = "Regenerating it would lose data"


def cleaned_up_day(offset=40, requests=5):
    """A day whose report counts `requests` and whose log rows the cleanup has deleted."""
    day = today() - dt.timedelta(days=offset)
    for _ in range(requests):
        log(day, status=200)
    report = services.daily_report_generate(day=day)
    ApiRequest.objects.filter(timestamp__range=day_bounds(day)).delete()
    return day, report


def snapshot(report):
    return DailyReport.objects.filter(pk=report.pk).values().get()


@pytest.fixture
def operator(django_user_model):
    user = django_user_model.objects.create_user("op", "op@example.com", "x", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_dailyreport", "regenerate_dailyreport"]))
    return user


def test_the_service_keeps_a_report_whose_log_was_cleaned_up():
    day, report = cleaned_up_day()
    before = snapshot(report)

    with pytest.raises(services.ReportKept, match=KEPT) as refused:
        services.daily_report_generate(day=day)

    assert "counts 5 requests" in str(refused.value) and "holds 0" in str(refused.value)
    assert snapshot(report) == before


def test_a_partly_cleaned_day_is_kept_and_a_grown_one_is_regenerated():
    day, report = cleaned_up_day()
    log(day, status=200)  # one row left of five
    with pytest.raises(services.ReportKept):
        services.daily_report_generate(day=day)

    recent = today() - dt.timedelta(days=2)
    fresh = services.daily_report_generate(day=recent)
    log(recent, status=500)  # a late row: the report grows
    assert services.daily_report_generate(day=recent).total_requests == \
        fresh.total_requests + 1


def test_the_week_is_kept_too():
    day, _ = cleaned_up_day(offset=60)
    monday = monday_of(day)
    log(day, status=200)
    services.weekly_analytics_generate(week_start=monday)
    ApiRequest.objects.all().delete()
    before = WeeklyAnalytics.objects.values().get(week_start=monday)

    with pytest.raises(services.ReportKept):
        services.weekly_analytics_generate(week_start=monday)
    assert WeeklyAnalytics.objects.values().get(week_start=monday) == before


def test_the_admin_refuses_those_days_and_queues_the_others(client, operator, settings):
    settings.DEBUG = True  # as `make run` serves it
    day, report = cleaned_up_day()
    before = snapshot(report)
    client.force_login(operator)

    response = client.post(CHANGELIST, {"action": "regenerate", "_selected_action": [report.pk]},
                           follow=True)

    text = " ".join(m.message for m in response.context["messages"])
    assert f"Kept as they are, not regenerated: the request log no longer holds every " \
           f"request of {day}" in text
    assert "queued" not in text
    assert snapshot(report) == before


def test_the_task_fails_with_the_reason_and_keeps_the_report():
    day, report = cleaned_up_day()
    before = snapshot(report)

    with pytest.raises(services.ReportKept, match=KEPT):
        tasks.generate_daily_report.apply(kwargs={"date": day.isoformat()}).get()
    assert snapshot(report) == before


@pytest.mark.django_db(transaction=True)
def test_through_a_worker_the_report_is_kept(celery_worker):
    from operations.tests.ops_support import wait_for_state

    day, report = cleaned_up_day()
    before = snapshot(report)

    run = wait_for_state(tasks.generate_daily_report.delay(date=day.isoformat()).id,
                         "FAILURE", timeout=60)

    assert "ReportKept" in run.traceback and KEPT in run.traceback
    assert snapshot(report) == before


def test_the_command_keeps_them_says_so_and_backfills_the_rest():
    day, report = cleaned_up_day()
    before = snapshot(report)
    other = day + dt.timedelta(days=1)
    log(other, status=200)
    out, err = StringIO(), StringIO()

    call_command("generate_reports", "--from", day.isoformat(), "--to", other.isoformat(),
                 stdout=out, stderr=err)

    assert KEPT in err.getvalue() and str(day) in err.getvalue()
    assert "generated 1 daily report(s)" in out.getvalue()
    assert snapshot(report) == before
    assert DailyReport.objects.get(date=other).total_requests == 1
