"""Every recipient accounted for exactly once: worker killed, broker lost, two workers,
flaky SMTP, cancel in flight."""

import collections
import random
import time

import pytest
from celery import current_app
from django.db import connection

from notifications.models import Notification, OutgoingEmail
from notifications.tasks import send_bulk_notifications, sweep_outgoing_email
from notifications.tests.helpers import (
    finished,
    make_users,
    received_by_recipient,
)
from tests.processes import CeleryWorker, ManagedProcess, PrivateRedis, free_port, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def by_status(notification):
    return collections.Counter(
        OutgoingEmail.objects.filter(notification=notification).values_list("status", flat=True))


def assert_all_sent_after_a_crash(notification, smtp, subject: str, total: int) -> None:
    """Everyone got it; at most the 4 messages on the wire at the crash (one per pool
    process) went out twice, and nobody got it more than twice."""
    assert notification.status == "sent"
    assert by_status(notification) == {"sent": total}
    received = received_by_recipient(smtp, subject)
    assert len(received) == total  # nobody lost
    duplicates = sum(count - 1 for count in received.values())
    assert duplicates <= 4, f"{duplicates} duplicates: more than the 4 messages in flight"
    assert max(received.values()) <= 2


# Short leases and grace so recovery happens within a test; the lease still outlasts one
# SMTP exchange (EMAIL_TIMEOUT), as the settings demand. Small batches: many wait in Redis.
FAST_RECOVERY = {"EMAIL_LEASE_SECONDS": "15", "EMAIL_TIMEOUT": "3",
                 "EMAIL_REQUEUE_AFTER_SECONDS": "2", "NOTIFICATION_BATCH_SIZE": "100"}


def sweep_until_finished(notification, timeout=180, every=2.0, connection=None):
    """Run the sweep through the worker every few seconds until the send finishes."""
    last = [0.0]

    def done():
        if time.monotonic() - last[0] >= every:
            sweep_outgoing_email.apply_async(connection=connection)
            last[0] = time.monotonic()
        notification.refresh_from_db()
        return notification.status not in ("draft", "scheduled", "sending")

    wait_until(done, timeout, f"notification {notification.pk} to finish")
    return notification


@pytest.fixture
def private_stack(smtp):
    """A private Redis and a worker (concurrency 4) on it: no other worker takes part."""
    redis = PrivateRedis(free_port()).start()
    env = {**smtp.env(), **FAST_RECOVERY, "TEST_REDIS_URL": redis.url}
    stack = {"redis": redis, "env": env, "processes": [redis]}

    def worker():
        process = CeleryWorker(concurrency=4, extra_env=env)
        ManagedProcess.start(process)  # not CeleryWorker.start: its ping goes to the test Redis
        stack["processes"].append(process)
        wait_until(lambda: f"{process.hostname} ready." in process.log_tail(300), 60,
                   "worker on the private redis")
        return process

    stack["worker"] = worker
    try:
        with current_app.connection_for_write(redis.url) as broker:
            stack["connection"] = broker
            yield stack
    finally:
        for process in reversed(stack["processes"]):
            process.stop()


def test_worker_killed_mid_send_loses_nobody(private_stack, smtp):
    make_users(2000, "kill")
    notification = Notification.objects.create(subject="Kill test", text_body="hello")
    worker = private_stack["worker"]()
    send_bulk_notifications.apply_async((notification.pk,),
                                        connection=private_stack["connection"])
    wait_until(lambda: len(smtp.messages) >= 400, 120, "400 messages before the kill")
    worker.kill()  # SIGKILL to the worker's whole process group: the host is gone
    assert len(smtp.messages) < 2000, "the send finished before the kill"
    held = OutgoingEmail.objects.filter(notification=notification, status="sending").count()
    assert 0 < held <= 400  # the dead batches' rows, under leases nobody will renew

    # Redis keeps the dead drains unacknowledged for the visibility timeout (an hour);
    # the leases end within 15 s and the sweep takes back exactly the rows they held.
    private_stack["worker"]()
    sweep_until_finished(notification, connection=private_stack["connection"])

    assert_all_sent_after_a_crash(notification, smtp, "Kill test", 2000)


def test_database_drops_the_workers_connections_mid_send_loses_nobody(private_stack, smtp):
    """PostgreSQL ends every connection of the mail worker while it sends: the drains that
    were writing an outcome fail, their rows come back when the leases end, and the worker's
    next tasks open new connections."""
    if connection.vendor != "postgresql":
        pytest.skip("needs a database server that can drop a client's connection")
    make_users(1500, "dropped")
    notification = Notification.objects.create(subject="Dropped connection", text_body="hello")
    private_stack["worker"]()
    send_bulk_notifications.apply_async((notification.pk,),
                                        connection=private_stack["connection"])
    wait_until(lambda: len(smtp.messages) >= 300, 120, "300 messages before the drop")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        dropped = sum(1 for (ended,) in cursor.fetchall() if ended)
    assert dropped, "the worker held no database connection to drop"
    assert len(smtp.messages) < 1500, "the send finished before the drop"

    sweep_until_finished(notification, connection=private_stack["connection"])

    assert_all_sent_after_a_crash(notification, smtp, "Dropped connection", 1500)


