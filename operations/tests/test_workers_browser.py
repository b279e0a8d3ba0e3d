"""The Workers page in real Chromium: a rate limit set with the form shows on the page."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.roles import OPERATORS
from tests.people import member

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ECHO = "maintenance.tasks.echo"


def test_setting_a_rate_limit_from_the_workers_page(page, live_server, client, control_worker):
    client.force_login(member("op", OPERATORS))
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                               "url": live_server.url}])
    page.goto(live_server.url + reverse("admin:operations_workers"))
    card = page.locator(f'[data-worker="{control_worker.hostname}"]')
    expect(card.locator('[data-part="pool"]')).to_contain_text("prefork × 2")
    form = card.locator('form:has(button[data-action="rate-limit"])')
    form.locator("select[name=task_name]").select_option(ECHO)
    form.locator("input[name=rate_limit]").fill("6/m")
    form.locator('button[data-action="rate-limit"]').click()

    expect(page.locator("body")).to_contain_text(f"Rate limit of {ECHO} on "
                                                 f"{control_worker.hostname} is now 6/m")
    limit = page.locator(f'[data-worker="{control_worker.hostname}"] '
                         f'[data-part="rate-limits"] li[data-task="{ECHO}"]')
    expect(limit).to_contain_text("6/m")
    expect(limit).to_contain_text("runtime only")
