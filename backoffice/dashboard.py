"""The admin index (dashboard): cards that later capabilities add to.

Only small, bounded queries run here; the live system status is fetched by the page
from /healthz so that a slow worker ping never slows the dashboard itself. The traffic
card's list of last nightly runs comes from the task history (operations), which the
reports app may not read, so it is added here.
"""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone


def dashboard_callback(request, context):
    """Unfold DASHBOARD_CALLBACK: add the dashboard's data to the index context."""
    from notifications.selectors import email_problems
    from operations.dashboard import nightly_runs, recent_task_summary
    from reports.dashboard import traffic_dashboard

    since = timezone.now() - timedelta(hours=24)
    traffic = traffic_dashboard(request.user)
    if traffic is not None:
        traffic["nightly"] = nightly_runs(user=request.user)
    context.update(
        {
            "healthz_url": reverse("healthz"),
            "tasks": recent_task_summary(since=since, user=request.user),
            "traffic": traffic,
            "email": ({**email_problems(), "url": reverse(
                "admin:notifications_outgoingemail_changelist") + "?problem=any"}
                if request.user.has_perm("notifications.view_outgoingemail") else None),
        }
    )
    return context
