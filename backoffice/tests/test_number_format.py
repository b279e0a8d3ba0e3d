"""Counts read one way on every page: digits grouped as the active language groups them
(Django's humanize `intcomma`; "1,234,567" in English) — the dashboard, the charts page and
its chart axes, the queue and worker tables, report lists. Chromium, DEBUG on."""

import pytest
from django.urls import reverse
from django.utils import timezone

from reports.models import DailyReport
from reports.periods import yesterday

pytestmark = [pytest.mark.django_db(transaction=True)]

MANY = 1_234_567


@pytest.fixture
def big_day(settings):
    settings.DEBUG = True
    return DailyReport.objects.create(
        date=yesterday(), total_requests=MANY, successful_requests=MANY - 4321,
        failed_requests=4321, success_rate=99.65, unique_users=12_345,
        avg_response_time=1234.5, p95_response_time=2500.0, generated_at=timezone.now(),
        top_endpoints=[{"method": "GET", "route": "/api/public/", "count": 654_321}])


def test_counts_are_grouped_on_the_dashboard_charts_and_report_pages(admin_client, big_day):
    dashboard = admin_client.get(reverse("admin:index")).text
    assert 'id="kpi-yesterday">1,234,567<' in dashboard
    assert "requests; the 7 days before: 0" in dashboard  # small numbers stay as they are
    charts = admin_client.get(reverse("admin:reports_dailyreport_charts") + "?days=7").text
    assert "· 1,234,567 requests ·" in charts
    listing = admin_client.get(reverse("admin:reports_dailyreport_changelist")).text
    assert ">1,234,567<" in listing and ">4,321<" in listing and ">12,345<" in listing
    assert ">1,234.5<" in listing  # average ms: grouped, decimals kept
    detail = admin_client.get(reverse("admin:reports_dailyreport_change",
                                      args=[big_day.pk])).text
    assert "654,321" in detail  # the top endpoints table
    assert str(MANY) not in dashboard + charts + listing


@pytest.mark.browser
def test_chart_axes_group_digits_as_the_page_does_whatever_the_browser_language(
        browser, live_server, client, django_user_model, big_day):
    django_user_model.objects.create_superuser("root", "root@example.com", "pw-Root-1")
    client.login(username="root", password="pw-Root-1")
    context = browser.new_context(locale="fr-FR", viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        page.context.add_cookies([{"name": "sessionid",
                                   "value": client.cookies["sessionid"].value,
                                   "url": live_server.url}])
        page.goto(f"{live_server.url}{reverse('admin:reports_dailyreport_charts')}?days=7")
        page.wait_for_function("window.Chart && document.querySelector('canvas') && "
                               "Chart.getChart(document.querySelector('canvas'))")
        assert page.evaluate("navigator.language") == "fr-FR"
        ticks = page.evaluate("Chart.getChart(document.querySelector('canvas'))"
                              ".scales.y.ticks.map(t => t.label)")
        big = [label for label in ticks if len(label.replace(",", "")) > 3]
        assert big and all("," in label for label in big), ticks
    finally:
        context.close()
