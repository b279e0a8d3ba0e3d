"""Fixtures of the operations console tests: a queue and a worker of the test's own."""

import pytest

from backoffice.redis_client import redis_client
from operations import selectors
from operations.registry import PAUSED_KEY, RESUMED_KEY, worker_records
from operations.tests.ops_support import TEST_QUEUE
from tests.processes import CeleryWorker, wait_until


@pytest.fixture
def ops_queue(settings):
    settings.CELERY_QUEUE_NAMES = (*settings.CELERY_QUEUE_NAMES, TEST_QUEUE)
    client = redis_client()
    client.delete(*selectors.queue_keys(TEST_QUEUE))
    client.hdel(PAUSED_KEY, TEST_QUEUE)
    client.hdel(RESUMED_KEY, TEST_QUEUE)
    yield TEST_QUEUE
    client.delete(*selectors.queue_keys(TEST_QUEUE))
    client.hdel(PAUSED_KEY, TEST_QUEUE)
    client.hdel(RESUMED_KEY, TEST_QUEUE)


@pytest.fixture
def queue_worker(ops_queue, django_db_setup):
    worker = CeleryWorker(queues=(ops_queue,), concurrency=1).start()
    wait_until(lambda: any(w["hostname"] == worker.hostname and ops_queue in w["queues"]
                         for w in worker_records()), what="the worker's registry record")
    yield worker
    worker.stop()


def _own_worker(queue: str, *extra_args: str, concurrency: int = 2) -> CeleryWorker:
    worker = CeleryWorker(queues=(queue,), concurrency=concurrency)
    worker.argv.extend(extra_args)
    worker.start()
    wait_until(lambda: any(w["hostname"] == worker.hostname and w["online"]
                           for w in worker_records()), what="the worker's registry record")
    return worker


@pytest.fixture
def control_worker(ops_queue, django_db_setup):
    """A worker of the test's own (own hostname, only the test queue) that controls may
    shrink, restart or shut down; the session's worker is never touched."""
    worker = _own_worker(ops_queue)
    yield worker
    worker.stop()


@pytest.fixture
def autoscale_worker(ops_queue, django_db_setup):
    worker = _own_worker(ops_queue, "--autoscale", "3,1")
    yield worker
    worker.stop()
