"""The sweep queues what is waiting; a failed email is visible where staff look, with every
attempt and its reply, and Resend sends it once."""

import threading
from datetime import timedelta

import pytest
from django.db import connections, transaction
from django.test import Client
from django.utils import timezone

from accounts.models import User
from accounts.roles import AUDITORS, OPERATORS
from notifications import tasks
from notifications.apps import SWEEP_TASK, SWEEP_TASK_NAME
from notifications.models import OutgoingEmail
from notifications.sending import retry_delay
from notifications.services import email_schedule
from notifications.tests.helpers import final
from operations.models import TaskRun
from tests.people import member
from tests.processes import wait_until

OUTGOING = "/admin/notifications/outgoingemail/"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_sweep_queues_waiting_emails_once(celery_worker, smtp):
    user = User.objects.create_user("late", "late@example.com", "pw-Long-enough-1")
    email = OutgoingEmail.objects.create(lane="transactional", kind="welcome", user=user,
                                         to_email=user.email)
    OutgoingEmail.objects.filter(pk=email.pk).update(
        created_at=timezone.now() - timedelta(minutes=1))
    fresh = OutgoingEmail.objects.create(lane="transactional", kind="welcome", user=user,
                                         to_email=user.email)

    # Housekeeping keeps no result; this call asks for one to read the counts.
    result = tasks.sweep_outgoing_email.apply_async(ignore_result=False).get(timeout=30)

    assert result["emails_queued"] == 1  # the fresh row is left to its own enqueue
    [message] = smtp.wait_for(1)
    assert message["To"] == "late@example.com"
    assert final(email).status == "sent"
    fresh.refresh_from_db()
    assert fresh.status == "pending"
    again = tasks.sweep_outgoing_email.apply_async(ignore_result=False).get(timeout=30)
    assert again["emails_queued"] == 0  # the sent one is done; the fresh one was just queued


@pytest.mark.django_db
def test_sweep_is_scheduled():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(name=SWEEP_TASK_NAME)
    assert task.task == SWEEP_TASK and task.enabled and task.interval is not None


def test_backoff_grows_exponentially_with_jitter_and_is_capped(settings):
    settings.EMAIL_RETRY_BACKOFF_SECONDS = 10
    settings.EMAIL_RETRY_BACKOFF_MAX_SECONDS = 100
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)]:
        delays = {retry_delay(attempt=attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jitter


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_tasks_called_the_seed_way_with_only_a_user_id(celery_worker, smtp):
    user = User.objects.create_user("seed", "seed@example.com", "pw-Long-enough-1",
                                    first_name="Sid")

    welcome = tasks.send_welcome_email.delay(user.pk).get(timeout=30)
    reset = tasks.send_password_reset_email.delay(user.pk).get(timeout=30)

    assert welcome["status"] == reset["status"] == "sent"
    messages = smtp.wait_for(2)
    assert [m["To"] for m in messages] == ["seed@example.com", "seed@example.com"]
    kinds = set(OutgoingEmail.objects.filter(user=user).values_list("kind", "status"))
    assert kinds == {("welcome", "sent"), ("password_reset", "sent")}


@pytest.mark.django_db
def test_an_email_that_cannot_be_made_fails_with_the_reason(monkeypatch, only_our_workers):
    from notifications import sending

    user = User.objects.create_user("tpl", "tpl@example.com", "pw-Long-enough-1")
    email = OutgoingEmail.objects.create(lane="transactional", kind="welcome", user=user,
                                         to_email=user.email)

    def broken(email):
        raise ValueError("template exploded")

    monkeypatch.setattr(sending, "single_message", broken)
    result = sending.send_batch(ids=[email.pk])

    email.refresh_from_db()
    assert result.failed == 1 and email.status == "failed"
    assert "template exploded" in email.last_error
    assert [entry["outcome"] for entry in email.attempt_log] == ["permanent"]


def press_together(clients, url, data):
    """POST `data` to `url` from every client at once; the pages they get back."""
    barrier, pages = threading.Barrier(len(clients)), []

    def press(client):
        try:
            barrier.wait(timeout=30)
            pages.append(client.post(url, data, follow=True).content.decode())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=press, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return pages


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_refused_welcome_email_is_visible_and_resent_once(celery_worker, smtp):
    smtp.fail_rule = lambda address, attempt: (
        "550 5.1.1 mailbox unavailable" if address == "nope@example.com" and attempt == 1
        else None)
    user = User.objects.create_user("nope", "nope@example.com", "pw-Long-enough-1")
    with transaction.atomic():
        ticket = email_schedule(kind="welcome", user=user)
    email = final(OutgoingEmail.objects.get(pk=ticket.email_id))

    # Failed, with the reply, in every place staff look.
    assert email.status == "failed" and email.last_smtp_code == 550
    assert email.attempt_log[0]["reply"] == "recipient refused: 550 5.1.1 mailbox unavailable"
    wait_until(lambda: TaskRun.objects.filter(name="notifications.tasks.send_email",
                                              state="FAILURE").exists(), 30, "the failed task")
    run = TaskRun.objects.get(name="notifications.tasks.send_email", state="FAILURE")
    assert "nope@example.com" in run.traceback and "550" in run.traceback
    operator = member("opal", OPERATORS)
    auditor = member("audrey", AUDITORS)
    operators = [Client(), Client()]
    for client in operators:
        client.force_login(operator)
    listing = operators[0].get(f"{OUTGOING}?problem=any").content.decode()
    assert "nope@example.com" in listing and "550 5.1.1 mailbox unavailable" in listing
    page = operators[0].get(f"{OUTGOING}{email.pk}/change/").content.decode()
    assert "550 5.1.1 mailbox unavailable" in page and "Welcome" in page
    dashboard = operators[0].get("/admin/").content.decode()
    assert 'id="kpi-email-failed">1<' in dashboard

    # An Auditor sees it and cannot resend it.
    watcher = Client()
    watcher.force_login(auditor)
    refused = watcher.post(OUTGOING, {"action": "resend", "_selected_action": [email.pk]})
    assert refused.status_code in (200, 403)
    assert watcher.post(f"{OUTGOING}{email.pk}/resend/").status_code == 403
    email.refresh_from_db()
    assert email.status == "failed"

    # Two operators press Resend together: it is sent once.
    pages = press_together(operators, f"{OUTGOING}{email.pk}/resend/",
                           {"_form_submitted": "on"})
    assert sum("1 email(s) will be sent again." in page for page in pages) == 1
    assert sum("Nothing to resend" in page for page in pages) == 1
    assert final(email).status == "sent"
    smtp.wait_for(1)
    assert [m["To"] for m in smtp.messages] == ["nope@example.com"]
    assert [entry["outcome"] for entry in final(email).attempt_log] == ["permanent", "sent"]
