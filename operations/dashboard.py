"""Dashboard reads about task runs (bounded, index-backed queries on the task history)."""

from django.db.models import Sum
from django.urls import reverse

from backoffice.housekeeping import housekeeping_task_names
from operations.models import TaskMinuteStat, TaskRun
from operations.selectors import unresolved_failure_count

RECENT_LIMIT = 8
NIGHTLY_TASKS = (
    ("reports.tasks.generate_daily_report", "Daily report"),
    ("reports.tasks.process_api_analytics", "Weekly analytics"),
    ("maintenance.tasks.backup_database", "Backup"),
    ("maintenance.tasks.cleanup_old_logs", "Cleanup"),
)
RUN_FIELDS = ("id", "task_id", "name", "state", "queued_at", "finished_at", "worker")


def _with_url(row: dict) -> dict:
    row["url"] = reverse("admin:operations_taskrun_change", args=[row["id"]])
    return row


def recent_task_summary(*, since, user) -> dict | None:
    """Counts of task runs finished since `since` and the latest few, or None without access.

    The counts come from the per-minute counters (at most 1,440 rows a day per queue), not
    from a COUNT over the history. Neither counts nor the latest runs include housekeeping.
    """
    if not user.has_perm("operations.view_taskrun"):
        return None
    sums = TaskMinuteStat.objects.filter(minute__gte=since).aggregate(
        succeeded=Sum("succeeded", default=0), failed=Sum("failed", default=0))
    latest = (TaskRun.objects.exclude(name__in=housekeeping_task_names())
              .order_by("-queued_at", "-id").values(*RUN_FIELDS)[:RECENT_LIMIT])
    return {
        **sums,
        "total": sums["succeeded"] + sums["failed"],
        # The Failed card counts the day's failures; its link opens the unresolved ones.
        "unresolved": unresolved_failures_shown(),
        "latest": [_with_url(row) for row in latest],
        "changelist_url": reverse("admin:operations_taskrun_changelist"),
        "failed_url": reverse("admin:operations_failedtaskrun_changelist"),
    }


def nightly_runs(*, user) -> list[dict]:
    """The latest run of each nightly task, finished or not (one indexed query per name).

    Links to the run only for users who may read the task history.
    """
    linked = user.has_perm("operations.view_taskrun")
    runs = []
    for task_name, label in NIGHTLY_TASKS:
        last = (TaskRun.objects.filter(name=task_name).order_by("-queued_at", "-id")
                .values(*RUN_FIELDS).first())
        if last and linked:
            _with_url(last)
        runs.append({"label": label, "task_name": task_name, "last": last})
    return runs


def unresolved_failures_shown() -> str:
    """How many failures are unresolved, as the sidebar and the dashboard show it ("99+")."""
    count, more = unresolved_failure_count()
    return f"{count}+" if more else str(count)


def failed_tasks_badge(request) -> str | None:
    """The sidebar badge of Failed tasks: how many failures are unresolved ("99+" past 99)."""
    if not request.user.has_perm("operations.view_taskrun"):
        return None
    shown = unresolved_failures_shown()
    return None if shown == "0" else shown
