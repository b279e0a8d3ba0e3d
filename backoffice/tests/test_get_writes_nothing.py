"""Reading a page never writes: every admin page the sidebar links to, and every changelist."""

import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)
            and "django_session" not in q["sql"]]


def test_no_admin_page_writes_to_the_database(client, django_user_model, settings):
    from maintenance.models import MaintenanceRun

    settings.MAIL_CATCHER = True  # Caught mail is a page too
    from operations.models import TaskRun

    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-Root-123")
    # An unfinished run whose outcome an older design copied back on every view.
    TaskRun.objects.create(task_id="t-1", name="maintenance.tasks.backup_database",
                           state="SUCCESS", result='{"status": "success"}')
    MaintenanceRun.objects.create(action="backup", label="Back up now", user=root,
                                  requested_at=timezone.now(), task_id="t-1")
    client.force_login(root)
    dashboard = client.get("/admin/").content.decode()
    pages = {href for href in re.findall(r'href="(/admin/[^"#?]*)"', dashboard)
             if not href.startswith("/admin/logout")}
    pages |= {reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
              for model in admin.site._registry}
    pages.add(reverse("admin:maintenance_maintenancerun_change",
                      args=[MaintenanceRun.objects.get().pk]))
    assert len(pages) > 20

    for page in sorted(pages):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page)
        assert response.status_code in (200, 302), (page, response.status_code)
        assert _writes(queries.captured_queries) == [], page
