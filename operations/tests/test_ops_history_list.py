"""The task-history list: filters by state, name, queue and date; search in the arguments."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from operations.models import TaskRun
from operations.tests.ops_support import auditor

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs():
    now = timezone.now()
    return {
        "ok": TaskRun.objects.create(task_id="run-ok", name="maintenance.tasks.echo",
                                     queue="maintenance", state="SUCCESS",
                                     args='["needle-123"]', queued_at=now),
        "bad": TaskRun.objects.create(task_id="run-bad", name="maintenance.tasks.fail",
                                      queue="reports", state="FAILURE", args='["other"]',
                                      queued_at=now - timedelta(days=3)),
        "waiting": TaskRun.objects.create(task_id="run-wait", name="maintenance.tasks.echo",
                                          queue="email", state="QUEUED", args='[1]',
                                          queued_at=now - timedelta(days=1)),
    }


def shown(client, query: str) -> set[str]:
    response = client.get(reverse("admin:operations_taskrun_changelist") + query)
    assert response.status_code == 200
    return {task_id for task_id in ("run-ok", "run-bad", "run-wait")
            if f">{task_id[:8]}<" in response.text}


def test_filters_and_search(client, runs):
    client.force_login(auditor())
    assert shown(client, "") == {"run-ok", "run-bad", "run-wait"}
    assert shown(client, "?state__exact=FAILURE") == {"run-bad"}
    assert shown(client, "?state__exact=QUEUED") == {"run-wait"}  # never stored by results
    assert shown(client, "?name=maintenance.tasks.echo") == {"run-ok", "run-wait"}
    assert shown(client, "?queue=email") == {"run-wait"}
    assert shown(client, "?q=needle-123") == {"run-ok"}
    assert shown(client, "?q=run-bad") == {"run-bad"}  # an exact task id
    since = timezone.localtime() - timedelta(days=2)
    query = f"?queued_at_from_0={since:%Y-%m-%d}&queued_at_from_1={since:%H:%M:%S}"
    assert shown(client, query) == {"run-ok", "run-wait"}
    assert shown(client, f"?queued_at_from_0={since:%Y-%m-%d}") == {"run-ok", "run-wait"}
    until = timezone.localtime() - timedelta(hours=1)
    assert shown(client, f"?queued_at_to_0={until:%Y-%m-%d}&queued_at_to_1={until:%H:%M:%S}") \
        == {"run-bad", "run-wait"}
    assert shown(client, "?queued_at_from_0=not-a-date") == {"run-ok", "run-bad", "run-wait"}


def test_unknown_filter_values_do_not_break_the_page(client, runs):
    client.force_login(auditor())
    response = client.get(reverse("admin:operations_taskrun_changelist") + "?state__exact=NOPE")
    assert response.status_code == 200
    assert shown(client, "?queue=nope") == set()


def test_the_short_id_the_list_shows_finds_its_run(client):
    full = "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
    TaskRun.objects.create(task_id=full, name="maintenance.tasks.echo", state="SUCCESS")
    TaskRun.objects.create(task_id="3f2a9c1f-0000-0000-0000-000000000000",
                           name="maintenance.tasks.echo", state="SUCCESS")
    client.force_login(auditor())

    response = client.get(reverse("admin:operations_taskrun_changelist") + "?q=3f2a9c1e")

    assert response.status_code == 200
    assert ">3f2a9c1e<" in response.text and ">3f2a9c1f<" not in response.text


def test_lists_that_never_count_offer_no_select_all(admin_client, runs):
    TaskRun.objects.bulk_create([TaskRun(task_id=f"many-{n}", name="maintenance.tasks.fail",
                                         state="FAILURE") for n in range(60)])
    for url in (reverse("admin:operations_taskrun_changelist"),
                reverse("admin:operations_failedtaskrun_changelist")):
        response = admin_client.get(url)
        assert response.status_code == 200
        assert not re.search(r"Select all \d", response.text), url
