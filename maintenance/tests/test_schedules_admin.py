"""The periodic task admin on Unfold: a compact list, the saved task selected in the form,
the next run on the form, and "Run now" from the form behind a POST."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from backoffice.task_links import task_run_url
from maintenance.models import MaintenanceRun
from operations.models import TaskRun

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:django_celery_beat_periodictask_changelist"


def change_url(task):
    return reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])


def run_now_url(task):
    return reverse("admin:django_celery_beat_periodictask_run_now_detail", args=[task.pk])


@pytest.fixture
def echo_task(settings):
    settings.CELERY_QUEUE_NAMES = (*settings.CELERY_QUEUE_NAMES, "run-now-admin-test")
    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.HOURS)
    return PeriodicTask.objects.create(
        name="Echo every hour, with a name long enough to need shortening in the list",
        task="maintenance.tasks.echo", interval=every, args=json.dumps(["hi"]),
        queue="run-now-admin-test")


def test_the_list_shows_only_the_essential_columns_shortened(admin_client, echo_task):
    call_command("setup_schedules", verbosity=0)
    body = admin_client.get(reverse(CHANGELIST)).content.decode()

    headers = re.findall(r'<th[^>]*class="[^"]*column-(\w+)', body)
    assert headers == ["name_short", "task_short", "schedule_human", "enabled", "last_run_at",
                       "next_run"]
    assert f'title="{echo_task.name}"' in body
    assert "Echo every hour, with a name long enoug…<" in body
    assert 'title="maintenance.tasks.echo">echo</span>' in body
    assert "Run selected tasks now" in body


def test_the_form_shows_the_saved_task_selected_and_the_next_run(admin_client, echo_task):
    body = admin_client.get(change_url(echo_task)).content.decode()

    selected = re.search(r'<select[^>]*name="regtask".*?</select>', body, re.S).group(0)
    assert re.search(r'<option value="maintenance\.tasks\.echo"\s+selected>', selected)
    assert "Next run" in body
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", body)  # TIME_ZONE, aware


def test_a_disabled_task_has_no_next_run(admin_client, echo_task):
    PeriodicTask.objects.filter(pk=echo_task.pk).update(enabled=False)
    body = admin_client.get(change_url(echo_task)).content.decode()
    assert re.search(r"Next run.*?—", body, re.S)


def test_run_now_on_the_form_asks_on_get_and_sends_on_post(admin_client, admin_user, echo_task):
    body = admin_client.get(change_url(echo_task)).content.decode()
    assert run_now_url(echo_task) in body

    dialog = admin_client.get(run_now_url(echo_task))
    assert dialog.status_code == 200 and "Run this task now?" in dialog.content.decode()
    assert not MaintenanceRun.objects.exists()  # a GET sends nothing

    response = admin_client.post(run_now_url(echo_task), {"_form_submitted": "on"},
                                 HTTP_HX_REQUEST="true")

    assert response.status_code == 204 and response["HX-Redirect"] == change_url(echo_task)
    run = MaintenanceRun.objects.get()
    assert (run.action, run.user, run.queue) == ("run_periodic_task", admin_user,
                                                 "run-now-admin-test")
    page = admin_client.get(change_url(echo_task)).content.decode()
    assert f'href="{task_run_url(run.task_id)}"' in page.replace("&amp;", "&")


def test_run_now_refuses_a_task_that_is_not_registered(admin_client, echo_task):
    PeriodicTask.objects.filter(pk=echo_task.pk).update(task="nowhere.tasks.missing")
    response = admin_client.post(run_now_url(echo_task), {"_form_submitted": "on"}, follow=True)
    assert "is not registered; nothing was sent" in response.content.decode()
    assert not MaintenanceRun.objects.exists()


def test_run_now_needs_the_change_permission(client, django_user_model, echo_task):
    viewer = django_user_model.objects.create_user("viewer", "v@example.com", "pw-Viewer-123",
                                                   is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_periodictask"))
    client.force_login(viewer)

    assert client.post(run_now_url(echo_task), {"_form_submitted": "on"}).status_code == 403
    assert run_now_url(echo_task) not in client.get(change_url(echo_task)).content.decode()
    assert not MaintenanceRun.objects.exists()


def test_run_now_with_the_broker_down_says_so_and_records_nothing(admin_client, echo_task,
                                                                  broker_down):
    before = PeriodicTask.objects.filter(pk=echo_task.pk).values().get()

    from_form = admin_client.post(run_now_url(echo_task), {"_form_submitted": "on"},
                                  follow=True)
    from_list = admin_client.post(reverse(CHANGELIST), {"action": "run_now",
                                                        "_selected_action": [echo_task.pk]},
                                  follow=True)

    for response, page in ((from_form, change_url(echo_task)), (from_list, reverse(CHANGELIST))):
        assert response.status_code == 200 and response.redirect_chain == [(page, 302)]
        assert [str(m) for m in response.context["messages"]][0].startswith(
            "Nothing was queued: the broker is unreachable (")
    # Only this task's own queue is looked at: a worker of an earlier test may still write
    # its runs.
    assert not MaintenanceRun.objects.exists()
    assert not TaskRun.objects.filter(queue=echo_task.queue).exists()
    assert PeriodicTask.objects.filter(pk=echo_task.pk).values().get() == before


def test_run_now_warns_when_its_queue_is_paused(admin_client, echo_task):
    from backoffice.redis_client import redis_client
    from operations.registry import PAUSED_KEY

    redis_client().hset(PAUSED_KEY, echo_task.queue, '{"at": 0, "by": "someone"}')
    try:
        response = admin_client.post(reverse(CHANGELIST),
                                     {"action": "run_now", "_selected_action": [echo_task.pk]},
                                     follow=True)
    finally:
        redis_client().hdel(PAUSED_KEY, echo_task.queue)

    text = response.content.decode()
    assert f"Queue {echo_task.queue} is paused: what was sent to it waits" in text
    assert MaintenanceRun.objects.filter(action="run_periodic_task").count() == 1
