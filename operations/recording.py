"""Celery signal handlers that keep the task history (`TaskRun`) and feed the minute counters.

The enqueuing process records QUEUED once the broker has the message (`after_task_publish`,
from what `before_task_publish` saw), so a publish that fails, e.g. with the broker
unreachable, leaves no row; the worker records STARTED, then the outcome. Every handler
swallows its own errors: bookkeeping must never stop a task from being sent or run.
"""

from __future__ import annotations

import json
import logging
import threading
import time

from celery import signals
from django.db import IntegrityError, transaction
from django.utils import timezone

from backoffice.housekeeping import is_housekeeping
from operations.minute_stats import count_finished_run
from operations.models import TaskRun

logger = logging.getLogger(__name__)

TEXT_LIMIT = 20_000
RETRY_OF_HEADER = "backoffice_retry_of"
RESOLVE_DEPTH_LIMIT = 100  # retries of retries followed back, at most
_started: dict[str, float] = {}  # task id -> monotonic start, per worker process
# The row of the message this thread is publishing, written once the publish succeeded.
_publishing = threading.local()


def _json(value) -> str:
    return json.dumps(value, default=repr)[:TEXT_LIMIT]


def _update_or_create(queryset, *, create: dict | None, changes: dict) -> None:
    """UPDATE the row of `queryset` with `changes`; INSERT `create` when there is none.

    Each statement is its own transaction: bookkeeping runs once or more per task, and
    an explicit transaction around a single statement only adds round trips.
    """
    if queryset.update(**changes) or create is None:
        return
    try:
        with transaction.atomic():
            queryset.model.objects.create(**create)
    except IntegrityError:  # another process created it meanwhile
        queryset.update(**changes)


def _record(task_id: str, *, create: dict | None = None, attempt: int | None = None,
            keep_revoked: bool = False, **changes) -> None:
    """Update the row of `task_id`; create it from `create` (+ changes) when it is missing.

    `attempt` (the run's retry count) keeps a late write of an earlier attempt, e.g. from
    another pool process, from overwriting what a later attempt already recorded;
    `keep_revoked` leaves a run that was revoked or terminated as it is.
    """
    queryset = TaskRun.objects.filter(task_id=task_id)
    if attempt is not None:
        queryset = queryset.filter(retries__lte=attempt)
    if keep_revoked:
        queryset = queryset.exclude(state=TaskRun.State.REVOKED)
    try:
        _update_or_create(queryset, create=create and {"task_id": task_id, **create, **changes},
                          changes=changes)
    except Exception:
        logger.warning("could not record task %s", task_id, exc_info=True)


def _record_new(task_id: str, *, create: dict, **changes) -> None:
    """Create the row of a task just published; when the worker recorded it first, add
    only what the publisher knows (`changes`)."""
    try:
        try:
            with transaction.atomic():
                TaskRun.objects.create(task_id=task_id, **{**create, **changes})
        except IntegrityError:
            TaskRun.objects.filter(task_id=task_id).update(**changes)
    except Exception:
        logger.warning("could not record task %s", task_id, exc_info=True)


def _signature_task_id(signature) -> str | None:
    """The task id a serialized signature was frozen with (a chord's callback has one)."""
    if not isinstance(signature, dict):
        return None
    return (signature.get("options") or {}).get("task_id")


def publish_options(*, headers: dict, body, routing_key: str, exchange, properties: dict,
                    declare) -> dict:
    """The options a retry needs to send the run exactly as it was sent (JSON-able)."""
    queue = declare[0].name if declare else (routing_key or "default")
    exchange_name = getattr(exchange, "name", exchange) or ""
    hard, soft = (headers.get("timelimit") or (None, None))
    embed = body[2] if isinstance(body, list | tuple) and len(body) > 2 else {}
    options = {
        "queue": queue, "routing_key": routing_key or queue, "exchange": exchange_name,
        "priority": properties.get("priority"), "time_limit": hard, "soft_time_limit": soft,
        "link": (embed or {}).get("callbacks"), "link_error": (embed or {}).get("errbacks"),
        "chain": (embed or {}).get("chain"),
        "in_chord": bool((embed or {}).get("chord")) or None,
        "chord_callback": _signature_task_id((embed or {}).get("chord")),
    }
    return {key: value for key, value in options.items() if value not in (None, "", [])}


@signals.before_task_publish.connect(dispatch_uid="operations.queued")
def record_queued(sender=None, body=None, exchange=None, routing_key=None, headers=None,
                  properties=None, declare=None, **_):
    _publishing.row = None
    headers = headers or {}
    task_id = headers.get("id")
    if not task_id:
        return
    options = publish_options(headers=headers, body=body, routing_key=routing_key,
                              exchange=exchange, properties=properties or {}, declare=declare)
    args, kwargs = (body[0], body[1]) if isinstance(body, list | tuple) else ([], {})
    _publishing.row = (task_id, headers.get("retries") or 0, {
        "name": headers.get("task") or sender or "", "state": TaskRun.State.QUEUED,
        "args": _json(args), "kwargs": _json(kwargs),
        "parent_id": headers.get("parent_id") or "", "root_id": headers.get("root_id") or "",
        "group_id": headers.get("group") or "",
    }, {"options": options, "queue": options["queue"]})


