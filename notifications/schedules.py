"""The periodic sweep that enqueues emails recorded while the broker was down.

Ensured after every `migrate` (and after a test flush): created once, never overwritten,
so staff may change its interval or disable it in the admin.
"""

SWEEP_TASK_NAME = "Send pending emails (sweep)"
SWEEP_TASK = "notifications.tasks.sweep_pending_emails"


def sweep_schedule_ensure() -> bool:
    """Create the every-minute sweep if no periodic task of that name exists. True if created."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    if PeriodicTask.objects.filter(name=SWEEP_TASK_NAME).exists():
        return False
    every_minute, _ = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.MINUTES
    )
    PeriodicTask.objects.get_or_create(
        name=SWEEP_TASK_NAME,
        defaults={"task": SWEEP_TASK, "interval": every_minute,
                  "description": "Enqueues welcome and password-reset emails that could not "
                  "be queued (broker down) or whose message was lost."},
    )
    return True


def ensure_after_migrate(sender, **kwargs):
    if sender.name == "notifications":
        sweep_schedule_ensure()
