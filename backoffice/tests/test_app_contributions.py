"""Each app contributes its default schedules, sidebar pages and Operators' permissions in
its AppConfig: the sidebar is what the apps declare, and an app's new declarations reach
the schedules, the sidebar and the roles with no other file changed."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django_celery_beat.models import PeriodicTask

from accounts.roles import AUDITORS, OPERATORS, role_rules, roles_sync
from backoffice.schedules import default_schedules, schedules_ensure
from backoffice.sidebar import _sidebar_links, navigation_groups

pytestmark = pytest.mark.django_db

# The sidebar as staff know it: its groups and their items, in order.
SIDEBAR = [
    ("Overview", ["Dashboard"]),
    ("People", ["Users", "Groups", "API tokens"]),
    ("Reports", ["Charts", "Daily reports", "Weekly analytics", "API requests"]),
    ("Operations", ["Operations overview", "Workers", "Task history", "Failed tasks"]),
    ("Email", ["Notifications", "Outgoing email", "Subscriptions", "Suppression list",
               "Caught mail"]),
    ("API", ["API docs"]),
    ("Maintenance", ["Maintenance", "Backups", "Maintenance runs"]),
    ("Schedules", ["Periodic tasks", "Intervals", "Crontabs", "Clocked", "Solar"]),
    ("Task results", ["Task results", "Group results"]),
]


def sidebar(user):
    """(group title, [item titles]) as `user` sees the sidebar, and the items' badges."""
    request = RequestFactory().get("/admin/")
    request.user = user
    groups = admin.site.get_sidebar_list(request)
    shown = [(str(group["title"]), [str(item["title"]) for item in group["items"]
                                    if item["has_permission"]]) for group in groups]
    badges = {str(item["title"]): item["badge"] for group in groups
              for item in group["items"] if "badge" in item}
    return [(title, items) for title, items in shown if items], badges


def test_the_sidebar_lists_every_apps_pages_in_order(admin_user, settings):
    settings.MAIL_CATCHER = True

    shown, badges = sidebar(admin_user)

    assert shown == SIDEBAR
    assert badges == {"Failed tasks": "operations.dashboard.failed_tasks_badge",
                      "Outgoing email": "notifications.selectors.email_problems_badge"}


def test_caught_mail_is_for_superusers_while_the_mail_catcher_is_on(admin_user, settings,
                                                                     django_user_model):
    operator = django_user_model.objects.create_user("opal", is_staff=True)
    operator.groups.add(Group.objects.get(name=OPERATORS))
    settings.MAIL_CATCHER = True
    assert "Caught mail" not in dict(sidebar(operator)[0])["Email"]

    settings.MAIL_CATCHER = False
    assert "Caught mail" not in dict(sidebar(admin_user)[0])["Email"]


@pytest.fixture
def devmail_contributes_more(monkeypatch):
    """The mail catcher's AppConfig declares a schedule, a sidebar group and a grant."""
    config = apps.get_app_config("devmail")
    monkeypatch.setattr(config, "schedules", ({
        "name": "Caught mail echo", "task": "maintenance.tasks.echo",
        "interval": {"every": 5, "period": "minutes"}, "description": "A declared default."},),
        raising=False)
    monkeypatch.setattr(config, "navigation", (*config.navigation, {
        "title": "Mail lab", "order": 45, "items": (
            {"title": "Caught mail, again", "icon": "inbox",
             "url": "admin:devmail_caughtemail_changelist",
             "permission": "devmail.view_caughtemail"},)}))
    monkeypatch.setattr(config, "operator_permissions", (("devmail", "delete_caughtemail"),),
                        raising=False)
    forget_sidebar()  # built once per process from the declarations
    yield
    forget_sidebar()


def forget_sidebar():
    navigation_groups.cache_clear()
    _sidebar_links.cache_clear()


def test_an_apps_declarations_reach_schedules_sidebar_and_roles(devmail_contributes_more,
                                                                admin_user):
    assert {"name": "Caught mail echo", "task": "maintenance.tasks.echo", "app": "devmail",
            "interval": {"every": 5, "period": "minutes"},
            "description": "A declared default."} in default_schedules()
    assert schedules_ensure()["Caught mail echo"] == "created"
    assert PeriodicTask.objects.get(name="Caught mail echo").interval.every == 5

    titles = [title for title, _items in sidebar(admin_user)[0]]
    assert titles[titles.index("Email") + 1] == "Mail lab"  # its order: between Email and API
    assert dict(sidebar(admin_user)[0])["Mail lab"] == ["Caught mail, again"]

    assert ("devmail", "delete_caughtemail") in role_rules()[OPERATORS]
    assert roles_sync() == {OPERATORS: 1, AUDITORS: 0}
    granted = Group.objects.get(name=OPERATORS).permissions.filter(
        content_type__app_label="devmail", codename="delete_caughtemail")
    assert granted.exists()
