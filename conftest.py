import pytest

pytest_plugins = ["tests.fixtures"]

# Fixtures that start processes: a test using one is slow, marked or not.
PROCESS_FIXTURES = {"celery_worker", "celery_beat", "browser", "page"}


def pytest_collection_modifyitems(items):
    """Mark as `slow` every test that starts processes (worker, browser, or such a fixture)."""
    for item in items:
        if (item.get_closest_marker("worker") or item.get_closest_marker("browser")
                or PROCESS_FIXTURES & set(getattr(item, "fixturenames", ()))):
            item.add_marker(pytest.mark.slow)
