"""Dashboard reads about recent task runs (bounded, index-backed queries)."""

from django.db.models import Sum
from django.urls import reverse
from django_celery_results.models import TaskResult

from maintenance.models import TaskMinuteStat

RECENT_LIMIT = 8


def recent_task_summary(*, since, user) -> dict | None:
    """Counts of task runs finished since `since` and the latest few, or None without access.

    The counts come from the operations console's per-minute counters (at most 1,440 rows a
    day per queue), not from a COUNT over a result table that may hold millions of rows.
    """
    if not user.has_perm("django_celery_results.view_taskresult"):
        return None
    sums = TaskMinuteStat.objects.filter(minute__gte=since).aggregate(
        succeeded=Sum("succeeded", default=0), failed=Sum("failed", default=0))
    counts = {**sums, "total": sums["succeeded"] + sums["failed"]}
    latest = list(
        TaskResult.objects.order_by("-date_done").values(
            "id", "task_id", "task_name", "status", "date_done", "worker"
        )[:RECENT_LIMIT]
    )
    changelist = reverse("admin:django_celery_results_taskresult_changelist")
    for row in latest:
        row["url"] = reverse("admin:django_celery_results_taskresult_change", args=[row["id"]])
    return {
        **counts,
        "latest": latest,
        "changelist_url": changelist,
        "failed_url": f"{changelist}?status__exact=FAILURE",
    }
