"""Task arguments given in the admin are checked against what each task declares, and who
may run which task: the periodic task form, "Run now", enable/toggle, and the tasks."""

import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.roles import AUDITORS, OPERATORS
from backoffice.task_arguments import TaskArgumentsError
from maintenance import tasks
from maintenance.models import MaintenanceRun
from operations.models import TaskRun
from operations.tasks import prune_task_history
from operations.tests.ops_support import wait_for_state
from reports.models import ApiRequest
from tests.people import member

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:django_celery_beat_periodictask_changelist"



@pytest.fixture
def operator(django_user_model):
    return member("opal", OPERATORS)


@pytest.fixture
def auditor(django_user_model):
    return member("audrey", AUDITORS)


@pytest.fixture
def hourly():
    return IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)


def periodic(hourly, task, *, args=(), kwargs=None, enabled=True, name=None):
    return PeriodicTask.objects.create(name=name or f"{task} {args} {kwargs}", task=task,
                                       interval=hourly, args=json.dumps(list(args)),
                                       kwargs=json.dumps(kwargs or {}), enabled=enabled)


def old_api_row():
    return ApiRequest.objects.create(timestamp=timezone.now() - dt.timedelta(days=400),
                                     method="GET", route="/api/public/", status_code=200,
                                     ip="10.0.0.1", duration_ms=1.0)


def form_data(hourly, task, *, args="[]", kwargs="{}"):
    return {"name": "made in the admin", "regtask": task, "task": "", "enabled": "on",
            "interval": hourly.pk, "args": args, "kwargs": kwargs, "headers": "{}",
            "description": "", "queue": "", "exchange": "", "routing_key": "",
            "priority": "", "expires": "", "expire_seconds": "", "start_time": "",
            "total_run_count": "0"}


# --- Auditors press nothing -----------------------------------------------------------------

@pytest.mark.parametrize("action", ["enable_tasks", "disable_tasks", "toggle_tasks",
                                    "run_now"])
def test_auditor_cannot_press_any_schedule_action(client, auditor, hourly, action):
    on = periodic(hourly, "maintenance.tasks.noop", name="on")
    off = periodic(hourly, "maintenance.tasks.noop", name="off", enabled=False)
    client.force_login(auditor)

    client.post(reverse(CHANGELIST), {"action": action, "_selected_action": [on.pk, off.pk]})

    assert PeriodicTask.objects.get(pk=on.pk).enabled is True
    assert PeriodicTask.objects.get(pk=off.pk).enabled is False
    assert not MaintenanceRun.objects.exists()


# --- The periodic task form -----------------------------------------------------------------

@pytest.mark.parametrize(("task", "kwargs", "says"), [
    ("maintenance.tasks.cleanup_old_logs", '{"days": -1}', "days: must be at least"),
    ("maintenance.tasks.cleanup_old_logs", '{"days": "30"}', "days: A valid integer"),
    ("maintenance.tasks.cleanup_old_logs", '{"weeks": 4}', "unknown argument(s): weeks"),
    ("operations.tasks.prune_task_history", '{"days": 1}', "days: must be at least"),
    ("maintenance.tasks.send_test_email", '{"to": "someone@outside.example"}',
     "needs the maintenance.email_any_address permission"),
    ("maintenance.tasks.echo", "{}", "only superusers"),
])
def test_operator_form_refuses_bad_arguments_and_saves_nothing(client, operator, hourly, task,
                                                               kwargs, says):
    client.force_login(operator)

    response = client.post(reverse("admin:django_celery_beat_periodictask_add"),
                           form_data(hourly, task, kwargs=kwargs))

    assert response.status_code == 200  # the form again, with the error
    assert says in response.content.decode()
    assert not PeriodicTask.objects.filter(name="made in the admin").exists()


