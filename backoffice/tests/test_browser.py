"""Headless Chromium logs in through the Unfold login page and sees the dashboard."""

import pytest

from tests.processes import LOG_DIR

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_login_and_see_dashboard(page, live_server, django_user_model, celery_worker):
    django_user_model.objects.create_superuser("staff", "staff@example.com", "Browser-Pass-123")

    page.goto(f"{live_server.url}/admin/")
    assert "/admin/login/" in page.url
    page.fill("input[name=username]", "staff")
    page.fill("input[name=password]", "Browser-Pass-123")
    page.click("button[type=submit]")

    page.wait_for_url(f"{live_server.url}/admin/")
    assert page.locator("#system-status").is_visible()
    # The status card is filled from /healthz by the page's script.
    page.wait_for_selector('#system-status [data-part="database"][data-ok="1"]')
    page.wait_for_selector('#system-status [data-part="workers"][data-ok="1"]')
    assert "online" in page.inner_text('#system-status [data-part="workers"]')
    assert page.locator("text=Latest task runs").is_visible()
    assert page.locator("nav >> text=Periodic tasks").count() >= 1
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(LOG_DIR / "dashboard.png"), full_page=True)
