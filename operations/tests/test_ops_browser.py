"""The console in real Chromium: live overview with a paused queue, retry turning green."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from backoffice.redis_client import redis_client
from maintenance import tasks
from operations import services
from operations.tests.ops_support import operator, wait_for_state

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def logged_in_page(page, live_server, client):
    client.force_login(operator())
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    return page


def test_overview_shows_the_worker_and_the_depth_of_a_paused_queue(logged_in_page, live_server,
                                                                   ops_queue, queue_worker):
    page = logged_in_page
    services.queue_pause(queue=ops_queue, username="test")
    for n in range(2):
        tasks.echo.apply_async((n,), queue=ops_queue)

    page.goto(live_server.url + reverse("admin:operations_overview"))
    expect(page.locator(f'tr[data-worker="{queue_worker.hostname}"][data-online="1"]')) \
        .to_be_visible()
    depth = page.locator(f'tr[data-queue="{ops_queue}"] td[data-depth]')
    expect(depth).to_have_text("2")
    expect(page.locator("#ops-alerts")).to_contain_text(f"Queue {ops_queue} is paused")

    tasks.echo.apply_async((3,), queue=ops_queue)
    expect(depth).to_have_text("3", timeout=20000)  # refreshed in place, no reload

    page.locator(f'tr[data-queue="{ops_queue}"] button[data-action="resume"]').click()
    expect(page.locator("body")).to_contain_text(f"Queue {ops_queue} is resumed")
    expect(depth).to_have_text("0", timeout=20000)


def test_retrying_a_failed_task_from_the_browser_resolves_it(logged_in_page, live_server,
                                                             celery_worker):
    page = logged_in_page
    switch = "browser-flaky"
    redis_client().delete(tasks.FLAKY_KEY.format(switch))
    failed = wait_for_state(tasks.flaky.delay(switch).id, "FAILURE")
    redis_client().set(tasks.FLAKY_KEY.format(switch), "1", ex=300)

    failed_list = (live_server.url + reverse("admin:operations_failedtaskrun_changelist")
                   + "?name=maintenance.tasks.flaky")
    page.goto(failed_list)
    row = page.locator("#result_list tbody tr", has_text=failed.task_id[:8])
    expect(row.locator(".bo-state-danger")).to_be_visible()
    row.locator('button[data-action="retry"]').click()

    expect(page.locator("body")).to_contain_text("Sent maintenance.tasks.flaky again")
    row = page.locator("#result_list tbody tr", has_text=failed.task_id[:8])
    # The retry succeeds: the failure is resolved and leaves the list (which refreshes itself).
    expect(row).to_have_count(0, timeout=30000)
    failed.refresh_from_db()
    assert wait_for_state(failed.retried_as.task_id, "SUCCESS").retry_of_id == failed.pk

    page.goto(failed_list + "&resolution=resolved")
    green = page.locator("#result_list tbody tr", has_text=failed.task_id[:8]).locator(
        ".bo-state-success")
    expect(green).to_be_visible()
    assert green.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(220, 252, 231)"
