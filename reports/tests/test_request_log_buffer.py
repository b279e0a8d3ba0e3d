"""The buffered request log: batches written off the request path, nothing lost silently."""

import logging
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from reports import request_log
from reports.models import ApiRequest, RequestMinute
from reports.request_log import RequestLogBuffer
from tests.processes import ManagedProcess, free_port, subprocess_env, wait_until

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def row(n):
    """A row as the middleware makes it: n milliseconds long."""
    return (time.time_ns(), "GET", "/api/public/", 200, None, "127.0.0.1", n * 1_000_000)


def unix_ns(stamp: datetime) -> int:
    """Exact (a float's timestamp() is not, to the microsecond, this far from 1970)."""
    return (stamp - EPOCH) // timedelta(microseconds=1) * 1000


@pytest.mark.django_db
def test_rows_wait_in_the_buffer_until_flushed():
    buffer = RequestLogBuffer(interval=3600, max_rows=100)
    for n in range(3):
        buffer.add(row(n))

    assert not ApiRequest.objects.exists()
    assert buffer.flush() == 3
    assert sorted(ApiRequest.objects.values_list("duration_ms", flat=True)) == [0, 1, 2]
    assert buffer.flush() == 0


@pytest.mark.django_db
def test_a_failed_write_is_logged_and_the_rows_kept_for_the_next_flush(monkeypatch, caplog):
    buffer = RequestLogBuffer(interval=3600, max_rows=100)
    for n in range(3):
        buffer.add(row(n))
    real_write = request_log.api_requests_write

    def broken(**kwargs):
        raise RuntimeError("database is down")

    monkeypatch.setattr(request_log, "api_requests_write", broken)
    with caplog.at_level(logging.ERROR, logger="backoffice.buffered_writer"):
        assert buffer.flush() == 0
    assert "api-request-log: could not write 3 rows" in caplog.text
    assert len(buffer.rows) == 3

    monkeypatch.setattr(request_log, "api_requests_write", real_write)
    assert buffer.flush() == 3
    assert ApiRequest.objects.count() == 3


def test_when_the_database_stays_down_the_oldest_rows_are_dropped_loudly(monkeypatch, caplog):
    buffer = RequestLogBuffer(interval=3600, max_rows=3)
    for n in range(5):
        buffer.add(row(n))

    def broken(**kwargs):
        raise RuntimeError("database is down")

    monkeypatch.setattr(request_log, "api_requests_write", broken)
    with caplog.at_level(logging.ERROR, logger="backoffice.buffered_writer"):
        buffer.flush()

    assert [r[-1] for r in buffer.rows] == [2_000_000, 3_000_000, 4_000_000]  # ns
    assert "dropped the 2 oldest rows" in caplog.text
    buffer.rows.clear()  # nothing left for the exit-time flush


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_gunicorn_flushes_the_buffer_when_it_stops():
    port = free_port()
    web = ManagedProcess(f"web-{port}", [
        sys.executable, "-m", "gunicorn", "backoffice.wsgi", "--bind", f"127.0.0.1:{port}",
        "--workers", "2", "--threads", "2",
    ], subprocess_env(API_REQUEST_LOG_FLUSH_SECONDS="3600")).start()

    def get(path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_until(lambda: get("/admin/login/"), 60, "gunicorn")  # not an /api/ path
        for _ in range(20):
            assert get("/api/public/")
        assert not ApiRequest.objects.exists()  # an hour-long interval: all still buffered
    finally:
        web.stop()
    assert ApiRequest.objects.filter(route="/api/public/").count() == 20


@pytest.mark.django_db
def test_written_rows_read_back_exactly():
    from zoneinfo import ZoneInfo

    from reports.services import api_requests_write

    stamps = [datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC),
              datetime(2026, 3, 29, 3, 0, 0, tzinfo=ZoneInfo("Europe/Berlin")),
              datetime(2026, 1, 1, tzinfo=UTC)]
    api_requests_write(rows=[(unix_ns(stamp), "POST", "/api/login/", 429, None,
                              "2001:db8::1", 1_500_000) for stamp in stamps])

    assert sorted(ApiRequest.objects.values_list("timestamp", flat=True)) == sorted(stamps)
    assert ApiRequest.objects.filter(timestamp__gte=stamps[0]).count() == 2
    assert set(ApiRequest.objects.values_list("ip", "status_code", "route", "duration_ms")) == {
        ("2001:db8::1", 429, "/api/login/", 1.5)}


@pytest.mark.django_db
def test_a_flush_writes_what_was_buffered_when_it_began(monkeypatch):
    """Rows that requests add during a write wait for the next flush instead of being
    chased a few at a time (under steady traffic that never ends)."""
    buffer = RequestLogBuffer(interval=3600, max_rows=10_000)
    for n in range(300):  # fewer than a batch: the writer thread stays asleep
        buffer.add(row(n))
    real_write = request_log.api_requests_write

    def write_while_traffic_arrives(*, rows):
        buffer.add(row(-1))  # a request answered during the write
        return real_write(rows=rows)

    monkeypatch.setattr(request_log, "api_requests_write", write_while_traffic_arrives)
    assert buffer.flush() == 300
    assert ApiRequest.objects.count() == 300
    assert len(buffer.rows) == 1  # left for the next flush
    buffer.rows.clear()  # nothing left for the exit-time flush


# The child only reads two attributes and exits: no lock is taken, so fork is safe here.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_starts_with_an_empty_buffer_of_its_own():
    import os

    buffer = RequestLogBuffer(interval=3600, max_rows=100)
    buffer.rows.append(row(1))  # the parent's, not started: nothing to write here
    child = os.fork()
    if child == 0:
        os._exit(0 if not buffer.rows and not buffer._started else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(buffer.rows) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False], ids=["debug-on", "debug-off"])
def test_a_flush_writes_through_djangos_cursor_with_debug_on_and_off(settings, debug):
    """DEBUG on (what `make run` uses) logs every query through Django's debug cursor."""
    from django.db import connection, reset_queries

    settings.DEBUG = debug
    reset_queries()
    buffer = RequestLogBuffer(interval=3600, max_rows=10_000)
    buffer._started = True  # no writer thread: this test flushes by itself
    for n in range(4_500):  # two statements in one transaction: 4,000 + 500 rows
        buffer.add(row(n % 7))

    assert buffer.flush() == 4_500
    assert ApiRequest.objects.count() == 4_500
    inserts = [q for q in connection.queries if q["sql"].startswith("INSERT")]
    # ... and one that adds to the per-minute counters
    assert len(inserts) == (3 if debug else 0)
    assert sum(RequestMinute.objects.values_list("total", flat=True)) == 4_500
    assert not buffer.rows
