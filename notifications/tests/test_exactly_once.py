"""A send starts once: concurrent presses, redelivered starts, bad input, stalls and Resume."""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connections
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from notifications import lifecycle
from notifications.claims import rows_claim
from notifications.models import OutgoingEmail, Notification
from notifications.selectors import notification_stalled_since
from notifications.tasks import send_bulk_notifications
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
                     .values_list("email", flat=True))
    assert len(recipients) == 1001  # the users and the operator
    wait_until(lambda: len(received_by_recipient(smtp, subject)) == 1001, 30, "every message")
    counts = received_by_recipient(smtp, subject)
    assert set(counts) == recipients and set(counts.values()) == {1}

    def admin_mails():
        return [m for m in smtp.messages if m["Subject"].endswith(f"finished: {subject}")]

    wait_until(admin_mails, 30, "the summary to the admins")
    assert len(admin_mails()) == 1  # one start, one chord, one summary


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_redelivered_and_repeated_starts_issue_nothing_twice(worker4, smtp):
    make_users(300, "again")
    notification = Notification.objects.create(subject="Once", text_body="hello")
    send_id = lifecycle.notification_start(notification_id=notification.pk)

    first = send_bulk_notifications.delay(notification.pk, send_id)
    redelivered = send_bulk_notifications.delay(notification.pk, send_id)
    from_beat = send_bulk_notifications.delay(notification.pk)
    results = [result.get(timeout=120) for result in (first, redelivered, from_beat)]

    summaries = [r for r in results if r["status"] == "sent"]
    refused = [r for r in results if r["status"] == "not sendable"]
    assert len(summaries) == 1 and summaries[0]["sent_count"] == 300
    assert len(refused) == 2
    assert all(r["reason"].startswith(("Already sending", "Already sent")) for r in refused)
    counts = received_by_recipient(smtp, "Once")
    assert len(counts) == 300 and set(counts.values()) == {1}


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
    assert result["status"] == "failed" and result["total"] == 0
    assert not OutgoingEmail.objects.filter(notification=notification).exists()
    assert not received_by_recipient(smtp, "Nobody")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_notification_deleted_while_queued_sends_nothing(worker4, smtp):
    make_users(5, "gone")
    notification = Notification.objects.create(subject="Gone", text_body="t")
    send_id = lifecycle.notification_start(notification_id=notification.pk)
    Notification.objects.filter(pk=notification.pk).delete()

    result = send_bulk_notifications.delay(notification.pk, send_id).get(timeout=60)

    assert result["status"] == "not sendable"
    assert result["reason"] == "The notification no longer exists."
    assert not OutgoingEmail.objects.exists() and not received_by_recipient(smtp, "Gone")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_notification_cancelled_while_queued_sends_nothing(worker4, smtp):
    make_users(5, "halt")
    notification = Notification.objects.create(subject="Halted", text_body="t")
    send_id = lifecycle.notification_start(notification_id=notification.pk)
    lifecycle.notification_cancel(notification_id=notification.pk)

    result = send_bulk_notifications.delay(notification.pk, send_id).get(timeout=60)

    assert result["status"] == "not sendable"
    assert result["reason"].startswith("Already cancelled (finished ")
    notification.refresh_from_db()
    assert notification.status == "cancelled"
    assert not OutgoingEmail.objects.filter(notification=notification).exists()
    assert not received_by_recipient(smtp, "Halted")


@pytest.mark.django_db
def test_a_claim_skips_rows_a_live_batch_holds_and_takes_expired_ones():
    notification = Notification.objects.create(subject="Claims", text_body="t",
                                               status="sending")
    ids = [OutgoingEmail.objects.create(notification=notification, email=f"c{n}@example.com").pk
           for n in range(3)]

    assert len(rows_claim(notification_id=notification.pk, delivery_ids=ids, run_id="a",
                          worker="w1")) == 3
    assert rows_claim(notification_id=notification.pk, delivery_ids=ids, run_id="b") == []

    OutgoingEmail.objects.filter(pk=ids[0]).update(status="sent", claim="", lease_until=None)
    OutgoingEmail.objects.filter(pk=ids[1]).update(lease_until=timezone.now() - timedelta(seconds=1))
    taken = rows_claim(notification_id=notification.pk, delivery_ids=ids, run_id="b",
                       worker="w2")

    assert [row["pk"] for row in taken] == [ids[1]]
    row = OutgoingEmail.objects.get(pk=ids[1])
    assert row.claim == "b" and row.worker == "w2" and row.lease_until > timezone.now()
    assert OutgoingEmail.objects.get(pk=ids[2]).claim == "a"  # still a's: its lease is live


