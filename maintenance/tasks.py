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
