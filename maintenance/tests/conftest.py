"""Fixtures of the maintenance tests."""

import pytest
from celery import current_app

from maintenance.actions import QUEUE
from tests.broker import drop_waiting_messages, end_waiting_pops


@pytest.fixture
def held_maintenance_queue():
    """No worker of this run takes maintenance work during the test (there may be none);
    the test may call the yielded `release()` to let them. What still waits at the end is
    dropped, so no later test's worker runs it against that test's rows."""
    control = current_app.control
    held = [name for reply in control.cancel_consumer(QUEUE, reply=True, timeout=0.5) or []
            for name in reply]
    if held:
        end_waiting_pops()

    def release():
        if held:
            control.add_consumer(QUEUE, destination=list(held), reply=True)
            held.clear()

    yield release
    drop_waiting_messages([QUEUE])
    release()
