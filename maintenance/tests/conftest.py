"""Fixtures of the maintenance tests."""

import time

import pytest
from celery import current_app

from backoffice.redis_client import redis_client
from maintenance.actions import QUEUE


@pytest.fixture
def held_maintenance_queue():
    """No worker of this run takes maintenance work during the test (there may be none);
    the test may call the yielded `release()` to let them. What still waits at the end is
    dropped, so no later test's worker runs it against that test's rows."""
    control = current_app.control
    held = [name for reply in control.cancel_consumer(QUEUE, reply=True, timeout=0.5) or []
            for name in reply]
    if held:
        # A blocking pop issued before the cancel may still take one message and park it
        # as unacknowledged until the visibility timeout: let it time out (one second).
        time.sleep(2)

    def release():
        if held:
            control.add_consumer(QUEUE, destination=list(held), reply=True)
            held.clear()

    yield release
    client = redis_client()
    for key in client.keys(f"{QUEUE}*"):
        client.delete(key)
    release()
