"""Every admin page — each list, add form, change form and custom page — opened in Chromium
as each role, with DEBUG on as `make run` serves it: no 5xx, no JavaScript error, and no
text escaped twice."""

import re

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts.roles import AUDITORS, OPERATORS
from tests.people import member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Visible text that shows an HTML entity was escaped a second time.
ESCAPED_TWICE = re.compile(r"&(?:lt|gt|quot|amp|#x27|#39);")


def _rows_for_every_form(user, settings, tmp_path):
    from django.core.management import call_command
    from django.utils import timezone
    from django_celery_beat.models import ClockedSchedule, SolarSchedule

    from devmail.services import caught_email_store
    from maintenance.models import MaintenanceRun
    from maintenance.services import backup_create
    from notifications.models import Notification
    from operations.models import TaskRun
    from reports import services as reports_services
    from reports.periods import today

    settings.BACKUP_DIR = tmp_path
    settings.MAIL_CATCHER = True
    call_command("setup_schedules", verbosity=0)
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    SolarSchedule.objects.create(event="sunrise", latitude=51.5, longitude=0.1)
    # A subject with quotes and a personal field's fallback: shown in titles, breadcrumbs
    # and confirmation pages, where escaping it twice would show `default:&quot;there&quot;`.
    draft = Notification.objects.create(
        subject='Hi "{{ first_name|default:"there" }}" & co', text_body="Hi {{ first_name }}",
        html_body="<p>Hi</p>", audience="addresses", addresses="a@example.com",
        created_by=user)
    Notification.objects.create(subject="Sent one", text_body="Hi", status="sent")
    backup = backup_create(triggered_by="test")
    MaintenanceRun.objects.create(action="backup", label="Back up now", user=user,
                                  requested_at=timezone.now(), task_id="t-page")
    TaskRun.objects.create(task_id="t-page", name="maintenance.tasks.fail", state="FAILURE",
                           result='{"error": "a <b>bold</b> & \\"quoted\\" failure"}',
                           traceback="RuntimeError: <x> & y")
    reports_services.daily_report_generate(day=today())
    caught_email_store(mail_from="a@b.c", recipients=["x@y.z"],
                       data=b"Subject: Hello & <you>\r\nFrom: a@b.c\r\n\r\nBody & <text>\r\n")
    return backup, draft


def _pages(backup, draft) -> list[str]:
    pages = ["/admin/", "/admin/password_change/", "/api/docs/",
             reverse("admin:maintenance_backup_restore", args=[backup.pk])]
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        pages.append(reverse("admin:{}_{}_changelist".format(*info)))
        pages.append(reverse("admin:{}_{}_add".format(*info)))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
    pages += [reverse(name) for name in (
        "admin:operations_overview", "admin:operations_workers",
        "admin:reports_dailyreport_charts", "admin:maintenance_actions",
        "admin:maintenance_cleanup_confirm")]
    pages.append(reverse("admin:operations_workflow", args=["t-page"]))
    pages += [reverse(f"admin:notifications_notification_{name}", args=[draft.pk])
              for name in ("send", "history", "delete")]
    return pages


@pytest.mark.parametrize("role", ["superuser", OPERATORS, AUDITORS])
def test_every_page_as_every_role(role, page, live_server, client, settings, tmp_path,
                                  django_user_model):
    settings.DEBUG = True
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-Root-1")
    user = root if role == "superuser" else member(f"m-{role.lower()}", role)
    pages = _pages(*_rows_for_every_form(root, settings, tmp_path))
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    problems = []
    page.on("pageerror", lambda error: problems.append(f"{page.url}: {error}"))

    def console(message):
        source = (message.location or {}).get("url", "")
        # A page's own 403 or 404 is its answer (checked below), and /healthz answers 503
        # by design while no worker runs: neither is a broken page.
        if message.type != "error" or source.split("?")[0] == page.url.split("?")[0] \
                or source.endswith("/healthz"):
            return
        problems.append(f"{page.url}: {message.text} ({source})")

    page.on("console", console)

    for path in pages:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status < 500, (role, path, response.status)
        page.wait_for_load_state("networkidle")
        text = f"{page.title()}\n{page.inner_text('body')}"
        twice = ESCAPED_TWICE.search(text)
        assert twice is None, (role, path, text[max(0, twice.start() - 80):twice.end() + 40])
    assert problems == [], problems
