"""Bulk and transactional sends honour the configured backend, and a bug in sending fails
the task loudly instead of marking a recipient failed."""

from datetime import timedelta

import pytest
from celery.result import AsyncResult
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from notifications import lifecycle
from notifications.bulk import batch_send
from notifications.claims import claimable
from notifications.models import Notification, OutgoingEmail, Suppression
from notifications.services import transactional_email_send
from notifications.tasks import send_bulk_notifications
from notifications.tests.backends import MARK_HEADER, MarkingBackend
from notifications.tests.helpers import finished, make_users, user_with_welcome_email
from tests.processes import CeleryWorker, wait_until

MARKING = "notifications.tests.backends.MarkingBackend"
BROKEN = "notifications.tests.backends.BrokenBackend"


def backend_env(sink, backend: str) -> dict[str, str]:
    return {**sink.env(), "EMAIL_BACKEND": backend}


def backend_settings(sink, backend: str):
    return override_settings(EMAIL_BACKEND=backend, EMAIL_HOST="127.0.0.1",
                             EMAIL_PORT=sink.port, EMAIL_URL="")


def started_batches(notification: Notification) -> list[list[int]]:
    send_id = lifecycle.notification_start(notification_id=notification.pk)
    return lifecycle.notification_dispatch(notification_id=notification.pk, send_id=send_id)


def assert_left_claimable(notification: Notification, count: int) -> None:
    """Nobody marked failed or suppressed: the rows wait under their lease, then any batch
    may take them again."""
    rows = OutgoingEmail.objects.filter(notification=notification)
    assert set(rows.values_list("status", flat=True)) == {OutgoingEmail.Status.SENDING}
    assert rows.count() == count and not Suppression.objects.exists()
    after_lease = timezone.now() + timedelta(seconds=settings.NOTIFICATION_CLAIM_LEASE_SECONDS + 1)
    assert rows.filter(claimable(after_lease)).count() == count


@pytest.mark.django_db
def test_a_bulk_batch_goes_through_a_subclass_backends_send_messages(smtp):
    make_users(12, "marked")
    notification = Notification.objects.create(subject="Hello {{ username }}",
                                               text_body="Dear {{ username }}")
    MarkingBackend.given.clear()

    with backend_settings(smtp, MARKING):
        results = [batch_send(notification_id=notification.pk, delivery_ids=ids)
                   for ids in started_batches(notification)]

    assert sum(result.sent for result in results) == 12
    assert sorted(m.subject for m in MarkingBackend.given) == sorted(
        f"Hello marked{n}" for n in range(12))
    received = smtp.wait_for(12)
    assert {m[MARK_HEADER] for m in received} == {"MarkingBackend"}
    assert set(OutgoingEmail.objects.filter(notification=notification)
               .values_list("status", flat=True)) == {OutgoingEmail.Status.SENT}


@pytest.mark.django_db
def test_a_bug_in_a_bulk_batch_raises_and_marks_nobody_failed(smtp):
    make_users(5, "bug")
    notification = Notification.objects.create(subject="Bug", text_body="hello")

    with backend_settings(smtp, BROKEN), pytest.raises(AttributeError):
        for ids in started_batches(notification):
            batch_send(notification_id=notification.pk, delivery_ids=ids)

    assert_left_claimable(notification, 5)
    assert smtp.messages == []


@pytest.mark.django_db
def test_a_bug_in_a_transactional_send_raises_and_records_no_outcome(smtp):
    email = user_with_welcome_email("bugsy", "bugsy@example.com")

    with backend_settings(smtp, BROKEN), pytest.raises(AttributeError):
        transactional_email_send(email_id=email.pk)

    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.SENDING  # the sweep re-queues it later
    assert not email.attempt_log.exists() and email.last_error == ""


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_sends_bulk_mail_through_a_subclass_backend(smtp, only_our_workers):
    make_users(30, "viaworker")
    notification = Notification.objects.create(subject="Marked", text_body="hello")
    worker = CeleryWorker(queues=("email", "bulk"), extra_env=backend_env(smtp, MARKING))
    worker.start()
    try:
        send_bulk_notifications.delay(notification.pk)
        assert finished(notification, timeout=120).status == Notification.Status.SENT
    finally:
        worker.stop()

    marked = [m for m in smtp.messages if m["Subject"] == "Marked"]
    assert len(marked) == 30 and {m[MARK_HEADER] for m in marked} == {"MarkingBackend"}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_bug_fails_the_worker_tasks_and_leaves_every_row_to_send_again(smtp,
                                                                         only_our_workers):
    notification = Notification.objects.create(
        subject="Buggy", text_body="hello", audience=Notification.Audience.ADDRESSES,
        addresses="\n".join(f"buggy{n}@example.com" for n in range(4)))
    worker = CeleryWorker(queues=("email", "bulk"), extra_env=backend_env(smtp, BROKEN))
    worker.start()
    try:
        bulk = send_bulk_notifications.delay(notification.pk)
        email = user_with_welcome_email("buggy-new", "buggy-new@example.com")
        with pytest.raises(Exception, match="recipient_list"):
            bulk.get(timeout=60)
        wait_until(lambda: OutgoingEmail.objects.filter(pk=email.pk)
                   .exclude(task_id="").exists(), 30, "the welcome email to be queued")
        email.refresh_from_db()
        welcome = AsyncResult(email.task_id)
        wait_until(welcome.ready, 60, "the welcome email task to end")
    finally:
        worker.stop()

    assert welcome.status == "FAILURE" and isinstance(welcome.result, AttributeError)
    email.refresh_from_db()
    assert email.status == OutgoingEmail.Status.SENDING
    assert not email.attempt_log.exists()
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENDING  # resumed by the sweep later
    assert_left_claimable(notification, 4)
    assert smtp.messages == []
