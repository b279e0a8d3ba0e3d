"""Queue actions against the real Redis broker and a worker of the test's own.

The tests use a queue of their own (`ops-test`) so the session's worker is never paused or
purged: only the function-scoped worker started here consumes it.
"""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from maintenance import tasks
from operations import selectors
from operations.models import TaskRun
from operations.registry import worker_records
from operations.tests.ops_support import (
    ALL_OPS_PERMS,
    TEST_QUEUE,
    operator,
    staff_user,
    wait_for_state,
)
from tests.processes import CeleryWorker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def depth(queue=TEST_QUEUE) -> int:
    return selectors.queue_depths()[queue]


def test_purge_confirms_the_count_then_empties_the_real_redis_queue(client, ops_queue):
    client.force_login(operator())
    ids = [tasks.echo.apply_async((n,), queue=ops_queue).id for n in range(3)]
    assert depth() == 3

    confirm = client.get(reverse("admin:operations_queue_purge", args=[ops_queue]))
    assert confirm.status_code == 200
    assert 'data-count="3"' in confirm.text and f"Purge queue {ops_queue}" in confirm.text
    assert depth() == 3  # the confirmation page changes nothing

    response = client.post(reverse("admin:operations_queue_purge", args=[ops_queue]),
                           {"confirm": "yes"}, follow=True)
    assert "Purged 3 waiting message(s)" in response.text
    assert depth() == 0
    assert set(TaskRun.objects.filter(task_id__in=ids).values_list("state", flat=True)) == {
        "REVOKED"}


def test_a_paused_queue_is_not_consumed_until_resumed(client, ops_queue, queue_worker):
    client.force_login(operator())
    response = client.post(reverse("admin:operations_queue_pause", args=[ops_queue]),
                           follow=True)
    assert queue_worker.hostname in response.text  # the worker acknowledged the pause
    wait_until(lambda: all(ops_queue not in w["queues"] for w in worker_records()
                         if w["hostname"] == queue_worker.hostname), what="registry update")

    result = tasks.echo.apply_async(("waited",), queue=ops_queue)
    time.sleep(2)  # give a (wrongly) consuming worker every chance to take it
    assert depth() == 1
    assert TaskRun.objects.get(task_id=result.id).state == "QUEUED"
    overview = client.get(reverse("admin:operations_overview"))
    assert f"Queue {ops_queue} is paused (1 waiting)" in overview.text

    response = client.post(reverse("admin:operations_queue_resume", args=[ops_queue]),
                           follow=True)
    assert queue_worker.hostname in response.text
    assert result.get(timeout=30) == "waited"
    assert depth() == 0


def test_a_worker_started_while_the_queue_is_paused_stays_off_it(client, ops_queue,
                                                                 django_db_setup):
    client.force_login(operator())
    client.post(reverse("admin:operations_queue_pause", args=[ops_queue]))
    worker = CeleryWorker(queues=(ops_queue,), concurrency=1).start()
    try:
        record = wait_until(lambda: next((w for w in worker_records()
                                        if w["hostname"] == worker.hostname), None))
        assert ops_queue not in record["queues"]
        assert record["configured_queues"] == [ops_queue]
        client.post(reverse("admin:operations_queue_resume", args=[ops_queue]))
        assert tasks.echo.apply_async((7,), queue=ops_queue).get(timeout=30) == 7
    finally:
        worker.stop()


def test_revoke_takes_a_waiting_task_off_its_queue(client, ops_queue):
    client.force_login(operator())
    keep = tasks.echo.apply_async(("keep",), queue=ops_queue).id
    drop = tasks.echo.apply_async(("drop",), queue=ops_queue).id
    response = client.post(reverse("admin:operations_revoke", args=[drop]), follow=True)
    assert "removed from the queue" in response.text
    assert depth() == 1
    assert TaskRun.objects.get(task_id=drop).state == "REVOKED"
    assert TaskRun.objects.get(task_id=keep).state == "QUEUED"

    again = client.post(reverse("admin:operations_revoke", args=[drop]), follow=True)
    assert "Only waiting runs can be revoked" in again.text


