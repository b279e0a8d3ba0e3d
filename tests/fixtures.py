"""Shared pytest fixtures: real Redis, a real worker subprocess, an SMTP sink, Chromium."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connections

from backoffice.celery import app as celery_app
from backoffice.launcher import (
    TEST_RUN_CLAIM_SECONDS,
    redis_server_binary,
    test_run_claim_key,
    test_run_claims,
)
from operations.minute_stats import minute_stats_discard
from reports.request_log import request_log_discard
from tests.broker import drop_waiting_messages
from tests.processes import CeleryBeat, CeleryWorker, PrivateRedis, SmtpSink, free_port

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.fixture(autouse=True)
def _no_buffered_rows_between_tests():
    """This process's buffered request-log rows and task counts belong to the test that
    made them: a test writes them with `request_log_flush()`; what is left is dropped."""
    request_log_discard()
    minute_stats_discard()
    yield
    request_log_discard()
    minute_stats_discard()


@pytest.fixture(scope="session", autouse=True)
def _clean_test_redis():
    """Start every run with an empty test Redis database (the suite owns it).

    A run started without the launcher claims its database as the launcher would, so it
    never flushes, or takes the tasks of, a `make test` run that holds the same one.
    """
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
    claims = test_run_claims(settings.REDIS_URL)
    key = test_run_claim_key(client.connection_pool.connection_kwargs.get("db", 0))
    owner = os.environ.get("TEST_RUN_CLAIM") or f"pytest:{os.getpid()}"
    try:
        if not claims.set(key, owner, nx=True, ex=TEST_RUN_CLAIM_SECONDS) \
                and claims.get(key).decode() != owner:
            pytest.exit(f"Redis database {settings.REDIS_URL} is in use by another test run "
                        f"({claims.get(key).decode()}); run the suite with `make test`, "
                        "which takes a free one")
        client.flushdb()
    except redis.RedisError as exc:
        pytest.exit(f"Redis does not answer at {settings.REDIS_URL}: {exc} (use `make test`)")
    yield
    if owner.startswith("pytest:"):
        claims.delete(key)


@pytest.fixture
def private_redis():
    """A redis-server of the test's own on a free port: empty, and no worker or beat of
    this run knows it."""
    if redis_server_binary() is None:
        pytest.skip("no redis-server binary")
    server = PrivateRedis(free_port()).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def smtp_sink():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def smtp(smtp_sink):
    """The session's SMTP sink, emptied for this test."""
    smtp_sink.clear()
    yield smtp_sink
    smtp_sink.clear()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, smtp_sink):
    """One real worker subprocess for the session, on all queues, mailing into the sink.

    Tests that use it need `django_db(transaction=True)` so the worker sees their rows.
    What earlier tests queued with no worker to take it is dropped first: it would run
    against the rows of whichever test starts the worker.
    """
    drop_waiting_messages(settings.CELERY_QUEUE_NAMES)
    worker = CeleryWorker(extra_env=smtp_sink.env()).start()
    yield worker
    worker.stop()


@pytest.fixture
def celery_beat(django_db_setup):
    beat = CeleryBeat().start()
    yield beat
    beat.stop()


class UnreachableBroker:
    """Redis out of reach for this process: the project's own client (settings.REDIS_URL,
    read per call) and the Celery app's broker both point at a loopback port where nothing
    listens. Worker subprocesses keep the real one. `restore()` brings it back."""

    def __init__(self, settings):
        self._settings = settings
        self._real = (settings.REDIS_URL, celery_app.conf.broker_url)
        self.url = f"redis://127.0.0.1:{free_port()}/0"
        self._point_at(self.url, self.url)

    def _point_at(self, redis_url: str, broker_url: str) -> None:
        self._settings.REDIS_URL = redis_url
        celery_app.conf.broker_url = broker_url
        # The app keeps its connection and producer pools; the next publish takes new ones
        # for the URL now set (kombu keeps one pool per URL, so the real one is reused).
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    def restore(self) -> None:
        self._point_at(*self._real)


@pytest.fixture
def broker_down(settings):
    """The broker is unreachable from this process until the test calls `restore()` or ends.

    A publish raises kombu's OperationalError (connection refused) once Celery's publish
    retry policy has made its few short retries, and the project's own Redis calls raise
    redis' ConnectionError, as in production when Redis is down.
    """
    broker = UnreachableBroker(settings)
    yield broker
    broker.restore()


@pytest.fixture
def browser(monkeypatch):
    """Headless Chromium (Debian's), started per test so Playwright's event loop never
    outlives the test that needs it."""
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls
    # are still synchronous and safe. Unset again when the test ends.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
        # The test ran in Playwright's context, where the ORM opened connections of its
        # own; close them here, still in that context, or they outlive the test.
        connections.close_all()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def log_in(page, live_server, username: str, password: str) -> None:
    """Sign in through the Unfold login form and wait for the dashboard."""
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
