"""One way to queue a task: the same outcome for every caller when the broker is down."""

import ast
from pathlib import Path

import pytest
from celery import chain

from backoffice.enqueue import QueueUnavailable, enqueue
from backoffice.launcher import BASE_DIR
from maintenance.tasks import echo

PRODUCT = ("accounts", "backoffice", "devmail", "maintenance", "notifications", "operations",
           "reports")
PUBLISHING_CALLS = {"delay", "apply_async", "send_task"}


def test_every_task_the_product_sends_goes_through_enqueue():
    """No `.delay()`, `.apply_async()` or `send_task()` outside backoffice/enqueue.py (tests
    and beat's scheduler, which Celery calls, aside)."""
    allowed = {Path("backoffice/enqueue.py"), Path("operations/beat.py")}
    found = []
    for app in PRODUCT:
        for path in (BASE_DIR / app).rglob("*.py"):
            relative = path.relative_to(BASE_DIR)
            if "tests" in relative.parts or "migrations" in relative.parts \
                    or relative in allowed:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        and node.func.attr in PUBLISHING_CALLS:
                    found.append(f"{relative}:{node.lineno} .{node.func.attr}()")
    assert found == []


def test_the_broker_down_is_one_clear_error(broker_down):
    with pytest.raises(QueueUnavailable, match=r"^Nothing was queued: the broker is "
                                                r"unreachable \("):
        enqueue("maintenance.tasks.echo", args=[1])
    with pytest.raises(QueueUnavailable):
        enqueue(chain(echo.s(1), echo.s()))  # a workflow: the same error


def test_a_worker_starting_while_the_broker_is_down_logs_and_goes_on(broker_down, caplog):
    from notifications.apps import sweep_when_a_worker_starts

    sweep_when_a_worker_starts()

    assert "the start-up sweep was not queued: Nothing was queued: the broker is " \
        "unreachable" in caplog.text


@pytest.mark.django_db(transaction=True)  # beat closes its database connection itself
def test_beat_with_the_broker_down_says_so_in_one_line_and_goes_on(broker_down, caplog):
    from datetime import timedelta

    from django.utils import timezone
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from backoffice.celery import app
    from operations.beat import CheckedEntry, HeartbeatDatabaseScheduler
    from operations.models import TaskRun

    every_minute = IntervalSchedule.objects.create(every=60, period="seconds")
    row = PeriodicTask.objects.create(
        name="Echo every minute", task="maintenance.tasks.echo", args="[1]",
        interval=every_minute, last_run_at=timezone.now() - timedelta(minutes=2))
    scheduler = HeartbeatDatabaseScheduler(app=app, lazy=True)

    with caplog.at_level("ERROR", logger="operations.beat"):
        sent = scheduler.apply_async(CheckedEntry(row, app=app), advance=False)

    assert sent is None
    [line] = [record for record in caplog.records if record.name == "operations.beat"]
    assert line.getMessage().startswith(
        "beat could not queue Echo every minute (maintenance.tasks.echo): nothing was queued, "
        "the broker is unreachable (")
    assert line.exc_info is None  # one line, no traceback
    assert not TaskRun.objects.filter(name="maintenance.tasks.echo").exists()
