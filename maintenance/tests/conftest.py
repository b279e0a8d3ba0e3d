"""Fixtures of the maintenance tests."""

import pytest
from celery import current_app

from backoffice.redis_client import redis_client
from maintenance.actions import QUEUE


def end_pending_pops() -> None:
    """End, as if their timeout had passed, the blocking pops the workers of this run are
    waiting in: one issued before a worker stopped consuming `QUEUE` would still take the
    next maintenance message; the pop the worker issues next leaves `QUEUE` out."""
    client = redis_client()
    database = client.connection_pool.connection_kwargs.get("db", 0)
    for entry in client.client_list():
        if (int(entry["db"]) == database and "b" in entry["flags"]
                and entry["cmd"] == "brpop"):
            client.client_unblock(entry["id"])


@pytest.fixture
def held_maintenance_queue():
    """No worker of this run takes maintenance work during the test (there may be none);
    the test may call the yielded `release()` to let them. What still waits at the end is
    dropped, so no later test's worker runs it against that test's rows."""
    control = current_app.control
    held = [name for reply in control.cancel_consumer(QUEUE, reply=True, timeout=0.5) or []
            for name in reply]
    if held:
        end_pending_pops()

    def release():
        if held:
            control.add_consumer(QUEUE, destination=list(held), reply=True)
            held.clear()

    yield release
    client = redis_client()
    for key in client.keys(f"{QUEUE}*"):
        client.delete(key)
    release()
