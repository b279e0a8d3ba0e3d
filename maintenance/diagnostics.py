"""Diagnostic tasks that prove the pipeline end to end: a round trip, a failure, a task that
fails until a switch is set, a long sleep. Registered only with DIAGNOSTIC_TASKS (the
development, test and benchmark settings), so production's registry holds product tasks
only. They keep the `maintenance.tasks.` names the demo, the tests and the benchmarks use.
"""

from celery import shared_task


@shared_task(name="maintenance.tasks.noop", queue="maintenance")
def noop() -> None:
    """Do nothing; used by the task round-trip benchmark and smoke tests."""
    return None


@shared_task(name="maintenance.tasks.echo", queue="maintenance")
def echo(value):
    """Return `value` unchanged (JSON-able): the smallest task that proves a round trip."""
    return value


@shared_task(name="maintenance.tasks.total", queue="maintenance")
def total(values: list) -> float:
    """Sum a list of numbers; the callback of the smoke-test chord."""
    return sum(values)


@shared_task(name="maintenance.tasks.fail", queue="maintenance")
def fail(message: str = "failed on purpose") -> None:
    """Raise, so failure paths (history, retry, health) can be exercised."""
    raise RuntimeError(message)


FLAKY_KEY = "backoffice:diag:flaky:{}"


@shared_task(name="maintenance.tasks.flaky", queue="maintenance", bind=True)
def flaky(self, switch: str, celery_retries: int = 0):
    """Fail until the Redis key for `switch` is set, then succeed: exercises retry.

    With `celery_retries`, Celery's own `retry()` tries again that many times first.
    """
    from backoffice.redis_client import redis_client

    if not redis_client().exists(FLAKY_KEY.format(switch)):
        error = RuntimeError(f"switch {switch!r} is off")
        if self.request.retries < celery_retries:
            raise self.retry(exc=error, countdown=0)
        raise error
    return f"switch {switch!r} is on"


@shared_task(name="maintenance.tasks.sleep", queue="maintenance")
def sleep(seconds: float = 1.0) -> float:
    """Sleep (at most 60 s); a long-running task for terminate and queue tests."""
    import time

    seconds = max(0.0, min(float(seconds), 60.0))
    time.sleep(seconds)
    return seconds
