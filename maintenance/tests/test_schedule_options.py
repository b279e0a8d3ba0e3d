"""A periodic task runs the task whose permission was checked: its headers and routing come
from an allow-list in the form, in "Run now" and when beat sends it; staff other than
superusers get no interval shorter than the minimum; arguments are bounded."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from accounts.roles import AUDITORS, OPERATORS
from backoffice.task_arguments import TaskArgumentsError
from maintenance import tasks
from maintenance.models import MaintenanceRun
from maintenance.periodic_tasks import periodic_task_options
from operations.beat import CheckedEntry
from operations.models import TaskRun
from tests.people import member

pytestmark = pytest.mark.django_db

ADD = "admin:django_celery_beat_periodictask_add"
CHANGELIST = "admin:django_celery_beat_periodictask_changelist"
CLEANUP = "maintenance.tasks.cleanup_old_logs"
PROTOCOL_KEYS = ["task", "id", "root_id", "parent_id", "group", "shadow", "argsrepr",
                 "kwargsrepr", "origin", "retries", "eta", "expires", "timelimit", "lang",
                 "ignore_result", "stamped_headers", "periodic_task_name", "scheduled_slot",
                 "celery_beat_task", "X-Task", "x_task"]


@pytest.fixture
def operator():
    return member("opal", OPERATORS)


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-Root-123")


@pytest.fixture(params=["operator", "superuser"])
def editor(request, client):
    user = request.getfixturevalue(request.param)
    client.force_login(user)
    return user


@pytest.fixture
def hourly():
    return IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)


def form_data(hourly, **changes):
    data = {"name": "made in the admin", "regtask": CLEANUP, "task": "", "enabled": "on",
            "interval": hourly.pk, "args": "[]", "kwargs": "{}", "headers": "{}",
            "description": "", "queue": "", "exchange": "", "routing_key": "",
            "priority": "", "expires_0": "", "expires_1": "", "expire_seconds": "",
            "start_time_0": "", "start_time_1": "", "solar": "", "clocked": "", "crontab": ""}
    return {**data, **changes}


def interval_data(every, period):
    """The interval form with its (empty) inline of periodic tasks."""
    return {"every": str(every), "period": period, "periodictask_set-TOTAL_FORMS": "0",
            "periodictask_set-INITIAL_FORMS": "0", "periodictask_set-MIN_NUM_FORMS": "0",
            "periodictask_set-MAX_NUM_FORMS": "1000"}


def existing(hourly):
    return PeriodicTask.objects.create(name="existing", task=CLEANUP, interval=hourly)


def assert_refused(response, says, before):
    body = response.content.decode()
    assert response.status_code == 200, body[-2000:]  # the form again, with the error
    assert says in body, body[-3000:]
    rows = list(PeriodicTask.objects.order_by("pk").values())
    assert rows == before


# --- Every field of the add and change forms, for each role --------------------------------

BAD_FIELDS = [
    ("name", "", "This field is required"),
    ("name", "n" * 201, "at most 200 characters"),
    ("regtask", "", "Need name of task"),
    ("task", "no.such.task", "is not registered"),  # regtask is emptied for this one
    ("interval", "", "must be set"),
    ("args", "not json", "Unable to parse JSON"),
    ("args", "[30, 31]", "takes at most 1 positional"),
    ("kwargs", '{"days": 10000000000000000000000}', "days: Ensure this value"),
    ("kwargs", '{"weeks": 4}', "unknown argument(s): weeks"),
    ("headers", "not json", "Enter a JSON object"),
    ("headers", "[]", "headers must be a JSON object"),
    ("headers", '{"x-nested": {"a": 1}}', "the value must be a text"),
    ("headers", json.dumps({"x-long": "v" * 201}), "at most 200 characters"),
    ("queue", "nowhere", "is not one of this project&#x27;s queues"),
    ("exchange", "nowhere", "is not one of this project&#x27;s queues"),
    ("routing_key", "nowhere", "is not one of this project&#x27;s queues"),
    ("priority", "10", "priority must be between 0 and 9"),
    ("expire_seconds", "-1", "greater than or equal to 0"),
    ("start_time_0", "not a day", "Enter a valid date"),
    ("expires_0", "2026-13-45", "Enter a valid date"),
    ("crontab", "999999", "Select a valid choice"),
]


@pytest.mark.parametrize("on_change", [False, True], ids=["add", "change"])
@pytest.mark.parametrize(("field", "value", "says"), BAD_FIELDS,
                         ids=[f"{f}={v[:12]}" for f, v, _ in BAD_FIELDS])
def test_each_field_refuses_a_bad_value_and_changes_nothing(client, editor, hourly, on_change,
                                                             field, value, says):
    url = reverse(ADD)
    if on_change:
        url = reverse("admin:django_celery_beat_periodictask_change",
                      args=[existing(hourly).pk])
    before = list(PeriodicTask.objects.order_by("pk").values())
    changes = {field: value, **({"regtask": ""} if field == "task" else {})}

    response = client.post(url, form_data(hourly, **changes))

    assert_refused(response, says, before)


@pytest.mark.parametrize("key", PROTOCOL_KEYS)
def test_protocol_headers_are_refused_for_every_role(client, editor, hourly, key):
    before = list(PeriodicTask.objects.order_by("pk").values())
    headers = json.dumps({key: "maintenance.tasks.restore_backup"})

    response = client.post(reverse(ADD), form_data(hourly, headers=headers))

    assert_refused(response, "header(s) not allowed", before)


def test_allowed_values_in_every_option_field_are_saved(client, editor, hourly):
    response = client.post(reverse(ADD), form_data(
        hourly, headers='{"x-team": "ops", "x-attempt": 2}', queue="maintenance",
        exchange="maintenance", routing_key="maintenance", priority="5", expire_seconds="600",
        kwargs='{"days": 60}', description="nightly"))

    assert response.status_code == 302, response.content.decode()[-3000:]
    saved = PeriodicTask.objects.get(name="made in the admin")
    assert json.loads(saved.headers) == {"x-team": "ops", "x-attempt": 2}
    assert (saved.queue, saved.priority, saved.expire_seconds) == ("maintenance", 5, 600)


def test_an_auditor_cannot_open_or_post_the_forms(client, hourly):
    client.force_login(member("audrey", AUDITORS))
    task = existing(hourly)

    assert client.get(reverse(ADD)).status_code == 403
    response = client.post(reverse("admin:django_celery_beat_periodictask_change",
                                   args=[task.pk]), form_data(hourly, name="renamed"))

    assert response.status_code == 403
    assert PeriodicTask.objects.get(pk=task.pk).name == "existing"


# --- A row written straight to the database -------------------------------------------------

def smuggled(hourly, **fields):
    return PeriodicTask.objects.create(
        name="smuggled", task=CLEANUP, interval=hourly,
        headers=json.dumps({"task": "maintenance.tasks.restore_backup", "id": "forged",
                            "x-team": "ops"}), **fields)


def test_beat_sends_a_smuggled_row_without_its_protocol_headers(hourly, caplog):
    row = smuggled(hourly, queue="nowhere", priority=200)

    options = CheckedEntry(row).options

    assert options["headers"] == {"x-team": "ops", "periodic_task_name": "smuggled"}
    assert "queue" not in options and "priority" not in options
    assert "not sent with id, task, priority, queue" in caplog.text


def test_run_now_refuses_a_smuggled_row_and_sends_nothing(admin_client, hourly):
    row = smuggled(hourly)

    response = admin_client.post(reverse(CHANGELIST),
                                 {"action": "run_now", "_selected_action": [row.pk]},
                                 follow=True)

    assert "nothing was sent: header(s) not allowed: id, task" in response.content.decode()
    assert not MaintenanceRun.objects.exists()
    assert not TaskRun.objects.filter(name="maintenance.tasks.restore_backup").exists()
    assert "task" not in periodic_task_options(row)["headers"]


def test_an_operator_cannot_enable_a_smuggled_row(client, operator, hourly):
    row = smuggled(hourly, enabled=False)
    client.force_login(operator)

    client.post(reverse(CHANGELIST), {"action": "enable_tasks", "_selected_action": [row.pk]})

    assert PeriodicTask.objects.get(pk=row.pk).enabled is False


# --- The shortest interval -----------------------------------------------------------------

def test_an_operator_cannot_make_or_shorten_an_interval_below_the_minimum(client, operator):
    shared = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    client.force_login(operator)

    made = client.post(reverse("admin:django_celery_beat_intervalschedule_add"),
                       interval_data(1, "seconds"))
    changed = client.post(reverse("admin:django_celery_beat_intervalschedule_change",
                                  args=[shared.pk]), interval_data(59, "seconds"))

    for response in (made, changed):
        assert response.status_code == 200
        assert "intervals shorter than 60 seconds are for superusers only" in \
            response.content.decode()
    assert IntervalSchedule.objects.get(pk=shared.pk).every == 5
    assert not IntervalSchedule.objects.filter(period="seconds").exists()


def test_an_operator_may_use_a_minute_and_a_superuser_a_second(client, operator, superuser):
    client.force_login(operator)
    assert client.post(reverse("admin:django_celery_beat_intervalschedule_add"),
                       interval_data(60, "seconds")).status_code == 302
    client.force_login(superuser)
    assert client.post(reverse("admin:django_celery_beat_intervalschedule_add"),
                       interval_data(1, "seconds")).status_code == 302
    assert sorted(IntervalSchedule.objects.filter(period="seconds")
                  .values_list("every", flat=True)) == [1, 60]


def test_an_operator_cannot_attach_or_enable_a_short_interval(client, operator):
    fast = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)
    off = PeriodicTask.objects.create(name="fast", task=CLEANUP, interval=fast, enabled=False)
    before = list(PeriodicTask.objects.order_by("pk").values())
    client.force_login(operator)

    response = client.post(reverse(ADD), form_data(fast))
    assert_refused(response, "intervals shorter than 60 seconds", before)
    for action in ("enable_tasks", "toggle_tasks"):
        client.post(reverse(CHANGELIST), {"action": action, "_selected_action": [off.pk]})
    assert PeriodicTask.objects.get(pk=off.pk).enabled is False


# --- Bounded arguments ------------------------------------------------------------------------

@pytest.mark.parametrize("value", [2**31, 10**30, -(10**30)])
def test_huge_numbers_are_refused_with_a_reason_not_an_overflow(value):
    with pytest.raises(TaskArgumentsError, match="days"):
        tasks.cleanup_old_logs.apply(kwargs={"days": value}).get()
    with pytest.raises(TaskArgumentsError, match="backup_id"):
        tasks.RestoreArguments.checked(kwargs={"backup_id": value})


def test_a_backup_takes_no_arguments_so_nobody_can_name_who_started_it(client, operator,
                                                                        hourly):
    client.force_login(operator)
    before = list(PeriodicTask.objects.order_by("pk").values())

    response = client.post(reverse(ADD), form_data(
        hourly, regtask="maintenance.tasks.backup_database",
        kwargs=json.dumps({"triggered_by": "user:root", "user_id": 1})))

    assert_refused(response, "unknown argument(s): triggered_by, user_id", before)


def test_run_now_message_is_stamped_with_the_row_name_only(hourly):
    row = PeriodicTask.objects.create(name="plain", task=CLEANUP, interval=hourly,
                                      headers='{"x-team": "ops"}',
                                      last_run_at=timezone.now())
    assert periodic_task_options(row)["headers"] == {"x-team": "ops",
                                                     "periodic_task_name": "plain"}
