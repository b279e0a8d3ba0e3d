"""A staff member keeps the house: back up, check the card and the recent runs agree,
download the file, open the restore confirmation; then the other buttons, each with a
readable result, and Clean up now only after its confirmation."""

import hashlib
import re

from playwright.sync_api import expect

from journeys.conftest import screenshot

ACTIONS = "/admin/maintenance/maintenancerun/actions/"


def no_horizontal_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def finished_ok(page, key: str, timeout: float = 90_000):
    card = page.locator(f"[data-action='{key}']")
    expect(card.locator("[data-run-status]")).to_have_attribute("data-status", "success",
                                                                timeout=timeout)
    return card


def test_back_up_download_and_the_restore_confirmation(staff_page, stack):
    page = staff_page
    page.goto(f"{stack.url}{ACTIONS}")
    page.click("button[data-action-button='backup']")  # a form: the page comes back
    page.wait_for_load_state("load")
    page.evaluate("window.sameDocument = true")
    card = finished_ok(page, "backup")
    newest = page.locator("#recent-runs tbody tr").first
    expect(newest).to_have_attribute("data-status", "success")
    expect(newest.locator("[data-field=status]")).to_have_text("Succeeded")
    expect(card.locator("[data-field=status]")).to_have_text("Succeeded")
    assert page.evaluate("window.sameDocument === true")  # followed live, no reload
    facts = card.locator("[data-field=result]")
    sha256 = facts.locator("[data-copy]").get_attribute("data-copy")
    file_name = facts.locator("[data-fact='File']").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", sha256) and "{" not in facts.inner_text()
    assert no_horizontal_overflow(page)
    screenshot(page, "maintenance")

    page.goto(f"{stack.url}/admin/maintenance/backup/")
    page.locator("#result_list tbody tr").first.locator("a").first.click()  # the newest
    expect(page.locator("#content")).to_contain_text(file_name)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download").first.click()
    content = download.value.path().read_bytes()
    assert hashlib.sha256(content).hexdigest() == sha256  # the file the card describes

    page.get_by_role("link", name="Restore…").first.click()
    plan = page.locator("#restore-plan")
    expect(plan).to_contain_text("(accounts.user)")
    assert plan.locator("tbody tr").count() > 1
    screenshot(page, "restore-confirmation")
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(re.compile(r"/admin/maintenance/backup/"))


def test_buttons_give_readable_results_and_clean_up_asks_first(staff_page, stack):
    page = staff_page
    page.goto(f"{stack.url}{ACTIONS}")
    page.click("button[data-action-button='daily_report']")
    card = finished_ok(page, "daily_report")
    expect(card.locator("[data-fact='Day']")).to_be_visible()
    assert "{" not in card.locator("[data-field=result]").inner_text()

    page.click("[data-action-link='cleanup']")
    preview = page.locator("#cleanup-preview")
    expect(preview).to_contain_text("API requests")
    screenshot(page, "cleanup-confirmation")
    page.click("button[data-confirm='cleanup']")
    page.wait_for_url(f"{stack.url}{ACTIONS}")
    cleanup = finished_ok(page, "cleanup")
    expect(cleanup.locator("[data-fact='Total deleted']")).to_be_visible()
    assert no_horizontal_overflow(page)

    page.goto(f"{stack.url}/admin/")
    expect(page.locator("#kpi-today")).to_be_visible()
    screenshot(page, "dashboard")
