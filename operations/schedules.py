"""Default periodic tasks of the operations console (created by backoffice.schedules)."""

DEFAULT_SCHEDULES = [
    {"name": "Prune task history", "task": "operations.tasks.prune_task_history",
     "crontab": {"minute": "30", "hour": "3"},
     "description": "Deletes finished task runs older than OPS_TASK_HISTORY_DAYS with "
                    "their task results, and old per-minute task counters."},
]
