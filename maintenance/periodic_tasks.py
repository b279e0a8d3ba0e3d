"""The reads and "Run now" of the periodic task admin."""

from __future__ import annotations

import json


def schedule_description(task) -> str:
    """A human-readable schedule: "At 02:00 AM UTC", "every 5 minutes", "once at …"."""
    if task.crontab_id:
        return task.crontab.human_readable
    if task.interval_id:
        return str(task.interval)
    if task.clocked_id:
        return f"once at {task.clocked.clocked_time:%Y-%m-%d %H:%M %Z}"
    if task.solar_id:
        return str(task.solar)
    return "no schedule"


def next_run_at(task, *, now=None):
    """When beat will next send `task` (None when disabled or a finished one-off)."""
    from celery import schedules as celery_schedules
    from django.utils import timezone

    if not task.enabled or (task.one_off and task.total_run_count):
        return None
    now = now or timezone.now()
    if task.clocked_id:
        return task.clocked.clocked_time
    source = task.crontab or task.interval or task.solar
    if source is None:
        return None
    schedule = source.schedule
    last = task.last_run_at or now
    if timezone.is_naive(last):
        last = timezone.make_aware(last)
    if isinstance(schedule, celery_schedules.crontab):
        start, delta, _ = schedule.remaining_delta(last)
        due = start + delta
    elif isinstance(schedule, celery_schedules.solar):
        due = timezone.now() + schedule.remaining_estimate(last)
    else:  # an interval
        due = last + schedule.run_every
    if task.start_time and task.start_time > due:
        due = task.start_time
    return max(due, now)


def periodic_task_options(task) -> dict:
    """The routing and execution options beat sends `task` with (only allowed headers and
    routing, see backoffice.message_options)."""
    from backoffice.message_options import message_options_safe

    options = message_options_safe(task)
    if task.expire_seconds is not None:
        options["expires"] = task.expire_seconds
    elif task.expires:
        options["expires"] = task.expires
    return options


def interval_refusal(*, user, every: int, period: str) -> str | None:
    """Why `user` may not use an interval of `every` `period` (None: they may). Staff other
    than superusers get no interval shorter than SCHEDULE_MIN_INTERVAL_SECONDS: an interval
    schedule is shared by every task that uses it."""
    import datetime as dt

    from django.conf import settings

    least = settings.SCHEDULE_MIN_INTERVAL_SECONDS
    if user.is_superuser or every is None or period not in {
            "days", "hours", "minutes", "seconds", "microseconds"}:
        return None
    if dt.timedelta(**{period: every}).total_seconds() < least:
        return f"intervals shorter than {least} seconds are for superusers only"
    return None


def periodic_task_check(*, user, task_name: str, args, kwargs) -> None:
    """Raise TaskArgumentsError unless `user` may schedule or run `task_name` with these
    arguments (what the task declares, see backoffice.task_arguments)."""
    from backoffice.task_arguments import task_arguments_check

    task_arguments_check(user=user, task_name=task_name, args=args, kwargs=kwargs)


def periodic_task_options_check(task) -> None:
    """Raise TaskArgumentsError when the row's headers or routing are not allowed."""
    from backoffice.message_options import message_options_problems
    from backoffice.task_arguments import TaskArgumentsError

    problems = message_options_problems(task)
    if problems:
        raise TaskArgumentsError("; ".join(problems))


def periodic_task_run_now(*, task, user):
    """Send a periodic task now with its own arguments, queue and options; record it.

    Raises LookupError (task not registered) or TaskArgumentsError (not for this user, or
    arguments the task does not accept); nothing is sent then.
    """
    from celery import current_app

    from backoffice.enqueue import enqueue
    from maintenance.actions import run_record

    current_app.loader.import_default_modules()
    if task.task not in current_app.tasks:
        raise LookupError(f'task "{task.task}" is not registered; nothing was sent')
    args, kwargs = json.loads(task.args or "[]"), json.loads(task.kwargs or "{}")
    periodic_task_check(user=user, task_name=task.task, args=args, kwargs=kwargs)
    periodic_task_options_check(task)
    options = periodic_task_options(task)
    result = enqueue(task.task, args=args, kwargs=kwargs, **options)
    queue = options.get("queue") or current_app.amqp.router.route(
        {}, task.task)["queue"].name
    return run_record(key="run_periodic_task", label=f"Run now: {task.name}", user=user,
                      task_id=result.id, queue=queue)
