"""Dashboard reads about recent task runs (bounded, index-backed queries)."""

from django.db.models import Count, Q
from django.urls import reverse
from django_celery_results.models import TaskResult

RECENT_LIMIT = 8


def recent_task_summary(*, since, user) -> dict | None:
    """Counts of task runs finished since `since` and the latest few, or None without access."""
    if not user.has_perm("django_celery_results.view_taskresult"):
        return None
    recent = TaskResult.objects.filter(date_done__gte=since)
    counts = recent.aggregate(
        total=Count("id"),
        succeeded=Count("id", filter=Q(status="SUCCESS")),
        failed=Count("id", filter=Q(status="FAILURE")),
    )
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
