"""Cleanup deletes exactly the rows older than the cut-off, in several bounded batches."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone
from django_celery_results.models import TaskResult

from backoffice.locks import job_lock
from maintenance import tasks
from maintenance.cleanup import delete_older_than, logs_cleanup
from operations.tests.ops_support import wait_for_state
from reports.models import ApiRequest, DailyReport

pytestmark = pytest.mark.django_db(transaction=True)

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def _log(ts):
    return ApiRequest(timestamp=ts, method="GET", route="/api/x/", status_code=200,
                      duration_ms=1.0)


@pytest.fixture(autouse=True)
def backup_dir(settings, tmp_path):
    settings.BACKUP_DIR = tmp_path / "backups"


def test_removes_exactly_the_rows_older_than_the_cutoff_in_several_batches():
    cutoff = NOW - dt.timedelta(days=30)
    # Old and recent rows interleaved by id, plus rows exactly at and just around the cut-off.
    rows = []
    for n in range(120):
        rows.append(_log(cutoff - dt.timedelta(hours=n + 1)))
        rows.append(_log(cutoff + dt.timedelta(hours=n)))
    rows += [_log(cutoff), _log(cutoff - dt.timedelta(microseconds=1)),
             _log(cutoff + dt.timedelta(microseconds=1))]
    ApiRequest.objects.bulk_create(rows)
    expected_kept = set(ApiRequest.objects.filter(timestamp__gte=cutoff)
                        .values_list("pk", flat=True))
    DailyReport.objects.create(date=dt.date(2026, 1, 1), generated_at=NOW - dt.timedelta(days=200))

    result = logs_cleanup(days=30, batch_size=25, now=NOW)

    assert set(ApiRequest.objects.values_list("pk", flat=True)) == expected_kept
    assert result["tables"]["reports.ApiRequest"] == 121
    assert result["batches"] > 5  # 243 ids in windows of 25
    assert DailyReport.objects.count() == 1  # report rows survive, so charts do


def test_windows_skip_gaps_in_ids():
    ApiRequest.objects.bulk_create([_log(NOW - dt.timedelta(days=40)) for _ in range(30)])
    ApiRequest.objects.filter(pk__in=ApiRequest.objects.order_by("pk")
                              .values_list("pk", flat=True)[5:25]).delete()
    stats = delete_older_than(model=ApiRequest, date_field="timestamp",
                              cutoff=NOW - dt.timedelta(days=30), batch_size=4)
    assert stats["deleted"] == 10 and not ApiRequest.objects.exists()
    assert stats["batches"] >= 3


def test_task_results_are_left_to_the_task_history_pruning():
    old = TaskResult.objects.create(task_id="old", status="SUCCESS")
    TaskResult.objects.filter(pk=old.pk).update(date_done=NOW - dt.timedelta(days=400))

    result = logs_cleanup(days=30, now=NOW)

    assert TaskResult.objects.filter(task_id="old").exists()
    assert "django_celery_results.TaskResult" not in result["tables"]
    assert "maintenance.Backup" in result["tables"]


def test_cleanup_runs_one_at_a_time():
    with job_lock("cleanup"):
        result = tasks.cleanup_old_logs.apply(kwargs={"days": 30}).get()
    assert result["status"] == "skipped"


@pytest.mark.worker
def test_cleanup_task_through_the_worker_returns_counts(celery_worker):
    now = timezone.now()
    ApiRequest.objects.bulk_create([_log(now - dt.timedelta(days=31)) for _ in range(7)]
                                   + [_log(now - dt.timedelta(days=29)) for _ in range(3)])

    run = wait_for_state(tasks.cleanup_old_logs.delay(days=30).id, "SUCCESS", timeout=60)

    result = json.loads(run.result)  # housekeeping: the task history keeps its result
    assert result["status"] == "success"
    assert result["tables"]["reports.ApiRequest"] == 7
    assert ApiRequest.objects.count() == 3
