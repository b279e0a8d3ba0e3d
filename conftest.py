import os

import pytest

pytest_plugins = ["tests.fixtures"]

# Fixtures that start processes: a test using one is slow, marked or not.
PROCESS_FIXTURES = {"celery_worker", "celery_beat", "browser", "page"}
_started_redis = []


def pytest_configure(config):
    """`pytest` on its own: when nothing answers at the test Redis (`make test` makes sure
    something does), start a private one as `make run` would, or stop with one line."""
    if os.environ.get("TEST_RUN_CLAIM") or os.environ.get("PYTEST_XDIST_WORKER"):
        return  # the launcher, or this run's controller, took care of it
    from backoffice.launcher import ensure_redis, redis_answers

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
    if redis_answers(url, timeout=0.5):
        return
    try:
        _started_redis.append(ensure_redis(url))
    except SystemExit as exc:
        pytest.exit(f"{exc} — or run the suite with `make test`", returncode=1)


def pytest_unconfigure(config):
    from backoffice.launcher import stop

    while _started_redis:
        stop(_started_redis.pop())


def pytest_collection_modifyitems(items):
    """Mark as `slow` every test that starts processes (worker, browser, or such a fixture)."""
    for item in items:
        if (item.get_closest_marker("worker") or item.get_closest_marker("browser")
                or PROCESS_FIXTURES & set(getattr(item, "fixturenames", ()))):
            item.add_marker(pytest.mark.slow)
