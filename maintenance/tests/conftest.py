"""Fixtures of the operations console tests: a queue and a worker of the test's own."""

import time

import pytest
from celery import current_app

from maintenance.actions import QUEUE
from maintenance.broker import redis_client
from maintenance.ops import selectors
from maintenance.ops.registry import PAUSED_KEY, worker_records
from maintenance.tests.ops_support import TEST_QUEUE
from tests.processes import CeleryWorker, wait_until


@pytest.fixture
def ops_queue(settings):
    settings.CELERY_QUEUE_NAMES = (*settings.CELERY_QUEUE_NAMES, TEST_QUEUE)
    client = redis_client()
    client.delete(*selectors.queue_keys(TEST_QUEUE))
    client.hdel(PAUSED_KEY, TEST_QUEUE)
    yield TEST_QUEUE
    client.delete(*selectors.queue_keys(TEST_QUEUE))
    client.hdel(PAUSED_KEY, TEST_QUEUE)


@pytest.fixture
def queue_worker(ops_queue, django_db_setup):
    worker = CeleryWorker(queues=(ops_queue,), concurrency=1).start()
    wait_until(lambda: any(w["hostname"] == worker.hostname and ops_queue in w["queues"]
                         for w in worker_records()), what="the worker's registry record")
    yield worker
    worker.stop()


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
