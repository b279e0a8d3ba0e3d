"""Models of the maintenance app: backups, and the record of every maintenance run."""

from django.conf import settings
from django.db import models

from operations.models import TaskRun


class Backup(models.Model):
    """One backup file in BACKUP_DIR: what it holds, its checksum, and how it came to be."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCESS = "success", "Succeeded"
        FAILED = "failed", "Failed"

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    file_name = models.CharField(max_length=255, blank=True, help_text="inside BACKUP_DIR")
    size_bytes = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    row_counts = models.JSONField(default=dict, blank=True, help_text="model → rows")
    schema = models.JSONField(default=dict, blank=True,
                              help_text="app → latest applied migration when the backup ran")
    error = models.TextField(blank=True)
    triggered_by = models.CharField(max_length=100, blank=True,
                                    help_text="schedule, command, or the user who pressed it")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+", db_constraint=False)
    # The run that wrote it (none for `manage.py backup`), declared like MaintenanceRun.task:
    # pruning keeps the run for as long as the backup is kept.
    task = models.ForeignKey(TaskRun, to_field="task_id", db_column="task_id", null=True,
                             blank=True, db_constraint=False, on_delete=models.PROTECT,
                             related_name="backups")

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=["running", "success", "failed"]),
                                   name="maintenance_backup_status_valid"),
        ]

    def __str__(self):
        return f"Backup {self.started_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values()) if self.row_counts else 0


class MaintenanceRun(models.Model):
    """One press of a maintenance button (or "Run now"): who pressed what, when, and the task.

    The outcome is not copied here: it is read from the task's run (`task`), so there is
    one record of what the task did, and pruning keeps that run for as long as the press
    is kept.
    """

    action = models.CharField(max_length=50)
    label = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+", db_constraint=False)
    requested_at = models.DateTimeField(db_index=True)
    # The run is recorded once the broker has the message (a chord's callback, which a press
    # follows, only once its header finished): no database constraint, the task id is known
    # first. PROTECT: no run a press points at is deleted.
    task = models.ForeignKey(TaskRun, to_field="task_id", db_column="task_id", null=True,
                             blank=True, db_constraint=False, on_delete=models.PROTECT,
                             related_name="maintenance_runs")
    queue = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = "maintenance run"
        permissions = [
            ("run_backup", "Can start a backup"),
            ("run_cleanup", "Can start a cleanup"),
            ("run_daily_report", "Can regenerate yesterday's report"),
            ("run_weekly_analytics", "Can run weekly analytics"),
            ("send_test_email", "Can send a test email to oneself"),
            ("run_full_analytics", "Can run full analytics"),
            ("email_any_address", "Can schedule or run email to any address"),
        ]
        indexes = [models.Index(fields=["action", "-requested_at"], name="maint_run_action_time")]

    def __str__(self):
        by = f" by {self.user.get_username()}" if self.user else ""
        return f"{self.label or self.action}{by} at {self.requested_at:%Y-%m-%d %H:%M}"
