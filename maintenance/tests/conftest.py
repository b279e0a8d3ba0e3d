"""Fixtures of the maintenance tests."""

import pytest
from celery import current_app
from django.conf import settings

from backoffice.redis_client import redis_client
from maintenance.actions import QUEUE
from tests.processes import wait_until


def drain_pending_pops(workers: list[str]) -> None:
    """Return once no blocking pop a worker issued before it stopped consuming `QUEUE` is
    still waiting (such a pop would take the next maintenance message it sees).

    One probe per worker on the default queue, which every worker here also consumes: a
    waiting pop takes one and returns, and every pop after it leaves `QUEUE` out.
    """
    client = redis_client()
    probe_queue = settings.CELERY_TASK_DEFAULT_QUEUE
    for _ in workers:
        current_app.send_task("maintenance.tasks.noop", queue=probe_queue)
    wait_until(lambda: client.llen(probe_queue) == 0, 30,
               f"the workers' pending pops to take the probes on {probe_queue}", interval=0.02)


@pytest.fixture
def held_maintenance_queue():
    """No worker of this run takes maintenance work during the test (there may be none);
    the test may call the yielded `release()` to let them. What still waits at the end is
    dropped, so no later test's worker runs it against that test's rows."""
    control = current_app.control
    held = [name for reply in control.cancel_consumer(QUEUE, reply=True, timeout=0.5) or []
            for name in reply]
    if held:
        drain_pending_pops(held)

    def release():
        if held:
            control.add_consumer(QUEUE, destination=list(held), reply=True)
            held.clear()

    yield release
    client = redis_client()
    for key in client.keys(f"{QUEUE}*"):
        client.delete(key)
    release()
