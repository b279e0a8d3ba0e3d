"""Roles: Auditors see every console page and can press nothing; anonymous users log in."""

import pytest
from django.urls import reverse

from operations.models import TaskRun
from operations.tests.ops_support import auditor, operator

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_run():
    return TaskRun.objects.create(task_id="failed-1", name="maintenance.tasks.fail",
                                  queue="maintenance", state="FAILURE", traceback="Boom")


def action_urls(run):
    return [
        reverse("admin:operations_queue_purge", args=["default"]),
        reverse("admin:operations_queue_pause", args=["default"]),
        reverse("admin:operations_queue_resume", args=["default"]),
        reverse("admin:operations_retry", args=[run.task_id]),
        reverse("admin:operations_discard", args=[run.task_id]),
        reverse("admin:operations_revoke", args=[run.task_id]),
        reverse("admin:operations_terminate", args=[run.task_id]),
        reverse("admin:operations_retry_by_name"),
    ]


def page_urls(run):
    return [
        reverse("admin:operations_overview"),
        reverse("admin:operations_taskrun_changelist"),
        reverse("admin:operations_failedtaskrun_changelist"),
        reverse("admin:operations_taskrun_change", args=[run.pk]),
        reverse("admin:operations_workflow", args=[run.task_id]),
    ]


def test_auditor_gets_403_on_every_action_url_and_nothing_changes(client, failed_run):
    client.force_login(auditor())
    for url in action_urls(failed_run):
        assert client.post(url, {"name": failed_run.name}).status_code == 403, url
        assert client.get(url).status_code == 403, url
    failed_run.refresh_from_db()
    assert failed_run.retried_as is None and failed_run.discarded_at is None
    assert not TaskRun.objects.filter(retry_of=failed_run).exists()


def test_auditor_sees_every_page_without_a_single_button(client, failed_run):
    client.force_login(auditor())
    for url in page_urls(failed_run):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "data-action=" not in response.text, url
    failed = client.get(reverse("admin:operations_failedtaskrun_changelist"))
    assert "retry_selected" not in failed.text and "discard_selected" not in failed.text


def test_auditor_posting_a_bulk_admin_action_changes_nothing(client, failed_run):
    client.force_login(auditor())
    client.post(reverse("admin:operations_failedtaskrun_changelist"),
                {"action": "discard_selected", "_selected_action": [failed_run.pk]})
    failed_run.refresh_from_db()
    assert failed_run.discarded_at is None


def test_operator_sees_the_buttons_it_may_press(client, failed_run):
    client.force_login(operator())
    failed = client.get(reverse("admin:operations_failedtaskrun_changelist"))
    assert 'data-action="retry"' in failed.text and 'data-action="retry-by-name"' in failed.text
    assert "discard_selected" in failed.text
    overview = client.get(reverse("admin:operations_overview"))
    assert 'data-action="purge"' in overview.text or "unreachable" in overview.text
    detail = client.get(reverse("admin:operations_taskrun_change", args=[failed_run.pk]))
    assert 'data-action="retry"' in detail.text and "Workflow view" in detail.text
    history = client.get(reverse("admin:operations_taskrun_changelist"))
    assert '<option value="maintenance.tasks.echo"' in history.text  # the name filter's choices
    assert '<option value="email"' in history.text  # the queue filter's choices
    assert 'data-action="terminate"' not in detail.text


def test_anonymous_users_are_sent_to_the_login_page(client, failed_run):
    for url in page_urls(failed_run) + action_urls(failed_run):
        response = client.post(url) if "/runs/" in url or "/queues/" in url else client.get(url)
        assert response.status_code == 302, url
        assert "/admin/login/" in response["Location"], url


def test_staff_without_the_view_permission_is_refused(client, failed_run):
    from operations.tests.ops_support import staff_user

    client.force_login(staff_user("nobody"))
    assert client.get(reverse("admin:operations_overview")).status_code == 403
    assert client.get(reverse("admin:operations_taskrun_changelist")).status_code == 403


def test_bad_input_gives_a_clear_error_and_changes_nothing(client, failed_run):
    client.force_login(operator())
    done = TaskRun.objects.create(task_id="ok-1", name="maintenance.tasks.echo", state="SUCCESS")
    response = client.post(reverse("admin:operations_retry", args=[done.task_id]),
                           follow=True)
    assert "Only failed runs can be retried" in response.text
    response = client.post(reverse("admin:operations_retry_by_name"), {"name": ""},
                           follow=True)
    assert "There is no failed run of" in response.text
    response = client.post(reverse("admin:operations_terminate", args=[done.task_id]))
    assert response.status_code == 403  # the operator has no terminate permission
    assert client.post(reverse("admin:operations_retry", args=["unknown"])).status_code \
        == 404
    response = client.post(reverse("admin:operations_discard", args=[done.task_id]),
                           follow=True)
    assert "Only failed runs can be discarded" in response.text
    assert not TaskRun.objects.filter(retry_of__in=(done, failed_run)).exists()
    done.refresh_from_db()
    assert done.discarded_at is None
    response = client.post(reverse("admin:operations_retry", args=[failed_run.task_id]),
                           {"next": "https://evil.example/"})
    assert response["Location"] == reverse("admin:operations_overview")


def test_actions_without_a_csrf_token_are_refused(failed_run):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(operator())
    response = browser.post(reverse("admin:operations_retry", args=[failed_run.task_id]))
    assert response.status_code == 403
    failed_run.refresh_from_db()
    assert failed_run.retried_as is None