@signals.after_task_publish.connect(dispatch_uid="operations.published")
def record_published(headers=None, **_):
    row, _publishing.row = getattr(_publishing, "row", None), None
    if row is None or row[0] != (headers or {}).get("id"):
        return
    task_id, retries, create, changes = row
    if retries:
        # Celery's retry: the attempt that raised publishes the next one under the same id.
        # The next attempt records its own start (and its retry count); until it does, the
        # run waits to be retried.
        _record(task_id, create={**create, "retries": retries}, attempt=retries - 1,
                state=TaskRun.State.RETRY, **changes)
    else:
        _record_new(task_id, create=create, **changes)


@signals.task_prerun.connect(dispatch_uid="operations.started")
def record_started(task_id=None, task=None, args=None, kwargs=None, **_):
    _started[task_id] = time.monotonic()
    request = task.request
    delivery = request.delivery_info or {}
    queue = delivery.get("routing_key") or ""
    _record(task_id, create={
        "name": task.name, "queue": queue, "args": _json(list(args or [])),
        "kwargs": _json(kwargs or {}), "parent_id": request.parent_id or "",
        "root_id": request.root_id or "", "group_id": request.group or "",
        "queued_at": timezone.now(),
    }, attempt=request.retries or 0, state=TaskRun.State.STARTED, started_at=timezone.now(),
        worker=request.hostname or "", retries=request.retries or 0)


def _retried_task_id(request) -> str | None:
    """The task id a console retry was sent for (its message header), else None."""
    return getattr(request, RETRY_OF_HEADER, None) or (
        (getattr(request, "headers", None) or {}).get(RETRY_OF_HEADER))


def failures_resolve(*, retried_task_id: str, when) -> None:
    """A retry succeeded: the run it retried, and every run that one retried, are resolved."""
    current = TaskRun.objects.filter(task_id=retried_task_id).values_list("pk", flat=True).first()
    for _ in range(RESOLVE_DEPTH_LIMIT):
        if current is None:
            return
        TaskRun.objects.filter(pk=current, resolved_at__isnull=True).update(resolved_at=when)
        current = TaskRun.objects.filter(pk=current).values_list("retry_of_id", flat=True).first()


@signals.task_postrun.connect(dispatch_uid="operations.finished")
def record_finished(task_id=None, task=None, retval=None, state=None, **_):
    started = _started.pop(task_id, None)
    runtime = round(time.monotonic() - started, 6) if started is not None else None
    changes = {"finished_at": timezone.now(), "runtime": runtime}
    if state == TaskRun.State.SUCCESS:
        changes.update(state=state, result=_json(retval))
    elif state in (TaskRun.State.FAILURE, TaskRun.State.RETRY):
        changes["state"] = state
    revoked_stays = state == TaskRun.State.FAILURE  # a terminated run failing late stays REVOKED
    _record(task_id, attempt=task.request.retries or 0, keep_revoked=revoked_stays, **changes)
    retried = _retried_task_id(task.request) if state == TaskRun.State.SUCCESS else None
    if retried:
        try:
            failures_resolve(retried_task_id=retried, when=changes["finished_at"])
        except Exception:
            logger.warning("could not resolve the runs %s retried", task_id, exc_info=True)
    # The counters feed the dashboard's and the overview's counts: housekeeping stays out.
    if state in (TaskRun.State.SUCCESS, TaskRun.State.FAILURE) and not is_housekeeping(task):
        delivery = task.request.delivery_info or {}
        count_finished_run(timezone.now().replace(second=0, microsecond=0),
                           delivery.get("routing_key") or "default",
                           failed=state == TaskRun.State.FAILURE, runtime=runtime)


@signals.task_failure.connect(dispatch_uid="operations.failed")
def record_failure(task_id=None, exception=None, einfo=None, **_):
    text = str(einfo.traceback) if einfo is not None else repr(exception)
    try:
        TaskRun.objects.filter(task_id=task_id).exclude(state=TaskRun.State.REVOKED).update(
            state=TaskRun.State.FAILURE, traceback=text[-TEXT_LIMIT:],
            result=f"{type(exception).__name__}: {exception}"[:TEXT_LIMIT],
            finished_at=timezone.now(),
        )
    except Exception:
        logger.warning("could not record the failure of %s", task_id, exc_info=True)


@signals.task_retry.connect(dispatch_uid="operations.retry")
def record_retry(request=None, reason=None, einfo=None, **_):
    if request is None:
        return
    _record(request.id, attempt=request.retries or 0, state=TaskRun.State.RETRY,
            result=str(reason)[:TEXT_LIMIT],
            traceback=str(einfo.traceback)[-TEXT_LIMIT:] if einfo else "")


@signals.task_revoked.connect(dispatch_uid="operations.revoked")
def record_revoked(request=None, terminated=None, signum=None, expired=None, **_):
    if request is None:
        return
    why = "terminated" if terminated else ("expired" if expired else "revoked")
    _record(request.id, state=TaskRun.State.REVOKED, result=why, finished_at=timezone.now())
