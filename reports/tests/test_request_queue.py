"""The request log's Redis hand-off: queued by web processes, written once by the worker."""

import json
import logging
import time

import pytest
import redis

from reports import request_queue
from reports.models import ApiRequest, ApiRequestBatch
from reports.request_queue import (
    DEAD_KEY,
    DRAIN_LOCK_KEY,
    QUEUE_KEY,
    api_request_queue_drain,
    api_requests_hand_off,
    queue_client,
    queued_batches,
)
from tests.processes import free_port


def rows(count, route="/api/public/"):
    now = time.time_ns()
    return [(now + n * 1000, "GET", route, 200, None, "127.0.0.1", 1_000_000 + n)
            for n in range(count)]


@pytest.fixture
def queue(settings):
    settings.API_REQUEST_LOG_QUEUE = True
    client = queue_client()
    client.delete(QUEUE_KEY, DEAD_KEY, DRAIN_LOCK_KEY)
    yield client
    client.delete(QUEUE_KEY, DEAD_KEY, DRAIN_LOCK_KEY)


@pytest.mark.django_db
def test_a_batch_waits_in_redis_until_drained(queue):
    assert api_requests_hand_off(rows=rows(3)) == 3

    assert not ApiRequest.objects.exists()
    assert queued_batches() == 1
    assert api_request_queue_drain() == 3
    assert queued_batches() == 0
    assert sorted(ApiRequest.objects.values_list("duration_ms", flat=True)) == [1.0, 1.0, 1.0]
    assert ApiRequestBatch.objects.get().rows == 3


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_workers_task_writes_what_web_processes_queued(queue, celery_worker):
    from reports.tasks import drain_api_request_log

    api_requests_hand_off(rows=rows(500))
    api_requests_hand_off(rows=rows(2, route="/api/login/"))

    assert drain_api_request_log.delay().get(timeout=60) == {"rows_written": 502}
    assert ApiRequest.objects.count() == 502
    assert ApiRequest.objects.filter(route="/api/login/").count() == 2
    assert queued_batches() == 0


@pytest.mark.django_db
def test_a_batch_seen_again_after_a_drain_died_is_written_once(queue):
    api_requests_hand_off(rows=rows(4))
    batch_id, batch = json.loads(queue.lindex(QUEUE_KEY, 0))
    request_queue._batch_write(batch_id, batch)  # committed; then the drain died

    assert api_request_queue_drain() == 0
    assert ApiRequest.objects.count() == 4
    assert queued_batches() == 0


@pytest.mark.django_db
def test_batch_ids_older_than_a_day_are_forgotten(queue):
    from datetime import timedelta

    from django.utils import timezone

    old = ApiRequestBatch.objects.create(batch_id="a" * 32, rows=1,
                                         written_at=timezone.now() - timedelta(days=2))
    recent = ApiRequestBatch.objects.create(batch_id="b" * 32, rows=1,
                                            written_at=timezone.now() - timedelta(hours=1))
    api_requests_hand_off(rows=rows(1))
    assert api_request_queue_drain() == 1
    assert set(ApiRequestBatch.objects.values_list("pk", flat=True)) >= {recent.pk}
    assert not ApiRequestBatch.objects.filter(pk=old.pk).exists()
    assert ApiRequestBatch.objects.count() == 2  # the recent one and this drain's


@pytest.mark.django_db
def test_a_database_error_leaves_the_batch_queued(queue, monkeypatch):
    api_requests_hand_off(rows=rows(2))

    def broken(**kwargs):
        raise RuntimeError("database is down")

    monkeypatch.setattr(request_queue, "api_requests_write", broken)
    with pytest.raises(RuntimeError):
        api_request_queue_drain()
    assert queued_batches() == 1
    assert not ApiRequestBatch.objects.exists()  # rolled back with the rows
    assert not queue.exists(DRAIN_LOCK_KEY)  # the next drain may run

    monkeypatch.undo()
    assert api_request_queue_drain() == 2


@pytest.mark.django_db
def test_an_unreadable_batch_is_moved_aside_and_the_rest_written(queue, caplog):
    wrong_shape = json.dumps(["f" * 32, [[1, "GET"]]]).encode()
    queue.rpush(QUEUE_KEY, b"not json", wrong_shape)
    api_requests_hand_off(rows=rows(2))

    with caplog.at_level(logging.ERROR, logger="reports.request_queue"):
        assert api_request_queue_drain() == 2
    assert queue.lrange(DEAD_KEY, 0, -1) == [b"not json", wrong_shape]
    assert ApiRequest.objects.count() == 2 and ApiRequestBatch.objects.count() == 1
    assert "unreadable API request log batch" in caplog.text
    assert queued_batches() == 0


@pytest.mark.django_db
def test_one_drain_at_a_time(queue):
    api_requests_hand_off(rows=rows(2))
    other = queue.lock(DRAIN_LOCK_KEY, timeout=30)
    assert other.acquire(blocking=False)
    try:
        assert api_request_queue_drain() == 0
        assert queued_batches() == 1
    finally:
        other.release()
    assert api_request_queue_drain() == 2


@pytest.mark.django_db
def test_with_redis_down_the_web_process_writes_the_batch_itself(queue, settings, caplog):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="reports.request_queue"):
        assert api_requests_hand_off(rows=rows(3)) == 3
    assert ApiRequest.objects.count() == 3
    assert "Redis did not take 3 API request log rows" in caplog.text
    assert ApiRequestBatch.objects.get().rows == 3  # a later drain would not write it again


@pytest.mark.django_db
def test_a_batch_redis_took_after_all_is_not_written_twice(queue, monkeypatch):
    """The push timed out after Redis had applied it: written here, then seen by the drain."""
    real_client = queue_client()

    class ReplyLost:
        def rpush(self, key, value):
            real_client.rpush(key, value)
            raise redis.TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(request_queue, "queue_client", ReplyLost)
    assert api_requests_hand_off(rows=rows(3)) == 3
    monkeypatch.undo()
    assert queued_batches() == 1
    assert api_request_queue_drain() == 0
    assert ApiRequest.objects.count() == 3 and queued_batches() == 0


@pytest.mark.django_db
def test_with_the_queue_off_the_web_process_writes_the_batch(queue, settings):
    settings.API_REQUEST_LOG_QUEUE = False
    assert api_requests_hand_off(rows=rows(2)) == 2
    assert ApiRequest.objects.count() == 2
    assert queued_batches() == 0


@pytest.mark.django_db
def test_the_drain_command_writes_everything_queued(queue):
    from io import StringIO

    from django.core.management import call_command

    for _ in range(3):
        api_requests_hand_off(rows=rows(5))
    out = StringIO()
    call_command("drain_request_log", stdout=out)
    assert "15 rows written; 0 batches left" in out.getvalue()
    assert ApiRequest.objects.count() == 15


@pytest.mark.django_db
def test_migrate_ensures_the_periodic_drain():
    from django_celery_beat.models import PeriodicTask

    from reports.schedules import DRAIN_TASK, DRAIN_TASK_NAME

    task = PeriodicTask.objects.get(name=DRAIN_TASK_NAME)  # created by the test database's migrate
    assert task.task == DRAIN_TASK and task.enabled
    assert (task.interval.every, task.interval.period) == (5, "seconds")
