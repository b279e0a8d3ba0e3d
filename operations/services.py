"""State changes of the operations console: retry, discard, purge, pause/resume, revoke.

Every function checks its input and the broker first and raises `OpsError` with a sentence
for the user; nothing changes when it does.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from celery import current_app
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django_celery_results.models import GroupResult, TaskResult

from backoffice.enqueue import enqueue
from backoffice.redis_client import redis_client, redis_status
from operations.models import TaskMinuteStat, TaskRun
from operations.recording import RETRY_OF_HEADER
from operations.registry import PAUSED_KEY, RESUMED_KEY, worker_records
from operations.selectors import queue_keys, queue_names

RETRY_BATCH_SIZE = 200
REVOKE_SCAN_LIMIT = 10_000
CONTROL_TIMEOUT = 3.0  # the most a control command waits; it returns once all have replied
# Options a retry keeps from the original send; ETA and expiry are stale by now.
KEPT_OPTIONS = ("queue", "routing_key", "exchange", "priority", "time_limit", "soft_time_limit",
                "link", "link_error", "chain")


class OpsError(Exception):
    """A console action that cannot be done; the message is shown to the user as is."""


def _require_broker() -> None:
    status = redis_status()
    if not status["ok"]:
        raise OpsError(f"The broker (Redis) is unreachable ({status['error']}); nothing was "
                       "changed.")


def _require_queue(queue: str) -> None:
    if queue not in queue_names():
        raise OpsError(f"Unknown queue {queue!r}; the queues are {', '.join(queue_names())}.")


def _decode(text: str, default):
    try:
        return json.loads(text) if text else default
    except ValueError:
        return default


def _send_retry(original: TaskRun, *, producer=None) -> TaskRun:
    """Create the retry's row and publish it, in one transaction (a failed send leaves none)."""
    options = {k: v for k, v in original.options.items() if k in KEPT_OPTIONS}
    options.setdefault("queue", original.queue or "default")
    task_id = str(uuid.uuid4())
    with transaction.atomic():
        retry = TaskRun.objects.create(
            task_id=task_id, name=original.name, queue=options["queue"], args=original.args,
            kwargs=original.kwargs, options=original.options, retry_of=original,
        )
        TaskRun.objects.filter(pk=original.pk).update(retried_as=retry)
        enqueue(original.name, args=_decode(original.args, []),
                kwargs=_decode(original.kwargs, {}), task_id=task_id,
                headers={RETRY_OF_HEADER: original.task_id}, producer=producer, **options)
    return retry


def task_run_retry(*, task_run: TaskRun) -> TaskRun:
    """Send a failed run again with its original queue and options; the new run links back."""
    if task_run.state != TaskRun.State.FAILURE:
        raise OpsError(f"Only failed runs can be retried; {task_run.task_id} is "
                       f"{task_run.get_state_display().lower()}.")
    _require_broker()
    return _send_retry(task_run)


def task_runs_retry(*, task_runs) -> list[TaskRun]:
    """Retry the given failed runs (the selection of the failed list)."""
    runs = list(task_runs)
    not_failed = [r.task_id for r in runs if r.state != TaskRun.State.FAILURE]
    if not runs:
        raise OpsError("No run was selected.")
    if not_failed:
        raise OpsError(f"Only failed runs can be retried; not failed: {', '.join(not_failed)}.")
    _require_broker()
    with current_app.producer_or_acquire() as producer:
        return [_send_retry(run, producer=producer) for run in runs]


def task_runs_retry_by_name(*, name: str, batch_size: int = RETRY_BATCH_SIZE) -> int:
    """Retry every failed, not yet retried, not discarded run of `name`, in batches."""
    pending = TaskRun.objects.filter(name=name, state=TaskRun.State.FAILURE,
                                     retried_as__isnull=True, discarded_at__isnull=True)
    if not name or not pending.exists():
        raise OpsError(f"There is no failed run of {name!r} waiting for a retry.")
    _require_broker()
    retried, last_pk = 0, 0
    with current_app.producer_or_acquire() as producer:
        while True:
            batch = list(pending.filter(pk__gt=last_pk).order_by("pk")[:batch_size])
            if not batch:
                return retried
            for run in batch:
                _send_retry(run, producer=producer)
            retried += len(batch)
            last_pk = batch[-1].pk


