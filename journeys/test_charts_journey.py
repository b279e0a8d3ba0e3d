"""A staff member reads the charts: each range, then a day's report, then its requests."""

import re

from journeys.conftest import screenshot

CLICK_BAR = """(index) => {
    const canvas = document.querySelector(".bo-chart[data-links] canvas");
    const chart = Chart.getChart(canvas);
    const bar = chart.getDatasetMeta(0).data[index];
    const box = canvas.getBoundingClientRect();
    return {x: box.left + bar.x, y: box.top + (bar.y + bar.base) / 2};
}"""


def test_charts_ranges_then_a_day_then_its_requests(staff_page, stack):
    page = staff_page
    page.goto(f"{stack.url}/admin/")
    page.get_by_role("link", name="Charts").first.click()
    page.wait_for_selector("#report-charts")
    for days in (7, 30, 90, 365):
        page.click(f"[data-range-link='{days}']")
        page.wait_for_selector(f"#report-charts[data-range='{days}']")
        summary = page.locator("#report-charts > p").first.inner_text()
        reported, shown = map(int, re.search(r"(\d+)/(\d+) days reported", summary).groups())
        assert shown == days and reported > 0, summary
        if days == 30:
            screenshot(page, "charts")

    page.click("[data-range-link='7']")
    page.wait_for_selector("#report-charts[data-range='7']")
    page.wait_for_function("() => Chart.getChart(document.querySelector("
                           "'.bo-chart[data-links] canvas'))")
    links = page.eval_on_selector(".bo-chart[data-links]", "el => JSON.parse(el.dataset.links)")
    day = max(i for i, link in enumerate(links) if link)  # the latest reported day
    point = page.evaluate(CLICK_BAR, day)
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url(re.compile(r"/admin/reports/dailyreport/\d+/change/"))
    link = page.get_by_role("link", name=re.compile(r"requests logged"))
    logged = int(re.search(r"(\d+) requests logged", link.inner_text()).group(1))
    assert logged > 0
    link.click()
    page.wait_for_url(re.compile(r"/admin/reports/apirequest/\?timestamp__gte="))
    rows = page.locator("#result_list tbody tr")
    assert rows.count() > 0
    screenshot(page, "day-requests")
