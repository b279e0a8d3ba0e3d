"""A task's declared arguments are checked every time it runs, however it was sent."""

import pytest

from backoffice.task_arguments import TaskArgumentsError
from maintenance.tasks import cleanup_old_logs
from reports.tasks import generate_daily_report


def test_a_direct_call_with_bad_arguments_fails_with_the_reason():
    with pytest.raises(TaskArgumentsError, match="date"):
        generate_daily_report("not-a-date")
    with pytest.raises(TaskArgumentsError, match="unknown argument"):
        generate_daily_report(nonsense=1)
    with pytest.raises(TaskArgumentsError, match="days: must be at least"):
        cleanup_old_logs(days=1)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_message_sent_around_the_admin_is_refused_by_the_worker(celery_worker):
    from backoffice.enqueue import enqueue

    result = enqueue("reports.tasks.generate_daily_report", kwargs={"date": "yesterday-ish"})

    with pytest.raises(TaskArgumentsError, match="date"):
        result.get(timeout=60, propagate=True)


def test_every_product_task_declares_its_arguments():
    from backoffice.celery import app

    app.loader.import_default_modules()
    product = ("accounts.", "notifications.", "reports.", "maintenance.", "operations.",
               "backoffice.", "devmail.")
    # A chain/chord callback takes the previous result first, of any shape.
    callbacks = {"notifications.tasks.send_admin_notification"}
    diagnostic = {f"maintenance.tasks.{name}"
                  for name in ("noop", "echo", "total", "fail", "flaky", "sleep")}
    undeclared = sorted(name for name, task in app.tasks.items()
                        if name.startswith(product) and name not in callbacks | diagnostic
                        and getattr(task, "arguments", None) is None)
    assert undeclared == []