@pytest.mark.django_db
def test_stalled_means_open_rows_and_no_live_lease(settings):
    settings.NOTIFICATION_STALL_GRACE_SECONDS = 30
    now = timezone.now()
    long_ago = now - timedelta(minutes=5)
    notification = Notification.objects.create(subject="S", text_body="t", status="sending",
                                               started_at=long_ago, dispatched_at=long_ago)
    live = OutgoingEmail.objects.create(notification=notification, email="a@example.com",
                                   status="sending", claim="x", lease_until=now + timedelta(
                                       seconds=20))
    OutgoingEmail.objects.create(notification=notification, email="b@example.com")
    OutgoingEmail.objects.filter(notification=notification).update(updated_at=long_ago)

    assert notification_stalled_since(notification) is None  # a live batch holds a row

    OutgoingEmail.objects.filter(pk=live.pk).update(lease_until=now - timedelta(seconds=10))
    assert notification_stalled_since(notification) == now - timedelta(seconds=10)

    OutgoingEmail.objects.filter(notification=notification).update(updated_at=now)
    assert notification_stalled_since(notification) is None  # a row moved just now


@pytest.mark.django_db
def test_the_sweep_skips_what_a_dead_batch_held_in_a_cancelled_notification():
    notification = Notification.objects.create(subject="S", text_body="t", status="cancelled")
    expired = timezone.now() - timedelta(seconds=1)
    dead = OutgoingEmail.objects.create(notification=notification, email="d@example.com",
                                   status="sending", claim="dead", lease_until=expired)
    live = OutgoingEmail.objects.create(notification=notification, email="l@example.com",
                                   status="sending", claim="live",
                                   lease_until=timezone.now() + timedelta(minutes=1))

    assert lifecycle.cancelled_leftovers_skip() == 1

    dead.refresh_from_db()
    live.refresh_from_db()
    assert dead.status == "skipped" and dead.claim == "" and live.status == "sending"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_stalled_since_and_resume_send_exactly_the_rest(client, operator, worker4, smtp):
    make_users(30, "stall")
    notification = Notification.objects.create(subject="Stalled", text_body="hello")
    send_id = lifecycle.notification_start(notification_id=notification.pk)
    # Deliveries made and batches issued, then the broker lost the batches.
    assert lifecycle.notification_dispatch(notification_id=notification.pk, send_id=send_id)
    long_ago = timezone.now() - timedelta(minutes=5)
    Notification.objects.filter(pk=notification.pk).update(started_at=long_ago,
                                                           dispatched_at=long_ago)
    rows = OutgoingEmail.objects.filter(notification=notification).order_by("pk")
    sent_before, held_by_the_dead = rows[0].pk, rows[1].pk
    OutgoingEmail.objects.filter(pk=sent_before).update(status="sent", sent_at=long_ago)
    OutgoingEmail.objects.filter(pk=held_by_the_dead).update(
        status="sending", claim="dead", lease_until=long_ago + timedelta(minutes=1))
    rows.update(updated_at=long_ago)
    client.force_login(operator)

    page = client.get(reverse("admin:notifications_notification_change",
                              args=[notification.pk])).content.decode()
    assert 'id="stalled-since"' in page and "Stalled since" in page and 'id="resume"' in page

    first = client.post(url("resume", notification), follow=True).content.decode()
    second = client.post(url("resume", notification), follow=True).content.decode()

    assert "Resuming: the recipients still to send are queued again." in first
    assert "Not resumed: Not stalled" in second
    assert finished(notification).status == "sent"
    counts = received_by_recipient(smtp, "Stalled")
    expected = set(rows.exclude(pk=sent_before).values_list("email", flat=True))
    assert set(counts) == expected and set(counts.values()) == {1}  # not the one sent before
    assert "Stalled since" not in client.get(reverse(
        "admin:notifications_notification_change", args=[notification.pk])).content.decode()


@pytest.mark.django_db
def test_resume_needs_the_send_permission_and_a_post(client, django_user_model):
    viewer = django_user_model.objects.create_user("v", "v@example.com", "x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_notification"))
    notification = Notification.objects.create(subject="S", text_body="t", status="sending")
    client.force_login(viewer)

    assert client.post(url("resume", notification)).status_code == 403
    assert client.get(url("resume", notification)).status_code == 405


@pytest.mark.django_db
def test_schedule_and_send_after_a_start_are_refused_with_when_it_started(admin_client):
    notification = Notification.objects.create(subject="S", text_body="t")
    lifecycle.notification_start(notification_id=notification.pk)
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
    ({"EMAIL_TIMEOUT": "30", "NOTIFICATION_CLAIM_LEASE_SECONDS": "60"},
     "NOTIFICATION_CLAIM_LEASE_SECONDS"),
    ({"NOTIFICATION_STALL_GRACE_SECONDS": "-1"}, "NOTIFICATION_STALL_GRACE_SECONDS"),
])
def test_a_lease_shorter_than_an_smtp_exchange_is_refused(env, variable):
    from backoffice.tests.test_configuration import assert_one_clear_line, manage

    assert_one_clear_line(manage("check", **env), variable)
