"""The Celery application: `celery -A backoffice worker` and `celery -A backoffice beat`."""

import os
from functools import cache

from celery import Celery, Task, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings.dev")


class DeclaredTask(Task):
    """Every task of the product, declared in one decorator next to its code:

        @shared_task(name="reports.tasks.generate_daily_report", queue="reports",
                     arguments=DailyReportArguments)

    `queue` routes it, however it is sent (`route_by_declaration`); `arguments` (see
    backoffice.task_arguments) are checked each time it runs — sent from the admin, beat,
    the API, a shell or redelivered — so it fails with the reason instead of running with
    input it does not accept; `**HOUSEKEEPING` (backoffice.housekeeping) keeps a routine
    task out of the history's default view."""

    def __call__(self, *args, **kwargs):
        declared = getattr(self, "arguments", None)
        if declared is not None:
            declared.checked(list(args), kwargs)
        return super().__call__(*args, **kwargs)


def route_by_declaration(name, args, kwargs, options, task=None, **_):
    """Celery router: the queue a task declares, also when it is sent by name only
    (`send_task`, beat, a retry from the console) — not only through its own apply_async."""
    declared = task or app.tasks.get(name)
    queue = getattr(declared, "queue", None)
    return {"queue": queue, "routing_key": queue} if queue else None


app = Celery("backoffice", task_cls=DeclaredTask)
# Every Celery setting lives in Django settings under the CELERY_ prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect(dispatch_uid="backoffice.celery.db_connections")
def close_old_database_connections(task=None, **_) -> None:
    """Before each task, what Django does before each request: close a connection that is
    broken or older than CONN_MAX_AGE, so the next query opens a fresh one.

    Celery's own Django fixup would instead close every connection before and after every
    task (unless CELERY_DB_REUSE_MAX is set), and reconnecting costs a short task more
    than its own work.
    """
    from django.db import close_old_connections

    if task is not None and getattr(task.request, "is_eager", False):
        return  # run in the caller's process, inside the caller's transaction
    close_old_connections()


@cache
def import_task_modules() -> None:
    """Import every app's tasks module, once per process (what a worker does at start)."""
    app.loader.import_default_modules()
