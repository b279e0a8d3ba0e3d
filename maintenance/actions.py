"""One-click maintenance actions: what each button does, who may press it, and its runs.

Each press enqueues on the `maintenance` queue and records a MaintenanceRun (who, when,
what, task id). A second press while the first run is in flight is refused: the check, the
enqueue and the insert happen under a short Redis lock per action, so two clicks at the
same moment still make one run. A run's outcome is read from the task history
(maintenance.selectors.runs_with_outcomes), never copied.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from celery import chord, current_app
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from redis.exceptions import RedisError

from backoffice.enqueue import QueueUnavailable
from backoffice.enqueue import enqueue as enqueue_task
from backoffice.locks import redis_lock
from maintenance.models import MaintenanceRun
from maintenance.selectors import runs_with_outcomes
from maintenance.summaries import run_summary

QUEUE = "maintenance"
RESTORE = "restore"
ADMIN_NOTIFICATION_TASK = "notifications.tasks.send_admin_notification"


class ActionRefused(Exception):
    """The action cannot start now (in flight, unavailable, broker down); says why."""

    def __init__(self, message: str, run: MaintenanceRun | None = None):
        super().__init__(message)
        self.run = run


def _signature(name: str, *args, **kwargs):
    return current_app.signature(name, args=args, kwargs=kwargs, queue=QUEUE)


def _enqueue(name: str, **kwargs):
    return enqueue_task(name, kwargs=kwargs, queue=QUEUE)


def _backup(user):
    return _enqueue("maintenance.tasks.backup_database")


def _cleanup(user):
    return _enqueue("maintenance.tasks.cleanup_old_logs")


def _daily_report(user):
    from reports.periods import yesterday

    return _enqueue("reports.tasks.generate_daily_report", date=yesterday().isoformat())


def _weekly_analytics(user):
    return _enqueue("reports.tasks.process_api_analytics")


def _test_email(user):
    return _enqueue("maintenance.tasks.send_test_email", to=user.email,
                    requested_by=user.get_username())


def _full_analytics(user):
    # A chord: weekly analytics and yesterday's report in parallel, then one email to the
    # admins with both results. The run follows the callback, which finishes last.
    header = [_signature("reports.tasks.process_api_analytics"),
              _signature("reports.tasks.generate_daily_report")]
    return enqueue_task(chord(header, _signature(ADMIN_NOTIFICATION_TASK, "Analytics Complete")))


def _needs_email(user) -> str | None:
    return None if user.email else "your user has no email address"


@dataclass(frozen=True)
class Action:
    key: str
    label: str
    description: str
    permission: str
    enqueue: Callable
    unavailable: Callable | None = None
    confirm_url: str = ""  # URL name of the confirmation page the button leads to

    def reason_unavailable(self, user) -> str | None:
        return self.unavailable(user) if self.unavailable else None


ACTIONS: dict[str, Action] = {action.key: action for action in (
    Action("backup", "Back up now", "Write a verified backup of the important tables.",
           "maintenance.run_backup", _backup),
    Action("cleanup", "Clean up now",
           "Delete old API log rows, finished emails, old maintenance runs and old backups.",
           "maintenance.run_cleanup", _cleanup,
           confirm_url="admin:maintenance_cleanup_confirm"),
    Action("daily_report", "Regenerate yesterday's report",
           "Aggregate yesterday's API requests into its daily report again.",
           "maintenance.run_daily_report", _daily_report),
    Action("weekly_analytics", "Run weekly analytics", "Build last week's analytics row.",
           "maintenance.run_weekly_analytics", _weekly_analytics),
    Action("test_email", "Send a test email to me",
           "Send one email to your own address through the configured SMTP server.",
           "maintenance.send_test_email", _test_email, _needs_email),
    Action("full_analytics", "Full analytics",
           "Weekly analytics and yesterday's report in parallel, then notify the admins.",
           "maintenance.run_full_analytics", _full_analytics),
)}
RUN_PERMISSIONS = tuple(action.permission for action in ACTIONS.values())


def can_see_actions(user) -> bool:
    return user.is_active and user.is_staff and (
        user.has_perm("maintenance.view_maintenancerun")
        or any(user.has_perm(p) for p in RUN_PERMISSIONS))


def action_start(*, key: str, user) -> MaintenanceRun:
    """Record and enqueue one action for `user`. Raises PermissionDenied or ActionRefused."""
    action = ACTIONS.get(key)
    if action is None:
        raise ActionRefused(f"unknown action {key!r}")
    if not (user.is_active and user.is_staff and user.has_perm(action.permission)):
        raise PermissionDenied(f"you may not run {action.label!r}")
    reason = action.reason_unavailable(user)
    if reason:
        raise ActionRefused(f"{action.label} is not available: {reason}")
    return run_start(key=key, label=action.label, user=user,
                     enqueue=lambda: action.enqueue(user))


def restore_start(*, backup, user) -> MaintenanceRun:
    """Queue the restore of `backup` (a superuser's), one at a time; see maintenance.restore."""
    if not (user.is_active and user.is_superuser):
        raise PermissionDenied("only superusers may restore backups")
    return run_start(
        key=RESTORE, label=f"Restore backup {backup.file_name}", user=user,
        enqueue=lambda: _enqueue("maintenance.tasks.restore_backup", backup_id=backup.pk,
                                 user_id=user.pk))


def run_start(*, key: str, label: str, user, enqueue: Callable) -> MaintenanceRun:
    """Enqueue and record one run of `key` unless one is in flight (under a short lock,
    so two presses at the same moment still make one run)."""
    busy = ActionRefused(f"{label} is being started by someone else; try again")
    try:
        with redis_lock(f"action-start:{key}", timeout=30, wait=10, refused=busy):
            in_flight = runs_in_flight(key=key)
            if in_flight:
                busy_run = in_flight[0]
                raise ActionRefused(
                    f"{busy_run.label or label} is already in flight (started "
                    f"{timezone.localtime(busy_run.requested_at):%H:%M:%S} by "
                    f"{busy_run.user or 'someone'})", run=busy_run)
            try:
                result = enqueue()
            except QueueUnavailable as exc:
                raise ActionRefused(str(exc)) from exc
            run = run_record(key=key, label=label, user=user, task_id=result.id, queue=QUEUE)
    except RedisError as exc:  # the lock lives in the broker's Redis: nothing was queued
        raise ActionRefused(f"Nothing was queued: the broker is unreachable ({exc}).") from exc
    return runs_with_outcomes([run])[0]


def runs_in_flight(*, key: str) -> list[MaintenanceRun]:
    """The runs of an action whose task has not finished (older ones count as lost)."""
    recent = timezone.now() - dt.timedelta(seconds=settings.MAINTENANCE_RUN_STALE_SECONDS)
    runs = MaintenanceRun.objects.filter(action=key, requested_at__gte=recent).select_related(
        "user")
    return [run for run in runs_with_outcomes(runs) if not run.outcome.finished]


def run_record(*, key: str, label: str, user, task_id: str, queue: str) -> MaintenanceRun:
    """Record a trigger that started elsewhere (e.g. "Run now" on a periodic task)."""
    return MaintenanceRun.objects.create(action=key, label=label[:200], user=user,
                                         requested_at=timezone.now(), task_id=task_id,
                                         queue=queue or "")


def run_as_dict(run: MaintenanceRun) -> dict:
    """A run and its outcome (`runs_with_outcomes` sets it) as JSON for the page."""
    outcome = run.outcome
    return {
        "id": run.pk, "action": run.action, "label": run.label, "status": outcome.status,
        "status_display": outcome.status_display, "status_variant": outcome.status_variant,
        "finished": outcome.finished,
        "task_id": run.task_id, "queue": run.queue, "result": outcome.result,
        "error": outcome.error, "summary": run_summary(run),
        "user": run.user.get_username() if run.user else None,
        "requested_at": run.requested_at.isoformat(),
        "finished_at": outcome.finished_at.isoformat() if outcome.finished_at else None,
    }


def page_runs(*, limit: int = 15) -> tuple[list[MaintenanceRun], dict[str, MaintenanceRun]]:
    """The latest `limit` runs and the latest run of each action, with one outcome read per
    run, so a card and the list of recent runs always agree."""
    recent = list(MaintenanceRun.objects.select_related("user")[:limit])
    seen = {run.action for run in recent}
    older = [MaintenanceRun.objects.select_related("user").filter(action=key).first()
             for key in ACTIONS if key not in seen]
    runs = runs_with_outcomes([*recent, *(run for run in older if run is not None)])
    latest: dict[str, MaintenanceRun] = {}
    for run in runs:
        run.summary = run_summary(run)
        latest.setdefault(run.action, run)
    return runs[:len(recent)], latest
