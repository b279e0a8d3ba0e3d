"""Every product task refuses malformed arguments on every path — the schedule form, Run
now, and the worker (which beat, a retry or a redelivered message reach) — with a clear
error and nothing done."""

import json

import pytest
from django.urls import reverse
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from backoffice.celery import app, import_task_modules
from backoffice.task_arguments import TaskArgumentsError, declaration
from maintenance.models import Backup, MaintenanceRun
from notifications.models import Notification, OutgoingEmail
from operations.models import TaskRun
from reports.models import DailyReport, WeeklyAnalytics

pytestmark = pytest.mark.django_db
DIAGNOSTIC = ("maintenance.tasks.noop", "maintenance.tasks.echo", "maintenance.tasks.total",
              "maintenance.tasks.fail", "maintenance.tasks.flaky", "maintenance.tasks.sleep")
CHANGELIST = "admin:django_celery_beat_periodictask_changelist"
WRITTEN = (TaskRun, MaintenanceRun, Backup, Notification, OutgoingEmail, DailyReport,
           WeeklyAnalytics, PeriodicTask)


def product_tasks() -> list[str]:
    import_task_modules()
    return sorted(name for name in app.tasks if not name.startswith("celery.")
                  and name not in DIAGNOSTIC)


def malformed(task_name: str) -> list[tuple[list, dict, str]]:
    """(args, kwargs, what the error says) that the task's declaration must refuse."""
    declared = declaration(app.tasks[task_name])
    fields = list(declared().fields)
    cases = [([], {"nonsense": 1}, "unknown argument(s): nonsense"),
             ([None] * (len(fields) + 2), {}, "positional argument(s)")]
    if fields:
        cases.append(([], {fields[0]: {"a": "dict"}}, f"{fields[0]}: "))
    return cases


def rows_written() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in WRITTEN}


def test_every_product_task_is_covered():
    names = product_tasks()
    assert "notifications.tasks.send_admin_notification" in names
    assert all(declaration(app.tasks[name]) is not None for name in names)


@pytest.mark.parametrize("task_name", product_tasks())
def test_the_worker_refuses_them_before_the_task_body(task_name):
    """What runs in a worker for any message, however it was sent (beat, a retry from the
    console, a redelivery): the declaration is checked before the body runs."""
    before = rows_written()
    for args, kwargs, says in malformed(task_name):
        with pytest.raises(TaskArgumentsError) as refused:
            app.tasks[task_name](*args, **kwargs)
        assert says in str(refused.value), (task_name, args, kwargs, str(refused.value))
    assert rows_written() == before


@pytest.fixture(params=[False, True], ids=["test", "DEBUG"])
def debug(request, settings):
    settings.DEBUG = request.param  # DEBUG on: as `make run` serves the admin


@pytest.mark.parametrize("task_name", product_tasks())
def test_the_schedule_form_refuses_them_and_saves_nothing(admin_client, debug, task_name):
    hourly = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    before = rows_written()
    for args, kwargs, says in malformed(task_name):
        response = admin_client.post(reverse("admin:django_celery_beat_periodictask_add"), {
            "name": "malformed", "regtask": task_name, "task": "", "enabled": "on",
            "interval": hourly.pk, "args": json.dumps(args), "kwargs": json.dumps(kwargs),
            "headers": "{}", "description": "", "queue": "", "exchange": "",
            "routing_key": "", "priority": "", "expires_0": "", "expires_1": "",
            "expire_seconds": "", "start_time_0": "", "start_time_1": "", "solar": "",
            "clocked": "", "crontab": ""})
        assert response.status_code == 200  # the form again, with the error
        assert says in response.content.decode(), (task_name, args, kwargs)
    assert rows_written() == before


@pytest.mark.parametrize("task_name", product_tasks())
def test_run_now_refuses_a_row_written_around_the_form_and_sends_nothing(admin_client, debug,
                                                                         task_name):
    hourly = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    rows = [PeriodicTask.objects.create(name=f"malformed {n}", task=task_name,
                                        interval=hourly, args=json.dumps(args),
                                        kwargs=json.dumps(kwargs))
            for n, (args, kwargs, _says) in enumerate(malformed(task_name))]
    before = rows_written()

    response = admin_client.post(reverse(CHANGELIST), {
        "action": "run_now", "_selected_action": [row.pk for row in rows]}, follow=True)

    page = response.content.decode()
    for row, (_args, _kwargs, says) in zip(rows, malformed(task_name), strict=True):
        assert f"{row.name}: nothing was sent: " in page and says in page, (task_name, says)
    assert rows_written() == before


def test_an_auditor_cannot_run_a_schedule_now(client):
    from accounts.roles import AUDITORS
    from tests.people import member

    hourly = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    row = PeriodicTask.objects.create(name="report", task="reports.tasks.generate_daily_report",
                                      interval=hourly)
    client.force_login(member("audrey", AUDITORS))
    before = rows_written()

    response = client.post(reverse(CHANGELIST), {"action": "run_now",
                                                 "_selected_action": [row.pk]}, follow=True)

    # The action is not offered to them: the list comes back, with no word of a send.
    assert response.status_code == 200 and list(response.context["messages"]) == []
    assert rows_written() == before
