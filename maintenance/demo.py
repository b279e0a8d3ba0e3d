"""What `manage.py demo` runs, and the few rows it makes for itself.

The demo never touches what staff made: emails go only to the user the demo registered
(an address on example.com), its bulk step sends a notification it composes itself, and
tasks that delete or overwrite data (cleanup, backup) are named, never run. Everything it
makes carries the `demo-` prefix (task ids, the user) or a "Demo:" subject.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from notifications.models import Notification
from reports.periods import day_bounds, last_full_week_start, yesterday

PREFIX = "demo-"
WELCOME = "notifications.tasks.send_welcome_email"
BULK = "notifications.tasks.send_bulk_notifications"
DAILY_REPORT = "reports.tasks.generate_daily_report"
WEEKLY_ANALYTICS = "reports.tasks.process_api_analytics"
ADMIN_NOTICE = "notifications.tasks.send_admin_notification"
NOTIFICATION_SUBJECT = "Demo: a bulk notification from manage.py demo"
NOT_RUN = [
    ("maintenance.tasks.cleanup_old_logs", "deletes old logs, results, emails and backups"),
    ("maintenance.tasks.backup_database", "writes a backup file of the database"),
]


def demo_task_id() -> str:
    """A task id that says the demo started the run (searchable in the task history)."""
    return f"{PREFIX}{uuid.uuid4()}"


def demo_name() -> str:
    return f"{PREFIX}{uuid.uuid4().hex[:8]}"


def logs_kept_since(day: dt.date) -> bool:
    """Whether the API log still holds every request since `day` (cleanup keeps
    LOG_RETENTION_DAYS), so a report recomputed from it loses nothing."""
    kept_from = timezone.now() - dt.timedelta(days=settings.LOG_RETENTION_DAYS)
    return day_bounds(day)[0] >= kept_from


def daily_report_args(context: dict) -> list | None:
    return [] if logs_kept_since(yesterday()) else None


def weekly_analytics_args(context: dict) -> list | None:
    # The week before it is read too, for the change against it.
    return [] if logs_kept_since(last_full_week_start() - dt.timedelta(days=7)) else None


def demo_user_args(context: dict) -> list | None:
    return [context["user_id"]] if context.get("user_id") else None


def notification_sending(notification_id: int | None) -> bool:
    """Whether the demo's notification is still on its way (started, not finished)."""
    if notification_id is None:
        return False
    return Notification.objects.filter(
        pk=notification_id, status__in=["scheduled", "sending"]).exists()


def demo_notification_args(context: dict) -> list | None:
    return [context["notification_id"]] if context.get("notification_id") else None


LOGS_GONE = "its period is older than LOG_RETENTION_DAYS: recomputing it would lose figures"
# The project's main tasks, with how to build their arguments (None: not run, for the reason).
MAIN_TASKS = [
    (WELCOME, demo_user_args, "needs the demo's own user (registration was skipped)"),
    ("notifications.tasks.send_password_reset_email", demo_user_args,
     "needs the demo's own user (registration was skipped)"),
    (BULK, demo_notification_args,
     "needs the demo's own user as its only recipient (registration was skipped)"),
    (ADMIN_NOTICE, lambda c: ["Demo: hello from manage.py demo",
                              "Sent by manage.py demo to show the admins' email."], ""),
    (DAILY_REPORT, daily_report_args, LOGS_GONE),
    (WEEKLY_ANALYTICS, weekly_analytics_args, LOGS_GONE),
]
DIAGNOSTIC_TASKS = [
    ("maintenance.tasks.noop", []),
    ("maintenance.tasks.echo", [{"hello": "demo"}]),
    ("maintenance.tasks.total", [[1, 2, 3]]),
    ("maintenance.tasks.fail", ["a failure on purpose: retry it from Failed tasks"]),
]


def demo_notification_create(*, user_id: int):
    """A draft notification whose only recipient is the demo's own user; None when the
    user is not one the demo registered."""
    user = get_user_model().objects.filter(
        pk=user_id, username__startswith=PREFIX, email__iendswith="@example.com").first()
    if user is None:
        return None
    notification = Notification.objects.create(
        subject=NOTIFICATION_SUBJECT, audience=Notification.Audience.USERS,
        html_body=f"<p>Hello {user.username}, this message shows a bulk send. "
                  "It went to the demo's own user only.</p>")
    notification.users.set([user])
    return notification
