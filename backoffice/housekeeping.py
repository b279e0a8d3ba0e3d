"""Housekeeping tasks: sweeps, pruning and cleanup that keep the system tidy.

Mark one with `@shared_task(..., **HOUSEKEEPING)`. Celery turns the options into task
attributes: `ignore_result` keeps it out of the result table (no STARTED row either), and
`housekeeping` lets the task history, the task results list and the dashboard hide its runs
by default and the per-minute counters skip it.
"""

from __future__ import annotations

HOUSEKEEPING = {"housekeeping": True, "ignore_result": True}


def is_housekeeping(task) -> bool:
    return bool(getattr(task, "housekeeping", False))


def housekeeping_task_names() -> frozenset[str]:
    """Names of the registered housekeeping tasks (task modules imported once per process)."""
    from backoffice.celery import app, import_task_modules

    import_task_modules()
    return frozenset(name for name, task in app.tasks.items() if is_housekeeping(task))
