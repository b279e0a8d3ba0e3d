"""Every recipient accounted for exactly once: worker killed, flaky SMTP, cancel in flight."""

import collections
import random
import time

import pytest

from accounts.models import User
from notifications.models import Delivery, Notification
from notifications.tasks import send_bulk_notifications
from tests.processes import CeleryWorker, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def make_users(count, prefix):
    User.objects.bulk_create([
        User(username=f"{prefix}{n}", email=f"{prefix}{n}@example.com", password="!")
        for n in range(count)
    ])


def finished(notification, timeout=240):
    def done():
        notification.refresh_from_db()
        return notification.status not in ("draft", "scheduled", "sending")

    wait_until(done, timeout, f"notification {notification.pk} to finish")
    return notification


def by_status(notification):
    return collections.Counter(
        Delivery.objects.filter(notification=notification).values_list("status", flat=True))


def test_worker_killed_mid_send_loses_nobody(smtp):
    make_users(2000, "kill")
    notification = Notification.objects.create(subject="Kill test", text_body="hello")
    # One pool process, so at most one recipient is in flight when the worker dies; a short
    # visibility timeout so Redis hands the unacknowledged batch to the next worker quickly.
    fast_redelivery = {**smtp.env(), "CELERY_VISIBILITY_TIMEOUT": "12",
                       "CELERY_TASK_TIME_LIMIT": "10", "CELERY_TASK_SOFT_TIME_LIMIT": "9",
                       "EMAIL_STALE_SECONDS": "20", "EMAIL_RETRY_BACKOFF_MAX_SECONDS": "1"}
    worker = CeleryWorker(concurrency=1, queues=("email",), extra_env=fast_redelivery).start()
    try:
        send_bulk_notifications.delay(notification.pk)
        wait_until(lambda: len(smtp.messages) >= 400, 120, "400 messages before the kill")
        worker.kill()  # SIGKILL to the worker and its pool process
        sent_before_restart = len(smtp.messages)
        assert sent_before_restart < 2000, "the send finished before the kill"
        worker = CeleryWorker(concurrency=1, queues=("email",), extra_env=fast_redelivery)
        worker.start()
        finished(notification)
    finally:
        worker.stop()

    assert notification.status == "sent"
    assert by_status(notification) == {"sent": 2000}
    received = collections.Counter(m["X-Envelope-To"] for m in smtp.messages
                                   if m["Subject"] == "Kill test")
    assert len(received) == 2000  # nobody lost
    duplicates = sum(count - 1 for count in received.values())
    assert duplicates <= 1, f"{duplicates} duplicates after one kill"


def test_transient_failures_retry_and_permanent_ones_fail_once(celery_worker, smtp):
    make_users(300, "flaky")
    rejected = {f"flaky{n}@example.com" for n in (3, 77, 150)}
    flaky = set(random.Random(4).sample(sorted(f"flaky{n}@example.com" for n in range(300)), 60))
    flaky -= rejected

    def rule(recipient, attempt):
        if recipient in rejected:
            return "550 5.1.1 mailbox unavailable"
        if recipient in flaky and attempt == 1:
            return "451 4.3.0 temporary failure"
        return None

    smtp.fail_rule = rule
    notification = Notification.objects.create(subject="Flaky test", text_body="hello")

    summary = send_bulk_notifications.delay(notification.pk).get(timeout=240)

    assert summary["sent_count"] == 297 and summary["failed_count"] == 3
    assert sorted(summary["failed_emails"]) == sorted(rejected)
    assert finished(notification).status == "partially_failed"
    for delivery in Delivery.objects.filter(notification=notification, email__in=rejected):
        assert delivery.status == "failed" and delivery.last_smtp_code == 550
        assert delivery.attempts == 1
    for address in flaky:
        assert smtp.attempts[address] == 2  # one 4xx, then sent
    for address in rejected:
        assert smtp.attempts[address] == 1  # a 5xx is never retried
    assert sum(by_status(notification).values()) == 300


def test_retry_failed_resends_only_the_failed(celery_worker, smtp):
    make_users(20, "again")
    smtp.fail_rule = lambda rcpt, attempt: "550 5.7.1 blocked" if rcpt == "again5@example.com" \
        and attempt == 1 else None
    notification = Notification.objects.create(subject="Retry test", text_body="hello")
    send_bulk_notifications.delay(notification.pk).get(timeout=120)
    assert finished(notification).status == "partially_failed"

    from notifications.tasks import retry_failed_deliveries

    summary = retry_failed_deliveries.delay(notification.pk).get(timeout=120)

    assert summary["sent_count"] == 20 and summary["failed_count"] == 0
    assert finished(notification).status == "sent"
    assert smtp.attempts["again5@example.com"] == 2
    assert smtp.attempts["again1@example.com"] == 1  # sent ones are not sent again


def test_cancel_in_flight_sends_nothing_more(smtp):
    make_users(600, "stop")
    notification = Notification.objects.create(subject="Cancel test", text_body="hello")

    def slow(recipient, attempt):
        time.sleep(0.01)  # a slow provider, so there is time to cancel
        return None

    smtp.fail_rule = slow
    worker = CeleryWorker(concurrency=1, queues=("email",), extra_env=smtp.env()).start()
    try:
        send_bulk_notifications.delay(notification.pk)
        wait_until(lambda: len(smtp.messages) >= 50, 120, "50 messages before cancelling")
        from notifications.lifecycle import notification_cancel

        notification_cancel(notification_id=notification.pk)
        wait_until(lambda: not Delivery.objects.filter(notification=notification,
                                                       status="sending").exists(),
                   60, "the running batch to stop")
        time.sleep(1)
        count_after_cancel = len([m for m in smtp.messages if m["Subject"] == "Cancel test"])
        time.sleep(2)
        assert len([m for m in smtp.messages if m["Subject"] == "Cancel test"]) == \
            count_after_cancel
    finally:
        worker.stop()

    statuses = by_status(notification)
    notification.refresh_from_db()
    assert notification.status == "cancelled"
    assert statuses["sent"] == count_after_cancel
    assert statuses["sent"] + statuses["skipped"] == 600 and statuses["skipped"] > 0
