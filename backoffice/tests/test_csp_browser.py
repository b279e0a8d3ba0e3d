"""Under the production Content-Security-Policy, the admin's pages load without violations."""

import pytest
from django.conf import settings as django_settings

from tests.fixtures import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Browser-Pass-123"


@pytest.fixture
def csp(settings):
    settings.SECURE_CSP = django_settings.CONTENT_SECURITY_POLICY


def test_admin_pages_under_csp_have_no_violations(csp, page, live_server, django_user_model,
                                                  celery_worker):
    user = django_user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    problems = []
    # Chromium reports each violation on the console ("Refused to ... Content Security
    # Policy"); a blocked eval or script also surfaces as an uncaught page error.
    page.on("console", lambda m: problems.append(f"{page.url}: {m.text}")
            if "Content Security Policy" in m.text or "Refused to" in m.text else None)
    page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))

    response = page.goto(f"{live_server.url}/admin/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    log_in(page, live_server, "staff", PASSWORD)
    page.wait_for_selector('#system-status [data-part="database"][data-ok="1"]')

    links = page.eval_on_selector_all(
        'a[href^="/admin/"]', "els => els.map(e => e.getAttribute('href'))")
    pages = sorted({href.split("?")[0] for href in links
                    if "logout" not in href and "/delete/" not in href})
    pages += [f"/admin/accounts/user/{user.pk}/change/", "/admin/accounts/user/add/",
              "/admin/password_change/", "/api/docs/"]
    assert len(pages) > 10
    for path in pages:
        result = page.goto(f"{live_server.url}{path}")
        assert result.status < 500, path
        page.wait_for_load_state("networkidle")
    assert problems == []
