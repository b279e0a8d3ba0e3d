"""The Maintenance page reads like a report: results as labelled facts, cards and recent
runs from one read, and "Clean up now" only after a confirmation page with numbers."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from maintenance.models import MaintenanceRun
from operations.models import TaskRun
from reports.models import ApiRequest
from tests.people import staff_with

pytestmark = pytest.mark.django_db(transaction=True)

SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def page_url():
    return reverse("admin:maintenance_actions")


def state_url():
    return reverse("admin:maintenance_actions_state")


def confirm_url():
    return reverse("admin:maintenance_cleanup_confirm")


def start_url(key):
    return reverse("admin:maintenance_action_start", args=[key])


@pytest.fixture(autouse=True)
def _nothing_runs(held_maintenance_queue):
    """The cleanups these tests start stay queued: a press is refused while one waits."""


def finished_run(action, result, *, task_id, state="SUCCESS", user=None):
    now = timezone.now()
    run = MaintenanceRun.objects.create(action=action, label=action, user=user,
                                        requested_at=now, task_id=task_id, queue="maintenance")
    TaskRun.objects.create(task_id=task_id, name=f"tasks.{action}", state=state,
                           result=json.dumps(result) if state == "SUCCESS" else result,
                           finished_at=now)
    return run


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries
            if q["sql"].split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}
            and "django_session" not in q["sql"]]


@pytest.fixture
def cleaner():
    return staff_with("cleaner", "run_cleanup")


@pytest.fixture
def backer():
    """Staff who may back up, not clean up."""
    return staff_with("backer", "run_backup")


def test_results_read_as_labelled_facts_not_json(admin_client, admin_user):
    finished_run("backup", {"status": "success", "backup_id": 3, "file": "backup-1.jsonl.gz",
                            "size_bytes": 2_500_000, "sha256": SHA, "rows": 15321},
                 task_id="t-backup", user=admin_user)
    finished_run("cleanup", {"status": "success", "days": 30, "batches": 4,
                             "tables": {"reports.ApiRequest": 151176, "sessions.Session": 2}},
                 task_id="t-cleanup")
    finished_run("test_email", {"status": "success", "to": "a@example.com", "sent": 1},
                 task_id="t-mail")
    finished_run("daily_report", {"date": "2026-11-30", "total_requests": 812,
                                  "failed_requests": 3, "success_rate": "99.6%"},
                 task_id="t-report")

    body = html.unescape(admin_client.get(page_url()).content.decode())

    assert '"sha256"' not in body and "<pre" not in body
    assert "15,321" in body and "2.4\xa0MB" in body and "backup-1.jsonl.gz" in body
    assert f"{SHA[:12]}…" in body and f'data-copy="{SHA}"' in body  # short, whole copyable
    assert "API requests deleted" in body and "151,176" in body
    assert "a@example.com" in body and "2026-11-30" in body and "812" in body


def test_a_failed_run_shows_the_last_line_of_its_error(admin_client):
    finished_run("backup", "Traceback …\nOSError: [Errno 28] No space left on device",
                 task_id="t-fail", state="FAILURE")
    body = html.unescape(admin_client.get(page_url()).content.decode())
    assert "OSError: [Errno 28] No space left on device" in body and "Traceback" not in body


def test_card_and_recent_runs_show_the_same_state_and_follow_the_task(admin_client):
    run = MaintenanceRun.objects.create(action="backup", label="Back up now",
                                        requested_at=timezone.now(), task_id="t-live",
                                        queue="maintenance")
    TaskRun.objects.create(task_id="t-live", name="maintenance.tasks.backup_database",
                           state="STARTED")

    with CaptureQueriesContext(connection) as queries:
        running = admin_client.get(page_url()).content.decode()
    assert 'data-unfinished="true"' in running
    assert re.search(rf'data-run-status data-run-id="{run.pk}"\s+data-status="running"', running)
    assert re.search(rf'<tr [^>]*data-run-id="{run.pk}" data-status="running">', running)

    TaskRun.objects.filter(task_id="t-live").update(
        state="SUCCESS", finished_at=timezone.now(),
        result=json.dumps({"status": "success", "rows": 7, "sha256": SHA}))
    with CaptureQueriesContext(connection) as more:
        state = admin_client.get(state_url())
    body = state.content.decode()
    assert state.status_code == 200 and "<html" not in body
    assert 'data-unfinished="false"' in body
    assert body.count('data-status="success"') == 2 and 'data-status="running"' not in body
    assert writes(queries) == writes(more) == []  # reading the state writes nothing


def test_the_state_fragment_needs_the_page_permission(client):
    client.force_login(staff_with("plain"))
    assert client.get(state_url()).status_code == 403


def test_clean_up_now_leads_to_a_confirmation_with_numbers(client, cleaner, settings):
    now = timezone.now()
    old = now - dt.timedelta(days=settings.LOG_RETENTION_DAYS + 1)
    ApiRequest.objects.bulk_create(
        [ApiRequest(timestamp=old, method="GET", route="/api/x/", status_code=200,
                    duration_ms=1.0) for _ in range(3)]
        + [ApiRequest(timestamp=now, method="GET", route="/api/x/", status_code=200,
                      duration_ms=1.0) for _ in range(2)])
    client.force_login(cleaner)

    page = client.get(page_url()).content.decode()
    assert f'href="{confirm_url()}"' in page and 'data-action-link="cleanup"' in page
    # A POST without the confirmation starts nothing and goes to the confirmation page.
    response = client.post(start_url("cleanup"))
    assert response.status_code == 302 and response["Location"] == confirm_url()
    assert client.post(start_url("cleanup"), HTTP_ACCEPT="application/json").status_code == 400
    assert not MaintenanceRun.objects.exists()

    body = client.get(confirm_url()).content.decode()
    assert 'data-table="reports.ApiRequest" data-rows="3"' in body
    assert f"the last {settings.LOG_RETENTION_DAYS} days" in body
    assert f'action="{start_url("cleanup")}"' in body and 'name="confirm" value="yes"' in body
    assert ApiRequest.objects.count() == 5 and not MaintenanceRun.objects.exists()

    done = client.post(start_url("cleanup"), {"confirm": "yes"})
    assert done.status_code == 302 and done["Location"] == page_url()
    run = MaintenanceRun.objects.get()
    assert (run.action, run.user) == ("cleanup", cleaner)


def test_the_confirmation_needs_the_cleanup_permission(client, backer):
    client.force_login(backer)
    assert client.get(confirm_url()).status_code == 403
    assert client.post(start_url("cleanup"), {"confirm": "yes"}).status_code == 403
    assert client.post(start_url("cleanup")).status_code == 403
    assert not MaintenanceRun.objects.exists()


def test_the_confirmation_needs_csrf(cleaner):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(cleaner)
    assert strict.post(start_url("cleanup"), {"confirm": "yes"}).status_code == 403
    assert not MaintenanceRun.objects.exists()


def test_a_double_click_on_confirm_starts_one_cleanup(client, cleaner):
    client.force_login(cleaner)
    first = client.post(start_url("cleanup"), {"confirm": "yes"},
                        HTTP_ACCEPT="application/json")
    second = client.post(start_url("cleanup"), {"confirm": "yes"},
                         HTTP_ACCEPT="application/json")
    assert first.status_code == 202
    assert second.status_code == 409 and "already in flight" in second.json()["error"]
    assert MaintenanceRun.objects.count() == 1
    page = client.get(confirm_url()).content.decode()
    assert "already in flight" in page


def test_two_staff_confirming_at_the_same_moment_start_one_cleanup(cleaner):
    other = staff_with("cleaner2", "run_cleanup")
    barrier = threading.Barrier(2)
    codes = []

    def confirm(user):
        browser = Client()
        browser.force_login(user)
        barrier.wait()
        try:
            codes.append(browser.post(start_url("cleanup"), {"confirm": "yes"},
                                      HTTP_ACCEPT="application/json").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=confirm, args=(user,)) for user in (cleaner, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(codes) == [202, 409]
    assert MaintenanceRun.objects.filter(action="cleanup").count() == 1
