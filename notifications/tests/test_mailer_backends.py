"""Bulk and transactional sends honour the configured backend, and a bug in sending fails
the task loudly instead of marking a recipient failed."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from notifications import services
from notifications.models import Notification, OutgoingEmail, Suppression
from notifications.sending import send_batch
from notifications.tasks import send_bulk_notifications
from notifications.tests.backends import MARK_HEADER, MarkingBackend
from notifications.tests.helpers import finished, make_users, user_with_welcome_email
from operations.models import TaskRun
from tests.processes import CeleryWorker, wait_until

MARKING = "notifications.tests.backends.MarkingBackend"
BROKEN = "notifications.tests.backends.BrokenBackend"


def backend_env(sink, backend: str) -> dict[str, str]:
    return {**sink.env(), "EMAIL_BACKEND": backend}


def backend_settings(sink, backend: str):
    return override_settings(EMAIL_BACKEND=backend, EMAIL_HOST="127.0.0.1",
                             EMAIL_PORT=sink.port, EMAIL_URL="")


def started(notification: Notification, monkeypatch) -> None:
    """Start the send without queueing its drain: the test sends it in this process."""
    monkeypatch.setattr(services, "drain_enqueue", lambda **kwargs: True)
    services.notification_start(notification_id=notification.pk)


def assert_left_to_the_sweep(rows, count: int) -> None:
    """Nobody marked failed or suppressed: the rows wait under their lease, which the sweep
    takes back when it ends."""
    assert set(rows.values_list("status", flat=True)) == {OutgoingEmail.Status.SENDING}
    assert rows.count() == count and not Suppression.objects.exists()
    after_lease = timezone.now() + timedelta(seconds=settings.EMAIL_LEASE_SECONDS + 1)
    assert rows.filter(lease_until__lt=after_lease).count() == count
    assert not any(row.attempt_log for row in rows)


@pytest.mark.django_db
def test_a_bulk_batch_goes_through_a_subclass_backends_send_messages(smtp, monkeypatch):
    make_users(12, "marked")
    notification = Notification.objects.create(subject="Hello {{ username }}",
                                               text_body="Dear {{ username }}")
    MarkingBackend.given.clear()
    started(notification, monkeypatch)

    with backend_settings(smtp, MARKING):
        result = send_batch(notification_id=notification.pk)

    assert result.sent == 12
    assert sorted(m.subject for m in MarkingBackend.given) == sorted(
        f"Hello marked{n}" for n in range(12))
    received = smtp.wait_for(12)
    assert {m[MARK_HEADER] for m in received} == {"MarkingBackend"}
    assert set(OutgoingEmail.objects.filter(notification=notification)
               .values_list("status", flat=True)) == {OutgoingEmail.Status.SENT}


@pytest.mark.django_db
def test_a_bug_in_a_bulk_batch_raises_and_marks_nobody_failed(smtp, monkeypatch):
    make_users(5, "bug")
    notification = Notification.objects.create(subject="Bug", text_body="hello")
    started(notification, monkeypatch)

    with backend_settings(smtp, BROKEN), pytest.raises(AttributeError):
        send_batch(notification_id=notification.pk)

    assert_left_to_the_sweep(OutgoingEmail.objects.filter(notification=notification), 5)
    assert smtp.messages == []


@pytest.mark.django_db
def test_a_bug_in_a_transactional_send_raises_and_records_no_outcome(smtp, only_our_workers):
    email = user_with_welcome_email("bugsy", "bugsy@example.com")

    with backend_settings(smtp, BROKEN), pytest.raises(AttributeError):
        send_batch(ids=[email.pk])

    email.refresh_from_db()
    assert email.last_error == ""
    assert_left_to_the_sweep(OutgoingEmail.objects.filter(pk=email.pk), 1)


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
        send_bulk_notifications.delay(notification.pk)
        email = user_with_welcome_email("buggy-new", "buggy-new@example.com")
        runs = TaskRun.objects.filter(state="FAILURE", name__in=[
            "notifications.tasks.drain_notification", "notifications.tasks.send_email"])
        wait_until(lambda: runs.count() >= 2, 60, "the drain and the send to fail")
    finally:
        worker.stop()

    assert all("AttributeError" in run.traceback for run in runs)
    notification.refresh_from_db()
    assert notification.status == Notification.Status.SENDING  # the sweep takes it back later
    assert_left_to_the_sweep(OutgoingEmail.objects.filter(notification=notification), 4)
    assert_left_to_the_sweep(OutgoingEmail.objects.filter(pk=email.pk), 1)
    assert smtp.messages == []
