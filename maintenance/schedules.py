"""Default periodic tasks: created once by name, never overwritten, then owned by staff.

`manage.py setup_schedules` (also run by `make run`) creates the ones that are missing.
A task whose code is not installed yet (the email sweep of the accounts issue) is skipped
and created by a later run, once its module exists.
"""

from __future__ import annotations

import importlib
import json

from django.conf import settings

# name → task, schedule, description. Kept in sync with the names the dashboard and
# the notifications app use ("Send pending emails (sweep)" is ensured there too).
DEFAULT_SCHEDULES = [
    {"name": "Daily report", "task": "reports.tasks.generate_daily_report",
     "crontab": {"minute": "10", "hour": "0"},
     "description": "Aggregates yesterday's API requests into its DailyReport row."},
    {"name": "Weekly analytics", "task": "reports.tasks.process_api_analytics",
     "crontab": {"minute": "0", "hour": "1", "day_of_week": "1"},
     "description": "Builds last week's WeeklyAnalytics row (Mondays)."},
    {"name": "Database backup", "task": "maintenance.tasks.backup_database",
     "crontab": {"minute": "0", "hour": "2"},
     "description": "Writes a verified, gzipped backup to BACKUP_DIR."},
    {"name": "Cleanup old logs", "task": "maintenance.tasks.cleanup_old_logs",
     "crontab": {"minute": "0", "hour": "3"},
     "description": "Deletes old API log rows, expired results, finished emails, old backups."},
    {"name": "Send pending emails (sweep)", "task": "notifications.tasks.sweep_pending_emails",
     "interval": {"every": 1, "period": "minutes"},
     "description": "Enqueues emails recorded while the broker was down, and stuck ones."},
]


def task_exists(dotted: str) -> bool:
    module_name, _, function = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    return hasattr(module, function)


def schedules_ensure(*, apps=None) -> dict[str, str]:
    """Create the missing default periodic tasks. Returns name → created/exists/skipped."""
    if apps is None:
        from django.apps import apps
    crontabs = apps.get_model("django_celery_beat", "CrontabSchedule")
    intervals = apps.get_model("django_celery_beat", "IntervalSchedule")
    tasks = apps.get_model("django_celery_beat", "PeriodicTask")
    outcome = {}
    for spec in DEFAULT_SCHEDULES:
        if tasks.objects.filter(name=spec["name"]).exists():
            outcome[spec["name"]] = "exists"
            continue
        if not task_exists(spec["task"]):
            outcome[spec["name"]] = "skipped (task not installed)"
            continue
        schedule = {}
        if "crontab" in spec:
            fields = {"minute": "*", "hour": "*", "day_of_week": "*", "day_of_month": "*",
                      "month_of_year": "*", **spec["crontab"]}
            schedule["crontab"] = crontabs.objects.filter(
                **fields, timezone=settings.TIME_ZONE).first() or crontabs.objects.create(
                **fields, timezone=settings.TIME_ZONE)
        else:
            schedule["interval"], _ = intervals.objects.get_or_create(**spec["interval"])
        tasks.objects.create(name=spec["name"], task=spec["task"], args=json.dumps([]),
                             kwargs=json.dumps({}), description=spec["description"],
                             **schedule)
        outcome[spec["name"]] = "created"
    if "created" in outcome.values():  # tell a running beat to reload its schedule
        from django.utils import timezone

        apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
            ident=1, defaults={"last_update": timezone.now()})
    return outcome


# --- Reads and "Run now" for the periodic task admin -------------------------------------

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
    """The routing and execution options beat would send `task` with."""
    options = {"headers": {**json.loads(task.headers or "{}"),
                           "periodic_task_name": task.name}}
    for name in ("queue", "exchange", "routing_key", "priority"):
        value = getattr(task, name)
        if value not in (None, ""):
            options[name] = value
    if task.expire_seconds is not None:
        options["expires"] = task.expire_seconds
    elif task.expires:
        options["expires"] = task.expires
    return options


def periodic_task_run_now(*, task, user):
    """Send a periodic task now with its own arguments, queue and options; record it."""
    from celery import current_app

    from maintenance.actions import run_record

    current_app.loader.import_default_modules()
    if task.task not in current_app.tasks:
        raise LookupError(f'task "{task.task}" is not registered; nothing was sent')
    options = periodic_task_options(task)
    result = current_app.send_task(task.task, args=json.loads(task.args or "[]"),
                                   kwargs=json.loads(task.kwargs or "{}"), **options)
    queue = options.get("queue") or current_app.amqp.router.route(
        {}, task.task)["queue"].name
    return run_record(key="run_periodic_task", label=f"Run now: {task.name}", user=user,
                      task_id=result.id, queue=queue)
