"""A send starts once: concurrent presses, repeated starts, bad input; rows are claimed once
and the sweep takes back exactly what a dead or lost drain left."""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connections, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from notifications import services
from notifications.models import Notification, OutgoingEmail
from notifications.sending import claim
from notifications.tasks import drain_notification, send_bulk_notifications
from notifications.tests.helpers import finished, make_users, received_by_recipient
from tests.processes import CeleryWorker, wait_until

worker_test = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def worker4(django_db_setup, smtp_sink):
    """A real worker with four pool processes, mailing into the session's sink."""
    worker = CeleryWorker(concurrency=4, extra_env=smtp_sink.env()).start()
    yield worker
    worker.stop()


@pytest.fixture
def operator(django_user_model):
    user = django_user_model.objects.create_user("op", "op@example.com", "x", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="notifications",
        codename__in=["view_notification", "change_notification", "send_notification"]))
    return user


def url(name, notification):
    return reverse(f"admin:notifications_notification_{name}", args=[notification.pk])


@pytest.mark.parametrize("presses", [2, 6])
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_concurrent_send_now_presses_send_each_recipient_once(presses, operator, worker4,
                                                              smtp):
    make_users(1000, f"press{presses}-")
    subject = f"Pressed {presses} times"
    notification = Notification.objects.create(subject=subject, text_body="hello")
    barrier = threading.Barrier(presses)
    pages = []

    def press():
        try:
            client = Client()  # its own session and, in this thread, its own connection
            client.force_login(operator)
            barrier.wait(timeout=30)
            pages.append(client.post(url("send", notification), {"confirm": "yes"}, follow=True)
                         .content.decode())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=press) for _ in range(presses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(pages) == presses
    assert sum("Sending started" in page for page in pages) == 1
    assert sum("Already sending (started " in page for page in pages) == presses - 1
    assert finished(notification).status == "sent"
    recipients = set(OutgoingEmail.objects.filter(notification=notification)
                     .values_list("to_email", flat=True))
    assert len(recipients) == 1001  # the users and the operator
    wait_until(lambda: len(received_by_recipient(smtp, subject)) == 1001, 30, "every message")
    counts = received_by_recipient(smtp, subject)
    assert set(counts) == recipients and set(counts.values()) == {1}

    def admin_mails():
        return [m for m in smtp.messages if m["Subject"].endswith(f"finished: {subject}")]

    wait_until(admin_mails, 30, "the summary to the admins")
    assert len(admin_mails()) == 1  # one start, one finish, one summary


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_repeated_starts_and_redelivered_drains_send_nothing_twice(worker4, smtp):
    make_users(300, "again")
    notification = Notification.objects.create(subject="Once", text_body="hello")

    starts = [send_bulk_notifications.delay(notification.pk) for _ in range(3)]
    drains = [drain_notification.delay(notification.pk) for _ in range(3)]  # redelivered
    results = [result.get(timeout=120) for result in starts]
    for result in drains:
        result.get(timeout=120)

    assert sorted(r["status"] for r in results) == ["not sendable", "not sendable", "sending"]
    assert [r["recipients"] for r in results if r["status"] == "sending"] == [300]
    refused = [r["reason"] for r in results if r["status"] == "not sendable"]
    assert all(reason.startswith(("Already sending", "Already sent")) for reason in refused)
    assert finished(notification).status == "sent"
    wait_until(lambda: len(received_by_recipient(smtp, "Once")) == 300, 30, "every message")
    assert set(received_by_recipient(smtp, "Once").values()) == {1}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_start_with_no_recipients_fails_with_the_reason(worker4, smtp):
    notification = Notification.objects.create(subject="Nobody", text_body="t",
                                               audience="groups")
    notification.groups.add(Group.objects.create(name="Empty"))

    result = send_bulk_notifications.delay(notification.pk).get(timeout=60)

    notification.refresh_from_db()
    assert notification.status == "failed" and notification.finished_at
    assert notification.note == "No recipients: nothing was sent."
    assert result == {"notification_id": notification.pk, "status": "sending",
                      "recipients": 0}
    assert not OutgoingEmail.objects.filter(notification=notification).exists()
    assert not received_by_recipient(smtp, "Nobody")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_deleted_notification_is_not_sendable(worker4, smtp):
    notification = Notification.objects.create(subject="Gone", text_body="t")
    Notification.objects.filter(pk=notification.pk).delete()

    result = send_bulk_notifications.delay(notification.pk).get(timeout=60)
    drained = drain_notification.delay(notification.pk).get(timeout=60)

    assert result["status"] == "not sendable"
    assert result["reason"] == "The notification no longer exists."
    assert drained["sent"] == 0 and not received_by_recipient(smtp, "Gone")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_notification_cancelled_before_its_drain_sends_nothing(worker4, smtp):
    make_users(5, "halt")
    notification = Notification.objects.create(subject="Halted", text_body="t")
    with transaction.atomic():  # cancelled before the first drain is queued
        services.notification_start(notification_id=notification.pk)
        services.notification_cancel(notification_id=notification.pk)

    drained = drain_notification.delay(notification.pk).get(timeout=60)

    assert drained["sent"] == 0
    notification.refresh_from_db()
    assert notification.status == "cancelled"
    assert set(OutgoingEmail.objects.filter(notification=notification)
               .values_list("status", "last_error")) == {("skipped", "cancelled")}
    assert not received_by_recipient(smtp, "Halted")


@pytest.mark.django_db
def test_a_claim_takes_due_rows_once():
    notification = Notification.objects.create(subject="Claims", text_body="t",
                                               status="sending")
    rows = [OutgoingEmail.objects.create(notification=notification, lane="bulk",
                                         kind="notification", to_email=f"c{n}@example.com")
            for n in range(4)]
    ids = [row.pk for row in rows]
    OutgoingEmail.objects.filter(pk=ids[3]).update(
        next_attempt_at=timezone.now() + timedelta(minutes=1))  # a retry not due yet

    taken = claim(run_id="a", worker="w1", notification_id=notification.pk, limit=2)
    assert [row["pk"] for row in taken] == ids[:2]
    assert [row["pk"] for row in claim(run_id="b", notification_id=notification.pk)] == \
        [ids[2]]
    assert claim(run_id="c", ids=ids) == []  # nothing due: held, or waiting for its retry

    row = OutgoingEmail.objects.get(pk=ids[0])
    assert row.status == "sending" and row.claim == "a" and row.worker == "w1"
    assert row.lease_until > timezone.now()


@pytest.mark.django_db
def test_the_sweep_takes_back_ended_leases_and_skips_what_a_cancel_left(
        only_our_workers, monkeypatch):
    queued = []
    monkeypatch.setattr(services, "_publish", lambda task, args, countdown=None:
                        queued.append((task, args)) or "")
    expired = timezone.now() - timedelta(seconds=1)
    sending = Notification.objects.create(subject="S", text_body="t", status="sending")
    cancelled = Notification.objects.create(subject="C", text_body="t", status="cancelled")

    def held(notification, address, lease_until, lane="bulk"):
        return OutgoingEmail.objects.create(
            notification=notification, lane=lane, to_email=address, status="sending",
            kind="notification" if notification else "welcome", claim="dead",
            lease_until=lease_until)

    dead = held(sending, "d@example.com", expired)
    live = held(sending, "l@example.com", timezone.now() + timedelta(minutes=1))
    leftover = held(cancelled, "x@example.com", expired)
    reset = held(None, "r@example.com", expired, lane="transactional")

    outcome = services.outgoing_sweep()

    for row in (dead, live, leftover, reset):
        row.refresh_from_db()
    assert outcome["taken_back"] == 3
    assert (dead.status, dead.claim, dead.lease_until) == ("pending", "", None)
    assert "lease ended" in dead.last_error and live.status == "sending"
    assert (leftover.status, leftover.last_error) == ("skipped", "cancelled")
    assert reset.status == "pending"
    assert ("notifications.tasks.send_email", [reset.pk]) in queued
    assert ("notifications.tasks.drain_notification", [sending.pk]) in queued


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_sweep_restarts_a_send_whose_drain_was_lost_and_sends_exactly_the_rest(
        worker4, smtp, monkeypatch):
    make_users(30, "lost")
    notification = Notification.objects.create(subject="Lost drain", text_body="hello")
    with monkeypatch.context() as lost:  # the first drain's message never reaches a worker
        lost.setattr(services, "drain_enqueue", lambda **kwargs: True)
        services.notification_start(notification_id=notification.pk)
    rows = OutgoingEmail.objects.filter(notification=notification).order_by("pk")
    sent_before = rows[0].pk
    rows.filter(pk=sent_before).update(status="sent", sent_at=timezone.now())
    Notification.objects.filter(pk=notification.pk).update(
        drain_queued_at=timezone.now() - timedelta(minutes=5))

    services.outgoing_sweep()

    assert finished(notification).status == "sent"
    wait_until(lambda: len(received_by_recipient(smtp, "Lost drain")) == 29, 30, "the rest")
    counts = received_by_recipient(smtp, "Lost drain")
    expected = set(rows.exclude(pk=sent_before).values_list("to_email", flat=True))
    assert set(counts) == expected and set(counts.values()) == {1}


@pytest.mark.django_db
def test_schedule_and_send_after_a_start_are_refused_with_when_it_started(admin_client,
                                                                         only_our_workers):
    notification = Notification.objects.create(subject="S", text_body="t")
    services.notification_start(notification_id=notification.pk)
    when = timezone.localtime() + timedelta(days=1)

    scheduled = admin_client.post(url("schedule", notification), {
        "when_0": when.strftime("%Y-%m-%d"), "when_1": when.strftime("%H:%M:%S")}, follow=True)
    sent = admin_client.post(url("send", notification), {"confirm": "yes"}, follow=True)
    retried = admin_client.post(url("retry-failed", notification), follow=True)

    assert "Not scheduled: Already sending (started " in scheduled.content.decode()
    assert "Already sending (started " in sent.content.decode()
    assert "Already sending (started " in retried.content.decode()
    notification.refresh_from_db()
    assert notification.status == "sending" and notification.schedule is None


@pytest.mark.parametrize("env, variable", [
    ({"EMAIL_TIMEOUT": "30", "EMAIL_LEASE_SECONDS": "60"}, "EMAIL_LEASE_SECONDS"),
    ({"EMAIL_REQUEUE_AFTER_SECONDS": "0"}, "EMAIL_REQUEUE_AFTER_SECONDS"),
])
def test_a_lease_shorter_than_an_smtp_exchange_is_refused(env, variable):
    from backoffice.tests.test_configuration import assert_one_clear_line, manage

    assert_one_clear_line(manage("check", **env), variable)
