"""Default periodic tasks of the notifications app (created by backoffice.schedules)."""

SWEEP_TASK_NAME = "Send pending emails (sweep)"
SWEEP_TASK = "notifications.tasks.sweep_pending_emails"

DEFAULT_SCHEDULES = [
    {"name": SWEEP_TASK_NAME, "task": SWEEP_TASK,
     "interval": {"every": 1, "period": "minutes"},
     "description": "Enqueues welcome and password-reset emails that could not be queued "
                    "(broker down) or whose message was lost."},
]
