"""Chromium draws the report charts from seeded data and redraws them on a range switch."""

import pytest
from django.core.management import call_command

from tests.fixtures import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAINTED_PIXELS = """(canvas) => {
  const context = canvas.getContext('2d');
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
  return painted;
}"""
POINTS = "(canvas) => Chart.getChart(canvas).data.labels.length"


def login(page, live_server, django_user_model):
    django_user_model.objects.create_superuser("charts", "c@example.com", "Charts-Pass-123")
    log_in(page, live_server, "charts", "Charts-Pass-123")


def test_charts_draw_and_redraw_on_range_switch(page, live_server, django_user_model):
    call_command("seed_demo", "--days", "40", "--per-day", "150")
    login(page, live_server, django_user_model)

    page.goto(f"{live_server.url}/admin/reports/dailyreport/charts/?days=30")
    page.wait_for_function("document.querySelectorAll('canvas.chart').length === 5 && "
                           "[...document.querySelectorAll('canvas.chart')]"
                           ".every(c => window.Chart && Chart.getChart(c))")
    canvases = page.locator("canvas.chart")
    for index in range(5):
        assert canvases.nth(index).evaluate(PAINTED_PIXELS) > 500, f"canvas {index} is blank"
    assert canvases.first.evaluate(POINTS) == 30

    page.click("a[data-range-link='7']")
    page.wait_for_url("**/charts/?days=7")
    page.wait_for_function("Chart.getChart(document.querySelector('canvas.chart'))")
    assert page.locator("canvas.chart").first.evaluate(POINTS) == 7
    assert page.locator("canvas.chart").first.evaluate(PAINTED_PIXELS) > 500

    # Clicking a day's bar opens that day's report row.
    first = page.locator("canvas.chart").first
    box = first.bounding_box()
    bar = first.evaluate("(c) => { const b = Chart.getChart(c).getDatasetMeta(0).data[5];"
                         " return {x: b.x, y: (b.y + b.base) / 2}; }")  # yesterday's bar
    page.mouse.click(box["x"] + bar["x"], box["y"] + bar["y"])
    page.wait_for_url("**/admin/reports/dailyreport/*/change/")
    assert "Daily report" in page.content()


def test_dashboard_draws_its_30_day_chart(page, live_server, django_user_model):
    call_command("seed_demo", "--days", "10", "--per-day", "100")
    login(page, live_server, django_user_model)

    page.wait_for_function("Chart.getChart(document.querySelector('#traffic-dashboard canvas'))")
    canvas = page.locator("#traffic-dashboard canvas.chart")
    assert canvas.evaluate(PAINTED_PIXELS) > 500
    assert canvas.evaluate(POINTS) == 30
