"""A staff member edits a periodic task, reads its next run, runs it now, and follows the
link to that run in the task history."""

import re

from playwright.sync_api import expect

from journeys.conftest import screenshot
from tests.processes import wait_until


def test_edit_a_schedule_then_run_it_now_and_find_the_run(staff_page, stack):
    page = staff_page
    page.goto(f"{stack.url}/admin/django_celery_beat/periodictask/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_role("link", name="Daily report").first.click()
    page.wait_for_url(re.compile(r"/periodictask/\d+/change/"))
    task = page.locator("select[name=regtask]")
    assert task.input_value() == "reports.tasks.generate_daily_report"  # the stored task

    # A header that would name another task is refused with the reason; nothing is saved.
    page.get_by_text("Execution Options").first.click()
    page.fill("textarea[name=headers]", '{"task": "maintenance.tasks.restore_backup"}')
    page.click("button[name=_continue]")
    expect(page.locator("#content")).to_contain_text("header(s) not allowed: task")
    page.fill("textarea[name=headers]", '{"x-team": "ops"}')

    page.fill("textarea[name=description]", "Yesterday's report, edited by a journey.")
    page.click("button[name=_continue]")
    expect(page.locator("textarea[name=description]")).to_have_value(
        "Yesterday's report, edited by a journey.")
    form_text = page.locator("#content").inner_text()
    assert re.search(r"Next run\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}", form_text), form_text
    screenshot(page, "periodic-task")

    page.get_by_role("link", name="Run now").first.click()
    page.get_by_role("button", name="Run now").last.click()
    link = page.get_by_role("link", name=re.compile(r"^[0-9a-f-]{36}$")).first
    expect(link).to_be_visible()
    task_id = link.inner_text()
    assert "queue reports" in page.content()  # the message names the run's queue
    link.click()
    page.wait_for_url(re.compile(r"/admin/operations/taskrun/\d+/change/$"))  # the run's page
    expect(page.locator("#content")).to_contain_text(task_id)

    def succeeded() -> bool:
        page.reload()  # the run's page is a plain page: reading it again is what staff do
        return page.locator("#content [data-state=SUCCESS]").count() == 1

    wait_until(succeeded, timeout=60, what="the run to succeed in the history", interval=1)
    expect(page.locator("#content")).to_contain_text("reports.tasks.generate_daily_report")