def test_terminate_a_running_task_needs_its_own_permission(client, ops_queue, queue_worker):
    running = tasks.sleep.apply_async((30,), queue=ops_queue).id
    wait_for_state(running, "STARTED")
    client.force_login(operator())  # everything but terminate
    url = reverse("admin:operations_terminate", args=[running])
    overview = client.get(reverse("admin:operations_overview"))
    assert f'data-task-id="{running}"' in overview.text  # listed under "Running now"
    assert 'data-action="terminate"' not in overview.text
    assert client.post(url).status_code == 403

    client.force_login(staff_user("terminator", ALL_OPS_PERMS))
    overview = client.get(reverse("admin:operations_overview"))
    assert f'href="{url}?next=' in overview.text
    confirm = client.get(url)
    assert queue_worker.hostname in confirm.text and "running for" in confirm.text
    assert TaskRun.objects.get(task_id=running).state == "STARTED"  # asking changes nothing
    response = client.post(url, {"confirm": "yes"}, follow=True)
    assert queue_worker.hostname in response.text
    run = wait_for_state(running, "REVOKED")
    assert run.result == "terminated"
    again = client.post(url, {"confirm": "yes"}, follow=True)  # a second press is harmless
    assert "Only running runs can be terminated" in again.text
    assert TaskRun.objects.get(task_id=running).result == "terminated"


def test_bad_queue_input_is_refused_and_changes_nothing(client, ops_queue):
    client.force_login(operator())
    tasks.echo.apply_async((1,), queue=ops_queue)
    response = client.post(reverse("admin:operations_queue_purge", args=["nope"]),
                           {"confirm": "yes"}, follow=True)
    assert "Unknown queue &#x27;nope&#x27;" in response.text
    response = client.post(reverse("admin:operations_queue_resume", args=[ops_queue]),
                           follow=True)
    assert f"Queue {ops_queue} is not paused." in response.text
    assert client.get(reverse("admin:operations_queue_purge", args=["nope"])).status_code \
        == 404
    assert depth() == 1


def test_alerts_for_a_queue_nobody_serves_and_a_task_waiting_too_long(client, ops_queue,
                                                                        celery_worker, settings):
    settings.OPS_QUEUE_WAIT_ALERT_SECONDS = 60
    client.force_login(operator())
    waiting = tasks.echo.apply_async(("late",), queue=ops_queue).id
    TaskRun.objects.filter(task_id=waiting).update(
        queued_at=timezone.now() - timedelta(minutes=10))
    wait_until(lambda: any(w["online"] for w in worker_records()), what="an online worker")

    overview = client.get(reverse("admin:operations_overview"))

    assert f"No worker serves queue {ops_queue}." in overview.text
    assert f"Queue {ops_queue} is stuck: the oldest task has waited 6" in overview.text  # 600 s
    assert waiting[:8] in overview.text  # the oldest waiting task is linked


def test_worker_record_stays_fresh_without_celery_heartbeats(ops_queue, django_db_setup):
    worker = CeleryWorker(queues=(ops_queue,), concurrency=1)
    worker.argv.append("--without-heartbeat")
    worker.start()
    try:
        def record():
            return next((w for w in worker_records() if w["hostname"] == worker.hostname), None)

        first = wait_until(record, what="the worker's record")["heartbeat_at"]
        fresher = wait_until(lambda: (r := record()) and r["heartbeat_at"] > first and r,
                           what="a newer record")
        assert fresher["online"] and fresher["queues"] == [ops_queue]
        assert fresher["pool"] == "prefork" and fresher["concurrency"] == 1
    finally:
        worker.stop()
    stopped = next(w for w in worker_records() if w["hostname"] == worker.hostname)
    assert not stopped["online"]  # a clean shutdown marks it offline at once


def test_a_killed_worker_is_shown_offline(client, ops_queue, django_db_setup):
    worker = CeleryWorker(queues=(ops_queue,), concurrency=1).start()
    wait_until(lambda: any(w["hostname"] == worker.hostname for w in worker_records()))
    worker.kill()  # no clean shutdown: the record just stops getting fresher

    offline = wait_until(lambda: next((w for w in worker_records() if w["hostname"] ==
                                     worker.hostname and not w["online"]), None),
                       timeout=30, interval=0.5, what="the killed worker to go stale")
    assert offline["heartbeat_age"] > 0
    client.force_login(operator())
    overview = client.get(reverse("admin:operations_overview"))
    assert f'data-worker="{worker.hostname}" data-online="0"' in overview.text
