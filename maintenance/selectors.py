"""Reads: the outcomes of maintenance runs, backups and who started them."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, OuterRef, Subquery, prefetch_related_objects
from django.utils import timezone

from backoffice.locks import lock_timeout
from maintenance.models import Backup, MaintenanceRun

# --- The outcome of a maintenance run, read from the task history ---------------------------

RUN_STATUS_DISPLAY = {
    "queued": "Queued", "running": "Running", "success": "Succeeded", "failed": "Failed",
    "lost": "Lost (no result in time)", "unknown": "Unknown (no task record)",
}
RUN_STATUS_VARIANTS = {  # Unfold label colours
    "running": "info", "queued": "info", "success": "success", "failed": "danger",
    "lost": "warning", "unknown": "warning",
}
RUN_FINISHED = frozenset({"success", "failed", "lost", "unknown"})
_STATUS_OF_STATE = {"QUEUED": "queued", "STARTED": "running", "RETRY": "running",
                    "SUCCESS": "success", "FAILURE": "failed", "REVOKED": "failed"}


@dataclass(frozen=True)
class RunOutcome:
    """Where a maintenance run's task is: status, result or error, and when it finished."""

    status: str
    result: object = None
    error: str = ""
    finished_at: dt.datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in RUN_FINISHED

    @property
    def status_display(self) -> str:
        return RUN_STATUS_DISPLAY[self.status]

    @property
    def status_variant(self) -> str:
        return RUN_STATUS_VARIANTS[self.status]


def run_status(*, state: str | None, requested_at: dt.datetime) -> str:
    """A run's status from its task's state (None: no task record yet, or any more)."""
    status = _STATUS_OF_STATE.get(state or "", "queued")
    stale = timezone.now() - dt.timedelta(seconds=settings.MAINTENANCE_RUN_STALE_SECONDS)
    if status in ("queued", "running") and requested_at < stale:
        return "lost" if state else "unknown"
    return status


def run_outcome(run, task_run) -> RunOutcome:
    """The outcome of `run` given its TaskRun (or None)."""
    state = task_run.state if task_run else None
    status = run_status(state=state, requested_at=run.requested_at)
    if task_run is None or status not in ("success", "failed"):
        return RunOutcome(status)
    if status == "failed":
        return RunOutcome(status, error=task_run.result, finished_at=task_run.finished_at)
    try:
        result = json.loads(task_run.result) if task_run.result else None
    except ValueError:  # cut at the history's text limit
        result = task_run.result
    return RunOutcome(status, result=result, finished_at=task_run.finished_at)


def runs_with_outcomes(runs) -> list:
    """The runs, each with `.outcome` set (one query for all their task runs)."""
    runs = list(runs)
    prefetch_related_objects(runs, "task")  # a run not recorded (yet) reads as None
    for run in runs:
        run.outcome = run_outcome(run, run.task)
    return runs


def runs_with_task_state(queryset):
    """Annotate runs with their task's state and finish time (for lists and filters)."""
    return queryset.annotate(task_state=F("task__state"),
                             task_finished_at=F("task__finished_at"))


def backups_past_retention(*, keep_last: int | None = None, keep_days: int | None = None,
                           now: dt.datetime | None = None):
    """Backups that are neither among the newest `keep_last` successful ones nor younger
    than `keep_days` days; a row still "running" after its lock expired is one of them."""
    keep_last = settings.BACKUP_KEEP_LAST if keep_last is None else keep_last
    keep_days = settings.BACKUP_KEEP_DAYS if keep_days is None else keep_days
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=keep_days)
    newest = list(Backup.objects.filter(status=Backup.Status.SUCCESS)
                  .order_by("-started_at", "-id").values_list("pk", flat=True)[:keep_last])
    stale = now - dt.timedelta(seconds=lock_timeout())
    return Backup.objects.filter(started_at__lt=min(cutoff, stale)).exclude(pk__in=newest)


def backups_with_starter(queryset):
    """Backups annotated with `starter_name`: the user whose press (a MaintenanceRun with the
    backup's task id) started it, if any."""
    press = MaintenanceRun.objects.filter(task_id=OuterRef("task_id"))
    return queryset.annotate(starter_name=Subquery(press.values("user__username")[:1]))


def backup_started_by(backup) -> str:
    """Who or what started `backup`, in words: a user's press, the schedule, a command."""
    name = getattr(backup, "starter_name", None)
    if name is None and backup.task_id:
        name = (MaintenanceRun.objects.filter(task_id=backup.task_id)
                .values_list("user__username", flat=True).first())
    if name:
        return name
    if backup.user_id:  # backups made before presses were the record of who started one
        return backup.user.get_username() if backup.user else "a deleted user"
    return backup.triggered_by or "—"
