"""Chromium: press "Back up now" on the Maintenance page and watch the run finish there."""

from pathlib import Path

import pytest
from celery import current_app
from django.conf import settings

from maintenance.models import Backup, MaintenanceRun
from tests.fixtures import log_in

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_back_up_now_shows_the_run_until_it_finishes(page, live_server, django_user_model,
                                                     celery_worker):
    django_user_model.objects.create_superuser("keeper", "k@example.com", "Keeper-Pass-123")
    log_in(page, live_server, "keeper", "Keeper-Pass-123")

    actions_url = "/admin/maintenance/maintenancerun/actions/"
    assert page.locator(f"#nav-sidebar a[href='{actions_url}'], a[href='{actions_url}']").count()
    page.goto(f"{live_server.url}{actions_url}")
    # The worker stops taking maintenance work for a moment, so the page must show the
    # run waiting and then follow it (by polling) to the end.
    control = current_app.control
    control.cancel_consumer("maintenance", destination=[celery_worker.hostname], reply=True)
    try:
        page.click("button[data-action-button='backup']")
        card = page.locator("[data-action='backup']")
        card.locator("[data-run-status][data-finished='false']").wait_for()
        assert card.locator("[data-field=status]").inner_text() == "Queued"
        assert page.locator("button[data-action-button='backup']").is_disabled()
    finally:
        control.add_consumer("maintenance", destination=[celery_worker.hostname], reply=True)
    page.wait_for_selector("[data-action='backup'] [data-run-status][data-finished='true']",
                           timeout=60000)
    assert card.locator("[data-field=status]").inner_text() == "Succeeded"
    backup = Backup.objects.get()
    assert f'"backup_id": {backup.pk}' in card.locator("[data-field=result]").inner_text()
    assert page.locator("button[data-action-button='backup']").is_enabled()
    assert MaintenanceRun.objects.get().task_id == backup.task_id
    (Path(str(settings.BACKUP_DIR)) / backup.file_name).unlink(missing_ok=True)
