"""A database from before runs were tied to their results and presses to their runs: the
migrations tie the rows it holds."""

from __future__ import annotations

import pytest
from django.utils import timezone

from operations.tests.test_move_migration import migrate

BEFORE_THE_TIES = [("maintenance", "0005_task_history_moves_to_operations"),
                   ("operations", "0005_worker_control_permissions")]


def old_database(old) -> None:
    """Two runs (one with a stored result), a press of one, and a press with no task."""
    now = timezone.now()
    old.get_model("django_celery_results", "TaskResult").objects.create(
        task_id="stored", status="SUCCESS")
    for task_id in ("stored", "no-result-yet"):
        old.get_model("operations", "TaskRun").objects.create(
            task_id=task_id, name="maintenance.tasks.backup_database", state="SUCCESS",
            queued_at=now)
    press = old.get_model("maintenance", "MaintenanceRun")
    press.objects.create(action="backup", label="pressed", requested_at=now, task_id="stored")
    press.objects.create(action="cleanup", label="no task", requested_at=now, task_id="")


@pytest.mark.django_db(transaction=True)
def test_the_migrations_fill_the_new_relations_from_the_task_ids():
    try:
        old_database(migrate(BEFORE_THE_TIES))
    finally:
        migrate(None)

    from maintenance.models import MaintenanceRun
    from operations.models import TaskRun

    stored = TaskRun.objects.get(task_id="stored")
    assert stored.task_result.status == "SUCCESS"
    assert TaskRun.objects.get(task_id="no-result-yet").task_result_id == "no-result-yet"
    assert MaintenanceRun.objects.get(label="pressed").task == stored
    assert list(stored.maintenance_runs.values_list("label", flat=True)) == ["pressed"]
    assert MaintenanceRun.objects.get(label="no task").task_id is None
