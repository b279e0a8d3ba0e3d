"""A backup points at the run that wrote it: the migration ties existing rows, and pruning
keeps a run for as long as a backup points at it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from operations.tests.test_move_migration import migrate

BEFORE_THE_TIE = [("maintenance", "0006_maintenance_run_task_fk")]


def old_database(old) -> None:
    """Three backups: one whose run exists, one whose run was pruned, one with no task."""
    now = timezone.now()
    old.get_model("operations", "TaskRun").objects.create(
        task_id="kept-run", name="maintenance.tasks.backup_database", state="SUCCESS",
        queued_at=now)
    backup = old.get_model("maintenance", "Backup")
    backup.objects.create(started_at=now, triggered_by="run exists", task_id="kept-run")
    backup.objects.create(started_at=now, triggered_by="run pruned", task_id="gone-run")
    backup.objects.create(started_at=now, triggered_by="command", task_id="")


@pytest.mark.django_db(transaction=True)
def test_the_migration_ties_backups_to_their_runs_and_clears_unknown_ones():
    try:
        old_database(migrate(BEFORE_THE_TIE))
    finally:
        migrate(None)

    from maintenance.models import Backup
    from operations.models import TaskRun

    tied = Backup.objects.get(triggered_by="run exists")
    assert tied.task == TaskRun.objects.get(task_id="kept-run")
    assert list(tied.task.backups.all()) == [tied]
    assert Backup.objects.get(triggered_by="run pruned").task_id is None
    assert Backup.objects.get(triggered_by="command").task_id is None


@pytest.mark.django_db
def test_pruning_keeps_a_run_a_backup_points_at_and_deletes_an_unreferenced_one():
    from maintenance.models import Backup
    from operations.models import TaskRun
    from operations.services import task_history_prune

    old = timezone.now() - timedelta(days=40)
    for task_id in ("backup-run", "lone-run"):
        TaskRun.objects.create(task_id=task_id, name="maintenance.tasks.backup_database",
                               state="SUCCESS", queued_at=old)
    Backup.objects.create(started_at=old, status="success", task_id="backup-run")

    assert task_history_prune(older_than_days=30)["runs_deleted"] == 1

    assert list(TaskRun.objects.values_list("task_id", flat=True)) == ["backup-run"]
    assert Backup.objects.get().task.task_id == "backup-run"
