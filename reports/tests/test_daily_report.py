"""Daily reports: exact figures from known traffic, upsert, empty days, bad dates."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command

from reports import services
from reports.models import DailyReport
from reports.periods import InvalidPeriod
from reports.tasks import generate_daily_report
from reports.tests.factories import DAY, known_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(django_user_model):
    return (django_user_model.objects.create_user("alice", "a@example.com", "x"),
            django_user_model.objects.create_user("bob", "b@example.com", "x"))


def test_known_traffic_gives_exact_figures(users):
    known_day(users)

    report = services.daily_report_generate(day=DAY, generated_by="test")

    assert report.total_requests == 20
    assert report.successful_requests == 17  # 2xx and 3xx
    assert report.failed_requests == 3
    assert report.success_rate == 85.0
    assert report.unique_users == 2
    assert report.unique_ips == 5
    assert report.avg_response_time == 10.5  # mean of 1..20
    assert report.p95_response_time == 19.0  # nearest rank: ceil(0.95 * 20) = 19th value
    assert report.status_codes == {"200": 15, "302": 2, "401": 1, "404": 1, "500": 1}
    assert [(e["method"], e["route"], e["count"]) for e in report.top_endpoints] == [
        ("GET", "/api/public/", 10),
        ("GET", "/api/profile/", 5),
        ("POST", "/api/login/", 3),
        ("PATCH", "/api/profile/", 1),
        ("GET", "/api/protected/", 1),
    ]
    assert report.top_endpoints[2]["failed"] == 1
    assert report.top_endpoints[0]["avg_response_time"] == 5.5  # durations 1..10
    alice, bob = users
    assert report.top_users == [
        {"user_id": alice.pk, "username": "alice", "count": 6},
        {"user_id": bob.pk, "username": "bob", "count": 3},
    ]


def test_p95_of_a_hundred_values_is_the_95th():
    from reports.tests.factories import log

    for ms in range(100, 0, -1):
        log(DAY, ms=float(ms))

    assert services.daily_report_generate(day=DAY).p95_response_time == 95.0


def test_running_twice_gives_the_same_single_row(users):
    known_day(users)

    first = services.daily_report_generate(day=DAY)
    second = services.daily_report_generate(day=DAY)

    assert DailyReport.objects.filter(date=DAY).count() == 1
    assert first.pk == second.pk
    assert second.total_requests == 20


def test_day_without_traffic_gives_a_zero_row():
    report = services.daily_report_generate(day=dt.date(2026, 1, 1))

    assert report.total_requests == 0
    assert report.success_rate == 0.0 and report.p95_response_time == 0.0
    assert report.top_endpoints == [] and report.status_codes == {}


def test_task_body_returns_the_seed_shape(users):
    known_day(users)

    result = generate_daily_report.apply(kwargs={"date": DAY.isoformat()}).get()

    assert set(result) >= {"date", "total_requests", "successful_requests", "failed_requests",
                           "success_rate", "unique_users", "unique_ips", "avg_response_time",
                           "top_endpoints"}
    assert result["date"] == "2026-03-10" and result["total_requests"] == 20


@pytest.mark.parametrize("bad", ["2026-02-30", "yesterday", "10/03/2026", "2026-03-10T00:00"])
def test_invalid_date_gives_a_clear_error_and_no_row(bad):
    with pytest.raises(InvalidPeriod, match="invalid date"):
        generate_daily_report.apply(kwargs={"date": bad}, throw=True)
    assert not DailyReport.objects.exists()


def test_backfill_command_generates_each_day(users):
    known_day(users)

    call_command("generate_reports", "--from", "2026-03-09", "--to", "2026-03-11")

    assert list(DailyReport.objects.order_by("date").values_list("date", "total_requests")) == [
        (dt.date(2026, 3, 9), 1), (dt.date(2026, 3, 10), 20), (dt.date(2026, 3, 11), 1)]


@pytest.mark.parametrize("args, message", [
    (["--from", "2026-03-12", "--to", "2026-03-10"], "before"),
    (["--from", "not-a-date"], "invalid date"),
])
def test_backfill_command_rejects_bad_ranges(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("generate_reports", *args)
    assert not DailyReport.objects.exists()
