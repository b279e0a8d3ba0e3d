"""One rule for the whole admin, proved over every registered ModelAdmin (ours, Unfold's,
django-celery-beat's, django-celery-results'), every custom view and every action:

- an Auditor can press nothing: every non-GET request to every admin URL is refused, and
  no action that needs more than "view" is offered to them;
- each action names the permission it needs, and the ModelAdmin can check it;
- no page shows a password hash or an API token key, to anyone.
"""

import datetime as dt
import re

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.roles import AUDITORS, OPERATORS
from maintenance.actions import ACTIONS
from tests.people import member

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
# Not behind the rule, on purpose: anyone may post credentials to log in; a signed-in user
# may log out and change their own password; the catch-all only redirects.
EXEMPT = {"login", "logout", "password_change", "password_change_done", None}
QUEUE = "admin-rule-test"



def sample_rows(root):
    """At least one row for most registered models, so their object pages are walked."""
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )
    from django_celery_results.models import GroupResult, TaskResult

    from maintenance.models import Backup, MaintenanceRun
    from notifications.models import Notification, OutgoingEmail
    from operations.models import TaskRun
    from reports.models import ApiRequest, DailyReport, WeeklyAnalytics

    now = timezone.now()
    Token.objects.create(user=root)
    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    PeriodicTask.objects.create(name="rule", task="maintenance.tasks.noop", interval=every)
    CrontabSchedule.objects.create(minute="5")
    ClockedSchedule.objects.create(clocked_time=now + dt.timedelta(days=1))
    SolarSchedule.objects.create(event="sunrise", latitude=50, longitude=10)
    TaskResult.objects.create(task_id="rule-result", status="SUCCESS")
    GroupResult.objects.create(group_id="rule-group")
    TaskRun.objects.create(task_id="rule-failed", name="maintenance.tasks.fail",
                           queue="maintenance", state="FAILURE", traceback="Boom")
    MaintenanceRun.objects.create(action="backup", label="Back up now", user=root,
                                  requested_at=now, task_id="rule-failed")
    Backup.objects.create(started_at=now, status="failed", error="on purpose")
    notification = Notification.objects.create(subject="Rule", html_body="<p>x</p>")
    OutgoingEmail.objects.create(notification=notification, lane="bulk", kind="notification",
                                 to_email="d@example.com")
    OutgoingEmail.objects.create(lane="transactional", kind="welcome", user=root,
                                 to_email=root.email)
    ApiRequest.objects.create(timestamp=now, method="GET", route="/api/public/",
                              status_code=200, ip="10.0.0.1", duration_ms=1.0)
    DailyReport.objects.create(date=dt.date(2026, 1, 5), generated_at=now)
    WeeklyAnalytics.objects.create(week_start=dt.date(2026, 1, 5), generated_at=now)


