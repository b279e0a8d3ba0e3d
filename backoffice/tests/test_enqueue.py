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
