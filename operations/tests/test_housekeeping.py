"""Housekeeping tasks (sweeps, pruning, cleanup): no result rows, not counted, hidden from
the task lists and the dashboard by default, shown by the "kind" filter."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_results.models import TaskResult

from backoffice.housekeeping import housekeeping_task_names
from maintenance import tasks
from operations.models import TaskMinuteStat, TaskRun
from operations.tasks import prune_task_history
from operations.tests.ops_support import auditor, wait_for_state

PRUNE = "operations.tasks.prune_task_history"
SWEEP = "notifications.tasks.sweep_outgoing_email"
ECHO = "maintenance.tasks.echo"


def test_the_housekeeping_tasks_are_marked_and_keep_no_results():
    assert housekeeping_task_names() == {
        PRUNE, SWEEP, "maintenance.tasks.cleanup_old_logs"}
    assert prune_task_history.ignore_result is True
    assert tasks.echo.ignore_result is False


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_through_the_worker_housekeeping_leaves_a_task_run_but_no_result_and_no_count(
        ops_queue, queue_worker):
    prune = prune_task_history.apply_async((30,), queue=ops_queue)
    echo = tasks.echo.apply_async(("hello",), queue=ops_queue)

    assert echo.get(timeout=60) == "hello"
    run = wait_for_state(prune.id, "SUCCESS")
    assert json.loads(run.result)["runs_deleted"] == 0
    assert run.worker == queue_worker.hostname
    assert not TaskResult.objects.filter(task_id=prune.id).exists()  # nor a STARTED row
    assert TaskResult.objects.get(task_id=echo.id).status == "SUCCESS"
    assert wait_for_state(echo.id, "SUCCESS").worker == queue_worker.hostname

    queue_worker.stop()  # a warm shutdown: every finished task's bookkeeping is written
    counted = TaskMinuteStat.objects.filter(queue=ops_queue).values_list("succeeded", flat=True)
    assert sum(counted) == 1  # the echo; the prune is not counted


def _runs(state="SUCCESS"):
    now = timezone.now()
    return {
        name: TaskRun.objects.create(
            task_id=f"{tag}-{state.lower()}-0000", name=name, state=state,
            queued_at=now - timedelta(minutes=n), finished_at=now - timedelta(minutes=n))
        for n, (tag, name) in enumerate((("hkprune", PRUNE), ("hksweep", SWEEP),
                                         ("plainrun", ECHO)))
    }


def _listed(client, url: str, **params) -> set[str]:
    page = client.get(url, params)
    assert page.status_code == 200
    return {tag for tag in ("hkprune", "hksweep", "plainrun") if tag in page.text}


@pytest.mark.django_db
@pytest.mark.parametrize("changelist, state", [
    ("admin:operations_taskrun_changelist", "SUCCESS"),
    ("admin:operations_failedtaskrun_changelist", "FAILURE"),
])
def test_task_lists_hide_housekeeping_until_the_filter_shows_it(admin_client, changelist,
                                                                state):
    _runs(state)
    url = reverse(changelist)

    assert _listed(admin_client, url) == {"plainrun"}
    assert _listed(admin_client, url, kind="housekeeping") == {"hkprune", "hksweep"}
    assert _listed(admin_client, url, kind="all") == {"hkprune", "hksweep", "plainrun"}
    assert _listed(admin_client, url, name=PRUNE) == {"hkprune"}  # picked by name: shown
    page = admin_client.get(url)
    assert "Without housekeeping" in page.text and "Housekeeping only" in page.text


@pytest.mark.django_db
def test_task_results_list_hides_housekeeping_until_the_filter_shows_it(admin_client):
    for task_id, name in (("hkprune-result", PRUNE), ("hksweep-result", SWEEP),
                          ("plainrun-result", ECHO)):
        TaskResult.objects.create(task_id=task_id, task_name=name, status="SUCCESS")
    url = reverse("admin:django_celery_results_taskresult_changelist")

    assert _listed(admin_client, url) == {"plainrun"}
    assert _listed(admin_client, url, kind="housekeeping") == {"hkprune", "hksweep"}
    assert _listed(admin_client, url, kind="all") == {"hkprune", "hksweep", "plainrun"}
    assert _listed(admin_client, url, task_name=SWEEP) == {"hksweep"}
    page = admin_client.get(url)
    assert "Without housekeeping" in page.text and "?kind=housekeeping" in page.text


@pytest.mark.django_db
def test_dashboard_latest_runs_come_from_the_history_without_housekeeping(admin_client):
    runs = _runs()
    waiting = TaskRun.objects.create(task_id="plainwait-0000", name=ECHO, state="QUEUED")

    latest = admin_client.get("/admin/").context["tasks"]["latest"]

    assert [row["task_id"] for row in latest] == [waiting.task_id, runs[ECHO].task_id]
    assert latest[1]["url"] == reverse("admin:operations_taskrun_change",
                                       args=[runs[ECHO].pk])
    assert latest[0]["state"] == "QUEUED" and latest[0]["finished_at"] is None


@pytest.mark.django_db
def test_dashboard_needs_the_task_history_permission_for_the_task_cards(client):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_user("plain", is_staff=True))
    assert client.get("/admin/").context["tasks"] is None
    client.force_login(auditor())
    assert client.get("/admin/").context["tasks"]["latest"] == []


@pytest.mark.django_db
def test_nightly_runs_card_reads_the_latest_run_of_each_task(admin_client):
    now = timezone.now()
    TaskRun.objects.create(task_id="cleanup-old", name="maintenance.tasks.cleanup_old_logs",
                           state="FAILURE", queued_at=now - timedelta(days=1))
    cleanup = TaskRun.objects.create(task_id="cleanup-new", state="STARTED",
                                     name="maintenance.tasks.cleanup_old_logs",
                                     queued_at=now - timedelta(minutes=5))

    response = admin_client.get("/admin/")

    nightly = {run["label"]: run["last"] for run in response.context["traffic"]["nightly"]}
    assert nightly["Cleanup"]["task_id"] == "cleanup-new"
    assert nightly["Cleanup"]["state"] == "STARTED"
    assert nightly["Backup"] is None
    url = reverse("admin:operations_taskrun_change", args=[cleanup.pk])
    assert f'href="{url}" data-state="STARTED"' in response.content.decode()