def task_runs_discard(*, task_runs) -> int:
    """Take failed runs off the failed list; the history keeps them."""
    runs = list(task_runs)
    if not runs:
        raise OpsError("No run was selected.")
    if any(r.state != TaskRun.State.FAILURE for r in runs):
        raise OpsError("Only failed runs can be discarded.")
    return TaskRun.objects.filter(pk__in=[r.pk for r in runs], discarded_at__isnull=True).update(
        discarded_at=timezone.now())


def _message_ids(raw_messages) -> list[str]:
    ids = []
    for raw in raw_messages:
        try:
            ids.append(json.loads(raw)["headers"]["id"])
        except (ValueError, KeyError, TypeError):
            continue
    return ids


def queue_purge(*, queue: str) -> int:
    """Delete every message waiting in `queue` (atomically) and mark those runs revoked."""
    _require_queue(queue)
    _require_broker()
    pipe = redis_client().pipeline(transaction=True)
    for key in queue_keys(queue):
        pipe.lrange(key, 0, -1)
        pipe.delete(key)
    replies = pipe.execute()
    messages = [m for reply in replies[0::2] for m in reply]
    ids = _message_ids(messages)
    for start in range(0, len(ids), 500):
        TaskRun.objects.filter(task_id__in=ids[start:start + 500]).update(
            state=TaskRun.State.REVOKED, result=f"purged from queue {queue}",
            finished_at=timezone.now())
    return len(messages)


def _online_count() -> int | None:
    """How many replies to wait for: every worker that announced itself (None: unknown)."""
    return sum(1 for w in worker_records() if w["online"]) or None


def _consumers_reply(replies) -> list[str]:
    return sorted(name for reply in replies or [] for name in reply)


def queue_pause(*, queue: str, username: str) -> list[str]:
    """Stop every worker consuming `queue`; workers that start later stay off it too."""
    _require_queue(queue)
    _require_broker()
    redis_client().hset(PAUSED_KEY, queue, json.dumps({"at": timezone.now().timestamp(),
                                                       "by": username}))
    replies = current_app.control.cancel_consumer(queue, reply=True, timeout=CONTROL_TIMEOUT,
                                                  limit=_online_count())
    return _consumers_reply(replies)


def queue_resume(*, queue: str) -> list[str]:
    """Let the workers that are configured for `queue` consume it again."""
    _require_queue(queue)
    _require_broker()
    client = redis_client()
    if not client.hexists(PAUSED_KEY, queue):
        raise OpsError(f"Queue {queue} is not paused.")
    client.hdel(PAUSED_KEY, queue)
    client.hset(RESUMED_KEY, queue, timezone.now().timestamp())
    targets = [w["hostname"] for w in worker_records(client)
               if w["online"] and queue in w.get("configured_queues", [])]
    if not targets:
        return []
    replies = current_app.control.add_consumer(queue, reply=True, timeout=CONTROL_TIMEOUT,
                                               destination=targets, limit=len(targets))
    return _consumers_reply(replies)


def _remove_waiting_message(queue: str, task_id: str) -> bool:
    client = redis_client()
    for key in queue_keys(queue):
        for start in range(0, REVOKE_SCAN_LIMIT, 1000):
            chunk = client.lrange(key, start, start + 999)
            for raw in chunk:
                if _message_ids([raw]) == [task_id]:
                    return bool(client.lrem(key, 1, raw))
            if len(chunk) < 1000:
                break
    return False


