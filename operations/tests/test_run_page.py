"""The one page of a run: every link to a task id leads to its run in the task history,
and the stored result and its run link to each other."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_celery_results.models import TaskResult

from backoffice.task_links import task_run_url
from operations.models import TaskRun
from operations.tests.ops_support import auditor, staff_user

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_a_recorded_run_opens_its_page_with_its_stored_result(client):
    run = TaskRun.objects.create(task_id="4f1c-recorded", name="reports.tasks.generate",
                                 state="SUCCESS")
    stored = TaskResult.objects.create(task_id="4f1c-recorded", status="SUCCESS")
    client.force_login(auditor())

    response = client.get(task_run_url(run.task_id))

    assert response.status_code == 302
    assert response.url == reverse("admin:operations_taskrun_change", args=[run.pk])
    page = client.get(response.url).content.decode()
    assert reverse("admin:django_celery_results_taskresult_change", args=[stored.pk]) in page


def test_a_run_with_no_stored_result_says_so(client):
    run = TaskRun.objects.create(task_id="waiting-run", name="x", state="QUEUED")
    client.force_login(auditor())

    page = client.get(reverse("admin:operations_taskrun_change", args=[run.pk]))

    assert page.status_code == 200 and "none stored" in page.content.decode()


def test_a_run_not_recorded_yet_shows_the_history_filtered_to_it_and_says_why(client):
    client.force_login(auditor())

    response = client.get(task_run_url("not-published-yet"), follow=True)

    assert response.redirect_chain[-1][0] == (
        reverse("admin:operations_taskrun_changelist") + "?q=not-published-yet")
    assert any("No run of task not-published-yet is recorded (yet)" in message
               for message in messages_of(response))


def test_something_that_is_no_task_id_is_refused_with_a_sentence(client):
    client.force_login(auditor())

    response = client.get(task_run_url("x" * 300), follow=True)

    assert response.redirect_chain[-1][0] == reverse("admin:operations_taskrun_changelist")
    assert "This is not a task id: it is longer than any task id." in messages_of(response)


def test_the_run_page_needs_the_history_permission(client):
    TaskRun.objects.create(task_id="private-run", name="x")
    client.force_login(staff_user("nobody"))

    assert client.get(task_run_url("private-run")).status_code == 403


def test_the_stored_results_list_links_each_result_to_its_run(admin_client):
    TaskResult.objects.create(task_id="listed-result", task_name="x", status="SUCCESS")

    listing = admin_client.get(reverse("admin:django_celery_results_taskresult_changelist"))

    assert f'data-run-link href="{task_run_url("listed-result")}"' in listing.content.decode()


def test_a_run_page_says_who_started_it_from_the_press_that_points_at_it(admin_client,
                                                                         admin_user):
    from django.utils import timezone

    from maintenance.models import MaintenanceRun

    run = TaskRun.objects.create(task_id="pressed-run", name="maintenance.tasks.backup_database")
    press = MaintenanceRun.objects.create(action="backup", label="Back up now", user=admin_user,
                                          requested_at=timezone.now(), task_id="pressed-run")
    unpressed = TaskRun.objects.create(task_id="scheduled-run", name="x")

    page = admin_client.get(reverse("admin:operations_taskrun_change", args=[run.pk]))
    other = admin_client.get(reverse("admin:operations_taskrun_change", args=[unpressed.pk]))

    html = page.content.decode()
    assert reverse("admin:maintenance_maintenancerun_change", args=[press.pk]) in html
    assert f"Back up now by {admin_user.get_username()} at" in html
    assert "no press points at this run" in other.content.decode()
