"""Default schedules (idempotent, owned by staff) and the periodic task admin's extras."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from celery import current_app
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from kombu import Exchange, Queue

from backoffice.celery import import_task_modules
from backoffice.redis_client import redis_client
from backoffice.schedules import default_schedules
from maintenance.models import MaintenanceRun
from maintenance.periodic_tasks import next_run_at, periodic_task_options, schedule_description
from operations.beat import BEAT_HEARTBEAT_KEY, beat_last_heartbeat
from tests.processes import CeleryBeat, wait_until

pytestmark = pytest.mark.django_db


def test_setup_schedules_creates_the_defaults_once_and_never_overwrites():
    PeriodicTask.objects.all().delete()
    out = StringIO()
    call_command("setup_schedules", stdout=out)
    assert "Prune task history: created" in out.getvalue()
    tasks = {t.name: t for t in PeriodicTask.objects.select_related("crontab")}
    assert tasks["Daily report"].task == "reports.tasks.generate_daily_report"
    assert (tasks["Daily report"].crontab.minute, tasks["Daily report"].crontab.hour) == ("10",
                                                                                         "0")
    weekly = tasks["Weekly analytics"].crontab
    assert (weekly.minute, weekly.hour, weekly.day_of_week) == ("0", "1", "1")
    assert tasks["Database backup"].crontab.hour == "2"
    assert tasks["Cleanup old logs"].crontab.hour == "3"
    assert tasks["Database backup"].task == "maintenance.tasks.backup_database"
    assert tasks["Cleanup old logs"].task == "maintenance.tasks.cleanup_old_logs"
    prune = tasks["Prune task history"]
    assert prune.task == "operations.tasks.prune_task_history"
    assert (prune.crontab.minute, prune.crontab.hour) == ("30", "3")

    # Staff change one and delete another: a second run keeps the change, re-adds the other.
    PeriodicTask.objects.filter(name="Daily report").update(enabled=False)
    PeriodicTask.objects.filter(name="Cleanup old logs").delete()
    out = StringIO()
    call_command("setup_schedules", stdout=out)
    assert "Daily report: exists" in out.getvalue()
    assert "Cleanup old logs: created" in out.getvalue()
    assert PeriodicTask.objects.get(name="Daily report").enabled is False
    assert PeriodicTask.objects.filter(name="Cleanup old logs").count() == 1
    assert CrontabSchedule.objects.filter(minute="10", hour="0").count() == 1


def test_the_registry_collects_each_apps_declarations():
    by_app = {}
    for entry in default_schedules():
        by_app.setdefault(entry["app"], set()).add(entry["name"])
    assert by_app == {
        "reports": {"Daily report", "Weekly analytics"},
        "maintenance": {"Database backup", "Cleanup old logs"},
        "operations": {"Prune task history"},
        "notifications": {"Outgoing email sweep"},
    }
    call_command("setup_schedules", verbosity=0)
    assert set(PeriodicTask.objects.values_list("name", flat=True)) >= {
        name for names in by_app.values() for name in names}


def test_a_name_declared_twice_is_refused(monkeypatch):
    reports = apps.get_app_config("reports")
    sweep = {**apps.get_app_config("notifications").schedules[0]}
    monkeypatch.setattr(reports, "schedules", (*reports.schedules, sweep))
    with pytest.raises(ImproperlyConfigured, match="declared by notifications and reports"):
        default_schedules()


def test_every_default_schedule_runs_a_registered_task():
    import_task_modules()  # what a worker and beat import at start
    for entry in default_schedules():
        assert entry["task"] in current_app.tasks, entry["name"]


def test_no_default_schedule_runs_more_often_than_once_a_minute():
    PeriodicTask.objects.all().delete()
    call_command("setup_schedules", verbosity=0)
    names = {entry["name"] for entry in default_schedules()}
    tasks = PeriodicTask.objects.filter(name__in=names).select_related("interval", "crontab")
    assert tasks.count() == len(names)
    for task in tasks:
        assert task.interval or task.crontab, task.name  # no solar or one-off defaults
        if task.interval:
            gap = task.interval.schedule.run_every
        else:
            first = _crontab_due_after(task.crontab, dt.datetime(2026, 11, 24, tzinfo=dt.UTC))
            gap = _crontab_due_after(task.crontab, first) - first
        assert gap >= dt.timedelta(seconds=60), task.name


def _crontab_due_after(crontab, moment):
    start, delta, _ = crontab.schedule.remaining_delta(moment)
    return start + delta


def test_the_email_sweep_runs_every_minute():
    from backoffice.schedules import schedules_ensure

    PeriodicTask.objects.all().delete()
    assert schedules_ensure()["Outgoing email sweep"] == "created"
    sweep = PeriodicTask.objects.get(name="Outgoing email sweep")
    assert sweep.task == "notifications.tasks.sweep_outgoing_email"
    assert (sweep.interval.every, sweep.interval.period) == (1, IntervalSchedule.MINUTES)


def test_readable_schedule_and_next_run():
    now = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)  # a Tuesday
    nightly = CrontabSchedule.objects.create(minute="0", hour="2", timezone="UTC")
    weekly = CrontabSchedule.objects.create(minute="0", hour="1", day_of_week="1",
                                            timezone="UTC")
    every5 = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    a = PeriodicTask.objects.create(name="a", task="x", crontab=nightly)
    b = PeriodicTask.objects.create(name="b", task="x", crontab=weekly)
    c = PeriodicTask.objects.create(name="c", task="x", interval=every5,
                                    last_run_at=now - dt.timedelta(minutes=2))
    d = PeriodicTask.objects.create(name="d", task="x", interval=every5, enabled=False)

    assert schedule_description(a).startswith("At 02:00")
    assert "Monday" in schedule_description(b)
    assert schedule_description(c) == "every 5 minutes"
    assert next_run_at(a, now=now) == dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.UTC)
    assert next_run_at(b, now=now) == dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)
    assert next_run_at(c, now=now) == now + dt.timedelta(minutes=3)
    assert next_run_at(d, now=now) is None


def test_changelist_shows_schedule_and_next_run(admin_client):
    call_command("setup_schedules", verbosity=0)
    page = admin_client.get(reverse("admin:django_celery_beat_periodictask_changelist"))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Next run" in body and "At 02:00" in body and "Run selected tasks now" in body


def test_run_now_sends_with_the_tasks_own_queue_and_options(admin_client, admin_user,
                                                            settings):
    queue = "run-now-test"  # no worker consumes it, so the message can be read back
    settings.CELERY_QUEUE_NAMES = (*settings.CELERY_QUEUE_NAMES, queue)
    redis = redis_client()
    for key in redis.keys(f"{queue}*"):
        redis.delete(key)
    with current_app.connection_for_write() as connection:  # bind it, as a worker would
        Queue(queue, Exchange(queue, type="direct"), routing_key=queue)(
            connection.default_channel).declare()
    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    task = PeriodicTask.objects.create(
        name="echo hourly", task="maintenance.tasks.echo", interval=every,
        args=json.dumps(["hello"]), queue=queue, exchange=queue, routing_key=queue, priority=7,
        expire_seconds=600, headers=json.dumps({"x-origin": "test"}))
    assert periodic_task_options(task)["expires"] == 600

    response = admin_client.post(reverse("admin:django_celery_beat_periodictask_changelist"),
                                 {"action": "run_now", "_selected_action": [task.pk]},
                                 follow=True)

    assert response.status_code == 200
    run = MaintenanceRun.objects.get(action="run_periodic_task")
    assert (run.user, run.queue, run.label) == (admin_user, queue, "Run now: echo hourly")
    keys = redis.keys(f"{queue}*")  # kombu keeps one list per priority step
    assert len(keys) == 1
    message = json.loads(redis.lpop(keys[0]))
    assert message["headers"]["id"] == run.task_id
    assert message["headers"]["task"] == "maintenance.tasks.echo"
    assert message["headers"]["periodic_task_name"] == "echo hourly"
    assert message["headers"]["x-origin"] == "test"
    assert message["headers"]["expires"] is not None
    assert message["properties"]["priority"] == 7
    assert message["properties"]["delivery_info"]["routing_key"] == queue


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_beat_adds_no_default_schedule_of_its_own():
    """Every default is declared in the registry: Celery's backend_cleanup is not added."""
    call_command("setup_schedules", verbosity=0)
    PeriodicTask.objects.update(enabled=False)  # beat sends nothing while it runs here
    redis_client().delete(BEAT_HEARTBEAT_KEY)
    beat = CeleryBeat().start()
    try:
        wait_until(beat_last_heartbeat, timeout=60, what="beat's first tick")
    finally:
        beat.stop()
    names = set(PeriodicTask.objects.values_list("name", flat=True))
    assert names == {entry["name"] for entry in default_schedules()}
