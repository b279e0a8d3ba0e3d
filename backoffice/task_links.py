"""Links into the task history admin, named in one place."""

from django.urls import reverse

TASK_HISTORY_ADMIN = "admin:operations_taskrun"


def task_run_url(task_id: str) -> str:
    """The one page of the run of `task_id` (it works before the run is recorded)."""
    return reverse("admin:operations_run", args=[task_id])
