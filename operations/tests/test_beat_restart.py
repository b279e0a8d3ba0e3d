"""Beat records each run before it sends it, so a killed and restarted beat sends each due run
once; what it sends carries only allowed headers; a task run twice for one slot works once."""

import datetime as dt
import json
import time
import uuid
from types import SimpleNamespace

import pytest
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from backoffice.locks import SLOT_HEADER, scheduled_slot_taken
from backoffice.redis_client import redis_client
from maintenance import tasks
from operations.beat import BEAT_HEARTBEAT_KEY, CheckedEntry, beat_last_heartbeat, scheduled_slot
from operations.models import TaskRun
from tests.broker import drop_waiting_messages
from tests.processes import CeleryBeat, wait_until


def runs_of(marker: str) -> list[TaskRun]:
    return list(TaskRun.objects.filter(args__contains=marker))


def beat_ticked_twice(since: float):
    """True once beat wrote two heartbeats after `since` (five seconds apart): every run that
    was due when it started has been sent by then."""
    last = beat_last_heartbeat()
    return last is not None and last >= since + 5


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_killed_beat_does_not_send_a_run_again_after_restart():
    PeriodicTask.objects.update(enabled=False)  # only this test's rows are due
    hourly = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    daily = CrontabSchedule.objects.create(minute="0", hour="4", timezone="UTC")
    long_ago = timezone.now() - dt.timedelta(days=3)
    markers = [f"beat-restart-{n}-{uuid.uuid4().hex[:8]}" for n in range(3)]
    for n, marker in enumerate(markers):
        schedule = {"crontab": daily} if n == 0 else {"interval": hourly}
        PeriodicTask.objects.create(
            name=marker, task="maintenance.tasks.echo", **schedule, last_run_at=long_ago,
            args=json.dumps([marker]),
            # Written straight to the database: beat must not send the protocol key.
            headers=json.dumps({"task": "maintenance.tasks.fail", "x-team": "ops"}))
    redis_client().delete(BEAT_HEARTBEAT_KEY)

    beat = CeleryBeat().start()
    try:
        wait_until(lambda: all(runs_of(marker) for marker in markers), timeout=90,
                   what=f"beat sending the three due runs\n{beat.log_tail()}")
    finally:
        beat.kill()  # SIGKILL: no shutdown sync
    sent = {marker: runs_of(marker) for marker in markers}

    restarted_at = time.time()
    again = CeleryBeat().start()
    try:
        wait_until(lambda: beat_ticked_twice(restarted_at), timeout=90,
                   what=f"the restarted beat ticking\n{again.log_tail()}")
    finally:
        again.stop()
        redis_client().delete(BEAT_HEARTBEAT_KEY)  # no later test mistakes it for its beat
        # The sent runs wait in their queue: no later test's worker runs them into its rows.
        drop_waiting_messages(["maintenance"])
    for marker in markers:
        runs = runs_of(marker)
        assert len(runs) == 1, (marker, [r.task_id for r in runs])
        assert runs[0].name == "maintenance.tasks.echo"  # not the smuggled header's task
        assert runs[0].task_id == sent[marker][0].task_id
    stored = PeriodicTask.objects.get(name=markers[-1])
    assert stored.last_run_at > long_ago and stored.total_run_count == 1


@pytest.mark.django_db
def test_every_send_of_one_due_run_names_the_same_slot():
    PeriodicTask.objects.all().delete()
    daily = CrontabSchedule.objects.create(minute="0", hour="2", timezone="UTC")
    hourly = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    last = dt.datetime(2026, 12, 4, 2, 0, 5, tzinfo=dt.UTC)
    nightly = PeriodicTask.objects.create(name="nightly", task="maintenance.tasks.noop",
                                          crontab=daily, last_run_at=last)
    every_hour = PeriodicTask.objects.create(name="hourly", task="maintenance.tasks.noop",
                                             interval=hourly, last_run_at=last)

    # Two beats (or one restarted before it wrote the run) build the entry from the same row.
    assert scheduled_slot(CheckedEntry(nightly)) == scheduled_slot(CheckedEntry(nightly)) \
        == "2026-12-05T02:00:00+00:00"
    assert scheduled_slot(CheckedEntry(every_hour)) == "2026-12-04T03:00:05+00:00"
    # Once the run is written, the next send is for the next slot.
    nightly.last_run_at = dt.datetime(2026, 12, 5, 2, 0, 1, tzinfo=dt.UTC)
    assert scheduled_slot(CheckedEntry(nightly)) == "2026-12-06T02:00:00+00:00"


def request(task_id, *, name="Cleanup old logs", slot="2026-12-06T03:00:00+00:00"):
    headers = {"periodic_task_name": name, SLOT_HEADER: slot} if name else {}
    return SimpleNamespace(id=task_id, get=headers.get)


def test_a_slot_runs_once_but_a_redelivered_message_runs_again():
    slot = f"2026-12-06T03:00:00+00:00-{uuid.uuid4().hex[:6]}"
    first, repeat = f"first-{slot}", f"repeat-{slot}"

    assert scheduled_slot_taken(request(first, slot=slot)) is None
    assert scheduled_slot_taken(request(first, slot=slot)) is None  # its worker died
    said = scheduled_slot_taken(request(repeat, slot=slot))
    assert said is not None and "already ran for its slot" in said and first in said
    assert scheduled_slot_taken(request(repeat, name="")) is None  # not from beat: runs


@pytest.mark.django_db(transaction=True)
def test_a_second_message_for_one_slot_skips_the_backup_and_the_cleanup(celery_worker):
    from maintenance.models import Backup
    from operations.tests.ops_support import wait_for_state

    slot = f"2026-12-06T02:00:00+00:00-{uuid.uuid4().hex[:6]}"
    headers = {"periodic_task_name": "Database backup", SLOT_HEADER: slot,
               "celery_beat_task": True}
    results = []
    for task in (tasks.backup_database, tasks.backup_database, tasks.cleanup_old_logs,
                 tasks.cleanup_old_logs):
        sent = task.apply_async(headers={**headers, "periodic_task_name": task.name})
        results.append(json.loads(wait_for_state(sent.id, "SUCCESS", timeout=90).result))

    assert results[0]["status"] == results[2]["status"] == "success"
    for repeat in (results[1], results[3]):
        assert repeat["status"] == "skipped" and "already ran for its slot" in repeat["reason"]
    backup = Backup.objects.get()
    assert backup.triggered_by == "schedule"
