"""The one way the product queues a task.

The rule, for every task: `enqueue` publishes at once with the one publish retry policy
(`CELERY_TASK_PUBLISH_RETRY_POLICY`, which beat and Celery's own sends use too). If the
broker is still unreachable, it raises `QueueUnavailable` with the reason and nothing was
queued: a page says so and changes nothing. Work that is already recorded in rows — every
email (`OutgoingEmail`) — is queued again by its sweep when the broker is back, so for it
the error is only logged. Services that write rows call `enqueue` from
`transaction.on_commit`, so a worker never looks for rows that are not there yet.
"""

from __future__ import annotations

from celery import current_app
from celery.canvas import Signature
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

BROKER_ERRORS = (OperationalError, RedisError, OSError)


class QueueUnavailable(Exception):
    """The broker stayed unreachable: nothing was queued. The message says why."""


def enqueue(task, *, args=(), kwargs=None, **options):
    """Publish `task` (a task name, a task, or a signature or workflow built with `.s()`,
    `chain`, `group`, `chord`) with `options` (queue, countdown, task_id, headers, …).
    Returns the AsyncResult; raises QueueUnavailable when the broker stays unreachable."""
    try:
        if isinstance(task, Signature):
            return task.apply_async(args=tuple(args), kwargs=kwargs or {}, **options)
        name = task if isinstance(task, str) else task.name
        return current_app.send_task(name, args=list(args), kwargs=kwargs or {}, **options)
    except BROKER_ERRORS as exc:
        raise QueueUnavailable(
            f"Nothing was queued: the broker is unreachable ({exc}).") from exc
