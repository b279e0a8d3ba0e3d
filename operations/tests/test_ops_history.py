"""Task history through a real broker and worker: QUEUED → outcome, failures, retry, workflows."""

import json

import pytest
from celery import chain, chord, group
from django.urls import reverse

from backoffice.redis_client import redis_client
from maintenance import tasks
from operations import selectors, services
from operations.models import TaskMinuteStat, TaskRun
from operations.tests.ops_support import operator, wait_for_state
from tests.processes import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_enqueue_records_queued_then_the_worker_records_the_outcome(celery_worker):
    result = tasks.echo.delay({"a": [1, 2]})
    queued = TaskRun.objects.get(task_id=result.id)  # written by the publisher once it is sent
    assert queued.name == "maintenance.tasks.echo"
    assert queued.queue == "maintenance"
    assert json.loads(queued.args) == [{"a": [1, 2]}]

    assert result.get(timeout=30) == {"a": [1, 2]}
    run = wait_for_state(result.id, "SUCCESS")
    assert run.worker == celery_worker.hostname
    assert run.runtime is not None and run.started_at and run.finished_at
    assert json.loads(run.result) == {"a": [1, 2]}
    # Counted once the run is recorded, as the worker's last step.
    wait_until(lambda: TaskMinuteStat.objects.filter(queue="maintenance",
                                                     succeeded__gte=1).exists(),
               what="the minute counter")


def test_failed_task_is_listed_with_traceback_and_retry_links_both_runs(client, celery_worker):
    client.force_login(operator())
    failed_id = tasks.fail.apply_async(("kaboom",), queue="reports", priority=3).id
    failed = wait_for_state(failed_id, "FAILURE")
    assert "RuntimeError: kaboom" in failed.traceback

    listing = client.get(reverse("admin:operations_failedtaskrun_changelist"))
    assert listing.status_code == 200
    assert failed_id[:8] in listing.text
    detail = client.get(reverse("admin:operations_taskrun_change", args=[failed.pk]))
    assert "RuntimeError: kaboom" in detail.text

    response = client.post(reverse("admin:operations_retry", args=[failed_id]))
    assert response.status_code == 302
    failed.refresh_from_db()
    retry = failed.retried_as
    assert retry is not None and retry.retry_of_id == failed.pk
    assert retry.queue == "reports"  # the original queue, not the route's default
    assert retry.options["priority"] == 3
    rerun = wait_for_state(retry.task_id, "FAILURE")
    assert rerun.worker == celery_worker.hostname
    assert "RuntimeError: kaboom" in rerun.traceback
    detail = client.get(reverse("admin:operations_taskrun_change", args=[failed.pk]))
    assert retry.task_id in detail.text


def test_retry_of_a_flaky_task_succeeds_once_fixed(celery_worker):
    switch = "history-flaky"
    redis_client().delete(tasks.FLAKY_KEY.format(switch))
    failed = wait_for_state(tasks.flaky.delay(switch).id, "FAILURE")
    redis_client().set(tasks.FLAKY_KEY.format(switch), "1", ex=300)
    assert selectors.unresolved_failures().filter(pk=failed.pk).exists()
    retry = services.task_run_retry(task_run=failed)
    assert selectors.unresolved_failures().filter(pk=failed.pk).exists()  # still in flight
    assert wait_for_state(retry.task_id, "SUCCESS").retry_of_id == failed.pk
    wait_until(lambda: not selectors.unresolved_failures().filter(pk=failed.pk).exists(),
               what="the failure resolved by its retry")


def test_retry_all_of_a_name_goes_in_batches_and_skips_retried_and_discarded(celery_worker):
    switch = "batch-flaky"
    redis_client().delete(tasks.FLAKY_KEY.format(switch))
    ids = [tasks.flaky.delay(switch).id for _ in range(5)]
    runs = [wait_for_state(task_id, "FAILURE") for task_id in ids]
    redis_client().set(tasks.FLAKY_KEY.format(switch), "1", ex=300)  # retries now succeed
    services.task_runs_discard(task_runs=[runs[0]])
    services.task_run_retry(task_run=runs[1])

    retried = services.task_runs_retry_by_name(name="maintenance.tasks.flaky", batch_size=2)

    assert retried >= 3  # these three, and any other failure of the name still waiting
    for run in runs[2:]:
        run.refresh_from_db()
        assert run.retried_as is not None and run.retried_as.queue == run.queue
        assert wait_for_state(run.retried_as.task_id, "SUCCESS")
    runs[0].refresh_from_db()
    assert runs[0].retried_as is None and runs[0].discarded_at is not None
    with pytest.raises(services.OpsError, match="no failed run"):
        services.task_runs_retry_by_name(name="maintenance.tasks.flaky")


