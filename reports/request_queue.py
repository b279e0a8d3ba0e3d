"""The request log's hand-off to the worker: batches in a Redis list, written by a task.

A web process pushes each buffered batch as one JSON list (one RPUSH per few hundred
requests, about half a microsecond a row) instead of writing it to the database itself:
the SQL write was most of what the log cost a web worker (~5 us of its CPU a row, in the
process that answers the requests). The worker's `drain_api_request_log` task writes the
batches, each exactly once: the batch id is stored with its rows in one transaction, and
the batch leaves the list only after that commit, so a batch seen again (the drain died
between the two) is removed without being written twice.

Nothing is lost when Redis is down: the batch is written to the database directly, as
without the queue; when that fails too, the buffer keeps the rows (reports.request_log).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid

import redis
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from reports.models import ApiRequestBatch
from reports.services import api_requests_write

logger = logging.getLogger(__name__)

QUEUE_KEY = "backoffice:reports:api-requests"
DEAD_KEY = "backoffice:reports:api-requests:unreadable"
DRAIN_LOCK_KEY = "backoffice:reports:api-requests:drain"
DRAIN_LOCK_SECONDS = 300
# A batch id is needed only while its batch may still be in the list (a drain died
# between its commit and removing the batch): the next drain, seconds later, removes it.
BATCH_IDS_KEPT = dt.timedelta(days=1)

_clients: dict[str, redis.Redis] = {}


def queue_client() -> redis.Redis:
    """One client per process and URL (redis-py's pool is thread-safe and fork-aware)."""
    url = settings.REDIS_URL
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    return _clients[url]


def api_requests_hand_off(*, rows: list) -> int:
    """Queue a batch for the worker, or write it here when Redis does not take it.

    Returns the number of rows handed off; raises only when both ways failed.
    """
    if not rows:
        return 0
    if not settings.API_REQUEST_LOG_QUEUE:
        return api_requests_write(rows=rows)
    batch_id = uuid.uuid4().hex
    try:
        queue_client().rpush(QUEUE_KEY, json.dumps([batch_id, rows], separators=(",", ":")))
        return len(rows)
    except redis.RedisError:
        logger.warning("Redis did not take %d API request log rows; writing them to the "
                       "database here", len(rows), exc_info=True)
    # Under the batch's id: had Redis taken it after all (its reply lost to a timeout),
    # the drain finds it written and does not write it again.
    return _batch_write(batch_id, rows)


def queued_batches() -> int:
    """How many batches wait in the queue."""
    return queue_client().llen(QUEUE_KEY)


def api_request_queue_drain(*, max_batches: int = 200) -> int:
    """Write queued batches to ApiRequest, oldest first; returns the rows written.

    One drain at a time (a Redis lock); a database error leaves the batch queued for the
    next drain. A batch that is not rows (bad JSON, wrong shape) is moved aside to
    DEAD_KEY and logged.
    """
    client = queue_client()
    lock = client.lock(DRAIN_LOCK_KEY, timeout=DRAIN_LOCK_SECONDS, blocking=False)
    if not lock.acquire():
        return 0
    written = 0
    try:
        for _ in range(max_batches):
            blob = client.lindex(QUEUE_KEY, 0)
            if blob is None:
                break
            try:
                batch_id, rows = json.loads(blob)
                written += _batch_write(batch_id, rows)
            except (TypeError, ValueError):  # not a batch of rows; database errors propagate
                # Set aside, or it would stop every later batch at the head of the list.
                logger.exception("unreadable API request log batch moved to %s", DEAD_KEY)
                client.rpush(DEAD_KEY, blob)
            # By value, not LPOP: if the lock ever expired under a slow write and a
            # second drain ran, popping the head could remove a batch nobody wrote.
            client.lrem(QUEUE_KEY, 1, blob)
        if written:
            ApiRequestBatch.objects.filter(written_at__lt=timezone.now() - BATCH_IDS_KEPT).delete()
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            logger.warning("the request log drain outlived its lock")
    return written


def _batch_write(batch_id: str, rows: list) -> int:
    """Write a batch unless it already was; returns the rows written now."""
    try:
        with transaction.atomic():
            ApiRequestBatch.objects.create(batch_id=batch_id, rows=len(rows),
                                           written_at=timezone.now())
            return api_requests_write(rows=rows)
    except IntegrityError:
        if ApiRequestBatch.objects.filter(batch_id=batch_id).exists():
            # Already written: by a drain that died before removing it, or by the web
            # process after a push whose reply was lost.
            return 0
        raise
