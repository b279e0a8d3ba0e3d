"""Every table that grows by itself is bounded by a default schedule."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db.models import ProtectedError
from django.utils import timezone
from django_celery_results.models import TaskResult

from backoffice.schedules import default_schedules
from maintenance.cleanup import cleanup_targets, logs_cleanup, sessions_prune
from maintenance.models import MaintenanceRun
from maintenance.selectors import runs_with_outcomes
from operations.models import TaskRun
from operations.services import task_history_prune

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)

# Tables that grow only by someone's action, or by a row a day or week: no bound needed.
NOT_GROWING_BY_THEMSELVES = {
    "reports.DailyReport": "one row a day",
    "reports.WeeklyAnalytics": "one row a week",
    "devmail.CaughtEmail": "the development mail catcher keeps its newest MAIL_CATCHER_KEEP",
    "accounts.User": "the product's users",
    "authtoken.Token": "at most one per user",
    "notifications.Notification": "composed by staff",
    "notifications.Subscription": "at most one per user and topic",
    "notifications.Suppression": "one per address that must get no bulk mail, kept on purpose",
    "admin.LogEntry": "one per change a staff user makes in the admin",
    "auth.Group": "made by staff",
    "auth.Permission": "one per model and permission",
    "contenttypes.ContentType": "one per model",
    "django_celery_beat.PeriodicTask": "made by staff (and one per scheduled notification)",
    "django_celery_beat.PeriodicTasks": "one row",
    "django_celery_beat.CrontabSchedule": "made by staff, reused by the defaults",
    "django_celery_beat.IntervalSchedule": "made by staff, reused by the defaults",
    "django_celery_beat.SolarSchedule": "made by staff",
    "django_celery_beat.ClockedSchedule": "one per scheduled notification",
    "django_celery_results.ChordCounter": "one per chord in flight, deleted when it ends",
}


def _bounded_by() -> dict[str, set[str]]:
    """Scheduled task → the tables it deletes from (each has its own test of how)."""
    cleanup = {"maintenance.Backup", "sessions.Session"}  # backups_prune, sessions_prune
    for target in cleanup_targets(days=30):
        cleanup |= {target.label, *(child for child, _ in target.children)}
    return {"maintenance.tasks.cleanup_old_logs": cleanup,
            "operations.tasks.prune_task_history": {
                "operations.TaskRun", "django_celery_results.TaskResult",
                "django_celery_results.GroupResult", "operations.TaskMinuteStat"}}


def test_every_table_that_grows_has_a_default_schedule_that_bounds_it():
    scheduled = {entry["task"] for entry in default_schedules()}
    bounded = set()
    for task, labels in _bounded_by().items():
        assert task in scheduled, task
        bounded |= labels
    tables = {model._meta.label for model in apps.get_models()
              if model._meta.managed and not model._meta.proxy}

    unclassified = tables - bounded - set(NOT_GROWING_BY_THEMSELVES)
    assert not unclassified, f"bound these with a default schedule, or say why not: {unclassified}"
    assert not bounded & set(NOT_GROWING_BY_THEMSELVES)


@pytest.fixture(autouse=True)
def backup_dir(settings, tmp_path):
    settings.BACKUP_DIR = tmp_path / "backups"


@pytest.mark.django_db
def test_maintenance_runs_are_kept_for_their_retention(settings):
    settings.MAINTENANCE_RUN_RETENTION_DAYS = 365
    for days in (400, 366, 364, 1):
        MaintenanceRun.objects.create(action="cleanup", label=f"{days} days ago",
                                      requested_at=NOW - dt.timedelta(days=days))

    result = logs_cleanup(days=30, now=NOW)

    assert result["tables"]["maintenance.MaintenanceRun"] == 2
    assert sorted(MaintenanceRun.objects.values_list("label", flat=True)) == [
        "1 days ago", "364 days ago"]


@pytest.mark.django_db
def test_prune_keeps_the_runs_that_maintenance_presses_point_at():
    old = timezone.now() - dt.timedelta(days=40)
    for task_id in ("pressed", "scheduled"):
        TaskRun.objects.create(task_id=task_id, name="maintenance.tasks.backup_database",
                               state="SUCCESS", queued_at=old, result='{"status": "success"}')
        TaskResult.objects.create(task_id=task_id, status="SUCCESS")
    TaskResult.objects.update(date_done=old)
    press = MaintenanceRun.objects.create(action="backup", requested_at=old, task_id="pressed")
    # A press whose run is not recorded (a chord's callback before its header finished).
    MaintenanceRun.objects.create(action="full_analytics", requested_at=old, task_id="later")
    MaintenanceRun.objects.create(action="cleanup", requested_at=old)  # no task

    pruned = task_history_prune(older_than_days=30)

    assert (pruned["runs_deleted"], pruned["results_deleted"]) == (1, 1)
    assert list(TaskRun.objects.values_list("task_id", flat=True)) == ["pressed"]
    assert list(TaskResult.objects.values_list("task_id", flat=True)) == ["pressed"]
    press.refresh_from_db()
    assert press.task.state == "SUCCESS"
    assert runs_with_outcomes([press])[0].outcome.status == "success"
    with pytest.raises(ProtectedError):  # nothing else deletes it either
        press.task.delete()


@pytest.mark.django_db
def test_expired_sessions_go_and_live_ones_stay():
    now, keys = timezone.now(), {}
    for name, expires in (("live", now + dt.timedelta(hours=1)),
                          *((f"expired-{n}", now - dt.timedelta(minutes=n + 1))
                            for n in range(5))):
        store = SessionStore()
        store["name"] = name
        store.create()
        Session.objects.filter(pk=store.session_key).update(expire_date=expires)
        keys[name] = store.session_key

    result = logs_cleanup(days=30, batch_size=2, now=now)

    assert result["tables"]["sessions.Session"] == 5
    assert list(Session.objects.values_list("pk", flat=True)) == [keys["live"]]
    assert SessionStore(session_key=keys["live"])["name"] == "live"


@pytest.mark.django_db
def test_sessions_that_are_not_rows_clear_their_own_store(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    assert sessions_prune(now=NOW) is None
    assert "sessions.Session" not in logs_cleanup(days=30, now=NOW)["tables"]


@pytest.mark.django_db
def test_a_press_made_while_pruning_reads_still_keeps_its_run(monkeypatch):
    from operations import services

    old = timezone.now() - dt.timedelta(days=40)
    for task_id in ("pressed-meanwhile", "unpressed"):
        TaskRun.objects.create(task_id=task_id, name="x", state="SUCCESS", queued_at=old)
    MaintenanceRun.objects.create(action="backup", requested_at=old,
                                  task_id="pressed-meanwhile")
    monkeypatch.setattr(services, "referencing_relations", list)  # the read misses the press

    pruned = task_history_prune(older_than_days=30, batch_size=1)

    assert pruned["runs_deleted"] == 1
    assert list(TaskRun.objects.values_list("task_id", flat=True)) == ["pressed-meanwhile"]
