"""Links into the task history admin, named in one place."""

from django.urls import reverse

TASK_HISTORY_ADMIN = "admin:operations_taskrun"


def task_run_url(task_id: str) -> str:
    """The task history filtered to one task id: it works before the run's row exists."""
    return f"{reverse(f'{TASK_HISTORY_ADMIN}_changelist')}?q={task_id}"
