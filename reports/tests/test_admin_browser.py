"""Staff find the request log from the sidebar and narrow it with the filters (Chromium)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from reports.models import ApiRequest
from tests.fixtures import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_filter_the_request_log_to_server_errors(live_server, page):
    User.objects.create_superuser("boss", "boss@example.com", "Boss-pass-123")
    now = timezone.now()
    ApiRequest.objects.bulk_create([
        ApiRequest(timestamp=now - timedelta(seconds=n), method="GET", route="/api/public/",
                   status_code=200, ip="127.0.0.1", duration_ms=1) for n in range(30)
    ] + [ApiRequest(timestamp=now, method="POST", route="/api/register/", status_code=503,
                    ip="127.0.0.1", duration_ms=9)])

    log_in(page, live_server, "boss", "Boss-pass-123")
    page.locator(":text-is('Reports'):visible").first.click()  # the sidebar group opens
    page.get_by_role("link", name="API requests").click()
    page.wait_for_url("**/admin/reports/apirequest/")
    assert page.locator("#result_list tbody tr").count() == 31

    page.goto(f"{live_server.url}/admin/reports/apirequest/?status_class=5xx")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "/api/register/" in rows.first.inner_text()
    assert "503" in rows.first.inner_text()
