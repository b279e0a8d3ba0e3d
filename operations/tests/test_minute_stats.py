"""Per-minute task counters: buffered per worker process, written in batches, flushed on stop."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Sum

from maintenance import tasks
from operations.minute_stats import minute_stats_add
from operations.models import TaskMinuteStat, TaskRun
from tests.processes import CeleryWorker, wait_until

QUEUE = "minute-stats-test"  # a queue of its own: no other worker of the suite takes these


def counted(queue: str = QUEUE) -> dict:
    return TaskMinuteStat.objects.filter(queue=queue).aggregate(
        ok=Sum("succeeded", default=0), bad=Sum("failed", default=0),
        timed=Sum("runtime_count", default=0))


def finished(ids) -> bool:
    done = TaskRun.objects.filter(task_id__in=ids, state__in=TaskRun.FINISHED_STATES)
    return done.count() == len(ids)


@pytest.mark.django_db
def test_runs_fold_into_one_counter_per_minute_and_queue_and_add_to_existing_ones():
    # A minute long past and queues of this test's own: the suite's live workers flush their
    # counters into the same table and must not show up in these counts.
    minute = datetime(2001, 1, 1, 12, 0, tzinfo=UTC)
    email, default = f"{QUEUE}-email", f"{QUEUE}-default"
    TaskMinuteStat.objects.create(minute=minute, queue=email, succeeded=2, runtime_sum=1.0,
                                  runtime_count=2)
    rows = [(minute, email, False, 0.5), (minute, email, True, None),
            (minute, default, False, 0.25), (minute - timedelta(minutes=1), email, False, 1.0)]

    assert minute_stats_add(rows=rows) == 4

    counter = TaskMinuteStat.objects.get(minute=minute, queue=email)
    assert (counter.succeeded, counter.failed, counter.runtime_sum, counter.runtime_count) == (
        3, 1, 1.5, 3)
    assert TaskMinuteStat.objects.get(minute=minute, queue=default).succeeded == 1
    assert TaskMinuteStat.objects.filter(queue__in=(email, default)).count() == 3


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_writes_its_counts_each_interval():
    worker = CeleryWorker(queues=(QUEUE,), extra_env={"TASK_STATS_FLUSH_SECONDS": "0.3"}).start()
    try:
        ids = [tasks.noop.apply_async(queue=QUEUE).id for _ in range(6)]
        ids.append(tasks.fail.apply_async(("counted",), queue=QUEUE).id)
        wait_until(lambda: counted() == {"ok": 6, "bad": 1, "timed": 7}, what="counts written")
    finally:
        worker.stop()
    assert finished(ids)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_that_stops_writes_the_counts_it_still_holds():
    worker = CeleryWorker(queues=(QUEUE,), extra_env={"TASK_STATS_FLUSH_SECONDS": "3600"}).start()
    try:
        ids = [tasks.noop.apply_async(queue=QUEUE).id for _ in range(4)]
        wait_until(lambda: finished(ids), what="runs finished")
        assert counted()["ok"] == 0  # still in the worker processes' buffers
    finally:
        worker.stop()
    assert counted() == {"ok": 4, "bad": 0, "timed": 4}