def test_workflow_view_shows_chain_group_and_chord_members(client, celery_worker):
    client.force_login(operator())
    chained = chain(tasks.echo.s([1, 2]), tasks.total.s()).apply_async()
    assert chained.get(timeout=30) == 3
    grouped = group(tasks.echo.s(n) for n in range(3)).apply_async()
    assert grouped.get(timeout=30) == [0, 1, 2]
    chorded = chord([tasks.echo.s(1), tasks.echo.s(2)])(tasks.total.s())
    assert chorded.get(timeout=30) == 3

    first = chained.parent.id
    page = client.get(reverse("admin:operations_workflow", args=[first]))
    assert page.status_code == 200
    assert 'data-kind="chain"' in page.text
    assert chained.id in page.text and first in page.text

    member = grouped.results[0].id
    page = client.get(reverse("admin:operations_workflow", args=[member]))
    assert 'data-kind="group"' in page.text
    assert all(r.id in page.text for r in grouped.results)

    wait_for_state(chorded.id, "SUCCESS")
    page = client.get(reverse("admin:operations_workflow", args=[chorded.id]))
    assert 'data-kind="chord"' in page.text
    header = TaskRun.objects.filter(options__in_chord=True, name="maintenance.tasks.echo")
    assert header.exists()
    assert {run.options["chord_callback"] for run in header} == {chorded.id}
    assert page.text.count('data-role="chord header member"') == 2
    assert page.text.count('data-role="chord callback"') == 1
    assert f'data-task-id="{chorded.id}"' in page.text
    assert page.text.count('data-state="SUCCESS"') >= 3

    missing = client.get(reverse("admin:operations_workflow", args=["no-such-task"]))
    assert missing.status_code == 404


def test_retrying_a_failed_chain_step_resumes_the_rest_of_the_chain(celery_worker):
    switch = "chain-flaky"
    redis_client().delete(tasks.FLAKY_KEY.format(switch))
    chain(tasks.flaky.s(switch), tasks.echo.s()).apply_async()
    failed = wait_until(lambda: TaskRun.objects.filter(
        name="maintenance.tasks.flaky", state="FAILURE", args=json.dumps([switch])).first())
    assert failed.options["chain"]  # the rest of the chain travelled with the message
    redis_client().set(tasks.FLAKY_KEY.format(switch), "1", ex=300)

    retry = services.task_run_retry(task_run=failed)

    wait_for_state(retry.task_id, "SUCCESS")
    follow_up = wait_until(lambda: TaskRun.objects.filter(
        name="maintenance.tasks.echo", parent_id=retry.task_id, state="SUCCESS").first())
    assert json.loads(follow_up.result) == f"switch {switch!r} is on"


def test_celery_retries_keep_one_history_row_with_the_retry_count(celery_worker):
    switch = "celery-retry"
    redis_client().delete(tasks.FLAKY_KEY.format(switch))
    task_id = tasks.flaky.apply_async((switch,), {"celery_retries": 2}).id

    run = wait_for_state(task_id, "FAILURE")

    assert run.retries == 2
    assert "switch 'celery-retry' is off" in run.traceback
    assert TaskRun.objects.filter(task_id=task_id).count() == 1


def test_bulk_admin_actions_retry_and_discard_the_selected(client, celery_worker):
    client.force_login(operator())
    failed = [TaskRun.objects.create(task_id=f"bulk-{n}", name="maintenance.tasks.echo",
                                     queue="default", state="FAILURE", args=json.dumps([n]),
                                     options={"queue": "default", "routing_key": "default"})
              for n in range(3)]
    changelist = reverse("admin:operations_failedtaskrun_changelist")

    response = client.post(changelist, {"action": "retry_selected",
                                        "_selected_action": [r.pk for r in failed[:2]]},
                           follow=True)
    assert "Sent 2 run(s) again" in response.text
    for run in failed[:2]:
        run.refresh_from_db()
        retry = wait_for_state(run.retried_as.task_id, "SUCCESS")
        assert retry.queue == "default" and json.loads(retry.result) == json.loads(run.args)[0]

    response = client.post(changelist, {"action": "discard_selected",
                                        "_selected_action": [failed[2].pk]}, follow=True)
    assert "Discarded 1 failed run(s)" in response.text
    assert "bulk-2" not in client.get(changelist).text
    failed[2].refresh_from_db()
    assert failed[2].discarded_at is not None and failed[2].state == "FAILURE"
