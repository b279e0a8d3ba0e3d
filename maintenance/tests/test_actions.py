"""The Maintenance page: permissions, CSRF, one run at a time, outcomes via a real worker."""

from __future__ import annotations

import html
from datetime import timedelta
from pathlib import Path

import pytest
from celery import current_app
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from maintenance.models import Backup, MaintenanceRun
from maintenance.selectors import backup_started_by
from operations.models import TaskRun
from reports.models import DailyReport
from reports.periods import yesterday
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
PAGE = "admin:maintenance_actions"


def start_url(key):
    return reverse("admin:maintenance_action_start", args=[key])


def status(client, run) -> dict:
    return client.get(reverse("admin:maintenance_run_status", args=[run.pk])).json()


def wait_finished(client, run, timeout=60) -> dict:
    def finished():
        current = status(client, run)
        return current if current["finished"] else None

    return wait_until(finished, timeout, f"run {run.pk} to finish", interval=0.2)


@pytest.fixture
def operator(django_user_model):
    """Staff who may back up and send a test email, nothing else."""
    user = django_user_model.objects.create_user("operator", "operator@example.com",
                                                 "pw-Operator-123", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(
        codename__in=["run_backup", "send_test_email"]))
    return user


def test_page_needs_one_of_the_permissions(client, django_user_model, operator):
    plain = django_user_model.objects.create_user("plain", "p@example.com", "pw-Plain-123",
                                                  is_staff=True)
    client.force_login(plain)
    assert client.get(reverse(PAGE)).status_code == 403
    assert client.post(start_url("backup")).status_code == 403
    client.force_login(operator)
    page = client.get(reverse(PAGE)).content.decode()
    assert 'data-action-button="backup"' in page and "Full analytics" in page


def test_each_button_has_its_own_permission(client, operator):
    client.force_login(operator)
    assert client.post(start_url("cleanup")).status_code == 403
    assert client.post(start_url("daily_report")).status_code == 403
    assert not MaintenanceRun.objects.exists()


def test_state_changes_only_on_post_with_csrf(operator):
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(operator)
    assert csrf_client.get(start_url("backup")).status_code == 405
    assert csrf_client.post(start_url("backup")).status_code == 403  # no CSRF token
    assert not MaintenanceRun.objects.exists()


@pytest.mark.worker
def test_full_analytics_runs_the_readmes_chord_and_tells_the_admins(admin_client, admin_user,
                                                                  celery_worker, smtp):
    response = admin_client.post(start_url("full_analytics"), HTTP_ACCEPT="application/json")

    assert response.status_code == 202
    run = MaintenanceRun.objects.get()
    assert run.action == "full_analytics" and run.user == admin_user
    final = wait_finished(admin_client, run, timeout=90)
    assert final["status"] == "success", final
    mail = smtp.wait_for(1)[0]
    assert mail["Subject"] == "[Backoffice] Analytics Complete"
    assert mail["X-Envelope-To"] == admin_user.email
    assert '"week_start"' in mail.get_payload()  # both chord members' results are included
    assert DailyReport.objects.filter(date=yesterday()).exists()


@pytest.mark.worker
def test_two_clicks_on_back_up_now_make_one_run(client, operator, celery_worker, settings,
                                                held_maintenance_queue):
    client.force_login(operator)

    # The worker holds maintenance work during the two clicks, so the first run is still
    # waiting at the second (a fast backup could otherwise finish in between).
    first = client.post(start_url("backup"), HTTP_ACCEPT="application/json")
    second = client.post(start_url("backup"), HTTP_ACCEPT="application/json")
    held_maintenance_queue()  # release: the worker takes the run

    assert first.status_code == 202
    assert second.status_code == 409 and "already in flight" in second.json()["error"]
    run = MaintenanceRun.objects.get()
    assert (run.action, run.user, run.queue) == ("backup", operator, "maintenance")
    final = wait_finished(client, run)
    assert final["status"] == "success", final
    assert final["result"]["status"] == "success"
    backup = Backup.objects.get()
    assert backup.pk == final["result"]["backup_id"]
    assert backup_started_by(backup) == "operator"  # from the press, not the message
    assert backup.task_id == run.task_id
    # Once finished, the button works again. That run is waited for too: a backup still
    # reading the tables would hold up the end-of-test flush.
    again = client.post(start_url("backup"), HTTP_ACCEPT="application/json")
    assert again.status_code == 202
    assert wait_finished(client, MaintenanceRun.objects.latest("pk"))["status"] == "success"
    for made in Backup.objects.all():
        (Path(str(settings.BACKUP_DIR)) / made.file_name).unlink(missing_ok=True)


