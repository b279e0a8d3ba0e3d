"""Today's figures come from per-minute counters written with the log, so the dashboard
never aggregates the request log however large it grows."""

import datetime as dt
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports import selectors, services
from reports.models import ApiRequest, RequestMinute
from reports.periods import day_bounds, today
from reports.tests.factories import log

pytestmark = pytest.mark.django_db
MINUTE_NS = 60_000_000_000


def row(at_ns, status=200, ms=10):
    return (at_ns, "GET", "/api/public/", status, None, "10.0.0.1", ms * 1_000_000)


def test_each_write_adds_to_its_minutes_counters():
    base = (time.time_ns() // MINUTE_NS) * MINUTE_NS  # the start of this minute
    services.api_requests_write(rows=[row(base + 1), row(base + 2, 500, 30)])
    services.api_requests_write(rows=[row(base + 3, 404, 20), row(base + MINUTE_NS, 200, 40)])

    minutes = list(RequestMinute.objects.order_by("minute").values_list(
        "total", "failed", "duration_ms_sum"))
    assert minutes == [(3, 2, 60.0), (1, 0, 40.0)]
    assert ApiRequest.objects.count() == 4
    assert selectors.today_so_far(*day_bounds(today())) == {"total": 4, "failed": 2,
                                                             "avg_ms": 25.0}


def test_the_dashboard_reads_no_log_row(admin_client):
    services.api_requests_write(rows=[row(time.time_ns())])
    log(today(), status=500)  # a row written around the log writer: not counted

    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get("/admin/")

    assert response.context["traffic"]["today"]["total"] == 1
    log_table = ApiRequest._meta.db_table
    assert not [q["sql"] for q in queries if log_table in q["sql"]]


def test_counters_are_rebuilt_from_the_log_for_rows_written_around_it():
    day = today() - dt.timedelta(days=1)
    for minute, status in ((1, 200), (1, 500), (2, 200)):
        log(day, hour=3, minute=minute, status=status, ms=10.0)
    start, end = day_bounds(day)

    assert services.request_minutes_rebuild(start=start, end=end) == 2
    assert services.request_minutes_rebuild(start=start, end=end) == 2  # again: the same

    assert selectors.today_so_far(start, end) == {"total": 3, "failed": 1, "avg_ms": 10.0}
