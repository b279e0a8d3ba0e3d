"""Pruning the task history: old finished runs go in batches, waiting and recent runs stay."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

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
