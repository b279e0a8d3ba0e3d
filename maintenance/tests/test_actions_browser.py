"""Chromium at 1440×900 with DEBUG on (as `make run`): "Back up now" is followed on the page
until the card and the recent runs both say it succeeded, with a readable result; "Clean up
now" goes through its confirmation page."""

import pytest
from playwright.sync_api import expect

from maintenance.models import Backup, MaintenanceRun
from maintenance.services import backup_create, backup_delete
from tests.fixtures import log_in

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ACTIONS_URL = "/admin/maintenance/maintenancerun/actions/"


@pytest.fixture
def wide_page(browser, settings):
    settings.DEBUG = True
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def no_horizontal_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_back_up_then_clean_up_from_the_maintenance_page(wide_page, live_server,
                                                         django_user_model, celery_worker,
                                                         held_maintenance_queue):
    page = wide_page
    django_user_model.objects.create_superuser("keeper", "k@example.com", "Keeper-Pass-123")
    log_in(page, live_server, "keeper", "Keeper-Pass-123")
    page.goto(f"{live_server.url}{ACTIONS_URL}")

    # The worker holds back maintenance work for a moment: the page shows the run waiting.
    release = held_maintenance_queue
    page.click("button[data-action-button='backup']")
    card = page.locator("[data-action='backup']")
    expect(card.locator("[data-run-status]")).to_have_attribute("data-status", "queued")
    row = page.locator("#recent-runs tbody tr").first
    expect(row).to_have_attribute("data-status", "queued")
    assert page.locator("button[data-action-button='backup']").is_disabled()
    release()

    # Card and recent runs are refreshed together, without reloading the page.
    expect(card.locator("[data-run-status]")).to_have_attribute("data-status", "success",
                                                                timeout=60000)
    expect(page.locator("#recent-runs tbody tr").first).to_have_attribute(
        "data-status", "success")
    expect(card.locator("[data-field=status]")).to_have_text("Succeeded")
    expect(page.locator("#recent-runs tbody tr").first.locator("[data-field=status]")) \
        .to_have_text("Succeeded")
    backup = Backup.objects.get()
    facts = card.locator("[data-field=result]")
    expect(facts.locator("[data-fact='File']")).to_have_text(backup.file_name)
    expect(facts.locator("[data-fact='SHA-256'] code")).to_have_text(f"{backup.sha256[:12]}…")
    assert facts.locator("[data-copy]").get_attribute("data-copy") == backup.sha256
    assert "{" not in facts.inner_text()  # facts, not JSON
    card_box, facts_box = card.bounding_box(), facts.bounding_box()
    assert facts_box["x"] + facts_box["width"] <= card_box["x"] + card_box["width"]
    assert no_horizontal_overflow(page)
    expect(page.locator("button[data-action-button='backup']")).to_be_enabled()
    assert MaintenanceRun.objects.get(action="backup").task_id == backup.task_id

    # Clean up now asks first, with numbers, then starts one cleanup.
    page.click("[data-action-link='cleanup']")
    expect(page.locator("#cleanup-preview")).to_contain_text("API requests")
    assert no_horizontal_overflow(page)
    page.click("button[data-confirm='cleanup']")
    page.wait_for_url(f"{live_server.url}{ACTIONS_URL}")
    cleanup = page.locator("[data-action='cleanup'] [data-run-status]")
    expect(cleanup).to_have_attribute("data-status", "success", timeout=60000)
    expect(page.locator("[data-action='cleanup'] [data-fact='Total deleted']")).to_be_visible()
    assert MaintenanceRun.objects.filter(action="cleanup").count() == 1
    backup_delete(backup=backup)


def test_the_restore_page_follows_the_run_to_its_outcome_label(wide_page, live_server,
                                                              django_user_model, celery_worker,
                                                              held_maintenance_queue):
    page = wide_page
    django_user_model.objects.create_superuser("restorer", "r@example.com", "Restore-Pass-123")
    backup = backup_create(triggered_by="test")
    log_in(page, live_server, "restorer", "Restore-Pass-123")
    page.goto(f"{live_server.url}/admin/maintenance/backup/{backup.pk}/restore/")
    page.get_by_role("button", name="Yes, replace these tables").click()

    label = page.locator("#restore-progress [data-field=status] span")
    expect(label).to_have_text("Queued")
    assert "bg-blue-100" in label.get_attribute("class")
    held_maintenance_queue()  # the worker takes it; the page follows without a reload

    expect(page.locator("#restore-progress")).to_have_attribute("data-status", "success",
                                                                timeout=60000)
    expect(label).to_have_text("Succeeded")
    assert "bg-green-100" in label.get_attribute("class")
    backup_delete(backup=backup)
