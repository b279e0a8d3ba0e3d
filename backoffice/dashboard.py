"""The admin index (dashboard): cards that later capabilities add to.

Only small, bounded queries run here; the live system status is fetched by the page
from /healthz so that a slow worker ping never slows the dashboard itself.
"""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from maintenance.dashboard import recent_task_summary
from reports.dashboard import traffic_dashboard


def dashboard_callback(request, context):
    """Unfold DASHBOARD_CALLBACK: add the dashboard's data to the index context."""
    since = timezone.now() - timedelta(hours=24)
    context.update(
        {
            "healthz_url": reverse("healthz"),
            "tasks": recent_task_summary(since=since, user=request.user),
            "traffic": traffic_dashboard(request.user),
        }
    )
    return context
