"""Thin Celery tasks for maintenance: backups, restore, cleanup, the test email."""

from celery import shared_task
from django.conf import settings
from rest_framework import serializers

from backoffice.housekeeping import HOUSEKEEPING
from backoffice.task_arguments import (
    RetentionDays,
    StrictCharField,
    StrictIntegerField,
    TaskArguments,
)


class CleanupArguments(RetentionDays):
    setting = "LOG_RETENTION_DAYS"
    permission = "maintenance.run_cleanup"


class BackupArguments(TaskArguments):
    # No arguments: who started a backup is read from the record of the press (a
    # MaintenanceRun with the task's id), never from what the message says.
    operable = True
    permission = "maintenance.run_backup"


class RestoreArguments(TaskArguments):
    # Not operable: like the restore page, for superusers only.
    backup_id = StrictIntegerField(min_value=1)
    user_id = StrictIntegerField(required=False, allow_null=True, min_value=1)


class TestEmailArguments(TaskArguments):
    # Mail to an address typed into the admin leaves the building: its own permission.
    operable = True
    permission = "maintenance.email_any_address"
    to = serializers.EmailField(max_length=254)
    requested_by = StrictCharField(required=False, allow_blank=True, max_length=150)


# --- Backups, cleanup, test email ----------------------------------------------------------
# Hard/soft limits: well under the broker's visibility timeout (see settings); the lock in
# each service keeps runs one at a time across every worker.
_LIMITS = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(bind=True, name="maintenance.tasks.backup_database", queue="maintenance",
             arguments=BackupArguments,
             **_LIMITS)
def backup_database(self) -> dict:
    """Write a verified backup of the important tables (see maintenance.backups); once per
    scheduled slot."""
    from backoffice.locks import JobLocked, scheduled_slot_taken
    from maintenance.services import backup_create

    ran = scheduled_slot_taken(self.request)
    if ran:
        return {"status": "skipped", "reason": ran}
    try:
        backup = backup_create(triggered_by="schedule" if self.request.get("celery_beat_task")
                               else "", task_id=self.request.id)
    except JobLocked as exc:
        return {"status": "skipped", "reason": str(exc)}
    return {"status": "success", "backup_id": backup.pk, "file": backup.file_name,
            "size_bytes": backup.size_bytes, "sha256": backup.sha256,
            "rows": backup.total_rows}


@shared_task(bind=True, name="maintenance.tasks.restore_backup", queue="maintenance",
             arguments=RestoreArguments,
             **_LIMITS)
def restore_backup(self, backup_id: int, user_id: int | None = None) -> dict:
    """Verify and restore one Backup (see maintenance.restore); rows restored so far are
    readable in Redis while it runs (maintenance.restore_progress)."""
    from maintenance.models import Backup
    from maintenance.restore import backup_restore
    from maintenance.restore_progress import restore_progress_reporter

    backup = Backup.objects.filter(pk=backup_id).first()
    total = backup.total_rows if backup is not None and backup.row_counts else None
    report = restore_progress_reporter(self.request.id or "", total=total)
    return backup_restore(backup_id, on_rows=report)


@shared_task(bind=True, name="maintenance.tasks.cleanup_old_logs", queue="maintenance",
             arguments=CleanupArguments,
             **_LIMITS, **HOUSEKEEPING)
def cleanup_old_logs(self, days: int | None = None) -> dict:
    """Delete API log rows older than `days` (default LOG_RETENTION_DAYS, 30), expired task
    results, finished emails past their retention and old backups; counts per table. Once
    per scheduled slot."""
    from backoffice.locks import JobLocked, scheduled_slot_taken
    from maintenance.cleanup import logs_cleanup

    ran = scheduled_slot_taken(self.request)
    if ran:
        return {"status": "skipped", "reason": ran}
    try:
        return {"status": "success", **logs_cleanup(days=days)}
    except JobLocked as exc:
        return {"status": "skipped", "reason": str(exc)}


@shared_task(name="maintenance.tasks.send_test_email", queue="maintenance",
             arguments=TestEmailArguments)
def send_test_email(to: str, requested_by: str = "") -> dict:
    """Send one plain email through the configured SMTP settings (the "test email" button)."""
    from django.core.mail import EmailMessage
    from django.utils import timezone

    from notifications.mailer import Mailer  # signs with DKIM when configured

    message = EmailMessage(
        subject="Backoffice test email",
        body=(f"This is a test email from Backoffice ({settings.ENVIRONMENT_NAME}), "
              f"requested by {requested_by or to} at {timezone.now():%Y-%m-%d %H:%M %Z}.\n"
              "If you can read it, outgoing email works."),
        from_email=settings.DEFAULT_FROM_EMAIL, to=[to],
    )
    with Mailer() as mailer:
        outcome = mailer.send(message)
    if not outcome.ok:
        raise RuntimeError(f"the test email was not sent: {outcome.error}")
    return {"status": "success", "to": to, "sent": 1}


if settings.DIAGNOSTIC_TASKS:  # development, tests and benchmarks; never production
    from maintenance.diagnostics import FLAKY_KEY, echo, fail, flaky, noop, sleep, total  # noqa: E402, F401