@pytest.mark.worker
def test_send_a_test_email_to_me(client, operator, celery_worker, smtp):
    client.force_login(operator)
    client.post(start_url("test_email"))
    run = MaintenanceRun.objects.get(action="test_email")

    assert wait_finished(client, run)["status"] == "success"
    [message] = smtp.wait_for(1)
    assert message["To"] == "operator@example.com"
    assert message["Subject"] == "Backoffice test email"


@pytest.mark.worker
def test_regenerate_yesterday_and_weekly_analytics(admin_client, celery_worker):
    admin_client.post(start_url("daily_report"))
    admin_client.post(start_url("weekly_analytics"))
    for run in MaintenanceRun.objects.all():
        current_app.AsyncResult(run.task_id).get(timeout=60)  # not through the page
    assert DailyReport.objects.filter(date=yesterday()).exists()
    wait_until(lambda: TaskRun.objects.filter(state="SUCCESS").count() == 2, 30,
               "both task records finished")

    with CaptureQueriesContext(connection) as queries:
        listing = admin_client.get(reverse("admin:maintenance_maintenancerun_changelist"),
                                   {"status": "success"})
        page = admin_client.get(reverse(PAGE))
        daily = MaintenanceRun.objects.get(action="daily_report")
        one = status(admin_client, daily)
        detail = admin_client.get(reverse("admin:maintenance_maintenancerun_change",
                                          args=[daily.pk]))

    assert listing.status_code == page.status_code == detail.status_code == 200
    body = listing.content.decode()
    assert "Regenerate yesterday" in body and "Run weekly analytics" in body
    assert body.count("Succeeded") >= 2
    assert one["status"] == "success" and one["result"]["date"] == yesterday().isoformat()
    assert yesterday().isoformat() in detail.content.decode()
    # The page shows the report's result as labelled facts.
    shown = html.unescape(page.content.decode())
    assert 'data-fact="Day">' + yesterday().isoformat() in shown
    assert 'data-fact="Success rate">0.0%' in shown
    # The outcome is read from the task history, never written back during a GET.
    writes = [q["sql"] for q in queries.captured_queries
              if q["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}
              and "django_session" not in q["sql"]]
    assert writes == []


def test_a_runs_status_follows_its_task_record(django_user_model):
    from django.utils import timezone

    from maintenance.selectors import runs_with_outcomes

    now = timezone.now()
    old = now - timedelta(hours=3)  # beyond MAINTENANCE_RUN_STALE_SECONDS
    cases = {"fresh-none": (now, None), "old-none": (old, None), "queued": (now, "QUEUED"),
             "running": (now, "STARTED"), "stuck": (old, "STARTED"), "done": (old, "SUCCESS"),
             "failed": (now, "FAILURE"), "revoked": (now, "REVOKED")}
    for task_id, (requested_at, state) in cases.items():
        MaintenanceRun.objects.create(action="backup", requested_at=requested_at,
                                      task_id=task_id)
        if state:
            TaskRun.objects.create(task_id=task_id, name="maintenance.tasks.backup_database",
                                   state=state, result='{"ok": 1}' if state == "SUCCESS"
                                   else "ValueError: no")

    outcomes = {run.task_id: run.outcome for run in runs_with_outcomes(
        MaintenanceRun.objects.all())}

    assert {key: o.status for key, o in outcomes.items()} == {
        "fresh-none": "queued", "old-none": "unknown", "queued": "queued",
        "running": "running", "stuck": "lost", "done": "success", "failed": "failed",
        "revoked": "failed"}
    assert outcomes["done"].result == {"ok": 1} and outcomes["failed"].error == "ValueError: no"
    assert [o.finished for o in outcomes.values()].count(False) == 3


def test_nothing_is_recorded_when_the_broker_is_unreachable(client, operator, broker_down):
    client.force_login(operator)

    response = client.post(start_url("backup"), HTTP_ACCEPT="application/json")

    assert response.status_code == 409
    assert response.json()["error"].startswith("Nothing was queued: the broker is unreachable (")
    assert not MaintenanceRun.objects.exists() and not TaskRun.objects.exists()


@pytest.mark.worker
def test_a_failed_run_shows_its_error(admin_client, celery_worker, settings, tmp_path):
    # The worker's BACKUP_DIR is fixed at its start; make it unwritable for a moment.
    blocker = Path(str(settings.BACKUP_DIR))
    blocker.parent.mkdir(parents=True, exist_ok=True)
    moved = None
    if blocker.exists():
        moved = blocker.rename(tmp_path / "moved-backups")
    blocker.write_text("not a directory")
    try:
        admin_client.post(start_url("backup"))
        run = MaintenanceRun.objects.get()
        final = wait_finished(admin_client, run)
    finally:
        blocker.unlink()
        if moved:
            moved.rename(blocker)
    assert final["status"] == "failed" and "Error" in final["error"]
    assert Backup.objects.get().status == Backup.Status.FAILED