def task_revoke(*, task_id: str) -> TaskRun:
    """Revoke a waiting run: take it off its queue and tell every worker to skip it."""
    run = TaskRun.objects.filter(task_id=task_id).first()
    if run is None:
        raise OpsError(f"No task run {task_id!r} is known.")
    if run.state not in (TaskRun.State.QUEUED, TaskRun.State.RETRY):
        raise OpsError(f"Only waiting runs can be revoked; {task_id} is "
                       f"{run.get_state_display().lower()}.")
    _require_broker()
    current_app.control.revoke(task_id)
    removed = _remove_waiting_message(run.queue or "default", task_id)
    TaskRun.objects.filter(pk=run.pk).update(
        state=TaskRun.State.REVOKED, finished_at=timezone.now(),
        result="revoked" + (" and removed from the queue" if removed else ""))
    run.refresh_from_db()
    return run


def task_terminate_check(*, task_id: str) -> TaskRun:
    """The run `task_id` if it can be terminated now; else OpsError says why."""
    run = TaskRun.objects.filter(task_id=task_id).first()
    if run is None:
        raise OpsError(f"No task run {task_id!r} is known.")
    if run.state != TaskRun.State.STARTED:
        raise OpsError(f"Only running runs can be terminated; {task_id} is "
                       f"{run.get_state_display().lower()}.")
    _require_broker()
    return run


def task_terminate(*, task_id: str) -> list[str]:
    """Terminate a running run (SIGTERM to the pool process); returns the workers that ack."""
    task_terminate_check(task_id=task_id)
    replies = current_app.control.revoke(task_id, terminate=True, signal="SIGTERM", reply=True,
                                         timeout=CONTROL_TIMEOUT, limit=_online_count())
    return _consumers_reply(replies)


def referencing_relations() -> list:
    """The reverse relations of every other model's foreign key to TaskRun: a run they point
    at is kept by pruning (maintenance's presses read their outcome from their run, and a
    backup links to the run that wrote it)."""
    return [field for field in TaskRun._meta.get_fields()
            if field.auto_created and not field.concrete
            and not issubclass(field.related_model, TaskRun)]


def prunable_runs(*, cutoff):
    """Finished runs queued before `cutoff` that no other model's row points at."""
    old = TaskRun.objects.filter(queued_at__lt=cutoff, state__in=TaskRun.FINISHED_STATES)
    for relation in referencing_relations():
        old = old.filter(**{f"{relation.name}__isnull": True})
    return old


def _batches_delete(queryset, batch_size: int) -> int:
    """Delete the rows of `queryset` in primary-key batches; returns how many."""
    deleted = 0
    while pks := list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size]):
        deleted += queryset.model.objects.filter(pk__in=pks).delete()[0]
    return deleted


def task_history_prune(*, older_than_days: int, batch_size: int = 5_000) -> dict:
    """The one retention rule of task runs and their results, in bounded batches.

    Finished runs queued before the cut-off go together with their stored result
    (`TaskResult`); runs still waiting or running stay whatever their age, and so does
    every run another model's foreign key points at (a maintenance press is kept for
    MAINTENANCE_RUN_RETENTION_DAYS and shows its run's outcome all that time). Results
    with no run (stored by a worker whose bookkeeping failed) and group results go after
    the same cut-off; the minute counters behind the charts are kept for two days.
    """
    if older_than_days < 1:
        raise OpsError("Keep at least one day of task history.")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    old = prunable_runs(cutoff=cutoff)
    runs = results = 0
    while batch := list(old.order_by("pk").values_list("pk", "task_id")[:batch_size]):
        pks, task_ids = zip(*batch, strict=True)
        try:
            with transaction.atomic():
                results += TaskResult.objects.filter(task_id__in=task_ids).delete()[0]
                runs += TaskRun.objects.filter(pk__in=pks).delete()[1].get(
                    TaskRun._meta.label, 0)
        except ProtectedError:  # pointed at since the batch was read: left for the next prune
            old = old.exclude(pk__in=pks)
    results += _batches_delete(
        TaskResult.objects.filter(date_done__lt=cutoff, task_run__isnull=True), batch_size)
    groups = _batches_delete(GroupResult.objects.filter(date_done__lt=cutoff), batch_size)
    minutes = TaskMinuteStat.objects.filter(
        minute__lt=timezone.now() - timedelta(days=2)).delete()[0]
    return {"runs_deleted": runs, "results_deleted": results, "group_results_deleted": groups,
            "minute_rows_deleted": minutes}
