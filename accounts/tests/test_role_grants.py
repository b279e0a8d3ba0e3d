"""Operators hold exactly what docs/security.md gives them, and can press those buttons."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.roles import AUDITORS, OPERATORS
from operations.models import TaskRun

pytestmark = pytest.mark.django_db

# The roles in docs/security.md and its permission tables, one row per permission beyond viewing.
OPERATOR_GRANTS = [
    ("notifications", "add_notification"),
    ("notifications", "change_notification"),
    ("notifications", "send_notification"),
    ("notifications", "resend_outgoingemail"),
    ("notifications", "add_subscription"),
    ("notifications", "change_subscription"),
    ("notifications", "add_suppression"),
    ("notifications", "change_suppression"),
    ("reports", "regenerate_dailyreport"),
    ("maintenance", "run_backup"),
    ("maintenance", "run_cleanup"),
    ("maintenance", "run_daily_report"),
    ("maintenance", "run_weekly_analytics"),
    ("maintenance", "send_test_email"),
    ("maintenance", "run_full_analytics"),
    ("operations", "can_retry_tasks"),
    ("operations", "can_discard_tasks"),
    ("operations", "can_purge_queues"),
    ("operations", "can_rate_limit_tasks"),
    ("operations", "can_scale_workers"),
    ("operations", "can_restart_workers"),
    ("operations", "can_shutdown_workers"),
    ("operations", "can_pause_queues"),
    ("operations", "can_revoke_tasks"),
    ("operations", "can_terminate_tasks"),
    ("django_celery_beat", "add_periodictask"),
    ("django_celery_beat", "change_periodictask"),
    ("django_celery_beat", "add_crontabschedule"),
    ("django_celery_beat", "change_crontabschedule"),
    ("django_celery_beat", "add_intervalschedule"),
    ("django_celery_beat", "change_intervalschedule"),
    ("django_celery_beat", "add_clockedschedule"),
    ("django_celery_beat", "change_clockedschedule"),
    ("django_celery_beat", "add_solarschedule"),
    ("django_celery_beat", "change_solarschedule"),
]
# Beat's change-tracking row; not a page, harmless, granted by the same rule.
TRACKING = {("django_celery_beat", "add_periodictasks"),
            ("django_celery_beat", "change_periodictasks")}


def grants(name):
    return set(Group.objects.get(name=name).permissions.values_list(
        "content_type__app_label", "codename"))


@pytest.fixture
def operator(django_user_model):
    user = django_user_model.objects.create_user("opal", "opal@example.com", "pw-Opal-123",
                                                 is_staff=True)
    user.groups.add(Group.objects.get(name=OPERATORS))
    return django_user_model.objects.get(pk=user.pk)


@pytest.mark.parametrize(("app", "codename"), OPERATOR_GRANTS)
def test_operators_hold_each_listed_permission(app, codename):
    assert (app, codename) in grants(OPERATORS)


def test_operators_hold_nothing_else_but_viewing():
    extra = {(app, code) for app, code in grants(OPERATORS) if not code.startswith("view_")}
    assert extra - TRACKING == set(OPERATOR_GRANTS)
    assert ("maintenance", "email_any_address") not in grants(OPERATORS)


def test_auditors_hold_views_only():
    assert all(code.startswith("view_") for _, code in grants(AUDITORS))


def test_both_roles_view_everything_but_secrets_and_plumbing():
    views = set(Permission.objects.filter(codename__startswith="view_").exclude(
        content_type__app_label__in=["authtoken", "sessions", "contenttypes", "admin"])
        .values_list("content_type__app_label", "codename"))
    assert ("maintenance", "view_backup") in views and ("operations", "view_taskrun") in views
    assert grants(AUDITORS) == views
    assert {grant for grant in grants(OPERATORS) if grant[1].startswith("view_")} == views


@pytest.fixture
def failed_run():
    return TaskRun.objects.create(task_id="op-failed-1", name="maintenance.tasks.fail",
                                  queue="maintenance", state="FAILURE", traceback="Boom")


@pytest.mark.parametrize("name", ["queue_purge", "queue_pause", "queue_resume", "retry",
                                  "discard", "revoke", "terminate", "retry_by_name"])
def test_operator_may_press_every_console_action(client, operator, failed_run, name):
    args = {"queue_purge": ["ops-role-test"], "queue_pause": ["ops-role-test"],
            "queue_resume": ["ops-role-test"], "retry_by_name": []}.get(name,
                                                                        [failed_run.task_id])
    client.force_login(operator)

    response = client.post(reverse(f"admin:operations_{name}", args=args),
                           {"name": failed_run.name})

    assert response.status_code != 403


def test_operator_may_regenerate_selected_days(client, operator):
    from django.utils import timezone

    from reports.models import DailyReport

    report = DailyReport.objects.create(date="2026-01-05", generated_at=timezone.now())
    client.force_login(operator)
    page = client.get(reverse("admin:reports_dailyreport_changelist"))

    assert 'value="regenerate"' in page.content.decode()
    response = client.post(reverse("admin:reports_dailyreport_changelist"),
                           {"action": "regenerate", "_selected_action": [report.pk]},
                           follow=True)
    assert "Regeneration queued for 1 day(s)" in response.content.decode()


def test_operator_may_send_a_test_email_to_self(client, operator):
    client.force_login(operator)

    response = client.post(reverse("admin:maintenance_action_start", args=["test_email"]),
                           HTTP_ACCEPT="application/json")

    assert response.status_code == 202, response.content
    assert response.json()["run"]["action"] == "test_email"
