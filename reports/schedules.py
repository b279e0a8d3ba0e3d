"""The periodic drain that writes the request-log batches web processes queued in Redis.

Ensured after every `migrate` (so an existing install gets it too): created once, never
overwritten, so staff may change its interval in the admin.
"""

DRAIN_TASK_NAME = "Write queued API request log"
DRAIN_TASK = "reports.tasks.drain_api_request_log"


def drain_schedule_ensure() -> bool:
    """Create the every-5-seconds drain if no periodic task of that name exists."""
    from django.db import connection
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    if PeriodicTask._meta.db_table not in connection.introspection.table_names():
        return False  # django_celery_beat is not migrated yet; its own migrate comes later
    if PeriodicTask.objects.filter(name=DRAIN_TASK_NAME).exists():
        return False
    every_5s, _ = IntervalSchedule.objects.get_or_create(every=5, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.get_or_create(name=DRAIN_TASK_NAME, defaults={
        "task": DRAIN_TASK, "interval": every_5s,
        "description": "Writes the request-log batches that web processes queued in Redis."})
    return True


def ensure_after_migrate(sender, **kwargs):
    if sender.name in {"reports", "django_celery_beat"}:
        drain_schedule_ensure()
