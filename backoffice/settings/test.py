"""Tests: real Redis (its own database number), real SQLite file or PostgreSQL."""

import os

from backoffice.settings.base import *  # noqa: F403
from backoffice.settings.base import DATABASES, REST_FRAMEWORK, VAR_DIR
from backoffice.settings.broker import redis_settings
from backoffice.settings.config import env, redis_url


def _test_database_name(engine: str) -> str | None:
    """The test database's name: TEST_DATABASE_NAME, and on SQLite always a file under var/
    (the worker is a real subprocess, so it must be a file it can open)."""
    name = env.str("TEST_DATABASE_NAME", default="")
    if engine != "django.db.backends.sqlite3":
        return name or None
    if not name:
        return str(VAR_DIR / "test-db.sqlite3")
    return name if "/" in name else str(VAR_DIR / f"{name}.sqlite3")


def _test_redis_url() -> str:
    """This process's Redis database: under pytest-xdist each worker (gw0, gw1, ...) takes
    its own from TEST_REDIS_URLS, which `make test` claims; otherwise TEST_REDIS_URL."""
    urls = env.list("TEST_REDIS_URLS", default=[])
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if urls and worker.startswith("gw"):
        return urls[int(worker[2:]) % len(urls)]
    return redis_url("TEST_REDIS_URL", default="redis://127.0.0.1:6379/9")


DEBUG = False
DIAGNOSTIC_TASKS = True  # the suite exercises failure, retry and long-task paths with them
ENVIRONMENT_NAME = "test"
# A Redis database of its own so a test run never eats a running dev stack's queues.
REDIS_URL = _test_redis_url()
CELERY_BROKER_URL, CACHES = redis_settings(REDIS_URL, key_prefix="backoffice-test")
# Backups made by workers of this run, apart from those of another run or pytest worker.
BACKUP_DIR = env.path("BACKUP_DIR", default=str(
    VAR_DIR / "test-backups" / REDIS_URL.rstrip("/").rsplit("/", 1)[-1]))

# TEST_DATABASE_NAME lets two checkouts run their suites side by side on one server.
if _test_name := _test_database_name(DATABASES["default"]["ENGINE"]):
    DATABASES = {"default": {**DATABASES["default"], "TEST": {"NAME": _test_name}}}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")

# Transactional email retries: short waits so retry tests finish quickly.
EMAIL_RETRY_MAX_ATTEMPTS = env.int("EMAIL_RETRY_MAX_ATTEMPTS", default=4)
EMAIL_RETRY_BACKOFF_SECONDS = env.float("EMAIL_RETRY_BACKOFF_SECONDS", default=0.2)
EMAIL_RETRY_BACKOFF_MAX_SECONDS = env.float("EMAIL_RETRY_BACKOFF_MAX_SECONDS", default=1.0)
# Buffered as in production. The test process's request log never writes on its own during
# a test (its thread would write from outside the test's transaction): a test that reads
# the rows writes them with reports.request_log.request_log_flush().
API_REQUEST_LOG_FLUSH_SECONDS = env.float("API_REQUEST_LOG_FLUSH_SECONDS", default=3600)
# Workers fold their finished runs into the per-minute counters quickly, so a test sees them.
TASK_STATS_FLUSH_SECONDS = env.float("TASK_STATS_FLUSH_SECONDS", default=0.05)
# Browser journeys log in through the login page many times a minute from one address and
# as one user; the throttling tests set their own rates.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "login": env.str("THROTTLE_LOGIN", default="1000/minute"),
        "login_username": env.str("THROTTLE_LOGIN_USERNAME", default="1000/minute"),
        "login_failures": env.str("THROTTLE_LOGIN_FAILURES", default="1000/minute"),
    },
}
