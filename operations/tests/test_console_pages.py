"""The console's pages as a staff member reads them: branding, unresolved failures, run
links, workflow roles, times to the second, and the terminate and purge confirmations."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from operations import selectors
from operations.models import TaskRun
from operations.recording import failures_resolve, publish_options
from operations.tests.ops_support import ALL_OPS_PERMS, auditor, operator, staff_user

pytestmark = pytest.mark.django_db

WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def run(task_id, state="FAILURE", **fields):
    fields.setdefault("name", "maintenance.tasks.fail")
    return TaskRun.objects.create(task_id=task_id, state=state, queue="maintenance",
                                  queued_at=fields.pop("queued_at", WHEN), **fields)


def retried(original, task_id, state):
    retry = run(task_id, state, retry_of=original)
    TaskRun.objects.filter(pk=original.pk).update(retried_as=retry)
    return retry


@pytest.fixture
def terminator():
    return staff_user("terminator", ALL_OPS_PERMS)


@pytest.fixture
def running():
    return run("running-1", "STARTED", name="maintenance.tasks.sleep", worker="w1@host",
               started_at=timezone.now() - timedelta(minutes=3, seconds=5))


def failed_list(client, resolution=None):
    url = reverse("admin:operations_failedtaskrun_changelist")
    return client.get(url, {"resolution": resolution} if resolution else {})


# Branding ---------------------------------------------------------------------------------

def test_every_console_page_shows_the_site_branding(client, terminator, running):
    client.force_login(terminator)
    urls = [reverse("admin:operations_overview"),
            reverse("admin:operations_workflow", args=[running.task_id]),
            reverse("admin:operations_queue_purge", args=["default"]),
            reverse("admin:operations_terminate", args=[running.task_id])]
    for url in urls:
        page = client.get(url)
        assert page.status_code == 200, url
        assert 'id="site-name"' in page.text, url


# Unresolved failures ----------------------------------------------------------------------

def test_failed_list_shows_unresolved_failures_by_default(client):
    client.force_login(operator())
    open_failure = run("open-fail")
    fixed = run("fixed-fail")
    fixed_retry = retried(fixed, "fixed-retry", "SUCCESS")
    failures_resolve(retried_task_id=fixed.task_id, when=WHEN)
    still_failing = run("again-fail")
    retried(still_failing, "again-retry", "FAILURE")
    waiting = run("wait-fail")
    retried(waiting, "wait-retry", "QUEUED")
    discarded = run("gone-fail", discarded_at=WHEN)

    default = failed_list(client).text
    for shown in (open_failure, still_failing, waiting):
        assert shown.task_id[:8] in default, shown.task_id
    for hidden in (fixed, discarded, fixed_retry):
        assert hidden.task_id[:8] not in default, hidden.task_id
    assert "Unresolved" in default

    resolved = failed_list(client, "resolved").text
    assert fixed.task_id[:8] in resolved and open_failure.task_id[:8] not in resolved
    assert discarded.task_id[:8] in failed_list(client, "discarded").text
    everything = failed_list(client, "all").text
    assert all(r.task_id[:8] in everything for r in (fixed, discarded, open_failure))


def test_a_succeeded_retry_of_a_retry_resolves_the_whole_chain(client):
    client.force_login(operator())
    first = run("chain-fail")
    second = retried(first, "chain-retry-1", "FAILURE")
    retried(second, "chain-retry-2", "SUCCESS")
    assert set(selectors.unresolved_failures().values_list("task_id", flat=True)) == {
        "chain-fail", "chain-retry-1"}

    failures_resolve(retried_task_id=second.task_id, when=WHEN)
    assert not selectors.unresolved_failures().exists()
    first.refresh_from_db()
    assert first.resolved_at == WHEN
    detail = client.get(reverse("admin:operations_taskrun_change", args=[first.pk])).text
    assert "2026-03-04 05:06:07" in detail  # resolved at, to the second (UTC in tests)


def test_sidebar_badge_and_overview_count_agree_with_the_failed_list(client):
    client.force_login(operator())
    for n in range(3):
        run(f"open-{n}")
    fixed = run("fixed")
    retried(fixed, "fixed-retry", "SUCCESS")
    failures_resolve(retried_task_id=fixed.task_id, when=WHEN)
    run("gone", discarded_at=WHEN)

    assert selectors.unresolved_failure_count() == (3, False)
    overview = client.get(reverse("admin:operations_overview")).text
    assert 'id="ops-unresolved" data-count="3"' in overview
    listing = failed_list(client).text
    assert listing.count('data-state="FAILURE"') == 3
    assert selectors.unresolved_failure_count(cap=2) == (2, True)


def test_the_sidebar_badge_counts_unresolved_failures(rf, django_user_model):
    from operations.dashboard import failed_tasks_badge

    run("open-1")
    run("gone", discarded_at=WHEN)
    request = rf.get("/admin/")
    request.user = operator()
    assert failed_tasks_badge(request) == "1"
    request.user = staff_user("nobody")
    assert failed_tasks_badge(request) is None


# Run links and times ----------------------------------------------------------------------

def test_run_page_links_retry_of_and_retried_as_and_shows_seconds(client):
    client.force_login(auditor())
    original = run("orig-1", finished_at=WHEN, started_at=WHEN)
    retry = retried(original, "retry-1", "FAILURE")
    detail = client.get(reverse("admin:operations_taskrun_change", args=[original.pk])).text
    assert f'href="{reverse("admin:operations_taskrun_change", args=[retry.pk])}"' in detail
    assert "2026-03-04 05:06:07" in detail
    back = client.get(reverse("admin:operations_taskrun_change", args=[retry.pk])).text
    assert f'href="{reverse("admin:operations_taskrun_change", args=[original.pk])}"' in back


def test_history_failed_list_and_workflow_show_times_with_seconds(client):
    client.force_login(auditor())
    failed = run("timed-1", finished_at=WHEN)
    history = client.get(reverse("admin:operations_taskrun_changelist"), {"kind": "all"})
    assert "2026-03-04 05:06:07" in history.text
    assert "2026-03-04 05:06:07" in failed_list(client).text
    workflow = client.get(reverse("admin:operations_workflow", args=[failed.task_id]))
    assert "2026-03-04 05:06:07" in workflow.text


# Workflow roles ---------------------------------------------------------------------------

def test_workflow_labels_chain_steps_group_members_and_the_chord_parts(client):
    client.force_login(auditor())
    header = {"in_chord": True, "chord_callback": "callback"}
    run("head-1", "SUCCESS", name="maintenance.tasks.echo", root_id="head-1",
        group_id="chord-group", options=header)
    run("head-2", "SUCCESS", name="maintenance.tasks.echo", root_id="head-2",
        group_id="chord-group", options=header)
    run("callback", "SUCCESS", name="maintenance.tasks.total", parent_id="head-2",
        root_id="head-2", group_id="chord-group", queued_at=WHEN + timedelta(seconds=1))
    page = client.get(reverse("admin:operations_workflow", args=["callback"])).text
    assert 'data-kind="chord"' in page
    assert page.count('data-role="chord header member"') == 2
    assert page.count('data-role="chord callback"') == 1
    assert 'data-role="group member"' not in page

    run("g-1", "SUCCESS", group_id="plain-group", root_id="g-1")
    run("g-2", "SUCCESS", group_id="plain-group", root_id="g-2")
    page = client.get(reverse("admin:operations_workflow", args=["g-1"])).text
    assert 'data-kind="group"' in page and page.count('data-role="group member"') == 2

    run("step-1", "SUCCESS", root_id="step-1", options={"chain": [{"task": "x"}]})
    run("step-2", "SUCCESS", root_id="step-1", parent_id="step-1")
    page = client.get(reverse("admin:operations_workflow", args=["step-2"])).text
    assert 'data-kind="chain"' in page and page.count('data-role="chain step"') == 2


def test_the_publish_options_record_a_chord_callback_id():
    body = ([1], {}, {"chord": {"task": "maintenance.tasks.total",
                                "options": {"task_id": "cb-1"}}})
    options = publish_options(headers={}, body=body, routing_key="maintenance", exchange="",
                              properties={}, declare=None)
    assert options["in_chord"] is True and options["chord_callback"] == "cb-1"


# Terminate confirmation -------------------------------------------------------------------

def test_terminate_asks_first_naming_the_run_and_what_is_lost(client, terminator, running):
    client.force_login(terminator)
    url = reverse("admin:operations_terminate", args=[running.task_id])
    page = client.get(url, {"next": reverse("admin:operations_overview")})
    assert page.status_code == 200
    assert 'id="terminate-confirm"' in page.text
    assert "maintenance.tasks.sleep" in page.text and running.task_id in page.text
    assert "w1@host" in page.text
    assert "running for 3 min 5 s" in page.text or "running for 3 min 6 s" in page.text
    assert "acks_late" in page.text and 'data-action="terminate-confirm"' in page.text
    assert 'name="confirm" value="yes"' in page.text

    unconfirmed = client.post(url, follow=True)
    assert "Not confirmed; nothing was changed." in unconfirmed.text
    running.refresh_from_db()
    assert running.state == "STARTED"


def test_terminate_refuses_a_run_that_is_not_running(client, terminator):
    client.force_login(terminator)
    done = run("done-1", "SUCCESS", name="maintenance.tasks.echo")
    url = reverse("admin:operations_terminate", args=[done.task_id])
    page = client.get(url)
    assert page.status_code == 200 and 'id="confirm-error"' in page.text
    assert "Only running runs can be terminated" in page.text
    assert 'name="confirm"' not in page.text
    response = client.post(url, {"confirm": "yes"}, follow=True)
    assert "Only running runs can be terminated" in response.text
    done.refresh_from_db()
    assert done.state == "SUCCESS"
    assert client.get(reverse("admin:operations_terminate", args=["nope"])).status_code == 404


def test_terminate_needs_its_permission_and_auditors_see_no_button(client, running):
    url = reverse("admin:operations_terminate", args=[running.task_id])
    client.force_login(operator())  # every console permission but terminate
    assert client.get(url).status_code == 403
    assert client.post(url, {"confirm": "yes"}).status_code == 403
    client.force_login(auditor())
    assert client.get(url).status_code == 403
    for page in (reverse("admin:operations_overview"),
                 reverse("admin:operations_taskrun_change", args=[running.pk])):
        assert 'data-action="terminate"' not in client.get(page).text
    running.refresh_from_db()
    assert running.state == "STARTED"


def test_the_terminate_button_opens_the_confirmation(client, terminator, running):
    client.force_login(terminator)
    detail = client.get(reverse("admin:operations_taskrun_change", args=[running.pk])).text
    url = reverse("admin:operations_terminate", args=[running.task_id])
    assert f'data-action="terminate" href="{url}?next=' in detail


# Purge confirmation -----------------------------------------------------------------------

def test_purge_confirmation_uses_the_shared_page_and_needs_confirm(client, ops_queue):
    from maintenance import tasks

    client.force_login(operator())
    for n in range(2):
        tasks.echo.apply_async((n,), queue=ops_queue)
    url = reverse("admin:operations_queue_purge", args=[ops_queue])
    page = client.get(url)
    assert 'id="purge-confirm"' in page.text and 'data-count="2"' in page.text
    assert "Purge 2 message(s)" in page.text and 'data-action="purge-confirm"' in page.text
    response = client.post(url, follow=True)
    assert "Not confirmed; nothing was changed." in response.text
    assert selectors.queue_depths()[ops_queue] == 2
    response = client.post(url, {"confirm": "yes"}, follow=True)
    assert "Purged 2 waiting message(s)" in response.text
    assert selectors.queue_depths()[ops_queue] == 0
