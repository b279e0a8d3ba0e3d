"""A task fails; a staff member finds it from the console's overview, retries it once the
cause is fixed, watches it leave the unresolved failures, and reads its workflow."""

import re
import uuid

import redis
from playwright.sync_api import expect

from journeys.conftest import screenshot

FLAKY = "maintenance.tasks.flaky"
SWITCH_KEY = "backoffice:diag:flaky:{}"  # maintenance.tasks.FLAKY_KEY


def test_failed_task_retried_leaves_the_unresolved_view(staff_page, stack):
    page = staff_page
    switch = f"journey-{uuid.uuid4().hex[:6]}"
    task_id = stack.manage("shell", "-c", (
        "from celery import current_app; "
        f"print(current_app.send_task({FLAKY!r}, args=[{switch!r}]).id)")).split()[-1]

    page.goto(f"{stack.url}/admin/operations/taskrun/overview/")
    unresolved = page.locator("#ops-unresolved")
    expect(unresolved).not_to_have_attribute("data-count", "0", timeout=60_000)
    screenshot(page, "operations-overview")
    unresolved.click()

    row = page.locator("#result_list tbody tr", has_text=FLAKY)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(re.compile(r"\d{2}:\d{2}:\d{2}"))  # times to the second
    screenshot(page, "failed-tasks")

    # The cause is fixed; the retry succeeds, and the failure leaves the unresolved view
    # by itself (the list refreshes in place).
    redis.Redis.from_url(stack.redis_url).set(SWITCH_KEY.format(switch), "1")
    row.locator("button[data-action=retry]").click()
    page.evaluate("window.sameDocument = true")
    expect(page.locator("#result_list tbody tr", has_text=FLAKY)).to_have_count(
        0, timeout=60_000)
    assert page.evaluate("window.sameDocument === true")

    page.goto(f"{stack.url}/admin/operations/taskrun/?q={task_id}")
    page.locator("#result_list tbody tr").first.locator("a").first.click()
    expect(page.locator("#content")).to_contain_text("Retried as")
    page.get_by_role("link", name="Workflow view").click()
    page.wait_for_url(re.compile(r"/workflow/"))
    expect(page.locator("#content")).to_contain_text(FLAKY)
    screenshot(page, "workflow")