def test_broker_restarted_empty_mid_send_sends_the_rest(private_stack, smtp):
    make_users(1500, "lost")
    notification = Notification.objects.create(subject="Lost broker", text_body="hello")

    def slow(recipient, attempt):
        time.sleep(0.002)  # slow enough that most batches are still queued at the crash
        return None

    smtp.fail_rule = slow
    worker = private_stack["worker"]()
    send_bulk_notifications.apply_async((notification.pk,),
                                        connection=private_stack["connection"])
    wait_until(lambda: len(smtp.messages) >= 200, 120, "200 messages before Redis dies")
    redis = private_stack["redis"]
    redis.kill()
    redis.start()  # on the same port, empty: every queued drain is gone
    assert len(smtp.messages) < 1500, "the send finished before Redis died"
    # Celery stops late-acknowledged tasks when the broker connection drops, so the running
    # drains leave their rows under leases; the queued drains are gone.
    wait_until(lambda: "Connection to broker lost" in worker.log_tail(300), 30,
               "the worker to notice the lost broker")
    notification.refresh_from_db()
    assert notification.status == "sending"
    assert OutgoingEmail.objects.filter(notification=notification, status="pending").exists()

    sweep_until_finished(notification, connection=private_stack["connection"])

    assert_all_sent_after_a_crash(notification, smtp, "Lost broker", 1500)


def test_two_workers_share_one_send_without_duplicates(private_stack, smtp):
    # The scale-out layout is PostgreSQL; the embedded SQLite one must hold up as well.
    make_users(5000, "share")
    notification = Notification.objects.create(subject="Shared send", text_body="hello")
    first = private_stack["worker"]()
    second = private_stack["worker"]()
    assert first.hostname != second.hostname

    send_bulk_notifications.apply_async((notification.pk,),
                                        connection=private_stack["connection"])
    finished(notification, timeout=120)

    assert notification.status == "sent"
    assert by_status(notification) == {"sent": 5000}
    workers = collections.Counter(OutgoingEmail.objects.filter(notification=notification)
                                  .values_list("worker", flat=True))
    assert set(workers) == {first.hostname, second.hostname}, workers
    received = received_by_recipient(smtp, "Shared send")
    assert len(received) == 5000 and set(received.values()) == {1}


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

    send_bulk_notifications.delay(notification.pk)

    assert finished(notification).status == "partially_failed"
    assert by_status(notification) == {"sent": 297, "failed": 3}
    failed = OutgoingEmail.objects.filter(notification=notification, status="failed")
    assert set(failed.values_list("to_email", flat=True)) == rejected
    for delivery in OutgoingEmail.objects.filter(notification=notification,
                                                 to_email__in=rejected):
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

    from notifications.services import notification_retry_failed

    assert notification_retry_failed(notification_id=notification.pk) == 1

    assert finished(notification).status == "sent"
    assert by_status(notification) == {"sent": 20}
    assert smtp.attempts["again5@example.com"] == 2
    assert smtp.attempts["again1@example.com"] == 1  # sent ones are not sent again


def test_cancel_in_flight_sends_nothing_more(smtp):
    make_users(600, "stop")
    notification = Notification.objects.create(subject="Cancel test", text_body="hello")

    def slow(recipient, attempt):
        time.sleep(0.01)  # a slow provider, so there is time to cancel
        return None

    smtp.fail_rule = slow
    worker = CeleryWorker(concurrency=1, queues=("email", "bulk"), extra_env=smtp.env()).start()
    try:
        send_bulk_notifications.delay(notification.pk)
        wait_until(lambda: len(smtp.messages) >= 50, 120, "50 messages before cancelling")
        from notifications.services import notification_cancel

        notification_cancel(notification_id=notification.pk)
        # Every row reaches a final state: the running batch stops, the queued ones skip.
        wait_until(lambda: not OutgoingEmail.objects.filter(
            notification=notification, status__in=("pending", "sending")).exists(),
            60, "every delivery to be sent or skipped")
        count_after_cancel = len([m for m in smtp.messages if m["Subject"] == "Cancel test"])
    finally:
        worker.stop()

    statuses = by_status(notification)
    notification.refresh_from_db()
    assert notification.status == "cancelled"
    assert statuses["sent"] == count_after_cancel
    assert statuses["sent"] + statuses["skipped"] == 600 and statuses["skipped"] > 0
