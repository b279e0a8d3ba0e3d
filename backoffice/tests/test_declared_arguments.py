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


def test_an_admin_notice_takes_texts_and_as_a_callback_the_previous_result_first():
    from notifications.tasks import AdminNoticeArguments

    assert AdminNoticeArguments.checked(["Backup done", "All good."]) == {
        "subject": "Backup done", "message": "All good."}
    assert AdminNoticeArguments.checked([{"rows": 3}, "Daily Report"]) == {
        "previous": {"rows": 3}, "subject": "Daily Report"}
    assert AdminNoticeArguments.checked([[1, 2]], {"subject": "Chord"})["previous"] == [1, 2]
    with pytest.raises(TaskArgumentsError, match="subject: Ensure this field has no more"):
        AdminNoticeArguments.checked(["x" * 201])
    with pytest.raises(TaskArgumentsError, match="message: Not a valid string"):
        AdminNoticeArguments.checked(["Subject", 42])
    with pytest.raises(TaskArgumentsError, match="at most 2 positional"):
        AdminNoticeArguments.checked([None, "a", "b", "c"])
    with pytest.raises(TaskArgumentsError, match="unknown argument"):
        AdminNoticeArguments.checked(["a"], {"to": "someone@example.com"})


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
    diagnostic = {f"maintenance.tasks.{name}"
                  for name in ("noop", "echo", "total", "fail", "flaky", "sleep")}
    undeclared = sorted(name for name, task in app.tasks.items()
                        if name.startswith(product) and name not in diagnostic
                        and getattr(task, "arguments", None) is None)
    assert undeclared == []
