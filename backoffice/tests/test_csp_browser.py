"""Under the production Content-Security-Policy, the admin's pages load without violations."""

import pytest
from django.conf import settings as django_settings

from tests.fixtures import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Browser-Pass-123"


@pytest.fixture
def csp(settings):
    settings.SECURE_CSP = django_settings.CONTENT_SECURITY_POLICY


def test_admin_pages_under_csp_have_no_violations(csp, page, live_server, django_user_model,
                                                  celery_worker):
    user = django_user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    problems = []
    # Chromium reports each violation on the console ("Refused to ... Content Security
    # Policy"); a blocked eval or script also surfaces as an uncaught page error.
    page.on("console", lambda m: problems.append(f"{page.url}: {m.text}")
            if "Content Security Policy" in m.text or "Refused to" in m.text else None)
    page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))

    response = page.goto(f"{live_server.url}/admin/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    log_in(page, live_server, "staff", PASSWORD)
    page.wait_for_selector('#system-status [data-part="database"][data-ok="1"]')

    links = page.eval_on_selector_all(
        'a[href^="/admin/"]', "els => els.map(e => e.getAttribute('href'))")
    pages = sorted({href.split("?")[0] for href in links
                    if "logout" not in href and "/delete/" not in href})
    pages += [f"/admin/accounts/user/{user.pk}/change/", "/admin/accounts/user/add/",
              "/admin/password_change/", "/api/docs/"]
    assert len(pages) > 10
    for path in pages:
        result = page.goto(f"{live_server.url}{path}")
        assert result.status < 500, path
        page.wait_for_load_state("networkidle")
    assert problems == []


def _objects_for_every_form(user):
    """At least one row of each model whose change form the admin shows."""
    from django.core.management import call_command
    from django.utils import timezone
    from django_celery_beat.models import ClockedSchedule, SolarSchedule

    from maintenance.services import backup_create
    from notifications.models import Notification

    call_command("setup_schedules", verbosity=0)  # periodic tasks, crontabs, intervals
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    SolarSchedule.objects.create(event="sunrise", latitude=51.5, longitude=0.1)
    Notification.objects.create(subject="Hello", text_body="Hi {{ first_name }}",
                                created_by=user)
    return backup_create(triggered_by="test")


def test_every_admin_form_under_csp_has_no_violations(csp, page, live_server,
                                                      django_user_model, settings, tmp_path):
    """Every add and change form of every registered model, and each custom page with a
    form, opened in Chromium under the production policy."""
    from django.contrib import admin
    from django.urls import reverse

    settings.BACKUP_DIR = tmp_path
    user = django_user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    backup = _objects_for_every_form(user)
    problems = []
    page.on("console", lambda m: problems.append(f"{page.url}: {m.text}")
            if "Content Security Policy" in m.text or "Refused to" in m.text else None)
    page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))
    log_in(page, live_server, "staff", PASSWORD)

    pages = []
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        pages.append(reverse("admin:{}_{}_add".format(*info)))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(reverse("admin:{}_{}_change".format(*info), args=[first.pk]))
    pages += [reverse("admin:maintenance_backup_restore", args=[backup.pk]),
              "/admin/password_change/", "/account/reset/?uid=x&token=y"]
    assert any("periodictask" in path and "change" in path for path in pages)
    for path in pages:
        result = page.goto(f"{live_server.url}{path}")
        assert result.status < 500, path
        page.wait_for_load_state("networkidle")
    assert problems == []
