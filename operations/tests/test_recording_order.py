"""Writes of one task id arrive out of order when a retried run's next attempt starts in
another pool process before the attempt that raised has finished its bookkeeping."""

from types import SimpleNamespace

import pytest

from operations import recording
from operations.models import TaskRun

pytestmark = pytest.mark.django_db

TASK = "maintenance.tasks.flaky"


def attempt(task_id: str, retries: int):
    request = SimpleNamespace(id=task_id, retries=retries, delivery_info={"routing_key": "m"},
                              parent_id=None, root_id=None, group=None, hostname="w@h")
    return SimpleNamespace(name=TASK, request=request)


def publish(task_id: str, retries: int) -> None:
    headers = {"id": task_id, "task": TASK, "retries": retries}
    recording.record_queued(sender=TASK, body=([], {}, {}), exchange="", routing_key="m",
                            headers=headers, properties={}, declare=None)
    recording.record_published(headers=headers)


def test_a_retry_published_before_the_next_attempt_starts_marks_the_run_retry():
    publish("t-1", 0)
    first = attempt("t-1", 0)
    recording.record_started(task_id="t-1", task=first, args=[], kwargs={})
    publish("t-1", 1)  # the attempt that raised sends the next one under the same id

    run = TaskRun.objects.get(task_id="t-1")
    assert run.state == TaskRun.State.RETRY and run.retries == 0
    assert run.options["queue"] == "m"


def test_late_writes_of_an_earlier_attempt_never_overwrite_a_later_one():
    publish("t-2", 0)
    first, second = attempt("t-2", 0), attempt("t-2", 1)
    recording.record_started(task_id="t-2", task=first, args=[], kwargs={})
    recording.record_started(task_id="t-2", task=second, args=[], kwargs={})
    recording.record_finished(task_id="t-2", task=second, retval=None,
                              state=TaskRun.State.FAILURE)
    # Only now does the first attempt's process write its retry and its end.
    publish("t-2", 1)
    recording.record_retry(request=first.request, reason="switch is off")
    recording.record_finished(task_id="t-2", task=first, retval=None,
                              state=TaskRun.State.RETRY)

    run = TaskRun.objects.get(task_id="t-2")
    assert run.state == TaskRun.State.FAILURE and run.retries == 1
    assert TaskRun.objects.filter(task_id="t-2").count() == 1
