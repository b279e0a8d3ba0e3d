"""Default periodic tasks of the notifications app (created by backoffice.schedules)."""

SWEEP_TASK_NAME = "Send pending emails (sweep)"
SWEEP_TASK = "notifications.tasks.sweep_pending_emails"
RESUME_TASK_NAME = "Resume stalled notifications (sweep)"
RESUME_TASK = "notifications.tasks.resume_stalled_notifications"

DEFAULT_SCHEDULES = [
    {"name": SWEEP_TASK_NAME, "task": SWEEP_TASK,
     "interval": {"every": 1, "period": "minutes"},
     "description": "Enqueues welcome and password-reset emails that could not be queued "
                    "(broker down) or whose message was lost."},
    {"name": RESUME_TASK_NAME, "task": RESUME_TASK,
     "interval": {"every": 1, "period": "minutes"},
     "description": "Re-issues the batches of sending notifications whose batches vanished "
                    "(broker restarted empty, worker host died): only the recipients that "
                    "no live batch holds."},
]
