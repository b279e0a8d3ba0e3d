"""A staff member edits a periodic task, reads its next run, runs it now, and follows the
link to that run in the task history."""

import re

from playwright.sync_api import expect

from journeys.conftest import screenshot


def test_edit_a_schedule_then_run_it_now_and_find_the_run(staff_page, stack):
    page = staff_page
    page.goto(f"{stack.url}/admin/django_celery_beat/periodictask/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_role("link", name="Daily report").first.click()
    page.wait_for_url(re.compile(r"/periodictask/\d+/change/"))
    task = page.locator("select[name=regtask]")
    assert task.input_value() == "reports.tasks.generate_daily_report"  # the stored task

    page.fill("textarea[name=description]", "Yesterday's report, edited by a journey.")
    page.click("button[name=_continue]")
    expect(page.locator("textarea[name=description]")).to_have_value(
        "Yesterday's report, edited by a journey.")
    next_run = page.locator(".field-next_run .readonly, .field-next_run div").first
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", next_run.inner_text())
    screenshot(page, "periodic-task")

    page.get_by_role("link", name="Run now").first.click()
    page.get_by_role("button", name="Run now").last.click()
    message = page.locator(".messagelist, [data-messages], #messages").first
    link = page.get_by_role("link", name=re.compile(r"^[0-9a-f-]{36}$")).first
    expect(link).to_be_visible()
    task_id = link.inner_text()
    assert "queue reports" in message.inner_text() or "queue reports" in page.content()
    link.click()
    page.wait_for_url(re.compile(rf"q={task_id}"))

    def succeeded() -> bool:
        page.reload()  # the history list is a plain list: reading it again is what staff do
        return "Succeeded" in page.locator("#result_list").inner_text()

    from tests.processes import wait_until

    wait_until(succeeded, timeout=60, what="the run to succeed in the history", interval=1)
    expect(page.locator("#result_list")).to_contain_text("reports.tasks.generate_daily_report")
