"""The Unfold admin: themed login, dashboard, sidebar links, and who may enter."""

import re

import pytest
from django.contrib import admin
from django.test import RequestFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-Root-123")


def test_login_page_renders_with_unfold_assets(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    html = response.content.decode()
    stylesheet = re.search(r'href="(/static/unfold/css/styles[^"]*\.css)"', html)
    assert stylesheet, "Unfold's stylesheet is not linked from the login page"
    assert client.get(stylesheet.group(1)).status_code == 200  # whitenoise serves it
    assert "Backoffice" in html


def test_dashboard_renders_for_superuser(client, superuser):
    client.force_login(superuser)

    response = client.get("/admin/")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="system-status"' in html
    assert "Latest task runs" in html
    assert "backoffice/js/dashboard.js" in html


def test_environment_badge_names_the_environment(client, superuser, settings):
    settings.ENVIRONMENT_NAME = "production"
    client.force_login(superuser)

    assert "Production" in client.get("/admin/").content.decode()


@pytest.mark.parametrize("is_staff", [False, True])
def test_non_staff_users_are_refused(client, django_user_model, is_staff):
    user = django_user_model.objects.create_user("plain", "p@example.com", "pw-Plain-123",
                                                 is_staff=is_staff)
    client.force_login(user)

    response = client.get("/admin/")

    if is_staff:
        assert response.status_code == 200
        # staff without permissions see no model pages in the sidebar
        assert "/admin/accounts/user/" not in response.content.decode()
    else:
        assert response.status_code == 302
        assert response.url.startswith("/admin/login/")


def test_anonymous_is_redirected_to_login(client):
    response = client.get("/admin/accounts/user/")

    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


def _sidebar_links(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    links = []
    for group in admin.site.get_sidebar_list(request):
        for item in group["items"]:
            if item.get("has_permission", True):  # what this user's sidebar shows
                links.append(str(item["link"]))
    return links


def test_every_sidebar_link_answers_200_for_superuser(client, superuser, settings):
    settings.MAIL_CATCHER = True  # as under the development settings: Caught mail shows
    client.force_login(superuser)
    links = _sidebar_links(superuser)

    expected = {
        "/admin/", "/admin/accounts/user/", "/admin/auth/group/",
        "/admin/django_celery_beat/periodictask/", "/admin/django_celery_beat/intervalschedule/",
        "/admin/django_celery_beat/crontabschedule/", "/admin/django_celery_beat/clockedschedule/",
        "/admin/django_celery_beat/solarschedule/",
        "/admin/django_celery_results/taskresult/", "/admin/django_celery_results/groupresult/",
        "/admin/devmail/caughtemail/",
    }
    assert expected <= set(links)
    for link in links:
        assert client.get(link).status_code == 200, link


def test_every_registered_admin_page_is_in_the_sidebar(superuser):
    links = set(_sidebar_links(superuser))
    request = RequestFactory().get("/admin/")
    request.user = superuser
    for app in admin.site.get_app_list(request):
        for model in app["models"]:
            assert model["admin_url"] in links, f"{model['admin_url']} missing from the sidebar"


def test_beat_and_results_admins_use_unfold():
    from django_celery_beat.models import PeriodicTask
    from django_celery_results.models import TaskResult
    from unfold.admin import ModelAdmin

    assert isinstance(admin.site._registry[PeriodicTask], ModelAdmin)
    assert isinstance(admin.site._registry[TaskResult], ModelAdmin)


def test_dashboard_task_counts_come_from_the_minute_counters(client, superuser):
    from datetime import timedelta

    from django.utils import timezone

    from operations.models import TaskMinuteStat

    # The suite's live workers count tasks an earlier test left running after its tables were
    # flushed; this test sums every queue, so it starts from no counters at all.
    TaskMinuteStat.objects.all().delete()
    now = timezone.now().replace(second=0, microsecond=0)
    TaskMinuteStat.objects.create(minute=now - timedelta(hours=1), queue="default",
                                  succeeded=7, failed=2)
    TaskMinuteStat.objects.create(minute=now - timedelta(hours=2), queue="email",
                                  succeeded=3, failed=0)
    TaskMinuteStat.objects.create(minute=now - timedelta(hours=30), queue="default",
                                  succeeded=100, failed=100)  # older than 24 h
    client.force_login(superuser)

    from operations.models import TaskRun

    TaskRun.objects.create(task_id="old-failure", name="maintenance.tasks.fail",
                           state="FAILURE", queued_at=now - timedelta(days=3))
    response = client.get("/admin/")
    tasks = response.context["tasks"]

    assert (tasks["total"], tasks["succeeded"], tasks["failed"]) == (12, 10, 2)
    # The card's link opens the unresolved failures, older than a day or not: it says so.
    assert tasks["unresolved"] == "1"
    assert "1 unresolved in Failed tasks" in response.text


def test_system_written_rows_are_view_only_for_everyone(superuser):
    from accounts.admin_mixins import RecordAdminMixin

    request = RequestFactory().get("/admin/")
    request.user = superuser
    record_admins = {model._meta.label: model_admin for model, model_admin
                     in admin.site._registry.items() if isinstance(model_admin, RecordAdminMixin)}

    assert {"notifications.OutgoingEmail", "reports.ApiRequest",
            "reports.DailyReport", "operations.TaskRun", "maintenance.MaintenanceRun"} <= set(
        record_admins)
    for label, model_admin in record_admins.items():
        assert not model_admin.has_add_permission(request), label
        assert not model_admin.has_change_permission(request), label
        assert model_admin.has_view_permission(request), label
    assert record_admins["reports.ApiRequest"].has_delete_permission(request)
    for label in ("notifications.OutgoingEmail", "notifications.OutgoingEmail",
                  "operations.TaskRun", "maintenance.MaintenanceRun"):
        assert not record_admins[label].has_delete_permission(request), label


@pytest.mark.parametrize("page, expected", [
    ("/admin/", "/admin/"),
    ("/admin/operations/taskrun/overview/", "/admin/operations/taskrun/overview/"),
    ("/admin/operations/taskrun/", "/admin/operations/taskrun/"),
    ("/admin/reports/dailyreport/charts/", "/admin/reports/dailyreport/charts/"),
    ("/admin/reports/dailyreport/", "/admin/reports/dailyreport/"),
    ("/admin/maintenance/maintenancerun/actions/", "/admin/maintenance/maintenancerun/actions/"),
    ("/admin/maintenance/maintenancerun/", "/admin/maintenance/maintenancerun/"),
])
def test_the_sidebar_highlights_one_item_the_page_itself(client, superuser, page, expected):
    client.force_login(superuser)

    html = client.get(page).content.decode()

    active = re.findall(r'<a href="([^"]+)" class="[^"]*\bactive\b[^"]*"', html)
    assert active == [expected]


@pytest.mark.parametrize("page, crumb", [
    ("/admin/django_celery_beat/periodictask/", "Schedules"),
    ("/admin/django_celery_results/taskresult/", "Task results"),
])
def test_breadcrumbs_name_the_celery_apps_as_the_sidebar_does(client, superuser, page, crumb):
    client.force_login(superuser)

    html = client.get(page).content.decode()

    assert re.search(rf">\s*{crumb}\s*</a\s*>", html)
    assert "Periodic Tasks" not in html and "Celery Results" not in html
