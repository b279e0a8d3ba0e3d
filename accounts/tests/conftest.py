import pytest
from django.conf import settings
from rest_framework.test import APIClient

from backoffice.redis_client import redis_client


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the test Redis; each test starts without any."""
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    client = redis_client()
    for pattern in (f"{prefix}:*throttle_*", f"{prefix}:login:*"):
        for key in client.scan_iter(match=pattern, count=500):
            client.delete(key)
    yield


@pytest.fixture
def api():
    return APIClient()


REGISTRATION = {
    "username": "ada",
    "email": "ada@example.com",
    "password": "correct-Horse-battery-9",
    "first_name": "Ada",
    "last_name": "Lovelace",
}


@pytest.fixture
def registration():
    return dict(REGISTRATION)
