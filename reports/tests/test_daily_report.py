"""Daily reports: exact figures from known traffic, the task's documented result, upsert,
empty days, bad dates."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from reports import services
from reports.models import DailyReport
from reports.tasks import generate_daily_report
from reports.tests.factories import DAY, known_day, log

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


def documented_day():
    """The README's example: 100 requests, 91 successful, 87 ms on average."""
    plan = (  # (count, method, route, status)
        (40, "GET", "/api/protected/", 200), (5, "GET", "/api/protected/", 401),
        (38, "GET", "/api/public/", 200),
        (10, "GET", "/api/profile/", 200), (4, "PATCH", "/api/profile/", 404),
        (3, "POST", "/api/login/", 200),
    )
    ms = 37.5  # 37.5, 38.5, … 136.5: mean 87
    for count, method, route, status in plan:
        for _ in range(count):
            log(DAY, method=method, route=route, status=status, ms=ms)
            ms += 1


def test_task_returns_the_documented_shape_and_formats():
    documented_day()

    result = generate_daily_report.apply(kwargs={"date": DAY.isoformat()}).get()

    report = DailyReport.objects.get(date=DAY)
    assert result == {
        "date": "2026-03-10",
        "total_requests": 100,
        "successful_requests": 91,
        "failed_requests": 9,
        "success_rate": "91.0%",
        "success_rate_pct": 91.0,
        "unique_users": 0,
        "unique_ips": 1,
        "avg_response_time": "0.087s",
        "avg_response_ms": 87.0,
        "p95_response_time": 131.5,  # nearest rank: the 95th of 100 values
        "p95_response_ms": 131.5,
        "top_endpoints": {"/api/protected/": 45, "/api/public/": 38, "/api/profile/": 14,
                          "/api/login/": 3},
        "report_id": report.pk,
    }
    # Busiest first; the two methods of /api/profile/ count as one route.
    assert list(result["top_endpoints"]) == ["/api/protected/", "/api/public/",
                                             "/api/profile/", "/api/login/"]
    # The stored row keeps its numbers (milliseconds, percent, one entry per method).
    assert (report.success_rate, report.avg_response_time) == (91.0, 87.0)
    assert [(e["method"], e["count"]) for e in report.top_endpoints][2:4] == [
        ("GET", 10), ("PATCH", 4)]


@pytest.mark.parametrize("successful, total, ms, rate, seconds", [
    (2, 3, 10.5, "66.7%", "0.011s"),  # halves round up, as people read them
    (1, 16, 0.4, "6.3%", "0.000s"),
    (3, 3, 1234.56, "100.0%", "1.235s"),
])
def test_formats_round_half_up(successful, total, ms, rate, seconds):
    report = DailyReport.objects.create(
        date=DAY, total_requests=total, successful_requests=successful,
        failed_requests=total - successful, success_rate=round(100 * successful / total, 2),
        avg_response_time=ms, generated_at=timezone.now())

    result = services.daily_report_as_result(report)

    assert (result["success_rate"], result["avg_response_time"]) == (rate, seconds)
    assert result["avg_response_ms"] == ms


def test_task_on_a_day_without_traffic_gives_zero_formats():
    result = generate_daily_report.apply(kwargs={"date": "2026-01-01"}).get()

    assert result["total_requests"] == 0
    assert (result["success_rate"], result["success_rate_pct"]) == ("0.0%", 0.0)
    assert (result["avg_response_time"], result["avg_response_ms"]) == ("0.000s", 0.0)
    assert result["p95_response_ms"] == 0.0 and result["top_endpoints"] == {}


@pytest.mark.parametrize("bad", ["2026-02-30", "yesterday", "10/03/2026", "2026-03-10T00:00"])
def test_invalid_date_gives_a_clear_error_and_no_row(bad):
    from backoffice.task_arguments import TaskArgumentsError

    with pytest.raises(TaskArgumentsError, match=f"date: invalid date '{bad}'"):
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