def test_operator_form_accepts_what_the_task_declares(client, operator, hourly):
    client.force_login(operator)

    response = client.post(reverse("admin:django_celery_beat_periodictask_add"),
                           form_data(hourly, "maintenance.tasks.cleanup_old_logs",
                                     kwargs='{"days": 60}'))

    assert response.status_code == 302, response.content.decode()[-3000:]
    assert PeriodicTask.objects.get(name="made in the admin").kwargs == '{"days": 60}'


def test_superuser_form_is_checked_too(admin_client, hourly):
    response = admin_client.post(reverse("admin:django_celery_beat_periodictask_add"),
                                 form_data(hourly, "maintenance.tasks.cleanup_old_logs",
                                           args="[-1]"))

    assert "days: must be at least" in response.content.decode()
    assert not PeriodicTask.objects.filter(name="made in the admin").exists()


# --- Run now and enabling -------------------------------------------------------------------

@pytest.mark.parametrize(("task", "args", "kwargs"), [
    ("maintenance.tasks.cleanup_old_logs", (), {"days": -1}),
    ("operations.tasks.prune_task_history", (1,), {}),
    ("maintenance.tasks.send_test_email", (), {"to": "someone@outside.example"}),
    ("maintenance.tasks.echo", ("hello",), {}),
])
def test_operator_run_now_refuses_and_sends_nothing(client, operator, hourly, task, args,
                                                    kwargs):
    schedule = periodic(hourly, task, args=args, kwargs=kwargs)
    client.force_login(operator)

    response = client.post(reverse(CHANGELIST),
                           {"action": "run_now", "_selected_action": [schedule.pk]}, follow=True)

    assert "nothing was sent" in response.content.decode()
    assert not MaintenanceRun.objects.exists()
    assert not TaskRun.objects.filter(name=task).exists()  # nothing was published


def test_operator_run_now_sends_an_operable_task(client, operator, hourly):
    schedule = periodic(hourly, "maintenance.tasks.cleanup_old_logs", kwargs={"days": 30})
    client.force_login(operator)

    client.post(reverse(CHANGELIST), {"action": "run_now", "_selected_action": [schedule.pk]})

    assert MaintenanceRun.objects.get().user == operator


def test_operator_cannot_enable_a_schedule_it_may_not_run(client, operator, hourly):
    bad = periodic(hourly, "maintenance.tasks.cleanup_old_logs", kwargs={"days": -1},
                   enabled=False, name="bad")
    good = periodic(hourly, "maintenance.tasks.cleanup_old_logs", enabled=False, name="good")
    client.force_login(operator)

    for action in ("enable_tasks", "toggle_tasks"):
        client.post(reverse(CHANGELIST), {"action": action, "_selected_action": [bad.pk]})
    client.post(reverse(CHANGELIST), {"action": "enable_tasks", "_selected_action": [good.pk]})

    assert PeriodicTask.objects.get(pk=bad.pk).enabled is False
    assert PeriodicTask.objects.get(pk=good.pk).enabled is True


# --- The tasks check their own arguments ----------------------------------------------------

def test_cleanup_refuses_bad_days_and_deletes_nothing():
    row = old_api_row()

    for days in (-1, 0, "30", 1.5):
        with pytest.raises(TaskArgumentsError, match="days"):
            tasks.cleanup_old_logs.apply(kwargs={"days": days}).get()

    assert ApiRequest.objects.filter(pk=row.pk).exists()


def test_prune_and_test_email_refuse_bad_arguments():
    with pytest.raises(TaskArgumentsError, match="days: must be at least"):
        prune_task_history.apply(args=(1,)).get()
    with pytest.raises(TaskArgumentsError, match="to:"):
        tasks.send_test_email.apply(kwargs={"to": "not an address"}).get()


@pytest.mark.django_db(transaction=True)
def test_a_worker_fails_the_task_with_the_reason(celery_worker):
    row = old_api_row()

    run = wait_for_state(tasks.cleanup_old_logs.delay(days=-1).id, "FAILURE", timeout=60)

    assert "TaskArgumentsError" in run.traceback and "days" in run.traceback
    assert ApiRequest.objects.filter(pk=row.pk).exists()
