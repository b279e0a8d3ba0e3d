"""Weekly analytics: per-endpoint, per-user, per-hour figures and week-over-week change."""

import datetime as dt

import pytest

from reports import services
from reports.periods import InvalidPeriod
from reports.tasks import process_api_analytics
from reports.tests.factories import log

pytestmark = pytest.mark.django_db
MONDAY = dt.date(2026, 3, 9)


def test_week_figures(django_user_model):
    alice = django_user_model.objects.create_user("alice", "a@example.com", "x")
    # Previous week: 4 requests.
    for _ in range(4):
        log(MONDAY - dt.timedelta(days=3))
    # This week: alice on Monday and Wednesday; failures on login; a busy 14:00.
    log(MONDAY, hour=14, user=alice, route="/api/profile/")
    log(MONDAY, hour=14, user=alice, route="/api/profile/", status=500, ms=30)
    log(MONDAY + dt.timedelta(days=2), hour=9, user=alice, route="/api/profile/")
    log(MONDAY + dt.timedelta(days=6), hour=14, method="POST", route="/api/login/", status=401)
    log(MONDAY + dt.timedelta(days=6), hour=14, method="POST", route="/api/login/")
    log(MONDAY + dt.timedelta(days=7), hour=1)  # next week: excluded

    week = services.weekly_analytics_generate(week_start=MONDAY)

    assert week.total_requests == 5 and week.failed_requests == 2
    assert week.previous_total_requests == 4 and week.change_percent == 25.0
    assert week.endpoints[0] == {"method": "GET", "route": "/api/profile/", "requests": 3,
                                 "failed": 1, "avg_response_time": 16.67, "error_rate": 33.33}
    assert week.endpoints[1]["route"] == "/api/login/" and week.endpoints[1]["error_rate"] == 50
    assert week.users == [{"user_id": alice.pk, "username": "alice", "requests": 3, "failed": 1,
                           "active_days": 2, "error_rate": 33.33}]
    assert len(week.busiest_hours) == 24
    assert week.busiest_hours[14] == 4 and week.busiest_hours[9] == 1


def test_week_must_start_on_monday():
    with pytest.raises(InvalidPeriod, match="Monday"):
        process_api_analytics.apply(kwargs={"week_start": "2026-03-10"}, throw=True)


def test_empty_week_has_no_change_percent():
    week = services.weekly_analytics_generate(week_start=MONDAY)
    assert week.total_requests == 0 and week.change_percent is None
    assert week.busiest_hours == [0] * 24
