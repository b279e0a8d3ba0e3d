"""Pruning the task history: old finished runs go in batches with their stored results,
waiting and recent runs stay; one rule for runs, results and group results."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_results.models import GroupResult, TaskResult

from maintenance import tasks as maintenance_tasks
from operations import services, tasks
from operations.models import TaskMinuteStat, TaskRun
from operations.tests.ops_support import wait_for_state

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_prune_task_runs_through_the_worker_in_batches(celery_worker):
    old = timezone.now() - timedelta(days=40)
    for n in range(7):
        TaskRun.objects.create(task_id=f"old-{n}", name="x", state="SUCCESS", queued_at=old)
    retried = TaskRun.objects.create(task_id="old-failed", name="x", state="FAILURE",
                                     queued_at=old)
    recent_retry = TaskRun.objects.create(task_id="new-retry", name="x", state="SUCCESS",
                                          retry_of=retried)
    TaskRun.objects.create(task_id="old-waiting", name="x", state="QUEUED", queued_at=old)
    TaskMinuteStat.objects.create(minute=old, queue="default", succeeded=3)

    run = wait_for_state(tasks.prune_task_history.delay(30).id, "SUCCESS")

    result = json.loads(run.result)  # housekeeping: the task history keeps its result

    assert result["runs_deleted"] == 8 and result["minute_rows_deleted"] == 1
    remaining = set(TaskRun.objects.filter(task_id__in=["new-retry", "old-waiting"])
                    .values_list("task_id", flat=True))
    assert remaining == {"new-retry", "old-waiting"}
    recent_retry.refresh_from_db()
    assert recent_retry.retry_of is None  # the link is cleared, the run kept
    assert not TaskRun.objects.filter(task_id__startswith="old-", state="SUCCESS").exists()


def test_prune_refuses_to_delete_everything():
    with pytest.raises(services.OpsError, match="at least one day"):
        services.task_history_prune(older_than_days=0)


def test_prune_in_small_batches_deletes_every_old_run():
    old = timezone.now() - timedelta(days=10)
    TaskRun.objects.bulk_create(TaskRun(task_id=f"b-{n}", name="x", state="FAILURE",
                                        queued_at=old) for n in range(5))
    assert services.task_history_prune(older_than_days=5, batch_size=2)["runs_deleted"] == 5
    assert not TaskRun.objects.filter(task_id__startswith="b-").exists()


def test_old_runs_go_with_their_stored_results_and_recent_ones_stay(celery_worker):
    old_echo = maintenance_tasks.echo.delay("old")
    recent_echo = maintenance_tasks.echo.delay("recent")
    assert old_echo.get(timeout=60) == "old" and recent_echo.get(timeout=60) == "recent"
    run = wait_for_state(old_echo.id, "SUCCESS")
    wait_for_state(recent_echo.id, "SUCCESS")
    assert run.task_result.status == "SUCCESS"  # the run and its stored result, tied
    assert TaskResult.objects.get(task_id=old_echo.id).task_run == run
    old = timezone.now() - timedelta(days=40)
    TaskRun.objects.filter(task_id=old_echo.id).update(queued_at=old)
    TaskResult.objects.filter(task_id=old_echo.id).update(date_done=old)
    for task_id in ("no-run-old", "no-run-recent"):  # stored, but the bookkeeping failed
        TaskResult.objects.create(task_id=task_id, status="SUCCESS")
    TaskResult.objects.filter(task_id="no-run-old").update(date_done=old)
    GroupResult.objects.create(group_id="old-group")
    GroupResult.objects.create(group_id="recent-group")
    GroupResult.objects.filter(group_id="old-group").update(date_done=old)

    pruned = services.task_history_prune(older_than_days=30)

    assert (pruned["runs_deleted"], pruned["results_deleted"],
            pruned["group_results_deleted"]) == (1, 2, 1)
    assert set(TaskRun.objects.values_list("task_id", flat=True)) == {recent_echo.id}
    assert set(TaskResult.objects.values_list("task_id", flat=True)) == {
        recent_echo.id, "no-run-recent"}
    assert list(GroupResult.objects.values_list("group_id", flat=True)) == ["recent-group"]


def test_the_runs_kept_for_other_rows_are_found_by_their_foreign_keys():
    relations = {(relation.related_model._meta.label, relation.name)
                 for relation in services.referencing_relations()}
    # retry_of / retried_as point from run to run: pruning clears them instead
    assert relations == {("maintenance.MaintenanceRun", "maintenance_runs"),
                         ("maintenance.Backup", "backups")}


def test_a_run_is_tied_to_the_result_of_its_own_task_id_only():
    from django.db import IntegrityError, transaction

    run = TaskRun.objects.create(task_id="mine", name="x")
    assert run.task_result_id == "mine"
    with pytest.raises(IntegrityError), transaction.atomic():
        TaskRun.objects.filter(pk=run.pk).update(task_result="someone-else")
