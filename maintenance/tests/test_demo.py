"""`manage.py demo` runs what exists against a real worker, names what is missing, and
leaves alone what staff made: their notifications, backups, logs and users' mailboxes."""

import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from maintenance import demo
from maintenance.models import Backup
from notifications.models import Notification, OutgoingEmail
from operations.filters import registered_task_names
from operations.models import TaskRun
from reports.models import ApiRequest
from tests.processes import free_port

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff_made():
    """A staff user, an old API log row past retention, and the newest notification: a
    draft to every active user, composed by staff and not to be sent by anyone else."""
    staff = get_user_model().objects.create_user(
        "editor", "editor@company.test", "pw", is_staff=True)
    old_log = ApiRequest.objects.create(
        timestamp=timezone.now() - dt.timedelta(days=400), method="GET",
        route="/api/public/", status_code=200, ip="10.0.0.1", duration_ms=1.0)
    notification = Notification.objects.create(
        subject="Spring sale", html_body="<p>Hello</p>", created_by=staff,
        audience=Notification.Audience.ACTIVE_USERS)
    return {"staff": staff, "old_log": old_log, "notification": notification}


def assert_untouched(staff_made):
    notification = Notification.objects.get(pk=staff_made["notification"].pk)
    assert notification.status == Notification.Status.DRAFT
    assert not OutgoingEmail.objects.filter(notification=notification).exists()
    assert ApiRequest.objects.filter(pk=staff_made["old_log"].pk).exists()
    assert not Backup.objects.exists()
    assert not OutgoingEmail.objects.filter(user=staff_made["staff"]).exists()


def section(text: str, title: str) -> list[str]:
    """The indented lines under one of the closing headings."""
    lines = text.split(f"\n{title}")[1].splitlines()[1:]
    return [line.strip() for line in lines[:next(
        (i for i, line in enumerate(lines) if not line.startswith("  ")), len(lines))]]


def test_demo_runs_tasks_and_workflows_and_says_where_to_look(celery_worker, staff_made):
    base = f"http://127.0.0.1:{free_port()}"
    out = io.StringIO()
    call_command("demo", "--url", base, "--timeout", "60", stdout=out)
    text = out.getvalue()

    assert f"Registration skipped: no web server at {base}" in text
    for name, _, _ in demo.MAIN_TASKS:
        if name not in registered_task_names():
            assert name in text.split("Tasks not registered in this build")[1]
    for name in ("maintenance.tasks.echo", "maintenance.tasks.total", "maintenance.tasks.noop"):
        line = next(line for line in text.splitlines() if line.startswith(name))
        assert "SUCCESS" in line
        assert line.split()[1].startswith("demo-")
    lines = text.splitlines()
    fail_line = next(line for line in lines if line.startswith("maintenance.tasks.fail"))
    assert "FAILURE" in fail_line
    assert "chain: last step" in text and "group member" in text and "chord: callback" in text
    assert "had not finished" not in text
    chord_line = next(line for line in text.splitlines() if line.startswith("chord: callback"))
    chord_id = chord_line.split()[2]
    assert chord_id.startswith("demo-")
    assert TaskRun.objects.get(task_id=chord_id).state == "SUCCESS"

    # Without its own user the demo sends no user email and no bulk notification at all.
    assert "skipped notifications.tasks.send_bulk_notifications: needs the demo's own user" \
        in text
    assert_untouched(staff_made)
    assert not TaskRun.objects.filter(name__in=[name for name, _ in demo.NOT_RUN]).exists()
    not_run = text.split("\nNot run by the demo")[1]
    assert f"{base}/admin/maintenance/maintenancerun/actions/" in not_run.splitlines()[0]
    for name, _ in demo.NOT_RUN:
        assert name in not_run

    links = section(text, "Where to look in the admin:")
    assert len(links) == 5
    assert all(line.split()[-1].startswith(f"{base}/admin/") for line in links)
    assert f"{base}/admin/operations/taskrun/overview/" in text


def test_demo_refuses_plainly_when_the_broker_is_down(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(CommandError, match="broker \\(Redis\\) is unreachable"):
        call_command("demo", stdout=io.StringIO())


def test_demo_registers_at_site_url_and_sends_only_its_own_notification(
        celery_worker, live_server, staff_made):
    out = io.StringIO()
    with override_settings(SITE_URL=live_server.url + "/"):
        call_command("demo", "--timeout", "60", stdout=out)  # no --url: SITE_URL
    text = out.getvalue()
    assert "Where to look in the admin:" in text
    assert all(line.split()[-1].startswith(f"{live_server.url}/admin/")
               for line in section(text, "Where to look in the admin:"))
    if "notifications.tasks.send_welcome_email" not in registered_task_names():
        assert f"Registration skipped: {live_server.url}/api/register/ answered 404." in text
        assert_untouched(staff_made)
        return

    assert "Registered user demo-" in text  # the accounts API exists in this build
    assert "had not finished" not in text
    user = get_user_model().objects.get(username__startswith="demo-")
    assert user.email == f"{user.username}@example.com"
    mine = Notification.objects.exclude(pk=staff_made["notification"].pk).get()
    assert mine.subject.startswith("Demo: ")
    assert mine.status == Notification.Status.SENT
    assert list(mine.emails.values_list("to_email", "status")) == [
        (user.email, OutgoingEmail.Status.SENT)]
    # Besides the staff's notice that the send finished, only the demo user was mailed.
    assert set(OutgoingEmail.objects.exclude(kind="admin_notice")
               .values_list("to_email", flat=True)) == {user.email}
    assert_untouched(staff_made)

    created = section(text, "Created by this demo")
    assert any(line.startswith(f"user {user.username} <{user.email}>")
               and line.endswith(f"{live_server.url}/admin/accounts/user/{user.pk}/change/")
               for line in created)
    assert any(line.startswith(f'notification "{mine.subject}"')
               and line.endswith(f"/admin/notifications/notification/{mine.pk}/change/")
               for line in created)


def test_reports_are_recomputed_only_while_their_logs_are_kept(settings):
    settings.LOG_RETENTION_DAYS = 30
    assert demo.daily_report_args({}) == [] and demo.weekly_analytics_args({}) == []
    settings.LOG_RETENTION_DAYS = 14  # yesterday is kept, the week before last is not
    assert demo.daily_report_args({}) == [] and demo.weekly_analytics_args({}) is None
    settings.LOG_RETENTION_DAYS = 1
    assert demo.daily_report_args({}) is None


def test_the_demo_notification_goes_only_to_a_user_the_demo_registered():
    staff = get_user_model().objects.create_user("editor", "editor@example.com", "pw")
    assert demo.demo_notification_create(user_id=staff.pk) is None
    assert not Notification.objects.exists()
