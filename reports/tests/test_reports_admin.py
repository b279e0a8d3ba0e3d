"""Charts page, dashboard cards, CSV export and the Regenerate action in the admin."""

import csv
import datetime as dt
import io
import time

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from backoffice.task_links import task_run_url
from operations.models import TaskRun
from reports import services
from reports.models import DailyReport
from reports.periods import today
from reports.tests.factories import log

pytestmark = pytest.mark.django_db
CHARTS = "/admin/reports/dailyreport/charts/"
CHANGELIST = "/admin/reports/dailyreport/"


@pytest.fixture
def reports_last_10_days():
    for offset in range(1, 11):
        day = today() - dt.timedelta(days=offset)
        for status in [200] * offset + [500]:
            log(day, status=status)
        services.daily_report_generate(day=day)


@pytest.fixture
def viewer(django_user_model):
    user = django_user_model.objects.create_user("viewer", "v@example.com", "x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_dailyreport"))
    return user


def test_charts_page_draws_report_rows(admin_client, reports_last_10_days):
    response = admin_client.get(CHARTS, {"days": 7})

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<canvas class="chart"') == 5
    assert response.context["chosen"] == "7"
    series = response.context["charts"]["requests"]["data"]
    assert '"Successful", "data": [6, 5, 4, 3, 2, 1, null]' in series  # oldest first; today: none


def test_charts_custom_range_and_bad_ranges(admin_client, reports_last_10_days):
    start, end = today() - dt.timedelta(days=5), today() - dt.timedelta(days=2)
    ok = admin_client.get(CHARTS, {"start": start.isoformat(), "end": end.isoformat()})
    assert ok.context["chosen"] == "custom" and ok.context["summary"]["days"] == 4

    for params in ({"start": end.isoformat(), "end": start.isoformat()},
                   {"start": "2026-02-30", "end": "2026-03-01"},
                   {"start": start.isoformat()},
                   {"days": "13"},
                   {"start": "2020-01-01", "end": "2026-01-01"}):
        response = admin_client.get(CHARTS, params)
        assert response.status_code == 200, params
        assert 'id="range-errors"' in response.content.decode(), params
        assert response.context["chosen"] == "30"  # falls back to the default range


def test_charts_page_needs_view_permission(client, django_user_model, viewer):
    staff = django_user_model.objects.create_user("s", "s@example.com", "x", is_staff=True)
    client.force_login(staff)
    assert client.get(CHARTS).status_code == 403
    client.force_login(viewer)
    assert client.get(CHARTS).status_code == 200


def test_dashboard_shows_kpis_chart_and_nightly_runs(admin_client, reports_last_10_days):
    now = time.time_ns()  # written as the request log writes them: counted per minute
    services.api_requests_write(rows=[(now, "GET", "/api/public/", 200, None, "10.0.0.1",
                                       10_000_000),
                                      (now, "GET", "/api/public/", 503, None, "10.0.0.1",
                                       30_000_000)])

    response = admin_client.get("/admin/")

    html = response.content.decode()
    traffic = response.context["traffic"]
    assert traffic["today"] == {"total": 2, "failed": 1, "avg_ms": 20.0}
    assert traffic["yesterday"].total_requests == 2
    assert traffic["week"]["total"] == sum(n + 1 for n in range(1, 8))
    assert 'id="traffic-dashboard"' in html and 'id="nightly-runs"' in html
    assert "never ran" in html


def test_csv_export_of_selected_days(admin_client, reports_last_10_days):
    ids = list(DailyReport.objects.order_by("date").values_list("pk", flat=True)[:3])

    response = admin_client.post(CHANGELIST, {"action": "export_csv", "_selected_action": ids})

    assert response["Content-Type"] == "text/csv"
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["date", "total_requests", "successful_requests"]
    assert len(rows) == 4
    assert rows[1][1] == "11"  # the oldest day: 10 successes + 1 failure


def test_regenerate_is_refused_without_its_permission(client, viewer, reports_last_10_days):
    client.force_login(viewer)
    report = DailyReport.objects.first()

    listing = client.get(CHANGELIST)
    offered = [name for name, _ in listing.context["action_form"].fields["action"].choices]
    response = client.post(CHANGELIST, {"action": "regenerate", "_selected_action": [report.pk]},
                           follow=True)

    assert "regenerate" not in offered and "export_csv" in offered
    assert "Regeneration queued" not in response.content.decode()
    assert "No action selected" in response.content.decode()


def test_regenerate_is_a_post_only_action(admin_client, reports_last_10_days):
    report = DailyReport.objects.first()
    response = admin_client.get(CHANGELIST, {"action": "regenerate",
                                             "_selected_action": report.pk}, follow=True)
    assert response.status_code == 200
    assert "Regeneration queued" not in response.content.decode()
    assert not [m for m in response.context["messages"] if "queued" in m.message]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_regenerate_enqueues_and_the_worker_rebuilds_the_row(client, admin_client,
                                                            django_user_model, celery_worker):
    from celery.result import AsyncResult

    operator = django_user_model.objects.create_user("op", "op@example.com", "x",
                                                     is_staff=True)
    operator.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_dailyreport", "regenerate_dailyreport"]))
    day = today() - dt.timedelta(days=2)
    report = services.daily_report_generate(day=day)
    log(day, status=200)  # a late row the report does not count yet
    client.force_login(operator)

    response = client.post(CHANGELIST, {"action": "regenerate", "_selected_action": [report.pk]},
                           follow=True)

    message = next(iter(response.context["messages"])).message
    assert "Regeneration queued for 1 day(s)" in message
    task_id = message.split("/runs/", 1)[1].split("/", 1)[0]
    assert f'href="{task_run_url(task_id)}"' in message  # the run's one page
    AsyncResult(task_id).get(timeout=60)
    report.refresh_from_db()
    assert report.total_requests == 1 and report.task_id == task_id
    run = TaskRun.objects.get(task_id=task_id)
    page = admin_client.get(task_run_url(task_id))
    assert page.status_code == 302 and page.url == reverse("admin:operations_taskrun_change",
                                                           args=[run.pk])


def test_report_row_links_to_that_days_requests(admin_client, reports_last_10_days):
    report = DailyReport.objects.order_by("date").first()
    change = admin_client.get(reverse("admin:reports_dailyreport_change", args=[report.pk]))
    html = change.content.decode()
    link = html.split('href="/admin/reports/apirequest/?', 1)[1].split('"', 1)[0]

    listing = admin_client.get("/admin/reports/apirequest/?" + link.replace("&amp;", "&"))

    assert listing.status_code == 200
    assert listing.context["cl"].queryset.count() == report.total_requests
