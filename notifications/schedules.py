"""Default periodic tasks of the notifications app (created by backoffice.schedules)."""

SWEEP_TASK_NAME = "Outgoing email sweep"
SWEEP_TASK = "notifications.tasks.sweep_outgoing_email"

DEFAULT_SCHEDULES = [
    {"name": SWEEP_TASK_NAME, "task": SWEEP_TASK,
     "interval": {"every": 1, "period": "minutes"},
     "description": "Takes back email whose worker died (its lease ended) and queues it "
                    "again, queues email whose task was lost, and finishes notifications "
                    "with nothing left to send."},
]
