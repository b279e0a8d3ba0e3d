"""Thin Celery tasks for maintenance. Diagnostic tasks prove the pipeline end to end."""

from celery import shared_task


@shared_task(name="maintenance.tasks.noop")
def noop() -> None:
    """Do nothing; used by the task round-trip benchmark and smoke tests."""
    return None


@shared_task(name="maintenance.tasks.echo")
def echo(value):
    """Return `value` unchanged (JSON-able): the smallest task that proves a round trip."""
    return value


@shared_task(name="maintenance.tasks.total")
def total(values: list) -> float:
    """Sum a list of numbers; the callback of the smoke-test chord."""
    return sum(values)


@shared_task(name="maintenance.tasks.fail")
def fail(message: str = "failed on purpose") -> None:
    """Raise, so failure paths (history, retry, health) can be exercised."""
    raise RuntimeError(message)


FLAKY_KEY = "backoffice:diag:flaky:{}"


@shared_task(name="maintenance.tasks.flaky", bind=True)
def flaky(self, switch: str, celery_retries: int = 0):
    """Fail until the Redis key for `switch` is set, then succeed: exercises retry.

    With `celery_retries`, Celery's own `retry()` tries again that many times first.
    """
    from maintenance.broker import redis_client

    if not redis_client().exists(FLAKY_KEY.format(switch)):
        error = RuntimeError(f"switch {switch!r} is off")
        if self.request.retries < celery_retries:
            raise self.retry(exc=error, countdown=0)
        raise error
    return f"switch {switch!r} is on"


@shared_task(name="maintenance.tasks.sleep")
def sleep(seconds: float = 1.0) -> float:
    """Sleep (at most 60 s); a long-running task for terminate and queue tests."""
    import time

    seconds = max(0.0, min(float(seconds), 60.0))
    time.sleep(seconds)
    return seconds


@shared_task(name="maintenance.tasks.prune_task_history")
def prune_task_history(days: int | None = None) -> dict:
    """Delete finished task runs older than `days` (default OPS_TASK_HISTORY_DAYS), in batches."""
    from django.conf import settings

    from maintenance.ops.services import task_history_prune

    return task_history_prune(older_than_days=days or settings.OPS_TASK_HISTORY_DAYS)