def _routes(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def admin_urls(root):
    """Every admin URL with its parameters filled in (each object page with a real row)."""
    from operations.models import TaskRun

    task_id = TaskRun.objects.get(task_id="rule-failed").task_id
    urls = []
    for route, pattern in _routes(admin.site.urls[0]):
        if pattern.name in EXEMPT:
            continue
        model_admin = getattr(pattern.callback, "model_admin", None)
        if route.startswith("^"):  # the app index: one URL per app
            labels = {m._meta.app_label for m in admin.site._registry}
            urls += [(f"/admin/{label}/", pattern.name, None) for label in sorted(labels)]
            continue
        model = model_admin.model if model_admin else None
        if model is None:
            parts = route.split("/")
            matches = [m for m in admin.site._registry
                       if parts[:2] == [m._meta.app_label, m._meta.model_name]]
            model = matches[0] if matches else None
        row = model._default_manager.first() if model is not None else None
        if ("<path:object_id>" in route or "<int:pk>" in route) and row is None:
            continue
        object_id = quote(row.user_id if model and model._meta.model_name == "tokenproxy"
                          else row.pk) if row is not None else ""
        values = {"object_id": object_id, "pk": str(row.pk) if row is not None else "",
                  "task_id": task_id, "queue": QUEUE,
                  "content_type_id": str(ContentType.objects.get_for_model(root).pk)}
        keys = sorted(ACTIONS) if "<slug:key>" in route else [None]
        for key in keys:
            url = route
            for name, value in {**values, "key": key}.items():
                url = re.sub(rf"<(\w+:)?{name}>", str(value), url)
            if "<" not in url:
                urls.append(("/admin/" + url, pattern.name, model_admin))
    return urls


def every_action(model_admin, request):
    """(name, function) of every action the admin has, whoever asks."""
    return [(name, func) for name, (func, _, _) in model_admin.get_actions(request).items()]


def test_the_whole_admin_follows_one_rule(client, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-Root-123")
    auditor = member("audrey", AUDITORS)
    operator = member("opal", OPERATORS)
    sample_rows(root)
    secrets = [user.password for user in django_user_model.objects.all()]
    secrets += [part for user in django_user_model.objects.all()
                for part in user.password.split("$")[1:] if len(part) >= 8]
    secrets += list(Token.objects.values_list("key", flat=True))
    factory = RequestFactory()

    def request_as(user):
        request = factory.get("/admin/")
        request.user = user
        return request

    # Each action names its permission; an Auditor is offered none that changes anything.
    assert len(admin.site._registry) >= 20
    actions_seen = 0
    for model, model_admin in admin.site._registry.items():
        for name, func in every_action(model_admin, request_as(root)):
            actions_seen += 1
            named = getattr(func, "allowed_permissions", ())
            assert named, f"{model._meta.label}: action {name} names no permission"
            for permission in named:
                assert callable(getattr(model_admin, f"has_{permission}_permission", None)), \
                    f"{model._meta.label}: {name} needs {permission}, which nothing checks"
        for name, func in every_action(model_admin, request_as(auditor)):
            assert set(func.allowed_permissions) == {"view"}, \
                f"{model._meta.label}: action {name} is offered to Auditors"
    assert actions_seen >= 10

    urls = admin_urls(root)
    assert len({name for _, name, _ in urls}) >= 60, "the walk found too few admin views"

    # An Auditor presses nothing: every POST to every admin URL (with every action of a
    # changelist that changes anything) is refused, and nothing is written.
    client.force_login(auditor)
    for url, name, model_admin in urls:
        bodies = [{"post": "yes", "confirm": "yes", "name": "maintenance.tasks.fail"}]
        if name and name.endswith("_changelist"):
            pks = [str(pk) for pk in model_admin.model._default_manager.values_list(
                "pk", flat=True)[:5]]
            bodies = [{"action": action, "_selected_action": pks, "index": 0}
                      for action, func in every_action(model_admin, request_as(root))
                      if set(func.allowed_permissions) != {"view"}]
        for body in bodies:
            with CaptureQueriesContext(connection) as queries:
                response = client.post(url, body)
            writes = [q["sql"] for q in queries.captured_queries
                      if q["sql"].lstrip().upper().startswith(WRITES)
                      and "django_session" not in q["sql"]]
            assert writes == [], (url, body, writes)
            if name and name.endswith("_changelist"):
                # Django runs only the actions this user is offered (none of these, above):
                # the list again, or back to it with "No action selected".
                assert response.status_code in (200, 302, 403), (url, body)
                assert "successfully" not in response.content.decode(), (url, body)
            else:
                assert response.status_code == 403, (url, body, response.status_code)

    # No page shows a password hash or a token key, whoever looks.
    for user in (root, operator, auditor):
        client.force_login(user)
        for url, _, _ in urls:
            response = client.get(url)
            if response.status_code != 200 or getattr(response, "streaming", False):
                continue
            body = response.content.decode(errors="replace")
            leaked = [secret for secret in secrets if secret in body]
            assert leaked == [], (user.username, url)
