"""Models of the operations console: the task history and the per-minute counters."""

from django.db import models
from django.utils import timezone
from django_celery_results.models import TaskResult


class TaskRun(models.Model):
    """One task run, from the moment the project enqueues it until it finishes: the record
    every console page, metric and pruning reads.

    The result backend (django-celery-results) stores its `TaskResult` once a worker has
    finished the task; `task_result` is that row (same task id). The run adds what the
    result does not know: that it is still waiting (QUEUED), the worker, retries, the
    routing options needed to retry it exactly as it was sent, and the run it retries.
    Pruning deletes a run and its result together, and never a run that another model's
    foreign key points at (operations.services.task_history_prune).
    """

    class State(models.TextChoices):
        QUEUED = "QUEUED", "Queued"
        STARTED = "STARTED", "Started"
        RETRY = "RETRY", "Waiting to retry"
        SUCCESS = "SUCCESS", "Succeeded"
        FAILURE = "FAILURE", "Failed"
        REVOKED = "REVOKED", "Revoked"

    FINISHED_STATES = (State.SUCCESS, State.FAILURE, State.REVOKED)

    task_id = models.CharField(max_length=255, unique=True)
    # The result row appears only once a worker stores it (never for tasks that ignore
    # their result), hence no database constraint; it always carries the run's task id.
    task_result = models.OneToOneField(
        TaskResult, to_field="task_id", null=True, blank=True, db_constraint=False,
        on_delete=models.DO_NOTHING, related_name="task_run",
        help_text="The result the result backend stored for this run (same task id)",
    )
    name = models.CharField(max_length=255)
    queue = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    args = models.TextField(blank=True, default="[]", help_text="Positional arguments (JSON)")
    kwargs = models.TextField(blank=True, default="{}", help_text="Keyword arguments (JSON)")
    options = models.JSONField(
        default=dict, blank=True, help_text="Routing and execution options the run was sent with"
    )
    worker = models.CharField(max_length=255, blank=True)
    retries = models.PositiveIntegerField(default=0)
    result = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    runtime = models.FloatField("run time (seconds)", null=True, blank=True,
                                help_text="from the start of the run to its end")
    parent_id = models.CharField(max_length=255, blank=True)
    root_id = models.CharField(max_length=255, blank=True)
    group_id = models.CharField(max_length=255, blank=True)
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The failed run this run retries",
    )
    retried_as = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The latest run that retried this one",
    )
    discarded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When a retry of this failed run, or of one of its retries, succeeded",
    )

    class Meta:
        ordering = ("-queued_at", "-id")
        indexes = [
            models.Index(fields=["-queued_at", "-id"], name="taskrun_queued_idx"),
            models.Index(fields=["state", "-queued_at", "-id"], name="taskrun_state_idx"),
            models.Index(fields=["name", "-queued_at"], name="taskrun_name_idx"),
            models.Index(fields=["queue", "state", "-queued_at"], name="taskrun_queue_idx"),
            models.Index(fields=["root_id"], name="taskrun_root_idx"),
            models.Index(fields=["group_id"], name="taskrun_group_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(task_result__isnull=True)
                | models.Q(task_result=models.F("task_id")),
                name="taskrun_result_same_task_id"),
        ]
        permissions = [
            ("can_retry_tasks", "Can retry failed tasks"),
            ("can_discard_tasks", "Can discard failed tasks"),
            ("can_purge_queues", "Can purge queues"),
            ("can_pause_queues", "Can pause and resume queues"),
            ("can_revoke_tasks", "Can revoke waiting tasks"),
            ("can_terminate_tasks", "Can terminate running tasks"),
            ("can_rate_limit_tasks", "Can set and clear task rate limits on workers"),
            ("can_scale_workers", "Can grow, shrink and autoscale worker pools"),
            ("can_restart_workers", "Can restart worker pools"),
            ("can_shutdown_workers", "Can shut workers down"),
        ]

    def __str__(self) -> str:
        return f"{self.name} [{self.task_id}] {self.state}"

    def save(self, *args, **kwargs):
        """Save the run, tied to its result row by its task id."""
        self.task_result_id = self.task_id
        super().save(*args, **kwargs)


class FailedTaskRun(TaskRun):
    """The failed runs, as their own admin list (a proxy: same rows, other page)."""

    class Meta:
        proxy = True
        verbose_name = "failed task"
        verbose_name_plural = "failed tasks"


class TaskMinuteStat(models.Model):
    """Finished runs per minute and queue, so charts and metrics never scan the history."""

    minute = models.DateTimeField()
    queue = models.CharField(max_length=100)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    runtime_sum = models.FloatField(default=0.0)
    runtime_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["minute", "queue"], name="taskminutestat_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.queue}: {self.succeeded}/{self.failed}"
