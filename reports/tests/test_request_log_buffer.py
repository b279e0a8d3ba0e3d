"""The buffered request log: batches written off the request path, nothing lost silently."""

import logging
import sys
import urllib.request
from datetime import UTC, datetime

import pytest

from reports import request_log
from reports.models import ApiRequest
from reports.request_log import RequestLogBuffer
from tests.processes import ManagedProcess, free_port, subprocess_env, wait_until


def row(n):
    return (datetime.now(UTC).timestamp(), "GET", "/api/public/", 200, None, "127.0.0.1", n / 1000)


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
    with caplog.at_level(logging.ERROR, logger="reports.request_log"):
        assert buffer.flush() == 0
    assert "could not write 3 API request log rows" in caplog.text
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
    with caplog.at_level(logging.ERROR, logger="reports.request_log"):
        buffer.flush()

    assert [r[-1] for r in buffer.rows] == [0.002, 0.003, 0.004]
    assert "dropped the 2 oldest rows" in caplog.text
    buffer.rows.clear()  # nothing left for the exit-time flush


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
    api_requests_write(rows=[(stamp.timestamp(), "POST", "/api/login/", 429, None,
                              "2001:db8::1", 0.0015) for stamp in stamps])

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
def test_timestamps_are_stored_exactly_as_django_stores_them():
    """The writer's own SQLite timestamp text equals Django's for the same instant."""
    import random

    from django.db import connection

    from reports.services import _timestamp_adapter

    rng = random.Random(7)
    stamps = [rng.uniform(0, 4e9) for _ in range(3000)]
    stamps += [1_767_225_600.0, 1_767_225_599.9999996, 1_767_225_600.0000004, 0.5e-6]
    ours = _timestamp_adapter()
    django_adapt = connection.ops.adapt_datetimefield_value
    for stamp in stamps:
        assert ours(stamp) == django_adapt(datetime.fromtimestamp(stamp, UTC)), stamp
